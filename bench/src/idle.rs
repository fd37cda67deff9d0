//! What the platform pays while nobody does anything: every canister's timers (the hub's fleet
//! round, refill and compaction, a shard's sync, cleanup and withdrawal backstop, ...), the
//! calls they make, and the storage of an almost empty canister. Measured on localnet with the
//! production configuration over simulated hours, per canister; the cost model shares the hub's
//! (and learning_content's and the ledger's) out over all learners and a shard's over a full
//! shard's.

use crate::env::{args, decode, learner, Env};
use candid::Principal;
use platform_types::*;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Hours measured, after one hour to settle (first syncs, allowance, key pushes).
const HOURS: u64 = 6;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct IdleCost {
    pub hours_measured: u64,
    /// Cycles a day per canister (`name` -> cycles), idle.
    pub cycles_per_day: std::collections::BTreeMap<String, f64>,
    /// Executions a day by `canister: entry`.
    pub executions_per_day: std::collections::BTreeMap<String, f64>,
    /// Per learner-day at the profile: the hub's, learning_content's and the ledger's over all
    /// daily active learners, a shard's over a full shard's learners.
    pub per_learner_day: f64,
}

pub fn measure(daily_active_learners: f64, shard_learners: f64) -> IdleCost {
    eprintln!("bench: an idle platform, {HOURS} simulated hours");
    let env = Env::deploy(ConfigOverrides::default());
    let first = env.net.update_call(env.hub, learner(0), "register", args((None::<RegistrationProof>,))).expect("registration");
    let shard: Principal = decode::<Result<Principal, RegisterError>>(&first).expect("registered");
    env.fund(shard);
    let step = |hours: u64| {
        for _ in 0..hours * 60 {
            env.net.advance_time(Duration::from_secs(60));
            env.net.run_until_idle(100_000);
        }
    };
    step(1);
    env.net.take_execution_log();
    let before: Vec<(Principal, u128)> = env.net.canister_ids().into_iter().map(|c| (c, env.net.cycle_balance(c))).collect();
    step(HOURS);
    let mut executions_per_day = std::collections::BTreeMap::<String, f64>::new();
    for r in env.net.take_execution_log() {
        *executions_per_day.entry(format!("{}: {}", env.name(r.canister), r.entry)).or_default() += 24.0 / HOURS as f64;
    }
    let mut cycles_per_day = std::collections::BTreeMap::new();
    let mut per_learner_day = 0.0;
    for (c, b) in before {
        let per_day = (b - env.net.cycle_balance(c)) as f64 * 24.0 / HOURS as f64;
        let name = env.name(c);
        if name == "echo" {
            continue; // the benchmark's reference canister, not the platform's
        }
        per_learner_day += per_day / if c == shard { shard_learners } else { daily_active_learners };
        cycles_per_day.insert(name.to_string(), per_day);
    }
    IdleCost { hours_measured: HOURS, cycles_per_day, executions_per_day, per_learner_day }
}

/// The idle platform's section of results.md.
pub fn markdown(w: &mut String, idle: &IdleCost) {
    use std::fmt::Write;
    writeln!(w).unwrap();
    writeln!(w, "## An idle platform ({} simulated hours, production configuration)", idle.hours_measured).unwrap();
    writeln!(w).unwrap();
    writeln!(w, "| canister | cycles a day |").unwrap();
    writeln!(w, "|---|---:|").unwrap();
    for (name, c) in &idle.cycles_per_day {
        writeln!(w, "| {name} | {:.2}B |", c / 1e9).unwrap();
    }
    writeln!(w).unwrap();
    writeln!(w, "Per learner-day (shard over a full shard, the others over all learners): {:.0} cycles.", idle.per_learner_day).unwrap();
    writeln!(w).unwrap();
    let list: Vec<String> = idle.executions_per_day.iter().map(|(e, n)| format!("{e} {n:.0}")).collect();
    writeln!(w, "Executions a day: {}.", list.join(", ")).unwrap();
}
