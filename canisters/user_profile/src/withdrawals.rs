//! The unstake flow's calls: the first attempt made by `unstake` and the retries made by the
//! timer. The journal and its rules are in `journal` and `state`.

use crate::guards::WithdrawalFlight;
use crate::journal::{WithdrawalKey, RETRY_BATCH};
use crate::state::MintAnswer;
use crate::{calls, metrics, state};
use platform_types::{MintRequest, Withdrawal};

fn now() -> u64 {
    ic_cdk::api::time()
}

/// One attempt: sends the withdrawal's request to the hub and applies the answer. `None` if
/// the withdrawal is not Pending, or an attempt of it is already in flight (the entry is then
/// returned as it stands).
pub async fn attempt(key: &WithdrawalKey) -> Option<Withdrawal> {
    let Some(_flight) = WithdrawalFlight::acquire(key) else {
        return state::with(|s| s.withdrawal(key));
    };
    let Some((request, hub)) = state::with_mut(|s| Some((s.begin_attempt(key, now())?, s.hub_id()))) else {
        return state::with(|s| s.withdrawal(key));
    };
    send(key, request, hub, _flight).await
}

/// The first attempt of a withdrawal `unstake` just journaled with that attempt counted
/// (`ShardState::begin_unstake_attempt`), in the same execution.
pub async fn first_attempt(key: &WithdrawalKey, request: MintRequest) -> Option<Withdrawal> {
    let flight = WithdrawalFlight::acquire(key).expect("no attempt of a withdrawal journaled in this execution is in flight");
    let hub = state::with(|s| s.hub_id());
    send(key, request, hub, flight).await
}

/// Sends the request to the hub and applies the answer; `_flight` is held until then.
async fn send(key: &WithdrawalKey, request: MintRequest, hub: candid::Principal, _flight: WithdrawalFlight) -> Option<Withdrawal> {
    let answer = calls::mint_withdrawal(hub, &request).await;
    match &answer {
        MintAnswer::Minted(_) => {}
        MintAnswer::Refused(e) if e.is_definite() => {
            metrics::error("withdrawal_mint_refused", &format!("withdrawal {} refused for certain (re-credited): {e:?}", request.withdrawal_id))
        }
        MintAnswer::Refused(e) => metrics::error("withdrawal_mint_unsettled", &format!("withdrawal {}: {e:?}", request.withdrawal_id)),
        MintAnswer::Unsettled(why) => metrics::error("withdrawal_mint_unsettled", &format!("withdrawal {}: {why}", request.withdrawal_id)),
    }
    state::with_mut(|s| s.settle_withdrawal(key, answer, now()))
}

/// The retry timer: sends due Pending withdrawals again, [`RETRY_BATCH`] at most per run, all
/// at once. Nothing is sent while the shard is disabled, or frozen for a migration (its
/// Pending withdrawals are retried by the shard they move to).
pub async fn retry_due() {
    if state::with(|s| s.is_disabled() || s.is_frozen() || !s.has_pending_withdrawals()) {
        return;
    }
    let due = state::with(|s| s.due_withdrawals(now(), RETRY_BATCH));
    futures::future::join_all(due.iter().map(attempt)).await;
}
