//! The subnet: canisters, message queues, call contexts, callbacks, rounds and cycles.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use candid::Principal;
use ic_management_canister_types::LogVisibility;

use crate::cycles::{self, FeeSchedule};
use crate::instance::{Entry, ExecError, ExecResult, Policy, WasmInstance};
use crate::system_api::{ApiType, ExecState, OutgoingCall, Response};
use crate::types::*;
use crate::wasm::PreparedModule;

/// A reject as delivered to a caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reject {
    pub code: ErrorCode,
    pub message: String,
}

impl Reject {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Reject { code, message: message.into() }
    }
    pub fn into_response(self) -> RejectResponse {
        RejectResponse::new(self.code, self.message)
    }
}

impl From<ExecError> for Reject {
    fn from(e: ExecError) -> Self {
        Reject { code: e.code, message: e.message }
    }
}

pub(crate) type CallResult = Result<Vec<u8>, Reject>;

/// Where the response to a call goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Ingress(RawMessageId),
    Canister { canister: Principal, callback: u64 },
    /// Timers and heartbeats: nobody waits for a response.
    System,
}

#[derive(Clone, Debug)]
pub(crate) enum Message {
    Request {
        from: Principal,
        to: Principal,
        method: String,
        arg: Vec<u8>,
        cycles: u128,
        origin: Origin,
        deadline: u64,
        root: Option<RawMessageId>,
    },
    Response {
        callback: u64,
        result: CallResult,
        refund: u128,
    },
    GlobalTimer(Principal),
    Heartbeat(Principal),
}

impl Message {
    /// Requests between one pair of canisters keep their order; everything else may interleave.
    fn stream_key(&self, seq: u64) -> (u8, Principal, Principal, u64) {
        match self {
            Message::Request { from, to, .. } => (0, *from, *to, 0),
            _ => (1, Principal::anonymous(), Principal::anonymous(), seq),
        }
    }
}

pub(crate) struct CallContext {
    pub canister: Principal,
    pub origin: Origin,
    pub caller: Principal,
    pub responded: bool,
    pub outstanding: u32,
    pub available_cycles: u128,
    pub deadline: u64,
    pub instructions: u64,
    pub root: Option<RawMessageId>,
}

pub(crate) struct Callback {
    pub owner: Principal,
    pub call_context: u64,
    pub call: OutgoingCall,
    pub deadline: Option<u64>,
}

#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub compute_allocation: u64,
    pub memory_allocation: u64,
    pub freezing_threshold: u64,
    pub reserved_cycles_limit: u128,
    pub log_visibility: LogVisibility,
    pub log_memory_limit: u64,
    pub wasm_memory_limit: u64,
    pub wasm_memory_threshold: u64,
    pub env_vars: Vec<(String, String)>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            compute_allocation: 0,
            memory_allocation: 0,
            freezing_threshold: cycles::DEFAULT_FREEZING_THRESHOLD_SECONDS,
            reserved_cycles_limit: cycles::DEFAULT_RESERVED_CYCLES_LIMIT,
            log_visibility: LogVisibility::Controllers,
            log_memory_limit: 4096 * 1024,
            wasm_memory_limit: cycles::DEFAULT_WASM_MEMORY_LIMIT,
            wasm_memory_threshold: 0,
            env_vars: Vec::new(),
        }
    }
}

pub(crate) struct SnapshotData {
    pub id: Vec<u8>,
    pub taken_at: u64,
    pub installed_module: Vec<u8>,
    pub prepared: Arc<PreparedModule>,
    pub heap: Vec<u8>,
    pub globals: Vec<wasmtime::Val>,
    pub stable: crate::stable::StableMemory,
    pub certified_data: Vec<u8>,
    pub global_timer: u64,
}

impl SnapshotData {
    pub fn total_size(&self) -> u64 {
        (self.installed_module.len() + self.heap.len()) as u64 + self.stable.size_bytes()
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MemoryUsage {
    pub heap: u64,
    pub stable: u64,
    pub globals: u64,
    pub wasm_binary: u64,
    pub custom_sections: u64,
    pub chunk_store: u64,
    pub snapshots: u64,
}

impl MemoryUsage {
    pub fn total(&self) -> u64 {
        self.heap + self.stable + self.globals + self.wasm_binary + self.custom_sections + self.chunk_store + self.snapshots
    }
}

pub(crate) struct Canister {
    pub id: Principal,
    pub controllers: Vec<Principal>,
    pub status: CanisterRunStatus,
    pub balance: u128,
    pub settings: Settings,
    pub instance: Option<WasmInstance>,
    /// The module bytes as installed (kept for snapshots and `canister_status`).
    pub installed_module: Vec<u8>,
    pub version: u64,
    pub certified_data: Vec<u8>,
    pub global_timer: u64,
    pub timer_queued: bool,
    pub logs: VecDeque<CanisterLogRecord>,
    pub log_bytes: usize,
    pub next_log_idx: u64,
    pub chunk_store: BTreeMap<Vec<u8>, Vec<u8>>,
    pub snapshots: Vec<SnapshotData>,
    pub next_snapshot: u64,
    pub open_call_contexts: u64,
    pub storage_charged_at: u64,
    pub stop_waiters: Vec<(Origin, u64)>,
    pub query_calls: u64,
    pub query_instructions: u64,
    /// Index of the subnet the canister lives on (`Net::subnets`).
    pub subnet: usize,
}

impl Canister {
    /// The memory the canister pays for, by kind (what `canister_status` reports).
    pub fn memory_usage(&self) -> MemoryUsage {
        let inst = self.instance.as_ref();
        MemoryUsage {
            heap: inst.map(|i| i.heap_size() as u64).unwrap_or(0),
            stable: inst.map(|i| i.stable().size_bytes()).unwrap_or(0),
            globals: inst.map(|i| i.prepared.mutable_globals as u64 * 8).unwrap_or(0),
            wasm_binary: self.installed_module.len() as u64,
            custom_sections: inst.map(|i| i.prepared.custom_sections_size).unwrap_or(0),
            chunk_store: self.chunk_store.values().map(|c| c.len() as u64).sum(),
            snapshots: self.snapshots.iter().map(|s| s.total_size()).sum(),
        }
    }

    pub fn memory_bytes(&self) -> u64 {
        self.memory_usage().total()
    }

    pub fn freezing_threshold_cycles(&self, fees: &FeeSchedule) -> u128 {
        fees.freezing_threshold_cycles(self.memory_bytes(), self.settings.freezing_threshold, 0)
    }

    pub fn log(&mut self, time: u64, content: Vec<u8>) {
        self.log_bytes += content.len();
        self.logs.push_back(CanisterLogRecord { idx: self.next_log_idx, timestamp_nanos: time, content });
        self.next_log_idx += 1;
        while self.log_bytes > self.settings.log_memory_limit as usize {
            match self.logs.pop_front() {
                Some(r) => self.log_bytes -= r.content.len(),
                None => break,
            }
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum IngressStatus {
    Pending,
    Done(Result<Vec<u8>, RejectResponse>),
}

/// Message order within a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheduling {
    /// Arrival order.
    Deterministic,
    /// A seeded random interleaving that keeps each canister pair's requests in order.
    Seeded(u64),
}

/// splitmix64: small, seedable and good enough for scheduling and `raw_rand`.
pub(crate) struct Rng(u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// The generator's state, to save it (`persist`).
    pub fn state(&self) -> u64 {
        self.0
    }
    pub fn from_state(state: u64) -> Self {
        Rng(state)
    }
}

pub(crate) const MAX_EXECUTION_LOG: usize = 100_000;

/// Canister ids per subnet: subnet `k` owns the contiguous range `[k << 20, (k + 1) << 20)`, as
/// the IC's registry hands each subnet ranges of 2^20 ids. Subnet 0 starts at id 0, so a
/// one-subnet net allocates exactly the ids it always did.
pub const CANISTER_IDS_PER_SUBNET: u64 = 1 << 20;

/// What one subnet may execute in a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundLimits {
    /// A subnet starts no further message in a round once its executions in that round used
    /// this many instructions; the message that crosses the line completes (as the last
    /// message of an IC execution thread does). Messages left over wait for the subnet's next
    /// round, in order.
    pub instructions_per_round: u64,
    /// At most this many ingress messages are inducted per subnet and round (the IC's block
    /// holds at most 1,000 ingress messages); the rest wait for the next round, in order.
    pub ingress_messages_per_round: u64,
}

impl RoundLimits {
    /// No limit: every queued message executes in the next round (localnet's default, so
    /// single-subnet tests count rounds exactly as before subnets existed).
    pub const UNLIMITED: RoundLimits =
        RoundLimits { instructions_per_round: u64::MAX, ingress_messages_per_round: u64::MAX };
    /// The IC's figures (docs/localnet.md, "Subnets"): 4 execution threads at the scheduler's
    /// target of 2B instructions each per round (~1 round per second, so the subnet's 8B
    /// instructions per second), and at most 1,000 ingress messages per block.
    pub const IC: RoundLimits =
        RoundLimits { instructions_per_round: 4 * 2_000_000_000, ingress_messages_per_round: 1_000 };
}

/// What a subnet executed, for benchmarks (`LocalNet::subnet_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubnetStats {
    /// Rounds in which the subnet executed at least one message.
    pub busy_rounds: u64,
    /// Messages delivered on the subnet (requests, responses, timers, heartbeats, and
    /// requests to its management canister).
    pub messages: u64,
    /// Instructions of every replicated execution on the subnet.
    pub instructions: u64,
    /// The most instructions the subnet executed in one round.
    pub max_round_instructions: u64,
    /// Messages that did not fit a round and waited for the next (counted once per wait).
    pub deferred: u64,
}

/// One application subnet: its id, its canister-id range and what it executed.
pub(crate) struct Subnet {
    pub id: Principal,
    /// The next id number to try in this subnet's range.
    pub next_canister_id: u64,
    pub stats: SubnetStats,
    /// The current round's instructions and inducted ingress messages.
    pub round_instructions: u64,
    pub round_ingress: u64,
    pub round_messages: u64,
}

impl Subnet {
    pub fn new(index: usize, id: Principal) -> Self {
        Subnet {
            id,
            next_canister_id: index as u64 * CANISTER_IDS_PER_SUBNET,
            stats: SubnetStats::default(),
            round_instructions: 0,
            round_ingress: 0,
            round_messages: 0,
        }
    }

    pub fn id_range(index: usize) -> std::ops::Range<u64> {
        let start = index as u64 * CANISTER_IDS_PER_SUBNET;
        start..start + CANISTER_IDS_PER_SUBNET
    }
}

/// Subnet 0's id without a certifier: fixed and self-authenticating-shaped (29 bytes).
pub(crate) const DEFAULT_SUBNET_ID: [u8; 29] = [0x5a; 29];

/// The id of subnet `index` >= 1: a self-authenticating principal derived from the root key
/// and the index, so it is stable across saves and distinct per network.
pub(crate) fn derived_subnet_id(root_key: &[u8], index: usize) -> Principal {
    let mut seed = b"localnet subnet ".to_vec();
    seed.extend_from_slice(&(index as u64).to_be_bytes());
    seed.extend_from_slice(root_key);
    Principal::self_authenticating(&seed)
}
pub(crate) const STOP_CANISTER_TIMEOUT_NS: u64 = 5 * 60 * 1_000_000_000;

pub(crate) struct Net {
    pub canisters: BTreeMap<Principal, Canister>,
    /// The application subnets; every net has at least one. Rounds run in lockstep on all.
    pub subnets: Vec<Subnet>,
    pub round_limits: RoundLimits,
    /// Cross-subnet messages in flight: (the round they arrive in, message), in send order.
    pub xnet: VecDeque<(u64, Message)>,
    /// The subnet executing the message being delivered (`None` outside a round's delivery).
    pub executing_subnet: Option<usize>,
    /// Canisters that may address another subnet's management canister by its subnet id (on
    /// the IC only NNS canisters may; the cycles minting canister does to create canisters).
    pub subnet_addressing: BTreeSet<Principal>,
    pub time: u64,
    pub scheduling: Scheduling,
    pub rng: Rng,
    pub queue: VecDeque<Message>,
    pub call_contexts: HashMap<u64, CallContext>,
    pub callbacks: HashMap<u64, Callback>,
    /// Open callbacks per (caller, callee): what `ic0.call_perform` checks against
    /// [`cycles::MAX_OUTSTANDING_CALLS_PER_PAIR`]. Kept with `callbacks` (`count_callbacks`).
    pub outstanding_by_pair: HashMap<(Principal, Principal), u32>,
    pub deadlines: BTreeSet<(u64, u64)>,
    pub next_id: u64,
    pub ingress: HashMap<RawMessageId, IngressStatus>,
    pub fees: FeeSchedule,
    pub limits: cycles::InstructionLimits,
    pub certifier: Arc<dyn crate::certificate::Certifier>,
    pub root_key: Arc<Vec<u8>>,
    pub execution_log: VecDeque<ExecutionRecord>,
    pub round: u64,
    /// The trap of the last failed callback per call context, reported if it ends unanswered.
    pub last_callback_error: HashMap<u64, Reject>,
    /// Fault injection (tests): update calls to a canister (of one method, or any) that trap
    /// before their first instruction, and how many more will. Not saved by `save_state`.
    pub injected_traps: HashMap<(Principal, Option<String>), u32>,
}

impl Net {
    pub fn new(time: u64, scheduling: Scheduling) -> Self {
        let seed = match scheduling {
            Scheduling::Seeded(s) => s,
            Scheduling::Deterministic => 0,
        };
        Net {
            canisters: BTreeMap::new(),
            subnets: vec![Subnet::new(0, Principal::from_slice(&DEFAULT_SUBNET_ID))],
            round_limits: RoundLimits::UNLIMITED,
            xnet: VecDeque::new(),
            executing_subnet: None,
            subnet_addressing: BTreeSet::new(),
            time,
            scheduling,
            rng: Rng(seed ^ 0x6c6f_6361_6c6e_6574),
            queue: VecDeque::new(),
            call_contexts: HashMap::new(),
            callbacks: HashMap::new(),
            outstanding_by_pair: HashMap::new(),
            deadlines: BTreeSet::new(),
            next_id: 1,
            ingress: HashMap::new(),
            fees: FeeSchedule::APPLICATION_SUBNET,
            limits: cycles::InstructionLimits::IC,
            certifier: Arc::new(crate::certificate::UnsignedCertifier),
            root_key: Arc::new(crate::system_api::root_key()),
            execution_log: VecDeque::new(),
            round: 0,
            last_callback_error: HashMap::new(),
            injected_traps: HashMap::new(),
        }
    }

    pub fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Subnet 0's id (the one a single-subnet net has always had).
    pub fn subnet_id(&self) -> Principal {
        self.subnets[0].id
    }

    /// Sets the number of subnets (never fewer than there are) and derives the ids of
    /// subnets 1.. from the root key.
    pub fn set_subnet_count(&mut self, count: usize) {
        while self.subnets.len() < count.max(1) {
            let index = self.subnets.len();
            self.subnets.push(Subnet::new(index, derived_subnet_id(&self.root_key, index)));
        }
        self.rederive_subnet_ids();
    }

    /// Recomputes the ids of subnets 1.. after the root key changed.
    pub fn rederive_subnet_ids(&mut self) {
        for index in 1..self.subnets.len() {
            self.subnets[index].id = derived_subnet_id(&self.root_key, index);
        }
    }

    /// The subnet whose id is `id`, if any.
    pub fn subnet_index_of_id(&self, id: Principal) -> Option<usize> {
        self.subnets.iter().position(|s| s.id == id)
    }

    /// The subnet whose canister-id range holds `canister`, if that subnet exists.
    pub fn subnet_of_range(&self, canister: &Principal) -> Option<usize> {
        let n = canister_id_to_u64(canister)?;
        let index = (n / CANISTER_IDS_PER_SUBNET) as usize;
        (index < self.subnets.len()).then_some(index)
    }

    /// Where a message to `canister` executes: its subnet, else the subnet of its id range
    /// (which rejects it), else subnet 0.
    pub fn subnet_of(&self, canister: &Principal) -> usize {
        match self.canisters.get(canister) {
            Some(c) => c.subnet,
            None => self.subnet_of_range(canister).unwrap_or(0),
        }
    }

    /// The next free id in `subnet`'s range, or why there is none.
    fn next_free_id(&mut self, subnet: usize) -> Result<Principal, Reject> {
        let range = Subnet::id_range(subnet);
        let mut n = self.subnets[subnet].next_canister_id.max(range.start);
        while n < range.end && self.canisters.contains_key(&canister_id_from_u64(n)) {
            n += 1;
        }
        if n >= range.end {
            return Err(Reject::new(
                ErrorCode::MaxNumberOfCanistersReached,
                format!("Subnet {} has no canister ids left in its range", self.subnets[subnet].id),
            ));
        }
        self.subnets[subnet].next_canister_id = n + 1;
        Ok(canister_id_from_u64(n))
    }

    /// Creates a canister on `subnet` (a specified id lives on the subnet whose range holds
    /// it, where that subnet exists, as routing on the IC follows id ranges).
    pub fn new_canister(
        &mut self,
        id: Option<Principal>,
        controllers: Vec<Principal>,
        cycles: u128,
        subnet: usize,
    ) -> Result<Principal, Reject> {
        if subnet >= self.subnets.len() {
            return Err(Reject::new(
                ErrorCode::CanisterRejectedMessage,
                format!("Subnet index {subnet} does not exist: this network has {} subnets", self.subnets.len()),
            ));
        }
        let (id, subnet) = match id {
            Some(id) => (id, self.subnet_of_range(&id).unwrap_or(subnet)),
            None => (self.next_free_id(subnet)?, subnet),
        };
        self.canisters.insert(
            id,
            Canister {
                id,
                controllers,
                status: CanisterRunStatus::Running,
                balance: cycles,
                settings: Settings::default(),
                instance: None,
                installed_module: Vec::new(),
                version: 0,
                certified_data: Vec::new(),
                global_timer: 0,
                timer_queued: false,
                logs: VecDeque::new(),
                log_bytes: 0,
                next_log_idx: 0,
                chunk_store: BTreeMap::new(),
                snapshots: Vec::new(),
                next_snapshot: 0,
                open_call_contexts: 0,
                storage_charged_at: self.time,
                stop_waiters: Vec::new(),
                query_calls: 0,
                query_instructions: 0,
                subnet,
            },
        );
        Ok(id)
    }

    /// A base `ExecState` for `canister`.
    pub fn exec_state(&self, canister: &Canister, api: ApiType, caller: Principal, limit: u64) -> ExecState {
        let mut e = ExecState::new(api, canister.id, caller, self.time);
        e.balance = canister.balance;
        e.freezing_threshold = canister.freezing_threshold_cycles(&self.fees);
        e.controllers = canister.controllers.clone();
        e.canister_version = canister.version;
        e.status = match canister.status {
            CanisterRunStatus::Running => 1,
            CanisterRunStatus::Stopping => 2,
            CanisterRunStatus::Stopped => 3,
        };
        e.instruction_limit = limit;
        e.env_vars = canister.settings.env_vars.clone();
        e.wasm_memory_limit = canister.settings.wasm_memory_limit;
        e.global_timer = canister.global_timer;
        e.fees = self.fees;
        e.subnet_id = self.subnets[canister.subnet].id;
        e.root_key = self.root_key.clone();
        e.outstanding_calls =
            self.outstanding_by_pair.iter().filter(|((from, _), _)| *from == canister.id).map(|((_, to), n)| (*to, *n)).collect();
        e
    }

    /// `outstanding_by_pair` from `callbacks` (after a load, or an uninstall dropped some).
    pub fn count_callbacks(&mut self) {
        self.outstanding_by_pair.clear();
        for cb in self.callbacks.values() {
            *self.outstanding_by_pair.entry((cb.owner, cb.call.callee)).or_default() += 1;
        }
    }

    pub fn record(&mut self, canister: Principal, entry: String, r: &ExecResult, ingress: Option<RawMessageId>) {
        // Inside a round every execution is replicated and uses its subnet's round budget
        // (user queries and inspect_message run outside rounds).
        if self.executing_subnet.is_some() {
            let subnet = self.subnet_of(&canister);
            self.subnets[subnet].round_instructions += r.instructions;
        }
        if self.execution_log.len() >= MAX_EXECUTION_LOG {
            self.execution_log.pop_front();
        }
        self.execution_log.push_back(ExecutionRecord {
            canister,
            entry,
            instructions: r.instructions,
            dirty_pages: r.dirty_pages,
            trapped: r.outcome.is_err(),
            ingress,
        });
    }

    /// Appends an execution's logs (kept even when it trapped, as on the IC) and its trap.
    pub(crate) fn keep_logs(&mut self, canister: Principal, r: &ExecResult) {
        let time = self.time;
        if let Some(c) = self.canisters.get_mut(&canister) {
            for line in &r.state.logs {
                c.log(time, line.clone());
            }
            if let Err(e) = &r.outcome {
                c.log(time, format!("[TRAP]: {}", e.message).into_bytes());
            }
        }
        if std::env::var_os("LOCALNET_LOG").is_some() {
            for line in &r.state.logs {
                eprintln!("[{canister}] {}", String::from_utf8_lossy(line));
            }
            if let Err(e) = &r.outcome {
                eprintln!("[{canister}] [TRAP] {}", e.message);
            }
        }
    }

    pub fn respond(&mut self, origin: Origin, result: CallResult, refund: u128) {
        match origin {
            Origin::Ingress(id) => {
                self.ingress.insert(id, IngressStatus::Done(result.map_err(Reject::into_response)));
            }
            Origin::Canister { canister, callback } => {
                let message = Message::Response { callback, result, refund };
                let to = self.subnet_of(&canister);
                self.send(to, message);
            }
            Origin::System => {}
        }
    }

    fn error_from(canister: Principal, e: ExecError) -> Reject {
        Reject::new(e.code, format!("Error from Canister {canister}: {}", e.message))
    }

    // ---------------------------------------------------------------- rounds

    /// Executes one round: due timers and heartbeats, expired deadlines, then every
    /// message that was queued before the round started.
    ///
    /// Each subnet executes its messages within its [`RoundLimits`]; what does not fit waits
    /// for the next round, ahead of newer messages. Cross-subnet messages sent two rounds ago
    /// arrive first (one round more than a same-subnet message).
    pub fn tick(&mut self) {
        self.round += 1;
        self.time += 1;
        self.charge_storage();
        self.expire_deadlines();
        self.schedule_tasks();
        while self.xnet.front().is_some_and(|(arrives, _)| *arrives <= self.round) {
            let (_, message) = self.xnet.pop_front().unwrap();
            self.queue.push_back(message);
        }
        for s in &mut self.subnets {
            s.round_instructions = 0;
            s.round_ingress = 0;
            s.round_messages = 0;
        }
        let batch: Vec<Message> = self.queue.drain(..).collect();
        let mut deferred = Vec::new();
        for msg in self.order(batch) {
            let subnet = self.destination_subnet(&msg);
            let is_ingress = matches!(msg, Message::Request { origin: Origin::Ingress(_), .. });
            let s = &mut self.subnets[subnet];
            // Once a subnet is over a limit it stays over for the round, so every later
            // message of a canister pair waits too: pair order is kept.
            let fits = s.round_instructions < self.round_limits.instructions_per_round
                && (!is_ingress || s.round_ingress < self.round_limits.ingress_messages_per_round);
            if !fits {
                s.stats.deferred += 1;
                deferred.push(msg);
                continue;
            }
            s.round_messages += 1;
            if is_ingress {
                s.round_ingress += 1;
            }
            self.executing_subnet = Some(subnet);
            self.deliver(msg);
        }
        self.executing_subnet = None;
        for msg in deferred.into_iter().rev() {
            self.queue.push_front(msg);
        }
        for s in &mut self.subnets {
            if s.round_messages > 0 {
                s.stats.busy_rounds += 1;
                s.stats.messages += s.round_messages;
                s.stats.instructions += s.round_instructions;
                s.stats.max_round_instructions = s.stats.max_round_instructions.max(s.round_instructions);
            }
        }
        self.settle_stopping();
    }

    /// The subnet a message executes on.
    fn destination_subnet(&self, msg: &Message) -> usize {
        match msg {
            Message::Request { from, to, method, arg, .. } => self.request_subnet(*from, *to, method, arg),
            Message::Response { callback, .. } => {
                self.callbacks.get(callback).map(|cb| self.subnet_of(&cb.owner)).unwrap_or(0)
            }
            Message::GlobalTimer(c) | Message::Heartbeat(c) => self.subnet_of(c),
        }
    }

    /// Where a request from `from` to `to` executes. The management canister (`aaaaa-aa`): as
    /// on the IC, the subnet of the canister the request is about (its effective canister id),
    /// else the caller's (`create_canister`, `raw_rand`; subnet 0 for ingress). A subnet id
    /// addresses that subnet's management canister.
    fn request_subnet(&self, from: Principal, to: Principal, method: &str, arg: &[u8]) -> usize {
        if to == Principal::management_canister() {
            if let Some(target) = crate::management::effective_canister_id(method, arg) {
                if let Some(c) = self.canisters.get(&target) {
                    return c.subnet;
                }
            }
            return self.canisters.get(&from).map(|c| c.subnet).unwrap_or(0);
        }
        if let Some(index) = self.subnet_index_of_id(to) {
            return index;
        }
        self.subnet_of(&to)
    }

    /// Queues a message for `to_subnet`: next round on the same subnet (or outside a round),
    /// one round later across subnets.
    fn send(&mut self, to_subnet: usize, message: Message) {
        match self.executing_subnet {
            Some(from) if from != to_subnet => self.xnet.push_back((self.round + 2, message)),
            _ => self.queue.push_back(message),
        }
    }

    fn order(&mut self, batch: Vec<Message>) -> Vec<Message> {
        if self.scheduling == Scheduling::Deterministic || batch.len() < 2 {
            return batch;
        }
        let mut streams: Vec<VecDeque<Message>> = Vec::new();
        let mut index: HashMap<(u8, Principal, Principal, u64), usize> = HashMap::new();
        for (seq, m) in batch.into_iter().enumerate() {
            let key = m.stream_key(seq as u64);
            let i = *index.entry(key).or_insert_with(|| {
                streams.push(VecDeque::new());
                streams.len() - 1
            });
            streams[i].push_back(m);
        }
        let mut out = Vec::new();
        let mut live: Vec<usize> = (0..streams.len()).collect();
        while !live.is_empty() {
            let pick = self.rng.below(live.len());
            let s = live[pick];
            out.push(streams[s].pop_front().unwrap());
            if streams[s].is_empty() {
                live.swap_remove(pick);
            }
        }
        out
    }

    pub fn has_work(&self) -> bool {
        // Deadlines are not work: they only expire when time is advanced.
        !self.queue.is_empty()
            || !self.xnet.is_empty()
            || self.canisters.values().any(|c| {
                c.status == CanisterRunStatus::Stopping
                    // Stopped canisters run no timers, so their due timers are no work.
                    || (c.status == CanisterRunStatus::Running
                        && c.global_timer != 0
                        && c.global_timer <= self.time + 1
                        && !c.timer_queued)
            })
    }

    fn charge_storage(&mut self) {
        let now = self.time;
        let fees = self.fees;
        let mut out_of_cycles = Vec::new();
        for c in self.canisters.values_mut() {
            let elapsed = now.saturating_sub(c.storage_charged_at);
            let cost = fees.storage_cost(c.memory_bytes(), elapsed);
            if cost == 0 {
                continue; // accumulate until at least one cycle is due
            }
            c.storage_charged_at = now;
            if c.balance >= cost {
                c.balance -= cost;
            } else {
                c.balance = 0;
                if c.instance.is_some() {
                    out_of_cycles.push(c.id);
                }
            }
        }
        for id in out_of_cycles {
            self.uninstall(id, "Canister has run out of cycles and its code was uninstalled.");
        }
    }

    fn expire_deadlines(&mut self) {
        while let Some(&(deadline, cb)) = self.deadlines.iter().next() {
            if deadline > self.time {
                break;
            }
            self.deadlines.remove(&(deadline, cb));
            if self.callbacks.contains_key(&cb) {
                self.queue.push_back(Message::Response {
                    callback: cb,
                    result: Err(Reject::new(ErrorCode::DeadlineExpired, "Request timed out.")),
                    refund: 0,
                });
            }
        }
    }

    fn schedule_tasks(&mut self) {
        let now = self.time;
        let mut tasks = Vec::new();
        for c in self.canisters.values_mut() {
            let Some(inst) = &c.instance else { continue };
            if c.status != CanisterRunStatus::Running {
                continue;
            }
            if inst.prepared.has_heartbeat {
                tasks.push(Message::Heartbeat(c.id));
            }
            if c.global_timer != 0 && c.global_timer <= now && !c.timer_queued && inst.prepared.has_global_timer {
                // The timer is deactivated when it fires.
                c.global_timer = 0;
                c.timer_queued = true;
                tasks.push(Message::GlobalTimer(c.id));
            }
        }
        self.queue.extend(tasks);
    }

    fn settle_stopping(&mut self) {
        let now = self.time;
        let mut replies = Vec::new();
        for c in self.canisters.values_mut() {
            if c.status != CanisterRunStatus::Stopping {
                continue;
            }
            if c.open_call_contexts == 0 {
                c.status = CanisterRunStatus::Stopped;
                for (origin, _) in c.stop_waiters.drain(..) {
                    replies.push((origin, Ok(candid::encode_args(()).unwrap())));
                }
            } else {
                let id = c.id;
                c.stop_waiters.retain(|(origin, since)| {
                    if now.saturating_sub(*since) >= STOP_CANISTER_TIMEOUT_NS {
                        replies.push((
                            *origin,
                            Err(Reject::new(
                                ErrorCode::StopCanisterRequestTimeout,
                                format!("Stop canister request for {id} timed out"),
                            )),
                        ));
                        false
                    } else {
                        true
                    }
                });
            }
        }
        for (origin, r) in replies {
            self.respond(origin, r, 0);
        }
    }

    fn deliver(&mut self, msg: Message) {
        match msg {
            Message::Request { from, to, method, arg, cycles, origin, deadline, root } => {
                if to == Principal::management_canister() {
                    let is_ingress = matches!(origin, Origin::Ingress(_));
                    let subnet = self.request_subnet(from, to, &method, &arg);
                    if let Some((result, refund)) =
                        self.handle_management(from, &method, &arg, cycles, origin, is_ingress, subnet)
                    {
                        self.respond(origin, result, refund);
                    }
                } else if let Some(subnet) = self.subnet_index_of_id(to) {
                    // A subnet's own management canister, addressed by its id.
                    if !self.subnet_addressing.contains(&from) {
                        let r = Reject::new(
                            ErrorCode::CanisterRejectedMessage,
                            format!("{from} may not address the management canister of subnet {to}: only canisters allowed to (the cycles minting canister) may"),
                        );
                        return self.respond(origin, Err(r), cycles);
                    }
                    let is_ingress = matches!(origin, Origin::Ingress(_));
                    if let Some((result, refund)) =
                        self.handle_management(from, &method, &arg, cycles, origin, is_ingress, subnet)
                    {
                        self.respond(origin, result, refund);
                    }
                } else {
                    self.execute_request(from, to, method, arg, cycles, origin, deadline, root);
                }
            }
            Message::Response { callback, result, refund } => self.execute_response(callback, result, refund),
            Message::GlobalTimer(c) => self.execute_task(c, "canister_global_timer", "global timer"),
            Message::Heartbeat(c) => self.execute_task(c, "canister_heartbeat", "heartbeat"),
        }
    }

    /// Whether an update call of `method` to `to` is one of the injected traps (then one
    /// fewer is left).
    fn take_injected_trap(&mut self, to: Principal, method: &str) -> bool {
        for key in [(to, Some(method.to_string())), (to, None)] {
            if let Some(left) = self.injected_traps.get_mut(&key) {
                *left -= 1;
                if *left == 0 {
                    self.injected_traps.remove(&key);
                }
                return true;
            }
        }
        false
    }

    /// Why `canister` cannot take a new request right now, if it cannot.
    pub fn check_accepts(&self, to: Principal) -> Result<(), Reject> {
        let Some(c) = self.canisters.get(&to) else {
            return Err(Reject::new(ErrorCode::CanisterNotFound, format!("Canister {to} not found")));
        };
        match c.status {
            CanisterRunStatus::Stopping => {
                return Err(Reject::new(ErrorCode::CanisterStopping, format!("Canister {to} is stopping")))
            }
            CanisterRunStatus::Stopped => {
                return Err(Reject::new(ErrorCode::CanisterStopped, format!("Canister {to} is stopped")))
            }
            CanisterRunStatus::Running => {}
        }
        if c.instance.is_none() {
            return Err(Reject::new(
                ErrorCode::CanisterWasmModuleNotFound,
                format!("Error from Canister {to}: Attempted to execute a message, but the canister contains no Wasm module."),
            ));
        }
        Ok(())
    }

    /// Rejects when the canister cannot pay for `prepay` above its freezing threshold.
    fn check_cycles(&self, c: &Canister, prepay: u128) -> Result<(), Reject> {
        let threshold = c.freezing_threshold_cycles(&self.fees);
        if c.balance < threshold + prepay {
            return Err(Reject::new(
                ErrorCode::CanisterOutOfCycles,
                format!(
                    "Canister {} is out of cycles: please top up the canister with at least {} additional cycles",
                    c.id,
                    threshold + prepay - c.balance
                ),
            ));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn execute_request(
        &mut self,
        from: Principal,
        to: Principal,
        method: String,
        arg: Vec<u8>,
        cycles: u128,
        origin: Origin,
        deadline: u64,
        root: Option<RawMessageId>,
    ) {
        if let Err(r) = self.check_accepts(to) {
            return self.respond(origin, Err(r), cycles);
        }
        let c = &self.canisters[&to];
        let prepared = c.instance.as_ref().unwrap().prepared.clone();
        let (export, api, limit, policy) = if prepared.update_methods.contains(&method) {
            (format!("canister_update {method}"), ApiType::Update, self.limits.update, Policy::Commit)
        } else if prepared.query_methods.contains(&method) {
            (
                format!("canister_query {method}"),
                ApiType::ReplicatedQuery,
                self.limits.query,
                Policy::Discard,
            )
        } else if prepared.composite_query_methods.contains(&method) {
            let r = Reject::new(
                ErrorCode::CompositeQueryCalledInReplicatedMode,
                format!("Error from Canister {to}: Composite query cannot be called in replicated mode"),
            );
            return self.respond(origin, Err(r), cycles);
        } else {
            let r = Reject::new(
                ErrorCode::CanisterMethodNotFound,
                format!("Error from Canister {to}: Canister has no update method '{method}'."),
            );
            return self.respond(origin, Err(r), cycles);
        };
        let prepay = self.fees.execution_cost(limit);
        if let Err(r) = self.check_cycles(c, prepay) {
            return self.respond(origin, Err(r), cycles);
        }
        if api == ApiType::Update && self.take_injected_trap(to, &method) {
            // As a trap at the first instruction: nothing changes, the caller gets the reject
            // and its cycles back (the IC would charge the few instructions run; none here).
            let r = Reject::new(
                ErrorCode::CanisterCalledTrap,
                format!("Error from Canister {to}: Canister called `ic0.trap` with message: 'injected trap (localnet fault injection)'"),
            );
            return self.respond(origin, Err(r), cycles);
        }
        let cc_id = self.fresh_id();
        self.call_contexts.insert(
            cc_id,
            CallContext {
                canister: to,
                origin,
                caller: from,
                responded: false,
                outstanding: 0,
                available_cycles: cycles,
                deadline,
                instructions: 0,
                root,
            },
        );
        let c = self.canisters.get_mut(&to).unwrap();
        c.open_call_contexts += 1;
        let mut exec = self.exec_state(&self.canisters[&to], api, from, limit);
        exec.arg = arg;
        exec.method_name = method.clone();
        exec.cycles_available = cycles;
        exec.deadline = deadline;
        exec.can_reply = true;
        exec.balance -= prepay;
        let kind = if api == ApiType::Update { "update" } else { "query" };
        self.run(to, cc_id, &Entry::Export(export), exec, policy, prepay, format!("{kind} {method}"));
    }

    fn execute_response(&mut self, callback: u64, result: CallResult, refund: u128) {
        let Some(cb) = self.callbacks.remove(&callback) else { return }; // timed out earlier, or owner gone
        if let Some(n) = self.outstanding_by_pair.get_mut(&(cb.owner, cb.call.callee)) {
            *n = n.saturating_sub(1);
        }
        if let Some(d) = cb.deadline {
            self.deadlines.remove(&(d, callback));
        }
        let owner = cb.owner;
        let response_bytes = match &result {
            Ok(b) => b.len(),
            Err(r) => r.message.len(),
        };
        let Some(c) = self.canisters.get_mut(&owner) else { return };
        // Refunded cycles and the unused part of the response reservation come back.
        let release = self.fees.response_reservation()
            - self.fees.xnet_byte_transmission_fee * response_bytes.min(cycles::MAX_PAYLOAD_BYTES) as u128;
        c.balance += refund + release;
        if c.instance.is_none() {
            // Uninstalled meanwhile: the call context was already rejected.
            return;
        }
        let cc = self.call_contexts.get_mut(&cb.call_context).expect("call context of a live callback");
        cc.outstanding -= 1;
        let (api, fun, env) = match &result {
            Ok(_) => (ApiType::ReplyCallback, cb.call.reply.0, cb.call.reply.1),
            Err(_) => (ApiType::RejectCallback, cb.call.reject.0, cb.call.reject.1),
        };
        let (caller, responded, available, deadline) = (cc.caller, cc.responded, cc.available_cycles, cc.deadline);
        let limit = self.limits.update;
        let prepay = self.fees.execution_cost(limit);
        let c = &self.canisters[&owner];
        let mut exec = self.exec_state(c, api, caller, limit);
        exec.balance = exec.balance.saturating_sub(prepay);
        exec.can_reply = !responded;
        exec.cycles_available = available;
        exec.cycles_refunded = refund;
        exec.deadline = deadline;
        match result {
            Ok(bytes) => exec.arg = bytes,
            Err(r) => {
                exec.reject_code = r.code.reject_code() as u32;
                exec.reject_message = r.message;
            }
        }
        let label = if api == ApiType::ReplyCallback { "reply callback" } else { "reject callback" };
        let failed = self.run_callback(owner, cb.call_context, &Entry::Callback { fun, env }, exec, prepay, label);
        if let (true, Some((fun, env))) = (failed, cb.call.cleanup) {
            let c = &self.canisters[&owner];
            let mut exec = self.exec_state(c, ApiType::Cleanup, caller, limit);
            exec.balance = exec.balance.saturating_sub(prepay);
            self.run_callback(owner, cb.call_context, &Entry::Callback { fun, env }, exec, prepay, "cleanup");
        }
        self.finish_call_context(cb.call_context, None);
    }

    fn execute_task(&mut self, canister: Principal, export: &str, label: &str) {
        let is_timer = export == "canister_global_timer";
        let Some(c) = self.canisters.get_mut(&canister) else { return };
        if is_timer {
            c.timer_queued = false;
        }
        let limit = self.limits.update;
        let prepay = self.fees.execution_cost(limit);
        let live = c.status == CanisterRunStatus::Running && c.instance.is_some();
        let runnable = live && self.check_cycles(&self.canisters[&canister], prepay).is_ok();
        if !runnable {
            // Stopped or frozen since the task was queued: a due timer stays armed (it fires
            // once the canister can run again) unless the canister set a new one meanwhile.
            let c = self.canisters.get_mut(&canister).unwrap();
            if is_timer && c.global_timer == 0 && c.instance.is_some() {
                c.global_timer = self.time;
            }
            return;
        }
        let cc_id = self.fresh_id();
        self.call_contexts.insert(
            cc_id,
            CallContext {
                canister,
                origin: Origin::System,
                caller: Principal::management_canister(),
                responded: true,
                outstanding: 0,
                available_cycles: 0,
                deadline: 0,
                instructions: 0,
                root: None,
            },
        );
        self.canisters.get_mut(&canister).unwrap().open_call_contexts += 1;
        let mut exec =
            self.exec_state(&self.canisters[&canister], ApiType::SystemTask, Principal::management_canister(), limit);
        exec.balance -= prepay;
        self.run(canister, cc_id, &Entry::Export(export.to_string()), exec, Policy::Commit, prepay, label.to_string());
    }

    /// Executes a request or task and applies its effects, then settles its call context.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        canister: Principal,
        cc_id: u64,
        entry: &Entry,
        exec: ExecState,
        policy: Policy,
        prepay: u128,
        label: String,
    ) {
        let error = self.execute_and_apply(canister, cc_id, entry, exec, policy, prepay, label);
        self.finish_call_context(cc_id, error);
    }

    /// Returns whether the callback failed.
    fn run_callback(
        &mut self,
        canister: Principal,
        cc_id: u64,
        entry: &Entry,
        exec: ExecState,
        prepay: u128,
        label: &str,
    ) -> bool {
        let error = self.execute_and_apply(canister, cc_id, entry, exec, Policy::Commit, prepay, label.to_string());
        if let Some(e) = error {
            // Remembered so that a context left without reply reports the trap.
            self.last_callback_error.insert(cc_id, e);
            true
        } else {
            false
        }
    }

    /// Runs one execution and applies its effects. Returns the error if it trapped.
    #[allow(clippy::too_many_arguments)]
    fn execute_and_apply(
        &mut self,
        canister: Principal,
        cc_id: u64,
        entry: &Entry,
        mut exec: ExecState,
        policy: Policy,
        prepay: u128,
        label: String,
    ) -> Option<Reject> {
        let cc = &self.call_contexts[&cc_id];
        exec.call_context_instructions = cc.instructions;
        let root = cc.root;
        let c = self.canisters.get_mut(&canister).unwrap();
        let balance_before = c.balance;
        let mut r = c.instance.as_mut().unwrap().execute(entry, exec, policy);
        self.keep_logs(canister, &r);
        self.record(canister, label, &r, root);
        let cost = self.fees.execution_cost(r.instructions);
        let cc = self.call_contexts.get_mut(&cc_id).unwrap();
        cc.instructions += r.instructions;
        let c = self.canisters.get_mut(&canister).unwrap();
        match &r.outcome {
            Ok(()) => {
                let committed = policy != Policy::Discard;
                if committed {
                    c.balance = r.state.balance + prepay - cost.min(prepay);
                } else {
                    // Replicated query: only the accepted cycles and the fee take effect.
                    c.balance = balance_before - cost.min(prepay) + r.state.cycles_accepted;
                }
                let cc = self.call_contexts.get_mut(&cc_id).unwrap();
                cc.available_cycles -= r.state.cycles_accepted;
                if committed {
                    if let Some(t) = r.state.new_global_timer {
                        c.global_timer = t;
                    }
                    if let Some(d) = r.state.new_certified_data.take() {
                        c.certified_data = d;
                    }
                    let calls = std::mem::take(&mut r.state.calls);
                    for call in calls {
                        self.enqueue_call(canister, cc_id, call, root);
                    }
                }
                if let Some(resp) = r.state.response.take() {
                    let cc = self.call_contexts.get_mut(&cc_id).unwrap();
                    cc.responded = true;
                    let refund = std::mem::take(&mut cc.available_cycles);
                    let origin = cc.origin;
                    let result = match resp {
                        Response::Reply(b) => Ok(b),
                        Response::Reject(m) => Err(Reject::new(ErrorCode::CanisterRejectedByCode, m)),
                    };
                    self.respond(origin, result, refund);
                }
                None
            }
            Err(e) => {
                c.balance = balance_before.saturating_sub(cost.min(prepay));
                Some(Self::error_from(canister, e.clone()))
            }
        }
    }

    fn enqueue_call(&mut self, from: Principal, cc_id: u64, call: OutgoingCall, root: Option<RawMessageId>) {
        let cb_id = self.fresh_id();
        let deadline = call.timeout_seconds.map(|s| self.time + s as u64 * 1_000_000_000);
        self.call_contexts.get_mut(&cc_id).unwrap().outstanding += 1;
        if let Some(d) = deadline {
            self.deadlines.insert((d, cb_id));
        }
        let to_subnet = self.request_subnet(from, call.callee, &call.method, &call.payload);
        let message = Message::Request {
            from,
            to: call.callee,
            method: call.method.clone(),
            arg: call.payload.clone(),
            cycles: call.cycles,
            origin: Origin::Canister { canister: from, callback: cb_id },
            deadline: deadline.unwrap_or(0),
            root,
        };
        // The sender's subnet decides the latency (calls are made while it executes).
        let from_subnet = self.subnet_of(&from);
        if from_subnet != to_subnet {
            self.xnet.push_back((self.round + 2, message));
        } else {
            self.queue.push_back(message);
        }
        *self.outstanding_by_pair.entry((from, call.callee)).or_default() += 1;
        self.callbacks.insert(cb_id, Callback { owner: from, call_context: cc_id, call, deadline });
    }

    /// After an execution in a call context: a context with nothing outstanding and no
    /// response gets its reject (the trap, or "did not reply"); an answered one closes.
    fn finish_call_context(&mut self, cc_id: u64, error: Option<Reject>) {
        let Some(cc) = self.call_contexts.get(&cc_id) else { return };
        if cc.outstanding > 0 {
            return;
        }
        let cc = self.call_contexts.remove(&cc_id).unwrap();
        let callback_error = self.last_callback_error.remove(&cc_id);
        if let Some(c) = self.canisters.get_mut(&cc.canister) {
            c.open_call_contexts = c.open_call_contexts.saturating_sub(1);
        }
        if !cc.responded {
            let reject = error.or(callback_error).unwrap_or_else(|| {
                Reject::new(
                    ErrorCode::CanisterDidNotReply,
                    format!("Error from Canister {}: Canister did not produce a response", cc.canister),
                )
            });
            self.respond(cc.origin, Err(reject), cc.available_cycles);
        }
    }

    /// Removes the code, rejecting every call the canister has not answered.
    pub fn uninstall(&mut self, canister: Principal, reason: &str) {
        let open: Vec<u64> =
            self.call_contexts.iter().filter(|(_, cc)| cc.canister == canister).map(|(id, _)| *id).collect();
        for id in open {
            let cc = self.call_contexts.remove(&id).unwrap();
            if !cc.responded {
                self.respond(cc.origin, Err(Reject::new(ErrorCode::CanisterRejectedMessage, reason)), 0);
            }
        }
        self.callbacks.retain(|_, cb| cb.owner != canister);
        self.count_callbacks();
        if let Some(c) = self.canisters.get_mut(&canister) {
            c.instance = None;
            c.installed_module.clear();
            c.certified_data.clear();
            c.chunk_store.clear();
            c.global_timer = 0;
            c.open_call_contexts = 0;
            c.version += 1;
        }
    }

    // ---------------------------------------------------------------- queries

    /// A non-replicated query (user query call): state changes are discarded, no calls.
    pub fn query(&mut self, canister: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> CallResult {
        self.check_accepts(canister)?;
        let c = &self.canisters[&canister];
        let prepared = c.instance.as_ref().unwrap().prepared.clone();
        let (export, api) = if prepared.query_methods.contains(method) {
            (format!("canister_query {method}"), ApiType::NonReplicatedQuery)
        } else if prepared.composite_query_methods.contains(method) {
            (format!("canister_composite_query {method}"), ApiType::CompositeQuery)
        } else {
            return Err(Reject::new(
                ErrorCode::CanisterMethodNotFound,
                format!("Error from Canister {canister}: Canister has no query method '{method}'."),
            ));
        };
        let mut exec = self.exec_state(c, api, sender, self.limits.query);
        exec.arg = arg;
        exec.method_name = method.to_string();
        exec.can_reply = true;
        exec.max_reply_bytes = cycles::MAX_QUERY_REPLY_BYTES;
        exec.certificate =
            Some(crate::certificate::DataCertificate::new(self.certifier.clone(), canister, c.certified_data.clone(), self.time));
        let c = self.canisters.get_mut(&canister).unwrap();
        let r = c.instance.as_mut().unwrap().execute(&Entry::Export(export), exec, Policy::Discard);
        c.query_calls += 1;
        c.query_instructions += r.instructions;
        self.keep_logs(canister, &r);
        self.record(canister, format!("query {method}"), &r, None);
        match r.outcome {
            Err(e) => Err(Self::error_from(canister, e)),
            Ok(()) => match r.state.response {
                Some(Response::Reply(b)) => Ok(b),
                Some(Response::Reject(m)) => Err(Reject::new(ErrorCode::CanisterRejectedByCode, m)),
                None => Err(Reject::new(
                    ErrorCode::CanisterDidNotReply,
                    format!("Error from Canister {canister}: Canister did not produce a response"),
                )),
            },
        }
    }

    /// Runs `canister_inspect_message` for an ingress update; `Ok` when accepted.
    pub fn inspect_message(&mut self, canister: Principal, sender: Principal, method: &str, arg: &[u8]) -> Result<(), Reject> {
        let c = &self.canisters[&canister];
        let inst = c.instance.as_ref().unwrap();
        if !inst.prepared.has_inspect_message {
            return Ok(());
        }
        let mut exec = self.exec_state(c, ApiType::InspectMessage, sender, self.limits.inspect_message);
        exec.arg = arg.to_vec();
        exec.method_name = method.to_string();
        let c = self.canisters.get_mut(&canister).unwrap();
        let r = c.instance.as_mut().unwrap().execute(
            &Entry::Export("canister_inspect_message".into()),
            exec,
            Policy::Discard,
        );
        self.keep_logs(canister, &r);
        self.record(canister, format!("inspect_message {method}"), &r, None);
        match r.outcome {
            Ok(()) if r.state.message_accepted => Ok(()),
            Ok(()) => Err(Reject::new(
                ErrorCode::CanisterRejectedMessage,
                format!("Error from Canister {canister}: Canister rejected the message"),
            )),
            Err(e) => Err(Reject::new(
                ErrorCode::CanisterRejectedMessage,
                format!("Error from Canister {canister}: Canister rejected the message: {}", e.message),
            )),
        }
    }
}
