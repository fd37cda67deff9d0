//! `mock_ledger`: an `icrc1_transfer` endpoint whose answers the test scripts, to drive a
//! ledger client (the staking hub) through every outcome a real ledger can produce: each
//! `TransferError` variant, a trap, and a reply of the wrong type. With nothing scripted it
//! accepts the transfer with the next block index. Every transfer it answered is kept for
//! inspection (a trap keeps nothing).

use candid::{CandidType, Nat};
use icrc_ledger_types::icrc1::transfer::{TransferArg, TransferError};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::VecDeque;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
pub enum Scripted {
    /// Answer this (`Ok` does not advance the block counter).
    Reply(Result<Nat, TransferError>),
    /// Trap on every transfer until the given time (ns); then this entry is dropped and the next
    /// one answers. (A trap rolls back the message, so a trap cannot consume its own entry.)
    TrapUntil(u64),
    /// Reply with the `Unexpected` case, which a client expecting a transfer result cannot decode.
    WrongType,
}

/// The transfer result of ICRC-1, plus a case no ICRC-1 client knows.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
pub enum TransferReply {
    Ok(Nat),
    Err(TransferError),
    Unexpected(String),
}

impl From<Result<Nat, TransferError>> for TransferReply {
    fn from(r: Result<Nat, TransferError>) -> Self {
        match r {
            Ok(n) => TransferReply::Ok(n),
            Err(e) => TransferReply::Err(e),
        }
    }
}

thread_local! {
    static SCRIPT: RefCell<VecDeque<Scripted>> = const { RefCell::new(VecDeque::new()) };
    static RECEIVED: RefCell<Vec<TransferArg>> = const { RefCell::new(Vec::new()) };
    static NEXT_BLOCK: RefCell<u64> = const { RefCell::new(0) };
}

/// Appends answers for the next transfers, in order.
#[ic_cdk::update]
fn script(answers: Vec<Scripted>) {
    SCRIPT.with_borrow_mut(|s| s.extend(answers));
}

#[ic_cdk::update]
fn icrc1_transfer(arg: TransferArg) -> TransferReply {
    if let Some(Scripted::TrapUntil(t)) = SCRIPT.with_borrow(|s| s.front().cloned()) {
        if ic_cdk::api::time() < t {
            ic_cdk::trap("mock_ledger: scripted trap");
        }
        SCRIPT.with_borrow_mut(|s| s.pop_front());
    }
    RECEIVED.with_borrow_mut(|r| r.push(arg));
    match SCRIPT.with_borrow_mut(|s| s.pop_front()) {
        Some(Scripted::TrapUntil(_)) => ic_cdk::trap("mock_ledger: scripted traps follow each other"),
        Some(Scripted::WrongType) => TransferReply::Unexpected("not a transfer result".into()),
        Some(Scripted::Reply(answer)) => answer.into(),
        None => {
            let block = NEXT_BLOCK.with_borrow_mut(|b| {
                *b += 1;
                *b - 1
            });
            TransferReply::Ok(Nat::from(block))
        }
    }
}

/// Every transfer received, oldest first.
#[ic_cdk::query]
fn transfers() -> Vec<TransferArg> {
    RECEIVED.with_borrow(|r| r.clone())
}

ic_cdk::export_candid!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candid_interface_matches_committed_did_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mock_ledger.did");
        platform_types::candid_check::check_service(&__export_service(), &path);
    }
}
