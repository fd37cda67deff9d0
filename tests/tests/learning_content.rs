//! learning_content on localnet: content from the init argument, queries and paging, quiz
//! verification for registered shards only, the HTTP interface (routes, cache headers, 304),
//! answer keys never observable outside `verify_quiz`, and everything surviving an upgrade.

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
    let (r,): (Result<(), String>,) = net
        .update_candid_as(id, caller, "register_shard", (shard,))
        .unwrap();
    r
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

    let p = http(
        &net,
        id,
        get("/units?subject=Mathematics&offset=0&limit=2", &[]),
    );
    assert_eq!(p.status_code, 200);
    let v = p.json();
    assert_eq!(
        (v["total"].as_u64(), v["next_offset"].as_u64()),
        (Some(3), Some(2))
    );
    let page_ids: Vec<_> = v["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(page_ids, ["math-1", "math-2"]);
    let rest = http(
        &net,
        id,
        get("/units?subject=Mathematics&offset=2&limit=2", &[]),
    )
    .json();
    assert_eq!(rest["units"][0]["id"], "math-3");
    assert!(rest["next_offset"].is_null());

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
    assert_eq!(
        http(&net, id, get("/units", &[])).status_code,
        400,
        "subject is required"
    );
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
    let mut urls = vec![
        "/subjects".to_string(),
        "/units?subject=Mathematics".into(),
        "/units?subject=History&limit=1".into(),
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
        assert_eq!(
            ra, rb,
            "{method} replies must not depend on the answer keys"
        );
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
    assert_eq!(
        http(&net, id, get("/units/math-2", &[])),
        before_http,
        "same content, same ETag"
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
