// Sign-in: Internet Identity (through @icp-sdk/auth) on the IC; on the local network, where
// there is no Internet Identity, a local test identity kept in localStorage.
import type { Identity } from '@icp-sdk/core/agent';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { AuthClient } from '@icp-sdk/auth/client';

const LOCAL_KEY = 'learn-to-earn:local-test-identity';
const LOCAL_SIGNED_IN = 'learn-to-earn:local-signed-in';

export function hasLocalIdentity(): boolean {
  return localStorage.getItem(LOCAL_KEY) !== null;
}

/** The local test identity: generated once, then kept in localStorage. */
export function localIdentity(): Ed25519KeyIdentity {
  const stored = localStorage.getItem(LOCAL_KEY);
  if (stored) {
    try {
      return Ed25519KeyIdentity.fromJSON(stored);
    } catch {
      localStorage.removeItem(LOCAL_KEY);
    }
  }
  const identity = Ed25519KeyIdentity.generate();
  localStorage.setItem(LOCAL_KEY, JSON.stringify(identity.toJSON()));
  return identity;
}

export function signInLocal(): Ed25519KeyIdentity {
  const identity = localIdentity();
  localStorage.setItem(LOCAL_SIGNED_IN, '1');
  return identity;
}

/** The local identity if the learner stayed signed in with it. */
export function restoreLocal(): Ed25519KeyIdentity | null {
  if (localStorage.getItem(LOCAL_SIGNED_IN) !== '1' || !hasLocalIdentity()) return null;
  return localIdentity();
}

export function signOutLocal(): void {
  localStorage.removeItem(LOCAL_SIGNED_IN);
}

/** Deletes the local test identity for good (its principal and everything tied to it is lost). */
export function forgetLocalIdentity(): void {
  localStorage.removeItem(LOCAL_SIGNED_IN);
  localStorage.removeItem(LOCAL_KEY);
}

let client: AuthClient | null = null;

/** The Internet Identity client (created on the IC network only). Default provider: https://id.ai. */
export function authClient(): AuthClient {
  client ??= new AuthClient({
    identityProvider: import.meta.env.VITE_II_URL?.trim() || undefined,
  });
  return client;
}

/** An earlier Internet Identity session, if it is still valid. */
export async function restoreInternetIdentity(): Promise<Identity | null> {
  const c = authClient();
  if (!c.isAuthenticated()) return null;
  return c.getIdentity();
}

export const EIGHT_HOURS_NS = 8n * 3_600n * 1_000_000_000n;

/** Opens Internet Identity; call straight from a click (it opens a window). */
export function signInInternetIdentity(): Promise<Identity> {
  return authClient().signIn({ maxTimeToLive: EIGHT_HOURS_NS });
}

export async function signOutInternetIdentity(): Promise<void> {
  await authClient().signOut();
}
