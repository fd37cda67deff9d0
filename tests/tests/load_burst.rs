//! Issue 15 §4: bursts. Thousands of learners over four shards register at once, then submit
//! ten quizzes each and a withdrawal each, all before a single round runs. localnet holds
//! the IC's 500 messages per canister pair (`MAX_OUTSTANDING_CALLS_PER_PAIR`): the hub's calls
//! to one shard (registrations) and to the ledger (mints) overflow it, and the canisters must
//! answer or retry, never drop. Checked at the end: every learner registered exactly once,
//! every quiz counted exactly once and paid, every withdrawal minted exactly once, the books
//! balanced.
//!
//! `BURST_LEARNERS` (default 5,000: 50,000 quiz submissions and 5,000 withdrawals) sets the size.

use candid::Principal;
use integration_tests::platform::{learner_of, Platform, Quizzes};
use localnet::RawMessageId;
use platform_types::*;
use std::collections::BTreeMap;
use std::time::Duration;

const REWARD: u64 = E8S;
const UNITS: usize = 10;
const QUIZZES: Quizzes =
    Quizzes { prefix: "b-", width: 2, count: UNITS + 1, options: 3, key: |i| vec![(i % 3) as u32, ((i + 1) % 3) as u32] };

fn learner(n: u32) -> Principal {
    learner_of(16, n)
}

fn learners() -> u32 {
    std::env::var("BURST_LEARNERS").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000)
}

/// Submits every call at once (no round runs in between), then runs until all are answered.
fn burst(p: &Platform, calls: Vec<(Principal, Principal, &str, Vec<u8>)>) -> Vec<Result<Vec<u8>, String>> {
    let ids: Vec<Result<RawMessageId, String>> = calls
        .into_iter()
        .map(|(canister, who, method, arg)| p.net.submit_call(canister, who, method, arg).map_err(|e| format!("{e:?}")))
        .collect();
    p.net.run_until_idle(1_000_000);
    ids.into_iter()
        .map(|id| {
            let id = id?;
            p.net.await_call(id).map_err(|e| format!("{e:?}"))
        })
        .collect()
}

#[test]
fn a_burst_of_registrations_quizzes_and_withdrawals_loses_nothing() {
    let n = learners();
    let hard_limit = (n as u64).div_ceil(4) + 1;
    let config = ConfigOverrides {
        shard_soft_limit: Some(hard_limit - 1),
        shard_hard_limit: Some(hard_limit),
        reward_per_quiz_e8s: Some(REWARD),
        allowance_chunk_e8s: Some(10_000 * REWARD),
        daily_attempt_limit: Some(20),
        min_withdrawal_e8s: Some(1),
        withdrawal_cooldown_secs: Some(0),
        auto_scale_interval_secs: Some(5),
        ..Default::default()
    };
    let p = Platform::builder().quizzes(QUIZZES).pass_mark_percent(100).config(config).deploy();

    // Registrations, all at once; a refused one (the shard's queue full, no shard with room yet)
    // is sent again, as a client would.
    let mut homes: BTreeMap<u32, Principal> = BTreeMap::new();
    let (mut refused, mut waves) = (0usize, 0usize);
    while homes.len() < n as usize {
        waves += 1;
        assert!(waves <= 40, "{} of {n} learners registered after 40 waves", homes.len());
        let todo: Vec<u32> = (0..n).filter(|i| !homes.contains_key(i)).collect();
        let calls = todo.iter().map(|i| (p.hub, learner(*i), "register", candid::encode_one(None::<RegistrationProof>).unwrap())).collect();
        for (i, r) in todo.iter().zip(burst(&p, calls)) {
            match candid::decode_one::<Result<Principal, RegisterError>>(&r.expect("register answered")).unwrap() {
                Ok(shard) => {
                    homes.insert(*i, shard);
                }
                Err(RegisterError::ShardUnavailable { .. } | RegisterError::NoCapacity { .. } | RegisterError::InProgress) => refused += 1,
                Err(e) => panic!("learner {i}: {e:?}"),
            }
        }
        // Time for the hub to create the next shard.
        p.net.advance_time(Duration::from_secs(5));
        p.net.run_until_idle(100_000);
    }
    let shards: Vec<Principal> = p.shards().into_iter().map(|s| s.id).collect();
    assert!(shards.len() >= 4, "{} shards", shards.len());
    // Each learner is on exactly the shard the hub says, once.
    for (i, home) in &homes {
        assert_eq!(p.user_shard(learner(*i)), Some(*home));
    }
    let users: u64 = shards.iter().map(|s| p.shard_stats(*s).users).sum();
    assert_eq!(users, n as u64, "every learner registered exactly once");
    // A first pass each, so every learner has something to withdraw in the burst.
    let first: Vec<_> = homes.iter().map(|(i, s)| (*s, learner(*i), "submit_quiz", candid::encode_args((QUIZZES.id(UNITS), QUIZZES.answers(UNITS))).unwrap())).collect();
    for r in burst(&p, first) {
        r.expect("first pass answered");
    }
    settle(&p);

    // The burst: ten quizzes and one withdrawal per learner, submitted in one go.
    let mut calls = Vec::new();
    for (i, shard) in &homes {
        for u in 0..UNITS {
            calls.push((*shard, learner(*i), "submit_quiz", candid::encode_args((QUIZZES.id(u), QUIZZES.answers(u))).unwrap()));
        }
        calls.push((*shard, learner(*i), "unstake", candid::encode_one(REWARD).unwrap()));
    }
    let total = calls.len();
    let answers = burst(&p, calls);
    let (mut passed, mut queued) = (0, 0);
    for (k, r) in answers.into_iter().enumerate() {
        let bytes = r.unwrap_or_else(|e| panic!("call {k} of the burst: {e}"));
        if k % (UNITS + 1) == UNITS {
            let w = candid::decode_one::<Result<Withdrawal, UnstakeError>>(&bytes).unwrap().expect("the withdrawal is accepted");
            assert!(!matches!(w.state, WithdrawalState::Failed { .. }), "{w:?}");
            queued += 1;
        } else {
            let out = candid::decode_one::<Result<QuizOutcome, ShardError>>(&bytes).unwrap().expect("the submission is accepted");
            assert!(out.passed, "{out:?}");
            passed += 1;
        }
    }
    assert_eq!((passed, queued), (n as usize * UNITS, n as usize));
    settle(&p);

    // Nothing lost, nothing twice.
    let mut retried = 0;
    for (i, home) in &homes {
        let list = p.withdrawals(*home, learner(*i));
        assert_eq!(list.len(), 1, "learner {i}");
        assert!(matches!(list[0].state, WithdrawalState::Completed { .. }), "learner {i}: {:?}", list[0]);
        if list[0].attempts > 1 {
            retried += 1;
        }
        assert_eq!(p.balance(learner(*i)), REWARD, "learner {i}: minted once");
        let me = p.profile(*home, learner(*i)).unwrap();
        assert_eq!(me.completed_units, UNITS as u64 + 1, "learner {i}: every quiz counted once");
        assert_eq!(me.staked_e8s, UNITS as u64 * REWARD, "learner {i}: every pass paid");
    }
    let g = p.stats();
    assert_eq!((g.total_minted_e8s, g.pending_mint_e8s), (n as u64 * REWARD, 0));
    assert_eq!(p.total_supply(), n as u64 * REWARD);
    let mut staked = 0;
    for s in &shards {
        let st = p.shard_stats(*s);
        assert_eq!(st.allowance_received_e8s, st.total_staked_e8s + st.pending_withdrawals_e8s + st.withdrawn_e8s + st.allowance_remaining_e8s);
        assert_eq!((st.pending_withdrawals_e8s, st.rewards_owed_e8s.unwrap_or(0)), (0, 0));
        staked += st.total_staked_e8s;
    }
    assert_eq!(staked, n as u64 * UNITS as u64 * REWARD);
    // The point of the burst: the queues overflowed, and it did not matter.
    assert!(refused > 0, "some registrations met a full queue and were sent again");
    assert!(retried > 0, "some mints met a full queue and were retried");
    eprintln!(
        "burst: {n} learners on {} shards ({waves} registration waves, {refused} refused and sent again); {total} calls in one go: {passed} passes, {queued} withdrawals ({retried} retried after a full queue), all settled once",
        shards.len()
    );
}

/// Lets refills, owed rewards, withdrawal rounds and their retries run out (simulated time).
fn settle(p: &Platform) {
    for _ in 0..60 {
        p.net.advance_time(Duration::from_secs(60));
        p.net.run_until_idle(1_000_000);
    }
}
