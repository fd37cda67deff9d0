//! `platform up`: the whole platform on one command.
//!
//! ```text
//! platform up [--port 4943] [--state-dir .platform] [--simulate N [--days D]] [--exit]
//!             [--report-dir DIR] [--port-file F]
//! ```
//!
//! 1. Runs the local network in-process (the `localnet-server` library: the IC HTTP interface
//!    and the HTTP gateway on 127.0.0.1:<port>), its state in `<state-dir>/network`.
//! 2. Deploys the platform over HTTP with ic-agent (`platform_deploy::deploy`) as the deployer
//!    (an Ed25519 key kept in `<state-dir>/deployer.seed`, owner of the local SNS's one neuron),
//!    with small shard limits so auto-scaling shows, and registers the SNS custom functions of
//!    `sns/custom_functions/*.json` by proposal. `<state-dir>/deployment.json` records it; a
//!    later run with the same state dir reuses the network and the deployment.
//! 3. Prints the URLs (web app, canisters, agents, icp-cli) and serves until Ctrl-C.
//! 4. `--simulate N` (a few thousand, e.g. 3000) drives N learners and the DAO through the
//!    served network over `--days D` simulated days, checks invariants and writes a report.
//! 5. `--exit` saves the state and exits instead of serving (the exit code reflects the
//!    simulation's invariants).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod agents;
mod deploy;
mod gov;
mod net;
mod sim;
mod report;
mod up;

#[derive(Parser, Debug)]
#[command(name = "platform", version, about = "Runs the learn-to-earn platform on a local network, and simulates learners and the DAO on it")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start the local network, deploy the platform (once per state dir), print the URLs and
    /// serve until Ctrl-C.
    Up(UpArgs),
}

#[derive(Args, Debug, Clone)]
pub struct UpArgs {
    /// Port of the network (IC HTTP interface and HTTP gateway) on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 4943)]
    pub port: u16,
    /// Where the network's state, the deployer key and deployment.json are kept.
    #[arg(long, default_value = ".platform")]
    pub state_dir: PathBuf,
    /// Simulate N learners (default 3000) and the DAO over the served network.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "3000",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub simulate: Option<u64>,
    /// Simulated days of quizzes (with --simulate).
    #[arg(long, value_name = "D", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub days: u32,
    /// Exit after the deployment (and the simulation) instead of serving; the state is saved.
    #[arg(long)]
    pub exit: bool,
    /// Where the simulation's report goes (default: <state-dir>/report).
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Write the port the network listens on to this file once it serves.
    #[arg(long, value_name = "F")]
    pub port_file: Option<PathBuf>,
    /// Concurrent simulated learners' calls.
    #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u64).range(1..=512))]
    pub concurrency: u64,
    /// The web app's built files (uploaded to the asset canister). Missing: an error, unless
    /// PLATFORM_NO_FRONTEND=1 is set.
    #[arg(long, value_name = "DIR")]
    pub frontend_dir: Option<PathBuf>,
    /// Shard soft limit of a new deployment (the hard limit is 5/4 of it); small values make
    /// small simulations scale out.
    #[arg(long, hide = true, value_name = "USERS", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub shard_soft_limit: Option<u64>,
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown error".into());
        let at = info.location().map(|l| format!(" ({}:{})", l.file(), l.line())).unwrap_or_default();
        eprintln!("platform: internal error: {what}{at}");
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("platform: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Up(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            runtime.block_on(up::up(args))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(args: &[&str]) -> Result<UpArgs, clap::Error> {
        let cli = Cli::try_parse_from(["platform", "up"].iter().chain(args))?;
        let Command::Up(a) = cli.command;
        Ok(a)
    }

    #[test]
    fn simulate_defaults_to_a_few_thousand_learners() {
        assert_eq!(up(&[]).unwrap().simulate, None);
        assert_eq!(up(&["--simulate"]).unwrap().simulate, Some(3000));
        assert_eq!(up(&["--simulate", "60", "--exit"]).unwrap().simulate, Some(60));
        assert_eq!(up(&["--simulate", "--exit"]).unwrap().simulate, Some(3000));
        assert!(up(&["--simulate", "0"]).is_err());
        assert!(up(&["--days", "0"]).is_err());
    }
}
