//! The hub's inter-canister calls: the management canister, the shards and learning_content.
//!
//! Calls whose outcome the hub must know for sure (creating a canister, installing code,
//! registering a user, depositing cycles) wait unboundedly: the callees are the management
//! canister and the hub's own shards, so the answer always comes, and a reject means the call
//! had no effect. Idempotent calls that are retried anyway (status, `register_shard`) wait
//! boundedly.

use candid::{CandidType, Nat, Principal};
use ic_cdk::call::{Call, CallFailed};
use ic_management_canister_types::{
    CanisterIdRecord, CanisterInstallMode, CanisterSettings, CreateCanisterArgs, InstallCodeArgs,
};
use platform_types::ShardError;
use serde::Deserialize;

fn failed(what: &str, e: CallFailed) -> String {
    format!("{what}: {e}")
}

/// `create_canister` with the hub as the only controller and `cycles` attached (the creation
/// fee included).
pub async fn create_canister(cycles: u128) -> Result<Principal, String> {
    let args = CreateCanisterArgs {
        settings: Some(CanisterSettings {
            controllers: Some(vec![ic_cdk::api::canister_self()]),
            ..Default::default()
        }),
        sender_canister_version: Some(ic_cdk::api::canister_version()),
    };
    let reply = Call::unbounded_wait(Principal::management_canister(), "create_canister")
        .with_arg(&args)
        .with_cycles(cycles)
        .await
        .map_err(|e| failed("create_canister", e))?;
    let record: CanisterIdRecord = reply.candid().map_err(|e| format!("create_canister reply: {e}"))?;
    Ok(record.canister_id)
}

/// What sending a call costs the hub (`ic0.cost_call`: the request, and the reservation for the
/// response and its execution, which is mostly refunded).
pub fn call_cost(method: &str, payload_bytes: usize) -> u128 {
    ic_cdk::api::cost_call(method.len() as u64, payload_bytes as u64)
}

pub async fn install_code(
    canister_id: Principal,
    mode: CanisterInstallMode,
    wasm_module: &[u8],
    arg: Vec<u8>,
) -> Result<(), String> {
    let args = InstallCodeArgs {
        mode,
        canister_id,
        wasm_module: wasm_module.to_vec(),
        arg,
        sender_canister_version: Some(ic_cdk::api::canister_version()),
    };
    Call::unbounded_wait(Principal::management_canister(), "install_code")
        .with_arg(&args)
        .await
        .map(|_| ())
        .map_err(|e| failed("install_code", e))
}

/// Only the field the hub reads of `canister_status` (Candid record subtyping ignores the rest).
#[derive(CandidType, Deserialize)]
struct StatusCycles {
    cycles: Nat,
}

pub async fn cycles_balance(canister_id: Principal) -> Result<u128, String> {
    let reply = Call::bounded_wait(Principal::management_canister(), "canister_status")
        .with_arg(CanisterIdRecord { canister_id })
        .await
        .map_err(|e| failed("canister_status", e))?;
    let status: StatusCycles = reply.candid().map_err(|e| format!("canister_status reply: {e}"))?;
    u128::try_from(status.cycles.0).map_err(|_| "canister_status: cycles above u128".to_string())
}

pub async fn deposit_cycles(canister_id: Principal, amount: u128) -> Result<(), String> {
    Call::unbounded_wait(Principal::management_canister(), "deposit_cycles")
        .with_arg(CanisterIdRecord { canister_id })
        .with_cycles(amount)
        .await
        .map(|_| ())
        .map_err(|e| failed("deposit_cycles", e))
}

/// The shard's `register_user`. Outer error: the call failed (the shard did nothing); inner:
/// the shard refused.
pub async fn register_user(shard: Principal, user: Principal) -> Result<Result<(), ShardError>, String> {
    let reply =
        Call::unbounded_wait(shard, "register_user").with_arg(user).await.map_err(|e| failed("register_user", e))?;
    reply.candid().map_err(|e| format!("register_user reply: {e}"))
}

/// learning_content's `register_shard`.
pub async fn register_shard(learning_content: Principal, shard: Principal) -> Result<(), String> {
    let reply = Call::bounded_wait(learning_content, "register_shard")
        .with_arg(shard)
        .await
        .map_err(|e| failed("register_shard", e))?;
    let answer: Result<(), String> = reply.candid().map_err(|e| format!("register_shard reply: {e}"))?;
    answer.map_err(|e| format!("register_shard refused: {e}"))
}
