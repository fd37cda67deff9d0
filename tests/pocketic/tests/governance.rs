//! SNS governance of the platform on a PocketIC instance, set up as
//! `tests/tests/governance.rs` does: the local SNS governance and root (standins) govern
//! staking_hub and learning_content; the custom functions of `sns/custom_functions/*.json`
//! are registered by proposals; a configuration proposal is submitted, voted, adopted and
//! executed, and the hub pushes it to every shard and to learning_content.
//! Written against `pocket_ic` only.

use std::collections::BTreeMap;
use std::time::Duration;

use candid::{encode_one, CandidType, Principal};
use icrc_ledger::types::{FeatureFlags, InitArgs, LedgerArgument};
use icrc_ledger_types::icrc1::account::Account;
use platform_types::sns::root::SnsRootCanister;
use platform_types::sns::*;
use platform_types::*;
use pocket_ic::{query_candid, update_candid_as, CanisterSettings, PocketIc};
use pocketic_tests::{pic, tick_until, ticks, user, wasm};
use serde::Deserialize;

/// Neurons 1, 2, 3 with 40, 35 and 25 voting power: no neuron decides alone.
const NEURONS: [(u8, u64); 3] = [(1, 40), (2, 35), (3, 25)];
const VOTING_PERIOD_SECS: u64 = 4 * 24 * 3_600;
/// The hub's timer period in these tests.
const TICK_SECS: u64 = 10;

fn neuron_controller(n: u8) -> Principal {
    Principal::self_authenticating([b"dao-neuron-".as_slice(), &[n]].concat())
}

fn neuron(n: u8) -> NeuronId {
    NeuronId { id: vec![n; 32] }
}

fn learner(n: u32) -> Principal {
    user(4, n)
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
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sns/custom_functions");
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

fn proposal(title: &str, action: Action) -> Proposal {
    Proposal {
        title: title.into(),
        summary: format!("{title}.\n\nSubmitted by the PocketIC governance tests."),
        url: "https://forum.dfinity.org/t/learnstake".into(),
        action: Some(action),
    }
}

struct Dao {
    pic: PocketIc,
    gov: Principal,
    hub: Principal,
    /// Custom function ids by target method.
    functions: BTreeMap<String, u64>,
}

/// The platform deployed by `deployer()`, handed to SNS root (hub, learning_content; the hub
/// keeps controlling its shards), and every custom function registered by proposal.
fn dao(hard_limit: u64) -> Dao {
    let pic = pic();
    let mine = Some(CanisterSettings { controllers: Some(vec![deployer()]), ..Default::default() });
    let create = || pic.create_canister_with_settings(Some(deployer()), mine.clone());
    let (gov, root, hub, content, ledger) = (create(), create(), create(), create(), create());
    let init = GovernanceInitArgs {
        root_canister_id: root,
        ledger_canister_id: None,
        swap_canister_id: None,
        neurons: NEURONS
            .iter()
            .map(|&(n, voting_power)| InitialNeuron { id: neuron(n).id, controller: neuron_controller(n), voting_power, stake_e8s: None, dissolve_delay_seconds: None })
            .collect(),
        initial_voting_period_seconds: VOTING_PERIOD_SECS,
        reject_cost_e8s: None,
        neuron_minimum_dissolve_delay_to_vote_seconds: None,
        wait_for_quiet_deadline_increase_seconds: None,
    };
    pic.install_canister(gov, wasm("sns_governance"), encode_one(init).unwrap(), Some(deployer()));
    let init = SnsRootCanister { governance_canister_id: Some(gov), dapp_canister_ids: vec![hub, content], ..Default::default() };
    pic.install_canister(root, wasm("sns_root"), encode_one(init).unwrap(), Some(deployer()));
    let unit = |id: &str, key: Vec<u32>| UnitInput {
        unit: Unit {
            id: id.into(),
            subject: "math".into(),
            title: format!("Unit {id}"),
            body: format!("All about {id}."),
            questions: key.iter().map(|_| Question { text: "Q?".into(), options: vec!["a".into(), "b".into(), "c".into()] }).collect(),
        },
        answer_key: key,
    };
    let units = vec![unit("math-1", vec![0, 1, 2]), unit("math-2", vec![2, 2, 2])];
    let init = ContentInitArgs { hub_id: hub, sns_governance_id: gov, units, pass_mark_percent: Some(60) };
    pic.install_canister(content, wasm("learning_content"), encode_one(init).unwrap(), Some(deployer()));
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
    pic.install_canister(ledger, wasm("icrc_ledger"), encode_one(init).unwrap(), Some(deployer()));
    let config = ConfigOverrides {
        shard_soft_limit: Some(hard_limit - 1),
        shard_hard_limit: Some(hard_limit),
        auto_scale_interval_secs: Some(TICK_SECS),
        allowance_chunk_e8s: Some(1_000 * E8S),
        reward_per_quiz_e8s: Some(10 * E8S),
        ..Default::default()
    };
    let init = HubInitArgs { ledger_id: ledger, learning_content_id: content, sns_governance_id: gov, config: Some(config), registration_policy: Some(platform_types::RegistrationPolicy::Open), icp_refill: None };
    pic.install_canister(hub, wasm("staking_hub"), encode_one(init).unwrap(), Some(deployer()));
    for c in [hub, content, ledger, gov, root] {
        pic.set_controllers(c, Some(deployer()), vec![root]).unwrap();
    }
    // Governance and root control each other on a real SNS.
    pic.set_controllers(root, Some(root), vec![gov]).unwrap();
    pic.set_controllers(gov, Some(root), vec![root]).unwrap();
    assert_eq!(pic.get_controllers(hub), vec![root]);

    let mut dao = Dao { pic, gov, hub, functions: BTreeMap::new() };
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
        let id = dao.propose(1, proposal(&format!("Register {}", f.name), Action::AddGenericNervousSystemFunction(function))).unwrap();
        dao.vote(2, id, Vote::Yes);
        dao.settle(id);
        dao.functions.insert(f.target_method.clone(), f.id);
    }
    dao
}

impl Dao {
    fn propose(&self, n: u8, p: Proposal) -> Result<u64, GovernanceError> {
        let (r,): (ManageNeuronResponse,) = update_candid_as(
            &self.pic,
            self.gov,
            neuron_controller(n),
            "manage_neuron",
            (ManageNeuron::make_proposal(&neuron(n), p),),
        )
        .unwrap();
        r.proposal_id().map(|p| p.id)
    }

    fn vote(&self, n: u8, id: u64, vote: Vote) {
        let req = ManageNeuron::register_vote(&neuron(n), ProposalId { id }, vote);
        let (r,): (ManageNeuronResponse,) =
            update_candid_as(&self.pic, self.gov, neuron_controller(n), "manage_neuron", (req,)).unwrap();
        r.vote_result().unwrap();
    }

    fn proposal(&self, id: u64) -> ProposalData {
        let (r,): (GetProposalResponse,) =
            query_candid(&self.pic, self.gov, "get_proposal", (GetProposal { proposal_id: Some(ProposalId { id }) },)).unwrap();
        match r.result {
            Some(GetProposalResult::Proposal(p)) => p,
            other => panic!("get_proposal {id}: {other:?}"),
        }
    }

    /// Rounds until the adopted proposal `id` is executed (its execution runs after the vote).
    fn settle(&self, id: u64) {
        tick_until(&self.pic, 200, &format!("proposal {id} executed"), || {
            self.proposal(id).status() == ProposalDecisionStatus::Executed
        });
    }

    fn submit<A: CandidType>(&self, method: &str, arg: &A) -> Result<u64, GovernanceError> {
        let action = Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction {
            function_id: self.functions[method],
            payload: encode_one(arg).unwrap(),
        });
        self.propose(1, proposal(&format!("Call {method}"), action))
    }

    /// The hub's timer runs once, and what it starts finishes.
    fn hub_tick(&self) {
        self.pic.advance_time(Duration::from_secs(TICK_SECS));
        ticks(&self.pic, 30);
    }

    fn register(&self, who: Principal) -> Principal {
        let (r,): (Result<Principal, RegisterError>,) = update_candid_as(&self.pic, self.hub, who, "register", ()).unwrap();
        r.unwrap()
    }

    fn shards(&self) -> Vec<ShardInfo> {
        query_candid::<_, (Vec<ShardInfo>,)>(&self.pic, self.hub, "list_shards", ()).unwrap().0
    }

    fn config_status(&self) -> ConfigStatus {
        query_candid::<_, (ConfigStatus,)>(&self.pic, self.hub, "get_config_status", ()).unwrap().0
    }

    fn submit_quiz(&self, shard: Principal, who: Principal, unit: &str, answers: Vec<u32>) -> Result<QuizOutcome, ShardError> {
        update_candid_as::<_, (Result<QuizOutcome, ShardError>,)>(&self.pic, shard, who, "submit_quiz", (unit, answers)).unwrap().0
    }
}

#[test]
fn the_custom_functions_are_registered_by_proposals() {
    let d = dao(10);
    let (r,): (ListNervousSystemFunctionsResponse,) = query_candid(&d.pic, d.gov, "list_nervous_system_functions", ()).unwrap();
    for f in function_files() {
        let registered = r.functions.iter().find(|x| x.id == f.id).unwrap_or_else(|| panic!("{} missing", f.id));
        let generic = registered.generic().unwrap();
        assert_eq!(generic.target_method_name.as_deref(), Some(f.target_method.as_str()));
        assert_eq!(generic.validator_method_name.as_deref(), Some(f.validator_method.as_str()));
        assert_eq!(generic.topic, Some(topic(&f.topic)));
    }
    assert_eq!(d.functions.len(), function_files().len());
}

#[test]
fn a_config_proposal_is_voted_executed_and_pushed_to_every_shard() {
    let d = dao(3);
    let learners: Vec<Principal> = (0..6).map(learner).collect();
    for who in &learners {
        d.register(*who);
        d.hub_tick();
    }
    let shards = d.shards();
    assert!(shards.len() >= 2, "{} shards", shards.len());

    // Refused at submission: out of range, or no change at all. No proposal is made.
    let out_of_range = ConfigOverrides { pass_mark_percent: Some(101), ..Default::default() };
    assert!(d.submit("update_config", &out_of_range).unwrap_err().error_message.contains("pass_mark_percent"));
    assert!(d.submit("update_config", &ConfigOverrides::default()).unwrap_err().error_message.contains("changes nothing"));

    // A direct call by a learner or the deployer is refused.
    let change = ConfigOverrides { daily_attempt_limit: Some(2), pass_mark_percent: Some(100), ..Default::default() };
    for who in [learners[0], deployer()] {
        let r = d.pic.update_call(d.hub, who, "update_config", encode_one(&change).unwrap());
        assert!(r.is_err(), "update_config called by {who} was not rejected");
    }

    // Submitted (the validator renders it), voted by 75 % of the voting power, executed.
    let id = d.submit("update_config", &change).unwrap();
    assert_eq!(d.proposal(id).status(), ProposalDecisionStatus::Open);
    d.vote(2, id, Vote::Yes);
    d.settle(id);
    let p = d.proposal(id);
    assert!(p.payload_text_rendering.unwrap().contains("daily_attempt_limit: 5 -> 2"));

    // The hub pushes it to its shards and to learning_content on its timer.
    d.pic.advance_time(Duration::from_secs(TICK_SECS));
    tick_until(&d.pic, 200, "config pushed everywhere", || {
        let s = d.config_status();
        s.version == 1 && s.shards_behind.is_empty() && s.content_version == 1
    });
    assert_eq!(d.config_status().config.daily_attempt_limit, 2);
    for s in &shards {
        let (args,): (ShardInitArgs,) = query_candid(&d.pic, s.id, "get_init_args", ()).unwrap();
        assert_eq!((args.config_version, args.config.daily_attempt_limit), (Some(1), 2));
    }
    // The effect: learning_content grades with the new pass mark, the shards count the new limit.
    let who = learners[0];
    let (shard,): (Option<Principal>,) = query_candid(&d.pic, d.hub, "get_user_shard", (who,)).unwrap();
    let shard = shard.unwrap();
    assert!(!d.submit_quiz(shard, who, "math-1", vec![0, 1, 0]).unwrap().passed, "2 of 3 no longer passes");
    assert!(d.submit_quiz(shard, who, "math-1", vec![0, 1, 2]).unwrap().passed);
    assert_eq!(d.submit_quiz(shard, who, "math-2", vec![2, 2, 2]), Err(ShardError::DailyLimitReached { limit: 2 }));
}
