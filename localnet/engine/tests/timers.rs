//! The global timer, through `ic-cdk-timers` in the `timer_user` canister: periodic and
//! one-shot timers, a timer that calls another canister, upgrades, reinstalls and stopping.

mod common;

use candid::{CandidType, Encode, Principal};
use common::{install, wasm};
use localnet::LocalNet;
use serde::Deserialize;
use std::time::Duration;

const SEC: u64 = 1_000_000_000;

#[derive(CandidType, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Counts {
    once: u64,
    last_fired_ns: u64,
    periodic: u64,
}

fn counts(net: &LocalNet, id: Principal) -> Counts {
    net.query_candid::<_, (Counts,)>(id, "counts", ()).unwrap().0
}

/// Moves the clock to `t` (absolute, ns) and runs rounds until nothing is left to do.
/// Returns the clock before the rounds ran.
fn run_at(net: &LocalNet, t: u64) -> u64 {
    let now = net.get_time_nanos();
    assert!(t >= now, "cannot go back from {now} to {t}");
    net.advance_time(Duration::from_nanos(t - now));
    net.run_until_idle(100);
    t
}

/// Runs a few rounds whatever `has_work` says, to show that nothing is due.
fn ticks(net: &LocalNet, n: u32) {
    for _ in 0..n {
        net.tick();
    }
}

/// Installs timer_user with a periodic interval; returns it and the time the interval started.
fn timer_user(net: &LocalNet, interval: Option<u64>) -> (Principal, u64) {
    let t0 = net.get_time_nanos();
    let id = install(net, "timer_user", (interval,));
    assert_eq!(net.get_time_nanos(), t0, "installing runs no round");
    (id, t0)
}

#[test]
fn periodic_timer_fires_once_per_interval_and_not_before() {
    let net = LocalNet::new();
    let (id, t0) = timer_user(&net, Some(10));
    assert_eq!(counts(&net, id), Counts::default());

    // Just before the first deadline: rounds run, the timer does not fire.
    run_at(&net, t0 + 10 * SEC - 100);
    ticks(&net, 3);
    assert_eq!(counts(&net, id).periodic, 0);
    assert_eq!(net.run_until_idle(100), 0, "nothing is due yet");

    // At the deadline: it fires, once, and records the time of the round it ran in.
    let before = run_at(&net, t0 + 10 * SEC);
    let c = counts(&net, id);
    assert_eq!(c.periodic, 1);
    assert_eq!(c.once, 0);
    assert!(c.last_fired_ns >= t0 + 10 * SEC, "{c:?}");
    assert!(c.last_fired_ns > before && c.last_fired_ns <= net.get_time_nanos(), "{c:?}, now {}", net.get_time_nanos());
    assert!(c.last_fired_ns - before <= 3, "fired within the first rounds after the deadline: {c:?}, {before}");
    let fired_at = c.last_fired_ns;

    // Half an interval later: nothing more.
    run_at(&net, t0 + 15 * SEC);
    ticks(&net, 3);
    assert_eq!(counts(&net, id).periodic, 1);

    // The next deadline is t0 + 20 s (the interval counts from the schedule, not the firing).
    run_at(&net, t0 + 20 * SEC - 50);
    ticks(&net, 3);
    assert_eq!(counts(&net, id).periodic, 1);
    run_at(&net, t0 + 20 * SEC);
    let c = counts(&net, id);
    assert_eq!(c.periodic, 2);
    assert!(c.last_fired_ns >= t0 + 20 * SEC && c.last_fired_ns > fired_at);

    for k in 3..=5u64 {
        run_at(&net, t0 + k * 10 * SEC);
        assert_eq!(counts(&net, id).periodic, k);
    }
    assert_eq!(counts(&net, id).once, 0);
}

#[test]
fn timer_rounds_show_in_the_execution_log() {
    let net = LocalNet::new();
    let (id, t0) = timer_user(&net, Some(10));
    let start = net.execution_log().len();
    run_at(&net, t0 + 10 * SEC);
    let log = net.execution_log();
    let entries: Vec<&str> = log[start..].iter().filter(|r| r.canister == id).map(|r| r.entry.as_str()).collect();
    // canister_global_timer self-calls the timer executor, whose reply comes back to a callback.
    assert_eq!(entries.first(), Some(&"global timer"), "{entries:?}");
    assert!(entries.contains(&"update <ic-cdk internal> timer_executor"), "{entries:?}");
    assert_eq!(entries.iter().filter(|e| **e == "global timer").count(), 1, "{entries:?}");
    assert!(log[start..].iter().all(|r| !r.trapped), "{:?}", &log[start..]);
}

#[test]
fn one_shot_timer_fires_exactly_once() {
    let net = LocalNet::new();
    let (id, _) = timer_user(&net, None);
    net.update_candid::<_, ()>(id, "schedule_once", (5u64,)).unwrap();
    let scheduled = net.get_time_nanos();
    // The deadline counts from the time of the update that set it (within a round or two).
    run_at(&net, scheduled + 5 * SEC - 10);
    ticks(&net, 3);
    assert_eq!(counts(&net, id).once, 0);
    run_at(&net, scheduled + 5 * SEC);
    let c = counts(&net, id);
    assert_eq!(c.once, 1);
    assert_eq!(c.periodic, 0);
    assert!(c.last_fired_ns >= scheduled + 5 * SEC - 3 && c.last_fired_ns <= net.get_time_nanos());

    for _ in 0..3 {
        run_at(&net, net.get_time_nanos() + 100 * SEC);
        ticks(&net, 2);
    }
    assert_eq!(counts(&net, id).once, 1, "a one-shot timer fires once");

    // Two one-shot timers at different delays fire one after the other.
    net.update_candid::<_, ()>(id, "schedule_once", (7u64,)).unwrap();
    net.update_candid::<_, ()>(id, "schedule_once", (3u64,)).unwrap();
    let t = net.get_time_nanos();
    run_at(&net, t + 4 * SEC);
    assert_eq!(counts(&net, id).once, 2);
    run_at(&net, t + 8 * SEC);
    assert_eq!(counts(&net, id).once, 3);
}

#[test]
fn timer_can_call_another_canister() {
    let net = LocalNet::new();
    let counter = install(&net, "counter", (Some(10u64),));
    let (id, _) = timer_user(&net, None);
    net.update_candid::<_, ()>(id, "schedule_call", (counter, 3u64)).unwrap();
    let scheduled = net.get_time_nanos();
    run_at(&net, scheduled + 2 * SEC);
    assert_eq!(net.query_candid::<_, (Option<u64>,)>(id, "last_call_result", ()).unwrap().0, None);
    assert_eq!(net.query_candid::<_, (u64,)>(counter, "get", ()).unwrap().0, 10);

    run_at(&net, scheduled + 3 * SEC);
    assert_eq!(net.query_candid::<_, (u64,)>(counter, "get", ()).unwrap().0, 11);
    assert_eq!(net.query_candid::<_, (Option<u64>,)>(id, "last_call_result", ()).unwrap().0, Some(11));
    // The timer's call was made by timer_user itself.
    let log = net.execution_log();
    let inc: Vec<_> = log.iter().filter(|r| r.canister == counter && r.entry == "update inc").collect();
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].ingress, None, "started by the timer, not by an ingress message");

    // It does not repeat.
    run_at(&net, net.get_time_nanos() + 60 * SEC);
    ticks(&net, 3);
    assert_eq!(net.query_candid::<_, (u64,)>(counter, "get", ()).unwrap().0, 11);
}

#[test]
fn upgrade_rearms_the_periodic_timer_and_reinstall_clears_it() {
    let net = LocalNet::new();
    let (id, t0) = timer_user(&net, Some(10));
    run_at(&net, t0 + 10 * SEC);
    assert_eq!(counts(&net, id).periodic, 1);
    // A pending one-shot timer lives on the heap: the upgrade drops it.
    net.update_candid::<_, ()>(id, "schedule_once", (4u64,)).unwrap();

    let t1 = net.get_time_nanos();
    net.upgrade_canister(id, wasm("timer_user"), Encode!().unwrap(), None).unwrap();
    assert_eq!(counts(&net, id), Counts::default(), "heap counts restart after the upgrade");

    // post_upgrade re-armed the interval from t1: nothing at t0 + 20 s (< t1 + 10 s), no one-shot.
    run_at(&net, t1 + 10 * SEC - 100);
    ticks(&net, 3);
    assert_eq!(counts(&net, id), Counts::default());
    run_at(&net, t1 + 10 * SEC);
    let c = counts(&net, id);
    assert_eq!((c.periodic, c.once), (1, 0), "{c:?}");
    run_at(&net, t1 + 20 * SEC);
    assert_eq!(counts(&net, id).periodic, 2);

    // Reinstall with no interval: stable memory is wiped, no timer is left.
    net.reinstall_canister(id, wasm("timer_user"), Encode!(&None::<u64>).unwrap(), None).unwrap();
    let start = net.execution_log().len();
    for k in 1..=4u64 {
        run_at(&net, t1 + (20 + 10 * k) * SEC);
        ticks(&net, 2);
    }
    assert_eq!(counts(&net, id), Counts::default());
    // install_code deactivates the global timer: canister_global_timer is not even called.
    let log = net.execution_log();
    assert!(log[start..].iter().all(|r| r.canister != id || r.entry.starts_with("query")), "{:?}", &log[start..]);
    // And an upgrade after that does not bring it back either.
    net.upgrade_canister(id, wasm("timer_user"), Encode!().unwrap(), None).unwrap();
    run_at(&net, net.get_time_nanos() + 30 * SEC);
    ticks(&net, 2);
    assert_eq!(counts(&net, id), Counts::default());
}

#[test]
fn stopped_canister_runs_no_timers_until_started() {
    let net = LocalNet::new();
    let (id, t0) = timer_user(&net, Some(10));
    net.stop_canister(id, None).unwrap();
    net.advance_time(Duration::from_secs(25));
    let until = net.get_time_nanos();
    let start = net.execution_log().len();
    ticks(&net, 20);
    net.run_until_idle(100);
    // (A stopped canister answers no queries either, so look at what executed.)
    let ran: Vec<_> = net.execution_log()[start..].iter().filter(|r| r.canister == id).cloned().collect();
    assert!(ran.is_empty(), "a stopped canister's timer does not run: {ran:?}");

    net.start_canister(id, None).unwrap();
    net.run_until_idle(100);
    let c = counts(&net, id);
    // It runs once started; the missed deadlines (t0+10 s, t0+20 s) are caught up.
    assert!(c.periodic >= 1, "{c:?}");
    assert!(c.last_fired_ns > until, "{c:?}");
    let caught_up = c.periodic;
    assert_eq!(caught_up, 2, "one execution per missed deadline up to now");
    run_at(&net, t0 + 30 * SEC);
    assert_eq!(counts(&net, id).periodic, caught_up + 1);
}

#[test]
fn a_due_timer_of_a_frozen_canister_waits_for_cycles() {
    let net = LocalNet::new();
    // Enough to install, not enough to prepay a 40B-instruction timer execution.
    let id = net.create_canister_with_cycles(None, 20_000_000_000);
    net.install_canister(id, wasm("timer_user"), Encode!(&Some(10u64)).unwrap(), None);
    net.advance_time(Duration::from_secs(10));
    net.tick();
    net.tick();
    assert_eq!(net.execution_log().iter().filter(|r| r.entry == "global timer").count(), 0, "frozen: no timer ran");
    net.add_cycles(id, 100_000_000_000_000);
    ticks(&net, 5);
    assert_eq!(counts(&net, id).periodic, 1, "the due timer stayed armed and fired after the top-up");
}
