//! localnet: an embedded Internet Computer subnet that runs real canister Wasm in wasmtime.
//!
//! The API mirrors the `pocket-ic` crate's names (`create_canister`, `install_canister`,
//! `update_call`, `query_call`, `submit_call` / `await_call`, `tick`, `advance_time`, ...)
//! so IC developers feel at home. What is faithful to the IC and what is simplified is
//! written down in `docs/localnet.md`.
//!
//! ```no_run
//! use localnet::LocalNet;
//! let net = LocalNet::new();
//! let id = net.create_canister();
//! net.install_canister(id, std::fs::read("counter.wasm.gz").unwrap(), candid::encode_args(()).unwrap(), None);
//! let n: (u64,) = net.update_candid(id, "inc", ()).unwrap();
//! ```

mod certificate;
pub mod cycles;
mod engine;
mod instance;
mod management;
pub mod memory;
mod net;
mod persist;
pub mod stable;
pub mod system_api;
pub mod types;
pub mod wasm;

use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{CandidType, Principal};
use ic_management_canister_types::{
    CanisterInstallMode, CanisterSettings, CanisterStatusResult, ChunkHash, InstallChunkedCodeArgs, InstallCodeArgs,
    Snapshot, UpdateSettingsArgs,
};

pub use crate::certificate::{Certifier, UnsignedCertifier};
pub use crate::cycles::{FeeSchedule, InstructionLimits, MAX_OUTSTANDING_CALLS_PER_PAIR};
pub use crate::net::{RoundLimits, Scheduling, SubnetStats, CANISTER_IDS_PER_SUBNET};
pub use crate::persist::{StateError, FORMAT_NAME as STATE_FORMAT_NAME, FORMAT_VERSION as STATE_FORMAT_VERSION};
pub use crate::types::*;
pub use ic_management_canister_types as management_types;

use crate::net::{IngressStatus, Message, Net, Origin};

/// 2026-01-01T00:00:00Z: the default start time, fixed so that runs are reproducible.
pub const DEFAULT_START_TIME_NANOS: u64 = 1_767_225_600_000_000_000;
/// How many rounds `await_call` runs at most before giving up.
pub const DEFAULT_MAX_ROUNDS_PER_CALL: u64 = 100_000;

/// Error of the typed helpers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    Reject(RejectResponse),
    /// The reply was not the expected Candid.
    Decode(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Reject(r) => write!(f, "call rejected: {r}"),
            CallError::Decode(e) => write!(f, "reply could not be decoded: {e}"),
        }
    }
}

impl std::error::Error for CallError {}

impl From<RejectResponse> for CallError {
    fn from(r: RejectResponse) -> Self {
        CallError::Reject(r)
    }
}

/// Builds a [`LocalNet`] with a start time and a scheduling order.
#[derive(Clone, Default)]
pub struct LocalNetBuilder {
    time: Option<SystemTime>,
    seed: Option<u64>,
    fees: Option<FeeSchedule>,
    limits: Option<cycles::InstructionLimits>,
    certifier: Option<std::sync::Arc<dyn Certifier>>,
    subnets: Option<usize>,
    round_limits: Option<RoundLimits>,
}

impl LocalNetBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_time(mut self, time: SystemTime) -> Self {
        self.time = Some(time);
        self
    }

    /// Interleaves the messages of each round in a random order derived from `seed`
    /// (requests between one pair of canisters keep their order, as on the IC).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    pub fn with_fees(mut self, fees: FeeSchedule) -> Self {
        self.fees = Some(fees);
        self
    }

    /// Lowers (or raises) the per-message instruction limits; the IC's are the default.
    pub fn with_instruction_limits(mut self, limits: cycles::InstructionLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Signs data certificates and sets the root key with `certifier`; the subnet id becomes
    /// the self-authenticating principal of its root key, as clients expect of a one-subnet network.
    pub fn with_certifier(mut self, certifier: std::sync::Arc<dyn Certifier>) -> Self {
        self.certifier = Some(certifier);
        self
    }

    /// A network of `count` application subnets (at least 1; the default is 1). Subnet 0 has
    /// the id and canister ids a one-subnet net always had; subnet `k` owns canister ids
    /// `[k << 20, (k + 1) << 20)`. A loaded state keeps its saved subnets and gains any more
    /// asked for here.
    pub fn with_subnets(mut self, count: usize) -> Self {
        self.subnets = Some(count.max(1));
        self
    }

    /// What each subnet may execute per round ([`RoundLimits::IC`] for the IC's figures);
    /// the default is [`RoundLimits::UNLIMITED`].
    pub fn with_round_limits(mut self, limits: RoundLimits) -> Self {
        self.round_limits = Some(limits);
        self
    }

    pub fn build(self) -> LocalNet {
        let time = self
            .time
            .map(|t| t.duration_since(UNIX_EPOCH).expect("time after the epoch").as_nanos() as u64)
            .unwrap_or(DEFAULT_START_TIME_NANOS);
        let scheduling = self.seed.map(Scheduling::Seeded).unwrap_or(Scheduling::Deterministic);
        let mut net = Net::new(time, scheduling);
        self.configure(&mut net);
        LocalNet::from_loaded(net, 0)
    }

    /// Loads a net saved with [`LocalNet::save_state`] from `dir`. Fees, limits and the
    /// certifier come from this builder, as in [`build`](Self::build); time, scheduling (seed
    /// and generator state) and everything else come from the saved state (`with_time` and
    /// `with_seed` are ignored). No canister code runs while loading, and nothing is written.
    /// A missing or empty `dir` gives [`StateError::NotFound`] (see [`StateError::is_not_found`]).
    pub fn load_state(self, dir: &std::path::Path) -> Result<LocalNet, StateError> {
        persist::load(self, dir)
    }

    /// Applies fees, limits and the certifier to a new or loaded net.
    fn configure(&self, net: &mut Net) {
        if let Some(f) = self.fees {
            net.fees = f;
        }
        if let Some(l) = self.limits {
            net.limits = l;
        }
        if let Some(c) = &self.certifier {
            let key = c.root_key();
            net.subnets[0].id = Principal::self_authenticating(&key);
            net.root_key = std::sync::Arc::new(key);
            net.certifier = c.clone();
        }
        if let Some(l) = self.round_limits {
            net.round_limits = l;
        }
        net.set_subnet_count(self.subnets.unwrap_or(1));
    }
}

/// An embedded IC subnet.
pub struct LocalNet {
    net: RefCell<Net>,
    max_rounds: u64,
    next_ingress: RefCell<u64>,
}

impl Default for LocalNet {
    fn default() -> Self {
        Self::new()
    }
}

fn sender_or_anonymous(sender: Option<Principal>) -> Principal {
    sender.unwrap_or(Principal::anonymous())
}

impl LocalNet {
    pub fn new() -> Self {
        LocalNetBuilder::new().build()
    }

    pub fn builder() -> LocalNetBuilder {
        LocalNetBuilder::new()
    }

    fn from_loaded(net: Net, next_ingress: u64) -> LocalNet {
        LocalNet { net: RefCell::new(net), max_rounds: DEFAULT_MAX_ROUNDS_PER_CALL, next_ingress: RefCell::new(next_ingress) }
    }

    /// Saves the whole net into `dir` (see docs/localnet.md, "State on disk"): every canister
    /// with its code, memories, cycles, settings, logs, chunks and snapshots, plus time, ids,
    /// round, generator state, queued messages, open call contexts, callbacks and ingress
    /// statuses. A previous state in `dir` is replaced atomically; a `dir` that holds other
    /// files is refused ([`StateError::NotAState`]). Load it with [`LocalNetBuilder::load_state`].
    pub fn save_state(&self, dir: &std::path::Path) -> Result<(), StateError> {
        persist::save(&self.net.borrow(), *self.next_ingress.borrow(), dir)
    }

    fn next_message_id(&self) -> RawMessageId {
        let mut n = self.next_ingress.borrow_mut();
        *n += 1;
        RawMessageId(*n)
    }

    /// Calls the management canister directly, as a controller would through ingress;
    /// a call that cannot be answered at once (stop_canister) is awaited through rounds.
    fn management<A: CandidType>(&self, sender: Principal, method: &str, arg: A) -> Result<Vec<u8>, RejectResponse> {
        let bytes = candid::encode_one(arg).expect("encoding a management argument");
        // These calls arrive as ingress messages, so the ingress size limit applies (it is
        // why modules over 2 MiB need the chunked install path).
        if bytes.len() + method.len() > cycles::MAX_PAYLOAD_BYTES {
            return Err(RejectResponse::new(
                ErrorCode::CanisterRejectedMessage,
                format!(
                    "Request is {} bytes, more than the ingress limit of {} bytes",
                    bytes.len() + method.len(),
                    cycles::MAX_PAYLOAD_BYTES
                ),
            ));
        }
        let id = self.next_message_id();
        let answer = self.net.borrow_mut().handle_management(sender, method, &bytes, 0, Origin::Ingress(id), true, 0);
        match answer {
            Some((r, _)) => r.map_err(|r| r.into_response()),
            None => {
                self.net.borrow_mut().ingress.insert(id, IngressStatus::Pending);
                self.await_call(id)
            }
        }
    }

    fn management_decode<A: CandidType, R: for<'de> candid::Deserialize<'de> + CandidType>(
        &self,
        sender: Principal,
        method: &str,
        arg: A,
    ) -> Result<R, RejectResponse> {
        let bytes = self.management(sender, method, arg)?;
        Ok(candid::decode_one(&bytes).expect("decoding a management reply"))
    }

    // ------------------------------------------------------------ canisters

    /// Creates an empty canister controlled by the anonymous principal, with the IC's
    /// provisional default of 100T cycles.
    pub fn create_canister(&self) -> Principal {
        self.create_canister_with_settings(None, None)
    }

    /// Creates an empty canister; controllers default to `[sender]` (anonymous if `None`).
    pub fn create_canister_with_settings(&self, sender: Option<Principal>, settings: Option<CanisterSettings>) -> Principal {
        let sender = sender_or_anonymous(sender);
        self.net
            .borrow_mut()
            .create_with_settings(sender, settings, cycles::DEFAULT_PROVISIONAL_CYCLES, None, 0)
            .unwrap_or_else(|r| panic!("create_canister_with_settings: {}", r.message))
    }

    /// Creates an empty canister with an exact cycles balance.
    pub fn create_canister_with_cycles(&self, sender: Option<Principal>, cycles: u128) -> Principal {
        let sender = sender_or_anonymous(sender);
        self.net.borrow_mut().create_with_settings(sender, None, cycles, None, 0).expect("default settings are valid")
    }

    /// Creates an empty canister on subnet `subnet` (an index, 0 first) with `cycles`
    /// (provisional creation, as `provisional_create_canister_with_cycles` with an effective
    /// subnet); controllers default to `[sender]`. Fails for a subnet that does not exist.
    pub fn create_canister_on_subnet(
        &self,
        subnet: usize,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
        cycles: u128,
    ) -> Result<Principal, RejectResponse> {
        self.net
            .borrow_mut()
            .create_with_settings(sender_or_anonymous(sender), settings, cycles, None, subnet)
            .map_err(|r| r.into_response())
    }

    /// Creates a canister with a chosen id (provisional_create_canister_with_cycles' `specified_id`).
    pub fn create_canister_with_id(
        &self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
        canister_id: Principal,
    ) -> Result<Principal, String> {
        let mut net = self.net.borrow_mut();
        if net.canisters.contains_key(&canister_id) {
            return Err(format!("Canister {canister_id} already exists"));
        }
        net.create_with_settings(sender_or_anonymous(sender), settings, cycles::DEFAULT_PROVISIONAL_CYCLES, Some(canister_id), 0)
            .map_err(|r| r.message)
    }

    pub fn canister_exists(&self, canister_id: Principal) -> bool {
        self.net.borrow().canisters.contains_key(&canister_id)
    }

    pub fn get_controllers(&self, canister_id: Principal) -> Vec<Principal> {
        self.net.borrow().canisters.get(&canister_id).map(|c| c.controllers.clone()).unwrap_or_default()
    }

    /// Adds cycles (provisional top-up); returns the new balance.
    pub fn add_cycles(&self, canister_id: Principal, amount: u128) -> u128 {
        let mut net = self.net.borrow_mut();
        let c = net.canisters.get_mut(&canister_id).unwrap_or_else(|| panic!("Canister {canister_id} not found"));
        c.balance += amount;
        c.balance
    }

    pub fn cycle_balance(&self, canister_id: Principal) -> u128 {
        self.net.borrow().canisters.get(&canister_id).map(|c| c.balance).unwrap_or(0)
    }

    /// Installs `wasm_module` (raw or gzipped); panics on failure, like pocket-ic.
    pub fn install_canister(&self, canister_id: Principal, wasm_module: Vec<u8>, arg: Vec<u8>, sender: Option<Principal>) {
        self.install_code(canister_id, CanisterInstallMode::Install, wasm_module, arg, sender)
            .unwrap_or_else(|r| panic!("install_canister failed: {r}"));
    }

    pub fn upgrade_canister(
        &self,
        canister_id: Principal,
        wasm_module: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.install_code(canister_id, CanisterInstallMode::Upgrade(None), wasm_module, arg, sender)
    }

    pub fn reinstall_canister(
        &self,
        canister_id: Principal,
        wasm_module: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.install_code(canister_id, CanisterInstallMode::Reinstall, wasm_module, arg, sender)
    }

    /// `install_code` with any mode (e.g. an upgrade with `skip_pre_upgrade`).
    pub fn install_code(
        &self,
        canister_id: Principal,
        mode: CanisterInstallMode,
        wasm_module: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        let args = InstallCodeArgs { mode, canister_id, wasm_module, arg, sender_canister_version: None };
        self.management(sender_or_anonymous(sender), "install_code", args).map(|_| ())
    }

    pub fn upload_chunk(&self, canister_id: Principal, sender: Option<Principal>, chunk: Vec<u8>) -> Result<Vec<u8>, RejectResponse> {
        let args = ic_management_canister_types::UploadChunkArgs { canister_id, chunk };
        self.management_decode::<_, ChunkHash>(sender_or_anonymous(sender), "upload_chunk", args).map(|h| h.hash)
    }

    pub fn stored_chunks(&self, canister_id: Principal, sender: Option<Principal>) -> Result<Vec<Vec<u8>>, RejectResponse> {
        let args = ic_management_canister_types::CanisterIdRecord { canister_id };
        self.management_decode::<_, Vec<ChunkHash>>(sender_or_anonymous(sender), "stored_chunks", args)
            .map(|v| v.into_iter().map(|h| h.hash).collect())
    }

    pub fn clear_chunk_store(&self, canister_id: Principal, sender: Option<Principal>) -> Result<(), RejectResponse> {
        let args = ic_management_canister_types::CanisterIdRecord { canister_id };
        self.management(sender_or_anonymous(sender), "clear_chunk_store", args).map(|_| ())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn install_chunked_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        mode: CanisterInstallMode,
        store_canister_id: Principal,
        chunk_hashes_list: Vec<Vec<u8>>,
        wasm_module_hash: Vec<u8>,
        arg: Vec<u8>,
    ) -> Result<(), RejectResponse> {
        let args = InstallChunkedCodeArgs {
            mode,
            target_canister: canister_id,
            store_canister: Some(store_canister_id),
            chunk_hashes_list: chunk_hashes_list.into_iter().map(|hash| ChunkHash { hash }).collect(),
            wasm_module_hash,
            arg,
            sender_canister_version: None,
        };
        self.management(sender_or_anonymous(sender), "install_chunked_code", args).map(|_| ())
    }

    pub fn uninstall_canister(&self, canister_id: Principal, sender: Option<Principal>) -> Result<(), RejectResponse> {
        let args = ic_management_canister_types::UninstallCodeArgs { canister_id, sender_canister_version: None };
        self.management(sender_or_anonymous(sender), "uninstall_code", args).map(|_| ())
    }

    pub fn update_canister_settings(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        settings: CanisterSettings,
    ) -> Result<(), RejectResponse> {
        let args = UpdateSettingsArgs { canister_id, settings, sender_canister_version: None };
        self.management(sender_or_anonymous(sender), "update_settings", args).map(|_| ())
    }

    pub fn set_controllers(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        new_controllers: Vec<Principal>,
    ) -> Result<(), RejectResponse> {
        let settings = CanisterSettings { controllers: Some(new_controllers), ..Default::default() };
        self.update_canister_settings(canister_id, sender, settings)
    }

    pub fn canister_status(&self, canister_id: Principal, sender: Option<Principal>) -> Result<CanisterStatusResult, RejectResponse> {
        let args = ic_management_canister_types::CanisterIdRecord { canister_id };
        self.management_decode(sender_or_anonymous(sender), "canister_status", args)
    }

    pub fn start_canister(&self, canister_id: Principal, sender: Option<Principal>) -> Result<(), RejectResponse> {
        let args = ic_management_canister_types::CanisterIdRecord { canister_id };
        self.management(sender_or_anonymous(sender), "start_canister", args).map(|_| ())
    }

    /// Stops the canister; rounds run until its open call contexts are closed.
    pub fn stop_canister(&self, canister_id: Principal, sender: Option<Principal>) -> Result<(), RejectResponse> {
        let args = ic_management_canister_types::CanisterIdRecord { canister_id };
        self.management(sender_or_anonymous(sender), "stop_canister", args).map(|_| ())
    }

    pub fn delete_canister(&self, canister_id: Principal, sender: Option<Principal>) -> Result<(), RejectResponse> {
        let args = ic_management_canister_types::CanisterIdRecord { canister_id };
        self.management(sender_or_anonymous(sender), "delete_canister", args).map(|_| ())
    }

    pub fn take_canister_snapshot(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        replace_snapshot: Option<Vec<u8>>,
    ) -> Result<Snapshot, RejectResponse> {
        let args = ic_management_canister_types::TakeCanisterSnapshotArgs {
            canister_id,
            replace_snapshot,
            uninstall_code: None,
            sender_canister_version: None,
        };
        self.management_decode(sender_or_anonymous(sender), "take_canister_snapshot", args)
    }

    pub fn load_canister_snapshot(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        snapshot_id: Vec<u8>,
    ) -> Result<(), RejectResponse> {
        let args = ic_management_canister_types::LoadCanisterSnapshotArgs {
            canister_id,
            snapshot_id,
            sender_canister_version: None,
        };
        self.management(sender_or_anonymous(sender), "load_canister_snapshot", args).map(|_| ())
    }

    pub fn list_canister_snapshots(&self, canister_id: Principal, sender: Option<Principal>) -> Result<Vec<Snapshot>, RejectResponse> {
        let args = ic_management_canister_types::CanisterIdRecord { canister_id };
        self.management_decode(sender_or_anonymous(sender), "list_canister_snapshots", args)
    }

    pub fn delete_canister_snapshot(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        snapshot_id: Vec<u8>,
    ) -> Result<(), RejectResponse> {
        let args = ic_management_canister_types::DeleteCanisterSnapshotArgs { canister_id, snapshot_id };
        self.management(sender_or_anonymous(sender), "delete_canister_snapshot", args).map(|_| ())
    }

    /// The canister's log (debug_print and traps), subject to its log visibility.
    pub fn fetch_canister_logs(&self, canister_id: Principal, sender: Principal) -> Result<Vec<CanisterLogRecord>, RejectResponse> {
        use ic_management_canister_types::LogVisibility;
        let net = self.net.borrow();
        let c = net.canisters.get(&canister_id).ok_or_else(|| {
            RejectResponse::new(ErrorCode::CanisterNotFound, format!("Canister {canister_id} not found"))
        })?;
        let allowed = match &c.settings.log_visibility {
            LogVisibility::Public => true,
            LogVisibility::Controllers => c.controllers.contains(&sender),
            LogVisibility::AllowedViewers(v) => c.controllers.contains(&sender) || v.contains(&sender),
        };
        if !allowed {
            return Err(RejectResponse::new(
                ErrorCode::CanisterRejectedMessage,
                format!("Caller {sender} is not allowed to read the logs of canister {canister_id}"),
            ));
        }
        Ok(c.logs.iter().cloned().collect())
    }

    /// Every canister's id, in order.
    pub fn canister_ids(&self) -> Vec<Principal> {
        self.net.borrow().canisters.keys().copied().collect()
    }

    /// What the canister last set with `ic0.certified_data_set` (empty if never).
    pub fn certified_data(&self, canister_id: Principal) -> Option<Vec<u8>> {
        self.net.borrow().canisters.get(&canister_id).map(|c| c.certified_data.clone())
    }

    /// The module hash of the installed code, if any.
    pub fn module_hash(&self, canister_id: Principal) -> Option<[u8; 32]> {
        self.net.borrow().canisters.get(&canister_id)?.instance.as_ref().map(|i| i.prepared.module_hash)
    }

    /// Reads a module's `icp:public`/`icp:private` custom section (canister_metadata).
    pub fn canister_metadata(&self, canister_id: Principal, name: &str) -> Option<Vec<u8>> {
        let net = self.net.borrow();
        let inst = net.canisters.get(&canister_id)?.instance.as_ref()?;
        inst.prepared.metadata.get(name).map(|(_, d)| d.clone())
    }

    /// A `icp:public`/`icp:private` custom section with its visibility (`true` = public).
    pub fn canister_metadata_section(&self, canister_id: Principal, name: &str) -> Option<(bool, Vec<u8>)> {
        let net = self.net.borrow();
        let inst = net.canisters.get(&canister_id)?.instance.as_ref()?;
        inst.prepared.metadata.get(name).cloned()
    }

    /// Heap and stable memory sizes in bytes.
    pub fn memory_sizes(&self, canister_id: Principal) -> Option<(u64, u64)> {
        let net = self.net.borrow();
        let inst = net.canisters.get(&canister_id)?.instance.as_ref()?;
        Some((inst.heap_size() as u64, inst.stable().size_bytes()))
    }

    /// The canister's whole stable memory (its size is a multiple of 64 KiB), as pocket-ic's
    /// `get_stable_memory`.
    ///
    /// # Panics
    ///
    /// Like pocket-ic (DFINITY's server answers `CanisterNotFound` / `CanisterIsEmpty`, and the
    /// client panics): if the canister does not exist or has no module installed.
    pub fn get_stable_memory(&self, canister_id: Principal) -> Vec<u8> {
        let net = self.net.borrow();
        let c = net.canisters.get(&canister_id).unwrap_or_else(|| panic!("Canister {canister_id} does not exist"));
        let inst = c.instance.as_ref().unwrap_or_else(|| panic!("Canister {canister_id} has no module"));
        inst.stable().to_bytes()
    }

    /// Replaces the canister's stable memory with `data`, as pocket-ic's `set_stable_memory`
    /// (DFINITY's `StateMachine::set_stable_memory`): the memory becomes the fewest 64 KiB pages
    /// that hold `data` (it may grow or shrink), the rest of the last page is zero, and nothing
    /// else changes (heap, globals, version, cycles; no canister code runs). The write is
    /// committed at once: no later trap rolls it back. Memory accounting (`canister_status`,
    /// storage fees, freezing threshold) and `save_state` see the new size and contents.
    ///
    /// A canister may cache what it read from stable memory on its heap (ic-stable-structures'
    /// `MemoryManager` does): to load a whole new image, set it and then upgrade the canister.
    ///
    /// # Panics
    ///
    /// Like pocket-ic: if the canister does not exist, has no module installed, or `data` is
    /// larger than the IC's stable memory limit (500 GiB).
    pub fn set_stable_memory(&self, canister_id: Principal, data: &[u8]) {
        let mut net = self.net.borrow_mut();
        let c = net.canisters.get_mut(&canister_id).unwrap_or_else(|| panic!("Canister {canister_id} does not exist"));
        let inst = c.instance.as_mut().unwrap_or_else(|| panic!("Canister {canister_id} has no module"));
        let memory = stable::StableMemory::from_bytes(data).unwrap_or_else(|| {
            panic!(
                "{} bytes of stable memory exceed the limit of {} bytes",
                data.len(),
                stable::MAX_STABLE_PAGES * stable::WASM_PAGE
            )
        });
        // Replaced whole, journal included: the new memory has no open journal to undo it.
        *inst.stable_mut() = memory;
    }

    // ------------------------------------------------------------ calls

    /// Submits an ingress update call; it executes in the next round.
    pub fn submit_call(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<RawMessageId, RejectResponse> {
        self.submit(canister_id, sender, method, payload, true)
    }

    /// A call as the canister `sender` makes it (an inter-canister request, attaching no
    /// cycles): unlike ingress, `canister_inspect_message` does not run and the callee pays no
    /// induction fee, as on the IC. Its answer is awaited like a submitted call's. For tests
    /// that must see what a method itself does with a canister caller.
    pub fn submit_call_as_canister(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<RawMessageId, RejectResponse> {
        self.submit(canister_id, sender, method, payload, false)
    }

    fn submit(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
        ingress: bool,
    ) -> Result<RawMessageId, RejectResponse> {
        let size = method.len() + payload.len();
        if size > cycles::MAX_PAYLOAD_BYTES {
            return Err(RejectResponse::new(
                ErrorCode::CanisterRejectedMessage,
                format!("Request is {size} bytes, more than the ingress limit of {} bytes", cycles::MAX_PAYLOAD_BYTES),
            ));
        }
        let id = self.next_message_id();
        let mut net = self.net.borrow_mut();
        if canister_id != Principal::management_canister() {
            net.check_accepts(canister_id).map_err(|r| r.into_response())?;
        }
        if canister_id != Principal::management_canister() && ingress {
            let cost = net.fees.ingress_cost(size);
            let fees = net.fees;
            let c = &net.canisters[&canister_id];
            let threshold = c.freezing_threshold_cycles(&fees);
            if c.balance < threshold + cost {
                return Err(RejectResponse::new(
                    ErrorCode::CanisterOutOfCycles,
                    format!("Canister {canister_id} is out of cycles: it cannot pay {cost} cycles for ingress induction"),
                ));
            }
            net.inspect_message(canister_id, sender, method, &payload).map_err(|r| r.into_response())?;
            net.canisters.get_mut(&canister_id).unwrap().balance -= cost;
        }
        net.ingress.insert(id, IngressStatus::Pending);
        net.queue.push_back(Message::Request {
            from: sender,
            to: canister_id,
            method: method.to_string(),
            arg: payload,
            cycles: 0,
            origin: Origin::Ingress(id),
            deadline: 0,
            root: Some(id),
        });
        Ok(id)
    }

    /// Fault injection: the next `count` update calls to `canister` (of `method`, or of any
    /// method when `None`), from users or canisters, trap before their first instruction, as a
    /// canister bug or an exhausted instruction limit would make them: the canister's state is
    /// unchanged and the caller gets a `CanisterCalledTrap` reject. `count` 0 clears it.
    /// Queries, callbacks, timers and the system's own calls are not affected. Not kept by
    /// `save_state`.
    pub fn inject_traps(&self, canister: Principal, method: Option<&str>, count: u32) {
        let key = (canister, method.map(str::to_string));
        let mut net = self.net.borrow_mut();
        if count == 0 {
            net.injected_traps.remove(&key);
        } else {
            net.injected_traps.insert(key, count);
        }
    }

    /// The result of a submitted call, if it has completed.
    pub fn ingress_status(&self, message_id: RawMessageId) -> Option<Result<Vec<u8>, RejectResponse>> {
        match self.net.borrow().ingress.get(&message_id) {
            Some(IngressStatus::Done(r)) => Some(r.clone()),
            _ => None,
        }
    }

    /// Drops a completed call's result (a server keeps its own record of it).
    pub fn forget_ingress(&self, message_id: RawMessageId) {
        let mut net = self.net.borrow_mut();
        if let Some(IngressStatus::Done(_)) = net.ingress.get(&message_id) {
            net.ingress.remove(&message_id);
        }
    }

    /// Runs rounds until the call completes.
    pub fn await_call(&self, message_id: RawMessageId) -> Result<Vec<u8>, RejectResponse> {
        for _ in 0..self.max_rounds {
            if let Some(r) = self.take_ingress_result(message_id) {
                return r;
            }
            if !self.net.borrow().has_work() {
                break;
            }
            self.tick();
        }
        if let Some(r) = self.take_ingress_result(message_id) {
            return r;
        }
        let known = self.net.borrow().ingress.contains_key(&message_id);
        Err(RejectResponse::new(
            ErrorCode::CanisterQueueFull,
            if known {
                format!("Message {message_id:?} did not complete: no more messages to execute after up to {} rounds", self.max_rounds)
            } else {
                format!("Message {message_id:?} is unknown")
            },
        ))
    }

    fn take_ingress_result(&self, id: RawMessageId) -> Option<Result<Vec<u8>, RejectResponse>> {
        let mut net = self.net.borrow_mut();
        match net.ingress.get(&id) {
            Some(IngressStatus::Done(_)) => match net.ingress.remove(&id) {
                Some(IngressStatus::Done(r)) => Some(r),
                _ => unreachable!(),
            },
            _ => None,
        }
    }

    /// An ingress update call: submitted, then rounds run until it completes.
    pub fn update_call(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        let id = self.submit_call(canister_id, sender, method, payload)?;
        self.await_call(id)
    }

    /// Like [`update_call`](Self::update_call), also returning every execution the call caused
    /// (in the canister called and in the canisters it called), with instruction counts.
    pub fn update_call_with_stats(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> (Result<Vec<u8>, RejectResponse>, Vec<ExecutionRecord>) {
        let start = self.net.borrow().execution_log.len();
        let id = match self.submit_call(canister_id, sender, method, payload) {
            Ok(id) => id,
            Err(r) => return (Err(r), Vec::new()),
        };
        let result = self.await_call(id);
        let net = self.net.borrow();
        let records = net.execution_log.iter().skip(start.min(net.execution_log.len())).filter(|r| r.ingress == Some(id)).cloned().collect();
        (result, records)
    }

    /// A non-replicated query call; state changes are discarded.
    pub fn query_call(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        if payload.len() + method.len() > cycles::MAX_PAYLOAD_BYTES {
            return Err(RejectResponse::new(
                ErrorCode::CanisterRejectedMessage,
                format!("Query is larger than {} bytes", cycles::MAX_PAYLOAD_BYTES),
            ));
        }
        self.net.borrow_mut().query(canister_id, sender, method, payload).map_err(|r| r.into_response())
    }

    /// Typed update call as `sender`.
    pub fn update_candid_as<A: ArgumentEncoder, R: for<'de> ArgumentDecoder<'de>>(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        args: A,
    ) -> Result<R, CallError> {
        let bytes = candid::encode_args(args).map_err(|e| CallError::Decode(format!("encoding arguments: {e}")))?;
        let reply = self.update_call(canister_id, sender, method, bytes)?;
        candid::decode_args(&reply).map_err(|e| CallError::Decode(e.to_string()))
    }

    /// Typed update call as the anonymous principal.
    pub fn update_candid<A: ArgumentEncoder, R: for<'de> ArgumentDecoder<'de>>(
        &self,
        canister_id: Principal,
        method: &str,
        args: A,
    ) -> Result<R, CallError> {
        self.update_candid_as(canister_id, Principal::anonymous(), method, args)
    }

    /// Typed query call as `sender`.
    pub fn query_candid_as<A: ArgumentEncoder, R: for<'de> ArgumentDecoder<'de>>(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        args: A,
    ) -> Result<R, CallError> {
        let bytes = candid::encode_args(args).map_err(|e| CallError::Decode(format!("encoding arguments: {e}")))?;
        let reply = self.query_call(canister_id, sender, method, bytes)?;
        candid::decode_args(&reply).map_err(|e| CallError::Decode(e.to_string()))
    }

    /// Typed query call as the anonymous principal.
    pub fn query_candid<A: ArgumentEncoder, R: for<'de> ArgumentDecoder<'de>>(
        &self,
        canister_id: Principal,
        method: &str,
        args: A,
    ) -> Result<R, CallError> {
        self.query_candid_as(canister_id, Principal::anonymous(), method, args)
    }

    // ------------------------------------------------------------ rounds and time

    /// Executes one round.
    pub fn tick(&self) {
        self.net.borrow_mut().tick();
    }

    /// Runs rounds while there is anything to execute (at most `max_rounds`); returns how many ran.
    pub fn run_until_idle(&self, max_rounds: u64) -> u64 {
        let mut n = 0;
        while n < max_rounds && self.net.borrow().has_work() {
            self.tick();
            n += 1;
        }
        n
    }

    /// Moves the clock forward (no round runs; call `tick` to let timers fire).
    pub fn advance_time(&self, duration: Duration) {
        self.net.borrow_mut().time += duration.as_nanos() as u64;
    }

    /// Sets the clock; it never goes backwards.
    pub fn set_time(&self, time: SystemTime) {
        let t = time.duration_since(UNIX_EPOCH).expect("time after the epoch").as_nanos() as u64;
        let mut net = self.net.borrow_mut();
        assert!(t >= net.time, "localnet time cannot go backwards");
        net.time = t;
    }

    pub fn get_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.net.borrow().time)
    }

    pub fn get_time_nanos(&self) -> u64 {
        self.net.borrow().time
    }

    /// Rounds executed so far.
    pub fn round(&self) -> u64 {
        self.net.borrow().round
    }

    pub fn fee_schedule(&self) -> FeeSchedule {
        self.net.borrow().fees
    }

    /// The subnet's root key (DER), as `ic0.root_key_copy` reports it: a zero key unless the
    /// net was built `with_certifier`.
    pub fn root_key(&self) -> Vec<u8> {
        self.net.borrow().root_key.to_vec()
    }

    /// Subnet 0's id (a one-subnet net's only subnet).
    pub fn subnet_id(&self) -> Principal {
        self.net.borrow().subnet_id()
    }

    /// Every subnet's id, by index.
    pub fn subnet_ids(&self) -> Vec<Principal> {
        self.net.borrow().subnets.iter().map(|s| s.id).collect()
    }

    /// The id of the subnet `canister_id` lives on (what its `ic0.subnet_self_copy` answers).
    pub fn subnet_of(&self, canister_id: Principal) -> Option<Principal> {
        let net = self.net.borrow();
        net.canisters.get(&canister_id).map(|c| net.subnets[c.subnet].id)
    }

    /// What each subnet executed so far, by index (see [`SubnetStats`]).
    pub fn subnet_stats(&self) -> Vec<SubnetStats> {
        self.net.borrow().subnets.iter().map(|s| s.stats).collect()
    }

    /// Zeroes every subnet's [`SubnetStats`] (to measure from here on).
    pub fn reset_subnet_stats(&self) {
        for s in &mut self.net.borrow_mut().subnets {
            s.stats = SubnetStats::default();
        }
    }

    /// The limits each subnet's rounds run under.
    pub fn round_limits(&self) -> RoundLimits {
        self.net.borrow().round_limits
    }

    /// Lets `canister` address another subnet's management canister by the subnet's id (on
    /// the IC only NNS canisters may; the cycles minting canister does so to create a
    /// canister on a chosen subnet). Other canisters get a reject.
    pub fn allow_subnet_addressing(&self, canister: Principal) {
        self.net.borrow_mut().subnet_addressing.insert(canister);
    }

    /// Whether anything is queued or due (messages, due timers, stopping canisters).
    pub fn has_work(&self) -> bool {
        self.net.borrow().has_work()
    }

    // ------------------------------------------------------------ metering

    /// Every execution so far (the most recent 100,000), oldest first.
    pub fn execution_log(&self) -> Vec<ExecutionRecord> {
        self.net.borrow().execution_log.iter().cloned().collect()
    }

    /// Returns and clears the execution log.
    pub fn take_execution_log(&self) -> Vec<ExecutionRecord> {
        self.net.borrow_mut().execution_log.drain(..).collect()
    }

    /// The most recent execution on `canister_id`.
    pub fn last_execution(&self, canister_id: Principal) -> Option<ExecutionRecord> {
        self.net.borrow().execution_log.iter().rev().find(|r| r.canister == canister_id).cloned()
    }
}
