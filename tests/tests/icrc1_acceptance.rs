//! DFINITY's published ICRC-1 acceptance test suite (crates `icrc1-test-suite` and
//! `icrc1-test-env`) run against the `icrc_ledger` canister on localnet.
//!
//! [`LocalNetLedger`] implements the suite's `LedgerEnv` over localnet: a fork is a new
//! principal (self-authenticating, unique) calling the same ledger on the same network; time is
//! localnet's clock; calls are localnet ingress updates and queries with Candid arguments.
//! localnet is single-threaded (`LocalNet` is `!Sync`) and the trait is `?Send`, so the
//! environment shares it through an `Rc` and the futures are driven by
//! `futures::executor::block_on` (every call completes synchronously, nothing ever waits).

use anyhow::{anyhow, Context};
use async_trait::async_trait;
use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{Nat, Principal};
use futures::executor::block_on;
use icrc1_test_env::LedgerEnv;
use icrc1_test_suite::{Outcome, TestResult};
use icrc_ledger::types::{InitArgs, LedgerArgument};
use icrc_ledger_types::icrc1::account::Account;
use integration_tests::wasm;
use localnet::LocalNet;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::SystemTime;

/// The ledger environment of the acceptance suite over localnet.
#[derive(Clone)]
struct LocalNetLedger {
    net: Rc<LocalNet>,
    ledger: Principal,
    caller: Principal,
    /// Shared by every fork: the next fresh identity.
    next_identity: Rc<Cell<u64>>,
}

fn identity(n: u64) -> Principal {
    Principal::self_authenticating(format!("icrc1-acceptance-identity-{n}"))
}

impl LocalNetLedger {
    fn call<Input, Output>(&self, method: &str, input: Input, update: bool) -> anyhow::Result<Output>
    where
        Input: ArgumentEncoder + std::fmt::Debug,
        Output: for<'a> ArgumentDecoder<'a>,
    {
        let what = format!("{} {method}{input:?}", if update { "update" } else { "query" });
        let bytes = candid::encode_args(input).with_context(|| format!("encoding the arguments of {what}"))?;
        let reply = if update {
            self.net.update_call(self.ledger, self.caller, method, bytes)
        } else {
            self.net.query_call(self.ledger, self.caller, method, bytes)
        }
        .map_err(|r| anyhow!("{what} was rejected: {r}"))?;
        candid::decode_args(&reply).with_context(|| format!("decoding the reply of {what}"))
    }
}

#[async_trait(?Send)]
impl LedgerEnv for LocalNetLedger {
    fn fork(&self) -> Self {
        let n = self.next_identity.get();
        self.next_identity.set(n + 1);
        LocalNetLedger { caller: identity(n), ..self.clone() }
    }

    fn principal(&self) -> Principal {
        self.caller
    }

    async fn time(&self) -> SystemTime {
        self.net.get_time()
    }

    async fn query<Input, Output>(&self, method: &str, input: Input) -> anyhow::Result<Output>
    where
        Input: ArgumentEncoder + std::fmt::Debug,
        Output: for<'a> ArgumentDecoder<'a>,
    {
        self.call(method, input, false)
    }

    async fn update<Input, Output>(&self, method: &str, input: Input) -> anyhow::Result<Output>
    where
        Input: ArgumentEncoder + std::fmt::Debug,
        Output: for<'a> ArgumentDecoder<'a>,
    {
        self.call(method, input, true)
    }
}

/// The suite's tests by name, exactly as `icrc1_test_suite::test_suite` lists them for a ledger
/// that supports ICRC-1 and ICRC-2 (the suite's `Test` type does not expose its names).
type NamedTest = (&'static str, Pin<Box<dyn Future<Output = TestResult>>>);

fn named_tests(env: &LocalNetLedger) -> Vec<NamedTest> {
    use icrc1_test_suite::*;
    let e = || env.clone();
    vec![
        ("icrc1:transfer", Box::pin(icrc1_test_transfer(e()))),
        ("icrc1:burn", Box::pin(icrc1_test_burn(e()))),
        ("icrc1:metadata", Box::pin(icrc1_test_metadata(e()))),
        ("icrc1:supported_standards", Box::pin(icrc1_test_supported_standards(e()))),
        ("icrc1:tx_deduplication", Box::pin(icrc1_test_tx_deduplication(e()))),
        ("icrc1:memo_bytes_length", Box::pin(icrc1_test_memo_bytes_length(e()))),
        ("icrc1:future_transfers", Box::pin(icrc1_test_future_transfer(e()))),
        ("icrc1:bad_fee", Box::pin(icrc1_test_bad_fee(e()))),
        ("icrc2:supported_standards", Box::pin(icrc2_test_supported_standards(e()))),
        ("icrc2:approve", Box::pin(icrc2_test_approve(e()))),
        ("icrc2:approve_expiration", Box::pin(icrc2_test_approve_expiration(e()))),
        ("icrc2:approve_expected_allowance", Box::pin(icrc2_test_approve_expected_allowance(e()))),
        ("icrc2:transfer_from", Box::pin(icrc2_test_transfer_from(e()))),
        ("icrc2:transfer_from_insufficient_funds", Box::pin(icrc2_test_transfer_from_insufficient_funds(e()))),
        ("icrc2:transfer_from_insufficient_allowance", Box::pin(icrc2_test_transfer_from_insufficient_allowance(e()))),
        ("icrc2:transfer_from_self", Box::pin(icrc2_test_transfer_from_self(e()))),
    ]
}

/// Installs a ledger (arguments changed by `configure`) whose test principal (identity 0) holds
/// 10^11 tokens; returns the test principal's environment.
fn install(net: &Rc<LocalNet>, configure: impl FnOnce(&mut InitArgs)) -> LocalNetLedger {
    let test_principal = identity(0);
    let next_identity = Rc::new(Cell::new(1));
    let mut args = InitArgs {
        minting_account: Account { owner: Principal::self_authenticating("icrc1-acceptance-minter"), subaccount: None },
        fee_collector_account: None,
        transfer_fee: Nat::from(10_000u32),
        decimals: None,
        max_memo_length: None,
        token_symbol: "ACC".into(),
        token_name: "Acceptance token".into(),
        metadata: vec![],
        initial_balances: vec![(Account { owner: test_principal, subaccount: None }, Nat::from(100_000_000_000u64))],
        feature_flags: None,
    };
    configure(&mut args);
    let ledger = net.create_canister();
    net.install_canister(ledger, wasm("icrc_ledger"), candid::encode_one(LedgerArgument::Init(args)).unwrap(), None);
    LocalNetLedger { net: net.clone(), ledger, caller: test_principal, next_identity }
}

/// Runs the whole suite twice: through the suite's own runner (all must be `ok`), then test by
/// test (each must be `Passed`, not skipped). Returns the names that passed.
fn run_suite(env: &LocalNetLedger) -> Vec<&'static str> {
    let tests = block_on(icrc1_test_suite::test_suite(env.clone()));
    let expected = named_tests(env);
    assert_eq!(
        tests.len(),
        expected.len(),
        "the suite has {} tests for an ICRC-1 + ICRC-2 ledger; this file names {}",
        tests.len(),
        expected.len()
    );
    assert!(block_on(icrc1_test_suite::execute_tests(tests)), "the acceptance suite failed (TAP output above)");

    let mut passed = Vec::new();
    let mut failures = Vec::new();
    for (name, test) in expected {
        match block_on(test) {
            Ok(Outcome::Passed) => passed.push(name),
            Ok(Outcome::Skipped { reason }) => failures.push(format!("{name}: skipped ({reason})")),
            Err(e) => failures.push(format!("{name}: {e:?}")),
        }
    }
    assert!(failures.is_empty(), "acceptance tests that did not pass:\n{}", failures.join("\n"));
    passed
}

#[test]
fn icrc1_acceptance_suite_passes() {
    let net = Rc::new(LocalNet::new());
    let env = install(&net, |_| {});
    let passed = run_suite(&env);
    println!("ICRC-1 acceptance suite, default configuration: {} passed", passed.len());
    for name in &passed {
        println!("  passed: {name}");
    }
    assert_eq!(passed.len(), 16);
}

/// Another configuration: a fee collector, a minting account with a subaccount, a fee of 1 and
/// 6 decimals.
#[test]
fn icrc1_acceptance_suite_passes_with_a_fee_collector_and_a_small_fee() {
    let net = Rc::new(LocalNet::new());
    let collector = Principal::self_authenticating("icrc1-acceptance-fee-collector");
    let env = install(&net, |a| {
        a.transfer_fee = Nat::from(1u8);
        a.decimals = Some(6);
        a.fee_collector_account = Some(Account { owner: collector, subaccount: None });
        a.minting_account.subaccount = Some([9; 32]);
    });
    let passed = run_suite(&env);
    println!("ICRC-1 acceptance suite, fee collector and fee 1: {} passed", passed.len());
    assert_eq!(passed.len(), 16);
    // The collector received every transfer fee (approve fees are burnt).
    let collected: (Nat,) = net
        .query_candid(env.ledger, "icrc1_balance_of", (Account { owner: collector, subaccount: None },))
        .unwrap();
    assert!(collected.0 > 0u8, "the fee collector received nothing");
}
