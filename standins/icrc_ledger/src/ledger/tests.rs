//! Native unit tests of the ledger's domain logic (in-memory stable memory).

use super::*;
use crate::types::FeatureFlags;
use ic_stable_structures::DefaultMemoryImpl;

const FEE: u128 = 10_000;
const T0: u64 = 1_767_225_600_000_000_000;
const SEC: u64 = 1_000_000_000;

fn p(n: u8) -> Principal {
    Principal::from_slice(&[n; 29])
}

fn acc(n: u8) -> Account {
    Account { owner: p(n), subaccount: None }
}

fn sub(n: u8, s: u8) -> Account {
    Account { owner: p(n), subaccount: Some([s; 32]) }
}

const MINTER: u8 = 1;
const ALICE: u8 = 10;
const BOB: u8 = 11;
const CAROL: u8 = 12;
const COLLECTOR: u8 = 20;

fn init_args() -> InitArgs {
    InitArgs {
        minting_account: acc(MINTER),
        fee_collector_account: None,
        transfer_fee: FEE.into(),
        decimals: None,
        max_memo_length: None,
        token_symbol: "TST".into(),
        token_name: "Test token".into(),
        metadata: vec![("test:key".into(), MetadataValue::Text("v".into()))],
        initial_balances: vec![(acc(ALICE), 1_000_000u64.into())],
        feature_flags: None,
    }
}

fn ledger_with(args: InitArgs) -> Ledger<DefaultMemoryImpl> {
    let mut l = Ledger::open(&MemoryManager::init(DefaultMemoryImpl::default()));
    l.init(args, T0).unwrap();
    l
}

fn ledger() -> Ledger<DefaultMemoryImpl> {
    ledger_with(init_args())
}

fn xfer(to: Account, amount: u128) -> TransferArg {
    TransferArg { from_subaccount: None, to, fee: None, created_at_time: None, memo: None, amount: amount.into() }
}

fn approve_args(spender: Account, amount: u128) -> ApproveArgs {
    ApproveArgs {
        from_subaccount: None,
        spender,
        amount: amount.into(),
        expected_allowance: None,
        expires_at: None,
        fee: None,
        memo: None,
        created_at_time: None,
    }
}

fn from_args(from: Account, to: Account, amount: u128) -> TransferFromArgs {
    TransferFromArgs {
        spender_subaccount: None,
        from,
        to,
        amount: amount.into(),
        fee: None,
        memo: None,
        created_at_time: None,
    }
}

fn reject<E>(e: E) -> Result<u64, Failure<E>> {
    Err(Failure::Reject(e))
}

fn field<'a>(v: &'a ICRC3Value, path: &[&str]) -> Option<&'a ICRC3Value> {
    let mut cur = v;
    for key in path {
        match cur {
            ICRC3Value::Map(m) => cur = m.get(*key)?,
            _ => return None,
        }
    }
    Some(cur)
}

fn text(s: &str) -> ICRC3Value {
    ICRC3Value::Text(s.into())
}

fn nat(n: u128) -> ICRC3Value {
    ICRC3Value::Nat(n.into())
}

#[test]
fn init_mints_initial_balances_and_reports_metadata() {
    let l = ledger();
    assert_eq!(l.balance_of(&acc(ALICE)), 1_000_000);
    assert_eq!(l.total_supply(), 1_000_000);
    assert_eq!(l.block_count(), 1);
    let b0 = l.block(0).unwrap();
    assert_eq!(field(&b0, &["tx", "op"]), Some(&text("mint")));
    assert_eq!(field(&b0, &["tx", "amt"]), Some(&nat(1_000_000)));
    assert!(field(&b0, &["phash"]).is_none());
    assert_eq!(field(&b0, &["ts"]), Some(&nat(T0 as u128)));
    let md = l.metadata();
    let get = |k: &str| md.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(get("icrc1:decimals"), Some(MetadataValue::Nat(8u8.into())));
    assert_eq!(get("icrc1:fee"), Some(MetadataValue::Nat(FEE.into())));
    assert_eq!(get("icrc1:name"), Some(MetadataValue::Text("Test token".into())));
    assert_eq!(get("icrc1:symbol"), Some(MetadataValue::Text("TST".into())));
    assert_eq!(get("icrc1:max_memo_length"), Some(MetadataValue::Nat(32u8.into())));
    assert_eq!(get("test:key"), Some(MetadataValue::Text("v".into())));
    let names: Vec<_> = l.supported_standards().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["ICRC-1", "ICRC-2", "ICRC-3", "ICRC-10"]);
}

#[test]
fn init_rejects_bad_arguments() {
    let mut a = init_args();
    a.metadata.push(("icrc1:fee".into(), MetadataValue::Nat(1u8.into())));
    let mut l = Ledger::open(&MemoryManager::init(DefaultMemoryImpl::default()));
    assert!(l.init(a, T0).unwrap_err().contains("reserved"));
    let mut a = init_args();
    a.initial_balances.push((Account { owner: p(MINTER), subaccount: Some([0; 32]) }, 1u8.into()));
    assert!(l.init(a, T0).unwrap_err().contains("minting account"));
    let mut a = init_args();
    a.initial_balances = vec![(acc(ALICE), u128::MAX.into()), (acc(BOB), 1u8.into())];
    assert!(l.init(a, T0).unwrap_err().contains("overflow"));
    assert!(!l.is_initialized());
    l.init(init_args(), T0).unwrap();
    assert!(l.init(init_args(), T0).is_err());
}

#[test]
fn transfer_moves_amount_and_burns_the_fee() {
    let mut l = ledger();
    assert_eq!(l.transfer(p(ALICE), xfer(acc(BOB), 100_000), T0 + 1), Ok(1));
    assert_eq!(l.balance_of(&acc(ALICE)), 1_000_000 - 100_000 - FEE);
    assert_eq!(l.balance_of(&acc(BOB)), 100_000);
    assert_eq!(l.total_supply(), 1_000_000 - FEE);
    let b = l.block(1).unwrap();
    assert_eq!(field(&b, &["tx", "op"]), Some(&text("xfer")));
    assert_eq!(field(&b, &["fee"]), Some(&nat(FEE)), "the effective fee is recorded when tx.fee is absent");
    assert!(field(&b, &["tx", "fee"]).is_none());
    assert_eq!(field(&b, &["phash"]), Some(&ICRC3Value::Blob(ByteBuf::from(l.block(0).unwrap().hash().to_vec()))));
    // With an explicit (correct) fee, tx.fee is recorded and the top-level fee is not.
    let mut a = xfer(acc(BOB), 1);
    a.fee = Some(FEE.into());
    assert_eq!(l.transfer(p(ALICE), a, T0 + 2), Ok(2));
    let b = l.block(2).unwrap();
    assert_eq!(field(&b, &["tx", "fee"]), Some(&nat(FEE)));
    assert!(field(&b, &["fee"]).is_none());
    assert_eq!(l.last_block(), Some((2, b.hash())));
}

#[test]
fn explicit_zero_subaccount_is_the_default_account() {
    let mut l = ledger();
    l.transfer(p(ALICE), xfer(sub(BOB, 0), 500), T0).unwrap();
    assert_eq!(l.balance_of(&acc(BOB)), 500);
    let mut a = xfer(acc(CAROL), 100);
    a.from_subaccount = Some([0; 32]);
    l.transfer(p(BOB), a, T0).unwrap_err();
    l.transfer(p(ALICE), xfer(acc(BOB), FEE), T0).unwrap();
    let mut a = xfer(acc(CAROL), 100);
    a.from_subaccount = Some([0; 32]);
    assert!(l.transfer(p(BOB), a, T0).is_ok());
    assert_eq!(l.balance_of(&sub(CAROL, 0)), 100);
}

#[test]
fn transfer_errors() {
    let mut l = ledger();
    let mut a = xfer(acc(BOB), 1);
    a.fee = Some((FEE + 1).into());
    assert_eq!(l.transfer(p(ALICE), a, T0), reject(TransferError::BadFee { expected_fee: FEE.into() }));
    let mut a = xfer(acc(BOB), 1);
    a.fee = Some(0u8.into());
    assert_eq!(l.transfer(p(ALICE), a, T0), reject(TransferError::BadFee { expected_fee: FEE.into() }));
    // The fee counts: amount + fee must be covered.
    assert_eq!(
        l.transfer(p(ALICE), xfer(acc(BOB), 1_000_000 - FEE + 1), T0),
        reject(TransferError::InsufficientFunds { balance: 1_000_000u64.into() })
    );
    assert_eq!(
        l.transfer(p(BOB), xfer(acc(ALICE), 0), T0),
        reject(TransferError::InsufficientFunds { balance: 0u8.into() })
    );
    // Amounts beyond 128 bits are just more than anyone has.
    let mut a = xfer(acc(BOB), 0);
    a.amount = Nat::from(u128::MAX) * Nat::from(4u8);
    assert_eq!(l.transfer(p(ALICE), a, T0), reject(TransferError::InsufficientFunds { balance: 1_000_000u64.into() }));
    assert!(l.transfer(p(ALICE), xfer(acc(BOB), 1_000_000 - FEE), T0).is_ok());
    assert_eq!(l.balance_of(&acc(ALICE)), 0);
    assert_eq!(l.block_count(), 2, "failed transfers add no block");
}

#[test]
fn memo_longer_than_the_maximum_traps() {
    let mut l = ledger();
    let mut a = xfer(acc(BOB), 1);
    a.memo = Some(Memo::from(vec![7u8; 32]));
    assert!(l.transfer(p(ALICE), a.clone(), T0).is_ok());
    a.memo = Some(Memo::from(vec![7u8; 33]));
    match l.transfer(p(ALICE), a, T0) {
        Err(Failure::Trap(m)) => assert!(m.contains("33 bytes"), "{m}"),
        other => panic!("{other:?}"),
    }
    l.upgrade(UpgradeArgs { max_memo_length: Some(64), ..Default::default() }).unwrap();
    let mut a = xfer(acc(BOB), 1);
    a.memo = Some(Memo::from(vec![7u8; 64]));
    assert!(l.transfer(p(ALICE), a, T0).is_ok());
    assert!(l.upgrade(UpgradeArgs { max_memo_length: Some(10), ..Default::default() }).is_err());
}

#[test]
fn mint_from_the_minting_account() {
    let mut l = ledger();
    assert_eq!(l.transfer(p(MINTER), xfer(acc(BOB), 5), T0), Ok(1));
    let mut a = xfer(acc(BOB), 5);
    a.fee = Some(0u8.into());
    assert_eq!(l.transfer(p(MINTER), a, T0), Ok(2));
    let mut a = xfer(acc(BOB), 5);
    a.fee = Some(FEE.into());
    assert_eq!(l.transfer(p(MINTER), a, T0), reject(TransferError::BadFee { expected_fee: 0u8.into() }));
    // A zero-amount mint is accepted (as by DFINITY's ledger).
    assert_eq!(l.transfer(p(MINTER), xfer(acc(BOB), 0), T0), Ok(3));
    assert_eq!(l.balance_of(&acc(BOB)), 10);
    assert_eq!(l.balance_of(&acc(MINTER)), 0);
    assert_eq!(l.total_supply(), 1_000_010);
    let b = l.block(1).unwrap();
    assert_eq!(field(&b, &["tx", "op"]), Some(&text("mint")));
    assert!(field(&b, &["tx", "from"]).is_none());
    assert!(field(&b, &["fee"]).is_none() && field(&b, &["tx", "fee"]).is_none());
    // The minting account with an explicit zero subaccount is the minting account.
    let mut a = xfer(acc(BOB), 1);
    a.from_subaccount = Some([0; 32]);
    assert_eq!(l.transfer(p(MINTER), a, T0), Ok(4));
    assert_eq!(field(&l.block(4).unwrap(), &["tx", "op"]), Some(&text("mint")));
    // Overflowing the total supply traps.
    assert!(matches!(l.transfer(p(MINTER), xfer(acc(BOB), u128::MAX), T0), Err(Failure::Trap(_))));
}

#[test]
fn burn_to_the_minting_account() {
    let mut l = ledger();
    assert_eq!(l.transfer(p(ALICE), xfer(acc(MINTER), FEE), T0), Ok(1));
    assert_eq!(l.balance_of(&acc(ALICE)), 1_000_000 - FEE, "burns pay no fee");
    assert_eq!(l.total_supply(), 1_000_000 - FEE);
    let b = l.block(1).unwrap();
    assert_eq!(field(&b, &["tx", "op"]), Some(&text("burn")));
    assert!(field(&b, &["tx", "to"]).is_none() && field(&b, &["fee"]).is_none());
    // Below the fee: BadBurn with the fee as the minimum.
    assert_eq!(
        l.transfer(p(ALICE), xfer(acc(MINTER), FEE - 1), T0),
        reject(TransferError::BadBurn { min_burn_amount: FEE.into() })
    );
    assert_eq!(
        l.transfer(p(ALICE), xfer(acc(MINTER), 0), T0),
        reject(TransferError::BadBurn { min_burn_amount: FEE.into() })
    );
    let mut a = xfer(acc(MINTER), FEE);
    a.fee = Some(FEE.into());
    assert_eq!(l.transfer(p(ALICE), a, T0), reject(TransferError::BadFee { expected_fee: 0u8.into() }));
    let mut a = xfer(sub(MINTER, 0), FEE);
    a.fee = Some(0u8.into());
    assert_eq!(l.transfer(p(ALICE), a, T0), Ok(2), "fee 0 is accepted; explicit zero subaccount is the minter");
    // A balance below the fee can be burnt entirely (min_burn_amount = min(fee, balance)).
    l.transfer(p(ALICE), xfer(acc(BOB), 300), T0).unwrap();
    assert_eq!(
        l.transfer(p(BOB), xfer(acc(MINTER), 299), T0),
        reject(TransferError::BadBurn { min_burn_amount: 300u32.into() })
    );
    assert_eq!(
        l.transfer(p(BOB), xfer(acc(MINTER), 301), T0),
        reject(TransferError::InsufficientFunds { balance: 300u32.into() })
    );
    assert!(l.transfer(p(BOB), xfer(acc(MINTER), 300), T0).is_ok());
    assert_eq!(l.balance_of(&acc(BOB)), 0);
}

#[test]
fn fees_go_to_the_fee_collector_when_configured() {
    let mut a = init_args();
    a.fee_collector_account = Some(acc(COLLECTOR));
    let mut l = ledger_with(a);
    l.transfer(p(ALICE), xfer(acc(BOB), 1), T0).unwrap();
    l.transfer(p(ALICE), xfer(acc(BOB), 1), T0).unwrap();
    assert_eq!(l.balance_of(&acc(COLLECTOR)), 2 * FEE);
    assert_eq!(l.total_supply(), 1_000_000);
    assert_eq!(field(&l.block(1).unwrap(), &["fee_col"]), Some(&crate::block::account_value(&acc(COLLECTOR))));
    assert_eq!(field(&l.block(2).unwrap(), &["fee_col_block"]), Some(&nat(1)));
    // Approve fees are burnt.
    l.approve(p(ALICE), approve_args(acc(BOB), 5), T0).unwrap();
    assert_eq!(l.balance_of(&acc(COLLECTOR)), 2 * FEE);
    assert_eq!(l.total_supply(), 1_000_000 - FEE);
    // Unset: burnt again; a new collector is named again by its first block.
    l.upgrade(UpgradeArgs { change_fee_collector: Some(ChangeFeeCollector::Unset), ..Default::default() }).unwrap();
    l.transfer(p(ALICE), xfer(acc(BOB), 1), T0).unwrap();
    assert_eq!(l.total_supply(), 1_000_000 - 2 * FEE);
    l.upgrade(UpgradeArgs { change_fee_collector: Some(ChangeFeeCollector::SetTo(acc(CAROL))), ..Default::default() })
        .unwrap();
    let i = l.transfer(p(ALICE), xfer(acc(BOB), 1), T0).unwrap();
    assert_eq!(field(&l.block(i).unwrap(), &["fee_col"]), Some(&crate::block::account_value(&acc(CAROL))));
}

#[test]
fn deduplication_within_the_window() {
    let mut l = ledger();
    let now = T0 + 1000 * SEC;
    let mut a = xfer(acc(BOB), 10);
    a.created_at_time = Some(now);
    let first = l.transfer(p(ALICE), a.clone(), now).unwrap();
    assert_eq!(l.transfer(p(ALICE), a.clone(), now + SEC), reject(TransferError::Duplicate { duplicate_of: first.into() }));
    // Any difference makes another transaction: memo, fee given explicitly, subaccount given,
    // another caller.
    let mut m = a.clone();
    m.memo = Some(Memo::from(vec![1]));
    assert!(l.transfer(p(ALICE), m.clone(), now).is_ok());
    assert!(matches!(l.transfer(p(ALICE), m, now), Err(Failure::Reject(TransferError::Duplicate { .. }))));
    let mut f = a.clone();
    f.fee = Some(FEE.into());
    assert!(l.transfer(p(ALICE), f, now).is_ok());
    let mut s = a.clone();
    s.to = sub(BOB, 0);
    assert!(l.transfer(p(ALICE), s, now).is_ok());
    let mut fs = a.clone();
    fs.from_subaccount = Some([0; 32]);
    assert!(l.transfer(p(ALICE), fs, now).is_ok());
    l.transfer(p(ALICE), xfer(acc(CAROL), 100_000), now).unwrap();
    assert!(l.transfer(p(CAROL), a.clone(), now).is_ok());
    // Without created_at_time there is no deduplication.
    let plain = xfer(acc(BOB), 10);
    assert!(l.transfer(p(ALICE), plain.clone(), now).is_ok());
    assert!(l.transfer(p(ALICE), plain, now).is_ok());
    // Still a duplicate at the end of the window; TooOld after it.
    let end = now + TX_WINDOW_NANOS + PERMITTED_DRIFT_NANOS;
    assert_eq!(l.transfer(p(ALICE), a.clone(), end), reject(TransferError::Duplicate { duplicate_of: first.into() }));
    assert_eq!(l.transfer(p(ALICE), a, end + 1), reject(TransferError::TooOld));
}

#[test]
fn created_at_time_bounds() {
    let mut l = ledger();
    let now = T0 + 3 * TX_WINDOW_NANOS;
    let at = |t: u64| {
        let mut a = xfer(acc(BOB), 1);
        a.created_at_time = Some(t);
        a
    };
    assert_eq!(l.transfer(p(ALICE), at(now - TX_WINDOW_NANOS - PERMITTED_DRIFT_NANOS - 1), now), reject(TransferError::TooOld));
    assert!(l.transfer(p(ALICE), at(now - TX_WINDOW_NANOS - PERMITTED_DRIFT_NANOS), now).is_ok());
    assert!(l.transfer(p(ALICE), at(now + PERMITTED_DRIFT_NANOS), now).is_ok());
    assert_eq!(
        l.transfer(p(ALICE), at(now + PERMITTED_DRIFT_NANOS + 1), now),
        reject(TransferError::CreatedInFuture { ledger_time: now })
    );
    assert_eq!(l.transfer(p(ALICE), at(u64::MAX), now), reject(TransferError::CreatedInFuture { ledger_time: now }));
    assert_eq!(l.transfer(p(ALICE), at(0), now), reject(TransferError::TooOld));
    // Fee checks come before time checks (as in DFINITY's ledger).
    let mut a = at(0);
    a.fee = Some(1u8.into());
    assert_eq!(l.transfer(p(ALICE), a, now), reject(TransferError::BadFee { expected_fee: FEE.into() }));
}

#[test]
fn old_deduplication_entries_and_expired_allowances_are_pruned() {
    let mut l = ledger();
    for i in 0..5u64 {
        let mut a = xfer(acc(BOB), 1);
        a.created_at_time = Some(T0 + i);
        l.transfer(p(ALICE), a, T0 + 10).unwrap();
    }
    let mut a = approve_args(acc(BOB), 100);
    a.expires_at = Some(T0 + 100);
    l.approve(p(ALICE), a, T0).unwrap();
    l.approve(p(ALICE), approve_args(acc(CAROL), 100), T0).unwrap();
    assert_eq!(l.index_sizes(), (5, 2, 1));
    l.prune(T0 + TX_WINDOW_NANOS);
    assert_eq!(l.index_sizes(), (5, 1, 0), "the allowance expired, no dedup entry is old yet");
    l.prune(T0 + 2 + TX_WINDOW_NANOS + PERMITTED_DRIFT_NANOS);
    assert_eq!(l.index_sizes(), (3, 1, 0));
    l.prune(T0 + 2 * TX_WINDOW_NANOS);
    assert_eq!(l.index_sizes(), (0, 1, 0));
}

#[test]
fn approve_and_allowance() {
    let mut l = ledger();
    assert_eq!(l.approve(p(ALICE), approve_args(acc(BOB), 500), T0), Ok(1));
    assert_eq!(l.allowance(&acc(ALICE), &acc(BOB), T0), Allowance { allowance: 500u32.into(), expires_at: None });
    assert_eq!(l.allowance(&acc(ALICE), &sub(BOB, 1), T0).allowance, 0u8);
    assert_eq!(l.allowance(&sub(ALICE, 0), &sub(BOB, 0), T0).allowance, 500u32);
    assert_eq!(l.balance_of(&acc(ALICE)), 1_000_000 - FEE, "the approver pays the fee");
    let b = l.block(1).unwrap();
    assert_eq!(field(&b, &["tx", "op"]), Some(&text("approve")));
    assert_eq!(field(&b, &["tx", "amt"]), Some(&nat(500)));
    assert_eq!(field(&b, &["fee"]), Some(&nat(FEE)));

    // expected_allowance
    let mut a = approve_args(acc(BOB), 700);
    a.expected_allowance = Some(400u32.into());
    assert_eq!(l.approve(p(ALICE), a.clone(), T0), reject(ApproveError::AllowanceChanged { current_allowance: 500u32.into() }));
    a.expected_allowance = Some(500u32.into());
    assert!(l.approve(p(ALICE), a, T0).is_ok());
    assert_eq!(l.allowance(&acc(ALICE), &acc(BOB), T0).allowance, 700u32);

    // expires_at
    let mut a = approve_args(acc(BOB), 1);
    a.expires_at = Some(T0);
    assert_eq!(l.approve(p(ALICE), a.clone(), T0), reject(ApproveError::Expired { ledger_time: T0 }));
    a.expires_at = Some(T0 + 10);
    assert!(l.approve(p(ALICE), a, T0).is_ok());
    assert_eq!(l.allowance(&acc(ALICE), &acc(BOB), T0 + 9), Allowance { allowance: 1u8.into(), expires_at: Some(T0 + 10) });
    assert_eq!(l.allowance(&acc(ALICE), &acc(BOB), T0 + 10), Allowance { allowance: 0u8.into(), expires_at: None });
    // An expired allowance is 0 for expected_allowance.
    let mut a = approve_args(acc(BOB), 3);
    a.expected_allowance = Some(0u8.into());
    assert!(l.approve(p(ALICE), a, T0 + 11).is_ok());

    // fee
    let mut a = approve_args(acc(BOB), 1);
    a.fee = Some(1u8.into());
    assert_eq!(l.approve(p(ALICE), a, T0), reject(ApproveError::BadFee { expected_fee: FEE.into() }));
    // InsufficientFunds: the fee is not covered.
    assert_eq!(
        l.approve(p(CAROL), approve_args(acc(BOB), 1), T0),
        reject(ApproveError::InsufficientFunds { balance: 0u8.into() })
    );
    // Amounts beyond 128 bits are capped.
    let mut a = approve_args(acc(CAROL), 0);
    a.amount = Nat::from(u128::MAX) + Nat::from(1u8);
    l.approve(p(ALICE), a, T0).unwrap();
    assert_eq!(l.allowance(&acc(ALICE), &acc(CAROL), T0).allowance, u128::MAX);
    // Approving 0 removes the allowance.
    l.approve(p(ALICE), approve_args(acc(CAROL), 0), T0).unwrap();
    assert_eq!(l.allowance(&acc(ALICE), &acc(CAROL), T0).allowance, 0u8);
}

#[test]
fn approve_traps_like_dfinity() {
    let mut l = ledger();
    assert!(matches!(l.approve(p(ALICE), approve_args(sub(ALICE, 1), 1), T0), Err(Failure::Trap(m)) if m.contains("self approval")));
    assert!(matches!(l.approve(p(MINTER), approve_args(acc(BOB), 1), T0), Err(Failure::Trap(m)) if m.contains("minting account")));
    let mut a = approve_args(acc(BOB), 1);
    a.memo = Some(Memo::from(vec![0; 33]));
    assert!(matches!(l.approve(p(ALICE), a, T0), Err(Failure::Trap(_))));
}

#[test]
fn transfer_from_uses_the_allowance() {
    let mut l = ledger();
    assert_eq!(
        l.transfer_from(p(BOB), from_args(acc(ALICE), acc(CAROL), 100), T0),
        reject(TransferFromError::InsufficientAllowance { allowance: 0u8.into() })
    );
    l.approve(p(ALICE), approve_args(acc(BOB), 100 + FEE), T0).unwrap();
    assert_eq!(
        l.transfer_from(p(BOB), from_args(acc(ALICE), acc(CAROL), 101), T0),
        reject(TransferFromError::InsufficientAllowance { allowance: (100 + FEE).into() })
    );
    let i = l.transfer_from(p(BOB), from_args(acc(ALICE), acc(CAROL), 60), T0).unwrap();
    assert_eq!(l.balance_of(&acc(CAROL)), 60);
    assert_eq!(l.balance_of(&acc(BOB)), 0);
    assert_eq!(l.balance_of(&acc(ALICE)), 1_000_000 - 2 * FEE - 60);
    assert_eq!(l.allowance(&acc(ALICE), &acc(BOB), T0).allowance, 40u8);
    let b = l.block(i).unwrap();
    assert_eq!(field(&b, &["tx", "op"]), Some(&text("xfer")));
    assert_eq!(field(&b, &["tx", "spender"]), Some(&crate::block::account_value(&acc(BOB))));
    // The spender's subaccount is its own account.
    let mut a = from_args(acc(ALICE), acc(CAROL), 1);
    a.spender_subaccount = Some([5; 32]);
    assert_eq!(l.transfer_from(p(BOB), a, T0), reject(TransferFromError::InsufficientAllowance { allowance: 0u8.into() }));
    // BadFee
    let mut a = from_args(acc(ALICE), acc(CAROL), 1);
    a.fee = Some(1u8.into());
    assert_eq!(l.transfer_from(p(BOB), a, T0), reject(TransferFromError::BadFee { expected_fee: FEE.into() }));
    // Self transfer_from needs no allowance.
    assert!(l.transfer_from(p(CAROL), from_args(acc(CAROL), acc(BOB), 0), T0).is_err());
    l.transfer(p(ALICE), xfer(acc(CAROL), FEE), T0).unwrap();
    assert!(l.transfer_from(p(CAROL), from_args(acc(CAROL), acc(BOB), 60), T0).is_ok());
    assert_eq!(l.balance_of(&acc(CAROL)), 0);
}

#[test]
fn transfer_from_insufficient_funds_and_expiry() {
    let mut l = ledger();
    l.transfer(p(ALICE), xfer(acc(CAROL), 2 * FEE), T0).unwrap();
    let mut a = approve_args(acc(BOB), 10 * FEE);
    a.expires_at = Some(T0 + 100);
    l.approve(p(CAROL), a, T0).unwrap();
    assert_eq!(
        l.transfer_from(p(BOB), from_args(acc(CAROL), acc(ALICE), FEE), T0),
        reject(TransferFromError::InsufficientFunds { balance: FEE.into() })
    );
    assert_eq!(l.allowance(&acc(CAROL), &acc(BOB), T0).allowance, 10 * FEE, "a failed call uses no allowance");
    assert_eq!(
        l.transfer_from(p(BOB), from_args(acc(CAROL), acc(ALICE), 1), T0 + 100),
        reject(TransferFromError::InsufficientAllowance { allowance: 0u8.into() })
    );
}

#[test]
fn transfer_from_burn_and_delegated_mint() {
    let mut l = ledger();
    l.approve(p(ALICE), approve_args(acc(BOB), 3 * FEE), T0).unwrap();
    let i = l.transfer_from(p(BOB), from_args(acc(ALICE), acc(MINTER), 2 * FEE), T0).unwrap();
    assert_eq!(l.allowance(&acc(ALICE), &acc(BOB), T0).allowance, FEE, "a burn uses the amount only");
    let b = l.block(i).unwrap();
    assert_eq!(field(&b, &["tx", "op"]), Some(&text("burn")));
    assert!(field(&b, &["tx", "spender"]).is_some());
    assert_eq!(
        l.transfer_from(p(BOB), from_args(acc(ALICE), acc(MINTER), FEE - 1), T0),
        reject(TransferFromError::BadBurn { min_burn_amount: FEE.into() })
    );
    assert!(matches!(
        l.transfer_from(p(BOB), from_args(acc(MINTER), acc(CAROL), 1), T0),
        Err(Failure::Trap(m)) if m.contains("cannot delegate mints")
    ));
}

#[test]
fn transfer_from_deduplication() {
    let mut l = ledger();
    l.approve(p(ALICE), approve_args(acc(BOB), 100 * FEE), T0).unwrap();
    let mut a = from_args(acc(ALICE), acc(CAROL), 5);
    a.created_at_time = Some(T0);
    let i = l.transfer_from(p(BOB), a.clone(), T0).unwrap();
    assert_eq!(l.transfer_from(p(BOB), a, T0), reject(TransferFromError::Duplicate { duplicate_of: i.into() }));
    let mut a = approve_args(acc(CAROL), 1);
    a.created_at_time = Some(T0);
    let j = l.approve(p(ALICE), a.clone(), T0).unwrap();
    assert_eq!(l.approve(p(ALICE), a, T0), reject(ApproveError::Duplicate { duplicate_of: j.into() }));
}

#[test]
fn icrc2_can_be_disabled() {
    let mut a = init_args();
    a.feature_flags = Some(FeatureFlags { icrc2: false });
    let mut l = ledger_with(a);
    assert!(matches!(l.approve(p(ALICE), approve_args(acc(BOB), 1), T0), Err(Failure::Trap(_))));
    assert!(matches!(l.transfer_from(p(BOB), from_args(acc(ALICE), acc(BOB), 1), T0), Err(Failure::Trap(_))));
    let names: Vec<_> = l.supported_standards().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["ICRC-1", "ICRC-3", "ICRC-10"]);
    assert!(l.supported_block_types().iter().all(|t| t.block_type.starts_with('1')));
    l.upgrade(UpgradeArgs { feature_flags: Some(FeatureFlags { icrc2: true }), ..Default::default() }).unwrap();
    assert!(l.approve(p(ALICE), approve_args(acc(BOB), 1), T0).is_ok());
}

#[test]
fn upgrade_changes_only_what_is_given() {
    let mut l = ledger();
    let before = l.config();
    l.upgrade(UpgradeArgs::default()).unwrap();
    assert_eq!(l.config(), before);
    l.upgrade(UpgradeArgs {
        token_name: Some("New".into()),
        transfer_fee: Some(7u8.into()),
        metadata: Some(vec![]),
        ..Default::default()
    })
    .unwrap();
    let c = l.config();
    assert_eq!((c.token_name.as_str(), c.token_symbol.as_str(), c.transfer_fee), ("New", "TST", 7));
    assert!(c.metadata.is_empty());
    l.transfer(p(ALICE), xfer(acc(BOB), 1), T0).unwrap();
    assert_eq!(l.balance_of(&acc(ALICE)), 1_000_000 - 8);
    assert!(l
        .upgrade(UpgradeArgs { metadata: Some(vec![("icrc1:name".into(), MetadataValue::Text("x".into()))]), ..Default::default() })
        .is_err());
}

#[test]
fn get_blocks_ranges_and_chain() {
    let mut l = ledger();
    for i in 0..9 {
        l.transfer(p(ALICE), xfer(acc(BOB), i), T0 + i as u64).unwrap();
    }
    assert_eq!(l.block_count(), 10);
    let req = |start: u64, length: u64| GetBlocksRequest { start: start.into(), length: length.into() };
    let r = l.get_blocks(&[req(2, 3), req(8, 100), req(50, 1)]);
    assert_eq!(r.log_length, 10u8);
    let ids: Vec<u64> = r.blocks.iter().map(|b| u64::try_from(&b.id.0).unwrap()).collect();
    assert_eq!(ids, [2, 3, 4, 8, 9]);
    assert!(r.archived_blocks.is_empty());
    // The chain: each phash is the hash of the previous block; the tip is the last hash.
    let all = l.get_blocks(&[req(0, 10)]).blocks;
    for w in all.windows(2) {
        let expected = ICRC3Value::Blob(ByteBuf::from(w[0].block.clone().hash().to_vec()));
        assert_eq!(field(&w[1].block, &["phash"]), Some(&expected));
    }
    assert_eq!(l.last_block(), Some((9, all[9].block.clone().hash())));
    // Huge or overflowing ranges are fine.
    let r = l.get_blocks(&[GetBlocksRequest { start: 5u8.into(), length: Nat::from(u128::MAX) * Nat::from(3u8) }]);
    assert_eq!(r.blocks.len(), 5);
    let r = l.get_blocks(&[GetBlocksRequest { start: Nat::from(u128::MAX) * Nat::from(3u8), length: 1u8.into() }]);
    assert!(r.blocks.is_empty());
}

#[test]
fn get_blocks_is_capped_per_response() {
    let mut l = ledger();
    for _ in 0..MAX_BLOCKS_PER_RESPONSE + 5 {
        l.transfer(p(MINTER), xfer(acc(BOB), 1), T0).unwrap();
    }
    let r = l.get_blocks(&[GetBlocksRequest { start: 0u8.into(), length: 5000u32.into() }]);
    assert_eq!(r.blocks.len() as u64, MAX_BLOCKS_PER_RESPONSE);
    assert_eq!(r.log_length, MAX_BLOCKS_PER_RESPONSE + 6);
}

#[test]
fn state_survives_reopening_the_memory() {
    let mem = DefaultMemoryImpl::default();
    {
        let mut l = Ledger::open(&MemoryManager::init(mem.clone()));
        l.init(init_args(), T0).unwrap();
        l.transfer(p(ALICE), xfer(acc(BOB), 5), T0).unwrap();
        l.approve(p(ALICE), approve_args(acc(BOB), 5), T0).unwrap();
    }
    let l = Ledger::open(&MemoryManager::init(mem));
    assert_eq!(l.balance_of(&acc(BOB)), 5);
    assert_eq!(l.allowance(&acc(ALICE), &acc(BOB), T0).allowance, 5u8);
    assert_eq!(l.block_count(), 3);
    assert_eq!(l.total_supply(), 1_000_000 - 2 * FEE);
    assert_eq!(l.config().token_symbol, "TST");
}

/// The sum of all balances is the total supply, whatever happens.
#[test]
fn balances_add_up_to_the_total_supply() {
    let mut a = init_args();
    a.fee_collector_account = Some(acc(COLLECTOR));
    let mut l = ledger_with(a);
    let accounts = [acc(ALICE), acc(BOB), acc(CAROL), sub(BOB, 3), acc(COLLECTOR)];
    let mut seed = 42u64;
    let mut rnd = |n: u64| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for step in 0..400u64 {
        let from = accounts[rnd(4) as usize];
        let to = accounts[rnd(5) as usize];
        let amount = rnd(50_000) as u128;
        let now = T0 + step;
        match rnd(5) {
            0 => {
                let _ = l.transfer(p(MINTER), xfer(to, amount), now);
            }
            1 => {
                let _ = l.transfer(from.owner, TransferArg { from_subaccount: from.subaccount, ..xfer(acc(MINTER), amount) }, now);
            }
            2 => {
                let _ = l.approve(from.owner, ApproveArgs { from_subaccount: from.subaccount, ..approve_args(to, amount) }, now);
            }
            3 => {
                let _ = l.transfer_from(to.owner, from_args(from, accounts[rnd(5) as usize], amount), now);
            }
            _ => {
                let _ = l.transfer(from.owner, TransferArg { from_subaccount: from.subaccount, ..xfer(to, amount) }, now);
            }
        }
        let sum: u128 = [acc(ALICE), acc(BOB), acc(CAROL), sub(BOB, 3), acc(COLLECTOR), acc(MINTER)]
            .iter()
            .map(|a| l.balance_of(a))
            .sum();
        assert_eq!(sum, l.total_supply(), "step {step}");
        assert_eq!(l.balance_of(&acc(MINTER)), 0);
    }
}
