//! Heap-only guards against concurrent executions across awaits. Each is released by `Drop`,
//! which ic-cdk also runs when a callback traps and the future is cancelled. They live on the
//! heap on purpose: an upgrade (which needs no call in flight) starts with all of them free.

use crate::mint::MintKey;
use candid::Principal;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

thread_local! {
    static PROVISIONING: Cell<bool> = const { Cell::new(false) };
    static REGISTERING: RefCell<BTreeSet<Principal>> = const { RefCell::new(BTreeSet::new()) };
    static MINTING: RefCell<BTreeSet<MintKey>> = const { RefCell::new(BTreeSet::new()) };
    static PUSHING: Cell<bool> = const { Cell::new(false) };
    static PUSH_RERUN: Cell<bool> = const { Cell::new(false) };
}

/// Governance-only methods: the caller must be the SNS governance canister the hub knows (from
/// its init arguments, or set by an upgrade argument). The anonymous principal stands for "not
/// set yet" (installed before the SNS exists): then nobody may call them.
pub fn caller_is_governance(caller: Principal) -> Result<(), String> {
    match crate::state::init_args() {
        Some(args) if args.sns_governance_id == caller && caller != Principal::anonymous() => Ok(()),
        _ => Err(format!("only SNS governance may call this method (caller {caller})")),
    }
}

/// Single flight of shard provisioning (create + install, or an install retry): at most one at
/// a time, whoever triggers it (timer, `ensure_capacity`, `register`). Whoever holds it must
/// re-check the need after acquiring it.
#[must_use]
pub struct ProvisionGuard(());

impl ProvisionGuard {
    pub fn acquire() -> Option<Self> {
        // `then`, not `then_some`: a guard built and dropped on failure would release the holder's.
        PROVISIONING.with(|p| (!p.replace(true)).then(|| ProvisionGuard(())))
    }

    #[cfg(test)]
    pub fn is_held() -> bool {
        PROVISIONING.with(Cell::get)
    }
}

impl Drop for ProvisionGuard {
    fn drop(&mut self) {
        PROVISIONING.with(|p| p.set(false));
    }
}

/// Single flight of the status and config pushes (`fleet::push_pending`). A failed acquire
/// asks the holder for one more round, so no change waits for the next timer tick.
#[must_use]
pub struct PushFlight(());

impl PushFlight {
    pub fn acquire() -> Option<Self> {
        let acquired = PUSHING.with(|p| (!p.replace(true)).then(|| PushFlight(())));
        if acquired.is_none() {
            PUSH_RERUN.with(|r| r.set(true));
        }
        acquired
    }

    pub fn clear_rerun() {
        PUSH_RERUN.with(|r| r.set(false));
    }

    pub fn rerun_requested() -> bool {
        PUSH_RERUN.with(Cell::get)
    }
}

impl Drop for PushFlight {
    fn drop(&mut self) {
        PUSHING.with(|p| p.set(false));
    }
}

/// One registration per principal at a time.
#[must_use]
pub struct RegistrationGuard(Principal);

impl RegistrationGuard {
    pub fn acquire(principal: Principal) -> Option<Self> {
        REGISTERING.with_borrow_mut(|set| set.insert(principal).then(|| RegistrationGuard(principal)))
    }
}

impl Drop for RegistrationGuard {
    fn drop(&mut self) {
        REGISTERING.with_borrow_mut(|set| set.remove(&self.0));
    }
}

/// One ledger attempt per withdrawal at a time. An InFlight journal entry whose guard is free
/// is one whose last attempt's outcome the hub lost (it trapped after the call, or was
/// upgraded): the next request attempts it again.
#[must_use]
pub struct MintGuard(MintKey);

impl MintGuard {
    pub fn acquire(key: MintKey) -> Option<Self> {
        MINTING.with_borrow_mut(|set| set.insert(key).then(|| MintGuard(key)))
    }

    pub fn is_held(key: MintKey) -> bool {
        MINTING.with_borrow(|set| set.contains(&key))
    }
}

impl Drop for MintGuard {
    fn drop(&mut self) {
        MINTING.with_borrow_mut(|set| set.remove(&self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provisioning_is_single_flight_until_the_guard_drops() {
        let g = ProvisionGuard::acquire().expect("free");
        assert!(ProvisionGuard::is_held());
        assert!(ProvisionGuard::acquire().is_none());
        assert!(ProvisionGuard::is_held(), "a failed acquire does not release the holder's guard");
        drop(g);
        assert!(!ProvisionGuard::is_held());
        assert!(ProvisionGuard::acquire().is_some());
    }

    #[test]
    fn an_anonymous_governance_id_admits_nobody() {
        let anonymous = Principal::anonymous();
        crate::state::set_init_args(platform_types::HubInitArgs {
            ledger_id: anonymous,
            learning_content_id: anonymous,
            sns_governance_id: anonymous,
            config: None,
            registration_policy: None,
            icp_refill: None,
        });
        assert!(caller_is_governance(anonymous).is_err());
        let gov = Principal::from_slice(&[3; 10]);
        crate::state::set_init_args(platform_types::HubInitArgs {
            ledger_id: anonymous,
            learning_content_id: anonymous,
            sns_governance_id: gov,
            config: None,
            registration_policy: None,
            icp_refill: None,
        });
        assert!(caller_is_governance(gov).is_ok());
        assert!(caller_is_governance(anonymous).is_err());
    }

    #[test]
    fn pushes_are_single_flight_and_a_second_trigger_asks_for_another_round() {
        let held = PushFlight::acquire().expect("free");
        PushFlight::clear_rerun();
        assert!(!PushFlight::rerun_requested());
        assert!(PushFlight::acquire().is_none());
        assert!(PushFlight::rerun_requested(), "the holder goes round again");
        drop(held);
        assert!(PushFlight::acquire().is_some());
    }

    #[test]
    fn mints_are_exclusive_per_withdrawal() {
        let k = MintKey { shard: 1, withdrawal_id: 2 };
        let g = MintGuard::acquire(k).unwrap();
        assert!(MintGuard::acquire(k).is_none());
        assert!(MintGuard::is_held(k));
        assert!(MintGuard::acquire(MintKey { shard: 2, withdrawal_id: 2 }).is_some());
        drop(g);
        assert!(!MintGuard::is_held(k));
    }

    #[test]
    fn registrations_are_exclusive_per_principal() {
        let a = Principal::from_slice(&[1; 10]);
        let b = Principal::from_slice(&[2; 10]);
        let ga = RegistrationGuard::acquire(a).unwrap();
        assert!(RegistrationGuard::acquire(a).is_none());
        assert!(RegistrationGuard::acquire(a).is_none(), "a failed acquire does not release the holder's guard");
        let gb = RegistrationGuard::acquire(b).unwrap();
        drop(ga);
        assert!(RegistrationGuard::acquire(a).is_some());
        drop(gb);
    }
}
