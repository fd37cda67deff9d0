//! localnet-server: the local network (`localnet` engine) behind the protocols real IC clients
//! speak. See docs/localnet.md ("Serving real clients").

pub mod gateway;
pub mod http_api;
pub mod keys;
pub mod node;
mod persist;
pub mod pocketic;
pub mod server;
pub mod state_tree;

use std::path::Path;

use anyhow::Context;

/// Writes `<port>\n` to `path` once (the file is created; an existing file is an error).
pub fn write_port_file(path: &Path, port: u16) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    writeln!(f, "{port}")?;
    drop(f);
    // Readers poll the file: it appears whole or not at all.
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}
