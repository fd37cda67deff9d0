//! `user_profile` shard canister. Entry points only; the logic lives in the modules:
//! `lifecycle` (init, upgrade, timers), `updates`, `queries`, `guards` (caller checks and
//! in-flight guards), `state` (stable state and domain logic), `model` (stored types and their
//! sizes), `rewards` (allowance and reports to the hub), `calls` (other canisters).

mod calls;
mod guards;
mod inspect;
mod journal;
mod lifecycle;
pub mod model;
mod queries;
mod rewards;
mod state;
mod updates;
mod withdrawals;

use candid::Principal;
use platform_types::{
    ProfileInput, QuizOutcome, ShardConfigPush, ShardError, ShardInitArgs, ShardStats, UnstakeError, UserView,
    VersionInfo, Withdrawal,
};

pub const CANISTER_NAME: &str = "user_profile";

#[ic_cdk::init]
fn init(args: ShardInitArgs) {
    lifecycle::init(args);
}

#[ic_cdk::post_upgrade]
fn post_upgrade() {
    lifecycle::post_upgrade();
}

/// Ingress filter (see `inspect`): accepts only ingress its method could accept, so the shard
/// does not pay for the rest. Not a security boundary: every method keeps its own checks.
#[ic_cdk::inspect_message]
fn inspect_message() {
    match inspect::check(&ic_cdk::api::msg_method_name(), ic_cdk::api::msg_caller(), &inspect::ShardState) {
        Ok(()) => ic_cdk::api::accept_message(),
        // A trap refuses the message with the reason (so the caller sees why).
        Err(reason) => ic_cdk::trap(format!("user_profile refuses this ingress message: {reason}")),
    }
}

/// Hub only: adds a user to this shard (idempotent).
#[ic_cdk::update]
fn register_user(user: Principal) -> Result<(), ShardError> {
    updates::register_user(ic_cdk::api::msg_caller(), user)
}

/// Hub only: a disabled shard rejects every state-changing user call; reads keep working.
/// `epoch` (the hub's status epoch for this shard): a push older than the one in force changes
/// nothing, so a slow old push cannot undo a newer status.
#[ic_cdk::update]
fn set_disabled(disabled: bool, epoch: Option<u64>) -> Result<(), ShardError> {
    updates::set_disabled(ic_cdk::api::msg_caller(), disabled, epoch)
}

/// Hub only: the platform configuration in force, pushed after a config proposal. Applied only
/// if its version is newer; answers the version in force.
#[ic_cdk::update]
fn apply_config(push: ShardConfigPush) -> Result<u64, ShardError> {
    updates::apply_config(ic_cdk::api::msg_caller(), push)
}

/// The caller's own profile (validated and normalised; `BadInput` names the field).
#[ic_cdk::update]
fn update_profile(input: ProfileInput) -> Result<UserView, ShardError> {
    updates::update_profile(ic_cdk::api::msg_caller(), input)
}

/// The caller's answers to a unit's quiz (one option index per question). A pass credits the
/// reward to the caller's staked balance; every verified attempt counts toward the daily limit.
#[ic_cdk::update]
async fn submit_quiz(unit_id: String, answers: Vec<u32>) -> Result<QuizOutcome, ShardError> {
    updates::submit_quiz(ic_cdk::api::msg_caller(), unit_id, answers).await
}

/// Withdraws `amount_e8s` of the caller's staked balance to their ledger account (principal,
/// default subaccount), minted by the hub. Exactly once: see `get_my_withdrawals` for the
/// state of each withdrawal (a Pending one is retried by the shard until it settles).
#[ic_cdk::update]
async fn unstake(amount_e8s: u64) -> Result<Withdrawal, UnstakeError> {
    updates::unstake(ic_cdk::api::msg_caller(), amount_e8s).await
}

/// The caller's withdrawals, newest first: (offset, limit), limit capped at 100.
#[ic_cdk::query]
fn get_my_withdrawals(offset: u64, limit: u64) -> Result<Vec<Withdrawal>, ShardError> {
    queries::get_my_withdrawals(ic_cdk::api::msg_caller(), offset, limit)
}

/// The caller's profile, staked balance and today's counters.
#[ic_cdk::query]
fn get_my_profile() -> Result<UserView, ShardError> {
    queries::get_my_profile(ic_cdk::api::msg_caller(), ic_cdk::api::time())
}

/// The caller's completed unit ids in unit-id order: (offset, limit), limit capped at 100.
#[ic_cdk::query]
fn get_my_progress(offset: u64, limit: u64) -> Result<Vec<String>, ShardError> {
    queries::get_my_progress(ic_cdk::api::msg_caller(), offset, limit)
}

#[ic_cdk::query]
fn get_shard_stats() -> ShardStats {
    queries::get_shard_stats()
}

#[ic_cdk::query]
fn get_version() -> VersionInfo {
    queries::get_version()
}

#[ic_cdk::query]
fn get_init_args() -> ShardInitArgs {
    queries::get_init_args()
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface {
    #[test]
    fn matches_committed_did_file() {
        platform_types::candid_check::check_platform_canister(super::CANISTER_NAME, &super::__export_service());
    }
}
