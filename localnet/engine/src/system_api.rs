//! The `ic0` System API as wasmtime host functions.
//!
//! Each function checks the execution context it is called from (calling an API
//! from a context the specification does not list traps), charges its fixed cost
//! plus one instruction per byte copied, and reads or writes the per-execution
//! [`ExecState`]. Effects (reply, calls, timer, certified data) are collected there
//! and applied by the scheduler only when the execution commits.

use candid::Principal;
use wasmtime::{Caller, Extern, Linker, Memory};

use crate::cycles::FeeSchedule;
use crate::stable::{StableMemory, MAX_STABLE_PAGES, WASM_PAGE};

/// Execution contexts of the specification (the bit sets say who may call what).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiType {
    Start,
    Init,
    PreUpgrade,
    Update,
    ReplicatedQuery,
    NonReplicatedQuery,
    CompositeQuery,
    ReplyCallback,
    RejectCallback,
    Cleanup,
    InspectMessage,
    SystemTask,
}

const I: u32 = 1;
const G: u32 = 2;
const U: u32 = 4;
const RQ: u32 = 8;
const NRQ: u32 = 16;
const CQ: u32 = 32;
const RY: u32 = 64;
const RT: u32 = 128;
const C: u32 = 256;
const F: u32 = 512;
const T: u32 = 1024;
const S: u32 = 2048;
/// Every context but `(start)`.
const STAR: u32 = I | G | U | RQ | NRQ | CQ | RY | RT | C | F | T;
const ALL: u32 = STAR | S;

impl ApiType {
    fn bit(self) -> u32 {
        match self {
            ApiType::Start => S,
            ApiType::Init => I,
            ApiType::PreUpgrade => G,
            ApiType::Update => U,
            ApiType::ReplicatedQuery => RQ,
            ApiType::NonReplicatedQuery => NRQ,
            ApiType::CompositeQuery => CQ,
            ApiType::ReplyCallback => RY,
            ApiType::RejectCallback => RT,
            ApiType::Cleanup => C,
            ApiType::InspectMessage => F,
            ApiType::SystemTask => T,
        }
    }

    pub fn is_replicated(self) -> bool {
        !matches!(self, ApiType::NonReplicatedQuery | ApiType::CompositeQuery | ApiType::InspectMessage)
    }

    fn name(self) -> &'static str {
        match self {
            ApiType::Start => "start",
            ApiType::Init => "init",
            ApiType::PreUpgrade => "pre_upgrade",
            ApiType::Update => "update",
            ApiType::ReplicatedQuery => "replicated query",
            ApiType::NonReplicatedQuery => "non-replicated query",
            ApiType::CompositeQuery => "composite query",
            ApiType::ReplyCallback => "reply callback",
            ApiType::RejectCallback => "reject callback",
            ApiType::Cleanup => "cleanup",
            ApiType::InspectMessage => "inspect message",
            ApiType::SystemTask => "system task",
        }
    }
}

/// How a canister answered the call it is executing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Reply(Vec<u8>),
    Reject(String),
}

/// A call assembled with `call_new` ... `call_perform`.
#[derive(Clone, Debug)]
pub struct OutgoingCall {
    pub callee: Principal,
    pub method: String,
    pub payload: Vec<u8>,
    pub cycles: u128,
    pub reply: (u32, u32),
    pub reject: (u32, u32),
    pub cleanup: Option<(u32, u32)>,
    pub timeout_seconds: Option<u32>,
    /// Cycles withdrawn for transmission and the response reservation (excluding `cycles`).
    pub reserved_fee: u128,
}

/// Everything one execution can read, and everything it produces.
#[derive(Clone, Debug)]
pub struct ExecState {
    pub api: ApiType,
    pub method_name: String,
    pub arg: Vec<u8>,
    pub caller: Principal,
    pub self_id: Principal,
    pub reject_code: u32,
    pub reject_message: String,
    pub time: u64,
    pub deadline: u64,
    pub cycles_available: u128,
    pub cycles_refunded: u128,
    pub balance: u128,
    pub freezing_threshold: u128,
    pub controllers: Vec<Principal>,
    pub canister_version: u64,
    pub status: u32,
    pub call_context_instructions: u64,
    pub instruction_limit: u64,
    pub can_reply: bool,
    pub certificate: Option<crate::certificate::DataCertificate>,
    pub env_vars: Vec<(String, String)>,
    pub global_timer: u64,
    pub fees: FeeSchedule,
    pub max_reply_bytes: usize,
    pub max_request_bytes: usize,
    pub subnet_id: Principal,
    /// What `ic0.root_key_copy` returns (the net's certifier's key).
    pub root_key: std::sync::Arc<Vec<u8>>,
    pub stable_limit_pages: u64,
    /// Heap limit in bytes for updates, init and post_upgrade (0 = none).
    pub wasm_memory_limit: u64,
    // Outputs.
    pub reply_buf: Vec<u8>,
    pub response: Option<Response>,
    pub cycles_accepted: u128,
    pub cycles_burned: u128,
    pub calls: Vec<OutgoingCall>,
    pub pending_call: Option<OutgoingCall>,
    /// Calls this canister has open (sent, not answered yet), per callee, before this execution.
    pub outstanding_calls: std::collections::HashMap<Principal, u32>,
    pub new_global_timer: Option<u64>,
    pub new_certified_data: Option<Vec<u8>>,
    pub logs: Vec<Vec<u8>>,
    pub message_accepted: bool,
}

impl ExecState {
    pub fn new(api: ApiType, self_id: Principal, caller: Principal, time: u64) -> Self {
        ExecState {
            api,
            method_name: String::new(),
            arg: Vec::new(),
            caller,
            self_id,
            reject_code: 0,
            reject_message: String::new(),
            time,
            deadline: 0,
            cycles_available: 0,
            cycles_refunded: 0,
            balance: 0,
            freezing_threshold: 0,
            controllers: Vec::new(),
            canister_version: 0,
            status: 1,
            call_context_instructions: 0,
            instruction_limit: crate::cycles::MAX_INSTRUCTIONS_PER_UPDATE,
            can_reply: false,
            certificate: None,
            env_vars: Vec::new(),
            global_timer: 0,
            fees: FeeSchedule::APPLICATION_SUBNET,
            max_reply_bytes: crate::cycles::MAX_PAYLOAD_BYTES,
            max_request_bytes: crate::cycles::MAX_PAYLOAD_BYTES,
            subnet_id: Principal::management_canister(),
            root_key: std::sync::Arc::new(root_key()),
            stable_limit_pages: MAX_STABLE_PAGES,
            wasm_memory_limit: 0,
            reply_buf: Vec::new(),
            response: None,
            cycles_accepted: 0,
            cycles_burned: 0,
            calls: Vec::new(),
            pending_call: None,
            outstanding_calls: std::collections::HashMap::new(),
            new_global_timer: None,
            new_certified_data: None,
            logs: Vec::new(),
            message_accepted: false,
        }
    }

    pub fn liquid_balance(&self) -> u128 {
        self.balance.saturating_sub(self.freezing_threshold)
    }
}

/// Store data of a canister instance.
pub struct Ctx {
    pub stable: StableMemory,
    pub memory: Option<Memory>,
    pub exec: Option<ExecState>,
}

/// Why an execution stopped abnormally, raised from a host function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTrap {
    /// `ic0.trap`.
    CalledTrap(String),
    /// A System API misuse or an out-of-bounds access through the System API.
    ContractViolation(String),
    InstructionLimit(u64),
    /// The heap grew past the canister's `wasm_memory_limit`.
    MemoryLimit(u64),
}

impl std::fmt::Display for HostTrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostTrap::CalledTrap(m) => write!(f, "Canister called `ic0.trap` with message: '{m}'"),
            HostTrap::ContractViolation(m) => write!(f, "Canister violated contract: {m}"),
            HostTrap::InstructionLimit(l) => {
                write!(f, "Canister exceeded the limit of {l} instructions for single message execution.")
            }
            HostTrap::MemoryLimit(l) => write!(f, "Canister exceeded its current Wasm memory limit of {l} bytes."),
        }
    }
}

impl std::error::Error for HostTrap {}

type R<T> = wasmtime::Result<T>;

fn violation(msg: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap::ContractViolation(msg.into()))
}

/// Fixed instruction cost of each System API call (the replica's metering table).
fn fixed_cost(name: &str) -> u64 {
    match name {
        "call_new" => 1_500,
        "call_perform" => 5_000,
        "is_controller" => 1_000,
        "performance_counter" => 200,
        "debug_print" => 100,
        "stable64_read" | "stable64_write" | "stable64_size" | "stable_read" | "stable_write" | "stable_size" => 20,
        "stable64_grow" | "stable_grow" => 500,
        _ => 500,
    }
}

fn charge(c: &mut Caller<'_, Ctx>, instructions: u64) -> R<()> {
    let fuel = c.get_fuel()?;
    if fuel < instructions {
        let limit = c.data().exec.as_ref().map(|e| e.instruction_limit).unwrap_or(0);
        c.set_fuel(0)?;
        return Err(wasmtime::Error::new(HostTrap::InstructionLimit(limit)));
    }
    c.set_fuel(fuel - instructions)?;
    Ok(())
}

/// Context check and fixed charge; returns the execution state.
fn enter<'a>(c: &'a mut Caller<'_, Ctx>, name: &str, allowed: u32) -> R<&'a mut ExecState> {
    charge(c, fixed_cost(name))?;
    let exec = c.data_mut().exec.as_mut().ok_or_else(|| violation(format!("ic0.{name} called outside an execution")))?;
    if exec.api.bit() & allowed == 0 {
        return Err(violation(format!("\"ic0_{name}\" cannot be executed in {} mode", exec.api.name())));
    }
    Ok(exec)
}

fn memory(c: &mut Caller<'_, Ctx>) -> R<Memory> {
    if let Some(m) = c.data().memory {
        return Ok(m);
    }
    match c.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(violation("the module exports no memory named \"memory\"")),
    }
}

fn read_heap(c: &mut Caller<'_, Ctx>, name: &str, src: u32, size: u32) -> R<Vec<u8>> {
    charge(c, size as u64)?;
    let mem = memory(c)?;
    let data = mem.data(&*c);
    data.get(src as usize..src as usize + size as usize)
        .map(|s| s.to_vec())
        .ok_or_else(|| violation(format!("ic0.{name}: heap out of bounds (src {src}, size {size}, heap {})", data.len())))
}

fn write_heap(c: &mut Caller<'_, Ctx>, name: &str, dst: u32, bytes: &[u8]) -> R<()> {
    charge(c, bytes.len() as u64)?;
    let mem = memory(c)?;
    let data = mem.data_mut(&mut *c);
    let len = data.len();
    data.get_mut(dst as usize..dst as usize + bytes.len())
        .ok_or_else(|| violation(format!("ic0.{name}: heap out of bounds (dst {dst}, size {}, heap {len})", bytes.len())))?
        .copy_from_slice(bytes);
    Ok(())
}

/// `*_copy(dst, offset, size)`: copies `source[offset..offset+size]` to the heap.
fn copy_out(c: &mut Caller<'_, Ctx>, name: &str, source: &[u8], dst: u32, off: u32, size: u32) -> R<()> {
    let slice = source.get(off as usize..off as usize + size as usize).ok_or_else(|| {
        violation(format!("ic0.{name}: src offset {off} + size {size} exceeds the source length {}", source.len()))
    })?;
    write_heap(c, name, dst, slice)
}

fn write_u128(c: &mut Caller<'_, Ctx>, name: &str, dst: u32, v: u128) -> R<()> {
    write_heap(c, name, dst, &v.to_le_bytes())
}

fn join128(hi: i64, lo: i64) -> u128 {
    ((hi as u64 as u128) << 64) | lo as u64 as u128
}

fn principal_from(bytes: Vec<u8>, name: &str) -> R<Principal> {
    Principal::try_from_slice(&bytes).map_err(|e| violation(format!("ic0.{name}: invalid principal: {e}")))
}

/// `(params)>(results)` with i = i32, I = i64, for every import localnet provides.
pub const IMPORTS: &[(&str, &str)] = &[
    ("msg_arg_data_size", ">i"),
    ("msg_arg_data_copy", "iii>"),
    ("msg_caller_size", ">i"),
    ("msg_caller_copy", "iii>"),
    ("msg_caller_info_data_size", ">i"),
    ("msg_caller_info_data_copy", "iii>"),
    ("msg_caller_info_signer_size", ">i"),
    ("msg_caller_info_signer_copy", "iii>"),
    ("msg_reject_code", ">i"),
    ("msg_reject_msg_size", ">i"),
    ("msg_reject_msg_copy", "iii>"),
    ("msg_deadline", ">I"),
    ("msg_reply_data_append", "ii>"),
    ("msg_reply", ">"),
    ("msg_reject", "ii>"),
    ("msg_cycles_available128", "i>"),
    ("msg_cycles_refunded128", "i>"),
    ("msg_cycles_accept128", "IIi>"),
    ("msg_cycles_available", ">I"),
    ("msg_cycles_refunded", ">I"),
    ("msg_cycles_accept", "I>I"),
    ("cycles_burn128", "IIi>"),
    ("canister_self_size", ">i"),
    ("canister_self_copy", "iii>"),
    ("canister_cycle_balance128", "i>"),
    ("canister_cycle_balance", ">I"),
    ("canister_liquid_cycle_balance128", "i>"),
    ("canister_status", ">i"),
    ("canister_version", ">I"),
    ("subnet_self_size", ">i"),
    ("subnet_self_copy", "iii>"),
    ("msg_method_name_size", ">i"),
    ("msg_method_name_copy", "iii>"),
    ("accept_message", ">"),
    ("call_new", "iiiiiiii>"),
    ("call_on_cleanup", "ii>"),
    ("call_data_append", "ii>"),
    ("call_with_best_effort_response", "i>"),
    ("call_cycles_add128", "II>"),
    ("call_cycles_add", "I>"),
    ("call_perform", ">i"),
    ("stable64_size", ">I"),
    ("stable64_grow", "I>I"),
    ("stable64_write", "III>"),
    ("stable64_read", "III>"),
    ("stable_size", ">i"),
    ("stable_grow", "i>i"),
    ("stable_write", "iii>"),
    ("stable_read", "iii>"),
    ("root_key_size", ">i"),
    ("root_key_copy", "iii>"),
    ("certified_data_set", "ii>"),
    ("data_certificate_present", ">i"),
    ("data_certificate_size", ">i"),
    ("data_certificate_copy", "iii>"),
    ("time", ">I"),
    ("global_timer_set", "I>I"),
    ("performance_counter", "i>I"),
    ("is_controller", "ii>i"),
    ("in_replicated_execution", ">i"),
    ("cost_call", "IIi>"),
    ("cost_create_canister", "i>"),
    ("cost_http_request", "IIi>"),
    ("cost_sign_with_ecdsa", "iiii>i"),
    ("cost_sign_with_schnorr", "iiii>i"),
    ("cost_vetkd_derive_key", "iiii>i"),
    ("env_var_count", ">i"),
    ("env_var_name_size", "i>i"),
    ("env_var_name_copy", "iiii>"),
    ("env_var_name_exists", "ii>i"),
    ("env_var_value_size", "ii>i"),
    ("env_var_value_copy", "iiiii>"),
    ("debug_print", "ii>"),
    ("trap", "ii>"),
];

pub fn import_signature(name: &str) -> Option<&'static str> {
    IMPORTS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// A DER-encoded BLS public key with the IC's prefix and a zero key: localnet signs nothing.
const ROOT_KEY_DER_PREFIX: [u8; 37] = [
    0x30, 0x81, 0x82, 0x30, 0x1d, 0x06, 0x0d, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xdc, 0x7c, 0x05, 0x03, 0x01, 0x02,
    0x01, 0x06, 0x0c, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xdc, 0x7c, 0x05, 0x03, 0x02, 0x01, 0x03, 0x61, 0x00,
];

pub fn root_key() -> Vec<u8> {
    let mut k = ROOT_KEY_DER_PREFIX.to_vec();
    k.extend_from_slice(&[0u8; 96]);
    k
}

fn threshold_key_cost(exec: &ExecState, kind: &str, key_name: &[u8], curve: u32) -> Option<u128> {
    let curve_ok = match kind {
        "ecdsa" => curve == 0,
        "schnorr" => curve <= 1,
        _ => curve == 0,
    };
    if !curve_ok {
        return None;
    }
    match key_name {
        b"key_1" => Some(26_153_846_153),
        b"test_key_1" | b"dfx_test_key" => Some(exec.fees.threshold_signature_fee),
        _ => None,
    }
}

/// Builds the linker with every `ic0` function of [`IMPORTS`].
pub fn linker(engine: &wasmtime::Engine) -> Linker<Ctx> {
    let mut l: Linker<Ctx> = Linker::new(engine);
    let ic0 = "ic0";
    macro_rules! def {
        ($name:literal, $f:expr) => {
            l.func_wrap(ic0, $name, $f).expect(concat!("defining ic0.", $name));
        };
    }
    const ARG: u32 = I | U | RQ | NRQ | CQ | RY | F;
    const REPLY: u32 = U | RQ | NRQ | CQ | RY | RT;
    const CALL: u32 = U | CQ | RY | RT | T;

    // --- Message arguments and caller.
    def!("msg_arg_data_size", |mut c: Caller<'_, Ctx>| -> R<i32> {
        Ok(enter(&mut c, "msg_arg_data_size", ARG)?.arg.len() as i32)
    });
    def!("msg_arg_data_copy", |mut c: Caller<'_, Ctx>, dst: u32, off: u32, size: u32| -> R<()> {
        let arg = std::mem::take(&mut enter(&mut c, "msg_arg_data_copy", ARG)?.arg);
        let r = copy_out(&mut c, "msg_arg_data_copy", &arg, dst, off, size);
        c.data_mut().exec.as_mut().unwrap().arg = arg;
        r
    });
    def!("msg_caller_size", |mut c: Caller<'_, Ctx>| -> R<i32> {
        Ok(enter(&mut c, "msg_caller_size", STAR)?.caller.as_slice().len() as i32)
    });
    def!("msg_caller_copy", |mut c: Caller<'_, Ctx>, dst: u32, off: u32, size: u32| -> R<()> {
        let caller = enter(&mut c, "msg_caller_copy", STAR)?.caller;
        copy_out(&mut c, "msg_caller_copy", caller.as_slice(), dst, off, size)
    });
    // Caller attributes (ic0 1.1): localnet's callers carry none.
    const CALLER_INFO: u32 = U | RQ | NRQ | CQ | RY | RT | C | F;
    def!("msg_caller_info_data_size", |mut c: Caller<'_, Ctx>| -> R<i32> {
        enter(&mut c, "msg_caller_info_data_size", CALLER_INFO)?;
        Ok(0)
    });
    def!("msg_caller_info_data_copy", |mut c: Caller<'_, Ctx>, dst: u32, off: u32, size: u32| -> R<()> {
        enter(&mut c, "msg_caller_info_data_copy", CALLER_INFO)?;
        copy_out(&mut c, "msg_caller_info_data_copy", &[], dst, off, size)
    });
    def!("msg_caller_info_signer_size", |mut c: Caller<'_, Ctx>| -> R<i32> {
        enter(&mut c, "msg_caller_info_signer_size", CALLER_INFO)?;
        Ok(0)
    });
    def!("msg_caller_info_signer_copy", |mut c: Caller<'_, Ctx>, dst: u32, off: u32, size: u32| -> R<()> {
        enter(&mut c, "msg_caller_info_signer_copy", CALLER_INFO)?;
        copy_out(&mut c, "msg_caller_info_signer_copy", &[], dst, off, size)
    });
    def!("msg_reject_code", |mut c: Caller<'_, Ctx>| -> R<i32> {
        Ok(enter(&mut c, "msg_reject_code", RY | RT | C)?.reject_code as i32)
    });
    def!("msg_reject_msg_size", |mut c: Caller<'_, Ctx>| -> R<i32> {
        Ok(enter(&mut c, "msg_reject_msg_size", RT)?.reject_message.len() as i32)
    });
    def!("msg_reject_msg_copy", |mut c: Caller<'_, Ctx>, dst: u32, off: u32, size: u32| -> R<()> {
        let m = enter(&mut c, "msg_reject_msg_copy", RT)?.reject_message.clone();
        copy_out(&mut c, "msg_reject_msg_copy", m.as_bytes(), dst, off, size)
    });
    def!("msg_deadline", |mut c: Caller<'_, Ctx>| -> R<i64> {
        Ok(enter(&mut c, "msg_deadline", U | RQ | NRQ | CQ | RY | RT)?.deadline as i64)
    });

    // --- Replying.
    def!("msg_reply_data_append", |mut c: Caller<'_, Ctx>, src: u32, size: u32| -> R<()> {
        let e = enter(&mut c, "msg_reply_data_append", REPLY)?;
        if !e.can_reply || e.response.is_some() {
            return Err(violation("ic0.msg_reply_data_append: the call is already replied"));
        }
        let (have, max) = (e.reply_buf.len(), e.max_reply_bytes);
        if have + size as usize > max {
            return Err(violation(format!(
                "ic0.msg_reply_data_append: application payload size ({}) cannot be larger than {max}",
                have + size as usize
            )));
        }
        let bytes = read_heap(&mut c, "msg_reply_data_append", src, size)?;
        c.data_mut().exec.as_mut().unwrap().reply_buf.extend_from_slice(&bytes);
        Ok(())
    });
    def!("msg_reply", |mut c: Caller<'_, Ctx>| -> R<()> {
        let e = enter(&mut c, "msg_reply", REPLY)?;
        if !e.can_reply || e.response.is_some() {
            return Err(violation("ic0.msg_reply: the call is already replied"));
        }
        e.response = Some(Response::Reply(std::mem::take(&mut e.reply_buf)));
        Ok(())
    });
    def!("msg_reject", |mut c: Caller<'_, Ctx>, src: u32, size: u32| -> R<()> {
        let e = enter(&mut c, "msg_reject", REPLY)?;
        if !e.can_reply || e.response.is_some() {
            return Err(violation("ic0.msg_reject: the call is already replied"));
        }
        let bytes = read_heap(&mut c, "msg_reject", src, size)?;
        let text = String::from_utf8(bytes).map_err(|_| violation("ic0.msg_reject: the message is not UTF-8"))?;
        c.data_mut().exec.as_mut().unwrap().response = Some(Response::Reject(text));
        Ok(())
    });

    // --- Cycles.
    def!("msg_cycles_available128", |mut c: Caller<'_, Ctx>, dst: u32| -> R<()> {
        let v = enter(&mut c, "msg_cycles_available128", U | RQ | RY | RT)?.cycles_available;
        write_u128(&mut c, "msg_cycles_available128", dst, v)
    });
    def!("msg_cycles_available", |mut c: Caller<'_, Ctx>| -> R<i64> {
        let v = enter(&mut c, "msg_cycles_available", U | RQ | RY | RT)?.cycles_available;
        u64::try_from(v).map(|v| v as i64).map_err(|_| violation("ic0.msg_cycles_available: value exceeds 64 bits"))
    });
    def!("msg_cycles_refunded128", |mut c: Caller<'_, Ctx>, dst: u32| -> R<()> {
        let v = enter(&mut c, "msg_cycles_refunded128", RY | RT)?.cycles_refunded;
        write_u128(&mut c, "msg_cycles_refunded128", dst, v)
    });
    def!("msg_cycles_refunded", |mut c: Caller<'_, Ctx>| -> R<i64> {
        let v = enter(&mut c, "msg_cycles_refunded", RY | RT)?.cycles_refunded;
        u64::try_from(v).map(|v| v as i64).map_err(|_| violation("ic0.msg_cycles_refunded: value exceeds 64 bits"))
    });
    fn accept(e: &mut ExecState, max: u128) -> u128 {
        let n = max.min(e.cycles_available);
        e.cycles_available -= n;
        e.cycles_accepted += n;
        e.balance += n;
        n
    }
    def!("msg_cycles_accept128", |mut c: Caller<'_, Ctx>, hi: i64, lo: i64, dst: u32| -> R<()> {
        let n = accept(enter(&mut c, "msg_cycles_accept128", U | RQ | RY | RT)?, join128(hi, lo));
        write_u128(&mut c, "msg_cycles_accept128", dst, n)
    });
    def!("msg_cycles_accept", |mut c: Caller<'_, Ctx>, max: i64| -> R<i64> {
        Ok(accept(enter(&mut c, "msg_cycles_accept", U | RQ | RY | RT)?, max as u64 as u128) as i64)
    });
    def!("cycles_burn128", |mut c: Caller<'_, Ctx>, hi: i64, lo: i64, dst: u32| -> R<()> {
        let e = enter(&mut c, "cycles_burn128", I | G | U | RQ | RY | RT | C | T)?;
        let n = join128(hi, lo).min(e.liquid_balance());
        e.balance -= n;
        e.cycles_burned += n;
        write_u128(&mut c, "cycles_burn128", dst, n)
    });
    def!("canister_cycle_balance128", |mut c: Caller<'_, Ctx>, dst: u32| -> R<()> {
        let v = enter(&mut c, "canister_cycle_balance128", STAR)?.balance;
        write_u128(&mut c, "canister_cycle_balance128", dst, v)
    });
    def!("canister_cycle_balance", |mut c: Caller<'_, Ctx>| -> R<i64> {
        let v = enter(&mut c, "canister_cycle_balance", STAR)?.balance;
        u64::try_from(v).map(|v| v as i64).map_err(|_| violation("ic0.canister_cycle_balance: value exceeds 64 bits"))
    });
    def!("canister_liquid_cycle_balance128", |mut c: Caller<'_, Ctx>, dst: u32| -> R<()> {
        let v = enter(&mut c, "canister_liquid_cycle_balance128", STAR)?.liquid_balance();
        write_u128(&mut c, "canister_liquid_cycle_balance128", dst, v)
    });

    // --- Canister information.
    def!("canister_self_size", |mut c: Caller<'_, Ctx>| -> R<i32> {
        Ok(enter(&mut c, "canister_self_size", STAR)?.self_id.as_slice().len() as i32)
    });
    def!("canister_self_copy", |mut c: Caller<'_, Ctx>, dst: u32, off: u32, size: u32| -> R<()> {
        let id = enter(&mut c, "canister_self_copy", STAR)?.self_id;
        copy_out(&mut c, "canister_self_copy", id.as_slice(), dst, off, size)
    });
    def!("canister_status", |mut c: Caller<'_, Ctx>| -> R<i32> {
        Ok(enter(&mut c, "canister_status", STAR)?.status as i32)
    });
    def!("canister_version", |mut c: Caller<'_, Ctx>| -> R<i64> {
        Ok(enter(&mut c, "canister_version", STAR)?.canister_version as i64)
    });
    def!("subnet_self_size", |mut c: Caller<'_, Ctx>| -> R<i32> {
        Ok(enter(&mut c, "subnet_self_size", STAR)?.subnet_id.as_slice().len() as i32)
    });
    def!("subnet_self_copy", |mut c: Caller<'_, Ctx>, dst: u32, off: u32, size: u32| -> R<()> {
        let id = enter(&mut c, "subnet_self_copy", STAR)?.subnet_id;
        copy_out(&mut c, "subnet_self_copy", id.as_slice(), dst, off, size)
    });
    def!("msg_method_name_size", |mut c: Caller<'_, Ctx>| -> R<i32> {
        Ok(enter(&mut c, "msg_method_name_size", F)?.method_name.len() as i32)
    });
    def!("msg_method_name_copy", |mut c: Caller<'_, Ctx>, dst: u32, off: u32, size: u32| -> R<()> {
        let n = enter(&mut c, "msg_method_name_copy", F)?.method_name.clone();
        copy_out(&mut c, "msg_method_name_copy", n.as_bytes(), dst, off, size)
    });
    def!("accept_message", |mut c: Caller<'_, Ctx>| -> R<()> {
        let e = enter(&mut c, "accept_message", F)?;
        if e.message_accepted {
            return Err(violation("ic0.accept_message: message already accepted"));
        }
        e.message_accepted = true;
        Ok(())
    });

    // --- Inter-canister calls.
    def!(
        "call_new",
        |mut c: Caller<'_, Ctx>,
         callee_src: u32,
         callee_size: u32,
         name_src: u32,
         name_size: u32,
         reply_fun: u32,
         reply_env: u32,
         reject_fun: u32,
         reject_env: u32|
         -> R<()> {
            enter(&mut c, "call_new", CALL)?;
            if c.data().exec.as_ref().unwrap().api == ApiType::CompositeQuery {
                return Err(violation("ic0.call_new: calls from composite queries are not supported by localnet"));
            }
            let callee = principal_from(read_heap(&mut c, "call_new", callee_src, callee_size)?, "call_new")?;
            let name = String::from_utf8(read_heap(&mut c, "call_new", name_src, name_size)?)
                .map_err(|_| violation("ic0.call_new: method name is not UTF-8"))?;
            // A call still being assembled is discarded, with its cycles.
            let e = c.data_mut().exec.as_mut().unwrap();
            if let Some(old) = e.pending_call.take() {
                e.balance += old.cycles;
            }
            e.pending_call = Some(OutgoingCall {
                callee,
                method: name,
                payload: Vec::new(),
                cycles: 0,
                reply: (reply_fun, reply_env),
                reject: (reject_fun, reject_env),
                cleanup: None,
                timeout_seconds: None,
                reserved_fee: 0,
            });
            Ok(())
        }
    );
    def!("call_on_cleanup", |mut c: Caller<'_, Ctx>, fun: u32, env: u32| -> R<()> {
        let e = enter(&mut c, "call_on_cleanup", CALL)?;
        let call = e.pending_call.as_mut().ok_or_else(|| violation("ic0.call_on_cleanup: no call is being assembled"))?;
        if call.cleanup.is_some() {
            return Err(violation("ic0.call_on_cleanup: cleanup already set for this call"));
        }
        call.cleanup = Some((fun, env));
        Ok(())
    });
    def!("call_data_append", |mut c: Caller<'_, Ctx>, src: u32, size: u32| -> R<()> {
        let e = enter(&mut c, "call_data_append", CALL)?;
        let max = e.max_request_bytes;
        let have = e
            .pending_call
            .as_ref()
            .ok_or_else(|| violation("ic0.call_data_append: no call is being assembled"))?
            .payload
            .len();
        if have + size as usize > max {
            return Err(violation(format!(
                "ic0.call_data_append: payload size ({}) exceeds the maximum of {max} bytes",
                have + size as usize
            )));
        }
        let bytes = read_heap(&mut c, "call_data_append", src, size)?;
        c.data_mut().exec.as_mut().unwrap().pending_call.as_mut().unwrap().payload.extend_from_slice(&bytes);
        Ok(())
    });
    def!("call_with_best_effort_response", |mut c: Caller<'_, Ctx>, timeout: u32| -> R<()> {
        let e = enter(&mut c, "call_with_best_effort_response", CALL)?;
        let call = e
            .pending_call
            .as_mut()
            .ok_or_else(|| violation("ic0.call_with_best_effort_response: no call is being assembled"))?;
        if call.timeout_seconds.is_some() {
            return Err(violation("ic0.call_with_best_effort_response: timeout already set for this call"));
        }
        call.timeout_seconds = Some(timeout.min(300));
        Ok(())
    });
    fn add_cycles(e: &mut ExecState, amount: u128) -> R<()> {
        let call = e.pending_call.as_mut().ok_or_else(|| violation("ic0.call_cycles_add: no call is being assembled"))?;
        if e.balance.saturating_sub(e.freezing_threshold) < amount {
            return Err(violation(format!(
                "ic0.call_cycles_add: canister cannot transfer {amount} cycles: liquid balance is {}",
                e.balance.saturating_sub(e.freezing_threshold)
            )));
        }
        e.balance -= amount;
        call.cycles += amount;
        Ok(())
    }
    def!("call_cycles_add128", |mut c: Caller<'_, Ctx>, hi: i64, lo: i64| -> R<()> {
        add_cycles(enter(&mut c, "call_cycles_add128", U | RY | RT | T)?, join128(hi, lo))
    });
    def!("call_cycles_add", |mut c: Caller<'_, Ctx>, amount: i64| -> R<()> {
        add_cycles(enter(&mut c, "call_cycles_add", U | RY | RT | T)?, amount as u64 as u128)
    });
    def!("call_perform", |mut c: Caller<'_, Ctx>| -> R<i32> {
        let e = enter(&mut c, "call_perform", CALL)?;
        let mut call = e.pending_call.take().ok_or_else(|| violation("ic0.call_perform: no call is being assembled"))?;
        // The IC's queue between two canisters holds 500 messages (a slot is kept for each
        // call's response): the 501st open call to the same callee cannot be queued.
        let open = e.outstanding_calls.get(&call.callee).copied().unwrap_or(0) as usize
            + e.calls.iter().filter(|q| q.callee == call.callee).count();
        if call.callee != Principal::management_canister() && open >= crate::cycles::MAX_OUTSTANDING_CALLS_PER_PAIR {
            e.balance += call.cycles;
            return Ok(2);
        }
        let fee = e.fees.call_cost(call.method.len() as u64, call.payload.len() as u64);
        if e.liquid_balance() < fee {
            // Not queued: the attached cycles go back and no callback will ever run.
            e.balance += call.cycles;
            return Ok(2);
        }
        e.balance -= fee;
        call.reserved_fee = fee;
        e.calls.push(call);
        Ok(0)
    });

    // --- Stable memory.
    def!("stable64_size", |mut c: Caller<'_, Ctx>| -> R<i64> {
        enter(&mut c, "stable64_size", ALL)?;
        Ok(c.data().stable.size_pages() as i64)
    });
    def!("stable64_grow", |mut c: Caller<'_, Ctx>, pages: i64| -> R<i64> {
        let limit = enter(&mut c, "stable64_grow", ALL)?.stable_limit_pages;
        Ok(c.data_mut().stable.grow(pages as u64, limit))
    });
    fn stable_write(c: &mut Caller<'_, Ctx>, name: &str, offset: u64, src: u64, size: u64) -> R<()> {
        enter(c, name, ALL)?;
        let src = u32::try_from(src).map_err(|_| violation(format!("ic0.{name}: heap address out of range")))?;
        let size32 = u32::try_from(size).map_err(|_| violation(format!("ic0.{name}: size out of range")))?;
        let bytes = read_heap(c, name, src, size32)?;
        c.data_mut().stable.write(offset, &bytes).map_err(|e| violation(format!("ic0.{name}: {e}")))
    }
    fn stable_read(c: &mut Caller<'_, Ctx>, name: &str, dst: u64, offset: u64, size: u64) -> R<()> {
        enter(c, name, ALL)?;
        let dst = u32::try_from(dst).map_err(|_| violation(format!("ic0.{name}: heap address out of range")))?;
        let mut buf = vec![0u8; usize::try_from(size).map_err(|_| violation(format!("ic0.{name}: size out of range")))?];
        if buf.len() as u64 > u32::MAX as u64 {
            return Err(violation(format!("ic0.{name}: size out of range")));
        }
        c.data().stable.read(offset, &mut buf).map_err(|e| violation(format!("ic0.{name}: {e}")))?;
        write_heap(c, name, dst, &buf)
    }
    def!("stable64_write", |mut c: Caller<'_, Ctx>, offset: i64, src: i64, size: i64| -> R<()> {
        stable_write(&mut c, "stable64_write", offset as u64, src as u64, size as u64)
    });
    def!("stable64_read", |mut c: Caller<'_, Ctx>, dst: i64, offset: i64, size: i64| -> R<()> {
        stable_read(&mut c, "stable64_read", dst as u64, offset as u64, size as u64)
    });
    // The 32-bit API addresses at most 4 GiB of stable memory.
    const MAX_32BIT_PAGES: u64 = (4u64 << 30) / WASM_PAGE;
    def!("stable_size", |mut c: Caller<'_, Ctx>| -> R<i32> {
        enter(&mut c, "stable_size", ALL)?;
        let pages = c.data().stable.size_pages();
        if pages > MAX_32BIT_PAGES {
            return Err(violation("ic0.stable_size: stable memory is larger than 4 GiB; use the 64-bit API"));
        }
        Ok(pages as i32)
    });
    def!("stable_grow", |mut c: Caller<'_, Ctx>, pages: u32| -> R<i32> {
        let limit = enter(&mut c, "stable_grow", ALL)?.stable_limit_pages.min(MAX_32BIT_PAGES);
        Ok(c.data_mut().stable.grow(pages as u64, limit) as i32)
    });
    def!("stable_write", |mut c: Caller<'_, Ctx>, offset: u32, src: u32, size: u32| -> R<()> {
        stable_write(&mut c, "stable_write", offset as u64, src as u64, size as u64)
    });
    def!("stable_read", |mut c: Caller<'_, Ctx>, dst: u32, offset: u32, size: u32| -> R<()> {
        stable_read(&mut c, "stable_read", dst as u64, offset as u64, size as u64)
    });

    // --- Certification and keys.
    def!("root_key_size", |mut c: Caller<'_, Ctx>| -> R<i32> {
        enter(&mut c, "root_key_size", I | G | U | RQ | RY | RT | C | T)?;
        Ok(c.data().exec.as_ref().unwrap().root_key.len() as i32)
    });
    def!("root_key_copy", |mut c: Caller<'_, Ctx>, dst: u32, off: u32, size: u32| -> R<()> {
        enter(&mut c, "root_key_copy", I | G | U | RQ | RY | RT | C | T)?;
        let key = c.data().exec.as_ref().unwrap().root_key.clone();
        copy_out(&mut c, "root_key_copy", &key, dst, off, size)
    });
    def!("certified_data_set", |mut c: Caller<'_, Ctx>, src: u32, size: u32| -> R<()> {
        enter(&mut c, "certified_data_set", I | G | U | RY | RT | T)?;
        if size > 32 {
            return Err(violation(format!("ic0.certified_data_set: data is {size} bytes; at most 32 are allowed")));
        }
        let bytes = read_heap(&mut c, "certified_data_set", src, size)?;
        c.data_mut().exec.as_mut().unwrap().new_certified_data = Some(bytes);
        Ok(())
    });
    def!("data_certificate_present", |mut c: Caller<'_, Ctx>| -> R<i32> {
        Ok(enter(&mut c, "data_certificate_present", STAR)?.certificate.is_some() as i32)
    });
    def!("data_certificate_size", |mut c: Caller<'_, Ctx>| -> R<i32> {
        let e = enter(&mut c, "data_certificate_size", NRQ | CQ)?;
        e.certificate.as_ref().map(|x| x.bytes().len() as i32).ok_or_else(|| violation("ic0.data_certificate_size: no certificate"))
    });
    def!("data_certificate_copy", |mut c: Caller<'_, Ctx>, dst: u32, off: u32, size: u32| -> R<()> {
        let cert = enter(&mut c, "data_certificate_copy", NRQ | CQ)?
            .certificate
            .clone()
            .ok_or_else(|| violation("ic0.data_certificate_copy: no certificate"))?;
        copy_out(&mut c, "data_certificate_copy", cert.bytes(), dst, off, size)
    });

    // --- Time, timers, performance.
    def!("time", |mut c: Caller<'_, Ctx>| -> R<i64> { Ok(enter(&mut c, "time", STAR)?.time as i64) });
    def!("global_timer_set", |mut c: Caller<'_, Ctx>, ts: i64| -> R<i64> {
        let e = enter(&mut c, "global_timer_set", I | G | U | RY | RT | C | T)?;
        let previous = e.new_global_timer.unwrap_or(e.global_timer);
        e.new_global_timer = Some(ts as u64);
        Ok(previous as i64)
    });
    def!("performance_counter", |mut c: Caller<'_, Ctx>, kind: u32| -> R<i64> {
        enter(&mut c, "performance_counter", ALL)?;
        let fuel = c.get_fuel()?;
        let e = c.data().exec.as_ref().unwrap();
        let used = e.instruction_limit.saturating_sub(fuel);
        match kind {
            0 => Ok(used as i64),
            1 => Ok((e.call_context_instructions + used) as i64),
            k => Err(violation(format!("ic0.performance_counter: unknown counter type {k}"))),
        }
    });
    def!("is_controller", |mut c: Caller<'_, Ctx>, src: u32, size: u32| -> R<i32> {
        enter(&mut c, "is_controller", ALL)?;
        if size > 29 {
            return Err(violation(format!("ic0.is_controller: {size} bytes is not a valid principal")));
        }
        let p = principal_from(read_heap(&mut c, "is_controller", src, size)?, "is_controller")?;
        Ok(c.data().exec.as_ref().unwrap().controllers.contains(&p) as i32)
    });
    def!("in_replicated_execution", |mut c: Caller<'_, Ctx>| -> R<i32> {
        Ok(enter(&mut c, "in_replicated_execution", ALL)?.api.is_replicated() as i32)
    });

    // --- Costs.
    def!("cost_call", |mut c: Caller<'_, Ctx>, name_size: i64, payload_size: i64, dst: u32| -> R<()> {
        let v = enter(&mut c, "cost_call", ALL)?.fees.call_cost(name_size as u64, payload_size as u64);
        write_u128(&mut c, "cost_call", dst, v)
    });
    def!("cost_create_canister", |mut c: Caller<'_, Ctx>, dst: u32| -> R<()> {
        let v = enter(&mut c, "cost_create_canister", ALL)?.fees.canister_creation_fee;
        write_u128(&mut c, "cost_create_canister", dst, v)
    });
    def!("cost_http_request", |mut c: Caller<'_, Ctx>, req: i64, max_res: i64, dst: u32| -> R<()> {
        let v = enter(&mut c, "cost_http_request", ALL)?.fees.http_request_cost(req as u64, max_res as u64);
        write_u128(&mut c, "cost_http_request", dst, v)
    });
    fn key_cost(c: &mut Caller<'_, Ctx>, name: &str, kind: &str, src: u32, size: u32, curve: u32, dst: u32) -> R<i32> {
        enter(c, name, ALL)?;
        let key = read_heap(c, name, src, size)?;
        let e = c.data().exec.as_ref().unwrap();
        let curve_known = match kind {
            "ecdsa" => curve == 0,
            "schnorr" => curve <= 1,
            _ => curve == 0,
        };
        if !curve_known {
            return Ok(1);
        }
        match threshold_key_cost(e, kind, &key, curve) {
            Some(v) => write_u128(c, name, dst, v).map(|_| 0),
            None => Ok(2),
        }
    }
    def!("cost_sign_with_ecdsa", |mut c: Caller<'_, Ctx>, src: u32, size: u32, curve: u32, dst: u32| -> R<i32> {
        key_cost(&mut c, "cost_sign_with_ecdsa", "ecdsa", src, size, curve, dst)
    });
    def!("cost_sign_with_schnorr", |mut c: Caller<'_, Ctx>, src: u32, size: u32, alg: u32, dst: u32| -> R<i32> {
        key_cost(&mut c, "cost_sign_with_schnorr", "schnorr", src, size, alg, dst)
    });
    def!("cost_vetkd_derive_key", |mut c: Caller<'_, Ctx>, src: u32, size: u32, curve: u32, dst: u32| -> R<i32> {
        key_cost(&mut c, "cost_vetkd_derive_key", "vetkd", src, size, curve, dst)
    });

    // --- Environment variables (from the canister settings).
    def!("env_var_count", |mut c: Caller<'_, Ctx>| -> R<i32> {
        Ok(enter(&mut c, "env_var_count", STAR)?.env_vars.len() as i32)
    });
    fn env_name(c: &mut Caller<'_, Ctx>, name: &str, index: u32) -> R<String> {
        let e = enter(c, name, STAR)?;
        e.env_vars
            .get(index as usize)
            .map(|(n, _)| n.clone())
            .ok_or_else(|| violation(format!("ic0.{name}: index {index} out of range ({} variables)", e.env_vars.len())))
    }
    fn env_value(c: &mut Caller<'_, Ctx>, name: &str, src: u32, size: u32) -> R<String> {
        enter(c, name, STAR)?;
        let key = String::from_utf8(read_heap(c, name, src, size)?)
            .map_err(|_| violation(format!("ic0.{name}: variable name is not UTF-8")))?;
        let e = c.data().exec.as_ref().unwrap();
        e.env_vars
            .iter()
            .find(|(n, _)| *n == key)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| violation(format!("ic0.{name}: no environment variable named '{key}'")))
    }
    def!("env_var_name_size", |mut c: Caller<'_, Ctx>, index: u32| -> R<i32> {
        Ok(env_name(&mut c, "env_var_name_size", index)?.len() as i32)
    });
    def!("env_var_name_copy", |mut c: Caller<'_, Ctx>, index: u32, dst: u32, off: u32, size: u32| -> R<()> {
        let n = env_name(&mut c, "env_var_name_copy", index)?;
        copy_out(&mut c, "env_var_name_copy", n.as_bytes(), dst, off, size)
    });
    def!("env_var_name_exists", |mut c: Caller<'_, Ctx>, src: u32, size: u32| -> R<i32> {
        enter(&mut c, "env_var_name_exists", STAR)?;
        let key = read_heap(&mut c, "env_var_name_exists", src, size)?;
        Ok(c.data().exec.as_ref().unwrap().env_vars.iter().any(|(n, _)| n.as_bytes() == key) as i32)
    });
    def!("env_var_value_size", |mut c: Caller<'_, Ctx>, src: u32, size: u32| -> R<i32> {
        Ok(env_value(&mut c, "env_var_value_size", src, size)?.len() as i32)
    });
    def!("env_var_value_copy", |mut c: Caller<'_, Ctx>, src: u32, size: u32, dst: u32, off: u32, n: u32| -> R<()> {
        let v = env_value(&mut c, "env_var_value_copy", src, size)?;
        copy_out(&mut c, "env_var_value_copy", v.as_bytes(), dst, off, n)
    });

    // --- Debugging and traps.
    def!("debug_print", |mut c: Caller<'_, Ctx>, src: u32, size: u32| -> R<()> {
        enter(&mut c, "debug_print", ALL)?;
        // debug_print never traps: clamp to the heap.
        let mem = memory(&mut c)?;
        let data = mem.data(&c);
        let start = (src as usize).min(data.len());
        let end = (src as usize).saturating_add(size as usize).min(data.len());
        let bytes = data[start..end].to_vec();
        charge(&mut c, bytes.len() as u64)?;
        c.data_mut().exec.as_mut().unwrap().logs.push(bytes);
        Ok(())
    });
    def!("trap", |mut c: Caller<'_, Ctx>, src: u32, size: u32| -> R<()> {
        enter(&mut c, "trap", ALL)?;
        let bytes = read_heap(&mut c, "trap", src, size).unwrap_or_default();
        Err(wasmtime::Error::new(HostTrap::CalledTrap(String::from_utf8_lossy(&bytes).into_owned())))
    });
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_import_is_defined_with_its_signature() {
        let engine = crate::engine::engine();
        let l = linker(engine);
        let mut store = wasmtime::Store::new(engine, Ctx { stable: StableMemory::default(), memory: None, exec: None });
        for (name, sig) in IMPORTS {
            let Ok(Extern::Func(f)) = l.get(&mut store, "ic0", name) else { panic!("ic0.{name} missing") };
            let ty = f.ty(&store);
            let ch = |t: wasmtime::ValType| match t {
                wasmtime::ValType::I32 => 'i',
                wasmtime::ValType::I64 => 'I',
                _ => '?',
            };
            let got: String =
                ty.params().map(ch).chain(std::iter::once('>')).chain(ty.results().map(ch)).collect();
            assert_eq!(&got, sig, "ic0.{name}");
        }
    }

    #[test]
    fn contexts_follow_the_specification() {
        assert!(ApiType::NonReplicatedQuery.bit() & STAR != 0);
        assert_eq!(ApiType::Start.bit() & STAR, 0);
        assert!(!ApiType::NonReplicatedQuery.is_replicated());
        assert!(ApiType::ReplicatedQuery.is_replicated());
    }
}
