import { describe, expect, test } from 'vitest';
import { Principal } from '@icp-sdk/core/principal';
import type { Withdrawal } from '../bindings/user_profile.did';
import { withdrawalStatus, anyPending, formatTimeNs, formatTimeSecs, formatDurationSecs, withdrawalRules } from './withdrawals';

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
    expect(withdrawalRules({ min_withdrawal_e8s: [], withdrawal_cooldown_secs: [] }, 'LRN')).toBe(
      'The smallest withdrawal is 10 LRN, and you can start one withdrawal every hour.',
    );
  });
  test('governance-set values, and no cooldown', () => {
    expect(withdrawalRules({ min_withdrawal_e8s: [150_000_000n], withdrawal_cooldown_secs: [172_800n] }, 'LRN')).toBe(
      'The smallest withdrawal is 1.5 LRN, and you can start one withdrawal every 2 days.',
    );
    expect(withdrawalRules({ min_withdrawal_e8s: [1n], withdrawal_cooldown_secs: [0n] }, 'LRN')).toBe(
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
