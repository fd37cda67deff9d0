//! The shard's `/metrics` (Prometheus text, served uncertified by the `http_request` query: see
//! `platform_types::http`) and its error counters.
//!
//! Figures come from the shard's stable counters at scrape time; errors by kind are counted on
//! the heap since the last install or upgrade. The canister log is readable by the hub (its
//! controller) and the operators the configuration names (log visibility set by the hub).

use crate::{state, CANISTER_NAME};
use ic_metrics_encoder::MetricsEncoder;
use platform_types::http::{HttpRequest, HttpResponse};
use platform_types::metrics::{encode_runtime, encoder, BuildLabels, CanisterRuntime, ErrorCounts};
use platform_types::ShardStats;
use std::cell::RefCell;
use std::io;

/// The error kinds the shard counts (each exported from 0).
pub const ERROR_KINDS: &[&str] = &["withdrawal_mint_unsettled", "withdrawal_mint_refused", "hub_report_failed", "allowance_refill_failed"];

thread_local! {
    static ERRORS: RefCell<ErrorCounts> = RefCell::new(ErrorCounts::default());
}

/// Counts an error of `kind` (one of [`ERROR_KINDS`]) and writes it to the canister log.
pub fn error(kind: &'static str, message: &str) {
    debug_assert!(ERROR_KINDS.contains(&kind), "undeclared error kind {kind}");
    ERRORS.with_borrow_mut(|e| e.count(kind));
    ic_cdk::println!("user_profile error [{kind}]: {message}");
}

/// `http_request`: `/metrics` only.
pub fn http_request(req: &HttpRequest) -> HttpResponse {
    platform_types::http::serve_metrics_only(req, || {
        let runtime = CanisterRuntime {
            cycles_balance: ic_cdk::api::canister_cycle_balance(),
            heap_memory_bytes: heap_memory_bytes(),
            stable_memory_bytes: ic_cdk::stable::stable_size() * 65_536,
            now_ns: ic_cdk::api::time(),
        };
        let (stats, config_version, keys) = state::with(|s| (s.stats(), s.config_version(), s.answer_keys_status()));
        encode(&runtime, &stats, config_version, keys)
    })
}

#[cfg(target_arch = "wasm32")]
fn heap_memory_bytes() -> u64 {
    core::arch::wasm32::memory_size(0) as u64 * 65_536
}
#[cfg(not(target_arch = "wasm32"))]
fn heap_memory_bytes() -> u64 {
    0
}

/// `answer_keys`: the version of the local answer keys and how many units they cover.
pub fn encode(runtime: &CanisterRuntime, stats: &ShardStats, config_version: u64, answer_keys: (u64, u64)) -> Vec<u8> {
    let mut w = encoder(runtime.now_ns);
    encode_all(&mut w, runtime, stats, config_version, answer_keys).expect("writing to a Vec cannot fail");
    w.into_inner()
}

fn encode_all<W: io::Write>(
    w: &mut MetricsEncoder<W>,
    runtime: &CanisterRuntime,
    stats: &ShardStats,
    config_version: u64,
    (keys_version, key_units): (u64, u64),
) -> io::Result<()> {
    let build = BuildLabels { canister: CANISTER_NAME, version: env!("CARGO_PKG_VERSION"), git_commit: env!("BUILD_GIT_COMMIT") };
    encode_runtime(w, runtime, &build)?;
    let flag = |b: bool| b as u8 as f64;
    w.encode_gauge("shard_users", stats.users as f64, "Learners on this shard.")?;
    w.encode_gauge("shard_disabled", flag(stats.disabled), "1 while governance disables the shard (1000).")?;
    w.encode_gauge("shard_platform_paused", flag(stats.platform_paused.unwrap_or(false)), "1 while the platform is paused (1010).")?;
    w.encode_gauge("shard_config_version", config_version as f64, "Version of the configuration the shard applies.")?;
    w.encode_gauge(
        "shard_answer_keys_version",
        keys_version as f64,
        "Version of the answer keys the shard verifies quizzes with (0: none yet, learning_content verifies).",
    )?;
    w.encode_gauge("shard_answer_key_units", key_units as f64, "Units the local answer keys cover.")?;
    w.encode_gauge("shard_staked_e8s", stats.total_staked_e8s as f64, "Learners' staked balances, in e8s.")?;
    w.encode_gauge("shard_allowance_received_e8s", stats.allowance_received_e8s as f64, "Allowance the hub granted this shard, in e8s.")?;
    w.encode_gauge(
        "shard_allowance_remaining_e8s",
        stats.allowance_remaining_e8s as f64,
        "Allowance not yet credited to learners, in e8s.",
    )?;
    w.encode_gauge(
        "shard_allowance_used_e8s",
        stats.allowance_received_e8s.saturating_sub(stats.allowance_remaining_e8s) as f64,
        "Allowance credited to learners (received less remaining), in e8s.",
    )?;
    w.encode_gauge("shard_rewards_owed_e8s", stats.rewards_owed_e8s.unwrap_or(0) as f64, "Rewards waiting for allowance, in e8s.")?;
    w.encode_gauge("shard_pending_withdrawals", stats.pending_withdrawals as f64, "Withdrawals whose mint is not confirmed yet.")?;
    w.encode_gauge(
        "shard_pending_withdrawals_e8s",
        stats.pending_withdrawals_e8s as f64,
        "Withdrawals whose mint is not confirmed yet, in e8s.",
    )?;
    w.encode_gauge("shard_withdrawn_e8s", stats.withdrawn_e8s as f64, "Withdrawals minted and settled, in e8s.")?;
    w.encode_gauge("shard_quizzes_submitted", stats.quizzes_submitted as f64, "Quiz attempts verified.")?;
    w.encode_gauge("shard_quizzes_passed", stats.quizzes_passed as f64, "Quizzes passed.")?;
    w.encode_counter(
        "shard_withdrawal_rounds_total",
        crate::jobs::withdrawal_rounds_run() as f64,
        "Withdrawal rounds run (each sends the due withdrawals to the hub in batches) since the last install or upgrade.",
    )?;
    platform_types::metrics::encode_job_firings(w, "shard", &crate::jobs::counts())?;
    ERRORS.with_borrow(|e| e.encode(w, "shard", ERROR_KINDS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::metrics::{parse_exposition, sample};

    #[test]
    fn the_exposition_parses_and_shows_the_shards_books() {
        let stats = ShardStats {
            users: 3,
            total_staked_e8s: 70,
            allowance_remaining_e8s: 30,
            allowance_received_e8s: 100,
            quizzes_submitted: 9,
            quizzes_passed: 7,
            disabled: true,
            pending_withdrawals_e8s: 5,
            pending_withdrawals: 1,
            withdrawn_e8s: 0,
            rewards_owed_e8s: None,
            platform_paused: None,
        };
        error("hub_report_failed", "test");
        let runtime = CanisterRuntime { cycles_balance: 1, heap_memory_bytes: 2, stable_memory_bytes: 3, now_ns: 4 };
        let text = String::from_utf8(encode(&runtime, &stats, 6, (3, 20))).unwrap();
        let s = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(sample(&s, "shard_users", &[]), Some(3.0));
        assert_eq!(sample(&s, "shard_disabled", &[]), Some(1.0));
        assert_eq!(sample(&s, "shard_config_version", &[]), Some(6.0));
        assert_eq!(sample(&s, "shard_answer_keys_version", &[]), Some(3.0));
        assert_eq!(sample(&s, "shard_answer_key_units", &[]), Some(20.0));
        assert_eq!(sample(&s, "shard_allowance_used_e8s", &[]), Some(70.0));
        assert_eq!(sample(&s, "shard_pending_withdrawals_e8s", &[]), Some(5.0));
        assert_eq!(sample(&s, "shard_errors_total", &[("kind", "hub_report_failed")]), Some(1.0));
        assert_eq!(sample(&s, "shard_errors_total", &[("kind", "withdrawal_mint_refused")]), Some(0.0));
        assert_eq!(sample(&s, "canister_stable_memory_bytes", &[]), Some(3.0));
        assert_eq!(sample(&s, "shard_withdrawal_rounds_total", &[]), Some(0.0));
        for job in ["sync", "withdrawal_backstop", "cleanup"] {
            assert_eq!(sample(&s, "shard_job_firings_total", &[("job", job), ("outcome", "started")]), Some(0.0), "{job}");
        }
    }
}
