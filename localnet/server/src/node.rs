//! One local network on a thread of its own. The engine (`localnet::LocalNet`) is
//! single-threaded, as a replica's execution is; HTTP handlers send it jobs through a queue and
//! await their answers. In live mode the thread also runs rounds by itself, like a replica: a
//! round whenever there is work, time following the wall clock, so timers fire on time.
//!
//! Requests that arrive over the HTTP interface are tracked by request id here
//! ([`Engine::submit`]), so `read_state` can certify their status and a synchronous call can
//! wait for its outcome.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candid::Principal;
use localnet::{Certifier, LocalNet, LocalNetBuilder, RawMessageId, RejectResponse};
use tokio::sync::oneshot;

use crate::keys::Keys;
use crate::state_tree::{self, Path, StateTree};

pub type RequestId = [u8; 32];

/// How long a request's final status stays readable after its expiry (then it is forgotten).
const STATUS_RETENTION_NS: u64 = 5 * 60 * 1_000_000_000;
/// A live node with nothing to do looks for due timers this often.
const IDLE_POLL: Duration = Duration::from_millis(2);
/// Jobs run between two rounds at most, so a flood of requests cannot starve execution.
const JOBS_PER_ROUND: usize = 512;

/// The live network's clock: the wall clock plus an offset that only grows. Time jumps
/// ([`Engine::advance_clock`], e.g. simulated days) raise the offset, so the clock keeps
/// running at wall-clock speed after a jump instead of standing still until the wall clock
/// catches up, and it never goes back.
pub struct Clock {
    offset_ns: AtomicU64,
}

impl Clock {
    pub const fn new() -> Clock {
        Clock { offset_ns: AtomicU64::new(0) }
    }

    pub fn now_nanos(&self) -> u64 {
        wall_clock_nanos().saturating_add(self.offset_ns.load(Ordering::Relaxed))
    }

    pub fn offset(&self) -> Duration {
        Duration::from_nanos(self.offset_ns.load(Ordering::Relaxed))
    }

    pub fn advance(&self, by: Duration) {
        self.offset_ns.fetch_add(by.as_nanos().min(u64::MAX as u128) as u64, Ordering::Relaxed);
    }

    /// Raises the offset so that the clock reads at least `nanos` (e.g. a saved state's time).
    pub fn catch_up_to(&self, nanos: u64) {
        let wall = wall_clock_nanos();
        self.offset_ns.fetch_max(nanos.saturating_sub(wall), Ordering::Relaxed);
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// The clock of the live network(s) this process serves (the gateway and query signatures
/// read it through [`now_nanos`]).
pub static CLOCK: Clock = Clock::new();

pub fn wall_clock_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_nanos() as u64
}

/// The network's "now": the wall clock plus the offset of time jumps ([`Clock`]).
pub fn now_nanos() -> u64 {
    CLOCK.now_nanos()
}

/// Signs canisters' data certificates with the network's root key.
pub(crate) struct KeyCertifier(pub(crate) Arc<Keys>);

impl Certifier for KeyCertifier {
    fn root_key(&self) -> Vec<u8> {
        self.0.root_key_der().to_vec()
    }
    fn data_certificate(&self, canister: Principal, certified_data: &[u8], time: u64) -> Vec<u8> {
        let mut tree = StateTree::default();
        tree.insert(&[b"canister", canister.as_slice(), b"certified_data"], certified_data.to_vec());
        tree.insert(&[b"time"], state_tree::leb128(time));
        state_tree::certificate(&self.0, &tree.full())
    }
}

/// The status of a request as `read_state` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestStatus {
    Processing(RawMessageId),
    Replied(Vec<u8>),
    Rejected(RejectResponse),
    /// Expired: the reply is gone.
    Done,
}

impl RequestStatus {
    pub fn is_final(&self) -> bool {
        !matches!(self, RequestStatus::Processing(_))
    }
}

struct Tracked {
    sender: Principal,
    status: RequestStatus,
    expiry: u64,
}

/// The network and what the server keeps beside it; jobs get `&mut Engine`.
pub struct Engine {
    pub net: LocalNet,
    pub keys: Arc<Keys>,
    /// Rounds run by themselves, time follows the wall clock.
    pub live: bool,
    /// What live time follows ([`CLOCK`]).
    clock: &'static Clock,
    requests: HashMap<RequestId, Tracked>,
    pending: HashMap<RawMessageId, RequestId>,
    waiters: HashMap<RequestId, Vec<oneshot::Sender<()>>>,
    stop: bool,
}

impl Engine {
    /// Moves the network's clock up to the wall clock plus the jumps made so far ([`Clock`];
    /// live mode only; it never goes back).
    pub fn sync_time(&mut self) {
        if self.live {
            let now = self.clock.now_nanos();
            if now > self.net.get_time_nanos() {
                self.net.set_time(UNIX_EPOCH + Duration::from_nanos(now));
            }
        }
    }

    /// Jumps the live network's time forward by `by` (e.g. a simulated day): due timers fire
    /// in the next rounds, and time goes on at wall-clock speed from there (never back).
    /// Without live mode it is `LocalNet::advance_time`.
    pub fn advance_clock(&mut self, by: Duration) {
        if self.live {
            self.clock.advance(by);
            self.sync_time();
        } else {
            self.net.advance_time(by);
        }
    }

    /// How far the network's clock runs ahead of the wall clock.
    pub fn clock_offset(&self) -> Duration {
        Duration::from_nanos(self.net.get_time_nanos().saturating_sub(wall_clock_nanos()))
    }

    /// One round, then the tracked requests it finished are settled and expired ones dropped.
    pub fn tick(&mut self) {
        self.sync_time();
        self.net.tick();
        self.settle();
        self.expire();
    }

    fn settle(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let done: Vec<(RawMessageId, Result<Vec<u8>, RejectResponse>)> =
            self.pending.keys().filter_map(|id| self.net.ingress_status(*id).map(|r| (*id, r))).collect();
        for (id, result) in done {
            let rid = self.pending.remove(&id).expect("pending");
            self.net.forget_ingress(id);
            if let Some(t) = self.requests.get_mut(&rid) {
                t.status = match result {
                    Ok(reply) => RequestStatus::Replied(reply),
                    Err(reject) => RequestStatus::Rejected(reject),
                };
            }
            for w in self.waiters.remove(&rid).unwrap_or_default() {
                let _ = w.send(());
            }
        }
    }

    /// Final statuses turn `done` at expiry and are forgotten a while later.
    fn expire(&mut self) {
        let now = self.net.get_time_nanos();
        self.requests.retain(|_, t| {
            if t.status.is_final() && t.expiry < now {
                t.status = RequestStatus::Done;
            }
            !(t.status == RequestStatus::Done && t.expiry.saturating_add(STATUS_RETENTION_NS) < now)
        });
    }

    /// Submits an ingress call under its request id. A request id seen before is not executed
    /// again (the IC drops duplicates), and answers `Ok` like the first time.
    #[allow(clippy::too_many_arguments)]
    pub fn submit(
        &mut self,
        request_id: RequestId,
        sender: Principal,
        canister_id: Principal,
        method: &str,
        arg: Vec<u8>,
        expiry: u64,
    ) -> Result<(), RejectResponse> {
        if self.requests.contains_key(&request_id) {
            return Ok(());
        }
        self.sync_time();
        let id = self.net.submit_call(canister_id, sender, method, arg)?;
        self.requests.insert(request_id, Tracked { sender, status: RequestStatus::Processing(id), expiry });
        self.pending.insert(id, request_id);
        Ok(())
    }

    pub fn request_status(&self, request_id: &RequestId) -> Option<(Principal, RequestStatus)> {
        self.requests.get(request_id).map(|t| (t.sender, t.status.clone()))
    }

    /// A receiver that fires when the request reaches a final status (at once if it has).
    pub fn wait_for(&mut self, request_id: RequestId) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        match self.requests.get(&request_id) {
            Some(t) if !t.status.is_final() => self.waiters.entry(request_id).or_default().push(tx),
            _ => {
                let _ = tx.send(());
            }
        }
        rx
    }

    /// The part of the state tree that `paths` reach (and `time`): a certificate reveals only
    /// what was asked, so only that is built, and the cost of a certificate does not grow with
    /// the number of requests or canisters. A requested path that does not exist is still
    /// proved absent, because the subtree it would be in is built whole.
    pub fn state_tree_for(&self, paths: &[Path]) -> StateTree {
        let mut t = StateTree::default();
        t.insert(&[b"time"], state_tree::leb128(self.net.get_time_nanos()));
        for path in paths {
            match path.first().map(|l| l.as_slice()) {
                Some(b"subnet") => self.insert_subnet(&mut t),
                Some(b"canister") => match path.get(1).and_then(|c| Principal::try_from_slice(c).ok()) {
                    Some(id) => {
                        let is_metadata = path.get(2).map(|l| l.as_slice()) == Some(b"metadata".as_slice());
                        self.insert_canister(&mut t, id, if is_metadata { path.get(3) } else { None })
                    }
                    None => {
                        for id in self.net.canister_ids() {
                            self.insert_canister(&mut t, id, None);
                        }
                    }
                },
                Some(b"request_status") => match path.get(1) {
                    Some(rid) => {
                        if let Some(r) = <[u8; 32]>::try_from(rid.as_slice()).ok().and_then(|rid| self.requests.get(&rid).map(|r| (rid, r))) {
                            insert_request(&mut t, &r.0, &r.1.status);
                        }
                    }
                    None => {
                        for (rid, r) in &self.requests {
                            insert_request(&mut t, rid, &r.status);
                        }
                    }
                },
                _ => {}
            }
        }
        t
    }

    fn insert_subnet(&self, t: &mut StateTree) {
        let subnet = self.keys.subnet_id();
        let sid = subnet.as_slice();
        t.insert(&[b"subnet", sid, b"public_key"], self.keys.root_key_der().to_vec());
        // Every canister id localnet makes (u64 ++ 0x0101) lies in this one range.
        let ranges = vec![(localnet::canister_id_from_u64(0), localnet::canister_id_from_u64(u64::MAX))];
        t.insert(&[b"subnet", sid, b"canister_ranges"], state_tree::self_describing_cbor(&ranges));
        let node = self.keys.node_id();
        t.insert(&[b"subnet", sid, b"node", node.as_slice(), b"public_key"], self.keys.node_key_der().to_vec());
    }

    /// A canister's entries; a metadata section only when asked for by name (they can be large).
    fn insert_canister(&self, t: &mut StateTree, id: Principal, metadata: Option<&Vec<u8>>) {
        let Some(certified_data) = self.net.certified_data(id) else { return };
        let cid = id.as_slice();
        t.insert(&[b"canister", cid, b"certified_data"], certified_data);
        t.insert(&[b"canister", cid, b"controllers"], state_tree::self_describing_cbor(&self.net.get_controllers(id)));
        if let Some(hash) = self.net.module_hash(id) {
            t.insert(&[b"canister", cid, b"module_hash"], hash.to_vec());
        }
        if let Some(name) = metadata {
            if let Some((_, data)) = self.net.canister_metadata_section(id, &String::from_utf8_lossy(name)) {
                t.insert(&[b"canister", cid, b"metadata", name], data);
            }
        }
    }

    /// A certificate revealing `paths` (and always `time`).
    pub fn certify(&self, paths: &[Path]) -> Vec<u8> {
        let mut paths = paths.to_vec();
        paths.push(vec![b"time".to_vec()]);
        let tree = self.state_tree_for(&paths).witness(&paths);
        state_tree::certificate(&self.keys, &tree)
    }
}

fn insert_request(t: &mut StateTree, rid: &RequestId, status: &RequestStatus) {
    let at = |leaf: &'static [u8]| -> [&[u8]; 3] { [b"request_status", rid, leaf] };
    match status {
        RequestStatus::Processing(_) => t.insert(&at(b"status"), b"processing".to_vec()),
        RequestStatus::Replied(reply) => {
            t.insert(&at(b"status"), b"replied".to_vec());
            t.insert(&at(b"reply"), reply.clone());
        }
        RequestStatus::Rejected(reject) => {
            t.insert(&at(b"status"), b"rejected".to_vec());
            t.insert(&at(b"reject_code"), state_tree::leb128(reject.reject_code as u64));
            t.insert(&at(b"reject_message"), reject.reject_message.clone().into_bytes());
            t.insert(&at(b"error_code"), reject.error_code.to_string().into_bytes());
        }
        RequestStatus::Done => t.insert(&at(b"status"), b"done".to_vec()),
    }
}

type Job = Box<dyn FnOnce(&mut Engine) + Send>;

/// What a node is started with.
pub struct NodeConfig {
    pub keys: Arc<Keys>,
    pub live: bool,
    /// Fees, limits, start time; the node adds its certifier.
    pub builder: LocalNetBuilder,
    /// Where the network's state is loaded from at start and saved to at shutdown.
    pub state_dir: Option<PathBuf>,
}

/// The error of a job whose network thread is gone (it panicked or was shut down).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeGone(pub String);

impl std::fmt::Display for NodeGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for NodeGone {}

/// A handle to a network thread; cheap to share.
pub struct Node {
    tx: mpsc::Sender<Job>,
    keys: Arc<Keys>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Node {
    /// Starts the network thread; fails if the saved state cannot be loaded.
    pub fn spawn(config: NodeConfig) -> anyhow::Result<Node> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<anyhow::Result<()>>();
        let keys = config.keys.clone();
        let thread = std::thread::Builder::new().name("localnet-engine".into()).spawn(move || {
            let net = match crate::persist::open(&config) {
                Ok(net) => net,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            if config.live {
                // A state saved while the clock ran ahead of the wall clock: go on from there.
                CLOCK.catch_up_to(net.get_time_nanos());
            }
            let mut engine = Engine {
                net,
                keys: config.keys.clone(),
                live: config.live,
                clock: &CLOCK,
                requests: HashMap::new(),
                pending: HashMap::new(),
                waiters: HashMap::new(),
                stop: false,
            };
            let _ = ready_tx.send(Ok(()));
            run_loop(&mut engine, rx);
            if let Some(dir) = &config.state_dir {
                if let Err(e) = crate::persist::save(&engine.net, dir) {
                    eprintln!("localnet: saving the state failed: {e:#}");
                }
            }
        })?;
        ready_rx.recv().map_err(|_| anyhow::anyhow!("the network thread died while starting"))??;
        Ok(Node { tx, keys, thread: std::sync::Mutex::new(Some(thread)) })
    }

    pub fn keys(&self) -> &Arc<Keys> {
        &self.keys
    }

    /// Runs `f` on the network thread and returns its result.
    pub async fn run<R: Send + 'static>(&self, f: impl FnOnce(&mut Engine) -> R + Send + 'static) -> Result<R, NodeGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Box::new(move |e| {
                let _ = tx.send(f(e));
            }))
            .map_err(|_| NodeGone("the network has shut down".into()))?;
        rx.await.map_err(|_| NodeGone("the network thread failed while handling this request (see the server log)".into()))
    }

    /// Like [`run`](Self::run), for callers outside the async runtime.
    pub fn run_blocking<R: Send + 'static>(&self, f: impl FnOnce(&mut Engine) -> R + Send + 'static) -> Result<R, NodeGone> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(Box::new(move |e| {
                let _ = tx.send(f(e));
            }))
            .map_err(|_| NodeGone("the network has shut down".into()))?;
        rx.recv().map_err(|_| NodeGone("the network thread failed while handling this request (see the server log)".into()))
    }

    /// Waits (at most `timeout`) for a tracked request to reach a final status; `true` if it did.
    pub async fn wait_for(&self, request_id: RequestId, timeout: Duration) -> bool {
        let Ok(rx) = self.run(move |e| e.wait_for(request_id)).await else { return false };
        matches!(tokio::time::timeout(timeout, rx).await, Ok(Ok(())))
    }

    /// Stops the thread: jobs queued before run first, then the state is saved (with a state dir).
    pub fn shutdown(&self) {
        let handle = self.thread.lock().expect("lock").take();
        if let Some(h) = handle {
            let _ = self.tx.send(Box::new(|e: &mut Engine| e.stop = true));
            let _ = h.join();
        }
    }
}

fn run_loop(engine: &mut Engine, rx: mpsc::Receiver<Job>) {
    loop {
        let busy = engine.live && engine.net.has_work();
        let first = if busy {
            rx.try_recv().map_err(|e| matches!(e, mpsc::TryRecvError::Disconnected))
        } else {
            let wait = if engine.live { IDLE_POLL } else { Duration::from_millis(100) };
            rx.recv_timeout(wait).map_err(|e| matches!(e, mpsc::RecvTimeoutError::Disconnected))
        };
        let mut jobs = Vec::new();
        match first {
            Ok(job) => jobs.push(job),
            Err(true) => return,
            Err(false) => {}
        }
        while jobs.len() < JOBS_PER_ROUND {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        for job in jobs {
            if let Err(payload) = std::panic::catch_unwind(AssertUnwindSafe(|| job(engine))) {
                let what = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".into());
                eprintln!("localnet: a request failed inside the network: {what}");
            }
        }
        if engine.stop {
            return;
        }
        if engine.live {
            engine.sync_time();
            if engine.net.has_work() {
                engine.tick();
            }
            engine.expire();
        } else {
            engine.settle();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_engine(clock: &'static Clock) -> Engine {
        Engine {
            net: LocalNet::builder().build(),
            keys: Arc::new(Keys::generate()),
            live: true,
            clock,
            requests: HashMap::new(),
            pending: HashMap::new(),
            waiters: HashMap::new(),
            stop: false,
        }
    }

    #[test]
    fn a_time_jump_is_kept_and_time_goes_on_from_there() {
        let clock: &'static Clock = Box::leak(Box::new(Clock::new()));
        let mut e = live_engine(clock);
        e.sync_time();
        let before = e.net.get_time_nanos();
        assert!(before.abs_diff(wall_clock_nanos()) < 60_000_000_000, "live time follows the wall clock");
        let day = Duration::from_secs(86_400);
        e.advance_clock(day);
        let jumped = e.net.get_time_nanos();
        assert!(jumped >= before + day.as_nanos() as u64);
        // The wall-clock sync neither undoes the jump nor stops the clock.
        std::thread::sleep(Duration::from_millis(20));
        e.tick();
        let later = e.net.get_time_nanos();
        assert!(later >= jumped + 10_000_000, "time runs on after the jump: {jumped} -> {later}");
        assert!(e.clock_offset() >= day - Duration::from_secs(1));
        e.advance_clock(day);
        assert!(e.net.get_time_nanos() >= later + day.as_nanos() as u64);
        // Another network's clock is not affected.
        assert_eq!(Clock::new().offset(), Duration::ZERO);
    }

    #[test]
    fn catching_up_to_a_saved_time_never_moves_the_clock_back() {
        let clock = Clock::new();
        let ahead = wall_clock_nanos() + 3_600_000_000_000;
        clock.catch_up_to(ahead);
        assert!(clock.now_nanos() >= ahead);
        let offset = clock.offset();
        clock.catch_up_to(wall_clock_nanos());
        assert_eq!(clock.offset(), offset);
    }
}
