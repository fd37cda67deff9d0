//! localnet throughput: `cargo bench -p localnet` (build the canisters first:
//! `bash scripts/build-canisters.sh`).
//!
//! Reports wall-clock figures (never asserted anywhere):
//! - update and query calls per second on the `echo` canister;
//! - the cost of committing and of rolling back a message on a canister holding a 10 MiB
//!   heap and 100 MiB of stable memory, as a function of the pages the message touches,
//!   for the pagemap/memfd heap and for the portable full-copy fallback.
//!
//! The fallback is chosen once per process, so the bench re-runs itself with
//! `LOCALNET_HEAP_SHADOW=1` for the comparison.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use candid::Principal;
use localnet::LocalNet;

fn wasm(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("CANISTER_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/canisters"));
    let path = dir.join(format!("{name}.wasm.gz"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-canisters.sh first", path.display()))
}

fn user() -> Principal {
    Principal::from_slice(&[1; 29])
}

fn per_second(n: u32, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn echo_throughput() {
    let net = LocalNet::new();
    let id = net.create_canister();
    net.install_canister(id, wasm("echo"), candid::encode_args(()).unwrap(), None);
    let arg = candid::encode_args((serde_bytes::ByteBuf::from(vec![7u8; 100]),)).unwrap();
    for _ in 0..200 {
        net.update_call(id, user(), "echo", arg.clone()).unwrap();
    }
    let n = 5_000;
    let t = Instant::now();
    for _ in 0..n {
        net.update_call(id, user(), "echo", arg.clone()).unwrap();
    }
    let sequential = t.elapsed();

    // Many calls in one round: the per-round overhead is shared.
    let batch = 1_000;
    let t = Instant::now();
    for _ in 0..(n / batch) {
        let ids: Vec<_> = (0..batch).map(|_| net.submit_call(id, user(), "echo", arg.clone()).unwrap()).collect();
        for m in ids {
            net.await_call(m).unwrap();
        }
    }
    let batched = t.elapsed();

    let t = Instant::now();
    for _ in 0..n {
        net.query_call(id, user(), "echo_query", arg.clone()).unwrap();
    }
    let queries = t.elapsed();
    let instructions = net.last_execution(id).map(|r| r.instructions).unwrap_or(0);
    println!("echo canister (100-byte payload, {instructions} instructions per query execution):");
    println!("  update calls, one per round      {:>9.0} /s", per_second(n, sequential));
    println!("  update calls, {batch} per round    {:>9.0} /s", per_second(n, batched));
    println!("  query calls                      {:>9.0} /s", per_second(n, queries));
}

fn rollback_cost() {
    let net = LocalNet::new();
    let id = net.create_canister();
    net.install_canister(id, wasm("stable_user"), candid::encode_args(()).unwrap(), None);
    net.update_call(id, user(), "grow_heap_mib", candid::encode_args((10u32,)).unwrap()).unwrap();
    net.update_call(id, user(), "fill_stable_mib", candid::encode_args((100u32,)).unwrap()).unwrap();
    let (heap, stable) = net.memory_sizes(id).unwrap();
    println!("rollback and commit on a canister with {} MiB heap, {} MiB stable memory:", heap >> 20, stable >> 20);
    let reps = 200;
    let t = Instant::now();
    for _ in 0..reps {
        net.update_call(id, user(), "inc_small", candid::encode_args(()).unwrap()).unwrap();
    }
    let commit = t.elapsed() / reps;
    let dirty = net.last_execution(id).unwrap().dirty_pages;
    println!("  small update, committed ({dirty} OS pages dirty)           {:>8.1} us/message", commit.as_secs_f64() * 1e6);
    // Traps after writing to the existing heap, and after allocating (growing the memory).
    for (method, what) in [("touch_kept_then_trap", "existing"), ("touch_then_trap", "new, grown")] {
        for pages in [1u32, 16, 160] {
            let arg = candid::encode_args((pages,)).unwrap();
            let t = Instant::now();
            for _ in 0..reps {
                net.update_call(id, user(), method, arg.clone()).unwrap_err();
            }
            let each = t.elapsed() / reps;
            let dirty = net.last_execution(id).unwrap().dirty_pages;
            println!(
                "  trap after writing {pages:>3} {what:<10} 64 KiB pages ({dirty:>4} OS pages rolled back) {:>8.1} us/message",
                each.as_secs_f64() * 1e6
            );
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument may follow.
    let child = std::env::args().any(|a| a == "--rollback-only");
    if child {
        rollback_cost();
        return;
    }
    let heap = if std::env::var_os("LOCALNET_HEAP_SHADOW").is_some() { "full-copy fallback" } else { "memfd + pagemap" };
    println!("== localnet throughput (heap scheme: {heap}) ==");
    echo_throughput();
    rollback_cost();
    if std::env::var_os("LOCALNET_HEAP_SHADOW").is_none() {
        println!("== the same rollback measurement with the full-copy fallback (LOCALNET_HEAP_SHADOW=1) ==");
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--rollback-only")
            .env("LOCALNET_HEAP_SHADOW", "1")
            .status()
            .expect("re-running the bench");
        assert!(status.success());
    }
}
