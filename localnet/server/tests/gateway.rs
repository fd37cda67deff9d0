//! The HTTP gateway end to end: the `localnet` binary serves one network, the `certified_page`
//! test canister is installed through the IC HTTP interface with `ic-agent`, and a plain HTTP
//! client fetches pages through `<id>.localhost` and `<id>.raw.localhost`.
//!
//! Needs `target/canisters/certified_page.wasm.gz` (`bash scripts/build-canisters.sh`;
//! `CANISTER_WASM_DIR` overrides the folder).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use candid::Principal;
use common::{create, create_and_install, identity, wasm, Server};

const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

// What certified_page serves (localnet/test-canisters/certified_page/src/lib.rs).
const INDEX_TITLE: &str = "<h1>Certified page</h1>";
const TAMPERED_SERVED: &str = "<h1>Tampered content</h1>";
const NOT_FOUND: &str = "<h1>Not found</h1>";

async fn install_certified_page(server: &Server) -> Principal {
    let agent = server.agent(identity(1)).await;
    create_and_install(&agent, wasm("certified_page"), candid::encode_args(()).unwrap()).await
}

/// A plain HTTP client that resolves `host` to the server (as browsers resolve `*.localhost`).
fn client(server: &Server, host: &str) -> reqwest::Client {
    let addr: SocketAddr = ([127, 0, 0, 1], server.port).into();
    reqwest::Client::builder().no_proxy().resolve(host, addr).timeout(HTTP_TIMEOUT).build().unwrap()
}

async fn get(server: &Server, host: &str, path: &str, accept: Option<&str>) -> Fetched {
    let url = format!("http://{host}:{}{path}", server.port);
    let mut req = client(server, host).get(&url);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}\n{}", server.log()));
    Fetched::from(resp).await
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
    let id = install_certified_page(&server).await;
    let host = format!("{id}.localhost");
    for path in ["/index.html", "/", "/index.html?utm=1"] {
        let r = get(&server, &host, path, Some("text/html")).await;
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
    let id = install_certified_page(&server).await;
    let r = get(&server, &format!("{id}.localhost"), "/no/such/page", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains(NOT_FOUND), "{}", r.body);
    assert!(r.header("x-ic-error-cause").is_none(), "the canister's own 404, not a gateway error");
}

#[tokio::test]
async fn tampered_response_is_refused() {
    let server = Server::start();
    let id = install_certified_page(&server).await;
    let host = format!("{id}.localhost");

    let r = get(&server, &host, "/tampered.html", None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.header("x-ic-error-cause"), Some("backend_response_verification"));
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    assert!(r.body.contains("Response Verification Error"), "{}", r.body);
    assert!(!r.body.contains(TAMPERED_SERVED), "the tampered body must not reach the client");

    // Browsers get an HTML page.
    let r = get(&server, &host, "/tampered.html", Some("text/html,application/xhtml+xml")).await;
    assert_eq!(r.status, 503);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.body.contains("<h1 id=\"title\">Response Verification Error</h1>"), "{}", r.body);
    assert!(!r.body.contains(TAMPERED_SERVED));
}

#[tokio::test]
async fn raw_domain_skips_verification() {
    let server = Server::start();
    let id = install_certified_page(&server).await;
    let host = format!("{id}.raw.localhost");
    let r = get(&server, &host, "/tampered.html", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(TAMPERED_SERVED), "{}", r.body);
    // Unverified: every header the canister sent passes.
    assert_eq!(r.header("x-uncertified"), Some("dropped by verifying gateways"));
    let r = get(&server, &host, "/index.html", None).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains(INDEX_TITLE));
}

#[tokio::test]
async fn upgrade_goes_through_http_request_update() {
    let server = Server::start();
    let id = install_certified_page(&server).await;
    let host = format!("{id}.localhost");
    let r = get(&server, &host, "/upgrade?x=1", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "updated 1 (GET /upgrade?x=1)");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    // The update's state change was committed: the count goes on.
    let url = format!("http://{host}:{}/upgrade", server.port);
    let resp = client(&server, &host).post(&url).body("payload").send().await.unwrap();
    let r = Fetched::from(resp).await;
    assert_eq!((r.status, r.body.as_str()), (200, "updated 2 (POST /upgrade)"));
}

#[tokio::test]
async fn unknown_and_empty_canisters_are_clear_errors() {
    let server = Server::start();
    // A well-formed id that no canister has.
    let unknown = Principal::from_text("rrkah-fqaaa-aaaaa-aaaaq-cai").unwrap();
    let r = get(&server, &format!("{unknown}.localhost"), "/index.html", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.header("x-ic-error-cause"), Some("canister_not_found"));
    assert!(r.body.contains("Canister Not Found") && r.body.contains(&unknown.to_string()), "{}", r.body);

    // A canister with no code cannot answer http_request.
    let empty = create(&server.agent(identity(2)).await).await;
    let r = get(&server, &format!("{empty}.localhost"), "/", Some("text/html")).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.header("x-ic-error-cause"), Some("canister_error"));
    assert!(r.body.contains("Canister Error"), "{}", r.body);
}
