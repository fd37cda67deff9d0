//! The `icrc_ledger` canister on localnet: mint and burn through the minting account, fees,
//! deduplication and the time window, ICRC-2, ICRC-3 blocks and the tip certificate, upgrades.

use candid::{Nat, Principal};
use icrc_ledger::types::{ChangeFeeCollector, FeatureFlags, InitArgs, LedgerArgument, StandardRecord, UpgradeArgs};
use icrc_ledger_types::icrc::generic_metadata_value::MetadataValue;
use icrc_ledger_types::icrc::generic_value::ICRC3Value;
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg, TransferError};
use icrc_ledger_types::icrc2::allowance::{Allowance, AllowanceArgs};
use icrc_ledger_types::icrc2::approve::{ApproveArgs, ApproveError};
use icrc_ledger_types::icrc2::transfer_from::{TransferFromArgs, TransferFromError};
use icrc_ledger_types::icrc3::blocks::{GetBlocksRequest, GetBlocksResult, ICRC3DataCertificate, SupportedBlockType};
use integration_tests::wasm;
use localnet::{CallError, LocalNet};
use serde_bytes::ByteBuf;
use std::time::Duration;

const FEE: u64 = 10_000;
const MINTER: u8 = 1;
const ALICE: u8 = 10;
const BOB: u8 = 11;
const CAROL: u8 = 12;
const INITIAL: u64 = 1_000_000_000;
const TX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
const PERMITTED_DRIFT: Duration = Duration::from_secs(120);

fn p(n: u8) -> Principal {
    Principal::from_slice(&[n; 29])
}

fn acc(n: u8) -> Account {
    Account { owner: p(n), subaccount: None }
}

fn sub(n: u8, s: u8) -> Account {
    Account { owner: p(n), subaccount: Some([s; 32]) }
}

fn init_args() -> InitArgs {
    InitArgs {
        minting_account: acc(MINTER),
        fee_collector_account: None,
        transfer_fee: FEE.into(),
        decimals: Some(8),
        max_memo_length: None,
        token_symbol: "LRN".into(),
        token_name: "Learn token".into(),
        metadata: vec![("icrc1:logo".into(), MetadataValue::Text("data:image/png;base64,".into()))],
        initial_balances: vec![(acc(ALICE), INITIAL.into()), (sub(BOB, 7), INITIAL.into())],
        feature_flags: Some(FeatureFlags { icrc2: true }),
    }
}

fn xfer(to: Account, amount: u64) -> TransferArg {
    TransferArg { from_subaccount: None, to, fee: None, created_at_time: None, memo: None, amount: amount.into() }
}

fn approve_args(spender: Account, amount: u64) -> ApproveArgs {
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

fn from_args(from: Account, to: Account, amount: u64) -> TransferFromArgs {
    TransferFromArgs { spender_subaccount: None, from, to, amount: amount.into(), fee: None, memo: None, created_at_time: None }
}

struct Env {
    net: LocalNet,
    ledger: Principal,
}

impl Env {
    fn new() -> Env {
        Env::with(init_args())
    }

    fn with(args: InitArgs) -> Env {
        let net = LocalNet::new();
        let ledger = net.create_canister();
        net.install_canister(ledger, wasm("icrc_ledger"), candid::encode_one(LedgerArgument::Init(args)).unwrap(), None);
        Env { net, ledger }
    }

    fn now(&self) -> u64 {
        self.net.get_time_nanos()
    }

    fn update<A: candid::CandidType, R: for<'de> candid::Deserialize<'de> + candid::CandidType>(
        &self,
        caller: Principal,
        method: &str,
        arg: A,
    ) -> Result<R, CallError> {
        self.net.update_candid_as::<_, (R,)>(self.ledger, caller, method, (arg,)).map(|(r,)| r)
    }

    fn query<A: candid::utils::ArgumentEncoder, R: for<'de> candid::Deserialize<'de> + candid::CandidType>(
        &self,
        method: &str,
        args: A,
    ) -> R {
        self.net.query_candid::<_, (R,)>(self.ledger, method, args).unwrap_or_else(|e| panic!("{method}: {e}")).0
    }

    fn transfer(&self, caller: u8, arg: TransferArg) -> Result<Nat, TransferError> {
        self.update(p(caller), "icrc1_transfer", arg).unwrap()
    }

    fn approve(&self, caller: u8, arg: ApproveArgs) -> Result<Nat, ApproveError> {
        self.update(p(caller), "icrc2_approve", arg).unwrap()
    }

    fn transfer_from(&self, caller: u8, arg: TransferFromArgs) -> Result<Nat, TransferFromError> {
        self.update(p(caller), "icrc2_transfer_from", arg).unwrap()
    }

    fn balance(&self, account: Account) -> Nat {
        self.query("icrc1_balance_of", (account,))
    }

    fn supply(&self) -> Nat {
        self.query("icrc1_total_supply", ())
    }

    fn allowance(&self, account: Account, spender: Account) -> Allowance {
        self.query("icrc2_allowance", (AllowanceArgs { account, spender },))
    }

    fn blocks(&self, ranges: &[(u64, u64)]) -> GetBlocksResult {
        let reqs: Vec<GetBlocksRequest> =
            ranges.iter().map(|(s, l)| GetBlocksRequest { start: (*s).into(), length: (*l).into() }).collect();
        self.query("icrc3_get_blocks", (reqs,))
    }

    fn block(&self, index: u64) -> ICRC3Value {
        let r = self.blocks(&[(index, 1)]);
        assert_eq!(r.blocks.len(), 1, "block {index} not found");
        assert_eq!(r.blocks[0].id, index);
        r.blocks[0].block.clone()
    }

    fn log_length(&self) -> u64 {
        u64::try_from(&self.blocks(&[]).log_length.0).unwrap()
    }
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

fn nat(n: u64) -> ICRC3Value {
    ICRC3Value::Nat(n.into())
}

fn account_value(a: &Account) -> ICRC3Value {
    let mut v = vec![ICRC3Value::Blob(ByteBuf::from(a.owner.as_slice().to_vec()))];
    if let Some(s) = a.subaccount {
        v.push(ICRC3Value::Blob(ByteBuf::from(s.to_vec())));
    }
    ICRC3Value::Array(v)
}

fn assert_traps(r: Result<impl std::fmt::Debug, CallError>, needle: &str) {
    match r {
        Err(CallError::Reject(reject)) => {
            assert!(reject.reject_message.contains(needle), "expected a trap with {needle:?}, got {reject}")
        }
        other => panic!("expected a trap with {needle:?}, got {other:?}"),
    }
}

#[test]
fn metadata_and_standards() {
    let env = Env::new();
    assert_eq!(env.query::<_, String>("icrc1_name", ()), "Learn token");
    assert_eq!(env.query::<_, String>("icrc1_symbol", ()), "LRN");
    assert_eq!(env.query::<_, u8>("icrc1_decimals", ()), 8);
    assert_eq!(env.query::<_, Nat>("icrc1_fee", ()), FEE);
    assert_eq!(env.query::<_, Option<Account>>("icrc1_minting_account", ()), Some(acc(MINTER)));
    assert_eq!(env.supply(), 2 * INITIAL);
    assert_eq!(env.balance(acc(ALICE)), INITIAL);
    assert_eq!(env.balance(sub(BOB, 7)), INITIAL);
    assert_eq!(env.balance(acc(BOB)), 0u8);
    let metadata: Vec<(String, MetadataValue)> = env.query("icrc1_metadata", ());
    let keys: Vec<&str> = metadata.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["icrc1:decimals", "icrc1:name", "icrc1:symbol", "icrc1:fee", "icrc1:max_memo_length", "icrc1:logo"]);
    let standards: Vec<StandardRecord> = env.query("icrc1_supported_standards", ());
    let names: Vec<&str> = standards.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["ICRC-1", "ICRC-2", "ICRC-3", "ICRC-10"]);
    assert!(standards.iter().all(|s| s.url.starts_with("https://github.com/dfinity/ICRC")));
    let icrc10: Vec<StandardRecord> = env.query("icrc10_supported_standards", ());
    assert_eq!(icrc10, standards);
    let types: Vec<SupportedBlockType> = env.query("icrc3_supported_block_types", ());
    let types: Vec<&str> = types.iter().map(|t| t.block_type.as_str()).collect();
    assert_eq!(types, ["1burn", "1mint", "1xfer", "2approve", "2burn", "2xfer"]);
    // The interface is embedded as candid:service metadata.
    let did = env.net.canister_metadata(env.ledger, "candid:service").expect("candid:service metadata");
    assert!(String::from_utf8(did).unwrap().contains("icrc1_transfer"));
}

#[test]
fn install_and_upgrade_arguments_are_checked() {
    let net = LocalNet::new();
    let ledger = net.create_canister();
    let upgrade_arg = candid::encode_one(LedgerArgument::Upgrade(None)).unwrap();
    let err = net.install_code(
        ledger,
        localnet::management_types::CanisterInstallMode::Install,
        wasm("icrc_ledger"),
        upgrade_arg,
        None,
    );
    assert!(err.unwrap_err().reject_message.contains("use Init"));
    let mut bad = init_args();
    bad.metadata.push(("icrc1:fee".into(), MetadataValue::Nat(1u8.into())));
    let err = net.install_code(
        ledger,
        localnet::management_types::CanisterInstallMode::Install,
        wasm("icrc_ledger"),
        candid::encode_one(LedgerArgument::Init(bad)).unwrap(),
        None,
    );
    assert!(err.unwrap_err().reject_message.contains("reserved"));
}

#[test]
fn transfers_and_fees() {
    let env = Env::new();
    let i = env.transfer(ALICE, xfer(acc(CAROL), 1_000)).unwrap();
    assert_eq!(i, 2u8, "blocks 0 and 1 are the initial mints");
    assert_eq!(env.balance(acc(CAROL)), 1_000u32);
    assert_eq!(env.balance(acc(ALICE)), INITIAL - 1_000 - FEE);
    assert_eq!(env.supply(), 2 * INITIAL - FEE, "the fee is burnt");
    // An explicit zero subaccount is the default account, on both sides.
    let mut a = xfer(sub(CAROL, 0), 500);
    a.from_subaccount = Some([0; 32]);
    env.transfer(ALICE, a).unwrap();
    assert_eq!(env.balance(acc(CAROL)), 1_500u32);
    assert_eq!(env.balance(sub(CAROL, 0)), 1_500u32);
    // From a subaccount.
    let mut a = xfer(acc(CAROL), 1);
    a.from_subaccount = Some([7; 32]);
    env.transfer(BOB, a).unwrap();
    assert_eq!(env.balance(sub(BOB, 7)), INITIAL - 1 - FEE);
    // BadFee / InsufficientFunds.
    let mut a = xfer(acc(CAROL), 1);
    a.fee = Some((FEE - 1).into());
    assert_eq!(env.transfer(ALICE, a), Err(TransferError::BadFee { expected_fee: FEE.into() }));
    assert_eq!(env.transfer(CAROL, xfer(acc(ALICE), 1_501)), Err(TransferError::InsufficientFunds { balance: 1_501u32.into() }));
    let mut a = xfer(acc(BOB), 1);
    a.fee = Some(FEE.into());
    assert!(env.transfer(ALICE, a).is_ok());
    // A memo of max_memo_length (32) bytes is accepted; a longer one traps.
    let mut a = xfer(acc(BOB), 1);
    a.memo = Some(Memo::from(vec![1; 32]));
    assert!(env.transfer(ALICE, a.clone()).is_ok());
    a.memo = Some(Memo::from(vec![1; 33]));
    assert_traps(env.update::<_, Result<Nat, TransferError>>(p(ALICE), "icrc1_transfer", a), "memo field size of 33 bytes");
}

#[test]
fn mint_and_burn_through_the_minting_account() {
    let env = Env::new();
    // Mint: fee absent or 0.
    let i = env.transfer(MINTER, xfer(acc(CAROL), 5_000)).unwrap();
    let mut a = xfer(acc(CAROL), 5_000);
    a.fee = Some(0u8.into());
    env.transfer(MINTER, a).unwrap();
    assert_eq!(env.balance(acc(CAROL)), 10_000u32);
    assert_eq!(env.supply(), 2 * INITIAL + 10_000);
    assert_eq!(env.balance(acc(MINTER)), 0u8);
    let mut a = xfer(acc(CAROL), 5_000);
    a.fee = Some(FEE.into());
    assert_eq!(env.transfer(MINTER, a), Err(TransferError::BadFee { expected_fee: 0u8.into() }));
    let mint = env.block(u64::try_from(&i.0).unwrap());
    assert_eq!(field(&mint, &["tx", "op"]), Some(&text("mint")));
    assert_eq!(field(&mint, &["tx", "to"]), Some(&account_value(&acc(CAROL))));
    assert_eq!(field(&mint, &["tx", "amt"]), Some(&nat(5_000)));
    assert!(field(&mint, &["tx", "from"]).is_none() && field(&mint, &["fee"]).is_none());

    // Burn: fee absent or 0, amount at least the fee.
    let i = env.transfer(ALICE, xfer(acc(MINTER), FEE)).unwrap();
    assert_eq!(env.balance(acc(ALICE)), INITIAL - FEE, "a burn pays no fee");
    assert_eq!(env.supply(), 2 * INITIAL + 10_000 - FEE);
    assert_eq!(env.transfer(ALICE, xfer(acc(MINTER), FEE - 1)), Err(TransferError::BadBurn { min_burn_amount: FEE.into() }));
    assert_eq!(env.transfer(ALICE, xfer(acc(MINTER), 0)), Err(TransferError::BadBurn { min_burn_amount: FEE.into() }));
    let mut a = xfer(sub(MINTER, 0), FEE);
    a.fee = Some(FEE.into());
    assert_eq!(env.transfer(ALICE, a.clone()), Err(TransferError::BadFee { expected_fee: 0u8.into() }));
    a.fee = Some(0u8.into());
    assert!(env.transfer(ALICE, a).is_ok(), "fee 0 is accepted and the explicit zero subaccount is the minter");
    let burn = env.block(u64::try_from(&i.0).unwrap());
    assert_eq!(field(&burn, &["tx", "op"]), Some(&text("burn")));
    assert_eq!(field(&burn, &["tx", "from"]), Some(&account_value(&acc(ALICE))));
    assert!(field(&burn, &["tx", "to"]).is_none() && field(&burn, &["fee"]).is_none());
    assert_eq!(env.balance(acc(MINTER)), 0u8);
}

#[test]
fn deduplication_and_the_time_window() {
    let env = Env::new();
    let now = env.now();
    let mut a = xfer(acc(CAROL), 100);
    a.created_at_time = Some(now);
    a.memo = Some(Memo::from(b"invoice-1".to_vec()));
    let first = env.transfer(ALICE, a.clone()).unwrap();
    assert_eq!(env.transfer(ALICE, a.clone()), Err(TransferError::Duplicate { duplicate_of: first.clone() }));
    assert_eq!(env.balance(acc(CAROL)), 100u8);
    // Another memo is another transaction.
    let mut b = a.clone();
    b.memo = Some(Memo::from(b"invoice-2".to_vec()));
    let second = env.transfer(ALICE, b.clone()).unwrap();
    assert_ne!(first, second);
    // Duplicates of mints and burns too.
    let mut m = xfer(acc(CAROL), 1);
    m.created_at_time = Some(now);
    let minted = env.transfer(MINTER, m.clone()).unwrap();
    assert_eq!(env.transfer(MINTER, m), Err(TransferError::Duplicate { duplicate_of: minted }));

    // Still a duplicate 24 h later (the window is 24 h + 2 min of drift) ...
    env.net.advance_time(TX_WINDOW);
    env.net.tick();
    assert_eq!(env.transfer(ALICE, a.clone()), Err(TransferError::Duplicate { duplicate_of: first }));
    // ... and too old after the window.
    env.net.advance_time(PERMITTED_DRIFT + Duration::from_secs(1));
    env.net.tick();
    assert_eq!(env.transfer(ALICE, a), Err(TransferError::TooOld));
    assert_eq!(env.balance(acc(CAROL)), 201u8);

    // In the future: at most 2 minutes.
    let now = env.now();
    let mut f = xfer(acc(CAROL), 1);
    f.created_at_time = Some(now + PERMITTED_DRIFT.as_nanos() as u64);
    assert!(env.transfer(ALICE, f.clone()).is_ok());
    f.created_at_time = Some(now + PERMITTED_DRIFT.as_nanos() as u64 + 1_000_000_000);
    match env.transfer(ALICE, f) {
        Err(TransferError::CreatedInFuture { ledger_time }) => {
            assert!(ledger_time >= now && ledger_time <= env.now(), "ledger_time {ledger_time} is the ledger's clock")
        }
        other => panic!("expected CreatedInFuture, got {other:?}"),
    }
}

#[test]
fn icrc2_approve_allowance_transfer_from() {
    let env = Env::new();
    assert_eq!(env.allowance(acc(ALICE), acc(BOB)), Allowance { allowance: 0u8.into(), expires_at: None });
    env.approve(ALICE, approve_args(acc(BOB), 50_000)).unwrap();
    assert_eq!(env.balance(acc(ALICE)), INITIAL - FEE, "the approver pays the approve fee");
    assert_eq!(env.allowance(acc(ALICE), acc(BOB)).allowance, 50_000u32);
    assert_eq!(env.allowance(acc(ALICE), sub(BOB, 1)).allowance, 0u8);

    // transfer_from uses amount + fee of the allowance.
    let i = env.transfer_from(BOB, from_args(acc(ALICE), acc(CAROL), 30_000)).unwrap();
    assert_eq!(env.balance(acc(CAROL)), 30_000u32);
    assert_eq!(env.balance(acc(ALICE)), INITIAL - 2 * FEE - 30_000);
    assert_eq!(env.allowance(acc(ALICE), acc(BOB)).allowance, 50_000 - 30_000 - FEE);
    let block = env.block(u64::try_from(&i.0).unwrap());
    assert_eq!(field(&block, &["tx", "op"]), Some(&text("xfer")));
    assert_eq!(field(&block, &["tx", "spender"]), Some(&account_value(&acc(BOB))));
    assert_eq!(field(&block, &["tx", "from"]), Some(&account_value(&acc(ALICE))));
    assert_eq!(
        env.transfer_from(BOB, from_args(acc(ALICE), acc(CAROL), 1)),
        Err(TransferFromError::InsufficientAllowance { allowance: (50_000 - 30_000 - FEE).into() })
    );
    assert_eq!(
        env.transfer_from(CAROL, from_args(acc(ALICE), acc(CAROL), 1)),
        Err(TransferFromError::InsufficientAllowance { allowance: 0u8.into() })
    );

    // expected_allowance
    let mut a = approve_args(acc(BOB), 100_000);
    a.expected_allowance = Some(1u8.into());
    assert_eq!(
        env.approve(ALICE, a.clone()),
        Err(ApproveError::AllowanceChanged { current_allowance: (50_000 - 30_000 - FEE).into() })
    );
    a.expected_allowance = Some((50_000 - 30_000 - FEE).into());
    env.approve(ALICE, a).unwrap();
    assert_eq!(env.allowance(acc(ALICE), acc(BOB)).allowance, 100_000u32);

    // expires_at: in the past -> Expired; in the future -> it lapses with time.
    let now = env.now();
    let mut a = approve_args(acc(CAROL), 1_000_000);
    a.expires_at = Some(now - 1);
    assert!(matches!(env.approve(ALICE, a.clone()), Err(ApproveError::Expired { .. })));
    a.expires_at = Some(now + 3_600_000_000_000);
    env.approve(ALICE, a).unwrap();
    assert_eq!(env.allowance(acc(ALICE), acc(CAROL)).expires_at, Some(now + 3_600_000_000_000));
    env.transfer_from(CAROL, from_args(acc(ALICE), acc(CAROL), 1)).unwrap();
    env.net.advance_time(Duration::from_secs(3_601));
    env.net.tick();
    assert_eq!(env.allowance(acc(ALICE), acc(CAROL)), Allowance { allowance: 0u8.into(), expires_at: None });
    assert_eq!(
        env.transfer_from(CAROL, from_args(acc(ALICE), acc(CAROL), 1)),
        Err(TransferFromError::InsufficientAllowance { allowance: 0u8.into() })
    );

    // Fees and funds.
    let mut a = approve_args(acc(CAROL), 1);
    a.fee = Some(1u8.into());
    assert_eq!(env.approve(ALICE, a), Err(ApproveError::BadFee { expected_fee: FEE.into() }));
    assert_eq!(
        env.approve(MINTER + 100, approve_args(acc(CAROL), 1)),
        Err(ApproveError::InsufficientFunds { balance: 0u8.into() })
    );
    let mut t = from_args(acc(ALICE), acc(CAROL), 1);
    t.fee = Some(0u8.into());
    assert_eq!(env.transfer_from(BOB, t), Err(TransferFromError::BadFee { expected_fee: FEE.into() }));

    // transfer_from to the minting account burns (amount only, from the allowance).
    let before = env.allowance(acc(ALICE), acc(BOB)).allowance;
    let i = env.transfer_from(BOB, from_args(acc(ALICE), acc(MINTER), FEE)).unwrap();
    assert_eq!(env.allowance(acc(ALICE), acc(BOB)).allowance, before - Nat::from(FEE));
    assert_eq!(field(&env.block(u64::try_from(&i.0).unwrap()), &["tx", "op"]), Some(&text("burn")));

    // Traps, as DFINITY's ledger: self-approval, approvals by the minter, delegated mints.
    assert_traps(env.update::<_, Result<Nat, ApproveError>>(p(ALICE), "icrc2_approve", approve_args(sub(ALICE, 3), 1)), "self approval");
    assert_traps(env.update::<_, Result<Nat, ApproveError>>(p(MINTER), "icrc2_approve", approve_args(acc(BOB), 1)), "minting account");
    assert_traps(
        env.update::<_, Result<Nat, TransferFromError>>(p(BOB), "icrc2_transfer_from", from_args(acc(MINTER), acc(BOB), 1)),
        "cannot delegate mints",
    );

    // The approve block.
    let last = env.log_length() - 1;
    env.approve(ALICE, approve_args(sub(CAROL, 4), 77)).unwrap();
    let block = env.block(last + 1);
    assert_eq!(field(&block, &["tx", "op"]), Some(&text("approve")));
    assert_eq!(field(&block, &["tx", "spender"]), Some(&account_value(&sub(CAROL, 4))));
    assert_eq!(field(&block, &["tx", "amt"]), Some(&nat(77)));
    assert_eq!(field(&block, &["fee"]), Some(&nat(FEE)));
}

#[test]
fn icrc2_disabled() {
    let mut args = init_args();
    args.feature_flags = Some(FeatureFlags { icrc2: false });
    let env = Env::with(args);
    assert_traps(env.update::<_, Result<Nat, ApproveError>>(p(ALICE), "icrc2_approve", approve_args(acc(BOB), 1)), "ICRC-2");
    let standards: Vec<StandardRecord> = env.query("icrc1_supported_standards", ());
    assert!(standards.iter().all(|s| s.name != "ICRC-2"));
}

/// ICRC-3: lengths, indices, the phash chain, block contents, and the tip certificate.
#[test]
fn icrc3_blocks_and_tip_certificate() {
    let env = Env::new();
    let t0 = env.now();
    let mut a = xfer(sub(CAROL, 2), 123);
    a.memo = Some(Memo::from(vec![9, 9]));
    a.created_at_time = Some(t0);
    env.transfer(ALICE, a).unwrap(); // 2
    env.transfer(MINTER, xfer(acc(CAROL), 7)).unwrap(); // 3
    env.transfer(ALICE, xfer(acc(MINTER), FEE)).unwrap(); // 4
    env.approve(ALICE, approve_args(acc(BOB), 2 * FEE)).unwrap(); // 5
    env.transfer_from(BOB, from_args(acc(ALICE), acc(BOB), 1)).unwrap(); // 6
    assert_eq!(env.log_length(), 7);

    let all = env.blocks(&[(0, 100)]);
    assert_eq!(all.log_length, 7u8);
    assert!(all.archived_blocks.is_empty());
    let ids: Vec<u64> = all.blocks.iter().map(|b| u64::try_from(&b.id.0).unwrap()).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4, 5, 6]);
    let ops: Vec<&ICRC3Value> = all.blocks.iter().map(|b| field(&b.block, &["tx", "op"]).unwrap()).collect();
    assert_eq!(ops, [&text("mint"), &text("mint"), &text("xfer"), &text("mint"), &text("burn"), &text("approve"), &text("xfer")]);
    // The chain: no phash in block 0, then the hash of the previous block.
    assert!(field(&all.blocks[0].block, &["phash"]).is_none());
    for w in all.blocks.windows(2) {
        let expected = ICRC3Value::Blob(ByteBuf::from(w[0].block.clone().hash().to_vec()));
        assert_eq!(field(&w[1].block, &["phash"]), Some(&expected));
    }
    // Contents of the transfer: what the caller gave, the effective fee, the ledger's time.
    let b2 = &all.blocks[2].block;
    assert_eq!(field(b2, &["tx", "from"]), Some(&account_value(&acc(ALICE))));
    assert_eq!(field(b2, &["tx", "to"]), Some(&account_value(&sub(CAROL, 2))));
    assert_eq!(field(b2, &["tx", "amt"]), Some(&nat(123)));
    assert_eq!(field(b2, &["tx", "memo"]), Some(&ICRC3Value::Blob(ByteBuf::from(vec![9, 9]))));
    assert_eq!(field(b2, &["tx", "ts"]), Some(&nat(t0)));
    assert!(field(b2, &["tx", "fee"]).is_none());
    assert_eq!(field(b2, &["fee"]), Some(&nat(FEE)));
    match field(b2, &["ts"]) {
        Some(ICRC3Value::Nat(ts)) => assert!(*ts >= t0 && *ts <= env.now()),
        other => panic!("{other:?}"),
    }
    assert_eq!(field(&all.blocks[6].block, &["tx", "spender"]), Some(&account_value(&acc(BOB))));

    // Several ranges, clamped to the log.
    let r = env.blocks(&[(1, 2), (5, 10), (40, 3)]);
    let ids: Vec<u64> = r.blocks.iter().map(|b| u64::try_from(&b.id.0).unwrap()).collect();
    assert_eq!(ids, [1, 2, 5, 6]);
    assert_eq!(r.blocks[0].block, all.blocks[1].block);

    // Tip certificate: the hash tree names the last block; its root hash is certified.
    let cert: Option<ICRC3DataCertificate> = env.query("icrc3_get_tip_certificate", ());
    let cert = cert.expect("a tip certificate in a query");
    let last_hash = all.blocks[6].block.clone().hash();
    assert_eq!(cert.hash_tree.to_vec(), icrc_ledger::certification::hash_tree_cbor(6, &last_hash));
    let root = icrc_ledger::certification::root_hash(6, &last_hash);
    assert!(
        cert.certificate.windows(32).any(|w| w == root),
        "the certificate does not contain the root hash of the tip tree as certified data"
    );
}

#[test]
fn upgrades_keep_the_state_and_apply_arguments() {
    let env = Env::new();
    env.transfer(ALICE, xfer(acc(CAROL), 1_000)).unwrap();
    env.approve(ALICE, approve_args(acc(BOB), 5_000)).unwrap();
    let blocks_before = env.blocks(&[(0, 100)]);

    // No argument at all, then Upgrade(None): nothing changes.
    env.net.upgrade_canister(env.ledger, wasm("icrc_ledger"), vec![], None).unwrap();
    env.net
        .upgrade_canister(env.ledger, wasm("icrc_ledger"), candid::encode_one(LedgerArgument::Upgrade(None)).unwrap(), None)
        .unwrap();
    assert_eq!(env.blocks(&[(0, 100)]), blocks_before);
    assert_eq!(env.balance(acc(CAROL)), 1_000u32);
    assert_eq!(env.allowance(acc(ALICE), acc(BOB)).allowance, 5_000u32);

    // An Init argument on upgrade is refused; the ledger keeps running.
    let err = env
        .net
        .upgrade_canister(env.ledger, wasm("icrc_ledger"), candid::encode_one(LedgerArgument::Init(init_args())).unwrap(), None)
        .unwrap_err();
    assert!(err.reject_message.contains("use Upgrade"), "{err}");
    assert_eq!(env.balance(acc(CAROL)), 1_000u32);

    // Upgrade arguments: fee, symbol, fee collector.
    let upgrade = UpgradeArgs {
        transfer_fee: Some(5u8.into()),
        token_symbol: Some("LRN2".into()),
        change_fee_collector: Some(ChangeFeeCollector::SetTo(acc(200))),
        ..Default::default()
    };
    env.net
        .upgrade_canister(
            env.ledger,
            wasm("icrc_ledger"),
            candid::encode_one(LedgerArgument::Upgrade(Some(upgrade))).unwrap(),
            None,
        )
        .unwrap();
    assert_eq!(env.query::<_, Nat>("icrc1_fee", ()), 5u8);
    assert_eq!(env.query::<_, String>("icrc1_symbol", ()), "LRN2");
    assert_eq!(env.query::<_, String>("icrc1_name", ()), "Learn token");
    let i = env.transfer(CAROL, xfer(acc(BOB), 10)).unwrap();
    assert_eq!(env.balance(acc(CAROL)), 1_000u32 - 10 - 5);
    assert_eq!(env.balance(acc(200)), 5u8, "the fee went to the collector");
    let block = env.block(u64::try_from(&i.0).unwrap());
    assert_eq!(field(&block, &["fee_col"]), Some(&account_value(&acc(200))));
    // The chain continues across upgrades.
    let prev = env.block(u64::try_from(&i.0).unwrap() - 1);
    assert_eq!(field(&block, &["phash"]), Some(&ICRC3Value::Blob(ByteBuf::from(prev.hash().to_vec()))));
    let cert: Option<ICRC3DataCertificate> = env.query("icrc3_get_tip_certificate", ());
    assert!(cert.is_some());
}

/// Each update is a few instructions' worth of work; a guard against accidental blow-ups
/// (e.g. scanning all balances), not a benchmark.
#[test]
fn a_transfer_costs_a_bounded_number_of_instructions() {
    let env = Env::new();
    for i in 0..50u64 {
        env.transfer(MINTER, xfer(sub(CAROL, (i % 200) as u8), 1_000_000)).unwrap();
    }
    let bytes = candid::encode_one(xfer(acc(BOB), 1)).unwrap();
    let (r, records) = env.net.update_call_with_stats(env.ledger, p(ALICE), "icrc1_transfer", bytes);
    r.unwrap();
    let instructions: u64 = records.iter().map(|r| r.instructions).sum();
    println!("icrc1_transfer: {instructions} instructions");
    assert!(instructions < 5_000_000, "{instructions} instructions for one transfer");
}
