//! The IC HTTP interface end to end, checked by DFINITY's Rust agent (`ic-agent`) with
//! certificate and query-signature verification on (its defaults), and by raw requests for
//! the error cases. Each test runs its own `localnet serve` on a loopback port.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candid::{Encode, Principal};
use common::{create_and_install, identity, wasm, Server};
use ed25519_dalek::Signer;
use ic_agent::identity::{DelegatedIdentity, Prime256v1Identity, Secp256k1Identity, SignedDelegation};
use ic_agent::{Agent, AgentError, Identity};
use ic_certification::{Certificate, LookupResult};
use serde_cbor::Value;
use sha2::{Digest, Sha256};

async fn counter(agent: &Agent) -> Principal {
    create_and_install(agent, wasm("counter"), Encode!(&Option::<u64>::None).unwrap()).await
}

async fn inc(agent: &Agent, id: Principal) -> Result<u64, AgentError> {
    let r = agent.update(&id, "inc").with_arg(Encode!().unwrap()).call_and_wait().await?;
    Ok(candid::decode_one(&r).unwrap())
}

async fn get(agent: &Agent, id: Principal) -> u64 {
    let r = agent.query(&id, "get").with_arg(Encode!().unwrap()).call().await.expect("signed query");
    candid::decode_one(&r).unwrap()
}

#[tokio::test]
async fn ic_agent_creates_installs_calls_and_reads_state() {
    let server = Server::start();
    let agent = server.agent(identity(1)).await;
    let me = agent.get_principal().unwrap();
    let id = counter(&agent).await;

    // Updates come back certified, queries signed by the node: the agent checks both.
    assert_eq!(inc(&agent, id).await.unwrap(), 1);
    assert_eq!(inc(&agent, id).await.unwrap(), 2);
    assert_eq!(get(&agent, id).await, 2);
    let whoami = agent.query(&id, "whoami").with_arg(Encode!().unwrap()).call().await.unwrap();
    assert_eq!(candid::decode_one::<Principal>(&whoami).unwrap(), me);

    // read_state: module hash and controllers of the canister.
    let hash = agent.read_state_canister_info(id, "module_hash").await.unwrap();
    assert_eq!(hash, Sha256::digest(wasm("counter")).to_vec());
    let controllers = agent.read_state_canister_controllers(id).await.unwrap();
    assert_eq!(controllers, vec![me]);
    // The candid:service metadata is public.
    let did = agent.read_state_canister_metadata(id, "candid:service").await.unwrap();
    assert!(String::from_utf8(did).unwrap().contains("inc : () -> (nat64)"));

    // A trap is a certified reject with the replica's error code.
    let err = agent.update(&id, "trap").with_arg(Encode!(&"boom").unwrap()).call_and_wait().await.unwrap_err();
    match err {
        AgentError::CertifiedReject { reject, .. } => {
            assert_eq!(reject.reject_code, ic_agent::agent::RejectCode::CanisterError);
            assert_eq!(reject.error_code.as_deref(), Some("IC0503"));
            assert!(reject.reject_message.contains("boom"), "{}", reject.reject_message);
        }
        other => panic!("expected a certified reject, got {other:?}"),
    }

    // canister_status through the management canister, as a controller.
    let status = agent
        .update(&Principal::management_canister(), "canister_status")
        .with_effective_canister_id(id)
        .with_arg(Encode!(&ic_management_canister_types::CanisterIdRecord { canister_id: id }).unwrap())
        .call_and_wait()
        .await
        .unwrap();
    let status: ic_management_canister_types::CanisterStatusResult = candid::decode_one(&status).unwrap();
    assert_eq!(status.module_hash, Some(Sha256::digest(wasm("counter")).to_vec()));

    // Someone else is not a controller: the management canister refuses, certified.
    let other = server.agent(identity(2)).await;
    let err = other
        .update(&Principal::management_canister(), "canister_status")
        .with_effective_canister_id(id)
        .with_arg(Encode!(&ic_management_canister_types::CanisterIdRecord { canister_id: id }).unwrap())
        .call_and_wait()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("IC0512") || err.to_string().contains("controller"), "{err}");
}

#[tokio::test]
async fn data_certificates_in_queries_verify_against_the_root_key() {
    let server = Server::start();
    let agent = server.agent(identity(3)).await;
    let id = counter(&agent).await;
    agent
        .update(&id, "set_certified_data")
        .with_arg(Encode!(&serde_bytes::ByteBuf::from(vec![9u8; 32])).unwrap())
        .call_and_wait()
        .await
        .unwrap();
    let r = agent.query(&id, "certificate").with_arg(Encode!().unwrap()).call().await.unwrap();
    let cert: Option<serde_bytes::ByteBuf> = candid::decode_one(&r).unwrap();
    let cert: Certificate = serde_cbor::from_slice(&cert.expect("a certificate in a query")).unwrap();
    // The agent's own verification, with our root key.
    agent.verify(&cert, id).expect("the data certificate verifies");
    assert_eq!(
        cert.tree.lookup_path([b"canister".as_slice(), id.as_slice(), b"certified_data"]),
        LookupResult::Found(&[9u8; 32][..])
    );
    // Certified time follows the wall clock.
    let LookupResult::Found(time) = cert.tree.lookup_path([b"time"]) else { panic!("no time") };
    let t = leb128(time);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    assert!(now.abs_diff(t) < 60_000_000_000, "certified time {t} is not the wall clock {now}");
}

fn leb128(b: &[u8]) -> u64 {
    b.iter().rev().fold(0u64, |acc, byte| (acc << 7) | (*byte & 0x7f) as u64)
}

#[tokio::test]
async fn ecdsa_identities_and_delegation_chains() {
    let server = Server::start();
    let owner = server.agent(identity(4)).await;
    let id = counter(&owner).await;

    let k1 = Secp256k1Identity::from_private_key(k256::SecretKey::from_slice(&[5; 32]).unwrap());
    let k1_principal = k1.sender().unwrap();
    let agent = server.agent(k1).await;
    assert_eq!(inc(&agent, id).await.unwrap(), 1);
    let r = agent.query(&id, "whoami").with_arg(Encode!().unwrap()).call().await.unwrap();
    assert_eq!(candid::decode_one::<Principal>(&r).unwrap(), k1_principal);

    let p256 = Prime256v1Identity::from_private_key(p256::SecretKey::from_slice(&[6; 32]).unwrap());
    let agent = server.agent(p256).await;
    assert_eq!(inc(&agent, id).await.unwrap(), 2);

    // A session key delegated from an Ed25519 key: the caller is the delegating principal.
    let root = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let root_der = ed25519_der(&root);
    let session = identity(8);
    let delegate = |targets: Option<Vec<Principal>>, expiration: u64| {
        let d = ic_agent::identity::Delegation { pubkey: session.public_key().unwrap(), expiration, targets, permissions: None };
        let sig = root.sign(&d.signable()).to_bytes().to_vec();
        SignedDelegation { delegation: d, signature: sig }
    };
    let in_an_hour = now_nanos() + 3_600_000_000_000;
    let delegated = DelegatedIdentity::new_unchecked(root_der.clone(), Box::new(identity(8)), vec![delegate(None, in_an_hour)]);
    let agent = server.agent(delegated).await;
    let r = agent.query(&id, "whoami").with_arg(Encode!().unwrap()).call().await.unwrap();
    assert_eq!(candid::decode_one::<Principal>(&r).unwrap(), Principal::self_authenticating(&root_der));
    assert_eq!(inc(&agent, id).await.unwrap(), 3);

    // Targets that do not include the canister, and an expired delegation, are refused.
    let elsewhere = vec![Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 99, 1, 1])];
    let delegated = DelegatedIdentity::new_unchecked(root_der.clone(), Box::new(identity(8)), vec![delegate(Some(elsewhere), in_an_hour)]);
    let err = inc(&server.agent(delegated).await, id).await.unwrap_err().to_string();
    assert!(err.contains("not one of the delegation's targets"), "{err}");
    let delegated = DelegatedIdentity::new_unchecked(root_der, Box::new(identity(8)), vec![delegate(None, 1)]);
    let err = inc(&server.agent(delegated).await, id).await.unwrap_err().to_string();
    assert!(err.contains("expired"), "{err}");
    // Nothing of the refused calls ran.
    assert_eq!(get(&owner, id).await, 3);
}

fn ed25519_der(key: &ed25519_dalek::SigningKey) -> Vec<u8> {
    let mut der = localnet_server::keys::ED25519_DER_PREFIX.to_vec();
    der.extend_from_slice(key.verifying_key().as_bytes());
    der
}

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// A hand-made envelope: `content` fields, signed by `key` over its request id (or not).
fn envelope(content: Vec<(&str, Value)>, key: Option<&ed25519_dalek::SigningKey>, sign_wrong_id: bool) -> Vec<u8> {
    let content = Value::Map(content.into_iter().map(|(k, v)| (Value::Text(k.into()), v)).collect());
    let rid = localnet_server::http_api::envelope::representation_independent_hash(&content).unwrap();
    let mut env = vec![(Value::Text("content".into()), content)];
    if let Some(key) = key {
        let mut msg = b"\x0Aic-request".to_vec();
        msg.extend_from_slice(&rid);
        if sign_wrong_id {
            msg[20] ^= 1;
        }
        env.push((Value::Text("sender_pubkey".into()), Value::Bytes(ed25519_der(key))));
        env.push((Value::Text("sender_sig".into()), Value::Bytes(key.sign(&msg).to_bytes().to_vec())));
    }
    let mut out = vec![0xd9, 0xd9, 0xf7];
    out.extend(serde_cbor::to_vec(&Value::Map(env.into_iter().collect())).unwrap());
    out
}

fn call_content(sender: Principal, canister: Principal, method: &str, expiry: u64, kind: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("request_type", Value::Text(kind.into())),
        ("sender", Value::Bytes(sender.as_slice().to_vec())),
        ("canister_id", Value::Bytes(canister.as_slice().to_vec())),
        ("method_name", Value::Text(method.into())),
        ("arg", Value::Bytes(Encode!().unwrap())),
        ("ingress_expiry", Value::Integer(expiry as i128)),
    ]
}

#[tokio::test]
async fn bad_requests_get_the_ic_errors_and_the_server_keeps_serving() {
    let server = Server::start();
    let owner = server.agent(identity(9)).await;
    let id = counter(&owner).await;
    let http = reqwest::Client::new();
    let post = |path: String, body: Vec<u8>| {
        let http = http.clone();
        let url = format!("{}{path}", server.url());
        async move {
            let r = http.post(url).header("content-type", "application/cbor").body(body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.bytes().await.unwrap().to_vec())
        }
    };
    let key = ed25519_dalek::SigningKey::from_bytes(&[10; 32]);
    let sender = Principal::self_authenticating(ed25519_der(&key));
    let expiry = now_nanos() + 120_000_000_000;

    // Malformed CBOR.
    let (status, body) = post(format!("/api/v3/canister/{id}/call"), b"\xff\x00 not cbor".to_vec()).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).starts_with("Could not parse body as call message"), "{}", String::from_utf8_lossy(&body));

    // A signature over another request id.
    let bad_sig = envelope(call_content(sender, id, "inc", expiry, "call"), Some(&key), true);
    let (status, body) = post(format!("/api/v3/canister/{id}/call"), bad_sig).await;
    assert_eq!(status, 400);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("Failed to authenticate request") && text.contains("does not verify"), "{text}");

    // An expired request, and one too far in the future.
    for expiry in [now_nanos() - 1_000_000_000, now_nanos() + 3_600_000_000_000] {
        let env = envelope(call_content(sender, id, "inc", expiry, "call"), Some(&key), false);
        let (status, body) = post(format!("/api/v3/canister/{id}/call"), env).await;
        assert_eq!(status, 400);
        assert!(String::from_utf8_lossy(&body).contains("Invalid request expiry"), "{}", String::from_utf8_lossy(&body));
    }

    // An unknown canister: a non-replicated rejection with IC0301 for calls, a signed
    // rejection for queries.
    let unknown = Principal::from_slice(&[0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 1, 1]);
    let env = envelope(call_content(sender, unknown, "inc", expiry, "call"), Some(&key), false);
    let (status, body) = post(format!("/api/v3/canister/{unknown}/call"), env).await;
    assert_eq!(status, 200);
    let reply: Value = serde_cbor::from_slice(&body).unwrap();
    let map = as_map(&reply);
    assert_eq!(map.get("status"), Some(&Value::Text("non_replicated_rejection".into())));
    assert_eq!(map.get("reject_code"), Some(&Value::Integer(3)));
    assert_eq!(map.get("error_code"), Some(&Value::Text("IC0301".into())));
    let env = envelope(call_content(sender, unknown, "get", expiry, "query"), Some(&key), false);
    let (status, body) = post(format!("/api/v3/canister/{unknown}/query"), env).await;
    assert_eq!(status, 200);
    let reply: Value = serde_cbor::from_slice(&body).unwrap();
    let map = as_map(&reply);
    assert_eq!(map.get("status"), Some(&Value::Text("rejected".into())));
    assert_eq!(map.get("error_code"), Some(&Value::Text("IC0301".into())));
    assert!(matches!(map.get("signatures"), Some(Value::Array(s)) if s.len() == 1));

    // The canister in the URL must be the one called.
    let env = envelope(call_content(sender, id, "inc", expiry, "call"), Some(&key), false);
    let (status, body) = post(format!("/api/v3/canister/{unknown}/call"), env).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("does not match effective canister id"));

    // An oversized body.
    let (status, body) = post(format!("/api/v3/canister/{id}/call"), vec![0u8; 5 * 1024 * 1024]).await;
    assert_eq!(status, 413);
    assert!(String::from_utf8_lossy(&body).contains("Payload Too Large"));

    // read_state of another sender's request is forbidden.
    let env = envelope(call_content(sender, id, "inc", expiry, "call"), Some(&key), false);
    let (status, _) = post(format!("/api/v3/canister/{id}/call"), env).await;
    assert_eq!(status, 200);

    // Still serving: a certified update and a signed query through the agent.
    assert_eq!(inc(&owner, id).await.unwrap(), 2);
    assert_eq!(get(&owner, id).await, 2);
    let status = http.get(format!("{}/api/v2/status", server.url())).send().await.unwrap();
    assert_eq!(status.status().as_u16(), 200);
    let status: Value = serde_cbor::from_slice(&status.bytes().await.unwrap()).unwrap();
    assert_eq!(as_map(&status).get("root_key"), Some(&Value::Bytes(server.root_key.clone())));
}

fn as_map(v: &Value) -> std::collections::BTreeMap<String, Value> {
    let v = match v {
        Value::Tag(_, inner) => inner.as_ref(),
        other => other,
    };
    let Value::Map(m) = v else { panic!("not a map: {v:?}") };
    m.iter().map(|(k, v)| (if let Value::Text(t) = k { t.clone() } else { panic!() }, v.clone())).collect()
}

#[tokio::test]
async fn many_clients_at_once() {
    let server = Server::start();
    let owner = server.agent(identity(11)).await;
    let id = counter(&owner).await;
    let mut tasks = Vec::new();
    for n in 0..16u8 {
        let agent = server.agent(identity(100 + n)).await;
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                inc(&agent, id).await.unwrap();
            }
        }));
    }
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(120), t).await.expect("bounded").unwrap();
    }
    assert_eq!(get(&owner, id).await, 80);
}

#[tokio::test]
async fn state_survives_a_restart_with_the_same_keys() {
    let server = Server::start();
    let agent = server.agent(identity(12)).await;
    let id = counter(&agent).await;
    for _ in 0..3 {
        inc(&agent, id).await.unwrap();
    }
    let root_key = server.root_key.clone();
    let dir = server.stop();

    let server = Server::start_in(dir);
    assert_eq!(server.root_key, root_key, "the root key is kept");
    let agent = server.agent(identity(12)).await;
    assert_eq!(get(&agent, id).await, 3);
    assert_eq!(inc(&agent, id).await.unwrap(), 4);
    assert_eq!(agent.read_state_canister_controllers(id).await.unwrap(), vec![agent.get_principal().unwrap()]);
    // A new canister gets a new id.
    let other = counter(&agent).await;
    assert_ne!(other, id);
    let dir = server.stop();

    // A corrupt state is refused with a clear error, and left as it was.
    let manifest = dir.join("state/net/manifest.json");
    std::fs::write(&manifest, b"{ not json").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_localnet"))
        .args(["serve", "--port", "0", "--state-dir"])
        .arg(dir.join("state"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot be loaded") && err.contains("manifest.json"), "{err}");
    assert_eq!(std::fs::read(&manifest).unwrap(), b"{ not json");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn api_answers_cors_preflights_and_canister_hosts_keep_api() {
    let server = Server::start();
    let http = reqwest::Client::new();
    let r = http
        .request(reqwest::Method::OPTIONS, format!("{}/api/v3/canister/aaaaa-aa/query", server.url()))
        .header("origin", "http://example.localhost")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    // /api on a canister's host name is the HTTP interface, not the canister's pages.
    let r = http
        .get(format!("{}/api/v2/status", server.url()))
        .header("host", format!("rwlgt-iiaaa-aaaaa-aaaaa-cai.localhost:{}", server.port))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/cbor");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn v2_call_is_accepted_then_polled_with_read_state_by_its_sender_only() {
    let server = Server::start();
    let owner = server.agent(identity(13)).await;
    let id = counter(&owner).await;
    // The same Ed25519 seed makes the same key in ed25519-dalek and in the agent's identity.
    let key = ed25519_dalek::SigningKey::from_bytes(&[14; 32]);
    let sender = Principal::self_authenticating(ed25519_der(&key));
    let content = call_content(sender, id, "inc", now_nanos() + 120_000_000_000, "call");
    let value = Value::Map(content.iter().map(|(k, v)| (Value::Text(k.to_string()), v.clone())).collect());
    let rid = localnet_server::http_api::envelope::representation_independent_hash(&value).unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/api/v2/canister/{id}/call", server.url()))
        .header("content-type", "application/cbor")
        .body(envelope(content, Some(&key), false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    assert!(r.bytes().await.unwrap().is_empty());

    let agent = server.agent(identity(14)).await;
    assert_eq!(agent.get_principal().unwrap(), sender);
    let request_id = ic_agent::RequestId::new(&rid);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let reply = loop {
        match agent.request_status_raw(&request_id, id).await.unwrap().0 {
            ic_agent::agent::RequestStatusResponse::Replied(r) => break r.arg,
            _ if std::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            other => panic!("the v2 call did not complete: {other:?}"),
        }
    };
    assert_eq!(candid::decode_one::<u64>(&reply).unwrap(), 1);
    // Resubmitting the same request (same id) does not run it again.
    let r = reqwest::Client::new()
        .post(format!("{}/api/v2/canister/{id}/call", server.url()))
        .header("content-type", "application/cbor")
        .body(envelope(call_content(sender, id, "inc", 0, "call").into_iter().map(|(k, v)| if k == "ingress_expiry" { (k, value_of(&value, "ingress_expiry")) } else { (k, v) }).collect(), Some(&key), false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(get(&owner, id).await, 1);
    // Another sender may not read that request's status.
    let err = owner.request_status_raw(&request_id, id).await.unwrap_err().to_string();
    assert!(err.contains("403") || err.contains("signed by the caller"), "{err}");
}

fn value_of(map: &Value, key: &str) -> Value {
    as_map(map).remove(key).unwrap()
}
