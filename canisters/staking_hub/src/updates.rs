//! Update methods. Between awaits, state changes go through `registry` (atomic steps).

use crate::guards::{MintGuard, RegistrationGuard};
use crate::{admission, calls, credential, registry, scaling, state};
use candid::Principal;
use platform_types::{AllowanceError, AllowanceGrant, MintError, MintRequest, RegisterError, RegistrationProof, ShardReport};

/// `register`: routes the caller to a shard and creates the user there.
///
/// The index entry (Pending) and the shard's user count are recorded before the hub awaits the
/// shard's `register_user`; both are undone if the shard does not create the user. A Pending
/// entry found with no registration in flight is an attempt whose outcome the hub lost (it was
/// upgraded, or trapped, while awaiting the shard): the same shard is asked again, which relies
/// on `register_user` answering Ok for a user it already has.
///
/// A new learner must satisfy the registration policy (`admission`): `proof` is checked before
/// any await and consumed (re-checked) when the index entry is reserved, and freed again if the
/// shard does not create the user.
pub async fn register(caller: Principal, proof: Option<RegistrationProof>) -> Result<Principal, RegisterError> {
    if caller == Principal::anonymous() {
        return Err(RegisterError::Anonymous);
    }
    if let Some(shard) = registry::registered_shard(caller) {
        return Ok(shard);
    }
    // A registered user still learns their shard; nobody new is admitted while paused.
    if state::totals().is_paused() {
        return Err(RegisterError::PlatformPaused);
    }
    let Some(_in_flight) = RegistrationGuard::acquire(caller) else {
        return Err(RegisterError::InProgress);
    };
    let hard_limit = state::config().shard_hard_limit;
    let mut admitted = None;
    let shard = match state::user(caller) {
        Some(entry) => state::shard(entry.shard).expect("an indexed shard exists").id,
        None => {
            let admission = admission::check(caller, proof.as_ref(), |requirement, presentation| {
                credential::verify_presentation(requirement, caller, presentation, ic_cdk::api::time())
            })?;
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
            admission::admit(caller, &admission)?;
            admitted = Some(admission);
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
            admitted.iter().for_each(|a| admission::release(caller, a));
            Err(RegisterError::ShardUnavailable { shard, detail: format!("the shard refused: {refused:?}") })
        }
        Err(detail) => {
            registry::release(caller, state::config().shard_hard_limit);
            admitted.iter().for_each(|a| admission::release(caller, a));
            Err(RegisterError::ShardUnavailable { shard, detail })
        }
    }
}

pub async fn ensure_capacity() -> Result<Option<Principal>, String> {
    scaling::ensure_capacity().await
}

/// `request_allowance`: the caller must be a shard the hub created (and not disabled).
pub fn request_allowance(caller: Principal, report: ShardReport) -> Result<AllowanceGrant, AllowanceError> {
    registry::request_allowance(caller, &report, &state::config(), ic_cdk::api::time())
}

/// `mint_withdrawal`: see `mint` (the rules) and `registry::begin_mint` (the checks). The
/// journal entry and the attempt count are committed before the ledger call; the guard keeps a
/// second attempt of the same withdrawal out while one is awaiting the ledger.
pub async fn mint_withdrawal(caller: Principal, req: MintRequest) -> Result<u64, MintError> {
    if state::totals().is_paused() {
        // Nothing is journaled: the shard keeps the withdrawal Pending and resends it after the resume.
        return Err(MintError::TryLater {
            reason: "the platform is paused by governance (function 1010); the withdrawal is minted after the resume"
                .into(),
        });
    }
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
