//! Answer keys as learning_content hands them to the shards (through the hub), and the one
//! scoring rule both use, so a quiz scored by a shard is scored exactly as learning_content
//! would score it.
//!
//! learning_content is the source of truth. On every content change it pushes the full set of
//! keys of its live units, with a new version, to the hub; the hub keeps the latest set and
//! pushes it to every shard (new shards included) until each confirmed that version. A shard
//! holding a set verifies submissions itself: no call per quiz. Keys are never served by any
//! query, HTTP route, error or log of the hub or a shard (tests/tests/local_verification.rs).

use crate::{VerifyError, VerifyResult};
use candid::CandidType;
use serde::{Deserialize, Serialize};

/// Encoded size limit of a full set (Candid). The set travels in one inter-canister call
/// (2 MiB across subnets); learning_content refuses a content change that would exceed it.
pub const MAX_ANSWER_KEY_SET_BYTES: usize = 1_500_000;

/// One unit's key: per question, the index of the correct option and the number of options
/// (so an out-of-range answer is told apart from a wrong one, as learning_content does).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UnitAnswerKey {
    pub unit_id: String,
    #[serde(with = "serde_bytes")]
    pub correct: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub option_counts: Vec<u8>,
}

/// Every live unit's key at one content version (versions only grow).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct AnswerKeySet {
    pub version: u64,
    pub keys: Vec<UnitAnswerKey>,
}

impl UnitAnswerKey {
    /// Checks the key's shape: one entry per question, 1 to `MAX_QUESTIONS` questions, each
    /// correct index below its option count, option counts in the authoring limits.
    pub fn validate(&self) -> Result<(), String> {
        crate::units::validate_id(&self.unit_id).map_err(|e| format!("answer key of {:?}: {e}", self.unit_id))?;
        let n = self.correct.len();
        if n == 0 || n > crate::units::MAX_QUESTIONS || self.option_counts.len() != n {
            return Err(format!(
                "answer key of {:?}: {} keys for {} questions (1 to {} questions, one key each)",
                self.unit_id,
                n,
                self.option_counts.len(),
                crate::units::MAX_QUESTIONS
            ));
        }
        for (i, (&k, &options)) in self.correct.iter().zip(&self.option_counts).enumerate() {
            let options = usize::from(options);
            if !(crate::units::MIN_OPTIONS..=crate::units::MAX_OPTIONS).contains(&options) || usize::from(k) >= options {
                return Err(format!("answer key of {:?}: question {} is malformed", self.unit_id, i + 1));
            }
        }
        Ok(())
    }
}

impl AnswerKeySet {
    /// Checks every key, that unit ids are unique, and the encoded size.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for key in &self.keys {
            key.validate()?;
            if !seen.insert(key.unit_id.as_str()) {
                return Err(format!("unit {:?} has two answer keys", key.unit_id));
            }
        }
        let bytes = candid::encode_one(self).map_err(|e| format!("the answer key set does not encode: {e}"))?.len();
        if bytes > MAX_ANSWER_KEY_SET_BYTES {
            return Err(format!("the answer key set is {bytes} bytes, over the {MAX_ANSWER_KEY_SET_BYTES}-byte limit"));
        }
        Ok(())
    }
}

/// `passed = correct * 100 >= pass_mark * total`, in integers (no rounding, no overflow).
pub fn passes(correct: u32, total: u32, pass_mark_percent: u8) -> bool {
    u64::from(correct) * 100 >= u64::from(pass_mark_percent) * u64::from(total)
}

/// Scores `answers` (one option index per question) against a key given as the correct option
/// and the option count of each question.
///
/// Errors never mention the key: a wrong count names the expected count (public: it is the
/// number of questions), an out-of-range answer names the question and its option count
/// (public: the unit shows its options).
pub fn score(
    correct: impl ExactSizeIterator<Item = u32>,
    option_counts: impl ExactSizeIterator<Item = u32>,
    answers: &[u32],
    pass_mark_percent: u8,
) -> Result<VerifyResult, VerifyError> {
    let total = option_counts.len();
    if answers.len() != total {
        return Err(VerifyError::BadAnswers { detail: format!("expected {total} answers, got {}", answers.len()) });
    }
    for (i, (answer, options)) in answers.iter().zip(option_counts).enumerate() {
        if *answer >= options {
            return Err(VerifyError::BadAnswers {
                detail: format!(
                    "answer {} is out of range: question {} has {} options (0-based indices)",
                    i + 1,
                    i + 1,
                    options
                ),
            });
        }
    }
    let right = answers.iter().zip(correct).filter(|(a, k)| **a == *k).count() as u32;
    let total = total as u32;
    Ok(VerifyResult { correct: right, total, passed: passes(right, total, pass_mark_percent) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, correct: &[u8], options: &[u8]) -> UnitAnswerKey {
        UnitAnswerKey { unit_id: id.into(), correct: correct.to_vec(), option_counts: options.to_vec() }
    }

    fn score_key(k: &UnitAnswerKey, answers: &[u32], mark: u8) -> Result<VerifyResult, VerifyError> {
        score(
            k.correct.iter().map(|&c| u32::from(c)),
            k.option_counts.iter().map(|&c| u32::from(c)),
            answers,
            mark,
        )
    }

    #[test]
    fn scores_count_right_answers_against_the_pass_mark() {
        let k = key("u", &[2, 0, 1, 3, 0], &[4, 4, 2, 4, 3]);
        assert_eq!(score_key(&k, &[2, 0, 1, 3, 0], 60), Ok(VerifyResult { correct: 5, total: 5, passed: true }));
        assert_eq!(score_key(&k, &[2, 0, 1, 0, 1], 60), Ok(VerifyResult { correct: 3, total: 5, passed: true }));
        assert_eq!(score_key(&k, &[2, 0, 0, 0, 1], 60), Ok(VerifyResult { correct: 2, total: 5, passed: false }));
        assert_eq!(score_key(&k, &[2, 0, 0, 0, 1], 40), Ok(VerifyResult { correct: 2, total: 5, passed: true }));
    }

    #[test]
    fn malformed_answers_are_refused_without_naming_the_key() {
        let k = key("u", &[1, 0], &[2, 3]);
        let Err(VerifyError::BadAnswers { detail }) = score_key(&k, &[1], 60) else { panic!() };
        assert_eq!(detail, "expected 2 answers, got 1");
        let Err(VerifyError::BadAnswers { detail }) = score_key(&k, &[0, 3], 60) else { panic!() };
        assert_eq!(detail, "answer 2 is out of range: question 2 has 3 options (0-based indices)");
    }

    #[test]
    fn sets_are_validated() {
        assert_eq!(AnswerKeySet { version: 1, keys: vec![key("a", &[1], &[2])] }.validate(), Ok(()));
        for (bad, why) in [
            (key("a", &[2], &[2]), "malformed"),
            (key("a", &[0], &[1]), "malformed"),
            (key("a", &[0], &[11]), "malformed"),
            (key("a", &[0, 1], &[2]), "2 keys for 1 questions"),
            (key("a", &[], &[]), "0 keys"),
            (key("a b", &[0], &[2]), "answer key of"),
        ] {
            let e = AnswerKeySet { version: 1, keys: vec![bad] }.validate().unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        let twice = AnswerKeySet { version: 1, keys: vec![key("a", &[1], &[2]), key("a", &[0], &[2])] };
        assert!(twice.validate().unwrap_err().contains("two answer keys"));
    }

    #[test]
    fn a_large_catalogue_fits_and_an_oversized_one_is_refused() {
        // 20,000 units of 5 questions with 12-byte ids.
        let keys = (0..20_000).map(|i| key(&format!("unit-{i:07}"), &[0, 1, 2, 3, 0], &[4; 5])).collect();
        let set = AnswerKeySet { version: 7, keys };
        assert_eq!(set.validate(), Ok(()));
        let bytes = candid::encode_one(&set).unwrap().len();
        assert!(bytes < 700_000, "{bytes} bytes");
        let keys = (0..20_000).map(|i| key(&format!("{i:0>64}"), &[0; 50], &[4; 50])).collect();
        let e = AnswerKeySet { version: 7, keys }.validate().unwrap_err();
        assert!(e.contains("over the 1500000-byte limit"), "{e}");
    }
}
