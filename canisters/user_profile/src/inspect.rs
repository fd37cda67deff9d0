//! Ingress filter (`canister_inspect_message`): refuses, before execution and so before the
//! shard pays for it, ingress that its method would refuse anyway. A cost filter, not a security
//! boundary: it runs on one replica only and not for inter-canister calls, so every method keeps
//! its own caller checks. Queries called as updates are accepted from anyone (they check the
//! caller themselves); unknown method names are refused.

use candid::Principal;

/// What the filter needs from the shard's state, read only when a rule asks for it.
pub trait Facts {
    /// The hub that created this shard (`None` before init).
    fn hub(&self) -> Option<Principal>;
    /// Whether `p` is a user of this shard.
    fn is_registered(&self, p: Principal) -> bool;
    /// Whether the configuration in force names `p` in `user_export_readers`.
    fn is_user_export_reader(&self, p: Principal) -> bool;
}

/// The state of this canister.
pub struct ShardState;

impl Facts for ShardState {
    fn hub(&self) -> Option<Principal> {
        crate::state::init_args().map(|a| a.hub_id)
    }
    fn is_registered(&self, p: Principal) -> bool {
        crate::state::with(|s| s.is_registered(&p))
    }
    fn is_user_export_reader(&self, p: Principal) -> bool {
        crate::state::with(|s| s.init_args().is_some_and(|a| a.config.user_export_readers().contains(&p)))
    }
}

/// Queries (an update call can also reach them): anyone.
const OPEN: &[&str] = &[
    "get_my_withdrawals",
    "get_my_profile",
    "get_my_progress",
    "get_shard_stats",
    "get_cleanup_status",
    "get_version",
    "get_init_args",
    "http_request",
    "__get_candid_interface_tmp_hack",
];

/// `Ok` to accept the ingress message `method` from `caller`; `Err` says why it is refused.
pub fn check(method: &str, caller: Principal, facts: &impl Facts) -> Result<(), String> {
    match method {
        // The hub calls them inter-canister, which is never inspected, so in practice every
        // ingress to them is refused here.
        "register_user" | "set_disabled" | "apply_config" | "apply_answer_keys" | "set_migration_freeze" | "import_users"
        | "return_cycles_to_hub" => match facts.hub() {
            Some(hub) if hub == caller => Ok(()),
            _ => Err(format!("only the hub may call {method}")),
        },
        // A query; called as an update (replicated) by a reader the DAO named for an archive.
        "export_users" if facts.hub() == Some(caller) || facts.is_user_export_reader(caller) => Ok(()),
        "export_users" => Err("only the hub or a user export reader named by the DAO may call export_users".into()),
        // The learner's own methods: the caller must be a user of this shard.
        "update_profile" | "submit_quiz" | "unstake" | "delete_my_profile" if caller == Principal::anonymous() => {
            Err("the anonymous principal has no profile".into())
        }
        "update_profile" | "submit_quiz" | "unstake" | "delete_my_profile" if facts.is_registered(caller) => Ok(()),
        "update_profile" | "submit_quiz" | "unstake" | "delete_my_profile" => {
            Err(format!("{caller} is not registered on this shard"))
        }
        m if OPEN.contains(&m) => Ok(()),
        _ => Err(format!("unknown method {method}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        hub: Option<Principal>,
        user: Principal,
        reader: Option<Principal>,
    }

    impl Facts for Fake {
        fn hub(&self) -> Option<Principal> {
            self.hub
        }
        fn is_registered(&self, p: Principal) -> bool {
            p == self.user
        }
        fn is_user_export_reader(&self, p: Principal) -> bool {
            self.reader == Some(p)
        }
    }

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    const HUB: u8 = 1;
    const USER: u8 = 2;
    const STRANGER: u8 = 3;

    fn facts() -> Fake {
        Fake { hub: Some(p(HUB)), user: p(USER), reader: None }
    }

    #[test]
    fn hub_methods_admit_only_the_hub() {
        for m in ["register_user", "set_disabled", "apply_config"] {
            assert!(check(m, p(HUB), &facts()).is_ok(), "{m}");
            for who in [p(USER), p(STRANGER), Principal::anonymous()] {
                assert!(check(m, who, &facts()).is_err(), "{m} from {who}");
            }
            assert!(check(m, p(HUB), &Fake { hub: None, user: p(USER), reader: None }).is_err(), "{m} before init");
        }
    }

    #[test]
    fn export_admits_the_hub_and_a_named_reader_and_other_hub_methods_stay_hub_only() {
        const READER: u8 = 4;
        assert!(check("export_users", p(HUB), &facts()).is_ok());
        assert!(check("export_users", p(READER), &facts()).is_err(), "no reader named");
        let named = Fake { reader: Some(p(READER)), ..facts() };
        assert!(check("export_users", p(READER), &named).is_ok());
        for who in [p(USER), p(STRANGER), Principal::anonymous()] {
            assert!(check("export_users", who, &named).is_err(), "export_users from {who}");
        }
        for m in ["import_users", "set_migration_freeze", "return_cycles_to_hub", "register_user", "set_disabled", "apply_config", "apply_answer_keys"] {
            assert!(check(m, p(READER), &named).is_err(), "{m} from a reader");
            assert!(check(m, p(HUB), &named).is_ok(), "{m} from the hub");
        }
    }

    #[test]
    fn learner_methods_admit_only_users_of_this_shard() {
        for m in ["update_profile", "submit_quiz", "unstake", "delete_my_profile"] {
            assert!(check(m, p(USER), &facts()).is_ok(), "{m}");
            for who in [p(STRANGER), p(HUB), Principal::anonymous()] {
                assert!(check(m, who, &facts()).is_err(), "{m} from {who}");
            }
            let anonymous_user = Fake { hub: Some(p(HUB)), user: Principal::anonymous(), reader: None };
            assert!(check(m, Principal::anonymous(), &anonymous_user).is_err(), "{m}: anonymous is refused first");
        }
    }

    #[test]
    fn queries_are_open_and_unknown_methods_refused() {
        for m in ["get_my_profile", "get_shard_stats", "get_cleanup_status", "get_version"] {
            assert!(check(m, Principal::anonymous(), &facts()).is_ok(), "{m}");
        }
        assert!(check("no_such_method", p(HUB), &facts()).is_err());
        assert!(check("register", p(USER), &facts()).is_err(), "the hub's method, not the shard's");
    }

    #[test]
    fn every_method_of_the_interface_is_known() {
        for m in platform_types::candid_check::service_method_names(&crate::__export_service()) {
            let known = [p(HUB), p(USER), p(STRANGER)].iter().any(|who| check(&m, *who, &facts()).is_ok());
            assert!(known, "{m} is in the interface but the ingress filter refuses it from everyone");
        }
    }
}
