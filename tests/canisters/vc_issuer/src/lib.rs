//! Test infrastructure: a verifiable-credential issuer with canister signatures, standing in for
//! a proof-of-personhood issuer and, in the same role, for Internet Identity signing the
//! id_alias credential (there is no II on localnet). It signs whatever credential it is asked
//! for; the tests compose the presentation (`ic_verifiable_credentials::
//! build_ii_verifiable_presentation_jwt`) and register with it at the staking hub.
//!
//! `prepare_credential` (update) builds the credential JWT with this canister's signing key
//! (canister id + seed), adds the signature to the signature map and certifies the map's root
//! hash; `get_credential` (query, for the data certificate) returns the signed JWS. A signature
//! stays in the map for a minute (ic-canister-sig-creation prunes older ones).

use candid::{CandidType, Deserialize, Principal};
use ic_canister_sig_creation::signature_map::{CanisterSigInputs, SignatureMap, LABEL_SIG};
use ic_canister_sig_creation::CanisterSigPublicKey;
use ic_verifiable_credentials::issuer_api::{ArgumentValue, CredentialSpec};
use ic_verifiable_credentials::{
    build_credential_jwt, did_for_principal, vc_signing_input, vc_signing_input_to_jws, CredentialParams,
    VC_SIGNING_INPUT_DOMAIN,
};
use std::cell::RefCell;
use std::collections::BTreeMap;

#[cfg(target_arch = "wasm32")]
fn no_randomness(_: &mut [u8]) -> Result<(), getrandom::Error> {
    Err(getrandom::Error::UNSUPPORTED)
}
#[cfg(target_arch = "wasm32")]
getrandom::register_custom_getrandom!(no_randomness);

/// The seed of this canister's signing key (any fixed bytes: the key is canister id + seed).
const SEED: &[u8] = b"vc_issuer test key";

#[derive(CandidType, Deserialize, Clone, Debug)]
pub enum ArgValue {
    Text(String),
    Int(i32),
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct CredentialRequest {
    /// The credential's subject (`sub`, as `did:icp:<principal>`).
    pub subject: Principal,
    /// The credential's issuer URL (`iss`): the issuer's origin, or II's for an id_alias.
    pub issuer_url: String,
    pub credential_type: String,
    pub arguments: Vec<(String, ArgValue)>,
    /// Expiry (`exp`), seconds since the Unix epoch.
    pub expires_at_s: u32,
}

thread_local! {
    static SIGNATURES: RefCell<SignatureMap> = RefCell::new(SignatureMap::default());
    /// Prepared credentials: ticket → the JWS signing input.
    static PREPARED: RefCell<BTreeMap<u64, Vec<u8>>> = const { RefCell::new(BTreeMap::new()) };
}

fn public_key() -> CanisterSigPublicKey {
    CanisterSigPublicKey::new(ic_cdk::api::canister_self(), SEED.to_vec())
}

/// Builds and signs a credential; returns the ticket for `get_credential`.
#[ic_cdk::update]
fn prepare_credential(request: CredentialRequest) -> u64 {
    let arguments = (!request.arguments.is_empty()).then(|| {
        request
            .arguments
            .iter()
            .map(|(name, value)| {
                let v = match value {
                    ArgValue::Text(t) => ArgumentValue::String(t.clone()),
                    ArgValue::Int(i) => ArgumentValue::Int(*i),
                };
                (name.clone(), v)
            })
            .collect()
    });
    let ticket = PREPARED.with_borrow(|p| p.len() as u64);
    let jwt = build_credential_jwt(CredentialParams {
        spec: CredentialSpec { credential_type: request.credential_type, arguments },
        subject_id: did_for_principal(request.subject),
        credential_id_url: format!("https://vc-issuer.test/credentials/{ticket}"),
        issuer_url: request.issuer_url,
        expiration_timestamp_s: request.expires_at_s,
    });
    let signing_input = vc_signing_input(&jwt, &public_key()).unwrap_or_else(|e| ic_cdk::trap(e));
    SIGNATURES.with_borrow_mut(|sigs| {
        sigs.add_signature(&CanisterSigInputs { domain: VC_SIGNING_INPUT_DOMAIN, seed: SEED, message: &signing_input });
        ic_cdk::api::certified_data_set(ic_certification::labeled_hash(LABEL_SIG, &sigs.root_hash()));
    });
    PREPARED.with_borrow_mut(|p| p.insert(ticket, signing_input));
    ticket
}

/// The signed credential (JWS) of a ticket, while its signature is in the map.
#[ic_cdk::query]
fn get_credential(ticket: u64) -> Result<String, String> {
    let signing_input = PREPARED.with_borrow(|p| p.get(&ticket).cloned()).ok_or("no such ticket")?;
    let signature = SIGNATURES
        .with_borrow(|sigs| {
            sigs.get_signature_as_cbor(
                &CanisterSigInputs { domain: VC_SIGNING_INPUT_DOMAIN, seed: SEED, message: &signing_input },
                None,
            )
        })
        .map_err(|e| e.to_string())?;
    vc_signing_input_to_jws(&signing_input, &signature)
}

ic_cdk::export_candid!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candid_interface_matches_committed_did_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vc_issuer.did");
        platform_types::candid_check::check_service(&__export_service(), &path);
    }
}
