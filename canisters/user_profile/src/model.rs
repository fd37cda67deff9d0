//! What the shard stores, and how it is laid out in stable memory.
//!
//! # Bytes per user (compact records, issue 14; see `state::layout`)
//!
//! * A user is one entry of the `users` `StableBTreeMap<Principal, UserRecord>` (memory 10).
//!   [`UserRecord`] has a hand-written, versioned encoding with every number a varint, stored
//!   `Bound::Unbounded`, i.e. at its real size: ~70 bytes with a typical profile, 28 without
//!   (the largest valid profile still fits, in overflow pages). The key is the principal
//!   (<= 29 bytes). Measured by `model::tests::measured_bytes_per_user` at **~183 bytes of
//!   stable memory per user** with a profile and no completed unit (10,000 random principals;
//!   the map's 1 KiB node pages hold 6 to 11 such entries, a full node spills into a second
//!   page), ~18 MB for 100,000 users. Before (up to d9b1018) the record was bounded at its
//!   worst case, 1,115 bytes, and cost ~1,300.
//! * The completed units are inside the record ([`CompletedUnits`]): interned unit numbers
//!   (the intern table, memories 12-13, a few bytes per unit of the catalogue) as varint
//!   deltas, and their UTC days as a base day and varint offsets: ~2-3 bytes each in the
//!   record, measured at **~2 bytes of stable memory per completed unit** (was ~120 up to
//!   d9b1018, and 32 in an unreleased layout with a completions map of its own, memory 11,
//!   now unused). A submission reads and writes one entry.
//! * A typical learner with 10 completed units: **~210 bytes** (was ~2,500), plus ~135 bytes
//!   per withdrawal in the journal (unchanged, see docs/performance.md "Compact records").
//! * Shard-wide [`Counters`], the init arguments and the layout cell are one small cell each.
//!   The memory manager gives each virtual memory the shard opens at least one 8 MiB bucket.
//!   A shard migrated from the old layout keeps the buckets of its old maps (memories 1, 2 and
//!   60, emptied): ic-stable-structures cannot give them back.
//!
//! The heap holds no per-user data except while a submission of that user is in flight (one
//! principal in a set), so the heap does not grow with the user count, and an upgrade touches
//! neither map: O(1) in the number of users (but for the one-time layout migration).

use candid::{CandidType, Principal};
use ic_stable_structures::storable::{Bound, Storable};
use platform_types::{Gender, ProfileInput, UserView, NANOS_PER_DAY};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

pub mod legacy;

/// Longest unit id the shard accepts (bytes); longer ids are `BadInput`.
pub const MAX_UNIT_ID_LEN: usize = 64;
/// Most answers one submission may carry; more are `BadInput`.
pub const MAX_ANSWERS: usize = 200;
/// Largest page `get_my_progress` returns.
pub const MAX_PROGRESS_PAGE: u64 = 100;
/// A refill is scheduled when the free allowance drops below this many rewards (capped at half
/// a chunk, see [`low_water_mark`]).
pub const LOW_WATER_REWARDS: u64 = 10;

/// UTC day number (days since the Unix epoch) of a time in nanoseconds.
pub fn day_of(time_ns: u64) -> u64 {
    time_ns / NANOS_PER_DAY
}

/// Free allowance below which the shard asks the hub for more ahead of need:
/// `min(LOW_WATER_REWARDS * reward, chunk / 2)`, so that a fresh chunk is always above it.
pub fn low_water_mark(reward_e8s: u64, chunk_e8s: u64) -> u64 {
    reward_e8s.saturating_mul(LOW_WATER_REWARDS).min(chunk_e8s / 2)
}

// ------------------------------------------------------------------ user record

/// One user of the shard. Daily counters refer to `day`; they are reset lazily (by a
/// submission, and in views) when the UTC day changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub profile: Option<ProfileInput>,
    pub staked_e8s: u64,
    pub day: u64,
    pub attempts_today: u32,
    pub earned_today_e8s: u64,
    pub completed_units: u64,
    pub registered_at_ns: u64,
    pub last_active_ns: u64,
    /// The units completed (kept in the record, so a submission reads and writes one entry).
    pub completed: CompletedUnits,
}

/// Version byte of the compact encoding (version 1 is the fixed-width one of `legacy`).
const RECORD_VERSION_2: u8 = 2;

impl UserRecord {
    /// Encoded size of a record without a profile and without completed units at its largest:
    /// version (1), seven u64 varints (<= 10 each; the u32 one <= 5), completed count (1),
    /// profile tag (1).
    pub const MAX_SIZE_WITHOUT_PROFILE: usize = 1 + 6 * 10 + 5 + 1 + 1;

    pub fn new(now_ns: u64) -> Self {
        UserRecord {
            profile: None,
            staked_e8s: 0,
            day: day_of(now_ns),
            attempts_today: 0,
            earned_today_e8s: 0,
            completed_units: 0,
            registered_at_ns: now_ns,
            last_active_ns: now_ns,
            completed: CompletedUnits::default(),
        }
    }

    /// Moves the daily counters to `day`, resetting them if the day changed.
    pub fn roll_to_day(&mut self, day: u64) {
        if day != self.day {
            self.day = day;
            self.attempts_today = 0;
            self.earned_today_e8s = 0;
        }
    }

    pub fn attempts_on(&self, day: u64) -> u32 {
        if day == self.day {
            self.attempts_today
        } else {
            0
        }
    }

    pub fn earned_on(&self, day: u64) -> u64 {
        if day == self.day {
            self.earned_today_e8s
        } else {
            0
        }
    }

    /// The record as its owner sees it at `now_ns` (daily counters of the current day).
    pub fn view(&self, principal: Principal, now_ns: u64) -> UserView {
        let day = day_of(now_ns).max(self.day);
        UserView {
            principal,
            profile: self.profile.clone(),
            staked_e8s: self.staked_e8s,
            day,
            attempts_today: self.attempts_on(day),
            earned_today_e8s: self.earned_on(day),
            completed_units: self.completed_units,
            registered_at_ns: self.registered_at_ns,
            last_active_ns: self.last_active_ns,
            // Kept outside the record (`ShardState::view` fills it in).
            rewards_owed_e8s: None,
        }
    }

    /// Compact encoding: every number as a LEB128 varint (a new learner's counters are one
    /// byte each), the completed units (see [`CompletedUnits`]), strings with a varint length.
    /// Stored unbounded, at its real size.
    fn encode(&self) -> Vec<u8> {
        let profile_len = self.profile.as_ref().map_or(0, |p| p.email.len() + p.name.len() + p.education.len() + 4);
        let mut out = Vec::with_capacity(48 + 4 * self.completed.len() + profile_len);
        out.push(RECORD_VERSION_2);
        for n in [
            self.staked_e8s,
            self.day,
            u64::from(self.attempts_today),
            self.earned_today_e8s,
            self.completed_units,
            self.registered_at_ns,
            self.last_active_ns,
        ] {
            put_varint(&mut out, n);
        }
        self.completed.encode(&mut out);
        match &self.profile {
            None => out.push(0),
            Some(p) => {
                out.push(1);
                out.push(gender_code(&p.gender));
                for s in [&p.email, &p.name, &p.education] {
                    put_varint(&mut out, s.len() as u64);
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
        out
    }

    fn decode(bytes: &[u8]) -> Self {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u8();
        assert_eq!(version, RECORD_VERSION_2, "unknown UserRecord version {version}");
        let mut rec = UserRecord {
            staked_e8s: r.varint(),
            day: r.varint(),
            attempts_today: u32::try_from(r.varint()).expect("attempts are u32"),
            earned_today_e8s: r.varint(),
            completed_units: r.varint(),
            registered_at_ns: r.varint(),
            last_active_ns: r.varint(),
            completed: CompletedUnits::decode(&mut r),
            profile: None,
        };
        if r.u8() == 1 {
            let gender = gender_from_code(r.u8());
            let mut string = || {
                let len = r.varint() as usize;
                String::from_utf8(r.take(len).to_vec()).expect("UserRecord strings are UTF-8")
            };
            let (email, name, education) = (string(), string(), string());
            rec.profile = Some(ProfileInput { email, name, education, gender });
        }
        rec
    }
}

/// Appends `n` as an unsigned LEB128 varint (7 bits a byte, low bits first).
fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

pub(crate) fn gender_code(g: &Gender) -> u8 {
    match g {
        Gender::Female => 0,
        Gender::Male => 1,
        Gender::NonBinary => 2,
        Gender::PreferNotToSay => 3,
    }
}

pub(crate) fn gender_from_code(c: u8) -> Gender {
    match c {
        0 => Gender::Female,
        1 => Gender::Male,
        2 => Gender::NonBinary,
        3 => Gender::PreferNotToSay,
        _ => panic!("unknown gender code {c} in a UserRecord"),
    }
}

pub(crate) struct Reader<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) pos: usize,
}

impl Reader<'_> {
    pub(crate) fn take(&mut self, n: usize) -> &[u8] {
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        s
    }
    pub(crate) fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take(2).try_into().unwrap())
    }
    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().unwrap())
    }
    pub(crate) fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().unwrap())
    }
    /// A length-prefixed (u16) string of the fixed-width encoding.
    pub(crate) fn string(&mut self) -> String {
        let len = self.u16() as usize;
        String::from_utf8(self.take(len).to_vec()).expect("UserRecord strings are UTF-8")
    }
    fn varint(&mut self) -> u64 {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8();
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return n;
            }
        }
        panic!("a varint longer than 10 bytes in a UserRecord")
    }
}

impl Storable for UserRecord {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.encode())
    }

    fn into_bytes(self) -> Vec<u8> {
        self.encode()
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        Self::decode(&bytes)
    }

    // Stored at its real size (~70 bytes with a typical profile): a bound would make the map
    // size every node slot for the largest valid profile (over 1 KB).
    const BOUND: Bound = Bound::Unbounded;
}

// ------------------------------------------------------------------ completed units

/// The units a learner completed, inside their record (or tombstone): interned unit numbers
/// (the shard's intern table, `unit_numbers`), ascending and distinct, each with the UTC day
/// of its completion. Only an export reads the days.
///
/// Encoded as the count, the unit numbers as varint deltas (the first from 0), then, if any,
/// the earliest day and each day's offset from it as varints, in unit order: ~2-3 bytes a
/// completed unit over a catalogue of a few hundred units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompletedUnits {
    units: Vec<u32>,
    days: Vec<u16>,
}

impl CompletedUnits {
    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    pub fn contains(&self, unit: u32) -> bool {
        self.units.binary_search(&unit).is_ok()
    }

    /// Adds `unit`, completed on `day`; a unit already there keeps its first day. Returns
    /// whether it was new.
    pub fn insert(&mut self, unit: u32, day: u16) -> bool {
        match self.units.binary_search(&unit) {
            Ok(_) => false,
            Err(at) => {
                self.units.insert(at, unit);
                self.days.insert(at, day);
                true
            }
        }
    }

    /// (unit number, completion day), in unit-number order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u16)> + '_ {
        self.units.iter().copied().zip(self.days.iter().copied())
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.units.len() as u64);
        let mut previous = 0;
        for &unit in &self.units {
            put_varint(out, u64::from(unit - previous));
            previous = unit;
        }
        if let Some(&first_day) = self.days.iter().min() {
            put_varint(out, u64::from(first_day));
            for &day in &self.days {
                put_varint(out, u64::from(day - first_day));
            }
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Self {
        let len = usize::try_from(r.varint()).expect("a completed-unit count fits in usize");
        let mut units = Vec::with_capacity(len);
        let mut unit = 0u32;
        for _ in 0..len {
            unit = unit.checked_add(u32::try_from(r.varint()).expect("unit numbers are u32")).expect("unit numbers are u32");
            units.push(unit);
        }
        let mut days = Vec::with_capacity(len);
        if len > 0 {
            let first_day = r.varint();
            for _ in 0..len {
                days.push(u16::try_from(first_day + r.varint()).expect("completion days are u16"));
            }
        }
        CompletedUnits { units, days }
    }
}

/// A completion's time as stored: its UTC day number in a u16 (good until the year 2149).
/// Nothing reads the time but an export to another shard, and a day is what the shard counts
/// in.
pub fn completion_day(time_ns: u64) -> u16 {
    u16::try_from(day_of(time_ns)).unwrap_or(u16::MAX)
}

/// The start of a stored completion day, in nanoseconds (what exports carry).
pub fn completion_ns(day: u16) -> u64 {
    u64::from(day) * NANOS_PER_DAY
}

// ------------------------------------------------------------------ shard-wide counters

/// Shard-wide totals and the local reward allowance ("micro-bank"), in one stable cell
/// (Candid-encoded: new fields must be `Option`s so older bytes keep decoding).
///
/// Invariant: `allowance_received_e8s == allowance_available_e8s + allowance_reserved_e8s +
/// total_staked_e8s` (rewards are the only source of stake).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub disabled: bool,
    pub total_staked_e8s: u64,
    /// Allowance not yet reserved or paid out.
    pub allowance_available_e8s: u64,
    /// Allowance reserved by submissions awaiting learning_content's verdict.
    pub allowance_reserved_e8s: u64,
    /// Everything the hub granted this shard.
    pub allowance_received_e8s: u64,
    /// Verified attempts (a submission that never reached a verdict is not counted).
    pub quizzes_submitted: u64,
    pub quizzes_passed: u64,
    /// The part of `quizzes_passed` sent to the hub in reports (including ones still in flight).
    pub passed_reported: u64,
    /// Totals in the last report the hub accepted.
    pub last_reported_staked_e8s: u64,
    pub last_reported_users: u64,
    pub last_report_ns: u64,
    /// The hub answered `HardCapReached`: nothing more will ever be granted.
    pub hard_cap_reached: bool,
    /// Rewards of passed quizzes owed to learners (see `ShardState::pay_owed_rewards`).
    pub rewards_owed_e8s: Option<u64>,
    /// Sequence number of the next owed reward (FIFO order of payment).
    pub next_owed_seq: Option<u64>,
    /// The hub said the day's emission budget is used up until this time: no refill is asked
    /// for before it, and passes meanwhile are owed.
    pub budget_wait_until_ns: Option<u64>,
    /// The platform-wide pause the hub pushed (function 1010).
    pub platform_paused: Option<bool>,
    /// Epoch of the hub's status push that set `disabled` (`None`: never set by an epoch push).
    /// A push with an older epoch is a stale one (issue 11) and changes nothing.
    pub status_epoch: Option<u64>,
}

/// A passed quiz's reward not paid yet, waiting in the shard's FIFO queue (Candid in stable
/// memory).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct OwedReward {
    pub user: Principal,
    pub amount_e8s: u64,
    pub unit_id: String,
    pub passed_at_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::{MAX_EDUCATION_LEN, MAX_EMAIL_LEN, MAX_NAME_LEN};
    use ic_stable_structures::{DefaultMemoryImpl, Memory, StableBTreeMap};

    fn max_profile() -> ProfileInput {
        ProfileInput {
            email: format!("{}@{}.org", "a".repeat(100), "b".repeat(MAX_EMAIL_LEN - 105)),
            name: "\u{1F600}".repeat(MAX_NAME_LEN),
            education: "\u{1F393}".repeat(MAX_EDUCATION_LEN),
            gender: Gender::PreferNotToSay,
        }
    }

    fn typical_profile() -> ProfileInput {
        ProfileInput {
            email: "ada.lovelace@example.org".into(),
            name: "Ada Lovelace".into(),
            education: "Mathematics".into(),
            gender: Gender::Female,
        }
    }

    #[test]
    fn records_round_trip_in_their_compact_encoding() {
        let mut r = UserRecord::new(5 * NANOS_PER_DAY + 7);
        assert_eq!(r.day, 5);
        assert_eq!(UserRecord::from_bytes(r.to_bytes()), r);
        r.staked_e8s = u64::MAX;
        r.attempts_today = 3;
        r.completed_units = 42;
        for (unit, day) in [(u32::MAX, u16::MAX), (0, 0), (300, 20_424), (7, 1)] {
            assert!(r.completed.insert(unit, day));
        }
        for gender in [Gender::Female, Gender::Male, Gender::NonBinary, Gender::PreferNotToSay] {
            r.profile = Some(ProfileInput { gender, ..typical_profile() });
            assert_eq!(UserRecord::from_bytes(Cow::Owned(r.clone().into_bytes())), r);
        }
        let max = max_profile().validated().expect("the largest profile is valid");
        r.profile = Some(max);
        r.registered_at_ns = u64::MAX;
        r.last_active_ns = u64::MAX;
        r.earned_today_e8s = u64::MAX;
        r.day = u64::MAX;
        r.attempts_today = u32::MAX;
        assert_eq!(UserRecord::from_bytes(r.to_bytes()), r, "every field at its largest");
        // A typical learner: ~70 bytes instead of the 1,115 the old bound reserved.
        let typical = UserRecord { profile: Some(typical_profile()), ..UserRecord::new(1_764_000_000 * 1_000_000_000) };
        let len = typical.to_bytes().len();
        assert!((60..=80).contains(&len), "{len} bytes");
        let bare = UserRecord::new(1_764_000_000 * 1_000_000_000);
        assert!(bare.to_bytes().len() <= UserRecord::MAX_SIZE_WITHOUT_PROFILE);
        // Version, staked, day (3 bytes), attempts, earned, completed, two times in ns (9
        // bytes each), completed-unit count, profile tag: zeros and small numbers take one byte.
        assert_eq!(bare.to_bytes().len(), 1 + 1 + 3 + 1 + 1 + 1 + 9 + 9 + 1 + 1);
    }

    #[test]
    fn completed_units_stay_sorted_distinct_and_take_a_few_bytes_each() {
        let mut c = CompletedUnits::default();
        assert!(!c.contains(0) && c.is_empty());
        for (unit, day) in [(40, 20_430), (3, 20_424), (199, 20_425), (77, 20_424)] {
            assert!(c.insert(unit, day));
        }
        assert!(!c.insert(3, 20_500), "a unit is completed once");
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![(3, 20_424), (40, 20_430), (77, 20_424), (199, 20_425)], "the first day stays");
        assert!(c.contains(77) && !c.contains(78) && c.len() == 4);
        let mut out = Vec::new();
        c.encode(&mut out);
        // Count 1, deltas 3, 37, 37, 122 (1 each), first day 3, offsets 0, 6, 0, 1 (1 each).
        assert_eq!(out.len(), 1 + 4 + 3 + 4);
        assert_eq!(CompletedUnits::decode(&mut Reader { bytes: &out, pos: 0 }), c);
        // Ten units of a 200-unit catalogue completed over a month: under 3 bytes a unit.
        let mut ten = CompletedUnits::default();
        for k in 0..10u32 {
            ten.insert((k * 37 + 11) % 200, 20_424 + (k * 3) as u16);
        }
        let mut out = Vec::new();
        ten.encode(&mut out);
        assert!(out.len() <= 30, "{} bytes", out.len());
        assert_eq!(CompletedUnits::decode(&mut Reader { bytes: &out, pos: 0 }), ten);
    }

    #[test]
    fn varints_round_trip_at_every_width() {
        for shift in 0..64 {
            for n in [1u64 << shift, (1u64 << shift) - 1, u64::MAX >> shift] {
                let mut out = Vec::new();
                put_varint(&mut out, n);
                assert!(out.len() <= 10);
                let mut r = Reader { bytes: &out, pos: 0 };
                assert_eq!(r.varint(), n);
                assert_eq!(r.pos, out.len());
            }
        }
    }

    #[test]
    fn legacy_records_convert_with_their_number() {
        use legacy::LegacyUserRecord;
        let old = LegacyUserRecord {
            profile: Some(max_profile().validated().unwrap()),
            staked_e8s: 5,
            day: 6,
            attempts_today: 7,
            earned_today_e8s: 8,
            completed_units: 9,
            registered_at_ns: 10,
            last_active_ns: 11,
        };
        let bytes = old.to_bytes_checked();
        assert_eq!(bytes.len(), LegacyUserRecord::MAX_SIZE, "the old bound is exactly the largest valid profile");
        assert_eq!(LegacyUserRecord::MAX_SIZE, 1115);
        let back = LegacyUserRecord::from_bytes(bytes);
        assert_eq!(back, old);
        let rec = back.into_record();
        assert_eq!((rec.staked_e8s, rec.completed_units, rec.last_active_ns), (5, 9, 11));
        assert!(rec.completed.is_empty(), "the migration adds the completions");
        assert_eq!(rec.profile, old.profile);
    }

    #[test]
    fn daily_counters_reset_when_the_utc_day_changes() {
        let midnight = 100 * NANOS_PER_DAY;
        let mut r = UserRecord::new(midnight - 1);
        assert_eq!(r.day, 99);
        r.attempts_today = 5;
        r.earned_today_e8s = 300;
        r.roll_to_day(day_of(midnight - 1));
        assert_eq!((r.attempts_today, r.earned_today_e8s), (5, 300), "same day: kept");
        let v = r.view(Principal::anonymous(), midnight);
        assert_eq!((v.day, v.attempts_today, v.earned_today_e8s), (100, 0, 0), "views show the new day");
        assert_eq!(r.attempts_today, 5, "a view does not write");
        r.roll_to_day(day_of(midnight));
        assert_eq!((r.day, r.attempts_today, r.earned_today_e8s), (100, 0, 0));
    }

    #[test]
    fn completion_days_are_utc_days() {
        assert_eq!(completion_ns(completion_day(20_424 * NANOS_PER_DAY + 5)), 20_424 * NANOS_PER_DAY);
        assert_eq!(completion_day(u64::MAX), u16::MAX, "saturates instead of wrapping");
    }

    #[test]
    fn low_water_mark_is_below_a_fresh_chunk() {
        assert_eq!(low_water_mark(100, 1_000_000), 1_000);
        assert_eq!(low_water_mark(100, 300), 150);
        assert_eq!(low_water_mark(100, 100), 50);
    }

    fn principal(i: u64) -> Principal {
        // Pseudo-random 29-byte principals, like self-authenticating ones.
        let mut bytes = [0u8; 29];
        let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        for b in bytes.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        bytes[28] = 2;
        Principal::from_slice(&bytes)
    }

    /// A learner's completions over a catalogue of 200 units (a different pseudo-random set
    /// per learner).
    fn units_of(i: u64, count: u64) -> Vec<u32> {
        (0..count).map(|k| ((i.wrapping_mul(7919) + k * 37) % 200) as u32).collect()
    }

    /// Stable memory per user and per completed unit: learners registered in random principal
    /// order with a profile, then completing units interleaved (one unit each per round, as
    /// they do over days), so the map fills as in a live shard. A completed unit costs what it
    /// adds to its learner's record, node slack included.
    #[test]
    fn measured_bytes_per_user() {
        const N: u64 = 10_000;
        const UNITS_PER_USER: u64 = 10;
        let mem = DefaultMemoryImpl::default();
        let mut users: StableBTreeMap<Principal, UserRecord, _> = StableBTreeMap::init(mem.clone());
        for i in 0..N {
            let mut r = UserRecord::new(1_764_000_000 * 1_000_000_000 + i);
            r.profile = Some(typical_profile());
            r.staked_e8s = 3 * 100_000_000;
            users.insert(principal(i), r);
        }
        let per_user = mem.size() * 65_536 / N;
        eprintln!("users: {per_user} bytes per user ({N} users, {} pages)", mem.size());
        // The record is ~70 bytes, the key 29 (+ 4-byte lengths): the rest is node slack (the
        // map pages are 1 KiB; a node of 11 entries overflows into a second page).
        assert!((110..=256).contains(&per_user), "{per_user} bytes per user");

        let before = mem.size();
        for k in 0..UNITS_PER_USER {
            // Learners in a pseudo-random order (7,919 is prime to N).
            for i in (0..N).map(|j| (j * 7_919 + k * 13) % N) {
                let mut r = users.get(&principal(i)).unwrap();
                r.completed.insert(units_of(i, UNITS_PER_USER)[k as usize], 20_424 + k as u16);
                r.completed_units += 1;
                users.insert(principal(i), r);
            }
        }
        let entries = N * UNITS_PER_USER;
        let per_unit = (mem.size() - before) * 65_536 / entries;
        eprintln!("completions: {per_unit} bytes per completed unit ({entries} completions in the records)");
        assert!(per_unit <= 16, "{per_unit} bytes per completed unit");
        let typical = mem.size() * 65_536 / N;
        eprintln!("typical learner (record with {UNITS_PER_USER} units): {typical} bytes");
        assert!(typical <= 300, "{typical} bytes per typical learner");
    }
}
