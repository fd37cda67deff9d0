//! The HTTP gateway interface (`http_request`) of the hub and the shards, which serve only
//! `/metrics`; the same Candid types as learning_content's (`candid/learning_content.did`).
//!
//! `/metrics` is answered by the query path and is NOT certified: figures change with every
//! message, so a gateway that verifies certification refuses it. Monitors read it through the
//! raw domain (`https://<canister-id>.raw.icp0.io/metrics`; localnet's gateway likewise serves
//! `<canister-id>.raw.localhost` without verification).

use candid::CandidType;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

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

/// The route every platform canister serves for monitors.
pub const METRICS_PATH: &str = "/metrics";
/// The Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The path of a request URL: the query and fragment cut off.
pub fn path(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or("")
}

pub fn is_metrics_request(req: &HttpRequest) -> bool {
    path(&req.url) == METRICS_PATH
}

fn text(status_code: u16, body: impl Into<Vec<u8>>, extra: &[(&str, &str)]) -> HttpResponse {
    let mut headers = vec![
        ("Content-Type".to_string(), "text/plain; charset=utf-8".to_string()),
        ("Cache-Control".to_string(), "no-store".to_string()),
    ];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    HttpResponse { status_code, headers, body: ByteBuf::from(body.into()), upgrade: None }
}

/// `/metrics` (GET or HEAD; others get 405), `encode` writing the body. Never cached: every
/// scrape reads the figures of that moment.
pub fn metrics_response(req: &HttpRequest, encode: impl FnOnce() -> Vec<u8>) -> HttpResponse {
    match req.method.to_ascii_uppercase().as_str() {
        "GET" => HttpResponse {
            status_code: 200,
            headers: vec![
                ("Content-Type".to_string(), METRICS_CONTENT_TYPE.to_string()),
                ("Cache-Control".to_string(), "no-store".to_string()),
            ],
            body: ByteBuf::from(encode()),
            upgrade: None,
        },
        _ => text(405, "only GET is served here\n", &[("Allow", "GET")]),
    }
}

/// The HTTP interface of a canister that serves only `/metrics` (the hub, the shards).
pub fn serve_metrics_only(req: &HttpRequest, encode: impl FnOnce() -> Vec<u8>) -> HttpResponse {
    if is_metrics_request(req) {
        metrics_response(req, encode)
    } else {
        text(404, format!("not found: this canister serves only {METRICS_PATH}\n"), &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, url: &str) -> HttpRequest {
        HttpRequest { method: method.into(), url: url.into(), headers: vec![], body: ByteBuf::new(), certificate_version: None }
    }

    #[test]
    fn only_get_metrics_is_served() {
        let ok = serve_metrics_only(&req("GET", "/metrics?x=1"), || b"a 1\n".to_vec());
        assert_eq!((ok.status_code, ok.body.as_slice()), (200, b"a 1\n".as_slice()));
        assert!(ok.headers.contains(&("Content-Type".into(), METRICS_CONTENT_TYPE.into())));
        let post = serve_metrics_only(&req("POST", "/metrics"), || panic!("not encoded for a POST"));
        assert_eq!(post.status_code, 405);
        assert!(post.headers.contains(&("Allow".into(), "GET".into())));
        let other = serve_metrics_only(&req("GET", "/metricsx"), || panic!("not encoded elsewhere"));
        assert_eq!(other.status_code, 404);
        assert_eq!(path("/a/b?c#d"), "/a/b");
    }
}
