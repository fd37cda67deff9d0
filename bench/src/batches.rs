//! The withdrawal batch (issue 14 §2's cost target): what a withdrawal costs when `unstake`
//! only queues it and the shard's withdrawal round sends it to the hub with the others.
//!
//! A round is sent either by the first `unstake` after the oldest waiting withdrawal's window
//! (`withdrawal_batch_secs`) has closed, in that message after its reply, or, if none comes
//! within one more window, by a one-shot timer (three executions more on the IC: the global
//! timer, ic-cdk's executor self-call and its callback). An idle shard has no rounds.
//!
//! Measured on localnet with the default `withdrawal_batch_secs`: the queuing `unstake` (its
//! ingress message and one execution); rounds of k withdrawals sent by the timer (every cycle
//! charged to any canister in the timer's window, a window in which none of the hub's own timers
//! fired); and rounds of k sent by an `unstake` (its charge less a queuing unstake's). Each kind is fitted to `fixed + k x
//! per_withdrawal`; the cost per withdrawal at the issue's profile follows from how often each
//! kind happens and how many withdrawals it gathers ([`at_profile`]). The hourly backstop round
//! is counted by the fee schedule.

use crate::env::{args, decode, learner, Env, Verdict};
use crate::model::spread;
use candid::Principal;
use platform_types::*;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Learners in the measured shard; each queues at most one withdrawal per measurement.
const LEARNERS: u64 = 400;
/// Batch sizes measured: small ones (the fits: the profile's rounds hold about five), a full
/// batch, and a round of two full batches.
const BATCH_SIZES: [u64; 6] = [1, 2, 5, 10, 100, 200];
/// Rounds up to this many withdrawals make the fits.
const FIT_UP_TO: u64 = 10;
/// Learners in a full shard (the production soft limit): a shard of the 1M-learner platform.
pub const SHARD_LEARNERS: f64 = 90_000.0;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BatchRound {
    /// `timer` or `unstake`: what sent the round.
    pub sent_by: String,
    pub withdrawals: u64,
    /// Cycles charged to all canisters while the round ran.
    pub cycles: u64,
    /// Executions by `canister: entry`, with how many ran.
    pub executions: Vec<(String, usize)>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct WithdrawalBatch {
    pub costs: BatchCosts,
    pub unstake_queued_instructions: u64,
    pub rounds: Vec<BatchRound>,
    pub profile: ProfileBatch,
}

/// What the cost per withdrawal is made of.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BatchCosts {
    pub batch_secs: u64,
    /// The queuing `unstake`: ingress and one execution, median over the calls.
    pub unstake_queued_cycles: u64,
    /// The hourly backstop round with nothing to send (from the fee schedule: the global timer,
    /// ic-cdk's executor self-call, its callback).
    pub backstop_round_cycles: u64,
    /// Least-squares fits of the rounds of up to [`FIT_UP_TO`] withdrawals, `fixed + k x
    /// per_withdrawal`: rounds sent by the timer, and by an unstake.
    pub timer_round: Fit,
    pub unstake_round: Fit,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    pub fixed_cycles: f64,
    pub per_withdrawal_cycles: f64,
}

impl Fit {
    fn at(&self, withdrawals: f64) -> f64 {
        self.fixed_cycles + withdrawals * self.per_withdrawal_cycles
    }
}

/// The batch at the issue's profile, for one full shard.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ProfileBatch {
    pub shard_learners: f64,
    pub withdrawals_per_shard_day: f64,
    pub rounds_per_day: f64,
    /// Rounds the timer sends (no unstake in the window after).
    pub timer_round_fraction: f64,
    /// Withdrawals per round.
    pub mean_batch: f64,
    /// Everything a withdrawal costs: its unstake, its share of the busy and idle rounds.
    pub cycles_per_withdrawal: f64,
}

/// A full shard's day at the profile: `withdrawals_per_shard_day` arriving at random (Poisson,
/// rate r). The first withdrawal of a round opens its window T; those arriving in it (r T on
/// average) join it. If one arrives in the window after (probability 1 - e^-rT), its unstake
/// sends the round, itself included (2 + r T withdrawals); if not, the timer does at the end of
/// that window, with everything that came in both (1 + 2 r T).
pub fn at_profile(w: &BatchCosts, withdrawals_per_shard_day: f64) -> ProfileBatch {
    let rt = withdrawals_per_shard_day / 86_400.0 * w.batch_secs as f64;
    let by_timer = (-rt).exp();
    let (timer_batch, unstake_batch) = (1.0 + 2.0 * rt, 2.0 + rt);
    let mean_batch = by_timer * timer_batch + (1.0 - by_timer) * unstake_batch;
    let mean_round = by_timer * w.timer_round.at(timer_batch) + (1.0 - by_timer) * w.unstake_round.at(unstake_batch);
    let backstop_per_day = 24.0 * w.backstop_round_cycles as f64;
    ProfileBatch {
        shard_learners: SHARD_LEARNERS,
        withdrawals_per_shard_day,
        rounds_per_day: withdrawals_per_shard_day / mean_batch,
        timer_round_fraction: by_timer,
        mean_batch,
        cycles_per_withdrawal: w.unstake_queued_cycles as f64
            + mean_round / mean_batch
            + backstop_per_day / withdrawals_per_shard_day,
    }
}

/// Least squares of `y = a + b x`.
pub fn fit(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
    let (mx, my) = (sx / n, sy / n);
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    let b = sxy / sxx;
    (my - b * mx, b)
}

fn config() -> ConfigOverrides {
    ConfigOverrides {
        // Batching as deployed (the default period). The other timers are moved out of the
        // way, so a round's window holds the round's executions only.
        withdrawal_batch_secs: None,
        shard_sync_interval_secs: Some(86_400),
        auto_scale_interval_secs: Some(86_400),
        reward_per_quiz_e8s: Some(E8S),
        daily_emission_budget_e8s: Some(MAX_DAILY_EMISSION_BUDGET_E8S),
        min_withdrawal_e8s: Some(1),
        withdrawal_cooldown_secs: Some(0),
        ..Default::default()
    }
}

fn queued(bytes: &[u8]) -> Verdict {
    match decode::<Result<Withdrawal, UnstakeError>>(bytes) {
        Ok(w) if w.attempts == 0 && matches!(w.state, WithdrawalState::Pending { last_error: None }) => Verdict::Done,
        other => Verdict::Failed(format!("not queued: {other:?}")),
    }
}

/// Every canister's balance, summed.
fn total_balance(env: &Env) -> u128 {
    env.net.canister_ids().into_iter().map(|c| env.net.cycle_balance(c)).sum()
}

/// The clock moves `secs` and everything runs: cycles charged (all canisters) and executions.
fn window(env: &Env, secs: u64) -> (u128, Vec<localnet::ExecutionRecord>) {
    env.net.take_execution_log();
    let before = total_balance(env);
    env.net.advance_time(Duration::from_secs(secs));
    env.net.run_until_idle(100_000);
    (before - total_balance(env), env.net.take_execution_log())
}

/// One round of the timer: `queue` queues the withdrawals, then the clock moves through the
/// round's window (the batch window and the one after) and everything runs. A window in which
/// one of the hub's own timers fired (its refill check every 10 minutes, its compaction every
/// hour) is not the round's alone: the round is measured again, at most five times.
fn timer_round(env: &Env, shard: Principal, batch_secs: u64, withdrawals: u64, mut queue: impl FnMut()) -> BatchRound {
    for _ in 0..5 {
        queue();
        let (cycles, log) = window(env, 2 * batch_secs);
        if log.iter().any(|r| r.canister == env.hub && r.entry == "global timer") {
            continue;
        }
        let timers = log.iter().filter(|r| r.canister == shard && r.entry == "global timer").count();
        assert_eq!(timers, 1, "the round's window holds the shard's round and nothing else of the shard: {log:?}");
        let mut executions: std::collections::BTreeMap<String, usize> = Default::default();
        for r in &log {
            assert!(!r.trapped, "a round's execution trapped: {r:?}");
            *executions.entry(format!("{}: {}", env.name(r.canister), r.entry)).or_default() += 1;
        }
        return BatchRound { sent_by: "timer".into(), withdrawals, cycles: cycles as u64, executions: executions.into_iter().collect() };
    }
    panic!("the hub's timers fired in five windows in a row")
}

/// The unstake whose message sends the round (after its reply: run until everything is done),
/// with every execution it caused; its own queuing (`queuing_cycles`) left out.
fn unstake_round(env: &Env, shard: Principal, who: Principal, withdrawals: u64, queuing_cycles: u64) -> BatchRound {
    env.net.take_execution_log();
    let before = total_balance(env);
    let id = env.net.submit_call(shard, who, "unstake", args((E8S / 10,))).expect("submitted");
    let reply = env.net.await_call(id).expect("answered");
    assert!(matches!(queued(&reply), Verdict::Done), "the trigger is answered as queued");
    env.net.run_until_idle(100_000);
    let cycles = before - total_balance(env);
    let mut executions: std::collections::BTreeMap<String, usize> = Default::default();
    for r in env.net.take_execution_log() {
        if r.entry.starts_with("inspect_message") {
            continue; // not charged on the IC
        }
        assert_eq!(r.ingress, Some(id), "only the unstake's executions: {r:?}");
        assert!(!r.trapped, "a round's execution trapped: {r:?}");
        *executions.entry(format!("{}: {}", env.name(r.canister), r.entry)).or_default() += 1;
    }
    BatchRound {
        sent_by: "unstake".into(),
        withdrawals,
        cycles: (cycles as u64).saturating_sub(queuing_cycles),
        executions: executions.into_iter().collect(),
    }
}

pub fn measure() -> WithdrawalBatch {
    eprintln!("bench: withdrawal batches");
    let batch_secs = DEFAULT_WITHDRAWAL_BATCH_SECS;
    let env = Env::deploy(config());
    let first = env.net.update_call(env.hub, learner(0), "register", args((None::<RegistrationProof>,))).expect("registration");
    let shard: Principal = decode::<Result<Principal, RegisterError>>(&first).expect("registered");
    env.fund(shard);
    let learners = 1..=LEARNERS;
    env.bulk(learners.clone().map(|i| (env.hub, learner(i), "register".to_string(), args((None::<RegistrationProof>,)))), |b| {
        match decode::<Result<Principal, RegisterError>>(b) {
            Ok(s) if s == shard => Verdict::Done,
            other => Verdict::Failed(format!("{other:?}")),
        }
    });
    // One pass each: enough staked for every withdrawal below (a tenth of a token each). The
    // first pass fetches the shard's allowance; the others wait for it.
    let pass = |i: u64| (shard, learner(i), "submit_quiz".to_string(), args((crate::env::unit_id(0), crate::env::answers(0))));
    env.bulk([pass(1)], |_| Verdict::Done);
    env.net.advance_time(Duration::from_secs(5));
    env.net.run_until_idle(100_000);
    env.bulk((2..=LEARNERS).map(pass), |b| match decode::<Result<QuizOutcome, ShardError>>(b) {
        Ok(o) if o.passed => Verdict::Done,
        Err(e @ ShardError::RewardsUnavailable { .. }) => Verdict::Retry(format!("{e:?}")),
        other => Verdict::Failed(format!("{other:?}")),
    });
    env.net.advance_time(Duration::from_secs(600));
    env.net.run_until_idle(100_000);

    // The queuing unstake, metered one call at a time.
    let samples: Vec<_> = (1..=50u64)
        .map(|i| {
            let s = env.update(shard, learner(i), "unstake", args((E8S / 10,)));
            assert!(matches!(queued(&s.reply), Verdict::Done), "unstake did not queue");
            s
        })
        .collect();
    let unstake_queued_cycles = spread(&samples.iter().map(|s| s.cycles_charged as u64).collect::<Vec<_>>()).median;
    let unstake_queued_instructions = spread(&samples.iter().map(|s| s.parts.iter().map(|p| p.1).sum()).collect::<Vec<u64>>()).median;
    // Those 50 go out.
    env.net.advance_time(Duration::from_secs(2 * batch_secs));
    env.net.run_until_idle(100_000);

    let mut rounds = Vec::new();
    let mut next = 1;
    let mut learners_for = |k: u64| {
        let from = next;
        next = (next + k) % (LEARNERS - 200) + 1;
        from..from + k
    };
    let transfers = |r: &BatchRound| r.executions.iter().find(|(e, _)| e == "icrc_ledger: update icrc1_transfer").map_or(0, |(_, n)| *n as u64);
    for k in BATCH_SIZES {
        let r = timer_round(&env, shard, batch_secs, k, || {
            env.bulk(learners_for(k).map(|i| (shard, learner(i), "unstake".to_string(), args((E8S / 10,)))), queued)
        });
        assert_eq!(transfers(&r), k, "every queued withdrawal minted in the round: {r:?}");
        rounds.push(r);
    }
    // Rounds an unstake sends: k - 1 queued, a window passes, then the k-th unstake.
    for k in BATCH_SIZES.into_iter().filter(|k| *k > 1) {
        let mut ids = learners_for(k);
        let trigger = ids.next_back().expect("k > 1");
        env.bulk(ids.map(|i| (shard, learner(i), "unstake".to_string(), args((E8S / 10,)))), queued);
        env.net.advance_time(Duration::from_secs(batch_secs));
        env.net.run_until_idle(100_000);
        let r = unstake_round(&env, shard, learner(trigger), k, unstake_queued_cycles);
        assert_eq!(transfers(&r), k, "the round sent by the unstake holds all of them: {r:?}");
        rounds.push(r);
    }
    let fit_of = |by: &str| {
        let (fixed_cycles, per_withdrawal_cycles) =
            fit(&rounds
                .iter()
                .filter(|r| r.sent_by == by && r.withdrawals <= FIT_UP_TO)
                .map(|r| (r.withdrawals as f64, r.cycles as f64))
                .collect::<Vec<_>>());
        Fit { fixed_cycles, per_withdrawal_cycles }
    };
    let (timer_round, unstake_round) = (fit_of("timer"), fit_of("unstake"));
    let costs = BatchCosts {
        batch_secs,
        unstake_queued_cycles,
        backstop_round_cycles: {
            let fees = localnet::FeeSchedule::APPLICATION_SUBNET;
            (3 * fees.update_message_execution_fee + fees.xnet_call_fee) as u64
        },
        timer_round,
        unstake_round,
    };
    let profile = at_profile(&costs, SHARD_LEARNERS * crate::model::ISSUE_PROFILE.withdrawals);
    WithdrawalBatch { costs, unstake_queued_instructions, rounds, profile }
}

/// The batch's section of results.md.
pub fn markdown(w: &mut String, b: &WithdrawalBatch) {
    use std::fmt::Write;
    let m = |c: f64| format!("{:.2}M", c / 1e6);
    let c = &b.costs;
    let p = &b.profile;
    writeln!(w).unwrap();
    writeln!(w, "## The withdrawal batch (`withdrawal_batch_secs` = {} s, the default)", c.batch_secs).unwrap();
    writeln!(w).unwrap();
    writeln!(w, "| what | cycles |").unwrap();
    writeln!(w, "|---|---:|").unwrap();
    writeln!(w, "| `unstake`, queuing (ingress + one execution of {} instructions, median) | {} |", b.unstake_queued_instructions, m(c.unstake_queued_cycles as f64)).unwrap();
    writeln!(w, "| the hourly backstop round with nothing to send (fee schedule) | {} |", m(c.backstop_round_cycles as f64)).unwrap();
    for r in &b.rounds {
        writeln!(
            w,
            "| a round of {} sent by {} | {} ({} per withdrawal) |",
            r.withdrawals,
            if r.sent_by == "timer" { "the timer" } else { "an unstake (its queuing left out)" },
            m(r.cycles as f64),
            m(r.cycles as f64 / r.withdrawals as f64)
        )
        .unwrap();
    }
    for (by, f) in [("the timer", &c.timer_round), ("an unstake", &c.unstake_round)] {
        writeln!(
            w,
            "| fit of the rounds of up to {FIT_UP_TO} sent by {by}: fixed + per withdrawal | {} + {} |",
            m(f.fixed_cycles),
            m(f.per_withdrawal_cycles)
        )
        .unwrap();
    }
    writeln!(w).unwrap();
    writeln!(
        w,
        "At the profile, a full shard ({:.0} learners) makes {:.0} withdrawals a day, in {:.0} rounds of {:.2} on average; \
         {:.1}% of the rounds are the timer's (no unstake within a window after the first one's window closed). Per \
         withdrawal: its unstake, its place in a round, its share of the round's fixed part and of the backstop: **{}** cycles.",
        p.shard_learners,
        p.withdrawals_per_shard_day,
        p.rounds_per_day,
        p.mean_batch,
        p.timer_round_fraction * 100.0,
        m(p.cycles_per_withdrawal)
    )
    .unwrap();
    for by in ["timer", "unstake"] {
        if let Some(r) = b.rounds.iter().filter(|r| r.sent_by == by && r.withdrawals == 10).last() {
            writeln!(w).unwrap();
            let list: Vec<String> = r.executions.iter().map(|(e, n)| format!("{e} x{n}")).collect();
            writeln!(w, "Executions of the round of 10 sent by {by}: {}.", list.join(", ")).unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_recovers_a_line() {
        let (a, b) = fit(&[(1.0, 17.0), (10.0, 62.0), (100.0, 512.0)]);
        assert!((a - 12.0).abs() < 1e-9 && (b - 5.0).abs() < 1e-9, "{a} {b}");
    }

    /// 8,640 withdrawals a day is one every 10 s; a 30 s window gathers 3 on average. The timer
    /// sends a round when none comes in the 30 s after (e^-3 of the rounds).
    #[test]
    fn the_profile_shares_the_rounds_out() {
        let w = BatchCosts {
            batch_secs: 30,
            unstake_queued_cycles: 6_000_000,
            backstop_round_cycles: 15_000_000,
            timer_round: Fit { fixed_cycles: 28_000_000.0, per_withdrawal_cycles: 13_000_000.0 },
            unstake_round: Fit { fixed_cycles: 12_000_000.0, per_withdrawal_cycles: 14_000_000.0 },
        };
        let p = at_profile(&w, 8_640.0);
        let by_timer = (-3.0f64).exp();
        assert!((p.timer_round_fraction - by_timer).abs() < 1e-12);
        let batch = by_timer * 7.0 + (1.0 - by_timer) * 5.0;
        assert!((p.mean_batch - batch).abs() < 1e-9);
        assert!((p.rounds_per_day - 8_640.0 / batch).abs() < 1e-6);
        let round = by_timer * (28e6 + 7.0 * 13e6) + (1.0 - by_timer) * (12e6 + 5.0 * 14e6);
        let expected = 6e6 + round / batch + 24.0 * 15e6 / 8_640.0;
        assert!((p.cycles_per_withdrawal - expected).abs() < 1e-3, "{} {expected}", p.cycles_per_withdrawal);
    }
}
