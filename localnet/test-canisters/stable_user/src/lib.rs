//! `stable_user`: exercises stable memory through ic-stable-structures (a `StableBTreeMap` on
//! virtual memory 0) and raw reads/writes/grows of virtual memory 1 of the same
//! `MemoryManager`, plus heap growth and the cost of rolling back dirty pages.

use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, Memory, StableBTreeMap};
use serde_bytes::ByteBuf;
use std::cell::{Cell, RefCell};

const MAP_MEMORY_ID: MemoryId = MemoryId::new(0);
const RAW_MEMORY_ID: MemoryId = MemoryId::new(1);
const WASM_PAGE: u64 = 64 * 1024;
const MIB: u64 = 1 << 20;
/// Largest `fill_stable_mib` / `grow_heap_mib` argument accepted.
const MAX_MIB: u32 = 1024;

type VM = VirtualMemory<DefaultMemoryImpl>;

thread_local! {
    static MEMORY_MANAGER: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());
    static MAP: RefCell<StableBTreeMap<String, String, VM>> =
        RefCell::new(StableBTreeMap::init(MEMORY_MANAGER.with(|m| m.get(MAP_MEMORY_ID))));
    static RAW: VM = MEMORY_MANAGER.with(|m| m.get(RAW_MEMORY_ID));
    static HEAP: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static SMALL: Cell<u64> = const { Cell::new(0) };
}

/// Grows `memory` so that `[0, end)` is addressable; traps when it cannot grow.
fn ensure_size<M: Memory>(memory: &M, end: u64) {
    let needed = end.div_ceil(WASM_PAGE);
    let size = memory.size();
    if needed > size && memory.grow(needed - size) < 0 {
        ic_cdk::trap(format!("stable memory cannot grow to {needed} pages"));
    }
}

fn raw_write_to<M: Memory>(memory: &M, offset: u64, data: &[u8]) {
    let end = offset
        .checked_add(data.len() as u64)
        .unwrap_or_else(|| ic_cdk::trap("raw_write: offset + length overflows"));
    ensure_size(memory, end);
    memory.write(offset, data);
}

fn raw_read_from<M: Memory>(memory: &M, offset: u64, len: u64) -> Vec<u8> {
    let size_bytes = memory.size() * WASM_PAGE;
    match offset.checked_add(len) {
        Some(end) if end <= size_bytes => {
            let mut buf = vec![0; len as usize];
            memory.read(offset, &mut buf);
            buf
        }
        _ => ic_cdk::trap(format!(
            "raw_read: [{offset}, {offset}+{len}) is out of bounds ({size_bytes} bytes)"
        )),
    }
}

/// Non-zero byte for position `i` of a fill pattern.
fn pattern(i: u64) -> u8 {
    (i % 251) as u8 + 1
}

/// Writes `mib` MiB of the non-zero pattern at offset 0 of `memory`, 64 KiB at a time.
fn fill<M: Memory>(memory: &M, mib: u32) {
    let total = mib as u64 * MIB;
    ensure_size(memory, total);
    let chunk: Vec<u8> = (0..WASM_PAGE).map(pattern).collect();
    let mut offset = 0;
    while offset < total {
        memory.write(offset, &chunk);
        offset += WASM_PAGE;
    }
}

fn check_mib(mib: u32) {
    if mib > MAX_MIB {
        ic_cdk::trap(format!("at most {MAX_MIB} MiB at a time"));
    }
}

// ---- StableBTreeMap ------------------------------------------------------------------------

#[ic_cdk::update]
fn put(key: String, value: String) -> Option<String> {
    MAP.with_borrow_mut(|m| m.insert(key, value))
}

#[ic_cdk::query]
fn get_value(key: String) -> Option<String> {
    MAP.with_borrow(|m| m.get(&key))
}

#[ic_cdk::query]
fn len() -> u64 {
    MAP.with_borrow(|m| m.len())
}

// ---- raw stable memory (virtual memory 1) ---------------------------------------------------

/// Writes `data` at `offset`, growing the region as needed.
#[ic_cdk::update]
fn raw_write(offset: u64, data: ByteBuf) {
    RAW.with(|r| raw_write_to(r, offset, &data));
}

/// Reads `len` bytes at `offset`; traps when out of bounds.
#[ic_cdk::query]
fn raw_read(offset: u64, len: u64) -> ByteBuf {
    ByteBuf::from(RAW.with(|r| raw_read_from(r, offset, len)))
}

/// Size of the raw region in 64 KiB pages.
#[ic_cdk::query]
fn raw_size_pages() -> u64 {
    RAW.with(|r| r.size())
}

/// Writes like `raw_write`, then traps: both the write and the growth must be rolled back.
#[ic_cdk::update]
fn raw_write_then_trap(offset: u64, data: ByteBuf) {
    RAW.with(|r| raw_write_to(r, offset, &data));
    ic_cdk::trap("raw_write_then_trap: trapping after the write");
}

/// Writes `mib` MiB (at most 1024) of non-zero bytes to the raw region from offset 0, in one message.
#[ic_cdk::update]
fn fill_stable_mib(mib: u32) {
    check_mib(mib);
    RAW.with(|r| fill(r, mib));
}

// ---- heap ----------------------------------------------------------------------------------

/// Allocates `mib` MiB (at most 1024) of non-zero bytes on the heap and keeps them.
#[ic_cdk::update]
fn grow_heap_mib(mib: u32) {
    check_mib(mib);
    let len = mib as u64 * MIB;
    let block: Vec<u8> = (0..len).map(pattern).collect();
    HEAP.with_borrow_mut(|h| h.push(block));
}

/// Writes one byte in each of `pages` distinct 64 KiB heap pages and one byte in the raw
/// stable region, then traps. Used to measure the cost of rolling back dirty pages.
#[ic_cdk::update]
fn touch_then_trap(pages: u32) {
    let len = pages as usize * WASM_PAGE as usize;
    let mut block: Vec<u8> = Vec::with_capacity(len);
    let base = block.as_mut_ptr();
    for page in 0..pages as usize {
        // SAFETY: `page * WASM_PAGE < len <= capacity`, and u8 has no invalid bit patterns.
        unsafe { base.add(page * WASM_PAGE as usize).write_volatile(1) };
    }
    std::hint::black_box(&block);
    RAW.with(|r| raw_write_to(r, 0, &[0xFF]));
    ic_cdk::trap(format!(
        "touch_then_trap: trapping after touching {pages} heap pages"
    ));
}

/// Writes one byte in each of `pages` distinct 64 KiB pages of the heap kept by
/// `grow_heap_mib` (no allocation, so the memory does not grow), then traps. Measures
/// rolling back dirty pages of an existing heap.
#[ic_cdk::update]
fn touch_kept_then_trap(pages: u32) {
    HEAP.with_borrow_mut(|h| {
        let kept: usize = h.iter().map(|b| b.len()).sum();
        if (pages as usize) * WASM_PAGE as usize > kept {
            ic_cdk::trap(format!("touch_kept_then_trap: only {kept} heap bytes are kept"));
        }
        let mut left = pages as usize;
        for block in h.iter_mut() {
            for off in (0..block.len()).step_by(WASM_PAGE as usize) {
                if left == 0 {
                    break;
                }
                block[off] = block[off].wrapping_add(1);
                left -= 1;
            }
        }
    });
    RAW.with(|r| raw_write_to(r, 0, &[0xFE]));
    ic_cdk::trap(format!("touch_kept_then_trap: trapping after touching {pages} kept heap pages"));
}

/// Increments a heap counter: an update that touches very little state.
#[ic_cdk::update]
fn inc_small() -> u64 {
    SMALL.with(|c| {
        c.set(c.get() + 1);
        c.get()
    })
}

ic_cdk::export_candid!();

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    #[test]
    fn candid_interface_matches_committed_did_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stable_user.did");
        platform_types::candid_check::check_service(&__export_service(), &path);
    }

    #[test]
    fn map_and_raw_region_coexist() {
        assert_eq!(put("a".into(), "1".into()), None);
        assert_eq!(put("a".into(), "2".into()), Some("1".into()));
        raw_write(70_000, ByteBuf::from(vec![9, 8, 7]));
        assert_eq!(raw_size_pages(), 2);
        assert_eq!(raw_read(70_000, 3).into_vec(), vec![9, 8, 7]);
        assert_eq!(get_value("a".into()), Some("2".into()));
        assert_eq!(len(), 1);
    }

    #[test]
    fn fill_writes_non_zero_bytes_everywhere() {
        let memory = VectorMemory::default();
        fill(&memory, 2);
        assert_eq!(memory.size(), 32);
        let all = raw_read_from(&memory, 0, 2 * MIB);
        assert!(all.iter().all(|&b| b != 0));
    }

    #[test]
    fn inc_small_counts() {
        assert_eq!(inc_small(), 1);
        assert_eq!(inc_small(), 2);
    }
}
