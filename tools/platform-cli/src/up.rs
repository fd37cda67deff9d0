//! `platform up`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use candid::Principal;

use crate::{agents, deploy, net, sim, UpArgs};

/// Shard soft limit of a new local deployment (hard limit 500): a few thousand learners fill
/// several shards.
pub const DEFAULT_SOFT_LIMIT: u64 = 400;

pub async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    let state_dir = args.state_dir.clone();
    std::fs::create_dir_all(&state_dir).with_context(|| format!("creating the state dir {}", state_dir.display()))?;
    let wasm_dir = platform_deploy::default_wasm_dir();
    for name in ["staking_hub", "user_profile", "learning_content", "icrc_ledger", "sns_governance", "sns_root"] {
        let p = wasm_dir.join(format!("{name}.wasm.gz"));
        if !p.exists() {
            bail!("{} is missing: build the canisters first (bash scripts/build-canisters.sh)", p.display());
        }
    }
    let frontend_dir = frontend_dir(&args)?;

    let network = net::start(&state_dir, args.port, args.port_file.clone()).await?;
    let result = run(&args, &network, &wasm_dir, frontend_dir).await;
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("platform: {e:#}");
            ExitCode::from(1)
        }
    };
    eprintln!("platform: saving the network state into {}", net::network_dir(&state_dir).display());
    network.shutdown().await?;
    Ok(code)
}

fn frontend_dir(args: &UpArgs) -> anyhow::Result<Option<PathBuf>> {
    let dir = args.frontend_dir.clone().unwrap_or_else(|| deploy::repo_root().join("frontend/dist"));
    if dir.join("index.html").exists() || dir.is_dir() {
        return Ok(Some(dir));
    }
    if std::env::var("PLATFORM_NO_FRONTEND").as_deref() == Ok("1") {
        eprintln!("platform: warning: {} does not exist; the web app is not deployed (PLATFORM_NO_FRONTEND=1)", dir.display());
        return Ok(None);
    }
    bail!(
        "the web app's files are missing ({}): build them with `bash scripts/build-frontend.sh`, or set PLATFORM_NO_FRONTEND=1 to run without the web app",
        dir.display()
    )
}

async fn run(args: &UpArgs, network: &net::LocalNetwork, wasm_dir: &std::path::Path, frontend_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let state_dir = &args.state_dir;
    let seed = deploy::deployer_seed(state_dir)?;
    let deployer_identity = agents::identity(&seed);
    let http = agents::http_client()?;
    let offset = network.clock_offset().await?;
    let deployer = agents::base_agent(&network.url(), &network.root_key, http.clone(), offset, deployer_identity.clone())?;

    let mut saved = match deploy::load(state_dir)? {
        Some(saved) => {
            let d = saved.parsed()?;
            let hub = d.staking_hub;
            let known = network.node.run(move |e| e.net.module_hash(hub).is_some()).await?;
            if !known {
                bail!(
                    "{} names staking_hub {hub}, but the network in {} has no such canister: remove the state dir {} to start afresh",
                    deploy::deployment_file(state_dir).display(),
                    net::network_dir(state_dir).display(),
                    state_dir.display()
                );
            }
            eprintln!("platform: reusing the deployment of {} (staking_hub {hub})", saved.created_at_utc);
            deploy::update_functions(&deployer, state_dir, &mut saved.clone()).await.map(|_| ())?;
            deploy::load(state_dir)?.unwrap_or(saved)
        }
        None => {
            let soft = args.shard_soft_limit.unwrap_or(DEFAULT_SOFT_LIMIT);
            let saved = deploy::deploy_new(&deployer, state_dir, wasm_dir, soft, frontend_dir.as_deref()).await?;
            // The deployment's own executions are not the simulation's.
            network.node.run(|e| drop(e.net.take_execution_log())).await?;
            saved
        }
    };
    print_urls(network, &saved)?;

    let mut code = ExitCode::SUCCESS;
    if let Some(n) = args.simulate {
        let report_dir = args.report_dir.clone().unwrap_or_else(|| state_dir.join("report"));
        let sim_args = sim::SimArgs { learners: n, days: args.days, concurrency: args.concurrency as usize };
        let report = sim::run(network, &mut saved, http, deployer_identity, sim_args).await?;
        report.print_tables();
        let files = report.write_all(&report_dir).with_context(|| format!("writing the report into {}", report_dir.display()))?;
        for f in files {
            eprintln!("platform: wrote {}", f.display());
        }
        if !report.all_invariants_hold() {
            eprintln!("platform: some invariants do NOT hold (see the report)");
            code = ExitCode::from(1);
        } else {
            eprintln!("platform: all {} invariants hold", report.invariants.len());
        }
    }
    if args.exit {
        return Ok(code);
    }
    eprintln!("platform: serving on {} (Ctrl-C stops it and saves the state)", network.url());
    localnet_server::shutdown_signal().await;
    eprintln!("platform: stopping");
    Ok(code)
}

fn print_urls(network: &net::LocalNetwork, saved: &deploy::Saved) -> anyhow::Result<()> {
    let d = saved.parsed()?;
    let port = network.port;
    let url = network.url();
    println!();
    println!("The platform runs on the local network {url}");
    if let Some(f) = saved.frontend() {
        println!("  web app:            http://{f}.localhost:{port}/");
        println!("                      http://localhost:{port}/?canisterId={f}");
    } else {
        println!("  web app:            not deployed (no frontend build, or this deployment predates it)");
    }
    println!("  canisters (candid: `<id>` metadata candid:service; units over HTTP on learning_content):");
    let mut rows: Vec<(&str, Principal)> = vec![
        ("staking_hub", d.staking_hub),
        ("learning_content", d.learning_content),
        ("reward_ledger", d.reward_ledger),
        ("sns_governance", d.sns_governance),
        ("sns_root", d.sns_root),
    ];
    let f = saved.frontend();
    if let Some(f) = f {
        rows.push(("frontend_assets", f));
    }
    for (name, id) in rows {
        println!("    {name:<17} {id}  http://{id}.localhost:{port}/  (raw: http://{id}.raw.localhost:{port}/)");
    }
    println!("  agents (ic-agent, agent-js):");
    println!("    url               {url}");
    println!("    root key (hex)    {}", hex::encode(&network.root_key));
    println!("    root key file     {}", network.root_key_file.display());
    println!("    subnet            {}", network.subnet);
    println!("  icp-cli (icp.yaml defines network `local` at port 4943; paste the root key into it, or name the network per command):");
    if port == 4943 {
        println!("    icp canister call --network local {} get_global_stats '()' --query", d.staking_hub);
    }
    println!(
        "    icp canister call -n {url} -k {} {} get_global_stats '()' --query",
        hex::encode(&network.root_key),
        d.staking_hub
    );
    println!("  deployer (the SNS neuron's owner): {}  (key: deployer.seed in the state dir)", saved.deployer);
    println!("  custom functions registered: {:?}", saved.functions);
    println!();
    Ok(())
}
