//! Payloads of the SNS proposals that govern the platform (generic nervous system functions),
//! the hub → shard / learning_content configuration pushes, the upgrade arguments and the
//! governance status views.
//!
//! SNS governance passes a proposal's payload as the raw Candid argument of both the validator
//! and the target method, so each payload is the single argument of its method pair:
//!
//! | id | canister | target / validator | payload |
//! |---|---|---|---|
//! | 1000 | staking_hub | `set_shard_status` / `set_shard_status_validate` | [`SetShardStatusArgs`] |
//! | 1001 | staking_hub | `update_config` / `update_config_validate` | [`ConfigOverrides`] (the fields to change) |
//! | 1002 | learning_content | `add_units` / `add_units_validate` | [`AddUnitsArgs`] |
//! | 1003 | learning_content | `update_unit` / `update_unit_validate` | [`UpdateUnitArgs`] |
//! | 1004 | learning_content | `retire_units` / `retire_units_validate` | [`RetireUnitsArgs`] |
//! | 1005 | staking_hub | `control_shard_rollout` / `control_shard_rollout_validate` | [`RolloutCommand`] |
//! | 1009 | staking_hub | `update_economic_config` / `update_economic_config_validate` | [`EconomicConfigChanges`] (critical) |
//! | 1010 | staking_hub | `set_platform_paused` / `set_platform_paused_validate` | [`SetPlatformPausedArgs`] |
//!
//! Validators answer [`ValidationResult`] (`variant { Ok : text; Err : text }`): `Ok` carries
//! the human-readable rendering shown to voters. The `render_*` functions here are shared by the
//! canisters and the proposals CLI, so voters see what the submitter previewed.

use crate::{ConfigOverrides, EconomicConfigChanges, PlatformConfig, UnitInput, ECONOMIC_FIELDS};
use candid::{CandidType, Principal};
use serde::{Deserialize, Serialize};

/// The reply of every validator method.
pub type ValidationResult = Result<String, String>;

/// Longest `reason` a proposal payload may carry (bytes).
pub const MAX_REASON_LEN: usize = 1_000;

/// Emergency disable / enable of one shard (function 1000).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SetShardStatusArgs {
    pub shard_id: Principal,
    /// true: disable (users' state-changing calls are refused, no new users, no allowances,
    /// withdrawals wait); false: enable again.
    pub disabled: bool,
    pub reason: String,
}

/// Platform-wide pause / resume (function 1010): while paused, registration, quizzes,
/// allowance grants and minting stop; withdrawals stay pending and resume afterwards.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SetPlatformPausedArgs {
    pub paused: bool,
    pub reason: String,
}

/// Renders a pause / resume for voters (whether it changes anything is checked by the hub).
pub fn render_platform_paused(args: &SetPlatformPausedArgs) -> Result<String, String> {
    check_reason(&args.reason)?;
    let what = if args.paused {
        "PAUSE THE PLATFORM (emergency): registration, quiz submissions, allowance grants to shards and \
         minting of withdrawals stop; new shards are not created; withdrawals stay pending and are minted \
         after the resume; reads keep working; nothing is lost"
    } else {
        "RESUME THE PLATFORM: registration, quizzes, allowance grants and minting start again; pending \
         withdrawals are minted"
    };
    Ok(format!("{what}.\nReason: {}", args.reason.trim()))
}

/// Units to add (function 1002). Ids must be new (never used, retired ones included).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AddUnitsArgs {
    pub units: Vec<UnitInput>,
}

/// A new version of an existing, not retired unit, answer key included (function 1003).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UpdateUnitArgs {
    pub unit: UnitInput,
}

/// Units to retire (function 1004): they leave the listings and can no longer be passed;
/// learners keep their completions and rewards.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RetireUnitsArgs {
    pub unit_ids: Vec<String>,
    pub reason: String,
}

/// Control of the rollout of the hub's embedded shard Wasm to its shards (function 1005).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RolloutCommand {
    /// Roll out at `batch_size` shards per timer tick (0 = stopped).
    Start { batch_size: u32 },
    /// Hold the rollout where it is (in-flight upgrades finish).
    Pause,
    /// Go on at the batch size in force.
    Resume,
    SetBatchSize { batch_size: u32 },
}

/// Most shards the rollout upgrades per timer tick.
pub const MAX_ROLLOUT_BATCH: u32 = 50;

/// Upgrade argument of staking_hub (`opt HubUpgradeArgs`; none keeps everything as it is).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct HubUpgradeArgs {
    /// Set (or correct) the SNS governance canister, e.g. once the SNS exists: an SNS
    /// decentralization swap creates governance after the dapp canisters were installed.
    pub sns_governance_id: Option<Principal>,
    /// Set (or correct) the ICP ledger and CMC of the refill from ICP (none: keep them).
    pub icp_refill: Option<crate::icp_refill::IcpRefillIds>,
}

/// Upgrade argument of learning_content (`opt ContentUpgradeArgs`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct ContentUpgradeArgs {
    pub sns_governance_id: Option<Principal>,
}

/// Hub → shard: the configuration in force (`apply_config`). A shard applies a version only if
/// it is newer than the one it has.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardConfigPush {
    pub version: u64,
    pub config: PlatformConfig,
    /// The platform-wide pause (function 1010) in force at `version` (`None` from a hub that
    /// predates the pause: not paused).
    pub platform_paused: Option<bool>,
}

/// Hub → learning_content: its part of the configuration (`apply_config`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ContentConfigPush {
    pub version: u64,
    pub pass_mark_percent: u8,
}

/// Where the configuration stands (`get_config_status` on the hub).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ConfigStatus {
    pub version: u64,
    pub config: PlatformConfig,
    /// Shards that have not confirmed `version` yet, with the version they confirmed.
    pub shards_behind: Vec<(Principal, u64)>,
    /// The version learning_content confirmed.
    pub content_version: u64,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RolloutState {
    /// Upgrading outdated shards, `batch_size` per tick.
    Running,
    Paused,
    /// Batch size 0.
    Stopped,
}

/// One shard as the rollout sees it.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardRollout {
    pub shard_id: Principal,
    /// Hex sha256 of the Wasm it runs (as last installed by the hub).
    pub wasm_hash: String,
    /// Failed upgrade attempts to the current target.
    pub failures: u32,
    pub last_error: Option<String>,
    /// Gave up after too many failures: it keeps running its old code until the next target.
    pub gave_up: bool,
}

/// `get_rollout_status` on the hub.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RolloutStatus {
    /// Hex sha256 of the embedded shard Wasm: what every shard should run.
    pub target_hash: String,
    pub state: RolloutState,
    pub batch_size: u32,
    pub shards_total: u64,
    pub shards_on_target: u64,
    /// Shards not on the target (each with its hash, failures, last error).
    pub pending: Vec<ShardRollout>,
    /// The target a `Start` proposal approved. A hub upgrade that embeds another shard Wasm
    /// upgrades no shard until a `Start` approves the new target (`None` before the first).
    pub approved_target_hash: Option<String>,
    /// Whether the canary (the first shard upgraded to the target) was upgraded and answered
    /// healthy; until then the rollout upgrades one shard, then the batch size per tick.
    pub canary_passed: Option<bool>,
}

/// Renders a rollout command for voters.
pub fn render_rollout_command(c: &RolloutCommand) -> Result<String, String> {
    let check = |b: u32| {
        if b > MAX_ROLLOUT_BATCH {
            Err(format!("batch_size must be in 0..={MAX_ROLLOUT_BATCH}, got {b}"))
        } else {
            Ok(())
        }
    };
    Ok(match c {
        RolloutCommand::Start { batch_size: 0 } => return Err("Start needs a batch size of at least 1".into()),
        RolloutCommand::Start { batch_size } => {
            check(*batch_size)?;
            format!(
                "Start the shard Wasm rollout of the Wasm this hub embeds: one canary shard first (snapshot, \
                 upgrade, health check), then {batch_size} shard(s) per timer tick."
            )
        }
        RolloutCommand::Pause => "Pause the shard Wasm rollout (upgrades in flight finish).".into(),
        RolloutCommand::Resume => "Resume the shard Wasm rollout at the batch size in force.".into(),
        RolloutCommand::SetBatchSize { batch_size } => {
            check(*batch_size)?;
            format!("Set the shard Wasm rollout batch size to {batch_size} shard(s) per timer tick (0 = stopped).")
        }
    })
}

/// Checks a reason text.
pub fn check_reason(reason: &str) -> Result<(), String> {
    if reason.trim().is_empty() {
        return Err("reason: must not be empty".into());
    }
    if reason.len() > MAX_REASON_LEN {
        return Err(format!("reason: at most {MAX_REASON_LEN} bytes, got {}", reason.len()));
    }
    Ok(())
}

/// Renders a shard status change for voters (the shard's existence is checked by the hub).
pub fn render_shard_status(args: &SetShardStatusArgs) -> Result<String, String> {
    check_reason(&args.reason)?;
    let what = if args.disabled {
        "DISABLE shard (emergency): its users' state-changing calls are refused, it gets no new users, \
         no allowances and no mints until enabled again; reads keep working; nothing is lost"
    } else {
        "ENABLE shard: it serves its users, takes new users and earns rewards again"
    };
    Ok(format!("{what}.\nShard: {}\nReason: {}", args.shard_id, args.reason.trim()))
}

/// The configuration `changes` would give when applied to `current`, and its rendering: every
/// field that changes, old → new. Function 1001: the economic fields ([`ECONOMIC_FIELDS`]) are
/// refused, they belong to the critical function 1009. Errors: an economic field, nothing
/// changes, or the result is out of range.
pub fn render_config_change(current: &PlatformConfig, changes: &ConfigOverrides) -> Result<(PlatformConfig, String), String> {
    let economic = changes.economic_fields_set();
    if !economic.is_empty() {
        return Err(format!(
            "{} are economic parameters: only the critical function 1009 (update_economic_config) may change them",
            economic.join(", ")
        ));
    }
    render_change(
        current,
        changes,
        "Update the platform configuration (pushed by the hub to every shard and to learning_content)",
    )
}

/// Function 1009: the economic parameters, validated like every field.
pub fn render_economic_config_change(
    current: &PlatformConfig,
    changes: &EconomicConfigChanges,
) -> Result<(PlatformConfig, String), String> {
    debug_assert!(changes.as_overrides().fields_set().iter().all(|f| ECONOMIC_FIELDS.contains(f)));
    render_change(
        current,
        &changes.as_overrides(),
        "CRITICAL: update the platform's economic parameters (rewards, allowance, emission budget, shard cycles)",
    )
}

fn render_change(
    current: &PlatformConfig,
    changes: &ConfigOverrides,
    header: &str,
) -> Result<(PlatformConfig, String), String> {
    let next = changes.apply_to(current)?;
    let mut lines = Vec::new();
    macro_rules! changed {
        ($($f:ident),*) => { $(
            if current.$f != next.$f {
                lines.push(format!("  {}: {} -> {}", stringify!($f), current.$f, next.$f));
            }
        )* };
    }
    crate::platform::with_config_fields!(changed);
    if current.daily_emission_budget() != next.daily_emission_budget() {
        lines.push(format!(
            "  daily_emission_budget_e8s: {} -> {}",
            current.daily_emission_budget(),
            next.daily_emission_budget()
        ));
    }
    if current.shard_topup_daily_budget() != next.shard_topup_daily_budget() {
        lines.push(format!(
            "  shard_topup_daily_budget_cycles: {} -> {}",
            current.shard_topup_daily_budget(),
            next.shard_topup_daily_budget()
        ));
    }
    if current.topup_min_days_left() != next.topup_min_days_left() {
        lines.push(format!("  topup_min_days_left: {} -> {}", current.topup_min_days_left(), next.topup_min_days_left()));
    }
    if current.hub_cycles_for_new_shards() != next.hub_cycles_for_new_shards() {
        lines.push(format!(
            "  hub_cycles_for_new_shards: {} -> {}",
            current.hub_cycles_for_new_shards(),
            next.hub_cycles_for_new_shards()
        ));
    }
    if current.hub_cycles_for_full_topups() != next.hub_cycles_for_full_topups() {
        lines.push(format!(
            "  hub_cycles_for_full_topups: {} -> {}",
            current.hub_cycles_for_full_topups(),
            next.hub_cycles_for_full_topups()
        ));
    }
    if current.min_withdrawal() != next.min_withdrawal() {
        lines.push(format!("  min_withdrawal_e8s: {} -> {}", current.min_withdrawal(), next.min_withdrawal()));
    }
    if current.withdrawal_cooldown() != next.withdrawal_cooldown() {
        lines.push(format!(
            "  withdrawal_cooldown_secs: {} -> {}",
            current.withdrawal_cooldown(),
            next.withdrawal_cooldown()
        ));
    }
    if current.withdrawal_batch() != next.withdrawal_batch() {
        lines.push(format!(
            "  withdrawal_batch_secs (withdrawals wait this long for others, then go to the hub together, at most twice this long after the unstake; 0: one by one): {} -> {}",
            current.withdrawal_batch(),
            next.withdrawal_batch()
        ));
    }
    if current.shard_log_viewers() != next.shard_log_viewers() {
        let list = |v: &[candid::Principal]| v.iter().map(|p| p.to_text()).collect::<Vec<_>>().join(", ");
        lines.push(format!(
            "  shard_log_viewers (may read every shard's canister log): [{}] -> [{}]",
            list(current.shard_log_viewers()),
            list(next.shard_log_viewers())
        ));
    }
    if current.user_export_readers() != next.user_export_readers() {
        let list = |v: &[candid::Principal]| v.iter().map(|p| p.to_text()).collect::<Vec<_>>().join(", ");
        let consequence = if next.user_export_readers().is_empty() {
            "    After it only the hub can export learner data."
        } else {
            "    WARNING: these principals can read every learner's profile (email, name) and balances on every \
             shard (export_users). Name readers only to take an archive, and clear them afterwards."
        };
        lines.push(format!(
            "  user_export_readers (may read every learner's private data): [{}] -> [{}]\n{consequence}",
            list(current.user_export_readers()),
            list(next.user_export_readers())
        ));
    }
    if current.shard_subnets() != next.shard_subnets() {
        let list = |v: &[candid::Principal]| v.iter().map(|p| p.to_text()).collect::<Vec<_>>().join(", ");
        let placement = if next.shard_subnets().is_empty() {
            "    New shards are created on the hub's own subnet."
        } else {
            "    New shards are created through the cycles minting canister on the listed subnet whose shards \
             hold the fewest learners; existing shards stay where they are."
        };
        lines.push(format!(
            "  shard_subnets (where new shards are created): [{}] -> [{}]\n{placement}",
            list(current.shard_subnets()),
            list(next.shard_subnets())
        ));
    }
    for (name, before, after) in [
        ("shard_memory_budget_bytes", current.shard_memory_budget(), next.shard_memory_budget()),
        ("settled_retention_secs", current.settled_retention(), next.settled_retention()),
        ("inactive_archive_secs", current.inactive_archive(), next.inactive_archive()),
    ] {
        if before != after {
            lines.push(format!("  {name}: {before} -> {after}"));
        }
    }
    if lines.is_empty() {
        return Err("the proposal changes nothing".into());
    }
    Ok((next, format!("{header}:\n{}", lines.join("\n"))))
}

/// Payload of function 1008 (`staking_hub.resolve_withdrawal`): governance records the outcome
/// of a withdrawal mint the hub could not settle by itself (its outcome unknown and its block
/// search unable to finish). The shard learns it on its next retry.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ResolveWithdrawalArgs {
    pub shard_id: Principal,
    pub withdrawal_id: u64,
    /// Some(block): the mint is that ledger block (the hub checks the block where the ledger
    /// answers). None: it was never minted (the learner is credited back; refused while the
    /// ledger could still execute a copy).
    pub minted_at_block: Option<u64>,
    pub reason: String,
}

/// Renders a withdrawal resolution for voters (the journal entry is checked by the hub).
pub fn render_withdrawal_resolution(args: &ResolveWithdrawalArgs) -> Result<String, String> {
    check_reason(&args.reason)?;
    let what = match args.minted_at_block {
        Some(block) => format!(
            "RECORD withdrawal {} of shard {} as MINTED at ledger block {block}: the shard completes it (no tokens move)",
            args.withdrawal_id, args.shard_id
        ),
        None => format!(
            "RECORD withdrawal {} of shard {} as NOT MINTED: the shard credits the amount back to the learner's \
             staked balance (they may withdraw it again)",
            args.withdrawal_id, args.shard_id
        ),
    };
    Ok(format!("{what}.\nReason: {}", args.reason.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_changes_are_rendered_field_by_field_and_validated() {
        let current = PlatformConfig::default();
        let changes = ConfigOverrides { daily_attempt_limit: Some(7), pass_mark_percent: Some(70), ..Default::default() };
        let (next, text) = render_config_change(&current, &changes).unwrap();
        assert_eq!((next.daily_attempt_limit, next.pass_mark_percent), (7, 70));
        assert!(text.contains("daily_attempt_limit: 5 -> 7") && text.contains("pass_mark_percent: 60 -> 70"), "{text}");
        assert!(!text.contains("reward_per_quiz_e8s"));
        let same = ConfigOverrides { daily_attempt_limit: Some(5), ..Default::default() };
        assert_eq!(render_config_change(&current, &same).unwrap_err(), "the proposal changes nothing");
        let bad = ConfigOverrides { pass_mark_percent: Some(101), ..Default::default() };
        assert!(render_config_change(&current, &bad).unwrap_err().contains("pass_mark_percent"));
    }

    #[test]
    fn economic_fields_go_through_1009_only_and_the_pause_is_rendered() {
        let current = PlatformConfig::default();
        let via_1001 = ConfigOverrides { reward_per_quiz_e8s: Some(5 * crate::E8S), ..Default::default() };
        let e = render_config_change(&current, &via_1001).unwrap_err();
        assert!(e.contains("reward_per_quiz_e8s") && e.contains("1009"), "{e}");
        let budget = ConfigOverrides { daily_emission_budget_e8s: Some(crate::E8S * 1_000), ..Default::default() };
        assert!(render_config_change(&current, &budget).unwrap_err().contains("daily_emission_budget_e8s"));
        let changes = EconomicConfigChanges { daily_emission_budget_e8s: Some(500_000 * crate::E8S), ..Default::default() };
        let (next, text) = render_economic_config_change(&current, &changes).unwrap();
        assert_eq!(next.daily_emission_budget(), 500_000 * crate::E8S);
        assert!(text.starts_with("CRITICAL") && text.contains("daily_emission_budget_e8s: 100000000000000 -> 50000000000000"), "{text}");
        assert_eq!(render_economic_config_change(&current, &EconomicConfigChanges::default()).unwrap_err(), "the proposal changes nothing");
        let pause = SetPlatformPausedArgs { paused: true, reason: "farm".into() };
        assert!(render_platform_paused(&pause).unwrap().starts_with("PAUSE"));
        assert!(render_platform_paused(&SetPlatformPausedArgs { paused: false, ..pause.clone() }).unwrap().starts_with("RESUME"));
        assert!(render_platform_paused(&SetPlatformPausedArgs { reason: "".into(), ..pause }).is_err());
    }

    #[test]
    fn accounting_arithmetic_refuses_to_wrap_or_saturate() {
        assert_eq!(crate::checked_add_e8s(2, 3, "x"), 5);
        assert_eq!(crate::checked_sub_e8s(5, 3, "x"), 2);
        let over = std::panic::catch_unwind(|| crate::checked_add_e8s(u64::MAX, 1, "total"));
        let msg = *over.unwrap_err().downcast::<String>().unwrap();
        assert!(msg.contains("accounting overflow in total"), "{msg}");
        assert!(std::panic::catch_unwind(|| crate::checked_sub_e8s(1, 2, "reserved")).is_err());
    }

    #[test]
    fn the_per_shard_topup_budget_is_rendered_and_bounded() {
        let current = PlatformConfig::default();
        assert_eq!(current.shard_topup_daily_budget(), crate::DEFAULT_SHARD_TOPUP_DAILY_BUDGET_CYCLES);
        // A shard-cycles parameter: critical (1009), refused by 1001.
        let via_1001 = ConfigOverrides { shard_topup_daily_budget_cycles: Some(5_000_000_000_000), ..Default::default() };
        assert!(render_config_change(&current, &via_1001).unwrap_err().contains("1009"));
        let set = EconomicConfigChanges { shard_topup_daily_budget_cycles: Some(5_000_000_000_000), ..Default::default() };
        let (next, text) = render_economic_config_change(&current, &set).unwrap();
        assert_eq!(next.shard_topup_daily_budget(), 5_000_000_000_000);
        assert!(text.contains("shard_topup_daily_budget_cycles: 3000000000000 -> 5000000000000"), "{text}");
        let same = EconomicConfigChanges {
            shard_topup_daily_budget_cycles: Some(crate::DEFAULT_SHARD_TOPUP_DAILY_BUDGET_CYCLES),
            ..Default::default()
        };
        assert_eq!(render_economic_config_change(&current, &same).unwrap_err(), "the proposal changes nothing");
        assert_eq!(same.as_overrides().fields_unchanged(&current), vec!["shard_topup_daily_budget_cycles"]);
        for bad in [current.shard_topup_amount_cycles - 1, crate::MAX_SHARD_TOPUP_DAILY_BUDGET_CYCLES + 1] {
            let o = EconomicConfigChanges { shard_topup_daily_budget_cycles: Some(bad), ..Default::default() };
            assert!(render_economic_config_change(&current, &o).unwrap_err().contains("shard_topup_daily_budget_cycles"));
        }
    }

    #[test]
    fn the_withdrawal_minimum_and_cooldown_are_rendered_and_bounded() {
        let current = PlatformConfig::default();
        assert_eq!((current.min_withdrawal(), current.withdrawal_cooldown()), (10 * crate::E8S, 3_600));
        let set = ConfigOverrides { min_withdrawal_e8s: Some(5), withdrawal_cooldown_secs: Some(0), ..Default::default() };
        let (next, text) = render_config_change(&current, &set).unwrap();
        assert_eq!((next.min_withdrawal(), next.withdrawal_cooldown()), (5, 0));
        assert!(text.contains("min_withdrawal_e8s: 1000000000 -> 5"), "{text}");
        assert!(text.contains("withdrawal_cooldown_secs: 3600 -> 0"), "{text}");
        assert_eq!(set.fields_set(), vec!["min_withdrawal_e8s", "withdrawal_cooldown_secs"]);
        let same = ConfigOverrides { withdrawal_cooldown_secs: Some(3_600), ..Default::default() };
        assert_eq!(render_config_change(&current, &same).unwrap_err(), "the proposal changes nothing");
        for bad in [0, crate::MAX_MIN_WITHDRAWAL_E8S + 1] {
            let o = ConfigOverrides { min_withdrawal_e8s: Some(bad), ..Default::default() };
            assert!(render_config_change(&current, &o).unwrap_err().contains("min_withdrawal_e8s"), "{bad}");
        }
        let o = ConfigOverrides { withdrawal_cooldown_secs: Some(crate::MAX_WITHDRAWAL_COOLDOWN_SECS + 1), ..Default::default() };
        assert!(render_config_change(&current, &o).unwrap_err().contains("withdrawal_cooldown_secs"));
        let batch = ConfigOverrides { withdrawal_batch_secs: Some(0), ..Default::default() };
        let (_, text) = render_config_change(&current, &batch).unwrap();
        assert!(text.contains("withdrawal_batch_secs") && text.contains(": 30 -> 0"), "{text}");
        assert_eq!(batch.apply_to(&current).unwrap().withdrawal_batch(), 0);
        assert_eq!(ConfigOverrides { withdrawal_batch_secs: Some(30), ..Default::default() }.fields_unchanged(&current), vec!["withdrawal_batch_secs"]);
        let o = ConfigOverrides { withdrawal_batch_secs: Some(crate::MAX_WITHDRAWAL_BATCH_SECS + 1), ..Default::default() };
        assert!(render_config_change(&current, &o).unwrap_err().contains("withdrawal_batch_secs must be in 0..=600"));
    }

    #[test]
    fn shard_log_viewers_are_rendered_and_bounded() {
        let current = PlatformConfig::default();
        let op = candid::Principal::from_slice(&[7; 29]);
        let set = ConfigOverrides { shard_log_viewers: Some(vec![op]), ..Default::default() };
        let (next, text) = render_config_change(&current, &set).unwrap();
        assert_eq!(next.shard_log_viewers(), &[op]);
        assert!(text.contains(&format!("shard_log_viewers (may read every shard's canister log): [] -> [{op}]")), "{text}");
        assert_eq!(set.fields_set(), vec!["shard_log_viewers"]);
        assert_eq!(set.fields_unchanged(&next), vec!["shard_log_viewers"]);
        assert!(render_config_change(&next, &set).unwrap_err().contains("changes nothing"));
        let ten: Vec<_> = (0..10u8).map(|n| candid::Principal::from_slice(&[n + 1; 29])).collect();
        for (bad, why) in [
            (ten, "at most 9"),
            (vec![op, op], "listed twice"),
            (vec![candid::Principal::anonymous()], "cannot be a log viewer"),
        ] {
            let o = ConfigOverrides { shard_log_viewers: Some(bad), ..Default::default() };
            assert!(render_config_change(&current, &o).unwrap_err().contains(why), "{why}");
        }
        let cleared = ConfigOverrides { shard_log_viewers: Some(vec![]), ..Default::default() };
        assert!(render_config_change(&next, &cleared).unwrap().0.shard_log_viewers().is_empty());
    }

    #[test]
    fn user_export_readers_are_rendered_with_a_privacy_warning_and_bounded() {
        let current = PlatformConfig::default();
        assert!(current.user_export_readers().is_empty());
        let archive = candid::Principal::from_slice(&[9; 29]);
        let set = ConfigOverrides { user_export_readers: Some(vec![archive]), ..Default::default() };
        let (next, text) = render_config_change(&current, &set).unwrap();
        assert_eq!(next.user_export_readers(), &[archive]);
        assert!(text.contains(&format!("user_export_readers (may read every learner's private data): [] -> [{archive}]")), "{text}");
        assert!(text.contains("WARNING") && text.contains("(email, name) and balances"), "{text}");
        assert_eq!(set.fields_set(), vec!["user_export_readers"]);
        assert_eq!(set.fields_unchanged(&next), vec!["user_export_readers"]);
        assert!(render_config_change(&next, &set).unwrap_err().contains("changes nothing"));
        // The log viewers are a separate list: naming a reader does not make it a log viewer.
        assert!(next.shard_log_viewers().is_empty());
        let ten: Vec<_> = (0..10u8).map(|n| candid::Principal::from_slice(&[n + 1; 29])).collect();
        assert!(render_config_change(&current, &ConfigOverrides { user_export_readers: Some(ten.clone()), ..Default::default() }).is_ok());
        let eleven: Vec<_> = (0..11u8).map(|n| candid::Principal::from_slice(&[n + 1; 29])).collect();
        for (bad, why) in [
            (eleven, "user_export_readers: at most 10 principals, got 11"),
            (vec![archive, archive], "is listed twice"),
            (vec![candid::Principal::anonymous()], "cannot be an export reader"),
            (vec![archive, candid::Principal::management_canister()], "cannot be an export reader"),
        ] {
            let o = ConfigOverrides { user_export_readers: Some(bad), ..Default::default() };
            let e = render_config_change(&current, &o).unwrap_err();
            assert!(e.contains(why), "{why}: {e}");
            // Bad input loses nothing: the configuration it would replace is untouched.
            assert!(o.apply_to(&next).is_err());
        }
        let cleared = ConfigOverrides { user_export_readers: Some(vec![]), ..Default::default() };
        let (after, text) = render_config_change(&next, &cleared).unwrap();
        assert!(after.user_export_readers().is_empty());
        assert!(text.contains("only the hub can export") && !text.contains("WARNING"), "{text}");
    }

    #[test]
    fn a_config_stored_before_user_export_readers_decodes_with_none() {
        // The config as stored before the field existed: the same record without it.
        #[derive(candid::CandidType)]
        struct Old {
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
        }
        let d = PlatformConfig::default();
        let old = Old {
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
        };
        let decoded: PlatformConfig = candid::decode_one(&candid::encode_one(old).unwrap()).unwrap();
        assert_eq!(decoded.user_export_readers, None);
        assert!(decoded.user_export_readers().is_empty());
        assert!(decoded.validate().is_ok());
    }

    #[test]
    fn shard_subnets_are_rendered_bounded_and_clearable() {
        let current = PlatformConfig::default();
        assert!(current.shard_subnets().is_empty(), "a config stored before the field: the hub's own subnet");
        let (a, b) = (Principal::from_slice(&[0x11; 29]), Principal::from_slice(&[0x22; 29]));
        let set = ConfigOverrides { shard_subnets: Some(vec![a, b]), ..Default::default() };
        let (next, text) = render_config_change(&current, &set).unwrap();
        assert_eq!(next.shard_subnets(), &[a, b]);
        assert!(text.contains(&format!("shard_subnets (where new shards are created): [] -> [{a}, {b}]")), "{text}");
        assert!(text.contains("cycles minting canister"), "{text}");
        assert_eq!(set.fields_set(), vec!["shard_subnets"]);
        assert_eq!(set.fields_unchanged(&next), vec!["shard_subnets"]);
        for (bad, why) in [
            (vec![a, a], "is listed twice"),
            (vec![Principal::anonymous()], "is not a subnet id"),
            ((0..=crate::MAX_SHARD_SUBNETS as u8).map(|n| Principal::from_slice(&[n; 29])).collect(), "at most"),
        ] {
            let e = render_config_change(&current, &ConfigOverrides { shard_subnets: Some(bad), ..Default::default() })
                .unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        let cleared = ConfigOverrides { shard_subnets: Some(vec![]), ..Default::default() };
        let (after, text) = render_config_change(&next, &cleared).unwrap();
        assert!(after.shard_subnets().is_empty());
        assert!(text.contains("hub's own subnet"), "{text}");
    }

    #[test]
    fn withdrawal_resolutions_are_checked_and_rendered() {
        let args = ResolveWithdrawalArgs {
            shard_id: Principal::anonymous(),
            withdrawal_id: 4,
            minted_at_block: Some(17),
            reason: "search blocked by a lost archive".into(),
        };
        assert!(render_withdrawal_resolution(&args).unwrap().contains("MINTED at ledger block 17"));
        let not = ResolveWithdrawalArgs { minted_at_block: None, ..args.clone() };
        assert!(render_withdrawal_resolution(&not).unwrap().contains("NOT MINTED"));
        assert!(render_withdrawal_resolution(&ResolveWithdrawalArgs { reason: " ".into(), ..args }).is_err());
    }

    #[test]
    fn rollout_commands_and_shard_status_are_checked_and_rendered() {
        assert!(render_rollout_command(&RolloutCommand::Start { batch_size: 5 }).unwrap().contains("5 shard(s)"));
        assert!(render_rollout_command(&RolloutCommand::SetBatchSize { batch_size: MAX_ROLLOUT_BATCH + 1 }).is_err());
        assert!(render_rollout_command(&RolloutCommand::Pause).is_ok());
        assert!(render_rollout_command(&RolloutCommand::Start { batch_size: 0 }).is_err());
        let args = SetShardStatusArgs { shard_id: Principal::anonymous(), disabled: true, reason: "bug #12".into() };
        assert!(render_shard_status(&args).unwrap().starts_with("DISABLE"));
        let empty = SetShardStatusArgs { reason: "  ".into(), ..args.clone() };
        assert!(render_shard_status(&empty).unwrap_err().starts_with("reason"));
        let long = SetShardStatusArgs { reason: "x".repeat(MAX_REASON_LEN + 1), ..args };
        assert!(render_shard_status(&long).is_err());
    }
}
