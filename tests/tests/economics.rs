//! Issue 11, economic security on localnet: the daily emission budget holds against a farm of
//! many learners (passes still count; their rewards are owed and paid once the next UTC day),
//! and the platform-wide pause stops registration, quizzes, allowances and minting, and loses
//! nothing when lifted. learning_content + staking_hub (+ its shards) + the ICRC-1 ledger; the
//! hub's governance is a plain principal here (the SNS path is in tests/governance.rs).

use candid::Principal;
use integration_tests::platform::{learner_of, test_governance, Platform, Quizzes};
use platform_types::*;
use std::time::{Duration, UNIX_EPOCH};

const REWARD: u64 = 10 * E8S;
/// Ten rewards a day for the whole platform.
const BUDGET: u64 = 10 * REWARD;
/// Units `e-0` .. `e-3`, one question of two options; the right answer is `i % 2`.
const QUIZZES: Quizzes = Quizzes { prefix: "e-", width: 0, count: 4, options: 2, key: |i| vec![(i % 2) as u32] };

fn learner(n: u32) -> Principal {
    learner_of(6, n)
}

fn env() -> Platform {
    let net = localnet::LocalNet::new();
    // 01:00 UTC of the next day: the test's first day has 23 hours left.
    let now = net.get_time_nanos();
    let day_start = (now / NANOS_PER_DAY + 1) * NANOS_PER_DAY;
    net.set_time(UNIX_EPOCH + Duration::from_nanos(day_start + 3_600 * 1_000_000_000));
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
        // A withdrawal's first attempt is made by its unstake (the pause answers it at once).
        withdrawal_batch_secs: Some(0),
        ..Default::default()
    };
    Platform::builder().net(net).quizzes(QUIZZES).pass_mark_percent(100).config(config).deploy()
}

fn set_paused(e: &Platform, paused: bool) {
    let args = SetPlatformPausedArgs { paused, reason: "drill".into() };
    let _: () = e.net.update_candid_as(e.hub, test_governance(), "set_platform_paused", (args,)).unwrap();
    e.run_for(30);
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
            let out = e.answer(*shard, *who, unit).unwrap();
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
        let me = e.profile(*shard, *who).unwrap();
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
    let staked_of = || -> u64 { farm.iter().map(|(w, s)| e.profile(*s, *w).unwrap().staked_e8s).sum() };
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
            let me = e.profile(*shard, *who).unwrap();
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
    assert!(e.answer(shard, ada, 0).unwrap().passed);
    assert!(e.answer(shard, ada, 1).unwrap().passed);
    let staked = e.profile(shard, ada).unwrap().staked_e8s;
    assert_eq!(staked, 2 * REWARD);
    let granted = e.stats().total_granted_e8s;
    let shard_count = e.stats().shards.len();

    // Only governance may pause.
    assert!(e.net.update_candid_as::<_, ()>(e.hub, ada, "set_platform_paused", (SetPlatformPausedArgs { paused: true, reason: "x".into() },)).is_err());
    set_paused(&e, true);
    assert_eq!(e.stats().platform_paused, Some(true));
    assert_eq!(e.shard_stats(shard).platform_paused, Some(true), "pushed to the shard");
    assert_eq!(e.register(learner(2)), Err(RegisterError::PlatformPaused));
    assert_eq!(e.register(ada), Ok(shard), "a registered learner still finds their shard");
    assert_eq!(e.answer(shard, ada, 2), Err(ShardError::PlatformPaused));
    assert_eq!(e.profile(shard, ada).unwrap().attempts_today, 2, "the refused attempt is not counted");
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
    set_paused(&e, false);
    assert_eq!(e.shard_stats(shard).platform_paused, Some(false));
    // Past the withdrawal's retry backoff.
    e.net.advance_time(Duration::from_secs(3_600));
    e.run_for(30);
    assert!(matches!(e.withdrawals(shard, ada)[0].state, WithdrawalState::Completed { .. }));
    assert_eq!(e.balance(ada), REWARD);
    assert_eq!(e.profile(shard, ada).unwrap().staked_e8s, staked - REWARD);
    assert!(e.answer(shard, ada, 2).unwrap().passed);
    e.register(learner(2)).unwrap();
    e.net.advance_time(Duration::from_secs(3_600));
    e.run_for(30);
    assert_eq!(e.balance(ada), REWARD, "minted once");
}
