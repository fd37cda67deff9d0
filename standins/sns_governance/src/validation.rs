//! Proposal validation and the Markdown renderings stored in `payload_text_rendering`: plain
//! Rust, no canister API. The rules are the real SNS governance's (`proposal.rs`), for the
//! actions this governance supports.

use candid::Principal;
use platform_types::sns::root as sns_root;
use platform_types::sns::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Custom functions by id; `None` is the deletion marker a removed function leaves, so its id is
/// never used again.
pub type Functions = BTreeMap<u64, Option<NervousSystemFunction>>;

pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

/// Title, summary and URL sizes.
pub fn validate_text(p: &Proposal) -> Result<(), String> {
    if p.title.is_empty() || p.title.len() > MAX_TITLE_BYTES {
        return Err(format!("The title must be between 1 and {MAX_TITLE_BYTES} bytes (it is {} bytes)", p.title.len()));
    }
    if p.summary.len() > MAX_SUMMARY_BYTES {
        return Err(format!("The summary must be at most {MAX_SUMMARY_BYTES} bytes (it is {} bytes)", p.summary.len()));
    }
    if p.url.len() > MAX_URL_BYTES {
        return Err(format!("The url must be at most {MAX_URL_BYTES} bytes (it is {} bytes)", p.url.len()));
    }
    Ok(())
}

pub fn validate_motion(m: &Motion) -> Result<String, String> {
    if m.motion_text.len() > MAX_MOTION_TEXT_BYTES {
        return Err(format!("The motion text must be at most {MAX_MOTION_TEXT_BYTES} bytes"));
    }
    Ok(format!("# Motion Proposal:\n## Motion Text:\n\n{}", m.motion_text))
}

/// An `AddGenericNervousSystemFunction` proposal: the id is new (never used), name and
/// description sizes, all four target and validator fields, a topic, and no reserved canister
/// (`reserved`: governance, root, ledger, swap, the management canister).
pub fn validate_add_function(
    f: &NervousSystemFunction,
    functions: &Functions,
    reserved: &[Principal],
) -> Result<String, String> {
    if f.id < MIN_GENERIC_FUNCTION_ID {
        return Err(format!(
            "NervousSystemFunction's must have ids starting at {MIN_GENERIC_FUNCTION_ID} (id {} is reserved for native functions)",
            f.id
        ));
    }
    if f.name.is_empty() || f.name.len() > MAX_FUNCTION_NAME_BYTES {
        return Err(format!("NervousSystemFunction's name must be between 1 and {MAX_FUNCTION_NAME_BYTES} bytes"));
    }
    if f.description.as_ref().is_some_and(|d| d.len() > MAX_FUNCTION_DESCRIPTION_BYTES) {
        return Err(format!(
            "NervousSystemFunction's description must be at most {MAX_FUNCTION_DESCRIPTION_BYTES} bytes"
        ));
    }
    let g = match &f.function_type {
        Some(FunctionType::GenericNervousSystemFunction(g)) => g,
        _ => return Err("NervousSystemFunction must have a function_type set to GenericNervousSystemFunction".into()),
    };
    let target = g.target_canister_id.ok_or("NervousSystemFunction must specify a target_canister_id")?;
    if g.target_method_name.as_deref().unwrap_or_default().is_empty() {
        return Err("NervousSystemFunction must specify a target_method_name".into());
    }
    let validator = g.validator_canister_id.ok_or("NervousSystemFunction must specify a validator_canister_id")?;
    if g.validator_method_name.as_deref().unwrap_or_default().is_empty() {
        return Err("NervousSystemFunction must specify a validator_method_name".into());
    }
    if g.topic.is_none() {
        return Err("NervousSystemFunction must have a topic".into());
    }
    for (what, id) in [("target_canister_id", target), ("validator_canister_id", validator)] {
        if reserved.contains(&id) {
            return Err(format!(
                "Function {what} {id} is a reserved canister (SNS governance, root, ledger, swap or the management canister)"
            ));
        }
    }
    if functions.contains_key(&f.id) {
        return Err(format!("There is/was already a NervousSystemFunction with id: {}", f.id));
    }
    if functions.len() >= MAX_NUMBER_OF_GENERIC_FUNCTIONS {
        return Err(format!("Reached the maximum number of generic functions: {MAX_NUMBER_OF_GENERIC_FUNCTIONS}"));
    }
    Ok(format!("# Proposal to add a new, generic nervous system function:\n\n{}", render_function(f)))
}

/// A `RemoveGenericNervousSystemFunction` proposal: the function must exist.
pub fn validate_remove_function(id: u64, functions: &Functions) -> Result<String, String> {
    match functions.get(&id) {
        Some(Some(f)) => {
            Ok(format!("# Proposal to remove a generic nervous system function:\n\n{}", render_function(f)))
        }
        _ => Err(format!("There is no generic NervousSystemFunction with id: {id}")),
    }
}

/// The custom function an `ExecuteGenericNervousSystemFunction` proposal runs.
pub fn custom_function(id: u64, functions: &Functions) -> Result<&NervousSystemFunction, String> {
    match functions.get(&id) {
        Some(Some(f)) if f.generic().is_some() => Ok(f),
        _ => Err(format!("There is no generic NervousSystemFunction with id: {id}")),
    }
}

/// The target (canister, method) of a custom function; both are present in every added function.
pub fn target_of(f: &NervousSystemFunction) -> Option<(Principal, String)> {
    let g = f.generic()?;
    Some((g.target_canister_id?, g.target_method_name.clone()?))
}

/// The validator (canister, method) of a custom function.
pub fn validator_of(f: &NervousSystemFunction) -> Option<(Principal, String)> {
    let g = f.generic()?;
    Some((g.validator_canister_id?, g.validator_method_name.clone()?))
}

pub fn render_execute(f: &NervousSystemFunction, payload: &[u8], validator_text: &str) -> String {
    format!(
        "# Proposal to execute nervous system function:\n\n## Nervous system function:\n\n{}\n\n## Payload sha256:\n\n{}\n\n## Payload:\n\n{}",
        render_function(f),
        sha256_hex(payload),
        validator_text
    )
}

/// An `UpgradeSnsControlledCanister` proposal: a target, a valid mode, and either a Wasm with a
/// Wasm or gzip header (Wasm and argument under 2,000,000 bytes together) or a chunked Wasm
/// (store canister, at least one chunk, and an empty `new_canister_wasm`). Returns the target
/// and the rendering; that the target is a registered dapp canister is checked with root.
pub fn validate_upgrade(u: &UpgradeSnsControlledCanister) -> Result<(Principal, String), String> {
    let canister = u.canister_id.ok_or("UpgradeSnsControlledCanister must specify a canister_id")?;
    let mode = install_mode_from_code(u.mode)?;
    let arg_len = u.canister_upgrade_arg.as_ref().map_or(0, |a| a.len());
    let wasm_hash = match &u.chunked_canister_wasm {
        Some(c) => {
            if !u.new_canister_wasm.is_empty() {
                return Err("new_canister_wasm must be empty when chunked_canister_wasm is set".into());
            }
            if c.store_canister_id.is_none() {
                return Err("chunked_canister_wasm.store_canister_id must be specified".into());
            }
            if c.chunk_hashes_list.is_empty() {
                return Err("chunked_canister_wasm.chunk_hashes_list must not be empty".into());
            }
            if c.wasm_module_hash.len() != 32 || c.chunk_hashes_list.iter().any(|h| h.len() != 32) {
                return Err("chunked_canister_wasm hashes must be SHA-256 hashes (32 bytes)".into());
            }
            if arg_len >= MAX_INSTALL_CODE_WASM_AND_ARG_SIZE {
                return Err(format!(
                    "canister_upgrade_arg must be smaller than {MAX_INSTALL_CODE_WASM_AND_ARG_SIZE} bytes"
                ));
            }
            to_hex(&c.wasm_module_hash)
        }
        None => {
            let wasm = &u.new_canister_wasm;
            if wasm.len() + arg_len >= MAX_INSTALL_CODE_WASM_AND_ARG_SIZE {
                return Err(format!(
                    "new_canister_wasm and canister_upgrade_arg together must be smaller than {MAX_INSTALL_CODE_WASM_AND_ARG_SIZE} bytes (they are {} bytes); use chunked_canister_wasm",
                    wasm.len() + arg_len
                ));
            }
            if !wasm.starts_with(WASM_MAGIC) && !wasm.starts_with(GZIP_MAGIC) {
                return Err(
                    "new_canister_wasm must start with the Wasm magic bytes \\0asm or the gzip magic bytes 1f 8b 08"
                        .into(),
                );
            }
            sha256_hex(wasm)
        }
    };
    let arg = match &u.canister_upgrade_arg {
        Some(a) => format!("{} bytes, sha256 {}", a.len(), sha256_hex(a)),
        None => "none (empty Candid arguments)".into(),
    };
    Ok((
        canister,
        format!(
            "# Proposal to upgrade dapp canister:\n\n## Canister id: {canister}\n\n## Mode: {mode:?}\n\n## Canister wasm sha256: {wasm_hash}\n\n## Chunked: {}\n\n## Upgrade argument: {arg}",
            u.chunked_canister_wasm.is_some()
        ),
    ))
}

/// A `RegisterDappCanisters` proposal: 1..=1000 distinct canisters, none of the SNS's own.
pub fn validate_register_dapps(r: &RegisterDappCanisters, reserved: &[Principal]) -> Result<String, String> {
    if r.canister_ids.is_empty() {
        return Err("RegisterDappCanisters must specify at least one canister id".into());
    }
    if r.canister_ids.len() > MAX_DAPPS_PER_PROPOSAL {
        return Err(format!("RegisterDappCanisters may specify at most {MAX_DAPPS_PER_PROPOSAL} canister ids"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in &r.canister_ids {
        if reserved.contains(id) {
            return Err(format!("Canister {id} is an SNS canister (or the management canister), not a dapp canister"));
        }
        if !seen.insert(*id) {
            return Err(format!("Canister {id} is listed twice"));
        }
    }
    let list: Vec<String> = r.canister_ids.iter().map(|c| format!("- {c}")).collect();
    Ok(format!("# Proposal to register dapp canisters:\n\n## Canister ids:\n\n{}", list.join("\n")))
}

/// A `ManageDappCanisterSettings` proposal: at least one canister, none named twice, none of
/// the SNS's own (that the others are registered dapp canisters is checked with root), and at
/// least one setting, each well-formed: `log_visibility` 1 (controllers) or 2 (public), which is
/// all the SNS can set (no `allowed_viewers`); `compute_allocation` a percentage; no
/// `snapshot_visibility`, which root's request (that of the reference Candid) cannot carry. Returns root's request and the
/// rendering.
pub fn validate_manage_dapp_settings(
    m: &ManageDappCanisterSettings,
    reserved: &[Principal],
) -> Result<(sns_root::ManageDappCanisterSettingsRequest, String), String> {
    if m.canister_ids.is_empty() {
        return Err("ManageDappCanisterSettings must specify at least one canister id".into());
    }
    if m.canister_ids.len() > MAX_DAPPS_PER_PROPOSAL {
        return Err(format!("ManageDappCanisterSettings may specify at most {MAX_DAPPS_PER_PROPOSAL} canister ids"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in &m.canister_ids {
        if reserved.contains(id) {
            return Err(format!("Canister {id} is an SNS canister (or the management canister), not a dapp canister"));
        }
        if !seen.insert(*id) {
            return Err(format!("Canister {id} is listed twice"));
        }
    }
    if m.snapshot_visibility.is_some() {
        return Err(
            "snapshot_visibility cannot be set by the local SNS: its root's ManageDappCanisterSettingsRequest (as the real root's in candid/reference/sns_root.did) has no such field".into(),
        );
    }
    let mut settings: Vec<String> = Vec::new();
    let log_visibility = match m.log_visibility {
        None => None,
        Some(code) if code == LogVisibilityCode::Controllers as i32 => Some("controllers"),
        Some(code) if code == LogVisibilityCode::Public as i32 => Some("public"),
        Some(other) => {
            return Err(format!("log_visibility {other} is not a log visibility (1 controllers, 2 public)"));
        }
    };
    if let Some(v) = log_visibility {
        settings.push(format!("- Log visibility: {v}"));
    }
    if let Some(c) = m.compute_allocation {
        if c > 100 {
            return Err(format!("compute_allocation is a percentage (0 to 100), not {c}"));
        }
    }
    let numbers = [
        ("Compute allocation (%)", m.compute_allocation),
        ("Memory allocation (bytes)", m.memory_allocation),
        ("Freezing threshold (seconds)", m.freezing_threshold),
        ("Reserved cycles limit", m.reserved_cycles_limit),
        ("Wasm memory limit (bytes)", m.wasm_memory_limit),
        ("Wasm memory threshold (bytes)", m.wasm_memory_threshold),
    ];
    settings.extend(numbers.iter().filter_map(|(name, v)| v.map(|v| format!("- {name}: {v}"))));
    if settings.is_empty() {
        return Err("ManageDappCanisterSettings must change at least one setting".into());
    }
    let request = sns_root::ManageDappCanisterSettingsRequest {
        freezing_threshold: m.freezing_threshold,
        canister_ids: m.canister_ids.clone(),
        reserved_cycles_limit: m.reserved_cycles_limit,
        log_visibility: m.log_visibility,
        wasm_memory_limit: m.wasm_memory_limit,
        memory_allocation: m.memory_allocation,
        compute_allocation: m.compute_allocation,
        wasm_memory_threshold: m.wasm_memory_threshold,
    };
    let list: Vec<String> = m.canister_ids.iter().map(|c| format!("- {c}")).collect();
    Ok((
        request,
        format!(
            "# Proposal to change dapp canister settings:\n\n## Canister ids:\n\n{}\n\n## New settings (the others stay as they are):\n\n{}",
            list.join("\n"),
            settings.join("\n")
        ),
    ))
}

fn render_function(f: &NervousSystemFunction) -> String {
    let mut s =
        format!("## Id: {}\n\n## Name: {}\n\n## Description: {}", f.id, f.name, f.description.as_deref().unwrap_or(""));
    if let Some(g) = f.generic() {
        let p = |p: &Option<Principal>| p.map(|p| p.to_text()).unwrap_or_default();
        s.push_str(&format!(
            "\n\n## Target: {}.{}\n\n## Validator: {}.{}\n\n## Topic: {}",
            p(&g.target_canister_id),
            g.target_method_name.as_deref().unwrap_or(""),
            p(&g.validator_canister_id),
            g.validator_method_name.as_deref().unwrap_or(""),
            g.topic.map(|t| format!("{t:?}")).unwrap_or_default()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_bytes::ByteBuf;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    pub fn function(id: u64) -> NervousSystemFunction {
        NervousSystemFunction {
            id,
            name: "set value".into(),
            description: Some("sets a value".into()),
            function_type: Some(FunctionType::GenericNervousSystemFunction(GenericNervousSystemFunction {
                target_canister_id: Some(p(1)),
                target_method_name: Some("set_value".into()),
                validator_canister_id: Some(p(1)),
                validator_method_name: Some("set_value_validate".into()),
                topic: Some(Topic::ApplicationBusinessLogic),
            })),
        }
    }

    fn generic(f: &mut NervousSystemFunction) -> &mut GenericNervousSystemFunction {
        match f.function_type.as_mut() {
            Some(FunctionType::GenericNervousSystemFunction(g)) => g,
            _ => unreachable!(),
        }
    }

    #[test]
    fn text_limits() {
        let ok = Proposal { title: "t".into(), ..Default::default() };
        assert!(validate_text(&ok).is_ok());
        assert!(validate_text(&Proposal { title: String::new(), ..ok.clone() }).is_err());
        assert!(validate_text(&Proposal { title: "x".repeat(256), ..ok.clone() }).is_ok());
        assert!(validate_text(&Proposal { title: "x".repeat(257), ..ok.clone() }).is_err());
        assert!(validate_text(&Proposal { summary: "x".repeat(30_000), ..ok.clone() }).is_ok());
        assert!(validate_text(&Proposal { summary: "x".repeat(30_001), ..ok.clone() }).is_err());
        assert!(validate_text(&Proposal { url: "x".repeat(2048), ..ok.clone() }).is_ok());
        assert!(validate_text(&Proposal { url: "x".repeat(2049), ..ok }).is_err());
        assert!(validate_motion(&Motion { motion_text: "x".repeat(10_001) }).is_err());
        assert!(validate_motion(&Motion { motion_text: "go".into() }).unwrap().contains("go"));
    }

    #[test]
    fn add_function_rules() {
        let reserved = [p(9), Principal::management_canister()];
        let none = Functions::new();
        assert!(validate_add_function(&function(1000), &none, &reserved).is_ok());
        let err = |f: NervousSystemFunction, fs: &Functions| validate_add_function(&f, fs, &reserved).unwrap_err();
        assert!(err(function(999), &none).contains("starting at 1000"));
        assert!(err(NervousSystemFunction { name: String::new(), ..function(1000) }, &none).contains("name"));
        assert!(err(NervousSystemFunction { name: "n".repeat(257), ..function(1000) }, &none).contains("name"));
        assert!(err(NervousSystemFunction { description: Some("d".repeat(10_001)), ..function(1000) }, &none)
            .contains("description"));
        assert!(err(NervousSystemFunction { function_type: None, ..function(1000) }, &none).contains("function_type"));
        assert!(err(
            NervousSystemFunction {
                function_type: Some(FunctionType::NativeNervousSystemFunction(Empty {})),
                ..function(1000)
            },
            &none
        )
        .contains("function_type"));
        let mut f = function(1000);
        generic(&mut f).target_canister_id = None;
        assert!(err(f, &none).contains("target_canister_id"));
        let mut f = function(1000);
        generic(&mut f).target_method_name = Some(String::new());
        assert!(err(f, &none).contains("target_method_name"));
        let mut f = function(1000);
        generic(&mut f).validator_canister_id = None;
        assert!(err(f, &none).contains("validator_canister_id"));
        let mut f = function(1000);
        generic(&mut f).validator_method_name = None;
        assert!(err(f, &none).contains("validator_method_name"));
        let mut f = function(1000);
        generic(&mut f).topic = None;
        assert!(err(f, &none).contains("topic"));
        let mut f = function(1000);
        generic(&mut f).target_canister_id = Some(p(9));
        assert!(err(f, &none).contains("reserved"));
        let mut f = function(1000);
        generic(&mut f).validator_canister_id = Some(Principal::management_canister());
        assert!(err(f, &none).contains("reserved"));
        // In use, or used before (deletion marker).
        let used: Functions = [(1000, Some(function(1000))), (1001, None)].into_iter().collect();
        assert!(err(function(1000), &used).contains("There is/was already"));
        assert!(err(function(1001), &used).contains("There is/was already"));
        assert!(validate_add_function(&function(1002), &used, &reserved).unwrap().contains("set_value_validate"));
    }

    #[test]
    fn remove_and_execute_need_an_existing_function() {
        let fs: Functions = [(1000, Some(function(1000))), (1001, None)].into_iter().collect();
        assert!(validate_remove_function(1000, &fs).is_ok());
        assert!(validate_remove_function(1001, &fs).is_err());
        assert!(validate_remove_function(1002, &fs).is_err());
        assert_eq!(custom_function(1000, &fs).unwrap().id, 1000);
        assert!(custom_function(1001, &fs).is_err());
        let f = custom_function(1000, &fs).unwrap();
        assert_eq!(target_of(f), Some((p(1), "set_value".into())));
        assert_eq!(validator_of(f), Some((p(1), "set_value_validate".into())));
        let r = render_execute(f, b"DIDL\0\0", "sets 1");
        assert!(r.contains("sets 1") && r.contains(&sha256_hex(b"DIDL\0\0")), "{r}");
    }

    #[test]
    fn upgrade_rules() {
        let ok = UpgradeSnsControlledCanister {
            new_canister_wasm: b"\0asm\x01\0\0\0".to_vec(),
            canister_id: Some(p(3)),
            ..Default::default()
        };
        let (c, r) = validate_upgrade(&ok).unwrap();
        assert_eq!(c, p(3));
        assert!(r.contains("Upgrade") && r.contains(&sha256_hex(&ok.new_canister_wasm)), "{r}");
        let gz = UpgradeSnsControlledCanister { new_canister_wasm: vec![0x1f, 0x8b, 0x08, 0], ..ok.clone() };
        assert!(validate_upgrade(&gz).is_ok());
        let err = |u: UpgradeSnsControlledCanister| validate_upgrade(&u).unwrap_err();
        assert!(err(UpgradeSnsControlledCanister { canister_id: None, ..ok.clone() }).contains("canister_id"));
        assert!(err(UpgradeSnsControlledCanister { new_canister_wasm: b"notwasm".to_vec(), ..ok.clone() })
            .contains("magic"));
        assert!(err(UpgradeSnsControlledCanister { new_canister_wasm: vec![], ..ok.clone() }).contains("magic"));
        assert!(err(UpgradeSnsControlledCanister { mode: Some(7), ..ok.clone() }).contains("mode"));
        assert!(validate_upgrade(&UpgradeSnsControlledCanister { mode: Some(2), ..ok.clone() })
            .unwrap()
            .1
            .contains("Reinstall"));
        // Size: Wasm plus argument below 2,000,000 bytes.
        let mut big = ok.clone();
        big.new_canister_wasm.resize(1_999_990, 0);
        big.canister_upgrade_arg = Some(ByteBuf::from(vec![0; 9]));
        assert!(validate_upgrade(&big).is_ok());
        big.canister_upgrade_arg = Some(ByteBuf::from(vec![0; 10]));
        assert!(validate_upgrade(&big).unwrap_err().contains("2000000"));
        // Chunked.
        let chunked = UpgradeSnsControlledCanister {
            new_canister_wasm: vec![],
            chunked_canister_wasm: Some(ChunkedCanisterWasm {
                wasm_module_hash: vec![1; 32],
                store_canister_id: Some(p(4)),
                chunk_hashes_list: vec![ByteBuf::from(vec![2; 32])],
            }),
            ..ok.clone()
        };
        assert!(validate_upgrade(&chunked).unwrap().1.contains(&to_hex(&[1; 32])));
        let with = |f: &dyn Fn(&mut UpgradeSnsControlledCanister)| {
            let mut u = chunked.clone();
            f(&mut u);
            validate_upgrade(&u).unwrap_err()
        };
        assert!(with(&|u| u.new_canister_wasm = ok.new_canister_wasm.clone()).contains("must be empty"));
        assert!(with(&|u| u.chunked_canister_wasm.as_mut().unwrap().chunk_hashes_list.clear()).contains("not be empty"));
        assert!(
            with(&|u| u.chunked_canister_wasm.as_mut().unwrap().store_canister_id = None).contains("store_canister_id")
        );
        assert!(with(&|u| u.chunked_canister_wasm.as_mut().unwrap().wasm_module_hash = vec![1; 5]).contains("32 bytes"));
    }

    #[test]
    fn register_dapps_rules() {
        let reserved = [p(9)];
        let r = |ids: Vec<Principal>| validate_register_dapps(&RegisterDappCanisters { canister_ids: ids }, &reserved);
        assert!(r(vec![p(1), p(2)]).unwrap().contains(&p(2).to_text()));
        assert!(r(vec![]).is_err());
        assert!(r(vec![p(1), p(9)]).unwrap_err().contains("SNS canister"));
        assert!(r(vec![p(1), p(1)]).unwrap_err().contains("twice"));
        assert!(r((0..1001u32).map(|i| Principal::from_slice(&i.to_be_bytes())).collect()).is_err());
    }

    #[test]
    fn manage_dapp_settings_rules_and_rendering() {
        let reserved = [p(9)];
        let ok = ManageDappCanisterSettings {
            canister_ids: vec![p(1), p(2)],
            log_visibility: Some(LogVisibilityCode::Public as i32),
            freezing_threshold: Some(2_592_000),
            ..Default::default()
        };
        let (request, rendering) = validate_manage_dapp_settings(&ok, &reserved).unwrap();
        assert_eq!(
            request,
            sns_root::ManageDappCanisterSettingsRequest {
                canister_ids: vec![p(1), p(2)],
                log_visibility: Some(2),
                freezing_threshold: Some(2_592_000),
                ..Default::default()
            }
        );
        for part in [p(1).to_text(), p(2).to_text(), "Log visibility: public".into(), "Freezing threshold (seconds): 2592000".into()] {
            assert!(rendering.contains(&part), "{part} in {rendering}");
        }
        assert!(!rendering.contains("Compute allocation"), "only the settings given are rendered: {rendering}");
        let controllers = ManageDappCanisterSettings { log_visibility: Some(1), freezing_threshold: None, ..ok.clone() };
        assert!(validate_manage_dapp_settings(&controllers, &reserved).unwrap().1.contains("Log visibility: controllers"));

        let refused = |f: &dyn Fn(&mut ManageDappCanisterSettings)| {
            let mut m = ok.clone();
            f(&mut m);
            validate_manage_dapp_settings(&m, &reserved).unwrap_err()
        };
        assert!(refused(&|m| m.canister_ids.clear()).contains("at least one canister"));
        assert!(refused(&|m| m.canister_ids.push(p(9))).contains("SNS canister"));
        assert!(refused(&|m| m.canister_ids.push(p(1))).contains("twice"));
        assert!(refused(&|m| m.log_visibility = Some(3)).contains("log_visibility 3"));
        assert!(refused(&|m| m.log_visibility = Some(0)).contains("log_visibility 0"), "unspecified is not a change");
        assert!(refused(&|m| m.snapshot_visibility = Some(1)).contains("snapshot_visibility"));
        assert!(refused(&|m| m.compute_allocation = Some(101)).contains("percentage"));
        assert!(refused(&|m| {
            m.log_visibility = None;
            m.freezing_threshold = None;
        })
        .contains("at least one setting"));
        let many: Vec<Principal> = (0..1001u32).map(|i| Principal::from_slice(&i.to_be_bytes())).collect();
        assert!(refused(&|m| m.canister_ids = many.clone()).contains("at most"));
    }
}
