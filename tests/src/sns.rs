//! The local SNS (standins/sns_governance, standins/sns_root) in tests: its neurons, its init
//! argument and a typed client of SNS governance, so every test file proposes, votes and reads
//! proposals the same way.

use candid::Principal;
use localnet::LocalNet;
use platform_types::sns::*;

/// Neuron `n`'s id: 32 bytes of `n`.
pub fn neuron(n: u8) -> NeuronId {
    NeuronId { id: vec![n; 32] }
}

/// Neurons `(n, voting power)` controlled by `controller(n)`, with the default stake and
/// dissolve delay.
pub fn initial_neurons(neurons: &[(u8, u64)], controller: impl Fn(u8) -> Principal) -> Vec<InitialNeuron> {
    neurons
        .iter()
        .map(|&(n, voting_power)| InitialNeuron {
            id: neuron(n).id,
            controller: controller(n),
            voting_power,
            stake_e8s: None,
            dissolve_delay_seconds: None,
        })
        .collect()
}

/// Governance's init argument: `neurons`, proposals open `voting_period_secs`, everything else
/// the local SNS's defaults (sns_init.yaml's rejection fee and minimum dissolve delay).
pub fn governance_init(root: Principal, neurons: Vec<InitialNeuron>, voting_period_secs: u64) -> GovernanceInitArgs {
    GovernanceInitArgs {
        root_canister_id: root,
        ledger_canister_id: None,
        swap_canister_id: None,
        neurons,
        initial_voting_period_seconds: voting_period_secs,
        reject_cost_e8s: None,
        neuron_minimum_dissolve_delay_to_vote_seconds: None,
        wait_for_quiet_deadline_increase_seconds: None,
    }
}

/// SNS governance `gov` on `net`. Calls that are rejected panic with the method's name;
/// governance's own answers are returned.
pub struct SnsGovernance<'a> {
    pub net: &'a LocalNet,
    pub gov: Principal,
}

impl SnsGovernance<'_> {
    pub fn manage_neuron(&self, caller: Principal, req: ManageNeuron) -> ManageNeuronResponse {
        let (r,): (ManageNeuronResponse,) =
            self.net.update_candid_as(self.gov, caller, "manage_neuron", (req,)).expect("manage_neuron");
        r
    }

    /// `caller` makes proposal `p` with neuron `n`.
    pub fn propose(&self, caller: Principal, n: u8, p: Proposal) -> Result<u64, GovernanceError> {
        self.manage_neuron(caller, ManageNeuron::make_proposal(&neuron(n), p)).proposal_id().map(|p| p.id)
    }

    /// `caller` votes on proposal `id` with neuron `n`.
    pub fn vote(&self, caller: Principal, n: u8, id: u64, vote: Vote) -> Result<(), GovernanceError> {
        self.manage_neuron(caller, ManageNeuron::register_vote(&neuron(n), ProposalId { id }, vote)).vote_result()
    }

    /// Proposal `id`; panics if governance does not know it.
    pub fn proposal(&self, id: u64) -> ProposalData {
        let (r,): (GetProposalResponse,) = self
            .net
            .query_candid(self.gov, "get_proposal", (GetProposal { proposal_id: Some(ProposalId { id }) },))
            .expect("get_proposal");
        match r.result {
            Some(GetProposalResult::Proposal(p)) => p,
            other => panic!("get_proposal {id}: {other:?}"),
        }
    }

    pub fn list(&self, req: ListProposals) -> Vec<ProposalData> {
        let (r,): (ListProposalsResponse,) =
            self.net.query_candid(self.gov, "list_proposals", (req,)).expect("list_proposals");
        r.proposals
    }
}
