//! One instance's calls, rounds, time and cycles (`/instances/{id}/read/...`,
//! `/instances/{id}/update/...`, `auto_progress`, `stop_progress`).
//!
//! Ingress goes through the node's request tracking ([`Engine::submit`]), under a 32-byte
//! message id made here: its status is then the node's (`read/ingress_status`, and `read_state`
//! of the instance's HTTP interface), and a live instance finishes it by itself. Management
//! canister calls are ingress to `aaaaa-aa` like any other; the engine answers them.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use candid::Principal;
use pocket_ic::common::rest::{
    AutoProgressConfig, RawAddCycles, RawCanisterCall, RawCanisterId, RawCanisterResult, RawCycles,
    RawEffectivePrincipal, RawIngressStatusArgs, RawMessageId, RawPrincipalId, RawSetStableMemory, RawStableMemory,
    RawSubnetId, RawTickConfigs, RawTime,
};
use pocket_ic::ErrorCode;
use sha2::{Digest, Sha256};

use super::convert::{self, reject, reject_here};
use super::{bad_request, error, instance, ok, parse, run, Pic, PocketIcState};
use crate::node::{Engine, RequestId, RequestStatus};
use crate::server::AppState;

/// How long a submitted message's status is kept once final, in the network's time (the IC's
/// maximum ingress expiry); live instances forget it some minutes after that.
const MESSAGE_EXPIRY_NS: u64 = 5 * 60 * 1_000_000_000;
/// How long `await_ingress_message` waits on a live instance (the crate's own request timeout).
const LIVE_AWAIT_TIMEOUT: Duration = Duration::from_secs(300);

macro_rules! try_resp {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

fn principal(what: &str, bytes: &[u8]) -> Result<Principal, Response> {
    Principal::try_from_slice(bytes).map_err(|e| bad_request(format!("{what} is not a principal: {e}")))
}

fn canister_arg(endpoint: &str, body: &Bytes) -> Result<Principal, Response> {
    let raw: RawCanisterId = parse(endpoint, body)?;
    principal("canister_id", &raw.canister_id)
}

fn not_found(canister: Principal) -> Response {
    bad_request(format!("CanisterNotFound: canister {canister} does not exist on this instance"))
}

// ------------------------------------------------------------------ time and rounds

/// `GET read/get_time`.
pub async fn get_time(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    let nanos = try_resp!(run(&node, |e| e.net.get_time_nanos()).await);
    ok(RawTime { nanos_since_epoch: nanos })
}

/// `POST update/set_time` and `update/set_certified_time` (one clock here: the certified
/// time is the time). Time never goes back.
pub async fn set_time(State(state): State<Arc<AppState>>, Path(id): Path<String>, body: Bytes) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    let t: RawTime = try_resp!(parse("update/set_time", &body));
    let r = try_resp!(
        run(&node, move |e| {
            let now = e.net.get_time_nanos();
            if t.nanos_since_epoch < now {
                return Err(format!(
                    "SettingTimeIntoPast: the instance's time is {now} ns since the epoch; it cannot be set back to {}",
                    t.nanos_since_epoch
                ));
            }
            e.net.set_time(UNIX_EPOCH + Duration::from_nanos(t.nanos_since_epoch));
            Ok(())
        })
        .await
    );
    match r {
        Ok(()) => ok(()),
        Err(m) => bad_request(m),
    }
}

/// `POST update/tick`: one round (block makers are not modelled and are ignored).
pub async fn tick(State(state): State<Arc<AppState>>, Path(id): Path<String>, body: Bytes) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    if !body.is_empty() {
        let _: RawTickConfigs = try_resp!(parse("update/tick", &body));
    }
    try_resp!(run(&node, |e| e.tick()).await);
    ok(())
}

/// `POST auto_progress`: rounds run by themselves and time follows the wall clock.
pub async fn auto_progress(State(state): State<Arc<AppState>>, Path(id): Path<String>, body: Bytes) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    if !body.is_empty() {
        let _: AutoProgressConfig = try_resp!(parse("auto_progress", &body));
    }
    try_resp!(
        run(&node, |e| {
            e.live = true;
            e.sync_time();
        })
        .await
    );
    ok(())
}

/// `GET auto_progress`: whether the instance is live.
pub async fn auto_progress_enabled(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    ok(try_resp!(run(&node, |e| e.live).await))
}

/// `POST stop_progress`.
pub async fn stop_progress(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    try_resp!(run(&node, |e| e.live = false).await);
    ok(())
}

// ------------------------------------------------------------------ canisters

/// `POST read/get_cycles`.
pub async fn get_cycles(State(state): State<Arc<AppState>>, Path(id): Path<String>, body: Bytes) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    let canister = try_resp!(canister_arg("read/get_cycles", &body));
    let r = try_resp!(run(&node, move |e| e.net.canister_exists(canister).then(|| e.net.cycle_balance(canister))).await);
    match r {
        Some(cycles) => ok(RawCycles { cycles }),
        None => not_found(canister),
    }
}

/// `POST update/add_cycles`: returns the new balance.
pub async fn add_cycles(State(state): State<Arc<AppState>>, Path(id): Path<String>, body: Bytes) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    let raw: RawAddCycles = try_resp!(parse("update/add_cycles", &body));
    let canister = try_resp!(principal("canister_id", &raw.canister_id));
    let amount = raw.amount;
    let r = try_resp!(run(&node, move |e| e.net.canister_exists(canister).then(|| e.net.add_cycles(canister, amount))).await);
    match r {
        Some(cycles) => ok(RawCycles { cycles }),
        None => not_found(canister),
    }
}

/// `POST read/get_controllers`.
pub async fn get_controllers(State(state): State<Arc<AppState>>, Path(id): Path<String>, body: Bytes) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    let canister = try_resp!(canister_arg("read/get_controllers", &body));
    let r = try_resp!(run(&node, move |e| e.net.canister_exists(canister).then(|| e.net.get_controllers(canister))).await);
    match r {
        Some(c) => ok(c.into_iter().map(RawPrincipalId::from).collect::<Vec<_>>()),
        None => not_found(canister),
    }
}

/// `POST read/get_subnet`: this instance's subnet if the canister exists, else `null`.
pub async fn get_subnet(State(state): State<Arc<AppState>>, Path(id): Path<String>, body: Bytes) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    let canister = try_resp!(canister_arg("read/get_subnet", &body));
    let subnet = node.keys().subnet_id();
    let exists = try_resp!(run(&node, move |e| e.net.canister_exists(canister)).await);
    ok(exists.then(|| RawSubnetId::from(subnet)))
}

/// `POST read/pub_key`: the subnet's public key (the root key, DER), as a JSON array of bytes.
pub async fn pub_key(State(state): State<Arc<AppState>>, Path(id): Path<String>, body: Bytes) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    let raw: RawSubnetId = try_resp!(parse("read/pub_key", &body));
    if raw.subnet_id != node.keys().subnet_id().as_slice() {
        return bad_request(format!(
            "Subnet {} is not this instance's subnet ({})",
            Principal::from_slice(&raw.subnet_id),
            node.keys().subnet_id()
        ));
    }
    ok(node.keys().root_key_der().to_vec())
}

// ------------------------------------------------------------------ stable memory

/// The largest stable memory (the IC's limit, 500 GiB).
const MAX_STABLE_BYTES: u64 = localnet::stable::MAX_STABLE_PAGES * localnet::stable::WASM_PAGE;

/// Whether the canister's stable memory may be read or written from outside: as DFINITY's
/// server, an unknown canister is `CanisterNotFound` and one without a module `CanisterIsEmpty`
/// (the crate panics with the message).
fn stable_memory_check(e: &Engine, canister: Principal) -> Result<(), String> {
    if !e.net.canister_exists(canister) {
        return Err(format!("CanisterNotFound: canister {canister} does not exist on this instance"));
    }
    if e.net.module_hash(canister).is_none() {
        return Err(format!("CanisterIsEmpty: canister {canister} has no module installed"));
    }
    Ok(())
}

/// `POST read/get_stable_memory`: the canister's whole stable memory (whole 64 KiB pages).
pub async fn get_stable_memory(State(state): State<Arc<AppState>>, Path(id): Path<String>, body: Bytes) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    let canister = try_resp!(canister_arg("read/get_stable_memory", &body));
    let r = try_resp!(
        run(&node, move |e| {
            stable_memory_check(e, canister)?;
            Ok::<_, String>(e.net.get_stable_memory(canister))
        })
        .await
    );
    match r {
        Ok(blob) => ok(RawStableMemory { blob }),
        Err(m) => bad_request(m),
    }
}

/// The bytes of a blob of the blob store, gunzipped if it was uploaded gzipped.
fn blob_bytes(pic: &PocketIcState, endpoint: &str, blob_id: &[u8]) -> Result<Vec<u8>, String> {
    let id = hex::encode(blob_id);
    let Some((data, gzip)) = pic.blobs.lock().expect("lock").get(&id).cloned() else {
        return Err(format!("{endpoint}: no blob {id} in the blob store (upload it to /blobstore first)"));
    };
    if !gzip {
        return Ok(data);
    }
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&data[..])
        .take(MAX_STABLE_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("{endpoint}: blob {id} was uploaded as gzip but does not decompress: {e}"))?;
    Ok(out)
}

/// `POST update/set_stable_memory`: replaces the canister's stable memory with a blob of the
/// blob store (gunzipped if uploaded with `Content-Encoding: gzip`), as DFINITY's server does
/// (`StateMachine::set_stable_memory`): the memory becomes the fewest 64 KiB pages that hold
/// the data, zero-padded; it may grow or shrink. No canister code runs; nothing rolls it back.
pub async fn set_stable_memory(State(state): State<Arc<AppState>>, Extension(pic): Pic, Path(id): Path<String>, body: Bytes) -> Response {
    const ENDPOINT: &str = "update/set_stable_memory";
    let (_, node) = try_resp!(instance(&state, &id));
    let raw: RawSetStableMemory = try_resp!(parse(ENDPOINT, &body));
    let canister = try_resp!(principal("canister_id", &raw.canister_id));
    let blob_id = raw.blob_id.0;
    let data = tokio::task::spawn_blocking(move || blob_bytes(&pic, ENDPOINT, &blob_id)).await;
    let data = match data {
        Ok(Ok(data)) => data,
        Ok(Err(m)) => return bad_request(m),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("{ENDPOINT}: reading the blob failed: {e}")),
    };
    if data.len() as u64 > MAX_STABLE_BYTES {
        return bad_request(format!("{ENDPOINT}: the data exceeds the stable memory limit of {MAX_STABLE_BYTES} bytes"));
    }
    let r = try_resp!(
        run(&node, move |e| {
            stable_memory_check(e, canister)?;
            e.net.set_stable_memory(canister, &data);
            Ok::<_, String>(())
        })
        .await
    );
    match r {
        Ok(()) => ok(()),
        Err(m) => bad_request(m),
    }
}

// ------------------------------------------------------------------ ingress and queries

/// The call's sender and canister; an effective subnet must be this instance's.
fn check_call(endpoint: &str, call: &RawCanisterCall, subnet: Principal) -> Result<(Principal, Principal), Response> {
    let sender = principal("sender", &call.sender)?;
    let canister = principal("canister_id", &call.canister_id)?;
    if call.sender_info.is_some() {
        return Err(error(
            StatusCode::NOT_IMPLEMENTED,
            format!("localnet's PocketIC server does not support {endpoint} with sender_info"),
        ));
    }
    if let RawEffectivePrincipal::SubnetId(s) = &call.effective_principal {
        if s.as_slice() != subnet.as_slice() {
            return Err(bad_request(format!(
                "{endpoint}: effective subnet {} is not this instance's subnet {subnet} (an instance is one application subnet)",
                Principal::from_slice(s)
            )));
        }
    }
    Ok((sender, canister))
}

fn new_message_id(pic: &PocketIcState, instance: usize) -> RequestId {
    let n = pic.next_message.fetch_add(1, Ordering::Relaxed);
    let mut h = Sha256::new();
    h.update(b"localnet-pocketic-message");
    h.update((instance as u64).to_be_bytes());
    h.update(n.to_be_bytes());
    h.finalize().into()
}

fn message_id(raw: &RawMessageId) -> Result<RequestId, Response> {
    raw.message_id.as_slice().try_into().map_err(|_| {
        bad_request(format!("{} is not a message id of this server (32 bytes)", hex::encode(&raw.message_id)))
    })
}

/// `POST update/submit_ingress_message` -> `{"Ok": RawMessageId}` or `{"Err": RejectResponse}`.
pub async fn submit(State(state): State<Arc<AppState>>, Extension(pic): Pic, Path(id): Path<String>, body: Bytes) -> Response {
    let (n, node) = try_resp!(instance(&state, &id));
    let call: RawCanisterCall = try_resp!(parse("update/submit_ingress_message", &body));
    let subnet = node.keys().subnet_id();
    let (sender, canister) = try_resp!(check_call("update/submit_ingress_message", &call, subnet));
    let rid = new_message_id(&pic, n);
    let is_status = canister == Principal::management_canister() && call.method == "canister_status";
    let RawCanisterCall { method, payload, effective_principal, .. } = call;
    let r = try_resp!(
        run(&node, move |e| {
            let expiry = e.net.get_time_nanos().saturating_add(MESSAGE_EXPIRY_NS);
            e.submit(rid, sender, canister, &method, payload, expiry)
        })
        .await
    );
    match r {
        Ok(()) => {
            if is_status {
                pic.status_calls.lock().expect("lock").insert(rid);
            }
            let effective_principal = match effective_principal {
                RawEffectivePrincipal::None => RawEffectivePrincipal::SubnetId(subnet.as_slice().to_vec()),
                other => other,
            };
            ok(Ok::<_, pocket_ic::RejectResponse>(RawMessageId { effective_principal, message_id: rid.to_vec() }))
        }
        Err(r) => ok(Err::<RawMessageId, _>(reject(&r, false))),
    }
}

/// A final status as the crate's result; `None` once the reply is gone (expired).
fn result_of(pic: &PocketIcState, rid: &RequestId, status: RequestStatus) -> Result<Option<RawCanisterResult>, Response> {
    Ok(match status {
        RequestStatus::Replied(bytes) => {
            let bytes = if pic.status_calls.lock().expect("lock").contains(rid) {
                convert::canister_status_reply(&bytes).map_err(|m| error(StatusCode::INTERNAL_SERVER_ERROR, m))?
            } else {
                bytes
            };
            Some(RawCanisterResult::Ok(bytes))
        }
        RequestStatus::Rejected(r) => Some(RawCanisterResult::Err(reject(&r, true))),
        RequestStatus::Done | RequestStatus::Processing(_) => None,
    })
}

enum Step {
    Final(RequestStatus),
    /// Live: the instance runs its rounds by itself; wait for it.
    Live,
}

/// Runs rounds (on a non-live instance) until the message is final.
fn await_step(e: &mut Engine, rid: RequestId) -> Result<Step, String> {
    let mut rounds = 0;
    loop {
        match e.request_status(&rid) {
            None => return Err(format!("Message {} is unknown to this instance", hex::encode(rid))),
            Some((_, status)) if status.is_final() => return Ok(Step::Final(status)),
            Some(_) => {}
        }
        if e.live {
            return Ok(Step::Live);
        }
        if !e.net.has_work() || rounds >= localnet::DEFAULT_MAX_ROUNDS_PER_CALL {
            return Err(format!(
                "Message {} did not complete: {} after {rounds} rounds",
                hex::encode(rid),
                if e.net.has_work() { "still running" } else { "nothing is left to execute" }
            ));
        }
        e.tick();
        rounds += 1;
    }
}

/// `POST update/await_ingress_message`: rounds run until the message completes (a live
/// instance completes it by itself).
pub async fn await_message(State(state): State<Arc<AppState>>, Extension(pic): Pic, Path(id): Path<String>, body: Bytes) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    let raw: RawMessageId = try_resp!(parse("update/await_ingress_message", &body));
    let rid = try_resp!(message_id(&raw));
    let deadline = Instant::now() + LIVE_AWAIT_TIMEOUT;
    loop {
        match try_resp!(run(&node, move |e| await_step(e, rid)).await) {
            Err(m) => return bad_request(m),
            Ok(Step::Final(status)) => {
                return match try_resp!(result_of(&pic, &rid, status)) {
                    Some(r) => ok(r),
                    None => bad_request(format!("Message {} has expired: its result is gone", hex::encode(rid))),
                }
            }
            Ok(Step::Live) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return bad_request(format!(
                        "Message {} did not complete within {} s on the live instance",
                        hex::encode(rid),
                        LIVE_AWAIT_TIMEOUT.as_secs()
                    ));
                }
                node.wait_for(rid, left).await;
            }
        }
    }
}

/// `POST read/ingress_status`: the result if final, else `null`; 403 if `raw_caller` is not
/// the message's sender.
pub async fn ingress_status(State(state): State<Arc<AppState>>, Extension(pic): Pic, Path(id): Path<String>, body: Bytes) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    let args: RawIngressStatusArgs = try_resp!(parse("read/ingress_status", &body));
    let rid = try_resp!(message_id(&args.raw_message_id));
    let caller = match &args.raw_caller {
        Some(c) => Some(try_resp!(principal("raw_caller", &c.principal_id))),
        None => None,
    };
    let status = try_resp!(run(&node, move |e| e.request_status(&rid)).await);
    let Some((sender, status)) = status else { return ok(None::<RawCanisterResult>) };
    if let Some(caller) = caller {
        if caller != sender {
            return error(
                StatusCode::FORBIDDEN,
                format!("The user tries to access Request ID not signed by the caller: message {} was sent by {sender}, not {caller}", hex::encode(rid)),
            );
        }
    }
    ok(try_resp!(result_of(&pic, &rid, status)))
}

/// `POST read/query`: a non-replicated query; `fetch_canister_logs` is the management
/// canister's one query.
pub async fn query(State(state): State<Arc<AppState>>, Path(id): Path<String>, body: Bytes) -> Response {
    let (_, node) = try_resp!(instance(&state, &id));
    let call: RawCanisterCall = try_resp!(parse("read/query", &body));
    let (sender, canister) = try_resp!(check_call("read/query", &call, node.keys().subnet_id()));
    let RawCanisterCall { method, payload, .. } = call;
    let result = try_resp!(
        run(&node, move |e| {
            if canister != Principal::management_canister() {
                return e.net.query_call(canister, sender, &method, payload).map_err(|r| reject(&r, false));
            }
            if method != "fetch_canister_logs" {
                return Err(reject_here(
                    ErrorCode::CanisterMethodNotFound,
                    format!("Management canister has no query method '{method}'"),
                ));
            }
            let arg: localnet::management_types::CanisterIdRecord = candid::decode_one(&payload).map_err(|err| {
                reject_here(ErrorCode::InvalidManagementPayload, format!("Error decoding candid for ic00 method {method}: {err}"))
            })?;
            e.net.fetch_canister_logs(arg.canister_id, sender).map(convert::canister_logs_reply).map_err(|r| reject(&r, false))
        })
        .await
    );
    ok(match result {
        Ok(bytes) => RawCanisterResult::Ok(bytes),
        Err(mut r) => {
            r.certified = false;
            RawCanisterResult::Err(r)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_read_plain_or_gunzipped() {
        use std::io::Write;
        let pic = PocketIcState::default();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&[7u8; 100_000]).unwrap();
        let gz = gz.finish().unwrap();
        {
            let mut blobs = pic.blobs.lock().unwrap();
            blobs.insert(hex::encode([1u8; 32]), (b"plain".to_vec(), false));
            blobs.insert(hex::encode([2u8; 32]), (gz, true));
            blobs.insert(hex::encode([3u8; 32]), (b"not gzip".to_vec(), true));
        }
        assert_eq!(blob_bytes(&pic, "e", &[1u8; 32]).unwrap(), b"plain");
        assert_eq!(blob_bytes(&pic, "e", &[2u8; 32]).unwrap(), vec![7u8; 100_000]);
        let err = blob_bytes(&pic, "e", &[3u8; 32]).unwrap_err();
        assert!(err.contains("does not decompress"), "{err}");
        let err = blob_bytes(&pic, "e", &[4u8; 32]).unwrap_err();
        assert!(err.contains("no blob 0404"), "{err}");
    }
}
