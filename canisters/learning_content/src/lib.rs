//! `learning_content` canister: course units served by queries and HTTP, and answer checking for
//! the hub's shards. Entry points only; the logic lives in the modules.
//!
//! Answer keys are stored apart from the units and are only ever read by `verify_quiz`, which
//! only registered shards may call and which returns counts, never a key.

mod guards;
pub mod http;
mod lifecycle;
pub mod model;
mod queries;
mod state;
mod updates;

use candid::Principal;
use http::{HttpRequest, HttpResponse};
use platform_types::{ContentInitArgs, Unit, UnitPage, VerifyError, VerifyResult, VersionInfo};

pub const CANISTER_NAME: &str = "learning_content";

#[ic_cdk::init]
fn init(args: ContentInitArgs) {
    lifecycle::init(args);
}

#[ic_cdk::post_upgrade]
fn post_upgrade() {
    lifecycle::post_upgrade();
}

#[ic_cdk::update]
fn register_shard(shard: Principal) -> Result<(), String> {
    let caller = ic_cdk::api::msg_caller();
    state::with_mut(|s| updates::register_shard(s, caller, shard))
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

#[ic_cdk::query]
fn http_request(req: HttpRequest) -> HttpResponse {
    state::with(|s| http::handle(s, &req))
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
        platform_types::candid_check::check_platform_canister(super::CANISTER_NAME, &super::__export_service());
    }
}
