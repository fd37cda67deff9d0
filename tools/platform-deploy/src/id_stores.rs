//! The canister-id files DFINITY's tools read, so `icp` and `dfx` address a deployment's
//! canisters by name:
//! - icp-cli: `<project>/.icp/data/mappings/<environment>.ids.json`, `{ "<name>": "<id>" }`
//!   (the "data" store of environments on connected networks, as the project's `icp.yaml`
//!   declares its `local` network; `icp canister link` writes the same file);
//! - dfx: `<project>/canister_ids.json` for `ic`, `<project>/.dfx/<network>/canister_ids.json`
//!   otherwise (`ephemeral` networks, as dfx.json's `localnet`), `{ "<name>": { "<network>": "<id>" } }`.
//!
//! Existing entries of other canisters (and, for dfx, other networks) are kept.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use candid::Principal;

use crate::Deployment;

/// The names this project's `icp.yaml` and `dfx.json` give a deployment's canisters.
pub fn named_ids(d: &Deployment) -> Vec<(&'static str, Principal)> {
    let mut ids = vec![
        ("staking_hub", d.staking_hub),
        ("learning_content", d.learning_content),
        ("reward_ledger", d.reward_ledger),
        ("sns_governance", d.sns_governance),
        ("sns_root", d.sns_root),
    ];
    if let Some(f) = d.frontend_assets {
        ids.push(("frontend_assets", f));
    }
    ids.extend(d.icp_ledger.map(|id| ("icp_ledger", id)));
    ids.extend(d.cmc.map(|id| ("cmc", id)));
    ids
}

pub fn icp_ids_file(project: &Path, environment: &str) -> PathBuf {
    project.join(".icp/data/mappings").join(format!("{environment}.ids.json"))
}

pub fn dfx_ids_file(project: &Path, network: &str) -> PathBuf {
    if network == "ic" {
        project.join("canister_ids.json")
    } else {
        project.join(".dfx").join(network).join("canister_ids.json")
    }
}

fn read_json(path: &Path) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    if !path.exists() {
        return Ok(Default::default());
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    match serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))? {
        serde_json::Value::Object(map) => Ok(map),
        _ => bail!("{}: not a JSON object", path.display()),
    }
}

fn write_json(path: &Path, map: serde_json::Map<String, serde_json::Value>) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(map))? + "\n";
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Records `ids` in icp-cli's store of `environment` and dfx's of `dfx_network` (this project's
/// local network is `local` in icp.yaml and `localnet` in dfx.json). Returns the two files.
pub fn record(project: &Path, environment: &str, dfx_network: &str, ids: &[(&str, Principal)]) -> anyhow::Result<[PathBuf; 2]> {
    let icp = icp_ids_file(project, environment);
    let mut map = read_json(&icp)?;
    for (name, id) in ids {
        map.insert(name.to_string(), id.to_text().into());
    }
    write_json(&icp, map)?;

    let dfx = dfx_ids_file(project, dfx_network);
    let mut map = read_json(&dfx)?;
    for (name, id) in ids {
        let entry = map.entry(name.to_string()).or_insert_with(|| serde_json::json!({}));
        match entry {
            serde_json::Value::Object(per_network) => {
                per_network.insert(dfx_network.to_string(), id.to_text().into());
            }
            _ => bail!("{}: entry {name:?} is not an object", dfx.display()),
        }
    }
    write_json(&dfx, map)?;
    Ok([icp, dfx])
}

/// Reads canister ids from an icp-cli mapping file (`{"name": "id"}`) or a dfx
/// `canister_ids.json` (`{"name": {"<network>": "id"}}`, the entry of `network`).
pub fn read(path: &Path, network: &str) -> anyhow::Result<BTreeMap<String, Principal>> {
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    let mut ids = BTreeMap::new();
    for (name, value) in read_json(path)? {
        let text = match &value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Object(per_network) => match per_network.get(network) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(_) => bail!("{}: {name}.{network} is not a string", path.display()),
                None => continue,
            },
            _ => bail!("{}: entry {name:?} is neither an id nor a map of networks to ids", path.display()),
        };
        let id = Principal::from_text(&text).with_context(|| format!("{}: {name} = {text:?} is not a principal", path.display()))?;
        ids.insert(name, id);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("id-stores-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn both_stores_are_written_merged_and_read_back() {
        let d = dir("merge");
        let a = Principal::from_text("ryjl3-tyaaa-aaaaa-aaaba-cai").unwrap();
        let b = Principal::from_text("rrkah-fqaaa-aaaaa-aaaaq-cai").unwrap();
        std::fs::create_dir_all(d.join(".dfx/localnet")).unwrap();
        std::fs::write(d.join(".dfx/localnet/canister_ids.json"), r#"{"other":{"localnet":"aaaaa-aa","ic":"aaaaa-aa"}}"#).unwrap();
        let [icp, dfx] = record(&d, "local", "localnet", &[("staking_hub", a)]).unwrap();
        record(&d, "local", "localnet", &[("reward_ledger", b)]).unwrap();
        assert_eq!(icp, d.join(".icp/data/mappings/local.ids.json"));
        let from_icp = read(&icp, "local").unwrap();
        assert_eq!(from_icp.get("staking_hub"), Some(&a));
        assert_eq!(from_icp.get("reward_ledger"), Some(&b));
        assert_eq!(dfx, d.join(".dfx/localnet/canister_ids.json"));
        let from_dfx = read(&dfx, "localnet").unwrap();
        assert_eq!(from_dfx.len(), 3, "the other canister's entry is kept: {from_dfx:?}");
        assert_eq!(read(&dfx, "ic").unwrap().len(), 1, "only `other` has an ic id");
        assert_eq!(dfx_ids_file(&d, "ic"), d.join("canister_ids.json"));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn bad_files_are_refused_with_their_path() {
        let d = dir("bad");
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("ids.json");
        assert!(read(&f, "ic").unwrap_err().to_string().contains("does not exist"));
        std::fs::write(&f, r#"{"staking_hub": "not a principal"}"#).unwrap();
        assert!(read(&f, "ic").unwrap_err().to_string().contains("staking_hub"));
        std::fs::write(&f, "[1]").unwrap();
        assert!(read(&f, "ic").unwrap_err().to_string().contains("not a JSON object"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
