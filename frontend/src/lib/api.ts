// The agent and the canister actors. Certificate and query-signature verification stay on
// (the agent's defaults); the root key is fetched only on the local network.
import { Actor, HttpAgent, type ActorSubclass, type Identity } from '@icp-sdk/core/agent';
import { Principal } from '@icp-sdk/core/principal';
import { idlFactory as hubIdl } from '../bindings/staking_hub.did.js';
import type { _SERVICE as HubService } from '../bindings/staking_hub.did.js';
import { idlFactory as shardIdl } from '../bindings/user_profile.did.js';
import type { _SERVICE as ShardService } from '../bindings/user_profile.did.js';
import { idlFactory as contentIdl } from '../bindings/learning_content.did.js';
import type { _SERVICE as ContentService } from '../bindings/learning_content.did.js';
import { idlFactory as ledgerIdl } from '../bindings/icrc_ledger.did.js';
import type { _SERVICE as LedgerService } from '../bindings/icrc_ledger.did.js';
import { idlFactory as governanceIdl } from '../bindings/sns_governance.did.js';
import type { _SERVICE as GovernanceService } from '../bindings/sns_governance.did.js';
import { agentHost, parsePlatformText, platformSource, type PlatformJson } from './platform';
import { UserFacingError } from './errors';

export type Hub = ActorSubclass<HubService>;
export type Shard = ActorSubclass<ShardService>;
export type Content = ActorSubclass<ContentService>;
export type Ledger = ActorSubclass<LedgerService>;
export type Governance = ActorSubclass<GovernanceService>;

/** The platform's canisters: the hub from platform.json, the others from the hub's init args. */
export interface PlatformIds {
  staking_hub: string;
  ledger: string;
  learning_content: string;
  sns_governance: string;
}

export interface Actors {
  agent: HttpAgent;
  hub: Hub;
  content: Content;
  ledger: Ledger;
  governance: Governance;
  shard(id: string): Shard;
}

/** Reads `/platform.json` (or the VITE_* override). */
export async function loadPlatform(): Promise<PlatformJson> {
  const source = platformSource(import.meta.env);
  if (source.kind === 'inline') return source.platform;
  let res: Response;
  try {
    res = await fetch(source.url, { cache: 'no-store', headers: { accept: 'application/json' } });
  } catch {
    throw new UserFacingError(`The platform settings (${source.url}) could not be loaded: the server cannot be reached.`);
  }
  if (!res.ok) throw new UserFacingError(`The platform settings (${source.url}) could not be loaded (HTTP ${res.status}).`);
  return parsePlatformText(await res.text(), res.headers.get('content-type'));
}

export async function createAgent(platform: PlatformJson, identity?: Identity): Promise<HttpAgent> {
  const host = agentHost(platform.network, window.location.origin, import.meta.env.VITE_AGENT_HOST);
  const agent = await HttpAgent.create({ host, identity });
  // Only the local network's root key is fetched; on the IC the agent uses the built-in key.
  if (platform.network === 'local') await agent.fetchRootKey();
  return agent;
}

export function hubActor(agent: HttpAgent, hubId: string): Hub {
  return Actor.createActor<HubService>(hubIdl, { agent, canisterId: Principal.fromText(hubId) });
}

export function createActors(agent: HttpAgent, ids: PlatformIds): Actors {
  const shards = new Map<string, Shard>();
  return {
    agent,
    hub: hubActor(agent, ids.staking_hub),
    content: Actor.createActor<ContentService>(contentIdl, { agent, canisterId: Principal.fromText(ids.learning_content) }),
    ledger: Actor.createActor<LedgerService>(ledgerIdl, { agent, canisterId: Principal.fromText(ids.ledger) }),
    governance: Actor.createActor<GovernanceService>(governanceIdl, { agent, canisterId: Principal.fromText(ids.sns_governance) }),
    shard(id: string): Shard {
      let a = shards.get(id);
      if (!a) {
        a = Actor.createActor<ShardService>(shardIdl, { agent, canisterId: Principal.fromText(id) });
        shards.set(id, a);
      }
      return a;
    },
  };
}

/** The other canisters, from the hub's init args (a query, verified like every answer). */
export async function loadIds(hub: Hub, hubId: string): Promise<PlatformIds> {
  const args = await hub.get_init_args();
  return {
    staking_hub: hubId,
    ledger: args.ledger_id.toText(),
    learning_content: args.learning_content_id.toText(),
    sns_governance: args.sns_governance_id.toText(),
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
