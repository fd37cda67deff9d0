//! State on disk: [`LocalNet::save_state`](crate::LocalNet::save_state) writes the whole net
//! into a directory and [`LocalNetBuilder::load_state`](crate::LocalNetBuilder::load_state)
//! reads it back, so a long-running server keeps a developer's network across restarts.
//!
//! Layout (format `localnet-state`, version [`FORMAT_VERSION`]):
//!
//! ```text
//! <dir>/manifest.json                  format name, format version, engine version, canister ids (written last)
//! <dir>/net.cbor                       time, ids, round, rng, queue, call contexts, callbacks, deadlines, ingress
//! <dir>/modules/<sha256>.wasm          every installed or snapshotted module once, as installed
//! <dir>/canisters/<id>/canister.cbor   everything else about the canister (settings, cycles, logs, chunks, ...)
//! <dir>/canisters/<id>/heap.bin        the committed Wasm heap, raw
//! <dir>/canisters/<id>/stable.bin      stable memory, raw (all-zero pages are holes)
//! <dir>/canisters/<id>/snapshots/<n>/{heap,stable}.bin
//! ```
//!
//! A save writes a sibling directory `.<name>.saving`, syncs it, and swaps it with `<dir>` in
//! one `renameat2(RENAME_EXCHANGE)` (where the file system cannot, `<dir>` is first renamed to
//! `.<name>.previous`, which a load falls back to if the second rename never happened). A crash
//! therefore leaves either the previous state or the new one, never a mix.
//!
//! Loading rebuilds each instance from its module and then overwrites heap, mutable globals and
//! stable memory with the saved ones, as `load_canister_snapshot` does: no `canister_init`,
//! `canister_post_upgrade` or other canister hook runs. Loading writes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candid::Principal;
use ic_management_canister_types::LogVisibility;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::instance::WasmInstance;
use crate::net::{
    CallContext, Callback, Canister, IngressStatus, Message, Net, Origin, Reject, Rng, Scheduling, Settings, SnapshotData,
};
use crate::stable::{StableMemory, MAX_STABLE_PAGES, WASM_PAGE};
use crate::system_api::{ApiType, OutgoingCall};
use crate::types::*;
use crate::wasm::PreparedModule;
use crate::{LocalNet, LocalNetBuilder};

/// The format name in `manifest.json`.
pub const FORMAT_NAME: &str = "localnet-state";
/// Bumped whenever the layout or the metadata changes incompatibly; a state with another
/// version is refused ([`StateError::Version`]).
pub const FORMAT_VERSION: u32 = 1;
const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

const MANIFEST: &str = "manifest.json";
const NET_FILE: &str = "net.cbor";
const MODULES_DIR: &str = "modules";
const CANISTERS_DIR: &str = "canisters";
const CANISTER_FILE: &str = "canister.cbor";
const SNAPSHOTS_DIR: &str = "snapshots";
const HEAP_FILE: &str = "heap.bin";
const STABLE_FILE: &str = "stable.bin";
const PAGE: usize = WASM_PAGE as usize;

// ------------------------------------------------------------------------------ errors

/// Why a state could not be saved or loaded. Every variant names the file or directory.
#[derive(Debug)]
pub enum StateError {
    /// The directory does not exist or is empty: there is no saved state (start a fresh net).
    NotFound { dir: PathBuf },
    /// Reading or writing `path` failed.
    Io { path: PathBuf, action: &'static str, source: io::Error },
    /// `path` is not a valid part of a saved state: unparseable, inconsistent, of the wrong
    /// size, or not matching its recorded SHA-256.
    Corrupt { path: PathBuf, reason: String },
    /// `path` is shorter than the size the metadata records.
    Truncated { path: PathBuf, expected: u64, found: u64 },
    /// The state was written in another format version.
    Version { path: PathBuf, found: u32, expected: u32, engine: String },
    /// A saved module is not the module recorded, or does not load any more.
    Module { path: PathBuf, canister: Option<Principal>, reason: String },
    /// `save_state` refuses to replace `dir`: it holds files and is not a saved state.
    NotAState { dir: PathBuf },
    /// Something in the net cannot be written faithfully; nothing was written.
    Unsavable { reason: String },
}

impl StateError {
    /// True when there is simply no saved state (missing or empty directory).
    pub fn is_not_found(&self) -> bool {
        matches!(self, StateError::NotFound { .. })
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::NotFound { dir } => write!(f, "no saved localnet state in {} (missing or empty)", dir.display()),
            StateError::Io { path, action, source } => write!(f, "{}: {action} failed: {source}", path.display()),
            StateError::Corrupt { path, reason } => write!(f, "{}: corrupt localnet state: {reason}", path.display()),
            StateError::Truncated { path, expected, found } => write!(
                f,
                "{}: truncated: {found} bytes where the saved state records {expected}",
                path.display()
            ),
            StateError::Version { path, found, expected, engine } => write!(
                f,
                "{}: the state has format version {found} (written by localnet {engine}); this localnet {ENGINE_VERSION} reads version {expected} only",
                path.display()
            ),
            StateError::Module { path, canister: Some(c), reason } => {
                write!(f, "{}: the module of canister {c} cannot be restored: {reason}", path.display())
            }
            StateError::Module { path, canister: None, reason } => {
                write!(f, "{}: module cannot be restored: {reason}", path.display())
            }
            StateError::NotAState { dir } => write!(
                f,
                "{} holds files but no {MANIFEST}: it is not a localnet state, so it is not replaced",
                dir.display()
            ),
            StateError::Unsavable { reason } => write!(f, "the localnet state cannot be saved: {reason}"),
        }
    }
}

impl std::error::Error for StateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StateError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io_err<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(io::Error) -> StateError + 'a {
    move |source| StateError::Io { path: path.to_path_buf(), action, source }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> StateError {
    StateError::Corrupt { path: path.to_path_buf(), reason: reason.into() }
}

type Result<T> = std::result::Result<T, StateError>;

// ------------------------------------------------------------------------------ saved form

/// u128 as 16 big-endian bytes (CBOR has no native u128).
mod u128_be {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&v.to_be_bytes())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let b = serde_bytes::ByteBuf::deserialize(d)?;
        let a: [u8; 16] = b.as_slice().try_into().map_err(|_| D::Error::custom("a u128 must be 16 bytes"))?;
        Ok(u128::from_be_bytes(a))
    }
}

#[derive(Serialize, Deserialize)]
struct ManifestHeader {
    format: String,
    version: u32,
    #[serde(default)]
    engine: String,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    /// The localnet crate version that wrote the state (informational).
    engine: String,
    /// Canister ids (text), in order; each has `canisters/<id>/`.
    canisters: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
enum SavedVal {
    I32(i32),
    I64(i64),
    /// Bit pattern.
    F32(u32),
    /// Bit pattern.
    F64(u64),
    V128(#[serde(with = "u128_be")] u128),
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
enum SavedOrigin {
    Ingress(u64),
    Canister { canister: Principal, callback: u64 },
    System,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedReject {
    code: u32,
    message: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
enum SavedResult {
    Reply(#[serde(with = "serde_bytes")] Vec<u8>),
    Reject(SavedReject),
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
enum SavedMessage {
    Request {
        from: Principal,
        to: Principal,
        method: String,
        #[serde(with = "serde_bytes")]
        arg: Vec<u8>,
        #[serde(with = "u128_be")]
        cycles: u128,
        origin: SavedOrigin,
        deadline: u64,
        root: Option<u64>,
    },
    Response {
        callback: u64,
        result: SavedResult,
        #[serde(with = "u128_be")]
        refund: u128,
    },
    GlobalTimer(Principal),
    Heartbeat(Principal),
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedCallContext {
    id: u64,
    canister: Principal,
    origin: SavedOrigin,
    caller: Principal,
    responded: bool,
    outstanding: u32,
    #[serde(with = "u128_be")]
    available_cycles: u128,
    deadline: u64,
    instructions: u64,
    root: Option<u64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedOutgoingCall {
    callee: Principal,
    method: String,
    #[serde(with = "serde_bytes")]
    payload: Vec<u8>,
    #[serde(with = "u128_be")]
    cycles: u128,
    reply: (u32, u32),
    reject: (u32, u32),
    cleanup: Option<(u32, u32)>,
    timeout_seconds: Option<u32>,
    #[serde(with = "u128_be")]
    reserved_fee: u128,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedCallback {
    id: u64,
    owner: Principal,
    call_context: u64,
    call: SavedOutgoingCall,
    deadline: Option<u64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedRejectResponse {
    reject_code: u32,
    reject_message: String,
    error_code: u32,
    certified: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
enum SavedIngress {
    Pending,
    Reply(#[serde(with = "serde_bytes")] Vec<u8>),
    Reject(SavedRejectResponse),
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedNet {
    time: u64,
    round: u64,
    next_canister_id: u64,
    next_id: u64,
    /// The last ingress message id handed out by `LocalNet`.
    next_ingress: u64,
    /// `Some(seed)` for a seeded net.
    seed: Option<u64>,
    rng: u64,
    queue: Vec<SavedMessage>,
    call_contexts: Vec<SavedCallContext>,
    callbacks: Vec<SavedCallback>,
    deadlines: Vec<(u64, u64)>,
    ingress: Vec<(u64, SavedIngress)>,
    last_callback_errors: Vec<(u64, SavedReject)>,
    /// The next id to try in each subnet's range, by subnet index; absent in states saved
    /// before subnets existed, which load as one subnet (`next_canister_id` above).
    #[serde(default)]
    subnet_next_canister_ids: Vec<u64>,
    /// Cross-subnet messages in flight: (arrival round, message).
    #[serde(default)]
    xnet: Vec<(u64, SavedMessage)>,
    /// Canisters allowed to address a subnet's management canister by its id.
    #[serde(default)]
    subnet_addressing: Vec<Principal>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
enum SavedLogVisibility {
    Controllers,
    Public,
    AllowedViewers(Vec<Principal>),
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedSettings {
    compute_allocation: u64,
    memory_allocation: u64,
    freezing_threshold: u64,
    #[serde(with = "u128_be")]
    reserved_cycles_limit: u128,
    log_visibility: SavedLogVisibility,
    log_memory_limit: u64,
    wasm_memory_limit: u64,
    wasm_memory_threshold: u64,
    env_vars: Vec<(String, String)>,
}

/// A raw memory file: its size in bytes and the SHA-256 of its contents.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedMemory {
    size: u64,
    sha256: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedCode {
    /// SHA-256 (hex) of the installed module: `modules/<sha256>.wasm`.
    module: String,
    heap: SavedMemory,
    globals: Vec<SavedVal>,
    stable: SavedMemory,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedSnapshot {
    #[serde(with = "serde_bytes")]
    id: Vec<u8>,
    taken_at: u64,
    code: SavedCode,
    #[serde(with = "serde_bytes")]
    certified_data: Vec<u8>,
    global_timer: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedLog {
    idx: u64,
    timestamp_nanos: u64,
    #[serde(with = "serde_bytes")]
    content: Vec<u8>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedChunk {
    #[serde(with = "serde_bytes")]
    hash: Vec<u8>,
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
enum SavedStatus {
    Running,
    Stopping,
    Stopped,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SavedCanister {
    id: Principal,
    controllers: Vec<Principal>,
    status: SavedStatus,
    #[serde(with = "u128_be")]
    balance: u128,
    settings: SavedSettings,
    /// `None` for a canister without code; heap and stable memory are in `heap.bin` / `stable.bin`.
    code: Option<SavedCode>,
    version: u64,
    #[serde(with = "serde_bytes")]
    certified_data: Vec<u8>,
    global_timer: u64,
    timer_queued: bool,
    logs: Vec<SavedLog>,
    next_log_idx: u64,
    chunk_store: Vec<SavedChunk>,
    /// In order; snapshot `n` has `snapshots/<n>/heap.bin` and `stable.bin`.
    snapshots: Vec<SavedSnapshot>,
    next_snapshot: u64,
    open_call_contexts: u64,
    storage_charged_at: u64,
    stop_waiters: Vec<(SavedOrigin, u64)>,
    query_calls: u64,
    query_instructions: u64,
    /// The subnet index (0 in states saved before subnets existed).
    #[serde(default)]
    subnet: u32,
}

// ------------------------------------------------------------------------------ conversions

/// Lists every `ErrorCode` once: `error_code_from_u32` needs them all, and the exhaustive
/// match makes adding a variant without listing it here a compile error.
macro_rules! error_codes {
    ($($v:ident),* $(,)?) => {
        const ALL_ERROR_CODES: &[ErrorCode] = &[$(ErrorCode::$v),*];
        #[allow(dead_code)]
        fn error_code_is_listed(c: ErrorCode) {
            match c { $(ErrorCode::$v)|* => {} }
        }
    };
}

error_codes!(
    MaxNumberOfCanistersReached,
    CanisterQueueFull,
    CanisterOutOfCycles,
    StopCanisterRequestTimeout,
    CanisterNotFound,
    CanisterSnapshotNotFound,
    InsufficientCyclesForCreateCanister,
    CanisterRejectedMessage,
    UnknownManagementMessage,
    InvalidManagementPayload,
    CanisterTrapped,
    CanisterCalledTrap,
    CanisterContractViolation,
    CanisterInvalidWasm,
    CanisterDidNotReply,
    CanisterOutOfMemory,
    CanisterStopped,
    CanisterStopping,
    CanisterNotStopped,
    CanisterStoppingCancelled,
    CanisterInvalidController,
    CanisterNonEmpty,
    InsufficientCyclesInCall,
    CanisterInstructionLimitExceeded,
    CompositeQueryCalledInReplicatedMode,
    CanisterMethodNotFound,
    CanisterWasmModuleNotFound,
    CanisterWasmMemoryLimitExceeded,
    CanisterRejectedByCode,
    DeadlineExpired,
    ResponseDropped,
);

fn error_code_from_u32(n: u32) -> Option<ErrorCode> {
    ALL_ERROR_CODES.iter().copied().find(|c| *c as u32 == n)
}

/// Turns a problem found in a metadata file into an error that names the file.
struct Decoder<'a> {
    path: &'a Path,
}

impl Decoder<'_> {
    fn error_code(&self, n: u32) -> Result<ErrorCode> {
        error_code_from_u32(n).ok_or_else(|| corrupt(self.path, format!("unknown error code {n}")))
    }

    fn reject(&self, r: &SavedReject) -> Result<Reject> {
        Ok(Reject::new(self.error_code(r.code)?, r.message.clone()))
    }

    fn reject_response(&self, r: &SavedRejectResponse) -> Result<RejectResponse> {
        let reject_code = RejectCode::from_u32(r.reject_code)
            .ok_or_else(|| corrupt(self.path, format!("unknown reject code {}", r.reject_code)))?;
        Ok(RejectResponse {
            reject_code,
            reject_message: r.reject_message.clone(),
            error_code: self.error_code(r.error_code)?,
            certified: r.certified,
        })
    }
}

fn save_reject(r: &Reject) -> SavedReject {
    SavedReject { code: r.code as u32, message: r.message.clone() }
}

fn save_origin(o: &Origin) -> SavedOrigin {
    match *o {
        Origin::Ingress(id) => SavedOrigin::Ingress(id.0),
        Origin::Canister { canister, callback } => SavedOrigin::Canister { canister, callback },
        Origin::System => SavedOrigin::System,
    }
}

fn load_origin(o: &SavedOrigin) -> Origin {
    match *o {
        SavedOrigin::Ingress(id) => Origin::Ingress(RawMessageId(id)),
        SavedOrigin::Canister { canister, callback } => Origin::Canister { canister, callback },
        SavedOrigin::System => Origin::System,
    }
}

fn save_message(m: &Message) -> SavedMessage {
    match m {
        Message::Request { from, to, method, arg, cycles, origin, deadline, root } => SavedMessage::Request {
            from: *from,
            to: *to,
            method: method.clone(),
            arg: arg.clone(),
            cycles: *cycles,
            origin: save_origin(origin),
            deadline: *deadline,
            root: root.map(|r| r.0),
        },
        Message::Response { callback, result, refund } => SavedMessage::Response {
            callback: *callback,
            result: match result {
                Ok(b) => SavedResult::Reply(b.clone()),
                Err(r) => SavedResult::Reject(save_reject(r)),
            },
            refund: *refund,
        },
        Message::GlobalTimer(c) => SavedMessage::GlobalTimer(*c),
        Message::Heartbeat(c) => SavedMessage::Heartbeat(*c),
    }
}

fn load_message(d: &Decoder, m: &SavedMessage) -> Result<Message> {
    Ok(match m {
        SavedMessage::Request { from, to, method, arg, cycles, origin, deadline, root } => Message::Request {
            from: *from,
            to: *to,
            method: method.clone(),
            arg: arg.clone(),
            cycles: *cycles,
            origin: load_origin(origin),
            deadline: *deadline,
            root: root.map(RawMessageId),
        },
        SavedMessage::Response { callback, result, refund } => Message::Response {
            callback: *callback,
            result: match result {
                SavedResult::Reply(b) => Ok(b.clone()),
                SavedResult::Reject(r) => Err(d.reject(r)?),
            },
            refund: *refund,
        },
        SavedMessage::GlobalTimer(c) => Message::GlobalTimer(*c),
        SavedMessage::Heartbeat(c) => Message::Heartbeat(*c),
    })
}

fn save_call(c: &OutgoingCall) -> SavedOutgoingCall {
    SavedOutgoingCall {
        callee: c.callee,
        method: c.method.clone(),
        payload: c.payload.clone(),
        cycles: c.cycles,
        reply: c.reply,
        reject: c.reject,
        cleanup: c.cleanup,
        timeout_seconds: c.timeout_seconds,
        reserved_fee: c.reserved_fee,
    }
}

fn load_call(c: &SavedOutgoingCall) -> OutgoingCall {
    OutgoingCall {
        callee: c.callee,
        method: c.method.clone(),
        payload: c.payload.clone(),
        cycles: c.cycles,
        reply: c.reply,
        reject: c.reject,
        cleanup: c.cleanup,
        timeout_seconds: c.timeout_seconds,
        reserved_fee: c.reserved_fee,
    }
}

fn save_val(v: &wasmtime::Val, canister: Principal, i: usize) -> Result<SavedVal> {
    Ok(match v {
        wasmtime::Val::I32(x) => SavedVal::I32(*x),
        wasmtime::Val::I64(x) => SavedVal::I64(*x),
        wasmtime::Val::F32(bits) => SavedVal::F32(*bits),
        wasmtime::Val::F64(bits) => SavedVal::F64(*bits),
        wasmtime::Val::V128(x) => SavedVal::V128(x.as_u128()),
        _ => {
            return Err(StateError::Unsavable {
                reason: format!("mutable global {i} of canister {canister} holds a reference, which has no value on disk"),
            })
        }
    })
}

fn load_val(v: SavedVal) -> wasmtime::Val {
    match v {
        SavedVal::I32(x) => wasmtime::Val::I32(x),
        SavedVal::I64(x) => wasmtime::Val::I64(x),
        SavedVal::F32(bits) => wasmtime::Val::F32(bits),
        SavedVal::F64(bits) => wasmtime::Val::F64(bits),
        SavedVal::V128(x) => wasmtime::Val::V128(x.into()),
    }
}

fn same_type(saved: &SavedVal, v: &wasmtime::Val) -> bool {
    matches!(
        (saved, v),
        (SavedVal::I32(_), wasmtime::Val::I32(_))
            | (SavedVal::I64(_), wasmtime::Val::I64(_))
            | (SavedVal::F32(_), wasmtime::Val::F32(_))
            | (SavedVal::F64(_), wasmtime::Val::F64(_))
            | (SavedVal::V128(_), wasmtime::Val::V128(_))
    )
}

fn save_settings(s: &Settings) -> SavedSettings {
    SavedSettings {
        compute_allocation: s.compute_allocation,
        memory_allocation: s.memory_allocation,
        freezing_threshold: s.freezing_threshold,
        reserved_cycles_limit: s.reserved_cycles_limit,
        log_visibility: match &s.log_visibility {
            LogVisibility::Controllers => SavedLogVisibility::Controllers,
            LogVisibility::Public => SavedLogVisibility::Public,
            LogVisibility::AllowedViewers(v) => SavedLogVisibility::AllowedViewers(v.clone()),
        },
        log_memory_limit: s.log_memory_limit,
        wasm_memory_limit: s.wasm_memory_limit,
        wasm_memory_threshold: s.wasm_memory_threshold,
        env_vars: s.env_vars.clone(),
    }
}

fn load_settings(s: &SavedSettings) -> Settings {
    Settings {
        compute_allocation: s.compute_allocation,
        memory_allocation: s.memory_allocation,
        freezing_threshold: s.freezing_threshold,
        reserved_cycles_limit: s.reserved_cycles_limit,
        log_visibility: match &s.log_visibility {
            SavedLogVisibility::Controllers => LogVisibility::Controllers,
            SavedLogVisibility::Public => LogVisibility::Public,
            SavedLogVisibility::AllowedViewers(v) => LogVisibility::AllowedViewers(v.clone()),
        },
        log_memory_limit: s.log_memory_limit,
        wasm_memory_limit: s.wasm_memory_limit,
        wasm_memory_threshold: s.wasm_memory_threshold,
        env_vars: s.env_vars.clone(),
    }
}

// ------------------------------------------------------------------------------ files

fn create_file(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(1 << 20, File::create(path).map_err(io_err(path, "creating"))?))
}

/// Flushes and syncs a file written through `create_file`.
fn finish_file(path: &Path, w: BufWriter<File>) -> Result<()> {
    let file = w.into_inner().map_err(|e| StateError::Io { path: path.to_path_buf(), action: "writing", source: e.into_error() })?;
    file.sync_all().map_err(io_err(path, "syncing"))
}

fn sync_dir(path: &Path) -> Result<()> {
    File::open(path).and_then(|d| d.sync_all()).map_err(io_err(path, "syncing the directory"))
}

fn create_dir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(io_err(path, "creating the directory"))
}

fn write_cbor<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut w = create_file(path)?;
    serde_cbor::to_writer(&mut w, value).map_err(|e| match e.classify() {
        serde_cbor::error::Category::Io => {
            StateError::Io { path: path.to_path_buf(), action: "writing", source: io::Error::other(e.to_string()) }
        }
        _ => StateError::Unsavable { reason: format!("{}: {e}", path.display()) },
    })?;
    finish_file(path, w)
}

fn read_cbor<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => corrupt(path, "the file is missing"),
        _ => StateError::Io { path: path.to_path_buf(), action: "opening", source: e },
    })?;
    serde_cbor::from_reader(BufReader::new(file)).map_err(|e| {
        if e.is_eof() {
            corrupt(path, format!("the file ends early (truncated): {e}"))
        } else if e.is_io() {
            StateError::Io { path: path.to_path_buf(), action: "reading", source: io::Error::other(e.to_string()) }
        } else {
            corrupt(path, format!("cannot be parsed: {e}"))
        }
    })
}

/// Opens a raw memory file and checks its length against the recorded size.
fn open_sized(path: &Path, expected: u64) -> Result<File> {
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => corrupt(path, "the file is missing"),
        _ => StateError::Io { path: path.to_path_buf(), action: "opening", source: e },
    })?;
    let found = file.metadata().map_err(io_err(path, "reading the size of"))?.len();
    if found < expected {
        return Err(StateError::Truncated { path: path.to_path_buf(), expected, found });
    }
    if found > expected {
        return Err(corrupt(path, format!("{found} bytes, but the saved state records {expected}")));
    }
    Ok(file)
}

fn check_digest(path: &Path, hasher: Sha256, expected: &str) -> Result<()> {
    let found = hex::encode(hasher.finalize());
    if found != expected {
        return Err(corrupt(path, format!("SHA-256 {found} does not match the recorded {expected}")));
    }
    Ok(())
}

fn write_heap(path: &Path, heap: &[u8]) -> Result<SavedMemory> {
    let mut w = create_file(path)?;
    let mut hasher = Sha256::new();
    for chunk in heap.chunks(1 << 20) {
        hasher.update(chunk);
        w.write_all(chunk).map_err(io_err(path, "writing"))?;
    }
    finish_file(path, w)?;
    Ok(SavedMemory { size: heap.len() as u64, sha256: hex::encode(hasher.finalize()) })
}

fn read_heap(path: &Path, m: &SavedMemory) -> Result<Vec<u8>> {
    if !m.size.is_multiple_of(WASM_PAGE) {
        return Err(corrupt(path, format!("heap size {} is not a whole number of 64 KiB Wasm pages", m.size)));
    }
    if m.size > 1 << 32 {
        return Err(corrupt(path, format!("heap size {} exceeds the 4 GiB of a wasm32 memory", m.size)));
    }
    let mut file = open_sized(path, m.size)?;
    let mut heap = vec![0u8; m.size as usize];
    let mut hasher = Sha256::new();
    for chunk in heap.chunks_mut(1 << 20) {
        file.read_exact(chunk).map_err(io_err(path, "reading"))?;
        hasher.update(&*chunk);
    }
    check_digest(path, hasher, &m.sha256)?;
    Ok(heap)
}

/// Streams stable memory page by page; all-zero pages become holes of a sparse file.
fn write_stable(path: &Path, stable: &StableMemory) -> Result<SavedMemory> {
    let mut w = create_file(path)?;
    let mut hasher = Sha256::new();
    let mut page = vec![0u8; PAGE];
    let mut hole = 0i64;
    for p in 0..stable.size_pages() {
        stable.read(p * WASM_PAGE, &mut page).expect("reading within the stable memory size");
        hasher.update(&page);
        if page.iter().all(|b| *b == 0) {
            hole += PAGE as i64;
            continue;
        }
        if hole > 0 {
            w.seek(SeekFrom::Current(hole)).map_err(io_err(path, "seeking in"))?;
            hole = 0;
        }
        w.write_all(&page).map_err(io_err(path, "writing"))?;
    }
    let file = w.into_inner().map_err(|e| StateError::Io { path: path.to_path_buf(), action: "writing", source: e.into_error() })?;
    file.set_len(stable.size_bytes()).map_err(io_err(path, "setting the size of"))?;
    file.sync_all().map_err(io_err(path, "syncing"))?;
    Ok(SavedMemory { size: stable.size_bytes(), sha256: hex::encode(hasher.finalize()) })
}

fn read_stable(path: &Path, m: &SavedMemory) -> Result<StableMemory> {
    if !m.size.is_multiple_of(WASM_PAGE) {
        return Err(corrupt(path, format!("stable memory size {} is not a whole number of 64 KiB pages", m.size)));
    }
    let pages = m.size / WASM_PAGE;
    let mut stable = StableMemory::default();
    if stable.grow(pages, MAX_STABLE_PAGES) < 0 {
        return Err(corrupt(path, format!("{pages} stable pages exceed the limit of {MAX_STABLE_PAGES}")));
    }
    let file = open_sized(path, m.size)?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut page = vec![0u8; PAGE];
    for p in 0..pages {
        r.read_exact(&mut page).map_err(io_err(path, "reading"))?;
        hasher.update(&page);
        if page.iter().any(|b| *b != 0) {
            stable.write(p * WASM_PAGE, &page).expect("writing within the stable memory size");
        }
    }
    check_digest(path, hasher, &m.sha256)?;
    Ok(stable)
}

// ------------------------------------------------------------------------------ save

/// Where a save writes before swapping, and where the previous state waits when the file
/// system cannot swap directories atomically.
struct Siblings {
    dir: PathBuf,
    parent: PathBuf,
    saving: PathBuf,
    previous: PathBuf,
}

fn siblings(dir: &Path) -> Result<Siblings> {
    let name = dir
        .file_name()
        .ok_or_else(|| corrupt(dir, "the state directory must end in a directory name (not `/`, `.` or `..`)"))?
        .to_string_lossy()
        .into_owned();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(Siblings {
        dir: dir.to_path_buf(),
        saving: parent.join(format!(".{name}.saving")),
        previous: parent.join(format!(".{name}.previous")),
        parent,
    })
}

fn is_empty_dir(path: &Path) -> Result<bool> {
    Ok(fs::read_dir(path).map_err(io_err(path, "listing"))?.next().is_none())
}

/// Writes `net` into `dir`, replacing a previous state there atomically.
pub(crate) fn save(net: &Net, next_ingress: u64, dir: &Path) -> Result<()> {
    let s = siblings(dir)?;
    if s.dir.exists() {
        if !s.dir.is_dir() {
            return Err(StateError::NotAState { dir: s.dir.clone() });
        }
        if !s.dir.join(MANIFEST).exists() && !is_empty_dir(&s.dir)? {
            return Err(StateError::NotAState { dir: s.dir.clone() });
        }
    }
    create_dir(&s.parent)?;
    // A leftover of a save that crashed (or the old state of a completed swap): never the only copy.
    if s.saving.exists() {
        fs::remove_dir_all(&s.saving).map_err(io_err(&s.saving, "removing a leftover of an interrupted save"))?;
    }
    create_dir(&s.saving)?;
    if let Err(e) = write_state(net, next_ingress, &s.saving) {
        let _ = fs::remove_dir_all(&s.saving);
        return Err(e);
    }
    sync_dir(&s.saving)?;
    swap_into_place(&s)
}

fn swap_into_place(s: &Siblings) -> Result<()> {
    if !s.dir.exists() {
        fs::rename(&s.saving, &s.dir).map_err(io_err(&s.dir, "renaming the new state into place"))?;
        sync_dir(&s.parent)?;
        if s.previous.exists() {
            fs::remove_dir_all(&s.previous).map_err(io_err(&s.previous, "removing the previous state"))?;
        }
        return Ok(());
    }
    if exchange(&s.saving, &s.dir).map_err(io_err(&s.dir, "swapping in the new state"))? {
        sync_dir(&s.parent)?;
        // `saving` now holds the previous state.
        return fs::remove_dir_all(&s.saving).map_err(io_err(&s.saving, "removing the previous state"));
    }
    swap_by_renames(s)
}

/// Where the file system cannot exchange directories: two renames; a load falls back to
/// `previous` if a crash comes between them.
fn swap_by_renames(s: &Siblings) -> Result<()> {
    if s.previous.exists() {
        fs::remove_dir_all(&s.previous).map_err(io_err(&s.previous, "removing an old previous state"))?;
    }
    fs::rename(&s.dir, &s.previous).map_err(io_err(&s.dir, "moving the previous state aside"))?;
    fs::rename(&s.saving, &s.dir).map_err(io_err(&s.dir, "renaming the new state into place"))?;
    sync_dir(&s.parent)?;
    fs::remove_dir_all(&s.previous).map_err(io_err(&s.previous, "removing the previous state"))
}

/// Atomically exchanges two directories; `Ok(false)` when the file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let cb = CString::new(b.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let r = unsafe { libc::renameat2(libc::AT_FDCWD, ca.as_ptr(), libc::AT_FDCWD, cb.as_ptr(), libc::RENAME_EXCHANGE) };
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> io::Result<bool> {
    Ok(false)
}

fn write_state(net: &Net, next_ingress: u64, root: &Path) -> Result<()> {
    let modules = root.join(MODULES_DIR);
    create_dir(&modules)?;
    let mut written_modules = BTreeSet::new();
    let mut ids = Vec::new();
    for c in net.canisters.values() {
        let dir = root.join(CANISTERS_DIR).join(c.id.to_text());
        create_dir(&dir)?;
        let saved = save_canister(c, &dir, &modules, &mut written_modules)?;
        write_cbor(&dir.join(CANISTER_FILE), &saved)?;
        sync_dir(&dir)?;
        ids.push(c.id.to_text());
    }
    sync_dir(&modules)?;
    if root.join(CANISTERS_DIR).exists() {
        sync_dir(&root.join(CANISTERS_DIR))?;
    }
    write_cbor(&root.join(NET_FILE), &save_net(net, next_ingress))?;
    // The manifest goes last: a directory with a manifest is complete.
    let manifest = Manifest {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        engine: ENGINE_VERSION.into(),
        canisters: ids,
    };
    let path = root.join(MANIFEST);
    let mut w = create_file(&path)?;
    serde_json::to_writer_pretty(&mut w, &manifest).map_err(|e| StateError::Io {
        path: path.clone(),
        action: "writing",
        source: io::Error::other(e),
    })?;
    w.write_all(b"\n").map_err(io_err(&path, "writing"))?;
    finish_file(&path, w)
}

fn save_net(net: &Net, next_ingress: u64) -> SavedNet {
    let mut call_contexts: Vec<SavedCallContext> = net
        .call_contexts
        .iter()
        .map(|(id, cc)| SavedCallContext {
            id: *id,
            canister: cc.canister,
            origin: save_origin(&cc.origin),
            caller: cc.caller,
            responded: cc.responded,
            outstanding: cc.outstanding,
            available_cycles: cc.available_cycles,
            deadline: cc.deadline,
            instructions: cc.instructions,
            root: cc.root.map(|r| r.0),
        })
        .collect();
    call_contexts.sort_by_key(|c| c.id);
    let mut callbacks: Vec<SavedCallback> = net
        .callbacks
        .iter()
        .map(|(id, cb)| SavedCallback {
            id: *id,
            owner: cb.owner,
            call_context: cb.call_context,
            call: save_call(&cb.call),
            deadline: cb.deadline,
        })
        .collect();
    callbacks.sort_by_key(|c| c.id);
    let mut ingress: Vec<(u64, SavedIngress)> = net
        .ingress
        .iter()
        .map(|(id, st)| {
            let s = match st {
                IngressStatus::Pending => SavedIngress::Pending,
                IngressStatus::Done(Ok(b)) => SavedIngress::Reply(b.clone()),
                IngressStatus::Done(Err(r)) => SavedIngress::Reject(SavedRejectResponse {
                    reject_code: r.reject_code as u32,
                    reject_message: r.reject_message.clone(),
                    error_code: r.error_code as u32,
                    certified: r.certified,
                }),
            };
            (id.0, s)
        })
        .collect();
    ingress.sort_by_key(|(id, _)| *id);
    let mut last_callback_errors: Vec<(u64, SavedReject)> =
        net.last_callback_error.iter().map(|(id, r)| (*id, save_reject(r))).collect();
    last_callback_errors.sort_by_key(|(id, _)| *id);
    SavedNet {
        time: net.time,
        round: net.round,
        next_canister_id: net.subnets[0].next_canister_id,
        next_id: net.next_id,
        next_ingress,
        seed: match net.scheduling {
            Scheduling::Seeded(s) => Some(s),
            Scheduling::Deterministic => None,
        },
        rng: net.rng.state(),
        queue: net.queue.iter().map(save_message).collect(),
        call_contexts,
        callbacks,
        deadlines: net.deadlines.iter().copied().collect(),
        ingress,
        last_callback_errors,
        subnet_next_canister_ids: net.subnets.iter().map(|s| s.next_canister_id).collect(),
        xnet: net.xnet.iter().map(|(at, m)| (*at, save_message(m))).collect(),
        subnet_addressing: net.subnet_addressing.iter().copied().collect(),
    }
}

/// Writes a module once per state (`modules/<sha256>.wasm`).
fn save_module(modules: &Path, written: &mut BTreeSet<String>, bytes: &[u8], hash: &[u8; 32]) -> Result<String> {
    let name = hex::encode(hash);
    if written.insert(name.clone()) {
        let path = modules.join(format!("{name}.wasm"));
        let mut w = create_file(&path)?;
        w.write_all(bytes).map_err(io_err(&path, "writing"))?;
        finish_file(&path, w)?;
    }
    Ok(name)
}

#[allow(clippy::too_many_arguments)]
fn save_code(
    canister: Principal,
    dir: &Path,
    modules: &Path,
    written: &mut BTreeSet<String>,
    module: &[u8],
    prepared: &PreparedModule,
    heap: &[u8],
    globals: &[wasmtime::Val],
    stable: &StableMemory,
) -> Result<SavedCode> {
    let globals = globals.iter().enumerate().map(|(i, g)| save_val(g, canister, i)).collect::<Result<Vec<_>>>()?;
    create_dir(dir)?;
    Ok(SavedCode {
        module: save_module(modules, written, module, &prepared.module_hash)?,
        heap: write_heap(&dir.join(HEAP_FILE), heap)?,
        globals,
        stable: write_stable(&dir.join(STABLE_FILE), stable)?,
    })
}

fn save_canister(c: &Canister, dir: &Path, modules: &Path, written: &mut BTreeSet<String>) -> Result<SavedCanister> {
    let code = match &c.instance {
        None => None,
        Some(inst) => {
            // The committed state: between executions, that is the whole state.
            let (heap, globals) = inst.committed_state();
            Some(save_code(c.id, dir, modules, written, &c.installed_module, &inst.prepared, &heap, &globals, inst.stable())?)
        }
    };
    let mut snapshots = Vec::new();
    for (n, s) in c.snapshots.iter().enumerate() {
        let sdir = dir.join(SNAPSHOTS_DIR).join(n.to_string());
        let code = save_code(c.id, &sdir, modules, written, &s.installed_module, &s.prepared, &s.heap, &s.globals, &s.stable)?;
        snapshots.push(SavedSnapshot {
            id: s.id.clone(),
            taken_at: s.taken_at,
            code,
            certified_data: s.certified_data.clone(),
            global_timer: s.global_timer,
        });
    }
    Ok(SavedCanister {
        id: c.id,
        controllers: c.controllers.clone(),
        status: match c.status {
            CanisterRunStatus::Running => SavedStatus::Running,
            CanisterRunStatus::Stopping => SavedStatus::Stopping,
            CanisterRunStatus::Stopped => SavedStatus::Stopped,
        },
        balance: c.balance,
        settings: save_settings(&c.settings),
        code,
        version: c.version,
        certified_data: c.certified_data.clone(),
        global_timer: c.global_timer,
        timer_queued: c.timer_queued,
        logs: c
            .logs
            .iter()
            .map(|l| SavedLog { idx: l.idx, timestamp_nanos: l.timestamp_nanos, content: l.content.clone() })
            .collect(),
        next_log_idx: c.next_log_idx,
        chunk_store: c.chunk_store.iter().map(|(h, d)| SavedChunk { hash: h.clone(), data: d.clone() }).collect(),
        snapshots,
        next_snapshot: c.next_snapshot,
        open_call_contexts: c.open_call_contexts,
        storage_charged_at: c.storage_charged_at,
        stop_waiters: c.stop_waiters.iter().map(|(o, t)| (save_origin(o), *t)).collect(),
        query_calls: c.query_calls,
        query_instructions: c.query_instructions,
        subnet: c.subnet as u32,
    })
}

// ------------------------------------------------------------------------------ load

/// Reads a state written by [`save`] into a net configured by `builder`.
pub(crate) fn load(builder: LocalNetBuilder, dir: &Path) -> Result<LocalNet> {
    let root = locate(dir)?;
    let manifest = read_manifest(&root.join(MANIFEST))?;
    let net_path = root.join(NET_FILE);
    let saved: SavedNet = read_cbor(&net_path)?;
    let scheduling = saved.seed.map(Scheduling::Seeded).unwrap_or(Scheduling::Deterministic);
    let mut net = Net::new(saved.time, scheduling);
    builder.configure(&mut net);
    restore_net(&mut net, &saved, &net_path)?;

    let mut modules = ModuleCache { dir: root.join(MODULES_DIR), loaded: HashMap::new() };
    for text in &manifest.canisters {
        let manifest_path = root.join(MANIFEST);
        let id = Principal::from_text(text)
            .map_err(|e| corrupt(&manifest_path, format!("canister id '{text}' is not a principal: {e}")))?;
        let cdir = root.join(CANISTERS_DIR).join(text);
        let c = load_canister(&net, &cdir, id, &mut modules)?;
        net.canisters.insert(id, c);
    }
    check_references(&net, &net_path)?;
    Ok(LocalNet::from_loaded(net, saved.next_ingress))
}

/// The directory to load: `dir`, or the previous state a save set aside just before a crash.
fn locate(dir: &Path) -> Result<PathBuf> {
    let s = siblings(dir)?;
    if s.dir.is_dir() {
        if is_empty_dir(&s.dir)? {
            return Err(StateError::NotFound { dir: s.dir });
        }
        return Ok(s.dir);
    }
    if s.dir.exists() {
        return Err(corrupt(&s.dir, "is not a directory"));
    }
    if s.previous.join(MANIFEST).is_file() {
        return Ok(s.previous);
    }
    Err(StateError::NotFound { dir: s.dir })
}

fn read_manifest(path: &Path) -> Result<Manifest> {
    let bytes = fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => {
            corrupt(path, "missing: the directory is not a localnet state, or a save of it never completed")
        }
        _ => StateError::Io { path: path.to_path_buf(), action: "reading", source: e },
    })?;
    let header: ManifestHeader =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(path, format!("cannot be parsed: {e}")))?;
    if header.format != FORMAT_NAME {
        return Err(corrupt(path, format!("format is '{}', not '{FORMAT_NAME}'", header.format)));
    }
    if header.version != FORMAT_VERSION {
        return Err(StateError::Version {
            path: path.to_path_buf(),
            found: header.version,
            expected: FORMAT_VERSION,
            engine: header.engine,
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| corrupt(path, format!("cannot be parsed: {e}")))
}

fn restore_net(net: &mut Net, s: &SavedNet, path: &Path) -> Result<()> {
    let d = Decoder { path };
    net.round = s.round;
    net.set_subnet_count(s.subnet_next_canister_ids.len());
    net.subnets[0].next_canister_id = s.next_canister_id;
    for (subnet, next) in net.subnets.iter_mut().zip(&s.subnet_next_canister_ids) {
        subnet.next_canister_id = *next;
    }
    net.xnet = s.xnet.iter().map(|(at, m)| Ok((*at, load_message(&d, m)?))).collect::<Result<VecDeque<_>>>()?;
    net.subnet_addressing = s.subnet_addressing.iter().copied().collect();
    net.next_id = s.next_id;
    net.rng = Rng::from_state(s.rng);
    net.queue = s.queue.iter().map(|m| load_message(&d, m)).collect::<Result<VecDeque<_>>>()?;
    for cc in &s.call_contexts {
        net.call_contexts.insert(
            cc.id,
            CallContext {
                canister: cc.canister,
                origin: load_origin(&cc.origin),
                caller: cc.caller,
                responded: cc.responded,
                outstanding: cc.outstanding,
                available_cycles: cc.available_cycles,
                deadline: cc.deadline,
                instructions: cc.instructions,
                root: cc.root.map(RawMessageId),
            },
        );
    }
    for cb in &s.callbacks {
        net.callbacks.insert(
            cb.id,
            Callback { owner: cb.owner, call_context: cb.call_context, call: load_call(&cb.call), deadline: cb.deadline },
        );
    }
    net.count_callbacks();
    net.deadlines = s.deadlines.iter().copied().collect();
    for (id, st) in &s.ingress {
        let st = match st {
            SavedIngress::Pending => IngressStatus::Pending,
            SavedIngress::Reply(b) => IngressStatus::Done(Ok(b.clone())),
            SavedIngress::Reject(r) => IngressStatus::Done(Err(d.reject_response(r)?)),
        };
        net.ingress.insert(RawMessageId(*id), st);
    }
    for (id, r) in &s.last_callback_errors {
        net.last_callback_error.insert(*id, d.reject(r)?);
    }
    Ok(())
}

/// The engine relies on these links (a live callback has its call context, a call context
/// its canister); a state that breaks them is refused rather than left to panic later.
fn check_references(net: &Net, path: &Path) -> Result<()> {
    for (id, cc) in &net.call_contexts {
        if !net.canisters.contains_key(&cc.canister) {
            return Err(corrupt(path, format!("call context {id} belongs to unknown canister {}", cc.canister)));
        }
    }
    for (id, cb) in &net.callbacks {
        if !net.call_contexts.contains_key(&cb.call_context) {
            return Err(corrupt(path, format!("callback {id} refers to unknown call context {}", cb.call_context)));
        }
        if net.canisters.get(&cb.owner).is_none_or(|c| c.instance.is_none()) {
            return Err(corrupt(path, format!("callback {id} belongs to {}, which has no code", cb.owner)));
        }
    }
    Ok(())
}

struct ModuleCache {
    dir: PathBuf,
    loaded: HashMap<String, (Arc<Vec<u8>>, Arc<PreparedModule>)>,
}

impl ModuleCache {
    /// The module `modules/<hash>.wasm`, checked against its hash and prepared once.
    fn get(&mut self, hash: &str, canister: Principal) -> Result<(Arc<Vec<u8>>, Arc<PreparedModule>)> {
        if let Some(m) = self.loaded.get(hash) {
            return Ok(m.clone());
        }
        let path = self.dir.join(format!("{hash}.wasm"));
        let module_err = |reason: String| StateError::Module { path: path.clone(), canister: Some(canister), reason };
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(module_err(format!("'{hash}' is not a SHA-256 in hex")));
        }
        let bytes = fs::read(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => module_err("the module file is missing".into()),
            _ => StateError::Io { path: path.clone(), action: "reading", source: e },
        })?;
        let found = hex::encode(crate::wasm::sha256(&bytes));
        if found != hash {
            return Err(module_err(format!("its SHA-256 is {found}, not the {hash} recorded")));
        }
        let prepared = crate::wasm::prepare(&bytes).map_err(module_err)?;
        let entry = (Arc::new(bytes), Arc::new(prepared));
        self.loaded.insert(hash.to_string(), entry.clone());
        Ok(entry)
    }
}

fn load_canister(net: &Net, dir: &Path, id: Principal, modules: &mut ModuleCache) -> Result<Canister> {
    let path = dir.join(CANISTER_FILE);
    let s: SavedCanister = read_cbor(&path)?;
    if s.id != id {
        return Err(corrupt(&path, format!("holds canister {}, not {id}", s.id)));
    }
    let logs: VecDeque<CanisterLogRecord> = s
        .logs
        .iter()
        .map(|l| CanisterLogRecord { idx: l.idx, timestamp_nanos: l.timestamp_nanos, content: l.content.clone() })
        .collect();
    let mut snapshots = Vec::new();
    for (n, snap) in s.snapshots.iter().enumerate() {
        let sdir = dir.join(SNAPSHOTS_DIR).join(n.to_string());
        let (module, prepared) = modules.get(&snap.code.module, id)?;
        check_globals(&sdir.join(CANISTER_FILE), &snap.code.globals, prepared.mutable_globals)?;
        snapshots.push(SnapshotData {
            id: snap.id.clone(),
            taken_at: snap.taken_at,
            installed_module: module.to_vec(),
            prepared,
            heap: read_heap(&sdir.join(HEAP_FILE), &snap.code.heap)?,
            globals: snap.code.globals.iter().copied().map(load_val).collect(),
            stable: read_stable(&sdir.join(STABLE_FILE), &snap.code.stable)?,
            certified_data: snap.certified_data.clone(),
            global_timer: snap.global_timer,
        });
    }
    let mut c = Canister {
        id,
        controllers: s.controllers.clone(),
        status: match s.status {
            SavedStatus::Running => CanisterRunStatus::Running,
            SavedStatus::Stopping => CanisterRunStatus::Stopping,
            SavedStatus::Stopped => CanisterRunStatus::Stopped,
        },
        balance: s.balance,
        settings: load_settings(&s.settings),
        instance: None,
        installed_module: Vec::new(),
        version: s.version,
        certified_data: s.certified_data.clone(),
        global_timer: s.global_timer,
        timer_queued: s.timer_queued,
        log_bytes: logs.iter().map(|l| l.content.len()).sum(),
        logs,
        next_log_idx: s.next_log_idx,
        chunk_store: s.chunk_store.iter().map(|c| (c.hash.clone(), c.data.clone())).collect::<BTreeMap<_, _>>(),
        snapshots,
        next_snapshot: s.next_snapshot,
        open_call_contexts: s.open_call_contexts,
        storage_charged_at: s.storage_charged_at,
        stop_waiters: s.stop_waiters.iter().map(|(o, t)| (load_origin(o), *t)).collect(),
        query_calls: s.query_calls,
        query_instructions: s.query_instructions,
        subnet: s.subnet as usize,
    };
    if c.subnet >= net.subnets.len() {
        return Err(corrupt(&path, format!("canister {id} is on subnet {}, but the state has {} subnets", c.subnet, net.subnets.len())));
    }
    if let Some(code) = &s.code {
        let (module, prepared) = modules.get(&code.module, id)?;
        check_globals(&path, &code.globals, prepared.mutable_globals)?;
        let stable = read_stable(&dir.join(STABLE_FILE), &code.stable)?;
        let heap_path = dir.join(HEAP_FILE);
        let heap = read_heap(&heap_path, &code.heap)?;
        let inst = restore_instance(net, &c, prepared, stable, &heap, &code.globals, &path, &heap_path)?;
        c.instance = Some(inst);
        c.installed_module = module.to_vec();
    }
    Ok(c)
}

fn check_globals(path: &Path, globals: &[SavedVal], expected: usize) -> Result<()> {
    if globals.len() != expected {
        return Err(corrupt(path, format!("{} mutable globals saved, but the module has {expected}", globals.len())));
    }
    Ok(())
}

/// A fresh instance of `prepared` holding the saved heap, globals and stable memory, as
/// `load_canister_snapshot` builds one: no canister hook runs.
#[allow(clippy::too_many_arguments)]
fn restore_instance(
    net: &Net,
    c: &Canister,
    prepared: Arc<PreparedModule>,
    stable: StableMemory,
    heap: &[u8],
    globals: &[SavedVal],
    meta_path: &Path,
    heap_path: &Path,
) -> Result<WasmInstance> {
    let module_err = |reason: String| StateError::Module {
        path: meta_path.to_path_buf(),
        canister: Some(c.id),
        reason,
    };
    let start = net.exec_state(c, ApiType::Start, Principal::management_canister(), net.limits.install);
    // Instantiated over an empty stable memory: whatever a Wasm start function writes there
    // is replaced by the saved one below.
    let (mut inst, _) = WasmInstance::instantiate(prepared, StableMemory::default(), start)
        .map_err(|(_, e)| module_err(format!("instantiation failed: {}", e.message)))?;
    let initial_heap = inst.heap_size() as u64;
    let (_, initial_globals) = inst.committed_state();
    for (i, (saved, fresh)) in globals.iter().zip(&initial_globals).enumerate() {
        if !same_type(saved, fresh) {
            return Err(corrupt(meta_path, format!("mutable global {i} was saved as {saved:?}, but the module declares another type")));
        }
    }
    if (heap.len() as u64) < initial_heap {
        return Err(corrupt(
            heap_path,
            format!("the heap has {} bytes, less than the module's initial memory of {initial_heap} bytes", heap.len()),
        ));
    }
    inst.load_image(heap, globals.iter().copied().map(load_val).collect())
        .map_err(|e| corrupt(heap_path, format!("the heap cannot be restored: {e}")))?;
    if inst.heap_size() != heap.len() {
        return Err(corrupt(
            heap_path,
            format!("the heap has {} bytes, but the module's memory holds {} (a module without memory keeps none)", heap.len(), inst.heap_size()),
        ));
    }
    *inst.stable_mut() = stable;
    Ok(inst)
}

// ------------------------------------------------------------------------------ tests

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("localnet-persist-unit-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn roundtrip<T: Serialize + for<'de> Deserialize<'de>>(v: &T) -> T {
        serde_cbor::from_slice(&serde_cbor::to_vec(v).unwrap()).unwrap()
    }

    #[test]
    fn every_error_code_roundtrips() {
        for c in ALL_ERROR_CODES {
            assert_eq!(error_code_from_u32(*c as u32), Some(*c));
        }
        assert_eq!(error_code_from_u32(9999), None);
    }

    #[test]
    fn messages_and_call_state_roundtrip() {
        let p = Principal::from_slice(&[1; 10]);
        let messages = vec![
            Message::Request {
                from: p,
                to: Principal::management_canister(),
                method: "m".into(),
                arg: vec![1, 2, 3],
                cycles: u128::MAX - 5,
                origin: Origin::Canister { canister: p, callback: 7 },
                deadline: 99,
                root: Some(RawMessageId(3)),
            },
            Message::Response { callback: 7, result: Err(Reject::new(ErrorCode::DeadlineExpired, "late")), refund: 1 << 70 },
            Message::Response { callback: 8, result: Ok(vec![0xff]), refund: 0 },
            Message::GlobalTimer(p),
            Message::Heartbeat(p),
        ];
        let d = Decoder { path: Path::new("net.cbor") };
        for m in &messages {
            let saved = save_message(m);
            let back = load_message(&d, &roundtrip(&saved)).unwrap();
            assert_eq!(save_message(&back), saved);
        }
        let call = OutgoingCall {
            callee: p,
            method: "x".into(),
            payload: vec![9; 5],
            cycles: 12,
            reply: (1, 2),
            reject: (3, 4),
            cleanup: Some((5, 6)),
            timeout_seconds: Some(300),
            reserved_fee: 1 << 100,
        };
        let saved = save_call(&call);
        assert_eq!(save_call(&load_call(&roundtrip(&saved))), saved);
        let r = SavedRejectResponse { reject_code: 5, reject_message: "m".into(), error_code: 503, certified: true };
        assert_eq!(d.reject_response(&r).unwrap(), RejectResponse::new(ErrorCode::CanisterCalledTrap, "m"));
        let bad = SavedReject { code: 12345, message: String::new() };
        assert!(d.reject(&bad).unwrap_err().to_string().contains("net.cbor: corrupt localnet state: unknown error code 12345"));
    }

    #[test]
    fn globals_roundtrip_with_their_types() {
        for v in [
            wasmtime::Val::I32(-5),
            wasmtime::Val::I64(i64::MIN),
            wasmtime::Val::F32(f32::NAN.to_bits() | 1),
            wasmtime::Val::F64(1.5f64.to_bits()),
            wasmtime::Val::V128((u128::MAX - 1).into()),
        ] {
            let saved = save_val(&v, Principal::anonymous(), 0).unwrap();
            let back = roundtrip(&saved);
            assert_eq!(back, saved);
            assert!(same_type(&back, &load_val(back)));
            assert_eq!(save_val(&load_val(back), Principal::anonymous(), 0).unwrap(), saved);
        }
        assert!(!same_type(&SavedVal::I32(0), &wasmtime::Val::I64(0)));
        let err = save_val(&wasmtime::Val::FuncRef(None), Principal::anonymous(), 3).unwrap_err();
        assert!(err.to_string().contains("mutable global 3"), "{err}");
    }

    #[test]
    fn stable_memory_streams_sparse_and_roundtrips() {
        let dir = temp_dir("stable");
        let mut m = StableMemory::default();
        m.grow(40, MAX_STABLE_PAGES);
        m.write(3, b"start").unwrap();
        m.write(20 * WASM_PAGE - 2, b"across").unwrap();
        m.write(40 * WASM_PAGE - 1, b"!").unwrap();
        let path = dir.join("stable.bin");
        let saved = write_stable(&path, &m).unwrap();
        assert_eq!(saved.size, 40 * WASM_PAGE);
        assert_eq!(fs::metadata(&path).unwrap().len(), 40 * WASM_PAGE);
        let back = read_stable(&path, &saved).unwrap();
        assert_eq!(back.size_pages(), 40);
        let (mut a, mut b) = (vec![0u8; 40 * PAGE], vec![0u8; 40 * PAGE]);
        m.read(0, &mut a).unwrap();
        back.read(0, &mut b).unwrap();
        assert!(a == b);
        // Only the written pages are allocated again.
        assert_eq!(back.resident_bytes(), 4 * WASM_PAGE);

        // An empty stable memory is an empty file.
        let empty = write_stable(&dir.join("empty.bin"), &StableMemory::default()).unwrap();
        assert_eq!(read_stable(&dir.join("empty.bin"), &empty).unwrap().size_pages(), 0);

        // A flipped byte is caught by the digest, a short file by its size.
        let mut bytes = fs::read(&path).unwrap();
        bytes[4] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let e = read_stable(&path, &saved).err().unwrap();
        assert!(matches!(e, StateError::Corrupt { .. }) && e.to_string().contains("SHA-256"), "{e}");
        fs::write(&path, &bytes[..PAGE]).unwrap();
        let e = read_stable(&path, &saved).err().unwrap();
        assert!(matches!(e, StateError::Truncated { expected, found, .. } if expected == 40 * WASM_PAGE && found == WASM_PAGE), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn heap_files_are_checked_for_size_and_digest() {
        let dir = temp_dir("heap");
        let path = dir.join("heap.bin");
        let heap: Vec<u8> = (0..2 * PAGE).map(|i| (i % 251) as u8).collect();
        let saved = write_heap(&path, &heap).unwrap();
        assert_eq!(read_heap(&path, &saved).unwrap(), heap);
        let odd = SavedMemory { size: 100, sha256: saved.sha256.clone() };
        assert!(read_heap(&path, &odd).unwrap_err().to_string().contains("not a whole number of 64 KiB"));
        let mut longer = heap.clone();
        longer.extend_from_slice(&[0; PAGE]);
        fs::write(&path, &longer).unwrap();
        let e = read_heap(&path, &saved).unwrap_err();
        assert!(matches!(e, StateError::Corrupt { .. }) && e.to_string().contains("records 131072"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn manifest_errors_are_specific() {
        let dir = temp_dir("manifest");
        let path = dir.join(MANIFEST);
        fs::write(&path, "{not json").unwrap();
        assert!(matches!(read_manifest(&path), Err(StateError::Corrupt { .. })));
        fs::write(&path, r#"{"format":"something-else","version":1}"#).unwrap();
        assert!(read_manifest(&path).err().unwrap().to_string().contains("format is 'something-else'"));
        fs::write(&path, r#"{"format":"localnet-state","version":99,"engine":"9.9.9","whatever":[]}"#).unwrap();
        match read_manifest(&path) {
            Err(StateError::Version { found: 99, expected: FORMAT_VERSION, engine, .. }) => assert_eq!(engine, "9.9.9"),
            other => panic!("{:?}", other.map(|_| ())),
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn swap_replaces_and_load_falls_back_to_an_interrupted_swap() {
        let base = temp_dir("swap");
        let dir = base.join("state");
        let s = siblings(&dir).unwrap();
        for (d, tag) in [(&s.saving, "new"), (&s.dir, "old")] {
            fs::create_dir_all(d).unwrap();
            fs::write(d.join(MANIFEST), tag).unwrap();
        }
        swap_into_place(&s).unwrap();
        assert_eq!(fs::read_to_string(dir.join(MANIFEST)).unwrap(), "new");
        assert!(!s.saving.exists() && !s.previous.exists());

        // The fallback without an atomic exchange gives the same result.
        fs::create_dir_all(&s.saving).unwrap();
        fs::write(s.saving.join(MANIFEST), "newer").unwrap();
        swap_by_renames(&s).unwrap();
        assert_eq!(fs::read_to_string(dir.join(MANIFEST)).unwrap(), "newer");
        assert!(!s.saving.exists() && !s.previous.exists());

        // A crash between its two renames: only `previous` is left, and a load finds it.
        fs::rename(&dir, &s.previous).unwrap();
        assert_eq!(locate(&dir).unwrap(), s.previous);
        fs::remove_dir_all(&s.previous).unwrap();
        assert!(locate(&dir).unwrap_err().is_not_found());
        fs::create_dir_all(&dir).unwrap();
        assert!(locate(&dir).unwrap_err().is_not_found(), "an empty directory holds no state");
        fs::remove_dir_all(&base).unwrap();
    }
}
