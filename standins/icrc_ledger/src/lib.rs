//! `icrc_ledger`: an ICRC-1 / ICRC-2 / ICRC-3 ledger canister for local runs and tests
//! (DFINITY's ledger Wasm cannot be downloaded here; real deployments keep using it).
//! Entry points only; the logic lives in the modules: `ledger` (state and domain logic, plain
//! Rust), `block` (transactions and their ICRC-3 encoding), `account` (stable keys),
//! `certification` (the ICRC-3 tip hash tree), `types` (init/upgrade arguments), `state`.
//!
//! Methods that fail the way DFINITY's ledger traps (memo longer than `max_memo_length`,
//! self-approval, approvals or `transfer_from` mints by the minting account, ICRC-2 methods when
//! ICRC-2 is disabled, an `Init` argument on upgrade) trap here too; everything else returns
//! the standard's error variants.

mod account;
pub mod block;
pub mod certification;
pub mod ledger;
mod state;
pub mod types;

use candid::Nat;
use icrc_ledger_types::icrc::generic_metadata_value::MetadataValue;
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{BlockIndex, NumTokens, TransferArg, TransferError};
use icrc_ledger_types::icrc2::allowance::{Allowance, AllowanceArgs};
use icrc_ledger_types::icrc2::approve::{ApproveArgs, ApproveError};
use icrc_ledger_types::icrc2::transfer_from::{TransferFromArgs, TransferFromError};
use icrc_ledger_types::icrc3::archive::{GetArchivesArgs, GetArchivesResult};
use icrc_ledger_types::icrc3::blocks::{GetBlocksRequest, ICRC3DataCertificate, SupportedBlockType};
use ledger::Failure;
use types::{GetBlocksResult, LedgerArgument, StandardRecord};

pub const CANISTER_NAME: &str = "icrc_ledger";

fn now() -> u64 {
    ic_cdk::api::time()
}

fn caller() -> candid::Principal {
    ic_cdk::api::msg_caller()
}

/// Certifies the tip (ICRC-3 `last_block_index` / `last_block_hash`).
fn certify_tip() {
    if let Some((index, hash)) = state::with(|l| l.last_block()) {
        ic_cdk::api::certified_data_set(certification::root_hash(index, &hash));
    }
}

/// Maps a domain result to the method's reply; certifies the new tip on success.
fn finish<E>(r: Result<u64, Failure<E>>) -> Result<BlockIndex, E> {
    match r {
        Ok(index) => {
            certify_tip();
            Ok(Nat::from(index))
        }
        Err(Failure::Reject(e)) => Err(e),
        Err(Failure::Trap(message)) => ic_cdk::trap(message),
    }
}

#[ic_cdk::init]
fn init(arg: LedgerArgument) {
    match arg {
        LedgerArgument::Init(args) => {
            if let Err(e) = state::with_mut(|l| l.init(args, now())) {
                ic_cdk::trap(format!("invalid init argument: {e}"));
            }
        }
        LedgerArgument::Upgrade(_) => ic_cdk::trap("cannot install the ledger with an Upgrade argument; use Init"),
    }
    certify_tip();
}

#[ic_cdk::post_upgrade]
fn post_upgrade(arg: Option<LedgerArgument>) {
    match arg {
        None | Some(LedgerArgument::Upgrade(None)) => {}
        Some(LedgerArgument::Upgrade(Some(args))) => {
            if let Err(e) = state::with_mut(|l| l.upgrade(args)) {
                ic_cdk::trap(format!("invalid upgrade argument: {e}"));
            }
        }
        Some(LedgerArgument::Init(_)) => ic_cdk::trap("cannot upgrade the ledger with an Init argument; use Upgrade"),
    }
    certify_tip();
}

// ------------------------------------------------------------------ ICRC-1

#[ic_cdk::query]
fn icrc1_name() -> String {
    state::with(|l| l.config().token_name)
}

#[ic_cdk::query]
fn icrc1_symbol() -> String {
    state::with(|l| l.config().token_symbol)
}

#[ic_cdk::query]
fn icrc1_decimals() -> u8 {
    state::with(|l| l.config().decimals)
}

#[ic_cdk::query]
fn icrc1_fee() -> NumTokens {
    state::with(|l| l.config().transfer_fee.into())
}

#[ic_cdk::query]
fn icrc1_metadata() -> Vec<(String, MetadataValue)> {
    state::with(|l| l.metadata())
}

#[ic_cdk::query]
fn icrc1_total_supply() -> NumTokens {
    state::with(|l| l.total_supply().into())
}

#[ic_cdk::query]
fn icrc1_minting_account() -> Option<Account> {
    state::with(|l| Some(l.config().minting_account))
}

#[ic_cdk::query]
fn icrc1_balance_of(account: Account) -> NumTokens {
    state::with(|l| l.balance_of(&account).into())
}

#[ic_cdk::update]
fn icrc1_transfer(arg: TransferArg) -> Result<BlockIndex, TransferError> {
    finish(state::with_mut(|l| l.transfer(caller(), arg, now())))
}

#[ic_cdk::query]
fn icrc1_supported_standards() -> Vec<StandardRecord> {
    state::with(|l| l.supported_standards())
}

// ------------------------------------------------------------------ ICRC-2

#[ic_cdk::update]
fn icrc2_approve(arg: ApproveArgs) -> Result<BlockIndex, ApproveError> {
    finish(state::with_mut(|l| l.approve(caller(), arg, now())))
}

#[ic_cdk::query]
fn icrc2_allowance(arg: AllowanceArgs) -> Allowance {
    state::with(|l| l.allowance(&arg.account, &arg.spender, now()))
}

#[ic_cdk::update]
fn icrc2_transfer_from(arg: TransferFromArgs) -> Result<BlockIndex, TransferFromError> {
    finish(state::with_mut(|l| l.transfer_from(caller(), arg, now())))
}

// ------------------------------------------------------------------ ICRC-3

#[ic_cdk::query]
fn icrc3_get_blocks(args: Vec<GetBlocksRequest>) -> GetBlocksResult {
    state::with(|l| l.get_blocks(&args))
}

/// No archives: every block stays in this canister.
#[ic_cdk::query]
fn icrc3_get_archives(_args: GetArchivesArgs) -> GetArchivesResult {
    vec![]
}

/// The tip certificate: the IC certificate (available in non-replicated queries only, else
/// `null`) and the CBOR hash tree of `last_block_index` / `last_block_hash`. `null` too while
/// the log is empty.
#[ic_cdk::query]
fn icrc3_get_tip_certificate() -> Option<ICRC3DataCertificate> {
    let certificate = ic_cdk::api::data_certificate()?;
    let (index, hash) = state::with(|l| l.last_block())?;
    Some(ICRC3DataCertificate {
        certificate: serde_bytes::ByteBuf::from(certificate),
        hash_tree: serde_bytes::ByteBuf::from(certification::hash_tree_cbor(index, &hash)),
    })
}

#[ic_cdk::query]
fn icrc3_supported_block_types() -> Vec<SupportedBlockType> {
    state::with(|l| l.supported_block_types())
}

// ------------------------------------------------------------------ ICRC-10

#[ic_cdk::query]
fn icrc10_supported_standards() -> Vec<StandardRecord> {
    state::with(|l| l.supported_standards())
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface {
    #[test]
    fn matches_committed_did_file() {
        platform_types::candid_check::check_platform_canister(super::CANISTER_NAME, &super::__export_service());
    }
}
