//! The governance state: one [`Governance`] on the heap, saved to stable memory (Candid) in
//! `pre_upgrade` and restored in `post_upgrade`. This canister is test infrastructure with small
//! state, so a full copy per upgrade is fine.

use crate::governance::Governance;
use std::cell::RefCell;

thread_local! {
    static STATE: RefCell<Option<Governance>> = const { RefCell::new(None) };
}

pub fn set(g: Governance) {
    STATE.with(|s| *s.borrow_mut() = Some(g));
}

pub fn with<R>(f: impl FnOnce(&Governance) -> R) -> R {
    STATE.with(|s| f(s.borrow().as_ref().expect("governance state is initialised")))
}

pub fn with_mut<R>(f: impl FnOnce(&mut Governance) -> R) -> R {
    STATE.with(|s| f(s.borrow_mut().as_mut().expect("governance state is initialised")))
}

pub fn save() {
    with(|g| ic_cdk::storage::stable_save((g,))).unwrap_or_else(|e| ic_cdk::trap(format!("saving the state: {e}")));
}

pub fn restore() -> Governance {
    let (g,): (Governance,) =
        ic_cdk::storage::stable_restore().unwrap_or_else(|e| ic_cdk::trap(format!("restoring the state: {e}")));
    g
}
