//! What the shard stores, and how it is laid out in stable memory.
//!
//! # Bytes per user
//!
//! * A user is one entry of the `users` `StableBTreeMap<Principal, UserRecord>`.
//!   [`UserRecord`] has a hand-written, versioned binary encoding whose `Storable::BOUND` is
//!   [`UserRecord::MAX_SIZE`] = 1,115 bytes (the largest valid profile: a 254-byte email, and
//!   name and education of 100 four-byte characters each); [`UserRecord::FIXED_SIZE`] = 54
//!   bytes without a profile, ~110 with a typical one. The key is the principal (<= 29 bytes).
//!   Because both are bounded, the map sizes its node pages for worst-case entries (3/4 of a
//!   full node), so a user costs the same whatever the profile holds: measured by
//!   `model::tests::measured_bytes_per_user` at **~1,300 bytes of stable memory per user**
//!   (10,000 random principals), i.e. ~130 MB for a full 100,000-user shard.
//! * A completed unit is one entry of the `completed` map: key [`CompletedKey`] (user + unit id,
//!   <= [`CompletedKey::MAX_SIZE`] = 94 bytes), value the completion time (8 bytes): measured at
//!   **~120 bytes per completed unit**, however many a user has (the user record only keeps a
//!   count).
//! * Shard-wide [`Counters`] and the init arguments are one small cell each. The memory manager
//!   gives each of the 4 virtual memories at least one 8 MiB bucket: an empty shard holds 32 MiB
//!   of stable memory.
//!
//! The heap holds no per-user data except while a submission of that user is in flight (one
//! principal in a set), so the heap does not grow with the user count, and an upgrade touches
//! neither map: O(1) in the number of users.

use candid::{CandidType, Principal};
use ic_stable_structures::storable::{Bound, Storable};
use platform_types::{Gender, ProfileInput, UserView, MAX_EDUCATION_LEN, MAX_EMAIL_LEN, MAX_NAME_LEN, NANOS_PER_DAY};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

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
}

const RECORD_VERSION_1: u8 = 1;
/// Worst-case UTF-8 bytes of a string of `chars` characters.
const fn utf8_max(chars: usize) -> usize {
    chars * 4
}

impl UserRecord {
    /// Encoded size without a profile: version (1) + 7 numbers (4 x u64 + u32 + 2 x u64 = 52)
    /// + profile tag (1).
    pub const FIXED_SIZE: usize = 1 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 1;
    /// Encoded size with the largest valid profile: gender (1) and three length-prefixed (u16)
    /// strings: email (254 bytes), name and education (100 characters, up to 400 bytes each).
    pub const MAX_SIZE: usize =
        Self::FIXED_SIZE + 1 + 2 + MAX_EMAIL_LEN + 2 + utf8_max(MAX_NAME_LEN) + 2 + utf8_max(MAX_EDUCATION_LEN);

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

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::FIXED_SIZE + 64);
        out.push(RECORD_VERSION_1);
        out.extend_from_slice(&self.staked_e8s.to_le_bytes());
        out.extend_from_slice(&self.day.to_le_bytes());
        out.extend_from_slice(&self.attempts_today.to_le_bytes());
        out.extend_from_slice(&self.earned_today_e8s.to_le_bytes());
        out.extend_from_slice(&self.completed_units.to_le_bytes());
        out.extend_from_slice(&self.registered_at_ns.to_le_bytes());
        out.extend_from_slice(&self.last_active_ns.to_le_bytes());
        match &self.profile {
            None => out.push(0),
            Some(p) => {
                out.push(1);
                out.push(gender_code(&p.gender));
                for s in [&p.email, &p.name, &p.education] {
                    let len = u16::try_from(s.len()).expect("profile strings are validated to fit in u16");
                    out.extend_from_slice(&len.to_le_bytes());
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
        out
    }

    fn decode(bytes: &[u8]) -> Self {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u8();
        assert_eq!(version, RECORD_VERSION_1, "unknown UserRecord version {version}");
        let mut rec = UserRecord {
            staked_e8s: r.u64(),
            day: r.u64(),
            attempts_today: r.u32(),
            earned_today_e8s: r.u64(),
            completed_units: r.u64(),
            registered_at_ns: r.u64(),
            last_active_ns: r.u64(),
            profile: None,
        };
        if r.u8() == 1 {
            let gender = gender_from_code(r.u8());
            let email = r.string();
            let name = r.string();
            let education = r.string();
            rec.profile = Some(ProfileInput { email, name, education, gender });
        }
        rec
    }
}

fn gender_code(g: &Gender) -> u8 {
    match g {
        Gender::Female => 0,
        Gender::Male => 1,
        Gender::NonBinary => 2,
        Gender::PreferNotToSay => 3,
    }
}

fn gender_from_code(c: u8) -> Gender {
    match c {
        0 => Gender::Female,
        1 => Gender::Male,
        2 => Gender::NonBinary,
        3 => Gender::PreferNotToSay,
        _ => panic!("unknown gender code {c} in a UserRecord"),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        s
    }
    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take(2).try_into().unwrap())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().unwrap())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().unwrap())
    }
    fn string(&mut self) -> String {
        let len = self.u16() as usize;
        String::from_utf8(self.take(len).to_vec()).expect("UserRecord strings are UTF-8")
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

    const BOUND: Bound = Bound::Bounded { max_size: Self::MAX_SIZE as u32, is_fixed_size: false };
}

// ------------------------------------------------------------------ completed units

/// Key of the `completed` map: (user, unit id). Encoded as the principal's length, the
/// principal, then the unit id, so one user's units are contiguous and in unit-id order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CompletedKey {
    bytes: Vec<u8>,
}

impl CompletedKey {
    pub const MAX_SIZE: usize = 1 + Principal::MAX_LENGTH_IN_BYTES + MAX_UNIT_ID_LEN;

    pub fn new(user: &Principal, unit_id: &str) -> Self {
        assert!(unit_id.len() <= MAX_UNIT_ID_LEN, "unit ids are validated before use");
        let p = user.as_slice();
        let mut bytes = Vec::with_capacity(1 + p.len() + unit_id.len());
        bytes.push(p.len() as u8);
        bytes.extend_from_slice(p);
        bytes.extend_from_slice(unit_id.as_bytes());
        CompletedKey { bytes }
    }

    /// The smallest key of `user` (its empty unit id).
    pub fn first_of(user: &Principal) -> Self {
        Self::new(user, "")
    }

    fn principal_len(&self) -> usize {
        self.bytes[0] as usize
    }

    pub fn user(&self) -> Principal {
        Principal::from_slice(&self.bytes[1..1 + self.principal_len()])
    }

    pub fn is_of(&self, user: &Principal) -> bool {
        &self.bytes[1..1 + self.principal_len()] == user.as_slice()
    }

    pub fn unit_id(&self) -> String {
        String::from_utf8(self.bytes[1 + self.principal_len()..].to_vec()).expect("unit ids are UTF-8")
    }
}

impl Storable for CompletedKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        CompletedKey { bytes: bytes.into_owned() }
    }

    const BOUND: Bound = Bound::Bounded { max_size: Self::MAX_SIZE as u32, is_fixed_size: false };
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
    fn records_round_trip_and_respect_the_bound() {
        let mut r = UserRecord::new(5 * NANOS_PER_DAY + 7);
        assert_eq!(r.day, 5);
        assert_eq!(r.to_bytes().len(), UserRecord::FIXED_SIZE);
        assert_eq!(UserRecord::from_bytes(r.to_bytes()), r);
        r.staked_e8s = u64::MAX;
        r.attempts_today = 3;
        r.completed_units = 42;
        for gender in [Gender::Female, Gender::Male, Gender::NonBinary, Gender::PreferNotToSay] {
            r.profile = Some(ProfileInput { gender, ..typical_profile() });
            assert_eq!(UserRecord::from_bytes(Cow::Owned(r.clone().into_bytes())), r);
        }
        let max = max_profile().validated().expect("the largest profile is valid");
        r.profile = Some(max);
        let bytes = r.to_bytes_checked();
        assert_eq!(bytes.len(), UserRecord::MAX_SIZE, "the bound is exactly the largest valid profile");
        assert_eq!(UserRecord::MAX_SIZE, 1115);
        assert_eq!(UserRecord::from_bytes(bytes), r);
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
    fn completed_keys_group_by_user_in_unit_order() {
        let a = Principal::from_slice(&[1; 29]);
        let b = Principal::from_slice(&[1; 10]);
        let k = CompletedKey::new(&a, "rust-101");
        assert_eq!((k.user(), k.unit_id()), (a, "rust-101".to_string()));
        assert!(k.is_of(&a) && !k.is_of(&b));
        assert!(CompletedKey::first_of(&a) < k);
        assert_eq!(CompletedKey::from_bytes(k.to_bytes()), k);
        let long = CompletedKey::new(&a, &"u".repeat(MAX_UNIT_ID_LEN));
        assert_eq!(long.to_bytes_checked().len(), CompletedKey::MAX_SIZE);
        // Keys of a shorter principal never interleave with a longer one's (length prefix).
        assert!(CompletedKey::new(&b, "zzz") < CompletedKey::first_of(&a));
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

    /// Stable memory per user and per completed unit, measured on a map of its own.
    #[test]
    fn measured_bytes_per_user() {
        const N: u64 = 10_000;
        let mem = DefaultMemoryImpl::default();
        let mut users: StableBTreeMap<Principal, UserRecord, _> = StableBTreeMap::init(mem.clone());
        for i in 0..N {
            let mut r = UserRecord::new(i);
            r.profile = Some(typical_profile());
            users.insert(principal(i), r);
        }
        let per_user = mem.size() * 65_536 / N;
        eprintln!("users: {per_user} bytes per user ({N} users, {} pages)", mem.size());
        assert!((1_000..1_800).contains(&per_user), "{per_user} bytes per user");

        let mem = DefaultMemoryImpl::default();
        let mut completed: StableBTreeMap<CompletedKey, u64, _> = StableBTreeMap::init(mem.clone());
        for i in 0..N {
            completed.insert(CompletedKey::new(&principal(i % 1_000), &format!("unit-{i:05}")), i);
        }
        let per_unit = mem.size() * 65_536 / N;
        eprintln!("completed: {per_unit} bytes per completed unit ({N} entries)");
        assert!((60..250).contains(&per_unit), "{per_unit} bytes per completed unit");
    }
}
