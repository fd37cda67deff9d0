//! Stable state. Every structure lives on its own virtual memory (named `MemoryId`s below), so
//! upgrades need no pre/post-upgrade serialization and never iterate over the content.
//!
//! Answer keys are in a map of their own that only [`Store::answer_key`] reads; the unit map
//! holds [`Unit`], a type with no answer field, so no path that serves units can leak a key.
//!
//! Governance changes (see `governance.rs`): added units go through the same insertion as the
//! initial ones; an updated unit replaces its unit and key (moving between subjects when its
//! subject changes); a retired unit leaves the unit map, its answer key is **deleted**, it
//! leaves the subject index and its subject's count (the subject goes when it has no units
//! left), and its id is recorded in the retired map so it can never be used again.
//!
//! Compatibility: the structures of older versions keep their memory ids and encodings; newer
//! data lives in new memories (6, 7) that older versions never wrote, and an upgrade from such a
//! version opens them empty (no retired units, configuration version 0).

use candid::{CandidType, Principal};
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::storable::{Bound, Storable};
use ic_stable_structures::{DefaultMemoryImpl, Memory, StableBTreeMap, StableCell};
use platform_types::{ContentInitArgs, StableCandid, Unit, UnitInput, UnitPage};
use serde::Deserialize;
use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Bound as RangeBound;

use crate::model;

/// The init arguments, without their units (those live in the maps below).
pub const INIT_ARGS_MEMORY_ID: MemoryId = MemoryId::new(0);
/// Units (no answers) by id.
pub const UNITS_MEMORY_ID: MemoryId = MemoryId::new(1);
/// Answer keys by unit id, apart from the units.
pub const ANSWER_KEYS_MEMORY_ID: MemoryId = MemoryId::new(2);
/// The set of (subject, unit id), for paging a subject's units in id order.
pub const SUBJECT_INDEX_MEMORY_ID: MemoryId = MemoryId::new(3);
/// Number of units per subject: the subject list and each page's `total`.
pub const SUBJECTS_MEMORY_ID: MemoryId = MemoryId::new(4);
/// Shards the hub registered: the only callers of `verify_quiz`.
pub const SHARDS_MEMORY_ID: MemoryId = MemoryId::new(5);
/// Retired unit ids (never reusable), with what was retired and why.
pub const RETIRED_MEMORY_ID: MemoryId = MemoryId::new(6);
/// The version of the configuration last applied from the hub (`apply_config`); 0 = none yet.
pub const CONFIG_VERSION_MEMORY_ID: MemoryId = MemoryId::new(7);
/// The answer-key set's version and the version the hub confirmed ([`KeySync`]).
pub const KEY_SYNC_MEMORY_ID: MemoryId = MemoryId::new(8);

/// Where the shards' copy of the answer keys stands: `version` grows on every change of a key
/// (a unit added, updated or retired); the set is pushed to the hub until it confirms it.
/// (Candid in a cell: fields added later must be `Option`s.)
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySync {
    pub version: u64,
    pub hub_confirmed: u64,
}

type VM<M> = VirtualMemory<M>;

/// Key of the subject index: ordered by subject, then unit id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SubjectUnitKey {
    pub subject: String,
    pub unit_id: String,
}

impl Storable for SubjectUnitKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.clone().into_bytes())
    }

    /// `u16` little-endian subject length, the subject, then the unit id.
    fn into_bytes(self) -> Vec<u8> {
        let s = self.subject.as_bytes();
        let mut out = Vec::with_capacity(2 + s.len() + self.unit_id.len());
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        out.extend_from_slice(s);
        out.extend_from_slice(self.unit_id.as_bytes());
        out
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        let n = u16::from_le_bytes([bytes[0], bytes[1]]) as usize;
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).expect("subject index key is UTF-8");
        SubjectUnitKey {
            subject: text(&bytes[2..2 + n]),
            unit_id: text(&bytes[2 + n..]),
        }
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: (2 + model::MAX_SUBJECT_BYTES + model::MAX_ID_BYTES) as u32,
        is_fixed_size: false,
    };
}

pub type InitArgsCell<M> = StableCell<StableCandid<Option<ContentInitArgs>>, VM<M>>;

/// What is kept of a retired unit (stored as Candid: new fields must be `Option`s). Its answer
/// key is deleted; its content is no longer served.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RetiredUnit {
    pub subject: String,
    pub title: String,
    pub reason: String,
    /// IC time of the retirement (ns since the epoch).
    pub retired_at_ns: u64,
}

/// All stable structures of the canister, over one memory manager.
pub struct Store<M: Memory> {
    init_args: InitArgsCell<M>,
    units: StableBTreeMap<String, StableCandid<Unit>, VM<M>>,
    answer_keys: StableBTreeMap<String, StableCandid<Vec<u32>>, VM<M>>,
    subject_index: StableBTreeMap<SubjectUnitKey, (), VM<M>>,
    subjects: StableBTreeMap<String, u64, VM<M>>,
    shards: StableBTreeMap<Principal, (), VM<M>>,
    retired: StableBTreeMap<String, StableCandid<RetiredUnit>, VM<M>>,
    config_version: StableCell<u64, VM<M>>,
    key_sync: StableCell<StableCandid<KeySync>, VM<M>>,
}

impl<M: Memory> Store<M> {
    /// Opens (or creates, empty) every structure; reads nothing but the structures' headers.
    pub fn open(manager: &MemoryManager<M>) -> Self {
        Store {
            init_args: StableCell::init(manager.get(INIT_ARGS_MEMORY_ID), StableCandid(None)),
            units: StableBTreeMap::init(manager.get(UNITS_MEMORY_ID)),
            answer_keys: StableBTreeMap::init(manager.get(ANSWER_KEYS_MEMORY_ID)),
            subject_index: StableBTreeMap::init(manager.get(SUBJECT_INDEX_MEMORY_ID)),
            subjects: StableBTreeMap::init(manager.get(SUBJECTS_MEMORY_ID)),
            shards: StableBTreeMap::init(manager.get(SHARDS_MEMORY_ID)),
            retired: StableBTreeMap::init(manager.get(RETIRED_MEMORY_ID)),
            config_version: StableCell::init(manager.get(CONFIG_VERSION_MEMORY_ID), 0),
            key_sync: StableCell::init(manager.get(KEY_SYNC_MEMORY_ID), StableCandid(KeySync::default())),
        }
    }

    pub fn key_sync(&self) -> KeySync {
        self.key_sync.get().0.clone()
    }

    /// A key changed (or, after an upgrade from a release that had no key sync, keys exist
    /// that no shard was given): the set gets a new version, to be pushed.
    pub fn note_keys_changed(&mut self) {
        let mut sync = self.key_sync();
        sync.version += 1;
        self.key_sync.set(StableCandid(sync));
    }

    /// The hub confirmed `version` (never moves back).
    pub fn confirm_keys(&mut self, version: u64) {
        let mut sync = self.key_sync();
        sync.hub_confirmed = sync.hub_confirmed.max(version.min(sync.version));
        self.key_sync.set(StableCandid(sync));
    }

    /// Every live unit's key, at the current version (what the shards verify with).
    pub fn answer_key_set(&self) -> platform_types::answer_keys::AnswerKeySet {
        let keys = self
            .units
            .iter()
            .map(|entry| {
                let (id, unit) = entry.into_pair();
                let unit = unit.0;
                let key = self.answer_keys.get(&id).unwrap_or_else(|| panic!("unit {id:?} has no answer key")).0;
                model::unit_answer_key(&unit, &key)
            })
            .collect();
        platform_types::answer_keys::AnswerKeySet { version: self.key_sync().version, keys }
    }

    /// Stores the init arguments (without their units) and the units, which must have been
    /// validated (see [`model::validate_units`]).
    pub fn initialize(&mut self, mut args: ContentInitArgs) {
        let units = std::mem::take(&mut args.units);
        self.init_args.set(StableCandid(Some(args)));
        for input in units {
            self.insert_unit(input);
        }
        self.note_keys_changed();
    }

    fn insert_unit(&mut self, input: UnitInput) {
        let UnitInput { unit, answer_key } = input;
        let id = unit.id.clone();
        let subject = unit.subject.clone();
        let replaced = self.units.insert(id.clone(), StableCandid(unit));
        assert!(replaced.is_none(), "unit {id:?} inserted twice");
        self.answer_keys
            .insert(id.clone(), StableCandid(answer_key));
        self.subject_index.insert(
            SubjectUnitKey {
                subject: subject.clone(),
                unit_id: id,
            },
            (),
        );
        self.add_to_subject(subject);
    }

    fn add_to_subject(&mut self, subject: String) {
        let count = self.subjects.get(&subject).unwrap_or(0);
        self.subjects.insert(subject, count + 1);
    }

    /// Takes one unit off `subject`'s count; the subject goes when none is left.
    fn remove_from_subject(&mut self, subject: &str) {
        let subject = subject.to_string();
        match self.subjects.get(&subject) {
            Some(n) if n > 1 => {
                self.subjects.insert(subject, n - 1);
            }
            Some(_) => {
                self.subjects.remove(&subject);
            }
            None => panic!("subject {subject:?} has no count"),
        }
    }

    /// Adds units that were validated against this store (new ids, see
    /// `governance::check_add_units`).
    pub fn add_units(&mut self, units: Vec<UnitInput>) {
        for input in units {
            assert!(
                !self.retired.contains_key(&input.unit.id),
                "unit {:?} was retired",
                input.unit.id
            );
            self.insert_unit(input);
        }
        self.note_keys_changed();
    }

    /// Replaces an active unit and its answer key (validated, see
    /// `governance::check_update_unit`), moving it to its new subject if that changed.
    pub fn replace_unit(&mut self, input: UnitInput) {
        let UnitInput { unit, answer_key } = input;
        let id = unit.id.clone();
        let old = self
            .unit(&id)
            .unwrap_or_else(|| panic!("unit {id:?} to replace does not exist"));
        if old.subject != unit.subject {
            self.subject_index.remove(&SubjectUnitKey {
                subject: old.subject.clone(),
                unit_id: id.clone(),
            });
            self.remove_from_subject(&old.subject);
            self.subject_index.insert(
                SubjectUnitKey {
                    subject: unit.subject.clone(),
                    unit_id: id.clone(),
                },
                (),
            );
            self.add_to_subject(unit.subject.clone());
        }
        self.units.insert(id.clone(), StableCandid(unit));
        self.answer_keys.insert(id, StableCandid(answer_key));
        self.note_keys_changed();
    }

    /// Retires an active unit: it leaves every listing and `verify_quiz`, its answer key is
    /// deleted, and its id is kept as used forever.
    pub fn retire_unit(&mut self, id: &str, reason: &str, now_ns: u64) {
        let key = id.to_string();
        let unit = self
            .units
            .remove(&key)
            .unwrap_or_else(|| panic!("unit {id:?} to retire does not exist"))
            .0;
        self.answer_keys.remove(&key);
        self.note_keys_changed();
        self.subject_index.remove(&SubjectUnitKey {
            subject: unit.subject.clone(),
            unit_id: key.clone(),
        });
        self.remove_from_subject(&unit.subject);
        self.retired.insert(
            key,
            StableCandid(RetiredUnit {
                subject: unit.subject,
                title: unit.title,
                reason: reason.to_string(),
                retired_at_ns: now_ns,
            }),
        );
    }

    /// Whether `id` names an active (not retired) unit.
    pub fn has_unit(&self, id: &str) -> bool {
        self.units.contains_key(&id.to_string())
    }

    pub fn is_retired(&self, id: &str) -> bool {
        self.retired.contains_key(&id.to_string())
    }

    #[cfg(test)]
    pub fn retired_unit(&self, id: &str) -> Option<RetiredUnit> {
        self.retired.get(&id.to_string()).map(|r| r.0)
    }

    /// Units in `subject` (0 for an unknown subject).
    pub fn subject_count(&self, subject: &str) -> u64 {
        self.subjects.get(&subject.to_string()).unwrap_or(0)
    }

    /// The init arguments in force, except `units`, which is always empty: as given at install,
    /// with `sns_governance_id` as last set by an upgrade argument and `pass_mark_percent` as
    /// last set by the hub's configuration (`apply_config`).
    pub fn init_args(&self) -> Option<ContentInitArgs> {
        self.init_args.get().0.clone()
    }

    pub fn hub_id(&self) -> Option<Principal> {
        self.init_args.get().0.as_ref().map(|a| a.hub_id)
    }

    pub fn sns_governance_id(&self) -> Option<Principal> {
        self.init_args.get().0.as_ref().map(|a| a.sns_governance_id)
    }

    /// Sets the SNS governance canister (an upgrade argument). The store must be initialized.
    pub fn set_sns_governance_id(&mut self, id: Principal) {
        let mut args = self
            .init_args()
            .expect("learning_content is not initialized");
        args.sns_governance_id = id;
        self.init_args.set(StableCandid(Some(args)));
    }

    /// The version of the hub configuration in force (0: none applied yet).
    pub fn config_version(&self) -> u64 {
        *self.config_version.get()
    }

    /// Applies the hub's configuration `version` (validated: newer, pass mark in range).
    pub fn apply_config(&mut self, version: u64, pass_mark_percent: u8) {
        let mut args = self
            .init_args()
            .expect("learning_content is not initialized");
        args.pass_mark_percent = Some(pass_mark_percent);
        self.init_args.set(StableCandid(Some(args)));
        self.config_version.set(version);
    }

    pub fn pass_mark_percent(&self) -> u8 {
        model::effective_pass_mark(
            self.init_args
                .get()
                .0
                .as_ref()
                .and_then(|a| a.pass_mark_percent),
        )
    }

    /// What `/metrics` shows (see `metrics.rs`).
    pub fn metrics_figures(&self) -> crate::metrics::ContentFigures {
        crate::metrics::ContentFigures {
            units: self.units.len(),
            subjects: self.subjects.len(),
            shards: self.shards.len(),
            config_version: self.config_version(),
            pass_mark_percent: self.pass_mark_percent(),
        }
    }

    /// Registers a shard; true when it was not registered before.
    pub fn add_shard(&mut self, shard: Principal) -> bool {
        self.shards.insert(shard, ()).is_none()
    }

    pub fn is_shard(&self, p: &Principal) -> bool {
        self.shards.contains_key(p)
    }

    #[cfg(test)]
    pub fn shard_count(&self) -> u64 {
        self.shards.len()
    }

    pub fn unit_count(&self) -> u64 {
        self.units.len()
    }

    /// Consistency of the derived structures (tests): every unit is in the subject index under
    /// its subject and has an answer key; the counts match the index; nothing retired is active.
    #[cfg(test)]
    pub fn check_invariants(&self) {
        let mut counts = std::collections::BTreeMap::<String, u64>::new();
        for k in self.subject_index.keys() {
            let u = self.unit(&k.unit_id).expect("indexed unit exists");
            assert_eq!(u.subject, k.subject, "index subject of {}", k.unit_id);
            *counts.entry(k.subject).or_default() += 1;
        }
        assert_eq!(self.subject_index.len(), self.units.len());
        assert_eq!(self.answer_keys.len(), self.units.len());
        for id in self.units.keys() {
            assert!(self.answer_keys.contains_key(&id), "{id} has a key");
            assert!(
                !self.retired.contains_key(&id),
                "{id} is active and retired"
            );
        }
        let stored: std::collections::BTreeMap<String, u64> =
            self.subjects.iter().map(|e| e.into_pair()).collect();
        assert_eq!(stored, counts);
    }

    /// Subjects in lexicographic order.
    pub fn subjects(&self) -> Vec<String> {
        self.subjects.keys().collect()
    }

    pub fn unit(&self, id: &str) -> Option<Unit> {
        self.units.get(&id.to_string()).map(|u| u.0)
    }

    /// The answer key of a unit. Only `verify_quiz` reads it.
    pub fn answer_key(&self, id: &str) -> Option<Vec<u32>> {
        self.answer_keys.get(&id.to_string()).map(|k| k.0)
    }

    /// The ids of `subject`'s units in id order (keys of the subject index only).
    pub fn subject_unit_ids(&self, subject: &str) -> Vec<String> {
        let start = SubjectUnitKey {
            subject: subject.to_string(),
            unit_id: String::new(),
        };
        self.subject_index
            .keys_range((RangeBound::Included(start), RangeBound::Unbounded))
            .take_while(|k| k.subject == subject)
            .map(|k| k.unit_id)
            .collect()
    }

    /// The units of `subject` in id order from `offset` on (see [`model::take_page`]).
    /// An unknown subject has no units.
    pub fn page(&self, subject: &str, offset: u64, limit: u64) -> UnitPage {
        let total = self.subjects.get(&subject.to_string()).unwrap_or(0);
        if offset >= total || limit == 0 {
            return UnitPage {
                units: vec![],
                total,
            };
        }
        let start = SubjectUnitKey {
            subject: subject.to_string(),
            unit_id: String::new(),
        };
        let ids = self
            .subject_index
            .keys_range((RangeBound::Included(start), RangeBound::Unbounded))
            .take_while(|k| k.subject == subject)
            .skip(offset as usize);
        let units = ids.map(|k| {
            self.unit(&k.unit_id)
                .unwrap_or_else(|| panic!("subject index names a missing unit {:?}", k.unit_id))
        });
        UnitPage {
            units: model::take_page(units, limit),
            total,
        }
    }
}

thread_local! {
    static MEMORY_MANAGER: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());

    static STORE: RefCell<Store<DefaultMemoryImpl>> = RefCell::new(MEMORY_MANAGER.with(Store::open));
}

pub fn with<R>(f: impl FnOnce(&Store<DefaultMemoryImpl>) -> R) -> R {
    STORE.with_borrow(f)
}

pub fn with_mut<R>(f: impl FnOnce(&mut Store<DefaultMemoryImpl>) -> R) -> R {
    STORE.with_borrow_mut(f)
}

pub fn init_args() -> Option<ContentInitArgs> {
    with(|s| s.init_args())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::input;

    fn args(units: Vec<UnitInput>) -> ContentInitArgs {
        ContentInitArgs {
            hub_id: Principal::from_slice(&[1; 10]),
            sns_governance_id: Principal::from_slice(&[2; 10]),
            units,
            pass_mark_percent: Some(70),
        }
    }

    fn sample() -> Vec<UnitInput> {
        vec![
            input("m-2", "Math", &[1, 2]),
            input("h-1", "History", &[0]),
            input("m-1", "Math", &[3]),
            input("m-3", "Math", &[0, 0, 1]),
            input("mx", "Math x", &[2]),
        ]
    }

    fn store() -> Store<DefaultMemoryImpl> {
        Store::open(&MemoryManager::init(DefaultMemoryImpl::default()))
    }

    #[test]
    fn every_key_change_gives_the_shards_set_a_new_version() {
        let mut s = store();
        s.initialize(args(sample()));
        assert_eq!(s.key_sync(), KeySync { version: 1, hub_confirmed: 0 });
        let set = s.answer_key_set();
        assert_eq!(set.version, 1);
        let ids: Vec<&str> = set.keys.iter().map(|k| k.unit_id.as_str()).collect();
        assert_eq!(ids, ["h-1", "m-1", "m-2", "m-3", "mx"], "every live unit, in id order");
        let m2 = &set.keys[2];
        assert_eq!((m2.correct.as_slice(), m2.option_counts.as_slice()), (&[1u8, 2][..], &[4u8, 4][..]));
        assert_eq!(set.validate(), Ok(()));

        s.confirm_keys(1);
        s.add_units(vec![input("n-1", "New", &[3])]);
        s.replace_unit(input("m-2", "Math", &[0, 0]));
        s.retire_unit("h-1", "outdated", 5);
        assert_eq!(s.key_sync(), KeySync { version: 4, hub_confirmed: 1 });
        let set = s.answer_key_set();
        let ids: Vec<&str> = set.keys.iter().map(|k| k.unit_id.as_str()).collect();
        assert_eq!(ids, ["m-1", "m-2", "m-3", "mx", "n-1"]);
        assert_eq!(set.keys[1].correct, vec![0, 0]);
        // A confirmation never goes back, nor past the version in force.
        s.confirm_keys(9);
        s.confirm_keys(2);
        assert_eq!(s.key_sync(), KeySync { version: 4, hub_confirmed: 4 });
    }

    #[test]
    fn subject_index_keys_round_trip_and_order_by_subject_then_id() {
        let k = SubjectUnitKey {
            subject: "Ünïcode subject".into(),
            unit_id: "id-1".into(),
        };
        assert_eq!(SubjectUnitKey::from_bytes(k.to_bytes()), k);
        let max = SubjectUnitKey {
            subject: "s".repeat(model::MAX_SUBJECT_BYTES),
            unit_id: "i".repeat(model::MAX_ID_BYTES),
        };
        assert_eq!(
            SubjectUnitKey::from_bytes(Cow::Owned(max.to_bytes_checked().into_owned())),
            max
        );
        let a = SubjectUnitKey {
            subject: "Math".into(),
            unit_id: "z".into(),
        };
        let b = SubjectUnitKey {
            subject: "Math x".into(),
            unit_id: "a".into(),
        };
        assert!(a < b);
    }

    #[test]
    fn content_survives_reopening_the_same_stable_memory() {
        let memory = DefaultMemoryImpl::default();
        {
            let mut store = Store::open(&MemoryManager::init(memory.clone()));
            assert_eq!(store.init_args(), None);
            store.initialize(args(sample()));
            assert!(store.add_shard(Principal::from_slice(&[9; 10])));
        }
        // What an upgrade does: a fresh heap, the same stable memory.
        let store = Store::open(&MemoryManager::init(memory));
        assert_eq!(
            store.init_args(),
            Some(args(vec![])),
            "units are not kept in the init args"
        );
        assert_eq!(store.pass_mark_percent(), 70);
        assert_eq!(store.unit_count(), 5);
        assert_eq!(store.subjects(), vec!["History", "Math", "Math x"]);
        assert!(store.is_shard(&Principal::from_slice(&[9; 10])));
        assert!(!store.is_shard(&Principal::from_slice(&[1; 10])));
        assert_eq!(store.answer_key("m-3"), Some(vec![0, 0, 1]));
        assert_eq!(
            store.unit("m-3").unwrap(),
            input("m-3", "Math", &[0, 0, 1]).unit
        );
        assert_eq!(store.unit("nope"), None);
    }

    #[test]
    fn pages_walk_a_subject_in_id_order() {
        let memory = DefaultMemoryImpl::default();
        let mut store = Store::open(&MemoryManager::init(memory));
        store.initialize(args(sample()));
        let ids = |p: UnitPage| {
            (
                p.units.into_iter().map(|u| u.id).collect::<Vec<_>>(),
                p.total,
            )
        };
        assert_eq!(
            ids(store.page("Math", 0, 50)),
            (vec!["m-1".into(), "m-2".into(), "m-3".into()], 3)
        );
        assert_eq!(ids(store.page("Math", 1, 1)), (vec!["m-2".into()], 3));
        assert_eq!(ids(store.page("Math", 2, 10)), (vec!["m-3".into()], 3));
        assert_eq!(ids(store.page("Math", 3, 10)), (vec![], 3));
        assert_eq!(ids(store.page("Math", u64::MAX, 10)), (vec![], 3));
        assert_eq!(ids(store.page("Math", 0, 0)), (vec![], 3));
        assert_eq!(ids(store.page("Math x", 0, 10)), (vec!["mx".into()], 1));
        assert_eq!(ids(store.page("Mat", 0, 10)), (vec![], 0));
        assert_eq!(ids(store.page("History", 0, 10)), (vec!["h-1".into()], 1));
    }

    fn ids(p: UnitPage) -> Vec<String> {
        p.units.into_iter().map(|u| u.id).collect()
    }

    #[test]
    fn added_replaced_and_retired_units_keep_the_index_and_counts_right() {
        let mut store = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        store.initialize(args(sample()));
        store.check_invariants();

        store.add_units(vec![
            input("m-0", "Math", &[1]),
            input("c-1", "Chem", &[0, 1]),
        ]);
        store.check_invariants();
        assert_eq!(store.subjects(), vec!["Chem", "History", "Math", "Math x"]);
        assert_eq!(ids(store.page("Math", 0, 50)), ["m-0", "m-1", "m-2", "m-3"]);

        // Same subject: content and key replaced, nothing moves.
        let mut same = input("m-2", "Math", &[3, 3]);
        same.unit.title = "Renamed".into();
        store.replace_unit(same.clone());
        store.check_invariants();
        assert_eq!(store.unit("m-2"), Some(same.unit));
        assert_eq!(store.answer_key("m-2"), Some(vec![3, 3]));
        assert_eq!(store.subject_count("Math"), 4);

        // To an existing subject, and out of a subject that then has no units left.
        store.replace_unit(input("mx", "History", &[1]));
        store.check_invariants();
        assert_eq!(store.subjects(), vec!["Chem", "History", "Math"]);
        assert_eq!(ids(store.page("History", 0, 50)), ["h-1", "mx"]);
        assert_eq!(store.page("Math x", 0, 50).total, 0);
        // To a new subject.
        store.replace_unit(input("m-3", "Geometry", &[0]));
        store.check_invariants();
        assert_eq!(
            store.subjects(),
            vec!["Chem", "Geometry", "History", "Math"]
        );
        assert_eq!(store.page("Math", 0, 50).total, 3);
        assert_eq!(store.answer_key("m-3"), Some(vec![0]));

        // Retire: gone from the unit map, the keys, the index and the counts; recorded.
        store.retire_unit("m-3", "wrong", 42);
        store.retire_unit("m-0", "wrong", 42);
        store.check_invariants();
        assert_eq!(store.subjects(), vec!["Chem", "History", "Math"]);
        assert_eq!(ids(store.page("Math", 0, 50)), ["m-1", "m-2"]);
        assert_eq!(store.page("Math", 0, 50).total, 2);
        assert_eq!((store.unit("m-3"), store.answer_key("m-3")), (None, None));
        assert!(!store.has_unit("m-3") && store.is_retired("m-3") && !store.is_retired("m-1"));
        assert_eq!(
            store.retired_unit("m-3"),
            Some(RetiredUnit {
                subject: "Geometry".into(),
                title: "Title of m-3".into(),
                reason: "wrong".into(),
                retired_at_ns: 42
            })
        );
        assert_eq!(store.unit_count(), 5);
    }

    #[test]
    fn governance_id_and_config_version_survive_reopening() {
        let memory = DefaultMemoryImpl::default();
        {
            let mut store = Store::open(&MemoryManager::init(memory.clone()));
            store.initialize(args(sample()));
            assert_eq!(store.config_version(), 0);
            store.set_sns_governance_id(Principal::from_slice(&[7; 10]));
            store.apply_config(5, 90);
            store.retire_unit("h-1", "r", 1);
        }
        let store = Store::open(&MemoryManager::init(memory));
        assert_eq!(
            store.sns_governance_id(),
            Some(Principal::from_slice(&[7; 10]))
        );
        assert_eq!((store.config_version(), store.pass_mark_percent()), (5, 90));
        assert_eq!(store.init_args().unwrap().pass_mark_percent, Some(90));
        assert_eq!(
            store.init_args().unwrap().hub_id,
            Principal::from_slice(&[1; 10])
        );
        assert!(store.is_retired("h-1"));
        assert_eq!(store.subjects(), vec!["Math", "Math x"]);
    }

    /// Stable memory written by the version before governance (memories 0..=5 only) opens with
    /// no retired units and configuration version 0.
    #[test]
    fn memory_of_the_previous_version_opens_with_empty_new_structures() {
        let memory = DefaultMemoryImpl::default();
        {
            let manager = MemoryManager::init(memory.clone());
            let mut cell: InitArgsCell<DefaultMemoryImpl> =
                StableCell::init(manager.get(INIT_ARGS_MEMORY_ID), StableCandid(None));
            cell.set(StableCandid(Some(args(vec![]))));
            let mut units: StableBTreeMap<String, StableCandid<Unit>, _> =
                StableBTreeMap::init(manager.get(UNITS_MEMORY_ID));
            units.insert("a".into(), StableCandid(input("a", "S", &[0]).unit));
        }
        let store = Store::open(&MemoryManager::init(memory));
        assert_eq!(store.config_version(), 0);
        assert!(!store.is_retired("a") && store.has_unit("a"));
        assert_eq!(store.pass_mark_percent(), 70);
    }

    #[test]
    fn default_pass_mark_applies_when_none_is_given() {
        let mut store = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        store.initialize(ContentInitArgs {
            pass_mark_percent: None,
            ..args(vec![])
        });
        assert_eq!(
            store.pass_mark_percent(),
            platform_types::PlatformConfig::default().pass_mark_percent
        );
    }
}
