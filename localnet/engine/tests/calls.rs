//! Inter-canister calls through ic-cdk's `Call`: replies, rejects, traps after an await,
//! bounded-wait deadlines, one-way calls, self-calls, and calls a query may not make.

mod common;

use candid::{CandidType, Deserialize, Principal};
use common::*;
use localnet::{ErrorCode, LocalNet, RejectCode};
use serde_bytes::ByteBuf;

#[derive(CandidType, Deserialize, Debug, Clone, PartialEq)]
struct CallError {
    code: u32,
    message: String,
}

type Outcome = Result<ByteBuf, CallError>;

fn args<A: candid::utils::ArgumentEncoder>(a: A) -> ByteBuf {
    ByteBuf::from(candid::encode_args(a).unwrap())
}

fn setup() -> (LocalNet, Principal, Principal) {
    let net = LocalNet::new();
    let counter = install(&net, "counter", (Some(10u64),));
    let caller = install(&net, "async_caller", ());
    (net, counter, caller)
}

#[test]
fn reply_and_each_reject_code_reach_the_caller() {
    let (net, counter, caller) = setup();
    let (r,): (Outcome,) = net.update_candid(caller, "call_raw", (counter, "inc", args(()))).unwrap();
    let (n,): (u64,) = candid::decode_args(&r.unwrap()).unwrap();
    assert_eq!(n, 11);
    let (r,): (Outcome,) = net.update_candid(caller, "call_raw", (counter, "reject", args(("nope",)))).unwrap();
    assert_eq!(r.unwrap_err(), CallError { code: 4, message: "nope".into() });
    let (r,): (Outcome,) = net.update_candid(caller, "call_raw", (counter, "trap", args(("boom",)))).unwrap();
    let e = r.unwrap_err();
    assert_eq!(e.code, 5);
    assert!(e.message.contains("boom"), "{}", e.message);
    let (r,): (Outcome,) = net.update_candid(caller, "call_raw", (counter, "no_such_method", args(()))).unwrap();
    assert_eq!(r.unwrap_err().code, 5);
    let missing = localnet::canister_id_from_u64(4242);
    let (r,): (Outcome,) = net.update_candid(caller, "call_raw", (missing, "inc", args(()))).unwrap();
    assert_eq!(r.unwrap_err().code, 3);
    net.stop_canister(counter, None).unwrap();
    let (r,): (Outcome,) = net.update_candid(caller, "call_raw", (counter, "inc", args(()))).unwrap();
    let e = r.unwrap_err();
    assert_eq!(e.code, 5);
    assert!(e.message.contains("is stopped"), "{}", e.message);
}

#[test]
fn state_before_an_await_survives_a_trap_after_it() {
    let (net, counter, caller) = setup();
    let err = net
        .update_call(caller, user(1), "incr_then_call_then_trap", candid::encode_args((counter, "inc", args(()))).unwrap())
        .unwrap_err();
    assert_eq!(err.reject_code, RejectCode::CanisterError);
    let (before,): (u64,) = net.query_candid(caller, "get_before_await", ()).unwrap();
    assert_eq!(before, 1, "committed when the call was made");
    let (n,): (u64,) = net.query_candid(counter, "get", ()).unwrap();
    assert_eq!(n, 11, "the callee's own execution committed too");
}

#[test]
fn self_calls_and_fan_out() {
    let (net, counter, caller) = setup();
    let (a,): (u64,) = net.update_candid(caller, "self_call_inc", ()).unwrap();
    let (b,): (u64,) = net.update_candid(caller, "self_call_inc", ()).unwrap();
    assert_eq!((a, b), (1, 2));
    let other = install(&net, "counter", (Some(100u64),));
    let missing = localnet::canister_id_from_u64(4242);
    let (results,): (Vec<Outcome>,) = net.update_candid(caller, "fan_out", (vec![counter, other, missing], "inc")).unwrap();
    let values: Vec<Option<u64>> = results
        .iter()
        .map(|r| r.as_ref().ok().map(|b| candid::decode_args::<(u64,)>(b).unwrap().0))
        .collect();
    assert_eq!(values, vec![Some(11), Some(101), None]);
    assert_eq!(results[2].as_ref().unwrap_err().code, 3);
}

#[test]
fn one_way_calls_are_delivered_without_a_reply() {
    let (net, counter, caller) = setup();
    let () = net.update_candid(caller, "oneway", (counter, "inc", args(()))).unwrap();
    net.run_until_idle(10);
    let (n,): (u64,) = net.query_candid(counter, "get", ()).unwrap();
    assert_eq!(n, 11);
}

#[test]
fn a_query_cannot_make_calls() {
    let (net, counter, caller) = setup();
    let err = net.query_call(caller, user(1), "query_that_calls", candid::encode_args((counter,)).unwrap()).unwrap_err();
    assert_eq!(err.reject_code, RejectCode::CanisterError);
    assert!(err.reject_message.contains("call_new") || err.reject_message.contains("query"), "{}", err.reject_message);
}

#[test]
fn bounded_wait_calls_see_a_deadline_and_time_out() {
    let (net, counter, caller) = setup();
    let (r,): (Outcome,) = net.update_candid(caller, "call_bounded", (counter, "deadline_update", args(()), 60u32)).unwrap();
    let (deadline,): (u64,) = candid::decode_args(&r.unwrap()).unwrap();
    assert!(deadline > net.get_time_nanos() && deadline <= net.get_time_nanos() + 60_000_000_000);
    let (unbounded,): (u64,) = net.update_candid(counter, "deadline_update", ()).unwrap();
    assert_eq!(unbounded, 0, "ingress and unbounded-wait calls have no deadline");

    // Let the request go out, then let its deadline pass before the response is processed.
    let msg = net
        .submit_call(caller, user(1), "call_bounded", candid::encode_args((counter, "inc", args(()), 1u32)).unwrap())
        .unwrap();
    net.tick(); // caller executes and sends the request
    net.advance_time(std::time::Duration::from_secs(2));
    let reply = net.await_call(msg).unwrap();
    let (r,): (Outcome,) = candid::decode_args(&reply).unwrap();
    let e = r.unwrap_err();
    assert_eq!(e.code, 6, "SYS_UNKNOWN: the outcome is not known to the caller");
    // The callee did execute: a timed-out call may still have had its effect.
    let (n,): (u64,) = net.query_candid(counter, "get", ()).unwrap();
    assert_eq!(n, 11);
}

#[test]
fn raw_rand_gives_fresh_32_byte_values_to_canisters_only() {
    let (net, _, caller) = setup();
    let (a,): (ByteBuf,) = net.update_candid(caller, "raw_rand", ()).unwrap();
    let (b,): (ByteBuf,) = net.update_candid(caller, "raw_rand", ()).unwrap();
    assert_eq!((a.len(), b.len()), (32, 32));
    assert_ne!(a, b);
    let err = net.update_call(Principal::management_canister(), user(1), "raw_rand", candid::encode_args(()).unwrap()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterRejectedMessage);
}

#[test]
fn ingress_payloads_over_two_mib_are_refused() {
    let (net, _, _) = setup();
    let echo = install(&net, "echo", ());
    let ok = vec![7u8; 1 << 20];
    let (back,): (ByteBuf,) = net.update_candid(echo, "echo", (ByteBuf::from(ok.clone()),)).unwrap();
    assert_eq!(back.into_vec(), ok);
    let err = net.update_call(echo, user(1), "echo", candid::encode_args((ByteBuf::from(vec![0u8; 2 << 20]),)).unwrap()).unwrap_err();
    assert!(err.reject_message.contains("ingress limit"), "{}", err.reject_message);
}

#[test]
fn submit_and_await_interleave_many_calls() {
    let (net, counter, _) = setup();
    let ids: Vec<_> = (0..5).map(|i| net.submit_call(counter, user(i), "inc", candid::encode_args(()).unwrap()).unwrap()).collect();
    assert!(net.ingress_status(ids[0]).is_none(), "nothing runs before a round");
    net.tick();
    let values: Vec<u64> = ids
        .iter()
        .map(|id| candid::decode_args::<(u64,)>(&net.await_call(*id).unwrap()).unwrap().0)
        .collect();
    assert_eq!(values, vec![11, 12, 13, 14, 15], "one round, arrival order");
}

/// The IC's queue between two canisters holds 500 messages: 600 calls to one callee in one
/// execution, 500 are sent and the other 100 fail at `call_perform` (ic-cdk's "call perform
/// failed", no callback); once answered, the queue takes calls again. Calls to another callee
/// are not affected.
#[test]
fn the_queue_to_one_callee_holds_500_open_calls() {
    let (net, counter, caller) = setup();
    let other = install(&net, "counter", (Some(0u64),));
    let mut targets = vec![counter; 600];
    targets.push(other);
    let (results,): (Vec<Outcome>,) = net.update_candid(caller, "fan_out", (targets, "inc")).unwrap();
    let sent = results[..600].iter().filter(|r| r.is_ok()).count();
    assert_eq!(sent, localnet::MAX_OUTSTANDING_CALLS_PER_PAIR);
    let refused = &results[500..600];
    assert!(refused.iter().all(|r| matches!(r, Err(e) if e.code == 0 && e.message.contains("perform"))), "{:?}", refused[0]);
    assert!(results[600].is_ok(), "another callee has a queue of its own");
    let (n,): (u64,) = net.query_candid(counter, "get", ()).unwrap();
    assert_eq!(n, 10 + 500, "only the queued calls ran");
    // All answered: the next 500 go again.
    let (results,): (Vec<Outcome>,) = net.update_candid(caller, "fan_out", (vec![counter; 500], "inc")).unwrap();
    assert!(results.iter().all(|r| r.is_ok()));
}
