//! Candid types of the SNS root canister, for the methods this project uses
//! (`change_canister`, `register_dapp_canisters`, `list_sns_canisters`,
//! `manage_dapp_canister_settings`). Field names and types mirror DFINITY's
//! `rs/sns/root/canister/root.did`.

use candid::{CandidType, Principal};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// `change_canister`'s mode (a Candid variant here, not the `int32` governance takes).
#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CanisterInstallMode {
    #[serde(rename = "install")]
    Install,
    #[serde(rename = "reinstall")]
    Reinstall,
    #[serde(rename = "upgrade")]
    Upgrade,
}

/// A chunked Wasm as root takes it (the store canister is required here).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ChunkedCanisterWasm {
    /// SHA-256 of the assembled module.
    #[serde(with = "serde_bytes")]
    pub wasm_module_hash: Vec<u8>,
    /// The canister whose chunk store holds the chunks (root must control it).
    pub store_canister_id: Principal,
    /// SHA-256 of each chunk, in order.
    pub chunk_hashes_list: Vec<ByteBuf>,
}

/// `change_canister`'s argument: install `wasm_module` (or the chunked Wasm, when set) on
/// `canister_id` with `arg`, stopping the canister first when `stop_before_installing`.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ChangeCanisterRequest {
    #[serde(with = "serde_bytes")]
    pub arg: Vec<u8>,
    /// Empty when `chunked_canister_wasm` is set.
    #[serde(with = "serde_bytes")]
    pub wasm_module: Vec<u8>,
    pub chunked_canister_wasm: Option<ChunkedCanisterWasm>,
    pub stop_before_installing: bool,
    pub mode: CanisterInstallMode,
    pub canister_id: Principal,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisterDappCanistersRequest {
    pub canister_ids: Vec<Principal>,
}

/// `record {}`: the reply of `register_dapp_canisters`, the argument of `list_sns_canisters`.
#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegisterDappCanistersResponse {}

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListSnsCanistersRequest {}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    pub extension_canister_ids: Vec<Principal>,
}

/// The canisters of the SNS as root knows them.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListSnsCanistersResponse {
    pub root: Option<Principal>,
    pub swap: Option<Principal>,
    pub ledger: Option<Principal>,
    pub index: Option<Principal>,
    pub governance: Option<Principal>,
    /// Registered dapp canisters: root is their only controller.
    pub dapps: Vec<Principal>,
    pub extensions: Option<Extensions>,
    pub archives: Vec<Principal>,
}

/// `manage_dapp_canister_settings`' argument (what governance sends to execute a
/// `ManageDappCanisterSettings` proposal): each setting given is applied to every canister
/// named, the others are left as they are. `log_visibility` is the SNS's `LogVisibility` code
/// (1 controllers, 2 public; `LogVisibilityCode`): the SNS cannot set `allowed_viewers`. Unlike
/// governance's action, root's request has no `snapshot_visibility`.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ManageDappCanisterSettingsRequest {
    pub freezing_threshold: Option<u64>,
    pub canister_ids: Vec<Principal>,
    pub reserved_cycles_limit: Option<u64>,
    pub log_visibility: Option<i32>,
    pub wasm_memory_limit: Option<u64>,
    pub memory_allocation: Option<u64>,
    pub compute_allocation: Option<u64>,
    pub wasm_memory_threshold: Option<u64>,
}

/// `manage_dapp_canister_settings`' reply: `failure_reason` is set when root refused the request
/// (e.g. a canister that is not a registered dapp); none means the changes were started.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ManageDappCanisterSettingsResponse {
    pub failure_reason: Option<String>,
}

/// Init argument of the local SNS root canister (`standins/sns_root`): the fields of the real
/// root's init record (`SnsRootCanister`) that it reads, with the same names and types, so the
/// real record also decodes in it. `governance_canister_id` is required at run time.
///
/// `dapp_canister_ids` are taken as registered without any check (the real SNS hands them over
/// at launch): root should already be their only controller.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SnsRootCanister {
    pub dapp_canister_ids: Vec<Principal>,
    pub archive_canister_ids: Vec<Principal>,
    pub governance_canister_id: Option<Principal>,
    pub index_canister_id: Option<Principal>,
    pub swap_canister_id: Option<Principal>,
    pub ledger_canister_id: Option<Principal>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::{decode_one, encode_one};

    #[test]
    fn install_modes_are_lower_case_variants() {
        #[allow(non_camel_case_types)]
        #[derive(CandidType, Deserialize, Debug, PartialEq)]
        enum Mode {
            install,
            reinstall,
            upgrade,
        }
        let cases = [
            (CanisterInstallMode::Install, Mode::install),
            (CanisterInstallMode::Reinstall, Mode::reinstall),
            (CanisterInstallMode::Upgrade, Mode::upgrade),
        ];
        for (ours, plain) in cases {
            assert_eq!(decode_one::<Mode>(&encode_one(ours).unwrap()).unwrap(), plain);
            assert_eq!(decode_one::<CanisterInstallMode>(&encode_one(&plain).unwrap()).unwrap(), ours);
        }
    }

    #[test]
    fn change_canister_request_round_trips() {
        let r = ChangeCanisterRequest {
            arg: b"DIDL\0\0".to_vec(),
            wasm_module: vec![],
            chunked_canister_wasm: Some(ChunkedCanisterWasm {
                wasm_module_hash: vec![1; 32],
                store_canister_id: Principal::anonymous(),
                chunk_hashes_list: vec![ByteBuf::from(vec![2; 32])],
            }),
            stop_before_installing: true,
            mode: CanisterInstallMode::Reinstall,
            canister_id: Principal::management_canister(),
        };
        assert_eq!(decode_one::<ChangeCanisterRequest>(&encode_one(&r).unwrap()).unwrap(), r);
    }
}
