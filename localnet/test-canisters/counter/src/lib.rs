//! `counter`: exercises the plain System API (replies, rejects, traps, time, certification,
//! instruction counters, heap growth, upgrades through raw stable memory, inspect_message).

use candid::Principal;
use serde_bytes::ByteBuf;
use std::cell::{Cell, RefCell};

const MIB: usize = 1 << 20;
const WASM_PAGE: u64 = 64 * 1024;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
    /// Heap blocks kept alive by `grow_heap`.
    static HEAP: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn bump() -> u64 {
    COUNT.with(|c| {
        c.set(c.get() + 1);
        c.get()
    })
}

/// `n` MiB of non-zero bytes (every page is written, none stays a shared zero page).
fn filled_block(mib: u32) -> Vec<u8> {
    let len = mib as usize * MIB;
    let mut block = Vec::with_capacity(len);
    block.extend((0..len).map(|i| (i % 251) as u8 + 1));
    block
}

// ---- lifecycle ----------------------------------------------------------------------------

#[ic_cdk::init]
fn init(initial: Option<u64>) {
    COUNT.with(|c| c.set(initial.unwrap_or(0)));
}

/// Saves the count in the first 8 bytes of raw stable memory.
#[ic_cdk::pre_upgrade]
fn pre_upgrade() {
    if ic_cdk::stable::stable_size() == 0 {
        ic_cdk::stable::stable_grow(1).expect("stable_grow failed in pre_upgrade");
    }
    ic_cdk::stable::stable_write(0, &COUNT.with(Cell::get).to_le_bytes());
}

/// Restores the count saved by `pre_upgrade`; `Some(n)` overrides it with `n`.
#[ic_cdk::post_upgrade]
fn post_upgrade(override_count: Option<u64>) {
    let mut saved = [0u8; 8];
    if ic_cdk::stable::stable_size() > 0 {
        ic_cdk::stable::stable_read(0, &mut saved);
    }
    COUNT.with(|c| c.set(override_count.unwrap_or(u64::from_le_bytes(saved))));
}

/// Accepts every ingress message except calls to `blocked_by_inspect`.
#[ic_cdk::inspect_message]
fn inspect_message() {
    if ic_cdk::api::msg_method_name() != "blocked_by_inspect" {
        ic_cdk::api::accept_message();
    }
}

// ---- counter ------------------------------------------------------------------------------

#[ic_cdk::update]
fn inc() -> u64 {
    bump()
}

#[ic_cdk::query]
fn get() -> u64 {
    COUNT.with(Cell::get)
}

#[ic_cdk::update]
fn set(value: u64) {
    COUNT.with(|c| c.set(value));
}

/// Increments, then traps: the increment must be rolled back.
#[ic_cdk::update]
fn inc_then_trap() {
    let n = bump();
    ic_cdk::trap(format!("inc_then_trap: trapping after incrementing to {n}"));
}

/// Increments the heap count in a query: the system must discard the change.
#[ic_cdk::query]
fn inc_in_query() -> u64 {
    bump()
}

/// Increments the count; ingress calls are refused by `inspect_message`, calls from other
/// canisters are not (inspect_message only applies to ingress).
#[ic_cdk::update]
fn blocked_by_inspect() {
    bump();
}

// ---- replies, rejects, traps, logs ---------------------------------------------------------

#[ic_cdk::update]
fn trap(message: String) {
    ic_cdk::trap(message);
}

/// Rejects the call with `message` (reject code CANISTER_REJECT = 4).
#[ic_cdk::update(manual_reply = true)]
fn reject(message: String) {
    ic_cdk::api::msg_reject(message);
}

#[ic_cdk::update]
fn log(message: String) {
    ic_cdk::println!("{}", message);
}

// ---- environment ---------------------------------------------------------------------------

#[ic_cdk::query]
fn whoami() -> Principal {
    ic_cdk::api::msg_caller()
}

#[ic_cdk::query]
fn self_id() -> Principal {
    ic_cdk::api::canister_self()
}

#[ic_cdk::query]
fn now() -> u64 {
    ic_cdk::api::time()
}

#[ic_cdk::query]
fn version() -> u64 {
    ic_cdk::api::canister_version()
}

#[ic_cdk::query]
fn is_controller(principal: Principal) -> bool {
    ic_cdk::api::is_controller(&principal)
}

#[ic_cdk::query]
fn replicated() -> bool {
    ic_cdk::api::in_replicated_execution()
}

#[ic_cdk::update]
fn replicated_update() -> bool {
    ic_cdk::api::in_replicated_execution()
}

/// ic0.canister_status: 1 running, 2 stopping, 3 stopped.
#[ic_cdk::query]
fn status() -> u32 {
    ic_cdk::api::canister_status().into()
}

/// ic0.msg_deadline; 0 when the call has no deadline (unbounded wait, ingress).
#[ic_cdk::query]
fn deadline() -> u64 {
    ic_cdk::api::msg_deadline().map_or(0, |d| d.get())
}

#[ic_cdk::update]
fn deadline_update() -> u64 {
    ic_cdk::api::msg_deadline().map_or(0, |d| d.get())
}

/// Value of the canister environment variable `name`, if set.
#[ic_cdk::update]
fn env_var(name: String) -> Option<String> {
    if ic_cdk::api::env_var_name_exists(&name) {
        Some(ic_cdk::api::env_var_value(&name))
    } else {
        None
    }
}

// ---- certification -------------------------------------------------------------------------

#[ic_cdk::update]
fn set_certified_data(data: ByteBuf) {
    ic_cdk::api::certified_data_set(data);
}

/// ic0.data_certificate: present in non-replicated queries only.
#[ic_cdk::query]
fn certificate() -> Option<ByteBuf> {
    ic_cdk::api::data_certificate().map(ByteBuf::from)
}

#[ic_cdk::update]
fn certificate_in_update() -> Option<ByteBuf> {
    ic_cdk::api::data_certificate().map(ByteBuf::from)
}

// ---- instructions and memory ---------------------------------------------------------------

/// Runs `iterations` rounds of cheap arithmetic; returns the instruction counter afterwards.
#[ic_cdk::update]
fn burn_instructions(iterations: u64) -> u64 {
    let mut acc: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..iterations {
        acc = std::hint::black_box(acc.rotate_left(5) ^ i).wrapping_mul(3);
    }
    std::hint::black_box(acc);
    ic_cdk::api::performance_counter(0)
}

#[ic_cdk::update]
fn perf_counter() -> u64 {
    ic_cdk::api::performance_counter(0)
}

/// Allocates `mib` MiB of written (non-zero) heap and keeps it; returns the bytes kept in all.
#[ic_cdk::update]
fn grow_heap(mib: u32) -> u64 {
    let block = filled_block(mib);
    HEAP.with_borrow_mut(|heap| {
        heap.push(block);
        heap.iter().map(|b| b.len() as u64).sum()
    })
}

/// Allocates and writes `mib` MiB of heap, then traps: the growth must be rolled back.
#[ic_cdk::update]
fn grow_heap_then_trap(mib: u32) {
    let block = filled_block(mib);
    let pages = (block.len() as u64).div_ceil(WASM_PAGE);
    HEAP.with_borrow_mut(|heap| heap.push(block));
    ic_cdk::trap(format!(
        "grow_heap_then_trap: trapping after writing {pages} pages"
    ));
}

ic_cdk::export_candid!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candid_interface_matches_committed_did_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("counter.did");
        platform_types::candid_check::check_service(&__export_service(), &path);
    }

    #[test]
    fn filled_block_has_the_requested_size_and_no_zero_byte() {
        let block = filled_block(1);
        assert_eq!(block.len(), MIB);
        assert!(block.iter().all(|&b| b != 0));
    }

    #[test]
    fn heap_counter_logic() {
        set(41);
        assert_eq!(inc(), 42);
        assert_eq!(get(), 42);
        assert_eq!(grow_heap(1), MIB as u64);
        assert_eq!(grow_heap(2), 3 * MIB as u64);
    }
}
