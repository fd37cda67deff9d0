//! Size limits and cleanup (issue 13, section 4), in plain Rust like the rest of `state`.
//!
//! * **Journal compaction**: a settled withdrawal (Completed or Failed) whose last change is
//!   older than `settled_retention_secs` (>= 7 days, long after the ledger's 24 h dedup window
//!   and the longest withdrawal cooldown) is removed from the journal; its number and amount
//!   are added to [`CleanupState`]. Pending withdrawals are never touched, and the shard-wide
//!   `WithdrawalCounters` (withdrawn, completed, failed) are cumulative, so totals do not move.
//! * **Settled mark**: every withdrawal id of this shard below `settled_below_withdrawal_id` is
//!   settled here. The shard reports it to the hub, which compacts its mint journal below it
//!   only (`staking_hub::compaction`).
//! * **Archiving** (off unless governance sets `inactive_archive_secs`): a learner inactive that
//!   long, with no pending withdrawal, no owed reward and no submission in flight, loses the
//!   profile record (email, name, education, gender, daily counters); a [`Tombstone`] keeps the
//!   staked balance, the completed-unit count, the completed units and the registration time. The learner's next update (profile, quiz, unstake) restores the record with
//!   the balance (see [`ShardState::restore_if_archived`]); their view shows the balance.
//! * **Self-deletion** ([`ShardState::delete_profile`]): refused while withdrawals are pending,
//!   rewards are owed or a submission is in flight; a staked balance is withdrawn first, or
//!   forfeited only on explicit confirmation (it goes back to the shard's allowance: never
//!   minted). The profile and the withdrawal history go; the completed unit ids stay (so a
//!   unit's reward is never paid twice to the same principal) with a `deleted` tombstone.
//!
//! One run ([`ShardState::run_cleanup`]) asks `may_continue` before every entry it looks at,
//! and keeps its cursors in stable memory, so a run cut short resumes where it stopped.
//!
//! Daily statistics need no cleanup: a learner's daily counters and the shard's are single
//! values for the current UTC day, overwritten (lazily) when the day changes; no per-day
//! history is stored.

use super::ShardState;
use crate::journal::WithdrawalKey;
use crate::model::{CompletedUnits, Reader, UserRecord};
use candid::{CandidType, Principal};
use ic_stable_structures::storable::{Bound, Storable};
use ic_stable_structures::Memory;
use platform_types::{
    DeleteProfileArgs, DeleteProfileError, ProfileDeleted, ShardCleanupStatus, ShardReport, StableCandid, WithdrawalState,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::ops::Bound as RangeBound;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// An archived or self-deleted learner: what they keep (33 fixed bytes and their completed
/// units, see `model` for the layout figures).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    pub staked_e8s: u64,
    pub completed_units: u64,
    pub registered_at_ns: u64,
    pub archived_at_ns: u64,
    /// Deleted by its owner (balance 0, nothing to restore but the completed units).
    pub deleted: bool,
    /// The units completed: kept, so no unit's reward is paid twice to the same principal.
    pub completed: CompletedUnits,
}

impl Tombstone {
    /// The fixed part: four u64 and the deleted flag (the completed units follow).
    pub const FIXED_SIZE: usize = 8 * 4 + 1;

    /// The record the learner sees while archived.
    pub fn record(&self) -> UserRecord {
        UserRecord {
            staked_e8s: self.staked_e8s,
            completed_units: self.completed_units,
            registered_at_ns: self.registered_at_ns,
            last_active_ns: self.archived_at_ns,
            completed: self.completed.clone(),
            ..UserRecord::new(self.archived_at_ns)
        }
    }

    /// The record a returning learner gets back at `now_ns` (a new profile is theirs to give).
    fn restored(self, now_ns: u64) -> UserRecord {
        UserRecord {
            staked_e8s: self.staked_e8s,
            completed_units: self.completed_units,
            registered_at_ns: if self.deleted { now_ns } else { self.registered_at_ns },
            completed: self.completed,
            ..UserRecord::new(now_ns)
        }
    }
}

impl Storable for Tombstone {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.clone().into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::FIXED_SIZE + 1 + 3 * self.completed.len());
        for n in [self.staked_e8s, self.completed_units, self.registered_at_ns, self.archived_at_ns] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.push(self.deleted as u8);
        self.completed.encode(&mut out);
        out
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        let mut r = Reader { bytes: &bytes, pos: 0 };
        Tombstone {
            staked_e8s: r.u64(),
            completed_units: r.u64(),
            registered_at_ns: r.u64(),
            archived_at_ns: r.u64(),
            deleted: r.u8() == 1,
            completed: CompletedUnits::decode(&mut r),
        }
    }

    // The completed units make it unbounded (a few bytes each).
    const BOUND: Bound = Bound::Unbounded;
}

/// Counters and cursors of the cleanup (Candid in stable memory: fields added later must be
/// `Option` or `#[serde(default)]`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CleanupState {
    pub compacted_completed: u64,
    pub compacted_completed_e8s: u64,
    pub compacted_failed: u64,
    pub compacted_failed_e8s: u64,
    pub archived: u64,
    pub deleted_by_owner: u64,
    pub restored: u64,
    /// Staked balances held in tombstones, in e8s (part of `Counters::total_staked_e8s`).
    pub tombstone_staked_e8s: u64,
    pub forfeited_e8s: u64,
    pub settled_below_withdrawal_id: Option<u64>,
    /// Stable memory in bytes at the last measure (0: never measured).
    pub stable_memory_bytes: u64,
    /// What the last report the hub accepted carried.
    pub reported_memory_bytes: Option<u64>,
    pub reported_settled_below: Option<u64>,
    /// Cursors: the last journal key / pending key / user looked at (None: start of a pass).
    pub journal_cursor: Option<Vec<u8>>,
    pub pending_cursor: Option<Vec<u8>>,
    pub users_cursor: Option<Principal>,
    /// The lowest pending id seen in the pass of `pending_cursor` (starts at the next id).
    pub pending_pass_min: Option<u64>,
    /// The pass a run cut short was in: 0 journal, 1 settled mark, 2 archiving.
    pub phase: Option<u8>,
    pub last_run_ns: u64,
    pub last_run_incomplete: bool,
}

impl CleanupState {
    pub fn measured_memory_bytes(&self) -> Option<u64> {
        (self.stable_memory_bytes > 0).then_some(self.stable_memory_bytes)
    }
}

/// Why a run stopped.
enum Step {
    Done,
    OutOfBudget,
}

impl<M: Memory> ShardState<M> {
    pub fn cleanup_state(&self) -> CleanupState {
        self.cleanup.get().0.clone()
    }

    fn update_cleanup<R>(&mut self, f: impl FnOnce(&mut CleanupState) -> R) -> R {
        let mut c = self.cleanup.get().0.clone();
        let r = f(&mut c);
        self.cleanup.set(StableCandid(c));
        r
    }

    pub fn note_stable_memory(&mut self, bytes: u64) {
        if self.cleanup.get().0.stable_memory_bytes != bytes {
            self.update_cleanup(|c| c.stable_memory_bytes = bytes);
        }
    }

    /// The memory size or the settled mark changed since the last report the hub accepted.
    pub(super) fn cleanup_has_unreported_changes(&self) -> bool {
        let c = &self.cleanup.get().0;
        c.measured_memory_bytes() != c.reported_memory_bytes || c.settled_below_withdrawal_id != c.reported_settled_below
    }

    pub(super) fn note_cleanup_reported(&mut self, report: &ShardReport) {
        self.update_cleanup(|c| {
            c.reported_memory_bytes = report.stable_memory_bytes;
            c.reported_settled_below = report.settled_below_withdrawal_id;
        });
    }

    #[cfg(test)]
    pub fn is_archived(&self, user: &Principal) -> bool {
        self.tombstones.contains_key(user)
    }

    /// A returning archived learner gets their record back (balance, completed-unit count),
    /// without a profile. Not on a disabled or frozen shard (they change no user state).
    /// Returns whether it restored one.
    pub fn restore_if_archived(&mut self, user: &Principal, now_ns: u64) -> bool {
        if self.is_disabled() || self.is_frozen() || self.users.contains_key(user) {
            return false;
        }
        self.restore_archived(user, now_ns).is_some()
    }

    /// [`restore_if_archived`](Self::restore_if_archived) once the caller checked the shard
    /// is neither disabled nor frozen and `user` has no record: returns the restored record
    /// (written), None if `user` has no tombstone either.
    pub(super) fn restore_archived(&mut self, user: &Principal, now_ns: u64) -> Option<UserRecord> {
        let tombstone = self.tombstones.remove(user)?;
        let staked_e8s = tombstone.staked_e8s;
        let rec = tombstone.restored(now_ns);
        self.users.insert(*user, rec.clone());
        self.update_cleanup(|c| {
            c.restored += 1;
            c.tombstone_staked_e8s = c.tombstone_staked_e8s.saturating_sub(staked_e8s);
        });
        Some(rec)
    }

    /// Runs `f` (a learner's call) with `user`'s archived record restored first, as
    /// [`restore_if_archived`](Self::restore_if_archived) does; if `f` refuses the call, the
    /// restore is undone (the tombstone is back as it was), so a refused call changes nothing
    /// (issue 15: found by tests/tests/hostile_input.rs). `f` must refuse before it writes.
    pub(super) fn with_restored<T, E>(&mut self, user: &Principal, now_ns: u64, f: impl FnOnce(&mut Self) -> Result<T, E>) -> Result<T, E> {
        // The tombstone map first: it is small or empty, so a learner with a record pays one
        // cheap look-up here, not a second walk of the users map (`f` reads it anyway).
        let tombstone = match self.tombstones.get(user) {
            Some(t) if !(self.is_disabled() || self.is_frozen() || self.users.contains_key(user)) => Some(t),
            _ => None,
        };
        if tombstone.is_some() {
            self.restore_archived(user, now_ns);
        }
        let result = f(self);
        if let (Err(_), Some(tombstone)) = (&result, tombstone) {
            self.users.remove(user);
            let staked_e8s = tombstone.staked_e8s;
            self.tombstones.insert(*user, tombstone);
            self.update_cleanup(|c| {
                c.restored = c.restored.saturating_sub(1);
                c.tombstone_staked_e8s = c.tombstone_staked_e8s.saturating_add(staked_e8s);
            });
        }
        result
    }

    /// `import_users`: an archived or self-deleted learner of another shard stays one here
    /// (the caller checked the principal is on neither map).
    pub(super) fn add_imported_tombstone(&mut self, user: Principal, tombstone: Tombstone) {
        let staked_e8s = tombstone.staked_e8s;
        self.tombstones.insert(user, tombstone);
        self.update_cleanup(|c| c.tombstone_staked_e8s = c.tombstone_staked_e8s.saturating_add(staked_e8s));
    }

    /// `import_users`' last page: the source's cumulative archiving figures continue here (the
    /// tombstones and their balances came one by one with the pages).
    pub(super) fn add_imported_cleanup_counts(&mut self, totals: &platform_types::ExportedCleanupTotals) {
        self.update_cleanup(|c| {
            c.archived = c.archived.saturating_add(totals.archived);
            c.deleted_by_owner = c.deleted_by_owner.saturating_add(totals.deleted_by_owner);
            c.restored = c.restored.saturating_add(totals.restored);
            c.forfeited_e8s = c.forfeited_e8s.saturating_add(totals.forfeited_e8s);
        });
    }

    fn pending_count_of(&self, user: &Principal) -> u64 {
        self.pending_withdrawals.keys_range(WithdrawalKey::first_of(user)..=WithdrawalKey::last_of(user)).count() as u64
    }

    /// Archives `user` if nothing they are owed or have under way would be lost: no pending
    /// withdrawal, no owed reward, `busy` (a submission in flight) false.
    fn archive_if_idle(&mut self, user: Principal, rec: &UserRecord, now_ns: u64, busy: bool) -> bool {
        if busy || self.pending_count_of(&user) > 0 || self.owed_of(&user) > 0 {
            return false;
        }
        let tombstone = Tombstone {
            staked_e8s: rec.staked_e8s,
            completed_units: rec.completed_units,
            registered_at_ns: rec.registered_at_ns,
            archived_at_ns: now_ns,
            deleted: false,
            completed: rec.completed.clone(),
        };
        self.users.remove(&user);
        self.tombstones.insert(user, tombstone);
        self.update_cleanup(|c| {
            c.archived += 1;
            c.tombstone_staked_e8s = c.tombstone_staked_e8s.saturating_add(rec.staked_e8s);
        });
        true
    }

    /// `delete_my_profile` (see the module documentation for the rules). `busy`: a submission
    /// of `user` is in flight.
    pub fn delete_profile(
        &mut self,
        user: Principal,
        args: &DeleteProfileArgs,
        now_ns: u64,
        busy: bool,
    ) -> Result<ProfileDeleted, DeleteProfileError> {
        let (staked_e8s, completed_units, completed) = match (self.users.get(&user), self.tombstones.get(&user)) {
            (Some(rec), _) => (rec.staked_e8s, rec.completed_units, rec.completed),
            (None, Some(t)) if !t.deleted => (t.staked_e8s, t.completed_units, t.completed),
            _ => return Err(DeleteProfileError::NotRegistered),
        };
        if self.is_disabled() {
            return Err(DeleteProfileError::ShardDisabled);
        }
        if self.is_frozen() {
            return Err(DeleteProfileError::ShardMigrating);
        }
        if busy {
            return Err(DeleteProfileError::SubmissionInProgress);
        }
        let count = self.pending_count_of(&user);
        if count > 0 {
            return Err(DeleteProfileError::WithdrawalsPending { count });
        }
        let owed = self.owed_of(&user);
        if owed > 0 {
            return Err(DeleteProfileError::RewardsOwed { amount_e8s: owed });
        }
        if staked_e8s > 0 && !args.forfeit_staked_balance {
            return Err(DeleteProfileError::StakedBalance { staked_e8s });
        }
        // Every check passed: nothing below can fail.
        self.users.remove(&user);
        if let Some(t) = self.tombstones.remove(&user) {
            self.update_cleanup(|c| c.tombstone_staked_e8s = c.tombstone_staked_e8s.saturating_sub(t.staked_e8s));
        }
        let history: Vec<WithdrawalKey> =
            self.withdrawals.keys_range(WithdrawalKey::first_of(&user)..=WithdrawalKey::last_of(&user)).collect();
        for key in &history {
            self.withdrawals.remove(key);
        }
        if staked_e8s > 0 {
            // Back to the free allowance: the invariant (received = available + reserved +
            // staked + pending + withdrawn) holds, and nothing is minted for it.
            self.update_counters(|c| {
                c.total_staked_e8s = super::sub(c.total_staked_e8s, staked_e8s, "total staked");
                c.allowance_available_e8s = super::add(c.allowance_available_e8s, staked_e8s, "allowance available");
            });
        }
        self.tombstones.insert(
            user,
            Tombstone { staked_e8s: 0, completed_units, registered_at_ns: now_ns, archived_at_ns: now_ns, deleted: true, completed },
        );
        self.update_cleanup(|c| {
            c.deleted_by_owner += 1;
            c.forfeited_e8s = c.forfeited_e8s.saturating_add(staked_e8s);
        });
        Ok(ProfileDeleted { forfeited_e8s: staked_e8s, withdrawals_removed: history.len() as u64, completed_units_kept: completed_units })
    }

    /// One cleanup run at `now_ns`: journal compaction, the settled mark, then archiving (if
    /// configured). `busy(user)`: a submission of that user is in flight. Returns whether the
    /// run finished every pass it started (false: it stopped at its bound and resumes).
    pub fn run_cleanup(
        &mut self,
        now_ns: u64,
        busy: &dyn Fn(&Principal) -> bool,
        may_continue: &mut dyn FnMut() -> bool,
    ) -> bool {
        if self.is_frozen() || self.is_disabled() {
            // A migration copies this shard, or governance took it out: leave it as it is.
            return true;
        }
        let retention_ns = self.config().settled_retention().saturating_mul(NANOS_PER_SEC);
        let archive_ns = self.config().inactive_archive().saturating_mul(NANOS_PER_SEC);
        // The passes run in order; a run cut short resumes in the pass it stopped in, so every
        // pass gets its turn however long the others are.
        let mut phase = self.cleanup.get().0.phase.unwrap_or(0);
        let complete = loop {
            let step = match phase {
                0 => self.compact_journal(now_ns, retention_ns, may_continue),
                1 => self.scan_pending(may_continue),
                _ if archive_ns > 0 => self.archive_inactive(now_ns, archive_ns, busy, may_continue),
                _ => Step::Done,
            };
            match step {
                Step::OutOfBudget => break false,
                Step::Done if phase >= 2 => {
                    phase = 0;
                    break true;
                }
                Step::Done => phase += 1,
            }
        };
        self.update_cleanup(|c| {
            c.phase = Some(phase);
            c.last_run_ns = now_ns;
            c.last_run_incomplete = !complete;
        });
        complete
    }

    fn compact_journal(&mut self, now_ns: u64, retention_ns: u64, may_continue: &mut dyn FnMut() -> bool) -> Step {
        let mut cursor = self.cleanup.get().0.journal_cursor.clone().map(|b| WithdrawalKey::from_bytes(Cow::Owned(b)));
        let mut removed = (0u64, 0u64, 0u64, 0u64);
        let step = loop {
            if !may_continue() {
                break Step::OutOfBudget;
            }
            let next = match &cursor {
                None => self.withdrawals.iter().next(),
                Some(k) => self.withdrawals.range((RangeBound::Excluded(k.clone()), RangeBound::Unbounded)).next(),
            }
            .map(|e| (e.key().clone(), e.value().decode()));
            let Some((key, rec)) = next else {
                cursor = None;
                break Step::Done;
            };
            if rec.updated_at_ns.saturating_add(retention_ns) <= now_ns {
                match rec.state {
                    WithdrawalState::Completed { .. } => {
                        removed.0 += 1;
                        removed.1 = removed.1.saturating_add(rec.amount_e8s);
                        self.withdrawals.remove(&key);
                    }
                    WithdrawalState::Failed { .. } => {
                        removed.2 += 1;
                        removed.3 = removed.3.saturating_add(rec.amount_e8s);
                        self.withdrawals.remove(&key);
                    }
                    WithdrawalState::Pending { .. } => {}
                }
            }
            cursor = Some(key);
        };
        self.update_cleanup(|c| {
            c.journal_cursor = cursor.map(|k| k.into_bytes());
            c.compacted_completed += removed.0;
            c.compacted_completed_e8s = c.compacted_completed_e8s.saturating_add(removed.1);
            c.compacted_failed += removed.2;
            c.compacted_failed_e8s = c.compacted_failed_e8s.saturating_add(removed.3);
        });
        step
    }

    /// The lowest pending withdrawal id of this shard's own id space, over one pass of the
    /// pending set (ids made during the pass are above its start, so the mark is never too
    /// high; one settled during the pass only makes it lower, which is safe).
    fn scan_pending(&mut self, may_continue: &mut dyn FnMut() -> bool) -> Step {
        let state = self.cleanup.get().0.clone();
        let next_id = self.withdrawal_counters().next_id.max(1);
        let mut min = state.pending_pass_min.unwrap_or(next_id);
        let mut cursor = state.pending_cursor.map(|b| WithdrawalKey::from_bytes(Cow::Owned(b)));
        let step = loop {
            if !may_continue() {
                break Step::OutOfBudget;
            }
            let next = match &cursor {
                None => self.pending_withdrawals.keys().next(),
                Some(k) => self.pending_withdrawals.keys_range((RangeBound::Excluded(k.clone()), RangeBound::Unbounded)).next(),
            };
            let Some(key) = next else { break Step::Done };
            let own = self.withdrawals.get(&key).is_none_or(|r| r.decode().origin_shard.is_none());
            if own {
                min = min.min(key.id());
            }
            cursor = Some(key);
        };
        self.update_cleanup(|c| match step {
            Step::Done => {
                c.settled_below_withdrawal_id = Some(min);
                c.pending_cursor = None;
                c.pending_pass_min = None;
            }
            Step::OutOfBudget => {
                c.pending_cursor = cursor.map(|k| k.into_bytes());
                c.pending_pass_min = Some(min);
            }
        });
        step
    }

    fn archive_inactive(
        &mut self,
        now_ns: u64,
        archive_ns: u64,
        busy: &dyn Fn(&Principal) -> bool,
        may_continue: &mut dyn FnMut() -> bool,
    ) -> Step {
        let mut cursor = self.cleanup.get().0.users_cursor;
        let step = loop {
            if !may_continue() {
                break Step::OutOfBudget;
            }
            let next = match &cursor {
                None => self.users.iter().next(),
                Some(p) => self.users.range((RangeBound::Excluded(*p), RangeBound::Unbounded)).next(),
            }
            .map(|e| (*e.key(), e.value()));
            let Some((user, rec)) = next else {
                cursor = None;
                break Step::Done;
            };
            if rec.last_active_ns.saturating_add(archive_ns) <= now_ns {
                self.archive_if_idle(user, &rec, now_ns, busy(&user));
            }
            cursor = Some(user);
        };
        self.update_cleanup(|c| c.users_cursor = cursor);
        step
    }

    pub fn cleanup_status(&self) -> ShardCleanupStatus {
        let c = &self.cleanup.get().0;
        ShardCleanupStatus {
            stable_memory_bytes: c.stable_memory_bytes,
            memory_budget_bytes: self.config().shard_memory_budget(),
            compacted_completed: c.compacted_completed,
            compacted_completed_e8s: c.compacted_completed_e8s,
            compacted_failed: c.compacted_failed,
            compacted_failed_e8s: c.compacted_failed_e8s,
            archived: c.archived,
            deleted_by_owner: c.deleted_by_owner,
            restored: c.restored,
            tombstones: self.tombstones.len(),
            tombstone_staked_e8s: c.tombstone_staked_e8s,
            forfeited_e8s: c.forfeited_e8s,
            settled_below_withdrawal_id: c.settled_below_withdrawal_id.unwrap_or(0),
            last_run_ns: c.last_run_ns,
            last_run_incomplete: c.last_run_incomplete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MintAnswer, ShardState};
    use super::*;
    use ic_stable_structures::memory_manager::MemoryManager;
    use ic_stable_structures::DefaultMemoryImpl;
    use platform_types::{
        AllowanceGrant, Gender, MintError, PlatformConfig, ProfileInput, ShardError, ShardInitArgs, VerifyResult,
        NANOS_PER_DAY,
    };

    const T0: u64 = 20_000 * NANOS_PER_DAY;
    const REWARD: u64 = 100;
    const DAY: u64 = NANOS_PER_DAY;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    fn config() -> PlatformConfig {
        PlatformConfig {
            reward_per_quiz_e8s: REWARD,
            allowance_chunk_e8s: 100 * REWARD,
            daily_attempt_limit: 100,
            min_withdrawal_e8s: Some(1),
            withdrawal_cooldown_secs: Some(0),
            settled_retention_secs: Some(7 * 86_400),
            inactive_archive_secs: Some(180 * 86_400),
            ..PlatformConfig::default()
        }
    }

    fn fresh() -> ShardState<DefaultMemoryImpl> {
        let mut s = ShardState::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        s.set_init_args(ShardInitArgs {
            hub_id: p(200),
            learning_content_id: p(201),
            config: config(),
            config_version: None,
            module_hash: None,
        });
        s
    }

    fn grant(s: &mut ShardState<DefaultMemoryImpl>, amount: u64) {
        let claimed = s.claim_report(true);
        let total = s.counters().allowance_received_e8s + amount;
        s.report_succeeded(&claimed, Some(&AllowanceGrant { granted_e8s: amount, shard_granted_total_e8s: total, withheld: None }), T0);
    }

    /// A learner with `passes` rewards staked, last active at `T0`.
    fn learner(s: &mut ShardState<DefaultMemoryImpl>, user: Principal, passes: u32) {
        s.register_user(user, T0).unwrap();
        for i in 0..passes {
            if s.counters().allowance_available_e8s < REWARD {
                grant(s, 100 * REWARD);
            }
            let t = s.begin_submission(user, &format!("unit-{i}"), T0, false).unwrap();
            s.finish_submission(t, &VerifyResult { correct: 1, total: 1, passed: true }, T0);
        }
    }

    fn never_busy(_: &Principal) -> bool {
        false
    }

    fn run(s: &mut ShardState<DefaultMemoryImpl>, now: u64) -> bool {
        s.run_cleanup(now, &never_busy, &mut || true)
    }

    /// received = available + reserved + staked + pending + withdrawn, and the staked total is
    /// what the records and tombstones hold.
    fn check_books(s: &ShardState<DefaultMemoryImpl>) {
        let c = s.counters();
        let w = s.withdrawal_counters();
        assert_eq!(
            c.allowance_received_e8s,
            c.allowance_available_e8s + c.allowance_reserved_e8s + c.total_staked_e8s + w.pending_e8s + w.withdrawn_e8s
        );
        let in_records: u64 = s.users.iter().map(|e| e.value().staked_e8s).sum();
        let in_tombstones: u64 = s.tombstones.iter().map(|e| e.value().staked_e8s).sum();
        assert_eq!(in_records + in_tombstones, c.total_staked_e8s);
        assert_eq!(in_tombstones, s.cleanup_state().tombstone_staked_e8s);
    }

    /// The figure in docs/architecture.md: stable bytes per archived learner.
    #[test]
    fn a_tombstone_takes_about_100_bytes_of_stable_memory() {
        use ic_stable_structures::{Memory, StableBTreeMap};
        const N: u32 = 10_000;
        let mem = DefaultMemoryImpl::default();
        let mut map: StableBTreeMap<Principal, Tombstone, _> = StableBTreeMap::init(mem.clone());
        for i in 0..N {
            let mut b = [2u8; 29];
            b[..8].copy_from_slice(&(i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
            let mut completed = CompletedUnits::default();
            for k in 0..3 {
                completed.insert((i * 7 + k * 41) % 200, 20_424 + k as u16);
            }
            let t = Tombstone { staked_e8s: i as u64, completed_units: 3, registered_at_ns: 1, archived_at_ns: 2, deleted: false, completed };
            map.insert(Principal::from_slice(&b), t);
        }
        let per_user = mem.size() * 65_536 / N as u64;
        eprintln!("tombstones: {per_user} bytes per archived learner");
        assert!((60..=160).contains(&per_user), "{per_user} bytes per archived learner");
    }

    #[test]
    fn tombstones_are_33_fixed_bytes_and_their_completed_units_and_round_trip() {
        let t = Tombstone {
            staked_e8s: u64::MAX,
            completed_units: 7,
            registered_at_ns: 3,
            archived_at_ns: 9,
            deleted: true,
            completed: CompletedUnits::default(),
        };
        assert_eq!(t.to_bytes().len(), Tombstone::FIXED_SIZE + 1, "the fixed part and an empty count");
        assert_eq!(Tombstone::from_bytes(t.to_bytes()), t);
        let mut t = Tombstone { deleted: false, ..t };
        t.completed.insert(u32::MAX, u16::MAX);
        t.completed.insert(5, 20_424);
        assert_eq!(Tombstone::from_bytes(t.to_bytes()), t);
    }

    #[test]
    fn compaction_keeps_totals_pending_entries_and_the_newest_history() {
        let mut s = fresh();
        learner(&mut s, p(1), 10);
        learner(&mut s, p(2), 10);
        let done = s.begin_unstake(p(1), REWARD, T0).unwrap();
        let failed = s.begin_unstake(p(1), REWARD, T0).unwrap();
        let pending = s.begin_unstake(p(2), REWARD, T0).unwrap();
        s.settle_withdrawal(&done, MintAnswer::Minted(5), T0);
        s.settle_withdrawal(&failed, MintAnswer::Refused(MintError::LedgerRejected { reason: "x".into() }), T0);
        let recent = s.begin_unstake(p(2), REWARD, T0 + 6 * DAY).unwrap();
        s.settle_withdrawal(&recent, MintAnswer::Minted(6), T0 + 6 * DAY);
        let stats_before = s.stats();
        check_books(&s);

        // Six days on nothing is old enough; at seven days the two old settled entries go.
        assert!(run(&mut s, T0 + 6 * DAY));
        assert_eq!(s.withdrawals.len(), 4);
        assert!(run(&mut s, T0 + 7 * DAY));
        assert_eq!(s.withdrawal(&done), None);
        assert_eq!(s.withdrawal(&failed), None);
        assert!(s.withdrawal(&pending).is_some(), "a pending withdrawal is never compacted");
        assert!(s.withdrawal(&recent).is_some(), "settled a day ago: kept");
        let c = s.cleanup_state();
        assert_eq!(
            (c.compacted_completed, c.compacted_completed_e8s, c.compacted_failed, c.compacted_failed_e8s),
            (1, REWARD, 1, REWARD)
        );
        let stats = s.stats();
        assert_eq!(stats, stats_before, "totals do not move");
        check_books(&s);
        // Even years later the pending one stays, and a retry still finds it.
        assert!(run(&mut s, T0 + 3_000 * DAY));
        assert!(s.mint_request(&pending).is_some());
        assert_eq!(s.withdrawals_of(&p(2), 0, 10).unwrap().len(), 1);
    }

    #[test]
    fn the_settled_mark_is_below_every_own_pending_withdrawal() {
        let mut s = fresh();
        learner(&mut s, p(1), 10);
        learner(&mut s, p(2), 10);
        assert!(run(&mut s, T0));
        assert_eq!(s.cleanup_state().settled_below_withdrawal_id, Some(1), "no withdrawal yet: the next id");
        let a = s.begin_unstake(p(2), REWARD, T0).unwrap(); // id 1
        let b = s.begin_unstake(p(1), REWARD, T0).unwrap(); // id 2
        let c = s.begin_unstake(p(1), REWARD, T0).unwrap(); // id 3
        run(&mut s, T0);
        assert_eq!(s.cleanup_state().settled_below_withdrawal_id, Some(1));
        s.settle_withdrawal(&a, MintAnswer::Minted(1), T0);
        s.settle_withdrawal(&c, MintAnswer::Minted(2), T0);
        run(&mut s, T0);
        assert_eq!(s.cleanup_state().settled_below_withdrawal_id, Some(b.id()));
        s.settle_withdrawal(&b, MintAnswer::Minted(3), T0);
        run(&mut s, T0);
        assert_eq!(s.cleanup_state().settled_below_withdrawal_id, Some(4));
        // The report carries it (and the measured memory), once.
        s.note_stable_memory(123 * 65_536);
        assert!(s.has_unreported_changes());
        let claimed = s.claim_report(false);
        assert_eq!(
            (claimed.report.settled_below_withdrawal_id, claimed.report.stable_memory_bytes),
            (Some(4), Some(123 * 65_536))
        );
        s.report_succeeded(&claimed, None, T0);
        assert!(!s.has_unreported_changes());
        s.note_stable_memory(124 * 65_536);
        assert!(s.has_unreported_changes(), "memory growth is reported");
    }

    #[test]
    fn a_bounded_run_resumes_and_ends_like_an_unbounded_one() {
        let mut bounded = fresh();
        let mut whole = fresh();
        for s in [&mut bounded, &mut whole] {
            for n in 1..=6 {
                learner(s, p(n), 3);
                for _ in 0..2 {
                    let k = s.begin_unstake(p(n), REWARD, T0).unwrap();
                    s.settle_withdrawal(&k, MintAnswer::Minted(k.id()), T0);
                }
            }
            s.begin_unstake(p(3), REWARD, T0).unwrap();
        }
        let now = T0 + 200 * DAY;
        assert!(run(&mut whole, now));
        let mut runs = 0;
        loop {
            runs += 1;
            let mut budget = 4;
            let complete = bounded.run_cleanup(now, &never_busy, &mut || {
                budget -= 1;
                budget >= 0
            });
            assert_eq!(bounded.cleanup_state().last_run_incomplete, !complete);
            if complete {
                break;
            }
            assert!(runs < 50);
        }
        assert!(runs > 3, "{runs}");
        let (a, b) = (bounded.cleanup_state(), whole.cleanup_state());
        assert_eq!(
            (a.compacted_completed, a.archived, a.settled_below_withdrawal_id, bounded.withdrawals.len(), bounded.users.len()),
            (b.compacted_completed, b.archived, b.settled_below_withdrawal_id, whole.withdrawals.len(), whole.users.len())
        );
        assert_eq!(a.compacted_completed, 12);
        check_books(&bounded);
    }

    #[test]
    fn inactive_learners_are_archived_keeping_their_balance_and_restored_when_they_return() {
        let mut s = fresh();
        learner(&mut s, p(1), 3); // idle
        learner(&mut s, p(2), 3); // a withdrawal pending
        learner(&mut s, p(3), 3); // a submission in flight
        learner(&mut s, p(4), 3); // active recently
        let profile = ProfileInput {
            email: "ada@example.org".into(),
            name: "Ada".into(),
            education: "Maths".into(),
            gender: Gender::Female,
        };
        s.update_profile(p(1), &profile, T0).unwrap();
        s.begin_unstake(p(2), REWARD, T0).unwrap();
        let later = T0 + 180 * DAY;
        s.update_profile(p(4), &profile, later - DAY).unwrap();
        let busy = |u: &Principal| *u == p(3);
        // Off by default, and not before the configured inactivity.
        assert!(s.run_cleanup(later - 1, &busy, &mut || true));
        assert_eq!(s.cleanup_state().archived, 0);
        let users_before = s.user_count();
        assert!(s.run_cleanup(later, &busy, &mut || true));
        assert!(s.is_archived(&p(1)));
        assert!(!s.is_archived(&p(2)) && !s.is_archived(&p(3)) && !s.is_archived(&p(4)));
        assert_eq!(s.user_count(), users_before, "an archived learner stays a learner of this shard");
        assert_eq!(s.cleanup_state().tombstone_staked_e8s, 3 * REWARD);
        check_books(&s);
        // The profile is gone; the balance and completed units are visible and kept.
        let v = s.view(&p(1), later).unwrap();
        assert_eq!((v.profile, v.staked_e8s, v.completed_units), (None, 3 * REWARD, 3));
        assert_eq!(s.progress(&p(1), 0, 10).unwrap().len(), 3);
        assert!(s.is_completed(&p(1), "unit-0"));
        // Coming back: any update restores the record with the balance.
        let key = s.begin_unstake(p(1), REWARD, later + DAY).unwrap();
        assert!(!s.is_archived(&p(1)));
        assert_eq!(s.view(&p(1), later + DAY).unwrap().staked_e8s, 2 * REWARD);
        assert!(s.mint_request(&key).is_some());
        assert_eq!((s.cleanup_state().restored, s.cleanup_state().tombstone_staked_e8s), (1, 0));
        assert_eq!(s.begin_submission(p(1), "unit-0", later + DAY, false), Err(super::super::Blocked::Rejected(ShardError::AlreadyCompleted { unit_id: "unit-0".into() })));
        check_books(&s);
    }

    #[test]
    fn registering_an_archived_learner_again_keeps_them_in_one_map() {
        let mut s = fresh();
        learner(&mut s, p(1), 2);
        run(&mut s, T0 + 181 * DAY);
        assert!(s.is_archived(&p(1)));
        // A repeated registration (the hub asks again after an unclear answer) is answered Ok
        // and creates no record next to the tombstone.
        assert_eq!(s.register_user(p(1), T0 + 182 * DAY), Ok(()));
        assert!(s.is_archived(&p(1)) && !s.users.contains_key(&p(1)));
        assert_eq!(s.user_count(), 1);
        check_books(&s);
        assert_eq!(s.view(&p(1), T0 + 182 * DAY).unwrap().staked_e8s, 2 * REWARD);
    }

    #[test]
    fn archived_learners_restore_through_a_quiz_or_a_profile_too_but_not_on_a_disabled_shard() {
        let mut s = fresh();
        learner(&mut s, p(1), 1);
        learner(&mut s, p(2), 1);
        let later = T0 + 181 * DAY;
        run(&mut s, later);
        assert!(s.is_archived(&p(1)) && s.is_archived(&p(2)));
        s.set_disabled(true);
        assert!(!s.restore_if_archived(&p(1), later));
        s.set_disabled(false);
        let t = s.begin_submission(p(1), "unit-9", later, false).unwrap();
        s.finish_submission(t, &VerifyResult { correct: 1, total: 1, passed: true }, later);
        assert_eq!(s.view(&p(1), later).unwrap().staked_e8s, 2 * REWARD);
        let profile = ProfileInput { email: "b@example.org".into(), name: "B".into(), education: "E".into(), gender: Gender::Male };
        assert_eq!(s.update_profile(p(2), &profile, later).unwrap().staked_e8s, REWARD);
        check_books(&s);
    }

    #[test]
    fn self_deletion_is_refused_while_anything_is_under_way_and_forfeits_only_when_confirmed() {
        let mut s = fresh();
        learner(&mut s, p(1), 5);
        let keep = DeleteProfileArgs::default();
        let forfeit = DeleteProfileArgs { forfeit_staked_balance: true };
        assert_eq!(s.delete_profile(p(9), &keep, T0, false), Err(DeleteProfileError::NotRegistered));
        assert_eq!(s.delete_profile(p(1), &keep, T0, true), Err(DeleteProfileError::SubmissionInProgress));
        let k = s.begin_unstake(p(1), 2 * REWARD, T0).unwrap();
        assert_eq!(s.delete_profile(p(1), &forfeit, T0, false), Err(DeleteProfileError::WithdrawalsPending { count: 1 }));
        s.settle_withdrawal(&k, MintAnswer::Minted(1), T0);
        assert_eq!(
            s.delete_profile(p(1), &keep, T0, false),
            Err(DeleteProfileError::StakedBalance { staked_e8s: 3 * REWARD }),
            "a balance is never given up without confirmation"
        );
        s.set_disabled(true);
        assert_eq!(s.delete_profile(p(1), &forfeit, T0, false), Err(DeleteProfileError::ShardDisabled));
        s.set_disabled(false);
        assert_eq!(s.view(&p(1), T0).unwrap().staked_e8s, 3 * REWARD, "refusals change nothing");
        let available = s.counters().allowance_available_e8s;
        let done = s.delete_profile(p(1), &forfeit, T0, false).unwrap();
        assert_eq!(done, ProfileDeleted { forfeited_e8s: 3 * REWARD, withdrawals_removed: 1, completed_units_kept: 5 });
        assert_eq!(s.counters().allowance_available_e8s, available + 3 * REWARD, "back to the allowance, not minted");
        assert_eq!(s.stats().withdrawn_e8s, 2 * REWARD, "the minted withdrawal stays counted");
        check_books(&s);
        assert_eq!(s.view(&p(1), T0).map(|v| (v.profile, v.staked_e8s)), Ok((None, 0)));
        assert_eq!(s.withdrawals_of(&p(1), 0, 10), Ok(vec![]));
        assert_eq!(s.delete_profile(p(1), &forfeit, T0, false), Err(DeleteProfileError::NotRegistered), "deleted once");
        // The completed units stay, so coming back does not pay them again.
        assert!(s.is_completed(&p(1), "unit-0"));
        assert!(matches!(
            s.begin_submission(p(1), "unit-0", T0 + DAY, false),
            Err(super::super::Blocked::Rejected(ShardError::AlreadyCompleted { .. }))
        ));
        assert_eq!(s.view(&p(1), T0 + DAY).unwrap().staked_e8s, 0, "a fresh account");
    }

    #[test]
    fn self_deletion_without_a_balance_needs_no_confirmation_and_owed_rewards_block_it() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        // A pass with no allowance at all: its reward is owed.
        let t = s.begin_submission(p(1), "a", T0, true).unwrap();
        s.finish_submission(t, &VerifyResult { correct: 1, total: 1, passed: true }, T0);
        assert_eq!(
            s.delete_profile(p(1), &DeleteProfileArgs::default(), T0, false),
            Err(DeleteProfileError::RewardsOwed { amount_e8s: REWARD })
        );
        s.register_user(p(2), T0).unwrap();
        assert_eq!(
            s.delete_profile(p(2), &DeleteProfileArgs::default(), T0, false),
            Ok(ProfileDeleted { forfeited_e8s: 0, withdrawals_removed: 0, completed_units_kept: 0 })
        );
    }

    #[test]
    fn cleanup_state_survives_reopening_the_same_stable_memory() {
        let memory = DefaultMemoryImpl::default();
        {
            let mut s = ShardState::open(&MemoryManager::init(memory.clone()));
            s.set_init_args(ShardInitArgs { hub_id: p(200), learning_content_id: p(201), config: config(), config_version: None, module_hash: None });
            learner(&mut s, p(1), 2);
            run(&mut s, T0 + 200 * DAY);
            assert!(s.is_archived(&p(1)));
        }
        let s = ShardState::open(&MemoryManager::init(memory));
        assert!(s.is_archived(&p(1)));
        assert_eq!((s.cleanup_state().archived, s.view(&p(1), T0).unwrap().staked_e8s), (1, 2 * REWARD));
    }
}
