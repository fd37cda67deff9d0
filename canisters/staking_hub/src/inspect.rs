//! Ingress filter (`canister_inspect_message`): refuses, before execution and so before the hub
//! pays for it, ingress that its method would refuse anyway. A cost filter, not a security
//! boundary: it runs on one replica only and not for inter-canister calls, so every method keeps
//! its own caller checks. Queries called as updates and `ensure_capacity` (permissionless by
//! design) are accepted from anyone; unknown method names are refused.

use candid::Principal;

/// What the filter needs from the hub's state, read only when a rule asks for it.
pub trait Facts {
    /// The SNS governance canister in force (`None` before init).
    fn governance(&self) -> Option<Principal>;
    /// Whether `p` is one of the shards this hub created.
    fn is_shard(&self, p: Principal) -> bool;
    /// The learning_content canister (`None` before init).
    fn learning_content(&self) -> Option<Principal>;
}

/// The state of this canister.
pub struct HubState;

impl Facts for HubState {
    fn governance(&self) -> Option<Principal> {
        crate::state::init_args().map(|a| a.sns_governance_id)
    }
    fn is_shard(&self, p: Principal) -> bool {
        crate::state::shard_by_id(p).is_some()
    }
    fn learning_content(&self) -> Option<Principal> {
        crate::state::init_args().map(|a| a.learning_content_id)
    }
}

/// Methods anyone may call, as updates too (the queries, which an update call can also reach).
const OPEN: &[&str] = &[
    "ensure_capacity",
    "get_user_shard",
    "get_global_stats",
    "list_shards",
    "get_config",
    "get_version",
    "get_init_args",
    "get_shard_wasm_hash",
    "get_mint_compaction_status",
    "set_shard_status_validate",
    "update_config_validate",
    "control_shard_rollout_validate",
    "set_registration_policy_validate",
    "get_registration_policy",
    "update_economic_config_validate",
    "set_platform_paused_validate",
    "resolve_withdrawal_validate",
    "get_config_status",
    "get_rollout_status",
    "http_request",
    "get_restore_history",
    "restore_shard_snapshot_validate",
    "get_cycles_report",
    "migrate_shard_validate",
    "get_migration_status",
    // Refill from ICP: permissionless by design (throttled in `refill`).
    "refill_from_icp",
    "get_icp_refill_status",
    "__get_candid_interface_tmp_hack",
];

/// `Ok` to accept the ingress message `method` from `caller`; `Err` says why it is refused.
pub fn check(method: &str, caller: Principal, facts: &impl Facts) -> Result<(), String> {
    match method {
        "register" if caller == Principal::anonymous() => Err("the anonymous principal cannot register".into()),
        "register" => Ok(()),
        // Shard-to-hub methods. Shards call them inter-canister, which is never inspected, so in
        // practice every ingress to them is refused here.
        "request_allowance" | "mint_withdrawal" | "mint_withdrawals" | "request_top_up" if facts.is_shard(caller) => Ok(()),
        "request_allowance" | "mint_withdrawal" | "mint_withdrawals" | "request_top_up" => {
            Err(format!("{caller} is not a shard of this hub"))
        }
        // learning_content calls it inter-canister (never inspected): ingress is refused here.
        "set_answer_keys" => match facts.learning_content() {
            Some(c) if c == caller => Ok(()),
            _ => Err("only learning_content may set the answer keys".into()),
        },
        // Proposal targets. SNS governance calls them inter-canister, which is never inspected,
        // so in practice every ingress to them is refused here (an anonymous governance id means
        // "not set yet": nobody).
        "set_shard_status" | "update_config" | "control_shard_rollout" | "update_economic_config"
        | "set_platform_paused" | "set_registration_policy" | "resolve_withdrawal" | "restore_shard_snapshot"
        | "migrate_shard" => match facts.governance() {
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
        governance: Option<Principal>,
        shard: Principal,
    }

    const CONTENT: u8 = 4;

    impl Facts for Fake {
        fn governance(&self) -> Option<Principal> {
            self.governance
        }
        fn is_shard(&self, p: Principal) -> bool {
            p == self.shard
        }
        fn learning_content(&self) -> Option<Principal> {
            Some(p(CONTENT))
        }
    }

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    const GOV: u8 = 1;
    const SHARD: u8 = 2;
    const LEARNER: u8 = 3;

    fn facts() -> Fake {
        Fake { governance: Some(p(GOV)), shard: p(SHARD) }
    }

    #[test]
    fn register_refuses_only_the_anonymous_principal() {
        assert!(check("register", Principal::anonymous(), &facts()).is_err());
        assert!(check("register", p(LEARNER), &facts()).is_ok());
    }

    #[test]
    fn shard_methods_admit_only_shards() {
        for m in ["request_allowance", "mint_withdrawal", "mint_withdrawals", "request_top_up"] {
            assert!(check(m, p(SHARD), &facts()).is_ok(), "{m}");
            for who in [p(LEARNER), p(GOV), Principal::anonymous()] {
                assert!(check(m, who, &facts()).is_err(), "{m} from {who}");
            }
        }
    }

    #[test]
    fn answer_keys_are_set_only_by_learning_content() {
        assert!(check("set_answer_keys", p(CONTENT), &facts()).is_ok());
        for who in [p(LEARNER), p(GOV), p(SHARD), Principal::anonymous()] {
            assert!(check("set_answer_keys", who, &facts()).is_err(), "{who}");
        }
    }

    #[test]
    fn proposal_targets_admit_only_governance() {
        for m in ["set_shard_status", "update_config", "control_shard_rollout", "set_registration_policy", "resolve_withdrawal"] {
            assert!(check(m, p(GOV), &facts()).is_ok(), "{m}");
            for who in [p(LEARNER), p(SHARD), Principal::anonymous()] {
                assert!(check(m, who, &facts()).is_err(), "{m} from {who}");
            }
            let unset = Fake { governance: Some(Principal::anonymous()), shard: p(SHARD) };
            assert!(check(m, Principal::anonymous(), &unset).is_err(), "{m}: an anonymous governance id admits nobody");
            let uninit = Fake { governance: None, shard: p(SHARD) };
            assert!(check(m, p(GOV), &uninit).is_err(), "{m} before init");
        }
    }

    #[test]
    fn ensure_capacity_and_queries_are_open_and_unknown_methods_refused() {
        for m in ["ensure_capacity", "get_global_stats", "list_shards", "update_config_validate", "refill_from_icp", "get_icp_refill_status"] {
            assert!(check(m, Principal::anonymous(), &facts()).is_ok(), "{m}");
        }
        assert!(check("no_such_method", p(GOV), &facts()).is_err());
        assert!(check("", p(SHARD), &facts()).is_err());
    }

    #[test]
    fn every_method_of_the_interface_is_known() {
        for m in platform_types::candid_check::service_method_names(&crate::__export_service()) {
            // A known method is accepted from someone: governance, a shard or a learner.
            let known = [p(GOV), p(SHARD), p(LEARNER), p(CONTENT)].iter().any(|who| check(&m, *who, &facts()).is_ok());
            assert!(known, "{m} is in the interface but the ingress filter refuses it from everyone");
        }
    }
}
