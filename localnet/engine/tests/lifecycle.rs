//! Install, reinstall, upgrade (atomic), chunked install, controllers, stopping and
//! stopped canisters, deletion, status, settings and snapshots.

mod common;

use candid::{Nat, Principal};
use common::*;
use ic_management_canister_types::{CanisterInstallMode, CanisterSettings, CanisterStatusType, UpgradeFlags};
use localnet::{ErrorCode, LocalNet, RejectCode};
use sha2::{Digest, Sha256};

fn put(net: &LocalNet, id: Principal, k: &str, v: &str) {
    let (_,): (Option<String>,) = net.update_candid(id, "put", (k, v)).unwrap();
}

fn get(net: &LocalNet, id: Principal, k: &str) -> Option<String> {
    net.query_candid::<_, (Option<String>,)>(id, "get_value", (k,)).unwrap().0
}

fn none_arg() -> Vec<u8> {
    candid::encode_args((None::<u64>,)).unwrap()
}

#[test]
fn upgrade_keeps_stable_memory_and_wipes_the_heap() {
    let net = LocalNet::new();
    let id = install(&net, "stable_user", ());
    put(&net, id, "alice", "1");
    let (n,): (u64,) = net.update_candid(id, "inc_small", ()).unwrap();
    assert_eq!(n, 1);
    net.upgrade_canister(id, wasm("stable_user"), candid::encode_args(()).unwrap(), None).unwrap();
    assert_eq!(get(&net, id, "alice").as_deref(), Some("1"));
    let (n,): (u64,) = net.update_candid(id, "inc_small", ()).unwrap();
    assert_eq!(n, 1, "heap state starts over after an upgrade");
    // Hooks carry heap state across when the canister asks for it (counter's pre/post_upgrade).
    let counter = install(&net, "counter", (Some(5u64),));
    net.upgrade_canister(counter, wasm("counter"), none_arg(), None).unwrap();
    assert_eq!(net.query_candid::<_, (u64,)>(counter, "get", ()).unwrap().0, 5);
}

#[test]
fn reinstall_wipes_stable_memory_too() {
    let net = LocalNet::new();
    let id = install(&net, "stable_user", ());
    put(&net, id, "alice", "1");
    net.reinstall_canister(id, wasm("stable_user"), candid::encode_args(()).unwrap(), None).unwrap();
    assert_eq!(get(&net, id, "alice"), None);
    assert_eq!(net.query_candid::<_, (u64,)>(id, "len", ()).unwrap().0, 0);
}

#[test]
fn a_failing_upgrade_changes_nothing() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (Some(5u64),));
    let hash = net.module_hash(id).unwrap();
    let version = net.canister_status(id, None).unwrap().version;
    // post_upgrade expects Candid `(opt nat64)`; bytes that are not Candid make it trap after
    // pre_upgrade ran. (A Candid `text` would decode as `null` under Candid's opt rule.)
    let err = net.upgrade_canister(id, wasm("echo"), candid::encode_args(()).unwrap(), None);
    assert!(err.is_ok(), "echo has no post_upgrade, so this upgrade succeeds: {err:?}");
    net.upgrade_canister(id, wasm("counter"), none_arg(), None).unwrap();
    let err = net.upgrade_canister(id, wasm("counter"), b"not candid".to_vec(), None).unwrap_err();
    assert_eq!(err.reject_code, RejectCode::CanisterError);
    assert!(err.reject_message.contains("post_upgrade"), "{}", err.reject_message);
    assert_eq!(net.module_hash(id).unwrap(), hash);
    assert_eq!(net.canister_status(id, None).unwrap().version, version + 2);
    // counter's pre_upgrade saved 5 to stable memory, echo left stable memory alone, the next
    // post_upgrade restored 5; the failed upgrade's pre_upgrade write was rolled back with it.
    let (n,): (u64,) = net.update_candid(id, "inc", ()).unwrap();
    assert_eq!(n, 6);
    // Make pre_upgrade write something new (6) and fail the upgrade again; then read what
    // stable memory holds with an upgrade that skips pre_upgrade: still 5.
    net.upgrade_canister(id, wasm("counter"), b"not candid".to_vec(), None).unwrap_err();
    let flags = UpgradeFlags { skip_pre_upgrade: Some(true), wasm_memory_persistence: None };
    net.install_code(id, CanisterInstallMode::Upgrade(Some(flags)), wasm("counter"), none_arg(), None).unwrap();
    assert_eq!(net.query_candid::<_, (u64,)>(id, "get", ()).unwrap().0, 5);
}

#[test]
fn a_failing_install_leaves_the_canister_empty() {
    let net = LocalNet::new();
    let id = net.create_canister();
    let err = net
        .install_code(id, CanisterInstallMode::Install, wasm("counter"), b"not candid".to_vec(), None)
        .unwrap_err();
    assert_eq!(err.reject_code, RejectCode::CanisterError);
    assert!(err.reject_message.contains("init"), "{}", err.reject_message);
    assert!(net.module_hash(id).is_none());
    net.install_canister(id, wasm("counter"), none_arg(), None);
    let err = net.install_code(id, CanisterInstallMode::Install, wasm("counter"), none_arg(), None).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterNonEmpty);
    let empty = net.create_canister();
    let err = net.upgrade_canister(empty, wasm("counter"), none_arg(), None).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterWasmModuleNotFound);
    let err = net.install_code(empty, CanisterInstallMode::Install, b"garbage".to_vec(), vec![], None).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterInvalidWasm);
}

#[test]
fn skip_pre_upgrade_does_not_run_the_old_hook() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (Some(5u64),));
    let flags = UpgradeFlags { skip_pre_upgrade: Some(true), wasm_memory_persistence: None };
    net.install_code(id, CanisterInstallMode::Upgrade(Some(flags)), wasm("counter"), none_arg(), None).unwrap();
    let (n,): (u64,) = net.query_candid(id, "get", ()).unwrap();
    assert_eq!(n, 0, "pre_upgrade did not save the count");
}

#[test]
fn module_hash_is_the_sha256_of_the_installed_bytes() {
    let net = LocalNet::new();
    let gz = wasm("counter");
    let id = install(&net, "counter", (None::<u64>,));
    let status = net.canister_status(id, None).unwrap();
    assert_eq!(status.module_hash.unwrap(), Sha256::digest(&gz).to_vec());
    assert_eq!(status.status, CanisterStatusType::Running);
    assert_eq!(status.settings.controllers, vec![owner()]);
    assert_eq!(status.cycles, Nat::from(net.cycle_balance(id)));
    assert!(status.memory_size > Nat::from(gz.len() as u64));
    assert_eq!(status.memory_metrics.wasm_binary_size, Nat::from(gz.len() as u64));
    // The candid:service metadata embedded by the build is readable.
    let did = String::from_utf8(net.canister_metadata(id, "candid:service").unwrap()).unwrap();
    assert!(did.contains("inc : () -> (nat64)"), "{did}");
}

/// The counter module with a 3 MiB custom section: too big for one ingress message.
fn big_module() -> Vec<u8> {
    let raw = localnet::wasm::decompress(&wasm("counter")).unwrap();
    let mut data = Vec::with_capacity(3 << 20);
    let mut x = 0x1234_5678u64;
    while data.len() < 3 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    let name = b"icp:private padding";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(&data);
    let mut out = raw;
    out.push(0); // custom section
    let mut n = payload.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        out.push(if n == 0 { b } else { b | 0x80 });
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&payload);
    out
}

#[test]
fn modules_over_two_mib_install_through_the_chunk_store() {
    let net = LocalNet::new();
    let module = big_module();
    assert!(module.len() > 3 << 20);
    let id = net.create_canister();
    let err = net.install_code(id, CanisterInstallMode::Install, module.clone(), none_arg(), None).unwrap_err();
    assert!(err.reject_message.contains("ingress limit"), "{}", err.reject_message);

    // Chunks live in a store canister controlled by the same principal.
    let store = net.create_canister();
    let mut hashes = Vec::new();
    for chunk in module.chunks(1 << 20) {
        hashes.push(net.upload_chunk(store, None, chunk.to_vec()).unwrap());
    }
    assert_eq!(net.stored_chunks(store, None).unwrap().len(), hashes.len());
    let err = net.upload_chunk(store, None, vec![0u8; (1 << 20) + 1]).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::InvalidManagementPayload);
    let wrong_hash = vec![0u8; 32];
    let err = net
        .install_chunked_canister(id, None, CanisterInstallMode::Install, store, hashes.clone(), wrong_hash, none_arg())
        .unwrap_err();
    assert!(err.reject_message.contains("does not match"), "{}", err.reject_message);
    let hash = Sha256::digest(&module).to_vec();
    net.install_chunked_canister(id, None, CanisterInstallMode::Install, store, hashes, hash.clone(), none_arg()).unwrap();
    assert_eq!(net.module_hash(id).unwrap().to_vec(), hash);
    let (n,): (u64,) = net.update_candid(id, "inc", ()).unwrap();
    assert_eq!(n, 1);
    net.clear_chunk_store(store, None).unwrap();
    assert!(net.stored_chunks(store, None).unwrap().is_empty());
}

#[test]
fn only_controllers_may_manage_a_canister() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let stranger = Some(user(5));
    let checks = [
        net.upgrade_canister(id, wasm("counter"), none_arg(), stranger).unwrap_err(),
        net.canister_status(id, stranger).unwrap_err(),
        net.stop_canister(id, stranger).unwrap_err(),
        net.start_canister(id, stranger).unwrap_err(),
        net.delete_canister(id, stranger).unwrap_err(),
        net.set_controllers(id, stranger, vec![user(5)]).unwrap_err(),
        net.upload_chunk(id, stranger, vec![1]).unwrap_err(),
        net.take_canister_snapshot(id, stranger, None).unwrap_err(),
        net.uninstall_canister(id, stranger).unwrap_err(),
    ];
    for err in checks {
        assert_eq!(err.error_code, ErrorCode::CanisterInvalidController, "{err}");
        assert!(err.reject_message.contains("Only controllers"));
    }
    // Handing control over works, and the old controller loses it.
    net.set_controllers(id, None, vec![user(5)]).unwrap();
    assert!(net.canister_status(id, None).is_err());
    assert!(net.canister_status(id, Some(user(5))).is_ok());
    let err = net.set_controllers(id, Some(user(5)), (0..11).map(user).collect()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::InvalidManagementPayload);
}

#[test]
fn stopping_waits_for_open_calls_and_stopped_canisters_refuse_work() {
    let net = LocalNet::new();
    let counter = install(&net, "counter", (None::<u64>,));
    let caller = install(&net, "async_caller", ());
    let pending = net
        .submit_call(caller, user(1), "call_raw", candid::encode_args((counter, "inc", serde_bytes::ByteBuf::from(candid::encode_args(()).unwrap()))).unwrap())
        .unwrap();
    net.tick(); // the caller is now awaiting the counter
    let stop = net
        .submit_call(
            Principal::management_canister(),
            owner(),
            "stop_canister",
            candid::encode_one(ic_management_canister_types::CanisterIdRecord { canister_id: caller }).unwrap(),
        )
        .unwrap();
    net.tick(); // stop_canister is handled: the caller has an open call context, so it is stopping
    assert_eq!(net.canister_status(caller, None).unwrap().status, CanisterStatusType::Stopping);
    let err = net.submit_call(caller, user(1), "inc_local", candid::encode_args(()).unwrap()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterStopping);
    // The outstanding call completes (responses are still delivered), then the stop does.
    net.await_call(pending).unwrap();
    net.await_call(stop).unwrap();
    assert_eq!(net.canister_status(caller, None).unwrap().status, CanisterStatusType::Stopped);
    let (s,): (u32,) = net.query_candid(counter, "status", ()).unwrap();
    assert_eq!(s, 1);
    let err = net.update_call(caller, user(1), "inc_local", candid::encode_args(()).unwrap()).unwrap_err();
    assert_eq!((err.reject_code, err.error_code), (RejectCode::CanisterError, ErrorCode::CanisterStopped));
    let err = net.query_call(caller, user(1), "get_before_await", candid::encode_args(()).unwrap()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterStopped);
    net.start_canister(caller, None).unwrap();
    let (_,): (u64,) = net.update_candid(caller, "inc_local", ()).unwrap();
}

#[test]
fn deletion_requires_a_stopped_canister() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let err = net.delete_canister(id, None).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterNotStopped);
    net.stop_canister(id, None).unwrap();
    net.delete_canister(id, None).unwrap();
    assert!(!net.canister_exists(id));
    let err = net.update_call(id, user(1), "inc", candid::encode_args(()).unwrap()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterNotFound);
    assert_eq!(net.canister_status(id, None).unwrap_err().error_code, ErrorCode::CanisterNotFound);
}

#[test]
fn uninstall_removes_code_but_keeps_the_canister() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    net.uninstall_canister(id, None).unwrap();
    assert!(net.canister_exists(id));
    assert!(net.module_hash(id).is_none());
    let err = net.update_call(id, user(1), "inc", candid::encode_args(()).unwrap()).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterWasmModuleNotFound);
}

#[test]
fn settings_are_validated_and_reported() {
    let net = LocalNet::new();
    let id = install(&net, "counter", (None::<u64>,));
    let settings = CanisterSettings { freezing_threshold: Some(Nat::from(86_400u64)), ..Default::default() };
    net.update_canister_settings(id, None, settings).unwrap();
    assert_eq!(net.canister_status(id, None).unwrap().settings.freezing_threshold, Nat::from(86_400u64));
    let bad = CanisterSettings { compute_allocation: Some(Nat::from(101u64)), ..Default::default() };
    let err = net.update_canister_settings(id, None, bad).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::InvalidManagementPayload);
    // Nothing of a rejected update is applied.
    assert_eq!(net.canister_status(id, None).unwrap().settings.compute_allocation, Nat::from(0u64));
}

#[test]
fn snapshots_restore_heap_and_stable_memory() {
    let net = LocalNet::new();
    let id = install(&net, "stable_user", ());
    put(&net, id, "k", "before");
    let (_,): (u64,) = net.update_candid(id, "inc_small", ()).unwrap();
    let snap = net.take_canister_snapshot(id, None, None).unwrap();
    put(&net, id, "k", "after");
    put(&net, id, "k2", "new");
    let (n,): (u64,) = net.update_candid(id, "inc_small", ()).unwrap();
    assert_eq!(n, 2);
    net.load_canister_snapshot(id, None, snap.id.clone()).unwrap();
    assert_eq!(get(&net, id, "k").as_deref(), Some("before"));
    assert_eq!(get(&net, id, "k2"), None);
    let (n,): (u64,) = net.update_candid(id, "inc_small", ()).unwrap();
    assert_eq!(n, 2, "the heap counter is back to 1 and incremented once");
    assert_eq!(net.list_canister_snapshots(id, None).unwrap().len(), 1);
    // Replacing keeps one; ten at most; unknown ids are reported.
    let replaced = net.take_canister_snapshot(id, None, Some(snap.id.clone())).unwrap();
    assert_eq!(net.list_canister_snapshots(id, None).unwrap(), vec![replaced.clone()]);
    for _ in 0..9 {
        net.take_canister_snapshot(id, None, None).unwrap();
    }
    let err = net.take_canister_snapshot(id, None, None).unwrap_err();
    assert!(err.reject_message.contains("maximum of 10"), "{}", err.reject_message);
    net.delete_canister_snapshot(id, None, replaced.id.clone()).unwrap();
    let err = net.load_canister_snapshot(id, None, replaced.id).unwrap_err();
    assert_eq!(err.error_code, ErrorCode::CanisterSnapshotNotFound);
}
