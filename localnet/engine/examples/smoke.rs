//! The localnet smoke scenario:
//! install the counter canister, call it, make a call trap and see it rolled back, call it
//! from another canister, upgrade it keeping its state, and print what every message cost.

use std::path::PathBuf;

use candid::Principal;
use localnet::{ExecutionRecord, LocalNet};

fn wasm(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("CANISTER_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/canisters"));
    let path = dir.join(format!("{name}.wasm.gz"));
    std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("cannot read {}: {e}\nbuild the canisters first: bash scripts/build-canisters.sh", path.display());
        std::process::exit(1)
    })
}

fn show(records: &[ExecutionRecord]) {
    for r in records {
        println!(
            "    {:<28} {:>12} instructions {:>5} pages written{}",
            r.entry,
            r.instructions,
            r.dirty_pages,
            if r.trapped { "  (trapped, rolled back)" } else { "" }
        );
    }
}

fn main() {
    let net = LocalNet::new();
    let alice = Principal::from_slice(&[1; 29]);
    println!("localnet smoke scenario (start time {:?})", net.get_time());

    let counter = net.create_canister();
    let module = wasm("counter");
    net.install_canister(counter, module.clone(), candid::encode_args((Some(40u64),)).unwrap(), None);
    let status = net.canister_status(counter, None).expect("canister_status");
    println!("\n1. installed counter {counter}");
    println!("    module sha256 {}  ({} bytes gzipped)", hex(&status.module_hash.unwrap()), module.len());
    println!("    cycles {}  memory {} bytes", status.cycles, status.memory_size);
    show(&net.take_execution_log());

    println!("\n2. update calls from {alice}");
    for _ in 0..2 {
        let (n,): (u64,) = net.update_candid_as(counter, alice, "inc", ()).expect("inc");
        println!("    inc -> {n}");
    }
    show(&net.take_execution_log());

    println!("\n3. a call that traps after incrementing: the increment is rolled back");
    let err = net.update_call(counter, alice, "inc_then_trap", candid::encode_args(()).unwrap()).unwrap_err();
    println!("    rejected: {err}");
    let (n,): (u64,) = net.query_candid(counter, "get", ()).unwrap();
    println!("    get -> {n}");
    show(&net.take_execution_log());

    println!("\n4. an inter-canister call: async_caller calls counter.inc");
    let caller = net.create_canister();
    net.install_canister(caller, wasm("async_caller"), candid::encode_args(()).unwrap(), None);
    net.take_execution_log();
    let arg = serde_bytes::ByteBuf::from(candid::encode_args(()).unwrap());
    let (reply, records) = net.update_call_with_stats(
        caller,
        alice,
        "call_raw",
        candid::encode_args((counter, "inc", arg)).unwrap(),
    );
    println!("    reply: {} bytes, {} executions in {} rounds so far", reply.unwrap().len(), records.len(), net.round());
    show(&records);
    net.take_execution_log();

    println!("\n5. upgrade: pre_upgrade saves the count to stable memory, post_upgrade restores it");
    net.upgrade_canister(counter, module, candid::encode_args((None::<u64>,)).unwrap(), None).expect("upgrade");
    let (n,): (u64,) = net.query_candid(counter, "get", ()).unwrap();
    let (version,): (u64,) = net.query_candid(counter, "version", ()).unwrap();
    println!("    get -> {n} (canister version {version})");
    show(&net.take_execution_log());

    println!("\nsmoke scenario passed: {} rounds, time {:?}", net.round(), net.get_time());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
