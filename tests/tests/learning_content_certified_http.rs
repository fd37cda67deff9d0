//! learning_content's HTTP responses are certified (HTTP certification v2) and verify as the IC's
//! HTTP gateways verify them: `ic-response-verification`'s `verify_request_response_pair`
//! against the root key of a network whose certificates are really signed (BLS,
//! localnet-server's keys). Every route (200, 304, 404, 405, the former query listing) verifies;
//! a tampered body, status or header does not; the certification follows add_units,
//! update_unit and retire_units (called as SNS governance calls an adopted proposal's target)
//! and an upgrade. Also: the instructions a full recertification (post_upgrade with 1,000 units)
//! and an add_units of 50 units take.

use candid::{CandidType, Deserialize, Principal};
use ic_http_certification::{
    HttpRequest as VRequest, HttpResponse as VResponse, Method, StatusCode,
};
use integration_tests::wasm;
use localnet::{Certifier, LocalNet};
use localnet_server::keys::Keys;
use localnet_server::state_tree::{self, StateTree};
use platform_types::{
    AddUnitsArgs, ContentInitArgs, Question, RetireUnitsArgs, Unit, UnitInput, UpdateUnitArgs,
};
use std::sync::Arc;

/// Signs data certificates with a BLS root key, as localnet-server does.
struct SigningCertifier(Arc<Keys>);

impl Certifier for SigningCertifier {
    fn root_key(&self) -> Vec<u8> {
        self.0.root_key_der().to_vec()
    }
    fn data_certificate(&self, canister: Principal, certified_data: &[u8], time: u64) -> Vec<u8> {
        let mut tree = StateTree::default();
        tree.insert(
            &[b"canister", canister.as_slice(), b"certified_data"],
            certified_data.to_vec(),
        );
        tree.insert(&[b"time"], state_tree::leb128(time));
        state_tree::certificate(&self.0, &tree.full())
    }
}

const GOVERNANCE: Principal = Principal::from_slice(&[2; 29]);
/// ic-http-gateway's allowed certificate age.
const MAX_CERT_TIME_OFFSET_NS: u128 = 300_000_000_000;

#[derive(CandidType, Deserialize, Clone, Debug)]
struct HttpRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    certificate_version: Option<u16>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
struct HttpResponse {
    status_code: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    upgrade: Option<bool>,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

fn unit(id: &str, subject: &str, questions: usize) -> UnitInput {
    UnitInput {
        unit: Unit {
            id: id.into(),
            subject: subject.into(),
            title: format!("{subject}: {id}"),
            body: format!("# {id}\n\nReading material of {id}."),
            questions: (0..questions)
                .map(|i| Question {
                    text: format!("{id} question {i}?"),
                    options: vec!["a".into(), "b".into(), "c".into()],
                })
                .collect(),
        },
        answer_key: vec![1; questions],
    }
}

struct Env {
    net: LocalNet,
    keys: Arc<Keys>,
    id: Principal,
}

fn env(units: Vec<UnitInput>) -> Env {
    let keys = Arc::new(Keys::generate());
    let net = LocalNet::builder()
        .with_certifier(Arc::new(SigningCertifier(keys.clone())))
        .build();
    let id = net.create_canister();
    let init = ContentInitArgs {
        hub_id: Principal::from_slice(&[1; 29]),
        sns_governance_id: GOVERNANCE,
        units,
        pass_mark_percent: None,
    };
    net.install_canister(
        id,
        wasm("learning_content"),
        candid::encode_one(init).unwrap(),
        None,
    );
    Env { net, keys, id }
}

impl Env {
    fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
    ) -> (HttpRequest, HttpResponse) {
        let req = HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: vec![],
            certificate_version: Some(2),
        };
        let (resp,): (HttpResponse,) = self
            .net
            .query_candid(self.id, "http_request", (req.clone(),))
            .unwrap();
        (req, resp)
    }

    /// What a verifying gateway does with the pair: `Ok` with the status and the headers it
    /// passes on, or the verification error.
    fn verify(
        &self,
        req: &HttpRequest,
        resp: &HttpResponse,
    ) -> Result<(u16, Vec<(String, String)>), String> {
        let request = VRequest::builder()
            .with_method(Method::from_bytes(req.method.as_bytes()).unwrap())
            .with_url(req.url.clone())
            .with_headers(req.headers.clone())
            .with_body(req.body.clone())
            .build();
        let response = VResponse::builder()
            .with_status_code(StatusCode::from_u16(resp.status_code).unwrap())
            .with_headers(resp.headers.clone())
            .with_body(resp.body.clone())
            .build();
        let info = ic_response_verification::verify_request_response_pair(
            request,
            response,
            self.id.as_slice(),
            self.net.get_time_nanos() as u128,
            MAX_CERT_TIME_OFFSET_NS,
            self.keys.root_key_der(),
            2,
        )
        .map_err(|e| e.to_string())?;
        let verified = info.response.ok_or("certification skipped")?;
        Ok((verified.status_code.unwrap(), verified.headers))
    }

    /// GET `url`, verified; the response.
    fn get_verified(&self, url: &str, status: u16) -> HttpResponse {
        self.verified("GET", url, &[], status)
    }

    fn verified(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        status: u16,
    ) -> HttpResponse {
        let (req, resp) = self.request(method, url, headers);
        assert_eq!(
            resp.status_code,
            status,
            "{method} {url}: {:?}",
            String::from_utf8_lossy(&resp.body)
        );
        let (code, passed) = self
            .verify(&req, &resp)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        assert_eq!(code, status);
        // The gateway passes on what the canister set.
        for name in ["Content-Type", "Cache-Control", "ETag", "Allow"] {
            assert_eq!(
                passed
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_str()),
                resp.header(name),
                "{url}: {name}"
            );
        }
        resp
    }

    fn execute(&self, method: &str, payload: Vec<u8>) -> u64 {
        self.net.take_execution_log();
        self.net
            .update_call(self.id, GOVERNANCE, method, payload)
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        // The target's own execution (a content change also starts the answer-key push to the
        // hub, a timer execution that may run after it).
        self.net
            .take_execution_log()
            .into_iter()
            .filter(|r| r.canister == self.id && r.entry == format!("update {method}"))
            .last()
            .expect("the target ran")
            .instructions
    }
}

fn tampered(resp: &HttpResponse, f: impl FnOnce(&mut HttpResponse)) -> HttpResponse {
    let mut r = resp.clone();
    f(&mut r);
    r
}

#[test]
fn every_route_verifies_against_the_root_key_and_tampering_does_not() {
    let e = env(vec![
        unit("math-1", "Mathematics", 2),
        unit("math-2", "Mathematics", 1),
        unit("hist-1", "History & Art", 3),
    ]);
    let subjects = e.get_verified("/subjects", 200);
    assert_eq!(
        subjects.json()["subjects"],
        serde_json::json!(["History & Art", "Mathematics"])
    );
    let page = e.get_verified("/subjects/Mathematics/units/0", 200);
    assert_eq!(page.json()["units"].as_array().unwrap().len(), 2);
    assert_eq!(
        e.get_verified("/subjects/History%20%26%20Art/units/0", 200)
            .json()["units"][0]["id"],
        "hist-1"
    );
    let unit = e.get_verified("/units/math-1", 200);
    assert_eq!(unit.json()["id"], "math-1");
    e.get_verified("/units/math-1?utm=x", 200);
    // 304 for the current ETag, certified with it.
    let tag = unit.header("ETag").unwrap().to_string();
    let not_modified = e.verified("GET", "/units/math-1", &[("If-None-Match", &tag)], 304);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("ETag"), Some(tag.as_str()));
    // 404s (the wildcard fallback), the former query listing, 405s.
    for url in [
        "/units/nope",
        "/nope",
        "/subjects/Mathematics/units/1",
        "/subjects/Physics/units/0",
        "/subjects/",
    ] {
        e.get_verified(url, 404);
    }
    let listing = e.get_verified("/units?subject=Mathematics&offset=0&limit=5", 404);
    assert!(listing.json()["error"]
        .as_str()
        .unwrap()
        .contains("/subjects/<subject>/units/<page>"));
    for url in ["/subjects", "/units/math-1", "/nope", "/units"] {
        let r = e.verified("POST", url, &[], 405);
        assert_eq!(r.header("Allow"), Some("GET"));
    }

    // /metrics: certification skipped (verification passes and vouches for nothing).
    let (req, metrics) = e.request("GET", "/metrics", &[]);
    assert_eq!(metrics.status_code, 200);
    assert_eq!(
        e.verify(&req, &metrics),
        Err("certification skipped".to_string())
    );

    // A response altered in any certified part fails verification.
    let (req, resp) = e.request("GET", "/units/math-1", &[]);
    let altered = [
        tampered(&resp, |r| {
            r.body = r
                .body
                .iter()
                .map(|b| if *b == b'1' { b'2' } else { *b })
                .collect()
        }),
        tampered(&resp, |r| r.status_code = 404),
        tampered(&resp, |r| {
            r.headers.retain(|(n, _)| n != "Cache-Control");
            r.headers
                .push(("Cache-Control".into(), "public, max-age=31536000".into()));
        }),
        // Another unit's certified body and headers at this path.
        tampered(&e.request("GET", "/units/math-2", &[]).1, |_| {}),
    ];
    for (i, r) in altered.iter().enumerate() {
        assert!(e.verify(&req, r).is_err(), "tampered response {i} verified");
    }
    // An uncertified header is not passed on.
    let extra = tampered(&resp, |r| {
        r.headers.push(("Set-Cookie".into(), "x=1".into()))
    });
    let (_, passed) = e.verify(&req, &extra).unwrap();
    assert!(passed.iter().all(|(n, _)| n != "Set-Cookie"));
    // A 404 served for an existing unit does not verify (its exact path is in the tree).
    let (_, missing) = e.request("GET", "/units/nope", &[]);
    assert!(e.verify(&req, &missing).is_err());
}

#[test]
fn certification_follows_content_proposals_and_upgrades() {
    let e = env(vec![
        unit("math-1", "Mathematics", 2),
        unit("hist-1", "History", 1),
    ]);
    let before = e.get_verified("/units/math-1", 200);

    let add = AddUnitsArgs {
        units: vec![
            unit("math-0", "Mathematics", 1),
            unit("chem-1", "Chemistry", 2),
        ],
    };
    e.execute("add_units", candid::encode_one(add).unwrap());
    assert_eq!(
        e.get_verified("/subjects", 200).json()["subjects"],
        serde_json::json!(["Chemistry", "History", "Mathematics"])
    );
    assert_eq!(
        e.get_verified("/subjects/Mathematics/units/0", 200).json()["units"][0]["id"],
        "math-0"
    );
    e.get_verified("/units/chem-1", 200);
    e.get_verified("/subjects/Chemistry/units/0", 200);

    let mut changed = unit("math-1", "History", 3);
    changed.unit.title = "Moved and rewritten".into();
    e.execute(
        "update_unit",
        candid::encode_one(UpdateUnitArgs { unit: changed }).unwrap(),
    );
    let after = e.get_verified("/units/math-1", 200);
    assert_eq!(after.json()["title"], "Moved and rewritten");
    assert_ne!(after.header("ETag"), before.header("ETag"));
    let history = e.get_verified("/subjects/History/units/0", 200).json();
    assert_eq!(history["units"].as_array().unwrap().len(), 2);
    // The old ETag no longer gets a 304.
    e.verified(
        "GET",
        "/units/math-1",
        &[("If-None-Match", before.header("ETag").unwrap())],
        200,
    );

    let retire = RetireUnitsArgs {
        unit_ids: vec!["chem-1".into()],
        reason: "outdated".into(),
    };
    e.execute("retire_units", candid::encode_one(retire).unwrap());
    e.get_verified("/units/chem-1", 404);
    e.get_verified("/subjects/Chemistry/units/0", 404);
    assert_eq!(
        e.get_verified("/subjects", 200).json()["subjects"],
        serde_json::json!(["History", "Mathematics"])
    );

    e.net
        .upgrade_canister(
            e.id,
            wasm("learning_content"),
            candid::encode_args(()).unwrap(),
            None,
        )
        .unwrap();
    for url in [
        "/subjects",
        "/units/math-1",
        "/units/math-0",
        "/subjects/History/units/0",
        "/subjects/Mathematics/units/0",
    ] {
        e.get_verified(url, 200);
    }
    e.get_verified("/units/chem-1", 404);
    // The same response after the upgrade (under a new certificate).
    let without_certificate =
        |r: HttpResponse| tampered(&r, |r| r.headers.retain(|(n, _)| n != "IC-Certificate"));
    assert_eq!(
        without_certificate(e.get_verified("/units/math-1", 200)),
        without_certificate(after)
    );
}

/// Instruction counts (not wall-clock): a full recertification in post_upgrade with 1,000 units,
/// and add_units of 50 units, which only re-certifies the pages it changes.
#[test]
fn recertification_cost_is_bounded_and_follows_the_change() {
    let subjects = ["Algebra", "Biology", "Chemistry", "Drawing"];
    let units: Vec<UnitInput> = (0..1000)
        .map(|i| unit(&format!("u{i:04}"), subjects[i % 4], 3))
        .collect();
    let e = env(units);
    e.net
        .upgrade_canister(
            e.id,
            wasm("learning_content"),
            candid::encode_args(()).unwrap(),
            None,
        )
        .unwrap();
    let upgrade = e
        .net
        .last_execution(e.id)
        .filter(|r| r.entry == "post_upgrade")
        .expect("post_upgrade ran")
        .instructions;
    e.get_verified("/subjects/Drawing/units/12", 200);

    let add = AddUnitsArgs {
        units: (0..50)
            .map(|i| unit(&format!("v{i:04}"), "Algebra", 3))
            .collect(),
    };
    let add_units = e.execute("add_units", candid::encode_one(add).unwrap());
    e.get_verified("/units/v0049", 200);
    e.get_verified("/subjects/Algebra/units/14", 200);
    println!("post_upgrade with 1,000 units: {upgrade} instructions; add_units of 50 units: {add_units} instructions");
    // Measured: 4.34 B and 0.37 B (about 4.3 M instructions per unit certified: its JSON, three
    // response hashes and three tree insertions, plus its share of a page). The IC's limits are
    // 300 B for an upgrade and 40 B for an update: ~60,000 units fit in one post_upgrade.
    assert!(upgrade < 6_000_000_000, "post_upgrade: {upgrade}");
    assert!(add_units < 600_000_000, "add_units: {add_units}");
    // The update does not re-certify the whole content.
    assert!(
        add_units * 4 < upgrade,
        "add_units {add_units} vs post_upgrade {upgrade}"
    );
}
