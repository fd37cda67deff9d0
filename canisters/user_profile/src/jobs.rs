//! The shard's periodic jobs, armed by init and post_upgrade (what they work on is in stable
//! memory). Each is a [`PeriodicJob`]: it runs at most once per interval and never beside itself,
//! and after a pause (the shard frozen for lack of cycles, or stopped for a migration or a
//! restore) it runs once, not once per interval missed.

use crate::journal::FIRST_RETRY_DELAY_NS;
use crate::{cleanup, rewards, state, withdrawals};
use periodic_jobs::PeriodicJob;
use std::time::Duration;

thread_local! {
    static SYNC: PeriodicJob = PeriodicJob::new();
    static WITHDRAWAL_RETRY: PeriodicJob = PeriodicJob::new();
    static CLEANUP: PeriodicJob = PeriodicJob::new();
}

pub fn start_all() {
    restart_sync();
    // Due Pending withdrawals are sent again (each has its own backoff in the journal).
    WITHDRAWAL_RETRY.with(|j| j.start(Duration::from_nanos(FIRST_RETRY_DELAY_NS), withdrawals::retry_due));
    CLEANUP.with(|j| j.start(cleanup::CLEANUP_INTERVAL, || async { cleanup::run() }));
}

/// The report to the hub and the allowance refill, every `shard_sync_interval_secs` (re-armed when
/// a configuration push changes it).
pub fn restart_sync() {
    let secs = state::with(|s| s.config().shard_sync_interval_secs);
    SYNC.with(|j| j.start(Duration::from_secs(secs), rewards::periodic_sync));
}

/// (job, runs started, firings skipped) since the last install or upgrade, for /metrics.
pub fn counts() -> [(&'static str, (u64, u64)); 3] {
    [
        ("sync", SYNC.with(PeriodicJob::counts)),
        ("withdrawal_retry", WITHDRAWAL_RETRY.with(PeriodicJob::counts)),
        ("cleanup", CLEANUP.with(PeriodicJob::counts)),
    ]
}
