//! The hub's periodic jobs, one timer each, armed by init and post_upgrade (everything they work
//! on is in stable memory). Each is a [`PeriodicJob`]: it runs at most once per interval and never
//! beside itself, and after a pause (the hub frozen or stopped) it runs once, not once per
//! interval missed.

use crate::{compaction, fleet, migration, refill, scaling, state};
use periodic_jobs::PeriodicJob;
use std::time::Duration;

thread_local! {
    static FLEET_ROUND: PeriodicJob = PeriodicJob::new();
    static REFILL: PeriodicJob = PeriodicJob::new();
    static COMPACTION: PeriodicJob = PeriodicJob::new();
    static MIGRATION: PeriodicJob = PeriodicJob::new();
}

pub fn start_all() {
    restart_fleet_round();
    REFILL.with(|j| j.start(refill::REFILL_INTERVAL, refill::tick));
    COMPACTION.with(|j| j.start(compaction::COMPACTION_INTERVAL, || async { compaction::run() }));
    if state::migrations().current.is_some() {
        start_migration_ticks();
    }
}

/// The migration timer ticks only while a migration is under way: every tick is three
/// executions on the IC (the global timer, ic-cdk's executor self-call and its callback), which
/// every 5 s came to ~0.26 T cycles a day for nothing.
pub fn start_migration_ticks() {
    MIGRATION.with(|j| j.start(migration::TICK, migration::run));
}

pub fn stop_migration_ticks() {
    MIGRATION.with(PeriodicJob::stop);
}

/// Every `auto_scale_interval_secs` (re-armed when a configuration changes it): capacity, pending
/// learning_content registrations, the cycles battery, configuration and status pushes still
/// unconfirmed, and one shard rollout batch, in this order.
pub fn restart_fleet_round() {
    let interval = Duration::from_secs(state::config().auto_scale_interval_secs);
    FLEET_ROUND.with(|j| j.start(interval, fleet_round));
}

async fn fleet_round() {
    if let Err(e) = scaling::ensure_capacity().await {
        ic_cdk::println!("staking_hub timer: {e}");
    }
    scaling::retry_content_registrations().await;
    scaling::battery_round().await;
    fleet::push_pending().await;
    fleet::rollout_tick().await;
}

/// (job, runs started, firings skipped) since the last install or upgrade, for /metrics.
pub fn counts() -> [(&'static str, (u64, u64)); 4] {
    [
        ("fleet_round", FLEET_ROUND.with(PeriodicJob::counts)),
        ("refill", REFILL.with(PeriodicJob::counts)),
        ("compaction", COMPACTION.with(PeriodicJob::counts)),
        ("migration", MIGRATION.with(PeriodicJob::counts)),
    ]
}
