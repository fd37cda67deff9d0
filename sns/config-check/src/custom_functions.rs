//! The custom proposal (generic nervous system function) definitions in
//! `sns/custom_functions/<id>_<target_method>.json`, and the rules SNS
//! governance applies when `AddGenericNervousSystemFunction` registers one.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The variants of SNS governance's `Topic`.
pub const TOPICS: [&str; 7] = [
    "DaoCommunitySettings",
    "SnsFrameworkManagement",
    "DappCanisterManagement",
    "ApplicationBusinessLogic",
    "Governance",
    "TreasuryAssetManagement",
    "CriticalDappOperations",
];
/// Ids below this are reserved for native proposals.
pub const MIN_ID: u64 = 1000;
pub const MAX_NAME_BYTES: usize = 256;
pub const MAX_DESCRIPTION_BYTES: usize = 10_000;
/// Canisters a custom function may target: SNS-controlled dapp canisters.
/// user_profile shards are controlled by staking_hub only, never by the SNS.
pub const SNS_CONTROLLED_TARGETS: [&str; 3] = ["staking_hub", "learning_content", "frontend_assets"];
/// Validators named by a library rather than by the `<method>_validate` convention:
/// (canister, target method, validator). The asset canister is DFINITY's ic-certified-assets.
pub const LIBRARY_VALIDATORS: [(&str, &str, &str); 1] =
    [("frontend_assets", "commit_proposed_batch", "validate_commit_proposed_batch")];
/// Methods whose function must be on the critical topic.
pub const CRITICAL_METHODS: [&str; 1] = ["set_shard_status"];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFunction {
    pub id: u64,
    pub name: String,
    pub description: String,
    /// A canister name from dfx.json; the proposals CLI resolves it to an id.
    pub target_canister: String,
    pub target_method: String,
    pub validator_method: String,
    pub topic: String,
}

pub fn parse(json: &str) -> Result<CustomFunction, String> {
    serde_json::from_str(json).map_err(|e| e.to_string())
}

/// Reads every `*.json` in `dir`, as (file name, function).
pub fn load_dir(dir: &Path) -> Result<Vec<(String, CustomFunction)>, String> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
        out.push((file.clone(), parse(&text).map_err(|e| format!("{file}: {e}"))?));
    }
    out.sort_by_key(|(_, f)| f.id);
    Ok(out)
}

/// The canister names defined in a dfx.json.
pub fn dfx_canisters(dfx_json: &str) -> Result<BTreeSet<String>, String> {
    let v: serde_json::Value = serde_json::from_str(dfx_json).map_err(|e| e.to_string())?;
    let canisters = v
        .get("canisters")
        .and_then(|c| c.as_object())
        .ok_or("dfx.json has no \"canisters\" object")?;
    Ok(canisters.keys().cloned().collect())
}

/// Checks the functions together (ids unique); returns the defects.
pub fn validate(functions: &[(String, CustomFunction)], dfx_canisters: &BTreeSet<String>) -> Vec<String> {
    let mut d = Vec::new();
    let mut ids = BTreeMap::new();
    let mut targets = BTreeSet::new();
    for (file, f) in functions {
        let at = format!("{file} (id {})", f.id);
        if f.id < MIN_ID {
            d.push(format!("{at}: ids below {MIN_ID} are reserved for native proposals"));
        }
        if let Some(other) = ids.insert(f.id, file) {
            d.push(format!("{at}: id already used by {other}"));
        }
        if f.name.is_empty() || f.name.len() > MAX_NAME_BYTES {
            d.push(format!(
                "{at}: name must be 1..={MAX_NAME_BYTES} bytes, is {}",
                f.name.len()
            ));
        }
        // Governance only bounds the description; an empty one does not help voters (policy).
        if f.description.trim().is_empty() || f.description.len() > MAX_DESCRIPTION_BYTES {
            d.push(format!(
                "{at}: description must be 1..={MAX_DESCRIPTION_BYTES} bytes, is {}",
                f.description.len()
            ));
        }
        if !TOPICS.contains(&f.topic.as_str()) {
            d.push(format!(
                "{at}: topic {:?} is not an SNS Topic (one of {TOPICS:?})",
                f.topic
            ));
        }
        if CRITICAL_METHODS.contains(&f.target_method.as_str()) && f.topic != "CriticalDappOperations" {
            d.push(format!(
                "{at}: {} is an emergency action and must be on topic CriticalDappOperations",
                f.target_method
            ));
        }
        if !dfx_canisters.contains(&f.target_canister) {
            d.push(format!(
                "{at}: target_canister {:?} is not a canister in dfx.json",
                f.target_canister
            ));
        } else if !SNS_CONTROLLED_TARGETS.contains(&f.target_canister.as_str()) {
            d.push(format!(
                "{at}: target_canister {:?} is not a platform canister with validate/execute methods ({})",
                f.target_canister,
                SNS_CONTROLLED_TARGETS.join(", ")
            ));
        }
        let is_ident = |m: &str| {
            !m.is_empty()
                && m.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if !is_ident(&f.target_method) {
            d.push(format!(
                "{at}: target_method {:?} is not a method name",
                f.target_method
            ));
        }
        let expected_validator = LIBRARY_VALIDATORS
            .iter()
            .find(|(c, m, _)| *c == f.target_canister && *m == f.target_method)
            .map(|(_, _, v)| v.to_string())
            .unwrap_or_else(|| format!("{}_validate", f.target_method));
        if f.validator_method != expected_validator {
            d.push(format!(
                "{at}: validator_method must be {:?}, is {:?}",
                expected_validator, f.validator_method
            ));
        }
        if !targets.insert((f.target_canister.clone(), f.target_method.clone())) {
            d.push(format!(
                "{at}: another function already targets {}.{}",
                f.target_canister, f.target_method
            ));
        }
        let expected_file = format!("{}_{}.json", f.id, f.target_method);
        if *file != expected_file {
            d.push(format!("{at}: the file should be named {expected_file}"));
        }
    }
    d
}
