//! Property tests (issue 15, hostile input) of the hub's allowance accounting: any sequence of
//! shard reports (hostile figures included: u64::MAX stakes and deltas, any chunk and daily
//! budget a valid configuration allows, pauses, time running days ahead, a total granted
//! starting anywhere below the cap) keeps
//!
//! - the total granted equal to the sum of the shards' grants, never above the hard cap;
//! - each day's grants within that day's budget;
//! - every grant at most one chunk, and reported to the shard as exactly what its total moved;
//! - `HardCapReached` only when the cap is reached, and nothing granted while paused.

use crate::model::{apply_report, GrantLimits, HubTotals, ShardRecord};
use candid::Principal;
use platform_types::{
    AllowanceError, GrantWithheld, ShardReport, HARD_CAP_E8S, MAX_ALLOWANCE_CHUNK_E8S, MAX_DAILY_EMISSION_BUDGET_E8S,
    NANOS_PER_DAY,
};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Step {
    shard: usize,
    wants: bool,
    staked: u64,
    delta: u64,
    paused: bool,
    advance_ns: u64,
}

fn step() -> impl Strategy<Value = Step> {
    let edgy = prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>(), 0..1_000_000u64];
    (0usize..4, prop::bool::weighted(0.8), edgy.clone(), edgy, prop::bool::weighted(0.1), prop_oneof![Just(0u64), 0..NANOS_PER_DAY, Just(NANOS_PER_DAY)])
        .prop_map(|(shard, wants, staked, delta, paused, advance_ns)| Step { shard, wants, staked, delta, paused, advance_ns })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(128), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn grants_stay_under_the_cap_and_the_daily_budget(
        steps in proptest::collection::vec(step(), 1..80),
        chunk in prop_oneof![Just(1u64), Just(MAX_ALLOWANCE_CHUNK_E8S), 1..=MAX_ALLOWANCE_CHUNK_E8S],
        budget in prop_oneof![Just(1u64), Just(MAX_DAILY_EMISSION_BUDGET_E8S), 1..=MAX_DAILY_EMISSION_BUDGET_E8S],
        already in prop_oneof![Just(0u64), Just(HARD_CAP_E8S), Just(HARD_CAP_E8S - 1), HARD_CAP_E8S - 3 * MAX_ALLOWANCE_CHUNK_E8S..=HARD_CAP_E8S],
        start_day in 0u64..40_000,
    ) {
        let mut shards: Vec<ShardRecord> =
            (0..4u8).map(|i| ShardRecord { installed: true, ..ShardRecord::created(Principal::from_slice(&[i; 10]), 0) }).collect();
        // What was granted before the sequence: on a fifth, retired shard.
        let mut totals = HubTotals { total_granted_e8s: already, ..HubTotals::default() };
        let mut now = start_day * NANOS_PER_DAY;
        let mut granted_on: std::collections::BTreeMap<u64, u64> = Default::default();
        for s in steps {
            now += s.advance_ns;
            let report = ShardReport {
                total_staked_e8s: s.staked,
                user_count: s.staked % 7,
                quizzes_passed_delta: s.delta,
                wants_allowance: s.wants,
                stable_memory_bytes: None,
                settled_below_withdrawal_id: None,
            };
            let limits = GrantLimits { chunk_e8s: chunk, daily_budget_e8s: budget, paused: s.paused };
            let before_shard = shards[s.shard].granted_e8s;
            let before_total = totals.total_granted_e8s;
            let result = apply_report(&mut shards[s.shard], &mut totals, &report, &limits, now);
            let moved = shards[s.shard].granted_e8s - before_shard;
            prop_assert_eq!(totals.total_granted_e8s - before_total, moved);
            prop_assert!(totals.total_granted_e8s <= HARD_CAP_E8S);
            prop_assert!(moved <= chunk);
            prop_assert_eq!(shards[s.shard].reported_staked_e8s, s.staked, "the report is recorded whatever the grant");
            match result {
                Ok(g) => {
                    prop_assert_eq!(g.granted_e8s, moved);
                    prop_assert_eq!(g.shard_granted_total_e8s, shards[s.shard].granted_e8s);
                    if s.paused && s.wants {
                        prop_assert_eq!((moved, g.withheld), (0, Some(GrantWithheld::PlatformPaused)));
                    }
                    if !s.wants {
                        prop_assert_eq!(moved, 0);
                    }
                }
                Err(e) => {
                    prop_assert_eq!(e, AllowanceError::HardCapReached);
                    prop_assert_eq!(before_total, HARD_CAP_E8S);
                    prop_assert_eq!(moved, 0);
                }
            }
            let day = now / NANOS_PER_DAY;
            *granted_on.entry(day).or_default() += moved;
            prop_assert!(granted_on[&day] <= budget, "day {} granted {} over the budget {}", day, granted_on[&day], budget);
        }
        let sum: u64 = shards.iter().map(|s| s.granted_e8s).sum();
        prop_assert_eq!(sum + already, totals.total_granted_e8s);
    }
}

/// `n` cases, or `PROPTEST_CASES` for a longer search.
fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(n)
}
