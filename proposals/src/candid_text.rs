//! Candid text for dfx and quill, produced from the Rust values and checked to encode back to the
//! same bytes.
//!
//! A value is encoded with `candid`, decoded again as an [`IDLArgs`] *with the Rust type* (so the
//! record and variant labels come out as names, not as hashes) and pretty-printed. The inverse,
//! [`encode_text`], parses Candid text, annotates it with the same type and encodes it: that is
//! what dfx and quill do with the governance `.did`, and [`to_checked_text`] insists that it
//! gives back the exact bytes.

use candid::types::{CandidType, Type, TypeEnv};
use candid::IDLArgs;
use serde::de::DeserializeOwned;

/// Candid-encodes one value (a one-argument Candid message, `DIDL...`).
pub fn encode<T: CandidType>(value: &T) -> Result<Vec<u8>, String> {
    candid::encode_one(value)
        .map_err(|e| format!("internal error: cannot Candid-encode the value: {e}"))
}

/// Decodes a one-argument Candid message into `T`.
pub fn decode<T: CandidType + DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    candid::decode_one(bytes).map_err(|e| format!("{e}"))
}

/// The Candid text of a Candid message whose single argument has type `T`, with field names.
pub fn bytes_to_text<T: CandidType>(bytes: &[u8]) -> Result<String, String> {
    let env = TypeEnv::new();
    let args = IDLArgs::from_bytes_with_types(bytes, &env, &[T::ty()]).map_err(|e| {
        format!(
            "internal error: cannot decode the Candid message as {}: {e}",
            type_name::<T>()
        )
    })?;
    Ok(args.to_string())
}

/// Candid text (one argument of type `T`) to its Candid encoding, as dfx or quill would encode it
/// with the interface's type.
pub fn encode_text<T: CandidType>(text: &str) -> Result<Vec<u8>, String> {
    encode_text_with_type(text, &T::ty())
}

/// [`encode_text`] for a given type.
pub fn encode_text_with_type(text: &str, ty: &Type) -> Result<Vec<u8>, String> {
    let env = TypeEnv::new();
    let parsed =
        candid_parser::parse_idl_args(text).map_err(|e| format!("not valid Candid text: {e}"))?;
    let types = std::slice::from_ref(ty);
    if parsed.args.len() != 1 {
        return Err(format!(
            "expected exactly one Candid value in parentheses, got {}",
            parsed.args.len()
        ));
    }
    let annotated = parsed
        .annotate_types(true, &env, types)
        .map_err(|e| format!("the Candid value does not have the expected type {ty}: {e}"))?;
    annotated
        .to_bytes_with_types(&env, types)
        .map_err(|e| format!("cannot encode the Candid value: {e}"))
}

/// Parses Candid text (one argument) into `T`.
pub fn parse_text<T: CandidType + DeserializeOwned>(text: &str) -> Result<T, String> {
    let bytes = encode_text::<T>(text)?;
    decode::<T>(&bytes).map_err(|e| {
        format!(
            "the Candid value does not decode as {}: {e}",
            type_name::<T>()
        )
    })
}

/// The encoding of `value` and its Candid text, after checking that the text encodes back to the
/// very same bytes.
pub fn to_checked_text<T: CandidType>(value: &T) -> Result<(Vec<u8>, String), String> {
    let bytes = encode(value)?;
    let text = bytes_to_text::<T>(&bytes)?;
    let again = encode_text::<T>(&text)
        .map_err(|e| format!("internal error: the printed Candid text does not parse back: {e}"))?;
    if again != bytes {
        return Err(
            "internal error: the printed Candid text does not encode back to the same bytes".into(),
        );
    }
    Ok((bytes, text))
}

/// A Candid `blob "..."` literal with every byte escaped as `\xx`.
pub fn blob_literal(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3 + 7);
    s.push_str("blob \"");
    for b in bytes {
        s.push('\\');
        s.push_str(&hex::encode([*b]));
    }
    s.push('"');
    s
}

/// A string as one POSIX shell word (single quotes).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use platform_types::sns::*;
    use platform_types::SetShardStatusArgs;

    #[test]
    fn field_names_come_out_as_names_and_the_text_round_trips() {
        let args = SetShardStatusArgs {
            shard_id: Principal::from_slice(&[1; 10]),
            disabled: true,
            reason: "it's \"broken\"\n\u{e9}\u{1F600}\\".into(),
        };
        let (bytes, text) = to_checked_text(&args).unwrap();
        assert!(text.contains("shard_id = principal"), "{text}");
        assert!(text.contains("disabled = true"), "{text}");
        assert!(text.contains("reason = "), "{text}");
        assert_eq!(decode::<SetShardStatusArgs>(&bytes).unwrap(), args);
        assert_eq!(parse_text::<SetShardStatusArgs>(&text).unwrap(), args);
    }

    #[test]
    fn blobs_and_variants_round_trip_in_a_manage_neuron() {
        let payload = encode(&SetShardStatusArgs {
            shard_id: Principal::anonymous(),
            disabled: false,
            reason: "r".into(),
        })
        .unwrap();
        let m = ManageNeuron::make_proposal(
            &NeuronId {
                id: (0..32).collect(),
            },
            Proposal {
                url: "https://example.org".into(),
                title: "t".into(),
                summary: "s".into(),
                action: Some(Action::ExecuteGenericNervousSystemFunction(
                    ExecuteGenericNervousSystemFunction {
                        function_id: 1000,
                        payload,
                    },
                )),
            },
        );
        let (bytes, text) = to_checked_text(&m).unwrap();
        assert!(text.contains("subaccount = blob"), "{text}");
        assert!(text.contains("MakeProposal = record"), "{text}");
        assert!(
            text.contains("ExecuteGenericNervousSystemFunction = record"),
            "{text}"
        );
        assert!(text.contains("function_id = 1_000 : nat64"), "{text}");
        assert_eq!(decode::<ManageNeuron>(&bytes).unwrap(), m);
    }

    #[test]
    fn text_of_another_type_is_rejected() {
        assert!(encode_text::<SetShardStatusArgs>("(record { shard_id = 5 })").is_err());
        assert!(encode_text::<SetShardStatusArgs>("(record {").is_err());
        assert!(encode_text::<SetShardStatusArgs>("(1, 2)").is_err());
    }

    #[test]
    fn blob_literals_escape_every_byte_and_parse_back() {
        let lit = blob_literal(b"DIDL\x00\x01\"'\\");
        assert_eq!(lit, r#"blob "\44\49\44\4c\00\01\22\27\5c""#);
        let bytes = encode_text::<serde_bytes::ByteBuf>(&format!("({lit})")).unwrap();
        let back: serde_bytes::ByteBuf = decode(&bytes).unwrap();
        assert_eq!(back.as_slice(), b"DIDL\x00\x01\"'\\");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
