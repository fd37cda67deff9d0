//! sns/custom_functions/*.json follow SNS governance's rules for
//! AddGenericNervousSystemFunction and this platform's fixed contract; broken
//! definitions are rejected.

use sns_config_check::custom_functions::{self, dfx_canisters, load_dir, CustomFunction};
use sns_config_check::{sns_dir, workspace_dir};
use std::collections::BTreeSet;

fn real() -> Vec<(String, CustomFunction)> {
    load_dir(&sns_dir().join("custom_functions")).expect("parse sns/custom_functions/*.json")
}

fn dfx() -> BTreeSet<String> {
    dfx_canisters(&std::fs::read_to_string(workspace_dir().join("dfx.json")).expect("read dfx.json")).unwrap()
}

#[test]
fn the_real_functions_are_valid() {
    let fns = real();
    let defects = custom_functions::validate(&fns, &dfx());
    assert!(defects.is_empty(), "defects:\n  - {}", defects.join("\n  - "));
}

#[test]
fn the_real_functions_are_the_fixed_contract() {
    let got: Vec<[String; 6]> = real()
        .into_iter()
        .map(|(_, f)| {
            [
                f.id.to_string(),
                f.name,
                f.target_canister,
                f.target_method,
                f.validator_method,
                f.topic,
            ]
        })
        .collect();
    let expected = [
        [
            "1000",
            "Disable or enable a shard",
            "staking_hub",
            "set_shard_status",
            "set_shard_status_validate",
            "CriticalDappOperations",
        ],
        [
            "1001",
            "Update platform configuration",
            "staking_hub",
            "update_config",
            "update_config_validate",
            "ApplicationBusinessLogic",
        ],
        [
            "1002",
            "Add learning units",
            "learning_content",
            "add_units",
            "add_units_validate",
            "ApplicationBusinessLogic",
        ],
        [
            "1003",
            "Update a learning unit",
            "learning_content",
            "update_unit",
            "update_unit_validate",
            "ApplicationBusinessLogic",
        ],
        [
            "1004",
            "Retire learning units",
            "learning_content",
            "retire_units",
            "retire_units_validate",
            "ApplicationBusinessLogic",
        ],
        [
            "1005",
            "Control the shard upgrade rollout",
            "staking_hub",
            "control_shard_rollout",
            "control_shard_rollout_validate",
            "DappCanisterManagement",
        ],
        [
            "1006",
            "Commit web app assets",
            "frontend_assets",
            "commit_proposed_batch",
            "validate_commit_proposed_batch",
            "DappCanisterManagement",
        ],
        [
            "1007",
            "Set the registration policy",
            "staking_hub",
            "set_registration_policy",
            "set_registration_policy_validate",
            "CriticalDappOperations",
        ],
        [
            "1008",
            "Resolve a withdrawal the hub cannot reconcile",
            "staking_hub",
            "resolve_withdrawal",
            "resolve_withdrawal_validate",
            "CriticalDappOperations",
        ],
        [
            "1009",
            "Update economic parameters",
            "staking_hub",
            "update_economic_config",
            "update_economic_config_validate",
            "CriticalDappOperations",
        ],
        [
            "1010",
            "Pause or resume the platform",
            "staking_hub",
            "set_platform_paused",
            "set_platform_paused_validate",
            "ApplicationBusinessLogic",
        ],
        [
            "1011",
            "Restore a shard from its snapshot",
            "staking_hub",
            "restore_shard_snapshot",
            "restore_shard_snapshot_validate",
            "CriticalDappOperations",
        ],
        [
            "1012",
            "Migrate a shard to a new shard",
            "staking_hub",
            "migrate_shard",
            "migrate_shard_validate",
            "CriticalDappOperations",
        ],
    ];
    assert_eq!(got, expected.map(|row| row.map(String::from)));
}

#[test]
fn content_proposals_warn_that_answer_keys_are_public() {
    for (file, f) in real() {
        if ["add_units", "update_unit"].contains(&f.target_method.as_str()) {
            assert!(
                f.description.contains("answer key") && f.description.contains("public"),
                "{file}"
            );
        }
    }
}

// ---------------------------------------------------------------- negative tests

const GOOD: &str = r#"{
  "id": 1000,
  "name": "Disable or enable a shard",
  "description": "Emergency switch for one shard.",
  "target_canister": "staking_hub",
  "target_method": "set_shard_status",
  "validator_method": "set_shard_status_validate",
  "topic": "CriticalDappOperations"
}"#;

fn good() -> CustomFunction {
    custom_functions::parse(GOOD).unwrap()
}

fn check(fns: Vec<CustomFunction>) -> Vec<String> {
    let named: Vec<(String, CustomFunction)> = fns
        .into_iter()
        .map(|f| (format!("{}_{}.json", f.id, f.target_method), f))
        .collect();
    custom_functions::validate(&named, &dfx())
}

#[track_caller]
fn assert_rejected(fns: Vec<CustomFunction>, needle: &str) {
    let d = check(fns);
    assert!(
        d.iter().any(|m| m.contains(needle)),
        "expected a defect containing {needle:?}, got {d:#?}"
    );
}

#[test]
fn the_good_example_is_valid() {
    assert_eq!(check(vec![good()]), Vec::<String>::new());
}

#[test]
fn unknown_or_missing_json_keys_are_rejected() {
    let extra = GOOD.replace("\"topic\"", "\"payload_type\": \"SetShardStatusArg\",\n  \"topic\"");
    assert!(custom_functions::parse(&extra)
        .unwrap_err()
        .contains("unknown field `payload_type`"));
    let missing = GOOD.replace("  \"validator_method\": \"set_shard_status_validate\",\n", "");
    assert!(custom_functions::parse(&missing)
        .unwrap_err()
        .contains("missing field `validator_method`"));
    let wrong_type = GOOD.replace("\"id\": 1000", "\"id\": \"1000\"");
    assert!(custom_functions::parse(&wrong_type).is_err());
}

#[test]
fn governance_rules_are_enforced() {
    assert_rejected(
        vec![CustomFunction { id: 999, ..good() }],
        "reserved for native proposals",
    );
    let other = CustomFunction {
        target_method: "update_config".into(),
        validator_method: "update_config_validate".into(),
        topic: "ApplicationBusinessLogic".into(),
        ..good()
    };
    assert_rejected(vec![good(), other], "id already used");
    assert_rejected(
        vec![CustomFunction {
            name: String::new(),
            ..good()
        }],
        "name must be 1..=256",
    );
    assert_rejected(
        vec![CustomFunction {
            name: "n".repeat(257),
            ..good()
        }],
        "name must be 1..=256",
    );
    assert_rejected(
        vec![CustomFunction {
            description: "d".repeat(10_001),
            ..good()
        }],
        "description must be",
    );
    assert_rejected(
        vec![CustomFunction {
            topic: "Critical".into(),
            ..good()
        }],
        "is not an SNS Topic",
    );
}

#[test]
fn platform_rules_are_enforced() {
    assert_rejected(
        vec![CustomFunction {
            topic: "ApplicationBusinessLogic".into(),
            ..good()
        }],
        "must be on topic CriticalDappOperations",
    );
    assert_rejected(
        vec![CustomFunction {
            target_canister: "no_such_canister".into(),
            ..good()
        }],
        "not a canister in dfx.json",
    );
    // The shards are created by the hub, never deployed by dfx or icp (so not in dfx.json)...
    assert_rejected(
        vec![CustomFunction {
            target_canister: "user_profile".into(),
            ..good()
        }],
        "not a canister in dfx.json",
    );
    // ...and the reward ledger, an SNS dapp canister, has no validate/execute pair.
    assert_rejected(
        vec![CustomFunction {
            target_canister: "reward_ledger".into(),
            ..good()
        }],
        "not a platform canister with validate/execute methods",
    );
    assert_rejected(
        vec![CustomFunction {
            validator_method: "validate_set_shard_status".into(),
            ..good()
        }],
        "validator_method must be",
    );
    // The asset canister's validator is named by its library (ic-certified-assets).
    let assets = CustomFunction {
        id: 1006,
        target_canister: "frontend_assets".into(),
        target_method: "commit_proposed_batch".into(),
        validator_method: "validate_commit_proposed_batch".into(),
        topic: "DappCanisterManagement".into(),
        ..good()
    };
    let named = vec![("1006_commit_proposed_batch.json".to_string(), assets.clone())];
    assert!(custom_functions::validate(&named, &dfx()).is_empty());
    assert_rejected(
        vec![CustomFunction {
            validator_method: "commit_proposed_batch_validate".into(),
            ..assets
        }],
        "validator_method must be \"validate_commit_proposed_batch\"",
    );
    let twice = CustomFunction { id: 1001, ..good() };
    assert_rejected(vec![good(), twice], "already targets staking_hub.set_shard_status");
    let misnamed = vec![("shard.json".to_string(), good())];
    assert!(custom_functions::validate(&misnamed, &dfx())
        .iter()
        .any(|m| m.contains("should be named 1000_set_shard_status.json")));
}
