//! Stable state. Every structure lives on its own virtual memory (named `MemoryId`s below), so
//! upgrades need no pre/post-upgrade serialization and never iterate over the content.
//!
//! Answer keys are in a map of their own that only [`Store::answer_key`] reads; the unit map
//! holds [`Unit`], a type with no answer field, so no path that serves units can leak a key.

use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::storable::{Bound, Storable};
use ic_stable_structures::{DefaultMemoryImpl, Memory, StableBTreeMap, StableCell};
use platform_types::{ContentInitArgs, StableCandid, Unit, UnitInput, UnitPage};
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

/// All stable structures of the canister, over one memory manager.
pub struct Store<M: Memory> {
    init_args: InitArgsCell<M>,
    units: StableBTreeMap<String, StableCandid<Unit>, VM<M>>,
    answer_keys: StableBTreeMap<String, StableCandid<Vec<u32>>, VM<M>>,
    subject_index: StableBTreeMap<SubjectUnitKey, (), VM<M>>,
    subjects: StableBTreeMap<String, u64, VM<M>>,
    shards: StableBTreeMap<Principal, (), VM<M>>,
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
        }
    }

    /// Stores the init arguments (without their units) and the units, which must have been
    /// validated (see [`model::validate_units`]).
    pub fn initialize(&mut self, mut args: ContentInitArgs) {
        let units = std::mem::take(&mut args.units);
        self.init_args.set(StableCandid(Some(args)));
        for input in units {
            self.insert_unit(input);
        }
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
        let count = self.subjects.get(&subject).unwrap_or(0);
        self.subjects.insert(subject, count + 1);
    }

    /// The init arguments as given, except `units`, which is always empty.
    pub fn init_args(&self) -> Option<ContentInitArgs> {
        self.init_args.get().0.clone()
    }

    pub fn hub_id(&self) -> Option<Principal> {
        self.init_args.get().0.as_ref().map(|a| a.hub_id)
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

    #[cfg(test)]
    pub fn unit_count(&self) -> u64 {
        self.units.len()
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
