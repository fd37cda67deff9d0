//! The compact layout of users and completions (issue 14, "Compact records"), and the one-time
//! migration from the layout of releases up to d9b1018.
//!
//! * `users` (memory 10): principal -> [`UserRecord`], unbounded (stored at its real size),
//!   with the learner's completed units inside ([`CompletedUnits`]: interned unit numbers and
//!   their days, a few bytes each), so a submission reads and writes one entry.
//! * Memory 11 is unused (a separate completions map of an unreleased layout).
//! * `unit_numbers` / `unit_ids` (memories 12, 13): the intern table, unit id <-> dense u32
//!   number, in both directions. Entries are never removed, so numbers stay valid forever.
//! * `layout` (memory 14): [`Layout`], the format version and what its migration moved.
//! * `tombstones` (memory 15): principal -> [`Tombstone`] with the learner's completed units.
//!
//! The old maps (memories 1, 2, 60) are read once by [`ShardState::migrate_legacy_layout`] in
//! `post_upgrade`, then cleared. ic-stable-structures cannot give buckets back to the memory
//! manager: the pages the old maps held stay allocated (and billed) until the learners move to
//! a fresh shard (function 1012). Once migrated (or on a fresh shard, whose old memories were
//! never allocated) the check is one cell read: an upgrade stays O(1).

use super::cleanup::Tombstone;
use super::{ShardState, LEGACY_COMPLETED_MEMORY_ID, LEGACY_TOMBSTONES_MEMORY_ID, LEGACY_USERS_MEMORY_ID};
use crate::model::legacy::{LegacyCompletedKey, LegacyTombstone, LegacyUserRecord};
use crate::model::{completion_day, completion_ns, CompletedUnits, UserRecord};
use candid::{CandidType, Principal};
use ic_stable_structures::memory_manager::{MemoryManager, VirtualMemory};
use ic_stable_structures::{Memory, StableBTreeMap};
use platform_types::StableCandid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The compact layout's version.
pub const COMPACT_LAYOUT_VERSION: u32 = 2;

/// Which layout the shard's users are in (Candid in stable memory: fields added later must
/// be `Option`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// 0: not checked yet (a fresh memory, or a shard of an older release); 2: compact.
    pub version: u32,
    /// What the migration from the old layout moved (None: nothing to migrate).
    pub migrated: Option<LegacyMigration>,
}

/// What one migration from the old layout moved.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct LegacyMigration {
    pub users: u64,
    pub tombstones: u64,
    pub completions: u64,
    /// Completions of a principal with neither a record nor a tombstone (cannot happen in a
    /// consistent shard): nobody could read them, so they are counted and left behind.
    pub orphan_completions: u64,
    pub units_interned: u64,
}


/// The three maps of the layout before compact records (memories 1, 2, 60), as d9b1018 wrote
/// them: read by the one-time migration (and written by its tests).
struct LegacyMaps<M: Memory> {
    users: StableBTreeMap<Principal, LegacyUserRecord, VirtualMemory<M>>,
    completed: StableBTreeMap<LegacyCompletedKey, u64, VirtualMemory<M>>,
    tombstones: StableBTreeMap<Principal, LegacyTombstone, VirtualMemory<M>>,
}

impl<M: Memory> LegacyMaps<M> {
    fn open(manager: &MemoryManager<M>) -> Self {
        LegacyMaps {
            users: StableBTreeMap::init(manager.get(LEGACY_USERS_MEMORY_ID)),
            completed: StableBTreeMap::init(manager.get(LEGACY_COMPLETED_MEMORY_ID)),
            tombstones: StableBTreeMap::init(manager.get(LEGACY_TOMBSTONES_MEMORY_ID)),
        }
    }
}

impl<M: Memory> ShardState<M> {
    pub fn layout(&self) -> &Layout {
        &self.layout.get().0
    }

    /// The unit's number, if any learner of this shard ever completed it.
    pub(super) fn unit_number(&self, unit_id: &str) -> Option<u32> {
        self.unit_numbers.get(&unit_id.to_string())
    }

    /// The unit's number, interned now if new.
    pub(super) fn intern_unit(&mut self, unit_id: &str) -> u32 {
        match self.unit_number(unit_id) {
            Some(n) => n,
            None => self.intern_new_unit(unit_id),
        }
    }

    /// Interns `unit_id`, which the caller looked up in this message and did not find.
    pub(super) fn intern_new_unit(&mut self, unit_id: &str) -> u32 {
        let n = u32::try_from(self.unit_ids.len()).expect("fewer than 2^32 units");
        self.unit_numbers.insert(unit_id.to_string(), n);
        self.unit_ids.insert(n, unit_id.to_string());
        n
    }

    pub fn unit_count(&self) -> u64 {
        self.unit_ids.len()
    }

    /// Adds `unit_id`, completed at `time_ns`, to `completed` (interning the unit if new).
    pub(super) fn add_completion(&mut self, completed: &mut CompletedUnits, unit_id: &str, time_ns: u64) {
        let unit = self.intern_unit(unit_id);
        completed.insert(unit, completion_day(time_ns));
    }

    /// `completed` as (unit id, time in ns at the start of its day), in unit-id order.
    pub(super) fn completions_of(&self, completed: &CompletedUnits) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = completed
            .iter()
            .map(|(unit, day)| {
                let unit_id = self.unit_ids.get(&unit).expect("every completed unit is interned");
                (unit_id, completion_ns(day))
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Moves the users, tombstones and completions of the old layout (memories 1, 2, 60) into
    /// the compact one, once, then clears the old maps. O(1) when there is nothing to move: the
    /// layout version says so after the first run, and a fresh shard's old memories are empty.
    /// Returns what it moved, if it moved anything.
    pub fn migrate_legacy_layout(&mut self, manager: &MemoryManager<M>) -> Option<LegacyMigration> {
        if self.layout().version >= COMPACT_LAYOUT_VERSION {
            return None;
        }
        let legacy_ids = [LEGACY_USERS_MEMORY_ID, LEGACY_COMPLETED_MEMORY_ID, LEGACY_TOMBSTONES_MEMORY_ID];
        let has_legacy_data = legacy_ids.iter().any(|id| manager.get(*id).size() > 0);
        let migrated = has_legacy_data.then(|| self.move_legacy_maps(manager));
        let mut layout = self.layout().clone();
        layout.version = COMPACT_LAYOUT_VERSION;
        layout.migrated = migrated.clone();
        self.layout.set(StableCandid(layout));
        migrated
    }

    fn move_legacy_maps(&mut self, manager: &MemoryManager<M>) -> LegacyMigration {
        let LegacyMaps { users: mut old_users, completed: mut old_completed, tombstones: mut old_tombstones } = LegacyMaps::open(manager);
        let units_before = self.unit_count();
        let mut report = LegacyMigration::default();
        // Records and tombstones are read into the heap first (~20 MB at 100,000 learners),
        // given their completed units, then written in a scrambled order (see `scrambled`).
        let mut users: BTreeMap<Principal, UserRecord> = old_users.iter().map(|e| (*e.key(), e.value().into_record())).collect();
        let mut tombstones: BTreeMap<Principal, Tombstone> = old_tombstones
            .iter()
            .map(|e| {
                let old = e.value();
                let tombstone = Tombstone {
                    staked_e8s: old.staked_e8s,
                    completed_units: old.completed_units,
                    registered_at_ns: old.registered_at_ns,
                    archived_at_ns: old.archived_at_ns,
                    deleted: old.deleted,
                    completed: CompletedUnits::default(),
                };
                (*e.key(), tombstone)
            })
            .collect();
        // The intern table, cached on the heap for the run (one stable lookup per new unit).
        let mut units: BTreeMap<String, u32> = self.unit_numbers.iter().map(|e| (e.key().clone(), e.value())).collect();
        for entry in old_completed.iter() {
            let key = entry.key();
            let (user, unit_id) = (key.user(), key.unit_id());
            let (record, tombstone) = (users.get_mut(&user), tombstones.get_mut(&user));
            if record.is_none() && tombstone.is_none() {
                report.orphan_completions += 1;
                continue;
            }
            let unit = match units.get(&unit_id) {
                Some(unit) => *unit,
                None => {
                    let unit = self.intern_new_unit(&unit_id);
                    units.insert(unit_id, unit);
                    unit
                }
            };
            let day = completion_day(entry.value());
            // A principal in both maps (a broken invariant export_users reports by name) keeps
            // its completions in both entries.
            if let Some(record) = record {
                record.completed.insert(unit, day);
            }
            if let Some(tombstone) = tombstone {
                tombstone.completed.insert(unit, day);
            }
            report.completions += 1;
        }
        let users: Vec<(Principal, UserRecord)> = users.into_iter().collect();
        for i in scrambled(users.len()) {
            let (user, record) = &users[i];
            self.users.insert(*user, record.clone());
        }
        report.users = users.len() as u64;
        drop(users);
        let tombstones: Vec<(Principal, Tombstone)> = tombstones.into_iter().collect();
        for i in scrambled(tombstones.len()) {
            let (user, tombstone) = &tombstones[i];
            self.tombstones.insert(*user, tombstone.clone());
        }
        report.tombstones = tombstones.len() as u64;
        report.units_interned = self.unit_count() - units_before;
        old_users.clear_new();
        old_completed.clear_new();
        old_tombstones.clear_new();
        report
    }
}

/// The indices `0..len` in a fixed pseudo-random order. ic-stable-structures' B-tree splits a
/// full node in the middle and never refills the left half when keys arrive in ascending order,
/// so a map written in key order stays ~half full; written in this order its nodes fill as
/// with organic traffic (~70%), and the migrated shard is as small as a fresh one.
fn scrambled(len: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_unstable_by_key(|&i| splitmix64(i as u64));
    order
}

/// SplitMix64's output function: a bijection on u64 that spreads consecutive inputs.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::DefaultMemoryImpl;
    use platform_types::{Gender, PlatformConfig, ProfileInput, ShardInitArgs, UserView, NANOS_PER_DAY};

    const T0: u64 = 20_400 * NANOS_PER_DAY + 12_345;

    fn user(n: u32) -> Principal {
        let mut b = [7u8; 29];
        b[..4].copy_from_slice(&n.wrapping_mul(2_654_435_761).to_be_bytes());
        b[4..8].copy_from_slice(&n.to_be_bytes());
        Principal::from_slice(&b)
    }

    fn unit_id(k: u32) -> String {
        format!("unit-{k:03}")
    }

    /// The units learner `n` completed (a different set for each, none for every 7th).
    fn units_of(n: u32, per_user: u32) -> Vec<String> {
        if n % 7 == 6 {
            return vec![];
        }
        let mut ids: Vec<String> = (0..per_user).map(|k| unit_id((n * 13 + k * 29) % 150)).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    fn legacy_record(n: u32) -> LegacyUserRecord {
        LegacyUserRecord {
            profile: (n % 3 != 0).then(|| ProfileInput {
                email: format!("learner{n}@example.org"),
                name: format!("Learner Nº{n}"),
                education: "Mathematics".into(),
                gender: Gender::NonBinary,
            }),
            staked_e8s: u64::from(n) * 100 + 1,
            day: 20_400,
            attempts_today: n % 5,
            earned_today_e8s: u64::from(n % 5) * 100,
            completed_units: u64::from(n % 11),
            registered_at_ns: T0 - u64::from(n),
            last_active_ns: T0 + u64::from(n),
        }
    }

    fn legacy_tombstone(n: u32) -> LegacyTombstone {
        LegacyTombstone {
            staked_e8s: if n % 2 == 0 { 0 } else { u64::from(n) },
            completed_units: 4,
            registered_at_ns: T0 - 1,
            archived_at_ns: T0 + u64::from(n),
            deleted: n % 2 == 0,
        }
    }

    /// A shard of the old layout: `users` learners with records (every 10th archived instead),
    /// their completions, written with the old encoders into the old memories.
    fn write_legacy_shard(manager: &MemoryManager<DefaultMemoryImpl>, users: u32, per_user: u32) {
        let LegacyMaps { users: mut old_users, completed: mut old_completed, tombstones: mut old_tombstones } = LegacyMaps::open(manager);
        for n in 0..users {
            if n % 10 == 9 {
                old_tombstones.insert(user(n), legacy_tombstone(n));
            } else {
                old_users.insert(user(n), legacy_record(n));
            }
            for (k, unit) in units_of(n, per_user).iter().enumerate() {
                old_completed.insert(LegacyCompletedKey::new(&user(n), unit), T0 + k as u64 * NANOS_PER_DAY + 999);
            }
        }
    }

    fn open(manager: &MemoryManager<DefaultMemoryImpl>) -> ShardState<DefaultMemoryImpl> {
        let mut s = ShardState::open(manager);
        s.set_init_args(ShardInitArgs {
            hub_id: user(900_000),
            learning_content_id: user(900_001),
            config: PlatformConfig::default(),
            config_version: None,
            module_hash: None,
        });
        s
    }

    fn expected_view(n: u32, now_ns: u64) -> UserView {
        let view = if n % 10 == 9 {
            let t = legacy_tombstone(n);
            Tombstone {
                staked_e8s: t.staked_e8s,
                completed_units: t.completed_units,
                registered_at_ns: t.registered_at_ns,
                archived_at_ns: t.archived_at_ns,
                deleted: t.deleted,
                completed: CompletedUnits::default(),
            }
            .record()
            .view(user(n), now_ns)
        } else {
            legacy_record(n).into_record().view(user(n), now_ns)
        };
        UserView { rewards_owed_e8s: Some(0), ..view }
    }

    /// Checks every learner (the first 2,000 of a large shard) of a migrated
    /// `write_legacy_shard(users, per_user)`.
    fn check_every_learner(s: &ShardState<DefaultMemoryImpl>, users: u32, per_user: u32) {
        let now = T0 + 3 * NANOS_PER_DAY;
        for n in 0..users.min(2_000) {
            let who = user(n);
            assert_eq!(s.view(&who, now), Ok(expected_view(n, now)), "learner {n}");
            assert_eq!(s.is_archived(&who), n % 10 == 9, "learner {n}");
            let units = units_of(n, per_user);
            assert_eq!(s.progress(&who, 0, 100).unwrap(), units, "learner {n}");
            if units.len() > 2 {
                assert_eq!(s.progress(&who, 1, 1).unwrap(), units[1..2].to_vec(), "a page, in unit-id order");
            }
            for unit in &units {
                assert!(s.is_completed(&who, unit), "learner {n}, {unit}");
            }
            assert!(!s.is_completed(&who, "unit-999") && !s.is_completed(&who, &unit_id(150)));
        }
        assert_eq!(s.user_count(), u64::from(users));
    }

    #[test]
    fn old_layout_data_moves_once_and_nothing_is_lost() {
        const USERS: u32 = 300;
        const PER_USER: u32 = 10;
        let manager = MemoryManager::init(DefaultMemoryImpl::default());
        write_legacy_shard(&manager, USERS, PER_USER);
        let mut s = open(&manager);
        assert_eq!(s.layout().version, 0);
        let moved = s.migrate_legacy_layout(&manager).expect("old data is moved");
        let completions: u64 = (0..USERS).map(|n| units_of(n, PER_USER).len() as u64).sum();
        assert_eq!(
            (moved.users, moved.tombstones, moved.completions, moved.orphan_completions, moved.units_interned),
            (270, 30, completions, 0, 150)
        );
        assert_eq!(s.layout().version, COMPACT_LAYOUT_VERSION);
        assert_eq!(s.layout().migrated, Some(moved));
        check_every_learner(&s, USERS, PER_USER);

        // Completion times keep their UTC day (what the compact layout stores).
        let exported = s.export_user(&user(1)).unwrap();
        let days: Vec<u64> = exported.completed.iter().map(|c| c.completed_at_ns / NANOS_PER_DAY).collect();
        assert!(days.iter().all(|d| (20_400..20_400 + u64::from(PER_USER)).contains(d)), "{days:?}");
        assert!(exported.completed.iter().all(|c| c.completed_at_ns % NANOS_PER_DAY == 0));

        // The old maps are empty (their pages stay allocated).
        let LegacyMaps { users: old_users, completed: old_completed, tombstones: old_tombstones } = LegacyMaps::open(&manager);
        assert_eq!((old_users.len(), old_completed.len(), old_tombstones.len()), (0, 0, 0));
        assert!(manager.get(LEGACY_USERS_MEMORY_ID).size() > 0);

        // A second run (the next upgrade) changes nothing.
        let before = s.export_page(None, 1_000, 0);
        assert_eq!(s.migrate_legacy_layout(&manager), None);
        assert_eq!(s.export_page(None, 1_000, 0), before);
        // Reopened (as after an upgrade), the state is the same and the run is still a no-op.
        let mut reopened = open(&manager);
        assert_eq!(reopened.migrate_legacy_layout(&manager), None);
        check_every_learner(&reopened, USERS, PER_USER);

        // A new learner starts with no completion of anyone else.
        let newcomer = user(5_000);
        reopened.register_user(newcomer, T0).unwrap();
        assert_eq!(reopened.progress(&newcomer, 0, 100).unwrap(), Vec::<String>::new());
        assert!(!reopened.is_completed(&newcomer, &unit_id(0)));
    }

    #[test]
    fn a_fresh_shard_has_nothing_to_move_and_allocates_no_old_memory() {
        let manager = MemoryManager::init(DefaultMemoryImpl::default());
        let mut s = open(&manager);
        assert_eq!(s.migrate_legacy_layout(&manager), None);
        assert_eq!((s.layout().version, s.layout().migrated.clone()), (COMPACT_LAYOUT_VERSION, None));
        for id in [LEGACY_USERS_MEMORY_ID, LEGACY_COMPLETED_MEMORY_ID, LEGACY_TOMBSTONES_MEMORY_ID] {
            assert_eq!(manager.get(id).size(), 0, "old memory {id:?} untouched");
        }
        s.register_user(user(1), T0).unwrap();
        assert_eq!(s.progress(&user(1), 0, 100), Ok(vec![]));
    }

    #[test]
    fn completions_of_a_principal_without_a_record_are_counted_not_moved() {
        let manager = MemoryManager::init(DefaultMemoryImpl::default());
        write_legacy_shard(&manager, 20, 3);
        let mut old_completed: StableBTreeMap<LegacyCompletedKey, u64, _> =
            StableBTreeMap::init(manager.get(LEGACY_COMPLETED_MEMORY_ID));
        old_completed.insert(LegacyCompletedKey::new(&user(77), "unit-x"), T0);
        let mut s = open(&manager);
        let moved = s.migrate_legacy_layout(&manager).unwrap();
        assert_eq!(moved.orphan_completions, 1);
        assert!(!s.is_registered(&user(77)));
        check_every_learner(&s, 20, 3);
    }

    /// Bytes of stable memory a shard of the old layout holds, after the migration, and what a
    /// fresh shard with the same learners holds (the old memories' buckets stay allocated).
    fn migrate_and_measure(users: u32, per_user: u32) {
        let memory = DefaultMemoryImpl::default();
        let manager = MemoryManager::init(memory.clone());
        write_legacy_shard(&manager, users, per_user);
        let mut s = open(&manager);
        let before = memory.size();
        let moved = s.migrate_legacy_layout(&manager).unwrap();
        assert_eq!(moved.users + moved.tombstones, u64::from(users));
        assert_eq!(moved.completions, (0..users).map(|n| units_of(n, per_user).len() as u64).sum::<u64>());
        let after = memory.size();
        let old_pages: u64 =
            [LEGACY_USERS_MEMORY_ID, LEGACY_COMPLETED_MEMORY_ID, LEGACY_TOMBSTONES_MEMORY_ID].iter().map(|id| manager.get(*id).size()).sum();
        let new_pages: u64 =
            [super::super::USERS_MEMORY_ID, super::super::TOMBSTONES_MEMORY_ID].iter().map(|id| manager.get(*id).size()).sum();
        let per_learner = new_pages * 65_536 / u64::from(users);
        eprintln!(
            "{users} learners x {per_user} units: stable memory {} MiB before, {} MiB after the migration; old maps {} MiB (stranded), \
             new maps {} MiB ({per_learner} bytes per learner with their completed units)",
            before / 16,
            after / 16,
            old_pages / 16,
            new_pages / 16,
        );
        // About 2 of 3 learners have a profile, 6 of 7 completed units: as a fresh shard's.
        assert!(per_learner <= 256, "records fill their nodes as a fresh shard's do: {per_learner} bytes per learner");
        assert!(new_pages * 5 < old_pages, "the compact maps take under a fifth of the old ones");
        assert_eq!(manager.get(ic_stable_structures::memory_manager::MemoryId::new(11)).size(), 0, "memory 11 stays unused");
        check_every_learner(&s, users, per_user);
    }

    #[test]
    fn migration_at_10_000_learners() {
        migrate_and_measure(10_000, 10);
    }

    /// About a minute in a debug build: `cargo test -p user_profile --release -- --ignored`.
    #[test]
    #[ignore]
    fn migration_at_100_000_learners() {
        migrate_and_measure(100_000, 10);
    }

    #[test]
    fn scrambled_is_a_permutation() {
        for len in [0, 1, 2, 10, 1_000] {
            let mut order = scrambled(len);
            assert!(len < 1_000 || order.windows(2).filter(|w| w[0] + 1 == w[1]).count() < 10, "not in key order");
            order.sort_unstable();
            assert_eq!(order, (0..len).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_principal_in_both_old_maps_keeps_its_completions_in_both_entries() {
        let manager = MemoryManager::init(DefaultMemoryImpl::default());
        write_legacy_shard(&manager, 20, 3);
        let mut old_tombstones: StableBTreeMap<Principal, LegacyTombstone, _> =
            StableBTreeMap::init(manager.get(LEGACY_TOMBSTONES_MEMORY_ID));
        old_tombstones.insert(user(1), legacy_tombstone(1));
        let mut s = open(&manager);
        let moved = s.migrate_legacy_layout(&manager).unwrap();
        assert_eq!((moved.users, moved.tombstones), (18, 3));
        let units = units_of(1, 3);
        assert_eq!(s.progress(&user(1), 0, 100).unwrap(), units);
        let from_tombstone = s.completions_of(&s.tombstones.get(&user(1)).unwrap().completed);
        assert_eq!(from_tombstone.into_iter().map(|(id, _)| id).collect::<Vec<_>>(), units);
    }
}
