//! Moving and archiving users (issue 13, section 3): the pages a shard exports with
//! `export_users` and another shard imports with `import_users`, their checksum, and the
//! governance action that migrates a whole shard (function 1012).
//!
//! A page is deterministic Candid: users in principal order, each user's entries in key order,
//! so the same shard state always gives the same bytes, and [`page_sha256`] is the sha256 of
//! `candid::encode_one(page)`. The importing shard recomputes it and refuses a page whose bytes
//! differ from what the exporter hashed.

use crate::{ProfileInput, WithdrawalState};
use candid::{CandidType, Principal};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Most users one `export_users` page holds (the page also stops before ~1.5 MB of Candid,
/// well under the 2 MB inter-canister reply limit).
pub const MAX_EXPORT_PAGE_USERS: u32 = 500;
/// Size at which an export page stops taking users, in estimated Candid bytes.
pub const MAX_EXPORT_PAGE_BYTES: usize = 1_500_000;

/// A completed unit and when it was completed.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExportedCompletion {
    pub unit_id: String,
    pub completed_at_ns: u64,
}

/// A passed quiz's reward the shard still owes the user (waiting for allowance).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExportedOwedReward {
    /// Position in the exporting shard's payment queue (order of payment).
    pub seq: u64,
    pub amount_e8s: u64,
    pub unit_id: String,
    pub passed_at_ns: u64,
}

/// One withdrawal of the user's journal, settled or not.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExportedWithdrawal {
    pub id: u64,
    /// The hub's index of the shard whose id space `id` belongs to (the shard the learner
    /// unstaked on): the hub's mint journal keys the withdrawal by it. None: the exporting shard.
    pub origin_shard: Option<u32>,
    pub amount_e8s: u64,
    pub created_at_ns: u64,
    pub state: WithdrawalState,
    pub attempts: u32,
    pub updated_at_ns: u64,
    pub next_retry_ns: u64,
}

/// Everything a shard keeps about one user.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExportedUser {
    pub principal: Principal,
    pub profile: Option<ProfileInput>,
    pub staked_e8s: u64,
    /// UTC day of the daily counters.
    pub day: u64,
    pub attempts_today: u32,
    pub earned_today_e8s: u64,
    pub completed_units: u64,
    pub registered_at_ns: u64,
    pub last_active_ns: u64,
    /// In unit-id order.
    pub completed: Vec<ExportedCompletion>,
    /// In payment order.
    pub rewards_owed: Vec<ExportedOwedReward>,
    /// In id order.
    pub withdrawals: Vec<ExportedWithdrawal>,
    /// Set for an archived or self-deleted learner (the shard keeps a tombstone, no profile):
    /// the importer re-creates the tombstone, not a live record. Then `profile` is None, the
    /// daily counters are 0, `last_active_ns` is the archive time, nothing is owed and no
    /// withdrawal is Pending; a deleted learner also has no balance and no withdrawals.
    pub tombstone: Option<ExportedTombstone>,
}

/// What marks an exported learner as archived (see `ExportedUser::tombstone`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExportedTombstone {
    pub archived_at_ns: u64,
    /// Deleted by its owner: only the completed units (and their count) move, so a unit is
    /// never paid twice to the same principal.
    pub deleted: bool,
}

/// The source's archiving figures that move with its learners (on the last page, in
/// [`ExportedShardTotals::cleanup`]).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportedCleanupTotals {
    /// Tombstones (archived and self-deleted learners) the source holds: the pages carry each.
    pub tombstones: u64,
    /// Their staked balances (part of `total_staked_e8s`).
    pub tombstone_staked_e8s: u64,
    /// Cumulative counts of the source's archivings, self-deletions and restores, and the
    /// balances forfeited by self-deletion (they went back to the allowance, which moves too).
    pub archived: u64,
    pub deleted_by_owner: u64,
    pub restored: u64,
    pub forfeited_e8s: u64,
}

/// The shard-wide figures that move with the users (only on the last page of an export).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExportedShardTotals {
    pub users: u64,
    pub total_staked_e8s: u64,
    /// Allowance the hub granted and the shard has not paid out: it moves to the importer.
    pub allowance_available_e8s: u64,
    pub allowance_received_e8s: u64,
    pub quizzes_submitted: u64,
    pub quizzes_passed: u64,
    /// The part of `quizzes_passed` the hub already counted.
    pub passed_reported: u64,
    pub hard_cap_reached: bool,
    pub pending_withdrawals_e8s: u64,
    pub pending_withdrawals: u64,
    pub withdrawn_e8s: u64,
    pub rewards_owed_e8s: u64,
    /// Submissions or withdrawal attempts still awaiting another canister (0 once frozen and
    /// quiet: only then is an export complete).
    pub calls_in_flight: u64,
    /// The archiving figures (None from a shard built before archiving existed: it has no
    /// tombstones).
    pub cleanup: Option<ExportedCleanupTotals>,
}

/// A page of `export_users`: users after the cursor, in principal order.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UserExportPage {
    pub users: Vec<ExportedUser>,
    /// The cursor of the next page; None: this is the last page.
    pub next_cursor: Option<Principal>,
    /// Set on the last page only.
    pub shard_totals: Option<ExportedShardTotals>,
}

/// `export_users`'s answer: the page and the sha256 of its Candid bytes ([`page_sha256`]).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExportedUsers {
    pub page: UserExportPage,
    pub sha256: Vec<u8>,
}

/// `import_users`'s argument.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ImportUsersArgs {
    /// The hub's index of the exporting shard (the origin of its withdrawals' ids).
    pub source_shard: u32,
    pub page: UserExportPage,
    /// The exporter's [`page_sha256`]: checked again before anything is imported.
    pub sha256: Vec<u8>,
}

/// `import_users`'s answer.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ImportReceipt {
    pub users_imported: u64,
    /// The page was imported before (a retry after a lost reply): nothing changed.
    pub already_imported: bool,
    /// The shard-wide totals of the last page were applied.
    pub totals_applied: bool,
}

/// A shard's answer to `set_migration_freeze`.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MigrationFreeze {
    pub frozen: bool,
    pub users: u64,
    /// Submissions or withdrawal attempts still awaiting another canister: the hub copies
    /// only once this is 0.
    pub calls_in_flight: u64,
}

/// The sha256 of a page's Candid bytes.
pub fn page_sha256(page: &UserExportPage) -> Vec<u8> {
    let bytes = candid::encode_one(page).expect("an export page always encodes");
    Sha256::digest(&bytes).to_vec()
}

/// Checks a page against its checksum.
pub fn check_page(page: &UserExportPage, sha256: &[u8]) -> Result<(), String> {
    let actual = page_sha256(page);
    if actual.as_slice() == sha256 {
        Ok(())
    } else {
        Err(format!("the page's sha256 is {}, not the {} given", hex(&actual), hex(sha256)))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------------------ function 1012

/// Payload of function 1012.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum MigrateShardArgs {
    /// Create a new shard, freeze `shard`, copy its users page by page, switch the hub's index
    /// to the new shard, then stop `shard` (kept, retired).
    Migrate { shard: Principal },
    /// Delete a retired shard: its cycles go back to the hub first.
    DeleteRetired { shard: Principal },
}

/// Where a migration stands (`get_migration_status`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MigrationView {
    pub id: u64,
    pub source: Principal,
    pub target: Option<Principal>,
    /// CreateTarget, Freeze, Copy, Switch, Finalize, StopSource, Done; or DeleteSource, Deleted.
    pub step: String,
    pub pages_copied: u64,
    pub users_copied: u64,
    /// Of `users_copied`, archived or self-deleted learners (copied as tombstones).
    pub tombstones_copied: Option<u64>,
    pub users_switched: u64,
    /// Allowance the source had not paid out, carried to the target, in e8s.
    pub allowance_carried_e8s: u64,
    pub started_at_ns: u64,
    pub finished_at_ns: Option<u64>,
    /// Failed attempts of the current step so far (the step is retried by the timer).
    pub failures: u32,
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> UserExportPage {
        UserExportPage {
            users: vec![ExportedUser {
                principal: Principal::from_slice(&[7; 29]),
                profile: None,
                staked_e8s: 5,
                day: 1,
                attempts_today: 2,
                earned_today_e8s: 3,
                completed_units: 1,
                registered_at_ns: 9,
                last_active_ns: 10,
                completed: vec![ExportedCompletion { unit_id: "u".into(), completed_at_ns: 4 }],
                rewards_owed: vec![],
                withdrawals: vec![],
                tombstone: None,
            }],
            next_cursor: None,
            shard_totals: None,
        }
    }

    #[test]
    fn a_page_checksum_is_deterministic_and_catches_any_change() {
        let a = page();
        assert_eq!(page_sha256(&a), page_sha256(&a.clone()));
        assert_eq!(check_page(&a, &page_sha256(&a)), Ok(()));
        let mut b = a.clone();
        b.users[0].staked_e8s += 1;
        let err = check_page(&b, &page_sha256(&a)).unwrap_err();
        assert!(err.contains("sha256"), "{err}");
        // The tombstone mark is covered too: a live learner cannot pass for an archived one.
        let mut c = a.clone();
        c.users[0].tombstone = Some(ExportedTombstone { archived_at_ns: 10, deleted: false });
        assert!(check_page(&c, &page_sha256(&a)).is_err());
        let mut d = c.clone();
        d.users[0].tombstone = Some(ExportedTombstone { archived_at_ns: 10, deleted: true });
        assert!(check_page(&d, &page_sha256(&c)).is_err());
        assert!(check_page(&a, &[]).is_err());
    }
}

/// What voters see for function 1012 (shared by the hub's validator and the proposals CLI).
pub fn render_migrate_shard(args: &MigrateShardArgs) -> Result<String, String> {
    Ok(match args {
        MigrateShardArgs::Migrate { shard } => format!(
            "Migrate shard {shard} to a new shard: the hub creates a shard, freezes {shard} (its learners can read \
             but not change anything until the move is done), copies every user page by page with checksums, \
             points its index at the new shard, carries the allowance {shard} has not paid out, then stops {shard} \
             and keeps it (retired) until a DeleteRetired proposal."
        ),
        MigrateShardArgs::DeleteRetired { shard } => format!(
            "Delete the retired shard {shard}: the hub starts it, has it send its cycles back to the hub, stops it \
             and deletes the canister. Its users already live on the shard it was migrated to."
        ),
    })
}
