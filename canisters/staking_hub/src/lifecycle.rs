//! init, post_upgrade and the periodic timer.

use crate::{fleet, scaling, state};
use ic_cdk_timers::TimerId;
use platform_types::{HubInitArgs, HubUpgradeArgs, PlatformConfig};
use std::cell::Cell;
use std::time::Duration;

thread_local! {
    static TIMER: Cell<Option<TimerId>> = const { Cell::new(None) };
}

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
    arm_timer();
    crate::refill::arm_timer();
    crate::compaction::arm_timer();
    crate::migration::arm_timer();
}

/// Everything lives in stable structures: the timer is all an upgrade has to restore. An
/// upgrade argument may set the SNS governance canister (e.g. once the SNS exists) or the ICP
/// ledger and CMC of the refill from ICP. A new
/// embedded shard Wasm is rolled out by the timer.
pub fn post_upgrade(args: Option<HubUpgradeArgs>) {
    let Some(mut init) = state::init_args() else {
        ic_cdk::trap("staking_hub: no init arguments in stable memory after upgrade");
    };
    crate::metrics::event(&format!(
        "upgraded to the build of commit {} (embedded shard Wasm {})",
        env!("BUILD_GIT_COMMIT"),
        crate::shard_wasm::embedded_hash()
    ));
    let args = args.unwrap_or_default();
    if let Some(governance) = args.sns_governance_id {
        init.sns_governance_id = governance;
    }
    if let Some(ids) = args.icp_refill {
        init.icp_refill = Some(ids);
    }
    state::set_init_args(init);
    arm_timer();
    crate::refill::arm_timer();
    crate::compaction::arm_timer();
    crate::migration::arm_timer();
}

/// Every `auto_scale_interval_secs`: capacity, pending learning_content notifications, cycles.
/// Serial: a run still awaiting its calls when the next is due makes that one skip.
/// Also: configuration and status pushes still unconfirmed, and one shard rollout batch.
fn arm_timer() {
    let interval = Duration::from_secs(state::config().auto_scale_interval_secs);
    let id = ic_cdk_timers::set_timer_interval_serial(interval, async || {
        if let Err(e) = scaling::ensure_capacity().await {
            ic_cdk::println!("staking_hub timer: {e}");
        }
        scaling::retry_content_registrations().await;
        scaling::battery_round().await;
        fleet::push_pending().await;
        fleet::rollout_tick().await;
    });
    TIMER.set(Some(id));
}

/// After a configuration change of the interval.
pub fn rearm_timer() {
    if let Some(id) = TIMER.take() {
        ic_cdk_timers::clear_timer(id);
    }
    arm_timer();
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
