//! `icp_ledger`: a local stand-in for DFINITY's ICP ledger, for localnet tests of the hub's
//! refill from ICP. It serves the real ICP ledger Candid for `transfer`, `account_balance`,
//! `transfer_fee` and `query_blocks` (the methods the hub and the CMC use; types in
//! `platform_types::cmc`). What differs from the real ledger is listed in `docs/cmc-local.md`.
//! Test infrastructure, never deployed.

pub mod ledger;

use ledger::Ledger;
use platform_types::cmc::{
    AccountBalanceArgs, GetBlocksArgs, LedgerCanisterPayload, QueryBlocksResponse, Tokens, TransferArgs, TransferFee,
    TransferFeeArg, TransferResult,
};
use std::cell::RefCell;

pub const CANISTER_NAME: &str = "icp_ledger";

thread_local! {
    static LEDGER: RefCell<Option<Ledger>> = const { RefCell::new(None) };
}

fn with<R>(f: impl FnOnce(&mut Ledger) -> R) -> R {
    LEDGER.with_borrow_mut(|l| f(l.as_mut().expect("the ledger is initialised")))
}

#[ic_cdk::init]
fn init(payload: LedgerCanisterPayload) {
    let LedgerCanisterPayload::Init(args) = payload else {
        ic_cdk::trap("icp_ledger init: expected Init, got Upgrade");
    };
    let ledger = Ledger::new(&args, ic_cdk::api::time()).unwrap_or_else(|e| ic_cdk::trap(format!("icp_ledger init: {e}")));
    LEDGER.set(Some(ledger));
}

#[ic_cdk::pre_upgrade]
fn pre_upgrade() {
    LEDGER
        .with_borrow(|l| ic_cdk::storage::stable_save((l,)))
        .unwrap_or_else(|e| ic_cdk::trap(format!("saving the ledger: {e}")));
}

/// The upgrade argument (`Upgrade`) is accepted and ignored.
#[ic_cdk::post_upgrade]
fn post_upgrade(_: LedgerCanisterPayload) {
    let (ledger,): (Option<Ledger>,) =
        ic_cdk::storage::stable_restore().unwrap_or_else(|e| ic_cdk::trap(format!("restoring the ledger: {e}")));
    LEDGER.set(ledger);
}

#[ic_cdk::update]
fn transfer(args: TransferArgs) -> TransferResult {
    let caller = ic_cdk::api::msg_caller();
    with(|l| l.transfer(caller, &args, ic_cdk::api::time()))
}

#[ic_cdk::query]
fn account_balance(args: AccountBalanceArgs) -> Tokens {
    with(|l| Tokens::from_e8s(l.balance(&args.account)))
}

#[ic_cdk::query]
fn transfer_fee(_: TransferFeeArg) -> TransferFee {
    with(|l| TransferFee { transfer_fee: Tokens::from_e8s(l.fee_e8s()) })
}

/// Every block stays in the ledger (no archives) and there is no certificate.
#[ic_cdk::query]
fn query_blocks(args: GetBlocksArgs) -> QueryBlocksResponse {
    with(|l| QueryBlocksResponse {
        chain_length: l.chain_length(),
        certificate: None,
        blocks: l.blocks(args.start, args.length),
        first_block_index: args.start,
        archived_blocks: vec![],
    })
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface {
    use std::path::Path;

    fn reference() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../candid/reference/icp_ledger.did")
    }

    #[test]
    fn matches_committed_did_file() {
        platform_types::candid_check::check_platform_canister(super::CANISTER_NAME, &super::__export_service());
    }

    /// A client of the real ICP ledger interface (for these methods) can call this canister, and
    /// this canister's types can call the real one.
    #[test]
    fn candid_interface_is_compatible_with_the_real_icp_ledger() {
        platform_types::candid_check::check_against_reference(&super::__export_service(), &reference());
    }
}
