//! The IC HTTP interface (interface spec, "HTTPS Interface"), what agents and icp-cli speak:
//! `GET /api/v2/status`; `POST /api/{v2,v3,v4}/canister/<ecid>/call` (v2: 202 and poll; v3/v4:
//! wait for the outcome and answer a certificate); `POST /api/{v2,v3}/canister/<ecid>/query`
//! (replies signed by the node key); `POST /api/{v2,v3}/{canister,subnet}/<id>/read_state`
//! (certificates signed by the root key). The same routes serve PocketIC instances under
//! `/instances/<n>/api/...`.

pub mod auth;
pub mod envelope;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use candid::Principal;
use ic_transport_types::{EnvelopeContent, NodeSignature, QueryResponse, RejectCode, RejectResponse as TransportReject, ReplyResponse};
use localnet::RejectResponse;
use serde::Serialize;

use crate::node::{now_nanos, Engine, Node};
use crate::server::{cbor_response, text, AppState, MAX_REQUEST_BODY};
use crate::state_tree::{self_describing_cbor, Path as TreePath};
use envelope::Request;

/// How long a synchronous call (v3/v4) waits for its outcome before answering 202.
const SYNC_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest ingress message the IC accepts (method name + argument).
const MAX_INGRESS_BYTES: usize = 2 * 1024 * 1024;

/// An HTTP-level refusal: the status and the replica's message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(m: impl Into<String>) -> Self {
        ApiError { status: StatusCode::BAD_REQUEST, message: m.into() }
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        ApiError { status: StatusCode::FORBIDDEN, message: m.into() }
    }
    fn not_found(m: impl Into<String>) -> Self {
        ApiError { status: StatusCode::NOT_FOUND, message: m.into() }
    }
    fn unavailable(m: impl Into<String>) -> Self {
        ApiError { status: StatusCode::SERVICE_UNAVAILABLE, message: m.into() }
    }
    fn into_response(self) -> Response {
        text(self.status, self.message)
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v2/status", get(status))
        .route("/api/{version}/{kind}/{id}/{endpoint}", post(endpoint))
        .route("/instances/{instance}/api/v2/status", get(instance_status))
        .route("/instances/{instance}/api/{version}/{kind}/{id}/{endpoint}", post(instance_endpoint))
}

#[derive(Serialize)]
struct Status<'a> {
    impl_version: &'a str,
    #[serde(with = "serde_bytes")]
    root_key: &'a [u8],
    replica_health_status: &'a str,
    certified_height: u64,
}

async fn status(State(state): State<Arc<AppState>>) -> Response {
    match state.default_node() {
        Some(node) => status_of(node).await,
        None => text(StatusCode::NOT_FOUND, "this server runs no default network; use /instances/<n>/api/v2/status"),
    }
}

async fn instance_status(State(state): State<Arc<AppState>>, Path(instance): Path<usize>) -> Response {
    match state.instance(instance) {
        Some(node) => status_of(node).await,
        None => text(StatusCode::NOT_FOUND, format!("Instance {instance} not found")),
    }
}

async fn status_of(node: Arc<Node>) -> Response {
    let height = node.run(|e| e.net.round()).await.unwrap_or(0);
    let body = self_describing_cbor(&Status {
        impl_version: concat!("localnet-", env!("CARGO_PKG_VERSION")),
        root_key: node.keys().root_key_der(),
        replica_health_status: "healthy",
        certified_height: height,
    });
    cbor_response(StatusCode::OK, body)
}

async fn endpoint(State(state): State<Arc<AppState>>, Path(p): Path<(String, String, String, String)>, body: Bytes) -> Response {
    match state.default_node() {
        Some(node) => serve(node, p, body).await,
        None => text(StatusCode::NOT_FOUND, "this server runs no default network; use /instances/<n>/api/..."),
    }
}

async fn instance_endpoint(
    State(state): State<Arc<AppState>>,
    Path((instance, version, kind, id, ep)): Path<(usize, String, String, String, String)>,
    body: Bytes,
) -> Response {
    match state.instance(instance) {
        Some(node) => serve(node, (version, kind, id, ep), body).await,
        None => text(StatusCode::NOT_FOUND, format!("Instance {instance} not found")),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Route {
    Canister,
    Subnet,
}

async fn serve(node: Arc<Node>, (version, kind, id, ep): (String, String, String, String), body: Bytes) -> Response {
    let route = match kind.as_str() {
        "canister" => Route::Canister,
        "subnet" => Route::Subnet,
        _ => return ApiError::not_found(format!("unknown route /api/{version}/{kind}")).into_response(),
    };
    let Ok(effective) = Principal::from_text(&id) else {
        return ApiError::bad_request(format!("Could not parse the {kind} id {id:?} in the URL as a principal")).into_response();
    };
    if body.len() > MAX_REQUEST_BODY {
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Payload Too Large: the request body is {} bytes, more than the limit of {MAX_REQUEST_BODY} bytes", body.len()),
        );
    }
    let result = match (version.as_str(), ep.as_str()) {
        ("v2", "call") => call(node, route, effective, &body, false).await,
        ("v3" | "v4", "call") => call(node, route, effective, &body, true).await,
        ("v2" | "v3", "query") => query(node, route, effective, &body).await,
        ("v2" | "v3", "read_state") => read_state(node, route, effective, &body).await,
        _ => Err(ApiError::not_found(format!("no endpoint /api/{version}/{kind}/<id>/{ep}"))),
    };
    result.unwrap_or_else(ApiError::into_response)
}

/// Decoding, expiry and authentication, shared by every endpoint. Also answers the request's
/// expiry in the network's time.
///
/// The expiry is checked against the network's clock, as on the IC. A network whose time was
/// jumped ahead (simulated days: `Engine::advance_clock`) also accepts an expiry within the
/// window of the wall clock, shifted by the jump: clients that take their time from the
/// computer's clock (ic-agent, icp-cli) keep working on it.
async fn accept(node: &Node, body: &[u8], what: &str) -> Result<(Request, auth::Authorized, u64), ApiError> {
    let req = envelope::decode(body, what)?;
    let now = node.run(|e| {
        e.sync_time();
        e.net.get_time_nanos()
    })
    .await
    .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let expiry = req.content.ingress_expiry();
    let expiry = match envelope::check_expiry(expiry, now) {
        Ok(()) => expiry,
        Err(e) => {
            let wall = crate::node::wall_clock_nanos();
            if now > wall && envelope::check_expiry(expiry, wall).is_ok() {
                expiry.saturating_add(now - wall)
            } else {
                return Err(e);
            }
        }
    };
    let authorized = auth::authenticate(&req, now)?;
    Ok((req, authorized, expiry))
}

/// The canister a call or query is for must be the one in the URL (for the management canister:
/// the canister its argument names; `provisional_create_canister_with_cycles` may go anywhere).
fn check_effective(route: Route, effective: Principal, canister: Principal, method: &str, arg: &[u8]) -> Result<(), ApiError> {
    if canister != Principal::management_canister() {
        if route == Route::Canister && canister != effective {
            return Err(ApiError::bad_request(format!(
                "Specified CanisterId {canister} does not match effective canister id in URL {effective}"
            )));
        }
        return Ok(());
    }
    if matches!(method, "provisional_create_canister_with_cycles" | "create_canister" | "raw_rand") {
        return Ok(());
    }
    #[derive(candid::Deserialize, candid::CandidType)]
    struct Target {
        canister_id: Option<Principal>,
        target_canister: Option<Principal>,
    }
    let named = candid::decode_one::<Target>(arg).ok().and_then(|t| t.canister_id.or(t.target_canister));
    match named {
        Some(c) if route == Route::Canister && c != effective => Err(ApiError::bad_request(format!(
            "Specified CanisterId {c} does not match effective canister id in URL {effective}"
        ))),
        _ => Ok(()),
    }
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum CallReply {
    Replied {
        #[serde(with = "serde_bytes")]
        certificate: Vec<u8>,
    },
    NonReplicatedRejection(TransportReject),
}

fn transport_reject(r: &RejectResponse) -> TransportReject {
    TransportReject {
        reject_code: RejectCode::try_from(r.reject_code as u64).unwrap_or(RejectCode::SysFatal),
        reject_message: r.reject_message.clone(),
        error_code: Some(r.error_code.to_string()),
    }
}

async fn call(node: Arc<Node>, route: Route, effective: Principal, body: &[u8], sync: bool) -> Result<Response, ApiError> {
    let (req, authorized, ingress_expiry) = accept(&node, body, "call message").await?;
    let EnvelopeContent::Call { canister_id, method_name, arg, .. } = req.content.clone() else {
        return Err(ApiError::bad_request("Could not parse body as call message: the request_type is not \"call\""));
    };
    authorized.check_target(&canister_id)?;
    authorized.check_may_call()?;
    check_effective(route, effective, canister_id, &method_name, &arg)?;
    if arg.len() + method_name.len() > MAX_INGRESS_BYTES {
        return Err(ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!(
                "Request {} is too large: the message is {} bytes, more than the ingress limit of {MAX_INGRESS_BYTES} bytes",
                hex::encode(req.request_id),
                arg.len() + method_name.len()
            ),
        });
    }
    let rid = req.request_id;
    let sender = req.sender();
    let submitted = node
        .run(move |e| e.submit(rid, sender, canister_id, &method_name, arg, ingress_expiry))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    if let Err(reject) = submitted {
        let body = self_describing_cbor(&CallReply::NonReplicatedRejection(transport_reject(&reject)));
        return Ok(cbor_response(StatusCode::OK, body));
    }
    if !sync || !node.wait_for(rid, SYNC_CALL_TIMEOUT).await {
        return Ok(cbor_response(StatusCode::ACCEPTED, Vec::new()));
    }
    let certificate = node
        .run(move |e| e.certify(&[vec![b"request_status".to_vec(), rid.to_vec()]]))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(cbor_response(StatusCode::OK, self_describing_cbor(&CallReply::Replied { certificate })))
}

async fn query(node: Arc<Node>, route: Route, effective: Principal, body: &[u8]) -> Result<Response, ApiError> {
    let (req, authorized, _) = accept(&node, body, "query").await?;
    let EnvelopeContent::Query { canister_id, method_name, arg, .. } = req.content.clone() else {
        return Err(ApiError::bad_request("Could not parse body as query: the request_type is not \"query\""));
    };
    authorized.check_target(&canister_id)?;
    check_effective(route, effective, canister_id, &method_name, &arg)?;
    let sender = req.sender();
    let result = node
        .run(move |e: &mut Engine| {
            e.sync_time();
            e.net.query_call(canister_id, sender, &method_name, arg)
        })
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let mut response = match result {
        Ok(reply) => QueryResponse::Replied { reply: ReplyResponse { arg: reply }, signatures: vec![] },
        Err(reject) => QueryResponse::Rejected { reject: transport_reject(&reject), signatures: vec![] },
    };
    let timestamp = now_nanos();
    let signature = node.keys().node_sign(&response.signable(ic_transport_types::RequestId::new(&req.request_id), timestamp));
    let sig = NodeSignature { timestamp, signature, identity: node.keys().node_id() };
    match &mut response {
        QueryResponse::Replied { signatures, .. } | QueryResponse::Rejected { signatures, .. } => signatures.push(sig),
    }
    Ok(cbor_response(StatusCode::OK, self_describing_cbor(&response)))
}

#[derive(Serialize)]
struct ReadStateReply {
    #[serde(with = "serde_bytes")]
    certificate: Vec<u8>,
}

async fn read_state(node: Arc<Node>, route: Route, effective: Principal, body: &[u8]) -> Result<Response, ApiError> {
    let (req, _, _) = accept(&node, body, "read_state request").await?;
    let EnvelopeContent::ReadState { paths, .. } = &req.content else {
        return Err(ApiError::bad_request("Could not parse body as read_state request: the request_type is not \"read_state\""));
    };
    let paths: Vec<TreePath> = paths.iter().map(|p| p.iter().map(|l| l.as_bytes().to_vec()).collect()).collect();
    let sender = req.sender();
    let certificate = node
        .run(move |e: &mut Engine| -> Result<Vec<u8>, ApiError> {
            e.sync_time();
            check_paths(e, route, effective, sender, &paths)?;
            Ok(e.certify(&paths))
        })
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))??;
    Ok(cbor_response(StatusCode::OK, self_describing_cbor(&ReadStateReply { certificate })))
}

/// The spec's rules for what a read_state may ask: only its own requests' statuses, only the
/// effective canister's `canister/...` entries, only its own subnet's `subnet/...` entries,
/// and only the metadata it may see.
fn check_paths(e: &mut Engine, route: Route, effective: Principal, sender: Principal, paths: &[TreePath]) -> Result<(), ApiError> {
    for path in paths {
        let Some(first) = path.first() else { continue };
        match first.as_slice() {
            b"time" => {}
            b"request_status" => {
                if let Some(rid) = path.get(1) {
                    let rid: Result<[u8; 32], _> = rid.as_slice().try_into();
                    let Ok(rid) = rid else {
                        return Err(ApiError::bad_request("A request_status path needs a 32-byte request id"));
                    };
                    if let Some((owner, _)) = e.request_status(&rid) {
                        if owner != sender {
                            return Err(ApiError::forbidden(format!(
                                "Request IDs must be for requests signed by the caller: request 0x{} was not sent by {sender}",
                                hex::encode(rid)
                            )));
                        }
                    }
                }
            }
            b"canister" => {
                let Some(cid) = path.get(1) else {
                    return Err(ApiError::bad_request("A canister path must name a canister"));
                };
                let cid = Principal::try_from_slice(cid).map_err(|_| ApiError::bad_request("A canister path must name a canister"))?;
                if route == Route::Canister && cid != effective {
                    return Err(ApiError::bad_request(format!(
                        "Effective principal {effective} does not match the canister {cid} in the requested path"
                    )));
                }
                if path.get(2).map(|l| l.as_slice()) == Some(b"metadata") {
                    if let Some(name) = path.get(3) {
                        let name = String::from_utf8_lossy(name).to_string();
                        if let Some((public, _)) = e.net.canister_metadata_section(cid, &name) {
                            if !public && !e.net.get_controllers(cid).contains(&sender) {
                                return Err(ApiError::forbidden(format!(
                                    "Custom section {name} can only be requested by the controllers of the canister."
                                )));
                            }
                        }
                    }
                }
            }
            b"subnet" => {
                if route == Route::Subnet && path.get(1).is_some_and(|s| s.as_slice() != effective.as_slice()) {
                    return Err(ApiError::bad_request("Effective subnet id in the URL does not match the subnet in the requested path"));
                }
            }
            other => {
                return Err(ApiError::not_found(format!(
                    "Invalid path requested: the state tree has no {:?} subtree",
                    String::from_utf8_lossy(other)
                )))
            }
        }
    }
    Ok(())
}
