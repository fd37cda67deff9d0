//! Issue 15, part 1: the access matrix of docs/security.md, generated. Every method of
//! candid/staking_hub.did, candid/user_profile.did and candid/learning_content.did is called with
//! valid arguments as every caller class of the matrix, and each answer is checked against
//! the cell the document gives for that method and class:
//!
//! | cell starts with | the call must be |
//! |---|---|
//! | `yes`, `own`, `renders` | served: a reply that is not the method's `Err` |
//! | `no` | refused: a reject, a trap or the method's `Err`; with "no (`Code`)", naming `Code` |
//! | `` `Code` `` (e.g. `` `Err` ``, `` `NotRegistered` ``) | refused, naming `Code` |
//! | `as a principal` | as the principal column says |
//! | `–` | not called (the hub does not call itself) |
//!
//! Callers: the anonymous principal, a fresh unregistered principal, a learner of the shard
//! called, a learner of another shard, another shard, the hub, SNS governance, SNS root (the
//! controller) and the deployer. Learners and the deployer call by ingress; a call refused
//! by ingress is sent again as a replica that skips `canister_inspect_message` would deliver
//! it, and the method itself must refuse it (the filter is no security boundary). Canisters
//! call as canisters do (no ingress filter), queries as queries.
//!
//! For an `own` row, another learner of the same shard calls the method first: the learner's
//! record, progress and withdrawals do not change, and a query answers the other learner's own
//! data, not the learner's.
//!
//! A method of a `.did` without a row, or without a valid call here (`call_for`), fails the
//! test, so a new endpoint cannot ship without its access rules written and checked.
//!
//! Where a served call changes state, the state it needs is built first (a frozen shard for
//! `return_cycles_to_hub`, a low one for `request_top_up`, a mint left in flight for
//! `resolve_withdrawal`, a rollout snapshot for `restore_shard_snapshot`) and what it changed
//! is put back after (a pause is lifted, a disabled shard enabled, a configuration value
//! changed back), so every row is checked on a working platform.

use candid::types::TypeEnv;
use candid::{CandidType, IDLArgs, IDLValue, Principal};
use integration_tests::interface::{interface, is_error, Method};
use integration_tests::platform::{learner_of, Platform, Quizzes};
use integration_tests::{unit, wasm};
use localnet::{LocalNet, RejectResponse};
use platform_types::answer_keys::AnswerKeySet;
use platform_types::http::HttpRequest;
use platform_types::*;
use serde_bytes::ByteBuf;
use sha2::Digest;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const REWARD: u64 = 10 * E8S;
const QUIZZES: Quizzes = Quizzes { prefix: "acl-", width: 2, count: 40, options: 3, key: |i| vec![(i % 3) as u32, 1] };
const CANISTERS: &[&str] = &["learning_content", "user_profile", "staking_hub"];
const REASON: &str = "access matrix test";

fn principal(n: u32) -> Principal {
    learner_of(16, n)
}

// ------------------------------------------------------------------ the document

/// The caller classes, in the order of the document's columns (root and deployer share one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Anonymous,
    Principal,
    Learner,
    OtherLearner,
    Shard,
    Hub,
    Governance,
    Root,
    Deployer,
}

const CLASSES: [Class; 9] = [
    Class::Anonymous,
    Class::Principal,
    Class::Learner,
    Class::OtherLearner,
    Class::Shard,
    Class::Hub,
    Class::Governance,
    Class::Root,
    Class::Deployer,
];

impl Class {
    fn column(self) -> &'static str {
        match self {
            Class::Anonymous => "anonymous",
            Class::Principal => "principal",
            Class::Learner => "learner",
            Class::OtherLearner => "other learner",
            Class::Shard => "shard",
            Class::Hub => "hub",
            Class::Governance => "governance",
            Class::Root | Class::Deployer => "root / deployer",
        }
    }

    /// Whether the class calls by ingress (a user's identity), not as a canister.
    fn by_ingress(self) -> bool {
        matches!(self, Class::Anonymous | Class::Principal | Class::Learner | Class::OtherLearner | Class::Deployer)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    Served,
    /// Refused; the answer names the code when there is one.
    Refused(Option<String>),
    AsPrincipal,
    NotCalled,
}

/// What a cell says, from its first words (see the table at the top).
fn expectation(cell: &str) -> Result<Expect, String> {
    let c = cell.trim();
    let code_in = |s: &str| s.strip_prefix('`').and_then(|s| s.split_once('`')).map(|(code, _)| code.to_string());
    if c == "–" {
        Ok(Expect::NotCalled)
    } else if c.starts_with("as a principal") {
        Ok(Expect::AsPrincipal)
    } else if c.starts_with("yes") || c.starts_with("own") || c.starts_with("renders") {
        Ok(Expect::Served)
    } else if let Some(rest) = c.strip_prefix("no") {
        Ok(Expect::Refused(rest.trim_start().strip_prefix('(').and_then(code_in)))
    } else if let Some(code) = code_in(c) {
        Ok(Expect::Refused(Some(code)))
    } else {
        Err(format!("the cell {c:?} starts with none of: yes, own, renders, no, `Code`, as a principal, –"))
    }
}

/// The table under `### <canister>` in "## Access matrix": method -> column -> cell.
fn matrix(doc: &str, canister: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let section = doc.split("\n## Access matrix").nth(1).expect("docs/security.md has an \"## Access matrix\" section");
    let section = section.split("\n## ").next().unwrap();
    let table = section.split(&format!("\n### {canister}\n")).nth(1).unwrap_or_else(|| panic!("no \"### {canister}\" table"));
    let table = table.split("\n### ").next().unwrap();
    let rows: Vec<Vec<String>> = table
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| l.trim().trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect())
        .collect();
    let header = &rows[0];
    let mut out = BTreeMap::new();
    for row in rows.iter().skip(1).filter(|r| r[0].starts_with('`')) {
        assert_eq!(row.len(), header.len(), "{canister}: the row {row:?} has {} cells, the header {}", row.len(), header.len());
        for method in row[0].split(", ") {
            let cells = header.iter().zip(row).skip(1).map(|(h, c)| (h.clone(), c.clone())).collect();
            out.insert(method.trim_matches('`').to_string(), cells);
        }
    }
    out
}

/// Whether `text` names `code` as a whole word (`Unknown` is not named by `UnknownShard`).
fn names(text: &str, code: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|word| word == code)
}

#[test]
fn cells_are_read_as_the_table_at_the_top_says() {
    assert!(names("(variant { Err = variant { NotAShard } })", "NotAShard"));
    assert!(names("(variant { Err = \"only SNS governance\" })", "Err"));
    assert!(!names("variant { UnknownShard }", "Unknown"));
    assert_eq!(expectation("yes (permissionless by design)"), Ok(Expect::Served));
    assert_eq!(expectation("own; within the daily attempts"), Ok(Expect::Served));
    assert_eq!(expectation("renders the proposal or refuses it"), Ok(Expect::Served));
    assert_eq!(expectation("no"), Ok(Expect::Refused(None)));
    assert_eq!(expectation("no (`Anonymous`)"), Ok(Expect::Refused(Some("Anonymous".into()))));
    assert_eq!(expectation("no (rejected: not a shard)"), Ok(Expect::Refused(None)));
    assert_eq!(expectation("no: every learner's data"), Ok(Expect::Refused(None)));
    assert_eq!(expectation("`NotRegistered`"), Ok(Expect::Refused(Some("NotRegistered".into()))));
    assert_eq!(expectation("as a principal"), Ok(Expect::AsPrincipal));
    assert_eq!(expectation("–"), Ok(Expect::NotCalled));
    assert!(expectation("maybe").is_err());
    let doc = "x\n## Access matrix\n\n### a\n\n| method | anonymous | hub |\n|---|---|---|\n| `f`, `g` | no | yes |\n\n### b\n| method | x |\n| `z` | no |\n## Next\n";
    let m = matrix(doc, "a");
    assert_eq!(m.keys().collect::<Vec<_>>(), ["f", "g"]);
    assert_eq!(m["g"]["hub"], "yes");
}

// ------------------------------------------------------------------ the platform

/// An answer: served or refused, with its text (the reply in Candid text, or the reject).
#[derive(Clone, Debug)]
enum Answer {
    Served(String),
    Refused(String),
}

impl Answer {
    fn text(&self) -> &str {
        match self {
            Answer::Served(t) | Answer::Refused(t) => t,
        }
    }
}

struct World {
    p: Platform,
    /// The shard called (`learner`, `neighbour`, `leaver` and `leaver2` live there).
    shard: Principal,
    /// The shard of `other`.
    other_shard: Principal,
    learner: Principal,
    /// Another learner of `shard`: calls each `own` method first.
    neighbour: Principal,
    /// Learners who delete their profiles (`delete_my_profile`'s learner, and its neighbour).
    leaver: Principal,
    leaver2: Principal,
    other: Principal,
    root: Principal,
    deployer: Principal,
    types: BTreeMap<&'static str, TypeEnv>,
    next_principal: Cell<u32>,
    next_unit: Cell<usize>,
    next_withdrawal_id: Cell<u64>,
    /// `resolve_withdrawal`'s mint, left in flight while the ledger is stopped.
    stuck: Cell<Option<u64>>,
}

fn get<R: CandidType + for<'de> serde::Deserialize<'de>>(w: &World, canister: Principal, method: &str) -> R {
    w.p.query::<_, (R,)>(canister, Principal::anonymous(), method, ()).0
}

impl World {
    fn new() -> World {
        let root = principal(1);
        let deployer = principal(2);
        let config = ConfigOverrides {
            // Four learners fill the first shard; the hub then creates another.
            shard_soft_limit: Some(4),
            shard_hard_limit: Some(1_000),
            allowance_chunk_e8s: Some(5 * REWARD),
            reward_per_quiz_e8s: Some(REWARD),
            daily_attempt_limit: Some(100),
            min_withdrawal_e8s: Some(1),
            withdrawal_cooldown_secs: Some(0),
            withdrawal_batch_secs: Some(0),
            shard_sync_interval_secs: Some(20),
            auto_scale_interval_secs: Some(10),
            ..Default::default()
        };
        let p = Platform::builder().quizzes(QUIZZES).pass_mark_percent(100).config(config).controller(deployer).deploy();
        // The SNS handover: root controls the hub and learning_content, the deployer nothing.
        for canister in [p.hub, p.content, p.ledger] {
            p.net.set_controllers(canister, Some(deployer), vec![root]).unwrap();
        }
        let [learner, neighbour, leaver, leaver2, other] = [10, 11, 12, 13, 14].map(principal);
        let shard = p.register(learner).unwrap();
        for who in [neighbour, leaver, leaver2] {
            assert_eq!(p.register(who).unwrap(), shard);
        }
        for (i, who) in [learner, neighbour, leaver, leaver2].into_iter().enumerate() {
            let input = ProfileInput { email: format!("l{i}@example.org"), name: format!("Learner {i}"), education: "School".into(), gender: Gender::PreferNotToSay };
            p.update_profile(shard, who, input).unwrap();
        }
        for i in 0..3 {
            p.pass(shard, learner, i);
        }
        p.unstake(shard, learner, 1).unwrap();
        p.wait(30);
        let other_shard = p.register(other).unwrap();
        assert_ne!(other_shard, shard, "the first shard is full: the other learner lives on a new shard");

        let types = CANISTERS.iter().map(|c| (*c, interface(c).0)).collect();
        let w = World {
            p,
            shard,
            other_shard,
            learner,
            neighbour,
            leaver,
            leaver2,
            other,
            root,
            deployer,
            types,
            next_principal: Cell::new(1_000),
            next_unit: Cell::new(3),
            next_withdrawal_id: Cell::new(1 << 40),
            stuck: Cell::new(None),
        };
        w
    }

    fn fresh_principal(&self) -> Principal {
        self.next_principal.set(self.next_principal.get() + 1);
        principal(self.next_principal.get())
    }

    fn canister(&self, name: &str) -> Principal {
        match name {
            "staking_hub" => self.p.hub,
            "user_profile" => self.shard,
            "learning_content" => self.p.content,
            _ => unreachable!("{name}"),
        }
    }

    /// Who calls as `class` a method of `canister` (`Principal`: a new one each time).
    fn caller(&self, canister: &str, method: &str, class: Class) -> Principal {
        match class {
            Class::Anonymous => Principal::anonymous(),
            Class::Principal => self.fresh_principal(),
            Class::Learner if method == "delete_my_profile" => self.leaver,
            Class::Learner => self.learner,
            Class::OtherLearner => self.other,
            // For the shard's methods, another shard; for the others, the learner's shard.
            Class::Shard if canister == "user_profile" => self.other_shard,
            Class::Shard => self.shard,
            Class::Hub => self.p.hub,
            Class::Governance => self.p.governance,
            Class::Root => self.root,
            Class::Deployer => self.deployer,
        }
    }

    fn settle(&self) {
        self.p.net.run_until_idle(100_000);
    }

    /// `sender` calls `method` of the platform canister `canister` (see [`call_on`]).
    fn call(&self, canister: &str, m: &Method, sender: Principal, ingress: bool, arg: Vec<u8>) -> Answer {
        call_on(&self.p.net, self.canister(canister), &self.types[canister], m, sender, ingress, arg)
    }

    fn governed(&self, canister: Principal, method: &str, arg: impl CandidType) {
        let _: () = self.p.update(canister, self.p.governance, method, (arg,));
        self.settle();
    }

    fn snapshot_id(&self) -> Option<ByteBuf> {
        let all: Vec<ShardRestoreHistory> = get(self, self.p.hub, "get_restore_history");
        all.into_iter().find(|h| h.shard_id == self.shard).and_then(|h| h.last_snapshot_id)
    }

    /// A rollout (the hub upgraded by root to a build embedding another shard release)
    /// snapshots the shards before upgrading them: restore_shard_snapshot's real path. Taken
    /// just before that row: a withdrawal journaled after a snapshot forbids restoring it.
    fn roll_out_new_shard_release(&self) {
        let p = &self.p;
        p.net.upgrade_canister(p.hub, wasm("staking_hub_rollout"), candid::encode_args(()).unwrap(), Some(self.root)).unwrap();
        self.governed(p.hub, "control_shard_rollout", RolloutCommand::Start { batch_size: 2 });
        for _ in 0..60 {
            if get::<RolloutStatus>(self, p.hub, "get_rollout_status").pending.is_empty() {
                break;
            }
            p.wait(5);
        }
        assert!(self.snapshot_id().is_some(), "the rollout snapshotted the shard");
    }

    fn config(&self) -> PlatformConfig {
        get(self, self.p.hub, "get_config")
    }

    /// A learner's view of their own data on the shard.
    fn own_data(&self, who: Principal) -> String {
        let q = |method: &str, arg: Vec<u8>| match self.p.net.query_call(self.shard, who, method, arg) {
            Ok(bytes) => format!("{:?}", bytes),
            Err(e) => e.reject_message,
        };
        let page = candid::encode_args((0u64, 100u64)).unwrap();
        [q("get_my_profile", candid::encode_args(()).unwrap()), q("get_my_progress", page.clone()), q("get_my_withdrawals", page)].join("\n")
    }

    /// A mint the hub sends while the ledger is stopped, past the ledger's deduplication horizon:
    /// no copy can execute any more, so governance may record it as not minted.
    fn stuck_mint(&self) -> u64 {
        if let Some(id) = self.stuck.get() {
            return id;
        }
        let ledger = self.p.ledger;
        self.p.net.stop_canister(ledger, Some(self.root)).expect("the ledger stops");
        let id = self.next_withdrawal_id.get() + (1 << 20);
        let request = MintRequest { withdrawal_id: id, user: self.learner, amount_e8s: 1_000, created_at_ns: self.p.net.get_time_nanos(), origin_shard: None };
        let msg = self.p.net.submit_call_as_canister(self.p.hub, self.shard, "mint_withdrawal", candid::encode_one(request).unwrap()).unwrap();
        let answer: Result<u64, MintError> = candid::decode_one(&self.p.net.await_call(msg).unwrap()).unwrap();
        assert!(matches!(answer, Err(MintError::TryLater { .. })), "a mint while the ledger is stopped: {answer:?}");
        self.p.net.advance_time(Duration::from_nanos(LEDGER_DEDUP_HORIZON_NS) + Duration::from_secs(60));
        self.settle();
        self.stuck.set(Some(id));
        id
    }

    fn mint_request(&self) -> MintRequest {
        self.next_withdrawal_id.set(self.next_withdrawal_id.get() + 1);
        MintRequest {
            withdrawal_id: self.next_withdrawal_id.get(),
            user: self.learner,
            amount_e8s: 1_000,
            created_at_ns: self.p.net.get_time_nanos(),
            origin_shard: None,
        }
    }

    fn next_unit(&self) -> usize {
        self.next_unit.set(self.next_unit.get() + 1);
        self.next_unit.get()
    }

    /// A page `import_users` takes: the neighbour's record, exported, as a new learner's.
    fn import_page(&self) -> ImportUsersArgs {
        let (exported,): (Result<ExportedUsers, ShardError>,) = self.p.query(self.shard, self.p.hub, "export_users", (None::<Principal>, 10u32));
        let mut page = exported.unwrap().page;
        page.users.retain(|u| u.principal == self.neighbour);
        assert_eq!(page.users.len(), 1, "the neighbour is on the first page");
        page.users[0].principal = self.fresh_principal();
        page.next_cursor = Some(page.users[0].principal);
        page.shard_totals = None;
        let sha256 = page_sha256(&page);
        ImportUsersArgs { source_shard: 1, page, sha256 }
    }
}

/// `sender` calls `m` of `id`: a query as a query; an update by ingress (`ingress`) or as a
/// canister calls (no ingress filter), with what it causes run to the end.
fn call_on(net: &LocalNet, id: Principal, types: &TypeEnv, m: &Method, sender: Principal, ingress: bool, arg: Vec<u8>) -> Answer {
    let result: Result<Vec<u8>, RejectResponse> = if m.query {
        net.query_call(id, sender, &m.name, arg)
    } else {
        let submitted = if ingress { net.submit_call(id, sender, &m.name, arg) } else { net.submit_call_as_canister(id, sender, &m.name, arg) };
        let r = submitted.and_then(|msg| net.await_call(msg));
        net.run_until_idle(100_000);
        r
    };
    match result {
        Err(e) => Answer::Refused(format!("reject ({:?}): {}", e.error_code, e.reject_message)),
        Ok(bytes) => {
            let value = IDLArgs::from_bytes_with_types(&bytes, types, &m.rets)
                .unwrap_or_else(|e| panic!("{}: the reply does not decode as the interface says: {e}", m.name));
            let refused = value.args.iter().any(|v| is_error(v) || matches!(v, IDLValue::Vec(items) if items.iter().any(is_error)));
            if refused {
                Answer::Refused(value.to_string())
            } else {
                Answer::Served(value.to_string())
            }
        }
    }
}

fn http_get(url: &str) -> HttpRequest {
    HttpRequest { method: "GET".into(), url: url.into(), headers: vec![], body: Default::default(), certificate_version: None }
}

fn args<A: candid::utils::ArgumentEncoder>(a: A) -> Vec<u8> {
    candid::encode_args(a).unwrap()
}

const NEW_UNIT: &str = "acl-new";
const UPDATED_UNIT: &str = "acl-updated";
const RETIRED_UNIT: &str = "acl-retired";

fn invite_hash() -> String {
    format!("{:064x}", 0xacc)
}

// ------------------------------------------------------------------ valid calls

/// Builds what a served call of `method` needs, before its calls.
fn before(w: &World, canister: &str, method: &str) {
    let p = &w.p;
    match (canister, method) {
        ("learning_content", "update_unit_validate") => {
            w.governed(p.content, "add_units", AddUnitsArgs { units: vec![unit(UPDATED_UNIT, "s", vec![0, 1])] });
        }
        ("learning_content", "retire_units_validate") => {
            w.governed(p.content, "add_units", AddUnitsArgs { units: vec![unit(RETIRED_UNIT, "s", vec![0, 1])] });
        }
        ("user_profile", "return_cycles_to_hub") => {
            let _: (Result<MigrationFreeze, ShardError>,) = p.update(w.shard, p.hub, "set_migration_freeze", (true,));
        }
        ("staking_hub", "request_top_up") => {
            // Low: the shard's cycles returned to the hub (as before a shard's deletion), then an
            // hour later (a shard may ask once an hour).
            let _: (Result<MigrationFreeze, ShardError>,) = p.update(w.shard, p.hub, "set_migration_freeze", (true,));
            let (sent,): (Result<candid::Nat, ShardError>,) = p.update(w.shard, p.hub, "return_cycles_to_hub", ());
            sent.unwrap();
            let _: (Result<MigrationFreeze, ShardError>,) = p.update(w.shard, p.hub, "set_migration_freeze", (false,));
            p.net.advance_time(Duration::from_secs(3_601));
            w.settle();
        }
        ("staking_hub", "resolve_withdrawal_validate") => {
            w.stuck_mint();
        }
        ("staking_hub", "restore_shard_snapshot_validate") => w.roll_out_new_shard_release(),
        _ => {}
    }
}

/// Puts back what the served call of `method` changed.
fn after(w: &World, canister: &str, method: &str) {
    let p = &w.p;
    let config = w.config();
    match (canister, method) {
        ("learning_content", "add_units") => {
            w.governed(p.content, "retire_units", RetireUnitsArgs { unit_ids: vec![NEW_UNIT.into()], reason: REASON.into() });
        }
        ("user_profile", "return_cycles_to_hub") => {
            let _: (Result<MigrationFreeze, ShardError>,) = p.update(w.shard, p.hub, "set_migration_freeze", (false,));
            p.net.add_cycles(w.shard, 10_000_000_000_000);
        }
        ("staking_hub", "request_top_up") => {
            p.net.add_cycles(w.shard, 10_000_000_000_000);
        }
        ("staking_hub", "resolve_withdrawal") => {
            p.net.start_canister(p.ledger, Some(w.root)).expect("the ledger starts again");
            w.settle();
        }
        ("staking_hub", "set_platform_paused") => w.governed(p.hub, method, SetPlatformPausedArgs { paused: false, reason: REASON.into() }),
        ("staking_hub", "set_shard_status") => {
            w.governed(p.hub, method, SetShardStatusArgs { shard_id: w.shard, disabled: false, reason: REASON.into() })
        }
        ("staking_hub", "update_config") => {
            w.governed(p.hub, method, ConfigOverrides { daily_attempt_limit: Some(config.daily_attempt_limit + 1), ..Default::default() })
        }
        ("staking_hub", "update_economic_config") => {
            w.governed(p.hub, method, EconomicConfigChanges { reward_per_quiz_e8s: Some(REWARD), ..Default::default() })
        }
        ("staking_hub", "set_registration_policy") => w.governed(
            p.hub,
            method,
            SetRegistrationPolicyArgs { revoke_invite_code_hashes: vec![invite_hash()], reason: REASON.into(), ..Default::default() },
        ),
        ("staking_hub", "control_shard_rollout") => w.governed(p.hub, method, RolloutCommand::Resume),
        ("staking_hub", "migrate_shard") => {
            let finished = (0..500).any(|_| {
                p.wait(5);
                let views: Vec<MigrationView> = get(w, p.hub, "get_migration_status");
                views.iter().any(|v| v.source == w.other_shard && v.finished_at_ns.is_some())
            });
            assert!(finished, "the migration finishes");
        }
        _ => {}
    }
}

/// A valid argument of `method` for a call by `class` (None: the test knows no valid call,
/// which fails it). A served call must be possible with it: the state it needs is built by
/// [`before`].
fn call_for(w: &World, canister: &str, method: &str, class: Class) -> Option<Vec<u8>> {
    let p = &w.p;
    let none = || args(());
    let config = w.config();
    let validated = method.strip_suffix("_validate").unwrap_or(method);
    Some(match (canister, validated) {
        // Queries open to anyone.
        (_, "get_config" | "get_config_status" | "get_cycles_report" | "get_global_stats" | "get_icp_refill_status" | "get_init_args")
        | (_, "get_migration_status" | "get_mint_compaction_status" | "get_registration_policy" | "get_restore_history")
        | (_, "get_rollout_status" | "get_shard_wasm_hash" | "get_version" | "list_shards" | "get_cleanup_status" | "get_shard_stats")
        | (_, "get_config_version" | "get_cycles_balance" | "list_subjects" | "get_my_profile") => none(),
        ("learning_content", "http_request") => args((http_get("/subjects"),)),
        (_, "http_request") => args((http_get("/metrics"),)),
        (_, "get_user_shard") => args((w.learner,)),
        (_, "get_my_progress" | "get_my_withdrawals") => args((0u64, 10u64)),
        ("learning_content", "get_unit") => args((QUIZZES.id(0),)),
        ("learning_content", "list_units") => args(("s", 0u64, 10u64)),

        // staking_hub
        ("staking_hub", "ensure_capacity" | "refill_from_icp") => none(),
        ("staking_hub", "register") => args((None::<RegistrationProof>,)),
        ("staking_hub", "request_allowance") => {
            let stats: ShardStats = get(w, w.shard, "get_shard_stats");
            let report = ShardReport {
                total_staked_e8s: stats.total_staked_e8s,
                user_count: stats.users,
                quizzes_passed_delta: 0,
                wants_allowance: false,
                stable_memory_bytes: Some(p.net.memory_sizes(w.shard).unwrap().1),
                settled_below_withdrawal_id: None,
            };
            args((report,))
        }
        ("staking_hub", "mint_withdrawal") => args((w.mint_request(),)),
        ("staking_hub", "mint_withdrawals") => args((vec![w.mint_request(), w.mint_request()],)),
        ("staking_hub", "request_top_up") => args((candid::Nat::from(p.net.cycle_balance(w.shard)),)),
        ("staking_hub", "set_answer_keys") => args((AnswerKeySet { version: 0, keys: vec![] },)),
        ("staking_hub", "control_shard_rollout") => args((RolloutCommand::Pause,)),
        ("staking_hub", "set_platform_paused") => args((SetPlatformPausedArgs { paused: true, reason: REASON.into() },)),
        ("staking_hub", "set_shard_status") => args((SetShardStatusArgs { shard_id: w.shard, disabled: true, reason: REASON.into() },)),
        ("staking_hub", "update_config") => {
            args((ConfigOverrides { daily_attempt_limit: Some(config.daily_attempt_limit - 1), ..Default::default() },))
        }
        ("staking_hub", "update_economic_config") => {
            args((EconomicConfigChanges { reward_per_quiz_e8s: Some(REWARD / 2), ..Default::default() },))
        }
        ("staking_hub", "set_registration_policy") => {
            args((SetRegistrationPolicyArgs { add_invite_code_hashes: vec![invite_hash()], reason: REASON.into(), ..Default::default() },))
        }
        ("staking_hub", "resolve_withdrawal") => args((ResolveWithdrawalArgs {
            shard_id: w.shard,
            withdrawal_id: w.stuck.get().expect("set up before the validator"),
            minted_at_block: None,
            reason: REASON.into(),
        },)),
        ("staking_hub", "restore_shard_snapshot") => args((RestoreShardArgs {
            shard_id: w.shard,
            snapshot_id: w.snapshot_id().expect("the rollout's snapshot"),
            reason: REASON.into(),
        },)),
        ("staking_hub", "migrate_shard") => args((MigrateShardArgs::Migrate { shard: w.other_shard },)),

        // user_profile
        ("user_profile", "apply_answer_keys") => args((AnswerKeySet { version: 0, keys: vec![] },)),
        ("user_profile", "apply_config") => {
            let status: ConfigStatus = get(w, p.hub, "get_config_status");
            args((ShardConfigPush { version: status.version, config: status.config, platform_paused: Some(false) },))
        }
        ("user_profile", "delete_my_profile") => args((DeleteProfileArgs { forfeit_staked_balance: true },)),
        ("user_profile", "export_users") => args((None::<Principal>, 10u32)),
        ("user_profile", "import_users") => args((w.import_page(),)),
        ("user_profile", "register_user") => args((w.fresh_principal(),)),
        ("user_profile", "return_cycles_to_hub") => none(),
        ("user_profile", "set_disabled") => args((false, None::<u64>)),
        ("user_profile", "set_migration_freeze") => args((false,)),
        ("user_profile", "submit_quiz") => {
            let i = if class == Class::Learner { w.next_unit() } else { w.next_unit.get() + 1 };
            args((QUIZZES.id(i), QUIZZES.answers(i)))
        }
        ("user_profile", "unstake") => args((1u64,)),
        ("user_profile", "update_profile") => args((ProfileInput {
            email: "new@example.org".into(),
            name: format!("Renamed by {class:?}"),
            education: "University".into(),
            gender: Gender::PreferNotToSay,
        },)),

        // learning_content
        ("learning_content", "add_units") => args((AddUnitsArgs { units: vec![unit(NEW_UNIT, "s", vec![2, 2])] },)),
        ("learning_content", "update_unit") => args((UpdateUnitArgs { unit: unit(UPDATED_UNIT, "s", vec![1, 0]) },)),
        ("learning_content", "retire_units") => args((RetireUnitsArgs { unit_ids: vec![RETIRED_UNIT.into()], reason: REASON.into() },)),
        ("learning_content", "apply_config") => {
            let version: u64 = get(w, p.content, "get_config_version");
            args((ContentConfigPush { pass_mark_percent: config.pass_mark_percent, version },))
        }
        ("learning_content", "register_shard") => args((w.shard,)),
        ("learning_content", "verify_quiz") => args((QUIZZES.id(0), QUIZZES.answers(0))),
        _ => return None,
    })
}

/// The order the rows are checked in: the `.did`'s, but each validator just before its target
/// (it judges the state the target will change), and last the rows that change who is who
/// (a snapshot restored, a shard migrated, canisters registered as learners).
fn order(methods: &[Method]) -> Vec<&Method> {
    const LAST: &[&str] = &["restore_shard_snapshot_validate", "restore_shard_snapshot", "migrate_shard_validate", "migrate_shard", "register"];
    let key = |m: &&Method| {
        let target = m.name.strip_suffix("_validate").unwrap_or(&m.name);
        let last = LAST.iter().position(|l| *l == m.name).map_or(0, |i| i + 1);
        (last, target.to_string(), !m.name.ends_with("_validate"))
    };
    let mut ordered: Vec<&Method> = methods.iter().collect();
    ordered.sort_by_key(key);
    ordered
}

// ------------------------------------------------------------------ the tests

/// Checks one row: each class of `columns` (class, its column) is called as the cell says,
/// refusals first (they must leave what a served call needs). `prepare(class)` gives the
/// caller and the argument, `send(sender, ingress, arg)` makes the call. Answers the calls made.
fn check_row(
    name: &str,
    m: &Method,
    cells: &BTreeMap<String, String>,
    columns: &[(Class, &str)],
    mut prepare: impl FnMut(Class) -> (Principal, Vec<u8>),
    mut send: impl FnMut(Principal, bool, Vec<u8>) -> Answer,
    fail: &dyn Fn(String),
) -> usize {
    let expect = |column: &str| -> Expect {
        match expectation(&cells[column]).unwrap() {
            Expect::AsPrincipal => expectation(&cells["principal"]).unwrap(),
            e => e,
        }
    };
    let mut ordered = columns.to_vec();
    ordered.sort_by_key(|(_, column)| expect(column) == Expect::Served);
    let mut calls = 0;
    for (class, column) in ordered {
        let expected = expect(column);
        if expected == Expect::NotCalled {
            continue;
        }
        let (sender, arg) = prepare(class);
        let answer = send(sender, class.by_ingress(), arg.clone());
        calls += 1;
        let what = format!("{name} as {class:?} (cell {:?})", cells[column]);
        match (&expected, &answer) {
            (Expect::Served, Answer::Served(_)) => {}
            (Expect::Served, Answer::Refused(why)) => fail(format!("{what}: refused, expected served: {why}")),
            (Expect::Refused(_), Answer::Served(reply)) => fail(format!("{what}: served, expected refused: {reply}")),
            (Expect::Refused(code), Answer::Refused(_)) => {
                // The method's own answer: ingress again, as a replica that skips the ingress
                // filter would deliver it.
                let own = if class.by_ingress() && !m.query { send(sender, false, arg) } else { answer.clone() };
                match (&own, code) {
                    (Answer::Served(reply), _) => fail(format!("{what}: refused only by the ingress filter; the method itself served it: {reply}")),
                    (Answer::Refused(why), Some(code)) if !names(why, code) => {
                        fail(format!("{what}: refused, but the answer does not name `{code}`: {why}"))
                    }
                    _ => {}
                }
            }
            (Expect::AsPrincipal | Expect::NotCalled, _) => unreachable!(),
        }
    }
    calls
}

/// The cells of a row that do not say what they expect, as failures.
fn unreadable(name: &str, cells: &BTreeMap<String, String>) -> Vec<String> {
    cells.iter().filter_map(|(column, cell)| expectation(cell).err().map(|e| format!("{name}, {column}: {e}"))).collect()
}

fn doc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/security.md")).unwrap()
}

#[test]
fn every_method_answers_every_caller_class_as_docs_security_md_says() {
    let doc = doc();
    let w = World::new();
    let failures = RefCell::new(Vec::<String>::new());
    let fail = |s: String| failures.borrow_mut().push(s);
    let columns: Vec<(Class, &str)> = CLASSES.iter().map(|c| (*c, c.column())).collect();
    let mut checked = 0;
    for canister in CANISTERS {
        let table = matrix(&doc, canister);
        let (_, methods) = interface(canister);
        for m in order(&methods) {
            let name = format!("{canister}.{}", m.name);
            let Some(cells) = table.get(&m.name) else {
                fail(format!("{name}: no row in docs/security.md"));
                continue;
            };
            before(&w, canister, &m.name);
            if call_for(&w, canister, &m.name, Class::Learner).is_none() {
                fail(format!("{name}: the test knows no valid call (add one to call_for)"));
                continue;
            }
            let bad = unreadable(&name, cells);
            if !bad.is_empty() {
                bad.into_iter().for_each(&fail);
                continue;
            }

            // `own`: another learner of the shard calls first; the learner's data stays theirs.
            if cells["learner"].starts_with("own") {
                let owner = w.caller(canister, &m.name, Class::Learner);
                let another = if m.name == "delete_my_profile" { w.leaver2 } else { w.neighbour };
                let owners_data = w.own_data(owner);
                let arg = call_for(&w, canister, &m.name, Class::Learner).unwrap();
                let theirs = w.call(canister, m, another, true, arg.clone());
                if w.own_data(owner) != owners_data {
                    fail(format!("{name}: another learner's call changed the learner's data"));
                }
                if m.query {
                    let owners = w.call(canister, m, owner, true, arg);
                    if owners.text() == theirs.text() {
                        fail(format!("{name}: another learner is answered the learner's data: {}", owners.text()));
                    }
                }
            }

            checked += check_row(
                &name,
                m,
                cells,
                &columns,
                |class| (w.caller(canister, &m.name, class), call_for(&w, canister, &m.name, class).unwrap()),
                |sender, ingress, arg| w.call(canister, m, sender, ingress, arg),
                &fail,
            );
            after(&w, canister, &m.name);
        }
    }

    // Callers outside the columns, named in cells.
    // set_answer_keys: "only learning_content".
    let (_, hub_methods) = interface("staking_hub");
    let keys = hub_methods.iter().find(|m| m.name == "set_answer_keys").unwrap();
    match w.call("staking_hub", keys, w.p.content, false, args((AnswerKeySet { version: 0, keys: vec![] },))) {
        Answer::Served(_) => {}
        Answer::Refused(why) => fail(format!("staking_hub.set_answer_keys as learning_content: refused: {why}")),
    }
    // export_users: a reader the DAO named in `user_export_readers` reads (and only then).
    let reader = w.fresh_principal();
    w.governed(w.p.hub, "update_config", ConfigOverrides { user_export_readers: Some(vec![reader]), ..Default::default() });
    w.p.wait(30);
    let (_, shard_methods) = interface("user_profile");
    let export = shard_methods.iter().find(|m| m.name == "export_users").unwrap();
    let export_arg = args((None::<Principal>, 10u32));
    match w.call("user_profile", export, reader, true, export_arg.clone()) {
        Answer::Served(_) => {}
        Answer::Refused(why) => fail(format!("user_profile.export_users as a named reader: refused: {why}")),
    }
    w.governed(w.p.hub, "update_config", ConfigOverrides { user_export_readers: Some(vec![]), ..Default::default() });
    w.p.wait(30);
    if let Answer::Served(_) = w.call("user_profile", export, reader, true, export_arg) {
        fail("user_profile.export_users: a reader the DAO removed still reads".into());
    }

    let failures = failures.into_inner();
    eprintln!("access matrix: {checked} calls checked, {} failures", failures.len());
    assert!(failures.is_empty(), "{} cells do not hold:\n{}", failures.len(), failures.join("\n"));
}

// ------------------------------------------------------------------ frontend_assets

/// frontend_assets as the deploy leaves it (docs/frontend.md): SNS governance holds Commit,
/// the deployer Prepare, SNS root is the only controller, nobody holds ManagePermissions.
struct Assets {
    net: LocalNet,
    id: Principal,
    types: TypeEnv,
    /// Its methods, read once from the `.did`.
    methods: Vec<Method>,
    governance: Principal,
    root: Principal,
    deployer: Principal,
    next: Cell<u32>,
    /// Batches opened by the test, until deleted.
    batches: RefCell<Vec<u64>>,
}

const INDEX_HTML: &[u8] = b"<p>hello</p>";

/// Candid text of a blob.
fn blob(bytes: &[u8]) -> String {
    format!("blob \"{}\"", bytes.iter().map(|b| format!("\\{b:02x}")).collect::<String>())
}

impl Assets {
    fn new() -> Assets {
        let net = LocalNet::new();
        let [governance, root, deployer] = [3, 4, 5].map(principal);
        let settings = localnet::management_types::CanisterSettings { controllers: Some(vec![deployer]), ..Default::default() };
        let id = net.create_canister_with_settings(Some(deployer), Some(settings));
        let init = Some(platform_types::assets::AssetCanisterArgs::Init(Default::default()));
        net.install_canister(id, wasm("frontend_assets"), candid::encode_one(init).unwrap(), Some(deployer));
        let (types, methods) = interface("frontend_assets");
        let a = Assets { net, id, types, methods, governance, root, deployer, next: Cell::new(0), batches: RefCell::new(Vec::new()) };
        for key in ["/index.html", "/unset.txt", "/delete.txt"] {
            a.must(deployer, "store", &format!("(record {{ key = \"{key}\"; content_type = \"text/plain\"; content_encoding = \"identity\"; content = {}; sha256 = null; aliased = null }})", blob(INDEX_HTML)));
        }
        a.must(deployer, "grant_permission", &format!("(record {{ to_principal = principal \"{governance}\"; permission = variant {{ Commit }} }})"));
        a.must(deployer, "grant_permission", &format!("(record {{ to_principal = principal \"{deployer}\"; permission = variant {{ Prepare }} }})"));
        a.must(deployer, "revoke_permission", &format!("(record {{ of_principal = principal \"{deployer}\"; permission = variant {{ Commit }} }})"));
        a.net.set_controllers(id, Some(deployer), vec![root]).unwrap();
        a
    }

    fn method(&self, name: &str) -> &Method {
        self.methods.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("frontend_assets has no {name}"))
    }

    fn encode(&self, m: &Method, text: &str) -> Vec<u8> {
        let value = candid_parser::parse_idl_args(text).unwrap_or_else(|e| panic!("{}: {text}: {e}", m.name));
        value.to_bytes_with_types(&self.types, &m.args).unwrap_or_else(|e| panic!("{}: {text}: {e}", m.name))
    }

    fn send(&self, m: &Method, sender: Principal, ingress: bool, arg: Vec<u8>) -> Answer {
        call_on(&self.net, self.id, &self.types, m, sender, ingress, arg)
    }

    /// A call the setup needs, as `sender` (a canister or the deployer): it must be served.
    fn must(&self, sender: Principal, method: &str, text: &str) -> String {
        let m = self.method(method);
        match self.send(m, sender, sender == self.deployer, self.encode(m, text)) {
            Answer::Served(reply) => reply,
            Answer::Refused(why) => panic!("{method} {text} as {sender}: {why}"),
        }
    }

    fn fresh(&self) -> Principal {
        self.next.set(self.next.get() + 1);
        principal(50_000 + self.next.get())
    }

    /// A batch the deployer (Prepare) opens; a proposed batch blocks new ones, so the open
    /// ones are deleted first if needed.
    fn open_batch(&self) -> u64 {
        let m = self.method("create_batch");
        let reply = match self.send(m, self.deployer, true, self.encode(m, "()")) {
            Answer::Served(reply) => reply,
            Answer::Refused(_) => {
                self.delete_batches();
                self.must(self.deployer, "create_batch", "()")
            }
        };
        let digits: String = reply.split("batch_id =").nth(1).unwrap().chars().skip_while(|c| !c.is_ascii_digit()).take_while(|c| c.is_ascii_digit()).collect();
        let id = digits.parse().unwrap();
        self.batches.borrow_mut().push(id);
        id
    }

    /// The proposed batch (opened and proposed by the deployer if there is none) and its evidence.
    fn proposed_batch(&self) -> (u64, String) {
        let m = self.method("compute_evidence");
        let evidence = |id: u64| match self.send(m, self.deployer, true, self.encode(m, &format!("(record {{ batch_id = {id} : nat; max_iterations = null }})"))) {
            Answer::Served(reply) => reply.split("opt blob \"").nth(1).map(|e| format!("blob \"{}\"", e.split('"').next().unwrap())),
            Answer::Refused(_) => None,
        };
        let open = self.batches.borrow().clone();
        if let Some((id, e)) = open.into_iter().find_map(|id| evidence(id).map(|e| (id, e))) {
            return (id, e);
        }
        let id = self.open_batch();
        self.must(self.deployer, "propose_commit_batch", &format!("(record {{ batch_id = {id} : nat; operations = vec {{}} }})"));
        (id, evidence(id).expect("the evidence of a batch with no operations"))
    }

    /// Deletes every batch opened (the deployer may).
    fn delete_batches(&self) {
        let m = self.method("delete_batch");
        for id in self.batches.take() {
            let _ = self.send(m, self.deployer, true, self.encode(m, &format!("(record {{ batch_id = {id} : nat }})")));
        }
    }

    /// A valid argument of `method` for `sender` (Candid text).
    fn call_for(&self, method: &str, sender: Principal, class: Class) -> Option<String> {
        let asset = "\"/index.html\"";
        // The chunk's sha256 is required (that of the content `new` stored).
        let sha = blob(&sha2::Sha256::digest(INDEX_HTML));
        let chunk_arg = format!("(record {{ key = {asset}; content_encoding = \"identity\"; index = 0 : nat; sha256 = opt {sha} }})");
        let configure = "(record { max_batches = opt opt (100 : nat64); max_chunks = null; max_bytes = null })".to_string();
        // Whose permission a deauthorize or revoke names: the caller's own (the one it holds),
        // except root's (a controller manages everyone's: it names another principal).
        let of = if class == Class::Root { self.fresh() } else { sender };
        let held = if sender == self.governance { "Commit" } else { "Prepare" };
        Some(match method {
            "api_version" | "certified_tree" | "list" | "list_authorized" | "get_configuration" | "validate_take_ownership" | "take_ownership" | "create_batch" => "()".into(),
            "clear" => "(record {})".into(),
            "get" => format!("(record {{ key = {asset}; accept_encodings = vec {{ \"identity\" }} }})"),
            "get_chunk" | "http_request_streaming_callback" => chunk_arg,
            "http_request" => format!("(record {{ method = \"GET\"; url = {asset}; headers = vec {{}}; body = blob \"\"; certificate_version = null }})"),
            "get_asset_properties" | "retrieve" => format!("({asset})"),
            "list_permitted" => "(record { permission = variant { Commit } })".into(),
            "validate_configure" | "configure" => configure,
            "validate_grant_permission" | "grant_permission" => {
                format!("(record {{ to_principal = principal \"{}\"; permission = variant {{ Prepare }} }})", self.fresh())
            }
            "validate_revoke_permission" | "revoke_permission" => format!("(record {{ of_principal = principal \"{of}\"; permission = variant {{ {held} }} }})"),
            "authorize" => format!("(principal \"{}\")", self.fresh()),
            "deauthorize" => format!("(principal \"{of}\")"),
            "validate_commit_proposed_batch" | "commit_proposed_batch" | "compute_evidence" => {
                let (id, evidence) = self.proposed_batch();
                if method == "compute_evidence" {
                    format!("(record {{ batch_id = {id} : nat; max_iterations = null }})")
                } else {
                    format!("(record {{ batch_id = {id} : nat; evidence = {evidence} }})")
                }
            }
            "create_chunk" => format!("(record {{ batch_id = {} : nat; content = {} }})", self.open_batch(), blob(b"chunk")),
            "create_chunks" => format!("(record {{ batch_id = {} : nat; content = vec {{ {} }} }})", self.open_batch(), blob(b"chunk")),
            "propose_commit_batch" | "commit_batch" => format!("(record {{ batch_id = {} : nat; operations = vec {{}} }})", self.open_batch()),
            "delete_batch" => format!("(record {{ batch_id = {} : nat }})", self.open_batch()),
            "store" => format!(
                "(record {{ key = \"/stored.txt\"; content_type = \"text/plain\"; content_encoding = \"identity\"; content = {}; sha256 = null; aliased = null }})",
                blob(b"stored")
            ),
            "create_asset" => format!(
                "(record {{ key = \"/created-{}.txt\"; content_type = \"text/plain\"; headers = null; allow_raw_access = null; max_age = null; enable_aliasing = null }})",
                self.fresh()
            ),
            "set_asset_content" => {
                let batch = self.open_batch();
                let reply = self.must(self.deployer, "create_chunk", &format!("(record {{ batch_id = {batch} : nat; content = {} }})", blob(b"<p>new</p>")));
                let chunk: String = reply.split("chunk_id =").nth(1).unwrap().chars().skip_while(|c| !c.is_ascii_digit()).take_while(|c| c.is_ascii_digit()).collect();
                format!("(record {{ key = {asset}; content_encoding = \"identity\"; chunk_ids = vec {{ {chunk} : nat }}; sha256 = null; last_chunk = null }})")
            }
            "unset_asset_content" => "(record { key = \"/unset.txt\"; content_encoding = \"identity\" })".into(),
            "delete_asset" => "(record { key = \"/delete.txt\" })".into(),
            "set_asset_properties" => {
                format!("(record {{ key = {asset}; max_age = opt opt (60 : nat64); headers = null; allow_raw_access = null; is_aliased = null }})")
            }
            _ => return None,
        })
    }

    /// Puts back the permissions a served deauthorize or revoke took.
    fn restore_permissions(&self) {
        self.must(self.root, "grant_permission", &format!("(record {{ to_principal = principal \"{}\"; permission = variant {{ Commit }} }})", self.governance));
        self.must(self.root, "grant_permission", &format!("(record {{ to_principal = principal \"{}\"; permission = variant {{ Prepare }} }})", self.deployer));
    }
}

#[test]
fn every_frontend_assets_method_answers_every_caller_class_as_docs_security_md_says() {
    let doc = doc();
    let a = Assets::new();
    let table = matrix(&doc, "frontend_assets");
    let columns: [(Class, &str); 5] = [
        (Class::Anonymous, "anonymous"),
        (Class::Principal, "any principal"),
        (Class::Governance, "SNS governance"),
        (Class::Root, "SNS root (controller)"),
        (Class::Deployer, "deployer (Prepare)"),
    ];
    let caller = |class: Class| match class {
        Class::Anonymous => Principal::anonymous(),
        Class::Governance => a.governance,
        Class::Root => a.root,
        Class::Deployer => a.deployer,
        _ => a.fresh(),
    };
    let failures = RefCell::new(Vec::<String>::new());
    let fail = |s: String| failures.borrow_mut().push(s);
    let (_, methods) = interface("frontend_assets");
    // What empties the canister or takes it over goes last.
    let mut ordered: Vec<&Method> = methods.iter().collect();
    ordered.sort_by_key(|m| ["clear", "take_ownership"].iter().position(|l| *l == m.name).map_or(0, |i| i + 1));
    let mut checked = 0;
    for m in ordered {
        let name = format!("frontend_assets.{}", m.name);
        let Some(cells) = table.get(&m.name) else {
            fail(format!("{name}: no row in docs/security.md"));
            continue;
        };
        if a.call_for(&m.name, a.deployer, Class::Deployer).is_none() {
            fail(format!("{name}: the test knows no valid call (add one to Assets::call_for)"));
            continue;
        }
        // "its own ... only": the caller may name itself (checked below as served), and only itself.
        let mut cells = cells.clone();
        for (class, column) in columns {
            if cells[column].starts_with("its own") {
                let sender = caller(class);
                let someone_else = if sender == a.deployer { a.governance } else { a.deployer };
                let text = a.call_for(&m.name, someone_else, class).unwrap();
                if let Answer::Served(reply) = a.send(m, sender, class.by_ingress(), a.encode(m, &text)) {
                    fail(format!("{name} as {class:?}: naming another principal was served: {reply}"));
                }
                cells.insert(column.to_string(), "yes (its own)".into());
            }
        }
        let bad = unreadable(&name, &cells);
        if !bad.is_empty() {
            bad.into_iter().for_each(&fail);
            continue;
        }
        checked += check_row(
            &name,
            m,
            &cells,
            &columns,
            |class| {
                let sender = caller(class);
                (sender, a.encode(m, &a.call_for(&m.name, sender, class).unwrap()))
            },
            |sender, ingress, arg| a.send(m, sender, ingress, arg),
            &fail,
        );
        a.delete_batches();
        if m.name == "deauthorize" || m.name == "revoke_permission" {
            a.restore_permissions();
        }
    }
    let failures = failures.into_inner();
    eprintln!("frontend_assets access matrix: {checked} calls checked, {} failures", failures.len());
    assert!(failures.is_empty(), "{} cells do not hold:\n{}", failures.len(), failures.join("\n"));
}
