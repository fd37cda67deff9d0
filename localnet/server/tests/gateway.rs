//! The HTTP gateway end to end: the `localnet` binary serves one network, the `certified_page`
//! test canister is installed through the IC HTTP interface with `ic-agent`, and a plain HTTP
//! client fetches pages through `<id>.localhost` and `<id>.raw.localhost`.
//!
//! Needs `target/canisters/certified_page.wasm.gz` (`bash scripts/build-canisters.sh`;
//! `CANISTER_WASM_DIR` overrides the folder).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use candid::{Nat, Principal};
use ic_agent::Agent;
use ic_management_canister_types::{CanisterIdRecord, CanisterInstallMode, InstallCodeArgs, ProvisionalCreateCanisterWithCyclesArgs};

const START_TIMEOUT: Duration = Duration::from_secs(60);
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

// What certified_page serves (localnet/test-canisters/certified_page/src/lib.rs).
const INDEX_TITLE: &str = "<h1>Certified page</h1>";
const TAMPERED_SERVED: &str = "<h1>Tampered content</h1>";
const NOT_FOUND: &str = "<h1>Not found</h1>";

fn wasm(name: &str) -> Vec<u8> {
    let dir = match std::env::var_os("CANISTER_WASM_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/canisters"),
    };
    let path = dir.join(format!("{name}.wasm.gz"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}. Build the canisters first: bash scripts/build-canisters.sh", path.display()))
}

/// A `localnet serve` process on a free port with a state directory of its own; killed and
/// cleaned up on drop.
struct Server {
    child: Child,
    dir: PathBuf,
    port: u16,
    root_key: Vec<u8>,
}

impl Server {
    fn start() -> Server {
        let dir = std::env::temp_dir().join(format!(
            "localnet-gateway-test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        let state = dir.join("state");
        std::fs::create_dir_all(&state).unwrap();
        let port_file = dir.join("port");
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
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
        let mut server = Server { child, dir, port: 0, root_key: vec![] };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                if let Ok(port) = text.trim().parse() {
                    server.port = port;
                    break;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the server exited ({status}) before writing its port file:\n{}", server.log());
            }
            assert!(Instant::now() < deadline, "no port file after {START_TIMEOUT:?}:\n{}", server.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        server.root_key = std::fs::read(state.join("root_key.der")).expect("root_key.der in the state directory");
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn agent(&self) -> Agent {
        let agent = Agent::builder().with_url(self.url()).build().unwrap();
        agent.set_root_key(self.root_key.clone());
        agent
    }

    /// Creates an empty canister (anonymous controller).
    async fn create(&self) -> Principal {
        let agent = self.agent().await;
        let args = ProvisionalCreateCanisterWithCyclesArgs {
            amount: Some(Nat::from(100_000_000_000_000u128)),
            settings: None,
            specified_id: None,
            sender_canister_version: None,
        };
        let reply = agent
            .update(&Principal::management_canister(), "provisional_create_canister_with_cycles")
            .with_arg(candid::encode_one(args).unwrap())
            .call_and_wait()
            .await
            .unwrap_or_else(|e| panic!("provisional_create_canister_with_cycles: {e}\n{}", self.log()));
        candid::decode_one::<CanisterIdRecord>(&reply).unwrap().canister_id
    }

    /// Creates a canister and installs `certified_page` in it.
    async fn install_certified_page(&self) -> Principal {
        let canister_id = self.create().await;
        let args = InstallCodeArgs {
            mode: CanisterInstallMode::Install,
            canister_id,
            wasm_module: wasm("certified_page"),
            arg: candid::encode_args(()).unwrap(),
            sender_canister_version: None,
        };
        self.agent()
            .await
            .update(&Principal::management_canister(), "install_code")
            .with_effective_canister_id(canister_id)
            .with_arg(candid::encode_one(args).unwrap())
            .call_and_wait()
            .await
            .unwrap_or_else(|e| panic!("install_code: {e}\n{}", self.log()));
        canister_id
    }

    /// A plain HTTP client that resolves `host` to this server (as browsers resolve `*.localhost`).
    fn client(&self, host: &str) -> reqwest::Client {
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        reqwest::Client::builder().no_proxy().resolve(host, addr).timeout(HTTP_TIMEOUT).build().unwrap()
    }

    async fn get(&self, host: &str, path: &str, accept: Option<&str>) -> Fetched {
        let url = format!("http://{host}:{}{path}", self.port);
        let mut req = self.client(host).get(&url);
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}\n{}", self.log()));
        Fetched::from(resp).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("KEEP_LOCALNET_TMP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

struct Fetched {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Fetched {
    async fn from(resp: reqwest::Response) -> Fetched {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap();
        Fetched { status, headers, body }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[tokio::test]
async fn certified_page_verifies_and_is_served() {
    let server = Server::start();
    let id = server.install_certified_page().await;
    let host = format!("{id}.localhost");
    for path in ["/index.html", "/", "/index.html?utm=1"] {
        let r = server.get(&host, path, Some("text/html")).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(r.body.contains(INDEX_TITLE), "{path}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        let cert = r.header("ic-certificate").expect("the certificate header is passed on");
        assert!(cert.contains("version=2"), "{cert}");
        // A verified response carries only its certified headers (with IC-Certificate and
        // IC-CertificateExpression), as the IC's gateways do.
        assert!(r.header("ic-certificateexpression").is_some());
        assert!(r.header("x-uncertified").is_none(), "an uncertified header must be dropped");
    }
}

#[tokio::test]
async fn certified_not_found_keeps_its_status() {
    let server = Server::start();
    let id = server.install_certified_page().await;
    let r = server.get(&format!("{id}.localhost"), "/no/such/page", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains(NOT_FOUND), "{}", r.body);
    assert!(r.header("x-ic-error-cause").is_none(), "the canister's own 404, not a gateway error");
}

#[tokio::test]
async fn tampered_response_is_refused() {
    let server = Server::start();
    let id = server.install_certified_page().await;
    let host = format!("{id}.localhost");

    let r = server.get(&host, "/tampered.html", None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.header("x-ic-error-cause"), Some("backend_response_verification"));
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    assert!(r.body.contains("Response Verification Error"), "{}", r.body);
    assert!(!r.body.contains(TAMPERED_SERVED), "the tampered body must not reach the client");

    // Browsers get an HTML page.
    let r = server.get(&host, "/tampered.html", Some("text/html,application/xhtml+xml")).await;
    assert_eq!(r.status, 503);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.body.contains("<h1 id=\"title\">Response Verification Error</h1>"), "{}", r.body);
    assert!(!r.body.contains(TAMPERED_SERVED));
}

#[tokio::test]
async fn raw_domain_skips_verification() {
    let server = Server::start();
    let id = server.install_certified_page().await;
    let host = format!("{id}.raw.localhost");
    let r = server.get(&host, "/tampered.html", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(TAMPERED_SERVED), "{}", r.body);
    // Unverified: every header the canister sent passes.
    assert_eq!(r.header("x-uncertified"), Some("dropped by verifying gateways"));
    let r = server.get(&host, "/index.html", None).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains(INDEX_TITLE));
}

#[tokio::test]
async fn upgrade_goes_through_http_request_update() {
    let server = Server::start();
    let id = server.install_certified_page().await;
    let host = format!("{id}.localhost");
    let r = server.get(&host, "/upgrade?x=1", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "updated 1 (GET /upgrade?x=1)");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    // The update's state change was committed: the count goes on.
    let url = format!("http://{host}:{}/upgrade", server.port);
    let resp = server.client(&host).post(&url).body("payload").send().await.unwrap();
    let r = Fetched::from(resp).await;
    assert_eq!((r.status, r.body.as_str()), (200, "updated 2 (POST /upgrade)"));
}

#[tokio::test]
async fn unknown_and_empty_canisters_are_clear_errors() {
    let server = Server::start();
    // A well-formed id that no canister has.
    let unknown = Principal::from_text("rrkah-fqaaa-aaaaa-aaaaq-cai").unwrap();
    let r = server.get(&format!("{unknown}.localhost"), "/index.html", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.header("x-ic-error-cause"), Some("canister_not_found"));
    assert!(r.body.contains("Canister Not Found") && r.body.contains(&unknown.to_string()), "{}", r.body);

    // A canister with no code cannot answer http_request.
    let empty = server.create().await;
    let r = server.get(&format!("{empty}.localhost"), "/", Some("text/html")).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.header("x-ic-error-cause"), Some("canister_error"));
    assert!(r.body.contains("Canister Error"), "{}", r.body);
}
