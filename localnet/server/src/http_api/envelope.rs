//! Request envelopes: CBOR decoding, request ids (the interface spec's representation-independent
//! hash, computed over the content exactly as sent, unknown fields included) and expiry.

use candid::Principal;
use ic_transport_types::{EnvelopeContent, SignedDelegation};
use serde::Deserialize;
use serde_cbor::Value;
use sha2::{Digest, Sha256};

use super::ApiError;

/// Requests may expire at most this far in the future (the IC's MAX_INGRESS_TTL)...
pub const MAX_INGRESS_TTL_NS: u64 = 5 * 60 * 1_000_000_000;
/// ... plus this much clock drift.
pub const PERMITTED_DRIFT_NS: u64 = 60 * 1_000_000_000;

#[derive(Deserialize)]
struct RawEnvelope {
    content: Value,
    #[serde(default, with = "serde_bytes")]
    sender_pubkey: Option<Vec<u8>>,
    #[serde(default, with = "serde_bytes")]
    sender_sig: Option<Vec<u8>>,
    #[serde(default)]
    sender_delegation: Option<Vec<SignedDelegation>>,
}

/// A decoded request.
pub struct Request {
    pub content: EnvelopeContent,
    pub request_id: [u8; 32],
    pub sender_pubkey: Option<Vec<u8>>,
    pub sender_sig: Option<Vec<u8>>,
    pub sender_delegation: Option<Vec<SignedDelegation>>,
}

impl Request {
    pub fn sender(&self) -> Principal {
        *self.content.sender()
    }
}

/// Decodes a CBOR envelope (with or without the self-describing tag).
pub fn decode(body: &[u8], what: &str) -> Result<Request, ApiError> {
    let bad = |e: String| ApiError::bad_request(format!("Could not parse body as {what}: {e}"));
    let raw: RawEnvelope = serde_cbor::from_slice(body).map_err(|e| bad(e.to_string()))?;
    let content_value = strip_tags(raw.content);
    let request_id = representation_independent_hash(&content_value).map_err(bad)?;
    let content: EnvelopeContent = serde_cbor::value::from_value(content_value).map_err(|e| bad(e.to_string()))?;
    Ok(Request {
        content,
        request_id,
        sender_pubkey: raw.sender_pubkey,
        sender_sig: raw.sender_sig,
        sender_delegation: raw.sender_delegation,
    })
}

fn strip_tags(v: Value) -> Value {
    match v {
        Value::Tag(_, inner) => strip_tags(*inner),
        other => other,
    }
}

/// The spec's hash of structured data: maps hash their sorted key/value hash pairs, arrays
/// their elements' hashes, blobs and text themselves, numbers their LEB128 encoding.
pub fn representation_independent_hash(v: &Value) -> Result<[u8; 32], String> {
    Ok(match v {
        Value::Bytes(b) => Sha256::digest(b).into(),
        Value::Text(t) => Sha256::digest(t.as_bytes()).into(),
        Value::Integer(i) if *i >= 0 => {
            let n = u64::try_from(*i).map_err(|_| format!("the integer {i} is larger than 64 bits"))?;
            Sha256::digest(crate::state_tree::leb128(n)).into()
        }
        Value::Integer(i) => Sha256::digest(sleb128(*i)).into(),
        Value::Array(items) => {
            let mut h = Sha256::new();
            for item in items {
                h.update(representation_independent_hash(item)?);
            }
            h.finalize().into()
        }
        Value::Map(m) => {
            let mut pairs = Vec::with_capacity(m.len());
            for (k, val) in m {
                let Value::Text(key) = k else { return Err(format!("map key {k:?} is not text")) };
                let mut pair = Vec::with_capacity(64);
                pair.extend_from_slice(&Sha256::digest(key.as_bytes()));
                pair.extend_from_slice(&representation_independent_hash(val)?);
                pairs.push(pair);
            }
            pairs.sort();
            let mut h = Sha256::new();
            for p in pairs {
                h.update(p);
            }
            h.finalize().into()
        }
        Value::Tag(_, inner) => representation_independent_hash(inner)?,
        other => return Err(format!("{other:?} cannot be hashed into a request id")),
    })
}

fn sleb128(mut n: i128) -> Vec<u8> {
    let mut v = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        let done = (n == 0 && byte & 0x40 == 0) || (n == -1 && byte & 0x40 != 0);
        v.push(if done { byte } else { byte | 0x80 });
        if done {
            return v;
        }
    }
}

/// The IC's expiry rule: not in the past, and at most MAX_INGRESS_TTL (+ drift) ahead.
pub fn check_expiry(expiry: u64, now: u64) -> Result<(), ApiError> {
    let min = now;
    let max = now.saturating_add(MAX_INGRESS_TTL_NS + PERMITTED_DRIFT_NS);
    if expiry < min || expiry > max {
        return Err(ApiError::bad_request(format!(
            "Invalid request expiry: Specified ingress_expiry not within expected range: Minimum allowed expiry: {}, Maximum allowed expiry: {}, Provided expiry: {}",
            fmt_nanos(min),
            fmt_nanos(max),
            fmt_nanos(expiry)
        )));
    }
    Ok(())
}

fn fmt_nanos(n: u64) -> String {
    format!("{n} ns since the epoch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_match_the_transport_crate() {
        let content = EnvelopeContent::Call {
            nonce: Some(vec![1, 2, 3]),
            ingress_expiry: 1_685_570_400_000_000_000,
            sender: Principal::anonymous(),
            canister_id: Principal::from_text("rwlgt-iiaaa-aaaaa-aaaaa-cai").unwrap(),
            method_name: "hello".into(),
            arg: b"DIDL\x00\xfd*".to_vec(),
            sender_info: None,
        };
        let expected = content.to_request_id();
        let value = serde_cbor::value::to_value(&content).unwrap();
        let ours = representation_independent_hash(&value).unwrap();
        assert_eq!(&ours[..], expected.as_slice());
    }

    #[test]
    fn spec_example_request_id() {
        // From the interface specification's worked example.
        let mut m = std::collections::BTreeMap::new();
        m.insert(Value::Text("request_type".into()), Value::Text("call".into()));
        m.insert(Value::Text("sender".into()), Value::Bytes(vec![0x04]));
        m.insert(Value::Text("ingress_expiry".into()), Value::Integer(1_685_570_400_000_000_000));
        m.insert(Value::Text("canister_id".into()), Value::Bytes(hex::decode("00000000000004D2").unwrap()));
        m.insert(Value::Text("method_name".into()), Value::Text("hello".into()));
        m.insert(Value::Text("arg".into()), Value::Bytes(b"DIDL\x00\xFD*".to_vec()));
        let id = representation_independent_hash(&Value::Map(m)).unwrap();
        assert_eq!(hex::encode(id), "1d1091364d6bb8a6c16b203ee75467d59ead468f523eb058880ae8ec80e2b101");
    }

    #[test]
    fn malformed_and_unknown_fields() {
        assert!(decode(b"\x01\x02", "call").is_err());
        // An unknown content field changes the id but is accepted.
        let mut m = std::collections::BTreeMap::new();
        m.insert(Value::Text("request_type".into()), Value::Text("read_state".into()));
        m.insert(Value::Text("sender".into()), Value::Bytes(vec![0x04]));
        m.insert(Value::Text("ingress_expiry".into()), Value::Integer(5));
        m.insert(Value::Text("paths".into()), Value::Array(vec![]));
        m.insert(Value::Text("extra".into()), Value::Text("x".into()));
        let mut env = std::collections::BTreeMap::new();
        env.insert(Value::Text("content".into()), Value::Map(m));
        let body = serde_cbor::to_vec(&Value::Map(env)).unwrap();
        let r = decode(&body, "read_state").unwrap();
        assert!(matches!(r.content, EnvelopeContent::ReadState { .. }));
    }

    #[test]
    fn expiry_window() {
        let now = 1_000 * 1_000_000_000;
        assert!(check_expiry(now + 1, now).is_ok());
        assert!(check_expiry(now + MAX_INGRESS_TTL_NS, now).is_ok());
        assert!(check_expiry(now - 1, now).is_err());
        assert!(check_expiry(now + MAX_INGRESS_TTL_NS + PERMITTED_DRIFT_NS + 1, now).is_err());
    }
}
