//! Units for proposals 1002 (add), 1003 (update) and 1004 (retire): read from JSON and checked
//! offline with learning_content's own rules (`platform_types::units`). What
//! needs the canister's state (ids already in use, unknown or retired ids) is left to the
//! validator, which runs when the proposal is submitted.
//!
//! JSON shape (`serde(deny_unknown_fields)`: a misspelt key fails):
//!
//! ```json
//! { "unit": { "id": "ic-basics-1", "subject": "Internet Computer", "title": "...", "body": "...",
//!             "questions": [ { "text": "...", "options": ["a", "b", "c"] } ] },
//!   "answer_key": [1] }
//! ```

use platform_types::{Question, Unit, UnitInput};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

pub use platform_types::units::*;

/// 1 to [`MAX_UNITS_PER_PROPOSAL`] units per proposal.
pub fn check_count(n: usize) -> Result<(), String> {
    if n == 0 || n > MAX_UNITS_PER_PROPOSAL {
        return Err(format!("1 to {MAX_UNITS_PER_PROPOSAL} units per proposal, got {n}: split them into several proposals"));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionJson {
    text: String,
    options: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitJson {
    id: String,
    subject: String,
    title: String,
    body: String,
    questions: Vec<QuestionJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitInputJson {
    unit: UnitJson,
    answer_key: Vec<u32>,
}

impl From<UnitInputJson> for UnitInput {
    fn from(j: UnitInputJson) -> Self {
        UnitInput {
            unit: Unit {
                id: j.unit.id,
                subject: j.unit.subject,
                title: j.unit.title,
                body: j.unit.body,
                questions: j
                    .unit
                    .questions
                    .into_iter()
                    .map(|q| Question {
                        text: q.text,
                        options: q.options,
                    })
                    .collect(),
            },
            answer_key: j.answer_key,
        }
    }
}

/// A JSON array of units (add-units).
pub fn parse_units(text: &str) -> Result<Vec<UnitInput>, String> {
    let v: Vec<UnitInputJson> = serde_json::from_str(text)
        .map_err(|e| format!("expected a JSON array of {{ unit, answer_key }}: {e}"))?;
    Ok(v.into_iter().map(UnitInput::from).collect())
}

/// One unit as a JSON object (update-unit).
pub fn parse_unit(text: &str) -> Result<UnitInput, String> {
    let v: UnitInputJson = serde_json::from_str(text)
        .map_err(|e| format!("expected a JSON object {{ unit, answer_key }}: {e}"))?;
    Ok(v.into())
}

pub fn read_file(path: &Path) -> Result<String, String> {
    crate::canister_ids::read_text(path, "--file")
}

/// A list of units: at least one, each valid, distinct ids (learning_content's rules). The error
/// names the unit.
pub fn validate_units(units: &[UnitInput]) -> Result<(), String> {
    if units.is_empty() {
        return Err("no units: the file holds an empty list".into());
    }
    platform_types::units::validate_units(units)
}

/// Ids to retire: at least one, each a valid id, no duplicates.
pub fn validate_retire_ids(ids: &[String]) -> Result<(), String> {
    if ids.is_empty() {
        return Err("give at least one --unit <id>".into());
    }
    let mut seen = BTreeSet::new();
    for id in ids {
        validate_id(id).map_err(|e| format!("--unit {id:?}: {e}"))?;
        if !seen.insert(id) {
            return Err(format!("--unit {id:?} is given twice"));
        }
    }
    Ok(())
}

/// What voters should see for units (the validator renders the real thing). Answer keys are
/// not repeated here, but they are in the payload all the same.
pub fn render_units(verb: &str, units: &[UnitInput]) -> String {
    let mut s = format!("{verb} {} unit(s):", units.len());
    for u in units {
        s.push_str(&format!(
            "\n  - {} [{}] {:?}: {} question(s), body {} bytes",
            u.unit.id,
            u.unit.subject,
            u.unit.title,
            u.unit.questions.len(),
            u.unit.body.len()
        ));
    }
    s
}

pub const ANSWER_KEY_WARNING: &str = "\
##########################################################################
#  WARNING: THE ANSWER KEYS ARE IN THIS PROPOSAL'S PAYLOAD.              #
#  Every SNS proposal payload is PUBLIC: anyone can read it from SNS     #
#  governance as soon as the proposal is submitted, whatever the vote.   #
#  Treat these quizzes' answers as PUBLISHED from that moment on.        #
##########################################################################";

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn unit(id: &str) -> UnitInput {
        UnitInput {
            unit: Unit {
                id: id.into(),
                subject: "ICP".into(),
                title: "Canisters".into(),
                body: "A canister is ...\n".into(),
                questions: vec![
                    Question {
                        text: "What is a canister?".into(),
                        options: vec!["a".into(), "b".into()],
                    },
                    Question {
                        text: "Cycles?".into(),
                        options: vec!["x".into(), "y".into(), "z".into()],
                    },
                ],
            },
            answer_key: vec![0, 2],
        }
    }

    /// Cases that break one rule each, named by what the message should mention.
    pub(crate) fn bad_units() -> Vec<(&'static str, UnitInput)> {
        let mut v = Vec::new();
        let mut u = unit("a");
        u.answer_key = vec![0, 3];
        v.push(("out of range", u));
        let mut u = unit("a");
        u.answer_key = vec![0];
        v.push(("answer key has 1 entries", u));
        let mut u = unit("a");
        u.unit.questions.clear();
        u.answer_key.clear();
        v.push(("1 to 50 questions", u));
        v.push(("id must be 1 to 64", unit("")));
        v.push(("id must be 1 to 64", unit(&"x".repeat(65))));
        v.push(("id may only contain", unit("a/b")));
        let mut u = unit("a");
        u.unit.subject = " ICP".into();
        v.push(("subject", u));
        let mut u = unit("a");
        u.unit.title = String::new();
        v.push(("title", u));
        let mut u = unit("a");
        u.unit.body = "x".repeat(MAX_BODY_BYTES + 1);
        v.push(("body", u));
        let mut u = unit("a");
        u.unit.body = "bell\u{7}".into();
        v.push(("body", u));
        let mut u = unit("a");
        u.unit.questions[0].options = vec!["only".into()];
        v.push(("2 to 10 options", u));
        let mut u = unit("a");
        u.unit.questions[1].options[1] = String::new();
        v.push(("question 2 option 2", u));
        let mut u = unit("a");
        u.unit.questions[0].text = String::new();
        v.push(("question 1 text", u));
        v
    }

    #[test]
    fn good_units_pass_and_each_broken_rule_is_named() {
        validate_units(&[unit("a"), unit("b")]).unwrap();
        let mut max = unit(&"x".repeat(64));
        max.unit.body = "b".repeat(MAX_BODY_BYTES);
        validate_unit(&max).unwrap();
        for (what, u) in bad_units() {
            let e = validate_unit(&u).unwrap_err();
            assert!(e.contains(what), "{what}: {e}");
        }
        assert!(validate_units(&[unit("a"), unit("a")])
            .unwrap_err()
            .contains("duplicate"));
        assert!(validate_units(&[]).is_err());
    }

    #[test]
    fn error_messages_never_show_the_answer_key() {
        let mut u = unit("a");
        u.answer_key = vec![0, 7];
        let e = validate_unit(&u).unwrap_err();
        assert!(!e.contains('7'), "{e}");
    }

    #[test]
    fn json_is_strict() {
        let ok = r#"[{"unit":{"id":"a","subject":"s","title":"t","body":"","questions":[{"text":"q","options":["x","y"]}]},"answer_key":[1]}]"#;
        assert_eq!(parse_units(ok).unwrap()[0].answer_key, vec![1]);
        assert!(parse_units(&ok.replace("answer_key", "answers")).is_err());
        assert!(parse_units(&ok.replace("\"body\"", "\"extra\":1,\"body\"")).is_err());
        assert!(parse_unit(ok).is_err(), "an array is not one unit");
        validate_retire_ids(&["a".into(), "b".into()]).unwrap();
        assert!(validate_retire_ids(&[]).is_err());
        assert!(validate_retire_ids(&["a".into(), "a".into()]).is_err());
        assert!(validate_retire_ids(&["".into()]).is_err());
    }
}
