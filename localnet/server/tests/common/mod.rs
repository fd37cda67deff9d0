//! Test harness: a `localnet serve` process on a free loopback port with a state directory of
//! its own, stopped (SIGTERM, then killed after a bound) and cleaned up on drop.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use candid::{CandidType, Principal};
use ic_agent::identity::BasicIdentity;
use ic_agent::{Agent, Identity};

const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

pub fn wasm(name: &str) -> Vec<u8> {
    let dir = match std::env::var_os("CANISTER_WASM_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/canisters"),
    };
    let path = dir.join(format!("{name}.wasm.gz"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}. Build the canisters first: bash scripts/build-canisters.sh", path.display()))
}

pub struct Server {
    child: Option<Child>,
    pub dir: PathBuf,
    pub port: u16,
    pub root_key: Vec<u8>,
}

impl Server {
    /// A server with a new, empty state directory.
    pub fn start() -> Server {
        let dir = std::env::temp_dir().join(format!(
            "localnet-server-test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        std::fs::create_dir_all(dir.join("state")).unwrap();
        Server::start_in(dir)
    }

    /// A server on the state kept in `dir/state`.
    pub fn start_in(dir: PathBuf) -> Server {
        let state = dir.join("state");
        let port_file = dir.join("port");
        let _ = std::fs::remove_file(&port_file);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_localnet"))
            .args(["serve", "--port", "0", "--port-file"])
            .arg(&port_file)
            .arg("--state-dir")
            .arg(&state)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting the localnet binary");
        let mut server = Server { child: Some(child), dir, port: 0, root_key: vec![] };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                if let Ok(port) = text.trim().parse() {
                    server.port = port;
                    break;
                }
            }
            if let Ok(Some(status)) = server.child.as_mut().unwrap().try_wait() {
                panic!("the server exited ({status}) before writing its port file:\n{}", server.log());
            }
            assert!(Instant::now() < deadline, "no port file after {START_TIMEOUT:?}:\n{}", server.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        server.root_key = std::fs::read(state.join("root_key.der")).expect("root_key.der in the state directory");
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// SIGTERM and wait for a clean exit; returns the state directory's parent for a restart.
    pub fn stop(mut self) -> PathBuf {
        let status = self.terminate();
        assert!(status.is_some_and(|s| s.success()), "the server did not exit cleanly ({status:?}):\n{}", self.log());
        let dir = self.dir.clone();
        self.dir = PathBuf::new(); // kept for the restart: Drop must not remove it
        dir
    }

    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        unsafe { libc_kill(child.id() as i32, 15) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An agent with an identity, verifying certificates and query signatures (the defaults).
    pub async fn agent(&self, identity: impl Identity + 'static) -> Agent {
        let agent = Agent::builder().with_url(self.url()).with_identity(identity).build().expect("agent");
        agent.set_root_key(self.root_key.clone());
        agent
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
        if !self.dir.as_os_str().is_empty() && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

pub fn identity(seed: u8) -> BasicIdentity {
    BasicIdentity::from_raw_key(&[seed; 32])
}

/// Creates an empty canister (100T cycles) controlled by the agent's identity.
pub async fn create(agent: &Agent) -> Principal {
    #[derive(CandidType)]
    struct CreateArgs {
        amount: Option<candid::Nat>,
        settings: Option<()>,
    }
    #[derive(CandidType, candid::Deserialize)]
    struct Created {
        canister_id: Principal,
    }
    // Any canister id of the subnet's range serves as the effective canister id.
    let any = Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    let reply = agent
        .update(&Principal::management_canister(), "provisional_create_canister_with_cycles")
        .with_effective_canister_id(any)
        .with_arg(candid::encode_one(CreateArgs { amount: Some(100_000_000_000_000u128.into()), settings: None }).unwrap())
        .call_and_wait()
        .await
        .expect("provisional_create_canister_with_cycles");
    candid::decode_one::<Created>(&reply).unwrap().canister_id
}

/// Creates a canister controlled by the agent's identity and installs `wasm`.
pub async fn create_and_install(agent: &Agent, wasm: Vec<u8>, arg: Vec<u8>) -> Principal {
    let id = create(agent).await;
    let args = ic_management_canister_types::InstallCodeArgs {
        mode: ic_management_canister_types::CanisterInstallMode::Install,
        canister_id: id,
        wasm_module: wasm,
        arg,
        sender_canister_version: None,
    };
    agent
        .update(&Principal::management_canister(), "install_code")
        .with_effective_canister_id(id)
        .with_arg(candid::encode_one(args).unwrap())
        .call_and_wait()
        .await
        .expect("install_code");
    id
}
