//! Embeds the packaged `user_profile` shard Wasm (`user_profile.wasm.gz`) into the hub.
//!
//! The path comes from the environment variable `USER_PROFILE_WASM`; the file is copied to
//! `$OUT_DIR/user_profile.wasm.gz`, which `src/shard_wasm.rs` includes with `include_bytes!`.
//!
//! * Building for wasm32 (a real canister): the variable is REQUIRED. `scripts/build-canisters.sh`
//!   builds and packages `user_profile` first and then sets it.
//! * Native builds (unit tests, Candid generation): when the variable is unset, an EMPTY byte
//!   string is embedded instead, so `cargo test -p staking_hub` works without building Wasm.
//!   `get_shard_wasm_hash` then returns the sha256 of the empty string.
//!
//! It also sets the build facts `get_version` reports (git commit, commit time: see
//! canisters/build_facts).

use std::env;
use std::path::{Path, PathBuf};

const VAR: &str = "USER_PROFILE_WASM";
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

fn main() {
    build_facts::emit();
    println!("cargo:rerun-if-env-changed={VAR}");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"))
        .join("user_profile.wasm.gz");
    let for_wasm = env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a.starts_with("wasm"));

    let bytes = match env::var_os(VAR).filter(|v| !v.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            println!("cargo:rerun-if-changed={}", path.display());
            read_shard_wasm(&path)
        }
        None if for_wasm => fail(&format!(
            "{VAR} is not set. The staking_hub Wasm embeds the packaged user_profile shard \
             (user_profile.wasm.gz); build all canisters with scripts/build-canisters.sh, which \
             builds user_profile first and sets {VAR} to its absolute path."
        )),
        // Native build without the variable: embed nothing (see the module comment).
        None => Vec::new(),
    };
    // Only rewrite when the content changed, so the lib is not rebuilt needlessly.
    if std::fs::read(&out).ok().as_deref() != Some(bytes.as_slice()) {
        std::fs::write(&out, &bytes)
            .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", out.display())));
    }
}

fn read_shard_wasm(path: &Path) -> Vec<u8> {
    if !path.is_absolute() {
        fail(&format!(
            "{VAR}={} must be an absolute path (cargo runs build scripts in the package directory)",
            path.display()
        ));
    }
    let bytes = std::fs::read(path)
        .unwrap_or_else(|e| fail(&format!("cannot read {VAR}={}: {e}", path.display())));
    if !bytes.starts_with(GZIP_MAGIC) {
        fail(&format!(
            "{VAR}={} is not a gzip file; it must be the packaged user_profile.wasm.gz written \
             by scripts/build-canisters.sh",
            path.display()
        ));
    }
    bytes
}

fn fail(msg: &str) -> ! {
    eprintln!("error: staking_hub build script: {msg}");
    std::process::exit(1);
}
