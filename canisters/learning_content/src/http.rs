//! The HTTP interface (`http_request`, as the IC HTTP gateway calls it): the same public content
//! as the queries, as JSON, with `Cache-Control` and a strong `ETag` (a hash of the body).
//!
//! Routes (GET only; any other method gets 405 with `Allow: GET`):
//! * `/subjects` → `{"subjects":[..]}`
//! * `/units?subject=S&offset=N&limit=N` → `{"subject","offset","limit","total","next_offset","units":[..]}`
//!   (`subject` is required, `offset` defaults to 0, `limit` to 20 and is capped at 50; a bad
//!   parameter is a 400; an unknown subject is an empty page)
//! * `/units/<id>` → the unit, or 404
//! * anything else → 404.
//!
//! A request whose `If-None-Match` names the current ETag (or `*`) gets 304 and no body.
//! The JSON is written from the structs below, built from [`Unit`], which has no answer field:
//! no route can serve an answer key.

use candid::CandidType;
use platform_types::{Unit, UnitPage};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

use crate::model;

pub type HeaderField = (String, String);

#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<HeaderField>,
    pub body: ByteBuf,
    pub certificate_version: Option<u16>,
}

#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: Vec<HeaderField>,
    pub body: ByteBuf,
    pub upgrade: Option<bool>,
}

/// How long gateways and browsers may cache a successful reply.
pub const CACHE_CONTROL: &str = "public, max-age=300";
/// Error replies are not cached.
pub const ERROR_CACHE_CONTROL: &str = "no-store";

/// What the routes read.
pub trait ContentSource {
    fn subjects(&self) -> Vec<String>;
    fn unit(&self, id: &str) -> Option<Unit>;
    fn page(&self, subject: &str, offset: u64, limit: u64) -> UnitPage;
}

impl<M: ic_stable_structures::Memory> ContentSource for crate::state::Store<M> {
    fn subjects(&self) -> Vec<String> {
        crate::state::Store::subjects(self)
    }
    fn unit(&self, id: &str) -> Option<Unit> {
        crate::state::Store::unit(self, id)
    }
    fn page(&self, subject: &str, offset: u64, limit: u64) -> UnitPage {
        crate::state::Store::page(self, subject, offset, limit)
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
struct PageJson<'a> {
    subject: &'a str,
    offset: u64,
    limit: u64,
    total: u64,
    /// Where the next page starts; null on the last page.
    next_offset: Option<u64>,
    units: Vec<UnitJson<'a>>,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    status: u16,
    error: &'a str,
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON serialization of plain structs cannot fail")
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

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn common_headers(cache_control: &str) -> Vec<HeaderField> {
    vec![
        (
            "Content-Type".into(),
            "application/json; charset=utf-8".into(),
        ),
        ("Cache-Control".into(), cache_control.into()),
        ("X-Content-Type-Options".into(), "nosniff".into()),
        ("Access-Control-Allow-Origin".into(), "*".into()),
    ]
}

fn ok_json(req: &HttpRequest, body: Vec<u8>) -> HttpResponse {
    let tag = etag(&body);
    let mut headers = common_headers(CACHE_CONTROL);
    headers.push(("ETag".into(), tag.clone()));
    if header(req, "If-None-Match").is_some_and(|v| if_none_match_matches(v, &tag)) {
        headers.retain(|(n, _)| n != "Content-Type");
        return HttpResponse {
            status_code: 304,
            headers,
            body: ByteBuf::new(),
            upgrade: None,
        };
    }
    HttpResponse {
        status_code: 200,
        headers,
        body: ByteBuf::from(body),
        upgrade: None,
    }
}

fn error(status: u16, message: &str) -> HttpResponse {
    HttpResponse {
        status_code: status,
        headers: common_headers(ERROR_CACHE_CONTROL),
        body: ByteBuf::from(to_json(&ErrorJson {
            status,
            error: message,
        })),
        upgrade: None,
    }
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

/// Splits a request URL (a path, or an absolute URL) into its path and query string.
fn split_url(url: &str) -> (&str, &str) {
    let url = url.split('#').next().unwrap_or("");
    let url = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    };
    url.split_once('?').unwrap_or((url, ""))
}

fn query_params(query: &str) -> Result<Vec<(String, String)>, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((percent_decode(k, true)?, percent_decode(v, true)?))
        })
        .collect()
}

fn number_param(params: &[(String, String)], name: &str, default: u64) -> Result<u64, String> {
    match params.iter().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => v
            .parse()
            .map_err(|_| format!("query parameter {name} must be a non-negative integer")),
    }
}

// ------------------------------------------------------------------ routes

/// Answers one HTTP request.
pub fn handle(content: &impl ContentSource, req: &HttpRequest) -> HttpResponse {
    if !req.method.eq_ignore_ascii_case("GET") {
        let mut r = error(405, "method not allowed");
        r.headers.push(("Allow".into(), "GET".into()));
        return r;
    }
    let (path, query) = split_url(&req.url);
    match path {
        "/subjects" => ok_json(
            req,
            to_json(&SubjectsJson {
                subjects: &content.subjects(),
            }),
        ),
        "/units" => units_page(content, req, query),
        _ => match path.strip_prefix("/units/") {
            Some(raw_id) if !raw_id.is_empty() && !raw_id.contains('/') => {
                let Ok(id) = percent_decode(raw_id, false) else {
                    return error(404, "not found");
                };
                // Ids are validated, so nothing longer or odd can name a unit.
                if model::validate_id(&id).is_err() {
                    return error(404, "not found");
                }
                match content.unit(&id) {
                    Some(unit) => ok_json(req, to_json(&UnitJson::from(&unit))),
                    None => error(404, "not found"),
                }
            }
            _ => error(404, "not found"),
        },
    }
}

fn units_page(content: &impl ContentSource, req: &HttpRequest, query: &str) -> HttpResponse {
    let parsed = query_params(query).and_then(|params| {
        let subject = params
            .iter()
            .find(|(k, _)| k == "subject")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| "query parameter subject is required".to_string())?;
        let offset = number_param(&params, "offset", 0)?;
        let limit = number_param(&params, "limit", model::DEFAULT_HTTP_PAGE_LIMIT)?
            .min(model::MAX_PAGE_LIMIT);
        Ok((subject, offset, limit))
    });
    let (subject, offset, limit) = match parsed {
        Ok(p) => p,
        Err(e) => return error(400, &e),
    };
    let page = content.page(&subject, offset, limit);
    let end = offset.saturating_add(page.units.len() as u64);
    let doc = PageJson {
        subject: &subject,
        offset,
        limit,
        total: page.total,
        next_offset: (!page.units.is_empty() && end < page.total).then_some(end),
        units: page.units.iter().map(UnitJson::from).collect(),
    };
    ok_json(req, to_json(&doc))
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
            "/units?subject=Algebra",
            "/units?subject=Biology%20%26%20Life&limit=50",
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
    fn units_route_pages_a_subject() {
        let s = store();
        let r = handle(&s, &get("/units?subject=Algebra&offset=1&limit=1"));
        assert_eq!(r.status_code, 200);
        let v = json(&r);
        assert_eq!(v["total"], 3);
        assert_eq!(v["offset"], 1);
        assert_eq!(v["limit"], 1);
        assert_eq!(v["next_offset"], 2);
        assert_eq!(v["units"].as_array().unwrap().len(), 1);
        assert_eq!(v["units"][0]["id"], "alg-2");

        let last = json(&handle(&s, &get("/units?subject=Algebra&offset=2")));
        assert_eq!(last["next_offset"], serde_json::Value::Null);
        assert_eq!(last["limit"], model::DEFAULT_HTTP_PAGE_LIMIT);
        let capped = json(&handle(&s, &get("/units?limit=1000&subject=Algebra")));
        assert_eq!(capped["limit"], model::MAX_PAGE_LIMIT);
        assert_eq!(capped["units"].as_array().unwrap().len(), 3);

        let encoded = json(&handle(&s, &get("/units?subject=Biology+%26+Life")));
        assert_eq!(encoded["total"], 1);
        assert_eq!(encoded["units"][0]["id"], "bio-1");

        let unknown = handle(&s, &get("/units?subject=Chemistry"));
        assert_eq!(unknown.status_code, 200);
        assert_eq!(json(&unknown)["total"], 0);

        // The page JSON equals the candid page's units.
        let page = s.page("Algebra", 0, 50);
        let all = json(&handle(&s, &get("/units?subject=Algebra&limit=50")));
        let ids: Vec<_> = all["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            page.units.iter().map(|u| u.id.as_str()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn bad_parameters_are_400() {
        let s = store();
        for url in [
            "/units",
            "/units?offset=1",
            "/units?subject=Algebra&limit=-1",
            "/units?subject=Algebra&offset=x",
            "/units?subject=%zz",
        ] {
            let r = handle(&s, &get(url));
            assert_eq!(r.status_code, 400, "{url}");
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
