//! ManageDappCanisterSettings through the local SNS (standins, docs/sns-local.md) on localnet, with
//! the platform's staking_hub and learning_content as SNS root's dapp canisters: governance
//! checks the proposal at submission (registered dapps only, well-formed settings) and renders
//! it, root applies each setting given with `update_settings` and leaves the others, and the
//! hub's log visibility set by proposal decides who may read its log with `fetch_canister_logs`
//! (docs/operations.md, "Canister logs"). The SNS can only set `controllers` or `public`: it has
//! no `allowed_viewers`.

use candid::{Nat, Principal};
use integration_tests::sns::{governance_init, initial_neurons, SnsGovernance};
use integration_tests::wasm;
use localnet::management_types::{CanisterSettings, LogVisibility};
use localnet::LocalNet;
use platform_types::sns::root::{ManageDappCanisterSettingsRequest, ManageDappCanisterSettingsResponse, SnsRootCanister};
use platform_types::sns::*;
use platform_types::{ContentInitArgs, RegistrationPolicy};

const VOTING_PERIOD_SECS: u64 = 4 * 86_400;
/// Neurons 1 and 2: neuron 1 proposes, neuron 2's yes makes an absolute majority.
const NEURONS: [(u8, u64); 2] = [(1, 60), (2, 40)];

fn deployer() -> Principal {
    Principal::self_authenticating(b"sns-dapp-settings-deployer")
}

fn neuron_controller(n: u8) -> Principal {
    Principal::self_authenticating([b"sns-dapp-settings-neuron-".as_slice(), &[n]].concat())
}


/// A principal the DAO trusts to read logs (not a controller of anything).
fn operator() -> Principal {
    Principal::self_authenticating(b"sns-dapp-settings-operator")
}

/// The hub's init argument without the optional fields other parts of the platform add (the hub
/// decodes them as none).
#[derive(candid::CandidType)]
struct RequiredHubInit {
    ledger_id: Principal,
    learning_content_id: Principal,
    sns_governance_id: Principal,
    registration_policy: Option<RegistrationPolicy>,
}

struct Dao {
    net: LocalNet,
    gov: Principal,
    root: Principal,
    hub: Principal,
    content: Principal,
}

/// The local SNS, and the hub and learning_content deployed by `deployer()` and then handed to
/// SNS root (their only controller, registered dapps), as `platform up` does.
fn deploy() -> Dao {
    let net = LocalNet::new();
    let mine = Some(CanisterSettings { controllers: Some(vec![deployer()]), ..Default::default() });
    let [gov, root, hub, content] = [(); 4].map(|_| net.create_canister_with_settings(Some(deployer()), mine.clone()));
    let init = governance_init(root, initial_neurons(&NEURONS, neuron_controller), VOTING_PERIOD_SECS);

    net.install_canister(gov, wasm("sns_governance"), candid::encode_one(init).unwrap(), Some(deployer()));
    let init =
        SnsRootCanister { governance_canister_id: Some(gov), dapp_canister_ids: vec![hub, content], ..Default::default() };
    net.install_canister(root, wasm("sns_root"), candid::encode_one(init).unwrap(), Some(deployer()));
    let init = ContentInitArgs { hub_id: hub, sns_governance_id: gov, units: vec![], pass_mark_percent: None };
    net.install_canister(content, wasm("learning_content"), candid::encode_one(init).unwrap(), Some(deployer()));
    let init = RequiredHubInit {
        ledger_id: Principal::from_slice(&[8; 29]),
        learning_content_id: content,
        sns_governance_id: gov,
        registration_policy: Some(RegistrationPolicy::Open),
    };
    net.install_canister(hub, wasm("staking_hub"), candid::encode_one(init).unwrap(), Some(deployer()));
    for c in [hub, content, gov, root] {
        net.set_controllers(c, Some(deployer()), vec![root]).unwrap();
    }
    net.set_controllers(root, Some(root), vec![gov]).unwrap();
    Dao { net, gov, root, hub, content }
}

fn proposal(title: &str, action: Action) -> Proposal {
    Proposal {
        title: title.into(),
        summary: format!("{title}.\n\nSubmitted by the dapp settings tests."),
        url: "https://forum.dfinity.org/t/learnstake".into(),
        action: Some(action),
    }
}

fn settings(canister_ids: Vec<Principal>, log_visibility: Option<LogVisibilityCode>) -> ManageDappCanisterSettings {
    ManageDappCanisterSettings { canister_ids, log_visibility: log_visibility.map(|v| v as i32), ..Default::default() }
}

fn manage(s: ManageDappCanisterSettings) -> Proposal {
    proposal("Change dapp canister settings", Action::ManageDappCanisterSettings(s))
}

impl Dao {
    fn governance(&self) -> SnsGovernance<'_> {
        SnsGovernance { net: &self.net, gov: self.gov }
    }

    /// Neuron 1 proposes.
    fn propose(&self, p: Proposal) -> Result<u64, GovernanceError> {
        self.governance().propose(neuron_controller(1), 1, p)
    }

    /// Neuron 2 votes yes: adopted at once; executed (and root's background work done) once
    /// settled.
    fn accept(&self, id: u64) {
        self.governance().vote(neuron_controller(2), 2, id, Vote::Yes).unwrap();
        self.net.run_until_idle(100_000);
    }

    fn adopt(&self, p: Proposal) -> ProposalData {
        let id = self.propose(p).unwrap();
        self.accept(id);
        self.proposal(id)
    }

    fn proposal(&self, id: u64) -> ProposalData {
        self.governance().proposal(id)
    }

    fn proposal_count(&self) -> usize {
        self.governance().list(ListProposals::default()).len()
    }

    fn settings_of(&self, canister: Principal) -> localnet::management_types::DefiniteCanisterSettings {
        self.net.canister_status(canister, Some(self.root)).unwrap().settings
    }

    /// The canister's log as `who` reads it with `fetch_canister_logs`, or the refusal.
    fn log_as(&self, canister: Principal, who: Principal) -> Result<String, String> {
        self.net
            .fetch_canister_logs(canister, who)
            .map(|records| {
                records.iter().map(|r| String::from_utf8_lossy(&r.content).into_owned()).collect::<Vec<_>>().join("\n")
            })
            .map_err(|e| e.reject_message)
    }
}

fn executed(p: &ProposalData) {
    assert_eq!(p.status(), ProposalDecisionStatus::Executed, "{:?}", p.failure_reason);
}

#[test]
fn a_proposal_opens_the_hubs_log_to_its_readers_and_another_closes_it() {
    let dao = deploy();
    let frozen_before = dao.settings_of(dao.hub).freezing_threshold;
    // An upgrade by proposal: the hub writes it to its log.
    let upgrade = UpgradeSnsControlledCanister {
        new_canister_wasm: wasm("staking_hub"),
        canister_id: Some(dao.hub),
        ..Default::default()
    };
    executed(&dao.adopt(proposal("Upgrade the hub", Action::UpgradeSnsControlledCanister(upgrade))));
    assert!(dao.log_as(dao.hub, dao.root).unwrap().contains("staking_hub: upgraded to the build of commit"));
    // Root is the hub's only controller and the visibility is `controllers`: nobody else reads it.
    assert_eq!(dao.settings_of(dao.hub).log_visibility, LogVisibility::Controllers);
    let refused = dao.log_as(dao.hub, operator()).unwrap_err();
    assert!(refused.contains("not allowed to read the logs"), "{refused}");

    let id = dao.propose(manage(settings(vec![dao.hub], Some(LogVisibilityCode::Public)))).unwrap();
    let p = dao.proposal(id);
    assert_eq!((p.action, p.topic), (native_action_ids::MANAGE_DAPP_CANISTER_SETTINGS, Some(Topic::DappCanisterManagement)));
    let rendering = p.payload_text_rendering.unwrap_or_default();
    assert!(rendering.contains(&dao.hub.to_text()) && rendering.contains("Log visibility: public"), "{rendering}");
    assert!(!rendering.contains(&dao.content.to_text()), "{rendering}");
    dao.accept(id);
    executed(&dao.proposal(id));

    let hub = dao.settings_of(dao.hub);
    assert_eq!(hub.log_visibility, LogVisibility::Public);
    assert_eq!((hub.controllers, hub.freezing_threshold.clone()), (vec![dao.root], frozen_before.clone()), "the rest is unchanged");
    assert_eq!(dao.settings_of(dao.content).log_visibility, LogVisibility::Controllers, "only the canister named");
    let log = dao.log_as(dao.hub, operator()).expect("the operator reads the hub's log");
    assert!(log.contains("staking_hub: upgraded to the build of commit"), "{log}");

    // Back to controllers (both canisters), with a freezing threshold: the operator is refused
    // again and the threshold is set on both.
    let back = ManageDappCanisterSettings {
        freezing_threshold: Some(7_776_000),
        ..settings(vec![dao.hub, dao.content], Some(LogVisibilityCode::Controllers))
    };
    executed(&dao.adopt(manage(back)));
    for canister in [dao.hub, dao.content] {
        let s = dao.settings_of(canister);
        assert_eq!((s.log_visibility, s.freezing_threshold, s.controllers), (LogVisibility::Controllers, Nat::from(7_776_000u64), vec![dao.root]));
    }
    assert!(dao.log_as(dao.hub, operator()).unwrap_err().contains("not allowed to read the logs"));
    assert!(dao.log_as(dao.content, operator()).is_err());
    assert_ne!(frozen_before, Nat::from(7_776_000u64), "the threshold really changed");
}

#[test]
fn a_settings_proposal_naming_a_canister_that_is_not_a_dapp_or_malformed_is_refused_at_submission() {
    let dao = deploy();
    let stranger = dao.net.create_canister();
    let refusal = |s: ManageDappCanisterSettings| {
        let e = dao.propose(manage(s)).expect_err("refused at submission");
        assert_eq!(e.error_type, ErrorType::InvalidProposal as i32, "{}", e.error_message);
        e.error_message
    };
    let public = Some(LogVisibilityCode::Public);
    let m = refusal(settings(vec![dao.hub, stranger], public));
    assert!(m.contains("registered with the SNS root") && m.contains(&stranger.to_text()), "{m}");
    assert!(!m.contains(&dao.hub.to_text()), "only the stranger is named: {m}");
    assert!(refusal(settings(vec![dao.gov], public)).contains("SNS canister"));
    assert!(refusal(settings(vec![], public)).contains("at least one canister"));
    assert!(refusal(settings(vec![dao.hub], None)).contains("at least one setting"));
    assert!(refusal(ManageDappCanisterSettings { log_visibility: Some(3), ..settings(vec![dao.hub], None) }).contains("log_visibility 3"));
    assert!(refusal(ManageDappCanisterSettings { snapshot_visibility: Some(1), ..settings(vec![dao.hub], public) })
        .contains("snapshot_visibility"));
    // Treasury transfers stay refused by name.
    let transfer = TransferSnsTreasuryFunds { from_treasury: 2, amount_e8s: 1, ..Default::default() };
    let e = dao.propose(proposal("Transfer", Action::TransferSnsTreasuryFunds(transfer))).unwrap_err();
    assert!(e.error_message.contains("TransferSnsTreasuryFunds is not supported by the local SNS"), "{}", e.error_message);
    assert_eq!(dao.proposal_count(), 0, "nothing was submitted");
    assert_eq!(dao.settings_of(dao.hub).log_visibility, LogVisibility::Controllers, "nothing changed");
}

#[test]
fn root_takes_settings_requests_from_governance_only_and_answers_a_failure_reason_for_non_dapps() {
    let dao = deploy();
    let request = ManageDappCanisterSettingsRequest {
        canister_ids: vec![dao.hub],
        log_visibility: Some(LogVisibilityCode::Public as i32),
        ..Default::default()
    };
    let r = dao.net.update_call(dao.root, operator(), "manage_dapp_canister_settings", candid::encode_one(&request).unwrap());
    assert!(r.unwrap_err().reject_message.contains("Only the SNS governance canister"));
    assert_eq!(dao.settings_of(dao.hub).log_visibility, LogVisibility::Controllers);

    // As governance: a canister that is not a registered dapp is refused with a failure_reason,
    // and nothing is changed, not even on the dapp named with it.
    let stranger = dao.net.create_canister();
    let with_stranger = ManageDappCanisterSettingsRequest { canister_ids: vec![dao.hub, stranger], ..request.clone() };
    let (r,): (ManageDappCanisterSettingsResponse,) =
        dao.net.update_candid_as(dao.root, dao.gov, "manage_dapp_canister_settings", (with_stranger,)).unwrap();
    let reason = r.failure_reason.expect("refused");
    assert!(reason.contains("not registered dapp canisters") && reason.contains(&stranger.to_text()), "{reason}");
    dao.net.run_until_idle(1_000);
    assert_eq!(dao.settings_of(dao.hub).log_visibility, LogVisibility::Controllers);

    let (r,): (ManageDappCanisterSettingsResponse,) =
        dao.net.update_candid_as(dao.root, dao.gov, "manage_dapp_canister_settings", (request,)).unwrap();
    assert_eq!(r.failure_reason, None);
    dao.net.run_until_idle(1_000);
    assert_eq!(dao.settings_of(dao.hub).log_visibility, LogVisibility::Public);
}
