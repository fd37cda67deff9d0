//! Candid types shared between the platform canisters.
//!
//! The init argument records are deliberately minimal. New fields must be added as `Option<_>`
//! so that existing serialized values (stored in stable memory as Candid) and existing callers
//! keep decoding.

use candid::{CandidType, Principal};
use serde::{Deserialize, Serialize};

pub mod assets;
#[cfg(feature = "candid-check")]
pub mod candid_check;
mod governance;
mod platform;
mod registration;
mod stable_candid;
pub mod sns;
pub mod units;

pub use governance::*;
pub use platform::*;
pub use registration::*;
pub use stable_candid::StableCandid;

/// Init argument of the `staking_hub` canister.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HubInitArgs {
    pub ledger_id: Principal,
    pub learning_content_id: Principal,
    pub sns_governance_id: Principal,
    /// Overrides of the default [`PlatformConfig`] (tests use small shard limits).
    pub config: Option<ConfigOverrides>,    /// Who may register at first. None: [`RegistrationPolicy::closed`] (invite codes, none yet),
    /// so a mainnet hub is closed until SNS governance acts; local deployments pass `Open`.
    pub registration_policy: Option<RegistrationPolicy>,
}

/// Init argument of a `user_profile` shard canister (installed by the hub).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardInitArgs {
    pub hub_id: Principal,
    pub learning_content_id: Principal,
    /// The hub's configuration when it created the shard.
    pub config: PlatformConfig,
    /// The version of `config` (None: 0, before versioned configuration existed).
    pub config_version: Option<u64>,
}

/// Init argument of the `learning_content` canister.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ContentInitArgs {
    pub hub_id: Principal,
    pub sns_governance_id: Principal,
    /// Initial units with their answer keys; later changes come through governance.
    pub units: Vec<UnitInput>,
    /// Pass mark for `verify_quiz`; the platform default when absent.
    pub pass_mark_percent: Option<u8>,
}

/// Answer of every platform canister's `get_version` query.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    /// Canister name, e.g. `staking_hub`.
    pub canister: String,
    /// Crate version the Wasm was built from (`CARGO_PKG_VERSION`).
    pub version: String,
    /// Human-readable summary of the init arguments the canister holds.
    pub init_arg_summary: String,
}

impl HubInitArgs {
    pub fn summary(&self) -> String {
        format!(
            "ledger_id={} learning_content_id={} sns_governance_id={}",
            self.ledger_id, self.learning_content_id, self.sns_governance_id
        )
    }
}

impl ShardInitArgs {
    pub fn summary(&self) -> String {
        format!(
            "hub_id={} learning_content_id={}",
            self.hub_id, self.learning_content_id
        )
    }
}

impl ContentInitArgs {
    pub fn summary(&self) -> String {
        format!(
            "hub_id={} sns_governance_id={}",
            self.hub_id, self.sns_governance_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::{decode_one, encode_one};

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    #[test]
    fn init_args_round_trip_through_candid() {
        let hub = HubInitArgs {
            ledger_id: p(1),
            learning_content_id: p(2),
            sns_governance_id: p(3),
            config: Some(ConfigOverrides { shard_soft_limit: Some(9), ..Default::default() }),
            registration_policy: None,
        };
        let bytes = encode_one(&hub).unwrap();
        assert_eq!(decode_one::<HubInitArgs>(&bytes).unwrap(), hub);

        let shard = ShardInitArgs {
            hub_id: p(4),
            learning_content_id: p(5),
            config: PlatformConfig::default(),
            config_version: Some(3),
        };
        let bytes = encode_one(&shard).unwrap();
        assert_eq!(decode_one::<ShardInitArgs>(&bytes).unwrap(), shard);

        let content = ContentInitArgs {
            hub_id: p(6),
            sns_governance_id: p(7),
            units: vec![],
            pass_mark_percent: Some(70),
        };
        let bytes = encode_one(&content).unwrap();
        assert_eq!(decode_one::<ContentInitArgs>(&bytes).unwrap(), content);
    }

    #[test]
    fn a_record_extended_with_an_option_field_still_decodes_old_bytes() {
        #[derive(CandidType, Deserialize, Debug)]
        struct ShardInitArgsV2 {
            hub_id: Principal,
            learning_content_id: Principal,
            max_users: Option<u64>,
        }
        #[derive(CandidType, Deserialize)]
        struct ShardInitArgsV1 {
            hub_id: Principal,
            learning_content_id: Principal,
        }
        let old = ShardInitArgsV1 {
            hub_id: p(1),
            learning_content_id: p(2),
        };
        let new: ShardInitArgsV2 = decode_one(&encode_one(&old).unwrap()).unwrap();
        assert_eq!(new.hub_id, old.hub_id);
        assert_eq!(new.learning_content_id, old.learning_content_id);
        assert_eq!(new.max_users, None);
    }

    #[test]
    fn summaries_name_every_field() {
        let hub = HubInitArgs {
            ledger_id: p(1),
            learning_content_id: p(2),
            sns_governance_id: p(3),
            config: None,
            registration_policy: None,
        };
        let s = hub.summary();
        assert!(
            s.contains(&p(1).to_text()) && s.contains(&p(3).to_text()),
            "{s}"
        );
        assert!(ContentInitArgs {
            hub_id: p(1),
            sns_governance_id: p(2),
            units: vec![],
            pass_mark_percent: None,
        }
        .summary()
        .starts_with("hub_id="));
    }
}
