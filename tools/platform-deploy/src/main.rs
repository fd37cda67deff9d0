//! `platform-deploy`: deploys the platform (see `--help` and docs/deploy.md).
//!
//! - (no subcommand) The whole sequence on a local network that speaks the IC HTTP interface
//!   (`localnet serve`): create the ids, install the local SNS, learning_content, the reward
//!   ledger and staking_hub in that order with their init arguments, hand the platform's
//!   canisters to SNS root, register the custom SNS functions by proposal, and record the ids
//!   where `icp` and `dfx` look them up (`--project-dir`). Prints (or writes) the ids and the
//!   starter units' answer keys as JSON.
//! - `init-args`: the install arguments of a mainnet deployment, from the ids `icp canister
//!   create -e ic` (or `dfx canister create --network ic`) recorded.
//! - `propose-assets`, `compute-evidence`: a web app release through SNS proposal 1006
//!   (docs/frontend.md).

use std::path::PathBuf;

use anyhow::{bail, Context};
use candid::Principal;
use clap::{Args, Parser, Subcommand};
use ic_agent::identity::BasicIdentity;
use ic_agent::{Agent, Identity};
use platform_deploy::{assets, functions, id_stores, init_args};
use platform_types::RegistrationPolicy;

#[derive(Parser, Debug)]
#[command(name = "platform-deploy", about = "Deploys the platform (docs/deploy.md)", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    deploy: DeployArgs,
}

/// Who signs.
#[derive(Args, Debug, Clone, Default)]
struct IdentityArgs {
    /// PEM file of the identity: Ed25519 (PKCS#8, as icp-cli and `dfx identity export` write) or
    /// secp256k1 (dfx's default). It becomes the local SNS neuron's owner.
    #[arg(long, conflicts_with = "identity_seed")]
    pem: Option<PathBuf>,
    /// Instead of --pem: an Ed25519 key from 32 bytes in hex (tests).
    #[arg(long)]
    identity_seed: Option<String>,
}

#[derive(Args, Debug)]
struct DeployArgs {
    /// The network's URL (e.g. http://127.0.0.1:4943, `localnet serve`).
    #[arg(long, visible_alias = "network")]
    url: Option<String>,
    /// The network's root key (DER file; localnet writes it to <state dir>/root_key.der).
    #[arg(long)]
    root_key: Option<PathBuf>,
    #[command(flatten)]
    identity: IdentityArgs,
    /// Where the packaged Wasm are (scripts/build-canisters.sh).
    #[arg(long, default_value_os_t = platform_deploy::default_wasm_dir())]
    wasm_dir: PathBuf,
    /// A built web app (frontend/dist): also install frontend_assets serving it.
    #[arg(long)]
    frontend_dir: Option<PathBuf>,
    /// Who may register: open (a local network's default) or invite-code.
    #[arg(long, default_value = "open", value_parser = parse_registration)]
    registration: RegistrationPolicy,
    /// The custom SNS functions to register (one JSON file each).
    #[arg(long, default_value_os_t = functions::default_functions_dir())]
    functions_dir: PathBuf,
    /// Do not register the custom functions.
    #[arg(long)]
    no_functions: bool,
    /// Record the ids for icp-cli (.icp/data/mappings/<environment>.ids.json) and dfx
    /// (.dfx/<dfx-network>/canister_ids.json) in this project directory.
    #[arg(long)]
    project_dir: Option<PathBuf>,
    /// The icp-cli environment the ids are recorded under (icp.yaml's `local`).
    #[arg(long, default_value = "local")]
    environment: String,
    /// The dfx network the ids are recorded under (dfx.json's `localnet`).
    #[arg(long, default_value = "localnet")]
    dfx_network: String,
    /// Write the JSON here instead of printing it.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The web app's canister, a built web app, and the network.
#[derive(Args, Debug)]
struct AssetTarget {
    #[arg(long)]
    canister: String,
    #[arg(long)]
    dir: PathBuf,
    #[arg(long, visible_alias = "network")]
    url: String,
    /// Omit for the IC (the agent knows its key).
    #[arg(long)]
    root_key: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Writes the install arguments of a mainnet deployment (Candid text, one file per canister).
    InitArgs {
        /// The ids: icp-cli's .icp/data/mappings/ic.ids.json or dfx's canister_ids.json.
        #[arg(long)]
        ids: PathBuf,
        /// The network entry to read from a dfx canister_ids.json.
        #[arg(long, default_value = "ic")]
        network: String,
        /// Controller of the ledger's archives (the deployer; the DAO changes it later).
        #[arg(long)]
        archive_controller: String,
        /// Who may register at first: closed (invite codes, none issued; the default) or open.
        #[arg(long, default_value = "closed")]
        registration: String,
        /// Output directory (icp.yaml and dfx.json read deploy/init-args/ic).
        #[arg(long, default_value = "deploy/init-args/ic")]
        out: PathBuf,
    },
    /// Uploads a built web app to frontend_assets while the identity still holds Commit (the
    /// first upload, before the SNS launch), with the `/platform.json` the web app reads.
    UploadAssets {
        #[command(flatten)]
        target: AssetTarget,
        /// The hub the web app talks to (written to /platform.json).
        #[arg(long)]
        staking_hub: String,
        /// `ic`, or `local` for a local network (written to /platform.json).
        #[arg(long, default_value = "ic")]
        network_name: String,
        #[command(flatten)]
        identity: IdentityArgs,
    },
    /// Stages a new web app release in frontend_assets and locks it for an SNS proposal.
    ProposeAssets {
        #[command(flatten)]
        target: AssetTarget,
        #[command(flatten)]
        identity: IdentityArgs,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// For voters: the evidence a propose-assets of DIR gives, computed locally.
    ComputeEvidence {
        #[command(flatten)]
        target: AssetTarget,
    },
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("platform-deploy: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => deploy(cli.deploy).await,
        Some(Command::InitArgs { ids, network, archive_controller, registration, out }) => {
            let ids = id_stores::read(&ids, &network)?;
            let archive_controller = parse_principal("--archive-controller", &archive_controller)?;
            let registration_policy = match registration.as_str() {
                "closed" => None,
                "open" => Some(RegistrationPolicy::Open),
                other => bail!("--registration: expected closed or open, got {other:?}"),
            };
            let args = init_args::mainnet(&ids, &init_args::MainnetOptions { archive_controller, registration_policy })?;
            for path in init_args::write(&out, &args)? {
                println!("{}", path.display());
            }
            eprintln!(
                "platform-deploy: install in this order (docs/deploy.md): {}; the ledger Wasm is {} (sha256 {})",
                args.iter().map(|a| a.canister).collect::<Vec<_>>().join(", "),
                init_args::ledger_wasm_url(),
                init_args::LEDGER_WASM_SHA256
            );
            Ok(())
        }
        Some(Command::UploadAssets { target: AssetTarget { canister, dir, url, root_key }, staking_hub, network_name, identity }) => {
            let canister = parse_principal("--canister", &canister)?;
            let hub = parse_principal("--staking-hub", &staking_hub)?;
            let Some(identity) = load_identity(&identity)? else { bail!("upload-assets needs --pem: an identity holding the Commit permission") };
            let agent = agent(&url, root_key, identity)?;
            let extra = [("/platform.json".to_string(), platform_deploy::platform_json(&network_name, hub, canister))];
            let summary = assets::upload_dir(&agent, canister, &dir, &extra).await.with_context(|| format!("uploading {}", dir.display()))?;
            eprintln!("upload-assets: {} operations, {} bytes", summary.operations, summary.bytes);
            Ok(())
        }
        Some(Command::ProposeAssets { target: AssetTarget { canister, dir, url, root_key }, identity, out }) => {
            let canister = parse_principal("--canister", &canister)?;
            let Some(identity) = load_identity(&identity)? else {
                bail!("propose-assets needs --pem (or --identity-seed): the identity holding the Prepare permission")
            };
            let agent = agent(&url, root_key, identity)?;
            // The web app's build has no platform.json: keep the one generated at deploy.
            let extra = platform_json_of(&agent, canister).await?;
            let proposed = assets::propose_dir(&agent, canister, &dir, &extra).await?;
            let s = &proposed.summary;
            eprintln!(
                "propose-assets: batch {} locked: {} operations, {} encodings uploaded ({} bytes in {} chunks), {} assets deleted",
                proposed.batch_id, s.operations, s.uploaded_encodings.len(), s.bytes, s.chunks, s.deleted.len()
            );
            let json = serde_json::to_string_pretty(&serde_json::json!({
                "batch_id": u64::try_from(&proposed.batch_id.0).map(serde_json::Value::from).unwrap_or_else(|_| proposed.batch_id.0.to_string().into()),
                "evidence_hex": hex::encode(&proposed.evidence),
            }))?;
            emit(out, json)
        }
        Some(Command::ComputeEvidence { target: AssetTarget { canister, dir, url, root_key } }) => {
            let canister = parse_principal("--canister", &canister)?;
            let agent = Agent::builder().with_url(url).build()?;
            if let Some(path) = root_key {
                agent.set_root_key(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
            }
            let extra = platform_json_of(&agent, canister).await?;
            let evidence = assets::local_evidence(&agent, canister, &dir, &extra).await?;
            println!("{}", hex::encode(evidence));
            Ok(())
        }
    }
}

async fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    let url = args.url.context("--url is required (the network, e.g. http://127.0.0.1:4943)")?;
    if proposals::network::is_ic_mainnet(&url) {
        bail!("the whole-sequence deploy is for a local network (it installs a local SNS): for the IC, see docs/deploy.md (icp canister create, platform-deploy init-args, icp canister install)");
    }
    // A local network: its root key must be given (provisional canister creation needs one).
    let root_key = args.root_key.context("--root-key is required (localnet writes <state dir>/root_key.der)")?;
    let identity = match load_identity(&args.identity)? {
        Some(identity) => identity,
        // A throwaway key: the platform is deployed, but nobody can use the SNS neuron later.
        None => {
            let seed: [u8; 32] = std::array::from_fn(|i| (std::process::id() as u8).wrapping_mul(31).wrapping_add(i as u8) ^ 0x5c);
            Box::new(BasicIdentity::from_raw_key(&seed))
        }
    };
    let agent = agent(&url, Some(root_key), identity)?;
    let options = platform_deploy::DeployOptions { config: None, frontend: args.frontend_dir, registration_policy: Some(args.registration) };
    let deployment = platform_deploy::deploy_with(&agent, &args.wasm_dir, &options).await?;
    eprintln!("platform-deploy: installed; staking_hub {} (controllers: SNS root {})", deployment.staking_hub, deployment.sns_root);
    let registered = if args.no_functions {
        Vec::new()
    } else {
        let done = functions::register_custom_functions(&agent, &deployment, &args.functions_dir, &functions::deployer_neuron()).await?;
        for r in &done {
            eprintln!("platform-deploy: custom function {} ({}) registered by proposal {}", r.function_id, r.name, r.proposal_id);
        }
        done
    };
    if let Some(project) = &args.project_dir {
        let [icp, dfx] = id_stores::record(project, &args.environment, &args.dfx_network, &id_stores::named_ids(&deployment))?;
        eprintln!("platform-deploy: ids recorded in {} and {}", icp.display(), dfx.display());
    }
    let mut json = serde_json::to_value(&deployment)?;
    json["custom_functions"] = serde_json::to_value(&registered)?;
    emit(args.out, serde_json::to_string_pretty(&json)?)
}

fn emit(out: Option<PathBuf>, json: String) -> anyhow::Result<()> {
    match out {
        Some(path) => std::fs::write(&path, json).with_context(|| format!("writing {}", path.display())),
        None => {
            println!("{json}");
            Ok(())
        }
    }
}

fn agent(url: &str, root_key: Option<PathBuf>, identity: Box<dyn Identity>) -> anyhow::Result<Agent> {
    let agent = Agent::builder().with_url(url).with_boxed_identity(identity).build().with_context(|| format!("the network URL {url:?}"))?;
    if let Some(path) = root_key {
        agent.set_root_key(std::fs::read(&path).with_context(|| format!("reading the root key {}", path.display()))?);
    }
    Ok(agent)
}

async fn platform_json_of(agent: &Agent, canister: Principal) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    Ok(assets::get_asset(agent, canister, "/platform.json").await?.map(|bytes| ("/platform.json".to_string(), bytes)).into_iter().collect())
}

fn load_identity(args: &IdentityArgs) -> anyhow::Result<Option<Box<dyn Identity>>> {
    if let Some(pem) = &args.pem {
        return proposals::network::identity_from_pem(pem).map(Some);
    }
    match &args.identity_seed {
        Some(h) => {
            let v = hex::decode(h).context("--identity-seed is not hex")?;
            let seed: [u8; 32] = v.try_into().map_err(|_| anyhow::anyhow!("--identity-seed must be 32 bytes"))?;
            Ok(Some(Box::new(BasicIdentity::from_raw_key(&seed))))
        }
        None => Ok(None),
    }
}

fn parse_principal(flag: &str, text: &str) -> anyhow::Result<Principal> {
    Principal::from_text(text).with_context(|| format!("{flag} {text:?} is not a principal"))
}

/// `--registration`: the hub's initial registration policy.
fn parse_registration(text: &str) -> Result<RegistrationPolicy, String> {
    match text {
        "open" => Ok(RegistrationPolicy::Open),
        "invite-code" => Ok(RegistrationPolicy::InviteCode),
        other => Err(format!("expected open or invite-code, got {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_registration_flag_names_open_or_invite_code() {
        assert_eq!(parse_registration("open").unwrap(), RegistrationPolicy::Open);
        assert_eq!(parse_registration("invite-code").unwrap(), RegistrationPolicy::InviteCode);
        assert!(parse_registration("closed").unwrap_err().contains("open or invite-code"));
    }

    #[test]
    fn the_command_line_parses() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["platform-deploy", "--url", "http://127.0.0.1:1", "--root-key", "k", "--pem", "p.pem", "--project-dir", "."]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.deploy.identity.pem.as_deref(), Some(std::path::Path::new("p.pem")));
        let cli = Cli::try_parse_from(["platform-deploy", "init-args", "--ids", "ids.json", "--archive-controller", "aaaaa-aa"]).unwrap();
        assert!(matches!(cli.command, Some(Command::InitArgs { .. })));
        assert!(Cli::try_parse_from(["platform-deploy", "--pem", "a", "--identity-seed", "00"]).is_err());
        // The web app commands keep the flags docs/frontend.md gives.
        let cli = Cli::try_parse_from([
            "platform-deploy", "propose-assets", "--canister", "aaaaa-aa", "--dir", "dist", "--url", "http://127.0.0.1:1", "--identity-seed", "00",
        ])
        .unwrap();
        assert!(matches!(cli.command, Some(Command::ProposeAssets { target: AssetTarget { ref url, .. }, .. }) if url == "http://127.0.0.1:1"));
        let cli = Cli::try_parse_from(["platform-deploy", "compute-evidence", "--canister", "aaaaa-aa", "--dir", "dist", "--network", "https://icp-api.io"]).unwrap();
        assert!(matches!(cli.command, Some(Command::ComputeEvidence { .. })));
        assert!(Cli::try_parse_from(["platform-deploy", "upload-assets", "--canister", "aaaaa-aa", "--dir", "d", "--url", "u"]).is_err(), "--staking-hub is required");
    }
}
