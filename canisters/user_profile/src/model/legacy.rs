//! The record formats of releases up to d9b1018 (memories 1, 2 and 60), kept only to read a
//! shard's old data once in the layout migration (`ShardState::migrate_legacy_layout`) and to
//! write such data in tests. Nothing else uses them.
//!
//! * users (memory 1): principal -> [`LegacyUserRecord`], a fixed-width encoding bounded at
//!   its largest valid profile (1,115 bytes), so every node slot was sized for it;
//! * completed (memory 2): [`LegacyCompletedKey`] (principal + unit-id string, <= 94 bytes) ->
//!   completion time in ns;
//! * tombstones (memory 60): principal -> [`LegacyTombstone`] (33 fixed bytes; its completions in memory 2).

use super::{gender_code, gender_from_code, Reader, UserRecord, MAX_UNIT_ID_LEN};
use candid::Principal;
use ic_stable_structures::storable::{Bound, Storable};
use platform_types::{ProfileInput, MAX_EDUCATION_LEN, MAX_EMAIL_LEN, MAX_NAME_LEN};
use std::borrow::Cow;

const RECORD_VERSION_1: u8 = 1;

/// A user record of the old layout: [`UserRecord`] without its completed units (a map of
/// their own then).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyUserRecord {
    pub profile: Option<ProfileInput>,
    pub staked_e8s: u64,
    pub day: u64,
    pub attempts_today: u32,
    pub earned_today_e8s: u64,
    pub completed_units: u64,
    pub registered_at_ns: u64,
    pub last_active_ns: u64,
}

impl LegacyUserRecord {
    /// Version (1) + 7 fixed-width numbers (52) + profile tag (1).
    pub const FIXED_SIZE: usize = 1 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 1;
    /// Gender (1) and three u16-prefixed strings at their largest (4 bytes a character).
    pub const MAX_SIZE: usize = Self::FIXED_SIZE + 1 + 2 + MAX_EMAIL_LEN + 2 + 4 * MAX_NAME_LEN + 2 + 4 * MAX_EDUCATION_LEN;

    /// The record in the current layout (the migration adds the completed units).
    pub fn into_record(self) -> UserRecord {
        UserRecord {
            profile: self.profile,
            staked_e8s: self.staked_e8s,
            day: self.day,
            attempts_today: self.attempts_today,
            earned_today_e8s: self.earned_today_e8s,
            completed_units: self.completed_units,
            registered_at_ns: self.registered_at_ns,
            last_active_ns: self.last_active_ns,
            completed: Default::default(),
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
        assert_eq!(version, RECORD_VERSION_1, "unknown legacy UserRecord version {version}");
        let mut rec = LegacyUserRecord {
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

impl Storable for LegacyUserRecord {
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

/// Key of the old `completed` map: the principal's length, the principal, the unit id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LegacyCompletedKey {
    bytes: Vec<u8>,
}

impl LegacyCompletedKey {
    pub const MAX_SIZE: usize = 1 + Principal::MAX_LENGTH_IN_BYTES + MAX_UNIT_ID_LEN;

    pub fn new(user: &Principal, unit_id: &str) -> Self {
        let p = user.as_slice();
        let mut bytes = Vec::with_capacity(1 + p.len() + unit_id.len());
        bytes.push(p.len() as u8);
        bytes.extend_from_slice(p);
        bytes.extend_from_slice(unit_id.as_bytes());
        LegacyCompletedKey { bytes }
    }

    fn principal_len(&self) -> usize {
        self.bytes[0] as usize
    }

    pub fn user(&self) -> Principal {
        Principal::from_slice(&self.bytes[1..1 + self.principal_len()])
    }

    pub fn unit_id(&self) -> String {
        String::from_utf8(self.bytes[1 + self.principal_len()..].to_vec()).expect("unit ids are UTF-8")
    }
}

impl Storable for LegacyCompletedKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        LegacyCompletedKey { bytes: bytes.into_owned() }
    }

    const BOUND: Bound = Bound::Bounded { max_size: Self::MAX_SIZE as u32, is_fixed_size: false };
}

/// An old tombstone: 4 little-endian u64 (staked, completed units, registered, archived) and
/// the deleted flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyTombstone {
    pub staked_e8s: u64,
    pub completed_units: u64,
    pub registered_at_ns: u64,
    pub archived_at_ns: u64,
    pub deleted: bool,
}

impl LegacyTombstone {
    pub const SIZE: usize = 8 * 4 + 1;
}

impl Storable for LegacyTombstone {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.clone().into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::SIZE);
        for n in [self.staked_e8s, self.completed_units, self.registered_at_ns, self.archived_at_ns] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.push(self.deleted as u8);
        out
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        let n = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        LegacyTombstone {
            staked_e8s: n(0),
            completed_units: n(1),
            registered_at_ns: n(2),
            archived_at_ns: n(3),
            deleted: bytes[32] == 1,
        }
    }

    const BOUND: Bound = Bound::Bounded { max_size: Self::SIZE as u32, is_fixed_size: true };
}
