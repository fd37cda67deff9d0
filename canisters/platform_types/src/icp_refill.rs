//! The staking hub's refill from ICP (see `canisters/staking_hub/src/refill.rs`): the ids it
//! uses, its journal entries and what `get_icp_refill_status` shows.

use candid::{CandidType, Principal};
use serde::{Deserialize, Serialize};

/// The ICP ledger and cycles minting canister the hub converts ICP with. None in the init
/// arguments: DFINITY's on the IC (`ryjl3-tyaaa-aaaaa-aaaba-cai`, `rkp4c-7iaaa-aaaaa-aaaca-cai`);
/// local networks pass their stand-ins.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IcpRefillIds {
    pub icp_ledger_id: Principal,
    pub cmc_id: Principal,
}

/// Where one refill stands. Candid in stable memory: cases may be added, never changed.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RefillState {
    /// The transfer to the CMC's top-up account is sent (or about to be); its outcome is not known.
    Transferring,
    /// The ICP is at the CMC in `block_index`; `notify_top_up` has not answered definitely yet.
    Notifying { block_index: u64 },
    /// Converted: the CMC sent `cycles` to the hub.
    ToppedUp { block_index: u64, cycles: u128 },
    /// The CMC returned the ICP (less its fees) to the hub's account, in `refund_block`.
    Refunded { block_index: u64, reason: String, refund_block: Option<u64> },
    /// The ledger refused the transfer and no attempt of it can have executed: no ICP moved.
    TransferFailed { reason: String },
    /// The CMC will not convert this block (`InvalidTransaction` or `TransactionTooOld`): the ICP
    /// stays at the CMC's top-up account.
    NotifyFailed { block_index: u64, reason: String },
    /// The ledger answered `TxTooOld` to a retry after an attempt whose outcome was never known:
    /// the transfer may or may not be in the ledger (see docs: find its block, notify by hand).
    TransferOutcomeUnknown { reason: String },
}

impl RefillState {
    /// Whether the hub still has something to do for this entry.
    pub fn is_open(&self) -> bool {
        matches!(self, RefillState::Transferring | RefillState::Notifying { .. })
    }
}

/// One refill: the hub's ICP balance moved to the CMC and converted to cycles (a journal
/// entry; Candid in stable memory, fields added later must be `Option`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RefillRecord {
    pub id: u64,
    /// ICP sent to the CMC (the balance less the ledger fee).
    pub amount_e8s: u64,
    pub fee_e8s: u64,
    /// The transfer's `created_at_time`: every attempt sends the same, so the ledger answers a
    /// repeat with `TxDuplicate` instead of moving the ICP twice.
    pub created_at_ns: u64,
    pub state: RefillState,
    /// Ledger `transfer` calls sent, and how many of them certainly did not execute.
    pub transfer_attempts: u32,
    pub transfer_attempts_not_executed: u32,
    pub notify_attempts: u32,
    /// Why the last attempt did not settle the entry (empty if none).
    pub last_error: String,
    pub updated_at_ns: u64,
}

/// `get_icp_refill_status`: where to send ICP, and the latest refills, newest first.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IcpRefillStatus {
    pub icp_ledger_id: Principal,
    pub cmc_id: Principal,
    /// Hex account identifier of the hub's own ICP account (default subaccount): send ICP here.
    pub hub_icp_account: String,
    /// Hex account identifier of the hub's top-up account at the CMC (the hub transfers there
    /// with memo TPUP; do not send to it directly unless you also call `notify_top_up`).
    pub cmc_top_up_account: String,
    /// Below this balance (plus the fee) the hub does not convert.
    pub min_refill_e8s: u64,
    pub total_cycles_received: u128,
    pub refills: Vec<RefillRecord>,
}

/// What one `refill_from_icp` call did.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RefillOutcome {
    /// Nothing to convert (the balance is given).
    NothingToDo { balance_e8s: u64 },
    /// A refill is already running in another message, or the balance was checked too recently.
    Busy { reason: String },
    /// The refill this call worked on, as it stands now.
    Worked(RefillRecord),
}
