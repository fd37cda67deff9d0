//! Shard provisioning (create + install, or an install retry), learning_content notifications
//! and the cycles battery (rounds, a shard's ask, the report; its rules are in `battery`): the
//! async work of the timer, `ensure_capacity` and inline creation in `register`. Decisions come
//! from `model` and `battery`; state changes go through `registry` and `state`.

use crate::battery::{self, Low};
use crate::guards::ProvisionGuard;
use crate::model::{ScalingNeed, ShardIndex, ShardRecord};
use crate::{calls, registry, shard_wasm, state};
use candid::{Nat, Principal};
use ic_management_canister_types::CanisterInstallMode;
use platform_types::{
    BatteryLevel, CyclesReport, PlatformConfig, RegisterError, ShardInitArgs, TopUpRequestError, NANOS_PER_DAY,
};

/// Cycles the hub keeps for its own messages: creating a shard or topping one up never takes
/// the hub's liquid balance below this.
pub const HUB_CYCLES_RESERVE: u128 = platform_types::HUB_CYCLES_RESERVE;

/// `ensure_capacity`: provisions a shard when the scaling decision says so. `Ok(None)`: nothing
/// to do, or another provisioning is already under way (it serves the same need).
pub async fn ensure_capacity() -> Result<Option<Principal>, String> {
    if state::totals().is_paused() {
        return Err("the platform is paused (function 1010): no shard is created".into());
    }
    let Some(guard) = ProvisionGuard::acquire() else {
        return Ok(None);
    };
    // Decided after acquiring the guard: a provisioning that just finished is taken into account.
    match registry::scaling_need(state::config().shard_soft_limit, ic_cdk::api::time()) {
        ScalingNeed::None => return Ok(None),
        // The cheap answer: no call, nothing sent, however often anyone asks.
        ScalingNeed::InstallBackoff { index, until_ns } => return Err(backoff_message(index, until_ns)),
        ScalingNeed::RetryInstall(_) | ScalingNeed::NewShard => {}
    }
    let shard = provision(&guard).await?;
    drop(guard);
    notify_content(shard).await;
    Ok(Some(shard))
}

fn backoff_message(index: u32, until_ns: u64) -> String {
    let id = state::shard(index).map(|s| s.id.to_text()).unwrap_or_default();
    format!(
        "shard {id} (#{index}) exists but its install failed; the next attempt is not before {until_ns} ns \
         (backoff), nothing was sent"
    )
}

/// `register` found no shard below the hard limit: provision one inline.
pub async fn provision_for_registration(hard_limit: u64) -> Result<(), RegisterError> {
    let Some(guard) = ProvisionGuard::acquire() else {
        return Err(RegisterError::NoCapacity {
            detail: "every shard is full and a new shard is being created; retry in a few seconds".into(),
        });
    };
    if registry::route(hard_limit).is_some() {
        return Ok(());
    }
    // The only spare capacity is on Disabled shards: governance took it out on purpose.
    if registry::scaling_need(state::config().shard_soft_limit, ic_cdk::api::time()) == ScalingNeed::None {
        return Err(RegisterError::NoCapacity {
            detail: "no enabled shard has room and disabled shards are not replaced automatically; \
                     registration reopens when governance enables a shard (function 1000)"
                .into(),
        });
    }
    let shard = provision(&guard).await.map_err(|detail| RegisterError::NoCapacity { detail })?;
    drop(guard);
    notify_content(shard).await;
    Ok(())
}

/// Makes one more shard available: installs a canister whose install failed earlier, or else
/// creates a canister (the hub as its only controller, the initial cycles attached) and installs
/// the embedded shard Wasm. Needs the provisioning guard; the caller then tells
/// learning_content ([`notify_content`]) after releasing it.
async fn provision(_guard: &ProvisionGuard) -> Result<Principal, String> {
    let config = state::config();
    let init = state::init_args().ok_or("the hub is not initialized")?;
    let wasm = shard_wasm::USER_PROFILE_WASM_GZ;
    let config_version = state::config_version();
    let shard_args = ShardInitArgs {
        hub_id: ic_cdk::api::canister_self(),
        learning_content_id: init.learning_content_id,
        config: config.clone(),
        config_version: Some(config_version),
        // The shard's get_version reports it (a canister cannot read its own module hash).
        module_hash: Some(shard_wasm::embedded_hash().to_string()),
    };
    let install_arg = candid::encode_one(&shard_args).map_err(|e| format!("encoding ShardInitArgs: {e}"))?;

    let (index, id, mode) = match registry::scaling_need(config.shard_soft_limit, ic_cdk::api::time()) {
        ScalingNeed::InstallBackoff { index, until_ns } => return Err(backoff_message(index, until_ns)),
        ScalingNeed::RetryInstall(index) => {
            let id = state::shard(index).ok_or("the shard to install vanished")?.id;
            // Sending the Wasm costs the hub per byte: not below its reserve.
            let needed = calls::call_cost("install_code", wasm.len() + install_arg.len() + 128)
                .saturating_add(HUB_CYCLES_RESERVE);
            let liquid = ic_cdk::api::canister_liquid_cycle_balance();
            if liquid < needed {
                let msg = format!(
                    "shard {id} not installed: not enough cycles. Sending its code needs {needed} cycles (call \
                     fees and the hub's reserve of {HUB_CYCLES_RESERVE}); the hub's liquid balance is {liquid}."
                );
                registry::set_scaling_status(msg.clone());
                return Err(msg);
            }
            // Reinstall also works on an empty canister, and this one takes no users until the
            // install succeeds, so nothing can be lost.
            (index, id, CanisterInstallMode::Reinstall)
        }
        ScalingNeed::NewShard | ScalingNeed::None => {
            // First step of degradation: a low hub creates no shard (its cycles go to top-ups).
            let level = current_level(&config);
            if level != BatteryLevel::Normal {
                let msg = format!(
                    "no shard created: not enough cycles. The hub's liquid balance ({} cycles) is below \
                     hub_cycles_for_new_shards ({}): its cycles are kept for top-ups (battery level {level:?}). \
                     Send cycles or ICP to the hub.",
                    ic_cdk::api::canister_liquid_cycle_balance(),
                    config.hub_cycles_for_new_shards()
                );
                registry::set_scaling_status(msg.clone());
                return Err(msg);
            }
            let fee = ic_cdk::api::cost_create_canister();
            let attached = fee.saturating_add(config.shard_initial_cycles);
            let needed = attached
                .saturating_add(calls::call_cost("create_canister", 128))
                .saturating_add(calls::call_cost("install_code", wasm.len() + install_arg.len() + 128))
                .saturating_add(HUB_CYCLES_RESERVE);
            let liquid = ic_cdk::api::canister_liquid_cycle_balance();
            if liquid < needed {
                let msg = format!(
                    "no shard created: not enough cycles. Creating a shard needs {needed} cycles (creation fee \
                     {fee}, initial shard cycles {}, call fees and the hub's reserve of {HUB_CYCLES_RESERVE}); \
                     the hub's liquid balance is {liquid}. Send cycles to the hub.",
                    config.shard_initial_cycles
                );
                registry::set_scaling_status(msg.clone());
                return Err(msg);
            }
            registry::set_scaling_status(format!("creating a shard (since {} ns)", ic_cdk::api::time()));
            let log_viewers = crate::fleet::shard_log_viewers(&config);
            let shards = state::shards();
            let subnet = shard_placement(config.shard_subnets(), shards.iter().map(|(_, s)| s));
            let created = match subnet {
                None => calls::create_canister(attached, log_viewers.clone()).await,
                Some(subnet) => {
                    let cmc = crate::refill::ids(init.icp_refill.as_ref()).cmc_id;
                    calls::create_canister_on_subnet(cmc, subnet, attached).await
                }
            };
            let id = match created {
                Ok(id) => id,
                Err(e) => {
                    let msg = format!("no shard created: {e}");
                    crate::metrics::error("shard_create_failed", &msg);
                    registry::set_scaling_status(msg.clone());
                    return Err(msg);
                }
            };
            // Recorded at once, so the canister is never lost even if the install fails.
            let index = registry::record_created(id, ic_cdk::api::time());
            state::update_shard(index, |s| s.subnet = subnet);
            match subnet {
                None => state::update_shard_sync(index, |y| y.log_viewers = Some(log_viewers)),
                // The CMC cannot set allowed viewers at creation; until this succeeds (or the
                // fleet's push retries it) only the hub reads the log.
                Some(_) => match calls::set_log_viewers(id, log_viewers.clone()).await {
                    Ok(()) => state::update_shard_sync(index, |y| y.log_viewers = Some(log_viewers)),
                    Err(e) => crate::metrics::error("log_viewers_push_failed", &format!("update_settings on {id}: {e}")),
                },
            }
            let place = subnet.map(|s| format!(" on subnet {s}")).unwrap_or_default();
            crate::metrics::event(&format!("shard {id} (#{index}) created{place} with {attached} cycles"));
            (index, id, CanisterInstallMode::Install)
        }
    };

    if let Err(e) = calls::install_code(id, mode, wasm, install_arg).await {
        let attempts = registry::note_install_failure(index, ic_cdk::api::time());
        let msg = format!(
            "shard {id} exists but installing its code failed ({attempts} attempt(s)): {e}. The canister is \
             kept and the install is retried by the next provisioning (timer or ensure_capacity) after a \
             backoff of {} s.",
            crate::model::install_backoff_ns(attempts) / 1_000_000_000
        );
        crate::metrics::error("shard_install_failed", &msg);
        registry::set_scaling_status(msg.clone());
        return Err(msg);
    }
    crate::metrics::event(&format!("shard {id} (#{index}) installed (module {})", shard_wasm::embedded_hash()));
    registry::mark_installed(index, shard_wasm::embedded_hash().to_string(), config_version);
    // The answer keys, so the new shard verifies quizzes locally from its first learners.
    ic_cdk_timers::set_timer(std::time::Duration::ZERO, crate::fleet::push_pending());
    registry::set_scaling_status(format!("ok: shard {id} (#{index}) installed and active"));
    Ok(id)
}

/// Where the next shard goes: the subnet among `named` (configuration `shard_subnets`) whose
/// shards hold the fewest learners, the first named on a tie (a subnet without shards first);
/// `None` when none is named: the hub's own subnet. Shards retired by a migration hold nobody.
pub fn shard_placement<'a>(named: &[Principal], shards: impl IntoIterator<Item = &'a ShardRecord>) -> Option<Principal> {
    let mut learners: Vec<(Principal, u64)> = named.iter().map(|s| (*s, 0)).collect();
    for shard in shards {
        if shard.migrated_to.is_some() {
            continue;
        }
        let Some(subnet) = shard.subnet else { continue };
        if let Some((_, n)) = learners.iter_mut().find(|(s, _)| *s == subnet) {
            *n = n.saturating_add(shard.user_count);
        }
    }
    learners.into_iter().min_by_key(|(_, n)| *n).map(|(s, _)| s)
}

/// Tells learning_content about a new shard (it is in the pending list since its install).
async fn notify_content(shard: Principal) {
    if let Some(init) = state::init_args() {
        register_with_content(init.learning_content_id, shard).await;
    }
}

/// learning_content's `register_shard`; on failure the shard stays in the pending list, which
/// the timer retries.
async fn register_with_content(learning_content: Principal, shard: Principal) -> bool {
    match calls::register_shard(learning_content, shard).await {
        Ok(()) => {
            state::remove_pending_content(shard);
            true
        }
        Err(e) => {
            crate::metrics::error(
                "content_registration_failed",
                &format!("register_shard({shard}) at learning_content failed, will retry: {e}"),
            );
            false
        }
    }
}

/// Timer: retries every pending `register_shard`.
pub async fn retry_content_registrations() {
    let Some(init) = state::init_args() else { return };
    for shard in state::pending_content() {
        register_with_content(init.learning_content_id, shard).await;
    }
}

/// The hub's level now: by the higher of its live liquid balance (above its freezing threshold)
/// and its previous round's reading (a dip of its own does not degrade it; every spend is
/// checked against the live balance).
pub fn current_level(config: &PlatformConfig) -> BatteryLevel {
    let live = ic_cdk::api::canister_liquid_cycle_balance();
    let previous = state::battery().previous_hub_balance.unwrap_or(live);
    battery::level(live.max(previous), config)
}

/// Whose top-up budget a deposit counts against.
#[derive(Clone, Copy)]
enum Target {
    Shard(ShardIndex),
    Content,
}

/// Timer: the battery round (at most once per half timer interval, so the catch-up firings
/// after a pause do not each act). Reads the hub's own balance (its level), every shard's
/// (`canister_status`, as controller) and learning_content's (its `get_cycles_balance`: SNS
/// root, not the hub, controls it), and tops up each one whose last two readings were low
/// (below the threshold, or fewer estimated days left than `topup_min_days_left`), within
/// its daily budget and never below the hub's reserve.
pub async fn battery_round() {
    let config = state::config();
    let now = ic_cdk::api::time();
    let gap = battery::min_gap_ns(&config);
    if !state::update_battery(|b| b.start_round(now, gap)) {
        return;
    }
    let hub = ic_cdk::api::canister_self();
    let hub_balance = ic_cdk::api::canister_cycle_balance();
    // The hub's record is for its burn rate and days left; its level is decided below.
    state::update_watched(hub, |w| w.observe(now, hub_balance, 0, 0, gap));
    // The level is by what the hub can spend: its balance above its freezing threshold.
    let hub_liquid = ic_cdk::api::canister_liquid_cycle_balance();
    let level = state::update_battery(|b| b.observe_hub(hub_liquid, &config));
    let mut topped_up = 0u32;
    let mut problems: Vec<String> = Vec::new();
    for (index, shard) in state::shards() {
        // A shard retired by a migration is kept stopped and gets nothing more.
        if shard.installed && !shard.is_live() {
            continue;
        }
        let outcome = match calls::canister_reading(shard.id).await {
            Ok(reading) => {
                if reading.stopped {
                    start_if_left_stopped(shard.id).await;
                }
                charge(Target::Shard(index), shard.id, reading.cycles, gap).await
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(Some(_)) => topped_up += 1,
            Ok(None) => {}
            Err(e) => problems.push(format!("{}: {e}", shard.id)),
        }
    }
    if let Some(init) = state::init_args() {
        let content = init.learning_content_id;
        let outcome = match calls::content_cycles_balance(content).await {
            Ok(balance) => charge(Target::Content, content, balance, gap).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(Some(_)) => topped_up += 1,
            Ok(None) => {}
            Err(e) => problems.push(format!("learning_content {content}: {e}")),
        }
    }
    let status = if problems.is_empty() {
        format!("ok: {topped_up} canister(s) topped up at {now} ns (hub level {level:?})")
    } else {
        format!("{topped_up} canister(s) topped up (hub level {level:?}); problems: {}", problems.join("; "))
    };
    if topped_up > 0 || !problems.is_empty() {
        ic_cdk::println!("staking_hub battery: {status}");
    }
    state::update_battery(|b| b.last_round_status = status.clone());
    registry::set_topup_status(status);
}

/// A live shard found stopped while no upgrade or restore of this hub is under way on it: one
/// whose continuation was lost between its stop and its start (the hub upgraded without being
/// stopped first, or a callback that trapped). Nobody else can start it (the hub is its only
/// controller), so the battery round does (issue 15, found by tests/tests/fault_scenarios.rs).
/// A shard a migration stopped is retired first, so never live here.
async fn start_if_left_stopped(id: Principal) {
    if !state::shards().iter().any(|(_, s)| s.id == id && s.is_live()) {
        return;
    }
    let Some(_operation) = crate::fleet::ShardOperation::acquire(id) else { return };
    match calls::start_canister(id).await {
        Ok(()) => crate::metrics::event(&format!("shard {id} was left stopped (no upgrade or restore under way); started it")),
        Err(e) => crate::metrics::error("shard_start_failed", &format!("shard {id} was left stopped; starting it failed, will retry: {e}")),
    }
}

/// Records a reading of `id` and tops it up if it is confirmed low. `Ok(Some(amount))`: topped
/// up; `Ok(None)`: nothing needed yet; `Err`: low but refused (also kept as the record's note).
async fn charge(target: Target, id: Principal, balance: u128, gap: u64) -> Result<Option<u128>, String> {
    let config = state::config();
    let (threshold, min_days) = (config.shard_topup_threshold_cycles, config.topup_min_days_left());
    let reading = state::update_watched(id, |w| w.observe(ic_cdk::api::time(), balance, threshold, min_days, gap));
    let Some(low) = reading.low else { return Ok(None) };
    if !reading.confirmed {
        return Ok(None);
    }
    top_up(target, id, &config, low).await.map(Some).map_err(|e| format!("balance {balance} is low ({low:?}), but {e}"))
}

/// One deposit: the amount the hub's level allows, within the daily budget (counted before
/// the call: a deposit whose outcome is lost still counts), never below the hub's reserve.
async fn top_up(target: Target, id: Principal, config: &PlatformConfig, low: Low) -> Result<u128, String> {
    let result = top_up_inner(target, id, config).await;
    let note = result.as_ref().err().map(|e| format!("{low:?}: {e}"));
    state::update_watched(id, |w| {
        if note.is_some() {
            w.note = note;
        }
    });
    result
}

async fn top_up_inner(target: Target, id: Principal, config: &PlatformConfig) -> Result<u128, String> {
    let day = ic_cdk::api::time() / NANOS_PER_DAY;
    let call_cost = calls::call_cost("deposit_cycles", 64);
    let liquid = ic_cdk::api::canister_liquid_cycle_balance();
    let amount = battery::topup_amount(current_level(config), config.shard_topup_amount_cycles, liquid, call_cost)?;
    let budget = config.shard_topup_daily_budget();
    match target {
        Target::Shard(index) => {
            let shard = state::shard(index).ok_or("the shard vanished")?;
            shard.check_topup(day, amount, budget)?;
            state::update_shard(index, |s| s.note_topup(day, amount)).unwrap_or(Ok(()))?;
        }
        Target::Content => {
            state::watched(id).check_budget(day, amount, budget)?;
            state::update_watched(id, |w| w.note_budget(day, amount));
        }
    }
    calls::deposit_cycles(id, amount).await?;
    state::update_watched(id, |w| w.note_deposit(ic_cdk::api::time(), amount));
    ic_cdk::println!("staking_hub battery: topped up {id} with {amount} cycles");
    Ok(amount)
}

/// `request_top_up`: a shard that ran low between rounds asks. Only live shards (installed,
/// not retired by a migration), at most
/// once per hour each (every ask counts), within the same daily budget. Its report is the first
/// low reading; the hub's own `canister_status` reading, which must be low too, is the second.
pub async fn request_top_up(caller: Principal, reported_balance: u128) -> Result<Nat, TopUpRequestError> {
    let Some((index, _)) = state::shard_by_id(caller).filter(|(_, s)| s.is_live()) else {
        return Err(TopUpRequestError::NotAShard);
    };
    let now = ic_cdk::api::time();
    state::update_watched(caller, |w| w.request_allowed(now).map(|()| w.last_request_ns = Some(now)))
        .map_err(|retry_after_ns| TopUpRequestError::TooSoon { retry_after_ns })?;
    let config = state::config();
    let (threshold, min_days) = (config.shard_topup_threshold_cycles, config.topup_min_days_left());
    if state::watched(caller).low(reported_balance, threshold, min_days).is_none() {
        return Err(TopUpRequestError::NotLow { balance: Nat::from(reported_balance) });
    }
    let balance = calls::cycles_balance(caller).await.map_err(|detail| TopUpRequestError::Unavailable { detail })?;
    // Re-read after the await: the configuration or the record may have changed.
    let config = state::config();
    let (threshold, min_days) = (config.shard_topup_threshold_cycles, config.topup_min_days_left());
    let reading = state::update_watched(caller, |w| w.observe(ic_cdk::api::time(), balance, threshold, min_days, 0));
    let Some(low) = reading.low else {
        return Err(TopUpRequestError::NotLow { balance: Nat::from(balance) });
    };
    top_up(Target::Shard(index), caller, &config, low)
        .await
        .map(Nat::from)
        .map_err(|detail| TopUpRequestError::Unavailable { detail })
}

/// `get_cycles_report`, and the figures for `/metrics`: the hub's balance, burn rate and days
/// left, its level and thresholds, and every shard's and learning_content's figures.
pub fn cycles_report() -> CyclesReport {
    let config = state::config();
    let hub = ic_cdk::api::canister_self();
    let battery = state::battery();
    CyclesReport {
        hub: state::watched(hub).view(hub, "staking_hub"),
        level: battery.level.unwrap_or_else(|| current_level(&config)),
        hub_liquid_now: Nat::from(ic_cdk::api::canister_liquid_cycle_balance()),
        hub_reserve: Nat::from(HUB_CYCLES_RESERVE),
        hub_cycles_for_new_shards: Nat::from(config.hub_cycles_for_new_shards()),
        hub_cycles_for_full_topups: Nat::from(config.hub_cycles_for_full_topups()),
        topup_threshold: Nat::from(config.shard_topup_threshold_cycles),
        topup_min_days_left: config.topup_min_days_left(),
        learning_content: state::init_args()
            .map(|i| state::watched(i.learning_content_id).view(i.learning_content_id, "learning_content")),
        shards: state::shards().into_iter().map(|(_, s)| state::watched(s.id).view(s.id, "user_profile")).collect(),
        last_round_at_ns: battery.last_round_ns,
        last_round_status: battery.last_round_status,
    }
}

/// A migration's target (function 1012, `migration`): a new, empty shard, whatever the scaling
/// decision says (or the canister whose install failed earlier, which is empty too).
pub async fn provision_for_migration() -> Result<Principal, String> {
    let Some(guard) = ProvisionGuard::acquire() else {
        return Err("another shard is being created; the migration asks again at its next step".into());
    };
    let shard = provision(&guard).await?;
    drop(guard);
    notify_content(shard).await;
    Ok(shard)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    fn shard(on: Option<Principal>, users: u64) -> ShardRecord {
        let mut s = ShardRecord::created(Principal::from_slice(&[users as u8; 10]), 0);
        s.installed = true;
        s.user_count = users;
        s.subnet = on;
        s
    }

    #[test]
    fn no_named_subnet_keeps_shards_on_the_hubs_own_subnet() {
        assert_eq!(shard_placement(&[], [&shard(None, 5)]), None);
    }

    #[test]
    fn a_named_subnet_without_shards_comes_first_then_the_one_with_fewest_learners() {
        let (a, b, c) = (subnet(1), subnet(2), subnet(3));
        let named = [a, b, c];
        assert_eq!(shard_placement(&named, []), Some(a), "a tie goes to the first named");
        let on_a = shard(Some(a), 90);
        assert_eq!(shard_placement(&named, [&on_a]), Some(b));
        let on_b = shard(Some(b), 90);
        assert_eq!(shard_placement(&named, [&on_a, &on_b]), Some(c));
        let on_c = shard(Some(c), 95);
        let second_on_a = shard(Some(a), 10);
        // a: 100, b: 90, c: 95.
        assert_eq!(shard_placement(&named, [&on_a, &on_b, &on_c, &second_on_a]), Some(b));
    }

    #[test]
    fn retired_shards_and_shards_elsewhere_do_not_count() {
        let (a, b) = (subnet(1), subnet(2));
        let mut retired = shard(Some(a), 500);
        retired.migrated_to = Some(7);
        let unnamed = shard(Some(subnet(9)), 1);
        let own = shard(None, 1);
        let on_b = shard(Some(b), 3);
        assert_eq!(shard_placement(&[a, b], [&retired, &unnamed, &own, &on_b]), Some(a));
    }
}
