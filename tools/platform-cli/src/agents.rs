//! ic-agent plumbing: agents that share one HTTP client and one subnet-key cache (a learner's
//! agent is a clone with its own identity), ingress expiry that follows the network's clock
//! (which simulated days move ahead of the wall clock), and typed calls whose errors are sorted
//! into kinds for the report.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::Principal;
use ic_agent::identity::BasicIdentity;
use ic_agent::{Agent, AgentError, Identity};

/// A base agent for the network's clock `offset` ahead of the wall clock: the agent sets
/// ingress_expiry = wall clock + duration, and the network accepts [its now, now + 6 min].
pub fn base_agent(url: &str, root_key: &[u8], http: reqwest::Client, offset: Duration, identity: Arc<dyn Identity>) -> anyhow::Result<Agent> {
    let agent = Agent::builder()
        .with_url(url)
        .with_http_client(http)
        .with_arc_identity(identity)
        .with_ingress_expiry(offset + Duration::from_secs(4 * 60))
        .with_max_concurrent_requests(1024)
        .with_max_polling_time(Duration::from_secs(120))
        .build()
        .context("building the agent")?;
    agent.set_root_key(root_key.to_vec());
    Ok(agent)
}

pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")
}

pub fn identity(seed: &[u8; 32]) -> Arc<dyn Identity> {
    Arc::new(BasicIdentity::from_raw_key(seed))
}

pub fn with_identity(base: &Agent, identity: Arc<dyn Identity>) -> Agent {
    let mut a = base.clone();
    a.set_arc_identity(identity);
    a
}

/// A failed call: its kind (for the report's error tables) and the message.
#[derive(Debug, Clone)]
pub struct CallError {
    pub kind: String,
    pub message: String,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for CallError {}

impl CallError {
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        CallError { kind: kind.into(), message: message.into() }
    }

    /// Stopped or stopping canisters (upgrades), a network that is busy: worth a retry.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind.as_str(), "NoCapacity" | "InProgress" | "SubmissionInProgress" | "RewardsUnavailable" | "ShardDisabled" | "ContentUnavailable" | "TryLater")
            || self.kind.starts_with("reject IC0508")
            || self.kind.starts_with("reject IC0509")
            || self.kind.starts_with("reject IC0207")
            || self.kind.starts_with("reject SYS_TRANSIENT")
            || self.kind == "transport"
    }
}

fn classify(e: AgentError) -> CallError {
    match &e {
        AgentError::CertifiedReject { reject, .. } | AgentError::UncertifiedReject { reject, .. } => {
            let code = reject.error_code.clone().unwrap_or_else(|| format!("{:?}", reject.reject_code));
            CallError::new(format!("reject {code}"), reject.reject_message.clone())
        }
        AgentError::TransportError(_) | AgentError::TimeoutWaitingForResponse() => CallError::new("transport", e.to_string()),
        AgentError::CertificateOutdated(_) => CallError::new("certificate outdated", e.to_string()),
        _ => CallError::new("agent", e.to_string()),
    }
}

pub async fn update<A: ArgumentEncoder, R: for<'de> ArgumentDecoder<'de>>(
    agent: &Agent,
    canister: Principal,
    method: &str,
    args: A,
) -> Result<R, CallError> {
    let arg = candid::encode_args(args).map_err(|e| CallError::new("encode", e.to_string()))?;
    let bytes = agent.update(&canister, method).with_arg(arg).call_and_wait().await.map_err(classify)?;
    candid::decode_args(&bytes).map_err(|e| CallError::new("decode", format!("{method}: {e}")))
}

pub async fn query<A: ArgumentEncoder, R: for<'de> ArgumentDecoder<'de>>(
    agent: &Agent,
    canister: Principal,
    method: &str,
    args: A,
) -> Result<R, CallError> {
    let arg = candid::encode_args(args).map_err(|e| CallError::new("encode", e.to_string()))?;
    let bytes = agent.query(&canister, method).with_arg(arg).call().await.map_err(classify)?;
    candid::decode_args(&bytes).map_err(|e| CallError::new("decode", format!("{method}: {e}")))
}

/// Convenience for one-value replies, with the error as anyhow (deployer and DAO calls).
pub async fn query1<A: ArgumentEncoder, R: for<'de> candid::Deserialize<'de> + candid::CandidType>(
    agent: &Agent,
    canister: Principal,
    method: &str,
    args: A,
) -> anyhow::Result<R> {
    let (r,): (R,) = query(agent, canister, method, args).await.with_context(|| format!("{canister}.{method}"))?;
    Ok(r)
}

pub async fn update1<A: ArgumentEncoder, R: for<'de> candid::Deserialize<'de> + candid::CandidType>(
    agent: &Agent,
    canister: Principal,
    method: &str,
    args: A,
) -> anyhow::Result<R> {
    let (r,): (R,) = update(agent, canister, method, args).await.with_context(|| format!("{canister}.{method}"))?;
    Ok(r)
}

/// Retries `f` while it fails transiently, at most `attempts` times with a growing pause
/// (50 ms doubling to 2 s). Every attempt is reported to `on_attempt`.
pub async fn retry<T, F, Fut>(attempts: u32, mut on_attempt: impl FnMut(&Result<T, CallError>), mut f: F) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CallError>>,
{
    let mut pause = Duration::from_millis(50);
    let mut n = 0;
    loop {
        n += 1;
        let r = f().await;
        on_attempt(&r);
        match r {
            Err(e) if e.is_transient() && n < attempts => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
}
