//! Stable state and the shard's domain logic, in plain Rust (no System API calls: time,
//! caller and configuration are arguments), so that native unit tests cover it.
//!
//! Every structure lives on a virtual memory of its own (named `MemoryId`s below), so upgrades
//! need no pre/post-upgrade serialization and are O(1) in the number of users.

use crate::journal::{
    self, RetryKey, StoredWithdrawal, WithdrawalCounters, WithdrawalKey, WithdrawalRecord, MAX_PENDING_PER_USER,
    MAX_WITHDRAWALS_PAGE,
};
use crate::model::{completion_day, day_of, low_water_mark, Counters, OwedReward, UserRecord, MAX_PROGRESS_PAGE};
use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, Memory, StableBTreeMap, StableCell};
use platform_types::{
    AllowanceGrant, GrantWithheld, MintError, MintRequest, PlatformConfig, ProfileInput, QuizOutcome, ShardError, ShardInitArgs,
    ShardReport, ShardStats, StableCandid, UnstakeError, UserView, VerifyResult, Withdrawal, WithdrawalState,
};
use std::cell::RefCell;
use platform_types::{checked_add_e8s as add, checked_sub_e8s as sub};

/// The init arguments (hub, learning_content, configuration).
pub const INIT_ARGS_MEMORY_ID: MemoryId = MemoryId::new(0);
/// The old `users` map (principal -> [`crate::model::legacy::LegacyUserRecord`]), read once by the layout migration
/// (`layout`), then empty.
pub const LEGACY_USERS_MEMORY_ID: MemoryId = MemoryId::new(1);
/// The old `completed` map ((principal, unit id) -> ns), read once by the layout migration.
pub const LEGACY_COMPLETED_MEMORY_ID: MemoryId = MemoryId::new(2);
/// Shard-wide [`Counters`] (totals and the reward allowance).
pub const COUNTERS_MEMORY_ID: MemoryId = MemoryId::new(3);
/// `withdrawals`: (user, withdrawal id) -> [`WithdrawalRecord`] (the journal).
pub const WITHDRAWALS_MEMORY_ID: MemoryId = MemoryId::new(4);
/// `pending_withdrawals`: the journal keys still Pending (what the retry timer walks).
pub const PENDING_WITHDRAWALS_MEMORY_ID: MemoryId = MemoryId::new(5);
/// [`WithdrawalCounters`].
pub const WITHDRAWAL_COUNTERS_MEMORY_ID: MemoryId = MemoryId::new(6);
/// `owed_by_user`: principal -> rewards owed to the user, in e8s (absent: nothing owed).
pub const OWED_BY_USER_MEMORY_ID: MemoryId = MemoryId::new(7);
/// `owed_queue`: sequence number -> [`OwedReward`], paid in order as allowance arrives.
pub const OWED_QUEUE_MEMORY_ID: MemoryId = MemoryId::new(8);
/// Most owed rewards paid in one step (bounds the instructions of a report or a submission; the
/// rest is paid by the next one or the periodic timer).
pub const MAX_OWED_PAID_PER_STEP: usize = 500;
/// `retry_queue`: the Pending withdrawals by next retry time ([`RetryKey`]), so the timer
/// retries the most overdue first, whatever their users' keys.
pub const RETRY_QUEUE_MEMORY_ID: MemoryId = MemoryId::new(9);

/// Moving users (issue 13): [`export::MigrationFlags`] (freeze flag, import counters).
pub const MIGRATION_MEMORY_ID: MemoryId = MemoryId::new(50);
/// `imported_pages`: sha256 of each page `import_users` applied -> its user count (a retried
/// page is answered, not applied twice).
pub const IMPORTED_PAGES_MEMORY_ID: MemoryId = MemoryId::new(51);

pub mod export;

/// The old `tombstones` map (principal -> 33-byte tombstone, completions in memory 2), read once
/// by the layout migration.
pub const LEGACY_TOMBSTONES_MEMORY_ID: MemoryId = MemoryId::new(60);
/// [`cleanup::CleanupState`]: counters of what was compacted, archived and deleted, the
/// cursors of the resumable cleanup run, the last measured stable memory size.
pub const CLEANUP_MEMORY_ID: MemoryId = MemoryId::new(61);

pub mod cleanup;

/// Compact records (issue 14): `users`, principal -> [`UserRecord`] stored unbounded, with
/// the learner's completed units inside.
pub const USERS_MEMORY_ID: MemoryId = MemoryId::new(10);
// Memory 11 stays unused: it held a separate completions map in an unreleased layout (the
// completed units moved into the records before any shard ran it). Do not reuse it.
/// `unit_numbers`: unit id -> its interned number.
pub const UNIT_NUMBERS_MEMORY_ID: MemoryId = MemoryId::new(12);
/// `unit_ids`: interned number -> unit id.
pub const UNIT_IDS_MEMORY_ID: MemoryId = MemoryId::new(13);
/// [`layout::Layout`]: the layout version and what its migration moved.
pub const LAYOUT_MEMORY_ID: MemoryId = MemoryId::new(14);
/// Size limits and cleanup (issue 13): `tombstones`, principal -> [`cleanup::Tombstone`] (an
/// archived or self-deleted learner: balance, completed units and their count, no profile).
pub const TOMBSTONES_MEMORY_ID: MemoryId = MemoryId::new(15);

pub mod layout;

/// Local quiz verification (issue 14): the answer keys the hub relays, memories 70-71.
pub mod answer_keys;

/// Property tests of the domain logic under random operation sequences (issue 15).
#[cfg(test)]
mod proptests;

pub type InitArgsCell<M> = StableCell<StableCandid<Option<ShardInitArgs>>, VirtualMemory<M>>;

thread_local! {
    static MEMORY_MANAGER: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());

    static STATE: RefCell<ShardState<DefaultMemoryImpl>> =
        RefCell::new(MEMORY_MANAGER.with(ShardState::open));
}

pub fn with<R>(f: impl FnOnce(&ShardState<DefaultMemoryImpl>) -> R) -> R {
    STATE.with_borrow(f)
}

pub fn with_mut<R>(f: impl FnOnce(&mut ShardState<DefaultMemoryImpl>) -> R) -> R {
    STATE.with_borrow_mut(f)
}

/// Opens (or creates, empty) the init-args cell in the memory managed by `manager`.
pub fn open_init_args<M: Memory>(manager: &MemoryManager<M>) -> InitArgsCell<M> {
    StableCell::init(manager.get(INIT_ARGS_MEMORY_ID), StableCandid(None))
}

pub fn set_init_args(args: ShardInitArgs) {
    with_mut(|s| s.set_init_args(args));
}

pub fn init_args() -> Option<ShardInitArgs> {
    with(|s| s.init_args().cloned())
}

/// Moves a shard's data of the old layout into the compact one, once (see `layout`); O(1)
/// when there is nothing to move.
pub fn migrate_legacy_layout() -> Option<layout::LegacyMigration> {
    MEMORY_MANAGER.with(|manager| with_mut(|s| s.migrate_legacy_layout(manager)))
}

/// A submission that passed every check: its attempt is counted and its reward reserved.
/// It must end in exactly one of [`ShardState::finish_submission`] or
/// [`ShardState::cancel_submission`] (see `guards::PendingSubmission`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub user: Principal,
    pub unit_id: String,
    /// UTC day the attempt was counted on.
    pub day: u64,
    pub reserved_e8s: u64,
}

/// Why a submission cannot start now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocked {
    Rejected(ShardError),
    /// The free allowance is below one reward and the hub may still grant more.
    NeedsAllowance,
}

impl From<ShardError> for Blocked {
    fn from(e: ShardError) -> Self {
        Blocked::Rejected(e)
    }
}

/// A report claimed for sending: `quizzes_passed_delta` is already counted as reported, and is
/// given back by [`ShardState::report_failed`] if the hub never received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedReport {
    pub report: ShardReport,
}

pub struct ShardState<M: Memory> {
    init_args: InitArgsCell<M>,
    users: StableBTreeMap<Principal, UserRecord, VirtualMemory<M>>,
    /// The intern table of the unit ids the records' completed units refer to (`layout`).
    unit_numbers: StableBTreeMap<String, u32, VirtualMemory<M>>,
    unit_ids: StableBTreeMap<u32, String, VirtualMemory<M>>,
    layout: StableCell<StableCandid<layout::Layout>, VirtualMemory<M>>,
    counters: StableCell<StableCandid<Counters>, VirtualMemory<M>>,
    withdrawals: StableBTreeMap<WithdrawalKey, StoredWithdrawal, VirtualMemory<M>>,
    pending_withdrawals: StableBTreeMap<WithdrawalKey, (), VirtualMemory<M>>,
    withdrawal_counters: StableCell<StableCandid<WithdrawalCounters>, VirtualMemory<M>>,
    owed_by_user: StableBTreeMap<Principal, u64, VirtualMemory<M>>,
    owed_queue: StableBTreeMap<u64, StableCandid<OwedReward>, VirtualMemory<M>>,
    retry_queue: StableBTreeMap<RetryKey, (), VirtualMemory<M>>,
    /// Moving users (`export`): the freeze flag and import counters, and the pages imported.
    migration: StableCell<StableCandid<export::MigrationFlags>, VirtualMemory<M>>,
    imported_pages: StableBTreeMap<[u8; 32], u64, VirtualMemory<M>>,
    /// Archived and self-deleted learners (`cleanup`), and the cleanup counters and cursors.
    tombstones: StableBTreeMap<Principal, cleanup::Tombstone, VirtualMemory<M>>,
    cleanup: StableCell<StableCandid<cleanup::CleanupState>, VirtualMemory<M>>,
    /// The answer keys quizzes are verified with (`answer_keys`).
    answer_keys: answer_keys::AnswerKeys<M>,
}

/// The hub's answer to a `mint_withdrawal`, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MintAnswer {
    Minted(u64),
    Refused(MintError),
    /// The call failed, or the hub answered `TryLater`: the outcome is not known here.
    Unsettled(String),
}

impl<M: Memory> ShardState<M> {
    pub fn open(manager: &MemoryManager<M>) -> Self {
        let mut state = ShardState {
            init_args: open_init_args(manager),
            users: StableBTreeMap::init(manager.get(USERS_MEMORY_ID)),
            unit_numbers: StableBTreeMap::init(manager.get(UNIT_NUMBERS_MEMORY_ID)),
            unit_ids: StableBTreeMap::init(manager.get(UNIT_IDS_MEMORY_ID)),
            layout: StableCell::init(manager.get(LAYOUT_MEMORY_ID), StableCandid(layout::Layout::default())),
            counters: StableCell::init(manager.get(COUNTERS_MEMORY_ID), StableCandid(Counters::default())),
            withdrawals: StableBTreeMap::init(manager.get(WITHDRAWALS_MEMORY_ID)),
            pending_withdrawals: StableBTreeMap::init(manager.get(PENDING_WITHDRAWALS_MEMORY_ID)),
            withdrawal_counters: StableCell::init(
                manager.get(WITHDRAWAL_COUNTERS_MEMORY_ID),
                StableCandid(WithdrawalCounters::default()),
            ),
            owed_by_user: StableBTreeMap::init(manager.get(OWED_BY_USER_MEMORY_ID)),
            owed_queue: StableBTreeMap::init(manager.get(OWED_QUEUE_MEMORY_ID)),
            retry_queue: StableBTreeMap::init(manager.get(RETRY_QUEUE_MEMORY_ID)),
            migration: StableCell::init(manager.get(MIGRATION_MEMORY_ID), StableCandid(export::MigrationFlags::default())),
            imported_pages: StableBTreeMap::init(manager.get(IMPORTED_PAGES_MEMORY_ID)),
            tombstones: StableBTreeMap::init(manager.get(TOMBSTONES_MEMORY_ID)),
            cleanup: StableCell::init(manager.get(CLEANUP_MEMORY_ID), StableCandid(cleanup::CleanupState::default())),
            answer_keys: answer_keys::AnswerKeys::open(manager),
        };
        state.fill_retry_queue();
        state
    }

    /// A shard upgraded from a release without the retry queue has Pending withdrawals and an
    /// empty queue: queue them once (by their journaled retry time).
    fn fill_retry_queue(&mut self) {
        if !self.retry_queue.is_empty() || self.pending_withdrawals.is_empty() {
            return;
        }
        let keys: Vec<WithdrawalKey> = self.pending_withdrawals.keys().collect();
        for key in keys {
            if let Some(rec) = self.withdrawals.get(&key) {
                self.retry_queue.insert(RetryKey::new(rec.decode().next_retry_ns, &key), ());
            }
        }
    }

    // -------------------------------------------------------------- configuration

    pub fn set_init_args(&mut self, args: ShardInitArgs) {
        self.init_args.set(StableCandid(Some(args)));
    }

    pub fn init_args(&self) -> Option<&ShardInitArgs> {
        self.init_args.get().0.as_ref()
    }

    fn args(&self) -> &ShardInitArgs {
        self.init_args().expect("user_profile: not initialized")
    }

    pub fn config(&self) -> &PlatformConfig {
        &self.args().config
    }

    /// The version of the configuration in force (0: the one given at install, unversioned).
    pub fn config_version(&self) -> u64 {
        self.args().config_version.unwrap_or(0)
    }

    /// A configuration pushed by the hub, with the platform pause in force at that version:
    /// applied only if newer than the one in force (pushes may arrive out of order, or twice).
    /// Returns the version in force and whether it changed.
    pub fn apply_config(
        &mut self,
        version: u64,
        config: PlatformConfig,
        platform_paused: Option<bool>,
    ) -> Result<(u64, bool), String> {
        config.validate()?;
        if version <= self.config_version() {
            return Ok((self.config_version(), false));
        }
        let args = ShardInitArgs { config, config_version: Some(version), ..self.args().clone() };
        self.set_init_args(args);
        self.update_counters(|c| c.platform_paused = Some(platform_paused.unwrap_or(false)));
        Ok((version, true))
    }

    pub fn is_platform_paused(&self) -> bool {
        self.counters().platform_paused.unwrap_or(false)
    }

    pub fn hub_id(&self) -> Principal {
        self.args().hub_id
    }

    pub fn learning_content_id(&self) -> Principal {
        self.args().learning_content_id
    }

    // -------------------------------------------------------------- counters

    pub fn counters(&self) -> &Counters {
        &self.counters.get().0
    }

    fn update_counters(&mut self, f: impl FnOnce(&mut Counters)) {
        let mut c = self.counters.get().0.clone();
        f(&mut c);
        self.counters.set(StableCandid(c));
    }

    pub fn is_disabled(&self) -> bool {
        self.counters().disabled
    }

    /// Tests set the flag directly; the hub's pushes go through [`apply_status`](Self::apply_status).
    #[cfg(test)]
    pub fn set_disabled(&mut self, disabled: bool) {
        self.update_counters(|c| c.disabled = disabled);
    }

    /// A status push from the hub: applied only if its epoch is not older than the one in force
    /// (an old push run may deliver after a newer one). A push without an epoch (a hub of an
    /// older release) applies only while no epoch was ever applied. Returns whether it applied.
    pub fn apply_status(&mut self, disabled: bool, epoch: Option<u64>) -> bool {
        let current = self.counters().status_epoch;
        let newer = match (epoch, current) {
            (Some(e), Some(c)) => e >= c,
            (Some(_), None) | (None, None) => true,
            (None, Some(_)) => false,
        };
        if newer {
            self.update_counters(|c| {
                c.disabled = disabled;
                c.status_epoch = epoch.or(c.status_epoch);
            });
        }
        newer
    }

    /// Learners of this shard: with a profile, or archived (a tombstone, see `cleanup`): the
    /// hub's index routes both here.
    pub fn user_count(&self) -> u64 {
        self.users.len() + self.tombstones.len()
    }

    pub fn stats(&self) -> ShardStats {
        let c = self.counters();
        ShardStats {
            users: self.user_count(),
            total_staked_e8s: c.total_staked_e8s,
            allowance_remaining_e8s: c.allowance_available_e8s + c.allowance_reserved_e8s,
            allowance_received_e8s: c.allowance_received_e8s,
            quizzes_submitted: c.quizzes_submitted,
            quizzes_passed: c.quizzes_passed,
            disabled: c.disabled,
            pending_withdrawals_e8s: self.withdrawal_counters().pending_e8s,
            pending_withdrawals: self.withdrawal_counters().pending_count,
            withdrawn_e8s: self.withdrawal_counters().withdrawn_e8s,
            rewards_owed_e8s: Some(c.rewards_owed_e8s.unwrap_or(0)),
            platform_paused: Some(self.is_platform_paused()),
        }
    }

    // -------------------------------------------------------------- users

    pub fn is_registered(&self, user: &Principal) -> bool {
        self.users.contains_key(user) || self.tombstones.contains_key(user)
    }

    /// Adds `user` (idempotent: an existing user is left as is). A disabled shard takes no
    /// new users.
    pub fn register_user(&mut self, user: Principal, now_ns: u64) -> Result<(), ShardError> {
        if user == Principal::anonymous() {
            return Err(ShardError::BadInput { detail: "the anonymous principal cannot be registered".into() });
        }
        // An archived learner is registered too: a record next to their tombstone would put
        // them in both maps (their next update restores the record instead).
        if self.is_registered(&user) {
            return Ok(());
        }
        if self.is_disabled() {
            return Err(ShardError::ShardDisabled);
        }
        if self.is_frozen() {
            return Err(ShardError::ShardMigrating);
        }
        self.users.insert(user, UserRecord::new(now_ns));
        Ok(())
    }

    fn user(&self, user: &Principal) -> Result<UserRecord, ShardError> {
        self.users.get(user).ok_or(ShardError::NotRegistered)
    }

    pub fn view(&self, user: &Principal, now_ns: u64) -> Result<UserView, ShardError> {
        // An archived learner sees their balance (their next update restores the record).
        let rec = self.user(user).or_else(|e| self.tombstones.get(user).map(|t| t.record()).ok_or(e))?;
        let view = rec.view(*user, now_ns);
        Ok(UserView { rewards_owed_e8s: Some(self.owed_of(user)), ..view })
    }

    /// Rewards owed to `user`, in e8s.
    pub fn owed_of(&self, user: &Principal) -> u64 {
        self.owed_by_user.get(user).unwrap_or(0)
    }

    pub fn update_profile(&mut self, user: Principal, input: &ProfileInput, now_ns: u64) -> Result<UserView, ShardError> {
        // A refused update leaves an archived learner archived (issue 15).
        self.with_restored(&user, now_ns, |s| s.update_profile_restored(user, input, now_ns))
    }

    fn update_profile_restored(
        &mut self,
        user: Principal,
        input: &ProfileInput,
        now_ns: u64,
    ) -> Result<UserView, ShardError> {
        self.restore_if_archived(&user, now_ns);
        let mut rec = self.user(&user)?;
        if self.is_disabled() {
            return Err(ShardError::ShardDisabled);
        }
        if self.is_frozen() {
            return Err(ShardError::ShardMigrating);
        }
        let profile = input.validated_for_update().map_err(|detail| ShardError::BadInput { detail })?;
        rec.profile = Some(profile);
        rec.last_active_ns = now_ns;
        let view = UserView { rewards_owed_e8s: Some(self.owed_of(&user)), ..rec.view(user, now_ns) };
        self.users.insert(user, rec);
        Ok(view)
    }

    /// The completed units of a learner, live or archived.
    fn completed_of(&self, user: &Principal) -> Option<crate::model::CompletedUnits> {
        self.users.get(user).map(|r| r.completed).or_else(|| self.tombstones.get(user).map(|t| t.completed))
    }

    #[cfg(test)]
    pub fn is_completed(&self, user: &Principal, unit_id: &str) -> bool {
        let unit = self.unit_number(unit_id);
        self.completed_of(user).zip(unit).is_some_and(|(completed, unit)| completed.contains(unit))
    }

    /// The user's completed unit ids in unit-id order, `limit` capped at [`MAX_PROGRESS_PAGE`].
    pub fn progress(&self, user: &Principal, offset: u64, limit: u64) -> Result<Vec<String>, ShardError> {
        let completed = self.completed_of(user).ok_or(ShardError::NotRegistered)?;
        let limit = limit.min(MAX_PROGRESS_PAGE) as usize;
        // Completed units are kept by unit number: sorted by unit id here (a learner has at
        // most one entry per unit of the catalogue).
        Ok(self
            .completions_of(&completed)
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(limit)
            .map(|(unit_id, _)| unit_id)
            .collect())
    }

    // -------------------------------------------------------------- submissions

    /// The hub's push of the answer keys (see [`answer_keys`]). Answers the version in force.
    /// Every unit of a set taken is interned first: its key entry holds the unit's number, so
    /// a submission finds it with the key and never writes the intern table.
    pub fn apply_answer_keys(&mut self, set: &platform_types::answer_keys::AnswerKeySet) -> Result<u64, String> {
        if !self.answer_keys.accepts(set)? {
            return Ok(self.answer_keys.version());
        }
        let numbers: std::collections::BTreeMap<&str, u32> =
            set.keys.iter().map(|k| (k.unit_id.as_str(), self.intern_unit(&k.unit_id))).collect();
        self.answer_keys.apply(set, |unit_id| numbers[unit_id])
    }

    /// The answer-key version in force and the number of units it covers (0, 0: none yet).
    pub fn answer_keys_status(&self) -> (u64, u64) {
        (self.answer_keys.version(), self.answer_keys.unit_count())
    }

    /// Scores a submission with the local answer keys at the pass mark in force; `None` while
    /// no key set has arrived (the submission is then verified by learning_content).
    pub fn verify_locally(&self, unit_id: &str, answers: &[u32]) -> Option<Result<answer_keys::Scored, platform_types::VerifyError>> {
        (self.answer_keys.version() > 0).then(|| self.answer_keys.score(unit_id, answers, self.config().pass_mark_percent))
    }

    /// Checks a submission and, if it may go ahead, counts the attempt and reserves the reward.
    /// Input shape (unit id, answers) is checked by the caller.
    ///
    /// With less than one reward of free allowance it returns `NeedsAllowance`, unless
    /// `unfunded` is set (the hub could not fund it) or the hub said the day's emission budget is
    /// used up: the attempt then goes ahead with nothing reserved, and
    /// [`finish_submission`](Self::finish_submission) pays a pass from whatever allowance has
    /// arrived meanwhile, or else records its reward as owed. Owed rewards waiting are paid
    /// first, so a new pass never overtakes them.
    pub fn begin_submission(
        &mut self,
        user: Principal,
        unit_id: &str,
        now_ns: u64,
        unfunded: bool,
    ) -> Result<Ticket, Blocked> {
        let unit = self.unit_number(unit_id);
        let (ticket, rec) = self.admit(user, unit_id, unit, now_ns, unfunded)?;
        self.users.insert(user, rec);
        Ok(ticket)
    }

    /// A submission already scored (with the local answer keys, which gave the unit's number):
    /// counted and settled in one step, reading and writing the learner's record once, without
    /// touching the intern table. Nothing is awaited between the checks and the verdict, so
    /// there is nothing to reserve against.
    pub fn submit_scored(
        &mut self,
        user: Principal,
        unit_id: &str,
        scored: &answer_keys::Scored,
        now_ns: u64,
        unfunded: bool,
    ) -> Result<QuizOutcome, Blocked> {
        let (ticket, rec) = self.admit(user, unit_id, Some(scored.unit), now_ns, unfunded)?;
        Ok(self.settle(ticket, rec, Some(scored.unit), &scored.verdict, now_ns))
    }

    /// [`begin_submission`](Self::begin_submission)'s checks and bookkeeping; the learner's
    /// updated record is returned for the caller to write. `unit`: the unit's interned number
    /// (None: not interned, so nobody completed it).
    fn admit(
        &mut self,
        user: Principal,
        unit_id: &str,
        unit: Option<u32>,
        now_ns: u64,
        unfunded: bool,
    ) -> Result<(Ticket, UserRecord), Blocked> {
        // A refused submission leaves an archived learner archived (issue 15).
        self.with_restored(&user, now_ns, |s| s.admit_restored(user, unit_id, unit, now_ns, unfunded))
    }

    fn admit_restored(
        &mut self,
        user: Principal,
        unit_id: &str,
        unit: Option<u32>,
        now_ns: u64,
        unfunded: bool,
    ) -> Result<(Ticket, UserRecord), Blocked> {
        if self.is_disabled() {
            return Err(ShardError::ShardDisabled.into());
        }
        if self.is_frozen() {
            return Err(ShardError::ShardMigrating.into());
        }
        if self.is_platform_paused() {
            return Err(ShardError::PlatformPaused.into());
        }
        // Before the record is read: paying may credit this very learner's record.
        self.pay_owed_rewards(MAX_OWED_PAID_PER_STEP);
        // Not disabled nor frozen (checked above): an archived learner is restored here.
        let mut rec = match self.users.get(&user) {
            Some(rec) => rec,
            None => self.restore_archived(&user, now_ns).ok_or(ShardError::NotRegistered)?,
        };
        let waiting_for_budget = self.budget_exhausted(now_ns) || !self.owed_queue.is_empty();
        let config = self.config();
        let (limit, reward) = (config.daily_attempt_limit, config.reward_per_quiz_e8s);
        let day = day_of(now_ns).max(rec.day);
        if rec.attempts_on(day) >= limit {
            return Err(ShardError::DailyLimitReached { limit }.into());
        }
        if unit.is_some_and(|unit| rec.completed.contains(unit)) {
            return Err(ShardError::AlreadyCompleted { unit_id: unit_id.to_string() }.into());
        }
        let c = self.counters();
        let reserved_e8s = if c.allowance_available_e8s >= reward && self.owed_queue.is_empty() {
            reward
        } else if c.hard_cap_reached {
            return Err(ShardError::RewardsExhausted.into());
        } else if unfunded || waiting_for_budget {
            0
        } else {
            return Err(Blocked::NeedsAllowance);
        };
        rec.roll_to_day(day);
        rec.attempts_today += 1;
        rec.last_active_ns = now_ns;
        self.update_counters(|c| {
            c.allowance_available_e8s = sub(c.allowance_available_e8s, reserved_e8s, "allowance available");
            c.allowance_reserved_e8s = add(c.allowance_reserved_e8s, reserved_e8s, "allowance reserved");
            c.quizzes_submitted += 1;
        });
        Ok((Ticket { user, unit_id: unit_id.to_string(), day, reserved_e8s }, rec))
    }

    /// Applies learning_content's verdict: on a pass the reward is credited and the unit marked
    /// completed; otherwise the reservation goes back to the free allowance (the attempt stays
    /// counted). A pass of an unfunded ticket takes its reward from the free allowance; if there
    /// is not enough (the day's emission budget is used up, or the hub could not be reached),
    /// the pass still counts and its reward is owed: queued, visible to the learner, and paid
    /// once, in order, as allowance arrives ([`pay_owed_rewards`](Self::pay_owed_rewards)).
    pub fn finish_submission(&mut self, ticket: Ticket, verdict: &VerifyResult, now_ns: u64) -> QuizOutcome {
        let rec = self.users.get(&ticket.user).expect("a user with a submission in flight stays registered");
        // Looked up again after the await: another submission may have interned the unit.
        let unit = self.unit_number(&ticket.unit_id);
        self.settle(ticket, rec, unit, verdict, now_ns)
    }

    /// [`finish_submission`](Self::finish_submission) on the learner's record `rec` (as read
    /// by the caller), which it writes back. `unit`: the unit's number as looked up in this
    /// message (None: not interned yet; a pass interns it).
    fn settle(&mut self, ticket: Ticket, mut rec: UserRecord, unit: Option<u32>, verdict: &VerifyResult, now_ns: u64) -> QuizOutcome {
        let config_reward = self.config().reward_per_quiz_e8s;
        let mut ticket = ticket;
        let mut owed = 0;
        if verdict.passed && ticket.reserved_e8s == 0 {
            if self.owed_queue.is_empty() && self.counters().allowance_available_e8s >= config_reward {
                self.update_counters(|c| {
                    c.allowance_available_e8s = sub(c.allowance_available_e8s, config_reward, "allowance available");
                    c.allowance_reserved_e8s = add(c.allowance_reserved_e8s, config_reward, "allowance reserved");
                });
                ticket.reserved_e8s = config_reward;
            } else {
                owed = config_reward;
            }
        }
        let reward = if verdict.passed { ticket.reserved_e8s } else { 0 };
        if verdict.passed {
            rec.staked_e8s = add(rec.staked_e8s, reward, "staked balance");
            if rec.day == ticket.day {
                rec.earned_today_e8s = add(rec.earned_today_e8s, reward, "earned today");
            }
            rec.completed_units += 1;
            let unit = unit.unwrap_or_else(|| self.intern_new_unit(&ticket.unit_id));
            rec.completed.insert(unit, completion_day(now_ns));
        }
        rec.last_active_ns = now_ns;
        let limit = self.config().daily_attempt_limit;
        let attempts_left_today = limit.saturating_sub(rec.attempts_on(ticket.day));
        let staked_e8s = rec.staked_e8s;
        self.users.insert(ticket.user, rec);
        self.update_counters(|c| {
            c.allowance_reserved_e8s = sub(c.allowance_reserved_e8s, ticket.reserved_e8s, "allowance reserved");
            if verdict.passed {
                c.total_staked_e8s = add(c.total_staked_e8s, reward, "total staked");
                c.quizzes_passed += 1;
            } else {
                c.allowance_available_e8s = add(c.allowance_available_e8s, ticket.reserved_e8s, "allowance available");
            }
        });
        if owed > 0 {
            self.owe_reward(ticket.user, owed, &ticket.unit_id, now_ns);
        }
        // `verdict.correct` stays here: a count of right answers in the reply would be a scoring
        // oracle for the answer key (issue 11). The learner learns passed / not passed only.
        QuizOutcome {
            total: verdict.total,
            passed: verdict.passed,
            reward_e8s: reward,
            reward_owed_e8s: (owed > 0).then_some(owed),
            staked_e8s,
            attempts_left_today,
        }
    }

    /// Queues a passed quiz's reward for later payment.
    fn owe_reward(&mut self, user: Principal, amount_e8s: u64, unit_id: &str, now_ns: u64) {
        let seq = self.counters().next_owed_seq.unwrap_or(0);
        self.owed_queue.insert(
            seq,
            StableCandid(OwedReward { user, amount_e8s, unit_id: unit_id.to_string(), passed_at_ns: now_ns }),
        );
        let owed = self.owed_of(&user).checked_add(amount_e8s).expect("owed rewards fit in u64");
        self.owed_by_user.insert(user, owed);
        self.update_counters(|c| {
            c.next_owed_seq = Some(seq + 1);
            c.rewards_owed_e8s = Some(add(c.rewards_owed_e8s.unwrap_or(0), amount_e8s, "rewards owed"));
        });
    }

    /// Pays owed rewards from the free allowance, oldest first, at most `max` of them; stops at
    /// the first one the allowance cannot cover. Each is removed from the queue in the same step
    /// that credits it, so it is paid at most once. Returns how many were paid.
    pub fn pay_owed_rewards(&mut self, max: usize) -> usize {
        let mut paid = 0;
        while paid < max {
            let Some((seq, StableCandid(owed))) = self.owed_queue.first_key_value() else { break };
            if self.counters().allowance_available_e8s < owed.amount_e8s {
                break;
            }
            self.owed_queue.remove(&seq);
            let left = self.owed_of(&owed.user).checked_sub(owed.amount_e8s).expect("queued rewards are owed");
            if left == 0 {
                self.owed_by_user.remove(&owed.user);
            } else {
                self.owed_by_user.insert(owed.user, left);
            }
            // Learners with owed rewards are never archived or deleted (`cleanup`): still here.
            if let Some(mut rec) = self.users.get(&owed.user) {
                rec.staked_e8s = rec.staked_e8s.checked_add(owed.amount_e8s).expect("stake fits in u64");
                self.users.insert(owed.user, rec);
            }
            self.update_counters(|c| {
                c.allowance_available_e8s = sub(c.allowance_available_e8s, owed.amount_e8s, "allowance available");
                c.total_staked_e8s = add(c.total_staked_e8s, owed.amount_e8s, "total staked");
                c.rewards_owed_e8s = Some(sub(c.rewards_owed_e8s.unwrap_or(0), owed.amount_e8s, "rewards owed"));
            });
            paid += 1;
        }
        paid
    }

    /// Whether the hub said the day's emission budget is used up until after `now_ns`.
    pub fn budget_exhausted(&self, now_ns: u64) -> bool {
        self.counters().budget_wait_until_ns.is_some_and(|until| now_ns < until)
    }

    /// Undoes [`begin_submission`](Self::begin_submission) when no verdict was obtained: the
    /// attempt is not counted and the reservation is released.
    pub fn cancel_submission(&mut self, ticket: Ticket) {
        if let Some(mut rec) = self.users.get(&ticket.user) {
            if rec.day == ticket.day && rec.attempts_today > 0 {
                rec.attempts_today -= 1;
                self.users.insert(ticket.user, rec);
            }
        }
        self.update_counters(|c| {
            c.allowance_reserved_e8s = sub(c.allowance_reserved_e8s, ticket.reserved_e8s, "allowance reserved");
            c.allowance_available_e8s = add(c.allowance_available_e8s, ticket.reserved_e8s, "allowance available");
            c.quizzes_submitted = c.quizzes_submitted.saturating_sub(1);
        });
    }

    /// Ends a submission learning_content refused as malformed (unknown unit, wrong answer
    /// count): the reservation is released but the attempt stays counted, so a learner (or a
    /// script) cannot make the shard pay for calls to learning_content without spending the
    /// daily attempts (issue 11).
    pub fn refuse_submission(&mut self, ticket: Ticket) {
        self.update_counters(|c| {
            c.allowance_reserved_e8s = sub(c.allowance_reserved_e8s, ticket.reserved_e8s, "allowance reserved");
            c.allowance_available_e8s = add(c.allowance_available_e8s, ticket.reserved_e8s, "allowance available");
        });
    }

    /// After an upgrade no submission can be in flight: a reservation left over (only a bug
    /// could leave one) goes back to the free allowance. O(1).
    pub fn release_stale_reservations(&mut self) -> u64 {
        let stale = self.counters().allowance_reserved_e8s;
        if stale > 0 {
            self.update_counters(|c| {
                c.allowance_available_e8s = add(c.allowance_available_e8s, c.allowance_reserved_e8s, "allowance available");
                c.allowance_reserved_e8s = 0;
            });
        }
        stale
    }

    // -------------------------------------------------------------- allowance and reports

    /// Whether the free allowance is below the low-water mark of a shard that has been granted
    /// allowance before (the first grant is asked for on demand), and the hub may grant more.
    /// Owed rewards waiting also want a refill. Not while the day's budget is used up (the hub
    /// would grant nothing before the next UTC day) or the platform is paused.
    pub fn wants_proactive_refill(&self, now_ns: u64) -> bool {
        let c = self.counters();
        let config = self.config();
        let low = c.allowance_available_e8s < low_water_mark(config.reward_per_quiz_e8s, config.allowance_chunk_e8s);
        !c.hard_cap_reached
            && !self.budget_exhausted(now_ns)
            && !self.is_platform_paused()
            && ((c.allowance_received_e8s > 0 && low) || !self.owed_queue.is_empty())
    }

    /// Whether the totals changed since the last report the hub accepted.
    pub fn has_unreported_changes(&self) -> bool {
        let c = self.counters();
        c.quizzes_passed != c.passed_reported
            || c.total_staked_e8s != c.last_reported_staked_e8s
            || self.user_count() != c.last_reported_users
            || self.cleanup_has_unreported_changes()
    }

    /// Builds a report and counts its passed-quiz delta as reported.
    pub fn claim_report(&mut self, wants_allowance: bool) -> ClaimedReport {
        let c = self.counters();
        let report = ShardReport {
            total_staked_e8s: c.total_staked_e8s,
            user_count: self.user_count(),
            quizzes_passed_delta: c.quizzes_passed - c.passed_reported,
            wants_allowance,
            stable_memory_bytes: self.cleanup_state().measured_memory_bytes(),
            settled_below_withdrawal_id: self.cleanup_state().settled_below_withdrawal_id,
        };
        self.update_counters(|c| c.passed_reported = c.quizzes_passed);
        ClaimedReport { report }
    }

    /// The hub never received the report: its delta goes into the next one.
    pub fn report_failed(&mut self, claimed: &ClaimedReport) {
        self.update_counters(|c| c.passed_reported -= claimed.report.quizzes_passed_delta);
    }

    /// The hub recorded the report (and perhaps granted allowance).
    pub fn report_succeeded(&mut self, claimed: &ClaimedReport, grant: Option<&AllowanceGrant>, now_ns: u64) {
        self.note_cleanup_reported(&claimed.report);
        self.update_counters(|c| {
            c.last_reported_staked_e8s = claimed.report.total_staked_e8s;
            c.last_reported_users = claimed.report.user_count;
            c.last_report_ns = now_ns;
            if let Some(g) = grant {
                // The hub's running total is what it granted this shard: it also covers a grant
                // whose answer was lost, or is still on its way (a report answered after a later
                // grant carries it already; adding that grant again when its own answer lands
                // would count it twice: found by the fault scenarios, seed 5).
                let received = if g.shard_granted_total_e8s > 0 {
                    c.allowance_received_e8s.max(g.shard_granted_total_e8s)
                } else {
                    add(c.allowance_received_e8s, g.granted_e8s, "allowance received")
                };
                let new = sub(received, c.allowance_received_e8s, "allowance received");
                c.allowance_available_e8s = add(c.allowance_available_e8s, new, "allowance available");
                c.allowance_received_e8s = received;
                c.budget_wait_until_ns = match g.withheld {
                    Some(GrantWithheld::DailyBudgetUsed { resets_at_ns }) => Some(resets_at_ns),
                    _ => None,
                };
            }
        });
        if grant.is_some() {
            self.pay_owed_rewards(MAX_OWED_PAID_PER_STEP);
        }
    }

    pub fn set_hard_cap_reached(&mut self) {
        self.update_counters(|c| c.hard_cap_reached = true);
    }

    // -------------------------------------------------------------- withdrawals

    pub fn withdrawal_counters(&self) -> &WithdrawalCounters {
        &self.withdrawal_counters.get().0
    }

    fn update_withdrawal_counters(&mut self, f: impl FnOnce(&mut WithdrawalCounters)) {
        let mut c = self.withdrawal_counters.get().0.clone();
        f(&mut c);
        self.withdrawal_counters.set(StableCandid(c));
    }

    /// The user's Pending withdrawals that count against [`MAX_PENDING_PER_USER`]: those past
    /// the ledger's dedup horizon are parked (they wait on the hub's block search or governance,
    /// not on anything the learner can do) and do not count.
    fn pending_of(&self, user: &Principal, now_ns: u64) -> usize {
        self.pending_withdrawals
            .keys_range(WithdrawalKey::first_of(user)..=WithdrawalKey::last_of(user))
            .filter(|k| self.withdrawals.get(k).is_some_and(|r| !r.decode().is_parked(now_ns)))
            .take(MAX_PENDING_PER_USER as usize + 1)
            .count()
    }

    /// When the user may withdraw again: their newest withdrawal's time plus the cooldown (a
    /// Failed one does not count: the learner did nothing wrong and got the amount back).
    fn next_withdrawal_allowed_ns(&self, user: &Principal) -> Option<u64> {
        let cooldown_secs = self.config().withdrawal_cooldown();
        if cooldown_secs == 0 {
            return None;
        }
        let newest = self.withdrawals.range(WithdrawalKey::first_of(user)..=WithdrawalKey::last_of(user)).next_back()?;
        let rec = newest.value().decode();
        if matches!(rec.state, WithdrawalState::Failed { .. }) {
            return None;
        }
        Some(rec.created_at_ns.saturating_add(cooldown_secs.saturating_mul(1_000_000_000)))
    }

    /// `unstake`: debits the staked balance and journals a Pending withdrawal, atomically.
    #[cfg(test)] // the canister uses `begin_unstake_attempt`
    pub fn begin_unstake(
        &mut self,
        user: Principal,
        amount_e8s: u64,
        now_ns: u64,
    ) -> Result<WithdrawalKey, UnstakeError> {
        self.journal_unstake(user, amount_e8s, now_ns, Some(now_ns)).map(|(key, _, _)| key)
    }

    /// `unstake` when withdrawals go in batches: [`Self::begin_unstake`], the entry due at
    /// `send_at_ns` (the end of its batch window); the round then sends it with every other
    /// entry due before the end of the next window. Answers the entry as the learner sees it
    /// (Pending, no attempt yet).
    pub fn queue_unstake(
        &mut self,
        user: Principal,
        amount_e8s: u64,
        now_ns: u64,
        send_at_ns: u64,
    ) -> Result<Withdrawal, UnstakeError> {
        self.journal_unstake(user, amount_e8s, now_ns, Some(send_at_ns)).map(|(_, _, view)| view)
    }

    /// [`Self::begin_unstake`] then [`Self::begin_attempt`] of the new withdrawal, with one
    /// write of its entry (the canister's `unstake`: reading back and rewriting the entry just
    /// written cost two Candid decodes): the key and the request to send, counted.
    pub fn begin_unstake_attempt(
        &mut self,
        user: Principal,
        amount_e8s: u64,
        now_ns: u64,
    ) -> Result<(WithdrawalKey, MintRequest), UnstakeError> {
        self.journal_unstake(user, amount_e8s, now_ns, None).map(|(key, request, _)| (key, request))
    }

    fn journal_unstake(
        &mut self,
        user: Principal,
        amount_e8s: u64,
        now_ns: u64,
        // `Some(t)`: queued, first sent at or after `t`; `None`: its first attempt is counted
        // now (the caller sends it at once).
        send_at_ns: Option<u64>,
    ) -> Result<(WithdrawalKey, MintRequest, Withdrawal), UnstakeError> {
        // A refused unstake leaves an archived learner archived (issue 15).
        self.with_restored(&user, now_ns, |s| s.journal_unstake_restored(user, amount_e8s, now_ns, send_at_ns))
    }

    fn journal_unstake_restored(
        &mut self,
        user: Principal,
        amount_e8s: u64,
        now_ns: u64,
        send_at_ns: Option<u64>,
    ) -> Result<(WithdrawalKey, MintRequest, Withdrawal), UnstakeError> {
        self.restore_if_archived(&user, now_ns);
        let mut rec = self.users.get(&user).ok_or(UnstakeError::NotRegistered)?;
        if self.is_disabled() {
            return Err(UnstakeError::ShardDisabled);
        }
        if self.is_frozen() {
            return Err(UnstakeError::ShardMigrating);
        }
        if amount_e8s == 0 {
            return Err(UnstakeError::BadAmount { detail: "the amount must be above zero".into() });
        }
        if amount_e8s > rec.staked_e8s {
            return Err(UnstakeError::BadAmount {
                detail: format!("{amount_e8s} e8s is more than the staked balance of {} e8s", rec.staked_e8s),
            });
        }
        let minimum_e8s = self.config().min_withdrawal();
        if amount_e8s < minimum_e8s {
            return Err(UnstakeError::BelowMinimum { minimum_e8s });
        }
        if let Some(next_allowed_ns) = self.next_withdrawal_allowed_ns(&user).filter(|t| now_ns < *t) {
            return Err(UnstakeError::CoolingDown { next_allowed_ns });
        }
        if self.pending_of(&user, now_ns) >= MAX_PENDING_PER_USER as usize {
            return Err(UnstakeError::TooManyPending { limit: MAX_PENDING_PER_USER });
        }
        let id = self.withdrawal_counters().next_id.max(1);
        let key = WithdrawalKey::new(&user, id);
        rec.staked_e8s = sub(rec.staked_e8s, amount_e8s, "staked balance");
        rec.last_active_ns = now_ns;
        self.users.insert(user, rec);
        self.update_counters(|c| c.total_staked_e8s = sub(c.total_staked_e8s, amount_e8s, "total staked"));
        self.update_withdrawal_counters(|c| {
            c.next_id = id + 1;
            c.pending_e8s = add(c.pending_e8s, amount_e8s, "pending withdrawals");
            c.pending_count += 1;
        });
        let mut entry = WithdrawalRecord {
            amount_e8s,
            created_at_ns: now_ns,
            state: WithdrawalState::Pending { last_error: None },
            attempts: 0,
            updated_at_ns: now_ns,
            next_retry_ns: send_at_ns.unwrap_or(now_ns),
            origin_shard: None,
        };
        if send_at_ns.is_none() {
            // What `count_attempt` makes of the entry at the same time.
            entry.attempts = 1;
            entry.next_retry_ns = journal::next_retry_ns(now_ns, 1);
        }
        let request = Self::request_of(&key, &entry).expect("a new withdrawal is Pending");
        self.retry_queue.insert(RetryKey::new(entry.next_retry_ns, &key), ());
        self.withdrawals.insert(key.clone(), StoredWithdrawal::new(&entry));
        self.pending_withdrawals.insert(key.clone(), ());
        let view = entry.view(&key);
        Ok((key, request, view))
    }

    #[cfg(test)]
    pub fn withdrawal(&self, key: &WithdrawalKey) -> Option<Withdrawal> {
        self.withdrawals.get(key).map(|r| r.decode().view(key))
    }

    /// The request for the hub (the same on every attempt), if the withdrawal is Pending.
    #[cfg(test)] // the canister uses `begin_attempt`
    pub fn mint_request(&self, key: &WithdrawalKey) -> Option<MintRequest> {
        let rec = self.withdrawals.get(key)?.decode();
        Self::request_of(key, &rec)
    }

    fn request_of(key: &WithdrawalKey, rec: &WithdrawalRecord) -> Option<MintRequest> {
        rec.is_pending().then(|| MintRequest {
            withdrawal_id: key.id(),
            user: key.user(),
            amount_e8s: rec.amount_e8s,
            created_at_ns: rec.created_at_ns,
            origin_shard: rec.origin_shard,
        })
    }

    /// Counts an attempt about to be sent to the hub.
    #[cfg(test)] // the canister uses `begin_attempt`
    pub fn note_attempt(&mut self, key: &WithdrawalKey, now_ns: u64) {
        if let Some(rec) = self.withdrawals.get(key).map(|r| r.decode()) {
            self.count_attempt(key, rec, now_ns);
        }
    }

    /// [`Self::mint_request`] and [`Self::note_attempt`] with one read of the entry (each
    /// decode of it costs tens of thousands of instructions): the request to send, counted;
    /// `None` (nothing counted) if the withdrawal is not Pending.
    pub fn begin_attempt(&mut self, key: &WithdrawalKey, now_ns: u64) -> Option<MintRequest> {
        let rec = self.withdrawals.get(key)?.decode();
        let request = Self::request_of(key, &rec)?;
        self.count_attempt(key, rec, now_ns);
        Some(request)
    }

    fn count_attempt(&mut self, key: &WithdrawalKey, mut rec: WithdrawalRecord, now_ns: u64) {
        rec.attempts = rec.attempts.saturating_add(1);
        rec.updated_at_ns = now_ns;
        self.retry_queue.remove(&RetryKey::new(rec.next_retry_ns, key));
        rec.next_retry_ns = journal::next_retry_ns(now_ns, rec.attempts);
        if rec.is_pending() {
            self.retry_queue.insert(RetryKey::new(rec.next_retry_ns, key), ());
        }
        self.withdrawals.insert(key.clone(), StoredWithdrawal::new(&rec));
    }

    /// Applies the hub's answer. Only a Pending withdrawal changes: Minted settles it as
    /// Completed; a definite refusal as Failed, crediting the amount back; anything else leaves
    /// it Pending with the reason (the retry time was set by [`Self::note_attempt`]).
    pub fn settle_withdrawal(&mut self, key: &WithdrawalKey, answer: MintAnswer, now_ns: u64) -> Option<Withdrawal> {
        let mut rec = self.withdrawals.get(key)?.decode();
        if !rec.is_pending() {
            return Some(rec.view(key));
        }
        let amount = rec.amount_e8s;
        match answer {
            MintAnswer::Minted(block_index) => {
                rec.state = WithdrawalState::Completed { block_index };
                self.pending_withdrawals.remove(key);
                self.retry_queue.remove(&RetryKey::new(rec.next_retry_ns, key));
                self.update_withdrawal_counters(|c| {
                    c.pending_e8s = sub(c.pending_e8s, amount, "pending withdrawals");
                    c.pending_count -= 1;
                    c.withdrawn_e8s = add(c.withdrawn_e8s, amount, "withdrawn");
                    c.completed_count += 1;
                });
            }
            MintAnswer::Refused(e) if e.is_definite() => {
                let reason = match e {
                    MintError::Refused { reason } => format!("refused by the hub: {reason}"),
                    MintError::LedgerRejected { reason } => format!("refused by the ledger: {reason}"),
                    MintError::TryLater { .. } => unreachable!("not definite"),
                };
                rec.state = WithdrawalState::Failed { reason };
                self.pending_withdrawals.remove(key);
                self.retry_queue.remove(&RetryKey::new(rec.next_retry_ns, key));
                let user = key.user();
                let mut user_rec = self.users.get(&user).expect("a user with withdrawals stays registered");
                user_rec.staked_e8s = add(user_rec.staked_e8s, amount, "staked balance");
                self.users.insert(user, user_rec);
                self.update_counters(|c| c.total_staked_e8s = add(c.total_staked_e8s, amount, "total staked"));
                self.update_withdrawal_counters(|c| {
                    c.pending_e8s = sub(c.pending_e8s, amount, "pending withdrawals");
                    c.pending_count -= 1;
                    c.failed_count += 1;
                });
            }
            MintAnswer::Refused(MintError::TryLater { reason }) | MintAnswer::Unsettled(reason) => {
                rec.state = WithdrawalState::Pending { last_error: Some(reason) };
            }
            MintAnswer::Refused(_) => unreachable!("definite refusals are matched above"),
        }
        rec.updated_at_ns = now_ns;
        self.withdrawals.insert(key.clone(), StoredWithdrawal::new(&rec));
        Some(rec.view(key))
    }

    /// Pending withdrawals due for a retry, most overdue first, at most `limit`.
    pub fn due_withdrawals(&self, now_ns: u64, limit: usize) -> Vec<WithdrawalKey> {
        self.retry_queue
            .keys()
            .take_while(|k| k.retry_at_ns() <= now_ns)
            .take(limit)
            .map(|k| k.withdrawal())
            .collect()
    }

    /// When the earliest Pending withdrawal is due (its first send or its retry), if any.
    pub fn next_withdrawal_due_ns(&self) -> Option<u64> {
        self.retry_queue.keys().next().map(|k| k.retry_at_ns())
    }

    pub fn has_pending_withdrawals(&self) -> bool {
        !self.pending_withdrawals.is_empty()
    }

    /// The user's withdrawals, newest first: (offset, limit), limit capped at 100.
    pub fn withdrawals_of(&self, user: &Principal, offset: u64, limit: u64) -> Result<Vec<Withdrawal>, ShardError> {
        if !self.is_registered(user) {
            return Err(ShardError::NotRegistered);
        }
        let limit = limit.min(MAX_WITHDRAWALS_PAGE) as usize;
        Ok(self
            .withdrawals
            .range(WithdrawalKey::first_of(user)..=WithdrawalKey::last_of(user))
            .rev()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(limit)
            .map(|e| e.value().decode().view(e.key()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LOW_WATER_REWARDS;
    use platform_types::{Gender, GrantWithheld, NANOS_PER_DAY};

    const T0: u64 = 20_000 * NANOS_PER_DAY + 10 * 3_600 * 1_000_000_000; // 10:00 UTC
    const REWARD: u64 = 100;
    const CHUNK: u64 = 10_000;

    pub fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    fn config() -> PlatformConfig {
        PlatformConfig {
            reward_per_quiz_e8s: REWARD,
            allowance_chunk_e8s: CHUNK,
            daily_attempt_limit: 3,
            // The rules below are about other things; dust rules have tests of their own.
            min_withdrawal_e8s: Some(1),
            withdrawal_cooldown_secs: Some(0),
            ..PlatformConfig::default()
        }
    }

    fn fresh() -> ShardState<DefaultMemoryImpl> {
        let mut s = ShardState::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        s.set_init_args(ShardInitArgs { hub_id: p(200), learning_content_id: p(201), config: config(), config_version: None, module_hash: None });
        s
    }

    fn grant(s: &mut ShardState<DefaultMemoryImpl>, amount: u64) {
        let claimed = s.claim_report(true);
        let total = s.counters().allowance_received_e8s + amount;
        s.report_succeeded(&claimed, Some(&AllowanceGrant { granted_e8s: amount, shard_granted_total_e8s: total, withheld: None }), T0);
    }

    fn pass() -> VerifyResult {
        VerifyResult { correct: 3, total: 3, passed: true }
    }

    fn fail() -> VerifyResult {
        VerifyResult { correct: 0, total: 3, passed: false }
    }

    fn check_invariant(s: &ShardState<DefaultMemoryImpl>) {
        let c = s.counters();
        let w = s.withdrawal_counters();
        assert_eq!(
            c.allowance_received_e8s,
            c.allowance_available_e8s + c.allowance_reserved_e8s + c.total_staked_e8s + w.pending_e8s + w.withdrawn_e8s,
            "{c:?} {w:?}"
        );
        let staked: u64 = s.users.iter().map(|e| e.value().staked_e8s).sum();
        assert_eq!(staked, c.total_staked_e8s);
        let pending: u64 = s
            .pending_withdrawals
            .keys()
            .map(|k| s.withdrawals.get(&k).unwrap().decode().amount_e8s)
            .sum();
        assert_eq!((pending, s.pending_withdrawals.len()), (w.pending_e8s, w.pending_count));
        assert_eq!(s.retry_queue.len(), s.pending_withdrawals.len(), "every Pending withdrawal is queued once");
    }

    /// A user with `passes` passed quizzes' worth of stake.
    fn staked_user(s: &mut ShardState<DefaultMemoryImpl>, user: Principal, passes: u32) {
        s.register_user(user, T0).unwrap();
        for i in 0..passes {
            if s.counters().allowance_available_e8s < REWARD {
                grant(s, CHUNK);
            }
            let unit = format!("unit-{i}");
            let day = T0 + i as u64 * NANOS_PER_DAY; // one attempt a day stays under the limit
            let t = s.begin_submission(user, &unit, day, false).unwrap();
            s.finish_submission(t, &pass(), day);
        }
    }

    fn definite(reason: &str) -> MintAnswer {
        MintAnswer::Refused(MintError::LedgerRejected { reason: reason.into() })
    }

    #[test]
    fn config_pushes_apply_only_newer_versions() {
        let mut s = fresh();
        assert_eq!(s.config_version(), 0);
        let next = PlatformConfig { daily_attempt_limit: 9, ..config() };
        assert_eq!(s.apply_config(2, next.clone(), None), Ok((2, true)));
        assert_eq!((s.config().daily_attempt_limit, s.config_version()), (9, 2));
        assert_eq!(s.apply_config(2, config(), None), Ok((2, false)), "the same version again changes nothing");
        assert_eq!(s.apply_config(1, config(), None), Ok((2, false)), "an older push changes nothing");
        assert_eq!(s.config().daily_attempt_limit, 9);
        let bad = PlatformConfig { pass_mark_percent: 0, ..config() };
        assert!(s.apply_config(3, bad, None).unwrap_err().contains("pass_mark_percent"));
        assert_eq!(s.hub_id(), p(200), "the rest of the init args stays");
    }

    #[test]
    fn unstake_debits_and_journals_before_anything_else() {
        let mut s = fresh();
        staked_user(&mut s, p(1), 3);
        assert_eq!(s.view(&p(1), T0).unwrap().staked_e8s, 3 * REWARD);
        let key = s.begin_unstake(p(1), 2 * REWARD, T0 + 1).unwrap();
        check_invariant(&s);
        assert_eq!(s.view(&p(1), T0).unwrap().staked_e8s, REWARD);
        assert_eq!(s.counters().total_staked_e8s, REWARD);
        let w = s.withdrawal(&key).unwrap();
        assert_eq!((w.id, w.amount_e8s, w.to, w.created_at_ns), (1, 2 * REWARD, p(1), T0 + 1));
        assert_eq!(w.state, WithdrawalState::Pending { last_error: None });
        let req = s.mint_request(&key).unwrap();
        assert_eq!(
            req,
            MintRequest { withdrawal_id: 1, user: p(1), amount_e8s: 2 * REWARD, created_at_ns: T0 + 1, origin_shard: None }
        );
        assert_eq!(s.stats().pending_withdrawals_e8s, 2 * REWARD);
        // The next id is 2; the whole rest can go too, but not a e8s more.
        assert!(matches!(s.begin_unstake(p(1), REWARD + 1, T0), Err(UnstakeError::BadAmount { .. })));
        assert!(matches!(s.begin_unstake(p(1), 0, T0), Err(UnstakeError::BadAmount { .. })));
        assert_eq!(s.begin_unstake(p(9), 1, T0), Err(UnstakeError::NotRegistered));
        assert_eq!(s.begin_unstake(p(1), REWARD, T0).unwrap().id(), 2);
        assert!(matches!(s.begin_unstake(p(1), 1, T0), Err(UnstakeError::BadAmount { .. })), "balance is 0 now");
        check_invariant(&s);
        s.set_disabled(true);
        assert_eq!(s.begin_unstake(p(1), 1, T0), Err(UnstakeError::ShardDisabled));
    }

    /// `begin_attempt` (what the canister sends) is `mint_request` then `note_attempt` in one
    /// read: same request, same count and retry time; nothing for a settled withdrawal.
    #[test]
    fn an_attempt_is_the_request_and_its_count_in_one_step() {
        let mut s = fresh();
        staked_user(&mut s, p(1), 3);
        let one = s.begin_unstake(p(1), REWARD, T0).unwrap();
        let two = s.begin_unstake(p(1), REWARD, T0).unwrap();
        let expected = s.mint_request(&one).unwrap();
        s.note_attempt(&two, T0 + 5);
        assert_eq!(s.begin_attempt(&one, T0 + 5), Some(expected));
        let (w1, w2) = (s.withdrawal(&one).unwrap(), s.withdrawal(&two).unwrap());
        assert_eq!((w1.attempts, w1.updated_at_ns), (w2.attempts, w2.updated_at_ns));
        assert_eq!((w1.attempts, w1.updated_at_ns), (1, T0 + 5));
        assert_eq!(s.due_withdrawals(journal::next_retry_ns(T0 + 5, 1), 10).len(), 2, "both re-queued alike");
        assert!(s.due_withdrawals(T0 + 5, 10).is_empty(), "neither is due before its retry time");
        check_invariant(&s);
        s.settle_withdrawal(&one, MintAnswer::Minted(4), T0 + 6);
        assert_eq!(s.begin_attempt(&one, T0 + 7), None, "a settled withdrawal is never sent again");
        assert_eq!(s.withdrawal(&one).unwrap().attempts, 1, "nor counted");
        check_invariant(&s);
    }

    /// With batching on, `unstake` only queues: the entry is what the learner gets back, no
    /// attempt is counted, and the next withdrawal round finds it due with the others.
    #[test]
    fn a_queued_unstake_is_due_at_once_for_the_next_round() {
        let mut s = fresh();
        staked_user(&mut s, p(1), 3);
        staked_user(&mut s, p(2), 3);
        assert_eq!(s.next_withdrawal_due_ns(), None);
        let w1 = s.queue_unstake(p(1), REWARD, T0 + 1, T0 + 61).unwrap();
        let w2 = s.queue_unstake(p(2), 2 * REWARD, T0 + 9, T0 + 69).unwrap();
        assert_eq!(s.next_withdrawal_due_ns(), Some(T0 + 61), "the first one's window ends first");
        assert_eq!((w1.id, w1.amount_e8s, w1.to, w1.attempts), (1, REWARD, p(1), 0));
        assert_eq!(w1.state, WithdrawalState::Pending { last_error: None });
        assert_eq!(s.withdrawal(&WithdrawalKey::new(&p(2), w2.id)), Some(w2.clone()), "the answer is the journaled entry");
        assert!(s.due_withdrawals(T0 + 60, 10).is_empty(), "neither before its window ends");
        // The round at T0 + 61 sends what is due before the end of the next window.
        assert_eq!(s.due_withdrawals(T0 + 61 + 60, 10).len(), 2, "both go in the first round");
        assert_eq!(s.view(&p(1), T0).unwrap().staked_e8s, 2 * REWARD);
        check_invariant(&s);
        assert!(matches!(s.queue_unstake(p(1), 10 * REWARD, T0, T0), Err(UnstakeError::BadAmount { .. })));
        check_invariant(&s);
    }

    /// The canister's `unstake` journals the withdrawal with its first attempt counted: the
    /// same state as journaling it, then counting the attempt.
    #[test]
    fn an_unstake_with_its_first_attempt_is_journaling_then_counting_in_one_write() {
        let (mut one_step, mut two_steps) = (fresh(), fresh());
        for s in [&mut one_step, &mut two_steps] {
            staked_user(s, p(1), 3);
        }
        let (key, request) = one_step.begin_unstake_attempt(p(1), REWARD, T0 + 3).unwrap();
        let key2 = two_steps.begin_unstake(p(1), REWARD, T0 + 3).unwrap();
        assert_eq!(two_steps.begin_attempt(&key2, T0 + 3), Some(request));
        assert_eq!(key, key2);
        assert_eq!(one_step.withdrawal(&key), two_steps.withdrawal(&key));
        assert_eq!(one_step.withdrawal(&key).unwrap().attempts, 1);
        let retry_at = journal::next_retry_ns(T0 + 3, 1);
        for s in [&one_step, &two_steps] {
            assert!(s.due_withdrawals(retry_at - 1, 10).is_empty());
            assert_eq!(s.due_withdrawals(retry_at, 10), vec![key.clone()]);
            assert_eq!(s.stats(), two_steps.stats());
            check_invariant(s);
        }
        assert!(matches!(one_step.begin_unstake_attempt(p(1), 3 * REWARD, T0), Err(UnstakeError::BadAmount { .. })));
    }

    #[test]
    fn settling_completes_fails_with_credit_back_or_keeps_pending() {
        let mut s = fresh();
        staked_user(&mut s, p(1), 5);
        let a = s.begin_unstake(p(1), REWARD, T0).unwrap();
        let b = s.begin_unstake(p(1), REWARD, T0).unwrap();
        let c = s.begin_unstake(p(1), REWARD, T0).unwrap();
        s.note_attempt(&a, T0);
        s.note_attempt(&b, T0);
        s.note_attempt(&c, T0);
        assert_eq!(s.withdrawal(&a).unwrap().attempts, 1);

        let done = s.settle_withdrawal(&a, MintAnswer::Minted(42), T0 + 5).unwrap();
        assert_eq!(done.state, WithdrawalState::Completed { block_index: 42 });
        assert_eq!(s.mint_request(&a), None, "a settled withdrawal is never sent again");
        check_invariant(&s);

        let failed = s.settle_withdrawal(&b, definite("BadFee"), T0 + 5).unwrap();
        assert!(matches!(&failed.state, WithdrawalState::Failed { reason } if reason.contains("BadFee")));
        assert_eq!(s.view(&p(1), T0).unwrap().staked_e8s, 3 * REWARD, "credited back");
        check_invariant(&s);

        let later = MintAnswer::Refused(MintError::TryLater { reason: "ledger stopped".into() });
        let still = s.settle_withdrawal(&c, later, T0 + 5).unwrap();
        assert_eq!(still.state, WithdrawalState::Pending { last_error: Some("ledger stopped".into()) });
        let still = s.settle_withdrawal(&c, MintAnswer::Unsettled("timeout".into()), T0 + 6).unwrap();
        assert_eq!(still.state, WithdrawalState::Pending { last_error: Some("timeout".into()) });
        check_invariant(&s);
        let stats = s.stats();
        assert_eq!(
            (stats.pending_withdrawals, stats.pending_withdrawals_e8s, stats.withdrawn_e8s),
            (1, REWARD, REWARD)
        );

        // Answers to settled entries change nothing (a late duplicate answer).
        assert_eq!(s.settle_withdrawal(&a, definite("x"), T0 + 9).unwrap().state, done.state);
        assert_eq!(s.settle_withdrawal(&b, MintAnswer::Minted(7), T0 + 9).unwrap().state, failed.state);
        assert_eq!(s.view(&p(1), T0).unwrap().staked_e8s, 3 * REWARD);
        check_invariant(&s);
        s.settle_withdrawal(&c, MintAnswer::Minted(43), T0 + 10);
        assert!(!s.has_pending_withdrawals());
        check_invariant(&s);
        assert_eq!(s.stats().withdrawn_e8s, 2 * REWARD);
    }

    #[test]
    fn retries_are_due_after_the_backoff_and_pending_entries_are_bounded_per_user() {
        let mut s = fresh();
        staked_user(&mut s, p(1), 7);
        let keys: Vec<_> = (0..MAX_PENDING_PER_USER).map(|_| s.begin_unstake(p(1), REWARD, T0).unwrap()).collect();
        assert_eq!(
            s.begin_unstake(p(1), REWARD, T0),
            Err(UnstakeError::TooManyPending { limit: MAX_PENDING_PER_USER })
        );
        assert_eq!(s.due_withdrawals(T0, 100).len(), keys.len(), "new entries are due at once");
        assert_eq!(s.due_withdrawals(T0, 2).len(), 2);
        for k in &keys {
            s.note_attempt(k, T0);
        }
        assert!(s.due_withdrawals(T0 + 1, 100).is_empty());
        assert_eq!(s.due_withdrawals(T0 + journal::FIRST_RETRY_DELAY_NS, 100).len(), keys.len());
        s.settle_withdrawal(&keys[0], MintAnswer::Minted(1), T0);
        assert!(s.begin_unstake(p(1), REWARD, T0).is_ok(), "a settled one frees a place");
    }

    #[test]
    fn withdrawals_past_the_ledger_dedup_horizon_are_parked_outside_the_pending_limit() {
        let mut s = fresh();
        staked_user(&mut s, p(1), 10);
        for _ in 0..MAX_PENDING_PER_USER {
            s.begin_unstake(p(1), REWARD, T0).unwrap();
        }
        let horizon = T0 + platform_types::LEDGER_DEDUP_HORIZON_NS;
        assert_eq!(
            s.begin_unstake(p(1), REWARD, horizon),
            Err(UnstakeError::TooManyPending { limit: MAX_PENDING_PER_USER })
        );
        let later = s.begin_unstake(p(1), REWARD, horizon + 1).expect("the old ones wait on reconciliation: parked");
        assert!(s.withdrawal(&later).is_some());
        assert_eq!(s.stats().pending_withdrawals, MAX_PENDING_PER_USER as u64 + 1, "parked ones stay Pending");
        check_invariant(&s);
    }

    #[test]
    fn the_retry_timer_takes_the_most_overdue_withdrawals_first_not_key_order() {
        let mut s = fresh();
        staked_user(&mut s, p(1), 5);
        staked_user(&mut s, p(2), 5);
        // p(1)'s keys sort first; its withdrawal has been retried many times (long backoff).
        let old = s.begin_unstake(p(1), REWARD, T0).unwrap();
        for _ in 0..8 {
            s.note_attempt(&old, T0);
        }
        let young = s.begin_unstake(p(2), REWARD, T0 + 1).unwrap();
        s.note_attempt(&young, T0 + 1);
        let t = T0 + 1 + journal::FIRST_RETRY_DELAY_NS;
        assert_eq!(s.due_withdrawals(t, 1), vec![young.clone()], "due first, though its key sorts later");
        let much_later = T0 + journal::MAX_RETRY_DELAY_NS;
        assert_eq!(s.due_withdrawals(much_later, 10), vec![young.clone(), old.clone()], "by retry time");
        s.settle_withdrawal(&young, MintAnswer::Minted(3), much_later);
        assert_eq!(s.due_withdrawals(much_later, 10), vec![old], "settled ones leave the queue");
    }

    #[test]
    fn the_retry_queue_is_filled_from_the_journal_after_an_upgrade_from_a_release_without_it() {
        let memory = DefaultMemoryImpl::default();
        let mut s = ShardState::open(&MemoryManager::init(memory.clone()));
        s.set_init_args(ShardInitArgs { hub_id: p(200), learning_content_id: p(201), config: config(), config_version: None, module_hash: None });
        staked_user(&mut s, p(1), 3);
        let a = s.begin_unstake(p(1), REWARD, T0).unwrap();
        let b = s.begin_unstake(p(1), REWARD, T0).unwrap();
        s.note_attempt(&a, T0);
        // What the older release left: Pending entries and no queue.
        s.retry_queue.clear_new();
        assert!(s.due_withdrawals(u64::MAX, 10).is_empty());
        let reopened = ShardState::open(&MemoryManager::init(memory));
        assert_eq!(reopened.due_withdrawals(T0, 10), vec![b]);
        assert_eq!(reopened.due_withdrawals(T0 + journal::FIRST_RETRY_DELAY_NS, 10).len(), 2);
    }

    #[test]
    fn dust_withdrawals_are_refused_below_the_minimum_and_within_the_cooldown() {
        let mut s = fresh();
        let mut c = config();
        c.min_withdrawal_e8s = Some(50);
        c.withdrawal_cooldown_secs = Some(3_600);
        s.apply_config(1, c, None).unwrap();
        staked_user(&mut s, p(1), 5);
        assert_eq!(s.begin_unstake(p(1), 49, T0), Err(UnstakeError::BelowMinimum { minimum_e8s: 50 }));
        let first = s.begin_unstake(p(1), 50, T0).unwrap();
        let next_allowed_ns = T0 + 3_600 * 1_000_000_000;
        assert_eq!(s.begin_unstake(p(1), 60, T0 + 1), Err(UnstakeError::CoolingDown { next_allowed_ns }));
        assert_eq!(s.begin_unstake(p(1), 60, next_allowed_ns - 1), Err(UnstakeError::CoolingDown { next_allowed_ns }));
        // A failed withdrawal (credited back) does not hold the learner back.
        s.settle_withdrawal(&first, definite("BadFee"), T0 + 2);
        let second = s.begin_unstake(p(1), 60, T0 + 3).unwrap();
        s.settle_withdrawal(&second, MintAnswer::Minted(1), T0 + 4);
        assert!(matches!(s.begin_unstake(p(1), 60, T0 + 5), Err(UnstakeError::CoolingDown { .. })), "a completed one does");
        assert!(s.begin_unstake(p(1), 60, T0 + 3 + 3_600 * 1_000_000_000).is_ok());
        check_invariant(&s);
    }

    #[test]
    fn withdrawals_are_listed_newest_first_per_user() {
        let mut s = fresh();
        staked_user(&mut s, p(1), 3);
        staked_user(&mut s, p(2), 1);
        let a1 = s.begin_unstake(p(1), 10, T0).unwrap();
        let b1 = s.begin_unstake(p(2), 20, T0).unwrap();
        let a2 = s.begin_unstake(p(1), 30, T0).unwrap();
        s.settle_withdrawal(&a1, MintAnswer::Minted(9), T0);
        let mine = s.withdrawals_of(&p(1), 0, 10).unwrap();
        assert_eq!(mine.iter().map(|w| w.id).collect::<Vec<_>>(), vec![a2.id(), a1.id()]);
        assert_eq!(mine[1].state, WithdrawalState::Completed { block_index: 9 });
        assert_eq!(s.withdrawals_of(&p(1), 1, 10).unwrap().len(), 1);
        assert_eq!(s.withdrawals_of(&p(1), 0, 1).unwrap()[0].id, a2.id());
        assert_eq!(s.withdrawals_of(&p(2), 0, 10).unwrap()[0].id, b1.id());
        assert_eq!(s.withdrawals_of(&p(3), 0, 10), Err(ShardError::NotRegistered));
    }

    #[test]
    fn registration_is_idempotent_and_closed_when_disabled() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        s.register_user(p(1), T0 + 5).unwrap();
        assert_eq!(s.user_count(), 1);
        assert_eq!(s.view(&p(1), T0 + 9).unwrap().registered_at_ns, T0, "a second registration changes nothing");
        assert!(matches!(s.register_user(Principal::anonymous(), T0), Err(ShardError::BadInput { .. })));
        s.set_disabled(true);
        assert_eq!(s.register_user(p(2), T0), Err(ShardError::ShardDisabled));
        assert_eq!(s.register_user(p(1), T0), Ok(()), "an existing user is still Ok");
        assert!(s.stats().disabled);
        assert_eq!(s.view(&p(2), T0), Err(ShardError::NotRegistered));
    }

    #[test]
    fn profile_updates_are_validated() {
        let mut s = fresh();
        let input = ProfileInput {
            email: "Ada@Example.ORG".into(),
            name: " Ada ".into(),
            education: "".into(),
            gender: Gender::Female,
        };
        assert_eq!(s.update_profile(p(1), &input, T0), Err(ShardError::NotRegistered));
        s.register_user(p(1), T0).unwrap();
        let v = s.update_profile(p(1), &input, T0 + 1).unwrap();
        let stored = v.profile.clone().unwrap();
        assert_eq!((stored.email.as_str(), stored.name.as_str()), ("Ada@example.org", "Ada"));
        assert_eq!(v.last_active_ns, T0 + 1);
        for (bad, field) in [
            (ProfileInput { email: "nope".into(), ..input.clone() }, "email"),
            (ProfileInput { name: "  ".into(), ..input.clone() }, "name"),
            (ProfileInput { education: "x".repeat(101), ..input.clone() }, "education"),
            (ProfileInput { name: "a\u{7}b".into(), ..input.clone() }, "name and education"),
            (ProfileInput { name: "Ada\u{202E}gpj.exe".into(), ..input.clone() }, "name and education"),
        ] {
            match s.update_profile(p(1), &bad, T0 + 2) {
                Err(ShardError::BadInput { detail }) => assert!(detail.starts_with(field), "{detail}"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(s.view(&p(1), T0 + 3).unwrap().profile, Some(stored), "a rejected update changes nothing");
        s.set_disabled(true);
        assert_eq!(s.update_profile(p(1), &input, T0), Err(ShardError::ShardDisabled));
        assert!(s.view(&p(1), T0).is_ok(), "reads keep working");
    }

    #[test]
    fn a_failed_outcome_does_not_depend_on_how_many_answers_were_right() {
        // Issue 11: the reply must not be a scoring oracle. One wrong answer and all wrong
        // answers give the same outcome, apart from the attempts left.
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        grant(&mut s, CHUNK);
        let t = s.begin_submission(p(1), "u1", T0, false).unwrap();
        let one_wrong = s.finish_submission(t, &VerifyResult { correct: 2, total: 3, passed: false }, T0 + 1);
        let t = s.begin_submission(p(1), "u1", T0 + 2, false).unwrap();
        let all_wrong = s.finish_submission(t, &fail(), T0 + 3);
        assert_eq!((one_wrong.attempts_left_today, all_wrong.attempts_left_today), (2, 1));
        assert_eq!(QuizOutcome { attempts_left_today: 0, ..one_wrong }, QuizOutcome { attempts_left_today: 0, ..all_wrong });
        assert_eq!((all_wrong.passed, all_wrong.reward_e8s, all_wrong.total), (false, 0, 3));
        check_invariant(&s);
    }

    #[test]
    fn a_pass_credits_the_reserved_reward_once() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        assert_eq!(s.begin_submission(p(1), "u1", T0, false), Err(Blocked::NeedsAllowance), "no allowance yet");
        assert_eq!(s.view(&p(1), T0).unwrap().attempts_today, 0, "nothing counted");
        grant(&mut s, CHUNK);
        let t = s.begin_submission(p(1), "u1", T0, false).unwrap();
        assert_eq!(s.counters().allowance_reserved_e8s, REWARD);
        assert_eq!(s.counters().allowance_available_e8s, CHUNK - REWARD);
        assert_eq!(s.stats().allowance_remaining_e8s, CHUNK, "reserved is still unpaid");
        check_invariant(&s);
        let out = s.finish_submission(t, &pass(), T0 + 1);
        assert_eq!(
            out,
            QuizOutcome {
                total: 3,
                passed: true,
                reward_e8s: REWARD,
                reward_owed_e8s: None,
                staked_e8s: REWARD,
                attempts_left_today: 2
            }
        );
        check_invariant(&s);
        assert_eq!(s.counters().allowance_reserved_e8s, 0);
        assert_eq!(
            s.begin_submission(p(1), "u1", T0 + 2, false),
            Err(Blocked::Rejected(ShardError::AlreadyCompleted { unit_id: "u1".into() }))
        );
        let v = s.view(&p(1), T0 + 2).unwrap();
        assert_eq!((v.staked_e8s, v.earned_today_e8s, v.completed_units, v.attempts_today), (REWARD, REWARD, 1, 1));
        let st = s.stats();
        assert_eq!((st.total_staked_e8s, st.quizzes_passed, st.quizzes_submitted), (REWARD, 1, 1));
    }

    #[test]
    fn a_failed_attempt_counts_and_releases_the_reservation() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        grant(&mut s, CHUNK);
        for i in 0..3u32 {
            let t = s.begin_submission(p(1), "u1", T0 + i as u64, false).unwrap();
            let out = s.finish_submission(t, &fail(), T0);
            assert_eq!((out.passed, out.reward_e8s, out.attempts_left_today), (false, 0, 2 - i));
            check_invariant(&s);
        }
        assert_eq!(s.counters().allowance_available_e8s, CHUNK);
        assert_eq!(s.counters().allowance_reserved_e8s, 0);
        assert_eq!(
            s.begin_submission(p(1), "u2", T0 + 10, false),
            Err(Blocked::Rejected(ShardError::DailyLimitReached { limit: 3 })),
            "failed attempts count toward the limit, whatever the unit"
        );
        assert_eq!(s.stats().quizzes_submitted, 3);
    }

    #[test]
    fn a_refused_submission_counts_against_the_daily_limit_and_releases_the_reservation() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        grant(&mut s, CHUNK);
        for i in 0..3u32 {
            let t = s.begin_submission(p(1), "no-such-unit", T0 + i as u64, false).unwrap();
            s.refuse_submission(t);
            check_invariant(&s);
            assert_eq!(s.view(&p(1), T0).unwrap().attempts_today, i + 1);
        }
        assert_eq!((s.counters().allowance_available_e8s, s.counters().allowance_reserved_e8s), (CHUNK, 0));
        assert_eq!(
            s.begin_submission(p(1), "u1", T0 + 10, false),
            Err(Blocked::Rejected(ShardError::DailyLimitReached { limit: 3 })),
            "malformed submissions spend the day's attempts"
        );
    }

    #[test]
    fn a_status_push_older_than_the_one_in_force_changes_nothing() {
        let mut s = fresh();
        assert!(s.apply_status(true, None), "unversioned pushes apply while no epoch was seen");
        assert!(s.apply_status(true, Some(1)));
        assert!(s.apply_status(false, Some(2)));
        assert!(!s.is_disabled());
        assert!(!s.apply_status(true, Some(1)), "a stale push from an old run");
        assert!(!s.apply_status(true, None), "an unversioned push after a versioned one");
        assert!(!s.is_disabled());
        assert!(s.apply_status(false, Some(2)), "a retry of the push in force is idempotent");
        assert!(s.apply_status(true, Some(3)));
        assert!(s.is_disabled());
        assert_eq!(s.counters().status_epoch, Some(3));
    }

    #[test]
    fn a_cancelled_submission_is_not_counted() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        grant(&mut s, CHUNK);
        for _ in 0..5 {
            let t = s.begin_submission(p(1), "u1", T0, false).unwrap();
            s.cancel_submission(t);
            check_invariant(&s);
        }
        let v = s.view(&p(1), T0).unwrap();
        assert_eq!((v.attempts_today, v.staked_e8s), (0, 0));
        assert_eq!(s.counters().allowance_available_e8s, CHUNK);
        assert_eq!(s.stats().quizzes_submitted, 0);
    }

    #[test]
    fn the_daily_limit_resets_at_utc_midnight() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        grant(&mut s, CHUNK);
        let midnight = (T0 / NANOS_PER_DAY + 1) * NANOS_PER_DAY;
        for unit in ["a", "b", "c"] {
            let t = s.begin_submission(p(1), unit, midnight - 10, false).unwrap();
            s.finish_submission(t, &pass(), midnight - 10);
        }
        assert!(matches!(
            s.begin_submission(p(1), "d", midnight - 1, false),
            Err(Blocked::Rejected(ShardError::DailyLimitReached { .. }))
        ));
        let v = s.view(&p(1), midnight).unwrap();
        assert_eq!(
            (v.day, v.attempts_today, v.earned_today_e8s, v.staked_e8s),
            (midnight / NANOS_PER_DAY, 0, 0, 3 * REWARD)
        );
        let t = s.begin_submission(p(1), "d", midnight, false).unwrap();
        let out = s.finish_submission(t, &pass(), midnight);
        assert_eq!(out.attempts_left_today, 2);
        let v = s.view(&p(1), midnight).unwrap();
        assert_eq!((v.attempts_today, v.earned_today_e8s, v.staked_e8s), (1, REWARD, 4 * REWARD));
    }

    #[test]
    fn a_submission_across_midnight_keeps_its_day() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        grant(&mut s, CHUNK);
        let midnight = (T0 / NANOS_PER_DAY + 1) * NANOS_PER_DAY;
        let t = s.begin_submission(p(1), "a", midnight - 1, false).unwrap();
        // The verdict arrives after midnight; a later submission rolls the day first.
        let out = s.finish_submission(t, &pass(), midnight + 1);
        assert_eq!(out.reward_e8s, REWARD);
        let v = s.view(&p(1), midnight + 2).unwrap();
        assert_eq!((v.attempts_today, v.earned_today_e8s), (0, 0));
        // Cancelling after the day rolled does not touch the new day's counter.
        let t = s.begin_submission(p(1), "b", midnight + 3, false).unwrap();
        let t2 = s.begin_submission(p(1), "c", midnight + 3, false).unwrap();
        s.cancel_submission(Ticket { day: t2.day - 1, ..t2 });
        assert_eq!(s.view(&p(1), midnight + 4).unwrap().attempts_today, 2);
        s.finish_submission(t, &fail(), midnight + 5);
        check_invariant(&s);
    }

    #[test]
    fn rewards_need_allowance_and_stop_at_the_hard_cap() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        grant(&mut s, REWARD); // exactly one reward
        let t = s.begin_submission(p(1), "a", T0, false).unwrap();
        assert_eq!(s.begin_submission(p(2), "a", T0, false), Err(Blocked::Rejected(ShardError::NotRegistered)));
        s.register_user(p(2), T0).unwrap();
        assert_eq!(
            s.begin_submission(p(2), "a", T0, false),
            Err(Blocked::NeedsAllowance),
            "the only reward is reserved"
        );
        s.finish_submission(t, &pass(), T0);
        assert_eq!(s.begin_submission(p(2), "a", T0, false), Err(Blocked::NeedsAllowance));
        s.set_hard_cap_reached();
        assert_eq!(s.begin_submission(p(2), "a", T0, false), Err(Blocked::Rejected(ShardError::RewardsExhausted)));
        assert!(!s.wants_proactive_refill(T0), "no refill after the hard cap");
        check_invariant(&s);
    }

    #[test]
    fn an_unfunded_pass_counts_and_its_reward_is_owed_never_paid_from_nothing() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        // A fail needs no reward: it counts.
        let t = s.begin_submission(p(1), "a", T0, true).unwrap();
        assert_eq!(t.reserved_e8s, 0);
        let out = s.finish_submission(t, &fail(), T0);
        assert_eq!((out.passed, out.attempts_left_today, out.reward_owed_e8s), (false, 2, None));
        // A pass with no allowance: counted and completed, the reward owed (not paid from nothing).
        let t = s.begin_submission(p(1), "a", T0, true).unwrap();
        let out = s.finish_submission(t, &pass(), T0);
        assert_eq!((out.passed, out.reward_e8s, out.reward_owed_e8s, out.staked_e8s), (true, 0, Some(REWARD), 0));
        let v = s.view(&p(1), T0).unwrap();
        assert_eq!((v.attempts_today, v.staked_e8s, v.completed_units, v.rewards_owed_e8s), (2, 0, 1, Some(REWARD)));
        assert_eq!((s.stats().quizzes_passed, s.stats().rewards_owed_e8s), (1, Some(REWARD)));
        assert!(s.is_completed(&p(1), "a"));
        check_invariant(&s);
        // Allowance that arrives while a verdict is awaited pays the owed reward first.
        let t = s.begin_submission(p(1), "b", T0, true).unwrap();
        grant(&mut s, CHUNK);
        assert_eq!(s.view(&p(1), T0).unwrap().rewards_owed_e8s, Some(0), "paid on arrival");
        let out = s.finish_submission(t, &pass(), T0);
        assert_eq!((out.reward_e8s, out.staked_e8s, out.attempts_left_today), (REWARD, 2 * REWARD, 0));
        assert_eq!(s.counters().allowance_available_e8s, CHUNK - 2 * REWARD);
        check_invariant(&s);
        // Unfunded never overrides the hard cap.
        s.set_hard_cap_reached();
        let c = s.counters().clone();
        let mut capped = c.clone();
        capped.allowance_available_e8s = 0;
        s.counters.set(StableCandid(capped));
        s.register_user(p(2), T0).unwrap();
        assert_eq!(s.begin_submission(p(2), "b", T0, true), Err(Blocked::Rejected(ShardError::RewardsExhausted)));
    }

    /// The hub's answer when the day's emission budget is used up.
    fn budget_used(s: &mut ShardState<DefaultMemoryImpl>, resets_at_ns: u64) {
        let claimed = s.claim_report(true);
        let total = s.counters().allowance_received_e8s;
        let withheld = Some(GrantWithheld::DailyBudgetUsed { resets_at_ns });
        s.report_succeeded(&claimed, Some(&AllowanceGrant { granted_e8s: 0, shard_granted_total_e8s: total, withheld }), T0);
    }

    #[test]
    fn when_the_daily_budget_is_used_up_passes_are_owed_then_paid_once_in_order() {
        let mut s = fresh();
        let next_day = (T0 / NANOS_PER_DAY + 1) * NANOS_PER_DAY;
        for n in 1..=3 {
            s.register_user(p(n), T0).unwrap();
        }
        grant(&mut s, REWARD);
        let t = s.begin_submission(p(1), "a", T0, false).unwrap();
        assert_eq!(s.finish_submission(t, &pass(), T0).reward_e8s, REWARD, "funded while the budget lasts");
        assert_eq!(s.begin_submission(p(2), "a", T0, false), Err(Blocked::NeedsAllowance));
        budget_used(&mut s, next_day);
        assert!(s.budget_exhausted(T0) && !s.budget_exhausted(next_day));
        assert!(!s.wants_proactive_refill(T0), "no refill asked before the budget resets");
        // No refill needed to go ahead: the shard knows the budget is used up.
        for n in [2, 3, 2] {
            let unit = if n == 2 && s.owed_of(&p(2)) > 0 { "b" } else { "a" };
            let t = s.begin_submission(p(n), unit, T0 + 1, false).unwrap();
            let out = s.finish_submission(t, &pass(), T0 + 1);
            assert_eq!((out.reward_e8s, out.reward_owed_e8s), (0, Some(REWARD)));
        }
        assert_eq!((s.owed_of(&p(2)), s.owed_of(&p(3))), (2 * REWARD, REWARD));
        assert_eq!(s.stats().quizzes_passed, 4, "every pass counts");
        check_invariant(&s);
        assert!(s.wants_proactive_refill(next_day), "the next day the owed rewards ask for allowance");
        // Part of the next day's grant: the oldest owed rewards first, the rest keeps waiting.
        let claimed = s.claim_report(true);
        let total = s.counters().allowance_received_e8s + 2 * REWARD;
        s.report_succeeded(&claimed, Some(&AllowanceGrant { granted_e8s: 2 * REWARD, shard_granted_total_e8s: total, withheld: None }), next_day);
        assert_eq!((s.owed_of(&p(2)), s.owed_of(&p(3))), (REWARD, 0), "p2's first, then p3's");
        assert_eq!(s.view(&p(3), next_day).unwrap().staked_e8s, REWARD);
        assert_eq!(s.counters().allowance_available_e8s, 0);
        check_invariant(&s);
        // A new pass does not overtake the queue even once allowance is there.
        grant(&mut s, CHUNK);
        assert_eq!(s.owed_of(&p(2)), 0);
        assert_eq!(s.view(&p(2), next_day).unwrap().staked_e8s, 2 * REWARD);
        assert_eq!(s.stats().rewards_owed_e8s, Some(0));
        // Paid at most once: more grants pay nothing more.
        grant(&mut s, CHUNK);
        assert_eq!(s.view(&p(2), next_day).unwrap().staked_e8s, 2 * REWARD);
        assert_eq!(s.pay_owed_rewards(10), 0);
        check_invariant(&s);
    }

    /// A submission pays owed rewards waiting (at most 500 a step) before it reads the
    /// learner's record: when the one paid is the submitter's own, the credit must survive the
    /// submission's write of that record. (Before issue 14 the record was read first and written
    /// back over the credit: a lost reward and `total_staked` above the learners' sum.)
    #[test]
    fn an_owed_reward_paid_by_the_owners_own_submission_is_kept() {
        let mut s = fresh();
        let next_day = (T0 / NANOS_PER_DAY + 1) * NANOS_PER_DAY;
        let learner = |n: u32| Principal::from_slice(&[&n.to_be_bytes()[..], &[7; 25][..]].concat());
        let n = MAX_OWED_PAID_PER_STEP as u32 + 1;
        for i in 0..n {
            s.register_user(learner(i), T0).unwrap();
        }
        budget_used(&mut s, next_day);
        for i in 0..n {
            let t = s.begin_submission(learner(i), "a", T0 + 1, false).unwrap();
            assert_eq!(s.finish_submission(t, &pass(), T0 + 1).reward_owed_e8s, Some(REWARD));
        }
        // The next day's grant covers all of them and the next pass, but pays 500 a step: the
        // last learner's waits.
        grant(&mut s, (u64::from(n) + 1) * REWARD);
        let last = learner(n - 1);
        assert_eq!(s.owed_of(&last), REWARD);
        check_invariant(&s);
        // The last learner's next submission pays it first, then is funded itself.
        let b = scored(&mut s, "b", pass());
        let out = s.submit_scored(last, "b", &b, next_day, false).unwrap();
        assert_eq!((out.reward_e8s, out.staked_e8s), (REWARD, 2 * REWARD));
        assert_eq!(s.owed_of(&last), 0);
        assert_eq!(s.view(&last, next_day).unwrap().staked_e8s, 2 * REWARD);
        check_invariant(&s);
    }

    /// `verdict` for `unit_id`, with the number the answer keys would give it.
    fn scored(s: &mut ShardState<DefaultMemoryImpl>, unit_id: &str, verdict: VerifyResult) -> answer_keys::Scored {
        answer_keys::Scored { verdict, unit: s.intern_unit(unit_id) }
    }

    #[test]
    fn units_are_interned_when_their_keys_arrive_and_submissions_only_read_the_numbers() {
        use platform_types::answer_keys::{AnswerKeySet, UnitAnswerKey};
        let mut s = fresh();
        grant(&mut s, CHUNK);
        s.register_user(p(1), T0).unwrap();
        // A unit completed before local verification keeps its number.
        let t = s.begin_submission(p(1), "c", T0, false).unwrap();
        s.finish_submission(t, &pass(), T0);
        let key = |id: &str| UnitAnswerKey { unit_id: id.into(), correct: vec![1], option_counts: vec![2] };
        let set = AnswerKeySet { version: 1, keys: vec![key("b"), key("c"), key("a")] };
        assert_eq!(s.apply_answer_keys(&set), Ok(1));
        assert_eq!(s.unit_count(), 3, "a and b interned with their keys, c kept");
        let c = s.verify_locally("c", &[1]).unwrap().unwrap();
        assert_eq!(Some(c.unit), s.unit_number("c"));
        assert_eq!(
            s.submit_scored(p(1), "c", &c, T0, false),
            Err(Blocked::Rejected(ShardError::AlreadyCompleted { unit_id: "c".into() })),
            "the key's number is the one the record keeps"
        );
        for unit_id in ["a", "b"] {
            let scored = s.verify_locally(unit_id, &[1]).unwrap().unwrap();
            assert!(s.submit_scored(p(1), unit_id, &scored, T0, false).unwrap().passed);
        }
        assert_eq!(s.unit_count(), 3, "no submission interned anything");
        assert_eq!(s.progress(&p(1), 0, 10).unwrap(), vec!["a", "b", "c"]);
        // A malformed or stale set interns nothing.
        let bad = AnswerKeySet { version: 2, keys: vec![UnitAnswerKey { unit_id: "d".into(), correct: vec![5], option_counts: vec![2] }] };
        assert!(s.apply_answer_keys(&bad).is_err());
        assert_eq!(s.apply_answer_keys(&AnswerKeySet { version: 1, keys: vec![key("e")] }), Ok(1));
        assert_eq!(s.unit_count(), 3);
        check_invariant(&s);
    }

    #[test]
    fn a_scored_submission_is_counted_and_settled_in_one_step() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        let (a_pass, b_fail) = (scored(&mut s, "a", pass()), scored(&mut s, "b", fail()));
        assert_eq!(s.submit_scored(p(1), "a", &a_pass, T0, false), Err(Blocked::NeedsAllowance));
        assert_eq!(s.view(&p(1), T0).unwrap().attempts_today, 0, "nothing counted");
        grant(&mut s, CHUNK);
        let out = s.submit_scored(p(1), "a", &a_pass, T0, false).unwrap();
        assert_eq!((out.passed, out.reward_e8s, out.staked_e8s), (true, REWARD, REWARD));
        let out = s.submit_scored(p(1), "b", &b_fail, T0, false).unwrap();
        assert_eq!((out.passed, out.reward_e8s), (false, 0));
        assert_eq!(s.submit_scored(p(1), "a", &a_pass, T0, false), Err(Blocked::Rejected(ShardError::AlreadyCompleted { unit_id: "a".into() })));
        let v = s.view(&p(1), T0).unwrap();
        assert_eq!((v.attempts_today, v.completed_units, s.counters().allowance_reserved_e8s), (2, 1, 0));
        check_invariant(&s);
    }

    #[test]
    fn a_paused_platform_refuses_quizzes_and_resuming_loses_nothing() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        grant(&mut s, CHUNK);
        let paused = PlatformConfig { ..config() };
        assert_eq!(s.apply_config(1, paused.clone(), Some(true)), Ok((1, true)));
        assert!(s.is_platform_paused() && s.stats().platform_paused == Some(true));
        assert_eq!(s.begin_submission(p(1), "a", T0, false), Err(Blocked::Rejected(ShardError::PlatformPaused)));
        assert!(!s.wants_proactive_refill(T0));
        assert_eq!(s.view(&p(1), T0).unwrap().attempts_today, 0, "nothing counted");
        assert_eq!(s.apply_config(1, paused.clone(), Some(false)), Ok((1, false)), "an old version does not resume");
        assert!(s.is_platform_paused());
        assert_eq!(s.apply_config(2, paused, None), Ok((2, true)), "a hub that predates the pause: running");
        let t = s.begin_submission(p(1), "a", T0, false).unwrap();
        assert_eq!(s.finish_submission(t, &pass(), T0).reward_e8s, REWARD);
        check_invariant(&s);
    }

    #[test]
    fn proactive_refill_starts_below_the_low_water_mark_of_a_funded_shard() {
        let mut s = fresh();
        assert!(!s.wants_proactive_refill(T0), "a new shard asks on demand");
        grant(&mut s, LOW_WATER_REWARDS * REWARD + REWARD);
        assert!(!s.wants_proactive_refill(T0));
        s.register_user(p(1), T0).unwrap();
        for unit in ["a", "b"] {
            let t = s.begin_submission(p(1), unit, T0, false).unwrap();
            s.finish_submission(t, &pass(), T0);
        }
        assert!(s.wants_proactive_refill(T0));
        grant(&mut s, CHUNK);
        assert!(!s.wants_proactive_refill(T0));
    }

    #[test]
    fn reports_carry_each_passed_quiz_exactly_once() {
        let mut s = fresh();
        grant(&mut s, CHUNK);
        assert!(!s.has_unreported_changes());
        s.register_user(p(1), T0).unwrap();
        assert!(s.has_unreported_changes(), "a new user is a change");
        for unit in ["a", "b"] {
            let t = s.begin_submission(p(1), unit, T0, false).unwrap();
            s.finish_submission(t, &pass(), T0);
        }
        let first = s.claim_report(false);
        assert_eq!(
            first.report,
            ShardReport {
                total_staked_e8s: 2 * REWARD,
                user_count: 1,
                quizzes_passed_delta: 2,
                wants_allowance: false,
                ..Default::default()
            }
        );
        // A pass while the report is in flight goes into the next one.
        let t = s.begin_submission(p(1), "c", T0, false).unwrap();
        s.finish_submission(t, &pass(), T0);
        let second = s.claim_report(true);
        assert_eq!(second.report.quizzes_passed_delta, 1);
        s.report_failed(&first);
        s.report_succeeded(&second, Some(&AllowanceGrant { granted_e8s: 0, shard_granted_total_e8s: CHUNK, withheld: None }), T0 + 1);
        assert!(s.has_unreported_changes(), "the failed report's passes are still due");
        let third = s.claim_report(false);
        assert_eq!(third.report.quizzes_passed_delta, 2);
        s.report_succeeded(&third, None, T0 + 2);
        assert!(!s.has_unreported_changes());
        assert_eq!(s.counters().last_report_ns, T0 + 2);
        check_invariant(&s);
    }

    #[test]
    fn grants_reconcile_with_the_hubs_running_total() {
        let mut s = fresh();
        grant(&mut s, 1_000);
        // The hub says it granted 3,000 in all: a grant whose answer was lost is recovered.
        let c = s.claim_report(true);
        s.report_succeeded(&c, Some(&AllowanceGrant { granted_e8s: 1_000, shard_granted_total_e8s: 3_000, withheld: None }), T0);
        assert_eq!((s.counters().allowance_received_e8s, s.counters().allowance_available_e8s), (3_000, 3_000));
        // A stale (smaller) running total never takes allowance away.
        let c = s.claim_report(false);
        s.report_succeeded(&c, Some(&AllowanceGrant { granted_e8s: 0, shard_granted_total_e8s: 1_000, withheld: None }), T0);
        assert_eq!(s.counters().allowance_received_e8s, 3_000);
        check_invariant(&s);
    }

    /// A refill and a stats report in flight at once, the hub executing the refill first: the
    /// report's answer (no grant, the total with the refill's) arrives first and already counts
    /// the refill; the refill's own answer then adds nothing. (Before: received went to 4,000
    /// against the hub's 3,000, and the shard could hand out allowance it was never granted.)
    #[test]
    fn a_grant_already_counted_through_the_running_total_is_not_counted_again() {
        let mut s = fresh();
        grant(&mut s, 2_000);
        let refill = s.claim_report(true);
        let stats = s.claim_report(false);
        s.report_succeeded(&stats, Some(&AllowanceGrant { granted_e8s: 0, shard_granted_total_e8s: 3_000, withheld: None }), T0);
        assert_eq!(s.counters().allowance_received_e8s, 3_000);
        s.report_succeeded(&refill, Some(&AllowanceGrant { granted_e8s: 1_000, shard_granted_total_e8s: 3_000, withheld: None }), T0);
        assert_eq!((s.counters().allowance_received_e8s, s.counters().allowance_available_e8s), (3_000, 3_000));
        check_invariant(&s);
    }

    #[test]
    fn stale_reservations_are_released_after_an_upgrade() {
        let mut s = fresh();
        s.register_user(p(1), T0).unwrap();
        grant(&mut s, CHUNK);
        let _lost = s.begin_submission(p(1), "a", T0, false).unwrap();
        assert_eq!(s.release_stale_reservations(), REWARD);
        assert_eq!(s.counters().allowance_available_e8s, CHUNK);
        check_invariant(&s);
    }

    #[test]
    fn progress_is_paged_per_user() {
        let mut s = fresh();
        grant(&mut s, 1_000 * REWARD);
        let mut config = config();
        config.daily_attempt_limit = 1_000;
        let args = ShardInitArgs { config, ..s.init_args().unwrap().clone() };
        s.set_init_args(args);
        for user in [p(1), p(2), Principal::from_slice(&[1; 10])] {
            s.register_user(user, T0).unwrap();
        }
        let units: Vec<String> = (0..250).map(|i| format!("unit-{i:03}")).collect();
        for u in &units {
            let t = s.begin_submission(p(1), u, T0, false).unwrap();
            s.finish_submission(t, &pass(), T0);
        }
        for user in [p(2), Principal::from_slice(&[1; 10])] {
            let t = s.begin_submission(user, "zz", T0, false).unwrap();
            s.finish_submission(t, &pass(), T0);
        }
        assert_eq!(s.progress(&p(1), 0, 10).unwrap(), units[..10].to_vec());
        assert_eq!(s.progress(&p(1), 245, 10).unwrap(), units[245..].to_vec());
        assert_eq!(s.progress(&p(1), 0, 1_000).unwrap().len(), MAX_PROGRESS_PAGE as usize, "limit is capped");
        assert_eq!(s.progress(&p(1), 100, 100).unwrap(), units[100..200].to_vec());
        assert!(s.progress(&p(1), 250, 10).unwrap().is_empty());
        assert!(s.progress(&p(1), u64::MAX, 10).unwrap().is_empty());
        assert!(s.progress(&p(1), 0, 0).unwrap().is_empty());
        assert_eq!(s.progress(&p(2), 0, 10).unwrap(), vec!["zz".to_string()]);
        assert_eq!(s.progress(&Principal::from_slice(&[1; 10]), 0, 10).unwrap(), vec!["zz".to_string()]);
        s.register_user(p(3), T0).unwrap();
        assert!(s.progress(&p(3), 0, 10).unwrap().is_empty());
        assert_eq!(s.progress(&p(4), 0, 10), Err(ShardError::NotRegistered));
        assert_eq!(s.view(&p(1), T0).unwrap().completed_units, 250);
    }

    #[test]
    fn state_survives_reopening_the_same_stable_memory() {
        let memory = DefaultMemoryImpl::default();
        {
            let mut s = ShardState::open(&MemoryManager::init(memory.clone()));
            s.set_init_args(ShardInitArgs { hub_id: p(200), learning_content_id: p(201), config: config(), config_version: None, module_hash: None });
            s.register_user(p(1), T0).unwrap();
            grant(&mut s, CHUNK);
            let t = s.begin_submission(p(1), "a", T0, false).unwrap();
            s.finish_submission(t, &pass(), T0);
            s.set_disabled(true);
        }
        // What an upgrade does: a fresh heap, the same stable memory.
        let s = ShardState::open(&MemoryManager::init(memory));
        assert_eq!(s.init_args().unwrap().config, config());
        assert_eq!(s.view(&p(1), T0).unwrap().staked_e8s, REWARD);
        assert_eq!(s.progress(&p(1), 0, 10).unwrap(), vec!["a".to_string()]);
        let st = s.stats();
        assert_eq!((st.users, st.disabled, st.quizzes_passed, st.allowance_received_e8s), (1, true, 1, CHUNK));
    }
}
