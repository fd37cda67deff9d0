//! `frontend_assets` canister: serves the learner web app (frontend/dist) with certified HTTP
//! responses. All of it is DFINITY's `ic-certified-assets` (the library dfx's "assets" canister is
//! built from): certification v1 and v2, content encodings, asset properties (cache headers), the
//! batch API and its SNS flow (`propose_commit_batch` / `compute_evidence` by a Prepare holder,
//! then `commit_proposed_batch`, checked by `validate_commit_proposed_batch`, executed by SNS
//! governance, the only Commit holder after handoff), and permissions.
//!
//! SPA routing is the library's: a path with no asset of its own (e.g. `/learn/unit-1`) is
//! answered with `/index.html` through its certified fallback response.
//!
//! This crate only adds the lifecycle: the library keeps its state on the heap, so it is saved to
//! stable memory before an upgrade and restored after.

use ic_certified_assets::types::AssetCanisterArgs;
use ic_certified_assets::StableState;

pub const CANISTER_NAME: &str = "frontend_assets";

/// The installer gets Commit; `args` may set the permission lists (`Init` only).
#[ic_cdk::init]
#[candid::candid_method(init)]
fn init(args: Option<AssetCanisterArgs>) {
    ic_certified_assets::init(args);
}

#[ic_cdk::pre_upgrade]
fn pre_upgrade() {
    let state = ic_certified_assets::pre_upgrade();
    ic_cdk::storage::stable_save((state,))
        .unwrap_or_else(|e| ic_cdk::trap(format!("cannot save the asset state to stable memory: {e}")));
}

/// Restores the assets (and re-certifies them); `args` may reset the permission lists
/// (`Upgrade` only).
#[ic_cdk::post_upgrade]
fn post_upgrade(args: Option<AssetCanisterArgs>) {
    let (state,): (StableState,) = ic_cdk::storage::stable_restore()
        .unwrap_or_else(|e| ic_cdk::trap(format!("cannot restore the asset state from stable memory: {e}")));
    ic_certified_assets::post_upgrade(state, args);
}

ic_certified_assets::export_canister_methods!();

// The interface generated from the code (the macro resolves the methods' types from here). The
// library's methods carry `candid_method` attributes beside ic-cdk 0.18's own (which already
// registers each method under its name), so the registry also holds a copy of each method named
// `__candid_method_<name>`: those are not methods of the canister and are dropped below.
#[cfg(test)]
candid::export_service!();

#[cfg(test)]
mod candid_interface {
    use super::__export_service;
    use candid::types::{Type, TypeInner};

    /// The canister's service as generated from the code, without the duplicate entries.
    pub fn generated_service() -> String {
        let (env, actor) = candid_parser::utils::CandidSource::Text(&__export_service())
            .load()
            .expect("the generated interface parses");
        let actor = actor.expect("the generated interface has a service");
        let keep = |methods: &[(String, Type)]| -> Type {
            let methods = methods
                .iter()
                .filter(|(name, _)| !name.starts_with("__candid_method_"))
                .cloned()
                .collect();
            TypeInner::Service(methods).into()
        };
        let actor = match actor.as_ref() {
            TypeInner::Class(init, service) => match service.as_ref() {
                TypeInner::Service(methods) => TypeInner::Class(init.clone(), keep(methods)).into(),
                other => panic!("unexpected service type {other:?}"),
            },
            TypeInner::Service(methods) => keep(methods),
            other => panic!("unexpected service type {other:?}"),
        };
        candid::pretty::candid::compile(&env, &Some(actor))
    }

    /// candid/frontend_assets.did is generated from the code (`UPDATE_CANDID=1` writes it; see
    /// scripts/update-candid.sh).
    #[test]
    fn matches_committed_did_file() {
        let service = generated_service();
        assert!(service.contains("commit_proposed_batch :") && !service.contains("__candid_method_"));
        platform_types::candid_check::check_platform_canister(super::CANISTER_NAME, &service);
    }
}
