//! Configuration validation (init overrides, governance proposals, pushes to shards): any
//! overrides never panic, and an accepted configuration is within the documented bounds.
#![no_main]

#[path = "common.rs"]
mod common;

use candid::Principal;
use libfuzzer_sys::fuzz_target;
use platform_types::*;

fn principals(b: &mut common::Bytes<'_>) -> Vec<Principal> {
    let n = usize::from(b.u8() % 80);
    (0..n)
        .map(|_| match b.u8() % 4 {
            0 => Principal::anonymous(),
            1 => Principal::management_canister(),
            k => Principal::from_slice(&[k, b.u8() % 4]),
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let mut b = common::Bytes(data);
    let o = ConfigOverrides {
        shard_soft_limit: b.opt(|b| b.u64()),
        shard_hard_limit: b.opt(|b| b.u64()),
        auto_scale_interval_secs: b.opt(|b| b.u64()),
        allowance_chunk_e8s: b.opt(|b| b.u64()),
        reward_per_quiz_e8s: b.opt(|b| b.u64()),
        daily_attempt_limit: b.opt(|b| b.u64() as u32),
        pass_mark_percent: b.opt(|b| b.u8()),
        shard_sync_interval_secs: b.opt(|b| b.u64()),
        shard_initial_cycles: b.opt(|b| b.u128()),
        shard_topup_threshold_cycles: b.opt(|b| b.u128()),
        shard_topup_amount_cycles: b.opt(|b| b.u128()),
        daily_emission_budget_e8s: b.opt(|b| b.u64()),
        shard_topup_daily_budget_cycles: b.opt(|b| b.u128()),
        min_withdrawal_e8s: b.opt(|b| b.u64()),
        withdrawal_cooldown_secs: b.opt(|b| b.u64()),
        shard_log_viewers: b.opt(principals),
        topup_min_days_left: b.opt(|b| b.u64()),
        hub_cycles_for_new_shards: b.opt(|b| b.u128()),
        hub_cycles_for_full_topups: b.opt(|b| b.u128()),
        shard_memory_budget_bytes: b.opt(|b| b.u64()),
        settled_retention_secs: b.opt(|b| b.u64()),
        inactive_archive_secs: b.opt(|b| b.u64()),
        user_export_readers: b.opt(principals),
        shard_subnets: b.opt(principals),
        ..ConfigOverrides::default()
    };
    let base = PlatformConfig::default();
    if let Ok(c) = o.apply_to(&base) {
        assert_eq!(c.validate(), Ok(()));
        assert!(1 <= c.shard_soft_limit && c.shard_soft_limit <= c.shard_hard_limit && c.shard_hard_limit <= 10_000_000);
        assert!((1..=MAX_REWARD_PER_QUIZ_E8S).contains(&c.reward_per_quiz_e8s));
        assert!(c.reward_per_quiz_e8s <= c.allowance_chunk_e8s && c.allowance_chunk_e8s <= MAX_ALLOWANCE_CHUNK_E8S);
        assert!(c.reward_per_quiz_e8s <= c.daily_emission_budget() && c.daily_emission_budget() <= MAX_DAILY_EMISSION_BUDGET_E8S);
        assert!((1..=1_000).contains(&c.daily_attempt_limit) && (1..=100).contains(&c.pass_mark_percent));
        assert!((1..=MAX_MIN_WITHDRAWAL_E8S).contains(&c.min_withdrawal()));
        assert!(c.withdrawal_cooldown() <= MAX_WITHDRAWAL_COOLDOWN_SECS);
        assert!(c.shard_log_viewers().len() <= MAX_SHARD_LOG_VIEWERS);
        assert!(c.user_export_readers().len() <= MAX_USER_EXPORT_READERS);
        assert!(c.shard_subnets().len() <= MAX_SHARD_SUBNETS);
        let bytes = candid::encode_one(&c).unwrap();
        assert_eq!(candid::decode_one::<PlatformConfig>(&bytes).unwrap(), c);
        // What governance shows voters for the same change.
        let _ = render_config_change(&base, &o);
    }
});
