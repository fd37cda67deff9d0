//! The shard's jobs, armed by init and post_upgrade (what they work on is in stable memory).
//! The periodic ones are [`PeriodicJob`]s: each runs at most once per interval and never beside
//! itself, and after a pause (the shard frozen for lack of cycles, or stopped for a migration or
//! a restore) it runs once, not once per interval missed. The withdrawal round is a one-shot
//! timer armed while withdrawals wait (see `arm_withdrawal_round`).

use crate::{cleanup, rewards, state, withdrawals};
use ic_cdk_timers::TimerId;
use periodic_jobs::PeriodicJob;
use std::cell::Cell;
use std::time::Duration;

thread_local! {
    static SYNC: PeriodicJob = PeriodicJob::new();
    static WITHDRAWAL_BACKSTOP: PeriodicJob = PeriodicJob::new();
    static CLEANUP: PeriodicJob = PeriodicJob::new();
    /// The armed withdrawal round: when it fires, and its timer.
    static WITHDRAWAL_ROUND: Cell<Option<(u64, TimerId)>> = const { Cell::new(None) };
    static WITHDRAWAL_ROUNDS_RUN: Cell<u64> = const { Cell::new(0) };
}

/// A round that cannot send (the shard disabled) looks again this much later.
const DISABLED_ROUND_RETRY_NS: u64 = 600 * 1_000_000_000;
/// The backstop round: whatever left a Pending withdrawal without an armed round (a trap in a
/// round's callback) costs at most this much delay.
const WITHDRAWAL_BACKSTOP_INTERVAL: Duration = Duration::from_secs(3_600);

pub fn start_all() {
    restart_sync();
    WITHDRAWAL_BACKSTOP.with(|j| j.start(WITHDRAWAL_BACKSTOP_INTERVAL, withdrawal_round));
    rearm_withdrawal_round();
    CLEANUP.with(|j| j.start(cleanup::CLEANUP_INTERVAL, || async { cleanup::run() }));
}

/// The report to the hub and the allowance refill, every `shard_sync_interval_secs` (re-armed when
/// a configuration push changes it).
pub fn restart_sync() {
    let secs = state::with(|s| s.config().shard_sync_interval_secs);
    SYNC.with(|j| j.start(Duration::from_secs(secs), rewards::periodic_sync));
}

// The withdrawal round is a one-shot timer armed only while a withdrawal waits: a timer costs
// three executions on the IC (the global timer, ic-cdk's executor self-call and its callback),
// and a periodic one would pay them every period whether anything waits or not.

/// Arms the withdrawal round at `at_ns`, unless it is armed at or before then.
pub fn arm_withdrawal_round(at_ns: u64) {
    let now = ic_cdk::api::time();
    WITHDRAWAL_ROUND.with(|armed| {
        if let Some((t, id)) = armed.get() {
            if t <= at_ns {
                return;
            }
            ic_cdk_timers::clear_timer(id);
        }
        let id = ic_cdk_timers::set_timer(Duration::from_nanos(at_ns.saturating_sub(now)), withdrawal_round_fired());
        armed.set(Some((at_ns, id)));
    });
}

/// The round armed for the earliest Pending withdrawal's retry time, or none: after a round, or
/// anything that changes what may be sent (an upgrade, the shard enabled or unfrozen, an import).
pub fn rearm_withdrawal_round() {
    let next = state::with(|s| match () {
        _ if s.is_frozen() => None, // its Pending withdrawals move with the migration
        _ if s.is_disabled() => s.has_pending_withdrawals().then(|| ic_cdk::api::time() + DISABLED_ROUND_RETRY_NS),
        // A queued withdrawal is due when its window closes; the timer waits one window more
        // for an `unstake` to send the round in its own message (see `updates::unstake`). Due
        // ones left behind (a full round: more than 200 were due) go in a round at once.
        _ => s.next_withdrawal_due_ns().map(|due| {
            let now = ic_cdk::api::time();
            if due <= now {
                now
            } else {
                due.saturating_add(s.config().withdrawal_batch().saturating_mul(1_000_000_000))
            }
        }),
    });
    let armed = WITHDRAWAL_ROUND.with(Cell::get);
    if armed.map(|(t, _)| t) == next {
        return;
    }
    // A cleared timer still leaves the canister's global timer set for it (one empty
    // execution), so a timer is armed only for a withdrawal that waits, never "just in case".
    if let Some((_, id)) = WITHDRAWAL_ROUND.with(Cell::take) {
        ic_cdk_timers::clear_timer(id);
    }
    if let Some(at) = next {
        arm_withdrawal_round(at);
    }
}

async fn withdrawal_round_fired() {
    // This timer is spent. A round lost to a trap in a callback is picked up by the backstop.
    WITHDRAWAL_ROUND.with(|armed| armed.set(None));
    withdrawal_round().await;
}

/// Sends the due withdrawals, then arms the round for what is left.
pub async fn withdrawal_round() {
    WITHDRAWAL_ROUNDS_RUN.with(|n| n.set(n.get() + 1));
    withdrawals::send_round().await;
    rearm_withdrawal_round();
}

/// Withdrawal rounds run since the last install or upgrade, for /metrics.
pub fn withdrawal_rounds_run() -> u64 {
    WITHDRAWAL_ROUNDS_RUN.with(Cell::get)
}

/// (job, runs started, firings skipped) since the last install or upgrade, for /metrics.
pub fn counts() -> [(&'static str, (u64, u64)); 3] {
    [
        ("sync", SYNC.with(PeriodicJob::counts)),
        ("withdrawal_backstop", WITHDRAWAL_BACKSTOP.with(PeriodicJob::counts)),
        ("cleanup", CLEANUP.with(PeriodicJob::counts)),
    ]
}
