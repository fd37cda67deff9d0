//! `mock_ledger`: an `icrc1_transfer` endpoint whose answers the test scripts, to drive a
//! ledger client (the staking hub) through every outcome a real ledger can produce: each
//! `TransferError` variant, a trap, and a reply of the wrong type. With nothing scripted it
//! accepts the transfer with the next block index, and keeps an ICRC-3 mint block for it
//! (`icrc3_get_blocks`, no archives: what a client searching for a mint reads). Every transfer it
//! answered is kept for inspection (a trap keeps nothing).

use candid::{CandidType, Nat};
use icrc_ledger_types::icrc::generic_value::ICRC3Value;
use icrc_ledger_types::icrc1::transfer::{TransferArg, TransferError};
use icrc_ledger_types::icrc3::blocks::{BlockWithId, GetBlocksRequest, GetBlocksResult};
use std::collections::BTreeMap;
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
    static BLOCKS: RefCell<Vec<ICRC3Value>> = const { RefCell::new(Vec::new()) };
}

/// The ICRC-3 block of a mint (the caller is the minting account): `tx.op = "mint"`, `to`,
/// `amt`, and the caller's `memo` and `created_at_time` (`tx.ts`).
fn mint_block(arg: &TransferArg) -> ICRC3Value {
    let mut to = vec![ICRC3Value::Blob(arg.to.owner.as_slice().to_vec().into())];
    if let Some(sub) = arg.to.subaccount {
        to.push(ICRC3Value::Blob(sub.to_vec().into()));
    }
    let mut tx = BTreeMap::new();
    tx.insert("op".to_string(), ICRC3Value::Text("mint".into()));
    tx.insert("to".to_string(), ICRC3Value::Array(to));
    tx.insert("amt".to_string(), ICRC3Value::Nat(arg.amount.clone()));
    if let Some(memo) = &arg.memo {
        tx.insert("memo".to_string(), ICRC3Value::Blob(memo.0.to_vec().into()));
    }
    if let Some(ts) = arg.created_at_time {
        tx.insert("ts".to_string(), ICRC3Value::Nat(Nat::from(ts)));
    }
    let mut block = BTreeMap::new();
    block.insert("ts".to_string(), ICRC3Value::Nat(Nat::from(ic_cdk::api::time())));
    block.insert("tx".to_string(), ICRC3Value::Map(tx));
    ICRC3Value::Map(block)
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
    RECEIVED.with_borrow_mut(|r| r.push(arg.clone()));
    match SCRIPT.with_borrow_mut(|s| s.pop_front()) {
        Some(Scripted::TrapUntil(_)) => ic_cdk::trap("mock_ledger: scripted traps follow each other"),
        Some(Scripted::WrongType) => TransferReply::Unexpected("not a transfer result".into()),
        Some(Scripted::Reply(answer)) => answer.into(),
        None => {
            let block = BLOCKS.with_borrow_mut(|b| {
                b.push(mint_block(&arg));
                b.len() - 1
            });
            TransferReply::Ok(Nat::from(block))
        }
    }
}

/// ICRC-3 blocks: those of every requested range that exist (no archives).
#[ic_cdk::query]
fn icrc3_get_blocks(args: Vec<GetBlocksRequest>) -> GetBlocksResult {
    BLOCKS.with_borrow(|all| {
        let mut blocks = Vec::new();
        for r in args {
            let start = usize::try_from(r.start.0).unwrap_or(usize::MAX);
            let length = usize::try_from(r.length.0).unwrap_or(usize::MAX);
            for (i, b) in all.iter().enumerate().skip(start).take(length) {
                blocks.push(BlockWithId { id: Nat::from(i), block: b.clone() });
            }
        }
        GetBlocksResult { log_length: Nat::from(all.len()), blocks, archived_blocks: vec![] }
    })
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
