//! The printed Candid text, read the way dfx and quill read it: parsed and typed with SNS
//! governance's interface (`candid/reference/sns_governance.did`, DFINITY's, trimmed; and the
//! project's `candid/sns_governance.did`), then encoded. It must give back the very proposal
//! the tool built, for every kind of action.

use candid::types::{Type, TypeEnv};
use candid_parser::utils::CandidSource;
use platform_types::sns::{Command, ManageNeuron, Proposal};
use std::path::{Path, PathBuf};
use std::process::Command as Process;

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

/// The .did's environment and the argument type of `manage_neuron` and the `Proposal` type.
fn interface(did: &Path) -> (TypeEnv, Type, Type) {
    let (env, service) = CandidSource::File(did)
        .load()
        .unwrap_or_else(|e| panic!("{}: {e}", did.display()));
    let service = service.expect("a service");
    let method = env.get_method(&service, "manage_neuron").unwrap();
    let arg = method.args[0].clone();
    let proposal = env.find_type("Proposal").unwrap().clone();
    (env, arg, proposal)
}

fn encode_with(env: &TypeEnv, ty: &Type, text: &str) -> Vec<u8> {
    let args = candid_parser::parse_idl_args(text).unwrap();
    let args = args
        .annotate_types(true, env, std::slice::from_ref(ty))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    args.to_bytes_with_types(env, std::slice::from_ref(ty))
        .unwrap()
}

fn out_dir(command: &str) -> PathBuf {
    std::env::temp_dir().join(format!("proposals-did-{}-{command}", std::process::id()))
}

fn build(args: &[&str]) -> Vec<PathBuf> {
    let out = out_dir(args[0]);
    let _ = std::fs::remove_dir_all(&out);
    let neuron = "ab".repeat(32);
    let mut all = vec![
        "--neuron",
        &neuron,
        "--out",
        out.to_str().unwrap(),
        "--summary",
        "s",
        "--canister-ids",
    ];
    let ids = fixture("canister_ids.json");
    all.push(&ids);
    all.extend_from_slice(args);
    let r = Process::new(env!("CARGO_BIN_EXE_proposals"))
        .args(&all)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    let mut dirs = vec![];
    if out.join("manage_neuron.did").exists() {
        dirs.push(out);
    } else {
        for e in std::fs::read_dir(&out).unwrap() {
            dirs.push(e.unwrap().path());
        }
    }
    dirs
}

#[test]
fn every_kind_of_proposal_reads_back_through_the_governance_interfaces() {
    let shards = fixture("shards.did");
    let wasm = fixture("tiny.wasm.gz");
    let units = fixture("units.json");
    let cases: Vec<Vec<&str>> = vec![
        vec!["add-function", "--all"],
        vec![
            "set-shard-status",
            "--shard",
            "be2us-64aaa-aaaaa-qaabq-cai",
            "--disable",
            "--reason",
            "r",
            "--shards-file",
            &shards,
        ],
        vec!["update-config", "--pass-mark-percent", "75"],
        vec!["add-units", "--file", &units],
        vec!["retire-units", "--unit", "a", "--reason", "r"],
        vec!["rollout", "pause"],
        vec![
            "upgrade",
            "--canister",
            "staking_hub",
            "--wasm",
            &wasm,
            "--set-governance",
            "by6od-j4aaa-aaaaa-qaadq-cai",
        ],
        vec![
            "motion",
            "--title",
            "t",
            "--text",
            "It's a \"motion\"\nwith lines",
        ],
        vec!["remove-function", "--id", "1004"],
        vec!["register-dapps", "--canister", "b77ix-eeaaa-aaaaa-qaada-cai"],
        vec![
            "transfer-treasury", "--from", "sns", "--to", "b77ix-eeaaa-aaaaa-qaada-cai",
            "--to-subaccount", "0101010101010101010101010101010101010101010101010101010101010101",
            "--amount-e8s", "100", "--memo", "3",
        ],
        vec!["manage-dapp-settings", "--canister", "bkyz2-fmaaa-aaaaa-qaaaq-cai", "--log-visibility", "controllers", "--wasm-memory-limit", "1000"],
        vec!["upgrade", "--canister", "reward_ledger=bw4dl-smaaa-aaaaa-qaacq-cai", "--wasm", &wasm],
    ];
    let dids = [
        root().join("candid/reference/sns_governance.did"),
        root().join("candid/sns_governance.did"),
    ];
    let mut checked = 0;
    for case in &cases {
        for dir in build(case) {
            let bin = std::fs::read(dir.join("manage_neuron.bin")).unwrap();
            let mn: ManageNeuron = candid::decode_one(&bin).unwrap();
            let Some(Command::MakeProposal(proposal)) = mn.command.clone() else {
                panic!()
            };
            let mn_text = std::fs::read_to_string(dir.join("manage_neuron.did")).unwrap();
            let proposal_text = std::fs::read_to_string(dir.join("proposal.did")).unwrap();
            for did in &dids {
                if !did.exists() {
                    eprintln!("skipping {} (not there)", did.display());
                    continue;
                }
                let (env, mn_ty, proposal_ty) = interface(did);
                let bytes = encode_with(&env, &mn_ty, &mn_text);
                let back: ManageNeuron = candid::decode_one(&bytes)
                    .unwrap_or_else(|e| panic!("{case:?} {}: {e}", did.display()));
                assert_eq!(back, mn, "{case:?} through {}", did.display());
                let bytes = encode_with(&env, &proposal_ty, &proposal_text);
                let back: Proposal = candid::decode_one(&bytes).unwrap();
                assert_eq!(back, proposal, "{case:?} through {}", did.display());
                // quill decodes proposal.bin (`--proposal-path`) with governance's own
                // `Proposal` type: the binary must decode as that type and mean the same.
                let proposal_bin = std::fs::read(dir.join("proposal.bin")).unwrap();
                let as_governance = candid::IDLArgs::from_bytes_with_types(
                    &proposal_bin,
                    &env,
                    std::slice::from_ref(&proposal_ty),
                )
                .unwrap_or_else(|e| panic!("{case:?} proposal.bin as {}: {e}", did.display()));
                let bytes = as_governance
                    .to_bytes_with_types(&env, std::slice::from_ref(&proposal_ty))
                    .unwrap();
                let back: Proposal = candid::decode_one(&bytes).unwrap();
                assert_eq!(back, proposal, "{case:?} proposal.bin through {}", did.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= cases.len() + 5, "checked {checked}");
    for case in &cases {
        let _ = std::fs::remove_dir_all(out_dir(case[0]));
    }
}
