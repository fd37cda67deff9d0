//! The HTTP gateway: browsers reach canisters at `http://<canister-id>.localhost:<port>/...`,
//! as they do at `https://<canister-id>.icp0.io/...` through the IC's gateways
//! (`ic-http-gateway`, used by `ic-gateway` and dfx).
//!
//! For each request:
//! 1. The canister comes from the host (`<id>.localhost`, or `<id>.raw.localhost` to skip
//!    verification), or from `?canisterId=<id>` on a plain `localhost` host; `/api/...` is left
//!    to the IC HTTP interface on every host ([`canister_from_request`]).
//! 2. The browser request becomes the Candid `HttpRequest` of the HTTP gateway protocol
//!    (method, URL path and query, headers, body, `certificate_version = opt 2`), and
//!    `http_request` is queried as the anonymous principal. `identity` is added to
//!    `Accept-Encoding` and `x-request-id` is dropped, as `ic-http-gateway` does.
//! 3. A reply with `upgrade = opt true` is repeated as the update `http_request_update`, and its
//!    reply is used (it is certified by the call's certificate, so it is not verified again).
//! 4. Unless the host is `.raw.`, the query reply is verified with `ic-response-verification`
//!    against the network's root key: the `IC-Certificate` header's certificate (signature, time
//!    within 5 minutes of now, the canister's `certified_data`) and, with response verification
//!    v2 (the only version accepted here), the status, body and certified headers. A response
//!    that fails is refused with 503 "Response Verification Error", as `ic-gateway` does. A
//!    verified response carries only its certified headers (plus `IC-Certificate`), also as the
//!    IC's gateways do.
//! 5. The canister's headers are passed on (`Content-Encoding` included: bodies are never
//!    decoded), except the framing headers (`Content-Length`, `Transfer-Encoding`,
//!    `Connection`), which the server sets itself.
//!
//! Streaming responses (`streaming_strategy`) are answered with 502: this gateway does not
//! fetch further chunks. Errors carry `x-ic-error-cause` with `ic-gateway`'s names, and are an
//! HTML page for browsers (`Accept: text/html`) and plain text otherwise.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use candid::{CandidType, Deserialize, Principal};
use localnet::{RejectCode, RejectResponse};
use serde_bytes::ByteBuf;

use crate::node::{now_nanos, Node, RequestStatus};

/// How far a certificate's time may be from now (what `ic-http-gateway` allows).
pub const MAX_CERT_TIME_OFFSET_NS: u128 = 5 * 60 * 1_000_000_000;
/// The response verification version asked for and required (v2 certifies status and headers).
pub const CERTIFICATE_VERSION: u16 = 2;
/// How long an upgraded request (`http_request_update`) may take.
pub const UPDATE_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest request body passed to a canister (the IC's ingress limit).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// The canister a request is for, from its Host header; `raw` for `<id>.raw.localhost`.
pub fn canister_from_host(req: &Request) -> Option<(Principal, bool)> {
    let host = req.headers().get("host")?.to_str().ok()?;
    let host = host.split(':').next()?;
    let (label, raw) = match host.strip_suffix(".raw.localhost") {
        Some(l) => (l, true),
        None => (host.strip_suffix(".localhost")?, false),
    };
    Principal::from_text(label).ok().map(|p| (p, raw))
}

/// `?canisterId=<id>` on a plain local host (`localhost`, `127.0.0.1`, `[::1]`), for paths that
/// are not the server's own (`/api/...`, `/instances...`, `/_/...`). Never raw.
pub fn canister_from_query(req: &Request) -> Option<Principal> {
    let host = req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    if !matches!(name, "localhost" | "127.0.0.1" | "::1") {
        return None;
    }
    let path = req.uri().path();
    if path.starts_with("/api/") || path.starts_with("/instances") || path.starts_with("/_/") {
        return None;
    }
    let query = req.uri().query()?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "canisterId").then(|| Principal::from_text(v).ok()).flatten()
    })
}

/// The canister and rawness of a gateway request: the host first, then `?canisterId=`.
/// `/api/...` is never the gateway's, whatever the host: as on the IC (where `ic-gateway`
/// serves `/api/v2|v3|v4/...` on canister domains too), a frontend served from
/// `<id>.localhost` reaches the IC HTTP interface on its own origin (agent-js's default host).
/// This is what `server::dispatch_by_host` should call.
pub fn canister_from_request(req: &Request) -> Option<(Principal, bool)> {
    if req.uri().path().starts_with("/api/") {
        return None;
    }
    canister_from_host(req).or_else(|| canister_from_query(req).map(|c| (c, false)))
}

// ------------------------------------------------------------------ Candid types

pub type HeaderField = (String, String);

/// `HttpRequest` of the HTTP gateway protocol.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<HeaderField>,
    pub body: ByteBuf,
    pub certificate_version: Option<u16>,
}

/// `HttpUpdateRequest`: the same without `certificate_version`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpUpdateRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<HeaderField>,
    pub body: ByteBuf,
}

/// `HttpResponse` (and, without `upgrade`, `HttpUpdateResponse`). The streaming strategy's type
/// is the canister's own (its token type varies), so it is only recognised, not decoded.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: Vec<HeaderField>,
    pub body: ByteBuf,
    #[serde(default)]
    pub upgrade: Option<bool>,
    #[serde(default)]
    pub streaming_strategy: Option<candid::Reserved>,
}

/// The gateway's view of a browser request: what the canister gets, and what verification uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayRequest {
    /// Sent to the canister (`Accept-Encoding` with `identity`, no `x-request-id`).
    pub candid: HttpRequest,
    /// The browser's headers as they came, for response verification (as ic-http-gateway does).
    pub original_headers: Vec<HeaderField>,
}

impl GatewayRequest {
    pub fn update(&self) -> HttpUpdateRequest {
        HttpUpdateRequest {
            method: self.candid.method.clone(),
            url: self.candid.url.clone(),
            headers: self.candid.headers.clone(),
            body: self.candid.body.clone(),
        }
    }

    fn for_verification(&self) -> ic_http_certification::HttpRequest<'static> {
        let method = ic_http_certification::Method::from_bytes(self.candid.method.as_bytes()).unwrap_or_default();
        ic_http_certification::HttpRequest::builder()
            .with_method(method)
            .with_url(self.candid.url.clone())
            .with_headers(self.original_headers.clone())
            .with_body(self.candid.body.to_vec())
            .build()
    }
}

/// Builds the Candid request from the browser's method, URI, headers and body.
pub fn build_request(method: &str, uri: &axum::http::Uri, headers: &HeaderMap, body: Vec<u8>) -> Result<GatewayRequest, GatewayError> {
    let mut url = uri.path().to_string();
    if url.is_empty() {
        url.push('/');
    }
    if let Some(q) = uri.query() {
        url.push('?');
        url.push_str(q);
    }
    let mut original = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let value = value.to_str().map_err(|_| {
            GatewayError::new(
                StatusCode::BAD_REQUEST,
                "client_malformed_request",
                "Malformed Request",
                "Your request was not correctly formed.",
                Some(format!("the value of header {name} is not visible ASCII")),
            )
        })?;
        original.push((name.as_str().to_string(), value.to_string()));
    }
    let sent = original
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("x-request-id"))
        .map(|(n, v)| {
            if n.eq_ignore_ascii_case("accept-encoding") {
                let mut encodings: Vec<&str> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
                if !encodings.iter().any(|e| e.eq_ignore_ascii_case("identity")) {
                    encodings.push("identity");
                }
                (n.clone(), encodings.join(", "))
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect();
    Ok(GatewayRequest {
        candid: HttpRequest {
            method: method.to_string(),
            url,
            headers: sent,
            body: ByteBuf::from(body),
            certificate_version: Some(CERTIFICATE_VERSION),
        },
        original_headers: original,
    })
}

// ------------------------------------------------------------------ errors

/// A response the gateway makes itself (the canister's answer could not be used).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayError {
    pub status: StatusCode,
    /// `x-ic-error-cause`, in ic-gateway's words.
    pub cause: &'static str,
    pub title: &'static str,
    pub description: String,
    pub details: Option<String>,
}

impl GatewayError {
    fn new(status: StatusCode, cause: &'static str, title: &'static str, description: impl Into<String>, details: Option<String>) -> Self {
        GatewayError { status, cause, title, description: description.into(), details }
    }

    /// A rejected call, mapped as ic-gateway maps it.
    pub fn from_reject(canister: Principal, r: &RejectResponse) -> Self {
        let details = Some(format!("reject code {}, error code {}: {}", r.reject_code as u8, r.error_code, r.reject_message));
        match r.reject_code {
            RejectCode::DestinationInvalid => GatewayError::new(
                StatusCode::NOT_FOUND,
                "canister_not_found",
                "Canister Not Found",
                format!("The requested canister ({canister}) does not exist on this network, or cannot take this request."),
                details,
            ),
            RejectCode::CanisterReject => GatewayError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "canister_reject",
                "Request Rejected",
                "The canister explicitly rejected the request.",
                details,
            ),
            RejectCode::CanisterError => GatewayError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "canister_error",
                "Canister Error",
                "The canister failed to process your request.",
                details,
            ),
            _ if r.reject_message.contains("frozen") || r.reject_message.contains("out of cycles") => GatewayError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "canister_frozen",
                "Canister Temporarily Unavailable",
                "The canister has run out of cycles.",
                details,
            ),
            _ => GatewayError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "backend_other",
                "Upstream Unavailable",
                "The network could not process the request.",
                details,
            ),
        }
    }

    fn bad_reply(details: String) -> Self {
        GatewayError::new(StatusCode::BAD_GATEWAY, "backend_http_gateway", "Invalid Canister Response", "The canister's reply is not a valid HTTP response.", Some(details))
    }

    fn verification(details: String) -> Self {
        GatewayError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "backend_response_verification",
            "Response Verification Error",
            "The response from the canister failed verification and cannot be trusted. If you understand the risks, you can retry using the raw domain (<canister-id>.raw.localhost) to bypass certification.",
            Some(details),
        )
    }

    fn internal(details: String) -> Self {
        GatewayError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_server_error", "Internal Gateway Error", "Something went wrong in the local network.", Some(details))
    }

    /// An HTML page for browsers, plain text for everything else.
    pub fn into_response(self, html: bool) -> Response {
        let (content_type, body) = if html {
            ("text/html; charset=utf-8", self.html())
        } else {
            let mut t = format!("{} {}: {}\n", self.status.as_u16(), self.title, self.description);
            if let Some(d) = &self.details {
                t.push_str(&format!("Details: {d}\n"));
            }
            ("text/plain; charset=utf-8", t)
        };
        Response::builder()
            .status(self.status)
            .header("content-type", content_type)
            .header("cache-control", "no-store")
            .header("x-ic-error-cause", self.cause)
            .body(Body::from(body))
            .expect("valid error response")
    }

    fn html(&self) -> String {
        let details = self
            .details
            .as_ref()
            .map(|d| format!("<h2>Details</h2>\n<pre id=\"details\">{}</pre>\n", escape_html(d)))
            .unwrap_or_default();
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code} {title}</title>\n\
             <style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;color:#222}}\
             h1{{color:#b00020}}pre{{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:1rem}}\
             .code{{color:#666}}</style></head>\n\
             <body><p class=\"code\">{code} · localnet HTTP gateway</p>\n<h1 id=\"title\">{title}</h1>\n\
             <p id=\"description\">{description}</p>\n{details}</body></html>\n",
            code = self.status.as_u16(),
            title = escape_html(self.title),
            description = escape_html(&self.description),
        )
    }
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers.get_all("accept").iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains("text/html"))
}

// ------------------------------------------------------------------ the handler

/// Serves one browser request for `canister` (see the module documentation).
pub async fn handle(node: Arc<Node>, canister: Principal, raw: bool, req: Request) -> Response {
    let html = wants_html(req.headers());
    match serve(node, canister, raw, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(html),
    }
}

async fn serve(node: Arc<Node>, canister: Principal, raw: bool, req: Request) -> Result<Response, GatewayError> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
        GatewayError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "client_body_too_large",
            "Payload too Large",
            format!("The request body is larger than {MAX_BODY} bytes, or could not be read."),
            Some(e.to_string()),
        )
    })?;
    let request = build_request(parts.method.as_str(), &parts.uri, &parts.headers, body.to_vec())?;

    let arg = candid::encode_one(&request.candid).map_err(|e| GatewayError::internal(format!("encoding the request: {e}")))?;
    let reply = node
        .run(move |e| {
            e.sync_time();
            e.net.query_call(canister, Principal::anonymous(), "http_request", arg)
        })
        .await
        .map_err(|e| GatewayError::internal(e.to_string()))?
        .map_err(|r| GatewayError::from_reject(canister, &r))?;
    let response: HttpResponse =
        candid::decode_one(&reply).map_err(|e| GatewayError::bad_reply(format!("http_request's reply does not decode as HttpResponse: {e}")))?;

    if response.upgrade == Some(true) {
        let response = update(&node, canister, &request).await?;
        return build_response(&response, None);
    }
    if response.streaming_strategy.is_some() {
        return Err(GatewayError::new(
            StatusCode::BAD_GATEWAY,
            "backend_http_gateway",
            "Streaming Not Supported",
            "The canister answered with a streaming strategy; the localnet gateway does not fetch streamed chunks. Serve the whole body in one response.",
            None,
        ));
    }
    if raw {
        return build_response(&response, None);
    }
    let verified = verify(&node, canister, &request, &response)?;
    build_response(&response, Some(verified))
}

/// Repeats the request as the update `http_request_update` and waits for its reply.
async fn update(node: &Node, canister: Principal, request: &GatewayRequest) -> Result<HttpResponse, GatewayError> {
    let arg = candid::encode_one(request.update()).map_err(|e| GatewayError::internal(format!("encoding the request: {e}")))?;
    let request_id: [u8; 32] = rand::random();
    let expiry = now_nanos() + 5 * 60 * 1_000_000_000;
    node.run(move |e| e.submit(request_id, Principal::anonymous(), canister, "http_request_update", arg, expiry))
        .await
        .map_err(|e| GatewayError::internal(e.to_string()))?
        .map_err(|r| GatewayError::from_reject(canister, &r))?;
    if !node.wait_for(request_id, UPDATE_TIMEOUT).await {
        return Err(GatewayError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "backend_timeout",
            "Gateway Timeout",
            format!("http_request_update did not complete within {} s.", UPDATE_TIMEOUT.as_secs()),
            None,
        ));
    }
    let status = node.run(move |e| e.request_status(&request_id)).await.map_err(|e| GatewayError::internal(e.to_string()))?;
    match status.map(|(_, s)| s) {
        Some(RequestStatus::Replied(reply)) => candid::decode_one(&reply)
            .map_err(|e| GatewayError::bad_reply(format!("http_request_update's reply does not decode as HttpUpdateResponse: {e}"))),
        Some(RequestStatus::Rejected(r)) => Err(GatewayError::from_reject(canister, &r)),
        other => Err(GatewayError::internal(format!("http_request_update ended without a reply ({other:?})"))),
    }
}

/// What verification let through: `None` when the canister certifiably skipped certification
/// (all its headers pass), else the certified headers.
type Verified = Option<Vec<HeaderField>>;

fn verify(node: &Node, canister: Principal, request: &GatewayRequest, response: &HttpResponse) -> Result<Verified, GatewayError> {
    let status = ic_http_certification::StatusCode::from_u16(response.status_code)
        .map_err(|_| GatewayError::bad_reply(format!("invalid status code {}", response.status_code)))?;
    let certified_response = ic_http_certification::HttpResponse::builder()
        .with_status_code(status)
        .with_headers(response.headers.clone())
        .with_body(response.body.to_vec())
        .build();
    let info = ic_response_verification::verify_request_response_pair(
        request.for_verification(),
        certified_response,
        canister.as_slice(),
        now_nanos() as u128,
        MAX_CERT_TIME_OFFSET_NS,
        node.keys().root_key_der(),
        CERTIFICATE_VERSION as u8,
    )
    .map_err(|e| GatewayError::verification(e.to_string()))?;
    Ok(info.response.map(|r| r.headers))
}

/// Headers the server sets itself: never copied from the canister.
fn is_framing_header(name: &str) -> bool {
    ["content-length", "transfer-encoding", "connection", "keep-alive"].iter().any(|h| name.eq_ignore_ascii_case(h))
}

fn build_response(response: &HttpResponse, verified: Option<Verified>) -> Result<Response, GatewayError> {
    let status = StatusCode::from_u16(response.status_code)
        .map_err(|_| GatewayError::bad_reply(format!("invalid status code {}", response.status_code)))?;
    let headers = match verified {
        Some(Some(certified)) => certified,
        _ => response.headers.clone(),
    };
    let mut builder = Response::builder().status(status);
    for (name, value) in &headers {
        if is_framing_header(name) {
            continue;
        }
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| GatewayError::bad_reply(format!("invalid header name {name:?}")))?;
        let value = HeaderValue::from_str(value).map_err(|_| GatewayError::bad_reply(format!("invalid value for header {name}")))?;
        builder = builder.header(name, value);
    }
    builder.body(Body::from(response.body.to_vec())).map_err(|e| GatewayError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(host: Option<&str>, uri: &str) -> Request {
        let mut b = axum::http::Request::builder().uri(uri);
        if let Some(h) = host {
            b = b.header("host", h);
        }
        b.body(Body::empty()).unwrap()
    }

    const ID: &str = "rrkah-fqaaa-aaaaa-aaaaq-cai";

    #[test]
    fn canister_hosts() {
        let id = Principal::from_text(ID).unwrap();
        assert_eq!(canister_from_host(&req(Some(&format!("{ID}.localhost:4943")), "/")), Some((id, false)));
        assert_eq!(canister_from_host(&req(Some(&format!("{ID}.localhost")), "/")), Some((id, false)));
        assert_eq!(canister_from_host(&req(Some(&format!("{ID}.raw.localhost:8080")), "/x")), Some((id, true)));
        assert_eq!(canister_from_host(&req(Some("localhost:4943"), "/")), None);
        assert_eq!(canister_from_host(&req(Some("not-a-principal.localhost"), "/")), None);
        assert_eq!(canister_from_host(&req(Some(&format!("{ID}.example.com")), "/")), None);
        assert_eq!(canister_from_host(&req(None, "/")), None);
    }

    #[test]
    fn canister_id_query_parameter() {
        let id = Principal::from_text(ID).unwrap();
        let q = format!("/index.html?a=1&canisterId={ID}");
        assert_eq!(canister_from_query(&req(Some("localhost:4943"), &q)), Some(id));
        assert_eq!(canister_from_query(&req(Some("127.0.0.1:4943"), &q)), Some(id));
        assert_eq!(canister_from_query(&req(Some("[::1]:4943"), &q)), Some(id));
        // The server's own routes keep their query strings.
        assert_eq!(canister_from_query(&req(Some("localhost"), &format!("/api/v2/status?canisterId={ID}"))), None);
        assert_eq!(canister_from_query(&req(Some("localhost"), &format!("/instances?canisterId={ID}"))), None);
        assert_eq!(canister_from_query(&req(Some("localhost"), "/index.html?canisterId=nope")), None);
        assert_eq!(canister_from_query(&req(Some("localhost"), "/index.html")), None);
        assert_eq!(canister_from_query(&req(Some("example.com"), &q)), None);
        // The host wins over the query parameter.
        let other = Principal::from_text("ryjl3-tyaaa-aaaaa-aaaba-cai").unwrap();
        assert_eq!(canister_from_request(&req(Some("ryjl3-tyaaa-aaaaa-aaaba-cai.raw.localhost"), &q)), Some((other, true)));
        assert_eq!(canister_from_request(&req(Some("localhost"), &q)), Some((id, false)));
        // The IC HTTP interface stays reachable on canister hosts.
        assert_eq!(canister_from_request(&req(Some(&format!("{ID}.localhost:4943")), "/api/v2/status")), None);
        assert_eq!(canister_from_request(&req(Some(&format!("{ID}.localhost")), "/apis")), Some((id, false)));
    }

    #[test]
    fn request_building() {
        let uri: axum::http::Uri = "/units/a%20b?x=1&y=%2F".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("accept", HeaderValue::from_static("text/html"));
        headers.insert("accept-encoding", HeaderValue::from_static("gzip, br"));
        headers.insert("x-request-id", HeaderValue::from_static("abc"));
        let r = build_request("POST", &uri, &headers, b"body".to_vec()).unwrap();
        assert_eq!(r.candid.method, "POST");
        assert_eq!(r.candid.url, "/units/a%20b?x=1&y=%2F");
        assert_eq!(r.candid.body.as_slice(), b"body");
        assert_eq!(r.candid.certificate_version, Some(2));
        assert_eq!(
            r.candid.headers,
            vec![("accept".to_string(), "text/html".to_string()), ("accept-encoding".to_string(), "gzip, br, identity".to_string())]
        );
        assert_eq!(r.original_headers.len(), 3);
        assert!(r.original_headers.contains(&("accept-encoding".to_string(), "gzip, br".to_string())));
        assert_eq!(
            r.update(),
            HttpUpdateRequest { method: "POST".into(), url: r.candid.url.clone(), headers: r.candid.headers.clone(), body: r.candid.body.clone() }
        );
        // Candid round trip with the protocol's field names.
        let bytes = candid::encode_one(&r.candid).unwrap();
        let back: HttpRequest = candid::decode_one(&bytes).unwrap();
        assert_eq!(back, r.candid);

        // An identity already present is not added twice; a root URL keeps its slash.
        let mut headers = HeaderMap::new();
        headers.insert("accept-encoding", HeaderValue::from_static("identity"));
        let r = build_request("GET", &"/".parse().unwrap(), &headers, vec![]).unwrap();
        assert_eq!(r.candid.headers, vec![("accept-encoding".to_string(), "identity".to_string())]);
        assert_eq!(r.candid.url, "/");

        // Header values that are not text are refused as a malformed request.
        let mut headers = HeaderMap::new();
        headers.insert("x-bin", HeaderValue::from_bytes(&[0xff, 0xfe]).unwrap());
        let e = build_request("GET", &"/".parse().unwrap(), &headers, vec![]).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn responses_decode_with_and_without_optional_fields() {
        #[derive(CandidType)]
        struct Minimal {
            status_code: u16,
            headers: Vec<HeaderField>,
            body: ByteBuf,
        }
        let r: HttpResponse = candid::decode_one(&candid::encode_one(Minimal { status_code: 200, headers: vec![], body: ByteBuf::from(b"x".to_vec()) }).unwrap()).unwrap();
        assert_eq!((r.status_code, r.upgrade, r.streaming_strategy.is_some()), (200, None, false));

        #[derive(CandidType)]
        struct Token {
            key: String,
            index: candid::Nat,
        }
        candid::define_function!(Callback : () -> () query);
        #[derive(CandidType)]
        enum Strategy {
            Callback { callback: Callback, token: Token },
        }
        #[derive(CandidType)]
        struct Streaming {
            status_code: u16,
            headers: Vec<HeaderField>,
            body: ByteBuf,
            upgrade: Option<bool>,
            streaming_strategy: Option<Strategy>,
        }
        let s = Streaming {
            status_code: 200,
            headers: vec![],
            body: ByteBuf::new(),
            upgrade: Some(false),
            streaming_strategy: Some(Strategy::Callback {
                callback: Callback::new(Principal::anonymous(), "next".into()),
                token: Token { key: "k".into(), index: 1u8.into() },
            }),
        };
        let r: HttpResponse = candid::decode_one(&candid::encode_one(s).unwrap()).unwrap();
        assert_eq!((r.upgrade, r.streaming_strategy.is_some()), (Some(false), true));
    }

    #[test]
    fn response_headers_pass_except_framing() {
        let r = HttpResponse {
            status_code: 404,
            headers: vec![
                ("Content-Type".into(), "text/html".into()),
                ("Content-Encoding".into(), "gzip".into()),
                ("Content-Length".into(), "999".into()),
                ("Transfer-Encoding".into(), "chunked".into()),
            ],
            body: ByteBuf::from(b"abc".to_vec()),
            upgrade: None,
            streaming_strategy: None,
        };
        let resp = build_response(&r, None).unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(resp.headers().get("content-type").unwrap(), "text/html");
        assert_eq!(resp.headers().get("content-encoding").unwrap(), "gzip");
        assert!(resp.headers().get("content-length").is_none());
        assert!(resp.headers().get("transfer-encoding").is_none());
        // A verified response keeps only its certified headers.
        let resp = build_response(&r, Some(Some(vec![("Content-Type".into(), "text/html".into())]))).unwrap();
        assert_eq!(resp.headers().len(), 1);
        // A status that is not HTTP is a bad reply.
        let bad = HttpResponse { status_code: 1000, ..r };
        assert_eq!(build_response(&bad, None).unwrap_err().status, StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn error_pages() {
        let e = GatewayError::verification("InvalidResponseHashes <script>".into());
        let r = e.clone().into_response(true);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers().get("x-ic-error-cause").unwrap(), "backend_response_verification");
        assert!(r.headers().get("content-type").unwrap().to_str().unwrap().starts_with("text/html"));
        assert!(e.html().contains("Response Verification Error"));
        assert!(e.html().contains("&lt;script&gt;"));
        let r = e.into_response(false);
        assert!(r.headers().get("content-type").unwrap().to_str().unwrap().starts_with("text/plain"));

        let id = Principal::from_text(ID).unwrap();
        let nf = GatewayError::from_reject(id, &RejectResponse::new(localnet::ErrorCode::CanisterNotFound, "Canister x not found"));
        assert_eq!((nf.status, nf.cause), (StatusCode::NOT_FOUND, "canister_not_found"));
        let trap = GatewayError::from_reject(id, &RejectResponse::new(localnet::ErrorCode::CanisterCalledTrap, "boom"));
        assert_eq!((trap.status, trap.cause), (StatusCode::SERVICE_UNAVAILABLE, "canister_error"));
    }
}
