//! The PocketIC API itself, with the `counter` test canister: canisters, calls, rejections,
//! rounds, time, cycles, controllers, topology, status, lifecycle and a chunked install; stable
//! memory read and set from outside, with the `stable_user` test canister.
//! Written against `pocket_ic` only: it runs on localnet's PocketIC server and on DFINITY's.

use std::time::Duration;

use candid::{decode_one, encode_args, encode_one, Principal};
use pocket_ic::common::rest::BlobCompression;
use pocket_ic::{
    query_candid, update_candid, update_candid_as, CanisterSettings, ErrorCode, IngressStatusResult, RejectCode,
};
use ic_management_canister_types::CanisterStatusType;
use pocketic_tests::{pic, raw_wasm, sha256, user, wasm, with_custom_section};

fn counter(pic: &pocket_ic::PocketIc, initial: u64) -> Principal {
    let id = pic.create_canister();
    pic.install_canister(id, wasm("counter"), encode_one(Some(initial)).unwrap(), None);
    id
}

#[test]
fn updates_queries_and_rejections() {
    let pic = pic();
    let c = counter(&pic, 41);
    let (n,): (u64,) = update_candid(&pic, c, "inc", ()).unwrap();
    assert_eq!(n, 42);
    let (n,): (u64,) = query_candid(&pic, c, "get", ()).unwrap();
    assert_eq!(n, 42);
    // A query's state change is discarded.
    let (n,): (u64,) = query_candid(&pic, c, "inc_in_query", ()).unwrap();
    assert_eq!(n, 43);
    assert_eq!(query_candid::<_, (u64,)>(&pic, c, "get", ()).unwrap().0, 42);
    // The caller is whoever the test says.
    let ada = user(1, 1);
    let (me,): (Principal,) = pocket_ic::query_candid_as(&pic, c, ada, "whoami", ()).unwrap();
    assert_eq!(me, ada);

    // A trap: rolled back, and reported as the replica reports it.
    let e = pic.update_call(c, ada, "inc_then_trap", encode_args(()).unwrap()).unwrap_err();
    assert_eq!((e.reject_code, e.error_code), (RejectCode::CanisterError, ErrorCode::CanisterCalledTrap), "{e}");
    assert!(e.reject_message.contains("inc_then_trap: trapping after incrementing to 43"), "{}", e.reject_message);
    assert_eq!(query_candid::<_, (u64,)>(&pic, c, "get", ()).unwrap().0, 42);
    let e = pic.update_call(c, ada, "trap", encode_one("boom").unwrap()).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterCalledTrap);
    assert!(e.reject_message.contains("boom"));

    // The canister's own reject.
    let e = pic.update_call(c, ada, "reject", encode_one("no thanks").unwrap()).unwrap_err();
    assert_eq!((e.reject_code, e.error_code), (RejectCode::CanisterReject, ErrorCode::CanisterRejectedMessage));
    assert_eq!(e.reject_message, "no thanks");

    // Methods that do not exist, a canister that does not exist, a message inspect_message refuses.
    let e = pic.update_call(c, ada, "no_such_method", encode_args(()).unwrap()).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterMethodNotFound, "{e}");
    let e = pic.query_call(c, ada, "no_such_query", encode_args(()).unwrap()).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterMethodNotFound, "{e}");
    let nobody = Principal::from_text("rrkah-fqaaa-aaaaa-aaaaq-cai").unwrap();
    assert!(!pic.canister_exists(nobody));
    let e = pic.query_call(nobody, ada, "get", encode_args(()).unwrap()).unwrap_err();
    assert_eq!((e.reject_code, e.error_code), (RejectCode::DestinationInvalid, ErrorCode::CanisterNotFound), "{e}");
    let e = pic.update_call(nobody, ada, "inc", encode_args(()).unwrap()).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterNotFound, "{e}");
    let e = pic.submit_call(c, ada, "blocked_by_inspect", encode_args(()).unwrap()).unwrap_err();
    assert_eq!(e.reject_code, RejectCode::CanisterReject, "{e}");
    // A payload that is not the method's Candid: the canister traps decoding it.
    let e = pic.update_call(c, ada, "set", encode_one("not a number").unwrap()).unwrap_err();
    assert_eq!(e.reject_code, RejectCode::CanisterError, "{e}");
}

#[test]
fn submitted_calls_complete_in_rounds() {
    let pic = pic();
    let c = counter(&pic, 0);
    let ada = user(1, 2);
    let msg = pic.submit_call(c, ada, "inc", encode_args(()).unwrap()).unwrap();
    assert_eq!(pic.ingress_status(msg.clone()), None, "not executed before a round");
    pic.tick();
    let done = pic.ingress_status(msg.clone()).expect("executed in the first round").unwrap();
    assert_eq!(decode_one::<u64>(&done).unwrap(), 1);
    assert!(matches!(pic.ingress_status_as(msg.clone(), ada), IngressStatusResult::Success(Ok(_))));
    assert!(matches!(pic.ingress_status_as(msg.clone(), user(1, 3)), IngressStatusResult::Forbidden(_)));
    assert_eq!(pic.await_call(msg).unwrap(), done, "awaiting a completed call gives its result");

    // Several in flight; await_call runs the rounds.
    let msgs: Vec<_> = (0..5).map(|_| pic.submit_call(c, ada, "inc", encode_args(()).unwrap()).unwrap()).collect();
    let results: Vec<u64> = msgs.into_iter().map(|m| decode_one(&pic.await_call(m).unwrap()).unwrap()).collect();
    assert_eq!(results, vec![2, 3, 4, 5, 6]);
    let e = pic.await_call(pic.submit_call(c, ada, "trap", encode_one("late").unwrap()).unwrap()).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterCalledTrap);
}

#[test]
fn time_cycles_controllers_and_topology() {
    let pic = pic();
    let c = counter(&pic, 0);

    // One application subnet, holding the canister.
    let topology = pic.topology();
    let subnets = topology.get_app_subnets();
    assert_eq!(subnets.len(), 1);
    assert_eq!(pic.get_subnet(c), Some(subnets[0]));
    assert_eq!(topology.get_subnet(c), Some(subnets[0]));
    assert!(pic.canister_exists(c));
    assert_eq!(pic.get_subnet(Principal::from_text("rrkah-fqaaa-aaaaa-aaaaq-cai").unwrap()), None);

    // Time: what the canister sees, moved by the test, never backwards.
    let t0 = pic.get_time();
    let (now,): (u64,) = query_candid(&pic, c, "now", ()).unwrap();
    let t0_ns = t0.as_nanos_since_unix_epoch();
    assert!(now <= t0_ns && t0_ns - now < 1_000_000_000, "a query sees the time of the last round: {now} vs {t0_ns}");
    pic.advance_time(Duration::from_secs(3_600));
    assert_eq!(pic.get_time().as_nanos_since_unix_epoch(), t0.as_nanos_since_unix_epoch() + 3_600_000_000_000);
    pic.tick();
    let (now,): (u64,) = query_candid(&pic, c, "now", ()).unwrap();
    assert!(now >= t0.as_nanos_since_unix_epoch() + 3_600_000_000_000);
    let later = pic.get_time() + Duration::from_secs(86_400);
    pic.set_certified_time(later);
    assert_eq!(pic.get_time(), later);

    // Cycles: 100T at creation, less what was burnt; add_cycles returns the new balance.
    let before = pic.cycle_balance(c);
    assert!(before > 99_000_000_000_000 && before <= 100_000_000_000_000, "{before}");
    let after = pic.add_cycles(c, 1_000_000);
    assert_eq!(after, before + 1_000_000);
    assert_eq!(pic.cycle_balance(c), after);

    // Controllers.
    assert_eq!(pic.get_controllers(c), vec![Principal::anonymous()]);
    let owner = user(2, 1);
    pic.set_controllers(c, None, vec![owner]).unwrap();
    assert_eq!(pic.get_controllers(c), vec![owner]);
    let e = pic.stop_canister(c, None).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterInvalidController, "{e}");
    let (is,): (bool,) = query_candid(&pic, c, "is_controller", (owner,)).unwrap();
    assert!(is);

    // A canister created with settings, by another sender.
    let settings = CanisterSettings { controllers: Some(vec![owner, user(2, 2)]), ..Default::default() };
    let d = pic.create_canister_with_settings(Some(owner), Some(settings));
    let mut controllers = pic.get_controllers(d);
    controllers.sort();
    let mut expected = vec![owner, user(2, 2)];
    expected.sort();
    assert_eq!(controllers, expected);
}

#[test]
fn status_and_lifecycle() {
    let pic = pic();
    let owner = user(3, 1);
    let c = pic.create_canister_with_settings(Some(owner), None);
    let empty = pic.canister_status(c, Some(owner)).unwrap();
    assert_eq!(empty.module_hash, None);
    assert_eq!(empty.status, CanisterStatusType::Running);
    pic.install_canister(c, wasm("counter"), encode_one(Some(7u64)).unwrap(), Some(owner));
    let s = pic.canister_status(c, Some(owner)).unwrap();
    assert_eq!(s.status, CanisterStatusType::Running);
    assert_eq!(s.settings.controllers, vec![owner]);
    assert!(s.module_hash.is_some());
    assert!(s.memory_size > candid::Nat::from(0u64) && s.cycles > candid::Nat::from(0u64));
    assert!(s.version > empty.version);
    let e = pic.canister_status(c, None).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterInvalidController);

    // Upgrade: the counter keeps its count in stable memory.
    let (n,): (u64,) = update_candid_as(&pic, c, owner, "inc", ()).unwrap();
    assert_eq!(n, 8);
    pic.upgrade_canister(c, wasm("counter"), encode_one(None::<u64>).unwrap(), Some(owner)).unwrap();
    assert_eq!(query_candid::<_, (u64,)>(&pic, c, "get", ()).unwrap().0, 8);

    // Stop: calls are refused; start again; stop and delete.
    pic.stop_canister(c, Some(owner)).unwrap();
    assert_eq!(pic.canister_status(c, Some(owner)).unwrap().status, CanisterStatusType::Stopped);
    let e = pic.update_call(c, owner, "inc", encode_args(()).unwrap()).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterStopped, "{e}");
    let e = pic.delete_canister(c, None).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterInvalidController);
    pic.start_canister(c, Some(owner)).unwrap();
    assert_eq!(update_candid_as::<_, (u64,)>(&pic, c, owner, "inc", ()).unwrap().0, 9);
    let e = pic.delete_canister(c, Some(owner)).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterNotStopped, "{e}");
    pic.stop_canister(c, Some(owner)).unwrap();
    pic.delete_canister(c, Some(owner)).unwrap();
    assert!(!pic.canister_exists(c));
    let e = pic.query_call(c, owner, "get", encode_args(()).unwrap()).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterNotFound);

    // Uninstall and reinstall.
    let d = counter(&pic, 3);
    pic.uninstall_canister(d, None).unwrap();
    let e = pic.query_call(d, Principal::anonymous(), "get", encode_args(()).unwrap()).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterWasmModuleNotFound, "{e}");
    pic.reinstall_canister(d, wasm("counter"), encode_one(Some(5u64)).unwrap(), None).unwrap();
    assert_eq!(query_candid::<_, (u64,)>(&pic, d, "get", ()).unwrap().0, 5);
}

#[test]
fn a_module_over_2_mb_installs_in_chunks() {
    let pic = pic();
    // 2.5 MB of custom section: over the ingress limit, so the crate goes through the chunk store.
    let big = with_custom_section(raw_wasm("counter"), "padding", 2_500_000);
    assert!(big.len() > 2_000_000);
    let c = pic.create_canister();
    pic.install_canister(c, big.clone(), encode_one(Some(11u64)).unwrap(), None);
    assert_eq!(query_candid::<_, (u64,)>(&pic, c, "get", ()).unwrap().0, 11);
    let chunks = pic.stored_chunks(c, None).unwrap();
    assert_eq!(chunks.len(), 3, "1 MiB chunks");
    assert_eq!(pic.canister_status(c, None).unwrap().module_hash, Some(sha256(&big)));
    // The same through the explicit chunk API, with another canister's store.
    let d = pic.create_canister();
    pic.clear_chunk_store(c, None).unwrap();
    let hashes: Vec<Vec<u8>> = big.chunks(1 << 20).map(|chunk| pic.upload_chunk(c, None, chunk.to_vec()).unwrap()).collect();
    pic.install_chunked_canister(d, None, pocket_ic::CanisterInstallMode::Install, c, hashes.clone(), sha256(&big), encode_one(Some(12u64)).unwrap())
        .unwrap();
    assert_eq!(query_candid::<_, (u64,)>(&pic, d, "get", ()).unwrap().0, 12);
    // A wrong module hash is refused.
    let e = pic
        .install_chunked_canister(d, None, pocket_ic::CanisterInstallMode::Reinstall, c, hashes, vec![0; 32], encode_one(Some(1u64)).unwrap())
        .unwrap_err();
    assert!(e.reject_message.contains("hash"), "{e}");
}

#[test]
fn live_instances_run_rounds_by_themselves() {
    let pic = pic();
    let c = counter(&pic, 0);
    assert!(!pic.auto_progress_enabled());
    pic.auto_progress();
    assert!(pic.auto_progress_enabled());
    // Time follows the wall clock.
    let wall = pocket_ic::Time::from(std::time::SystemTime::now());
    assert!(pic.get_time().as_nanos_since_unix_epoch() + 60_000_000_000 > wall.as_nanos_since_unix_epoch());
    // A submitted call completes without ticks.
    let msg = pic.submit_call(c, Principal::anonymous(), "inc", encode_args(()).unwrap()).unwrap();
    assert_eq!(decode_one::<u64>(&pic.await_call_no_ticks(msg).unwrap()).unwrap(), 1);
    assert_eq!(update_candid::<_, (u64,)>(&pic, c, "inc", ()).unwrap().0, 2);
    pic.stop_progress();
    assert!(!pic.auto_progress_enabled());
    assert_eq!(update_candid::<_, (u64,)>(&pic, c, "inc", ()).unwrap().0, 3);
}

#[test]
fn an_instance_starts_at_the_time_it_is_given_and_logs_are_readable() {
    let start = pocket_ic::Time::from_nanos_since_unix_epoch(1_700_000_000_000_000_000);
    let pic = pocketic_tests::builder().with_initial_time(start).build();
    assert_eq!(pic.get_time(), start);
    let c = counter(&pic, 0);
    let (now,): (u64,) = query_candid(&pic, c, "now", ()).unwrap();
    assert!(now >= start.as_nanos_since_unix_epoch() && now < start.as_nanos_since_unix_epoch() + 1_000_000_000);
    // fetch_canister_logs: the management canister's query, routed by effective canister id.
    let () = update_candid(&pic, c, "log", ("hello from the counter",)).unwrap();
    let logs = pic.fetch_canister_logs(c, Principal::anonymous()).unwrap();
    assert!(logs.iter().any(|r| r.content == b"hello from the counter"), "{logs:?}");
    let e = pic.fetch_canister_logs(c, user(5, 1)).unwrap_err();
    assert_eq!(e.reject_code, RejectCode::CanisterReject, "{e}");
}

/// The message of a caught panic (the crate panics with the server's error message).
fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}

fn stable_user(pic: &pocket_ic::PocketIc) -> Principal {
    let id = pic.create_canister();
    pic.install_canister(id, wasm("stable_user"), encode_args(()).unwrap(), None);
    id
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// `get_stable_memory` returns what the canister wrote; after `set_stable_memory` the canister
/// reads what was set (at once, and from a fresh start after an upgrade, which keeps it); the
/// memory is the data rounded up to whole 64 KiB pages.
#[test]
fn stable_memory_is_read_and_set_from_outside() {
    const PAGE: usize = 64 * 1024;
    const MARK: &[u8] = b"pocketic-stable-mark-0123456789";
    const OTHER: &[u8] = b"POCKETIC-STABLE-MARK-9876543210";
    let find_once = |image: &[u8], needle: &[u8]| {
        let hits: Vec<usize> = image.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect();
        assert_eq!(hits.len(), 1, "{hits:?}");
        hits[0]
    };
    let pic = pic();
    let ada = user(1, 9);
    let s = stable_user(&pic);
    let raw_read = |id: Principal, len: usize| -> Vec<u8> {
        query_candid::<_, (Vec<u8>,)>(&pic, id, "raw_read", (70_000u64, len as u64)).unwrap().0
    };
    let get_value = |id: Principal, key: &str| -> Option<String> {
        query_candid::<_, (Option<String>,)>(&pic, id, "get_value", (key,)).unwrap().0
    };

    // What the canister wrote (its MemoryManager's header, the map, the raw region).
    update_candid_as::<_, ()>(&pic, s, ada, "raw_write", (70_000u64, MARK.to_vec())).unwrap();
    update_candid_as::<_, (Option<String>,)>(&pic, s, ada, "put", ("alice", "1")).unwrap();
    let mut image = pic.get_stable_memory(s);
    assert!(!image.is_empty() && image.len() % PAGE == 0, "{}", image.len());
    assert_eq!(&image[..3], b"MGR");
    let at = find_once(&image, MARK);

    // Set, uncompressed: the canister reads the new bytes at once.
    image[at..at + OTHER.len()].copy_from_slice(OTHER);
    pic.set_stable_memory(s, image.clone(), BlobCompression::NoCompression);
    assert_eq!(pic.get_stable_memory(s), image);
    assert_eq!(raw_read(s, OTHER.len()), OTHER);
    // A trap afterwards rolls back its own write only.
    pic.update_call(s, ada, "raw_write_then_trap", encode_args((70_000u64, MARK.to_vec())).unwrap()).unwrap_err();
    assert_eq!(raw_read(s, OTHER.len()), OTHER);

    // Set, gzipped, into another canister, then upgrade it: its new code reads the copied state.
    let t = stable_user(&pic);
    update_candid_as::<_, (Option<String>,)>(&pic, t, ada, "put", ("carol", "3")).unwrap();
    pic.set_stable_memory(t, gzip(&image), BlobCompression::Gzip);
    pic.upgrade_canister(t, wasm("stable_user"), encode_args(()).unwrap(), None).unwrap();
    assert_eq!(pic.get_stable_memory(t), image, "an upgrade keeps stable memory");
    assert_eq!(get_value(t, "alice").as_deref(), Some("1"));
    assert_eq!(get_value(t, "carol"), None);
    assert_eq!(raw_read(t, OTHER.len()), OTHER);

    // The size is the data's, rounded up to whole pages (smaller or larger than before).
    let data: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8 + 1).collect();
    pic.set_stable_memory(t, data.clone(), BlobCompression::NoCompression);
    let back = pic.get_stable_memory(t);
    assert_eq!(back.len(), 2 * PAGE);
    assert_eq!(&back[..data.len()], &data[..]);
    assert!(back[data.len()..].iter().all(|&b| b == 0));
    pic.set_stable_memory(t, Vec::new(), BlobCompression::NoCompression);
    assert!(pic.get_stable_memory(t).is_empty());

    // A canister without a module has no stable memory to read or set.
    let empty = pic.create_canister();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pic.get_stable_memory(empty)));
    let message = panic_message(outcome.expect_err("an empty canister has no stable memory"));
    assert!(message.contains("CanisterIsEmpty"), "{message}");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pic.set_stable_memory(empty, b"x".to_vec(), BlobCompression::NoCompression)
    }));
    let message = panic_message(outcome.expect_err("an empty canister has no stable memory"));
    assert!(message.contains("CanisterIsEmpty"), "{message}");
    assert_eq!(get_value(s, "alice").as_deref(), Some("1"), "the instance still works");
}

/// Endpoints a server may not provide answer with a message naming them (the crate panics with
/// it); DFINITY's server provides them all.
#[test]
fn what_a_server_does_not_provide_is_named() {
    let pic = pic();
    let c = counter(&pic, 0);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pic.get_canister_http()));
    match outcome {
        Ok(requests) => assert!(requests.is_empty()),
        Err(panic) => {
            let message = panic_message(panic);
            assert!(message.contains("does not support read/get_canister_http"), "{message}");
        }
    }
    // The instance still works afterwards.
    assert_eq!(update_candid::<_, (u64,)>(&pic, c, "inc", ()).unwrap().0, 1);

    // An instance with subnets a server cannot run is refused with what is missing.
    let outcome = std::panic::catch_unwind(|| pocketic_tests::builder().with_nns_subnet().build().topology());
    match outcome {
        Ok(topology) => assert!(topology.get_nns().is_some()),
        Err(panic) => {
            let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(message.contains("does not support an NNS subnet"), "{message}");
        }
    }
}
