use crate::{state, CANISTER_NAME};
use platform_types::{ShardInitArgs, VersionInfo};

pub fn get_version() -> VersionInfo {
    VersionInfo {
        canister: CANISTER_NAME.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        init_arg_summary: state::init_args()
            .map(|a| a.summary())
            .unwrap_or_else(|| "not initialized".to_string()),
    }
}

pub fn get_init_args() -> ShardInitArgs {
    state::init_args().unwrap_or_else(|| ic_cdk::trap("user_profile: not initialized"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;

    #[test]
    fn version_names_the_canister_and_summarizes_init_args() {
        let args = ShardInitArgs {
            hub_id: Principal::from_slice(&[7; 10]),
            learning_content_id: Principal::from_slice(&[8; 10]),
        };
        state::set_init_args(args.clone());
        let v = get_version();
        assert_eq!(v.canister, "user_profile");
        assert_eq!(v.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(v.init_arg_summary, args.summary());
        assert_eq!(get_init_args(), args);
    }
}
