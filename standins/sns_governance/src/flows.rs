//! The asynchronous parts: submitting a proposal (validator or root checks), executing adopted
//! proposals (custom function targets, root), and the deadline timers. The state changes
//! themselves are `Governance` methods.

use crate::governance::{Check, Execution};
use crate::{calls, state, validation};
use candid::Principal;
use platform_types::sns::*;
use std::time::Duration;

const NANOS: u64 = 1_000_000_000;

pub fn now_seconds() -> u64 {
    ic_cdk::api::time() / NANOS
}

fn external(m: String) -> GovernanceError {
    GovernanceError::new(ErrorType::External, m)
}

pub async fn manage_neuron(caller: Principal, req: ManageNeuron) -> ManageNeuronResponse {
    let result = match req.command {
        None => Err(GovernanceError::new(
            ErrorType::InvalidCommand,
            "No command, or a command this governance does not support (MakeProposal and RegisterVote only)",
        )),
        Some(Command::MakeProposal(p)) => make_proposal(caller, &req.subaccount, p)
            .await
            .map(|id| CommandResponse::MakeProposal(GetProposal { proposal_id: Some(id) })),
        Some(Command::RegisterVote(v)) => {
            register_vote(caller, &req.subaccount, &v).map(|_| CommandResponse::RegisterVote(Empty {}))
        }
    };
    ManageNeuronResponse { command: Some(result.unwrap_or_else(CommandResponse::Error)) }
}

async fn make_proposal(
    caller: Principal,
    subaccount: &[u8],
    proposal: Proposal,
) -> Result<ProposalId, GovernanceError> {
    process_now();
    let (neuron, submission, root) = state::with(|g| {
        let neuron = g.authorize(caller, subaccount)?;
        g.check_proposer(&neuron)?;
        Ok::<_, GovernanceError>((neuron, g.prepare(&proposal)?, g.root))
    })?;
    let rendering = match submission.check {
        Check::None => submission.rendering,
        Check::Validator { canister, method, payload, function } => {
            let text = calls::validate(canister, &method, &payload)
                .await
                .map_err(|e| GovernanceError::new(ErrorType::InvalidProposal, format!("Invalid proposal: {e}")))?;
            validation::render_execute(&function, &payload, &text)
        }
        Check::RegisteredDapps { action, canisters } => {
            let dapps = calls::list_dapps(root).await.map_err(external)?;
            let strangers: Vec<Principal> = canisters.into_iter().filter(|c| !dapps.contains(c)).collect();
            if !strangers.is_empty() {
                return Err(not_a_dapp(action, &strangers));
            }
            submission.rendering
        }
    };
    let now = now_seconds();
    let (id, deadline) = state::with_mut(|g| {
        let id = g.create_proposal(&neuron, proposal, rendering, now)?;
        Ok::<_, GovernanceError>((id, g.proposals[&id.id].deadline_timestamp_seconds()))
    })?;
    arm_deadline(deadline);
    process_now();
    Ok(id)
}

fn not_a_dapp(action: &str, canisters: &[Principal]) -> GovernanceError {
    let names: Vec<String> = canisters.iter().map(|c| c.to_text()).collect();
    let verb = if canisters.len() == 1 { "is" } else { "are" };
    GovernanceError::new(
        ErrorType::InvalidProposal,
        format!(
            "Invalid proposal: {action} can only name dapp canisters that are registered with the SNS root; {} {verb} not",
            names.join(", ")
        ),
    )
}

/// A vote that turns the result may extend the deadline (wait-for-quiet): the timer is armed
/// again for the new deadline (the old one then finds nothing to decide).
fn register_vote(caller: Principal, subaccount: &[u8], v: &RegisterVote) -> Result<(), GovernanceError> {
    process_now();
    state::with_mut(|g| g.register_vote(caller, subaccount, v, now_seconds()))?;
    let deadline = |id| state::with(|g| g.open_deadline(id));
    let id = v.proposal.map(|p| p.id).unwrap_or_default();
    let before = deadline(id);
    process_now();
    if let Some(after) = deadline(id).filter(|after| Some(*after) != before) {
        arm_deadline(after);
    }
    Ok(())
}

/// Decides what can be decided now and starts executing what was adopted.
pub fn process_now() {
    let adopted = state::with_mut(|g| g.process(now_seconds()));
    for id in adopted {
        ic_cdk::futures::spawn(execute(id));
    }
}

async fn execute(id: u64) {
    let (execution, root) = state::with_mut(|g| (g.begin_execution(id, now_seconds()), g.root));
    let result = match execution {
        Execution::Finished => return,
        Execution::CallTarget { canister, method, payload } => {
            calls::call_target(canister, &method, &payload).await.map_err(external)
        }
        Execution::Upgrade(request) => match calls::list_dapps(root).await {
            Err(e) => Err(external(e)),
            Ok(dapps) if !dapps.contains(&request.canister_id) => Err(GovernanceError::new(
                ErrorType::PreconditionFailed,
                not_a_dapp("UpgradeSnsControlledCanister", &[request.canister_id])
                    .error_message
                    .replace("Invalid proposal: ", ""),
            )),
            Ok(_) => calls::change_canister(root, &request).await.map_err(external),
        },
        Execution::RegisterDapps(ids) => calls::register_dapp_canisters(root, ids).await.map_err(external),
        Execution::ManageDappSettings(request) => calls::manage_dapp_canister_settings(root, &request).await.map_err(external),
    };
    state::with_mut(|g| g.finish_execution(id, result, now_seconds()));
}

/// A one-shot timer at a proposal's deadline (timers do not survive upgrades: `post_upgrade`
/// arms them again for the open proposals).
pub fn arm_deadline(deadline_seconds: u64) {
    let delay = deadline_seconds.saturating_mul(NANOS).saturating_sub(ic_cdk::api::time());
    ic_cdk_timers::set_timer(Duration::from_nanos(delay), async { process_now() });
}
