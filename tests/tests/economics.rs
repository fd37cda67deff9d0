//! Issue 11, economic security on localnet: the daily emission budget holds against a farm of
//! many learners (passes still count; their rewards are owed and paid once the next UTC day),
//! and the platform-wide pause stops registration, quizzes, allowances and minting, and loses
//! nothing when lifted. learning_content + staking_hub (+ its shards) + the ICRC-1 ledger; the
//! hub's governance is a plain principal here (the SNS path is in tests/governance.rs).

use candid::{Nat, Principal};
use icrc_ledger::types::{FeatureFlags, InitArgs, LedgerArgument};
use icrc_ledger_types::icrc1::account::Account;
use integration_tests::wasm;
use localnet::LocalNet;
use platform_types::*;
use std::time::{Duration, UNIX_EPOCH};

const REWARD: u64 = 10 * E8S;
/// Ten rewards a day for the whole platform.
const BUDGET: u64 = 10 * REWARD;
const UNITS: usize = 4;
const GOVERNANCE: [u8; 29] = [9; 29];

fn governance() -> Principal {
    Principal::from_slice(&GOVERNANCE)
}

fn learner(n: u32) -> Principal {
    let mut b = [6u8; 29];
    b[..4].copy_from_slice(&n.to_be_bytes());
    Principal::from_slice(&b)
}

fn unit_id(i: usize) -> String {
    format!("e-{i}")
}

fn answers(i: usize) -> Vec<u32> {
    vec![(i % 2) as u32]
}

fn units() -> Vec<UnitInput> {
    (0..UNITS)
        .map(|i| UnitInput {
            unit: Unit {
                id: unit_id(i),
                subject: "s".into(),
                title: format!("Unit {i}"),
                body: "b".into(),
                questions: vec![Question { text: "Q".into(), options: vec!["a".into(), "b".into()] }],
            },
            answer_key: answers(i),
        })
        .collect()
}

struct Env {
    net: LocalNet,
    hub: Principal,
    ledger: Principal,
}

fn env() -> Env {
    let net = LocalNet::new();
    // 01:00 UTC of the next day: the test's first day has 23 hours left.
    let now = net.get_time_nanos();
    let day_start = (now / NANOS_PER_DAY + 1) * NANOS_PER_DAY;
    net.set_time(UNIX_EPOCH + Duration::from_nanos(day_start + 3_600 * 1_000_000_000));
    let hub = net.create_canister();
    let content = net.create_canister();
    let ledger = net.create_canister();
    let init = ContentInitArgs { hub_id: hub, sns_governance_id: governance(), units: units(), pass_mark_percent: Some(100) };
    net.install_canister(content, wasm("learning_content"), candid::encode_one(init).unwrap(), None);
    let init = LedgerArgument::Init(InitArgs {
        minting_account: Account { owner: hub, subaccount: None },
        fee_collector_account: None,
        transfer_fee: 10_000u64.into(),
        decimals: Some(8),
        max_memo_length: None,
        token_symbol: "LRN".into(),
        token_name: "Learn".into(),
        metadata: vec![],
        initial_balances: vec![],
        feature_flags: Some(FeatureFlags { icrc2: true }),
    });
    net.install_canister(ledger, wasm("icrc_ledger"), candid::encode_one(init).unwrap(), None);
    let config = ConfigOverrides {
        shard_soft_limit: Some(7),
        shard_hard_limit: Some(8),
        reward_per_quiz_e8s: Some(REWARD),
        // Three rewards per chunk: several grants a day per shard.
        allowance_chunk_e8s: Some(3 * REWARD),
        daily_emission_budget_e8s: Some(BUDGET),
        daily_attempt_limit: Some(10),
        shard_sync_interval_secs: Some(10),
        auto_scale_interval_secs: Some(10),
        ..Default::default()
    };
    let init = HubInitArgs {
        ledger_id: ledger,
        learning_content_id: content,
        sns_governance_id: governance(),
        config: Some(config),
        registration_policy: Some(RegistrationPolicy::Open),
        icp_refill: None,
    };
    net.install_canister(hub, wasm("staking_hub"), candid::encode_one(init).unwrap(), None);
    Env { net, hub, ledger }
}

impl Env {
    fn register(&self, who: Principal) -> Result<Principal, RegisterError> {
        self.net.update_candid_as::<_, (Result<Principal, RegisterError>,)>(self.hub, who, "register", ()).unwrap().0
    }

    fn submit_quiz(&self, shard: Principal, who: Principal, unit: usize) -> Result<QuizOutcome, ShardError> {
        self.net
            .update_candid_as::<_, (Result<QuizOutcome, ShardError>,)>(shard, who, "submit_quiz", (unit_id(unit), answers(unit)))
            .unwrap()
            .0
    }

    fn me(&self, shard: Principal, who: Principal) -> UserView {
        self.net.query_candid_as::<_, (Result<UserView, ShardError>,)>(shard, who, "get_my_profile", ()).unwrap().0.unwrap()
    }

    fn stats(&self) -> GlobalStats {
        self.net.query_candid::<_, (GlobalStats,)>(self.hub, "get_global_stats", ()).unwrap().0
    }

    fn shard_stats(&self, shard: Principal) -> ShardStats {
        self.net.query_candid::<_, (ShardStats,)>(shard, "get_shard_stats", ()).unwrap().0
    }

    fn unstake(&self, shard: Principal, who: Principal, amount: u64) -> Result<Withdrawal, UnstakeError> {
        self.net.update_candid_as::<_, (Result<Withdrawal, UnstakeError>,)>(shard, who, "unstake", (amount,)).unwrap().0
    }

    fn withdrawals(&self, shard: Principal, who: Principal) -> Vec<Withdrawal> {
        self.net
            .query_candid_as::<_, (Result<Vec<Withdrawal>, ShardError>,)>(shard, who, "get_my_withdrawals", (0u64, 100u64))
            .unwrap()
            .0
            .unwrap()
    }

    fn balance(&self, who: Principal) -> u64 {
        let (b,): (Nat,) =
            self.net.query_candid(self.ledger, "icrc1_balance_of", (Account { owner: who, subaccount: None },)).unwrap();
        u64::try_from(b.0).unwrap()
    }

    fn set_paused(&self, paused: bool) {
        let args = SetPlatformPausedArgs { paused, reason: "drill".into() };
        let _: () = self.net.update_candid_as(self.hub, governance(), "set_platform_paused", (args,)).unwrap();
        self.run_for(30);
    }

    /// Lets timers run: time moves on by `secs`, one second per round.
    fn run_for(&self, secs: u64) {
        for _ in 0..secs {
            self.net.advance_time(Duration::from_secs(1));
            self.net.tick();
        }
        self.net.run_until_idle(10_000);
    }
}

#[test]
fn a_farm_gets_no_more_than_the_daily_budget_and_owed_rewards_are_paid_once_the_next_day() {
    let e = env();
    let farm: Vec<(Principal, Principal)> = (0..20)
        .map(|n| {
            let who = learner(n);
            let shard = e.register(who).unwrap();
            e.run_for(1);
            (who, shard)
        })
        .collect();
    let shards: std::collections::BTreeSet<Principal> = farm.iter().map(|(_, s)| *s).collect();
    assert!(shards.len() >= 2, "the farm spreads over several shards");

    // Every learner passes two units: 40 passes, 10 rewards' worth of budget.
    let (mut paid, mut owed) = (0u64, 0u64);
    for unit in 0..2 {
        for (who, shard) in &farm {
            let out = e.submit_quiz(*shard, *who, unit).unwrap();
            assert!(out.passed);
            assert_eq!(out.reward_e8s + out.reward_owed_e8s.unwrap_or(0), REWARD, "{out:?}");
            paid += out.reward_e8s;
            owed += out.reward_owed_e8s.unwrap_or(0);
        }
    }
    e.run_for(60);
    let stats = e.stats();
    assert_eq!(stats.total_granted_e8s, BUDGET, "the hub granted exactly the day's budget");
    assert_eq!(stats.granted_today_e8s, Some(BUDGET));
    assert!(paid <= BUDGET && owed >= 40 * REWARD - BUDGET, "paid {paid}, owed {owed}");
    // Nothing was lost: every pass counts, and what was not paid is owed and visible.
    let (mut staked, mut owed_now, mut completed) = (0, 0, 0);
    for (who, shard) in &farm {
        let me = e.me(*shard, *who);
        staked += me.staked_e8s;
        owed_now += me.rewards_owed_e8s.unwrap();
        completed += me.completed_units;
    }
    assert_eq!(completed, 40);
    assert_eq!(staked + owed_now, 40 * REWARD);
    assert!(staked <= BUDGET);
    let shard_owed: u64 = shards.iter().map(|s| e.shard_stats(*s).rewards_owed_e8s.unwrap()).sum();
    assert_eq!(shard_owed, owed_now);
    // Waiting shards do not hammer the hub: more time on the same day grants nothing more.
    e.run_for(120);
    assert_eq!(e.stats().total_granted_e8s, BUDGET);

    // The next two UTC days: a fresh budget each day pays owed rewards (oldest first on each
    // shard); the hub never grants more than the budget in a day, and no reward is lost or paid
    // twice (staked + owed stays exactly two rewards per learner).
    let staked_of = || -> u64 { farm.iter().map(|(w, s)| e.me(*s, *w).staked_e8s).sum() };
    let mut staked_before = staked_of();
    e.net.advance_time(Duration::from_secs(23 * 3_600));
    for day in 2..=3u64 {
        e.run_for(60);
        let stats = e.stats();
        assert!(stats.granted_today_e8s.unwrap() <= BUDGET, "day {day}: {stats:?}");
        assert!(stats.granted_today_e8s.unwrap() > 0, "day {day}: rewards flow again");
        assert!(stats.total_granted_e8s <= day * BUDGET, "day {day}: {stats:?}");
        let staked = staked_of();
        assert!(staked > staked_before, "day {day}: owed rewards are paid");
        staked_before = staked;
        for (who, shard) in &farm {
            let me = e.me(*shard, *who);
            assert_eq!(me.staked_e8s + me.rewards_owed_e8s.unwrap(), 2 * REWARD, "day {day}: {who}");
        }
        let shard_owed: u64 = shards.iter().map(|s| e.shard_stats(*s).rewards_owed_e8s.unwrap()).sum();
        assert_eq!(staked + shard_owed, 40 * REWARD, "day {day}");
        e.net.advance_time(Duration::from_secs(24 * 3_600));
    }
}

#[test]
fn the_pause_stops_registration_quizzes_allowances_and_minting_and_resuming_loses_nothing() {
    let e = env();
    let ada = learner(1);
    let shard = e.register(ada).unwrap();
    assert!(e.submit_quiz(shard, ada, 0).unwrap().passed);
    assert!(e.submit_quiz(shard, ada, 1).unwrap().passed);
    let staked = e.me(shard, ada).staked_e8s;
    assert_eq!(staked, 2 * REWARD);
    let granted = e.stats().total_granted_e8s;
    let shard_count = e.stats().shards.len();

    // Only governance may pause.
    assert!(e.net.update_candid_as::<_, ()>(e.hub, ada, "set_platform_paused", (SetPlatformPausedArgs { paused: true, reason: "x".into() },)).is_err());
    e.set_paused(true);
    assert_eq!(e.stats().platform_paused, Some(true));
    assert_eq!(e.shard_stats(shard).platform_paused, Some(true), "pushed to the shard");
    assert_eq!(e.register(learner(2)), Err(RegisterError::PlatformPaused));
    assert_eq!(e.register(ada), Ok(shard), "a registered learner still finds their shard");
    assert_eq!(e.submit_quiz(shard, ada, 2), Err(ShardError::PlatformPaused));
    assert_eq!(e.me(shard, ada).attempts_today, 2, "the refused attempt is not counted");
    // A withdrawal is accepted but waits: the hub mints nothing while paused.
    let w = e.unstake(shard, ada, REWARD).unwrap();
    assert!(matches!(&w.state, WithdrawalState::Pending { last_error: Some(why) } if why.contains("paused")), "{w:?}");
    e.run_for(90);
    assert_eq!(e.balance(ada), 0);
    assert!(matches!(e.withdrawals(shard, ada)[0].state, WithdrawalState::Pending { .. }));
    let (capacity,): (Result<Option<Principal>, String>,) =
        e.net.update_candid_as(e.hub, ada, "ensure_capacity", ()).unwrap();
    assert!(capacity.unwrap_err().contains("paused"));
    let stats = e.stats();
    assert_eq!((stats.total_granted_e8s, stats.shards.len()), (granted, shard_count), "no grants, no shards");

    // Resumed: the pending withdrawal is minted exactly once, quizzes and registration work.
    e.set_paused(false);
    assert_eq!(e.shard_stats(shard).platform_paused, Some(false));
    // Past the withdrawal's retry backoff.
    e.net.advance_time(Duration::from_secs(3_600));
    e.run_for(30);
    assert!(matches!(e.withdrawals(shard, ada)[0].state, WithdrawalState::Completed { .. }));
    assert_eq!(e.balance(ada), REWARD);
    assert_eq!(e.me(shard, ada).staked_e8s, staked - REWARD);
    assert!(e.submit_quiz(shard, ada, 2).unwrap().passed);
    e.register(learner(2)).unwrap();
    e.net.advance_time(Duration::from_secs(3_600));
    e.run_for(30);
    assert_eq!(e.balance(ada), REWARD, "minted once");
}
