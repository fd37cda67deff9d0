//! Registers the platform's custom SNS functions (`sns/custom_functions/*.json`) by
//! `AddGenericNervousSystemFunction` proposals of the deployer's neuron, as a DAO does after its
//! launch. On the local SNS the deployer's neuron holds all the voting power, so each proposal
//! is adopted when made and executed at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use ic_agent::Agent;
use platform_types::sns::{ListNervousSystemFunctionsResponse, NeuronId, ProposalDecisionStatus};
use proposals::canister_ids::{CanisterIds, SnsCanisterIds};
use proposals::commands::Common;
use proposals::network;

use crate::Deployment;

/// The neuron `deploy` gives the deployer in the local SNS.
pub fn deployer_neuron() -> NeuronId {
    NeuronId { id: vec![1; 32] }
}

/// `sns/custom_functions` of this repository.
pub fn default_functions_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sns/custom_functions")
}

/// A function registered by this run.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Registered {
    pub function_id: u64,
    pub name: String,
    pub proposal_id: u64,
}

/// The canister names the function files use, resolved to this deployment's ids.
fn canister_ids(d: &Deployment) -> anyhow::Result<CanisterIds> {
    let mut ids = CanisterIds::new("local");
    let mut names = vec![("staking_hub", d.staking_hub), ("learning_content", d.learning_content), ("reward_ledger", d.reward_ledger)];
    if let Some(f) = d.frontend_assets {
        names.push(("frontend_assets", f));
        names.push(("frontend", f));
    }
    for (name, id) in names {
        ids.add_override(&format!("{name}={id}")).map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(ids)
}

/// Proposes every function of `dir` that SNS governance does not have yet (so a second run
/// registers only files added since), and waits (bounded) for each to be executed. A function
/// whose target canister is not part of the deployment (the web app's, without a web app) is
/// skipped with a warning on stderr.
pub async fn register_custom_functions(agent: &Agent, d: &Deployment, dir: &Path, neuron: &NeuronId) -> anyhow::Result<Vec<Registered>> {
    let specs = proposals::functions::load_specs(dir, &[], true).map_err(|e| anyhow::anyhow!(e))?;
    let registered: ListNervousSystemFunctionsResponse = {
        let bytes = agent
            .query(&d.sns_governance, "list_nervous_system_functions")
            .with_arg(candid::encode_args(())?)
            .call()
            .await
            .context("SNS governance: list_nervous_system_functions")?;
        candid::decode_one(&bytes).context("decoding list_nervous_system_functions")?
    };
    let ids = canister_ids(d)?;
    let sns = SnsCanisterIds { governance: Some(d.sns_governance), root: Some(d.sns_root), ledger: None, swap: None, index: None };
    let common = Common { neuron: neuron.clone(), title: None, summary: None, url: "https://github.com/".into() };
    let mut done = Vec::new();
    for spec in specs {
        if registered.functions.iter().any(|f| f.id == spec.id) || registered.reserved_ids.contains(&spec.id) {
            continue;
        }
        let mut warnings = Vec::new();
        let built = match proposals::commands::add_function(&common, &spec, &ids, Some(&sns), "", &mut warnings) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("platform-deploy: warning: custom function {} ({}) is not registered: {e}", spec.id, spec.name);
                continue;
            }
        };
        let id = network::make_proposal(agent, d.sns_governance, neuron, built.proposal)
            .await
            .with_context(|| format!("proposing custom function {} ({})", spec.id, spec.name))?;
        let data = match network::wait_for_outcome(agent, d.sns_governance, id, Duration::from_secs(120)).await? {
            Ok(data) => data,
            Err(data) => bail!("custom function {} ({}): proposal {} still {:?} after 120 s", spec.id, spec.name, id.id, data.status()),
        };
        if data.status() != ProposalDecisionStatus::Executed {
            let reason = data.failure_reason.as_ref().map(|e| e.error_message.clone()).unwrap_or_default();
            bail!("custom function {} ({}): proposal {} ended {:?} {reason}", spec.id, spec.name, id.id, data.status());
        }
        done.push(Registered { function_id: spec.id, name: spec.name.clone(), proposal_id: id.id });
    }
    Ok(done)
}
