//! Update methods. Between awaits, state changes go through `registry` (atomic steps).

use crate::guards::{MintGuard, RegistrationGuard};
use crate::mint::{LedgerOutcome, MintKey};
use crate::registry::{RegistrationDecision, ShardRegistration};
use crate::{admission, calls, credential, registry, scaling, state};
use candid::Principal;
use platform_types::{AllowanceError, AllowanceGrant, MintError, MintRequest, MAX_MINT_BATCH, RegisterError, RegistrationProof, ShardReport};

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
    // The index entry is read once (a lookup costs ~35,000 instructions); nothing below awaits
    // before it is used.
    let entry = state::user(caller);
    if let Some(shard) = entry.and_then(registry::shard_if_registered) {
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
    let shard = match entry {
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
    let outcome = calls::register_user(shard, caller).await;
    match registry::registration_decision(&outcome) {
        RegistrationDecision::Confirm => {
            registry::confirm(caller);
            return Ok(shard);
        }
        RegistrationDecision::Release => {
            registry::release(caller, state::config().shard_hard_limit);
            admitted.iter().for_each(|a| admission::release(caller, a));
        }
        // The proof stays consumed by this caller: the next `register` completes this same entry.
        RegistrationDecision::KeepPending => {}
    }
    let detail = match outcome {
        ShardRegistration::Refused(refused) => format!("the shard refused: {refused:?}"),
        ShardRegistration::NotExecuted(detail) => detail,
        ShardRegistration::Unknown(detail) => {
            format!("{detail}. The shard may have registered you: call register again to complete it.")
        }
        ShardRegistration::Created => unreachable!("confirmed above"),
    };
    Err(RegisterError::ShardUnavailable { shard, detail })
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
/// second attempt of the same withdrawal out while one is awaiting the ledger. The first attempt
/// reads the ledger's tip and journals the exact `TransferArg` bytes first; an entry whose
/// attempt came back `TooOld` after an unknown outcome searches the ledger's blocks instead.
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
    let key = attempt.key;
    let Some(_guard) = MintGuard::acquire(key) else {
        unreachable!("begin_mint checked the guard in this same execution")
    };
    let ledger = state::init_args().expect("initialized").ledger_id;
    if attempt.record.block_search.is_some() {
        return search_blocks(ledger, key).await;
    }
    // The tip bounds the block search only if no earlier attempt may have minted (an attempt
    // whose tip read failed sent nothing, so the next one reads it again). A block this hub saw
    // minted is as good a bound (the ledger is at least that long): the tip is read only before
    // the hub's first mint.
    let transfer_arg = if attempt.record.transfer_arg.is_none() && !attempt.record.earlier_attempt_may_have_minted() {
        match state::mint_totals().ledger_length_seen {
            Some(seen) => registry::journal_transfer_arg(key, Some(seen)),
            None => match calls::ledger_log_length(ledger).await {
                Ok(tip) => registry::journal_transfer_arg(key, Some(tip)),
                Err(e) => {
                    let why = format!("reading the ledger's tip before the first attempt: {e}");
                    return registry::finish_mint(key, LedgerOutcome::NotExecuted(why));
                }
            },
        }
    } else {
        match attempt.record.transfer_arg {
            // Journaled (by `begin_mint` in this execution, or by an earlier attempt).
            Some(bytes) => bytes,
            None => registry::journal_transfer_arg(key, None),
        }
    };
    let outcome = calls::mint(ledger, &transfer_arg).await;
    let (answer, search) = registry::finish_mint_attempt(key, outcome);
    // TooOld after an unknown outcome: the search starts at once (bounded like any other call).
    if search {
        return search_blocks(ledger, key).await;
    }
    answer
}

/// `mint_withdrawals`: each request as `mint_withdrawal` would take it, all awaiting the ledger
/// at once (the journal, the reservations and the per-withdrawal guard are the same, so a
/// request repeated inside a batch or sent beside a lone retry is minted once). A batch over
/// [`MAX_MINT_BATCH`] is not looked at: every answer is `TryLater`.
pub async fn mint_withdrawals(caller: Principal, requests: Vec<MintRequest>) -> Vec<Result<u64, MintError>> {
    if requests.len() > MAX_MINT_BATCH {
        let reason = format!("a batch holds at most {MAX_MINT_BATCH} withdrawals, this one {}", requests.len());
        return vec![Err(MintError::TryLater { reason }); requests.len()];
    }
    futures::future::join_all(requests.into_iter().map(|req| mint_withdrawal(caller, req))).await
}

/// Blocks one `mint_withdrawal` reads at most (pages of [`SEARCH_PAGE_BLOCKS`]); the shard's
/// next retry continues from the journaled cursor.
const SEARCH_PAGES_PER_CALL: usize = 10;
const SEARCH_PAGE_BLOCKS: u64 = 1_000;

async fn search_blocks(ledger: Principal, key: MintKey) -> Result<u64, MintError> {
    let mut answer = Err(MintError::TryLater { reason: "the block search has not started".into() });
    for _ in 0..SEARCH_PAGES_PER_CALL {
        let Some(next_block) = state::mint_record(key).and_then(|r| r.block_search).map(|s| s.next_block) else {
            break;
        };
        let more;
        (answer, more) = match calls::ledger_blocks(ledger, next_block, SEARCH_PAGE_BLOCKS).await {
            Ok((log_length, blocks)) => registry::apply_search_page(key, log_length, &blocks),
            Err(e) => (registry::search_page_failed(key, e), false),
        };
        if !more {
            break;
        }
    }
    answer
}
