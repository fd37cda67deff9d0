//! Content proposals (SNS generic nervous system functions 1002–1004): the checks of a payload
//! against the content in force, and the text voters see.
//!
//! Each `check_*` function answers the rendering (`Ok`) or what is wrong (`Err`) and changes
//! nothing. The validators (`*_validate`, at proposal submission) answer it as is; the targets
//! (after adoption) run it again on the content in force then, because it may have changed
//! during the vote, and apply the payload only when it passes. The caller checks are in
//! [`crate::guards`].
//!
//! Unit content is checked by [`model::validate_units`], the same check as the initial content.
//! No message or rendering here includes an answer key value. (The keys of a proposal are
//! public anyway: they are in its payload.)

use ic_stable_structures::Memory;
use platform_types::{check_reason, AddUnitsArgs, RetireUnitsArgs, UpdateUnitArgs};
use std::collections::{BTreeMap, BTreeSet};

use crate::{model, state::Store};

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

fn yes_no(changed: bool) -> &'static str {
    if changed {
        "yes"
    } else {
        "no"
    }
}

/// Checks an `add_units` payload: 1 to [`model::MAX_UNITS_PER_PROPOSAL`] units, at most
/// [`model::MAX_PROPOSAL_PAYLOAD_BYTES`] of Candid, every unit valid, ids unique in the
/// payload and never used before (by an active or a retired unit).
/// The shards receive every live unit's answer key in one message
/// (`platform_types::answer_keys`): a change that would make that set too large is refused.
fn check_key_set_fits<M: Memory>(store: &Store<M>, changed: &[platform_types::UnitInput], replacing: Option<&str>) -> Result<(), String> {
    let mut set = store.answer_key_set();
    if let Some(id) = replacing {
        set.keys.retain(|k| k.unit_id != id);
    }
    set.keys.extend(changed.iter().map(|u| model::unit_answer_key(&u.unit, &u.answer_key)));
    let bytes = candid::encode_one(&set).map_err(|e| format!("the answer key set does not encode: {e}"))?.len();
    if bytes > platform_types::answer_keys::MAX_ANSWER_KEY_SET_BYTES {
        return Err(format!(
            "with this change the answer keys the shards receive would take {bytes} bytes, over the {}-byte \
             limit of one message: retire units first",
            platform_types::answer_keys::MAX_ANSWER_KEY_SET_BYTES
        ));
    }
    Ok(())
}

pub fn check_add_units<M: Memory>(store: &Store<M>, args: &AddUnitsArgs) -> Result<String, String> {
    let n = args.units.len();
    if n == 0 {
        return Err("the proposal adds no units".into());
    }
    if n > model::MAX_UNITS_PER_PROPOSAL {
        return Err(format!(
            "at most {} units per proposal, got {n}: split it into several proposals",
            model::MAX_UNITS_PER_PROPOSAL
        ));
    }
    let size = model::payload_bytes(args)?;
    if size > model::MAX_PROPOSAL_PAYLOAD_BYTES {
        return Err(format!(
            "the payload is {size} bytes of Candid, at most {} are allowed: split it into several proposals",
            model::MAX_PROPOSAL_PAYLOAD_BYTES
        ));
    }
    model::validate_units(&args.units)?;
    check_key_set_fits(store, &args.units, None)?;
    for input in &args.units {
        let id = &input.unit.id;
        if store.has_unit(id) {
            return Err(format!(
                "unit {id:?}: the id is already in use (update_unit changes an existing unit)"
            ));
        }
        if store.is_retired(id) {
            return Err(format!(
                "unit {id:?}: the id belonged to a retired unit and can never be used again"
            ));
        }
    }

    let mut added: BTreeMap<&str, u64> = BTreeMap::new();
    for input in &args.units {
        *added.entry(input.unit.subject.as_str()).or_default() += 1;
    }
    let mut text = format!(
        "Add {} to learning_content. They are listed and served at once, and learners can earn \
         the quiz reward on them.\n\
         PUBLIC ANSWER KEYS: the answer key of every unit is part of this proposal's payload, \
         so anyone who reads the proposal can read them.\n\
         Units:\n",
        plural(n, "unit")
    );
    for input in &args.units {
        let u = &input.unit;
        text.push_str(&format!(
            "  - {:?} | subject {:?} | title {:?} | {}\n",
            u.id,
            u.subject,
            u.title,
            plural(u.questions.len(), "question")
        ));
    }
    text.push_str("Subjects after execution:\n");
    for (subject, k) in added {
        let before = store.subject_count(subject);
        let new = if before == 0 { " (new subject)" } else { "" };
        text.push_str(&format!(
            "  {subject:?}: {before} -> {}{new}\n",
            plural((before + k) as usize, "unit")
        ));
    }
    Ok(text.trim_end().to_string())
}

/// Checks an `update_unit` payload: a valid unit whose id names an active (not retired) unit.
/// The rendering says what changes; it never shows an answer key.
pub fn check_update_unit<M: Memory>(
    store: &Store<M>,
    args: &UpdateUnitArgs,
) -> Result<String, String> {
    model::validate_units(std::slice::from_ref(&args.unit))?;
    let new = &args.unit.unit;
    let id = &new.id;
    let Some(old) = store.unit(id) else {
        return Err(if store.is_retired(id) {
            format!("unit {id:?} is retired and cannot be updated")
        } else {
            format!("unit {id:?} does not exist (add_units adds new units)")
        });
    };
    check_key_set_fits(store, std::slice::from_ref(&args.unit), Some(id))?;
    let old_key = store
        .answer_key(id)
        .unwrap_or_else(|| panic!("unit {id:?} has no answer key"));

    let subject_changed = old.subject != new.subject;
    let title_changed = old.title != new.title;
    let body_changed = old.body != new.body;
    let questions_changed = old.questions != new.questions;
    let key_changed = old_key != args.unit.answer_key;

    let mut text = format!(
        "Update learning unit {id:?}. Learners who completed it keep their completions and \
         rewards (they are recorded by unit id).\n"
    );
    if subject_changed {
        text.push_str(&format!(
            "  subject changed: yes, {:?} -> {:?} (the unit moves to that subject)\n",
            old.subject, new.subject
        ));
    } else {
        text.push_str(&format!("  subject changed: no ({:?})\n", old.subject));
    }
    if title_changed {
        text.push_str(&format!(
            "  title changed: yes, {:?} -> {:?}\n",
            old.title, new.title
        ));
    } else {
        text.push_str(&format!("  title changed: no ({:?})\n", old.title));
    }
    text.push_str(&format!(
        "  body changed: {} ({} -> {} bytes)\n",
        yes_no(body_changed),
        old.body.len(),
        new.body.len()
    ));
    text.push_str(&format!(
        "  questions changed: {} ({} -> {})\n",
        yes_no(questions_changed),
        plural(old.questions.len(), "question"),
        plural(new.questions.len(), "question")
    ));
    text.push_str(&format!(
        "  answer key changed: {} (the key is not shown here; it is part of this proposal's \
         payload and therefore public)",
        yes_no(key_changed)
    ));
    if !(subject_changed || title_changed || body_changed || questions_changed || key_changed) {
        text.push_str("\nNothing changes: the unit is already exactly this.");
    }
    Ok(text)
}

/// Checks a `retire_units` payload: 1 to [`model::MAX_UNITS_PER_PROPOSAL`] distinct ids of
/// active units, and a reason (see [`check_reason`]).
pub fn check_retire_units<M: Memory>(
    store: &Store<M>,
    args: &RetireUnitsArgs,
) -> Result<String, String> {
    let n = args.unit_ids.len();
    if n == 0 {
        return Err("the proposal retires no units".into());
    }
    if n > model::MAX_UNITS_PER_PROPOSAL {
        return Err(format!(
            "at most {} units per proposal, got {n}: split it into several proposals",
            model::MAX_UNITS_PER_PROPOSAL
        ));
    }
    check_reason(&args.reason)?;
    let mut seen = BTreeSet::new();
    let mut units = Vec::with_capacity(n);
    for id in &args.unit_ids {
        if let Err(e) = model::validate_id(id) {
            return Err(format!("unit id {id:?}: {e}"));
        }
        if !seen.insert(id.as_str()) {
            return Err(format!("unit {id:?} is listed twice"));
        }
        match store.unit(id) {
            Some(u) => units.push(u),
            None if store.is_retired(id) => return Err(format!("unit {id:?} is already retired")),
            None => return Err(format!("unit {id:?} does not exist")),
        }
    }

    let mut removed: BTreeMap<&str, u64> = BTreeMap::new();
    for u in &units {
        *removed.entry(u.subject.as_str()).or_default() += 1;
    }
    let mut text = format!(
        "Retire {} from learning_content. They leave list_subjects, list_units, get_unit and \
         the HTTP interface, and can no longer be passed (verify_quiz answers UnknownUnit); \
         their answer keys are deleted and their ids can never be used again. Learners keep \
         the completions and rewards they earned on them.\n\
         Units:\n",
        plural(n, "unit")
    );
    for u in &units {
        text.push_str(&format!(
            "  - {:?} | subject {:?} | title {:?}\n",
            u.id, u.subject, u.title
        ));
    }
    text.push_str("Subjects after execution:\n");
    for (subject, k) in removed {
        let before = store.subject_count(subject);
        let gone = if before == k {
            " (the subject disappears)"
        } else {
            ""
        };
        text.push_str(&format!(
            "  {subject:?}: {before} -> {}{gone}\n",
            plural((before - k) as usize, "unit")
        ));
    }
    text.push_str(&format!("Reason: {}", args.reason.trim()));
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::input;
    use candid::Principal;
    use ic_stable_structures::memory_manager::MemoryManager;
    use ic_stable_structures::DefaultMemoryImpl;
    use platform_types::{ContentInitArgs, UnitInput, MAX_REASON_LEN};

    pub fn store() -> Store<DefaultMemoryImpl> {
        let mut s = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        s.initialize(ContentInitArgs {
            hub_id: Principal::from_slice(&[1; 29]),
            sns_governance_id: Principal::from_slice(&[2; 29]),
            units: vec![
                input("m-1", "Math", &[1, 2]),
                input("m-2", "Math", &[3]),
                input("h-1", "History", &[0]),
            ],
            pass_mark_percent: None,
        });
        s
    }

    fn add(units: Vec<UnitInput>) -> AddUnitsArgs {
        AddUnitsArgs { units }
    }

    fn retire(ids: &[&str], reason: &str) -> RetireUnitsArgs {
        RetireUnitsArgs {
            unit_ids: ids.iter().map(|s| s.to_string()).collect(),
            reason: reason.into(),
        }
    }

    #[test]
    fn add_renders_the_units_and_says_the_keys_are_public() {
        let s = store();
        let text = check_add_units(
            &s,
            &add(vec![
                input("m-3", "Math", &[0, 1, 2]),
                input("c-1", "Chemistry", &[1]),
            ]),
        )
        .unwrap();
        assert!(
            text.starts_with("Add 2 units to learning_content"),
            "{text}"
        );
        assert!(text.contains("PUBLIC ANSWER KEYS"), "{text}");
        assert!(
            text.contains("- \"m-3\" | subject \"Math\" | title \"Title of m-3\" | 3 questions"),
            "{text}"
        );
        assert!(
            text.contains(
                "- \"c-1\" | subject \"Chemistry\" | title \"Title of c-1\" | 1 question\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("\"Math\": 2 -> 3 units"), "{text}");
        assert!(
            text.contains("\"Chemistry\": 0 -> 1 unit (new subject)\n"),
            "{text}"
        );
        assert_eq!(s.unit_count(), 3, "checking changes nothing");
    }

    #[test]
    fn add_refuses_used_retired_duplicate_malformed_and_oversized_payloads() {
        let mut s = store();
        s.retire_unit("h-1", "old", 1);
        let e = |units: Vec<UnitInput>| check_add_units(&s, &add(units)).unwrap_err();
        assert_eq!(e(vec![]), "the proposal adds no units");
        assert!(e(vec![input("m-1", "Math", &[0])]).contains("\"m-1\": the id is already in use"));
        assert!(e(vec![input("h-1", "History", &[0])])
            .contains("\"h-1\": the id belonged to a retired unit"));
        assert!(
            e(vec![input("n", "S", &[0]), input("n", "T", &[1])]).contains("\"n\": duplicate id")
        );
        let mut bad_key = input("n", "S", &[0, 1]);
        bad_key.answer_key[1] = 4;
        assert!(e(vec![bad_key]).contains("answer key of question 2 is out of range"));
        let mut short_key = input("n", "S", &[0, 1]);
        short_key.answer_key.pop();
        assert!(e(vec![short_key]).contains("answer key has 1 entries for 2 questions"));
        let mut bad_id = input("n", "S", &[0]);
        bad_id.unit.id = "a b".into();
        assert!(e(vec![bad_id]).contains("id may only contain"));
        let mut long_title = input("n", "S", &[0]);
        long_title.unit.title = "t".repeat(model::MAX_TITLE_BYTES + 1);
        assert!(e(vec![long_title]).contains("title must be 1 to 200 bytes"));

        let many: Vec<_> = (0..=model::MAX_UNITS_PER_PROPOSAL)
            .map(|i| input(&format!("x{i}"), "S", &[0]))
            .collect();
        assert!(e(many.clone()).contains("at most 100 units per proposal, got 101"));
        check_add_units(&s, &add(many[..model::MAX_UNITS_PER_PROPOSAL].to_vec())).unwrap();

        // Ten units with maximal bodies (100 KiB each) are over 1 MB of payload.
        let big: Vec<_> = (0..10)
            .map(|i| {
                let mut u = input(&format!("b{i}"), "S", &[0]);
                u.unit.body = "b".repeat(model::MAX_BODY_BYTES);
                u
            })
            .collect();
        let err = e(big.clone());
        assert!(
            err.starts_with("the payload is") && err.contains("at most 1000000"),
            "{err}"
        );
        check_add_units(&s, &add(big[..9].to_vec())).unwrap();
    }

    #[test]
    fn update_renders_what_changes_without_the_key() {
        let s = store();
        let mut next = input("m-1", "Math", &[3, 2]);
        next.unit.title = "New title".into();
        let text = check_update_unit(&s, &UpdateUnitArgs { unit: next.clone() }).unwrap();
        assert!(text.starts_with("Update learning unit \"m-1\""), "{text}");
        assert!(text.contains("subject changed: no (\"Math\")"), "{text}");
        assert!(
            text.contains("title changed: yes, \"Title of m-1\" -> \"New title\""),
            "{text}"
        );
        assert!(text.contains("body changed: no"), "{text}");
        assert!(
            text.contains("questions changed: no (2 questions -> 2 questions)"),
            "{text}"
        );
        assert!(text.contains("answer key changed: yes"), "{text}");
        assert!(!text.contains("Nothing changes"));
        assert!(
            !text.contains("[3, 2]") && !text.contains("[1, 2]"),
            "no key is printed: {text}"
        );

        let mut moved = input("m-1", "Algebra", &[1, 2, 0]);
        moved.unit.body.push('!');
        let text = check_update_unit(&s, &UpdateUnitArgs { unit: moved }).unwrap();
        assert!(
            text.contains("subject changed: yes, \"Math\" -> \"Algebra\""),
            "{text}"
        );
        assert!(text.contains("body changed: yes"), "{text}");
        assert!(
            text.contains("questions changed: yes (2 questions -> 3 questions)"),
            "{text}"
        );

        let same = check_update_unit(
            &s,
            &UpdateUnitArgs {
                unit: input("m-1", "Math", &[1, 2]),
            },
        )
        .unwrap();
        assert!(
            same.contains("answer key changed: no") && same.contains("Nothing changes"),
            "{same}"
        );
    }

    #[test]
    fn update_refuses_unknown_retired_and_malformed_units() {
        let mut s = store();
        s.retire_unit("h-1", "old", 1);
        let e = |u: UnitInput| check_update_unit(&s, &UpdateUnitArgs { unit: u }).unwrap_err();
        assert_eq!(
            e(input("nope", "S", &[0])),
            "unit \"nope\" does not exist (add_units adds new units)"
        );
        assert_eq!(
            e(input("h-1", "History", &[0])),
            "unit \"h-1\" is retired and cannot be updated"
        );
        let mut bad = input("m-1", "Math", &[1, 2]);
        bad.answer_key[0] = 9;
        assert!(e(bad).contains("answer key of question 1 is out of range"));
        let mut no_questions = input("m-1", "Math", &[]);
        no_questions.answer_key.clear();
        assert!(e(no_questions).contains("1 to 50 questions"));
    }

    #[test]
    fn retire_renders_ids_subjects_and_reason() {
        let s = store();
        let text = check_retire_units(&s, &retire(&["m-2", "h-1"], "  outdated  ")).unwrap();
        assert!(
            text.starts_with("Retire 2 units from learning_content"),
            "{text}"
        );
        assert!(
            text.contains("- \"m-2\" | subject \"Math\" | title \"Title of m-2\""),
            "{text}"
        );
        assert!(
            text.contains("\"History\": 1 -> 0 units (the subject disappears)"),
            "{text}"
        );
        assert!(text.contains("\"Math\": 2 -> 1 unit\n"), "{text}");
        assert!(text.ends_with("Reason: outdated"), "{text}");
        assert!(s.has_unit("m-2"), "checking changes nothing");
    }

    #[test]
    fn retire_refuses_unknown_retired_duplicate_ids_and_bad_reasons() {
        let mut s = store();
        s.retire_unit("h-1", "old", 1);
        let e =
            |ids: &[&str], reason: &str| check_retire_units(&s, &retire(ids, reason)).unwrap_err();
        assert_eq!(e(&[], "r"), "the proposal retires no units");
        assert_eq!(e(&["nope"], "r"), "unit \"nope\" does not exist");
        assert_eq!(e(&["h-1"], "r"), "unit \"h-1\" is already retired");
        assert_eq!(e(&["m-1", "m-1"], "r"), "unit \"m-1\" is listed twice");
        assert!(e(&["a/b"], "r").starts_with("unit id \"a/b\": id may only contain"));
        assert!(e(&["m-1"], " ").starts_with("reason: must not be empty"));
        assert!(e(&["m-1"], &"x".repeat(MAX_REASON_LEN + 1)).starts_with("reason: at most"));
        let many: Vec<String> = (0..=model::MAX_UNITS_PER_PROPOSAL)
            .map(|i| format!("x{i}"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(e(&many, "r").contains("at most 100 units per proposal, got 101"));
    }
}
