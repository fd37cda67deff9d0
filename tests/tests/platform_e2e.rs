//! End to end on localnet: learning_content + staking_hub (which creates its shards) and
//! learners who register, fill in profiles, answer quizzes and earn from shard allowances.

use candid::Principal;
use integration_tests::platform::{learner, LedgerKind, Platform};
use integration_tests::{unit, wasm};
use localnet::LocalNet;
use platform_types::*;

fn platform(overrides: ConfigOverrides) -> Platform {
    let units = vec![
        unit("math-1", "math", vec![0, 1, 2]),
        unit("math-2", "math", vec![2, 2, 2]),
        unit("hist-1", "history", vec![1, 0, 1, 0, 1]),
    ];
    Platform::builder().units(units).pass_mark_percent(60).ledger(LedgerKind::None).config(overrides).deploy()
}

fn small() -> ConfigOverrides {
    ConfigOverrides {
        shard_soft_limit: Some(9),
        shard_hard_limit: Some(10),
        allowance_chunk_e8s: Some(250 * E8S),
        reward_per_quiz_e8s: Some(100 * E8S),
        ..Default::default()
    }
}

#[test]
fn a_learner_registers_studies_and_earns() {
    let p = platform(small());
    let ada = learner(1);
    let shard = p.register(ada).unwrap();
    assert_eq!(p.register(ada).unwrap(), shard, "registering twice gives the same shard");
    let (routed,): (Option<Principal>,) = p.net.query_candid(p.hub, "get_user_shard", (ada,)).unwrap();
    assert_eq!(routed, Some(shard));

    let profile = ProfileInput { email: "ada@example.org".into(), name: "Ada".into(), education: "Math".into(), gender: Gender::Female };
    let (r,): (Result<UserView, ShardError>,) = p.net.update_candid_as(shard, ada, "update_profile", (profile.clone(),)).unwrap();
    assert_eq!(r.unwrap().profile.unwrap().name, "Ada");
    let bad = ProfileInput { email: "not-an-email".into(), ..profile };
    let (r,): (Result<UserView, ShardError>,) = p.net.update_candid_as(shard, ada, "update_profile", (bad,)).unwrap();
    assert!(matches!(r, Err(ShardError::BadInput { .. })));

    // A fail counts as an attempt and earns nothing; a pass earns the reward once.
    let fail = p.submit_quiz(shard, ada, "math-1", vec![2, 2, 0]).unwrap();
    assert!(!fail.passed && fail.reward_e8s == 0);
    let pass = p.submit_quiz(shard, ada, "math-1", vec![0, 1, 2]).unwrap();
    assert!(pass.passed);
    assert_eq!((pass.total, pass.reward_e8s, pass.staked_e8s), (3, 100 * E8S, 100 * E8S));
    assert_eq!(p.submit_quiz(shard, ada, "math-1", vec![0, 1, 2]), Err(ShardError::AlreadyCompleted { unit_id: "math-1".into() }));
    assert!(matches!(p.submit_quiz(shard, ada, "nope", vec![0]), Err(ShardError::UnknownUnit { .. })));
    let me = p.profile(shard, ada).unwrap();
    assert_eq!(
        (me.staked_e8s, me.completed_units, me.attempts_today),
        (100 * E8S, 1, 2),
        "the shard holds the answer keys: the unknown unit is refused before it counts"
    );

    // The shard took one allowance chunk from the hub for it, not one call per quiz.
    let stats = p.shard_stats(shard);
    assert_eq!(stats.allowance_received_e8s, 250 * E8S);
    assert_eq!(stats.allowance_remaining_e8s, 150 * E8S);
    let g = p.stats();
    assert_eq!(g.total_granted_e8s, 250 * E8S);
    assert_eq!(g.cap_remaining_e8s, HARD_CAP_E8S - 250 * E8S);
    assert_eq!(g.users, 1);
}

#[test]
fn daily_limit_counts_failed_attempts_and_resets_at_utc_midnight() {
    let p = platform(small());
    let bob = learner(2);
    let shard = p.register(bob).unwrap();
    for _ in 0..5 {
        assert!(!p.submit_quiz(shard, bob, "hist-1", vec![0, 0, 0, 0, 0]).unwrap().passed);
    }
    assert_eq!(p.submit_quiz(shard, bob, "hist-1", vec![1, 0, 1, 0, 1]), Err(ShardError::DailyLimitReached { limit: 5 }));
    p.net.advance_time(std::time::Duration::from_secs(86_400));
    assert!(p.submit_quiz(shard, bob, "hist-1", vec![1, 0, 1, 0, 1]).unwrap().passed);
}

#[test]
fn allowances_are_batched_and_every_token_is_accounted_for() {
    let p = platform(small());
    let mut shards = std::collections::BTreeSet::new();
    for n in 0..12 {
        let who = learner(100 + n);
        let shard = p.register(who).unwrap();
        shards.insert(shard);
        for u in ["math-1", "math-2"] {
            let answers = if u == "math-1" { vec![0, 1, 2] } else { vec![2, 2, 2] };
            assert!(p.submit_quiz(shard, who, u, answers).unwrap().passed);
        }
    }
    p.net.advance_time(std::time::Duration::from_secs(600));
    p.net.run_until_idle(200);
    // granted = staked + unused allowances, shard by shard and in total.
    let g = p.stats();
    let mut staked = 0;
    let mut unused = 0;
    for s in &shards {
        let st = p.shard_stats(*s);
        staked += st.total_staked_e8s;
        unused += st.allowance_remaining_e8s;
    }
    assert_eq!(staked, 24 * 100 * E8S);
    assert_eq!(g.total_granted_e8s, staked + unused);
    assert_eq!(g.total_staked_e8s, staked, "shards reported their totals on their sync timer");
    assert_eq!(g.quizzes_passed, 24);
}

#[test]
fn data_survives_upgrades_of_every_canister() {
    let p = platform(small());
    let cy = learner(3);
    let shard = p.register(cy).unwrap();
    assert!(p.submit_quiz(shard, cy, "math-2", vec![2, 2, 2]).unwrap().passed);
    let before = p.profile(shard, cy).unwrap();
    p.upgrade(p.hub, "staking_hub", ());
    p.upgrade(p.content, "learning_content", ());
    p.upgrade(shard, "user_profile", ());
    assert_eq!(p.profile(shard, cy).unwrap(), before);
    assert_eq!(p.register(cy).unwrap(), shard);
    assert_eq!(p.stats().users, 1);
    let (unit,): (Option<Unit>,) = p.net.query_candid(p.content, "get_unit", ("math-2",)).unwrap();
    assert!(unit.is_some());
    assert!(p.submit_quiz(shard, cy, "math-1", vec![0, 1, 2]).unwrap().passed, "everything still works");
}

#[test]
fn outsiders_are_rejected_everywhere() {
    let p = platform(small());
    let dee = learner(4);
    let shard = p.register(dee).unwrap();
    let eve = learner(666);
    // Ingress that can never succeed is refused before execution by each canister's ingress
    // filter (`inspect_message`); the methods' own checks are unit-tested in the canisters.
    // Not registered on this shard.
    p.assert_refused_at_ingress(shard, eve, "submit_quiz", candid::encode_args(("math-1", vec![0u32, 1, 2])).unwrap());
    p.assert_refused_at_ingress(shard, eve, "update_profile", candid::encode_one(profile_input()).unwrap());
    p.assert_refused_at_ingress(shard, eve, "unstake", candid::encode_one(1u64).unwrap());
    // Only the hub registers users and toggles shards; only shards get allowances and mint;
    // only governance adds content; only the hub registers shards with learning_content.
    p.assert_refused_at_ingress(shard, eve, "register_user", candid::encode_one(eve).unwrap());
    p.assert_refused_at_ingress(shard, eve, "set_disabled", candid::encode_one(true).unwrap());
    let report = ShardReport { wants_allowance: true, ..Default::default() };
    p.assert_refused_at_ingress(p.hub, eve, "request_allowance", candid::encode_one(report).unwrap());
    p.assert_refused_at_ingress(p.content, eve, "register_shard", candid::encode_one(eve).unwrap());
    p.assert_refused_at_ingress(p.content, eve, "add_units", candid::encode_one(AddUnitsArgs { units: vec![unit("x-1", "x", vec![0])] }).unwrap());
    p.assert_refused_at_ingress(p.hub, eve, "no_such_method", candid::encode_args(()).unwrap());
    // The anonymous principal cannot register, nor act on a shard.
    p.assert_refused_at_ingress(p.hub, Principal::anonymous(), "register", candid::encode_args(()).unwrap());
    p.assert_refused_at_ingress(shard, Principal::anonymous(), "submit_quiz", candid::encode_args(("math-1", vec![0u32, 1, 2])).unwrap());
    // Queries check the caller themselves.
    let (r,): (Result<VerifyResult, VerifyError>,) =
        p.net.query_candid_as(p.content, eve, "verify_quiz", ("math-1", vec![0u32, 1, 2])).unwrap();
    assert_eq!(r, Err(VerifyError::NotAShard));

    // Legitimate ingress still goes through, and is paid for: a fresh principal registers, a
    // registered learner answers a quiz, anyone may ask for capacity.
    // Measured once the background work is done (the answer-key push to the new shard holds a
    // call's prepaid fee until its reply refunds the unused part).
    p.net.run_until_idle(1_000);
    let hub_before = p.net.cycle_balance(p.hub);
    let shard_of_eve = p.register(eve).unwrap();
    assert!(p.net.cycle_balance(p.hub) < hub_before, "the hub paid for an accepted register");
    assert!(p.submit_quiz(shard_of_eve, eve, "math-1", vec![0, 1, 2]).unwrap().passed);
    assert!(p.submit_quiz(shard, dee, "math-2", vec![2, 2, 2]).unwrap().passed);
    let (r,): (Result<Option<Principal>, String>,) = p.net.update_candid(p.hub, "ensure_capacity", ()).unwrap();
    assert!(r.is_ok(), "{r:?}");
}

fn profile_input() -> ProfileInput {
    ProfileInput { email: "eve@example.org".into(), name: "Eve".into(), education: "None".into(), gender: Gender::PreferNotToSay }
}

/// Upgrading a shard costs about the same with 100,000 users as with 1,000: nothing in
/// pre/post_upgrade iterates users.
#[test]
fn shard_upgrade_cost_does_not_grow_with_users() {
    let upgrade_instructions = |users: u32| -> u64 {
        let net = LocalNet::new();
        let hub = Principal::from_slice(&[5; 29]);
        let shard = net.create_canister_with_settings(Some(hub), None);
        let init = ShardInitArgs { hub_id: hub, learning_content_id: Principal::from_slice(&[6; 29]), config: PlatformConfig::default(), config_version: None, module_hash: None };
        net.install_canister(shard, wasm("user_profile"), candid::encode_one(init).unwrap(), Some(hub));
        let mut n = 0;
        while n < users {
            let batch: Vec<_> = (n..(n + 2_000).min(users))
                .map(|i| net.submit_call(shard, hub, "register_user", candid::encode_one(learner(i)).unwrap()).unwrap())
                .collect();
            for m in batch {
                net.await_call(m).unwrap();
            }
            n = (n + 2_000).min(users);
        }
        let (s,): (ShardStats,) = net.query_candid(shard, "get_shard_stats", ()).unwrap();
        assert_eq!(s.users, users as u64);
        net.take_execution_log();
        net.upgrade_canister(shard, wasm("user_profile"), candid::encode_args(()).unwrap(), Some(hub)).unwrap();
        net.execution_log().iter().filter(|r| r.entry == "pre_upgrade" || r.entry == "post_upgrade").map(|r| r.instructions).sum()
    };
    let small = upgrade_instructions(1_000);
    let large = upgrade_instructions(100_000);
    println!("shard upgrade: {small} instructions with 1,000 users, {large} with 100,000");
    assert!((large as f64) < 1.5 * small as f64, "{large} vs {small}");
}
