//! Caller checks.

use candid::Principal;
use ic_stable_structures::Memory;
use platform_types::VerifyError;

use crate::state::Store;

/// Only the hub named in the init arguments may register shards.
pub fn require_hub<M: Memory>(store: &Store<M>, caller: Principal) -> Result<(), String> {
    match store.hub_id() {
        Some(hub) if hub == caller => Ok(()),
        Some(hub) => Err(format!(
            "only the hub ({hub}) may register shards; the caller is {caller}"
        )),
        None => Err("learning_content is not initialized".into()),
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
