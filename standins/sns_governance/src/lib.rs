//! `sns_governance`: a local stand-in for SNS governance, for localnet tests and the demo. It
//! serves the real SNS governance Candid for the methods and cases this project uses
//! (`platform_types::sns`), with the real voting rules on fixed neurons from the init argument
//! (thresholds and periods by topic, wait-for-quiet, rejection fee, minimum dissolve delay). What differs from the
//! real SNS is listed in `docs/sns-local.md`. Test infrastructure, never deployed.
//!
//! Entry points only; the logic lives in the modules: `governance` (state and rules, plain
//! Rust), `validation` (proposal checks and renderings), `flows` (submissions, executions and
//! timers), `calls` (inter-canister calls), `state` (heap state, saved across upgrades).

mod calls;
mod flows;
pub mod governance;
mod state;
pub mod validation;

use platform_types::sns::*;

pub const CANISTER_NAME: &str = "sns_governance";

#[ic_cdk::init]
fn init(args: GovernanceInitArgs) {
    let g = governance::Governance::new(args, ic_cdk::api::canister_self(), flows::now_seconds())
        .unwrap_or_else(|e| ic_cdk::trap(format!("sns_governance init: {e}")));
    state::set(g);
}

#[ic_cdk::pre_upgrade]
fn pre_upgrade() {
    state::save();
}

/// Restores the state; executions that were under way are marked failed; the deadline timers of
/// the open proposals are armed again.
#[ic_cdk::post_upgrade]
fn post_upgrade() {
    let mut g = state::restore();
    g.interrupt_executions(flows::now_seconds());
    let deadlines = g.open_deadlines();
    state::set(g);
    for d in deadlines {
        flows::arm_deadline(d);
    }
}

/// Makes a proposal or votes with a neuron; the caller must be the neuron's controller
/// (`subaccount` is the neuron id).
#[ic_cdk::update]
async fn manage_neuron(req: ManageNeuron) -> ManageNeuronResponse {
    flows::manage_neuron(ic_cdk::api::msg_caller(), req).await
}

#[ic_cdk::query]
fn get_proposal(req: GetProposal) -> GetProposalResponse {
    state::with(|g| g.get_proposal(&req))
}

/// Newest first; at most 100; ballots of the caller's neurons only; Wasm modules (and custom
/// payloads over 1,000 bytes) left out: `get_proposal` has them.
#[ic_cdk::query]
fn list_proposals(req: ListProposals) -> ListProposalsResponse {
    state::with(|g| g.list_proposals(&req, ic_cdk::api::msg_caller()))
}

#[ic_cdk::query]
fn list_nervous_system_functions() -> ListNervousSystemFunctionsResponse {
    state::with(|g| g.list_functions())
}

#[ic_cdk::query]
fn list_neurons(req: ListNeurons) -> ListNeuronsResponse {
    state::with(|g| g.list_neurons(&req))
}

#[ic_cdk::query]
fn get_neuron(req: GetNeuron) -> GetNeuronResponse {
    state::with(|g| g.get_neuron(&req))
}

/// The parameters this governance applies (rejection fee, voting periods, minimum dissolve
/// delay to vote); the real record's other fields are left out.
#[ic_cdk::query]
fn get_nervous_system_parameters(_: ()) -> NervousSystemParameters {
    state::with(|g| g.parameters())
}

/// Always `Normal` (there is no swap).
#[ic_cdk::query]
fn get_mode(_: GetMode) -> GetModeResponse {
    GetModeResponse { mode: Some(governance_modes::NORMAL) }
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface {
    use std::path::Path;

    #[test]
    fn matches_committed_did_file() {
        platform_types::candid_check::check_platform_canister(super::CANISTER_NAME, &super::__export_service());
    }

    /// A client of the real SNS governance interface (for these methods) can call this canister,
    /// and this canister's types (the ones of `platform_types::sns`) can call the real one.
    #[test]
    fn candid_interface_is_compatible_with_the_real_sns_governance() {
        let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../candid/reference/sns_governance.did");
        platform_types::candid_check::check_against_reference(&super::__export_service(), &reference);
    }
}
