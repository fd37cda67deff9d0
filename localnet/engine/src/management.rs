//! The management canister (`aaaaa-aa`): Candid in and out exactly as on the IC
//! (types from `ic-management-canister-types`), controllers enforced on every call.

use std::sync::Arc;

use candid::{CandidType, Decode, Encode, Nat, Principal};
use ic_management_canister_types::*;
use serde::de::DeserializeOwned;

use crate::cycles;
use crate::instance::{Entry, Policy, WasmInstance};
use crate::net::{CallResult, Net, Origin, Reject, SnapshotData};
use crate::stable::StableMemory;
use crate::system_api::ApiType;
use crate::types::{CanisterRunStatus, ErrorCode};
use crate::wasm::{prepare, sha256};

pub const MAX_CONTROLLERS: usize = 10;
/// The most principals a log visibility `allowed_viewers` may name (as on the IC).
pub const MAX_ALLOWED_LOG_VIEWERS: usize = 10;
pub const MAX_SNAPSHOTS: usize = 10;
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;
pub const MAX_CHUNK_STORE_BYTES: usize = 100 * 1024 * 1024;
pub const MAX_ENV_VARS: usize = 20;
pub const MAX_ENV_VAR_BYTES: usize = 128;

fn decode<T: CandidType + DeserializeOwned>(method: &str, arg: &[u8]) -> Result<T, Reject> {
    Decode!(arg, T).map_err(|e| {
        Reject::new(ErrorCode::InvalidManagementPayload, format!("Error decoding candid for ic00 method {method}: {e}"))
    })
}

fn encode<T: CandidType>(v: &T) -> Vec<u8> {
    Encode!(v).expect("encoding a management reply")
}

fn unit() -> Vec<u8> {
    Encode!().unwrap()
}

fn nat_u64(n: &Nat, what: &str) -> Result<u64, Reject> {
    u64::try_from(n.0.clone())
        .map_err(|_| Reject::new(ErrorCode::InvalidManagementPayload, format!("{what} is out of range: {n}")))
}

fn nat_u128(n: &Nat, what: &str) -> Result<u128, Reject> {
    u128::try_from(n.0.clone())
        .map_err(|_| Reject::new(ErrorCode::InvalidManagementPayload, format!("{what} is out of range: {n}")))
}

/// The canister a management request is about (the IC routes the request to its subnet): the
/// `canister_id` (or `target_canister`) field of the argument record. `None` for methods about
/// no canister (`create_canister`, `raw_rand`, ...) or an argument that does not decode.
pub fn effective_canister_id(method: &str, arg: &[u8]) -> Option<Principal> {
    // Records decode into a type with a subset of their fields; the rest is skipped.
    #[derive(candid::Deserialize, CandidType)]
    struct About {
        canister_id: Principal,
    }
    #[derive(candid::Deserialize, CandidType)]
    struct Target {
        target_canister: Principal,
    }
    match method {
        "create_canister" | "provisional_create_canister_with_cycles" | "raw_rand" => None,
        "install_chunked_code" => Decode!(arg, Target).ok().map(|t| t.target_canister),
        _ => Decode!(arg, About).ok().map(|a| a.canister_id),
    }
}

/// How to install.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallMode {
    Install,
    Reinstall,
    Upgrade { skip_pre_upgrade: bool },
}

impl Net {
    fn canister_exists(&self, id: Principal) -> Result<(), Reject> {
        if self.canisters.contains_key(&id) {
            Ok(())
        } else {
            Err(Reject::new(ErrorCode::CanisterNotFound, format!("Canister {id} not found")))
        }
    }

    pub fn check_controller(&self, caller: Principal, id: Principal, method: &str) -> Result<(), Reject> {
        self.canister_exists(id)?;
        if self.canisters[&id].controllers.contains(&caller) {
            Ok(())
        } else {
            Err(Reject::new(
                ErrorCode::CanisterInvalidController,
                format!(
                    "Only controllers of canister {id} can call ic00 method {method}. Caller {caller} is not a controller."
                ),
            ))
        }
    }

    /// Handles a request to the management canister of `subnet` (where `create_canister`
    /// creates). `None` while the answer is pending (stop_canister).
    #[allow(clippy::too_many_arguments)]
    pub fn handle_management(
        &mut self,
        caller: Principal,
        method: &str,
        arg: &[u8],
        cycles: u128,
        origin: Origin,
        is_ingress: bool,
        subnet: usize,
    ) -> Option<(CallResult, u128)> {
        let canister_only = ["create_canister", "raw_rand", "deposit_cycles"];
        if is_ingress && canister_only.contains(&method) {
            let r = Reject::new(
                ErrorCode::CanisterRejectedMessage,
                format!("ic00 method {method} can only be called by other canisters, not via ingress messages."),
            );
            return Some((Err(r), 0));
        }
        // Methods that keep the attached cycles; every other method refunds them.
        let mut refund = cycles;
        let result = (|| -> Result<Option<Vec<u8>>, Reject> {
            Ok(Some(match method {
                "create_canister" => {
                    let args: CreateCanisterArgs = decode(method, arg)?;
                    refund = 0;
                    let fee = self.fees.canister_creation_fee;
                    if cycles < fee {
                        refund = cycles;
                        return Err(Reject::new(
                            ErrorCode::InsufficientCyclesForCreateCanister,
                            format!("Creating a canister requires a fee of {fee} that is deducted from the canister's initial balance but only {cycles} cycles were received with the create_canister request."),
                        ));
                    }
                    let id = self.create_with_settings(caller, args.settings, cycles - fee, None, subnet)?;
                    encode(&CanisterIdRecord { canister_id: id })
                }
                "provisional_create_canister_with_cycles" => {
                    let args: ProvisionalCreateCanisterWithCyclesArgs = decode(method, arg)?;
                    let amount = match &args.amount {
                        Some(a) => nat_u128(a, "amount")?,
                        None => cycles::DEFAULT_PROVISIONAL_CYCLES,
                    };
                    if let Some(id) = args.specified_id {
                        if self.canisters.contains_key(&id) {
                            return Err(Reject::new(
                                ErrorCode::CanisterRejectedMessage,
                                format!("Canister {id} is already installed."),
                            ));
                        }
                    }
                    let id = self.create_with_settings(caller, args.settings, amount, args.specified_id, subnet)?;
                    encode(&CanisterIdRecord { canister_id: id })
                }
                "provisional_top_up_canister" => {
                    let args: ProvisionalTopUpCanisterArgs = decode(method, arg)?;
                    self.canister_exists(args.canister_id)?;
                    let amount = nat_u128(&args.amount, "amount")?;
                    self.canisters.get_mut(&args.canister_id).unwrap().balance += amount;
                    unit()
                }
                "deposit_cycles" => {
                    let args: CanisterIdRecord = decode(method, arg)?;
                    self.canister_exists(args.canister_id)?;
                    self.canisters.get_mut(&args.canister_id).unwrap().balance += cycles;
                    refund = 0;
                    unit()
                }
                "update_settings" => {
                    let args: UpdateSettingsArgs = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    self.apply_settings(args.canister_id, &args.settings)?;
                    unit()
                }
                "install_code" => {
                    let args: InstallCodeArgs = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    let mode = install_mode(args.mode)?;
                    self.install_code(caller, args.canister_id, mode, &args.wasm_module, args.arg)?;
                    unit()
                }
                "upload_chunk" => {
                    let args: UploadChunkArgs = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    let hash = self.upload_chunk(args.canister_id, args.chunk)?;
                    encode(&ChunkHash { hash })
                }
                "clear_chunk_store" => {
                    let args: CanisterIdRecord = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    self.canisters.get_mut(&args.canister_id).unwrap().chunk_store.clear();
                    unit()
                }
                "stored_chunks" => {
                    let args: CanisterIdRecord = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    let hashes: Vec<ChunkHash> = self.canisters[&args.canister_id]
                        .chunk_store
                        .keys()
                        .map(|h| ChunkHash { hash: h.clone() })
                        .collect();
                    encode(&hashes)
                }
                "install_chunked_code" => {
                    let args: InstallChunkedCodeArgs = decode(method, arg)?;
                    self.check_controller(caller, args.target_canister, method)?;
                    let store = args.store_canister.unwrap_or(args.target_canister);
                    self.check_controller(caller, store, method)?;
                    let mut wasm = Vec::new();
                    for h in &args.chunk_hashes_list {
                        let chunk = self.canisters[&store].chunk_store.get(&h.hash).ok_or_else(|| {
                            Reject::new(
                                ErrorCode::InvalidManagementPayload,
                                format!("Chunk {} is not in the chunk store of canister {store}", hex::encode(&h.hash)),
                            )
                        })?;
                        wasm.extend_from_slice(chunk);
                    }
                    if sha256(&wasm).as_slice() != args.wasm_module_hash.as_slice() {
                        return Err(Reject::new(
                            ErrorCode::InvalidManagementPayload,
                            format!(
                                "Wasm module hash {} does not match the hash of the assembled chunks {}",
                                hex::encode(&args.wasm_module_hash),
                                hex::encode(sha256(&wasm))
                            ),
                        ));
                    }
                    let mode = install_mode(args.mode)?;
                    self.install_code(caller, args.target_canister, mode, &wasm, args.arg)?;
                    unit()
                }
                "uninstall_code" => {
                    let args: UninstallCodeArgs = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    self.uninstall(args.canister_id, "Canister has been uninstalled.");
                    unit()
                }
                "canister_status" => {
                    let args: CanisterIdRecord = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    encode(&StatusReply::from(self.status(args.canister_id)))
                }
                "start_canister" => {
                    let args: CanisterIdRecord = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    let c = self.canisters.get_mut(&args.canister_id).unwrap();
                    let waiters: Vec<_> = c.stop_waiters.drain(..).collect();
                    c.status = CanisterRunStatus::Running;
                    for (o, _) in waiters {
                        let r = Reject::new(
                            ErrorCode::CanisterStoppingCancelled,
                            format!("Canister {}'s stop request was cancelled because it was started.", args.canister_id),
                        );
                        self.respond(o, Err(r), 0);
                    }
                    unit()
                }
                "stop_canister" => {
                    let args: CanisterIdRecord = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    let now = self.time;
                    let c = self.canisters.get_mut(&args.canister_id).unwrap();
                    match c.status {
                        CanisterRunStatus::Stopped => unit(),
                        _ if c.open_call_contexts == 0 => {
                            c.status = CanisterRunStatus::Stopped;
                            unit()
                        }
                        _ => {
                            c.status = CanisterRunStatus::Stopping;
                            c.stop_waiters.push((origin, now));
                            return Ok(None);
                        }
                    }
                }
                "delete_canister" => {
                    let args: CanisterIdRecord = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    if args.canister_id == caller {
                        return Err(Reject::new(
                            ErrorCode::CanisterRejectedMessage,
                            format!("Canister {caller} cannot delete itself."),
                        ));
                    }
                    if self.canisters[&args.canister_id].status != CanisterRunStatus::Stopped {
                        return Err(Reject::new(
                            ErrorCode::CanisterNotStopped,
                            format!("Canister {} must be stopped before it is deleted.", args.canister_id),
                        ));
                    }
                    self.uninstall(args.canister_id, "Canister has been deleted.");
                    self.canisters.remove(&args.canister_id);
                    unit()
                }
                "raw_rand" => {
                    decode::<()>(method, arg)?;
                    let mut out = Vec::with_capacity(32);
                    for _ in 0..4 {
                        out.extend_from_slice(&self.rng.next_u64().to_le_bytes());
                    }
                    encode(&serde_bytes::ByteBuf::from(out))
                }
                "take_canister_snapshot" => {
                    let args: TakeCanisterSnapshotArgs = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    encode(&self.take_snapshot(args.canister_id, args.replace_snapshot, args.uninstall_code == Some(true))?)
                }
                "load_canister_snapshot" => {
                    let args: LoadCanisterSnapshotArgs = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    self.load_snapshot(args.canister_id, &args.snapshot_id)?;
                    unit()
                }
                "list_canister_snapshots" => {
                    let args: CanisterIdRecord = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    let list: Vec<Snapshot> = self.canisters[&args.canister_id]
                        .snapshots
                        .iter()
                        .map(|s| Snapshot { id: s.id.clone(), taken_at_timestamp: s.taken_at, total_size: s.total_size() })
                        .collect();
                    encode(&list)
                }
                "delete_canister_snapshot" => {
                    let args: DeleteCanisterSnapshotArgs = decode(method, arg)?;
                    self.check_controller(caller, args.canister_id, method)?;
                    let c = self.canisters.get_mut(&args.canister_id).unwrap();
                    let before = c.snapshots.len();
                    c.snapshots.retain(|s| s.id != args.snapshot_id);
                    if c.snapshots.len() == before {
                        return Err(snapshot_not_found(args.canister_id, &args.snapshot_id));
                    }
                    unit()
                }
                other => {
                    return Err(Reject::new(
                        ErrorCode::CanisterMethodNotFound,
                        format!("Management canister has no method '{other}'"),
                    ))
                }
            }))
        })();
        match result {
            Ok(Some(reply)) => Some((Ok(reply), refund)),
            Ok(None) => None,
            Err(r) => Some((Err(r), refund.max(if method == "create_canister" { cycles } else { 0 }))),
        }
    }

    pub fn create_with_settings(
        &mut self,
        caller: Principal,
        settings: Option<CanisterSettings>,
        cycles: u128,
        specified_id: Option<Principal>,
        subnet: usize,
    ) -> Result<Principal, Reject> {
        let settings = settings.unwrap_or_default();
        if let Some(c) = &settings.controllers {
            check_controllers(c)?;
        }
        // Validate everything before creating anything.
        let mut probe = crate::net::Settings::default();
        validate_into(&mut probe, &settings)?;
        let controllers = settings.controllers.clone().unwrap_or_else(|| vec![caller]);
        let id = self.new_canister(specified_id, controllers, cycles, subnet)?;
        self.canisters.get_mut(&id).unwrap().settings = probe;
        Ok(id)
    }

    pub fn apply_settings(&mut self, id: Principal, s: &CanisterSettings) -> Result<(), Reject> {
        let c = self.canisters.get_mut(&id).unwrap();
        let mut next = c.settings.clone();
        validate_into(&mut next, s)?;
        if let Some(ctrl) = &s.controllers {
            check_controllers(ctrl)?;
            c.controllers = ctrl.clone();
        }
        c.settings = next;
        Ok(())
    }

    fn upload_chunk(&mut self, id: Principal, chunk: Vec<u8>) -> Result<Vec<u8>, Reject> {
        if chunk.len() > MAX_CHUNK_BYTES {
            return Err(Reject::new(
                ErrorCode::InvalidManagementPayload,
                format!("Chunk is {} bytes; at most {MAX_CHUNK_BYTES} are allowed", chunk.len()),
            ));
        }
        let c = self.canisters.get_mut(&id).unwrap();
        let stored: usize = c.chunk_store.values().map(|v| v.len()).sum();
        let hash = sha256(&chunk).to_vec();
        if !c.chunk_store.contains_key(&hash) && stored + chunk.len() > MAX_CHUNK_STORE_BYTES {
            return Err(Reject::new(
                ErrorCode::InvalidManagementPayload,
                format!("Wasm chunk store of canister {id} is full ({MAX_CHUNK_STORE_BYTES} bytes)"),
            ));
        }
        c.chunk_store.insert(hash.clone(), chunk);
        Ok(hash)
    }

    /// install_code: atomic; on any failure nothing changes.
    pub fn install_code(
        &mut self,
        caller: Principal,
        id: Principal,
        mode: InstallMode,
        wasm: &[u8],
        arg: Vec<u8>,
    ) -> Result<(), Reject> {
        let invalid = |m: String| {
            Reject::new(ErrorCode::CanisterInvalidWasm, format!("Error from Canister {id}: Canister's Wasm module is not valid: {m}"))
        };
        let prepared = Arc::new(prepare(wasm).map_err(invalid)?);
        let c = &self.canisters[&id];
        match (mode, c.instance.is_some()) {
            (InstallMode::Install, true) => {
                return Err(Reject::new(
                    ErrorCode::CanisterNonEmpty,
                    format!("Canister {id} cannot be installed because the canister is not empty. Try installing with mode='reinstall' instead."),
                ))
            }
            (InstallMode::Upgrade { .. }, false) => {
                return Err(Reject::new(
                    ErrorCode::CanisterWasmModuleNotFound,
                    format!("Error from Canister {id}: Attempted to upgrade a canister that contains no Wasm module."),
                ))
            }
            _ => {}
        }
        let threshold = c.freezing_threshold_cycles(&self.fees);
        if c.balance < threshold {
            return Err(Reject::new(
                ErrorCode::CanisterOutOfCycles,
                format!("Canister {id} is out of cycles: it is below its freezing threshold of {threshold} cycles"),
            ));
        }
        let mut limit = self.limits.install;
        let mut used = 0u64;
        let new_version = c.version + 1;

        // Stable memory: fresh for install/reinstall; the old one, journaled, for upgrade.
        let mut old_instance = None;
        let stable = match mode {
            InstallMode::Upgrade { skip_pre_upgrade } => {
                let c = self.canisters.get_mut(&id).unwrap();
                let mut inst = c.instance.take().unwrap();
                inst.stable_mut().begin();
                if inst.prepared.has_pre_upgrade && !skip_pre_upgrade {
                    let mut exec = self.exec_state(&self.canisters[&id], ApiType::PreUpgrade, caller, limit);
                    exec.canister_version = new_version - 1;
                    let r = inst.execute(&Entry::Export("canister_pre_upgrade".into()), exec, Policy::HeapDiscardStableOuter);
                    used += r.instructions;
                    self.record(id, "pre_upgrade".into(), &r, None);
                    self.keep_logs(id, &r);
                    if let Err(e) = r.outcome {
                        inst.stable_mut().rollback();
                        self.canisters.get_mut(&id).unwrap().instance = Some(inst);
                        self.charge_install(id, used);
                        return Err(Reject::new(e.code, format!("Error from Canister {id}: {} (in pre_upgrade)", e.message)));
                    }
                    limit -= r.instructions.min(limit);
                }
                let stable = inst.take_stable();
                old_instance = Some(inst);
                stable
            }
            _ => {
                let mut s = StableMemory::default();
                s.begin();
                s
            }
        };

        // Puts things back as they were after a failure.
        let restore = |net: &mut Net, stable: StableMemory, old: Option<WasmInstance>| {
            if let Some(mut old) = old {
                let s = old.stable_mut();
                *s = stable;
                s.rollback();
                net.canisters.get_mut(&id).unwrap().instance = Some(old);
            }
        };

        let mut start = self.exec_state(&self.canisters[&id], ApiType::Start, Principal::management_canister(), limit);
        start.canister_version = new_version;
        let (mut inst, r) = match WasmInstance::instantiate(prepared.clone(), stable, start) {
            Ok(v) => v,
            Err((stable, e)) => {
                restore(self, stable, old_instance);
                self.charge_install(id, used);
                return Err(Reject::new(e.code, format!("Error from Canister {id}: {}", e.message)));
            }
        };
        used += r.instructions;
        limit -= r.instructions.min(limit);
        let (hook, label, present) = match mode {
            InstallMode::Upgrade { .. } => ("canister_post_upgrade", "post_upgrade", prepared.has_post_upgrade),
            _ => ("canister_init", "init", prepared.has_init),
        };
        let mut new_timer = None;
        let mut new_certified = None;
        if present {
            let mut exec = self.exec_state(&self.canisters[&id], ApiType::Init, caller, limit);
            exec.arg = arg;
            exec.canister_version = new_version;
            exec.global_timer = 0;
            let r = inst.execute(&Entry::Export(hook.into()), exec, Policy::HeapCommitStableOuter);
            used += r.instructions;
            self.record(id, label.into(), &r, None);
            self.keep_logs(id, &r);
            if let Err(e) = r.outcome {
                let stable = inst.take_stable();
                restore(self, stable, old_instance);
                self.charge_install(id, used);
                return Err(Reject::new(e.code, format!("Error from Canister {id}: {} (in {label})", e.message)));
            }
            new_timer = r.state.new_global_timer;
            new_certified = r.state.new_certified_data;
        }
        inst.stable_mut().commit();
        let c = self.canisters.get_mut(&id).unwrap();
        c.instance = Some(inst);
        c.installed_module = wasm.to_vec();
        c.version = new_version;
        c.global_timer = new_timer.unwrap_or(0);
        if !matches!(mode, InstallMode::Upgrade { .. }) {
            c.certified_data.clear();
        }
        if let Some(d) = new_certified {
            c.certified_data = d;
        }
        self.charge_install(id, used);
        Ok(())
    }

    fn charge_install(&mut self, id: Principal, instructions: u64) {
        let cost = self.fees.execution_cost(instructions);
        let c = self.canisters.get_mut(&id).unwrap();
        c.balance = c.balance.saturating_sub(cost);
    }

    pub fn status(&self, id: Principal) -> CanisterStatusResult {
        let c = &self.canisters[&id];
        let m = c.memory_usage();
        let s = &c.settings;
        CanisterStatusResult {
            status: match c.status {
                CanisterRunStatus::Running => CanisterStatusType::Running,
                CanisterRunStatus::Stopping => CanisterStatusType::Stopping,
                CanisterRunStatus::Stopped => CanisterStatusType::Stopped,
            },
            ready_for_migration: false,
            version: c.version,
            settings: DefiniteCanisterSettings {
                controllers: c.controllers.clone(),
                compute_allocation: Nat::from(s.compute_allocation),
                memory_allocation: Nat::from(s.memory_allocation),
                freezing_threshold: Nat::from(s.freezing_threshold),
                reserved_cycles_limit: Nat::from(s.reserved_cycles_limit),
                log_visibility: s.log_visibility.clone(),
                log_memory_limit: Nat::from(s.log_memory_limit),
                wasm_memory_limit: Nat::from(s.wasm_memory_limit),
                wasm_memory_threshold: Nat::from(s.wasm_memory_threshold),
                environment_variables: s
                    .env_vars
                    .iter()
                    .map(|(n, v)| EnvironmentVariable { name: n.clone(), value: v.clone() })
                    .collect(),
            },
            module_hash: c.instance.as_ref().map(|i| i.prepared.module_hash.to_vec()),
            memory_size: Nat::from(m.total()),
            memory_metrics: MemoryMetrics {
                wasm_memory_size: Nat::from(m.heap),
                stable_memory_size: Nat::from(m.stable),
                global_memory_size: Nat::from(m.globals),
                wasm_binary_size: Nat::from(m.wasm_binary),
                custom_sections_size: Nat::from(m.custom_sections),
                canister_history_size: Nat::from(0u64),
                wasm_chunk_store_size: Nat::from(m.chunk_store),
                snapshots_size: Nat::from(m.snapshots),
                // Logs are not charged as canister memory here.
                log_memory_store_size: Nat::from(0u64),
            },
            cycles: Nat::from(c.balance),
            reserved_cycles: Nat::from(0u64),
            idle_cycles_burned_per_day: Nat::from(self.fees.idle_cycles_per_day(c.memory_bytes())),
            query_stats: QueryStats {
                num_calls_total: Nat::from(c.query_calls),
                num_instructions_total: Nat::from(c.query_instructions),
                request_payload_bytes_total: Nat::from(0u64),
                response_payload_bytes_total: Nat::from(0u64),
            },
        }
    }

    fn take_snapshot(&mut self, id: Principal, replace: Option<Vec<u8>>, uninstall: bool) -> Result<Snapshot, Reject> {
        let now = self.time;
        let c = self.canisters.get_mut(&id).unwrap();
        let Some(inst) = &c.instance else {
            return Err(Reject::new(
                ErrorCode::CanisterWasmModuleNotFound,
                format!("Canister {id} has no Wasm module: there is nothing to snapshot"),
            ));
        };
        if let Some(r) = &replace {
            if !c.snapshots.iter().any(|s| &s.id == r) {
                return Err(snapshot_not_found(id, r));
            }
        } else if c.snapshots.len() >= MAX_SNAPSHOTS {
            return Err(Reject::new(
                ErrorCode::CanisterRejectedMessage,
                format!("Canister {id} has reached the maximum of {MAX_SNAPSHOTS} snapshots"),
            ));
        }
        let (heap, globals) = inst.committed_state();
        c.next_snapshot += 1;
        let mut sid = id.as_slice().to_vec();
        sid.extend_from_slice(&c.next_snapshot.to_be_bytes());
        let data = SnapshotData {
            id: sid.clone(),
            taken_at: now,
            installed_module: c.installed_module.clone(),
            prepared: inst.prepared.clone(),
            heap,
            globals,
            stable: inst.stable().clone(),
            certified_data: c.certified_data.clone(),
            global_timer: c.global_timer,
        };
        let result = Snapshot { id: sid, taken_at_timestamp: now, total_size: data.total_size() };
        if let Some(r) = replace {
            c.snapshots.retain(|s| s.id != r);
        }
        c.snapshots.push(data);
        if uninstall {
            self.uninstall(id, "Canister has been uninstalled.");
        }
        Ok(result)
    }

    fn load_snapshot(&mut self, id: Principal, snapshot_id: &[u8]) -> Result<(), Reject> {
        let c = &self.canisters[&id];
        let Some(s) = c.snapshots.iter().find(|s| s.id == snapshot_id) else {
            return Err(snapshot_not_found(id, snapshot_id));
        };
        let start = self.exec_state(c, ApiType::Start, Principal::management_canister(), self.limits.install);
        let (mut inst, _) = WasmInstance::instantiate(s.prepared.clone(), s.stable.clone(), start)
            .map_err(|(_, e)| Reject::new(e.code, format!("Error from Canister {id}: {}", e.message)))?;
        inst.load_image(&s.heap, s.globals.clone())
            .map_err(|e| Reject::new(ErrorCode::CanisterInvalidWasm, format!("restoring the snapshot: {e}")))?;
        let (module, certified, timer) = (s.installed_module.clone(), s.certified_data.clone(), s.global_timer);
        let c = self.canisters.get_mut(&id).unwrap();
        c.instance = Some(inst);
        c.installed_module = module;
        c.certified_data = certified;
        c.global_timer = timer;
        c.version += 1;
        Ok(())
    }
}

fn snapshot_not_found(id: Principal, snapshot: &[u8]) -> Reject {
    Reject::new(
        ErrorCode::CanisterSnapshotNotFound,
        format!("Could not find the snapshot ID {} for canister {id}", hex::encode(snapshot)),
    )
}

fn install_mode(m: CanisterInstallMode) -> Result<InstallMode, Reject> {
    Ok(match m {
        CanisterInstallMode::Install => InstallMode::Install,
        CanisterInstallMode::Reinstall => InstallMode::Reinstall,
        CanisterInstallMode::Upgrade(flags) => {
            let flags = flags.unwrap_or_default();
            if flags.wasm_memory_persistence == Some(WasmMemoryPersistence::Keep) {
                return Err(Reject::new(
                    ErrorCode::CanisterInvalidWasm,
                    "wasm_memory_persistence = keep needs enhanced orthogonal persistence, which Rust canisters do not use and localnet does not support",
                ));
            }
            InstallMode::Upgrade { skip_pre_upgrade: flags.skip_pre_upgrade == Some(true) }
        }
    })
}

fn check_controllers(c: &[Principal]) -> Result<(), Reject> {
    if c.len() > MAX_CONTROLLERS {
        return Err(Reject::new(
            ErrorCode::InvalidManagementPayload,
            format!("Invalid settings: {} controllers given; at most {MAX_CONTROLLERS} are allowed", c.len()),
        ));
    }
    Ok(())
}

fn validate_into(next: &mut crate::net::Settings, s: &CanisterSettings) -> Result<(), Reject> {
    let bad = |m: String| Reject::new(ErrorCode::InvalidManagementPayload, format!("Invalid settings: {m}"));
    if let Some(v) = &s.compute_allocation {
        let v = nat_u64(v, "compute_allocation")?;
        if v > 100 {
            return Err(bad(format!("compute_allocation must be between 0 and 100, got {v}")));
        }
        next.compute_allocation = v;
    }
    if let Some(v) = &s.memory_allocation {
        next.memory_allocation = nat_u64(v, "memory_allocation")?;
    }
    if let Some(v) = &s.freezing_threshold {
        next.freezing_threshold = nat_u64(v, "freezing_threshold")?;
    }
    if let Some(v) = &s.reserved_cycles_limit {
        next.reserved_cycles_limit = nat_u128(v, "reserved_cycles_limit")?;
    }
    if let Some(v) = &s.log_visibility {
        if let ic_management_canister_types::LogVisibility::AllowedViewers(viewers) = v {
            if viewers.len() > MAX_ALLOWED_LOG_VIEWERS {
                return Err(bad(format!(
                    "log_visibility: {} allowed viewers given; at most {MAX_ALLOWED_LOG_VIEWERS} are allowed",
                    viewers.len()
                )));
            }
        }
        next.log_visibility = v.clone();
    }
    if let Some(v) = &s.log_memory_limit {
        next.log_memory_limit = nat_u64(v, "log_memory_limit")?;
    }
    if let Some(v) = &s.wasm_memory_limit {
        let v = nat_u64(v, "wasm_memory_limit")?;
        if v > 1 << 48 {
            return Err(bad(format!("wasm_memory_limit must be at most 2^48, got {v}")));
        }
        next.wasm_memory_limit = v;
    }
    if let Some(v) = &s.wasm_memory_threshold {
        next.wasm_memory_threshold = nat_u64(v, "wasm_memory_threshold")?;
    }
    if let Some(vars) = &s.environment_variables {
        if vars.len() > MAX_ENV_VARS {
            return Err(bad(format!("{} environment variables; at most {MAX_ENV_VARS} are allowed", vars.len())));
        }
        for v in vars {
            if v.name.len() > MAX_ENV_VAR_BYTES || v.value.len() > MAX_ENV_VAR_BYTES {
                return Err(bad(format!("environment variable '{}' is longer than {MAX_ENV_VAR_BYTES} bytes", v.name)));
            }
        }
        next.env_vars = vars.iter().map(|v| (v.name.clone(), v.value.clone())).collect();
    }
    Ok(())
}

/// `canister_status` as the management canister's current Candid has it: the record of
/// ic-management-canister-types 0.7 plus the settings that newer clients require
/// (`snapshot_visibility`, `status_visibility`, `minimum_incoming_canister_call_cycles`;
/// agent-js, icp-cli and pocket-ic refuse a reply without them). Older decoders ignore them.
#[derive(candid::CandidType)]
struct StatusReply {
    status: ic_management_canister_types::CanisterStatusType,
    ready_for_migration: bool,
    version: u64,
    settings: SettingsReply,
    module_hash: Option<Vec<u8>>,
    memory_size: Nat,
    memory_metrics: ic_management_canister_types::MemoryMetrics,
    cycles: Nat,
    reserved_cycles: Nat,
    idle_cycles_burned_per_day: Nat,
    query_stats: ic_management_canister_types::QueryStats,
}

#[derive(candid::CandidType)]
struct SettingsReply {
    controllers: Vec<Principal>,
    compute_allocation: Nat,
    memory_allocation: Nat,
    freezing_threshold: Nat,
    reserved_cycles_limit: Nat,
    log_visibility: ic_management_canister_types::LogVisibility,
    log_memory_limit: Nat,
    wasm_memory_limit: Nat,
    wasm_memory_threshold: Nat,
    environment_variables: Vec<ic_management_canister_types::EnvironmentVariable>,
    /// Snapshots and status are readable by controllers only, the IC's default.
    snapshot_visibility: ControllersOnly,
    status_visibility: ControllersOnly,
    minimum_incoming_canister_call_cycles: Nat,
}

#[derive(candid::CandidType)]
#[allow(non_camel_case_types)]
enum ControllersOnly {
    controllers,
}

impl From<CanisterStatusResult> for StatusReply {
    fn from(r: CanisterStatusResult) -> Self {
        let s = r.settings;
        StatusReply {
            status: r.status,
            ready_for_migration: r.ready_for_migration,
            version: r.version,
            settings: SettingsReply {
                controllers: s.controllers,
                compute_allocation: s.compute_allocation,
                memory_allocation: s.memory_allocation,
                freezing_threshold: s.freezing_threshold,
                reserved_cycles_limit: s.reserved_cycles_limit,
                log_visibility: s.log_visibility,
                log_memory_limit: s.log_memory_limit,
                wasm_memory_limit: s.wasm_memory_limit,
                wasm_memory_threshold: s.wasm_memory_threshold,
                environment_variables: s.environment_variables,
                snapshot_visibility: ControllersOnly::controllers,
                status_visibility: ControllersOnly::controllers,
                minimum_incoming_canister_call_cycles: Nat::from(0u64),
            },
            module_hash: r.module_hash,
            memory_size: r.memory_size,
            memory_metrics: r.memory_metrics,
            cycles: r.cycles,
            reserved_cycles: r.reserved_cycles,
            idle_cycles_burned_per_day: r.idle_cycles_burned_per_day,
            query_stats: r.query_stats,
        }
    }
}
