//! Update methods: the hub's shard registration and configuration push, and the targets of
//! the content proposals (executed by SNS governance after adoption).
//!
//! Every function checks the caller first, then checks the whole request against the state in
//! force, and only then writes; an `Err` leaves the state as it was. (The canister entry points
//! of the proposal targets trap on `Err`, so that SNS governance marks the proposal Failed.)

use candid::Principal;
use ic_stable_structures::Memory;
use platform_types::{AddUnitsArgs, ContentConfigPush, RetireUnitsArgs, UpdateUnitArgs};

use crate::{governance, guards, model, state::Store};

/// `register_shard`: the hub tells which canisters are its shards. Idempotent.
pub fn register_shard<M: Memory>(
    store: &mut Store<M>,
    caller: Principal,
    shard: Principal,
) -> Result<(), String> {
    guards::require_hub(store, caller, "register shards")?;
    if shard == Principal::anonymous() {
        return Err("the anonymous principal cannot be a shard".into());
    }
    store.add_shard(shard);
    Ok(())
}

/// `add_units` (proposal target): stores new units. Answers the rendering of what was applied.
pub fn add_units<M: Memory>(
    store: &mut Store<M>,
    caller: Principal,
    args: AddUnitsArgs,
) -> Result<String, String> {
    guards::require_governance(store, caller, "add_units")?;
    let rendering = governance::check_add_units(store, &args)?;
    store.add_units(args.units);
    Ok(rendering)
}

/// `update_unit` (proposal target): replaces an active unit and its answer key.
pub fn update_unit<M: Memory>(
    store: &mut Store<M>,
    caller: Principal,
    args: UpdateUnitArgs,
) -> Result<String, String> {
    guards::require_governance(store, caller, "update_unit")?;
    let rendering = governance::check_update_unit(store, &args)?;
    store.replace_unit(args.unit);
    Ok(rendering)
}

/// `retire_units` (proposal target): retires active units (see [`Store::retire_unit`]).
pub fn retire_units<M: Memory>(
    store: &mut Store<M>,
    caller: Principal,
    args: RetireUnitsArgs,
    now_ns: u64,
) -> Result<String, String> {
    guards::require_governance(store, caller, "retire_units")?;
    let rendering = governance::check_retire_units(store, &args)?;
    let reason = args.reason.trim();
    for id in &args.unit_ids {
        store.retire_unit(id, reason, now_ns);
    }
    Ok(rendering)
}

/// `apply_config`: the hub pushes its configuration. A version newer than the one in force is
/// applied (its pass mark must be in 1..=100); an older or equal one changes nothing. Answers
/// the version in force afterwards.
pub fn apply_config<M: Memory>(
    store: &mut Store<M>,
    caller: Principal,
    push: ContentConfigPush,
) -> Result<u64, String> {
    guards::require_hub(store, caller, "push configuration")?;
    let current = store.config_version();
    if push.version <= current {
        return Ok(current);
    }
    model::validate_pass_mark(Some(push.pass_mark_percent))?;
    store.apply_config(push.version, push.pass_mark_percent);
    Ok(push.version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::memory_manager::MemoryManager;
    use ic_stable_structures::DefaultMemoryImpl;
    use platform_types::ContentInitArgs;

    #[test]
    fn only_the_hub_registers_shards() {
        let hub = Principal::from_slice(&[1; 29]);
        let shard = Principal::from_slice(&[3; 10]);
        let mut store = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        assert!(register_shard(&mut store, hub, shard)
            .unwrap_err()
            .contains("not initialized"));
        store.initialize(ContentInitArgs {
            hub_id: hub,
            sns_governance_id: Principal::from_slice(&[2; 29]),
            units: vec![],
            pass_mark_percent: None,
        });
        let err = register_shard(&mut store, shard, shard).unwrap_err();
        assert!(err.contains("only the hub"), "{err}");
        assert!(!store.is_shard(&shard));
        register_shard(&mut store, hub, shard).unwrap();
        register_shard(&mut store, hub, shard).unwrap();
        assert!(store.is_shard(&shard));
        assert_eq!(store.shard_count(), 1);
        assert!(register_shard(&mut store, hub, Principal::anonymous())
            .unwrap_err()
            .contains("anonymous"));
    }

    // ------------------------------------------------------------ governance and config

    use crate::model::tests::input;
    use crate::queries;
    use platform_types::{UnitInput, VerifyError, VerifyResult};

    const HUB: u8 = 1;
    const GOV: u8 = 2;
    const SHARD: u8 = 3;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    fn content() -> Store<DefaultMemoryImpl> {
        let mut store = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        store.initialize(ContentInitArgs {
            hub_id: p(HUB),
            sns_governance_id: p(GOV),
            units: vec![
                input("m-1", "Math", &[1, 2]),
                input("m-2", "Math", &[3]),
                input("h-1", "History", &[0]),
            ],
            pass_mark_percent: None,
        });
        register_shard(&mut store, p(HUB), p(SHARD)).unwrap();
        store
    }

    fn adds(units: Vec<UnitInput>) -> AddUnitsArgs {
        AddUnitsArgs { units }
    }

    fn retires(ids: &[&str]) -> RetireUnitsArgs {
        RetireUnitsArgs {
            unit_ids: ids.iter().map(|s| s.to_string()).collect(),
            reason: "outdated".into(),
        }
    }

    /// Everything a caller can observe, to show that a refused call changed nothing.
    fn snapshot(s: &Store<DefaultMemoryImpl>) -> String {
        let pages: Vec<_> = s.subjects().iter().map(|x| s.page(x, 0, 50)).collect();
        let keys: Vec<_> = ["m-1", "m-2", "h-1", "n-1"]
            .iter()
            .map(|id| s.answer_key(id))
            .collect();
        format!(
            "{:?} {pages:?} {keys:?} {:?} {}",
            s.subjects(),
            s.init_args(),
            s.config_version()
        )
    }

    #[test]
    fn only_sns_governance_may_call_the_validators_and_targets() {
        let mut s = content();
        let before = snapshot(&s);
        // The hub, a shard, a stranger, the anonymous principal (and so the deployer too).
        for caller in [p(HUB), p(SHARD), p(9), Principal::anonymous()] {
            let only = |r: Result<String, String>, method: &str| {
                let e = r.unwrap_err();
                assert_eq!(
                    e,
                    format!(
                        "only SNS governance ({}) may call {method}; the caller is {caller}",
                        p(GOV)
                    )
                );
            };
            only(
                queries::add_units_validate(&s, caller, &adds(vec![input("n-1", "S", &[0])])),
                "add_units_validate",
            );
            only(
                queries::update_unit_validate(
                    &s,
                    caller,
                    &UpdateUnitArgs {
                        unit: input("m-1", "Math", &[0, 0]),
                    },
                ),
                "update_unit_validate",
            );
            only(
                queries::retire_units_validate(&s, caller, &retires(&["m-1"])),
                "retire_units_validate",
            );
            only(
                add_units(&mut s, caller, adds(vec![input("n-1", "S", &[0])])),
                "add_units",
            );
            only(
                update_unit(
                    &mut s,
                    caller,
                    UpdateUnitArgs {
                        unit: input("m-1", "Math", &[0, 0]),
                    },
                ),
                "update_unit",
            );
            only(
                retire_units(&mut s, caller, retires(&["m-1"]), 1),
                "retire_units",
            );
        }
        assert_eq!(snapshot(&s), before, "refused calls change nothing");
        s.check_invariants();

        // Governance passes the caller check.
        queries::add_units_validate(&s, p(GOV), &adds(vec![input("n-1", "S", &[0])])).unwrap();

        // While the governance id is the anonymous principal, nobody (not even anonymous) may.
        let mut anon = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        anon.initialize(ContentInitArgs {
            hub_id: p(HUB),
            sns_governance_id: Principal::anonymous(),
            units: vec![],
            pass_mark_percent: None,
        });
        let e = add_units(
            &mut anon,
            Principal::anonymous(),
            adds(vec![input("n-1", "S", &[0])]),
        )
        .unwrap_err();
        assert!(
            e.starts_with("only SNS governance may call add_units, and none is set"),
            "{e}"
        );
        assert_eq!(anon.unit_count(), 0);
        let mut empty = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        assert!(retire_units(&mut empty, p(GOV), retires(&["x"]), 1)
            .unwrap_err()
            .contains("not initialized"));
    }

    #[test]
    fn added_units_are_served_and_verified() {
        let mut s = content();
        let rendering = add_units(
            &mut s,
            p(GOV),
            adds(vec![
                input("n-1", "New", &[2, 1]),
                input("m-0", "Math", &[0]),
            ]),
        )
        .unwrap();
        assert!(rendering.starts_with("Add 2 units"));
        s.check_invariants();
        assert_eq!(queries::list_subjects(&s), ["History", "Math", "New"]);
        assert_eq!(queries::list_units(&s, "Math", 0, 50).total, 3);
        assert_eq!(
            queries::get_unit(&s, "n-1"),
            Some(input("n-1", "New", &[2, 1]).unit)
        );
        assert_eq!(
            queries::verify_quiz(&s, p(SHARD), "n-1", &[2, 1]),
            Ok(VerifyResult {
                correct: 2,
                total: 2,
                passed: true
            })
        );
        // Executing the same proposal again fails: the ids are in use now; nothing changes.
        let before = snapshot(&s);
        let e = add_units(
            &mut s,
            p(GOV),
            adds(vec![
                input("x-1", "New", &[0]),
                input("n-1", "New", &[2, 1]),
            ]),
        )
        .unwrap_err();
        assert!(e.contains("\"n-1\": the id is already in use"), "{e}");
        assert_eq!(snapshot(&s), before);
        assert!(!s.has_unit("x-1"), "all or nothing");
    }

    #[test]
    fn updated_units_move_between_subjects_and_use_their_new_key() {
        let mut s = content();
        update_unit(
            &mut s,
            p(GOV),
            UpdateUnitArgs {
                unit: input("h-1", "Math", &[3, 3]),
            },
        )
        .unwrap();
        s.check_invariants();
        assert_eq!(
            queries::list_subjects(&s),
            ["Math"],
            "History had no other unit"
        );
        let page = queries::list_units(&s, "Math", 0, 50);
        assert_eq!(
            (
                page.units.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
                page.total
            ),
            (vec!["h-1", "m-1", "m-2"], 3)
        );
        assert_eq!(
            queries::verify_quiz(&s, p(SHARD), "h-1", &[3, 3]),
            Ok(VerifyResult {
                correct: 2,
                total: 2,
                passed: true
            })
        );
        assert_eq!(
            queries::verify_quiz(&s, p(SHARD), "h-1", &[0, 0]),
            Ok(VerifyResult {
                correct: 0,
                total: 2,
                passed: false
            })
        );
        update_unit(
            &mut s,
            p(GOV),
            UpdateUnitArgs {
                unit: input("m-2", "Physics", &[1]),
            },
        )
        .unwrap();
        s.check_invariants();
        assert_eq!(queries::list_subjects(&s), ["Math", "Physics"]);
        // Updating an unknown unit fails and changes nothing.
        let before = snapshot(&s);
        let e = update_unit(
            &mut s,
            p(GOV),
            UpdateUnitArgs {
                unit: input("zz", "Math", &[1]),
            },
        )
        .unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        assert_eq!(snapshot(&s), before);
    }

    #[test]
    fn retired_units_vanish_cannot_be_passed_and_their_ids_are_never_reused() {
        let mut s = content();
        let r = retire_units(&mut s, p(GOV), retires(&["h-1", "m-2"]), 77).unwrap();
        assert!(
            r.starts_with("Retire 2 units") && r.ends_with("Reason: outdated"),
            "{r}"
        );
        s.check_invariants();
        assert_eq!(queries::list_subjects(&s), ["Math"]);
        let page = queries::list_units(&s, "Math", 0, 50);
        assert_eq!((page.units.len(), page.total), (1, 1));
        assert_eq!(queries::get_unit(&s, "h-1"), None);
        assert_eq!(s.answer_key("h-1"), None, "the answer key is deleted");
        assert_eq!(s.retired_unit("m-2").unwrap().retired_at_ns, 77);
        for id in ["h-1", "m-2"] {
            assert_eq!(
                queries::verify_quiz(&s, p(SHARD), id, &[0]),
                Err(VerifyError::UnknownUnit { unit_id: id.into() })
            );
        }
        let before = snapshot(&s);
        let e = retire_units(&mut s, p(GOV), retires(&["m-1", "h-1"]), 78).unwrap_err();
        assert_eq!(e, "unit \"h-1\" is already retired");
        assert!(s.has_unit("m-1"), "all or nothing");
        let e = add_units(&mut s, p(GOV), adds(vec![input("h-1", "History", &[0])])).unwrap_err();
        assert!(e.contains("can never be used again"), "{e}");
        let e = update_unit(
            &mut s,
            p(GOV),
            UpdateUnitArgs {
                unit: input("m-2", "Math", &[0]),
            },
        )
        .unwrap_err();
        assert!(e.contains("is retired"), "{e}");
        assert_eq!(snapshot(&s), before);
    }

    #[test]
    fn the_hub_pushes_newer_configuration_versions_only() {
        let mut s = content();
        assert_eq!(s.config_version(), 0);
        let push = |version, pass_mark_percent| ContentConfigPush {
            version,
            pass_mark_percent,
        };
        for caller in [p(GOV), p(SHARD), Principal::anonymous()] {
            let e = apply_config(&mut s, caller, push(1, 100)).unwrap_err();
            assert!(
                e.starts_with(&format!("only the hub ({}) may push configuration", p(HUB))),
                "{e}"
            );
        }
        assert_eq!(
            apply_config(&mut s, p(HUB), push(0, 100)),
            Ok(0),
            "version 0 is not newer"
        );
        assert_eq!(s.pass_mark_percent(), 60);
        // m-1 has 2 questions: 1 of 2 = 50 % fails at 60 %, passes at 50 %.
        let half = |s: &Store<DefaultMemoryImpl>| {
            queries::verify_quiz(s, p(SHARD), "m-1", &[1, 0])
                .unwrap()
                .passed
        };
        assert!(!half(&s));
        assert_eq!(apply_config(&mut s, p(HUB), push(3, 50)), Ok(3));
        assert!(half(&s));
        assert_eq!(
            apply_config(&mut s, p(HUB), push(3, 90)),
            Ok(3),
            "equal version: no-op"
        );
        assert_eq!(
            apply_config(&mut s, p(HUB), push(2, 90)),
            Ok(3),
            "older version: no-op"
        );
        assert_eq!(s.pass_mark_percent(), 50);
        for bad in [0, 101] {
            let e = apply_config(&mut s, p(HUB), push(4, bad)).unwrap_err();
            assert!(e.contains("pass_mark_percent must be in 1..=100"), "{e}");
        }
        assert_eq!((s.config_version(), s.pass_mark_percent()), (3, 50));
        assert_eq!(
            apply_config(&mut s, p(HUB), push(u64::MAX, 100)),
            Ok(u64::MAX)
        );
        assert_eq!(s.pass_mark_percent(), 100);
        assert_eq!(s.init_args().unwrap().pass_mark_percent, Some(100));
    }
}
