use crate::{state, CANISTER_NAME};
use platform_types::{ContentInitArgs, VersionInfo};

pub fn get_version() -> VersionInfo {
    VersionInfo {
        canister: CANISTER_NAME.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        init_arg_summary: state::init_args()
            .map(|a| a.summary())
            .unwrap_or_else(|| "not initialized".to_string()),
    }
}

pub fn get_init_args() -> ContentInitArgs {
    state::init_args().unwrap_or_else(|| ic_cdk::trap("learning_content: not initialized"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;

    #[test]
    fn version_names_the_canister_and_summarizes_init_args() {
        let args = ContentInitArgs {
            hub_id: Principal::from_slice(&[7; 10]),
            sns_governance_id: Principal::from_slice(&[8; 10]),
        };
        state::set_init_args(args.clone());
        let v = get_version();
        assert_eq!(v.canister, "learning_content");
        assert_eq!(v.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(v.init_arg_summary, args.summary());
        assert_eq!(get_init_args(), args);
    }
}
