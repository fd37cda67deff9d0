//! The hub's `/metrics` (Prometheus text, served uncertified by the `http_request` query: see
//! `platform_types::http`) and its log events and error counters.
//!
//! Figures are read from the stable state at scrape time; errors by kind are counted on the
//! heap since the last install or upgrade. Log events go to the canister log
//! (`fetch_canister_logs` / `dfx canister logs`: the hub's controllers, i.e. SNS root).

use crate::{fleet, registry, shard_wasm, state, CANISTER_NAME};
use ic_metrics_encoder::MetricsEncoder;
use platform_types::http::{HttpRequest, HttpResponse};
use platform_types::metrics::{encode_runtime, encoder, BuildLabels, CanisterRuntime, ErrorCounts};
use platform_types::{MintError, RolloutState, ShardStatus};
use std::cell::RefCell;
use std::io;

/// The error kinds the hub counts (each exported from 0, so alert rules find the series).
pub const ERROR_KINDS: &[&str] = &[
    "shard_create_failed",
    "shard_install_failed",
    "shard_topup_failed",
    "content_registration_failed",
    "config_push_failed",
    "answer_keys_push_failed",
    "status_push_failed",
    "log_viewers_push_failed",
    "rollout_upgrade_failed",
    "shard_restore_failed",
    "shard_start_failed",
    "mint_refused",
    "mint_ledger_rejected",
    "mint_try_later",
];

thread_local! {
    static ERRORS: RefCell<ErrorCounts> = RefCell::new(ErrorCounts::default());
}

/// Counts an error of `kind` (one of [`ERROR_KINDS`]) and writes it to the canister log.
pub fn error(kind: &'static str, message: &str) {
    debug_assert!(ERROR_KINDS.contains(&kind), "undeclared error kind {kind}");
    ERRORS.with_borrow_mut(|e| e.count(kind));
    ic_cdk::println!("staking_hub error [{kind}]: {message}");
}

/// A significant event for the canister log (shard created, topped up, disabled, upgraded...).
pub fn event(message: &str) {
    ic_cdk::println!("staking_hub: {message}");
}

/// Counts a mint refused or deferred (`mint_withdrawal`'s answer).
pub fn note_mint_answer(shard: candid::Principal, answer: &Result<u64, MintError>) {
    match answer {
        Ok(_) => {}
        Err(MintError::Refused { reason }) => error("mint_refused", &format!("mint for shard {shard} refused: {reason}")),
        Err(MintError::LedgerRejected { reason }) => {
            error("mint_ledger_rejected", &format!("mint for shard {shard} rejected by the ledger: {reason}"))
        }
        Err(MintError::TryLater { reason }) => error("mint_try_later", &format!("mint for shard {shard} deferred: {reason}")),
    }
}

#[cfg(test)]
pub fn error_count(kind: &str) -> u64 {
    ERRORS.with_borrow(|e| e.get(kind))
}

/// `http_request`: `/metrics` only.
pub fn http_request(req: &HttpRequest) -> HttpResponse {
    platform_types::http::serve_metrics_only(req, || encode(&runtime()))
}

fn runtime() -> CanisterRuntime {
    CanisterRuntime {
        cycles_balance: ic_cdk::api::canister_cycle_balance(),
        heap_memory_bytes: heap_memory_bytes(),
        stable_memory_bytes: ic_cdk::stable::stable_size() * 65_536,
        now_ns: ic_cdk::api::time(),
    }
}

#[cfg(target_arch = "wasm32")]
fn heap_memory_bytes() -> u64 {
    core::arch::wasm32::memory_size(0) as u64 * 65_536
}
#[cfg(not(target_arch = "wasm32"))]
fn heap_memory_bytes() -> u64 {
    0
}

/// The whole exposition, from the state and `runtime`.
pub fn encode(runtime: &CanisterRuntime) -> Vec<u8> {
    let mut w = encoder(runtime.now_ns);
    encode_all(&mut w, runtime).expect("writing to a Vec cannot fail");
    w.into_inner()
}

fn encode_all<W: io::Write>(w: &mut MetricsEncoder<W>, runtime: &CanisterRuntime) -> io::Result<()> {
    let build = BuildLabels { canister: CANISTER_NAME, version: env!("CARGO_PKG_VERSION"), git_commit: env!("BUILD_GIT_COMMIT") };
    encode_runtime(w, runtime, &build)?;
    encode_cycles(w, runtime)?;
    encode_users_and_shards(w)?;
    encode_fleet(w)?;
    encode_tokens(w, runtime.now_ns)?;
    platform_types::metrics::encode_job_firings(w, "hub", &crate::jobs::counts())?;
    ERRORS.with_borrow(|e| e.encode(w, "hub", ERROR_KINDS))
}

/// The hub's cycles figures beyond its balance (which `encode_runtime` writes): the place for
/// the cycles battery (burn rate, days left, top-ups).
fn encode_cycles<W: io::Write>(w: &mut MetricsEncoder<W>, _runtime: &CanisterRuntime) -> io::Result<()> {
    let config = state::config();
    w.encode_gauge(
        "hub_shard_topup_threshold_cycles",
        config.shard_topup_threshold_cycles as f64,
        "Below this balance the hub tops a shard up (config).",
    )?;
    w.encode_gauge("hub_shard_topup_amount_cycles", config.shard_topup_amount_cycles as f64, "Cycles per shard top-up (config).")
}

fn status_label(status: &ShardStatus, installed: bool) -> &'static str {
    match (installed, status) {
        (false, _) => "installing",
        (true, ShardStatus::Active) => "active",
        (true, ShardStatus::Full) => "full",
        (true, ShardStatus::Disabled) => "disabled",
    }
}

fn encode_users_and_shards<W: io::Write>(w: &mut MetricsEncoder<W>) -> io::Result<()> {
    let totals = state::totals();
    w.encode_gauge("hub_users", totals.registered_users as f64, "Registered learners.")?;
    let mut by_status = std::collections::BTreeMap::from([("active", 0u64), ("full", 0), ("disabled", 0), ("installing", 0)]);
    for (_, s) in state::shards() {
        *by_status.entry(status_label(&s.status, s.installed)).or_default() += 1;
    }
    let mut shards = w.gauge_vec("hub_shards", "Shards by status (installing: created, code not installed yet).")?;
    for (status, n) in by_status {
        shards = shards.value(&[("status", status)], n as f64)?;
    }
    w.encode_gauge("hub_platform_paused", totals.is_paused() as u8 as f64, "1 while governance pauses the platform (1010).")
}

fn encode_fleet<W: io::Write>(w: &mut MetricsEncoder<W>) -> io::Result<()> {
    let config = fleet::config_status();
    w.encode_gauge("hub_config_version", config.version as f64, "Version of the configuration in force.")?;
    w.encode_gauge(
        "hub_config_shards_behind",
        config.shards_behind.len() as f64,
        "Installed shards that have not confirmed the configuration in force.",
    )?;
    w.encode_gauge(
        "hub_content_config_version",
        config.content_version as f64,
        "The configuration version learning_content confirmed.",
    )?;
    let rollout = fleet::rollout_status();
    let mut state = w.gauge_vec("hub_rollout_state", "The shard rollout's state: 1 for the state in force.")?;
    for (name, s) in [("running", RolloutState::Running), ("paused", RolloutState::Paused), ("stopped", RolloutState::Stopped)] {
        state = state.value(&[("state", name)], (rollout.state == s) as u8 as f64)?;
    }
    w.encode_gauge("hub_rollout_batch_size", rollout.batch_size as f64, "Shards upgraded per timer tick.")?;
    w.encode_gauge("hub_rollout_shards_total", rollout.shards_total as f64, "Installed shards.")?;
    w.encode_gauge(
        "hub_rollout_shards_on_target",
        rollout.shards_on_target as f64,
        "Installed shards running the embedded shard Wasm.",
    )?;
    w.encode_gauge(
        "hub_rollout_shards_gave_up",
        rollout.pending.iter().filter(|p| p.gave_up).count() as f64,
        "Shards the rollout gave up on (they keep their old code).",
    )?;
    w.encode_gauge(
        "hub_rollout_canary_passed",
        rollout.canary_passed.unwrap_or(false) as u8 as f64,
        "1 once a canary shard answered healthy on the embedded Wasm.",
    )?;
    w.encode_gauge(
        "hub_rollout_target_approved",
        (rollout.approved_target_hash.as_deref() == Some(shard_wasm::embedded_hash())) as u8 as f64,
        "1 when a Start proposal approved the embedded shard Wasm.",
    )
}

fn encode_tokens<W: io::Write>(w: &mut MetricsEncoder<W>, now_ns: u64) -> io::Result<()> {
    let stats = registry::global_stats(now_ns);
    let mints = state::mint_totals();
    w.encode_gauge("hub_allowance_granted_e8s", stats.total_granted_e8s as f64, "Allowance granted to shards in total, in e8s.")?;
    w.encode_gauge(
        "hub_allowance_granted_today_e8s",
        stats.granted_today_e8s.unwrap_or(0) as f64,
        "Allowance granted on the current UTC day, in e8s.",
    )?;
    w.encode_gauge(
        "hub_daily_emission_budget_e8s",
        stats.daily_emission_budget_e8s.unwrap_or(0) as f64,
        "Most the hub grants per UTC day (config), in e8s.",
    )?;
    w.encode_gauge(
        "hub_allowance_used_e8s",
        stats.total_staked_e8s.saturating_add(stats.total_minted_e8s).saturating_add(stats.pending_mint_e8s) as f64,
        "Allowance the shards credited to learners: reported staked plus minted plus pending mints, in e8s.",
    )?;
    w.encode_gauge("hub_staked_reported_e8s", stats.total_staked_e8s as f64, "Staked balances the shards last reported, in e8s.")?;
    w.encode_gauge("hub_minted_e8s", stats.total_minted_e8s as f64, "Minted on the ledger for withdrawals, in e8s.")?;
    w.encode_gauge("hub_mints", mints.minted_count as f64, "Withdrawals minted.")?;
    w.encode_gauge("hub_mints_failed", mints.failed_count as f64, "Withdrawals the ledger refused for certain (re-credited).")?;
    w.encode_gauge(
        "hub_pending_withdrawals_e8s",
        stats.pending_mint_e8s as f64,
        "Withdrawals whose mint is under way or unknown, in e8s.",
    )?;
    w.encode_gauge("hub_cap_remaining_e8s", stats.cap_remaining_e8s as f64, "What the hard cap still allows, in e8s.")?;
    w.encode_gauge("hub_quizzes_passed", stats.quizzes_passed as f64, "Quizzes passed, as the shards reported.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;
    use candid::Principal;
    use platform_types::metrics::{parse_exposition, sample};

    #[test]
    fn the_exposition_parses_and_shows_users_shards_and_errors() {
        let a = registry::record_created(Principal::from_slice(&[1; 10]), 1);
        registry::mark_installed(a, "hash".into(), 0);
        registry::record_created(Principal::from_slice(&[2; 10]), 2);
        let before = error_count("rollout_upgrade_failed");
        ERRORS.with_borrow_mut(|e| e.count("rollout_upgrade_failed"));
        let runtime = CanisterRuntime { cycles_balance: 5_000, heap_memory_bytes: 1, stable_memory_bytes: 2, now_ns: 3 };
        let text = String::from_utf8(encode(&runtime)).unwrap();
        let s = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(sample(&s, "canister_cycles_balance", &[]), Some(5_000.0));
        assert_eq!(sample(&s, "hub_shards", &[("status", "active")]), Some(1.0));
        assert_eq!(sample(&s, "hub_shards", &[("status", "installing")]), Some(1.0));
        assert_eq!(sample(&s, "hub_shards", &[("status", "disabled")]), Some(0.0));
        assert_eq!(sample(&s, "hub_rollout_shards_total", &[]), Some(1.0));
        assert_eq!(sample(&s, "hub_rollout_state", &[("state", "running")]), Some(1.0));
        assert_eq!(sample(&s, "hub_rollout_state", &[("state", "paused")]), Some(0.0));
        assert_eq!(sample(&s, "hub_errors_total", &[("kind", "rollout_upgrade_failed")]), Some((before + 1) as f64));
        for kind in ERROR_KINDS {
            assert!(sample(&s, "hub_errors_total", &[("kind", kind)]).is_some(), "{kind}");
        }
        assert_eq!(sample(&s, "hub_cap_remaining_e8s", &[]), Some(platform_types::HARD_CAP_E8S as f64));
        for job in ["fleet_round", "refill", "compaction", "migration"] {
            assert_eq!(sample(&s, "hub_job_firings_total", &[("job", job), ("outcome", "skipped")]), Some(0.0), "{job}");
        }
    }

    #[test]
    fn mint_answers_are_counted_by_kind() {
        let shard = Principal::from_slice(&[3; 10]);
        let before = (error_count("mint_refused"), error_count("mint_try_later"));
        note_mint_answer(shard, &Ok(1));
        note_mint_answer(shard, &Err(MintError::Refused { reason: "x".into() }));
        note_mint_answer(shard, &Err(MintError::TryLater { reason: "y".into() }));
        note_mint_answer(shard, &Err(MintError::TryLater { reason: "z".into() }));
        assert_eq!((error_count("mint_refused"), error_count("mint_try_later")), (before.0 + 1, before.1 + 2));
    }
}
