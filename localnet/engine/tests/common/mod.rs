//! Shared helpers of localnet's tests: the test canisters' Wasm and a few principals.
#![allow(dead_code)]

use candid::Principal;
use localnet::LocalNet;
use std::path::PathBuf;

/// Folder with `<name>.wasm.gz` from `scripts/build-canisters.sh` (override: `CANISTER_WASM_DIR`).
pub fn wasm_dir() -> PathBuf {
    match std::env::var_os("CANISTER_WASM_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/canisters"),
    }
}

pub fn wasm(name: &str) -> Vec<u8> {
    let path = wasm_dir().join(format!("{name}.wasm.gz"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("cannot read {}: {e}. Build the canisters first: bash scripts/build-canisters.sh", path.display())
    })
}

pub fn user(n: u8) -> Principal {
    Principal::from_slice(&[n; 29])
}

/// The principal that created (and controls) canisters made with `create_canister()`.
pub fn owner() -> Principal {
    Principal::anonymous()
}

/// Creates and installs a test canister with a Candid init argument.
pub fn install<A: candid::utils::ArgumentEncoder>(net: &LocalNet, name: &str, args: A) -> Principal {
    let id = net.create_canister();
    net.install_canister(id, wasm(name), candid::encode_args(args).unwrap(), None);
    id
}
