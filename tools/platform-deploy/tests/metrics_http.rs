//! Acceptance of section 5 of issue 13 over HTTP: on the platform the deploy command brings up,
//! the hub, a shard and learning_content serve `/metrics` in the Prometheus text format through
//! localnet's HTTP gateway on the raw domain (`<id>.raw.localhost`, as monitors use
//! `<id>.raw.icp0.io` on mainnet); the verifying domain refuses the hub's uncertified figures;
//! each canister's `get_version` names its build, and the shard knows its module hash, which is
//! the one the IC reports.
//!
//! Needs the server binary (`cargo build -p localnet-server`) and the canister Wasm
//! (`bash scripts/build-canisters.sh`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;

use candid::{Encode, Principal};
use platform_types::metrics::{parse_exposition, sample, Series};
use platform_types::VersionInfo;

mod common;
use common::{ed25519_pem, Server};

struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

/// GET `path` of `canister` through the gateway, on the raw domain or the verifying one.
async fn get(server: &Server, canister: Principal, path: &str, raw: bool) -> Reply {
    let host = if raw { format!("{canister}.raw.localhost") } else { format!("{canister}.localhost") };
    let addr: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let client = reqwest::Client::builder().resolve(&host, addr).build().unwrap();
    let url = format!("http://{host}:{}{path}", server.port);
    let r = client.get(&url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status().as_u16();
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    Reply { status, content_type, body: r.text().await.unwrap() }
}

async fn scrape(server: &Server, canister: Principal) -> BTreeMap<Series, f64> {
    let r = get(server, canister, "/metrics", true).await;
    assert_eq!(r.status, 200, "{canister}: {}", r.body);
    assert!(r.content_type.starts_with("text/plain; version=0.0.4"), "{}", r.content_type);
    parse_exposition(&r.body).unwrap_or_else(|e| panic!("{canister}: {e}\n{}", r.body))
}

#[tokio::test]
async fn every_canister_serves_metrics_over_the_raw_domain_and_names_its_build() {
    let server = Server::start();
    let pem = server.dir.join("deployer.pem");
    std::fs::write(&pem, ed25519_pem([43u8; 32])).unwrap();
    let out = server.dir.join("deployment.json");
    let r = Command::new(env!("CARGO_BIN_EXE_platform-deploy"))
        .args(["--network", &server.url, "--root-key"])
        .arg(server.dir.join("state/root_key.der"))
        .arg("--pem")
        .arg(&pem)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(r.status.success(), "platform-deploy failed:\n{}", String::from_utf8_lossy(&r.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let id = |name: &str| Principal::from_text(json[name].as_str().unwrap()).unwrap();
    let (hub, content) = (id("staking_hub"), id("learning_content"));

    // A shard, created by the permissionless ensure_capacity.
    let anyone = server.agent(9);
    let reply = anyone.update(&hub, "ensure_capacity").with_arg(Encode!().unwrap()).call_and_wait().await.unwrap();
    let created: Result<Option<Principal>, String> = candid::decode_one(&reply).unwrap();
    let shard = created.unwrap().expect("a first shard is created");

    let version = |canister: Principal| {
        let anyone = &anyone;
        async move {
            let reply = anyone.query(&canister, "get_version").with_arg(Encode!().unwrap()).call().await.unwrap();
            candid::decode_one::<VersionInfo>(&reply).unwrap()
        }
    };

    let hub_metrics = scrape(&server, hub).await;
    assert_eq!(sample(&hub_metrics, "hub_shards", &[("status", "active")]), Some(1.0));
    assert_eq!(sample(&hub_metrics, "hub_users", &[]), Some(0.0));
    assert_eq!(sample(&hub_metrics, "hub_rollout_shards_total", &[]), Some(1.0));
    assert_eq!(sample(&hub_metrics, "hub_rollout_shards_on_target", &[]), Some(1.0));
    assert_eq!(sample(&hub_metrics, "hub_errors_total", &[("kind", "shard_install_failed")]), Some(0.0));
    assert!(sample(&hub_metrics, "canister_cycles_balance", &[]).unwrap() > 0.0);
    assert!(sample(&hub_metrics, "canister_heap_memory_bytes", &[]).unwrap() > 0.0);
    let hub_version = version(hub).await;
    let commit = hub_version.git_commit.clone().expect("the hub names its commit");
    assert!(commit == "unknown" || (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())), "{commit}");
    let build = [("canister", "staking_hub"), ("git_commit", commit.as_str()), ("version", hub_version.version.as_str())];
    assert_eq!(sample(&hub_metrics, "canister_build_info", &build), Some(1.0));

    let shard_metrics = scrape(&server, shard).await;
    assert_eq!(sample(&shard_metrics, "shard_users", &[]), Some(0.0));
    assert_eq!(sample(&shard_metrics, "shard_disabled", &[]), Some(0.0));
    assert_eq!(sample(&shard_metrics, "shard_pending_withdrawals", &[]), Some(0.0));
    assert!(sample(&shard_metrics, "canister_stable_memory_bytes", &[]).unwrap() > 0.0);

    let content_metrics = scrape(&server, content).await;
    assert_eq!(sample(&content_metrics, "content_shards", &[]), Some(1.0), "the hub registered its shard");
    assert!(sample(&content_metrics, "content_units", &[]).unwrap() > 0.0);

    // The shard reports the module hash the hub installed, which is the one the IC reports.
    let shard_version = version(shard).await;
    let reply = anyone.query(&hub, "get_shard_wasm_hash").with_arg(Encode!().unwrap()).call().await.unwrap();
    let embedded: String = candid::decode_one(&reply).unwrap();
    assert_eq!(hub_version.shard_wasm_hash.as_deref(), Some(embedded.as_str()));
    assert_eq!(shard_version.module_hash.as_deref(), Some(embedded.as_str()));
    let on_chain = anyone.read_state_canister_module_hash(shard).await.unwrap();
    assert_eq!(hex::encode(on_chain), embedded);
    assert_eq!(shard_version.git_commit, hub_version.git_commit, "built from the same tree");
    assert_eq!(version(content).await.git_commit, hub_version.git_commit);

    // Only /metrics is served by the hub; and its figures are not certified, so the verifying
    // domain refuses them (monitors use the raw domain).
    assert_eq!(get(&server, hub, "/other", true).await.status, 404);
    let verified = get(&server, hub, "/metrics", false).await;
    assert_ne!(verified.status, 200, "an uncertified reply passed verification: {}", verified.body);
}
