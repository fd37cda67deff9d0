//! The hub's SNS generic nervous system functions: a validator and a target per action.
//!
//! Governance calls the validator when a proposal is submitted and the target once it is
//! adopted, with the proposal's payload as the argument of both. Validators change nothing and
//! answer the rendering voters see. Targets check the caller, validate again against the state
//! at execution time (it may have changed during the vote), and apply. The endpoint traps when a
//! target refuses, so SNS governance marks the proposal Failed with the reason.

use crate::fleet::ShardSync;
use crate::guards;
use crate::model::ShardIndex;
use crate::mint::{self, ExpectedMint, MintKey, MintRecord};
use crate::state;
use candid::Principal;
use platform_types::{
    render_config_change, render_economic_config_change, render_platform_paused, render_rollout_command,
    render_shard_status, render_withdrawal_resolution, ConfigOverrides, EconomicConfigChanges, PlatformConfig,
    ResolveWithdrawalArgs, RolloutCommand, RolloutState, SetPlatformPausedArgs, SetShardStatusArgs, ShardStatus,
    ValidationResult,
};

// ------------------------------------------------------------------ 1000: shard status

fn check_shard_status(args: &SetShardStatusArgs) -> Result<(ShardIndex, String), String> {
    let text = render_shard_status(args)?;
    let (index, shard) = state::shard_by_id(args.shard_id)
        .filter(|(_, s)| s.installed)
        .ok_or_else(|| format!("{} is not a shard of this hub", args.shard_id))?;
    if (shard.status == ShardStatus::Disabled) == args.disabled {
        return Err(format!(
            "shard {} is already {}",
            args.shard_id,
            if args.disabled { "disabled" } else { "enabled" }
        ));
    }
    Ok((index, text))
}

pub fn set_shard_status_validate(caller: Principal, args: &SetShardStatusArgs) -> ValidationResult {
    guards::caller_is_governance(caller)?;
    check_shard_status(args).map(|(_, text)| text)
}

/// Records the status at once (routing, allowances and mints follow it immediately); the shard
/// itself is told by [`crate::fleet::push_pending`], retried until it confirms.
pub fn set_shard_status(caller: Principal, args: &SetShardStatusArgs) -> Result<(), String> {
    guards::caller_is_governance(caller)?;
    let (index, _) = check_shard_status(args)?;
    let hard_limit = state::config().shard_hard_limit;
    state::update_shard(index, |s| {
        s.status = if args.disabled {
            ShardStatus::Disabled
        } else if s.user_count >= hard_limit {
            ShardStatus::Full
        } else {
            ShardStatus::Active
        }
    });
    state::update_shard_sync(index, |y| y.note_status_change())?;
    Ok(())
}

// ------------------------------------------------------------------ 1001: configuration

pub fn update_config_validate(caller: Principal, changes: &ConfigOverrides) -> ValidationResult {
    guards::caller_is_governance(caller)?;
    render_config_change(&state::config(), changes).map(|(_, text)| text)
}

/// Applies a configuration change: a new version, pushed to every shard and learning_content
/// by [`crate::fleet::push_pending`]. Returns the old and the new configuration. Economic
/// fields are refused (function 1009).
pub fn update_config(caller: Principal, changes: &ConfigOverrides) -> Result<(PlatformConfig, PlatformConfig), String> {
    guards::caller_is_governance(caller)?;
    let old = state::config();
    let (next, _) = render_config_change(&old, changes)?;
    apply_config(old, next)
}

// ------------------------------------------------------------------ 1009: economic parameters

pub fn update_economic_config_validate(caller: Principal, changes: &EconomicConfigChanges) -> ValidationResult {
    guards::caller_is_governance(caller)?;
    render_economic_config_change(&state::config(), changes).map(|(_, text)| text)
}

/// The critical function 1009 (CriticalDappOperations): the economic parameters, re-validated
/// against the configuration in force at execution.
pub fn update_economic_config(
    caller: Principal,
    changes: &EconomicConfigChanges,
) -> Result<(PlatformConfig, PlatformConfig), String> {
    guards::caller_is_governance(caller)?;
    let old = state::config();
    let (next, _) = render_economic_config_change(&old, changes)?;
    apply_config(old, next)
}

// ------------------------------------------------------------------ 1010: platform pause

fn check_platform_paused(args: &SetPlatformPausedArgs) -> Result<String, String> {
    let text = render_platform_paused(args)?;
    if state::totals().is_paused() == args.paused {
        return Err(format!("the platform is already {}", if args.paused { "paused" } else { "running" }));
    }
    Ok(text)
}

pub fn set_platform_paused_validate(caller: Principal, args: &SetPlatformPausedArgs) -> ValidationResult {
    guards::caller_is_governance(caller)?;
    check_platform_paused(args)
}

/// Records the pause at once (registration, grants and mints at the hub follow it immediately)
/// and makes it a new configuration version, so [`crate::fleet::push_pending`] tells every
/// shard (which then refuses quizzes) until each confirms.
pub fn set_platform_paused(caller: Principal, args: &SetPlatformPausedArgs) -> Result<(), String> {
    guards::caller_is_governance(caller)?;
    check_platform_paused(args)?;
    state::update_totals(|t| t.platform_paused = Some(args.paused));
    state::update_fleet(|f| f.config_version += 1);
    Ok(())
}

/// Puts `next` in force as a new configuration version; Full/Active follow its hard limit.
fn apply_config(old: PlatformConfig, next: PlatformConfig) -> Result<(PlatformConfig, PlatformConfig), String> {
    state::set_config(next.clone());
    state::update_fleet(|f| f.config_version += 1);
    // Full/Active follow the (possibly changed) hard limit and memory budget.
    for (index, shard) in state::shards() {
        let mut refreshed = shard.clone();
        refreshed.refresh_status(next.shard_hard_limit, next.shard_memory_budget());
        if refreshed != shard {
            state::update_shard(index, |s| *s = refreshed);
        }
    }
    Ok((old, next))
}

// ------------------------------------------------------------------ 1005: rollout control

fn check_rollout_command(command: &RolloutCommand) -> Result<String, String> {
    let text = render_rollout_command(command)?;
    let fleet = state::fleet();
    match command {
        RolloutCommand::Pause if fleet.rollout_paused => Err("the rollout is already paused".into()),
        RolloutCommand::Resume if !fleet.rollout_paused => Err("the rollout is not paused".into()),
        RolloutCommand::SetBatchSize { batch_size } if *batch_size == fleet.rollout_batch_size => {
            Err(format!("the batch size is already {batch_size}"))
        }
        _ => Ok(format!(
            "{text}\nNow: {:?} at {} shard(s) per tick; target shard Wasm sha256 {}.",
            fleet.rollout_state(),
            fleet.rollout_batch_size,
            crate::shard_wasm::embedded_hash()
        )),
    }
}

pub fn control_shard_rollout_validate(caller: Principal, command: &RolloutCommand) -> ValidationResult {
    guards::caller_is_governance(caller)?;
    check_rollout_command(command)
}

/// Start also forgets the shards the rollout gave up on, so they are tried again.
pub fn control_shard_rollout(caller: Principal, command: &RolloutCommand) -> Result<RolloutState, String> {
    guards::caller_is_governance(caller)?;
    check_rollout_command(command)?;
    match command {
        RolloutCommand::Start { batch_size } => {
            let target = crate::shard_wasm::embedded_hash().to_string();
            state::update_fleet(|f| {
                f.rollout_paused = false;
                f.rollout_batch_size = *batch_size;
                // Start approves the shard Wasm this hub embeds, and only that one.
                f.rollout_approved_target = Some(target);
            });
            for (index, _) in state::shards() {
                state::update_shard_sync(index, |y| {
                    *y = ShardSync { rollout_failures: 0, failed_target: String::new(), ..y.clone() }
                });
            }
        }
        RolloutCommand::Pause => state::update_fleet(|f| f.rollout_paused = true),
        RolloutCommand::Resume => state::update_fleet(|f| f.rollout_paused = false),
        RolloutCommand::SetBatchSize { batch_size } => state::update_fleet(|f| f.rollout_batch_size = *batch_size),
    }
    Ok(state::fleet().rollout_state())
}

// ------------------------------------------------------------------ 1008: withdrawal resolution

/// The journal entry the resolution is about, and the text voters see. Refused: not a shard of
/// this hub, no such entry, an entry already settled, or "not minted" while the ledger could
/// still execute a copy.
fn check_withdrawal_resolution(
    args: &ResolveWithdrawalArgs,
    now_ns: u64,
) -> Result<(MintKey, MintRecord, String), String> {
    let text = render_withdrawal_resolution(args)?;
    let (shard, _) =
        state::shard_by_id(args.shard_id).ok_or_else(|| format!("{} is not a shard of this hub", args.shard_id))?;
    let key = MintKey { shard, withdrawal_id: args.withdrawal_id };
    let record = state::mint_record(key)
        .ok_or_else(|| format!("withdrawal {} of shard {} is not in the mint journal", args.withdrawal_id, args.shard_id))?;
    // Checked on a copy: the validator changes nothing.
    mint::resolution_change(&mut record.clone(), args.minted_at_block, now_ns)?;
    let text = format!(
        "{text}\nJournal: {} e8s to {}, created at {} ns, {} attempt(s) sent, {} known not minted; last error: {}{}",
        record.amount_e8s,
        record.user,
        record.created_at_ns,
        record.attempts_sent,
        record.attempts_not_minted,
        if record.last_error.is_empty() { "none" } else { &record.last_error },
        match &record.block_search {
            Some(s) => format!("; block search at {} of {:?}", s.next_block, s.end_block),
            None => String::new(),
        }
    );
    Ok((key, record, text))
}

pub fn resolve_withdrawal_validate(caller: Principal, args: &ResolveWithdrawalArgs, now_ns: u64) -> ValidationResult {
    guards::caller_is_governance(caller)?;
    check_withdrawal_resolution(args, now_ns).map(|(_, _, text)| text)
}

/// Records the outcome in the hub's journal; the shard gets it as the answer to its next retry.
/// "Minted at block N" is checked against the ledger's block N (refused if the ledger answers
/// with another block or none; accepted on the proposal's word only if the ledger cannot be
/// reached). Holds the withdrawal's mint guard, so no shard attempt runs meanwhile.
pub async fn resolve_withdrawal(caller: Principal, args: &ResolveWithdrawalArgs) -> Result<(), String> {
    guards::caller_is_governance(caller)?;
    let (key, record, _) = check_withdrawal_resolution(args, ic_cdk::api::time())?;
    let Some(_guard) = guards::MintGuard::acquire(key) else {
        return Err("a mint attempt of this withdrawal is under way; submit the proposal again".into());
    };
    if let Some(block) = args.minted_at_block {
        let ledger = state::init_args().expect("initialized").ledger_id;
        let memo = MintRecord::memo(key);
        let expected = ExpectedMint {
            to: record.user,
            amount_e8s: record.amount_e8s,
            memo: &memo,
            created_at_ns: record.created_at_ns,
        };
        match crate::calls::ledger_block(ledger, block).await {
            Ok(Some(b)) if mint::block_is_the_mint(&b, &expected) => {}
            Ok(Some(_)) => return Err(format!("ledger block {block} is not this withdrawal's mint")),
            Ok(None) => return Err(format!("the ledger has no block {block}")),
            Err(e) => ic_cdk::println!("resolve_withdrawal: block {block} not verified (ledger unreachable: {e})"),
        }
    }
    // Re-validated after the await: the entry may have been settled meanwhile.
    crate::registry::resolve_mint(key, args.minted_at_block, ic_cdk::api::time()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{fleet, registry};
    use platform_types::{HubInitArgs, E8S, HARD_CAP_E8S};

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    const GOVERNANCE: u8 = 3;

    fn init() -> ShardIndex {
        state::set_init_args(HubInitArgs {
            ledger_id: p(1),
            learning_content_id: p(2),
            sns_governance_id: p(GOVERNANCE),
            config: None,
            registration_policy: None,
            icp_refill: None,
        });
        let i = registry::record_created(p(50), 0);
        registry::mark_installed(i, "h".into(), 0);
        i
    }

    #[test]
    fn only_governance_may_validate_or_execute() {
        let i = init();
        let args = SetShardStatusArgs { shard_id: p(50), disabled: true, reason: "incident".into() };
        for caller in [p(9), p(1), p(50), Principal::anonymous()] {
            assert!(set_shard_status_validate(caller, &args).unwrap_err().contains("governance"));
            assert!(set_shard_status(caller, &args).is_err());
            assert!(update_config_validate(caller, &ConfigOverrides::default()).is_err());
            assert!(control_shard_rollout(caller, &RolloutCommand::Pause).is_err());
        }
        assert_eq!(state::shard(i).unwrap().status, ShardStatus::Active, "nothing changed");
        assert!(set_shard_status_validate(p(GOVERNANCE), &args).unwrap().starts_with("DISABLE"));
    }

    #[test]
    fn shard_status_is_validated_then_applied_and_marked_for_the_push() {
        let i = init();
        let unknown = SetShardStatusArgs { shard_id: p(51), disabled: true, reason: "x".into() };
        assert!(set_shard_status_validate(p(GOVERNANCE), &unknown).unwrap_err().contains("not a shard"));
        let enable = SetShardStatusArgs { shard_id: p(50), disabled: false, reason: "x".into() };
        assert!(set_shard_status_validate(p(GOVERNANCE), &enable).unwrap_err().contains("already enabled"));
        let disable = SetShardStatusArgs { disabled: true, ..enable.clone() };
        set_shard_status(p(GOVERNANCE), &disable).unwrap();
        assert_eq!(state::shard(i).unwrap().status, ShardStatus::Disabled);
        assert!(!state::shard_sync(i).status_synced);
        assert_eq!(state::shard_sync(i).status_epoch, Some(1), "every status change is a new epoch");
        assert!(set_shard_status(p(GOVERNANCE), &disable).unwrap_err().contains("already disabled"), "re-validated");
        let hard_limit = state::config().shard_hard_limit;
        state::update_shard(i, |s| s.user_count = hard_limit);
        set_shard_status(p(GOVERNANCE), &enable).unwrap();
        assert_eq!(state::shard(i).unwrap().status, ShardStatus::Full, "enabled at the hard limit: Full");
    }

    #[test]
    fn config_updates_bump_the_version_and_refresh_full_and_active() {
        let i = init();
        state::update_shard(i, |s| {
            s.user_count = 10;
            s.status = ShardStatus::Full;
        });
        let bad = ConfigOverrides { shard_soft_limit: Some(20), shard_hard_limit: Some(10), ..Default::default() };
        assert!(update_config_validate(p(GOVERNANCE), &bad).unwrap_err().contains("shard_soft_limit"));
        let raise = ConfigOverrides { shard_soft_limit: Some(15), shard_hard_limit: Some(20), ..Default::default() };
        let text = update_config_validate(p(GOVERNANCE), &raise).unwrap();
        assert!(text.contains("shard_hard_limit: 100000 -> 20"), "{text}");
        assert_eq!(state::config_version(), 0);
        update_config(p(GOVERNANCE), &raise).unwrap();
        assert_eq!((state::config_version(), state::config().shard_hard_limit), (1, 20));
        assert_eq!(state::shard(i).unwrap().status, ShardStatus::Active, "below the new hard limit");
        assert_eq!(fleet::config_status().shards_behind, vec![(p(50), 0)]);
        assert!(update_config(p(GOVERNANCE), &raise).unwrap_err().contains("changes nothing"));
        let lower = ConfigOverrides { shard_soft_limit: Some(5), shard_hard_limit: Some(8), ..Default::default() };
        update_config(p(GOVERNANCE), &lower).unwrap();
        assert_eq!(state::shard(i).unwrap().status, ShardStatus::Full);
        assert_eq!(state::config_version(), 2);
    }

    #[test]
    fn economic_fields_are_refused_by_1001_and_changed_by_1009_only() {
        init();
        let g = p(GOVERNANCE);
        let via_1001 = ConfigOverrides { reward_per_quiz_e8s: Some(E8S), daily_attempt_limit: Some(7), ..Default::default() };
        let err = update_config_validate(g, &via_1001).unwrap_err();
        assert!(err.contains("reward_per_quiz_e8s") && err.contains("1009"), "{err}");
        assert!(update_config(g, &via_1001).unwrap_err().contains("1009"), "the target re-checks");
        let budget = ConfigOverrides { daily_emission_budget_e8s: Some(E8S), ..Default::default() };
        assert!(update_config(g, &budget).unwrap_err().contains("daily_emission_budget_e8s"));
        assert_eq!(state::config(), PlatformConfig::default(), "nothing applied");

        let changes = EconomicConfigChanges {
            reward_per_quiz_e8s: Some(50 * E8S),
            daily_emission_budget_e8s: Some(10_000 * E8S),
            ..Default::default()
        };
        for caller in [p(9), Principal::anonymous()] {
            assert!(update_economic_config_validate(caller, &changes).unwrap_err().contains("governance"));
            assert!(update_economic_config(caller, &changes).is_err());
        }
        let text = update_economic_config_validate(g, &changes).unwrap();
        assert!(text.starts_with("CRITICAL") && text.contains("reward_per_quiz_e8s: 10000000000 -> 5000000000"), "{text}");
        let too_much = EconomicConfigChanges { daily_emission_budget_e8s: Some(HARD_CAP_E8S), ..Default::default() };
        assert!(update_economic_config_validate(g, &too_much).unwrap_err().contains("daily_emission_budget_e8s"));
        update_economic_config(g, &changes).unwrap();
        let c = state::config();
        assert_eq!((c.reward_per_quiz_e8s, c.daily_emission_budget()), (50 * E8S, 10_000 * E8S));
        assert_eq!(state::config_version(), 1, "pushed like any configuration change");
        assert!(update_economic_config(g, &changes).unwrap_err().contains("changes nothing"));
        update_config(g, &ConfigOverrides { daily_attempt_limit: Some(7), ..Default::default() }).unwrap();
        assert_eq!(state::config_version(), 2, "1001 still changes the operational fields");
    }

    #[test]
    fn the_platform_pause_is_validated_applied_and_pushed_as_a_new_version() {
        init();
        let g = p(GOVERNANCE);
        let pause = SetPlatformPausedArgs { paused: true, reason: "farm under way".into() };
        let resume = SetPlatformPausedArgs { paused: false, reason: "fixed".into() };
        assert!(set_platform_paused(p(9), &pause).unwrap_err().contains("governance"));
        assert!(set_platform_paused_validate(g, &resume).unwrap_err().contains("already running"));
        assert!(set_platform_paused_validate(g, &SetPlatformPausedArgs { reason: " ".into(), ..pause.clone() }).is_err());
        assert!(set_platform_paused_validate(g, &pause).unwrap().starts_with("PAUSE"));
        set_platform_paused(g, &pause).unwrap();
        assert!(state::totals().is_paused());
        assert_eq!(state::config_version(), 1);
        assert_eq!(fleet::config_status().shards_behind, vec![(p(50), 0)], "every shard is told");
        assert!(set_platform_paused(g, &pause).unwrap_err().contains("already paused"), "re-validated");
        set_platform_paused(g, &resume).unwrap();
        assert!(!state::totals().is_paused());
        assert_eq!(state::config_version(), 2);
    }

    #[test]
    fn withdrawal_resolutions_are_for_governance_and_for_unsettled_journal_entries_only() {
        let i = init();
        let key = MintKey { shard: i, withdrawal_id: 4 };
        let req = platform_types::MintRequest { withdrawal_id: 4, user: p(7), amount_e8s: 10, created_at_ns: 1_000, origin_shard: None };
        let mut record = MintRecord {
            user: req.user,
            amount_e8s: 10,
            created_at_ns: 1_000,
            state: mint::MintState::InFlight,
            attempts_sent: 2,
            attempts_not_minted: 1,
            last_error: "outcome unknown: timed out".into(),
            transfer_arg: None,
            ledger_tip_before_first_attempt: Some(3),
            block_search: None,
        };
        state::put_mint_record(key, record.clone());
        state::update_mint_counters(i, |c| c.in_flight_e8s += 10);
        let args = ResolveWithdrawalArgs { shard_id: p(50), withdrawal_id: 4, minted_at_block: None, reason: "lost archive".into() };
        let after_horizon = 1_000 + platform_types::LEDGER_DEDUP_HORIZON_NS + 1;
        for caller in [p(9), p(50), Principal::anonymous()] {
            assert!(resolve_withdrawal_validate(caller, &args, after_horizon).unwrap_err().contains("governance"));
        }
        let g = p(GOVERNANCE);
        let text = resolve_withdrawal_validate(g, &args, after_horizon).unwrap();
        assert!(text.contains("NOT MINTED") && text.contains("2 attempt(s) sent") && text.contains("timed out"), "{text}");
        assert!(resolve_withdrawal_validate(g, &args, after_horizon - 1).unwrap_err().contains("cannot be declared"));
        let unknown = ResolveWithdrawalArgs { withdrawal_id: 5, ..args.clone() };
        assert!(resolve_withdrawal_validate(g, &unknown, after_horizon).unwrap_err().contains("not in the mint journal"));
        let other_shard = ResolveWithdrawalArgs { shard_id: p(51), ..args.clone() };
        assert!(resolve_withdrawal_validate(g, &other_shard, after_horizon).unwrap_err().contains("not a shard"));

        // Applied: Failed, the reservation released; a second resolution is refused.
        crate::registry::resolve_mint(key, None, after_horizon).unwrap();
        assert!(matches!(state::mint_record(key).unwrap().state, mint::MintState::Failed { .. }));
        assert_eq!((state::mint_totals().in_flight_e8s, state::mint_totals().failed_count), (0, 1));
        assert!(resolve_withdrawal_validate(g, &args, after_horizon).unwrap_err().contains("already settled"));

        // Minted at a block: counted as minted.
        record.created_at_ns = 2_000;
        let key = MintKey { shard: i, withdrawal_id: 6 };
        state::put_mint_record(key, record);
        state::update_mint_counters(i, |c| c.in_flight_e8s += 10);
        crate::registry::resolve_mint(key, Some(12), 0).unwrap();
        assert_eq!(state::mint_record(key).unwrap().state, mint::MintState::Minted { block_index: 12 });
        assert_eq!((state::mint_totals().minted_e8s, state::mint_totals().in_flight_e8s), (10, 0));
    }

    #[test]
    fn rollout_commands_change_the_rollout_state() {
        let i = init();
        let g = p(GOVERNANCE);
        assert!(control_shard_rollout_validate(g, &RolloutCommand::Resume).unwrap_err().contains("not paused"));
        assert_eq!(control_shard_rollout(g, &RolloutCommand::Pause), Ok(RolloutState::Paused));
        assert!(control_shard_rollout_validate(g, &RolloutCommand::Pause).is_err());
        assert_eq!(control_shard_rollout(g, &RolloutCommand::Resume), Ok(RolloutState::Running));
        assert_eq!(control_shard_rollout(g, &RolloutCommand::SetBatchSize { batch_size: 0 }), Ok(RolloutState::Stopped));
        assert!(control_shard_rollout_validate(g, &RolloutCommand::Start { batch_size: 0 }).is_err());
        state::update_shard_sync(i, |y| {
            fleet::note_rollout_failure(y, "t", "e".into());
        });
        assert_eq!(control_shard_rollout(g, &RolloutCommand::Start { batch_size: 3 }), Ok(RolloutState::Running));
        assert_eq!(state::shard_sync(i).rollout_failures, 0, "Start forgets earlier failures");
        assert_eq!(
            state::fleet().rollout_approved_target.as_deref(),
            Some(crate::shard_wasm::embedded_hash()),
            "Start approves the embedded shard Wasm"
        );
        assert_eq!(state::fleet().rollout_batch_size, 3);
        let too_big = RolloutCommand::SetBatchSize { batch_size: platform_types::MAX_ROLLOUT_BATCH + 1 };
        assert!(control_shard_rollout_validate(g, &too_big).is_err());
    }
}
