//! Start-up and shutdown as the `pocket-ic` crate expects of a PocketIC server.
//!
//! The crate runs `<bin> [--ttl N] --port-file <path>` in a process group of its own, once
//! per test (all tests of a process share `$TMPDIR/pocket_ic_<pid>.port`), and polls the file
//! every 20 ms, without a timeout, until it holds a line.
//! - The port file is created exclusively: if it exists, another server is serving it and
//!   this one exits at once, successfully.
//! - `<port>\n` is written in one write once the listener is bound.
//! - If the server cannot listen, the file gets an error line instead, so the crate fails
//!   ("Failed to parse port to number") rather than polling forever.
//! - The server exits when no request has arrived or been pending for `--ttl` seconds
//!   (60 by default), after `--hard-ttl` seconds whatever happens, or on SIGINT/SIGTERM; the
//!   networks are shut down and the port file removed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::server::{self, AppState};

/// The PocketIC server's default idle time-to-live.
pub const DEFAULT_TTL_SECS: u64 = 60;

/// Requests in flight and the end of the last one, for the idle TTL.
struct Activity {
    pending: AtomicU64,
    last: Mutex<Instant>,
}

async fn track(State(activity): State<Arc<Activity>>, req: Request, next: Next) -> Response {
    activity.pending.fetch_add(1, Ordering::SeqCst);
    let resp = next.run(req).await;
    *activity.last.lock().expect("lock") = Instant::now();
    activity.pending.fetch_sub(1, Ordering::SeqCst);
    resp
}

/// Resolves once the server has been idle for `ttl`.
async fn idle_for(activity: Arc<Activity>, ttl: Duration) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle = activity.last.lock().expect("lock").elapsed();
        if activity.pending.load(Ordering::SeqCst) == 0 && idle >= ttl {
            return;
        }
    }
}

/// Removes the port file when dropped (at exit, also after an error).
struct PortFile(PathBuf);

impl Drop for PortFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs the PocketIC server until it is idle for `ttl` seconds (or `hard_ttl` seconds have
/// passed, or a signal arrives).
pub async fn run_server(
    port: Option<u16>,
    bind: Option<String>,
    port_file: Option<PathBuf>,
    ttl: Option<u64>,
) -> anyhow::Result<()> {
    run_server_with(port, bind, port_file, ttl, None).await
}

/// [`run_server`] with a hard time-to-live (`--hard-ttl`).
pub async fn run_server_with(
    port: Option<u16>,
    bind: Option<String>,
    port_file: Option<PathBuf>,
    ttl: Option<u64>,
    hard_ttl: Option<u64>,
) -> anyhow::Result<()> {
    let (mut file, guard) = match &port_file {
        Some(path) => match create_exclusively(path) {
            Ok(f) => (Some(f), Some(PortFile(path.clone()))),
            // Another server serves this port file: the crate will use that one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("creating the port file {}", path.display())),
        },
        None => (None, None),
    };
    let bind = bind.unwrap_or_else(|| "127.0.0.1".into());
    let listener = match tokio::net::TcpListener::bind((bind.as_str(), port.unwrap_or(0))).await {
        Ok(l) => l,
        Err(e) => {
            if let Some(f) = &mut file {
                let _ = writeln!(f, "localnet could not listen on {bind}:{}: {e}", port.unwrap_or(0));
            }
            // Keep the error line for the client: the file is left in place.
            std::mem::forget(guard);
            return Err(e).with_context(|| format!("listening on {bind}:{}", port.unwrap_or(0)));
        }
    };
    let port = listener.local_addr()?.port();
    if let Some(mut f) = file {
        f.write_all(format!("{port}\n").as_bytes()).context("writing the port file")?;
        f.flush()?;
    }

    let state = AppState::new();
    let activity = Arc::new(Activity { pending: AtomicU64::new(0), last: Mutex::new(Instant::now()) });
    let app = server::router(state.clone()).layer(axum::middleware::from_fn_with_state(activity.clone(), track));
    let ttl = Duration::from_secs(ttl.unwrap_or(DEFAULT_TTL_SECS));
    // The hard TTL is a hard exit: requests in flight are not waited for.
    let hard_port_file = port_file.clone();
    let hard = async move {
        match hard_ttl {
            Some(s) => {
                tokio::time::sleep(Duration::from_secs(s)).await;
                if let Some(p) = hard_port_file {
                    let _ = std::fs::remove_file(p);
                }
                std::process::exit(0);
            }
            None => std::future::pending::<()>().await,
        }
    };
    let stop = async move {
        tokio::select! {
            _ = crate::shutdown_signal() => {},
            _ = idle_for(activity, ttl) => {},
            _ = hard => {},
        }
    };
    axum::serve(listener, app).with_graceful_shutdown(stop).await?;
    tokio::task::spawn_blocking(move || state.shutdown_all()).await?;
    drop(guard);
    Ok(())
}

fn create_exclusively(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(path)
}

/// Gives a PocketIC client that waits on `path` the reason the server could not start
/// (a line that is not a port), unless the file exists already.
pub fn report_start_failure(path: &Path, error: &str) {
    if let Ok(mut f) = create_exclusively(path) {
        let _ = writeln!(f, "localnet could not start: {}", error.replace('\n', " "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn port_of(path: &Path) -> u16 {
        for _ in 0..1_000 {
            if let Ok(s) = std::fs::read_to_string(path) {
                if s.ends_with('\n') {
                    return s.trim_end().parse().unwrap_or_else(|_| panic!("not a port: {s:?}"));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no port written to {}", path.display());
    }

    fn get(port: u16, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("localnet-pic-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_port_file_is_exclusive_written_once_listening_and_removed_when_idle() {
        let dir = temp_dir("startup");
        let file = dir.join("server.port");
        let server = tokio::spawn(run_server_with(None, None, Some(file.clone()), Some(1), None));
        let f = file.clone();
        let port = tokio::task::spawn_blocking(move || port_of(&f)).await.unwrap();
        let status = tokio::task::spawn_blocking(move || get(port, "/status")).await.unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let unknown = tokio::task::spawn_blocking(move || get(port, "/instances/7/read/get_time")).await.unwrap();
        assert!(unknown.starts_with("HTTP/1.1 404") && unknown.contains("Instance 7 does not exist"), "{unknown}");
        // A second server for the same port file leaves at once, successfully.
        run_server_with(None, None, Some(file.clone()), Some(1), None).await.unwrap();
        assert!(file.exists());
        // Idle for the TTL: the server exits and removes its file.
        tokio::time::timeout(Duration::from_secs(30), server).await.expect("exits when idle").unwrap().unwrap();
        assert!(!file.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_server_that_cannot_listen_says_so_in_the_port_file() {
        let dir = temp_dir("busy");
        let file = dir.join("server.port");
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = run_server_with(Some(port), None, Some(file.clone()), Some(1), None).await.unwrap_err();
        assert!(format!("{err:#}").contains("listening"), "{err:#}");
        let line = std::fs::read_to_string(&file).unwrap();
        assert!(line.ends_with('\n') && line.contains("could not listen"), "{line:?}");
        report_start_failure(&file, "ignored: the file exists");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), line);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
