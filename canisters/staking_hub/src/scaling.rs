//! Shard provisioning (create + install, or an install retry), learning_content notifications
//! and cycles top-ups: the async work of the timer, `ensure_capacity` and inline creation in
//! `register`. Decisions come from `model`; state changes go through `registry`.

use crate::guards::ProvisionGuard;
use crate::model::ScalingNeed;
use crate::{calls, registry, shard_wasm, state};
use candid::Principal;
use ic_management_canister_types::CanisterInstallMode;
use platform_types::{RegisterError, ShardInitArgs};

/// Cycles the hub keeps for its own messages: creating a shard or topping one up never takes
/// the hub's liquid balance below this.
pub const HUB_CYCLES_RESERVE: u128 = 100_000_000_000;

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
            let id = match calls::create_canister(attached).await {
                Ok(id) => id,
                Err(e) => {
                    let msg = format!("no shard created: {e}");
                    registry::set_scaling_status(msg.clone());
                    return Err(msg);
                }
            };
            // Recorded at once, so the canister is never lost even if the install fails.
            let index = registry::record_created(id, ic_cdk::api::time());
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
        registry::set_scaling_status(msg.clone());
        return Err(msg);
    }
    registry::mark_installed(index, shard_wasm::embedded_hash().to_string(), config_version);
    registry::set_scaling_status(format!("ok: shard {id} (#{index}) installed and active"));
    Ok(id)
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
            ic_cdk::println!("staking_hub: register_shard({shard}) at learning_content failed, will retry: {e}");
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

/// Timer: `canister_status` of every shard, and `deposit_cycles` to those below the threshold,
/// within each shard's daily top-up budget and never below the hub's reserve.
pub async fn top_up_shards() {
    let config = state::config();
    let mut topped_up = 0u32;
    let mut problems: Vec<String> = Vec::new();
    for (index, shard) in state::shards() {
        let balance = match calls::cycles_balance(shard.id).await {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("{}: {e}", shard.id));
                continue;
            }
        };
        if balance >= config.shard_topup_threshold_cycles {
            continue;
        }
        let amount = config.shard_topup_amount_cycles;
        let day = ic_cdk::api::time() / platform_types::NANOS_PER_DAY;
        // Re-read: the record may have changed during the status call.
        let budget_check = state::shard(index)
            .ok_or_else(|| "vanished".to_string())
            .and_then(|s| s.check_topup(day, amount, config.shard_topup_daily_budget()));
        if let Err(e) = budget_check {
            problems.push(format!("{}: balance {balance} below the threshold, but {e}", shard.id));
            continue;
        }
        let needed = amount.saturating_add(calls::call_cost("deposit_cycles", 64)).saturating_add(HUB_CYCLES_RESERVE);
        let liquid = ic_cdk::api::canister_liquid_cycle_balance();
        if liquid < needed {
            problems.push(format!(
                "{}: balance {balance} below the threshold, but the hub has only {liquid} liquid cycles \
                 (a top-up needs {needed})",
                shard.id
            ));
            continue;
        }
        // Counted before the call: a deposit whose outcome is lost still counts against the budget.
        if let Err(e) = state::update_shard(index, |s| s.note_topup(day, amount)).unwrap_or(Ok(())) {
            problems.push(format!("{}: {e}", shard.id));
            continue;
        }
        match calls::deposit_cycles(shard.id, amount).await {
            Ok(()) => topped_up += 1,
            Err(e) => problems.push(format!("{}: {e}", shard.id)),
        }
    }
    let status = if problems.is_empty() {
        format!("ok: {topped_up} shard(s) topped up at {} ns", ic_cdk::api::time())
    } else {
        format!("{topped_up} shard(s) topped up; problems: {}", problems.join("; "))
    };
    registry::set_topup_status(status);
}
