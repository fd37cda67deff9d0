//! Proof of personhood at registration (issue 11), end to end on localnet: the hub verifies a
//! verifiable presentation (Internet Identity's attribute-sharing flow) with
//! `ic-verifiable-credentials`, canister signatures included, against the root key of a network
//! whose certificates are really signed (BLS, localnet-server's keys). The `vc_issuer` test
//! canister signs the personhood credential and, standing in for II (none on localnet), the
//! id_alias credential; the test composes the presentation as II's front end would.
//!
//! Checked: a valid presentation registers; the same credential subject through a second
//! principal is refused; presentations for another principal, from another issuer, expired or
//! tampered are refused; a farm of principals without credentials registers nobody.

use candid::{CandidType, Deserialize, Principal};
use integration_tests::platform::{key_learner, LedgerKind, Platform};
use integration_tests::wasm;
use localnet::{Certifier, LocalNet};
use localnet_server::keys::Keys;
use localnet_server::state_tree::{self, StateTree};
use platform_types::*;
use std::sync::Arc;
use std::time::Duration;

/// Signs data certificates with a BLS root key, as localnet-server does.
struct SigningCertifier(Arc<Keys>);

impl Certifier for SigningCertifier {
    fn root_key(&self) -> Vec<u8> {
        self.0.root_key_der().to_vec()
    }
    fn data_certificate(&self, canister: Principal, certified_data: &[u8], time: u64) -> Vec<u8> {
        let mut tree = StateTree::default();
        tree.insert(&[b"canister", canister.as_slice(), b"certified_data"], certified_data.to_vec());
        tree.insert(&[b"time"], state_tree::leb128(time));
        state_tree::certificate(&self.0, &tree.full())
    }
}

const ISSUER_ORIGIN: &str = "https://personhood.test/";
const DERIVATION_ORIGIN: &str = "https://learn.test";
const CREDENTIAL_TYPE: &str = "ProofOfUniqueness";

#[derive(CandidType, Deserialize, Clone, Debug)]
enum ArgValue {
    Text(String),
    Int(i32),
}

#[derive(CandidType, Deserialize, Clone, Debug)]
struct CredentialRequest {
    subject: Principal,
    issuer_url: String,
    credential_type: String,
    arguments: Vec<(String, ArgValue)>,
    expires_at_s: u32,
}

fn person(n: u32) -> Principal {
    key_learner(b"vc-learner-key-", n)
}

fn alias(n: u32) -> Principal {
    key_learner(b"vc-id-alias-key-", n)
}

/// The platform (no ledger) with the credential policy, and the two issuers.
struct Env {
    platform: Platform,
    /// Signs id_alias credentials (stands in for II) and personhood credentials.
    issuer: Principal,
    /// Another issuer, which governance did not name.
    stranger: Principal,
}

impl std::ops::Deref for Env {
    type Target = Platform;
    fn deref(&self) -> &Platform {
        &self.platform
    }
}

fn env() -> Env {
    let keys = Arc::new(Keys::generate());
    let net = LocalNet::builder().with_certifier(Arc::new(SigningCertifier(keys.clone()))).build();
    let config = ConfigOverrides { shard_soft_limit: Some(49), shard_hard_limit: Some(50), auto_scale_interval_secs: Some(3_600), ..Default::default() };
    // hub and learning_content first, then the issuers the policy names.
    let canisters = Platform::builder().net(net).ledger(LedgerKind::None).config(config).create();
    let issuer = canisters.net.create_canister();
    let stranger = canisters.net.create_canister();
    for c in [issuer, stranger] {
        canisters.net.install_canister(c, wasm("vc_issuer"), candid::encode_args(()).unwrap(), None);
    }
    let root_key_raw = keys.root_key_der()[37..].to_vec();
    let policy = RegistrationPolicy::Credential(CredentialRequirement {
        issuer_canister_id: issuer,
        issuer_origin: ISSUER_ORIGIN.into(),
        credential_type: CREDENTIAL_TYPE.into(),
        arguments: vec![CredentialArgument { name: "minAge".into(), value: CredentialArgumentValue::Int(16) }],
        ii_canister_id: issuer,
        derivation_origin: DERIVATION_ORIGIN.into(),
        ic_root_key_raw: Some(serde_bytes::ByteBuf::from(root_key_raw)),
    });
    Env { platform: canisters.registration_policy(policy).install(), issuer, stranger }
}

impl Env {
    fn now_s(&self) -> u32 {
        (self.net.get_time_nanos() / 1_000_000_000) as u32
    }

    fn sign(&self, signer: Principal, request: CredentialRequest) -> String {
        let (ticket,): (u64,) = self.net.update_candid(signer, "prepare_credential", (request,)).unwrap();
        let (jws,): (Result<String, String>,) = self.net.query_candid(signer, "get_credential", (ticket,)).unwrap();
        jws.unwrap()
    }

    /// The id_alias credential II would sign: `id_dapp` (the learner's principal for the
    /// derivation origin) has the temporary `id_alias`.
    fn id_alias_credential(&self, signer: Principal, id_dapp: Principal, id_alias: Principal, expires_at_s: u32) -> String {
        self.sign(
            signer,
            CredentialRequest {
                subject: id_dapp,
                issuer_url: ic_verifiable_credentials::II_ISSUER_URL.into(),
                credential_type: "InternetIdentityIdAlias".into(),
                arguments: vec![
                    ("hasIdAlias".into(), ArgValue::Text(id_alias.to_text())),
                    ("derivationOrigin".into(), ArgValue::Text(DERIVATION_ORIGIN.into())),
                ],
                expires_at_s,
            },
        )
    }

    /// The personhood credential for `id_alias`.
    fn personhood_credential(&self, signer: Principal, id_alias: Principal, expires_at_s: u32) -> String {
        self.sign(
            signer,
            CredentialRequest {
                subject: id_alias,
                issuer_url: ISSUER_ORIGIN.into(),
                credential_type: CREDENTIAL_TYPE.into(),
                arguments: vec![("minAge".into(), ArgValue::Int(16))],
                expires_at_s,
            },
        )
    }

    /// A presentation for `id_dapp` as II's front end composes it.
    fn presentation(&self, id_dapp: Principal, id_alias: Principal) -> String {
        let exp = self.now_s() + 900;
        let alias_vc = self.id_alias_credential(self.issuer, id_dapp, id_alias, exp);
        let personhood = self.personhood_credential(self.issuer, id_alias, exp);
        ic_verifiable_credentials::build_ii_verifiable_presentation_jwt(id_dapp, alias_vc, personhood).unwrap()
    }

    fn register_vc(&self, who: Principal, vp: &str) -> Result<Principal, RegisterError> {
        self.register_with(who, Some(RegistrationProof::CredentialPresentation(vp.to_string())))
    }

    fn users(&self) -> u64 {
        self.stats().users
    }
}

fn rejected(r: Result<Principal, RegisterError>, what: &str) -> String {
    match r {
        Err(RegisterError::CredentialRejected { detail }) => detail,
        other => panic!("{what}: expected CredentialRejected, got {other:?}"),
    }
}

#[test]
fn a_presentation_from_the_named_issuer_registers_one_learner_per_credential_subject() {
    let e = env();
    let vp = e.presentation(person(1), alias(1));
    let shard = e.register_vc(person(1), &vp).expect("a valid presentation registers");
    assert_eq!(e.users(), 1);
    // Again with the same proof: the same learner, the same shard.
    assert_eq!(e.register_vc(person(1), &vp), Ok(shard));

    // The same credential subject (id_alias) through a second principal: refused.
    let second = e.presentation(person(2), alias(1));
    assert_eq!(e.register_vc(person(2), &second), Err(RegisterError::CredentialAlreadyUsed));
    // Someone else's presentation: it names another principal.
    let detail = rejected(e.register_vc(person(3), &vp), "another principal's presentation");
    assert!(detail.contains("InvalidIdAliasCredential"), "{detail}");
    assert_eq!(e.users(), 1);

    let view = e.net.query_candid::<_, (RegistrationPolicyView,)>(e.hub, "get_registration_policy", ()).unwrap().0;
    assert_eq!(view.credential_subjects, 1);
    assert!(matches!(view.policy, RegistrationPolicy::Credential(_)));
    let _ = e.governance;
}

#[test]
fn presentations_from_another_issuer_expired_or_tampered_are_refused() {
    let e = env();
    let exp = e.now_s() + 900;
    // The personhood credential from an issuer governance did not name.
    let alias_vc = e.id_alias_credential(e.issuer, person(1), alias(1), exp);
    let foreign = e.personhood_credential(e.stranger, alias(1), exp);
    let vp = ic_verifiable_credentials::build_ii_verifiable_presentation_jwt(person(1), alias_vc.clone(), foreign).unwrap();
    let detail = rejected(e.register_vc(person(1), &vp), "another issuer");
    assert!(detail.contains("InvalidRequestedCredential"), "{detail}");
    // The id_alias signed by someone other than the named II.
    let foreign_alias = e.id_alias_credential(e.stranger, person(1), alias(1), exp);
    let personhood = e.personhood_credential(e.issuer, alias(1), exp);
    let vp = ic_verifiable_credentials::build_ii_verifiable_presentation_jwt(person(1), foreign_alias, personhood.clone()).unwrap();
    assert!(rejected(e.register_vc(person(1), &vp), "foreign id_alias").contains("InvalidIdAliasCredential"));

    // Tampered: one character of the personhood credential's payload changed, signature kept.
    let payload_start = personhood.find('.').unwrap() + 1;
    let mut bytes = personhood.clone().into_bytes();
    let i = payload_start + 40;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let vp = ic_verifiable_credentials::build_ii_verifiable_presentation_jwt(person(1), alias_vc.clone(), tampered).unwrap();
    rejected(e.register_vc(person(1), &vp), "tampered");
    // The untampered one from the named issuer does register.
    let vp = ic_verifiable_credentials::build_ii_verifiable_presentation_jwt(person(1), alias_vc.clone(), personhood).unwrap();
    assert!(e.register_vc(person(1), &vp).is_ok());
    // Garbage is refused with a reason, not a trap.
    rejected(e.register_vc(person(5), "not.a.presentation"), "garbage");

    // Expired: valid when signed, presented after its expiry.
    let short = e.now_s() + 60;
    let alias_vc = e.id_alias_credential(e.issuer, person(4), alias(4), short);
    let personhood = e.personhood_credential(e.issuer, alias(4), short);
    let vp = ic_verifiable_credentials::build_ii_verifiable_presentation_jwt(person(4), alias_vc, personhood).unwrap();
    e.net.advance_time(Duration::from_secs(120));
    let detail = rejected(e.register_vc(person(4), &vp), "expired");
    assert!(detail.to_lowercase().contains("expir"), "{detail}");
    assert_eq!(e.users(), 1, "only the valid presentation registered");
}

#[test]
fn a_farm_without_credentials_registers_nobody_and_invite_codes_are_not_taken() {
    let e = env();
    for n in 100..130 {
        assert!(matches!(e.register_with(person(n), None), Err(RegisterError::ProofRequired { .. })), "{n}");
        assert!(matches!(
            e.register_with(person(n), Some(RegistrationProof::InviteCode("guess".into()))),
            Err(RegisterError::ProofNotAccepted { .. })
        ));
    }
    assert_eq!(e.users(), 0);
    // One real person gets in.
    let vp = e.presentation(person(1), alias(1));
    assert!(e.register_vc(person(1), &vp).is_ok());
    assert_eq!(e.users(), 1);
}
