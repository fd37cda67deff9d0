//! `platform-deploy --url http://127.0.0.1:4943 --root-key <root_key.der> [--identity-seed <hex32>] [--out ids.json]`
//!
//! Installs the platform on a running network (e.g. `localnet serve`) and prints (or writes)
//! the canister ids and the starter units' answer keys as JSON. The identity is an Ed25519 key
//! from `--identity-seed` (32 bytes, hex), or a fresh one; it becomes the SNS neuron's owner.

use std::path::PathBuf;

use anyhow::{bail, Context};
use ic_agent::identity::BasicIdentity;
use ic_agent::Agent;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut url = None;
    let mut root_key = None;
    let mut out = None;
    let mut seed = None;
    let mut wasm_dir = platform_deploy::default_wasm_dir();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--url" => url = Some(value()?),
            "--root-key" => root_key = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--identity-seed" => seed = Some(value()?),
            "--wasm-dir" => wasm_dir = PathBuf::from(value()?),
            "--help" | "-h" => {
                println!("platform-deploy --url URL --root-key FILE [--identity-seed HEX32] [--wasm-dir DIR] [--out FILE]");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    let url = url.context("--url is required")?;
    let root_key = std::fs::read(root_key.as_ref().context("--root-key is required")?).context("reading the root key")?;
    let seed: [u8; 32] = match seed {
        Some(h) => {
            let v = decode_hex(&h).context("--identity-seed is not hex")?;
            v.try_into().map_err(|_| anyhow::anyhow!("--identity-seed must be 32 bytes"))?
        }
        None => std::array::from_fn(|i| (std::process::id() as u8).wrapping_mul(31).wrapping_add(i as u8) ^ 0x5c),
    };
    let agent = Agent::builder().with_url(url).with_identity(BasicIdentity::from_raw_key(&seed)).build()?;
    agent.set_root_key(root_key);
    let deployment = platform_deploy::deploy(&agent, &wasm_dir, None).await?;
    let json = serde_json::to_string_pretty(&deployment)?;
    match out {
        Some(path) => std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?,
        None => println!("{json}"),
    }
    Ok(())
}

fn decode_hex(s: &str) -> anyhow::Result<Vec<u8>> {
    if s.len() % 2 != 0 {
        bail!("odd length");
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(Into::into)).collect()
}
