//! The platform on localnet as the benchmark drives it: learning_content with its units, the
//! project's ICRC-1 ledger (minting account: the hub), staking_hub (which creates the shard on
//! the first registration), and the bare `echo` canister; metering of single calls and bulk
//! rounds of calls.

use candid::{CandidType, Principal};
use icrc_ledger::types::{FeatureFlags, InitArgs, LedgerArgument};
use icrc_ledger_types::icrc1::account::Account;
use localnet::{ExecutionRecord, LocalNet};
use platform_types::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Units in learning_content: two subjects of ten, five questions of four options each.
pub const UNITS: usize = 20;
pub const QUESTIONS: usize = 5;
/// Cycles added to every canister up front, so no top-up or freezing shows in the figures.
const FUNDING: u128 = 1_000_000_000_000_000;
/// Ingress messages submitted before the rounds run, in a bulk step: fewer than the calls one
/// canister may have open to another (localnet, like the IC, refuses the 501st: a burst of
/// registrations would have the hub's calls to the shard refused), with room for the
/// platform's own calls.
const BULK_BATCH: usize = localnet::MAX_OUTSTANDING_CALLS_PER_PAIR * 4 / 5;
/// Resubmissions of a bulk call refused for now (e.g. while the shard fetches allowance).
const MAX_RETRIES: usize = 5;

pub fn wasm(name: &str) -> Vec<u8> {
    let dir = match std::env::var_os("CANISTER_WASM_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/canisters"),
    };
    let path = dir.join(format!("{name}.wasm.gz"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}. Build the canisters first: bash scripts/build-canisters.sh", path.display()))
}

pub fn unit_id(i: usize) -> String {
    let subject = if i < UNITS / 2 { "algebra" } else { "biology" };
    format!("{subject}-{:02}", i % (UNITS / 2) + 1)
}

pub fn subject(i: usize) -> String {
    if i < UNITS / 2 { "Algebra" } else { "Biology" }.to_string()
}

/// Unit `i`'s right answers.
pub fn answers(i: usize) -> Vec<u32> {
    (0..QUESTIONS).map(|q| ((i + q) % 4) as u32).collect()
}

fn units() -> Vec<UnitInput> {
    (0..UNITS).map(unit_input).collect()
}

/// Unit `i` as learning_content is deployed with it.
pub fn unit_input(i: usize) -> UnitInput {
    UnitInput {
        unit: Unit {
            id: unit_id(i),
            subject: subject(i),
            title: format!("{} {}: a lesson title of usual length", subject(i), i % (UNITS / 2) + 1),
            // About 1.5 KB of lesson text, the size of a short unit.
            body: "A paragraph of lesson text that explains one idea with an example. ".repeat(22),
            questions: (0..QUESTIONS)
                .map(|q| Question {
                    text: format!("Question {} about this unit, phrased as a full sentence?", q + 1),
                    options: (0..4).map(|o| format!("Answer option {o}")).collect(),
                })
                .collect(),
        },
        answer_key: answers(i),
    }
}

/// Learner `n`: a self-authenticating principal, the kind a real identity has (29 bytes).
pub fn learner(n: u64) -> Principal {
    Principal::self_authenticating([b"bench-learner".as_slice(), &n.to_be_bytes()].concat())
}

pub fn profile(n: u64) -> ProfileInput {
    ProfileInput {
        email: format!("learner{n}@example.org"),
        name: format!("Learner Number {n}"),
        education: "Secondary school".into(),
        gender: Gender::PreferNotToSay,
    }
}

/// One metered update call.
#[derive(Clone, Debug)]
pub struct UpdateSample {
    pub reply: Vec<u8>,
    /// `canister: entry` and instructions of every execution the ingress message caused.
    pub parts: Vec<(String, u64)>,
    pub inspect_message: u64,
    pub cycles_charged: u128,
    pub ingress_bytes: usize,
    /// Calls to other canisters (one callback execution each).
    pub calls: usize,
}

pub struct Env {
    pub net: LocalNet,
    pub hub: Principal,
    pub content: Principal,
    pub echo: Principal,
    names: BTreeMap<Principal, &'static str>,
}

impl Env {
    /// Deploys the platform with `config` (the shard limits and reward settings of the run).
    pub fn deploy(config: ConfigOverrides) -> Env {
        Self::deploy_on(LocalNet::new(), config)
    }

    /// [`deploy`](Self::deploy) on `net` (e.g. several subnets): every platform canister on
    /// subnet 0.
    pub fn deploy_on(net: LocalNet, config: ConfigOverrides) -> Env {
        let governance = Principal::from_slice(&[9; 29]);
        let hub = net.create_canister();
        let content = net.create_canister();
        let ledger = net.create_canister();
        let echo = net.create_canister();
        for c in [hub, content, ledger, echo] {
            net.add_cycles(c, FUNDING);
        }
        let init = ContentInitArgs { hub_id: hub, sns_governance_id: governance, units: units(), pass_mark_percent: Some(60) };
        net.install_canister(content, wasm("learning_content"), candid::encode_one(init).unwrap(), None);
        let init = LedgerArgument::Init(InitArgs {
            minting_account: Account { owner: hub, subaccount: None },
            fee_collector_account: None,
            transfer_fee: 10_000u64.into(),
            decimals: Some(8),
            max_memo_length: None,
            token_symbol: "LRN".into(),
            token_name: "Learn".into(),
            metadata: vec![],
            initial_balances: vec![],
            feature_flags: Some(FeatureFlags { icrc2: true }),
        });
        net.install_canister(ledger, wasm("icrc_ledger"), candid::encode_one(init).unwrap(), None);
        let init = HubInitArgs {
            ledger_id: ledger,
            learning_content_id: content,
            sns_governance_id: governance,
            config: Some(config),
            registration_policy: Some(RegistrationPolicy::Open),
            icp_refill: None,
        };
        net.install_canister(hub, wasm("staking_hub"), candid::encode_one(init).unwrap(), None);
        net.install_canister(echo, wasm("echo"), candid::encode_args(()).unwrap(), None);
        let names = [(hub, "staking_hub"), (content, "learning_content"), (ledger, "icrc_ledger"), (echo, "echo")].into();
        Env { net, hub, content, echo, names }
    }

    /// A canister's name in the figures; the hub's shards are `user_profile`.
    pub fn name(&self, canister: Principal) -> &'static str {
        self.names.get(&canister).copied().unwrap_or("user_profile")
    }

    /// A shard the hub created: funded like the others.
    pub fn fund(&self, canister: Principal) {
        self.net.add_cycles(canister, FUNDING);
    }

    pub fn total_cycles(&self) -> u128 {
        self.net.canister_ids().into_iter().map(|c| self.net.cycle_balance(c)).sum()
    }

    /// One ingress update, run to its answer, with every execution it caused.
    pub fn update(&self, canister: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> UpdateSample {
        let ingress_bytes = method.len() + arg.len();
        let before = self.total_cycles();
        self.net.take_execution_log();
        let id = self.net.submit_call(canister, sender, method, arg).unwrap_or_else(|e| panic!("{method}: {e:?}"));
        let reply = self.net.await_call(id).unwrap_or_else(|e| panic!("{method}: {e:?}"));
        let log = self.net.take_execution_log();
        let cycles_charged = before - self.total_cycles();
        let inspect_entry = format!("inspect_message {method}");
        let inspect_message = log.iter().filter(|r| r.ingress.is_none() && r.canister == canister && r.entry == inspect_entry).map(|r| r.instructions).sum();
        let caused: Vec<&ExecutionRecord> = log.iter().filter(|r| r.ingress == Some(id)).collect();
        let unrelated: Vec<&ExecutionRecord> = log.iter().filter(|r| r.ingress != Some(id) && r.entry != inspect_entry).collect();
        assert!(unrelated.is_empty(), "{method}: executions not caused by the call would blur its figures: {unrelated:?}");
        assert!(caused.iter().all(|r| !r.trapped), "{method} trapped: {caused:?}");
        let parts = caused.iter().map(|r| (format!("{}: {}", self.name(r.canister), r.entry), r.instructions)).collect();
        let calls = caused.iter().filter(|r| r.entry.ends_with("callback")).count();
        UpdateSample { reply, parts, inspect_message, cycles_charged, ingress_bytes, calls }
    }

    /// One ingress update that may spawn follow-up work (a timer, a push to other canisters)
    /// or be refused with a trap (a governance target's refusal): the figures are the
    /// executions the ingress message caused; every other execution that ran meanwhile, and
    /// the follow-ups run to completion after the answer, are returned apart, outside them.
    pub fn update_then_settle(&self, canister: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> Settled {
        let ingress_bytes = method.len() + arg.len();
        let before = self.total_cycles();
        self.net.take_execution_log();
        let id = self.net.submit_call(canister, sender, method, arg).unwrap_or_else(|e| panic!("{method}: {e:?}"));
        let answer = self.net.await_call(id).map_err(|e| e.reject_message);
        let log = self.net.take_execution_log();
        // Cycles up to the answer: follow-ups still under way have charged little or nothing.
        let cycles_charged = before.saturating_sub(self.total_cycles());
        let inspect_entry = format!("inspect_message {method}");
        let inspect_message = log.iter().filter(|r| r.ingress.is_none() && r.canister == canister && r.entry == inspect_entry).map(|r| r.instructions).sum();
        let (caused, mut follow_ups): (Vec<ExecutionRecord>, Vec<ExecutionRecord>) =
            log.into_iter().filter(|r| r.entry != inspect_entry).partition(|r| r.ingress == Some(id));
        self.net.run_until_idle(100_000);
        follow_ups.extend(self.net.take_execution_log());
        let parts = caused.iter().map(|r| (format!("{}: {}", self.name(r.canister), r.entry), r.instructions)).collect();
        let calls = caused.iter().filter(|r| r.entry.ends_with("callback")).count();
        let trapped = caused.iter().any(|r| r.trapped);
        let reply = answer.clone().unwrap_or_default();
        Settled { sample: UpdateSample { reply, parts, inspect_message, cycles_charged, ingress_bytes, calls }, answer, trapped, follow_ups }
    }

    /// One query, with its instructions.
    pub fn query(&self, canister: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> (Vec<u8>, u64) {
        self.net.take_execution_log();
        let reply = self.net.query_call(canister, sender, method, arg).unwrap_or_else(|e| panic!("{method}: {e:?}"));
        let log = self.net.take_execution_log();
        let entry = format!("query {method}");
        let records: Vec<_> = log.iter().filter(|r| r.canister == canister && r.entry == entry).collect();
        assert_eq!(records.len(), 1, "{method}: {log:?}");
        (reply, records[0].instructions)
    }

    /// Many ingress calls in rounds of `BULK_BATCH` submitted at once. `check` judges each
    /// reply; a call it answers `Retry` for (refused for now, nothing changed) is submitted
    /// again after its batch, at most `MAX_RETRIES` times.
    pub fn bulk(&self, calls: impl IntoIterator<Item = (Principal, Principal, String, Vec<u8>)>, check: impl Fn(&[u8]) -> Verdict) {
        let mut calls = calls.into_iter().peekable();
        while calls.peek().is_some() {
            let mut batch: Vec<(Principal, Principal, String, Vec<u8>)> = calls.by_ref().take(BULK_BATCH).collect();
            for attempt in 0..=MAX_RETRIES {
                let submitted: Vec<_> = batch
                    .into_iter()
                    .map(|(canister, sender, method, arg)| {
                        let id = self.net.submit_call(canister, sender, &method, arg.clone()).unwrap_or_else(|e| panic!("{method}: {e:?}"));
                        ((canister, sender, method, arg), id)
                    })
                    .collect();
                batch = Vec::new();
                for (call, id) in submitted {
                    let reply = self.net.await_call(id).unwrap_or_else(|e| panic!("{}: {e:?}", call.2));
                    match check(&reply) {
                        Verdict::Done => {}
                        Verdict::Retry(_) if attempt < MAX_RETRIES => batch.push(call),
                        Verdict::Retry(why) | Verdict::Failed(why) => panic!("{}: {why}", call.2),
                    }
                }
                self.net.take_execution_log();
                if batch.is_empty() {
                    break;
                }
            }
        }
    }
}

/// An update metered by [`Env::update_then_settle`].
pub struct Settled {
    pub sample: UpdateSample,
    /// The reply, or the reject (e.g. the trap of a refused governance target).
    pub answer: Result<Vec<u8>, String>,
    pub trapped: bool,
    /// Executions not caused by the ingress message: timers and pushes it spawned (run to
    /// completion), and anything else that ran meanwhile.
    pub follow_ups: Vec<ExecutionRecord>,
}

/// How a bulk call ended.
pub enum Verdict {
    Done,
    /// Refused for now with nothing changed: submit it again.
    Retry(String),
    Failed(String),
}

/// Candid bytes of `args`.
pub fn args<A: candid::utils::ArgumentEncoder>(a: A) -> Vec<u8> {
    candid::encode_args(a).unwrap()
}

pub fn decode<T: CandidType + for<'de> serde::Deserialize<'de>>(bytes: &[u8]) -> T {
    candid::decode_one(bytes).unwrap_or_else(|e| panic!("reply does not decode: {e}"))
}
