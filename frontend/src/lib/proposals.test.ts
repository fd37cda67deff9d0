import { describe, expect, test } from 'vitest';
import type { NervousSystemFunction, ProposalData } from '../bindings/sns_governance.did';
import { proposalStatus, actionKind, proposalTitle } from './proposals';

const p = (o: Partial<ProposalData>): ProposalData =>
  ({
    id: [{ id: 7n }],
    action: 1n,
    proposal: [{ title: 'Add units', summary: '', url: '', action: [{ Motion: { motion_text: 'x' } }] }],
    decided_timestamp_seconds: 0n,
    executed_timestamp_seconds: 0n,
    failed_timestamp_seconds: 0n,
    latest_tally: [],
    ...o,
  }) as ProposalData;

const tally = (yes: bigint, no: bigint) => [{ yes, no, total: 10n, timestamp_seconds: 1n }] as ProposalData['latest_tally'];

describe('proposalStatus', () => {
  test('open', () => expect(proposalStatus(p({}))).toBe('Open'));
  test('executed', () => expect(proposalStatus(p({ decided_timestamp_seconds: 1n, executed_timestamp_seconds: 2n }))).toBe('Executed'));
  test('failed', () => expect(proposalStatus(p({ decided_timestamp_seconds: 1n, failed_timestamp_seconds: 2n }))).toBe('Failed'));
  test('adopted', () => expect(proposalStatus(p({ decided_timestamp_seconds: 1n, latest_tally: tally(6n, 1n) }))).toBe('Adopted'));
  test('rejected', () => expect(proposalStatus(p({ decided_timestamp_seconds: 1n, latest_tally: tally(1n, 6n) }))).toBe('Rejected'));
});

describe('actionKind', () => {
  const fns: NervousSystemFunction[] = [
    { id: 1001n, name: 'Change platform configuration', description: [], function_type: [] },
    { id: 3n, name: 'Upgrade SNS controlled canister', description: [], function_type: [] },
  ];
  test('custom function by name', () => expect(actionKind(p({ action: 1001n }), fns)).toBe('Change platform configuration'));
  test('unknown custom function', () => expect(actionKind(p({ action: 1009n }), fns)).toBe('Custom function 1009'));
  test('native action', () => expect(actionKind(p({ action: 3n }), fns)).toBe('Upgrade a platform canister'));
  test('motion', () => expect(actionKind(p({ action: 1n }), [])).toBe('Motion'));
  test('unknown native action falls back to the variant', () => expect(actionKind(p({ action: 99n }), [])).toBe('Motion'));
  test('nothing known', () => expect(actionKind(p({ action: 99n, proposal: [] }), [])).toBe('Action 99'));
});

test('proposalTitle', () => {
  expect(proposalTitle(p({}))).toBe('Add units');
  expect(proposalTitle(p({ proposal: [] }))).toBe('Proposal 7');
});
