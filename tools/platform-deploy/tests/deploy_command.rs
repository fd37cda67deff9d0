//! Acceptance: the deploy command (`platform-deploy` with a PEM identity) brings the whole
//! platform up on the served local network: the ids are created, content, ledger and hub are
//! installed, SNS root alone controls the platform's canisters, every custom function of
//! sns/custom_functions is registered by an executed proposal, the ids are recorded where icp
//! and dfx look them up, and the hub answers.
//!
//! Needs the server binary (`cargo build -p localnet-server`) and the canister Wasm
//! (`bash scripts/build-canisters.sh`).

use std::path::Path;
use std::process::Command;

use candid::{Encode, Principal};
use ic_agent::Agent;
use platform_types::sns::ListNervousSystemFunctionsResponse;
use platform_types::GlobalStats;

mod common;
use common::{ed25519_pem, Server};

async fn controllers(agent: &Agent, canister: Principal) -> Vec<Principal> {
    agent.read_state_canister_controllers(canister).await.unwrap()
}

#[tokio::test]
async fn the_deploy_command_brings_the_platform_up_with_a_pem_identity() {
    let server = Server::start();
    let seed = [42u8; 32];
    let pem = server.dir.join("deployer.pem");
    std::fs::write(&pem, ed25519_pem(seed)).unwrap();
    let project = server.dir.join("project");
    std::fs::create_dir_all(&project).unwrap();
    let out = server.dir.join("deployment.json");

    let r = Command::new(env!("CARGO_BIN_EXE_platform-deploy"))
        .args(["--network", &server.url, "--root-key"])
        .arg(server.dir.join("state/root_key.der"))
        .arg("--pem")
        .arg(&pem)
        .arg("--project-dir")
        .arg(&project)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "platform-deploy failed:\n{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let id = |name: &str| Principal::from_text(json[name].as_str().unwrap_or_else(|| panic!("no {name} in {json}"))).unwrap();
    let (hub, content, ledger, governance, root) =
        (id("staking_hub"), id("learning_content"), id("reward_ledger"), id("sns_governance"), id("sns_root"));

    // The hub answers, and knows the ledger and content it was installed with.
    let anyone = server.agent(7);
    let reply = anyone.query(&hub, "get_global_stats").with_arg(Encode!().unwrap()).call().await.unwrap();
    let stats: GlobalStats = candid::decode_one(&reply).unwrap();
    assert_eq!(stats.total_minted_e8s, 0);
    let reply = anyone.query(&ledger, "icrc1_minting_account").with_arg(Encode!().unwrap()).call().await.unwrap();
    let minting: Option<icrc_ledger_types::icrc1::account::Account> = candid::decode_one(&reply).unwrap();
    assert_eq!(minting.map(|a| a.owner), Some(hub), "the hub is the ledger's minting account");

    // SNS root alone controls the platform's canisters (the ledger included): no admin key left.
    for canister in [hub, content, ledger] {
        assert_eq!(controllers(&anyone, canister).await, vec![root], "{canister}");
    }

    // Every custom function is registered, each by an executed proposal of the neuron the PEM's
    // principal controls.
    let reply = anyone.query(&governance, "list_nervous_system_functions").with_arg(Encode!().unwrap()).call().await.unwrap();
    let listed: ListNervousSystemFunctionsResponse = candid::decode_one(&reply).unwrap();
    let files = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sns/custom_functions")).unwrap().count();
    let registered = json["custom_functions"].as_array().unwrap();
    // Without a web app, function 1006 (frontend_assets) has no target and is skipped.
    assert_eq!(registered.len(), files - 1, "{registered:?}\n{stderr}");
    assert!(stderr.contains("custom function 1006") && stderr.contains("not registered"), "{stderr}");
    for r in registered {
        let fid = r["function_id"].as_u64().unwrap();
        assert!(listed.functions.iter().any(|f| f.id == fid), "function {fid} is not in governance");
    }

    // The ids are where icp-cli and dfx look them up.
    let icp: serde_json::Value = serde_json::from_slice(&std::fs::read(project.join(".icp/data/mappings/local.ids.json")).unwrap()).unwrap();
    assert_eq!(icp["staking_hub"], hub.to_text());
    assert_eq!(icp["sns_governance"], governance.to_text());
    // The hub refills itself through the local ICP ledger and CMC, whose ids are named too.
    let refill = anyone.query(&hub, "get_icp_refill_status").with_arg(Encode!().unwrap()).call().await.unwrap();
    let refill: platform_types::icp_refill::IcpRefillStatus = candid::decode_one(&refill).unwrap();
    assert_eq!(refill.icp_ledger_id.to_text(), icp["icp_ledger"].as_str().unwrap());
    assert_eq!(refill.cmc_id.to_text(), icp["cmc"].as_str().unwrap());
    let dfx: serde_json::Value = serde_json::from_slice(&std::fs::read(project.join(".dfx/localnet/canister_ids.json")).unwrap()).unwrap();
    assert_eq!(dfx["reward_ledger"]["localnet"], ledger.to_text());

    // A PEM that is no key fails before anything is created, naming the file.
    let bad = server.dir.join("bad.pem");
    std::fs::write(&bad, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap();
    let r = Command::new(env!("CARGO_BIN_EXE_platform-deploy"))
        .args(["--url", &server.url, "--root-key"])
        .arg(server.dir.join("state/root_key.der"))
        .arg("--pem")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.starts_with("platform-deploy: ") && err.contains("bad.pem"), "{err}");
}
