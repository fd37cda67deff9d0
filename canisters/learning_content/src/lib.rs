//! `learning_content` canister: course units served by queries and HTTP, and answer checking for
//! the hub's shards. Entry points only; the logic lives in the modules.
//!
//! Answer keys are stored apart from the units and are only ever read by `verify_quiz`, which
//! only registered shards may call and which returns counts, never a key.
//!
//! Content changes come from SNS governance (generic nervous system functions: each
//! `<method>_validate` query renders a payload for voters, each `<method>` target applies it;
//! see `governance.rs`); the pass mark comes from the hub (`apply_config`).

mod certification;
mod governance;
mod guards;
mod metrics;
pub mod http;
mod inspect;
mod key_push;
mod lifecycle;
pub mod model;
mod queries;
mod state;
mod updates;

use candid::Principal;
use http::{HttpRequest, HttpResponse};
use platform_types::{
    AddUnitsArgs, ContentConfigPush, ContentInitArgs, ContentUpgradeArgs, RetireUnitsArgs, Unit,
    UnitPage, UpdateUnitArgs, ValidationResult, VerifyError, VerifyResult, VersionInfo,
};

pub const CANISTER_NAME: &str = "learning_content";

#[ic_cdk::init]
fn init(args: ContentInitArgs) {
    lifecycle::init(args);
    // The shards' copy of the answer keys (they verify quizzes locally), through the hub.
    key_push::push_soon();
}

/// `opt ContentUpgradeArgs`: an empty argument (no bytes, or `DIDL\0\0`) decodes as `None`.
#[ic_cdk::post_upgrade]
fn post_upgrade(args: Option<ContentUpgradeArgs>) {
    lifecycle::post_upgrade(args);
    key_push::push_soon();
}

/// Ingress filter (see `inspect`): accepts only ingress its method could accept, so the canister
/// does not pay for the rest. Not a security boundary: every method keeps its own checks.
#[ic_cdk::inspect_message]
fn inspect_message() {
    match inspect::check(&ic_cdk::api::msg_method_name(), ic_cdk::api::msg_caller(), &inspect::ContentState) {
        Ok(()) => ic_cdk::api::accept_message(),
        // A trap refuses the message with the reason (so the caller sees why).
        Err(reason) => ic_cdk::trap(format!("learning_content refuses this ingress message: {reason}")),
    }
}

#[ic_cdk::update]
fn register_shard(shard: Principal) -> Result<(), String> {
    let caller = ic_cdk::api::msg_caller();
    let answer = state::with_mut(|s| updates::register_shard(s, caller, shard));
    // The hub is up and creating shards: a key set it has not confirmed (e.g. it was installed
    // after learning_content) is pushed now rather than at the next retry.
    key_push::push_soon();
    answer
}

/// This canister's cycles balance. The hub's cycles battery reads it (SNS root, not the hub,
/// controls learning_content, so the hub cannot read its `canister_status`) and tops it up
/// with `deposit_cycles`. Public: a balance is no secret.
#[ic_cdk::query]
fn get_cycles_balance() -> candid::Nat {
    candid::Nat::from(ic_cdk::api::canister_cycle_balance())
}

#[ic_cdk::query]
fn list_subjects() -> Vec<String> {
    state::with(queries::list_subjects)
}

#[ic_cdk::query]
fn list_units(subject: String, offset: u64, limit: u64) -> UnitPage {
    state::with(|s| queries::list_units(s, &subject, offset, limit))
}

#[ic_cdk::query]
fn get_unit(id: String) -> Option<Unit> {
    state::with(|s| queries::get_unit(s, &id))
}

#[ic_cdk::query]
fn verify_quiz(unit_id: String, answers: Vec<u32>) -> Result<VerifyResult, VerifyError> {
    let caller = ic_cdk::api::msg_caller();
    state::with(|s| queries::verify_quiz(s, caller, &unit_id, &answers))
}

/// Every response is certified (see `certification.rs`): the data certificate, present in
/// non-replicated queries, goes out with the witness of the response's entry.
#[ic_cdk::query]
fn http_request(req: HttpRequest) -> HttpResponse {
    let certificate = ic_cdk::api::data_certificate();
    state::with(|s| {
        certification::with(|c| {
            // Routing point of the uncertified routes: `/metrics` (certification skipped for
            // that path, see metrics.rs).
            c.serve(s, &req, certificate.as_deref(), metrics::http_response)
        })
    })
}

/// Traps with `learning_content <method>: <error>` (a proposal target must fail the proposal).
fn trap_on_err<T>(method: &str, r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| ic_cdk::trap(format!("learning_content {method}: {e}")))
}

#[ic_cdk::query]
fn add_units_validate(args: AddUnitsArgs) -> ValidationResult {
    let caller = ic_cdk::api::msg_caller();
    state::with(|s| queries::add_units_validate(s, caller, &args))
}

#[ic_cdk::update]
fn add_units(args: AddUnitsArgs) {
    let caller = ic_cdk::api::msg_caller();
    let ids = args.units.iter().map(|u| u.unit.id.clone()).collect();
    certification::changing_units(ids, || {
        trap_on_err(
            "add_units",
            state::with_mut(|s| updates::add_units(s, caller, args)),
        )
    });
    key_push::push_soon();
}

#[ic_cdk::query]
fn update_unit_validate(args: UpdateUnitArgs) -> ValidationResult {
    let caller = ic_cdk::api::msg_caller();
    state::with(|s| queries::update_unit_validate(s, caller, &args))
}

#[ic_cdk::update]
fn update_unit(args: UpdateUnitArgs) {
    let caller = ic_cdk::api::msg_caller();
    let ids = [args.unit.unit.id.clone()].into();
    certification::changing_units(ids, || {
        trap_on_err(
            "update_unit",
            state::with_mut(|s| updates::update_unit(s, caller, args)),
        )
    });
    key_push::push_soon();
}

#[ic_cdk::query]
fn retire_units_validate(args: RetireUnitsArgs) -> ValidationResult {
    let caller = ic_cdk::api::msg_caller();
    state::with(|s| queries::retire_units_validate(s, caller, &args))
}

#[ic_cdk::update]
fn retire_units(args: RetireUnitsArgs) {
    let caller = ic_cdk::api::msg_caller();
    let now = ic_cdk::api::time();
    let ids = args.unit_ids.iter().cloned().collect();
    certification::changing_units(ids, || {
        trap_on_err(
            "retire_units",
            state::with_mut(|s| updates::retire_units(s, caller, args, now)),
        )
    });
    key_push::push_soon();
}

#[ic_cdk::update]
fn apply_config(push: ContentConfigPush) -> Result<u64, String> {
    let caller = ic_cdk::api::msg_caller();
    state::with_mut(|s| updates::apply_config(s, caller, push))
}

#[ic_cdk::query]
fn get_config_version() -> u64 {
    state::with(|s| s.config_version())
}

#[ic_cdk::query]
fn get_version() -> VersionInfo {
    queries::get_version()
}

#[ic_cdk::query]
fn get_init_args() -> ContentInitArgs {
    queries::get_init_args()
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface {
    #[test]
    fn matches_committed_did_file() {
        platform_types::candid_check::check_platform_canister(
            super::CANISTER_NAME,
            &super::__export_service(),
        );
    }
}
