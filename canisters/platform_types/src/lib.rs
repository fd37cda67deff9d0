//! Candid types shared between the platform canisters.
//!
//! The init argument records are deliberately minimal. New fields must be added as `Option<_>`
//! so that existing serialized values (stored in stable memory as Candid) and existing callers
//! keep decoding.

use candid::{CandidType, Principal};
use serde::{Deserialize, Serialize};

pub mod answer_keys;
pub mod assets;
mod cleanup;
#[cfg(feature = "cmc")]
pub mod cmc;
#[cfg(feature = "candid-check")]
pub mod candid_check;
mod cycles;
mod governance;
pub mod icp_refill;
pub mod http;
mod migration;
#[cfg(feature = "metrics")]
pub mod metrics;
mod platform;
mod registration;
pub mod reply_encoding;
mod restore;
mod stable_candid;
pub mod sns;
pub mod units;

#[cfg(test)]
mod proptests;

pub use cleanup::*;
pub use cycles::*;
pub use governance::*;
pub use migration::*;
pub use platform::*;
pub use registration::*;
pub use restore::*;
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
    /// The ICP ledger and CMC for the hub's refill from ICP. None: DFINITY's on the IC
    /// (`icp_refill::IcpRefillIds`); local networks pass their stand-ins.
    pub icp_refill: Option<icp_refill::IcpRefillIds>,
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
    /// Hex sha256 of the module the hub installs with these arguments (its `get_version`
    /// reports it). Only meaningful until the next upgrade, which passes [`ShardUpgradeArgs`].
    pub module_hash: Option<String>,
}

/// Upgrade argument of a shard (`opt ShardUpgradeArgs`; none or empty arguments: nothing new).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct ShardUpgradeArgs {
    /// Hex sha256 of the module the hub installs by this upgrade.
    pub module_hash: Option<String>,
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
    /// The git commit the Wasm was built from (`unknown` when built outside a git checkout
    /// without `GIT_COMMIT`). `None` only from builds older than this field.
    pub git_commit: Option<String>,
    /// The build's time for a reproducible build: the commit's time (or `SOURCE_DATE_EPOCH`),
    /// in seconds since the epoch, never the wall clock of the build machine.
    pub commit_time_secs: Option<u64>,
    /// Hex sha256 of this canister's module as installed (what `canister_status` and
    /// `dfx canister info` show), where the canister knows it: a shard is told by the hub that
    /// installed it. `None`: not known here; read it from the IC.
    pub module_hash: Option<String>,
    /// The hub only: hex sha256 of the embedded user_profile shard Wasm (`get_shard_wasm_hash`).
    pub shard_wasm_hash: Option<String>,
}

impl VersionInfo {
    /// The build facts of a canister crate: `git_commit` and `commit_time_secs` are the crate's
    /// `BUILD_GIT_COMMIT` and `BUILD_COMMIT_TIME_SECS` (set by canisters/build_facts).
    pub fn from_build(canister: &str, version: &str, git_commit: &str, commit_time_secs: &str, init_arg_summary: String) -> Self {
        VersionInfo {
            canister: canister.to_string(),
            version: version.to_string(),
            init_arg_summary,
            git_commit: Some(git_commit.to_string()),
            commit_time_secs: commit_time_secs.parse().ok(),
            module_hash: None,
            shard_wasm_hash: None,
        }
    }
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
            icp_refill: None,
        };
        let bytes = encode_one(&hub).unwrap();
        assert_eq!(decode_one::<HubInitArgs>(&bytes).unwrap(), hub);

        let shard = ShardInitArgs {
            hub_id: p(4),
            learning_content_id: p(5),
            config: PlatformConfig::default(),
            config_version: Some(3),
            module_hash: None,
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
            icp_refill: None,
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
