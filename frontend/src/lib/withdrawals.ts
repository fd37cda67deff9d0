// Withdrawal (unstake) states as the learner sees them.
import type { Withdrawal, WithdrawalState } from '../bindings/user_profile.did';

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
