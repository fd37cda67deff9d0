//! Packages a canister Wasm the way the IC expects it:
//!
//! 1. parses the raw `.wasm` (walrus, via `ic-wasm`);
//! 2. removes the `get_candid_pointer` export that `ic_cdk::export_candid!()` adds (it only
//!    serves candid extraction tools; the interface is embedded as metadata instead), so the
//!    function and its string can be garbage-collected;
//! 3. shrinks it (`ic_wasm::shrink`: drops every custom section except `icp:*` metadata, names
//!    and producers included, and removes unreachable functions and data);
//! 4. embeds the `.did` file, after checking that it parses and type-checks, as public metadata
//!    `candid:service` (custom section `icp:public candid:service`);
//! 5. gzips it deterministically (best compression, header with mtime 0, no file name, fixed OS
//!    byte), so the same input always gives the same bytes and the same module hash;
//! 6. writes `<out>/<name>.wasm.gz` and `<out>/<name>.wasm.gz.sha256` (`<hex>  <name>.wasm.gz`,
//!    the `sha256sum` format), each through a temporary file and a rename, and only when the
//!    content changed.

use anyhow::{bail, ensure, Context, Result};
use candid_parser::utils::CandidSource;
use flate2::{Compression, GzBuilder};
use ic_wasm::metadata::{add_metadata, get_metadata, Kind};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Export added by `ic_cdk::export_candid!()`; removed by [`package_wasm`].
pub const CANDID_POINTER_EXPORT: &str = "get_candid_pointer";
/// Name of the metadata entry holding the Candid interface.
pub const CANDID_SERVICE_METADATA: &str = "candid:service";
const WASM_MAGIC: &[u8] = b"\0asm";
const GZIP_OS_UNKNOWN: u8 = 255;

/// What [`package`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packaged {
    pub gz_path: PathBuf,
    pub sha256_path: PathBuf,
    pub raw_size: usize,
    pub shrunk_size: usize,
    pub gz_size: usize,
    pub sha256_hex: String,
}

/// Checks that `did` is a Candid interface with a service (parses and type-checks).
pub fn validate_did(did: &str) -> Result<()> {
    let (_, service) = CandidSource::Text(did)
        .load()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the Candid file does not parse or type-check")?;
    ensure!(service.is_some(), "the Candid file defines no service");
    Ok(())
}

/// Public metadata that tells builds of the same code apart (see [`package_tagged`]).
pub const BUILD_TAG_METADATA: &str = "build_tag";

/// Steps 1-4: the shrunk Wasm with `did` embedded as `candid:service`.
pub fn package_wasm(raw: &[u8], did: &str) -> Result<Vec<u8>> {
    package_wasm_tagged(raw, did, None)
}

/// [`package_wasm`], plus public metadata `build_tag` when `tag` is given: the same code with a
/// different module hash (the rollout tests use it to stand for a new shard release).
pub fn package_wasm_tagged(raw: &[u8], did: &str, tag: Option<&str>) -> Result<Vec<u8>> {
    ensure!(
        raw.starts_with(WASM_MAGIC),
        "the input is not a WebAssembly binary (no \\0asm magic; a .wasm.gz must not be passed here)"
    );
    validate_did(did)?;
    let mut module = ic_wasm::utils::parse_wasm(raw, false)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot parse the Wasm module")?;
    if module
        .exports
        .iter()
        .any(|e| e.name == CANDID_POINTER_EXPORT)
    {
        module.exports.remove(CANDID_POINTER_EXPORT).map_err(|e| {
            anyhow::anyhow!("cannot remove the {CANDID_POINTER_EXPORT} export: {e}")
        })?;
    }
    ic_wasm::shrink::shrink(&mut module);
    add_metadata(
        &mut module,
        Kind::Public,
        CANDID_SERVICE_METADATA,
        did.as_bytes().to_vec(),
    );
    if let Some(tag) = tag {
        add_metadata(&mut module, Kind::Public, BUILD_TAG_METADATA, tag.as_bytes().to_vec());
    }
    Ok(module.emit_wasm())
}

/// Step 5: deterministic gzip.
pub fn gzip_deterministic(data: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS_UNKNOWN)
        .write(Vec::with_capacity(data.len() / 2), Compression::best());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The `candid:service` metadata of a packaged module (`.wasm` or `.wasm.gz`), if any.
pub fn candid_service_of(wasm_or_gz: &[u8]) -> Result<Option<String>> {
    let module = ic_wasm::utils::parse_wasm(wasm_or_gz, false)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot parse the Wasm module")?;
    get_metadata(&module, CANDID_SERVICE_METADATA)
        .map(|d| String::from_utf8(d.into_owned()).context("candid:service is not UTF-8"))
        .transpose()
}

/// Everything: reads `wasm_path` and `did_path`, writes `<out_dir>/<name>.wasm.gz(.sha256)`.
pub fn package(wasm_path: &Path, did_path: &Path, name: &str, out_dir: &Path) -> Result<Packaged> {
    package_tagged(wasm_path, did_path, name, out_dir, None)
}

/// [`package`] with an optional build tag (see [`package_wasm_tagged`]).
pub fn package_tagged(
    wasm_path: &Path,
    did_path: &Path,
    name: &str,
    out_dir: &Path,
    tag: Option<&str>,
) -> Result<Packaged> {
    ensure!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        "invalid canister name {name:?} (letters, digits, '_' and '-' only)"
    );
    let raw =
        std::fs::read(wasm_path).with_context(|| format!("cannot read {}", wasm_path.display()))?;
    let did = std::fs::read_to_string(did_path)
        .with_context(|| format!("cannot read {}", did_path.display()))?;
    let shrunk = package_wasm_tagged(&raw, &did, tag).with_context(|| {
        format!(
            "cannot package {} with {}",
            wasm_path.display(),
            did_path.display()
        )
    })?;
    let gz = gzip_deterministic(&shrunk)?;
    // The output must carry the interface it was given.
    if candid_service_of(&gz)?.as_deref() != Some(did.as_str()) {
        bail!("internal error: candid:service is missing from the packaged module");
    }
    let sha = sha256_hex(&gz);

    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let file_name = format!("{name}.wasm.gz");
    let gz_path = out_dir.join(&file_name);
    let sha256_path = out_dir.join(format!("{file_name}.sha256"));
    write_atomically(&gz_path, &gz)?;
    write_atomically(&sha256_path, format!("{sha}  {file_name}\n").as_bytes())?;
    Ok(Packaged {
        gz_path,
        sha256_path,
        raw_size: raw.len(),
        shrunk_size: shrunk.len(),
        gz_size: gz.len(),
        sha256_hex: sha,
    })
}

/// Writes through a temporary file and a rename; leaves an identical file untouched, so that
/// its mtime only changes with its content (cargo's `rerun-if-changed` looks at mtimes).
fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|existing| existing == data) {
        return Ok(());
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, data).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

/// Imports, exports and metadata names of a module, one per line (for `canister-packager info`).
pub fn describe(wasm_or_gz: &[u8]) -> Result<String> {
    let module = ic_wasm::utils::parse_wasm(wasm_or_gz, false)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot parse the Wasm module")?;
    let mut out = String::new();
    for import in module.imports.iter() {
        out += &format!("import {} {}\n", import.module, import.name);
    }
    for export in module.exports.iter() {
        out += &format!("export {}\n", export.name);
    }
    for name in ic_wasm::metadata::list_metadata(&module) {
        out += &format!("metadata {name}\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use walrus::{FunctionBuilder, Module, ModuleConfig, RawCustomSection, ValType};

    const DID: &str = "service : (opt nat64) -> { get : () -> (nat64) query }\n";

    /// A minimal canister-like module: a memory, `canister_query get`, `get_candid_pointer`,
    /// an unreachable function and a custom section.
    fn tiny_module() -> Vec<u8> {
        let mut m = Module::with_config(ModuleConfig::new());
        let memory = m.memories.add_local(false, false, 1, None, None);
        m.exports.add("memory", memory);
        let mut get = FunctionBuilder::new(&mut m.types, &[], &[]);
        get.func_body().i32_const(7).drop();
        let get = get.finish(vec![], &mut m.funcs);
        m.exports.add("canister_query get", get);
        let mut pointer = FunctionBuilder::new(&mut m.types, &[], &[ValType::I32]);
        pointer.func_body().i32_const(1024);
        let pointer = pointer.finish(vec![], &mut m.funcs);
        m.exports.add(CANDID_POINTER_EXPORT, pointer);
        let mut dead = FunctionBuilder::new(&mut m.types, &[], &[]);
        dead.func_body().i32_const(3).drop();
        dead.finish(vec![], &mut m.funcs);
        m.customs.add(RawCustomSection {
            name: "junk".into(),
            data: vec![1; 100],
        });
        m.emit_wasm()
    }

    #[test]
    fn packaging_embeds_candid_and_shrinks() {
        let raw = tiny_module();
        let packaged = package_wasm(&raw, DID).unwrap();
        assert!(packaged.len() < raw.len());
        assert_eq!(candid_service_of(&packaged).unwrap().as_deref(), Some(DID));
        let m = ic_wasm::utils::parse_wasm(&packaged, false).unwrap();
        let exports: Vec<_> = m.exports.iter().map(|e| e.name.as_str()).collect();
        assert!(exports.contains(&"canister_query get"));
        assert!(!exports.contains(&CANDID_POINTER_EXPORT));
        assert_eq!(
            m.funcs.iter().count(),
            1,
            "unreachable functions are removed"
        );
        let customs: Vec<_> = m
            .customs
            .iter()
            .map(|(_, c)| c.name().to_string())
            .collect();
        assert_eq!(customs, vec!["icp:public candid:service".to_string()]);
    }

    #[test]
    fn a_build_tag_changes_the_module_but_not_the_code() {
        let raw = tiny_module();
        let plain = package_wasm(&raw, DID).unwrap();
        let tagged = package_wasm_tagged(&raw, DID, Some("rollout")).unwrap();
        assert_ne!(sha256_hex(&plain), sha256_hex(&tagged));
        let m = ic_wasm::utils::parse_wasm(&tagged, false).unwrap();
        assert_eq!(get_metadata(&m, BUILD_TAG_METADATA).unwrap().as_ref(), b"rollout");
        assert_eq!(m.funcs.iter().count(), 1);
        assert_eq!(candid_service_of(&tagged).unwrap().as_deref(), Some(DID));
    }

    #[test]
    fn gzip_is_deterministic_and_has_no_timestamp() {
        let data = tiny_module();
        let a = gzip_deterministic(&data).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = gzip_deterministic(&data).unwrap();
        assert_eq!(a, b);
        assert_eq!(&a[..3], &[0x1f, 0x8b, 8]);
        assert_eq!(a[3], 0, "no FNAME/FCOMMENT/FEXTRA flags");
        assert_eq!(&a[4..8], &[0, 0, 0, 0], "mtime is 0");
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&a[..]), &mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn package_writes_gz_and_sha256_files_reproducibly() {
        let dir = std::env::temp_dir().join(format!("packager-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let wasm = dir.join("tiny.wasm");
        let did = dir.join("tiny.did");
        std::fs::write(&wasm, tiny_module()).unwrap();
        std::fs::write(&did, DID).unwrap();
        let out = dir.join("out");
        let first = package(&wasm, &did, "tiny", &out).unwrap();
        let bytes = std::fs::read(&first.gz_path).unwrap();
        let second = package(&wasm, &did, "tiny", &out).unwrap();
        assert_eq!(first, second);
        assert_eq!(std::fs::read(&second.gz_path).unwrap(), bytes);
        assert_eq!(first.gz_path, out.join("tiny.wasm.gz"));
        assert_eq!(first.gz_size, bytes.len());
        assert_eq!(
            std::fs::read_to_string(&first.sha256_path).unwrap(),
            format!("{}  tiny.wasm.gz\n", sha256_hex(&bytes))
        );
        assert_eq!(candid_service_of(&bytes).unwrap().as_deref(), Some(DID));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_inputs_give_clear_errors() {
        let err = package_wasm(b"not wasm at all", DID).unwrap_err();
        assert!(
            format!("{err:#}").contains("not a WebAssembly binary"),
            "{err:#}"
        );
        let gz = gzip_deterministic(&tiny_module()).unwrap();
        assert!(package_wasm(&gz, DID).is_err());
        let err = package_wasm(b"\0asm\x01\0\0\0\x99", DID).unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot parse the Wasm module"),
            "{err:#}"
        );
        let err =
            package_wasm(&tiny_module(), "service : { get : () -> (nosuchtype) }").unwrap_err();
        assert!(format!("{err:#}").contains("Candid"), "{err:#}");
        let err = package_wasm(&tiny_module(), "type T = nat;").unwrap_err();
        assert!(format!("{err:#}").contains("no service"), "{err:#}");
        let dir = std::env::temp_dir();
        let err = package(
            &dir.join("does-not-exist.wasm"),
            &dir.join("x.did"),
            "x",
            &dir,
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("cannot read"), "{err:#}");
        assert!(package(Path::new("a"), Path::new("b"), "../evil", &dir).is_err());
    }

    #[test]
    fn describe_lists_exports_and_metadata() {
        let packaged = package_wasm(&tiny_module(), DID).unwrap();
        let text = describe(&packaged).unwrap();
        assert!(text.contains("export canister_query get\n"), "{text}");
        assert!(
            text.contains("metadata icp:public candid:service\n"),
            "{text}"
        );
    }
}
