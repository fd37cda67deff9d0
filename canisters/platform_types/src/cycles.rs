//! The cycles battery (issue 13, section 1): what the hub reports about its own cycles and its
//! canisters', the shard's request for a top-up, and the bounds of the battery's configuration.

use candid::{CandidType, Nat, Principal};
use serde::{Deserialize, Serialize};

/// Cycles the hub keeps for its own messages: no top-up and no shard creation ever takes its
/// liquid balance (the balance above its freezing threshold) below this.
pub const HUB_CYCLES_RESERVE: u128 = 100_000_000_000;

/// A shard asks the hub for a top-up (`request_top_up`) at most once an hour; the hub refuses
/// more frequent asks.
pub const SHARD_TOPUP_ASK_INTERVAL_NS: u64 = 3_600 * 1_000_000_000;

/// Default of `topup_min_days_left`: a canister with less than a week of estimated runtime is
/// topped up even above the threshold.
pub const DEFAULT_TOPUP_MIN_DAYS_LEFT: u64 = 7;
/// Highest `topup_min_days_left` governance may set (0 turns the rule off).
pub const MAX_TOPUP_MIN_DAYS_LEFT: u64 = 90;
/// Default of `hub_cycles_for_new_shards`: below 10 T the hub creates no shard (a shard costs
/// its initial cycles and the creation fee, about 2.5 T by default).
pub const DEFAULT_HUB_CYCLES_FOR_NEW_SHARDS: u128 = 10_000_000_000_000;
/// Default of `hub_cycles_for_full_topups`: below 3 T every top-up is smaller.
pub const DEFAULT_HUB_CYCLES_FOR_FULL_TOPUPS: u128 = 3_000_000_000_000;
/// Highest hub threshold governance may set (1,000 T).
pub const MAX_HUB_CYCLES_THRESHOLD: u128 = 1_000_000_000_000_000;

/// How much the hub spends on its canisters, by its own liquid balance (its balance above its
/// freezing threshold; see `get_cycles_report`).
/// The order of degradation: first no new shards, then smaller top-ups; the reserve is never spent.
#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatteryLevel {
    /// At or above `hub_cycles_for_new_shards`: shards are created and topped up in full.
    Normal,
    /// Below `hub_cycles_for_new_shards`: no new shard; top-ups in full.
    NoNewShards,
    /// Below `hub_cycles_for_full_topups` as well: no new shard, and each top-up is at most a
    /// quarter of what the hub can spend above its reserve (and never more than the configured amount).
    SmallTopUps,
}

/// One canister's cycles as the hub measured them.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CanisterCycles {
    pub canister_id: Principal,
    /// "staking_hub", "learning_content" or "user_profile".
    pub role: String,
    /// The last reading, and when it was taken (none before the first).
    pub balance: Option<Nat>,
    pub read_at_ns: Option<u64>,
    /// Estimated cycles burned per day (none until three readings an hour apart exist).
    pub burn_per_day: Option<Nat>,
    /// Estimated days until the balance runs out at that rate (none while the rate is unknown or zero).
    pub days_left: Option<u64>,
    /// Low readings in a row (a top-up needs two).
    pub low_readings: u32,
    /// Cycles the hub deposited to this canister, ever.
    pub topped_up_total: Nat,
    pub last_topup_at_ns: Option<u64>,
    /// Why the last top-up round did nothing for this canister, if it wanted one.
    pub note: Option<String>,
}

/// `staking_hub.get_cycles_report`: the hub's own cycles and every canister it keeps charged.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CyclesReport {
    pub hub: CanisterCycles,
    /// The level the last round decided (before the first round: by the live balance).
    pub level: BatteryLevel,
    /// The hub's liquid balance (above its freezing threshold) when the query ran.
    pub hub_liquid_now: Nat,
    pub hub_reserve: Nat,
    pub hub_cycles_for_new_shards: Nat,
    pub hub_cycles_for_full_topups: Nat,
    pub topup_threshold: Nat,
    pub topup_min_days_left: u64,
    pub learning_content: Option<CanisterCycles>,
    pub shards: Vec<CanisterCycles>,
    /// Outcome of the last battery round.
    pub last_round_at_ns: Option<u64>,
    pub last_round_status: String,
}

/// Why the hub did not top up a shard that asked (`staking_hub.request_top_up`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum TopUpRequestError {
    /// The caller is not an installed shard of this hub.
    NotAShard,
    /// This shard asked less than the minimum interval ago.
    TooSoon { retry_after_ns: u64 },
    /// The shard's balance (as reported, or as the hub read it) is not low.
    NotLow { balance: Nat },
    /// Low, but the hub cannot top it up now (daily budget, its own cycles, a failed call).
    Unavailable { detail: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{render_config_change, render_economic_config_change, ConfigOverrides, EconomicConfigChanges, PlatformConfig};

    const T: u128 = 1_000_000_000_000;

    #[test]
    fn battery_fields_have_defaults_bounds_and_the_degradation_order() {
        let d = PlatformConfig::default();
        assert_eq!(d.topup_min_days_left(), DEFAULT_TOPUP_MIN_DAYS_LEFT);
        assert_eq!((d.hub_cycles_for_new_shards(), d.hub_cycles_for_full_topups()), (10 * T, 3 * T));
        let apply = |o: ConfigOverrides| o.apply_to(&d);
        apply(ConfigOverrides { topup_min_days_left: Some(0), ..Default::default() }).unwrap();
        apply(ConfigOverrides { topup_min_days_left: Some(MAX_TOPUP_MIN_DAYS_LEFT), ..Default::default() }).unwrap();
        let e = apply(ConfigOverrides { topup_min_days_left: Some(MAX_TOPUP_MIN_DAYS_LEFT + 1), ..Default::default() });
        assert!(e.unwrap_err().starts_with("topup_min_days_left"));
        // No new shards before smaller top-ups: the second threshold may not exceed the first.
        let e = apply(ConfigOverrides { hub_cycles_for_full_topups: Some(11 * T), ..Default::default() });
        assert!(e.unwrap_err().starts_with("hub_cycles_for_full_topups"));
        let e = apply(ConfigOverrides { hub_cycles_for_new_shards: Some(HUB_CYCLES_RESERVE), ..Default::default() });
        assert!(e.unwrap_err().starts_with("hub_cycles_for_new_shards"));
        let e = apply(ConfigOverrides { hub_cycles_for_full_topups: Some(HUB_CYCLES_RESERVE), ..Default::default() });
        assert!(e.unwrap_err().starts_with("hub_cycles_for_full_topups"));
        let e = apply(ConfigOverrides { hub_cycles_for_new_shards: Some(MAX_HUB_CYCLES_THRESHOLD + 1), ..Default::default() });
        assert!(e.unwrap_err().starts_with("hub_cycles_for_new_shards"));
        let both = apply(ConfigOverrides {
            hub_cycles_for_new_shards: Some(2 * T),
            hub_cycles_for_full_topups: Some(2 * T),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((both.hub_cycles_for_new_shards, both.hub_cycles_for_full_topups), (Some(2 * T), Some(2 * T)));
    }

    #[test]
    fn battery_fields_are_economic_function_1009() {
        let d = PlatformConfig::default();
        let via_1001 = ConfigOverrides { topup_min_days_left: Some(14), ..Default::default() };
        assert!(render_config_change(&d, &via_1001).unwrap_err().contains("1009"));
        let changes = EconomicConfigChanges {
            topup_min_days_left: Some(14),
            hub_cycles_for_new_shards: Some(20 * T),
            hub_cycles_for_full_topups: Some(5 * T),
            ..Default::default()
        };
        let (next, text) = render_economic_config_change(&d, &changes).unwrap();
        assert_eq!(next.topup_min_days_left(), 14);
        assert!(text.contains("topup_min_days_left: 7 -> 14"), "{text}");
        assert!(text.contains("hub_cycles_for_new_shards: 10000000000000 -> 20000000000000"), "{text}");
        assert!(text.contains("hub_cycles_for_full_topups: 3000000000000 -> 5000000000000"), "{text}");
        assert_eq!(changes.as_overrides().fields_unchanged(&next).len(), 3);
    }

    #[test]
    fn a_config_stored_before_the_battery_fields_decodes() {
        // The shape of PlatformConfig before this change: the new fields are absent.
        #[derive(CandidType)]
        struct Before {
            shard_soft_limit: u64,
            shard_hard_limit: u64,
            auto_scale_interval_secs: u64,
            allowance_chunk_e8s: u64,
            reward_per_quiz_e8s: u64,
            daily_attempt_limit: u32,
            pass_mark_percent: u8,
            shard_sync_interval_secs: u64,
            shard_initial_cycles: u128,
            shard_topup_threshold_cycles: u128,
            shard_topup_amount_cycles: u128,
            daily_emission_budget_e8s: Option<u64>,
            shard_topup_daily_budget_cycles: Option<u128>,
            min_withdrawal_e8s: Option<u64>,
            withdrawal_cooldown_secs: Option<u64>,
        }
        let d = PlatformConfig::default();
        let old = Before {
            shard_soft_limit: d.shard_soft_limit,
            shard_hard_limit: d.shard_hard_limit,
            auto_scale_interval_secs: d.auto_scale_interval_secs,
            allowance_chunk_e8s: d.allowance_chunk_e8s,
            reward_per_quiz_e8s: d.reward_per_quiz_e8s,
            daily_attempt_limit: d.daily_attempt_limit,
            pass_mark_percent: d.pass_mark_percent,
            shard_sync_interval_secs: d.shard_sync_interval_secs,
            shard_initial_cycles: d.shard_initial_cycles,
            shard_topup_threshold_cycles: d.shard_topup_threshold_cycles,
            shard_topup_amount_cycles: d.shard_topup_amount_cycles,
            daily_emission_budget_e8s: d.daily_emission_budget_e8s,
            shard_topup_daily_budget_cycles: None,
            min_withdrawal_e8s: None,
            withdrawal_cooldown_secs: None,
        };
        let decoded: PlatformConfig = candid::decode_one(&candid::encode_one(old).unwrap()).unwrap();
        assert_eq!(decoded, d);
    }
}
