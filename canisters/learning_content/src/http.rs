//! The HTTP interface (`http_request`, as the IC HTTP gateway calls it): the same public content
//! as the queries, as JSON, with `Cache-Control` and a strong `ETag` (a hash of the body). Every
//! response is certified (HTTP certification v2, see `certification.rs`), so gateways verify it.
//!
//! Routes (GET only; any other method gets 405 with `Allow: GET`):
//! * `/subjects` → `{"subjects":[..]}`
//! * `/subjects/<subject>/units/<page>` → `{"subject","page","next","units":[..]}`: the units of a
//!   subject in id order, in pages of [`PAGE_SIZE`] units (fewer when the units are large, see
//!   [`PAGE_JSON_BUDGET`]); `next` is the path of the next page, null on the last. `<subject>`
//!   is percent-encoded (`/` as `%2F`); pages are numbered from 0, written without leading zeros.
//! * `/units/<id>` → the unit, or 404
//! * `/units` (any query string) → 404 naming the page route (the former
//!   `/units?subject=..&offset=..&limit=..`: a response that depends on the query string cannot be
//!   certified ahead of the request, see docs/architecture.md)
//! * anything else → 404.
//!
//! Query strings are ignored (certification covers the path only). A request whose
//! `If-None-Match` names the current ETag (or `*`) gets 304 and no body.
//! The JSON is written from the structs below, built from [`Unit`], which has no answer field:
//! no route can serve an answer key.

use ic_http_certification::{
    DefaultCelBuilder, DefaultResponseCertification, DefaultResponseOnlyCelExpression,
    HttpResponse as CertResponse, StatusCode, CERTIFICATE_EXPRESSION_HEADER_NAME,
};
use platform_types::Unit;
use serde::Serialize;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

use crate::model;

// The gateway's Candid types, shared with the hub's and the shards' `/metrics`.
pub use platform_types::http::{HeaderField, HttpRequest, HttpResponse};

/// The certification library's response as the gateway interface carries it.
pub fn from_cert(r: CertResponse<'_>) -> HttpResponse {
    HttpResponse {
        status_code: r.status_code().as_u16(),
        headers: r.headers().to_vec(),
        body: ByteBuf::from(r.body().to_vec()),
        upgrade: None,
    }
}

/// How long gateways and browsers may cache a successful reply.
pub const CACHE_CONTROL: &str = "public, max-age=300";
/// Error replies are not cached.
pub const ERROR_CACHE_CONTROL: &str = "no-store";
/// Units per page of `/subjects/<subject>/units/<page>`.
pub const PAGE_SIZE: usize = model::DEFAULT_HTTP_PAGE_LIMIT as usize;
/// A page ends early (after at least one unit) once its units' JSON would pass this many bytes,
/// so a page and its certificate header stay well inside the 3 MiB query reply limit.
pub const PAGE_JSON_BUDGET: usize = model::MAX_PAGE_TEXT_BYTES;
/// The path `metrics.rs` answers: served with certification skipped (its figures change with
/// every message, and certified data can only be set by updates).
pub const METRICS_PATH: &str = "/metrics";
/// Whether [`METRICS_PATH`] is routed (to `metrics.rs`, with certification skipped; see the
/// routing point in `lib.rs`'s `http_request`); when not, it is an unknown path (404).
pub const SERVES_METRICS: bool = true;

/// What the routes read.
pub trait ContentSource {
    fn subjects(&self) -> Vec<String>;
    fn unit(&self, id: &str) -> Option<Unit>;
    /// The ids of `subject`'s units in id order (empty for an unknown subject).
    fn subject_unit_ids(&self, subject: &str) -> Vec<String>;
}

impl<M: ic_stable_structures::Memory> ContentSource for crate::state::Store<M> {
    fn subjects(&self) -> Vec<String> {
        crate::state::Store::subjects(self)
    }
    fn unit(&self, id: &str) -> Option<Unit> {
        crate::state::Store::unit(self, id)
    }
    fn subject_unit_ids(&self, subject: &str) -> Vec<String> {
        crate::state::Store::subject_unit_ids(self, subject)
    }
}

// ------------------------------------------------------------------ JSON documents

#[derive(Serialize)]
struct QuestionJson<'a> {
    text: &'a str,
    options: &'a [String],
}

#[derive(Serialize)]
struct UnitJson<'a> {
    id: &'a str,
    subject: &'a str,
    title: &'a str,
    body: &'a str,
    questions: Vec<QuestionJson<'a>>,
}

impl<'a> From<&'a Unit> for UnitJson<'a> {
    fn from(u: &'a Unit) -> Self {
        UnitJson {
            id: &u.id,
            subject: &u.subject,
            title: &u.title,
            body: &u.body,
            questions: u
                .questions
                .iter()
                .map(|q| QuestionJson {
                    text: &q.text,
                    options: &q.options,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct SubjectsJson<'a> {
    subjects: &'a [String],
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    status: u16,
    error: &'a str,
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON serialization of plain structs cannot fail")
}

/// The JSON of one unit: the body of `/units/<id>` and an element of its subject's page.
pub fn unit_json(unit: &Unit) -> Vec<u8> {
    to_json(&UnitJson::from(unit))
}

pub fn subjects_json(subjects: &[String]) -> Vec<u8> {
    to_json(&SubjectsJson { subjects })
}

/// The JSON of a page, from its units' JSON (each unit is serialized once, for its own route
/// and its page). Written by hand to splice those bytes in; the field order is fixed.
pub fn page_json(subject: &str, page: usize, next: Option<&str>, units: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + units.iter().map(|u| u.len() + 1).sum::<usize>());
    out.extend_from_slice(b"{\"subject\":");
    out.extend_from_slice(&to_json(&subject));
    out.extend_from_slice(format!(",\"page\":{page},\"next\":").as_bytes());
    out.extend_from_slice(&to_json(&next));
    out.extend_from_slice(b",\"units\":[");
    for (i, u) in units.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(u);
    }
    out.extend_from_slice(b"]}");
    out
}

/// Splits a subject's units (their JSON sizes, in id order) into pages: at most [`PAGE_SIZE`]
/// units, and no more than [`PAGE_JSON_BUDGET`] bytes of unit JSON unless a single unit is
/// larger. Returns the number of units of each page.
pub fn page_lengths(unit_json_sizes: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut pages = Vec::new();
    let (mut n, mut bytes) = (0usize, 0usize);
    for size in unit_json_sizes {
        if n == PAGE_SIZE || (n > 0 && bytes + size > PAGE_JSON_BUDGET) {
            pages.push(n);
            (n, bytes) = (0, 0);
        }
        n += 1;
        bytes += size;
    }
    if n > 0 {
        pages.push(n);
    }
    pages
}

// ------------------------------------------------------------------ responses

/// The strong ETag of a body: a quoted hex SHA-256 prefix (128 bits).
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether an `If-None-Match` value (a list of, possibly weak, ETags, or `*`) matches `tag`.
pub fn if_none_match_matches(header: &str, tag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

pub fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The headers a verifying gateway passes on: everything this canister sets (but the
/// certificate headers, which the protocol covers itself).
const CERTIFIED_HEADERS: [&str; 6] = [
    "Content-Type",
    "Cache-Control",
    "ETag",
    "X-Content-Type-Options",
    "Access-Control-Allow-Origin",
    "Allow",
];

/// The one CEL expression of every certified response: the response (status, body and
/// [`CERTIFIED_HEADERS`]) is certified, the request is not (no route depends on more than the
/// path, which the tree path certifies).
pub fn cel() -> &'static DefaultResponseOnlyCelExpression<'static> {
    static CEL: OnceLock<DefaultResponseOnlyCelExpression<'static>> = OnceLock::new();
    CEL.get_or_init(|| {
        DefaultCelBuilder::response_only_certification()
            .with_response_certification(DefaultResponseCertification::certified_response_headers(
                CERTIFIED_HEADERS.to_vec(),
            ))
            .build()
    })
}

/// [`cel`] as the `IC-CertificateExpression` header states it, and its hash (made once: every
/// response and every certification needs them).
pub fn cel_text() -> &'static (String, [u8; 32]) {
    static TEXT: OnceLock<(String, [u8; 32])> = OnceLock::new();
    TEXT.get_or_init(|| {
        let text = cel().to_string();
        let hash = Sha256::digest(text.as_bytes()).into();
        (text, hash)
    })
}

fn common_headers(cache_control: &str, json: bool) -> Vec<HeaderField> {
    let mut headers = Vec::with_capacity(6);
    if json {
        headers.push((
            "Content-Type".into(),
            "application/json; charset=utf-8".into(),
        ));
    }
    headers.extend([
        ("Cache-Control".into(), cache_control.into()),
        ("X-Content-Type-Options".into(), "nosniff".into()),
        ("Access-Control-Allow-Origin".into(), "*".into()),
        (
            CERTIFICATE_EXPRESSION_HEADER_NAME.into(),
            cel_text().0.clone(),
        ),
    ]);
    headers
}

fn response(status: StatusCode, headers: Vec<HeaderField>, body: Vec<u8>) -> CertResponse<'static> {
    CertResponse::builder()
        .with_status_code(status)
        .with_headers(headers)
        .with_body(body)
        .build()
}

/// 200 with the body's ETag.
pub fn ok_json(body: Vec<u8>) -> CertResponse<'static> {
    let mut headers = common_headers(CACHE_CONTROL, true);
    headers.push(("ETag".into(), etag(&body)));
    response(StatusCode::OK, headers, body)
}

/// 304 for a body whose ETag the client named: no body, no `Content-Type`.
pub fn not_modified(body: &[u8]) -> CertResponse<'static> {
    let mut headers = common_headers(CACHE_CONTROL, false);
    headers.push(("ETag".into(), etag(body)));
    response(StatusCode::NOT_MODIFIED, headers, vec![])
}

pub fn error(status: StatusCode, message: &str) -> CertResponse<'static> {
    let body = to_json(&ErrorJson {
        status: status.as_u16(),
        error: message,
    });
    response(status, common_headers(ERROR_CACHE_CONTROL, true), body)
}

pub fn not_found() -> CertResponse<'static> {
    error(StatusCode::NOT_FOUND, "not found")
}

/// The answer to `/units` (with any query string): the listing moved to the page route.
pub fn units_index() -> CertResponse<'static> {
    error(
        StatusCode::NOT_FOUND,
        "not found: a subject's units are listed at /subjects/<subject>/units/<page> (pages from 0)",
    )
}

pub fn method_not_allowed() -> CertResponse<'static> {
    let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    r.add_header(("Allow".into(), "GET".into()));
    r
}

/// The 200 for `body`, or its 304 when `req` names its ETag in `If-None-Match`.
pub fn ok_or_not_modified(req: &HttpRequest, body: Vec<u8>) -> CertResponse<'static> {
    let tag = etag(&body);
    if header(req, "If-None-Match").is_some_and(|v| if_none_match_matches(v, &tag)) {
        return not_modified(&body);
    }
    ok_json(body)
}

// ------------------------------------------------------------------ URLs

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`); the result must be UTF-8.
pub fn percent_decode(s: &str, plus_is_space: bool) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| "bad percent escape in URL".to_string())?;
                out.push(hex);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "URL does not decode to UTF-8".to_string())
}

/// Percent-encodes everything but RFC 3986's unreserved characters (so `/` too): one path segment.
pub fn percent_encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Splits a request URL (a path, or an absolute URL) into its path and query string.
fn split_url(url: &str) -> (&str, &str) {
    let url = url.split('#').next().unwrap_or("");
    let url = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    };
    url.split_once('?').unwrap_or((url, ""))
}

/// The request's path as gateways verify it: percent-decoded as a whole (`None` when it does
/// not decode).
pub fn decoded_path(url: &str) -> Option<String> {
    percent_decode(split_url(url).0, false).ok()
}

/// The path a client requests to read page `page` of `subject`.
pub fn page_url(subject: &str, page: usize) -> String {
    format!("/subjects/{}/units/{page}", percent_encode_segment(subject))
}

/// The page's path in the certification tree (decoded, as gateways compare it).
pub fn page_tree_path(subject: &str, page: usize) -> String {
    format!("/subjects/{subject}/units/{page}")
}

pub fn unit_tree_path(id: &str) -> String {
    format!("/units/{id}")
}

/// Whether `subject` has HTTP pages. Gateways split a decoded path at `/` and drop empty
/// segments, so a subject with an empty segment (`/x`, `x/`, `x//y`) cannot be addressed;
/// its units are still served at `/units/<id>` and by the Candid queries.
pub fn subject_has_pages(subject: &str) -> bool {
    !subject.split('/').any(str::is_empty)
}

/// What a request path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Subjects,
    Page { subject: String, page: usize },
    Unit(String),
    UnitsIndex,
    Metrics,
    NotFound,
}

/// Routes a decoded path the way gateways look it up in the certification tree: split at `/`
/// with empty segments dropped; a path ending in `/` names no resource.
pub fn route(path: &str) -> Route {
    if path.ends_with('/') {
        return Route::NotFound;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["subjects"] => Route::Subjects,
        ["units"] => Route::UnitsIndex,
        ["metrics"] => Route::Metrics,
        ["units", id] if model::validate_id(id).is_ok() => Route::Unit(id.to_string()),
        ["subjects", subject @ .., "units", page] if !subject.is_empty() => {
            // One path per page: no sign, no leading zeros.
            let canonical = page.bytes().all(|b| b.is_ascii_digit())
                && (*page == "0" || !page.starts_with('0'));
            match page.parse() {
                Ok(page) if canonical => Route::Page {
                    subject: subject.join("/"),
                    page,
                },
                _ => Route::NotFound,
            }
        }
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::input;
    use crate::state::Store;
    use candid::Principal;
    use ic_stable_structures::memory_manager::MemoryManager;
    use ic_stable_structures::DefaultMemoryImpl;
    use platform_types::ContentInitArgs;

    fn store() -> Store<DefaultMemoryImpl> {
        let mut s = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        s.initialize(ContentInitArgs {
            hub_id: Principal::from_slice(&[1; 10]),
            sns_governance_id: Principal::from_slice(&[2; 10]),
            units: vec![
                input("alg-1", "Algebra", &[3, 1, 2]),
                input("alg-2", "Algebra", &[0]),
                input("alg-3", "Algebra", &[1, 1]),
                input("bio-1", "Biology & Life", &[2, 0]),
            ],
            pass_mark_percent: None,
        });
        s
    }

    /// Answers as the canister does (without a certificate: see certification.rs for those).
    fn handle(s: &Store<DefaultMemoryImpl>, req: &HttpRequest) -> HttpResponse {
        crate::certification::Certified::build(s, false)
            .serve(s, req, None, |_| panic!("no metrics route"))
    }

    fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: vec![],
            body: ByteBuf::new(),
            certificate_version: Some(2),
        }
    }

    fn header_of<'a>(r: &'a HttpResponse, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(r: &HttpResponse) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn subjects_route_lists_subjects_with_cache_headers() {
        let r = handle(&store(), &get("/subjects"));
        assert_eq!(r.status_code, 200);
        assert_eq!(
            json(&r),
            serde_json::json!({"subjects": ["Algebra", "Biology & Life"]})
        );
        assert_eq!(header_of(&r, "cache-control"), Some(CACHE_CONTROL));
        assert_eq!(
            header_of(&r, "content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(header_of(&r, "etag"), Some(etag(&r.body).as_str()));
        assert_eq!(r.upgrade, None);
    }

    #[test]
    fn unit_route_serves_the_unit_without_answers() {
        let s = store();
        let r = handle(&s, &get("/units/alg-1"));
        assert_eq!(r.status_code, 200);
        let v = json(&r);
        assert_eq!(v["id"], "alg-1");
        assert_eq!(v["subject"], "Algebra");
        assert_eq!(v["questions"].as_array().unwrap().len(), 3);
        assert_eq!(v["questions"][0]["options"].as_array().unwrap().len(), 4);
        // Sorted: serde_json keeps insertion order when another crate of the build enables its
        // `preserve_order` feature (the hub's credential crates do).
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["body", "id", "questions", "subject", "title"]);
        let qkeys: Vec<_> = v["questions"][0]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(qkeys, ["options", "text"]);
        // The JSON is exactly the public unit: the same whatever the answer key.
        let mut other = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        other.initialize(ContentInitArgs {
            units: vec![input("alg-1", "Algebra", &[0, 0, 0])],
            ..s.init_args().unwrap()
        });
        assert_eq!(handle(&other, &get("/units/alg-1")).body, r.body);
    }

    #[test]
    fn no_reply_mentions_an_answer() {
        let s = store();
        for url in [
            "/subjects",
            "/subjects/Algebra/units/0",
            "/subjects/Biology%20%26%20Life/units/0",
            "/units/alg-1",
            "/units/bio-1",
            "/units/nope",
            "/units",
            "/nope",
        ] {
            let r = handle(&s, &get(url));
            let text = String::from_utf8(r.body.to_vec()).unwrap().to_lowercase();
            assert!(
                !text.contains("answer") && !text.contains("key"),
                "{url}: {text}"
            );
        }
    }

    #[test]
    fn subject_pages_list_units_in_id_order_with_next_links() {
        let mut s = store();
        let more: Vec<_> = (0..25)
            .map(|i| input(&format!("alg-x{i:02}"), "Algebra", &[2]))
            .collect();
        s.add_units(more);
        let first = handle(&s, &get("/subjects/Algebra/units/0"));
        assert_eq!(first.status_code, 200);
        let v = json(&first);
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["next", "page", "subject", "units"]);
        assert_eq!(v["subject"], "Algebra");
        assert_eq!(v["page"], 0);
        assert_eq!(v["next"], "/subjects/Algebra/units/1");
        let ids: Vec<_> = v["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), PAGE_SIZE);
        let all = s.subject_unit_ids("Algebra");
        assert_eq!(ids, all[..PAGE_SIZE]);
        // A page's unit is the unit route's document.
        assert_eq!(
            v["units"][0],
            json(&handle(&s, &get(&format!("/units/{}", ids[0]))))
        );
        let last = json(&handle(&s, &get("/subjects/Algebra/units/1")));
        assert_eq!(last["next"], serde_json::Value::Null);
        assert_eq!(last["units"].as_array().unwrap().len(), 28 - PAGE_SIZE);
        assert_eq!(
            handle(&s, &get("/subjects/Algebra/units/2")).status_code,
            404
        );

        // The subject is one percent-encoded segment; a query string is ignored.
        let bio = handle(&s, &get("/subjects/Biology%20%26%20Life/units/0?offset=7"));
        assert_eq!(bio.status_code, 200);
        assert_eq!(json(&bio)["units"][0]["id"], "bio-1");
        assert_eq!(
            page_url("Biology & Life", 3),
            "/subjects/Biology%20%26%20Life/units/3"
        );
        assert_eq!(
            handle(&s, &get("/subjects/Chemistry/units/0")).status_code,
            404
        );
    }

    #[test]
    fn pages_stop_at_the_json_budget_and_never_hold_nothing() {
        assert_eq!(page_lengths([10; 45]), [20, 20, 5]);
        assert_eq!(page_lengths([]), Vec::<usize>::new());
        let big = PAGE_JSON_BUDGET / 3 + 1;
        assert_eq!(page_lengths([big; 5]), [2, 2, 1]);
        assert_eq!(page_lengths([PAGE_JSON_BUDGET * 2, 1, 1]), [1, 2]);
    }

    #[test]
    fn routes_follow_the_gateways_path_segments() {
        let page = |s: &str, p| Route::Page {
            subject: s.into(),
            page: p,
        };
        assert_eq!(route("/subjects"), Route::Subjects);
        assert_eq!(route("//subjects"), Route::Subjects);
        assert_eq!(route("/subjects/"), Route::NotFound);
        assert_eq!(route("/units"), Route::UnitsIndex);
        assert_eq!(route("/metrics"), Route::Metrics);
        assert_eq!(route("/units/a-1"), Route::Unit("a-1".into()));
        assert_eq!(route("/units//a-1"), Route::Unit("a-1".into()));
        assert_eq!(route("/units/a b"), Route::NotFound);
        assert_eq!(route("/subjects/Math/units/12"), page("Math", 12));
        assert_eq!(route("/subjects/A/B/units/0"), page("A/B", 0));
        assert_eq!(route("/subjects/x/units/0/units/1"), page("x/units/0", 1));
        for bad in [
            "/subjects/M/units/01",
            "/subjects/M/units/-1",
            "/subjects/M/units/+1",
            "/subjects/units/0",
            "/subjects/M/units/x",
        ] {
            assert_eq!(route(bad), Route::NotFound, "{bad}");
        }
        assert!(subject_has_pages("A/B") && subject_has_pages("Math"));
        assert!(!subject_has_pages("/A") && !subject_has_pages("A/") && !subject_has_pages("A//B"));
        assert_eq!(
            decoded_path("/subjects/A%2FB/units/0?x=%zz").unwrap(),
            "/subjects/A/B/units/0"
        );
        assert_eq!(percent_encode_segment("a/b ü~"), "a%2Fb%20%C3%BC~");
    }

    #[test]
    fn the_former_query_listing_answers_a_404_naming_the_page_route() {
        let s = store();
        for url in [
            "/units",
            "/units?subject=Algebra",
            "/units?offset=1",
            "/units?subject=%zz",
        ] {
            let r = handle(&s, &get(url));
            assert_eq!(r.status_code, 404, "{url}");
            assert!(
                json(&r)["error"]
                    .as_str()
                    .unwrap()
                    .contains("/subjects/<subject>/units/<page>"),
                "{url}"
            );
            assert_eq!(header_of(&r, "cache-control"), Some(ERROR_CACHE_CONTROL));
            assert!(header_of(&r, "etag").is_none());
        }
    }

    #[test]
    fn unknown_paths_and_units_are_404_and_other_methods_405() {
        let s = store();
        for url in [
            "/",
            "/unit/alg-1",
            "/units/",
            "/units/alg-1/x",
            "/units/nope",
            "/subjects/x",
            "/units/a%2Fb",
            "/units/%ff",
        ] {
            let r = handle(&s, &get(url));
            assert_eq!(r.status_code, 404, "{url}");
            assert_eq!(
                json(&r),
                serde_json::json!({"status": 404, "error": "not found"})
            );
        }
        for method in ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"] {
            let r = handle(
                &s,
                &HttpRequest {
                    method: method.into(),
                    ..get("/subjects")
                },
            );
            assert_eq!(r.status_code, 405, "{method}");
            assert_eq!(header_of(&r, "allow"), Some("GET"));
        }
        // Absolute URLs, fragments and percent-encoded ids route like their paths.
        assert_eq!(
            handle(&s, &get("https://example.icp0.io/units/alg-2#x")).status_code,
            200
        );
        assert_eq!(json(&handle(&s, &get("/units/alg%2D2")))["id"], "alg-2");
    }

    #[test]
    fn etag_is_stable_and_if_none_match_gives_304() {
        let s = store();
        let first = handle(&s, &get("/units/alg-1"));
        let again = handle(&store(), &get("/units/alg-1"));
        let tag = header_of(&first, "ETag").unwrap().to_string();
        assert_eq!(
            header_of(&again, "ETag"),
            Some(tag.as_str()),
            "same content, same ETag"
        );
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34);
        assert_ne!(
            header_of(&handle(&s, &get("/units/alg-2")), "ETag"),
            Some(tag.as_str())
        );

        for value in [
            tag.clone(),
            format!("W/{tag}"),
            format!("\"other\", {tag}"),
            "*".into(),
        ] {
            let req = HttpRequest {
                headers: vec![("if-none-match".into(), value.clone())],
                ..get("/units/alg-1")
            };
            let r = handle(&s, &req);
            assert_eq!(r.status_code, 304, "{value}");
            assert!(r.body.is_empty());
            assert_eq!(header_of(&r, "etag"), Some(tag.as_str()));
            assert_eq!(header_of(&r, "cache-control"), Some(CACHE_CONTROL));
        }
        let stale = HttpRequest {
            headers: vec![("If-None-Match".into(), "\"stale\"".into())],
            ..get("/units/alg-1")
        };
        assert_eq!(handle(&s, &stale).status_code, 200);
        // A tag of another resource does not match.
        let other = HttpRequest {
            headers: vec![("If-None-Match".into(), tag.clone())],
            ..get("/subjects")
        };
        assert_eq!(handle(&s, &other).status_code, 200);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c", true).unwrap(), "a b c");
        assert_eq!(percent_decode("a+b", false).unwrap(), "a+b");
        assert_eq!(percent_decode("%C3%BC", false).unwrap(), "ü");
        assert!(percent_decode("%", false).is_err());
        assert!(percent_decode("%g0", false).is_err());
        assert!(percent_decode("%ff", false).is_err());
        assert_eq!(split_url("/units?subject=a"), ("/units", "subject=a"));
        assert_eq!(split_url("http://host"), ("/", ""));
    }
}
