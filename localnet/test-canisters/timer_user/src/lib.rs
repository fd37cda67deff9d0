//! `timer_user`: exercises the global timer through `ic-cdk-timers` (one-shot and periodic
//! timers, a timer that makes an inter-canister call, re-arming after an upgrade).

use candid::{CandidType, Principal};
use ic_cdk::call::Call;
use ic_cdk_timers::TimerId;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, StableCell};
use serde::Deserialize;
use std::cell::{Cell, RefCell};
use std::time::Duration;

/// Stable memory holding the periodic interval in seconds (0 = no periodic timer).
const INTERVAL_MEMORY_ID: MemoryId = MemoryId::new(0);

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Times the periodic timer fired since the last install or upgrade.
    pub periodic: u64,
    /// Times a one-shot timer from `schedule_once` fired.
    pub once: u64,
    /// ic0.time when a timer last fired (0 = never).
    pub last_fired_ns: u64,
}

thread_local! {
    static MEMORY_MANAGER: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());
    static INTERVAL_SECS: RefCell<StableCell<u64, VirtualMemory<DefaultMemoryImpl>>> =
        RefCell::new(StableCell::init(MEMORY_MANAGER.with(|m| m.get(INTERVAL_MEMORY_ID)), 0));
    static COUNTS: Cell<Counts> = Cell::new(Counts::default());
    static PERIODIC_TIMER: Cell<Option<TimerId>> = const { Cell::new(None) };
    static LAST_CALL_RESULT: Cell<Option<u64>> = const { Cell::new(None) };
}

fn record_fire(update: impl FnOnce(&mut Counts)) {
    COUNTS.with(|c| {
        let mut counts = c.get();
        update(&mut counts);
        counts.last_fired_ns = ic_cdk::api::time();
        c.set(counts);
    });
}

/// (Re)starts the periodic timer every `secs` seconds, replacing a running one.
fn arm_periodic(secs: u64) {
    if let Some(old) = PERIODIC_TIMER.with(Cell::take) {
        ic_cdk_timers::clear_timer(old);
    }
    let id = ic_cdk_timers::set_timer_interval(Duration::from_secs(secs), || async {
        record_fire(|c| c.periodic += 1);
    });
    PERIODIC_TIMER.with(|t| t.set(Some(id)));
}

fn start_periodic_and_remember(secs: u64) {
    INTERVAL_SECS.with_borrow_mut(|cell| cell.set(secs));
    arm_periodic(secs);
}

/// `Some(secs)` starts a periodic timer with that interval.
#[ic_cdk::init]
fn init(interval_secs: Option<u64>) {
    if let Some(secs) = interval_secs {
        start_periodic_and_remember(secs);
    }
}

/// Timers do not survive an upgrade: re-arm the periodic timer from the stable configuration.
#[ic_cdk::post_upgrade]
fn post_upgrade() {
    let secs = INTERVAL_SECS.with_borrow(|cell| *cell.get());
    if secs > 0 {
        arm_periodic(secs);
    }
}

/// One-shot timer after `secs` seconds that increments `once`.
#[ic_cdk::update]
fn schedule_once(secs: u64) {
    ic_cdk_timers::set_timer(Duration::from_secs(secs), async {
        record_fire(|c| c.once += 1);
    });
}

/// Starts (or restarts with a new interval) the periodic timer; kept across upgrades.
/// An interval of 0 seconds is rejected, since 0 means "no periodic timer" in stable memory.
#[ic_cdk::update]
fn start_periodic(secs: u64) {
    if secs == 0 {
        ic_cdk::trap("start_periodic: the interval must be at least 1 second");
    }
    start_periodic_and_remember(secs);
}

#[ic_cdk::query]
fn counts() -> Counts {
    COUNTS.with(Cell::get)
}

/// One-shot timer after `secs` seconds that calls `inc` on `counter` and records the reply.
#[ic_cdk::update]
fn schedule_call(counter: Principal, secs: u64) {
    ic_cdk_timers::set_timer(Duration::from_secs(secs), async move {
        let result = match Call::unbounded_wait(counter, "inc").await {
            Ok(reply) => reply.candid::<u64>().map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(value) => LAST_CALL_RESULT.with(|r| r.set(Some(value))),
            Err(e) => ic_cdk::println!("timer_user: scheduled call to {} failed: {}", counter, e),
        }
    });
}

/// Reply of the last successful call made by a `schedule_call` timer.
#[ic_cdk::query]
fn last_call_result() -> Option<u64> {
    LAST_CALL_RESULT.with(Cell::get)
}

ic_cdk::export_candid!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candid_interface_matches_committed_did_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("timer_user.did");
        platform_types::candid_check::check_service(&__export_service(), &path);
    }

    #[test]
    fn interval_is_kept_in_stable_memory() {
        assert_eq!(INTERVAL_SECS.with_borrow(|c| *c.get()), 0);
        INTERVAL_SECS.with_borrow_mut(|c| c.set(7));
        assert_eq!(INTERVAL_SECS.with_borrow(|c| *c.get()), 7);
        assert_eq!(counts(), Counts::default());
    }
}
