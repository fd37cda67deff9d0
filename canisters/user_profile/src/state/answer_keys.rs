//! The answer keys this shard verifies quizzes with (issue 14, local verification), as the hub
//! relays them from learning_content: one entry per live unit, replaced as a whole by each newer
//! version. Only [`AnswerKeys::score`] reads an entry, and it returns counts, never a key; no
//! query, HTTP route, error or log line of the shard includes one.
//!
//! Until a first set arrives (version 0) the shard asks learning_content's `verify_quiz`, as
//! before local verification.
//!
//! Each entry also holds the unit's number in the shard's intern table (interned when the key
//! arrives): the look-up that scores a submission gives the number the learner's completed
//! units are kept by, so a submission touches neither intern map.

use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::storable::{Bound, Storable};
use ic_stable_structures::{Memory, StableBTreeMap, StableCell};
use platform_types::answer_keys::{score, AnswerKeySet, UnitAnswerKey};
use platform_types::{VerifyError, VerifyResult};
use std::borrow::Cow;

/// `answer_keys`: unit id -> [`StoredKey`].
pub const ANSWER_KEYS_MEMORY_ID: MemoryId = MemoryId::new(70);
/// The version of the set in force (0: none received).
pub const ANSWER_KEYS_VERSION_MEMORY_ID: MemoryId = MemoryId::new(71);

/// One unit's key: the unit's interned number (u32, little-endian), the question count, then
/// per question the correct option, then per question the option count (5 + 2 x questions
/// bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey(Vec<u8>);

impl StoredKey {
    const HEADER: usize = 5;

    fn new(key: &UnitAnswerKey, unit: u32) -> Self {
        let mut bytes = Vec::with_capacity(Self::HEADER + 2 * key.correct.len());
        bytes.extend_from_slice(&unit.to_le_bytes());
        bytes.push(key.correct.len() as u8);
        bytes.extend_from_slice(&key.correct);
        bytes.extend_from_slice(&key.option_counts);
        StoredKey(bytes)
    }

    fn unit(&self) -> u32 {
        u32::from_le_bytes(self.0[..4].try_into().expect("4 bytes"))
    }

    fn questions(&self) -> usize {
        usize::from(self.0[4])
    }

    fn correct(&self) -> &[u8] {
        &self.0[Self::HEADER..Self::HEADER + self.questions()]
    }

    fn option_counts(&self) -> &[u8] {
        &self.0[Self::HEADER + self.questions()..Self::HEADER + 2 * self.questions()]
    }
}

/// A submission scored with the local answer keys: the verdict, and the unit's number in the
/// shard's intern table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scored {
    pub verdict: VerifyResult,
    pub unit: u32,
}

impl Storable for StoredKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.0)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        StoredKey(bytes.into_owned())
    }

    const BOUND: Bound = Bound::Unbounded;
}

pub struct AnswerKeys<M: Memory> {
    keys: StableBTreeMap<String, StoredKey, VirtualMemory<M>>,
    version: StableCell<u64, VirtualMemory<M>>,
}

impl<M: Memory> AnswerKeys<M> {
    pub fn open(manager: &MemoryManager<M>) -> Self {
        AnswerKeys {
            keys: StableBTreeMap::init(manager.get(ANSWER_KEYS_MEMORY_ID)),
            version: StableCell::init(manager.get(ANSWER_KEYS_VERSION_MEMORY_ID), 0),
        }
    }

    /// The version in force; 0 until a first set arrived.
    pub fn version(&self) -> u64 {
        *self.version.get()
    }

    pub fn unit_count(&self) -> u64 {
        self.keys.len()
    }

    /// Whether `set` would replace the set in force: newer, and well-formed.
    pub fn accepts(&self, set: &AnswerKeySet) -> Result<bool, String> {
        if set.version <= self.version() {
            return Ok(false);
        }
        set.validate()?;
        Ok(true)
    }

    /// Applies `set` if it is newer than the one in force (validated first: a malformed set
    /// changes nothing). `unit_number` gives each unit's interned number. Answers the version
    /// in force afterwards.
    pub fn apply(&mut self, set: &AnswerKeySet, mut unit_number: impl FnMut(&str) -> u32) -> Result<u64, String> {
        if !self.accepts(set)? {
            return Ok(self.version());
        }
        let wanted: std::collections::BTreeMap<&str, StoredKey> =
            set.keys.iter().map(|k| (k.unit_id.as_str(), StoredKey::new(k, unit_number(&k.unit_id)))).collect();
        let gone: Vec<String> = self.keys.keys().filter(|id| !wanted.contains_key(id.as_str())).collect();
        for id in gone {
            self.keys.remove(&id);
        }
        for (id, key) in wanted {
            if self.keys.get(&id.to_string()).as_ref() != Some(&key) {
                self.keys.insert(id.to_string(), key);
            }
        }
        self.version.set(set.version);
        Ok(set.version)
    }

    /// Scores `answers` for `unit_id` as learning_content's `verify_quiz` would.
    pub fn score(&self, unit_id: &str, answers: &[u32], pass_mark_percent: u8) -> Result<Scored, VerifyError> {
        let key = self
            .keys
            .get(&unit_id.to_string())
            .ok_or_else(|| VerifyError::UnknownUnit { unit_id: unit_id.to_string() })?;
        let verdict = score(
            key.correct().iter().map(|&c| u32::from(c)),
            key.option_counts().iter().map(|&c| u32::from(c)),
            answers,
            pass_mark_percent,
        )?;
        Ok(Scored { verdict, unit: key.unit() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::DefaultMemoryImpl;

    fn key(id: &str, correct: &[u8], options: &[u8]) -> UnitAnswerKey {
        UnitAnswerKey { unit_id: id.into(), correct: correct.to_vec(), option_counts: options.to_vec() }
    }

    /// A stand-in intern table: each unit's number is its first byte.
    fn unit_number(unit_id: &str) -> u32 {
        u32::from(unit_id.as_bytes()[0])
    }

    fn open() -> AnswerKeys<DefaultMemoryImpl> {
        AnswerKeys::open(&MemoryManager::init(DefaultMemoryImpl::default()))
    }

    #[test]
    fn newer_sets_replace_the_keys_and_older_ones_change_nothing() {
        let mut keys = open();
        assert_eq!(keys.version(), 0);
        let v1 = AnswerKeySet { version: 1, keys: vec![key("a", &[1, 0], &[2, 3]), key("b", &[2], &[4])] };
        assert_eq!(keys.apply(&v1, unit_number), Ok(1));
        assert_eq!(keys.score("a", &[1, 0], 60).map(|s| s.verdict), Ok(VerifyResult { correct: 2, total: 2, passed: true }));
        assert_eq!(keys.score("b", &[1], 60).map(|s| s.verdict), Ok(VerifyResult { correct: 0, total: 1, passed: false }));

        // v2 retires b, changes a, adds c.
        let v2 = AnswerKeySet { version: 2, keys: vec![key("a", &[0, 2], &[2, 3]), key("c", &[0], &[2])] };
        assert_eq!(keys.apply(&v2, unit_number), Ok(2));
        assert_eq!(keys.score("a", &[1, 0], 60).map(|s| s.verdict), Ok(VerifyResult { correct: 0, total: 2, passed: false }));
        assert_eq!(keys.score("b", &[2], 60).map(|s| s.verdict), Err(VerifyError::UnknownUnit { unit_id: "b".into() }));
        assert_eq!(keys.unit_count(), 2);

        // A late v1 changes nothing.
        assert_eq!(keys.apply(&v1, unit_number), Ok(2));
        assert_eq!(keys.score("b", &[2], 60).map(|s| s.verdict), Err(VerifyError::UnknownUnit { unit_id: "b".into() }));
        // A malformed newer set changes nothing either.
        let bad = AnswerKeySet { version: 3, keys: vec![key("a", &[5], &[2])] };
        assert!(keys.apply(&bad, unit_number).is_err());
        assert_eq!(keys.version(), 2);
        assert_eq!(keys.score("a", &[0, 2], 60).map(|s| s.verdict), Ok(VerifyResult { correct: 2, total: 2, passed: true }));
    }

    #[test]
    fn a_score_carries_the_units_number() {
        let mut keys = open();
        let set = AnswerKeySet { version: 1, keys: vec![key("a", &[1], &[2]), key("b", &[0], &[2])] };
        assert_eq!(keys.apply(&set, |id| if id == "a" { 70_000 } else { 3 }), Ok(1));
        assert_eq!(keys.score("a", &[0], 60), Ok(Scored { verdict: VerifyResult { correct: 0, total: 1, passed: false }, unit: 70_000 }));
        assert_eq!(keys.score("b", &[0], 60).map(|s| s.unit), Ok(3));
        // A newer set with the same keys and numbers rewrites nothing; a changed number is
        // stored (the intern table never renumbers, so this only happens in this test).
        assert_eq!(keys.apply(&AnswerKeySet { version: 2, ..set.clone() }, |id| if id == "a" { 70_000 } else { 4 }), Ok(2));
        assert_eq!(keys.score("b", &[0], 60).map(|s| s.unit), Ok(4));
        assert_eq!(keys.accepts(&AnswerKeySet { version: 2, ..set }), Ok(false), "not newer");
    }

    #[test]
    fn local_scores_match_learning_contents_rule() {
        let mut keys = open();
        keys.apply(&AnswerKeySet { version: 1, keys: vec![key("u", &[2, 0, 1, 3, 0], &[4, 4, 2, 4, 3])] }, unit_number).unwrap();
        let answers: [&[u32]; 5] = [&[2, 0, 1, 3, 0], &[2, 0, 1, 0, 1], &[2, 0, 0, 0, 1], &[0, 0, 0], &[2, 0, 2, 3, 0]];
        for a in answers {
            let expected = score([2u32, 0, 1, 3, 0].into_iter(), [4u32, 4, 2, 4, 3].into_iter(), a, 60);
            assert_eq!(keys.score("u", a, 60).map(|s| s.verdict), expected, "{a:?}");
        }
    }
}
