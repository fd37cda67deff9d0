//! The authoring rules of learning units: limits and validation, shared by learning_content
//! (initial content and governance proposals) and the proposals CLI (checks before anything is
//! submitted). Error messages never include an answer-key value.

use crate::UnitInput;
use std::collections::BTreeSet;

/// A unit id: 1 to 64 bytes of `A-Z a-z 0-9 . _ -` (so it is safe in a URL path as is).
pub const MAX_ID_BYTES: usize = 64;
/// A subject: 1 to 100 bytes, no control characters, no leading or trailing whitespace.
pub const MAX_SUBJECT_BYTES: usize = 100;
/// A title: 1 to 200 bytes, no control characters.
pub const MAX_TITLE_BYTES: usize = 200;
/// A body: at most 100 KiB; no control characters except tab, newline and carriage return.
pub const MAX_BODY_BYTES: usize = 100 * 1024;
/// Questions per unit: 1 to 50.
pub const MAX_QUESTIONS: usize = 50;
/// A question's text: 1 to 1,000 bytes, no control characters except tab and newline.
pub const MAX_QUESTION_BYTES: usize = 1_000;
/// Options per question: 2 to 10.
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 10;
/// An option: 1 to 500 bytes, no control characters.
pub const MAX_OPTION_BYTES: usize = 500;

/// Units (or unit ids) one governance proposal may add or retire.
pub const MAX_UNITS_PER_PROPOSAL: usize = 100;
/// Candid-encoded size limit of an `add_units` payload: the proposal (payload, title, summary)
/// must fit in one ~2 MiB ingress message, and governance forwards the payload to the validator
/// and the target in inter-canister calls (2 MiB across subnets), so stay well below.
pub const MAX_PROPOSAL_PAYLOAD_BYTES: usize = 1_000_000;

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

pub fn validate_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(format!(
            "id must be 1 to {MAX_ID_BYTES} bytes, got {}",
            id.len()
        ));
    }
    if !id.chars().all(is_id_char) {
        return Err("id may only contain A-Z, a-z, 0-9, '.', '_' and '-'".into());
    }
    Ok(())
}

/// A one-line text field: 1..=max bytes, no control characters, no surrounding whitespace.
fn check_line(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() || value.len() > max {
        return Err(format!(
            "{field} must be 1 to {max} bytes, got {}",
            value.len()
        ));
    }
    if value.trim() != value {
        return Err(format!("{field} must not start or end with whitespace"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(())
}

/// Multi-line text: at most `max` bytes, no control characters except tab/newline/CR.
fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<(), String> {
    if value.len() < min || value.len() > max {
        return Err(format!(
            "{field} must be {min} to {max} bytes, got {}",
            value.len()
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(format!(
            "{field} must not contain control characters other than tab and line breaks"
        ));
    }
    Ok(())
}

pub fn validate_subject(subject: &str) -> Result<(), String> {
    check_line("subject", subject, MAX_SUBJECT_BYTES)
}

/// Checks one authored unit and its answer key. The messages never include a key value.
pub fn validate_unit(input: &UnitInput) -> Result<(), String> {
    let u = &input.unit;
    validate_id(&u.id)?;
    validate_subject(&u.subject)?;
    check_line("title", &u.title, MAX_TITLE_BYTES)?;
    check_text("body", &u.body, 0, MAX_BODY_BYTES)?;
    if u.questions.is_empty() || u.questions.len() > MAX_QUESTIONS {
        return Err(format!(
            "a unit must have 1 to {MAX_QUESTIONS} questions, got {}",
            u.questions.len()
        ));
    }
    for (i, q) in u.questions.iter().enumerate() {
        let n = i + 1;
        check_text(
            &format!("question {n} text"),
            &q.text,
            1,
            MAX_QUESTION_BYTES,
        )?;
        if q.options.len() < MIN_OPTIONS || q.options.len() > MAX_OPTIONS {
            return Err(format!(
                "question {n} must have {MIN_OPTIONS} to {MAX_OPTIONS} options, got {}",
                q.options.len()
            ));
        }
        for (j, o) in q.options.iter().enumerate() {
            check_line(
                &format!("question {n} option {}", j + 1),
                o,
                MAX_OPTION_BYTES,
            )?;
        }
    }
    if input.answer_key.len() != u.questions.len() {
        return Err(format!(
            "the answer key has {} entries for {} questions",
            input.answer_key.len(),
            u.questions.len()
        ));
    }
    for (i, (k, q)) in input.answer_key.iter().zip(&u.questions).enumerate() {
        if *k as usize >= q.options.len() {
            return Err(format!(
                "the answer key of question {} is out of range ({} options)",
                i + 1,
                q.options.len()
            ));
        }
    }
    Ok(())
}

/// Checks the initial content: every unit, and that ids are unique. The error names the unit
/// (by id, or by position when the id itself is bad).
pub fn validate_units(units: &[UnitInput]) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for (i, input) in units.iter().enumerate() {
        let id = &input.unit.id;
        validate_unit(input).map_err(|e| {
            if validate_id(id).is_ok() {
                format!("unit {id:?}: {e}")
            } else {
                format!("unit #{} (0-based): {e}", i)
            }
        })?;
        if !seen.insert(id.as_str()) {
            return Err(format!("unit {id:?}: duplicate id"));
        }
    }
    Ok(())
}

