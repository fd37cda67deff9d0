//! The root state and its rules, in plain Rust (unit-tested natively): which canisters belong
//! to the SNS, who may call, which canisters may be registered, which settings a
//! `manage_dapp_canister_settings` request gives to which canisters.

use candid::{CandidType, Nat, Principal};
use ic_management_canister_types::{CanisterSettings, LogVisibility};
use platform_types::sns::root::*;
use serde::Deserialize;

/// At most this many registered dapp canisters (the real SNS counts extensions too).
pub const MAX_DAPP_CANISTERS: usize = 100;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Root {
    pub root: Principal,
    pub governance: Principal,
    pub ledger: Option<Principal>,
    pub swap: Option<Principal>,
    pub index: Option<Principal>,
    pub archives: Vec<Principal>,
    /// Registered dapp canisters, in registration order.
    pub dapps: Vec<Principal>,
}

impl Root {
    /// `governance_canister_id` is required; the initial dapp canisters are taken as registered.
    pub fn new(init: SnsRootCanister, root: Principal) -> Result<Root, String> {
        let governance = init.governance_canister_id.ok_or("governance_canister_id is required")?;
        let mut r = Root {
            root,
            governance,
            ledger: init.ledger_canister_id,
            swap: init.swap_canister_id,
            index: init.index_canister_id,
            archives: init.archive_canister_ids,
            dapps: Vec::new(),
        };
        let new = r.to_register(&init.dapp_canister_ids)?;
        r.dapps = new;
        Ok(r)
    }

    pub fn check_governance(&self, caller: Principal, method: &str) -> Result<(), String> {
        if caller == self.governance {
            Ok(())
        } else {
            Err(format!(
                "Only the SNS governance canister {} may call {method}; the caller is {caller}",
                self.governance
            ))
        }
    }

    /// The SNS's own canisters (and the management canister): never dapp canisters.
    pub fn framework_canisters(&self) -> Vec<Principal> {
        let mut v = vec![self.root, self.governance, Principal::management_canister()];
        v.extend(self.ledger);
        v.extend(self.swap);
        v.extend(self.index);
        v.extend(self.archives.iter().copied());
        v
    }

    /// The canisters of a registration request that are not registered yet (in order, without
    /// duplicates), or why the request is refused.
    pub fn to_register(&self, ids: &[Principal]) -> Result<Vec<Principal>, String> {
        let framework = self.framework_canisters();
        let mut new: Vec<Principal> = Vec::new();
        for id in ids {
            if framework.contains(id) {
                return Err(format!(
                    "Canister {id} is an SNS framework canister and cannot be registered as a dapp canister"
                ));
            }
            if !self.dapps.contains(id) && !new.contains(id) {
                new.push(*id);
            }
        }
        if self.dapps.len() + new.len() > MAX_DAPP_CANISTERS {
            return Err(format!("At most {MAX_DAPP_CANISTERS} dapp canisters can be registered"));
        }
        Ok(new)
    }

    pub fn add_dapp(&mut self, id: Principal) {
        if !self.dapps.contains(&id) {
            self.dapps.push(id);
        }
    }

    /// What `manage_dapp_canister_settings` does: the canisters (each named once, in order) and
    /// the management canister settings to give each of them, or why the request is refused
    /// (the real root's `failure_reason`). Only registered dapp canisters are accepted; the
    /// controllers are never changed (registration manages them); a setting left out stays as
    /// it is.
    pub fn dapp_settings(
        &self,
        req: &ManageDappCanisterSettingsRequest,
    ) -> Result<(Vec<Principal>, CanisterSettings), String> {
        if req.canister_ids.is_empty() {
            return Err("No canister ids: name at least one registered dapp canister".into());
        }
        let not_dapps: Vec<String> =
            req.canister_ids.iter().filter(|id| !self.dapps.contains(id)).map(|id| id.to_text()).collect();
        if !not_dapps.is_empty() {
            return Err(format!(
                "The following canister IDs are not registered dapp canisters: {}",
                not_dapps.join(", ")
            ));
        }
        let mut canisters: Vec<Principal> = Vec::new();
        for id in &req.canister_ids {
            if !canisters.contains(id) {
                canisters.push(*id);
            }
        }
        let settings = CanisterSettings {
            controllers: None,
            compute_allocation: req.compute_allocation.map(Nat::from),
            memory_allocation: req.memory_allocation.map(Nat::from),
            freezing_threshold: req.freezing_threshold.map(Nat::from),
            reserved_cycles_limit: req.reserved_cycles_limit.map(Nat::from),
            log_visibility: log_visibility(req.log_visibility)?,
            wasm_memory_limit: req.wasm_memory_limit.map(Nat::from),
            wasm_memory_threshold: req.wasm_memory_threshold.map(Nat::from),
            ..Default::default()
        };
        if settings == CanisterSettings::default() {
            return Err("No setting to change: give at least one".into());
        }
        Ok((canisters, settings))
    }

    pub fn list(&self) -> ListSnsCanistersResponse {
        ListSnsCanistersResponse {
            root: Some(self.root),
            swap: self.swap,
            ledger: self.ledger,
            index: self.index,
            governance: Some(self.governance),
            dapps: self.dapps.clone(),
            extensions: Some(Extensions { extension_canister_ids: vec![] }),
            archives: self.archives.clone(),
        }
    }
}

/// The management canister's log visibility for the SNS's `int32` (`LogVisibility` of the SNS
/// protos): 1 controllers, 2 public; absent or 0 (unspecified) leaves it as it is. The real root
/// silently ignores unknown values; the local one refuses them, so a proposal never claims a
/// change it does not make.
pub fn log_visibility(code: Option<i32>) -> Result<Option<LogVisibility>, String> {
    match code {
        None | Some(0) => Ok(None),
        Some(1) => Ok(Some(LogVisibility::Controllers)),
        Some(2) => Ok(Some(LogVisibility::Public)),
        Some(other) => Err(format!("log_visibility {other} is not a log visibility (1 controllers, 2 public)")),
    }
}

/// The management canister's install mode for root's.
pub fn management_mode(m: CanisterInstallMode) -> ic_management_canister_types::CanisterInstallMode {
    use ic_management_canister_types::CanisterInstallMode as M;
    match m {
        CanisterInstallMode::Install => M::Install,
        CanisterInstallMode::Reinstall => M::Reinstall,
        CanisterInstallMode::Upgrade => M::Upgrade(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    fn root() -> Root {
        Root::new(
            SnsRootCanister {
                dapp_canister_ids: vec![p(10), p(11), p(10)],
                archive_canister_ids: vec![p(5)],
                governance_canister_id: Some(p(2)),
                index_canister_id: None,
                swap_canister_id: Some(p(4)),
                ledger_canister_id: Some(p(3)),
            },
            p(1),
        )
        .unwrap()
    }

    #[test]
    fn init_needs_governance_and_takes_the_dapps() {
        let r = root();
        assert_eq!(r.dapps, vec![p(10), p(11)]);
        assert!(Root::new(SnsRootCanister::default(), p(1)).is_err());
        let framework =
            SnsRootCanister { dapp_canister_ids: vec![p(2)], governance_canister_id: Some(p(2)), ..Default::default() };
        assert!(Root::new(framework, p(1)).is_err());
    }

    #[test]
    fn only_governance_may_call() {
        let r = root();
        assert!(r.check_governance(p(2), "change_canister").is_ok());
        assert!(r.check_governance(p(9), "change_canister").unwrap_err().contains("Only the SNS governance"));
    }

    #[test]
    fn registration_skips_known_dapps_and_refuses_framework_canisters() {
        let mut r = root();
        assert_eq!(r.to_register(&[p(10), p(12), p(12), p(13)]).unwrap(), vec![p(12), p(13)]);
        for framework in [p(1), p(2), p(3), p(4), p(5), Principal::management_canister()] {
            assert!(r.to_register(&[framework]).is_err(), "{framework}");
        }
        r.add_dapp(p(12));
        r.add_dapp(p(12));
        assert_eq!(r.dapps, vec![p(10), p(11), p(12)]);
        let many: Vec<Principal> = (0..98u32).map(|i| Principal::from_slice(&i.to_be_bytes())).collect();
        assert!(r.to_register(&many).unwrap_err().contains("At most 100"));
        assert_eq!(r.to_register(&many[..97]).unwrap().len(), 97);
    }

    #[test]
    fn dapp_settings_apply_the_given_settings_to_registered_dapps_only() {
        let r = root();
        let req = ManageDappCanisterSettingsRequest {
            canister_ids: vec![p(11), p(10), p(11)],
            log_visibility: Some(2),
            freezing_threshold: Some(2_592_000),
            ..Default::default()
        };
        let (canisters, settings) = r.dapp_settings(&req).unwrap();
        assert_eq!(canisters, vec![p(11), p(10)], "each canister once, in order");
        assert_eq!(
            settings,
            CanisterSettings {
                log_visibility: Some(LogVisibility::Public),
                freezing_threshold: Some(Nat::from(2_592_000u64)),
                ..Default::default()
            },
            "the other settings (and the controllers) are left as they are"
        );
        let every = ManageDappCanisterSettingsRequest {
            canister_ids: vec![p(10)],
            freezing_threshold: Some(1),
            reserved_cycles_limit: Some(2),
            log_visibility: Some(1),
            wasm_memory_limit: Some(3),
            memory_allocation: Some(4),
            compute_allocation: Some(5),
            wasm_memory_threshold: Some(6),
        };
        let (_, s) = r.dapp_settings(&every).unwrap();
        assert_eq!(s.controllers, None);
        assert_eq!(s.log_visibility, Some(LogVisibility::Controllers));
        let n = |v: u64| Some(Nat::from(v));
        assert_eq!(
            (s.freezing_threshold, s.reserved_cycles_limit, s.wasm_memory_limit, s.memory_allocation),
            (n(1), n(2), n(3), n(4))
        );
        assert_eq!((s.compute_allocation, s.wasm_memory_threshold), (n(5), n(6)));
    }

    #[test]
    fn dapp_settings_refusals() {
        let r = root();
        let req = |ids: Vec<Principal>, log: Option<i32>| ManageDappCanisterSettingsRequest {
            canister_ids: ids,
            log_visibility: log,
            ..Default::default()
        };
        let e = r.dapp_settings(&req(vec![p(10), p(12), p(2)], Some(2))).unwrap_err();
        assert!(e.contains("not registered dapp canisters") && e.contains(&p(12).to_text()), "{e}");
        assert!(e.contains(&p(2).to_text()) && !e.contains(&p(10).to_text()), "only the strangers are named: {e}");
        assert!(r.dapp_settings(&req(vec![], Some(2))).unwrap_err().contains("at least one"));
        assert!(r.dapp_settings(&req(vec![p(10)], None)).unwrap_err().contains("No setting"));
        assert!(r.dapp_settings(&req(vec![p(10)], Some(0))).unwrap_err().contains("No setting"), "unspecified");
        assert!(r.dapp_settings(&req(vec![p(10)], Some(3))).unwrap_err().contains("log_visibility 3"));
    }

    #[test]
    fn log_visibility_codes_map_to_the_management_canister() {
        assert_eq!(log_visibility(None), Ok(None));
        assert_eq!(log_visibility(Some(0)), Ok(None));
        assert_eq!(log_visibility(Some(1)), Ok(Some(LogVisibility::Controllers)));
        assert_eq!(log_visibility(Some(2)), Ok(Some(LogVisibility::Public)));
        assert!(log_visibility(Some(-1)).is_err());
    }

    #[test]
    fn the_list_names_every_canister() {
        let l = root().list();
        assert_eq!(
            (l.root, l.governance, l.ledger, l.swap, l.index),
            (Some(p(1)), Some(p(2)), Some(p(3)), Some(p(4)), None)
        );
        assert_eq!((l.dapps, l.archives), (vec![p(10), p(11)], vec![p(5)]));
        assert_eq!(l.extensions, Some(Extensions { extension_canister_ids: vec![] }));
    }

    #[test]
    fn modes_map_to_the_management_canister() {
        use ic_management_canister_types::CanisterInstallMode as M;
        assert_eq!(management_mode(CanisterInstallMode::Install), M::Install);
        assert_eq!(management_mode(CanisterInstallMode::Reinstall), M::Reinstall);
        assert_eq!(management_mode(CanisterInstallMode::Upgrade), M::Upgrade(None));
    }

    #[test]
    fn state_round_trips_through_candid() {
        let r = root();
        assert_eq!(candid::decode_one::<Root>(&candid::encode_one(&r).unwrap()).unwrap(), r);
    }
}
