//! State on disk: `LocalNet::save_state` and `LocalNetBuilder::load_state` keep canisters
//! (code, heap, globals, stable memory, cycles, settings, snapshots, ...), time, ids and
//! messages in flight across a restart; broken states are refused with a precise error.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use candid::{CandidType, Deserialize, Principal};
use common::*;
use ic_management_canister_types::{CanisterSettings, EnvironmentVariable, LogVisibility};
use localnet::{canister_id_from_u64, Certifier, FeeSchedule, InstructionLimits, LocalNet, StateError};
use serde_bytes::ByteBuf;

const SEC: u64 = 1_000_000_000;

/// A fresh directory for one test (removed first if a previous run left it).
fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("localnet-persist-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn reload(net: &LocalNet, dir: &Path) -> LocalNet {
    net.save_state(dir).unwrap();
    LocalNet::builder().load_state(dir).unwrap_or_else(|e| panic!("load_state: {e}"))
}

fn load_err(dir: &Path) -> StateError {
    match LocalNet::builder().load_state(dir) {
        Ok(_) => panic!("loading {} should fail", dir.display()),
        Err(e) => e,
    }
}

fn get(net: &LocalNet, id: Principal) -> u64 {
    net.query_candid::<_, (u64,)>(id, "get", ()).unwrap().0
}

fn inc(net: &LocalNet, id: Principal) -> u64 {
    net.update_candid::<_, (u64,)>(id, "inc", ()).unwrap().0
}

fn args<A: candid::utils::ArgumentEncoder>(a: A) -> ByteBuf {
    ByteBuf::from(candid::encode_args(a).unwrap())
}

/// Everything observable about a canister from outside, for before/after comparisons.
#[derive(Debug, PartialEq)]
struct Observed {
    status: ic_management_canister_types::CanisterStatusResult,
    cycles: u128,
    controllers: Vec<Principal>,
    certified_data: Option<Vec<u8>>,
    module_hash: Option<[u8; 32]>,
    memory: Option<(u64, u64)>,
    snapshots: Vec<ic_management_canister_types::Snapshot>,
    logs: Vec<localnet::CanisterLogRecord>,
    chunks: Vec<Vec<u8>>,
}

fn observe(net: &LocalNet, id: Principal) -> Observed {
    Observed {
        status: net.canister_status(id, None).unwrap(),
        cycles: net.cycle_balance(id),
        controllers: net.get_controllers(id),
        certified_data: net.certified_data(id),
        module_hash: net.module_hash(id),
        memory: net.memory_sizes(id),
        snapshots: net.list_canister_snapshots(id, None).unwrap(),
        logs: net.fetch_canister_logs(id, owner()).unwrap(),
        chunks: net.stored_chunks(id, None).unwrap(),
    }
}

/// Every file under `dir` with its contents, to show that a failed load changed nothing.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

fn canister_dir(state: &Path, id: Principal) -> PathBuf {
    state.join("canisters").join(id.to_text())
}

#[test]
fn a_counter_keeps_heap_cycles_settings_certified_data_logs_chunks_and_snapshots() {
    let dir = temp("counter");
    let a = LocalNet::new();
    let id = install(&a, "counter", (Some(10u64),));
    assert_eq!(inc(&a, id), 11);
    a.update_candid::<_, ()>(id, "set_certified_data", (ByteBuf::from(b"certified!".to_vec()),)).unwrap();
    a.update_candid::<_, ()>(id, "log", ("before the save",)).unwrap();
    let settings = CanisterSettings {
        controllers: Some(vec![owner(), user(1)]),
        freezing_threshold: Some(1_000_000u64.into()),
        log_visibility: Some(LogVisibility::AllowedViewers(vec![user(2)])),
        environment_variables: Some(vec![EnvironmentVariable { name: "MODE".into(), value: "dev".into() }]),
        ..Default::default()
    };
    a.update_canister_settings(id, None, settings).unwrap();
    a.upload_chunk(id, None, vec![7; 1000]).unwrap();
    let snap = a.take_canister_snapshot(id, None, None).unwrap();
    assert_eq!(inc(&a, id), 12);
    assert_eq!(get(&a, id), 12); // counted in the query stats
    a.advance_time(Duration::from_secs(5));
    a.tick();

    let before = observe(&a, id);
    let b = reload(&a, &dir);
    assert_eq!(observe(&b, id), before);
    assert_eq!((b.get_time_nanos(), b.round()), (a.get_time_nanos(), a.round()));
    assert_eq!(b.canister_ids(), vec![id]);

    // Both nets go on identically: same replies, same cycles, same status.
    for net in [&a, &b] {
        assert_eq!(get(net, id), 12);
        let (mode,): (Option<String>,) = net.update_candid(id, "env_var", ("MODE",)).unwrap();
        assert_eq!(mode.as_deref(), Some("dev"));
        assert_eq!(inc(net, id), 13);
        net.advance_time(Duration::from_secs(60));
        net.tick();
    }
    assert_eq!(observe(&b, id), observe(&a, id));

    // The snapshot loads, and an upgrade runs pre_upgrade/post_upgrade on the restored heap.
    let version = b.canister_status(id, None).unwrap().version;
    b.load_canister_snapshot(id, None, snap.id).unwrap();
    assert_eq!(get(&b, id), 11);
    assert_eq!(b.certified_data(id).unwrap(), b"certified!");
    b.upgrade_canister(id, wasm("counter"), candid::encode_args((None::<u64>,)).unwrap(), None).unwrap();
    assert_eq!(get(&b, id), 11, "counter carries its count through stable memory");
    assert_eq!(b.canister_status(id, None).unwrap().version, version + 2);
    assert_eq!(inc(&b, id), 12);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stable_memory_and_a_large_heap_survive_as_raw_files() {
    let dir = temp("stable");
    let a = LocalNet::new();
    let id = install(&a, "stable_user", ());
    let (_,): (Option<String>,) = a.update_candid(id, "put", ("alice", "1")).unwrap();
    a.update_candid::<_, ()>(id, "raw_write", (0u64, ByteBuf::from(b"head".to_vec()))).unwrap();
    let far = 3u64 << 20;
    a.update_candid::<_, ()>(id, "raw_write", (far, ByteBuf::from(b"deep".to_vec()))).unwrap();
    a.update_candid::<_, ()>(id, "grow_heap_mib", (3u32,)).unwrap();
    for _ in 0..2 {
        a.update_candid::<_, (u64,)>(id, "inc_small", ()).unwrap();
    }
    let before = observe(&a, id);
    let (heap, stable) = a.memory_sizes(id).unwrap();
    assert!(heap > 3 << 20 && stable > far, "{heap} {stable}");

    let b = reload(&a, &dir);
    assert_eq!(observe(&b, id), before);
    let files = canister_dir(&dir, id);
    assert_eq!(std::fs::metadata(files.join("heap.bin")).unwrap().len(), heap);
    assert_eq!(std::fs::metadata(files.join("stable.bin")).unwrap().len(), stable);
    let value = |net: &LocalNet| net.query_candid::<_, (Option<String>,)>(id, "get_value", ("alice",)).unwrap().0;
    assert_eq!(value(&b).as_deref(), Some("1"));
    let read = |net: &LocalNet, at: u64| net.query_candid::<_, (ByteBuf,)>(id, "raw_read", (at, 4u64)).unwrap().0.into_vec();
    assert_eq!(read(&b, 0), b"head");
    assert_eq!(read(&b, far), b"deep");
    assert_eq!(
        b.query_candid::<_, (u64,)>(id, "raw_size_pages", ()).unwrap(),
        a.query_candid::<_, (u64,)>(id, "raw_size_pages", ()).unwrap()
    );
    assert_eq!(b.update_candid::<_, (u64,)>(id, "inc_small", ()).unwrap().0, 3, "the heap counter goes on");
    // A trap after the load still rolls back to the loaded state.
    b.update_candid::<_, ()>(id, "raw_write_then_trap", (0u64, ByteBuf::from(b"XXXX".to_vec()))).unwrap_err();
    assert_eq!(read(&b, 0), b"head");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[derive(CandidType, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    once: u64,
    last_fired_ns: u64,
    periodic: u64,
}

#[test]
fn armed_timers_fire_after_a_load_as_they_would_have() {
    let dir = temp("timers");
    let a = LocalNet::new();
    let id = install(&a, "timer_user", (Some(4u64),));
    a.update_candid::<_, ()>(id, "schedule_once", (10u64,)).unwrap();
    let b = reload(&a, &dir);
    let counts = |net: &LocalNet| net.query_candid::<_, (Counts,)>(id, "counts", ()).unwrap().0;
    let t0 = a.get_time_nanos();
    for (secs, once, periodic) in [(5, 0, 1), (9, 0, 2), (11, 1, 2)] {
        for net in [&a, &b] {
            net.advance_time(Duration::from_nanos(t0 + secs * SEC - net.get_time_nanos()));
            net.run_until_idle(100);
        }
        let c = counts(&b);
        assert_eq!(c, counts(&a));
        assert_eq!((c.once, c.periodic), (once, periodic), "at {secs} s: {c:?}");
    }
    assert!(counts(&b).last_fired_ns >= t0 + 10 * SEC);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[derive(CandidType, Deserialize, Debug, Clone, PartialEq)]
struct CallError {
    code: u32,
    message: String,
}

type Outcome = Result<ByteBuf, CallError>;

#[test]
fn messages_in_flight_callbacks_deadlines_and_ingress_results_survive() {
    let dir = temp("in-flight");
    let a = LocalNet::new();
    let counter = install(&a, "counter", (Some(10u64),));
    let caller = install(&a, "async_caller", ());
    // A finished call whose result nobody has fetched yet.
    let done = a.submit_call(counter, user(1), "inc", candid::encode_args(()).unwrap()).unwrap();
    a.run_until_idle(10);
    // Two calls halfway: the caller ran and sent its requests (one bounded-wait), their
    // callbacks are open and the requests are queued for the counter.
    let raw = a
        .submit_call(caller, user(1), "call_raw", candid::encode_args((counter, "inc", args(()))).unwrap())
        .unwrap();
    let bounded = a
        .submit_call(caller, user(1), "call_bounded", candid::encode_args((counter, "inc", args(()), 60u32)).unwrap())
        .unwrap();
    a.tick();
    assert!(a.has_work());
    assert_eq!(a.ingress_status(raw), None);

    let b = reload(&a, &dir);
    assert!(b.has_work());
    assert_eq!(b.ingress_status(done), a.ingress_status(done));
    let (n,): (u64,) = candid::decode_args(&b.ingress_status(done).unwrap().unwrap()).unwrap();
    assert_eq!(n, 11);
    for net in [&a, &b] {
        let (r,): (Outcome,) = candid::decode_args(&net.await_call(raw).unwrap()).unwrap();
        assert_eq!(candid::decode_args::<(u64,)>(&r.unwrap()).unwrap().0, 12);
        let (r,): (Outcome,) = candid::decode_args(&net.await_call(bounded).unwrap()).unwrap();
        assert_eq!(candid::decode_args::<(u64,)>(&r.unwrap()).unwrap().0, 13);
        assert!(!net.has_work());
    }
    assert_eq!(observe(&b, caller), observe(&a, caller));
    assert_eq!(observe(&b, counter), observe(&a, counter));
    // New ingress ids do not collide with the saved ones.
    let next = b.submit_call(counter, user(1), "inc", candid::encode_args(()).unwrap()).unwrap();
    assert!(next.0 > bounded.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn time_ids_rounds_and_the_seeded_generator_continue() {
    let dir = temp("ids");
    let a = LocalNet::builder().with_seed(7).build();
    let caller = install(&a, "async_caller", ());
    let empty = a.create_canister();
    a.advance_time(Duration::from_secs(3600));
    a.tick();
    a.save_state(&dir).unwrap();
    // with_time and with_seed do not apply to a loaded state: it carries its own.
    let b = LocalNet::builder().with_time(UNIX_EPOCH).with_seed(99).load_state(&dir).unwrap();
    assert_eq!(b.get_time(), a.get_time());
    assert_eq!(b.round(), a.round());
    assert_eq!(b.canister_ids(), vec![caller, empty]);
    let (ra,): (ByteBuf,) = a.update_candid(caller, "raw_rand", ()).unwrap();
    let (rb,): (ByteBuf,) = b.update_candid(caller, "raw_rand", ()).unwrap();
    assert_eq!(ra, rb, "raw_rand continues from the saved generator state");
    let fresh = b.create_canister();
    assert_eq!(fresh, a.create_canister());
    assert_eq!(fresh, canister_id_from_u64(2));
    assert!(![caller, empty].contains(&fresh));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn canisters_without_code_round_trip() {
    let dir = temp("empty");
    let a = LocalNet::new();
    let settings = CanisterSettings { freezing_threshold: Some(12_345u64.into()), ..Default::default() };
    let never = a.create_canister_with_settings(Some(user(3)), Some(settings));
    let uninstalled = install(&a, "counter", (None::<u64>,));
    a.uninstall_canister(uninstalled, None).unwrap();
    let stopped = a.create_canister();
    a.stop_canister(stopped, None).unwrap();

    let b = reload(&a, &dir);
    assert!(!canister_dir(&dir, never).join("heap.bin").exists());
    assert_eq!(b.module_hash(never), None);
    assert_eq!(b.module_hash(uninstalled), None);
    assert_eq!(b.canister_status(never, Some(user(3))).unwrap(), a.canister_status(never, Some(user(3))).unwrap());
    assert_eq!(observe(&b, uninstalled), observe(&a, uninstalled));
    assert_eq!(observe(&b, stopped), observe(&a, stopped));
    assert_eq!(b.canister_status(uninstalled, None).unwrap().version, 2);
    let err = b.update_call(stopped, user(1), "inc", vec![]).unwrap_err();
    assert_eq!(err.error_code, localnet::ErrorCode::CanisterStopped);
    // Code installs into the loaded empty canister as into any.
    b.install_canister(uninstalled, wasm("counter"), candid::encode_args((Some(4u64),)).unwrap(), None);
    assert_eq!(inc(&b, uninstalled), 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

struct KeyedCertifier;

impl Certifier for KeyedCertifier {
    fn root_key(&self) -> Vec<u8> {
        vec![0x30, 0x01, 0x02, 0x03, 0x04]
    }
    fn data_certificate(&self, _: Principal, _: &[u8], _: u64) -> Vec<u8> {
        vec![0xd9, 0xd9, 0xf7]
    }
}

#[test]
fn fees_limits_and_certifier_come_from_the_builder() {
    let dir = temp("builder");
    let a = LocalNet::new();
    install(&a, "counter", (None::<u64>,));
    a.save_state(&dir).unwrap();
    let fees = FeeSchedule { canister_creation_fee: 1, ..a.fee_schedule() };
    let limits = InstructionLimits { update: 1_000_000, ..InstructionLimits::IC };
    let b = LocalNet::builder()
        .with_fees(fees)
        .with_instruction_limits(limits)
        .with_certifier(Arc::new(KeyedCertifier))
        .load_state(&dir)
        .unwrap();
    assert_eq!(b.fee_schedule(), fees);
    assert_eq!(b.root_key(), KeyedCertifier.root_key());
    assert_eq!(b.subnet_id(), Principal::self_authenticating(KeyedCertifier.root_key()));
    let id = b.canister_ids()[0];
    let err = b.update_candid::<_, (u64,)>(id, "burn_instructions", (10_000_000u64,)).unwrap_err();
    assert!(err.to_string().contains("instruction"), "the builder's lower limit applies: {err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_or_empty_directory_means_no_saved_state() {
    let base = temp("missing");
    let e = load_err(&base.join("never-saved"));
    assert!(e.is_not_found() && matches!(e, StateError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("never-saved"), "{e}");
    std::fs::create_dir(base.join("empty")).unwrap();
    assert!(load_err(&base.join("empty")).is_not_found());
    // A directory with other files is not a state, and saving does not replace it.
    let notes = base.join("notes");
    std::fs::create_dir(&notes).unwrap();
    std::fs::write(notes.join("todo.txt"), "keep me").unwrap();
    let e = load_err(&notes);
    assert!(matches!(e, StateError::Corrupt { ref path, .. } if path.ends_with("manifest.json")), "{e}");
    let e = LocalNet::new().save_state(&notes).unwrap_err();
    assert!(matches!(e, StateError::NotAState { .. }), "{e}");
    assert_eq!(std::fs::read_to_string(notes.join("todo.txt")).unwrap(), "keep me");
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn broken_states_give_specific_errors_and_are_left_as_they_are() {
    let base = temp("broken");
    let a = LocalNet::new();
    let id = install(&a, "counter", (Some(1u64),));
    let good = base.join("good");
    a.save_state(&good).unwrap();

    // Each case: a copy of the good state, broken one way.
    let case = |name: &str, breaks: &dyn Fn(&Path)| -> (StateError, PathBuf) {
        let dir = base.join(name);
        copy_tree(&good, &dir);
        breaks(&dir);
        let files = tree(&dir);
        let e = load_err(&dir);
        assert_eq!(tree(&dir), files, "a failed load changes nothing ({name})");
        (e, dir)
    };

    let (e, dir) = case("manifest", &|d| std::fs::write(d.join("manifest.json"), "{\"format\": \"localnet-st").unwrap());
    assert!(matches!(e, StateError::Corrupt { ref path, .. } if *path == dir.join("manifest.json")), "{e}");
    assert!(e.to_string().contains("manifest.json") && e.to_string().contains("cannot be parsed"), "{e}");

    let (e, _) = case("version", &|d| {
        let m = std::fs::read_to_string(d.join("manifest.json")).unwrap();
        std::fs::write(d.join("manifest.json"), m.replace("\"version\": 1", "\"version\": 2")).unwrap();
    });
    assert!(matches!(e, StateError::Version { found: 2, expected: 1, .. }), "{e}");
    assert!(e.to_string().contains("format version 2"), "{e}");

    let heap_len = std::fs::metadata(canister_dir(&good, id).join("heap.bin")).unwrap().len();
    let (e, dir) = case("truncated-heap", &|d| {
        let f = std::fs::OpenOptions::new().write(true).open(canister_dir(d, id).join("heap.bin")).unwrap();
        f.set_len(heap_len / 2).unwrap();
    });
    match &e {
        StateError::Truncated { path, expected, found } => {
            assert_eq!(*path, canister_dir(&dir, id).join("heap.bin"));
            assert_eq!((*expected, *found), (heap_len, heap_len / 2));
        }
        other => panic!("expected Truncated, got {other}"),
    }
    assert!(e.to_string().contains("heap.bin: truncated"), "{e}");

    let (e, _) = case("longer-heap", &|d| {
        let f = std::fs::OpenOptions::new().write(true).open(canister_dir(d, id).join("heap.bin")).unwrap();
        f.set_len(heap_len + 65536).unwrap();
    });
    assert!(matches!(e, StateError::Corrupt { ref path, .. } if path.ends_with("heap.bin")), "{e}");

    let (e, _) = case("flipped-heap", &|d| {
        let p = canister_dir(d, id).join("heap.bin");
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[100] ^= 0xff;
        std::fs::write(&p, bytes).unwrap();
    });
    assert!(e.to_string().contains("heap.bin") && e.to_string().contains("SHA-256"), "{e}");

    let (e, _) = case("module", &|d| {
        for m in std::fs::read_dir(d.join("modules")).unwrap() {
            std::fs::write(m.unwrap().path(), b"\0asm not really").unwrap();
        }
    });
    assert!(matches!(e, StateError::Module { canister: Some(c), .. } if c == id), "{e}");
    assert!(e.to_string().contains(".wasm"), "{e}");

    let (e, _) = case("metadata", &|d| {
        let p = canister_dir(d, id).join("canister.cbor");
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    });
    assert!(e.to_string().contains("canister.cbor") && e.to_string().contains("truncated"), "{e}");

    let (e, _) = case("no-net", &|d| std::fs::remove_file(d.join("net.cbor")).unwrap());
    assert!(e.to_string().contains("net.cbor") && e.to_string().contains("missing"), "{e}");

    // The untouched copy still loads.
    assert_eq!(get(&LocalNet::builder().load_state(&good).unwrap(), id), 1);
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn saving_over_a_state_replaces_it_atomically() {
    let base = temp("replace");
    let dir = base.join("state");
    let a = LocalNet::new();
    let first = install(&a, "counter", (Some(1u64),));
    a.save_state(&dir).unwrap();
    std::fs::write(dir.join("stray"), "from before").unwrap();

    // A save that crashed half-way left its working directory: loading ignores it.
    let saving = base.join(".state.saving");
    std::fs::create_dir_all(saving.join("canisters")).unwrap();
    std::fs::write(saving.join("net.cbor"), "half").unwrap();
    assert_eq!(LocalNet::builder().load_state(&dir).unwrap().canister_ids(), vec![first]);

    let second = install(&a, "counter", (Some(2u64),));
    inc(&a, first);
    a.save_state(&dir).unwrap();
    let b = LocalNet::builder().load_state(&dir).unwrap();
    assert_eq!(b.canister_ids(), vec![first, second]);
    assert_eq!((get(&b, first), get(&b, second)), (2, 2));
    assert!(!dir.join("stray").exists(), "the old state was replaced as a whole, not merged");
    let mut left: Vec<_> = std::fs::read_dir(&base).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, vec![std::ffi::OsString::from("state")], "no working or previous directory is left");

    // Saving what was loaded gives the same state again.
    let again = base.join("again");
    b.save_state(&again).unwrap();
    let c = LocalNet::builder().load_state(&again).unwrap();
    for id in [first, second] {
        assert_eq!(observe(&c, id), observe(&b, id));
    }
    std::fs::remove_dir_all(&base).unwrap();
}
