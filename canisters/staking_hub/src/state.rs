//! Stable state. Everything lives in ic-stable-structures on named virtual memories, so an
//! upgrade needs no pre/post-upgrade serialization (and never iterates the users).
//!
//! | MemoryId | structure | content |
//! |---|---|---|
//! | 0 | `StableCell` | init arguments (Candid) |
//! | 1 | `StableCell` | the `PlatformConfig` in force (Candid) |
//! | 2 | `StableBTreeMap<u32, ShardRecord>` | the shard registry, by shard index (Candid values) |
//! | 3 | `StableBTreeMap<Principal, u32>` | shard canister id → shard index |
//! | 4 | `StableBTreeMap<Principal, UserEntry>` | the user → shard index (5-byte values) |
//! | 5 | `StableCell` | `HubTotals`: counters and scaling status (Candid) |
//! | 6 | `StableBTreeMap<Principal, ()>` | shards whose `register_shard` at learning_content is pending |
//! | 7 | `StableBTreeMap<MintKey, MintRecord>` | the mint journal: (shard index, withdrawal id) → entry |
//! | 8 | `StableBTreeMap<u32, MintCounters>` | minted and in-flight amounts per shard index |
//! | 9 | `StableCell` | `MintCounters` over all shards |
//! | 10 | `StableCell` | `FleetState`: config version, learning_content's confirmed version, rollout control |
//! | 11 | `StableBTreeMap<u32, ShardSync>` | per shard: confirmed config version, status pushed, rollout failures |
//! | 20 | `StableCell` | the `RegistrationPolicy` set by governance (none: the init argument's, see `admission`) |
//! | 21 | `StableBTreeMap<[u8; 32], InviteCode>` | invite code sha256 → unused / used by a learner / revoked |
//! | 22 | `StableBTreeMap<Principal, Principal>` | credential subject (id_alias) → the learner it registered |
//! | 40 | `StableBTreeMap<u64, RefillRecord>` | refill from ICP: the journal of ICP → cycles conversions, by id (`refill`) |
//! | 30 | `StableBTreeMap<Principal, Watched>` | cycles battery: readings, burn rate, top-ups per canister (shards, learning_content, the hub) |
//! | 31 | `StableCell` | cycles battery: `BatteryState` (last round, level) |
//! | 50 | `StableCell` | shard migrations: `MigrationBook` (the one under way, the finished ones) |
//! | 60 | `StableCell` | mint journal compaction: `CompactionState` (counters of compacted entries, cursor) |
//! | 61 | `StableBTreeMap<u32, u64>` | per shard index: every withdrawal id below it is compacted (or never journaled) |

use crate::fleet::{FleetState, ShardSync};
use crate::mint::{MintCounters, MintKey, MintRecord};
use crate::model::{HubTotals, ShardIndex, ShardRecord, UserEntry};
use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, Memory, StableBTreeMap, StableCell};
use platform_types::{HubInitArgs, PlatformConfig, StableCandid};
use std::cell::RefCell;

pub const INIT_ARGS_MEMORY_ID: MemoryId = MemoryId::new(0);
pub const CONFIG_MEMORY_ID: MemoryId = MemoryId::new(1);
pub const SHARDS_MEMORY_ID: MemoryId = MemoryId::new(2);
pub const SHARD_IDS_MEMORY_ID: MemoryId = MemoryId::new(3);
pub const USERS_MEMORY_ID: MemoryId = MemoryId::new(4);
pub const TOTALS_MEMORY_ID: MemoryId = MemoryId::new(5);
pub const PENDING_CONTENT_MEMORY_ID: MemoryId = MemoryId::new(6);
pub const MINT_JOURNAL_MEMORY_ID: MemoryId = MemoryId::new(7);
pub const SHARD_MINTS_MEMORY_ID: MemoryId = MemoryId::new(8);
pub const MINT_TOTALS_MEMORY_ID: MemoryId = MemoryId::new(9);
pub const FLEET_MEMORY_ID: MemoryId = MemoryId::new(10);
pub const SHARD_SYNC_MEMORY_ID: MemoryId = MemoryId::new(11);
// Registration (ids from 20 on, away from the other structures).
pub const REGISTRATION_POLICY_MEMORY_ID: MemoryId = MemoryId::new(20);
pub const INVITE_CODES_MEMORY_ID: MemoryId = MemoryId::new(21);
pub const CREDENTIAL_SUBJECTS_MEMORY_ID: MemoryId = MemoryId::new(22);
// Refill from ICP (ids from 40 on).
pub const REFILL_JOURNAL_MEMORY_ID: MemoryId = MemoryId::new(40);
// Cycles battery (ids from 30 on).
pub const BATTERY_WATCHED_MEMORY_ID: MemoryId = MemoryId::new(30);
pub const BATTERY_STATE_MEMORY_ID: MemoryId = MemoryId::new(31);
// Mint journal compaction (ids from 60 on).
pub const COMPACTION_STATE_MEMORY_ID: MemoryId = MemoryId::new(60);
pub const COMPACTED_BELOW_MEMORY_ID: MemoryId = MemoryId::new(61);

// Shard migrations (ids from 50 on).
pub const MIGRATIONS_MEMORY_ID: MemoryId = MemoryId::new(50);
// The answer keys relayed from learning_content to the shards (ids from 70 on).
pub const ANSWER_KEYS_MEMORY_ID: MemoryId = MemoryId::new(70);

type VM<M> = VirtualMemory<M>;
pub type MigrationCell<M> = StableCell<StableCandid<crate::migration::MigrationBook>, VM<M>>;
pub type InitArgsCell<M> = StableCell<StableCandid<Option<HubInitArgs>>, VM<M>>;
pub type ConfigCell<M> = StableCell<StableCandid<Option<PlatformConfig>>, VM<M>>;
pub type ShardMap<M> = StableBTreeMap<ShardIndex, StoredShardRecord, VM<M>>;
pub type ShardIdMap<M> = StableBTreeMap<Principal, ShardIndex, VM<M>>;
pub type UserIndex<M> = StableBTreeMap<Principal, UserEntry, VM<M>>;
pub type TotalsCell<M> = StableCell<StableCandid<HubTotals>, VM<M>>;
pub type PendingSet<M> = StableBTreeMap<Principal, (), VM<M>>;
pub type MintJournal<M> = StableBTreeMap<MintKey, EncodedCandid<MintRecord>, VM<M>>;
pub type ShardMints<M> = StableBTreeMap<ShardIndex, EncodedCandid<MintCounters>, VM<M>>;
pub type MintTotalsCell<M> = StableCell<StableCandid<MintCounters>, VM<M>>;
pub type FleetCell<M> = StableCell<StableCandid<FleetState>, VM<M>>;
pub type ShardSyncMap<M> = StableBTreeMap<ShardIndex, StableCandid<ShardSync>, VM<M>>;
pub type RegistrationPolicyCell<M> = StableCell<StableCandid<Option<platform_types::RegistrationPolicy>>, VM<M>>;
pub type InviteCodeMap<M> = StableBTreeMap<[u8; 32], StableCandid<crate::admission::InviteCode>, VM<M>>;
pub type CredentialSubjectMap<M> = StableBTreeMap<Principal, Principal, VM<M>>;
pub type RefillJournal<M> = StableBTreeMap<u64, StableCandid<platform_types::icp_refill::RefillRecord>, VM<M>>;
pub type BatteryWatchedMap<M> = StableBTreeMap<Principal, StableCandid<crate::battery::Watched>, VM<M>>;
pub type BatteryStateCell<M> = StableCell<StableCandid<crate::battery::BatteryState>, VM<M>>;

/// The hub's stable structures over one memory manager.
pub struct Stable<M: Memory> {
    pub init_args: InitArgsCell<M>,
    pub config: ConfigCell<M>,
    pub shards: ShardMap<M>,
    pub shard_ids: ShardIdMap<M>,
    pub users: UserIndex<M>,
    pub totals: TotalsCell<M>,
    pub pending_content: PendingSet<M>,
    pub mint_journal: MintJournal<M>,
    pub shard_mints: ShardMints<M>,
    pub mint_totals: MintTotalsCell<M>,
    pub fleet: FleetCell<M>,
    pub shard_sync: ShardSyncMap<M>,
    pub registration_policy: RegistrationPolicyCell<M>,
    pub invite_codes: InviteCodeMap<M>,
    pub credential_subjects: CredentialSubjectMap<M>,
    pub refill_journal: RefillJournal<M>,
    pub battery_watched: BatteryWatchedMap<M>,
    pub battery: BatteryStateCell<M>,
    pub migrations: MigrationCell<M>,
    pub compaction: StableCell<StableCandid<crate::compaction::CompactionState>, VM<M>>,
    pub compacted_below: StableBTreeMap<ShardIndex, u64, VM<M>>,
    pub answer_keys: StableCell<crate::answer_keys::AnswerKeysBlob, VM<M>>,
}

impl<M: Memory + Clone> Stable<M> {
    /// Opens (or creates, empty) every structure in the memory managed by `manager`.
    pub fn open(manager: &MemoryManager<M>) -> Self {
        Stable {
            init_args: StableCell::init(manager.get(INIT_ARGS_MEMORY_ID), StableCandid(None)),
            config: StableCell::init(manager.get(CONFIG_MEMORY_ID), StableCandid(None)),
            shards: StableBTreeMap::init(manager.get(SHARDS_MEMORY_ID)),
            shard_ids: StableBTreeMap::init(manager.get(SHARD_IDS_MEMORY_ID)),
            users: StableBTreeMap::init(manager.get(USERS_MEMORY_ID)),
            totals: StableCell::init(manager.get(TOTALS_MEMORY_ID), StableCandid(HubTotals::default())),
            pending_content: StableBTreeMap::init(manager.get(PENDING_CONTENT_MEMORY_ID)),
            mint_journal: StableBTreeMap::init(manager.get(MINT_JOURNAL_MEMORY_ID)),
            shard_mints: StableBTreeMap::init(manager.get(SHARD_MINTS_MEMORY_ID)),
            mint_totals: StableCell::init(manager.get(MINT_TOTALS_MEMORY_ID), StableCandid(MintCounters::default())),
            fleet: StableCell::init(manager.get(FLEET_MEMORY_ID), StableCandid(FleetState::default())),
            shard_sync: StableBTreeMap::init(manager.get(SHARD_SYNC_MEMORY_ID)),
            registration_policy: StableCell::init(manager.get(REGISTRATION_POLICY_MEMORY_ID), StableCandid(None)),
            invite_codes: StableBTreeMap::init(manager.get(INVITE_CODES_MEMORY_ID)),
            credential_subjects: StableBTreeMap::init(manager.get(CREDENTIAL_SUBJECTS_MEMORY_ID)),
            refill_journal: StableBTreeMap::init(manager.get(REFILL_JOURNAL_MEMORY_ID)),
            battery_watched: StableBTreeMap::init(manager.get(BATTERY_WATCHED_MEMORY_ID)),
            battery: StableCell::init(manager.get(BATTERY_STATE_MEMORY_ID), StableCandid(Default::default())),
            migrations: StableCell::init(manager.get(MIGRATIONS_MEMORY_ID), StableCandid(Default::default())),
            compaction: StableCell::init(manager.get(COMPACTION_STATE_MEMORY_ID), StableCandid(Default::default())),
            compacted_below: StableBTreeMap::init(manager.get(COMPACTED_BELOW_MEMORY_ID)),
            answer_keys: StableCell::init(manager.get(ANSWER_KEYS_MEMORY_ID), Default::default()),
        }
    }
}

thread_local! {
    static STABLE: RefCell<Stable<DefaultMemoryImpl>> =
        RefCell::new(Stable::open(&MemoryManager::init(DefaultMemoryImpl::default())));
}

pub(crate) fn with<R>(f: impl FnOnce(&Stable<DefaultMemoryImpl>) -> R) -> R {
    STABLE.with_borrow(f)
}

pub(crate) fn with_mut<R>(f: impl FnOnce(&mut Stable<DefaultMemoryImpl>) -> R) -> R {
    STABLE.with_borrow_mut(f)
}

// ------------------------------------------------------------------ init args and config

pub fn set_init_args(args: HubInitArgs) {
    with_mut(|s| s.init_args.set(StableCandid(Some(args))));
}

pub fn init_args() -> Option<HubInitArgs> {
    with(|s| s.init_args.get().0.clone())
}

pub fn set_config(config: PlatformConfig) {
    with_mut(|s| s.config.set(StableCandid(Some(config))));
}

/// The configuration in force (the defaults before init, which only native tests see).
pub fn config() -> PlatformConfig {
    with(|s| s.config.get().0.clone()).unwrap_or_default()
}

// ------------------------------------------------------------------ shard registry

/// A shard record as stored: its Candid bytes (the same bytes `StableCandid` writes, so the
/// stored format is unchanged), decoded only on demand. `StableBTreeMap::insert` returns the
/// value it replaces, decoded: with `StableCandid` every write of a record paid a Candid decode
/// of the old one (~400,000 instructions in `register`) only to drop it.
pub struct StoredShardRecord(Vec<u8>);

impl StoredShardRecord {
    pub fn new(record: &ShardRecord) -> Self {
        StoredShardRecord(platform_types::reply_encoding::encode_ref(record))
    }

    pub fn decode(&self) -> ShardRecord {
        candid::decode_one(&self.0).expect("Candid decoding of a stored shard record failed")
    }
}

impl ic_stable_structures::Storable for StoredShardRecord {
    fn to_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.0)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    fn from_bytes(bytes: std::borrow::Cow<'_, [u8]>) -> Self {
        StoredShardRecord(bytes.into_owned())
    }

    const BOUND: ic_stable_structures::storable::Bound = ic_stable_structures::storable::Bound::Unbounded;
}

/// A Candid value stored as its bytes (the same bytes `StableCandid` writes), decoded only when
/// read: `StableBTreeMap::insert` decodes the value it replaces, which a writer that has just
/// read that value never needs (a mint journal entry or counter decode costs ~100,000
/// instructions).
pub struct EncodedCandid<T>(Vec<u8>, std::marker::PhantomData<T>);

impl<T: candid::CandidType + serde::de::DeserializeOwned + 'static> EncodedCandid<T> {
    pub fn new(value: &T) -> Self {
        EncodedCandid(platform_types::reply_encoding::encode_ref(value), std::marker::PhantomData)
    }

    pub fn decode(&self) -> T {
        candid::decode_one(&self.0).expect("Candid decoding of a stored value failed")
    }
}

impl<T> ic_stable_structures::Storable for EncodedCandid<T> {
    fn to_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.0)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    fn from_bytes(bytes: std::borrow::Cow<'_, [u8]>) -> Self {
        EncodedCandid(bytes.into_owned(), std::marker::PhantomData)
    }

    const BOUND: ic_stable_structures::storable::Bound = ic_stable_structures::storable::Bound::Unbounded;
}

thread_local! {
    /// The shard registry, decoded, by index (indices are dense: `add_shard` appends). Decoding
    /// a `ShardRecord` with Candid costs ~200,000 instructions (measured) and every `register`
    /// reads every record to route; the registry is small (one record per shard). Filled on the
    /// first read after an install or upgrade; every write goes through this module, which
    /// writes the record to both. A trap rolls the heap back with stable memory.
    static SHARD_RECORDS: RefCell<Option<Vec<ShardRecord>>> = const { RefCell::new(None) };
}

fn with_shard_records<R>(f: impl FnOnce(&mut Vec<ShardRecord>) -> R) -> R {
    SHARD_RECORDS.with_borrow_mut(|cached| {
        let records = cached.get_or_insert_with(|| with(|s| s.shards.iter().map(|e| e.value().decode()).collect()));
        f(records)
    })
}

/// Registers a canister the hub just created (not installed yet); returns its index.
pub fn add_shard(record: ShardRecord) -> ShardIndex {
    with_shard_records(|records| {
        let index = with_mut(|s| {
            let index = s.shards.len() as ShardIndex;
            s.shard_ids.insert(record.id, index);
            s.shards.insert(index, StoredShardRecord::new(&record));
            index
        });
        debug_assert_eq!(index as usize, records.len());
        records.push(record);
        index
    })
}

pub fn shard(index: ShardIndex) -> Option<ShardRecord> {
    SHARD_RECORDS.with_borrow(|cached| match cached {
        Some(records) => records.get(index as usize).cloned(),
        // Not loaded yet (e.g. a query right after an upgrade, whose heap changes are
        // discarded anyway): decode this one record only.
        None => with(|s| s.shards.get(&index).map(|r| r.decode())),
    })
}

pub fn shard_by_id(id: Principal) -> Option<(ShardIndex, ShardRecord)> {
    let index = with(|s| s.shard_ids.get(&id))?;
    shard(index).map(|record| (index, record))
}

/// Changes one shard record; `None` if there is no shard with that index.
pub fn update_shard<R>(index: ShardIndex, f: impl FnOnce(&mut ShardRecord) -> R) -> Option<R> {
    with_shard_records(|records| {
        let record = records.get_mut(index as usize)?;
        let r = f(record);
        with_mut(|s| s.shards.insert(index, StoredShardRecord::new(record)));
        Some(r)
    })
}

/// Every shard record, by index (the registry is small: one entry per shard).
pub fn shards() -> Vec<(ShardIndex, ShardRecord)> {
    with_shards(|records| records.iter().enumerate().map(|(i, r)| (i as ShardIndex, r.clone())).collect())
}

/// Reads the shard registry (by index) without copying it.
pub fn with_shards<R>(f: impl FnOnce(&[ShardRecord]) -> R) -> R {
    with_shard_records(|records| f(records))
}

// ------------------------------------------------------------------ user index

pub fn user(principal: Principal) -> Option<UserEntry> {
    with(|s| s.users.get(&principal))
}

pub fn put_user(principal: Principal, entry: UserEntry) {
    with_mut(|s| s.users.insert(principal, entry));
}

pub fn remove_user(principal: Principal) -> Option<UserEntry> {
    with_mut(|s| s.users.remove(&principal))
}

// ------------------------------------------------------------------ totals

pub fn totals() -> HubTotals {
    with(|s| s.totals.get().0.clone())
}

pub fn update_totals<R>(f: impl FnOnce(&mut HubTotals) -> R) -> R {
    with_mut(|s| {
        let mut t = s.totals.get().0.clone();
        let r = f(&mut t);
        s.totals.set(StableCandid(t));
        r
    })
}

// ------------------------------------------------------------------ pending content registrations

pub fn add_pending_content(shard: Principal) {
    with_mut(|s| s.pending_content.insert(shard, ()));
}

pub fn remove_pending_content(shard: Principal) {
    with_mut(|s| s.pending_content.remove(&shard));
}

pub fn pending_content() -> Vec<Principal> {
    with(|s| s.pending_content.keys().collect())
}

// ------------------------------------------------------------------ fleet (config, status, rollout)

pub fn fleet() -> FleetState {
    with(|s| s.fleet.get().0.clone())
}

pub fn update_fleet<R>(f: impl FnOnce(&mut FleetState) -> R) -> R {
    with_mut(|s| {
        let mut fleet = s.fleet.get().0.clone();
        let r = f(&mut fleet);
        s.fleet.set(StableCandid(fleet));
        r
    })
}

/// The version of the configuration in force (0: the one given at install).
/// The version of the answer keys kept for the shards (0: none received).
pub fn answer_keys_version() -> u64 {
    with(|s| s.answer_keys.get().version)
}

pub fn answer_keys() -> crate::answer_keys::AnswerKeysBlob {
    with(|s| s.answer_keys.get().clone())
}

pub fn set_answer_keys(blob: crate::answer_keys::AnswerKeysBlob) {
    with_mut(|s| s.answer_keys.set(blob));
}

pub fn config_version() -> u64 {
    fleet().config_version
}

pub fn shard_sync(index: ShardIndex) -> ShardSync {
    with(|s| s.shard_sync.get(&index).map(|c| c.0).unwrap_or_default())
}

pub fn update_shard_sync<R>(index: ShardIndex, f: impl FnOnce(&mut ShardSync) -> R) -> R {
    with_mut(|s| {
        let mut sync = s.shard_sync.get(&index).map(|c| c.0).unwrap_or_default();
        let r = f(&mut sync);
        s.shard_sync.insert(index, StableCandid(sync));
        r
    })
}

// ------------------------------------------------------------------ mint journal

/// The first withdrawal of shard `index` whose mint the hub journaled at or after `since_ns`
/// (its id), if any. The journal is ordered by shard, then withdrawal id, so this reads the
/// shard's entries only.
pub fn first_mint_since(index: ShardIndex, since_ns: u64) -> Option<u64> {
    let from = MintKey { shard: index, withdrawal_id: 0 };
    with(|s| {
        s.mint_journal
            .range(from..)
            .take_while(|entry| entry.key().shard == index)
            .find(|entry| entry.value().decode().created_at_ns >= since_ns)
            .map(|entry| entry.key().withdrawal_id)
    })
}

thread_local! {
    /// InFlight journal entries, decoded, as last written: the ledger's reply re-reads the entry
    /// its attempt wrote, and a Candid decode of it costs ~100,000 instructions. Written through
    /// by `put_mint_record`, the one writer of entries (compaction removes settled entries only,
    /// which are never kept here); a trap rolls the heap back with stable memory, an upgrade
    /// empties it. At most [`MAX_CACHED_IN_FLIGHT_MINTS`] (a long ledger outage can leave many
    /// entries InFlight); the others are read from stable memory.
    static IN_FLIGHT_MINTS: RefCell<std::collections::BTreeMap<MintKey, MintRecord>> =
        const { RefCell::new(std::collections::BTreeMap::new()) };
}

const MAX_CACHED_IN_FLIGHT_MINTS: usize = 10_000;

pub fn mint_record(key: MintKey) -> Option<MintRecord> {
    if let Some(record) = IN_FLIGHT_MINTS.with_borrow(|cached| cached.get(&key).cloned()) {
        return Some(record);
    }
    with(|s| s.mint_journal.get(&key).map(|r| r.decode()))
}

pub fn put_mint_record(key: MintKey, record: MintRecord) {
    with_mut(|s| s.mint_journal.insert(key, EncodedCandid::new(&record)));
    IN_FLIGHT_MINTS.with_borrow_mut(|cached| {
        let keep = record.state == crate::mint::MintState::InFlight
            && (cached.len() < MAX_CACHED_IN_FLIGHT_MINTS || cached.contains_key(&key));
        if keep {
            cached.insert(key, record);
        } else {
            cached.remove(&key);
        }
    });
}

thread_local! {
    /// Each shard's mint counters, decoded, once read (a withdrawal reads and writes its shard's
    /// twice). Every write goes through `update_mint_counters`, which writes both; a trap rolls
    /// the heap back with stable memory, an upgrade empties it.
    static SHARD_MINTS: RefCell<std::collections::BTreeMap<ShardIndex, MintCounters>> =
        const { RefCell::new(std::collections::BTreeMap::new()) };
}

fn with_shard_mints<R>(index: ShardIndex, f: impl FnOnce(&mut MintCounters) -> R) -> R {
    SHARD_MINTS.with_borrow_mut(|cached| {
        let counters = cached
            .entry(index)
            .or_insert_with(|| with(|s| s.shard_mints.get(&index).map(|c| c.decode()).unwrap_or_default()));
        f(counters)
    })
}

pub fn shard_mints(index: ShardIndex) -> MintCounters {
    with_shard_mints(index, |c| c.clone())
}

pub fn mint_totals() -> MintCounters {
    with(|s| s.mint_totals.get().0.clone())
}

/// A mint was answered with `block_index`: the ledger is at least `block_index + 1` long.
pub fn note_minted_block(block_index: u64) {
    with_mut(|s| {
        let mut totals = s.mint_totals.get().0.clone();
        let length = block_index.saturating_add(1);
        if totals.ledger_length_seen.is_none_or(|seen| seen < length) {
            totals.ledger_length_seen = Some(length);
            s.mint_totals.set(StableCandid(totals));
        }
    });
}

/// Changes the counters of one shard and the hub-wide ones alike.
pub fn update_mint_counters(index: ShardIndex, f: impl Fn(&mut MintCounters)) {
    let shard = with_shard_mints(index, |c| {
        f(c);
        EncodedCandid::new(c)
    });
    with_mut(|s| {
        s.shard_mints.insert(index, shard);
        let mut totals = s.mint_totals.get().0.clone();
        f(&mut totals);
        s.mint_totals.set(StableCandid(totals));
    });
}

// ------------------------------------------------------------------ cycles battery

pub fn watched(canister: Principal) -> crate::battery::Watched {
    with(|s| s.battery_watched.get(&canister).map(|w| w.0).unwrap_or_default())
}

pub fn update_watched<R>(canister: Principal, f: impl FnOnce(&mut crate::battery::Watched) -> R) -> R {
    with_mut(|s| {
        let mut w = s.battery_watched.get(&canister).map(|w| w.0).unwrap_or_default();
        let r = f(&mut w);
        s.battery_watched.insert(canister, StableCandid(w));
        r
    })
}

pub fn battery() -> crate::battery::BatteryState {
    with(|s| s.battery.get().0.clone())
}

pub fn update_battery<R>(f: impl FnOnce(&mut crate::battery::BatteryState) -> R) -> R {
    with_mut(|s| {
        let mut b = s.battery.get().0.clone();
        let r = f(&mut b);
        s.battery.set(StableCandid(b));
        r
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserState;
    use ic_stable_structures::VectorMemory;
    use platform_types::ConfigOverrides;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    /// The mint journal and the per-shard counters were `StableCandid` values: the bytes kept
    /// by an older hub decode, and new writes are the same bytes.
    #[test]
    fn mint_entries_and_counters_are_stored_as_before_and_counters_stay_in_step_with_stable_memory() {
        use crate::mint::MintState;
        use ic_stable_structures::Storable;
        let record = MintRecord {
            user: p(1),
            amount_e8s: 5,
            created_at_ns: 6,
            state: MintState::Minted { block_index: 7 },
            attempts_sent: 1,
            attempts_not_minted: 0,
            last_error: String::new(),
            transfer_arg: Some(vec![1, 2, 3]),
            ledger_tip_before_first_attempt: Some(4),
            block_search: None,
        };
        let old_bytes = StableCandid(record.clone()).to_bytes().into_owned();
        assert_eq!(EncodedCandid::new(&record).to_bytes().as_ref(), old_bytes.as_slice());
        assert_eq!(EncodedCandid::<MintRecord>::from_bytes(old_bytes.into()).decode(), record);
        let counters = MintCounters { minted_e8s: 1, in_flight_e8s: 2, minted_count: 3, failed_count: 4, ledger_length_seen: None };
        assert_eq!(EncodedCandid::new(&counters).into_bytes(), StableCandid(counters.clone()).into_bytes());

        let stored = |index| with(|s| s.shard_mints.get(&index).map(|c| c.decode()));
        assert_eq!((shard_mints(3), stored(3)), (MintCounters::default(), None), "an unknown shard reads as zero");
        update_mint_counters(3, |c| c.in_flight_e8s += 10);
        update_mint_counters(3, |c| {
            c.in_flight_e8s -= 10;
            c.minted_e8s += 10;
        });
        update_mint_counters(4, |c| c.failed_count += 1);
        let expected = MintCounters { minted_e8s: 10, ..MintCounters::default() };
        assert_eq!((shard_mints(3), stored(3)), (expected.clone(), Some(expected)));
        assert_eq!(stored(4).map(|c| c.failed_count), Some(1));
        assert_eq!((mint_totals().minted_e8s, mint_totals().failed_count), (10, 1));
        // Emptied like an upgrade empties the heap: read back from stable memory.
        SHARD_MINTS.with_borrow_mut(|cached| cached.clear());
        assert_eq!(shard_mints(3).minted_e8s, 10);
        assert_eq!(shard_mints(4).failed_count, 1);
    }

    #[test]
    fn in_flight_mint_entries_are_read_from_the_heap_as_written_and_settled_ones_from_stable_memory() {
        use crate::mint::MintState;
        let key = MintKey { shard: 2, withdrawal_id: 9 };
        let stored = || with(|s| s.mint_journal.get(&key).map(|r| r.decode()));
        let mut record = MintRecord {
            user: p(1),
            amount_e8s: 5,
            created_at_ns: 6,
            state: MintState::InFlight,
            attempts_sent: 1,
            attempts_not_minted: 0,
            last_error: String::new(),
            transfer_arg: None,
            ledger_tip_before_first_attempt: None,
            block_search: None,
        };
        assert_eq!(mint_record(key), None);
        put_mint_record(key, record.clone());
        assert_eq!((mint_record(key), stored()), (Some(record.clone()), Some(record.clone())));
        assert!(IN_FLIGHT_MINTS.with_borrow(|c| c.contains_key(&key)));
        record.attempts_sent = 2;
        put_mint_record(key, record.clone());
        assert_eq!((mint_record(key), stored()), (Some(record.clone()), Some(record.clone())), "the last write wins");
        record.state = MintState::Minted { block_index: 3 };
        put_mint_record(key, record.clone());
        assert!(!IN_FLIGHT_MINTS.with_borrow(|c| c.contains_key(&key)), "settled entries are not kept");
        assert_eq!((mint_record(key), stored()), (Some(record.clone()), Some(record)));
        // Beyond the bound, new InFlight entries are read from stable memory.
        let in_flight = MintRecord { state: MintState::InFlight, ..mint_record(key).unwrap() };
        for id in 0..MAX_CACHED_IN_FLIGHT_MINTS as u64 {
            IN_FLIGHT_MINTS.with_borrow_mut(|c| c.insert(MintKey { shard: 7, withdrawal_id: id }, in_flight.clone()));
        }
        let over = MintKey { shard: 2, withdrawal_id: 10 };
        put_mint_record(over, in_flight.clone());
        assert!(!IN_FLIGHT_MINTS.with_borrow(|c| c.contains_key(&over)));
        assert_eq!(mint_record(over), Some(in_flight));
    }

    fn args() -> HubInitArgs {
        HubInitArgs {
            ledger_id: p(1),
            learning_content_id: p(2),
            sns_governance_id: p(3),
            config: Some(ConfigOverrides {
                shard_soft_limit: Some(9),
                shard_hard_limit: Some(10),
                ..Default::default()
            }),
            registration_policy: None,
            icp_refill: None,
        }
    }

    #[test]
    fn everything_survives_reopening_the_same_stable_memory() {
        let memory = VectorMemory::default();
        {
            let mut s = Stable::open(&MemoryManager::init(memory.clone()));
            assert_eq!(s.init_args.get().0, None);
            s.init_args.set(StableCandid(Some(args())));
            s.config.set(StableCandid(Some(PlatformConfig::default())));
            s.shards.insert(0, StoredShardRecord::new(&ShardRecord::created(p(9), 5)));
            s.shard_ids.insert(p(9), 0);
            s.users.insert(p(20), UserEntry { shard: 0, state: UserState::Registered });
            s.totals.set(StableCandid(HubTotals { registered_users: 1, ..Default::default() }));
            s.pending_content.insert(p(9), ());
            s.battery_watched.insert(p(9), StableCandid(crate::battery::Watched { deposited_total: 7, ..Default::default() }));
            s.battery.set(StableCandid(crate::battery::BatteryState { last_round_ns: Some(3), ..Default::default() }));
        }
        // What an upgrade does: a fresh heap, the same stable memory.
        let s = Stable::open(&MemoryManager::init(memory));
        assert_eq!(s.init_args.get().0, Some(args()));
        assert_eq!(s.config.get().0, Some(PlatformConfig::default()));
        assert_eq!(s.shards.get(&0).unwrap().decode().id, p(9));
        assert_eq!(s.shard_ids.get(&p(9)), Some(0));
        assert_eq!(s.users.get(&p(20)), Some(UserEntry { shard: 0, state: UserState::Registered }));
        assert_eq!(s.totals.get().0.registered_users, 1);
        assert!(s.pending_content.contains_key(&p(9)));
        assert_eq!(s.battery_watched.get(&p(9)).unwrap().0.deposited_total, 7);
        assert_eq!(s.battery.get().0.last_round_ns, Some(3));
    }

    #[test]
    fn thread_local_state_keeps_shards_users_and_totals() {
        assert_eq!(init_args(), None);
        set_init_args(args());
        assert_eq!(init_args(), Some(args()));
        assert_eq!(config(), PlatformConfig::default());
        let a = add_shard(ShardRecord::created(p(7), 1));
        let b = add_shard(ShardRecord::created(p(8), 2));
        assert_eq!((a, b), (0, 1));
        assert_eq!(shard_by_id(p(8)).unwrap().0, 1);
        assert!(shard_by_id(p(9)).is_none());
        update_shard(1, |s| s.user_count = 4);
        assert_eq!(shard(1).unwrap().user_count, 4);
        assert!(update_shard(5, |_| ()).is_none());
        assert_eq!(shards().len(), 2);
        put_user(p(30), UserEntry { shard: 1, state: UserState::Pending });
        assert_eq!(user(p(30)).unwrap().state, UserState::Pending);
        assert!(remove_user(p(30)).is_some());
        assert_eq!(user(p(30)), None);
        update_totals(|t| t.quizzes_passed += 3);
        assert_eq!(totals().quizzes_passed, 3);
        add_pending_content(p(7));
        add_pending_content(p(8));
        remove_pending_content(p(7));
        assert_eq!(pending_content(), vec![p(8)]);
    }

    /// Self-authenticating principals, as real learners have: 29 bytes.
    fn learner(n: u32) -> Principal {
        let mut bytes = [0u8; 29];
        // Spread the keys like hashes do.
        let h = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        bytes[..8].copy_from_slice(&h.to_be_bytes());
        bytes[8..12].copy_from_slice(&n.to_be_bytes());
        bytes[28] = 0x02;
        Principal::from_slice(&bytes)
    }

    /// `StoredShardRecord` keeps the stored format: registries written as `StableCandid` before
    /// an upgrade read back, and what it writes is exactly `candid::encode_one`'s bytes.
    #[test]
    fn stored_shard_records_read_and_write_the_stable_candid_format() {
        let memory = VectorMemory::default();
        let mut record = ShardRecord::created(p(9), 5);
        record.user_count = 42;
        record.wasm_hash = "ab".repeat(32);
        {
            let mut old: StableBTreeMap<ShardIndex, StableCandid<ShardRecord>, VectorMemory> = StableBTreeMap::init(memory.clone());
            old.insert(0, StableCandid(record.clone()));
        }
        let mut new: StableBTreeMap<ShardIndex, StoredShardRecord, VectorMemory> = StableBTreeMap::init(memory);
        assert_eq!(new.get(&0).unwrap().decode(), record);
        new.insert(1, StoredShardRecord::new(&record));
        assert_eq!(new.get(&1).unwrap().0, candid::encode_one(&record).unwrap());
    }

    /// Replacing a stored record does not decode the one it replaces (`StableBTreeMap::insert`
    /// returns it; with `StableCandid` that decode cost ~400,000 instructions per `register`).
    #[test]
    fn replacing_a_stored_shard_record_does_not_decode_the_old_one() {
        let mut map: StableBTreeMap<ShardIndex, StoredShardRecord, VectorMemory> = StableBTreeMap::init(VectorMemory::default());
        // Bytes no Candid decoder accepts: a decode of the old value would panic.
        map.insert(0, StoredShardRecord(b"not candid".to_vec()));
        let replaced = map.insert(0, StoredShardRecord::new(&ShardRecord::created(p(9), 5)));
        assert_eq!(replaced.map(|r| r.0), Some(b"not candid".to_vec()));
        assert_eq!(map.get(&0).unwrap().decode().id, p(9));
    }

    /// The decoded registry in the heap and the stable one stay equal through every write, and
    /// reads are served from the heap (no Candid decode per read).
    #[test]
    fn the_decoded_shard_registry_follows_every_write_and_serves_reads() {
        let a = add_shard(ShardRecord::created(p(7), 1));
        let b = add_shard(ShardRecord::created(p(8), 2));
        update_shard(b, |s| s.add_user(10));
        update_shard(a, |s| s.installed = true);
        let stable: Vec<(ShardIndex, ShardRecord)> = with(|s| s.shards.iter().map(|e| (*e.key(), e.value().decode())).collect());
        assert_eq!(shards(), stable);
        assert_eq!(shard(b).unwrap().user_count, 1);
        assert_eq!(shard_by_id(p(7)).map(|(i, r)| (i, r.installed)), Some((a, true)));
        // A fresh heap (an upgrade): one record is read from stable memory alone, all of them
        // are decoded again on the first read of the registry.
        SHARD_RECORDS.with_borrow_mut(|cached| *cached = None);
        assert_eq!(shard(b), Some(stable[1].1.clone()));
        assert!(SHARD_RECORDS.with_borrow(|cached| cached.is_none()));
        assert_eq!(shards(), stable);
        // Overwrite the stable bytes behind the module's back: reads still come from the heap.
        with_mut(|s| s.shards.insert(a, StoredShardRecord(b"not candid".to_vec())));
        assert_eq!(shard(a).unwrap().id, p(7));
        assert_eq!(crate::registry::route(10), Some((a, p(7))));
    }

    /// The figure stated on `UserEntry`: stable bytes per user of the index.
    #[test]
    fn the_user_index_costs_about_71_bytes_per_user() {
        const N: u32 = 100_000;
        let memory = VectorMemory::default();
        // Directly on a memory (no memory manager, whose 8 MiB buckets would hide the figure).
        let mut users: StableBTreeMap<Principal, UserEntry, VectorMemory> = StableBTreeMap::init(memory.clone());
        let before = memory.size();
        for n in 0..N {
            users.insert(learner(n), UserEntry { shard: n % 7, state: UserState::Registered });
        }
        let bytes = (memory.size() - before) * 65_536;
        let per_user = bytes / N as u64;
        eprintln!("user index: {bytes} bytes for {N} users = {per_user} bytes per user");
        assert!((53..=85).contains(&per_user), "{per_user} bytes per user");
    }
}

// ------------------------------------------------------------------ shard migrations

pub fn migrations() -> crate::migration::MigrationBook {
    with(|s| s.migrations.get().0.clone())
}

pub fn update_migrations<R>(f: impl FnOnce(&mut crate::migration::MigrationBook) -> R) -> R {
    with_mut(|s| {
        let mut book = s.migrations.get().0.clone();
        let r = f(&mut book);
        s.migrations.set(StableCandid(book));
        r
    })
}
