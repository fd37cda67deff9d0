//! The ic0 System API as ic-cdk 0.20 canisters use it, one group per test.

mod common;

use candid::{Nat, Principal};
use common::*;
use ic_management_canister_types::{CanisterSettings, EnvironmentVariable};
use localnet::{ErrorCode, LocalNet, RejectCode};

#[test]
fn arguments_caller_self_and_reply() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (Some(41u64),));
    let (n,): (u64,) = net.update_candid_as(id, user(1), "inc", ()).unwrap();
    assert_eq!(n, 42);
    let (who,): (Principal,) = net.query_candid_as(id, user(9), "whoami", ()).unwrap();
    assert_eq!(who, user(9));
    let (me,): (Principal,) = net.query_candid(id, "self_id", ()).unwrap();
    assert_eq!(me, id);
    let () = net.update_candid(id, "set", (7u64,)).unwrap();
    let (n,): (u64,) = net.query_candid(id, "get", ()).unwrap();
    assert_eq!(n, 7);
}

#[test]
fn trap_and_reject_reach_the_caller_with_their_codes() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let err = net.update_call(id, user(1), "trap", candid::encode_args(("bad input",)).unwrap()).unwrap_err();
    assert_eq!((err.reject_code, err.error_code), (RejectCode::CanisterError, ErrorCode::CanisterCalledTrap));
    assert!(err.reject_message.contains("bad input"), "{}", err.reject_message);
    let err = net.update_call(id, user(1), "reject", candid::encode_args(("no thanks",)).unwrap()).unwrap_err();
    assert_eq!(err.reject_code, RejectCode::CanisterReject);
    assert_eq!(err.reject_message, "no thanks");
    let err = net.update_call(id, user(1), "inc_then_trap", candid::encode_args(()).unwrap()).unwrap_err();
    assert_eq!(err.reject_code, RejectCode::CanisterError);
    let (n,): (u64,) = net.query_candid(id, "get", ()).unwrap();
    assert_eq!(n, 0, "the increment before the trap was rolled back");
    // A bad Candid argument traps inside the CDK's decoding.
    let err = net.update_call(id, user(1), "set", b"not candid".to_vec()).unwrap_err();
    assert_eq!(err.reject_code, RejectCode::CanisterError);
}

#[test]
fn debug_print_goes_to_the_canister_log() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let () = net.update_candid(id, "log", ("hello log",)).unwrap();
    let _ = net.update_call(id, user(1), "trap", candid::encode_args(("oops",)).unwrap());
    let logs = net.fetch_canister_logs(id, owner()).unwrap();
    let text: Vec<String> = logs.iter().map(|r| String::from_utf8_lossy(&r.content).into_owned()).collect();
    assert!(text.iter().any(|l| l.contains("hello log")), "{text:?}");
    assert!(text.iter().any(|l| l.contains("[TRAP]") && l.contains("oops")), "{text:?}");
    assert!(logs.windows(2).all(|w| w[0].idx < w[1].idx));
    // Logs are visible to controllers only by default.
    let err = net.fetch_canister_logs(id, user(3)).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterRejectedMessage);
}

#[test]
fn allowed_log_viewers_read_the_log_and_are_bounded() {
    use localnet::management_types::{CanisterSettings, LogVisibility};
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let () = net.update_candid(id, "log", ("for the operators",)).unwrap();
    let viewers = |n: u8| CanisterSettings {
        log_visibility: Some(LogVisibility::AllowedViewers((0..n).map(|i| user(10 + i)).collect())),
        ..Default::default()
    };
    net.update_canister_settings(id, Some(owner()), viewers(2)).unwrap();
    for who in [user(10), user(11), owner()] {
        let logs = net.fetch_canister_logs(id, who).unwrap();
        assert!(logs.iter().any(|r| String::from_utf8_lossy(&r.content).contains("for the operators")));
    }
    assert_eq!(net.fetch_canister_logs(id, user(12)).unwrap_err().error_code, ErrorCode::CanisterRejectedMessage);
    // As on the IC: at most 10 allowed viewers, at creation and in updates.
    net.update_canister_settings(id, Some(owner()), viewers(10)).unwrap();
    let err = net.update_canister_settings(id, Some(owner()), viewers(11)).unwrap_err();
    assert!(err.reject_message.contains("at most 10"), "{err:?}");
    assert!(net.fetch_canister_logs(id, user(19)).is_ok(), "the refused update changed nothing");
    let create = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        net.create_canister_with_settings(Some(owner()), Some(viewers(11)))
    }));
    assert!(create.is_err(), "a creation with 11 allowed viewers is refused");
}

#[test]
fn time_is_the_network_time_and_moves_with_it() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let (t0,): (u64,) = net.query_candid(id, "now", ()).unwrap();
    assert_eq!(t0, net.get_time_nanos());
    net.advance_time(std::time::Duration::from_secs(3600));
    let (t1,): (u64,) = net.query_candid(id, "now", ()).unwrap();
    assert_eq!(t1 - t0, 3_600_000_000_000);
}

#[test]
fn canister_version_counts_installs_and_upgrades() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let (v1,): (u64,) = net.query_candid(id, "version", ()).unwrap();
    net.upgrade_canister(id, wasm("counter"), candid::encode_args((None::<u64>,)).unwrap(), None).unwrap();
    let (v2,): (u64,) = net.query_candid(id, "version", ()).unwrap();
    assert_eq!(v2, v1 + 1);
    let status = net.canister_status(id, None).unwrap();
    assert_eq!(status.version, v2);
}

#[test]
fn is_controller_reflects_the_settings() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let (yes,): (bool,) = net.query_candid(id, "is_controller", (owner(),)).unwrap();
    let (no,): (bool,) = net.query_candid(id, "is_controller", (user(5),)).unwrap();
    assert!(yes && !no);
    net.set_controllers(id, None, vec![owner(), user(5)]).unwrap();
    let (now_yes,): (bool,) = net.query_candid(id, "is_controller", (user(5),)).unwrap();
    assert!(now_yes);
}

#[test]
fn replicated_and_non_replicated_modes() {
    let net = LocalNet::new();
    let counter = install(&net, "counter", (None::<u64>,));
    let caller = install(&net, "async_caller", ());
    let (q,): (bool,) = net.query_candid(counter, "replicated", ()).unwrap();
    let (u,): (bool,) = net.update_candid(counter, "replicated_update", ()).unwrap();
    assert!(!q && u);
    // A query method called by another canister runs replicated.
    let reply = call_raw(&net, caller, counter, "replicated", candid::encode_args(()).unwrap()).unwrap();
    let (r,): (bool,) = candid::decode_args(&reply).unwrap();
    assert!(r);
}

#[test]
fn certified_data_and_data_certificate() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let () = net.update_candid(id, "set_certified_data", (serde_bytes::ByteBuf::from(vec![1u8, 2, 3]),)).unwrap();
    let (cert,): (Option<serde_bytes::ByteBuf>,) = net.query_candid(id, "certificate", ()).unwrap();
    let cert = cert.expect("a certificate in a non-replicated query");
    assert!(cert.windows(3).any(|w| w == [1, 2, 3]), "the certificate holds the certified data");
    assert!(cert.windows(id.as_slice().len()).any(|w| w == id.as_slice()));
    let (none,): (Option<serde_bytes::ByteBuf>,) = net.update_candid(id, "certificate_in_update", ()).unwrap();
    assert!(none.is_none());
    // More than 32 bytes traps.
    let err = net
        .update_call(id, user(1), "set_certified_data", candid::encode_args((serde_bytes::ByteBuf::from(vec![0u8; 33]),)).unwrap())
        .unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterContractViolation);
    // Certified data survives an upgrade.
    net.upgrade_canister(id, wasm("counter"), candid::encode_args((None::<u64>,)).unwrap(), None).unwrap();
    let (cert,): (Option<serde_bytes::ByteBuf>,) = net.query_candid(id, "certificate", ()).unwrap();
    assert!(cert.unwrap().windows(3).any(|w| w == [1, 2, 3]));
}

#[test]
fn performance_counter_and_instruction_counts_are_deterministic() {
    // Same state, same input, same count: two networks running one workload agree exactly.
    let run = || {
        let net = LocalNet::new();
        let id = install(&net, "counter", (None::<u64>,));
        let (small,): (u64,) = net.update_candid(id, "burn_instructions", (10u64,)).unwrap();
        let (large,): (u64,) = net.update_candid(id, "burn_instructions", (100_000u64,)).unwrap();
        let (_,): (u64,) = net.update_candid(id, "inc", ()).unwrap();
        let log: Vec<(String, u64)> = net.execution_log().into_iter().map(|r| (r.entry, r.instructions)).collect();
        (small, large, log)
    };
    let (small, large, log) = run();
    assert!(large > small + 100_000, "the counter grows with the work: {small} {large}");
    let burn = log.iter().filter(|(e, _)| e == "update burn_instructions").map(|(_, n)| *n).max().unwrap();
    assert!(burn >= large, "the execution's total includes what performance_counter saw");
    assert_eq!(run(), (small, large, log));
}

#[test]
fn inspect_message_filters_ingress_only() {
    let net = LocalNet::new();
    let counter = install(&net, "counter", (None::<u64>,));
    let caller = install(&net, "async_caller", ());
    let err = net.update_call(counter, user(1), "blocked_by_inspect", candid::encode_args(()).unwrap()).unwrap_err();
    assert_eq!((err.reject_code, err.error_code), (RejectCode::CanisterReject, ErrorCode::CanisterRejectedMessage));
    // The same method called by a canister is not inspected.
    call_raw(&net, caller, counter, "blocked_by_inspect", candid::encode_args(()).unwrap()).unwrap();
    // Nor is a call the harness sends as that canister.
    net.take_execution_log();
    let id = net.submit_call_as_canister(counter, caller, "blocked_by_inspect", candid::encode_args(()).unwrap()).unwrap();
    net.await_call(id).unwrap();
    let log = net.take_execution_log();
    assert!(!log.iter().any(|r| r.entry.starts_with("inspect_message")), "{log:?}");
    assert!(log.iter().any(|r| r.entry == "update blocked_by_inspect"), "{log:?}");
}

#[test]
fn canister_status_from_inside() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let (s,): (u32,) = net.query_candid(id, "status", ()).unwrap();
    assert_eq!(s, 1);
}

#[test]
fn environment_variables_come_from_the_settings() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let (none,): (Option<String>,) = net.update_candid(id, "env_var", ("MODE",)).unwrap();
    assert!(none.is_none());
    let settings = CanisterSettings {
        environment_variables: Some(vec![EnvironmentVariable { name: "MODE".into(), value: "test".into() }]),
        ..Default::default()
    };
    net.update_canister_settings(id, None, settings).unwrap();
    let (v,): (Option<String>,) = net.update_candid(id, "env_var", ("MODE",)).unwrap();
    assert_eq!(v.as_deref(), Some("test"));
    let too_many = CanisterSettings {
        environment_variables: Some(
            (0..21).map(|i| EnvironmentVariable { name: format!("V{i}"), value: String::new() }).collect(),
        ),
        ..Default::default()
    };
    let err = net.update_canister_settings(id, None, too_many).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::InvalidManagementPayload);
}

#[test]
fn wasm_memory_limit_traps_updates_that_grow_past_it() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let settings = CanisterSettings { wasm_memory_limit: Some(Nat::from(8u64 << 20)), ..Default::default() };
    net.update_canister_settings(id, None, settings).unwrap();
    let err = net.update_call(id, user(1), "grow_heap", candid::encode_args((16u32,)).unwrap()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterWasmMemoryLimitExceeded);
    let (heap, _) = net.memory_sizes(id).unwrap();
    assert!(heap < 8 << 20, "the growth was rolled back: {heap}");
    let (_,): (u64,) = net.update_candid(id, "grow_heap", (1u32,)).unwrap();
}

#[test]
fn heap_growth_of_a_trapping_message_is_rolled_back() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (Some(3u64),));
    let (before, _) = net.memory_sizes(id).unwrap();
    let err = net.update_call(id, user(1), "grow_heap_then_trap", candid::encode_args((20u32,)).unwrap()).unwrap_err();
    assert_eq!(err.reject_code, RejectCode::CanisterError);
    let (after, _) = net.memory_sizes(id).unwrap();
    assert_eq!(before, after);
    let (n,): (u64,) = net.update_candid(id, "inc", ()).unwrap();
    assert_eq!(n, 4);
    let (kept,): (u64,) = net.update_candid(id, "grow_heap", (2u32,)).unwrap();
    assert_eq!(kept, 2 << 20);
}

/// Calls `method` on `target` through the async_caller's `call_raw`.
fn call_raw(net: &LocalNet, caller: Principal, target: Principal, method: &str, arg: Vec<u8>) -> Result<Vec<u8>, (u32, String)> {
    #[derive(candid::CandidType, candid::Deserialize)]
    struct CallError {
        code: u32,
        message: String,
    }
    let (r,): (Result<serde_bytes::ByteBuf, CallError>,) =
        net.update_candid(caller, "call_raw", (target, method, serde_bytes::ByteBuf::from(arg))).unwrap();
    r.map(|b| b.into_vec()).map_err(|e| (e.code, e.message))
}

#[test]
fn injected_traps_refuse_the_next_update_calls_and_change_nothing() {
    let net = LocalNet::new();
    let counter = install(&net, "counter", (None::<u64>,));
    let caller = install(&net, "async_caller", ());
    let (n,): (u64,) = net.update_candid(counter, "inc", ()).unwrap();
    assert_eq!(n, 1);
    net.inject_traps(counter, Some("inc"), 2);
    // By ingress and from another canister: both trap; the count does not move.
    let e = net.update_call(counter, user(1), "inc", candid::encode_args(()).unwrap()).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterCalledTrap, "{e:?}");
    assert!(e.reject_message.contains("injected trap"), "{e:?}");
    assert!(call_raw(&net, caller, counter, "inc", candid::encode_args(()).unwrap()).is_err());
    // Queries and other methods are not affected; the third call goes through.
    let (n,): (u64,) = net.query_candid(counter, "get", ()).unwrap();
    assert_eq!(n, 1);
    let (n,): (u64,) = net.update_candid(counter, "inc", ()).unwrap();
    assert_eq!(n, 2);
    // Any method, then cleared.
    net.inject_traps(counter, None, 5);
    assert!(net.update_call(counter, user(1), "inc", candid::encode_args(()).unwrap()).is_err());
    net.inject_traps(counter, None, 0);
    let (n,): (u64,) = net.update_candid(counter, "inc", ()).unwrap();
    assert_eq!(n, 3);
}
