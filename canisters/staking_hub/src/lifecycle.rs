//! init and post_upgrade (which arm the periodic jobs, see `jobs`).

use crate::{fleet, jobs, state};
use platform_types::{HubInitArgs, HubUpgradeArgs, PlatformConfig};
use std::time::Duration;

/// The configuration the init arguments ask for: the defaults with the overrides applied, or
/// the validation message.
pub fn config_from(args: &HubInitArgs) -> Result<PlatformConfig, String> {
    args.config.clone().unwrap_or_default().apply_to(&PlatformConfig::default())
}

pub fn init(args: HubInitArgs) {
    let config = config_from(&args).unwrap_or_else(|e| ic_cdk::trap(format!("staking_hub init: invalid config: {e}")));
    if let Some(policy) = &args.registration_policy {
        platform_types::check_registration_policy(policy)
            .unwrap_or_else(|e| ic_cdk::trap(format!("staking_hub init: invalid registration policy: {e}")));
    }
    state::set_init_args(args);
    state::set_config(config);
    jobs::start_all();
}

/// Everything lives in stable structures: the timer is all an upgrade has to restore. An
/// upgrade argument may set the SNS governance canister (e.g. once the SNS exists) or the ICP
/// ledger and CMC of the refill from ICP. A new
/// embedded shard Wasm is rolled out by the timer.
pub fn post_upgrade(args: Option<HubUpgradeArgs>) {
    let Some(init) = state::init_args() else {
        ic_cdk::trap("staking_hub: no init arguments in stable memory after upgrade");
    };
    crate::metrics::event(&format!(
        "upgraded to the build of commit {} (embedded shard Wasm {})",
        env!("BUILD_GIT_COMMIT"),
        crate::shard_wasm::embedded_hash()
    ));
    let init = with_upgrade_args(init, args.unwrap_or_default()).unwrap_or_else(|e| ic_cdk::trap(format!("staking_hub post_upgrade: {e}")));
    state::set_init_args(init);
    jobs::start_all();
}

/// The stored init arguments with what the upgrade argument changes.
pub fn with_upgrade_args(mut init: HubInitArgs, args: HubUpgradeArgs) -> Result<HubInitArgs, String> {
    if let Some(governance) = args.sns_governance_id {
        // Anonymous is "no governance yet" (a mainnet install before the SNS exists); an
        // upgrade only ever hands governance to a canister, never back to no one.
        if governance == candid::Principal::anonymous() {
            return Err("sns_governance_id must not be the anonymous principal".into());
        }
        init.sns_governance_id = governance;
    }
    if let Some(ids) = args.icp_refill {
        init.icp_refill = Some(ids);
    }
    Ok(init)
}

/// Pushes a change to the shards and learning_content right away (the periodic timer retries
/// whatever fails).
pub fn push_now() {
    ic_cdk_timers::set_timer(Duration::ZERO, fleet::push_pending());
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use platform_types::ConfigOverrides;

    fn args(config: Option<ConfigOverrides>) -> HubInitArgs {
        let p = Principal::anonymous();
        HubInitArgs { ledger_id: p, learning_content_id: p, sns_governance_id: p, config, registration_policy: None, icp_refill: None }
    }

    #[test]
    fn an_upgrade_sets_governance_but_never_back_to_anonymous() {
        let gov = Principal::from_slice(&[4; 10]);
        let set = HubUpgradeArgs { sns_governance_id: Some(gov), icp_refill: None };
        assert_eq!(with_upgrade_args(args(None), set).unwrap().sns_governance_id, gov);
        let nothing = with_upgrade_args(args(None), HubUpgradeArgs::default()).unwrap();
        assert_eq!(nothing, args(None), "an empty argument changes nothing");
        let back = HubUpgradeArgs { sns_governance_id: Some(Principal::anonymous()), icp_refill: None };
        let mut governed = args(None);
        governed.sns_governance_id = gov;
        assert!(with_upgrade_args(governed, back).unwrap_err().contains("anonymous"));
    }

    #[test]
    fn config_is_the_defaults_with_validated_overrides() {
        assert_eq!(config_from(&args(None)).unwrap(), PlatformConfig::default());
        let small = ConfigOverrides { shard_soft_limit: Some(9), shard_hard_limit: Some(10), ..Default::default() };
        let c = config_from(&args(Some(small))).unwrap();
        assert_eq!((c.shard_soft_limit, c.shard_hard_limit), (9, 10));
        assert_eq!(c.allowance_chunk_e8s, PlatformConfig::default().allowance_chunk_e8s);
        let bad = ConfigOverrides { shard_soft_limit: Some(11), shard_hard_limit: Some(10), ..Default::default() };
        assert!(config_from(&args(Some(bad))).unwrap_err().contains("shard_soft_limit"));
        let zero_interval = ConfigOverrides { auto_scale_interval_secs: Some(0), ..Default::default() };
        assert!(config_from(&args(Some(zero_interval))).unwrap_err().contains("auto_scale_interval_secs"));
    }
}
