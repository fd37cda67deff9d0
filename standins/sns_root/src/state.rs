//! The root state on the heap, saved to stable memory (Candid) in `pre_upgrade`.

use crate::root::Root;
use std::cell::RefCell;

thread_local! {
    static STATE: RefCell<Option<Root>> = const { RefCell::new(None) };
}

pub fn set(r: Root) {
    STATE.with(|s| *s.borrow_mut() = Some(r));
}

pub fn with<R>(f: impl FnOnce(&Root) -> R) -> R {
    STATE.with(|s| f(s.borrow().as_ref().expect("root state is initialised")))
}

pub fn with_mut<R>(f: impl FnOnce(&mut Root) -> R) -> R {
    STATE.with(|s| f(s.borrow_mut().as_mut().expect("root state is initialised")))
}

pub fn save() {
    with(|r| ic_cdk::storage::stable_save((r,))).unwrap_or_else(|e| ic_cdk::trap(format!("saving the state: {e}")));
}

pub fn restore() -> Root {
    let (r,): (Root,) =
        ic_cdk::storage::stable_restore().unwrap_or_else(|e| ic_cdk::trap(format!("restoring the state: {e}")));
    r
}
