//! The hub's fleet management: pushing the configuration in force and the shards' disabled
//! flags downstream until every canister confirmed them, and rolling the embedded shard Wasm
//! out to shards that run an older one, in batches per timer tick.
//!
//! Decisions (what is behind, which shards to upgrade next) are plain functions unit-tested
//! natively; the async workers below only make the calls and record the outcomes.

use crate::model::{ShardIndex, ShardRecord};
use crate::{calls, shard_wasm, state};
use candid::{CandidType, Principal};
use ic_management_canister_types::CanisterInstallMode;
use platform_types::{
    ContentConfigPush, RolloutState, RolloutStatus, ShardConfigPush, ShardRollout, ShardStatus, ConfigStatus,
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
}

impl Default for FleetState {
    fn default() -> Self {
        FleetState {
            config_version: 0,
            content_config_version: 0,
            rollout_paused: false,
            rollout_batch_size: DEFAULT_ROLLOUT_BATCH,
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
}

impl Default for ShardSync {
    fn default() -> Self {
        ShardSync {
            config_version: 0,
            status_synced: true,
            rollout_failures: 0,
            failed_target: String::new(),
            rollout_last_error: None,
        }
    }
}

impl ShardSync {
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

/// Installed shards that have not confirmed `version`.
pub fn config_behind<'a>(
    shards: impl IntoIterator<Item = (ShardIndex, &'a ShardRecord, &'a ShardSync)>,
    version: u64,
) -> Vec<ShardIndex> {
    shards.into_iter().filter(|(_, s, y)| s.installed && y.config_version < version).map(|(i, _, _)| i).collect()
}

/// The next rollout batch: installed shards not on `target`, not given up on, oldest first, at
/// most `batch` of them; none unless the rollout is Running.
pub fn rollout_batch<'a>(
    shards: impl IntoIterator<Item = (ShardIndex, &'a ShardRecord, &'a ShardSync)>,
    target: &str,
    fleet: &FleetState,
) -> Vec<ShardIndex> {
    if fleet.rollout_state() != RolloutState::Running {
        return Vec::new();
    }
    shards
        .into_iter()
        .filter(|(_, s, y)| s.installed && s.wasm_hash != target && !y.gave_up_on(target))
        .map(|(i, _, _)| i)
        .take(fleet.rollout_batch_size as usize)
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
        target_hash: target,
        state: fleet.rollout_state(),
        batch_size: fleet.rollout_batch_size,
        shards_total: installed.len() as u64,
        shards_on_target: (installed.len() - pending.len()) as u64,
        pending,
    }
}

// ------------------------------------------------------------------ workers (timer)

/// Pushes the disabled flags and the configuration to every shard that has not confirmed them,
/// and the pass mark to learning_content. Failures are retried by the next run.
pub async fn push_pending() {
    let version = state::config_version();
    let config = state::config();
    // The pause travels with the configuration: setting it bumps the version.
    let paused = state::totals().is_paused();
    for (index, shard, sync) in all_shards() {
        if !shard.installed {
            continue;
        }
        if !sync.status_synced {
            let disabled = shard.status == ShardStatus::Disabled;
            match calls::set_shard_disabled(shard.id, disabled).await {
                // Confirmed only if the record still says the same (a proposal may have run meanwhile).
                Ok(()) => {
                    let still = state::shard(index).is_some_and(|s| (s.status == ShardStatus::Disabled) == disabled);
                    if still {
                        state::update_shard_sync(index, |y| y.status_synced = true);
                    }
                }
                Err(e) => ic_cdk::println!("staking_hub: set_disabled({disabled}) on {} failed, will retry: {e}", shard.id),
            }
        }
        if sync.config_version < version {
            let push = ShardConfigPush { version, config: config.clone(), platform_paused: Some(paused) };
            match calls::push_shard_config(shard.id, &push).await {
                Ok(confirmed) => {
                    state::update_shard_sync(index, |y| y.config_version = y.config_version.max(confirmed))
                }
                Err(e) => ic_cdk::println!("staking_hub: apply_config on {} failed, will retry: {e}", shard.id),
            }
        }
    }
    let fleet = state::fleet();
    if fleet.content_config_version < version {
        if let Some(init) = state::init_args() {
            let push = ContentConfigPush { version, pass_mark_percent: config.pass_mark_percent };
            match calls::push_content_config(init.learning_content_id, &push).await {
                Ok(confirmed) => state::update_fleet(|f| f.content_config_version = f.content_config_version.max(confirmed)),
                Err(e) => ic_cdk::println!("staking_hub: apply_config on learning_content failed, will retry: {e}"),
            }
        }
    }
}

/// One rollout batch: stop, upgrade (the shard's post_upgrade keeps its stable state) and start
/// each shard of the batch, all at once. A failed upgrade leaves the shard on its old code
/// (the install is atomic) and running; it is retried by later batches up to
/// [`MAX_ROLLOUT_FAILURES`] times.
pub async fn rollout_tick() {
    let target = target_hash();
    let fleet = state::fleet();
    let shards = all_shards();
    let batch = rollout_batch(shards.iter().map(|(i, s, y)| (*i, s, y)), &target, &fleet);
    let upgrades = batch.into_iter().filter_map(|i| state::shard(i).map(|s| (i, s.id))).map(|(index, id)| {
        let target = target.clone();
        async move {
            let outcome = upgrade_shard(id).await;
            match outcome {
                Ok(()) => {
                    state::update_shard(index, |s| s.wasm_hash = target.clone());
                    state::update_shard_sync(index, |y| y.rollout_last_error = None);
                }
                Err(e) => {
                    let gave_up = state::update_shard_sync(index, |y| note_rollout_failure(y, &target, e.clone()));
                    ic_cdk::println!("staking_hub: upgrading shard {id} failed (gave up: {gave_up}): {e}");
                }
            }
        }
    });
    futures::future::join_all(upgrades).await;
}

async fn upgrade_shard(id: Principal) -> Result<(), String> {
    calls::stop_canister(id).await?;
    let installed = calls::install_code(
        id,
        CanisterInstallMode::Upgrade(None),
        shard_wasm::USER_PROFILE_WASM_GZ,
        candid::encode_args(()).expect("empty args"),
    )
    .await;
    // Started again whatever happened: a shard is never left stopped.
    let started = calls::start_canister(id).await;
    installed?;
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
        let fleet = FleetState::default();
        let view = || shards.iter().zip([&y]).map(|(s, y)| (0u32, s, y));
        assert!(rollout_batch(view(), "t1", &fleet).is_empty());
        assert_eq!(rollout_batch(view(), "t2", &fleet), vec![0]);
        assert!(!note_rollout_failure(&mut y, "t2", "x".into()), "counted afresh for t2");
        assert_eq!(y.rollout_failures, 1);
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
