//! The seed course a deployment starts with: `content/seed-course.json` (see `content/README.md`),
//! compiled into the binary. Later changes to the content of a live deployment go through SNS
//! proposals (functions 1002–1004), not through this file.

use platform_types::UnitInput;
use serde::Deserialize;

const SEED_COURSE_JSON: &str = include_str!("../../../content/seed-course.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedCourse {
    units: Vec<UnitInput>,
}

/// The units of the seed course, answer keys included. The tests below guarantee that the file
/// parses and that every unit passes learning_content's own validation.
pub fn units() -> Vec<UnitInput> {
    let course: SeedCourse = serde_json::from_str(SEED_COURSE_JSON)
        .unwrap_or_else(|e| panic!("content/seed-course.json is not a valid seed course: {e}"));
    course.units
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn parses_and_has_enough_subjects_and_units() {
        let units = units();
        assert!(units.len() >= 16, "only {} units", units.len());
        let subjects: BTreeSet<_> = units.iter().map(|u| u.unit.subject.as_str()).collect();
        assert!(subjects.len() >= 4, "only {} subjects: {subjects:?}", subjects.len());
        for s in &subjects {
            assert!(
                !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "subject {s:?} is not kebab-case"
            );
        }
    }

    #[test]
    fn ids_are_unique() {
        let units = units();
        let mut seen = BTreeSet::new();
        for u in &units {
            assert!(seen.insert(u.unit.id.as_str()), "duplicate id {:?}", u.unit.id);
        }
    }

    #[test]
    fn answer_keys_match_the_questions() {
        for u in units() {
            let id = &u.unit.id;
            assert_eq!(u.answer_key.len(), u.unit.questions.len(), "unit {id:?}: one answer per question");
            for (i, (k, q)) in u.answer_key.iter().zip(&u.unit.questions).enumerate() {
                assert!((*k as usize) < q.options.len(), "unit {id:?}, question {}: answer out of range", i + 1);
            }
        }
    }

    /// The course is authored for learners: 3–4 questions of 3–4 options, a body of 3–6
    /// paragraphs, no duplicated option within a question.
    #[test]
    fn units_have_the_authored_shape() {
        for u in units() {
            let id = &u.unit.id;
            let paragraphs = u.unit.body.split("\n\n").filter(|p| !p.trim().is_empty()).count();
            assert!((3..=6).contains(&paragraphs), "unit {id:?}: {paragraphs} paragraphs");
            assert!((3..=4).contains(&u.unit.questions.len()), "unit {id:?}: {} questions", u.unit.questions.len());
            for q in &u.unit.questions {
                assert!((3..=4).contains(&q.options.len()), "unit {id:?}: {:?} has {} options", q.text, q.options.len());
                let distinct: BTreeSet<_> = q.options.iter().collect();
                assert_eq!(distinct.len(), q.options.len(), "unit {id:?}: {:?} repeats an option", q.text);
            }
        }
    }

    /// The same check learning_content applies to its init argument and to `add_units`
    /// proposals (`platform_types::units`, re-exported by learning_content's `model`): id
    /// charset and length, subject/title/body/question/option lengths, 1–50 questions of 2–10
    /// options, a valid answer key, unique ids.
    #[test]
    fn every_unit_passes_learning_contents_validation() {
        let units = units();
        for u in &units {
            platform_types::units::validate_unit(u).unwrap_or_else(|e| panic!("unit {:?}: {e}", u.unit.id));
        }
        platform_types::units::validate_units(&units).unwrap();
        // And the whole course fits in one `add_units` proposal, should it ever be re-added.
        assert!(units.len() <= platform_types::units::MAX_UNITS_PER_PROPOSAL);
        let payload = candid::encode_one(platform_types::AddUnitsArgs { units: units.clone() }).unwrap();
        assert!(payload.len() <= platform_types::units::MAX_PROPOSAL_PAYLOAD_BYTES);
    }

    #[test]
    fn bodies_are_distinct() {
        let mut seen = BTreeMap::new();
        for u in units() {
            if let Some(other) = seen.insert(u.unit.body.clone(), u.unit.id.clone()) {
                panic!("units {other:?} and {:?} have the same body", u.unit.id);
            }
        }
    }
}
