//! `certified_page`: serves HTML over `http_request` with HTTP response certification v2
//! (`ic-http-certification`), for the HTTP gateway tests of `localnet-server`.
//!
//! Routes (any method; the request itself is not certified, only the response):
//! * `/` and `/index.html`: a certified page (200, `text/html`).
//! * `/tampered.html`: certified for one body ([`TAMPERED_CERTIFIED_BODY`]) but served with
//!   another ([`TAMPERED_SERVED_BODY`]), as a dishonest replica would: a verifying gateway must
//!   refuse it.
//! * `/upgrade`: the query answers `upgrade = opt true`; `http_request_update` then counts the
//!   call and answers `updated <n> (<method> <url>)` (update responses are certified by the
//!   call's certificate, not by response verification).
//! * anything else: a certified 404 (a wildcard certification on `/`).
//!
//! Certification: response-only (the CEL expression certifies the status, the body and the
//! `Content-Type` and `Cache-Control` headers; the pages also carry an uncertified
//! `X-Uncertified` header, which verifying gateways drop); the tree is rebuilt in `init` and
//! `post_upgrade`, and its root hash is the canister's certified data.

use std::cell::{Cell, RefCell};

use candid::CandidType;
use ic_http_certification::{
    utils::add_v2_certificate_header, DefaultCelBuilder, DefaultResponseCertification, DefaultResponseOnlyCelExpression,
    HttpCertification, HttpCertificationPath, HttpCertificationTree, HttpCertificationTreeEntry,
    HttpResponse as CertifiedResponse, StatusCode, CERTIFICATE_EXPRESSION_HEADER_NAME,
};
use serde::Deserialize;
use serde_bytes::ByteBuf;

pub const INDEX_BODY: &str = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Certified page</title></head>\n<body><h1>Certified page</h1><p id=\"status\">This page was served by a canister and its certification was verified by the gateway.</p></body></html>\n";
pub const TAMPERED_CERTIFIED_BODY: &str = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Original</title></head>\n<body><h1>Original content</h1></body></html>\n";
pub const TAMPERED_SERVED_BODY: &str = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Tampered</title></head>\n<body><h1>Tampered content</h1><p>A verifying gateway must never show this.</p></body></html>\n";
pub const NOT_FOUND_BODY: &str = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Not found</title></head>\n<body><h1>Not found</h1></body></html>\n";

// The HTTP gateway protocol's Candid types, declared here rather than taken from
// ic-http-certification (whose long rustdoc would end up in the .did file).

pub type HeaderField = (String, String);

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<HeaderField>,
    pub body: ByteBuf,
    pub certificate_version: Option<u16>,
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct HttpUpdateRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<HeaderField>,
    pub body: ByteBuf,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: Vec<HeaderField>,
    pub body: ByteBuf,
    pub upgrade: Option<bool>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpUpdateResponse {
    pub status_code: u16,
    pub headers: Vec<HeaderField>,
    pub body: ByteBuf,
}

/// One certified route: where it is in the tree, and the response it certifies and serves.
struct Route {
    path: HttpCertificationPath<'static>,
    certification: HttpCertification,
    /// What is served (differs from what was certified only for `/tampered.html`).
    served: CertifiedResponse<'static>,
}

#[derive(Default)]
struct Routes {
    tree: HttpCertificationTree,
    exact: Vec<(&'static str, Route)>,
    not_found: Option<Route>,
}

thread_local! {
    static ROUTES: RefCell<Routes> = RefCell::new(Routes::default());
    static UPDATES: Cell<u64> = const { Cell::new(0) };
}

fn cel() -> DefaultResponseOnlyCelExpression<'static> {
    DefaultCelBuilder::response_only_certification()
        .with_response_certification(DefaultResponseCertification::certified_response_headers(vec![
            "Content-Type",
            "Cache-Control",
        ]))
        .build()
}

fn html(status: StatusCode, body: &str) -> CertifiedResponse<'static> {
    CertifiedResponse::builder()
        .with_status_code(status)
        .with_headers(vec![
            ("Content-Type".into(), "text/html; charset=utf-8".into()),
            ("Cache-Control".into(), "no-cache".into()),
            // Not in the CEL expression's header list: a verifying gateway drops it.
            ("X-Uncertified".into(), "dropped by verifying gateways".into()),
            (CERTIFICATE_EXPRESSION_HEADER_NAME.into(), cel().to_string()),
        ])
        .with_body(body.as_bytes().to_vec())
        .build()
}

fn route(path: HttpCertificationPath<'static>, certified: CertifiedResponse<'static>, served: CertifiedResponse<'static>) -> Route {
    let certification = HttpCertification::response_only(&cel(), &certified, None).expect("the CEL expression header is set");
    Route { path, certification, served }
}

fn certify_all() {
    let page = |p: &'static str| (p, route(HttpCertificationPath::exact(p), html(StatusCode::OK, INDEX_BODY), html(StatusCode::OK, INDEX_BODY)));
    let tampered = route(
        HttpCertificationPath::exact("/tampered.html"),
        html(StatusCode::OK, TAMPERED_CERTIFIED_BODY),
        html(StatusCode::OK, TAMPERED_SERVED_BODY),
    );
    let nf = html(StatusCode::NOT_FOUND, NOT_FOUND_BODY);
    let mut routes = Routes {
        tree: HttpCertificationTree::default(),
        exact: vec![page("/"), page("/index.html"), ("/tampered.html", tampered)],
        not_found: Some(route(HttpCertificationPath::wildcard("/"), nf.clone(), nf)),
    };
    let entries: Vec<&Route> = routes.exact.iter().map(|(_, r)| r).chain(routes.not_found.as_ref()).collect();
    let mut tree = HttpCertificationTree::default();
    for r in entries {
        tree.insert(&HttpCertificationTreeEntry::new(&r.path, r.certification));
    }
    routes.tree = tree;
    ic_cdk::api::certified_data_set(routes.tree.root_hash());
    ROUTES.with(|r| *r.borrow_mut() = routes);
}

#[ic_cdk::init]
fn init() {
    certify_all();
}

#[ic_cdk::post_upgrade]
fn post_upgrade() {
    certify_all();
}

fn path_of(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or("")
}

#[ic_cdk::query]
fn http_request(req: HttpRequest) -> HttpResponse {
    let path = path_of(&req.url).to_string();
    if path == "/upgrade" {
        return HttpResponse { status_code: 200, headers: vec![], body: ByteBuf::new(), upgrade: Some(true) };
    }
    ROUTES.with(|routes| {
        let routes = routes.borrow();
        let r = routes
            .exact
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, r)| r)
            .unwrap_or_else(|| routes.not_found.as_ref().expect("certified in init"));
        let mut response = r.served.clone();
        // Only present in (non-replicated) queries; a replicated query is answered uncertified.
        if let Some(certificate) = ic_cdk::api::data_certificate() {
            let entry = HttpCertificationTreeEntry::new(&r.path, r.certification);
            let witness = routes.tree.witness(&entry, &path).expect("the route matches its own path");
            add_v2_certificate_header(&certificate, &mut response, &witness, &r.path.to_expr_path());
        }
        HttpResponse {
            status_code: response.status_code().as_u16(),
            headers: response.headers().to_vec(),
            body: ByteBuf::from(response.body().to_vec()),
            upgrade: None,
        }
    })
}

#[ic_cdk::update]
fn http_request_update(req: HttpUpdateRequest) -> HttpUpdateResponse {
    let headers = vec![("Content-Type".to_string(), "text/plain; charset=utf-8".to_string())];
    if path_of(&req.url) != "/upgrade" {
        return HttpUpdateResponse { status_code: 404, headers, body: ByteBuf::from(b"not found".to_vec()) };
    }
    let n = UPDATES.with(|u| {
        u.set(u.get() + 1);
        u.get()
    });
    let body = format!("updated {n} ({} {})", req.method, req.url);
    HttpUpdateResponse { status_code: 200, headers, body: ByteBuf::from(body.into_bytes()) }
}

ic_cdk::export_candid!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candid_interface_matches_committed_did_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("certified_page.did");
        platform_types::candid_check::check_service(&__export_service(), &path);
    }

    #[test]
    fn paths_drop_query_and_fragment() {
        assert_eq!(path_of("/index.html?x=1"), "/index.html");
        assert_eq!(path_of("/a#b"), "/a");
        assert_eq!(path_of("/"), "/");
    }
}
