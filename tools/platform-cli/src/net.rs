//! The local network, in this process: the `localnet-server` library as `localnet serve`
//! runs it (localnet/server/src/main.rs), with its state in `<state-dir>/network` (keys and
//! root key beside `net/`, the engine's state).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use localnet_server::{keys::Keys, node, server};
use tokio::sync::oneshot;

pub struct LocalNetwork {
    pub node: Arc<node::Node>,
    pub state: Arc<server::AppState>,
    pub port: u16,
    pub root_key: Vec<u8>,
    pub root_key_file: PathBuf,
    pub subnet: candid::Principal,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    port_file: Option<PathBuf>,
}

pub fn network_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("network")
}

/// Binds the port first (a port in use is a clear error before anything is loaded), then
/// loads or creates the network and serves it.
pub async fn start(state_dir: &Path, port: u16, port_file: Option<PathBuf>) -> anyhow::Result<LocalNetwork> {
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            bail!("port {port} is in use: pass --port <another port> (or --port 0 for any free port), or stop what listens on it")
        }
        Err(e) => return Err(e).with_context(|| format!("listening on 127.0.0.1:{port}")),
    };
    let port = listener.local_addr()?.port();
    let dir = network_dir(state_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let keys = Arc::new(Keys::load_or_generate(&dir)?);
    let state = server::AppState::new();
    let spawn_keys = keys.clone();
    let spawn_dir = dir.clone();
    // Loading a saved network compiles its modules: off the async threads.
    let node = tokio::task::spawn_blocking(move || {
        node::Node::spawn(node::NodeConfig {
            keys: spawn_keys,
            live: true,
            builder: localnet::LocalNet::builder(),
            state_dir: Some(spawn_dir),
        })
    })
    .await
    .context("starting the network")??;
    let id = state.add_instance(node);
    *state.default_instance.write().map_err(|_| anyhow::anyhow!("server state lock poisoned"))? = Some(id);
    let node = state.default_node().context("the network did not start")?;
    if let Some(f) = &port_file {
        localnet_server::write_port_file(f, port)?;
    }
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let app = server::router(state.clone());
    let served = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await
            .context("serving the network")
    });
    Ok(LocalNetwork {
        node,
        state,
        port,
        root_key: keys.root_key_der().to_vec(),
        root_key_file: dir.join("root_key.der"),
        subnet: keys.subnet_id(),
        stop: Some(stop_tx),
        served: Some(served),
        port_file,
    })
}

impl LocalNetwork {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How far the network's clock runs ahead of the wall clock (simulated days).
    pub async fn clock_offset(&self) -> anyhow::Result<Duration> {
        Ok(self.node.run(|e| e.clock_offset()).await?)
    }

    /// Stops serving, lets queued work run and saves the network (bounded: the node drains
    /// for at most 5 s before saving).
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.served.take() {
            match tokio::time::timeout(Duration::from_secs(10), h).await {
                Ok(r) => r.context("the server task failed")??,
                Err(_) => eprintln!("platform: open connections did not close within 10 s; saving anyway"),
            }
        }
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || state.shutdown_all()).await.context("saving the network")?;
        if let Some(f) = &self.port_file {
            let _ = std::fs::remove_file(f);
        }
        Ok(())
    }
}
