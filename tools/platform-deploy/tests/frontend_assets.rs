//! The web app's asset canister on `localnet serve`, through the server's HTTP gateway (which
//! verifies every response's certification against the root key, as ic-http-gateway does):
//!
//! * deploy with a small web app: index.html and a hashed script served and verified, SPA
//!   routes answered with index.html, gzip when accepted, cache headers, `/platform.json`;
//! * the SNS flow: function 1006 registered by proposal, a new index.html staged by the deployer
//!   (Prepare only) with `propose_dir`, the old page still served, the 1006 proposal with the
//!   evidence executed by governance, the new page served; the deployer's own `commit_batch`
//!   refused;
//! * tampering: one asset's bytes altered in the saved canister heap (its certification left as
//!   it was) are refused by the gateway (503) while an untouched asset is still served.
//!
//! Needs the server binary (`cargo build -p localnet-server`; LOCALNET_BIN overrides its
//! path) and the canister Wasm (`bash scripts/build-canisters.sh`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candid::{Encode, Nat, Principal};
use ic_agent::Agent;
use platform_deploy::assets::{self, CommitBatchArguments, CommitProposedBatchArguments, Permission};
use platform_deploy::{DeployOptions, Deployment};
use platform_types::sns::*;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

mod common;
use common::{unique, Server};

const DEPLOYER_SEED: u8 = 7;
/// A string found only in the hashed script, so the saved heap can be searched for it.
const JS_MARKER: &str = "TAMPER-PROBE-5d1c9e";
const JS_KEY: &str = "/assets/app-5d1c9e.js";

impl Server {
    /// GET through the gateway (`?canisterId=` on 127.0.0.1), no automatic decompression.
    async fn get(&self, canister: Principal, path: &str, gzip: bool) -> Page {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("http://127.0.0.1:{}{path}{sep}canisterId={canister}", self.port);
        let mut req = reqwest::Client::new().get(&url);
        if gzip {
            req = req.header("accept-encoding", "gzip");
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = r.status().as_u16();
        let header = |name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_string());
        let (content_type, content_encoding, cache_control) = (header("content-type"), header("content-encoding"), header("cache-control"));
        let error_cause = header("x-ic-error-cause");
        let body = r.bytes().await.unwrap().to_vec();
        Page { status, content_type, content_encoding, cache_control, error_cause, body }
    }
}

#[derive(Debug)]
struct Page {
    status: u16,
    content_type: Option<String>,
    content_encoding: Option<String>,
    cache_control: Option<String>,
    error_cause: Option<String>,
    body: Vec<u8>,
}

impl Page {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A built web app: index.html loading a hashed script, as Vite emits.
fn web_app(root: &Path, title: &str) -> PathBuf {
    let dir = root.join(format!("dist-{}", unique()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    let html = format!(
        "<!doctype html><html><head><title>{title}</title><script type=\"module\" src=\"{JS_KEY}\"></script></head>\
         <body><div id=\"app\">{}</div></body></html>",
        "Learn and earn. ".repeat(40)
    );
    std::fs::write(dir.join("index.html"), html).unwrap();
    let js = format!("// {JS_MARKER}\nconst app = document.getElementById('app');\n{}", "app.dataset.ready = 'yes';\n".repeat(60));
    std::fs::write(dir.join(JS_KEY.trim_start_matches('/')), js).unwrap();
    dir
}

fn gunzip(bytes: &[u8]) -> String {
    let mut s = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(bytes), &mut s).expect("a gzip body");
    s
}

// ------------------------------------------------------------------ SNS governance over ic-agent

fn neuron() -> NeuronId {
    // platform_deploy gives the deployer the only neuron, id [1; 32].
    NeuronId { id: vec![1; 32] }
}

async fn propose(agent: &Agent, d: &Deployment, title: &str, action: Action) -> Result<ProposalData, String> {
    let p = Proposal { title: title.into(), summary: format!("{title}.\n\nSubmitted by the frontend_assets test."), url: String::new(), action: Some(action) };
    let reply = agent
        .update(&d.sns_governance, "manage_neuron")
        .with_arg(Encode!(&ManageNeuron::make_proposal(&neuron(), p)).unwrap())
        .call_and_wait()
        .await
        .expect("manage_neuron");
    let id = match candid::decode_one::<ManageNeuronResponse>(&reply).unwrap().proposal_id() {
        Ok(id) => id,
        Err(e) => return Err(format!("{e:?}")),
    };
    // One neuron holds all the voting power: adopted at once; execution is asynchronous.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = agent
            .query(&d.sns_governance, "get_proposal")
            .with_arg(Encode!(&GetProposal { proposal_id: Some(id) }).unwrap())
            .call()
            .await
            .expect("get_proposal");
        let Some(GetProposalResult::Proposal(data)) = candid::decode_one::<GetProposalResponse>(&reply).unwrap().result else {
            panic!("proposal {id:?} not found");
        };
        match data.status() {
            ProposalDecisionStatus::Executed => return Ok(data),
            ProposalDecisionStatus::Failed | ProposalDecisionStatus::Rejected => {
                return Err(format!("proposal {title:?}: {:?}, {:?}", data.status(), data.failure_reason))
            }
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            s => panic!("proposal {title:?} still {s:?} after 60 s"),
        }
    }
}

/// `sns/custom_functions/1006_commit_proposed_batch.json`, targeting the deployed canister.
fn function_1006(frontend: Principal) -> NervousSystemFunction {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sns/custom_functions/1006_commit_proposed_batch.json");
    let f: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let s = |k: &str| f[k].as_str().unwrap_or_else(|| panic!("{k} in {}", path.display())).to_string();
    assert_eq!(s("target_canister"), "frontend_assets");
    assert_eq!(f["id"], 1006);
    assert_eq!(s("topic"), "DappCanisterManagement");
    NervousSystemFunction {
        id: 1006,
        name: s("name"),
        description: Some(s("description")),
        function_type: Some(FunctionType::GenericNervousSystemFunction(GenericNervousSystemFunction {
            target_canister_id: Some(frontend),
            target_method_name: Some(s("target_method")),
            validator_canister_id: Some(frontend),
            validator_method_name: Some(s("validator_method")),
            topic: Some(Topic::DappCanisterManagement),
        })),
    }
}

async fn deploy(server: &Server, app: &Path) -> (Agent, Deployment, Principal) {
    let deployer = server.agent(DEPLOYER_SEED);
    let options = DeployOptions { config: None, frontend: Some(app.to_path_buf()), registration_policy: Some(platform_types::RegistrationPolicy::Open) };
    let d = platform_deploy::deploy_with(&deployer, &platform_deploy::default_wasm_dir(), &options).await.expect("deploy");
    let frontend = d.frontend_assets.expect("the frontend canister");
    (deployer, d, frontend)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_is_served_certified_and_changed_only_by_sns_proposal() {
    let server = Server::start();
    let app = web_app(&server.dir, "Version one");
    let (deployer, d, frontend) = deploy(&server, &app).await;
    let me = deployer.get_principal().unwrap();

    // --- Served and verified through the gateway.
    let index = server.get(frontend, "/", false).await;
    assert_eq!(index.status, 200, "{}", index.text());
    assert!(index.text().contains("<title>Version one</title>"));
    assert_eq!(index.content_type.as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(index.cache_control.as_deref(), Some("no-cache"));
    assert_eq!(index.content_encoding, None);
    // SPA routes without an asset of their own get index.html (the library's certified fallback).
    let deep = server.get(frontend, "/learn/unit-1", false).await;
    assert_eq!(deep.status, 200, "{}", deep.text());
    assert_eq!(deep.body, index.body);
    // The hashed script: long-lived, immutable, gzip when accepted.
    let js = server.get(frontend, JS_KEY, false).await;
    assert_eq!(js.status, 200, "{}", js.text());
    assert!(js.text().contains(JS_MARKER));
    assert_eq!(js.content_type.as_deref(), Some("text/javascript; charset=utf-8"));
    assert_eq!(js.cache_control.as_deref(), Some(assets::IMMUTABLE_CACHE_CONTROL));
    let js_gz = server.get(frontend, JS_KEY, true).await;
    assert_eq!(js_gz.status, 200, "{}", js_gz.text());
    assert_eq!(js_gz.content_encoding.as_deref(), Some("gzip"));
    assert!(js_gz.body.len() < js.body.len());
    assert_eq!(gunzip(&js_gz.body), js.text());
    let index_gz = server.get(frontend, "/index.html", true).await;
    assert_eq!((index_gz.status, index_gz.content_encoding.as_deref()), (200, Some("gzip")));
    assert_eq!(gunzip(&index_gz.body), index.text());
    // The generated platform.json.
    let pj = server.get(frontend, "/platform.json", false).await;
    assert_eq!(pj.status, 200, "{}", pj.text());
    assert_eq!(pj.cache_control.as_deref(), Some("no-cache"));
    let v: serde_json::Value = serde_json::from_slice(&pj.body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"network": "local", "staking_hub": d.staking_hub.to_text(), "frontend": frontend.to_text()})
    );

    // --- Handoff: SNS governance commits, the deployer only prepares; root controls the canister.
    assert_eq!(assets::list_permitted(&deployer, frontend, Permission::Commit).await.unwrap(), vec![d.sns_governance]);
    assert_eq!(assets::list_permitted(&deployer, frontend, Permission::Prepare).await.unwrap(), vec![me]);
    let status = deployer
        .read_state_canister_controllers(frontend)
        .await
        .expect("controllers of frontend_assets");
    assert_eq!(status, vec![d.sns_root]);

    // --- A direct commit by the deployer is refused.
    let refused = deployer
        .update(&frontend, "commit_batch")
        .with_arg(Encode!(&CommitBatchArguments { batch_id: Nat::from(0u8), operations: vec![] }).unwrap())
        .call_and_wait()
        .await;
    let err = refused.expect_err("the deployer has no Commit permission").to_string();
    assert!(err.contains("Caller does not have Commit permission"), "{err}");

    // --- Function 1006 registered by proposal.
    propose(&deployer, &d, "Register 1006", Action::AddGenericNervousSystemFunction(function_1006(frontend)))
        .await
        .expect("registering 1006");

    // --- A new version staged with Prepare: nothing changes until the proposal executes.
    let app2 = web_app(&server.dir, "Version two");
    let platform_json = assets::get_asset(&deployer, frontend, "/platform.json").await.unwrap().expect("platform.json");
    let proposed = assets::propose_dir(&deployer, frontend, &app2, &[("/platform.json".into(), platform_json)]).await.expect("propose_dir");
    assert_eq!(proposed.evidence.len(), 32);
    // A voter recomputes the evidence from the same build, without any permission.
    let voter = server.agent(99);
    let recomputed = assets::local_evidence(&voter, frontend, &app2, &[("/platform.json".into(), pj.body.clone())]).await.unwrap();
    assert_eq!(hex(&recomputed), hex(&proposed.evidence), "the locally computed evidence matches the canister's");
    let other = assets::local_evidence(&voter, frontend, &app, &[("/platform.json".into(), pj.body.clone())]).await.unwrap();
    assert_ne!(other.to_vec(), proposed.evidence, "another build gives other evidence");
    assert_eq!(proposed.summary.uploaded_encodings, ["/index.html (identity)", "/index.html (gzip)"], "only the changed page is uploaded");
    assert!(server.get(frontend, "/", false).await.text().contains("Version one"), "the old page until the proposal executes");
    let args = CommitProposedBatchArguments { batch_id: proposed.batch_id.clone(), evidence: ByteBuf::from(proposed.evidence.clone()) };
    let rendering = assets::validate_commit_proposed_batch(&deployer, frontend, &args).await.unwrap().expect("valid");
    assert!(rendering.contains(&hex(&proposed.evidence)), "{rendering}");
    let wrong = CommitProposedBatchArguments { batch_id: proposed.batch_id.clone(), evidence: ByteBuf::from(vec![0; 32]) };
    assert!(assets::validate_commit_proposed_batch(&deployer, frontend, &wrong).await.unwrap().is_err());

    // A proposal with the wrong evidence is refused at submission by the validator.
    let bad = Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction { function_id: 1006, payload: Encode!(&wrong).unwrap() });
    assert!(propose(&deployer, &d, "Commit the web app (wrong evidence)", bad).await.is_err());
    assert!(server.get(frontend, "/", false).await.text().contains("Version one"));

    let good = Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction { function_id: 1006, payload: Encode!(&args).unwrap() });
    let data = propose(&deployer, &d, "Commit the web app", good).await.expect("the 1006 proposal executes");
    assert!(data.payload_text_rendering.unwrap_or_default().contains(&hex(&proposed.evidence)));
    let index = server.get(frontend, "/", false).await;
    assert_eq!(index.status, 200, "{}", index.text());
    assert!(index.text().contains("<title>Version two</title>"), "{}", index.text());
    assert_eq!(server.get(frontend, "/learn/unit-1", false).await.body, index.body);
    assert_eq!(server.get(frontend, "/platform.json", false).await.body, pj.body, "platform.json kept");
    assert_eq!(server.get(frontend, JS_KEY, false).await.body, js.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_refuses_an_asset_whose_bytes_were_altered() {
    let server = Server::start();
    let app = web_app(&server.dir, "Tamper test");
    let (_deployer, _d, frontend) = deploy(&server, &app).await;
    assert_eq!(server.get(frontend, JS_KEY, false).await.status, 200);
    assert_eq!(server.get(frontend, "/", false).await.status, 200);

    // Stop (the state is saved), alter the script's bytes in the saved heap, restart.
    let dir = server.stop();
    let canister_dir = dir.join("state/net/canisters").join(frontend.to_text());
    let altered = tamper_heap(&canister_dir, JS_MARKER.as_bytes(), JS_MARKER.to_lowercase().as_bytes());
    assert!(altered > 0);
    let server = Server::start_in(dir);

    let js = server.get(frontend, JS_KEY, false).await;
    assert_eq!(js.status, 503, "the altered asset must be refused: {}", js.text());
    assert!(js.text().contains("Response Verification Error"), "{}", js.text());
    assert_eq!(js.error_cause.as_deref(), Some("backend_response_verification"));
    assert!(!js.text().contains(&JS_MARKER.to_lowercase()), "the altered bytes are not passed on");
    // The untouched page is still served and verified.
    let index = server.get(frontend, "/", false).await;
    assert_eq!(index.status, 200, "{}", index.text());
    assert!(index.text().contains("Tamper test"));
}

/// Replaces every occurrence of `from` by `to` (same length) in the saved heap of a canister
/// (`heap.bin`, raw), and records the new heap's SHA-256 in `canister.cbor` where the old one
/// was (both are hex text of the same length), so the engine loads the altered heap. The
/// certification data the canister keeps in its heap is left as it was. Returns the number of
/// occurrences replaced.
fn tamper_heap(canister_dir: &Path, from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let heap_path = canister_dir.join("heap.bin");
    let mut heap = std::fs::read(&heap_path).unwrap_or_else(|e| panic!("{}: {e}", heap_path.display()));
    let old_sha = hex(&Sha256::digest(&heap));
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= heap.len() {
        if &heap[i..i + from.len()] == from {
            heap[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(n > 0, "the marker is not in the saved heap");
    let new_sha = hex(&Sha256::digest(&heap));
    std::fs::write(&heap_path, &heap).unwrap();
    let meta_path = canister_dir.join("canister.cbor");
    let meta = std::fs::read(&meta_path).unwrap();
    let at: Vec<usize> = meta.windows(old_sha.len()).enumerate().filter(|(_, w)| *w == old_sha.as_bytes()).map(|(i, _)| i).collect();
    assert_eq!(at.len(), 1, "the heap's SHA-256 is recorded once in canister.cbor");
    let mut meta = meta;
    meta[at[0]..at[0] + new_sha.len()].copy_from_slice(new_sha.as_bytes());
    std::fs::write(&meta_path, meta).unwrap();
    n
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first upload of a mainnet deployment (docs/deploy.md): frontend_assets installed by the
/// deployer, who holds Commit until the DAO takes it; `platform-deploy upload-assets --pem`
/// uploads the web app with the `/platform.json` naming the IC. Another identity cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_upload_is_the_deployers_with_a_pem() {
    let server = Server::start();
    let app = web_app(&server.dir, "First release");
    let deployer = server.agent(DEPLOYER_SEED);
    let mgmt = platform_deploy::Management { agent: &deployer };
    let id = mgmt.create_canister().await.unwrap();
    let wasm = std::fs::read(platform_deploy::default_wasm_dir().join("frontend_assets.wasm.gz")).unwrap();
    let init: Option<assets::AssetCanisterArgs> = Some(assets::AssetCanisterArgs::Init(assets::InitArgs::default()));
    mgmt.install(id, wasm, candid::encode_one(init).unwrap()).await.unwrap();
    let hub = Principal::from_text("pvm5g-xaaaa-aaaar-qaaia-cai").unwrap();

    let upload = |seed: u8| {
        let pem = server.dir.join(format!("id-{seed}.pem"));
        std::fs::write(&pem, common::ed25519_pem([seed; 32])).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_platform-deploy"))
            .args(["upload-assets", "--canister", &id.to_text(), "--staking-hub", &hub.to_text(), "--url", &server.url])
            .arg("--dir")
            .arg(&app)
            .arg("--root-key")
            .arg(server.dir.join("state/root_key.der"))
            .arg("--pem")
            .arg(&pem)
            .output()
            .unwrap()
    };
    let stranger = upload(DEPLOYER_SEED + 1);
    assert_eq!(stranger.status.code(), Some(1), "{}", String::from_utf8_lossy(&stranger.stderr));
    assert!(String::from_utf8_lossy(&stranger.stderr).contains("platform-deploy: "));
    assert_ne!(server.get(id, "/index.html", false).await.status, 200, "nothing uploaded by the stranger");

    let r = upload(DEPLOYER_SEED);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let index = server.get(id, "/", false).await;
    assert!(index.text().contains("<title>First release</title>"), "{}", index.text());
    let pj: serde_json::Value = serde_json::from_slice(&server.get(id, "/platform.json", false).await.body).unwrap();
    assert_eq!(pj["network"], "ic");
    assert_eq!(pj["staking_hub"], hub.to_text());
    assert_eq!(pj["frontend"], id.to_text());
}
