//! Canister names to ids: dfx's `canister_ids.json` (`{ "staking_hub": { "ic": "<id>" }, ... }`,
//! or `.dfx/local/canister_ids.json` for `--network local`), `--canister name=principal`
//! overrides, and quill's `sns_canister_ids.json` for the SNS's own canisters.

use candid::Principal;
use std::collections::BTreeMap;
use std::path::Path;

/// The NNS ledger: no custom function may target it.
pub const NNS_LEDGER: &str = platform_types::sns::NNS_LEDGER_CANISTER_ID;

#[derive(Clone, Debug, Default)]
pub struct CanisterIds {
    pub network: String,
    by_name: BTreeMap<String, Principal>,
    /// Where the ids came from, for error messages.
    sources: Vec<String>,
}

impl CanisterIds {
    pub fn new(network: &str) -> Self {
        CanisterIds {
            network: network.to_string(),
            ..Default::default()
        }
    }

    /// Reads a dfx `canister_ids.json`, keeping the ids of `self.network`.
    pub fn load_file(&mut self, path: &Path) -> Result<(), String> {
        let text = read_text(path, "--canister-ids")?;
        self.load_json(&text)
            .map_err(|e| format!("--canister-ids {}: {e}", path.display()))?;
        self.sources.push(path.display().to_string());
        Ok(())
    }

    pub fn load_json(&mut self, text: &str) -> Result<(), String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let obj = v
            .as_object()
            .ok_or("expected a JSON object { \"<canister>\": { \"<network>\": \"<id>\" } }")?;
        for (name, per_network) in obj {
            let per_network = per_network.as_object().ok_or_else(|| {
                format!("canister {name:?}: expected an object {{ \"<network>\": \"<id>\" }}")
            })?;
            if let Some(id) = per_network.get(&self.network) {
                let id = id
                    .as_str()
                    .ok_or_else(|| format!("canister {name:?}: the id must be a string"))?;
                let p = parse_principal(id).map_err(|e| format!("canister {name:?}: {e}"))?;
                self.by_name.insert(name.clone(), p);
            }
        }
        Ok(())
    }

    /// `name=principal` (wins over the file).
    pub fn add_override(&mut self, spec: &str) -> Result<(), String> {
        let (name, id) = spec
            .split_once('=')
            .ok_or_else(|| format!("--canister: expected name=principal, got {spec:?}"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("--canister: no canister name in {spec:?}"));
        }
        let p = parse_principal(id.trim()).map_err(|e| format!("--canister {name}: {e}"))?;
        self.by_name.insert(name.to_string(), p);
        if !self.sources.iter().any(|s| s == "--canister") {
            self.sources.push("--canister".into());
        }
        Ok(())
    }

    pub fn resolve(&self, name: &str) -> Result<Principal, String> {
        self.by_name.get(name).copied().ok_or_else(|| {
            let from = if self.sources.is_empty() { "no canister ids were given".to_string() } else { format!("looked in {}", self.sources.join(", ")) };
            format!(
                "no id for canister {name:?} on network {:?} ({from}): pass --canister-ids <canister_ids.json> or --canister {name}=<principal>",
                self.network
            )
        })
    }
}

/// The SNS canisters, from quill's `sns_canister_ids.json`
/// (`{ "governance_canister_id": "...", "root_canister_id": "...", ... }`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnsCanisterIds {
    pub governance: Option<Principal>,
    pub root: Option<Principal>,
    pub ledger: Option<Principal>,
    pub swap: Option<Principal>,
    pub index: Option<Principal>,
}

impl SnsCanisterIds {
    pub fn load_file(path: &Path) -> Result<Self, String> {
        let text = read_text(path, "--sns-canister-ids")?;
        Self::from_json(&text).map_err(|e| format!("--sns-canister-ids {}: {e}", path.display()))
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let obj = v
            .as_object()
            .ok_or("expected a JSON object like quill's sns_canister_ids.json")?;
        let get = |k: &str| -> Result<Option<Principal>, String> {
            match obj.get(k) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => parse_principal(s)
                    .map(Some)
                    .map_err(|e| format!("{k}: {e}")),
                Some(_) => Err(format!("{k}: expected a principal string")),
            }
        };
        let ids = SnsCanisterIds {
            governance: get("governance_canister_id")?,
            root: get("root_canister_id")?,
            ledger: get("ledger_canister_id")?,
            swap: get("swap_canister_id")?,
            index: get("index_canister_id")?,
        };
        if ids.governance.is_none() {
            return Err("no governance_canister_id".into());
        }
        Ok(ids)
    }

    /// Canisters no custom function may target: the SNS's governance, root, ledger and swap,
    /// the NNS ledger and the management canister (SNS governance's `reserved_canister_targets`).
    pub fn reserved_targets(&self) -> Vec<(Principal, &'static str)> {
        let mut v = vec![
            (Principal::management_canister(), "the management canister"),
            (
                Principal::from_text(NNS_LEDGER).expect("NNS ledger id"),
                "the NNS ledger",
            ),
        ];
        for (id, what) in [
            (self.governance, "SNS governance"),
            (self.root, "SNS root"),
            (self.ledger, "the SNS ledger"),
            (self.swap, "the SNS swap"),
        ] {
            if let Some(id) = id {
                v.push((id, what));
            }
        }
        v
    }

    /// Which SNS canister `id` is, if it is one.
    pub fn name_of(&self, id: &Principal) -> Option<&'static str> {
        [
            (self.governance, "governance"),
            (self.root, "root"),
            (self.ledger, "ledger"),
            (self.swap, "swap"),
            (self.index, "index"),
        ]
        .into_iter()
        .find(|(p, _)| p.as_ref() == Some(id))
        .map(|(_, name)| name)
    }
}

pub fn parse_principal(s: &str) -> Result<Principal, String> {
    let p = Principal::from_text(s.trim()).map_err(|e| format!("not a principal {s:?}: {e}"))?;
    if p == Principal::anonymous() {
        return Err("the anonymous principal is not a canister".into());
    }
    Ok(p)
}

pub fn read_text(path: &Path, flag: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{flag} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUB: &str = "rrkah-fqaaa-aaaaa-aaaaq-cai";
    const CONTENT: &str = "qoctq-giaaa-aaaaa-aaaea-cai";

    #[test]
    fn dfx_files_are_read_for_the_network_and_overrides_win() {
        let json = format!(
            r#"{{ "staking_hub": {{ "ic": "{HUB}", "local": "{CONTENT}" }}, "learning_content": {{ "local": "{CONTENT}" }} }}"#
        );
        let mut ids = CanisterIds::new("ic");
        ids.load_json(&json).unwrap();
        assert_eq!(ids.resolve("staking_hub").unwrap().to_text(), HUB);
        let err = ids.resolve("learning_content").unwrap_err();
        assert!(
            err.contains("learning_content") && err.contains("--canister"),
            "{err}"
        );
        ids.add_override(&format!("learning_content={CONTENT}"))
            .unwrap();
        assert_eq!(ids.resolve("learning_content").unwrap().to_text(), CONTENT);
        let mut local = CanisterIds::new("local");
        local.load_json(&json).unwrap();
        assert_eq!(local.resolve("staking_hub").unwrap().to_text(), CONTENT);
        assert!(ids.add_override("x").is_err());
        assert!(ids.add_override("x=not-a-principal").is_err());
        assert!(ids.add_override("x=2vxsx-fae").is_err(), "anonymous");
        assert!(CanisterIds::new("ic").load_json("[]").is_err());
    }

    #[test]
    fn sns_canister_ids_give_the_reserved_targets() {
        let ids = SnsCanisterIds::from_json(&format!(
            r#"{{ "governance_canister_id": "{HUB}", "root_canister_id": "{CONTENT}" }}"#
        ))
        .unwrap();
        assert_eq!(ids.governance.unwrap().to_text(), HUB);
        let reserved: Vec<_> = ids.reserved_targets().into_iter().map(|(p, _)| p).collect();
        assert!(reserved.contains(&Principal::management_canister()));
        assert!(reserved.contains(&ids.root.unwrap()));
        assert!(SnsCanisterIds::from_json("{}").is_err());
    }
}
