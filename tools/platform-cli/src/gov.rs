//! Proposals of the deployer's neuron (the local SNS's only neuron, so each is adopted when
//! made), built with the `proposals` crate, submitted over HTTP, and awaited (bounded).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use candid::Principal;
use ic_agent::Agent;
use platform_types::sns::{
    GetProposal, GetProposalResponse, GetProposalResult, ManageNeuron, ManageNeuronResponse, NeuronId, Proposal,
    ProposalData, ProposalDecisionStatus, ProposalId,
};
use proposals::commands::Common;

use crate::agents;

/// The deployer's neuron id (platform_deploy gives it `[1; 32]`).
pub fn neuron() -> NeuronId {
    NeuronId { id: vec![1; 32] }
}

/// The proposal's neuron and text; `summary` None takes the builder's default (where it has one).
pub fn common(title: Option<String>, summary: Option<&str>) -> Common {
    Common {
        neuron: neuron(),
        title,
        summary: summary.map(|s| s.to_string()),
        url: "https://github.com/".into(),
    }
}

/// What became of a proposal.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: u64,
    pub title: String,
    /// "Executed", "Failed: <reason>", "Rejected", or "Refused at submission: <reason>".
    pub outcome: String,
    pub executed: bool,
}

/// Submits `proposal` and waits (at most `timeout`) until it is executed, failed or rejected.
/// A refusal at submission (the validator said no) is an `Outcome`, not an error.
pub async fn submit(agent: &Agent, governance: Principal, proposal: Proposal, timeout: Duration) -> anyhow::Result<Outcome> {
    let title = proposal.title.clone();
    let reply: ManageNeuronResponse = agents::update1(agent, governance, "manage_neuron", (ManageNeuron::make_proposal(&neuron(), proposal),))
        .await
        .with_context(|| format!("submitting proposal {title:?}"))?;
    let id = match reply.proposal_id() {
        Ok(id) => id.id,
        Err(e) => {
            return Ok(Outcome { id: 0, title, outcome: format!("Refused at submission: {}", e.error_message), executed: false });
        }
    };
    let deadline = Instant::now() + timeout;
    loop {
        let r: GetProposalResponse = agents::query1(agent, governance, "get_proposal", (GetProposal { proposal_id: Some(ProposalId { id }) },)).await?;
        let Some(GetProposalResult::Proposal(data)) = r.result else { bail!("proposal {id} ({title}) cannot be read back: {:?}", r.result) };
        if let Some(outcome) = settled(&data) {
            let executed = outcome == "Executed";
            return Ok(Outcome { id, title, outcome, executed });
        }
        if Instant::now() > deadline {
            bail!("proposal {id} ({title}) was not executed within {} s (status {:?})", timeout.as_secs(), data.status());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn settled(data: &ProposalData) -> Option<String> {
    match data.status() {
        ProposalDecisionStatus::Executed => Some("Executed".into()),
        ProposalDecisionStatus::Failed => Some(format!(
            "Failed: {}",
            data.failure_reason.as_ref().map(|e| e.error_message.clone()).unwrap_or_default()
        )),
        ProposalDecisionStatus::Rejected => Some("Rejected".into()),
        _ => None,
    }
}
