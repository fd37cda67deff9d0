//! Stable state: the init arguments live in a `StableCell` on a dedicated virtual memory, so
//! upgrades need no pre/post-upgrade serialization.

use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, Memory, StableCell};
use platform_types::{HubInitArgs, StableCandid};
use std::cell::RefCell;

/// Virtual memory holding the init arguments.
pub const INIT_ARGS_MEMORY_ID: MemoryId = MemoryId::new(0);

pub type InitArgsCell<M> = StableCell<StableCandid<Option<HubInitArgs>>, VirtualMemory<M>>;

thread_local! {
    static MEMORY_MANAGER: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());

    static INIT_ARGS: RefCell<InitArgsCell<DefaultMemoryImpl>> =
        RefCell::new(MEMORY_MANAGER.with(open_init_args));
}

/// Opens (or creates, empty) the init-args cell in the memory managed by `manager`.
pub fn open_init_args<M: Memory>(manager: &MemoryManager<M>) -> InitArgsCell<M> {
    StableCell::init(manager.get(INIT_ARGS_MEMORY_ID), StableCandid(None))
}

pub fn set_init_args(args: HubInitArgs) {
    INIT_ARGS.with_borrow_mut(|cell| cell.set(StableCandid(Some(args))));
}

pub fn init_args() -> Option<HubInitArgs> {
    INIT_ARGS.with_borrow(|cell| cell.get().0.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;

    #[test]
    fn init_args_survive_reopening_the_same_stable_memory() {
        let memory = DefaultMemoryImpl::default();
        let args = HubInitArgs {
            ledger_id: Principal::from_slice(&[1; 10]),
            learning_content_id: Principal::from_slice(&[2; 10]),
            sns_governance_id: Principal::from_slice(&[3; 10]),
        };
        {
            let manager = MemoryManager::init(memory.clone());
            let mut cell = open_init_args(&manager);
            assert_eq!(cell.get().0, None);
            cell.set(StableCandid(Some(args.clone())));
        }
        // What an upgrade does: a fresh heap, the same stable memory.
        let manager = MemoryManager::init(memory);
        assert_eq!(open_init_args(&manager).get().0, Some(args));
    }

    #[test]
    fn thread_local_state_stores_the_init_args() {
        assert_eq!(init_args(), None);
        let args = HubInitArgs {
            ledger_id: Principal::anonymous(),
            learning_content_id: Principal::management_canister(),
            sns_governance_id: Principal::anonymous(),
        };
        set_init_args(args.clone());
        assert_eq!(init_args(), Some(args));
    }
}
