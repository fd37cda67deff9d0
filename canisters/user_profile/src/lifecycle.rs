//! init / post_upgrade and the timers. Nothing here iterates over users: an upgrade is O(1).

use crate::journal::FIRST_RETRY_DELAY_NS;
use crate::{rewards, state, withdrawals};
use ic_cdk_timers::TimerId;
use platform_types::{ShardInitArgs, ShardUpgradeArgs};
use std::cell::RefCell;
use std::time::Duration;

thread_local! {
    /// The periodic timers (heap: timers do not survive an upgrade anyway).
    static TIMERS: RefCell<Vec<TimerId>> = const { RefCell::new(Vec::new()) };
    /// The module hash the hub said it installed (heap: each install or upgrade tells it anew,
    /// so a value from an older module can never be reported).
    static MODULE_HASH: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Hex sha256 of the running module, as the hub told it at the last install or upgrade.
pub fn module_hash() -> Option<String> {
    MODULE_HASH.with_borrow(Clone::clone)
}

pub fn init(args: ShardInitArgs) {
    if let Err(e) = args.config.validate() {
        ic_cdk::trap(format!("user_profile: invalid config in the init arguments: {e}"));
    }
    // Not stored with the init arguments: it would go stale at the first upgrade.
    MODULE_HASH.set(args.module_hash.clone());
    ic_cdk::println!(
        "user_profile: installed by the hub {} (module {})",
        args.hub_id,
        args.module_hash.as_deref().unwrap_or("unknown")
    );
    state::set_init_args(ShardInitArgs { module_hash: None, ..args });
    arm_timers();
}

/// Everything lives in stable structures. Timers do not survive an upgrade: they are re-armed
/// from the configuration in stable memory.
pub fn post_upgrade(args: Option<ShardUpgradeArgs>) {
    if state::init_args().is_none() {
        ic_cdk::trap("user_profile: no init arguments in stable memory after upgrade");
    }
    let module_hash = args.and_then(|a| a.module_hash);
    ic_cdk::println!("user_profile: upgraded to module {}", module_hash.as_deref().unwrap_or("unknown"));
    MODULE_HASH.set(module_hash);
    let stale = state::with_mut(|s| s.release_stale_reservations());
    if stale > 0 {
        ic_cdk::println!("user_profile: released {stale} e8s of allowance reserved before the upgrade");
    }
    arm_timers();
}

/// The periodic stats sync / refill retry, every `shard_sync_interval_secs`, and the retry of
/// pending withdrawals (serial: a run still awaiting the hub makes the next one skip), and the
/// hourly cleanup (`cleanup`).
fn arm_timers() {
    let secs = state::with(|s| s.config().shard_sync_interval_secs);
    let sync = ic_cdk_timers::set_timer_interval(Duration::from_secs(secs), rewards::periodic_sync);
    let retry =
        ic_cdk_timers::set_timer_interval_serial(Duration::from_nanos(FIRST_RETRY_DELAY_NS), withdrawals::retry_due);
    let cleanup = crate::cleanup::arm_timer();
    TIMERS.with_borrow_mut(|t| *t = vec![sync, retry, cleanup]);
}

/// After a configuration push that changed an interval.
pub fn rearm_timers() {
    for id in TIMERS.with_borrow_mut(std::mem::take) {
        ic_cdk_timers::clear_timer(id);
    }
    arm_timers();
}
