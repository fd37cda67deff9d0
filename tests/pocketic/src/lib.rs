//! Helpers for tests written against the `pocket-ic` crate only (`PocketIc`,
//! `PocketIcBuilder`): the same tests run on localnet's PocketIC server here and, unchanged,
//! on DFINITY's PocketIC server wherever it can be installed.
//!
//! The server binary is `$POCKET_IC_BIN` if set (e.g. DFINITY's `pocket-ic`), else localnet's
//! (`target/<profile>/localnet`, built by `cargo build -p localnet-server`). Canister Wasm comes
//! from `target/canisters/<name>.wasm.gz` (`bash scripts/build-canisters.sh`), or
//! `$CANISTER_WASM_DIR`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use candid::Principal;
use pocket_ic::{PocketIc, PocketIcBuilder};

/// The PocketIC server the tests run on (see the crate documentation).
pub fn server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("POCKET_IC_BIN") {
        return PathBuf::from(bin);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates = Vec::new();
    // The test executable is target/<profile>/deps/<name>: the server is built next to it.
    if let Ok(exe) = std::env::current_exe() {
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            candidates.push(profile_dir.join("localnet"));
        }
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(manifest.join(dir).join("debug/localnet"));
    }
    candidates.push(manifest.join("../../target/debug/localnet"));
    candidates.iter().find(|p| p.is_file()).cloned().unwrap_or_else(|| {
        panic!(
            "No PocketIC server: {} is missing. Build localnet's first with `cargo build -p localnet-server`, \
             or set POCKET_IC_BIN to a PocketIC server binary.",
            candidates.last().unwrap().display()
        )
    })
}

/// A new instance with one application subnet, as `PocketIc::new()` makes.
pub fn pic() -> PocketIc {
    builder().build()
}

/// `PocketIcBuilder` with one application subnet, on [`server_binary`].
pub fn builder() -> PocketIcBuilder {
    PocketIcBuilder::new().with_application_subnet().with_server_binary(server_binary())
}

/// Folder with the packaged `<name>.wasm.gz` files.
pub fn wasm_dir() -> PathBuf {
    match std::env::var_os("CANISTER_WASM_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/canisters"),
    }
}

/// The packaged (gzipped) Wasm of canister `name`; panics with the command to run when missing.
pub fn wasm(name: &str) -> Vec<u8> {
    let path = wasm_dir().join(format!("{name}.wasm.gz"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("cannot read {}: {e}. Build the canisters first: bash scripts/build-canisters.sh", path.display())
    })
}

/// The Wasm of canister `name`, uncompressed.
pub fn raw_wasm(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&wasm(name)[..]).read_to_end(&mut out).expect("a gzipped Wasm module");
    out
}

/// `module` with a custom section `name` of `len` bytes appended (ignored by the IC): a way to
/// make a module of any size.
pub fn with_custom_section(mut module: Vec<u8>, name: &str, len: usize) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut content = Vec::new();
    leb(name.len(), &mut content);
    content.extend_from_slice(name.as_bytes());
    // Not all zeros, so it stays large if someone gzips it.
    content.extend((0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3]));
    module.push(0);
    leb(content.len(), &mut module);
    module.extend_from_slice(&content);
    module
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

/// A test principal (opaque, 29 bytes) numbered `n`, distinct per `tag`.
pub fn user(tag: u8, n: u32) -> Principal {
    let mut b = [tag; 29];
    b[..4].copy_from_slice(&n.to_be_bytes());
    Principal::from_slice(&b)
}

/// Moves time on by `secs` one second per round (timers due in that span run), then a few
/// rounds for what they started.
pub fn run_for(pic: &PocketIc, secs: u64) {
    for _ in 0..secs {
        pic.advance_time(Duration::from_secs(1));
        pic.tick();
    }
    ticks(pic, 20);
}

/// `n` rounds.
pub fn ticks(pic: &PocketIc, n: usize) {
    for _ in 0..n {
        pic.tick();
    }
}

/// Rounds until `done()` holds (at most `max`); panics naming `what` otherwise.
pub fn tick_until(pic: &PocketIc, max: usize, what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..max {
        if done() {
            return;
        }
        pic.tick();
    }
    assert!(done(), "{what}: not reached after {max} rounds");
}
