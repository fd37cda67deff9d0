// What the registration form asks for, from the hub's `get_registration_policy`. Pure: no
// agent, no DOM. The credential path (Internet Identity's verifiable-credential flow) is left
// to API clients for now: the form offers the invite code field whenever the policy takes codes.
import type { RegistrationPolicy, RegistrationProof } from '../bindings/staking_hub.did';

export interface RegistrationNeeds {
  /** Show the invite code field. */
  inviteCode: boolean;
  /** The policy takes a credential presentation (not collected by this app). */
  credential: boolean;
  /** The policy accepts a registration with no proof at all. */
  open: boolean;
  /** A sentence for the learner about what registration needs. */
  explanation: string;
}

export function registrationNeeds(policy: RegistrationPolicy): RegistrationNeeds {
  if ('Open' in policy) return { inviteCode: false, credential: false, open: true, explanation: 'Anyone can register.' };
  if ('InviteCode' in policy)
    return { inviteCode: true, credential: false, open: false, explanation: 'Registration is by invitation: enter the invite code you received.' };
  if ('Credential' in policy)
    return {
      inviteCode: false,
      credential: true,
      open: false,
      explanation: `Registration needs a "${policy.Credential.credential_type}" credential (proof of personhood), which this app cannot request yet.`,
    };
  if ('InviteCodeOrCredential' in policy)
    return {
      inviteCode: true,
      credential: true,
      open: false,
      explanation: `Registration is by invitation: enter the invite code you received (or present a "${policy.InviteCodeOrCredential.credential_type}" credential through a client that supports it).`,
    };
  const unknown: never = policy;
  return { inviteCode: false, credential: false, open: false, explanation: `Unknown registration policy ${JSON.stringify(unknown)}.` };
}

/** `register`'s optional argument: the trimmed invite code, or none. */
export function inviteCodeProof(code: string): [] | [RegistrationProof] {
  const trimmed = code.trim();
  return trimmed === '' ? [] : [{ InviteCode: trimmed }];
}
