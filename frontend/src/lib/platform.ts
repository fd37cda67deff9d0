// Where the platform is: `/platform.json`, written by the asset canister's deploy, or the
// `VITE_*` overrides for `vite dev`/`vite preview`. Pure (no fetch here: see api.ts).
import { Principal } from '@icp-sdk/core/principal';
import { UserFacingError } from './errors';

export type Network = 'local' | 'ic';

/** `/platform.json`: `{"network":"local"|"ic","staking_hub":"<principal>","frontend":"<principal>"}`. */
export interface PlatformJson {
  network: Network;
  staking_hub: string;
  /** The asset canister serving the app (absent with the env override when none is deployed). */
  frontend?: string;
}

export const IC_API_HOST = 'https://icp-api.io';

function checkPrincipal(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new UserFacingError(`The platform settings (platform.json) have no "${field}" canister id.`);
  try {
    return Principal.fromText(value.trim()).toText();
  } catch {
    throw new UserFacingError(`The platform settings (platform.json) have an invalid "${field}" canister id: "${value}".`);
  }
}

/** Validates the parsed JSON of `/platform.json`; throws a UserFacingError naming the problem. */
export function parsePlatformJson(data: unknown, { requireFrontend = true } = {}): PlatformJson {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new UserFacingError('The platform settings (platform.json) are not a JSON object.');
  const o = data as Record<string, unknown>;
  if (o.network !== 'local' && o.network !== 'ic')
    throw new UserFacingError(`The platform settings (platform.json) name an unknown network: ${JSON.stringify(o.network)} (expected "local" or "ic").`);
  const out: PlatformJson = { network: o.network, staking_hub: checkPrincipal(o.staking_hub, 'staking_hub') };
  if (o.frontend !== undefined || requireFrontend) out.frontend = checkPrincipal(o.frontend, 'frontend');
  return out;
}

/** Parses the text of `/platform.json` (what the server answered), with readable errors. */
export function parsePlatformText(text: string, contentType?: string | null): PlatformJson {
  if (contentType && contentType.includes('text/html') && /^\s*</.test(text))
    throw new UserFacingError('The platform settings (platform.json) were not found: the server answered a web page instead.');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UserFacingError('The platform settings (platform.json) are not valid JSON.');
  }
  return parsePlatformJson(data);
}

/** The `VITE_*` variables the app reads (import.meta.env at build/dev time). */
export interface PlatformEnv {
  VITE_PLATFORM_JSON_URL?: string;
  VITE_NETWORK?: string;
  VITE_STAKING_HUB_ID?: string;
  VITE_FRONTEND_ID?: string;
  VITE_AGENT_HOST?: string;
  VITE_II_URL?: string;
}

export type PlatformSource = { kind: 'inline'; platform: PlatformJson } | { kind: 'fetch'; url: string };

/**
 * Where to get the platform settings: `VITE_STAKING_HUB_ID` (+ `VITE_NETWORK`, default local)
 * given: no fetch at all; else `VITE_PLATFORM_JSON_URL`; else `/platform.json`.
 */
export function platformSource(env: PlatformEnv): PlatformSource {
  const hub = env.VITE_STAKING_HUB_ID?.trim();
  if (hub) {
    const platform = parsePlatformJson(
      { network: env.VITE_NETWORK?.trim() || 'local', staking_hub: hub, frontend: env.VITE_FRONTEND_ID?.trim() || undefined },
      { requireFrontend: false },
    );
    return { kind: 'inline', platform };
  }
  const url = env.VITE_PLATFORM_JSON_URL?.trim();
  return { kind: 'fetch', url: url || '/platform.json' };
}

/**
 * The agent's host: `VITE_AGENT_HOST` if set; on the IC the API boundary nodes; on the local
 * network the page's own origin (the gateway serves the IC HTTP interface under `/api` on
 * `<canister-id>.localhost:<port>`).
 */
export function agentHost(network: Network, origin: string, override?: string): string {
  const o = override?.trim();
  if (o) return o.replace(/\/+$/, '');
  return network === 'ic' ? IC_API_HOST : origin;
}
