//! Update methods. Each checks its caller first (see `guards`), then runs the domain logic of
//! `state`; `submit_quiz` adds the calls to learning_content and (when needed) the hub.

use crate::guards::{self, PendingSubmission, SubmissionLock};
use crate::model::{MAX_ANSWERS, MAX_UNIT_ID_LEN};
use crate::rewards::{self, RefillError};
use crate::{calls, state, withdrawals};
use candid::Principal;
use platform_types::{
    AllowanceError, ProfileInput, QuizOutcome, ShardConfigPush, ShardError, UnstakeError, UserView, VerifyError,
    Withdrawal,
};

fn now() -> u64 {
    ic_cdk::api::time()
}

/// Hub only. Idempotent: an existing user stays as is.
pub fn register_user(caller: Principal, user: Principal) -> Result<(), ShardError> {
    guards::caller_is_hub(caller)?;
    crate::battery::ask_if_low();
    state::with_mut(|s| s.register_user(user, now()))
}

/// Hub only. `epoch`: the hub's status epoch for this shard; an older push than the one in
/// force is ignored (answered Ok: the newer status stands, the hub confirms by epoch).
pub fn set_disabled(caller: Principal, disabled: bool, epoch: Option<u64>) -> Result<(), ShardError> {
    guards::caller_is_hub(caller)?;
    state::with_mut(|s| s.apply_status(disabled, epoch));
    crate::jobs::rearm_withdrawal_round();
    Ok(())
}

/// Hub only: the configuration in force (see `ShardState::apply_config`). A changed sync
/// interval re-arms the sync job (a new batch period applies from the next unstake).
pub fn apply_config(caller: Principal, push: ShardConfigPush) -> Result<u64, ShardError> {
    guards::caller_is_hub(caller)?;
    let old_interval = state::with(|s| s.config().shard_sync_interval_secs);
    let (version, changed) = state::with_mut(|s| s.apply_config(push.version, push.config, push.platform_paused))
        .map_err(|detail| ShardError::BadInput { detail })?;
    if changed && state::with(|s| s.config().shard_sync_interval_secs) != old_interval {
        crate::jobs::restart_sync();
    }
    Ok(version)
}

/// Hub only: the answer keys learning_content published, relayed by the hub (applied only if
/// newer; a malformed set changes nothing). Answers the version in force.
pub fn apply_answer_keys(caller: Principal, set: platform_types::answer_keys::AnswerKeySet) -> Result<u64, ShardError> {
    guards::caller_is_hub(caller)?;
    state::with_mut(|s| s.apply_answer_keys(&set)).map_err(|detail| ShardError::BadInput { detail })
}

/// Hub only: see `ShardState::set_frozen`.
pub fn set_migration_freeze(caller: Principal, frozen: bool) -> Result<platform_types::MigrationFreeze, ShardError> {
    guards::caller_is_hub(caller)?;
    state::with_mut(|s| s.set_frozen(frozen, now()));
    crate::jobs::rearm_withdrawal_round();
    if frozen {
        ic_cdk::println!("user_profile: {}", "frozen for a migration (function 1012)");
    }
    Ok(platform_types::MigrationFreeze {
        frozen,
        users: state::with(|s| s.user_count()),
        calls_in_flight: guards::calls_in_flight(),
    })
}

/// The hub, or a reader the DAO named (`user_export_readers`): see `ShardState::export_page`.
pub fn export_users(
    caller: Principal,
    cursor: Option<Principal>,
    limit: u32,
) -> Result<platform_types::ExportedUsers, ShardError> {
    guards::caller_may_export_users(caller)?;
    let page = state::with(|s| s.export_page(cursor, limit, guards::calls_in_flight()));
    let sha256 = state::export::sha256_of(&page);
    Ok(platform_types::ExportedUsers { page, sha256 })
}

/// Hub only: see `ShardState::import_page`.
pub fn import_users(
    caller: Principal,
    args: platform_types::ImportUsersArgs,
) -> Result<platform_types::ImportReceipt, ShardError> {
    guards::caller_is_hub(caller)?;
    let receipt = state::with_mut(|s| s.import_page(&args))?;
    // Imported Pending withdrawals are sent by this shard's rounds from now on.
    crate::jobs::rearm_withdrawal_round();
    if !receipt.already_imported {
        ic_cdk::println!("user_profile: {}", &format!("imported {} users from shard #{}", receipt.users_imported, args.source_shard));
    }
    Ok(receipt)
}

/// Cycles a retired shard keeps when it returns the rest to the hub (what its last calls and
/// its deletion need).
const RETURN_CYCLES_RESERVE: u128 = 100_000_000_000;

/// Hub only, frozen shards only (a live shard must keep its cycles).
pub async fn return_cycles_to_hub(caller: Principal) -> Result<candid::Nat, ShardError> {
    guards::caller_is_hub(caller)?;
    if !state::with(|s| s.is_frozen()) {
        return Err(ShardError::BadInput { detail: "only a shard frozen for a migration returns its cycles".into() });
    }
    let amount = ic_cdk::api::canister_liquid_cycle_balance().saturating_sub(RETURN_CYCLES_RESERVE);
    if amount == 0 {
        return Ok(candid::Nat::from(0u64));
    }
    calls::deposit_cycles(caller, amount).await.map_err(|detail| ShardError::BadInput { detail })?;
    ic_cdk::println!("user_profile: {}", &format!("returned {amount} cycles to the hub"));
    Ok(candid::Nat::from(amount))
}

/// The user themself only: the record changed is always the caller's.
pub fn update_profile(caller: Principal, input: ProfileInput) -> Result<UserView, ShardError> {
    guards::caller_is_registered(caller)?;
    crate::battery::ask_if_low();
    guards::shard_enabled()?;
    state::with_mut(|s| s.update_profile(caller, &input, now()))
}

/// Shape checks that need no state.
pub fn check_submission_input(unit_id: &str, answers: &[u32]) -> Result<(), ShardError> {
    if unit_id.is_empty() || unit_id.len() > MAX_UNIT_ID_LEN {
        return Err(ShardError::BadInput { detail: format!("unit_id: 1 to {MAX_UNIT_ID_LEN} bytes") });
    }
    if answers.is_empty() || answers.len() > MAX_ANSWERS {
        return Err(ShardError::BadInput { detail: format!("answers: 1 to {MAX_ANSWERS} answers") });
    }
    Ok(())
}

const NOT_COUNTED: &str = "The attempt was not counted; please submit again later.";

/// How a submission goes on after a failed refill: `Err` stops it (nothing was counted),
/// `Ok(why)` lets it go ahead unfunded (a fail still counts; a pass is paid from allowance that
/// arrives meanwhile, or else owed).
pub fn after_failed_refill(e: RefillError) -> Result<String, ShardError> {
    match e {
        RefillError::HardCapReached | RefillError::Refused(AllowanceError::HardCapReached) => {
            Err(ShardError::RewardsExhausted)
        }
        RefillError::Disabled | RefillError::Refused(AllowanceError::ShardDisabled) => Err(ShardError::ShardDisabled),
        // Single-flight: another submission (or the proactive refill a pass scheduled) is
        // already fetching allowance. With local verification a burst of submissions meets this
        // often: they go ahead, and a pass is paid from what that refill brings (or owed and
        // paid in order when it lands), rather than telling the learner to retry.
        RefillError::InFlight => Ok("the shard is fetching more rewards from the hub".into()),
        RefillError::Refused(AllowanceError::UnknownShard) => Ok("the hub does not recognise this shard".into()),
        RefillError::Failed(detail) => Ok(detail),
    }
}

/// Where a submission stands after its first step.
enum Submission {
    /// Scored with the local answer keys and settled.
    Settled(QuizOutcome),
    /// Counted, its reward reserved: waiting for learning_content's verdict.
    Begun(state::Ticket),
}

/// A submission the local answer keys refuse (nothing was counted: no call was made).
fn refused_locally(e: VerifyError) -> ShardError {
    match e {
        VerifyError::UnknownUnit { unit_id } => ShardError::UnknownUnit { unit_id },
        VerifyError::BadAnswers { detail } => ShardError::BadInput { detail: format!("answers: {detail}") },
        VerifyError::NotAShard => ShardError::ContentUnavailable { detail: format!("unexpected verdict. {NOT_COUNTED}") },
    }
}

/// Submits answers to a unit's quiz; see docs/architecture.md ("user_profile").
///
/// 1. Input shape, registration and the disabled flag are checked; a second submission of the
///    same user while one is in flight gets `SubmissionInProgress`.
/// 2. The daily limit and completion are checked. With less than one reward of free allowance
///    the shard first awaits a refill from the hub (single-flight; if another refill is in
///    flight the user is told to retry). If the hub cannot fund it (unreachable, or the day's
///    emission budget is used up) the attempt goes ahead unfunded: a fail counts as usual, a
///    pass counts and is paid from allowance that arrived meanwhile, or else its reward is owed
///    (`QuizOutcome::reward_owed_e8s`) and paid once, in order, when allowance arrives. While
///    the platform is paused (function 1010) nothing is accepted (`PlatformPaused`).
/// 3. With the answer keys the hub relayed (local verification, issue 14) the submission is
///    scored here, in the same message: an unknown unit or malformed answers are refused before
///    anything is counted. Before a first key set arrived, the attempt is counted and the
///    reward reserved *before* learning_content's `verify_quiz` is asked, so no interleaving
///    can spend the same allowance twice.
/// 4. The verdict credits the reward and marks the unit completed (pass) or releases the
///    reservation (fail; the attempt stays counted). Asked of learning_content, an unknown unit
///    or a wrong answer count also counts the attempt (each cost a call). Without a verdict
///    (learning_content unreachable) the attempt is not counted.
pub async fn submit_quiz(caller: Principal, unit_id: String, answers: Vec<u32>) -> Result<QuizOutcome, ShardError> {
    // Ask before the awaits: the balance the previous messages left (see `battery`).
    crate::battery::ask_if_low();
    check_submission_input(&unit_id, &answers)?;
    guards::shard_enabled()?;
    let _lock = SubmissionLock::acquire(caller)?;

    // Why the hub could not fund this submission, once a refill failed.
    let mut unfunded: Option<String> = None;
    let mut refilled = false;
    let ticket = loop {
        // With local answer keys: scored, counted and settled in this one step (scored again
        // after a refill's await: a key set that arrived meanwhile is the one that counts).
        // Unknown units and malformed answers are refused before anything is counted.
        let step = state::with_mut(|s| match s.verify_locally(&unit_id, &answers) {
            Some(Ok(scored)) => s.submit_scored(caller, &unit_id, &scored, now(), unfunded.is_some()).map(Submission::Settled),
            Some(Err(e)) => Err(state::Blocked::Rejected(refused_locally(e))),
            None => s.begin_submission(caller, &unit_id, now(), unfunded.is_some()).map(Submission::Begun),
        });
        match step {
            Ok(Submission::Settled(outcome)) => {
                if let Some(why) = &unfunded {
                    ic_cdk::println!("user_profile: submission of {caller} went ahead unfunded: {why}");
                }
                if outcome.passed {
                    rewards::schedule_refill_if_low();
                }
                return Ok(outcome);
            }
            Ok(Submission::Begun(ticket)) => break ticket,
            Err(state::Blocked::Rejected(e)) => return Err(e),
            Err(state::Blocked::NeedsAllowance) if !refilled => {
                refilled = true;
                if let Err(e) = rewards::refill().await {
                    unfunded = Some(after_failed_refill(e)?);
                }
            }
            // The hub granted less than one reward without reaching the cap.
            Err(state::Blocked::NeedsAllowance) => unfunded = Some("the hub granted less than one reward".into()),
        }
    };
    if let Some(why) = &unfunded {
        ic_cdk::println!("user_profile: submission of {caller} goes ahead unfunded: {why}");
    }
    // No key set yet: learning_content's verify_quiz decides.
    let pending = PendingSubmission::new(ticket);

    let content = state::with(|s| s.learning_content_id());
    let verdict = calls::verify_quiz(content, &unit_id, &answers).await;
    // Every path but a verdict drops `pending`, which uncounts the attempt and releases the
    // reservation.
    match verdict {
        Ok(Ok(result)) => {
            let outcome = pending.finish(&result, now());
            if outcome.passed {
                rewards::schedule_refill_if_low();
            }
            Ok(outcome)
        }
        // Malformed submissions spend an attempt: each one cost a call to learning_content.
        Ok(Err(VerifyError::UnknownUnit { unit_id })) => {
            pending.refuse();
            Err(ShardError::UnknownUnit { unit_id })
        }
        Ok(Err(VerifyError::BadAnswers { detail })) => {
            pending.refuse();
            Err(ShardError::BadInput { detail: format!("answers: {detail} (this counted as one of today's attempts)") })
        }
        Ok(Err(VerifyError::NotAShard)) => Err(ShardError::ContentUnavailable {
            detail: format!("learning_content does not recognise this shard yet. {NOT_COUNTED}"),
        }),
        Err(detail) => Err(ShardError::ContentUnavailable { detail: format!("{detail}. {NOT_COUNTED}") }),
    }
}

/// Unstakes `amount_e8s` of the caller's staked balance to their ledger account. The debit and
/// the Pending journal entry are committed at once. With batching on (`withdrawal_batch_secs`,
/// the default) the answer is that Pending entry: the shard's next withdrawal round sends it to
/// the hub with the others. With batching off the hub is called now, and the answer is the entry
/// after that first attempt: Completed, Failed (credited back) or still Pending (retried by the
/// rounds; see `get_my_withdrawals`).
pub async fn unstake(caller: Principal, amount_e8s: u64) -> Unstaked {
    // Ask before the awaits: the balance the previous messages left (see `battery`).
    crate::battery::ask_if_low();
    let batch_ns = state::with(|s| s.config().withdrawal_batch()).saturating_mul(1_000_000_000);
    let now = now();
    if batch_ns > 0 {
        let queued = match state::with_mut(|s| s.queue_unstake(caller, amount_e8s, now, now + batch_ns)) {
            Ok(w) => w,
            Err(e) => return Unstaked { answer: Err(e), send_round: false },
        };
        // The oldest waiting withdrawal's window has closed: this message sends the round after
        // its reply (no timer: under load, rounds cost no timer executions). Otherwise the
        // round's timer waits one window more for such a message.
        let first_due = state::with(|s| s.next_withdrawal_due_ns()).expect("a withdrawal was just queued");
        let send_round = first_due <= now;
        if !send_round {
            crate::jobs::arm_withdrawal_round(first_due + batch_ns);
        }
        return Unstaked { answer: Ok(queued), send_round };
    }
    let (key, request) = match state::with_mut(|s| s.begin_unstake_attempt(caller, amount_e8s, now)) {
        Ok(started) => started,
        Err(e) => return Unstaked { answer: Err(e), send_round: false },
    };
    let settled = withdrawals::first_attempt(&key, request).await.expect("the withdrawal was just journaled");
    // A round for its retry if it is still Pending (a trap before this line: the backstop).
    crate::jobs::rearm_withdrawal_round();
    Unstaked { answer: Ok(settled), send_round: false }
}

/// What `unstake` answers, and whether the same message then runs the withdrawal round.
pub struct Unstaked {
    pub answer: Result<Withdrawal, UnstakeError>,
    pub send_round: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::{AllowanceGrant, PlatformConfig, ShardInitArgs, VerifyResult};

    #[test]
    fn submission_input_is_checked() {
        assert!(check_submission_input("u1", &[0]).is_ok());
        for (unit, answers) in [("", vec![0]), (&"u".repeat(MAX_UNIT_ID_LEN + 1)[..], vec![0]), ("u1", vec![])] {
            assert!(matches!(check_submission_input(unit, &answers), Err(ShardError::BadInput { .. })));
        }
        assert!(check_submission_input("u1", &vec![0; MAX_ANSWERS + 1]).is_err());
    }

    #[test]
    fn only_a_hard_cap_means_rewards_are_exhausted() {
        assert_eq!(after_failed_refill(RefillError::HardCapReached), Err(ShardError::RewardsExhausted));
        assert_eq!(
            after_failed_refill(RefillError::Refused(AllowanceError::ShardDisabled)),
            Err(ShardError::ShardDisabled)
        );
        assert!(after_failed_refill(RefillError::InFlight).is_ok(), "a refill under way does not stop the attempt");
        // An unreachable or confused hub does not stop the attempt; only its reward is at stake.
        assert_eq!(after_failed_refill(RefillError::Failed("down".into())), Ok("down".into()));
        assert!(after_failed_refill(RefillError::Refused(AllowanceError::UnknownShard)).is_ok());
    }

    /// The thread-local state as the canister uses it: a dropped pending submission (the
    /// verify call failed, or a trap dropped the future) gives everything back.
    #[test]
    fn a_dropped_pending_submission_is_cancelled() {
        let user = Principal::from_slice(&[9; 29]);
        let config = PlatformConfig { reward_per_quiz_e8s: 10, allowance_chunk_e8s: 100, ..PlatformConfig::default() };
        state::set_init_args(ShardInitArgs {
            hub_id: Principal::anonymous(),
            learning_content_id: Principal::anonymous(),
            config,
            config_version: None,
            module_hash: None,
        });
        state::with_mut(|s| {
            s.register_user(user, 0).unwrap();
            let claimed = s.claim_report(true);
            s.report_succeeded(&claimed, Some(&AllowanceGrant { granted_e8s: 100, shard_granted_total_e8s: 100, withheld: None }), 0);
        });
        let ticket = state::with_mut(|s| s.begin_submission(user, "u", 0, false)).unwrap();
        drop(PendingSubmission::new(ticket));
        let c = state::with(|s| s.counters().clone());
        assert_eq!((c.allowance_available_e8s, c.allowance_reserved_e8s, c.quizzes_submitted), (100, 0, 0));
        assert_eq!(state::with(|s| s.view(&user, 0).unwrap().attempts_today), 0);

        let ticket = state::with_mut(|s| s.begin_submission(user, "u", 0, false)).unwrap();
        let out =
            PendingSubmission::new(ticket).finish(&VerifyResult { correct: 1, total: 1, passed: true }, 1);
        assert_eq!(out.reward_e8s, 10);
        let c = state::with(|s| s.counters().clone());
        assert_eq!((c.allowance_available_e8s, c.allowance_reserved_e8s, c.total_staked_e8s), (90, 0, 10));
    }
}
