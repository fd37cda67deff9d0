//! Several application subnets: canister-id ranges, `ic0.subnet_self_copy`, `create_canister`
//! on the caller's subnet, one round of latency across subnets, per-subnet round limits that
//! defer (never drop) what does not fit, persistence, and a one-subnet net unchanged.

mod common;

use std::path::PathBuf;

use candid::{CandidType, Deserialize, Principal};
use common::*;
use ic_management_canister_types::{CanisterIdRecord, CreateCanisterArgs};
use localnet::{canister_id_from_u64, LocalNet, RawMessageId, RoundLimits, CANISTER_IDS_PER_SUBNET};
use serde_bytes::ByteBuf;

/// Answers `ic0.subnet_self_copy` (raw bytes) to an update `subnet` and a query `subnet_query`.
const SUBNET_REPORTER: &str = r#"
(module
  (import "ic0" "subnet_self_size" (func $size (result i32)))
  (import "ic0" "subnet_self_copy" (func $copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory (export "memory") 1)
  (func $answer
    (call $copy (i32.const 0) (i32.const 0) (call $size))
    (call $append (i32.const 0) (call $size))
    (call $reply))
  (func (export "canister_update subnet") (call $answer))
  (func (export "canister_query subnet_query") (call $answer))
)
"#;

#[derive(CandidType, Deserialize, Debug, Clone, PartialEq)]
struct CallError {
    code: u32,
    message: String,
}

#[derive(CandidType, Deserialize, Debug)]
struct CyclesReply {
    refunded: candid::Nat,
    reply: ByteBuf,
}

type CyclesOutcome = Result<CyclesReply, CallError>;
type Outcome = Result<ByteBuf, CallError>;

fn nets(subnets: usize) -> LocalNet {
    LocalNet::builder().with_subnets(subnets).build()
}

fn install_on(net: &LocalNet, subnet: usize, name: &str, arg: Vec<u8>) -> Principal {
    let id = net.create_canister_on_subnet(subnet, None, None, 100_000_000_000_000).unwrap();
    net.install_canister(id, wasm(name), arg, None);
    id
}

fn reporter_on(net: &LocalNet, subnet: usize) -> Principal {
    let id = net.create_canister_on_subnet(subnet, None, None, 100_000_000_000_000).unwrap();
    net.install_canister(id, wat::parse_str(SUBNET_REPORTER).unwrap(), vec![], None);
    id
}

/// Rounds until the ingress message completes (panics after 50).
fn rounds_to_complete(net: &LocalNet, id: RawMessageId) -> (u64, Vec<u8>) {
    for n in 1..=50 {
        net.tick();
        if let Some(r) = net.ingress_status(id) {
            return (n, r.unwrap());
        }
    }
    panic!("message {id:?} did not complete in 50 rounds");
}

fn call_raw_rounds(net: &LocalNet, caller: Principal, target: Principal) -> u64 {
    let arg = candid::encode_args((target, "inc", ByteBuf::from(candid::encode_args(()).unwrap()))).unwrap();
    let id = net.submit_call(caller, user(1), "call_raw", arg).unwrap();
    let (rounds, reply) = rounds_to_complete(net, id);
    let (outcome,): (Outcome,) = candid::decode_args(&reply).unwrap();
    outcome.expect("the call succeeds");
    rounds
}

#[test]
fn each_subnet_has_its_own_id_and_canister_id_range() {
    let net = nets(3);
    let ids = net.subnet_ids();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], Principal::from_slice(&[0x5a; 29]), "subnet 0 keeps the one-subnet id");
    assert!(ids[1] != ids[0] && ids[2] != ids[1] && ids[2] != ids[0]);
    assert!(ids[1..].iter().all(|s| s.as_slice().len() == 29 && s.as_slice()[28] == 0x02), "self-authenticating");

    let a = net.create_canister_on_subnet(0, None, None, 1).unwrap();
    let b = net.create_canister_on_subnet(2, None, None, 1).unwrap();
    let c = net.create_canister_on_subnet(2, None, None, 1).unwrap();
    let d = net.create_canister_on_subnet(1, None, None, 1).unwrap();
    assert_eq!(a, canister_id_from_u64(0));
    assert_eq!(b, canister_id_from_u64(2 * CANISTER_IDS_PER_SUBNET));
    assert_eq!(c, canister_id_from_u64(2 * CANISTER_IDS_PER_SUBNET + 1));
    assert_eq!(d, canister_id_from_u64(CANISTER_IDS_PER_SUBNET));
    assert_eq!(net.subnet_of(b), Some(ids[2]));
    assert_eq!(net.subnet_of(d), Some(ids[1]));
    // The default creation stays on subnet 0.
    assert_eq!(net.create_canister(), canister_id_from_u64(1));
    let err = net.create_canister_on_subnet(3, None, None, 1).unwrap_err();
    assert!(err.reject_message.contains("does not exist"), "{}", err.reject_message);

    // ic0.subnet_self_copy answers the canister's own subnet, in updates and queries.
    for (subnet, id) in ids.iter().enumerate() {
        let r = reporter_on(&net, subnet);
        assert_eq!(net.update_call(r, user(1), "subnet", vec![]).unwrap(), id.as_slice());
        assert_eq!(net.query_call(r, user(1), "subnet_query", vec![]).unwrap(), id.as_slice());
    }
}

#[test]
fn create_canister_from_a_canister_lands_on_the_callers_subnet() {
    let net = nets(3);
    let caller = install_on(&net, 1, "async_caller", candid::encode_args(()).unwrap());
    let args = candid::encode_one(CreateCanisterArgs { settings: None, sender_canister_version: None }).unwrap();
    let (r,): (CyclesOutcome,) = net
        .update_candid(
            caller,
            "call_with_cycles",
            (Principal::management_canister(), "create_canister", ByteBuf::from(args), candid::Nat::from(1_000_000_000_000u64)),
        )
        .unwrap();
    let created: CanisterIdRecord = candid::decode_one(&r.unwrap().reply).unwrap();
    assert_eq!(net.subnet_of(created.canister_id), Some(net.subnet_ids()[1]));
    assert_eq!(created.canister_id, canister_id_from_u64(CANISTER_IDS_PER_SUBNET + 1));
    assert_eq!(net.get_controllers(created.canister_id), vec![caller]);
}

#[test]
fn a_cross_subnet_call_takes_one_more_round_each_way() {
    let net = nets(2);
    let caller = install_on(&net, 0, "async_caller", candid::encode_args(()).unwrap());
    let near = install_on(&net, 0, "counter", candid::encode_args((Some(0u64),)).unwrap());
    let far = install_on(&net, 1, "counter", candid::encode_args((Some(0u64),)).unwrap());
    // Ingress in round 1, the request in round 2, the response in round 3.
    assert_eq!(call_raw_rounds(&net, caller, near), 3);
    // The request arrives a round later (round 3), and so does its response (round 5).
    assert_eq!(call_raw_rounds(&net, caller, far), 5);
    assert_eq!(net.query_candid::<_, (u64,)>(far, "get", ()).unwrap().0, 1);
}

#[test]
fn a_management_request_about_a_canister_executes_on_that_canisters_subnet() {
    let net = nets(2);
    let caller = install_on(&net, 0, "async_caller", candid::encode_args(()).unwrap());
    let near = net.create_canister_on_subnet(0, Some(caller), None, 1_000_000_000_000).unwrap();
    let far = net.create_canister_on_subnet(1, Some(caller), None, 1_000_000_000_000).unwrap();
    let status_rounds = |target: Principal| {
        let record = ByteBuf::from(candid::encode_one(CanisterIdRecord { canister_id: target }).unwrap());
        let arg = candid::encode_args((Principal::management_canister(), "canister_status", record)).unwrap();
        let id = net.submit_call(caller, user(1), "call_raw", arg).unwrap();
        let (rounds, reply) = rounds_to_complete(&net, id);
        let (outcome,): (Outcome,) = candid::decode_args(&reply).unwrap();
        outcome.expect("the caller controls the canister");
        rounds
    };
    assert_eq!(status_rounds(near), 3);
    // Routed to subnet 1's management canister, as the IC routes by effective canister id.
    assert_eq!(status_rounds(far), 5);
}

#[test]
fn a_subnet_management_canister_is_addressable_by_its_id_only_when_allowed() {
    let net = nets(3);
    let caller = install_on(&net, 0, "async_caller", candid::encode_args(()).unwrap());
    let target_subnet = net.subnet_ids()[2];
    let create = |net: &LocalNet| -> CyclesOutcome {
        let args = candid::encode_one(CreateCanisterArgs { settings: None, sender_canister_version: None }).unwrap();
        let cycles = candid::Nat::from(1_000_000_000_000u64);
        net.update_candid::<_, (CyclesOutcome,)>(caller, "call_with_cycles", (target_subnet, "create_canister", ByteBuf::from(args), cycles))
            .unwrap()
            .0
    };
    let before = net.canister_ids().len();
    let refused = create(&net).unwrap_err();
    assert!(refused.message.contains("may not address the management canister"), "{}", refused.message);
    assert_eq!(net.canister_ids().len(), before, "nothing was created");

    net.allow_subnet_addressing(caller);
    let reply = create(&net).unwrap();
    let created: CanisterIdRecord = candid::decode_one(&reply.reply).unwrap();
    assert_eq!(net.subnet_of(created.canister_id), Some(target_subnet));
    assert_eq!(created.canister_id, canister_id_from_u64(2 * CANISTER_IDS_PER_SUBNET));
}

#[test]
fn a_round_over_budget_defers_the_rest_in_order_and_loses_nothing() {
    // One instruction per round: the first message of a round crosses the line, so each
    // subnet executes exactly one message per round.
    let net = LocalNet::builder()
        .with_subnets(2)
        .with_round_limits(RoundLimits { instructions_per_round: 1, ingress_messages_per_round: u64::MAX })
        .build();
    let busy = install_on(&net, 0, "counter", candid::encode_args((Some(0u64),)).unwrap());
    let other = install_on(&net, 1, "counter", candid::encode_args((Some(0u64),)).unwrap());
    let ids: Vec<RawMessageId> =
        (0..5).map(|_| net.submit_call(busy, user(1), "inc", candid::encode_args(()).unwrap()).unwrap()).collect();
    let other_id = net.submit_call(other, user(1), "inc", candid::encode_args(()).unwrap()).unwrap();
    net.tick();
    assert!(net.ingress_status(ids[0]).is_some() && net.ingress_status(ids[1]).is_none());
    assert!(net.ingress_status(other_id).is_some(), "the other subnet has its own budget");
    for _ in 0..4 {
        net.tick();
    }
    // Every call executed once, in submission order.
    for (n, id) in ids.iter().enumerate() {
        let reply = net.ingress_status(*id).expect("completed").unwrap();
        assert_eq!(candid::decode_one::<u64>(&reply).unwrap(), n as u64 + 1);
    }
    let stats = net.subnet_stats();
    assert_eq!(stats[0].busy_rounds, 5);
    assert_eq!(stats[0].messages, 5);
    assert_eq!(stats[0].deferred, 4 + 3 + 2 + 1);
    assert_eq!(stats[1].messages, 1);
    assert!(stats[0].max_round_instructions > 0 && stats[0].instructions >= 5 * stats[0].max_round_instructions / 2);
    net.reset_subnet_stats();
    assert_eq!(net.subnet_stats(), vec![localnet::SubnetStats::default(); 2]);
}

#[test]
fn the_ingress_limit_defers_ingress_per_subnet_and_round() {
    let net = LocalNet::builder()
        .with_round_limits(RoundLimits { instructions_per_round: u64::MAX, ingress_messages_per_round: 3 })
        .build();
    let counter = install(&net, "counter", (Some(0u64),));
    let ids: Vec<RawMessageId> =
        (0..10).map(|_| net.submit_call(counter, user(1), "inc", candid::encode_args(()).unwrap()).unwrap()).collect();
    assert_eq!(net.run_until_idle(100), 4, "3 + 3 + 3 + 1");
    let last = net.ingress_status(ids[9]).unwrap().unwrap();
    assert_eq!(candid::decode_one::<u64>(&last).unwrap(), 10);
}

#[test]
fn one_subnet_behaves_as_before() {
    let net = LocalNet::new();
    assert_eq!(net.subnet_ids(), vec![Principal::from_slice(&[0x5a; 29])]);
    assert_eq!(net.round_limits(), RoundLimits::UNLIMITED);
    let caller = install(&net, "async_caller", ());
    let counter = install(&net, "counter", (Some(0u64),));
    assert_eq!(caller.to_text(), "rwlgt-iiaaa-aaaaa-aaaaa-cai");
    assert_eq!(counter, canister_id_from_u64(1));
    assert_eq!(call_raw_rounds(&net, caller, counter), 3);
    // Many ingress messages still all execute in the next round.
    let ids: Vec<RawMessageId> =
        (0..2_000).map(|_| net.submit_call(counter, user(1), "inc", candid::encode_args(()).unwrap()).unwrap()).collect();
    net.tick();
    assert!(ids.iter().all(|id| net.ingress_status(*id).is_some()));
    assert_eq!(net.subnet_stats()[0].deferred, 0);
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("localnet-subnets-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn subnets_and_messages_in_flight_across_subnets_survive_a_save() {
    let net = nets(3);
    let caller = install_on(&net, 0, "async_caller", candid::encode_args(()).unwrap());
    let far = install_on(&net, 2, "counter", candid::encode_args((Some(0u64),)).unwrap());
    net.allow_subnet_addressing(caller);
    let arg = candid::encode_args((far, "inc", ByteBuf::from(candid::encode_args(()).unwrap()))).unwrap();
    let id = net.submit_call(caller, user(1), "call_raw", arg).unwrap();
    net.tick(); // the request to `far` is now in flight between subnets
    let dir = temp("inflight");
    net.save_state(&dir).unwrap();
    let loaded = LocalNet::builder().load_state(&dir).unwrap();
    assert_eq!(loaded.subnet_ids(), net.subnet_ids());
    assert_eq!(loaded.subnet_of(far), Some(net.subnet_ids()[2]));
    let (rounds, _) = rounds_to_complete(&loaded, id);
    assert_eq!(rounds, 4, "arrives in round 3, its response in round 5");
    assert_eq!(loaded.query_candid::<_, (u64,)>(far, "get", ()).unwrap().0, 1);
    // The id ranges continue where they were.
    assert_eq!(loaded.create_canister_on_subnet(2, None, None, 1).unwrap(), canister_id_from_u64(2 * CANISTER_IDS_PER_SUBNET + 1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_state_saved_before_subnets_existed_loads_as_one_subnet() {
    let net = LocalNet::new();
    let counter = install(&net, "counter", (Some(7u64),));
    let dir = temp("old-format");
    net.save_state(&dir).unwrap();
    // Strip what this version added, as an older localnet wrote it.
    let strip = |path: PathBuf, keys: &[&str]| {
        let value: serde_cbor::Value = serde_cbor::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let serde_cbor::Value::Map(mut map) = value else { panic!("{} is not a map", path.display()) };
        for k in keys {
            assert!(map.remove(&serde_cbor::Value::Text(k.to_string())).is_some(), "{k} was saved");
        }
        std::fs::write(&path, serde_cbor::to_vec(&serde_cbor::Value::Map(map)).unwrap()).unwrap();
    };
    strip(dir.join("net.cbor"), &["subnet_next_canister_ids", "xnet", "subnet_addressing"]);
    strip(dir.join("canisters").join(counter.to_text()).join("canister.cbor"), &["subnet"]);
    let loaded = LocalNet::builder().load_state(&dir).unwrap();
    assert_eq!(loaded.subnet_ids(), vec![Principal::from_slice(&[0x5a; 29])]);
    assert_eq!(loaded.subnet_of(counter), Some(loaded.subnet_id()));
    assert_eq!(loaded.update_candid::<_, (u64,)>(counter, "inc", ()).unwrap().0, 8);
    assert_eq!(loaded.create_canister(), canister_id_from_u64(1));
    let _ = std::fs::remove_dir_all(&dir);
}
