//! Query methods. Reads work on a disabled shard too.

use crate::{lifecycle, state, CANISTER_NAME};
use candid::Principal;
use platform_types::{ShardError, ShardInitArgs, ShardStats, UserView, VersionInfo, Withdrawal};

pub fn get_version() -> VersionInfo {
    VersionInfo {
        module_hash: lifecycle::module_hash(),
        ..VersionInfo::from_build(
            CANISTER_NAME,
            env!("CARGO_PKG_VERSION"),
            env!("BUILD_GIT_COMMIT"),
            env!("BUILD_COMMIT_TIME_SECS"),
            state::init_args().map(|a| a.summary()).unwrap_or_else(|| "not initialized".to_string()),
        )
    }
}

pub fn get_init_args() -> ShardInitArgs {
    state::init_args().unwrap_or_else(|| ic_cdk::trap("user_profile: not initialized"))
}

/// The caller's own record (profile, balance, today's counters).
pub fn get_my_profile(caller: Principal, now_ns: u64) -> Result<UserView, ShardError> {
    state::with(|s| s.view(&caller, now_ns))
}

/// The caller's completed unit ids, in unit-id order; `limit` is capped at 100.
pub fn get_my_progress(caller: Principal, offset: u64, limit: u64) -> Result<Vec<String>, ShardError> {
    state::with(|s| s.progress(&caller, offset, limit))
}

/// The caller's withdrawals, newest first; `limit` is capped at 100.
pub fn get_my_withdrawals(caller: Principal, offset: u64, limit: u64) -> Result<Vec<Withdrawal>, ShardError> {
    state::with(|s| s.withdrawals_of(&caller, offset, limit))
}

pub fn get_shard_stats() -> ShardStats {
    state::with(|s| s.stats())
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::PlatformConfig;

    #[test]
    fn version_names_the_canister_and_summarizes_init_args() {
        let args = ShardInitArgs {
            hub_id: Principal::from_slice(&[7; 10]),
            learning_content_id: Principal::from_slice(&[8; 10]),
            config: PlatformConfig::default(),
            config_version: None,
            module_hash: None,
        };
        state::set_init_args(args.clone());
        let v = get_version();
        assert_eq!(v.canister, "user_profile");
        assert_eq!(v.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(v.init_arg_summary, args.summary());
        assert_eq!(v.git_commit.as_deref(), Some(env!("BUILD_GIT_COMMIT")));
        assert_ne!(v.git_commit.as_deref(), Some(""));
        assert_eq!(v.module_hash, None, "no install told this instance its hash");
        assert_eq!(get_init_args(), args);
        assert_eq!(get_my_profile(Principal::anonymous(), 0), Err(ShardError::NotRegistered));
        assert_eq!(get_my_progress(Principal::anonymous(), 0, 10), Err(ShardError::NotRegistered));
        assert_eq!(get_shard_stats().users, 0);
    }
}
