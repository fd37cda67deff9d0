use crate::{registry, shard_wasm, state, CANISTER_NAME};
use candid::Principal;
use platform_types::{GlobalStats, HubInitArgs, PlatformConfig, ShardInfo, VersionInfo};

pub fn get_version() -> VersionInfo {
    VersionInfo {
        shard_wasm_hash: Some(shard_wasm::embedded_hash().to_string()),
        // The hub's own module hash: SNS root installs it, the hub cannot read it
        // (`dfx canister info`, the SNS's canister summary and the proposal show it).
        module_hash: None,
        ..VersionInfo::from_build(
            CANISTER_NAME,
            env!("CARGO_PKG_VERSION"),
            env!("BUILD_GIT_COMMIT"),
            env!("BUILD_COMMIT_TIME_SECS"),
            state::init_args().map(|a| a.summary()).unwrap_or_else(|| "not initialized".to_string()),
        )
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
            icp_refill: None,
        };
        state::set_init_args(args.clone());
        let v = get_version();
        assert_eq!(v.canister, "staking_hub");
        assert_eq!(v.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(v.init_arg_summary, args.summary());
        assert_eq!(v.git_commit.as_deref(), Some(env!("BUILD_GIT_COMMIT")));
        assert_eq!(v.commit_time_secs, env!("BUILD_COMMIT_TIME_SECS").parse().ok());
        assert_eq!(v.shard_wasm_hash.as_deref(), Some(get_shard_wasm_hash().as_str()));
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
