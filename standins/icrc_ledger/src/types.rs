//! Candid types of the ledger's own interface (init and upgrade arguments, standards list).
//! Everything the ICRC standards define comes from `icrc-ledger-types`.
//!
//! The argument shape follows DFINITY's ICRC-1 ledger (`LedgerArgument = variant { Init; Upgrade }`)
//! so that deploy scripts look the same. Fields of DFINITY's `InitArgs` that this ledger does not
//! have (`archive_options`, `maximum_number_of_accounts`, `index_principal`, ...) may still be
//! sent: Candid ignores record fields the receiver does not declare.

use candid::{CandidType, Nat};
use icrc_ledger_types::icrc::generic_metadata_value::MetadataValue;
use icrc_ledger_types::icrc1::account::Account;
use serde::{Deserialize, Serialize};

/// Install (`Init`) or upgrade (`Upgrade`) argument.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum LedgerArgument {
    Init(InitArgs),
    Upgrade(Option<UpgradeArgs>),
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArgs {
    /// Transfers from this account are mints, transfers to it are burns; it never holds tokens.
    pub minting_account: Account,
    /// When set, transfer fees are credited to this account instead of being burnt
    /// (approve fees are always burnt, as in DFINITY's ledger).
    pub fee_collector_account: Option<Account>,
    pub transfer_fee: Nat,
    /// Default 8.
    pub decimals: Option<u8>,
    /// Default 32 bytes.
    pub max_memo_length: Option<u16>,
    pub token_symbol: String,
    pub token_name: String,
    /// Extra `icrc1_metadata` entries; the keys the ledger itself reports (`icrc1:name`, ...)
    /// are rejected.
    pub metadata: Vec<(String, MetadataValue)>,
    /// Minted at install, one mint block per entry, in this order.
    pub initial_balances: Vec<(Account, Nat)>,
    /// Default: ICRC-2 enabled.
    pub feature_flags: Option<FeatureFlags>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FeatureFlags {
    pub icrc2: bool,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ChangeFeeCollector {
    Unset,
    SetTo(Account),
}

/// Every field is optional: what is absent stays as it was.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradeArgs {
    /// Replaces all extra metadata entries.
    pub metadata: Option<Vec<(String, MetadataValue)>>,
    pub token_symbol: Option<String>,
    pub token_name: Option<String>,
    pub transfer_fee: Option<Nat>,
    pub change_fee_collector: Option<ChangeFeeCollector>,
    /// May only grow (as in DFINITY's ledger): existing blocks must stay valid.
    pub max_memo_length: Option<u16>,
    pub feature_flags: Option<FeatureFlags>,
}

/// An entry of `icrc1_supported_standards` / `icrc10_supported_standards`.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StandardRecord {
    pub name: String,
    pub url: String,
}

candid::define_function!(pub GetBlocksCallback : (Vec<GetBlocksArgs>) -> (GetBlocksResult) query);

/// `icrc3_get_blocks` request range (as `icrc_ledger_types::icrc3::blocks::GetBlocksRequest`).
pub type GetBlocksArgs = icrc_ledger_types::icrc3::blocks::GetBlocksRequest;

// Declared here rather than taken from `icrc-ledger-types` (same Candid structure) so that
// the generated .did names the recursive types readably.
/// The ICRC-3 `icrc3_get_blocks` result. `archived_blocks` is always empty: this ledger keeps
/// every block (no archive canisters).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GetBlocksResult {
    pub log_length: Nat,
    pub blocks: Vec<icrc_ledger_types::icrc3::blocks::BlockWithId>,
    pub archived_blocks: Vec<ArchivedBlocks>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ArchivedBlocks {
    pub args: Vec<GetBlocksArgs>,
    pub callback: GetBlocksCallback,
}
