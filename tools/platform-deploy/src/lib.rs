//! Installs the platform on a running network over the IC HTTP interface, as a developer's
//! deploy script would: canisters are created with `provisional_create_canister_with_cycles`
//! and installed with `install_code` through the management canister, with ic-agent verifying
//! every certificate against the network's root key.
//!
//! What is installed: the local SNS stand-ins (governance with one neuron of the deployer, and
//! root), learning_content with the seed course (content/), the reward ledger (ICRC-1/2/3, minting account =
//! the hub) and the admin-less staking_hub. Finally the hub, learning_content, the reward
//! ledger (and the web app's canister) are handed to SNS root, their only controller, as after an
//! SNS launch; [`functions::register_custom_functions`] then registers the custom proposals.
//!
//! With a web app directory ([`DeployOptions::frontend`]), the `frontend_assets` canister
//! (ic-certified-assets) is installed too and the web app uploaded with a generated
//! `/platform.json`; then SNS governance gets the Commit permission and the deployer keeps only
//! Prepare, so later changes go through `propose_commit_batch` and an SNS proposal (custom
//! function 1006, `commit_proposed_batch`; see docs/frontend.md and [`assets`]).

pub mod assets;
pub mod functions;
pub mod id_stores;
pub mod init_args;
mod seed_course;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use candid::{CandidType, Principal};
use ic_agent::Agent;
use ic_management_canister_types as mgmt;
use icrc_ledger::types::{FeatureFlags, InitArgs, LedgerArgument};
use icrc_ledger_types::icrc1::account::Account;
use platform_types::sns::root::SnsRootCanister;
use platform_types::icp_refill::IcpRefillIds;
use platform_types::sns::{GovernanceInitArgs, InitialNeuron};
use platform_types::*;
use serde::Serialize;

/// 100T cycles, the IC's provisional default.
const CREATE_CYCLES: u128 = 100_000_000_000_000;

/// Canister ids of a deployment and the answer keys of its units (for tests and demos).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Deployment {
    pub staking_hub: Principal,
    pub learning_content: Principal,
    pub reward_ledger: Principal,
    pub sns_governance: Principal,
    pub sns_root: Principal,
    /// The web app's asset canister, when deployed with a web app directory.
    #[serde(default)]
    pub frontend_assets: Option<Principal>,
    /// The local ICP ledger and CMC the hub refills itself through (absent in older records).
    #[serde(default)]
    pub icp_ledger: Option<Principal>,
    #[serde(default)]
    pub cmc: Option<Principal>,
    pub units: Vec<UnitKey>,
}

/// What [`deploy_with`] installs beyond the platform's canisters.
#[derive(Clone, Debug, Default)]
pub struct DeployOptions {
    /// Configuration of the hub (`HubInitArgs.config`).
    pub config: Option<ConfigOverrides>,
    /// A built web app (frontend/dist) to serve from a `frontend_assets` canister.
    pub frontend: Option<PathBuf>,
    /// Who may register (`HubInitArgs.registration_policy`). None leaves the hub's default,
    /// closed (invite codes, none issued); local networks pass `Open`.
    pub registration_policy: Option<RegistrationPolicy>,
}

/// The `/platform.json` the web app reads at start: the network and the ids it cannot learn
/// from the hub (the other ids come from the hub's `get_init_args`).
pub fn platform_json(network: &str, staking_hub: Principal, frontend: Principal) -> Vec<u8> {
    serde_json::to_vec_pretty(&serde_json::json!({
        "network": network,
        "staking_hub": staking_hub.to_text(),
        "frontend": frontend.to_text(),
    }))
    .expect("JSON of strings")
}

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct UnitKey {
    pub unit_id: String,
    pub answers: Vec<u32>,
}

/// Where `scripts/build-canisters.sh` puts the packaged Wasm (override: CANISTER_WASM_DIR).
pub fn default_wasm_dir() -> PathBuf {
    std::env::var_os("CANISTER_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/canisters"))
}

fn read_wasm(dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(format!("{name}.wasm.gz"));
    std::fs::read(&path).with_context(|| format!("reading {} (build it: bash scripts/build-canisters.sh)", path.display()))
}

/// The units a deployment starts with: the seed course (`content/seed-course.json`).
pub fn starter_units() -> Vec<UnitInput> {
    seed_course::units()
}

/// Management canister calls through the agent.
pub struct Management<'a> {
    pub agent: &'a Agent,
}

impl Management<'_> {
    async fn call<A: CandidType, R: for<'de> candid::Deserialize<'de> + CandidType>(
        &self,
        method: &str,
        effective: Principal,
        arg: A,
    ) -> anyhow::Result<R> {
        let bytes = self
            .agent
            .update(&Principal::management_canister(), method)
            .with_effective_canister_id(effective)
            .with_arg(candid::encode_one(arg)?)
            .call_and_wait()
            .await
            .with_context(|| format!("management canister: {method}"))?;
        candid::decode_one(&bytes).with_context(|| format!("decoding the reply of {method}"))
    }

    /// A new canister controlled by the caller, with 100T cycles. On a one-subnet network any
    /// canister id of the subnet's range serves as the effective canister id.
    pub async fn create_canister(&self) -> anyhow::Result<Principal> {
        let effective = Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
        let args = mgmt::ProvisionalCreateCanisterWithCyclesArgs {
            amount: Some(CREATE_CYCLES.into()),
            settings: None,
            specified_id: None,
            sender_canister_version: None,
        };
        let r: mgmt::CanisterIdRecord = self.call("provisional_create_canister_with_cycles", effective, args).await?;
        Ok(r.canister_id)
    }

    pub async fn install(&self, canister: Principal, wasm: Vec<u8>, arg: Vec<u8>) -> anyhow::Result<()> {
        let args = mgmt::InstallCodeArgs {
            mode: mgmt::CanisterInstallMode::Install,
            canister_id: canister,
            wasm_module: wasm,
            arg,
            sender_canister_version: None,
        };
        self.call::<_, ()>("install_code", canister, args).await
    }

    pub async fn set_controllers(&self, canister: Principal, controllers: Vec<Principal>) -> anyhow::Result<()> {
        let args = mgmt::UpdateSettingsArgs {
            canister_id: canister,
            settings: mgmt::CanisterSettings { controllers: Some(controllers), ..Default::default() },
            sender_canister_version: None,
        };
        self.call::<_, ()>("update_settings", canister, args).await
    }
}

/// Installs the platform with the agent's identity as deployer (and the one SNS neuron's owner),
/// without a web app.
pub async fn deploy(agent: &Agent, wasm_dir: &Path, config: Option<ConfigOverrides>) -> anyhow::Result<Deployment> {
    deploy_with(agent, wasm_dir, &DeployOptions { config, frontend: None, registration_policy: Some(RegistrationPolicy::Open) }).await
}

/// Installs the platform, and the web app's asset canister when `options.frontend` is given.
pub async fn deploy_with(agent: &Agent, wasm_dir: &Path, options: &DeployOptions) -> anyhow::Result<Deployment> {
    let config = options.config.clone();
    // Read before anything is created, so a missing Wasm or web app fails early.
    let frontend_wasm = match &options.frontend {
        Some(dir) => {
            assets::collect_dir(dir, &[]).with_context(|| format!("the web app in {}", dir.display()))?;
            Some(read_wasm(wasm_dir, "frontend_assets")?)
        }
        None => None,
    };
    let me = agent.get_principal().map_err(|e| anyhow::anyhow!("the agent's identity has no principal: {e}"))?;
    if me == Principal::anonymous() {
        bail!("deploy with a signing identity: the anonymous principal cannot own the SNS neuron");
    }
    let mgmt = Management { agent };
    let hub = mgmt.create_canister().await?;
    let content = mgmt.create_canister().await?;
    let ledger = mgmt.create_canister().await?;
    let governance = mgmt.create_canister().await?;
    let root = mgmt.create_canister().await?;
    let frontend = match frontend_wasm {
        Some(_) => Some(mgmt.create_canister().await?),
        None => None,
    };
    // The SNS-controlled canisters of sns/sns_init.yaml's dapp_canisters.
    let mut dapps = vec![hub, content, ledger];
    dapps.extend(frontend);

    let init = GovernanceInitArgs {
        root_canister_id: root,
        ledger_canister_id: None,
        swap_canister_id: None,
        neurons: vec![InitialNeuron { id: vec![1; 32], controller: me, voting_power: 100, stake_e8s: None, dissolve_delay_seconds: None }],
        initial_voting_period_seconds: 4 * 86_400,
        // sns_init.yaml's rejection fee and minimum dissolve delay; the neuron's default stake
        // (10 M tokens) and dissolve delay (1 year) let it propose and vote.
        reject_cost_e8s: None,
        neuron_minimum_dissolve_delay_to_vote_seconds: None,
        wait_for_quiet_deadline_increase_seconds: None,
    };
    mgmt.install(governance, read_wasm(wasm_dir, "sns_governance")?, candid::encode_one(init)?).await?;
    let init = SnsRootCanister { governance_canister_id: Some(governance), dapp_canister_ids: dapps.clone(), ..Default::default() };
    mgmt.install(root, read_wasm(wasm_dir, "sns_root")?, candid::encode_one(init)?).await?;

    let units = starter_units();
    let keys = units.iter().map(|u| UnitKey { unit_id: u.unit.id.clone(), answers: u.answer_key.clone() }).collect();
    let init = ContentInitArgs { hub_id: hub, sns_governance_id: governance, units, pass_mark_percent: Some(60) };
    mgmt.install(content, read_wasm(wasm_dir, "learning_content")?, candid::encode_one(init)?).await?;

    let init = LedgerArgument::Init(InitArgs {
        minting_account: Account { owner: hub, subaccount: None },
        fee_collector_account: None,
        transfer_fee: init_args::TRANSFER_FEE_E8S.into(),
        decimals: Some(init_args::DECIMALS),
        max_memo_length: None,
        token_symbol: init_args::TOKEN_SYMBOL.into(),
        token_name: init_args::TOKEN_NAME.into(),
        metadata: vec![],
        initial_balances: vec![],
        feature_flags: Some(FeatureFlags { icrc2: true }),
    });
    mgmt.install(ledger, read_wasm(wasm_dir, "icrc_ledger")?, candid::encode_one(init)?).await?;
    let (icp_ledger, cmc) = install_icp_standins(&mgmt, wasm_dir, me).await?;
    let init = HubInitArgs {
        ledger_id: ledger,
        learning_content_id: content,
        sns_governance_id: governance,
        config,
        registration_policy: options.registration_policy.clone(),
        icp_refill: Some(IcpRefillIds { icp_ledger_id: icp_ledger, cmc_id: cmc }),
    };
    mgmt.install(hub, read_wasm(wasm_dir, "staking_hub")?, candid::encode_one(init)?).await?;

    if let (Some(id), Some(wasm), Some(dir)) = (frontend, frontend_wasm, &options.frontend) {
        install_frontend(agent, me, id, wasm, dir, hub, governance).await?;
    }

    // As after an SNS launch: root alone controls the platform's canisters.
    for id in dapps {
        mgmt.set_controllers(id, vec![root]).await?;
    }
    Ok(Deployment {
        staking_hub: hub,
        learning_content: content,
        reward_ledger: ledger,
        sns_governance: governance,
        sns_root: root,
        frontend_assets: frontend,
        icp_ledger: Some(icp_ledger),
        cmc: Some(cmc),
        units: keys,
    })
}

/// ICP the deployer holds on the local ICP ledger, to try the hub's refill from ICP with.
pub const DEPLOYER_ICP_E8S: u64 = 10_000 * 100_000_000;

/// The local ICP ledger and cycles minting canister (standins/icp_ledger, standins/cmc; see
/// docs/cmc-local.md), so the hub's refill from ICP works as on the IC: the deployer holds
/// [`DEPLOYER_ICP_E8S`]; the CMC burns what it converts to its minting account and pays
/// top-ups from its own cycles (100 T at creation).
async fn install_icp_standins(mgmt: &Management<'_>, wasm_dir: &Path, deployer: Principal) -> anyhow::Result<(Principal, Principal)> {
    use platform_types::cmc::{AccountIdentifier, CyclesCanisterInitPayload, LedgerCanisterPayload, LedgerInitArgs, Tokens, DEFAULT_SUBACCOUNT};
    let icp_ledger = mgmt.create_canister().await?;
    let cmc = mgmt.create_canister().await?;
    let minting = AccountIdentifier::new(&cmc, &DEFAULT_SUBACCOUNT).to_hex();
    let init = LedgerCanisterPayload::Init(LedgerInitArgs {
        minting_account: minting.clone(),
        icrc1_minting_account: None,
        initial_values: vec![(AccountIdentifier::new(&deployer, &DEFAULT_SUBACCOUNT).to_hex(), Tokens::from_e8s(DEPLOYER_ICP_E8S))],
        max_message_size_bytes: None,
        transaction_window: None,
        archive_options: None,
        send_whitelist: vec![],
        transfer_fee: None,
        token_symbol: Some("ICP".into()),
        token_name: Some("Internet Computer (local)".into()),
        feature_flags: None,
    });
    mgmt.install(icp_ledger, read_wasm(wasm_dir, "icp_ledger")?, candid::encode_one(init)?).await.context("installing the local ICP ledger")?;
    let init = Some(CyclesCanisterInitPayload { ledger_canister_id: Some(icp_ledger), minting_account_id: Some(minting), ..Default::default() });
    mgmt.install(cmc, read_wasm(wasm_dir, "cmc")?, candid::encode_one(init)?).await.context("installing the local CMC")?;
    Ok((icp_ledger, cmc))
}

/// Installs frontend_assets (the installer gets Commit), uploads the web app with its
/// `/platform.json`, then hands the Commit permission to SNS governance: the deployer keeps
/// Prepare only, so it can stage changes but not apply them.
async fn install_frontend(
    agent: &Agent,
    me: Principal,
    id: Principal,
    wasm: Vec<u8>,
    dir: &Path,
    hub: Principal,
    governance: Principal,
) -> anyhow::Result<()> {
    use assets::Permission;
    let mgmt = Management { agent };
    let init: Option<assets::AssetCanisterArgs> = Some(assets::AssetCanisterArgs::Init(assets::InitArgs::default()));
    mgmt.install(id, wasm, candid::encode_one(init)?).await.context("installing frontend_assets")?;
    let extra = [("/platform.json".to_string(), platform_json("local", hub, id))];
    assets::upload_dir(agent, id, dir, &extra).await.with_context(|| format!("uploading {}", dir.display()))?;
    assets::grant_permission(agent, id, governance, Permission::Commit).await?;
    assets::grant_permission(agent, id, me, Permission::Prepare).await?;
    assets::revoke_permission(agent, id, me, Permission::Commit).await?;
    Ok(())
}
