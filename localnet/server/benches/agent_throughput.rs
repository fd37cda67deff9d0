//! Calls per second through the IC HTTP interface with `ic-agent` (certificate and query
//! signature verification on), beside the same calls made in-process on the engine.
//!
//! `cargo bench -p localnet-server` (a benchmark, not a test: it prints figures and asserts
//! nothing about time). Needs target/canisters/echo.wasm.gz (scripts/build-canisters.sh).

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use candid::Principal;
use common::{create_and_install, identity, wasm, Server};

const RUN: Duration = Duration::from_secs(5);

async fn measure(server: &Server, id: Principal, clients: usize, update: bool) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..clients {
        let agent = server.agent(identity(50 + n as u8)).await;
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let arg = candid::encode_one(serde_bytes::ByteBuf::from(vec![7u8; 100])).unwrap();
            while start.elapsed() < RUN {
                if update {
                    agent.update(&id, "echo").with_arg(arg.clone()).call_and_wait().await.expect("update");
                } else {
                    agent.query(&id, "echo_query").with_arg(arg.clone()).call().await.expect("query");
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn in_process(update: bool) -> f64 {
    let net = localnet::LocalNet::new();
    let id = net.create_canister();
    net.install_canister(id, wasm("echo"), candid::encode_args(()).unwrap(), None);
    let arg = candid::encode_one(serde_bytes::ByteBuf::from(vec![7u8; 100])).unwrap();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < RUN {
        if update {
            net.update_call(id, Principal::anonymous(), "echo", arg.clone()).unwrap();
        } else {
            net.query_call(id, Principal::anonymous(), "echo_query", arg.clone()).unwrap();
        }
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let server = Server::start();
    let owner = server.agent(identity(1)).await;
    let id = create_and_install(&owner, wasm("echo"), candid::encode_args(()).unwrap()).await;
    println!("{:<44} {:>12}", "what (100-byte payload, echo canister)", "calls/s");
    for clients in [1usize, 8, 32] {
        let u = measure(&server, id, clients, true).await;
        println!("{:<44} {:>12.0}", format!("ic-agent update (v4 call), {clients} clients"), u);
        let q = measure(&server, id, clients, false).await;
        println!("{:<44} {:>12.0}", format!("ic-agent query (signed), {clients} clients"), q);
    }
    println!("{:<44} {:>12.0}", "in-process update_call (engine)", in_process(true));
    println!("{:<44} {:>12.0}", "in-process query_call (engine)", in_process(false));
}
