//! Message semantics checked with small hand-written modules, so that each test pins
//! one rule of the interface specification without any CDK in between.

use candid::Principal;
use localnet::{ErrorCode, LocalNet, RejectCode};

const STORE: &str = r#"
(module
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (import "ic0" "stable64_grow" (func $sgrow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $swrite (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $sread (param i64 i64 i64)))
  (import "ic0" "stable64_size" (func $ssize (result i64)))
  (memory (export "memory") 1)
  (global $counter (mut i32) (i32.const 0))
  (data (i32.const 100) "boom")
  (func $effects
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (i32.store (i32.const 1000) (i32.add (i32.load (i32.const 1000)) (i32.const 1)))
    (call $sread (i64.const 2000) (i64.const 0) (i64.const 4))
    (i32.store (i32.const 2000) (i32.add (i32.load (i32.const 2000)) (i32.const 1)))
    (call $swrite (i64.const 0) (i64.const 2000) (i64.const 4)))
  (func $reply_state
    (i32.store (i32.const 0) (global.get $counter))
    (i32.store (i32.const 4) (i32.load (i32.const 1000)))
    (call $sread (i64.const 8) (i64.const 0) (i64.const 4))
    (i32.store (i32.const 12) (memory.size))
    (i32.store (i32.const 16) (i32.wrap_i64 (call $ssize)))
    (call $append (i32.const 0) (i32.const 20))
    (call $reply))
  (func (export "canister_init") (drop (call $sgrow (i64.const 1))))
  (func (export "canister_update inc") (call $effects) (call $reply_state))
  (func (export "canister_update inc_then_trap") (call $effects) (call $trap (i32.const 100) (i32.const 4)))
  (func (export "canister_update grow_then_trap")
    (call $effects)
    (drop (memory.grow (i32.const 10)))
    (i32.store (i32.const 70000) (i32.const 7))
    (drop (call $sgrow (i64.const 3)))
    (unreachable))
  (func (export "canister_update grow") (drop (memory.grow (i32.const 2))) (call $reply_state))
  (func (export "canister_query get") (call $reply_state))
  (func (export "canister_query inc_query") (call $effects) (call $reply_state))
  (func (export "canister_update no_reply") (call $effects))
  (func (export "canister_update spin") (call $effects) (loop $l (br $l)))
  (func (export "canister_update reply_twice") (call $reply) (call $reply))
  (func (export "canister_update big_reply")
    (drop (memory.grow (i32.const 40)))
    (call $append (i32.const 0) (i32.const 2097153))
    (call $reply))
)
"#;

const CALLER: &str = r#"
(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reject_code" (func $reject_code (result i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_on_cleanup" (func $on_cleanup (param i32 i32)))
  (import "ic0" "call_perform" (func $perform (result i32)))
  (memory (export "memory") 1)
  (table 4 funcref)
  (elem (i32.const 0) $on_reply $on_reject $on_reply_trap $cleanup)
  (global $cleanups (mut i32) (i32.const 0))
  (global $touched (mut i32) (i32.const 0))
  (data (i32.const 200) "get")
  (data (i32.const 210) "nope")
  (data (i32.const 220) "callback trap")
  ;; The argument is the callee's principal; stored at 300, its length at 296.
  (func $load_callee
    (i32.store (i32.const 296) (call $arg_size))
    (call $arg_copy (i32.const 300) (i32.const 0) (call $arg_size)))
  (func (export "canister_update call_get")
    (call $load_callee)
    (global.set $touched (i32.const 1))
    (call $call_new (i32.const 300) (i32.load (i32.const 296)) (i32.const 200) (i32.const 3)
                    (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
    (drop (call $perform)))
  (func (export "canister_update call_missing_method")
    (call $load_callee)
    (call $call_new (i32.const 300) (i32.load (i32.const 296)) (i32.const 210) (i32.const 4)
                    (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
    (drop (call $perform)))
  (func (export "canister_update call_then_trap_in_callback")
    (call $load_callee)
    (call $call_new (i32.const 300) (i32.load (i32.const 296)) (i32.const 200) (i32.const 3)
                    (i32.const 2) (i32.const 0) (i32.const 2) (i32.const 0))
    (call $on_cleanup (i32.const 3) (i32.const 0))
    (drop (call $perform)))
  (func (export "canister_update call_then_trap")
    (call $load_callee)
    (call $call_new (i32.const 300) (i32.load (i32.const 296)) (i32.const 200) (i32.const 3)
                    (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
    (drop (call $perform))
    (unreachable))
  (func $on_reply (param i32)
    (call $arg_copy (i32.const 400) (i32.const 0) (call $arg_size))
    (call $append (i32.const 400) (call $arg_size))
    (call $reply))
  (func $on_reject (param i32)
    (i32.store8 (i32.const 400) (i32.const 238))
    (i32.store8 (i32.const 401) (call $reject_code))
    (call $append (i32.const 400) (i32.const 2))
    (call $reply))
  (func $on_reply_trap (param i32)
    (global.set $touched (i32.const 99))
    (call $trap (i32.const 220) (i32.const 13)))
  (func $cleanup (param i32)
    (global.set $cleanups (i32.add (global.get $cleanups) (i32.const 1))))
  (func (export "canister_query state")
    (i32.store (i32.const 0) (global.get $cleanups))
    (i32.store (i32.const 4) (global.get $touched))
    (call $append (i32.const 0) (i32.const 8))
    (call $reply))
)
"#;

fn install(net: &LocalNet, wat: &str) -> Principal {
    let id = net.create_canister();
    net.install_canister(id, wat::parse_str(wat).unwrap(), vec![], None);
    id
}

fn words(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn user() -> Principal {
    Principal::from_slice(&[7; 29])
}

#[test]
fn update_commits_heap_globals_and_stable_memory() {
    let net = LocalNet::new();
    let id = install(&net, STORE);
    assert_eq!(words(&net.update_call(id, user(), "inc", vec![]).unwrap()), vec![1, 1, 1, 1, 1]);
    assert_eq!(words(&net.update_call(id, user(), "inc", vec![]).unwrap()), vec![2, 2, 2, 1, 1]);
    assert_eq!(words(&net.query_call(id, user(), "get", vec![]).unwrap()), vec![2, 2, 2, 1, 1]);
}

#[test]
fn trap_rolls_back_everything() {
    let net = LocalNet::new();
    let id = install(&net, STORE);
    net.update_call(id, user(), "inc", vec![]).unwrap();
    let err = net.update_call(id, user(), "inc_then_trap", vec![]).unwrap_err();
    assert_eq!(err.reject_code, RejectCode::CanisterError);
    assert_eq!(err.error_code, ErrorCode::CanisterCalledTrap);
    assert!(err.reject_message.contains("Canister called `ic0.trap` with message: 'boom'"), "{}", err.reject_message);
    assert_eq!(words(&net.query_call(id, user(), "get", vec![]).unwrap()), vec![1, 1, 1, 1, 1]);
    // The trap and the message are in the canister log.
    let logs = net.fetch_canister_logs(id, Principal::anonymous()).unwrap();
    assert!(String::from_utf8_lossy(&logs.last().unwrap().content).contains("boom"));
}

#[test]
fn trap_after_memory_grow_restores_the_size_and_contents() {
    let net = LocalNet::new();
    let id = install(&net, STORE);
    net.update_call(id, user(), "inc", vec![]).unwrap();
    let err = net.update_call(id, user(), "grow_then_trap", vec![]).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterTrapped);
    assert!(err.reject_message.contains("unreachable"));
    // memory.size is back to 1 page, stable memory to 1 page, and the effects are gone.
    assert_eq!(words(&net.query_call(id, user(), "get", vec![]).unwrap()), vec![1, 1, 1, 1, 1]);
    // The canister keeps working after the rebuild.
    assert_eq!(words(&net.update_call(id, user(), "inc", vec![]).unwrap()), vec![2, 2, 2, 1, 1]);
    assert_eq!(words(&net.update_call(id, user(), "grow", vec![]).unwrap()), vec![2, 2, 2, 3, 1]);
}

#[test]
fn queries_discard_state_in_both_modes() {
    let net = LocalNet::new();
    let id = install(&net, STORE);
    assert_eq!(words(&net.query_call(id, user(), "inc_query", vec![]).unwrap()), vec![1, 1, 1, 1, 1]);
    assert_eq!(words(&net.query_call(id, user(), "get", vec![]).unwrap()), vec![0, 0, 0, 1, 1]);
    // An ingress update call to a query method runs it replicated, still discarding state.
    assert_eq!(words(&net.update_call(id, user(), "inc_query", vec![]).unwrap()), vec![1, 1, 1, 1, 1]);
    assert_eq!(words(&net.query_call(id, user(), "get", vec![]).unwrap()), vec![0, 0, 0, 1, 1]);
}

#[test]
fn missing_reply_is_rejected_but_state_is_kept() {
    let net = LocalNet::new();
    let id = install(&net, STORE);
    let err = net.update_call(id, user(), "no_reply", vec![]).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterDidNotReply);
    assert_eq!(err.reject_code, RejectCode::CanisterError);
    assert_eq!(words(&net.query_call(id, user(), "get", vec![]).unwrap())[0], 1);
}

#[test]
fn replying_twice_is_a_contract_violation() {
    let net = LocalNet::new();
    let id = install(&net, STORE);
    let err = net.update_call(id, user(), "reply_twice", vec![]).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterContractViolation);
    assert!(err.reject_message.contains("already replied"));
}

#[test]
fn reply_over_two_mib_traps() {
    let net = LocalNet::new();
    let id = install(&net, STORE);
    let err = net.update_call(id, user(), "big_reply", vec![]).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterContractViolation);
    assert!(err.reject_message.contains("cannot be larger than 2097152"), "{}", err.reject_message);
}

#[test]
fn instruction_limit_is_enforced_and_rolled_back() {
    // The IC's 40B would take ~25 s of CPU to exhaust; the mechanism is the same at 50M.
    let limits = localnet::InstructionLimits { update: 50_000_000, ..localnet::InstructionLimits::IC };
    let net = LocalNet::builder().with_instruction_limits(limits).build();
    let id = install(&net, STORE);
    let err = net.update_call(id, user(), "spin", vec![]).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterInstructionLimitExceeded);
    assert!(err.reject_message.contains("limit of 50000000 instructions"), "{}", err.reject_message);
    let last = net.last_execution(id).unwrap();
    assert_eq!((last.entry.as_str(), last.instructions, last.trapped), ("update spin", 50_000_000, true));
    assert_eq!(words(&net.query_call(id, user(), "get", vec![]).unwrap())[0], 0);
    assert_eq!(localnet::InstructionLimits::IC.update, 40_000_000_000);
}

#[test]
fn unknown_methods_and_canisters_are_rejected_with_ic_codes() {
    let net = LocalNet::new();
    let id = install(&net, STORE);
    let err = net.update_call(id, user(), "nope", vec![]).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterMethodNotFound);
    let err = net.query_call(id, user(), "inc", vec![]).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterMethodNotFound);
    let missing = localnet::canister_id_from_u64(999);
    let err = net.update_call(missing, user(), "inc", vec![]).unwrap_err();
    assert_eq!((err.reject_code, err.error_code), (RejectCode::DestinationInvalid, ErrorCode::CanisterNotFound));
    let empty = net.create_canister();
    let err = net.update_call(empty, user(), "inc", vec![]).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterWasmModuleNotFound);
}

#[test]
fn callbacks_receive_replies_and_rejects() {
    let net = LocalNet::new();
    let store = install(&net, STORE);
    let caller = install(&net, CALLER);
    net.update_call(store, user(), "inc", vec![]).unwrap();
    // Inter-canister call to a query method: replicated, its reply comes back through the callback.
    let reply = net.update_call(caller, user(), "call_get", store.as_slice().to_vec()).unwrap();
    assert_eq!(words(&reply), vec![1, 1, 1, 1, 1]);
    // Method not found: reject callback sees CANISTER_ERROR (5).
    let reply = net.update_call(caller, user(), "call_missing_method", store.as_slice().to_vec()).unwrap();
    assert_eq!(reply, vec![238, 5]);
    // Destination invalid (3).
    let missing = localnet::canister_id_from_u64(999);
    let reply = net.update_call(caller, user(), "call_get", missing.as_slice().to_vec()).unwrap();
    assert_eq!(reply, vec![238, 3]);
    // The call took three rounds' worth of executions: update, callee query, reply callback.
    let (_, records) = net.update_call_with_stats(caller, user(), "call_get", store.as_slice().to_vec());
    let entries: Vec<_> = records.iter().map(|r| r.entry.as_str()).collect();
    assert_eq!(entries, vec!["update call_get", "query get", "reply callback"]);
    assert!(records.iter().all(|r| r.instructions > 0));
}

#[test]
fn trapping_callback_runs_cleanup_and_rolls_back_only_itself() {
    let net = LocalNet::new();
    let store = install(&net, STORE);
    let caller = install(&net, CALLER);
    let err = net.update_call(caller, user(), "call_then_trap_in_callback", store.as_slice().to_vec()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterCalledTrap);
    assert!(err.reject_message.contains("callback trap"));
    // cleanups = 1 (cleanup ran and kept its change), touched = 0 (the callback's change was rolled back).
    assert_eq!(words(&net.query_call(caller, user(), "state", vec![]).unwrap()), vec![1, 0]);
}

#[test]
fn calls_made_by_a_trapping_execution_are_never_sent() {
    let net = LocalNet::new();
    let store = install(&net, STORE);
    let caller = install(&net, CALLER);
    let err = net.update_call(caller, user(), "call_then_trap", store.as_slice().to_vec()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterTrapped);
    net.run_until_idle(10);
    assert!(net.execution_log().iter().all(|r| r.canister != store || r.entry == "init"));
}

#[test]
fn unknown_imports_are_reported_at_install_naming_the_function() {
    let net = LocalNet::new();
    let id = net.create_canister();
    let wasm = wat::parse_str(
        r#"(module (import "ic0" "no_such_api" (func (param i32))) (memory (export "memory") 1))"#,
    )
    .unwrap();
    let err = net.install_code(id, localnet::management_types::CanisterInstallMode::Install, wasm, vec![], None).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterInvalidWasm);
    assert!(err.reject_message.contains("'no_such_api'"), "{}", err.reject_message);
    let wasm = wat::parse_str(r#"(module (import "ic0" "msg_reply" (func (param i32))) (memory (export "memory") 1))"#)
        .unwrap();
    let err = net.install_code(id, localnet::management_types::CanisterInstallMode::Install, wasm, vec![], None).unwrap_err();
    assert!(err.reject_message.contains("signature"), "{}", err.reject_message);
    let wasm = wat::parse_str(r#"(module (import "env" "f" (func)) (memory (export "memory") 1))"#).unwrap();
    let err = net.install_code(id, localnet::management_types::CanisterInstallMode::Install, wasm, vec![], None).unwrap_err();
    assert!(err.reject_message.contains("'f' from 'env'"), "{}", err.reject_message);
    assert!(net.module_hash(id).is_none(), "nothing was installed");
}

#[test]
fn system_api_called_from_the_wrong_context_traps() {
    let net = LocalNet::new();
    let wasm = r#"
    (module
      (import "ic0" "msg_reply" (func $reply))
      (import "ic0" "accept_message" (func $accept))
      (memory (export "memory") 1)
      (func (export "canister_update f") (call $accept) (call $reply)))"#;
    let id = install(&net, wasm);
    let err = net.update_call(id, user(), "f", vec![]).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterContractViolation);
    assert!(err.reject_message.contains("cannot be executed in update mode"), "{}", err.reject_message);
}

#[test]
fn rarely_used_system_api_functions() {
    let wasm = r#"
    (module
      (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
      (import "ic0" "msg_reply" (func $reply))
      (import "ic0" "stable_grow" (func $sgrow (param i32) (result i32)))
      (import "ic0" "stable_size" (func $ssize (result i32)))
      (import "ic0" "stable_write" (func $swrite (param i32 i32 i32)))
      (import "ic0" "stable_read" (func $sread (param i32 i32 i32)))
      (import "ic0" "root_key_size" (func $root_key_size (result i32)))
      (import "ic0" "subnet_self_size" (func $subnet_size (result i32)))
      (import "ic0" "msg_caller_info_data_size" (func $info_size (result i32)))
      (import "ic0" "canister_cycle_balance" (func $balance64 (result i64)))
      (import "ic0" "cost_sign_with_ecdsa" (func $cost_ecdsa (param i32 i32 i32 i32) (result i32)))
      (import "ic0" "cost_sign_with_schnorr" (func $cost_schnorr (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 500) "test_key_1")
      (data (i32.const 520) "no_such_key")
      (func $put (param $at i32) (param $v i32) (i32.store (local.get $at) (local.get $v)))
      (func (export "canister_update misc")
        (call $put (i32.const 0) (call $sgrow (i32.const 2)))
        (call $put (i32.const 4) (call $ssize))
        (i32.store (i32.const 100) (i32.const 0xabcdef))
        (call $swrite (i32.const 70000) (i32.const 100) (i32.const 4))
        (call $sread (i32.const 8) (i32.const 70000) (i32.const 4))
        (call $put (i32.const 12) (call $root_key_size))
        (call $put (i32.const 16) (call $subnet_size))
        (call $put (i32.const 20) (call $info_size))
        (call $put (i32.const 24) (i64.ne (call $balance64) (i64.const 0)))
        ;; 0 = known key (cost written at 600), 1 = unknown curve, 2 = unknown key name
        (call $put (i32.const 28) (call $cost_ecdsa (i32.const 500) (i32.const 10) (i32.const 0) (i32.const 600)))
        (call $put (i32.const 32) (call $cost_ecdsa (i32.const 500) (i32.const 10) (i32.const 7) (i32.const 600)))
        (call $put (i32.const 36) (call $cost_schnorr (i32.const 520) (i32.const 11) (i32.const 1) (i32.const 600)))
        (call $put (i32.const 40) (i32.load (i32.const 600)))
        (call $append (i32.const 0) (i32.const 44))
        (call $reply)))"#;
    let net = LocalNet::new();
    let id = install(&net, wasm);
    let w = words(&net.update_call(id, user(), "misc", vec![]).unwrap());
    // stable_grow returns the old size; 0xabcdef round-trips through page 1; the root key is
    // 133 bytes of DER; the subnet id 29 bytes; no caller info; a non-zero balance;
    // ecdsa test_key_1 costs 10B (low 32 bits at 600); bad curve = 1; unknown key = 2.
    assert_eq!(w, vec![0, 2, 0xabcdef, 133, 29, 0, 1, 0, 1, 2, (10_000_000_000u64 & 0xffff_ffff) as u32]);
    assert_eq!(net.root_key().len(), 133);
}
