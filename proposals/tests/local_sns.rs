//! The acceptance test of the network mode: the real `proposals` binary submits, votes, lists
//! and shows proposals on the local SNS (standins/sns_governance and sns_root) running on
//! `localnet serve` (loopback, its own port and state directory).
//!
//! Two neurons with 50 % of the voting power each, controlled by an Ed25519 key and a secp256k1
//! key (the two kinds dfx and icp-cli write): no neuron decides alone, neither on a normal topic
//! (yes must be more than 50 % of all voting power to adopt early) nor on a critical one (67 %),
//! so every proposal stays open after its proposer's automatic yes and the second neuron's vote,
//! sent by a second run of the binary, decides it.
//!
//! learning_content is the dapp canister: custom function 1002 (`add_units`) is registered from
//! the project's own sns/custom_functions file and executed with the fixture units; then an
//! upgrade that takes and one whose post_upgrade traps (Executed in governance, seen by the
//! module hash).
//!
//! Needs `target/debug/localnet` (`cargo build -p localnet-server`; LOCALNET_BIN overrides it)
//! and the canister Wasm in `target/canisters` (`bash scripts/build-canisters.sh`).

#[path = "../../tools/platform-deploy/tests/common/mod.rs"]
mod common;

use candid::{CandidType, Principal};
use ic_agent::Agent;
use ic_management_canister_types as mgmt;
use platform_types::sns::root::SnsRootCanister;
use platform_types::sns::{GovernanceInitArgs, InitialNeuron};
use platform_types::{ContentInitArgs, Unit};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest any one run of the binary may take (the failing upgrade's --wait spends its
/// --wait-secs looking for the new module hash).
const RUN_TIMEOUT: Duration = Duration::from_secs(240);
/// The longest a setup call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

const NEURON_A: [u8; 32] = [0xa1; 32];
const NEURON_B: [u8; 32] = [0xb2; 32];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path)
}

fn wasm(name: &str) -> Vec<u8> {
    let path = repo().join("target/canisters").join(format!("{name}.wasm.gz"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; build it with `bash scripts/build-canisters.sh`", path.display()))
}

/// The same module in a gzip with another header timestamp: another module hash, same code.
fn another_release(gz: &[u8]) -> Vec<u8> {
    assert!(gz.starts_with(&[0x1f, 0x8b, 0x08]), "a gzipped module");
    let mut out = gz.to_vec();
    out[4..8].copy_from_slice(&[9, 8, 7, 6]);
    assert_ne!(out, gz);
    out
}

fn principal_of(pem: &Path) -> Principal {
    proposals::network::identity_from_pem(pem).unwrap().sender().unwrap()
}

fn block_on<F: std::future::Future>(rt: &tokio::runtime::Runtime, what: &str, f: F) -> F::Output {
    rt.block_on(async { tokio::time::timeout(CALL_TIMEOUT, f).await.unwrap_or_else(|_| panic!("{what}: no reply within {CALL_TIMEOUT:?}")) })
}

async fn management<A: CandidType, R: CandidType + DeserializeOwned>(agent: &Agent, method: &str, effective: Principal, arg: A) -> R {
    let reply = agent
        .update(&Principal::management_canister(), method)
        .with_effective_canister_id(effective)
        .with_arg(candid::encode_one(arg).unwrap())
        .call_and_wait()
        .await
        .unwrap_or_else(|e| panic!("management canister {method}: {e}"));
    candid::decode_one(&reply).unwrap()
}

async fn create_canister(agent: &Agent) -> Principal {
    // On localnet's one subnet any id of its range is a valid effective canister id.
    let effective = Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    let args = mgmt::ProvisionalCreateCanisterWithCyclesArgs {
        amount: Some(100_000_000_000_000u128.into()),
        settings: None,
        specified_id: None,
        sender_canister_version: None,
    };
    let r: mgmt::CanisterIdRecord = management(agent, "provisional_create_canister_with_cycles", effective, args).await;
    r.canister_id
}

async fn install(agent: &Agent, canister: Principal, wasm_module: Vec<u8>, arg: Vec<u8>) {
    let args = mgmt::InstallCodeArgs {
        mode: mgmt::CanisterInstallMode::Install,
        canister_id: canister,
        wasm_module,
        arg,
        sender_canister_version: None,
    };
    management::<_, ()>(agent, "install_code", canister, args).await
}

async fn set_controllers(agent: &Agent, canister: Principal, controllers: Vec<Principal>) {
    let args = mgmt::UpdateSettingsArgs {
        canister_id: canister,
        settings: mgmt::CanisterSettings { controllers: Some(controllers), ..Default::default() },
        sender_canister_version: None,
    };
    management::<_, ()>(agent, "update_settings", canister, args).await
}

async fn get_unit(agent: &Agent, content: Principal, id: &str) -> Option<Unit> {
    let reply = agent.query(&content, "get_unit").with_arg(candid::encode_one(id).unwrap()).call().await.unwrap();
    candid::decode_one(&reply).unwrap()
}

async fn module_hash(agent: &Agent, canister: Principal) -> Vec<u8> {
    agent.read_state_canister_info(canister, "module_hash").await.unwrap()
}

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// The binary, talking to one local network and its SNS governance.
struct Cli {
    url: String,
    root_key: PathBuf,
    governance: Principal,
    dir: PathBuf,
    runs: std::cell::Cell<u32>,
}

impl Cli {
    /// Runs `proposals <network flags> <args>`, killed (and the test failed) after RUN_TIMEOUT.
    fn run(&self, args: &[&str]) -> Run {
        let n = self.runs.get() + 1;
        self.runs.set(n);
        let (out, err) = (self.dir.join(format!("run{n}.out")), self.dir.join(format!("run{n}.err")));
        let mut child = Command::new(env!("CARGO_BIN_EXE_proposals"))
            .args(["--network", &self.url, "--governance", &self.governance.to_text()])
            .arg("--root-key")
            .arg(&self.root_key)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("starting the proposals binary");
        let deadline = Instant::now() + RUN_TIMEOUT;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("proposals {args:?} did not end within {RUN_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Run {
            code: status.code().expect("exited, not killed by a signal"),
            stdout: std::fs::read_to_string(out).unwrap(),
            stderr: std::fs::read_to_string(err).unwrap(),
        }
    }
}

fn pem_args(pem: &Path, neuron: &[u8; 32]) -> Vec<String> {
    vec!["--pem".into(), pem.display().to_string(), "--neuron".into(), hex::encode(neuron)]
}

/// `Submitted: proposal N (...)` of a run.
fn submitted_id(run: &Run) -> u64 {
    let line = run.stdout.lines().find(|l| l.starts_with("Submitted: proposal ")).unwrap_or_else(|| panic!("no proposal id: {run:?}"));
    line["Submitted: proposal ".len()..].split(' ').next().unwrap().parse().unwrap()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn the_cli_submits_votes_lists_and_shows_on_the_local_sns() {
    if std::env::var_os("LOCALNET_BIN").is_none() {
        // The harness looks for the server relative to platform-deploy's manifest directory;
        // from this package the workspace's target directory is one level up.
        std::env::set_var("LOCALNET_BIN", repo().join("target/debug/localnet"));
    }
    let server = common::Server::start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let deployer = server.agent(7);

    // A: the Ed25519 PKCS#8 key (dfx identity export, icp-cli); B: secp256k1 SEC1 (dfx's default).
    let (pem_a, pem_b) = (fixture("identities/ed25519.pem"), fixture("identities/secp256k1_sec1.pem"));
    let (alice, bob) = (principal_of(&pem_a), principal_of(&pem_b));
    assert_ne!(alice, bob);

    let (gov, root, content) = block_on(&rt, "setup", async {
        // content first: the third id of localnet's range is the NNS ledger's id on the IC
        // (ryjl3-tyaaa-aaaaa-aaaba-cai), which no custom function may target.
        let content = create_canister(&deployer).await;
        let gov = create_canister(&deployer).await;
        let root = create_canister(&deployer).await;
        let neuron = |id: [u8; 32], controller| InitialNeuron {
            id: id.to_vec(),
            controller,
            voting_power: 50,
            stake_e8s: None,
            dissolve_delay_seconds: None,
        };
        let init = GovernanceInitArgs {
            root_canister_id: root,
            ledger_canister_id: None,
            swap_canister_id: None,
            neurons: vec![neuron(NEURON_A, alice), neuron(NEURON_B, bob)],
            initial_voting_period_seconds: 86_400,
            reject_cost_e8s: None,
            neuron_minimum_dissolve_delay_to_vote_seconds: None,
            wait_for_quiet_deadline_increase_seconds: None,
        };
        install(&deployer, gov, wasm("sns_governance"), candid::encode_one(init).unwrap()).await;
        let init = SnsRootCanister { governance_canister_id: Some(gov), dapp_canister_ids: vec![content], ..Default::default() };
        install(&deployer, root, wasm("sns_root"), candid::encode_one(init).unwrap()).await;
        let init = ContentInitArgs {
            hub_id: Principal::from_slice(&[0x68; 10]),
            sns_governance_id: gov,
            units: vec![],
            pass_mark_percent: None,
        };
        install(&deployer, content, wasm("learning_content"), candid::encode_one(init).unwrap()).await;
        set_controllers(&deployer, content, vec![root]).await;
        (gov, root, content)
    });
    let _ = root;

    let cli = Cli {
        url: server.url.clone(),
        root_key: server.dir.join("state/root_key.der"),
        governance: gov,
        dir: server.dir.clone(),
        runs: std::cell::Cell::new(0),
    };
    let a = pem_args(&pem_a, &NEURON_A);
    let b = pem_args(&pem_b, &NEURON_B);
    let vote = |id: u64, extra: &[&str]| {
        let id = id.to_string();
        let mut args = strs(&b);
        args.extend(["vote", "--proposal-id", &id, "--vote", "yes"]);
        args.extend(extra);
        cli.run(&args)
    };
    let show = |id: u64| cli.run(&["show", "--proposal-id", &id.to_string()]);

    // 1. A motion: A's automatic yes is 50 % of the voting power, not more than half, so it
    //    stays open; --wait runs out (exit 3, as the README promises).
    let mut args = strs(&a);
    args.extend(["--submit", "--wait", "--wait-secs", "3", "motion", "--title", "Adopt the content guidelines"]);
    args.extend(["--text", "LearnStake adopts the content guidelines.", "--summary", "Why: quality."]);
    let run = cli.run(&args);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("--- manage_neuron argument (Candid)"), "the print-only output comes first: {run:?}");
    let motion = submitted_id(&run);
    assert!(run.stdout.contains(&format!("Proposal {motion}: still Open after 3 s")), "{run:?}");
    // The printed dfx commands call the governance given with --governance.
    assert!(run.stdout.contains(&format!("dfx canister --network {} call {gov} manage_neuron '(", cli.url)), "{run:?}");
    assert!(!run.stdout.contains("<SNS_GOVERNANCE_ID>"), "{run:?}");

    let run = show(motion);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Status                 Open"), "{run:?}");
    assert!(run.stdout.contains("Action                 Motion"), "{run:?}");
    assert!(run.stdout.contains("Topic                  Governance\n"), "{run:?}");
    assert!(run.stdout.contains(&format!("Proposer               {}", hex::encode(NEURON_A))), "{run:?}");
    assert!(run.stdout.contains("yes 50 (50.00 % of the total), no 0 (0.00 %), total voting power 100"), "{run:?}");
    assert!(run.stdout.contains("at least 3.00 % of the total voting power and more than 50.00 % of the votes cast"), "{run:?}");
    assert!(run.stdout.contains("1 of 2 neuron(s) voted"), "{run:?}");
    assert!(run.stdout.contains("Executed               -"), "{run:?}");

    // B's yes decides it; --wait reports the execution (exit 0).
    let run = vote(motion, &["--wait", "--wait-secs", "60"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("Voted yes on proposal {motion} with neuron {}", hex::encode(NEURON_B))), "{run:?}");
    assert_eq!(run.stdout.matches(&format!("Proposal {motion}: ")).count(), 1, "the outcome once: {run:?}");
    assert!(run.stdout.contains(&format!("Proposal {motion}: Executed")), "{run:?}");
    let run = show(motion);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Status                 Executed"), "{run:?}");
    assert!(run.stdout.contains("yes 100 (100.00 % of the total)"), "{run:?}");
    assert!(run.stdout.contains("2 of 2 neuron(s) voted"), "{run:?}");
    // A second vote of the same neuron is governance's refusal: exit 1 with its message.
    let run = vote(motion, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("SNS governance refused the vote"), "{run:?}");

    // 2. Register custom function 1002 from the project's own file (critical: 67 % of all the
    //    voting power decides early, A's 50 % does not), then execute it with the fixture units.
    let functions_dir = repo().join("sns/custom_functions");
    let content_arg = format!("learning_content={content}");
    let mut args = strs(&a);
    args.extend(["--submit", "add-function", "--id", "1002", "--canister", &content_arg]);
    args.extend(["--functions-dir", functions_dir.to_str().unwrap()]);
    let run = cli.run(&args);
    assert_eq!(run.code, 0, "{run:?}");
    let add_function = submitted_id(&run);
    let run = show(add_function);
    assert!(run.stdout.contains("Status                 Open"), "{run:?}");
    assert!(run.stdout.contains("CriticalDappOperations (critical)"), "{run:?}");
    assert!(run.stdout.contains("at least 20.00 % of the total voting power and more than 67.00 % of the votes cast"), "{run:?}");
    let run = vote(add_function, &["--wait", "--wait-secs", "60"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("Proposal {add_function}: Executed")), "{run:?}");

    assert!(block_on(&rt, "get_unit", get_unit(&deployer, content, "icp-canisters-1")).is_none());
    let units = fixture("units.json");
    let mut args = strs(&a);
    args.extend(["--submit", "add-units", "--file", units.to_str().unwrap(), "--summary", "Two introductory units."]);
    let run = cli.run(&args);
    assert_eq!(run.code, 0, "{run:?}");
    let add_units = submitted_id(&run);
    let run = show(add_units);
    assert!(run.stdout.contains("Status                 Open"), "{run:?}");
    // learning_content's validator rendered the payload for voters when it was submitted.
    assert!(run.stdout.contains("--- Payload rendering (governance's)"), "{run:?}");
    assert!(run.stdout.contains("icp-canisters-1"), "{run:?}");
    let run = vote(add_units, &["--wait", "--wait-secs", "60"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("Proposal {add_units}: Executed")), "{run:?}");
    let unit = block_on(&rt, "get_unit", get_unit(&deployer, content, "icp-canisters-1")).expect("the target added the unit");
    assert_eq!(unit.title, "What is a canister?");
    assert!(block_on(&rt, "get_unit", get_unit(&deployer, content, "icp-canisters-2")).is_some());

    // 3. `list`, anonymously: both custom-function proposals and the motion, newest first.
    let run = cli.run(&["list", "--limit", "10"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(lines.len(), 3, "{run:?}");
    assert!(lines[0].starts_with(&format!("#{add_units} [Executed]")), "{run:?}");
    assert!(lines[1].starts_with(&format!("#{add_function} [Executed] Add custom proposal 1002")), "{run:?}");
    assert!(lines[2].starts_with(&format!("#{motion} [Executed] Adopt the content guidelines")), "{run:?}");
    assert!(run.stdout.contains("custom function 1002 | topic ApplicationBusinessLogic | yes 100 / no 0 of 100"), "{run:?}");
    assert!(run.stdout.contains("AddGenericNervousSystemFunction 1002 | topic CriticalDappOperations"), "{run:?}");

    // 4. Upgrades of learning_content. One that takes: --wait and show find the new module hash.
    let wasm_dir = server.dir.join("wasm");
    std::fs::create_dir_all(&wasm_dir).unwrap();
    let good = wasm_dir.join("learning_content_next.wasm.gz");
    std::fs::write(&good, another_release(&wasm("learning_content"))).unwrap();
    let upgrade = |wasm: &Path, title: &str| {
        let out = server.dir.join(format!("out-{title}"));
        let mut args = strs(&a);
        args.extend(["--submit", "--title", title, "--summary", "Release.", "--out", out.to_str().unwrap()]);
        args.extend(["upgrade", "--canister", &content_arg, "--wasm", wasm.to_str().unwrap()]);
        cli.run(&args)
    };
    let run = upgrade(&good, "good-upgrade");
    assert_eq!(run.code, 0, "{run:?}");
    let good_upgrade = submitted_id(&run);
    let run = vote(good_upgrade, &["--wait", "--wait-secs", "60"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("runs the proposal's Wasm"), "{run:?}");
    let run = show(good_upgrade);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("--- Module hash") && run.stdout.contains("runs the proposal's Wasm"), "{run:?}");
    let hash_after_good = block_on(&rt, "module_hash", module_hash(&deployer, content));

    // One whose post_upgrade traps (the wrong module: gnsf_target cannot read
    // learning_content's stable memory): Executed, since root answers before installing, but
    // the module hash stays the old one; --wait and show say so and exit 1.
    let bad = wasm_dir.join("wrong_module.wasm.gz");
    std::fs::write(&bad, wasm("gnsf_target")).unwrap();
    let run = upgrade(&bad, "trapping-upgrade");
    assert_eq!(run.code, 0, "{run:?}");
    let bad_upgrade = submitted_id(&run);
    // The module hash check waits for root at most --wait-secs (here 20 s) after the execution.
    let run = vote(bad_upgrade, &["--wait", "--wait-secs", "20"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains(&format!("Proposal {bad_upgrade}: Executed")), "{run:?}");
    assert!(run.stdout.contains("UPGRADE DID NOT TAKE"), "{run:?}");
    let run = show(bad_upgrade);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("Status                 Executed"), "{run:?}");
    assert!(run.stdout.contains(&format!("UPGRADE DID NOT TAKE: {content} runs module {}", hex::encode(&hash_after_good))), "{run:?}");
    assert_eq!(block_on(&rt, "module_hash", module_hash(&deployer, content)), hash_after_good);
    assert!(block_on(&rt, "get_unit", get_unit(&deployer, content, "icp-canisters-1")).is_some(), "old code and state");

    // 5. Refusals print governance's error and exit 1: a neuron the PEM does not control, and
    //    an action the local SNS does not execute.
    let neuron_b = hex::encode(NEURON_B);
    let mut args = vec!["--pem", pem_a.to_str().unwrap(), "--neuron", &neuron_b];
    args.extend(["--submit", "motion", "--title", "Not mine", "--text", "t", "--summary", "s"]);
    let run = cli.run(&args);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("SNS governance refused the proposal"), "{run:?}");
    assert!(run.stderr.contains(&format!("Caller {alice} is not authorized to use neuron")), "{run:?}");
    assert!(run.stderr.contains("(error_type 2)"), "NotAuthorized: {run:?}");
    let to = alice.to_text();
    let mut args = strs(&a);
    args.extend(["--submit", "transfer-treasury", "--from", "sns", "--to", &to, "--amount-e8s", "100", "--summary", "Pay."]);
    let run = cli.run(&args);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("TransferSnsTreasuryFunds is not supported by the local SNS"), "{run:?}");
    assert!(run.stderr.contains("(error_type 15)"), "InvalidProposal: {run:?}");
    // Neither refusal made a proposal.
    let run = cli.run(&["list"]);
    assert_eq!(run.stdout.lines().filter(|l| l.starts_with('#')).count(), 5, "{run:?}");

    drop(cli);
    server.stop();
}
