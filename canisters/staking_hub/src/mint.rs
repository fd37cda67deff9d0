//! Withdrawals minted on the ledger: the hub's mint journal and its rules, in plain Rust.
//!
//! A shard asks the hub to mint a withdrawal with `mint_withdrawal(MintRequest)`, and sends the
//! same request again until it gets a definite answer. The hub journals every withdrawal it
//! admits, keyed by (shard index, withdrawal id), so that:
//! * a withdrawal is minted at most once: a retry of a Minted entry is answered from the
//!   journal, and every ledger attempt carries the same memo and `created_at_time`, so the
//!   ledger answers `Duplicate` for a mint whose reply the hub lost;
//! * a shard never gets more than the hub granted it: an admitted withdrawal reserves its
//!   amount (`in_flight_e8s`) before the hub awaits the ledger, and `minted + in_flight +
//!   amount <= granted` is checked against that reservation;
//! * a ledger refusal re-credits the user (the shard does it on a definite answer) only when
//!   no earlier attempt of the same withdrawal may have minted: the hub counts the attempts it
//!   sent and the ones known not to have minted. An attempt whose outcome is unknown (a
//!   timed-out call, a reply that does not decode, a trap of the hub after the call) leaves the
//!   entry InFlight, and only `Ok` or `Duplicate` can settle it after that.

use crate::model::{ShardIndex, ShardRecord};
use candid::{CandidType, Principal};
use ic_stable_structures::storable::{Bound, Storable};
use platform_types::{MintError, MintRequest, ShardStatus, HARD_CAP_E8S};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Journal key: the shard's index and its withdrawal id (12 fixed bytes, big-endian, so the
/// entries of one shard are contiguous and in id order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MintKey {
    pub shard: ShardIndex,
    pub withdrawal_id: u64,
}

impl Storable for MintKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(platform_types::withdrawal_memo(self.shard, self.withdrawal_id).to_vec())
    }

    fn into_bytes(self) -> Vec<u8> {
        platform_types::withdrawal_memo(self.shard, self.withdrawal_id).to_vec()
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        assert_eq!(bytes.len(), 12, "a mint key is 12 bytes");
        let shard = u32::from_be_bytes(bytes[..4].try_into().expect("4 bytes"));
        let withdrawal_id = u64::from_be_bytes(bytes[4..].try_into().expect("8 bytes"));
        MintKey { shard, withdrawal_id }
    }

    const BOUND: Bound = Bound::Bounded { max_size: 12, is_fixed_size: true };
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum MintState {
    /// Admitted (its amount reserved); not known to be minted.
    InFlight,
    Minted { block_index: u64 },
    /// The ledger refused it and no attempt can have minted it.
    Failed { reason: String },
}

/// A journal entry (Candid-encoded in stable memory: fields added later must be `Option`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MintRecord {
    pub user: Principal,
    pub amount_e8s: u64,
    pub created_at_ns: u64,
    pub state: MintState,
    /// Ledger calls sent; counted (and committed) before each await.
    pub attempts_sent: u32,
    /// Attempts known not to have minted: the call was never executed, or the ledger refused.
    pub attempts_not_minted: u32,
    /// Why the last attempt did not settle the entry (empty if none).
    pub last_error: String,
}

impl MintRecord {
    fn new(req: &MintRequest) -> Self {
        MintRecord {
            user: req.user,
            amount_e8s: req.amount_e8s,
            created_at_ns: req.created_at_ns,
            state: MintState::InFlight,
            attempts_sent: 0,
            attempts_not_minted: 0,
            last_error: String::new(),
        }
    }

    fn matches(&self, req: &MintRequest) -> bool {
        self.user == req.user && self.amount_e8s == req.amount_e8s && self.created_at_ns == req.created_at_ns
    }

    /// Whether some attempt before the current one may have minted.
    fn earlier_attempt_may_have_minted(&self) -> bool {
        // The current attempt is counted in `attempts_sent` but not (yet) in `attempts_not_minted`.
        self.attempts_sent.saturating_sub(1) > self.attempts_not_minted
    }
}

/// Mint amounts, per shard and hub-wide (Candid in stable memory).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct MintCounters {
    /// Confirmed minted (`Ok` or `Duplicate` from the ledger).
    pub minted_e8s: u64,
    /// Admitted and not settled: reserved against the grants.
    pub in_flight_e8s: u64,
    pub minted_count: u64,
    pub failed_count: u64,
}

/// What the hub does with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Answer at once (from the journal, or a refusal).
    Answer(Result<u64, MintError>),
    /// Call the ledger for this entry. `new`: the entry must be inserted and its amount reserved.
    Attempt { record: MintRecord, new: bool },
}

fn try_later(reason: impl Into<String>) -> Admission {
    Admission::Answer(Err(MintError::TryLater { reason: reason.into() }))
}

fn refused(reason: impl Into<String>) -> Admission {
    Admission::Answer(Err(MintError::Refused { reason: reason.into() }))
}

/// The admission rules (see the module documentation). `user_on_shard`: the hub's index has
/// `req.user` registered on this shard. `attempt_in_progress`: an attempt of this entry is
/// awaiting the ledger right now.
#[allow(clippy::too_many_arguments)]
pub fn admit(
    existing: Option<&MintRecord>,
    req: &MintRequest,
    shard: &ShardRecord,
    user_on_shard: bool,
    shard_counters: &MintCounters,
    totals: &MintCounters,
    total_granted_e8s: u64,
    attempt_in_progress: bool,
) -> Admission {
    if let Some(record) = existing {
        if !record.matches(req) {
            // Only a shard bug can reuse an id; never answer definitely for the other request.
            return try_later(format!(
                "withdrawal {} is journaled with other details (user {}, {} e8s, created at {})",
                req.withdrawal_id, record.user, record.amount_e8s, record.created_at_ns
            ));
        }
        return match &record.state {
            MintState::Minted { block_index } => Admission::Answer(Ok(*block_index)),
            MintState::Failed { reason } => {
                Admission::Answer(Err(MintError::LedgerRejected { reason: reason.clone() }))
            }
            MintState::InFlight if attempt_in_progress => try_later("a mint of this withdrawal is under way"),
            MintState::InFlight if shard.status == ShardStatus::Disabled => {
                try_later("the shard is disabled; its withdrawals resume when it is enabled")
            }
            MintState::InFlight => Admission::Attempt { record: record.clone(), new: false },
        };
    }
    if !shard.installed {
        return refused("the caller is not an installed shard of this hub");
    }
    if shard.status == ShardStatus::Disabled {
        return try_later("the shard is disabled; its withdrawals resume when it is enabled");
    }
    if !user_on_shard {
        return refused(format!("{} is not a registered user of this shard", req.user));
    }
    if req.amount_e8s == 0 {
        return refused("the amount is zero");
    }
    let shard_committed = shard_counters.minted_e8s.saturating_add(shard_counters.in_flight_e8s);
    if shard_committed.saturating_add(req.amount_e8s) > shard.granted_e8s {
        return refused(format!(
            "{} e8s is more than this shard has left of what the hub granted it ({} granted, {} minted or being minted)",
            req.amount_e8s, shard.granted_e8s, shard_committed
        ));
    }
    // Implied by the per-shard check (grants never pass the cap); checked anyway.
    let committed = totals.minted_e8s.saturating_add(totals.in_flight_e8s).saturating_add(req.amount_e8s);
    if committed > total_granted_e8s.min(HARD_CAP_E8S) {
        return refused("the mint would pass the total granted or the hard cap");
    }
    Admission::Attempt { record: MintRecord::new(req), new: true }
}

/// What the ledger call came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerOutcome {
    /// `Ok(block)`, or `Duplicate { duplicate_of: block }`.
    Minted(u64),
    /// Any other `TransferError`: this attempt did not mint.
    Rejected(String),
    /// The call was never executed (a clean reject): this attempt did not mint.
    NotExecuted(String),
    /// Anything else: this attempt may have minted.
    Unknown(String),
}

/// How an attempt's outcome changes the counters (applied to the shard's and the totals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterChange {
    pub minted_e8s: u64,
    pub released_e8s: u64,
    pub failed: bool,
}

impl CounterChange {
    pub fn apply(&self, c: &mut MintCounters) {
        c.in_flight_e8s = c.in_flight_e8s.saturating_sub(self.released_e8s);
        c.minted_e8s = c.minted_e8s.saturating_add(self.minted_e8s);
        if self.minted_e8s > 0 {
            c.minted_count += 1;
        }
        if self.failed {
            c.failed_count += 1;
        }
    }
}

/// Settles (or not) an InFlight entry whose attempt was counted in `attempts_sent`.
pub fn apply_outcome(record: &mut MintRecord, outcome: LedgerOutcome) -> (Result<u64, MintError>, CounterChange) {
    let amount = record.amount_e8s;
    match outcome {
        LedgerOutcome::Minted(block_index) => {
            record.state = MintState::Minted { block_index };
            record.last_error.clear();
            (Ok(block_index), CounterChange { minted_e8s: amount, released_e8s: amount, failed: false })
        }
        LedgerOutcome::Rejected(reason) => {
            if record.earlier_attempt_may_have_minted() {
                record.attempts_not_minted += 1;
                record.last_error = format!(
                    "the ledger refused ({reason}), but an earlier attempt may have minted: retried until the \
                     ledger reports it as a duplicate"
                );
                (Err(MintError::TryLater { reason: record.last_error.clone() }), CounterChange::default())
            } else {
                record.attempts_not_minted += 1;
                record.state = MintState::Failed { reason: reason.clone() };
                record.last_error = reason.clone();
                (
                    Err(MintError::LedgerRejected { reason }),
                    CounterChange { minted_e8s: 0, released_e8s: amount, failed: true },
                )
            }
        }
        LedgerOutcome::NotExecuted(detail) => {
            record.attempts_not_minted += 1;
            record.last_error = detail.clone();
            (Err(MintError::TryLater { reason: detail }), CounterChange::default())
        }
        LedgerOutcome::Unknown(detail) => {
            record.last_error = format!("outcome unknown: {detail}");
            (Err(MintError::TryLater { reason: record.last_error.clone() }), CounterChange::default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    fn shard(granted: u64) -> ShardRecord {
        let mut s = ShardRecord::created(p(1), 0);
        s.installed = true;
        s.granted_e8s = granted;
        s
    }

    fn req(id: u64, amount: u64) -> MintRequest {
        MintRequest { withdrawal_id: id, user: p(7), amount_e8s: amount, created_at_ns: 1_000 }
    }

    fn admit_new(r: &MintRequest, s: &ShardRecord, sc: &MintCounters) -> Admission {
        admit(None, r, s, true, sc, sc, s.granted_e8s, false)
    }

    /// The figure in docs/tokenomics.md: a journal entry's value, Candid-encoded, for a
    /// self-authenticating (29-byte) user, Minted (the common final state).
    #[test]
    fn a_journal_entry_takes_about_150_bytes() {
        let user = Principal::from_slice(&[7; 29]);
        let mut rec = MintRecord::new(&MintRequest { withdrawal_id: 1, user, amount_e8s: u64::MAX, created_at_ns: u64::MAX });
        rec.state = MintState::Minted { block_index: u64::MAX };
        rec.attempts_sent = 1;
        let bytes = platform_types::StableCandid(rec).to_bytes().len();
        eprintln!("mint journal entry: {bytes} bytes + the 12-byte key");
        assert!((100..=200).contains(&bytes), "{bytes}");
    }

    #[test]
    fn keys_are_twelve_big_endian_bytes_in_shard_then_id_order() {
        let k = MintKey { shard: 3, withdrawal_id: 9 };
        assert_eq!(MintKey::from_bytes(k.to_bytes()), k);
        assert!(MintKey { shard: 1, withdrawal_id: u64::MAX }.to_bytes() < MintKey { shard: 2, withdrawal_id: 0 }.to_bytes());
    }

    #[test]
    fn new_withdrawals_are_checked_against_the_grant_of_the_shard() {
        let s = shard(100);
        let none = MintCounters::default();
        assert!(matches!(admit_new(&req(1, 100), &s, &none), Admission::Attempt { new: true, .. }));
        let committed = MintCounters { minted_e8s: 60, in_flight_e8s: 30, ..Default::default() };
        assert!(matches!(admit_new(&req(1, 10), &s, &committed), Admission::Attempt { .. }));
        match admit_new(&req(1, 11), &s, &committed) {
            Admission::Answer(Err(MintError::Refused { reason })) => assert!(reason.contains("100 granted"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(admit_new(&req(1, 0), &s, &none), Admission::Answer(Err(MintError::Refused { .. }))));
        let other_user = admit(None, &req(1, 5), &s, false, &none, &none, 100, false);
        assert!(matches!(other_user, Admission::Answer(Err(MintError::Refused { .. }))));
        let mut uninstalled = s.clone();
        uninstalled.installed = false;
        assert!(matches!(admit_new(&req(1, 5), &uninstalled, &none), Admission::Answer(Err(MintError::Refused { .. }))));
        let mut disabled = s.clone();
        disabled.status = ShardStatus::Disabled;
        assert!(matches!(admit_new(&req(1, 5), &disabled, &none), Admission::Answer(Err(MintError::TryLater { .. }))));
        // The hub-wide check, should the shard records ever disagree with the totals.
        let totals = MintCounters { minted_e8s: 95, ..Default::default() };
        let a = admit(None, &req(1, 10), &s, true, &none, &totals, 100, false);
        assert!(matches!(a, Admission::Answer(Err(MintError::Refused { .. }))));
    }

    #[test]
    fn journaled_withdrawals_are_answered_from_the_journal() {
        let s = shard(100);
        let c = MintCounters::default();
        let r = req(4, 10);
        let mut rec = MintRecord::new(&r);
        rec.state = MintState::Minted { block_index: 77 };
        assert_eq!(admit(Some(&rec), &r, &s, true, &c, &c, 100, false), Admission::Answer(Ok(77)));
        // Even with the grant used up and the user moved: the journal answers.
        assert_eq!(admit(Some(&rec), &r, &shard(0), false, &c, &c, 0, false), Admission::Answer(Ok(77)));
        rec.state = MintState::Failed { reason: "BadFee".into() };
        assert!(matches!(
            admit(Some(&rec), &r, &s, true, &c, &c, 100, false),
            Admission::Answer(Err(MintError::LedgerRejected { .. }))
        ));
        rec.state = MintState::InFlight;
        assert!(matches!(
            admit(Some(&rec), &r, &s, true, &c, &c, 100, true),
            Admission::Answer(Err(MintError::TryLater { .. }))
        ));
        assert_eq!(
            admit(Some(&rec), &r, &s, true, &c, &c, 100, false),
            Admission::Attempt { record: rec.clone(), new: false },
            "an InFlight entry with nothing in progress lost its outcome: attempt again"
        );
        let other = MintRequest { amount_e8s: 11, ..r };
        assert!(matches!(
            admit(Some(&rec), &other, &s, true, &c, &c, 100, false),
            Admission::Answer(Err(MintError::TryLater { .. }))
        ), "a reused id is never answered definitely");
    }

    fn sent(record: &mut MintRecord) {
        record.attempts_sent += 1;
    }

    #[test]
    fn a_ledger_refusal_fails_the_entry_only_if_no_attempt_may_have_minted() {
        let mut rec = MintRecord::new(&req(1, 10));
        sent(&mut rec);
        let (answer, change) = apply_outcome(&mut rec, LedgerOutcome::NotExecuted("ledger stopped".into()));
        assert!(matches!(answer, Err(MintError::TryLater { .. })));
        assert_eq!(change, CounterChange::default());
        sent(&mut rec);
        let (answer, change) = apply_outcome(&mut rec, LedgerOutcome::Rejected("GenericError".into()));
        assert_eq!(answer, Err(MintError::LedgerRejected { reason: "GenericError".into() }));
        assert_eq!(change, CounterChange { minted_e8s: 0, released_e8s: 10, failed: true });
        assert_eq!(rec.state, MintState::Failed { reason: "GenericError".into() });

        let mut rec = MintRecord::new(&req(2, 10));
        sent(&mut rec);
        let _ = apply_outcome(&mut rec, LedgerOutcome::Unknown("timed out".into()));
        sent(&mut rec);
        let (answer, change) = apply_outcome(&mut rec, LedgerOutcome::Rejected("TooOld".into()));
        assert!(matches!(answer, Err(MintError::TryLater { .. })), "the timed-out attempt may have minted");
        assert_eq!(change, CounterChange::default());
        assert_eq!(rec.state, MintState::InFlight);
        sent(&mut rec);
        let (answer, change) = apply_outcome(&mut rec, LedgerOutcome::Minted(5));
        assert_eq!(answer, Ok(5));
        assert_eq!(change, CounterChange { minted_e8s: 10, released_e8s: 10, failed: false });
    }

    #[test]
    fn a_trap_after_the_call_leaves_the_attempt_counted_as_possibly_minted() {
        // What a trap in the callback leaves: the attempt counted before the await, nothing else.
        let mut rec = MintRecord::new(&req(3, 10));
        sent(&mut rec);
        sent(&mut rec);
        let (answer, _) = apply_outcome(&mut rec, LedgerOutcome::Rejected("TemporarilyUnavailable".into()));
        assert!(matches!(answer, Err(MintError::TryLater { .. })));
    }

    #[test]
    fn counter_changes_move_reservations_to_minted_or_release_them() {
        let mut c = MintCounters { minted_e8s: 5, in_flight_e8s: 30, ..Default::default() };
        CounterChange { minted_e8s: 10, released_e8s: 10, failed: false }.apply(&mut c);
        CounterChange { minted_e8s: 0, released_e8s: 20, failed: true }.apply(&mut c);
        assert_eq!(c, MintCounters { minted_e8s: 15, in_flight_e8s: 0, minted_count: 1, failed_count: 1 });
    }
}
