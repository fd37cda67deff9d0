//! The benchmark of issue 14 §1 (first cut): instructions per message of the platform's public
//! endpoints beside a bare `echo` canister, stable-memory bytes per learner, shard upgrade
//! instructions, cycles per learner-day against the fee floor, and the §2 targets, on localnet.
//!
//! ```text
//! bash scripts/build-canisters.sh
//! cargo run -p bench -- [--sizes 1000,10000] [--calls 50] [--subnets 1,4,13] [--out bench/] [--check]
//! ```
//!
//! `--subnets` (default `1,4,13`; `none` to skip): the platform's sustained updates per second
//! with that many subnets (`subnets.rs`).
//!
//! `--scale N` runs only the scale run (`scale.rs`, use `--release`): N learners registered
//! through the hub with the production shard limits. Its results go into the `scale` field and
//! "Scale" section of `<out>/results.{json,md}` when that file exists (bench/ only for the full
//! run, N = 1,000,000; a shorter run needs `--out` elsewhere), else into `<out>/scale.{json,md}`.
//!
//! Writes `<out>/results.json` and `<out>/results.md`. When `<out>/results.json` exists, every
//! instruction and byte figure is compared with it first; growth over 5 % is printed, and with
//! `--check` the program then exits with status 1 and leaves the previous results in place. It
//! is not a test: nothing runs it but you.

mod batches;
mod catalogue;
mod env;
mod idle;
mod model;
mod report;
mod scale;
mod subnets;

use candid::Principal;
use env::{answers, args, decode, learner, profile, subject, unit_id, Env, UpdateSample, Verdict, UNITS};
use model::{spread, ISSUE_PROFILE};
use platform_types::http::{HttpRequest, HttpResponse};
use platform_types::*;
use report::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Completed units and withdrawals of the typical learner (issue 14 §1).
const COMPLETED_UNITS: usize = 10;
const WITHDRAWALS: usize = 3;
/// The unit every measured submission passes: one no learner has completed.
const MEASURED_UNIT: usize = COMPLETED_UNITS;
/// Shard sizes of the upgrade measured with learners registered directly at a shard.
const BARE_UPGRADE_SIZES: [u64; 2] = [1_000, 100_000];
const DAILY_ACTIVE_LEARNERS: u64 = 1_000_000;

/// The user_profile stable memories (canisters/user_profile/src/state.rs).
const SHARD_MEMORIES: [(u8, &str); 22] = [
    (0, "init_args"),
    (1, "users (before compact records)"),
    (2, "completed (before compact records)"),
    (3, "counters"),
    (4, "withdrawals"),
    (5, "pending_withdrawals"),
    (6, "withdrawal_counters"),
    (7, "owed_by_user"),
    (8, "owed_queue"),
    (9, "retry_queue"),
    (10, "users"),
    (11, "completions (unused: kept in the records)"),
    (12, "unit_numbers"),
    (13, "unit_ids"),
    (14, "layout"),
    (15, "tombstones"),
    (50, "migration"),
    (51, "imported_pages"),
    (60, "tombstones (before compact records)"),
    (61, "cleanup"),
    (70, "answer_keys"),
    (71, "answer_keys_version"),
];

struct Args {
    sizes: Vec<u64>,
    calls: usize,
    out: PathBuf,
    check: bool,
    subnets: Vec<usize>,
    scale: Option<u64>,
    out_given: bool,
}

fn parse_args() -> Result<Args, String> {
    parse_args_from(std::env::args().skip(1))
}

fn parse_args_from(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        sizes: vec![1_000, 10_000],
        calls: 50,
        out: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        check: false,
        subnets: vec![1, 4, 13],
        scale: None,
        out_given: false,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--sizes" => {
                a.sizes = value()?
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse::<u64>().map_err(|e| format!("--sizes: {s:?}: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--calls" => a.calls = value()?.parse().map_err(|e| format!("--calls: {e}"))?,
            "--subnets" => {
                let v = value()?;
                a.subnets = if v == "none" {
                    vec![]
                } else {
                    v.split(',')
                        .map(|s| match s.trim().parse::<usize>() {
                            Ok(n) if (1..=64).contains(&n) => Ok(n),
                            _ => Err(format!("--subnets: {s:?} is not a subnet count in 1..=64")),
                        })
                        .collect::<Result<_, _>>()?
                }
            }
            "--out" => {
                a.out = PathBuf::from(value()?);
                a.out_given = true;
            }
            "--scale" => {
                let v = value()?;
                match v.trim().replace('_', "").parse::<u64>() {
                    Ok(n) if n > 0 => a.scale = Some(n),
                    _ => return Err(format!("--scale: {v:?} is not a number of learners (at least 1)")),
                }
            }
            "--check" => a.check = true,
            "--help" | "-h" => {
                return Err(
                    "usage: cargo run -p bench -- [--sizes 1000,10000] [--calls 50] [--subnets 1,4,13|none] [--out bench/] [--check]\n       cargo run --release -p bench -- --scale 1000000 [--out DIR]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    if a.calls == 0 {
        return Err("--calls must be at least 1".into());
    }
    if a.sizes.is_empty() || a.sizes.iter().any(|&n| n < a.calls as u64) {
        return Err(format!("every size must be at least --calls ({}): the measured calls are made by its learners", a.calls));
    }
    if matches!(a.scale, Some(n) if n != scale::FULL_RUN) && !a.out_given {
        return Err(format!(
            "--scale below {} needs --out elsewhere: {} holds only the full run's figures",
            scale::FULL_RUN,
            a.out.display()
        ));
    }
    Ok(a)
}

fn main() {
    let a = parse_args().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    if let Some(n) = a.scale {
        return run_scale(n, &a.out);
    }
    let previous_path = a.out.join("results.json");
    let previous: Option<Results> = match std::fs::read_to_string(&previous_path) {
        Ok(text) => match serde_json::from_str(&text) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("bench: {} is not in this version's format ({e}); no regression check", previous_path.display());
                None
            }
        },
        Err(_) => None,
    };
    let mut wall = BTreeMap::new();
    let mut sizes = Vec::new();
    for &n in &a.sizes {
        let started = Instant::now();
        sizes.push(run_size(n, a.calls, &mut wall));
        wall.insert(format!("size {n}: total"), started.elapsed().as_secs_f64());
    }
    let started = Instant::now();
    let bare: Vec<UpgradePoint> = BARE_UPGRADE_SIZES.iter().map(|&n| UpgradePoint { learners: n, instructions: bare_shard_upgrade(n) }).collect();
    wall.insert("bare shard upgrades".into(), started.elapsed().as_secs_f64());
    let started = Instant::now();
    let throughput = (!a.subnets.is_empty()).then(|| subnets::measure(&a.subnets));
    if throughput.is_some() {
        wall.insert("subnets: sustained throughput".into(), started.elapsed().as_secs_f64());
    }

    let started = Instant::now();
    let withdrawal_batch = batches::measure();
    wall.insert("withdrawal batches".into(), started.elapsed().as_secs_f64());
    let started = Instant::now();
    let idle = idle::measure(DAILY_ACTIVE_LEARNERS as f64, batches::SHARD_LEARNERS);
    wall.insert("idle platform".into(), started.elapsed().as_secs_f64());

    let fees = localnet::FeeSchedule::APPLICATION_SUBNET;
    let largest = sizes.iter().max_by_key(|s| s.learners).unwrap();
    let cost = cost(&fees, largest, &withdrawal_batch, &idle);
    // The scale run is a mode of its own: its last figures stay.
    let scale = previous.as_ref().and_then(|p| p.scale.clone());
    let mut targets = targets(&sizes, &bare, &cost);
    set_scale_target(&mut targets, scale.as_ref());
    let mut figures = figures(&sizes, &bare);
    figures.insert("withdrawal batch: unstake (queued) instructions".into(), withdrawal_batch.unstake_queued_instructions);
    let mut command = "cargo run -p bench --".to_string();
    command += &format!(" --sizes {}", a.sizes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","));
    if a.calls != 50 {
        command += &format!(" --calls {}", a.calls);
    }
    command += &match a.subnets.is_empty() {
        true => " --subnets none".to_string(),
        false => format!(" --subnets {}", a.subnets.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",")),
    };
    let results = Results {
        command,
        calls_per_endpoint: a.calls,
        sizes,
        bare_shard_upgrades: bare,
        fees: fee_constants(&fees),
        cost,
        targets,
        figures,
        wall_seconds: wall,
        throughput,
        scale,
        withdrawal_batch: Some(withdrawal_batch),
        idle: Some(idle),
    };
    let regs = previous.as_ref().map(|p| regressions(&p.figures, &results.figures));
    let md = markdown(&results, regs.as_deref());
    println!("{md}");
    let regressed = regs.as_ref().is_some_and(|r| !r.is_empty());
    for g in regs.iter().flatten() {
        println!("bench: REGRESSION {}: {} -> {} (+{:.1}%)", g.figure, g.before, g.after, (g.after as f64 / g.before as f64 - 1.0) * 100.0);
    }
    if regressed && a.check {
        // The previous results stay the baseline: a failed check does not replace them.
        println!("bench: --check failed; {} left as it was", previous_path.display());
        std::process::exit(1);
    }
    std::fs::create_dir_all(&a.out).unwrap();
    std::fs::write(a.out.join("results.json"), serde_json::to_string_pretty(&results).unwrap() + "\n").unwrap();
    std::fs::write(a.out.join("results.md"), &md).unwrap();
    println!("bench: wrote {} and results.md", previous_path.display());
}

/// The scale run (`--scale n`): its figures into `<out>/results.{json,md}` when that exists,
/// else `<out>/scale.{json,md}`.
fn run_scale(n: u64, out: &std::path::Path) {
    let results_path = out.join("results.json");
    let previous: Option<Results> = std::fs::read_to_string(&results_path).ok().map(|text| {
        // Checked before the run, not after half an hour of it.
        serde_json::from_str(&text).unwrap_or_else(|e| {
            eprintln!("bench: {} is not in this version's format ({e}): run the other modes first", results_path.display());
            std::process::exit(2)
        })
    });
    let command = format!("cargo run --release -p bench -- --scale {n}");
    let s = scale::run(n, command);
    let section = scale::markdown(&s);
    println!("{section}");
    std::fs::create_dir_all(out).unwrap();
    match previous {
        Some(mut r) => {
            set_scale_target(&mut r.targets, Some(&s));
            r.scale = Some(s);
            std::fs::write(&results_path, serde_json::to_string_pretty(&r).unwrap() + "\n").unwrap();
            std::fs::write(out.join("results.md"), markdown(&r, None)).unwrap();
            println!("bench: wrote the scale run into {} and results.md", results_path.display());
        }
        None => {
            std::fs::write(out.join("scale.json"), serde_json::to_string_pretty(&s).unwrap() + "\n").unwrap();
            std::fs::write(out.join("scale.md"), section).unwrap();
            println!("bench: wrote {}", out.join("scale.json").display());
        }
    }
}

/// The 1,000,000-learner target row from the scale run, if one ran.
fn set_scale_target(targets: &mut [Target], scale: Option<&scale::ScaleResults>) {
    if let (Some(s), Some(row)) = (scale, targets.iter_mut().find(|t| t.target == "1,000,000 learners registered on localnet")) {
        *row = scale::target(s);
    }
}

/// Logical stable bytes per virtual memory (MemoryManager page counts).
fn stable_layout(env: &Env, canister: Principal) -> BTreeMap<u8, u64> {
    let image = env.net.get_stable_memory(canister);
    model::memory_manager_sizes(&image)
        .unwrap_or_else(|| panic!("{canister}: stable memory without a MemoryManager header"))
        .into_iter()
        .map(|(id, pages)| (id, pages * 65_536))
        .collect()
}

fn total(layout: &BTreeMap<u8, u64>) -> u64 {
    layout.values().sum()
}

fn per(after: u64, before: u64, count: u64) -> f64 {
    (after as f64 - before as f64) / count as f64
}

fn config_for(learners: u64, calls: usize) -> ConfigOverrides {
    let needed = learners + calls as u64 + 1;
    // The production limits (90,000 / 100,000) unless the run needs one bigger shard.
    let (soft, hard) = if needed > 90_000 { (Some(needed), Some(needed)) } else { (None, None) };
    ConfigOverrides {
        shard_soft_limit: soft,
        shard_hard_limit: hard,
        // Rewards of one token keep the day's emission budget from running out in the run
        // (time moves 1 ns a round, so the whole run is one day).
        reward_per_quiz_e8s: Some(E8S),
        daily_emission_budget_e8s: Some(MAX_DAILY_EMISSION_BUDGET_E8S),
        daily_attempt_limit: Some(100),
        min_withdrawal_e8s: Some(1),
        withdrawal_cooldown_secs: Some(0),
        // The size runs meter each withdrawal on its own (`user_profile.unstake` with its hub
        // call, the lone path); the batches of the default are measured by `batches`.
        withdrawal_batch_secs: Some(0),
        ..Default::default()
    }
}

fn ok_reply<T: candid::CandidType + for<'de> serde::Deserialize<'de>, E: std::fmt::Debug + candid::CandidType + for<'de> serde::Deserialize<'de>>(
    bytes: &[u8],
) -> Result<T, String> {
    decode::<Result<T, E>>(bytes).map_err(|e| format!("{e:?}"))
}

fn register_arg() -> Vec<u8> {
    args((None::<RegistrationProof>,))
}

fn quiz_arg(unit: usize) -> Vec<u8> {
    args((unit_id(unit), answers(unit)))
}

fn check_passed(bytes: &[u8]) -> Result<(), String> {
    let out = ok_reply::<QuizOutcome, ShardError>(bytes)?;
    if out.passed && out.reward_e8s > 0 {
        Ok(())
    } else {
        Err(format!("not a paid pass: {out:?}"))
    }
}

/// A bulk submission passed, its reward paid or owed (a burst outruns the shard's allowance
/// refill: the passes it cannot pay yet are owed and paid once the refill lands, see
/// `settle_owed_rewards`); refused while the shard fetches allowance: again.
fn quiz_verdict(bytes: &[u8]) -> Verdict {
    match decode::<Result<QuizOutcome, ShardError>>(bytes) {
        Err(e @ ShardError::RewardsUnavailable { .. }) => Verdict::Retry(format!("{e:?}")),
        Ok(out) if out.passed && out.reward_e8s + out.reward_owed_e8s.unwrap_or(0) > 0 => Verdict::Done,
        _ => done_if(check_passed(bytes)),
    }
}

/// Lets the shard's refills and periodic sync run until no reward is owed (bounded).
fn settle_owed_rewards(env: &Env, shard: Principal) {
    for _ in 0..200 {
        let (bytes, _) = env.query(shard, Principal::anonymous(), "get_shard_stats", args(()));
        if decode::<ShardStats>(&bytes).rewards_owed_e8s.unwrap_or(0) == 0 {
            return;
        }
        env.net.advance_time(std::time::Duration::from_secs(60));
        env.net.run_until_idle(100_000);
    }
    panic!("owed rewards were not paid within 200 minutes of simulated time");
}

fn check_minted(bytes: &[u8]) -> Result<(), String> {
    let w = ok_reply::<Withdrawal, UnstakeError>(bytes)?;
    match w.state {
        WithdrawalState::Completed { .. } => Ok(()),
        other => Err(format!("not minted: {other:?}")),
    }
}

fn done_if(r: Result<(), String>) -> Verdict {
    match r {
        Ok(()) => Verdict::Done,
        Err(e) => Verdict::Failed(e),
    }
}

/// Collects the samples of one endpoint into its figures.
struct Collector<'a> {
    env: &'a Env,
    fees: localnet::FeeSchedule,
    endpoints: Vec<Endpoint>,
    echo_update: u64,
    echo_query: u64,
}

impl Collector<'_> {
    fn updates(&mut self, canister: Principal, method: &str, samples: Vec<UpdateSample>) {
        let totals: Vec<u64> = samples.iter().map(|s| s.parts.iter().map(|p| p.1).sum()).collect();
        let mut names: Vec<String> = Vec::new();
        let mut by_name: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for s in &samples {
            let mut sums: BTreeMap<&str, u64> = BTreeMap::new();
            for (name, i) in &s.parts {
                if !names.contains(name) {
                    names.push(name.clone());
                }
                *sums.entry(name).or_default() += i;
            }
            for (name, i) in sums {
                by_name.entry(name.to_string()).or_default().push(i);
            }
        }
        let parts = names
            .iter()
            .map(|n| {
                let s = spread(&by_name[n]);
                Part { name: n.clone(), median_instructions: s.median, max_instructions: s.max }
            })
            .collect();
        let modelled: Vec<u64> = samples
            .iter()
            .map(|s| model::modelled_cycles(&self.fees, &s.parts.iter().map(|p| p.1).collect::<Vec<_>>(), s.ingress_bytes, s.calls) as u64)
            .collect();
        let t = spread(&totals);
        let floor = if self.echo_update == 0 { t.median } else { self.echo_update };
        self.endpoints.push(Endpoint {
            name: format!("{}.{method}", self.env.name(canister)),
            kind: "update".into(),
            calls: samples.len(),
            median_instructions: t.median,
            max_instructions: t.max,
            parts,
            inspect_message_median_instructions: spread(&samples.iter().map(|s| s.inspect_message).collect::<Vec<_>>()).median,
            median_cycles_charged: spread(&samples.iter().map(|s| s.cycles_charged as u64).collect::<Vec<_>>()).median,
            median_cycles_modelled: spread(&modelled).median,
            ingress_bytes: spread(&samples.iter().map(|s| s.ingress_bytes as u64).collect::<Vec<_>>()).median as usize,
            ratio_over_echo: t.median as f64 / floor as f64,
            note: String::new(),
        });
    }

    fn queries(&mut self, canister: Principal, method: &str, instructions: Vec<u64>, arg_bytes: usize) {
        let t = spread(&instructions);
        let floor = if self.echo_query == 0 { t.median } else { self.echo_query };
        let name = format!("{}: query {method}", self.env.name(canister));
        self.endpoints.push(Endpoint {
            name: format!("{}.{method}", self.env.name(canister)),
            kind: "query".into(),
            calls: instructions.len(),
            median_instructions: t.median,
            max_instructions: t.max,
            parts: vec![Part { name, median_instructions: t.median, max_instructions: t.max }],
            inspect_message_median_instructions: 0,
            median_cycles_charged: 0,
            median_cycles_modelled: 0,
            ingress_bytes: method.len() + arg_bytes,
            ratio_over_echo: t.median as f64 / floor as f64,
            note: String::new(),
        });
    }
}

/// Deploys the platform, fills one shard with `n` typical learners, then meters `calls` calls
/// of every endpoint on the learner path and the hub's and shard's main paths, then every other
/// public method of the platform canisters (`catalogue`).
fn run_size(n: u64, calls: usize, wall: &mut BTreeMap<String, f64>) -> SizeResults {
    eprintln!("bench: {n} learners: deploying");
    let env = Env::deploy(config_for(n, calls));
    // The first registration creates the shard (not measured).
    let first = env.net.update_call(env.hub, learner(0), "register", register_arg()).expect("the first registration");
    let shard: Principal = ok_reply::<Principal, RegisterError>(&first).unwrap();
    env.fund(shard);
    env.net.run_until_idle(1_000);
    env.net.take_execution_log();
    let learners = 1..=n;
    let hub0 = stable_layout(&env, env.hub);
    let shard0 = stable_layout(&env, shard);

    // Registration through the hub in bulk rounds: 2,000 ingress messages submitted, then the
    // rounds run until every one is answered (each is the hub's register and the shard's register_user).
    let started = Instant::now();
    eprintln!("bench: {n} learners: registering in bulk rounds");
    env.bulk(learners.clone().map(|i| (env.hub, learner(i), "register".to_string(), register_arg())), |b| {
        done_if(ok_reply::<Principal, RegisterError>(b).and_then(|s| if s == shard { Ok(()) } else { Err(format!("routed to {s}")) }))
    });
    wall.insert(format!("size {n}: registration of {n} learners through the hub"), started.elapsed().as_secs_f64());
    let hub1 = stable_layout(&env, env.hub);
    let shard1 = stable_layout(&env, shard);

    let started = Instant::now();
    eprintln!("bench: {n} learners: profiles, {COMPLETED_UNITS} quizzes and {WITHDRAWALS} withdrawals each");
    env.bulk(learners.clone().map(|i| (shard, learner(i), "update_profile".to_string(), args((profile(i),)))), |b| {
        done_if(ok_reply::<UserView, ShardError>(b).map(|_| ()))
    });
    let shard2 = stable_layout(&env, shard);
    for unit in 0..COMPLETED_UNITS {
        // The shard's first pass fetches its first allowance chunk (100,000 rewards) while the
        // rest waits: a burst arriving meanwhile would be owed, not paid (`quiz_verdict`).
        let first = if unit == 0 { 1 } else { 0 };
        let all: Vec<u64> = learners.clone().collect();
        for part in [&all[..first], &all[first..]] {
            env.bulk(part.iter().map(|&i| (shard, learner(i), "submit_quiz".to_string(), quiz_arg(unit))), quiz_verdict);
        }
    }
    settle_owed_rewards(&env, shard);
    let shard3 = stable_layout(&env, shard);
    for _ in 0..WITHDRAWALS {
        env.bulk(learners.clone().map(|i| (shard, learner(i), "unstake".to_string(), args((E8S / 10,)))), |b| done_if(check_minted(b)));
    }
    let shard4 = stable_layout(&env, shard);
    wall.insert(format!("size {n}: profiles, quizzes and withdrawals of every learner"), started.elapsed().as_secs_f64());
    let by_memory = SHARD_MEMORIES
        .iter()
        .filter_map(|&(id, name)| {
            let grew = per(*shard4.get(&id).unwrap_or(&0), *shard0.get(&id).unwrap_or(&0), n);
            (grew != 0.0).then(|| (format!("{id} {name}"), grew))
        })
        .collect();
    let shard_storage = ShardStorage {
        per_registered_learner: per(total(&shard1), total(&shard0), n),
        per_profile: per(total(&shard2), total(&shard1), n),
        per_completed_unit: per(total(&shard3), total(&shard2), n * COMPLETED_UNITS as u64),
        per_withdrawal: per(total(&shard4), total(&shard3), n * WITHDRAWALS as u64),
        per_typical_learner: per(total(&shard4), total(&shard0), n),
        per_typical_learner_by_memory: by_memory,
        stable_memory_bytes: env.net.memory_sizes(shard).unwrap().1,
        completed_units_per_learner: COMPLETED_UNITS as u64,
        withdrawals_per_learner: WITHDRAWALS as u64,
    };
    let hub_bytes_per_learner = per(total(&hub1), total(&hub0), n);

    let started = Instant::now();
    eprintln!("bench: {n} learners: metering {calls} calls per endpoint");
    let mut c = Collector { env: &env, fees: env.net.fee_schedule(), endpoints: vec![], echo_update: 0, echo_query: 0 };
    let measured = 1..=calls as u64;
    let payload = serde_bytes::ByteBuf::from(vec![7u8; 32]);

    let s: Vec<_> = measured.clone().map(|i| env.update(env.echo, learner(i), "echo", args((payload.clone(),)))).collect();
    c.updates(env.echo, "echo", s);
    c.echo_update = c.endpoints.last().unwrap().median_instructions;
    let q: Vec<_> = measured.clone().map(|i| env.query(env.echo, learner(i), "echo_query", args((payload.clone(),))).1).collect();
    c.queries(env.echo, "echo_query", q, args((payload.clone(),)).len());
    c.echo_query = c.endpoints.last().unwrap().median_instructions;
    // The echo rows were pushed before the floors were known.
    for e in &mut c.endpoints {
        e.ratio_over_echo = 1.0;
    }

    // staking_hub
    let s: Vec<_> = (n + 1..=n + calls as u64)
        .map(|i| {
            let s = env.update(env.hub, learner(i), "register", register_arg());
            assert_eq!(ok_reply::<Principal, RegisterError>(&s.reply), Ok(shard));
            s
        })
        .collect();
    c.updates(env.hub, "register", s);
    let q: Vec<_> = measured.clone().map(|i| env.query(env.hub, Principal::anonymous(), "get_user_shard", args((learner(i),))).1).collect();
    c.queries(env.hub, "get_user_shard", q, args((learner(1),)).len());
    let q: Vec<_> = measured.clone().map(|_| env.query(env.hub, Principal::anonymous(), "list_shards", args(())).1).collect();
    c.queries(env.hub, "list_shards", q, args(()).len());
    let q: Vec<_> = measured.clone().map(|_| env.query(env.hub, Principal::anonymous(), "get_global_stats", args(())).1).collect();
    c.queries(env.hub, "get_global_stats", q, args(()).len());

    // user_profile
    let q: Vec<_> = measured
        .clone()
        .map(|i| {
            let (reply, instructions) = env.query(shard, learner(i), "get_my_profile", args(()));
            let view = ok_reply::<UserView, ShardError>(&reply).unwrap();
            assert_eq!(view.completed_units, COMPLETED_UNITS as u64, "a typical learner");
            instructions
        })
        .collect();
    c.queries(shard, "get_my_profile", q, args(()).len());
    let q: Vec<_> = measured.clone().map(|i| env.query(shard, learner(i), "get_my_progress", args((0u64, 100u64))).1).collect();
    c.queries(shard, "get_my_progress", q, args((0u64, 100u64)).len());
    let s: Vec<_> = measured
        .clone()
        .map(|i| {
            let changed = ProfileInput { education: "University".into(), ..profile(i) };
            let s = env.update(shard, learner(i), "update_profile", args((changed,)));
            ok_reply::<UserView, ShardError>(&s.reply).unwrap();
            s
        })
        .collect();
    c.updates(shard, "update_profile", s);
    let s: Vec<_> = measured
        .clone()
        .map(|i| {
            let s = env.update(shard, learner(i), "submit_quiz", quiz_arg(MEASURED_UNIT));
            check_passed(&s.reply).unwrap();
            s
        })
        .collect();
    c.updates(shard, "submit_quiz", s);
    let s: Vec<_> = measured
        .clone()
        .map(|i| {
            let s = env.update(shard, learner(i), "unstake", args((E8S / 10,)));
            check_minted(&s.reply).unwrap();
            s
        })
        .collect();
    c.updates(shard, "unstake", s);
    let q: Vec<_> = measured
        .clone()
        .map(|i| {
            let (reply, instructions) = env.query(shard, learner(i), "get_my_withdrawals", args((0u64, 100u64)));
            let list = ok_reply::<Vec<Withdrawal>, ShardError>(&reply).unwrap();
            assert_eq!(list.len(), WITHDRAWALS + 1);
            instructions
        })
        .collect();
    c.queries(shard, "get_my_withdrawals", q, args((0u64, 100u64)).len());

    // learning_content
    let q: Vec<_> = measured.clone().map(|i| env.query(env.content, learner(i), "get_unit", args((unit_id(i as usize % UNITS),))).1).collect();
    c.queries(env.content, "get_unit", q, args((unit_id(0),)).len());
    let q: Vec<_> = measured
        .clone()
        .map(|i| env.query(env.content, learner(i), "list_units", args((subject(i as usize % UNITS), 0u64, 10u64))).1)
        .collect();
    c.queries(env.content, "list_units", q, args((subject(0), 0u64, 10u64)).len());
    let q: Vec<_> = measured.clone().map(|i| env.query(env.content, learner(i), "list_subjects", args(())).1).collect();
    c.queries(env.content, "list_subjects", q, args(()).len());
    let http = |i: usize| HttpRequest {
        method: "GET".into(),
        url: format!("/units/{}", unit_id(i % UNITS)),
        headers: vec![],
        body: Default::default(),
        certificate_version: Some(2),
    };
    let q: Vec<_> = measured
        .clone()
        .map(|i| {
            let (reply, instructions) = env.query(env.content, learner(i), "http_request", args((http(i as usize),)));
            let r: HttpResponse = decode(&reply);
            assert_eq!(r.status_code, 200);
            assert!(r.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("ic-certificate")), "a certified response");
            instructions
        })
        .collect();
    c.queries(env.content, "http_request", q, args((http(0),)).len());
    wall.insert(format!("size {n}: metering"), started.elapsed().as_secs_f64());
    let shards = {
        let (reply, _) = env.query(env.hub, Principal::anonymous(), "list_shards", args(()));
        decode::<Vec<ShardInfo>>(&reply).len()
    };
    // Every other public method, after the figures above (some change state and restore it;
    // the migration adds shards, counted above without them).
    let started = Instant::now();
    eprintln!("bench: {n} learners: metering every other public method");
    catalogue::meter(&mut c, shard, n, calls);
    let endpoints = c.endpoints;
    wall.insert(format!("size {n}: metering the catalogue"), started.elapsed().as_secs_f64());

    env.net.take_execution_log();
    env.net.upgrade_canister(shard, env::wasm("user_profile"), args(()), Some(env.hub)).unwrap();
    let shard_upgrade_instructions = upgrade_instructions(&env.net);
    SizeResults { learners: n, shards, endpoints, shard_storage, hub_bytes_per_learner, shard_upgrade_instructions }
}

fn upgrade_instructions(net: &localnet::LocalNet) -> u64 {
    net.take_execution_log().iter().filter(|r| r.entry == "pre_upgrade" || r.entry == "post_upgrade").map(|r| r.instructions).sum()
}

/// A shard installed as the hub installs it, `n` learners registered directly (register_user,
/// the hub's call, in bulk rounds), then upgraded to the same Wasm.
fn bare_shard_upgrade(n: u64) -> u64 {
    eprintln!("bench: bare shard upgrade at {n} learners");
    let net = localnet::LocalNet::new();
    let hub = Principal::from_slice(&[5; 29]);
    let shard = net.create_canister_with_settings(Some(hub), None);
    let init = ShardInitArgs {
        hub_id: hub,
        learning_content_id: Principal::from_slice(&[6; 29]),
        config: PlatformConfig::default(),
        config_version: None,
        module_hash: None,
    };
    net.install_canister(shard, env::wasm("user_profile"), candid::encode_one(init).unwrap(), Some(hub));
    let mut next = 0;
    while next < n {
        let end = (next + 2_000).min(n);
        let batch: Vec<_> =
            (next..end).map(|i| net.submit_call(shard, hub, "register_user", candid::encode_one(learner(i)).unwrap()).unwrap()).collect();
        for m in batch {
            let r: Result<(), ShardError> = decode(&net.await_call(m).unwrap());
            r.unwrap();
        }
        net.take_execution_log();
        next = end;
    }
    net.upgrade_canister(shard, env::wasm("user_profile"), args(()), Some(hub)).unwrap();
    upgrade_instructions(&net)
}

fn endpoint<'a>(s: &'a SizeResults, name: &str) -> &'a Endpoint {
    s.endpoints.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no endpoint {name}"))
}

/// The cost of the issue's profile. A withdrawal is what it costs as deployed (batched, the
/// default): its queuing `unstake` and its share of the shard's rounds at the profile's rate
/// (`batches`); the lone path (`user_profile.unstake` of the size runs) is in the table too.
fn cost(fees: &localnet::FeeSchedule, s: &SizeResults, batch: &batches::WithdrawalBatch, idle: &idle::IdleCost) -> Cost {
    let quiz = endpoint(s, "user_profile.submit_quiz");
    let unstake = endpoint(s, "user_profile.unstake");
    let measured = model::OperationCycles {
        profile_read: 0.0,
        unit_read: 0.0,
        quiz_submission: quiz.median_cycles_charged as f64,
        withdrawal: batch.profile.cycles_per_withdrawal,
        idle_per_learner_day: idle.per_learner_day,
        stored_bytes_per_learner: s.shard_storage.per_typical_learner + s.hub_bytes_per_learner,
    };
    let floor = model::floor_cycles(fees, quiz.ingress_bytes, unstake.ingress_bytes, 256.0 + 128.0);
    let day = |o: &model::OperationCycles| model::cycles_per_learner_day(fees, &ISSUE_PROFILE, o);
    let table = |o: &model::OperationCycles| -> BTreeMap<String, f64> {
        [
            ("1 profile read (query)".to_string(), o.profile_read),
            ("2 unit read (query)".to_string(), o.unit_read),
            ("3 quiz submission".to_string(), o.quiz_submission),
            ("4 withdrawal".to_string(), o.withdrawal),
            ("5 storage per learner-day".to_string(), model::storage_cycles_per_day(fees, o.stored_bytes_per_learner)),
            ("6 idle platform (timers) per learner-day".to_string(), o.idle_per_learner_day),
        ]
        .into()
    };
    let (m, f) = (day(&measured), day(&floor));
    Cost {
        usd_per_xdr: model::USD_PER_XDR,
        daily_active_learners: DAILY_ACTIVE_LEARNERS,
        profile: format!(
            "per learner per day: {} profile read and {} unit reads (queries), {} quiz submissions, {} withdrawals, storage; measured at {} learners",
            ISSUE_PROFILE.profile_reads, ISSUE_PROFILE.unit_reads, ISSUE_PROFILE.quiz_submissions, ISSUE_PROFILE.withdrawals, s.learners
        ),
        measured: table(&measured),
        floor: table(&floor),
        measured_cycles_per_learner_day: m,
        floor_cycles_per_learner_day: f,
        measured_usd_per_month: model::usd_per_month(m, DAILY_ACTIVE_LEARNERS as f64),
        floor_usd_per_month: model::usd_per_month(f, DAILY_ACTIVE_LEARNERS as f64),
        measured_over_floor: m / f,
    }
}

fn status(pass: bool) -> String {
    if pass { "PASS" } else { "FAIL" }.into()
}

fn targets(sizes: &[SizeResults], bare: &[UpgradePoint], cost: &Cost) -> Vec<Target> {
    let s = sizes.iter().max_by_key(|s| s.learners).unwrap();
    let at = format!("at {} learners", s.learners);
    let instr = |name: &str, target: &str, limit: u64| {
        let e = endpoint(s, name);
        Target {
            target: target.into(),
            limit: format!("<= {limit} instructions"),
            measured: format!("{} median, {} max ({at})", e.median_instructions, e.max_instructions),
            status: status(e.median_instructions <= limit),
        }
    };
    let bytes = |target: &str, value: f64, limit: f64| Target {
        target: target.into(),
        limit: format!("<= {limit} bytes"),
        measured: format!("{value:.0} ({at})"),
        status: status(value <= limit),
    };
    let upgrade_at_100k = sizes
        .iter()
        .find(|s| s.learners == 100_000)
        .map(|s| (s.shard_upgrade_instructions, "typical learners"))
        .or_else(|| bare.iter().find(|u| u.learners == 100_000).map(|u| (u.instructions, "learners registered directly, no profile")));
    vec![
        instr("user_profile.submit_quiz", "submit_quiz end to end (every execution it causes)", 300_000),
        instr("user_profile.get_my_profile", "a profile query (get_my_profile)", 100_000),
        instr("staking_hub.register", "register across hub and shard", 1_000_000),
        // Issue 14 §2: "<= 256 bytes per typical learner (today ~1,300: the record is stored at its
        // worst-case bound)": the learner's record with a typical profile. Completed units and
        // withdrawals have rows of their own (the storage table adds them up).
        bytes(
            "stable bytes per learner (record with a typical profile) in a shard",
            s.shard_storage.per_registered_learner + s.shard_storage.per_profile,
            256.0,
        ),
        bytes("stable bytes per completed unit", s.shard_storage.per_completed_unit, 32.0),
        bytes("stable bytes per learner in the hub index", s.hub_bytes_per_learner, 128.0),
        match upgrade_at_100k {
            Some((i, how)) => Target {
                target: "shard upgrade at 100,000 learners".into(),
                limit: "<= 10000000 instructions".into(),
                measured: format!("{i} ({how})"),
                status: status(i <= 10_000_000),
            },
            None => Target {
                target: "shard upgrade at 100,000 learners".into(),
                limit: "<= 10000000 instructions".into(),
                measured: "not run".into(),
                status: "NOT MEASURED".into(),
            },
        },
        Target {
            target: "cost per learner-day within 10% of the fee floor".into(),
            limit: format!("<= {:.2}M cycles (1.1 x floor)", cost.floor_cycles_per_learner_day * 1.1 / 1e6),
            measured: format!("{:.2}M cycles ({:.2}x the floor)", cost.measured_cycles_per_learner_day / 1e6, cost.measured_over_floor),
            status: status(cost.measured_over_floor <= 1.1),
        },
        Target {
            target: "1,000,000 learners registered on localnet".into(),
            limit: "< 30 minutes".into(),
            measured: "not run by this first cut".into(),
            status: "NOT MEASURED".into(),
        },
    ]
}

/// The figures the regression check compares: instructions and bytes, by stable names.
fn figures(sizes: &[SizeResults], bare: &[UpgradePoint]) -> BTreeMap<String, u64> {
    let mut f = BTreeMap::new();
    for s in sizes {
        let n = s.learners;
        for e in &s.endpoints {
            f.insert(format!("{n}/{}/median_instructions", e.name), e.median_instructions);
            f.insert(format!("{n}/{}/max_instructions", e.name), e.max_instructions);
        }
        let st = &s.shard_storage;
        for (name, v) in [
            ("per_registered_learner", st.per_registered_learner),
            ("per_profile", st.per_profile),
            ("per_completed_unit", st.per_completed_unit),
            ("per_withdrawal", st.per_withdrawal),
            ("per_typical_learner", st.per_typical_learner),
        ] {
            f.insert(format!("{n}/shard_bytes/{name}"), v.round().max(0.0) as u64);
        }
        f.insert(format!("{n}/hub_bytes/per_learner"), s.hub_bytes_per_learner.round().max(0.0) as u64);
        f.insert(format!("{n}/shard_upgrade_instructions"), s.shard_upgrade_instructions);
    }
    for u in bare {
        f.insert(format!("bare_shard_upgrade/{}/instructions", u.learners), u.instructions);
    }
    f
}

fn fee_constants(fees: &localnet::FeeSchedule) -> Vec<Constant> {
    let src = "localnet/engine/src/cycles.rs FeeSchedule::APPLICATION_SUBNET (the IC's 13-node application subnet fees; docs/localnet.md)";
    let c = |name: &str, value: u128, source: &str| Constant { name: name.into(), value: value.to_string(), source: source.into() };
    vec![
        c("update_message_execution_fee (per update execution)", fees.update_message_execution_fee, src),
        c("ten_update_instructions_fee (per 10 instructions)", fees.ten_update_instructions_fee, src),
        c("ingress_message_reception_fee", fees.ingress_message_reception_fee, src),
        c("ingress_byte_reception_fee (per byte of method name and argument)", fees.ingress_byte_reception_fee, src),
        c("xnet_call_fee (per call to another canister)", fees.xnet_call_fee, src),
        c("xnet_byte_transmission_fee (per byte of request and response)", fees.xnet_byte_transmission_fee, src),
        c("gib_storage_per_second_fee", fees.gib_storage_per_second_fee, src),
        c("subnet_size", fees.subnet_size, src),
        c("query calls", 0, "not charged on the IC today (localnet neither)"),
        Constant {
            name: "USD per XDR (1 T cycles = 1 XDR)".into(),
            value: model::USD_PER_XDR.to_string(),
            source: "bench/src/model.rs USD_PER_XDR (IMF SDR rate, about 1.30-1.38 USD in 2024-2025)".into(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Args, String> {
        parse_args_from(line.split_whitespace().map(String::from))
    }

    #[test]
    fn only_the_full_scale_run_writes_into_the_bench_directory_by_default() {
        assert_eq!(parse("--scale 1_000_000").unwrap().scale, Some(scale::FULL_RUN));
        assert!(parse("--scale 20000").err().unwrap().contains("needs --out elsewhere"));
        let a = parse("--scale 20000 --out /tmp/scale").unwrap();
        assert_eq!((a.scale, a.out), (Some(20_000), PathBuf::from("/tmp/scale")));
        assert!(parse("--scale 0").err().unwrap().contains("not a number of learners"));
        assert!(parse("--scale many").is_err());
        assert_eq!(parse("--sizes 1000").unwrap().scale, None, "the other modes are unchanged");
    }
}
