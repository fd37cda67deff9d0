//! Governance's inter-canister calls: custom function validators and targets (raw payload
//! bytes), and SNS root. All wait unboundedly, as the real SNS does, so every outcome is known.

use candid::Principal;
use ic_cdk::call::{Call, CallFailed};
use platform_types::sns::root::{
    ChangeCanisterRequest, ListSnsCanistersRequest, ListSnsCanistersResponse, ManageDappCanisterSettingsRequest,
    ManageDappCanisterSettingsResponse, RegisterDappCanistersRequest, RegisterDappCanistersResponse,
};

fn failed(e: CallFailed) -> String {
    e.to_string()
}

/// Calls a custom function's validator with the payload as the call's argument bytes; its
/// reply must be `variant { Ok : text; Err : text }`.
pub async fn validate(canister: Principal, method: &str, payload: &[u8]) -> Result<String, String> {
    let reply = Call::unbounded_wait(canister, method)
        .with_raw_args(payload)
        .await
        .map_err(|e| format!("The call to the validator {canister}.{method} failed: {}", failed(e)))?;
    let answer: Result<String, String> = reply.candid().map_err(|e| {
        format!("The reply of the validator {canister}.{method} is not variant {{ Ok : text; Err : text }}: {e}")
    })?;
    answer.map_err(|e| format!("The validator {canister}.{method} refused the payload: {e}"))
}

/// Calls a custom function's target with the payload; any reply counts as success (the reply
/// is ignored, as on the real SNS).
pub async fn call_target(canister: Principal, method: &str, payload: &[u8]) -> Result<(), String> {
    Call::unbounded_wait(canister, method)
        .with_raw_args(payload)
        .await
        .map(|_| ())
        .map_err(|e| format!("Canister method call to execute proposal failed: {}", failed(e)))
}

pub async fn list_dapps(root: Principal) -> Result<Vec<Principal>, String> {
    let reply = Call::unbounded_wait(root, "list_sns_canisters")
        .with_arg(ListSnsCanistersRequest {})
        .await
        .map_err(|e| format!("SNS root list_sns_canisters failed: {}", failed(e)))?;
    let list: ListSnsCanistersResponse =
        reply.candid().map_err(|e| format!("SNS root list_sns_canisters reply: {e}"))?;
    Ok(list.dapps)
}

pub async fn change_canister(root: Principal, request: &ChangeCanisterRequest) -> Result<(), String> {
    Call::unbounded_wait(root, "change_canister")
        .with_arg(request)
        .await
        .map(|_| ())
        .map_err(|e| format!("SNS root change_canister failed: {}", failed(e)))
}

pub async fn register_dapp_canisters(root: Principal, canister_ids: Vec<Principal>) -> Result<(), String> {
    let reply = Call::unbounded_wait(root, "register_dapp_canisters")
        .with_arg(RegisterDappCanistersRequest { canister_ids })
        .await
        .map_err(|e| format!("SNS root register_dapp_canisters failed: {}", failed(e)))?;
    let _: RegisterDappCanistersResponse =
        reply.candid().map_err(|e| format!("SNS root register_dapp_canisters reply: {e}"))?;
    Ok(())
}

/// Root's `manage_dapp_canister_settings`: its `failure_reason`, if any, is the failure (as on the
/// real SNS, root answers before the settings are applied).
pub async fn manage_dapp_canister_settings(
    root: Principal,
    request: &ManageDappCanisterSettingsRequest,
) -> Result<(), String> {
    let reply = Call::unbounded_wait(root, "manage_dapp_canister_settings")
        .with_arg(request)
        .await
        .map_err(|e| format!("SNS root manage_dapp_canister_settings failed: {}", failed(e)))?;
    settings_outcome(reply.candid().map_err(|e| format!("SNS root manage_dapp_canister_settings reply: {e}"))?)
}

/// Root's answer to `manage_dapp_canister_settings` as the proposal's outcome.
fn settings_outcome(response: ManageDappCanisterSettingsResponse) -> Result<(), String> {
    match response.failure_reason {
        None => Ok(()),
        Some(reason) => Err(format!("Failed to change the dapp canister settings: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reason_from_root_fails_the_proposal() {
        assert_eq!(settings_outcome(ManageDappCanisterSettingsResponse { failure_reason: None }), Ok(()));
        let refused = ManageDappCanisterSettingsResponse { failure_reason: Some("not a dapp: x".into()) };
        assert_eq!(settings_outcome(refused), Err("Failed to change the dapp canister settings: not a dapp: x".into()));
    }
}
