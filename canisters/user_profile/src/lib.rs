//! `user_profile` shard canister. Entry points only; the logic lives in the modules.

mod lifecycle;
mod queries;
mod state;

use platform_types::{ShardInitArgs, VersionInfo};

pub const CANISTER_NAME: &str = "user_profile";

#[ic_cdk::init]
fn init(args: ShardInitArgs) {
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
fn get_init_args() -> ShardInitArgs {
    queries::get_init_args()
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
