// SNS proposals as the platform page lists them. Pure.
import type { NervousSystemFunction, ProposalData } from '../bindings/sns_governance.did';

export type ProposalStatus = 'Open' | 'Rejected' | 'Adopted' | 'Executed' | 'Failed';

/** The decision status the SNS derives from a proposal's timestamps and tally. */
export function proposalStatus(p: Pick<ProposalData, 'decided_timestamp_seconds' | 'executed_timestamp_seconds' | 'failed_timestamp_seconds' | 'latest_tally'>): ProposalStatus {
  if (p.executed_timestamp_seconds > 0n) return 'Executed';
  if (p.failed_timestamp_seconds > 0n) return 'Failed';
  if (p.decided_timestamp_seconds === 0n) return 'Open';
  const tally = p.latest_tally[0];
  // Decided but neither executed nor failed: adopted (execution under way) if yes won.
  if (tally && tally.yes > tally.no) return 'Adopted';
  return 'Rejected';
}

/** Native SNS action ids (below 1000; custom functions have ids from 1000 on). */
const NATIVE_ACTIONS: Record<string, string> = {
  '1': 'Motion',
  '2': 'Manage nervous system parameters',
  '3': 'Upgrade a platform canister',
  '4': 'Add a custom proposal type',
  '5': 'Remove a custom proposal type',
  '7': 'Upgrade the SNS',
  '8': 'Manage SNS metadata',
  '9': 'Transfer treasury funds',
  '10': 'Register platform canisters with the SNS',
  '11': 'Deregister platform canisters',
  '12': 'Mint SNS tokens',
  '13': 'Manage ledger parameters',
  '14': 'Manage canister settings',
};

/** A readable action kind: the custom function's name for ids ≥ 1000, the native kind otherwise. */
export function actionKind(p: Pick<ProposalData, 'action' | 'proposal'>, functions: readonly NervousSystemFunction[]): string {
  const id = p.action;
  const fn = functions.find((f) => f.id === id);
  if (id >= 1000n) return fn ? fn.name : `Custom function ${id}`;
  const native = NATIVE_ACTIONS[id.toString()];
  if (native) return native;
  const action = p.proposal[0]?.action[0];
  if (action) return Object.keys(action)[0] ?? `Action ${id}`;
  return fn?.name ?? `Action ${id}`;
}

export function proposalTitle(p: Pick<ProposalData, 'proposal' | 'id'>): string {
  const t = p.proposal[0]?.title?.trim();
  return t || `Proposal ${p.id[0]?.id ?? '?'}`;
}
