use crate::{registry, shard_wasm, state, CANISTER_NAME};
use candid::Principal;
use platform_types::{GlobalStats, HubInitArgs, PlatformConfig, ShardInfo, VersionInfo};

pub fn get_version() -> VersionInfo {
    VersionInfo {
        canister: CANISTER_NAME.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        init_arg_summary: state::init_args().map(|a| a.summary()).unwrap_or_else(|| "not initialized".to_string()),
    }
}

pub fn get_init_args() -> HubInitArgs {
    state::init_args().unwrap_or_else(|| ic_cdk::trap("staking_hub: not initialized"))
}

pub fn get_shard_wasm_hash() -> String {
    shard_wasm::embedded_hash().to_string()
}

pub fn get_user_shard(user: Principal) -> Option<Principal> {
    registry::registered_shard(user)
}

pub fn get_global_stats() -> GlobalStats {
    registry::global_stats(ic_cdk::api::time())
}

pub fn list_shards() -> Vec<ShardInfo> {
    registry::list_shards()
}

pub fn get_config() -> PlatformConfig {
    state::config()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_the_canister_and_summarizes_init_args() {
        let args = HubInitArgs {
            ledger_id: Principal::from_slice(&[6; 10]),
            learning_content_id: Principal::from_slice(&[7; 10]),
            sns_governance_id: Principal::from_slice(&[8; 10]),
            config: None,
            registration_policy: None,
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
        assert_eq!(hash, shard_wasm::sha256_hex(shard_wasm::USER_PROFILE_WASM_GZ));
    }

    #[test]
    fn a_fresh_hub_has_no_users_and_no_shards() {
        let stats = registry::global_stats(0);
        assert_eq!((stats.users, stats.shards.len(), stats.total_granted_e8s), (0, 0, 0));
        assert_eq!(stats.cap_remaining_e8s, platform_types::HARD_CAP_E8S);
        assert!(list_shards().is_empty());
        assert_eq!(get_user_shard(Principal::from_slice(&[1; 10])), None);
        assert_eq!(get_config(), PlatformConfig::default());
    }
}
