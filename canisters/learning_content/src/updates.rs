//! Update methods.

use candid::Principal;
use ic_stable_structures::Memory;

use crate::{guards, state::Store};

/// `register_shard`: the hub tells which canisters are its shards. Idempotent.
pub fn register_shard<M: Memory>(
    store: &mut Store<M>,
    caller: Principal,
    shard: Principal,
) -> Result<(), String> {
    guards::require_hub(store, caller)?;
    if shard == Principal::anonymous() {
        return Err("the anonymous principal cannot be a shard".into());
    }
    store.add_shard(shard);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::memory_manager::MemoryManager;
    use ic_stable_structures::DefaultMemoryImpl;
    use platform_types::ContentInitArgs;

    #[test]
    fn only_the_hub_registers_shards() {
        let hub = Principal::from_slice(&[1; 29]);
        let shard = Principal::from_slice(&[3; 10]);
        let mut store = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        assert!(register_shard(&mut store, hub, shard)
            .unwrap_err()
            .contains("not initialized"));
        store.initialize(ContentInitArgs {
            hub_id: hub,
            sns_governance_id: Principal::from_slice(&[2; 29]),
            units: vec![],
            pass_mark_percent: None,
        });
        let err = register_shard(&mut store, shard, shard).unwrap_err();
        assert!(err.contains("only the hub"), "{err}");
        assert!(!store.is_shard(&shard));
        register_shard(&mut store, hub, shard).unwrap();
        register_shard(&mut store, hub, shard).unwrap();
        assert!(store.is_shard(&shard));
        assert_eq!(store.shard_count(), 1);
        assert!(register_shard(&mut store, hub, Principal::anonymous())
            .unwrap_err()
            .contains("anonymous"));
    }
}
