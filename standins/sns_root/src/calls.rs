//! Root's calls to the management canister. All wait unboundedly: the outcome of every install
//! and settings change must be known.

use candid::Principal;
use ic_cdk::call::Call;
use ic_management_canister_types::{
    CanisterIdRecord, CanisterInstallMode, CanisterSettings, CanisterStatusResult, ChunkHash, InstallChunkedCodeArgs,
    InstallCodeArgs, UpdateSettingsArgs,
};
use platform_types::sns::root::ChunkedCanisterWasm;

async fn management<A: candid::CandidType>(method: &str, arg: A) -> Result<Vec<u8>, String> {
    Call::unbounded_wait(Principal::management_canister(), method)
        .with_arg(arg)
        .await
        .map(|r| r.into_bytes())
        .map_err(|e| format!("{method}: {e}"))
}

pub async fn stop(canister_id: Principal) -> Result<(), String> {
    management("stop_canister", CanisterIdRecord { canister_id }).await.map(|_| ())
}

pub async fn start(canister_id: Principal) -> Result<(), String> {
    management("start_canister", CanisterIdRecord { canister_id }).await.map(|_| ())
}

pub async fn install(
    canister_id: Principal,
    mode: CanisterInstallMode,
    wasm_module: Vec<u8>,
    arg: Vec<u8>,
) -> Result<(), String> {
    let args = InstallCodeArgs {
        mode,
        canister_id,
        wasm_module,
        arg,
        sender_canister_version: Some(ic_cdk::api::canister_version()),
    };
    management("install_code", args).await.map(|_| ())
}

pub async fn install_chunked(
    canister_id: Principal,
    mode: CanisterInstallMode,
    wasm: ChunkedCanisterWasm,
    arg: Vec<u8>,
) -> Result<(), String> {
    let args = InstallChunkedCodeArgs {
        mode,
        target_canister: canister_id,
        store_canister: Some(wasm.store_canister_id),
        chunk_hashes_list: wasm.chunk_hashes_list.into_iter().map(|h| ChunkHash { hash: h.into_vec() }).collect(),
        wasm_module_hash: wasm.wasm_module_hash,
        arg,
        sender_canister_version: Some(ic_cdk::api::canister_version()),
    };
    management("install_chunked_code", args).await.map(|_| ())
}

/// The canister's controllers (only its controllers may ask).
pub async fn controllers(canister_id: Principal) -> Result<Vec<Principal>, String> {
    let reply = management("canister_status", CanisterIdRecord { canister_id }).await?;
    let status: CanisterStatusResult = candid::decode_one(&reply).map_err(|e| format!("canister_status reply: {e}"))?;
    Ok(status.settings.controllers)
}

pub async fn set_controllers(canister_id: Principal, controllers: Vec<Principal>) -> Result<(), String> {
    let args = UpdateSettingsArgs {
        canister_id,
        settings: CanisterSettings { controllers: Some(controllers), ..Default::default() },
        sender_canister_version: Some(ic_cdk::api::canister_version()),
    };
    management("update_settings", args).await.map(|_| ())
}

/// Applies `settings` to `canister_id` (the settings left out stay as they are).
pub async fn update_settings(canister_id: Principal, settings: CanisterSettings) -> Result<(), String> {
    let args = UpdateSettingsArgs { canister_id, settings, sender_canister_version: Some(ic_cdk::api::canister_version()) };
    management("update_settings", args).await.map(|_| ())
}
