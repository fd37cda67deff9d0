use crate::{model, state, state::Store};
use candid::Principal;
use ic_stable_structures::Memory;
use platform_types::{ContentInitArgs, ContentUpgradeArgs};

/// Checks the init arguments; the error says what is wrong (never an answer key value).
pub fn validate(args: &ContentInitArgs) -> Result<(), String> {
    if args.hub_id == candid::Principal::anonymous() {
        return Err("hub_id must not be the anonymous principal".into());
    }
    model::validate_pass_mark(args.pass_mark_percent)?;
    model::validate_units(&args.units)
}

/// Validates (trapping with a clear message on malformed content) and stores everything.
pub fn init(args: ContentInitArgs) {
    if let Err(e) = validate(&args) {
        ic_cdk::trap(format!("learning_content init: {e}"));
    }
    state::with_mut(|s| s.initialize(args));
    crate::certification::certify_all();
}

/// Everything lives in stable structures: opening them (reading their headers) is all the state
/// needs. The HTTP certification (heap) is then rebuilt from every unit (see
/// `certification.rs`). The upgrade argument may set the SNS governance canister; with none
/// (no argument, empty Candid arguments, or `null`) everything stays. A bad argument traps,
/// which fails the upgrade and leaves the canister as it was.
pub fn post_upgrade(args: Option<ContentUpgradeArgs>) {
    if state::init_args().is_none() {
        ic_cdk::trap("learning_content: no init arguments in stable memory after upgrade");
    }
    if let Err(e) = state::with_mut(|s| apply_upgrade_args(s, args)) {
        ic_cdk::trap(format!("learning_content post_upgrade: {e}"));
    }
    // A release before local verification kept keys that no shard was given.
    state::with_mut(|s| {
        if s.key_sync().version == 0 && s.unit_count() > 0 {
            s.note_keys_changed();
        }
    });
    crate::certification::certify_all();
}

/// Applies an upgrade argument (`opt ContentUpgradeArgs`).
///
/// A record that sets nothing is refused: Candid decodes a record with a misspelt field name
/// (e.g. `sns_goverance_id`) as one without the field, and an upgrade proposal that silently
/// does nothing is worse than one that fails. (A top-level value of the wrong type, e.g. a
/// `text`, decodes as `null` under Candid's `opt` rule and cannot be told apart from `null`.)
pub fn apply_upgrade_args<M: Memory>(
    store: &mut Store<M>,
    args: Option<ContentUpgradeArgs>,
) -> Result<(), String> {
    let Some(ContentUpgradeArgs { sns_governance_id }) = args else {
        return Ok(());
    };
    let Some(id) = sns_governance_id else {
        return Err(
            "the upgrade argument sets nothing (a misspelt field name?); \
                    upgrade with no argument or null to keep everything"
                .into(),
        );
    };
    if id == Principal::anonymous() {
        return Err("sns_governance_id must not be the anonymous principal".into());
    }
    if store.init_args().is_none() {
        return Err("learning_content is not initialized".into());
    }
    store.set_sns_governance_id(id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::input;
    use candid::Principal;

    #[test]
    fn init_arguments_are_validated() {
        let ok = ContentInitArgs {
            hub_id: Principal::from_slice(&[1; 29]),
            sns_governance_id: Principal::from_slice(&[2; 29]),
            units: vec![input("a", "S", &[0])],
            pass_mark_percent: Some(100),
        };
        validate(&ok).unwrap();
        let anon = ContentInitArgs {
            hub_id: Principal::anonymous(),
            ..ok.clone()
        };
        assert!(validate(&anon).unwrap_err().contains("hub_id"));
        let mark = ContentInitArgs {
            pass_mark_percent: Some(0),
            ..ok.clone()
        };
        assert!(validate(&mark).unwrap_err().contains("pass_mark_percent"));
        let dup = ContentInitArgs {
            units: vec![input("a", "S", &[0]), input("a", "T", &[1])],
            ..ok
        };
        assert!(validate(&dup).unwrap_err().contains("duplicate id"));
    }

    #[test]
    fn upgrade_arguments_set_the_governance_id_or_keep_everything() {
        use crate::updates;
        use ic_stable_structures::memory_manager::MemoryManager;
        use ic_stable_structures::DefaultMemoryImpl;
        use platform_types::{RetireUnitsArgs, ValidationResult};

        let (old, new) = (
            Principal::from_slice(&[2; 29]),
            Principal::from_slice(&[5; 29]),
        );
        let mut store = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        assert!(apply_upgrade_args(
            &mut store,
            Some(ContentUpgradeArgs {
                sns_governance_id: Some(new)
            })
        )
        .unwrap_err()
        .contains("not initialized"));
        let args = ContentInitArgs {
            hub_id: Principal::from_slice(&[1; 29]),
            sns_governance_id: old,
            units: vec![input("a", "S", &[0])],
            pass_mark_percent: Some(80),
        };
        store.initialize(args.clone());
        let stored = store.init_args();
        apply_upgrade_args(&mut store, None).unwrap();
        assert_eq!(store.init_args(), stored);
        let e = apply_upgrade_args(&mut store, Some(ContentUpgradeArgs::default())).unwrap_err();
        assert!(e.starts_with("the upgrade argument sets nothing"), "{e}");
        assert_eq!(store.init_args(), stored);
        let e = apply_upgrade_args(
            &mut store,
            Some(ContentUpgradeArgs {
                sns_governance_id: Some(Principal::anonymous()),
            }),
        )
        .unwrap_err();
        assert!(e.contains("anonymous"), "{e}");
        assert_eq!(store.init_args(), stored);

        apply_upgrade_args(
            &mut store,
            Some(ContentUpgradeArgs {
                sns_governance_id: Some(new),
            }),
        )
        .unwrap();
        assert_eq!(
            store.init_args(),
            Some(ContentInitArgs {
                sns_governance_id: new,
                units: vec![],
                ..args
            })
        );
        let validate = |s: &Store<_>, caller| -> ValidationResult {
            crate::queries::retire_units_validate(
                s,
                caller,
                &RetireUnitsArgs {
                    unit_ids: vec!["a".into()],
                    reason: "r".into(),
                },
            )
        };
        assert!(validate(&store, new).is_ok());
        assert!(validate(&store, old)
            .unwrap_err()
            .starts_with("only SNS governance"));
        assert!(updates::retire_units(
            &mut store,
            old,
            RetireUnitsArgs {
                unit_ids: vec!["a".into()],
                reason: "r".into()
            },
            0
        )
        .is_err());
        assert!(store.has_unit("a"));
    }

    /// What ic-cdk decodes for `post_upgrade(args: Option<ContentUpgradeArgs>)`: it replaces an
    /// empty argument with `DIDL\0\0`, and a missing `opt` argument decodes as `None`.
    #[test]
    fn empty_and_null_upgrade_arguments_decode_as_none() {
        let decode = |bytes: &[u8]| {
            candid::decode_args::<(Option<ContentUpgradeArgs>,)>(bytes)
                .unwrap()
                .0
        };
        assert_eq!(decode(&candid::encode_args(()).unwrap()), None);
        assert_eq!(decode(b"DIDL\0\0"), None);
        assert_eq!(
            decode(&candid::encode_one(None::<ContentUpgradeArgs>).unwrap()),
            None
        );
        let set = Some(ContentUpgradeArgs {
            sns_governance_id: Some(Principal::from_slice(&[5; 29])),
        });
        assert_eq!(decode(&candid::encode_one(&set).unwrap()), set);
        // A misspelt field is dropped by Candid (hence the refusal of an empty record above),
        // and a value of another type decodes as null.
        #[derive(candid::CandidType)]
        struct Misspelt {
            sns_goverance_id: Option<Principal>,
        }
        let typo = Some(Misspelt {
            sns_goverance_id: Some(Principal::from_slice(&[5; 29])),
        });
        assert_eq!(
            decode(&candid::encode_one(typo).unwrap()),
            Some(ContentUpgradeArgs::default())
        );
        assert_eq!(decode(&candid::encode_one("junk").unwrap()), None);
    }
}
