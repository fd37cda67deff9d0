//! learning_content's certified HTTP through `localnet serve`'s HTTP gateway, which verifies
//! every response (HTTP certification v2) against the root key as ic-http-gateway does: one GET
//! per route on the verifying domain (`<id>.localhost`) is served with the canister's status and
//! never refused as a verification failure; `/metrics` is served with certification skipped.
//!
//! Needs the server binary (`cargo build -p localnet-server`) and the canister Wasm
//! (`bash scripts/build-canisters.sh`).

use std::net::SocketAddr;

use candid::Principal;
use platform_deploy::Management;
use platform_types::{ContentInitArgs, Question, Unit, UnitInput};

mod common;
use common::Server;

struct Reply {
    status: u16,
    error_cause: Option<String>,
    etag: Option<String>,
    body: String,
}

async fn get(server: &Server, canister: Principal, path: &str, headers: &[(&str, &str)]) -> Reply {
    let host = format!("{canister}.localhost");
    let addr: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let client = reqwest::Client::builder().resolve(&host, addr).build().unwrap();
    let url = format!("http://{host}:{}{path}", server.port);
    let mut req = client.get(&url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let header = |name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    let (status, error_cause, etag) = (r.status().as_u16(), header("x-ic-error-cause"), header("etag"));
    Reply { status, error_cause, etag, body: r.text().await.unwrap() }
}

fn unit(id: &str, subject: &str) -> UnitInput {
    UnitInput {
        unit: Unit {
            id: id.into(),
            subject: subject.into(),
            title: format!("{subject}: {id}"),
            body: format!("Reading material of {id}."),
            questions: vec![Question { text: "Which?".into(), options: vec!["a".into(), "b".into()] }],
        },
        answer_key: vec![1],
    }
}

#[tokio::test]
async fn every_content_route_is_served_verified_by_the_gateway() {
    let server = Server::start();
    let agent = server.agent(11);
    let management = Management { agent: &agent };
    let id = management.create_canister().await.unwrap();
    let wasm = std::fs::read(platform_deploy::default_wasm_dir().join("learning_content.wasm.gz")).expect("bash scripts/build-canisters.sh");
    let init = ContentInitArgs {
        hub_id: Principal::from_slice(&[1; 29]),
        sns_governance_id: Principal::from_slice(&[2; 29]),
        units: vec![unit("math-1", "Mathematics"), unit("art-1", "History & Art")],
        pass_mark_percent: None,
    };
    management.install(id, wasm, candid::encode_one(init).unwrap()).await.unwrap();

    let unit_reply = get(&server, id, "/units/math-1", &[]).await;
    let tag = unit_reply.etag.clone().expect("the ETag is certified and passed on");
    let routes: [(&str, &[(&str, &str)], u16); 8] = [
        ("/subjects", &[], 200),
        ("/subjects/Mathematics/units/0", &[], 200),
        ("/subjects/History%20%26%20Art/units/0", &[], 200),
        ("/units/math-1", &[], 200),
        ("/units/math-1", &[("If-None-Match", &tag)], 304),
        ("/units/nope", &[], 404),
        ("/units?subject=Mathematics", &[], 404),
        ("/anything/else", &[], 404),
    ];
    for (path, headers, status) in routes {
        let r = get(&server, id, path, headers).await;
        assert_eq!(r.error_cause, None, "{path}: refused by the gateway: {}", r.body);
        assert_eq!(r.status, status, "{path}: {}", r.body);
    }
    assert!(unit_reply.body.contains("\"id\":\"math-1\""), "{}", unit_reply.body);
    // Metrics: certification skipped, so the verifying domain serves them too.
    let metrics = get(&server, id, "/metrics", &[]).await;
    assert_eq!((metrics.status, metrics.error_cause), (200, None), "{}", metrics.body);
}
