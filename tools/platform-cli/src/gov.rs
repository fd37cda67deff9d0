//! Proposals of the deployer's neuron (the local SNS's only neuron, so each is adopted when
//! made), built with the `proposals` crate, submitted over HTTP, and awaited (bounded).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use sha2::Digest;
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

/// Waits (at most `timeout`) until `canister` runs the module whose SHA-256 is `wasm_hash`, read
/// from the certified state (`read_state_canister_module_hash`), as any DAO member can. An upgrade
/// proposal is Executed as soon as SNS root accepts it (root installs afterwards, as the real root
/// does), so this is how a failed upgrade (e.g. a trapping `post_upgrade`) shows: the old hash
/// stays. Errors name both hashes.
pub async fn wait_for_module_hash(agent: &Agent, canister: Principal, wasm_hash: &[u8; 32], timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let running = agent.read_state_canister_module_hash(canister).await.ok();
        match module_hash_check(canister, running.as_deref(), wasm_hash) {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() > deadline => bail!("{e} after {} s: the upgrade failed after the proposal was executed", timeout.as_secs()),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// `Ok` when the module hash read for `canister` is `expected`.
fn module_hash_check(canister: Principal, running: Option<&[u8]>, expected: &[u8; 32]) -> Result<(), String> {
    match running {
        Some(h) if h == expected => Ok(()),
        Some(h) => Err(format!("canister {canister} runs module {} instead of the proposal's {}", hex::encode(h), hex::encode(expected))),
        None => Err(format!("canister {canister}'s module hash cannot be read (no module?); the proposal's is {}", hex::encode(expected))),
    }
}

/// Submits an upgrade proposal of `canister` to `wasm` and, once it is Executed, waits (bounded)
/// until the canister runs that Wasm: an Executed proposal whose module never arrives becomes
/// an outcome "Executed, but ...", not executed.
pub async fn submit_upgrade(agent: &Agent, governance: Principal, proposal: Proposal, canister: Principal, wasm: &[u8], timeout: Duration) -> anyhow::Result<Outcome> {
    let mut outcome = submit(agent, governance, proposal, timeout).await?;
    if outcome.executed {
        let hash: [u8; 32] = sha2::Sha256::digest(wasm).into();
        if let Err(e) = wait_for_module_hash(agent, canister, &hash, timeout).await {
            outcome.executed = false;
            outcome.outcome = format!("Executed, but {e:#}");
        }
    }
    Ok(outcome)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_hash_check_names_both_hashes() {
        let canister = Principal::from_slice(&[7; 10]);
        let expected = [1u8; 32];
        assert_eq!(module_hash_check(canister, Some(&[1; 32]), &expected), Ok(()));
        let e = module_hash_check(canister, Some(&[2; 32]), &expected).unwrap_err();
        assert!(e.contains(&hex::encode([2u8; 32])) && e.contains(&hex::encode(expected)), "{e}");
        assert!(module_hash_check(canister, None, &expected).unwrap_err().contains("cannot be read"));
    }
}
