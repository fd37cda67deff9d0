//! The mainnet install arguments (`platform-deploy init-args`), read the way the real tools read
//! them: each Candid text typed with the init type of the canister's interface (the project's
//! `candid/*.did`, and DFINITY's ICRC-1 ledger's, `candid/reference/icrc1_ledger.did`). And the
//! committed `icp.yaml` and `dfx.json` agree with the command: same canisters, same argument
//! files, the pinned ledger release, no standalone shard.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use candid::types::{Type, TypeEnv, TypeInner};
use candid::Principal;
use candid_parser::utils::CandidSource;
use platform_deploy::init_args::{self, MainnetOptions};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The init argument types of a .did's service.
fn init_types(did: &Path) -> (TypeEnv, Vec<Type>) {
    let (env, service) = CandidSource::File(did).load().unwrap_or_else(|e| panic!("{}: {e}", did.display()));
    let service = service.unwrap_or_else(|| panic!("{}: no service", did.display()));
    match service.as_ref() {
        TypeInner::Class(args, _) => (env, args.to_vec()),
        other => panic!("{}: the service takes no init argument: {other:?}", did.display()),
    }
}

/// Parses `text` and encodes it with the interface's init types, as `icp canister install
/// --args-file` and dfx's `init_arg_file` do.
fn encode_as_tools_do(did: &Path, text: &str) -> Result<Vec<u8>, String> {
    let (env, types) = init_types(did);
    let args = candid_parser::parse_idl_args(text).map_err(|e| e.to_string())?;
    let args = args.annotate_types(true, &env, &types).map_err(|e| e.to_string())?;
    args.to_bytes_with_types(&env, &types).map_err(|e| e.to_string())
}

fn did_of(canister: &str) -> PathBuf {
    match canister {
        "reward_ledger" => repo().join("candid/reference/icrc1_ledger.did"),
        other => repo().join(format!("candid/{other}.did")),
    }
}

fn ids() -> BTreeMap<String, Principal> {
    [
        ("staking_hub", "pvm5g-xaaaa-aaaar-qaaia-cai"),
        ("learning_content", "psn3s-2yaaa-aaaar-qaaiq-cai"),
        ("reward_ledger", "p3oqo-mqaaa-aaaar-qaaja-cai"),
        ("frontend_assets", "p4pw2-biaaa-aaaar-qaajq-cai"),
    ]
    .into_iter()
    .map(|(n, id)| (n.to_string(), Principal::from_text(id).unwrap()))
    .collect()
}

fn options() -> MainnetOptions {
    MainnetOptions { archive_controller: Principal::from_text("2vxsx-fae").unwrap(), registration_policy: None }
}

#[test]
fn every_argument_type_checks_against_the_interface_it_is_installed_with() {
    let args = init_args::mainnet(&ids(), &options()).unwrap();
    let order: Vec<_> = args.iter().map(|a| a.canister).collect();
    assert_eq!(order, ["learning_content", "reward_ledger", "staking_hub", "frontend_assets"], "install order");
    for a in &args {
        encode_as_tools_do(&did_of(a.canister), &a.text).unwrap_or_else(|e| panic!("{}: {e}\n{}", a.canister, a.text));
    }
    let flat = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let ledger = &flat(&args[1].text);
    assert!(ledger.contains("minting_account = record { owner = principal \"pvm5g-xaaaa-aaaar-qaaia-cai\""), "the hub mints: {ledger}");
    assert!(ledger.contains("controller_id = principal \"2vxsx-fae\""), "{ledger}");
    let hub = &flat(&args[2].text);
    assert!(hub.contains("ledger_id = principal \"p3oqo-mqaaa-aaaar-qaaja-cai\""), "{hub}");
    assert!(hub.contains("sns_governance_id = principal \"2vxsx-fae\""), "governance is not set before the launch: {hub}");
    assert!(hub.contains("registration_policy = null"), "closed by default: {hub}");
}

#[test]
fn the_local_ledgers_argument_would_not_install_dfinitys_ledger() {
    // The stand-in's Init has no archive_options; DFINITY's ledger requires them. The check
    // above would catch an argument written for the stand-in.
    let text = "(variant { Init = record { minting_account = record { owner = principal \"aaaaa-aa\"; subaccount = null }; \
        fee_collector_account = null; transfer_fee = 10_000 : nat; decimals = opt (8 : nat8); max_memo_length = null; \
        token_symbol = \"LRN\"; token_name = \"LearnStake Reward\"; metadata = vec {}; initial_balances = vec {}; \
        feature_flags = opt record { icrc2 = true } } })";
    let err = encode_as_tools_do(&did_of("reward_ledger"), text).unwrap_err();
    assert!(err.contains("archive_options"), "{err}");
}

#[test]
fn missing_or_repeated_ids_are_refused() {
    let mut partial = ids();
    partial.remove("reward_ledger");
    let err = init_args::mainnet(&partial, &options()).unwrap_err().to_string();
    assert!(err.contains("reward_ledger") && err.contains("icp canister create"), "{err}");
    let mut same = ids();
    same.insert("learning_content".into(), same["staking_hub"]);
    assert!(init_args::mainnet(&same, &options()).is_err());
    // Without a web app canister, its argument is simply not written.
    let mut no_web = ids();
    no_web.remove("frontend_assets");
    assert_eq!(init_args::mainnet(&no_web, &options()).unwrap().len(), 3);
}

fn run_init_args(ids_file: &Path, extra: &[&str], out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_platform-deploy"))
        .arg("init-args")
        .arg("--ids")
        .arg(ids_file)
        .args(["--archive-controller", "2vxsx-fae", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn the_command_reads_icp_and_dfx_id_files() {
    let dir = std::env::temp_dir().join(format!("init-args-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let icp: serde_json::Map<String, serde_json::Value> = ids().into_iter().map(|(n, id)| (n, id.to_text().into())).collect();
    std::fs::write(dir.join("ic.ids.json"), serde_json::to_string(&icp).unwrap()).unwrap();
    let dfx: serde_json::Map<String, serde_json::Value> =
        ids().into_iter().map(|(n, id)| (n, serde_json::json!({ "ic": id.to_text() }))).collect();
    std::fs::write(dir.join("canister_ids.json"), serde_json::to_string(&dfx).unwrap()).unwrap();

    let from_icp = dir.join("from-icp");
    let r = run_init_args(&dir.join("ic.ids.json"), &[], &from_icp);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let from_dfx = dir.join("from-dfx");
    let r = run_init_args(&dir.join("canister_ids.json"), &[], &from_dfx);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    for name in ["learning_content", "reward_ledger", "staking_hub", "frontend_assets"] {
        let a = std::fs::read_to_string(from_icp.join(format!("{name}.did"))).unwrap();
        let b = std::fs::read_to_string(from_dfx.join(format!("{name}.did"))).unwrap();
        assert_eq!(a, b, "{name}: the same ids give the same argument");
        encode_as_tools_do(&did_of(name), &a).unwrap();
    }

    // A dfx file without ic ids, and a bad flag: exit 1 with the reason.
    let r = run_init_args(&dir.join("canister_ids.json"), &["--network", "localnet"], &dir.join("x"));
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("no canister id for"), "{}", String::from_utf8_lossy(&r.stderr));
    let r = run_init_args(&dir.join("ic.ids.json"), &["--registration", "sometimes"], &dir.join("y"));
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("closed or open"));
    std::fs::remove_dir_all(&dir).unwrap();
}

const PLATFORM: [&str; 4] = ["staking_hub", "learning_content", "reward_ledger", "frontend_assets"];

#[test]
fn icp_yaml_declares_the_platform_as_the_command_deploys_it() {
    let yaml: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(repo().join("icp.yaml")).unwrap()).unwrap();
    let canisters = yaml["canisters"].as_sequence().unwrap();
    let names: Vec<&str> = canisters.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(!names.contains(&"user_profile"), "the hub creates the shards; a standalone one would be nobody's");
    for name in PLATFORM.iter().chain(&["sns_governance", "sns_root", "icp_ledger", "cmc"]) {
        assert!(names.contains(name), "icp.yaml lacks {name}");
    }
    for c in canisters {
        let name = c["name"].as_str().unwrap();
        let step = &c["build"]["steps"][0];
        if name == "reward_ledger" {
            assert_eq!(step["type"], "pre-built");
            assert_eq!(step["url"].as_str().unwrap(), init_args::ledger_wasm_url());
            assert_eq!(step["sha256"].as_str().unwrap(), init_args::LEDGER_WASM_SHA256);
        } else {
            let commands: Vec<&str> = step["commands"].as_sequence().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
            assert_eq!(commands[0], format!("bash scripts/build-canisters.sh --only {name}"), "one canister per build");
            assert!(commands[1].contains(&format!("target/canisters/{name}.wasm.gz")) && commands[1].contains("$ICP_WASM_OUTPUT_PATH"));
        }
    }
    let envs = yaml["environments"].as_sequence().unwrap();
    let ic = envs.iter().find(|e| e["name"] == "ic").expect("an ic environment");
    let ic_canisters: Vec<&str> = ic["canisters"].as_sequence().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(ic_canisters, ["staking_hub", "learning_content", "reward_ledger", "frontend_assets"], "no stand-in reaches the IC");
    let local = &yaml["networks"][0];
    assert_eq!((local["name"].as_str(), local["mode"].as_str()), (Some("local"), Some("connected")));
}

#[test]
fn dfx_json_installs_the_files_the_command_writes_and_the_release_ledger_unchanged() {
    let dfx: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo().join("dfx.json")).unwrap()).unwrap();
    let canisters = dfx["canisters"].as_object().unwrap();
    let mut names: Vec<&str> = canisters.keys().map(String::as_str).collect();
    names.sort();
    let mut expected = PLATFORM.to_vec();
    expected.sort();
    assert_eq!(names, expected, "the platform's canisters, no standalone user_profile");
    let written: Vec<String> = init_args::mainnet(&ids(), &options()).unwrap().iter().map(|a| format!("deploy/init-args/ic/{}.did", a.canister)).collect();
    for (name, c) in canisters {
        assert!(c.get("metadata").is_none(), "{name}: dfx would rewrite the Wasm (and its hash) to add metadata");
        let file = c["init_arg_file"].as_str().unwrap_or_else(|| panic!("{name} has no init_arg_file"));
        assert!(written.iter().any(|w| w == file), "{name}: {file} is not what init-args writes");
        if name == "reward_ledger" {
            assert_eq!(c["wasm"].as_str().unwrap(), init_args::ledger_wasm_url());
            assert!(c["candid"].as_str().unwrap().contains(init_args::LEDGER_RELEASE));
            assert!(c.get("build").is_none());
        } else {
            assert_eq!(c["build"].as_str().unwrap(), format!("bash scripts/build-canisters.sh --only {name}"));
        }
    }
}

/// dfx.json uses only what dfx's configuration schema knows (dfinity/sdk `docs/dfx-json-schema.json`
/// at commit 0f6445903bd3, 2026-06-23): the custom canister's required `candid`, `type`, `wasm`, its
/// optional `build`, and the common canister properties; networks with `providers`. dfx itself is
/// not installable here, so its schema is the check.
#[test]
fn dfx_json_keys_are_those_of_dfxs_schema() {
    const TOP: [&str; 6] = ["canisters", "defaults", "dfx", "networks", "profile", "version"];
    const COMMON: [&str; 18] = [
        "args", "declarations", "dependencies", "frontend", "gzip", "init_arg", "init_arg_file", "initialization_values", "main",
        "metadata", "optimize", "post_install", "pre_install", "pullable", "remote", "shrink", "specified_id", "tech_stack",
    ];
    const CUSTOM: [&str; 4] = ["build", "candid", "type", "wasm"];
    const CUSTOM_REQUIRED: [&str; 3] = ["candid", "type", "wasm"];
    const NETWORK_PROVIDER: [&str; 3] = ["playground", "providers", "type"];
    let dfx: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo().join("dfx.json")).unwrap()).unwrap();
    for key in dfx.as_object().unwrap().keys() {
        assert!(TOP.contains(&key.as_str()), "dfx.json: unknown top-level key {key}");
    }
    for (name, c) in dfx["canisters"].as_object().unwrap() {
        assert_eq!(c["type"], "custom", "{name}");
        for key in c.as_object().unwrap().keys() {
            assert!(COMMON.contains(&key.as_str()) || CUSTOM.contains(&key.as_str()), "{name}: dfx does not know {key}");
        }
        for key in CUSTOM_REQUIRED {
            assert!(c.get(key).is_some(), "{name}: a custom canister needs {key}");
        }
        // "No build commands are allowed if the `wasm` field is a URL."
        if c["wasm"].as_str().unwrap().starts_with("https://") {
            assert!(c.get("build").is_none(), "{name}");
        }
    }
    for (name, n) in dfx["networks"].as_object().unwrap() {
        for key in n.as_object().unwrap().keys() {
            assert!(NETWORK_PROVIDER.contains(&key.as_str()), "network {name}: dfx does not know {key}");
        }
        assert!(["ephemeral", "persistent"].contains(&n["type"].as_str().unwrap()));
        assert!(n["providers"].as_array().unwrap().iter().all(|p| p.as_str().unwrap().starts_with("http://127.0.0.1:")));
    }
}
