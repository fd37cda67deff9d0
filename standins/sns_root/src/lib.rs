//! `sns_root`: a local stand-in for SNS root, for localnet tests and the demo. It serves the
//! real SNS root Candid for `change_canister`, `register_dapp_canisters`,
//! `manage_dapp_canister_settings` and `list_sns_canisters` (`platform_types::sns::root`). Only
//! the SNS governance canister may change, register or configure canisters. What differs from the real SNS is listed in
//! `docs/sns-local.md`. Test infrastructure, never deployed.
//!
//! Entry points and the flows; the rules live in `root` (plain Rust), the management
//! canister calls in `calls`, the heap state (saved across upgrades) in `state`.

mod calls;
pub mod root;
mod state;

use platform_types::sns::root::*;

pub const CANISTER_NAME: &str = "sns_root";

#[ic_cdk::init]
fn init(args: SnsRootCanister) {
    let r = root::Root::new(args, ic_cdk::api::canister_self())
        .unwrap_or_else(|e| ic_cdk::trap(format!("sns_root init: {e}")));
    state::set(r);
}

#[ic_cdk::pre_upgrade]
fn pre_upgrade() {
    state::save();
}

#[ic_cdk::post_upgrade]
fn post_upgrade() {
    state::set(state::restore());
}

fn check_governance(method: &str) {
    if let Err(e) = state::with(|r| r.check_governance(ic_cdk::api::msg_caller(), method)) {
        ic_cdk::trap(e);
    }
}

/// Installs code on a canister root controls (governance only), as the real root does: it only
/// checks the caller, starts the change in the background and answers at once. The change stops
/// the canister first when `stop_before_installing`, installs (`install_chunked_code` when
/// `chunked_canister_wasm` is set), and starts it again even when the install failed; its
/// outcome is only logged. So governance marks an upgrade proposal Executed when this answers,
/// even if the install then fails (e.g. `post_upgrade` traps): a failed upgrade shows in the
/// canister's module hash, not in the proposal.
#[ic_cdk::update]
async fn change_canister(req: ChangeCanisterRequest) {
    check_governance("change_canister");
    let target = req.canister_id;
    ic_cdk::futures::spawn(async move {
        match change(req).await {
            Ok(()) => ic_cdk::println!("change_canister: canister {target} changed"),
            Err(e) => ic_cdk::println!("change_canister: {e}"),
        }
    });
}

async fn change(req: ChangeCanisterRequest) -> Result<(), String> {
    let target = req.canister_id;
    if req.stop_before_installing {
        if let Err(e) = calls::stop(target).await {
            let restarted = calls::start(target).await;
            return Err(format!("Could not stop canister {target}: {e}{}", restart_note(restarted)));
        }
    }
    let mode = root::management_mode(req.mode);
    let installed = match req.chunked_canister_wasm {
        Some(chunked) => calls::install_chunked(target, mode, chunked, req.arg).await,
        None => calls::install(target, mode, req.wasm_module, req.arg).await,
    };
    let restarted = if req.stop_before_installing { calls::start(target).await } else { Ok(()) };
    match (installed, restarted) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(e), restarted) => {
            Err(format!("Could not install code on canister {target}: {e}{}", restart_note(restarted)))
        }
        (Ok(()), Err(e)) => {
            Err(format!("The code was installed on canister {target}, but it could not be restarted: {e}"))
        }
    }
}

fn restart_note(restarted: Result<(), String>) -> String {
    match restarted {
        Ok(()) => " (the canister was restarted)".into(),
        Err(e) => format!(" (and it could not be restarted: {e})"),
    }
}

/// Registers dapp canisters (governance only): root must already control each one; it then
/// becomes their only controller. Traps at the first failure; canisters registered before it
/// stay registered.
#[ic_cdk::update]
async fn register_dapp_canisters(req: RegisterDappCanistersRequest) -> RegisterDappCanistersResponse {
    check_governance("register_dapp_canisters");
    let (new, me) = state::with(|r| (r.to_register(&req.canister_ids), r.root));
    let new = new.unwrap_or_else(|e| ic_cdk::trap(e));
    for id in new {
        if let Err(e) = calls::controllers(id).await {
            ic_cdk::trap(format!("Canister {id} is not controlled by this SNS root canister: {e}"));
        }
        if let Err(e) = calls::set_controllers(id, vec![me]).await {
            ic_cdk::trap(format!("Could not make SNS root the only controller of canister {id}: {e}"));
        }
        state::with_mut(|r| r.add_dapp(id));
    }
    RegisterDappCanistersResponse {}
}

/// Changes settings of registered dapp canisters (governance only), as the real root does: it
/// checks the request at once and answers `failure_reason` if it refuses it (a canister that is
/// not a registered dapp, no setting, an unknown log visibility); otherwise it starts
/// `update_settings` on each canister in the background and answers at once, and each
/// canister's outcome is only logged. So governance marks the proposal Executed when root
/// accepts, even if the management canister then refuses a value: the settings show in
/// `canister_status`.
#[ic_cdk::update]
fn manage_dapp_canister_settings(req: ManageDappCanisterSettingsRequest) -> ManageDappCanisterSettingsResponse {
    check_governance("manage_dapp_canister_settings");
    let (canisters, settings) = match state::with(|r| r.dapp_settings(&req)) {
        Ok(plan) => plan,
        Err(reason) => return ManageDappCanisterSettingsResponse { failure_reason: Some(reason) },
    };
    ic_cdk::futures::spawn(async move {
        for id in canisters {
            match calls::update_settings(id, settings.clone()).await {
                Ok(()) => ic_cdk::println!("manage_dapp_canister_settings: settings of canister {id} changed"),
                Err(e) => ic_cdk::println!("manage_dapp_canister_settings: canister {id}: {e}"),
            }
        }
    });
    ManageDappCanisterSettingsResponse { failure_reason: None }
}

#[ic_cdk::query]
fn list_sns_canisters(_: ListSnsCanistersRequest) -> ListSnsCanistersResponse {
    state::with(|r| r.list())
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface {
    use platform_types::sns::root::SnsRootCanister;
    use std::path::Path;

    fn reference() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../candid/reference/sns_root.did")
    }

    #[test]
    fn matches_committed_did_file() {
        platform_types::candid_check::check_platform_canister(super::CANISTER_NAME, &super::__export_service());
    }

    /// A client of the real SNS root interface (for these methods) can call this canister, and
    /// this canister's types can call the real one.
    #[test]
    fn candid_interface_is_compatible_with_the_real_sns_root() {
        platform_types::candid_check::check_against_reference(&super::__export_service(), &reference());
    }

    /// The real root's init record (every field set) decodes as this root's init argument.
    #[test]
    fn candid_interface_takes_the_real_init_record() {
        let text = std::fs::read_to_string(reference()).unwrap();
        let ast: candid_parser::IDLProg = text.parse().unwrap();
        let mut env = candid::TypeEnv::new();
        candid_parser::check_prog(&mut env, &ast).unwrap();
        let ty = env.find_type("SnsRootCanister").unwrap().clone();
        let value = candid_parser::parse_idl_args(
            "(record { dapp_canister_ids = vec { principal \"aaaaa-aa\" }; \
            extensions = opt record { extension_canister_ids = vec {} }; testflight = true; \
            archive_canister_ids = vec {}; governance_canister_id = opt principal \"2vxsx-fae\"; \
            index_canister_id = null; swap_canister_id = null; ledger_canister_id = opt principal \"aaaaa-aa\"; \
            timers = opt record { requires_periodic_tasks = opt true; last_reset_timestamp_seconds = null; \
            last_spawned_timestamp_seconds = opt 5 } })",
        )
        .unwrap();
        let bytes = value.to_bytes_with_types(&env, &[ty]).unwrap();
        let init: SnsRootCanister = candid::decode_one(&bytes).unwrap();
        assert_eq!(init.governance_canister_id, Some(candid::Principal::anonymous()));
        assert_eq!(init.dapp_canister_ids, vec![candid::Principal::management_canister()]);
    }
}
