//! learning_content on localnet: content from the init argument, queries and paging, quiz
//! verification for registered shards only, the HTTP interface (routes, cache headers, 304),
//! answer keys never observable outside `verify_quiz`, and everything surviving an upgrade.
//! Governance: the content proposals (`add_units`, `update_unit`, `retire_units` and their
//! validators) for SNS governance only, the hub's `apply_config`, the upgrade argument that sets
//! the governance id, and the whole path through the local SNS governance and root.

use candid::{CandidType, Principal};
use integration_tests::wasm;
use localnet::{LocalNet, RejectCode};
use platform_types::{
    ContentInitArgs, Question, Unit, UnitInput, UnitPage, VerifyError, VerifyResult,
};
use serde::Deserialize;

const HUB: u8 = 1;
const GOVERNANCE: u8 = 2;
const SHARD: u8 = 3;
const STRANGER: u8 = 4;

fn principal(n: u8) -> Principal {
    Principal::from_slice(&[n; 29])
}

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
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

fn unit(id: &str, subject: &str, options: &[usize]) -> Unit {
    Unit {
        id: id.into(),
        subject: subject.into(),
        title: format!("{subject}: {id}"),
        body: format!("# {id}\n\nReading material of {id}."),
        questions: options
            .iter()
            .enumerate()
            .map(|(i, n)| Question {
                text: format!("{id} question {}?", i + 1),
                options: (0..*n).map(|o| format!("choice {o}")).collect(),
            })
            .collect(),
    }
}

/// 2 subjects: Mathematics (3 units) and History (2 units). `shift` rotates every answer key
/// (within each question's options) to make a second, differently keyed, installation.
fn content(shift: u32) -> Vec<UnitInput> {
    let specs: [(&str, &str, &[usize], &[u32]); 5] = [
        ("math-2", "Mathematics", &[4, 4], &[1, 1]),
        ("math-1", "Mathematics", &[4, 3, 2], &[2, 0, 1]),
        ("hist-1", "History", &[3, 3], &[0, 2]),
        ("math-3", "Mathematics", &[4], &[3]),
        ("hist-2", "History", &[4, 4, 4, 4], &[1, 0, 3, 2]),
    ];
    specs
        .iter()
        .map(|(id, subject, options, key)| UnitInput {
            unit: unit(id, subject, options),
            answer_key: key
                .iter()
                .zip(options.iter())
                .map(|(k, n)| (k + shift) % *n as u32)
                .collect(),
        })
        .collect()
}

fn init_args(units: Vec<UnitInput>, pass_mark_percent: Option<u8>) -> ContentInitArgs {
    ContentInitArgs {
        hub_id: principal(HUB),
        sns_governance_id: principal(GOVERNANCE),
        units,
        pass_mark_percent,
    }
}

fn install(net: &LocalNet, args: &ContentInitArgs) -> Principal {
    let id = net.create_canister();
    net.install_canister(
        id,
        wasm("learning_content"),
        candid::encode_one(args).unwrap(),
        None,
    );
    id
}

fn setup() -> (LocalNet, Principal) {
    let net = LocalNet::new();
    let id = install(&net, &init_args(content(0), None));
    (net, id)
}

fn register_shard(
    net: &LocalNet,
    id: Principal,
    caller: Principal,
    shard: Principal,
) -> Result<(), String> {
    match net.update_candid_as(id, caller, "register_shard", (shard,)) {
        Ok((r,)) => r,
        // Refused by the ingress filter (`inspect_message`) before execution.
        Err(e) => Err(refused_at_ingress(e)),
    }
}

/// The reason of an ingress message learning_content's `canister_inspect_message` refused (it
/// never executed); panics on any other error.
fn refused_at_ingress(e: localnet::CallError) -> String {
    match e {
        localnet::CallError::Reject(r)
            if r.error_code == localnet::ErrorCode::CanisterRejectedMessage =>
        {
            assert!(
                r.reject_message
                    .contains("learning_content refuses this ingress message"),
                "{r}"
            );
            r.reject_message
        }
        other => panic!("expected a refusal at ingress, got {other}"),
    }
}

/// `execute` was refused by the ingress filter: rejected at submission, with `expected` in
/// the reason.
fn assert_refused_at_ingress(r: Result<(), RejectResponse>, expected: &str) {
    let e = r.expect_err("the ingress filter must refuse it");
    assert_eq!(
        e.error_code,
        localnet::ErrorCode::CanisterRejectedMessage,
        "{e}"
    );
    assert!(
        e.reject_message.contains(expected),
        "expected {expected:?} in {:?}",
        e.reject_message
    );
}

fn verify_query(
    net: &LocalNet,
    id: Principal,
    caller: Principal,
    unit: &str,
    answers: &[u32],
) -> Result<VerifyResult, VerifyError> {
    let (r,): (Result<VerifyResult, VerifyError>,) = net
        .query_candid_as(
            id,
            caller,
            "verify_quiz",
            (unit.to_string(), answers.to_vec()),
        )
        .unwrap();
    r
}

fn verify_update(
    net: &LocalNet,
    id: Principal,
    caller: Principal,
    unit: &str,
    answers: &[u32],
) -> Result<VerifyResult, VerifyError> {
    let (r,): (Result<VerifyResult, VerifyError>,) = net
        .update_candid_as(
            id,
            caller,
            "verify_quiz",
            (unit.to_string(), answers.to_vec()),
        )
        .unwrap();
    r
}

fn get(url: &str, headers: &[(&str, &str)]) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        url: url.into(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: vec![],
        certificate_version: Some(2),
    }
}

fn http(net: &LocalNet, id: Principal, req: HttpRequest) -> HttpResponse {
    let (r,): (HttpResponse,) = net.query_candid(id, "http_request", (req,)).unwrap();
    r
}

/// An `http_request` reply without its `IC-Certificate` header (which names the canister).
fn without_certificate(reply: &[u8]) -> HttpResponse {
    let (mut r,): (HttpResponse,) = candid::decode_args(reply).unwrap();
    r.headers.retain(|(n, _)| n != "IC-Certificate");
    r
}

fn page(net: &LocalNet, id: Principal, subject: &str, offset: u64, limit: u64) -> UnitPage {
    let (p,): (UnitPage,) = net
        .query_candid(id, "list_units", (subject.to_string(), offset, limit))
        .unwrap();
    p
}

fn ids(p: &UnitPage) -> Vec<&str> {
    p.units.iter().map(|u| u.id.as_str()).collect()
}

#[test]
fn queries_list_subjects_page_units_and_get_one_unit() {
    let (net, id) = setup();
    let (subjects,): (Vec<String>,) = net.query_candid(id, "list_subjects", ()).unwrap();
    assert_eq!(subjects, ["History", "Mathematics"]);

    let first = page(&net, id, "Mathematics", 0, 2);
    assert_eq!((ids(&first), first.total), (vec!["math-1", "math-2"], 3));
    let second = page(&net, id, "Mathematics", 2, 2);
    assert_eq!((ids(&second), second.total), (vec!["math-3"], 3));
    assert_eq!(
        ids(&page(&net, id, "Mathematics", 3, 2)),
        Vec::<&str>::new()
    );
    let capped = page(&net, id, "History", 0, 1_000_000);
    assert_eq!((ids(&capped), capped.total), (vec!["hist-1", "hist-2"], 2));
    let unknown = page(&net, id, "Chemistry", 0, 10);
    assert_eq!((unknown.units.len(), unknown.total), (0, 0));

    let (u,): (Option<Unit>,) = net
        .query_candid(id, "get_unit", ("math-1".to_string(),))
        .unwrap();
    assert_eq!(u, Some(unit("math-1", "Mathematics", &[4, 3, 2])));
    assert_eq!(first.units[0], u.unwrap());
    let (none,): (Option<Unit>,) = net
        .query_candid(id, "get_unit", ("nope".to_string(),))
        .unwrap();
    assert_eq!(none, None);

    let (stored,): (ContentInitArgs,) = net.query_candid(id, "get_init_args", ()).unwrap();
    assert_eq!(
        stored,
        init_args(vec![], None),
        "get_init_args never returns the units or their keys"
    );
}

#[test]
fn only_registered_shards_verify_quizzes() {
    let (net, id) = setup();
    let (hub, shard, stranger) = (principal(HUB), principal(SHARD), principal(STRANGER));

    // Nobody is a shard yet: not the hub, not the shard-to-be, not the anonymous principal.
    for caller in [hub, shard, stranger, Principal::anonymous()] {
        assert_eq!(
            verify_query(&net, id, caller, "math-1", &[2, 0, 1]),
            Err(VerifyError::NotAShard)
        );
    }

    // Only the hub registers shards.
    let err = register_shard(&net, id, stranger, stranger).unwrap_err();
    assert!(err.contains("only the hub"), "{err}");
    assert!(register_shard(&net, id, shard, stranger).is_err());
    assert!(register_shard(&net, id, Principal::anonymous(), shard).is_err());
    assert_eq!(
        verify_query(&net, id, stranger, "math-1", &[2, 0, 1]),
        Err(VerifyError::NotAShard)
    );
    register_shard(&net, id, hub, shard).unwrap();
    register_shard(&net, id, hub, shard).unwrap(); // idempotent

    // Scores, with the default pass mark (60 %), as a query and as an update (what a shard's
    // inter-canister call is).
    for verify in [verify_query, verify_update] {
        let r = |unit: &str, answers: &[u32]| verify(&net, id, shard, unit, answers);
        assert_eq!(
            r("math-1", &[2, 0, 1]),
            Ok(VerifyResult {
                correct: 3,
                total: 3,
                passed: true
            })
        );
        assert_eq!(
            r("math-1", &[2, 0, 0]),
            Ok(VerifyResult {
                correct: 2,
                total: 3,
                passed: true
            })
        );
        assert_eq!(
            r("math-1", &[2, 1, 0]),
            Ok(VerifyResult {
                correct: 1,
                total: 3,
                passed: false
            })
        );
        assert_eq!(
            r("hist-2", &[1, 0, 0, 0]),
            Ok(VerifyResult {
                correct: 2,
                total: 4,
                passed: false
            })
        );
        assert_eq!(
            r("hist-2", &[1, 0, 3, 0]),
            Ok(VerifyResult {
                correct: 3,
                total: 4,
                passed: true
            })
        );
        assert_eq!(
            r("math-3", &[0]),
            Ok(VerifyResult {
                correct: 0,
                total: 1,
                passed: false
            })
        );
        assert_eq!(
            r("nope", &[0]),
            Err(VerifyError::UnknownUnit {
                unit_id: "nope".into()
            })
        );
        assert_eq!(
            r("math-1", &[2, 0]),
            Err(VerifyError::BadAnswers {
                detail: "expected 3 answers, got 2".into()
            })
        );
        match r("math-1", &[2, 0, 2]) {
            Err(VerifyError::BadAnswers { detail }) => {
                assert!(detail.contains("question 3 has 2 options"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }
    // Still nobody else.
    assert_eq!(
        verify_update(&net, id, stranger, "math-1", &[2, 0, 1]),
        Err(VerifyError::NotAShard)
    );
    assert_eq!(
        verify_query(&net, id, hub, "math-1", &[2, 0, 1]),
        Err(VerifyError::NotAShard)
    );
}

#[test]
fn the_pass_mark_comes_from_the_init_argument() {
    let net = LocalNet::new();
    let id = install(&net, &init_args(content(0), Some(70)));
    register_shard(&net, id, principal(HUB), principal(SHARD)).unwrap();
    // 2 of 3 is 66.7 %: passes at the default 60 %, not at 70 %; 3 of 4 (75 %) does.
    assert_eq!(
        verify_query(&net, id, principal(SHARD), "math-1", &[2, 0, 0]),
        Ok(VerifyResult {
            correct: 2,
            total: 3,
            passed: false
        })
    );
    assert_eq!(
        verify_query(&net, id, principal(SHARD), "hist-2", &[1, 0, 3, 0]),
        Ok(VerifyResult {
            correct: 3,
            total: 4,
            passed: true
        })
    );
}

#[test]
fn http_serves_json_with_cache_headers_etags_and_status_codes() {
    let (net, id) = setup();

    let subjects = http(&net, id, get("/subjects", &[]));
    assert_eq!(subjects.status_code, 200);
    assert_eq!(
        subjects.json(),
        serde_json::json!({"subjects": ["History", "Mathematics"]})
    );
    assert_eq!(
        subjects.header("Content-Type"),
        Some("application/json; charset=utf-8")
    );
    assert!(subjects
        .header("Cache-Control")
        .unwrap()
        .starts_with("public, max-age="));
    assert!(subjects.header("ETag").is_some());

    // A subject's units, in pages (learning_content_certified_http.rs verifies them).
    let p = http(&net, id, get("/subjects/Mathematics/units/0", &[]));
    assert_eq!(p.status_code, 200);
    let v = p.json();
    assert_eq!(
        (v["subject"].as_str(), v["page"].as_u64()),
        (Some("Mathematics"), Some(0))
    );
    assert!(v["next"].is_null());
    let page_ids: Vec<_> = v["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(page_ids, ["math-1", "math-2", "math-3"]);
    assert_eq!(
        http(&net, id, get("/subjects/Mathematics/units/1", &[])).status_code,
        404
    );

    let one = http(&net, id, get("/units/hist-2", &[]));
    assert_eq!(one.status_code, 200);
    let u = one.json();
    assert_eq!(
        (u["id"].as_str(), u["subject"].as_str()),
        (Some("hist-2"), Some("History"))
    );
    assert_eq!(u["questions"].as_array().unwrap().len(), 4);
    assert_eq!(
        u["questions"][0]["options"],
        serde_json::json!(["choice 0", "choice 1", "choice 2", "choice 3"])
    );

    // 304 on a matching If-None-Match; the same ETag for the same content on every call.
    let tag = one.header("ETag").unwrap().to_string();
    assert_eq!(
        http(&net, id, get("/units/hist-2", &[])).header("etag"),
        Some(tag.as_str())
    );
    let not_modified = http(&net, id, get("/units/hist-2", &[("If-None-Match", &tag)]));
    assert_eq!(not_modified.status_code, 304);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("ETag"), Some(tag.as_str()));
    assert_eq!(
        http(
            &net,
            id,
            get("/units/hist-2", &[("If-None-Match", "\"stale\"")])
        )
        .status_code,
        200
    );
    assert_eq!(
        http(&net, id, get("/units/hist-1", &[("If-None-Match", &tag)])).status_code,
        200
    );

    for url in [
        "/",
        "/units/nope",
        "/units/hist-2/more",
        "/unit/hist-2",
        "/subjects/x",
    ] {
        let r = http(&net, id, get(url, &[]));
        assert_eq!(r.status_code, 404, "{url}");
        assert!(r.header("ETag").is_none(), "{url}");
    }
    // The former query listing: a 404 naming the page route.
    let listing = http(&net, id, get("/units?subject=Mathematics", &[]));
    assert_eq!(listing.status_code, 404);
    assert!(listing.json()["error"]
        .as_str()
        .unwrap()
        .contains("/subjects/<subject>/units/<page>"));
    for method in ["POST", "PUT", "DELETE"] {
        let r = http(
            &net,
            id,
            HttpRequest {
                method: method.into(),
                body: b"{}".to_vec(),
                ..get("/units/hist-2", &[])
            },
        );
        assert_eq!(r.status_code, 405, "{method}");
        assert_eq!(r.header("Allow"), Some("GET"));
    }
}

/// Every public reply (queries, HTTP, verify errors) of two installations that differ only in
/// their answer keys is byte-for-byte the same: nothing but a shard's successful `verify_quiz`
/// depends on a key, so no key can be read or derived from them. The JSON has no answer field.
#[test]
fn answer_keys_are_not_observable() {
    let net = LocalNet::new();
    let a = install(&net, &init_args(content(0), None));
    let b = install(&net, &init_args(content(1), None));
    assert_ne!(content(0), content(1));
    for id in [a, b] {
        register_shard(&net, id, principal(HUB), principal(SHARD)).unwrap();
    }

    let mut requests: Vec<(Principal, &str, Vec<u8>)> = vec![
        (
            Principal::anonymous(),
            "list_subjects",
            candid::encode_args(()).unwrap(),
        ),
        (
            Principal::anonymous(),
            "get_init_args",
            candid::encode_args(()).unwrap(),
        ),
        (
            principal(STRANGER),
            "verify_quiz",
            candid::encode_args(("math-1", vec![2u32, 0, 1])).unwrap(),
        ),
        (
            principal(SHARD),
            "verify_quiz",
            candid::encode_args(("nope", vec![0u32])).unwrap(),
        ),
        (
            principal(SHARD),
            "verify_quiz",
            candid::encode_args(("math-1", vec![0u32])).unwrap(),
        ),
        (
            principal(SHARD),
            "verify_quiz",
            candid::encode_args(("math-1", vec![0u32, 0, 9])).unwrap(),
        ),
    ];
    for subject in ["Mathematics", "History"] {
        for offset in 0..4u64 {
            requests.push((
                Principal::anonymous(),
                "list_units",
                candid::encode_args((subject, offset, 50u64)).unwrap(),
            ));
        }
    }
    // The proposal validators: refused for others; for governance, the add and retire
    // renderings and every refusal are the same whatever the keys. (Only the rendering of a
    // valid update says whether the payload's key differs from the one in force; only
    // governance may call it, and the payload is public anyway.)
    let mut bad_key = UnitInput {
        unit: unit("math-1", "Mathematics", &[4, 3, 2]),
        answer_key: vec![0, 0, 7],
    };
    requests.push((
        Principal::anonymous(),
        "get_config_version",
        candid::encode_args(()).unwrap(),
    ));
    for caller in [principal(STRANGER), principal(GOVERNANCE)] {
        requests.push((
            caller,
            "add_units_validate",
            add_payload(vec![new_unit("new-1", "Chemistry", &[2], &[1])]),
        ));
        requests.push((
            caller,
            "retire_units_validate",
            retire_payload(&["math-1", "hist-2"], "r"),
        ));
        requests.push((
            caller,
            "update_unit_validate",
            update_payload(bad_key.clone()),
        ));
        bad_key.answer_key = vec![9, 0, 0];
        requests.push((
            caller,
            "update_unit_validate",
            update_payload(bad_key.clone()),
        ));
    }
    let mut urls = vec![
        "/subjects".to_string(),
        "/subjects/Mathematics/units/0".into(),
        "/subjects/History/units/0".into(),
        "/units/nope".into(),
    ];
    for u in content(0) {
        requests.push((
            Principal::anonymous(),
            "get_unit",
            candid::encode_args((u.unit.id.clone(),)).unwrap(),
        ));
        urls.push(format!("/units/{}", u.unit.id));
    }
    for url in &urls {
        requests.push((
            Principal::anonymous(),
            "http_request",
            candid::encode_args((get(url, &[]),)).unwrap(),
        ));
    }

    for (caller, method, arg) in &requests {
        let ra = net.query_call(a, *caller, method, arg.clone()).unwrap();
        let rb = net.query_call(b, *caller, method, arg.clone()).unwrap();
        if *method == "http_request" {
            // The certificate names the canister; everything else must be the same.
            assert_eq!(
                without_certificate(&ra),
                without_certificate(&rb),
                "{method} replies must not depend on the answer keys"
            );
        } else {
            assert_eq!(
                ra, rb,
                "{method} replies must not depend on the answer keys"
            );
        }
        if *method == "http_request" {
            let (r,): (HttpResponse,) = candid::decode_args(&ra).unwrap();
            let text = String::from_utf8(r.body).unwrap().to_lowercase();
            assert!(!text.contains("answer") && !text.contains("key"), "{text}");
        }
    }

    // Only a shard's successful verification differs between the two.
    let right_in_a = verify_query(&net, a, principal(SHARD), "math-1", &[2, 0, 1]).unwrap();
    let same_in_b = verify_query(&net, b, principal(SHARD), "math-1", &[2, 0, 1]).unwrap();
    assert_eq!((right_in_a.correct, same_in_b.correct), (3, 0));
}

#[test]
fn content_shards_and_etags_survive_an_upgrade() {
    let (net, id) = setup();
    register_shard(&net, id, principal(HUB), principal(SHARD)).unwrap();
    let before_page = page(&net, id, "Mathematics", 0, 50);
    let before_http = http(&net, id, get("/units/math-2", &[]));
    let (before_version,): (platform_types::VersionInfo,) =
        net.query_candid(id, "get_version", ()).unwrap();

    net.upgrade_canister(
        id,
        wasm("learning_content"),
        candid::encode_args(()).unwrap(),
        None,
    )
    .unwrap();

    let (subjects,): (Vec<String>,) = net.query_candid(id, "list_subjects", ()).unwrap();
    assert_eq!(subjects, ["History", "Mathematics"]);
    assert_eq!(page(&net, id, "Mathematics", 0, 50), before_page);
    let uncertified = |mut r: HttpResponse| {
        r.headers.retain(|(n, _)| n != "IC-Certificate");
        r
    };
    assert_eq!(
        uncertified(http(&net, id, get("/units/math-2", &[]))),
        uncertified(before_http),
        "same content, same ETag (under a new certificate)"
    );
    let (after_version,): (platform_types::VersionInfo,) =
        net.query_candid(id, "get_version", ()).unwrap();
    assert_eq!(after_version, before_version);
    assert_eq!(
        verify_update(&net, id, principal(SHARD), "math-2", &[1, 1]),
        Ok(VerifyResult {
            correct: 2,
            total: 2,
            passed: true
        }),
        "shard registration and answer keys survive"
    );
    assert_eq!(
        verify_query(&net, id, principal(STRANGER), "math-2", &[1, 1]),
        Err(VerifyError::NotAShard)
    );
    let err = register_shard(&net, id, principal(STRANGER), principal(STRANGER)).unwrap_err();
    assert!(
        err.contains("only the hub"),
        "the hub id survives too: {err}"
    );
}

#[test]
fn malformed_initial_content_is_rejected_with_a_clear_message() {
    let net = LocalNet::new();
    let with = |f: &dyn Fn(&mut Vec<UnitInput>)| {
        let mut units = content(0);
        f(&mut units);
        init_args(units, None)
    };
    let cases: Vec<(ContentInitArgs, &str)> = vec![
        (with(&|u| u[1].unit.id = "math-2".into()), "duplicate id"),
        (
            with(&|u| {
                u[0].answer_key.pop();
            }),
            "answer key has 1 entries for 2 questions",
        ),
        (
            with(&|u| u[0].answer_key[1] = 4),
            "answer key of question 2 is out of range",
        ),
        (
            with(&|u| u[0].unit.questions[0].options.clear()),
            "question 1 must have 2 to 10 options, got 0",
        ),
        (
            with(&|u| u[0].unit.body = "b".repeat(100 * 1024 + 1)),
            "body must be 0 to 102400 bytes",
        ),
        (
            with(&|u| u[0].unit.id = "x".repeat(65)),
            "id must be 1 to 64 bytes",
        ),
        (
            with(&|u| u[0].unit.title = "t".repeat(201)),
            "title must be 1 to 200 bytes",
        ),
        (
            init_args(content(0), Some(0)),
            "pass_mark_percent must be in 1..=100",
        ),
        (
            ContentInitArgs {
                hub_id: Principal::anonymous(),
                ..init_args(vec![], None)
            },
            "hub_id must not be the anonymous principal",
        ),
    ];
    for (args, expected) in cases {
        let id = net.create_canister();
        let err = net
            .install_code(
                id,
                localnet::management_types::CanisterInstallMode::Install,
                wasm("learning_content"),
                candid::encode_one(&args).unwrap(),
                None,
            )
            .unwrap_err();
        assert_eq!(err.reject_code, RejectCode::CanisterError, "{expected}");
        assert!(
            err.reject_message.contains(expected),
            "expected {expected:?} in {:?}",
            err.reject_message
        );
        assert!(
            err.reject_message.contains("learning_content init"),
            "{}",
            err.reject_message
        );
        assert!(net.module_hash(id).is_none());
    }
}

// ------------------------------------------------------------------ governance
//
// The content proposals (SNS custom functions 1002-1004): SNS governance calls
// `<method>_validate` (a query) at submission and `<method>` after adoption, both with the
// proposal payload as their raw Candid argument. Here `GOVERNANCE` (the `sns_governance_id` of
// the init argument) plays SNS governance; the last test goes through the local SNS governance
// and root. Also the hub's `apply_config` and the upgrade argument.

use localnet::RejectResponse;
use platform_types::{
    AddUnitsArgs, ContentConfigPush, ContentUpgradeArgs, RetireUnitsArgs, UpdateUnitArgs,
};

const DEPLOYER: u8 = 5;
const NEW_GOVERNANCE: u8 = 6;

/// learning_content installed (and controlled) by `DEPLOYER`, with `SHARD` registered.
fn setup_governed() -> (LocalNet, Principal) {
    let net = LocalNet::new();
    let deployer = principal(DEPLOYER);
    let id = net.create_canister_with_settings(Some(deployer), None);
    net.install_canister(
        id,
        wasm("learning_content"),
        candid::encode_one(init_args(content(0), None)).unwrap(),
        Some(deployer),
    );
    register_shard(&net, id, principal(HUB), principal(SHARD)).unwrap();
    (net, id)
}

fn add_payload(units: Vec<UnitInput>) -> Vec<u8> {
    candid::encode_one(AddUnitsArgs { units }).unwrap()
}

fn update_payload(unit: UnitInput) -> Vec<u8> {
    candid::encode_one(UpdateUnitArgs { unit }).unwrap()
}

fn retire_payload(ids: &[&str], reason: &str) -> Vec<u8> {
    candid::encode_one(RetireUnitsArgs {
        unit_ids: ids.iter().map(|s| s.to_string()).collect(),
        reason: reason.into(),
    })
    .unwrap()
}

fn new_unit(id: &str, subject: &str, options: &[usize], key: &[u32]) -> UnitInput {
    UnitInput {
        unit: unit(id, subject, options),
        answer_key: key.to_vec(),
    }
}

/// `<method>_validate` with the raw payload, as a query and as an update call (SNS governance
/// calls it from a canister, i.e. replicated); both must answer the same.
fn validate(
    net: &LocalNet,
    id: Principal,
    caller: Principal,
    method: &str,
    payload: &[u8],
) -> Result<String, String> {
    let method = format!("{method}_validate");
    let q = net
        .query_call(id, caller, &method, payload.to_vec())
        .unwrap();
    let u = net
        .update_call(id, caller, &method, payload.to_vec())
        .unwrap();
    assert_eq!(q, u, "{method}: query and update answer the same");
    candid::decode_one(&q).unwrap()
}

/// The target `method` with the raw payload; it replies `()` or traps. (ic-cdk encodes the
/// reply of a method without a result as `(null)`, which decodes as `()`.)
fn execute(
    net: &LocalNet,
    id: Principal,
    caller: Principal,
    method: &str,
    payload: &[u8],
) -> Result<(), RejectResponse> {
    net.update_call(id, caller, method, payload.to_vec())
        .map(|reply| {
            candid::decode_args::<()>(&reply)
                .unwrap_or_else(|e| panic!("{method} replies (): {e}"));
        })
}

fn subjects(net: &LocalNet, id: Principal) -> Vec<String> {
    let (s,): (Vec<String>,) = net.query_candid(id, "list_subjects", ()).unwrap();
    s
}

fn get_unit(net: &LocalNet, id: Principal, unit_id: &str) -> Option<Unit> {
    let (u,): (Option<Unit>,) = net
        .query_candid(id, "get_unit", (unit_id.to_string(),))
        .unwrap();
    u
}

fn stored_args(net: &LocalNet, id: Principal) -> ContentInitArgs {
    let (a,): (ContentInitArgs,) = net.query_candid(id, "get_init_args", ()).unwrap();
    a
}

fn config_version(net: &LocalNet, id: Principal) -> u64 {
    let (v,): (u64,) = net.query_candid(id, "get_config_version", ()).unwrap();
    v
}

fn apply_config(
    net: &LocalNet,
    id: Principal,
    caller: Principal,
    version: u64,
    pass_mark_percent: u8,
) -> Result<u64, String> {
    let push = ContentConfigPush {
        version,
        pass_mark_percent,
    };
    match net.update_candid_as(id, caller, "apply_config", (push,)) {
        Ok((r,)) => r,
        Err(e) => Err(refused_at_ingress(e)),
    }
}

const IDS: [&str; 8] = [
    "math-1", "math-2", "math-3", "hist-1", "hist-2", "new-1", "new-2", "chem-1",
];

/// Everything observable: subjects, every page, every unit (query and HTTP), the init
/// arguments in force, the configuration version, and what a shard's verification of fixed
/// answers gives for every id (which depends on the answer keys and the pass mark).
fn observe(net: &LocalNet, id: Principal) -> String {
    let mut out = format!("{:?}\n", subjects(net, id));
    for s in subjects(net, id) {
        out += &format!("{:?}\n", page(net, id, &s, 0, 50));
    }
    for u in IDS {
        let unit = get_unit(net, id, u);
        let n = unit.as_ref().map_or(1, |u| u.questions.len());
        out += &format!(
            "{u}: {unit:?} {:?} {:?} {:?}\n",
            http(net, id, get(&format!("/units/{u}"), &[])).status_code,
            verify_query(net, id, principal(SHARD), u, &vec![0; n]),
            verify_query(net, id, principal(SHARD), u, &vec![1; n]),
        );
    }
    out + &format!("{:?} {}", stored_args(net, id), config_version(net, id))
}

fn assert_traps(r: Result<(), RejectResponse>, expected: &str) {
    let e = r.expect_err("the target must trap");
    assert_eq!(
        e.reject_code,
        RejectCode::CanisterError,
        "{}",
        e.reject_message
    );
    assert!(
        e.reject_message.contains(expected),
        "expected {expected:?} in {:?}",
        e.reject_message
    );
}

#[test]
fn governance_validates_renders_and_applies_content_proposals() {
    let (net, id) = setup_governed();
    let gov = principal(GOVERNANCE);

    // add_units: rendered (keys said to be public), nothing changes before execution.
    let before = observe(&net, id);
    let add = add_payload(vec![
        new_unit("chem-1", "Chemistry", &[4, 4], &[1, 2]),
        new_unit("new-2", "Mathematics", &[3], &[2]),
    ]);
    let text = validate(&net, id, gov, "add_units", &add).unwrap();
    assert!(
        text.starts_with("Add 2 units to learning_content"),
        "{text}"
    );
    assert!(text.contains("PUBLIC ANSWER KEYS"), "{text}");
    assert!(
        text.contains(
            "- \"chem-1\" | subject \"Chemistry\" | title \"Chemistry: chem-1\" | 2 questions"
        ),
        "{text}"
    );
    assert!(
        text.contains("\"Chemistry\": 0 -> 1 unit (new subject)"),
        "{text}"
    );
    assert!(text.contains("\"Mathematics\": 3 -> 4 units"), "{text}");
    assert_eq!(observe(&net, id), before, "a validator changes nothing");
    execute(&net, id, gov, "add_units", &add).unwrap();
    assert_eq!(subjects(&net, id), ["Chemistry", "History", "Mathematics"]);
    assert_eq!(
        ids(&page(&net, id, "Mathematics", 0, 50)),
        ["math-1", "math-2", "math-3", "new-2"]
    );
    assert_eq!(
        get_unit(&net, id, "chem-1"),
        Some(unit("chem-1", "Chemistry", &[4, 4]))
    );
    assert_eq!(
        http(&net, id, get("/units/chem-1", &[])).json()["subject"],
        "Chemistry"
    );
    assert_eq!(
        verify_update(&net, id, principal(SHARD), "chem-1", &[1, 2]),
        Ok(VerifyResult {
            correct: 2,
            total: 2,
            passed: true
        })
    );

    // update_unit: math-1 moves to History with a new title, questions and key.
    let mut moved = new_unit("math-1", "History", &[2, 2], &[1, 0]);
    moved.unit.title = "Numbers in history".into();
    let update = update_payload(moved.clone());
    let text = validate(&net, id, gov, "update_unit", &update).unwrap();
    assert!(
        text.starts_with("Update learning unit \"math-1\""),
        "{text}"
    );
    assert!(
        text.contains("subject changed: yes, \"Mathematics\" -> \"History\""),
        "{text}"
    );
    assert!(
        text.contains("title changed: yes, \"Mathematics: math-1\" -> \"Numbers in history\""),
        "{text}"
    );
    assert!(
        text.contains("questions changed: yes (3 questions -> 2 questions)"),
        "{text}"
    );
    assert!(
        text.contains("answer key changed: yes (the key is not shown here"),
        "{text}"
    );
    assert!(
        !text.contains("[1, 0]") && !text.contains("[2, 0, 1]"),
        "no key is printed: {text}"
    );
    execute(&net, id, gov, "update_unit", &update).unwrap();
    assert_eq!(get_unit(&net, id, "math-1"), Some(moved.unit));
    let history = page(&net, id, "History", 0, 50);
    assert_eq!(
        (ids(&history), history.total),
        (vec!["hist-1", "hist-2", "math-1"], 3)
    );
    assert_eq!(page(&net, id, "Mathematics", 0, 50).total, 3);
    assert_eq!(
        verify_update(&net, id, principal(SHARD), "math-1", &[1, 0]),
        Ok(VerifyResult {
            correct: 2,
            total: 2,
            passed: true
        }),
        "the new key is in force"
    );

    // retire_units: rendered with the reason; the units vanish.
    let retire = retire_payload(&["chem-1", "math-3"], "superseded by new material");
    let text = validate(&net, id, gov, "retire_units", &retire).unwrap();
    assert!(
        text.starts_with("Retire 2 units from learning_content"),
        "{text}"
    );
    assert!(
        text.contains("- \"math-3\" | subject \"Mathematics\""),
        "{text}"
    );
    assert!(
        text.contains("\"Chemistry\": 1 -> 0 units (the subject disappears)"),
        "{text}"
    );
    assert!(
        text.ends_with("Reason: superseded by new material"),
        "{text}"
    );
    execute(&net, id, gov, "retire_units", &retire).unwrap();
    assert_eq!(subjects(&net, id), ["History", "Mathematics"]);
    assert_eq!(
        ids(&page(&net, id, "Mathematics", 0, 50)),
        ["math-2", "new-2"]
    );

    // Executing the same (now stale) proposal again fails as a whole and changes nothing.
    let now = observe(&net, id);
    assert_traps(
        execute(&net, id, gov, "retire_units", &retire),
        "learning_content retire_units: unit \"chem-1\" is already retired",
    );
    assert_traps(
        execute(&net, id, gov, "add_units", &add),
        "the id belonged to a retired unit and can never be used again",
    );
    assert_eq!(observe(&net, id), now);
}

#[test]
fn retired_units_vanish_everywhere_and_can_no_longer_be_passed() {
    let (net, id) = setup_governed();
    let shard = principal(SHARD);
    assert!(
        verify_update(&net, id, shard, "hist-1", &[0, 2])
            .unwrap()
            .passed
    );
    execute(
        &net,
        id,
        principal(GOVERNANCE),
        "retire_units",
        &retire_payload(&["hist-1", "hist-2"], "wrong dates"),
    )
    .unwrap();

    for verify in [verify_query, verify_update] {
        for (u, answers) in [("hist-1", &[0u32, 2][..]), ("hist-2", &[1, 0, 3, 2][..])] {
            assert_eq!(
                verify(&net, id, shard, u, answers),
                Err(VerifyError::UnknownUnit { unit_id: u.into() })
            );
        }
    }
    assert_eq!(
        subjects(&net, id),
        ["Mathematics"],
        "History has no active unit left"
    );
    assert_eq!(
        page(&net, id, "History", 0, 50),
        UnitPage {
            units: vec![],
            total: 0
        }
    );
    assert_eq!(get_unit(&net, id, "hist-1"), None);
    assert_eq!(http(&net, id, get("/units/hist-1", &[])).status_code, 404);
    assert_eq!(
        http(&net, id, get("/subjects", &[])).json(),
        serde_json::json!({"subjects": ["Mathematics"]})
    );
    assert_eq!(
        http(&net, id, get("/subjects/History/units/0", &[])).status_code,
        404,
        "a subject without units has no pages"
    );
    // The id can never be used again, and a retired unit cannot be updated.
    let gov = principal(GOVERNANCE);
    let again = add_payload(vec![new_unit("hist-1", "History", &[3], &[0])]);
    assert!(validate(&net, id, gov, "add_units", &again)
        .unwrap_err()
        .contains("can never be used again"));
    let update = update_payload(new_unit("hist-2", "History", &[3], &[0]));
    assert_eq!(
        validate(&net, id, gov, "update_unit", &update).unwrap_err(),
        "unit \"hist-2\" is retired and cannot be updated"
    );
    // Other units are untouched.
    assert!(
        verify_update(&net, id, shard, "math-3", &[3])
            .unwrap()
            .passed
    );
}

#[test]
fn only_sns_governance_may_call_the_proposal_methods() {
    let (net, id) = setup_governed();
    let before = observe(&net, id);
    let calls: [(&str, Vec<u8>); 3] = [
        (
            "add_units",
            add_payload(vec![new_unit("new-1", "Chemistry", &[2], &[1])]),
        ),
        (
            "update_unit",
            update_payload(new_unit("math-3", "Mathematics", &[4], &[0])),
        ),
        ("retire_units", retire_payload(&["math-1"], "r")),
    ];
    // A learner, the deployer (the canister's controller), a registered shard, the hub and
    // the anonymous principal.
    for caller in [
        principal(STRANGER),
        principal(DEPLOYER),
        principal(SHARD),
        principal(HUB),
        Principal::anonymous(),
    ] {
        for (method, payload) in &calls {
            let expected = format!(
                "only SNS governance ({}) may call {method}",
                principal(GOVERNANCE)
            );
            let e = validate(&net, id, caller, method, payload).unwrap_err();
            assert_eq!(e, format!("{expected}_validate; the caller is {caller}"));
            // The target's own check (`{expected}; the caller is {caller}`) is unit-tested;
            // ingress from anyone but governance does not reach it.
            assert_refused_at_ingress(
                execute(&net, id, caller, method, payload),
                &format!("only SNS governance may call {method}"),
            );
        }
    }
    assert_eq!(net.get_controllers(id), [principal(DEPLOYER)]);
    assert_eq!(observe(&net, id), before, "refused calls change nothing");
    // The same calls by governance pass.
    for (method, payload) in &calls {
        validate(&net, id, principal(GOVERNANCE), method, payload).unwrap();
    }
}

#[test]
fn validators_refuse_bad_payloads_with_a_clear_error_and_targets_trap_with_it() {
    let (net, id) = setup_governed();
    let gov = principal(GOVERNANCE);
    execute(
        &net,
        id,
        gov,
        "retire_units",
        &retire_payload(&["hist-2"], "r"),
    )
    .unwrap();
    let before = observe(&net, id);

    let good = || new_unit("new-1", "Chemistry", &[4, 4], &[1, 2]);
    let with = |f: &dyn Fn(&mut UnitInput)| {
        let mut u = good();
        f(&mut u);
        u
    };
    let big_body = |i: usize| {
        with(&|u| {
            u.unit.id = format!("big-{i}");
            u.unit.body = "b".repeat(100 * 1024);
        })
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "add_units",
            add_payload(vec![]),
            "the proposal adds no units",
        ),
        (
            "add_units",
            add_payload(vec![good(), good()]),
            "unit \"new-1\": duplicate id",
        ),
        (
            "add_units",
            add_payload(vec![new_unit("math-1", "Mathematics", &[2], &[0])]),
            "unit \"math-1\": the id is already in use",
        ),
        (
            "add_units",
            add_payload(vec![new_unit("hist-2", "History", &[2], &[0])]),
            "unit \"hist-2\": the id belonged to a retired unit",
        ),
        (
            "add_units",
            add_payload(vec![with(&|u| u.answer_key[1] = 4)]),
            "unit \"new-1\": the answer key of question 2 is out of range (4 options)",
        ),
        (
            "add_units",
            add_payload(vec![with(&|u| {
                u.answer_key.pop();
            })]),
            "the answer key has 1 entries for 2 questions",
        ),
        (
            "add_units",
            add_payload(vec![with(&|u| u.unit.id = "a b".into())]),
            "unit #0 (0-based): id may only contain",
        ),
        (
            "add_units",
            add_payload(vec![with(&|u| u.unit.subject = " Chemistry".into())]),
            "subject must not start or end with whitespace",
        ),
        (
            "add_units",
            add_payload(vec![with(&|u| u.unit.questions[0].options.truncate(1))]),
            "question 1 must have 2 to 10 options, got 1",
        ),
        (
            "add_units",
            add_payload(
                (0..101)
                    .map(|i| with(&|u| u.unit.id = format!("n-{i}")))
                    .collect(),
            ),
            "at most 100 units per proposal, got 101",
        ),
        (
            "add_units",
            add_payload((0..10).map(big_body).collect()),
            "bytes of Candid, at most 1000000 are allowed",
        ),
        (
            "update_unit",
            update_payload(new_unit("nope", "Mathematics", &[2], &[0])),
            "unit \"nope\" does not exist",
        ),
        (
            "update_unit",
            update_payload(new_unit("hist-2", "History", &[2], &[0])),
            "unit \"hist-2\" is retired and cannot be updated",
        ),
        (
            "update_unit",
            update_payload(with(&|u| {
                u.unit.id = "math-1".into();
                u.answer_key = vec![0, 9];
            })),
            "the answer key of question 2 is out of range",
        ),
        (
            "update_unit",
            update_payload(with(&|u| {
                u.unit.id = "math-1".into();
                u.unit.title = String::new();
            })),
            "title must be 1 to 200 bytes",
        ),
        (
            "retire_units",
            retire_payload(&[], "r"),
            "the proposal retires no units",
        ),
        (
            "retire_units",
            retire_payload(&["nope"], "r"),
            "unit \"nope\" does not exist",
        ),
        (
            "retire_units",
            retire_payload(&["hist-2"], "r"),
            "unit \"hist-2\" is already retired",
        ),
        (
            "retire_units",
            retire_payload(&["math-1", "math-1"], "r"),
            "unit \"math-1\" is listed twice",
        ),
        (
            "retire_units",
            retire_payload(&["math-1"], "  "),
            "reason: must not be empty",
        ),
        (
            "retire_units",
            retire_payload(&["math-1"], &"x".repeat(1_001)),
            "reason: at most 1000 bytes",
        ),
    ];
    for (method, payload, expected) in cases {
        let e = validate(&net, id, gov, method, &payload).unwrap_err();
        assert!(
            e.contains(expected),
            "{method}: expected {expected:?} in {e:?}"
        );
        assert_traps(
            execute(&net, id, gov, method, &payload),
            &format!("learning_content {method}: {e}"),
        );
    }
    assert_eq!(observe(&net, id), before, "nothing changed");
    // A payload that is not the method's argument is refused by the Candid decoding.
    let junk = candid::encode_one("not a payload").unwrap();
    assert!(net
        .query_call(id, gov, "add_units_validate", junk.clone())
        .is_err());
    assert!(execute(&net, id, gov, "add_units", &junk).is_err());
}

#[test]
fn the_hubs_configuration_sets_the_pass_mark_used_by_verify_quiz() {
    let (net, id) = setup_governed();
    let (hub, shard) = (principal(HUB), principal(SHARD));
    let two_of_three = |net: &LocalNet| {
        verify_update(net, id, shard, "math-1", &[2, 0, 0])
            .unwrap()
            .passed
    };
    assert_eq!(config_version(&net, id), 0);
    assert!(two_of_three(&net), "66.7 % passes at the default 60 %");

    let before = observe(&net, id);
    for caller in [
        principal(GOVERNANCE),
        shard,
        principal(DEPLOYER),
        principal(STRANGER),
        Principal::anonymous(),
    ] {
        let e = apply_config(&net, id, caller, 1, 70).unwrap_err();
        assert!(e.contains("only the hub may call apply_config"), "{e}");
    }
    assert_eq!(
        apply_config(&net, id, hub, 0, 70),
        Ok(0),
        "version 0 is not newer than none"
    );
    assert_eq!(observe(&net, id), before);

    assert_eq!(apply_config(&net, id, hub, 1, 70), Ok(1));
    assert_eq!(config_version(&net, id), 1);
    assert!(!two_of_three(&net), "66.7 % fails at 70 %");
    assert_eq!(stored_args(&net, id).pass_mark_percent, Some(70));
    assert_eq!(
        apply_config(&net, id, hub, 1, 50),
        Ok(1),
        "the same version again: nothing changes"
    );
    assert_eq!(
        apply_config(&net, id, hub, 0, 50),
        Ok(1),
        "an older version: nothing changes"
    );
    assert_eq!(
        apply_config(&net, id, hub, 2, 0).unwrap_err(),
        "pass_mark_percent must be in 1..=100, got 0"
    );
    assert_eq!(
        apply_config(&net, id, hub, 2, 101).unwrap_err(),
        "pass_mark_percent must be in 1..=100, got 101"
    );
    assert!(!two_of_three(&net));
    assert_eq!(config_version(&net, id), 1);

    // Both survive an upgrade.
    net.upgrade_canister(
        id,
        wasm("learning_content"),
        candid::encode_args(()).unwrap(),
        Some(principal(DEPLOYER)),
    )
    .unwrap();
    assert_eq!(config_version(&net, id), 1);
    assert!(!two_of_three(&net));
    assert_eq!(apply_config(&net, id, hub, 5, 60), Ok(5));
    assert!(two_of_three(&net));
}

#[test]
fn an_upgrade_argument_sets_the_governance_id_and_an_empty_one_keeps_everything() {
    let (net, id) = setup_governed();
    let deployer = principal(DEPLOYER);
    let (old, new) = (principal(GOVERNANCE), principal(NEW_GOVERNANCE));
    // Some state besides the initial content: a retired unit, a configuration version.
    execute(
        &net,
        id,
        old,
        "retire_units",
        &retire_payload(&["math-2"], "r"),
    )
    .unwrap();
    apply_config(&net, id, principal(HUB), 3, 75).unwrap();
    let upgrade =
        |arg: Vec<u8>| net.upgrade_canister(id, wasm("learning_content"), arg, Some(deployer));

    // No argument (no bytes, empty Candid arguments, null; also a value of another type, which
    // Candid decodes as null): nothing changes.
    let before = observe(&net, id);
    for arg in [
        vec![],
        candid::encode_args(()).unwrap(),
        b"DIDL\0\0".to_vec(),
        candid::encode_one(None::<ContentUpgradeArgs>).unwrap(),
        candid::encode_one("junk").unwrap(),
    ] {
        upgrade(arg.clone()).unwrap_or_else(|e| panic!("upgrade with {arg:?}: {e}"));
        assert_eq!(observe(&net, id), before, "upgrade with {arg:?}");
    }
    let retire = retire_payload(&["math-1"], "r");
    validate(&net, id, old, "retire_units", &retire).unwrap();
    assert!(validate(
        &net,
        id,
        old,
        "add_units",
        &add_payload(vec![new_unit("math-2", "M", &[2], &[0])])
    )
    .unwrap_err()
    .contains("can never be used again"));

    // A bad argument fails the upgrade; the canister keeps running as it was.
    let anonymous = candid::encode_one(Some(ContentUpgradeArgs {
        sns_governance_id: Some(Principal::anonymous()),
    }))
    .unwrap();
    let e = upgrade(anonymous).unwrap_err();
    assert!(
        e.reject_message
            .contains("sns_governance_id must not be the anonymous principal"),
        "{}",
        e.reject_message
    );
    // A record that sets nothing (e.g. a misspelt field, which Candid drops) fails the upgrade.
    let e = upgrade(
        candid::encode_one(Some(ContentUpgradeArgs {
            sns_governance_id: None,
        }))
        .unwrap(),
    )
    .unwrap_err();
    assert!(
        e.reject_message
            .contains("learning_content post_upgrade: the upgrade argument sets nothing"),
        "{}",
        e.reject_message
    );
    assert_eq!(observe(&net, id), before);

    // The argument sets the governance id: the old one is refused from then on.
    upgrade(
        candid::encode_one(Some(ContentUpgradeArgs {
            sns_governance_id: Some(new),
        }))
        .unwrap(),
    )
    .unwrap();
    let args = stored_args(&net, id);
    assert_eq!(
        args,
        ContentInitArgs {
            sns_governance_id: new,
            pass_mark_percent: Some(75),
            ..init_args(vec![], None)
        }
    );
    let (version,): (platform_types::VersionInfo,) =
        net.query_candid(id, "get_version", ()).unwrap();
    assert!(
        version
            .init_arg_summary
            .contains(&format!("sns_governance_id={new}")),
        "{version:?}"
    );
    let e = validate(&net, id, old, "retire_units", &retire).unwrap_err();
    assert_eq!(
        e,
        format!("only SNS governance ({new}) may call retire_units_validate; the caller is {old}")
    );
    assert_refused_at_ingress(
        execute(&net, id, old, "retire_units", &retire),
        "only SNS governance",
    );
    assert!(get_unit(&net, id, "math-1").is_some());
    validate(&net, id, new, "retire_units", &retire).unwrap();
    execute(&net, id, new, "retire_units", &retire).unwrap();
    assert!(get_unit(&net, id, "math-1").is_none());

    // An empty upgrade afterwards keeps the new id.
    upgrade(candid::encode_args(()).unwrap()).unwrap();
    assert_eq!(stored_args(&net, id).sns_governance_id, new);
    assert_eq!(config_version(&net, id), 3);
}

/// End to end through the local SNS governance and root (test infrastructure, see
/// tests/sns_local.rs): learning_content is installed before the SNS exists (with the anonymous
/// principal as its governance id: "not set yet", which nobody can use), learns the governance id
/// from an `UpgradeSnsControlledCanister` proposal's argument, and then takes content proposals:
/// validated at submission (the rendering is the proposal's `payload_text_rendering`),
/// executed after adoption; a proposal made stale during the vote fails.
#[test]
fn content_proposals_through_the_local_sns() {
    use integration_tests::sns::{governance_init, initial_neurons, SnsGovernance};
    use platform_types::sns::*;
    use serde_bytes::ByteBuf;

    let net = LocalNet::new();
    let (gov, root, content_id) = (
        net.create_canister(),
        net.create_canister(),
        net.create_canister(),
    );
    let controller =
        |n: u8| Principal::self_authenticating([b"content-neuron-".as_slice(), &[n]].concat());
    let init = governance_init(root, initial_neurons(&[(1, 40), (2, 35), (3, 25)], controller), 3_600);
    net.install_canister(
        gov,
        wasm("sns_governance"),
        candid::encode_one(init).unwrap(),
        None,
    );
    let root_init = platform_types::sns::root::SnsRootCanister {
        governance_canister_id: Some(gov),
        dapp_canister_ids: vec![content_id],
        ..Default::default()
    };
    net.install_canister(
        root,
        wasm("sns_root"),
        candid::encode_one(root_init).unwrap(),
        None,
    );
    let before_the_sns = ContentInitArgs {
        sns_governance_id: Principal::anonymous(),
        ..init_args(content(0), None)
    };
    net.install_canister(
        content_id,
        wasm("learning_content"),
        candid::encode_one(before_the_sns).unwrap(),
        None,
    );
    net.set_controllers(content_id, None, vec![root]).unwrap();
    register_shard(&net, content_id, principal(HUB), principal(SHARD)).unwrap();

    let sns = SnsGovernance { net: &net, gov };
    let propose = |title: &str, action: Action| -> Result<u64, GovernanceError> {
        let p = Proposal {
            title: title.into(),
            summary: title.into(),
            url: "https://example.org".into(),
            action: Some(action),
        };
        sns.propose(controller(1), 1, p)
    };
    let yes = |id: u64| {
        sns.vote(controller(2), 2, id, Vote::Yes).unwrap();
        net.run_until_idle(10_000);
    };
    let proposal = |id: u64| sns.proposal(id);
    let adopt = |title: &str, action: Action| -> ProposalData {
        let id = propose(title, action).unwrap();
        yes(id);
        proposal(id)
    };
    let execute_fn = |function_id: u64, payload: Vec<u8>| {
        Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction {
            function_id,
            payload,
        })
    };
    let upgrade = |arg: Option<Vec<u8>>| {
        Action::UpgradeSnsControlledCanister(UpgradeSnsControlledCanister {
            new_canister_wasm: wasm("learning_content"),
            chunked_canister_wasm: None,
            mode: None,
            canister_id: Some(content_id),
            canister_upgrade_arg: arg.map(ByteBuf::from),
        })
    };

    for (id, method) in [
        (1002, "add_units"),
        (1003, "update_unit"),
        (1004, "retire_units"),
    ] {
        let f = NervousSystemFunction {
            id,
            name: method.into(),
            description: None,
            function_type: Some(FunctionType::GenericNervousSystemFunction(
                GenericNervousSystemFunction {
                    target_canister_id: Some(content_id),
                    target_method_name: Some(method.into()),
                    validator_canister_id: Some(content_id),
                    validator_method_name: Some(format!("{method}_validate")),
                    topic: Some(Topic::ApplicationBusinessLogic),
                },
            )),
        };
        let p = adopt(method, Action::AddGenericNervousSystemFunction(f));
        assert_eq!(
            p.status(),
            ProposalDecisionStatus::Executed,
            "{:?}",
            p.failure_reason
        );
    }

    // Before learning_content knows the governance id, its validators refuse governance.
    let add = add_payload(vec![new_unit("new-1", "Chemistry", &[3, 3], &[2, 1])]);
    let e = propose("Add new-1", execute_fn(1002, add.clone())).unwrap_err();
    assert!(e.error_message.contains("none is set"), "{e:?}");

    // The governance id comes with an upgrade (an empty upgrade before it keeps everything).
    let p = adopt("Upgrade, no argument", upgrade(None));
    assert_eq!(
        p.status(),
        ProposalDecisionStatus::Executed,
        "{:?}",
        p.failure_reason
    );
    assert_eq!(
        stored_args(&net, content_id).sns_governance_id,
        Principal::anonymous()
    );
    let arg = candid::encode_one(Some(ContentUpgradeArgs {
        sns_governance_id: Some(gov),
    }))
    .unwrap();
    let p = adopt("Set the governance id", upgrade(Some(arg)));
    assert_eq!(
        p.status(),
        ProposalDecisionStatus::Executed,
        "{:?}",
        p.failure_reason
    );
    assert_eq!(stored_args(&net, content_id).sns_governance_id, gov);

    // add_units: validated at submission, executed after adoption.
    let id = propose("Add new-1", execute_fn(1002, add)).unwrap();
    let rendering = proposal(id).payload_text_rendering.unwrap();
    assert!(
        rendering.contains("PUBLIC ANSWER KEYS") && rendering.contains("\"new-1\""),
        "{rendering}"
    );
    assert!(
        get_unit(&net, content_id, "new-1").is_none(),
        "nothing before adoption"
    );
    yes(id);
    assert_eq!(
        proposal(id).status(),
        ProposalDecisionStatus::Executed,
        "{:?}",
        proposal(id).failure_reason
    );
    assert_eq!(
        verify_update(&net, content_id, principal(SHARD), "new-1", &[2, 1]),
        Ok(VerifyResult {
            correct: 2,
            total: 2,
            passed: true
        })
    );

    // Refused at submission: nothing is created.
    let e = propose(
        "Retire nope",
        execute_fn(1004, retire_payload(&["nope"], "r")),
    )
    .unwrap_err();
    assert!(
        e.error_message.contains("unit \"nope\" does not exist"),
        "{e:?}"
    );

    // Two proposals to retire new-1, both valid at submission: the second fails at execution.
    let first = propose(
        "Retire new-1",
        execute_fn(1004, retire_payload(&["new-1"], "duplicate")),
    )
    .unwrap();
    let second = propose(
        "Retire new-1 again",
        execute_fn(1004, retire_payload(&["new-1", "math-1"], "duplicate")),
    )
    .unwrap();
    yes(first);
    assert_eq!(proposal(first).status(), ProposalDecisionStatus::Executed);
    assert_eq!(
        verify_update(&net, content_id, principal(SHARD), "new-1", &[2, 1]),
        Err(VerifyError::UnknownUnit {
            unit_id: "new-1".into()
        })
    );
    yes(second);
    let p = proposal(second);
    assert_eq!(p.status(), ProposalDecisionStatus::Failed);
    let reason = p.failure_reason.unwrap();
    assert!(
        reason
            .error_message
            .contains("unit \"new-1\" is already retired"),
        "{reason:?}"
    );
    assert!(
        get_unit(&net, content_id, "math-1").is_some(),
        "the failed proposal changed nothing"
    );
}
