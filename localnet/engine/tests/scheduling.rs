//! Message scheduling: reproducible runs for a seed, seeded interleavings, the per-pair order
//! of requests, and interleaving of call contexts across an await.

mod common;

use candid::{CandidType, Decode, Encode, Principal};
use common::{install, user};
use localnet::{ErrorCode, ExecutionRecord, LocalNet, RawMessageId, RejectCode};
use serde::Deserialize;
use serde_bytes::ByteBuf;
use std::collections::BTreeSet;

/// Seeds for properties that must hold under every seed (each run installs a few canisters,
/// which is what takes time here).
const SEEDS: std::ops::Range<u64> = 0..10;

#[derive(CandidType, Deserialize, Debug, Clone, PartialEq, Eq)]
struct CallError {
    code: u32,
    message: String,
}

#[derive(CandidType, Deserialize, Debug, Clone, PartialEq, Eq)]
enum CallOutcome {
    Ok(ByteBuf),
    Err(CallError),
}

fn empty_args() -> ByteBuf {
    ByteBuf::from(Encode!().unwrap())
}

fn net_with(seed: Option<u64>) -> LocalNet {
    match seed {
        Some(s) => LocalNet::builder().with_seed(s).build(),
        None => LocalNet::builder().build(),
    }
}

/// The value `counter.inc` returned through an `async_caller` call outcome.
fn inc_value(outcome: &CallOutcome) -> u64 {
    match outcome {
        CallOutcome::Ok(bytes) => Decode!(bytes, u64).unwrap(),
        CallOutcome::Err(e) => panic!("call failed: {e:?}"),
    }
}

/// `n` async_callers each call a shared counter's `inc` through `call_raw`, all submitted
/// before any round runs. Returns what each saw (in submission order) and the execution log.
fn relay_workload(seed: Option<u64>, n: u8) -> (Vec<u64>, Vec<ExecutionRecord>) {
    let net = net_with(seed);
    let counter = install(&net, "counter", (None::<u64>,));
    let callers: Vec<Principal> = (0..n).map(|_| install(&net, "async_caller", ())).collect();
    let ids: Vec<RawMessageId> = callers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let arg = Encode!(&counter, &"inc", &empty_args()).unwrap();
            net.submit_call(*c, user(i as u8 + 1), "call_raw", arg).unwrap()
        })
        .collect();
    let values: Vec<u64> =
        ids.into_iter().map(|id| inc_value(&Decode!(&net.await_call(id).unwrap(), CallOutcome).unwrap())).collect();
    assert_eq!(net.query_candid::<_, (u64,)>(counter, "get", ()).unwrap().0, n as u64);
    (values, net.execution_log())
}

fn is_permutation(values: &[u64]) -> bool {
    let mut v = values.to_vec();
    v.sort_unstable();
    v == (1..=values.len() as u64).collect::<Vec<_>>()
}

#[test]
fn same_seed_same_run() {
    for seed in [7u64, 123_456_789] {
        let (a, log_a) = relay_workload(Some(seed), 4);
        let (b, log_b) = relay_workload(Some(seed), 4);
        assert!(is_permutation(&a), "{a:?}");
        assert_eq!(a, b, "seed {seed}");
        assert!(!log_a.is_empty());
        assert_eq!(log_a, log_b, "seed {seed}: identical executions in identical order");
    }
}

#[test]
fn default_scheduler_follows_submission_order() {
    let (values, log) = relay_workload(None, 4);
    assert_eq!(values, vec![1, 2, 3, 4]);
    let (again, log_again) = relay_workload(None, 4);
    assert_eq!(again, values);
    assert_eq!(log_again, log);
    // The counter's `inc` executions come in the callers' submission order too.
    let callers_in_order: Vec<_> = log.iter().filter(|r| r.entry == "update call_raw").map(|r| r.canister).collect();
    assert_eq!(callers_in_order.len(), 4);
    let mut sorted = callers_in_order.clone();
    sorted.sort();
    assert_eq!(callers_in_order, sorted, "callers were created (and submitted to) in id order");
}

#[test]
fn different_seeds_explore_different_interleavings() {
    // Seeds 0..20 are tried in turn until a second order shows up (deterministic for a build).
    let mut orders = BTreeSet::new();
    let mut tried = Vec::new();
    for seed in 0..20u64 {
        let (values, _) = relay_workload(Some(seed), 4);
        assert!(is_permutation(&values), "seed {seed}: {values:?}");
        tried.push((seed, values.clone()));
        orders.insert(values);
        if orders.len() >= 2 && orders.iter().any(|o| *o != vec![1, 2, 3, 4]) {
            return;
        }
    }
    panic!("seeds 0..20 all produced the same interleaving: {tried:?}");
}

/// Localnet keeps the order of the requests of each (sender, receiver) pair. For ingress the IC
/// itself promises nothing; localnet treats each (user, canister) pair as one stream.
#[test]
fn ingress_from_one_user_to_one_canister_stays_in_order() {
    let mut interleavings = BTreeSet::new();
    for seed in SEEDS {
        let net = net_with(Some(seed));
        let counter = install(&net, "counter", (None::<u64>,));
        let mut ids = Vec::new();
        for _ in 0..4 {
            for u in 1..=3u8 {
                ids.push((u, net.submit_call(counter, user(u), "inc", Encode!().unwrap()).unwrap()));
            }
        }
        let mut per_user: [Vec<u64>; 3] = Default::default();
        let mut all = Vec::new();
        for (u, id) in ids {
            let v = Decode!(&net.await_call(id).unwrap(), u64).unwrap();
            per_user[u as usize - 1].push(v);
            all.push((v, u));
        }
        for (u, vs) in per_user.iter().enumerate() {
            assert!(vs.windows(2).all(|w| w[0] < w[1]), "seed {seed}, user {}: {vs:?}", u + 1);
        }
        all.sort();
        interleavings.insert(all.into_iter().map(|(_, u)| u).collect::<Vec<_>>());
    }
    // The users' streams do interleave differently (so the order above is not an accident).
    assert!(interleavings.len() >= 2, "{interleavings:?}");
}

#[test]
fn requests_from_one_canister_to_another_stay_in_order() {
    let mut interleavings = BTreeSet::new();
    for seed in SEEDS {
        let net = net_with(Some(seed));
        let counter = install(&net, "counter", (None::<u64>,));
        let a = install(&net, "async_caller", ());
        let b = install(&net, "async_caller", ());
        let targets = vec![counter; 4];
        let ia = net.submit_call(a, user(1), "fan_out", Encode!(&targets, &"inc").unwrap()).unwrap();
        let ib = net.submit_call(b, user(2), "fan_out", Encode!(&targets, &"inc").unwrap()).unwrap();
        let seen = |id| -> Vec<u64> {
            Decode!(&net.await_call(id).unwrap(), Vec<CallOutcome>).unwrap().iter().map(inc_value).collect()
        };
        let (va, vb) = (seen(ia), seen(ib));
        assert!(va.windows(2).all(|w| w[0] < w[1]), "seed {seed}: a saw {va:?}");
        assert!(vb.windows(2).all(|w| w[0] < w[1]), "seed {seed}: b saw {vb:?}");
        let mut all: Vec<u64> = va.iter().chain(&vb).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (1..=8).collect::<Vec<_>>(), "seed {seed}");
        interleavings.insert(va);
    }
    assert!(interleavings.len() >= 2, "the two streams never interleaved differently: {interleavings:?}");
}

#[test]
fn state_before_an_await_survives_a_trapping_callback_in_concurrent_calls() {
    for seed in [1u64, 2, 3] {
        let net = net_with(Some(seed));
        let counter = install(&net, "counter", (None::<u64>,));
        let caller = install(&net, "async_caller", ());
        let arg = Encode!(&counter, &"inc", &empty_args()).unwrap();
        let first = net.submit_call(caller, user(1), "incr_then_call_then_trap", arg.clone()).unwrap();
        let second = net.submit_call(caller, user(2), "incr_then_call_then_trap", arg).unwrap();
        let log_start = net.execution_log().len();
        for id in [first, second] {
            let err = net.await_call(id).unwrap_err();
            assert_eq!(err.reject_code, RejectCode::CanisterError, "seed {seed}: {err}");
            assert_eq!(err.error_code, ErrorCode::CanisterCalledTrap, "seed {seed}: {err}");
            assert!(err.reject_message.contains("trapping after the await"), "{err}");
        }
        // Both increments made before the await were committed; the callbacks' traps undo only
        // the callbacks. The callee's increments stay too.
        assert_eq!(net.query_candid::<_, (u64,)>(caller, "get_before_await", ()).unwrap().0, 2, "seed {seed}");
        assert_eq!(net.query_candid::<_, (u64,)>(counter, "get", ()).unwrap().0, 2, "seed {seed}");

        // The two call contexts really were interleaved: both began before either callback ran.
        let log = net.execution_log();
        let mine: Vec<&ExecutionRecord> = log[log_start..].iter().filter(|r| r.canister == caller).collect();
        let entries: Vec<&str> = mine.iter().map(|r| r.entry.as_str()).collect();
        let updates: Vec<usize> =
            entries.iter().enumerate().filter(|(_, e)| **e == "update incr_then_call_then_trap").map(|(i, _)| i).collect();
        let callbacks: Vec<usize> =
            entries.iter().enumerate().filter(|(_, e)| **e == "reply callback").map(|(i, _)| i).collect();
        assert_eq!((updates.len(), callbacks.len()), (2, 2), "{entries:?}");
        assert!(updates[1] < callbacks[0], "seed {seed}: {entries:?}");
        assert!(callbacks.iter().all(|&i| mine[i].trapped), "{mine:?}");
        assert!(updates.iter().all(|&i| !mine[i].trapped), "{mine:?}");
    }
}
