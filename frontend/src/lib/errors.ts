// Every error the app can meet, as a sentence a learner understands. Pure: no agent, no DOM.
// - Candid error variants of the platform canisters (RegisterError, ShardError, UnstakeError):
//   exhaustive switches, so a new variant in candid/*.did fails `npm run check`/the build.
// - Errors of @icp-sdk/core's agent (AgentError subclasses: TrustError for certificate and
//   query-signature verification failures, RejectError for rejected calls, TransportError for
//   network failures, ...), recognised by their `name` and their error code's `name`, so this
//   module does not need the agent at run time (the tests build the agent's real errors).
// - The app's own errors (platform.json problems, sign-in failures).
import type { RegisterError } from '../bindings/staking_hub.did';
import type { DeleteProfileError, ShardError, UnstakeError } from '../bindings/user_profile.did';
import { formatE8s } from './tokens';
import { formatTimeNs } from './withdrawals';

/** An `Err` a canister answered, already turned into a sentence. */
export class CanisterError extends Error {
  override name = 'CanisterError';
  constructor(
    message: string,
    /** The variant name, e.g. `BadInput`. */
    public readonly variant: string,
    /** The field a `BadInput` names, if any (for showing it next to the form). */
    public readonly detail?: string,
  ) {
    super(message);
  }
}

/** An error of the app itself whose message is already meant for the learner. */
export class UserFacingError extends Error {
  override name = 'UserFacingError';
}

type Variant = Record<string, unknown>;
const variantName = (v: Variant): string => Object.keys(v)[0] ?? '?';

/** A canister's detail text as the end of a sentence. */
const stop = (t: string): string => (/[.!?]$/.test(t.trim()) ? t.trim() : `${t.trim()}.`);

const unreachable = (v: never): string => `Unexpected answer from the platform (${JSON.stringify(v)}).`;

export function describeRegisterError(e: RegisterError): string {
  if ('Anonymous' in e) return 'You need to sign in before you can register.';
  if ('ShardUnavailable' in e)
    return `Your learner account could not be created right now (${e.ShardUnavailable.detail}). Nothing was recorded; please try again in a moment.`;
  if ('NoCapacity' in e)
    return `The platform is full right now and is making room for more learners (${e.NoCapacity.detail}). Please try again in a few minutes.`;
  if ('InProgress' in e) return 'Your registration is still being completed. Please try again in a few seconds.';
  if ('PlatformPaused' in e)
    return 'The platform is paused by its governance for now, so no new learners can register. Nothing was recorded; please try again once it has resumed.';
  if ('ProofRequired' in e)
    return `Registration is by invitation or proof of personhood: please provide ${e.ProofRequired.accepted}.`;
  if ('ProofNotAccepted' in e) return `That kind of proof is not accepted here: ${stop(e.ProofNotAccepted.detail)}`;
  if ('InvalidInviteCode' in e)
    return 'This invite code is not valid (check for typos, or it may have been withdrawn). Nothing was recorded.';
  if ('InviteCodeAlreadyUsed' in e)
    return 'This invite code has already been used: each code registers one learner. Ask for a new code.';
  if ('CredentialRejected' in e)
    return `Your credential could not be verified (${e.CredentialRejected.detail.trim()}). Nothing was recorded; please request a fresh credential and try again.`;
  if ('CredentialAlreadyUsed' in e)
    return 'This credential has already registered another account: each person can register one learner account.';
  return unreachable(e);
}

export function describeShardError(e: ShardError): string {
  if ('NotRegistered' in e) return 'You are not registered yet. Register first, then try again.';
  if ('ContentUnavailable' in e)
    return `The learning content could not be reached, so your answers were not checked (${e.ContentUnavailable.detail}). This attempt was not counted; please try again later.`;
  if ('UnknownUnit' in e) return `There is no learning unit "${e.UnknownUnit.unit_id}" (it may have been retired).`;
  if ('NotAuthorized' in e) return 'You are not allowed to do this: only the learner themself can.';
  if ('RewardsExhausted' in e)
    return 'All reward tokens have been handed out: the platform has reached its hard cap, so quizzes no longer earn rewards.';
  if ('ShardDisabled' in e)
    return 'Your part of the platform is paused by governance for now. You can still look at your data, but changes must wait until it is enabled again.';
  if ('SubmissionInProgress' in e) return 'Your previous quiz submission is still being processed. Please wait a moment and try again.';
  if ('AlreadyCompleted' in e) return `You have already completed the unit "${e.AlreadyCompleted.unit_id}"; its reward was paid once.`;
  if ('BadInput' in e) return `Please check your input: ${stop(e.BadInput.detail)}`;
  if ('RewardsUnavailable' in e)
    return `Rewards cannot be paid right now (${e.RewardsUnavailable.detail}). This attempt was not counted; please submit again in a little while.`;
  if ('DailyLimitReached' in e)
    return `You have used all ${e.DailyLimitReached.limit} quiz attempts for today. Come back tomorrow (UTC).`;
  if ('PlatformPaused' in e)
    return 'The platform is paused by its governance for now, so quizzes are not accepted. This attempt was not counted; your balance and progress are safe. Please try again once it has resumed.';
  if ('ShardMigrating' in e) return MIGRATING;
  return unreachable(e);
}

/** A shard frozen for a migration (function 1012): the learner's data moves, reloading finds the new shard. */
const MIGRATING =
  'Your account is being moved to another part of the platform by governance. Nothing is lost and you can still look at your data; changes wait until the move is done. Reload this page in a few minutes.';

export function describeUnstakeError(e: UnstakeError): string {
  if ('NotRegistered' in e) return 'You are not registered yet, so you have nothing staked to withdraw.';
  if ('BadAmount' in e) return `That amount cannot be withdrawn: ${stop(e.BadAmount.detail)}`;
  if ('ShardDisabled' in e)
    return 'Withdrawals are paused for your part of the platform by governance. Your staked tokens are safe; try again later.';
  if ('TooManyPending' in e)
    return `You already have ${e.TooManyPending.limit} withdrawals on their way. Wait for them to complete before starting another.`;
  if ('BelowMinimum' in e)
    return `The smallest withdrawal is ${formatE8s(e.BelowMinimum.minimum_e8s)} tokens: enter at least that amount.`;
  if ('CoolingDown' in e)
    return `You started a withdrawal a short while ago; you can start the next one from ${formatTimeNs(e.CoolingDown.next_allowed_ns)}.`;
  if ('ShardMigrating' in e) return MIGRATING;
  return unreachable(e);
}

export function describeDeleteProfileError(e: DeleteProfileError): string {
  if ('NotRegistered' in e) return 'You have no profile on the platform, so there is nothing to delete.';
  if ('StakedBalance' in e)
    return `You still have ${formatE8s(e.StakedBalance.staked_e8s)} tokens staked. Withdraw them first, or tick the box to give them up; nothing was deleted.`;
  if ('WithdrawalsPending' in e)
    return `${e.WithdrawalsPending.count} of your withdrawals are still on their way. Your profile can be deleted once they have completed; nothing was deleted.`;
  if ('RewardsOwed' in e)
    return `The platform still owes you ${formatE8s(e.RewardsOwed.amount_e8s)} tokens of quiz rewards, paid as the daily budget allows. Your profile can be deleted once they are paid; nothing was deleted.`;
  if ('SubmissionInProgress' in e) return 'A quiz submission of yours is still being processed. Wait a moment and try again; nothing was deleted.';
  if ('ShardDisabled' in e)
    return 'Your part of the platform is paused by governance for now, so nothing can be changed, deletion included. Try again once it is enabled.';
  if ('ShardMigrating' in e) return MIGRATING;
  return unreachable(e);
}

/** The `detail` of a BadInput, for showing it beside the form field it names. */
export function badInputDetail(e: ShardError): string | undefined {
  return 'BadInput' in e ? e.BadInput.detail : undefined;
}

/** `variant { Ok : T; Err : E }` as the bindings type it. */
export type CandidResult<T, E> = { Ok: T } | { Err: E };

/** The `Ok` of a Candid result, or a thrown CanisterError carrying the sentence for the `Err`. */
export function unwrap<T, E extends object>(r: CandidResult<T, E>, describe: (e: E) => string): T {
  if ('Ok' in r) return r.Ok;
  const err = r.Err;
  const detail = 'BadInput' in err ? (err as { BadInput: { detail: string } }).BadInput.detail : undefined;
  throw new CanisterError(describe(err), variantName(err as Variant), detail);
}

// ---- Agent and network errors -------------------------------------------------------------

interface AgentLikeError {
  name: string;
  message: string;
  cause?: { code?: { name?: string; rejectCode?: number; rejectMessage?: string; rejectErrorCode?: string; status?: number } };
}

function isAgentLike(err: unknown): err is AgentLikeError {
  return (
    err instanceof Error &&
    typeof (err as AgentLikeError).cause === 'object' &&
    (err as AgentLikeError).cause !== null &&
    typeof (err as AgentLikeError).cause?.code === 'object'
  );
}

/** Why a call was rejected (a reject code of the IC interface spec), for the learner. */
export function describeReject(rejectCode: number | undefined, rejectMessage: string | undefined, errorCode?: string): string {
  const msg = rejectMessage ? ` (${rejectMessage})` : '';
  // The canisters' ingress filter (canister_inspect_message) refused the call before it ran.
  const refused = /refuses this ingress message: ([^'\n]*)/.exec(rejectMessage ?? '');
  if (refused) {
    const reason = refused[1].trim().replace(/\.$/, '');
    if (/anonymous/i.test(reason)) return 'Please sign in first: the platform does not accept this from an anonymous visitor.';
    if (/is not registered on this shard/i.test(reason))
      return 'You are not registered yet (or not on this part of the platform): register on the Learn page first.';
    return `The platform refused this request before running it (${reason}). Nothing was changed.`;
  }
  if (errorCode === 'IC0508' || /is stopped|is stopping/i.test(rejectMessage ?? ''))
    return 'This part of the platform is being upgraded right now. Please try again in a minute.';
  if (errorCode === 'IC0537' || /no wasm module|not found|does not exist/i.test(rejectMessage ?? ''))
    return `This part of the platform is not available on this network${msg}.`;
  if (/out of cycles/i.test(rejectMessage ?? ''))
    return 'This part of the platform has run out of cycles (its computation budget). Please try again later.';
  switch (rejectCode) {
    case 1:
      return `The Internet Computer could not process the call${msg}. Please try again later.`;
    case 2:
      return `The Internet Computer is busy right now${msg}. Please try again in a moment.`;
    case 3:
      return `This part of the platform is not available on this network${msg}.`;
    case 4:
      return `The platform refused the request${msg}.`;
    case 5:
      return `The platform failed while handling your request, and nothing was changed${msg}. Please try again later.`;
    default:
      return `The call was rejected${msg}.`;
  }
}

/** Any thrown error as a sentence for the learner. */
export function describeError(err: unknown): string {
  if (err instanceof CanisterError || err instanceof UserFacingError) return err.message;
  if (isAgentLike(err)) {
    const code = err.cause?.code ?? {};
    const codeName = code.name ?? '';
    switch (err.name) {
      case 'TrustError':
        if (codeName === 'CertificateTimeErrorCode' || codeName === 'CertificateOutdatedErrorCode')
          return "The network's answer could not be verified because its time is too far from your device's clock. Check that your clock is set correctly, then reload.";
        if (codeName === 'QuerySignatureVerificationFailedErrorCode' || codeName.includes('Signature'))
          return 'The signature on the answer from the network could not be verified, so it was not trusted. Please reload; if it keeps happening, the node may be misbehaving.';
        if (codeName === 'MissingRootKeyErrorCode' || codeName === 'InvalidRootKeyErrorCode')
          return "The app does not have the network's root key, so it cannot verify any answer. Reload the page.";
        return "The answer from the network failed its certificate check, so it was not trusted. Please reload; if it keeps happening, you may not be talking to the real Internet Computer.";
      case 'RejectError':
        return describeReject(code.rejectCode, code.rejectMessage, code.rejectErrorCode);
      case 'TransportError':
        if (codeName === 'HttpErrorCode' && typeof code.status === 'number') {
          if (code.status === 429 || code.status === 503)
            return 'The network is busy right now. Please try again in a moment.';
          if (code.status >= 500) return `The network had a problem answering (HTTP ${code.status}). Please try again later.`;
          return `The network refused the request (HTTP ${code.status}).`;
        }
        return 'The network could not be reached. Check your internet connection and try again.';
      case 'ProtocolError':
      case 'UnknownError':
        if (codeName === 'TimeoutWaitingForResponseErrorCode')
          return 'The network did not confirm the call in time. It may still go through: reload in a minute to check before trying again.';
        return 'The network answered in a way the app did not understand. Please try again later.';
      case 'InputError':
        return 'The app sent a request the network could not accept. Please reload and try again.';
      case 'LimitError':
        return 'The answer was larger than the app allows. Please try again later.';
      case 'ExternalError':
        return 'Something outside the network (such as your identity provider) failed. Please sign in again.';
      default:
        break;
    }
  }
  if (err instanceof TypeError && /fetch|network/i.test(err.message))
    return 'The network could not be reached. Check your internet connection and try again.';
  if (err instanceof Error && /UserInterrupt|closed|cancel/i.test(err.message))
    return 'Sign-in was cancelled.';
  const text = err instanceof Error ? err.message : String(err);
  return `Something went wrong: ${firstLine(text)}`;
}

/** Technical details of an error for a collapsed "details" element (never the main message). */
export function errorDetails(err: unknown): string | undefined {
  if (err instanceof CanisterError) return `${err.variant}${err.detail ? `: ${err.detail}` : ''}`;
  if (err instanceof Error) return err.message;
  return undefined;
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? s;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
