//! Stable memory from outside the canister (`get_stable_memory` / `set_stable_memory`, as in
//! pocket-ic): what a canister wrote is read back, what is set is what the canister then reads,
//! an image survives upgrades (and moves a state to another canister), sizes round up to whole
//! 64 KiB pages, accounting and `save_state` see the change, and no later trap undoes it.

mod common;

use candid::{Nat, Principal};
use common::*;
use localnet::LocalNet;
use serde_bytes::ByteBuf;

const PAGE: usize = 64 * 1024;

fn put(net: &LocalNet, id: Principal, k: &str, v: &str) {
    let (_,): (Option<String>,) = net.update_candid(id, "put", (k, v)).unwrap();
}

fn get_value(net: &LocalNet, id: Principal, k: &str) -> Option<String> {
    net.query_candid::<_, (Option<String>,)>(id, "get_value", (k,)).unwrap().0
}

fn raw_write(net: &LocalNet, id: Principal, offset: u64, data: &[u8]) {
    net.update_candid::<_, ()>(id, "raw_write", (offset, ByteBuf::from(data.to_vec()))).unwrap();
}

fn raw_read(net: &LocalNet, id: Principal, offset: u64, len: u64) -> Vec<u8> {
    net.query_candid::<_, (ByteBuf,)>(id, "raw_read", (offset, len)).unwrap().0.into_vec()
}

/// Where `needle` is in `hay`; it must be there exactly once.
fn find_once(hay: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> = hay.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect();
    assert_eq!(hits.len(), 1, "{:?} should occur once in the image, found at {hits:?}", String::from_utf8_lossy(needle));
    hits[0]
}

fn stable_size(net: &LocalNet, id: Principal) -> u64 {
    net.memory_sizes(id).unwrap().1
}

const MARK: &[u8] = b"localnet-stable-mark-0123456789";
const OTHER: &[u8] = b"LOCALNET-STABLE-MARK-9876543210";

#[test]
fn what_a_canister_wrote_is_read_from_outside() {
    let net = LocalNet::new();
    let id = install(&net, "stable_user", ());
    assert!(net.get_stable_memory(id).is_empty(), "stable_user touches stable memory on first use only");
    put(&net, id, "alice", "value-of-alice-in-the-btree");
    raw_write(&net, id, 70_000, MARK);
    let image = net.get_stable_memory(id);
    assert_eq!(image.len() % PAGE, 0);
    assert_eq!(image.len() as u64, stable_size(&net, id));
    // MemoryManager header first, then the buckets of the map and of the raw region.
    assert_eq!(&image[..3], b"MGR");
    find_once(&image, MARK);
    find_once(&image, b"value-of-alice-in-the-btree");
    // Reading changes nothing, and a query's writes are never seen.
    assert_eq!(net.get_stable_memory(id), image);
}

#[test]
fn what_is_set_is_what_the_canister_reads_and_no_trap_undoes_it() {
    let net = LocalNet::new();
    let id = install(&net, "stable_user", ());
    raw_write(&net, id, 70_000, MARK);
    let mut image = net.get_stable_memory(id);
    let at = find_once(&image, MARK);
    image[at..at + OTHER.len()].copy_from_slice(OTHER);
    let version = net.canister_status(id, None).unwrap().version;
    net.set_stable_memory(id, &image);
    assert_eq!(net.get_stable_memory(id), image);
    // The canister reads the new bytes at once (only data bytes changed, not the layout its
    // MemoryManager keeps on the heap).
    assert_eq!(raw_read(&net, id, 70_000, OTHER.len() as u64), OTHER);
    assert_eq!(net.canister_status(id, None).unwrap().version, version, "no install happened");

    // A later trap rolls back its own writes only: the outside write stays.
    net.update_candid::<_, ()>(id, "raw_write_then_trap", (70_000u64, ByteBuf::from(MARK.to_vec()))).unwrap_err();
    assert_eq!(raw_read(&net, id, 70_000, OTHER.len() as u64), OTHER);
    assert_eq!(net.get_stable_memory(id), image);
    // So does a failed upgrade, whose stable writes are journaled across pre/post_upgrade.
    net.upgrade_canister(id, wasm("counter"), b"not candid".to_vec(), None).unwrap_err();
    assert_eq!(net.get_stable_memory(id), image);
    // And the canister goes on from the set state.
    raw_write(&net, id, 70_000 + OTHER.len() as u64, b"!");
    assert_eq!(raw_read(&net, id, 70_000, OTHER.len() as u64 + 1), [OTHER, b"!"].concat());
}

#[test]
fn a_set_image_survives_an_upgrade_and_moves_a_state_to_another_canister() {
    let net = LocalNet::new();
    let a = install(&net, "stable_user", ());
    put(&net, a, "alice", "1");
    put(&net, a, "bob", "2");
    raw_write(&net, a, 200_000, MARK);
    let image = net.get_stable_memory(a);

    // b has its own (different) state, cached on its heap by the MemoryManager: set the image,
    // then upgrade so that the new code reads it from the start, as pocket-ic advises.
    let b = install(&net, "stable_user", ());
    put(&net, b, "carol", "3");
    net.set_stable_memory(b, &image);
    net.upgrade_canister(b, wasm("stable_user"), candid::encode_args(()).unwrap(), None).unwrap();
    assert_eq!(net.get_stable_memory(b), image, "the upgrade keeps stable memory as set");
    assert_eq!(get_value(&net, b, "alice").as_deref(), Some("1"));
    assert_eq!(get_value(&net, b, "bob").as_deref(), Some("2"));
    assert_eq!(get_value(&net, b, "carol"), None);
    assert_eq!(net.query_candid::<_, (u64,)>(b, "len", ()).unwrap().0, 2);
    assert_eq!(raw_read(&net, b, 200_000, MARK.len() as u64), MARK);
    // a is untouched, and b lives on from the copied state.
    put(&net, b, "dave", "4");
    assert_eq!(get_value(&net, a, "dave"), None);
    assert_eq!(net.get_stable_memory(a), image);

    // Setting a canister's own image back changes nothing (pocket-ic's `set(get())` rule).
    let before = net.get_stable_memory(b);
    net.set_stable_memory(b, &before);
    assert_eq!(net.get_stable_memory(b), before);
    assert_eq!(get_value(&net, b, "dave").as_deref(), Some("4"));
}

#[test]
fn the_size_rounds_up_to_whole_pages_may_shrink_and_is_accounted() {
    let net = LocalNet::new();
    let id = install(&net, "stable_user", ());
    net.update_candid::<_, ()>(id, "fill_stable_mib", (2u32,)).unwrap();
    assert!(stable_size(&net, id) > 2 << 20);
    let status_stable = |net: &LocalNet| net.canister_status(id, None).unwrap().memory_metrics.stable_memory_size;
    let memory_size = |net: &LocalNet| net.canister_status(id, None).unwrap().memory_size;
    let total_before = memory_size(&net);

    // 70,000 bytes take two pages; the rest of the second page is zero. The memory shrinks.
    let data: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8 + 1).collect();
    net.set_stable_memory(id, &data);
    let back = net.get_stable_memory(id);
    assert_eq!(back.len(), 2 * PAGE);
    assert_eq!(&back[..data.len()], &data[..]);
    assert!(back[data.len()..].iter().all(|&b| b == 0));
    assert_eq!(stable_size(&net, id), 2 * PAGE as u64);
    assert_eq!(status_stable(&net), Nat::from(2 * PAGE as u64));
    assert!(memory_size(&net) < total_before, "{} < {}", memory_size(&net), total_before);

    // It grows too: 3 MiB + 1 byte is 49 pages.
    net.set_stable_memory(id, &vec![5u8; (3 << 20) + 1]);
    assert_eq!(stable_size(&net, id), 49 * PAGE as u64);
    assert_eq!(status_stable(&net), Nat::from(49 * PAGE as u64));

    // And an empty image leaves no stable memory at all.
    net.set_stable_memory(id, &[]);
    assert!(net.get_stable_memory(id).is_empty());
    assert_eq!(status_stable(&net), Nat::from(0u32));
}

#[test]
fn save_state_keeps_what_was_set() {
    let dir = std::env::temp_dir().join(format!("localnet-stable-access-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let net = LocalNet::new();
    let id = install(&net, "stable_user", ());
    raw_write(&net, id, 70_000, MARK);
    let mut image = net.get_stable_memory(id);
    let at = find_once(&image, MARK);
    image[at..at + OTHER.len()].copy_from_slice(OTHER);
    image.extend(std::iter::repeat_n(0u8, 5 * PAGE)); // trailing zero pages are kept as holes
    net.set_stable_memory(id, &image);
    net.save_state(&dir).unwrap();
    let loaded = LocalNet::builder().load_state(&dir).unwrap();
    assert_eq!(loaded.get_stable_memory(id), image);
    assert_eq!(raw_read(&loaded, id, 70_000, OTHER.len() as u64), OTHER);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[should_panic(expected = "does not exist")]
fn get_of_an_unknown_canister_panics_like_pocket_ic() {
    LocalNet::new().get_stable_memory(Principal::from_slice(&[9; 10]));
}

#[test]
#[should_panic(expected = "does not exist")]
fn set_of_an_unknown_canister_panics_like_pocket_ic() {
    LocalNet::new().set_stable_memory(Principal::from_slice(&[9; 10]), b"x");
}

#[test]
#[should_panic(expected = "has no module")]
fn get_of_an_empty_canister_panics_like_pocket_ic() {
    let net = LocalNet::new();
    let id = net.create_canister();
    net.get_stable_memory(id);
}

#[test]
#[should_panic(expected = "has no module")]
fn set_of_an_uninstalled_canister_panics_like_pocket_ic() {
    let net = LocalNet::new();
    let id = install(&net, "stable_user", ());
    net.uninstall_canister(id, None).unwrap();
    net.set_stable_memory(id, b"x");
}
