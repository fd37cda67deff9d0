//! Caller checks, and the heap guards that keep concurrent messages apart.
//!
//! The guards release what they hold in `Drop`, so they are released on every path: a normal
//! return, an early `?`, and a trap in a callback (ic-cdk drops the pending future in the
//! call's cleanup, and cleanup changes are kept).

use crate::journal::WithdrawalKey;
use crate::state::{self, Ticket};
use candid::Principal;
use platform_types::{PlatformConfig, QuizOutcome, ShardError, VerifyResult};
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

thread_local! {
    /// Users with a submission in flight (at most one each).
    static SUBMITTING: RefCell<BTreeSet<Principal>> = const { RefCell::new(BTreeSet::new()) };
    /// An allowance request (`wants_allowance: true`) is in flight.
    static REFILLING: Cell<bool> = const { Cell::new(false) };
    /// A stats-only sync is in flight.
    static SYNCING: Cell<bool> = const { Cell::new(false) };
    /// A zero-delay refill timer is scheduled and has not started yet.
    static REFILL_SCHEDULED: Cell<bool> = const { Cell::new(false) };
    /// Withdrawals whose `mint_withdrawal` call is in flight.
    static WITHDRAWING: RefCell<BTreeSet<WithdrawalKey>> = const { RefCell::new(BTreeSet::new()) };
}

// ------------------------------------------------------------------ caller checks

pub fn caller_is_hub(caller: Principal) -> Result<(), ShardError> {
    if state::init_args().is_some_and(|a| a.hub_id == caller) {
        Ok(())
    } else {
        Err(ShardError::NotAuthorized)
    }
}

/// `export_users`: the hub, or a principal the DAO named in `user_export_readers` of the
/// configuration in force here (the hub pushes every change; clearing the list revokes at once).
pub fn caller_may_export_users(caller: Principal) -> Result<(), ShardError> {
    state::with(|s| match s.init_args() {
        Some(args) => may_export_users(caller, args.hub_id, &args.config),
        None => Err(ShardError::NotAuthorized),
    })
}

fn may_export_users(caller: Principal, hub: Principal, config: &PlatformConfig) -> Result<(), ShardError> {
    if caller == hub || config.user_export_readers().contains(&caller) {
        Ok(())
    } else {
        Err(ShardError::NotAuthorized)
    }
}

pub fn caller_is_registered(caller: Principal) -> Result<(), ShardError> {
    if state::with(|s| s.is_registered(&caller)) {
        Ok(())
    } else {
        Err(ShardError::NotRegistered)
    }
}

pub fn shard_enabled() -> Result<(), ShardError> {
    if state::with(|s| s.is_disabled()) {
        Err(ShardError::ShardDisabled)
    } else {
        Ok(())
    }
}

// ------------------------------------------------------------------ in-flight guards

/// Calls to other canisters still awaited: submissions, withdrawal attempts, reports. A
/// migration copies a frozen shard only once this is 0, so no answer arrives after the copy.
pub fn calls_in_flight() -> u64 {
    let submissions = SUBMITTING.with_borrow(|s| s.len()) as u64;
    let withdrawals = WITHDRAWING.with_borrow(|s| s.len()) as u64;
    submissions + withdrawals + u64::from(REFILLING.with(Cell::get)) + u64::from(SYNCING.with(Cell::get))
}

/// At most one submission per user at a time.
pub struct SubmissionLock {
    user: Principal,
}

impl SubmissionLock {
    pub fn acquire(user: Principal) -> Result<Self, ShardError> {
        SUBMITTING.with_borrow_mut(|set| {
            if set.insert(user) {
                Ok(SubmissionLock { user })
            } else {
                Err(ShardError::SubmissionInProgress)
            }
        })
    }

    pub fn is_held(user: &Principal) -> bool {
        SUBMITTING.with_borrow(|set| set.contains(user))
    }
}

impl Drop for SubmissionLock {
    fn drop(&mut self) {
        SUBMITTING.with_borrow_mut(|set| set.remove(&self.user));
    }
}

/// A counted attempt with a reserved reward. Unless [`finish`](Self::finish)ed it is cancelled
/// when dropped: the attempt is uncounted and the reservation released.
pub struct PendingSubmission {
    ticket: Option<Ticket>,
}

impl PendingSubmission {
    pub fn new(ticket: Ticket) -> Self {
        PendingSubmission { ticket: Some(ticket) }
    }

    /// `None`: a pass with no allowance to pay it (the submission was cancelled).
    pub fn finish(mut self, verdict: &VerifyResult, now_ns: u64) -> QuizOutcome {
        let ticket = self.ticket.take().expect("a pending submission finishes once");
        state::with_mut(|s| s.finish_submission(ticket, verdict, now_ns))
    }

    /// learning_content refused the submission as malformed: the attempt stays counted.
    pub fn refuse(mut self) {
        let ticket = self.ticket.take().expect("a pending submission finishes once");
        state::with_mut(|s| s.refuse_submission(ticket));
    }
}

impl Drop for PendingSubmission {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            state::with_mut(|s| s.cancel_submission(ticket));
        }
    }
}

/// Single-flight flag: at most one holder of each kind at a time.
pub struct Flight {
    flag: &'static std::thread::LocalKey<Cell<bool>>,
}

impl Flight {
    fn acquire(flag: &'static std::thread::LocalKey<Cell<bool>>) -> Option<Self> {
        if flag.with(|f| f.replace(true)) {
            None
        } else {
            Some(Flight { flag })
        }
    }

    /// The allowance request, unless one is in flight.
    pub fn refill() -> Option<Self> {
        Self::acquire(&REFILLING)
    }

    /// The stats-only sync, unless one is in flight.
    pub fn sync() -> Option<Self> {
        Self::acquire(&SYNCING)
    }

    pub fn refill_in_flight() -> bool {
        REFILLING.with(Cell::get)
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.flag.with(|f| f.set(false));
    }
}

/// At most one `mint_withdrawal` call per withdrawal at a time (the first attempt, or a retry).
pub struct WithdrawalFlight {
    key: WithdrawalKey,
}

impl WithdrawalFlight {
    pub fn acquire(key: &WithdrawalKey) -> Option<Self> {
        WITHDRAWING.with_borrow_mut(|set| set.insert(key.clone()).then(|| WithdrawalFlight { key: key.clone() }))
    }
}

impl Drop for WithdrawalFlight {
    fn drop(&mut self) {
        WITHDRAWING.with_borrow_mut(|set| set.remove(&self.key));
    }
}

/// Marks a proactive refill as scheduled; false if one already is.
pub fn mark_refill_scheduled() -> bool {
    !REFILL_SCHEDULED.with(|f| f.replace(true))
}

pub fn clear_refill_scheduled() {
    REFILL_SCHEDULED.with(|f| f.set(false));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_admits_the_hub_and_the_named_readers_only() {
        let (hub, reader, stranger) = (Principal::from_slice(&[1; 29]), Principal::from_slice(&[2; 29]), Principal::from_slice(&[3; 29]));
        let mut config = PlatformConfig::default();
        assert_eq!(may_export_users(hub, hub, &config), Ok(()));
        assert_eq!(may_export_users(reader, hub, &config), Err(ShardError::NotAuthorized), "no reader named yet");
        config.user_export_readers = Some(vec![reader]);
        assert_eq!(may_export_users(reader, hub, &config), Ok(()));
        assert_eq!(may_export_users(hub, hub, &config), Ok(()), "the hub keeps its access");
        for who in [stranger, Principal::anonymous()] {
            assert_eq!(may_export_users(who, hub, &config), Err(ShardError::NotAuthorized), "{who}");
        }
        config.user_export_readers = Some(vec![]);
        assert_eq!(may_export_users(reader, hub, &config), Err(ShardError::NotAuthorized), "cleared: revoked");
    }

    #[test]
    fn one_submission_per_user_and_release_on_drop() {
        let a = Principal::from_slice(&[1; 29]);
        let b = Principal::from_slice(&[2; 29]);
        let lock = SubmissionLock::acquire(a).unwrap();
        assert_eq!(SubmissionLock::acquire(a).err(), Some(ShardError::SubmissionInProgress));
        let other = SubmissionLock::acquire(b).unwrap();
        drop(lock);
        assert!(!SubmissionLock::is_held(&a));
        assert!(SubmissionLock::is_held(&b));
        let again = std::panic::catch_unwind(|| {
            let _l = SubmissionLock::acquire(a).unwrap();
            panic!("a trap after the lock was taken");
        });
        assert!(again.is_err());
        assert!(!SubmissionLock::is_held(&a), "unwinding (ic-cdk's cleanup drop) releases the lock");
        drop(other);
    }

    #[test]
    fn one_mint_call_per_withdrawal() {
        let a = WithdrawalKey::new(&Principal::from_slice(&[1; 29]), 1);
        let b = WithdrawalKey::new(&Principal::from_slice(&[1; 29]), 2);
        let f = WithdrawalFlight::acquire(&a).unwrap();
        assert!(WithdrawalFlight::acquire(&a).is_none());
        let g = WithdrawalFlight::acquire(&b).unwrap();
        drop(f);
        assert!(WithdrawalFlight::acquire(&a).is_some());
        drop(g);
    }

    #[test]
    fn flights_are_single() {
        let f = Flight::refill().unwrap();
        assert!(Flight::refill().is_none());
        assert!(Flight::refill_in_flight());
        let s = Flight::sync().unwrap();
        assert!(Flight::sync().is_none());
        drop(f);
        assert!(Flight::refill().is_some());
        drop(s);
        assert!(mark_refill_scheduled());
        assert!(!mark_refill_scheduled());
        clear_refill_scheduled();
        assert!(mark_refill_scheduled());
    }
}
