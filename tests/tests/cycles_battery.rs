//! The cycles battery (issue 13, section 1) on localnet: shards burn cycles (the engine charges
//! every message), the hub tops them up by threshold and by estimated days of runtime, a shard's
//! own ask is honoured once and throttled, a time jump (timers catching up) causes no spurious
//! top-up nor degradation, a low hub degrades in the stated order without going below its
//! reserve, and learning_content (not controlled by the hub) is topped up.

use candid::{Nat, Principal};
use integration_tests::platform::{key_learner, LedgerKind, Platform};
use integration_tests::wasm;
use localnet::{FeeSchedule, LocalNet, LocalNetBuilder};
use platform_types::*;
use std::time::Duration;

const T: u128 = 1_000_000_000_000;
const B: u128 = 1_000_000_000;

fn learner(n: u32) -> Principal {
    key_learner(b"battery-learner-key-", n)
}

fn profile() -> ProfileInput {
    ProfileInput { email: "ada@example.org".into(), name: "Ada".into(), education: "Maths".into(), gender: Gender::Female }
}

/// The application subnet's fees with each message's execution fee raised to `per_message`, so
/// that a shard's traffic (and its timers) burn a measurable amount in a test.
fn fees(per_message: u128) -> FeeSchedule {
    FeeSchedule { update_message_execution_fee: per_message, ..FeeSchedule::APPLICATION_SUBNET }
}

/// The platform without a ledger, with this file's own calls on top.
struct Env(Platform);

impl std::ops::Deref for Env {
    type Target = Platform;
    fn deref(&self) -> &Platform {
        &self.0
    }
}

fn deploy(net: LocalNet, overrides: ConfigOverrides, hub_cycles: u128, content_cycles: u128) -> Env {
    Env(Platform::builder()
        .net(net)
        .ledger(LedgerKind::None)
        .config(overrides)
        .hub_cycles(hub_cycles)
        .content_cycles(content_cycles)
        .deploy())
}

impl Env {
    fn report(&self) -> CyclesReport {
        self.cycles_report()
    }

    fn shard_figures(&self, shard: Principal) -> CanisterCycles {
        self.report().shards.into_iter().find(|s| s.canister_id == shard).expect("the shard is in the report")
    }

    /// A learner's message to their shard: the shard pays its execution.
    fn busy(&self, shard: Principal, user: Principal, messages: u32) {
        for _ in 0..messages {
            self.update_profile(shard, user, profile()).unwrap();
        }
    }

    fn shards_created(&self) -> usize {
        self.shards().len()
    }

    fn request_top_up(&self, caller: Principal, balance: u128) -> Result<Nat, TopUpRequestError> {
        let (r,): (Result<Nat, TopUpRequestError>,) =
            self.net.update_candid_as(self.hub, caller, "request_top_up", (Nat::from(balance),)).unwrap();
        r
    }

    fn governance(&self, changes: EconomicConfigChanges) {
        let () = self.net.update_candid_as(self.hub, self.governance, "update_economic_config", (changes,)).unwrap();
        self.net.run_until_idle(10_000);
    }
}

fn nat(n: &Nat) -> u128 {
    u128::try_from(n.0.clone()).unwrap()
}

#[test]
fn the_hub_tops_up_a_shard_with_few_days_left_above_the_threshold() {
    let overrides = ConfigOverrides {
        auto_scale_interval_secs: Some(300),
        shard_sync_interval_secs: Some(300),
        shard_initial_cycles: Some(4 * T),
        shard_topup_threshold_cycles: Some(MIN_SHARD_CYCLES),
        shard_topup_amount_cycles: Some(T),
        shard_topup_daily_budget_cycles: Some(10 * T),
        topup_min_days_left: Some(30),
        ..Default::default()
    };
    let p = deploy(LocalNetBuilder::new().with_fees(fees(2 * B)).build(), overrides, 1_000 * T, 100 * T);
    let user = learner(1);
    let shard = p.register(user).unwrap();
    let mut topped_up_at = None;
    for step in 0..48u32 {
        p.busy(shard, user, 5);
        p.wait(300);
        let figures = p.shard_figures(shard);
        if nat(&figures.topped_up_total) > 0 {
            topped_up_at = Some((step, figures));
            break;
        }
    }
    let (step, figures) = topped_up_at.expect("the hub topped the shard up within four hours");
    // Readings an hour apart: three are needed for a rate, so not before two hours.
    assert!(step >= 23, "topped up at step {step}, before the burn rate could be known");
    assert_eq!(nat(&figures.topped_up_total), T);
    let burn = nat(figures.burn_per_day.as_ref().expect("a burn rate"));
    assert!(burn > 0, "{figures:?}");
    let days_left = figures.days_left.expect("days left");
    assert!(days_left < 30, "{figures:?}");
    // It was the days rule: the shard was far above the threshold.
    assert!(p.net.cycle_balance(shard) > 2 * T, "{}", p.net.cycle_balance(shard));
    let hub = p.report().hub;
    assert!(hub.balance.is_some() && hub.burn_per_day.is_some(), "the hub reports its own figures: {hub:?}");
}

#[test]
fn a_shard_that_runs_low_asks_once_and_is_throttled() {
    let overrides = ConfigOverrides {
        // No battery round during the test: only the shard's ask can top it up.
        auto_scale_interval_secs: Some(86_400),
        shard_sync_interval_secs: Some(86_400),
        shard_initial_cycles: Some(2 * T),
        shard_topup_threshold_cycles: Some(3 * T / 2),
        shard_topup_amount_cycles: Some(MIN_SHARD_CYCLES),
        ..Default::default()
    };
    let p = deploy(LocalNetBuilder::new().with_fees(fees(20 * B)).build(), overrides, 1_000 * T, 100 * T);
    let user = learner(1);
    let shard = p.register(user).unwrap();
    // Burn until the shard is below the threshold, then one message more triggers the ask.
    while p.net.cycle_balance(shard) >= 3 * T / 2 {
        p.busy(shard, user, 1);
    }
    p.busy(shard, user, 1);
    p.net.run_until_idle(10_000);
    let figures = p.shard_figures(shard);
    assert_eq!(nat(&figures.topped_up_total), MIN_SHARD_CYCLES, "the ask was honoured: {figures:?}");
    // Still low, but the shard asks again only an hour later, and the hub refuses sooner asks.
    p.busy(shard, user, 5);
    p.net.run_until_idle(10_000);
    assert_eq!(nat(&p.shard_figures(shard).topped_up_total), MIN_SHARD_CYCLES, "throttled on the shard");
    let balance = p.net.cycle_balance(shard);
    match p.request_top_up(shard, balance) {
        Err(TopUpRequestError::TooSoon { retry_after_ns }) => assert!(retry_after_ns > p.net.get_time_nanos()),
        other => panic!("expected TooSoon, got {other:?}"),
    }
    // Only shards may ask: the ingress filter refuses anyone else.
    let err = p.net.submit_call(p.hub, user, "request_top_up", candid::encode_one(Nat::from(1u8)).unwrap()).unwrap_err();
    assert_eq!(err.error_code, localnet::ErrorCode::CanisterRejectedMessage);
    // An hour later the ask is honoured again.
    p.net.advance_time(Duration::from_secs(3_601));
    assert_eq!(p.request_top_up(shard, p.net.cycle_balance(shard)), Ok(Nat::from(MIN_SHARD_CYCLES)));
    assert_eq!(nat(&p.shard_figures(shard).topped_up_total), 2 * MIN_SHARD_CYCLES);
    // A shard that is not low is told so (and that ask counts for the throttle).
    p.net.advance_time(Duration::from_secs(3_601));
    p.net.add_cycles(shard, 5 * T);
    assert!(matches!(p.request_top_up(shard, 5 * T), Err(TopUpRequestError::NotLow { .. })));
}

#[test]
fn a_time_jump_causes_no_spurious_top_up_nor_degradation() {
    let overrides = ConfigOverrides {
        auto_scale_interval_secs: Some(60),
        shard_sync_interval_secs: Some(60),
        shard_initial_cycles: Some(5 * T),
        shard_topup_threshold_cycles: Some(4 * T),
        shard_topup_amount_cycles: Some(T),
        hub_cycles_for_new_shards: Some(15 * T),
        hub_cycles_for_full_topups: Some(15 * T),
        ..Default::default()
    };
    let p = deploy(LocalNet::new(), overrides, 30 * T, 100 * T);
    let shard = p.register(learner(1)).unwrap();
    for _ in 0..3 {
        p.wait(61);
    }
    assert_eq!(p.report().level, BatteryLevel::Normal);
    let hub_before = p.net.cycle_balance(p.hub);
    assert!(hub_before > 20 * T, "{hub_before}");
    // A day passes at once. ic-cdk-timers would replay the 1,440 missed minutes, one self-call
    // each, every one holding cycles for its response (the hub's balance dipped below 15 T and the
    // shard's below 4 T for a round, before the periodic jobs). Now each job fires at most 5 times
    // and starts once.
    p.net.advance_time(Duration::from_secs(86_400));
    p.net.run_until_idle(100_000);
    let report = p.report();
    assert!(report.last_round_at_ns.unwrap() >= p.net.get_time_nanos() - 1_000_000_000, "{report:?}");
    // The round read no dip: the hub well above its 15 T thresholds, the shard never low.
    assert!(nat(report.hub.balance.as_ref().unwrap()) > 20 * T, "{report:?}");
    assert_eq!(p.shard_figures(shard).low_readings, 0, "{report:?}");
    assert_eq!(report.level, BatteryLevel::Normal, "no spurious degradation: {report:?}");
    assert_eq!(nat(&p.shard_figures(shard).topped_up_total), 0, "no spurious top-up: {report:?}");
    for _ in 0..3 {
        p.wait(61);
    }
    let figures = p.shard_figures(shard);
    assert_eq!(nat(&figures.topped_up_total), 0, "no spurious top-up: {figures:?}");
    assert_eq!(p.report().level, BatteryLevel::Normal);
    assert!(p.net.cycle_balance(shard) > 4 * T);
}

#[test]
fn a_low_hub_stops_creating_shards_then_tops_up_less_and_keeps_its_reserve() {
    let amount = MAX_SHARD_TOPUP_CYCLES;
    let overrides = ConfigOverrides {
        shard_soft_limit: Some(2),
        shard_hard_limit: Some(3),
        auto_scale_interval_secs: Some(60),
        shard_initial_cycles: Some(T),
        // The shard and learning_content (1 T) stay below it whatever they get.
        shard_topup_threshold_cycles: Some(MAX_SHARD_CYCLES),
        shard_topup_amount_cycles: Some(amount),
        shard_topup_daily_budget_cycles: Some(MAX_SHARD_TOPUP_DAILY_BUDGET_CYCLES),
        ..Default::default()
    };
    let p = deploy(LocalNet::new(), overrides, 25 * T, T);
    let shard = p.register(learner(0)).unwrap();
    assert_eq!(p.report().level, BatteryLevel::Normal);
    // The hub runs low: governance raises the thresholds above its liquid balance, one at a
    // time (the order is the one the configuration enforces).
    p.governance(EconomicConfigChanges { hub_cycles_for_new_shards: Some(MAX_HUB_CYCLES_THRESHOLD), ..Default::default() });
    // Step one: no new shard, even at the hard limit.
    for n in 1..3 {
        assert_eq!(p.register(learner(n)), Ok(shard));
    }
    match p.register(learner(3)) {
        Err(RegisterError::NoCapacity { detail }) => assert!(detail.contains("hub_cycles_for_new_shards"), "{detail}"),
        other => panic!("expected NoCapacity, got {other:?}"),
    }
    // Top-ups are still in full.
    p.wait(61);
    assert_eq!(p.report().level, BatteryLevel::NoNewShards);
    p.wait(61);
    let totals = |r: &CyclesReport| {
        let shard = nat(&r.shards.iter().find(|s| s.canister_id == shard).unwrap().topped_up_total);
        (shard, nat(&r.learning_content.as_ref().unwrap().topped_up_total))
    };
    let (shard_total, content_total) = totals(&p.report());
    assert!(shard_total + content_total > 0, "{:?}", p.report());
    assert_eq!((shard_total % amount, content_total % amount), (0, 0), "full top-ups: {:?}", p.report());
    assert_eq!(p.shards_created(), 1);
    // Step two: below hub_cycles_for_full_topups every top-up is at most a quarter of what the
    // hub holds above its reserve.
    p.governance(EconomicConfigChanges { hub_cycles_for_full_topups: Some(MAX_HUB_CYCLES_THRESHOLD), ..Default::default() });
    let mut previous = totals(&p.report());
    let mut smaller = 0;
    for _ in 0..12 {
        let liquid_before = nat(&p.report().hub_liquid_now);
        p.wait(61);
        let report = p.report();
        let now = totals(&report);
        for delta in [now.0 - previous.0, now.1 - previous.1] {
            if delta > 0 {
                assert!(delta < amount && delta <= (liquid_before - HUB_CYCLES_RESERVE) / 4 + B, "{delta} of {liquid_before}");
                smaller += 1;
            }
        }
        previous = now;
        assert_eq!(report.level, BatteryLevel::SmallTopUps);
        assert!(nat(&report.hub_liquid_now) > HUB_CYCLES_RESERVE, "never below the reserve: {report:?}");
    }
    assert!(smaller >= 2, "{smaller} smaller top-ups: {:?}", p.report());
}

#[test]
fn learning_content_reports_its_balance_and_is_topped_up() {
    let overrides = ConfigOverrides {
        auto_scale_interval_secs: Some(60),
        shard_topup_threshold_cycles: Some(8 * T),
        shard_topup_amount_cycles: Some(T),
        shard_initial_cycles: Some(9 * T),
        ..Default::default()
    };
    let p = deploy(LocalNet::new(), overrides, 100 * T, 5 * T);
    let (balance,): (Nat,) = p.net.query_candid(p.content, "get_cycles_balance", ()).unwrap();
    assert_eq!(nat(&balance), p.net.cycle_balance(p.content));
    let before = p.net.cycle_balance(p.content);
    p.wait(61);
    assert_eq!(nat(&p.report().learning_content.unwrap().topped_up_total), 0, "one low reading is not enough");
    p.wait(61);
    let figures = p.report().learning_content.unwrap();
    assert_eq!(nat(&figures.topped_up_total), T, "{figures:?}");
    assert!(p.net.cycle_balance(p.content) > before + T - T / 100);
    // The hub is not its controller: the top-up is a deposit anyone may make.
    assert!(!p.net.get_controllers(p.content).contains(&p.hub));
    // The battery's records are in stable memory: an upgrade keeps them.
    let before_upgrade = p.report();
    p.net.upgrade_canister(p.hub, wasm("staking_hub"), candid::encode_args(()).unwrap(), None).unwrap();
    let after_upgrade = p.report();
    assert_eq!(after_upgrade.learning_content, before_upgrade.learning_content);
    assert_eq!(after_upgrade.shards, before_upgrade.shards);
    assert_eq!(after_upgrade.last_round_at_ns, before_upgrade.last_round_at_ns);
}
