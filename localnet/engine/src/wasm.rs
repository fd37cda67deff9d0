//! Preparing canister modules: decompression, validation against the IC's rules and
//! the System API localnet provides, and the rewrite that exports the function table
//! and the mutable globals (Rust exports neither; the replica rewrites modules too).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use sha2::{Digest, Sha256};
use walrus::ir::{Instr, InstrLocId, Visitor};
use walrus::{ExportItem, ImportKind, ValType};

use crate::system_api::import_signature;

pub const TABLE_EXPORT: &str = "__localnet_table";
pub const GLOBAL_EXPORT_PREFIX: &str = "__localnet_global_";
/// The IC's limits on a Wasm module.
pub const MAX_WASM_MODULE_BYTES: usize = 100 * 1024 * 1024;
pub const MAX_METHOD_EXPORTS: usize = 1000;
pub const MAX_EXPORTED_NAME_BYTES: usize = 20_000;
pub const MAX_GLOBALS: usize = 1000;
pub const MAX_FUNCTIONS: usize = 50_000;

/// A validated, rewritten canister module.
#[derive(Clone, Debug)]
pub struct PreparedModule {
    /// The rewritten Wasm that gets compiled.
    pub wasm: Vec<u8>,
    /// SHA-256 of the module as installed (compressed if it was), as `canister_status` reports.
    pub module_hash: [u8; 32],
    /// Size of the installed bytes.
    pub installed_size: usize,
    pub update_methods: BTreeSet<String>,
    pub query_methods: BTreeSet<String>,
    pub composite_query_methods: BTreeSet<String>,
    pub has_init: bool,
    pub has_pre_upgrade: bool,
    pub has_post_upgrade: bool,
    pub has_inspect_message: bool,
    pub has_heartbeat: bool,
    pub has_global_timer: bool,
    pub mutable_globals: usize,
    pub has_start: bool,
    /// `icp:public <name>` / `icp:private <name>` custom sections.
    pub metadata: BTreeMap<String, (bool, Vec<u8>)>,
    /// Bytes the `icp:` custom sections take, counted as the replica does: name length + 1 + content.
    pub custom_sections_size: u64,
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Decompresses a gzipped module (magic 1f 8b 08), enforcing the IC's size limit.
pub fn decompress(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.len() > MAX_WASM_MODULE_BYTES {
        return Err(format!("Wasm module is {} bytes; the limit is {MAX_WASM_MODULE_BYTES}", bytes.len()));
    }
    if bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_WASM_MODULE_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("Failed to decode the gzipped Wasm module: {e}"))?;
        if out.len() > MAX_WASM_MODULE_BYTES {
            return Err(format!("decompressed Wasm module exceeds {MAX_WASM_MODULE_BYTES} bytes"));
        }
        Ok(out)
    } else if bytes.starts_with(b"\0asm") {
        Ok(bytes.to_vec())
    } else {
        Err("Wasm module is neither a Wasm binary nor gzip-compressed Wasm (bad magic bytes)".into())
    }
}

struct TableMutationFinder(Option<&'static str>);

impl<'i> Visitor<'i> for TableMutationFinder {
    fn visit_instr(&mut self, instr: &'i Instr, _: &'i InstrLocId) {
        let found = match instr {
            Instr::TableSet(_) => "table.set",
            Instr::TableGrow(_) => "table.grow",
            Instr::TableFill(_) => "table.fill",
            Instr::TableInit(_) => "table.init",
            Instr::TableCopy(_) => "table.copy",
            _ => return,
        };
        self.0.get_or_insert(found);
    }
}

fn val(t: &ValType) -> char {
    match t {
        ValType::I32 => 'i',
        ValType::I64 => 'I',
        ValType::F32 => 'f',
        ValType::F64 => 'F',
        _ => '?',
    }
}

/// Validates `installed` (raw or gzipped Wasm) and rewrites it for execution.
pub fn prepare(installed: &[u8]) -> Result<PreparedModule, String> {
    let raw = decompress(installed)?;
    let mut module = walrus::Module::from_buffer(&raw).map_err(|e| format!("Wasm module is invalid: {e:#}"))?;

    if module.memories.iter().count() > 1 {
        return Err("Wasm module defines more than one memory".into());
    }
    if module.memories.iter().any(|m| m.memory64) {
        return Err("Wasm module uses a 64-bit memory; localnet runs wasm32 canisters only".into());
    }
    if module.tables.iter().count() > 1 {
        return Err("Wasm module defines more than one table".into());
    }
    if module.globals.iter().count() > MAX_GLOBALS {
        return Err(format!("Wasm module defines more than {MAX_GLOBALS} globals"));
    }
    if module.funcs.iter().count() > MAX_FUNCTIONS {
        return Err(format!("Wasm module defines more than {MAX_FUNCTIONS} functions"));
    }

    for import in module.imports.iter() {
        let ImportKind::Function(fid) = import.kind else {
            return Err(format!(
                "Wasm module has an invalid import section. Module imports '{}' from '{}', but only functions from 'ic0' can be imported.",
                import.name, import.module
            ));
        };
        let ty = module.types.get(module.funcs.get(fid).ty());
        let sig: String =
            ty.params().iter().map(val).chain(std::iter::once('>')).chain(ty.results().iter().map(val)).collect();
        match (import.module.as_str(), import_signature(&import.name)) {
            ("ic0", Some(expected)) if expected == sig => {}
            ("ic0", Some(expected)) => {
                return Err(format!(
                    "Wasm module has an invalid import section. Module imports function '{}' from 'ic0' with signature {sig}, expected {expected}.",
                    import.name
                ))
            }
            _ => {
                return Err(format!(
                    "Wasm module has an invalid import section. Module imports function '{}' from '{}' that is not exported by the runtime.",
                    import.name, import.module
                ))
            }
        }
    }

    let mut finder = TableMutationFinder(None);
    for (_, f) in module.funcs.iter_local() {
        walrus::ir::dfs_in_order(&mut finder, f, f.entry_block());
        if let Some(op) = finder.0 {
            return Err(format!(
                "Wasm module uses `{op}`; localnet keeps the function table immutable (rollback does not restore tables)"
            ));
        }
    }

    let mut prepared = PreparedModule {
        wasm: Vec::new(),
        module_hash: sha256(installed),
        installed_size: installed.len(),
        update_methods: BTreeSet::new(),
        query_methods: BTreeSet::new(),
        composite_query_methods: BTreeSet::new(),
        has_init: false,
        has_pre_upgrade: false,
        has_post_upgrade: false,
        has_inspect_message: false,
        has_heartbeat: false,
        has_global_timer: false,
        mutable_globals: 0,
        has_start: module.start.is_some(),
        metadata: BTreeMap::new(),
        custom_sections_size: 0,
    };
    let mut name_bytes = 0;
    for export in module.exports.iter() {
        let name = export.name.as_str();
        let is_func = matches!(export.item, ExportItem::Function(_));
        let method = |prefix: &str| name.strip_prefix(prefix).map(str::to_string);
        if let Some(m) = method("canister_update ") {
            prepared.update_methods.insert(m);
        } else if let Some(m) = method("canister_query ") {
            prepared.query_methods.insert(m);
        } else if let Some(m) = method("canister_composite_query ") {
            prepared.composite_query_methods.insert(m);
        } else {
            match name {
                "canister_init" => prepared.has_init = true,
                "canister_pre_upgrade" => prepared.has_pre_upgrade = true,
                "canister_post_upgrade" => prepared.has_post_upgrade = true,
                "canister_inspect_message" => prepared.has_inspect_message = true,
                "canister_heartbeat" => prepared.has_heartbeat = true,
                "canister_global_timer" => prepared.has_global_timer = true,
                "canister_on_low_wasm_memory" => {}
                n if n.starts_with("canister_") => {
                    return Err(format!("Wasm module exports a function with a reserved name: '{n}'"))
                }
                n if n.starts_with("__localnet_") => {
                    return Err(format!("Wasm module exports the name '{n}', which localnet reserves"))
                }
                _ => continue,
            }
        }
        if !is_func {
            return Err(format!("Wasm module exports '{name}', which is not a function"));
        }
        name_bytes += name.len();
    }
    let methods =
        prepared.update_methods.len() + prepared.query_methods.len() + prepared.composite_query_methods.len();
    if methods > MAX_METHOD_EXPORTS {
        return Err(format!("Wasm module exports {methods} methods; the limit is {MAX_METHOD_EXPORTS}"));
    }
    if name_bytes > MAX_EXPORTED_NAME_BYTES {
        return Err(format!("Wasm module's exported names take {name_bytes} bytes; the limit is {MAX_EXPORTED_NAME_BYTES}"));
    }
    for m in &prepared.update_methods {
        if prepared.query_methods.contains(m) || prepared.composite_query_methods.contains(m) {
            return Err(format!("Wasm module exports method '{m}' as both update and query"));
        }
    }

    for (_, section) in module.customs.iter() {
        let name = section.name();
        let data = section.data(&Default::default()).to_vec();
        if name.starts_with("icp:") {
            prepared.custom_sections_size += name.len() as u64 + 1 + data.len() as u64;
        }
        if let Some(n) = name.strip_prefix("icp:public ") {
            prepared.metadata.insert(n.to_string(), (true, data));
        } else if let Some(n) = name.strip_prefix("icp:private ") {
            prepared.metadata.insert(n.to_string(), (false, data));
        }
    }

    // Export what rollback and callbacks need.
    if let Some(table) = module.tables.iter().next().map(|t| t.id()) {
        module.exports.add(TABLE_EXPORT, table);
    }
    let mutable: Vec<_> = module.globals.iter().filter(|g| g.mutable).map(|g| g.id()).collect();
    for (i, id) in mutable.iter().enumerate() {
        module.exports.add(&format!("{GLOBAL_EXPORT_PREFIX}{i}"), *id);
    }
    prepared.mutable_globals = mutable.len();
    prepared.wasm = module.emit_wasm();
    Ok(prepared)
}
