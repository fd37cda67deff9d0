//! One wasmtime engine per process, a shared linker, and a cache of compiled modules
//! (in memory, and on disk so that many test binaries do not recompile the same Wasm).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use wasmtime::{Config, Engine, Linker, Module, OptLevel};

use crate::memory::HeapCreator;
use crate::system_api::{linker as make_linker, Ctx};

pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .cranelift_opt_level(OptLevel::Speed)
            .wasm_memory64(false)
            .wasm_multi_memory(false)
            // 4 GiB reservation + guard: bounds checks elided, memory never moves.
            .memory_reservation(4 << 30)
            .memory_guard_size(2 << 30)
            .memory_may_move(false)
            // Data segments are written into our memfd-backed heap, not mapped from an image.
            .memory_init_cow(false)
            .max_wasm_stack(1 << 20)
            .with_host_memory(Arc::new(HeapCreator));
        Engine::new(&config).expect("creating the wasmtime engine")
    })
}

pub fn linker() -> &'static Linker<Ctx> {
    static LINKER: OnceLock<Linker<Ctx>> = OnceLock::new();
    LINKER.get_or_init(|| make_linker(engine()))
}

fn disk_cache_dir() -> Option<PathBuf> {
    match std::env::var_os("LOCALNET_MODULE_CACHE") {
        Some(v) if v.is_empty() || v == "0" => None,
        Some(v) => Some(PathBuf::from(v)),
        None => Some(std::env::temp_dir().join("localnet-module-cache")),
    }
}

/// Compiles (or fetches from the cache) the rewritten module with the given hash.
pub fn compile(rewritten: &[u8]) -> Result<Module, String> {
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], Module>>> = OnceLock::new();
    let key = crate::wasm::sha256(rewritten);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(m) = cache.lock().unwrap().get(&key) {
        return Ok(m.clone());
    }
    let file = disk_cache_dir().map(|d| {
        d.join(format!("{}-{}.cwasm", hex::encode(key), env!("CARGO_PKG_VERSION")))
    });
    let mut module = None;
    if let Some(path) = &file {
        if path.exists() {
            // Safety: files in this directory are written only by `Module::serialize` below;
            // wasmtime checks the engine configuration and version and refuses a mismatch.
            module = unsafe { Module::deserialize_file(engine(), path) }.ok();
        }
    }
    let module = match module {
        Some(m) => m,
        None => {
            let m = Module::new(engine(), rewritten).map_err(|e| format!("Wasm module failed to compile: {e:#}"))?;
            if let Some(path) = &file {
                if let (Some(dir), Ok(bytes)) = (path.parent(), m.serialize()) {
                    // Write-then-rename, so concurrent test processes never read a partial file.
                    let _ = std::fs::create_dir_all(dir);
                    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                    if std::fs::write(&tmp, bytes).is_ok() {
                        let _ = std::fs::rename(&tmp, path);
                    }
                }
            }
            m
        }
    };
    cache.lock().unwrap().insert(key, module.clone());
    Ok(module)
}
