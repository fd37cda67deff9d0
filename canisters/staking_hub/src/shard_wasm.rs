//! The packaged user_profile shard Wasm, embedded at build time (see `build.rs`).

use sha2::{Digest, Sha256};

/// `user_profile.wasm.gz`; empty in native builds made without `USER_PROFILE_WASM`.
pub static USER_PROFILE_WASM_GZ: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/user_profile.wasm.gz"));

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Hex sha256 of [`USER_PROFILE_WASM_GZ`], computed once per Wasm instance (the rollout compares
/// every shard against it on every timer tick).
pub fn embedded_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| sha256_hex(USER_PROFILE_WASM_GZ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_matches_known_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_embedded_hash_is_that_of_the_embedded_bytes() {
        assert_eq!(embedded_hash(), sha256_hex(USER_PROFILE_WASM_GZ));
    }

    #[test]
    fn embedded_bytes_are_empty_or_gzip() {
        assert!(USER_PROFILE_WASM_GZ.is_empty() || USER_PROFILE_WASM_GZ.starts_with(&[0x1f, 0x8b]));
    }
}
