//! init / post_upgrade, which arm the periodic jobs (`jobs`). Nothing here iterates over users
//! (an upgrade is O(1)) except the one-time move of a shard's old-layout data into the compact
//! layout (`state::layout`), in the first upgrade to a release that has it.

use crate::{jobs, state};
use platform_types::{ShardInitArgs, ShardUpgradeArgs};
use std::cell::RefCell;

thread_local! {
    /// The module hash the hub said it installed (heap: each install or upgrade tells it anew,
    /// so a value from an older module can never be reported).
    static MODULE_HASH: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Hex sha256 of the running module, as the hub told it at the last install or upgrade.
pub fn module_hash() -> Option<String> {
    MODULE_HASH.with_borrow(Clone::clone)
}

/// Builds the Candid reply headers of the learners' queries here, where the heap persists: a
/// query cannot keep them (see `platform_types::reply_encoding`).
pub fn warm_reply_headers() {
    use platform_types::{reply_encoding::warm, ShardError, UserView, Withdrawal};
    warm::<Result<UserView, ShardError>>(Err(ShardError::NotRegistered));
    warm::<Result<Vec<String>, ShardError>>(Err(ShardError::NotRegistered));
    warm::<Result<Vec<Withdrawal>, ShardError>>(Err(ShardError::NotRegistered));
}

pub fn init(args: ShardInitArgs) {
    if let Err(e) = args.config.validate() {
        ic_cdk::trap(format!("user_profile: invalid config in the init arguments: {e}"));
    }
    // Not stored with the init arguments: it would go stale at the first upgrade.
    MODULE_HASH.set(args.module_hash.clone());
    ic_cdk::println!(
        "user_profile: installed by the hub {} (module {})",
        args.hub_id,
        args.module_hash.as_deref().unwrap_or("unknown")
    );
    state::set_init_args(ShardInitArgs { module_hash: None, ..args });
    // A fresh shard has no old-layout data: this only records that it is in the compact one.
    state::migrate_legacy_layout();
    warm_reply_headers();
    jobs::start_all();
}

/// Everything lives in stable structures. Timers do not survive an upgrade: the jobs are armed
/// again from the configuration in stable memory.
pub fn post_upgrade(args: Option<ShardUpgradeArgs>) {
    if state::init_args().is_none() {
        ic_cdk::trap("user_profile: no init arguments in stable memory after upgrade");
    }
    let module_hash = args.and_then(|a| a.module_hash);
    ic_cdk::println!("user_profile: upgraded to module {}", module_hash.as_deref().unwrap_or("unknown"));
    MODULE_HASH.set(module_hash);
    warm_reply_headers();
    // Before anything reads users: the first upgrade from a release up to d9b1018 moves them.
    if let Some(moved) = state::migrate_legacy_layout() {
        ic_cdk::println!(
            "user_profile: moved {} users, {} tombstones and {} completions ({} units) into the compact layout ({} orphan completions left)",
            moved.users,
            moved.tombstones,
            moved.completions,
            moved.units_interned,
            moved.orphan_completions
        );
    }
    let stale = state::with_mut(|s| s.release_stale_reservations());
    if stale > 0 {
        ic_cdk::println!("user_profile: released {stale} e8s of allowance reserved before the upgrade");
    }
    jobs::start_all();
}
