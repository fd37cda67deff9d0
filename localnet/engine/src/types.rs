//! Public types shared by the API: reject codes, IC error codes, message ids.

use candid::Principal;
use std::fmt;

/// Reject codes of the IC interface specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum RejectCode {
    SysFatal = 1,
    SysTransient = 2,
    DestinationInvalid = 3,
    CanisterReject = 4,
    CanisterError = 5,
    SysUnknown = 6,
}

impl RejectCode {
    pub fn from_u32(c: u32) -> Option<Self> {
        Some(match c {
            1 => Self::SysFatal,
            2 => Self::SysTransient,
            3 => Self::DestinationInvalid,
            4 => Self::CanisterReject,
            5 => Self::CanisterError,
            6 => Self::SysUnknown,
            _ => return None,
        })
    }
}

/// The replica's error codes (`IC0xyz`); the first digit is the reject code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorCode {
    MaxNumberOfCanistersReached = 102,
    CanisterQueueFull = 201,
    CanisterOutOfCycles = 207,
    StopCanisterRequestTimeout = 206,
    CanisterNotFound = 301,
    CanisterSnapshotNotFound = 305,
    InsufficientCyclesForCreateCanister = 403,
    CanisterRejectedMessage = 406,
    UnknownManagementMessage = 407,
    InvalidManagementPayload = 408,
    CanisterTrapped = 502,
    CanisterCalledTrap = 503,
    CanisterContractViolation = 504,
    CanisterInvalidWasm = 505,
    CanisterDidNotReply = 506,
    CanisterOutOfMemory = 507,
    CanisterStopped = 508,
    CanisterStopping = 509,
    CanisterNotStopped = 510,
    CanisterStoppingCancelled = 511,
    CanisterInvalidController = 512,
    CanisterNonEmpty = 514,
    InsufficientCyclesInCall = 520,
    CanisterInstructionLimitExceeded = 522,
    CompositeQueryCalledInReplicatedMode = 527,
    CanisterMethodNotFound = 536,
    CanisterWasmModuleNotFound = 537,
    CanisterWasmMemoryLimitExceeded = 539,
    /// A canister's own `ic0.msg_reject` (not an IC error code; reported as IC0406 by the replica).
    CanisterRejectedByCode = 4060,
    DeadlineExpired = 601,
    ResponseDropped = 602,
}

impl ErrorCode {
    pub fn reject_code(self) -> RejectCode {
        match self {
            ErrorCode::CanisterRejectedByCode => RejectCode::CanisterReject,
            other => RejectCode::from_u32(other as u32 / 100).expect("error codes start with a reject code"),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = match self {
            ErrorCode::CanisterRejectedByCode => 406,
            other => *other as u32,
        };
        write!(f, "IC{n:04}")
    }
}

/// A rejected call, as the caller sees it (same shape as pocket-ic's `RejectResponse`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectResponse {
    pub reject_code: RejectCode,
    pub reject_message: String,
    pub error_code: ErrorCode,
    pub certified: bool,
}

impl RejectResponse {
    pub fn new(error_code: ErrorCode, reject_message: impl Into<String>) -> Self {
        RejectResponse { reject_code: error_code.reject_code(), reject_message: reject_message.into(), error_code, certified: true }
    }
}

impl fmt::Display for RejectResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({}): {}", self.reject_code, self.error_code, self.reject_message)
    }
}

impl std::error::Error for RejectResponse {}

/// Identifies an ingress message submitted with `submit_call`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawMessageId(pub u64);

/// Canister ids are `u64` big-endian followed by the opaque-id class bytes 0x01 0x01.
pub fn canister_id_from_u64(n: u64) -> Principal {
    let mut bytes = [0u8; 10];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[8] = 0x01;
    bytes[9] = 0x01;
    Principal::from_slice(&bytes)
}

/// The inverse of [`canister_id_from_u64`]; `None` for a principal that is not a canister id.
pub fn canister_id_to_u64(p: &Principal) -> Option<u64> {
    let b = p.as_slice();
    if b.len() == 10 && b[8] == 1 && b[9] == 1 {
        Some(u64::from_be_bytes(b[..8].try_into().unwrap()))
    } else {
        None
    }
}

/// Lifecycle status of a canister.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CanisterRunStatus {
    Running,
    Stopping,
    Stopped,
}

/// One line of a canister's log (`ic0.debug_print`, traps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanisterLogRecord {
    pub idx: u64,
    pub timestamp_nanos: u64,
    pub content: Vec<u8>,
}

/// What one message execution cost: Wasm instructions (fuel, one per instruction, plus
/// the System API's fixed and per-byte costs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionRecord {
    pub canister: Principal,
    /// `update foo`, `query foo`, `reply callback`, `reject callback`, `cleanup`,
    /// `global timer`, `heartbeat`, `init`, `pre_upgrade`, `post_upgrade`, `inspect_message foo`.
    pub entry: String,
    pub instructions: u64,
    /// OS pages written (committed or rolled back).
    pub dirty_pages: usize,
    pub trapped: bool,
    /// Which ingress message this execution served, if any.
    pub ingress: Option<RawMessageId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canister_ids_roundtrip_and_match_ic_text() {
        // The first canister id on a local replica.
        assert_eq!(canister_id_from_u64(0).to_text(), "rwlgt-iiaaa-aaaaa-aaaaa-cai");
        assert_eq!(canister_id_to_u64(&canister_id_from_u64(77)), Some(77));
        assert_eq!(canister_id_to_u64(&Principal::anonymous()), None);
    }

    #[test]
    fn error_codes_map_to_reject_codes() {
        assert_eq!(ErrorCode::CanisterNotFound.reject_code(), RejectCode::DestinationInvalid);
        assert_eq!(ErrorCode::CanisterCalledTrap.reject_code(), RejectCode::CanisterError);
        assert_eq!(ErrorCode::DeadlineExpired.reject_code(), RejectCode::SysUnknown);
        assert_eq!(ErrorCode::CanisterOutOfCycles.to_string(), "IC0207");
        assert_eq!(ErrorCode::CanisterRejectedByCode.reject_code(), RejectCode::CanisterReject);
    }
}
