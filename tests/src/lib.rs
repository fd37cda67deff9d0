//! Helpers shared by the integration tests: where the built canister Wasm lives, and the
//! platform's environment with typed clients (`platform`).

pub mod interface;
pub mod platform;
pub mod rng;
pub mod sns;

use platform_types::{Question, Unit, UnitInput};
use std::path::PathBuf;

/// Folder with the packaged `<name>.wasm.gz` files written by `scripts/build-canisters.sh`
/// (override with `CANISTER_WASM_DIR`).
pub fn wasm_dir() -> PathBuf {
    match std::env::var_os("CANISTER_WASM_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/canisters"),
    }
}

/// The packaged Wasm of canister `name`; panics with the command to run when it is missing.
pub fn wasm(name: &str) -> Vec<u8> {
    let path = wasm_dir().join(format!("{name}.wasm.gz"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("cannot read {}: {e}. Build the canisters first: bash scripts/build-canisters.sh", path.display())
    })
}

/// The same gzipped module with another gzip header timestamp: the same code under another
/// module hash (the IC hashes a module as installed), so an upgrade to it shows in the hash.
pub fn another_release(gz: &[u8]) -> Vec<u8> {
    assert!(gz.starts_with(&[0x1f, 0x8b, 0x08]), "a gzipped module");
    let mut out = gz.to_vec();
    out[4..8].copy_from_slice(&[1, 2, 3, 4]);
    assert_ne!(out, gz, "the timestamp changed");
    out
}

/// A unit `id` of `subject` with one three-option question per entry of `key`, which is its
/// answer key.
pub fn unit(id: &str, subject: &str, key: Vec<u32>) -> UnitInput {
    UnitInput {
        unit: Unit {
            id: id.into(),
            subject: subject.into(),
            title: format!("Unit {id}"),
            body: format!("All about {id}."),
            questions: key
                .iter()
                .enumerate()
                .map(|(i, _)| Question { text: format!("Q{i}?"), options: vec!["a".into(), "b".into(), "c".into()] })
                .collect(),
        },
        answer_key: key,
    }
}
