//! The hub refills its cycles from ICP on localnet, with the local ICP ledger and CMC
//! (standins/icp_ledger, standins/cmc, fixed rate: 1 e8 = 35,000 cycles): ICP sent to the hub's
//! account is converted once at that rate, the hub's cycles grow by exactly the cycles the CMC
//! sent, transient failures (CMC stopped, ledger stopped under the CMC) are retried, a second
//! notification does not convert twice, and a refund is recorded with the ICP back on the
//! hub's account. The network charges no fees, so the hub's balance moves only by top-ups.

use candid::{Nat, Principal};
use integration_tests::wasm;
use localnet::{FeeSchedule, LocalNet, LocalNetBuilder};
use platform_types::cmc::{
    AccountBalanceArgs, AccountIdentifier, CyclesCanisterInitPayload, LedgerCanisterPayload, LedgerInitArgs, Memo,
    NotifyError, NotifyTopUpArg, Subaccount, Tokens, TransferArgs, TransferResult, DEFAULT_FEE, TOP_UP_REFUND_FEE_E8S,
};
use platform_types::icp_refill::{IcpRefillIds, IcpRefillStatus, RefillOutcome, RefillRecord, RefillState};
use platform_types::{ConfigOverrides, HubInitArgs, HubUpgradeArgs};
use std::time::Duration;

/// The local CMC's fixed rate: cycles per e8.
const CYCLES_PER_E8: u128 = 35_000;
const ICP: u64 = 100_000_000;
const FEE: u64 = 10_000;

fn no_fees() -> FeeSchedule {
    FeeSchedule {
        canister_creation_fee: 0,
        update_message_execution_fee: 0,
        ten_update_instructions_fee: 0,
        xnet_call_fee: 0,
        xnet_byte_transmission_fee: 0,
        ingress_message_reception_fee: 0,
        ingress_byte_reception_fee: 0,
        gib_storage_per_second_fee: 0,
        http_request_linear_baseline_fee: 0,
        http_request_quadratic_baseline_fee: 0,
        http_request_per_byte_fee: 0,
        http_response_per_byte_fee: 0,
        threshold_signature_fee: 0,
        subnet_size: 13,
    }
}

fn principal(n: u8) -> Principal {
    Principal::from_slice(&[n; 29])
}

fn account(owner: Principal) -> AccountIdentifier {
    AccountIdentifier::new(&owner, &Subaccount([0; 32]))
}

struct Setup {
    net: LocalNet,
    hub: Principal,
    ledger: Principal,
    cmc: Principal,
    alice: Principal,
}

fn setup() -> Setup {
    let net = LocalNetBuilder::new().with_fees(no_fees()).build();
    let (alice, minter) = (principal(1), principal(2));
    let ledger = net.create_canister();
    let cmc = net.create_canister_with_cycles(None, 10_000_000_000_000_000);
    let hub = net.create_canister_with_cycles(None, 100_000_000_000_000);
    let init = LedgerCanisterPayload::Init(LedgerInitArgs {
        minting_account: account(minter).to_hex(),
        icrc1_minting_account: None,
        initial_values: vec![(account(alice).to_hex(), Tokens::from_e8s(100_000 * ICP))],
        max_message_size_bytes: None,
        transaction_window: None,
        archive_options: None,
        send_whitelist: vec![],
        transfer_fee: None,
        token_symbol: Some("ICP".into()),
        token_name: None,
        feature_flags: None,
    });
    net.install_canister(ledger, wasm("icp_ledger"), candid::encode_one(init).unwrap(), None);
    let init = Some(CyclesCanisterInitPayload {
        ledger_canister_id: Some(ledger),
        minting_account_id: Some(account(minter).to_hex()),
        ..Default::default()
    });
    net.install_canister(cmc, wasm("cmc"), candid::encode_one(init).unwrap(), None);
    let init = HubInitArgs {
        ledger_id: principal(8),
        learning_content_id: principal(7),
        sns_governance_id: principal(9),
        // Long enough that the hub's main timer never fires in these tests.
        config: Some(ConfigOverrides { auto_scale_interval_secs: Some(86_400), ..Default::default() }),
        registration_policy: None,
        icp_refill: Some(IcpRefillIds { icp_ledger_id: ledger, cmc_id: cmc }),
    };
    net.install_canister(hub, wasm("staking_hub"), candid::encode_one(init).unwrap(), None);
    Setup { net, hub, ledger, cmc, alice }
}

impl Setup {
    fn send_icp_to_hub(&self, e8s: u64) -> u64 {
        let args = TransferArgs {
            memo: Memo(0),
            amount: Tokens::from_e8s(e8s),
            fee: DEFAULT_FEE,
            from_subaccount: None,
            to: account(self.hub),
            created_at_time: None,
        };
        let (r,): (TransferResult,) = self.net.update_candid_as(self.ledger, self.alice, "transfer", (args,)).unwrap();
        r.expect("alice's transfer")
    }

    fn icp_balance(&self, of: AccountIdentifier) -> u64 {
        let (t,): (Tokens,) =
            self.net.query_candid(self.ledger, "account_balance", (AccountBalanceArgs { account: of },)).unwrap();
        t.e8s()
    }

    /// `refill_from_icp`, called by someone who is neither the hub's user nor its governance.
    fn refill(&self) -> RefillOutcome {
        let (r,): (RefillOutcome,) =
            self.net.update_candid_as(self.hub, principal(42), "refill_from_icp", ()).unwrap();
        r
    }

    fn worked(&self) -> RefillRecord {
        match self.refill() {
            RefillOutcome::Worked(r) => r,
            other => panic!("expected a refill, got {other:?}"),
        }
    }

    fn status(&self) -> IcpRefillStatus {
        let (s,): (IcpRefillStatus,) = self.net.query_candid(self.hub, "get_icp_refill_status", ()).unwrap();
        s
    }

    fn cycles(&self) -> u128 {
        self.net.cycle_balance(self.hub)
    }
}

#[test]
fn icp_sent_to_the_hub_is_converted_once_at_the_fixed_rate() {
    let s = setup();
    let status = s.status();
    assert_eq!(status.hub_icp_account, account(s.hub).to_hex());
    assert_eq!((status.icp_ledger_id, status.cmc_id), (s.ledger, s.cmc));
    assert_eq!(s.refill(), RefillOutcome::NothingToDo { balance_e8s: 0 });
    // Anyone may trigger a balance check, but at most once a minute.
    s.send_icp_to_hub(2 * ICP);
    assert!(matches!(s.refill(), RefillOutcome::Busy { .. }));
    s.net.advance_time(Duration::from_secs(61));
    let before = s.cycles();
    let record = s.worked();
    let amount = 2 * ICP - FEE;
    let expected = amount as u128 * CYCLES_PER_E8;
    assert_eq!(record.amount_e8s, amount);
    let RefillState::ToppedUp { block_index, cycles } = record.state else { panic!("{record:?}") };
    assert_eq!(cycles, expected);
    assert_eq!(s.cycles() - before, expected, "the hub's cycles grow by exactly the converted amount");
    assert_eq!(s.icp_balance(account(s.hub)), 0);
    let top_up_account = AccountIdentifier::new(&s.cmc, &Subaccount::from(s.hub));
    assert_eq!(s.status().cmc_top_up_account, top_up_account.to_hex());
    assert_eq!(s.icp_balance(top_up_account), 0, "the CMC burned the converted ICP");

    // A second trigger right away is throttled, a later one finds nothing to convert.
    assert!(matches!(s.refill(), RefillOutcome::Busy { .. }));
    s.net.advance_time(Duration::from_secs(61));
    assert_eq!(s.refill(), RefillOutcome::NothingToDo { balance_e8s: 0 });
    // Notifying the same block again (anyone may) is answered from the CMC's record: no cycles.
    let (again,): (Result<Nat, NotifyError>,) = s
        .net
        .update_candid_as(s.cmc, principal(43), "notify_top_up", (NotifyTopUpArg { block_index, canister_id: s.hub },))
        .unwrap();
    assert_eq!(again, Ok(Nat::from(expected)));
    assert_eq!(s.cycles() - before, expected);

    // The journal survives an upgrade, and so do the configured ledger and CMC.
    s.net
        .upgrade_canister(s.hub, wasm("staking_hub"), candid::encode_one(None::<HubUpgradeArgs>).unwrap(), None)
        .unwrap();
    let status = s.status();
    assert_eq!(status.total_cycles_received, expected);
    assert_eq!(status.refills.len(), 1);
    assert_eq!((status.icp_ledger_id, status.cmc_id), (s.ledger, s.cmc));
}

#[test]
fn transient_failures_are_retried_and_the_timer_finishes_the_refill() {
    let s = setup();
    s.send_icp_to_hub(ICP);
    let before = s.cycles();
    // The CMC is stopped: the transfer goes through, the notification is rejected.
    s.net.stop_canister(s.cmc, None).unwrap();
    let r = s.worked();
    let RefillState::Notifying { block_index } = r.state else { panic!("{r:?}") };
    assert!(r.last_error.contains("notify_top_up failed"), "{}", r.last_error);
    assert_eq!(s.icp_balance(account(s.hub)), 0, "the ICP is at the CMC's top-up account");

    // The CMC runs but cannot read the ledger: it answers Other (retriable).
    s.net.start_canister(s.cmc, None).unwrap();
    s.net.stop_canister(s.ledger, None).unwrap();
    let r = s.worked();
    assert_eq!(r.state, RefillState::Notifying { block_index });
    assert!(r.last_error.contains("Other 2"), "{}", r.last_error);
    assert_eq!(r.notify_attempts, 2);
    assert_eq!(s.cycles(), before);

    // Everything runs again: the hub's timer (every 10 minutes) finishes the refill.
    s.net.start_canister(s.ledger, None).unwrap();
    s.net.advance_time(Duration::from_secs(601));
    s.net.run_until_idle(100);
    let expected = (ICP - FEE) as u128 * CYCLES_PER_E8;
    let r = s.status().refills[0].clone();
    assert_eq!(r.state, RefillState::ToppedUp { block_index, cycles: expected });
    assert_eq!(r.transfer_attempts, 1, "the ICP moved once");
    assert_eq!(s.cycles() - before, expected);
}

#[test]
fn a_notification_by_someone_else_first_is_not_converted_twice() {
    let s = setup();
    s.send_icp_to_hub(ICP);
    let before = s.cycles();
    s.net.stop_canister(s.cmc, None).unwrap();
    let RefillState::Notifying { block_index } = s.worked().state else { panic!("expected Notifying") };
    s.net.start_canister(s.cmc, None).unwrap();
    // Anyone may notify the hub's block; the CMC converts it for the hub.
    let (first,): (Result<Nat, NotifyError>,) = s
        .net
        .update_candid_as(s.cmc, principal(43), "notify_top_up", (NotifyTopUpArg { block_index, canister_id: s.hub },))
        .unwrap();
    let expected = (ICP - FEE) as u128 * CYCLES_PER_E8;
    assert_eq!(first, Ok(Nat::from(expected)));
    // The hub's own retry gets the CMC's recorded answer and records it; no second conversion.
    assert_eq!(s.worked().state, RefillState::ToppedUp { block_index, cycles: expected });
    assert_eq!(s.cycles() - before, expected);
}

#[test]
fn a_refund_is_recorded_and_the_icp_comes_back_to_the_hub() {
    let s = setup();
    // 50,000 ICP make 175 P cycles, more than the CMC mints in an hour (150 P): refunded.
    s.send_icp_to_hub(50_000 * ICP);
    let before = s.cycles();
    let r = s.worked();
    let RefillState::Refunded { reason, refund_block, .. } = r.state else { panic!("{r:?}") };
    assert!(reason.contains("minted in the last 3600 seconds"), "{reason}");
    assert!(refund_block.is_some());
    assert_eq!(s.cycles(), before);
    let sent = 50_000 * ICP - FEE;
    assert_eq!(s.icp_balance(account(s.hub)), sent - FEE - TOP_UP_REFUND_FEE_E8S);
    // The hub does not send it straight back into the same refusal.
    s.net.advance_time(Duration::from_secs(3_600));
    match s.refill() {
        RefillOutcome::Busy { reason } => assert!(reason.contains("refunded"), "{reason}"),
        other => panic!("expected the refund backoff, got {other:?}"),
    }
}
