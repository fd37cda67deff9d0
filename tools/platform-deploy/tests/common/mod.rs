//! The test harness of this package's tests: `localnet serve` started as a child process on a
//! free port with its own state directory, ic-agent clients for it, and a stop that lets it save
//! its state (for restarts).
//!
//! Needs the server binary (`cargo build -p localnet-server`; LOCALNET_BIN overrides its path).

#![allow(dead_code)] // each test crate uses part of it

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ic_agent::identity::BasicIdentity;
use ic_agent::Agent;

pub struct Server {
    child: Child,
    pub dir: PathBuf,
    pub port: u16,
    pub url: String,
    pub root_key: Vec<u8>,
}

impl Server {
    pub fn start() -> Server {
        let dir = std::env::temp_dir().join(format!("platform-deploy-test-{}-{}", std::process::id(), unique()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Server::start_in(dir)
    }

    /// Serves the state kept in `dir/state`.
    pub fn start_in(dir: PathBuf) -> Server {
        let bin = std::env::var_os("LOCALNET_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/localnet"));
        assert!(bin.exists(), "{} is missing: build it with `cargo build -p localnet-server`", bin.display());
        let _ = std::fs::remove_file(dir.join("port"));
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap();
        let child = Command::new(bin)
            .args(["serve", "--port", "0", "--port-file"])
            .arg(dir.join("port"))
            .arg("--state-dir")
            .arg(dir.join("state"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting localnet");
        let deadline = Instant::now() + Duration::from_secs(60);
        let port: u16 = loop {
            if let Some(p) = std::fs::read_to_string(dir.join("port")).ok().and_then(|t| t.trim().parse().ok()) {
                break p;
            }
            assert!(Instant::now() < deadline, "the server wrote no port file");
            std::thread::sleep(Duration::from_millis(20));
        };
        let root_key = std::fs::read(dir.join("state/root_key.der")).unwrap();
        Server { child, dir, port, url: format!("http://127.0.0.1:{port}"), root_key }
    }

    pub fn agent(&self, seed: u8) -> Agent {
        let agent = Agent::builder().with_url(&self.url).with_identity(BasicIdentity::from_raw_key(&[seed; 32])).build().unwrap();
        agent.set_root_key(self.root_key.clone());
        agent
    }

    /// SIGTERM (the server saves its state), bounded wait; returns the directory for a restart.
    pub fn stop(mut self) -> PathBuf {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status().unwrap().success();
        assert!(ok, "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "the server did not stop within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "the server exited with {status}");
        std::mem::take(&mut self.dir)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() && !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn unique() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// An Ed25519 PEM (PKCS#8, as `icp identity export` and `dfx identity export` write it).
pub fn ed25519_pem(seed: [u8; 32]) -> String {
    use std::fmt::Write;
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
    der.extend_from_slice(&seed);
    let b64 = base64(&der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        writeln!(pem, "{}", std::str::from_utf8(line).unwrap()).unwrap();
    }
    pem + "-----END PRIVATE KEY-----\n"
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

