//! Query methods. None of them returns an answer key: units are served as [`Unit`], which has
//! no answer field, and `verify_quiz` returns only counts.

use candid::Principal;
use ic_stable_structures::Memory;
use platform_types::{
    AddUnitsArgs, ContentInitArgs, RetireUnitsArgs, Unit, UnitPage, UpdateUnitArgs,
    ValidationResult, VerifyError, VerifyResult, VersionInfo,
};

use crate::{governance, guards, model, state, state::Store, CANISTER_NAME};

pub fn get_version() -> VersionInfo {
    // The module hash is not known here: SNS root installs this canister (read it from the IC).
    VersionInfo::from_build(
        CANISTER_NAME,
        env!("CARGO_PKG_VERSION"),
        env!("BUILD_GIT_COMMIT"),
        env!("BUILD_COMMIT_TIME_SECS"),
        state::init_args().map(|a| a.summary()).unwrap_or_else(|| "not initialized".to_string()),
    )
}

/// The init arguments in force without their units (`units` is always empty: the content is
/// served by the other queries, and the answer keys never). `sns_governance_id` is the one in
/// force (an upgrade argument may have changed it), and so is `pass_mark_percent` (the hub's
/// configuration may have changed it).
pub fn get_init_args() -> ContentInitArgs {
    state::init_args().unwrap_or_else(|| ic_cdk::trap("learning_content: not initialized"))
}

pub fn list_subjects<M: Memory>(store: &Store<M>) -> Vec<String> {
    store.subjects()
}

/// A subject's units in id order; `limit` is capped at [`model::MAX_PAGE_LIMIT`] and a page
/// may stop early on size (see [`model::take_page`]).
pub fn list_units<M: Memory>(store: &Store<M>, subject: &str, offset: u64, limit: u64) -> UnitPage {
    store.page(subject, offset, limit)
}

pub fn get_unit<M: Memory>(store: &Store<M>, id: &str) -> Option<Unit> {
    store.unit(id)
}

/// Scores `answers` for a registered shard.
pub fn verify_quiz<M: Memory>(
    store: &Store<M>,
    caller: Principal,
    unit_id: &str,
    answers: &[u32],
) -> Result<VerifyResult, VerifyError> {
    guards::require_shard(store, caller)?;
    let unknown = || VerifyError::UnknownUnit {
        unit_id: unit_id.to_string(),
    };
    let unit = store.unit(unit_id).ok_or_else(unknown)?;
    let key = store.answer_key(unit_id).ok_or_else(unknown)?;
    model::score(&unit, &key, answers, store.pass_mark_percent())
}

/// `add_units_validate` (proposal validator): SNS governance only; changes nothing.
pub fn add_units_validate<M: Memory>(
    store: &Store<M>,
    caller: Principal,
    args: &AddUnitsArgs,
) -> ValidationResult {
    guards::require_governance(store, caller, "add_units_validate")?;
    governance::check_add_units(store, args)
}

/// `update_unit_validate` (proposal validator): SNS governance only; changes nothing.
pub fn update_unit_validate<M: Memory>(
    store: &Store<M>,
    caller: Principal,
    args: &UpdateUnitArgs,
) -> ValidationResult {
    guards::require_governance(store, caller, "update_unit_validate")?;
    governance::check_update_unit(store, args)
}

/// `retire_units_validate` (proposal validator): SNS governance only; changes nothing.
pub fn retire_units_validate<M: Memory>(
    store: &Store<M>,
    caller: Principal,
    args: &RetireUnitsArgs,
) -> ValidationResult {
    guards::require_governance(store, caller, "retire_units_validate")?;
    governance::check_retire_units(store, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::input;
    use crate::updates::register_shard;
    use ic_stable_structures::memory_manager::MemoryManager;
    use ic_stable_structures::DefaultMemoryImpl;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    #[test]
    fn version_names_the_canister_and_summarizes_init_args() {
        let args = ContentInitArgs {
            hub_id: p(7),
            sns_governance_id: p(8),
            units: vec![input("a", "S", &[1])],
            pass_mark_percent: None,
        };
        crate::lifecycle::init(args.clone());
        let v = get_version();
        assert_eq!(v.canister, "learning_content");
        assert_eq!(v.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(v.init_arg_summary, args.summary());
        assert_eq!(
            get_init_args(),
            ContentInitArgs {
                units: vec![],
                ..args
            }
        );
        state::with(|s| assert_eq!(get_unit(s, "a").unwrap().id, "a"));
    }

    #[test]
    fn only_registered_shards_verify_and_scores_use_the_pass_mark() {
        let (hub, shard) = (p(1), p(3));
        let mut store = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        store.initialize(ContentInitArgs {
            hub_id: hub,
            sns_governance_id: p(2),
            units: vec![input("u", "S", &[0, 1, 2, 3])],
            pass_mark_percent: Some(75),
        });
        assert_eq!(
            verify_quiz(&store, shard, "u", &[0, 1, 2, 3]),
            Err(VerifyError::NotAShard)
        );
        assert_eq!(
            verify_quiz(&store, hub, "u", &[0, 1, 2, 3]),
            Err(VerifyError::NotAShard)
        );
        register_shard(&mut store, hub, shard).unwrap();
        assert_eq!(
            verify_quiz(&store, shard, "u", &[0, 1, 2, 0]),
            Ok(VerifyResult {
                correct: 3,
                total: 4,
                passed: true
            })
        );
        assert_eq!(
            verify_quiz(&store, shard, "u", &[0, 1, 0, 0]),
            Ok(VerifyResult {
                correct: 2,
                total: 4,
                passed: false
            })
        );
        assert_eq!(
            verify_quiz(&store, shard, "v", &[0]),
            Err(VerifyError::UnknownUnit {
                unit_id: "v".into()
            })
        );
        assert!(matches!(
            verify_quiz(&store, shard, "u", &[0]),
            Err(VerifyError::BadAnswers { .. })
        ));
        assert!(matches!(
            verify_quiz(&store, shard, "u", &[0, 1, 2, 4]),
            Err(VerifyError::BadAnswers { .. })
        ));
        assert_eq!(list_subjects(&store), vec!["S"]);
        assert_eq!(list_units(&store, "S", 0, 10).total, 1);
    }
}
