//! The simulation report: terminal tables, `report.md`, `report.json` and SVG charts.
//!
//! Token amounts are carried as e8s (`u64`) and rendered with exact integer arithmetic
//! (`1 LRN = 10^8 e8s`); floats are only used for chart geometry and per-call cost averages.
//! Every output is deterministic: the same [`Report`] always renders to the same bytes.

#![allow(dead_code)] // helpers beyond the fixed interface are for tests and callers that want them

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use comfy_table::{
    modifiers::UTF8_ROUND_CORNERS, presets::UTF8_FULL_CONDENSED, CellAlignment, ContentArrangement,
    Table,
};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// Data model (fixed interface)
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub learners: u64,
    pub days: u32,
    pub started_at_utc: String,
    pub wall_secs: f64,
    pub phases: Vec<PhaseStats>,
    pub timeline: Vec<TimelinePoint>,
    pub shards: Vec<ShardRow>,
    pub governance: Vec<GovernanceEvent>,
    pub quizzes: QuizTotals,
    pub operations: Vec<OperationCost>,
    pub invariants: Vec<InvariantCheck>,
    /// Shards as learners register: the hub's figures sampled during the register phase, in
    /// order (absent from reports written before it existed).
    #[serde(default)]
    pub scaling: Vec<ScalingPoint>,
    /// The hub's shard soft limit: once every active shard has this many users the hub creates
    /// another shard.
    #[serde(default)]
    pub shard_soft_limit: Option<u64>,
    /// The hub's shard hard limit: a shard with this many users is Full; when every shard is,
    /// a registration has the hub create a shard at once.
    #[serde(default)]
    pub shard_hard_limit: Option<u64>,
}

/// One sample of the hub while learners register.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScalingPoint {
    /// Learners whose registration the hub has completed (`get_global_stats().users`).
    pub learners: u64,
    /// Installed shards, whatever their status.
    pub shards: u64,
    /// Shards open to new learners (status Active: neither Full at the hard limit nor Disabled).
    pub active_shards: u64,
    /// Wall-clock seconds since the register phase began.
    pub wall_secs: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseStats {
    pub name: String,
    pub calls: u64,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub wall_secs: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub label: String,
    pub sim_time_secs: u64,
    pub learners: u64,
    pub shards: u64,
    pub active_shards: u64,
    pub granted_e8s: u64,
    pub staked_e8s: u64,
    pub minted_e8s: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardRow {
    pub id: String,
    pub status: String,
    pub users: u64,
    pub granted_e8s: u64,
    pub staked_e8s: u64,
    pub minted_e8s: u64,
    pub wasm_hash: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GovernanceEvent {
    pub proposal_id: u64,
    pub title: String,
    pub action: String,
    pub outcome: String,
    pub sim_day: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuizTotals {
    pub submitted: u64,
    pub passed: u64,
    pub failed: u64,
    pub daily_limit_refusals: u64,
    pub other_errors: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OperationCost {
    pub operation: String,
    pub calls: u64,
    pub cycles_per_call: Option<f64>,
    pub instructions_per_call: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InvariantCheck {
    pub name: String,
    pub holds: bool,
    pub detail: String,
}

// File names inside the report directory (the Markdown links to the charts by these names).
pub const REPORT_MD: &str = "report.md";
pub const REPORT_JSON: &str = "report.json";
pub const SCALING_SVG: &str = "scaling.svg";
pub const TOKENS_SVG: &str = "tokens.svg";
pub const OPERATIONS_SVG: &str = "operations.svg";

/// Width the terminal tables are laid out for.
const TERMINAL_WIDTH: u16 = 100;

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

impl Report {
    /// Prints every table to stdout (see [`Report::render_tables`]).
    pub fn print_tables(&self) {
        print!("{}", self.render_tables());
    }

    /// The text `print_tables` prints: summary, phases, quizzes, shards, governance, operations
    /// and invariants, laid out for a 100-column terminal.
    pub fn render_tables(&self) -> String {
        let mut out = String::new();
        let sections: [(&str, Option<String>); 8] = [
            ("Summary", Some(self.summary_table().to_string())),
            ("Phases", self.phases_table().map(|t| t.to_string())),
            (
                "Scaling (shards as learners register)",
                self.scaling_table().map(|t| t.to_string()),
            ),
            ("Quizzes", Some(self.quizzes_table().to_string())),
            ("Shards", self.shards_table()),
            ("Governance", self.governance_table().map(|t| t.to_string())),
            (
                "Operations (cost per call)",
                self.operations_table().map(|t| t.to_string()),
            ),
            ("Invariants", self.invariants_table().map(|t| t.to_string())),
        ];
        for (title, table) in sections {
            let _ = writeln!(out, "\n{title}");
            match table {
                Some(t) => {
                    let _ = writeln!(out, "{t}");
                }
                None => out.push_str("  (none)\n"),
            }
        }
        let _ = writeln!(out, "\n{}", self.invariants_verdict());
        out
    }

    /// The Markdown report (`report.md`), linking the charts by relative file name.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        md.push_str("# Platform simulation report\n\n");
        let _ = writeln!(
            md,
            "{} simulated learners over {} simulated day{}, started {}, wall time {}.\n",
            fmt_int(self.learners),
            self.days,
            if self.days == 1 { "" } else { "s" },
            md_cell(&started_utc(&self.started_at_utc)),
            fmt_duration(self.wall_secs),
        );
        let _ = writeln!(md, "**{}**\n", self.invariants_verdict());

        md.push_str("## Summary\n\n");
        md.push_str(&md_table(
            &["metric", "value"],
            &[false, true],
            &self.summary_rows(),
        ));

        md.push_str("\n## Charts\n\n");
        let _ = writeln!(md, "![{SCALING_TITLE}]({SCALING_SVG})\n");
        let _ = writeln!(md, "![Tokens granted, staked and minted]({TOKENS_SVG})\n");
        if self.has_operation_costs() {
            let _ = writeln!(md, "![Cost per call by operation]({OPERATIONS_SVG})\n");
        }

        md.push_str("## Phases\n\n");
        if self.phases.is_empty() {
            md.push_str("_No phases recorded._\n");
        } else {
            md.push_str(&md_table(
                &[
                    "phase",
                    "calls",
                    "ok",
                    "errors",
                    "wall",
                    "calls/s",
                    "error kinds",
                ],
                &[false, true, true, true, true, true, false],
                &self.phase_rows(usize::MAX),
            ));
        }

        md.push_str("\n## Scaling\n\n");
        if self.scaling.is_empty() {
            md.push_str("_No scaling samples recorded._\n");
        } else {
            if let Some(soft) = self.shard_soft_limit {
                let _ = writeln!(
                    md,
                    "The hub creates a shard by itself once every active shard has {} learners \
                     (soft limit){}. The samples where the shards or active shards changed, and the \
                     first and last:\n",
                    fmt_int(soft),
                    self.shard_hard_limit
                        .map(|h| format!(
                            ", and at once when every shard is full at {} (hard limit)",
                            fmt_int(h)
                        ))
                        .unwrap_or_default()
                );
            }
            md.push_str(&md_table(
                &SCALING_HEADERS,
                &[true, true, true, true],
                &self.scaling_rows(),
            ));
        }

        md.push_str("\n## Timeline\n\n");
        if self.timeline.is_empty() {
            md.push_str("_No timeline points recorded._\n");
        } else {
            let rows: Vec<Vec<String>> = self
                .timeline
                .iter()
                .map(|p| {
                    vec![
                        p.label.clone(),
                        fmt_sim_time(p.sim_time_secs),
                        fmt_int(p.learners),
                        format!("{} / {}", fmt_int(p.active_shards), fmt_int(p.shards)),
                        format_lrn(p.granted_e8s),
                        format_lrn(p.staked_e8s),
                        format_lrn(p.minted_e8s),
                    ]
                })
                .collect();
            md.push_str(&md_table(
                &[
                    "point",
                    "sim time",
                    "learners",
                    "active / shards",
                    "granted",
                    "staked",
                    "minted",
                ],
                &[false, true, true, true, true, true, true],
                &rows,
            ));
        }

        md.push_str("\n## Quizzes\n\n");
        md.push_str(&md_table(&QUIZ_HEADERS, &[true; 6], &[self.quiz_row()]));

        md.push_str("\n## Shards\n\n");
        if self.shards.is_empty() {
            md.push_str("_No shards._\n");
        } else {
            let mut rows: Vec<Vec<String>> = self
                .shards
                .iter()
                .map(|s| {
                    vec![
                        format!("`{}`", md_code(&s.id)),
                        s.status.clone(),
                        fmt_int(s.users),
                        format_lrn(s.granted_e8s),
                        format_lrn(s.staked_e8s),
                        format_lrn(s.minted_e8s),
                        if s.wasm_hash.is_empty() {
                            "—".to_string()
                        } else {
                            format!("`{}`", md_code(&shorten_hash(&s.wasm_hash, 16)))
                        },
                    ]
                })
                .collect();
            rows.push(self.shard_total_row(true));
            md.push_str(&md_table(
                &SHARD_HEADERS,
                &[false, false, true, true, true, true, false],
                &rows,
            ));
        }

        md.push_str("\n## Governance\n\n");
        if self.governance.is_empty() {
            md.push_str("_No proposals._\n");
        } else {
            md.push_str(&md_table(
                &GOVERNANCE_HEADERS,
                &[true, true, false, false, false],
                &self.governance_rows(),
            ));
        }

        md.push_str("\n## Operations (cost per call)\n\n");
        if self.operations.is_empty() {
            md.push_str("_No operations measured._\n");
        } else {
            md.push_str(&md_table(
                &OPERATION_HEADERS,
                &[false, true, true, true],
                &self.operation_rows(),
            ));
        }

        md.push_str("\n## Invariants\n\n");
        if self.invariants.is_empty() {
            md.push_str("_No invariants were checked._\n");
        } else {
            md.push_str(&md_table(
                &["", "invariant", "detail"],
                &[false, false, false],
                &self.invariant_rows(),
            ));
        }
        let _ = writeln!(md, "\n**{}**", self.invariants_verdict());
        md
    }

    /// Creates `dir` and writes report.md, report.json, scaling.svg, tokens.svg and
    /// (if any operation has a cycles or instructions figure) operations.svg. Returns the paths
    /// in that order.
    pub fn write_all(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating report directory {}", dir.display()))?;
        let json = serde_json::to_string_pretty(self).context("serializing report.json")?;
        let mut files: Vec<(&str, String)> = vec![
            (REPORT_MD, self.to_markdown()),
            (REPORT_JSON, json + "\n"),
            (SCALING_SVG, self.scaling_svg()),
            (TOKENS_SVG, self.tokens_svg()),
        ];
        if let Some(svg) = self.operations_svg() {
            files.push((OPERATIONS_SVG, svg));
        }
        let mut paths = Vec::with_capacity(files.len());
        for (name, contents) in files {
            let path = dir.join(name);
            std::fs::write(&path, contents)
                .with_context(|| format!("writing {}", path.display()))?;
            paths.push(path);
        }
        Ok(paths)
    }

    /// True iff at least one invariant was checked and every check holds.
    pub fn all_invariants_hold(&self) -> bool {
        !self.invariants.is_empty() && self.invariants.iter().all(|i| i.holds)
    }
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers (exact integer math for tokens)
// ---------------------------------------------------------------------------------------------

/// e8s → exact decimal LRN with thousands separators and up to 8 decimals, trailing zeros
/// dropped: `123_450_000_000` → `"1,234.5 LRN"`, `1` → `"0.00000001 LRN"`.
pub fn format_lrn(e8s: u64) -> String {
    format_lrn_wide(e8s as u128)
}

/// [`format_lrn`] for sums that may exceed `u64`.
fn format_lrn_wide(e8s: u128) -> String {
    format!("{} LRN", lrn_number(e8s))
}

/// The number part of [`format_lrn`]: `"1,234.5"`.
fn lrn_number(e8s: u128) -> String {
    decimal_string(e8s, 8, true)
}

/// Integer with thousands separators: `1234567` → `"1,234,567"`.
pub fn fmt_int(n: u64) -> String {
    group_thousands(&n.to_string())
}

fn group_thousands(digits: &str) -> String {
    let len = digits.len();
    let mut out = String::with_capacity(len + len / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Principal text shortened to its first 5 and last 3 characters: `"rrkah…cai"`.
/// Strings of at most 9 characters are returned unchanged.
pub fn shorten_principal(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    if chars.len() <= 9 {
        return p.to_string();
    }
    let head: String = chars[..5].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}…{tail}")
}

fn shorten_hash(h: &str, keep: usize) -> String {
    let chars: Vec<char> = h.chars().collect();
    if chars.len() <= keep + 1 {
        h.to_string()
    } else {
        let head: String = chars[..keep].iter().collect();
        format!("{head}…")
    }
}

/// `value / 10^decimals` as an exact decimal string, trailing fractional zeros dropped.
fn decimal_string(value: u128, decimals: u32, separators: bool) -> String {
    let base = 10u128.pow(decimals);
    let whole = (value / base).to_string();
    let mut s = if separators {
        group_thousands(&whole)
    } else {
        whole
    };
    let frac = value % base;
    if frac != 0 {
        let digits = format!("{:0width$}", frac, width = decimals as usize);
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s
}

/// Compact exact axis label for `value / 10^decimals` with a k/M/B/T suffix:
/// 4.2e17 e8s with `decimals = 8` → `"4.2B"`.
fn tick_label(value: u128, decimals: u32) -> String {
    let units = value / 10u128.pow(decimals);
    let (shift, suffix) = if units >= 1_000_000_000_000 {
        (12, "T")
    } else if units >= 1_000_000_000 {
        (9, "B")
    } else if units >= 1_000_000 {
        (6, "M")
    } else if units >= 1_000 {
        (3, "k")
    } else {
        (0, "")
    };
    format!(
        "{}{}",
        decimal_string(value, decimals + shift, false),
        suffix
    )
}

/// Compact rendering of a (non-token) float: `1234567.0` → `"1.23M"`.
fn compact_f64(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_string();
    }
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let sa = scaled.abs();
    let s = if sa >= 100.0 {
        format!("{scaled:.0}")
    } else if sa >= 10.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.2}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{suffix}")
}

/// A per-call average rounded to an integer with separators (`"1,234,567"`), or `—`.
fn fmt_per_call(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() && x >= 0.0 => {
            if x < 10.0 {
                format!("{x:.2}")
            } else {
                fmt_int(x.round() as u64)
            }
        }
        Some(x) if x.is_finite() => format!("{x:.2}"),
        _ => "—".to_string(),
    }
}

fn fmt_duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "n/a".to_string();
    }
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        let m = (secs / 60.0).floor();
        format!("{}m {:04.1}s", m as u64, secs - m * 60.0)
    } else {
        let h = (secs / 3600.0).floor();
        let m = ((secs - h * 3600.0) / 60.0).floor();
        format!(
            "{}h {:02}m {:02.0}s",
            h as u64,
            m as u64,
            (secs - h * 3600.0 - m * 60.0).floor()
        )
    }
}

/// The start time with an explicit UTC marker (unless it already has one).
fn started_utc(s: &str) -> String {
    let t = s.trim();
    if t.is_empty() {
        "(unknown time)".to_string()
    } else if t.ends_with('Z') || t.ends_with("UTC") || t.ends_with("+00:00") {
        t.to_string()
    } else {
        format!("{t} UTC")
    }
}

fn fmt_rate(calls: u64, secs: f64) -> String {
    if secs.is_finite() && secs > 0.0 {
        format!("{:.1}", calls as f64 / secs)
    } else {
        "—".to_string()
    }
}

fn fmt_percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".to_string()
    } else {
        // One decimal, exact rounding half up, integer math.
        let tenths = (part as u128 * 1000 + whole as u128 / 2) / whole as u128;
        format!("{}.{}%", tenths / 10, tenths % 10)
    }
}

/// Simulated time as `d3 04:05:06`-ish: `"day 3 + 4h05m"`.
fn fmt_sim_time(secs: u64) -> String {
    let d = secs / 86_400;
    let rem = secs % 86_400;
    let h = rem / 3600;
    let m = (rem % 3600) / 60;
    let s = rem % 60;
    if rem == 0 {
        format!("day {d}")
    } else if s == 0 {
        format!("day {d} + {h}h{m:02}m")
    } else {
        format!("day {d} + {h}h{m:02}m{s:02}s")
    }
}

// ---------------------------------------------------------------------------------------------
// Table rows (shared by the terminal and Markdown renderings)
// ---------------------------------------------------------------------------------------------

const QUIZ_HEADERS: [&str; 6] = [
    "submitted",
    "passed",
    "failed",
    "daily-limit refusals",
    "other errors",
    "pass rate",
];
const SHARD_HEADERS: [&str; 7] = [
    "shard", "status", "users", "granted", "staked", "minted", "wasm",
];
const GOVERNANCE_HEADERS: [&str; 5] = ["proposal", "day", "title", "action", "outcome"];
const OPERATION_HEADERS: [&str; 4] = ["operation", "calls", "cycles/call", "instructions/call"];
const SCALING_HEADERS: [&str; 4] = ["learners", "shards", "active shards", "wall"];

impl Report {
    fn total_calls(&self) -> u64 {
        self.phases
            .iter()
            .map(|p| p.calls)
            .fold(0u64, u64::saturating_add)
    }

    fn total_errors(&self) -> u64 {
        self.phases
            .iter()
            .map(phase_errors)
            .fold(0u64, u64::saturating_add)
    }

    /// Final token totals: last timeline point, else the sum over shards.
    fn final_tokens(&self) -> (u128, u128, u128) {
        if let Some(p) = self.timeline.last() {
            (
                p.granted_e8s as u128,
                p.staked_e8s as u128,
                p.minted_e8s as u128,
            )
        } else {
            self.shard_sums()
        }
    }

    /// Exact sums over shards (u128: no overflow even with every shard at `u64::MAX`).
    fn shard_sums(&self) -> (u128, u128, u128) {
        self.shards
            .iter()
            .fold((0u128, 0u128, 0u128), |(g, s, m), r| {
                (
                    g + r.granted_e8s as u128,
                    s + r.staked_e8s as u128,
                    m + r.minted_e8s as u128,
                )
            })
    }

    fn has_operation_costs(&self) -> bool {
        self.operations.iter().any(|o| {
            o.cycles_per_call.is_some_and(f64::is_finite)
                || o.instructions_per_call.is_some_and(f64::is_finite)
        })
    }

    fn invariants_verdict(&self) -> String {
        let total = self.invariants.len();
        let failed = self.invariants.iter().filter(|i| !i.holds).count();
        if total == 0 {
            "✘ No invariants were checked.".to_string()
        } else if failed == 0 {
            format!("✔ All {total} invariants hold.")
        } else {
            format!("✘ {failed} of {total} invariants do NOT hold.")
        }
    }

    fn summary_rows(&self) -> Vec<Vec<String>> {
        let calls = self.total_calls();
        let errors = self.total_errors();
        let (granted, staked, minted) = self.final_tokens();
        let (active, total_shards) = match self.timeline.last() {
            Some(p) => (p.active_shards, p.shards),
            None => (
                self.shards
                    .iter()
                    .filter(|s| s.status.eq_ignore_ascii_case("active"))
                    .count() as u64,
                self.shards.len() as u64,
            ),
        };
        let passed_inv = self.invariants.iter().filter(|i| i.holds).count();
        let row = |k: &str, v: String| vec![k.to_string(), v];
        vec![
            row("learners", fmt_int(self.learners)),
            row("simulated days", self.days.to_string()),
            row(
                "started (UTC)",
                if self.started_at_utc.is_empty() {
                    "—".into()
                } else {
                    self.started_at_utc.clone()
                },
            ),
            row("wall time", fmt_duration(self.wall_secs)),
            row(
                "shard limits (soft / hard)",
                format!(
                    "{} / {} learners",
                    self.shard_soft_limit
                        .map_or_else(|| "—".into(), fmt_int),
                    self.shard_hard_limit
                        .map_or_else(|| "—".into(), fmt_int)
                ),
            ),
            row("calls", fmt_int(calls)),
            row("calls/s", fmt_rate(calls, self.wall_secs)),
            row(
                "errors",
                format!("{} ({})", fmt_int(errors), fmt_percent(errors, calls)),
            ),
            row(
                "shards (active / total)",
                format!("{} / {}", fmt_int(active), fmt_int(total_shards)),
            ),
            row("granted", format_lrn_wide(granted)),
            row("staked", format_lrn_wide(staked)),
            row("minted", format_lrn_wide(minted)),
            row(
                "quizzes passed",
                format!(
                    "{} of {}",
                    fmt_int(self.quizzes.passed),
                    fmt_int(self.quizzes.submitted)
                ),
            ),
            row("proposals", fmt_int(self.governance.len() as u64)),
            row(
                "invariants",
                format!(
                    "{passed_inv} of {} hold {}",
                    self.invariants.len(),
                    if self.all_invariants_hold() {
                        "✔"
                    } else {
                        "✘"
                    }
                ),
            ),
        ]
    }

    /// `max_kinds` limits the error kinds listed per phase (the rest are summarized).
    fn phase_rows(&self, max_kinds: usize) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = self
            .phases
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    fmt_int(p.calls),
                    fmt_int(p.ok),
                    fmt_int(phase_errors(p)),
                    fmt_duration(p.wall_secs),
                    fmt_rate(p.calls, p.wall_secs),
                    error_kinds(&p.errors, max_kinds),
                ]
            })
            .collect();
        if self.phases.len() > 1 {
            let wall: f64 = self.phases.iter().map(|p| p.wall_secs).sum();
            let ok = self
                .phases
                .iter()
                .map(|p| p.ok)
                .fold(0u64, u64::saturating_add);
            rows.push(vec![
                "total".into(),
                fmt_int(self.total_calls()),
                fmt_int(ok),
                fmt_int(self.total_errors()),
                fmt_duration(wall),
                fmt_rate(self.total_calls(), wall),
                String::new(),
            ]);
        }
        rows
    }

    /// The scaling samples where the number of shards (or active shards) changed, plus the
    /// first and the last.
    fn scaling_rows(&self) -> Vec<Vec<String>> {
        let last = self.scaling.len().saturating_sub(1);
        self.scaling
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                *i == 0
                    || *i == last
                    || (p.shards, p.active_shards)
                        != (self.scaling[i - 1].shards, self.scaling[i - 1].active_shards)
            })
            .map(|(_, p)| {
                vec![
                    fmt_int(p.learners),
                    fmt_int(p.shards),
                    fmt_int(p.active_shards),
                    fmt_duration(p.wall_secs),
                ]
            })
            .collect()
    }

    fn quiz_row(&self) -> Vec<String> {
        let q = &self.quizzes;
        vec![
            fmt_int(q.submitted),
            fmt_int(q.passed),
            fmt_int(q.failed),
            fmt_int(q.daily_limit_refusals),
            fmt_int(q.other_errors),
            fmt_percent(q.passed, q.submitted),
        ]
    }

    fn shard_total_row(&self, markdown: bool) -> Vec<String> {
        let (g, s, m) = self.shard_sums();
        let users = self.shards.iter().map(|r| r.users as u128).sum::<u128>();
        let label = if markdown { "**total**" } else { "total" };
        let users = group_thousands(&users.to_string());
        vec![
            label.into(),
            String::new(),
            users,
            format_lrn_wide(g),
            format_lrn_wide(s),
            format_lrn_wide(m),
            String::new(),
        ]
    }

    fn governance_rows(&self) -> Vec<Vec<String>> {
        self.governance
            .iter()
            .map(|g| {
                vec![
                    g.proposal_id.to_string(),
                    g.sim_day.to_string(),
                    g.title.clone(),
                    g.action.clone(),
                    g.outcome.clone(),
                ]
            })
            .collect()
    }

    fn operation_rows(&self) -> Vec<Vec<String>> {
        self.operations
            .iter()
            .map(|o| {
                vec![
                    o.operation.clone(),
                    fmt_int(o.calls),
                    fmt_per_call(o.cycles_per_call),
                    fmt_per_call(o.instructions_per_call),
                ]
            })
            .collect()
    }

    fn invariant_rows(&self) -> Vec<Vec<String>> {
        self.invariants
            .iter()
            .map(|i| {
                vec![
                    if i.holds { "✔" } else { "✘" }.to_string(),
                    i.name.clone(),
                    i.detail.clone(),
                ]
            })
            .collect()
    }

    // --- terminal tables -------------------------------------------------------------------

    fn summary_table(&self) -> Table {
        let mut t = new_table();
        t.set_header(vec!["metric", "value"]);
        for r in self.summary_rows() {
            t.add_row(r);
        }
        align_right(&mut t, &[1]);
        t
    }

    fn phases_table(&self) -> Option<Table> {
        if self.phases.is_empty() {
            return None;
        }
        let mut t = new_table();
        t.set_header(vec![
            "phase",
            "calls",
            "ok",
            "errors",
            "wall",
            "calls/s",
            "error kinds",
        ]);
        for r in self.phase_rows(3) {
            t.add_row(r);
        }
        align_right(&mut t, &[1, 2, 3, 4, 5]);
        Some(t)
    }

    fn scaling_table(&self) -> Option<Table> {
        if self.scaling.is_empty() {
            return None;
        }
        let mut t = new_table();
        t.set_header(SCALING_HEADERS.to_vec());
        for r in self.scaling_rows() {
            t.add_row(r);
        }
        align_right(&mut t, &[0, 1, 2, 3]);
        Some(t)
    }

    fn quizzes_table(&self) -> Table {
        let mut t = new_table();
        t.set_header(QUIZ_HEADERS.to_vec());
        t.add_row(self.quiz_row());
        align_right(&mut t, &[0, 1, 2, 3, 4, 5]);
        t
    }

    /// The shards table, plus a footer line when every shard runs the same wasm.
    fn shards_table(&self) -> Option<String> {
        if self.shards.is_empty() {
            return None;
        }
        // Rows with " LRN" on every amount; if that would not fit the terminal, the unit moves
        // into the headers. With one wasm hash for all shards, its column becomes a footer.
        let mut rows: Vec<Vec<String>> = self
            .shards
            .iter()
            .map(|s| {
                vec![
                    shorten_principal(&s.id),
                    s.status.clone(),
                    fmt_int(s.users),
                    format_lrn(s.granted_e8s),
                    format_lrn(s.staked_e8s),
                    format_lrn(s.minted_e8s),
                    if s.wasm_hash.is_empty() {
                        "—".into()
                    } else {
                        shorten_hash(&s.wasm_hash, 8)
                    },
                ]
            })
            .collect();
        if self.shards.len() > 1 {
            rows.push(self.shard_total_row(false));
        }
        let mut headers: Vec<String> = SHARD_HEADERS.iter().map(|h| h.to_string()).collect();
        let first_hash = &self.shards[0].wasm_hash;
        let uniform_hash =
            self.shards.len() > 1 && self.shards.iter().all(|s| &s.wasm_hash == first_hash);
        if uniform_hash {
            headers.pop();
            rows.iter_mut().for_each(|r| {
                r.pop();
            });
        }
        if estimated_width(&headers, &rows) > TERMINAL_WIDTH as usize {
            for h in &mut headers[3..6] {
                h.push_str(" (LRN)");
            }
            for r in &mut rows {
                for c in &mut r[3..6] {
                    if let Some(n) = c.strip_suffix(" LRN") {
                        *c = n.to_string();
                    }
                }
            }
        }
        let mut t = new_table();
        t.set_header(headers);
        for r in rows {
            t.add_row(r);
        }
        align_right(&mut t, &[2, 3, 4, 5]);
        let mut text = t.to_string();
        if uniform_hash {
            let hash = if first_hash.is_empty() {
                "—".to_string()
            } else {
                shorten_hash(first_hash, 16)
            };
            let _ = write!(text, "\n  every shard runs wasm {hash}");
        }
        Some(text)
    }

    fn governance_table(&self) -> Option<Table> {
        if self.governance.is_empty() {
            return None;
        }
        let mut t = new_table();
        t.set_header(GOVERNANCE_HEADERS.to_vec());
        for r in self.governance_rows() {
            t.add_row(r);
        }
        align_right(&mut t, &[0, 1]);
        Some(t)
    }

    fn operations_table(&self) -> Option<Table> {
        if self.operations.is_empty() {
            return None;
        }
        let mut t = new_table();
        t.set_header(OPERATION_HEADERS.to_vec());
        for r in self.operation_rows() {
            t.add_row(r);
        }
        align_right(&mut t, &[1, 2, 3]);
        Some(t)
    }

    fn invariants_table(&self) -> Option<Table> {
        if self.invariants.is_empty() {
            return None;
        }
        let mut t = new_table();
        t.set_header(vec!["", "invariant", "detail"]);
        for r in self.invariant_rows() {
            t.add_row(r);
        }
        Some(t)
    }
}

fn phase_errors(p: &PhaseStats) -> u64 {
    p.errors.values().copied().fold(0u64, u64::saturating_add)
}

/// `"Timeout×3, Refused×1, +2 more"`: most frequent first, then by name.
fn error_kinds(errors: &BTreeMap<String, u64>, max_kinds: usize) -> String {
    let mut kinds: Vec<(&String, &u64)> = errors.iter().filter(|(_, n)| **n > 0).collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut parts: Vec<String> = kinds
        .iter()
        .take(max_kinds)
        .map(|(k, n)| format!("{k}×{}", fmt_int(**n)))
        .collect();
    if kinds.len() > max_kinds {
        parts.push(format!("+{} more", kinds.len() - max_kinds));
    }
    parts.join(", ")
}

/// Width a table would need without wrapping (condensed preset: 3 columns of padding and
/// border per cell, plus the closing border).
fn estimated_width(headers: &[String], rows: &[Vec<String>]) -> usize {
    let cols = headers.len();
    let widest = |i: usize| {
        std::iter::once(&headers[i])
            .chain(rows.iter().filter_map(|r| r.get(i)))
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0)
    };
    (0..cols).map(widest).sum::<usize>() + 3 * cols + 1
}

fn new_table() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .apply_modifier(UTF8_ROUND_CORNERS)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(TERMINAL_WIDTH);
    t
}

fn align_right(t: &mut Table, cols: &[usize]) {
    for &c in cols {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

// --- Markdown ----------------------------------------------------------------------------

fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Inside a code span only `|` (table syntax) and newlines need care.
fn md_code(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('`', "'")
        .replace(['\r', '\n'], " ")
}

fn md_table(headers: &[&str], right: &[bool], rows: &[Vec<String>]) -> String {
    let mut s = String::new();
    s.push('|');
    for h in headers {
        let _ = write!(s, " {} |", md_cell(h));
    }
    s.push_str("\n|");
    for i in 0..headers.len() {
        s.push_str(if right.get(i).copied().unwrap_or(false) {
            " ---: |"
        } else {
            " --- |"
        });
    }
    s.push('\n');
    for r in rows {
        s.push('|');
        for c in r {
            // Cells that already are code spans were escaped by md_code.
            let cell = if c.len() > 1 && c.starts_with('`') && c.ends_with('`') {
                c.clone()
            } else {
                md_cell(c)
            };
            let _ = write!(s, " {cell} |");
        }
        s.push('\n');
    }
    s
}

// ---------------------------------------------------------------------------------------------
// SVG charts
// ---------------------------------------------------------------------------------------------

const CHART_W: f64 = 900.0;
const FONT: &str = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";
const AXIS_COLOR: &str = "#333333";
const GRID_COLOR: &str = "#e3e3e3";
const PALETTE: [&str; 5] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];

/// Escapes text for XML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids are dropped.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Round ticks `0, step, 2·step, …, count·step` covering `0..=max`, where `step` is
/// 1, 2 or 5 × 10^k base units and `count <= target` (`max == 0` gives one step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticks {
    pub step: u128,
    pub count: u128,
}

impl Ticks {
    pub fn nice(max: u128, target: u128) -> Ticks {
        let target = target.max(1);
        if max == 0 {
            return Ticks { step: 1, count: 1 };
        }
        let mut pow = 1u128;
        loop {
            for m in [1u128, 2, 5] {
                let step = m * pow;
                if step.saturating_mul(target) >= max {
                    return Ticks {
                        step,
                        count: max.div_ceil(step).max(1),
                    };
                }
            }
            pow *= 10;
        }
    }

    pub fn top(&self) -> u128 {
        self.step * self.count
    }

    pub fn values(&self) -> impl Iterator<Item = u128> + '_ {
        (0..=self.count).map(move |i| i * self.step)
    }
}

fn svg_open(out: &mut String, h: f64, title: &str) {
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" {FONT} font-size=\"12\">",
        w = CHART_W,
        h = h
    );
    let _ = writeln!(out, "<title>{}</title>", xml_escape(title));
    let _ = writeln!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{CHART_W}\" height=\"{h}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        out,
        "<text class=\"chart-title\" x=\"{}\" y=\"30\" text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\" fill=\"#111111\">{}</text>",
        CHART_W / 2.0,
        xml_escape(title)
    );
}

fn no_data_svg(title: &str) -> String {
    let mut s = String::new();
    svg_open(&mut s, 300.0, title);
    let _ = writeln!(
        s,
        "<rect x=\"80\" y=\"60\" width=\"{}\" height=\"200\" fill=\"none\" stroke=\"{GRID_COLOR}\"/>",
        CHART_W - 110.0
    );
    let _ = writeln!(
        s,
        "<text class=\"no-data\" x=\"{}\" y=\"165\" text-anchor=\"middle\" font-size=\"20\" fill=\"#777777\">no data</text>",
        80.0 + (CHART_W - 110.0) / 2.0
    );
    s.push_str("</svg>\n");
    s
}

/// The x axis of a line chart: simulated time (timeline charts) or a count (scaling chart).
struct XAxis {
    /// Base units per displayed unit (seconds per day, hour, …; 1 for counts).
    unit: u64,
    title: String,
    ticks: Ticks,
}

impl XAxis {
    fn for_timeline(points: &[TimelinePoint]) -> XAxis {
        let max_t = points.iter().map(|p| p.sim_time_secs).max().unwrap_or(0);
        let (unit_secs, unit_name) = if max_t == 0 || max_t >= 2 * 86_400 {
            (86_400, "days")
        } else if max_t >= 2 * 3600 {
            (3600, "hours")
        } else if max_t >= 120 {
            (60, "minutes")
        } else {
            (1, "seconds")
        };
        let max_units = (max_t as u128).div_ceil(unit_secs as u128);
        XAxis {
            unit: unit_secs,
            title: format!("simulated time ({unit_name})"),
            ticks: Ticks::nice(max_units, 8),
        }
    }

    fn for_count(max: u64, title: &str) -> XAxis {
        XAxis {
            unit: 1,
            title: title.to_string(),
            ticks: Ticks::nice(max as u128, 8),
        }
    }

    /// The right end of the axis, in base units.
    fn top(&self) -> f64 {
        self.ticks.top() as f64 * self.unit as f64
    }
}

struct LineSeries<'a> {
    name: &'a str,
    color: &'a str,
    dashed: bool,
    /// Drawn as steps: each value holds until the next point (counts that change in jumps).
    step: bool,
    /// (x in base units: sim time secs or a count, value in base units)
    points: Vec<(u64, u128)>,
}

/// A light dashed reference line through the origin, `y = x / per` (both in base units),
/// clipped to the plot area; no markers.
struct Guide<'a> {
    name: &'a str,
    per: u64,
    color: &'a str,
    dash: &'a str,
}

struct Panel<'a> {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    /// Base units per displayed unit = 10^decimals (8 for e8s → LRN, 0 for counts).
    decimals: u32,
    y_title: &'a str,
    x_title: Option<String>,
    /// The y axis reaches at least this (base units): headroom above the data.
    y_at_least: u128,
}

fn fmt_coord(v: f64) -> String {
    let s = format!("{v:.1}");
    if let Some(stripped) = s.strip_suffix(".0") {
        stripped.to_string()
    } else {
        s
    }
}

fn line_panel(
    out: &mut String,
    p: &Panel,
    axis: &XAxis,
    series: &[LineSeries],
    guides: &[Guide],
    labels: &[&str],
) {
    let max_y = series
        .iter()
        .flat_map(|s| s.points.iter().map(|pt| pt.1))
        .max()
        .unwrap_or(0);
    // An all-zero panel still gets a 0..1 (display unit) axis.
    let max_y = if max_y == 0 {
        10u128.pow(p.decimals)
    } else {
        max_y
    }
    .max(p.y_at_least);
    let yt = Ticks::nice(max_y, 5);
    let top = yt.top() as f64;
    let x_top = axis.top();
    let sx = |t: u64| p.x + (t as f64 / x_top) * p.w;
    let sy = |v: u128| p.y + p.h - (v as f64 / top) * p.h;

    // Grid and y ticks.
    let _ = writeln!(out, "<g class=\"y-axis\">");
    for v in yt.values() {
        let y = fmt_coord(sy(v));
        let _ = writeln!(
            out,
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{GRID_COLOR}\"/>",
            fmt_coord(p.x),
            fmt_coord(p.x + p.w)
        );
        let _ = writeln!(
            out,
            "<text class=\"tick tick-y\" x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{AXIS_COLOR}\">{}</text>",
            fmt_coord(p.x - 8.0),
            fmt_coord(sy(v) + 4.0),
            tick_label(v, p.decimals)
        );
    }
    let cy = p.y + p.h / 2.0;
    let _ = writeln!(
        out,
        "<text class=\"axis-title\" x=\"{x}\" y=\"{y}\" transform=\"rotate(-90 {x} {y})\" text-anchor=\"middle\" font-size=\"13\" fill=\"{AXIS_COLOR}\">{t}</text>",
        x = fmt_coord(p.x - 62.0),
        y = fmt_coord(cy),
        t = xml_escape(p.y_title)
    );
    let _ = writeln!(out, "</g>");

    // x ticks.
    let _ = writeln!(out, "<g class=\"x-axis\">");
    for v in axis.ticks.values() {
        let x = fmt_coord(p.x + (v as f64 / axis.ticks.top() as f64) * p.w);
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{AXIS_COLOR}\"/>",
            fmt_coord(p.y + p.h),
            fmt_coord(p.y + p.h + 5.0)
        );
        let _ = writeln!(
            out,
            "<text class=\"tick tick-x\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\" fill=\"{AXIS_COLOR}\">{}</text>",
            fmt_coord(p.y + p.h + 19.0),
            tick_label(v, 0)
        );
    }
    if let Some(t) = &p.x_title {
        let _ = writeln!(
            out,
            "<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" fill=\"{AXIS_COLOR}\">{}</text>",
            fmt_coord(p.x + p.w / 2.0),
            fmt_coord(p.y + p.h + 40.0),
            xml_escape(t)
        );
    }
    let _ = writeln!(out, "</g>");

    // Axes frame (left and bottom).
    let _ = writeln!(
        out,
        "<path d=\"M{} {} V{} H{}\" fill=\"none\" stroke=\"{AXIS_COLOR}\"/>",
        fmt_coord(p.x),
        fmt_coord(p.y),
        fmt_coord(p.y + p.h),
        fmt_coord(p.x + p.w)
    );

    // Guides, behind the series.
    for g in guides.iter().filter(|g| g.per > 0) {
        // y = x / per reaches the top of the y axis at x = top · per.
        let x_end = x_top.min(top * g.per as f64);
        let _ = writeln!(
            out,
            "<g class=\"guide\" data-name=\"{}\"><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"{}\"/></g>",
            xml_escape(g.name),
            fmt_coord(p.x),
            fmt_coord(p.y + p.h),
            fmt_coord(p.x + (x_end / x_top) * p.w),
            fmt_coord(p.y + p.h - (x_end / g.per as f64 / top) * p.h),
            g.color,
            g.dash
        );
    }

    // Series.
    for s in series {
        let _ = writeln!(
            out,
            "<g class=\"series\" data-name=\"{}\">",
            xml_escape(s.name)
        );
        let mut pts: Vec<String> = Vec::with_capacity(s.points.len() * 2);
        for (i, &(t, v)) in s.points.iter().enumerate() {
            if s.step && i > 0 {
                let prev = s.points[i - 1].1;
                pts.push(format!("{},{}", fmt_coord(sx(t)), fmt_coord(sy(prev))));
            }
            pts.push(format!("{},{}", fmt_coord(sx(t)), fmt_coord(sy(v))));
        }
        if pts.len() > 1 {
            let _ = writeln!(
                out,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} stroke-linejoin=\"{}\"/>",
                pts.join(" "),
                s.color,
                if s.dashed { " stroke-dasharray=\"6 4\"" } else { "" },
                if s.step { "miter" } else { "round" }
            );
        }
        for (i, &(t, v)) in s.points.iter().enumerate() {
            let label = labels.get(i).copied().unwrap_or("");
            let value = if p.decimals == 8 {
                format_lrn(v as u64)
            } else {
                fmt_int(v as u64)
            };
            let _ = writeln!(
                out,
                "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\"><title>{}: {} = {}</title></circle>",
                fmt_coord(sx(t)),
                fmt_coord(sy(v)),
                s.color,
                xml_escape(label),
                xml_escape(s.name),
                xml_escape(&value)
            );
        }
        let _ = writeln!(out, "</g>");
    }

    // Legend, above the plot area.
    let _ = writeln!(out, "<g class=\"legend\">");
    let mut lx = p.x;
    let ly = p.y - 12.0;
    for s in series {
        let _ =
            writeln!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"3\"{}/>",
            fmt_coord(lx),
            fmt_coord(ly - 4.0),
            fmt_coord(lx + 22.0),
            fmt_coord(ly - 4.0),
            s.color,
            if s.dashed { " stroke-dasharray=\"6 4\"" } else { "" }
        );
        let _ = writeln!(
            out,
            "<text class=\"legend-label\" x=\"{}\" y=\"{}\" fill=\"#111111\">{}</text>",
            fmt_coord(lx + 28.0),
            fmt_coord(ly),
            xml_escape(s.name)
        );
        lx += 28.0 + 7.5 * s.name.chars().count() as f64 + 24.0;
    }
    for g in guides.iter().filter(|g| g.per > 0) {
        let _ = writeln!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"{}\"/>",
            fmt_coord(lx),
            fmt_coord(ly - 4.0),
            fmt_coord(lx + 22.0),
            fmt_coord(ly - 4.0),
            g.color,
            g.dash
        );
        let _ = writeln!(
            out,
            "<text class=\"legend-label\" x=\"{}\" y=\"{}\" fill=\"#555555\">{}</text>",
            fmt_coord(lx + 28.0),
            fmt_coord(ly),
            xml_escape(g.name)
        );
        lx += 28.0 + 7.5 * g.name.chars().count() as f64 + 24.0;
    }
    let _ = writeln!(out, "</g>");
}

const SCALING_TITLE: &str = "Shards as learners register";
const TOKENS_TITLE: &str = "Tokens granted, staked and minted (LRN)";
const OPERATIONS_TITLE: &str = "Cost per call by operation";

impl Report {
    fn timeline_labels(&self) -> Vec<&str> {
        self.timeline.iter().map(|p| p.label.as_str()).collect()
    }

    /// `scaling.svg`: shards (steps) and active shards against the learners registered, with
    /// light guides of learners ÷ soft limit (the shards the hub's timer aims for) and learners ÷
    /// hard limit (the fewest shards that can hold them) when the limits are known.
    pub fn scaling_svg(&self) -> String {
        if self.scaling.is_empty() {
            return no_data_svg(SCALING_TITLE);
        }
        let max_learners = self.scaling.iter().map(|p| p.learners).max().unwrap_or(0);
        let axis = XAxis::for_count(max_learners, "learners registered");
        let max_shards = self.scaling.iter().map(|p| p.shards).max().unwrap_or(0);
        let labels: Vec<String> = self
            .scaling
            .iter()
            .map(|p| {
                format!(
                    "{} learners after {}",
                    fmt_int(p.learners),
                    fmt_duration(p.wall_secs)
                )
            })
            .collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let pts = |f: fn(&ScalingPoint) -> u64| -> Vec<(u64, u128)> {
            self.scaling
                .iter()
                .map(|p| (p.learners, f(p) as u128))
                .collect()
        };
        let limits: Vec<(String, u64, &str, &str)> = [
            (self.shard_soft_limit, "soft", "#8c8c8c", "3 4"),
            (self.shard_hard_limit, "hard", "#c98f8f", "9 4"),
        ]
        .into_iter()
        .filter_map(|(limit, kind, color, dash)| {
            limit.filter(|l| *l > 0).map(|l| {
                (
                    format!("learners ÷ {kind} limit ({})", fmt_int(l)),
                    l,
                    color,
                    dash,
                )
            })
        })
        .collect();
        let guides: Vec<Guide> = limits
            .iter()
            .map(|(name, per, color, dash)| Guide {
                name,
                per: *per,
                color,
                dash,
            })
            .collect();
        let mut s = String::new();
        svg_open(&mut s, 440.0, SCALING_TITLE);
        let _ = writeln!(
            s,
            "<text class=\"subtitle\" x=\"{}\" y=\"50\" text-anchor=\"middle\" fill=\"#555555\">{}</text>",
            CHART_W / 2.0,
            xml_escape(
                "new shard: by the hub's timer at the soft limit, or at once when all are full \
                 (hard limit) · active = open to new learners"
            )
        );
        line_panel(
            &mut s,
            &Panel {
                x: 90.0,
                y: 88.0,
                w: CHART_W - 120.0,
                h: 280.0,
                decimals: 0,
                y_title: "shards",
                x_title: Some(axis.title.clone()),
                // One shard of headroom, so the top step does not run along the frame.
                y_at_least: max_shards as u128 + 1,
            },
            &axis,
            &[
                LineSeries {
                    name: "shards",
                    color: PALETTE[3],
                    dashed: false,
                    step: true,
                    points: pts(|p| p.shards),
                },
                LineSeries {
                    name: "active shards",
                    color: PALETTE[2],
                    dashed: true,
                    step: true,
                    points: pts(|p| p.active_shards),
                },
            ],
            &guides,
            &labels,
        );
        s.push_str("</svg>\n");
        s
    }

    /// `tokens.svg`: granted / staked / minted over simulated time, in LRN.
    pub fn tokens_svg(&self) -> String {
        if self.timeline.is_empty() {
            return no_data_svg(TOKENS_TITLE);
        }
        let axis = XAxis::for_timeline(&self.timeline);
        let labels = self.timeline_labels();
        let mut s = String::new();
        svg_open(&mut s, 440.0, TOKENS_TITLE);
        let pts = |f: fn(&TimelinePoint) -> u64| -> Vec<(u64, u128)> {
            self.timeline
                .iter()
                .map(|p| (p.sim_time_secs, f(p) as u128))
                .collect()
        };
        line_panel(
            &mut s,
            &Panel {
                x: 90.0,
                y: 78.0,
                w: CHART_W - 120.0,
                h: 290.0,
                decimals: 8,
                y_title: "LRN",
                x_title: Some(axis.title.clone()),
                y_at_least: 0,
            },
            &axis,
            &[
                LineSeries {
                    name: "granted",
                    step: false,
                    color: PALETTE[0],
                    dashed: false,
                    points: pts(|p| p.granted_e8s),
                },
                LineSeries {
                    name: "staked",
                    step: false,
                    color: PALETTE[2],
                    dashed: false,
                    points: pts(|p| p.staked_e8s),
                },
                LineSeries {
                    name: "minted",
                    step: false,
                    color: PALETTE[1],
                    dashed: true,
                    points: pts(|p| p.minted_e8s),
                },
            ],
            &[],
            &labels,
        );
        s.push_str("</svg>\n");
        s
    }

    /// `operations.svg`: horizontal bars of cycles and instructions per call, one panel per
    /// metric that has data; `None` when no operation has either figure.
    pub fn operations_svg(&self) -> Option<String> {
        if !self.has_operation_costs() {
            return None;
        }
        type Metric = (
            &'static str,
            fn(&OperationCost) -> Option<f64>,
            &'static str,
        );
        let metrics: [Metric; 2] = [
            ("cycles per call", |o| o.cycles_per_call, PALETTE[3]),
            (
                "instructions per call",
                |o| o.instructions_per_call,
                PALETTE[0],
            ),
        ];
        let metrics: Vec<&Metric> = metrics
            .iter()
            .filter(|(_, f, _)| {
                self.operations
                    .iter()
                    .any(|o| f(o).is_some_and(f64::is_finite))
            })
            .collect();

        const MAX_NAME: usize = 34;
        let names: Vec<String> = self
            .operations
            .iter()
            .map(|o| {
                let n: Vec<char> = o.operation.chars().collect();
                if n.len() > MAX_NAME {
                    format!("{}…", n[..MAX_NAME - 1].iter().collect::<String>())
                } else {
                    o.operation.clone()
                }
            })
            .collect();
        let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) as f64;
        let left = (longest * 7.0 + 24.0).max(110.0);
        let right = 70.0;
        let plot_w = CHART_W - left - right;
        let row_h = 24.0;
        let rows = self.operations.len() as f64;
        let panel_h = rows * row_h;
        let panel_gap = 78.0; // room for x ticks, axis title and the next panel's header
        let top = 78.0;
        let height = top + metrics.len() as f64 * (panel_h + panel_gap) - panel_gap + 56.0;

        let mut s = String::new();
        svg_open(&mut s, height.ceil(), OPERATIONS_TITLE);

        // Legend (one entry per metric).
        let _ = writeln!(s, "<g class=\"legend\">");
        let mut lx = left;
        for (name, _, color) in &metrics {
            let _ = writeln!(
                s,
                "<rect x=\"{}\" y=\"48\" width=\"14\" height=\"12\" fill=\"{color}\"/>",
                fmt_coord(lx)
            );
            let _ = writeln!(
                s,
                "<text class=\"legend-label\" x=\"{}\" y=\"58\" fill=\"#111111\">{}</text>",
                fmt_coord(lx + 20.0),
                xml_escape(name)
            );
            lx += 20.0 + 7.5 * name.len() as f64 + 24.0;
        }
        let _ = writeln!(s, "</g>");

        for (mi, (metric, f, color)) in metrics.iter().enumerate() {
            let py = top + mi as f64 * (panel_h + panel_gap);
            let values: Vec<Option<f64>> = self
                .operations
                .iter()
                .map(|o| f(o).filter(|v| v.is_finite()).map(|v| v.max(0.0)))
                .collect();
            let max = values.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
            let ticks = Ticks::nice((max.ceil() as u128).max(1), 6);
            let top_v = ticks.top() as f64;
            let sx = |v: f64| left + (v / top_v) * plot_w;

            let _ = writeln!(
                s,
                "<g class=\"panel\" data-metric=\"{}\">",
                xml_escape(metric)
            );
            for v in ticks.values() {
                let x = fmt_coord(sx(v as f64));
                let _ = writeln!(
                    s,
                    "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{GRID_COLOR}\"/>",
                    fmt_coord(py),
                    fmt_coord(py + panel_h)
                );
                let _ = writeln!(
                    s,
                    "<text class=\"tick tick-x\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\" fill=\"{AXIS_COLOR}\">{}</text>",
                    fmt_coord(py + panel_h + 18.0),
                    tick_label(v, 0)
                );
            }
            let _ = writeln!(
                s,
                "<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" fill=\"{AXIS_COLOR}\">{}</text>",
                fmt_coord(left + plot_w / 2.0),
                fmt_coord(py + panel_h + 38.0),
                xml_escape(metric)
            );
            for (i, (name, v)) in names.iter().zip(&values).enumerate() {
                let ry = py + i as f64 * row_h;
                let _ = writeln!(
                    s,
                    "<text class=\"bar-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#111111\">{}</text>",
                    fmt_coord(left - 8.0),
                    fmt_coord(ry + row_h / 2.0 + 4.0),
                    xml_escape(name)
                );
                match v {
                    Some(v) => {
                        let w = (sx(*v) - left).max(0.0);
                        let _ = writeln!(
                            s,
                            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{color}\"><title>{}: {} = {}</title></rect>",
                            fmt_coord(left),
                            fmt_coord(ry + 4.0),
                            fmt_coord(w),
                            fmt_coord(row_h - 8.0),
                            xml_escape(&self.operations[i].operation),
                            xml_escape(metric),
                            fmt_per_call(Some(*v))
                        );
                        let _ = writeln!(
                            s,
                            "<text class=\"bar-value\" x=\"{}\" y=\"{}\" fill=\"{AXIS_COLOR}\">{}</text>",
                            fmt_coord(left + w + 5.0),
                            fmt_coord(ry + row_h / 2.0 + 4.0),
                            compact_f64(*v)
                        );
                    }
                    None => {
                        let _ = writeln!(
                            s,
                            "<text class=\"bar-value\" x=\"{}\" y=\"{}\" fill=\"#888888\">n/a</text>",
                            fmt_coord(left + 5.0),
                            fmt_coord(ry + row_h / 2.0 + 4.0)
                        );
                    }
                }
            }
            let _ = writeln!(
                s,
                "<path d=\"M{} {} V{} H{}\" fill=\"none\" stroke=\"{AXIS_COLOR}\"/>",
                fmt_coord(left),
                fmt_coord(py),
                fmt_coord(py + panel_h),
                fmt_coord(left + plot_w)
            );
            let _ = writeln!(s, "</g>");
        }
        s.push_str("</svg>\n");
        Some(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn sample() -> Report {
        let mut errors = BTreeMap::new();
        errors.insert("DailyLimitReached".to_string(), 12);
        errors.insert("Timeout".to_string(), 3);
        Report {
            learners: 1_000,
            days: 7,
            started_at_utc: "2025-01-02T03:04:05Z".into(),
            wall_secs: 83.25,
            phases: vec![
                PhaseStats {
                    name: "register".into(),
                    calls: 1_000,
                    ok: 1_000,
                    errors: BTreeMap::new(),
                    wall_secs: 4.0,
                },
                PhaseStats {
                    name: "learn & quiz".into(),
                    calls: 21_000,
                    ok: 20_985,
                    errors,
                    wall_secs: 70.0,
                },
            ],
            timeline: (0..=7u64)
                .map(|d| TimelinePoint {
                    label: format!("day {d}"),
                    sim_time_secs: d * DAY,
                    learners: 1_000,
                    shards: 1 + d / 3,
                    active_shards: 1,
                    granted_e8s: d * 123_450_000_000,
                    staked_e8s: d * 60_000_000_000,
                    minted_e8s: d * 123_450_000_000,
                })
                .collect(),
            shards: vec![
                ShardRow {
                    id: "rrkah-fqaaa-aaaaa-aaaaq-cai".into(),
                    status: "Full".into(),
                    users: 600,
                    granted_e8s: 500_000_000_000,
                    staked_e8s: 200_000_000_000,
                    minted_e8s: 500_000_000_000,
                    wasm_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                        .into(),
                },
                ShardRow {
                    id: "ryjl3-tyaaa-aaaaa-aaaba-cai".into(),
                    status: "Active".into(),
                    users: 400,
                    granted_e8s: 364_150_000_000,
                    staked_e8s: 220_000_000_000,
                    minted_e8s: 364_150_000_000,
                    wasm_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                        .into(),
                },
            ],
            governance: vec![GovernanceEvent {
                proposal_id: 3,
                title: "Add <course> \"Rust & ICP\"".into(),
                action: "ExecuteGenericNervousSystemFunction".into(),
                outcome: "Executed".into(),
                sim_day: 2,
            }],
            quizzes: QuizTotals {
                submitted: 20_000,
                passed: 15_000,
                failed: 4_985,
                daily_limit_refusals: 12,
                other_errors: 3,
            },
            operations: vec![
                OperationCost {
                    operation: "submit_quiz".into(),
                    calls: 20_000,
                    cycles_per_call: Some(2_345_678.9),
                    instructions_per_call: Some(5_123_456.0),
                },
                OperationCost {
                    operation: "register_user".into(),
                    calls: 1_000,
                    cycles_per_call: None,
                    instructions_per_call: Some(812_345.0),
                },
            ],
            invariants: vec![
                InvariantCheck {
                    name: "supply conserved".into(),
                    holds: true,
                    detail: "minted == granted".into(),
                },
                InvariantCheck {
                    name: "no double grants".into(),
                    holds: true,
                    detail: "0 duplicates".into(),
                },
            ],
            // Soft limit 400: a new shard at 400, 800, …; sampled every 100 learners.
            scaling: (0..=12u64)
                .map(|k| ScalingPoint {
                    learners: k * 100,
                    shards: 1 + k / 4,
                    active_shards: 1 + k / 4 - k / 9,
                    wall_secs: k as f64 * 0.5,
                })
                .collect(),
            shard_soft_limit: Some(400),
            shard_hard_limit: Some(500),
        }
    }

    // --- tokens & principals -----------------------------------------------------------

    #[test]
    fn lrn_formatting_is_exact() {
        assert_eq!(format_lrn(0), "0 LRN");
        assert_eq!(format_lrn(1), "0.00000001 LRN");
        assert_eq!(format_lrn(100_000_000), "1 LRN");
        assert_eq!(format_lrn(123_450_000_000), "1,234.5 LRN");
        assert_eq!(format_lrn(99_999_999), "0.99999999 LRN");
        assert_eq!(format_lrn(420_000_000_000_000_000), "4,200,000,000 LRN");
        assert_eq!(
            format_lrn(420_000_000_000_000_001),
            "4,200,000,000.00000001 LRN"
        );
        assert_eq!(format_lrn(u64::MAX), "184,467,440,737.09551615 LRN");
    }

    #[test]
    fn integers_get_thousands_separators() {
        assert_eq!(fmt_int(0), "0");
        assert_eq!(fmt_int(999), "999");
        assert_eq!(fmt_int(1_000), "1,000");
        assert_eq!(fmt_int(123_456), "123,456");
        assert_eq!(fmt_int(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn principals_are_shortened() {
        assert_eq!(
            shorten_principal("rrkah-fqaaa-aaaaa-aaaaq-cai"),
            "rrkah…cai"
        );
        assert_eq!(shorten_principal("aaaaa-aa"), "aaaaa-aa");
        assert_eq!(shorten_principal("123456789"), "123456789");
        assert_eq!(shorten_principal("1234567890"), "12345…890");
        assert_eq!(shorten_principal(""), "");
    }

    #[test]
    fn percent_and_durations() {
        assert_eq!(fmt_percent(15_000, 20_000), "75.0%");
        assert_eq!(fmt_percent(1, 3), "33.3%");
        assert_eq!(fmt_percent(2, 3), "66.7%");
        assert_eq!(fmt_percent(0, 0), "—");
        assert_eq!(fmt_duration(4.0), "4.0 s");
        assert_eq!(fmt_duration(83.25), "1m 23.2s");
        assert_eq!(fmt_duration(3_725.0), "1h 02m 05s");
        assert_eq!(compact_f64(2_345_678.9), "2.35M");
        assert_eq!(compact_f64(812_345.0), "812k");
        assert_eq!(compact_f64(12.0), "12");
    }

    // --- ticks -------------------------------------------------------------------------

    /// Parses an exact axis label ("4.2B", "0.00000002", "500k") into value × 10^8.
    fn parse_label_e8(label: &str) -> u128 {
        let (num, mult) = match label.chars().last() {
            Some('k') => (&label[..label.len() - 1], 3),
            Some('M') => (&label[..label.len() - 1], 6),
            Some('B') => (&label[..label.len() - 1], 9),
            Some('T') => (&label[..label.len() - 1], 12),
            _ => (label, 0),
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        assert!(
            !int.is_empty() && int.chars().all(|c| c.is_ascii_digit()),
            "bad label {label:?}"
        );
        assert!(
            frac.chars().all(|c| c.is_ascii_digit()) && !frac.ends_with('0'),
            "bad label {label:?}"
        );
        let digits: u128 = format!("{int}{frac}").parse().unwrap();
        let exp = 8 + mult - frac.len() as i32;
        assert!(exp >= 0, "label {label:?} finer than 1e-8");
        digits * 10u128.pow(exp as u32)
    }

    /// The labels are 0, s, 2s, … with s = 1, 2 or 5 × 10^k.
    fn assert_round_ticks(labels: &[String]) {
        assert!(labels.len() >= 2, "need at least two ticks: {labels:?}");
        let values: Vec<u128> = labels.iter().map(|l| parse_label_e8(l)).collect();
        assert_eq!(values[0], 0, "{labels:?}");
        let step = values[1];
        let mut m = step;
        while m.is_multiple_of(10) {
            m /= 10;
        }
        assert!(
            matches!(m, 1 | 2 | 5),
            "step {step} is not 1/2/5×10^k: {labels:?}"
        );
        for (i, v) in values.iter().enumerate() {
            assert_eq!(*v, step * i as u128, "tick {i} of {labels:?}");
        }
    }

    #[test]
    fn nice_ticks_are_round_and_cover_the_max() {
        for max in [
            1u128,
            3,
            7,
            10,
            11,
            99,
            101,
            1_000,
            4_321,
            999_999,
            420_000_000_000_000_000,
            u64::MAX as u128,
        ] {
            let t = Ticks::nice(max, 5);
            assert!(t.top() >= max, "{t:?} must cover {max}");
            assert!(t.count >= 1 && t.count <= 5, "{t:?} for {max}");
            let mut m = t.step;
            while m.is_multiple_of(10) {
                m /= 10;
            }
            assert!(matches!(m, 1 | 2 | 5), "{t:?}");
            // Not wastefully large: the previous round step would not have fit.
            assert!((t.count - 1) * t.step < max, "{t:?} overshoots {max}");
        }
        assert_eq!(Ticks::nice(0, 5), Ticks { step: 1, count: 1 });
        assert_eq!(Ticks::nice(101, 5), Ticks { step: 50, count: 3 });
        assert_eq!(
            Ticks::nice(420_000_000_000_000_000, 5),
            Ticks {
                step: 100_000_000_000_000_000,
                count: 5
            }
        );
    }

    #[test]
    fn tick_labels_use_exact_suffixes() {
        assert_eq!(tick_label(0, 8), "0");
        assert_eq!(tick_label(2, 8), "0.00000002");
        assert_eq!(tick_label(50_000_000, 8), "0.5");
        assert_eq!(tick_label(420_000_000_000_000_000, 8), "4.2B");
        assert_eq!(tick_label(150_000_000_000_000, 8), "1.5M");
        assert_eq!(tick_label(500_000, 0), "500k");
        assert_eq!(tick_label(1_000, 0), "1k");
        assert_eq!(tick_label(999, 0), "999");
        assert_eq!(tick_label(2_000_000_000_000, 0), "2T");
    }

    // --- invariants ----------------------------------------------------------------------

    #[test]
    fn all_invariants_hold_requires_at_least_one_and_no_failure() {
        let mut r = sample();
        assert!(r.all_invariants_hold());
        r.invariants[1].holds = false;
        assert!(!r.all_invariants_hold());
        r.invariants.clear();
        assert!(!r.all_invariants_hold());
        assert!(!Report::default().all_invariants_hold());
    }

    // --- terminal tables -----------------------------------------------------------------

    #[test]
    fn terminal_tables_fit_100_columns_and_show_everything() {
        let out = sample().render_tables();
        for line in out.lines() {
            assert!(
                line.chars().count() <= 100,
                "line too wide ({}): {line}",
                line.chars().count()
            );
        }
        for needle in [
            "Summary",
            "Phases",
            "Scaling (shards as learners register)",
            "active shards",
            "400 / 500 learners",
            "Quizzes",
            "Shards",
            "Governance",
            "Operations",
            "Invariants",
            "rrkah…cai",
            "ryjl3…cai",
            "8,641.5 LRN",
            "3,641.5 LRN",
            "75.0%",
            "DailyLimitReached×12",
            "supply conserved",
            "✔",
            "2,345,679",
            "—",
            "All 2 invariants hold",
        ] {
            assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
        }
        assert!(
            !out.contains("rrkah-fqaaa-aaaaa-aaaaq-cai"),
            "principal not shortened"
        );
        // Phase throughput: 21,000 calls in 70 s.
        assert!(out.contains("300.0"), "{out}");

        let mut failing = sample();
        failing.invariants[0].holds = false;
        let out = failing.render_tables();
        assert!(
            out.contains("✘") && out.contains("1 of 2 invariants do NOT hold"),
            "{out}"
        );
    }

    #[test]
    fn empty_report_renders() {
        let r = Report::default();
        let out = r.render_tables();
        assert!(
            out.contains("(none)") && out.contains("No invariants were checked"),
            "{out}"
        );
        let md = r.to_markdown();
        assert!(md.contains("No invariants were checked"));
        assert!(r.operations_svg().is_none());
    }

    // --- markdown ------------------------------------------------------------------------

    #[test]
    fn markdown_has_every_table_and_the_image_links() {
        let r = sample();
        let md = r.to_markdown();
        assert!(md.starts_with("# "));
        assert!(
            md.contains("started 2025-01-02T03:04:05Z, wall time 1m 23.2s."),
            "{md}"
        );
        assert_eq!(started_utc("2025-01-02 03:04"), "2025-01-02 03:04 UTC");
        for heading in [
            "## Summary",
            "## Phases",
            "## Scaling",
            "## Timeline",
            "## Quizzes",
            "## Shards",
            "## Governance",
            "## Operations",
            "## Invariants",
        ] {
            assert!(md.contains(heading), "missing {heading}");
        }
        for header_row in [
            "| metric | value |",
            "| phase | calls | ok | errors | wall | calls/s | error kinds |",
            "| learners | shards | active shards | wall |",
            "| submitted | passed | failed | daily-limit refusals | other errors | pass rate |",
            "| shard | status | users | granted | staked | minted | wasm |",
            "| proposal | day | title | action | outcome |",
            "| operation | calls | cycles/call | instructions/call |",
            "|  | invariant | detail |",
        ] {
            assert!(
                md.contains(header_row),
                "missing table header {header_row:?}\n{md}"
            );
        }
        assert!(md.contains("![Shards as learners register](scaling.svg)"));
        assert!(!md.contains("learners-and-shards"));
        // Scaling rows: the first, every change of shards or active shards, and the last.
        for row in [
            "| 0 | 1 | 1 | 0.0 s |",
            "| 400 | 2 | 2 | 2.0 s |",
            "| 800 | 3 | 3 | 4.0 s |",
            "| 900 | 3 | 2 | 4.5 s |",
            "| 1,200 | 4 | 3 | 6.0 s |",
        ] {
            assert!(md.contains(row), "missing scaling row {row:?}\n{md}");
        }
        assert!(!md.contains("| 300 | 1 | 1 |"), "unchanged samples are left out");
        assert!(md.contains("every active shard has 400 learners"));
        assert!(md.contains("full at 500 (hard limit)"));
        assert!(Report::default()
            .to_markdown()
            .contains("_No scaling samples recorded._"));
        assert!(md.contains("](tokens.svg)"));
        assert!(md.contains("](operations.svg)"));
        assert!(md.contains("✔ All 2 invariants hold."));
        assert!(md.contains("`rrkah-fqaaa-aaaaa-aaaaq-cai`"));
        // Every table row has the same number of cells as its header.
        for block in md.split("\n\n").filter(|b| b.starts_with('|')) {
            let cols: Vec<usize> = block.lines().map(|l| l.matches(" |").count()).collect();
            assert!(cols.iter().all(|c| *c == cols[0]), "ragged table:\n{block}");
        }

        let mut no_ops = r.clone();
        no_ops.operations.iter_mut().for_each(|o| {
            o.cycles_per_call = None;
            o.instructions_per_call = None;
        });
        assert!(!no_ops.to_markdown().contains("operations.svg"));

        let mut failing = r;
        failing.invariants[1].holds = false;
        let md = failing.to_markdown();
        assert!(md.contains("✘ 1 of 2 invariants do NOT hold."));
        assert!(!md.contains("All 2 invariants hold"));
    }

    #[test]
    fn markdown_escapes_pipes_and_newlines() {
        let mut r = sample();
        r.governance[0].title = "a | b\nc".into();
        let md = r.to_markdown();
        assert!(md.contains("a \\| b c"), "{md}");
    }

    // --- json ----------------------------------------------------------------------------

    #[test]
    fn json_round_trips() {
        let r = sample();
        let json = serde_json::to_string_pretty(&r).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
        let empty: Report =
            serde_json::from_str(&serde_json::to_string(&Report::default()).unwrap()).unwrap();
        assert_eq!(empty, Report::default());
        // A report.json written before `scaling` and `shard_soft_limit` existed still parses.
        let mut old: serde_json::Value = serde_json::to_value(&r).unwrap();
        let obj = old.as_object_mut().unwrap();
        for key in ["scaling", "shard_soft_limit", "shard_hard_limit"] {
            assert!(obj.remove(key).is_some(), "{key}");
        }
        let back: Report = serde_json::from_value(old).unwrap();
        assert_eq!(
            back,
            Report {
                scaling: Vec::new(),
                shard_soft_limit: None,
                shard_hard_limit: None,
                ..r
            }
        );
    }

    // --- svg -----------------------------------------------------------------------------

    fn parse_svg(svg: &str) -> roxmltree::Document<'_> {
        let doc =
            roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("malformed SVG: {e}\n{svg}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert!(root.attribute("viewBox").is_some(), "no viewBox");
        doc
    }

    fn texts_with_class(doc: &roxmltree::Document, class: &str) -> Vec<String> {
        doc.descendants()
            .filter(|n| {
                n.has_tag_name("text")
                    && n.attribute("class")
                        .is_some_and(|c| c.split(' ').any(|c| c == class))
            })
            .map(|n| n.text().unwrap_or("").to_string())
            .collect()
    }

    fn all_text(doc: &roxmltree::Document) -> String {
        doc.descendants()
            .filter(|n| n.is_text())
            .map(|n| n.text().unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn timeline_charts_are_well_formed_with_round_ticks() {
        let r = sample();
        for (svg, series) in [(r.tokens_svg(), vec!["granted", "staked", "minted"])] {
            let doc = parse_svg(&svg);
            let text = all_text(&doc);
            for s in series {
                assert!(
                    texts_with_class(&doc, "legend-label").contains(&s.to_string()),
                    "legend lacks {s}"
                );
            }
            assert!(text.contains("simulated time (days)"));
            assert!(doc.descendants().any(|n| n.has_tag_name("polyline")));
            let y = texts_with_class(&doc, "tick-y");
            // Check each run of labels starting at "0" (one per panel).
            for run in split_runs(&y) {
                assert_round_ticks(&run);
            }
            let x = texts_with_class(&doc, "tick-x");
            for run in split_runs(&x) {
                assert_round_ticks(&run);
            }
        }
        // 7 days of 1,234.5 LRN/day → max 8,641.5 LRN → ticks of 2k up to 10k.
        let doc_svg = r.tokens_svg();
        let doc = parse_svg(&doc_svg);
        assert_eq!(
            texts_with_class(&doc, "tick-y"),
            ["0", "2k", "4k", "6k", "8k", "10k"]
        );
        assert_eq!(
            texts_with_class(&doc, "tick-x"),
            ["0", "1", "2", "3", "4", "5", "6", "7"]
        );
        // Data-driven text is escaped.
        assert!(!doc_svg.contains("<course>"));
    }

    fn split_runs(labels: &[String]) -> Vec<Vec<String>> {
        let mut runs: Vec<Vec<String>> = Vec::new();
        for l in labels {
            if l == "0" || runs.is_empty() {
                runs.push(Vec::new());
            }
            runs.last_mut().unwrap().push(l.clone());
        }
        runs
    }

    #[test]
    fn scaling_chart_plots_shards_against_learners() {
        let r = sample();
        let svg = r.scaling_svg();
        let doc = parse_svg(&svg);
        let text = all_text(&doc);
        assert!(text.contains("Shards as learners register"), "{text}");
        assert!(text.contains("learners registered"));
        assert_eq!(
            texts_with_class(&doc, "legend-label"),
            [
                "shards",
                "active shards",
                "learners ÷ soft limit (400)",
                "learners ÷ hard limit (500)"
            ]
        );
        // x: 0..1,200 learners → ticks of 200; y: 4 shards + 1 of headroom → ticks of 1.
        assert_eq!(
            texts_with_class(&doc, "tick-x"),
            ["0", "200", "400", "600", "800", "1k", "1.2k"]
        );
        assert_eq!(
            texts_with_class(&doc, "tick-y"),
            ["0", "1", "2", "3", "4", "5"]
        );
        assert_round_ticks(&texts_with_class(&doc, "tick-x"));
        // Step lines: 13 points → 25 vertices (each change of value is a vertical jump).
        let lines: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .collect();
        assert_eq!(lines.len(), 2);
        for l in &lines {
            let pts: Vec<&str> = l.attribute("points").unwrap().split(' ').collect();
            assert_eq!(pts.len(), 25, "{pts:?}");
            // Steps: consecutive vertices share x or y.
            for w in pts.windows(2) {
                let (a, b) = (w[0].split_once(',').unwrap(), w[1].split_once(',').unwrap());
                assert!(a.0 == b.0 || a.1 == b.1, "diagonal {w:?}");
            }
        }
        // The guide: from the origin to (1,200 learners, 3 shards), dashed.
        let guide = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("guide"))
            .expect("a soft-limit guide");
        let line = guide.first_element_child().unwrap();
        assert!(line.attribute("stroke-dasharray").is_some());
        let (x1, y1, x2, y2) = ["x1", "y1", "x2", "y2"]
            .map(|a| line.attribute(a).unwrap().parse::<f64>().unwrap())
            .into();
        assert_eq!((x1, y1), (90.0, 368.0));
        assert_eq!(x2, 90.0 + 780.0);
        assert!((y2 - (368.0 - 280.0 * 3.0 / 5.0)).abs() < 0.06, "{y2}");
        // Markers carry escaped tooltips.
        assert!(text.contains("1,200 learners after 6.0 s: shards = 4"), "{text}");

        // Without the limits: no guide, same series.
        let no_limit = Report {
            shard_soft_limit: None,
            shard_hard_limit: None,
            ..r.clone()
        };
        let doc_svg = no_limit.scaling_svg();
        let doc = parse_svg(&doc_svg);
        assert!(!doc_svg.contains("class=\"guide\""));
        assert_eq!(
            texts_with_class(&doc, "legend-label"),
            ["shards", "active shards"]
        );

        // Shards lagging far behind the guide: the guide is clipped at the top of the axis.
        let lagging = Report {
            shard_soft_limit: Some(10),
            shard_hard_limit: None,
            ..r
        };
        let doc_svg = lagging.scaling_svg();
        let doc = parse_svg(&doc_svg);
        let line = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("guide"))
            .unwrap()
            .first_element_child()
            .unwrap();
        assert_eq!(line.attribute("y2"), Some("88"));
        assert_eq!(line.attribute("x2"), Some("122.5"), "5 shards × 10 = 50 of 1,200 learners");
    }

    #[test]
    fn charts_handle_edge_cases() {
        // Empty timeline / no scaling samples → "no data".
        let empty = Report::default();
        for svg in [empty.scaling_svg(), empty.tokens_svg()] {
            let doc = parse_svg(&svg);
            assert!(all_text(&doc).contains("no data"));
        }

        // Single point at t = 0, all zeros.
        let mut one = Report::default();
        one.timeline.push(TimelinePoint {
            label: "start".into(),
            ..Default::default()
        });
        one.scaling.push(ScalingPoint::default());
        one.shard_soft_limit = Some(400);
        for svg in [one.scaling_svg(), one.tokens_svg()] {
            let doc = parse_svg(&svg);
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            assert!(doc.descendants().any(|n| n.has_tag_name("circle")));
            for run in split_runs(&texts_with_class(&doc, "tick-y")) {
                assert_round_ticks(&run);
            }
            assert_round_ticks(&texts_with_class(&doc, "tick-x"));
        }
        // A soft limit of 0 draws no guide (and divides by nothing).
        one.shard_soft_limit = Some(0);
        let svg = one.scaling_svg();
        parse_svg(&svg);
        assert!(!svg.contains("class=\"guide\"") && !svg.contains("NaN"));

        // Huge values: 4.2e17 e8s and u64::MAX.
        let big = Report {
            timeline: vec![
                TimelinePoint {
                    label: "a".into(),
                    sim_time_secs: 0,
                    ..Default::default()
                },
                TimelinePoint {
                    label: "b".into(),
                    sim_time_secs: 30 * DAY,
                    learners: 5_000_000,
                    shards: 400,
                    active_shards: 2,
                    granted_e8s: 420_000_000_000_000_000,
                    staked_e8s: 100_000_000_000_000_000,
                    minted_e8s: u64::MAX,
                },
            ],
            ..Default::default()
        };
        let svg = big.tokens_svg();
        let doc = parse_svg(&svg);
        let y = texts_with_class(&doc, "tick-y");
        assert_round_ticks(&y);
        assert!(y.iter().any(|l| l.ends_with('B')), "{y:?}");
        assert_eq!(y.last().unwrap(), "200B");
        let huge = Report {
            scaling: vec![
                ScalingPoint::default(),
                ScalingPoint {
                    learners: 5_000_000,
                    shards: 12_500,
                    active_shards: 1,
                    wall_secs: f64::NAN,
                },
            ],
            shard_soft_limit: Some(400),
            ..Default::default()
        };
        let svg = huge.scaling_svg();
        let doc = parse_svg(&svg);
        let x = texts_with_class(&doc, "tick-x");
        assert!(x.contains(&"5M".to_string()), "{x:?}");
        assert_round_ticks(&x);
        assert_round_ticks(&texts_with_class(&doc, "tick-y"));
        assert!(!svg.contains("NaN"), "{svg}");

        // Sub-day timeline uses hours.
        let short = Report {
            timeline: (0..=6u64)
                .map(|h| TimelinePoint {
                    sim_time_secs: h * 3600,
                    learners: h,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let doc_svg = short.tokens_svg();
        let doc = parse_svg(&doc_svg);
        assert!(all_text(&doc).contains("simulated time (hours)"));
    }

    #[test]
    fn operations_chart() {
        let r = sample();
        let svg = r.operations_svg().expect("operations have costs");
        let doc = parse_svg(&svg);
        let text = all_text(&doc);
        for needle in [
            "cycles per call",
            "instructions per call",
            "submit_quiz",
            "register_user",
            "n/a",
            "2.35M",
        ] {
            assert!(text.contains(needle), "missing {needle:?}");
        }
        for run in split_runs(&texts_with_class(&doc, "tick-x")) {
            assert_round_ticks(&run);
        }
        // Only one metric present → one panel.
        let mut only_instr = r.clone();
        only_instr
            .operations
            .iter_mut()
            .for_each(|o| o.cycles_per_call = None);
        let svg = only_instr.operations_svg().unwrap();
        let doc = parse_svg(&svg);
        assert!(!all_text(&doc).contains("cycles per call"));
        // Names needing escapes.
        let mut odd = r;
        odd.operations[0].operation = "a<b>&\"c\"".into();
        parse_svg(&odd.operations_svg().unwrap());
    }

    #[test]
    fn output_is_deterministic() {
        let r = sample();
        assert_eq!(r.to_markdown(), r.clone().to_markdown());
        assert_eq!(r.scaling_svg(), r.clone().scaling_svg());
        assert_eq!(r.tokens_svg(), r.clone().tokens_svg());
        assert_eq!(r.operations_svg(), r.clone().operations_svg());
        assert_eq!(r.render_tables(), r.clone().render_tables());
    }

    #[test]
    fn xml_escaping() {
        assert_eq!(
            xml_escape("a<b>&\"c\"'d'"),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;"
        );
        assert_eq!(xml_escape("x\u{1}y"), "xy");
    }

    // --- files ---------------------------------------------------------------------------

    #[test]
    fn write_all_writes_every_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested").join("report");
        let r = sample();
        let paths = r.write_all(&dir).unwrap();
        let names: Vec<String> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                REPORT_MD,
                REPORT_JSON,
                SCALING_SVG,
                TOKENS_SVG,
                OPERATIONS_SVG
            ]
        );
        for p in &paths {
            assert!(p.starts_with(&dir));
            assert!(
                std::fs::metadata(p).unwrap().len() > 0,
                "{} is empty",
                p.display()
            );
        }
        let json = std::fs::read_to_string(dir.join(REPORT_JSON)).unwrap();
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), r);
        assert_eq!(
            std::fs::read_to_string(dir.join(REPORT_MD)).unwrap(),
            r.to_markdown()
        );
        for svg in [SCALING_SVG, TOKENS_SVG, OPERATIONS_SVG] {
            parse_svg(&std::fs::read_to_string(dir.join(svg)).unwrap());
        }
        // Same report → same bytes.
        let again = tmp.path().join("again");
        r.write_all(&again).unwrap();
        for n in &names {
            assert_eq!(
                std::fs::read(dir.join(n)).unwrap(),
                std::fs::read(again.join(n)).unwrap(),
                "{n} differs"
            );
        }

        // No operation costs → no operations.svg; empty timeline still writes charts.
        let empty_dir = tmp.path().join("empty");
        let paths = Report::default().write_all(&empty_dir).unwrap();
        assert_eq!(paths.len(), 4);
        assert!(!empty_dir.join(OPERATIONS_SVG).exists());
    }

    #[test]
    fn terminal_tables_stay_within_100_columns_for_extreme_values() {
        let mut r = sample();
        for s in &mut r.shards {
            s.id = "2vxsx-fae7q-xpqmq-3ylmd-pzg3t-6jw4x-sp3kf-g5ch6-zq3hv-fqd2r-qqe".into();
            s.granted_e8s = u64::MAX;
            s.staked_e8s = 420_000_000_000_000_000;
            s.minted_e8s = u64::MAX - 1;
        }
        r.phases[1].errors.insert("CanisterError: IC0503 canister trapped explicitly: out of cycles while doing something long".into(), 7);
        r.governance[0].title =
            "A very long proposal title that goes on and on about upgrading every shard".into();
        let out = r.render_tables();
        for line in out.lines() {
            assert!(
                line.chars().count() <= 100,
                "line too wide ({}): {line}",
                line.chars().count()
            );
        }
        assert!(out.contains("184,467,440,737.09551615"), "{out}");
        assert!(out.contains("granted (LRN)"), "{out}");
    }

    /// Prints the sample's tables (run with `--nocapture` to eyeball the layout).
    #[test]
    fn print_tables_smoke() {
        sample().print_tables();
        if let Ok(dir) = std::env::var("REPORT_DEMO_DIR") {
            sample().write_all(Path::new(&dir)).unwrap();
        }
    }
}
