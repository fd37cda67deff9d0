//! Instances (`/instances`), their topology, and the blob store (`/blobstore`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use candid::Principal;
use localnet::{FeeSchedule, LocalNet};
use pocket_ic::common::rest::{
    CanisterCyclesCostSchedule, CanisterIdRange, CreateHttpGatewayResponse, CreateInstanceResponse, IcpFeatures,
    InitialTime, InstanceConfig, RawCanisterId, SubnetConfig, SubnetInstructionConfig, SubnetKind, Topology,
};
use sha2::{Digest, Sha256};

use super::{bad_request, error, instance, ok, InstanceMeta, Pic};
use crate::keys::Keys;
use crate::node::{now_nanos, Node, NodeConfig};
use crate::server::AppState;

/// `GET /instances`: every instance ever made, `"Available"` or `"Deleted"`.
pub async fn list(State(state): State<Arc<AppState>>) -> Response {
    let list: Vec<String> =
        state.instance_ids().into_iter().map(|(_, alive)| if alive { "Available" } else { "Deleted" }.to_string()).collect();
    ok(list)
}

fn create_error(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(CreateInstanceResponse::Error { message })).into_response()
}

/// `POST /instances`: a new network from an `InstanceConfig` (one application subnet).
pub async fn create(State(state): State<Arc<AppState>>, Extension(pic): Pic, body: Bytes) -> Response {
    let config: InstanceConfig = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return create_error(format!("POST /instances: the body is not an InstanceConfig of pocket-ic 16.x: {e}")),
    };
    let plan = match plan(&config) {
        Ok(p) => p,
        Err(message) => return create_error(message),
    };
    let node = tokio::task::spawn_blocking(move || {
        let mut builder = LocalNet::builder().with_time(UNIX_EPOCH + Duration::from_nanos(plan.time_nanos));
        if plan.cost_schedule == CanisterCyclesCostSchedule::Free {
            builder = builder.with_fees(free_fees());
        }
        Node::spawn(NodeConfig { keys: Arc::new(Keys::generate()), live: plan.live, builder, state_dir: None })
    })
    .await;
    let node = match node {
        Ok(Ok(node)) => node,
        Ok(Err(e)) => return create_error(format!("starting the network failed: {e:#}")),
        Err(e) => return create_error(format!("starting the network failed: {e}")),
    };
    let subnet = node.keys().subnet_id();
    let instance_id = state.add_instance(node);
    let meta = InstanceMeta { cost_schedule: plan.cost_schedule };
    pic.instances.lock().expect("lock").insert(instance_id, meta.clone());
    let topology = topology_of(subnet, &meta);
    (StatusCode::CREATED, Json(CreateInstanceResponse::Created { instance_id, topology, http_gateway_info: None })).into_response()
}

/// What an accepted `InstanceConfig` asks for.
struct Plan {
    time_nanos: u64,
    live: bool,
    cost_schedule: CanisterCyclesCostSchedule,
}

/// Checks that the configuration is one localnet can run; anything else is refused with
/// what exactly is not supported.
fn plan(config: &InstanceConfig) -> Result<Plan, String> {
    let subnets = &config.subnet_config_set;
    subnets.validate()?;
    let not = |what: &str| Err(format!("localnet's PocketIC server does not support {what}: an instance is one application subnet"));
    for (present, name) in [
        (subnets.nns.is_some(), "an NNS subnet"),
        (subnets.sns.is_some(), "an SNS subnet"),
        (subnets.ii.is_some(), "an II subnet"),
        (subnets.fiduciary.is_some(), "a fiduciary subnet"),
        (subnets.bitcoin.is_some(), "a bitcoin subnet"),
        (subnets.test_threshold_keys.is_some(), "a test threshold keys subnet"),
        (!subnets.system.is_empty(), "system subnets"),
        (!subnets.verified_application.is_empty(), "verified application subnets"),
        (!subnets.cloud_engine.is_empty(), "cloud engine subnets"),
        (subnets.application.len() > 1, "more than one application subnet"),
    ] {
        if present {
            return not(name);
        }
    }
    let spec = &subnets.application[0];
    if spec.get_state_path().is_some() || !spec.is_supported() {
        return not("a subnet loaded from a state directory");
    }
    if spec.get_instruction_config() != SubnetInstructionConfig::Production {
        return not("the benchmarking instruction config");
    }
    if spec.get_subnet_admins().is_some() {
        return not("subnet admins");
    }
    if config.state_dir.is_some() {
        return not("a state directory (PocketIcBuilder::with_state_dir / with_state)");
    }
    if config.http_gateway_config.is_some() {
        return not("an HTTP gateway (PocketIcBuilder::with_http_gateway)");
    }
    if config.bitcoind_addr.is_some() || config.dogecoind_addr.is_some() {
        return not("bitcoind / dogecoind adapters");
    }
    if let Some(features) = &config.icp_features {
        let enabled = enabled_features(features);
        if !enabled.is_empty() {
            return not(&format!("ICP features ({})", enabled.join(", ")));
        }
    }
    let (time_nanos, live) = match &config.initial_time {
        // A new PocketIC instance starts at the current time.
        None => (now_nanos(), false),
        Some(InitialTime::Timestamp(t)) => (t.nanos_since_epoch, false),
        Some(InitialTime::AutoProgress(_)) => (now_nanos(), true),
    };
    Ok(Plan { time_nanos, live, cost_schedule: spec.get_cost_schedule() })
}

fn enabled_features(f: &IcpFeatures) -> Vec<&'static str> {
    let IcpFeatures {
        registry,
        cycles_minting,
        icp_token,
        cycles_token,
        nns_governance,
        sns,
        ii,
        nns_ui,
        bitcoin,
        dogecoin,
        canister_migration,
    } = f;
    [
        (registry.is_some(), "registry"),
        (cycles_minting.is_some(), "cycles_minting"),
        (icp_token.is_some(), "icp_token"),
        (cycles_token.is_some(), "cycles_token"),
        (nns_governance.is_some(), "nns_governance"),
        (sns.is_some(), "sns"),
        (ii.is_some(), "ii"),
        (nns_ui.is_some(), "nns_ui"),
        (bitcoin.is_some(), "bitcoin"),
        (dogecoin.is_some(), "dogecoin"),
        (canister_migration.is_some(), "canister_migration"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}

/// The `Free` cost schedule: nothing is charged.
fn free_fees() -> FeeSchedule {
    FeeSchedule {
        canister_creation_fee: 0,
        update_message_execution_fee: 0,
        ten_update_instructions_fee: 0,
        xnet_call_fee: 0,
        xnet_byte_transmission_fee: 0,
        ingress_message_reception_fee: 0,
        ingress_byte_reception_fee: 0,
        gib_storage_per_second_fee: 0,
        http_request_linear_baseline_fee: 0,
        http_request_quadratic_baseline_fee: 0,
        http_request_per_byte_fee: 0,
        http_response_per_byte_fee: 0,
        threshold_signature_fee: 0,
        ..FeeSchedule::APPLICATION_SUBNET
    }
}

/// `DELETE /instances/{id}`: the network is shut down.
pub async fn delete(State(state): State<Arc<AppState>>, Extension(pic): Pic, Path(id): Path<String>) -> Response {
    let (n, _) = match instance(&state, &id) {
        Ok(x) => x,
        Err(r) => return r,
    };
    pic.instances.lock().expect("lock").remove(&n);
    let _ = tokio::task::spawn_blocking(move || state.delete_instance(n)).await;
    ok(())
}

/// The one application subnet: its id is the root key's principal (what agents derive), its
/// canister range holds every id localnet makes (`canister_id_from_u64`).
pub(crate) fn topology_of(subnet: Principal, meta: &InstanceMeta) -> Topology {
    let range = CanisterIdRange {
        start: RawCanisterId::from(localnet::canister_id_from_u64(0)),
        end: RawCanisterId::from(localnet::canister_id_from_u64(u64::MAX)),
    };
    let config = SubnetConfig {
        subnet_kind: SubnetKind::Application,
        subnet_admins: None,
        cost_schedule: meta.cost_schedule,
        subnet_seed: Sha256::digest(subnet.as_slice()).into(),
        instruction_config: SubnetInstructionConfig::Production,
        canister_ranges: vec![range],
    };
    Topology {
        subnet_configs: BTreeMap::from([(subnet, config)]),
        default_effective_canister_id: RawCanisterId::from(localnet::canister_id_from_u64(0)),
    }
}

/// `GET read/topology` (and `/_/topology`, which `get_default_effective_canister_id` reads).
pub async fn topology(State(state): State<Arc<AppState>>, Extension(pic): Pic, Path(id): Path<String>) -> Response {
    match instance(&state, &id) {
        Ok((n, node)) => ok(topology_of(node.keys().subnet_id(), &pic.meta(n))),
        Err(r) => r,
    }
}

/// `POST /http_gateway`: not provided (answered in the shape the crate decodes).
pub async fn http_gateway() -> Response {
    let message = "localnet's PocketIC server does not start HTTP gateways (PocketIc::make_live, \
                   PocketIcBuilder::with_http_gateway); use auto_progress(), whose URL serves the instance's /api"
        .to_string();
    (StatusCode::NOT_IMPLEMENTED, Json(CreateHttpGatewayResponse::Error { message })).into_response()
}

/// `POST /blobstore`: stores the body (gzipped if `Content-Encoding: gzip`); answers its id,
/// the hex of its SHA-256.
pub async fn blob_store(Extension(pic): Pic, headers: HeaderMap, body: Bytes) -> Response {
    let gzip = match headers.get("content-encoding").map(|v| v.to_str()) {
        None => false,
        Some(Ok("gzip")) => true,
        Some(_) => return bad_request("Bad encoding: only the 'gzip' content encoding is supported"),
    };
    let id = hex::encode(Sha256::digest(&body));
    pic.blobs.lock().expect("lock").insert(id.clone(), (body.to_vec(), gzip));
    (StatusCode::OK, id).into_response()
}

/// `GET /blobstore/{id}`.
pub async fn blob_fetch(Extension(pic): Pic, Path(id): Path<String>) -> Response {
    match pic.blobs.lock().expect("lock").get(&id.to_ascii_lowercase()) {
        Some((data, true)) => (StatusCode::OK, [("content-encoding", "gzip")], data.clone()).into_response(),
        Some((data, false)) => (StatusCode::OK, data.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("No blob {id} in the blob store")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pocket_ic::common::rest::{ExtendedSubnetConfigSet, SubnetSpec};

    fn app_subnet() -> InstanceConfig {
        InstanceConfig {
            subnet_config_set: ExtendedSubnetConfigSet { application: vec![SubnetSpec::default()], ..Default::default() },
            ..Default::default()
        }
    }

    #[test]
    fn one_application_subnet_is_accepted_and_others_are_named() {
        assert!(plan(&app_subnet()).is_ok());
        let mut c = app_subnet();
        c.subnet_config_set.nns = Some(SubnetSpec::default());
        assert!(plan(&c).err().unwrap().contains("an NNS subnet"));
        let mut c = app_subnet();
        c.icp_features = Some(IcpFeatures { icp_token: Some(Default::default()), ..Default::default() });
        assert!(plan(&c).err().unwrap().contains("icp_token"));
        let err = plan(&InstanceConfig::default()).err().unwrap();
        assert!(err.contains("at least one subnet"), "{err}");
    }

    #[test]
    fn the_range_holds_every_localnet_canister_id() {
        let t = topology_of(Principal::from_slice(&[1, 2, 3]), &InstanceMeta::default());
        for n in [0, 1, 77, 1 << 40, u64::MAX] {
            assert_eq!(t.get_subnet(localnet::canister_id_from_u64(n)), Some(Principal::from_slice(&[1, 2, 3])));
        }
        assert_eq!(t.get_subnet(Principal::anonymous()), None);
        assert_eq!(t.get_app_subnets().len(), 1);
    }
}
