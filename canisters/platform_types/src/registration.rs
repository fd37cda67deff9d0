//! Who may register on the platform (issue 11: scripts must not farm the token cap with free
//! principals). The hub holds a [`RegistrationPolicy`] that only SNS governance changes
//! (function 1007, [`SetRegistrationPolicyArgs`]); a learner proves eligibility with the
//! optional [`RegistrationProof`] argument of `register`.
//!
//! Invite codes: a proposal carries only the sha256 of each code (hex), so the codes never
//! appear on chain; each code registers exactly one learner, ever. Credentials: a verifiable
//! presentation (Internet Identity's attribute-sharing flow) of a credential from the issuer
//! canister governance named; one credential subject registers exactly one learner.

use candid::{CandidType, Principal};
use serde::{Deserialize, Serialize};

/// Most invite code hashes one proposal may add or revoke (keeps the payload well under the
/// SNS payload limit and the rendering readable).
pub const MAX_INVITE_CODE_HASHES_PER_PROPOSAL: usize = 500;
/// Longest invite code `register` accepts (bytes).
pub const MAX_INVITE_CODE_LEN: usize = 128;
/// Longest presentation JWT `register` accepts (bytes); real II presentations are a few KB.
pub const MAX_PRESENTATION_LEN: usize = 32 * 1024;
/// Longest origin, credential type or argument text in a [`CredentialRequirement`].
pub const MAX_REQUIREMENT_TEXT_LEN: usize = 256;

/// Who may register.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RegistrationPolicy {
    /// Anyone (test networks, local deployments).
    Open,
    /// Only with an unused invite code.
    InviteCode,
    /// Only with a presentation of the named credential.
    Credential(CredentialRequirement),
    /// With either: an invite code (onboarding before the issuer is available, partners) or the
    /// credential.
    InviteCodeOrCredential(CredentialRequirement),
}

impl RegistrationPolicy {
    /// The default when the hub's init arguments name none: invite codes with no codes, i.e.
    /// closed until governance adds codes or names a credential (safe by default on mainnet).
    pub fn closed() -> Self {
        RegistrationPolicy::InviteCode
    }
    pub fn accepts_invite_codes(&self) -> bool {
        matches!(self, RegistrationPolicy::InviteCode | RegistrationPolicy::InviteCodeOrCredential(_))
    }
    pub fn credential(&self) -> Option<&CredentialRequirement> {
        match self {
            RegistrationPolicy::Credential(c) | RegistrationPolicy::InviteCodeOrCredential(c) => Some(c),
            _ => None,
        }
    }
}

/// The credential a learner must present, and whom to trust for it.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CredentialRequirement {
    /// The issuer canister that signs the credential (canister signature).
    pub issuer_canister_id: Principal,
    /// The credential's `iss` claim, exactly: the issuer's URL as credentials serialize it (an
    /// origin ends with '/', e.g. "https://issuer.example/").
    pub issuer_origin: String,
    /// The credential type, e.g. "ProofOfUniqueness".
    pub credential_type: String,
    /// The credential's arguments that must match exactly (none: no arguments).
    pub arguments: Vec<CredentialArgument>,
    /// The canister that signs the id_alias credential (Internet Identity).
    pub ii_canister_id: Principal,
    /// The web app's derivation origin: the learner's principal is derived by II for it.
    pub derivation_origin: String,
    /// Raw 96-byte BLS root public key that certifies both canister signatures. None: the
    /// mainnet IC root key.
    pub ic_root_key_raw: Option<serde_bytes::ByteBuf>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CredentialArgument {
    pub name: String,
    pub value: CredentialArgumentValue,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CredentialArgumentValue {
    Text(String),
    Int(i32),
}

/// Payload of function 1007 (`set_registration_policy`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct SetRegistrationPolicyArgs {
    /// The new policy (None: keep the policy, only change the codes).
    pub policy: Option<RegistrationPolicy>,
    /// sha256 of new invite codes, 64 hex digits each. A hash the hub has ever held (unused,
    /// used or revoked) cannot be added again.
    pub add_invite_code_hashes: Vec<String>,
    /// sha256 of unused invite codes to revoke.
    pub revoke_invite_code_hashes: Vec<String>,
    pub reason: String,
}

/// `register`'s optional argument.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RegistrationProof {
    /// The invite code's text (the hub stores only its sha256).
    InviteCode(String),
    /// A JWT verifiable presentation from Internet Identity's VC flow, for the caller's
    /// principal and the policy's derivation origin.
    CredentialPresentation(String),
}

/// `get_registration_policy`: what the web app needs to know; no code hashes.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RegistrationPolicyView {
    pub policy: RegistrationPolicy,
    pub unused_invite_codes: u64,
    pub used_invite_codes: u64,
    pub revoked_invite_codes: u64,
    /// Credential subjects that registered a learner.
    pub credential_subjects: u64,
}

/// The sha256 of an invite code as the hub stores it: of the code's text with surrounding
/// white space removed (codes are pasted).
pub fn invite_code_hash(code: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(code.trim().as_bytes()).into()
}

/// Parses a proposal's hex hash (64 hex digits, either case).
pub fn parse_invite_code_hash(hex_text: &str) -> Result<[u8; 32], String> {
    let t = hex_text.trim();
    if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("invite code hash {hex_text:?}: expected 64 hex digits (sha256)"));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).expect("checked hex");
    }
    Ok(out)
}

fn check_text(field: &str, text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("{field}: must not be empty"));
    }
    if text.len() > MAX_REQUIREMENT_TEXT_LEN {
        return Err(format!("{field}: at most {MAX_REQUIREMENT_TEXT_LEN} bytes"));
    }
    Ok(())
}

fn check_requirement(c: &CredentialRequirement) -> Result<(), String> {
    check_text("issuer_origin", &c.issuer_origin)?;
    // Credentials carry `iss` as a parsed URL, which always has a path: a bare origin would
    // match no credential and refuse every learner.
    if let Some((_, rest)) = c.issuer_origin.split_once("://") {
        if !rest.contains('/') {
            return Err(format!(
                "issuer_origin: credentials carry the issuer as a URL with a path; write {}/",
                c.issuer_origin
            ));
        }
    }
    check_text("credential_type", &c.credential_type)?;
    check_text("derivation_origin", &c.derivation_origin)?;
    for (who, id) in [("issuer_canister_id", c.issuer_canister_id), ("ii_canister_id", c.ii_canister_id)] {
        if id == Principal::anonymous() || id == Principal::management_canister() {
            return Err(format!("{who}: {id} is not a canister"));
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for a in &c.arguments {
        check_text("argument name", &a.name)?;
        if let CredentialArgumentValue::Text(t) = &a.value {
            check_text(&format!("argument {}", a.name), t)?;
        }
        if !names.insert(a.name.as_str()) {
            return Err(format!("argument {} is named twice", a.name));
        }
    }
    if let Some(key) = &c.ic_root_key_raw {
        if key.len() != 96 {
            return Err(format!("ic_root_key_raw: a raw BLS12-381 G2 key has 96 bytes, got {}", key.len()));
        }
    }
    Ok(())
}

/// Checks a policy on its own (the init argument's; a proposal's goes through
/// [`render_registration_policy_change`]).
pub fn check_registration_policy(policy: &RegistrationPolicy) -> Result<(), String> {
    policy.credential().map_or(Ok(()), check_requirement)
}

/// Renders a policy for voters and the web app.
pub fn render_policy(policy: &RegistrationPolicy) -> String {
    let credential = |c: &CredentialRequirement| {
        let args: Vec<String> = c
            .arguments
            .iter()
            .map(|a| match &a.value {
                CredentialArgumentValue::Text(t) => format!("{}={t:?}", a.name),
                CredentialArgumentValue::Int(i) => format!("{}={i}", a.name),
            })
            .collect();
        format!(
            "a verifiable credential {:?}{} issued by canister {} (origin {}), id_alias signed by {} for the derivation origin {}, verified with the {}; one credential subject registers one learner",
            c.credential_type,
            if args.is_empty() { String::new() } else { format!(" ({})", args.join(", ")) },
            c.issuer_canister_id,
            c.issuer_origin,
            c.ii_canister_id,
            c.derivation_origin,
            match &c.ic_root_key_raw {
                None => "mainnet IC root key".to_string(),
                Some(k) => format!("IC root key {}…", k.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>()),
            }
        )
    };
    match policy {
        RegistrationPolicy::Open => "OPEN: anyone may register (test networks only; scripts can farm rewards)".into(),
        RegistrationPolicy::InviteCode => "INVITE CODE: an unused invite code registers one learner".into(),
        RegistrationPolicy::Credential(c) => format!("CREDENTIAL: {}", credential(c)),
        RegistrationPolicy::InviteCodeOrCredential(c) => {
            format!("INVITE CODE OR CREDENTIAL: an unused invite code registers one learner, or {}", credential(c))
        }
    }
}

/// Checks a function-1007 payload on its own (the hub checks the hashes against its state) and
/// renders it for voters. Returns the parsed hashes to add and to revoke. `current`: the policy
/// in force (the hub always knows it; the proposals CLI may not).
pub fn render_registration_policy_change(
    current: Option<&RegistrationPolicy>,
    args: &SetRegistrationPolicyArgs,
) -> Result<(Vec<[u8; 32]>, Vec<[u8; 32]>, String), String> {
    crate::check_reason(&args.reason)?;
    let parse_all = |field: &str, list: &[String]| -> Result<Vec<[u8; 32]>, String> {
        if list.len() > MAX_INVITE_CODE_HASHES_PER_PROPOSAL {
            return Err(format!("{field}: at most {MAX_INVITE_CODE_HASHES_PER_PROPOSAL} per proposal, got {}", list.len()));
        }
        let mut seen = std::collections::BTreeSet::new();
        list.iter()
            .map(|h| {
                let parsed = parse_invite_code_hash(h).map_err(|e| format!("{field}: {e}"))?;
                if !seen.insert(parsed) {
                    return Err(format!("{field}: {h} is listed twice"));
                }
                Ok(parsed)
            })
            .collect()
    };
    let add = parse_all("add_invite_code_hashes", &args.add_invite_code_hashes)?;
    let revoke = parse_all("revoke_invite_code_hashes", &args.revoke_invite_code_hashes)?;
    if let Some(h) = add.iter().find(|h| revoke.contains(h)) {
        return Err(format!("{} is both added and revoked", hex_of(h)));
    }
    let mut lines = Vec::new();
    match &args.policy {
        Some(p) if Some(p) == current => return Err("policy: it is already the policy in force".into()),
        Some(p) => {
            if let Some(c) = p.credential() {
                check_requirement(c)?;
            }
            match current {
                Some(now) => lines.push(format!("Registration policy: {}\n  (now: {})", render_policy(p), render_policy(now))),
                None => lines.push(format!("Registration policy: {}", render_policy(p))),
            }
        }
        None => {}
    }
    if !add.is_empty() {
        lines.push(format!("Add {} invite code(s) (sha256 only; each registers one learner).", add.len()));
    }
    if !revoke.is_empty() {
        lines.push(format!(
            "Revoke {} unused invite code(s): {}",
            revoke.len(),
            revoke.iter().map(hex_of).collect::<Vec<_>>().join(", ")
        ));
    }
    if lines.is_empty() {
        return Err("the proposal changes nothing".into());
    }
    let effective = args.policy.as_ref().or(current);
    if !add.is_empty() && effective.is_some_and(|p| !p.accepts_invite_codes()) {
        lines.push("Note: the policy in force does not accept invite codes; the codes wait until one does.".into());
    }
    lines.push(format!("Reason: {}", args.reason.trim()));
    Ok((add, revoke, lines.join("\n")))
}

pub fn hex_of(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirement() -> CredentialRequirement {
        CredentialRequirement {
            issuer_canister_id: Principal::from_slice(&[1; 10]),
            issuer_origin: "https://issuer.example/".into(),
            credential_type: "ProofOfUniqueness".into(),
            arguments: vec![],
            ii_canister_id: Principal::from_slice(&[2; 10]),
            derivation_origin: "https://app.example".into(),
            ic_root_key_raw: None,
        }
    }

    fn args(policy: Option<RegistrationPolicy>, add: &[&str], revoke: &[&str]) -> SetRegistrationPolicyArgs {
        SetRegistrationPolicyArgs {
            policy,
            add_invite_code_hashes: add.iter().map(|s| s.to_string()).collect(),
            revoke_invite_code_hashes: revoke.iter().map(|s| s.to_string()).collect(),
            reason: "launch".into(),
        }
    }

    #[test]
    fn invite_code_hashes_are_sha256_of_the_trimmed_code_and_parse_from_hex() {
        let h = invite_code_hash("  abc\n");
        assert_eq!(hex_of(&h), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(parse_invite_code_hash(&hex_of(&h).to_uppercase()).unwrap(), h);
        assert!(parse_invite_code_hash("abc").is_err());
        assert!(parse_invite_code_hash(&"g".repeat(64)).is_err());
    }

    #[test]
    fn a_change_is_checked_and_rendered() {
        let a = hex_of(&invite_code_hash("a"));
        let b = hex_of(&invite_code_hash("b"));
        let (add, revoke, text) =
            render_registration_policy_change(Some(&RegistrationPolicy::InviteCode), &args(None, &[&a], &[&b])).unwrap();
        assert_eq!((add, revoke), (vec![invite_code_hash("a")], vec![invite_code_hash("b")]));
        assert!(text.contains("Add 1 invite code") && text.contains(&b) && !text.contains(&a), "{text}");
        let closed = RegistrationPolicy::InviteCode;
        for (bad, why) in [
            (args(None, &[], &[]), "changes nothing"),
            (args(Some(RegistrationPolicy::InviteCode), &[], &[]), "already the policy"),
            (args(None, &[&a, &a], &[]), "listed twice"),
            (args(None, &[&a], &[&a]), "both added and revoked"),
            (args(None, &["xyz"], &[]), "64 hex digits"),
            (SetRegistrationPolicyArgs { reason: " ".into(), ..args(None, &[&a], &[]) }, "reason"),
        ] {
            let e = render_registration_policy_change(Some(&closed), &bad).unwrap_err();
            assert!(e.contains(why), "{e} (expected {why})");
        }
        let many: Vec<String> = (0..=MAX_INVITE_CODE_HASHES_PER_PROPOSAL).map(|i| hex_of(&invite_code_hash(&i.to_string()))).collect();
        let too_many = SetRegistrationPolicyArgs { add_invite_code_hashes: many, ..args(None, &[], &[]) };
        assert!(render_registration_policy_change(Some(&closed), &too_many).unwrap_err().contains("at most"));
    }

    #[test]
    fn credential_requirements_are_checked() {
        let ok = RegistrationPolicy::Credential(requirement());
        let text = render_registration_policy_change(Some(&RegistrationPolicy::Open), &args(Some(ok), &[], &[])).unwrap().2;
        assert!(text.contains("ProofOfUniqueness") && text.contains("mainnet IC root key"), "{text}");
        let mut short_key = requirement();
        short_key.ic_root_key_raw = Some(serde_bytes::ByteBuf::from(vec![0u8; 95]));
        let mut anonymous_issuer = requirement();
        anonymous_issuer.issuer_canister_id = Principal::anonymous();
        let mut twice = requirement();
        let arg = CredentialArgument { name: "n".into(), value: CredentialArgumentValue::Int(1) };
        twice.arguments = vec![arg.clone(), arg];
        let mut no_origin = requirement();
        no_origin.derivation_origin = "".into();
        let mut bare_issuer = requirement();
        bare_issuer.issuer_origin = "https://issuer.example".into();
        for (bad, why) in [
            (short_key, "96 bytes"),
            (anonymous_issuer, "not a canister"),
            (twice, "named twice"),
            (no_origin, "derivation_origin"),
            (bare_issuer, "https://issuer.example/"),
        ] {
            let change = args(Some(RegistrationPolicy::InviteCodeOrCredential(bad)), &[], &[]);
            let e = render_registration_policy_change(Some(&RegistrationPolicy::Open), &change).unwrap_err();
            assert!(e.contains(why), "{e} (expected {why})");
        }
    }

    #[test]
    fn a_policy_is_checked_on_its_own() {
        assert!(check_registration_policy(&RegistrationPolicy::Open).is_ok());
        assert!(check_registration_policy(&RegistrationPolicy::Credential(requirement())).is_ok());
        let mut bad = requirement();
        bad.credential_type = " ".into();
        assert!(check_registration_policy(&RegistrationPolicy::InviteCodeOrCredential(bad)).unwrap_err().contains("credential_type"));
    }

    #[test]
    fn codes_added_under_a_policy_without_codes_are_flagged_for_voters() {
        let a = hex_of(&invite_code_hash("a"));
        let text = render_registration_policy_change(Some(&RegistrationPolicy::Open), &args(None, &[&a], &[])).unwrap().2;
        assert!(text.contains("does not accept invite codes"), "{text}");
    }
}
