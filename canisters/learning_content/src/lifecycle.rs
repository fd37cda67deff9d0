use crate::{model, state};
use platform_types::ContentInitArgs;

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
}

/// Everything lives in stable structures: opening them (reading their headers) is all an upgrade
/// needs. Nothing is iterated.
pub fn post_upgrade() {
    if state::init_args().is_none() {
        ic_cdk::trap("learning_content: no init arguments in stable memory after upgrade");
    }
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
}
