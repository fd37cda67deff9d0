//! The unstake flow's calls: the withdrawal round, which sends queued withdrawals and due
//! retries to the hub in batches, and the first attempt `unstake` makes itself when batching is
//! off. The journal and its rules are in `journal` and `state`.

use crate::guards::WithdrawalFlight;
use crate::journal::{WithdrawalKey, BATCHES_PER_ROUND};
use crate::state::MintAnswer;
use crate::{calls, metrics, state};
use platform_types::{MintRequest, Withdrawal, MAX_MINT_BATCH};

fn now() -> u64 {
    ic_cdk::api::time()
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
    note_answer(&request, &answer);
    state::with_mut(|s| s.settle_withdrawal(key, answer, now()))
}

fn note_answer(request: &MintRequest, answer: &MintAnswer) {
    match answer {
        MintAnswer::Minted(_) => {}
        MintAnswer::Refused(e) if e.is_definite() => {
            metrics::error("withdrawal_mint_refused", &format!("withdrawal {} refused for certain (re-credited): {e:?}", request.withdrawal_id))
        }
        MintAnswer::Refused(e) => metrics::error("withdrawal_mint_unsettled", &format!("withdrawal {}: {e:?}", request.withdrawal_id)),
        MintAnswer::Unsettled(why) => metrics::error("withdrawal_mint_unsettled", &format!("withdrawal {}: {why}", request.withdrawal_id)),
    }
}

/// The withdrawal round (armed by `jobs` for the earliest due withdrawal): sends every due
/// Pending withdrawal (those queued by `unstake`, and retries whose backoff has passed) to the
/// hub in batches of [`MAX_MINT_BATCH`], [`BATCHES_PER_ROUND`] batches at most, all at once. Nothing is sent while the shard is disabled, or frozen for a
/// migration (its Pending withdrawals are retried by the shard they move to).
pub async fn send_round() {
    if state::with(|s| s.is_disabled() || s.is_frozen() || !s.has_pending_withdrawals()) {
        return;
    }
    // Queued entries are due at the end of their batch window: every one queued before the end
    // of the next window goes now (a retry may go up to a window early: harmless).
    let horizon = now().saturating_add(state::with(|s| s.config().withdrawal_batch()).saturating_mul(1_000_000_000));
    let due = state::with(|s| s.due_withdrawals(horizon, MAX_MINT_BATCH * BATCHES_PER_ROUND));
    // Counted (and their flights held) before any await; one in flight elsewhere is skipped.
    let hub = state::with(|s| s.hub_id());
    let mut batch = Vec::with_capacity(due.len());
    for key in due {
        let Some(flight) = WithdrawalFlight::acquire(&key) else { continue };
        if let Some(request) = state::with_mut(|s| s.begin_attempt(&key, now())) {
            batch.push((key, request, flight));
        }
    }
    let mut batches = Vec::new();
    while !batch.is_empty() {
        let rest = batch.split_off(batch.len().min(MAX_MINT_BATCH));
        batches.push(std::mem::replace(&mut batch, rest));
    }
    futures::future::join_all(batches.into_iter().map(|b| send_batch(hub, b))).await;
}

/// One `mint_withdrawals` call for `batch` and its answers applied (each entry re-read).
async fn send_batch(hub: candid::Principal, batch: Vec<(WithdrawalKey, MintRequest, WithdrawalFlight)>) {
    let requests: Vec<MintRequest> = batch.iter().map(|(_, r, _)| r.clone()).collect();
    let answers = calls::mint_withdrawals(hub, &requests).await;
    for ((key, request, _flight), answer) in batch.into_iter().zip(answers) {
        note_answer(&request, &answer);
        state::with_mut(|s| s.settle_withdrawal(&key, answer, now()));
    }
}
