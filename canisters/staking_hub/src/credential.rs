//! Verification of a registration credential: a JWT verifiable presentation from Internet
//! Identity's attribute-sharing flow, checked with `ic-verifiable-credentials` inside the hub.
//!
//! The presentation holds two credentials, both canister-signed (certified data of the signing
//! canister, certified by the IC root key): the id_alias credential, signed by the II canister
//! the policy names, binds the caller's principal (for the policy's derivation origin) to a
//! temporary id_alias principal; the requested credential, signed by the issuer canister the
//! policy names, says id_alias has the credential type with the policy's arguments. Both must
//! be unexpired. The id_alias is the credential's subject: the hub records it so one subject
//! registers one learner.

use candid::Principal;
use ic_verifiable_credentials::issuer_api::{ArgumentValue, CredentialSpec};
use ic_verifiable_credentials::{validate_ii_presentation_and_claims, VcFlowSigners, II_ISSUER_URL};
use platform_types::{CredentialArgumentValue, CredentialRequirement};

/// Verifies `presentation` (a JWT) for `caller` against `requirement` at `now_ns`; returns the
/// credential's subject (the id_alias principal).
pub fn verify_presentation(
    requirement: &CredentialRequirement,
    caller: Principal,
    presentation: &str,
    now_ns: u64,
) -> Result<Principal, String> {
    let root_key_raw = match &requirement.ic_root_key_raw {
        Some(key) => key.to_vec(),
        None => ic_canister_sig_creation::extract_raw_root_pk_from_der(ic_canister_sig_creation::IC_ROOT_PK_DER)?,
    };
    let signers = VcFlowSigners {
        ii_canister_id: requirement.ii_canister_id,
        // Not checked by the crate (the id_alias credential's issuer must be II's URL).
        ii_origin: II_ISSUER_URL.to_string(),
        issuer_canister_id: requirement.issuer_canister_id,
        issuer_origin: requirement.issuer_origin.clone(),
    };
    validate_ii_presentation_and_claims(
        presentation,
        caller,
        requirement.derivation_origin.clone(),
        &signers,
        &credential_spec(requirement),
        &root_key_raw,
        u128::from(now_ns),
    )
    .map_err(|e| format!("{e:?}"))?;
    requested_credential_subject(presentation)
}

pub fn credential_spec(requirement: &CredentialRequirement) -> CredentialSpec {
    let arguments = (!requirement.arguments.is_empty()).then(|| {
        requirement
            .arguments
            .iter()
            .map(|a| {
                let value = match &a.value {
                    CredentialArgumentValue::Text(t) => ArgumentValue::String(t.clone()),
                    CredentialArgumentValue::Int(i) => ArgumentValue::Int(*i),
                };
                (a.name.clone(), value)
            })
            .collect()
    });
    CredentialSpec { credential_type: requirement.credential_type.clone(), arguments }
}

/// The `sub` of the presentation's second credential (the requested one), which
/// `validate_ii_presentation_and_claims` has checked equals the verified id_alias.
fn requested_credential_subject(presentation: &str) -> Result<Principal, String> {
    let vp = jwt_payload(presentation)?;
    let credential = vp
        .pointer("/vp/verifiableCredential/1")
        .and_then(|v| v.as_str())
        .ok_or("the presentation has no second credential")?;
    let claims = jwt_payload(credential)?;
    let sub = claims.get("sub").and_then(|s| s.as_str()).ok_or("the requested credential has no subject")?;
    ic_verifiable_credentials::principal_for_did(sub)
}

fn jwt_payload(jwt: &str) -> Result<serde_json::Value, String> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).ok_or("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).map_err(|e| format!("JWT payload: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("JWT payload: {e}"))
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

    #[test]
    fn the_spec_carries_the_type_and_the_arguments() {
        let mut r = requirement();
        assert_eq!(credential_spec(&r).arguments, None);
        r.arguments = vec![platform_types::CredentialArgument { name: "minAge".into(), value: CredentialArgumentValue::Int(18) }];
        let spec = credential_spec(&r);
        assert_eq!(spec.credential_type, "ProofOfUniqueness");
        assert_eq!(spec.arguments.unwrap().get("minAge"), Some(&ArgumentValue::Int(18)));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let caller = Principal::from_slice(&[9; 29]);
        for bad in ["", "not a jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJ2cCI6e319."] {
            let e = verify_presentation(&requirement(), caller, bad, 0).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
    }

    #[test]
    fn the_subject_is_read_from_the_second_credential() {
        use base64::Engine;
        let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let alias = Principal::from_slice(&[7; 29]);
        let requested = format!("h.{}.s", b64(serde_json::json!({ "sub": format!("did:icp:{alias}") })));
        let vp = format!("h.{}.", b64(serde_json::json!({ "vp": { "verifiableCredential": ["x", requested] } })));
        assert_eq!(requested_credential_subject(&vp), Ok(alias));
        let one = format!("h.{}.", b64(serde_json::json!({ "vp": { "verifiableCredential": ["x"] } })));
        assert!(requested_credential_subject(&one).is_err());
    }
}
