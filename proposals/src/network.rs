//! Talking to a network: the identity from a PEM file, an ic-agent `Agent`, and the SNS
//! governance calls the CLI makes (submit, vote, get and list proposals) plus the module hash a
//! voter checks after an upgrade.
//!
//! Errors say what to do: a missing file, a PEM that holds neither key type the tools write, an
//! encrypted PEM, a network that does not answer, governance refusing a command.

use anyhow::{anyhow, bail, Context as _};
use candid::{CandidType, Decode, Encode, Principal};
use ic_agent::identity::{BasicIdentity, Prime256v1Identity, Secp256k1Identity};
use ic_agent::{Agent, AgentError, Identity};
use platform_types::sns::{
    GetProposal, GetProposalResponse, GetProposalResult, ListProposals, ListProposalsResponse,
    ManageNeuron, ManageNeuronResponse, NeuronId, Proposal, ProposalData, ProposalId, Vote,
};
use serde::de::DeserializeOwned;
use std::path::Path;
use std::time::Duration;

/// `--network ic`: the IC's API boundary nodes (dfx and icp-cli use the same).
pub const IC_URL: &str = "https://icp-api.io";
/// `--network local`: `localnet serve`'s (and dfx's) default address.
pub const LOCAL_URL: &str = "http://127.0.0.1:4943";

/// The URL of a `--network` value: `ic`, `local`, or an `http(s)://` URL.
pub fn network_url(network: &str) -> anyhow::Result<String> {
    match network {
        "ic" => Ok(IC_URL.into()),
        "local" => Ok(LOCAL_URL.into()),
        url if url.starts_with("http://") || url.starts_with("https://") => Ok(url.trim_end_matches('/').into()),
        other => bail!("--network {other:?}: expected ic, local, or an http(s):// URL"),
    }
}

/// Whether the URL is one of the IC's own gateways, whose root key ic-agent has built in.
pub fn is_ic_mainnet(url: &str) -> bool {
    let host = url.split("://").nth(1).unwrap_or(url).split(['/', ':']).next().unwrap_or("");
    ["icp-api.io", "ic0.app", "icp0.io"].iter().any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// The identity in a PEM file, as the tools write it:
/// * Ed25519 in PKCS#8 ("PRIVATE KEY"): `dfx identity export` of an Ed25519 identity, icp-cli;
/// * secp256k1 in SEC1 ("EC PRIVATE KEY", dfx's default identities) or PKCS#8;
/// * prime256v1 (P-256) in SEC1 or PKCS#8, which dfx can also create.
///
/// Encrypted files are refused with a hint (ic-agent cannot decrypt them).
pub fn identity_from_pem(path: &Path) -> anyhow::Result<Box<dyn Identity>> {
    let bytes = std::fs::read(path).with_context(|| format!("--pem {}: cannot read the identity file", path.display()))?;
    identity_from_pem_bytes(&bytes).with_context(|| format!("--pem {}", path.display()))
}

/// [`identity_from_pem`] on the file's bytes.
pub fn identity_from_pem_bytes(bytes: &[u8]) -> anyhow::Result<Box<dyn Identity>> {
    let text = std::str::from_utf8(bytes).map_err(|_| anyhow!("not a PEM file (it is not text)"))?;
    let labels: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .collect();
    if labels.is_empty() {
        bail!("not a PEM file (no -----BEGIN ...----- line)");
    }
    // PKCS#8 encrypted (dfx's and icp-cli's password-protected identities are stored this way)
    // and OpenSSL's legacy encrypted SEC1 ("Proc-Type: 4,ENCRYPTED").
    if labels.contains(&"ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        bail!(
            "the PEM file is encrypted; export it unencrypted first (`dfx identity export <NAME> > me.pem`, \
             `icp identity export <NAME> > me.pem`) and keep that file private"
        );
    }
    let mut errors = Vec::new();
    if labels.contains(&"EC PRIVATE KEY") {
        match Secp256k1Identity::from_pem(bytes) {
            Ok(id) => return Ok(Box::new(id)),
            Err(e) => errors.push(format!("secp256k1: {e}")),
        }
        match Prime256v1Identity::from_pem(bytes) {
            Ok(id) => return Ok(Box::new(id)),
            Err(e) => errors.push(format!("prime256v1: {e}")),
        }
    } else if labels.contains(&"PRIVATE KEY") {
        match BasicIdentity::from_pem(bytes) {
            Ok(id) => return Ok(Box::new(id)),
            Err(e) => errors.push(format!("Ed25519: {e}")),
        }
        match Secp256k1Identity::from_pem(bytes) {
            Ok(id) => return Ok(Box::new(id)),
            Err(e) => errors.push(format!("secp256k1: {e}")),
        }
        match Prime256v1Identity::from_pem(bytes) {
            Ok(id) => return Ok(Box::new(id)),
            Err(e) => errors.push(format!("prime256v1: {e}")),
        }
    } else {
        bail!(
            "the PEM file holds {:?}, not a private key: expected \"PRIVATE KEY\" (Ed25519 or secp256k1, PKCS#8) \
             or \"EC PRIVATE KEY\" (secp256k1, as dfx writes it)",
            labels
        );
    }
    bail!("the private key is neither Ed25519 nor secp256k1 (nor prime256v1): {}", errors.join("; "))
}

/// An agent for `url` that signs with `identity`. `root_key` (DER) is required for a network
/// other than the IC (ic-agent has the IC's built in). Checks that the network answers.
pub async fn agent(url: &str, identity: Box<dyn Identity>, root_key: Option<Vec<u8>>) -> anyhow::Result<Agent> {
    let agent = Agent::builder()
        .with_url(url)
        .with_boxed_identity(identity)
        // A network that refuses connections is reported at once rather than retried.
        .with_max_tcp_error_retries(0)
        .build()
        .with_context(|| format!("--network {url}"))?;
    match root_key {
        Some(key) => agent.set_root_key(key),
        None if is_ic_mainnet(url) => {}
        None => bail!(
            "--network {url} is not the IC: give its root key with --root-key FILE (DER; `localnet serve` writes \
             <state-dir>/root_key.der)"
        ),
    }
    let status = tokio::time::timeout(Duration::from_secs(30), agent.status())
        .await
        .map_err(|_| anyhow!("the network at {url} did not answer within 30 s"))?
        .map_err(|e| anyhow!("cannot reach the network at {url}: {e}"))?;
    if let (Some(theirs), false) = (status.root_key.as_ref(), is_ic_mainnet(url)) {
        if *theirs != agent.read_root_key() {
            bail!("--root-key is not the root key of the network at {url} (it reports another one): wrong file?");
        }
    }
    Ok(agent)
}

/// How long a signed call may take before the CLI gives up on it.
const CALL_TIMEOUT: Duration = Duration::from_secs(300);

async fn update<A: CandidType, R: CandidType + DeserializeOwned>(
    agent: &Agent,
    canister: Principal,
    method: &str,
    arg: &A,
) -> anyhow::Result<R> {
    let bytes = Encode!(arg).map_err(|e| anyhow!("encoding the {method} argument: {e}"))?;
    let reply = tokio::time::timeout(CALL_TIMEOUT, agent.update(&canister, method).with_arg(bytes).call_and_wait())
        .await
        .map_err(|_| anyhow!("{canister}.{method}: no reply within {} s", CALL_TIMEOUT.as_secs()))?
        .map_err(|e| call_error(canister, method, e))?;
    Decode!(&reply, R).map_err(|e| anyhow!("{canister}.{method}: unexpected reply: {e}"))
}

async fn query<A: CandidType, R: CandidType + DeserializeOwned>(
    agent: &Agent,
    canister: Principal,
    method: &str,
    arg: &A,
) -> anyhow::Result<R> {
    let bytes = Encode!(arg).map_err(|e| anyhow!("encoding the {method} argument: {e}"))?;
    let reply = tokio::time::timeout(CALL_TIMEOUT, agent.query(&canister, method).with_arg(bytes).call())
        .await
        .map_err(|_| anyhow!("{canister}.{method}: no reply within {} s", CALL_TIMEOUT.as_secs()))?
        .map_err(|e| call_error(canister, method, e))?;
    Decode!(&reply, R).map_err(|e| anyhow!("{canister}.{method}: unexpected reply: {e}"))
}

fn call_error(canister: Principal, method: &str, e: AgentError) -> anyhow::Error {
    match e {
        AgentError::CertifiedReject { reject, .. } | AgentError::UncertifiedReject { reject, .. } => anyhow!(
            "{canister}.{method} was rejected ({:?}): {}",
            reject.reject_code,
            reject.reject_message
        ),
        other => anyhow!("{canister}.{method}: {other}"),
    }
}

/// Submits a proposal; governance's refusal (e.g. a validator's `Err`, a neuron without the
/// permission or the stake for the rejection fee) is the error.
pub async fn make_proposal(agent: &Agent, governance: Principal, neuron: &NeuronId, proposal: Proposal) -> anyhow::Result<ProposalId> {
    let reply: ManageNeuronResponse =
        update(agent, governance, "manage_neuron", &ManageNeuron::make_proposal(neuron, proposal)).await?;
    reply.proposal_id().map_err(|e| anyhow!("SNS governance refused the proposal: {e}"))
}

pub async fn register_vote(
    agent: &Agent,
    governance: Principal,
    neuron: &NeuronId,
    proposal: ProposalId,
    vote: Vote,
) -> anyhow::Result<()> {
    let reply: ManageNeuronResponse =
        update(agent, governance, "manage_neuron", &ManageNeuron::register_vote(neuron, proposal, vote)).await?;
    reply.vote_result().map_err(|e| anyhow!("SNS governance refused the vote: {e}"))
}

pub async fn get_proposal(agent: &Agent, governance: Principal, id: ProposalId) -> anyhow::Result<ProposalData> {
    let reply: GetProposalResponse = query(agent, governance, "get_proposal", &GetProposal { proposal_id: Some(id) }).await?;
    match reply.result {
        Some(GetProposalResult::Proposal(p)) => Ok(p),
        Some(GetProposalResult::Error(e)) => bail!("proposal {}: {e}", id.id),
        None => bail!("proposal {}: governance replied without a result", id.id),
    }
}

/// The newest `limit` proposals (newest first).
pub async fn list_proposals(agent: &Agent, governance: Principal, limit: u32) -> anyhow::Result<Vec<ProposalData>> {
    let arg = ListProposals { limit, ..Default::default() };
    let reply: ListProposalsResponse = query(agent, governance, "list_proposals", &arg).await?;
    Ok(reply.proposals)
}

/// Polls `get_proposal` until the proposal is decided and, when adopted, executed or failed;
/// `None` when it is still undecided (or still executing) at `timeout`.
pub async fn wait_for_outcome(
    agent: &Agent,
    governance: Principal,
    id: ProposalId,
    timeout: Duration,
) -> anyhow::Result<Result<ProposalData, ProposalData>> {
    use platform_types::sns::ProposalDecisionStatus::*;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let p = get_proposal(agent, governance, id).await?;
        if matches!(p.status(), Rejected | Executed | Failed) {
            return Ok(Ok(p));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Err(p));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The module hash of a canister from the certified state tree (`None`: no module installed).
pub async fn module_hash(agent: &Agent, canister: Principal) -> anyhow::Result<Option<Vec<u8>>> {
    match agent.read_state_canister_info(canister, "module_hash").await {
        Ok(hash) => Ok(Some(hash)),
        Err(AgentError::LookupPathAbsent(_)) => Ok(None),
        Err(e) => Err(anyhow!("reading the module hash of {canister}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519_SEED: &str = "d41f3700f52b9abc942ad425b5e03cfe72a00eb249169937633c190be8d02938";

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/identities").join(name)
    }

    fn principal(name: &str) -> Principal {
        identity_from_pem(&fixture(name)).unwrap().sender().unwrap()
    }

    #[test]
    fn urls() {
        assert_eq!(network_url("ic").unwrap(), IC_URL);
        assert_eq!(network_url("local").unwrap(), LOCAL_URL);
        assert_eq!(network_url("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080");
        assert!(network_url("mainnet").is_err());
        assert!(is_ic_mainnet("https://icp-api.io"));
        assert!(is_ic_mainnet("https://ic0.app/"));
        assert!(!is_ic_mainnet("http://127.0.0.1:4943"));
        assert!(!is_ic_mainnet("https://icp-api.io.example.com"));
    }

    #[test]
    fn reads_the_key_types_the_tools_write() {
        // ed25519.pem is PKCS#8 of this 32-byte seed (openssl genpkey -algorithm ed25519).
        let seed: [u8; 32] = hex::decode(ED25519_SEED).unwrap().try_into().unwrap();
        assert_eq!(principal("ed25519.pem"), BasicIdentity::from_raw_key(&seed).sender().unwrap());
        // The same secp256k1 key as dfx writes it (SEC1) and in PKCS#8.
        assert_eq!(principal("secp256k1_sec1.pem"), principal("secp256k1_pkcs8.pem"));
        assert_ne!(principal("secp256k1_sec1.pem"), principal("ed25519.pem"));
        let p256 = principal("prime256v1_sec1.pem");
        assert_ne!(p256, principal("secp256k1_sec1.pem"));
    }

    fn error_of(name: &str) -> String {
        format!("{:#}", identity_from_pem(&fixture(name)).err().expect("must be refused"))
    }

    #[test]
    fn refuses_what_it_cannot_sign_with_and_says_why() {
        let missing = error_of("no_such.pem");
        assert!(missing.contains("cannot read the identity file") && missing.contains("no_such.pem"), "{missing}");
        let encrypted = error_of("ed25519_encrypted.pem");
        assert!(encrypted.contains("encrypted") && encrypted.contains("identity export"), "{encrypted}");
        let rsa = error_of("rsa.pem");
        assert!(rsa.contains("neither Ed25519 nor secp256k1"), "{rsa}");
        let not_pem = format!("{:#}", identity_from_pem_bytes(b"hello").err().unwrap());
        assert!(not_pem.contains("not a PEM file"), "{not_pem}");
        let public = format!("{:#}", identity_from_pem_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").err().unwrap());
        assert!(public.contains("not a private key"), "{public}");
        let legacy = "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n";
        let legacy = format!("{:#}", identity_from_pem_bytes(legacy.as_bytes()).err().unwrap());
        assert!(legacy.contains("encrypted"), "{legacy}");
    }
}
