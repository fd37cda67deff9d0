//! Update methods. Between awaits, state changes go through `registry` (atomic steps).

use crate::guards::{MintGuard, RegistrationGuard};
use crate::{calls, registry, scaling, state};
use candid::Principal;
use platform_types::{AllowanceError, AllowanceGrant, MintError, MintRequest, RegisterError, ShardReport};

/// `register`: routes the caller to a shard and creates the user there.
///
/// The index entry (Pending) and the shard's user count are recorded before the hub awaits the
/// shard's `register_user`; both are undone if the shard does not create the user. A Pending
/// entry found with no registration in flight is an attempt whose outcome the hub lost (it was
/// upgraded, or trapped, while awaiting the shard): the same shard is asked again, which relies
/// on `register_user` answering Ok for a user it already has.
pub async fn register(caller: Principal) -> Result<Principal, RegisterError> {
    if caller == Principal::anonymous() {
        return Err(RegisterError::Anonymous);
    }
    if let Some(shard) = registry::registered_shard(caller) {
        return Ok(shard);
    }
    let Some(_in_flight) = RegistrationGuard::acquire(caller) else {
        return Err(RegisterError::InProgress);
    };
    let hard_limit = state::config().shard_hard_limit;
    let shard = match state::user(caller) {
        Some(entry) => state::shard(entry.shard).expect("an indexed shard exists").id,
        None => {
            let index = match registry::route(hard_limit) {
                Some((index, _)) => index,
                None => {
                    scaling::provision_for_registration(hard_limit).await?;
                    registry::route(hard_limit)
                        .ok_or_else(|| RegisterError::NoCapacity {
                            detail: "the new shard filled up at once; retry in a few seconds".into(),
                        })?
                        .0
                }
            };
            registry::reserve(caller, index, hard_limit)
        }
    };
    match calls::register_user(shard, caller).await {
        Ok(Ok(())) => {
            registry::confirm(caller);
            Ok(shard)
        }
        Ok(Err(refused)) => {
            registry::release(caller, state::config().shard_hard_limit);
            Err(RegisterError::ShardUnavailable { shard, detail: format!("the shard refused: {refused:?}") })
        }
        Err(detail) => {
            registry::release(caller, state::config().shard_hard_limit);
            Err(RegisterError::ShardUnavailable { shard, detail })
        }
    }
}

pub async fn ensure_capacity() -> Result<Option<Principal>, String> {
    scaling::ensure_capacity().await
}

/// `request_allowance`: the caller must be a shard the hub created (and not disabled).
pub fn request_allowance(caller: Principal, report: ShardReport) -> Result<AllowanceGrant, AllowanceError> {
    registry::request_allowance(caller, &report, state::config().allowance_chunk_e8s, ic_cdk::api::time())
}

/// `mint_withdrawal`: see `mint` (the rules) and `registry::begin_mint` (the checks). The
/// journal entry and the attempt count are committed before the ledger call; the guard keeps a
/// second attempt of the same withdrawal out while one is awaiting the ledger.
pub async fn mint_withdrawal(caller: Principal, req: MintRequest) -> Result<u64, MintError> {
    let attempt = match registry::begin_mint(caller, &req, MintGuard::is_held) {
        Ok(attempt) => attempt,
        Err(answer) => return answer,
    };
    let Some(_guard) = MintGuard::acquire(attempt.key) else {
        unreachable!("begin_mint checked the guard in this same execution")
    };
    let ledger = state::init_args().expect("initialized").ledger_id;
    let memo = platform_types::withdrawal_memo(attempt.key.shard, attempt.key.withdrawal_id);
    let outcome = calls::mint(ledger, req.user, req.amount_e8s, &memo, req.created_at_ns).await;
    registry::finish_mint(attempt, outcome)
}
