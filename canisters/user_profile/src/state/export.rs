//! Moving and archiving users (issue 13): pages of everything the shard keeps about its users
//! (`export_users`), their import into another shard (`import_users`), and the migration
//! freeze. Plain Rust over the shard's stable maps, unit-tested natively.
//!
//! Every stable map a user has an entry in is exported: `users` (profile, balance, daily
//! counters) or `tombstones` (an archived or self-deleted learner, see `cleanup`),
//! `completed`, `owed_by_user` + `owed_queue` (rewards owed), `withdrawals` (with
//! `pending_withdrawals` and `retry_queue` rebuilt from it on import). The shard-wide counters
//! that move with the users come on the last page.
//!
//! Tombstones travel in the same pages as live learners, in one principal order (a learner is
//! in one of the two maps, never both), marked by `ExportedUser::tombstone`: one cursor, one
//! checksum, and the hub's count of users and staked e8s covers archived balances as it
//! covers the others. The importer re-creates them as tombstones, so an archived learner comes
//! back on the new shard exactly as they would have on the old one.

use super::cleanup::Tombstone;
use super::ShardState;
use crate::journal::{RetryKey, StoredWithdrawal, WithdrawalKey, WithdrawalRecord};
use crate::model::{CompletedUnits, OwedReward, UserRecord, MAX_UNIT_ID_LEN};
use candid::{CandidType, Principal};
use ic_stable_structures::Memory;
use platform_types::{
    check_page, page_sha256, ExportedCleanupTotals, ExportedCompletion, ExportedOwedReward, ExportedShardTotals,
    ExportedTombstone, ExportedUser, ExportedWithdrawal, ImportReceipt, ImportUsersArgs, ShardError, StableCandid, UserExportPage, WithdrawalState,
    MAX_EXPORT_PAGE_BYTES, MAX_EXPORT_PAGE_USERS,
};
use platform_types::checked_add_e8s as add;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Bound;

/// The shard's part in a migration (Candid in stable memory: new fields must be `Option`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationFlags {
    /// Frozen by the hub for a migration: state-changing calls answer `ShardMigrating`, no
    /// report or withdrawal retry is sent.
    pub frozen: bool,
    pub frozen_at_ns: Option<u64>,
    pub pages_imported: u64,
    pub users_imported: u64,
}

/// Bytes a user takes in a page, roughly (its Candid encoding plus margin), to keep pages
/// under the reply limit.
fn estimated_bytes(user: &ExportedUser) -> usize {
    let profile = user.profile.as_ref().map_or(0, |p| p.email.len() + p.name.len() + p.education.len() + 16);
    200 + profile
        + user.completed.iter().map(|c| c.unit_id.len() + 16).sum::<usize>()
        + user.rewards_owed.iter().map(|o| o.unit_id.len() + 40).sum::<usize>()
        + user.withdrawals.iter().map(|w| 96 + last_error_len(&w.state)).sum::<usize>()
}

fn last_error_len(state: &WithdrawalState) -> usize {
    match state {
        WithdrawalState::Pending { last_error } => last_error.as_ref().map_or(0, String::len),
        WithdrawalState::Failed { reason } => reason.len(),
        WithdrawalState::Completed { .. } => 0,
    }
}

impl<M: Memory> ShardState<M> {
    pub fn migration_flags(&self) -> &MigrationFlags {
        &self.migration.get().0
    }

    pub fn is_frozen(&self) -> bool {
        self.migration_flags().frozen
    }

    /// The hub freezes (or, rolling back, unfreezes) the shard for a migration.
    pub fn set_frozen(&mut self, frozen: bool, now_ns: u64) {
        let mut flags = self.migration_flags().clone();
        if flags.frozen != frozen {
            flags.frozen = frozen;
            flags.frozen_at_ns = frozen.then_some(now_ns);
            self.migration.set(StableCandid(flags));
        }
    }

    /// Everything the shard keeps about `user` except owed rewards (see [`Self::export_page`]).
    fn export_user_without_owed(&self, user: Principal, rec: &UserRecord) -> ExportedUser {
        // In unit-id order, times at the start of their UTC day (what the shard keeps).
        let completed = self
            .completions_of(&rec.completed)
            .into_iter()
            .map(|(unit_id, completed_at_ns)| ExportedCompletion { unit_id, completed_at_ns })
            .collect();
        let withdrawals = self
            .withdrawals
            .range(WithdrawalKey::first_of(&user)..=WithdrawalKey::last_of(&user))
            .map(|e| {
                let (key, rec) = (e.key().clone(), e.value().decode());
                ExportedWithdrawal {
                    id: key.id(),
                    origin_shard: rec.origin_shard,
                    amount_e8s: rec.amount_e8s,
                    created_at_ns: rec.created_at_ns,
                    state: rec.state,
                    attempts: rec.attempts,
                    updated_at_ns: rec.updated_at_ns,
                    next_retry_ns: rec.next_retry_ns,
                }
            })
            .collect();
        ExportedUser {
            principal: user,
            profile: rec.profile.clone(),
            staked_e8s: rec.staked_e8s,
            day: rec.day,
            attempts_today: rec.attempts_today,
            earned_today_e8s: rec.earned_today_e8s,
            completed_units: rec.completed_units,
            registered_at_ns: rec.registered_at_ns,
            last_active_ns: rec.last_active_ns,
            completed,
            rewards_owed: Vec::new(),
            withdrawals,
            tombstone: None,
        }
    }

    /// An archived or self-deleted learner: the record they see while archived, no daily
    /// counters, and the tombstone mark.
    fn export_tombstone(&self, user: Principal, tombstone: &Tombstone) -> ExportedUser {
        ExportedUser {
            day: 0,
            attempts_today: 0,
            earned_today_e8s: 0,
            tombstone: Some(ExportedTombstone { archived_at_ns: tombstone.archived_at_ns, deleted: tombstone.deleted }),
            ..self.export_user_without_owed(user, &tombstone.record())
        }
    }

    /// One user, as a page would hold them (None: not on this shard).
    #[cfg(test)]
    pub fn export_user(&self, user: &Principal) -> Option<ExportedUser> {
        let mut exported = match self.users.get(user) {
            Some(rec) => self.export_user_without_owed(*user, &rec),
            None => self.export_tombstone(*user, &self.tombstones.get(user)?),
        };
        exported.rewards_owed = self.owed_entries(|u| u == user).remove(user).unwrap_or_default();
        Some(exported)
    }

    /// Owed rewards of the users `wanted` selects, in payment order (one pass over the queue,
    /// which only holds rewards waiting for allowance).
    fn owed_entries(&self, wanted: impl Fn(&Principal) -> bool) -> BTreeMap<Principal, Vec<ExportedOwedReward>> {
        let mut out: BTreeMap<Principal, Vec<ExportedOwedReward>> = BTreeMap::new();
        if self.owed_by_user.is_empty() {
            return out;
        }
        for entry in self.owed_queue.iter() {
            let (seq, owed) = (*entry.key(), entry.value().0);
            if wanted(&owed.user) {
                out.entry(owed.user).or_default().push(ExportedOwedReward {
                    seq,
                    amount_e8s: owed.amount_e8s,
                    unit_id: owed.unit_id,
                    passed_at_ns: owed.passed_at_ns,
                });
            }
        }
        out
    }

    /// The shard-wide figures (on an export's last page).
    pub fn shard_totals(&self, calls_in_flight: u64) -> ExportedShardTotals {
        let c = self.counters();
        let w = self.withdrawal_counters();
        ExportedShardTotals {
            users: self.user_count(),
            total_staked_e8s: c.total_staked_e8s,
            allowance_available_e8s: c.allowance_available_e8s,
            allowance_received_e8s: c.allowance_received_e8s,
            quizzes_submitted: c.quizzes_submitted,
            quizzes_passed: c.quizzes_passed,
            passed_reported: c.passed_reported,
            hard_cap_reached: c.hard_cap_reached,
            pending_withdrawals_e8s: w.pending_e8s,
            pending_withdrawals: w.pending_count,
            withdrawn_e8s: w.withdrawn_e8s,
            rewards_owed_e8s: c.rewards_owed_e8s.unwrap_or(0),
            calls_in_flight,
            cleanup: Some(self.cleanup_totals()),
        }
    }

    fn cleanup_totals(&self) -> ExportedCleanupTotals {
        let c = self.cleanup_state();
        ExportedCleanupTotals {
            tombstones: self.tombstones.len(),
            tombstone_staked_e8s: c.tombstone_staked_e8s,
            archived: c.archived,
            deleted_by_owner: c.deleted_by_owner,
            restored: c.restored,
            forfeited_e8s: c.forfeited_e8s,
        }
    }

    /// The users after `cursor` in principal order, live and archived (tombstones) merged: at
    /// most `limit` (capped at [`MAX_EXPORT_PAGE_USERS`]) and about [`MAX_EXPORT_PAGE_BYTES`]
    /// (at least one user). The last page carries the shard-wide totals. Deterministic: the
    /// same state gives the same page.
    ///
    /// A principal found in both maps (a broken invariant) is exported twice in the same page,
    /// never split over two pages: the importer then refuses the page by name instead of the
    /// cursor silently skipping one of the two.
    pub fn export_page(&self, cursor: Option<Principal>, limit: u32, calls_in_flight: u64) -> UserExportPage {
        let limit = limit.clamp(1, MAX_EXPORT_PAGE_USERS) as usize;
        let start = match cursor {
            Some(c) => Bound::Excluded(c),
            None => Bound::Unbounded,
        };
        let mut live = self.users.range((start, Bound::Unbounded)).peekable();
        let mut archived = self.tombstones.range((start, Bound::Unbounded)).peekable();
        let mut users: Vec<ExportedUser> = Vec::new();
        let mut bytes = 0;
        let mut more = false;
        loop {
            let next_is_live = match (live.peek(), archived.peek()) {
                (None, None) => break,
                (Some(l), Some(t)) => l.key() <= t.key(),
                (l, _) => l.is_some(),
            };
            let next = if next_is_live { live.peek().map(|e| *e.key()) } else { archived.peek().map(|e| *e.key()) };
            let same_as_last = users.last().map(|u| u.principal) == next;
            if !same_as_last && (users.len() >= limit || (bytes >= MAX_EXPORT_PAGE_BYTES && !users.is_empty())) {
                more = true;
                break;
            }
            let user = if next_is_live {
                let entry = live.next().expect("peeked");
                self.export_user_without_owed(*entry.key(), &entry.value())
            } else {
                let entry = archived.next().expect("peeked");
                self.export_tombstone(*entry.key(), &entry.value())
            };
            bytes += estimated_bytes(&user);
            users.push(user);
        }
        if let (Some(first), Some(last)) = (users.first().map(|u| u.principal), users.last().map(|u| u.principal)) {
            let mut owed = self.owed_entries(|u| *u >= first && *u <= last);
            for user in &mut users {
                user.rewards_owed = owed.remove(&user.principal).unwrap_or_default();
            }
        }
        let next_cursor = if more { users.last().map(|u| u.principal) } else { None };
        let shard_totals = (!more).then(|| self.shard_totals(calls_in_flight));
        UserExportPage { users, next_cursor, shard_totals }
    }

    /// Checks a page before anything of it is applied: the checksum, then every user (new on
    /// this shard, at most once in the page, well-formed entries).
    fn check_import(&self, args: &ImportUsersArgs) -> Result<(), String> {
        check_page(&args.page, &args.sha256)?;
        let mut seen = std::collections::BTreeSet::new();
        for user in &args.page.users {
            let who = user.principal;
            if who == Principal::anonymous() {
                return Err("the anonymous principal cannot be imported".into());
            }
            if !seen.insert(who) {
                return Err(format!("user {who} is twice in the page"));
            }
            if self.is_registered(&who) {
                return Err(format!("user {who} is already on this shard"));
            }
            if let Some(t) = &user.tombstone {
                check_tombstone(user, t)?;
            }
            if let Some(p) = &user.profile {
                p.validated().map_err(|e| format!("user {who}: {e}"))?;
            }
            if let Some(c) = user.completed.iter().find(|c| c.unit_id.is_empty() || c.unit_id.len() > MAX_UNIT_ID_LEN) {
                return Err(format!("user {who}: unit id {:?} is not 1 to {MAX_UNIT_ID_LEN} bytes", c.unit_id));
            }
            let mut ids = std::collections::BTreeSet::new();
            if let Some(w) = user.withdrawals.iter().find(|w| w.id == 0 || w.amount_e8s == 0 || !ids.insert(w.id)) {
                return Err(format!("user {who}: withdrawal {} is zero or repeated", w.id));
            }
        }
        Ok(())
    }

    /// `import_users`: adds the page's users with everything they had, exactly once per page
    /// (a page imported before is answered `already_imported` and changes nothing). Balances
    /// and Pending withdrawals come with the allowance that backs them (the hub moves the same
    /// amounts of its grants, see the hub's `migration`), so the shard's books stay balanced.
    /// Refused as a whole (nothing changes) if any check fails.
    pub fn import_page(&mut self, args: &ImportUsersArgs) -> Result<ImportReceipt, ShardError> {
        if self.is_frozen() {
            return Err(ShardError::ShardMigrating);
        }
        let digest: [u8; 32] = match args.sha256.as_slice().try_into() {
            Ok(d) => d,
            Err(_) => return Err(ShardError::BadInput { detail: "sha256: 32 bytes expected".into() }),
        };
        if self.imported_pages.contains_key(&digest) {
            return Ok(ImportReceipt { users_imported: 0, already_imported: true, totals_applied: false });
        }
        self.check_import(args).map_err(|detail| ShardError::BadInput { detail })?;
        let source = args.source_shard;
        let mut backed_e8s = 0u64;
        for user in &args.page.users {
            backed_e8s = add(backed_e8s, self.import_user(user, source), "imported stake");
        }
        let totals_applied = if let Some(t) = &args.page.shard_totals {
            self.update_counters(|c| {
                c.allowance_available_e8s = add(c.allowance_available_e8s, t.allowance_available_e8s, "allowance available");
                backed_e8s = add(backed_e8s, t.allowance_available_e8s, "imported allowance");
                c.quizzes_submitted += t.quizzes_submitted;
                c.quizzes_passed += t.quizzes_passed;
                c.passed_reported += t.passed_reported;
                c.hard_cap_reached |= t.hard_cap_reached;
            });
            if let Some(cleanup) = &t.cleanup {
                self.add_imported_cleanup_counts(cleanup);
            }
            true
        } else {
            false
        };
        self.update_counters(|c| c.allowance_received_e8s = add(c.allowance_received_e8s, backed_e8s, "allowance received"));
        let users = args.page.users.len() as u64;
        self.imported_pages.insert(digest, users);
        let mut flags = self.migration_flags().clone();
        flags.pages_imported += 1;
        flags.users_imported += users;
        self.migration.set(StableCandid(flags));
        Ok(ImportReceipt { users_imported: users, already_imported: false, totals_applied })
    }

    /// Adds one (checked) user, live or archived (a tombstone stays a tombstone); returns the
    /// e8s that must come with them as allowance: their balance and their Pending withdrawals.
    fn import_user(&mut self, user: &ExportedUser, source: u32) -> u64 {
        let who = user.principal;
        // Unit numbers are this shard's own: the completed units are interned here.
        let mut completed = CompletedUnits::default();
        for c in &user.completed {
            self.add_completion(&mut completed, &c.unit_id, c.completed_at_ns);
        }
        match &user.tombstone {
            None => {
                self.users.insert(
                    who,
                    UserRecord {
                        profile: user.profile.clone(),
                        staked_e8s: user.staked_e8s,
                        day: user.day,
                        attempts_today: user.attempts_today,
                        earned_today_e8s: user.earned_today_e8s,
                        completed_units: user.completed_units,
                        registered_at_ns: user.registered_at_ns,
                        last_active_ns: user.last_active_ns,
                        completed,
                    },
                );
            }
            Some(t) => self.add_imported_tombstone(
                who,
                Tombstone {
                    staked_e8s: user.staked_e8s,
                    completed_units: user.completed_units,
                    registered_at_ns: user.registered_at_ns,
                    archived_at_ns: t.archived_at_ns,
                    deleted: t.deleted,
                    completed,
                },
            ),
        }
        let mut owed_total = 0u64;
        for o in &user.rewards_owed {
            let seq = self.counters().next_owed_seq.unwrap_or(0);
            self.owed_queue.insert(
                seq,
                StableCandid(OwedReward { user: who, amount_e8s: o.amount_e8s, unit_id: o.unit_id.clone(), passed_at_ns: o.passed_at_ns }),
            );
            owed_total = add(owed_total, o.amount_e8s, "owed rewards");
            self.update_counters(|c| c.next_owed_seq = Some(seq + 1));
        }
        if owed_total > 0 {
            self.owed_by_user.insert(who, owed_total);
            self.update_counters(|c| c.rewards_owed_e8s = Some(add(c.rewards_owed_e8s.unwrap_or(0), owed_total, "rewards owed")));
        }
        let mut pending_e8s = 0u64;
        let mut pending_count = 0u64;
        let mut max_id = 0u64;
        for w in &user.withdrawals {
            let key = WithdrawalKey::new(&who, w.id);
            let record = WithdrawalRecord {
                amount_e8s: w.amount_e8s,
                created_at_ns: w.created_at_ns,
                state: w.state.clone(),
                attempts: w.attempts,
                updated_at_ns: w.updated_at_ns,
                next_retry_ns: w.next_retry_ns,
                // Ids made on the source shard stay in its id space at the hub.
                origin_shard: Some(w.origin_shard.unwrap_or(source)),
            };
            if record.is_pending() {
                self.pending_withdrawals.insert(key.clone(), ());
                self.retry_queue.insert(RetryKey::new(record.next_retry_ns, &key), ());
                pending_e8s = add(pending_e8s, w.amount_e8s, "pending withdrawals");
                pending_count += 1;
            }
            self.withdrawals.insert(key, StoredWithdrawal::new(&record));
            max_id = max_id.max(w.id);
        }
        self.update_counters(|c| c.total_staked_e8s = add(c.total_staked_e8s, user.staked_e8s, "total staked"));
        // This shard's own ids continue above every imported one, so a learner's new
        // withdrawal never reuses the key of one they made before the move.
        self.update_withdrawal_counters(|c| {
            c.next_id = c.next_id.max(1).max(max_id.saturating_add(1));
            c.pending_e8s = add(c.pending_e8s, pending_e8s, "pending withdrawals");
            c.pending_count += pending_count;
        });
        add(user.staked_e8s, pending_e8s, "imported stake")
    }
}

/// What an archived learner cannot have (the cleanup archives only learners with nothing
/// under way, and a self-deleted one keeps only their completed units): an entry that has it
/// is refused rather than half imported.
fn check_tombstone(user: &ExportedUser, tombstone: &ExportedTombstone) -> Result<(), String> {
    let who = user.principal;
    if user.profile.is_some() {
        return Err(format!("user {who}: an archived learner has no profile"));
    }
    if user.day != 0 || user.attempts_today != 0 || user.earned_today_e8s != 0 {
        return Err(format!("user {who}: an archived learner has no daily counters"));
    }
    if user.last_active_ns != tombstone.archived_at_ns {
        return Err(format!("user {who}: an archived learner was last active when archived"));
    }
    if !user.rewards_owed.is_empty() {
        return Err(format!("user {who}: an archived learner is owed no reward"));
    }
    if user.withdrawals.iter().any(|w| matches!(w.state, WithdrawalState::Pending { .. })) {
        return Err(format!("user {who}: an archived learner has no pending withdrawal"));
    }
    if tombstone.deleted && (user.staked_e8s != 0 || !user.withdrawals.is_empty()) {
        return Err(format!("user {who}: a deleted profile has no balance and no withdrawals"));
    }
    Ok(())
}

/// The checksum a page of `export_users` carries.
pub fn sha256_of(page: &UserExportPage) -> Vec<u8> {
    page_sha256(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MintAnswer;
    use ic_stable_structures::memory_manager::MemoryManager;
    use ic_stable_structures::DefaultMemoryImpl;
    use platform_types::{AllowanceGrant, Gender, PlatformConfig, ProfileInput, ShardInitArgs, UnstakeError, VerifyResult, NANOS_PER_DAY};

    const T0: u64 = 20_000 * NANOS_PER_DAY;
    const REWARD: u64 = 100;
    const ARCHIVE_AFTER_NS: u64 = 180 * NANOS_PER_DAY;

    fn user(n: u32) -> Principal {
        let mut b = [0u8; 29];
        b[..4].copy_from_slice(&n.wrapping_mul(2_654_435_761).to_be_bytes());
        b[4..8].copy_from_slice(&n.to_be_bytes());
        Principal::from_slice(&b)
    }

    fn shard() -> ShardState<DefaultMemoryImpl> {
        let mut s = ShardState::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        let config = PlatformConfig {
            reward_per_quiz_e8s: REWARD,
            allowance_chunk_e8s: 1_000_000,
            daily_attempt_limit: 50,
            min_withdrawal_e8s: Some(1),
            withdrawal_cooldown_secs: Some(0),
            // Archiving runs only where a test calls `run_cleanup`; settled withdrawals are kept
            // (not compacted), so archived learners carry their history.
            inactive_archive_secs: Some(ARCHIVE_AFTER_NS / NANOS_PER_DAY * 86_400),
            settled_retention_secs: Some(3_650 * 86_400),
            ..PlatformConfig::default()
        };
        s.set_init_args(ShardInitArgs { hub_id: user(900), learning_content_id: user(901), config, config_version: None, module_hash: None });
        s
    }

    fn grant(s: &mut ShardState<DefaultMemoryImpl>, amount: u64) {
        let claimed = s.claim_report(true);
        let total = s.counters().allowance_received_e8s + amount;
        s.report_succeeded(&claimed, Some(&AllowanceGrant { granted_e8s: amount, shard_granted_total_e8s: total, withheld: None }), T0);
    }

    fn pass(s: &mut ShardState<DefaultMemoryImpl>, who: Principal, unit: &str, unfunded: bool) {
        let t = s.begin_submission(who, unit, T0, unfunded).unwrap();
        s.finish_submission(t, &VerifyResult { correct: 1, total: 1, passed: true }, T0);
    }

    /// A shard with every kind of entry: profiles, completions, owed rewards, and Pending,
    /// Completed and Failed withdrawals.
    fn busy_shard(users: u32) -> ShardState<DefaultMemoryImpl> {
        let mut s = shard();
        grant(&mut s, 10 * REWARD * users as u64);
        for n in 0..users {
            let who = user(n);
            s.register_user(who, T0).unwrap();
            if n % 2 == 0 {
                let profile = ProfileInput { email: format!("u{n}@example.org"), name: format!("User {n}"), education: "X".into(), gender: Gender::Female };
                s.update_profile(who, &profile, T0).unwrap();
            }
            for u in 0..(n % 4) {
                pass(&mut s, who, &format!("unit-{u}"), false);
            }
        }
        for n in (0..users).step_by(3) {
            if let Ok(key) = s.begin_unstake(user(n), REWARD, T0 + 1) {
                match n % 9 {
                    0 => drop(s.settle_withdrawal(&key, MintAnswer::Minted(n as u64), T0 + 2)),
                    3 => drop(s.settle_withdrawal(&key, MintAnswer::Refused(platform_types::MintError::LedgerRejected { reason: "x".into() }), T0 + 2)),
                    _ => {}
                }
            }
        }
        // Owed rewards: passes with no allowance left.
        let c = s.counters().clone();
        let mut dry = c.clone();
        dry.allowance_available_e8s = 0;
        dry.allowance_received_e8s -= c.allowance_available_e8s;
        s.counters.set(StableCandid(dry));
        for n in (1..users).step_by(5) {
            pass(&mut s, user(n), "owed-unit", true);
        }
        grant(&mut s, 3 * REWARD); // pays the first three owed rewards, the rest stays owed
        s
    }

    fn export_all(s: &ShardState<DefaultMemoryImpl>, limit: u32) -> Vec<UserExportPage> {
        let mut pages = vec![];
        let mut cursor = None;
        loop {
            let page = s.export_page(cursor, limit, 0);
            cursor = page.next_cursor;
            pages.push(page);
            if cursor.is_none() {
                return pages;
            }
        }
    }

    fn books(s: &ShardState<DefaultMemoryImpl>) -> (u64, u64) {
        let c = s.counters();
        let w = s.withdrawal_counters();
        (c.allowance_received_e8s, c.allowance_available_e8s + c.allowance_reserved_e8s + c.total_staked_e8s + w.pending_e8s + w.withdrawn_e8s)
    }

    #[test]
    fn every_user_moves_with_everything_they_have_and_the_books_balance() {
        let a = busy_shard(60);
        assert!(a.stats().rewards_owed_e8s.unwrap() > 0 && a.stats().pending_withdrawals > 0);
        let pages = export_all(&a, 7);
        assert_eq!(pages.len(), 9);
        assert!(pages[..8].iter().all(|p| p.users.len() == 7 && p.shard_totals.is_none()));
        assert_eq!(pages.iter().map(|p| p.users.len()).sum::<usize>(), 60);
        assert_eq!(export_all(&a, 7), pages, "deterministic");

        let mut b = shard();
        for page in &pages {
            let args = ImportUsersArgs { source_shard: 4, page: page.clone(), sha256: page_sha256(page) };
            let receipt = b.import_page(&args).unwrap();
            assert_eq!(receipt.users_imported, page.users.len() as u64);
            assert_eq!(receipt.totals_applied, page.shard_totals.is_some());
        }
        for n in 0..60 {
            let (on_a, on_b) = (a.export_user(&user(n)).unwrap(), b.export_user(&user(n)).unwrap());
            let expected: Vec<ExportedWithdrawal> =
                on_a.withdrawals.iter().map(|w| ExportedWithdrawal { origin_shard: Some(4), ..w.clone() }).collect();
            assert_eq!(on_b.withdrawals, expected, "user {n}: withdrawals keep their ids and name their origin");
            let strip = |u: ExportedUser| ExportedUser {
                withdrawals: vec![],
                rewards_owed: u.rewards_owed.into_iter().map(|o| ExportedOwedReward { seq: 0, ..o }).collect(),
                ..u
            };
            assert_eq!(strip(on_b), strip(on_a), "user {n}");
            assert_eq!(b.view(&user(n), T0).unwrap(), a.view(&user(n), T0).unwrap());
        }
        let (sa, sb) = (a.stats(), b.stats());
        assert_eq!(
            (sb.users, sb.total_staked_e8s, sb.pending_withdrawals_e8s, sb.pending_withdrawals, sb.rewards_owed_e8s, sb.quizzes_passed),
            (sa.users, sa.total_staked_e8s, sa.pending_withdrawals_e8s, sa.pending_withdrawals, sa.rewards_owed_e8s, sa.quizzes_passed)
        );
        assert_eq!(b.counters().allowance_available_e8s, a.counters().allowance_available_e8s);
        let (received, accounted) = books(&b);
        assert_eq!(received, accounted, "the importer's books balance");
        assert!(!b.has_unreported_changes() || b.counters().quizzes_passed - b.counters().passed_reported == a.counters().quizzes_passed - a.counters().passed_reported);
        // Pending withdrawals are retried by the importer, with their origin for the hub.
        let due = b.due_withdrawals(u64::MAX, 1_000);
        assert_eq!(due.len() as u64, sa.pending_withdrawals);
        let req = b.mint_request(&due[0]).unwrap();
        assert_eq!(req.origin_shard, Some(4));
        // A learner's next withdrawal on the importer never reuses an imported id.
        let max_id = due.iter().map(|k| k.id()).max().unwrap();
        let who = (0..60).map(user).find(|u| b.view(u, T0).unwrap().staked_e8s >= REWARD).unwrap();
        let key = b.begin_unstake(who, REWARD, T0 + 10).unwrap();
        assert!(key.id() > max_id);
        assert_eq!(b.mint_request(&key).unwrap().origin_shard, None);
    }

    #[test]
    fn a_page_is_checked_whole_and_applied_once() {
        let a = busy_shard(10);
        let page = a.export_page(None, 100, 0);
        let sha = page_sha256(&page);
        let mut b = shard();
        let mut tampered = page.clone();
        tampered.users[0].staked_e8s += 1;
        let err = b.import_page(&ImportUsersArgs { source_shard: 0, page: tampered, sha256: sha.clone() }).unwrap_err();
        assert!(matches!(err, ShardError::BadInput { ref detail } if detail.contains("sha256")), "{err:?}");
        assert_eq!(b.user_count(), 0, "nothing imported");
        let args = ImportUsersArgs { source_shard: 0, page: page.clone(), sha256: sha };
        assert_eq!(b.import_page(&args).unwrap().users_imported, 10);
        let again = b.import_page(&args).unwrap();
        assert!(again.already_imported && again.users_imported == 0);
        assert_eq!(b.stats().total_staked_e8s, a.stats().total_staked_e8s, "not counted twice");
        // The same user in another page is refused, and nothing of that page is applied.
        let mut other = a.export_page(None, 2, 0);
        other.users.push(ExportedUser { principal: user(999), ..other.users[0].clone() });
        other.users.swap(0, 2);
        let args = ImportUsersArgs { source_shard: 0, sha256: page_sha256(&other), page: other };
        assert!(matches!(b.import_page(&args), Err(ShardError::BadInput { detail }) if detail.contains("already on this shard")));
        assert!(!b.is_registered(&user(999)));
    }

    #[test]
    fn a_frozen_shard_refuses_every_change_with_a_clear_error_and_reads_work() {
        let mut s = busy_shard(6);
        let who = user(3);
        s.set_frozen(true, T0);
        assert!(s.is_frozen() && s.migration_flags().frozen_at_ns == Some(T0));
        assert_eq!(s.register_user(user(500), T0), Err(ShardError::ShardMigrating));
        assert_eq!(s.register_user(who, T0), Ok(()), "an existing user is still answered Ok");
        let profile = ProfileInput { email: "a@b.org".into(), name: "A".into(), education: "B".into(), gender: Gender::Male };
        assert_eq!(s.update_profile(who, &profile, T0), Err(ShardError::ShardMigrating));
        assert!(matches!(s.begin_submission(who, "new", T0, false), Err(crate::state::Blocked::Rejected(ShardError::ShardMigrating))));
        assert_eq!(s.begin_unstake(who, 1, T0), Err(UnstakeError::ShardMigrating));
        assert!(s.view(&who, T0).is_ok());
        let page = s.export_page(None, 100, 0);
        let mut frozen_target = shard();
        frozen_target.set_frozen(true, T0);
        let args = ImportUsersArgs { source_shard: 0, sha256: page_sha256(&page), page };
        assert_eq!(frozen_target.import_page(&args), Err(ShardError::ShardMigrating));
        s.set_frozen(false, T0 + 1);
        assert!(s.begin_unstake(who, 1, T0 + 1).is_ok(), "unfrozen (a rollback): changes work again");
    }

    fn never_busy(_: &Principal) -> bool {
        false
    }

    /// Every principal is in one of `users` and `tombstones`, never both; the tombstones'
    /// balances are what the cleanup counts; the books balance.
    fn check_tombstone_books(s: &ShardState<DefaultMemoryImpl>) {
        assert!(s.users.keys().all(|u| !s.tombstones.contains_key(&u)), "a principal in both maps");
        let in_tombstones: u64 = s.tombstones.iter().map(|e| e.value().staked_e8s).sum();
        let in_records: u64 = s.users.iter().map(|e| e.value().staked_e8s).sum();
        assert_eq!(s.cleanup_state().tombstone_staked_e8s, in_tombstones);
        assert_eq!(s.counters().total_staked_e8s, in_records + in_tombstones);
        let (received, accounted) = books(s);
        assert_eq!(received, accounted);
    }

    /// `busy_shard(users)` half a year on: the idle learners archived (the ones with a pending
    /// withdrawal or an owed reward stay), `deleted_live` deleted their profile before that and
    /// `deleted_archived` after being archived (both forfeiting their balance), `active` came
    /// back just before the run.
    fn shard_with_tombstones(users: u32, deleted_live: u32, deleted_archived: u32, active: u32) -> ShardState<DefaultMemoryImpl> {
        let mut s = busy_shard(users);
        let forfeit = platform_types::DeleteProfileArgs { forfeit_staked_balance: true };
        s.delete_profile(user(deleted_live), &forfeit, T0 + 5, false).unwrap();
        let later = T0 + ARCHIVE_AFTER_NS + 10;
        let profile = ProfileInput { email: "back@example.org".into(), name: "Back".into(), education: "X".into(), gender: Gender::Male };
        s.update_profile(user(active), &profile, later - 1).unwrap();
        assert!(s.run_cleanup(later, &never_busy, &mut || true));
        assert!(s.is_archived(&user(deleted_archived)) && s.view(&user(deleted_archived), later).unwrap().staked_e8s > 0);
        s.delete_profile(user(deleted_archived), &forfeit, later + 1, false).unwrap();
        check_tombstone_books(&s);
        s
    }

    #[test]
    fn archived_and_deleted_learners_move_as_tombstones_with_their_balances_and_units() {
        let a = shard_with_tombstones(60, 5, 7, 9);
        let tombstones = a.tombstones.len();
        assert!(
            a.tombstones.iter().any(|e| !e.value().deleted && !a.export_user(e.key()).unwrap().withdrawals.is_empty()),
            "some archived learners have a settled history"
        );
        let deleted: Vec<Principal> = a.tombstones.iter().filter(|e| e.value().deleted).map(|e| *e.key()).collect();
        assert_eq!(deleted, if user(5) < user(7) { vec![user(5), user(7)] } else { vec![user(7), user(5)] });
        assert!(tombstones > 30 && a.users.len() > 5, "{tombstones} archived, {} live", a.users.len());
        let archived_staked = a.cleanup_state().tombstone_staked_e8s;
        assert!(archived_staked > 0);
        assert!(!a.is_archived(&user(9)), "active recently: kept");

        // Pages of 7 over both maps: every learner once, in principal order, tombstones marked.
        let pages = export_all(&a, 7);
        let exported: Vec<&ExportedUser> = pages.iter().flat_map(|p| &p.users).collect();
        assert_eq!(exported.len(), 60);
        assert!(exported.windows(2).all(|w| w[0].principal < w[1].principal), "one principal order");
        assert_eq!(exported.iter().filter(|u| u.tombstone.is_some()).count() as u64, tombstones);
        assert!(pages.iter().any(|p| p.users.iter().any(|u| u.tombstone.is_some()) && p.users.iter().any(|u| u.tombstone.is_none())));
        let totals = pages.last().unwrap().shard_totals.clone().unwrap();
        let cleanup = totals.cleanup.clone().unwrap();
        assert_eq!((cleanup.tombstones, cleanup.tombstone_staked_e8s, cleanup.deleted_by_owner), (tombstones, archived_staked, 2));
        assert_eq!(exported.iter().map(|u| u.staked_e8s).sum::<u64>(), totals.total_staked_e8s, "archived balances included");
        for d in &deleted {
            let u = exported.iter().find(|u| u.principal == *d).unwrap();
            assert_eq!((u.profile.clone(), u.staked_e8s, u.withdrawals.len()), (None, 0, 0), "nothing of a deleted profile");
            assert!(!u.completed.is_empty(), "the completed units move");
        }

        let mut b = shard();
        for page in &pages {
            b.import_page(&ImportUsersArgs { source_shard: 4, page: page.clone(), sha256: page_sha256(page) }).unwrap();
        }
        check_tombstone_books(&b);
        let later = T0 + ARCHIVE_AFTER_NS + 20;
        for n in 0..60 {
            let who = user(n);
            assert_eq!(b.is_archived(&who), a.is_archived(&who), "user {n}");
            // Equal but for the unit numbers, which are each shard's own (the export, compared
            // below, has the unit ids).
            let without_units = |t: Option<Tombstone>| t.map(|t| Tombstone { completed: Default::default(), ..t });
            assert_eq!(without_units(b.tombstones.get(&who)), without_units(a.tombstones.get(&who)), "user {n}");
            let (on_a, on_b) = (a.export_user(&who).unwrap(), b.export_user(&who).unwrap());
            let origin = |u: ExportedUser| ExportedUser {
                withdrawals: u.withdrawals.into_iter().map(|w| ExportedWithdrawal { origin_shard: Some(4), ..w }).collect(),
                rewards_owed: u.rewards_owed.into_iter().map(|o| ExportedOwedReward { seq: 0, ..o }).collect(),
                ..u
            };
            assert_eq!(origin(on_b), origin(on_a), "user {n}");
            assert_eq!(b.view(&who, later).unwrap(), a.view(&who, later).unwrap(), "user {n}");
        }
        let (ca, cb) = (a.cleanup_status(), b.cleanup_status());
        assert_eq!(
            (cb.tombstones, cb.tombstone_staked_e8s, cb.archived, cb.deleted_by_owner, cb.restored, cb.forfeited_e8s),
            (ca.tombstones, ca.tombstone_staked_e8s, ca.archived, ca.deleted_by_owner, ca.restored, ca.forfeited_e8s)
        );
        assert_eq!((b.stats().users, b.stats().total_staked_e8s), (a.stats().users, a.stats().total_staked_e8s));

        // On the new shard an archived learner comes back with their balance (restore on the
        // first update), and withdraws it; a deleted one starts afresh and is not paid again
        // for a unit they completed before.
        let back = (0..60).map(user).find(|u| b.is_archived(u) && b.view(u, later).unwrap().staked_e8s >= 2 * REWARD).unwrap();
        let balance = b.view(&back, later).unwrap().staked_e8s;
        let key = b.begin_unstake(back, REWARD, later).unwrap();
        assert!(!b.is_archived(&back));
        assert_eq!(b.view(&back, later).unwrap().staked_e8s, balance - REWARD);
        assert_eq!(b.mint_request(&key).unwrap().origin_shard, None, "a new withdrawal of the new shard");
        assert_eq!(b.cleanup_status().restored, ca.restored + 1);
        let d = deleted[0];
        let done = b.progress(&d, 0, 10).unwrap();
        assert!(matches!(b.begin_submission(d, &done[0], later, false), Err(crate::state::Blocked::Rejected(ShardError::AlreadyCompleted { .. }))));
        assert_eq!(b.view(&d, later).map(|v| (v.profile, v.staked_e8s)), Ok((None, 0)));
        let t = b.begin_submission(d, "a-new-unit", later, false).unwrap();
        b.finish_submission(t, &VerifyResult { correct: 1, total: 1, passed: true }, later);
        // Paid, or owed behind the rewards already waiting: earned once either way.
        let v = b.view(&d, later).unwrap();
        assert_eq!((v.staked_e8s + v.rewards_owed_e8s.unwrap(), v.completed_units), (REWARD, done.len() as u64 + 1));
        assert!(!b.is_archived(&d));
        check_tombstone_books(&b);
    }

    #[test]
    fn a_tombstone_entry_with_anything_it_cannot_have_is_refused_whole() {
        let a = shard_with_tombstones(30, 5, 7, 9);
        let page = a.export_page(None, 100, 0);
        let idx = |p: &UserExportPage, deleted: bool| {
            p.users.iter().position(|u| u.tombstone.as_ref().is_some_and(|t| t.deleted == deleted) && (deleted || u.staked_e8s > 0)).unwrap()
        };
        let (archived, deleted) = (idx(&page, false), idx(&page, true));
        let profile = ProfileInput { email: "x@example.org".into(), name: "X".into(), education: "Y".into(), gender: Gender::Female };
        let pending = ExportedWithdrawal {
            id: 77,
            origin_shard: None,
            amount_e8s: 5,
            created_at_ns: T0,
            state: WithdrawalState::Pending { last_error: None },
            attempts: 0,
            updated_at_ns: T0,
            next_retry_ns: T0,
        };
        let settled = ExportedWithdrawal { state: WithdrawalState::Completed { block_index: 1 }, ..pending.clone() };
        let cases: Vec<(usize, Box<dyn Fn(&mut ExportedUser)>, &str)> = vec![
            (archived, Box::new(|u| u.profile = Some(profile.clone())), "no profile"),
            (archived, Box::new(|u| u.attempts_today = 1), "no daily counters"),
            (archived, Box::new(|u| u.last_active_ns += 1), "last active"),
            (archived, Box::new(|u| u.withdrawals.push(pending.clone())), "no pending withdrawal"),
            (archived, Box::new(|u| u.rewards_owed.push(ExportedOwedReward { seq: 0, amount_e8s: 1, unit_id: "u".into(), passed_at_ns: T0 })), "owed no reward"),
            (deleted, Box::new(|u| u.staked_e8s = 1), "no balance"),
            (deleted, Box::new(|u| u.withdrawals.push(settled.clone())), "no balance and no withdrawals"),
        ];
        for (i, change, expected) in cases {
            let mut bad = page.clone();
            change(&mut bad.users[i]);
            let mut b = shard();
            let args = ImportUsersArgs { source_shard: 0, sha256: page_sha256(&bad), page: bad };
            let err = b.import_page(&args).unwrap_err();
            assert!(matches!(&err, ShardError::BadInput { detail } if detail.contains(expected)), "{expected}: {err:?}");
            assert_eq!((b.user_count(), b.tombstones.len(), b.counters().allowance_received_e8s), (0, 0, 0), "nothing imported");
        }
        // Intact, it imports; a learner archived on the importer is already there.
        let mut b = shard();
        let args = ImportUsersArgs { source_shard: 0, sha256: page_sha256(&page), page: page.clone() };
        b.import_page(&args).unwrap();
        let mut again = page.clone();
        again.users.retain(|u| u.tombstone.is_some());
        again.shard_totals = None;
        let args = ImportUsersArgs { source_shard: 0, sha256: page_sha256(&again), page: again };
        assert!(matches!(b.import_page(&args), Err(ShardError::BadInput { detail }) if detail.contains("already on this shard")));
    }

    #[test]
    fn a_principal_in_both_maps_is_never_split_over_pages_and_the_import_names_it() {
        let mut s = busy_shard(6);
        let twice = user(2);
        let rec = s.users.get(&twice).unwrap();
        s.tombstones.insert(
            twice,
            crate::state::cleanup::Tombstone {
                staked_e8s: 0,
                completed_units: 0,
                registered_at_ns: T0,
                archived_at_ns: T0,
                deleted: true,
                completed: rec.completed.clone(),
            },
        );
        let mut cursor = None;
        let mut pages = vec![];
        loop {
            let page = s.export_page(cursor, 1, 0);
            cursor = page.next_cursor;
            pages.push(page);
            if cursor.is_none() {
                break;
            }
        }
        let with_twice: Vec<&UserExportPage> = pages.iter().filter(|p| p.users.iter().any(|u| u.principal == twice)).collect();
        assert_eq!(with_twice.len(), 1, "both entries in one page");
        let page = with_twice[0].clone();
        assert_eq!(page.users.len(), 2);
        assert_eq!((page.users[0].tombstone.is_none(), page.users[0].staked_e8s), (true, rec.staked_e8s), "the live record first");
        let mut b = shard();
        let args = ImportUsersArgs { source_shard: 0, sha256: page_sha256(&page), page };
        assert!(matches!(b.import_page(&args), Err(ShardError::BadInput { detail }) if detail.contains("twice in the page")));
        assert!(!b.is_registered(&twice));
    }

    #[test]
    fn pages_stop_near_the_byte_limit() {
        let mut s = shard();
        grant(&mut s, 1_000_000 * REWARD);
        // Users with many long unit ids: ~80 bytes each.
        for n in 0..60 {
            s.register_user(user(n), T0).unwrap();
            let mut rec = s.users.get(&user(n)).unwrap();
            for u in 0..500 {
                s.add_completion(&mut rec.completed, &format!("{u:0>60}"), T0);
            }
            s.users.insert(user(n), rec);
        }
        let page = s.export_page(None, MAX_EXPORT_PAGE_USERS, 0);
        assert!(page.users.len() < 60 && page.next_cursor.is_some(), "{} users", page.users.len());
        let bytes = candid::encode_one(&page).unwrap().len();
        assert!(bytes < 2_000_000, "{bytes} bytes");
    }
}
