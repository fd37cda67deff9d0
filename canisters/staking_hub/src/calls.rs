//! The hub's inter-canister calls: the management canister, the shards and learning_content.
//!
//! Calls whose outcome the hub must know for sure (creating a canister, installing code,
//! registering a user, depositing cycles) wait unboundedly: the callees are the management
//! canister and the hub's own shards, so the answer always comes, and a reject means the call
//! had no effect. Idempotent calls that are retried anyway (status, `register_shard`) wait
//! boundedly.

use crate::mint::LedgerOutcome;
use candid::{CandidType, Nat, Principal};
use ic_cdk::call::{Call, CallErrorExt, CallFailed};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg, TransferError};
use ic_management_canister_types::{
    CanisterIdRecord, CanisterInstallMode, CanisterSettings, CreateCanisterArgs, InstallCodeArgs,
};
use platform_types::{ContentConfigPush, ShardConfigPush, ShardError};
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

/// Mints `amount_e8s` to `to`'s default account: an `icrc1_transfer` from the hub, the ledger's
/// minting account (fee none: mints are free). Bounded wait: the journal and the ledger's
/// deduplication make a retry safe, so an unknown outcome costs only a later retry.
pub async fn mint(ledger: Principal, to: Principal, amount_e8s: u64, memo: &[u8], created_at_ns: u64) -> LedgerOutcome {
    let arg = TransferArg {
        from_subaccount: None,
        to: Account { owner: to, subaccount: None },
        fee: None,
        created_at_time: Some(created_at_ns),
        memo: Some(Memo::from(memo.to_vec())),
        amount: Nat::from(amount_e8s),
    };
    let response = match Call::bounded_wait(ledger, "icrc1_transfer").with_arg(&arg).await {
        Ok(response) => response,
        Err(e) if e.is_clean_reject() => return LedgerOutcome::NotExecuted(failed("icrc1_transfer", e)),
        Err(e) => return LedgerOutcome::Unknown(failed("icrc1_transfer", e)),
    };
    match response.candid::<Result<Nat, TransferError>>() {
        Ok(Ok(block)) => block_index(block),
        Ok(Err(TransferError::Duplicate { duplicate_of })) => block_index(duplicate_of),
        Ok(Err(e)) => LedgerOutcome::Rejected(render_transfer_error(&e)),
        Err(e) => LedgerOutcome::Unknown(format!("icrc1_transfer reply: {e}")),
    }
}

fn block_index(block: Nat) -> LedgerOutcome {
    match u64::try_from(block.0) {
        Ok(b) => LedgerOutcome::Minted(b),
        // The ledger minted; a block index above u64 cannot be recorded (not on any real ledger).
        Err(_) => LedgerOutcome::Unknown("the ledger's block index does not fit in 64 bits".into()),
    }
}

pub fn render_transfer_error(e: &TransferError) -> String {
    match e {
        TransferError::BadFee { expected_fee } => format!("BadFee (expected fee {expected_fee})"),
        TransferError::BadBurn { min_burn_amount } => format!("BadBurn (minimum {min_burn_amount})"),
        TransferError::InsufficientFunds { balance } => format!("InsufficientFunds (balance {balance})"),
        TransferError::TooOld => "TooOld".into(),
        TransferError::CreatedInFuture { ledger_time } => format!("CreatedInFuture (ledger time {ledger_time})"),
        TransferError::TemporarilyUnavailable => "TemporarilyUnavailable".into(),
        TransferError::Duplicate { duplicate_of } => format!("Duplicate of block {duplicate_of}"),
        TransferError::GenericError { error_code, message } => format!("GenericError {error_code}: {message}"),
    }
}

/// The shard's `set_disabled` (hub only there). Bounded wait: it is idempotent and retried.
pub async fn set_shard_disabled(shard: Principal, disabled: bool) -> Result<(), String> {
    let reply = Call::bounded_wait(shard, "set_disabled")
        .with_arg(disabled)
        .await
        .map_err(|e| failed("set_disabled", e))?;
    let answer: Result<(), ShardError> = reply.candid().map_err(|e| format!("set_disabled reply: {e}"))?;
    answer.map_err(|e| format!("set_disabled refused: {e:?}"))
}

/// The shard's `apply_config`; answers the version it has in force. Idempotent.
pub async fn push_shard_config(shard: Principal, push: &ShardConfigPush) -> Result<u64, String> {
    let reply =
        Call::bounded_wait(shard, "apply_config").with_arg(push).await.map_err(|e| failed("apply_config", e))?;
    let answer: Result<u64, ShardError> = reply.candid().map_err(|e| format!("apply_config reply: {e}"))?;
    answer.map_err(|e| format!("apply_config refused: {e:?}"))
}

/// learning_content's `apply_config`; answers the version it has in force. Idempotent.
pub async fn push_content_config(learning_content: Principal, push: &ContentConfigPush) -> Result<u64, String> {
    let reply = Call::bounded_wait(learning_content, "apply_config")
        .with_arg(push)
        .await
        .map_err(|e| failed("apply_config", e))?;
    let answer: Result<u64, String> = reply.candid().map_err(|e| format!("apply_config reply: {e}"))?;
    answer.map_err(|e| format!("apply_config refused: {e}"))
}

pub async fn stop_canister(canister_id: Principal) -> Result<(), String> {
    Call::unbounded_wait(Principal::management_canister(), "stop_canister")
        .with_arg(CanisterIdRecord { canister_id })
        .await
        .map(|_| ())
        .map_err(|e| failed("stop_canister", e))
}

pub async fn start_canister(canister_id: Principal) -> Result<(), String> {
    Call::unbounded_wait(Principal::management_canister(), "start_canister")
        .with_arg(CanisterIdRecord { canister_id })
        .await
        .map(|_| ())
        .map_err(|e| failed("start_canister", e))
}
