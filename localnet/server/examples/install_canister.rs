//! Installs a canister on a running `localnet serve` through its IC HTTP interface (with
//! `ic-agent`, as any IC tool would) and prints the new canister's id on stdout.
//!
//! ```text
//! cargo run -q -p localnet-server --example install_canister -- \
//!     --url http://127.0.0.1:4943 --root-key <state-dir>/root_key.der \
//!     --wasm target/canisters/certified_page.wasm.gz [--arg-hex 4449444c0000] [--cycles 100000000000000]
//! ```
//!
//! The canister is created with `provisional_create_canister_with_cycles` (the anonymous
//! principal is its controller) and installed with `install_code` in `install` mode; the
//! argument defaults to the empty Candid arguments `()`.

use anyhow::{bail, Context};
use candid::{Nat, Principal};
use ic_agent::Agent;
use ic_management_canister_types::{
    CanisterIdRecord, CanisterInstallMode, InstallCodeArgs, ProvisionalCreateCanisterWithCyclesArgs,
};

struct Args {
    url: String,
    root_key: std::path::PathBuf,
    wasm: std::path::PathBuf,
    arg: Vec<u8>,
    cycles: u128,
}

fn parse_args() -> anyhow::Result<Args> {
    let (mut url, mut root_key, mut wasm, mut arg, mut cycles) = (None, None, None, None, 100_000_000_000_000u128);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--url" => url = Some(value()?),
            "--root-key" => root_key = Some(value()?.into()),
            "--wasm" => wasm = Some(value()?.into()),
            "--arg-hex" => arg = Some(hex::decode(value()?).context("--arg-hex takes hex bytes")?),
            "--cycles" => cycles = value()?.parse().context("--cycles takes a number")?,
            other => bail!("unknown argument {other:?}; usage: --url URL --root-key FILE --wasm FILE [--arg-hex HEX] [--cycles N]"),
        }
    }
    Ok(Args {
        url: url.context("--url is required")?,
        root_key: root_key.context("--root-key is required")?,
        wasm: wasm.context("--wasm is required")?,
        arg: arg.unwrap_or_else(|| candid::encode_args(()).expect("encoding ()")),
        cycles,
    })
}

/// Creates a canister and installs `wasm` in it; returns its id.
async fn install(agent: &Agent, wasm: Vec<u8>, arg: Vec<u8>, cycles: u128) -> anyhow::Result<Principal> {
    let ic = Principal::management_canister();
    let create = ProvisionalCreateCanisterWithCyclesArgs {
        amount: Some(Nat::from(cycles)),
        settings: None,
        specified_id: None,
        sender_canister_version: None,
    };
    let reply = agent
        .update(&ic, "provisional_create_canister_with_cycles")
        .with_arg(candid::encode_one(create)?)
        .call_and_wait()
        .await
        .context("provisional_create_canister_with_cycles")?;
    let CanisterIdRecord { canister_id } = candid::decode_one(&reply).context("decoding the created canister's id")?;
    let install = InstallCodeArgs {
        mode: CanisterInstallMode::Install,
        canister_id,
        wasm_module: wasm,
        arg,
        sender_canister_version: None,
    };
    agent
        .update(&ic, "install_code")
        .with_effective_canister_id(canister_id)
        .with_arg(candid::encode_one(install)?)
        .call_and_wait()
        .await
        .context("install_code")?;
    Ok(canister_id)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let root_key = std::fs::read(&args.root_key).with_context(|| format!("reading {}", args.root_key.display()))?;
    let wasm = std::fs::read(&args.wasm).with_context(|| format!("reading {}", args.wasm.display()))?;
    let agent = Agent::builder().with_url(args.url.as_str()).build()?;
    agent.set_root_key(root_key);
    let id = install(&agent, wasm, args.arg, args.cycles).await?;
    println!("{id}");
    Ok(())
}
