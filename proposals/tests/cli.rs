//! Runs the `proposals` binary on the fixtures: every good command must produce a ManageNeuron
//! that decodes to the expected action and payload (and whose Candid text re-encodes to the
//! same bytes); every bad one must exit non-zero with a clear message and write nothing.

use candid::{Decode, Principal};
use platform_types::sns::{
    Action, Command, ManageNeuron, Proposal, Topic, UpgradeSnsControlledCanister,
};
use platform_types::{
    AddUnitsArgs, ConfigOverrides, ContentUpgradeArgs, HubUpgradeArgs, RetireUnitsArgs,
    RolloutCommand, SetShardStatusArgs, UpdateUnitArgs,
};
use proposals::candid_text;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::atomic::{AtomicUsize, Ordering};

const HUB: &str = "bkyz2-fmaaa-aaaaa-qaaaq-cai";
const CONTENT: &str = "bd3sg-teaaa-aaaaa-qaaba-cai";
const SHARD: &str = "be2us-64aaa-aaaaa-qaabq-cai";
const DISABLED_SHARD: &str = "br5f7-7uaaa-aaaaa-qaaca-cai";
const STRANGER: &str = "b77ix-eeaaa-aaaaa-qaada-cai";
const GOVERNANCE: &str = "by6od-j4aaa-aaaaa-qaadq-cai";
/// frontend_assets in fixtures/canister_ids.json.
const FRONTEND: &str = "qjdve-lqaaa-aaaaa-aaaeq-cai";

fn neuron() -> String {
    "0123456789abcdef".repeat(4)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// A fresh path under the temp dir (not created).
fn temp_path(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let p = std::env::temp_dir().join(format!(
        "proposals-test-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&p);
    p
}

/// A directory removed when dropped.
struct Out(PathBuf);

impl std::ops::Deref for Out {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Run {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = Process::new(env!("CARGO_BIN_EXE_proposals"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    Run {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// A good command: runs it with `--neuron` and `--out`, checks the files and the Candid text
/// round trip, and returns the decoded ManageNeuron's proposal, the out dir and the run.
fn good(args: &[&str]) -> (Proposal, Out, Run) {
    let out = Out(temp_path("out"));
    let n = neuron();
    let mut all: Vec<&str> = vec!["--neuron", &n, "--out", out.0.to_str().unwrap()];
    all.extend_from_slice(args);
    let r = run(&all);
    assert!(r.ok, "{args:?} failed: {}", r.stderr);
    let p = check_dir(&out, &r);
    (p, out, r)
}

/// Checks one proposal directory: manage_neuron.bin decodes; manage_neuron.did (also on stdout)
/// parses and encodes back to exactly manage_neuron.bin; proposal.did to the proposal.
fn check_dir(dir: &Path, r: &Run) -> Proposal {
    let bin = std::fs::read(dir.join("manage_neuron.bin")).unwrap();
    let did = std::fs::read_to_string(dir.join("manage_neuron.did")).unwrap();
    let mn: ManageNeuron = candid::decode_one(&bin).unwrap();
    assert_eq!(mn.subaccount, hex::decode(neuron()).unwrap());
    assert_eq!(
        candid_text::encode_text::<ManageNeuron>(&did).unwrap(),
        bin,
        "the Candid text must re-encode to the same bytes"
    );
    if did.len() < 64 * 1024 {
        assert!(
            r.stdout.contains(did.trim()),
            "stdout carries the manage_neuron text"
        );
    }
    let Some(Command::MakeProposal(p)) = mn.command else {
        panic!("not a MakeProposal: {:?}", mn.command)
    };
    let proposal_did = std::fs::read_to_string(dir.join("proposal.did")).unwrap();
    let back: Proposal = candid_text::parse_text(&proposal_did).unwrap();
    assert_eq!(back, p);
    assert_eq!(quill_reads_proposal_path(&dir.join("proposal.bin")), p);
    let printed = quill_proposal_paths(&r.stdout);
    assert!(
        printed.contains(&dir.join("proposal.bin")),
        "quill's --proposal-path names {}: {printed:?}",
        dir.join("proposal.bin").display()
    );
    for path in &printed {
        // Every printed `--proposal-path` file must be one quill can read.
        quill_reads_proposal_path(path);
    }
    assert!(
        r.stdout.contains("dfx canister --network ic call"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("make-proposal {}", neuron())),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("register-vote"), "{}", r.stdout);
    p
}

/// Reads a `--proposal-path` file as quill's `sns make-proposal` does
/// (src/commands/sns/make_proposal.rs: `Decode!(&fs::read(path)?, Proposal)`).
fn quill_reads_proposal_path(path: &Path) -> Proposal {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Decode!(&bytes, Proposal)
        .unwrap_or_else(|e| panic!("quill cannot decode {}: {e}", path.display()))
}

/// The files the printed quill commands pass as `--proposal-path` (single-quoted by the tool).
fn quill_proposal_paths(stdout: &str) -> Vec<PathBuf> {
    stdout
        .lines()
        .filter(|l| l.starts_with("quill sns ") && l.contains(" make-proposal "))
        .filter_map(|l| l.split_once(" --proposal-path '"))
        .map(|(_, rest)| PathBuf::from(rest.split_once('\'').expect("closing quote").0))
        .collect()
}

#[test]
fn quill_proposal_path_is_binary_candid_not_text() {
    let (p, out, r) = good(&["motion", "--title", "t", "--summary", "s", "--text", "go"]);
    let text = std::fs::read(out.join("proposal.did")).unwrap();
    assert!(
        Decode!(&text, Proposal).is_err(),
        "quill could not read the text file, so it must not be the one printed"
    );
    assert_eq!(
        quill_proposal_paths(&r.stdout),
        vec![out.join("proposal.bin")]
    );
    assert!(
        !r.stdout.contains("proposal.did' > message.json"),
        "{}",
        r.stdout
    );
    assert_eq!(quill_reads_proposal_path(&out.join("proposal.bin")), p);
}

/// The payload of an ExecuteGenericNervousSystemFunction proposal, checked against payload.bin
/// and the printed hex and sha256.
fn payload_of<T: candid::CandidType + serde::de::DeserializeOwned>(
    p: &Proposal,
    id: u64,
    dir: &Path,
    r: &Run,
) -> T {
    let Some(Action::ExecuteGenericNervousSystemFunction(e)) = &p.action else {
        panic!("{:?}", p.action)
    };
    assert_eq!(e.function_id, id);
    assert_eq!(std::fs::read(dir.join("payload.bin")).unwrap(), e.payload);
    assert!(
        r.stdout.contains(&hex::encode(&e.payload)),
        "hex payload printed"
    );
    assert!(
        r.stdout.contains(&hex::encode(Sha256::digest(&e.payload))),
        "payload sha256 printed"
    );
    assert!(
        r.stdout.contains(&candid_text::blob_literal(&e.payload)),
        "blob literal printed"
    );
    candid::decode_one(&e.payload).unwrap()
}

/// A bad command: exits 1 with `message` on stderr, prints nothing, writes nothing.
fn bad(args: &[&str], message: &str) {
    let out = temp_path("bad");
    let n = neuron();
    let mut all: Vec<&str> = vec!["--neuron", &n, "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let r = run(&all);
    assert!(!r.ok, "{args:?} should fail; stdout: {}", r.stdout);
    assert_eq!(r.code, Some(1), "{args:?}: {}", r.stderr);
    assert!(
        r.stderr.contains(message),
        "{args:?}: expected {message:?} in: {}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "{args:?} printed: {}", r.stdout);
    assert!(!out.exists(), "{args:?} wrote {}", out.display());
}

fn principal(s: &str) -> Principal {
    Principal::from_text(s).unwrap()
}

// ------------------------------------------------------------------ add-function

#[test]
fn add_function_registers_one_custom_proposal() {
    let ids = fixture("canister_ids.json");
    let (p, _, r) = good(&["add-function", "--id", "1000", "--canister-ids", &ids]);
    let Some(Action::AddGenericNervousSystemFunction(f)) = p.action else {
        panic!()
    };
    assert_eq!(f.id, 1000);
    let g = f.generic().unwrap();
    assert_eq!(g.target_canister_id, Some(principal(HUB)));
    assert_eq!(g.validator_canister_id, Some(principal(HUB)));
    assert_eq!(g.target_method_name.as_deref(), Some("set_shard_status"));
    assert_eq!(
        g.validator_method_name.as_deref(),
        Some("set_shard_status_validate")
    );
    assert_eq!(g.topic, Some(Topic::CriticalDappOperations));
    assert_eq!(
        p.title,
        "Add custom proposal 1000: Disable or enable a shard"
    );
    assert!(
        p.summary.contains("Emergency switch"),
        "the description is in the default summary"
    );
    assert!(
        r.stdout.contains("submit this one with dfx"),
        "quill drops the topic"
    );
}

#[test]
fn add_function_all_builds_one_proposal_per_file_with_local_ids() {
    let ids = fixture("canister_ids.json");
    let (_, out, r) = {
        let out = Out(temp_path("all"));
        let n = neuron();
        let r = run(&[
            "--neuron",
            &n,
            "--out",
            out.0.to_str().unwrap(),
            "--network",
            "local",
            "--canister-ids",
            &ids,
            "add-function",
            "--all",
            "--canister",
            &format!("learning_content={STRANGER}"),
        ]);
        assert!(r.ok, "{}", r.stderr);
        ((), out, r)
    };
    let mut seen = Vec::new();
    for (id, canister, topic) in [
        (1000, HUB, Topic::CriticalDappOperations),
        (1001, HUB, Topic::ApplicationBusinessLogic),
        (1002, STRANGER, Topic::ApplicationBusinessLogic),
        (1003, STRANGER, Topic::ApplicationBusinessLogic),
        (1004, STRANGER, Topic::ApplicationBusinessLogic),
        (1005, HUB, Topic::DappCanisterManagement),
        (1006, FRONTEND, Topic::DappCanisterManagement),
        (1007, HUB, Topic::CriticalDappOperations),
        (1008, HUB, Topic::CriticalDappOperations),
        (1009, HUB, Topic::CriticalDappOperations),
        (1010, HUB, Topic::ApplicationBusinessLogic),
        (1011, HUB, Topic::CriticalDappOperations),
        (1012, HUB, Topic::CriticalDappOperations),
    ] {
        let bin = std::fs::read(out.join(id.to_string()).join("manage_neuron.bin")).unwrap();
        let mn: ManageNeuron = candid::decode_one(&bin).unwrap();
        let Some(Command::MakeProposal(p)) = mn.command else {
            panic!()
        };
        let Some(Action::AddGenericNervousSystemFunction(f)) = p.action else {
            panic!()
        };
        assert_eq!(f.id, id);
        let g = f.generic().unwrap();
        assert_eq!(
            (g.target_canister_id, g.topic),
            (Some(principal(canister)), Some(topic)),
            "function {id}"
        );
        seen.push(id);
    }
    // One proposal per file, and every file's function checked above.
    let mut in_files: Vec<u64> = std::fs::read_dir(root().join("sns/custom_functions"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            let id = name.strip_suffix(".json")?.split('_').next()?.parse::<u64>().ok()?;
            Some(id)
        })
        .collect();
    in_files.sort();
    assert_eq!(seen, in_files);
    assert_eq!(r.stdout.matches("=== Proposal ").count(), in_files.len());
    assert!(r.stdout.contains("dfx canister --network local call"));
}

#[test]
fn add_function_refuses_bad_input() {
    let ids = fixture("canister_ids.json");
    let bad_dir = fixture("functions_bad_id");
    bad(
        &[
            "add-function",
            "--all",
            "--functions-dir",
            &bad_dir,
            "--canister-ids",
            &ids,
        ],
        "id 999 is below 1000",
    );
    bad(
        &["add-function", "--id", "999", "--canister-ids", &ids],
        "custom function ids start at 1000",
    );
    bad(
        &["add-function", "--id", "1999", "--canister-ids", &ids],
        "no file 1999_*.json",
    );
    bad(
        &["add-function", "--id", "1000"],
        "no id for canister \"staking_hub\"",
    );
    bad(
        &[
            "add-function",
            "--id",
            "1000",
            "--canister",
            "staking_hub=aaaaa-aa",
        ],
        "management canister",
    );
    let sns = fixture("sns_canister_ids.json");
    bad(
        &[
            "add-function",
            "--id",
            "1000",
            "--canister",
            &format!("staking_hub={GOVERNANCE}"),
            "--sns-canister-ids",
            &sns,
        ],
        "SNS governance",
    );
    bad(
        &[
            "add-function",
            "--id",
            "1000",
            "--canister-ids",
            &ids,
            "--title",
            &"t".repeat(257),
        ],
        "--title: at most 256 bytes",
    );
}

// ------------------------------------------------------------------ 1000 set-shard-status

#[test]
fn set_shard_status_disables_a_known_shard() {
    for shards in [fixture("shards.did"), fixture("shards.json")] {
        let (p, out, r) = good(&[
            "set-shard-status",
            "--shard",
            SHARD,
            "--disable",
            "--reason",
            "over-credits rewards",
            "--shards-file",
            &shards,
            "--summary",
            "Freeze it until the fix ships.",
            "--url",
            "https://forum.dfinity.org/t/12345",
        ]);
        let args: SetShardStatusArgs = payload_of(&p, 1000, &out, &r);
        assert_eq!(
            args,
            SetShardStatusArgs {
                shard_id: principal(SHARD),
                disabled: true,
                reason: "over-credits rewards".into()
            }
        );
        assert_eq!(p.url, "https://forum.dfinity.org/t/12345");
        assert!(
            r.stdout.contains("DISABLE shard (emergency)"),
            "validator preview"
        );
        assert!(r.stdout.contains("Topic:   CriticalDappOperations"));
    }
    // Enabling the disabled one.
    let (p, out, r) = good(&[
        "set-shard-status",
        "--shard",
        DISABLED_SHARD,
        "--enable",
        "--reason",
        "fixed in v2",
        "--shards-file",
        &fixture("shards.did"),
        "--summary",
        "s",
    ]);
    let args: SetShardStatusArgs = payload_of(&p, 1000, &out, &r);
    assert!(!args.disabled);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn set_shard_status_refuses_unknown_shards_and_empty_reasons() {
    let shards = fixture("shards.did");
    bad(
        &[
            "set-shard-status",
            "--shard",
            STRANGER,
            "--disable",
            "--reason",
            "r",
            "--shards-file",
            &shards,
            "--summary",
            "s",
        ],
        "is not a shard of the hub",
    );
    bad(
        &[
            "set-shard-status",
            "--shard",
            STRANGER,
            "--disable",
            "--reason",
            "r",
            "--shards-file",
            &fixture("shards.json"),
            "--summary",
            "s",
        ],
        "is not a shard of the hub",
    );
    bad(
        &[
            "set-shard-status",
            "--shard",
            SHARD,
            "--disable",
            "--reason",
            "r",
            "--summary",
            "s",
        ],
        "--skip-shard-check",
    );
    // The hub refuses a change to the state the shard is already in.
    bad(
        &[
            "set-shard-status",
            "--shard",
            DISABLED_SHARD,
            "--disable",
            "--reason",
            "r",
            "--shards-file",
            &shards,
            "--summary",
            "s",
        ],
        "is already Disabled",
    );
    bad(
        &[
            "set-shard-status",
            "--shard",
            SHARD,
            "--enable",
            "--reason",
            "r",
            "--shards-file",
            &fixture("shards.json"),
            "--summary",
            "s",
        ],
        "not Disabled",
    );
    bad(
        &[
            "set-shard-status",
            "--shard",
            SHARD,
            "--disable",
            "--reason",
            "  ",
            "--shards-file",
            &shards,
            "--summary",
            "s",
        ],
        "reason: must not be empty",
    );
    bad(
        &[
            "set-shard-status",
            "--shard",
            SHARD,
            "--disable",
            "--reason",
            "r",
            "--shards-file",
            &shards,
        ],
        "--summary",
    );
    bad(
        &[
            "set-shard-status",
            "--shard",
            "not-a-principal",
            "--disable",
            "--reason",
            "r",
            "--skip-shard-check",
            "--summary",
            "s",
        ],
        "--shard",
    );
    bad(
        &[
            "set-shard-status",
            "--shard",
            SHARD,
            "--disable",
            "--reason",
            "r",
            "--shards-file",
            &fixture("canister_ids.json"),
            "--summary",
            "s",
        ],
        "--shards-file",
    );
}

#[test]
fn set_shard_status_can_skip_the_shard_check_with_a_warning() {
    let (p, out, r) = good(&[
        "set-shard-status",
        "--shard",
        STRANGER,
        "--disable",
        "--reason",
        "r",
        "--skip-shard-check",
        "--summary",
        "s",
    ]);
    let args: SetShardStatusArgs = payload_of(&p, 1000, &out, &r);
    assert_eq!(args.shard_id, principal(STRANGER));
    assert!(
        r.stderr.contains("WARNING: --skip-shard-check"),
        "{}",
        r.stderr
    );
}

// ------------------------------------------------------------------ 1001 update-config

#[test]
fn update_config_carries_only_the_given_fields() {
    let (p, out, r) = good(&[
        "update-config",
        "--current-config",
        &fixture("current_config.did"),
        "--pass-mark-percent",
        "80",
        "--daily-attempt-limit",
        "6",
        "--summary",
        "Raise the bar.",
    ]);
    let c: ConfigOverrides = payload_of(&p, 1001, &out, &r);
    assert_eq!(
        c,
        ConfigOverrides {
            pass_mark_percent: Some(80),
            daily_attempt_limit: Some(6),
            ..Default::default()
        }
    );
    assert!(
        r.stdout.contains("pass_mark_percent: 70 -> 80"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    // The economic parameters belong to the critical function 1009.
    bad(
        &["update-config", "--current-config", &fixture("current_config.did"), "--reward-per-quiz-e8s", "5_000_000_000", "--summary", "s"],
        "only the critical function 1009 (update_economic_config) may change them",
    );
    let (p, out, r) = good(&[
        "update-economic-config",
        "--current-config",
        &fixture("current_config.did"),
        "--reward-per-quiz-e8s",
        "5_000_000_000",
        "--daily-emission-budget-e8s",
        "50_000_000_000_000",
        "--summary",
        "Halve the reward.",
    ]);
    let c: platform_types::EconomicConfigChanges = payload_of(&p, 1009, &out, &r);
    assert_eq!(
        c,
        platform_types::EconomicConfigChanges {
            reward_per_quiz_e8s: Some(5_000_000_000),
            daily_emission_budget_e8s: Some(50_000_000_000_000),
            ..Default::default()
        }
    );
    assert!(r.stdout.contains("reward_per_quiz_e8s: 10000000000 -> 5000000000"), "{}", r.stdout);
    assert!(r.stdout.contains("CriticalDappOperations"), "{}", r.stdout);
    bad(
        &["update-economic-config", "--current-config", &fixture("current_config.did"), "--daily-emission-budget-e8s", "420_000_000_000_000_000", "--summary", "s"],
        "daily_emission_budget_e8s must be in",
    );
    bad(&["update-economic-config", "--summary", "s"], "give at least one setting");
    // The per-shard daily top-up budget is a shard-cycles parameter: 1009 too.
    bad(
        &["update-config", "--current-config", &fixture("current_config.did"), "--shard-topup-daily-budget-cycles", "4_000_000_000_000", "--summary", "s"],
        "only the critical function 1009 (update_economic_config) may change them",
    );
    let (p, out, r) = good(&[
        "update-economic-config",
        "--current-config",
        &fixture("current_config.did"),
        "--shard-topup-daily-budget-cycles",
        "4_000_000_000_000",
        "--summary",
        "s",
    ]);
    let c: platform_types::EconomicConfigChanges = payload_of(&p, 1009, &out, &r);
    assert_eq!(
        c,
        platform_types::EconomicConfigChanges {
            shard_topup_daily_budget_cycles: Some(4_000_000_000_000),
            ..Default::default()
        }
    );
    assert!(r.stdout.contains("shard_topup_daily_budget_cycles: 3000000000000 -> 4000000000000"), "{}", r.stdout);
    // The dust rules stay with 1001.
    let (p, out, r) = good(&[
        "update-config",
        "--current-config",
        &fixture("current_config.did"),
        "--min-withdrawal-e8s",
        "500_000_000",
        "--withdrawal-cooldown-secs",
        "600",
        "--summary",
        "s",
    ]);
    let c: ConfigOverrides = payload_of(&p, 1001, &out, &r);
    assert_eq!(
        c,
        ConfigOverrides {
            min_withdrawal_e8s: Some(500_000_000),
            withdrawal_cooldown_secs: Some(600),
            ..Default::default()
        }
    );
    assert!(r.stdout.contains("min_withdrawal_e8s: 1000000000 -> 500000000"), "{}", r.stdout);
    assert!(r.stdout.contains("withdrawal_cooldown_secs: 3600 -> 600"), "{}", r.stdout);
    // 1001: the storage fields (size limits and cleanup).
    let (p, out, r) = good(&[
        "update-config",
        "--current-config",
        &fixture("current_config.did"),
        "--shard-memory-budget-bytes",
        "1_073_741_824",
        "--settled-retention-secs",
        "604800",
        "--inactive-archive-secs",
        "31536000",
        "--summary",
        "s",
    ]);
    let c: ConfigOverrides = payload_of(&p, 1001, &out, &r);
    assert_eq!(
        c,
        ConfigOverrides {
            shard_memory_budget_bytes: Some(1 << 30),
            settled_retention_secs: Some(604_800),
            inactive_archive_secs: Some(31_536_000),
            ..Default::default()
        }
    );
    assert!(r.stdout.contains("shard_memory_budget_bytes: 4294967296 -> 1073741824"), "{}", r.stdout);
    assert!(r.stdout.contains("inactive_archive_secs: 0 -> 31536000"), "{}", r.stdout);
    // 1010: pause and resume.
    let (p, out, r) = good(&["pause-platform", "--reason", "farm under way", "--summary", "s"]);
    let a: platform_types::SetPlatformPausedArgs = payload_of(&p, 1010, &out, &r);
    assert_eq!(a, platform_types::SetPlatformPausedArgs { paused: true, reason: "farm under way".into() });
    assert!(r.stdout.contains("PAUSE THE PLATFORM"), "{}", r.stdout);
    let (p, out, r) = good(&["pause-platform", "--resume", "--reason", "fixed", "--summary", "s"]);
    let a: platform_types::SetPlatformPausedArgs = payload_of(&p, 1010, &out, &r);
    assert!(!a.paused);
    bad(&["pause-platform", "--reason", " ", "--summary", "s"], "reason");
    // Without the config in force: the defaults, with a warning.
    let (p, out, r) = good(&[
        "update-config",
        "--daily-attempt-limit",
        "7",
        "--summary",
        "s",
    ]);
    let c: ConfigOverrides = payload_of(&p, 1001, &out, &r);
    assert_eq!(
        c,
        ConfigOverrides {
            daily_attempt_limit: Some(7),
            ..Default::default()
        }
    );
    assert!(r.stderr.contains("no --current-config"), "{}", r.stderr);
    assert!(r.stdout.contains("daily_attempt_limit: 5 -> 7"));
}

#[test]
fn update_config_names_and_clears_user_export_readers() {
    // Two readers: the payload lists them, voters see the privacy warning.
    let (p, out, r) = good(&[
        "update-config",
        "--current-config",
        &fixture("current_config.did"),
        "--user-export-reader",
        STRANGER,
        "--user-export-reader",
        FRONTEND,
        "--summary",
        "archive before enabling inactive archiving",
    ]);
    let c: ConfigOverrides = payload_of(&p, 1001, &out, &r);
    assert_eq!(
        c,
        ConfigOverrides {
            user_export_readers: Some(vec![principal(STRANGER), principal(FRONTEND)]),
            ..Default::default()
        }
    );
    assert!(
        r.stdout.contains(&format!("user_export_readers (may read every learner's private data): [] -> [{STRANGER}, {FRONTEND}]")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("WARNING: these principals can read every learner's profile (email, name)"), "{}", r.stdout);
    // Bad lists are refused before anything is written.
    bad(
        &["update-config", "--current-config", &fixture("current_config.did"), "--user-export-reader", STRANGER,
          "--user-export-reader", STRANGER, "--summary", "s"],
        "user_export_readers: b77ix-eeaaa-aaaaa-qaada-cai is listed twice",
    );
    let anonymous = run(&["--neuron", &neuron(), "update-config", "--user-export-reader", "2vxsx-fae", "--summary", "s"]);
    assert!(!anonymous.ok && anonymous.stderr.contains("the anonymous principal"), "{}", anonymous.stderr);
    bad(
        &["update-config", "--current-config", &fixture("current_config.did"), "--clear-user-export-readers", "--summary", "s"],
        "the proposal changes nothing",
    );
    let both = run(&["--neuron", &neuron(), "update-config", "--user-export-reader", STRANGER, "--clear-user-export-readers", "--summary", "s"]);
    assert!(!both.ok && both.stderr.contains("cannot be used with"), "{}", both.stderr);
    // With readers in force, --clear-user-export-readers empties the list.
    let dir = temp_path("readers");
    std::fs::create_dir_all(&dir).unwrap();
    let current = dir.join("current_config.did");
    let with_reader = std::fs::read_to_string(fixture("current_config.did")).unwrap().replace(
        "shard_topup_amount_cycles = 1_000_000_000_000 : nat;",
        &format!("shard_topup_amount_cycles = 1_000_000_000_000 : nat;\n    user_export_readers = opt vec {{ principal \"{STRANGER}\" }};"),
    );
    std::fs::write(&current, with_reader).unwrap();
    let (p, out, r) = good(&["update-config", "--current-config", current.to_str().unwrap(), "--clear-user-export-readers", "--summary", "s"]);
    let c: ConfigOverrides = payload_of(&p, 1001, &out, &r);
    assert_eq!(c, ConfigOverrides { user_export_readers: Some(vec![]), ..Default::default() });
    assert!(r.stdout.contains(&format!("[{STRANGER}] -> []")), "{}", r.stdout);
    assert!(r.stdout.contains("only the hub can export learner data"), "{}", r.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn update_config_names_and_clears_shard_subnets() {
    let (a, b) = (Principal::from_slice(&[0x11; 29]).to_text(), Principal::from_slice(&[0x22; 29]).to_text());
    let (p, out, r) = good(&[
        "update-config", "--current-config", &fixture("current_config.did"), "--shard-subnet", &a, "--shard-subnet", &b,
        "--summary", "spread new shards over two subnets",
    ]);
    let c: ConfigOverrides = payload_of(&p, 1001, &out, &r);
    assert_eq!(c, ConfigOverrides { shard_subnets: Some(vec![principal(&a), principal(&b)]), ..Default::default() });
    assert!(r.stdout.contains(&format!("shard_subnets (where new shards are created): [] -> [{a}, {b}]")), "{}", r.stdout);
    bad(
        &["update-config", "--current-config", &fixture("current_config.did"), "--shard-subnet", &a, "--shard-subnet", &a,
          "--summary", "s"],
        &format!("shard_subnets: {a} is listed twice"),
    );
    let both = run(&["--neuron", &neuron(), "update-config", "--shard-subnet", &a, "--clear-shard-subnets", "--summary", "s"]);
    assert!(!both.ok && both.stderr.contains("cannot be used with"), "{}", both.stderr);
}

#[test]
fn update_config_refuses_out_of_range_and_empty_changes() {
    let cur = fixture("current_config.did");
    bad(
        &[
            "update-config",
            "--current-config",
            &cur,
            "--pass-mark-percent",
            "101",
            "--summary",
            "s",
        ],
        "pass_mark_percent must be in 1..=100",
    );
    bad(
        &[
            "update-config",
            "--current-config",
            &cur,
            "--pass-mark-percent",
            "0",
            "--summary",
            "s",
        ],
        "pass_mark_percent",
    );
    bad(
        &[
            "update-config",
            "--current-config",
            &cur,
            "--shard-soft-limit",
            "200000",
            "--summary",
            "s",
        ],
        "shard_soft_limit must be in 1..=shard_hard_limit",
    );
    bad(
        &[
            "update-config",
            "--current-config",
            &cur,
            "--shard-soft-limit",
            "20",
            "--shard-hard-limit",
            "10",
            "--summary",
            "s",
        ],
        "shard_soft_limit",
    );
    bad(
        &[
            "update-config",
            "--current-config",
            &cur,
            "--pass-mark-percent",
            "70",
            "--summary",
            "s",
        ],
        "the proposal changes nothing",
    );
    bad(
        &["update-config", "--current-config", &cur, "--summary", "s"],
        "give at least one setting",
    );
    bad(
        &[
            "update-config",
            "--current-config",
            &fixture("shards.did"),
            "--pass-mark-percent",
            "80",
            "--summary",
            "s",
        ],
        "--current-config",
    );
    bad(
        &[
            "update-config",
            "--daily-attempt-limit",
            "1001",
            "--summary",
            "s",
        ],
        "daily_attempt_limit must be in 1..=1000",
    );
    bad(
        &[
            "update-config",
            "--reward-per-quiz-e8s",
            "20_000_000_000_000",
            "--summary",
            "s",
        ],
        "reward_per_quiz_e8s",
    );
}

// ------------------------------------------------------------------ 1002-1004 units

#[test]
fn add_units_carries_the_units_and_warns_that_answers_become_public() {
    let (p, out, r) = good(&[
        "add-units",
        "--file",
        &fixture("units.json"),
        "--summary",
        "Two ICP units.",
    ]);
    let a: AddUnitsArgs = payload_of(&p, 1002, &out, &r);
    let expected =
        proposals::units::parse_units(&std::fs::read_to_string(fixture("units.json")).unwrap())
            .unwrap();
    assert_eq!(a.units, expected);
    assert_eq!(a.units[0].answer_key, vec![0, 1]);
    assert!(r.stderr.contains("PUBLIC"), "{}", r.stderr);
    assert!(
        p.title.contains("icp-canisters-1, icp-canisters-2"),
        "{}",
        p.title
    );
}

#[test]
fn update_unit_carries_the_unit() {
    let (p, out, r) = good(&[
        "update-unit",
        "--file",
        &fixture("unit_update.json"),
        "--summary",
        "s",
    ]);
    let u: UpdateUnitArgs = payload_of(&p, 1003, &out, &r);
    assert_eq!(u.unit.unit.id, "icp-canisters-2");
    assert_eq!(u.unit.answer_key, vec![1, 0]);
    assert!(r.stderr.contains("PUBLIC"));
}

#[test]
fn retire_units_carries_ids_and_reason() {
    let (p, out, r) = good(&[
        "retire-units",
        "--unit",
        "icp-canisters-1",
        "--unit",
        "icp-canisters-2",
        "--reason",
        "outdated",
        "--summary",
        "s",
    ]);
    let a: RetireUnitsArgs = payload_of(&p, 1004, &out, &r);
    assert_eq!(
        a,
        RetireUnitsArgs {
            unit_ids: vec!["icp-canisters-1".into(), "icp-canisters-2".into()],
            reason: "outdated".into()
        }
    );
}

#[test]
fn unit_proposals_refuse_bad_units() {
    bad(
        &[
            "add-units",
            "--file",
            &fixture("units_answer_out_of_range.json"),
            "--summary",
            "s",
        ],
        "answer key of question 1 is out of range",
    );
    bad(
        &[
            "add-units",
            "--file",
            &fixture("unit_update.json"),
            "--summary",
            "s",
        ],
        "expected a JSON array",
    );
    bad(
        &[
            "update-unit",
            "--file",
            &fixture("units.json"),
            "--summary",
            "s",
        ],
        "expected a JSON object",
    );
    bad(
        &[
            "add-units",
            "--file",
            &fixture("missing.json"),
            "--summary",
            "s",
        ],
        "--file",
    );
    bad(
        &[
            "retire-units",
            "--unit",
            "a",
            "--unit",
            "a",
            "--reason",
            "r",
            "--summary",
            "s",
        ],
        "given twice",
    );
    bad(
        &[
            "retire-units",
            "--unit",
            "a/b",
            "--reason",
            "r",
            "--summary",
            "s",
        ],
        "may only contain",
    );
    bad(
        &[
            "retire-units",
            "--unit",
            "a",
            "--reason",
            "",
            "--summary",
            "s",
        ],
        "reason: must not be empty",
    );
    bad(
        &[
            "retire-units",
            "--unit",
            &"x".repeat(65),
            "--reason",
            "r",
            "--summary",
            "s",
        ],
        "1 to 64 bytes",
    );
    bad(
        &[
            "add-units",
            "--file",
            &fixture("units_empty.json"),
            "--summary",
            "s",
        ],
        "no units",
    );

    // learning_content's per-proposal limits: 100 units, 1,000,000 bytes of payload.
    let dir = temp_path("units");
    std::fs::create_dir_all(&dir).unwrap();
    let unit = |id: String, body: usize| {
        serde_json::json!({ "unit": { "id": id, "subject": "s", "title": "t", "body": "b".repeat(body),
            "questions": [{ "text": "q", "options": ["x", "y"] }] }, "answer_key": [0] })
    };
    let many = dir.join("many.json");
    std::fs::write(
        &many,
        serde_json::to_string(
            &(0..101)
                .map(|i| unit(format!("u{i}"), 1))
                .collect::<Vec<_>>(),
        )
        .unwrap(),
    )
    .unwrap();
    bad(
        &[
            "add-units",
            "--file",
            many.to_str().unwrap(),
            "--summary",
            "s",
        ],
        "1 to 100 units per proposal, got 101",
    );
    let large = dir.join("large.json");
    std::fs::write(
        &large,
        serde_json::to_string(
            &(0..10)
                .map(|i| unit(format!("u{i}"), 100 * 1024))
                .collect::<Vec<_>>(),
        )
        .unwrap(),
    )
    .unwrap();
    bad(
        &[
            "add-units",
            "--file",
            large.to_str().unwrap(),
            "--summary",
            "s",
        ],
        "at most 1000000",
    );
    let ids: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let mut args = vec!["retire-units", "--reason", "r", "--summary", "s"];
    for id in &ids {
        args.extend(["--unit", id.as_str()]);
    }
    bad(&args, "got 101");
    let _ = std::fs::remove_dir_all(dir);
}

// ------------------------------------------------------------------ 1005 rollout

#[test]
fn rollout_commands() {
    for (args, expected) in [
        (
            vec!["rollout", "start", "--batch-size", "5"],
            RolloutCommand::Start { batch_size: 5 },
        ),
        (vec!["rollout", "pause"], RolloutCommand::Pause),
        (vec!["rollout", "resume"], RolloutCommand::Resume),
        (
            vec!["rollout", "set-batch-size", "50"],
            RolloutCommand::SetBatchSize { batch_size: 50 },
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--summary", "s"]);
        let (p, out, r) = good(&a);
        let c: RolloutCommand = payload_of(&p, 1005, &out, &r);
        assert_eq!(c, expected);
        assert!(r.stdout.contains("Topic:   DappCanisterManagement"));
    }
    bad(
        &["rollout", "start", "--batch-size", "51", "--summary", "s"],
        "batch_size must be in 0..=50",
    );
    bad(
        &["rollout", "start", "--batch-size", "0", "--summary", "s"],
        "at least 1",
    );
    bad(
        &["rollout", "set-batch-size", "1000", "--summary", "s"],
        "batch_size must be in 0..=50",
    );
}

// ------------------------------------------------------------------ 1007 set-registration-policy

#[test]
fn set_registration_policy_carries_only_code_hashes_and_the_credential_requirement() {
    use platform_types::{
        hex_of, invite_code_hash, CredentialArgumentValue, RegistrationPolicy, SetRegistrationPolicyArgs,
    };
    let dir = Out(temp_path("codes"));
    std::fs::create_dir_all(&dir.0).unwrap();
    let codes = dir.join("codes.txt");
    std::fs::write(&codes, "alpha-7f3k\n\n beta-9x2q \n").unwrap();
    let codes = codes.to_str().unwrap();
    let (p, out, r) = good(&[
        "set-registration-policy", "--policy", "invite-code", "--add-codes-file", codes, "--reason", "cohort 1", "--summary", "s",
    ]);
    let args: SetRegistrationPolicyArgs = payload_of(&p, 1007, &out, &r);
    assert_eq!(args.policy, Some(RegistrationPolicy::InviteCode));
    assert_eq!(
        args.add_invite_code_hashes,
        vec![hex_of(&invite_code_hash("alpha-7f3k")), hex_of(&invite_code_hash("beta-9x2q"))]
    );
    assert!(!r.stdout.contains("alpha-7f3k") && !std::fs::read(out.join("payload.bin")).unwrap().windows(5).any(|w| w == b"alpha"));
    assert!(r.stdout.contains("Topic:   CriticalDappOperations"), "{}", r.stdout);
    assert!(r.stdout.contains("Add 2 invite code(s)"), "{}", r.stdout);

    let key = dir.join("root_key.der");
    std::fs::write(&key, [vec![0u8; 37], vec![7u8; 96]].concat()).unwrap();
    let (p, out, r) = good(&[
        "set-registration-policy", "--policy", "invite-code-or-credential",
        "--issuer-canister", CONTENT, "--issuer-origin", "https://issuer.example/", "--credential-type", "ProofOfUniqueness",
        "--credential-int-arg", "minAge=18", "--ii-canister", HUB, "--derivation-origin", "https://app.example",
        "--ic-root-key-file", key.to_str().unwrap(), "--reason", "personhood", "--summary", "s",
    ]);
    let args: SetRegistrationPolicyArgs = payload_of(&p, 1007, &out, &r);
    let Some(RegistrationPolicy::InviteCodeOrCredential(c)) = args.policy else { panic!("{:?}", args.policy) };
    assert_eq!((c.issuer_canister_id, c.ii_canister_id), (principal(CONTENT), principal(HUB)));
    assert_eq!(c.arguments[0].value, CredentialArgumentValue::Int(18));
    assert_eq!(c.ic_root_key_raw.unwrap().to_vec(), vec![7u8; 96], "the DER prefix is stripped");

    let (_, _, r) = good(&["set-registration-policy", "--policy", "open", "--reason", "testnet", "--summary", "s"]);
    assert!(r.stderr.contains("test networks only"), "{}", r.stderr);

    bad(&["set-registration-policy", "--reason", "nothing", "--summary", "s"], "changes nothing");
    bad(&["set-registration-policy", "--policy", "credential", "--reason", "r", "--summary", "s"], "--issuer-canister");
    let twice = dir.join("twice.txt");
    std::fs::write(&twice, "same\nsame\n").unwrap();
    bad(
        &["set-registration-policy", "--add-codes-file", twice.to_str().unwrap(), "--reason", "r", "--summary", "s"],
        "listed twice",
    );
}

// ------------------------------------------------------------------ 1006 commit-assets

#[test]
fn commit_assets() {
    #[derive(candid::CandidType, serde::Deserialize, Debug, PartialEq)]
    struct CommitProposedBatchArguments {
        batch_id: candid::Nat,
        evidence: serde_bytes::ByteBuf,
    }
    let evidence = "ab".repeat(32);
    let (p, out, r) = good(&["commit-assets", "--batch-id", "42", "--evidence", &evidence, "--summary", "s"]);
    let a: CommitProposedBatchArguments = payload_of(&p, 1006, &out, &r);
    assert_eq!(
        a,
        CommitProposedBatchArguments { batch_id: candid::Nat::from(42u8), evidence: serde_bytes::ByteBuf::from(vec![0xab; 32]) }
    );
    assert_eq!(p.title, "Commit web app batch 42");
    assert!(r.stdout.contains("Topic:   DappCanisterManagement"));
    assert!(r.stdout.contains("frontend_assets.commit_proposed_batch"));
    // The preview is the text validate_commit_proposed_batch renders.
    assert!(r.stdout.contains(&format!("commit proposed batch 42 with evidence {evidence}")));
    assert!(r.stdout.contains("frontend_assets.validate_commit_proposed_batch"));
    // The payload is exactly the Candid the asset canister's method takes.
    let did = std::fs::read_to_string(root().join("candid/frontend_assets.did")).unwrap();
    assert!(did.contains("commit_proposed_batch : (CommitProposedBatchArguments) -> ();"));
    let payload_text = candid_text::encode_text::<CommitProposedBatchArguments>(&format!(
        "(record {{ batch_id = 42 : nat; evidence = blob \"{}\" }})",
        "\\ab".repeat(32)
    ))
    .unwrap();
    let Some(Action::ExecuteGenericNervousSystemFunction(e)) = &p.action else { panic!() };
    assert_eq!(e.payload, payload_text);

    bad(&["commit-assets", "--batch-id", "1", "--evidence", "zz", "--summary", "s"], "--evidence is not hex");
    bad(&["commit-assets", "--batch-id", "1", "--evidence", "abcd", "--summary", "s"], "must be 32 bytes");
}

// ------------------------------------------------------------------ upgrade

fn upgrade_of(p: &Proposal) -> UpgradeSnsControlledCanister {
    let Some(Action::UpgradeSnsControlledCanister(u)) = &p.action else {
        panic!("{:?}", p.action)
    };
    u.clone()
}

/// A raw Wasm module of `len` bytes (magic, version, one custom section).
fn wasm_of_len(len: usize) -> Vec<u8> {
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    // section id 0, size as 5-byte LEB128, name "p"
    let size = len - 8 - 1 - 5;
    m.push(0);
    let mut n = size;
    for i in 0..5 {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        m.push(if i < 4 { b | 0x80 } else { b });
    }
    m.extend_from_slice(&[1, b'p']);
    m.resize(len, 0x5a);
    m
}

#[test]
fn upgrade_inline_with_a_governance_argument() {
    let ids = fixture("canister_ids.json");
    let wasm = fixture("tiny.wasm.gz");
    let (p, out, r) = good(&[
        "upgrade",
        "--canister",
        "staking_hub",
        "--wasm",
        &wasm,
        "--set-governance",
        GOVERNANCE,
        "--canister-ids",
        &ids,
        "--summary",
        "s",
    ]);
    let u = upgrade_of(&p);
    assert_eq!(u.canister_id, Some(principal(HUB)));
    assert_eq!(u.new_canister_wasm, std::fs::read(&wasm).unwrap());
    assert_eq!(u.mode, Some(3));
    assert!(u.chunked_canister_wasm.is_none());
    let arg: Option<HubUpgradeArgs> =
        candid::decode_one(u.canister_upgrade_arg.as_ref().unwrap()).unwrap();
    assert_eq!(
        arg,
        Some(HubUpgradeArgs {
            sns_governance_id: Some(principal(GOVERNANCE)),
            icp_refill: None,
        })
    );
    assert_eq!(
        std::fs::read(out.join("upgrade_arg.bin")).unwrap(),
        u.canister_upgrade_arg.unwrap().into_vec()
    );
    let hash = hex::encode(Sha256::digest(std::fs::read(&wasm).unwrap()));
    assert!(r.stdout.contains(&hash), "the wasm sha256 is printed");
    assert!(p.title.contains(&hash[..16]));
    assert!(
        r.stdout.contains("rollout start"),
        "the hub upgrade points at the shard rollout"
    );

    // learning_content with Candid text; no argument at all.
    let text = format!("(opt record {{ sns_governance_id = opt principal \"{GOVERNANCE}\" }})");
    let (p, _, _) = good(&[
        "upgrade",
        "--canister",
        "learning_content",
        "--wasm",
        &wasm,
        "--arg-candid",
        &text,
        "--canister-ids",
        &ids,
        "--summary",
        "s",
    ]);
    let u = upgrade_of(&p);
    assert_eq!(u.canister_id, Some(principal(CONTENT)));
    let arg: Option<ContentUpgradeArgs> =
        candid::decode_one(u.canister_upgrade_arg.as_ref().unwrap()).unwrap();
    assert_eq!(arg.unwrap().sns_governance_id, Some(principal(GOVERNANCE)));
    let (p, _, _) = good(&[
        "upgrade",
        "--canister",
        "learning_content",
        "--wasm",
        &wasm,
        "--canister-ids",
        &ids,
        "--summary",
        "s",
    ]);
    assert_eq!(upgrade_of(&p).canister_upgrade_arg, None);
    // The id given with the name, no ids file.
    let (p, _, _) = good(&[
        "upgrade",
        "--canister",
        &format!("learning_content={STRANGER}"),
        "--wasm",
        &wasm,
        "--summary",
        "s",
    ]);
    assert_eq!(upgrade_of(&p).canister_id, Some(principal(STRANGER)));
}

#[test]
fn upgrade_refuses_bad_wasm_bad_arguments_and_reinstall_without_confirmation() {
    let ids = fixture("canister_ids.json");
    let wasm = fixture("tiny.wasm.gz");
    let up = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["upgrade", "--canister-ids", &ids, "--summary", "s"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let check = |extra: &[&str], msg: &str| {
        let v = up(extra);
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        bad(&v, msg);
    };
    check(
        &[
            "--canister",
            "staking_hub",
            "--wasm",
            &fixture("not_wasm.wasm.gz"),
        ],
        "not a Wasm module",
    );
    check(
        &["--canister", "user_profile", "--wasm", &wasm],
        "staking_hub, learning_content, frontend_assets or reward_ledger",
    );
    check(
        &[
            "--canister",
            "staking_hub",
            "--wasm",
            &fixture("units.json"),
        ],
        "not a Wasm module",
    );
    check(
        &[
            "--canister",
            "staking_hub",
            "--wasm",
            &fixture("no_such.wasm.gz"),
        ],
        "--wasm",
    );
    check(
        &[
            "--canister",
            "staking_hub",
            "--wasm",
            &wasm,
            "--arg-candid",
            "(record { x = 1 })",
        ],
        "--arg-candid",
    );
    check(
        &[
            "--canister",
            "staking_hub",
            "--wasm",
            &wasm,
            "--arg-file",
            &fixture("units.json"),
        ],
        "not a Candid",
    );
    check(
        &[
            "--canister",
            "staking_hub",
            "--wasm",
            &wasm,
            "--mode",
            "reinstall",
            "--arg-candid",
            "(null)",
        ],
        "--confirm-reinstall",
    );
    check(
        &[
            "--canister",
            "staking_hub",
            "--wasm",
            &wasm,
            "--mode",
            "reinstall",
            "--confirm-reinstall",
        ],
        "init argument",
    );
    check(
        &[
            "--canister",
            "staking_hub",
            "--wasm",
            &wasm,
            "--set-governance",
            STRANGER,
            "--sns-canister-ids",
            &fixture("sns_canister_ids.json"),
        ],
        "is not the governance_canister_id",
    );
}

#[test]
fn upgrade_frontend_assets_takes_opt_asset_canister_args() {
    use platform_types::assets::{AssetCanisterArgs, InitArgs, SetPermissions};
    let ids = fixture("canister_ids.json");
    let wasm = fixture("tiny.wasm.gz");
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "upgrade",
            "--canister",
            "frontend_assets",
            "--wasm",
            &wasm,
            "--canister-ids",
            &ids,
            "--summary",
            "s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let good_with = |extra: &[&str]| {
        let v = base(extra);
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        good(&v)
    };
    let bad_with = |extra: &[&str], msg: &str| {
        let v = base(extra);
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        bad(&v, msg);
    };

    // No argument: the library's post_upgrade gets `null` and keeps the permissions.
    let (p, _, r) = good_with(&[]);
    let u = upgrade_of(&p);
    assert_eq!(u.canister_id, Some(principal(FRONTEND)));
    assert_eq!(u.mode, Some(3));
    assert_eq!(u.new_canister_wasm, std::fs::read(&wasm).unwrap());
    assert_eq!(u.canister_upgrade_arg, None);
    assert!(u.chunked_canister_wasm.is_none());
    assert!(r.stdout.contains("opt AssetCanisterArgs"), "{}", r.stdout);
    assert!(p.title.contains("frontend_assets"), "{}", p.title);

    // `Upgrade` resetting the permission lists.
    let text = format!(
        "(opt variant {{ Upgrade = record {{ set_permissions = opt record {{ \
         prepare = vec {{}}; commit = vec {{ principal \"{GOVERNANCE}\" }}; manage_permissions = vec {{}} }} }} }})"
    );
    let (p, out, _) = good_with(&["--arg-candid", &text]);
    let u = upgrade_of(&p);
    let arg: Option<AssetCanisterArgs> =
        candid::decode_one(u.canister_upgrade_arg.as_ref().unwrap()).unwrap();
    let Some(AssetCanisterArgs::Upgrade(InitArgs {
        set_permissions: Some(SetPermissions { prepare, commit, manage_permissions }),
    })) = arg
    else {
        panic!("{arg:?}")
    };
    assert!(prepare.is_empty() && manage_permissions.is_empty());
    assert_eq!(commit, vec![principal(GOVERNANCE)]);
    assert_eq!(
        std::fs::read(out.join("upgrade_arg.bin")).unwrap(),
        u.canister_upgrade_arg.unwrap().into_vec()
    );
    // The same, Candid-encoded in a file.
    let bytes = candid::encode_one(Some(AssetCanisterArgs::Upgrade(InitArgs::default()))).unwrap();
    let file = temp_path("asset-arg");
    std::fs::write(&file, &bytes).unwrap();
    let (p, _, _) = good_with(&["--arg-file", file.to_str().unwrap()]);
    assert_eq!(
        upgrade_of(&p).canister_upgrade_arg.unwrap().into_vec(),
        bytes
    );
    let _ = std::fs::remove_file(&file);

    // Reinstall takes the `Init` case.
    let init = "(opt variant { Init = record { set_permissions = null } })";
    let (p, _, r) = good_with(&["--mode", "reinstall", "--confirm-reinstall", "--arg-candid", init]);
    let u = upgrade_of(&p);
    assert_eq!(u.mode, Some(2));
    let arg: Option<AssetCanisterArgs> =
        candid::decode_one(u.canister_upgrade_arg.as_ref().unwrap()).unwrap();
    assert!(matches!(arg, Some(AssetCanisterArgs::Init(InitArgs { set_permissions: None }))));
    assert!(r.stderr.contains("REINSTALL"), "{}", r.stderr);

    // The case must follow the mode; no governance id; the other targets' arguments; bad Wasm.
    bad_with(&["--arg-candid", init], "the case must be `Upgrade`");
    bad_with(
        &[
            "--mode",
            "reinstall",
            "--confirm-reinstall",
            "--arg-candid",
            "(opt variant { Upgrade = record { set_permissions = null } })",
        ],
        "the case must be `Init`",
    );
    bad_with(&["--set-governance", GOVERNANCE], "has no governance id");
    bad_with(
        &["--arg-candid", &format!("(opt record {{ sns_governance_id = opt principal \"{GOVERNANCE}\" }})")],
        "--arg-candid: expected `(opt AssetCanisterArgs)`",
    );
    bad_with(&["--mode", "reinstall", "--arg-candid", init], "--confirm-reinstall");
    bad(
        &[
            "upgrade",
            "--canister",
            "frontend_assets",
            "--wasm",
            &fixture("not_wasm.wasm.gz"),
            "--canister-ids",
            &ids,
            "--summary",
            "s",
        ],
        "not a Wasm module",
    );

    // Too big for one proposal: refused inline, accepted in chunks.
    let dir = temp_path("assets-wasm");
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.wasm");
    let module = wasm_of_len(2_000_000);
    std::fs::write(&big, &module).unwrap();
    let big_args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "upgrade",
            "--canister",
            "frontend_assets",
            "--wasm",
            big.to_str().unwrap(),
            "--canister-ids",
            &ids,
            "--summary",
            "s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let v = big_args(&[]);
    bad(&v.iter().map(String::as_str).collect::<Vec<_>>(), "--chunked --store-canister");
    let v = big_args(&["--chunked", "--store-canister", STRANGER]);
    let (p, _, _) = good(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let u = upgrade_of(&p);
    assert_eq!(u.canister_id, Some(principal(FRONTEND)));
    assert!(u.new_canister_wasm.is_empty());
    let c = u.chunked_canister_wasm.unwrap();
    assert_eq!(c.wasm_module_hash, Sha256::digest(&module).to_vec());
    assert_eq!(c.chunk_hashes_list.len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn upgrade_too_big_needs_chunks_and_then_uploads_them() {
    let ids = fixture("canister_ids.json");
    let dir = temp_path("wasm");
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.wasm");
    let module = wasm_of_len(2_000_000);
    std::fs::write(&big, &module).unwrap();
    let big_s = big.to_str().unwrap();
    bad(
        &[
            "upgrade",
            "--canister",
            "staking_hub",
            "--wasm",
            big_s,
            "--canister-ids",
            &ids,
            "--summary",
            "s",
        ],
        "--chunked --store-canister",
    );
    // Just under the limit with the argument: still inline... and 1 byte over: refused.
    let edge = dir.join("edge.wasm");
    std::fs::write(&edge, wasm_of_len(1_999_999)).unwrap();
    let (p, _, _) = good(&[
        "upgrade",
        "--canister",
        "staking_hub",
        "--wasm",
        edge.to_str().unwrap(),
        "--canister-ids",
        &ids,
        "--summary",
        "s",
    ]);
    assert_eq!(upgrade_of(&p).new_canister_wasm.len(), 1_999_999);
    bad(
        &[
            "upgrade",
            "--canister",
            "staking_hub",
            "--wasm",
            edge.to_str().unwrap(),
            "--set-governance",
            GOVERNANCE,
            "--canister-ids",
            &ids,
            "--summary",
            "s",
        ],
        "together are",
    );

    let store = STRANGER;
    // Chunked without --out: refused (the chunks must be written).
    let n = neuron();
    let r = run(&[
        "--neuron",
        &n,
        "upgrade",
        "--canister",
        "staking_hub",
        "--wasm",
        big_s,
        "--chunked",
        "--store-canister",
        store,
        "--canister-ids",
        &ids,
        "--summary",
        "s",
    ]);
    assert!(!r.ok && r.stderr.contains("--out"), "{}", r.stderr);

    let (p, out, r) = good(&[
        "upgrade",
        "--canister",
        "staking_hub",
        "--wasm",
        big_s,
        "--chunked",
        "--store-canister",
        store,
        "--canister-ids",
        &ids,
        "--summary",
        "s",
    ]);
    let u = upgrade_of(&p);
    assert!(u.new_canister_wasm.is_empty());
    let c = u.chunked_canister_wasm.unwrap();
    assert_eq!(c.store_canister_id, Some(principal(store)));
    assert_eq!(c.wasm_module_hash, Sha256::digest(&module).to_vec());
    assert_eq!(c.chunk_hashes_list.len(), 2);
    let mut joined = Vec::new();
    for (i, h) in c.chunk_hashes_list.iter().enumerate() {
        let chunk = std::fs::read(out.join(format!("chunks/chunk_{i:03}.bin"))).unwrap();
        assert_eq!(h.as_slice(), Sha256::digest(&chunk).as_slice());
        assert!(
            r.stdout.contains(&hex::encode(h.as_slice())),
            "chunk hash listed"
        );
        let upload =
            std::fs::read_to_string(out.join(format!("chunks/upload_chunk_{i:03}.did"))).unwrap();
        let a: proposals::upgrade::UploadChunkArgs = candid_text::parse_text(&upload).unwrap();
        assert_eq!((a.canister_id, &a.chunk), (principal(store), &chunk));
        joined.extend(chunk);
    }
    assert_eq!(joined, module);
    assert_eq!(
        std::fs::read(out.join("chunks/chunk_000.bin"))
            .unwrap()
            .len(),
        1024 * 1024
    );
    assert!(
        r.stdout.contains(&format!(
            "call aaaaa-aa upload_chunk --argument-file {}/chunks/upload_chunk_001.did",
            out.display()
        )),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("not gzipped"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(dir);
}

// ------------------------------------------------------------------ motion and common flags

#[test]
fn motion_carries_the_text() {
    let (p, _, r) = good(&[
        "motion",
        "--title",
        "Adopt the content guidelines",
        "--text",
        "We adopt the guidelines at https://example.org/g.",
        "--summary",
        "Why: ...",
    ]);
    let Some(Action::Motion(m)) = p.action else {
        panic!()
    };
    assert_eq!(
        m.motion_text,
        "We adopt the guidelines at https://example.org/g."
    );
    assert!(r.stdout.contains("Topic:   Governance"));
    // Quotes and newlines survive the Candid text and the shell quoting of the printed command.
    let (p, _, _) = good(&[
        "motion",
        "--title",
        "It's \"quoted\"",
        "--text",
        "line 1\nline 2 'single' \\ backslash",
        "--summary",
        "s",
    ]);
    assert_eq!(p.title, "It's \"quoted\"");
}

#[test]
fn common_flags_are_checked() {
    bad(
        &[
            "motion",
            "--text",
            "x".repeat(10_001).as_str(),
            "--title",
            "t",
            "--summary",
            "s",
        ],
        "at most 10000 bytes",
    );
    bad(&["motion", "--text", "x", "--summary", "s"], "--title");
    bad(
        &[
            "motion",
            "--text",
            "x",
            "--title",
            &"t".repeat(257),
            "--summary",
            "s",
        ],
        "--title: at most 256 bytes",
    );
    bad(
        &[
            "motion",
            "--text",
            "x",
            "--title",
            "t",
            "--summary",
            &"s".repeat(30_001),
        ],
        "--summary: at most 30000 bytes",
    );
    bad(
        &[
            "motion",
            "--text",
            "x",
            "--title",
            "t",
            "--summary",
            "s",
            "--url",
            "ftp://x.org",
        ],
        "--url",
    );
    bad(
        &[
            "motion",
            "--text",
            "x",
            "--title",
            "t",
            "--summary",
            "s",
            "--summary-file",
            &fixture("units.json"),
        ],
        "not both",
    );
    // No neuron / a bad one.
    let r = run(&["motion", "--text", "x", "--title", "t", "--summary", "s"]);
    assert!(!r.ok && r.stderr.contains("--neuron"), "{}", r.stderr);
    let r = run(&[
        "--neuron",
        "xyz",
        "motion",
        "--text",
        "x",
        "--title",
        "t",
        "--summary",
        "s",
    ]);
    assert!(!r.ok && r.stderr.contains("--neuron"), "{}", r.stderr);
    // --out must be a directory.
    let n = neuron();
    let r = run(&[
        "--neuron",
        &n,
        "--out",
        &fixture("units.json"),
        "motion",
        "--text",
        "x",
        "--title",
        "t",
        "--summary",
        "s",
    ]);
    assert!(
        !r.ok && r.stderr.contains("not a directory") && r.stdout.is_empty(),
        "{}",
        r.stderr
    );
    // Unknown flags are usage errors (exit 2).
    let r = run(&["--neuron", &n, "motion", "--txt", "x"]);
    assert_eq!(r.code, Some(2));
}

#[test]
fn summary_file_and_printing_without_out() {
    let dir = temp_path("summary");
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("summary.md");
    std::fs::write(&f, "# Why\n\nBecause.").unwrap();
    let n = neuron();
    let r = run(&[
        "--neuron",
        &n,
        "--summary-file",
        f.to_str().unwrap(),
        "rollout",
        "pause",
    ]);
    assert!(r.ok, "{}", r.stderr);
    let start = r
        .stdout
        .find("--- manage_neuron argument (Candid)\n")
        .unwrap()
        + "--- manage_neuron argument (Candid)\n".len();
    let end = start + r.stdout[start..].find("\n\n---").unwrap();
    let bytes = candid_text::encode_text::<ManageNeuron>(&r.stdout[start..end]).unwrap();
    let mn: ManageNeuron = candid::decode_one(&bytes).unwrap();
    let Some(Command::MakeProposal(p)) = mn.command else {
        panic!()
    };
    assert_eq!(p.summary, "# Why\n\nBecause.");
    assert!(!r.stdout.contains("Files written"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn resolve_withdrawal_carries_the_outcome_and_refuses_an_empty_reason() {
    let (p, out, r) = good(&[
        "resolve-withdrawal",
        "--shard",
        HUB,
        "--withdrawal-id",
        "7",
        "--minted-at-block",
        "1234",
        "--reason",
        "the archive holding the block no longer answers",
        "--summary",
        "s",
    ]);
    let a: platform_types::ResolveWithdrawalArgs = payload_of(&p, 1008, &out, &r);
    assert_eq!((a.withdrawal_id, a.minted_at_block, a.shard_id.to_text()), (7, Some(1234), HUB.to_string()));
    assert!(r.stdout.contains("MINTED at ledger block 1234"), "{}", r.stdout);
    let (p, out, r) = good(&[
        "resolve-withdrawal", "--shard", HUB, "--withdrawal-id", "7", "--not-minted", "--reason", "r", "--summary", "s",
    ]);
    let a: platform_types::ResolveWithdrawalArgs = payload_of(&p, 1008, &out, &r);
    assert_eq!(a.minted_at_block, None);
    bad(
        &["resolve-withdrawal", "--shard", HUB, "--withdrawal-id", "7", "--not-minted", "--reason", " ", "--summary", "s"],
        "reason",
    );
}

#[test]
fn restore_shard_carries_the_snapshot_and_refuses_bad_input() {
    let (p, out, r) = good(&[
        "restore-shard", "--shard", HUB, "--snapshot", "0x00ab01", "--snapshot-wasm-hash", "cafe", "--reason", "bad release",
        "--summary", "s",
    ]);
    let a: platform_types::RestoreShardArgs = payload_of(&p, 1011, &out, &r);
    assert_eq!((a.shard_id.to_text(), a.snapshot_id.to_vec(), a.reason.as_str()), (HUB.to_string(), vec![0, 0xab, 1], "bad release"));
    assert!(r.stdout.contains("RESTORE shard") && r.stdout.contains("00ab01") && r.stdout.contains("module cafe"), "{}", r.stdout);
    assert!(r.stdout.contains("CriticalDappOperations"), "{}", r.stdout);
    // Candid blob text as dfx prints it ("\00\ab\01") is accepted too.
    let (p, out, r) = good(&["restore-shard", "--shard", HUB, "--snapshot", "\\00\\ab\\01", "--reason", "r", "--summary", "s"]);
    let a: platform_types::RestoreShardArgs = payload_of(&p, 1011, &out, &r);
    assert_eq!(a.snapshot_id.to_vec(), vec![0, 0xab, 1]);
    bad(&["restore-shard", "--shard", HUB, "--snapshot", "xyz", "--reason", "r", "--summary", "s"], "not hex");
    bad(&["restore-shard", "--shard", HUB, "--snapshot", "", "--reason", "r", "--summary", "s"], "empty");
    bad(&["restore-shard", "--shard", HUB, "--snapshot", "01", "--reason", " ", "--summary", "s"], "reason");
}

// ------------------------------------------------------------------ native SNS actions added for the DAO

#[test]
fn remove_function_register_dapps_transfer_and_settings_build_the_real_actions() {
    let ids = fixture("canister_ids.json");
    let sns = fixture("sns_canister_ids.json");
    let (p, _, r) = good(&["remove-function", "--id", "1005", "--summary", "Rollouts move to a new function."]);
    assert_eq!(p.action, Some(Action::RemoveGenericNervousSystemFunction(1005)));
    assert!(r.stdout.contains("CriticalDappOperations (critical"), "{}", r.stdout);
    assert!(r.stderr.contains("reserved for ever"), "{}", r.stderr);
    bad(&["remove-function", "--id", "5", "--summary", "s"], "only custom functions");

    let (p, _, _) = good(&["--canister-ids", &ids, "register-dapps", "--canister", "frontend_assets", "--canister", STRANGER, "--summary", "s"]);
    let Some(Action::RegisterDappCanisters(r)) = p.action else { panic!("{:?}", p.action) };
    assert_eq!(r.canister_ids, vec![principal(FRONTEND), principal(STRANGER)]);
    bad(&["register-dapps", "--canister", STRANGER, "--canister", STRANGER, "--summary", "s"], "given twice");
    bad(&["--sns-canister-ids", &sns, "register-dapps", "--canister", GOVERNANCE, "--summary", "s"], "the SNS's own governance");

    let sub = "01".repeat(32);
    let (p, _, r) = good(&[
        "transfer-treasury", "--from", "sns", "--to", STRANGER, "--to-subaccount", &sub, "--amount-e8s", "1_500_000_000", "--memo", "7",
        "--summary", "Pay the auditors.",
    ]);
    let Some(Action::TransferSnsTreasuryFunds(t)) = p.action else { panic!("{:?}", p.action) };
    assert_eq!((t.from_treasury, t.to_principal, t.amount_e8s, t.memo), (2, Some(principal(STRANGER)), 1_500_000_000, Some(7)));
    assert_eq!(t.to_subaccount.unwrap().subaccount, vec![1; 32]);
    assert!(r.stdout.contains("15.00000000 SNS token") && r.stdout.contains("TreasuryAssetManagement (critical"), "{}", r.stdout);
    let (p, _, _) = good(&["transfer-treasury", "--from", "icp", "--to", STRANGER, "--amount-e8s", "1", "--summary", "s"]);
    assert!(matches!(p.action, Some(Action::TransferSnsTreasuryFunds(ref t)) if t.from_treasury == 1 && t.to_subaccount.is_none()));
    bad(&["transfer-treasury", "--from", "sns", "--to", STRANGER, "--amount-e8s", "0", "--summary", "s"], "must be positive");
    bad(&["transfer-treasury", "--from", "sns", "--to", STRANGER, "--to-subaccount", "0102", "--amount-e8s", "5", "--summary", "s"], "32 bytes");

    let (p, _, r) = good(&[
        "--canister-ids", &ids, "manage-dapp-settings", "--canister", "staking_hub", "--freezing-threshold", "2_592_000",
        "--log-visibility", "public", "--summary", "Public logs for debugging.",
    ]);
    let Some(Action::ManageDappCanisterSettings(m)) = p.action else { panic!("{:?}", p.action) };
    assert_eq!((m.canister_ids, m.freezing_threshold, m.log_visibility, m.compute_allocation), (vec![principal(HUB)], Some(2_592_000), Some(2), None));
    assert!(r.stdout.contains("log_visibility: public"), "{}", r.stdout);
    bad(&["manage-dapp-settings", "--canister", HUB, "--summary", "s"], "at least one setting");
    bad(&["manage-dapp-settings", "--canister", HUB, "--compute-allocation", "101", "--summary", "s"], "0..=100");
}

#[test]
fn upgrade_reward_ledger_passes_the_ledger_upgrade_argument() {
    use icrc_ledger::types::LedgerArgument;
    let ids = fixture("canister_ids.json");
    let wasm = fixture("tiny.wasm.gz");
    let (p, _, _) = good(&["--canister-ids", &ids, "upgrade", "--canister", "reward_ledger", "--wasm", &wasm, "--summary", "s"]);
    let u = upgrade_of(&p);
    assert_eq!(u.canister_id, Some(principal("bw4dl-smaaa-aaaaa-qaacq-cai")));
    let arg = u.canister_upgrade_arg.expect("the ledger always gets Upgrade");
    assert_eq!(candid::decode_one::<LedgerArgument>(&arg).unwrap(), LedgerArgument::Upgrade(None));
    let (p, _, _) = good(&[
        "--canister-ids", &ids, "upgrade", "--canister", "reward_ledger", "--wasm", &wasm,
        "--arg-candid", "(variant { Upgrade = opt record { token_symbol = opt \"LRN\" } })", "--summary", "s",
    ]);
    match candid::decode_one::<LedgerArgument>(&upgrade_of(&p).canister_upgrade_arg.unwrap()).unwrap() {
        LedgerArgument::Upgrade(Some(a)) => assert_eq!(a.token_symbol.as_deref(), Some("LRN")),
        other => panic!("{other:?}"),
    }
    bad(&["--canister-ids", &ids, "upgrade", "--canister", "reward_ledger", "--wasm", &wasm, "--mode", "reinstall", "--confirm-reinstall", "--arg-candid", "(variant { Upgrade = null })", "--summary", "s"], "erase every balance");
    bad(&["--canister-ids", &ids, "upgrade", "--canister", "reward_ledger", "--wasm", &wasm, "--set-governance", GOVERNANCE, "--summary", "s"], "no governance id");
}

// ------------------------------------------------------------------ network flags

#[test]
fn network_flags_refuse_bad_identities_and_unreachable_networks_before_sending() {
    let identities = root().join("proposals/tests/fixtures/identities");
    let pem = |f: &str| identities.join(f).display().to_string();
    let root_key = temp_path("root_key");
    std::fs::write(&root_key, [0u8; 133]).unwrap();
    let rk = root_key.display().to_string();
    // Print-only use is unchanged; --pem or --wait without --submit is a mistake.
    bad(&["--pem", &pem("ed25519.pem"), "motion", "--title", "t", "--text", "x", "--summary", "s"], "only apply with --submit");
    bad(&["--submit", "motion", "--title", "t", "--text", "x", "--summary", "s"], "--pem <FILE> is required");
    bad(&["--submit", "--pem", &pem("ed25519_encrypted.pem"), "--governance", GOVERNANCE, "motion", "--title", "t", "--text", "x", "--summary", "s"], "encrypted");
    bad(&["--submit", "--pem", &pem("rsa.pem"), "--governance", GOVERNANCE, "motion", "--title", "t", "--text", "x", "--summary", "s"], "neither Ed25519 nor secp256k1");
    bad(&["--submit", "--pem", &pem("missing.pem"), "--governance", GOVERNANCE, "motion", "--title", "t", "--text", "x", "--summary", "s"], "cannot read the identity file");
    bad(&["--submit", "--pem", &pem("ed25519.pem"), "motion", "--title", "t", "--text", "x", "--summary", "s"], "--governance <PRINCIPAL> or --sns-canister-ids");
    // A network that does not answer: port 1 on loopback refuses connections.
    let r = run(&["--network", "http://127.0.0.1:1", "--root-key", &rk, "--governance", GOVERNANCE, "list"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("cannot reach the network at http://127.0.0.1:1"), "{}", r.stderr);
    // A local network needs its root key.
    let r = run(&["--network", "http://127.0.0.1:1", "--governance", GOVERNANCE, "show", "--proposal-id", "1"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("give its root key with --root-key"), "{}", r.stderr);
    let r = run(&["--network", "http://127.0.0.1:1", "--governance", GOVERNANCE, "--neuron", &neuron(), "--pem", &pem("rsa.pem"), "vote", "--proposal-id", "1", "--vote", "yes"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("neither Ed25519 nor secp256k1") && r.stdout.is_empty(), "{}", r.stderr);
    let r = run(&["--network", "mainnet", "list"]);
    assert_eq!(r.code, Some(2), "bad flag values are usage errors: {}", r.stderr);
    let _ = std::fs::remove_file(root_key);
}

/// `--governance` names the SNS governance in the printed dfx commands, as
/// `--sns-canister-ids` does; both given must agree, and so must `--set-governance`.
#[test]
fn governance_flag_names_the_canister_in_the_printed_commands() {
    let motion = ["motion", "--title", "t", "--text", "x", "--summary", "s"];
    let mut args = vec!["--governance", GOVERNANCE];
    args.extend(motion);
    let (_, _, r) = good(&args);
    assert!(r.stdout.contains(&format!("dfx canister --network ic call {GOVERNANCE} manage_neuron '(")), "{}", r.stdout);
    assert!(!r.stdout.contains("<SNS_GOVERNANCE_ID>"), "{}", r.stdout);
    let sns = fixture("sns_canister_ids.json");
    let mut args = vec!["--governance", GOVERNANCE, "--sns-canister-ids", &sns];
    args.extend(motion);
    good(&args);
    let mut args = vec!["--governance", STRANGER, "--sns-canister-ids", &sns];
    args.extend(motion);
    bad(&args, "is not the governance_canister_id of --sns-canister-ids");
    let mut args = vec!["--governance", "not-a-principal"];
    args.extend(motion);
    bad(&args, "--governance");
    let (ids, wasm) = (fixture("canister_ids.json"), fixture("tiny.wasm.gz"));
    let upgrade = ["--canister-ids", &ids, "upgrade", "--canister", "staking_hub", "--wasm", &wasm, "--summary", "s"];
    let mut args = vec!["--governance", STRANGER];
    args.extend(upgrade);
    args.extend(["--set-governance", GOVERNANCE]);
    bad(&args, "is not the SNS governance of --governance");
    let mut args = vec!["--governance", GOVERNANCE];
    args.extend(upgrade);
    args.extend(["--set-governance", GOVERNANCE]);
    good(&args);
}

/// An upgrade argument the canister's post_upgrade would refuse (the upgrade would fail after
/// the vote) or misapply is refused before anything is printed.
#[test]
fn upgrade_arguments_the_canisters_refuse_are_refused() {
    let (ids, wasm) = (fixture("canister_ids.json"), fixture("tiny.wasm.gz"));
    let upgrade = |canister: &'static str, arg: &'static str| {
        vec!["--canister-ids", &ids, "upgrade", "--canister", canister, "--wasm", &wasm, "--arg-candid", arg, "--summary", "s"]
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<String>>()
    };
    let empty = upgrade("learning_content", "(opt record { sns_governance_id = null })");
    bad(&empty.iter().map(String::as_str).collect::<Vec<_>>(), "which learning_content's post_upgrade refuses");
    for canister in ["staking_hub", "learning_content"] {
        let anonymous = upgrade(canister, "(opt record { sns_governance_id = opt principal \"2vxsx-fae\" })");
        bad(&anonymous.iter().map(String::as_str).collect::<Vec<_>>(), "must not be the anonymous principal");
    }
    let hub_empty = upgrade("staking_hub", "(opt record { sns_governance_id = null })");
    good(&hub_empty.iter().map(String::as_str).collect::<Vec<_>>());
}
