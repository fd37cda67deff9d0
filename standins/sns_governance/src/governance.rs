//! The governance state and its logic, in plain Rust (no canister API, so it is unit-tested
//! natively): neurons, proposals, ballots, decisions, the custom function registry, and the
//! bookkeeping of executions (whose inter-canister calls `flows` makes).
//!
//! Voting rules (simplified from the real SNS, see `docs/sns-local.md`):
//! * as the real SNS (`make_proposal`): only a neuron whose dissolve delay is at least
//!   `neuron_minimum_dissolve_delay_to_vote_seconds` may propose, and only if its stake (minus
//!   its fees) is at least `reject_cost_e8s`; the fee is charged at submission
//!   (`neuron_fees_e8s`) and given back when the proposal is adopted;
//! * every neuron with at least the minimum dissolve delay gets a ballot with its fixed voting
//!   power when a proposal is made (the others get none and are not in the total); the
//!   proposer's neuron votes yes at once;
//! * thresholds by topic criticality, as the real SNS (`proposal_criticality`): proposals on a
//!   critical topic (DaoCommunitySettings, TreasuryAssetManagement, CriticalDappOperations)
//!   need yes >= 20 % of the total voting power and > 67 % of the votes cast; the others (and a
//!   custom function with no topic) 3 % and > 50 %;
//! * a proposal is decided early as soon as yes is more than the exercised threshold of all the
//!   voting power (adopted) or no is at least the rest of it (rejected);
//! * otherwise at its deadline, by both thresholds on the votes cast;
//! * voting periods as the real SNS (`Action::voting_duration_parameters`): a normal proposal is
//!   open `initial_voting_period_seconds` with the wait-for-quiet increase parameter (default
//!   1 day); a critical one at least 5 days with at least 2.5 days;
//! * wait-for-quiet as the real SNS (`ProposalData::evaluate_wait_for_quiet`): a vote that turns
//!   the result (yes > no becomes yes <= no, or back) before any absolute majority moves the
//!   deadline to `now + W + (initial - elapsed) / 2` if that is later, so at most
//!   `initial + 2 W` after creation;
//! * no following, no rewards; a neuron's voting power is fixed (its stake and fees do not
//!   change it) and it never dissolves.

use crate::validation::{self, Functions};
use candid::{CandidType, Principal};
use platform_types::sns::root::{self as sns_root, ChangeCanisterRequest};
use platform_types::sns::*;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// ExecuteGenericNervousSystemFunction payloads above this size are left out of
/// `list_proposals` (`get_proposal` has them), like Wasm modules.
pub const LIST_PAYLOAD_LIMIT_BYTES: usize = 1_000;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Governance {
    pub governance_id: Principal,
    pub root: Principal,
    pub ledger: Option<Principal>,
    pub swap: Option<Principal>,
    pub initial_voting_period_seconds: u64,
    pub genesis_timestamp_seconds: u64,
    /// Sorted by id.
    pub neurons: Vec<InitialNeuron>,
    pub proposals: BTreeMap<u64, ProposalData>,
    pub next_proposal_id: u64,
    pub functions: Functions,
    /// The upgrade proposal being executed, if any (one at a time).
    pub upgrade_in_progress: Option<u64>,
    /// Adopted proposals whose execution has started and not finished.
    pub executing: BTreeSet<u64>,
    /// The nervous system parameters (`opt`: state saved by an earlier version has none; the
    /// accessors then take the defaults).
    pub reject_cost_e8s: Option<u64>,
    pub neuron_minimum_dissolve_delay_to_vote_seconds: Option<u64>,
    pub wait_for_quiet_deadline_increase_seconds: Option<u64>,
}

/// What a submission still needs after the checks governance makes by itself.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// Nothing: `Submission::rendering` is final.
    None,
    /// Call the custom function's validator with the payload; its `Ok` text goes into the
    /// rendering (`validation::render_execute`).
    Validator { canister: Principal, method: String, payload: Vec<u8>, function: NervousSystemFunction },
    /// Ask root whether the canisters are registered dapp canisters (`action` names the action
    /// in the refusal).
    RegisteredDapps { action: &'static str, canisters: Vec<Principal> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub rendering: String,
    pub check: Check,
}

/// How an adopted proposal is executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Execution {
    /// Executed (or failed) already, without any call.
    Finished,
    /// Call the custom function's target with the payload; any reply counts as success.
    CallTarget { canister: Principal, method: String, payload: Vec<u8> },
    /// Check with root that the target is a registered dapp, then root's `change_canister`.
    Upgrade(ChangeCanisterRequest),
    /// Root's `register_dapp_canisters`.
    RegisterDapps(Vec<Principal>),
    /// Root's `manage_dapp_canister_settings`; a `failure_reason` in its reply fails the proposal.
    ManageDappSettings(sns_root::ManageDappCanisterSettingsRequest),
}

fn err(t: ErrorType, m: impl Into<String>) -> GovernanceError {
    GovernanceError::new(t, m)
}

fn invalid(m: impl Into<String>) -> GovernanceError {
    err(ErrorType::InvalidProposal, format!("Invalid proposal: {}", m.into()))
}

/// The refusal of TransferSnsTreasuryFunds, which the real SNS has and the local one does not
/// execute (it has no treasury).
fn unsupported_by_local_sns() -> String {
    "TransferSnsTreasuryFunds is not supported by the local SNS (it has no treasury); the real SNS executes it".into()
}

impl Governance {
    /// Validates the init argument: at least one neuron, distinct non-empty ids, positive voting
    /// power, a voting period and a wait-for-quiet increase of at least one second, and at
    /// least one neuron with the minimum dissolve delay to vote.
    pub fn new(init: GovernanceInitArgs, governance_id: Principal, now: u64) -> Result<Self, String> {
        use platform_types::sns::local_sns_defaults as defaults;
        if init.neurons.is_empty() {
            return Err("at least one neuron is needed".into());
        }
        if init.initial_voting_period_seconds == 0 {
            return Err("initial_voting_period_seconds must be at least 1".into());
        }
        let wait_for_quiet = init
            .wait_for_quiet_deadline_increase_seconds
            .unwrap_or(defaults::WAIT_FOR_QUIET_DEADLINE_INCREASE_SECONDS);
        if wait_for_quiet == 0 {
            return Err("wait_for_quiet_deadline_increase_seconds must be at least 1".into());
        }
        let min_dissolve_delay = init
            .neuron_minimum_dissolve_delay_to_vote_seconds
            .unwrap_or(defaults::NEURON_MINIMUM_DISSOLVE_DELAY_TO_VOTE_SECONDS);
        if !init.neurons.iter().any(|n| n.dissolve_delay_seconds() >= min_dissolve_delay) {
            return Err(format!(
                "no neuron has the minimum dissolve delay to vote ({min_dissolve_delay} s): nobody could propose or vote"
            ));
        }
        let mut neurons = init.neurons;
        neurons.sort_by(|a, b| a.id.cmp(&b.id));
        for (i, n) in neurons.iter().enumerate() {
            if n.id.is_empty() {
                return Err("neuron ids must not be empty".into());
            }
            if n.voting_power == 0 {
                return Err(format!("neuron {} has no voting power", to_hex(&n.id)));
            }
            if i > 0 && neurons[i - 1].id == n.id {
                return Err(format!("neuron id {} is used twice", to_hex(&n.id)));
            }
        }
        if neurons.iter().try_fold(0u64, |sum, n| sum.checked_add(n.voting_power)).is_none() {
            return Err("the total voting power does not fit in 64 bits".into());
        }
        Ok(Governance {
            governance_id,
            root: init.root_canister_id,
            ledger: init.ledger_canister_id,
            swap: init.swap_canister_id,
            initial_voting_period_seconds: init.initial_voting_period_seconds,
            genesis_timestamp_seconds: now,
            neurons,
            proposals: BTreeMap::new(),
            next_proposal_id: 1,
            functions: Functions::new(),
            upgrade_in_progress: None,
            executing: BTreeSet::new(),
            reject_cost_e8s: Some(init.reject_cost_e8s.unwrap_or(defaults::REJECT_COST_E8S)),
            neuron_minimum_dissolve_delay_to_vote_seconds: Some(min_dissolve_delay),
            wait_for_quiet_deadline_increase_seconds: Some(wait_for_quiet),
        })
    }

    /// The parameters in force (`get_nervous_system_parameters`).
    pub fn parameters(&self) -> NervousSystemParameters {
        use platform_types::sns::local_sns_defaults as defaults;
        NervousSystemParameters {
            reject_cost_e8s: Some(self.reject_cost_e8s.unwrap_or(defaults::REJECT_COST_E8S)),
            initial_voting_period_seconds: Some(self.initial_voting_period_seconds),
            wait_for_quiet_deadline_increase_seconds: Some(
                self.wait_for_quiet_deadline_increase_seconds
                    .unwrap_or(defaults::WAIT_FOR_QUIET_DEADLINE_INCREASE_SECONDS),
            ),
            neuron_minimum_dissolve_delay_to_vote_seconds: Some(
                self.neuron_minimum_dissolve_delay_to_vote_seconds
                    .unwrap_or(defaults::NEURON_MINIMUM_DISSOLVE_DELAY_TO_VOTE_SECONDS),
            ),
        }
    }

    fn reject_cost(&self) -> u64 {
        self.parameters().reject_cost_e8s.unwrap_or_default()
    }

    fn min_dissolve_delay_to_vote(&self) -> u64 {
        self.parameters().neuron_minimum_dissolve_delay_to_vote_seconds.unwrap_or_default()
    }

    /// Whether a neuron may vote (and gets a ballot): its dissolve delay is at least the minimum.
    fn eligible_to_vote(&self, n: &InitialNeuron) -> bool {
        n.dissolve_delay_seconds() >= self.min_dissolve_delay_to_vote()
    }

    /// The rejection fees a neuron owes: as on the real SNS, each proposal charges
    /// `reject_cost_e8s` at submission and gives it back when adopted, so the fees are those of
    /// its proposals that are open or were not adopted (proposals are never purged here).
    pub fn neuron_fees_e8s(&self, neuron: &[u8]) -> u64 {
        self.proposals
            .values()
            .filter(|p| p.proposer.as_ref().is_some_and(|id| id.id == neuron))
            .filter(|p| p.decided_timestamp_seconds == 0 || !p.is_accepted())
            .map(|p| p.reject_cost_e8s)
            .fold(0, u64::saturating_add)
    }

    /// The real SNS's `stake_e8s`: the cached stake minus the fees.
    pub fn neuron_stake_e8s(&self, n: &InitialNeuron) -> u64 {
        n.stake_e8s().saturating_sub(self.neuron_fees_e8s(&n.id))
    }

    /// The checks of the real `make_proposal` on the proposer (after `authorize`): the minimum
    /// dissolve delay to vote, and a stake of at least the rejection fee.
    pub fn check_proposer(&self, proposer: &NeuronId) -> Result<(), GovernanceError> {
        let n = self
            .neuron(&proposer.id)
            .ok_or_else(|| err(ErrorType::NotFound, format!("No neuron for given NeuronId {proposer}.")))?;
        let (delay, min) = (n.dissolve_delay_seconds(), self.min_dissolve_delay_to_vote());
        if delay < min {
            return Err(err(
                ErrorType::PreconditionFailed,
                format!("The proposer's dissolve delay {delay} is less than the minimum required dissolve delay of {min}"),
            ));
        }
        if self.neuron_stake_e8s(n) < self.reject_cost() {
            return Err(err(ErrorType::PreconditionFailed, "Neuron doesn't have enough stake to submit proposal."));
        }
        Ok(())
    }

    /// Canisters custom functions may not call, and that are not dapp canisters. The real SNS
    /// also reserves the NNS ledger (`NNS_LEDGER_CANISTER_ID`); this one does not, since on
    /// localnet that id is an ordinary canister (ids are given out from the start of the range).
    pub fn reserved_canisters(&self) -> Vec<Principal> {
        let mut v = vec![self.governance_id, self.root, Principal::management_canister()];
        v.extend(self.ledger);
        v.extend(self.swap);
        v
    }

    fn neuron(&self, id: &[u8]) -> Option<&InitialNeuron> {
        self.neurons.binary_search_by(|n| n.id.as_slice().cmp(id)).ok().map(|i| &self.neurons[i])
    }

    /// The neuron `subaccount` names, if `caller` controls it.
    pub fn authorize(&self, caller: Principal, subaccount: &[u8]) -> Result<NeuronId, GovernanceError> {
        let id = NeuronId { id: subaccount.to_vec() };
        let n = self
            .neuron(subaccount)
            .ok_or_else(|| err(ErrorType::NotFound, format!("No neuron for given NeuronId {id}.")))?;
        if n.controller != caller {
            return Err(err(
                ErrorType::NotAuthorized,
                format!("Caller {caller} is not authorized to use neuron {id}: only its controller may."),
            ));
        }
        Ok(id)
    }

    /// The checks of a submission that need no call, and what is left to check by calls.
    pub fn prepare(&self, p: &Proposal) -> Result<Submission, GovernanceError> {
        validation::validate_text(p).map_err(invalid)?;
        let ready = |rendering| Submission { rendering, check: Check::None };
        let action = p
            .action
            .as_ref()
            .ok_or_else(|| invalid("the proposal has no action (or one this governance does not support)"))?;
        Ok(match action {
            Action::Unspecified(_) => return Err(invalid("the action is Unspecified")),
            Action::Motion(m) => ready(validation::validate_motion(m).map_err(invalid)?),
            Action::AddGenericNervousSystemFunction(f) => ready(
                validation::validate_add_function(f, &self.functions, &self.reserved_canisters()).map_err(invalid)?,
            ),
            Action::RemoveGenericNervousSystemFunction(id) => {
                ready(validation::validate_remove_function(*id, &self.functions).map_err(invalid)?)
            }
            Action::ExecuteGenericNervousSystemFunction(e) => {
                let f = validation::custom_function(e.function_id, &self.functions).map_err(invalid)?;
                let (canister, method) =
                    validation::validator_of(f).ok_or_else(|| invalid("the function has no validator"))?;
                Submission {
                    rendering: String::new(),
                    check: Check::Validator { canister, method, payload: e.payload.clone(), function: f.clone() },
                }
            }
            Action::UpgradeSnsControlledCanister(u) => {
                let (canister, rendering) = validation::validate_upgrade(u).map_err(invalid)?;
                Submission {
                    rendering,
                    check: Check::RegisteredDapps { action: "UpgradeSnsControlledCanister", canisters: vec![canister] },
                }
            }
            Action::RegisterDappCanisters(r) => {
                ready(validation::validate_register_dapps(r, &self.reserved_canisters()).map_err(invalid)?)
            }
            Action::ManageDappCanisterSettings(m) => {
                let (request, rendering) =
                    validation::validate_manage_dapp_settings(m, &self.reserved_canisters()).map_err(invalid)?;
                Submission {
                    rendering,
                    check: Check::RegisteredDapps { action: "ManageDappCanisterSettings", canisters: request.canister_ids },
                }
            }
            // The local SNS has no treasury (docs/sns-local.md).
            Action::TransferSnsTreasuryFunds(_) => return Err(invalid(unsupported_by_local_sns())),
        })
    }

    /// Creates the proposal after its checks passed (they are made again, since the state may
    /// have changed while the validator or root was called). The proposer votes yes.
    pub fn create_proposal(
        &mut self,
        proposer: &NeuronId,
        proposal: Proposal,
        rendering: String,
        now: u64,
    ) -> Result<ProposalId, GovernanceError> {
        self.prepare(&proposal)?;
        self.check_proposer(proposer)?;
        let action = proposal.action.as_ref().expect("prepare checked the action");
        let topic = match action {
            Action::ExecuteGenericNervousSystemFunction(e) => {
                validation::custom_function(e.function_id, &self.functions).ok().and_then(|f| f.generic()?.topic)
            }
            a => a.native_topic(),
        };
        let thresholds = Thresholds::of_topic(topic);
        let wait_for_quiet = self.parameters().wait_for_quiet_deadline_increase_seconds.unwrap_or_default();
        let durations = VotingDurations::of_topic(topic, self.initial_voting_period_seconds, wait_for_quiet);
        let id = self.next_proposal_id;
        self.next_proposal_id += 1;
        let proposer_hex = proposer.to_hex();
        let ballots: Vec<(String, Ballot)> = self
            .neurons
            .iter()
            .filter(|n| self.eligible_to_vote(n))
            .map(|n| {
                let key = to_hex(&n.id);
                let voted = key == proposer_hex;
                let ballot = Ballot {
                    vote: if voted { Vote::Yes as i32 } else { Vote::Unspecified as i32 },
                    cast_timestamp_seconds: if voted { now } else { 0 },
                    voting_power: n.voting_power,
                };
                (key, ballot)
            })
            .collect();
        let tally = tally_of(&ballots, now);
        self.proposals.insert(
            id,
            ProposalData {
                id: Some(ProposalId { id }),
                payload_text_rendering: Some(rendering),
                action: action.action_id(),
                failure_reason: None,
                ballots,
                minimum_yes_proportion_of_total: Some(Percentage { basis_points: Some(thresholds.of_total_bp) }),
                minimum_yes_proportion_of_exercised: Some(Percentage {
                    basis_points: Some(thresholds.of_exercised_bp),
                }),
                reward_event_round: 0,
                failed_timestamp_seconds: 0,
                reward_event_end_timestamp_seconds: None,
                proposal_creation_timestamp_seconds: now,
                initial_voting_period_seconds: durations.initial_voting_period_seconds,
                reject_cost_e8s: self.reject_cost(),
                latest_tally: Some(tally),
                wait_for_quiet_deadline_increase_seconds: durations.wait_for_quiet_deadline_increase_seconds,
                decided_timestamp_seconds: 0,
                proposal: Some(proposal),
                proposer: Some(proposer.clone()),
                wait_for_quiet_state: Some(WaitForQuietState {
                    current_deadline_timestamp_seconds: now.saturating_add(durations.initial_voting_period_seconds),
                }),
                is_eligible_for_rewards: false,
                executed_timestamp_seconds: 0,
                topic,
            },
        );
        Ok(ProposalId { id })
    }

    /// Records a neuron's vote. Votes are accepted until the deadline, also on a proposal
    /// already decided (as on the real SNS), but then they no longer change the tally.
    pub fn register_vote(
        &mut self,
        caller: Principal,
        subaccount: &[u8],
        v: &RegisterVote,
        now: u64,
    ) -> Result<(), GovernanceError> {
        let neuron = self.authorize(caller, subaccount)?;
        let pid =
            v.proposal.ok_or_else(|| err(ErrorType::InvalidCommand, "RegisterVote must specify a proposal id"))?;
        let vote = match Vote::from_i32(v.vote) {
            Some(Vote::Yes) => Vote::Yes,
            Some(Vote::No) => Vote::No,
            _ => return Err(err(ErrorType::InvalidCommand, format!("Invalid vote {} (1 yes, 2 no)", v.vote))),
        };
        let p = self
            .proposals
            .get_mut(&pid.id)
            .ok_or_else(|| err(ErrorType::NotFound, format!("No proposal with id {}", pid.id)))?;
        if now >= p.deadline_timestamp_seconds() {
            return Err(err(
                ErrorType::PreconditionFailed,
                format!("Proposal {} is no longer accepting votes", pid.id),
            ));
        }
        let key = neuron.to_hex();
        let ballot = p
            .ballots
            .iter_mut()
            .find(|(k, _)| *k == key)
            .map(|(_, b)| b)
            .ok_or_else(|| err(ErrorType::NotAuthorized, "Neuron not eligible to vote on proposal."))?;
        if ballot.vote != Vote::Unspecified as i32 {
            return Err(err(ErrorType::PreconditionFailed, "Neuron already voted on proposal."));
        }
        ballot.vote = vote as i32;
        ballot.cast_timestamp_seconds = now;
        Ok(())
    }

    /// Updates the tallies of the open proposals and decides those that can be decided. Returns
    /// the ids of the proposals adopted now, oldest first: the caller executes them.
    pub fn process(&mut self, now: u64) -> Vec<u64> {
        let mut adopted = Vec::new();
        for (id, p) in self.proposals.iter_mut().filter(|(_, p)| p.decided_timestamp_seconds == 0) {
            let tally = tally_of(&p.ballots, now);
            if let Some(old) = p.latest_tally {
                if (old.yes, old.no, old.total) != (tally.yes, tally.no, tally.total) {
                    evaluate_wait_for_quiet(p, now, &old, &tally);
                }
            }
            p.latest_tally = Some(tally);
            let thresholds = Thresholds::of_proposal(p);
            if let Some(accepted) = decision(&tally, now >= p.deadline_timestamp_seconds(), thresholds) {
                p.decided_timestamp_seconds = now.max(1);
                if accepted {
                    adopted.push(*id);
                }
            }
        }
        adopted
    }

    /// The deadline of a proposal still open.
    pub fn open_deadline(&self, id: u64) -> Option<u64> {
        self.proposals.get(&id).filter(|p| p.decided_timestamp_seconds == 0).map(|p| p.deadline_timestamp_seconds())
    }

    /// The deadlines of the open proposals (for the timers).
    pub fn open_deadlines(&self) -> Vec<u64> {
        self.proposals
            .values()
            .filter(|p| p.decided_timestamp_seconds == 0)
            .map(|p| p.deadline_timestamp_seconds())
            .collect()
    }

    /// Starts executing an adopted proposal: what needs no call is done here; what needs calls
    /// is returned (and must be completed with [`finish_execution`](Self::finish_execution)).
    pub fn begin_execution(&mut self, id: u64, now: u64) -> Execution {
        let Some(p) = self.proposals.get(&id) else { return Execution::Finished };
        if p.status() != ProposalDecisionStatus::Adopted || self.executing.contains(&id) {
            return Execution::Finished;
        }
        let Some(action) = p.proposal.as_ref().and_then(|p| p.action.clone()) else {
            self.finish_execution(id, Err(err(ErrorType::InconsistentInternalData, "The proposal has no action")), now);
            return Execution::Finished;
        };
        self.executing.insert(id);
        let done = |g: &mut Self, r| {
            g.finish_execution(id, r, now);
            Execution::Finished
        };
        match action {
            Action::Unspecified(_) => done(self, Err(invalid("the action is Unspecified"))),
            Action::Motion(_) => done(self, Ok(())),
            Action::AddGenericNervousSystemFunction(f) => {
                let r =
                    validation::validate_add_function(&f, &self.functions, &self.reserved_canisters()).map_err(invalid);
                if r.is_ok() {
                    self.functions.insert(f.id, Some(f));
                }
                done(self, r.map(|_| ()))
            }
            Action::RemoveGenericNervousSystemFunction(fid) => {
                let r = validation::validate_remove_function(fid, &self.functions).map_err(invalid);
                if r.is_ok() {
                    self.functions.insert(fid, None);
                }
                done(self, r.map(|_| ()))
            }
            Action::ExecuteGenericNervousSystemFunction(e) => {
                match validation::custom_function(e.function_id, &self.functions).ok().and_then(validation::target_of) {
                    Some((canister, method)) => Execution::CallTarget { canister, method, payload: e.payload },
                    None => done(
                        self,
                        Err(err(
                            ErrorType::PreconditionFailed,
                            format!("There is no generic NervousSystemFunction with id: {}", e.function_id),
                        )),
                    ),
                }
            }
            Action::UpgradeSnsControlledCanister(u) => {
                if let Some(other) = self.upgrade_in_progress {
                    return done(
                        self,
                        Err(err(
                            ErrorType::PreconditionFailed,
                            format!("Another upgrade (proposal {other}) is in progress"),
                        )),
                    );
                }
                match change_canister_request(&u) {
                    Ok(request) => {
                        self.upgrade_in_progress = Some(id);
                        Execution::Upgrade(request)
                    }
                    Err(e) => done(self, Err(invalid(e))),
                }
            }
            Action::RegisterDappCanisters(r) => Execution::RegisterDapps(r.canister_ids),
            // Checked again: the reserved canisters are fixed, but this keeps execution honest
            // for a proposal stored by another version. Root checks the dapps.
            Action::ManageDappCanisterSettings(m) => {
                match validation::validate_manage_dapp_settings(&m, &self.reserved_canisters()) {
                    Ok((request, _)) => Execution::ManageDappSettings(request),
                    Err(e) => done(self, Err(invalid(e))),
                }
            }
            // Refused at submission; only reachable from a proposal stored by another version.
            Action::TransferSnsTreasuryFunds(_) => done(self, Err(invalid(unsupported_by_local_sns()))),
        }
    }

    /// Records the outcome of an execution.
    pub fn finish_execution(&mut self, id: u64, result: Result<(), GovernanceError>, now: u64) {
        self.executing.remove(&id);
        if self.upgrade_in_progress == Some(id) {
            self.upgrade_in_progress = None;
        }
        let Some(p) = self.proposals.get_mut(&id) else { return };
        match result {
            Ok(()) => p.executed_timestamp_seconds = now.max(1),
            Err(e) => {
                p.failed_timestamp_seconds = now.max(1);
                p.failure_reason = Some(e);
            }
        }
    }

    /// After an upgrade of this canister: executions that were under way can no longer report
    /// their outcome, so they are marked failed.
    pub fn interrupt_executions(&mut self, now: u64) {
        for id in std::mem::take(&mut self.executing) {
            self.finish_execution(
                id,
                Err(err(ErrorType::External, "The execution was interrupted by an upgrade of the governance canister")),
                now,
            );
        }
        self.upgrade_in_progress = None;
    }

    // ------------------------------------------------------------------ queries

    pub fn get_proposal(&self, req: &GetProposal) -> GetProposalResponse {
        let result = match req.proposal_id.and_then(|id| self.proposals.get(&id.id)) {
            Some(p) => GetProposalResult::Proposal(p.clone()),
            None => GetProposalResult::Error(err(
                ErrorType::NotFound,
                format!("No proposal for given ProposalId {:?}", req.proposal_id.map(|p| p.id)),
            )),
        };
        GetProposalResponse { result: Some(result) }
    }

    /// Newest first, filtered; ballots of the caller's neurons only; Wasm modules and large
    /// custom payloads left out.
    pub fn list_proposals(&self, req: &ListProposals, caller: Principal) -> ListProposalsResponse {
        let limit = list_limit(req.limit);
        let before = req.before_proposal.map_or(u64::MAX, |p| p.id);
        let mine: BTreeSet<String> =
            self.neurons.iter().filter(|n| n.controller == caller).map(|n| to_hex(&n.id)).collect();
        let proposals = self
            .proposals
            .range(..before)
            .rev()
            .map(|(_, p)| p)
            .filter(|p| req.include_status.is_empty() || req.include_status.contains(&(p.status() as i32)))
            .filter(|p| !req.exclude_type.contains(&p.action))
            .filter(|p| req.include_topics.as_ref().is_none_or(|ts| ts.iter().any(|t| t.topic == p.topic)))
            .take(limit)
            .map(|p| {
                let mut p = p.clone();
                p.ballots.retain(|(k, _)| mine.contains(k));
                limit_for_list(&mut p);
                p
            })
            .collect();
        ListProposalsResponse { include_ballots_by_caller: Some(true), include_topic_filtering: Some(true), proposals }
    }

    /// The native functions this governance supports, the custom functions, and the ids of the
    /// removed ones.
    pub fn list_functions(&self) -> ListNervousSystemFunctionsResponse {
        let mut functions = native_functions();
        let mut reserved_ids = Vec::new();
        for (id, f) in &self.functions {
            match f {
                Some(f) => functions.push(f.clone()),
                None => reserved_ids.push(*id),
            }
        }
        ListNervousSystemFunctionsResponse { reserved_ids, functions }
    }

    pub fn list_neurons(&self, req: &ListNeurons) -> ListNeuronsResponse {
        let start = req.start_page_at.as_ref().map(|n| n.id.clone());
        let neurons = self
            .neurons
            .iter()
            .filter(|n| start.as_ref().is_none_or(|s| n.id > *s))
            .filter(|n| req.of_principal.is_none_or(|p| p == n.controller))
            .take(list_limit(req.limit))
            .map(|n| self.neuron_view(n))
            .collect();
        ListNeuronsResponse { neurons }
    }

    pub fn get_neuron(&self, req: &GetNeuron) -> GetNeuronResponse {
        let result = match req.neuron_id.as_ref().and_then(|id| self.neuron(&id.id)) {
            Some(n) => GetNeuronResult::Neuron(self.neuron_view(n)),
            None => GetNeuronResult::Error(err(ErrorType::NotFound, "No neuron for given NeuronId.")),
        };
        GetNeuronResponse { result: Some(result) }
    }

    /// A neuron as the real SNS shows it: its stake, its fees, its (fixed, not dissolving)
    /// dissolve delay; its controller may submit proposals and vote.
    fn neuron_view(&self, n: &InitialNeuron) -> Neuron {
        Neuron {
            id: Some(NeuronId { id: n.id.clone() }),
            permissions: vec![NeuronPermission {
                principal: Some(n.controller),
                permission_type: vec![neuron_permission_types::SUBMIT_PROPOSAL, neuron_permission_types::VOTE],
            }],
            cached_neuron_stake_e8s: n.stake_e8s(),
            neuron_fees_e8s: self.neuron_fees_e8s(&n.id),
            dissolve_state: Some(DissolveState::DissolveDelaySeconds(n.dissolve_delay_seconds())),
            created_timestamp_seconds: self.genesis_timestamp_seconds,
            aging_since_timestamp_seconds: self.genesis_timestamp_seconds,
            voting_power_percentage_multiplier: 100,
            ..Default::default()
        }
    }
}

/// The tally of ballots.
pub fn tally_of(ballots: &[(String, Ballot)], now: u64) -> Tally {
    let mut t = Tally { timestamp_seconds: now, ..Default::default() };
    for (_, b) in ballots {
        t.total += b.voting_power;
        match Vote::from_i32(b.vote) {
            Some(Vote::Yes) => t.yes += b.voting_power,
            Some(Vote::No) => t.no += b.voting_power,
            _ => {}
        }
    }
    t
}

/// Voting power thresholds of a proposal, in basis points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Yes must be at least this share of the total voting power ...
    pub of_total_bp: u64,
    /// ... and more than this share of the votes cast.
    pub of_exercised_bp: u64,
}

impl Thresholds {
    pub const NORMAL: Thresholds = Thresholds { of_total_bp: 300, of_exercised_bp: 5_000 };
    pub const CRITICAL: Thresholds = Thresholds { of_total_bp: 2_000, of_exercised_bp: 6_700 };

    /// A critical topic needs the critical thresholds; any other, or none, the normal ones.
    pub fn of_topic(topic: Option<Topic>) -> Thresholds {
        if topic.is_some_and(Topic::is_critical) {
            Thresholds::CRITICAL
        } else {
            Thresholds::NORMAL
        }
    }

    /// The thresholds recorded in the proposal when it was made.
    fn of_proposal(p: &ProposalData) -> Thresholds {
        let bp = |x: Option<Percentage>, default| x.and_then(|x| x.basis_points).unwrap_or(default);
        Thresholds {
            of_total_bp: bp(p.minimum_yes_proportion_of_total, DEFAULT_MIN_YES_OF_TOTAL_BASIS_POINTS),
            of_exercised_bp: bp(p.minimum_yes_proportion_of_exercised, DEFAULT_MIN_YES_OF_EXERCISED_BASIS_POINTS),
        }
    }
}

/// The voting period of a proposal and its wait-for-quiet increase, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VotingDurations {
    pub initial_voting_period_seconds: u64,
    pub wait_for_quiet_deadline_increase_seconds: u64,
}

/// Lower bounds for critical proposals (the real `voting_duration_parameters`).
pub const CRITICAL_MIN_INITIAL_VOTING_PERIOD_SECONDS: u64 = 5 * 86_400;
pub const CRITICAL_MIN_WAIT_FOR_QUIET_DEADLINE_INCREASE_SECONDS: u64 = 5 * 86_400 / 2;

impl VotingDurations {
    /// A critical topic gets at least 5 days and a wait-for-quiet increase of at least 2.5
    /// days; any other, or none, the configured period and increase.
    pub fn of_topic(
        topic: Option<Topic>,
        initial_voting_period_seconds: u64,
        wait_for_quiet_deadline_increase_seconds: u64,
    ) -> VotingDurations {
        let normal = VotingDurations { initial_voting_period_seconds, wait_for_quiet_deadline_increase_seconds };
        if topic.is_some_and(Topic::is_critical) {
            VotingDurations {
                initial_voting_period_seconds: initial_voting_period_seconds
                    .max(CRITICAL_MIN_INITIAL_VOTING_PERIOD_SECONDS),
                wait_for_quiet_deadline_increase_seconds: normal
                    .wait_for_quiet_deadline_increase_seconds
                    .max(CRITICAL_MIN_WAIT_FOR_QUIET_DEADLINE_INCREASE_SECONDS),
            }
        } else {
            normal
        }
    }
}

/// Wait-for-quiet, as the real SNS: when a vote turns the result (yes > no becomes yes <= no,
/// or back) while no absolute majority has decided and the deadline has not passed, the deadline
/// moves to `now + W + (initial - elapsed) / 2` if that is later (W: the proposal's
/// wait-for-quiet increase). The margin shrinks with time, so the deadline never passes
/// `creation + initial + 2 W`.
pub fn evaluate_wait_for_quiet(p: &mut ProposalData, now: u64, old: &Tally, new: &Tally) {
    let current_deadline = p.deadline_timestamp_seconds();
    let decided_by_majority = new.yes > new.total / 2 || new.no >= new.total.div_ceil(2);
    if decided_by_majority || now > current_deadline {
        return;
    }
    let turned = (old.yes > old.no) != (new.yes > new.no);
    if !turned {
        return;
    }
    let elapsed = now.saturating_sub(p.proposal_creation_timestamp_seconds);
    let required_margin = p
        .wait_for_quiet_deadline_increase_seconds
        .saturating_add(p.initial_voting_period_seconds / 2)
        .saturating_sub(elapsed / 2);
    let new_deadline = current_deadline.max(now.saturating_add(required_margin));
    p.wait_for_quiet_state = Some(WaitForQuietState { current_deadline_timestamp_seconds: new_deadline });
}

/// `Some(adopted)` once a proposal can be decided. Early: adopted when yes is more than the
/// exercised threshold of all the voting power, rejected when no is at least the rest of it.
/// At the deadline: adopted when yes is at least the total threshold of all the voting power and
/// more than the exercised threshold of the votes cast.
pub fn decision(t: &Tally, deadline_passed: bool, th: Thresholds) -> Option<bool> {
    let (yes, no, total) = (t.yes as u128, t.no as u128, t.total as u128);
    let (of_total, of_exercised) = (th.of_total_bp as u128, th.of_exercised_bp as u128);
    if yes * 10_000 > total * of_exercised {
        Some(true)
    } else if no * 10_000 >= total * (10_000 - of_exercised) {
        Some(false)
    } else if deadline_passed {
        Some(yes * 10_000 >= total * of_total && yes * 10_000 > (yes + no) * of_exercised)
    } else {
        None
    }
}

fn list_limit(limit: u32) -> usize {
    if limit == 0 || limit > MAX_LIST_RESULTS {
        MAX_LIST_RESULTS as usize
    } else {
        limit as usize
    }
}

fn limit_for_list(p: &mut ProposalData) {
    match p.proposal.as_mut().and_then(|p| p.action.as_mut()) {
        Some(Action::UpgradeSnsControlledCanister(u)) => u.new_canister_wasm.clear(),
        Some(Action::ExecuteGenericNervousSystemFunction(e)) if e.payload.len() > LIST_PAYLOAD_LIMIT_BYTES => {
            e.payload.clear()
        }
        _ => {}
    }
}

/// Root's `change_canister` request for an upgrade proposal: stop first; the mode as asked
/// (upgrade by default); the upgrade argument, or `()`.
pub fn change_canister_request(u: &UpgradeSnsControlledCanister) -> Result<ChangeCanisterRequest, String> {
    let canister_id = u.canister_id.ok_or("UpgradeSnsControlledCanister must specify a canister_id")?;
    let chunked_canister_wasm = match &u.chunked_canister_wasm {
        Some(c) => Some(sns_root::ChunkedCanisterWasm {
            wasm_module_hash: c.wasm_module_hash.clone(),
            store_canister_id: c
                .store_canister_id
                .ok_or("chunked_canister_wasm.store_canister_id must be specified")?,
            chunk_hashes_list: c.chunk_hashes_list.clone(),
        }),
        None => None,
    };
    Ok(ChangeCanisterRequest {
        arg: u.canister_upgrade_arg.as_ref().map_or_else(|| EMPTY_CANDID_ARGS.to_vec(), |a| a.to_vec()),
        wasm_module: u.new_canister_wasm.clone(),
        chunked_canister_wasm,
        stop_before_installing: true,
        mode: install_mode_from_code(u.mode)?,
        canister_id,
    })
}

fn native_functions() -> Vec<NervousSystemFunction> {
    use native_action_ids::*;
    [
        (UNSPECIFIED, "All Topics", "Catch-all for following all kinds of proposals."),
        (MOTION, "Motion", "Side-effect-less proposals to set general governance direction."),
        (
            UPGRADE_SNS_CONTROLLED_CANISTER,
            "Upgrade SNS controlled canister",
            "Upgrades a dapp canister registered with SNS root.",
        ),
        (
            ADD_GENERIC_NERVOUS_SYSTEM_FUNCTION,
            "Add nervous system function",
            "Adds a custom proposal: a validated canister call.",
        ),
        (
            REMOVE_GENERIC_NERVOUS_SYSTEM_FUNCTION,
            "Remove nervous system function",
            "Removes a custom proposal; its id is never reused.",
        ),
        (
            EXECUTE_GENERIC_NERVOUS_SYSTEM_FUNCTION,
            "Execute nervous system function",
            "Runs a custom proposal: calls its target with the payload.",
        ),
        (REGISTER_DAPP_CANISTERS, "Register dapp canisters", "Makes SNS root the only controller of dapp canisters."),
        (
            MANAGE_DAPP_CANISTER_SETTINGS,
            "Manage dapp canister settings",
            "Changes settings (log visibility, freezing threshold, ...) of dapp canisters through SNS root.",
        ),
    ]
    .into_iter()
    .map(|(id, name, description)| NervousSystemFunction {
        id,
        name: name.into(),
        description: Some(description.into()),
        function_type: Some(FunctionType::NativeNervousSystemFunction(Empty {})),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_bytes::ByteBuf;

    const T0: u64 = 1_767_225_600;
    const PERIOD: u64 = 1_000;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }
    fn nid(n: u8) -> NeuronId {
        NeuronId { id: vec![n; 32] }
    }
    const ROOT: u8 = 200;
    const GOV: u8 = 201;

    /// Neurons 1, 2, 3 with 40, 35 and 25 voting power, controlled by p(1), p(2), p(3).
    fn gov() -> Governance {
        let neurons = [(1u8, 40u64), (2, 35), (3, 25)]
            .into_iter()
            .map(|(n, vp)| InitialNeuron {
                id: vec![n; 32],
                controller: p(n),
                voting_power: vp,
                stake_e8s: None,
                dissolve_delay_seconds: None,
            })
            .collect();
        let init = GovernanceInitArgs {
            root_canister_id: p(ROOT),
            ledger_canister_id: Some(p(202)),
            swap_canister_id: None,
            neurons,
            initial_voting_period_seconds: PERIOD,
            reject_cost_e8s: None,
            neuron_minimum_dissolve_delay_to_vote_seconds: None,
            wait_for_quiet_deadline_increase_seconds: None,
        };
        Governance::new(init, p(GOV), T0).unwrap()
    }

    fn function(id: u64) -> NervousSystemFunction {
        NervousSystemFunction {
            id,
            name: format!("f{id}"),
            description: None,
            function_type: Some(FunctionType::GenericNervousSystemFunction(GenericNervousSystemFunction {
                target_canister_id: Some(p(50)),
                target_method_name: Some("set_value".into()),
                validator_canister_id: Some(p(51)),
                validator_method_name: Some("set_value_validate".into()),
                topic: Some(Topic::ApplicationBusinessLogic),
            })),
        }
    }

    fn proposal(action: Action) -> Proposal {
        Proposal { title: "title".into(), summary: "summary".into(), url: String::new(), action: Some(action) }
    }

    fn motion() -> Proposal {
        proposal(Action::Motion(Motion { motion_text: "go".into() }))
    }

    #[test]
    fn treasury_transfers_are_refused_by_name() {
        use platform_types::sns::TransferSnsTreasuryFunds;
        let g = gov();
        let transfer = Action::TransferSnsTreasuryFunds(TransferSnsTreasuryFunds { from_treasury: 2, amount_e8s: 1, ..Default::default() });
        let e = g.prepare(&proposal(transfer)).expect_err("refused");
        assert_eq!(e.error_type, ErrorType::InvalidProposal as i32);
        assert!(e.error_message.contains("TransferSnsTreasuryFunds is not supported by the local SNS"), "{}", e.error_message);
    }

    #[test]
    fn canister_settings_are_checked_with_root_then_executed_through_it() {
        use platform_types::sns::ManageDappCanisterSettings;
        let mut g = gov();
        let settings = |ids: Vec<Principal>, log: Option<i32>| {
            proposal(Action::ManageDappCanisterSettings(ManageDappCanisterSettings {
                canister_ids: ids,
                log_visibility: log,
                ..Default::default()
            }))
        };
        let s = g.prepare(&settings(vec![p(70), p(71)], Some(2))).unwrap();
        assert_eq!(s.check, Check::RegisteredDapps { action: "ManageDappCanisterSettings", canisters: vec![p(70), p(71)] });
        assert!(s.rendering.contains("Log visibility: public"), "{}", s.rendering);
        // Malformed: refused before any call.
        for bad in [settings(vec![p(70)], Some(9)), settings(vec![], Some(2)), settings(vec![p(70)], None), settings(vec![g.root], Some(2))] {
            let e = g.prepare(&bad).expect_err("refused");
            assert_eq!(e.error_type, ErrorType::InvalidProposal as i32, "{}", e.error_message);
        }
        // Adopted: executed by root's manage_dapp_canister_settings with the same settings.
        let id = submit(&mut g, 1, settings(vec![p(70)], Some(1)), T0);
        vote(&mut g, 2, id, Vote::Yes, T0 + 1).unwrap();
        assert_eq!(g.process(T0 + 1), vec![id]);
        let expected =
            sns_root::ManageDappCanisterSettingsRequest { canister_ids: vec![p(70)], log_visibility: Some(1), ..Default::default() };
        assert_eq!(g.begin_execution(id, T0 + 2), Execution::ManageDappSettings(expected));
        assert_eq!(g.proposals[&id].proposal.as_ref().unwrap().action.as_ref().unwrap().native_topic(), Some(Topic::DappCanisterManagement));
    }

    /// Submits as neuron `n` (all checks passing) and returns the id.
    fn submit(g: &mut Governance, n: u8, pr: Proposal, now: u64) -> u64 {
        let neuron = g.authorize(p(n), &nid(n).id).unwrap();
        let s = g.prepare(&pr).unwrap();
        g.create_proposal(&neuron, pr, s.rendering, now).unwrap().id
    }

    fn vote(g: &mut Governance, n: u8, id: u64, v: Vote, now: u64) -> Result<(), GovernanceError> {
        g.register_vote(p(n), &nid(n).id, &RegisterVote { vote: v as i32, proposal: Some(ProposalId { id }) }, now)
    }

    fn status(g: &Governance, id: u64) -> ProposalDecisionStatus {
        g.proposals[&id].status()
    }

    #[test]
    fn init_is_validated() {
        let init = |neurons: Vec<InitialNeuron>, period| GovernanceInitArgs {
            root_canister_id: p(1),
            ledger_canister_id: None,
            swap_canister_id: None,
            neurons,
            initial_voting_period_seconds: period,
            reject_cost_e8s: None,
            neuron_minimum_dissolve_delay_to_vote_seconds: None,
            wait_for_quiet_deadline_increase_seconds: None,
        };
        let ok = |neurons: Vec<InitialNeuron>, period| Governance::new(init(neurons, period), p(2), T0);
        let n = |id: u8, vp| InitialNeuron {
            id: vec![id],
            controller: p(id),
            voting_power: vp,
            stake_e8s: None,
            dissolve_delay_seconds: None,
        };
        assert!(ok(vec![n(1, 1)], 1).is_ok());
        assert!(ok(vec![], 1).is_err());
        assert!(ok(vec![n(1, 1)], 0).is_err());
        assert!(ok(vec![n(1, 0)], 1).is_err());
        assert!(ok(vec![n(1, 1), n(1, 2)], 1).unwrap_err().contains("twice"));
        assert!(ok(vec![InitialNeuron { id: vec![], ..n(1, 1) }], 1).is_err());
        assert!(ok(vec![n(1, u64::MAX), n(2, 1)], 1).is_err());
        let short = InitialNeuron { dissolve_delay_seconds: Some(60), ..n(1, 1) };
        assert!(ok(vec![short.clone()], 1).unwrap_err().contains("minimum dissolve delay"));
        assert!(ok(vec![short, n(2, 1)], 1).is_ok(), "one eligible neuron is enough");
        let no_wait = GovernanceInitArgs { wait_for_quiet_deadline_increase_seconds: Some(0), ..init(vec![n(1, 1)], 1) };
        assert!(Governance::new(no_wait, p(2), T0).unwrap_err().contains("wait_for_quiet"));
        // The defaults are sns_init.yaml's.
        let g = ok(vec![n(1, 1)], 7).unwrap();
        assert_eq!(
            g.parameters(),
            NervousSystemParameters {
                reject_cost_e8s: Some(500_000_000_000),
                initial_voting_period_seconds: Some(7),
                wait_for_quiet_deadline_increase_seconds: Some(86_400),
                neuron_minimum_dissolve_delay_to_vote_seconds: Some(2_630_016),
            }
        );
    }

    #[test]
    fn only_the_controller_uses_a_neuron() {
        let g = gov();
        assert_eq!(g.authorize(p(1), &nid(1).id), Ok(nid(1)));
        assert_eq!(g.authorize(p(2), &nid(1).id).unwrap_err().error_type, ErrorType::NotAuthorized as i32);
        assert_eq!(g.authorize(p(1), &nid(9).id).unwrap_err().error_type, ErrorType::NotFound as i32);
    }

    #[test]
    fn the_proposer_votes_yes_and_the_proposal_is_open() {
        let mut g = gov();
        let id = submit(&mut g, 1, motion(), T0);
        assert_eq!(id, 1);
        let pd = &g.proposals[&id];
        assert_eq!(pd.ballot(&nid(1)).unwrap().vote, 1);
        assert_eq!(pd.ballot(&nid(1)).unwrap().cast_timestamp_seconds, T0);
        assert_eq!(pd.ballot(&nid(2)).unwrap().vote, 0);
        assert_eq!(pd.latest_tally, Some(Tally { yes: 40, no: 0, total: 100, timestamp_seconds: T0 }));
        assert_eq!((pd.action, pd.topic), (1, Some(Topic::Governance)));
        assert_eq!(pd.deadline_timestamp_seconds(), T0 + PERIOD);
        assert!(pd.payload_text_rendering.as_ref().unwrap().contains("go"));
        assert_eq!(g.process(T0), Vec::<u64>::new());
        assert_eq!(status(&g, id), ProposalDecisionStatus::Open);
        assert_eq!(g.open_deadlines(), vec![T0 + PERIOD]);
    }

    #[test]
    fn absolute_majority_adopts_or_rejects_at_once() {
        let mut g = gov();
        let a = submit(&mut g, 1, motion(), T0);
        vote(&mut g, 2, a, Vote::Yes, T0 + 1).unwrap();
        assert_eq!(g.process(T0 + 1), vec![a]);
        assert_eq!(status(&g, a), ProposalDecisionStatus::Adopted);
        assert_eq!(g.proposals[&a].decided_timestamp_seconds, T0 + 1);

        let r = submit(&mut g, 3, motion(), T0 + 2);
        vote(&mut g, 1, r, Vote::No, T0 + 3).unwrap();
        assert_eq!(g.process(T0 + 3), Vec::<u64>::new(), "40 no is not yet half");
        vote(&mut g, 2, r, Vote::No, T0 + 4).unwrap();
        assert_eq!(g.process(T0 + 4), Vec::<u64>::new());
        assert_eq!(status(&g, r), ProposalDecisionStatus::Rejected);
        // A neuron with a majority on its own adopts its proposal when submitting.
        let mut g = gov();
        g.neurons[0].voting_power = 70; // of 130
        let s = submit(&mut g, 1, motion(), T0);
        assert_eq!(g.process(T0), vec![s]);
    }

    #[test]
    fn exactly_half_no_rejects_and_exactly_half_yes_does_not_adopt() {
        let n = Thresholds::NORMAL;
        let t = |yes, no| Tally { yes, no, total: 100, timestamp_seconds: 0 };
        assert_eq!(decision(&t(50, 0), false, n), None);
        assert_eq!(decision(&t(51, 0), false, n), Some(true));
        assert_eq!(decision(&t(0, 50), false, n), Some(false));
        assert_eq!(decision(&t(10, 9), true, n), Some(true));
        assert_eq!(decision(&t(10, 10), true, n), Some(false));
        assert_eq!(decision(&t(0, 0), true, n), Some(false));
        assert_eq!(decision(&t(3, 0), true, n), Some(true), "3 % of the total is enough for a normal topic");
        assert_eq!(decision(&t(2, 0), true, n), Some(false), "below 3 % of the total");
    }

    #[test]
    fn critical_topics_need_20_percent_of_the_total_and_67_percent_of_the_votes_cast() {
        let c = Thresholds::CRITICAL;
        let t = |yes, no| Tally { yes, no, total: 100, timestamp_seconds: 0 };
        assert_eq!(decision(&t(67, 0), false, c), None, "67 % is not more than 67 %");
        assert_eq!(decision(&t(68, 0), false, c), Some(true));
        assert_eq!(decision(&t(65, 35), false, c), Some(false), "a simple majority: 33 % no rejects at once");
        assert_eq!(decision(&t(65, 35), false, Thresholds::NORMAL), Some(true), "the same votes adopt a normal one");
        assert_eq!(decision(&t(19, 0), true, c), Some(false), "below 20 % of the total");
        assert_eq!(decision(&t(20, 0), true, c), Some(true));
        assert_eq!(decision(&t(40, 20), true, c), Some(false), "66.7 % of the votes cast");
        assert_eq!(decision(&t(41, 20), true, c), Some(true), "67.2 % of the votes cast");
        assert_eq!(Thresholds::of_topic(Some(Topic::CriticalDappOperations)), c);
        assert_eq!(Thresholds::of_topic(Some(Topic::TreasuryAssetManagement)), c);
        assert_eq!(Thresholds::of_topic(Some(Topic::ApplicationBusinessLogic)), Thresholds::NORMAL);
        assert_eq!(Thresholds::of_topic(None), Thresholds::NORMAL, "a custom function with no topic");
    }

    #[test]
    fn at_the_deadline_the_votes_cast_decide() {
        let mut g = gov();
        let a = submit(&mut g, 1, motion(), T0); // yes 40
        vote(&mut g, 2, a, Vote::No, T0 + 1).unwrap(); // no 35
        let r = submit(&mut g, 3, motion(), T0); // yes 25
        g.process(T0);
        vote(&mut g, 2, r, Vote::No, T0 + 1).unwrap(); // no 35: the result turns
        assert_eq!(g.process(T0 + PERIOD - 1), Vec::<u64>::new());
        assert_eq!(g.process(T0 + PERIOD), vec![a]);
        assert_eq!(status(&g, a), ProposalDecisionStatus::Adopted);
        // The turned vote extended r's deadline (wait-for-quiet).
        let deadline = g.proposals[&r].deadline_timestamp_seconds();
        assert_eq!(status(&g, r), ProposalDecisionStatus::Open);
        assert_eq!(g.open_deadlines(), vec![deadline]);
        g.process(deadline);
        assert_eq!(status(&g, r), ProposalDecisionStatus::Rejected);
        assert!(g.open_deadlines().is_empty());
    }

    /// A governance whose neurons 1, 2, 3 have the given voting power.
    fn gov_with(powers: [u64; 3]) -> Governance {
        let mut g = gov();
        for (n, vp) in g.neurons.iter_mut().zip(powers) {
            n.voting_power = vp;
        }
        g
    }

    fn add_function_proposal() -> Proposal {
        proposal(Action::AddGenericNervousSystemFunction(function(1000)))
    }

    /// Issue 12 acceptance: yes is 60 % of the votes cast and 30 % of the total; no early
    /// decision either way; at the (5-day) deadline a critical proposal is rejected where a
    /// normal one with the same votes is adopted.
    #[test]
    fn a_critical_proposal_with_60_percent_of_the_votes_cast_is_rejected() {
        let mut g = gov_with([30, 20, 50]);
        let critical = submit(&mut g, 1, add_function_proposal(), T0);
        let normal = submit(&mut g, 1, motion(), T0);
        for id in [critical, normal] {
            vote(&mut g, 2, id, Vote::No, T0 + 1).unwrap();
        }
        assert_eq!(g.proposals[&critical].topic, Some(Topic::CriticalDappOperations));
        assert_eq!(g.process(T0 + 1), Vec::<u64>::new());
        assert_eq!(g.process(T0 + PERIOD), vec![normal], "30 yes, 20 no: more than 50 % of the votes cast");
        assert_eq!(g.process(T0 + CRITICAL_MIN_INITIAL_VOTING_PERIOD_SECONDS - 1), Vec::<u64>::new());
        assert_eq!(status(&g, critical), ProposalDecisionStatus::Open, "a critical proposal is open 5 days");
        assert_eq!(g.process(T0 + CRITICAL_MIN_INITIAL_VOTING_PERIOD_SECONDS), Vec::<u64>::new());
        assert_eq!(status(&g, critical), ProposalDecisionStatus::Rejected, "60 % is not more than 67 %");
    }

    /// Issue 12 acceptance: yes is 70 % of the votes cast but 14 % of the total voting power.
    #[test]
    fn a_critical_proposal_under_20_percent_of_the_total_is_not_adopted() {
        let mut g = gov_with([14, 6, 80]);
        let critical = submit(&mut g, 1, add_function_proposal(), T0);
        let normal = submit(&mut g, 1, motion(), T0);
        for id in [critical, normal] {
            vote(&mut g, 2, id, Vote::No, T0 + 1).unwrap();
        }
        let end = T0 + CRITICAL_MIN_INITIAL_VOTING_PERIOD_SECONDS;
        assert_eq!(g.process(end), vec![normal], "14 % of the total is above the normal 3 %");
        assert_eq!(status(&g, critical), ProposalDecisionStatus::Rejected);
        // With 20 % of the total (and the same 70 % of the votes cast) it is adopted.
        let mut g = gov_with([20, 8, 72]);
        let critical = submit(&mut g, 1, add_function_proposal(), T0);
        vote(&mut g, 2, critical, Vote::No, T0 + 1).unwrap();
        assert_eq!(g.process(end), vec![critical]);
    }

    #[test]
    fn critical_proposals_get_5_days_and_a_wait_for_quiet_of_2_5_days() {
        let mut g = gov();
        let critical = submit(&mut g, 1, add_function_proposal(), T0);
        let normal = submit(&mut g, 1, motion(), T0);
        let durations = |id| {
            let p = &g.proposals[&id];
            let deadline = p.deadline_timestamp_seconds();
            (p.initial_voting_period_seconds, p.wait_for_quiet_deadline_increase_seconds, deadline)
        };
        assert_eq!(durations(critical), (5 * 86_400, 216_000, T0 + 5 * 86_400));
        assert_eq!(durations(normal), (PERIOD, 86_400, T0 + PERIOD));
        // A longer configured period is kept for both.
        let long = 6 * 86_400;
        assert_eq!(
            VotingDurations::of_topic(Some(Topic::CriticalDappOperations), long, 86_400),
            VotingDurations { initial_voting_period_seconds: long, wait_for_quiet_deadline_increase_seconds: 216_000 }
        );
        assert_eq!(VotingDurations::of_topic(None, long, 86_400).initial_voting_period_seconds, long);
        // The configured increase applies to normal proposals; critical ones get at least 2.5 days.
        assert_eq!(VotingDurations::of_topic(None, long, 3_600).wait_for_quiet_deadline_increase_seconds, 3_600);
        assert_eq!(
            VotingDurations::of_topic(Some(Topic::TreasuryAssetManagement), long, 3_600).wait_for_quiet_deadline_increase_seconds,
            216_000
        );
    }

    /// Issue 12 acceptance: a vote that flips the result extends the deadline to
    /// now + W + (initial - elapsed) / 2; one that does not flip it, or that gives an absolute
    /// majority, does not.
    #[test]
    fn wait_for_quiet_extends_a_flipped_vote() {
        let day = 86_400;
        // Critical: initial 5 days, W 2.5 days. Neuron 3 proposes (yes 20), neuron 2 votes no
        // (30, below the 33 % that rejects a critical proposal at once) after 4 days: the result
        // turns.
        let mut g = gov_with([50, 30, 20]);
        let id = submit(&mut g, 3, add_function_proposal(), T0);
        g.process(T0);
        let flip = T0 + 4 * day;
        vote(&mut g, 2, id, Vote::No, flip).unwrap();
        assert_eq!(g.process(flip), Vec::<u64>::new());
        let expected = flip + 216_000 + (5 * day - 4 * day) / 2;
        assert_eq!(g.proposals[&id].deadline_timestamp_seconds(), expected, "4 days + 2.5 days + 0.5 day");
        assert_eq!(g.open_deadline(id), Some(expected));
        assert_eq!(g.process(T0 + 5 * day), Vec::<u64>::new(), "the original deadline no longer decides");
        assert_eq!(status(&g, id), ProposalDecisionStatus::Open);
        // Votes are accepted until the new deadline: neuron 1 turns it back to an absolute
        // majority (yes 70 %), which decides at once without extending.
        vote(&mut g, 1, id, Vote::Yes, expected - 10).unwrap();
        assert_eq!(g.process(expected - 10), vec![id]);
        assert_eq!(g.proposals[&id].deadline_timestamp_seconds(), expected);

        // The margin shrinks with time: a flip late in the extension moves the deadline less,
        // never past creation + initial + 2 W, and a flip after the deadline not at all.
        let mut g = gov_with([50, 30, 20]);
        let id = submit(&mut g, 3, add_function_proposal(), T0);
        let pd = g.proposals.get_mut(&id).unwrap();
        let t = |yes, no| Tally { yes, no, total: 100, timestamp_seconds: 0 };
        let last = T0 + 5 * day + 2 * 216_000;
        evaluate_wait_for_quiet(pd, T0 + 4 * day, &t(20, 0), &t(20, 30));
        assert_eq!(pd.deadline_timestamp_seconds(), T0 + 7 * day);
        // At the deadline itself: 7 days + (2.5 + 2.5 - 3.5) days.
        evaluate_wait_for_quiet(pd, T0 + 7 * day, &t(20, 30), &t(45, 30));
        assert_eq!(pd.deadline_timestamp_seconds(), T0 + 7 * day + 3 * day / 2);
        let mut now = pd.deadline_timestamp_seconds();
        for flip in 0..40 {
            let (old, new) = if flip % 2 == 0 { (t(45, 30), t(45, 46)) } else { (t(45, 46), t(47, 46)) };
            evaluate_wait_for_quiet(pd, now, &old, &new);
            assert!(pd.deadline_timestamp_seconds() <= last, "never past creation + initial + 2 W");
            now = pd.deadline_timestamp_seconds();
        }
        assert!(now > last - 10, "{}", last - now);
        let deadline = pd.deadline_timestamp_seconds();
        evaluate_wait_for_quiet(pd, deadline + 1, &t(45, 30), &t(45, 46));
        assert_eq!(pd.deadline_timestamp_seconds(), deadline);

        // A vote that does not turn the result: no extension.
        let mut g = gov();
        let id = submit(&mut g, 1, motion(), T0); // yes 40
        g.process(T0);
        vote(&mut g, 3, id, Vote::No, T0 + 5).unwrap(); // no 25
        g.process(T0 + 5);
        assert_eq!(g.proposals[&id].deadline_timestamp_seconds(), T0 + PERIOD);
        // A turn that makes an absolute majority decides at once instead.
        let id = submit(&mut g, 3, motion(), T0 + 6); // yes 25
        g.process(T0 + 6);
        vote(&mut g, 1, id, Vote::No, T0 + 7).unwrap(); // no 40: turned, not yet half
        vote(&mut g, 2, id, Vote::No, T0 + 7).unwrap(); // no 75
        g.process(T0 + 7);
        assert_eq!(status(&g, id), ProposalDecisionStatus::Rejected);
        assert_eq!(g.proposals[&id].deadline_timestamp_seconds(), T0 + 6 + PERIOD);
    }

    const FEE: u64 = 500_000_000_000;

    /// Neurons 1, 2, 3 as `gov()`, with the given stakes and dissolve delays.
    fn gov_with_neurons(stakes: [u64; 3], delays: [u64; 3]) -> Governance {
        let mut g = gov();
        for ((n, stake), delay) in g.neurons.iter_mut().zip(stakes).zip(delays) {
            n.stake_e8s = Some(stake);
            n.dissolve_delay_seconds = Some(delay);
        }
        g
    }

    fn fees(g: &Governance, n: u8) -> u64 {
        g.neuron_fees_e8s(&nid(n).id)
    }

    #[test]
    fn a_proposer_needs_a_stake_of_at_least_the_rejection_fee() {
        let year = 31_557_600;
        let mut g = gov_with_neurons([FEE, FEE - 1, 2 * FEE], [year; 3]);
        let e = g.check_proposer(&nid(2)).unwrap_err();
        assert_eq!(e.error_type, ErrorType::PreconditionFailed as i32);
        assert_eq!(e.error_message, "Neuron doesn't have enough stake to submit proposal.");
        // create_proposal checks again (the state may change while the validator is called).
        let e = g.create_proposal(&nid(2), motion(), String::new(), T0).unwrap_err();
        assert!(e.error_message.contains("enough stake"));
        assert!(g.proposals.is_empty());
        // Exactly the fee is enough; the fee is then owed, so a second proposal is refused
        // while the first is open.
        let first = submit(&mut g, 1, motion(), T0);
        assert_eq!(g.proposals[&first].reject_cost_e8s, FEE);
        assert_eq!(fees(&g, 1), FEE);
        assert!(g.check_proposer(&nid(1)).unwrap_err().error_message.contains("enough stake"));
        let view = |g: &Governance, n: u8| match g.get_neuron(&GetNeuron { neuron_id: Some(nid(n)) }).result {
            Some(GetNeuronResult::Neuron(n)) => n,
            r => panic!("{r:?}"),
        };
        assert_eq!((view(&g, 1).cached_neuron_stake_e8s, view(&g, 1).neuron_fees_e8s), (FEE, FEE));
        // Neuron 3 has twice the fee: two open proposals at once.
        submit(&mut g, 3, motion(), T0);
        submit(&mut g, 3, motion(), T0);
        assert_eq!(fees(&g, 3), 2 * FEE);
        assert!(g.check_proposer(&nid(3)).is_err());
    }

    #[test]
    fn the_fee_is_given_back_on_adoption_and_kept_on_rejection() {
        let mut g = gov();
        let adopted = submit(&mut g, 1, motion(), T0);
        let rejected = submit(&mut g, 1, motion(), T0);
        let open = submit(&mut g, 1, motion(), T0);
        assert_eq!(fees(&g, 1), 3 * FEE, "charged at submission");
        vote(&mut g, 2, adopted, Vote::Yes, T0 + 1).unwrap();
        vote(&mut g, 2, rejected, Vote::No, T0 + 1).unwrap();
        vote(&mut g, 3, rejected, Vote::No, T0 + 1).unwrap();
        assert_eq!(g.process(T0 + 1), vec![adopted]);
        assert_eq!(status(&g, rejected), ProposalDecisionStatus::Rejected);
        assert_eq!(fees(&g, 1), 2 * FEE, "the adopted one costs nothing; rejected and open are owed");
        // Adopted then failed at execution: still adopted, the fee stays given back.
        g.begin_execution(adopted, T0 + 2);
        g.finish_execution(adopted, Err(err(ErrorType::External, "trapped")), T0 + 2);
        assert_eq!(fees(&g, 1), 2 * FEE);
        // The open one is adopted at its deadline (yes 40, no 0): given back too.
        assert_eq!(g.process(T0 + PERIOD), vec![open]);
        assert_eq!(fees(&g, 1), FEE);
        assert_eq!(fees(&g, 2), 0, "voting costs nothing");
        // A fee of 0 charges nothing and lets any stake propose.
        let mut g = gov_with_neurons([0, 0, 0], [31_557_600; 3]);
        g.reject_cost_e8s = Some(0);
        let id = submit(&mut g, 1, motion(), T0);
        assert_eq!((g.proposals[&id].reject_cost_e8s, fees(&g, 1)), (0, 0));
    }

    #[test]
    fn a_neuron_under_the_minimum_dissolve_delay_neither_proposes_nor_votes_nor_counts() {
        let month = 2_630_016;
        // Neuron 2 (35 of 100) is one second short.
        let mut g = gov_with_neurons([FEE; 3], [month, month - 1, month]);
        let e = g.check_proposer(&nid(2)).unwrap_err();
        assert_eq!(e.error_type, ErrorType::PreconditionFailed as i32);
        assert_eq!(
            e.error_message,
            "The proposer's dissolve delay 2630015 is less than the minimum required dissolve delay of 2630016"
        );
        let id = submit(&mut g, 1, motion(), T0);
        let pd = &g.proposals[&id];
        assert!(pd.ballot(&nid(2)).is_none(), "no ballot");
        assert_eq!(pd.ballots.len(), 2);
        assert_eq!(pd.latest_tally.map(|t| (t.yes, t.total)), Some((40, 65)), "the total counts eligible neurons only");
        let e = vote(&mut g, 2, id, Vote::No, T0 + 1).unwrap_err();
        assert_eq!((e.error_type, e.error_message.as_str()), (ErrorType::NotAuthorized as i32, "Neuron not eligible to vote on proposal."));
        // 40 of 65 eligible is an absolute majority: adopted once processed.
        assert_eq!(g.process(T0 + 1), vec![id]);
        // With every neuron eligible, 40 of 100 is not.
        let mut g = gov();
        let id = submit(&mut g, 1, motion(), T0);
        assert_eq!(g.process(T0), Vec::<u64>::new());
        assert_eq!(status(&g, id), ProposalDecisionStatus::Open);
    }

    #[test]
    fn get_proposal_shows_the_thresholds_in_basis_points() {
        let mut g = gov();
        let normal = submit(&mut g, 1, motion(), T0);
        let critical = submit(&mut g, 1, add_function_proposal(), T0);
        let shown = |id| match g.get_proposal(&GetProposal { proposal_id: Some(ProposalId { id }) }).result {
            Some(GetProposalResult::Proposal(p)) => (
                p.minimum_yes_proportion_of_total.and_then(|x| x.basis_points),
                p.minimum_yes_proportion_of_exercised.and_then(|x| x.basis_points),
            ),
            r => panic!("{r:?}"),
        };
        assert_eq!(shown(normal), (Some(300), Some(5_000)));
        assert_eq!(shown(critical), (Some(2_000), Some(6_700)));
    }

    #[test]
    fn vote_errors() {
        let mut g = gov();
        let id = submit(&mut g, 1, motion(), T0);
        let e = |r: Result<(), GovernanceError>| r.unwrap_err().error_type;
        assert_eq!(e(vote(&mut g, 1, id, Vote::Yes, T0)), ErrorType::PreconditionFailed as i32, "already voted");
        assert_eq!(e(vote(&mut g, 2, 99, Vote::Yes, T0)), ErrorType::NotFound as i32);
        assert_eq!(e(vote(&mut g, 2, id, Vote::Unspecified, T0)), ErrorType::InvalidCommand as i32);
        assert_eq!(
            e(g.register_vote(p(2), &nid(2).id, &RegisterVote { vote: 1, proposal: None }, T0)),
            ErrorType::InvalidCommand as i32
        );
        assert_eq!(
            e(g.register_vote(p(3), &nid(2).id, &RegisterVote { vote: 1, proposal: Some(ProposalId { id }) }, T0)),
            2
        );
        assert_eq!(e(vote(&mut g, 2, id, Vote::Yes, T0 + PERIOD)), ErrorType::PreconditionFailed as i32, "deadline");
        // After a decision, before the deadline: recorded, the tally stays.
        vote(&mut g, 2, id, Vote::Yes, T0 + 1).unwrap();
        g.process(T0 + 1);
        let tally = g.proposals[&id].latest_tally;
        vote(&mut g, 3, id, Vote::No, T0 + 2).unwrap();
        g.process(T0 + 2);
        assert_eq!(g.proposals[&id].latest_tally, tally);
        assert_eq!(g.proposals[&id].ballot(&nid(3)).unwrap().vote, 2);
    }

    fn adopt(g: &mut Governance, pr: Proposal, now: u64) -> u64 {
        let id = submit(g, 1, pr, now);
        vote(g, 2, id, Vote::Yes, now).unwrap();
        assert!(g.process(now).contains(&id));
        id
    }

    #[test]
    fn adding_executing_and_removing_a_custom_function() {
        let mut g = gov();
        let add = adopt(&mut g, proposal(Action::AddGenericNervousSystemFunction(function(1000))), T0);
        assert_eq!(g.proposals[&add].topic, Some(Topic::CriticalDappOperations));
        assert_eq!(g.begin_execution(add, T0), Execution::Finished);
        assert_eq!(status(&g, add), ProposalDecisionStatus::Executed);
        assert!(g.list_functions().functions.iter().any(|f| f.id == 1000));
        // Executing twice does nothing.
        assert_eq!(g.begin_execution(add, T0), Execution::Finished);

        let exec = Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction {
            function_id: 1000,
            payload: b"DIDL\0\0".to_vec(),
        });
        let s = g.prepare(&proposal(exec.clone())).unwrap();
        match &s.check {
            Check::Validator { canister, method, payload, function } => {
                assert_eq!(
                    (*canister, method.as_str(), payload.as_slice()),
                    (p(51), "set_value_validate", &b"DIDL\0\0"[..])
                );
                assert_eq!(function.id, 1000);
            }
            other => panic!("{other:?}"),
        }
        let id = adopt(&mut g, proposal(exec.clone()), T0 + 1);
        assert_eq!((g.proposals[&id].action, g.proposals[&id].topic), (1000, Some(Topic::ApplicationBusinessLogic)));
        assert_eq!(
            g.begin_execution(id, T0 + 2),
            Execution::CallTarget { canister: p(50), method: "set_value".into(), payload: b"DIDL\0\0".to_vec() }
        );
        assert_eq!(status(&g, id), ProposalDecisionStatus::Adopted);
        assert_eq!(g.begin_execution(id, T0 + 2), Execution::Finished, "already executing");
        g.finish_execution(id, Ok(()), T0 + 3);
        assert_eq!(status(&g, id), ProposalDecisionStatus::Executed);
        assert_eq!(g.proposals[&id].executed_timestamp_seconds, T0 + 3);

        let failing = adopt(&mut g, proposal(exec.clone()), T0 + 4);
        g.begin_execution(failing, T0 + 4);
        g.finish_execution(failing, Err(err(ErrorType::External, "trapped")), T0 + 5);
        assert_eq!(status(&g, failing), ProposalDecisionStatus::Failed);
        assert_eq!(g.proposals[&failing].failure_reason.as_ref().unwrap().error_message, "trapped");

        // An execution adopted before the function was removed fails.
        let late = adopt(&mut g, proposal(exec.clone()), T0 + 6);
        let rm = adopt(&mut g, proposal(Action::RemoveGenericNervousSystemFunction(1000)), T0 + 6);
        assert_eq!(g.begin_execution(rm, T0 + 6), Execution::Finished);
        assert_eq!(status(&g, rm), ProposalDecisionStatus::Executed);
        assert_eq!(g.begin_execution(late, T0 + 7), Execution::Finished);
        assert_eq!(status(&g, late), ProposalDecisionStatus::Failed);
        let list = g.list_functions();
        assert_eq!(list.reserved_ids, vec![1000]);
        assert!(list.functions.iter().all(|f| f.id < 1000));
        // The removed id cannot be used again, and nothing can be executed with it.
        assert!(g.prepare(&proposal(Action::AddGenericNervousSystemFunction(function(1000)))).is_err());
        assert!(g.prepare(&proposal(exec)).is_err());
        assert!(g.prepare(&proposal(Action::RemoveGenericNervousSystemFunction(1000))).is_err());
    }

    #[test]
    fn an_add_adopted_twice_for_one_id_fails_the_second_time() {
        let mut g = gov();
        let a = adopt(&mut g, proposal(Action::AddGenericNervousSystemFunction(function(1000))), T0);
        let b = adopt(&mut g, proposal(Action::AddGenericNervousSystemFunction(function(1000))), T0);
        g.begin_execution(a, T0);
        g.begin_execution(b, T0);
        assert_eq!(status(&g, a), ProposalDecisionStatus::Executed);
        assert_eq!(status(&g, b), ProposalDecisionStatus::Failed);
        assert!(g.proposals[&b].failure_reason.as_ref().unwrap().error_message.contains("There is/was already"));
    }

    #[test]
    fn custom_functions_may_not_target_sns_canisters() {
        let g = gov();
        for target in [p(ROOT), p(GOV), p(202), Principal::management_canister()] {
            let mut f = function(1000);
            if let Some(FunctionType::GenericNervousSystemFunction(gf)) = f.function_type.as_mut() {
                gf.target_canister_id = Some(target);
            }
            let e = g.prepare(&proposal(Action::AddGenericNervousSystemFunction(f))).unwrap_err();
            assert_eq!(e.error_type, ErrorType::InvalidProposal as i32);
            assert!(e.error_message.contains("reserved"), "{e}");
        }
        let r =
            g.prepare(&proposal(Action::RegisterDappCanisters(RegisterDappCanisters { canister_ids: vec![p(ROOT)] })));
        assert!(r.is_err());
    }

    #[test]
    fn proposals_without_a_valid_action_are_refused() {
        let g = gov();
        let mut pr = motion();
        pr.action = None;
        assert_eq!(g.prepare(&pr).unwrap_err().error_type, ErrorType::InvalidProposal as i32);
        pr.action = Some(Action::Unspecified(Empty {}));
        assert!(g.prepare(&pr).is_err());
        let mut pr = motion();
        pr.title.clear();
        assert!(g.prepare(&pr).unwrap_err().error_message.contains("title"));
    }

    fn upgrade(canister: u8) -> Action {
        Action::UpgradeSnsControlledCanister(UpgradeSnsControlledCanister {
            new_canister_wasm: b"\0asm\x01\0\0\0".to_vec(),
            canister_id: Some(p(canister)),
            canister_upgrade_arg: Some(ByteBuf::from(b"DIDL\0\x01\x71\x01x".to_vec())),
            ..Default::default()
        })
    }

    #[test]
    fn upgrades_go_through_root_one_at_a_time() {
        let mut g = gov();
        let s = g.prepare(&proposal(upgrade(60))).unwrap();
        assert_eq!(
            s.check,
            Check::RegisteredDapps { action: "UpgradeSnsControlledCanister", canisters: vec![p(60)] }
        );
        let a = adopt(&mut g, proposal(upgrade(60)), T0);
        let b = adopt(&mut g, proposal(upgrade(61)), T0);
        match g.begin_execution(a, T0) {
            Execution::Upgrade(r) => {
                assert_eq!(r.canister_id, p(60));
                assert!(r.stop_before_installing);
                assert_eq!(r.mode, sns_root::CanisterInstallMode::Upgrade);
                assert_eq!(r.arg, b"DIDL\0\x01\x71\x01x".to_vec());
                assert!(r.chunked_canister_wasm.is_none());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(g.upgrade_in_progress, Some(a));
        assert_eq!(g.begin_execution(b, T0), Execution::Finished);
        assert_eq!(status(&g, b), ProposalDecisionStatus::Failed);
        assert!(g.proposals[&b].failure_reason.as_ref().unwrap().error_message.contains("Another upgrade"));
        g.finish_execution(a, Ok(()), T0 + 1);
        assert_eq!(g.upgrade_in_progress, None);
        let c = adopt(&mut g, proposal(upgrade(61)), T0 + 2);
        assert!(matches!(g.begin_execution(c, T0 + 2), Execution::Upgrade(_)));
    }

    #[test]
    fn change_canister_request_defaults() {
        let u = UpgradeSnsControlledCanister {
            new_canister_wasm: vec![],
            chunked_canister_wasm: Some(ChunkedCanisterWasm {
                wasm_module_hash: vec![1; 32],
                store_canister_id: Some(p(7)),
                chunk_hashes_list: vec![ByteBuf::from(vec![2; 32])],
            }),
            mode: Some(InstallModeCode::Reinstall as i32),
            canister_id: Some(p(8)),
            canister_upgrade_arg: None,
        };
        let r = change_canister_request(&u).unwrap();
        assert_eq!(r.arg, EMPTY_CANDID_ARGS.to_vec());
        assert_eq!(r.mode, sns_root::CanisterInstallMode::Reinstall);
        let c = r.chunked_canister_wasm.unwrap();
        assert_eq!((c.store_canister_id, c.chunk_hashes_list.len()), (p(7), 1));
    }

    #[test]
    fn register_dapps_executes_through_root() {
        let mut g = gov();
        let id = adopt(
            &mut g,
            proposal(Action::RegisterDappCanisters(RegisterDappCanisters { canister_ids: vec![p(70)] })),
            T0,
        );
        assert_eq!(g.begin_execution(id, T0), Execution::RegisterDapps(vec![p(70)]));
        g.finish_execution(id, Err(err(ErrorType::External, "not controlled")), T0);
        assert_eq!(status(&g, id), ProposalDecisionStatus::Failed);
    }

    #[test]
    fn an_upgrade_of_governance_fails_executions_under_way() {
        let mut g = gov();
        let a = adopt(&mut g, proposal(upgrade(60)), T0);
        g.begin_execution(a, T0);
        g.interrupt_executions(T0 + 5);
        assert_eq!(status(&g, a), ProposalDecisionStatus::Failed);
        assert_eq!(g.upgrade_in_progress, None);
        assert!(g.executing.is_empty());
    }

    #[test]
    fn list_proposals_filters_and_pages_newest_first() {
        let mut g = gov();
        let m1 = submit(&mut g, 1, motion(), T0);
        let add = adopt(&mut g, proposal(Action::AddGenericNervousSystemFunction(function(1000))), T0);
        g.begin_execution(add, T0);
        let up = submit(&mut g, 1, proposal(upgrade(60)), T0);
        let big = Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction {
            function_id: 1000,
            payload: vec![1; LIST_PAYLOAD_LIMIT_BYTES + 1],
        });
        let ex = submit(&mut g, 1, proposal(big), T0);
        let ids = |r: ListProposalsResponse| r.proposals.iter().map(|p| p.id.unwrap().id).collect::<Vec<_>>();
        let all = ListProposals::default();
        assert_eq!(ids(g.list_proposals(&all, p(9))), vec![ex, up, add, m1]);
        assert_eq!(ids(g.list_proposals(&ListProposals { limit: 2, ..all.clone() }, p(9))), vec![ex, up]);
        assert_eq!(
            ids(g.list_proposals(&ListProposals { before_proposal: Some(ProposalId { id: up }), ..all.clone() }, p(9))),
            vec![add, m1]
        );
        let executed = ListProposals { include_status: vec![ProposalDecisionStatus::Executed as i32], ..all.clone() };
        assert_eq!(ids(g.list_proposals(&executed, p(9))), vec![add]);
        let no_motions = ListProposals { exclude_type: vec![native_action_ids::MOTION], ..all.clone() };
        assert_eq!(ids(g.list_proposals(&no_motions, p(9))), vec![ex, up, add]);
        let topics = ListProposals {
            include_topics: Some(vec![TopicSelector { topic: Some(Topic::DappCanisterManagement) }]),
            ..all.clone()
        };
        assert_eq!(ids(g.list_proposals(&topics, p(9))), vec![up]);
        // Ballots: only the caller's; large blobs left out (get_proposal keeps them).
        let mine = g.list_proposals(&all, p(2));
        assert!(mine.proposals.iter().all(|p| p.ballots.len() == 1 && p.ballots[0].0 == nid(2).to_hex()));
        assert!(g.list_proposals(&all, p(9)).proposals.iter().all(|p| p.ballots.is_empty()));
        let action = |p: &ProposalData| p.proposal.as_ref().unwrap().action.clone().unwrap();
        match action(&mine.proposals[1]) {
            Action::UpgradeSnsControlledCanister(u) => assert!(u.new_canister_wasm.is_empty()),
            a => panic!("{a:?}"),
        }
        match action(&mine.proposals[0]) {
            Action::ExecuteGenericNervousSystemFunction(e) => assert!(e.payload.is_empty()),
            a => panic!("{a:?}"),
        }
        let full = g.get_proposal(&GetProposal { proposal_id: Some(ProposalId { id: up }) });
        match full.result {
            Some(GetProposalResult::Proposal(p)) => {
                assert_eq!(p.ballots.len(), 3);
                assert!(
                    matches!(action(&p), Action::UpgradeSnsControlledCanister(u) if !u.new_canister_wasm.is_empty())
                );
            }
            r => panic!("{r:?}"),
        }
        assert!(matches!(
            g.get_proposal(&GetProposal { proposal_id: Some(ProposalId { id: 99 }) }).result,
            Some(GetProposalResult::Error(_))
        ));
        assert!(matches!(g.get_proposal(&GetProposal { proposal_id: None }).result, Some(GetProposalResult::Error(_))));
    }

    #[test]
    fn list_limit_is_capped_at_100() {
        let mut g = gov();
        for i in 0..105 {
            submit(&mut g, 1, motion(), T0 + i);
        }
        let n = |limit| g.list_proposals(&ListProposals { limit, ..Default::default() }, p(1)).proposals.len();
        assert_eq!((n(0), n(5), n(100), n(1000)), (100, 5, 100, 100));
    }

    #[test]
    fn neurons_are_listed_by_id_and_principal() {
        let g = gov();
        let all = g.list_neurons(&ListNeurons::default()).neurons;
        assert_eq!(all.iter().map(|n| n.id.clone().unwrap()).collect::<Vec<_>>(), vec![nid(1), nid(2), nid(3)]);
        assert_eq!(all[0].cached_neuron_stake_e8s, 1_000_000_000_000_000, "10 M tokens by default");
        assert_eq!(all[0].dissolve_state, Some(DissolveState::DissolveDelaySeconds(31_557_600)), "1 year by default");
        assert_eq!(all[0].neuron_fees_e8s, 0);
        assert_eq!(all[0].permissions[0].principal, Some(p(1)));
        let of2 = g.list_neurons(&ListNeurons { of_principal: Some(p(2)), ..Default::default() }).neurons;
        assert_eq!(of2.len(), 1);
        let after1 =
            g.list_neurons(&ListNeurons { start_page_at: Some(nid(1)), limit: 1, ..Default::default() }).neurons;
        assert_eq!(after1[0].id, Some(nid(2)));
        assert!(matches!(
            g.get_neuron(&GetNeuron { neuron_id: Some(nid(3)) }).result,
            Some(GetNeuronResult::Neuron(_))
        ));
        assert!(matches!(g.get_neuron(&GetNeuron { neuron_id: Some(nid(4)) }).result, Some(GetNeuronResult::Error(_))));
    }

    #[test]
    fn state_round_trips_through_candid() {
        let mut g = gov();
        adopt(&mut g, proposal(Action::AddGenericNervousSystemFunction(function(1000))), T0);
        let bytes = candid::encode_one(&g).unwrap();
        assert_eq!(candid::decode_one::<Governance>(&bytes).unwrap(), g);
    }
}
