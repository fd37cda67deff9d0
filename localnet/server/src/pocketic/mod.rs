//! The PocketIC server REST API: what the `pocket-ic` crate (16.x) speaks, over localnet
//! networks, so tests written with `PocketIc` / `PocketIcBuilder` run here unchanged
//! (`POCKET_IC_BIN=target/debug/localnet`, or `PocketIcBuilder::with_server_binary`).
//!
//! - Start-up as the crate expects ([`run_server`]): `--port-file` created exclusively (a
//!   second server for the same file exits at once), `<port>\n` written once listening, the
//!   file removed at exit; exit after `--ttl` idle seconds (60 by default) or on SIGINT/SIGTERM.
//! - Every instance is one application subnet: a [`Node`] with keys of its own, whose subnet id
//!   is the root key's self-authenticating principal and whose one canister range covers every
//!   id localnet makes ([`instances`]).
//! - Ingress, queries, rounds, time, cycles, stable memory get/set and the management canister
//!   ([`calls`]); the JSON shapes are the crate's own types (`pocket_ic::common::rest`), so they
//!   match exactly.
//! - Every endpoint of the crate that localnet does not provide answers a `{"message"}` error
//!   naming it (the crate panics with that message): never a hang, never a bare 404.
//!
//! Each request runs synchronously and answers 200 (never 202 "started", never 409 "busy"):
//! a network runs one job at a time on its own thread, as a PocketIC instance runs one
//! operation at a time.

mod calls;
mod convert;
mod instances;
mod startup;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use pocket_ic::common::rest::CanisterCyclesCostSchedule;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::node::{Node, RequestId};
use crate::server::AppState;

pub use startup::{report_start_failure, run_server, run_server_with, DEFAULT_TTL_SECS};

/// What the PocketIC API keeps beside the instances of [`AppState`].
#[derive(Default)]
pub(crate) struct PocketIcState {
    /// Per instance, created when the instance is (or, for an instance this API did not create,
    /// such as `localnet serve`'s, on first use).
    instances: Mutex<HashMap<usize, InstanceMeta>>,
    /// Message ids handed out (they are request ids of the node, see [`calls`]).
    next_message: AtomicU64,
    /// Ingress messages that are `canister_status` calls to the management canister: their
    /// reply is converted to the newer Candid type the crate decodes (see [`convert`]).
    status_calls: Mutex<HashSet<RequestId>>,
    /// `/blobstore`: blobs by the hex of their SHA-256, with whether they are gzipped.
    blobs: Mutex<HashMap<String, (Vec<u8>, bool)>>,
}

/// What an instance was created with, as its topology reports it.
#[derive(Clone, Debug)]
pub(crate) struct InstanceMeta {
    pub cost_schedule: CanisterCyclesCostSchedule,
}

impl Default for InstanceMeta {
    fn default() -> Self {
        InstanceMeta { cost_schedule: CanisterCyclesCostSchedule::Normal }
    }
}

impl PocketIcState {
    fn meta(&self, id: usize) -> InstanceMeta {
        self.instances.lock().expect("lock").get(&id).cloned().unwrap_or_default()
    }
}

pub(crate) type Pic = Extension<Arc<PocketIcState>>;

/// The PocketIC routes (merged into the server's router by [`crate::server::router`]).
///
/// `/instances/{instance}/api/...` (the IC HTTP interface of one instance) is not here: the HTTP
/// interface module serves it.
pub fn routes() -> Router<Arc<AppState>> {
    let pic = Arc::new(PocketIcState::default());
    let unsupported_instance = |what: &'static str| {
        post(move || async move { unsupported(what) }).get(move || async move { unsupported(what) })
    };
    Router::new()
        .route("/status", get(|| async { StatusCode::OK }))
        .route("/blobstore", post(instances::blob_store))
        .route("/blobstore/", post(instances::blob_store))
        .route("/blobstore/{id}", get(instances::blob_fetch))
        .route("/instances", get(instances::list).post(instances::create))
        .route("/instances/", get(instances::list).post(instances::create))
        .route("/instances/{instance}", delete(instances::delete))
        .route("/instances/{instance}/", delete(instances::delete))
        .route("/instances/{instance}/read/topology", get(instances::topology))
        .route("/instances/{instance}/_/topology", get(instances::topology))
        .route("/instances/{instance}/read/get_time", get(calls::get_time))
        .route("/instances/{instance}/update/set_time", post(calls::set_time))
        .route("/instances/{instance}/update/set_certified_time", post(calls::set_time))
        .route("/instances/{instance}/update/tick", post(calls::tick))
        .route("/instances/{instance}/read/get_cycles", post(calls::get_cycles))
        .route("/instances/{instance}/update/add_cycles", post(calls::add_cycles))
        .route("/instances/{instance}/read/get_controllers", post(calls::get_controllers))
        .route("/instances/{instance}/read/get_subnet", post(calls::get_subnet))
        .route("/instances/{instance}/read/pub_key", post(calls::pub_key))
        .route("/instances/{instance}/update/submit_ingress_message", post(calls::submit))
        .route("/instances/{instance}/update/await_ingress_message", post(calls::await_message))
        .route("/instances/{instance}/read/ingress_status", post(calls::ingress_status))
        .route("/instances/{instance}/read/query", post(calls::query))
        .route("/instances/{instance}/auto_progress", post(calls::auto_progress).get(calls::auto_progress_enabled))
        .route("/instances/{instance}/stop_progress", post(calls::stop_progress))
        .route("/instances/{instance}/read/get_stable_memory", post(calls::get_stable_memory))
        .route("/instances/{instance}/update/set_stable_memory", post(calls::set_stable_memory))
        // What the crate can call and localnet does not provide: a clear error each.
        .route(
            "/instances/{instance}/read/get_canister_http",
            unsupported_instance("read/get_canister_http (PocketIc::get_canister_http): localnet has no HTTP outcalls"),
        )
        .route(
            "/instances/{instance}/update/mock_canister_http",
            unsupported_instance("update/mock_canister_http (PocketIc::mock_canister_http_response): localnet has no HTTP outcalls"),
        )
        .route(
            "/instances/{instance}/update/mock_flexible_canister_http",
            unsupported_instance("update/mock_flexible_canister_http (PocketIc::mock_flexible_canister_http_response): localnet has no HTTP outcalls"),
        )
        .route(
            "/instances/{instance}/update/canister_snapshot_download",
            unsupported_instance("update/canister_snapshot_download (PocketIc::canister_snapshot_download): snapshots stay inside the localnet engine (take/load/list/delete_canister_snapshot work)"),
        )
        .route(
            "/instances/{instance}/update/canister_snapshot_upload",
            unsupported_instance("update/canister_snapshot_upload (PocketIc::canister_snapshot_upload): snapshots stay inside the localnet engine (take/load/list/delete_canister_snapshot work)"),
        )
        .route(
            "/instances/{instance}/update/delete_subnet",
            unsupported_instance("update/delete_subnet (PocketIc::delete_subnet): a localnet instance is one application subnet"),
        )
        .route(
            "/instances/{instance}/update/execute_ingress_message",
            unsupported_instance("update/execute_ingress_message (a pre-16 pocket-ic client): use submit_ingress_message + await_ingress_message"),
        )
        .route(
            "/instances/{instance}/_/dashboard",
            unsupported_instance("the instance dashboard (/_/dashboard)"),
        )
        .route("/http_gateway", post(instances::http_gateway))
        .route("/http_gateway/", post(instances::http_gateway))
        .route(
            "/http_gateway/{gateway}/stop",
            post(|| async { unsupported("http_gateway/{id}/stop: localnet's PocketIC server starts no HTTP gateways") }),
        )
        .route(
            "/verify_signature",
            post(|| async { unsupported("verify_signature (PocketIc::verify_canister_signature): canister signatures are not verified by localnet") }),
        )
        .route(
            "/read_graph/{label}/{op}",
            get(|| async { unsupported("read_graph: localnet's PocketIC server answers every request at once and never hands out operation ids") }),
        )
        .route(
            "/prune_graph/{label}/{op}",
            delete(|| async { unsupported("prune_graph: localnet's PocketIC server answers every request at once and never hands out operation ids") }),
        )
        .layer(Extension(pic))
}

// ------------------------------------------------------------------ responses

/// `{"message": ...}`, the error body the crate shows.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "message": message.into() }))).into_response()
}

pub(crate) fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

fn unsupported(what: &str) -> Response {
    error(StatusCode::NOT_IMPLEMENTED, format!("localnet's PocketIC server does not support {what}"))
}

pub(crate) fn ok<T: Serialize>(value: T) -> Response {
    (StatusCode::OK, Json(value)).into_response()
}

/// Parses a JSON body with the crate's types; a body that does not parse is a clear 400.
pub(crate) fn parse<T: DeserializeOwned>(endpoint: &str, body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        bad_request(format!(
            "{endpoint}: the request body is not the JSON this endpoint takes ({e}); localnet speaks the REST API of pocket-ic 16.x"
        ))
    })
}

/// The instance named in the path, or a 404 that says so.
pub(crate) fn instance(state: &AppState, id: &str) -> Result<(usize, Arc<Node>), Response> {
    let n: usize = id.parse().map_err(|_| bad_request(format!("{id:?} is not an instance id")))?;
    state
        .instance(n)
        .map(|node| (n, node))
        .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("Instance {n} does not exist (it was deleted or never created)")))
}

/// A job on the instance's network thread; a network that is gone is a clear error.
pub(crate) async fn run<R: Send + 'static>(
    node: &Node,
    f: impl FnOnce(&mut crate::node::Engine) -> R + Send + 'static,
) -> Result<R, Response> {
    node.run(f).await.map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("The instance's network failed: {e}")))
}
