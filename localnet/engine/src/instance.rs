//! One instantiated canister module: runs entry points and commits or rolls back
//! the Wasm state (heap, mutable globals, stable memory) per execution.

use std::sync::Arc;

use wasmtime::{Extern, Global, Instance, Module, Ref, Store, Table, Val};

use crate::memory::{take_created_heap, HeapHandle};
use crate::stable::StableMemory;
use crate::system_api::{Ctx, ExecState, HostTrap};
use crate::types::ErrorCode;
use crate::wasm::{PreparedModule, GLOBAL_EXPORT_PREFIX, TABLE_EXPORT};

/// What to run.
#[derive(Clone, Debug)]
pub enum Entry {
    /// An exported function, e.g. `canister_update inc`.
    Export(String),
    /// A function-table entry called with one `i32` environment argument.
    Callback { fun: u32, env: u32 },
}

/// How an execution's changes are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Commit heap, globals and stable memory on success; roll everything back on a trap.
    Commit,
    /// Always roll back (queries, inspect_message).
    Discard,
    /// Roll the heap back in every case but leave stable-memory writes in the open
    /// journal of an enclosing transaction (pre_upgrade).
    HeapDiscardStableOuter,
    /// Commit the heap on success; stable memory belongs to an enclosing transaction
    /// (start, init and post_upgrade of an install or upgrade).
    HeapCommitStableOuter,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecError {
    pub code: ErrorCode,
    pub message: String,
}

pub struct ExecResult {
    pub state: ExecState,
    pub outcome: Result<(), ExecError>,
    pub instructions: u64,
    pub dirty_pages: usize,
}

pub struct WasmInstance {
    pub prepared: Arc<PreparedModule>,
    module: Module,
    store: Store<Ctx>,
    instance: Instance,
    heap: Option<HeapHandle>,
    table: Option<Table>,
    globals: Vec<Global>,
    committed_globals: Vec<Val>,
}

/// Maps a failed call to the IC's error code and message.
pub fn classify(err: &wasmtime::Error) -> ExecError {
    if let Some(t) = err.downcast_ref::<HostTrap>() {
        let code = match t {
            HostTrap::CalledTrap(_) => ErrorCode::CanisterCalledTrap,
            HostTrap::ContractViolation(_) => ErrorCode::CanisterContractViolation,
            HostTrap::InstructionLimit(_) => ErrorCode::CanisterInstructionLimitExceeded,
            HostTrap::MemoryLimit(_) => ErrorCode::CanisterWasmMemoryLimitExceeded,
        };
        return ExecError { code, message: t.to_string() };
    }
    if let Some(trap) = err.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::OutOfFuel => ExecError {
                code: ErrorCode::CanisterInstructionLimitExceeded,
                message: "Canister exceeded the instruction limit for single message execution.".into(),
            },
            wasmtime::Trap::StackOverflow => {
                ExecError { code: ErrorCode::CanisterTrapped, message: "Canister trapped: stack overflow".into() }
            }
            wasmtime::Trap::MemoryOutOfBounds => {
                ExecError { code: ErrorCode::CanisterTrapped, message: "Canister trapped: heap out of bounds".into() }
            }
            wasmtime::Trap::UnreachableCodeReached => {
                ExecError { code: ErrorCode::CanisterTrapped, message: "Canister trapped: unreachable".into() }
            }
            other => ExecError { code: ErrorCode::CanisterTrapped, message: format!("Canister trapped: {other}") },
        };
    }
    ExecError { code: ErrorCode::CanisterTrapped, message: format!("Canister trapped: {err:#}") }
}

impl WasmInstance {
    /// Compiles (cached) and instantiates `prepared` around `stable`, running the module's
    /// start function in `start_exec`. Stable writes of the start function stay in the
    /// caller's open journal. The initial heap is committed.
    pub fn instantiate(
        prepared: Arc<PreparedModule>,
        stable: StableMemory,
        start_exec: ExecState,
    ) -> Result<(Self, ExecResult), (StableMemory, ExecError)> {
        let module = match crate::engine::compile(&prepared.wasm) {
            Ok(m) => m,
            Err(message) => return Err((stable, ExecError { code: ErrorCode::CanisterInvalidWasm, message })),
        };
        Self::instantiate_compiled(prepared, module, stable, start_exec, None)
    }

    /// `adopt`: start from this committed heap (rollback after a grow) instead of a fresh one;
    /// what instantiation writes (data segments) is then discarded rather than committed.
    fn instantiate_compiled(
        prepared: Arc<PreparedModule>,
        module: Module,
        stable: StableMemory,
        start_exec: ExecState,
        adopt: Option<crate::memory::CommittedHeap>,
    ) -> Result<(Self, ExecResult), (StableMemory, ExecError)> {
        let adopting = adopt.is_some();
        let limit = start_exec.instruction_limit;
        let mut store = Store::new(crate::engine::engine(), Ctx { stable, memory: None, exec: Some(start_exec) });
        store.set_fuel(limit).expect("fuel is enabled");
        let _ = take_created_heap();
        if let Some(heap) = adopt {
            crate::memory::adopt_on_next_creation(heap);
        }
        let instance = match crate::engine::linker().instantiate(&mut store, &module) {
            Ok(i) => i,
            Err(e) => {
                let stable = std::mem::take(&mut store.data_mut().stable);
                return Err((stable, classify(&e)));
            }
        };
        let heap = take_created_heap();
        let memory = instance.get_memory(&mut store, "memory");
        if memory.is_some() != heap.is_some() {
            let stable = std::mem::take(&mut store.data_mut().stable);
            let message = "Wasm module must export its memory as \"memory\"".to_string();
            return Err((stable, ExecError { code: ErrorCode::CanisterInvalidWasm, message }));
        }
        store.data_mut().memory = memory;
        let table = match instance.get_export(&mut store, TABLE_EXPORT) {
            Some(Extern::Table(t)) => Some(t),
            _ => None,
        };
        let globals: Vec<Global> = (0..prepared.mutable_globals)
            .map(|i| instance.get_global(&mut store, &format!("{GLOBAL_EXPORT_PREFIX}{i}")).expect("exported global"))
            .collect();
        let used = limit - store.get_fuel().unwrap_or(0);
        let mut inst =
            WasmInstance { prepared, module, store, instance, heap, table, globals, committed_globals: Vec::new() };
        let dirty = match &inst.heap {
            Some(h) if adopting => h.lock().rollback_in_place(),
            Some(h) => h.lock().commit(),
            None => 0,
        };
        inst.committed_globals = inst.read_globals();
        let state = inst.store.data_mut().exec.take().expect("exec state");
        Ok((inst, ExecResult { state, outcome: Ok(()), instructions: used, dirty_pages: dirty }))
    }

    fn read_globals(&mut self) -> Vec<Val> {
        self.globals.iter().map(|g| g.get(&mut self.store)).collect()
    }


    pub fn stable(&self) -> &StableMemory {
        &self.store.data().stable
    }

    pub fn stable_mut(&mut self) -> &mut StableMemory {
        &mut self.store.data_mut().stable
    }

    pub fn take_stable(&mut self) -> StableMemory {
        std::mem::take(&mut self.store.data_mut().stable)
    }

    pub fn heap_size(&self) -> usize {
        self.heap.as_ref().map(|h| h.lock().committed_size()).unwrap_or(0)
    }

    /// The committed heap and mutable globals, for snapshots.
    pub fn committed_state(&self) -> (Vec<u8>, Vec<Val>) {
        (self.heap.as_ref().map(|h| h.lock().committed_bytes()).unwrap_or_default(), self.committed_globals.clone())
    }

    /// Runs `entry` with `exec` and applies `policy`.
    pub fn execute(&mut self, entry: &Entry, exec: ExecState, policy: Policy) -> ExecResult {
        let limit = exec.instruction_limit;
        self.store.data_mut().exec = Some(exec);
        self.store.set_fuel(limit).expect("fuel is enabled");
        if matches!(policy, Policy::Commit | Policy::Discard) {
            self.store.data_mut().stable.begin();
        }
        let result = self.call(entry);
        let used = limit.saturating_sub(self.store.get_fuel().unwrap_or(0));
        let result = result.and_then(|()| self.check_memory_limit());
        let outcome = result.map_err(|e| {
            let mut err = classify(&e);
            if err.code == ErrorCode::CanisterInstructionLimitExceeded {
                err.message = format!("Canister exceeded the limit of {limit} instructions for single message execution.");
            }
            err
        });
        let commit = outcome.is_ok() && matches!(policy, Policy::Commit | Policy::HeapCommitStableOuter);
        let dirty = if commit { self.commit() } else { self.rollback_heap() };
        match policy {
            Policy::Commit if outcome.is_ok() => self.store.data_mut().stable.commit(),
            Policy::Commit | Policy::Discard => {
                self.store.data_mut().stable.rollback();
            }
            _ => {}
        }
        let state = self.store.data_mut().exec.take().expect("exec state");
        ExecResult { state, outcome, instructions: used, dirty_pages: dirty }
    }

    fn call(&mut self, entry: &Entry) -> wasmtime::Result<()> {
        match entry {
            Entry::Export(name) => {
                let f = self.instance.get_typed_func::<(), ()>(&mut self.store, name)?;
                f.call(&mut self.store, ())
            }
            Entry::Callback { fun, env } => {
                let table = self.table.ok_or_else(|| wasmtime::Error::msg("the module has no function table"))?;
                let func = match table.get(&mut self.store, *fun as u64) {
                    Some(Ref::Func(Some(f))) => f,
                    Some(_) => return Err(wasmtime::Error::msg(format!("callback table entry {fun} is null"))),
                    None => return Err(wasmtime::Error::msg(format!("callback index {fun} is out of table bounds"))),
                };
                let f = func
                    .typed::<i32, ()>(&self.store)
                    .map_err(|_| wasmtime::Error::msg(format!("callback table entry {fun} has the wrong type")))?;
                f.call(&mut self.store, *env as i32)
            }
        }
    }

    /// The Wasm memory limit applies to updates, init and post_upgrade (not to queries,
    /// callbacks, timers or pre_upgrade), checked before anything is committed.
    fn check_memory_limit(&mut self) -> wasmtime::Result<()> {
        let exec = self.store.data().exec.as_ref().expect("exec state");
        let limit = exec.wasm_memory_limit;
        let applies = matches!(exec.api, crate::system_api::ApiType::Update | crate::system_api::ApiType::Init);
        let size = self.heap.as_ref().map(|h| h.lock().size() as u64).unwrap_or(0);
        if applies && limit > 0 && size > limit {
            return Err(wasmtime::Error::new(HostTrap::MemoryLimit(limit)));
        }
        Ok(())
    }

    fn commit(&mut self) -> usize {
        let dirty = self.heap.as_ref().map(|h| h.lock().commit()).unwrap_or(0);
        self.committed_globals = self.read_globals();
        dirty
    }

    /// Restores the committed heap and globals. A heap that grew in this execution
    /// cannot shrink under wasmtime, so the instance is rebuilt in that case.
    fn rollback_heap(&mut self) -> usize {
        let Some(heap) = self.heap.clone() else {
            self.restore_globals();
            return 0;
        };
        let grew = {
            let h = heap.lock();
            h.size() != h.committed_size()
        };
        if !grew {
            let dirty = heap.lock().rollback_in_place();
            self.restore_globals();
            return dirty;
        }
        let touched = heap.lock().dirty_page_count();
        self.rebuild_from_committed();
        touched
    }

    /// Re-instantiates the module over the committed heap (the same memfd: nothing is copied)
    /// and restores the committed globals. Used when a failed execution grew the memory.
    fn rebuild_from_committed(&mut self) {
        let committed = self.heap.as_ref().expect("a heap to rebuild").lock().detach_committed();
        let stable = self.take_stable();
        let exec_template = self.store.data().exec.clone();
        let stable_before_start = self.prepared.has_start.then(|| stable.clone());
        let start = ExecState::new(
            crate::system_api::ApiType::Start,
            candid::Principal::management_canister(),
            candid::Principal::management_canister(),
            0,
        );
        let result = Self::instantiate_compiled(self.prepared.clone(), self.module.clone(), stable, start, Some(committed));
        let (mut fresh, _) = result.unwrap_or_else(|(_, e)| panic!("re-instantiating a module that instantiated before: {}", e.message));
        if let Some(s) = stable_before_start {
            fresh.store.data_mut().stable = s;
        }
        fresh.committed_globals = self.committed_globals.clone();
        fresh.restore_globals();
        fresh.store.data_mut().exec = exec_template;
        *self = fresh;
    }

    fn restore_globals(&mut self) {
        for (g, v) in self.globals.iter().zip(self.committed_globals.clone()) {
            g.set(&mut self.store, v).expect("restoring a mutable global");
        }
    }

    /// Loads a heap image and globals into a freshly instantiated instance and commits
    /// them (snapshot load).
    pub fn load_image(&mut self, heap: &[u8], globals: Vec<Val>) -> Result<(), String> {
        if let (Some(h), Some(mem)) = (self.heap.clone(), self.store.data().memory) {
            let have = h.lock().size();
            if heap.len() > have {
                let pages = ((heap.len() - have) / 65536) as u64;
                mem.grow(&mut self.store, pages).map_err(|e| format!("growing the heap: {e}"))?;
            }
            let mut image = heap.to_vec();
            image.resize(h.lock().size(), 0);
            h.load_committed(&image);
        }
        self.committed_globals = globals;
        self.restore_globals();
        Ok(())
    }
}
