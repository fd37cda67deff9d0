//! The custom proposals of `sns/custom_functions/<id>_<method>.json`, turned into the
//! `NervousSystemFunction` of an `AddGenericNervousSystemFunction` proposal.
//!
//! Checks (SNS governance's `ValidGenericNervousSystemFunction`, plus the project's conventions):
//! id ≥ 1000 and equal to the file name's prefix, name 1..=256 bytes, description ≤ 10,000 bytes,
//! non-empty method names, a valid topic, and a target that is not a reserved canister (the
//! management canister, the NNS ledger and, with `--sns-canister-ids`, the SNS's governance,
//! root, ledger and swap). The validator runs on the target canister.

use crate::canister_ids::{CanisterIds, SnsCanisterIds};
use platform_types::sns::{
    FunctionType, GenericNervousSystemFunction, NervousSystemFunction, Topic,
    MAX_FUNCTION_DESCRIPTION_BYTES, MAX_FUNCTION_NAME_BYTES, MIN_GENERIC_FUNCTION_ID,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One `custom_functions/*.json` file.
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub target_canister: String,
    pub target_method: String,
    pub validator_method: String,
    pub topic: String,
}

pub const TOPICS: [(&str, Topic); 7] = [
    ("DaoCommunitySettings", Topic::DaoCommunitySettings),
    ("SnsFrameworkManagement", Topic::SnsFrameworkManagement),
    ("DappCanisterManagement", Topic::DappCanisterManagement),
    ("ApplicationBusinessLogic", Topic::ApplicationBusinessLogic),
    ("Governance", Topic::Governance),
    ("TreasuryAssetManagement", Topic::TreasuryAssetManagement),
    ("CriticalDappOperations", Topic::CriticalDappOperations),
];

pub fn parse_topic(name: &str) -> Result<Topic, String> {
    TOPICS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<&str> = TOPICS.iter().map(|(n, _)| *n).collect();
            format!("unknown topic {name:?}; one of: {}", names.join(", "))
        })
}

fn check_method(what: &str, m: &str) -> Result<(), String> {
    if m.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if m.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{what} {m:?} must not contain whitespace"));
    }
    Ok(())
}

impl FunctionSpec {
    /// Checks everything that does not need canister ids.
    pub fn validate(&self) -> Result<(), String> {
        if self.id < MIN_GENERIC_FUNCTION_ID {
            return Err(format!(
                "id {} is below {MIN_GENERIC_FUNCTION_ID}: ids 0..=999 are reserved for native proposals",
                self.id
            ));
        }
        if self.name.trim().is_empty() || self.name.len() > MAX_FUNCTION_NAME_BYTES {
            return Err(format!(
                "name must be 1 to {MAX_FUNCTION_NAME_BYTES} bytes, got {}",
                self.name.len()
            ));
        }
        if self.description.len() > MAX_FUNCTION_DESCRIPTION_BYTES {
            return Err(format!(
                "description must be at most {MAX_FUNCTION_DESCRIPTION_BYTES} bytes, got {}",
                self.description.len()
            ));
        }
        if self.target_canister.trim().is_empty() {
            return Err("target_canister must not be empty".into());
        }
        check_method("target_method", &self.target_method)?;
        check_method("validator_method", &self.validator_method)?;
        parse_topic(&self.topic)?;
        Ok(())
    }

    /// The function, with the target canister resolved. The validator is on the target canister.
    pub fn to_function(
        &self,
        ids: &CanisterIds,
        sns: Option<&SnsCanisterIds>,
    ) -> Result<NervousSystemFunction, String> {
        self.validate()?;
        let target = ids.resolve(&self.target_canister)?;
        let reserved = sns.cloned().unwrap_or_default().reserved_targets();
        if let Some((_, what)) = reserved.iter().find(|(p, _)| *p == target) {
            return Err(format!(
                "target_canister {} resolves to {target}, which is {what}: SNS governance refuses custom functions that target it",
                self.target_canister
            ));
        }
        Ok(NervousSystemFunction {
            id: self.id,
            name: self.name.clone(),
            description: Some(self.description.clone()),
            function_type: Some(FunctionType::GenericNervousSystemFunction(
                GenericNervousSystemFunction {
                    validator_canister_id: Some(target),
                    target_canister_id: Some(target),
                    validator_method_name: Some(self.validator_method.clone()),
                    target_method_name: Some(self.target_method.clone()),
                    topic: Some(parse_topic(&self.topic)?),
                },
            )),
        })
    }

    /// Notes on departures from the project's conventions (not errors).
    pub fn convention_warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        // The asset canister's validator is named by its library (ic-certified-assets).
        let library = self.target_canister == "frontend_assets"
            && self.target_method == "commit_proposed_batch"
            && self.validator_method == "validate_commit_proposed_batch";
        if !library && self.validator_method != format!("{}_validate", self.target_method) {
            w.push(format!(
                "function {}: validator_method {:?} is not target_method + \"_validate\"",
                self.id, self.validator_method
            ));
        }
        w
    }
}

/// Reads one function file; the id must match the file name's `<id>_` prefix.
pub fn load_file(path: &Path) -> Result<FunctionSpec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec: FunctionSpec =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let file_id = file_id(path);
    if file_id != Some(spec.id) {
        return Err(format!(
            "{}: the file name must start with the function id and '_' ({}_...), the id in the file is {}",
            path.display(),
            spec.id,
            spec.id
        ));
    }
    spec.validate()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(spec)
}

fn file_id(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    name.split_once('_')?.0.parse().ok()
}

/// The function files of `dir` (`*.json` whose name starts with `<digits>_`), by id.
pub fn list_dir(dir: &Path) -> Result<Vec<(u64, PathBuf)>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("--functions-dir {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for e in entries {
        let path = e
            .map_err(|e| format!("--functions-dir {}: {e}", dir.display()))?
            .path();
        if path.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        if let Some(id) = file_id(&path) {
            files.push((id, path));
        }
    }
    files.sort();
    for pair in files.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(format!(
                "two files for function {}: {} and {}",
                pair[0].0,
                pair[0].1.display(),
                pair[1].1.display()
            ));
        }
    }
    Ok(files)
}

/// The specs for `ids` (or every file with `all`).
pub fn load_specs(dir: &Path, ids: &[u64], all: bool) -> Result<Vec<FunctionSpec>, String> {
    let files = list_dir(dir)?;
    let chosen: Vec<&(u64, PathBuf)> = if all {
        if files.is_empty() {
            return Err(format!(
                "no <id>_*.json function files in {}",
                dir.display()
            ));
        }
        files.iter().collect()
    } else {
        let mut v = Vec::new();
        for id in ids {
            if *id < MIN_GENERIC_FUNCTION_ID {
                return Err(format!(
                    "--id {id}: custom function ids start at {MIN_GENERIC_FUNCTION_ID} (0..=999 are native proposals)"
                ));
            }
            let f = files
                .iter()
                .find(|(fid, _)| fid == id)
                .ok_or_else(|| format!("--id {id}: no file {id}_*.json in {}", dir.display()))?;
            if v.iter().any(|(fid, _): &&(u64, PathBuf)| fid == id) {
                return Err(format!("--id {id} is given twice"));
            }
            v.push(f);
        }
        v
    };
    chosen.into_iter().map(|(_, p)| load_file(p)).collect()
}

/// The rendering SNS governance shows for an `AddGenericNervousSystemFunction` proposal, in spirit.
pub fn render(f: &NervousSystemFunction) -> String {
    let g = f.generic().cloned().unwrap_or_default();
    let opt = |p: Option<candid::Principal>| p.map(|p| p.to_text()).unwrap_or_default();
    format!(
        "Add custom proposal {id}: {name}\n  topic: {topic}{critical}\n  target: {tc}.{tm}\n  validator: {vc}.{vm}\n  description: {desc}",
        id = f.id,
        name = f.name,
        topic = g.topic.map(|t| format!("{t:?}")).unwrap_or_else(|| "none".into()),
        critical = if g.topic.is_some_and(|t| t.is_critical()) { " (critical: 20% of all voting power and 67% of the votes cast)" } else { "" },
        tc = opt(g.target_canister_id),
        tm = g.target_method_name.unwrap_or_default(),
        vc = opt(g.validator_canister_id),
        vm = g.validator_method_name.unwrap_or_default(),
        desc = f.description.clone().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FunctionSpec {
        FunctionSpec {
            id: 1000,
            name: "n".into(),
            description: "d".into(),
            target_canister: "staking_hub".into(),
            target_method: "set_shard_status".into(),
            validator_method: "set_shard_status_validate".into(),
            topic: "CriticalDappOperations".into(),
        }
    }

    #[test]
    fn specs_are_checked() {
        spec().validate().unwrap();
        assert!(FunctionSpec { id: 999, ..spec() }
            .validate()
            .unwrap_err()
            .contains("999"));
        assert!(FunctionSpec {
            name: String::new(),
            ..spec()
        }
        .validate()
        .is_err());
        assert!(FunctionSpec {
            name: "x".repeat(257),
            ..spec()
        }
        .validate()
        .is_err());
        FunctionSpec {
            name: "x".repeat(256),
            ..spec()
        }
        .validate()
        .unwrap();
        assert!(FunctionSpec {
            description: "x".repeat(10_001),
            ..spec()
        }
        .validate()
        .is_err());
        assert!(FunctionSpec {
            topic: "Critical".into(),
            ..spec()
        }
        .validate()
        .unwrap_err()
        .contains("unknown topic"));
        assert!(FunctionSpec {
            target_method: String::new(),
            ..spec()
        }
        .validate()
        .is_err());
        assert!(FunctionSpec {
            validator_method: "a b".into(),
            ..spec()
        }
        .validate()
        .is_err());
        assert!(spec().convention_warnings().is_empty());
        assert_eq!(
            FunctionSpec {
                validator_method: "check".into(),
                ..spec()
            }
            .convention_warnings()
            .len(),
            1
        );
    }

    #[test]
    fn targets_resolve_and_reserved_canisters_are_refused() {
        let mut ids = CanisterIds::new("ic");
        assert!(spec()
            .to_function(&ids, None)
            .unwrap_err()
            .contains("staking_hub"));
        ids.add_override("staking_hub=aaaaa-aa").unwrap();
        assert!(spec()
            .to_function(&ids, None)
            .unwrap_err()
            .contains("management canister"));
        ids.add_override("staking_hub=rrkah-fqaaa-aaaaa-aaaaq-cai")
            .unwrap();
        let f = spec().to_function(&ids, None).unwrap();
        let g = f.generic().unwrap();
        assert_eq!(g.target_canister_id, g.validator_canister_id);
        assert_eq!(g.topic, Some(Topic::CriticalDappOperations));
        let sns = SnsCanisterIds {
            governance: Some("rrkah-fqaaa-aaaaa-aaaaq-cai".parse().unwrap()),
            ..Default::default()
        };
        assert!(spec()
            .to_function(&ids, Some(&sns))
            .unwrap_err()
            .contains("SNS governance"));
    }

    #[test]
    fn the_project_files_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sns/custom_functions");
        let specs = load_specs(&dir, &[], true).unwrap();
        assert_eq!(
            specs.iter().map(|s| s.id).collect::<Vec<_>>(),
            (1000..=1012).collect::<Vec<u64>>()
        );
        for s in &specs {
            assert!(s.convention_warnings().is_empty(), "{s:?}");
        }
    }
}
