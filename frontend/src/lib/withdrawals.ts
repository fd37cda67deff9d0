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
        : 'On its way; the platform sends it to the ledger with the next batch of withdrawals.',
      tone: 'info',
    };
  }
  const never: never = state;
  throw new Error(`unknown withdrawal state ${JSON.stringify(never)}`);
}

export function anyPending(list: readonly { state: WithdrawalState }[]): boolean {
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
export const DEFAULT_WITHDRAWAL_BATCH_SECS = 30n;

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

/** The withdrawal rules in force, for the learner: the minimum and cooldown, then when it is paid. */
export function withdrawalRules(
  config: Pick<PlatformConfig, 'min_withdrawal_e8s' | 'withdrawal_cooldown_secs' | 'withdrawal_batch_secs'>,
  symbol: string,
): string {
  const min = `The smallest withdrawal is ${formatE8s(minWithdrawalE8s(config), symbol)}`;
  const cooldown = config.withdrawal_cooldown_secs[0] ?? DEFAULT_WITHDRAWAL_COOLDOWN_SECS;
  const every = cooldown === 3_600n ? 'every hour' : `every ${formatDurationSecs(cooldown)}`;
  const rules = cooldown === 0n ? `${min}, and there is no wait between withdrawals.` : `${min}, and you can start one withdrawal ${every}.`;
  // Withdrawals go to the ledger together: each waits a batch period for others, at most two
  // (0: each at once).
  const batch = config.withdrawal_batch_secs[0] ?? DEFAULT_WITHDRAWAL_BATCH_SECS;
  if (batch === 0n) return rules;
  return `${rules} Withdrawals are sent to the ledger together, within ${formatDurationSecs(2n * batch)}.`;
}

// ---------------------------------------------------------------------------------------------
// Optimistic withdrawals. An update (unstake) takes 1-2 s of consensus, so the Wallet shows its
// effect at once: the staked balance lowered and a row marked as being sent. The shard stays the
// source of truth: the reply replaces the row, the next read replaces the balance, a refusal or
// an error removes exactly what was added. Reads whose answer may or may not include an unstake
// (they overlap a send or a reply) are dropped; the read issued after the last reply is kept.

/** An unstake sent to the shard whose reply has not come back yet. */
export interface SendingWithdrawal {
  ticket: number;
  amount_e8s: bigint;
  /** The browser's clock when it was sent (shown as "Started" until the shard's row replaces it). */
  sent_at_ns: bigint;
}

export interface WalletState {
  /** Staked balance of the last read kept; null before the first. */
  readStakedE8s: bigint | null;
  /** Withdrawals of the last read kept (newest first); null before the first. */
  readWithdrawals: readonly Withdrawal[] | null;
  /** Unstakes in flight, oldest first. */
  sending: readonly SendingWithdrawal[];
  /** Withdrawals the shard replied with that no kept read includes yet, newest first. */
  replied: readonly Withdrawal[];
  /** Bumped by every send, reply and roll-back: a read that spans one of them is ambiguous. */
  epoch: number;
  nextTicket: number;
}

export const EMPTY_WALLET: WalletState = {
  readStakedE8s: null,
  readWithdrawals: null,
  sending: [],
  replied: [],
  epoch: 0,
  nextTicket: 1,
};

/** Taken before a read's queries are sent; given back with their answers to `acceptRead`. */
export interface ReadToken {
  epoch: number;
}

export function beginRead(state: WalletState): ReadToken {
  return { epoch: state.epoch };
}

/**
 * The state with a read's answers, or null when the read must be dropped: an unstake is in flight
 * or one was sent, answered or rolled back since the read began (its answer may predate it or not).
 */
export function acceptRead(
  state: WalletState,
  token: ReadToken,
  stakedE8s: bigint,
  withdrawals: readonly Withdrawal[],
): WalletState | null {
  if (state.epoch !== token.epoch || state.sending.length > 0) return null;
  // Begun after every reply, so it includes them.
  return { ...state, readStakedE8s: stakedE8s, readWithdrawals: withdrawals, replied: [] };
}

/** Records an unstake about to be sent; the ticket names it for `confirmUnstake` / `rollbackUnstake`. */
export function applyUnstake(
  state: WalletState,
  amountE8s: bigint,
  nowNs: bigint,
): { state: WalletState; ticket: number } {
  const ticket = state.nextTicket;
  return {
    ticket,
    state: {
      ...state,
      sending: [...state.sending, { ticket, amount_e8s: amountE8s, sent_at_ns: nowNs }],
      epoch: state.epoch + 1,
      nextTicket: ticket + 1,
    },
  };
}

/**
 * The shard accepted the unstake: its withdrawal replaces the row being sent. A ticket this state
 * does not hold (it was reset for another learner meanwhile) changes nothing.
 */
export function confirmUnstake(state: WalletState, ticket: number, withdrawal: Withdrawal): WalletState {
  if (!state.sending.some((s) => s.ticket === ticket)) return state;
  return {
    ...state,
    sending: state.sending.filter((s) => s.ticket !== ticket),
    replied: [withdrawal, ...state.replied.filter((w) => w.id !== withdrawal.id)],
    epoch: state.epoch + 1,
  };
}

/** The unstake was refused or its call failed: removes exactly what `applyUnstake` added. */
export function rollbackUnstake(state: WalletState, ticket: number): WalletState {
  if (!state.sending.some((s) => s.ticket === ticket)) return state;
  return { ...state, sending: state.sending.filter((s) => s.ticket !== ticket), epoch: state.epoch + 1 };
}

/**
 * The staked balance to show: the last read, less unstakes in flight and replied ones the read
 * predates (a Failed one gave its amount back). Null before the first read.
 */
export function shownStakedE8s(state: WalletState): bigint | null {
  if (state.readStakedE8s === null) return null;
  let staked = state.readStakedE8s;
  for (const s of state.sending) staked -= s.amount_e8s;
  for (const w of state.replied) if (!('Failed' in w.state)) staked -= w.amount_e8s;
  return staked;
}

/** A row of the withdrawals table: one the shard knows, or one being sent (no id yet). */
export interface WithdrawalRow {
  key: string;
  /** None while being sent. */
  id: bigint | null;
  amount_e8s: bigint;
  created_at_ns: bigint;
  state: WithdrawalState;
  sending: boolean;
}

export const SENDING_TEXT = 'Being sent to the platform; this takes a second or two.';

/** Rows newest first: being sent, then replied, then the last read. Null before the first read. */
export function shownWithdrawals(state: WalletState): WithdrawalRow[] | null {
  if (state.readWithdrawals === null) return null;
  const rows: WithdrawalRow[] = [];
  for (const s of [...state.sending].reverse())
    rows.push({
      key: `sending-${s.ticket}`,
      id: null,
      amount_e8s: s.amount_e8s,
      created_at_ns: s.sent_at_ns,
      state: { Pending: { last_error: [] } },
      sending: true,
    });
  const seen = new Set<bigint>();
  for (const w of [...state.replied, ...state.readWithdrawals]) {
    if (seen.has(w.id)) continue;
    seen.add(w.id);
    rows.push({ key: `id-${w.id}`, id: w.id, amount_e8s: w.amount_e8s, created_at_ns: w.created_at_ns, state: w.state, sending: false });
  }
  return rows;
}
