//! Sender authentication (interface spec, "Authentication"): the anonymous principal with no
//! signature, or a public key whose self-authenticating principal is the sender, signing the
//! request id, possibly through a chain of delegations. Keys: Ed25519, ECDSA secp256k1 and
//! ECDSA P-256 (DER); canister signatures (Internet Identity) are not supported locally.

use candid::Principal;
use ic_transport_types::SignedDelegation;

use super::envelope::Request;
use super::ApiError;

const REQUEST_DOMAIN: &[u8] = b"\x0Aic-request";
const MAX_DELEGATIONS: usize = 20;
const MAX_TARGETS: usize = 1_000;

const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_CANISTER_SIG: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xb8, 0x43, 0x01, 0x02];

/// What a valid request may do: `None` targets = any canister.
pub struct Authorized {
    pub targets: Option<Vec<Principal>>,
    /// A delegation in the chain allows queries and read_state only.
    pub queries_only: bool,
}

impl Authorized {
    pub fn check_target(&self, canister: &Principal) -> Result<(), ApiError> {
        match &self.targets {
            Some(t) if !t.contains(canister) => Err(ApiError::forbidden(format!(
                "Failed to authenticate request: canister {canister} is not one of the delegation's targets"
            ))),
            _ => Ok(()),
        }
    }

    pub fn check_may_call(&self) -> Result<(), ApiError> {
        if self.queries_only {
            return Err(ApiError::forbidden(
                "Failed to authenticate request: a delegation in the chain permits only queries and read_state",
            ));
        }
        Ok(())
    }
}

/// Verifies the envelope's signature (and delegations) for its sender at time `now`.
pub fn authenticate(req: &Request, now: u64) -> Result<Authorized, ApiError> {
    let sender = req.sender();
    let fail = |why: String| ApiError::bad_request(format!("Failed to authenticate request 0x{}: {why}", hex::encode(req.request_id)));
    if sender == Principal::anonymous() {
        if req.sender_pubkey.is_some() || req.sender_sig.is_some() || req.sender_delegation.is_some() {
            return Err(fail("the anonymous sender must not carry a public key, a signature or delegations".into()));
        }
        return Ok(Authorized { targets: None, queries_only: false });
    }
    let (Some(pubkey), Some(sig)) = (&req.sender_pubkey, &req.sender_sig) else {
        return Err(fail(format!("sender {sender} is not anonymous, so the request needs sender_pubkey and sender_sig")));
    };
    if Principal::self_authenticating(pubkey) != sender {
        return Err(fail(format!(
            "the sender {sender} is not the self-authenticating principal of the public key ({})",
            Principal::self_authenticating(pubkey)
        )));
    }
    let delegations = req.sender_delegation.as_deref().unwrap_or(&[]);
    if delegations.len() > MAX_DELEGATIONS {
        return Err(fail(format!("{} delegations, more than the {MAX_DELEGATIONS} allowed", delegations.len())));
    }
    let mut key = pubkey.clone();
    let mut targets: Option<Vec<Principal>> = None;
    let mut queries_only = false;
    for (i, SignedDelegation { delegation, signature }) in delegations.iter().enumerate() {
        verify(&key, &delegation.signable(), signature).map_err(|e| fail(format!("delegation {i}: {e}")))?;
        if delegation.expiration < now {
            return Err(fail(format!(
                "delegation {i} expired at {} ns since the epoch, before now ({now})",
                delegation.expiration
            )));
        }
        if let Some(t) = &delegation.targets {
            if t.len() > MAX_TARGETS {
                return Err(fail(format!("delegation {i} has {} targets, more than {MAX_TARGETS}", t.len())));
            }
            targets = Some(match targets {
                None => t.clone(),
                Some(prev) => prev.into_iter().filter(|p| t.contains(p)).collect(),
            });
        }
        queries_only |= delegation.permissions == Some(ic_transport_types::DelegationPermissions::Queries);
        key = delegation.pubkey.clone();
    }
    let mut msg = REQUEST_DOMAIN.to_vec();
    msg.extend_from_slice(&req.request_id);
    verify(&key, &msg, sig).map_err(|e| fail(format!("invalid signature: {e}")))?;
    Ok(Authorized { targets, queries_only })
}

/// Verifies `sig` over `msg` with a DER public key.
pub fn verify(der: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), String> {
    let (algorithm, params, key) = parse_spki(der)?;
    if algorithm == OID_ED25519 {
        let key: [u8; 32] = key.try_into().map_err(|_| "an Ed25519 key has 32 bytes".to_string())?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|e| format!("bad Ed25519 key: {e}"))?;
        let sig: [u8; 64] = sig.try_into().map_err(|_| format!("an Ed25519 signature has 64 bytes, not {}", sig.len()))?;
        key.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig))
            .map_err(|_| "the Ed25519 signature does not verify".to_string())
    } else if algorithm == OID_EC_PUBLIC_KEY && params == OID_SECP256K1 {
        use k256::ecdsa::signature::Verifier;
        let key = k256::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|e| format!("bad secp256k1 key: {e}"))?;
        let sig = k256::ecdsa::Signature::from_slice(sig).map_err(|e| format!("bad ECDSA signature: {e}"))?;
        key.verify(msg, &sig).map_err(|_| "the ECDSA secp256k1 signature does not verify".to_string())
    } else if algorithm == OID_EC_PUBLIC_KEY && params == OID_P256 {
        use p256::ecdsa::signature::Verifier;
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|e| format!("bad P-256 key: {e}"))?;
        let sig = p256::ecdsa::Signature::from_slice(sig).map_err(|e| format!("bad ECDSA signature: {e}"))?;
        key.verify(msg, &sig).map_err(|_| "the ECDSA P-256 signature does not verify".to_string())
    } else if algorithm == OID_CANISTER_SIG {
        Err("canister signatures (Internet Identity) are not supported by localnet; use an Ed25519 or ECDSA identity".into())
    } else {
        Err(format!("unsupported public key algorithm (OID {})", hex::encode(algorithm)))
    }
}

/// Splits a SubjectPublicKeyInfo into (algorithm OID, parameter OID or empty, key bits).
fn parse_spki(der: &[u8]) -> Result<(&[u8], &[u8], &[u8]), String> {
    let bad = || format!("the public key is not DER SubjectPublicKeyInfo ({} bytes)", der.len());
    let (outer, rest) = read_tlv(der, 0x30).ok_or_else(bad)?;
    if !rest.is_empty() {
        return Err(bad());
    }
    let (alg, after_alg) = read_tlv(outer, 0x30).ok_or_else(bad)?;
    let (oid, alg_rest) = read_tlv(alg, 0x06).ok_or_else(bad)?;
    let params = match read_tlv(alg_rest, 0x06) {
        Some((p, _)) => p,
        None => &[],
    };
    let (bits, _) = read_tlv(after_alg, 0x03).ok_or_else(bad)?;
    let (&unused, key) = bits.split_first().ok_or_else(bad)?;
    if unused != 0 {
        return Err(bad());
    }
    Ok((oid, params, key))
}

/// Reads one DER element with tag `tag`: (contents, what follows).
fn read_tlv(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = data.split_first()?;
    if t != tag {
        return None;
    }
    let (&l, mut rest) = rest.split_first()?;
    let len = if l < 0x80 {
        l as usize
    } else {
        let n = (l & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        rest = &rest[n..];
        len
    };
    (rest.len() >= len).then(|| (&rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;

    fn ed25519_der(key: &ed25519_dalek::SigningKey) -> Vec<u8> {
        let mut der = crate::keys::ED25519_DER_PREFIX.to_vec();
        der.extend_from_slice(key.verifying_key().as_bytes());
        der
    }

    #[test]
    fn ed25519_and_ecdsa_signatures() {
        let k = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let der = ed25519_der(&k);
        let sig = k.sign(b"msg").to_bytes();
        assert!(verify(&der, b"msg", &sig).is_ok());
        assert!(verify(&der, b"other", &sig).unwrap_err().contains("does not verify"));

        use k256::pkcs8::EncodePublicKey;
        let sk = k256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
        let der = sk.verifying_key().to_public_key_der().unwrap().into_vec();
        let sig: k256::ecdsa::Signature = k256::ecdsa::signature::Signer::sign(&sk, b"msg");
        assert!(verify(&der, b"msg", &sig.to_bytes()).is_ok());
        assert!(verify(&der, b"msh", &sig.to_bytes()).is_err());

        let sk = p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
        let der = sk.verifying_key().to_public_key_der().unwrap().into_vec();
        let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&sk, b"msg");
        assert!(verify(&der, b"msg", &sig.to_bytes()).is_ok());
        assert!(verify(&der, b"msh", &sig.to_bytes()).is_err());

        assert!(verify(b"\x30\x00", b"m", b"s").is_err());
    }
}
