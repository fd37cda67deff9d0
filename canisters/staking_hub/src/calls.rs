//! The hub's inter-canister calls: the management canister, the shards and learning_content.
//!
//! Calls whose outcome the hub must know for sure (creating a canister, installing code,
//! registering a user, depositing cycles) wait unboundedly: the callees are the management
//! canister and the hub's own shards, so the answer always comes, and a reject means the call
//! had no effect. Idempotent calls that are retried anyway (status, `register_shard`) wait
//! boundedly.

use crate::mint::LedgerOutcome;
use crate::registry::ShardRegistration;
use ic_cdk::call::RejectCode;
use candid::{CandidType, Nat, Principal};
use ic_cdk::call::{Call, CallErrorExt, CallFailed};
use icrc_ledger_types::icrc::generic_value::ICRC3Value;
use icrc_ledger_types::icrc1::transfer::TransferError;
use icrc_ledger_types::icrc3::blocks::{BlockWithId, GetBlocksRequest, GetBlocksResult};
use ic_management_canister_types::{
    CanisterIdRecord, CanisterInstallMode, CanisterSettings, CanisterStatusType, CreateCanisterArgs, InstallCodeArgs,
    LoadCanisterSnapshotArgs, LogVisibility, Snapshot, TakeCanisterSnapshotArgs, UpdateSettingsArgs,
};
use platform_types::{ContentConfigPush, ShardConfigPush, ShardError, VersionInfo};
use serde::Deserialize;

fn failed(what: &str, e: CallFailed) -> String {
    format!("{what}: {e}")
}

/// `create_canister` with the hub as the only controller, `log_viewers` allowed to read its
/// log, and `cycles` attached (the creation fee included).
pub async fn create_canister(cycles: u128, log_viewers: Vec<Principal>) -> Result<Principal, String> {
    let args = CreateCanisterArgs {
        settings: Some(CanisterSettings {
            controllers: Some(vec![ic_cdk::api::canister_self()]),
            log_visibility: Some(LogVisibility::AllowedViewers(log_viewers)),
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

/// The cycles minting canister's `create_canister` on `subnet` (subnet selection `Subnet`),
/// paid with `cycles` attached (the target subnet deducts its creation fee); the hub is the only
/// controller. The CMC's settings have no `allowed_viewers` log visibility: the caller sets the
/// log viewers afterwards ([`set_log_viewers`]). On failure the CMC keeps a small penalty and
/// refunds the rest with its reply.
pub async fn create_canister_on_subnet(cmc: Principal, subnet: Principal, cycles: u128) -> Result<Principal, String> {
    use platform_types::cmc::{CmcCanisterSettings, CreateCanisterArg, CreateCanisterError, CreateCanisterResult, SubnetSelection};
    let arg = CreateCanisterArg {
        settings: Some(CmcCanisterSettings { controllers: Some(vec![ic_cdk::api::canister_self()]), ..Default::default() }),
        subnet_type: None,
        subnet_selection: Some(SubnetSelection::Subnet { subnet }),
    };
    let reply = Call::unbounded_wait(cmc, "create_canister")
        .with_arg(&arg)
        .with_cycles(cycles)
        .await
        .map_err(|e| failed("create_canister at the cycles minting canister", e))?;
    let result: CreateCanisterResult = reply.candid().map_err(|e| format!("the CMC's create_canister reply: {e}"))?;
    result.map_err(|CreateCanisterError::Refunded { refund_amount, create_error }| {
        format!("the cycles minting canister created no canister on subnet {subnet}: {create_error} ({refund_amount} cycles refunded)")
    })
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

/// Only the fields the hub reads of `canister_status` (Candid record subtyping ignores the rest).
#[derive(CandidType, Deserialize)]
struct StatusCycles {
    cycles: Nat,
    status: CanisterStatusType,
}

/// A canister's balance and whether it is stopped, by `canister_status` (as its controller).
pub struct CanisterReading {
    pub cycles: u128,
    pub stopped: bool,
}

/// Sets who may read a shard's log (`update_settings` as its controller).
pub async fn set_log_viewers(canister_id: Principal, log_viewers: Vec<Principal>) -> Result<(), String> {
    let args = UpdateSettingsArgs {
        canister_id,
        settings: CanisterSettings { log_visibility: Some(LogVisibility::AllowedViewers(log_viewers)), ..Default::default() },
        sender_canister_version: Some(ic_cdk::api::canister_version()),
    };
    Call::bounded_wait(Principal::management_canister(), "update_settings")
        .with_arg(&args)
        .await
        .map(|_| ())
        .map_err(|e| failed("update_settings", e))
}

pub async fn cycles_balance(canister_id: Principal) -> Result<u128, String> {
    canister_reading(canister_id).await.map(|r| r.cycles)
}

pub async fn canister_reading(canister_id: Principal) -> Result<CanisterReading, String> {
    let reply = Call::bounded_wait(Principal::management_canister(), "canister_status")
        .with_arg(CanisterIdRecord { canister_id })
        .await
        .map_err(|e| failed("canister_status", e))?;
    let status: StatusCycles = reply.candid().map_err(|e| format!("canister_status reply: {e}"))?;
    let cycles = u128::try_from(status.cycles.0).map_err(|_| "canister_status: cycles above u128".to_string())?;
    Ok(CanisterReading { cycles, stopped: status.status == CanisterStatusType::Stopped })
}

/// learning_content's `get_cycles_balance` (SNS root controls it, so the hub cannot read its
/// `canister_status`). Bounded wait: a lost answer is read again next round.
pub async fn content_cycles_balance(learning_content: Principal) -> Result<u128, String> {
    let reply = Call::bounded_wait(learning_content, "get_cycles_balance")
        .await
        .map_err(|e| failed("get_cycles_balance", e))?;
    let balance: Nat = reply.candid().map_err(|e| format!("get_cycles_balance reply: {e}"))?;
    u128::try_from(balance.0).map_err(|_| "get_cycles_balance: cycles above u128".to_string())
}

pub async fn deposit_cycles(canister_id: Principal, amount: u128) -> Result<(), String> {
    Call::unbounded_wait(Principal::management_canister(), "deposit_cycles")
        .with_arg(CanisterIdRecord { canister_id })
        .with_cycles(amount)
        .await
        .map(|_| ())
        .map_err(|e| failed("deposit_cycles", e))
}

/// The shard's `register_user`, classified by what the shard may have done (see
/// [`ShardRegistration`]). Unbounded wait: the answer always comes.
pub async fn register_user(shard: Principal, user: Principal) -> ShardRegistration {
    // The argument with its type table kept in the heap (`with_arg` rebuilds it per call).
    let arg = platform_types::reply_encoding::encode(user);
    match Call::unbounded_wait(shard, "register_user").with_raw_args(&arg).await {
        // The usual answer, recognized by its bytes: Candid-decoding a `ShardError` result
        // rebuilds both type tables and costs far more than the comparison.
        Ok(reply) if reply.as_ref() == registered_reply().as_slice() => ShardRegistration::Created,
        Ok(reply) => match reply.candid::<Result<(), ShardError>>() {
            Ok(Ok(())) => ShardRegistration::Created,
            Ok(Err(refused)) => ShardRegistration::Refused(refused),
            // The shard executed and replied: it may well have created the user.
            Err(e) => ShardRegistration::Unknown(format!("register_user reply: {e}")),
        },
        Err(e) if e.is_clean_reject() => ShardRegistration::NotExecuted(failed("register_user", e)),
        // A trap (or a stopped, frozen shard) in a method without awaits: nothing was kept.
        Err(CallFailed::CallRejected(r)) if r.raw_reject_code() == RejectCode::CanisterError as u32 => {
            ShardRegistration::NotExecuted(failed("register_user", CallFailed::CallRejected(r)))
        }
        Err(e) => ShardRegistration::Unknown(failed("register_user", e)),
    }
}

/// The bytes of `register_user`'s `Ok(())` as the shard sends them (`reply_encoding` writes
/// exactly what `candid::encode_one` writes). Another encoding of the same value still decodes.
fn registered_reply() -> Vec<u8> {
    platform_types::reply_encoding::encode(Ok::<(), ShardError>(()))
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

/// Sends a mint: `icrc1_transfer` with `transfer_arg`, the exact bytes journaled at the first
/// attempt (see `mint::encode_transfer_arg`). Bounded wait: the journal, the ledger's
/// deduplication and the block search make an unknown outcome cost only a later retry.
pub async fn mint(ledger: Principal, transfer_arg: &[u8]) -> LedgerOutcome {
    let response = match Call::bounded_wait(ledger, "icrc1_transfer").with_raw_args(transfer_arg).await {
        Ok(response) => response,
        Err(e) if call_may_have_executed(&e) => return LedgerOutcome::Unknown(failed("icrc1_transfer", e)),
        Err(e) => return LedgerOutcome::NotExecuted(failed("icrc1_transfer", e)),
    };
    // The usual answer, `Ok(block)`, read from its bytes: Candid-decoding the result rebuilds
    // both type tables (TransferError's is large). Any other encoding still decodes below.
    if let Some(block) = minted_block(response.as_ref()) {
        return LedgerOutcome::Minted(block);
    }
    match response.candid::<Result<Nat, TransferError>>() {
        Ok(Ok(block)) => block_index(block),
        Ok(Err(TransferError::Duplicate { duplicate_of })) => block_index(duplicate_of),
        Ok(Err(TransferError::TooOld)) => LedgerOutcome::TooOld,
        Ok(Err(e)) => LedgerOutcome::Rejected(render_transfer_error(&e)),
        Err(e) => LedgerOutcome::Unknown(format!("icrc1_transfer reply: {e}")),
    }
}

/// The block index of an `icrc1_transfer` reply that is `Ok(block)` encoded as
/// `candid::encode_one` encodes it (the ledger's header, then the `Ok` case and the block as an
/// unsigned LEB128 ending the message); `None` for anything else.
fn minted_block(reply: &[u8]) -> Option<u64> {
    // `Ok(0)` ends with the one byte of the Nat 0: what precedes it is the part every `Ok` shares.
    let ok_zero = platform_types::reply_encoding::encode(Ok::<Nat, TransferError>(Nat::from(0u8)));
    let prefix = &ok_zero[..ok_zero.len() - 1];
    let leb = reply.strip_prefix(prefix)?;
    let mut value: u64 = 0;
    for (i, byte) in leb.iter().enumerate() {
        let bits = u64::from(byte & 0x7f);
        // Ten bytes carry 70 bits: past 64, the block does not fit (a real ledger never gets there).
        if i >= 10 || (i == 9 && bits > 1) {
            return None;
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            return (i + 1 == leb.len()).then_some(value);
        }
    }
    None
}

/// See `mint::reject_may_have_executed`; a call the hub could not send never executed.
fn call_may_have_executed(e: &CallFailed) -> bool {
    match e {
        CallFailed::CallRejected(r) => crate::mint::reject_may_have_executed(r.raw_reject_code(), r.reject_message()),
        CallFailed::InsufficientLiquidCycleBalance(_) | CallFailed::CallPerformFailed(_) => false,
    }
}

/// The ledger's log length (`icrc3_get_blocks` with no range).
pub async fn ledger_log_length(ledger: Principal) -> Result<u64, String> {
    let no_range: Vec<GetBlocksRequest> = vec![];
    let reply = Call::bounded_wait(ledger, "icrc3_get_blocks")
        .with_arg(no_range)
        .await
        .map_err(|e| failed("icrc3_get_blocks", e))?;
    let result: GetBlocksResult = reply.candid().map_err(|e| format!("icrc3_get_blocks reply: {e}"))?;
    u64::try_from(result.log_length.0).map_err(|_| "icrc3_get_blocks: log length above u64".into())
}

/// Blocks `start..start + length` as the ledger has them: its own, and those of its archives
/// (each `archived_blocks` callback called with its ranges). Returns the log length and the
/// blocks read; a range an archive did not answer is simply missing (the search reads it again).
pub async fn ledger_blocks(ledger: Principal, start: u64, length: u64) -> Result<(u64, Vec<(u64, ICRC3Value)>), String> {
    let request = vec![GetBlocksRequest { start: Nat::from(start), length: Nat::from(length) }];
    let reply = Call::bounded_wait(ledger, "icrc3_get_blocks")
        .with_arg(request)
        .await
        .map_err(|e| failed("icrc3_get_blocks", e))?;
    let result: GetBlocksResult = reply.candid().map_err(|e| format!("icrc3_get_blocks reply: {e}"))?;
    let log_length = u64::try_from(result.log_length.0).map_err(|_| "icrc3_get_blocks: log length above u64")?;
    let mut blocks = with_indices(result.blocks);
    for archived in result.archived_blocks {
        let callback = archived.callback;
        let reply = Call::bounded_wait(callback.canister_id, &callback.method)
            .with_arg(archived.args)
            .await
            .map_err(|e| failed("archive icrc3_get_blocks", e))?;
        let archive: GetBlocksResult = reply.candid().map_err(|e| format!("archive icrc3_get_blocks reply: {e}"))?;
        blocks.extend(with_indices(archive.blocks));
    }
    Ok((log_length, blocks))
}

fn with_indices(blocks: Vec<BlockWithId>) -> Vec<(u64, ICRC3Value)> {
    blocks.into_iter().filter_map(|b| u64::try_from(b.id.0).ok().map(|id| (id, b.block))).collect()
}

/// Block `index` of the ledger (following an archive if it holds it), if the ledger has it.
pub async fn ledger_block(ledger: Principal, index: u64) -> Result<Option<ICRC3Value>, String> {
    let (_, blocks) = ledger_blocks(ledger, index, 1).await?;
    Ok(blocks.into_iter().find(|(i, _)| *i == index).map(|(_, b)| b))
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

/// The shard's `set_disabled` (hub only there) with the status epoch. Bounded wait: it is
/// idempotent and retried, and the shard ignores an epoch older than the one it applied.
pub async fn set_shard_disabled(shard: Principal, disabled: bool, epoch: u64) -> Result<(), String> {
    let reply = Call::bounded_wait(shard, "set_disabled")
        .with_args(&(disabled, Some(epoch)))
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

/// `take_canister_snapshot` of a (stopped) shard, replacing `replace` (the shard's previous
/// snapshot, so each shard keeps one). Returns the new snapshot's id.
pub async fn take_canister_snapshot(canister_id: Principal, replace: Option<Vec<u8>>) -> Result<Vec<u8>, String> {
    let args = TakeCanisterSnapshotArgs {
        canister_id,
        replace_snapshot: replace,
        uninstall_code: None,
        sender_canister_version: Some(ic_cdk::api::canister_version()),
    };
    let reply = Call::unbounded_wait(Principal::management_canister(), "take_canister_snapshot")
        .with_arg(&args)
        .await
        .map_err(|e| failed("take_canister_snapshot", e))?;
    let snapshot: Snapshot = reply.candid().map_err(|e| format!("take_canister_snapshot reply: {e}"))?;
    Ok(snapshot.id)
}

/// `load_canister_snapshot` on a (stopped) shard: its code and memories become the snapshot's.
pub async fn load_canister_snapshot(canister_id: Principal, snapshot_id: Vec<u8>) -> Result<(), String> {
    let args = LoadCanisterSnapshotArgs { canister_id, snapshot_id, sender_canister_version: Some(ic_cdk::api::canister_version()) };
    Call::unbounded_wait(Principal::management_canister(), "load_canister_snapshot")
        .with_arg(&args)
        .await
        .map(|_| ())
        .map_err(|e| failed("load_canister_snapshot", e))
}

/// The rollout's health check of a shard on new code: it answers `get_version` as a shard.
pub async fn shard_health(shard: Principal) -> Result<(), String> {
    let reply = Call::bounded_wait(shard, "get_version").await.map_err(|e| failed("get_version", e))?;
    let version: VersionInfo = reply.candid().map_err(|e| format!("get_version reply: {e}"))?;
    if version.canister == "user_profile" {
        Ok(())
    } else {
        Err(format!("get_version answered canister {:?}, not user_profile", version.canister))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path recognizes the shard's `Ok(())` only by its exact bytes: those of
    /// `candid::encode_one`, which the shard's `reply_encoding` writes too.
    #[test]
    fn a_minted_block_is_read_from_the_bytes_of_the_ledgers_ok_and_nothing_else() {
        for block in [0u64, 1, 127, 128, 300, 1_000_000, u64::MAX] {
            let reply = candid::encode_one(Ok::<Nat, TransferError>(Nat::from(block))).unwrap();
            assert_eq!(minted_block(&reply), Some(block), "block {block}");
        }
        let above_u64 = candid::encode_one(Ok::<Nat, TransferError>(Nat::from(u128::from(u64::MAX) + 1))).unwrap();
        assert_eq!(minted_block(&above_u64), None);
        let duplicate = candid::encode_one(Err::<Nat, TransferError>(TransferError::Duplicate { duplicate_of: Nat::from(5u8) })).unwrap();
        assert_eq!(minted_block(&duplicate), None);
        assert_eq!(minted_block(&candid::encode_one(Err::<Nat, TransferError>(TransferError::TooOld)).unwrap()), None);
        let mut trailing = candid::encode_one(Ok::<Nat, TransferError>(Nat::from(7u8))).unwrap();
        trailing.push(0);
        assert_eq!(minted_block(&trailing), None);
        let mut truncated = candid::encode_one(Ok::<Nat, TransferError>(Nat::from(300u32))).unwrap();
        truncated.pop();
        assert_eq!(minted_block(&truncated), None);
        assert_eq!(minted_block(b"DIDL"), None);
    }

    #[test]
    fn the_registered_reply_is_the_candid_encoding_of_ok() {
        let expected = candid::encode_one(Ok::<(), ShardError>(())).unwrap();
        assert_eq!(registered_reply(), expected);
        assert_eq!(registered_reply(), expected, "with the kept type table");
        let refused = candid::encode_one(Err::<(), ShardError>(ShardError::NotRegistered)).unwrap();
        assert_ne!(registered_reply(), refused);
        // The call argument, written the same way.
        let user = Principal::from_slice(&[4; 29]);
        assert_eq!(platform_types::reply_encoding::encode(user), candid::encode_one(user).unwrap());
    }
}
