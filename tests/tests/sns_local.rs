//! The local SNS governance and root (standins, test infrastructure: docs/sns-local.md) on
//! localnet, driven through the real SNS Candid (`platform_types::sns`): custom proposals
//! (validator at submission, target after adoption), votes and decisions (absolute majority at
//! once, votes cast at the deadline), the rejection fee and the minimum dissolve delay to vote,
//! proposal validation, neuron permissions, dapp canister upgrades through root (plain and
//! chunked; failing ones are Executed, as on the real SNS, and seen by the module hash), dapp
//! registration, and upgrades of governance and root themselves. `gnsf_target` (tests/canisters) is the custom
//! function's validator and target, and the dapp canister upgraded.

use candid::{CandidType, Deserialize, Principal};
use integration_tests::sns::{governance_init, initial_neurons, neuron, SnsGovernance};
use integration_tests::{another_release, wasm};
use localnet::management_types::{CanisterSettings, CanisterStatusType};
use localnet::LocalNet;
use platform_types::sns::root::{
    ListSnsCanistersRequest, ListSnsCanistersResponse, RegisterDappCanistersRequest, SnsRootCanister,
};
use platform_types::sns::*;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use std::time::Duration;

const PERIOD_SECS: u64 = 3_600;
const FUNCTION_ID: u64 = 1000;

/// Neurons 1, 2, 3 (ids `[n; 32]`) with 40, 35 and 25 voting power: nobody decides alone.
const NEURONS: [(u8, u64); 3] = [(1, 40), (2, 35), (3, 25)];

fn principal(n: u8) -> Principal {
    Principal::self_authenticating([b"sns-local-neuron-controller-".as_slice(), &[n]].concat())
}


#[derive(CandidType)]
struct SetValueArg {
    value: String,
}

/// `gnsf_target`'s `info` reply.
#[derive(CandidType, Deserialize, Debug, Clone, PartialEq)]
struct Info {
    governance: Principal,
    values: Vec<String>,
    upgrades: u64,
    last_upgrade_arg: Option<String>,
    status_during_last_upgrade: Option<u32>,
    canister_version: u64,
}

fn payload(value: &str) -> Vec<u8> {
    candid::encode_one(SetValueArg { value: value.into() }).unwrap()
}

struct Sns {
    net: LocalNet,
    gov: Principal,
    root: Principal,
    /// gnsf_target: the custom function's validator and target, and a dapp canister.
    target: Principal,
}

/// The rejection fee of sns_init.yaml (5,000 tokens), the local governance's default.
const FEE_E8S: u64 = 500_000_000_000;
/// sns_init.yaml's minimum dissolve delay to vote (1 month), the local governance's default.
const MIN_DISSOLVE_DELAY_SECS: u64 = 2_630_016;

/// The neurons of [`NEURONS`] with the default stake and dissolve delay.
fn default_neurons() -> Vec<InitialNeuron> {
    initial_neurons(&NEURONS, principal)
}

/// Governance, root and `gnsf_target`; the target is a registered dapp (root its only
/// controller) when `registered`, else controlled by the anonymous principal only.
fn deploy(registered: bool) -> Sns {
    deploy_with(registered, default_neurons())
}

/// As [`deploy`], with the given neurons and the default parameters.
fn deploy_with(registered: bool, neurons: Vec<InitialNeuron>) -> Sns {
    let net = LocalNet::new();
    let gov = net.create_canister();
    let root = net.create_canister();
    let target = net.create_canister();
    let init = governance_init(root, neurons, PERIOD_SECS);
    net.install_canister(gov, wasm("sns_governance"), candid::encode_one(init).unwrap(), None);
    let init = SnsRootCanister {
        governance_canister_id: Some(gov),
        dapp_canister_ids: if registered { vec![target] } else { vec![] },
        ..Default::default()
    };
    net.install_canister(root, wasm("sns_root"), candid::encode_one(init).unwrap(), None);
    net.install_canister(target, wasm("gnsf_target"), candid::encode_one(gov).unwrap(), None);
    if registered {
        net.set_controllers(target, None, vec![root]).unwrap();
    }
    Sns { net, gov, root, target }
}

fn proposal(title: &str, action: Action) -> Proposal {
    Proposal {
        title: title.into(),
        summary: format!("{title}: summary"),
        url: "https://example.org".into(),
        action: Some(action),
    }
}

fn custom_function(id: u64, target: Principal, validator_method: &str) -> NervousSystemFunction {
    NervousSystemFunction {
        id,
        name: "Set value".into(),
        description: Some("Sets gnsf_target's value".into()),
        function_type: Some(FunctionType::GenericNervousSystemFunction(GenericNervousSystemFunction {
            target_canister_id: Some(target),
            target_method_name: Some("set_value".into()),
            validator_canister_id: Some(target),
            validator_method_name: Some(validator_method.into()),
            topic: Some(Topic::ApplicationBusinessLogic),
        })),
    }
}

fn execute(function_id: u64, payload: Vec<u8>) -> Action {
    Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction { function_id, payload })
}

fn upgrade(canister: Principal, wasm: Vec<u8>, arg: Option<&str>) -> Action {
    Action::UpgradeSnsControlledCanister(UpgradeSnsControlledCanister {
        new_canister_wasm: wasm,
        chunked_canister_wasm: None,
        mode: None,
        canister_id: Some(canister),
        canister_upgrade_arg: arg.map(|a| ByteBuf::from(candid::encode_one(Some(a.to_string())).unwrap())),
    })
}

impl Sns {
    fn governance(&self) -> SnsGovernance<'_> {
        SnsGovernance { net: &self.net, gov: self.gov }
    }

    fn manage_neuron(&self, caller: Principal, req: ManageNeuron) -> ManageNeuronResponse {
        self.governance().manage_neuron(caller, req)
    }

    /// Neuron `n`'s controller makes a proposal with it.
    fn propose(&self, n: u8, p: Proposal) -> Result<u64, GovernanceError> {
        self.governance().propose(principal(n), n, p)
    }

    fn vote(&self, n: u8, id: u64, vote: Vote) -> Result<(), GovernanceError> {
        self.governance().vote(principal(n), n, id, vote)
    }

    /// Runs rounds until nothing is left to execute (executions are asynchronous).
    fn settle(&self) {
        self.net.run_until_idle(10_000);
    }

    /// Neuron 1 proposes, neuron 2 votes yes (75 %): adopted at once; executed once settled.
    fn adopt(&self, p: Proposal) -> u64 {
        let id = self.propose(1, p).unwrap();
        self.vote(2, id, Vote::Yes).unwrap();
        self.settle();
        id
    }

    fn proposal(&self, id: u64) -> ProposalData {
        self.governance().proposal(id)
    }

    fn status(&self, id: u64) -> ProposalDecisionStatus {
        self.proposal(id).status()
    }

    fn list(&self, req: ListProposals) -> Vec<ProposalData> {
        self.governance().list(req)
    }

    fn functions(&self) -> ListNervousSystemFunctionsResponse {
        let (r,): (ListNervousSystemFunctionsResponse,) =
            self.net.query_candid(self.gov, "list_nervous_system_functions", ()).unwrap();
        r
    }

    fn sns_canisters(&self) -> ListSnsCanistersResponse {
        let (r,): (ListSnsCanistersResponse,) =
            self.net.query_candid(self.root, "list_sns_canisters", (ListSnsCanistersRequest {},)).unwrap();
        r
    }

    fn info(&self) -> Info {
        let (r,): (Info,) = self.net.query_candid(self.target, "info", ()).unwrap();
        r
    }

    fn neuron(&self, n: u8) -> Neuron {
        let (r,): (GetNeuronResponse,) =
            self.net.query_candid(self.gov, "get_neuron", (GetNeuron { neuron_id: Some(neuron(n)) },)).unwrap();
        match r.result {
            Some(GetNeuronResult::Neuron(n)) => n,
            other => panic!("get_neuron {n}: {other:?}"),
        }
    }

    /// The platform's check of an executed upgrade, the way the DAO sees it: the module hash
    /// anyone can read, compared with the SHA-256 of the proposal's Wasm.
    fn runs_wasm(&self, canister: Principal, wasm: &[u8]) -> bool {
        self.net.module_hash(canister) == Some(Sha256::digest(wasm).into())
    }

    fn running(&self, canister: Principal, controller: Principal) -> bool {
        self.net.canister_status(canister, Some(controller)).unwrap().status == CanisterStatusType::Running
    }

    /// Adds custom function 1000 (gnsf_target's `set_value` / `set_value_validate`).
    fn add_function(&self) {
        let id = self.adopt(proposal(
            "Add set_value",
            Action::AddGenericNervousSystemFunction(custom_function(FUNCTION_ID, self.target, "set_value_validate")),
        ));
        assert_eq!(self.status(id), ProposalDecisionStatus::Executed, "{:?}", self.proposal(id).failure_reason);
    }
}

fn error_type(r: Result<u64, GovernanceError>) -> (i32, String) {
    let e = r.expect_err("the submission must fail");
    (e.error_type, e.error_message)
}

#[test]
fn a_custom_proposal_is_validated_at_submission_and_executed_after_adoption() {
    let sns = deploy(false);
    sns.add_function();
    let f = sns.functions();
    assert!(f.functions.iter().any(|f| f.id == FUNCTION_ID && f.generic().is_some()));
    assert!(f.functions.iter().any(|f| f.id == native_action_ids::MOTION));

    let id = sns.propose(1, proposal("Set hello", execute(FUNCTION_ID, payload("hello")))).unwrap();
    let p = sns.proposal(id);
    assert_eq!(p.status(), ProposalDecisionStatus::Open, "40 % yes is not a majority");
    assert_eq!((p.action, p.topic), (FUNCTION_ID, Some(Topic::ApplicationBusinessLogic)));
    assert_eq!(p.proposer, Some(neuron(1)));
    assert_eq!(p.ballot(&neuron(1)).unwrap().vote, Vote::Yes as i32, "the proposer votes yes");
    assert_eq!(p.latest_tally.map(|t| (t.yes, t.no, t.total)), Some((40, 0, 100)));
    let rendering = p.payload_text_rendering.unwrap();
    assert!(rendering.contains("Set the value to \"hello\""), "the validator's text: {rendering}");
    assert!(rendering.contains(&hex(&Sha256::digest(payload("hello")))), "{rendering}");
    assert!(sns.info().values.is_empty(), "nothing runs before adoption");

    sns.vote(2, id, Vote::Yes).unwrap();
    sns.settle();
    let p = sns.proposal(id);
    assert_eq!(p.status(), ProposalDecisionStatus::Executed, "{:?}", p.failure_reason);
    assert!(p.decided_timestamp_seconds > 0 && p.executed_timestamp_seconds >= p.decided_timestamp_seconds);
    assert_eq!(sns.info().values, vec!["hello".to_string()]);
}

#[test]
fn a_rejected_proposal_has_no_effect() {
    let sns = deploy(false);
    sns.add_function();
    let id = sns.propose(1, proposal("Set nope", execute(FUNCTION_ID, payload("nope")))).unwrap();
    sns.vote(2, id, Vote::No).unwrap();
    assert_eq!(sns.status(id), ProposalDecisionStatus::Open, "35 % no is not yet half");
    sns.vote(3, id, Vote::No).unwrap();
    sns.settle();
    let p = sns.proposal(id);
    assert_eq!(p.status(), ProposalDecisionStatus::Rejected, "60 % no decides at once");
    assert_eq!(p.latest_tally.map(|t| (t.yes, t.no)), Some((40, 60)));
    assert_eq!((p.executed_timestamp_seconds, p.failed_timestamp_seconds), (0, 0));
    assert!(sns.info().values.is_empty());
}

#[test]
fn at_the_deadline_the_votes_cast_decide() {
    let sns = deploy(false);
    sns.add_function();
    // yes 40, no 35: neither is an absolute majority; at the deadline yes > no adopts.
    let adopted = sns.propose(1, proposal("Yes wins", execute(FUNCTION_ID, payload("yes-wins")))).unwrap();
    sns.vote(2, adopted, Vote::No).unwrap();
    // yes 25, then no 35: the vote flips the result, so wait-for-quiet extends the deadline.
    let rejected = sns.propose(3, proposal("No wins", execute(FUNCTION_ID, payload("no-wins")))).unwrap();
    sns.vote(2, rejected, Vote::No).unwrap();
    // Nobody votes: yes 40 (the proposer), no 0: adopted at the deadline.
    let silent = sns.propose(1, proposal("Silence", Action::Motion(Motion { motion_text: "quiet".into() }))).unwrap();
    let deadline = sns.proposal(adopted).deadline_timestamp_seconds();
    assert_eq!(deadline, sns.proposal(adopted).proposal_creation_timestamp_seconds + PERIOD_SECS);

    sns.net.advance_time(Duration::from_secs(PERIOD_SECS - 60));
    sns.net.tick();
    sns.settle();
    for id in [adopted, rejected, silent] {
        assert_eq!(sns.status(id), ProposalDecisionStatus::Open);
    }

    sns.net.advance_time(Duration::from_secs(120));
    sns.net.tick();
    sns.settle();
    assert_eq!(sns.status(adopted), ProposalDecisionStatus::Executed, "{:?}", sns.proposal(adopted).failure_reason);
    // Wait-for-quiet: the flip (within seconds of creation) moved the deadline to about
    // creation + 1 day + PERIOD / 2; the re-armed timer decides it then.
    let flipped = sns.proposal(rejected);
    assert_eq!(flipped.status(), ProposalDecisionStatus::Open);
    let extended = flipped.deadline_timestamp_seconds() - flipped.proposal_creation_timestamp_seconds;
    assert!((86_400 + PERIOD_SECS / 2 - 60..=86_400 + PERIOD_SECS / 2).contains(&extended), "{extended}");
    assert_eq!(flipped.wait_for_quiet_deadline_increase_seconds, 86_400);
    sns.net.advance_time(Duration::from_secs(extended - PERIOD_SECS));
    sns.net.tick();
    sns.settle();
    assert_eq!(sns.status(rejected), ProposalDecisionStatus::Rejected);
    assert_eq!(sns.status(silent), ProposalDecisionStatus::Executed);
    assert_eq!(sns.info().values, vec!["yes-wins".to_string()]);
    // Too late to vote.
    assert_eq!(sns.vote(3, adopted, Vote::No).unwrap_err().error_type, ErrorType::PreconditionFailed as i32);
}

#[test]
fn a_validator_that_refuses_traps_or_rejects_prevents_the_proposal() {
    let sns = deploy(false);
    sns.add_function();
    // A second function whose validator method does not exist (the call is rejected).
    let id = sns.adopt(proposal(
        "Add broken",
        Action::AddGenericNervousSystemFunction(custom_function(1001, sns.target, "no_such_method")),
    ));
    assert_eq!(sns.status(id), ProposalDecisionStatus::Executed);
    let before = sns.list(ListProposals::default()).len();

    let (t, m) = error_type(sns.propose(1, proposal("Bad", execute(FUNCTION_ID, payload("bad")))));
    assert_eq!(t, ErrorType::InvalidProposal as i32);
    assert!(m.contains("invalid value \"bad\""), "{m}");
    // A payload of the wrong type: the validator traps decoding it.
    let (t, m) =
        error_type(sns.propose(1, proposal("Wrong type", execute(FUNCTION_ID, candid::encode_one(42u64).unwrap()))));
    assert_eq!(t, ErrorType::InvalidProposal as i32);
    assert!(m.contains("validator"), "{m}");
    let (t, m) = error_type(sns.propose(1, proposal("No validator", execute(1001, payload("x")))));
    assert_eq!(t, ErrorType::InvalidProposal as i32);
    assert!(m.contains("no_such_method"), "{m}");
    let (t, m) = error_type(sns.propose(1, proposal("Unknown", execute(1999, payload("x")))));
    assert_eq!(t, ErrorType::InvalidProposal as i32);
    assert!(m.contains("1999"), "{m}");
    assert_eq!(sns.list(ListProposals::default()).len(), before, "no proposal was created");
    assert!(sns.info().values.is_empty());
}

#[test]
fn a_target_that_traps_marks_the_proposal_failed() {
    let sns = deploy(false);
    sns.add_function();
    let id = sns.adopt(proposal("Trap", execute(FUNCTION_ID, payload("trap"))));
    let p = sns.proposal(id);
    assert_eq!(p.status(), ProposalDecisionStatus::Failed);
    assert!(p.failed_timestamp_seconds > 0);
    let reason = p.failure_reason.unwrap();
    assert_eq!(reason.error_type, ErrorType::External as i32);
    assert!(reason.error_message.contains("set_value: asked to trap"), "{reason}");
    assert!(sns.info().values.is_empty());
    // Only governance may call the target and the validator.
    let direct = sns.net.update_call(sns.target, principal(1), "set_value", payload("direct"));
    assert!(direct.unwrap_err().reject_message.contains("not the SNS governance canister"));
    let (r,): (Result<String, String>,) = sns
        .net
        .query_candid_as(sns.target, principal(1), "set_value_validate", (SetValueArgRecord { value: "x".into() },))
        .unwrap();
    assert!(r.unwrap_err().contains("not the SNS governance canister"));
}

#[derive(CandidType)]
struct SetValueArgRecord {
    value: String,
}

#[test]
fn add_function_proposals_are_validated() {
    let sns = deploy(false);
    sns.add_function();
    let with = |f: &dyn Fn(&mut NervousSystemFunction, &mut GenericNervousSystemFunction)| {
        let mut nsf = custom_function(1002, sns.target, "set_value_validate");
        let mut g = nsf.generic().unwrap().clone();
        f(&mut nsf, &mut g);
        nsf.function_type = Some(FunctionType::GenericNervousSystemFunction(g));
        error_type(sns.propose(1, proposal("Add", Action::AddGenericNervousSystemFunction(nsf))))
    };
    type Change<'a> = Box<dyn Fn(&mut NervousSystemFunction, &mut GenericNervousSystemFunction) + 'a>;
    let cases: Vec<(&str, Change)> = vec![
        ("starting at 1000", Box::new(|f, _| f.id = 999)),
        ("There is/was already", Box::new(|f, _| f.id = FUNCTION_ID)),
        ("name", Box::new(|f, _| f.name.clear())),
        ("description", Box::new(|f, _| f.description = Some("d".repeat(10_001)))),
        ("validator_canister_id", Box::new(|_, g| g.validator_canister_id = None)),
        ("target_method_name", Box::new(|_, g| g.target_method_name = None)),
        ("topic", Box::new(|_, g| g.topic = None)),
        ("reserved", Box::new(|_, g| g.target_canister_id = Some(sns.gov))),
        ("reserved", Box::new(|_, g| g.target_canister_id = Some(sns.root))),
        ("reserved", Box::new(|_, g| g.validator_canister_id = Some(Principal::management_canister()))),
    ];
    for (expected, change) in cases {
        let (t, m) = with(&*change);
        assert_eq!(t, ErrorType::InvalidProposal as i32, "{m}");
        assert!(m.contains(expected), "expected {expected:?} in {m:?}");
    }

    // Removing a function reserves its id forever.
    let id = sns.adopt(proposal("Remove", Action::RemoveGenericNervousSystemFunction(FUNCTION_ID)));
    assert_eq!(sns.status(id), ProposalDecisionStatus::Executed);
    let f = sns.functions();
    assert_eq!(f.reserved_ids, vec![FUNCTION_ID]);
    assert!(f.functions.iter().all(|f| f.id != FUNCTION_ID));
    let (_, m) = with(&|f, _| f.id = FUNCTION_ID);
    assert!(m.contains("There is/was already"), "{m}");
    let (_, m) = error_type(sns.propose(1, proposal("Run removed", execute(FUNCTION_ID, payload("x")))));
    assert!(m.contains("no generic NervousSystemFunction"), "{m}");
    // Proposal text limits and a missing action.
    let mut p = proposal("", Action::Motion(Motion { motion_text: "x".into() }));
    assert!(error_type(sns.propose(1, p.clone())).1.contains("title"));
    p.title = "t".into();
    p.action = None;
    assert_eq!(error_type(sns.propose(1, p)).0, ErrorType::InvalidProposal as i32);
}

#[test]
fn only_a_neurons_controller_can_use_it() {
    let sns = deploy(false);
    let motion = || proposal("Motion", Action::Motion(Motion { motion_text: "m".into() }));
    let as_other = sns.manage_neuron(principal(2), ManageNeuron::make_proposal(&neuron(1), motion()));
    assert_eq!(as_other.proposal_id().unwrap_err().error_type, ErrorType::NotAuthorized as i32);
    let anonymous = sns.manage_neuron(Principal::anonymous(), ManageNeuron::make_proposal(&neuron(1), motion()));
    assert_eq!(anonymous.proposal_id().unwrap_err().error_type, ErrorType::NotAuthorized as i32);
    let unknown = sns.manage_neuron(principal(1), ManageNeuron::make_proposal(&neuron(9), motion()));
    assert_eq!(unknown.proposal_id().unwrap_err().error_type, ErrorType::NotFound as i32);
    assert!(sns.list(ListProposals::default()).is_empty());

    let id = sns.propose(1, motion()).unwrap();
    let stolen = sns.manage_neuron(principal(3), ManageNeuron::register_vote(&neuron(2), ProposalId { id }, Vote::Yes));
    assert_eq!(stolen.vote_result().unwrap_err().error_type, ErrorType::NotAuthorized as i32);
    assert_eq!(
        sns.vote(1, id, Vote::No).unwrap_err().error_type,
        ErrorType::PreconditionFailed as i32,
        "already voted"
    );
    assert_eq!(sns.vote(2, 77, Vote::Yes).unwrap_err().error_type, ErrorType::NotFound as i32);
    let no_command = sns.manage_neuron(principal(1), ManageNeuron { subaccount: neuron(1).id, command: None });
    assert!(matches!(no_command.command, Some(CommandResponse::Error(_))));
    assert_eq!(sns.status(id), ProposalDecisionStatus::Open, "none of these counted");

    // list_neurons tells a principal which neurons it controls.
    let (r,): (ListNeuronsResponse,) = sns
        .net
        .query_candid(
            sns.gov,
            "list_neurons",
            (ListNeurons { of_principal: Some(principal(3)), limit: 10, start_page_at: None },),
        )
        .unwrap();
    assert_eq!(r.neurons.iter().map(|n| n.id.clone().unwrap()).collect::<Vec<_>>(), vec![neuron(3)]);
    assert_eq!(r.neurons[0].cached_neuron_stake_e8s, 1_000_000_000_000_000, "the default stake: 10 M tokens");
    assert_eq!(r.neurons[0].dissolve_state, Some(DissolveState::DissolveDelaySeconds(31_557_600)));
}

#[test]
fn an_upgrade_through_root_stops_installs_and_restarts_keeping_state() {
    let sns = deploy(true);
    sns.add_function();
    sns.adopt(proposal("Set kept", execute(FUNCTION_ID, payload("kept"))));
    let before = sns.info();
    assert_eq!(before.values, vec!["kept".to_string()]);

    let id = sns.propose(1, proposal("Upgrade", upgrade(sns.target, wasm("gnsf_target"), Some("v2")))).unwrap();
    let rendering = sns.proposal(id).payload_text_rendering.unwrap();
    assert!(rendering.contains(&hex(&Sha256::digest(wasm("gnsf_target")))), "{rendering}");
    assert_eq!(sns.proposal(id).topic, Some(Topic::DappCanisterManagement));
    sns.vote(2, id, Vote::Yes).unwrap();
    sns.settle();
    let p = sns.proposal(id);
    assert_eq!(p.status(), ProposalDecisionStatus::Executed, "{:?}", p.failure_reason);
    let after = sns.info();
    assert_eq!(after.values, before.values, "state kept");
    assert_eq!(after.upgrades, 1);
    assert_eq!(after.last_upgrade_arg.as_deref(), Some("v2"), "the upgrade argument was passed");
    assert_eq!(after.status_during_last_upgrade, Some(3), "stopped while installing");
    assert_eq!(after.canister_version, before.canister_version + 1);
    assert!(sns.running(sns.target, sns.root), "running again");
    // list_proposals leaves the Wasm out; get_proposal has it.
    let listed =
        sns.list(ListProposals { include_status: vec![ProposalDecisionStatus::Executed as i32], ..Default::default() });
    let listed_wasm = |p: &ProposalData| match p.proposal.as_ref().and_then(|p| p.action.clone()) {
        Some(Action::UpgradeSnsControlledCanister(u)) => Some(u.new_canister_wasm.len()),
        _ => None,
    };
    assert_eq!(listed.iter().find(|p| p.id == Some(ProposalId { id })).and_then(listed_wasm), Some(0));
    assert_eq!(listed_wasm(&sns.proposal(id)), Some(wasm("gnsf_target").len()));

    // No argument: the upgrade gets `()`.
    sns.adopt(proposal("Upgrade again", upgrade(sns.target, wasm("gnsf_target"), None)));
    assert_eq!((sns.info().upgrades, sns.info().last_upgrade_arg), (2, None));
}

#[test]
fn a_chunked_upgrade_installs_from_the_store_canisters_chunks() {
    let sns = deploy(true);
    let settings = CanisterSettings { controllers: Some(vec![Principal::anonymous(), sns.root]), ..Default::default() };
    let store = sns.net.create_canister_with_settings(None, Some(settings));
    let module = wasm("gnsf_target");
    let (a, b) = module.split_at(module.len() / 2);
    let chunk_hashes: Vec<ByteBuf> =
        [a, b].iter().map(|c| ByteBuf::from(sns.net.upload_chunk(store, None, c.to_vec()).unwrap())).collect();
    let action = Action::UpgradeSnsControlledCanister(UpgradeSnsControlledCanister {
        new_canister_wasm: vec![],
        chunked_canister_wasm: Some(ChunkedCanisterWasm {
            wasm_module_hash: Sha256::digest(&module).to_vec(),
            store_canister_id: Some(store),
            chunk_hashes_list: chunk_hashes,
        }),
        mode: Some(InstallModeCode::Upgrade as i32),
        canister_id: Some(sns.target),
        canister_upgrade_arg: Some(ByteBuf::from(candid::encode_one(Some("chunked".to_string())).unwrap())),
    });
    let id = sns.adopt(proposal("Chunked upgrade", action));
    let p = sns.proposal(id);
    assert_eq!(p.status(), ProposalDecisionStatus::Executed, "{:?}", p.failure_reason);
    let info = sns.info();
    assert_eq!(
        (info.upgrades, info.last_upgrade_arg.as_deref(), info.status_during_last_upgrade),
        (1, Some("chunked"), Some(3))
    );
    assert!(sns.running(sns.target, sns.root));

    // A chunk list that does not match the hash: the install fails, the canister runs on.
    let bad = Action::UpgradeSnsControlledCanister(UpgradeSnsControlledCanister {
        new_canister_wasm: vec![],
        chunked_canister_wasm: Some(ChunkedCanisterWasm {
            wasm_module_hash: vec![0; 32],
            store_canister_id: Some(store),
            chunk_hashes_list: vec![ByteBuf::from(Sha256::digest(a).to_vec())],
        }),
        mode: None,
        canister_id: Some(sns.target),
        canister_upgrade_arg: None,
    });
    let module_before = sns.net.module_hash(sns.target);
    let id = sns.adopt(proposal("Bad chunks", bad));
    assert_eq!(sns.status(id), ProposalDecisionStatus::Executed, "root answered before installing");
    assert_eq!(sns.info().upgrades, 1);
    assert_eq!(sns.net.module_hash(sns.target), module_before);
    assert!(sns.running(sns.target, sns.root));
}

/// As on the real SNS, root answers `change_canister` before installing, so an upgrade whose
/// `post_upgrade` traps is Executed in governance; the DAO (and the platform's checks) see the
/// failure in the module hash, which stays the old one.
#[test]
fn an_upgrade_whose_post_upgrade_traps_is_executed_while_the_module_hash_is_unchanged() {
    let sns = deploy(true);
    sns.add_function();
    sns.adopt(proposal("Set kept", execute(FUNCTION_ID, payload("kept"))));
    let before = sns.info();
    let module_before = sns.net.module_hash(sns.target);
    // A different module than the running one, so the hash tells whether it was installed.
    let new_wasm = another_release(&wasm("gnsf_target"));
    assert!(!sns.runs_wasm(sns.target, &new_wasm));

    // post_upgrade traps.
    let id = sns.adopt(proposal("Trapping upgrade", upgrade(sns.target, new_wasm.clone(), Some("trap"))));
    let p = sns.proposal(id);
    assert_eq!(p.status(), ProposalDecisionStatus::Executed, "{:?}", p.failure_reason);
    assert!(p.failure_reason.is_none());
    assert!(!sns.runs_wasm(sns.target, &new_wasm), "the platform-side check reports the failed upgrade");
    assert_eq!(sns.net.module_hash(sns.target), module_before);
    assert!(sns.running(sns.target, sns.root), "restarted after the failed install");
    assert_eq!(sns.info(), before, "old code and state: no upgrade happened");

    // A module that is not valid Wasm: Executed too, nothing installed.
    let garbage = b"\0asm\x01\0\0\0garbage".to_vec();
    let id = sns.adopt(proposal("Garbage", upgrade(sns.target, garbage.clone(), None)));
    assert_eq!(sns.status(id), ProposalDecisionStatus::Executed);
    assert!(!sns.runs_wasm(sns.target, &garbage));
    assert!(sns.running(sns.target, sns.root));
    assert_eq!(sns.info(), before);
    assert_eq!(sns.net.module_hash(sns.target), module_before);

    // The same module with an upgrade that succeeds: the check sees it.
    let id = sns.adopt(proposal("Good upgrade", upgrade(sns.target, new_wasm.clone(), Some("v2"))));
    assert_eq!(sns.status(id), ProposalDecisionStatus::Executed);
    assert!(sns.runs_wasm(sns.target, &new_wasm));
    // The target still works through governance.
    sns.adopt(proposal("Set after", execute(FUNCTION_ID, payload("after"))));
    assert_eq!(sns.info().values, vec!["kept".to_string(), "after".to_string()]);
}

#[test]
fn a_proposal_from_a_neuron_with_too_little_stake_is_refused() {
    let mut neurons = default_neurons();
    neurons[2].stake_e8s = Some(FEE_E8S - 1);
    let sns = deploy_with(false, neurons);
    let motion = proposal("Motion", Action::Motion(Motion { motion_text: "m".into() }));
    let e = sns.propose(3, motion.clone()).unwrap_err();
    assert_eq!(e.error_type, ErrorType::PreconditionFailed as i32);
    assert_eq!(e.error_message, "Neuron doesn't have enough stake to submit proposal.");
    assert!(sns.list(ListProposals::default()).is_empty());
    assert_eq!(sns.neuron(3).neuron_fees_e8s, 0, "a refused proposal costs nothing");
    // It may still vote.
    let id = sns.propose(1, motion).unwrap();
    sns.vote(3, id, Vote::Yes).unwrap();
}

#[test]
fn a_rejected_proposal_costs_the_proposer_the_fee_and_an_adopted_one_nothing() {
    let sns = deploy(false);
    let (params,): (NervousSystemParameters,) =
        sns.net.query_candid(sns.gov, "get_nervous_system_parameters", ((),)).unwrap();
    assert_eq!(params.reject_cost_e8s, Some(FEE_E8S));
    assert_eq!(params.neuron_minimum_dissolve_delay_to_vote_seconds, Some(MIN_DISSOLVE_DELAY_SECS));
    assert_eq!(params.initial_voting_period_seconds, Some(PERIOD_SECS));
    assert_eq!(params.wait_for_quiet_deadline_increase_seconds, Some(86_400));

    let motion = |t: &str| proposal(t, Action::Motion(Motion { motion_text: t.into() }));
    let stake = sns.neuron(1).cached_neuron_stake_e8s;
    let rejected = sns.propose(1, motion("rejected")).unwrap();
    assert_eq!(sns.proposal(rejected).reject_cost_e8s, FEE_E8S);
    assert_eq!(sns.neuron(1).neuron_fees_e8s, FEE_E8S, "charged at submission");
    sns.vote(2, rejected, Vote::No).unwrap();
    sns.vote(3, rejected, Vote::No).unwrap();
    sns.settle();
    assert_eq!(sns.status(rejected), ProposalDecisionStatus::Rejected);
    assert_eq!(sns.neuron(1).neuron_fees_e8s, FEE_E8S, "kept: the proposal was rejected");

    let adopted = sns.adopt(motion("adopted"));
    assert_eq!(sns.status(adopted), ProposalDecisionStatus::Executed);
    assert_eq!(sns.neuron(1).neuron_fees_e8s, FEE_E8S, "the adopted one cost nothing");
    assert_eq!(sns.neuron(1).cached_neuron_stake_e8s, stake, "fees are owed, the stake stays");
    assert_eq!((sns.neuron(2).neuron_fees_e8s, sns.neuron(3).neuron_fees_e8s), (0, 0), "voting is free");
    // list_neurons shows the same.
    let (r,): (ListNeuronsResponse,) = sns
        .net
        .query_candid(sns.gov, "list_neurons", (ListNeurons { of_principal: Some(principal(1)), limit: 1, start_page_at: None },))
        .unwrap();
    assert_eq!(r.neurons[0].neuron_fees_e8s, FEE_E8S);
}

#[test]
fn a_neuron_under_the_minimum_dissolve_delay_can_neither_vote_nor_propose_and_is_not_counted() {
    let mut neurons = default_neurons();
    neurons[1].dissolve_delay_seconds = Some(MIN_DISSOLVE_DELAY_SECS - 1); // neuron 2 (35)
    let sns = deploy_with(false, neurons);
    assert_eq!(sns.neuron(2).dissolve_state, Some(DissolveState::DissolveDelaySeconds(MIN_DISSOLVE_DELAY_SECS - 1)));
    let motion = |t: &str| proposal(t, Action::Motion(Motion { motion_text: t.into() }));
    let e = sns.propose(2, motion("short")).unwrap_err();
    assert_eq!(e.error_type, ErrorType::PreconditionFailed as i32);
    assert!(e.error_message.contains("is less than the minimum required dissolve delay of 2630016"), "{e}");
    assert!(sns.list(ListProposals::default()).is_empty());

    // Neuron 3 proposes (yes 25 of the eligible 65): open; neuron 2 cannot vote.
    let id = sns.propose(3, motion("eligible")).unwrap();
    let p = sns.proposal(id);
    assert!(p.ballot(&neuron(2)).is_none(), "no ballot");
    assert_eq!(p.latest_tally.map(|t| (t.yes, t.no, t.total)), Some((25, 0, 65)));
    let e = sns.vote(2, id, Vote::No).unwrap_err();
    assert_eq!((e.error_type, e.error_message.as_str()), (ErrorType::NotAuthorized as i32, "Neuron not eligible to vote on proposal."));
    // Neuron 1's yes makes 65 of 65: adopted at once (with neuron 2 counted, 65 of 100 would
    // be too, but 40 + 25 no longer need it).
    sns.vote(1, id, Vote::Yes).unwrap();
    sns.settle();
    assert_eq!(sns.status(id), ProposalDecisionStatus::Executed);
    // Neuron 1 alone (40 of 65 eligible) is an absolute majority: adopted when submitted.
    let alone = sns.propose(1, motion("alone")).unwrap();
    sns.settle();
    assert_eq!(sns.status(alone), ProposalDecisionStatus::Executed, "40 of 65 is more than half");
}

#[test]
fn only_registered_dapp_canisters_can_be_upgraded() {
    let sns = deploy(false);
    let (t, m) = error_type(sns.propose(1, proposal("Upgrade", upgrade(sns.target, wasm("gnsf_target"), None))));
    assert_eq!(t, ErrorType::InvalidProposal as i32);
    assert!(m.contains("registered with the SNS root"), "{m}");
    let (_, m) = error_type(sns.propose(1, proposal("Not Wasm", upgrade(sns.target, b"hello".to_vec(), None))));
    assert!(m.contains("magic"), "{m}");
    assert!(sns.list(ListProposals::default()).is_empty());
}

#[test]
fn register_dapp_canisters_makes_root_the_only_controller() {
    let sns = deploy(false);
    // Root must already be a controller.
    sns.net.set_controllers(sns.target, None, vec![Principal::anonymous(), sns.root]).unwrap();
    let register = |ids: Vec<Principal>| Action::RegisterDappCanisters(RegisterDappCanisters { canister_ids: ids });
    let id = sns.adopt(proposal("Register", register(vec![sns.target])));
    let p = sns.proposal(id);
    assert_eq!(p.status(), ProposalDecisionStatus::Executed, "{:?}", p.failure_reason);
    assert_eq!(sns.net.get_controllers(sns.target), vec![sns.root]);
    let list = sns.sns_canisters();
    assert_eq!(list.dapps, vec![sns.target]);
    assert_eq!((list.root, list.governance), (Some(sns.root), Some(sns.gov)));
    // Now it can be upgraded.
    let up = sns.adopt(proposal("Upgrade", upgrade(sns.target, wasm("gnsf_target"), Some("registered"))));
    assert_eq!(sns.status(up), ProposalDecisionStatus::Executed, "{:?}", sns.proposal(up).failure_reason);

    // A canister root does not control: the proposal fails, nothing changes.
    let other = sns.net.create_canister();
    let id = sns.adopt(proposal("Register other", register(vec![other])));
    let p = sns.proposal(id);
    assert_eq!(p.status(), ProposalDecisionStatus::Failed);
    assert!(p.failure_reason.unwrap().error_message.contains("not controlled by this SNS root"));
    assert_eq!(sns.net.get_controllers(other), vec![Principal::anonymous()]);
    assert_eq!(sns.sns_canisters().dapps, vec![sns.target]);
    // SNS canisters are refused at submission.
    let (t, _) = error_type(sns.propose(1, proposal("Register root", register(vec![sns.root]))));
    assert_eq!(t, ErrorType::InvalidProposal as i32);
}

#[test]
fn only_governance_may_change_or_register_canisters() {
    let sns = deploy(true);
    let request = platform_types::sns::root::ChangeCanisterRequest {
        arg: EMPTY_CANDID_ARGS.to_vec(),
        wasm_module: wasm("gnsf_target"),
        chunked_canister_wasm: None,
        stop_before_installing: true,
        mode: platform_types::sns::root::CanisterInstallMode::Upgrade,
        canister_id: sns.target,
    };
    let r = sns.net.update_call(sns.root, principal(1), "change_canister", candid::encode_one(&request).unwrap());
    assert!(r.unwrap_err().reject_message.contains("Only the SNS governance canister"));
    let r = sns.net.update_call(
        sns.root,
        principal(1),
        "register_dapp_canisters",
        candid::encode_one(RegisterDappCanistersRequest { canister_ids: vec![sns.target] }).unwrap(),
    );
    assert!(r.unwrap_err().reject_message.contains("Only the SNS governance canister"));
    assert_eq!(sns.info().upgrades, 0);
    assert!(sns.running(sns.target, sns.root));
}

#[test]
fn governance_and_root_keep_their_state_across_their_own_upgrades() {
    let sns = deploy(true);
    sns.add_function();
    let removed = custom_function(1001, sns.target, "set_value_validate");
    sns.adopt(proposal("Add 1001", Action::AddGenericNervousSystemFunction(removed)));
    sns.adopt(proposal("Remove 1001", Action::RemoveGenericNervousSystemFunction(1001)));
    let open = sns.propose(1, proposal("Open", execute(FUNCTION_ID, payload("after-upgrade")))).unwrap();
    let proposals_before = sns.list(ListProposals::default());
    let functions_before = sns.functions();
    let canisters_before = sns.sns_canisters();

    sns.net.upgrade_canister(sns.gov, wasm("sns_governance"), candid::encode_args(()).unwrap(), None).unwrap();
    sns.net.upgrade_canister(sns.root, wasm("sns_root"), candid::encode_args(()).unwrap(), None).unwrap();
    assert_eq!(sns.list(ListProposals::default()), proposals_before);
    assert_eq!(sns.functions(), functions_before);
    assert_eq!(sns.functions().reserved_ids, vec![1001]);
    assert_eq!(sns.sns_canisters(), canisters_before);

    // The open proposal's deadline timer was armed again: it is decided (yes 40, no 0) and runs.
    sns.net.advance_time(Duration::from_secs(PERIOD_SECS + 1));
    sns.net.tick();
    sns.settle();
    assert_eq!(sns.status(open), ProposalDecisionStatus::Executed, "{:?}", sns.proposal(open).failure_reason);
    assert_eq!(sns.info().values, vec!["after-upgrade".to_string()]);
    // New proposals get new ids.
    let next = sns.propose(1, proposal("Next", Action::Motion(Motion { motion_text: "n".into() }))).unwrap();
    assert_eq!(next, open + 1);
}

#[test]
fn list_proposals_pages_newest_first_and_filters() {
    let sns = deploy(false);
    let motion = |t: &str| proposal(t, Action::Motion(Motion { motion_text: t.into() }));
    let a = sns.adopt(motion("a"));
    let b = sns.propose(1, motion("b")).unwrap();
    let c = sns.propose(3, motion("c")).unwrap();
    sns.vote(1, c, Vote::No).unwrap();
    sns.vote(2, c, Vote::No).unwrap();
    let ids = |ps: Vec<ProposalData>| ps.into_iter().map(|p| p.id.unwrap().id).collect::<Vec<_>>();
    assert_eq!(ids(sns.list(ListProposals::default())), vec![c, b, a]);
    assert_eq!(ids(sns.list(ListProposals { limit: 1, ..Default::default() })), vec![c]);
    assert_eq!(
        ids(sns.list(ListProposals { before_proposal: Some(ProposalId { id: c }), ..Default::default() })),
        vec![b, a]
    );
    let status = |s: ProposalDecisionStatus| {
        ids(sns.list(ListProposals { include_status: vec![s as i32], ..Default::default() }))
    };
    assert_eq!(status(ProposalDecisionStatus::Executed), vec![a]);
    assert_eq!(status(ProposalDecisionStatus::Open), vec![b]);
    assert_eq!(status(ProposalDecisionStatus::Rejected), vec![c]);
    // Ballots: only the caller's neurons.
    let (r,): (ListProposalsResponse,) =
        sns.net.query_candid_as(sns.gov, principal(2), "list_proposals", (ListProposals::default(),)).unwrap();
    assert!(r.proposals.iter().all(|p| p.ballots.len() == 1 && p.ballots[0].0 == neuron(2).to_hex()));
    let (mode,): (GetModeResponse,) = sns.net.query_candid(sns.gov, "get_mode", (GetMode {},)).unwrap();
    assert_eq!(mode.mode, Some(governance_modes::NORMAL));
}

fn hex(bytes: &[u8]) -> String {
    to_hex(bytes)
}
