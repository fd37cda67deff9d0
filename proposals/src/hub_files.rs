//! Files saved from staking_hub queries: the configuration in force (`get_config`) and the
//! shard list (`list_shards`).
//!
//! Both are read as **Candid text, as `dfx canister call` prints it** (the default output):
//!
//! ```sh
//! dfx canister --network ic call staking_hub get_config  > current_config.did
//! dfx canister --network ic call staking_hub list_shards > shards.did
//! ```
//!
//! JSON is accepted too (a file whose first character is `{` or `[`): the config as an object
//! with the `PlatformConfig` field names and numbers (or decimal strings, `_` allowed), the shards
//! as an array of objects with an `"id"` principal string (or of principal strings), as
//! `dfx ... --output json` prints them.

use candid::{IDLValue, Principal};
use platform_types::PlatformConfig;
use std::path::Path;

/// Reads the configuration in force.
pub fn load_config(path: &Path) -> Result<PlatformConfig, String> {
    let text = crate::canister_ids::read_text(path, "--current-config")?;
    parse_config(&text).map_err(|e| format!("--current-config {}: {e}", path.display()))
}

pub fn parse_config(text: &str) -> Result<PlatformConfig, String> {
    let config = if is_json(text) {
        config_from_json(text)?
    } else {
        crate::candid_text::parse_text::<PlatformConfig>(text).map_err(|e| {
            format!("expected the Candid text that `dfx canister call staking_hub get_config` prints: {e}")
        })?
    };
    config
        .validate()
        .map_err(|e| format!("the configuration read is not valid: {e}"))?;
    Ok(config)
}

fn is_json(text: &str) -> bool {
    matches!(text.trim_start().chars().next(), Some('{') | Some('['))
}

fn json_u128(
    obj: &serde_json::Map<String, serde_json::Value>,
    field: &str,
) -> Result<u128, String> {
    match obj.get(field) {
        None => Err(format!("missing field {field}")),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .map(u128::from)
            .ok_or_else(|| format!("{field}: expected a non-negative integer, got {n}")),
        Some(serde_json::Value::String(s)) => s
            .replace('_', "")
            .parse::<u128>()
            .map_err(|_| format!("{field}: expected a non-negative integer, got {s:?}")),
        Some(other) => Err(format!("{field}: expected a number, got {other}")),
    }
}

/// An optional field (`opt` in Candid): absent, `null`, `[]`, a number or `[number]`.
fn json_opt_u64(obj: &serde_json::Map<String, serde_json::Value>, field: &str) -> Result<Option<u64>, String> {
    let value = match obj.get(field) {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::Array(a)) if a.is_empty() => return Ok(None),
        Some(serde_json::Value::Array(a)) if a.len() == 1 => a[0].clone(),
        Some(other) => other.clone(),
    };
    let mut one = serde_json::Map::new();
    one.insert(field.to_string(), value);
    let v = json_u128(&one, field)?;
    u64::try_from(v).map(Some).map_err(|_| format!("{field}: {v} is too large"))
}

/// An optional `nat` field: absent, `null`, `[]`, a number or `[number]`.
fn json_opt_u128(obj: &serde_json::Map<String, serde_json::Value>, field: &str) -> Result<Option<u128>, String> {
    let value = match obj.get(field) {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::Array(a)) if a.is_empty() => return Ok(None),
        Some(serde_json::Value::Array(a)) if a.len() == 1 => a[0].clone(),
        Some(other) => other.clone(),
    };
    let mut one = serde_json::Map::new();
    one.insert(field.to_string(), value);
    json_u128(&one, field).map(Some)
}

/// An optional list of principals: absent, `null`, `[]`, a list of principal strings, or that
/// list wrapped once (`[[...]]`, as `dfx ... --output json` prints an `opt vec principal`).
fn json_opt_principals(
    obj: &serde_json::Map<String, serde_json::Value>,
    field: &str,
) -> Result<Option<Vec<Principal>>, String> {
    let list = match obj.get(field) {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::Array(a)) if a.is_empty() => return Ok(None),
        Some(serde_json::Value::Array(a)) if a.len() == 1 && a[0].is_array() => a[0].as_array().unwrap().clone(),
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(other) => return Err(format!("{field}: expected a list of principals, got {other}")),
    };
    list.iter()
        .map(|v| {
            v.as_str()
                .and_then(|s| Principal::from_text(s).ok())
                .ok_or_else(|| format!("{field}: {v} is not a principal"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn config_from_json(text: &str) -> Result<PlatformConfig, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or("expected a JSON object with the PlatformConfig fields")?;
    const FIELDS: &[&str] = &[
        "shard_soft_limit",
        "shard_hard_limit",
        "auto_scale_interval_secs",
        "allowance_chunk_e8s",
        "reward_per_quiz_e8s",
        "daily_attempt_limit",
        "pass_mark_percent",
        "shard_sync_interval_secs",
        "shard_initial_cycles",
        "shard_topup_threshold_cycles",
        "shard_topup_amount_cycles",
        // Optional (configurations stored before they existed have none).
        "daily_emission_budget_e8s",
        "shard_topup_daily_budget_cycles",
        "min_withdrawal_e8s",
        "withdrawal_cooldown_secs",
        "shard_log_viewers",
        "topup_min_days_left",
        "hub_cycles_for_new_shards",
        "hub_cycles_for_full_topups",
        "shard_memory_budget_bytes",
        "settled_retention_secs",
        "inactive_archive_secs",
        "user_export_readers",
        "shard_subnets",
        "withdrawal_batch_secs",
    ];
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("unknown field {k:?}"));
    }
    let n = |f: &str| json_u128(obj, f);
    let narrow = |f: &str, max: u128| -> Result<u128, String> {
        let v = n(f)?;
        if v > max {
            return Err(format!("{f}: {v} is too large"));
        }
        Ok(v)
    };
    let u64_of = |f: &str| narrow(f, u64::MAX as u128).map(|v| v as u64);
    Ok(PlatformConfig {
        shard_soft_limit: u64_of("shard_soft_limit")?,
        shard_hard_limit: u64_of("shard_hard_limit")?,
        auto_scale_interval_secs: u64_of("auto_scale_interval_secs")?,
        allowance_chunk_e8s: u64_of("allowance_chunk_e8s")?,
        reward_per_quiz_e8s: u64_of("reward_per_quiz_e8s")?,
        daily_attempt_limit: narrow("daily_attempt_limit", u32::MAX as u128)? as u32,
        pass_mark_percent: narrow("pass_mark_percent", u8::MAX as u128)? as u8,
        shard_sync_interval_secs: u64_of("shard_sync_interval_secs")?,
        shard_initial_cycles: n("shard_initial_cycles")?,
        shard_topup_threshold_cycles: n("shard_topup_threshold_cycles")?,
        shard_topup_amount_cycles: n("shard_topup_amount_cycles")?,
        // Optional: a configuration stored before these existed has none (absent, null, [] or
        // [n], as `dfx ... --output json` prints an opt).
        daily_emission_budget_e8s: json_opt_u64(obj, "daily_emission_budget_e8s")?,
        shard_topup_daily_budget_cycles: json_opt_u128(obj, "shard_topup_daily_budget_cycles")?,
        min_withdrawal_e8s: json_opt_u64(obj, "min_withdrawal_e8s")?,
        withdrawal_cooldown_secs: json_opt_u64(obj, "withdrawal_cooldown_secs")?,
        withdrawal_batch_secs: json_opt_u64(obj, "withdrawal_batch_secs")?,
        shard_log_viewers: json_opt_principals(obj, "shard_log_viewers")?,
        topup_min_days_left: json_opt_u64(obj, "topup_min_days_left")?,
        hub_cycles_for_new_shards: json_opt_u128(obj, "hub_cycles_for_new_shards")?,
        hub_cycles_for_full_topups: json_opt_u128(obj, "hub_cycles_for_full_topups")?,
        shard_memory_budget_bytes: json_opt_u64(obj, "shard_memory_budget_bytes")?,
        settled_retention_secs: json_opt_u64(obj, "settled_retention_secs")?,
        inactive_archive_secs: json_opt_u64(obj, "inactive_archive_secs")?,
        user_export_readers: json_opt_principals(obj, "user_export_readers")?,
        shard_subnets: json_opt_principals(obj, "shard_subnets")?,
    })
}

/// A shard of the hub as `list_shards` lists it: its id and, when given, its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownShard {
    pub id: Principal,
    /// `Active`, `Full` or `Disabled` (when the file has a `status` field).
    pub status: Option<String>,
}

/// Reads the shard list. Only each shard's `id` (and `status`, when present) is used, so the
/// file stays readable when `ShardInfo` gains fields.
pub fn load_shards(path: &Path) -> Result<Vec<KnownShard>, String> {
    let text = crate::canister_ids::read_text(path, "--shards-file")?;
    parse_shards(&text).map_err(|e| format!("--shards-file {}: {e}", path.display()))
}

pub fn parse_shards(text: &str) -> Result<Vec<KnownShard>, String> {
    if is_json(text) {
        shards_from_json(text)
    } else {
        shards_from_candid(text)
    }
}

fn shards_from_json(text: &str) -> Result<Vec<KnownShard>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let items = v.as_array().ok_or("expected a JSON array of shards")?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let (id, status) = match item {
                serde_json::Value::String(s) => (s.as_str(), None),
                serde_json::Value::Object(o) => {
                    let id = o
                        .get("id")
                        .and_then(|v| v.as_str())
                        .ok_or_else(|| format!("shard #{i}: no \"id\" string"))?;
                    let status = match o.get("status") {
                        Some(serde_json::Value::String(s)) => Some(s.clone()),
                        Some(serde_json::Value::Object(v)) => v.keys().next().cloned(),
                        _ => None,
                    };
                    (id, status)
                }
                _ => {
                    return Err(format!(
                        "shard #{i}: expected an object with an \"id\" or a principal string"
                    ))
                }
            };
            let id =
                Principal::from_text(id).map_err(|e| format!("shard #{i}: bad id {id:?}: {e}"))?;
            Ok(KnownShard { id, status })
        })
        .collect()
}

fn shards_from_candid(text: &str) -> Result<Vec<KnownShard>, String> {
    let hint = "expected the Candid text that `dfx canister call staking_hub list_shards` prints: (vec { record { id = principal \"...\"; ... }; ... })";
    let args = candid_parser::parse_idl_args(text)
        .map_err(|e| format!("not valid Candid text ({e}); {hint}"))?;
    let [value] = args.args.as_slice() else {
        return Err(format!("expected one value; {hint}"));
    };
    let items = match value {
        IDLValue::Vec(items) => items,
        _ => return Err(hint.to_string()),
    };
    let id_hash = candid::idl_hash("id");
    let status_hash = candid::idl_hash("status");
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let IDLValue::Record(fields) = item else {
                return Err(format!("shard #{i}: not a record; {hint}"));
            };
            let id = fields
                .iter()
                .find(|f| f.id.get_id() == id_hash)
                .ok_or_else(|| format!("shard #{i}: no id field"))?;
            let IDLValue::Principal(id) = id.val else {
                return Err(format!("shard #{i}: id is not a principal"));
            };
            let status = fields
                .iter()
                .find(|f| f.id.get_id() == status_hash)
                .and_then(|f| match &f.val {
                    IDLValue::Variant(v) => match &v.0.id {
                        candid::types::Label::Named(n) => Some(n.clone()),
                        other => Some(other.to_string()),
                    },
                    _ => None,
                });
            Ok(KnownShard { id, status })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_is_read_from_dfx_candid_output_and_from_json() {
        let d = PlatformConfig::default();
        let (_, text) = crate::candid_text::to_checked_text(&d).unwrap();
        assert_eq!(parse_config(&text).unwrap(), d);
        // dfx's default output: one value in parentheses, with type annotations and `_` separators.
        let dfx = "(\n  record {\n    shard_soft_limit = 90_000 : nat64;\n    shard_hard_limit = 100_000 : nat64;\n    auto_scale_interval_secs = 60 : nat64;\n    allowance_chunk_e8s = 10_000_000_000_000 : nat64;\n    reward_per_quiz_e8s = 10_000_000_000 : nat64;\n    daily_attempt_limit = 7 : nat32;\n    pass_mark_percent = 60 : nat8;\n    shard_sync_interval_secs = 300 : nat64;\n    shard_initial_cycles = 2_000_000_000_000 : nat;\n    shard_topup_threshold_cycles = 1_000_000_000_000 : nat;\n    shard_topup_amount_cycles = 1_000_000_000_000 : nat;\n  },\n)\n";
        assert_eq!(
            parse_config(dfx).unwrap(),
            PlatformConfig {
                daily_attempt_limit: 7,
                // A hub that predates the daily budget: none stored (it means the default).
                daily_emission_budget_e8s: None,
                ..d.clone()
            }
        );
        let json = r#"{"shard_soft_limit":90000,"shard_hard_limit":"100_000","auto_scale_interval_secs":60,
            "allowance_chunk_e8s":10000000000000,"reward_per_quiz_e8s":10000000000,"daily_attempt_limit":5,
            "pass_mark_percent":61,"shard_sync_interval_secs":300,"shard_initial_cycles":"2000000000000",
            "shard_topup_threshold_cycles":1000000000000,"shard_topup_amount_cycles":1000000000000}"#;
        assert_eq!(
            parse_config(json).unwrap(),
            PlatformConfig {
                pass_mark_percent: 61,
                daily_emission_budget_e8s: None,
                ..d.clone()
            }
        );
        let with_budget = json.replace("}", r#","daily_emission_budget_e8s":"50_000_000_000_000"}"#);
        assert_eq!(parse_config(&with_budget).unwrap().daily_emission_budget_e8s, Some(50_000_000_000_000));
        // The withdrawal rules and the per-shard top-up budget: optional, as dfx's JSON prints an opt.
        let with_opts = json.replace(
            "}",
            r#","shard_topup_daily_budget_cycles":["4_000_000_000_000"],"min_withdrawal_e8s":[100000000],"withdrawal_cooldown_secs":[],"daily_emission_budget_e8s":null}"#,
        );
        let c = parse_config(&with_opts).unwrap();
        assert_eq!(
            (c.shard_topup_daily_budget_cycles, c.min_withdrawal_e8s, c.withdrawal_cooldown_secs, c.daily_emission_budget_e8s),
            (Some(4_000_000_000_000), Some(100_000_000), None, None)
        );
        assert!(parse_config(
            &json.replace("\"pass_mark_percent\":61", "\"pass_mark_percent\":611")
        )
        .is_err());
        assert!(parse_config(&json.replace("shard_soft_limit", "soft")).is_err());
        assert!(parse_config("(record { shard_soft_limit = 1 : nat64 })").is_err());
        // Out of range in force: refused.
        assert!(
            parse_config(&text.replace("pass_mark_percent = 60", "pass_mark_percent = 0")).is_err()
        );
    }

    #[test]
    fn shards_are_read_from_candid_with_names_or_hashes_and_from_json() {
        let a = "rrkah-fqaaa-aaaaa-aaaaq-cai";
        let b = "qoctq-giaaa-aaaaa-aaaea-cai";
        let text = format!(
            "(vec {{ record {{ id = principal \"{a}\"; status = variant {{ Disabled }}; user_count = 3 : nat64 }}; record {{ id = principal \"{b}\" }} }})"
        );
        let s = parse_shards(&text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].id.to_text(), s[0].status.as_deref()),
            (a.to_string(), Some("Disabled"))
        );
        assert_eq!(s[1].status, None);
        // Hashed labels, as dfx prints them without the interface.
        let hashed = format!(
            "(vec {{ record {{ {} = principal \"{a}\" }} }})",
            candid::idl_hash("id")
        );
        assert_eq!(parse_shards(&hashed).unwrap()[0].id.to_text(), a);
        let json = format!(r#"[{{"id":"{a}","status":{{"Active":null}}}}, "{b}"]"#);
        let s = parse_shards(&json).unwrap();
        assert_eq!(s[0].status.as_deref(), Some("Active"));
        assert_eq!(s[1].id.to_text(), b);
        assert!(parse_shards("(vec { record { user_count = 1 } })").is_err());
        assert!(parse_shards("(record {})").is_err());
        assert!(parse_shards("[{\"id\": 5}]").is_err());
        assert_eq!(parse_shards("(vec {})").unwrap(), vec![]);
    }
}
