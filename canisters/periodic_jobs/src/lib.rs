//! Periodic jobs that run at most once per interval and never beside themselves.
//!
//! ic-cdk-timers 1.0 reschedules an interval timer from the time it was *due*, not from now, so
//! a canister that was paused (stopped, frozen for lack of cycles, or on a local network whose
//! time jumped) replays every interval it missed when it runs again:
//! * `set_timer_interval_serial` dispatches one self-call per missed interval (a 30 s timer after
//!   a frozen day: ~2,900 calls), and each runs the job whenever the previous one has finished;
//! * `set_timer_interval` dispatches at most 5 at once, then reschedules from now.
//!
//! A [`PeriodicJob`] rides on `set_timer_interval` (so a trap in the job never stops the timer:
//! the rescheduling is committed before the job runs) and decides in [`should_start`] whether a
//! firing starts the job: not while a run is still awaiting its calls (serial), and not again
//! within half an interval of the last start (the catch-up firings after a pause). At most 4
//! self-calls after a pause then end at once without doing anything.

use ic_cdk_timers::TimerId;
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

/// Whether a firing at `now_ns` starts the job. Pure, so it is tested natively.
pub fn should_start(now_ns: u64, last_start_ns: Option<u64>, interval: Duration, running: bool) -> bool {
    if running {
        return false;
    }
    match last_start_ns {
        None => true,
        Some(last) => now_ns.saturating_sub(last) >= min_gap_ns(interval),
    }
}

/// Half an interval: a firing on schedule always passes (timer firings may come a little early
/// relative to the last start's recorded time), a catch-up firing in the same round never does.
fn min_gap_ns(interval: Duration) -> u64 {
    u64::try_from(interval.as_nanos() / 2).unwrap_or(u64::MAX)
}

#[derive(Default)]
struct RunState {
    running: Cell<bool>,
    last_start_ns: Cell<Option<u64>>,
    started: Cell<u64>,
    skipped: Cell<u64>,
}

/// Clears `running` when the run ends, also when a callback of the run traps (ic-cdk drops the
/// future in the cleanup, which runs this).
struct Running(Rc<RunState>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.set(false);
    }
}

/// One periodic job of a canister (keep it in a `thread_local!`): its timer and its run state,
/// which survive [`PeriodicJob::start`] being called again with another interval.
#[derive(Default)]
pub struct PeriodicJob {
    timer: Cell<Option<TimerId>>,
    state: Rc<RunState>,
}

impl PeriodicJob {
    pub fn new() -> Self {
        Self::default()
    }

    /// (Re)arms the job every `interval`; an earlier timer of this job is cleared, and a run
    /// under way finishes before the next starts.
    pub fn start<F, Fut>(&self, interval: Duration, job: F)
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.stop();
        let state = self.state.clone();
        let id = ic_cdk_timers::set_timer_interval(interval, move || {
            let now = ic_cdk::api::time();
            let run = should_start(now, state.last_start_ns.get(), interval, state.running.get()).then(|| {
                state.running.set(true);
                state.last_start_ns.set(Some(now));
                state.started.set(state.started.get() + 1);
                (Running(state.clone()), job())
            });
            if run.is_none() {
                state.skipped.set(state.skipped.get() + 1);
            }
            async move {
                if let Some((_running, run)) = run {
                    run.await;
                }
            }
        });
        self.timer.set(Some(id));
    }

    /// Clears the job's timer (a run under way finishes).
    pub fn stop(&self) {
        if let Some(id) = self.timer.take() {
            ic_cdk_timers::clear_timer(id);
        }
    }

    /// Runs started and firings skipped since the canister was installed or upgraded (metrics).
    pub fn counts(&self) -> (u64, u64) {
        (self.state.started.get(), self.state.skipped.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3_600);
    const S: u64 = 1_000_000_000;

    #[test]
    fn the_first_firing_starts() {
        assert!(should_start(0, None, HOUR, false));
        assert!(should_start(5 * S, None, HOUR, false));
    }

    #[test]
    fn a_run_still_awaiting_its_calls_makes_the_firing_skip() {
        assert!(!should_start(10 * 3_600 * S, Some(0), HOUR, true));
        assert!(!should_start(10 * S, None, HOUR, true));
    }

    #[test]
    fn catch_up_firings_of_the_same_round_skip() {
        let resumed = 240 * 3_600 * S; // after ten days paused
        assert!(should_start(resumed, Some(3_600 * S), HOUR, false));
        // The other firings ic-cdk-timers dispatches for the missed hours come in the same round.
        assert!(!should_start(resumed, Some(resumed), HOUR, false));
        assert!(!should_start(resumed + 2 * S, Some(resumed), HOUR, false));
    }

    #[test]
    fn a_firing_on_schedule_starts_even_a_little_early() {
        let last = 7_200 * S;
        assert!(should_start(last + 3_600 * S, Some(last), HOUR, false));
        assert!(should_start(last + 3_000 * S, Some(last), HOUR, false));
        assert!(should_start(last + 1_800 * S, Some(last), HOUR, false));
        assert!(!should_start(last + 1_799 * S, Some(last), HOUR, false));
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        assert!(!should_start(0, Some(u64::MAX), HOUR, false), "a clock that went back");
        assert!(should_start(u64::MAX, Some(0), Duration::MAX, false) == (u64::MAX >= min_gap_ns(Duration::MAX)));
        assert!(should_start(1, Some(0), Duration::ZERO, false));
    }
}
