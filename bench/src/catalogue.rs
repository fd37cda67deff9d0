//! Every public method of staking_hub, user_profile and learning_content that `run_size`'s
//! first metering leaves out (issue 14 §1: "every public endpoint of every platform
//! canister"), each called with valid arguments by the caller the method serves.
//!
//! Runs after the first metering, on the same platform, and leaves it as it found it: pause
//! then resume, disable then enable, a configuration value changed and changed back, units
//! added then retired, learners of their own for deletion and registration.
//!
//! State a real path needs is built where it is cheap: a withdrawal left in flight (the
//! ledger stopped) for `resolve_withdrawal`, an extra shard for `migrate_shard`, a frozen
//! shard for `return_cycles_to_hub`. Where it is not (the hub's own snapshot of a shard,
//! taken only by a rollout upgrade; an ICP ledger and CMC), the figure is the method's
//! refusal and the row's `note` says so (`REFUSAL path`). Calls the platform makes between its
//! canisters (a configuration push, an answer-key push) are metered from the executions
//! of the pushes their governance proposals cause, with a note. Follow-up work a call
//! spawns (timers, pushes) runs to completion outside the call's figure.

use crate::env::{answers, args, decode, learner, unit_id, Env, Settled, UpdateSample, QUESTIONS, UNITS};
use crate::{ok_reply, Collector};
use candid::Principal;
use localnet::ExecutionRecord;
use platform_types::http::{HttpRequest, HttpResponse};
use platform_types::icp_refill::RefillOutcome;
use platform_types::*;
use std::time::Duration;

/// Metered by `run_size` before the catalogue (besides the `echo` floor).
pub const METERED_BEFORE: &[&str] = &[
    "staking_hub.register",
    "staking_hub.get_user_shard",
    "staking_hub.list_shards",
    "staking_hub.get_global_stats",
    "user_profile.get_my_profile",
    "user_profile.get_my_progress",
    "user_profile.update_profile",
    "user_profile.submit_quiz",
    "user_profile.unstake",
    "user_profile.get_my_withdrawals",
    "learning_content.get_unit",
    "learning_content.list_units",
    "learning_content.list_subjects",
    "learning_content.http_request",
];

/// Metered here.
pub const METERED_HERE: &[&str] = &[
    "staking_hub.control_shard_rollout",
    "staking_hub.control_shard_rollout_validate",
    "staking_hub.ensure_capacity",
    "staking_hub.get_config",
    "staking_hub.get_config_status",
    "staking_hub.get_cycles_report",
    "staking_hub.get_icp_refill_status",
    "staking_hub.get_init_args",
    "staking_hub.get_migration_status",
    "staking_hub.get_mint_compaction_status",
    "staking_hub.get_registration_policy",
    "staking_hub.get_restore_history",
    "staking_hub.get_rollout_status",
    "staking_hub.get_shard_wasm_hash",
    "staking_hub.get_version",
    "staking_hub.http_request",
    "staking_hub.migrate_shard",
    "staking_hub.migrate_shard_validate",
    "staking_hub.mint_withdrawal",
    "staking_hub.mint_withdrawals",
    "staking_hub.refill_from_icp",
    "staking_hub.request_allowance",
    "staking_hub.request_top_up",
    "staking_hub.resolve_withdrawal",
    "staking_hub.resolve_withdrawal_validate",
    "staking_hub.restore_shard_snapshot",
    "staking_hub.restore_shard_snapshot_validate",
    "staking_hub.set_answer_keys",
    "staking_hub.set_platform_paused",
    "staking_hub.set_platform_paused_validate",
    "staking_hub.set_registration_policy",
    "staking_hub.set_registration_policy_validate",
    "staking_hub.set_shard_status",
    "staking_hub.set_shard_status_validate",
    "staking_hub.update_config",
    "staking_hub.update_config_validate",
    "staking_hub.update_economic_config",
    "staking_hub.update_economic_config_validate",
    "user_profile.apply_answer_keys",
    "user_profile.apply_config",
    "user_profile.delete_my_profile",
    "user_profile.export_users",
    "user_profile.get_cleanup_status",
    "user_profile.get_init_args",
    "user_profile.get_shard_stats",
    "user_profile.get_version",
    "user_profile.http_request",
    "user_profile.import_users",
    "user_profile.register_user",
    "user_profile.return_cycles_to_hub",
    "user_profile.set_disabled",
    "user_profile.set_migration_freeze",
    "learning_content.add_units",
    "learning_content.add_units_validate",
    "learning_content.apply_config",
    "learning_content.get_config_version",
    "learning_content.get_cycles_balance",
    "learning_content.get_init_args",
    "learning_content.get_version",
    "learning_content.register_shard",
    "learning_content.retire_units",
    "learning_content.retire_units_validate",
    "learning_content.update_unit",
    "learning_content.update_unit_validate",
    "learning_content.verify_quiz",
];

/// The SNS governance canister of `Env::deploy`: the validators' and targets' caller.
fn governance() -> Principal {
    Principal::from_slice(&[9; 29])
}

/// Learners no other part of the run uses: registered at the shard directly (register_user)
/// and imported (import_users).
const DIRECT_LEARNERS: u64 = 1 << 40;
const IMPORTED_LEARNERS: u64 = 2 << 40;
/// Withdrawal ids above any the shard journals in a run: minted by the hub for real.
const MINTED_IDS: u64 = 1 << 40;
/// Withdrawal ids the hub journals while the ledger is stopped: left in flight, then resolved.
const STUCK_IDS: u64 = MINTED_IDS + (1 << 20);
/// Proposals changing state, each done then undone: this many of each (twice as many calls).
const PAIRS: usize = 5;
/// One-shot or costly calls (top-ups, refills, cycle returns, imports, refusals).
const FEW: usize = 3;
const REASON: &str = "benchmark: metering this proposal's execution";

/// A note fit for a markdown table cell.
fn cell(text: &str) -> String {
    let flat: String = text.chars().map(|ch| if ch == '|' || ch == '\n' { ' ' } else { ch }).collect();
    if flat.chars().count() > 140 {
        flat.chars().take(140).collect::<String>() + "..."
    } else {
        flat
    }
}

struct Catalogue<'c, 'e> {
    c: &'c mut Collector<'e>,
    env: &'e Env,
    /// Executions the catalogue's calls caused outside their figures: the pushes metered last.
    pushed: Vec<ExecutionRecord>,
}

impl Catalogue<'_, '_> {
    fn note(&mut self, note: String) {
        self.c.endpoints.last_mut().unwrap().note = cell(&note);
    }

    /// `count` queries of `method` (argument of call `i`: `arg(i)`); answers the first reply.
    fn queries(&mut self, canister: Principal, sender: Principal, method: &str, count: usize, arg: impl Fn(usize) -> Vec<u8>) -> Vec<u8> {
        let mut first = None;
        let mut instructions = Vec::new();
        for i in 0..count {
            let (reply, n) = self.env.query(canister, sender, method, arg(i));
            first.get_or_insert(reply);
            instructions.push(n);
        }
        self.c.queries(canister, method, instructions, arg(0).len());
        first.unwrap()
    }

    /// A validator (a query by SNS governance), `count` times; a refusal is labelled.
    fn validator(&mut self, canister: Principal, method: &str, count: usize, arg: Vec<u8>, why_refused: &str) {
        let reply = self.queries(canister, governance(), method, count, |_| arg.clone());
        match decode::<ValidationResult>(&reply) {
            Ok(_) => assert!(why_refused.is_empty(), "{method}: accepted, expected refused ({why_refused})"),
            Err(e) => {
                assert!(!why_refused.is_empty(), "{method} refused: {e}");
                self.note(format!("REFUSAL path, {why_refused}: {e}"));
            }
        }
    }

    /// Updates, each run to its answer with its follow-ups settled after; see [`record`](Self::record).
    fn updates(
        &mut self,
        canister: Principal,
        method: &str,
        calls: Vec<(Principal, Vec<u8>)>,
        expect_refusal: &str,
        refusal: impl Fn(&Settled) -> Option<String>,
    ) -> Vec<Settled> {
        let settled: Vec<Settled> = calls.into_iter().map(|(sender, arg)| self.env.update_then_settle(canister, sender, method, arg)).collect();
        self.record(canister, method, settled, expect_refusal, refusal)
    }

    /// The row of updates already run. `refusal` judges each answer: `Some(reason)` when the
    /// call was refused. A refusal is labelled when `expect_refusal` says why the real path is
    /// out of reach, and stops the run when not.
    fn record(
        &mut self,
        canister: Principal,
        method: &str,
        settled: Vec<Settled>,
        expect_refusal: &str,
        refusal: impl Fn(&Settled) -> Option<String>,
    ) -> Vec<Settled> {
        let mut follow_ups = 0;
        let mut refused = Vec::new();
        for s in &settled {
            let why = match (&s.answer, s.trapped) {
                (Err(e), _) => Some(trap_reason(e)),
                (Ok(_), true) => Some("a callback trapped".into()),
                (Ok(_), false) => refusal(s),
            };
            refused.extend(why);
            follow_ups += s.follow_ups.len();
            self.pushed.extend(s.follow_ups.iter().cloned());
        }
        let n = settled.len();
        self.c.updates(canister, method, settled.iter().map(|s| s.sample.clone()).collect());
        let mut note = Vec::new();
        match (expect_refusal.is_empty(), refused.len()) {
            (true, 0) => {}
            (true, _) => panic!("{method}: {} of {n} refused: {}", refused.len(), refused[0]),
            (false, k) if k == n => note.push(format!("REFUSAL path, {expect_refusal}: {}", refused[0])),
            (false, k) => panic!("{method}: {k} of {n} refused, all expected refused ({expect_refusal})"),
        }
        if follow_ups > 0 {
            note.push(format!("{follow_ups} follow-up executions (timers, pushes) run after, outside the figure"));
        }
        if !note.is_empty() {
            self.note(note.join("; "));
        }
        settled
    }

    /// The row's note, with `more` in front.
    fn prepend_note(&mut self, more: &str) {
        let e = self.c.endpoints.last_mut().unwrap();
        e.note = cell(&if e.note.is_empty() { more.to_string() } else { format!("{more}; {}", e.note) });
    }

    /// A method the platform's canisters call on one another, metered from the executions of
    /// the pushes the catalogue's proposals caused (no ingress: its own execution only).
    fn pushed(&mut self, canister: Principal, method: &str, by: &str) {
        let entry = format!("update {method}");
        let samples: Vec<UpdateSample> = self
            .pushed
            .iter()
            .filter(|r| r.canister == canister && r.entry == entry && !r.trapped)
            .map(|r| UpdateSample {
                reply: vec![],
                parts: vec![(format!("{}: {}", self.env.name(canister), r.entry), r.instructions)],
                inspect_message: 0,
                cycles_charged: 0,
                ingress_bytes: 0,
                calls: 0,
            })
            .collect();
        assert!(!samples.is_empty(), "{method}: no push reached {}", self.env.name(canister));
        self.c.updates(canister, method, samples);
        self.note(format!("called by {by}; its own execution, no ingress, cycles not metered"));
    }
}

/// A governance proposal the catalogue needs for a measurement, not measured itself.
fn governed(env: &Env, canister: Principal, method: &str, arg: Vec<u8>) {
    let s = env.update_then_settle(canister, governance(), method, arg);
    assert!(s.answer.is_ok() && !s.trapped, "{method}: {:?}", s.answer);
}

/// The canister's own words in a reject (`... Canister called `ic0.trap` with message: '<reason>'`).
fn trap_reason(reject: &str) -> String {
    match reject.split_once("with message: '") {
        Some((_, rest)) => rest.trim_end_matches('\'').to_string(),
        None => reject.to_string(),
    }
}

fn http_get(url: &str) -> HttpRequest {
    HttpRequest { method: "GET".into(), url: url.into(), headers: vec![], body: Default::default(), certificate_version: None }
}

/// A unit no learner has seen, added and retired by the catalogue.
fn new_unit(i: usize, version: usize) -> UnitInput {
    UnitInput {
        unit: Unit {
            id: format!("chemistry-{:02}", i + 1),
            subject: "Chemistry".into(),
            title: format!("Chemistry {}: a lesson title of usual length (version {version})", i + 1),
            body: "A paragraph of lesson text that explains one idea with an example. ".repeat(22),
            questions: (0..QUESTIONS)
                .map(|q| Question {
                    text: format!("Question {} about this unit, phrased as a full sentence?", q + 1),
                    options: (0..4).map(|o| format!("Answer option {o}")).collect(),
                })
                .collect(),
        },
        answer_key: answers(i + version),
    }
}

fn invite_hash(i: usize) -> String {
    format!("{:064x}", 0xbe_0000 + i)
}

/// Meters every method of [`METERED_HERE`] on the platform of `c.env`, whose shard `shard`
/// holds learners 1..=n (typical) and n+1..=n+calls (registered only).
pub fn meter(c: &mut Collector<'_>, shard: Principal, n: u64, calls: usize) {
    let env = c.env;
    let mut k = Catalogue { c, env, pushed: Vec::new() };
    let (hub, content, anyone) = (env.hub, env.content, Principal::anonymous());
    let none = || args(());

    // Reads (queries), by anyone unless the method serves one caller.
    for method in [
        "get_config",
        "get_config_status",
        "get_cycles_report",
        "get_icp_refill_status",
        "get_init_args",
        "get_migration_status",
        "get_mint_compaction_status",
        "get_registration_policy",
        "get_restore_history",
        "get_rollout_status",
        "get_shard_wasm_hash",
        "get_version",
    ] {
        k.queries(hub, anyone, method, calls, |_| none());
    }
    for canister in [hub, shard] {
        let reply = k.queries(canister, anyone, "http_request", calls, |_| args((http_get("/metrics"),)));
        assert_eq!(decode::<HttpResponse>(&reply).status_code, 200, "{}: /metrics", env.name(canister));
        k.note("/metrics".into());
    }
    for method in ["get_cleanup_status", "get_init_args", "get_shard_stats", "get_version"] {
        k.queries(shard, anyone, method, calls, |_| none());
    }
    // The hub reads pages in principal order: each call the page after the previous one.
    let page = 100u32;
    let mut cursors = vec![None::<Principal>];
    while cursors.len() < calls {
        let (reply, _) = env.query(shard, hub, "export_users", args((*cursors.last().unwrap(), page)));
        match ok_reply::<ExportedUsers, ShardError>(&reply).unwrap().page.next_cursor {
            Some(next) => cursors.push(Some(next)),
            None => break,
        }
    }
    let reply = k.queries(shard, hub, "export_users", calls, |i| args((cursors[i % cursors.len()], page)));
    ok_reply::<ExportedUsers, ShardError>(&reply).unwrap();
    k.note(format!("by the hub, pages of {page} users"));
    for method in ["get_config_version", "get_cycles_balance", "get_init_args", "get_version"] {
        k.queries(content, anyone, method, calls, |_| none());
    }
    let reply = k.queries(content, shard, "verify_quiz", calls, |i| args((unit_id(i % UNITS), answers(i % UNITS))));
    assert!(ok_reply::<VerifyResult, VerifyError>(&reply).unwrap().passed);
    k.note("by the shard (registered), right answers".into());

    // Validators: the payloads of the targets below, judged on today's state.
    let paused = SetPlatformPausedArgs { paused: true, reason: REASON.into() };
    let disabled = SetShardStatusArgs { shard_id: shard, disabled: true, reason: REASON.into() };
    let config = decode::<PlatformConfig>(&env.query(hub, anyone, "get_config", none()).0);
    let fewer_attempts = ConfigOverrides { daily_attempt_limit: Some(config.daily_attempt_limit - 1), ..Default::default() };
    let smaller_reward = EconomicConfigChanges { reward_per_quiz_e8s: Some(config.reward_per_quiz_e8s / 2), ..Default::default() };
    let add_code = |i: usize| SetRegistrationPolicyArgs { add_invite_code_hashes: vec![invite_hash(i)], reason: REASON.into(), ..Default::default() };
    let rollout_paused = decode::<RolloutStatus>(&env.query(hub, anyone, "get_rollout_status", none()).0).state == RolloutState::Paused;
    let (hold, release) = if rollout_paused { (RolloutCommand::Resume, RolloutCommand::Pause) } else { (RolloutCommand::Pause, RolloutCommand::Resume) };
    let restore = RestoreShardArgs { shard_id: shard, snapshot_id: serde_bytes::ByteBuf::from(vec![0u8; 16]), reason: REASON.into() };
    k.validator(hub, "set_platform_paused_validate", calls, args((paused.clone(),)), "");
    k.validator(hub, "set_shard_status_validate", calls, args((disabled.clone(),)), "");
    k.validator(hub, "update_config_validate", calls, args((fewer_attempts.clone(),)), "");
    k.validator(hub, "update_economic_config_validate", calls, args((smaller_reward.clone(),)), "");
    k.validator(hub, "set_registration_policy_validate", calls, args((add_code(0),)), "");
    k.validator(hub, "control_shard_rollout_validate", calls, args((hold.clone(),)), "");
    k.validator(hub, "restore_shard_snapshot_validate", calls, args((restore.clone(),)), "the hub took no snapshot (no rollout upgrade)");
    let retire = RetireUnitsArgs { unit_ids: vec![unit_id(UNITS - 1)], reason: REASON.into() };
    let mut changed = crate::env::unit_input(UNITS - 1);
    changed.unit.title += " (revised)";
    k.validator(content, "add_units_validate", calls, args((AddUnitsArgs { units: vec![new_unit(0, 0)] },)), "");
    k.validator(content, "update_unit_validate", calls, args((UpdateUnitArgs { unit: changed },)), "");
    k.validator(content, "retire_units_validate", calls, args((retire,)), "");

    // The hub's methods for anyone and for its shards.
    let s = k.updates(hub, "ensure_capacity", (1..=calls as u64).map(|i| (learner(i), none())).collect(), "", |s| {
        ok_reply::<Option<Principal>, String>(&s.sample.reply).err()
    });
    if s.iter().all(|s| matches!(decode::<Result<Option<Principal>, String>>(&s.sample.reply), Ok(None))) {
        k.prepend_note("nothing needed: the shard is under the soft limit (its everyday answer)");
    }
    let stats = decode::<ShardStats>(&env.query(shard, anyone, "get_shard_stats", none()).0);
    let report = ShardReport {
        total_staked_e8s: stats.total_staked_e8s,
        user_count: stats.users,
        quizzes_passed_delta: 0,
        wants_allowance: false,
        stable_memory_bytes: Some(env.net.memory_sizes(shard).unwrap().1),
        settled_below_withdrawal_id: None,
    };
    k.updates(hub, "request_allowance", (0..calls).map(|_| (shard, args((report.clone(),)))).collect(), "", |s| {
        ok_reply::<AllowanceGrant, AllowanceError>(&s.sample.reply).err()
    });
    k.prepend_note("by the shard: a stats-only sync (chunk grants happen in the quiz runs' refills)");
    let mint = |i: u64| MintRequest {
        withdrawal_id: MINTED_IDS + i,
        user: learner(i % n + 1),
        amount_e8s: 1_000,
        created_at_ns: env.net.get_time_nanos(),
        origin_shard: None,
    };
    k.updates(hub, "mint_withdrawal", (0..calls as u64).map(|i| (shard, args((mint(i),)))).collect(), "", |s| {
        ok_reply::<u64, MintError>(&s.sample.reply).err()
    });
    k.prepend_note("by the shard: new withdrawal ids, minted on the ledger");
    let batch = 10u64;
    k.updates(
        hub,
        "mint_withdrawals",
        (0..PAIRS as u64).map(|b| (shard, args(((0..batch).map(|j| mint(calls as u64 + b * batch + j)).collect::<Vec<_>>(),)))).collect(),
        "",
        |s| decode::<Vec<Result<u64, MintError>>>(&s.sample.reply).into_iter().find_map(|r| r.err()).map(|e| format!("{e:?}")),
    );
    k.prepend_note(&format!("by the shard: batches of {batch} new withdrawals, minted on the ledger"));

    // The hub's cycles paths, on the run's shard: frozen (as for a migration), it returns its
    // cycles to the hub; unfrozen and low, an hour later it asks for a top-up.
    let (mut freezes, mut returns, mut top_ups) = (vec![], vec![], vec![]);
    for _ in 0..FEW {
        freezes.push(env.update_then_settle(shard, hub, "set_migration_freeze", args((true,))));
        returns.push(env.update_then_settle(shard, hub, "return_cycles_to_hub", none()));
        freezes.push(env.update_then_settle(shard, hub, "set_migration_freeze", args((false,))));
        env.net.advance_time(Duration::from_secs(3_601));
        env.net.run_until_idle(100_000);
        env.net.take_execution_log();
        top_ups.push(env.update_then_settle(hub, shard, "request_top_up", args((candid::Nat::from(env.net.cycle_balance(shard)),))));
        env.fund(shard);
    }
    k.record(shard, "set_migration_freeze", freezes, "", |s| ok_reply::<MigrationFreeze, ShardError>(&s.sample.reply).err());
    k.prepend_note("by the hub: freeze then unfreeze, no migration under way");
    k.record(shard, "return_cycles_to_hub", returns, "", |s| ok_reply::<candid::Nat, ShardError>(&s.sample.reply).err());
    k.prepend_note("by the hub, the shard frozen; refunded after");
    k.record(hub, "request_top_up", top_ups, "", |s| ok_reply::<candid::Nat, TopUpRequestError>(&s.sample.reply).err());
    k.prepend_note("by the shard, its balance low after returning its cycles, an hour apart");
    // The hub reads its ICP balance at most once a minute (its timer reads it too).
    let refills = (0..FEW)
        .map(|i| {
            env.net.advance_time(Duration::from_secs(61));
            env.net.run_until_idle(100_000);
            env.net.take_execution_log();
            env.update_then_settle(hub, learner(i as u64 + 1), "refill_from_icp", none())
        })
        .collect();
    // DFINITY's ICP ledger id is the platform's ICRC-1 ledger on localnet (no `account_balance`).
    k.record(hub, "refill_from_icp", refills, "no ICP ledger on localnet, the balance read fails", |s| {
        match decode::<RefillOutcome>(&s.sample.reply) {
            RefillOutcome::Busy { reason } => Some(reason),
            _ => None,
        }
    });

    // Governance proposals that change state: each done, then undone.
    let resume = SetPlatformPausedArgs { paused: false, reason: REASON.into() };
    let enabled = SetShardStatusArgs { disabled: false, ..disabled.clone() };
    let as_before = ConfigOverrides { daily_attempt_limit: Some(config.daily_attempt_limit), ..Default::default() };
    let reward_as_before = EconomicConfigChanges { reward_per_quiz_e8s: Some(config.reward_per_quiz_e8s), ..Default::default() };
    let there_and_back = |a: Vec<u8>, b: Vec<u8>| (0..2 * PAIRS).map(|i| (governance(), if i % 2 == 0 { a.clone() } else { b.clone() })).collect::<Vec<_>>();
    k.updates(hub, "set_platform_paused", there_and_back(args((paused,)), args((resume,))), "", |_| None);
    k.prepend_note("pause, then resume");
    k.updates(hub, "set_shard_status", there_and_back(args((disabled,)), args((enabled,))), "", |_| None);
    k.prepend_note("disable, then enable the shard");
    k.updates(hub, "update_config", there_and_back(args((fewer_attempts,)), args((as_before,))), "", |_| None);
    k.prepend_note("daily_attempt_limit one lower, then back");
    k.updates(hub, "update_economic_config", there_and_back(args((smaller_reward,)), args((reward_as_before,))), "", |_| None);
    k.prepend_note("reward_per_quiz_e8s halved, then back");
    let codes = (0..2 * PAIRS)
        .map(|i| {
            let code = i / 2;
            let change = if i % 2 == 0 {
                add_code(code)
            } else {
                SetRegistrationPolicyArgs { revoke_invite_code_hashes: vec![invite_hash(code)], reason: REASON.into(), ..Default::default() }
            };
            (governance(), args((change,)))
        })
        .collect();
    k.updates(hub, "set_registration_policy", codes, "", |_| None);
    k.prepend_note("an invite code added, then revoked");
    k.updates(hub, "control_shard_rollout", there_and_back(args((hold.clone(),)), args((release,))), "", |_| None);
    k.prepend_note(&format!("{hold:?}, then back"));
    // Withdrawals to resolve: mints the hub sends while the ledger is stopped stay in flight;
    // past the ledger's deduplication horizon no copy can execute, and governance records them
    // as not minted.
    let ledger = decode::<HubInitArgs>(&env.query(hub, anyone, "get_init_args", none()).0).ledger_id;
    env.net.stop_canister(ledger, None).expect("the ledger stops");
    let stuck: Vec<u64> = (0..FEW as u64).map(|i| STUCK_IDS + i).collect();
    for &id in &stuck {
        let s = env.update_then_settle(hub, shard, "mint_withdrawal", args((MintRequest { withdrawal_id: id, ..mint(id) },)));
        let answer = decode::<Result<u64, MintError>>(&s.sample.reply);
        assert!(matches!(answer, Err(MintError::TryLater { .. })), "a mint while the ledger is stopped: {answer:?}");
    }
    env.net.advance_time(Duration::from_nanos(LEDGER_DEDUP_HORIZON_NS) + Duration::from_secs(60));
    env.net.run_until_idle(100_000);
    env.net.take_execution_log();
    let resolve = |id: u64| ResolveWithdrawalArgs { shard_id: shard, withdrawal_id: id, minted_at_block: None, reason: REASON.into() };
    k.validator(hub, "resolve_withdrawal_validate", calls, args((resolve(stuck[0]),)), "");
    k.prepend_note("a mint left in flight (ledger stopped), past the ledger's horizon: not minted");
    k.updates(hub, "resolve_withdrawal", stuck.iter().map(|&id| (governance(), args((resolve(id),)))).collect(), "", |_| None);
    k.prepend_note("a mint left in flight (ledger stopped), past the ledger's horizon: recorded not minted");
    env.net.start_canister(ledger, None).expect("the ledger starts again");
    k.updates(hub, "restore_shard_snapshot", (0..FEW).map(|_| (governance(), args((restore.clone(),)))).collect(), "the hub took no snapshot (no rollout upgrade)", |_| None);
    // A migration of a shard of its own: the soft limit lowered, ensure_capacity creates one;
    // the limit back, that shard is migrated (to a shard the migration creates) by a timer.
    let lowered = ConfigOverrides { shard_soft_limit: Some(1), ..Default::default() };
    let restored = ConfigOverrides { shard_soft_limit: Some(config.shard_soft_limit), ..Default::default() };
    let shards_before: Vec<Principal> = decode::<Vec<ShardInfo>>(&env.query(hub, anyone, "list_shards", none()).0).iter().map(|s| s.id).collect();
    governed(env, hub, "update_config", args((lowered,)));
    let created = env.update_then_settle(hub, learner(1), "ensure_capacity", none());
    // Created by this call, or already by the hub's own timer while the lowered limit was pushed.
    let extra = decode::<Result<Option<Principal>, String>>(&created.sample.reply).unwrap().or_else(|| {
        decode::<Vec<ShardInfo>>(&env.query(hub, anyone, "list_shards", none()).0)
            .iter()
            .map(|s| s.id)
            .find(|id| !shards_before.contains(id))
    });
    governed(env, hub, "update_config", args((restored,)));
    match extra {
        Some(extra) => {
            let migrate = MigrateShardArgs::Migrate { shard: extra };
            k.validator(hub, "migrate_shard_validate", calls, args((migrate.clone(),)), "");
            k.prepend_note("Migrate of an extra, empty shard");
            k.updates(hub, "migrate_shard", vec![(governance(), args((migrate,)))], "", |_| None);
            k.prepend_note("Migrate of an extra, empty shard: the start; the timer's steps (create, freeze, copy, switch, stop) outside the figure");
            let finished = (0..500).any(|_| {
                env.net.advance_time(Duration::from_secs(5));
                env.net.run_until_idle(100_000);
                let views = decode::<Vec<MigrationView>>(&env.query(hub, anyone, "get_migration_status", none()).0);
                views.iter().any(|v| v.source == extra && v.finished_at_ns.is_some())
            });
            env.net.take_execution_log();
            assert!(finished, "the migration of {extra} did not finish in 2,500 simulated seconds");
        }
        None => {
            // Seen at 100,000 learners (one shard at soft = hard limit): the hub created no
            // extra shard to migrate. The proposal is metered on its refusal, and says so.
            let answered = decode::<Result<Option<Principal>, String>>(&created.sample.reply);
            let why = format!("no extra shard to migrate at this size (ensure_capacity answered {answered:?})");
            let migrate = MigrateShardArgs::Migrate { shard: learner(1) };
            k.validator(hub, "migrate_shard_validate", calls, args((migrate.clone(),)), &why);
            k.updates(hub, "migrate_shard", vec![(governance(), args((migrate,)))], &why, |_| None);
        }
    }

    // learning_content's proposals: new units added, revised, then retired (each pushes the
    // answer keys: learning_content -> hub -> shards).
    let add = (0..PAIRS).map(|i| (governance(), args((AddUnitsArgs { units: vec![new_unit(i, 0)] },)))).collect();
    k.updates(content, "add_units", add, "", |_| None);
    k.prepend_note("one new unit each");
    let update = (0..PAIRS).map(|i| (governance(), args((UpdateUnitArgs { unit: new_unit(i, 1) },)))).collect();
    k.updates(content, "update_unit", update, "", |_| None);
    k.prepend_note("a new unit revised, answer key changed");
    let retire = (0..PAIRS).map(|i| (governance(), args((RetireUnitsArgs { unit_ids: vec![new_unit(i, 1).unit.id], reason: REASON.into() },)))).collect();
    k.updates(content, "retire_units", retire, "", |_| None);
    k.prepend_note("a new unit retired");
    k.updates(content, "register_shard", (0..FEW).map(|_| (hub, args((shard,)))).collect(), "", |s| ok_reply::<(), String>(&s.sample.reply).err());
    k.prepend_note("by the hub: the run's shard again (idempotent)");

    // The shard's methods for the hub and for learners.
    let direct = (0..calls as u64).map(|i| (hub, args((learner(DIRECT_LEARNERS + i),)))).collect();
    k.updates(shard, "register_user", direct, "", |s| ok_reply::<(), ShardError>(&s.sample.reply).err());
    k.prepend_note("by the hub: new learners");
    let imports: Vec<_> = (0..FEW)
        .map(|p| {
            let (reply, _) = env.query(shard, hub, "export_users", args((cursors[p % cursors.len()], 10u32)));
            let mut page = ok_reply::<ExportedUsers, ShardError>(&reply).unwrap().page;
            // Another shard's users: new principals, no shard totals (not its last page).
            for (j, u) in page.users.iter_mut().enumerate() {
                u.principal = learner(IMPORTED_LEARNERS + (p * 10 + j) as u64);
            }
            page.shard_totals = None;
            let sha256 = page_sha256(&page);
            (hub, args((ImportUsersArgs { source_shard: 1, page, sha256 },)))
        })
        .collect();
    k.updates(shard, "import_users", imports, "", |s| ok_reply::<ImportReceipt, ShardError>(&s.sample.reply).err());
    k.prepend_note("by the hub: pages of 10 users exported by this shard, as new users");
    // Typical learners the metering above does not use.
    let leaving = (n.saturating_sub(calls as u64) + 1..=n).map(|i| (learner(i), args((DeleteProfileArgs { forfeit_staked_balance: true },)))).collect();
    k.updates(shard, "delete_my_profile", leaving, "", |s| ok_reply::<ProfileDeleted, DeleteProfileError>(&s.sample.reply).err());
    k.prepend_note("typical learners, staked balance forfeited");

    // The pushes the proposals above caused.
    k.pushed(hub, "set_answer_keys", "learning_content after a unit proposal");
    k.pushed(shard, "apply_answer_keys", "the hub relaying learning_content's keys");
    k.pushed(shard, "apply_config", "the hub's configuration push after a config, pause or economic proposal");
    k.pushed(shard, "set_disabled", "the hub after set_shard_status");
    k.pushed(content, "apply_config", "the hub's configuration push after a config, pause or economic proposal");

    let names: Vec<&str> = k.c.endpoints.iter().map(|e| e.name.as_str()).collect();
    for m in METERED_BEFORE.iter().chain(METERED_HERE) {
        assert!(names.contains(m), "{m} is listed as metered but has no row");
    }
    let paused = decode::<ShardStats>(&env.query(shard, anyone, "get_shard_stats", none()).0);
    assert!(!paused.disabled && paused.platform_paused != Some(true), "the catalogue leaves the shard enabled and the platform running");
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::candid_check::service_method_names;
    use std::collections::BTreeSet;

    #[test]
    fn every_public_method_of_every_platform_canister_is_metered() {
        let metered: BTreeSet<&str> = METERED_BEFORE.iter().chain(METERED_HERE).copied().collect();
        assert_eq!(metered.len(), METERED_BEFORE.len() + METERED_HERE.len(), "a method is listed twice");
        let mut missing = Vec::new();
        let mut public = BTreeSet::new();
        for canister in ["staking_hub", "user_profile", "learning_content"] {
            let path = format!("{}/../candid/{canister}.did", env!("CARGO_MANIFEST_DIR"));
            let did = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            for method in service_method_names(&did) {
                let name = format!("{canister}.{method}");
                if !metered.contains(name.as_str()) {
                    missing.push(name.clone());
                }
                public.insert(name);
            }
        }
        assert!(missing.is_empty(), "public methods the bench does not meter: {missing:?}");
        let stale: Vec<_> = metered.iter().filter(|m| !public.contains(**m)).collect();
        assert!(stale.is_empty(), "metered methods no .did declares: {stale:?}");
    }

    #[test]
    fn the_committed_results_load() {
        let text = include_str!("../results.json");
        let r: crate::report::Results = serde_json::from_str(text).expect("bench/results.json loads as the previous results");
        assert!(r.sizes.iter().all(|s| !s.endpoints.is_empty()));
    }

    #[test]
    fn notes_fit_a_table_cell() {
        assert_eq!(cell("a | b\nc"), "a   b c");
        assert_eq!(cell(&"x".repeat(200)).chars().count(), 143);
        assert_eq!(trap_reason("Error from Canister aaaaa-aa: Canister called `ic0.trap` with message: 'no such entry'"), "no such entry");
    }
}
