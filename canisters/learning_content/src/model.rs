//! Domain rules of learning content, in plain Rust: quiz scoring and the pass mark, and the size
//! budget of a page. The limits on authored units and their validation are
//! `platform_types::units` (re-exported here).
//!
//! Nothing here touches the canister API or stable memory.

use platform_types::{PlatformConfig, Unit, VerifyError, VerifyResult};

/// The authoring rules of units live in platform_types, shared with the proposals CLI.
pub use platform_types::units::*;

/// `list_units` (and `/units`) return at most this many units per page.
pub const MAX_PAGE_LIMIT: u64 = 50;
/// Page size used by `/units` when the request names no `limit`.
pub const DEFAULT_HTTP_PAGE_LIMIT: u64 = 20;
/// A page stops early (after at least one unit) once its units' text would exceed this many
/// bytes, so that a reply stays well inside the 3 MiB query reply limit even as JSON (whose
/// escaping at most doubles the validated text). Clients page on with `offset + units.len()`.
pub const MAX_PAGE_TEXT_BYTES: usize = 1_000_000;

/// The pass mark in force: the init argument's, or the platform default.
pub fn effective_pass_mark(configured: Option<u8>) -> u8 {
    configured.unwrap_or_else(|| PlatformConfig::default().pass_mark_percent)
}

pub fn validate_pass_mark(configured: Option<u8>) -> Result<(), String> {
    match configured {
        Some(p) if !(1..=100).contains(&p) => {
            Err(format!("pass_mark_percent must be in 1..=100, got {p}"))
        }
        _ => Ok(()),
    }
}

pub use platform_types::answer_keys::passes;

/// Scores `answers` against `key` for the questions of `unit`, by the rule the shards use
/// (`platform_types::answer_keys::score`).
pub fn score(
    unit: &Unit,
    key: &[u32],
    answers: &[u32],
    pass_mark_percent: u8,
) -> Result<VerifyResult, VerifyError> {
    platform_types::answer_keys::score(
        key.iter().copied(),
        unit.questions.iter().map(|q| q.options.len() as u32),
        answers,
        pass_mark_percent,
    )
}

/// A unit's key as the shards get it (questions are at most 50, options at most 10: both fit
/// in a byte).
pub fn unit_answer_key(unit: &Unit, key: &[u32]) -> platform_types::answer_keys::UnitAnswerKey {
    platform_types::answer_keys::UnitAnswerKey {
        unit_id: unit.id.clone(),
        correct: key.iter().map(|&k| k as u8).collect(),
        option_counts: unit.questions.iter().map(|q| q.options.len() as u8).collect(),
    }
}

/// Size of a payload as Candid (as a proposal carries it).
pub fn payload_bytes<T: candid::CandidType>(payload: &T) -> Result<usize, String> {
    candid::encode_one(payload)
        .map(|b| b.len())
        .map_err(|e| format!("the payload does not encode as Candid: {e}"))
}

/// Bytes of text a unit carries (what its reply size is roughly proportional to).
pub fn unit_text_bytes(u: &Unit) -> usize {
    u.id.len()
        + u.subject.len()
        + u.title.len()
        + u.body.len()
        + u.questions
            .iter()
            .map(|q| q.text.len() + q.options.iter().map(String::len).sum::<usize>())
            .sum::<usize>()
}

/// Collects a page from `units` (the units of one subject from `offset` on, in order): at most
/// `limit` (capped at [`MAX_PAGE_LIMIT`]) and, after the first, no more than
/// [`MAX_PAGE_TEXT_BYTES`] of text.
pub fn take_page(units: impl Iterator<Item = Unit>, limit: u64) -> Vec<Unit> {
    let limit = limit.min(MAX_PAGE_LIMIT) as usize;
    let mut page = Vec::new();
    let mut bytes = 0usize;
    for u in units.take(limit) {
        let size = unit_text_bytes(&u);
        if !page.is_empty() && bytes + size > MAX_PAGE_TEXT_BYTES {
            break;
        }
        bytes += size;
        page.push(u);
    }
    page
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use platform_types::{Question, UnitInput};

    pub fn unit(id: &str, subject: &str, options_per_question: &[usize]) -> Unit {
        Unit {
            id: id.into(),
            subject: subject.into(),
            title: format!("Title of {id}"),
            body: format!("Body of {id}\nwith two lines"),
            questions: options_per_question
                .iter()
                .enumerate()
                .map(|(i, n)| Question {
                    text: format!("Question {i} of {id}?"),
                    options: (0..*n).map(|o| format!("option {o}")).collect(),
                })
                .collect(),
        }
    }

    pub fn input(id: &str, subject: &str, key: &[u32]) -> UnitInput {
        UnitInput {
            unit: unit(id, subject, &vec![4; key.len()]),
            answer_key: key.to_vec(),
        }
    }

    #[test]
    fn pass_mark_boundary_is_inclusive() {
        // 60 %: 3 of 5 passes, 2 of 5 does not.
        assert!(passes(3, 5, 60));
        assert!(!passes(2, 5, 60));
        // 2 of 3 is 66.7 % >= 60; 1 of 3 is 33 %.
        assert!(passes(2, 3, 60));
        assert!(!passes(1, 3, 60));
        // 100 % needs everything.
        assert!(passes(4, 4, 100));
        assert!(!passes(3, 4, 100));
        // 1 % needs at least one of 100 (and one of anything smaller).
        assert!(passes(1, 100, 1));
        assert!(!passes(0, 100, 1));
        assert!(passes(u32::MAX, u32::MAX, 100), "no overflow");
    }

    #[test]
    fn default_pass_mark_comes_from_the_platform_config() {
        assert_eq!(
            effective_pass_mark(None),
            PlatformConfig::default().pass_mark_percent
        );
        assert_eq!(effective_pass_mark(Some(75)), 75);
        assert!(validate_pass_mark(Some(0))
            .unwrap_err()
            .contains("pass_mark_percent"));
        assert!(validate_pass_mark(Some(101)).is_err());
        assert!(validate_pass_mark(Some(100)).is_ok() && validate_pass_mark(None).is_ok());
    }

    #[test]
    fn scoring_counts_correct_answers_and_applies_the_pass_mark() {
        let u = unit("u1", "math", &[4, 4, 4, 4, 4]);
        let key = [0, 1, 2, 3, 0];
        let r = score(&u, &key, &[0, 1, 2, 3, 0], 60).unwrap();
        assert_eq!(
            r,
            VerifyResult {
                correct: 5,
                total: 5,
                passed: true
            }
        );
        let r = score(&u, &key, &[0, 1, 2, 0, 1], 60).unwrap();
        assert_eq!(
            r,
            VerifyResult {
                correct: 3,
                total: 5,
                passed: true
            }
        );
        let r = score(&u, &key, &[0, 1, 0, 0, 1], 60).unwrap();
        assert_eq!(
            r,
            VerifyResult {
                correct: 2,
                total: 5,
                passed: false
            }
        );
        let r = score(&u, &key, &[0, 1, 2, 0, 1], 61).unwrap();
        assert!(!r.passed, "3/5 = 60 % < 61 %");
    }

    #[test]
    fn bad_answers_are_rejected_without_revealing_the_key() {
        let u = unit("u1", "math", &[2, 3]);
        let key = [1, 2];
        match score(&u, &key, &[1], 60) {
            Err(VerifyError::BadAnswers { detail }) => {
                assert_eq!(detail, "expected 2 answers, got 1")
            }
            other => panic!("{other:?}"),
        }
        match score(&u, &key, &[0, 3], 60) {
            Err(VerifyError::BadAnswers { detail }) => {
                assert!(detail.contains("question 2 has 3 options"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        // The error for an out-of-range answer is the same whatever the key is.
        let e1 = score(&u, &[0, 0], &[0, 7], 60).unwrap_err();
        let e2 = score(&u, &[1, 2], &[0, 7], 60).unwrap_err();
        assert_eq!(e1, e2);
    }

    #[test]
    fn valid_units_pass_and_every_malformation_is_named() {
        let good = input("intro-1", "Math", &[0, 3]);
        validate_units(&[good.clone(), input("intro-2", "Math", &[1])]).unwrap();

        let dup = validate_units(&[good.clone(), good.clone()]).unwrap_err();
        assert!(
            dup.contains("duplicate id") && dup.contains("intro-1"),
            "{dup}"
        );

        let mut short_key = good.clone();
        short_key.answer_key.pop();
        assert!(validate_units(&[short_key])
            .unwrap_err()
            .contains("answer key has 1 entries for 2 questions"));

        let mut out_of_range = good.clone();
        out_of_range.answer_key[1] = 4;
        let e = validate_units(&[out_of_range.clone()]).unwrap_err();
        assert!(
            e.contains("answer key of question 2 is out of range (4 options)"),
            "{e}"
        );
        let mut further_out = out_of_range.clone();
        further_out.answer_key[1] = 9;
        assert_eq!(
            validate_units(&[further_out]).unwrap_err(),
            e,
            "the message carries no key value"
        );

        let mut no_options = good.clone();
        no_options.unit.questions[0].options.clear();
        assert!(validate_units(&[no_options])
            .unwrap_err()
            .contains("question 1 must have 2 to 10 options, got 0"));

        let mut empty_option = good.clone();
        empty_option.unit.questions[0].options[2] = String::new();
        assert!(validate_units(&[empty_option])
            .unwrap_err()
            .contains("question 1 option 3"));

        let mut no_questions = good.clone();
        no_questions.unit.questions.clear();
        no_questions.answer_key.clear();
        assert!(validate_units(&[no_questions])
            .unwrap_err()
            .contains("1 to 50 questions"));

        let mut long_id = good.clone();
        long_id.unit.id = "x".repeat(MAX_ID_BYTES + 1);
        assert!(validate_units(&[long_id])
            .unwrap_err()
            .starts_with("unit #0 (0-based): id must be 1 to 64 bytes"));

        let mut bad_id = good.clone();
        bad_id.unit.id = "a/b".into();
        assert!(validate_units(&[bad_id])
            .unwrap_err()
            .contains("id may only contain"));

        let mut max_id = good.clone();
        max_id.unit.id = "x".repeat(MAX_ID_BYTES);
        validate_units(&[max_id]).unwrap();

        let mut long_title = good.clone();
        long_title.unit.title = "t".repeat(MAX_TITLE_BYTES + 1);
        assert!(validate_units(&[long_title])
            .unwrap_err()
            .contains("title must be 1 to 200 bytes"));

        let mut long_body = good.clone();
        long_body.unit.body = "b".repeat(MAX_BODY_BYTES + 1);
        assert!(validate_units(&[long_body])
            .unwrap_err()
            .contains("body must be 0 to 102400 bytes"));
        let mut max_body = good.clone();
        max_body.unit.body = "b".repeat(MAX_BODY_BYTES);
        validate_units(&[max_body]).unwrap();

        let mut bad_subject = good.clone();
        bad_subject.unit.subject = " Math".into();
        assert!(validate_units(&[bad_subject])
            .unwrap_err()
            .contains("subject must not start or end with whitespace"));
        let mut nul_subject = good.clone();
        nul_subject.unit.subject = "Ma\0th".into();
        assert!(validate_units(&[nul_subject])
            .unwrap_err()
            .contains("subject must not contain control characters"));
        let mut empty_subject = good;
        empty_subject.unit.subject = String::new();
        assert!(validate_units(&[empty_subject])
            .unwrap_err()
            .contains("subject must be 1 to 100 bytes"));
    }

    #[test]
    fn pages_respect_the_limit_cap_and_the_size_budget() {
        let units = |n: usize, body: usize| {
            (0..n).map(move |i| Unit {
                body: "b".repeat(body),
                ..unit(&format!("u{i}"), "s", &[2])
            })
        };
        assert_eq!(take_page(units(10, 10), 3).len(), 3);
        assert_eq!(
            take_page(units(100, 10), 1_000).len(),
            MAX_PAGE_LIMIT as usize
        );
        assert_eq!(take_page(units(10, 10), 0).len(), 0);
        // 100 KiB bodies: the budget stops the page before 50 units, never before the first.
        let big = take_page(units(50, MAX_BODY_BYTES), 50);
        assert!(big.len() < 50 && big.len() >= 9, "{}", big.len());
        let total: usize = big.iter().map(unit_text_bytes).sum();
        assert!(total <= MAX_PAGE_TEXT_BYTES);
        let huge = std::iter::once(Unit {
            body: "b".repeat(2 * MAX_PAGE_TEXT_BYTES),
            ..unit("x", "s", &[2])
        });
        assert_eq!(take_page(huge, 5).len(), 1, "the first unit always comes");
    }
}
