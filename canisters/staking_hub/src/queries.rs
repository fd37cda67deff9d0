use crate::{shard_wasm, state, CANISTER_NAME};
use platform_types::{HubInitArgs, VersionInfo};

pub fn get_version() -> VersionInfo {
    VersionInfo {
        canister: CANISTER_NAME.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        init_arg_summary: state::init_args()
            .map(|a| a.summary())
            .unwrap_or_else(|| "not initialized".to_string()),
    }
}

pub fn get_init_args() -> HubInitArgs {
    state::init_args().unwrap_or_else(|| ic_cdk::trap("staking_hub: not initialized"))
}

pub fn get_shard_wasm_hash() -> String {
    shard_wasm::sha256_hex(shard_wasm::USER_PROFILE_WASM_GZ)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;

    #[test]
    fn version_names_the_canister_and_summarizes_init_args() {
        let args = HubInitArgs {
            ledger_id: Principal::from_slice(&[6; 10]),
            learning_content_id: Principal::from_slice(&[7; 10]),
            sns_governance_id: Principal::from_slice(&[8; 10]),
        };
        state::set_init_args(args.clone());
        let v = get_version();
        assert_eq!(v.canister, "staking_hub");
        assert_eq!(v.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(v.init_arg_summary, args.summary());
        assert_eq!(get_init_args(), args);
    }

    #[test]
    fn shard_wasm_hash_is_the_sha256_of_the_embedded_bytes() {
        let hash = get_shard_wasm_hash();
        assert_eq!(hash.len(), 64);
        assert_eq!(
            hash,
            shard_wasm::sha256_hex(shard_wasm::USER_PROFILE_WASM_GZ)
        );
    }
}
