//! The cycles minting canister (CMC) and the ICP ledger: the Candid types of the subset the hub's
//! ICP refill uses (`notify_top_up`, `get_icp_xdr_conversion_rate`; the ledger's `transfer`,
//! `account_balance`, `transfer_fee`, `query_blocks`), used by the hub and by the local
//! stand-ins (`standins/cmc`, `standins/icp_ledger`).
//!
//! Names and types mirror DFINITY's `rs/nns/cmc/cmc.did` and `rs/ledger_suite/icp/ledger.did`
//! (trimmed copies in `candid/reference/`; the stand-ins' tests check their interfaces against
//! them both ways). The ledger's request and account types come from the `ic-ledger-types` crate
//! (`AccountIdentifier`, `Subaccount`, `Memo`, `Tokens`, `TransferArgs`, ...). Its block types
//! are defined here instead: the crate's `Operation` has a case (`TransferFrom`) and lacks fields
//! (`spender`, `allowance`, ...) that the ledger's current interface does not have or has.

use candid::{CandidType, Int, Nat, Principal};
pub use ic_ledger_types::{
    AccountBalanceArgs, AccountIdentifier, BlockIndex, GetBlocksArgs, Memo, Subaccount, Timestamp, Tokens,
    TransferArgs, TransferError, TransferResult, DEFAULT_FEE, DEFAULT_SUBACCOUNT, MAINNET_CYCLES_MINTING_CANISTER_ID,
    MAINNET_LEDGER_CANISTER_ID,
};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The memo of an ICP transfer that pays for a canister top-up: "TPUP" as a little-endian u64
/// (0x50555054), the CMC's `MEMO_TOP_UP_CANISTER`.
pub const MEMO_TOP_UP_CANISTER: u64 = 0x5055_5054;
/// 1 XDR buys 10^12 cycles (the CMC's `DEFAULT_CYCLES_PER_XDR`).
pub const CYCLES_PER_XDR: u128 = 1_000_000_000_000;
/// What the CMC keeps of a refunded top-up besides the ledger fee: twice the transfer fee (its
/// `TOP_UP_CANISTER_REFUND_FEE`), burned.
pub const TOP_UP_REFUND_FEE_E8S: u64 = 2 * 10_000;

/// The account at the CMC that pays for top-ups of `canister`: the CMC's principal with the
/// canister's principal as subaccount (`Subaccount::from(&canister_id)`, as the CMC checks it).
pub fn top_up_account(cmc: Principal, canister: Principal) -> AccountIdentifier {
    AccountIdentifier::new(&cmc, &Subaccount::from(canister))
}

/// Cycles for `e8s` ICP at `xdr_permyriad_per_icp` (10,000ths of an XDR per ICP), as the CMC
/// converts: e8s × rate × 10^12 / (10^4 × 10^8), so 1 e8 buys `xdr_permyriad_per_icp` cycles.
pub fn tokens_to_cycles(e8s: u64, xdr_permyriad_per_icp: u64) -> u128 {
    (e8s as u128) * (xdr_permyriad_per_icp as u128) * CYCLES_PER_XDR / (10_000 * 100_000_000)
}

// ------------------------------------------------------------------ CMC

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NotifyTopUpArg {
    /// The ICP ledger block of the payment.
    pub block_index: BlockIndex,
    /// The canister to top up.
    pub canister_id: Principal,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum NotifyError {
    /// Not retriable: the payment was returned (minus fees) to the account that paid, in
    /// `block_index`.
    Refunded { reason: String, block_index: Option<BlockIndex> },
    /// Retriable: a concurrent request is processing the same payment.
    Processing,
    /// Not retriable: the block is older than the oldest one the CMC still processes (given).
    TransactionTooOld(BlockIndex),
    /// Not retriable: the block is no top-up payment for this canister.
    InvalidTransaction(String),
    /// Retriable (e.g. the ledger could not be read).
    Other { error_code: u64, error_message: String },
}

/// `Ok`: the cycles sent to the canister.
pub type NotifyTopUpResult = Result<Nat, NotifyError>;

/// The CMC's `NotifyErrorCode` values this project uses in `NotifyError::Other`.
pub const NOTIFY_ERROR_INTERNAL: u64 = 1;
pub const NOTIFY_ERROR_FAILED_TO_FETCH_BLOCK: u64 = 2;

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IcpXdrConversionRate {
    pub timestamp_seconds: u64,
    /// 10,000ths of an XDR per ICP.
    pub xdr_permyriad_per_icp: u64,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IcpXdrConversionRateResponse {
    pub data: IcpXdrConversionRate,
    pub hash_tree: ByteBuf,
    pub certificate: ByteBuf,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ExchangeRateCanister {
    Set(Principal),
    Unset,
}

/// The CMC's init argument (`opt CyclesCanisterInitPayload`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct CyclesCanisterInitPayload {
    pub ledger_canister_id: Option<Principal>,
    pub governance_canister_id: Option<Principal>,
    /// Hex text of the ledger's minting account (where the CMC burns the ICP it converted).
    pub minting_account_id: Option<String>,
    pub last_purged_notification: Option<u64>,
    pub exchange_rate_canister: Option<ExchangeRateCanister>,
    pub cycles_ledger_canister_id: Option<Principal>,
}

// ------------------------------------------------------------------ CMC create_canister

/// `create_canister` refuses outright a call with fewer cycles attached (the CMC's
/// `CREATE_CANISTER_MIN_CYCLES`, refunded in full).
pub const CREATE_CANISTER_MIN_CYCLES: u128 = 100_000_000_000;
/// What the CMC keeps of the attached cycles when a creation it attempted fails (its
/// `BAD_REQUEST_CYCLES_PENALTY`); the rest is refunded.
pub const BAD_REQUEST_CYCLES_PENALTY: u128 = 100_000_000;

/// The CMC's `log_visibility` (no `allowed_viewers` case in its interface).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CmcLogVisibility {
    #[serde(rename = "controllers")]
    Controllers,
    #[serde(rename = "public")]
    Public,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CmcEnvironmentVariable {
    pub name: String,
    pub value: String,
}

/// The settings `create_canister` applies to the new canister (the CMC's `CanisterSettings`);
/// without controllers the caller controls it.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct CmcCanisterSettings {
    pub controllers: Option<Vec<Principal>>,
    pub compute_allocation: Option<Nat>,
    pub memory_allocation: Option<Nat>,
    pub freezing_threshold: Option<Nat>,
    pub reserved_cycles_limit: Option<Nat>,
    pub log_visibility: Option<CmcLogVisibility>,
    pub wasm_memory_limit: Option<Nat>,
    pub wasm_memory_threshold: Option<Nat>,
    pub environment_variables: Option<Vec<CmcEnvironmentVariable>>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct SubnetFilter {
    pub subnet_type: Option<String>,
}

/// Where `create_canister` creates: a given subnet, or one that fits a filter.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum SubnetSelection {
    Subnet { subnet: Principal },
    Filter(SubnetFilter),
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct CreateCanisterArg {
    pub settings: Option<CmcCanisterSettings>,
    /// Deprecated in favour of `subnet_selection`; both at once are refused.
    pub subnet_type: Option<String>,
    pub subnet_selection: Option<SubnetSelection>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CreateCanisterError {
    /// The creation failed; `refund_amount` cycles went back to the caller with the reply.
    Refunded { refund_amount: Nat, create_error: String },
}

pub type CreateCanisterResult = Result<Principal, CreateCanisterError>;

// ------------------------------------------------------------------ ICP ledger blocks

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    Mint {
        to: AccountIdentifier,
        amount: Tokens,
    },
    Burn {
        from: AccountIdentifier,
        spender: Option<AccountIdentifier>,
        amount: Tokens,
    },
    Transfer {
        from: AccountIdentifier,
        to: AccountIdentifier,
        amount: Tokens,
        fee: Tokens,
        spender: Option<ByteBuf>,
    },
    Approve {
        from: AccountIdentifier,
        spender: AccountIdentifier,
        allowance_e8s: Int,
        allowance: Tokens,
        fee: Tokens,
        expires_at: Option<Timestamp>,
        expected_allowance: Option<Tokens>,
    },
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub memo: Memo,
    pub icrc1_memo: Option<ByteBuf>,
    pub operation: Option<Operation>,
    pub created_at_time: Timestamp,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub parent_hash: Option<ByteBuf>,
    pub transaction: Transaction,
    pub timestamp: Timestamp,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BlockRange {
    pub blocks: Vec<Block>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum QueryArchiveError {
    BadFirstBlockIndex { requested_index: BlockIndex, first_valid_index: BlockIndex },
    Other { error_code: u64, error_message: String },
}

pub type QueryArchiveResult = Result<BlockRange, QueryArchiveError>;

candid::define_function!(pub QueryArchiveFn : (GetBlocksArgs) -> (QueryArchiveResult) query);

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct ArchivedBlocksRange {
    pub start: BlockIndex,
    pub length: u64,
    pub callback: QueryArchiveFn,
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct QueryBlocksResponse {
    pub chain_length: u64,
    pub certificate: Option<ByteBuf>,
    pub blocks: Vec<Block>,
    pub first_block_index: BlockIndex,
    pub archived_blocks: Vec<ArchivedBlocksRange>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default)]
pub struct TransferFeeArg {}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TransferFee {
    pub transfer_fee: Tokens,
}

// ------------------------------------------------------------------ ICP ledger init

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub owner: Principal,
    pub subaccount: Option<ByteBuf>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Duration {
    pub secs: u64,
    pub nanos: u32,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ArchiveOptions {
    pub trigger_threshold: u64,
    pub num_blocks_to_archive: u64,
    pub node_max_memory_size_bytes: Option<u64>,
    pub max_message_size_bytes: Option<u64>,
    pub controller_id: Principal,
    pub more_controller_ids: Option<Vec<Principal>>,
    pub cycles_for_archive_creation: Option<u64>,
    pub max_transactions_per_response: Option<u64>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FeatureFlags {
    pub icrc2: bool,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LedgerInitArgs {
    /// Hex text of the minting account: transfers from it mint, transfers to it burn.
    pub minting_account: String,
    pub icrc1_minting_account: Option<Account>,
    /// (hex account identifier, balance) at genesis.
    pub initial_values: Vec<(String, Tokens)>,
    pub max_message_size_bytes: Option<u64>,
    pub transaction_window: Option<Duration>,
    pub archive_options: Option<ArchiveOptions>,
    pub send_whitelist: Vec<Principal>,
    pub transfer_fee: Option<Tokens>,
    pub token_symbol: Option<String>,
    pub token_name: Option<String>,
    pub feature_flags: Option<FeatureFlags>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ChangeArchiveOptions {
    pub trigger_threshold: Option<u64>,
    pub num_blocks_to_archive: Option<u64>,
    pub node_max_memory_size_bytes: Option<u64>,
    pub max_message_size_bytes: Option<u64>,
    pub controller_id: Option<Principal>,
    pub more_controller_ids: Option<Vec<Principal>>,
    pub cycles_for_archive_creation: Option<u64>,
    pub max_transactions_per_response: Option<u64>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LedgerUpgradeArgs {
    pub icrc1_minting_account: Option<Account>,
    pub feature_flags: Option<FeatureFlags>,
    pub change_archive_options: Option<ChangeArchiveOptions>,
}

/// The ICP ledger's install argument.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum LedgerCanisterPayload {
    Init(LedgerInitArgs),
    Upgrade(Option<LedgerUpgradeArgs>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_up_memo_is_tpup() {
        assert_eq!(MEMO_TOP_UP_CANISTER.to_le_bytes()[..4], *b"TPUP");
        assert_eq!(MEMO_TOP_UP_CANISTER, 1_347_768_404);
    }

    #[test]
    fn one_e8_buys_the_permyriad_rate_in_cycles() {
        // 1 ICP at 3.5 XDR: 3.5 T cycles.
        assert_eq!(tokens_to_cycles(100_000_000, 35_000), 3_500_000_000_000);
        assert_eq!(tokens_to_cycles(7, 35_000), 7 * 35_000);
        assert_eq!(tokens_to_cycles(0, 35_000), 0);
    }

    #[test]
    fn the_top_up_account_depends_on_the_canister() {
        let cmc = MAINNET_CYCLES_MINTING_CANISTER_ID;
        let a = Principal::from_slice(&[1; 10]);
        let b = Principal::from_slice(&[2; 10]);
        assert_ne!(top_up_account(cmc, a), top_up_account(cmc, b));
        assert_eq!(top_up_account(cmc, a), AccountIdentifier::new(&cmc, &Subaccount::from(a)));
        assert_eq!(cmc.to_text(), "rkp4c-7iaaa-aaaaa-aaaca-cai");
        assert_eq!(MAINNET_LEDGER_CANISTER_ID.to_text(), "ryjl3-tyaaa-aaaaa-aaaba-cai");
    }
}
