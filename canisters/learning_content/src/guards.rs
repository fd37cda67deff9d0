//! Caller checks.

use candid::Principal;
use ic_stable_structures::Memory;
use platform_types::VerifyError;

use crate::state::Store;

/// Only the hub named in the init arguments may register shards and push configuration;
/// `action` says what the caller tried (for the message).
pub fn require_hub<M: Memory>(
    store: &Store<M>,
    caller: Principal,
    action: &str,
) -> Result<(), String> {
    match store.hub_id() {
        Some(hub) if hub == caller => Ok(()),
        Some(hub) => Err(format!(
            "only the hub ({hub}) may {action}; the caller is {caller}"
        )),
        None => Err("learning_content is not initialized".into()),
    }
}

/// Only the SNS governance canister in force (init argument, or the last upgrade argument that
/// set it) may call the proposal methods (`method`, validators and targets). While it is the
/// anonymous principal ("not set yet": installed before the SNS exists), nobody may.
pub fn require_governance<M: Memory>(
    store: &Store<M>,
    caller: Principal,
    method: &str,
) -> Result<(), String> {
    match store.sns_governance_id() {
        None => Err("learning_content is not initialized".into()),
        Some(g) if g == Principal::anonymous() => Err(format!(
            "only SNS governance may call {method}, and none is set (sns_governance_id is the anonymous principal)"
        )),
        Some(g) if g == caller => Ok(()),
        Some(g) => Err(format!(
            "only SNS governance ({g}) may call {method}; the caller is {caller}"
        )),
    }
}

/// Only registered shards may verify answers (so nobody can probe answer keys).
pub fn require_shard<M: Memory>(store: &Store<M>, caller: Principal) -> Result<(), VerifyError> {
    if store.is_shard(&caller) {
        Ok(())
    } else {
        Err(VerifyError::NotAShard)
    }
}
