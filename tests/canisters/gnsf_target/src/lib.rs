//! `gnsf_target`: the validator and the target of a custom SNS proposal (generic nervous system
//! function), and a dapp canister for upgrades through SNS root. Only the governance canister
//! given at init may call `set_value_validate` and `set_value`.
//!
//! State (kept across upgrades through `pre_upgrade`/`post_upgrade`): the values set, and what
//! the upgrades saw. The upgrade argument (not in the `.did`) is `(opt text)`: it is recorded,
//! and `opt "trap"` makes `post_upgrade` trap (a failing upgrade).

use candid::{CandidType, Principal};
use serde::Deserialize;
use std::cell::RefCell;

#[derive(CandidType, Deserialize, Clone, Debug, Default)]
struct State {
    governance: Option<Principal>,
    values: Vec<String>,
    upgrades: u64,
    last_upgrade_arg: Option<String>,
    status_during_last_upgrade: Option<u32>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SetValueArg {
    pub value: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Info {
    pub governance: Principal,
    /// Values set by `set_value`, oldest first.
    pub values: Vec<String>,
    /// Upgrades since install.
    pub upgrades: u64,
    pub last_upgrade_arg: Option<String>,
    /// `ic0.canister_status` in the last `post_upgrade`: 1 running, 2 stopping, 3 stopped.
    pub status_during_last_upgrade: Option<u32>,
    /// `ic0.canister_version` now.
    pub canister_version: u64,
}

fn governance() -> Principal {
    STATE.with(|s| s.borrow().governance).expect("initialised")
}

#[ic_cdk::init]
fn init(governance: Principal) {
    STATE.with(|s| s.borrow_mut().governance = Some(governance));
}

#[ic_cdk::pre_upgrade]
fn pre_upgrade() {
    STATE.with(|s| ic_cdk::storage::stable_save((&*s.borrow(),))).expect("saving the state");
}

#[ic_cdk::post_upgrade]
fn post_upgrade(arg: Option<String>) {
    let (mut state,): (State,) = ic_cdk::storage::stable_restore().expect("restoring the state");
    if arg.as_deref() == Some("trap") {
        ic_cdk::trap("gnsf_target: post_upgrade asked to trap");
    }
    state.upgrades += 1;
    state.last_upgrade_arg = arg;
    state.status_during_last_upgrade = Some(match ic_cdk::api::canister_status() {
        ic_cdk::api::CanisterStatusCode::Running => 1,
        ic_cdk::api::CanisterStatusCode::Stopping => 2,
        ic_cdk::api::CanisterStatusCode::Stopped => 3,
        ic_cdk::api::CanisterStatusCode::Unrecognized(n) => n,
    });
    STATE.with(|s| *s.borrow_mut() = state);
}

/// The validator: `Err` for a caller other than governance, an empty value or the value "bad";
/// otherwise `Ok` with a rendering of the change.
#[ic_cdk::query]
fn set_value_validate(arg: SetValueArg) -> Result<String, String> {
    let caller = ic_cdk::api::msg_caller();
    if caller != governance() {
        return Err(format!("caller {caller} is not the SNS governance canister"));
    }
    if arg.value.is_empty() || arg.value == "bad" {
        return Err(format!("invalid value {:?}", arg.value));
    }
    Ok(format!("Set the value to {:?}", arg.value))
}

/// The target: traps for a caller other than governance and for the value "trap"; otherwise
/// records the value.
#[ic_cdk::update]
fn set_value(arg: SetValueArg) {
    let caller = ic_cdk::api::msg_caller();
    if caller != governance() {
        ic_cdk::trap(format!("caller {caller} is not the SNS governance canister"));
    }
    if arg.value == "trap" {
        ic_cdk::trap("set_value: asked to trap");
    }
    STATE.with(|s| s.borrow_mut().values.push(arg.value));
}

#[ic_cdk::query]
fn info() -> Info {
    let s = STATE.with(|s| s.borrow().clone());
    Info {
        governance: s.governance.expect("initialised"),
        values: s.values,
        upgrades: s.upgrades,
        last_upgrade_arg: s.last_upgrade_arg,
        status_during_last_upgrade: s.status_during_last_upgrade,
        canister_version: ic_cdk::api::canister_version(),
    }
}

ic_cdk::export_candid!();

#[cfg(test)]
mod tests {
    #[test]
    fn candid_interface_matches_committed_did_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("gnsf_target.did");
        platform_types::candid_check::check_service(&super::__export_service(), &path);
    }
}
