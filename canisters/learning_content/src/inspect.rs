//! Ingress filter (`canister_inspect_message`): refuses, before execution and so before
//! learning_content pays for it, ingress that its method would refuse anyway. A cost filter, not
//! a security boundary: it runs on one replica only and not for inter-canister calls, so every
//! method keeps its own caller checks. Queries called as updates are accepted from anyone (they
//! check the caller themselves); unknown method names are refused.

use candid::Principal;

/// What the filter needs from the canister's state, read only when a rule asks for it.
pub trait Facts {
    /// The hub named in the init arguments (`None` before init).
    fn hub(&self) -> Option<Principal>;
    /// The SNS governance canister in force (`None` before init).
    fn governance(&self) -> Option<Principal>;
}

/// The state of this canister.
pub struct ContentState;

impl Facts for ContentState {
    fn hub(&self) -> Option<Principal> {
        crate::state::with(|s| s.hub_id())
    }
    fn governance(&self) -> Option<Principal> {
        crate::state::with(|s| s.sns_governance_id())
    }
}

/// Queries (an update call can also reach them): anyone.
const OPEN: &[&str] = &[
    "list_subjects",
    "list_units",
    "get_unit",
    "verify_quiz",
    "http_request",
    "add_units_validate",
    "update_unit_validate",
    "retire_units_validate",
    "get_config_version",
    "get_version",
    "get_cycles_balance",
    "get_init_args",
    "__get_candid_interface_tmp_hack",
];

/// `Ok` to accept the ingress message `method` from `caller`; `Err` says why it is refused.
pub fn check(method: &str, caller: Principal, facts: &impl Facts) -> Result<(), String> {
    match method {
        // The hub calls them inter-canister, which is never inspected, so in practice every
        // ingress to them is refused here.
        "register_shard" | "apply_config" => match facts.hub() {
            Some(hub) if hub == caller => Ok(()),
            _ => Err(format!("only the hub may call {method}")),
        },
        // Proposal targets. SNS governance calls them inter-canister, which is never inspected,
        // so in practice every ingress to them is refused here (an anonymous governance id means
        // "not set yet": nobody).
        "add_units" | "update_unit" | "retire_units" => match facts.governance() {
            Some(g) if g == caller && caller != Principal::anonymous() => Ok(()),
            _ => Err(format!("only SNS governance may call {method}")),
        },
        m if OPEN.contains(&m) => Ok(()),
        _ => Err(format!("unknown method {method}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        hub: Option<Principal>,
        governance: Option<Principal>,
    }

    impl Facts for Fake {
        fn hub(&self) -> Option<Principal> {
            self.hub
        }
        fn governance(&self) -> Option<Principal> {
            self.governance
        }
    }

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    const HUB: u8 = 1;
    const GOV: u8 = 2;
    const STRANGER: u8 = 3;

    fn facts() -> Fake {
        Fake { hub: Some(p(HUB)), governance: Some(p(GOV)) }
    }

    #[test]
    fn hub_methods_admit_only_the_hub() {
        for m in ["register_shard", "apply_config"] {
            assert!(check(m, p(HUB), &facts()).is_ok(), "{m}");
            for who in [p(GOV), p(STRANGER), Principal::anonymous()] {
                assert!(check(m, who, &facts()).is_err(), "{m} from {who}");
            }
            assert!(check(m, p(HUB), &Fake { hub: None, governance: None }).is_err(), "{m} before init");
        }
    }

    #[test]
    fn proposal_targets_admit_only_governance() {
        for m in ["add_units", "update_unit", "retire_units"] {
            assert!(check(m, p(GOV), &facts()).is_ok(), "{m}");
            for who in [p(HUB), p(STRANGER), Principal::anonymous()] {
                assert!(check(m, who, &facts()).is_err(), "{m} from {who}");
            }
            let unset = Fake { hub: Some(p(HUB)), governance: Some(Principal::anonymous()) };
            assert!(check(m, Principal::anonymous(), &unset).is_err(), "{m}: an anonymous governance id admits nobody");
        }
    }

    #[test]
    fn queries_are_open_and_unknown_methods_refused() {
        for m in ["list_units", "get_unit", "http_request", "add_units_validate", "verify_quiz"] {
            assert!(check(m, Principal::anonymous(), &facts()).is_ok(), "{m}");
        }
        assert!(check("http_request_update", p(STRANGER), &facts()).is_err());
        assert!(check("no_such_method", p(GOV), &facts()).is_err());
    }

    #[test]
    fn every_method_of_the_interface_is_known() {
        for m in platform_types::candid_check::service_method_names(&crate::__export_service()) {
            let known = [p(HUB), p(GOV), p(STRANGER)].iter().any(|who| check(&m, *who, &facts()).is_ok());
            assert!(known, "{m} is in the interface but the ingress filter refuses it from everyone");
        }
    }
}
