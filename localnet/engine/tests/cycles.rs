//! Cycles accounting: what ingress, execution, storage, calls and the management canister
//! cost, checked to the cycle against the `FeeSchedule` formulas (13-node application subnet).

mod common;

use candid::{CandidType, Decode, Encode, Nat, Principal};
use common::{install, user, wasm};
use localnet::management_types::CanisterSettings;
use localnet::{ErrorCode, ExecutionRecord, FeeSchedule, LocalNet, RejectCode};
use serde::Deserialize;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use std::time::Duration;

const DAY_NS: u64 = 86_400 * 1_000_000_000;
const DEFAULT_FREEZING_THRESHOLD_S: u64 = 2_592_000;
/// Instruction limit of an update message: its execution is prepaid in full.
const MAX_UPDATE_INSTRUCTIONS: u64 = 40_000_000_000;
const T: u128 = 1_000_000_000_000;
const B: u128 = 1_000_000_000;

// ---- async_caller / cycles_user Candid types -------------------------------------------

#[derive(CandidType, Deserialize, Debug, Clone, PartialEq, Eq)]
struct CallError {
    code: u32,
    message: String,
}

#[derive(CandidType, Deserialize, Debug, Clone, PartialEq, Eq)]
struct CyclesReply {
    reply: ByteBuf,
    refunded: Nat,
}

#[derive(CandidType, Deserialize, Debug, Clone, PartialEq, Eq)]
enum CyclesOutcome {
    Ok(CyclesReply),
    Err(CallError),
}

#[derive(CandidType, Deserialize, Debug, Clone, PartialEq, Eq)]
struct SendResult {
    reply_ok: bool,
    refunded: Nat,
}

#[derive(CandidType, Deserialize, Debug, Clone, PartialEq, Eq)]
struct StatusInfo {
    status: String,
    cycles: Nat,
    module_hash: Option<ByteBuf>,
}

fn nat(n: u128) -> Nat {
    Nat::from(n)
}

fn to_u128(n: &Nat) -> u128 {
    u128::try_from(n.0.clone()).expect("fits in u128")
}

fn nat_u64(n: &Nat) -> u64 {
    u64::try_from(n.0.clone()).expect("fits in u64")
}

/// Bytes the canister is charged storage for: its `memory_size` (whose composition is checked
/// by `memory_size_is_the_sum_of_the_memory_metrics`).
fn memory_bytes(net: &LocalNet, id: Principal) -> u64 {
    nat_u64(&net.canister_status(id, None).unwrap().memory_size)
}

/// The IC's memory usage of a canister (replica `ExecutionState::memory_usage` plus canister
/// history, chunk store and snapshots): heap, stable memory, globals, Wasm binary and custom sections.
fn memory_by_metrics(net: &LocalNet, id: Principal) -> u64 {
    let m = net.canister_status(id, None).unwrap().memory_metrics;
    [
        &m.wasm_memory_size,
        &m.stable_memory_size,
        &m.global_memory_size,
        &m.wasm_binary_size,
        &m.custom_sections_size,
        &m.canister_history_size,
        &m.wasm_chunk_store_size,
        &m.snapshots_size,
    ]
    .into_iter()
    .map(nat_u64)
    .sum()
}

fn freezing_threshold(net: &LocalNet, id: Principal) -> u128 {
    net.fee_schedule().freezing_threshold_cycles(memory_bytes(net, id), DEFAULT_FREEZING_THRESHOLD_S, 0)
}

/// The executions of `records` on `canister`, by entry label.
fn executions<'a>(records: &'a [ExecutionRecord], canister: Principal, entry: &str) -> Vec<&'a ExecutionRecord> {
    records.iter().filter(|r| r.canister == canister && r.entry == entry).collect()
}

/// What the executions of `canister` among `records` cost (each is charged separately).
fn execution_fees(fees: &FeeSchedule, records: &[ExecutionRecord], canister: Principal) -> u128 {
    records.iter().filter(|r| r.canister == canister).map(|r| fees.execution_cost(r.instructions)).sum()
}

/// Net cost of one inter-canister call for the caller, once the response arrived:
/// the call fee, the request bytes and the response bytes (the rest of the reservation returns).
fn call_fees(fees: &FeeSchedule, method: &str, payload_len: usize, response_len: usize) -> u128 {
    fees.xnet_call_fee + fees.xnet_byte_transmission_fee * (method.len() + payload_len + response_len) as u128
}

// ---- ingress and execution -------------------------------------------------------------

#[test]
fn update_costs_ingress_plus_execution_exactly() {
    let net = LocalNet::new();
    let fees = net.fee_schedule();
    let echo = install(&net, "echo", ());
    for size in [0usize, 1_000, 100_000] {
        let arg = Encode!(&ByteBuf::from(vec![7u8; size])).unwrap();
        let before = net.cycle_balance(echo);
        let (reply, records) = net.update_call_with_stats(echo, user(1), "echo", arg.clone());
        assert_eq!(Decode!(&reply.unwrap(), ByteBuf).unwrap().len(), size);
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0].entry, "update echo");
        assert!(records[0].instructions > 0);
        let expected = fees.ingress_cost("echo".len() + arg.len()) + fees.execution_cost(records[0].instructions);
        assert_eq!(before - net.cycle_balance(echo), expected, "payload of {size} bytes");
    }
}

#[test]
fn inspect_message_runs_but_is_free() {
    let net = LocalNet::new();
    let fees = net.fee_schedule();
    let counter = install(&net, "counter", (None::<u64>,));
    let arg = Encode!().unwrap();
    let before = net.cycle_balance(counter);
    let log_start = net.execution_log().len();
    let (reply, records) = net.update_call_with_stats(counter, user(1), "inc", arg.clone());
    assert_eq!(Decode!(&reply.unwrap(), u64).unwrap(), 1);
    let log = net.execution_log();
    let inspected: Vec<_> = log[log_start..].iter().filter(|r| r.entry == "inspect_message inc").collect();
    assert_eq!(inspected.len(), 1, "inspect_message ran once for the ingress message: {:?}", &log[log_start..]);
    assert!(inspected[0].instructions > 0);
    assert_eq!(executions(&records, counter, "update inc").len(), 1);
    // Only the ingress induction and the update itself are charged; inspect_message is free.
    let expected = fees.ingress_cost("inc".len() + arg.len()) + execution_fees(&fees, &records, counter);
    assert_eq!(before - net.cycle_balance(counter), expected);

    // A message refused by inspect_message is not inducted, so nothing is charged at all.
    let before = net.cycle_balance(counter);
    let err = net.update_call(counter, user(1), "blocked_by_inspect", Encode!().unwrap()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterRejectedMessage);
    assert_eq!(net.cycle_balance(counter), before);
    assert_eq!(net.query_candid::<_, (u64,)>(counter, "get", ()).unwrap().0, 1);
}

#[test]
fn queries_are_free() {
    let net = LocalNet::new();
    let echo = install(&net, "echo", ());
    let counter = install(&net, "counter", (None::<u64>,));
    let (e0, c0) = (net.cycle_balance(echo), net.cycle_balance(counter));
    for _ in 0..3 {
        let r = net.query_call(echo, user(1), "echo_query", Encode!(&ByteBuf::from(vec![1u8; 5000])).unwrap());
        assert_eq!(Decode!(&r.unwrap(), ByteBuf).unwrap().len(), 5000);
        assert_eq!(net.query_candid::<_, (u64,)>(counter, "inc_in_query", ()).unwrap().0, 1);
    }
    assert!(net.last_execution(echo).unwrap().instructions > 0);
    assert_eq!(net.cycle_balance(echo), e0);
    assert_eq!(net.cycle_balance(counter), c0);
}

// ---- storage ----------------------------------------------------------------------------

/// Advances one day and runs one round; returns the cycles charged and the bounds on the
/// time that was charged for (since `since`, the last moment storage may have been settled).
fn charge_one_day(net: &LocalNet, id: Principal, since: u64) -> (u128, u64, u64) {
    let before = net.cycle_balance(id);
    let start = net.get_time_nanos();
    net.advance_time(Duration::from_secs(86_400));
    net.tick();
    let now = net.get_time_nanos();
    assert_eq!(now - start, DAY_NS + 1, "a round advances the clock by 1 ns");
    (before - net.cycle_balance(id), now - start, now - since)
}

#[test]
fn storage_is_charged_per_byte_of_memory_over_time() {
    let net = LocalNet::new();
    let fees = net.fee_schedule();
    let created_at = net.get_time_nanos();
    let id = net.create_canister();
    net.install_canister(id, wasm("stable_user"), Encode!().unwrap(), None);
    // The stable memory manager is initialised on first use.
    let (old,): (Option<String>,) = net.update_candid(id, "put", ("k", "v")).unwrap();
    assert_eq!(old, None);
    let (heap, stable) = net.memory_sizes(id).unwrap();
    assert!(heap > 0 && stable > 0, "heap {heap}, stable {stable}");
    let bytes = memory_bytes(&net, id);
    assert!(bytes >= heap + stable + wasm("stable_user").len() as u64, "{bytes}");

    let (charged, min_ns, max_ns) = charge_one_day(&net, id, created_at);
    assert!(max_ns - min_ns < 100, "only a few rounds ran before");
    assert!(charged >= fees.storage_cost(bytes, min_ns) && charged <= fees.storage_cost(bytes, max_ns), "{charged}");
    // The few extra nanoseconds are worth less than one cycle: the day costs exactly this.
    assert!(charged.abs_diff(fees.storage_cost(bytes, DAY_NS)) <= 1, "{charged} vs {}", fees.storage_cost(bytes, DAY_NS));
    assert_eq!(fees.storage_cost(bytes, DAY_NS), fees.idle_cycles_per_day(bytes));
    let status = net.canister_status(id, None).unwrap();
    assert_eq!(status.idle_cycles_burned_per_day, Nat::from(fees.idle_cycles_per_day(bytes)));
    assert!(charged > 1_000_000, "{charged}");

    // More memory costs more: 8 MiB more of stable memory.
    net.update_candid::<_, ()>(id, "fill_stable_mib", (8u32,)).unwrap();
    let bigger = memory_bytes(&net, id);
    assert!(bigger >= bytes + (8 << 20));
    let since = net.get_time_nanos() - 10; // fill_stable_mib ran in the last few rounds
    let (charged2, min_ns, max_ns) = charge_one_day(&net, id, since);
    assert!(charged2 >= fees.storage_cost(bigger, min_ns) && charged2 <= fees.storage_cost(bigger, max_ns) + 1);
    assert!(charged2.abs_diff(fees.storage_cost(bigger, DAY_NS)) <= 1);
    assert!(charged2 > charged);
}

/// On the IC the memory a canister pays for is its heap, stable memory, globals, Wasm binary
/// and custom sections (plus history, chunk store and snapshots), and `canister_status`
/// reports that total as `memory_size`, the basis of `idle_cycles_burned_per_day`.
#[test]
fn memory_size_is_the_sum_of_the_memory_metrics() {
    let net = LocalNet::new();
    let fees = net.fee_schedule();
    for name in ["echo", "counter", "stable_user"] {
        let id = install(&net, name, (None::<u64>,));
        let gz = wasm(name);
        let status = net.canister_status(id, None).unwrap();
        let m = &status.memory_metrics;
        let (heap, stable) = net.memory_sizes(id).unwrap();
        assert_eq!(nat_u64(&m.wasm_memory_size), heap);
        assert_eq!(nat_u64(&m.stable_memory_size), stable);
        assert_eq!(nat_u64(&m.wasm_binary_size), gz.len() as u64);
        assert!(nat_u64(&m.custom_sections_size) > 0, "{name} carries candid:service metadata");
        assert!(nat_u64(&m.global_memory_size) > 0, "{name} has a mutable stack-pointer global");
        let total = memory_by_metrics(&net, id);
        assert_eq!(nat_u64(&status.memory_size), total, "{name}: {m:?}");
        assert_eq!(status.idle_cycles_burned_per_day, Nat::from(fees.idle_cycles_per_day(total)), "{name}");
    }
}

#[test]
fn canister_that_cannot_pay_for_storage_is_uninstalled() {
    let net = LocalNet::new();
    let id = net.create_canister_with_cycles(None, 2 * B);
    net.install_canister(id, wasm("echo"), Encode!().unwrap(), None);
    assert!(net.module_hash(id).is_some());
    let bytes = memory_bytes(&net, id);
    let per_day = net.fee_schedule().idle_cycles_per_day(bytes);
    let days = (net.cycle_balance(id) / per_day) as u64 + 2;

    // Well before the money runs out the code is still there.
    net.advance_time(Duration::from_secs(86_400));
    net.tick();
    assert!(net.module_hash(id).is_some());

    net.advance_time(Duration::from_secs(86_400 * days));
    net.tick();
    assert_eq!(net.module_hash(id), None, "code uninstalled once storage could not be paid");
    let status = net.canister_status(id, None).unwrap();
    assert_eq!(status.module_hash, None);
    assert_eq!(status.memory_metrics.wasm_binary_size, Nat::from(0u32));
    let err = net.update_call(id, user(1), "echo", Encode!(&ByteBuf::new()).unwrap()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterWasmModuleNotFound);
    assert!(net.canister_exists(id), "the canister itself stays");
}

// ---- freezing ---------------------------------------------------------------------------

#[test]
fn frozen_canister_rejects_ingress_until_topped_up() {
    let net = LocalNet::new();
    let fees = net.fee_schedule();
    let id = net.create_canister_with_cycles(None, 10 * B);
    net.install_canister(id, wasm("echo"), Encode!().unwrap(), None);
    let arg = Encode!(&ByteBuf::from(vec![1u8; 10])).unwrap();
    let ingress = fees.ingress_cost("echo".len() + arg.len());
    let prepay = fees.execution_cost(MAX_UPDATE_INSTRUCTIONS);
    let threshold = freezing_threshold(&net, id);
    assert!(threshold > 0);
    let balance = net.cycle_balance(id);
    assert!(balance < threshold + prepay, "10B is less than the 40B instruction prepayment");
    assert!(balance >= threshold + ingress, "but enough to pay for induction");

    let err = net.update_call(id, user(1), "echo", arg.clone()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterOutOfCycles, "{err}");
    assert_eq!(err.reject_code, RejectCode::SysTransient);

    // One cycle short of threshold + prepayment (after induction) still fails ...
    let short = threshold + prepay + ingress - 1 - net.cycle_balance(id);
    net.add_cycles(id, short);
    let err = net.update_call(id, user(1), "echo", arg.clone()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterOutOfCycles, "{err}");
    assert_eq!(freezing_threshold(&net, id), threshold, "no execution happened");

    // ... and exactly enough works again.
    net.add_cycles(id, threshold + prepay + ingress - net.cycle_balance(id));
    let reply = net.update_call(id, user(1), "echo", arg.clone()).unwrap();
    assert_eq!(Decode!(&reply, ByteBuf).unwrap(), vec![1u8; 10]);
}

#[test]
fn canister_below_its_freezing_threshold_refuses_induction_without_charging() {
    let net = LocalNet::new();
    let fees = net.fee_schedule();
    let id = net.create_canister_with_cycles(None, 10 * B);
    net.install_canister(id, wasm("echo"), Encode!().unwrap(), None);
    // A freezing threshold of 100 years puts the balance below it.
    let long = 100 * 365 * 86_400u64;
    let settings = CanisterSettings { freezing_threshold: Some(Nat::from(long)), ..Default::default() };
    net.update_canister_settings(id, None, settings).unwrap();
    let before = net.cycle_balance(id);
    assert!(before < fees.freezing_threshold_cycles(memory_bytes(&net, id), long, 0));
    let err = net.submit_call(id, user(1), "echo", Encode!(&ByteBuf::new()).unwrap()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterOutOfCycles, "{err}");
    assert_eq!(err.reject_code, RejectCode::SysTransient);
    assert_eq!(net.cycle_balance(id), before, "a refused ingress message is free");

    let settings = CanisterSettings { freezing_threshold: Some(Nat::from(DEFAULT_FREEZING_THRESHOLD_S)), ..Default::default() };
    net.update_canister_settings(id, None, settings).unwrap();
    net.add_cycles(id, 100 * B);
    assert!(net.update_call(id, user(1), "echo", Encode!(&ByteBuf::new()).unwrap()).is_ok());
}

// ---- cycles_user: System API cost functions, liquid balance, burn ------------------------

#[test]
fn cost_functions_match_the_fee_schedule() {
    let net = LocalNet::new();
    let fees = net.fee_schedule();
    let cu = install(&net, "cycles_user", ());
    for (m, p) in [(0u64, 0u64), (3, 4), (10, 1_000_000), (20_000, 2_097_152)] {
        let (c,): (Nat,) = net.query_candid(cu, "cost_call", (m, p)).unwrap();
        assert_eq!(to_u128(&c), fees.call_cost(m, p), "cost_call({m}, {p})");
    }
    let (c,): (Nat,) = net.query_candid(cu, "cost_create_canister", ()).unwrap();
    assert_eq!(to_u128(&c), fees.canister_creation_fee);
    assert_eq!(to_u128(&c), 500 * B);
    for (r, m) in [(0u64, 0u64), (1, 1), (1_000, 2_000_000)] {
        let (c,): (Nat,) = net.query_candid(cu, "cost_http_request", (r, m)).unwrap();
        assert_eq!(to_u128(&c), fees.http_request_cost(r, m), "cost_http_request({r}, {m})");
    }
    let (c,): (Nat,) = net.query_candid(cu, "cost_http_request", (0u64, 0u64)).unwrap();
    assert_eq!(to_u128(&c), 49_140_000);
}

#[test]
fn liquid_balance_is_balance_minus_freezing_threshold() {
    let net = LocalNet::new();
    let cu = install(&net, "cycles_user", ());
    let (balance,): (Nat,) = net.query_candid(cu, "balance", ()).unwrap();
    let (liquid,): (Nat,) = net.query_candid(cu, "liquid_balance", ()).unwrap();
    let (balance, liquid) = (to_u128(&balance), to_u128(&liquid));
    assert_eq!(balance, net.cycle_balance(cu));
    assert!(liquid < balance);
    assert_eq!(balance - liquid, freezing_threshold(&net, cu));
}

#[test]
fn burn_reduces_the_balance_by_the_amount_burnt() {
    let net = LocalNet::new();
    let fees = net.fee_schedule();
    let cu = install(&net, "cycles_user", ());
    let amount = 123 * B + 4_567;
    let arg = Encode!(&nat(amount)).unwrap();
    let before = net.cycle_balance(cu);
    let (reply, records) = net.update_call_with_stats(cu, user(1), "burn", arg.clone());
    assert_eq!(to_u128(&Decode!(&reply.unwrap(), Nat).unwrap()), amount);
    let expected = amount + fees.ingress_cost("burn".len() + arg.len()) + execution_fees(&fees, &records, cu);
    assert_eq!(before - net.cycle_balance(cu), expected);

    // Burning is capped at the liquid balance: the canister cannot burn itself frozen.
    let threshold = freezing_threshold(&net, cu);
    let (burnt,): (Nat,) = net.update_candid(cu, "burn", (nat(u128::MAX >> 1),)).unwrap();
    let burnt = to_u128(&burnt);
    assert!(burnt > 0 && burnt < u128::MAX >> 1);
    let left = net.cycle_balance(cu);
    assert!(left >= threshold, "left {left}, threshold {threshold}");
}

// ---- cycles attached to inter-canister calls ---------------------------------------------

#[test]
fn accepted_cycles_move_and_the_rest_is_refunded() {
    let net = LocalNet::new();
    let fees = net.fee_schedule();
    let caller = install(&net, "async_caller", ());
    let cu = install(&net, "cycles_user", ());
    let (amount, max) = (7 * B + 11, 3 * B + 5);
    let payload = Encode!(&nat(max)).unwrap();
    let arg = Encode!(&cu, &"accept", &ByteBuf::from(payload.clone()), &nat(amount)).unwrap();
    let (caller0, cu0) = (net.cycle_balance(caller), net.cycle_balance(cu));
    let (reply, records) = net.update_call_with_stats(caller, user(1), "call_with_cycles", arg.clone());
    let out = Decode!(&reply.unwrap(), CyclesOutcome).unwrap();
    let CyclesOutcome::Ok(r) = out else { panic!("{out:?}") };
    assert_eq!(to_u128(&r.refunded), amount - max);
    assert_eq!(to_u128(&Decode!(&r.reply, Nat).unwrap()), max);

    // The callee gained `max`, minus the fee of its one execution.
    let accepts = executions(&records, cu, "update accept");
    assert_eq!(accepts.len(), 1, "{records:?}");
    assert_eq!(net.cycle_balance(cu) - cu0, max - fees.execution_cost(accepts[0].instructions));

    // The caller paid `max`, ingress, its two executions and the call (request and reply bytes).
    assert_eq!(executions(&records, caller, "update call_with_cycles").len(), 1);
    assert_eq!(executions(&records, caller, "reply callback").len(), 1);
    let expected = max
        + fees.ingress_cost("call_with_cycles".len() + arg.len())
        + execution_fees(&fees, &records, caller)
        + call_fees(&fees, "accept", payload.len(), r.reply.len());
    assert_eq!(caller0 - net.cycle_balance(caller), expected);
}

#[test]
fn unaccepted_cycles_are_refunded_in_full() {
    let net = LocalNet::new();
    let fees = net.fee_schedule();
    let sender = install(&net, "cycles_user", ());
    let target = install(&net, "cycles_user", ());
    let n = 5 * B + 3;
    let arg = Encode!(&target, &"available", &nat(n)).unwrap();
    let (s0, t0) = (net.cycle_balance(sender), net.cycle_balance(target));
    let (reply, records) = net.update_call_with_stats(sender, user(1), "send_cycles", arg.clone());
    let r = Decode!(&reply.unwrap(), SendResult).unwrap();
    assert!(r.reply_ok);
    assert_eq!(to_u128(&r.refunded), n);

    let avail = executions(&records, target, "update available");
    assert_eq!(avail.len(), 1);
    assert_eq!(t0 - net.cycle_balance(target), fees.execution_cost(avail[0].instructions));
    // `available` replies with the amount it saw attached.
    let reply_len = Encode!(&nat(n)).unwrap().len();
    let expected = fees.ingress_cost("send_cycles".len() + arg.len())
        + execution_fees(&fees, &records, sender)
        + call_fees(&fees, "available", Encode!().unwrap().len(), reply_len);
    assert_eq!(s0 - net.cycle_balance(sender), expected);
}

#[test]
fn cycles_sent_to_a_trapping_method_come_back() {
    let net = LocalNet::new();
    let fees = net.fee_schedule();
    let caller = install(&net, "async_caller", ());
    let counter = install(&net, "counter", (None::<u64>,));
    let amount = 9 * B;
    let payload = Encode!(&"boom").unwrap();
    let arg = Encode!(&counter, &"trap", &ByteBuf::from(payload.clone()), &nat(amount)).unwrap();
    let (caller0, counter0) = (net.cycle_balance(caller), net.cycle_balance(counter));
    let (reply, records) = net.update_call_with_stats(caller, user(1), "call_with_cycles", arg.clone());
    let out = Decode!(&reply.unwrap(), CyclesOutcome).unwrap();
    let CyclesOutcome::Err(e) = out else { panic!("{out:?}") };
    assert_eq!(e.code, RejectCode::CanisterError as u32, "{e:?}");
    assert!(e.message.contains("boom"), "{e:?}");

    // The callee pays for the instructions it ran before trapping, and keeps nothing.
    let traps = executions(&records, counter, "update trap");
    assert_eq!(traps.len(), 1);
    assert!(traps[0].trapped);
    assert_eq!(counter0 - net.cycle_balance(counter), fees.execution_cost(traps[0].instructions));
    // The caller gets all of `amount` back and pays for the reject message's bytes.
    assert_eq!(executions(&records, caller, "reject callback").len(), 1, "{records:?}");
    let expected = fees.ingress_cost("call_with_cycles".len() + arg.len())
        + execution_fees(&fees, &records, caller)
        + call_fees(&fees, "trap", payload.len(), e.message.len());
    assert_eq!(caller0 - net.cycle_balance(caller), expected);
}

// ---- the management canister, called by a canister ---------------------------------------

#[test]
fn canister_creates_installs_tops_up_and_deletes_a_canister() {
    let net = LocalNet::new();
    let cu = install(&net, "cycles_user", ());

    // Too few cycles for the creation fee: rejected, the cycles come back.
    let before = net.cycle_balance(cu);
    let (r,): (Result<Principal, String>,) = net.update_candid(cu, "create_canister_with", (nat(100 * B),)).unwrap();
    let err = r.unwrap_err();
    assert!(err.contains("fee"), "{err}");
    assert!(err.contains("500000000000"), "{err}");
    assert!(before - net.cycle_balance(cu) < B, "the 100B attached were refunded");

    // 1T: created, with 1T minus the 500B fee.
    let (r,): (Result<Principal, String>,) = net.update_candid(cu, "create_canister_with", (nat(T),)).unwrap();
    let child = r.unwrap();
    assert!(net.canister_exists(child));
    assert_eq!(net.cycle_balance(child), T - 500 * B);
    assert_eq!(net.get_controllers(child), vec![cu]);
    assert_eq!(net.module_hash(child), None);

    // Install the counter (gzipped) through cycles_user.
    let gz = wasm("counter");
    let init = Encode!(&Some(41u64)).unwrap();
    let (r,): (Result<(), String>,) =
        net.update_candid(cu, "install", (child, ByteBuf::from(gz.clone()), ByteBuf::from(init))).unwrap();
    r.unwrap();
    let (n,): (u64,) = net.update_candid(child, "inc", ()).unwrap();
    assert_eq!(n, 42);

    let hash: [u8; 32] = Sha256::digest(&gz).into();
    assert_eq!(net.module_hash(child), Some(hash));
    let (r,): (Result<StatusInfo, String>,) = net.update_candid(cu, "status_of", (child,)).unwrap();
    let s = r.unwrap();
    assert_eq!(s.status, "running");
    assert_eq!(s.module_hash.map(|h| h.into_vec()), Some(hash.to_vec()));
    assert_eq!(to_u128(&s.cycles), net.cycle_balance(child));

    // deposit_cycles adds exactly the attached cycles.
    let child0 = net.cycle_balance(child);
    let (r,): (Result<(), String>,) = net.update_candid(cu, "deposit", (child, nat(10 * B))).unwrap();
    r.unwrap();
    assert_eq!(net.cycle_balance(child) - child0, 10 * B);

    // Only a controller may manage it: an ingress user is not one.
    let err = net.canister_status(child, Some(user(1))).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterInvalidController);

    let (r,): (Result<(), String>,) = net.update_candid(cu, "stop_and_delete", (child,)).unwrap();
    r.unwrap();
    assert!(!net.canister_exists(child));
    let (r,): (Result<StatusInfo, String>,) = net.update_candid(cu, "status_of", (child,)).unwrap();
    assert!(r.is_err(), "status of a deleted canister: {r:?}");
}
