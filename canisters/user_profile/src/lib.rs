//! `user_profile` shard canister. Entry points only; the logic lives in the modules:
//! `lifecycle` (init, upgrade, timers), `updates`, `queries`, `guards` (caller checks and
//! in-flight guards), `state` (stable state and domain logic), `model` (stored types and their
//! sizes), `rewards` (allowance and reports to the hub), `calls` (other canisters).

mod battery;
mod calls;
mod cleanup;
mod guards;
mod inspect;
mod jobs;
mod journal;
mod lifecycle;
mod metrics;
pub mod model;
mod queries;
mod rewards;
mod state;
mod updates;
mod withdrawals;

use candid::Principal;
use std::marker::PhantomData;
use platform_types::{
    ProfileInput, QuizOutcome, ShardConfigPush, ShardError, ShardInitArgs, ShardStats, ShardUpgradeArgs, UnstakeError,
    UserView, VersionInfo, Withdrawal,
};

pub const CANISTER_NAME: &str = "user_profile";

#[ic_cdk::init]
fn init(args: ShardInitArgs) {
    lifecycle::init(args);
}

/// `opt ShardUpgradeArgs` (the hub's rollout passes the new module's hash); none or empty
/// arguments are accepted.
#[ic_cdk::post_upgrade]
fn post_upgrade(args: Option<ShardUpgradeArgs>) {
    lifecycle::post_upgrade(args);
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
// Replied through `reply` (the type table of `ShardError` kept in the heap).
#[ic_cdk::update(manual_reply = true)]
fn register_user(user: Principal) -> PhantomData<Result<(), ShardError>> {
    reply(updates::register_user(ic_cdk::api::msg_caller(), user))
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

/// Hub only: the answer keys of every live unit, published by learning_content and relayed by
/// the hub, so that quizzes are verified here with no call per quiz. Applied only if newer;
/// never served by any method. Answers the version in force.
#[ic_cdk::update]
fn apply_answer_keys(set: platform_types::answer_keys::AnswerKeySet) -> Result<u64, ShardError> {
    updates::apply_answer_keys(ic_cdk::api::msg_caller(), set)
}

/// Hub only (a migration, function 1012): freezes the shard (state-changing calls answer
/// `ShardMigrating`, no report or withdrawal retry is sent), or unfreezes it on a rollback.
/// Answers how many calls to other canisters are still in flight: the hub copies once it is 0.
#[ic_cdk::update]
fn set_migration_freeze(frozen: bool) -> Result<platform_types::MigrationFreeze, ShardError> {
    updates::set_migration_freeze(ic_cdk::api::msg_caller(), frozen)
}

/// The hub, or a principal the DAO named in the configuration's `user_export_readers`
/// (function 1001, for an off-chain archive): a page of everything this shard keeps about its
/// users, after `cursor` in principal order (`limit` capped at 500; the page also stops near
/// 1.5 MB), with the sha256 of the page's Candid bytes. The last page (`next_cursor` = null)
/// carries the shard-wide totals.
#[ic_cdk::query]
fn export_users(cursor: Option<Principal>, limit: u32) -> Result<platform_types::ExportedUsers, ShardError> {
    updates::export_users(ic_cdk::api::msg_caller(), cursor, limit)
}

/// Hub only: adds a page exported by another shard (checksum checked first; a page imported
/// before changes nothing; any bad user refuses the whole page).
#[ic_cdk::update]
fn import_users(args: platform_types::ImportUsersArgs) -> Result<platform_types::ImportReceipt, ShardError> {
    updates::import_users(ic_cdk::api::msg_caller(), args)
}

/// Hub only, on a retired (migrated, frozen, empty of work) shard before its deletion: sends
/// its cycles but a small reserve back to the hub. Answers the cycles sent.
#[ic_cdk::update]
async fn return_cycles_to_hub() -> Result<candid::Nat, ShardError> {
    updates::return_cycles_to_hub(ic_cdk::api::msg_caller()).await
}

/// The caller's own profile (validated and normalised; `BadInput` names the field).
#[ic_cdk::update]
fn update_profile(input: ProfileInput) -> Result<UserView, ShardError> {
    updates::update_profile(ic_cdk::api::msg_caller(), input)
}

/// The caller's answers to a unit's quiz (one option index per question). A pass credits the
/// reward to the caller's staked balance; every verified attempt counts toward the daily limit.
#[ic_cdk::update(manual_reply = true)]
async fn submit_quiz(unit_id: String, answers: Vec<u32>) -> PhantomData<Result<QuizOutcome, ShardError>> {
    reply(updates::submit_quiz(ic_cdk::api::msg_caller(), unit_id, answers).await)
}

/// Replies `value` with its Candid type table kept in the heap (`platform_types::reply_encoding`:
/// the table cost ~350,000 instructions a message to rebuild). The `PhantomData<T>` return keeps
/// `T` in the Candid interface (`manual_reply`).
fn reply<T: candid::CandidType + 'static>(value: T) -> PhantomData<T> {
    ic_cdk::api::msg_reply(platform_types::reply_encoding::encode(value));
    PhantomData
}

/// Withdraws `amount_e8s` of the caller's staked balance to their ledger account (principal,
/// default subaccount), minted by the hub. Exactly once: see `get_my_withdrawals` for the
/// state of each withdrawal (a Pending one is retried by the shard until it settles).
#[ic_cdk::update(manual_reply = true)]
async fn unstake(amount_e8s: u64) -> PhantomData<Result<Withdrawal, UnstakeError>> {
    let unstaked = updates::unstake(ic_cdk::api::msg_caller(), amount_e8s).await;
    let replied = reply(unstaked.answer);
    // The learner has the answer; a batch whose window has closed goes in this same message.
    if unstaked.send_round {
        jobs::withdrawal_round().await;
    }
    replied
}

/// The caller's withdrawals, newest first: (offset, limit), limit capped at 100.
#[ic_cdk::query(manual_reply = true)]
fn get_my_withdrawals(offset: u64, limit: u64) -> PhantomData<Result<Vec<Withdrawal>, ShardError>> {
    reply(queries::get_my_withdrawals(ic_cdk::api::msg_caller(), offset, limit))
}

/// The caller's profile, staked balance and today's counters.
#[ic_cdk::query(manual_reply = true)]
fn get_my_profile() -> PhantomData<Result<UserView, ShardError>> {
    reply(queries::get_my_profile(ic_cdk::api::msg_caller(), ic_cdk::api::time()))
}

/// The caller's completed unit ids in unit-id order: (offset, limit), limit capped at 100.
#[ic_cdk::query(manual_reply = true)]
fn get_my_progress(offset: u64, limit: u64) -> PhantomData<Result<Vec<String>, ShardError>> {
    reply(queries::get_my_progress(ic_cdk::api::msg_caller(), offset, limit))
}

/// The caller deletes their own profile: refused while withdrawals are pending, rewards are
/// owed or a submission is in flight; a staked balance must be withdrawn first, or given up
/// with `forfeit_staked_balance = true` (it goes back to the shard's reward allowance). The
/// profile and withdrawal history are deleted; completed unit ids are kept (docs/operations.md).
#[ic_cdk::update]
fn delete_my_profile(args: platform_types::DeleteProfileArgs) -> Result<platform_types::ProfileDeleted, platform_types::DeleteProfileError> {
    cleanup::delete_my_profile(ic_cdk::api::msg_caller(), args)
}

/// What the cleanup timer did: settled withdrawals compacted, learners archived, the stable
/// memory and its budget (counts only).
#[ic_cdk::query]
fn get_cleanup_status() -> platform_types::ShardCleanupStatus {
    cleanup::status()
}

#[ic_cdk::query]
fn get_shard_stats() -> ShardStats {
    queries::get_shard_stats()
}

/// `/metrics` in the Prometheus text format (uncertified: read it through the raw domain,
/// `<shard id>.raw.icp0.io/metrics`); every other path is 404.
#[ic_cdk::query]
fn http_request(req: platform_types::http::HttpRequest) -> platform_types::http::HttpResponse {
    metrics::http_request(&req)
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
