//! `--simulate N`: N learners (one Ed25519 identity each, deterministic seeds) and the DAO
//! drive the served network over HTTP with ic-agent, over `--days D` simulated days; then the
//! invariants are checked and the report filled.
//!
//! Simulated days: the network's clock jumps a day ahead in-process
//! (`Engine::advance_clock`); it then runs on at wall-clock speed from there. The agents'
//! ingress expiry follows the network's clock (`agents::base_agent`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use candid::{Nat, Principal};
use ic_agent::{Agent, Identity};
use icrc_ledger_types::icrc1::account::Account;
use indicatif::{ProgressBar, ProgressStyle};
use platform_types::*;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::agents::{self, CallError};
use crate::report::*;
use crate::{deploy, gov, net};

pub struct SimArgs {
    pub learners: u64,
    pub days: u32,
    pub concurrency: usize,
}

const DAY: Duration = Duration::from_secs(86_400);
const RETRIES: u32 = 30;

struct Learner {
    identity: Arc<dyn Identity>,
    principal: Principal,
    shard: OnceLock<Principal>,
}

#[derive(Default)]
struct Rec {
    calls: AtomicU64,
    ok: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Rec {
    fn note<T>(&self, r: &Result<T, CallError>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match r {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => *self.errors.lock().expect("lock").entry(e.kind.clone()).or_default() += 1,
        }
    }

    fn note_expected<T>(&self, r: &Result<T, CallError>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let kind = match r {
            Ok(_) => "expected error did not come".to_string(),
            Err(e) => format!("{} (on purpose)", e.kind),
        };
        *self.errors.lock().expect("lock").entry(kind).or_default() += 1;
    }
}

#[derive(Default)]
struct Quiz {
    submitted: AtomicU64,
    passed: AtomicU64,
    failed: AtomicU64,
    limit: AtomicU64,
    other: AtomicU64,
}

struct Ctx {
    base: RwLock<Agent>,
    url: String,
    root_key: Vec<u8>,
    http: reqwest::Client,
    deployer_identity: Arc<dyn Identity>,
    d: platform_deploy::Deployment,
    learners: Vec<Learner>,
    /// Registrations answered Ok so far (paces the scaling samples).
    registered: AtomicU64,
    quiz: Quiz,
    /// Learners who stay idle on the day of the hub upgrade (their state is compared across it).
    sample: Vec<usize>,
    unstaked: Mutex<Vec<(usize, u64)>>,
    balance_mismatches: Mutex<Vec<String>>,
    verify_failures: Mutex<Vec<String>>,
    /// Learners whose withdrawal was still pending after the first wait, with its last error.
    still_pending: Mutex<Vec<(usize, String)>>,
}

impl Ctx {
    fn agent(&self, i: usize) -> Agent {
        let base = self.base.read().expect("lock");
        agents::with_identity(&base, self.learners[i].identity.clone())
    }

    fn deployer(&self) -> Agent {
        let base = self.base.read().expect("lock");
        agents::with_identity(&base, self.deployer_identity.clone())
    }
}

/// `Ok(Err(e))` of a canister's own error type becomes a `CallError` named after the variant.
fn flat<T, E: std::fmt::Debug>(r: Result<(Result<T, E>,), CallError>) -> Result<T, CallError> {
    match r {
        Ok((Ok(v),)) => Ok(v),
        Ok((Err(e),)) => {
            let text = format!("{e:?}");
            let kind = text.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("error").to_string();
            Err(CallError::new(kind, text))
        }
        Err(e) => Err(e),
    }
}

fn seed(i: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"platform-cli simulated learner");
    h.update(i.to_le_bytes());
    h.finalize().into()
}

fn wrong(answers: &[u32]) -> Vec<u32> {
    answers.iter().map(|a| if *a == 0 { 1 } else { 0 }).collect()
}

pub async fn run(
    network: &net::LocalNetwork,
    saved: &mut deploy::Saved,
    http: reqwest::Client,
    deployer_identity: Arc<dyn Identity>,
    args: SimArgs,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let d = saved.parsed()?;
    anyhow::ensure!(!d.units.is_empty(), "the deployment has no units to take quizzes on");
    let n = args.learners as usize;
    eprintln!("platform: simulating {n} learners over {} day(s), {} concurrent calls", args.days, args.concurrency);
    let learners: Vec<Learner> = (0..args.learners)
        .map(|i| {
            let identity = agents::identity(&seed(i));
            let principal = identity.sender().expect("an Ed25519 identity has a principal");
            Learner { identity, principal, shard: OnceLock::new() }
        })
        .collect();
    let offset = network.clock_offset().await?;
    let base = agents::base_agent(&network.url(), &network.root_key, http.clone(), offset, deployer_identity.clone())?;
    let sample: Vec<usize> = (0..n).filter(|i| i % 50 == 7).take(40).collect();
    let ctx = Arc::new(Ctx {
        base: RwLock::new(base),
        url: network.url(),
        root_key: network.root_key.clone(),
        http,
        deployer_identity,
        d: d.clone(),
        learners,
        registered: AtomicU64::new(0),
        quiz: Quiz::default(),
        sample,
        unstaked: Mutex::new(Vec::new()),
        balance_mismatches: Mutex::new(Vec::new()),
        verify_failures: Mutex::new(Vec::new()),
        still_pending: Mutex::new(Vec::new()),
    });
    let mut report = Report {
        learners: args.learners,
        days: args.days,
        started_at_utc: deploy::utc_now(),
        ..Default::default()
    };
    let sim_start_ns = network.node.run(|e| e.net.get_time_nanos()).await?;
    let all: Vec<usize> = (0..n).collect();
    let hub = d.staking_hub;
    let content = d.learning_content;

    // ---- register, sampling the hub's scaling (shards as learners arrive) meanwhile
    report.shard_soft_limit = Some(saved.shard_soft_limit);
    report.shard_hard_limit = Some(saved.shard_hard_limit);
    let register_start = Instant::now();
    report.scaling.push(scaling_point(&ctx, register_start).await?);
    let done = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample_scaling(ctx.clone(), register_start, done.clone()));
    let p = phase(&ctx, network, &mut report, "register", all.clone(), args.concurrency, |ctx, i, rec| async move {
        let agent = ctx.agent(i);
        let r = agents::retry(RETRIES, |r| rec.note(r), || async {
            flat::<Principal, RegisterError>(agents::update(&agent, ctx.d.staking_hub, "register", ()).await)
        })
        .await;
        if let Ok(shard) = r {
            let _ = ctx.learners[i].shard.set(shard);
            ctx.registered.fetch_add(1, Ordering::Relaxed);
        }
    })
    .await;
    done.store(true, Ordering::Relaxed);
    let samples = sampler.await.context("the scaling sampler failed")?;
    let p = p?;
    report.scaling.extend(samples);
    let last = scaling_point(&ctx, register_start).await?;
    // The sampler's last poll may already show the final figures: the point after replaces it.
    if report.scaling.last().is_some_and(|p| (p.learners, p.shards, p.active_shards) == (last.learners, last.shards, last.active_shards)) {
        report.scaling.pop();
    }
    report.scaling.push(last);
    report.phases.push(p);
    timeline(&ctx, network, &mut report, "registered", sim_start_ns).await?;

    // ---- profiles: some invalid first (bad e-mail), then fixed
    let p = phase(&ctx, network, &mut report, "profile", all.clone(), args.concurrency, |ctx, i, rec| async move {
        let Some(shard) = ctx.learners[i].shard.get().copied() else { return };
        let agent = ctx.agent(i);
        let profile = |email: String| ProfileInput {
            email,
            name: format!("Learner {i}"),
            education: ["Self-taught", "High school", "University"][i % 3].into(),
            gender: [Gender::Female, Gender::Male, Gender::NonBinary, Gender::PreferNotToSay][i % 4].clone(),
        };
        if i % 5 == 0 {
            let r = flat::<UserView, ShardError>(agents::update(&agent, shard, "update_profile", (profile(format!("learner{i}-at-example.org")),)).await);
            rec.note_expected(&r);
        }
        let _ = agents::retry(RETRIES, |r| rec.note(r), || async {
            flat::<UserView, ShardError>(agents::update(&agent, shard, "update_profile", (profile(format!("learner{i}@example.org")),)).await)
        })
        .await;
    })
    .await?;
    report.phases.push(p);

    // ---- reading units (queries)
    let p = phase(&ctx, network, &mut report, "read units", all.clone(), args.concurrency, move |ctx, i, rec| async move {
        let agent = ctx.agent(i);
        let r: Result<(Vec<String>,), _> = agents::query(&agent, content, "list_subjects", ()).await;
        rec.note(&r);
        if let Ok((subjects,)) = r {
            if let Some(s) = subjects.get(i % subjects.len().max(1)) {
                let r: Result<(UnitPage,), _> = agents::query(&agent, content, "list_units", (s.clone(), 0u64, 10u64)).await;
                rec.note(&r);
            }
        }
        let unit = &ctx.d.units[i % ctx.d.units.len()];
        let r: Result<(Option<Unit>,), _> = agents::query(&agent, content, "get_unit", (unit.unit_id.clone(),)).await;
        let r = match r {
            Ok((None,)) => Err(CallError::new("unit missing", unit.unit_id.clone())),
            other => other.map(|_| ()),
        };
        rec.note(&r);
        if let Some(shard) = ctx.learners[i].shard.get().copied() {
            let r = flat::<UserView, ShardError>(agents::query(&agent, shard, "get_my_profile", ()).await);
            rec.note(&r);
        }
    })
    .await?;
    report.phases.push(p);

    // ---- quizzes over the days; the DAO acts meanwhile
    let upgrade_day = args.days - 1;
    let toggle_day = 1.min(args.days - 1);
    let mut before_upgrade: Vec<(usize, Option<Principal>, Option<UserView>)> = Vec::new();
    let mut upgrade_changes: Vec<String> = Vec::new();
    for day in 0..args.days {
        if day > 0 {
            jump(&ctx, network, DAY).await?;
        }
        if day == upgrade_day {
            for &i in &ctx.sample {
                before_upgrade.push(learner_state(&ctx, i).await);
            }
        }
        let dao = {
            let ctx = ctx.clone();
            tokio::spawn(async move { dao_day(ctx, day, day == 0, day == toggle_day, day == upgrade_day).await })
        };
        let units = ctx.d.units.len();
        let p = phase(&ctx, network, &mut report, &format!("quizzes day {}", day + 1), all.clone(), args.concurrency, move |ctx, i, rec| async move {
            if day == upgrade_day && ctx.sample.contains(&i) {
                return;
            }
            let Some(shard) = ctx.learners[i].shard.get().copied() else { return };
            let agent = ctx.agent(i);
            let unit = &ctx.d.units[(day as usize + i) % units];
            let submit = |answers: Vec<u32>, unit_id: String| {
                let agent = agent.clone();
                let ctx = ctx.clone();
                let rec = rec.clone();
                async move {
                    agents::retry(RETRIES, |r: &Result<QuizOutcome, CallError>| {
                        rec.note(r);
                        ctx.quiz.submitted.fetch_add(1, Ordering::Relaxed);
                        match r {
                            Ok(o) if o.passed => ctx.quiz.passed.fetch_add(1, Ordering::Relaxed),
                            Ok(_) => ctx.quiz.failed.fetch_add(1, Ordering::Relaxed),
                            Err(e) if e.kind == "DailyLimitReached" => ctx.quiz.limit.fetch_add(1, Ordering::Relaxed),
                            Err(_) => ctx.quiz.other.fetch_add(1, Ordering::Relaxed),
                        };
                    }, || async {
                        flat::<QuizOutcome, ShardError>(agents::update(&agent, shard, "submit_quiz", (unit_id.clone(), answers.clone())).await)
                    })
                    .await
                }
            };
            if i % 4 == 1 {
                let _ = submit(wrong(&unit.answers), unit.unit_id.clone()).await;
            }
            let _ = submit(unit.answers.clone(), unit.unit_id.clone()).await;
            if i % 10 == 0 {
                // Over the daily attempt limit on purpose: wrong answers until refused.
                let other = &ctx.d.units[(day as usize + i + 1) % units];
                for _ in 0..12 {
                    if let Err(e) = submit(wrong(&other.answers), other.unit_id.clone()).await {
                        if e.kind == "DailyLimitReached" {
                            break;
                        }
                    }
                }
            }
        })
        .await?;
        report.phases.push(p);
        let events = match tokio::time::timeout(Duration::from_secs(600), dao).await {
            Ok(Ok(r)) => r?,
            Ok(Err(e)) => anyhow::bail!("the DAO task failed: {e}"),
            Err(_) => anyhow::bail!("the DAO's proposals of day {} did not finish within 10 minutes", day + 1),
        };
        report.governance.extend(events);
        if day == upgrade_day {
            for (i, shard, view) in &before_upgrade {
                let now = learner_state(&ctx, *i).await;
                if (&now.1, &now.2) != (shard, view) || view.is_none() {
                    upgrade_changes.push(format!("learner {i}: before {shard:?}/{view:?}, after {:?}/{:?}", now.1, now.2));
                }
            }
        }
        timeline(&ctx, network, &mut report, &format!("day {}", day + 1), sim_start_ns).await?;
    }

    // ---- unstake (every third learner, half of the balance) and wait for the mints
    let p = phase(&ctx, network, &mut report, "unstake", all.iter().copied().filter(|i| i % 3 == 0).collect(), args.concurrency, |ctx, i, rec| async move {
        let Some(shard) = ctx.learners[i].shard.get().copied() else { return };
        let agent = ctx.agent(i);
        let me = flat::<UserView, ShardError>(agents::query(&agent, shard, "get_my_profile", ()).await);
        rec.note(&me);
        let Ok(me) = me else { return };
        if me.staked_e8s < 2 {
            return;
        }
        let r = agents::retry(RETRIES, |r| rec.note(r), || async {
            flat::<Withdrawal, UnstakeError>(agents::update(&agent, shard, "unstake", (me.staked_e8s / 2,)).await)
        })
        .await;
        if r.is_err() {
            return;
        }
        // The shard retries a pending mint by itself: poll (bounded) until none is pending.
        match settled_withdrawals(&agent, shard, &rec, Duration::from_secs(20)).await {
            Ok(completed) => ctx.unstaked.lock().expect("lock").push((i, completed)),
            Err(last_error) => ctx.still_pending.lock().expect("lock").push((i, last_error)),
        }
    })
    .await?;
    report.phases.push(p);

    // A mint that did not settle at once (the hub answered TryLater, e.g. while busy) is retried
    // by the shard's timer, 30 s of network time later and backing off: let simulated time pass.
    let pending: Vec<(usize, String)> = std::mem::take(&mut *ctx.still_pending.lock().expect("lock"));
    if !pending.is_empty() {
        let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
        for (_, e) in &pending {
            *reasons.entry(e.chars().take(100).collect()).or_default() += 1;
        }
        eprintln!(
            "platform: {} withdrawals still pending (last errors: {reasons:?}); 10 simulated minutes pass for the shards' retries",
            pending.len()
        );
        jump(&ctx, network, Duration::from_secs(600)).await?;
        let p = phase(&ctx, network, &mut report, "unstake retries", pending.iter().map(|(i, _)| *i).collect(), args.concurrency, |ctx, i, rec| async move {
            let Some(shard) = ctx.learners[i].shard.get().copied() else { return };
            let agent = ctx.agent(i);
            match settled_withdrawals(&agent, shard, &rec, Duration::from_secs(60)).await {
                Ok(completed) => ctx.unstaked.lock().expect("lock").push((i, completed)),
                Err(last_error) => {
                    let kind = format!("withdrawal still pending after the shard's retries: {}", last_error.chars().take(80).collect::<String>());
                    rec.note::<()>(&Err(CallError::new(kind, String::new())));
                    ctx.still_pending.lock().expect("lock").push((i, last_error));
                }
            }
        })
        .await?;
        report.phases.push(p);
    }
    timeline(&ctx, network, &mut report, "unstaked", sim_start_ns).await?;

    // ---- ledger balances of the learners who unstaked
    let unstakers: Vec<(usize, u64)> = ctx.unstaked.lock().expect("lock").clone();
    let expected: Arc<BTreeMap<usize, u64>> = Arc::new(unstakers.iter().copied().collect());
    let ledger = d.reward_ledger;
    let p = phase(&ctx, network, &mut report, "ledger balances", unstakers.iter().map(|(i, _)| *i).collect(), args.concurrency, move |ctx, i, rec| {
        let expected = expected.clone();
        async move {
            let agent = ctx.agent(i);
            let r: Result<(Nat,), _> = agents::query(&agent, ledger, "icrc1_balance_of", (Account { owner: ctx.learners[i].principal, subaccount: None },)).await;
            rec.note(&r);
            if let Ok((balance,)) = r {
                let want = expected.get(&i).copied().unwrap_or(0);
                if balance != want {
                    ctx.balance_mismatches.lock().expect("lock").push(format!("learner {i}: ledger {balance}, completed withdrawals {want}"));
                }
            }
        }
    })
    .await?;
    report.phases.push(p);

    // ---- every learner resolves to a shard and reads their profile back
    let p = phase(&ctx, network, &mut report, "verify", all.clone(), args.concurrency, move |ctx, i, rec| async move {
        let agent = ctx.agent(i);
        let l = &ctx.learners[i];
        let r: Result<(Option<Principal>,), _> = agents::query(&agent, hub, "get_user_shard", (l.principal,)).await;
        rec.note(&r);
        let fail = |m: String| ctx.verify_failures.lock().expect("lock").push(m);
        match (r, l.shard.get()) {
            (Ok((Some(s),)), Some(mine)) if s == *mine => {
                let p = flat::<UserView, ShardError>(agents::query(&agent, s, "get_my_profile", ()).await);
                rec.note(&p);
                match p {
                    Ok(v) if v.profile.as_ref().is_some_and(|p| p.email == format!("learner{i}@example.org")) => {}
                    other => fail(format!("learner {i}: profile {other:?}")),
                }
            }
            (r, mine) => fail(format!("learner {i}: get_user_shard {r:?}, registered on {mine:?}")),
        }
    })
    .await?;
    report.phases.push(p);

    // ---- shards, quiz totals, invariants
    let agent = ctx.deployer();
    let g: GlobalStats = agents::query1(&agent, hub, "get_global_stats", ()).await?;
    let target: String = agents::query1(&agent, hub, "get_shard_wasm_hash", ()).await?;
    let mut stats = Vec::new();
    for s in &g.shards {
        let st: ShardStats = agents::query1(&agent, s.id, "get_shard_stats", ()).await?;
        let certified = agent.read_state_canister_module_hash(s.id).await.map(hex::encode).unwrap_or_else(|e| format!("unreadable: {e}"));
        report.shards.push(ShardRow {
            id: s.id.to_text(),
            status: format!("{:?}", s.status),
            users: s.user_count,
            granted_e8s: s.granted_e8s,
            staked_e8s: st.total_staked_e8s,
            minted_e8s: s.minted_e8s,
            wasm_hash: s.wasm_hash.clone(),
        });
        stats.push((s.clone(), st, certified));
    }
    report.quizzes = QuizTotals {
        submitted: ctx.quiz.submitted.load(Ordering::Relaxed),
        passed: ctx.quiz.passed.load(Ordering::Relaxed),
        failed: ctx.quiz.failed.load(Ordering::Relaxed),
        daily_limit_refusals: ctx.quiz.limit.load(Ordering::Relaxed),
        other_errors: ctx.quiz.other.load(Ordering::Relaxed),
    };
    let supply: Nat = agents::query1(&agent, ledger, "icrc1_total_supply", ()).await?;
    let mut inv = |name: &str, holds: bool, detail: String| report.invariants.push(InvariantCheck { name: name.into(), holds, detail });
    inv(
        "ledger total supply == hub total minted",
        supply == g.total_minted_e8s,
        format!("icrc1_total_supply {supply} e8s, hub total_minted_e8s {}", g.total_minted_e8s),
    );
    let mism = ctx.balance_mismatches.lock().expect("lock").clone();
    inv(
        "each unstaking learner's ledger balance == their completed withdrawals",
        mism.is_empty() && !unstakers.is_empty(),
        if mism.is_empty() { format!("{} learners checked", unstakers.len()) } else { format!("{} of {} differ: {}", mism.len(), unstakers.len(), mism.iter().take(5).cloned().collect::<Vec<_>>().join("; ")) },
    );
    let unsettled = ctx.still_pending.lock().expect("lock").clone();
    inv(
        "every withdrawal settled (minted, or refused and credited back)",
        unsettled.is_empty(),
        if unsettled.is_empty() {
            format!("{} unstaking learners, none pending", unstakers.len())
        } else {
            format!("{} still pending: {}", unsettled.len(), unsettled.iter().take(3).map(|(i, e)| format!("learner {i}: {e}")).collect::<Vec<_>>().join("; "))
        },
    );
    let sum_granted: u64 = g.shards.iter().map(|s| s.granted_e8s).sum();
    inv(
        "hub total granted <= 4.2 B token cap and == sum of shards' granted",
        g.total_granted_e8s <= HARD_CAP_E8S && g.total_granted_e8s == sum_granted,
        format!("total_granted {} e8s, sum over {} shards {} e8s, cap {} e8s", g.total_granted_e8s, g.shards.len(), sum_granted, HARD_CAP_E8S),
    );
    let books: Vec<String> = stats
        .iter()
        .filter(|(_, st, _)| st.allowance_received_e8s != st.allowance_remaining_e8s + st.total_staked_e8s + st.pending_withdrawals_e8s + st.withdrawn_e8s)
        .map(|(s, st, _)| format!("{}: {st:?}", s.id))
        .collect();
    inv(
        "each shard: allowance received == remaining + staked + pending withdrawals + withdrawn",
        books.is_empty(),
        if books.is_empty() { format!("{} shards balance", stats.len()) } else { books.join("; ") },
    );
    let lag: Vec<String> = stats
        .iter()
        .filter(|(s, st, _)| s.granted_e8s != st.allowance_received_e8s)
        .map(|(s, st, _)| format!("{}: hub granted {}, shard received {}", s.id, s.granted_e8s, st.allowance_received_e8s))
        .collect();
    inv("each shard received exactly what the hub granted it", lag.is_empty(), if lag.is_empty() { "all equal".into() } else { lag.join("; ") });
    let vf = ctx.verify_failures.lock().expect("lock").clone();
    let registered = ctx.learners.iter().filter(|l| l.shard.get().is_some()).count();
    inv(
        "every learner is registered, resolves to their shard, and reads their profile back",
        vf.is_empty() && registered == n,
        format!("{registered} of {n} registered; {} failures{}", vf.len(), vf.iter().take(3).map(|f| format!("; {f}")).collect::<String>()),
    );
    let off: Vec<String> = stats
        .iter()
        .filter(|(s, _, certified)| s.wasm_hash != target || *certified != target)
        .map(|(s, _, certified)| format!("{}: hub records {}, certified module hash {certified}", s.id, s.wasm_hash))
        .collect();
    inv(
        "after the rollout every shard runs the hub's new shard Wasm (hub records and certified module_hash)",
        off.is_empty() && report.governance.iter().any(|e| e.action.starts_with("UpgradeSnsControlledCanister") && e.outcome == "Executed"),
        if off.is_empty() { format!("{} shards on {target}", stats.len()) } else { off.join("; ") },
    );
    inv(
        "sampled learners' state is unchanged across the hub upgrade and shard rollout",
        upgrade_changes.is_empty() && !before_upgrade.is_empty(),
        if upgrade_changes.is_empty() {
            format!("{} learners compared (idle on the upgrade day)", before_upgrade.len())
        } else {
            upgrade_changes.into_iter().take(3).collect::<Vec<_>>().join("; ")
        },
    );
    report.wall_secs = started.elapsed().as_secs_f64();
    let _ = saved;
    Ok(report)
}

async fn learner_state(ctx: &Ctx, i: usize) -> (usize, Option<Principal>, Option<UserView>) {
    let agent = ctx.agent(i);
    let shard: Option<Principal> = agents::query1(&agent, ctx.d.staking_hub, "get_user_shard", (ctx.learners[i].principal,)).await.ok().flatten();
    let view = match shard {
        Some(s) => flat::<UserView, ShardError>(agents::query(&agent, s, "get_my_profile", ()).await).ok(),
        None => None,
    };
    (i, shard, view)
}

/// Runs `f` for every item, at most `concurrency` at once, with a progress bar; the phase's
/// calls, errors and costs (instructions from the network's execution log, cycles burned by all
/// canisters) go into the report.
async fn phase<F, Fut>(
    ctx: &Arc<Ctx>,
    network: &net::LocalNetwork,
    report: &mut Report,
    name: &str,
    items: Vec<usize>,
    concurrency: usize,
    f: F,
) -> anyhow::Result<PhaseStats>
where
    F: Fn(Arc<Ctx>, usize, Arc<Rec>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let cycles_before = total_cycles(network).await?;
    network.node.run(|e| drop(e.net.take_execution_log())).await?;
    let bar = ProgressBar::new(items.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>16} [{bar:40}] {pos}/{len} learners  {per_sec}  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(name.to_string());
    let rec = Arc::new(Rec::default());
    let sem = Arc::new(Semaphore::new(concurrency));
    let f = Arc::new(f);
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in items {
        let (ctx, rec, sem, f, bar) = (ctx.clone(), rec.clone(), sem.clone(), f.clone(), bar.clone());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            f(ctx, i, rec).await;
            bar.inc(1);
        });
    }
    while let Some(r) = set.join_next().await {
        r.context("a simulated learner's task failed")?;
    }
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let log = network.node.run(|e| e.net.take_execution_log()).await?;
    let cycles_after = total_cycles(network).await?;
    let stats = PhaseStats {
        name: name.to_string(),
        calls: rec.calls.load(Ordering::Relaxed),
        ok: rec.ok.load(Ordering::Relaxed),
        errors: rec.errors.lock().expect("lock").clone(),
        wall_secs: wall,
    };
    eprintln!(
        "platform: {name}: {} calls ({} ok) in {wall:.1} s = {:.0} calls/s{}",
        stats.calls,
        stats.ok,
        stats.calls as f64 / wall.max(1e-9),
        if stats.errors.is_empty() { String::new() } else { format!("; errors {:?}", stats.errors) }
    );
    // Costs: ingress entry points (the learner-facing methods) by instructions; the phase as a
    // whole by cycles burned across all canisters.
    let mut by_entry: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut total_instr = 0u64;
    for r in &log {
        total_instr += r.instructions;
        if r.ingress.is_some() && (r.entry.starts_with("update ") || r.entry.starts_with("query ")) {
            let e = by_entry.entry(r.entry.clone()).or_default();
            e.0 += 1;
            e.1 += r.instructions;
        }
    }
    for (entry, (count, instr)) in by_entry {
        report.operations.push(OperationCost {
            operation: format!("{name}: {entry}"),
            calls: count,
            cycles_per_call: None,
            instructions_per_call: Some(instr as f64 / count as f64),
        });
    }
    if stats.calls > 0 {
        report.operations.push(OperationCost {
            operation: format!("{name}: whole phase, all canisters (per learner call)"),
            calls: stats.calls,
            // Cycles moved by in-flight calls' reservations can make the difference negative: unknown then.
            cycles_per_call: cycles_before.checked_sub(cycles_after).filter(|b| *b > 0).map(|b| b as f64 / stats.calls as f64),
            instructions_per_call: Some(total_instr as f64 / stats.calls as f64),
        });
    }
    Ok(stats)
}

async fn total_cycles(network: &net::LocalNetwork) -> anyhow::Result<u128> {
    Ok(network.node.run(|e| e.net.canister_ids().iter().map(|id| e.net.cycle_balance(*id)).sum::<u128>()).await?)
}

/// Jumps the network's clock (in-process), waits for the work the jump makes due (timers) and
/// renews the agents' ingress expiry.
/// Polls a learner's withdrawals until none is pending (at most `wait`): the sum of the completed
/// ones, or the last error of a pending one.
async fn settled_withdrawals(agent: &Agent, shard: Principal, rec: &Rec, wait: Duration) -> Result<u64, String> {
    let deadline = Instant::now() + wait;
    let mut last_error = String::from("no answer from the shard");
    loop {
        let w = flat::<Vec<Withdrawal>, ShardError>(agents::query(agent, shard, "get_my_withdrawals", (0u64, 100u64)).await);
        rec.note(&w);
        if let Ok(list) = w {
            match list.iter().find_map(|w| match &w.state {
                WithdrawalState::Pending { last_error } => Some(last_error.clone().unwrap_or_else(|| "not attempted yet".into())),
                _ => None,
            }) {
                Some(e) => last_error = e,
                None => {
                    return Ok(list.iter().filter(|w| matches!(w.state, WithdrawalState::Completed { .. })).map(|w| w.amount_e8s).sum());
                }
            }
        }
        if Instant::now() > deadline {
            return Err(last_error);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn jump(ctx: &Ctx, network: &net::LocalNetwork, by: Duration) -> anyhow::Result<()> {
    network.node.run(move |e| e.advance_clock(by)).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    // Timers fire in the next rounds; then their calls settle.
    tokio::time::sleep(Duration::from_millis(50)).await;
    while network.node.run(|e| e.net.has_work()).await? && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let offset = network.clock_offset().await?;
    let agent = agents::base_agent(&ctx.url, &ctx.root_key, ctx.http.clone(), offset, ctx.deployer_identity.clone())?;
    *ctx.base.write().expect("lock") = agent;
    Ok(())
}

/// The hub's scaling now: learners, shards, shards open to new learners.
///
/// `learners` is the hub's `users` (`registered_users`), not the simulation's count of Ok
/// replies: the hub counts a registration when the shard confirmed it, before it replies, so its
/// figure is exact at the moment of the query while the simulation's lags by the replies in
/// flight (and a reused deployment's earlier learners are counted, as its shards hold them).
async fn scaling_point(ctx: &Ctx, started: Instant) -> anyhow::Result<ScalingPoint> {
    let g: GlobalStats = agents::query1(&ctx.deployer(), ctx.d.staking_hub, "get_global_stats", ()).await?;
    Ok(ScalingPoint {
        learners: g.users,
        shards: g.shards.len() as u64,
        active_shards: g.shards.iter().filter(|s| s.status == ShardStatus::Active).count() as u64,
        wall_secs: started.elapsed().as_secs_f64(),
    })
}

/// Samples the hub's scaling while the register phase runs, until `done`. The hub is polled
/// every 50 ms; a poll is kept each time another 1/25 of the learners registered, and when the
/// number of shards (or of active shards) changed, together with the poll before it, so the
/// chart puts each new shard within 50 ms of registrations of where it came. That bounds the
/// points to about 25 plus two per change. A failed query only skips that poll.
async fn sample_scaling(ctx: Arc<Ctx>, started: Instant, done: Arc<AtomicBool>) -> Vec<ScalingPoint> {
    let step = (ctx.learners.len() as u64 / 25).max(1);
    let mut next = step;
    let mut points: Vec<ScalingPoint> = Vec::new();
    let mut previous: Option<ScalingPoint> = None;
    while !done.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if done.load(Ordering::Relaxed) {
            break;
        }
        let Ok(p) = scaling_point(&ctx, started).await else { continue };
        let changed = points.last().is_some_and(|last| (last.shards, last.active_shards) != (p.shards, p.active_shards));
        if changed {
            if let Some(before) = previous.take().filter(|b| points.last().is_some_and(|last| b.learners > last.learners)) {
                points.push(before);
            }
        }
        if changed || p.learners >= next || points.is_empty() {
            next = (p.learners / step + 1) * step;
            points.push(p);
        } else {
            previous = Some(p);
        }
    }
    points
}

/// A timeline point: first the shards' periodic stats reach the hub (the clock jumps past the
/// sync interval), then the hub's global stats.
async fn timeline(ctx: &Ctx, network: &net::LocalNetwork, report: &mut Report, label: &str, start_ns: u64) -> anyhow::Result<()> {
    let config: PlatformConfig = agents::query1(&ctx.deployer(), ctx.d.staking_hub, "get_config", ()).await?;
    jump(ctx, network, Duration::from_secs(config.shard_sync_interval_secs + 1)).await?;
    let g: GlobalStats = agents::query1(&ctx.deployer(), ctx.d.staking_hub, "get_global_stats", ()).await?;
    let now = network.node.run(|e| e.net.get_time_nanos()).await?;
    report.timeline.push(TimelinePoint {
        label: label.to_string(),
        sim_time_secs: now.saturating_sub(start_ns) / 1_000_000_000,
        learners: g.users,
        shards: g.shards.len() as u64,
        active_shards: g.shards.iter().filter(|s| s.status != ShardStatus::Disabled).count() as u64,
        granted_e8s: g.total_granted_e8s,
        staked_e8s: g.total_staked_e8s,
        minted_e8s: g.total_minted_e8s,
    });
    Ok(())
}

/// The DAO's proposals of one simulated day, made while the learners take quizzes.
async fn dao_day(ctx: Arc<Ctx>, day: u32, config: bool, toggle: bool, upgrade: bool) -> anyhow::Result<Vec<GovernanceEvent>> {
    let agent = ctx.deployer();
    let gov_id = ctx.d.sns_governance;
    let hub = ctx.d.staking_hub;
    let mut events = Vec::new();
    let timeout = Duration::from_secs(120);
    let mut record = |o: gov::Outcome, action: &str| {
        eprintln!("platform: DAO, day {}: proposal {} \"{}\": {}", day + 1, o.id, o.title, o.outcome);
        events.push(GovernanceEvent { proposal_id: o.id, title: o.title, action: action.to_string(), outcome: o.outcome, sim_day: day + 1 });
    };
    let err = |e: String| anyhow::anyhow!(e);
    if config {
        let current: PlatformConfig = agents::query1(&agent, hub, "get_config", ()).await?;
        let limit = if current.daily_attempt_limit == 4 { 5 } else { 4 };
        let changes = ConfigOverrides { daily_attempt_limit: Some(limit), ..Default::default() };
        let built = proposals::commands::update_config(&gov::common(None, Some("Local simulation: the DAO changes the daily quiz attempt limit; the hub pushes the new configuration to every shard.")), &current, &changes, &mut Vec::new()).map_err(err)?;
        record(gov::submit(&agent, gov_id, built.proposal, timeout).await?, "ExecuteGenericNervousSystemFunction 1001 update_config");
    }
    if toggle {
        let shards: Vec<ShardInfo> = agents::query1(&agent, hub, "list_shards", ()).await?;
        if let Some(shard) = shards.iter().find(|s| s.status != ShardStatus::Disabled) {
            let check = proposals::commands::ShardCheck::Skipped;
            let built = proposals::commands::set_shard_status(&gov::common(None, Some("Local simulation: emergency disable of one shard while learners are active.")), shard.id, true, "Simulated incident: emergency stop of one shard", &check, &mut Vec::new()).map_err(err)?;
            record(gov::submit(&agent, gov_id, built.proposal, timeout).await?, "ExecuteGenericNervousSystemFunction 1000 set_shard_status (disable)");
            tokio::time::sleep(Duration::from_secs(3)).await;
            let built = proposals::commands::set_shard_status(&gov::common(None, Some("Local simulation: the shard is enabled again; nothing was lost.")), shard.id, false, "Simulated incident resolved", &check, &mut Vec::new()).map_err(err)?;
            record(gov::submit(&agent, gov_id, built.proposal, timeout).await?, "ExecuteGenericNervousSystemFunction 1000 set_shard_status (enable)");
        }
    }
    if upgrade {
        let path = platform_deploy::default_wasm_dir().join("staking_hub_rollout.wasm.gz");
        let wasm = std::fs::read(&path).with_context(|| format!("reading {} (bash scripts/build-canisters.sh)", path.display()))?;
        let old: String = agents::query1(&agent, hub, "get_shard_wasm_hash", ()).await?;
        let req = proposals::commands::UpgradeRequest {
            target: proposals::upgrade::Target::StakingHub,
            canister_id: hub,
            mode: proposals::upgrade::Mode::Upgrade,
            wasm: wasm.clone(),
            arg: proposals::commands::ArgSource::None,
            store_canister: None,
            confirm_reinstall: false,
            network: "local".into(),
        };
        let built = proposals::commands::upgrade(&gov::common(Some("Upgrade staking_hub: embeds a new shard release".into()), Some("Local simulation: a hub release that embeds a new user_profile shard Wasm; the hub rolls it out to its shards after a control_shard_rollout Start proposal.")), req, &mut Vec::new()).map_err(err)?;
        // Executed means root accepted it; the module hash tells whether the hub really runs it.
        let o = gov::submit_upgrade(&agent, gov_id, built.proposal, hub, &wasm, Duration::from_secs(300)).await?;
        let upgraded = o.executed;
        record(o, "UpgradeSnsControlledCanister staking_hub");
        if upgraded {
            // Calls to the hub fail while root stops and upgrades it; wait until it answers.
            let deadline = Instant::now() + Duration::from_secs(60);
            let new = loop {
                match agents::query1::<_, String>(&agent, hub, "get_shard_wasm_hash", ()).await {
                    Ok(h) => break h,
                    Err(e) if Instant::now() > deadline => return Err(e),
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            };
            eprintln!("platform: DAO: the hub now embeds shard Wasm {new} (was {old})");
            let built = proposals::commands::rollout(&gov::common(None, Some("Local simulation: roll the new shard Wasm out, 3 shards per hub timer tick.")), RolloutCommand::Start { batch_size: 3 }).map_err(err)?;
            record(gov::submit(&agent, gov_id, built.proposal, timeout).await?, "ExecuteGenericNervousSystemFunction 1005 control_shard_rollout Start");
            let deadline = Instant::now() + Duration::from_secs(300);
            loop {
                let r: RolloutStatus = agents::query1(&agent, hub, "get_rollout_status", ()).await?;
                if r.shards_on_target == r.shards_total && r.target_hash == new {
                    eprintln!("platform: DAO: all {} shards run shard Wasm {}", r.shards_total, r.target_hash);
                    break;
                }
                if Instant::now() > deadline {
                    anyhow::bail!("the shard rollout did not finish within 300 s: {} of {} shards on {}; pending {:?}", r.shards_on_target, r.shards_total, r.target_hash, r.pending);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    Ok(events)
}
