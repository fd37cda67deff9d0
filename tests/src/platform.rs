//! The platform on localnet, built one way for every integration test: learning_content with
//! its units, the project's ICRC-1 ledger (minting account: the hub), and staking_hub with its
//! config overrides, plus typed clients for the calls the tests repeat (in the habit of
//! OpenChat's `TestEnv` and DFINITY's ledger `sm-tests` setup).
//!
//! Canisters are created in a fixed order (hub, learning_content, then the ledger when there
//! is one), so their ids are the same as with the hand-written setups this replaces.
//!
//! ```ignore
//! let p = Platform::builder().quizzes(QUIZZES).config(overrides).deploy();
//! let shard = p.register(learner(1)).unwrap();
//! ```

use crate::wasm;
use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{Nat, Principal};
use icrc_ledger::types::{FeatureFlags, InitArgs, LedgerArgument};
use icrc_ledger_types::icrc1::account::Account;
use localnet::management_types::CanisterSettings;
use localnet::{LocalNet, RawMessageId};
use platform_types::*;
use std::time::Duration;

/// The governance principal the tests use where no SNS is installed.
pub fn test_governance() -> Principal {
    Principal::from_slice(&[9; 29])
}

/// The ledger id a hub is given when the test installs no ledger (nothing answers there).
pub fn no_ledger() -> Principal {
    Principal::from_slice(&[8; 29])
}

/// Learner `n` of a family of principals: 29 bytes of `family`, the first four replaced by
/// `n` (big-endian). Test files use different families so that their learners stay the ones
/// their expectations were written for.
pub fn learner_of(family: u8, n: u32) -> Principal {
    let mut bytes = [family; 29];
    bytes[..4].copy_from_slice(&n.to_be_bytes());
    Principal::from_slice(&bytes)
}

/// Learner `n` of the default family (7).
pub fn learner(n: u32) -> Principal {
    learner_of(7, n)
}

/// Learner `n` as a self-authenticating principal of the public key `key_prefix ++ n`
/// (big-endian), i.e. the kind of principal a real identity has.
pub fn key_learner(key_prefix: &[u8], n: u32) -> Principal {
    Principal::self_authenticating([key_prefix, &n.to_be_bytes()].concat())
}

/// A numbered series of quiz units with a computed answer key: unit `i` is
/// `<prefix><i, zero-padded to width>`, has one question per entry of `key(i)` with `options`
/// choices each, and `key(i)` is its answer key.
#[derive(Clone, Copy)]
pub struct Quizzes {
    pub prefix: &'static str,
    pub width: usize,
    pub count: usize,
    pub options: usize,
    pub key: fn(usize) -> Vec<u32>,
}

impl Quizzes {
    /// Unit `i`'s id.
    pub fn id(&self, i: usize) -> String {
        format!("{}{i:0width$}", self.prefix, width = self.width)
    }

    /// Unit `i`'s right answers.
    pub fn answers(&self, i: usize) -> Vec<u32> {
        (self.key)(i)
    }

    /// The units as learning_content's init takes them.
    pub fn units(&self) -> Vec<UnitInput> {
        (0..self.count)
            .map(|i| UnitInput {
                unit: Unit {
                    id: self.id(i),
                    subject: "s".into(),
                    title: format!("Unit {i}"),
                    body: "b".into(),
                    questions: (0..self.answers(i).len())
                        .map(|q| Question {
                            text: format!("Q{q}"),
                            options: (0..self.options).map(|o| char::from(b'a' + o as u8).to_string()).collect(),
                        })
                        .collect(),
                },
                answer_key: self.answers(i),
            })
            .collect()
    }
}

/// Which ledger the platform gets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LedgerKind {
    /// The project's ICRC-1/2/3 ledger (standins/icrc_ledger), minting account the hub.
    Icrc,
    /// `mock_ledger` (localnet/test-canisters), which answers what a test scripts.
    Mock,
    /// None: the hub is given `no_ledger()`.
    None,
}

/// Builds a `Platform`. Defaults: a fresh `LocalNet`, no units, pass mark left to
/// learning_content, default config, open registration, `test_governance()`, the ICRC ledger,
/// canisters created and installed by the anonymous test principal with the default cycles.
pub struct PlatformBuilder {
    net: Option<LocalNet>,
    units: Vec<UnitInput>,
    quizzes: Option<Quizzes>,
    pass_mark_percent: Option<u8>,
    config: ConfigOverrides,
    registration_policy: Option<RegistrationPolicy>,
    governance: Principal,
    hub_governance: Option<Principal>,
    ledger: LedgerKind,
    token_name: String,
    controller: Option<Principal>,
    hub_cycles: Option<u128>,
    content_cycles: Option<u128>,
}

impl PlatformBuilder {
    /// Deploys on `net` (seeded, with fees or a certifier, or with canisters a test created first).
    pub fn net(mut self, net: LocalNet) -> Self {
        self.net = Some(net);
        self
    }

    /// learning_content's units.
    pub fn units(mut self, units: Vec<UnitInput>) -> Self {
        self.units = units;
        self
    }

    /// A numbered series of units; `Platform::pass` and `Platform::answer` then know their keys.
    pub fn quizzes(mut self, quizzes: Quizzes) -> Self {
        self.units = quizzes.units();
        self.quizzes = Some(quizzes);
        self
    }

    pub fn pass_mark_percent(mut self, percent: u8) -> Self {
        self.pass_mark_percent = Some(percent);
        self
    }

    /// The hub's config overrides.
    pub fn config(mut self, config: ConfigOverrides) -> Self {
        self.config = config;
        self
    }

    /// The hub's registration policy (default: open).
    pub fn registration_policy(mut self, policy: RegistrationPolicy) -> Self {
        self.registration_policy = Some(policy);
        self
    }

    /// The SNS governance principal of learning_content and the hub.
    pub fn governance(mut self, governance: Principal) -> Self {
        self.governance = governance;
        self
    }

    /// Gives the hub another governance id than learning_content (e.g. anonymous: "not set yet").
    pub fn hub_governance(mut self, governance: Principal) -> Self {
        self.hub_governance = Some(governance);
        self
    }

    pub fn ledger(mut self, ledger: LedgerKind) -> Self {
        self.ledger = ledger;
        self
    }

    /// The ICRC ledger's token name (default "Learn").
    pub fn token_name(mut self, name: &str) -> Self {
        self.token_name = name.into();
        self
    }

    /// Creates and installs the canisters as `controller`, their only controller (a deployer).
    pub fn controller(mut self, controller: Principal) -> Self {
        self.controller = Some(controller);
        self
    }

    /// Creates the hub with `cycles` instead of the default balance.
    pub fn hub_cycles(mut self, cycles: u128) -> Self {
        self.hub_cycles = Some(cycles);
        self
    }

    /// Creates learning_content with `cycles` instead of the default balance.
    pub fn content_cycles(mut self, cycles: u128) -> Self {
        self.content_cycles = Some(cycles);
        self
    }

    /// Creates the canisters (nothing installed yet): a test can create its own canisters
    /// next, whose ids the platform's init then names, and finish with `install`.
    pub fn create(mut self) -> PlatformCanisters {
        let net = self.net.take().unwrap_or_default();
        let hub = self.create_one(&net, self.hub_cycles);
        let content = self.create_one(&net, self.content_cycles);
        let ledger = match self.ledger {
            LedgerKind::None => None,
            LedgerKind::Icrc | LedgerKind::Mock => Some(self.create_one(&net, None)),
        };
        PlatformCanisters { net, hub, content, ledger, builder: self }
    }

    /// Creates and installs every canister.
    pub fn deploy(self) -> Platform {
        self.create().install()
    }

    fn create_one(&self, net: &LocalNet, cycles: Option<u128>) -> Principal {
        match (cycles, self.controller) {
            (Some(cycles), controller) => net.create_canister_with_cycles(controller, cycles),
            (None, Some(controller)) => net.create_canister_with_settings(
                Some(controller),
                Some(CanisterSettings { controllers: Some(vec![controller]), ..Default::default() }),
            ),
            (None, None) => net.create_canister(),
        }
    }
}

/// The platform's canisters, created but not installed (see `PlatformBuilder::create`).
pub struct PlatformCanisters {
    pub net: LocalNet,
    pub hub: Principal,
    pub content: Principal,
    pub ledger: Option<Principal>,
    builder: PlatformBuilder,
}

impl PlatformCanisters {
    /// The SNS governance principal (e.g. a canister created after the platform's).
    pub fn governance(mut self, governance: Principal) -> Self {
        self.builder.governance = governance;
        self
    }

    /// The hub's registration policy (e.g. naming an issuer canister created after the platform's).
    pub fn registration_policy(mut self, policy: RegistrationPolicy) -> Self {
        self.builder.registration_policy = Some(policy);
        self
    }

    /// Installs learning_content, the ledger and the hub, in that order.
    pub fn install(self) -> Platform {
        let PlatformCanisters { net, hub, content, ledger, builder: b } = self;
        let init = ContentInitArgs {
            hub_id: hub,
            sns_governance_id: b.governance,
            units: b.units,
            pass_mark_percent: b.pass_mark_percent,
        };
        net.install_canister(content, wasm("learning_content"), candid::encode_one(init).unwrap(), b.controller);
        match (b.ledger, ledger) {
            (LedgerKind::Icrc, Some(ledger)) => {
                let init = LedgerArgument::Init(InitArgs {
                    minting_account: Account { owner: hub, subaccount: None },
                    fee_collector_account: None,
                    transfer_fee: 10_000u64.into(),
                    decimals: Some(8),
                    max_memo_length: None,
                    token_symbol: "LRN".into(),
                    token_name: b.token_name.clone(),
                    metadata: vec![],
                    initial_balances: vec![],
                    feature_flags: Some(FeatureFlags { icrc2: true }),
                });
                net.install_canister(ledger, wasm("icrc_ledger"), candid::encode_one(init).unwrap(), b.controller);
            }
            (LedgerKind::Mock, Some(ledger)) => {
                net.install_canister(ledger, wasm("mock_ledger"), candid::encode_args(()).unwrap(), b.controller)
            }
            _ => {}
        }
        let ledger = ledger.unwrap_or_else(no_ledger);
        let init = HubInitArgs {
            ledger_id: ledger,
            learning_content_id: content,
            sns_governance_id: b.hub_governance.unwrap_or(b.governance),
            config: Some(b.config),
            registration_policy: Some(b.registration_policy.unwrap_or(RegistrationPolicy::Open)),
            icp_refill: None,
        };
        net.install_canister(hub, wasm("staking_hub"), candid::encode_one(init).unwrap(), b.controller);
        Platform { net, hub, content, ledger, governance: b.governance, controller: b.controller, quizzes: b.quizzes }
    }
}

/// The deployed platform: the network, the canister ids, and typed clients. Calls that trap or
/// are rejected panic with the method's name; the canister's own answers are returned.
pub struct Platform {
    pub net: LocalNet,
    pub hub: Principal,
    pub content: Principal,
    /// The ledger, or `no_ledger()`.
    pub ledger: Principal,
    pub governance: Principal,
    /// Who created and installed the canisters (`None`: the anonymous test principal).
    pub controller: Option<Principal>,
    quizzes: Option<Quizzes>,
}

impl Platform {
    pub fn builder() -> PlatformBuilder {
        PlatformBuilder {
            net: None,
            units: vec![],
            quizzes: None,
            pass_mark_percent: None,
            config: ConfigOverrides::default(),
            registration_policy: None,
            governance: test_governance(),
            hub_governance: None,
            ledger: LedgerKind::Icrc,
            token_name: "Learn".into(),
            controller: None,
            hub_cycles: None,
            content_cycles: None,
        }
    }

    /// An update call as `sender`, decoded; panics (naming the method) if it is rejected.
    pub fn update<A: ArgumentEncoder, R: for<'de> ArgumentDecoder<'de>>(
        &self,
        canister: Principal,
        sender: Principal,
        method: &str,
        args: A,
    ) -> R {
        self.net.update_candid_as(canister, sender, method, args).unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// A query as `sender`, decoded; panics (naming the method) if it is rejected.
    pub fn query<A: ArgumentEncoder, R: for<'de> ArgumentDecoder<'de>>(
        &self,
        canister: Principal,
        sender: Principal,
        method: &str,
        args: A,
    ) -> R {
        self.net.query_candid_as(canister, sender, method, args).unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Upgrades `canister` to the built Wasm `name` with `arg`: a shard (`user_profile*`) as the
    /// hub, its controller; the others as the platform's controller.
    pub fn upgrade<A: candid::CandidType>(&self, canister: Principal, name: &str, arg: A) {
        let sender = if name.starts_with("user_profile") { Some(self.hub) } else { self.controller };
        self.net.upgrade_canister(canister, wasm(name), candid::encode_one(arg).unwrap(), sender).unwrap();
    }

    /// Submits ingress that `canister`'s `canister_inspect_message` must refuse: the submission
    /// itself fails (nothing is queued, the method never runs) and the canister pays nothing.
    pub fn assert_refused_at_ingress(&self, canister: Principal, who: Principal, method: &str, arg: Vec<u8>) {
        let before = self.net.cycle_balance(canister);
        self.net.take_execution_log();
        let err = self.net.submit_call(canister, who, method, arg).expect_err(method);
        assert_eq!(err.error_code, localnet::ErrorCode::CanisterRejectedMessage, "{method} from {who}: {err:?}");
        assert!(err.reject_message.contains("refuses this ingress message"), "{method}: {}", err.reject_message);
        let log = self.net.take_execution_log();
        assert!(log.iter().all(|r| r.entry == format!("inspect_message {method}")), "{method} never executed: {log:?}");
        assert_eq!(self.net.cycle_balance(canister), before, "{method} from {who}: the canister paid nothing");
    }

    // ------------------------------------------------------------------ staking_hub

    /// `register` with no proof, as `who`: their shard.
    pub fn register(&self, who: Principal) -> Result<Principal, RegisterError> {
        let (r,) = self.update(self.hub, who, "register", ());
        r
    }

    /// `register` with `proof` (an invite code or a credential presentation), as `who`.
    pub fn register_with(&self, who: Principal, proof: Option<RegistrationProof>) -> Result<Principal, RegisterError> {
        let (r,) = self.update(self.hub, who, "register", (proof,));
        r
    }

    /// Submits `register` as `who` without running the network.
    pub fn submit_register(&self, who: Principal) -> RawMessageId {
        self.net.submit_call(self.hub, who, "register", candid::encode_args(()).unwrap()).unwrap()
    }

    /// The answer to a submitted `register` (runs the network until it has one).
    pub fn await_register(&self, id: RawMessageId) -> Result<Principal, RegisterError> {
        let bytes = self.net.await_call(id).expect("register never traps");
        candid::decode_one(&bytes).unwrap()
    }

    /// The hub's index entry for `user`.
    pub fn user_shard(&self, user: Principal) -> Option<Principal> {
        let (r,) = self.query(self.hub, Principal::anonymous(), "get_user_shard", (user,));
        r
    }

    pub fn shards(&self) -> Vec<ShardInfo> {
        let (r,) = self.query(self.hub, Principal::anonymous(), "list_shards", ());
        r
    }

    pub fn stats(&self) -> GlobalStats {
        let (r,) = self.query(self.hub, Principal::anonymous(), "get_global_stats", ());
        r
    }

    pub fn cycles_report(&self) -> CyclesReport {
        let (r,) = self.query(self.hub, Principal::anonymous(), "get_cycles_report", ());
        r
    }

    // ------------------------------------------------------------------ user_profile shards

    /// `submit_quiz` of `unit` with `answers`, as `who`.
    pub fn submit_quiz(&self, shard: Principal, who: Principal, unit: &str, answers: Vec<u32>) -> Result<QuizOutcome, ShardError> {
        let (r,) = self.update(shard, who, "submit_quiz", (unit, answers));
        r
    }

    /// The right answers to unit `i` of the builder's `quizzes`, as `who`.
    pub fn answer(&self, shard: Principal, who: Principal, i: usize) -> Result<QuizOutcome, ShardError> {
        let quizzes = self.quizzes.expect("the platform was built with quizzes");
        self.submit_quiz(shard, who, &quizzes.id(i), quizzes.answers(i))
    }

    /// `answer`, which must pass.
    pub fn pass(&self, shard: Principal, who: Principal, i: usize) {
        let out = self.answer(shard, who, i).unwrap();
        assert!(out.passed, "{out:?}");
    }

    /// `get_my_profile` as `who`.
    pub fn profile(&self, shard: Principal, who: Principal) -> Result<UserView, ShardError> {
        let (r,) = self.query(shard, who, "get_my_profile", ());
        r
    }

    /// `update_profile` as `who`.
    pub fn update_profile(&self, shard: Principal, who: Principal, profile: ProfileInput) -> Result<UserView, ShardError> {
        let (r,) = self.update(shard, who, "update_profile", (profile,));
        r
    }

    /// `unstake` of `amount` e8s as `who`.
    pub fn unstake(&self, shard: Principal, who: Principal, amount: u64) -> Result<Withdrawal, UnstakeError> {
        let (r,) = self.update(shard, who, "unstake", (amount,));
        r
    }

    /// `who`'s first 100 withdrawals.
    pub fn withdrawals(&self, shard: Principal, who: Principal) -> Vec<Withdrawal> {
        let (r,): (Result<Vec<Withdrawal>, ShardError>,) = self.query(shard, who, "get_my_withdrawals", (0u64, 100u64));
        r.unwrap()
    }

    pub fn shard_stats(&self, shard: Principal) -> ShardStats {
        let (r,) = self.query(shard, Principal::anonymous(), "get_shard_stats", ());
        r
    }

    // ------------------------------------------------------------------ ledger

    /// `owner`'s balance (default subaccount) on the ledger.
    pub fn balance(&self, owner: Principal) -> u64 {
        let (b,): (Nat,) = self.query(self.ledger, Principal::anonymous(), "icrc1_balance_of", (Account { owner, subaccount: None },));
        u64::try_from(b.0).unwrap()
    }

    pub fn total_supply(&self) -> u64 {
        let (s,): (Nat,) = self.query(self.ledger, Principal::anonymous(), "icrc1_total_supply", ());
        u64::try_from(s.0).unwrap()
    }

    // ------------------------------------------------------------------ time

    /// Lets timers run: time moves on by `secs`, one second per round, then the network runs
    /// until idle (at most `max_rounds` more rounds).
    pub fn run_for_rounds(&self, secs: u64, max_rounds: u64) {
        for _ in 0..secs {
            self.net.advance_time(Duration::from_secs(1));
            self.net.tick();
        }
        self.net.run_until_idle(max_rounds);
    }

    /// `run_for_rounds(secs, 10_000)`.
    pub fn run_for(&self, secs: u64) {
        self.run_for_rounds(secs, 10_000);
    }

    /// Moves the clock by `secs` at once and lets every timer and message run.
    pub fn wait(&self, secs: u64) {
        self.net.advance_time(Duration::from_secs(secs));
        self.net.run_until_idle(100_000);
    }
}
