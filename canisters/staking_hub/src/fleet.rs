//! The hub's fleet management: pushing the configuration in force and the shards' disabled
//! flags downstream until every canister confirmed them, and rolling the embedded shard Wasm
//! out to shards that run an older one, in batches per timer tick.
//!
//! Decisions (what is behind, which shards to upgrade next) are plain functions unit-tested
//! natively; the async workers below only make the calls and record the outcomes.

use crate::model::{ShardIndex, ShardRecord};
use crate::guards::PushFlight;
use crate::{calls, shard_wasm, state};
use candid::{CandidType, Principal};
use ic_management_canister_types::CanisterInstallMode;
use platform_types::{
    ContentConfigPush, RolloutState, RolloutStatus, ShardConfigPush, ShardRollout, ShardStatus, ShardUpgradeArgs,
    ConfigStatus,
};
use serde::{Deserialize, Serialize};

/// Failed upgrade attempts of one shard to one target before the rollout gives up on it (it
/// keeps its old code and is reported; a new target, or a new `Start`, tries again).
pub const MAX_ROLLOUT_FAILURES: u32 = 3;
/// Shards upgraded per timer tick unless governance sets another batch size.
pub const DEFAULT_ROLLOUT_BATCH: u32 = 10;

/// Hub-wide fleet state (Candid in stable memory: fields added later must be `Option`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FleetState {
    /// Version of the configuration in force: 0 at install, +1 per config proposal.
    pub config_version: u64,
    /// The version learning_content confirmed.
    pub content_config_version: u64,
    pub rollout_paused: bool,
    /// Shards upgraded per tick; 0 = stopped.
    pub rollout_batch_size: u32,
    /// The shard Wasm hash a `Start` proposal approved: the rollout upgrades shards only to
    /// this target, so a hub upgrade embedding another Wasm waits for a new `Start`.
    pub rollout_approved_target: Option<String>,
    /// The target whose canary (one shard, upgraded alone) answered healthy after its upgrade.
    pub canary_passed_target: Option<String>,
}

impl Default for FleetState {
    fn default() -> Self {
        FleetState {
            config_version: 0,
            content_config_version: 0,
            rollout_paused: false,
            rollout_batch_size: DEFAULT_ROLLOUT_BATCH,
            rollout_approved_target: None,
            canary_passed_target: None,
        }
    }
}

impl FleetState {
    pub fn rollout_state(&self) -> RolloutState {
        if self.rollout_paused {
            RolloutState::Paused
        } else if self.rollout_batch_size == 0 {
            RolloutState::Stopped
        } else {
            RolloutState::Running
        }
    }
}

/// Per shard (Candid in stable memory).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardSync {
    /// The config version the shard confirmed.
    pub config_version: u64,
    /// Whether the shard confirmed the disabled flag the hub's record says.
    pub status_synced: bool,
    /// Failed upgrades to `failed_target`.
    pub rollout_failures: u32,
    /// The target hash the failures were counted for.
    pub failed_target: String,
    pub rollout_last_error: Option<String>,
    /// The shard's status epoch: +1 on every status change the hub records (`None` = 0). Sent
    /// with the push; the shard ignores an older epoch, and the hub confirms only the epoch in
    /// force after the call returns, so a slow old push can neither undo nor confirm a newer one.
    pub status_epoch: Option<u64>,
    /// The canister snapshot the rollout took before its last install on this shard (one per
    /// shard: each new one replaces it), for recovery by its controller.
    pub rollout_snapshot_id: Option<Vec<u8>>,
    /// The module hash the shard ran when `rollout_snapshot_id` was taken (what a restore
    /// brings back).
    pub rollout_snapshot_wasm_hash: Option<String>,
    /// When `rollout_snapshot_id` was taken (a restore is refused if the shard's withdrawals
    /// reached the mint journal since: see `restore::check_restore`).
    pub rollout_snapshot_at_ns: Option<u64>,
    /// Restores from snapshots by proposal (function 1011), oldest first, at most
    /// `platform_types::MAX_RESTORES_KEPT`.
    pub restores: Option<Vec<platform_types::ShardRestore>>,
    /// Who the hub last allowed to read the shard's log (`None`: never set, e.g. a shard
    /// created before the setting existed).
    pub log_viewers: Option<Vec<Principal>>,
    /// The answer-key version the shard confirmed (`None`: none yet).
    pub answer_keys_version: Option<u64>,
}

impl Default for ShardSync {
    fn default() -> Self {
        ShardSync {
            config_version: 0,
            status_synced: true,
            rollout_failures: 0,
            failed_target: String::new(),
            rollout_last_error: None,
            status_epoch: None,
            rollout_snapshot_id: None,
            rollout_snapshot_wasm_hash: None,
            rollout_snapshot_at_ns: None,
            restores: None,
            log_viewers: None,
            answer_keys_version: None,
        }
    }
}

impl ShardSync {
    /// A status change was recorded: a new epoch, to be pushed.
    pub fn note_status_change(&mut self) -> Result<(), String> {
        let next = self.status_epoch.unwrap_or(0).checked_add(1).ok_or("the shard's status epoch overflowed")?;
        self.status_epoch = Some(next);
        self.status_synced = false;
        Ok(())
    }

    /// The shard confirmed the push of `epoch`: synced only if no newer change was recorded
    /// meanwhile.
    pub fn confirm_status(&mut self, epoch: u64) -> bool {
        if self.status_epoch.unwrap_or(0) == epoch {
            self.status_synced = true;
        }
        self.status_synced
    }

    fn failures_for(&self, target: &str) -> u32 {
        if self.failed_target == target {
            self.rollout_failures
        } else {
            0
        }
    }

    pub fn gave_up_on(&self, target: &str) -> bool {
        self.failures_for(target) >= MAX_ROLLOUT_FAILURES
    }
}

/// The status push a shard needs now, from its current record: (disabled, epoch).
pub fn status_push(shard: &ShardRecord, sync: &ShardSync) -> Option<(bool, u64)> {
    (shard.is_live() && !sync.status_synced)
        .then(|| (shard.status == ShardStatus::Disabled, sync.status_epoch.unwrap_or(0)))
}

/// Installed shards that have not confirmed `version`.
pub fn config_behind<'a>(
    shards: impl IntoIterator<Item = (ShardIndex, &'a ShardRecord, &'a ShardSync)>,
    version: u64,
) -> Vec<ShardIndex> {
    shards.into_iter().filter(|(_, s, y)| s.is_live() && y.config_version < version).map(|(i, _, _)| i).collect()
}

/// The next rollout batch: installed shards not on `target`, not given up on, oldest first;
/// none unless the rollout is Running and a `Start` approved `target`; one shard (the canary)
/// until a canary of `target` was upgraded and answered healthy, then at most the batch size.
pub fn rollout_batch<'a>(
    shards: impl IntoIterator<Item = (ShardIndex, &'a ShardRecord, &'a ShardSync)>,
    target: &str,
    fleet: &FleetState,
) -> Vec<ShardIndex> {
    if fleet.rollout_state() != RolloutState::Running || fleet.rollout_approved_target.as_deref() != Some(target) {
        return Vec::new();
    }
    let size = if fleet.canary_passed_target.as_deref() == Some(target) { fleet.rollout_batch_size as usize } else { 1 };
    shards
        .into_iter()
        .filter(|(_, s, y)| s.is_live() && s.wasm_hash != target && !y.gave_up_on(target))
        .map(|(i, _, _)| i)
        .take(size)
        .collect()
}

/// Records an upgrade failure; returns whether the rollout gives up on the shard.
pub fn note_rollout_failure(sync: &mut ShardSync, target: &str, error: String) -> bool {
    let failures = sync.failures_for(target) + 1;
    sync.failed_target = target.to_string();
    sync.rollout_failures = failures;
    sync.rollout_last_error = Some(error);
    failures >= MAX_ROLLOUT_FAILURES
}

/// One management operation (an upgrade by the rollout, a restore by proposal) per shard at a
/// time: both stop and start the shard, and must not interleave across their awaits.
pub struct ShardOperation(Principal);

thread_local! {
    static SHARD_OPERATIONS: std::cell::RefCell<std::collections::BTreeSet<Principal>> =
        const { std::cell::RefCell::new(std::collections::BTreeSet::new()) };
}

impl ShardOperation {
    pub fn acquire(shard: Principal) -> Option<Self> {
        SHARD_OPERATIONS.with_borrow_mut(|ops| ops.insert(shard)).then_some(ShardOperation(shard))
    }
}

impl Drop for ShardOperation {
    fn drop(&mut self) {
        SHARD_OPERATIONS.with_borrow_mut(|ops| ops.remove(&self.0));
    }
}

/// Who may read a shard's log: the hub and the operators the configuration names.
pub fn shard_log_viewers(config: &platform_types::PlatformConfig) -> Vec<Principal> {
    std::iter::once(ic_cdk::api::canister_self()).chain(config.shard_log_viewers().iter().copied()).collect()
}

fn target_hash() -> String {
    shard_wasm::embedded_hash().to_string()
}

fn all_shards() -> Vec<(ShardIndex, ShardRecord, ShardSync)> {
    state::shards().into_iter().map(|(i, s)| (i, s, state::shard_sync(i))).collect()
}

// ------------------------------------------------------------------ status queries

pub fn config_status() -> ConfigStatus {
    let fleet = state::fleet();
    let shards = all_shards();
    let behind = config_behind(shards.iter().map(|(i, s, y)| (*i, s, y)), fleet.config_version);
    ConfigStatus {
        version: fleet.config_version,
        config: state::config(),
        shards_behind: shards
            .iter()
            .filter(|(i, _, _)| behind.contains(i))
            .map(|(_, s, y)| (s.id, y.config_version))
            .collect(),
        content_version: fleet.content_config_version,
    }
}

pub fn rollout_status() -> RolloutStatus {
    let fleet = state::fleet();
    let target = target_hash();
    let installed: Vec<_> = all_shards().into_iter().filter(|(_, s, _)| s.installed).collect();
    let pending: Vec<ShardRollout> = installed
        .iter()
        .filter(|(_, s, _)| s.wasm_hash != target)
        .map(|(_, s, y)| ShardRollout {
            shard_id: s.id,
            wasm_hash: s.wasm_hash.clone(),
            failures: y.failures_for(&target),
            last_error: y.rollout_last_error.clone(),
            gave_up: y.gave_up_on(&target),
        })
        .collect();
    RolloutStatus {
        canary_passed: Some(fleet.canary_passed_target.as_deref() == Some(target.as_str())),
        target_hash: target,
        state: fleet.rollout_state(),
        batch_size: fleet.rollout_batch_size,
        shards_total: installed.len() as u64,
        shards_on_target: (installed.len() - pending.len()) as u64,
        pending,
        approved_target_hash: fleet.rollout_approved_target,
    }
}

// ------------------------------------------------------------------ workers (timer)

/// Pushes the disabled flags, the configuration and the answer keys to every shard that has not
/// confirmed them, and the pass mark to learning_content. Failures are retried by the next run.
///
/// Single flight: a call while a run is under way asks that run to go round once more (it may
/// have passed the shard that changed), so pushes to one shard never overlap. Every push is
/// built from the state re-read just before its call, never from a snapshot taken before an
/// earlier await.
pub async fn push_pending() {
    let Some(_flight) = PushFlight::acquire() else {
        return;
    };
    loop {
        PushFlight::clear_rerun();
        push_round().await;
        if !PushFlight::rerun_requested() {
            break;
        }
    }
}

async fn push_round() {
    let indexes: Vec<ShardIndex> = state::shards().into_iter().map(|(i, _)| i).collect();
    for index in indexes {
        // Re-read: an earlier await may have let a proposal change this shard.
        let Some(shard) = state::shard(index) else { continue };
        if let Some((disabled, epoch)) = status_push(&shard, &state::shard_sync(index)) {
            match calls::set_shard_disabled(shard.id, disabled, epoch).await {
                Ok(()) => {
                    crate::metrics::event(&format!("shard {}: {} (epoch {epoch})", shard.id, if disabled { "disabled" } else { "enabled" }));
                    state::update_shard_sync(index, |y| y.confirm_status(epoch));
                }
                Err(e) => crate::metrics::error(
                    "status_push_failed",
                    &format!("set_disabled({disabled}) on {} failed, will retry: {e}", shard.id),
                ),
            }
        }
        let version = state::config_version();
        let Some(shard) = state::shard(index) else { continue };
        if shard.is_live() && state::shard_sync(index).config_version < version {
            // The pause travels with the configuration: setting it bumps the version.
            let push = ShardConfigPush { version, config: state::config(), platform_paused: Some(state::totals().is_paused()) };
            match calls::push_shard_config(shard.id, &push).await {
                Ok(confirmed) => {
                    crate::metrics::event(&format!("shard {}: configuration version {confirmed} confirmed", shard.id));
                    state::update_shard_sync(index, |y| y.config_version = y.config_version.max(confirmed))
                }
                Err(e) => crate::metrics::error(
                    "config_push_failed",
                    &format!("apply_config on {} failed, will retry: {e}", shard.id),
                ),
            }
        }
        let Some(shard) = state::shard(index) else { continue };
        if shard.is_live() && state::shard_sync(index).answer_keys_version.unwrap_or(0) < state::answer_keys_version() {
            let keys = state::answer_keys();
            match crate::answer_keys::push_to_shard(shard.id, &keys).await {
                Ok(confirmed) => {
                    crate::metrics::event(&format!("shard {}: answer keys version {confirmed} confirmed", shard.id));
                    state::update_shard_sync(index, |y| {
                        y.answer_keys_version = Some(y.answer_keys_version.unwrap_or(0).max(confirmed))
                    })
                }
                Err(e) => crate::metrics::error("answer_keys_push_failed", &format!("{e}; will retry")),
            }
        }
    }
    push_log_viewers().await;
    let version = state::config_version();
    if state::fleet().content_config_version < version {
        if let Some(init) = state::init_args() {
            let push = ContentConfigPush { version, pass_mark_percent: state::config().pass_mark_percent };
            match calls::push_content_config(init.learning_content_id, &push).await {
                Ok(confirmed) => state::update_fleet(|f| f.content_config_version = f.content_config_version.max(confirmed)),
                Err(e) => crate::metrics::error(
                    "config_push_failed",
                    &format!("apply_config on learning_content failed, will retry: {e}"),
                ),
            }
        }
    }
}

/// Sets the log viewers of every installed shard whose viewers differ from the configuration's
/// (after a config change, or on shards created before the setting existed). Retried by later
/// rounds on failure.
async fn push_log_viewers() {
    for (index, _) in state::shards() {
        let wanted = shard_log_viewers(&state::config());
        let Some(shard) = state::shard(index).filter(|s| s.is_live()) else { continue };
        if state::shard_sync(index).log_viewers.as_ref() == Some(&wanted) {
            continue;
        }
        match calls::set_log_viewers(shard.id, wanted.clone()).await {
            Ok(()) => {
                crate::metrics::event(&format!("shard {}: log viewers set to {} principal(s)", shard.id, wanted.len()));
                state::update_shard_sync(index, |y| y.log_viewers = Some(wanted));
            }
            Err(e) => crate::metrics::error("log_viewers_push_failed", &format!("update_settings on {}: {e}", shard.id)),
        }
    }
}

/// One rollout batch: stop, snapshot, upgrade (the shard's post_upgrade keeps its stable
/// state) and start each shard of the batch, all at once. A failed step leaves the shard on its
/// old code (the install is atomic) and always running; it is retried by later batches up to
/// [`MAX_ROLLOUT_FAILURES`] times. The first shard upgraded to a target is the canary: the
/// rest follow only once it answers healthy on the new code; a canary given up on pauses the
/// rollout (the release itself may be bad).
pub async fn rollout_tick() {
    let target = target_hash();
    let fleet = state::fleet();
    let shards = all_shards();
    let batch = rollout_batch(shards.iter().map(|(i, s, y)| (*i, s, y)), &target, &fleet);
    let canary = fleet.canary_passed_target.as_deref() != Some(target.as_str());
    let upgrades = batch.into_iter().filter_map(|i| state::shard(i).map(|s| (i, s.id))).map(|(index, id)| {
        let target = target.clone();
        async move {
            let outcome = upgrade_shard(index, id).await;
            // The canary must also answer on its new code before the others follow.
            let outcome = match outcome {
                Ok(()) if canary => calls::shard_health(id).await.map_err(|e| format!("canary health check: {e}")),
                other => other,
            };
            match outcome {
                Ok(()) => {
                    crate::metrics::event(&format!("shard {id} upgraded to {target}{}", if canary { " (canary)" } else { "" }));
                    state::update_shard(index, |s| s.wasm_hash = target.clone());
                    state::update_shard_sync(index, |y| y.rollout_last_error = None);
                    if canary {
                        state::update_fleet(|f| f.canary_passed_target = Some(target.clone()));
                    }
                }
                Err(e) => {
                    // Not counted as on target (an unhealthy canary may run the new code).
                    let gave_up = state::update_shard_sync(index, |y| note_rollout_failure(y, &target, e.clone()));
                    if canary && gave_up {
                        // The release itself may be bad: no next canary until governance resumes.
                        state::update_fleet(|f| f.rollout_paused = true);
                    }
                    crate::metrics::error(
                        "rollout_upgrade_failed",
                        &format!("upgrading shard {id} failed (gave up: {gave_up}): {e}"),
                    );
                }
            }
        }
    });
    futures::future::join_all(upgrades).await;
}

/// Stop, snapshot (replacing the shard's previous one), install, and start again whatever
/// happened: a shard is never left stopped, not even after a failed stop (which may leave it
/// Stopping).
async fn upgrade_shard(index: ShardIndex, id: Principal) -> Result<(), String> {
    let Some(_operation) = ShardOperation::acquire(id) else {
        return Err(format!("shard {id}: a restore is under way, the upgrade waits for the next batch"));
    };
    let upgraded = async {
        calls::stop_canister(id).await?;
        let previous = state::shard_sync(index).rollout_snapshot_id;
        let snapshot = calls::take_canister_snapshot(id, previous).await?;
        // The code the snapshot holds: the shard is stopped, no upgrade of it can be under way.
        let running = state::shard(index).map(|s| s.wasm_hash).unwrap_or_default();
        crate::metrics::event(&format!(
            "shard {id}: snapshot {} taken before its upgrade (module {running})",
            hex::encode(&snapshot)
        ));
        // Recorded at once: the previous snapshot no longer exists.
        state::update_shard_sync(index, |y| {
            y.rollout_snapshot_id = Some(snapshot);
            y.rollout_snapshot_wasm_hash = Some(running);
            y.rollout_snapshot_at_ns = Some(ic_cdk::api::time());
        });
        // The shard's get_version reports the module hash it is told here.
        let upgrade_args = ShardUpgradeArgs { module_hash: Some(shard_wasm::embedded_hash().to_string()) };
        calls::install_code(
            id,
            CanisterInstallMode::Upgrade(None),
            shard_wasm::USER_PROFILE_WASM_GZ,
            candid::encode_one(Some(upgrade_args)).expect("ShardUpgradeArgs encode"),
        )
        .await
    }
    .await;
    let started = calls::start_canister(id).await;
    upgraded?;
    started
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(n: u8, hash: &str) -> ShardRecord {
        let mut s = ShardRecord::created(Principal::from_slice(&[n; 10]), 0);
        s.installed = true;
        s.wasm_hash = hash.into();
        s
    }

    #[test]
    fn the_rollout_takes_outdated_shards_oldest_first_in_batches_while_running() {
        let shards = vec![shard(1, "new"), shard(2, "old"), shard(3, "old"), shard(4, "old")];
        let mut uninstalled = shard(5, "");
        uninstalled.installed = false;
        let all: Vec<_> = shards.iter().chain([&uninstalled]).cloned().collect();
        let syncs = vec![ShardSync::default(); all.len()];
        let view = || all.iter().zip(&syncs).enumerate().map(|(i, (s, y))| (i as u32, s, y));
        let mut fleet = FleetState { rollout_batch_size: 2, ..Default::default() };
        assert!(rollout_batch(view(), "new", &fleet).is_empty(), "no Start approved this target");
        fleet.rollout_approved_target = Some("old-release".into());
        assert!(rollout_batch(view(), "new", &fleet).is_empty(), "a Start of another target does not count");
        fleet.rollout_approved_target = Some("new".into());
        assert_eq!(rollout_batch(view(), "new", &fleet), vec![1], "the canary goes alone");
        fleet.canary_passed_target = Some("new".into());
        assert_eq!(rollout_batch(view(), "new", &fleet), vec![1, 2]);
        fleet.rollout_batch_size = 10;
        assert_eq!(rollout_batch(view(), "new", &fleet), vec![1, 2, 3]);
        fleet.rollout_paused = true;
        assert_eq!(fleet.rollout_state(), RolloutState::Paused);
        assert!(rollout_batch(view(), "new", &fleet).is_empty(), "paused holds");
        fleet.rollout_paused = false;
        fleet.rollout_batch_size = 0;
        assert_eq!(fleet.rollout_state(), RolloutState::Stopped);
        assert!(rollout_batch(view(), "new", &fleet).is_empty(), "batch size 0 = stopped");
    }

    #[test]
    fn the_rollout_gives_up_after_bounded_failures_per_target() {
        let mut y = ShardSync::default();
        assert!(!note_rollout_failure(&mut y, "t1", "e1".into()));
        assert!(!note_rollout_failure(&mut y, "t1", "e2".into()));
        assert!(note_rollout_failure(&mut y, "t1", "e3".into()));
        assert!(y.gave_up_on("t1"));
        assert_eq!(y.rollout_last_error.as_deref(), Some("e3"));
        assert!(!y.gave_up_on("t2"), "a new target tries again");
        let shards = [shard(1, "old")];
        let mut fleet = FleetState { rollout_approved_target: Some("t1".into()), ..FleetState::default() };
        let view = || shards.iter().zip([&y]).map(|(s, y)| (0u32, s, y));
        assert!(rollout_batch(view(), "t1", &fleet).is_empty());
        fleet.rollout_approved_target = Some("t2".into());
        assert_eq!(rollout_batch(view(), "t2", &fleet), vec![0]);
        assert!(!note_rollout_failure(&mut y, "t2", "x".into()), "counted afresh for t2");
        assert_eq!(y.rollout_failures, 1);
    }

    #[test]
    fn a_status_push_is_confirmed_only_for_the_epoch_in_force() {
        let mut disabled = shard(1, "h");
        disabled.status = ShardStatus::Disabled;
        let mut y = ShardSync::default();
        assert_eq!(status_push(&disabled, &y), None, "synced: nothing to push");
        y.note_status_change().unwrap();
        assert_eq!(status_push(&disabled, &y), Some((true, 1)));
        // A newer change (enable) is recorded while the push of epoch 1 is awaited.
        let enabled = shard(1, "h");
        y.note_status_change().unwrap();
        assert!(!y.confirm_status(1), "the old push's reply does not confirm the newer status");
        assert_eq!(status_push(&enabled, &y), Some((false, 2)), "the next push carries the newer status and epoch");
        assert!(y.confirm_status(2));
        assert_eq!(status_push(&enabled, &y), None);
        let mut uninstalled = shard(2, "");
        uninstalled.installed = false;
        assert_eq!(status_push(&uninstalled, &ShardSync { status_synced: false, ..Default::default() }), None);
    }

    #[test]
    fn shards_behind_the_config_version_are_pushed() {
        let shards = [shard(1, "h"), shard(2, "h")];
        let syncs = [ShardSync { config_version: 3, ..Default::default() }, ShardSync::default()];
        let view = || shards.iter().zip(&syncs).enumerate().map(|(i, (s, y))| (i as u32, s, y));
        assert_eq!(config_behind(view(), 3), vec![1]);
        assert_eq!(config_behind(view(), 4), vec![0, 1]);
        assert!(config_behind(view(), 0).is_empty());
    }
}
