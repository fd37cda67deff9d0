// The app's shared state (Svelte 5 runes): platform, actors, session, the learner's shard.
import type { Identity } from '@icp-sdk/core/agent';
import { Principal } from '@icp-sdk/core/principal';
import { createActors, createAgent, hubActor, loadIds, loadPlatform, sleep, type Actors, type PlatformIds, type Shard } from './api';
import { describeRegisterError, unwrap, CanisterError } from './errors';
import type { PlatformJson } from './platform';
import type { RegistrationProof } from '../bindings/staking_hub.did';
import { parseRoute, hrefFor, type Route } from './routing';
import * as auth from './auth';

export interface Session {
  kind: 'local' | 'ii';
  principal: string;
  actors: Actors;
}

class AppState {
  status = $state<'loading' | 'ready' | 'failed'>('loading');
  loadError = $state.raw<unknown>(null);
  platform = $state.raw<PlatformJson | null>(null);
  ids = $state.raw<PlatformIds | null>(null);
  /** Anonymous actors for public reads (the platform page). */
  publicActors = $state.raw<Actors | null>(null);
  session = $state.raw<Session | null>(null);
  /** The learner's shard: undefined while unknown, null when not registered. */
  shardId = $state<string | null | undefined>(undefined);
  shardError = $state.raw<unknown>(null);
  symbol = $state('LRN');
  route = $state.raw<Route>(parseRoute(typeof location === 'undefined' ? '/' : location.pathname));
  /** Bumped after anything that changes balances, so pages reload them. */
  balancesVersion = $state(0);
  /** The staked balance the shard last reported to this session (a read or a quiz reply). */
  private lastStaked = $state.raw<{ session: Session; e8s: bigint } | null>(null);

  /**
   * The signed-in learner's staked balance as last reported by their shard, or null: pages show
   * it at once (e.g. right after a quiz pass) while their own query is on its way.
   */
  get stakedE8s(): bigint | null {
    return this.lastStaked && this.lastStaked.session === this.session ? this.lastStaked.e8s : null;
  }

  /** `session`: the one the read or call was made with (ignored if it has ended since). */
  noteStakedE8s(session: Session, e8s: bigint): void {
    if (session === this.session) this.lastStaked = { session, e8s };
  }

  get shard(): Shard | null {
    return this.session && this.shardId ? this.session.actors.shard(this.shardId) : null;
  }

  /** Actors of the signed-in learner, else anonymous ones. */
  get actors(): Actors | null {
    return this.session?.actors ?? this.publicActors;
  }

  async init(): Promise<void> {
    try {
      const platform = await loadPlatform();
      const agent = await createAgent(platform);
      const ids = await loadIds(hubActor(agent, platform.staking_hub), platform.staking_hub);
      const actors = createActors(agent, ids);
      this.platform = platform;
      this.ids = ids;
      this.publicActors = actors;
      this.status = 'ready';
      actors.ledger.icrc1_symbol().then(
        (s) => (this.symbol = s),
        () => {},
      );
      await this.restoreSession();
    } catch (e) {
      this.loadError = e;
      this.status = 'failed';
    }
  }

  private async restoreSession(): Promise<void> {
    if (!this.platform) return;
    if (this.platform.network === 'local') {
      const id = auth.restoreLocal();
      if (id) await this.startSession('local', id);
    } else {
      const id = await auth.restoreInternetIdentity();
      if (id && !id.getPrincipal().isAnonymous()) await this.startSession('ii', id);
    }
  }

  private async startSession(kind: Session['kind'], identity: Identity): Promise<void> {
    if (!this.platform || !this.ids) throw new Error('the platform is not loaded');
    const agent = await createAgent(this.platform, identity);
    const session = { kind, principal: identity.getPrincipal().toText(), actors: createActors(agent, this.ids) };
    this.shardId = undefined;
    this.shardError = null;
    this.session = session;
    void this.lookupShard();
  }

  async signInLocal(): Promise<void> {
    await this.startSession('local', auth.signInLocal());
  }

  async signInInternetIdentity(): Promise<void> {
    const identity = await auth.signInInternetIdentity();
    await this.startSession('ii', identity);
  }

  async signOut(): Promise<void> {
    if (this.session?.kind === 'ii') await auth.signOutInternetIdentity();
    else auth.signOutLocal();
    this.session = null;
    this.shardId = undefined;
  }

  forgetLocalIdentity(): void {
    auth.forgetLocalIdentity();
    this.session = null;
    this.shardId = undefined;
  }

  /** The hub's index: the learner's shard, or null if not registered. */
  async lookupShard(): Promise<void> {
    const s = this.session;
    if (!s) return;
    this.shardError = null;
    try {
      const r = await s.actors.hub.get_user_shard(Principal.fromText(s.principal));
      if (this.session === s) this.shardId = r[0]?.toText() ?? null;
    } catch (e) {
      if (this.session === s) this.shardError = e;
    }
  }

  /**
   * Registers the learner: the hub routes them to a shard (creating one if needed). Retries a
   * few times on `InProgress` and `NoCapacity` (the hub is finishing a registration or creating a shard).
   * `proof`: what the registration policy asks for (an invite code), none under `Open`.
   */
  async register(proof: [] | [RegistrationProof] = []): Promise<string> {
    const s = this.session;
    if (!s) throw new Error('sign in first');
    for (let attempt = 0; ; attempt++) {
      const r = await s.actors.hub.register(proof);
      if ('Err' in r && ('InProgress' in r.Err || 'NoCapacity' in r.Err) && attempt < 4) {
        await sleep(2000);
        continue;
      }
      const shard = unwrap(r, describeRegisterError).toText();
      if (this.session === s) this.shardId = shard;
      return shard;
    }
  }

  navigate(route: Route | string, replace = false): void {
    const href = typeof route === 'string' ? route : hrefFor(route);
    if (replace) history.replaceState(null, '', href);
    else history.pushState(null, '', href);
    this.route = parseRoute(new URL(href, location.origin).pathname);
    window.scrollTo?.(0, 0);
  }
}

export const app = new AppState();
export { CanisterError };
