import { describe, expect, test } from 'vitest';
import { Principal } from '@icp-sdk/core/principal';
import type { Withdrawal } from '../bindings/user_profile.did';
import {
  withdrawalStatus,
  anyPending,
  formatTimeNs,
  formatTimeSecs,
  formatDurationSecs,
  withdrawalRules,
  EMPTY_WALLET,
  acceptRead,
  applyUnstake,
  beginRead,
  confirmUnstake,
  rollbackUnstake,
  shownStakedE8s,
  shownWithdrawals,
  type WalletState,
} from './withdrawals';

const w = (state: Withdrawal['state']): Withdrawal => ({
  id: 1n,
  to: Principal.anonymous(),
  attempts: 1,
  updated_at_ns: 0n,
  created_at_ns: 0n,
  amount_e8s: 100n,
  state,
});

describe('withdrawalStatus', () => {
  test('Completed', () => {
    const s = withdrawalStatus({ Completed: { block_index: 42n } });
    expect(s.label).toBe('Completed');
    expect(s.text).toMatch(/block 42/);
    expect(s.tone).toBe('ok');
  });
  test('Failed', () => {
    const s = withdrawalStatus({ Failed: { reason: 'ledger refused' } });
    expect(s.label).toBe('Failed');
    expect(s.text).toMatch(/ledger refused.*back to your staked balance/);
    expect(s.tone).toBe('bad');
  });
  test('Pending without and with last error', () => {
    expect(withdrawalStatus({ Pending: { last_error: [] } })).toMatchObject({ label: 'Pending', tone: 'info' });
    expect(withdrawalStatus({ Pending: { last_error: ['ledger unreachable'] } }).text).toMatch(/ledger unreachable/);
  });
});

test('anyPending', () => {
  expect(anyPending([])).toBe(false);
  expect(anyPending([w({ Completed: { block_index: 1n } }), w({ Failed: { reason: 'x' } })])).toBe(false);
  expect(anyPending([w({ Completed: { block_index: 1n } }), w({ Pending: { last_error: [] } })])).toBe(true);
});

test('time formatting', () => {
  expect(formatTimeNs(0n)).toBe('—');
  expect(formatTimeSecs(0n)).toBe('—');
  expect(formatTimeNs(1_700_000_000_000_000_000n)).toBe('2023-11-14 22:13 UTC');
  expect(formatTimeSecs(1_700_000_000n)).toBe('2023-11-14 22:13 UTC');
});

describe('withdrawalRules', () => {
  test('the defaults when the configuration leaves them unset', () => {
    expect(withdrawalRules({ min_withdrawal_e8s: [], withdrawal_cooldown_secs: [], withdrawal_batch_secs: [] }, 'LRN')).toBe(
      'The smallest withdrawal is 10 LRN, and you can start one withdrawal every hour. Withdrawals are sent to the ledger together, within 1 minute.',
    );
  });
  test('governance-set values, and no cooldown', () => {
    expect(
      withdrawalRules({ min_withdrawal_e8s: [150_000_000n], withdrawal_cooldown_secs: [172_800n], withdrawal_batch_secs: [120n] }, 'LRN'),
    ).toBe(
      'The smallest withdrawal is 1.5 LRN, and you can start one withdrawal every 2 days. Withdrawals are sent to the ledger together, within 4 minutes.',
    );
    expect(withdrawalRules({ min_withdrawal_e8s: [1n], withdrawal_cooldown_secs: [0n], withdrawal_batch_secs: [0n] }, 'LRN')).toBe(
      'The smallest withdrawal is 0.00000001 LRN, and there is no wait between withdrawals.',
    );
  });
  test('durations', () => {
    expect([60n, 5_400n, 7_200n, 45n, 86_400n].map(formatDurationSecs)).toEqual([
      '1 minute',
      '90 minutes',
      '2 hours',
      '45 seconds',
      '1 day',
    ]);
  });
});

describe('optimistic withdrawals', () => {
  const wd = (id: bigint, amount: bigint, state: Withdrawal['state'] = { Pending: { last_error: [] } }): Withdrawal => ({
    ...w(state),
    id,
    amount_e8s: amount,
    created_at_ns: 1_000n + id,
  });
  const old = wd(1n, 50n, { Completed: { block_index: 7n } });
  /** A wallet after its first read: 1,000 e8s staked and one old Completed withdrawal. */
  const loaded = (): WalletState => acceptRead(EMPTY_WALLET, beginRead(EMPTY_WALLET), 1_000n, [old])!;
  const labels = (s: WalletState) => shownWithdrawals(s)!.map((r) => `${r.id ?? 'sending'}:${withdrawalStatus(r.state).label}:${r.amount_e8s}`);

  test('nothing is shown before the first read', () => {
    expect(shownStakedE8s(EMPTY_WALLET)).toBeNull();
    expect(shownWithdrawals(EMPTY_WALLET)).toBeNull();
    expect(shownStakedE8s(loaded())).toBe(1_000n);
    expect(labels(loaded())).toEqual(['1:Completed:50']);
  });

  test('apply: the balance drops and a Pending row being sent comes first, at once', () => {
    const { state } = applyUnstake(loaded(), 300n, 5_000n);
    expect(shownStakedE8s(state)).toBe(700n);
    const rows = shownWithdrawals(state)!;
    expect(rows[0]).toMatchObject({ id: null, sending: true, amount_e8s: 300n, created_at_ns: 5_000n });
    expect(withdrawalStatus(rows[0].state).label).toBe('Pending');
    expect(labels(state)).toEqual(['sending:Pending:300', '1:Completed:50']);
    expect(anyPending(rows)).toBe(true);
  });

  test('confirm: the real withdrawal replaces the row; the balance stays lowered until a read', () => {
    const a = applyUnstake(loaded(), 300n, 5_000n);
    const done = confirmUnstake(a.state, a.ticket, wd(2n, 300n, { Completed: { block_index: 9n } }));
    expect(labels(done)).toEqual(['2:Completed:300', '1:Completed:50']);
    expect(shownWithdrawals(done)!.some((r) => r.sending)).toBe(false);
    expect(shownStakedE8s(done)).toBe(700n);
    // The read sent after the reply includes the withdrawal: its balance and list replace all.
    const read = acceptRead(done, beginRead(done), 700n, [wd(2n, 300n, { Completed: { block_index: 9n } }), old])!;
    expect(shownStakedE8s(read)).toBe(700n);
    expect(labels(read)).toEqual(['2:Completed:300', '1:Completed:50']);
  });

  test('confirm with a Pending or a Failed withdrawal', () => {
    const a = applyUnstake(loaded(), 300n, 5_000n);
    const pending = confirmUnstake(a.state, a.ticket, wd(2n, 300n));
    expect(labels(pending)[0]).toBe('2:Pending:300');
    expect(shownStakedE8s(pending)).toBe(700n);
    // A Failed withdrawal gave its amount back to the staked balance.
    const failed = confirmUnstake(a.state, a.ticket, wd(2n, 300n, { Failed: { reason: 'ledger refused' } }));
    expect(labels(failed)[0]).toBe('2:Failed:300');
    expect(shownStakedE8s(failed)).toBe(1_000n);
  });

  test('roll back: a refusal or an error leaves exactly what was shown before', () => {
    const before = loaded();
    const a = applyUnstake(before, 300n, 5_000n);
    const back = rollbackUnstake(a.state, a.ticket);
    expect(shownStakedE8s(back)).toBe(shownStakedE8s(before));
    expect(shownWithdrawals(back)).toEqual(shownWithdrawals(before));
    expect(back.sending).toEqual([]);
    expect(back.replied).toEqual(before.replied);
  });

  test('a second withdrawal while one is in flight; replies in any order', () => {
    const a = applyUnstake(loaded(), 300n, 5_000n);
    const b = applyUnstake(a.state, 200n, 6_000n);
    expect(a.ticket).not.toBe(b.ticket);
    expect(shownStakedE8s(b.state)).toBe(500n);
    expect(labels(b.state)).toEqual(['sending:Pending:200', 'sending:Pending:300', '1:Completed:50']);
    // The second is refused (e.g. the cool-down): only its part is undone.
    const bRefused = rollbackUnstake(b.state, b.ticket);
    expect(shownStakedE8s(bRefused)).toBe(700n);
    expect(labels(bRefused)).toEqual(['sending:Pending:300', '1:Completed:50']);
    // Both accepted, the second answered first.
    const bDone = confirmUnstake(b.state, b.ticket, wd(2n, 200n));
    expect(shownStakedE8s(bDone)).toBe(500n);
    // Rows still being sent come first.
    expect(labels(bDone)).toEqual(['sending:Pending:300', '2:Pending:200', '1:Completed:50']);
    const both = confirmUnstake(bDone, a.ticket, wd(3n, 300n));
    expect(shownStakedE8s(both)).toBe(500n);
    expect(labels(both)).toEqual(['3:Pending:300', '2:Pending:200', '1:Completed:50']);
  });

  test('a reply for a send the state no longer holds (reset for another learner) changes nothing', () => {
    const a = applyUnstake(loaded(), 300n, 5_000n);
    expect(confirmUnstake(EMPTY_WALLET, a.ticket, wd(2n, 300n))).toBe(EMPTY_WALLET);
    expect(rollbackUnstake(EMPTY_WALLET, a.ticket)).toBe(EMPTY_WALLET);
    const other = loaded();
    expect(confirmUnstake(other, 99, wd(2n, 300n))).toBe(other);
  });

  test('a read that overlaps a send or a reply is dropped; the next one is kept', () => {
    const start = loaded();
    // Begun before the send, answered after it: it may or may not include the unstake.
    const early = beginRead(start);
    const a = applyUnstake(start, 300n, 5_000n);
    expect(acceptRead(a.state, early, 1_000n, [old])).toBeNull();
    // Begun while the unstake is in flight.
    const during = beginRead(a.state);
    expect(acceptRead(a.state, during, 700n, [wd(2n, 300n), old])).toBeNull();
    const done = confirmUnstake(a.state, a.ticket, wd(2n, 300n));
    expect(acceptRead(done, during, 1_000n, [old])).toBeNull();
    // Begun after the reply: kept, and it replaces the replied row.
    const after = acceptRead(done, beginRead(done), 700n, [wd(2n, 300n, { Completed: { block_index: 9n } }), old])!;
    expect(after).not.toBeNull();
    expect(after.replied).toEqual([]);
    expect(labels(after)).toEqual(['2:Completed:300', '1:Completed:50']);
    // A rolled-back send also makes a read that spans it ambiguous (an error may hide an executed call).
    const r = beginRead(after);
    const c = applyUnstake(after, 100n, 7_000n);
    expect(acceptRead(rollbackUnstake(c.state, c.ticket), r, 700n, [])).toBeNull();
  });
});
