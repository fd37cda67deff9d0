//! Who may register (issue 11: free principals must not farm the token cap): the registration
//! policy in force, invite codes and used credential subjects (stable memories 20–22), the
//! admission of a new learner, and function 1007 that changes them.
//!
//! A registration is admitted in two steps around the hub's awaits: [`check`] before (changes
//! nothing, so a refused caller costs no state and cannot trigger provisioning) and [`admit`]
//! right before the index entry is reserved (re-reads the state, which may have changed during
//! an await). [`release`] undoes an admission when the shard does not create the user.
//!
//! A proof consumed by a principal keeps admitting that same principal (its registration may
//! have failed at the shard or been lost), and nobody else.

use crate::{guards, state};
use candid::{CandidType, Deserialize, Principal};
use platform_types::{
    hex_of, invite_code_hash, render_policy, render_registration_policy_change, CredentialRequirement, RegisterError,
    RegistrationPolicy, RegistrationPolicyView, RegistrationProof, SetRegistrationPolicyArgs, ValidationResult,
    MAX_INVITE_CODE_LEN, MAX_PRESENTATION_LEN,
};
use serde::Serialize;

/// The state of one invite code (by its sha256).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum InviteCode {
    Unused,
    /// Registered this learner (for good: a code never registers a second one).
    UsedBy(Principal),
    Revoked,
}

/// What a checked proof admits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    Open,
    InviteCode([u8; 32]),
    Credential { subject: Principal },
}

/// The policy in force: governance's last (function 1007), else the init argument's, else
/// closed (invite codes, none issued).
pub fn policy() -> RegistrationPolicy {
    // Borrowed from the cells: cloning the whole init arguments to read one field is waste in `register`.
    state::with(|s| {
        s.registration_policy.get().0.clone().or_else(|| s.init_args.get().0.as_ref().and_then(|a| a.registration_policy.clone()))
    })
    .unwrap_or_else(RegistrationPolicy::closed)
}

pub fn view() -> RegistrationPolicyView {
    let (mut unused, mut used, mut revoked) = (0, 0, 0);
    state::with(|s| {
        for entry in s.invite_codes.iter() {
            match entry.value().0 {
                InviteCode::Unused => unused += 1,
                InviteCode::UsedBy(_) => used += 1,
                InviteCode::Revoked => revoked += 1,
            }
        }
    });
    RegistrationPolicyView {
        policy: policy(),
        unused_invite_codes: unused,
        used_invite_codes: used,
        revoked_invite_codes: revoked,
        credential_subjects: state::with(|s| s.credential_subjects.len()),
    }
}

fn invite_code(hash: &[u8; 32]) -> Option<InviteCode> {
    state::with(|s| s.invite_codes.get(hash).map(|v| v.0))
}

fn subject_owner(subject: Principal) -> Option<Principal> {
    state::with(|s| s.credential_subjects.get(&subject))
}

fn accepted(policy: &RegistrationPolicy) -> String {
    match policy {
        RegistrationPolicy::Open => "none".into(),
        RegistrationPolicy::InviteCode => "an invite code".into(),
        RegistrationPolicy::Credential(c) => format!("a {} credential presentation", c.credential_type),
        RegistrationPolicy::InviteCodeOrCredential(c) => {
            format!("an invite code or a {} credential presentation", c.credential_type)
        }
    }
}

/// Checks `proof` from `caller` against the policy in force; changes nothing. `verify` checks
/// a credential presentation for the caller and returns its subject (see `credential`).
pub fn check(
    caller: Principal,
    proof: Option<&RegistrationProof>,
    verify: impl FnOnce(&CredentialRequirement, &str) -> Result<Principal, String>,
) -> Result<Admission, RegisterError> {
    let policy = policy();
    if policy == RegistrationPolicy::Open {
        return Ok(Admission::Open);
    }
    match proof {
        None => Err(RegisterError::ProofRequired { accepted: accepted(&policy) }),
        Some(RegistrationProof::InviteCode(code)) => {
            if !policy.accepts_invite_codes() {
                return Err(RegisterError::ProofNotAccepted {
                    detail: format!("the registration policy takes no invite codes; it needs {}", accepted(&policy)),
                });
            }
            if code.len() > MAX_INVITE_CODE_LEN {
                return Err(RegisterError::InvalidInviteCode);
            }
            let hash = invite_code_hash(code);
            match invite_code(&hash) {
                Some(InviteCode::Unused) => Ok(Admission::InviteCode(hash)),
                Some(InviteCode::UsedBy(learner)) if learner == caller => Ok(Admission::InviteCode(hash)),
                Some(InviteCode::UsedBy(_)) => Err(RegisterError::InviteCodeAlreadyUsed),
                Some(InviteCode::Revoked) | None => Err(RegisterError::InvalidInviteCode),
            }
        }
        Some(RegistrationProof::CredentialPresentation(presentation)) => {
            let Some(requirement) = policy.credential() else {
                return Err(RegisterError::ProofNotAccepted {
                    detail: format!("the registration policy takes no credentials; it needs {}", accepted(&policy)),
                });
            };
            if presentation.len() > MAX_PRESENTATION_LEN {
                return Err(RegisterError::CredentialRejected {
                    detail: format!("the presentation is longer than {MAX_PRESENTATION_LEN} bytes"),
                });
            }
            let subject = verify(requirement, presentation).map_err(|detail| RegisterError::CredentialRejected { detail })?;
            match subject_owner(subject) {
                Some(learner) if learner != caller => Err(RegisterError::CredentialAlreadyUsed),
                _ => Ok(Admission::Credential { subject }),
            }
        }
    }
}

/// Consumes `admission` for `caller`, re-checking it against the state now (the policy, the code
/// or the subject may have changed during an await).
pub fn admit(caller: Principal, admission: &Admission) -> Result<(), RegisterError> {
    let policy = policy();
    match admission {
        Admission::Open if policy == RegistrationPolicy::Open => Ok(()),
        Admission::Open => Err(RegisterError::ProofRequired { accepted: accepted(&policy) }),
        Admission::InviteCode(_) if !policy.accepts_invite_codes() && policy != RegistrationPolicy::Open => {
            Err(RegisterError::ProofNotAccepted { detail: "the registration policy changed: it takes no invite codes now".into() })
        }
        Admission::InviteCode(hash) => match invite_code(hash) {
            Some(InviteCode::Unused) => {
                state::with_mut(|s| s.invite_codes.insert(*hash, platform_types::StableCandid(InviteCode::UsedBy(caller))));
                Ok(())
            }
            Some(InviteCode::UsedBy(learner)) if learner == caller => Ok(()),
            Some(InviteCode::UsedBy(_)) => Err(RegisterError::InviteCodeAlreadyUsed),
            Some(InviteCode::Revoked) | None => Err(RegisterError::InvalidInviteCode),
        },
        Admission::Credential { .. } if policy.credential().is_none() && policy != RegistrationPolicy::Open => {
            Err(RegisterError::ProofNotAccepted { detail: "the registration policy changed: it takes no credentials now".into() })
        }
        Admission::Credential { subject } => match subject_owner(*subject) {
            Some(learner) if learner != caller => Err(RegisterError::CredentialAlreadyUsed),
            _ => {
                state::with_mut(|s| s.credential_subjects.insert(*subject, caller));
                Ok(())
            }
        },
    }
}

/// Undoes [`admit`] for `caller` (the shard did not create the user): the code or the subject
/// is free again, unless something else claimed it meanwhile.
pub fn release(caller: Principal, admission: &Admission) {
    match admission {
        Admission::Open => {}
        Admission::InviteCode(hash) => {
            if invite_code(hash) == Some(InviteCode::UsedBy(caller)) {
                state::with_mut(|s| s.invite_codes.insert(*hash, platform_types::StableCandid(InviteCode::Unused)));
            }
        }
        Admission::Credential { subject } => {
            if subject_owner(*subject) == Some(caller) {
                state::with_mut(|s| s.credential_subjects.remove(subject));
            }
        }
    }
}

// ------------------------------------------------------------------ 1007: registration policy

/// Checks a change against the state: the payload's own checks, then every hash to add is new
/// (ever) and every hash to revoke is an unused code.
fn check_change(args: &SetRegistrationPolicyArgs) -> Result<(Vec<[u8; 32]>, Vec<[u8; 32]>, String), String> {
    let (add, revoke, text) = render_registration_policy_change(Some(&policy()), args)?;
    for hash in &add {
        if invite_code(hash).is_some() {
            return Err(format!("invite code {} was added before (a code registers one learner, ever)", hex_of(hash)));
        }
    }
    for hash in &revoke {
        match invite_code(hash) {
            Some(InviteCode::Unused) => {}
            Some(InviteCode::UsedBy(_)) => {
                return Err(format!("invite code {} already registered a learner; revoking it changes nothing", hex_of(hash)))
            }
            Some(InviteCode::Revoked) => return Err(format!("invite code {} is already revoked", hex_of(hash))),
            None => return Err(format!("invite code {} is not a code of this hub", hex_of(hash))),
        }
    }
    Ok((add, revoke, text))
}

pub fn set_registration_policy_validate(caller: Principal, args: &SetRegistrationPolicyArgs) -> ValidationResult {
    guards::caller_is_governance(caller)?;
    check_change(args).map(|(_, _, text)| text)
}

/// Applies a change (re-validated against the state at execution time).
pub fn set_registration_policy(caller: Principal, args: &SetRegistrationPolicyArgs) -> Result<String, String> {
    guards::caller_is_governance(caller)?;
    let (add, revoke, _) = check_change(args)?;
    state::with_mut(|s| {
        if let Some(p) = &args.policy {
            s.registration_policy.set(platform_types::StableCandid(Some(p.clone())));
        }
        for hash in add {
            s.invite_codes.insert(hash, platform_types::StableCandid(InviteCode::Unused));
        }
        for hash in revoke {
            s.invite_codes.insert(hash, platform_types::StableCandid(InviteCode::Revoked));
        }
    });
    Ok(render_policy(&policy()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::{HubInitArgs, StableCandid};

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    const GOVERNANCE: u8 = 3;

    fn init(policy: Option<RegistrationPolicy>) {
        state::set_init_args(HubInitArgs {
            ledger_id: p(1),
            learning_content_id: p(2),
            sns_governance_id: p(GOVERNANCE),
            config: None,
            registration_policy: policy,
            icp_refill: None,
        });
    }

    fn requirement() -> CredentialRequirement {
        CredentialRequirement {
            issuer_canister_id: Principal::from_slice(&[4; 10]),
            issuer_origin: "https://issuer.example/".into(),
            credential_type: "ProofOfUniqueness".into(),
            arguments: vec![],
            ii_canister_id: Principal::from_slice(&[5; 10]),
            derivation_origin: "https://app.example".into(),
            ic_root_key_raw: None,
        }
    }

    fn add_codes(codes: &[&str]) -> SetRegistrationPolicyArgs {
        SetRegistrationPolicyArgs {
            add_invite_code_hashes: codes.iter().map(|c| hex_of(&invite_code_hash(c))).collect(),
            reason: "cohort 1".into(),
            ..Default::default()
        }
    }

    fn code(c: &str) -> Option<RegistrationProof> {
        Some(RegistrationProof::InviteCode(c.into()))
    }

    fn no_vc(_: &CredentialRequirement, _: &str) -> Result<Principal, String> {
        panic!("no credential expected")
    }

    /// check + admit, as `register` does.
    fn register(caller: Principal, proof: Option<RegistrationProof>) -> Result<Admission, RegisterError> {
        let a = check(caller, proof.as_ref(), |_, vp| Principal::from_text(vp).map_err(|e| e.to_string()))?;
        admit(caller, &a)?;
        Ok(a)
    }

    #[test]
    fn without_a_policy_the_hub_is_closed_and_open_admits_anyone() {
        init(None);
        assert_eq!(policy(), RegistrationPolicy::InviteCode);
        assert_eq!(
            check(p(10), None, no_vc),
            Err(RegisterError::ProofRequired { accepted: "an invite code".into() })
        );
        assert_eq!(check(p(10), code("x").as_ref(), no_vc), Err(RegisterError::InvalidInviteCode));
        init(Some(RegistrationPolicy::Open));
        assert_eq!(register(p(10), None), Ok(Admission::Open));
        assert_eq!(register(p(11), code("ignored")), Ok(Admission::Open));
    }

    #[test]
    fn a_code_registers_exactly_one_learner_and_revoked_codes_are_refused() {
        init(None);
        set_registration_policy(p(GOVERNANCE), &add_codes(&["alpha", "beta", "gamma"])).unwrap();
        let (mut admitted, mut refused) = (0, 0);
        for n in 10..40 {
            for c in ["alpha", "beta", "gamma"] {
                match register(p(n), code(c)) {
                    Ok(_) => admitted += 1,
                    Err(RegisterError::InviteCodeAlreadyUsed) => refused += 1,
                    Err(e) => panic!("{e:?}"),
                }
            }
        }
        assert_eq!((admitted, refused), (3, 87), "3 codes, 30 principals: 3 learners");
        assert_eq!(register(p(10), code(" alpha\n")), Ok(Admission::InviteCode(invite_code_hash("alpha"))), "the same learner again");
        let mut revoke = add_codes(&[]);
        revoke.add_invite_code_hashes.clear();
        revoke.revoke_invite_code_hashes = vec![hex_of(&invite_code_hash("alpha"))];
        assert!(set_registration_policy_validate(p(GOVERNANCE), &revoke).unwrap_err().contains("already registered"));
        set_registration_policy(p(GOVERNANCE), &add_codes(&["delta"])).unwrap();
        revoke.revoke_invite_code_hashes = vec![hex_of(&invite_code_hash("delta"))];
        assert!(set_registration_policy_validate(p(GOVERNANCE), &revoke).unwrap().contains("Revoke 1"));
        set_registration_policy(p(GOVERNANCE), &revoke).unwrap();
        assert_eq!(register(p(50), code("delta")), Err(RegisterError::InvalidInviteCode));
        assert!(set_registration_policy(p(GOVERNANCE), &add_codes(&["delta"])).unwrap_err().contains("added before"));
        assert!(set_registration_policy(p(GOVERNANCE), &add_codes(&["alpha"])).unwrap_err().contains("added before"));
        let v = view();
        assert_eq!((v.unused_invite_codes, v.used_invite_codes, v.revoked_invite_codes), (0, 3, 1));
    }

    #[test]
    fn a_refused_registration_frees_the_code_for_the_next_learner() {
        init(None);
        set_registration_policy(p(GOVERNANCE), &add_codes(&["alpha"])).unwrap();
        let a = register(p(10), code("alpha")).unwrap();
        release(p(10), &a);
        assert_eq!(invite_code(&invite_code_hash("alpha")), Some(InviteCode::Unused));
        register(p(11), code("alpha")).unwrap();
        release(p(10), &a);
        assert_eq!(invite_code(&invite_code_hash("alpha")), Some(InviteCode::UsedBy(p(11))), "p(10) cannot free p(11)'s code");
    }

    #[test]
    fn a_code_checked_before_an_await_is_re_checked_when_admitted() {
        init(None);
        set_registration_policy(p(GOVERNANCE), &add_codes(&["alpha"])).unwrap();
        let first = check(p(10), code("alpha").as_ref(), no_vc).unwrap();
        let second = check(p(11), code("alpha").as_ref(), no_vc).unwrap();
        admit(p(10), &first).unwrap();
        assert_eq!(admit(p(11), &second), Err(RegisterError::InviteCodeAlreadyUsed));
        state::with_mut(|s| s.registration_policy.set(StableCandid(Some(RegistrationPolicy::Credential(requirement())))));
        let third = Admission::InviteCode(invite_code_hash("alpha"));
        assert!(matches!(admit(p(10), &third), Err(RegisterError::ProofNotAccepted { .. })), "the policy changed meanwhile");
    }

    #[test]
    fn one_credential_subject_registers_one_learner() {
        init(Some(RegistrationPolicy::Credential(requirement())));
        let subject = p(77);
        let vc = |s: Principal| Some(RegistrationProof::CredentialPresentation(s.to_text()));
        assert_eq!(register(p(10), vc(subject)), Ok(Admission::Credential { subject }));
        assert_eq!(register(p(11), vc(subject)), Err(RegisterError::CredentialAlreadyUsed));
        assert_eq!(register(p(10), vc(subject)), Ok(Admission::Credential { subject }), "the same learner again");
        let refused = check(p(12), Some(&RegistrationProof::CredentialPresentation("x".into())), |_, _| Err("expired".into()));
        assert_eq!(refused, Err(RegisterError::CredentialRejected { detail: "expired".into() }));
        assert!(matches!(check(p(12), code("alpha").as_ref(), no_vc), Err(RegisterError::ProofNotAccepted { .. })));
        let long = RegistrationProof::CredentialPresentation("x".repeat(MAX_PRESENTATION_LEN + 1));
        assert!(matches!(check(p(12), Some(&long), no_vc), Err(RegisterError::CredentialRejected { .. })));
        assert_eq!(view().credential_subjects, 1);
    }

    #[test]
    fn either_proof_under_invite_code_or_credential() {
        init(Some(RegistrationPolicy::InviteCodeOrCredential(requirement())));
        set_registration_policy(p(GOVERNANCE), &add_codes(&["alpha"])).unwrap();
        assert!(register(p(10), code("alpha")).is_ok());
        assert!(register(p(11), Some(RegistrationProof::CredentialPresentation(p(77).to_text()))).is_ok());
        assert_eq!(
            check(p(12), None, no_vc),
            Err(RegisterError::ProofRequired { accepted: "an invite code or a ProofOfUniqueness credential presentation".into() })
        );
    }

    #[test]
    fn only_governance_changes_the_policy_and_the_change_is_validated() {
        init(None);
        let open = SetRegistrationPolicyArgs { policy: Some(RegistrationPolicy::Open), reason: "testnet".into(), ..Default::default() };
        for caller in [p(9), p(1), Principal::anonymous()] {
            assert!(set_registration_policy_validate(caller, &open).unwrap_err().contains("governance"));
            assert!(set_registration_policy(caller, &open).is_err());
        }
        assert_eq!(policy(), RegistrationPolicy::InviteCode, "nothing changed");
        assert!(set_registration_policy_validate(p(GOVERNANCE), &open).unwrap().contains("OPEN"));
        set_registration_policy(p(GOVERNANCE), &open).unwrap();
        assert_eq!(policy(), RegistrationPolicy::Open);
        assert!(set_registration_policy(p(GOVERNANCE), &open).unwrap_err().contains("already the policy"), "re-validated");
        let mut unknown = add_codes(&[]);
        unknown.revoke_invite_code_hashes = vec![hex_of(&invite_code_hash("never"))];
        assert!(set_registration_policy_validate(p(GOVERNANCE), &unknown).unwrap_err().contains("not a code"));
    }
}
