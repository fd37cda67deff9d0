//! The scale run of issue 14 §1: `N` learners registered through the hub's real `register`, in
//! bulk rounds, with the production shard limits (90,000 soft / 100,000 hard), so the hub's
//! auto-scaling creates the shards (`ensure_capacity` inside `register`). Reports wall time,
//! localnet rounds, shards and their learners, host peak RSS, the rate every 50,000, and every
//! refused registration. Checked at the end: the hub counts `N` users, the shards' counts sum to
//! `N`, no shard is over the hard limit.
//!
//! ```text
//! cargo run --release -p bench -- --scale 1000000          # the full run: bench/results.{json,md}
//! cargo run --release -p bench -- --scale 20000 --out /tmp/s # a shorter run: /tmp/s/scale.{json,md}
//! ```

use crate::env::{args, decode, learner, Env};
use candid::Principal;
use platform_types::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::time::Instant;

/// The run issue 14 asks for; only its results go to bench/results.{json,md}.
pub const FULL_RUN: u64 = 1_000_000;
/// Ingress messages submitted before the rounds run (as `Env::bulk`): fewer than the calls the
/// hub may have open to one shard (localnet, like the IC, refuses the 501st), so a batch's
/// registrations are not refused for a full queue.
const BATCH: usize = localnet::MAX_OUTSTANDING_CALLS_PER_PAIR * 4 / 5;
/// A progress point every this many registrations.
const PROGRESS_EVERY: u64 = 50_000;
/// Submissions of one learner refused for now (e.g. `NoCapacity` while the hub creates a
/// shard) before the run gives up on it.
const MAX_ATTEMPTS: u32 = 20;
/// Rounds let run after a batch with refusals, so the shard creation under way can finish.
const SETTLE_ROUNDS: u64 = 1_000;
/// Simulated time per round: an application subnet finalizes about one block a second, so the
/// hub's timers (auto-scaling every `auto_scale_interval_secs`) fire as often, in rounds, as on
/// the IC. (localnet's own clock moves 1 ns a round: no timer would fire in the whole run.)
const ROUND_TIME: std::time::Duration = std::time::Duration::from_secs(1);
/// Issue 14 §2: under 30 minutes on this machine.
const ISSUE_TARGET_SECONDS: f64 = 30.0 * 60.0;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ScaleResults {
    pub command: String,
    pub learners: u64,
    /// Registrations submitted before each bulk round; `None` in results written before the
    /// field, whose runs submitted 2,000.
    #[serde(default)]
    pub batch: Option<u64>,
    /// `release` or `debug`: the build of localnet (and wasmtime's host code) that ran.
    pub build: String,
    pub shard_soft_limit: u64,
    pub shard_hard_limit: u64,
    pub wall_seconds: f64,
    pub registrations_per_second: f64,
    pub rounds: u64,
    pub hub_users: u64,
    /// Shards when the last learner was registered; `shards` below: after the hub's timer had
    /// `settle_seconds` of simulated time (two auto-scale intervals) to add the spare shard.
    #[serde(default)]
    pub shards_at_last_registration: usize,
    #[serde(default)]
    pub settle_seconds: u64,
    pub shards: Vec<ScaleShard>,
    /// Host peak resident set (VmHWM of /proc/self/status), bytes.
    pub peak_rss_bytes: u64,
    /// Instructions of every execution the run caused (hub, shards, shard creation, inspect_message
    /// included) per registered learner.
    pub instructions_per_registration: f64,
    /// Executions (of every canister) per registered learner, and OS heap pages they wrote
    /// per execution: what localnet's per-message commit works on.
    pub executions_per_registration: f64,
    pub dirty_pages_per_execution: f64,
    /// Refused registrations that were submitted again, by reason.
    pub retried: BTreeMap<String, u64>,
    pub progress: Vec<ScaleProgress>,
    /// The issue's target (30 minutes) met.
    pub within_target: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ScaleShard {
    pub id: String,
    pub user_count: u64,
    pub status: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ScaleProgress {
    pub registered: u64,
    pub wall_seconds: f64,
    pub rounds: u64,
    pub shards: usize,
    /// Registrations per second since the previous point.
    pub rate_per_second: f64,
    pub rss_bytes: u64,
}

/// How the hub answered one `register`.
#[derive(Debug, PartialEq)]
pub enum Answer {
    Registered(Principal),
    /// Refused for now, nothing recorded: submit again (the reason, for the count).
    Transient(String),
    Refused(String),
}

/// Judges a `register` reply: only `NoCapacity` (a shard is being created) and `InProgress`
/// (an earlier submission of the same learner is still completing) are worth another try.
pub fn judge(reply: &[u8]) -> Answer {
    match candid::decode_one::<Result<Principal, RegisterError>>(reply) {
        Ok(Ok(shard)) => Answer::Registered(shard),
        Ok(Err(RegisterError::NoCapacity { .. })) => Answer::Transient("NoCapacity".into()),
        Ok(Err(RegisterError::InProgress)) => Answer::Transient("InProgress".into()),
        // The hub's call to the shard was not made or not answered (e.g. its queue to the
        // shard full): nothing was kept, a client registers again.
        Ok(Err(RegisterError::ShardUnavailable { .. })) => Answer::Transient("ShardUnavailable".into()),
        Ok(Err(e)) => Answer::Refused(format!("{e:?}")),
        Err(e) => Answer::Refused(format!("the reply does not decode: {e}")),
    }
}

/// `VmHWM` (peak) or `VmRSS` of this process in bytes, from /proc/self/status; 0 where there is none.
pub fn proc_status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status").map(|s| status_field_bytes(&s, field)).unwrap_or(0)
}

fn status_field_bytes(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// What the end-of-run check needs from the hub.
pub fn check_totals(learners: u64, hub_users: u64, shards: &[ScaleShard], hard_limit: u64) -> Result<(), String> {
    if hub_users != learners {
        return Err(format!("the hub counts {hub_users} users, {learners} registered"));
    }
    let sum: u64 = shards.iter().map(|s| s.user_count).sum();
    if sum != learners {
        return Err(format!("the shards count {sum} users together, {learners} registered"));
    }
    if let Some(s) = shards.iter().find(|s| s.user_count > hard_limit) {
        return Err(format!("shard {} holds {} users, over the hard limit {hard_limit}", s.id, s.user_count));
    }
    Ok(())
}

fn list_shards(env: &Env) -> Vec<ShardInfo> {
    let reply = env.net.query_call(env.hub, Principal::anonymous(), "list_shards", args(())).expect("list_shards");
    decode(&reply)
}

fn fund_new_shards(env: &Env, funded: &mut BTreeSet<Principal>) -> usize {
    let shards = list_shards(env);
    for s in &shards {
        if funded.insert(s.id) {
            env.fund(s.id);
        }
    }
    shards.len()
}

/// Registers `n` learners; panics (the run fails) on a refusal that is not transient, a learner
/// still refused after `MAX_ATTEMPTS`, or a failed end-of-run check.
pub fn run(n: u64, command: String) -> ScaleResults {
    let config = PlatformConfig::default();
    eprintln!(
        "bench: scale: {n} learners through the hub, shard limits {} / {} ({} build)",
        config.shard_soft_limit,
        config.shard_hard_limit,
        build()
    );
    // The production configuration: no shard limit override.
    let env = Env::deploy(ConfigOverrides::default());
    let mut funded = BTreeSet::new();
    let rounds0 = env.net.round();
    let started = Instant::now();
    let mut retried: BTreeMap<String, u64> = BTreeMap::new();
    let mut progress = Vec::new();
    let (mut instructions, mut executions, mut dirty_pages) = (0u128, 0u64, 0u64);
    let mut registered = 0u64;
    let mut next_learner = 1u64;
    // Learners refused for now, with the attempts they had.
    let mut again: Vec<(u64, u32)> = Vec::new();
    let (mut last_point_secs, mut last_point_count) = (0.0, 0u64);
    while registered < n {
        let mut batch: Vec<(u64, u32)> = std::mem::take(&mut again);
        let fresh = (BATCH.saturating_sub(batch.len()) as u64).min(n + 1 - next_learner);
        batch.extend((next_learner..next_learner + fresh).map(|i| (i, 0)));
        next_learner += fresh;
        let submitted: Vec<_> = batch
            .into_iter()
            .map(|(i, attempts)| {
                let id = env
                    .net
                    .submit_call(env.hub, learner(i), "register", args((None::<RegistrationProof>,)))
                    .unwrap_or_else(|e| panic!("scale: learner {i}: the ingress was refused: {e:?}"));
                (i, attempts, id)
            })
            .collect();
        // Rounds, each a second of simulated time, until every submission is answered.
        while submitted.iter().any(|&(_, _, id)| env.net.ingress_status(id).is_none()) {
            assert!(env.net.has_work(), "scale: submissions unanswered and nothing left to execute");
            env.net.advance_time(ROUND_TIME);
            env.net.tick();
        }
        for (i, attempts, id) in submitted {
            let reply = env.net.await_call(id).unwrap_or_else(|e| panic!("scale: learner {i}: register was rejected: {e:?}"));
            match judge(&reply) {
                Answer::Registered(_) => registered += 1,
                Answer::Transient(why) if attempts + 1 < MAX_ATTEMPTS => {
                    *retried.entry(why).or_default() += 1;
                    again.push((i, attempts + 1));
                }
                Answer::Transient(why) => panic!("scale: learner {i} still refused after {MAX_ATTEMPTS} attempts: {why}"),
                Answer::Refused(why) => panic!("scale: learner {i}: register refused: {why}"),
            }
        }
        if !again.is_empty() {
            env.net.run_until_idle(SETTLE_ROUNDS);
        }
        // The log grows with every execution; the run keeps only its instruction total.
        for r in env.net.take_execution_log() {
            instructions += r.instructions as u128;
            executions += 1;
            dirty_pages += r.dirty_pages as u64;
        }
        let shards = fund_new_shards(&env, &mut funded);
        if registered / PROGRESS_EVERY > last_point_count / PROGRESS_EVERY || registered == n {
            let secs = started.elapsed().as_secs_f64();
            let point = ScaleProgress {
                registered,
                wall_seconds: secs,
                rounds: env.net.round() - rounds0,
                shards,
                rate_per_second: (registered - last_point_count) as f64 / (secs - last_point_secs).max(1e-9),
                rss_bytes: proc_status_bytes("VmRSS"),
            };
            eprintln!(
                "bench: scale: {registered} registered, {secs:.0} s, {} rounds, {shards} shards, {:.0}/s, RSS {} MiB",
                point.rounds,
                point.rate_per_second,
                point.rss_bytes >> 20
            );
            progress.push(point);
            (last_point_secs, last_point_count) = (secs, registered);
        }
    }
    let wall_seconds = started.elapsed().as_secs_f64();
    let rounds = env.net.round() - rounds0;
    let shards_at_last_registration = list_shards(&env).len();
    // The auto-scaler acts on its timer: once every shard is past the soft limit it adds one
    // within an interval. Two intervals of simulated time, rounds running, let it.
    let settle_seconds = 2 * config.auto_scale_interval_secs;
    for _ in 0..settle_seconds / ROUND_TIME.as_secs() {
        env.net.advance_time(ROUND_TIME);
        env.net.tick();
    }
    fund_new_shards(&env, &mut funded);
    let shards: Vec<ScaleShard> = list_shards(&env)
        .into_iter()
        .map(|s| ScaleShard { id: s.id.to_text(), user_count: s.user_count, status: format!("{:?}", s.status) })
        .collect();
    let stats: GlobalStats = decode(&env.net.query_call(env.hub, Principal::anonymous(), "get_global_stats", args(())).expect("get_global_stats"));
    check_totals(n, stats.users, &shards, config.shard_hard_limit).unwrap_or_else(|e| panic!("scale: {e}"));
    ScaleResults {
        batch: Some(BATCH as u64),
        command,
        learners: n,
        build: build().into(),
        shard_soft_limit: config.shard_soft_limit,
        shard_hard_limit: config.shard_hard_limit,
        wall_seconds,
        registrations_per_second: n as f64 / wall_seconds,
        rounds,
        hub_users: stats.users,
        shards_at_last_registration,
        settle_seconds,
        shards,
        peak_rss_bytes: proc_status_bytes("VmHWM"),
        instructions_per_registration: instructions as f64 / n as f64,
        executions_per_registration: executions as f64 / n as f64,
        dirty_pages_per_execution: dirty_pages as f64 / executions.max(1) as f64,
        retried,
        progress,
        within_target: wall_seconds < ISSUE_TARGET_SECONDS,
    }
}

fn build() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// The target row of the results table.
pub fn target(s: &ScaleResults) -> crate::report::Target {
    crate::report::Target {
        target: "1,000,000 learners registered on localnet".into(),
        limit: "< 30 minutes".into(),
        measured: format!(
            "{} learners in {:.1} min ({:.0}/s, {} shards, peak RSS {} MiB)",
            s.learners,
            s.wall_seconds / 60.0,
            s.registrations_per_second,
            s.shards.len(),
            s.peak_rss_bytes >> 20
        ),
        status: if s.learners < FULL_RUN {
            "NOT MEASURED".into()
        } else if s.within_target {
            "PASS".into()
        } else {
            "FAIL".into()
        },
    }
}

/// The "Scale" section of results.md (and of scale.md).
pub fn markdown(s: &ScaleResults) -> String {
    let mut md = String::new();
    let w = &mut md;
    writeln!(w, "## Scale: {} learners registered through the hub (`{}`)", s.learners, s.command).unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "Production shard limits ({} soft / {} hard), {} build of localnet, bulk rounds of {} ingress messages, \
         {} s of simulated time per round (the hub's timers fire as on the IC). \
         Wall time {:.1} s ({:.1} min, {:.0} registrations/s), {} rounds, {} shards at the last registration and {} \
         after {} s more of simulated time (the hub's auto-scale timer), host peak RSS {} MiB, \
         {:.0} instructions per registration (every execution of the run, shard creation included), \
         {:.1} executions per registration writing {:.1} OS heap pages each. The hub counts {} users.",
        s.shard_soft_limit,
        s.shard_hard_limit,
        s.build,
        s.batch.unwrap_or(2_000),
        ROUND_TIME.as_secs(),
        s.wall_seconds,
        s.wall_seconds / 60.0,
        s.registrations_per_second,
        s.rounds,
        s.shards_at_last_registration,
        s.shards.len(),
        s.settle_seconds,
        s.peak_rss_bytes >> 20,
        s.instructions_per_registration,
        s.executions_per_registration,
        s.dirty_pages_per_execution,
        s.hub_users
    )
    .unwrap();
    writeln!(w).unwrap();
    let retried = if s.retried.is_empty() {
        "none".to_string()
    } else {
        s.retried.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")
    };
    writeln!(w, "Refused and submitted again: {retried}.").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "| shard | status | learners |").unwrap();
    writeln!(w, "|---|---|---:|").unwrap();
    for sh in &s.shards {
        writeln!(w, "| {} | {} | {} |", sh.id, sh.status, sh.user_count).unwrap();
    }
    writeln!(w).unwrap();
    writeln!(w, "| registered | wall s | rounds | shards | registrations/s (since previous) | RSS MiB |").unwrap();
    writeln!(w, "|---:|---:|---:|---:|---:|---:|").unwrap();
    for p in &s.progress {
        writeln!(w, "| {} | {:.1} | {} | {} | {:.0} | {} |", p.registered, p.wall_seconds, p.rounds, p.shards, p.rate_per_second, p.rss_bytes >> 20)
            .unwrap();
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(r: Result<Principal, RegisterError>) -> Vec<u8> {
        candid::encode_one(r).unwrap()
    }

    #[test]
    fn only_capacity_in_progress_and_an_unavailable_shard_are_transient() {
        let shard = Principal::from_slice(&[1; 10]);
        assert_eq!(judge(&reply(Ok(shard))), Answer::Registered(shard));
        assert_eq!(judge(&reply(Err(RegisterError::NoCapacity { detail: "creating".into() }))), Answer::Transient("NoCapacity".into()));
        assert_eq!(judge(&reply(Err(RegisterError::InProgress))), Answer::Transient("InProgress".into()));
        assert!(matches!(judge(&reply(Err(RegisterError::PlatformPaused))), Answer::Refused(_)));
        assert_eq!(
            judge(&reply(Err(RegisterError::ShardUnavailable { shard, detail: "x".into() }))),
            Answer::Transient("ShardUnavailable".into())
        );
        assert!(matches!(judge(b"not candid"), Answer::Refused(_)));
    }

    #[test]
    fn reads_kilobyte_fields_of_proc_status() {
        let status = "Name:\tbench\nVmPeak:\t  900 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(status_field_bytes(status, "VmHWM"), 2048 * 1024);
        assert_eq!(status_field_bytes(status, "VmRSS"), 1024 * 1024);
        assert_eq!(status_field_bytes(status, "VmSwap"), 0);
        assert!(proc_status_bytes("VmHWM") > 0, "this process has a peak RSS");
    }

    fn shard(users: u64) -> ScaleShard {
        ScaleShard { id: format!("s{users}"), user_count: users, status: "Active".into() }
    }

    #[test]
    fn the_end_check_catches_each_mismatch() {
        assert_eq!(check_totals(150, 150, &[shard(100), shard(50)], 100), Ok(()));
        assert!(check_totals(150, 149, &[shard(100), shard(50)], 100).unwrap_err().contains("hub counts 149"));
        assert!(check_totals(150, 150, &[shard(100), shard(49)], 100).unwrap_err().contains("count 149"));
        assert!(check_totals(150, 150, &[shard(101), shard(49)], 100).unwrap_err().contains("over the hard limit"));
    }
}
