//! The network's state across restarts: loaded at start, saved at a clean shutdown, into
//! `<state-dir>/net` (the engine's format: docs/localnet.md, "State on disk"). The keys live
//! beside it (`keys.rs`), so the root key and subnet id stay the same.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use localnet::LocalNet;

use crate::node::{KeyCertifier, NodeConfig};

/// How long a shutdown lets queued work run before saving (what is still in flight is saved too).
const DRAIN_BEFORE_SAVE: Duration = Duration::from_secs(5);

fn net_dir(state_dir: &Path) -> std::path::PathBuf {
    state_dir.join("net")
}

/// The network a node starts with: its saved state if the state dir holds one, else a new one.
/// A state that cannot be read is an error: it is never replaced by a fresh network silently.
pub fn open(config: &NodeConfig) -> anyhow::Result<LocalNet> {
    let builder = config.builder.clone().with_certifier(Arc::new(KeyCertifier(config.keys.clone())));
    let Some(dir) = &config.state_dir else { return Ok(builder.build()) };
    match builder.clone().load_state(&net_dir(dir)) {
        Ok(net) => {
            eprintln!("localnet: loaded {} canisters from {}", net.canister_ids().len(), net_dir(dir).display());
            Ok(net)
        }
        Err(e) if e.is_not_found() => Ok(builder.build()),
        Err(e) => Err(anyhow::Error::new(e)).with_context(|| {
            format!("the saved state in {} cannot be loaded; nothing was changed (move it away to start afresh)", dir.display())
        }),
    }
}

/// Runs what is queued (bounded), then saves.
pub fn save(net: &LocalNet, dir: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + DRAIN_BEFORE_SAVE;
    while net.has_work() && Instant::now() < deadline {
        net.tick();
    }
    net.save_state(&net_dir(dir)).with_context(|| format!("saving the network into {}", net_dir(dir).display()))?;
    eprintln!("localnet: saved {} canisters to {}", net.canister_ids().len(), net_dir(dir).display());
    Ok(())
}
