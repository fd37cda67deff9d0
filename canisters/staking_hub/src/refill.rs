//! The hub refills its own cycles from ICP.
//!
//! Anyone (the SNS treasury by a `TransferSnsTreasuryFunds` proposal, or any ICP holder) sends
//! ICP to the hub's own ICP account: the hub's principal, default subaccount
//! (`get_icp_refill_status().hub_icp_account`). The hub notices the balance (a timer every
//! [`REFILL_INTERVAL`], or `refill_from_icp`, which anyone may call) and converts it with the
//! cycles minting canister (CMC) as DFINITY documents it: a ledger `transfer` of the balance
//! less the fee to its top-up account at the CMC (the CMC's principal, subaccount
//! `Subaccount::from(hub)`) with memo TPUP, then `notify_top_up { block_index, canister_id: hub }`,
//! and the CMC deposits the cycles.
//!
//! Each conversion is a journal entry (stable memory), at most one open at a time, moved on by
//! prepare / await / commit with the entry re-read after every await:
//! * Transferring: every attempt sends the same `TransferArgs` (same `created_at_time`), so the
//!   ledger answers a repeat of an executed transfer with `TxDuplicate` and the ICP moves once.
//!   A refusal settles the entry only when no attempt can have executed (counted per attempt);
//! * Notifying: `notify_top_up` is retried until it answers definitely (`Processing`, `Other`
//!   and failed calls are retried; the CMC answers a block it has converted with the same
//!   result, so a retry never converts twice);
//! * ToppedUp, Refunded (the CMC sent the ICP back, less its fees, to the hub's account; the hub
//!   then waits [`REFUND_BACKOFF`] before converting again), TransferFailed, NotifyFailed and
//!   TransferOutcomeUnknown are final (see `platform_types::icp_refill::RefillState`).

use crate::state;
use candid::{Nat, Principal};
use ic_cdk::call::{Call, CallFailed};
use platform_types::cmc::{
    top_up_account, AccountBalanceArgs, AccountIdentifier, Memo, NotifyError, NotifyTopUpArg, NotifyTopUpResult,
    Timestamp, Tokens, TransferArgs, TransferError, TransferFee, TransferFeeArg, TransferResult, DEFAULT_SUBACCOUNT,
    MAINNET_CYCLES_MINTING_CANISTER_ID, MAINNET_LEDGER_CANISTER_ID, MEMO_TOP_UP_CANISTER,
};
use platform_types::icp_refill::{IcpRefillIds, IcpRefillStatus, RefillOutcome, RefillRecord, RefillState};
use std::cell::Cell;
use std::time::Duration;

/// Below this balance (plus the ledger fee) the hub does not convert: the CMC's fees would eat
/// too much of it (0.01 ICP).
pub const MIN_REFILL_E8S: u64 = 1_000_000;
/// How often the timer checks the hub's ICP account and moves an open refill on.
pub const REFILL_INTERVAL: Duration = Duration::from_secs(600);
/// `refill_from_icp` reads the balance at most this often (each read costs the hub a call).
pub const MANUAL_CHECK_INTERVAL_NS: u64 = 60 * 1_000_000_000;
/// After a refund the hub waits this long before converting again (a refund repeats if its
/// cause, e.g. the CMC's hourly limit, has not passed).
pub const REFUND_BACKOFF_NS: u64 = 24 * 3_600 * 1_000_000_000;
/// `get_icp_refill_status` lists this many of the latest refills.
pub const STATUS_ENTRIES: usize = 20;

// ------------------------------------------------------------------ the rules (plain Rust)

/// What a refill run does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Move this open entry on.
    Continue(RefillRecord),
    /// Read the balance and maybe start a refill.
    CheckBalance,
    Wait(String),
}

/// `last`: the newest journal entry. `last_check_ns`: when the balance was last read (heap).
/// `manual`: a `refill_from_icp` call (throttled), not the timer.
pub fn plan(last: Option<&RefillRecord>, now_ns: u64, last_check_ns: Option<u64>, manual: bool) -> Plan {
    if let Some(record) = last {
        if record.state.is_open() {
            return Plan::Continue(record.clone());
        }
        if let RefillState::Refunded { .. } = record.state {
            let until = record.updated_at_ns.saturating_add(REFUND_BACKOFF_NS);
            if now_ns < until {
                return Plan::Wait(format!("the last refill was refunded; the next one waits until {until} ns"));
            }
        }
    }
    match last_check_ns {
        Some(at) if manual && now_ns < at.saturating_add(MANUAL_CHECK_INTERVAL_NS) => {
            Plan::Wait("the ICP balance was checked less than a minute ago".into())
        }
        _ => Plan::CheckBalance,
    }
}

/// A new entry converting `balance_e8s` (all but the fee), or None below the minimum.
pub fn new_refill(id: u64, balance_e8s: u64, fee_e8s: u64, now_ns: u64) -> Option<RefillRecord> {
    let amount_e8s = balance_e8s.checked_sub(fee_e8s).filter(|a| *a >= MIN_REFILL_E8S)?;
    Some(RefillRecord {
        id,
        amount_e8s,
        fee_e8s,
        created_at_ns: now_ns,
        state: RefillState::Transferring,
        transfer_attempts: 0,
        transfer_attempts_not_executed: 0,
        notify_attempts: 0,
        last_error: String::new(),
        updated_at_ns: now_ns,
    })
}

/// What one ledger `transfer` call came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferOutcome {
    Replied(TransferResult),
    /// The call certainly did not execute.
    NotExecuted(String),
    /// It may have executed.
    Unknown(String),
}

/// Applies an attempt's outcome (the attempt was counted in `transfer_attempts` before it was sent).
pub fn apply_transfer(record: &mut RefillRecord, outcome: TransferOutcome, now_ns: u64) {
    record.updated_at_ns = now_ns;
    let refusal = match outcome {
        TransferOutcome::Replied(Ok(block_index)) | TransferOutcome::Replied(Err(TransferError::TxDuplicate { duplicate_of: block_index })) => {
            record.state = RefillState::Notifying { block_index };
            record.last_error.clear();
            return;
        }
        TransferOutcome::Unknown(e) => {
            record.last_error = format!("transfer outcome unknown, retrying: {e}");
            return;
        }
        TransferOutcome::NotExecuted(e) => {
            record.transfer_attempts_not_executed += 1;
            record.last_error = format!("transfer not executed, retrying: {e}");
            return;
        }
        TransferOutcome::Replied(Err(e)) => e,
    };
    record.transfer_attempts_not_executed += 1;
    let reason = format!("the ICP ledger refused the transfer: {refusal}");
    let none_executed = record.transfer_attempts <= record.transfer_attempts_not_executed;
    record.state = match refusal {
        // Created "in the future" only through clock drift: the same transfer is retried.
        TransferError::TxCreatedInFuture => RefillState::Transferring,
        TransferError::TxTooOld { .. } if none_executed => RefillState::TransferFailed { reason: reason.clone() },
        TransferError::TxTooOld { .. } => RefillState::TransferOutcomeUnknown { reason: reason.clone() },
        _ if none_executed => RefillState::TransferFailed { reason: reason.clone() },
        // An earlier attempt may have executed: only a retry's TxDuplicate (or TxTooOld) settles it.
        _ => RefillState::Transferring,
    };
    record.last_error = reason;
}

/// What one `notify_top_up` call came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyOutcome {
    Replied(NotifyTopUpResult),
    CallFailed(String),
}

pub fn apply_notify(record: &mut RefillRecord, outcome: NotifyOutcome, now_ns: u64) {
    let RefillState::Notifying { block_index } = record.state else { return };
    record.updated_at_ns = now_ns;
    match outcome {
        NotifyOutcome::Replied(Ok(cycles)) => match u128::try_from(cycles.0) {
            Ok(cycles) => {
                record.state = RefillState::ToppedUp { block_index, cycles };
                record.last_error.clear();
            }
            Err(_) => record.last_error = "the CMC answered more cycles than fit in 128 bits".into(),
        },
        NotifyOutcome::Replied(Err(NotifyError::Refunded { reason, block_index: refund_block })) => {
            record.last_error = format!("refunded: {reason}");
            record.state = RefillState::Refunded { block_index, reason, refund_block };
        }
        NotifyOutcome::Replied(Err(NotifyError::InvalidTransaction(reason))) => {
            record.last_error = format!("the CMC will not convert block {block_index}: {reason}");
            record.state = RefillState::NotifyFailed { block_index, reason };
        }
        NotifyOutcome::Replied(Err(NotifyError::TransactionTooOld(oldest))) => {
            let reason = format!("TransactionTooOld: the CMC processes blocks from {oldest} on");
            record.last_error = reason.clone();
            record.state = RefillState::NotifyFailed { block_index, reason };
        }
        NotifyOutcome::Replied(Err(NotifyError::Processing)) => {
            record.last_error = "the CMC is processing this block (Processing), retrying".into();
        }
        NotifyOutcome::Replied(Err(NotifyError::Other { error_code, error_message })) => {
            record.last_error = format!("the CMC answered Other {error_code}: {error_message}; retrying");
        }
        NotifyOutcome::CallFailed(e) => record.last_error = format!("notify_top_up failed, retrying: {e}"),
    }
}

/// The ICP ledger and CMC in force: the init (or upgrade) argument's, else DFINITY's.
pub fn ids(configured: Option<&IcpRefillIds>) -> IcpRefillIds {
    configured.cloned().unwrap_or(IcpRefillIds {
        icp_ledger_id: MAINNET_LEDGER_CANISTER_ID,
        cmc_id: MAINNET_CYCLES_MINTING_CANISTER_ID,
    })
}

pub fn hub_icp_account(hub: Principal) -> AccountIdentifier {
    AccountIdentifier::new(&hub, &DEFAULT_SUBACCOUNT)
}

/// The transfer every attempt of `record` sends.
pub fn transfer_args(record: &RefillRecord, cmc: Principal, hub: Principal) -> TransferArgs {
    TransferArgs {
        memo: Memo(MEMO_TOP_UP_CANISTER),
        amount: Tokens::from_e8s(record.amount_e8s),
        fee: Tokens::from_e8s(record.fee_e8s),
        from_subaccount: None,
        to: top_up_account(cmc, hub),
        created_at_time: Some(Timestamp { timestamp_nanos: record.created_at_ns }),
    }
}

// ------------------------------------------------------------------ journal (stable memory)

fn last_record() -> Option<RefillRecord> {
    state::with(|s| s.refill_journal.last_key_value().map(|(_, r)| r.0))
}

fn record(id: u64) -> Option<RefillRecord> {
    state::with(|s| s.refill_journal.get(&id).map(|r| r.0))
}

fn put(record: &RefillRecord) {
    state::with_mut(|s| s.refill_journal.insert(record.id, platform_types::StableCandid(record.clone())));
}

pub fn status() -> IcpRefillStatus {
    let hub = ic_cdk::api::canister_self();
    let ids = ids(state::init_args().and_then(|a| a.icp_refill).as_ref());
    let (total, refills) = state::with(|s| {
        let total = s
            .refill_journal
            .iter()
            .map(|e| match e.value().0.state {
                RefillState::ToppedUp { cycles, .. } => cycles,
                _ => 0,
            })
            .sum();
        let latest = s.refill_journal.iter().rev().take(STATUS_ENTRIES).map(|e| e.value().0).collect();
        (total, latest)
    });
    IcpRefillStatus {
        icp_ledger_id: ids.icp_ledger_id,
        cmc_id: ids.cmc_id,
        hub_icp_account: hub_icp_account(hub).to_hex(),
        cmc_top_up_account: top_up_account(ids.cmc_id, hub).to_hex(),
        min_refill_e8s: MIN_REFILL_E8S,
        total_cycles_received: total,
        refills,
    }
}

// ------------------------------------------------------------------ the run (canister side)

thread_local! {
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    static LAST_BALANCE_CHECK_NS: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Single flight: a run still awaiting the ledger or the CMC makes another one answer Busy.
struct RunGuard;

impl RunGuard {
    fn acquire() -> Option<RunGuard> {
        (!RUNNING.replace(true)).then_some(RunGuard)
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        RUNNING.set(false);
    }
}

/// The periodic check (see [`REFILL_INTERVAL`]; armed in `jobs`).
pub async fn tick() {
    match refill(false).await {
        RefillOutcome::Worked(r) if !r.last_error.is_empty() => {
            ic_cdk::println!("staking_hub refill {}: {}", r.id, r.last_error)
        }
        _ => {}
    }
}

/// One run: moves the open refill on until it settles or must wait, or starts one from the
/// hub's ICP balance.
pub async fn refill(manual: bool) -> RefillOutcome {
    let Some(_guard) = RunGuard::acquire() else {
        return RefillOutcome::Busy { reason: "a refill run is under way".into() };
    };
    let hub = ic_cdk::api::canister_self();
    let ids = ids(state::init_args().and_then(|a| a.icp_refill).as_ref());
    let mut current = match plan(last_record().as_ref(), ic_cdk::api::time(), LAST_BALANCE_CHECK_NS.get(), manual) {
        Plan::Wait(reason) => return RefillOutcome::Busy { reason },
        Plan::Continue(record) => record,
        Plan::CheckBalance => {
            LAST_BALANCE_CHECK_NS.set(Some(ic_cdk::api::time()));
            let (balance, fee) = match balance_and_fee(ids.icp_ledger_id, hub).await {
                Ok(read) => read,
                Err(e) => return RefillOutcome::Busy { reason: format!("cannot read the hub's ICP balance: {e}") },
            };
            // Re-read after the await (the guard keeps other runs out; the journal is the truth).
            if let Some(open) = last_record().filter(|r| r.state.is_open()) {
                open
            } else {
                let id = last_record().map_or(0, |r| r.id + 1);
                let Some(record) = new_refill(id, balance, fee, ic_cdk::api::time()) else {
                    return RefillOutcome::NothingToDo { balance_e8s: balance };
                };
                put(&record);
                record
            }
        }
    };
    loop {
        match current.state {
            RefillState::Transferring => {
                // Prepare: count the attempt before the await, so a trap after it still counts.
                current.transfer_attempts += 1;
                put(&current);
                let outcome = transfer(ids.icp_ledger_id, &transfer_args(&current, ids.cmc_id, hub)).await;
                current = record(current.id).expect("a journal entry is never removed");
                apply_transfer(&mut current, outcome, ic_cdk::api::time());
                put(&current);
                if current.state == RefillState::Transferring {
                    break;
                }
            }
            RefillState::Notifying { block_index } => {
                current.notify_attempts += 1;
                put(&current);
                let outcome = notify_top_up(ids.cmc_id, block_index, hub).await;
                current = record(current.id).expect("a journal entry is never removed");
                apply_notify(&mut current, outcome, ic_cdk::api::time());
                put(&current);
                if matches!(current.state, RefillState::Notifying { .. }) {
                    break;
                }
            }
            _ => break,
        }
    }
    RefillOutcome::Worked(current)
}

fn may_have_executed(e: &CallFailed) -> bool {
    match e {
        CallFailed::CallRejected(r) => crate::mint::reject_may_have_executed(r.raw_reject_code(), r.reject_message()),
        CallFailed::InsufficientLiquidCycleBalance(_) | CallFailed::CallPerformFailed(_) => false,
    }
}

async fn balance_and_fee(ledger: Principal, hub: Principal) -> Result<(u64, u64), String> {
    let reply = Call::bounded_wait(ledger, "account_balance")
        .with_arg(AccountBalanceArgs { account: hub_icp_account(hub) })
        .await
        .map_err(|e| format!("account_balance: {e}"))?;
    let balance: Tokens = reply.candid().map_err(|e| format!("account_balance reply: {e}"))?;
    let reply = Call::bounded_wait(ledger, "transfer_fee")
        .with_arg(TransferFeeArg {})
        .await
        .map_err(|e| format!("transfer_fee: {e}"))?;
    let fee: TransferFee = reply.candid().map_err(|e| format!("transfer_fee reply: {e}"))?;
    Ok((balance.e8s(), fee.transfer_fee.e8s()))
}

async fn transfer(ledger: Principal, args: &TransferArgs) -> TransferOutcome {
    match Call::bounded_wait(ledger, "transfer").with_arg(args).await {
        Ok(reply) => match reply.candid::<TransferResult>() {
            Ok(result) => TransferOutcome::Replied(result),
            Err(e) => TransferOutcome::Unknown(format!("transfer reply: {e}")),
        },
        Err(e) if may_have_executed(&e) => TransferOutcome::Unknown(format!("transfer: {e}")),
        Err(e) => TransferOutcome::NotExecuted(format!("transfer: {e}")),
    }
}

async fn notify_top_up(cmc: Principal, block_index: u64, hub: Principal) -> NotifyOutcome {
    // Unbounded wait: the CMC awaits the ledger and the deposit; its answer is what settles
    // the entry (a bounded wait could time out on a conversion that went through).
    match Call::unbounded_wait(cmc, "notify_top_up").with_arg(NotifyTopUpArg { block_index, canister_id: hub }).await {
        Ok(reply) => match reply.candid::<Result<Nat, NotifyError>>() {
            Ok(result) => NotifyOutcome::Replied(result),
            Err(e) => NotifyOutcome::CallFailed(format!("notify_top_up reply: {e}")),
        },
        Err(e) => NotifyOutcome::CallFailed(format!("notify_top_up: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_000_000_000;
    const FEE: u64 = 10_000;

    fn open(id: u64) -> RefillRecord {
        new_refill(id, 5_000_000, FEE, NOW).unwrap()
    }

    fn sent(mut r: RefillRecord) -> RefillRecord {
        r.transfer_attempts += 1;
        r
    }

    #[test]
    fn a_refill_converts_the_balance_less_the_fee_from_the_minimum_on() {
        let r = new_refill(0, 5_000_000, FEE, NOW).unwrap();
        assert_eq!((r.amount_e8s, r.fee_e8s, r.created_at_ns, r.state.clone()), (4_990_000, FEE, NOW, RefillState::Transferring));
        assert!(new_refill(0, MIN_REFILL_E8S + FEE - 1, FEE, NOW).is_none());
        assert!(new_refill(0, MIN_REFILL_E8S + FEE, FEE, NOW).is_some());
        assert!(new_refill(0, 0, FEE, NOW).is_none());
    }

    #[test]
    fn every_attempt_sends_the_same_tpup_transfer_to_the_cmc_top_up_account() {
        let (cmc, hub) = (Principal::from_slice(&[1; 10]), Principal::from_slice(&[2; 10]));
        let r = open(0);
        let a = transfer_args(&r, cmc, hub);
        assert_eq!(a.memo, Memo(MEMO_TOP_UP_CANISTER));
        assert_eq!(a.to, top_up_account(cmc, hub));
        assert_eq!(a.amount, Tokens::from_e8s(4_990_000));
        assert_eq!(a.created_at_time, Some(Timestamp { timestamp_nanos: NOW }));
        assert_eq!(a.from_subaccount, None);
        let later = sent(sent(r.clone()));
        assert_eq!(format!("{:?}", transfer_args(&later, cmc, hub)), format!("{a:?}"));
    }

    #[test]
    fn an_open_refill_is_continued_before_anything_else() {
        let r = open(3);
        assert_eq!(plan(Some(&r), NOW, Some(NOW), true), Plan::Continue(r.clone()));
        let mut notifying = r;
        notifying.state = RefillState::Notifying { block_index: 4 };
        assert_eq!(plan(Some(&notifying), NOW, Some(NOW), true), Plan::Continue(notifying.clone()));
    }

    #[test]
    fn manual_checks_are_throttled_and_the_timer_is_not() {
        assert_eq!(plan(None, NOW, None, true), Plan::CheckBalance);
        assert!(matches!(plan(None, NOW + 1, Some(NOW), true), Plan::Wait(_)));
        assert_eq!(plan(None, NOW + MANUAL_CHECK_INTERVAL_NS, Some(NOW), true), Plan::CheckBalance);
        assert_eq!(plan(None, NOW + 1, Some(NOW), false), Plan::CheckBalance);
    }

    #[test]
    fn after_a_refund_the_hub_waits_a_day() {
        let mut r = open(0);
        r.state = RefillState::Refunded { block_index: 1, reason: "limit".into(), refund_block: Some(2) };
        r.updated_at_ns = NOW;
        assert!(matches!(plan(Some(&r), NOW + 1, None, false), Plan::Wait(_)));
        assert_eq!(plan(Some(&r), NOW + REFUND_BACKOFF_NS, None, false), Plan::CheckBalance);
        r.state = RefillState::ToppedUp { block_index: 1, cycles: 5 };
        assert_eq!(plan(Some(&r), NOW + 1, None, false), Plan::CheckBalance);
    }

    #[test]
    fn a_transfer_or_its_duplicate_moves_on_to_notifying() {
        let mut r = sent(open(0));
        apply_transfer(&mut r, TransferOutcome::Replied(Ok(7)), NOW);
        assert_eq!(r.state, RefillState::Notifying { block_index: 7 });
        let mut r = sent(sent(open(0)));
        apply_transfer(&mut r, TransferOutcome::Replied(Err(TransferError::TxDuplicate { duplicate_of: 9 })), NOW);
        assert_eq!(r.state, RefillState::Notifying { block_index: 9 });
    }

    #[test]
    fn a_refusal_fails_the_refill_only_when_no_attempt_can_have_executed() {
        let refusal = || TransferOutcome::Replied(Err(TransferError::InsufficientFunds { balance: Tokens::from_e8s(3) }));
        let mut first = sent(open(0));
        apply_transfer(&mut first, refusal(), NOW);
        assert!(matches!(first.state, RefillState::TransferFailed { .. }));

        let mut r = sent(open(0));
        apply_transfer(&mut r, TransferOutcome::Unknown("timeout".into()), NOW);
        assert_eq!(r.state, RefillState::Transferring);
        let mut r = sent(r);
        apply_transfer(&mut r, refusal(), NOW);
        assert_eq!(r.state, RefillState::Transferring, "the first attempt may have moved the ICP");
        assert!(r.last_error.contains("refused"));

        let mut r = sent(open(0));
        apply_transfer(&mut r, TransferOutcome::NotExecuted("stopped".into()), NOW);
        let mut r = sent(r);
        apply_transfer(&mut r, refusal(), NOW);
        assert!(matches!(r.state, RefillState::TransferFailed { .. }), "no attempt executed");
    }

    #[test]
    fn too_old_after_an_unknown_attempt_is_recorded_as_unknown() {
        let too_old = || TransferOutcome::Replied(Err(TransferError::TxTooOld { allowed_window_nanos: 1 }));
        let mut r = sent(open(0));
        apply_transfer(&mut r, TransferOutcome::Unknown("timeout".into()), NOW);
        let mut r = sent(r);
        apply_transfer(&mut r, too_old(), NOW);
        assert!(matches!(r.state, RefillState::TransferOutcomeUnknown { .. }));
        let mut r = sent(open(0));
        apply_transfer(&mut r, too_old(), NOW);
        assert!(matches!(r.state, RefillState::TransferFailed { .. }));
        let mut r = sent(open(0));
        apply_transfer(&mut r, TransferOutcome::Replied(Err(TransferError::TxCreatedInFuture)), NOW);
        assert_eq!(r.state, RefillState::Transferring);
    }

    fn notifying() -> RefillRecord {
        let mut r = sent(open(0));
        apply_transfer(&mut r, TransferOutcome::Replied(Ok(5)), NOW);
        r
    }

    #[test]
    fn notify_settles_on_cycles_refund_or_a_final_refusal() {
        let mut r = notifying();
        apply_notify(&mut r, NotifyOutcome::Replied(Ok(Nat::from(1_000u32))), NOW);
        assert_eq!(r.state, RefillState::ToppedUp { block_index: 5, cycles: 1_000 });

        let mut r = notifying();
        let refund = NotifyError::Refunded { reason: "limit".into(), block_index: Some(6) };
        apply_notify(&mut r, NotifyOutcome::Replied(Err(refund)), NOW);
        assert_eq!(r.state, RefillState::Refunded { block_index: 5, reason: "limit".into(), refund_block: Some(6) });

        for e in [NotifyError::InvalidTransaction("no".into()), NotifyError::TransactionTooOld(9)] {
            let mut r = notifying();
            apply_notify(&mut r, NotifyOutcome::Replied(Err(e)), NOW);
            assert!(matches!(r.state, RefillState::NotifyFailed { block_index: 5, .. }));
        }
    }

    #[test]
    fn processing_other_and_failed_calls_are_retried() {
        for outcome in [
            NotifyOutcome::Replied(Err(NotifyError::Processing)),
            NotifyOutcome::Replied(Err(NotifyError::Other { error_code: 2, error_message: "ledger".into() })),
            NotifyOutcome::CallFailed("IC0508 stopped".into()),
        ] {
            let mut r = notifying();
            apply_notify(&mut r, outcome.clone(), NOW);
            assert_eq!(r.state, RefillState::Notifying { block_index: 5 }, "{outcome:?}");
            assert!(!r.last_error.is_empty());
            assert_eq!(plan(Some(&r), NOW, Some(NOW), true), Plan::Continue(r.clone()));
        }
    }

    #[test]
    fn a_settled_refill_ignores_late_notify_answers() {
        let mut r = notifying();
        apply_notify(&mut r, NotifyOutcome::Replied(Ok(Nat::from(1u8))), NOW);
        let settled = r.clone();
        apply_notify(&mut r, NotifyOutcome::Replied(Ok(Nat::from(99u8))), NOW + 1);
        assert_eq!(r, settled);
    }

    #[test]
    fn the_mainnet_ids_are_the_default() {
        let d = ids(None);
        assert_eq!(d.icp_ledger_id.to_text(), "ryjl3-tyaaa-aaaaa-aaaba-cai");
        assert_eq!(d.cmc_id.to_text(), "rkp4c-7iaaa-aaaaa-aaaca-cai");
        let local = IcpRefillIds { icp_ledger_id: Principal::from_slice(&[1]), cmc_id: Principal::from_slice(&[2]) };
        assert_eq!(ids(Some(&local)), local);
    }

    #[test]
    fn journal_entries_survive_in_stable_memory() {
        let r = notifying();
        put(&r);
        assert_eq!(record(0), Some(r.clone()));
        assert_eq!(last_record(), Some(r));
    }
}
