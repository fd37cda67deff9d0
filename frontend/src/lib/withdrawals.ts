// Withdrawal (unstake) states as the learner sees them.
import type { PlatformConfig, Withdrawal, WithdrawalState } from '../bindings/user_profile.did';
import { formatE8s } from './tokens';

export type WithdrawalLabel = 'Pending' | 'Completed' | 'Failed';

export interface WithdrawalStatus {
  label: WithdrawalLabel;
  /** One sentence about this state. */
  text: string;
  tone: 'info' | 'ok' | 'bad';
}

export function withdrawalStatus(state: WithdrawalState): WithdrawalStatus {
  if ('Completed' in state)
    return { label: 'Completed', text: `Paid to your wallet (ledger block ${state.Completed.block_index}).`, tone: 'ok' };
  if ('Failed' in state)
    return {
      label: 'Failed',
      text: `Not paid: ${state.Failed.reason}. The amount went back to your staked balance.`,
      tone: 'bad',
    };
  if ('Pending' in state) {
    const last = state.Pending.last_error[0];
    return {
      label: 'Pending',
      text: last
        ? `On its way; the platform retries it by itself (last try: ${last}).`
        : 'On its way; it is usually paid within seconds.',
      tone: 'info',
    };
  }
  const never: never = state;
  throw new Error(`unknown withdrawal state ${JSON.stringify(never)}`);
}

export function anyPending(list: readonly Withdrawal[]): boolean {
  return list.some((w) => 'Pending' in w.state);
}

/** Nanoseconds since the epoch (a canister's `time()`) → a readable UTC date and time. */
export function formatTimeNs(ns: bigint): string {
  if (ns <= 0n) return '—';
  return formatTimeSecs(ns / 1_000_000_000n);
}

/** Seconds since the epoch → `2026-11-29 13:51 UTC`; `—` for 0 (not happened). */
export function formatTimeSecs(secs: bigint): string {
  if (secs <= 0n) return '—';
  const iso = new Date(Number(secs) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** What the canisters apply when the configuration leaves these unset (platform_types). */
export const DEFAULT_MIN_WITHDRAWAL_E8S = 1_000_000_000n;
export const DEFAULT_WITHDRAWAL_COOLDOWN_SECS = 3_600n;

/** The smallest withdrawal in force, in e8s. */
export function minWithdrawalE8s(config: Pick<PlatformConfig, 'min_withdrawal_e8s'>): bigint {
  return config.min_withdrawal_e8s[0] ?? DEFAULT_MIN_WITHDRAWAL_E8S;
}

/** `3600n` → `1 hour`, `5400n` → `90 minutes`, `172800n` → `2 days`, `45n` → `45 seconds`. */
export function formatDurationSecs(secs: bigint): string {
  const unit = (n: bigint, name: string) => `${n} ${name}${n === 1n ? '' : 's'}`;
  if (secs % 86_400n === 0n) return unit(secs / 86_400n, 'day');
  if (secs % 3_600n === 0n) return unit(secs / 3_600n, 'hour');
  if (secs % 60n === 0n) return unit(secs / 60n, 'minute');
  return unit(secs, 'second');
}

/** The withdrawal rules in force, as one sentence for the learner. */
export function withdrawalRules(
  config: Pick<PlatformConfig, 'min_withdrawal_e8s' | 'withdrawal_cooldown_secs'>,
  symbol: string,
): string {
  const min = `The smallest withdrawal is ${formatE8s(minWithdrawalE8s(config), symbol)}`;
  const cooldown = config.withdrawal_cooldown_secs[0] ?? DEFAULT_WITHDRAWAL_COOLDOWN_SECS;
  if (cooldown === 0n) return `${min}, and there is no wait between withdrawals.`;
  const every = cooldown === 3_600n ? 'every hour' : `every ${formatDurationSecs(cooldown)}`;
  return `${min}, and you can start one withdrawal ${every}.`;
}
