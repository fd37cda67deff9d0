import { describe, expect, test } from 'vitest';
import { Principal } from '@icp-sdk/core/principal';
import {
  TrustError,
  RejectError,
  TransportError,
  ProtocolError,
  UnknownError,
  InputError,
  CertificateVerificationErrorCode,
  CertificateTimeErrorCode,
  QuerySignatureVerificationFailedErrorCode,
  MissingRootKeyErrorCode,
  CertifiedRejectErrorCode,
  UncertifiedRejectErrorCode,
  HttpFetchErrorCode,
  HttpErrorCode,
  TimeoutWaitingForResponseErrorCode,
  UnexpectedErrorCode,
} from '@icp-sdk/core/agent';
import type { RegisterError } from '../bindings/staking_hub.did';
import type { DeleteProfileError, ShardError, UnstakeError } from '../bindings/user_profile.did';
import {
  CanisterError,
  UserFacingError,
  describeError,
  describeRegisterError,
  describeDeleteProfileError,
  describeShardError,
  describeUnstakeError,
  describeReject,
  badInputDetail,
  unwrap,
  errorDetails,
} from './errors';

const shard = Principal.fromText('aaaaa-aa');
const sentence = (s: string) => {
  expect(s).toMatch(/^[A-Z"]/);
  expect(s).toMatch(/[.!?)]$/);
  expect(s).not.toMatch(/Unexpected answer/);
};

describe('RegisterError', () => {
  const cases: [RegisterError, RegExp][] = [
    [{ Anonymous: null }, /sign in/],
    [{ ShardUnavailable: { detail: 'install failed', shard } }, /install failed.*try again/],
    [{ NoCapacity: { detail: 'creating a shard' } }, /full.*creating a shard/],
    [{ InProgress: null }, /still being completed/],
    [{ PlatformPaused: null }, /paused by its governance.*no new learners/],
    [{ ProofRequired: { accepted: 'an invite code' } }, /provide an invite code\.$/],
    [{ ProofNotAccepted: { detail: 'the registration policy takes no invite codes' } }, /not accepted.*takes no invite codes\.$/],
    [{ InvalidInviteCode: null }, /invite code is not valid/],
    [{ InviteCodeAlreadyUsed: null }, /already been used.*one learner/],
    [{ CredentialRejected: { detail: 'credential expired' } }, /could not be verified \(credential expired\)/],
    [{ CredentialAlreadyUsed: null }, /already registered another account/],
  ];
  test.each(cases)('%o', (e, re) => {
    const s = describeRegisterError(e);
    sentence(s);
    expect(s).toMatch(re);
  });
});

describe('ShardError', () => {
  const cases: [ShardError, RegExp][] = [
    [{ NotRegistered: null }, /not registered/],
    [{ ContentUnavailable: { detail: 'timeout' } }, /content could not be reached.*\(timeout\).*not counted/],
    [{ UnknownUnit: { unit_id: 'u-9' } }, /"u-9"/],
    [{ NotAuthorized: null }, /not allowed/],
    [{ RewardsExhausted: null }, /hard cap/],
    [{ ShardDisabled: null }, /paused by governance/],
    [{ SubmissionInProgress: null }, /still being processed/],
    [{ AlreadyCompleted: { unit_id: 'u-1' } }, /already completed the unit "u-1"/],
    [{ BadInput: { detail: 'email: not an email address' } }, /Please check your input: email: not an email address/],
    [{ RewardsUnavailable: { detail: 'hub unreachable' } }, /hub unreachable.*not counted/],
    [{ DailyLimitReached: { limit: 5 } }, /all 5 quiz attempts/],
    [{ PlatformPaused: null }, /paused by its governance.*not counted/],
    [{ ShardMigrating: null }, /being moved.*Nothing is lost.*Reload/],
  ];
  test.each(cases)('%o', (e, re) => {
    const s = describeShardError(e);
    sentence(s);
    expect(s).toMatch(re);
  });
  test('badInputDetail names the field', () => {
    expect(badInputDetail({ BadInput: { detail: 'name: empty' } })).toBe('name: empty');
    expect(badInputDetail({ NotRegistered: null })).toBeUndefined();
  });
});

describe('UnstakeError', () => {
  const cases: [UnstakeError, RegExp][] = [
    [{ NotRegistered: null }, /not registered/],
    [{ BadAmount: { detail: 'more than the staked balance' } }, /cannot be withdrawn: more than the staked balance/],
    [{ ShardDisabled: null }, /paused/],
    [{ TooManyPending: { limit: 3 } }, /3 withdrawals/],
    [{ BelowMinimum: { minimum_e8s: 1_000_000_000n } }, /smallest withdrawal is 10 tokens/],
    [{ CoolingDown: { next_allowed_ns: 1_764_424_260_000_000_000n } }, /next one from 2025-11-29 13:51 UTC/],
    [{ ShardMigrating: null }, /being moved/],
  ];
  test.each(cases)('%o', (e, re) => {
    const s = describeUnstakeError(e);
    sentence(s);
    expect(s).toMatch(re);
  });
});

describe('unwrap', () => {
  test('Ok passes through', () => {
    expect(unwrap<number, ShardError>({ Ok: 3 }, describeShardError)).toBe(3);
  });
  test('Err throws a CanisterError with the sentence, variant and BadInput detail', () => {
    try {
      unwrap<number, ShardError>({ Err: { BadInput: { detail: 'gender: unknown' } } }, describeShardError);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CanisterError);
      const ce = e as CanisterError;
      expect(ce.variant).toBe('BadInput');
      expect(ce.detail).toBe('gender: unknown');
      expect(describeError(ce)).toBe('Please check your input: gender: unknown.');
      expect(errorDetails(ce)).toBe('BadInput: gender: unknown');
    }
  });
  test('Err without detail', () => {
    expect(() => unwrap<number, UnstakeError>({ Err: { ShardDisabled: null } }, describeUnstakeError)).toThrow(/paused/);
  });
});

describe('agent errors', () => {
  const rid = new Uint8Array(32) as never;
  test('certificate verification failure', () => {
    const s = describeError(TrustError.fromCode(new CertificateVerificationErrorCode('Invalid signature')));
    sentence(s);
    expect(s).toMatch(/certificate check/);
  });
  test('certificate time (clock) failure', () => {
    const now = new Date();
    const s = describeError(TrustError.fromCode(new CertificateTimeErrorCode(5, now, now, 600_000, 'past')));
    expect(s).toMatch(/clock/);
  });
  test('query signature verification failure', () => {
    const s = describeError(TrustError.fromCode(new QuerySignatureVerificationFailedErrorCode('node-1')));
    expect(s).toMatch(/signature/);
  });
  test('missing root key', () => {
    expect(describeError(TrustError.fromCode(new MissingRootKeyErrorCode()))).toMatch(/root key/);
  });
  test('certified reject: canister error (trap)', () => {
    const s = describeError(RejectError.fromCode(new CertifiedRejectErrorCode(rid, 5, 'Canister trapped: boom', 'IC0503')));
    sentence(s);
    expect(s).toMatch(/failed while handling your request.*boom/);
  });
  test('uncertified reject: canister reject', () => {
    const s = describeError(RejectError.fromCode(new UncertifiedRejectErrorCode(rid, 4, 'only the hub', 'IC0406', undefined)));
    expect(s).toMatch(/refused the request \(only the hub\)/);
  });
  test('stopped canister', () => {
    const s = describeError(RejectError.fromCode(new CertifiedRejectErrorCode(rid, 5, 'Canister x is stopped', 'IC0508')));
    expect(s).toMatch(/being upgraded/);
  });
  test('reject codes', () => {
    expect(describeReject(5, 'Error from Canister x: Canister called `ic0.trap` with message: user_profile refuses this ingress message: 2vxsx-fae is not registered on this shard', 'IC0503')).toMatch(/register on the Learn page first/);
    expect(describeReject(5, 'staking_hub refuses this ingress message: the anonymous principal cannot register')).toMatch(/sign in first/);
    // As the IC words a trap: the message quoted, then advice on a new line.
    expect(
      describeReject(5, "Error from Canister c: Canister called `ic0.trap` with message: 'learning_content refuses this ingress message: only the hub may call register_shard'.\nConsider gracefully handling failures", 'IC0503'),
    ).toBe('The platform refused this request before running it (only the hub may call register_shard). Nothing was changed.');
    expect(describeReject(5, 'learning_content refuses this ingress message: unknown method x')).toMatch(/refused this request before running it \(unknown method x\)\. Nothing was changed\./);
    expect(describeReject(1, 'fatal')).toMatch(/could not process/);
    expect(describeReject(2, 'queue full')).toMatch(/busy/);
    expect(describeReject(3, 'Canister abc not found')).toMatch(/not available/);
    expect(describeReject(3, 'x')).toMatch(/not available/);
    expect(describeReject(4, 'no')).toMatch(/refused/);
    expect(describeReject(5, 'trap')).toMatch(/failed/);
    expect(describeReject(5, 'Canister x is out of cycles')).toMatch(/cycles/);
    expect(describeReject(undefined, undefined)).toBe('The call was rejected.');
  });
  test('network unreachable', () => {
    const s = describeError(TransportError.fromCode(new HttpFetchErrorCode(new TypeError('Failed to fetch'))));
    sentence(s);
    expect(s).toMatch(/could not be reached/);
  });
  test('HTTP errors', () => {
    expect(describeError(TransportError.fromCode(new HttpErrorCode(503, 'Unavailable', [])))).toMatch(/busy/);
    expect(describeError(TransportError.fromCode(new HttpErrorCode(500, 'Error', [])))).toMatch(/HTTP 500/);
    expect(describeError(TransportError.fromCode(new HttpErrorCode(400, 'Bad', [])))).toMatch(/refused.*HTTP 400/);
  });
  test('timeouts', () => {
    expect(describeError(ProtocolError.fromCode(new TimeoutWaitingForResponseErrorCode('too many')))).toMatch(/in time/);
    expect(describeError(UnknownError.fromCode(new TimeoutWaitingForResponseErrorCode('backoff')))).toMatch(/in time/);
  });
  test('other agent errors', () => {
    expect(describeError(ProtocolError.fromCode(new UnexpectedErrorCode('x')))).toMatch(/did not understand/);
    expect(describeError(InputError.fromCode(new UnexpectedErrorCode('x')))).toMatch(/could not accept/);
  });
});

describe('other errors', () => {
  test('fetch TypeError', () => {
    expect(describeError(new TypeError('Failed to fetch'))).toMatch(/could not be reached/);
  });
  test('user-facing errors pass through', () => {
    expect(describeError(new UserFacingError('The platform settings are broken.'))).toBe('The platform settings are broken.');
  });
  test('sign-in cancelled', () => {
    expect(describeError(new Error('UserInterrupt'))).toBe('Sign-in was cancelled.');
  });
  test('anything else keeps its first line', () => {
    expect(describeError(new Error('weird\nstack'))).toBe('Something went wrong: weird');
    expect(describeError('plain')).toBe('Something went wrong: plain');
  });
});

describe('DeleteProfileError', () => {
  const cases: [DeleteProfileError, RegExp][] = [
    [{ NotRegistered: null }, /no profile/],
    [{ StakedBalance: { staked_e8s: 250_000_000n } }, /2\.5 tokens staked.*Withdraw them first.*nothing was deleted/],
    [{ WithdrawalsPending: { count: 2n } }, /2 of your withdrawals.*nothing was deleted/],
    [{ RewardsOwed: { amount_e8s: 100_000_000n } }, /owes you 1 tokens.*nothing was deleted/],
    [{ SubmissionInProgress: null }, /still being processed/],
    [{ ShardDisabled: null }, /paused by governance/],
    [{ ShardMigrating: null }, /being moved/],
  ];
  test.each(cases)('%o', (e, re) => {
    expect(describeDeleteProfileError(e)).toMatch(re);
  });
});
