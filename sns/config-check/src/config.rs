//! Rust mirror of the `sns` CLI's friendly `sns_init.yaml` format
//! (`rs/sns/cli/src/init_config_file/friendly.rs` in dfinity/ic): same keys,
//! same optional/required split, `deny_unknown_fields` everywhere.
//!
//! Mirrors friendly.rs as stored at dfinity/ic 6ed1b1b08032417f00af488d3c7ce4d6f4b53c3e
//! with dfinity/ic PR 1755 (merged 2024-09-30) applied:
//! `Distribution.InitialBalances.treasury` (was `governance`; the old key is now
//! an unknown field, which the CLI refuses). tests/every_key.rs pins every
//! struct's keys and required/optional split to DFINITY's example
//! (tests/fixtures/dfinity_example_key_paths.txt).
//!
//! One deliberate difference (policy): the CLI does not put
//! `deny_unknown_fields` on `NnsProposal`; this mirror does, so a misspelt key
//! there is caught too.

use crate::humanize::{Duration, Percentage, TimeOfDay, Tokens};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsConfigurationFile {
    pub name: String,
    pub description: String,
    /// PNG path, relative to the yaml file.
    pub logo: PathBuf,
    pub url: String,

    /// Aliases; the CLI parses them but does not substitute them yet.
    #[serde(rename = "Principals", default)]
    pub principals: Vec<PrincipalAlias>,

    pub fallback_controller_principals: Vec<String>,
    pub dapp_canisters: Vec<String>,

    #[serde(rename = "Token")]
    pub token: Token,
    #[serde(rename = "Proposals")]
    pub proposals: Proposals,
    #[serde(rename = "Neurons")]
    pub neurons: Neurons,
    #[serde(rename = "Voting")]
    pub voting: Voting,
    #[serde(rename = "Distribution")]
    pub distribution: Distribution,
    #[serde(rename = "Swap")]
    pub swap: Swap,
    #[serde(rename = "NnsProposal")]
    pub nns_proposal: NnsProposal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalAlias {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    pub name: String,
    pub symbol: String,
    pub transaction_fee: Tokens,
    pub logo: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposals {
    pub rejection_fee: Tokens,
    pub initial_voting_period: Duration,
    pub maximum_wait_for_quiet_deadline_extension: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Neurons {
    pub minimum_creation_stake: Tokens,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voting {
    pub minimum_dissolve_delay: Duration,
    #[serde(rename = "MaximumVotingPowerBonuses")]
    pub maximum_voting_power_bonuses: MaximumVotingPowerBonuses,
    #[serde(rename = "RewardRate")]
    pub reward_rate: RewardRate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaximumVotingPowerBonuses {
    /// `duration` is the SNS's maximum dissolve delay.
    #[serde(rename = "DissolveDelay")]
    pub dissolve_delay: Bonus,
    /// `duration` is the neuron age at which the age bonus is maximal.
    #[serde(rename = "Age")]
    pub age: Bonus,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bonus {
    pub duration: Duration,
    pub bonus: Percentage,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardRate {
    pub initial: Percentage,
    #[serde(rename = "final")]
    pub final_: Percentage,
    pub transition_duration: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Distribution {
    #[serde(rename = "Neurons")]
    pub neurons: Vec<Neuron>,
    #[serde(rename = "InitialBalances")]
    pub initial_balances: InitialBalances,
    /// Checksum: treasury + swap + the sum of the neuron stakes.
    pub total: Tokens,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Neuron {
    pub principal: String,
    pub stake: Tokens,
    #[serde(default)]
    pub memo: u64,
    pub dissolve_delay: Duration,
    pub vesting_period: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitialBalances {
    /// The DAO treasury (an account of SNS governance). Named `governance`
    /// before dfinity/ic PR 1755; that key is refused now.
    pub treasury: Tokens,
    /// Sold in the decentralization swap.
    pub swap: Tokens,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Swap {
    pub minimum_participants: u64,

    /// Legacy: parsed, but rejected when converted to a proposal.
    #[serde(default)]
    pub minimum_icp: Option<Tokens>,
    /// Legacy: parsed, but rejected when converted to a proposal.
    #[serde(default)]
    pub maximum_icp: Option<Tokens>,

    #[serde(default)]
    pub minimum_direct_participation_icp: Option<Tokens>,
    #[serde(default)]
    pub maximum_direct_participation_icp: Option<Tokens>,

    pub minimum_participant_icp: Tokens,
    pub maximum_participant_icp: Tokens,

    pub confirmation_text: Option<String>,
    pub restricted_countries: Option<Vec<String>>,

    #[serde(rename = "VestingSchedule")]
    pub vesting_schedule: VestingSchedule,

    #[serde(default)]
    pub start_time: Option<TimeOfDay>,
    pub duration: Duration,

    /// Legacy: parsed, but rejected when converted to a proposal.
    #[serde(default)]
    pub neurons_fund_investment_icp: Option<Tokens>,

    #[serde(default)]
    pub neurons_fund_participation: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VestingSchedule {
    /// Number of neurons in each swap participant's basket.
    pub events: u64,
    /// Dissolve delay step between the basket's neurons.
    pub interval: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NnsProposal {
    pub title: String,
    pub summary: String,
    pub url: Option<String>,
}

/// Parses the yaml text (no semantic checks; see [`crate::validate`]).
pub fn parse(yaml: &str) -> Result<SnsConfigurationFile, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}
