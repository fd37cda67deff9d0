//! The HTTP server: one listener for the IC HTTP interface (`/api/...`), the HTTP gateway
//! (`<canister-id>.localhost`, `<canister-id>.raw.localhost`) and the PocketIC REST API
//! (`/instances/...`). Each network ("instance") is a [`Node`] on a thread of its own.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::node::Node;

/// The IC's ingress limit, plus room for the envelope around the payload.
pub const MAX_REQUEST_BODY: usize = 4 * 1024 * 1024;

/// Everything the handlers share.
pub struct AppState {
    instances: RwLock<BTreeMap<usize, Option<Arc<Node>>>>,
    next_instance: AtomicUsize,
    /// The instance `/api/...` and the gateway serve (`localnet serve` makes instance 0).
    pub default_instance: RwLock<Option<usize>>,
}

impl AppState {
    pub fn new() -> Arc<AppState> {
        Arc::new(AppState {
            instances: RwLock::new(BTreeMap::new()),
            next_instance: AtomicUsize::new(0),
            default_instance: RwLock::new(None),
        })
    }

    /// Adds a network; returns its instance id (ids are never reused).
    pub fn add_instance(&self, node: Node) -> usize {
        let id = self.next_instance.fetch_add(1, Ordering::SeqCst);
        self.instances.write().expect("lock").insert(id, Some(Arc::new(node)));
        id
    }

    pub fn instance(&self, id: usize) -> Option<Arc<Node>> {
        self.instances.read().expect("lock").get(&id).cloned().flatten()
    }

    /// Ids of all instances ever made, with whether each is still there (deleted ones are `None`).
    pub fn instance_ids(&self) -> Vec<(usize, bool)> {
        self.instances.read().expect("lock").iter().map(|(k, v)| (*k, v.is_some())).collect()
    }

    /// Removes an instance and shuts its network down (saving its state if it has a state dir).
    pub fn delete_instance(&self, id: usize) -> bool {
        let node = self.instances.write().expect("lock").get_mut(&id).and_then(|slot| slot.take());
        match node {
            Some(n) => {
                n.shutdown();
                true
            }
            None => false,
        }
    }

    pub fn default_node(&self) -> Option<Arc<Node>> {
        let id = (*self.default_instance.read().expect("lock"))?;
        self.instance(id)
    }

    /// Shuts every network down (each saves its state if it has a state dir).
    pub fn shutdown_all(&self) {
        let ids: Vec<usize> = self.instance_ids().into_iter().map(|(id, _)| id).collect();
        for id in ids {
            self.delete_instance(id);
        }
    }
}

/// The whole application.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(crate::http_api::routes())
        .merge(crate::pocketic::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), dispatch_by_host))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// `<canister-id>.localhost` and `<canister-id>.raw.localhost` go to the gateway, whatever the
/// path; every other host name is served by the routes.
async fn dispatch_by_host(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some((canister, raw)) = crate::gateway::canister_from_request(&req) {
        return match state.default_node() {
            Some(node) => crate::gateway::handle(node, canister, raw, req).await,
            None => text(StatusCode::SERVICE_UNAVAILABLE, "this server runs no network for the gateway to serve"),
        };
    }
    if is_api_path(req.uri().path()) {
        return with_cors(req, next).await;
    }
    next.run(req).await
}

fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/") || (path.starts_with("/instances/") && path.contains("/api/"))
}

/// Agents in web pages call `/api` from another origin (`<id>.localhost`, a dev server), so
/// the interface answers CORS preflights and allows any origin, as the IC's gateways do.
async fn with_cors(req: Request, next: Next) -> Response {
    use axum::http::{header, HeaderValue, Method};
    if req.method() == Method::OPTIONS {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NO_CONTENT;
        let h = r.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, HEAD, OPTIONS"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("*"));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("7200"));
        return r;
    }
    let mut r = next.run(req).await;
    r.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    r.headers_mut().insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("*"));
    r
}

/// A plain-text response, how the replica answers requests it cannot take.
pub fn text(status: StatusCode, message: impl Into<String>) -> Response {
    (status, [("content-type", "text/plain; charset=utf-8")], message.into()).into_response()
}

pub fn cbor_response(status: StatusCode, body: Vec<u8>) -> Response {
    Response::builder().status(status).header("content-type", "application/cbor").body(Body::from(body)).expect("valid response")
}
