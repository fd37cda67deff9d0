//! SNS governance of the platform, end to end through proposals on localnet: the local SNS
//! governance and root (standins, test infrastructure) govern staking_hub and
//! learning_content, which root controls (the hub controls its shards). The custom functions
//! are registered from `sns/custom_functions/*.json` by AddGenericNervousSystemFunction
//! proposals, as on mainnet.
//!
//! For every action: submit (the validator renders it), vote, adopt, execute, effect verified;
//! a rejected proposal has no effect; a bad payload is refused at submission; direct calls to
//! the targets by a user, the deployer and a shard are rejected. The upgrade path: the hub is
//! upgraded by proposal to a build that embeds another shard Wasm, and rolls it out to its
//! shards in batches; a pause mid-rollout holds; a shard that cannot be upgraded keeps its old
//! code and is reported; every learner's data is intact.

use candid::{CandidType, Principal};
use integration_tests::platform::{learner_of, Platform};
use integration_tests::sns::{governance_init, initial_neurons, SnsGovernance};
use integration_tests::{another_release, unit, wasm};
use sha2::{Digest, Sha256};
use localnet::management_types::{CanisterSettings, CanisterStatusType};
use localnet::LocalNet;
use platform_types::sns::root::SnsRootCanister;
use platform_types::sns::*;
use platform_types::*;
use serde::Deserialize;
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;
use std::time::Duration;

/// Neurons 1, 2, 3 with 40, 35 and 25 voting power: no neuron decides alone.
const NEURONS: [(u8, u64); 3] = [(1, 40), (2, 35), (3, 25)];
const VOTING_PERIOD_SECS: u64 = 4 * 24 * 3_600;
/// The hub's timer period in these tests.
const TICK_SECS: u64 = 10;

fn neuron_controller(n: u8) -> Principal {
    Principal::self_authenticating([b"dao-neuron-".as_slice(), &[n]].concat())
}

fn learner(n: u32) -> Principal {
    learner_of(4, n)
}

fn deployer() -> Principal {
    Principal::self_authenticating(b"the-deployer")
}

/// `sns/custom_functions/<id>_<method>.json`.
#[derive(Deserialize, Debug)]
struct FunctionFile {
    id: u64,
    name: String,
    description: String,
    target_canister: String,
    target_method: String,
    validator_method: String,
    topic: String,
}

fn topic(name: &str) -> Topic {
    match name {
        "DaoCommunitySettings" => Topic::DaoCommunitySettings,
        "SnsFrameworkManagement" => Topic::SnsFrameworkManagement,
        "DappCanisterManagement" => Topic::DappCanisterManagement,
        "ApplicationBusinessLogic" => Topic::ApplicationBusinessLogic,
        "Governance" => Topic::Governance,
        "TreasuryAssetManagement" => Topic::TreasuryAssetManagement,
        "CriticalDappOperations" => Topic::CriticalDappOperations,
        other => panic!("unknown topic {other}"),
    }
}

fn function_files() -> Vec<FunctionFile> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sns/custom_functions");
    let mut files: Vec<FunctionFile> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap())
        .collect();
    // The web app's asset canister is not installed in this setup: its function (1006) is
    // registered and executed in tools/platform-deploy/tests/frontend_assets.rs.
    files.retain(|f| f.target_canister != "frontend_assets");
    files.sort_by_key(|f| f.id);
    files
}

/// The platform under the local SNS.
struct Dao {
    platform: Platform,
    gov: Principal,
    root: Principal,
    /// Custom function ids by target method.
    functions: BTreeMap<String, u64>,
}

impl std::ops::Deref for Dao {
    type Target = Platform;
    fn deref(&self) -> &Platform {
        &self.platform
    }
}

fn hub_config(hard_limit: u64) -> ConfigOverrides {
    ConfigOverrides {
        shard_soft_limit: Some(hard_limit - 1),
        shard_hard_limit: Some(hard_limit),
        auto_scale_interval_secs: Some(TICK_SECS),
        allowance_chunk_e8s: Some(1_000 * E8S),
        reward_per_quiz_e8s: Some(10 * E8S),
        ..Default::default()
    }
}

/// The platform deployed by `deployer()`, then handed to SNS root (hub and learning_content;
/// the hub keeps controlling its shards), and every custom function registered by proposal.
fn dao(hard_limit: u64) -> Dao {
    dao_with(hard_limit, true)
}

/// `hub_knows_governance`: false installs the hub with the anonymous principal as its
/// governance id ("not set yet", as before an SNS launch).
fn dao_with(hard_limit: u64, hub_knows_governance: bool) -> Dao {
    let net = LocalNet::new();
    let mine = Some(CanisterSettings { controllers: Some(vec![deployer()]), ..Default::default() });
    let gov = net.create_canister_with_settings(Some(deployer()), mine.clone());
    let root = net.create_canister_with_settings(Some(deployer()), mine);
    let units = vec![unit("math-1", "math", vec![0, 1, 2]), unit("math-2", "math", vec![2, 2, 2])];
    let builder = Platform::builder()
        .net(net)
        .controller(deployer())
        .governance(gov)
        .units(units)
        .pass_mark_percent(60)
        .config(hub_config(hard_limit));
    let builder = if hub_knows_governance { builder } else { builder.hub_governance(Principal::anonymous()) };
    // hub, learning_content, ledger; installed after governance and root.
    let canisters = builder.create();
    let (net, hub, content, ledger) = (&canisters.net, canisters.hub, canisters.content, canisters.ledger.unwrap());
    let init = governance_init(root, initial_neurons(&NEURONS, neuron_controller), VOTING_PERIOD_SECS);

    net.install_canister(gov, wasm("sns_governance"), candid::encode_one(init).unwrap(), Some(deployer()));
    let init = SnsRootCanister {
        governance_canister_id: Some(gov),
        dapp_canister_ids: vec![hub, content],
        ..Default::default()
    };
    net.install_canister(root, wasm("sns_root"), candid::encode_one(init).unwrap(), Some(deployer()));
    let platform = canisters.install();
    let net = &platform.net;
    for c in [hub, content, ledger, gov, root] {
        net.set_controllers(c, Some(deployer()), vec![root]).unwrap();
    }
    // Governance and root control each other on a real SNS.
    net.set_controllers(root, Some(root), vec![gov]).unwrap();
    net.set_controllers(gov, Some(root), vec![root]).unwrap();
    let mut dao = Dao { platform, gov, root, functions: BTreeMap::new() };
    let ids = BTreeMap::from([("staking_hub", hub), ("learning_content", content)]);
    for f in function_files() {
        let canister = ids[f.target_canister.as_str()];
        let function = NervousSystemFunction {
            id: f.id,
            name: f.name.clone(),
            description: Some(f.description.clone()),
            function_type: Some(FunctionType::GenericNervousSystemFunction(GenericNervousSystemFunction {
                target_canister_id: Some(canister),
                target_method_name: Some(f.target_method.clone()),
                validator_canister_id: Some(canister),
                validator_method_name: Some(f.validator_method.clone()),
                topic: Some(topic(&f.topic)),
            })),
        };
        let id = dao.adopt(proposal(&format!("Register {}", f.name), Action::AddGenericNervousSystemFunction(function)));
        dao.assert_executed(id);
        dao.functions.insert(f.target_method.clone(), f.id);
    }
    dao
}

fn proposal(title: &str, action: Action) -> Proposal {
    Proposal {
        title: title.into(),
        summary: format!("{title}.\n\nSubmitted by the governance tests."),
        url: "https://forum.dfinity.org/t/learnstake".into(),
        action: Some(action),
    }
}

impl Dao {
    fn governance(&self) -> SnsGovernance<'_> {
        SnsGovernance { net: &self.net, gov: self.gov }
    }

    fn propose(&self, n: u8, p: Proposal) -> Result<u64, GovernanceError> {
        self.governance().propose(neuron_controller(n), n, p)
    }

    fn vote(&self, n: u8, id: u64, vote: Vote) {
        self.governance().vote(neuron_controller(n), n, id, vote).unwrap();
    }

    fn settle(&self) {
        self.net.run_until_idle(100_000);
    }

    /// Neuron 1 proposes, neuron 2 votes yes: 75 % of all voting power, adopted at once.
    fn adopt(&self, p: Proposal) -> u64 {
        let id = self.propose(1, p).unwrap();
        self.vote(2, id, Vote::Yes);
        self.settle();
        id
    }

    fn payload<A: CandidType>(&self, method: &str, arg: &A) -> Action {
        Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction {
            function_id: self.functions[method],
            payload: candid::encode_one(arg).unwrap(),
        })
    }

    fn submit<A: CandidType>(&self, method: &str, arg: &A) -> Result<u64, GovernanceError> {
        self.propose(1, proposal(&format!("Call {method}"), self.payload(method, arg)))
    }

    /// Submits, votes, adopts and executes a custom proposal; returns it.
    fn execute<A: CandidType>(&self, method: &str, arg: &A) -> ProposalData {
        let id = self.submit(method, arg).unwrap_or_else(|e| panic!("{method}: {e:?}"));
        self.vote(2, id, Vote::Yes);
        self.settle();
        self.assert_executed(id);
        self.proposal(id)
    }

    fn proposal(&self, id: u64) -> ProposalData {
        self.governance().proposal(id)
    }

    fn assert_executed(&self, id: u64) {
        let p = self.proposal(id);
        assert_eq!(p.status(), ProposalDecisionStatus::Executed, "proposal {id}: {:?}", p.failure_reason);
    }

    /// Lets the hub's timer run `ticks` times.
    fn ticks(&self, ticks: u64) {
        for _ in 0..ticks {
            self.net.advance_time(Duration::from_secs(TICK_SECS));
            self.settle();
        }
    }

    /// `register`, which must succeed: the learner's shard.
    fn register(&self, who: Principal) -> Principal {
        self.platform.register(who).unwrap()
    }

    fn shard(&self, id: Principal) -> ShardInfo {
        self.shards().into_iter().find(|s| s.id == id).unwrap()
    }

    fn config_status(&self) -> ConfigStatus {
        self.net.query_candid::<_, (ConfigStatus,)>(self.hub, "get_config_status", ()).unwrap().0
    }

    fn rollout(&self) -> RolloutStatus {
        self.net.query_candid::<_, (RolloutStatus,)>(self.hub, "get_rollout_status", ()).unwrap().0
    }

    /// A direct call to a governance target by `who` must be rejected.
    fn assert_refused<A: CandidType>(&self, canister: Principal, who: Principal, method: &str, arg: &A) {
        let r = self.net.update_call(canister, who, method, candid::encode_one(arg).unwrap());
        assert!(r.is_err(), "{method} called by {who} was not rejected");
    }
}

fn profile(n: u32) -> ProfileInput {
    ProfileInput {
        email: format!("learner{n}@example.org"),
        name: format!("Learner {n}"),
        education: "Physics".into(),
        gender: Gender::PreferNotToSay,
    }
}

#[test]
fn the_custom_functions_are_registered_from_the_sns_folder() {
    let d = dao(10);
    let (r,): (ListNervousSystemFunctionsResponse,) =
        d.net.query_candid(d.gov, "list_nervous_system_functions", ()).unwrap();
    for f in function_files() {
        let registered = r.functions.iter().find(|x| x.id == f.id).unwrap_or_else(|| panic!("{} missing", f.id));
        let generic = registered.generic().unwrap();
        assert_eq!(generic.target_method_name.as_deref(), Some(f.target_method.as_str()));
        assert_eq!(generic.validator_method_name.as_deref(), Some(f.validator_method.as_str()));
        assert_eq!(generic.topic, Some(topic(&f.topic)));
    }
    // Every file's function was registered (the asset canister's is not installed here).
    assert_eq!(d.functions.len(), function_files().len());
}

/// `register` with an optional proof, as a learner's client sends it.
fn registration_view(d: &Dao) -> RegistrationPolicyView {
    d.net.query_candid::<_, (RegistrationPolicyView,)>(d.hub, "get_registration_policy", ()).unwrap().0
}

fn codes_args(add: &[&str], revoke: &[&str], policy: Option<RegistrationPolicy>) -> SetRegistrationPolicyArgs {
    SetRegistrationPolicyArgs {
        policy,
        add_invite_code_hashes: add.iter().map(|c| hex_of(&invite_code_hash(c))).collect(),
        revoke_invite_code_hashes: revoke.iter().map(|c| hex_of(&invite_code_hash(c))).collect(),
        reason: "farming seen on the open network".into(),
    }
}

#[test]
fn registration_closed_by_proposal_admits_exactly_one_learner_per_invite_code_against_a_farm() {
    let d = dao(50);
    // Open (the test network's policy): a script registers as many principals as it likes.
    for n in 0..5 {
        d.register(learner(1_000 + n));
    }
    let codes = ["k7-alpha-3f9d", "k7-beta-81c2", "k7-gamma-0e4a"];
    let close = codes_args(&codes, &[], Some(RegistrationPolicy::InviteCode));
    // Only governance changes the policy: the learner, the deployer and a shard are refused.
    let shard = d.shards()[0].id;
    for who in [learner(1_000), deployer(), shard] {
        d.assert_refused(d.hub, who, "set_registration_policy", &close);
    }
    assert_eq!(registration_view(&d).policy, RegistrationPolicy::Open, "nothing changed");
    let p = d.execute("set_registration_policy", &close);
    let text = p.payload_text_rendering.unwrap();
    assert!(text.contains("INVITE CODE") && text.contains("Add 3 invite code(s)"), "{text}");
    assert!(!text.contains("k7-alpha"), "the codes themselves never reach the chain");

    // The farm: 40 principals, each tries no proof, a guessed code and every real code.
    let mut learners = Vec::new();
    for n in 0..40 {
        let bot = learner(2_000 + n);
        assert!(matches!(d.register_with(bot, None), Err(RegisterError::ProofRequired { .. })));
        let guessed = Some(RegistrationProof::InviteCode(format!("k7-guess-{n}")));
        assert_eq!(d.register_with(bot, guessed), Err(RegisterError::InvalidInviteCode));
        for code in codes {
            match d.register_with(bot, Some(RegistrationProof::InviteCode(code.into()))) {
                Ok(_) => {
                    learners.push(bot);
                    break;
                }
                Err(RegisterError::InviteCodeAlreadyUsed) => {}
                Err(e) => panic!("{bot}: {e:?}"),
            }
        }
    }
    assert_eq!(learners.len(), codes.len(), "k codes: exactly k learners");
    let view = registration_view(&d);
    assert_eq!((view.unused_invite_codes, view.used_invite_codes), (0, 3));
    // A learner registered before keeps working without a proof; a used code stays used.
    assert_eq!(d.register_with(learner(1_000), None).map(|_| ()), Ok(()));
    assert_eq!(d.register_with(learners[0], None).map(|_| ()), Ok(()));
    assert_eq!(
        d.register_with(learner(3_000), Some(RegistrationProof::InviteCode(codes[0].into()))),
        Err(RegisterError::InviteCodeAlreadyUsed)
    );

    // A hash held before (used) cannot be added again: refused at submission.
    let again = codes_args(&[codes[0]], &[], None);
    assert!(d.submit("set_registration_policy", &again).unwrap_err().error_message.contains("added before"));
    // New codes, one revoked before use: the revoked one is refused, the other admits one learner.
    d.execute("set_registration_policy", &codes_args(&["k8-one", "k8-two"], &[], None));
    let p = d.execute("set_registration_policy", &codes_args(&[], &["k8-two"], None));
    assert!(p.payload_text_rendering.unwrap().contains("Revoke 1"));
    assert_eq!(
        d.register_with(learner(3_001), Some(RegistrationProof::InviteCode("k8-two".into()))),
        Err(RegisterError::InvalidInviteCode)
    );
    assert!(d.register_with(learner(3_001), Some(RegistrationProof::InviteCode("k8-one".into()))).is_ok());
    let view = registration_view(&d);
    assert_eq!((view.unused_invite_codes, view.used_invite_codes, view.revoked_invite_codes), (0, 4, 1));
    let stats = d.net.query_candid::<_, (GlobalStats,)>(d.hub, "get_global_stats", ()).unwrap().0;
    assert_eq!(stats.users, 5 + 3 + 1, "the open-era learners, one per code, nobody else");
}

#[test]
fn an_emergency_disable_and_enable_pass_as_proposals_and_lose_nothing() {
    let d = dao(10);
    let ada = learner(1);
    let shard = d.register(ada);
    let (r,): (Result<UserView, ShardError>,) = d.net.update_candid_as(shard, ada, "update_profile", (profile(1),)).unwrap();
    r.unwrap();
    assert!(d.submit_quiz(shard, ada, "math-1", vec![0, 1, 2]).unwrap().passed);
    let before = d.profile(shard, ada).unwrap();

    // A bad payload is refused at submission: no proposal is created.
    let unknown = SetShardStatusArgs { shard_id: learner(99), disabled: true, reason: "bug".into() };
    let e = d.submit("set_shard_status", &unknown).unwrap_err();
    assert!(e.error_message.contains("not a shard"), "{e:?}");
    let no_reason = SetShardStatusArgs { shard_id: shard, disabled: true, reason: " ".into() };
    assert!(d.submit("set_shard_status", &no_reason).unwrap_err().error_message.contains("reason"));

    // A rejected proposal changes nothing.
    let disable = SetShardStatusArgs { shard_id: shard, disabled: true, reason: "over-credits rewards".into() };
    let id = d.submit("set_shard_status", &disable).unwrap();
    d.vote(2, id, Vote::No);
    d.vote(3, id, Vote::No);
    d.settle();
    assert_eq!(d.proposal(id).status(), ProposalDecisionStatus::Rejected);
    assert_eq!(d.shard(shard).status, ShardStatus::Active);

    // Direct calls to the target: a learner, the deployer, a shard. All rejected.
    for who in [ada, deployer(), shard, d.root] {
        d.assert_refused(d.hub, who, "set_shard_status", &disable);
    }
    assert_eq!(d.shard(shard).status, ShardStatus::Active);

    // Adopted: the hub records it and tells the shard.
    let p = d.execute("set_shard_status", &disable);
    let rendering = p.payload_text_rendering.unwrap();
    assert!(rendering.contains("DISABLE") && rendering.contains(&shard.to_text()), "{rendering}");
    assert_eq!(d.shard(shard).status, ShardStatus::Disabled);
    assert_eq!(d.submit_quiz(shard, ada, "math-2", vec![2, 2, 2]), Err(ShardError::ShardDisabled));
    let (r,): (Result<UserView, ShardError>,) = d.net.update_candid_as(shard, ada, "update_profile", (profile(1),)).unwrap();
    assert_eq!(r, Err(ShardError::ShardDisabled));
    let (r,): (Result<Withdrawal, UnstakeError>,) = d.net.update_candid_as(shard, ada, "unstake", (1u64,)).unwrap();
    assert_eq!(r, Err(UnstakeError::ShardDisabled));
    assert_eq!(d.profile(shard, ada).unwrap(), before, "reads keep working");
    // No new learners go to it, and (issue 11) disabling the only shard with room does not make
    // the hub create a replacement: registration waits for governance.
    let bob = learner(2);
    let shards_before = d.shards().len();
    let (r,): (Result<Principal, RegisterError>,) = d.net.update_candid_as(d.hub, bob, "register", ()).unwrap();
    assert!(matches!(&r, Err(RegisterError::NoCapacity { detail }) if detail.contains("not replaced automatically")), "{r:?}");
    d.ticks(2);
    assert_eq!(d.shards().len(), shards_before, "the timer does not replace a disabled shard either");

    // Enabled again: everything is back.
    d.execute("set_shard_status", &SetShardStatusArgs { disabled: false, ..disable });
    assert_eq!(d.shard(shard).status, ShardStatus::Active);
    assert_eq!(d.register(bob), shard);
    assert!(d.submit_quiz(shard, ada, "math-2", vec![2, 2, 2]).unwrap().passed);
    assert_eq!(d.profile(shard, ada).unwrap().staked_e8s, before.staked_e8s + 10 * E8S);
}

#[test]
fn a_config_proposal_is_pushed_to_every_shard_and_to_learning_content() {
    let d = dao(3);
    let learners: Vec<Principal> = (0..6).map(learner).collect();
    for who in &learners {
        d.register(*who);
        d.ticks(1);
    }
    let shards = d.shards();
    assert!(shards.len() >= 2, "{} shards", shards.len());

    let out_of_range = ConfigOverrides { pass_mark_percent: Some(101), ..Default::default() };
    let e = d.submit("update_config", &out_of_range).unwrap_err();
    assert!(e.error_message.contains("pass_mark_percent"), "{e:?}");
    let nothing = ConfigOverrides::default();
    assert!(d.submit("update_config", &nothing).unwrap_err().error_message.contains("changes nothing"));

    let change = ConfigOverrides { daily_attempt_limit: Some(2), pass_mark_percent: Some(100), ..Default::default() };
    for who in [learners[0], deployer(), shards[0].id] {
        d.assert_refused(d.hub, who, "update_config", &change);
    }
    let p = d.execute("update_config", &change);
    assert!(p.payload_text_rendering.unwrap().contains("daily_attempt_limit: 5 -> 2"));
    d.ticks(1);
    let status = d.config_status();
    assert_eq!((status.version, status.config.daily_attempt_limit), (1, 2));
    assert!(status.shards_behind.is_empty(), "{status:?}");
    assert_eq!(status.content_version, 1);
    for s in &shards {
        let (args,): (ShardInitArgs,) = d.net.query_candid(s.id, "get_init_args", ()).unwrap();
        assert_eq!((args.config_version, args.config.daily_attempt_limit), (Some(1), 2));
    }
    // The new pass mark (100 %) is what learning_content grades with; the daily limit is the shards'.
    let (who, shard) = (learners[0], d.net.query_candid::<_, (Option<Principal>,)>(d.hub, "get_user_shard", (learners[0],)).unwrap().0.unwrap());
    assert!(!d.submit_quiz(shard, who, "math-1", vec![0, 1, 0]).unwrap().passed, "2 of 3 no longer passes");
    assert!(d.submit_quiz(shard, who, "math-1", vec![0, 1, 2]).unwrap().passed);
    assert_eq!(d.submit_quiz(shard, who, "math-2", vec![2, 2, 2]), Err(ShardError::DailyLimitReached { limit: 2 }));

    // A shard created after the change starts with it.
    for n in 10..16 {
        d.register(learner(n));
        d.ticks(1);
    }
    let newest = d.shards().last().unwrap().id;
    assert!(!shards.iter().any(|s| s.id == newest));
    let (args,): (ShardInitArgs,) = d.net.query_candid(newest, "get_init_args", ()).unwrap();
    assert_eq!((args.config_version, args.config.daily_attempt_limit), (Some(1), 2));
    assert!(d.config_status().shards_behind.is_empty());
}

#[test]
fn content_is_added_updated_and_retired_by_proposals() {
    let d = dao(10);
    let ada = learner(1);
    let shard = d.register(ada);
    let add = AddUnitsArgs { units: vec![unit("hist-1", "history", vec![1, 0]), unit("hist-2", "history", vec![0, 0])] };
    let duplicate = AddUnitsArgs { units: vec![unit("math-1", "math", vec![0, 1, 2])] };
    assert!(d.submit("add_units", &duplicate).is_err(), "an existing id is refused at submission");
    let bad_key = AddUnitsArgs { units: vec![unit("x-1", "x", vec![7])] };
    assert!(d.submit("add_units", &bad_key).is_err(), "an answer out of range is refused at submission");
    for who in [ada, deployer(), shard, d.hub] {
        d.assert_refused(d.content, who, "add_units", &add);
    }
    let (u,): (Option<Unit>,) = d.net.query_candid(d.content, "get_unit", ("hist-1",)).unwrap();
    assert_eq!(u, None);

    d.execute("add_units", &add);
    let (page,): (UnitPage,) = d.net.query_candid(d.content, "list_units", ("history", 0u64, 10u64)).unwrap();
    assert_eq!(page.total, 2);
    assert!(d.submit_quiz(shard, ada, "hist-1", vec![1, 0]).unwrap().passed);

    let mut changed = unit("hist-2", "history", vec![1, 1]);
    changed.unit.title = "Unit hist-2, revised".into();
    d.execute("update_unit", &UpdateUnitArgs { unit: changed });
    let (u,): (Option<Unit>,) = d.net.query_candid(d.content, "get_unit", ("hist-2",)).unwrap();
    assert_eq!(u.unwrap().title, "Unit hist-2, revised");
    assert!(d.submit_quiz(shard, ada, "hist-2", vec![1, 1]).unwrap().passed, "graded with the new key");

    let retire = RetireUnitsArgs { unit_ids: vec!["math-2".into()], reason: "outdated".into() };
    for who in [ada, deployer(), shard] {
        d.assert_refused(d.content, who, "retire_units", &retire);
    }
    d.execute("retire_units", &retire);
    let (u,): (Option<Unit>,) = d.net.query_candid(d.content, "get_unit", ("math-2",)).unwrap();
    assert_eq!(u, None);
    assert!(matches!(d.submit_quiz(shard, ada, "math-2", vec![2, 2, 2]), Err(ShardError::UnknownUnit { .. })));
    let unknown = RetireUnitsArgs { unit_ids: vec!["nope".into()], reason: "x".into() };
    assert!(d.submit("retire_units", &unknown).is_err());
    // The learner keeps what they earned.
    assert_eq!(d.profile(shard, ada).unwrap().completed_units, 2);
}

#[test]
fn the_hub_upgraded_by_proposal_rolls_the_new_shard_wasm_out_in_batches_and_a_pause_holds() {
    let d = dao(2);
    let mut learners = Vec::new();
    for n in 0..12u32 {
        let who = learner(n);
        let shard = d.register(who);
        let (r,): (Result<UserView, ShardError>,) =
            d.net.update_candid_as(shard, who, "update_profile", (profile(n),)).unwrap();
        r.unwrap();
        if n % 2 == 0 {
            assert!(d.submit_quiz(shard, who, "math-1", vec![0, 1, 2]).unwrap().passed);
        }
        learners.push((who, shard));
        d.ticks(1);
    }
    let shards = d.shards();
    let with_users = shards.iter().filter(|s| s.user_count > 0).count();
    assert!(with_users >= 5, "{with_users} shards with users (of {})", shards.len());
    assert!(learners.iter().all(|(_, s)| shards.iter().any(|x| x.id == *s)));
    let before: Vec<UserView> = learners.iter().map(|(w, s)| d.profile(*s, *w).unwrap()).collect();
    let old_hash = d.rollout().target_hash;
    assert!(shards.iter().all(|s| s.wasm_hash == old_hash));

    // One shard will fail to upgrade: its Wasm memory limit is below what any module needs.
    let broken = shards.last().unwrap().id;
    let tiny = CanisterSettings { wasm_memory_limit: Some(65_536u64.into()), ..Default::default() };
    d.net.update_canister_settings(broken, Some(d.hub), tiny).unwrap();

    // One shard per tick, set before the upgrade.
    let p = d.execute("control_shard_rollout", &RolloutCommand::SetBatchSize { batch_size: 1 });
    assert!(p.payload_text_rendering.unwrap().contains("batch size to 1"));
    for who in [learners[0].0, deployer(), shards[0].id] {
        d.assert_refused(d.hub, who, "control_shard_rollout", &RolloutCommand::Pause);
    }

    // The hub upgrade proposal (root stops the hub, installs, starts it).
    let new_hub = wasm("staking_hub_rollout");
    assert!(new_hub.len() < 2_000_000, "fits a proposal without chunking: {} bytes", new_hub.len());
    let upgrade = Action::UpgradeSnsControlledCanister(UpgradeSnsControlledCanister {
        new_canister_wasm: new_hub,
        chunked_canister_wasm: None,
        mode: None,
        canister_id: Some(d.hub),
        canister_upgrade_arg: None,
    });
    let id = d.adopt(proposal("Upgrade the staking hub (new shard release)", upgrade));
    d.assert_executed(id);
    assert_eq!(d.net.canister_status(d.hub, Some(d.root)).unwrap().status, CanisterStatusType::Running);
    let target = d.rollout().target_hash;
    assert_ne!(target, old_hash, "the new hub embeds another shard Wasm");
    let (embedded,): (String,) = d.net.query_candid(d.hub, "get_shard_wasm_hash", ()).unwrap();
    assert_eq!(embedded, target);

    // Issue 11: the upgrade alone upgrades no shard; the rollout waits for a Start proposal
    // approving the new target.
    d.ticks(3);
    let waiting = d.rollout();
    assert_eq!(waiting.shards_on_target, 0, "no shard upgraded before Start: {waiting:?}");
    assert_ne!(waiting.approved_target_hash.as_deref(), Some(target.as_str()));
    assert_eq!(waiting.canary_passed, Some(false));
    let p = d.execute("control_shard_rollout", &RolloutCommand::Start { batch_size: 1 });
    assert!(p.payload_text_rendering.unwrap().contains("canary"));
    assert_eq!(d.rollout().approved_target_hash.as_deref(), Some(target.as_str()));

    // The canary first (the oldest shard), alone; the rest follow once it answered healthy.
    d.ticks(1);
    let canary = d.rollout();
    assert_eq!((canary.shards_on_target, canary.canary_passed), (1, Some(true)), "{canary:?}");
    assert_eq!(d.shard(shards[0].id).wasm_hash, target, "the oldest shard is the canary");
    // Then batches of one per tick (the broken shard is last in line).
    d.ticks(1);
    let progressed = d.rollout().shards_on_target;
    assert!((1..=2).contains(&progressed), "{progressed} on target after the canary and one tick");
    d.execute("control_shard_rollout", &RolloutCommand::Pause);
    let held = d.rollout();
    assert_eq!(held.state, RolloutState::Paused);
    d.ticks(5);
    assert_eq!(d.rollout().shards_on_target, held.shards_on_target, "the pause holds");

    d.execute("control_shard_rollout", &RolloutCommand::Resume);
    d.ticks(shards.len() as u64 + 5);
    let done = d.rollout();
    assert_eq!(done.state, RolloutState::Running);
    assert_eq!(done.shards_on_target, shards.len() as u64 - 1);
    assert_eq!(done.pending.len(), 1);
    let failed = &done.pending[0];
    assert_eq!((failed.shard_id, failed.gave_up, failed.failures), (broken, true, 3));
    assert!(failed.last_error.is_some());
    assert_eq!(failed.wasm_hash, old_hash, "it runs its old code");

    // Every other shard runs the new release (its build tag is in the module) and is running;
    // each has exactly one snapshot, taken before its install (the broken one's three attempts
    // replaced one another).
    for s in d.shards() {
        let tag = d.net.canister_metadata(s.id, "build_tag");
        let status = d.net.canister_status(s.id, Some(d.hub)).unwrap().status;
        assert_eq!(status, CanisterStatusType::Running, "{}", s.id);
        assert_eq!(d.net.list_canister_snapshots(s.id, Some(d.hub)).unwrap().len(), 1, "{}", s.id);
        if s.id == broken {
            assert_eq!(tag, None);
        } else {
            assert_eq!(tag.as_deref(), Some(b"rollout-test".as_slice()), "{}", s.id);
            assert_eq!(s.wasm_hash, target);
        }
    }
    // Fixed (its memory limit lifted by its controller, the hub's authority in this test), the
    // shard is retried by a new Start, which forgets the give-ups: every shard ends on the target.
    let lifted = CanisterSettings { wasm_memory_limit: Some(0u64.into()), ..Default::default() };
    d.net.update_canister_settings(broken, Some(d.hub), lifted).unwrap();
    d.execute("control_shard_rollout", &RolloutCommand::Start { batch_size: 5 });
    d.ticks(2);
    let all = d.rollout();
    assert_eq!((all.shards_on_target, all.pending.len()), (shards.len() as u64, 0), "{all:?}");
    assert!(d.shards().iter().all(|s| s.wasm_hash == target));
    assert_eq!(d.net.canister_metadata(broken, "build_tag").as_deref(), Some(b"rollout-test".as_slice()));
    // Every learner's data is intact.
    for ((who, shard), old) in learners.iter().zip(&before) {
        assert_eq!(&d.profile(*shard, *who).unwrap(), old);
    }
}

#[test]
fn learning_content_is_upgraded_by_proposal_and_keeps_its_units() {
    let d = dao(10);
    let (before,): (UnitPage,) = d.net.query_candid(d.content, "list_units", ("math", 0u64, 10u64)).unwrap();
    // Another release of the same code, so the module hash tells whether it was installed.
    let release = another_release(&wasm("learning_content"));
    let runs_release = || d.net.module_hash(d.content) == Some(Sha256::digest(&release).into());
    let upgrade = |arg: Option<ContentUpgradeArgs>| {
        Action::UpgradeSnsControlledCanister(UpgradeSnsControlledCanister {
            new_canister_wasm: release.clone(),
            chunked_canister_wasm: None,
            mode: Some(3),
            canister_id: Some(d.content),
            canister_upgrade_arg: Some(ByteBuf::from(candid::encode_one(arg).unwrap())),
        })
    };
    // An upgrade argument that sets nothing is refused by post_upgrade. As on the real SNS, root
    // answered before installing, so the proposal is Executed; the module hash shows the old
    // code still runs (root restarts it), and nothing is lost.
    let id = d.adopt(proposal("Upgrade learning_content (empty argument record)", upgrade(Some(ContentUpgradeArgs { sns_governance_id: None }))));
    d.assert_executed(id);
    assert!(!runs_release(), "the failed upgrade shows in the module hash");
    assert_eq!(d.net.canister_status(d.content, Some(d.root)).unwrap().status, CanisterStatusType::Running);
    // With no argument (null) it succeeds and keeps every unit.
    let id = d.adopt(proposal("Upgrade learning_content", upgrade(None)));
    d.assert_executed(id);
    assert!(runs_release());
    let (after,): (UnitPage,) = d.net.query_candid(d.content, "list_units", ("math", 0u64, 10u64)).unwrap();
    assert_eq!(after, before);
    // Nobody but root (through a proposal) can upgrade it.
    assert!(d.net.upgrade_canister(d.content, wasm("learning_content"), vec![], Some(deployer())).is_err());
}

#[test]
fn an_upgrade_proposal_sets_the_hubs_governance_id_after_the_sns_exists() {
    let d = dao_with(10, false);
    let ada = learner(1);
    let shard = d.register(ada);
    let disable = SetShardStatusArgs { shard_id: shard, disabled: true, reason: "drill".into() };
    // Nobody is governance yet: the validator refuses SNS governance too (and anonymous callers).
    assert!(d.submit("set_shard_status", &disable).unwrap_err().error_message.contains("only SNS governance"));
    d.assert_refused(d.hub, Principal::anonymous(), "set_shard_status", &disable);

    let arg = candid::encode_one(Some(HubUpgradeArgs { sns_governance_id: Some(d.gov), icp_refill: None })).unwrap();
    let upgrade = Action::UpgradeSnsControlledCanister(UpgradeSnsControlledCanister {
        new_canister_wasm: wasm("staking_hub"),
        chunked_canister_wasm: None,
        mode: None,
        canister_id: Some(d.hub),
        canister_upgrade_arg: Some(ByteBuf::from(arg)),
    });
    let id = d.adopt(proposal("Tell the hub its SNS governance", upgrade));
    d.assert_executed(id);
    let (init,): (HubInitArgs,) = d.net.query_candid(d.hub, "get_init_args", ()).unwrap();
    assert_eq!(init.sns_governance_id, d.gov);
    d.execute("set_shard_status", &disable);
    assert_eq!(d.shard(shard).status, ShardStatus::Disabled);
    assert!(d.profile(shard, ada).is_ok(), "the learner is still there");
}

#[test]
fn rejected_proposals_and_refused_payloads_change_nothing_for_every_action() {
    let d = dao(10);
    let ada = learner(1);
    let shard = d.register(ada);
    let reject = |method: &str, arg: &dyn Fn() -> Vec<u8>| {
        let action = Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction {
            function_id: d.functions[method],
            payload: arg(),
        });
        let id = d.propose(1, proposal(&format!("Call {method}"), action)).unwrap();
        d.vote(2, id, Vote::No);
        d.vote(3, id, Vote::No);
        d.settle();
        assert_eq!(d.proposal(id).status(), ProposalDecisionStatus::Rejected, "{method}");
    };
    let config_before = d.config_status();
    let (units_before,): (UnitPage,) = d.net.query_candid(d.content, "list_units", ("math", 0u64, 10u64)).unwrap();
    let rollout_before = d.rollout();

    let change = ConfigOverrides { daily_attempt_limit: Some(9), ..Default::default() };
    reject("update_config", &|| candid::encode_one(&change).unwrap());
    let add = AddUnitsArgs { units: vec![unit("bio-1", "biology", vec![0])] };
    reject("add_units", &|| candid::encode_one(&add).unwrap());
    let update = UpdateUnitArgs { unit: unit("math-1", "math", vec![2, 2, 2]) };
    reject("update_unit", &|| candid::encode_one(&update).unwrap());
    let retire = RetireUnitsArgs { unit_ids: vec!["math-1".into()], reason: "old".into() };
    reject("retire_units", &|| candid::encode_one(&retire).unwrap());
    reject("control_shard_rollout", &|| candid::encode_one(RolloutCommand::Pause).unwrap());

    assert_eq!(d.config_status(), config_before);
    let (units_after,): (UnitPage,) = d.net.query_candid(d.content, "list_units", ("math", 0u64, 10u64)).unwrap();
    assert_eq!(units_after, units_before);
    assert_eq!(d.rollout(), rollout_before);
    assert!(d.submit_quiz(shard, ada, "math-1", vec![0, 1, 2]).unwrap().passed, "the old key still grades");

    // Payloads the validators refuse at submission (no proposal is created).
    let count = || d.governance().list(ListProposals { limit: 100, ..Default::default() }).len();
    let n = count();
    assert!(d.submit("update_unit", &UpdateUnitArgs { unit: unit("nope-1", "x", vec![0]) }).is_err());
    assert!(d.submit("control_shard_rollout", &RolloutCommand::SetBatchSize { batch_size: MAX_ROLLOUT_BATCH + 1 }).is_err());
    assert!(d.submit("control_shard_rollout", &RolloutCommand::Resume).is_err(), "not paused");
    assert!(d.submit("retire_units", &RetireUnitsArgs { unit_ids: vec!["math-1".into()], reason: "".into() }).is_err());
    assert_eq!(count(), n, "refused submissions create no proposal");

    // Direct calls to the remaining targets.
    for who in [ada, deployer(), shard] {
        d.assert_refused(d.content, who, "update_unit", &update);
        d.assert_refused(d.hub, who, "control_shard_rollout", &RolloutCommand::Start { batch_size: 1 });
    }
    assert_eq!(d.rollout(), rollout_before);
}

/// Issue 11: the economic parameters moved to the critical function 1009. Neurons 1 and 3 (65 %
/// of the voting power) against neuron 2 (35 %): a simple majority, which adopts the normal
/// function 1001 but rejects 1009 (critical: more than 67 % of the votes cast needed).
#[test]
fn a_simple_majority_adopts_1001_but_not_the_critical_1009() {
    let d = dao(10);
    let simple_majority = |method: &str, payload: Vec<u8>| {
        let action = Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction {
            function_id: d.functions[method],
            payload,
        });
        let id = d.propose(1, proposal(&format!("Call {method}"), action)).unwrap();
        d.vote(3, id, Vote::Yes);
        d.vote(2, id, Vote::No);
        d.settle();
        d.proposal(id)
    };
    let operational = ConfigOverrides { daily_attempt_limit: Some(9), ..Default::default() };
    let p = simple_majority("update_config", candid::encode_one(&operational).unwrap());
    assert_eq!(p.status(), ProposalDecisionStatus::Executed, "{:?}", p.failure_reason);
    assert_eq!(p.topic, Some(Topic::ApplicationBusinessLogic));
    assert_eq!(d.config_status().config.daily_attempt_limit, 9);

    let economic = EconomicConfigChanges { reward_per_quiz_e8s: Some(500 * E8S), ..Default::default() };
    let p = simple_majority("update_economic_config", candid::encode_one(&economic).unwrap());
    assert_eq!(p.status(), ProposalDecisionStatus::Rejected);
    assert_eq!(p.topic, Some(Topic::CriticalDappOperations));
    let bp = |x: Option<Percentage>| x.and_then(|x| x.basis_points);
    assert_eq!((bp(p.minimum_yes_proportion_of_total), bp(p.minimum_yes_proportion_of_exercised)), (Some(2_000), Some(6_700)));
    assert_eq!(d.config_status().config.reward_per_quiz_e8s, 10 * E8S, "nothing paid out faster");

    // 1001 refuses the economic fields at submission, naming 1009.
    let sneaky = ConfigOverrides { reward_per_quiz_e8s: Some(500 * E8S), ..Default::default() };
    let e = d.submit("update_config", &sneaky).unwrap_err();
    assert!(e.error_message.contains("1009"), "{e:?}");
    // So is the per-shard daily top-up budget (a shard-cycles parameter).
    let sneaky_cycles = ConfigOverrides { shard_topup_daily_budget_cycles: Some(4_000_000_000_000), ..Default::default() };
    let e = d.submit("update_config", &sneaky_cycles).unwrap_err();
    assert!(e.error_message.contains("1009"), "{e:?}");
    // Out of bounds: refused before the vote.
    let too_much = EconomicConfigChanges { daily_emission_budget_e8s: Some(HARD_CAP_E8S), ..Default::default() };
    assert!(d.submit("update_economic_config", &too_much).unwrap_err().error_message.contains("daily_emission_budget_e8s"));
    // 75 % of the voting power: adopted.
    let p = d.execute("update_economic_config", &economic);
    assert!(p.payload_text_rendering.unwrap().contains("reward_per_quiz_e8s: 1000000000 -> 50000000000"));
    assert_eq!(d.config_status().config.reward_per_quiz_e8s, 500 * E8S);
}

/// Issue 11: the platform pause (1010) is a normal function on purpose: a simple majority stops
/// registration at once, and resumes it.
#[test]
fn a_simple_majority_pauses_and_resumes_the_platform() {
    let d = dao(10);
    let ada = learner(1);
    d.register(ada);
    let pause = SetPlatformPausedArgs { paused: true, reason: "farm under way".into() };
    let id = d.propose(1, proposal("Pause", d.payload("set_platform_paused", &pause))).unwrap();
    d.vote(3, id, Vote::Yes);
    d.vote(2, id, Vote::No);
    d.settle();
    d.assert_executed(id);
    let (r,): (Result<Principal, RegisterError>,) = d.net.update_candid_as(d.hub, learner(2), "register", ()).unwrap();
    assert_eq!(r, Err(RegisterError::PlatformPaused));
    assert!(d.submit("set_platform_paused", &pause).unwrap_err().error_message.contains("already paused"));
    d.execute("set_platform_paused", &SetPlatformPausedArgs { paused: false, reason: "fixed".into() });
    d.register(learner(2));
}

/// Issue 13, section 2: the rollout snapshots a shard before upgrading it; function 1011 brings
/// the snapshot back (stop, load, start), so the shard runs its old code with the state of the
/// snapshot, and the restore is recorded. Refused while there is no snapshot or for another one.
#[test]
fn a_shard_is_restored_from_its_rollout_snapshot_by_proposal_and_the_restore_is_recorded() {
    let d = dao(10);
    let ada = learner(1);
    let shard = d.register(ada);
    let (r,): (Result<UserView, ShardError>,) = d.net.update_candid_as(shard, ada, "update_profile", (profile(1),)).unwrap();
    r.unwrap();
    assert!(d.submit_quiz(shard, ada, "math-1", vec![0, 1, 2]).unwrap().passed);
    let at_snapshot = d.profile(shard, ada).unwrap();
    let old_hash = d.rollout().target_hash;
    let history = |d: &Dao| -> ShardRestoreHistory {
        let (all,): (Vec<ShardRestoreHistory>,) = d.net.query_candid(d.hub, "get_restore_history", ()).unwrap();
        all.into_iter().find(|h| h.shard_id == shard).expect("the shard is listed")
    };
    let restore = |snapshot: Vec<u8>| RestoreShardArgs {
        shard_id: shard,
        snapshot_id: ByteBuf::from(snapshot),
        reason: "the new release corrupts profiles".into(),
    };

    // No upgrade yet, so no snapshot: refused at submission, with the reason.
    assert_eq!(history(&d).last_snapshot_id, None);
    let e = d.submit("restore_shard_snapshot", &restore(vec![0; 16])).unwrap_err();
    assert!(e.error_message.contains("has no snapshot"), "{e:?}");

    // The hub is upgraded to a build embedding another shard release; a Start rolls it out and
    // the hub snapshots the shard first.
    let upgrade = Action::UpgradeSnsControlledCanister(UpgradeSnsControlledCanister {
        new_canister_wasm: wasm("staking_hub_rollout"),
        chunked_canister_wasm: None,
        mode: None,
        canister_id: Some(d.hub),
        canister_upgrade_arg: None,
    });
    d.assert_executed(d.adopt(proposal("Upgrade the staking hub (new shard release)", upgrade)));
    let target = d.rollout().target_hash;
    d.execute("control_shard_rollout", &RolloutCommand::Start { batch_size: 1 });
    d.ticks(1);
    assert_eq!(d.shard(shard).wasm_hash, target);
    assert_eq!(d.net.canister_metadata(shard, "build_tag").as_deref(), Some(b"rollout-test".as_slice()));
    let (upgraded,): (VersionInfo,) = d.net.query_candid(shard, "get_version", ()).unwrap();
    assert_eq!(upgraded.module_hash.as_deref(), Some(target.as_str()), "the hub told the shard its new module hash");
    let snapshot = history(&d).last_snapshot_id.expect("a snapshot before the upgrade").into_vec();
    assert_eq!(history(&d).last_snapshot_wasm_hash.as_deref(), Some(old_hash.as_str()));

    // After the upgrade the learner's state moves on.
    assert!(d.submit_quiz(shard, ada, "math-2", vec![2, 2, 2]).unwrap().passed);
    assert_ne!(d.profile(shard, ada).unwrap(), at_snapshot);

    // Another snapshot id than the hub's is refused; the right one is rendered for voters.
    let e = d.submit("restore_shard_snapshot", &restore(vec![1, 2, 3])).unwrap_err();
    assert!(e.error_message.contains("last snapshot is"), "{e:?}");
    for who in [ada, deployer(), shard] {
        d.assert_refused(d.hub, who, "restore_shard_snapshot", &restore(snapshot.clone()));
    }
    let p = d.execute("restore_shard_snapshot", &restore(snapshot.clone()));
    let text = p.payload_text_rendering.unwrap();
    assert!(text.contains("RESTORE") && text.contains(&hex_id(&snapshot)) && text.contains(&old_hash), "{text}");

    // The shard runs the snapshot's code and state, and is running.
    assert_eq!(d.profile(shard, ada).unwrap(), at_snapshot);
    assert_eq!(d.net.canister_metadata(shard, "build_tag"), None, "the old release again");
    assert_eq!(d.net.canister_status(shard, Some(d.hub)).unwrap().status, CanisterStatusType::Running);
    assert_eq!(hex_id(&d.net.module_hash(shard).unwrap()), old_hash);
    let (restored,): (VersionInfo,) = d.net.query_candid(shard, "get_version", ()).unwrap();
    assert_eq!(restored.module_hash.as_deref(), Some(old_hash.as_str()), "the snapshot's heap knows its module");
    assert_eq!(d.shard(shard).wasm_hash, old_hash);

    // The restore is recorded, and the rollout does not redo the upgrade before a new Start.
    let h = history(&d);
    assert_eq!(h.restores.len(), 1);
    let record = &h.restores[0];
    assert_eq!(record.snapshot_id.as_slice(), snapshot.as_slice());
    assert_eq!((record.wasm_hash_before.as_str(), record.wasm_hash_after.as_str()), (target.as_str(), old_hash.as_str()));
    assert_eq!(record.reason, "the new release corrupts profiles");
    d.ticks(3);
    assert_eq!(d.shard(shard).wasm_hash, old_hash);
    let pending = d.rollout().pending;
    assert!(pending.iter().any(|p| p.shard_id == shard && p.gave_up), "{pending:?}");
    // The restored shard still serves its learner and takes the configuration pushed again.
    assert!(d.submit_quiz(shard, ada, "math-2", vec![2, 2, 2]).unwrap().passed);
    assert!(d.config_status().shards_behind.is_empty(), "{:?}", d.config_status());
}

/// Issue 13, section 5: the shards' logs are readable by the hub and the operators the
/// configuration names (log visibility `allowed_viewers`), set at creation and, after a config
/// proposal, on every existing shard; the hub's and the shards' significant events are there.
#[test]
fn operators_named_by_a_config_proposal_read_every_shards_log() {
    use localnet::management_types::LogVisibility;
    let d = dao(2);
    let operator = Principal::self_authenticating(b"an operator of the DAO");
    let first = d.register(learner(1));
    let text = |logs: Vec<localnet::CanisterLogRecord>| -> String {
        logs.iter().map(|r| String::from_utf8_lossy(&r.content).into_owned()).collect::<Vec<_>>().join("\n")
    };
    let visibility = |shard| d.net.canister_status(shard, Some(d.hub)).unwrap().settings.log_visibility;
    assert_eq!(visibility(first), LogVisibility::AllowedViewers(vec![d.hub]), "the hub alone at first");
    assert!(d.net.fetch_canister_logs(first, operator).is_err());
    // The hub's log (read by its controller, SNS root) tells the shard's creation and install.
    let hub_log = text(d.net.fetch_canister_logs(d.hub, d.root).unwrap());
    assert!(hub_log.contains(&format!("shard {first} (#0) created")) && hub_log.contains(&format!("shard {first} (#0) installed")), "{hub_log}");

    // Out-of-bounds lists are refused at submission.
    let too_many: Vec<Principal> = (0..10u8).map(|n| Principal::from_slice(&[n + 1; 29])).collect();
    let e = d.submit("update_config", &ConfigOverrides { shard_log_viewers: Some(too_many), ..Default::default() }).unwrap_err();
    assert!(e.error_message.contains("at most 9"), "{e:?}");

    let p = d.execute("update_config", &ConfigOverrides { shard_log_viewers: Some(vec![operator]), ..Default::default() });
    assert!(p.payload_text_rendering.unwrap().contains(&operator.to_text()));
    d.ticks(1);
    assert_eq!(visibility(first), LogVisibility::AllowedViewers(vec![d.hub, operator]), "set on the existing shard");
    let shard_log = text(d.net.fetch_canister_logs(first, operator).unwrap());
    assert!(shard_log.contains(&format!("user_profile: installed by the hub {}", d.hub)), "{shard_log}");
    assert!(d.net.fetch_canister_logs(first, learner(1)).is_err(), "not for anyone else");

    // A shard created afterwards has them from its creation.
    let second = (2..=3).map(|n| d.register(learner(n))).find(|s| *s != first).expect("a second shard");
    assert_eq!(visibility(second), LogVisibility::AllowedViewers(vec![d.hub, operator]));
    assert!(d.net.fetch_canister_logs(second, operator).is_ok());
}

/// Issue 13, section 3: the DAO names user export readers by a config proposal (1001); the
/// hub pushes the configuration, and each reader can walk every shard's `export_users` to the
/// end with checked pages, for an off-chain archive. A stranger cannot, the reader can call no
/// other hub-only method, and clearing the list revokes the access.
#[test]
fn export_readers_named_by_a_config_proposal_walk_every_shards_users_and_nothing_more() {
    let d = dao(3);
    let reader = Principal::self_authenticating(b"the DAO's archive reader");
    let stranger = Principal::self_authenticating(b"not named by the DAO");
    let learners: Vec<u32> = (1..=7).collect();
    let mut shard_of = BTreeMap::new();
    for &n in &learners {
        let shard = d.register(learner(n));
        let (r,): (Result<UserView, ShardError>,) =
            d.net.update_candid_as(shard, learner(n), "update_profile", (profile(n),)).unwrap();
        r.unwrap();
        shard_of.insert(learner(n), shard);
        d.ticks(1);
    }
    let shards: Vec<Principal> = d.shards().iter().map(|s| s.id).collect();
    assert!(shards.len() >= 2, "{} shards", shards.len());

    // Every page as a query (`limit` 2, so several pages), each checked with page_sha256.
    let walk = |shard: Principal, who: Principal| -> Result<Vec<ExportedUser>, ShardError> {
        let (mut cursor, mut users) = (None::<Principal>, Vec::new());
        loop {
            let (r,): (Result<ExportedUsers, ShardError>,) =
                d.net.query_candid_as(shard, who, "export_users", (cursor, 2u32)).unwrap();
            let exported = r?;
            assert_eq!(exported.sha256, page_sha256(&exported.page), "page after {cursor:?} of {shard}");
            users.extend(exported.page.users);
            match exported.page.next_cursor {
                Some(next) => cursor = Some(next),
                None => {
                    assert_eq!(exported.page.shard_totals.map(|t| t.users), Some(users.len() as u64), "the last page's totals");
                    return Ok(users);
                }
            }
        }
    };
    let as_update = |shard: Principal, who: Principal| {
        d.net.update_call(shard, who, "export_users", candid::encode_args((None::<Principal>, 500u32)).unwrap())
    };

    // Before the proposal: the reader is refused (as a query, and by the ingress filter).
    for &shard in &shards {
        assert_eq!(walk(shard, reader).unwrap_err(), ShardError::NotAuthorized);
        assert!(as_update(shard, reader).is_err());
    }

    // A bad list is refused at submission and changes nothing.
    let e = d.submit("update_config", &ConfigOverrides { user_export_readers: Some(vec![reader, reader]), ..Default::default() }).unwrap_err();
    assert!(e.error_message.contains("listed twice"), "{e:?}");
    let e = d.submit("update_config", &ConfigOverrides { user_export_readers: Some(vec![Principal::anonymous()]), ..Default::default() }).unwrap_err();
    assert!(e.error_message.contains("cannot be an export reader"), "{e:?}");

    let name = ConfigOverrides { user_export_readers: Some(vec![reader]), ..Default::default() };
    let p = d.execute("update_config", &name);
    let rendering = p.payload_text_rendering.unwrap();
    assert!(rendering.contains(&reader.to_text()) && rendering.contains("WARNING"), "{rendering}");
    d.ticks(1);
    assert!(d.config_status().shards_behind.is_empty(), "{:?}", d.config_status());

    // After it: the reader walks every shard to the end; together the pages hold every learner
    // with the profile they gave, on the shard the hub routes them to.
    let mut seen = BTreeMap::new();
    for &shard in &shards {
        for user in walk(shard, reader).unwrap() {
            assert!(seen.insert(user.principal, (shard, user.profile.clone())).is_none(), "{} twice", user.principal);
        }
        let (r,): (Result<ExportedUsers, ShardError>,) =
            candid::decode_args(&as_update(shard, reader).expect("a replicated call passes the ingress filter")).unwrap();
        assert_eq!(r.unwrap().page.next_cursor, None, "500 users fit one page");
    }
    assert_eq!(seen.len(), learners.len());
    for &n in &learners {
        assert_eq!(seen[&learner(n)], (shard_of[&learner(n)], Some(profile(n))), "learner {n}");
    }

    // A stranger is still refused; the reader reads and nothing else.
    let shard = shards[0];
    assert_eq!(walk(shard, stranger).unwrap_err(), ShardError::NotAuthorized);
    assert!(as_update(shard, stranger).is_err());
    let (r,): (Result<ExportedUsers, ShardError>,) = d.net.query_candid_as(shard, d.hub, "export_users", (None::<Principal>, 500u32)).unwrap();
    let exported = r.unwrap();
    let import = ImportUsersArgs { source_shard: 1, sha256: exported.sha256.clone(), page: exported.page };
    assert!(d.net.update_call(shard, reader, "import_users", candid::encode_one(&import).unwrap()).is_err(), "import_users stays hub-only");
    for method in ["set_migration_freeze", "return_cycles_to_hub"] {
        let arg = if method == "set_migration_freeze" { candid::encode_one(true).unwrap() } else { candid::encode_args(()).unwrap() };
        assert!(d.net.update_call(shard, reader, method, arg).is_err(), "{method} stays hub-only");
    }
    let on_shard = learners.iter().map(|&n| learner(n)).find(|w| shard_of[w] == shard).unwrap();
    let (r,): (Result<UserView, ShardError>,) = d.net.update_candid_as(shard, on_shard, "update_profile", (profile(99),)).unwrap();
    assert!(r.is_ok(), "the shard was not frozen: {r:?}");

    // Cleared after the archive: the access ends with the next push.
    let p = d.execute("update_config", &ConfigOverrides { user_export_readers: Some(vec![]), ..Default::default() });
    assert!(p.payload_text_rendering.unwrap().contains("only the hub can export"));
    d.ticks(1);
    for &shard in &shards {
        assert_eq!(walk(shard, reader).unwrap_err(), ShardError::NotAuthorized);
    }
}
