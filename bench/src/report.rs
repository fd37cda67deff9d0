//! What the benchmark writes: `results.json` (fields in declaration order, maps sorted, so the
//! file diffs cleanly), `results.md`, and the regression check against the previous results.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A figure may grow by this fraction before the check flags it.
pub const REGRESSION_TOLERANCE: f64 = 0.05;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Results {
    pub command: String,
    pub calls_per_endpoint: usize,
    pub sizes: Vec<SizeResults>,
    /// Shard upgrades with learners registered directly at a shard (the hub's register_user path).
    pub bare_shard_upgrades: Vec<UpgradePoint>,
    pub fees: Vec<Constant>,
    pub cost: Cost,
    pub targets: Vec<Target>,
    /// Every instruction and byte figure by a stable name: what the regression check compares.
    pub figures: BTreeMap<String, u64>,
    pub wall_seconds: BTreeMap<String, f64>,
    /// Sustained updates per second with 1, 4 and 13 subnets (`--subnets`); absent in results
    /// written before it existed or run with `--subnets none`.
    #[serde(default)]
    pub throughput: Option<crate::subnets::Throughput>,
    /// The 1,000,000-learner scale run (`--scale 1000000`, scale.rs); absent until it ran. A run
    /// of the other modes keeps the previous one.
    #[serde(default)]
    pub scale: Option<crate::scale::ScaleResults>,
    /// The withdrawal batch (batches.rs); absent in results written before it existed.
    #[serde(default)]
    pub withdrawal_batch: Option<crate::batches::WithdrawalBatch>,
    /// The idle platform (idle.rs); absent in results written before it existed.
    #[serde(default)]
    pub idle: Option<crate::idle::IdleCost>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SizeResults {
    pub learners: u64,
    pub shards: usize,
    pub endpoints: Vec<Endpoint>,
    pub shard_storage: ShardStorage,
    pub hub_bytes_per_learner: f64,
    /// pre_upgrade + post_upgrade of the shard holding the typical learners.
    pub shard_upgrade_instructions: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// `canister.method`.
    pub name: String,
    pub kind: String,
    pub calls: usize,
    /// Sum over every message the call caused (charged executions; inspect_message apart).
    pub median_instructions: u64,
    pub max_instructions: u64,
    /// Each execution by `canister: entry`, in the order they ran.
    pub parts: Vec<Part>,
    /// `canister_inspect_message` (runs before ingress is accepted; not charged on the IC).
    pub inspect_message_median_instructions: u64,
    /// Cycles localnet charged all canisters for the call (balance difference), median.
    pub median_cycles_charged: u64,
    /// The same from the fee schedule: ingress, executions, call fees (no transmitted bytes).
    pub median_cycles_modelled: u64,
    pub ingress_bytes: usize,
    /// median_instructions over the echo canister's of the same kind.
    pub ratio_over_echo: f64,
    /// What the figure is when it is not the method's plain ingress path: a refusal (the state
    /// its real path needs is not built), a call made by another canister, a follow-up left
    /// out. Empty: the real path. Absent in results written before it existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Part {
    pub name: String,
    pub median_instructions: u64,
    pub max_instructions: u64,
}

/// Stable-memory bytes per learner in a shard, from the MemoryManager's virtual memory sizes
/// (64 KiB granularity) before and after each step over all the size's learners.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ShardStorage {
    pub per_registered_learner: f64,
    pub per_profile: f64,
    pub per_completed_unit: f64,
    pub per_withdrawal: f64,
    pub per_typical_learner: f64,
    /// What each virtual memory adds per typical learner (`id name`).
    pub per_typical_learner_by_memory: BTreeMap<String, f64>,
    /// The shard's whole stable memory (MemoryManager buckets of 8 MiB).
    pub stable_memory_bytes: u64,
    pub completed_units_per_learner: u64,
    pub withdrawals_per_learner: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UpgradePoint {
    pub learners: u64,
    pub instructions: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Constant {
    pub name: String,
    pub value: String,
    pub source: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Cost {
    pub usd_per_xdr: f64,
    pub daily_active_learners: u64,
    pub profile: String,
    /// `operation` -> cycles, measured.
    pub measured: BTreeMap<String, f64>,
    pub floor: BTreeMap<String, f64>,
    pub measured_cycles_per_learner_day: f64,
    pub floor_cycles_per_learner_day: f64,
    pub measured_usd_per_month: f64,
    pub floor_usd_per_month: f64,
    pub measured_over_floor: f64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Target {
    pub target: String,
    pub limit: String,
    pub measured: String,
    /// PASS, FAIL, or NOT MEASURED (the run did not cover it).
    pub status: String,
}

/// A figure that grew by more than the tolerance.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    pub figure: String,
    pub before: u64,
    pub after: u64,
}

/// Figures in both results that grew by more than `REGRESSION_TOLERANCE`.
pub fn regressions(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Vec<Regression> {
    after
        .iter()
        .filter_map(|(k, &a)| {
            let &b = before.get(k)?;
            (a as f64 > b as f64 * (1.0 + REGRESSION_TOLERANCE)).then(|| Regression { figure: k.clone(), before: b, after: a })
        })
        .collect()
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn cycles(c: f64) -> String {
    if c >= 1e6 {
        format!("{:.2}M", c / 1e6)
    } else {
        thousands(c.round() as u64)
    }
}

/// An endpoint's name with its note and, when it differs, its number of calls.
fn endpoint_cell(e: &Endpoint, calls_per_endpoint: usize) -> String {
    let mut notes: Vec<String> = Vec::new();
    if e.calls != calls_per_endpoint {
        notes.push(format!("{} call{}", e.calls, if e.calls == 1 { "" } else { "s" }));
    }
    if !e.note.is_empty() {
        notes.push(e.note.clone());
    }
    if notes.is_empty() {
        e.name.clone()
    } else {
        format!("{} ({})", e.name, notes.join("; "))
    }
}

/// results.md: the tables, generated.
pub fn markdown(r: &Results, regressions: Option<&[Regression]>) -> String {
    let mut md = String::new();
    let w = &mut md;
    writeln!(w, "# Benchmark results (generated by `{}`)", r.command).unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "Localnet, in-process, 13-node fee model. {} calls per endpoint (median and max). Instructions are \
         the sum over every message a call causes (ingress execution, calls to other canisters, callbacks); \
         inspect_message is shown apart (the IC does not charge it). Ratio: median over the bare `echo` \
         canister's of the same kind. A note after an endpoint's name says what its figure is when it is not \
         the method's plain path: REFUSAL path (the state the real path needs is not built), a call one \
         platform canister makes to another, follow-ups left out, fewer calls.",
        r.calls_per_endpoint
    )
    .unwrap();
    writeln!(w).unwrap();
    writeln!(w, "## Targets (issue 14 §2)").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "| target | limit | measured | |").unwrap();
    writeln!(w, "|---|---|---|---|").unwrap();
    for t in &r.targets {
        writeln!(w, "| {} | {} | {} | {} |", t.target, t.limit, t.measured, t.status).unwrap();
    }
    for s in &r.sizes {
        writeln!(w).unwrap();
        writeln!(w, "## Instructions per message, shard of {} learners", thousands(s.learners)).unwrap();
        writeln!(w).unwrap();
        writeln!(w, "| endpoint | kind | median | max | x echo | cycles charged (median) | parts (median) |").unwrap();
        writeln!(w, "|---|---|---:|---:|---:|---:|---|").unwrap();
        for e in &s.endpoints {
            let mut parts: Vec<String> = if e.parts.len() > 1 {
                e.parts.iter().map(|p| format!("{} {}", p.name, thousands(p.median_instructions))).collect()
            } else {
                vec![]
            };
            if e.inspect_message_median_instructions > 0 {
                parts.push(format!("(inspect_message {}, not charged)", thousands(e.inspect_message_median_instructions)));
            }
            let parts = parts.join("; ");
            let charged = if e.kind == "update" { cycles(e.median_cycles_charged as f64) } else { "0 (query)".into() };
            writeln!(
                w,
                "| {} | {} | {} | {} | {:.1} | {} | {} |",
                endpoint_cell(e, r.calls_per_endpoint),
                e.kind,
                thousands(e.median_instructions),
                thousands(e.max_instructions),
                e.ratio_over_echo,
                charged,
                parts
            )
            .unwrap();
        }
        let st = &s.shard_storage;
        writeln!(w).unwrap();
        writeln!(
            w,
            "Stable memory, {} learners ({} completed units and {} withdrawals each): growth of the \
             MemoryManager's virtual memories over all of them, divided by the count (memories grow \
             by 64 KiB pages, so each figure is exact to {:.0} bytes per learner).",
            thousands(s.learners),
            st.completed_units_per_learner,
            st.withdrawals_per_learner,
            65_536.0 / s.learners as f64
        )
        .unwrap();
        writeln!(w).unwrap();
        writeln!(w, "| bytes per | shard |").unwrap();
        writeln!(w, "|---|---:|").unwrap();
        writeln!(w, "| registered learner (no profile yet) | {:.0} |", st.per_registered_learner).unwrap();
        writeln!(w, "| profile | {:.0} |", st.per_profile).unwrap();
        writeln!(w, "| completed unit | {:.0} |", st.per_completed_unit).unwrap();
        writeln!(w, "| withdrawal | {:.0} |", st.per_withdrawal).unwrap();
        writeln!(w, "| **typical learner** | **{:.0}** |", st.per_typical_learner).unwrap();
        for (m, b) in &st.per_typical_learner_by_memory {
            writeln!(w, "| of which memory {m} | {b:.0} |").unwrap();
        }
        writeln!(w, "| hub index, per learner | {:.0} |", s.hub_bytes_per_learner).unwrap();
        writeln!(w).unwrap();
        writeln!(w, "Shard stable memory in all: {} bytes; shard upgrade (pre + post): {} instructions.", thousands(st.stable_memory_bytes), thousands(s.shard_upgrade_instructions)).unwrap();
    }
    writeln!(w).unwrap();
    writeln!(w, "## Shard upgrade, learners registered directly at a shard").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "| learners | instructions (pre_upgrade + post_upgrade) |").unwrap();
    writeln!(w, "|---:|---:|").unwrap();
    for u in &r.bare_shard_upgrades {
        writeln!(w, "| {} | {} |", thousands(u.learners), thousands(u.instructions)).unwrap();
    }
    writeln!(w).unwrap();
    writeln!(w, "## Fee schedule used").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "| constant | value | source |").unwrap();
    writeln!(w, "|---|---:|---|").unwrap();
    for c in &r.fees {
        writeln!(w, "| {} | {} | {} |", c.name, c.value, c.source).unwrap();
    }
    let c = &r.cost;
    writeln!(w).unwrap();
    writeln!(w, "## Cost for {} daily active learners ({})", thousands(c.daily_active_learners), c.profile).unwrap();
    writeln!(w).unwrap();
    writeln!(w, "| cycles per | measured | floor |").unwrap();
    writeln!(w, "|---|---:|---:|").unwrap();
    for (op, m) in &c.measured {
        writeln!(w, "| {op} | {} | {} |", cycles(*m), cycles(*c.floor.get(op).unwrap_or(&0.0))).unwrap();
    }
    writeln!(w, "| **learner-day** | **{}** | **{}** |", cycles(c.measured_cycles_per_learner_day), cycles(c.floor_cycles_per_learner_day)).unwrap();
    writeln!(
        w,
        "| **USD per month** (1 T cycles = 1 XDR = {} USD, 30 days) | **{:.0}** | **{:.0}** |",
        c.usd_per_xdr, c.measured_usd_per_month, c.floor_usd_per_month
    )
    .unwrap();
    writeln!(w).unwrap();
    writeln!(w, "Measured over floor: {:.2}x.", c.measured_over_floor).unwrap();
    if let Some(b) = &r.withdrawal_batch {
        crate::batches::markdown(w, b);
    }
    if let Some(idle) = &r.idle {
        crate::idle::markdown(w, idle);
    }
    if let Some(t) = &r.throughput {
        crate::subnets::markdown(w, t);
    }
    if let Some(scale) = &r.scale {
        writeln!(w).unwrap();
        w.push_str(&crate::scale::markdown(scale));
    }
    if let Some(regs) = regressions {
        writeln!(w).unwrap();
        writeln!(w, "## Regression check against the previous results").unwrap();
        writeln!(w).unwrap();
        if regs.is_empty() {
            writeln!(w, "No instruction or byte figure grew by more than {:.0}%.", REGRESSION_TOLERANCE * 100.0).unwrap();
        } else {
            for g in regs {
                writeln!(w, "- {}: {} -> {}", g.figure, thousands(g.before), thousands(g.after)).unwrap();
            }
        }
    }
    writeln!(w).unwrap();
    writeln!(w, "Wall time (seconds, this machine; not compared):").unwrap();
    for (k, v) in &r.wall_seconds {
        writeln!(w, "- {k}: {v:.1}").unwrap();
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_over_five_percent_is_flagged_and_only_that() {
        let before: BTreeMap<String, u64> =
            [("a".to_string(), 100), ("b".to_string(), 100), ("c".to_string(), 100), ("gone".to_string(), 1)].into();
        let after: BTreeMap<String, u64> =
            [("a".to_string(), 105), ("b".to_string(), 106), ("c".to_string(), 50), ("new".to_string(), 9)].into();
        assert_eq!(regressions(&before, &after), vec![Regression { figure: "b".into(), before: 100, after: 106 }]);
        assert!(regressions(&after, &after).is_empty());
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
        assert_eq!(cycles(17_900_000.0), "17.90M");
    }
}
