//! init / post_upgrade and the timers. Nothing here iterates over users: an upgrade is O(1).

use crate::journal::FIRST_RETRY_DELAY_NS;
use crate::{rewards, state, withdrawals};
use ic_cdk_timers::TimerId;
use platform_types::ShardInitArgs;
use std::cell::RefCell;
use std::time::Duration;

thread_local! {
    /// The periodic timers (heap: timers do not survive an upgrade anyway).
    static TIMERS: RefCell<Vec<TimerId>> = const { RefCell::new(Vec::new()) };
}

pub fn init(args: ShardInitArgs) {
    if let Err(e) = args.config.validate() {
        ic_cdk::trap(format!("user_profile: invalid config in the init arguments: {e}"));
    }
    state::set_init_args(args);
    arm_timers();
}

/// Everything lives in stable structures. Timers do not survive an upgrade: they are re-armed
/// from the configuration in stable memory.
pub fn post_upgrade() {
    if state::init_args().is_none() {
        ic_cdk::trap("user_profile: no init arguments in stable memory after upgrade");
    }
    let stale = state::with_mut(|s| s.release_stale_reservations());
    if stale > 0 {
        ic_cdk::println!("user_profile: released {stale} e8s of allowance reserved before the upgrade");
    }
    arm_timers();
}

/// The periodic stats sync / refill retry, every `shard_sync_interval_secs`, and the retry of
/// pending withdrawals (serial: a run still awaiting the hub makes the next one skip).
fn arm_timers() {
    let secs = state::with(|s| s.config().shard_sync_interval_secs);
    let sync = ic_cdk_timers::set_timer_interval(Duration::from_secs(secs), rewards::periodic_sync);
    let retry =
        ic_cdk_timers::set_timer_interval_serial(Duration::from_nanos(FIRST_RETRY_DELAY_NS), withdrawals::retry_due);
    TIMERS.with_borrow_mut(|t| *t = vec![sync, retry]);
}

/// After a configuration push that changed an interval.
pub fn rearm_timers() {
    for id in TIMERS.with_borrow_mut(std::mem::take) {
        ic_cdk_timers::clear_timer(id);
    }
    arm_timers();
}
