//! The deployment: once per state dir. The deployer's key (`deployer.seed`), the platform
//! installed by `platform_deploy::deploy` with local shard limits, the SNS custom functions
//! registered by proposal, and `deployment.json`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use candid::Principal;
use ic_agent::Agent;
use platform_types::sns::ListNervousSystemFunctionsResponse;
use platform_types::ConfigOverrides;
use serde::{Deserialize, Serialize};

use crate::{agents, gov};

/// What `deployment.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Saved {
    /// `platform_deploy::Deployment`, as JSON (so fields added there are kept as they are).
    pub deployment: serde_json::Value,
    pub deployer: String,
    pub shard_soft_limit: u64,
    pub shard_hard_limit: u64,
    pub functions: Vec<u64>,
    pub created_at_utc: String,
}

impl Saved {
    pub fn parsed(&self) -> anyhow::Result<platform_deploy::Deployment> {
        serde_json::from_value(self.deployment.clone()).context("deployment.json: the deployment does not parse")
    }

    /// The web app's asset canister, if the deployment has one.
    pub fn frontend(&self) -> Option<Principal> {
        self.deployment.get("frontend_assets").and_then(|v| v.as_str()).and_then(|s| Principal::from_text(s).ok())
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The deployer's Ed25519 seed, generated once (mode 0600).
pub fn deployer_seed(state_dir: &Path) -> anyhow::Result<[u8; 32]> {
    let path = state_dir.join("deployer.seed");
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let bytes = hex::decode(text.trim()).with_context(|| format!("{}: not hex", path.display()))?;
        return bytes.try_into().map_err(|_| anyhow::anyhow!("{}: must hold 32 bytes in hex", path.display()));
    }
    let mut seed = [0u8; 32];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .context("reading /dev/urandom for the deployer key")?;
    std::fs::create_dir_all(state_dir)?;
    std::fs::write(&path, format!("{}\n", hex::encode(seed))).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(seed)
}

/// Local shard limits: small enough that a simulation of a few thousand learners makes the hub
/// create several shards by itself; fast timers so stats, allowances, withdrawals and rollouts
/// move quickly.
pub fn local_config(soft: u64) -> ConfigOverrides {
    let hard = (soft + soft / 4).max(soft + 1);
    ConfigOverrides {
        shard_soft_limit: Some(soft),
        shard_hard_limit: Some(hard),
        shard_sync_interval_secs: Some(5),
        auto_scale_interval_secs: Some(5),
        // A learner trying the web app sees the withdrawal paid within seconds.
        withdrawal_batch_secs: Some(2),
        ..Default::default()
    }
}

pub fn deployment_file(state_dir: &Path) -> PathBuf {
    state_dir.join("deployment.json")
}

pub fn load(state_dir: &Path) -> anyhow::Result<Option<Saved>> {
    let path = deployment_file(state_dir);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let saved: Saved = serde_json::from_str(&text).with_context(|| format!("{}: not a deployment record", path.display()))?;
    Ok(Some(saved))
}

fn save(state_dir: &Path, saved: &Saved) -> anyhow::Result<()> {
    let path = deployment_file(state_dir);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(saved)?)?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
}

/// Installs the platform and registers the custom functions; writes deployment.json.
pub async fn deploy_new(agent: &Agent, state_dir: &Path, wasm_dir: &Path, soft: u64, frontend_dir: Option<&Path>) -> anyhow::Result<Saved> {
    let config = local_config(soft);
    eprintln!("platform: deploying the platform (shard limits: soft {soft}, hard {} users)", config.shard_hard_limit.unwrap_or_default());
    // A local network: anyone may register (SNS governance can close it with function 1007).
    let options = platform_deploy::DeployOptions {
        config: Some(config.clone()),
        frontend: frontend_dir.map(Path::to_path_buf),
        registration_policy: Some(platform_types::RegistrationPolicy::Open),
    };
    let deployment = platform_deploy::deploy_with(agent, wasm_dir, &options).await.context("deploying the platform")?;
    let mut saved = Saved {
        deployment: serde_json::to_value(&deployment)?,
        deployer: agent.get_principal().map_err(|e| anyhow::anyhow!(e))?.to_text(),
        shard_soft_limit: soft,
        shard_hard_limit: config.shard_hard_limit.unwrap_or_default(),
        functions: Vec::new(),
        created_at_utc: utc_now(),
    };
    save(state_dir, &saved)?;
    register_functions(agent, &mut saved).await?;
    save(state_dir, &saved)?;
    Ok(saved)
}

/// Registers every `sns/custom_functions/*.json` function not registered yet (a later run picks
/// up files added since; `platform_deploy::functions`), and records which are.
pub async fn register_functions(agent: &Agent, saved: &mut Saved) -> anyhow::Result<Vec<platform_deploy::functions::Registered>> {
    let d = saved.parsed()?;
    let dir = repo_root().join("sns/custom_functions");
    let done = platform_deploy::functions::register_custom_functions(agent, &d, &dir, &gov::neuron()).await?;
    for r in &done {
        eprintln!("platform: custom function {} ({}) registered by proposal {}", r.function_id, r.name, r.proposal_id);
    }
    let registered: ListNervousSystemFunctionsResponse =
        agents::query1(agent, d.sns_governance, "list_nervous_system_functions", ()).await?;
    saved.functions = registered.functions.iter().map(|f| f.id).filter(|id| *id >= 1000).collect();
    saved.functions.sort();
    Ok(done)
}

pub async fn update_functions(agent: &Agent, state_dir: &Path, saved: &mut Saved) -> anyhow::Result<Vec<platform_deploy::functions::Registered>> {
    let before = saved.functions.clone();
    let outcomes = register_functions(agent, saved).await?;
    if saved.functions != before {
        save(state_dir, saved)?;
    }
    Ok(outcomes)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of the wall clock.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    utc(secs)
}

pub fn utc(secs: u64) -> String {
    let (y, m, d, rem) = proposals::voter_view::civil_utc(secs);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
        assert_eq!(super::utc(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
