//! Size limits and cleanup (issue 13, section 4): the bounds of the storage configuration, a
//! learner's deletion of their own profile, and the public status of the cleanup timers.
//!
//! The three configuration fields (`shard_memory_budget_bytes`, `settled_retention_secs`,
//! `inactive_archive_secs`) are part of [`crate::PlatformConfig`] and change by function 1001
//! (`update_config`): they bound storage, move no tokens and no cycles, so they are not
//! economic fields (1009).

use candid::CandidType;
use serde::{Deserialize, Serialize};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const DAY_SECS: u64 = 86_400;

/// Default stable memory budget of a shard: 4 GiB. A shard of 100,000 learners with 20
/// completed units each needs about 400 MiB (docs/architecture.md), so the user hard limit is
/// reached first unless learners complete many more units than that.
pub const DEFAULT_SHARD_MEMORY_BUDGET_BYTES: u64 = 4 * GIB;
/// Lowest budget: 256 MiB. An empty shard already holds one 8 MiB bucket per virtual memory
/// (about 150 MiB with every structure created, see docs/architecture.md); a budget below
/// that would make every new shard Full after its first learner.
pub const MIN_SHARD_MEMORY_BUDGET_BYTES: u64 = 256 * MIB;
/// Highest budget: 256 GiB, half of the 500 GiB a canister's stable memory may reach, so a
/// shard over its budget still has room for the learners it keeps.
pub const MAX_SHARD_MEMORY_BUDGET_BYTES: u64 = 256 * GIB;

/// Default age after which settled withdrawals (shard journal) and settled mints (hub
/// journal) are compacted to counters: 30 days.
pub const DEFAULT_SETTLED_RETENTION_SECS: u64 = 30 * DAY_SECS;
/// Lowest retention: 7 days, long after the ledger's 24 h deduplication window (a compacted
/// entry can never be needed to answer a retry the ledger would still deduplicate) and at
/// least the longest withdrawal cooldown (the newest withdrawal, which the cooldown reads, is
/// never compacted while the cooldown runs).
pub const MIN_SETTLED_RETENTION_SECS: u64 = 7 * DAY_SECS;
/// Highest retention: 10 years.
pub const MAX_SETTLED_RETENTION_SECS: u64 = 3_650 * DAY_SECS;

/// Default for archiving inactive learners: off (0). Governance turns it on with 1001.
pub const DEFAULT_INACTIVE_ARCHIVE_SECS: u64 = 0;
/// Shortest inactivity before a profile may be archived: 180 days (a learner on a long break
/// keeps their profile; their balance is never lost either way).
pub const MIN_INACTIVE_ARCHIVE_SECS: u64 = 180 * DAY_SECS;
/// Longest: 10 years.
pub const MAX_INACTIVE_ARCHIVE_SECS: u64 = 3_650 * DAY_SECS;

/// Checks the storage fields of a configuration; the error names the field.
pub fn validate_storage_config(memory_budget: u64, retention_secs: u64, archive_secs: u64) -> Result<(), String> {
    if !(MIN_SHARD_MEMORY_BUDGET_BYTES..=MAX_SHARD_MEMORY_BUDGET_BYTES).contains(&memory_budget) {
        return Err(format!(
            "shard_memory_budget_bytes must be in {MIN_SHARD_MEMORY_BUDGET_BYTES}..={MAX_SHARD_MEMORY_BUDGET_BYTES}, got {memory_budget}"
        ));
    }
    if !(MIN_SETTLED_RETENTION_SECS..=MAX_SETTLED_RETENTION_SECS).contains(&retention_secs) {
        return Err(format!(
            "settled_retention_secs must be in {MIN_SETTLED_RETENTION_SECS}..={MAX_SETTLED_RETENTION_SECS} (7 days at least: the ledger deduplicates for 24 h), got {retention_secs}"
        ));
    }
    if archive_secs != 0 && !(MIN_INACTIVE_ARCHIVE_SECS..=MAX_INACTIVE_ARCHIVE_SECS).contains(&archive_secs) {
        return Err(format!(
            "inactive_archive_secs must be 0 (off) or in {MIN_INACTIVE_ARCHIVE_SECS}..={MAX_INACTIVE_ARCHIVE_SECS}, got {archive_secs}"
        ));
    }
    Ok(())
}

/// Argument of a shard's `delete_my_profile`.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct DeleteProfileArgs {
    /// Must be true to delete a profile that still has a staked balance: the balance is then
    /// forfeited (it goes back to the shard's reward allowance, it is never minted). Without
    /// it, a profile with a balance is not deleted (withdraw the balance first with `unstake`).
    pub forfeit_staked_balance: bool,
}

/// What `delete_my_profile` did.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProfileDeleted {
    /// The staked balance given up (0 unless `forfeit_staked_balance` was set).
    pub forfeited_e8s: u64,
    /// Settled withdrawals removed from the journal.
    pub withdrawals_removed: u64,
    /// Completed units kept (unit ids only, so a unit's reward is never paid twice to the
    /// same principal).
    pub completed_units_kept: u64,
}

/// Why `delete_my_profile` deleted nothing.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum DeleteProfileError {
    NotRegistered,
    /// A disabled shard changes no user state.
    ShardDisabled,
    /// The shard is frozen for a migration (function 1012); retry on the learner's new shard.
    ShardMigrating,
    /// A quiz submission of the caller is in flight; retry when it has answered.
    SubmissionInProgress,
    /// Withdrawals still being minted: deletion waits until they settle (their tokens are
    /// on the way to the learner's account, or come back to the balance).
    WithdrawalsPending { count: u64 },
    /// Rewards of passed quizzes still owed (paid as allowance arrives): deletion waits.
    RewardsOwed { amount_e8s: u64 },
    /// The profile has a staked balance: withdraw it first (`unstake`), or delete with
    /// `forfeit_staked_balance = true` to give it up.
    StakedBalance { staked_e8s: u64 },
}

/// A shard's `get_cleanup_status`: what the cleanup timer did (counts only, no learner data).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct ShardCleanupStatus {
    /// The shard's stable memory, in bytes (as last measured), and the budget in force.
    pub stable_memory_bytes: u64,
    pub memory_budget_bytes: u64,
    /// Settled withdrawals compacted to counters, and their amounts.
    pub compacted_completed: u64,
    pub compacted_completed_e8s: u64,
    pub compacted_failed: u64,
    pub compacted_failed_e8s: u64,
    /// Learners archived for inactivity (profile deleted, balance kept) and profiles deleted
    /// by their owner; archived learners restored by coming back.
    pub archived: u64,
    pub deleted_by_owner: u64,
    pub restored: u64,
    /// Learners archived right now (tombstones) and the staked balance they keep, in e8s.
    pub tombstones: u64,
    pub tombstone_staked_e8s: u64,
    /// Staked balances forfeited by self-deletion (back to the allowance), in e8s.
    pub forfeited_e8s: u64,
    /// Every withdrawal id below this is settled on the shard (what it reports to the hub,
    /// which compacts its mint journal only below it).
    pub settled_below_withdrawal_id: u64,
    /// When the last cleanup run ended (ns; 0: never), and whether it stopped at its
    /// instruction bound (the next run resumes from the saved cursors).
    pub last_run_ns: u64,
    pub last_run_incomplete: bool,
}

/// The hub's `get_mint_compaction_status`.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct MintCompactionStatus {
    /// Settled mint journal entries compacted to counters (their amounts stay in the per-shard
    /// and hub-wide mint counters).
    pub compacted_minted: u64,
    pub compacted_minted_e8s: u64,
    pub compacted_failed: u64,
    /// Journal entries kept.
    pub journal_entries: u64,
    pub last_run_ns: u64,
    pub last_run_incomplete: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_bounds_name_the_field() {
        let ok = (DEFAULT_SHARD_MEMORY_BUDGET_BYTES, DEFAULT_SETTLED_RETENTION_SECS, DEFAULT_INACTIVE_ARCHIVE_SECS);
        assert_eq!(validate_storage_config(ok.0, ok.1, ok.2), Ok(()));
        assert!(validate_storage_config(MIN_SHARD_MEMORY_BUDGET_BYTES - 1, ok.1, 0).unwrap_err().contains("shard_memory_budget_bytes"));
        assert!(validate_storage_config(MAX_SHARD_MEMORY_BUDGET_BYTES + 1, ok.1, 0).unwrap_err().contains("shard_memory_budget_bytes"));
        assert!(validate_storage_config(ok.0, 6 * DAY_SECS, 0).unwrap_err().contains("settled_retention_secs"));
        assert_eq!(validate_storage_config(ok.0, MIN_SETTLED_RETENTION_SECS, 0), Ok(()));
        assert!(validate_storage_config(ok.0, ok.1, DAY_SECS).unwrap_err().contains("inactive_archive_secs"));
        assert_eq!(validate_storage_config(ok.0, ok.1, MIN_INACTIVE_ARCHIVE_SECS), Ok(()));
        assert!(validate_storage_config(ok.0, ok.1, MAX_INACTIVE_ARCHIVE_SECS + 1).is_err());
        // The retention is never shorter than the longest cooldown a withdrawal waits for.
        assert!(MIN_SETTLED_RETENTION_SECS >= crate::MAX_WITHDRAWAL_COOLDOWN_SECS);
        assert!(MIN_SETTLED_RETENTION_SECS * 1_000_000_000 > 6 * crate::LEDGER_DEDUP_HORIZON_NS);
    }
}
