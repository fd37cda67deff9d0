//! The canister's single [`Ledger`] over the real stable memory.

use crate::ledger::Ledger;
use ic_stable_structures::memory_manager::MemoryManager;
use ic_stable_structures::DefaultMemoryImpl;
use std::cell::RefCell;

thread_local! {
    static LEDGER: RefCell<Ledger<DefaultMemoryImpl>> =
        RefCell::new(Ledger::open(&MemoryManager::init(DefaultMemoryImpl::default())));
}

pub fn with<R>(f: impl FnOnce(&Ledger<DefaultMemoryImpl>) -> R) -> R {
    LEDGER.with_borrow(f)
}

pub fn with_mut<R>(f: impl FnOnce(&mut Ledger<DefaultMemoryImpl>) -> R) -> R {
    LEDGER.with_borrow_mut(f)
}
