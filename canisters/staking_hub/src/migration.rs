//! Moving a shard's users to a new shard (function 1012, issue 13): a timer-driven state
//! machine in stable memory (`state::migrations`, MemoryId 50). Each step prepares, awaits one
//! call, and commits after re-reading the state; a failed step is retried with a backoff, and a
//! hub upgrade resumes at the step (and page cursor) last committed.
//!
//! 1. CreateTarget: a new, empty shard B (the scaling code's provisioning).
//! 2. Freeze: A is marked frozen at the hub (no new users are routed to it) and told to freeze
//!    (`set_migration_freeze`); repeated until A has no call in flight, so no answer can change
//!    A after its users are copied.
//! 3. Copy: `export_users` on A, the page's sha256 checked, `import_users` on B (which checks it
//!    again and applies a page once). Reads still go to A: the index is unchanged. Archived and
//!    self-deleted learners (tombstones) are in the pages too and count like the others; the
//!    last page's totals must match what was copied, tombstones and their balances included.
//! 4. Switch: the hub's index entries of A's users point to B, in batches.
//! 5. Finalize: the allowance A had not paid out and its users' balances move with them: A's
//!    grant shrinks and B's grows by the same amount (the total granted is unchanged). A keeps
//!    the grant that backs its withdrawals (pending and settled): their mint journal keys stay
//!    (A's index, id), so a Pending withdrawal B retries is minted at most once, with A's memo.
//! 6. StopSource: A is stopped and kept, retired; `DeleteRetired` later returns its cycles
//!    to the hub and deletes it.
//!
//! No learner is ever in two shards or none: until the Switch their index entry names A (which
//! keeps their data, frozen); after it, B (which has it all).

use crate::guards;
use crate::model::{ShardIndex, ShardRecord, UserEntry};
use crate::{calls, scaling, state};
use candid::{CandidType, Nat, Principal};
use ic_cdk::call::Call;
use platform_types::{
    check_page, render_migrate_shard, ExportedShardTotals, ExportedUsers, ImportReceipt, ImportUsersArgs,
    MigrateShardArgs, MigrationFreeze, MigrationView, ShardError, UserExportPage, ValidationResult,
};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::time::Duration;

/// Users per export page the hub asks for.
pub const PAGE_USERS: u32 = 500;
/// Index entries switched per step.
pub const SWITCH_BATCH: usize = 5_000;
/// Steps one timer run makes at most (each is one call or one bounded batch).
const STEPS_PER_RUN: usize = 100;
/// Finished migrations kept for `get_migration_status`.
const HISTORY: usize = 20;
/// The timer's period.
pub const TICK: Duration = Duration::from_secs(5);

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    CreateTarget,
    Freeze,
    Copy { cursor: Option<Principal> },
    Switch { after: Option<Principal> },
    Finalize,
    StopSource,
    Done,
    /// DeleteRetired: 0 start, 1 return cycles, 2 stop, 3 delete.
    DeleteSource { stage: u8 },
    Deleted,
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::CreateTarget => "CreateTarget",
            Step::Freeze => "Freeze",
            Step::Copy { .. } => "Copy",
            Step::Switch { .. } => "Switch",
            Step::Finalize => "Finalize",
            Step::StopSource => "StopSource",
            Step::Done => "Done",
            Step::DeleteSource { .. } => "DeleteSource",
            Step::Deleted => "Deleted",
        }
    }

    fn finished(&self) -> bool {
        matches!(self, Step::Done | Step::Deleted)
    }
}

/// One migration (Candid in stable memory: fields added later must be `Option`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    pub id: u64,
    pub source: ShardIndex,
    pub target: Option<ShardIndex>,
    pub step: Step,
    pub pages_copied: u64,
    pub users_copied: u64,
    pub staked_copied_e8s: u64,
    /// Of the users copied, archived or self-deleted learners (tombstones), and their balances.
    pub tombstones_copied: Option<u64>,
    pub tombstone_staked_copied_e8s: Option<u64>,
    pub users_switched: u64,
    /// The source's totals from the last page of its export.
    pub source_totals: Option<ExportedShardTotals>,
    pub allowance_carried_e8s: u64,
    pub started_at_ns: u64,
    pub finished_at_ns: Option<u64>,
    pub failures: u32,
    pub last_error: Option<String>,
    pub next_attempt_ns: Option<u64>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationBook {
    pub next_id: u64,
    pub current: Option<Migration>,
    /// Newest last, at most [`HISTORY`].
    pub finished: Vec<Migration>,
}

impl Migration {
    fn new(id: u64, source: ShardIndex, step: Step, now_ns: u64) -> Self {
        Migration {
            id,
            source,
            target: None,
            step,
            pages_copied: 0,
            users_copied: 0,
            staked_copied_e8s: 0,
            tombstones_copied: None,
            tombstone_staked_copied_e8s: None,
            users_switched: 0,
            source_totals: None,
            allowance_carried_e8s: 0,
            started_at_ns: now_ns,
            finished_at_ns: None,
            failures: 0,
            last_error: None,
            next_attempt_ns: None,
        }
    }

    /// A step failed: retried after a backoff (5 s doubling, at most 10 minutes).
    fn note_failure(&mut self, error: String, now_ns: u64) {
        self.failures = self.failures.saturating_add(1);
        let delay_s = 5u64.saturating_mul(1 << self.failures.min(7)).min(600);
        self.next_attempt_ns = Some(now_ns.saturating_add(delay_s * 1_000_000_000));
        self.last_error = Some(error);
    }

    fn advance(&mut self, step: Step) {
        self.step = step;
        self.failures = 0;
        self.next_attempt_ns = None;
    }

    /// Applies a page copied to the target (the import succeeded): counts it and moves the
    /// cursor; on the last page, checks that the pages add up to the source's totals (users,
    /// staked e8s, and of them the tombstones and their balances). A page that does not add up
    /// changes nothing: the retry (which the target answers `already_imported`) counts it once.
    pub fn apply_copied_page(&mut self, page: &UserExportPage) -> Result<(), String> {
        let mut counted = self.clone();
        counted.pages_copied += 1;
        counted.users_copied += page.users.len() as u64;
        let mut tombstones = counted.tombstones_copied.unwrap_or(0);
        let mut tombstone_staked = counted.tombstone_staked_copied_e8s.unwrap_or(0);
        for user in &page.users {
            counted.staked_copied_e8s = counted.staked_copied_e8s.saturating_add(user.staked_e8s);
            if user.tombstone.is_some() {
                tombstones += 1;
                tombstone_staked = tombstone_staked.saturating_add(user.staked_e8s);
            }
        }
        counted.tombstones_copied = Some(tombstones);
        counted.tombstone_staked_copied_e8s = Some(tombstone_staked);
        match (&page.next_cursor, &page.shard_totals) {
            (Some(next), _) => counted.step = Step::Copy { cursor: Some(*next) },
            (None, Some(totals)) => {
                if totals.users != counted.users_copied || totals.total_staked_e8s != counted.staked_copied_e8s {
                    return Err(format!(
                        "the copy does not add up: {} users and {} e8s staked copied, the source has {} and {}",
                        counted.users_copied, counted.staked_copied_e8s, totals.users, totals.total_staked_e8s
                    ));
                }
                // A source from before archiving existed sends no figures: it has no tombstones.
                let source = totals.cleanup.clone().unwrap_or_default();
                if (source.tombstones, source.tombstone_staked_e8s) != (tombstones, tombstone_staked) {
                    return Err(format!(
                        "the copy does not add up: {tombstones} archived learners with {tombstone_staked} e8s copied, \
                         the source has {} with {}",
                        source.tombstones, source.tombstone_staked_e8s
                    ));
                }
                counted.source_totals = Some(totals.clone());
                counted.advance(Step::Switch { after: None });
            }
            (None, None) => return Err("the last page carries no shard totals".into()),
        }
        *self = counted;
        Ok(())
    }

    pub fn view(&self) -> MigrationView {
        let id_of = |i: ShardIndex| state::shard(i).map(|s| s.id).unwrap_or(Principal::anonymous());
        MigrationView {
            id: self.id,
            source: id_of(self.source),
            target: self.target.map(id_of),
            step: self.step.name().to_string(),
            pages_copied: self.pages_copied,
            users_copied: self.users_copied,
            tombstones_copied: self.tombstones_copied,
            users_switched: self.users_switched,
            allowance_carried_e8s: self.allowance_carried_e8s,
            started_at_ns: self.started_at_ns,
            finished_at_ns: self.finished_at_ns,
            failures: self.failures,
            last_error: self.last_error.clone(),
        }
    }
}

/// The grants at the end of a migration: what the source had not paid out (its free
/// allowance) and what its learners hold (their balances) moves to the target. The source keeps
/// exactly what backs its withdrawals, minted or still pending. Returns the amount carried.
pub fn carry_allowance(
    source: &mut ShardRecord,
    target: &mut ShardRecord,
    totals: &ExportedShardTotals,
    source_minted_and_in_flight_e8s: u64,
) -> Result<u64, String> {
    if totals.calls_in_flight != 0 {
        return Err(format!("the source had {} calls in flight when it was exported", totals.calls_in_flight));
    }
    let carried = totals.allowance_available_e8s.checked_add(totals.total_staked_e8s).ok_or("carried allowance overflows")?;
    let kept = source.granted_e8s.checked_sub(carried).ok_or_else(|| {
        format!("the source was granted {} e8s, less than the {carried} e8s to carry", source.granted_e8s)
    })?;
    if kept < source_minted_and_in_flight_e8s {
        return Err(format!(
            "after carrying {carried} e8s the source would keep {kept} e8s, less than its {} e8s minted or being minted",
            source_minted_and_in_flight_e8s
        ));
    }
    source.granted_e8s = kept;
    target.granted_e8s = target.granted_e8s.checked_add(carried).ok_or("target grant overflows")?;
    Ok(carried)
}

// ------------------------------------------------------------------ function 1012

/// The checks of a 1012 payload against the current state: (source index, step to start at).
fn check_request(args: &MigrateShardArgs) -> Result<(ShardIndex, Step, String), String> {
    let text = render_migrate_shard(args)?;
    if let Some(m) = state::migrations().current {
        return Err(format!("migration {} is still under way (step {}): one at a time", m.id, m.step.name()));
    }
    match args {
        MigrateShardArgs::Migrate { shard } => {
            let (index, record) = state::shard_by_id(*shard).ok_or_else(|| format!("{shard} is not a shard of this hub"))?;
            if !record.installed {
                return Err(format!("shard {shard} is not installed: it has no users to move"));
            }
            if record.in_migration() {
                return Err(format!("shard {shard} was already migrated"));
            }
            Ok((index, Step::CreateTarget, text))
        }
        MigrateShardArgs::DeleteRetired { shard } => {
            let (index, record) = state::shard_by_id(*shard).ok_or_else(|| format!("{shard} is not a shard of this hub"))?;
            if record.migrated_to.is_none() {
                return Err(format!("shard {shard} is not retired by a finished migration"));
            }
            if record.deleted_at_ns.is_some() {
                return Err(format!("shard {shard} was already deleted"));
            }
            Ok((index, Step::DeleteSource { stage: 0 }, text))
        }
    }
}

pub fn migrate_shard_validate(caller: Principal, args: &MigrateShardArgs) -> ValidationResult {
    guards::caller_is_governance(caller)?;
    check_request(args).map(|(_, _, text)| text)
}

/// Starts the migration (or deletion); the timer and an immediate run carry it out.
pub fn migrate_shard(caller: Principal, args: &MigrateShardArgs, now_ns: u64) -> Result<u64, String> {
    guards::caller_is_governance(caller)?;
    let (index, step, _) = check_request(args)?;
    let id = state::update_migrations(|book| {
        let id = book.next_id;
        book.next_id += 1;
        book.current = Some(Migration::new(id, index, step, now_ns));
        id
    });
    crate::metrics::event(&format!("migration {id} of shard #{index} started ({args:?})"));
    Ok(id)
}

/// The migration under way and the finished ones, newest first.
pub fn status() -> Vec<MigrationView> {
    let book = state::migrations();
    book.current.iter().chain(book.finished.iter().rev()).map(Migration::view).collect()
}

// ------------------------------------------------------------------ the driver

thread_local! {
    static RUNNING: Cell<bool> = const { Cell::new(false) };
}

struct RunGuard;

impl RunGuard {
    fn acquire() -> Option<Self> {
        RUNNING.with(|r| (!r.replace(true)).then_some(RunGuard))
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(false));
    }
}


/// Runs a migration right away (after a proposal executed).
pub fn run_now() {
    crate::jobs::start_migration_ticks();
    ic_cdk_timers::set_timer(Duration::ZERO, run());
}

/// Moves the migration under way on, step by step, until it is done, a step fails (retried
/// after its backoff) or it waits (calls in flight on the source).
pub async fn run() {
    let Some(_guard) = RunGuard::acquire() else { return };
    for _ in 0..STEPS_PER_RUN {
        let Some(m) = state::migrations().current else {
            // Nothing under way: the ticks stop until the next migration starts them.
            crate::jobs::stop_migration_ticks();
            return;
        };
        let now = ic_cdk::api::time();
        if m.next_attempt_ns.is_some_and(|t| now < t) {
            return;
        }
        match step(m.clone()).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                crate::metrics::error("migration_step_failed", &format!("migration {} step {}: {e}", m.id, m.step.name()));
                update_current(m.id, |c| c.note_failure(e, ic_cdk::api::time()));
                return;
            }
        }
    }
}

/// Re-reads the migration and changes it if it is still `id` (commit after an await).
fn update_current<R>(id: u64, f: impl FnOnce(&mut Migration) -> R) -> Option<R> {
    state::update_migrations(|book| {
        let current = book.current.as_mut().filter(|m| m.id == id)?;
        let r = f(current);
        if current.step.finished() {
            let mut done = book.current.take().expect("present");
            done.finished_at_ns = Some(ic_cdk::api::time());
            book.finished.push(done);
            if book.finished.len() > HISTORY {
                book.finished.remove(0);
            }
        }
        Some(r)
    })
}

fn shard_id(index: ShardIndex) -> Result<Principal, String> {
    state::shard(index).map(|s| s.id).ok_or_else(|| format!("shard #{index} is not in the registry"))
}

/// One step. `Ok(true)`: progress, go on; `Ok(false)`: wait for the next run.
async fn step(m: Migration) -> Result<bool, String> {
    let source = shard_id(m.source)?;
    match m.step.clone() {
        Step::CreateTarget => {
            let target = scaling::provision_for_migration().await?;
            let (index, _) = state::shard_by_id(target).ok_or("the new shard is not in the registry")?;
            update_current(m.id, |c| {
                c.target = Some(index);
                c.advance(Step::Freeze);
            });
            crate::metrics::event(&format!("migration {}: target shard {target} (#{index}) created", m.id));
            Ok(true)
        }
        Step::Freeze => {
            // Committed before the call: no learner is routed to the source from now on.
            state::update_shard(m.source, |s| s.migration_frozen = Some(true));
            let freeze = set_migration_freeze(source, true).await?;
            if freeze.calls_in_flight > 0 {
                update_current(m.id, |c| {
                    c.last_error = Some(format!("waiting for {} calls in flight on the source", freeze.calls_in_flight))
                });
                return Ok(false);
            }
            update_current(m.id, |c| c.advance(Step::Copy { cursor: None }));
            Ok(true)
        }
        Step::Copy { cursor } => {
            let target = shard_id(m.target.ok_or("no target")?)?;
            let exported = export_users(source, cursor, PAGE_USERS).await?;
            check_page(&exported.page, &exported.sha256).map_err(|e| format!("export page after {cursor:?}: {e}"))?;
            if exported.page.shard_totals.as_ref().is_some_and(|t| t.calls_in_flight > 0) {
                // Only a source that was unfrozen meanwhile can have calls in flight: freeze again.
                update_current(m.id, |c| c.advance(Step::Freeze));
                return Ok(true);
            }
            let args = ImportUsersArgs { source_shard: m.source, page: exported.page, sha256: exported.sha256 };
            import_users(target, &args).await?;
            let committed = update_current(m.id, |c| {
                // Re-read: only the page this step copied moves the cursor.
                if c.step != (Step::Copy { cursor }) {
                    return Ok(());
                }
                c.apply_copied_page(&args.page)
            });
            committed.unwrap_or(Ok(()))?;
            Ok(true)
        }
        Step::Switch { after } => {
            let target = m.target.ok_or("no target")?;
            let (switched, next) = switch_batch(m.source, target, after, SWITCH_BATCH);
            update_current(m.id, |c| {
                c.users_switched += switched;
                match next {
                    Some(p) => c.step = Step::Switch { after: Some(p) },
                    None => c.advance(Step::Finalize),
                }
            });
            Ok(true)
        }
        Step::Finalize => {
            let target = m.target.ok_or("no target")?;
            let totals = m.source_totals.clone().ok_or("no source totals")?;
            let carried = finalize(m.source, target, &totals)?;
            update_current(m.id, |c| {
                c.allowance_carried_e8s = carried;
                c.advance(Step::StopSource);
            });
            crate::metrics::event(&format!("migration {}: index switched, {carried} e8s of allowance carried", m.id));
            Ok(true)
        }
        Step::StopSource => {
            calls::stop_canister(source).await?;
            update_current(m.id, |c| c.advance(Step::Done));
            crate::metrics::event(&format!("migration {}: source {source} stopped and retired", m.id));
            Ok(true)
        }
        Step::DeleteSource { stage } => {
            match stage {
                0 => calls::start_canister(source).await?,
                1 => {
                    return_cycles_to_hub(source).await?;
                }
                2 => calls::stop_canister(source).await?,
                _ => {
                    delete_canister(source).await?;
                    let now = ic_cdk::api::time();
                    state::update_shard(m.source, |s| s.deleted_at_ns = Some(now));
                    update_current(m.id, |c| c.advance(Step::Deleted));
                    crate::metrics::event(&format!("retired shard {source} deleted"));
                    return Ok(true);
                }
            }
            update_current(m.id, |c| c.advance(Step::DeleteSource { stage: stage + 1 }));
            Ok(true)
        }
        Step::Done | Step::Deleted => Ok(false),
    }
}

/// Points up to `limit` index entries of `source`'s users (after `after`, in principal order)
/// to `target`. Returns how many, and where to go on (None: the whole index was walked).
pub fn switch_batch(
    source: ShardIndex,
    target: ShardIndex,
    after: Option<Principal>,
    limit: usize,
) -> (u64, Option<Principal>) {
    use std::ops::Bound;
    state::with_mut(|s| {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut walked = 0;
        let mut last = None;
        let mut moved: Vec<(Principal, UserEntry)> = Vec::new();
        for entry in s.users.range((start, Bound::Unbounded)) {
            if walked == limit {
                break;
            }
            walked += 1;
            last = Some(*entry.key());
            let e = entry.value();
            if e.shard == source {
                moved.push((*entry.key(), UserEntry { shard: target, ..e }));
            }
        }
        let done = walked < limit;
        for (p, e) in &moved {
            s.users.insert(*p, e.clone());
        }
        (moved.len() as u64, if done { None } else { last })
    })
}

/// The books at the end: users counted on the target, the allowance carried, the source
/// retired (it reports nothing any more: its reported stake is now the target's).
fn finalize(source: ShardIndex, target: ShardIndex, totals: &ExportedShardTotals) -> Result<u64, String> {
    let mut src = state::shard(source).ok_or("no source")?;
    let mut tgt = state::shard(target).ok_or("no target")?;
    let mints = state::shard_mints(source);
    let carried = carry_allowance(&mut src, &mut tgt, totals, mints.minted_e8s.saturating_add(mints.in_flight_e8s))?;
    let hard_limit = state::config().shard_hard_limit;
    for _ in 0..src.user_count {
        tgt.add_user(hard_limit);
    }
    tgt.reported_staked_e8s = tgt.reported_staked_e8s.saturating_add(src.reported_staked_e8s);
    src.user_count = 0;
    src.reported_staked_e8s = 0;
    src.migrated_to = Some(target);
    state::update_shard(source, |s| *s = src);
    state::update_shard(target, |s| *s = tgt);
    Ok(carried)
}

// ------------------------------------------------------------------ calls

fn call_failed(method: &str, shard: Principal, e: impl std::fmt::Display) -> String {
    format!("{method} on {shard} failed: {e}")
}

async fn set_migration_freeze(shard: Principal, frozen: bool) -> Result<MigrationFreeze, String> {
    let reply = Call::unbounded_wait(shard, "set_migration_freeze")
        .with_arg(frozen)
        .await
        .map_err(|e| call_failed("set_migration_freeze", shard, e))?;
    let answer: Result<MigrationFreeze, ShardError> = reply.candid().map_err(|e| call_failed("set_migration_freeze", shard, e))?;
    answer.map_err(|e| format!("set_migration_freeze on {shard} refused: {e:?}"))
}

async fn export_users(shard: Principal, cursor: Option<Principal>, limit: u32) -> Result<ExportedUsers, String> {
    let reply = Call::unbounded_wait(shard, "export_users")
        .with_args(&(cursor, limit))
        .await
        .map_err(|e| call_failed("export_users", shard, e))?;
    let answer: Result<ExportedUsers, ShardError> = reply.candid().map_err(|e| call_failed("export_users", shard, e))?;
    answer.map_err(|e| format!("export_users on {shard} refused: {e:?}"))
}

async fn import_users(shard: Principal, args: &ImportUsersArgs) -> Result<ImportReceipt, String> {
    let reply = Call::unbounded_wait(shard, "import_users")
        .with_arg(args)
        .await
        .map_err(|e| call_failed("import_users", shard, e))?;
    let answer: Result<ImportReceipt, ShardError> = reply.candid().map_err(|e| call_failed("import_users", shard, e))?;
    answer.map_err(|e| format!("import_users on {shard} refused: {e:?}"))
}

async fn return_cycles_to_hub(shard: Principal) -> Result<Nat, String> {
    let reply = Call::unbounded_wait(shard, "return_cycles_to_hub")
        .await
        .map_err(|e| call_failed("return_cycles_to_hub", shard, e))?;
    let answer: Result<Nat, ShardError> = reply.candid().map_err(|e| call_failed("return_cycles_to_hub", shard, e))?;
    answer.map_err(|e| format!("return_cycles_to_hub on {shard} refused: {e:?}"))
}

#[derive(CandidType)]
struct CanisterIdRecord {
    canister_id: Principal,
}

async fn delete_canister(canister_id: Principal) -> Result<(), String> {
    Call::unbounded_wait(Principal::management_canister(), "delete_canister")
        .with_arg(CanisterIdRecord { canister_id })
        .await
        .map(|_| ())
        .map_err(|e| call_failed("delete_canister", canister_id, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserState;
    use platform_types::{ExportedCleanupTotals, ExportedTombstone, ExportedUser, ShardStatus};

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    fn totals(users: u64, staked: u64, available: u64) -> ExportedShardTotals {
        ExportedShardTotals {
            users,
            total_staked_e8s: staked,
            allowance_available_e8s: available,
            allowance_received_e8s: 0,
            quizzes_submitted: 0,
            quizzes_passed: 0,
            passed_reported: 0,
            hard_cap_reached: false,
            pending_withdrawals_e8s: 0,
            pending_withdrawals: 0,
            withdrawn_e8s: 0,
            rewards_owed_e8s: 0,
            calls_in_flight: 0,
            cleanup: None,
        }
    }

    fn user(n: u8, staked: u64) -> ExportedUser {
        ExportedUser {
            principal: p(n),
            profile: None,
            staked_e8s: staked,
            day: 0,
            attempts_today: 0,
            earned_today_e8s: 0,
            completed_units: 0,
            registered_at_ns: 0,
            last_active_ns: 0,
            completed: vec![],
            rewards_owed: vec![],
            withdrawals: vec![],
            tombstone: None,
        }
    }

    fn archived(n: u8, staked: u64, deleted: bool) -> ExportedUser {
        ExportedUser { tombstone: Some(ExportedTombstone { archived_at_ns: 0, deleted }), ..user(n, staked) }
    }

    #[test]
    fn pages_move_the_cursor_and_the_last_must_add_up() {
        let mut m = Migration::new(0, 0, Step::Copy { cursor: None }, 1);
        let first = UserExportPage { users: vec![user(1, 10), user(2, 5)], next_cursor: Some(p(2)), shard_totals: None };
        m.apply_copied_page(&first).unwrap();
        assert_eq!(m.step, Step::Copy { cursor: Some(p(2)) });
        let last = UserExportPage { users: vec![user(3, 1)], next_cursor: None, shard_totals: Some(totals(3, 16, 0)) };
        m.apply_copied_page(&last).unwrap();
        assert_eq!((m.step.clone(), m.users_copied, m.staked_copied_e8s, m.pages_copied), (Step::Switch { after: None }, 3, 16, 2));
        // A copy that lost a user (or a balance) never switches the index.
        let mut m = Migration::new(0, 0, Step::Copy { cursor: None }, 1);
        let short = UserExportPage { users: vec![user(1, 10)], next_cursor: None, shard_totals: Some(totals(2, 10, 0)) };
        assert!(m.apply_copied_page(&short).unwrap_err().contains("does not add up"));
        assert_ne!(m.step.name(), "Switch");
        let no_totals = UserExportPage { users: vec![], next_cursor: None, shard_totals: None };
        assert!(Migration::new(0, 0, Step::Copy { cursor: None }, 1).apply_copied_page(&no_totals).is_err());
    }

    #[test]
    fn archived_learners_count_in_the_copy_and_their_figures_must_add_up() {
        let with_cleanup = |users, staked, tombstones, tombstone_staked| ExportedShardTotals {
            cleanup: Some(ExportedCleanupTotals { tombstones, tombstone_staked_e8s: tombstone_staked, ..Default::default() }),
            ..totals(users, staked, 0)
        };
        let first = UserExportPage { users: vec![user(1, 10), archived(2, 7, false)], next_cursor: Some(p(2)), shard_totals: None };
        let last = |totals| UserExportPage { users: vec![archived(3, 0, true), user(4, 1)], next_cursor: None, shard_totals: Some(totals) };
        let mut m = Migration::new(0, 0, Step::Copy { cursor: None }, 1);
        m.apply_copied_page(&first).unwrap();
        m.apply_copied_page(&last(with_cleanup(4, 18, 2, 7))).unwrap();
        assert_eq!((m.step.clone(), m.users_copied, m.staked_copied_e8s), (Step::Switch { after: None }, 4, 18));
        assert_eq!((m.tombstones_copied, m.tombstone_staked_copied_e8s, m.view().tombstones_copied), (Some(2), Some(7), Some(2)));

        // The source holds an archived balance the pages did not carry (an exporter that walked
        // its live learners only): no switch, and the failed check counts nothing, so the
        // retried page is not counted twice.
        for wrong in [with_cleanup(4, 18, 3, 7), with_cleanup(4, 18, 2, 8), totals(4, 18, 0)] {
            let mut m = Migration::new(0, 0, Step::Copy { cursor: None }, 1);
            m.apply_copied_page(&first).unwrap();
            let before = m.clone();
            assert!(m.apply_copied_page(&last(wrong)).unwrap_err().contains("archived learners"));
            assert_eq!(m, before, "a refused page changes nothing");
        }
        let mut m = Migration::new(0, 0, Step::Copy { cursor: None }, 1);
        let before = m.clone();
        let lost = UserExportPage { users: vec![user(1, 10)], next_cursor: None, shard_totals: Some(with_cleanup(2, 17, 1, 7)) };
        assert!(m.apply_copied_page(&lost).unwrap_err().contains("does not add up"));
        assert_eq!(m, before);
        // The retry after a failure adds up exactly once.
        let whole = UserExportPage { users: vec![user(1, 10), archived(2, 7, false)], next_cursor: None, shard_totals: Some(with_cleanup(2, 17, 1, 7)) };
        m.apply_copied_page(&whole).unwrap();
        assert_eq!((m.users_copied, m.pages_copied), (2, 1));
    }

    #[test]
    fn the_unused_allowance_and_the_balances_move_and_the_total_stays() {
        let mut a = ShardRecord::created(p(1), 0);
        let mut b = ShardRecord::created(p(2), 0);
        a.granted_e8s = 1_000;
        b.granted_e8s = 50;
        // 300 free, 500 staked: 800 move; 200 stay for A's withdrawals (150 minted or in flight).
        let carried = carry_allowance(&mut a, &mut b, &totals(9, 500, 300), 150).unwrap();
        assert_eq!((carried, a.granted_e8s, b.granted_e8s), (800, 200, 850));
        assert_eq!(a.granted_e8s + b.granted_e8s, 1_050, "nothing granted or lost");
        // Carrying more than A keeps for its mints is refused, and changes nothing.
        let (mut a2, mut b2) = (ShardRecord { granted_e8s: 1_000, ..a.clone() }, b.clone());
        assert!(carry_allowance(&mut a2, &mut b2, &totals(9, 500, 300), 201).unwrap_err().contains("less than"));
        assert!(carry_allowance(&mut a2, &mut b2, &totals(9, 900, 300), 0).is_err());
        let mut busy = totals(9, 1, 1);
        busy.calls_in_flight = 1;
        assert!(carry_allowance(&mut a2, &mut b2, &busy, 0).is_err());
        assert_eq!((a2.granted_e8s, b2.granted_e8s), (1_000, 850));
    }

    #[test]
    fn failures_back_off_and_progress_resets_them() {
        let mut m = Migration::new(0, 0, Step::Freeze, 0);
        m.note_failure("x".into(), 0);
        assert_eq!(m.next_attempt_ns, Some(10_000_000_000));
        for _ in 0..20 {
            m.note_failure("x".into(), 0);
        }
        assert_eq!(m.next_attempt_ns, Some(600_000_000_000), "capped at 10 minutes");
        m.advance(Step::Copy { cursor: None });
        assert_eq!((m.failures, m.next_attempt_ns), (0, None));
    }

    #[test]
    fn the_switch_moves_only_the_sources_entries_in_batches() {
        for n in 1..=9u8 {
            state::put_user(p(n), UserEntry { shard: if n % 3 == 0 { 1 } else { 0 }, state: UserState::Registered });
        }
        let (moved, next) = switch_batch(0, 2, None, 4);
        assert_eq!((moved, next), (3, Some(p(4))));
        let (moved, next) = switch_batch(0, 2, next, 4);
        assert_eq!((moved, next), (3, Some(p(8))));
        let (moved, next) = switch_batch(0, 2, next, 4);
        assert_eq!((moved, next), (0, None));
        for n in 1..=9u8 {
            let e = state::user(p(n)).unwrap();
            assert_eq!(e.shard, if n % 3 == 0 { 1 } else { 2 }, "user {n}");
        }
    }

    #[test]
    fn function_1012_is_for_governance_and_one_migration_at_a_time() {
        let governance = Principal::from_slice(&[3; 10]);
        state::set_init_args(platform_types::HubInitArgs {
            ledger_id: p(100),
            learning_content_id: p(101),
            sns_governance_id: governance,
            config: None,
            registration_policy: None,
            icp_refill: None,
        });
        let a = state::add_shard(ShardRecord { installed: true, ..ShardRecord::created(p(50), 0) });
        let _b = state::add_shard(ShardRecord::created(p(51), 0));
        let args = MigrateShardArgs::Migrate { shard: p(50) };
        assert!(migrate_shard_validate(p(9), &args).is_err());
        assert!(migrate_shard_validate(governance, &MigrateShardArgs::Migrate { shard: p(51) }).unwrap_err().contains("not installed"));
        assert!(migrate_shard_validate(governance, &MigrateShardArgs::DeleteRetired { shard: p(50) }).unwrap_err().contains("not retired"));
        assert!(migrate_shard_validate(governance, &args).unwrap().contains("Migrate shard"));
        assert_eq!(migrate_shard(governance, &args, 7), Ok(0));
        assert!(migrate_shard(governance, &args, 8).unwrap_err().contains("under way"));
        let current = state::migrations().current.unwrap();
        assert_eq!((current.source, current.step), (a, Step::CreateTarget));
        // A frozen or retired shard takes no new learners and is no capacity.
        state::update_shard(a, |s| s.migration_frozen = Some(true));
        let rec = state::shard(a).unwrap();
        assert!(!rec.accepts_users(100) && rec.status == ShardStatus::Active);
    }
}
