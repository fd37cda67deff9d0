//! `localnet`: the local network as a server.
//!
//! ```text
//! localnet serve [--port 4943] [--bind 127.0.0.1] [--port-file F] [--state-dir D]
//!     one live network: the IC HTTP interface at /api, the HTTP gateway at
//!     http://<canister-id>.localhost:<port>/ (and .raw.localhost); with --state-dir it
//!     keeps its canisters and keys across restarts (saved on SIGINT/SIGTERM).
//! localnet [--port-file F] [--port P] [--ttl SECONDS] [--hard-ttl SECONDS]
//!     a PocketIC server (the REST API the `pocket-ic` crate speaks); POCKET_IC_BIN can
//!     point at this binary.
//! localnet --version
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use localnet_server::{keys::Keys, node, server};

/// What `--version` answers: the PocketIC server version whose REST API this serves, so the
/// `pocket-ic` crate (16.x) accepts the binary.
const POCKET_IC_VERSION: &str = "pocket-ic-server 16.1.0";

#[derive(Default)]
struct Args {
    serve: bool,
    version: bool,
    port: Option<u16>,
    bind: Option<String>,
    port_file: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    ttl: Option<u64>,
    hard_ttl: Option<u64>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "serve" => a.serve = true,
            "--version" | "-V" => a.version = true,
            "--port" | "-p" => a.port = Some(value("--port")?.parse().context("--port takes a port number")?),
            "--bind" | "--ip-addr" => a.bind = Some(value("--bind")?),
            "--port-file" => a.port_file = Some(PathBuf::from(value("--port-file")?)),
            "--state-dir" => a.state_dir = Some(PathBuf::from(value("--state-dir")?)),
            "--ttl" => a.ttl = Some(value("--ttl")?.parse().context("--ttl takes seconds")?),
            // Arguments the `pocket-ic` crate may pass to a PocketIC server.
            "--hard-ttl" => a.hard_ttl = Some(value("--hard-ttl")?.parse().context("--hard-ttl takes seconds")?),
            "--log-levels" | "-l" => {
                value("--log-levels")?;
            }
            "--help" | "-h" => {
                println!("{}", include_str!("main.rs").lines().take_while(|l| l.starts_with("//!")).map(|l| l.trim_start_matches("//!").trim_start_matches(' ')).collect::<Vec<_>>().join("\n"));
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    Ok(a)
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("localnet: {e:#}");
        // A PocketIC client polls its port file until it holds a line: give it the error
        // rather than let it wait forever.
        let args: Vec<String> = std::env::args().collect();
        if !args.iter().any(|a| a == "serve") {
            if let Some(path) = args.iter().position(|a| a == "--port-file").and_then(|i| args.get(i + 1)) {
                localnet_server::pocketic::report_start_failure(std::path::Path::new(path), &format!("{e:#}"));
            }
        }
        std::process::exit(1);
    }
}

fn real_main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if args.version {
        println!("{POCKET_IC_VERSION}");
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        if args.serve {
            serve(args).await
        } else {
            localnet_server::pocketic::run_server_with(args.port, args.bind, args.port_file, args.ttl, args.hard_ttl).await
        }
    })
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let keys = Arc::new(match &args.state_dir {
        Some(dir) => Keys::load_or_generate(dir)?,
        None => Keys::generate(),
    });
    let state = server::AppState::new();
    let node = node::Node::spawn(node::NodeConfig {
        keys: keys.clone(),
        live: true,
        builder: localnet::LocalNet::builder(),
        state_dir: args.state_dir.clone(),
    })?;
    let id = state.add_instance(node);
    *state.default_instance.write().expect("lock") = Some(id);

    let bind = args.bind.unwrap_or_else(|| "127.0.0.1".into());
    let listener = tokio::net::TcpListener::bind((bind.as_str(), args.port.unwrap_or(4943)))
        .await
        .with_context(|| format!("listening on {bind}:{}", args.port.unwrap_or(4943)))?;
    let port = listener.local_addr()?.port();
    eprintln!(
        "localnet: serving on http://{bind}:{port} (subnet {}, root key {}){}",
        keys.subnet_id(),
        hex::encode(keys.root_key_der()),
        args.state_dir.as_ref().map(|d| format!(", state in {}", d.display())).unwrap_or_default()
    );
    if let Some(f) = &args.port_file {
        localnet_server::write_port_file(f, port)?;
    }
    let app = server::router(state.clone());
    axum::serve(listener, app).with_graceful_shutdown(localnet_server::shutdown_signal()).await?;
    eprintln!("localnet: shutting down");
    state.shutdown_all();
    if let Some(f) = &args.port_file {
        let _ = std::fs::remove_file(f);
    }
    Ok(())
}
