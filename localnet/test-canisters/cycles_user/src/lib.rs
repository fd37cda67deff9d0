//! `cycles_user`: exercises cycles (balance, accept, refunds, burn, cost functions) and the
//! management canister (create, install, upgrade, status, deposit, stop, delete), called with
//! raw `Call`s to `aaaaa-aa` and the argument types of `ic-management-canister-types`.

use candid::{CandidType, Nat, Principal};
use ic_cdk::api;
use ic_cdk::call::Call;
use ic_management_canister_types::{
    CanisterIdRecord, CanisterInstallMode, CanisterSettings, CanisterStatusType,
    CreateCanisterArgs, InstallCodeArgs,
};
use serde::Deserialize;
use serde_bytes::ByteBuf;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SendResult {
    pub refunded: Nat,
    pub reply_ok: bool,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StatusInfo {
    pub cycles: Nat,
    pub module_hash: Option<ByteBuf>,
    pub status: String,
}

/// The fields of the management canister's `canister_status` result this canister reports.
/// Decoding a subset keeps working whatever other fields the answer has.
#[derive(Deserialize, CandidType)]
struct StatusSubset {
    status: CanisterStatusType,
    cycles: Nat,
    module_hash: Option<ByteBuf>,
}

fn nat_to_u128(n: &Nat) -> u128 {
    u128::try_from(&n.0).unwrap_or_else(|_| ic_cdk::trap("cycle amount does not fit in 128 bits"))
}

fn management(method: &str) -> Call<'_, '_> {
    Call::unbounded_wait(Principal::management_canister(), method)
}

fn status_text(status: &CanisterStatusType) -> &'static str {
    match status {
        CanisterStatusType::Running => "running",
        CanisterStatusType::Stopping => "stopping",
        CanisterStatusType::Stopped => "stopped",
    }
}

// ---- balances and cycles in messages ---------------------------------------------------------

#[ic_cdk::query]
fn balance() -> Nat {
    Nat::from(api::canister_cycle_balance())
}

#[ic_cdk::query]
fn liquid_balance() -> Nat {
    Nat::from(api::canister_liquid_cycle_balance())
}

/// Accepts up to `max` of the cycles attached to this call; returns the amount accepted.
#[ic_cdk::update]
fn accept(max: Nat) -> Nat {
    Nat::from(api::msg_cycles_accept(nat_to_u128(&max)))
}

/// Cycles attached to this call (ic0.msg_cycles_available128).
#[ic_cdk::update]
fn available() -> Nat {
    Nat::from(api::msg_cycles_available())
}

/// Calls `method` on `target` with empty Candid arguments and `cycles` attached.
#[ic_cdk::update]
async fn send_cycles(target: Principal, method: String, cycles: Nat) -> SendResult {
    let result = Call::unbounded_wait(target, &method)
        .with_cycles(nat_to_u128(&cycles))
        .await;
    if let Err(e) = &result {
        ic_cdk::println!(
            "cycles_user: send_cycles to {}.{} failed: {}",
            target,
            method,
            e
        );
    }
    SendResult {
        refunded: Nat::from(api::msg_cycles_refunded()),
        reply_ok: result.is_ok(),
    }
}

/// Burns up to `amount` cycles; returns the amount burnt.
#[ic_cdk::update]
fn burn(amount: Nat) -> Nat {
    Nat::from(api::cycles_burn(nat_to_u128(&amount)))
}

// ---- cost functions ------------------------------------------------------------------------

#[ic_cdk::query]
fn cost_call(method_name_size: u64, payload_size: u64) -> Nat {
    Nat::from(api::cost_call(method_name_size, payload_size))
}

#[ic_cdk::query]
fn cost_create_canister() -> Nat {
    Nat::from(api::cost_create_canister())
}

#[ic_cdk::query]
fn cost_http_request(request_size: u64, max_response_bytes: u64) -> Nat {
    Nat::from(api::cost_http_request(request_size, max_response_bytes))
}

// ---- management canister -------------------------------------------------------------------

/// Creates a canister controlled by this canister, attaching `cycles`.
#[ic_cdk::update]
async fn create_canister_with(cycles: Nat) -> Result<Principal, String> {
    let args = CreateCanisterArgs {
        settings: Some(CanisterSettings {
            controllers: Some(vec![api::canister_self()]),
            ..Default::default()
        }),
        sender_canister_version: Some(api::canister_version()),
    };
    let reply = management("create_canister")
        .with_arg(args)
        .with_cycles(nat_to_u128(&cycles))
        .await
        .map_err(|e| e.to_string())?;
    let record: CanisterIdRecord = reply.candid().map_err(|e| e.to_string())?;
    Ok(record.canister_id)
}

async fn install_code(
    mode: CanisterInstallMode,
    canister_id: Principal,
    wasm: ByteBuf,
    arg: ByteBuf,
) -> Result<(), String> {
    let args = InstallCodeArgs {
        mode,
        canister_id,
        wasm_module: wasm.into_vec(),
        arg: arg.into_vec(),
        sender_canister_version: Some(api::canister_version()),
    };
    management("install_code")
        .with_arg(args)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// install_code in mode `install`.
#[ic_cdk::update]
async fn install(canister_id: Principal, wasm: ByteBuf, arg: ByteBuf) -> Result<(), String> {
    install_code(CanisterInstallMode::Install, canister_id, wasm, arg).await
}

/// install_code in mode `upgrade` (default upgrade options).
#[ic_cdk::update]
async fn upgrade(canister_id: Principal, wasm: ByteBuf, arg: ByteBuf) -> Result<(), String> {
    install_code(CanisterInstallMode::Upgrade(None), canister_id, wasm, arg).await
}

#[ic_cdk::update]
async fn status_of(canister_id: Principal) -> Result<StatusInfo, String> {
    let reply = management("canister_status")
        .with_arg(CanisterIdRecord { canister_id })
        .await
        .map_err(|e| e.to_string())?;
    let s: StatusSubset = reply.candid().map_err(|e| e.to_string())?;
    Ok(StatusInfo {
        cycles: s.cycles,
        module_hash: s.module_hash,
        status: status_text(&s.status).to_string(),
    })
}

/// deposit_cycles with `cycles` attached.
#[ic_cdk::update]
async fn deposit(canister_id: Principal, cycles: Nat) -> Result<(), String> {
    management("deposit_cycles")
        .with_arg(CanisterIdRecord { canister_id })
        .with_cycles(nat_to_u128(&cycles))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// stop_canister, then delete_canister.
#[ic_cdk::update]
async fn stop_and_delete(canister_id: Principal) -> Result<(), String> {
    management("stop_canister")
        .with_arg(CanisterIdRecord { canister_id })
        .await
        .map_err(|e| format!("stop_canister: {e}"))?;
    management("delete_canister")
        .with_arg(CanisterIdRecord { canister_id })
        .await
        .map(|_| ())
        .map_err(|e| format!("delete_canister: {e}"))
}

ic_cdk::export_candid!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candid_interface_matches_committed_did_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cycles_user.did");
        platform_types::candid_check::check_service(&__export_service(), &path);
    }

    #[test]
    fn status_subset_decodes_a_fuller_record() {
        #[derive(CandidType)]
        struct Fuller {
            status: CanisterStatusType,
            cycles: Nat,
            module_hash: Option<Vec<u8>>,
            memory_size: Nat,
            version: u64,
        }
        let bytes = candid::encode_one(Fuller {
            status: CanisterStatusType::Stopped,
            cycles: Nat::from(5u32),
            module_hash: Some(vec![1, 2]),
            memory_size: Nat::from(1u32),
            version: 3,
        })
        .unwrap();
        let s: StatusSubset = candid::decode_one(&bytes).unwrap();
        assert_eq!(status_text(&s.status), "stopped");
        assert_eq!(s.cycles, Nat::from(5u32));
        assert_eq!(s.module_hash.map(|h| h.into_vec()), Some(vec![1, 2]));
    }
}
