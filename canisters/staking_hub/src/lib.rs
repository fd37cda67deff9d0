//! `staking_hub` canister. Entry points only; the logic lives in the modules.

mod lifecycle;
mod queries;
mod shard_wasm;
mod state;

use platform_types::{HubInitArgs, VersionInfo};

pub const CANISTER_NAME: &str = "staking_hub";

#[ic_cdk::init]
fn init(args: HubInitArgs) {
    lifecycle::init(args);
}

#[ic_cdk::post_upgrade]
fn post_upgrade() {
    lifecycle::post_upgrade();
}

#[ic_cdk::query]
fn get_version() -> VersionInfo {
    queries::get_version()
}

#[ic_cdk::query]
fn get_init_args() -> HubInitArgs {
    queries::get_init_args()
}

/// Hex sha256 of the embedded, gzipped user_profile shard Wasm.
#[ic_cdk::query]
fn get_shard_wasm_hash() -> String {
    queries::get_shard_wasm_hash()
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface {
    #[test]
    fn matches_committed_did_file() {
        // <repo>/canisters/<crate> -> <repo>/candid/<name>.did
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .unwrap();
        let path = repo
            .join("candid")
            .join(format!("{}.did", super::CANISTER_NAME));
        platform_types::candid_check::check_service(&super::__export_service(), &path);
    }
}
