//! `staking_hub` canister (admin-less). Entry points only; the logic lives in the modules:
//! `lifecycle` (init, upgrade, timer), `updates`, `queries`, `guards` (single-flight and
//! per-principal guards), `scaling` (shard provisioning, top-ups), `calls` (inter-canister
//! calls), `registry` (atomic state steps), `model` (plain-Rust domain logic), `state`
//! (stable structures).
//!
//! There are no setters, no controller-only methods and no way to change the shard code: the
//! shard Wasm is embedded at build time (`get_shard_wasm_hash`).

mod admission;
mod answer_keys;
mod battery;
mod calls;
mod compaction;
mod credential;
mod fleet;
mod guards;
mod inspect;
mod jobs;
mod lifecycle;
mod metrics;
mod migration;
mod mint;
mod model;
mod proposals;
/// Property tests of the allowance accounting (issue 15).
#[cfg(test)]
mod proptests;
mod queries;
mod refill;
mod registry;
mod restore;
mod scaling;
mod shard_wasm;
mod state;
mod updates;

use candid::Principal;
use platform_types::{
    EconomicConfigChanges, SetPlatformPausedArgs,
    AllowanceError, AllowanceGrant, ConfigOverrides, ConfigStatus, GlobalStats, HubInitArgs, HubUpgradeArgs, MintError,
    MintRequest, PlatformConfig, RegisterError, RegistrationPolicyView, RegistrationProof, ResolveWithdrawalArgs, RolloutCommand,
    RolloutStatus, SetRegistrationPolicyArgs, SetShardStatusArgs, ShardInfo, ShardReport, ValidationResult, VersionInfo,
};

// The credential crates link getrandom 0.2 (through rand_core), which needs a source on
// wasm32-unknown-unknown; the hub never draws random numbers, so any request fails.
#[cfg(target_arch = "wasm32")]
fn no_randomness(_: &mut [u8]) -> Result<(), getrandom::Error> {
    Err(getrandom::Error::UNSUPPORTED)
}
#[cfg(target_arch = "wasm32")]
getrandom::register_custom_getrandom!(no_randomness);

pub const CANISTER_NAME: &str = "staking_hub";

#[ic_cdk::init]
fn init(args: HubInitArgs) {
    lifecycle::init(args);
}

/// `opt HubUpgradeArgs`: none (or empty arguments) keeps everything.
#[ic_cdk::post_upgrade]
fn post_upgrade(args: Option<HubUpgradeArgs>) {
    lifecycle::post_upgrade(args);
}

/// Ingress filter (see `inspect`): accepts only ingress its method could accept, so the hub does
/// not pay for the rest. Not a security boundary: every method keeps its own checks.
#[ic_cdk::inspect_message]
fn inspect_message() {
    match inspect::check(&ic_cdk::api::msg_method_name(), ic_cdk::api::msg_caller(), &inspect::HubState) {
        Ok(()) => ic_cdk::api::accept_message(),
        // A trap refuses the message with the reason (so the caller sees why).
        Err(reason) => ic_cdk::trap(format!("staking_hub refuses this ingress message: {reason}")),
    }
}

/// Registers the caller (the learner) on a shard and returns the shard. Calling it again returns
/// the same shard. The anonymous principal is rejected. A new learner proves what the
/// registration policy asks for (`get_registration_policy`): an invite code or a credential
/// presentation; under `Open` the argument may be omitted.
// Replied through `platform_types::reply_encoding` (the type table of `RegisterError` is kept
// in the heap instead of being rebuilt per reply); `PhantomData` keeps the type in the interface.
#[ic_cdk::update(manual_reply = true)]
async fn register(proof: Option<RegistrationProof>) -> std::marker::PhantomData<Result<Principal, RegisterError>> {
    let answer = updates::register(ic_cdk::api::msg_caller(), proof).await;
    ic_cdk::api::msg_reply(platform_types::reply_encoding::encode(answer));
    std::marker::PhantomData
}

/// Who may register and what to present (no code hashes), for the web app.
#[ic_cdk::query]
fn get_registration_policy() -> RegistrationPolicyView {
    admission::view()
}

/// The shard of a registered user.
#[ic_cdk::query]
fn get_user_shard(user: Principal) -> Option<Principal> {
    queries::get_user_shard(user)
}

/// Creates a shard if every Active shard is at or over the soft limit (or there is none), or
/// retries the install of a shard whose install failed. Anyone may call it; creation is
/// single-flight. `Ok(None)`: nothing was needed, or a creation is already under way.
#[ic_cdk::update]
async fn ensure_capacity() -> Result<Option<Principal>, String> {
    updates::ensure_capacity().await
}

/// learning_content only: the answer keys of every live unit, with their version. The hub keeps
/// the newest set and pushes it to every shard (they verify quizzes locally); never served.
#[ic_cdk::update]
fn set_answer_keys(set: platform_types::answer_keys::AnswerKeySet) -> Result<u64, String> {
    let answer = answer_keys::set_answer_keys(ic_cdk::api::msg_caller(), set);
    if matches!(answer, Ok(v) if v > 0) {
        ic_cdk_timers::set_timer(std::time::Duration::ZERO, fleet::push_pending());
    }
    answer
}

/// Called by shards: records their stats and grants an allowance chunk when asked.
#[ic_cdk::update]
fn request_allowance(report: ShardReport) -> Result<AllowanceGrant, AllowanceError> {
    updates::request_allowance(ic_cdk::api::msg_caller(), report)
}

/// Called by shards: mints a user's withdrawal on the ledger, at most once per (shard,
/// withdrawal id), never more than the hub granted the shard. Answers a retry of a settled
/// withdrawal from the journal; `TryLater` means: send the same request again later.
// Replied with the type table kept in the heap, like `register`.
#[ic_cdk::update(manual_reply = true)]
async fn mint_withdrawal(request: MintRequest) -> std::marker::PhantomData<Result<u64, MintError>> {
    let shard = ic_cdk::api::msg_caller();
    let answer = updates::mint_withdrawal(shard, request).await;
    metrics::note_mint_answer(shard, &answer);
    ic_cdk::api::msg_reply(platform_types::reply_encoding::encode(answer));
    std::marker::PhantomData
}

/// Called by shards: `mint_withdrawal` for a batch of withdrawals (at most 100), minted
/// concurrently; the answers are in the order of the requests.
// One call and one reply for the whole batch: a shard sends its withdrawals together (see
// `withdrawal_batch_secs`). Replied with the type table kept in the heap, like `register`.
#[ic_cdk::update(manual_reply = true)]
async fn mint_withdrawals(requests: Vec<MintRequest>) -> std::marker::PhantomData<Vec<Result<u64, MintError>>> {
    let shard = ic_cdk::api::msg_caller();
    // Shards call it between canisters, where no ingress filter runs: anyone else is rejected
    // before a request is looked at (an empty batch would otherwise be answered).
    if state::shard_by_id(shard).is_none() {
        ic_cdk::trap(format!("{shard} is not a shard of this hub"));
    }
    let answers = updates::mint_withdrawals(shard, requests).await;
    for answer in &answers {
        metrics::note_mint_answer(shard, answer);
    }
    ic_cdk::api::msg_reply(platform_types::reply_encoding::encode(answers));
    std::marker::PhantomData
}

/// Called by shards: a shard whose balance ran low between the hub's rounds asks for a top-up,
/// reporting its balance. Only installed shards, once an hour each, within the daily budget;
/// answers the cycles deposited.
#[ic_cdk::update]
async fn request_top_up(balance: candid::Nat) -> Result<candid::Nat, platform_types::TopUpRequestError> {
    let balance = u128::try_from(balance.0).unwrap_or(u128::MAX);
    scaling::request_top_up(ic_cdk::api::msg_caller(), balance).await
}

/// The cycles battery: the hub's balance, burn rate and days left, its level (degradation
/// order: no new shards, then smaller top-ups), and every shard's and learning_content's figures.
#[ic_cdk::query]
fn get_cycles_report() -> platform_types::CyclesReport {
    scaling::cycles_report()
}

#[ic_cdk::query]
fn get_global_stats() -> GlobalStats {
    queries::get_global_stats()
}

/// Every shard the hub created and installed, oldest first.
#[ic_cdk::query]
fn list_shards() -> Vec<ShardInfo> {
    queries::list_shards()
}

#[ic_cdk::query]
fn get_config() -> PlatformConfig {
    queries::get_config()
}

#[ic_cdk::query]
fn get_version() -> VersionInfo {
    queries::get_version()
}

#[ic_cdk::query]
fn get_init_args() -> HubInitArgs {
    queries::get_init_args()
}

/// `/metrics` in the Prometheus text format (uncertified: read it through the raw domain,
/// `<hub id>.raw.icp0.io/metrics`); every other path is 404.
#[ic_cdk::query]
fn http_request(req: platform_types::http::HttpRequest) -> platform_types::http::HttpResponse {
    metrics::http_request(&req)
}

/// Each installed shard's last snapshot (taken by the rollout before its last upgrade) and the
/// restores made from snapshots by proposal (function 1011).
#[ic_cdk::query]
fn get_restore_history() -> Vec<platform_types::ShardRestoreHistory> {
    restore::restore_history()
}

/// Validator of function 1011 (restore a shard from its last snapshot).
#[ic_cdk::query]
fn restore_shard_snapshot_validate(args: platform_types::RestoreShardArgs) -> ValidationResult {
    restore::restore_shard_snapshot_validate(ic_cdk::api::msg_caller(), &args, ic_cdk::api::time())
}

/// SNS governance only (function 1011): stops the shard, loads the snapshot the hub took before
/// its last upgrade, starts it again and records the restore; then re-pushes its status and
/// configuration. Traps on refusal (no snapshot, another snapshot, a failed load): the proposal
/// Fails with the reason.
#[ic_cdk::update]
async fn restore_shard_snapshot(args: platform_types::RestoreShardArgs) {
    restore::restore_shard_snapshot(ic_cdk::api::msg_caller(), &args, ic_cdk::api::time)
        .await
        .unwrap_or_else(|e| ic_cdk::trap(e));
    lifecycle::push_now();
}

/// Converts the ICP sent to the hub's own ICP account into cycles for the hub (through the
/// cycles minting canister, memo TPUP), or moves an unfinished conversion on; a timer does the
/// same every 10 minutes. Anyone may call it; it reads the balance at most once a minute.
#[ic_cdk::update]
async fn refill_from_icp() -> platform_types::icp_refill::RefillOutcome {
    refill::refill(true).await
}

/// Where to send ICP for the hub's cycles (its ICP account), the ledger and CMC it uses, and
/// the latest conversions with their state.
#[ic_cdk::query]
fn get_icp_refill_status() -> platform_types::icp_refill::IcpRefillStatus {
    refill::status()
}

/// The mint journal compaction: entries compacted to counters, entries kept, the last run.
#[ic_cdk::query]
fn get_mint_compaction_status() -> platform_types::MintCompactionStatus {
    compaction::status()
}

/// Hex sha256 of the embedded, gzipped user_profile shard Wasm.
#[ic_cdk::query]
fn get_shard_wasm_hash() -> String {
    queries::get_shard_wasm_hash()
}

// ------------------------------------------------------------------ SNS governance (see `proposals`)

/// Validator of function 1012 (migrate a shard's users to a new shard, or delete a retired one).
#[ic_cdk::query]
fn migrate_shard_validate(args: platform_types::MigrateShardArgs) -> ValidationResult {
    migration::migrate_shard_validate(ic_cdk::api::msg_caller(), &args)
}

/// SNS governance only (function 1012): starts the migration of a shard to a new one (create,
/// freeze, copy page by page with checksums, switch the index, carry the allowance, stop the
/// source) or the deletion of a retired shard (its cycles come back first). A timer carries it
/// out and resumes it after failures and upgrades (`get_migration_status`). Traps on refusal.
#[ic_cdk::update]
fn migrate_shard(args: platform_types::MigrateShardArgs) {
    migration::migrate_shard(ic_cdk::api::msg_caller(), &args, ic_cdk::api::time()).unwrap_or_else(|e| ic_cdk::trap(e));
    migration::run_now();
}

/// The migration under way (if any) and the last finished ones, newest first.
#[ic_cdk::query]
fn get_migration_status() -> Vec<platform_types::MigrationView> {
    migration::status()
}

/// Validator of function 1000 (emergency shard disable / enable).
#[ic_cdk::query]
fn set_shard_status_validate(args: SetShardStatusArgs) -> ValidationResult {
    proposals::set_shard_status_validate(ic_cdk::api::msg_caller(), &args)
}

/// SNS governance only: disables (or enables) a shard. Traps on refusal (the proposal Fails).
#[ic_cdk::update]
fn set_shard_status(args: SetShardStatusArgs) {
    proposals::set_shard_status(ic_cdk::api::msg_caller(), &args).unwrap_or_else(|e| ic_cdk::trap(e));
    lifecycle::push_now();
}

/// Validator of function 1001 (configuration change; the payload names the fields to change).
#[ic_cdk::query]
fn update_config_validate(changes: ConfigOverrides) -> ValidationResult {
    proposals::update_config_validate(ic_cdk::api::msg_caller(), &changes)
}

/// SNS governance only: a new configuration version, pushed to every shard and to
/// learning_content until each confirms it (`get_config_status`).
#[ic_cdk::update]
fn update_config(changes: ConfigOverrides) {
    let (old, new) =
        proposals::update_config(ic_cdk::api::msg_caller(), &changes).unwrap_or_else(|e| ic_cdk::trap(e));
    if old.auto_scale_interval_secs != new.auto_scale_interval_secs {
        jobs::restart_fleet_round();
    }
    lifecycle::push_now();
}

/// Validator of function 1009 (economic parameters; critical).
#[ic_cdk::query]
fn update_economic_config_validate(changes: EconomicConfigChanges) -> ValidationResult {
    proposals::update_economic_config_validate(ic_cdk::api::msg_caller(), &changes)
}

/// SNS governance only (critical function 1009, CriticalDappOperations): reward per quiz,
/// allowance chunk, daily emission budget, shard cycles. A new configuration version, pushed
/// like `update_config`'s.
#[ic_cdk::update]
fn update_economic_config(changes: EconomicConfigChanges) {
    proposals::update_economic_config(ic_cdk::api::msg_caller(), &changes).unwrap_or_else(|e| ic_cdk::trap(e));
    lifecycle::push_now();
}

/// Validator of function 1010 (platform-wide pause).
#[ic_cdk::query]
fn set_platform_paused_validate(args: SetPlatformPausedArgs) -> ValidationResult {
    proposals::set_platform_paused_validate(ic_cdk::api::msg_caller(), &args)
}

/// SNS governance only (emergency function 1010): pauses or resumes registration, quizzes,
/// allowance grants and minting platform-wide; pushed to every shard.
#[ic_cdk::update]
fn set_platform_paused(args: SetPlatformPausedArgs) {
    proposals::set_platform_paused(ic_cdk::api::msg_caller(), &args).unwrap_or_else(|e| ic_cdk::trap(e));
    lifecycle::push_now();
}

/// Validator of function 1005 (shard Wasm rollout control).
#[ic_cdk::query]
fn control_shard_rollout_validate(command: RolloutCommand) -> ValidationResult {
    proposals::control_shard_rollout_validate(ic_cdk::api::msg_caller(), &command)
}

/// SNS governance only: start, pause or resume the rollout of the embedded shard Wasm, or set
/// its batch size (0 = stopped).
#[ic_cdk::update]
fn control_shard_rollout(command: RolloutCommand) {
    proposals::control_shard_rollout(ic_cdk::api::msg_caller(), &command).unwrap_or_else(|e| ic_cdk::trap(e));
}

/// Validator of function 1007 (registration policy, invite code hashes to add or revoke).
#[ic_cdk::query]
fn set_registration_policy_validate(args: SetRegistrationPolicyArgs) -> ValidationResult {
    admission::set_registration_policy_validate(ic_cdk::api::msg_caller(), &args)
}

/// SNS governance only: sets the registration policy and adds or revokes invite codes (by
/// sha256). Traps on refusal (the proposal Fails).
#[ic_cdk::update]
fn set_registration_policy(args: SetRegistrationPolicyArgs) {
    admission::set_registration_policy(ic_cdk::api::msg_caller(), &args).unwrap_or_else(|e| ic_cdk::trap(e));
}

/// Validator of function 1008 (record the outcome of a withdrawal the hub cannot reconcile).
#[ic_cdk::query]
fn resolve_withdrawal_validate(args: ResolveWithdrawalArgs) -> ValidationResult {
    proposals::resolve_withdrawal_validate(ic_cdk::api::msg_caller(), &args, ic_cdk::api::time())
}

/// SNS governance only: records a withdrawal mint as minted at a (verified) ledger block, or as
/// not minted once no copy can execute any more. Traps on refusal (the proposal Fails).
#[ic_cdk::update]
async fn resolve_withdrawal(args: ResolveWithdrawalArgs) {
    proposals::resolve_withdrawal(ic_cdk::api::msg_caller(), &args).await.unwrap_or_else(|e| ic_cdk::trap(e));
}

/// The configuration version in force and who has not confirmed it yet.
#[ic_cdk::query]
fn get_config_status() -> ConfigStatus {
    fleet::config_status()
}

/// The shard Wasm rollout: target hash, state, and every shard not on the target.
#[ic_cdk::query]
fn get_rollout_status() -> RolloutStatus {
    fleet::rollout_status()
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface {
    #[test]
    fn matches_committed_did_file() {
        platform_types::candid_check::check_platform_canister(super::CANISTER_NAME, &super::__export_service());
    }
}
