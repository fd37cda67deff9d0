//! `cmc`: a local stand-in for DFINITY's cycles minting canister, for localnet tests of the
//! hub's refill from ICP. It serves the real CMC Candid for `notify_top_up` and
//! `get_icp_xdr_conversion_rate` (types in `platform_types::cmc`) and converts at a fixed rate
//! ([`cmc::FIXED_XDR_PERMYRIAD_PER_ICP`]). It cannot mint cycles: it deposits cycles from its
//! own balance, which the test funds. What differs from the real CMC is listed in
//! `docs/cmc-local.md`. Test infrastructure, never deployed.
//!
//! `notify_top_up`, as the real CMC: reads the block from the ICP ledger, checks it is a TPUP
//! transfer to this canister's top-up account for `canister_id`, answers a block notified
//! before from its record, deposits the cycles and burns the ICP, or refunds the ICP (less the
//! fees) to the payer when the cycles cannot be sent (over the hourly limit, no such canister).
//!
//! `create_canister`, as the real CMC: at least 100B cycles attached (else all refunded), the
//! subnet selection checked, the canister created by the selected subnet's management canister
//! with the attached cycles; on success the CMC keeps them, on failure it keeps 100M (the
//! penalty) and refunds the rest with the reply. The real CMC mints the cycles it attaches;
//! this one attaches them from its own balance and takes the caller's in exchange.

pub mod cmc;

use candid::{Nat, Principal};
use cmc::{Begin, Cmc, CreateOn, FIXED_XDR_PERMYRIAD_PER_ICP};
use ic_cdk::call::Call;
use ic_management_canister_types::{CanisterIdRecord, CreateCanisterArgs};
use platform_types::cmc::{
    CmcCanisterSettings, CreateCanisterArg, CreateCanisterError, CreateCanisterResult, BAD_REQUEST_CYCLES_PENALTY,
    CREATE_CANISTER_MIN_CYCLES,
};
use platform_types::cmc::{
    tokens_to_cycles, AccountIdentifier, Block, CyclesCanisterInitPayload, GetBlocksArgs, IcpXdrConversionRate,
    IcpXdrConversionRateResponse, Memo, NotifyError, NotifyTopUpArg, NotifyTopUpResult, QueryBlocksResponse,
    Subaccount, Tokens, TransferArgs, TransferResult, DEFAULT_FEE, NOTIFY_ERROR_FAILED_TO_FETCH_BLOCK,
    NOTIFY_ERROR_INTERNAL, TOP_UP_REFUND_FEE_E8S,
};
use serde_bytes::ByteBuf;
use std::cell::RefCell;

pub const CANISTER_NAME: &str = "cmc";

/// Cycles the stand-in keeps for itself: a top-up that would take its balance below this is
/// answered `Other` (retriable) until someone funds it.
const OWN_RESERVE_CYCLES: u128 = 1_000_000_000_000;

thread_local! {
    static CMC: RefCell<Option<Cmc>> = const { RefCell::new(None) };
}

fn with<R>(f: impl FnOnce(&mut Cmc) -> R) -> R {
    CMC.with_borrow_mut(|c| f(c.as_mut().expect("the CMC is initialised")))
}

/// `ledger_canister_id` is required; `minting_account_id` (hex) is where converted ICP is
/// burned. The other fields are accepted and ignored.
#[ic_cdk::init]
fn init(payload: Option<CyclesCanisterInitPayload>) {
    let payload = payload.unwrap_or_default();
    let ledger = payload.ledger_canister_id.unwrap_or_else(|| ic_cdk::trap("cmc init: ledger_canister_id is required"));
    let minting = payload.minting_account_id.map(|hex| {
        AccountIdentifier::from_hex(&hex).unwrap_or_else(|e| ic_cdk::trap(format!("cmc init: minting_account_id: {e}")))
    });
    CMC.set(Some(Cmc::new(ledger, minting)));
}

#[ic_cdk::pre_upgrade]
fn pre_upgrade() {
    CMC.with_borrow(|c| ic_cdk::storage::stable_save((c,))).unwrap_or_else(|e| ic_cdk::trap(format!("saving: {e}")));
}

#[ic_cdk::post_upgrade]
fn post_upgrade(_: Option<CyclesCanisterInitPayload>) {
    let (cmc,): (Option<Cmc>,) =
        ic_cdk::storage::stable_restore().unwrap_or_else(|e| ic_cdk::trap(format!("restoring: {e}")));
    CMC.set(cmc);
}

#[ic_cdk::update]
async fn notify_top_up(arg: NotifyTopUpArg) -> NotifyTopUpResult {
    let ledger = with(|c| c.ledger);
    let block = fetch_block(ledger, arg.block_index).await?;
    let me = ic_cdk::api::canister_self();
    let (payer, amount) = cmc::top_up_payment(arg.block_index, block.as_ref(), me, arg.canister_id)?;
    // Re-read after the await: another request may have started (or finished) this block.
    if let Begin::Answer(answer) = with(|c| c.begin(arg.block_index)) {
        return answer;
    }
    let result = process_top_up(arg.canister_id, payer, amount).await;
    with(|c| c.finish(arg.block_index, &result));
    result
}

async fn process_top_up(canister: Principal, payer: AccountIdentifier, amount: Tokens) -> NotifyTopUpResult {
    let cycles = tokens_to_cycles(amount.e8s(), FIXED_XDR_PERMYRIAD_PER_ICP);
    let now = ic_cdk::api::time();
    if let Err(reason) = with(|c| c.reserve_cycles(now, cycles)) {
        return Err(refund(canister, payer, amount, reason).await);
    }
    // The real CMC mints; this one pays from its balance, and says so when that is too low.
    if ic_cdk::api::canister_cycle_balance() < cycles.saturating_add(OWN_RESERVE_CYCLES) {
        with(|c| c.release_cycles(now, cycles));
        return Err(NotifyError::Other {
            error_code: NOTIFY_ERROR_INTERNAL,
            error_message: format!("the local CMC holds too few cycles to send {cycles}: fund it and notify again"),
        });
    }
    let deposit = Call::unbounded_wait(Principal::management_canister(), "deposit_cycles")
        .with_arg(CanisterIdRecord { canister_id: canister })
        .with_cycles(cycles)
        .await;
    match deposit {
        Ok(_) => {
            burn(canister, amount.e8s()).await;
            Ok(Nat::from(cycles))
        }
        Err(e) => {
            with(|c| c.release_cycles(now, cycles));
            Err(refund(canister, payer, amount, format!("deposit_cycles failed: {e}")).await)
        }
    }
}

/// Sends the payment back to the payer, less the ledger fee and the refund fee (burned). A
/// refund the ledger does not make is `Other` (retriable), as on the real CMC.
async fn refund(canister: Principal, payer: AccountIdentifier, amount: Tokens, reason: String) -> NotifyError {
    let Some(back) = cmc::refund_amount(amount.e8s(), DEFAULT_FEE.e8s()) else {
        burn(canister, amount.e8s()).await;
        return NotifyError::Refunded { reason, block_index: None };
    };
    let args = TransferArgs {
        memo: Memo(0),
        amount: Tokens::from_e8s(back),
        fee: DEFAULT_FEE,
        from_subaccount: Some(Subaccount::from(canister)),
        to: payer,
        created_at_time: None,
    };
    match ledger_transfer(&args).await {
        Ok(block) => {
            burn(canister, TOP_UP_REFUND_FEE_E8S).await;
            NotifyError::Refunded { reason, block_index: Some(block) }
        }
        Err(e) => NotifyError::Other { error_code: NOTIFY_ERROR_INTERNAL, error_message: format!("refund failed: {e}") },
    }
}

/// Burns converted ICP (a transfer to the minting account, no fee); like the real CMC, a
/// failure is only logged, so it never fails the notification.
async fn burn(canister: Principal, e8s: u64) {
    let Some(minting) = with(|c| c.minting_account) else { return };
    let args = TransferArgs {
        memo: Memo(0),
        amount: Tokens::from_e8s(e8s),
        fee: Tokens::from_e8s(0),
        from_subaccount: Some(Subaccount::from(canister)),
        to: minting,
        created_at_time: None,
    };
    if let Err(e) = ledger_transfer(&args).await {
        ic_cdk::println!("cmc: burning {e8s} e8s of {canister}'s top-up failed: {e}");
    }
}

async fn ledger_transfer(args: &TransferArgs) -> Result<u64, String> {
    let ledger = with(|c| c.ledger);
    let reply = Call::unbounded_wait(ledger, "transfer").with_arg(args).await.map_err(|e| format!("transfer: {e}"))?;
    let result: TransferResult = reply.candid().map_err(|e| format!("transfer reply: {e}"))?;
    result.map_err(|e| format!("transfer refused: {e}"))
}

/// Creates a canister with the cycles attached, on the selected subnet (see the crate docs).
#[ic_cdk::update]
async fn create_canister(arg: CreateCanisterArg) -> CreateCanisterResult {
    let cycles = ic_cdk::api::msg_cycles_available();
    let refunded = |refund: u128, create_error: String| CreateCanisterError::Refunded {
        refund_amount: Nat::from(refund),
        create_error,
    };
    if cycles < CREATE_CANISTER_MIN_CYCLES {
        return Err(refunded(cycles, "Insufficient cycles attached.".into()));
    }
    let selection = cmc::subnet_selection(arg.subnet_type, arg.subnet_selection).map_err(|e| refunded(cycles, e))?;
    // Only the stand-in's own limitation: the real CMC mints what it attaches.
    if ic_cdk::api::canister_cycle_balance() < cycles.saturating_add(OWN_RESERVE_CYCLES) {
        return Err(refunded(
            cycles,
            format!("the local CMC holds too few cycles to attach {cycles}: fund it and call again"),
        ));
    }
    match create_with(selection, arg.settings, ic_cdk::api::msg_caller(), cycles).await {
        Ok(canister_id) => {
            ic_cdk::api::msg_cycles_accept(cycles);
            Ok(canister_id)
        }
        Err(create_error) => {
            ic_cdk::api::msg_cycles_accept(BAD_REQUEST_CYCLES_PENALTY);
            Err(refunded(ic_cdk::api::msg_cycles_available(), create_error))
        }
    }
}

async fn create_with(
    selection: Option<platform_types::cmc::SubnetSelection>,
    settings: Option<CmcCanisterSettings>,
    caller: Principal,
    cycles: u128,
) -> Result<Principal, String> {
    let management = match cmc::create_on(selection)? {
        CreateOn::OwnSubnet => Principal::management_canister(),
        CreateOn::Subnet(subnet) => subnet,
    };
    let args = CreateCanisterArgs { settings: Some(cmc::management_settings(settings, caller)), sender_canister_version: None };
    let reply = Call::unbounded_wait(management, "create_canister")
        .with_arg(args)
        .with_cycles(cycles)
        .await
        .map_err(|e| format!("Creating a canister on {management} failed: {e}"))?;
    let created: CanisterIdRecord = reply.candid().map_err(|e| format!("create_canister reply: {e}"))?;
    Ok(created.canister_id)
}

/// The block from the ledger (`query_blocks`; this ledger keeps every block, no archives).
async fn fetch_block(ledger: Principal, index: u64) -> Result<Option<Block>, NotifyError> {
    let failed = |e: String| NotifyError::Other { error_code: NOTIFY_ERROR_FAILED_TO_FETCH_BLOCK, error_message: e };
    let reply = Call::bounded_wait(ledger, "query_blocks")
        .with_arg(GetBlocksArgs { start: index, length: 1 })
        .await
        .map_err(|e| failed(format!("Failed to fetch block: {e}")))?;
    let response: QueryBlocksResponse = reply.candid().map_err(|e| failed(format!("query_blocks reply: {e}")))?;
    Ok(response.blocks.into_iter().next().filter(|_| response.first_block_index == index))
}

/// The fixed rate, timestamped now; no certificate or hash tree (empty blobs).
#[ic_cdk::query]
fn get_icp_xdr_conversion_rate() -> IcpXdrConversionRateResponse {
    IcpXdrConversionRateResponse {
        data: IcpXdrConversionRate {
            timestamp_seconds: ic_cdk::api::time() / 1_000_000_000,
            xdr_permyriad_per_icp: FIXED_XDR_PERMYRIAD_PER_ICP,
        },
        hash_tree: ByteBuf::new(),
        certificate: ByteBuf::new(),
    }
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface {
    use std::path::Path;

    fn reference() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../candid/reference/cmc.did")
    }

    #[test]
    fn matches_committed_did_file() {
        platform_types::candid_check::check_platform_canister(super::CANISTER_NAME, &super::__export_service());
    }

    /// A client of the real CMC interface (for these methods) can call this canister, and this
    /// canister's types can call the real one.
    #[test]
    fn candid_interface_is_compatible_with_the_real_cmc() {
        platform_types::candid_check::check_against_reference(&super::__export_service(), &reference());
    }
}
