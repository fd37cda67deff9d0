//! Between the localnet engine's types and the `pocket-ic` crate's.
//!
//! - Rejections: the engine's `RejectResponse` (reject code, `IC0xyz` error code) becomes the
//!   crate's, whose JSON names the codes (`"CanisterError"`, `"CanisterCalledTrap"`).
//! - `canister_status`: the engine answers with `ic-management-canister-types` 0.7, the crate
//!   decodes 0.8, whose `DefiniteCanisterSettings` has a required `snapshot_visibility`. The
//!   reply is decoded as 0.7 and encoded as 0.8, with the IC's default `controllers` (the
//!   engine does not model snapshot visibility).

use ic_management_canister_types as mgmt07;
use ic_management_canister_types_08 as mgmt08;
use pocket_ic::{ErrorCode, RejectCode, RejectResponse};

/// The crate's rejection for the engine's. `certified` is the engine's, except for queries
/// (the caller passes `false`: a query's rejection is not certified on the IC).
pub fn reject(r: &localnet::RejectResponse, certified: bool) -> RejectResponse {
    // The engine's Display gives the replica's number ("IC0406" also for a canister's own
    // reject, which the engine keeps apart internally).
    let number: u64 = r.error_code.to_string().trim_start_matches("IC").parse().unwrap_or(0);
    let error_code = ErrorCode::try_from(number).unwrap_or(match r.reject_code {
        localnet::RejectCode::SysFatal => ErrorCode::SubnetOversubscribed,
        localnet::RejectCode::SysTransient => ErrorCode::CanisterQueueFull,
        localnet::RejectCode::DestinationInvalid => ErrorCode::CanisterNotFound,
        localnet::RejectCode::CanisterReject => ErrorCode::CanisterRejectedMessage,
        localnet::RejectCode::CanisterError => ErrorCode::CanisterTrapped,
        localnet::RejectCode::SysUnknown => ErrorCode::DeadlineExpired,
    });
    let reject_code = RejectCode::try_from(r.reject_code as u64).unwrap_or(RejectCode::CanisterError);
    RejectResponse { reject_code, reject_message: r.reject_message.clone(), error_code, certified }
}

/// A rejection made here (not by the engine), in the crate's shape.
pub fn reject_here(error_code: ErrorCode, message: impl Into<String>) -> RejectResponse {
    let reject_code = RejectCode::try_from(error_code as u64 / 100).unwrap_or(RejectCode::CanisterError);
    RejectResponse { reject_code, reject_message: message.into(), error_code, certified: true }
}

/// Re-encodes the engine's `canister_status` reply for the crate (see the module comment).
pub fn canister_status_reply(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let s: mgmt07::CanisterStatusResult =
        candid::decode_one(bytes).map_err(|e| format!("the engine's canister_status reply does not decode: {e}"))?;
    let settings = s.settings;
    let out = mgmt08::CanisterStatusResult {
        status: match s.status {
            mgmt07::CanisterStatusType::Running => mgmt08::CanisterStatusType::Running,
            mgmt07::CanisterStatusType::Stopping => mgmt08::CanisterStatusType::Stopping,
            mgmt07::CanisterStatusType::Stopped => mgmt08::CanisterStatusType::Stopped,
        },
        ready_for_migration: s.ready_for_migration,
        version: s.version,
        settings: mgmt08::DefiniteCanisterSettings {
            controllers: settings.controllers,
            compute_allocation: settings.compute_allocation,
            memory_allocation: settings.memory_allocation,
            freezing_threshold: settings.freezing_threshold,
            reserved_cycles_limit: settings.reserved_cycles_limit,
            log_visibility: log_visibility(settings.log_visibility),
            log_memory_limit: settings.log_memory_limit,
            snapshot_visibility: mgmt08::SnapshotVisibility::Controllers,
            wasm_memory_limit: settings.wasm_memory_limit,
            wasm_memory_threshold: settings.wasm_memory_threshold,
            environment_variables: settings
                .environment_variables
                .into_iter()
                .map(|v| mgmt08::EnvironmentVariable { name: v.name, value: v.value })
                .collect(),
        },
        module_hash: s.module_hash,
        memory_size: s.memory_size,
        memory_metrics: mgmt08::MemoryMetrics {
            wasm_memory_size: s.memory_metrics.wasm_memory_size,
            stable_memory_size: s.memory_metrics.stable_memory_size,
            global_memory_size: s.memory_metrics.global_memory_size,
            wasm_binary_size: s.memory_metrics.wasm_binary_size,
            custom_sections_size: s.memory_metrics.custom_sections_size,
            canister_history_size: s.memory_metrics.canister_history_size,
            wasm_chunk_store_size: s.memory_metrics.wasm_chunk_store_size,
            snapshots_size: s.memory_metrics.snapshots_size,
            log_memory_store_size: s.memory_metrics.log_memory_store_size,
        },
        cycles: s.cycles,
        reserved_cycles: s.reserved_cycles,
        idle_cycles_burned_per_day: s.idle_cycles_burned_per_day,
        query_stats: mgmt08::QueryStats {
            num_calls_total: s.query_stats.num_calls_total,
            num_instructions_total: s.query_stats.num_instructions_total,
            request_payload_bytes_total: s.query_stats.request_payload_bytes_total,
            response_payload_bytes_total: s.query_stats.response_payload_bytes_total,
        },
    };
    candid::encode_one(out).map_err(|e| format!("encoding canister_status: {e}"))
}

fn log_visibility(v: mgmt07::LogVisibility) -> mgmt08::LogVisibility {
    match v {
        mgmt07::LogVisibility::Controllers => mgmt08::LogVisibility::Controllers,
        mgmt07::LogVisibility::Public => mgmt08::LogVisibility::Public,
        mgmt07::LogVisibility::AllowedViewers(p) => mgmt08::LogVisibility::AllowedViewers(p),
    }
}

/// `fetch_canister_logs` as a query to the management canister: the engine's log, in the
/// crate's reply type.
pub fn canister_logs_reply(records: Vec<localnet::CanisterLogRecord>) -> Vec<u8> {
    let out = mgmt08::FetchCanisterLogsResult {
        canister_log_records: records
            .into_iter()
            .map(|r| mgmt08::CanisterLogRecord { idx: r.idx, timestamp_nanos: r.timestamp_nanos, content: r.content })
            .collect(),
    };
    candid::encode_one(out).expect("encoding canister logs")
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use localnet::ErrorCode as E;

    #[test]
    fn every_engine_error_code_has_the_crates_name() {
        let cases = [
            (E::MaxNumberOfCanistersReached, ErrorCode::MaxNumberOfCanistersReached, RejectCode::SysFatal),
            (E::CanisterQueueFull, ErrorCode::CanisterQueueFull, RejectCode::SysTransient),
            (E::CanisterOutOfCycles, ErrorCode::CanisterOutOfCycles, RejectCode::SysTransient),
            (E::StopCanisterRequestTimeout, ErrorCode::StopCanisterRequestTimeout, RejectCode::SysTransient),
            (E::CanisterNotFound, ErrorCode::CanisterNotFound, RejectCode::DestinationInvalid),
            (E::CanisterSnapshotNotFound, ErrorCode::CanisterSnapshotNotFound, RejectCode::DestinationInvalid),
            (E::InsufficientCyclesForCreateCanister, ErrorCode::InsufficientCyclesForCreateCanister, RejectCode::CanisterReject),
            (E::CanisterRejectedMessage, ErrorCode::CanisterRejectedMessage, RejectCode::CanisterReject),
            (E::UnknownManagementMessage, ErrorCode::UnknownManagementMessage, RejectCode::CanisterReject),
            (E::InvalidManagementPayload, ErrorCode::InvalidManagementPayload, RejectCode::CanisterReject),
            (E::CanisterTrapped, ErrorCode::CanisterTrapped, RejectCode::CanisterError),
            (E::CanisterCalledTrap, ErrorCode::CanisterCalledTrap, RejectCode::CanisterError),
            (E::CanisterContractViolation, ErrorCode::CanisterContractViolation, RejectCode::CanisterError),
            (E::CanisterInvalidWasm, ErrorCode::CanisterInvalidWasm, RejectCode::CanisterError),
            (E::CanisterDidNotReply, ErrorCode::CanisterDidNotReply, RejectCode::CanisterError),
            (E::CanisterOutOfMemory, ErrorCode::CanisterOutOfMemory, RejectCode::CanisterError),
            (E::CanisterStopped, ErrorCode::CanisterStopped, RejectCode::CanisterError),
            (E::CanisterStopping, ErrorCode::CanisterStopping, RejectCode::CanisterError),
            (E::CanisterNotStopped, ErrorCode::CanisterNotStopped, RejectCode::CanisterError),
            (E::CanisterStoppingCancelled, ErrorCode::CanisterStoppingCancelled, RejectCode::CanisterError),
            (E::CanisterInvalidController, ErrorCode::CanisterInvalidController, RejectCode::CanisterError),
            (E::CanisterNonEmpty, ErrorCode::CanisterNonEmpty, RejectCode::CanisterError),
            (E::InsufficientCyclesInCall, ErrorCode::InsufficientCyclesInCall, RejectCode::CanisterError),
            (E::CanisterInstructionLimitExceeded, ErrorCode::CanisterInstructionLimitExceeded, RejectCode::CanisterError),
            (E::CompositeQueryCalledInReplicatedMode, ErrorCode::CompositeQueryCalledInReplicatedMode, RejectCode::CanisterError),
            (E::CanisterMethodNotFound, ErrorCode::CanisterMethodNotFound, RejectCode::CanisterError),
            (E::CanisterWasmModuleNotFound, ErrorCode::CanisterWasmModuleNotFound, RejectCode::CanisterError),
            (E::CanisterWasmMemoryLimitExceeded, ErrorCode::CanisterWasmMemoryLimitExceeded, RejectCode::CanisterError),
            (E::CanisterRejectedByCode, ErrorCode::CanisterRejectedMessage, RejectCode::CanisterReject),
            (E::DeadlineExpired, ErrorCode::DeadlineExpired, RejectCode::SysUnknown),
            (E::ResponseDropped, ErrorCode::ResponseDropped, RejectCode::SysUnknown),
        ];
        for (engine, crate_code, crate_reject) in cases {
            let r = reject(&localnet::RejectResponse::new(engine, "m"), true);
            assert_eq!((r.error_code, r.reject_code), (crate_code, crate_reject), "{engine:?}");
        }
        // The JSON the crate decodes names the codes.
        let r = reject(&localnet::RejectResponse::new(E::CanisterCalledTrap, "boom"), true);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["reject_code"], "CanisterError");
        assert_eq!(json["error_code"], "CanisterCalledTrap");
    }

    #[test]
    fn canister_status_reencodes_for_the_newer_types() {
        let net = localnet::LocalNet::new();
        let id = net.create_canister();
        let status = net.canister_status(id, None).unwrap();
        let bytes = candid::encode_one(&status).unwrap();
        assert!(candid::decode_one::<mgmt08::CanisterStatusResult>(&bytes).is_err(), "0.8 needs snapshot_visibility");
        let out: mgmt08::CanisterStatusResult = candid::decode_one(&canister_status_reply(&bytes).unwrap()).unwrap();
        assert_eq!(out.settings.controllers, vec![Principal::anonymous()]);
        assert_eq!(out.settings.snapshot_visibility, mgmt08::SnapshotVisibility::Controllers);
        assert_eq!(out.cycles, status.cycles);
    }
}
