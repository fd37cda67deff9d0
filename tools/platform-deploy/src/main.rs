//! `platform-deploy --url http://127.0.0.1:4943 --root-key <root_key.der> [--identity-seed <hex32>] [--frontend-dir DIR] [--out ids.json]`
//!
//! Installs the platform on a running network (e.g. `localnet serve`) and prints (or writes)
//! the canister ids and the starter units' answer keys as JSON. The identity is an Ed25519 key
//! from `--identity-seed` (32 bytes, hex), or a fresh one; it becomes the SNS neuron's owner.
//! With `--frontend-dir` (a built web app, frontend/dist) the `frontend_assets` canister is
//! installed and serves it. `--registration` sets who may register: `open` (the default, for a
//! local network) or `invite-code` (closed until SNS governance adds codes, function 1007; a
//! credential policy is set by proposal, since it names canisters that exist only after deploy).
//!
//! `platform-deploy propose-assets --canister ID --dir DIR --url URL [--root-key FILE] --identity-seed HEX32`
//!
//! Stages a new version of the web app in `frontend_assets` (the identity needs the Prepare
//! permission), locks it with `propose_commit_batch` and prints `{"batch_id", "evidence_hex"}`
//! for the SNS proposal that commits it (`proposals commit-assets`). The canister's current
//! `/platform.json` is kept.
//!
//! `platform-deploy compute-evidence --canister ID --dir DIR --url URL [--root-key FILE]`
//!
//! For voters: the evidence a `propose-assets` of DIR against the canister's current assets
//! gives, computed locally (only the `list` query is called, anonymously); compare it with a 1006
//! proposal's. Without `--root-key` the agent uses the IC mainnet's.

use std::path::PathBuf;

use anyhow::{bail, Context};
use candid::Principal;
use ic_agent::identity::BasicIdentity;
use ic_agent::Agent;
use platform_deploy::assets;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut url = None;
    let mut root_key = None;
    let mut out = None;
    let mut seed = None;
    let mut wasm_dir = platform_deploy::default_wasm_dir();
    let mut frontend_dir = None;
    let mut canister = None;
    let mut registration = platform_types::RegistrationPolicy::Open;
    let mut args = std::env::args().skip(1).peekable();
    let mode = match args.peek().map(String::as_str) {
        Some(m @ ("propose-assets" | "compute-evidence")) => m.to_string(),
        _ => "deploy".to_string(),
    };
    if mode != "deploy" {
        args.next();
    }
    let propose_assets = mode == "propose-assets";
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--url" => url = Some(value()?),
            "--root-key" => root_key = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--identity-seed" => seed = Some(value()?),
            "--wasm-dir" => wasm_dir = PathBuf::from(value()?),
            "--frontend-dir" | "--dir" => frontend_dir = Some(PathBuf::from(value()?)),
            "--canister" => canister = Some(value()?),
            "--registration" => registration = parse_registration(&value()?)?,
            "--help" | "-h" => {
                println!("platform-deploy --url URL --root-key FILE [--identity-seed HEX32] [--wasm-dir DIR] [--frontend-dir DIR] [--registration open|invite-code] [--out FILE]");
                println!("platform-deploy propose-assets --canister ID --dir DIR --url URL [--root-key FILE] --identity-seed HEX32 [--out FILE]");
                println!("platform-deploy compute-evidence --canister ID --dir DIR --url URL [--root-key FILE]");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    let url = url.context("--url is required")?;
    if mode == "compute-evidence" {
        let canister = parse_canister(canister)?;
        let dir = frontend_dir.context("compute-evidence: --dir is required")?;
        let agent = Agent::builder().with_url(url).build()?;
        if let Some(path) = root_key {
            agent.set_root_key(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
        }
        let extra: Vec<(String, Vec<u8>)> = assets::get_asset(&agent, canister, "/platform.json")
            .await?
            .map(|bytes| ("/platform.json".to_string(), bytes))
            .into_iter()
            .collect();
        let evidence = assets::local_evidence(&agent, canister, &dir, &extra).await?;
        println!("{}", hex::encode(evidence));
        return Ok(());
    }
    // A deploy targets a local network (provisional canister creation): its root key is needed.
    // propose-assets may target the IC, whose root key the agent knows.
    let root_key = match root_key {
        Some(path) => Some(std::fs::read(&path).with_context(|| format!("reading the root key {}", path.display()))?),
        None if propose_assets => None,
        None => bail!("--root-key is required"),
    };
    let seed: [u8; 32] = match seed {
        Some(h) => {
            let v = decode_hex(&h).context("--identity-seed is not hex")?;
            v.try_into().map_err(|_| anyhow::anyhow!("--identity-seed must be 32 bytes"))?
        }
        None if propose_assets => bail!("propose-assets needs --identity-seed: the identity holding the Prepare permission"),
        None => std::array::from_fn(|i| (std::process::id() as u8).wrapping_mul(31).wrapping_add(i as u8) ^ 0x5c),
    };
    let agent = Agent::builder().with_url(url).with_identity(BasicIdentity::from_raw_key(&seed)).build()?;
    if let Some(key) = root_key {
        agent.set_root_key(key);
    }
    let json = if propose_assets {
        let canister = parse_canister(canister)?;
        let dir = frontend_dir.context("propose-assets: --dir is required")?;
        // The web app's build has no platform.json: keep the one generated at deploy.
        let extra: Vec<(String, Vec<u8>)> = assets::get_asset(&agent, canister, "/platform.json")
            .await?
            .map(|bytes| ("/platform.json".to_string(), bytes))
            .into_iter()
            .collect();
        let proposed = assets::propose_dir(&agent, canister, &dir, &extra).await?;
        let s = &proposed.summary;
        eprintln!(
            "propose-assets: batch {} locked: {} operations, {} encodings uploaded ({} bytes in {} chunks), {} assets deleted",
            proposed.batch_id, s.operations, s.uploaded_encodings.len(), s.bytes, s.chunks, s.deleted.len()
        );
        serde_json::to_string_pretty(&serde_json::json!({
            "batch_id": u64::try_from(&proposed.batch_id.0).map(serde_json::Value::from).unwrap_or_else(|_| proposed.batch_id.0.to_string().into()),
            "evidence_hex": hex::encode(&proposed.evidence),
        }))?
    } else {
        let options = platform_deploy::DeployOptions { config: None, frontend: frontend_dir, registration_policy: Some(registration) };
        let deployment = platform_deploy::deploy_with(&agent, &wasm_dir, &options).await?;
        serde_json::to_string_pretty(&deployment)?
    };
    match out {
        Some(path) => std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?,
        None => println!("{json}"),
    }
    Ok(())
}

fn parse_canister(canister: Option<String>) -> anyhow::Result<Principal> {
    let canister = canister.context("--canister is required")?;
    Principal::from_text(&canister).with_context(|| format!("--canister {canister:?} is not a principal"))
}

fn decode_hex(s: &str) -> anyhow::Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        bail!("odd length");
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(Into::into)).collect()
}

/// `--registration`: the hub's initial registration policy.
fn parse_registration(text: &str) -> anyhow::Result<platform_types::RegistrationPolicy> {
    match text {
        "open" => Ok(platform_types::RegistrationPolicy::Open),
        "invite-code" => Ok(platform_types::RegistrationPolicy::InviteCode),
        other => bail!("--registration: expected open or invite-code, got {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_registration;
    use platform_types::RegistrationPolicy;

    #[test]
    fn the_registration_flag_names_open_or_invite_code() {
        assert_eq!(parse_registration("open").unwrap(), RegistrationPolicy::Open);
        assert_eq!(parse_registration("invite-code").unwrap(), RegistrationPolicy::InviteCode);
        assert!(parse_registration("closed").unwrap_err().to_string().contains("open or invite-code"));
    }
}
