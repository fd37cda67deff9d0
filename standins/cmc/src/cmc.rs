//! The CMC's rules for `notify_top_up` in plain Rust, as DFINITY's CMC applies them: what a
//! top-up payment block must be, notifications answered once and then from the record, the
//! hourly minting limit, the conversion at the (here fixed) rate and the refund amount; and for
//! `create_canister`: which management canister creates (the subnet selection) and with which
//! settings.

use candid::{CandidType, Principal};
use ic_management_canister_types::{CanisterSettings, EnvironmentVariable, LogVisibility};
use platform_types::cmc::{
    CmcCanisterSettings, CmcLogVisibility, SubnetFilter, SubnetSelection,
};
use platform_types::cmc::{
    top_up_account, AccountIdentifier, Block, NotifyError, NotifyTopUpResult, Operation, Tokens, MEMO_TOP_UP_CANISTER,
    TOP_UP_REFUND_FEE_E8S,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The fixed ICP/XDR rate of the local CMC: 3.5 XDR per ICP, so 1 e8 buys 35,000 cycles.
pub const FIXED_XDR_PERMYRIAD_PER_ICP: u64 = 35_000;
/// The real CMC's base limit: at most this many cycles minted per hour (over all callers).
pub const CYCLES_LIMIT_PER_HOUR: u128 = 150_000_000_000_000_000;
const HOUR_NS: u64 = 3_600 * 1_000_000_000;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
enum Notification {
    Processing,
    Done(NotifyTopUpResult),
}

/// What `begin` decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    /// This call processes the block (now marked Processing).
    Process,
    /// Answer this without doing anything (an earlier result, or Processing).
    Answer(NotifyTopUpResult),
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct Cmc {
    pub ledger: Principal,
    /// Where converted ICP is burned (none: it stays in the top-up account, as the real CMC
    /// does without a minting account).
    pub minting_account: Option<AccountIdentifier>,
    notified: BTreeMap<u64, Notification>,
    /// (time, cycles) of the conversions of the last hour, for the limit.
    minted: Vec<(u64, u128)>,
}

impl Cmc {
    pub fn new(ledger: Principal, minting_account: Option<AccountIdentifier>) -> Self {
        Cmc { ledger, minting_account, notified: BTreeMap::new(), minted: Vec::new() }
    }

    /// Starts processing `block_index`, or answers from the record: a concurrent request gets
    /// `Processing`, a finished one its result again (so a payment converts once).
    pub fn begin(&mut self, block_index: u64) -> Begin {
        match self.notified.get(&block_index) {
            Some(Notification::Processing) => Begin::Answer(Err(NotifyError::Processing)),
            Some(Notification::Done(result)) => Begin::Answer(result.clone()),
            None => {
                self.notified.insert(block_index, Notification::Processing);
                Begin::Process
            }
        }
    }

    /// Records the result; a retriable one is forgotten so the block can be notified again.
    pub fn finish(&mut self, block_index: u64, result: &NotifyTopUpResult) {
        if matches!(result, Err(NotifyError::Processing | NotifyError::Other { .. })) {
            self.notified.remove(&block_index);
        } else {
            self.notified.insert(block_index, Notification::Done(result.clone()));
        }
    }

    /// Counts `cycles` against the hourly limit, or says why they are over it.
    pub fn reserve_cycles(&mut self, now_ns: u64, cycles: u128) -> Result<(), String> {
        self.minted.retain(|(at, _)| at.saturating_add(HOUR_NS) > now_ns);
        let recent: u128 = self.minted.iter().map(|(_, c)| c).sum();
        if recent.saturating_add(cycles) > CYCLES_LIMIT_PER_HOUR {
            return Err(format!(
                "More than {CYCLES_LIMIT_PER_HOUR} cycles have been minted in the last 3600 seconds, please try again later"
            ));
        }
        self.minted.push((now_ns, cycles));
        Ok(())
    }

    /// Gives back a reservation whose deposit failed.
    pub fn release_cycles(&mut self, now_ns: u64, cycles: u128) {
        if let Some(i) = self.minted.iter().position(|m| *m == (now_ns, cycles)) {
            self.minted.remove(i);
        }
    }
}

/// The payment in `block` for a top-up of `canister` at the CMC `cmc`: (payer, amount), or why
/// it is none (`InvalidTransaction`, not retriable).
pub fn top_up_payment(
    block_index: u64,
    block: Option<&Block>,
    cmc: Principal,
    canister: Principal,
) -> Result<(AccountIdentifier, Tokens), NotifyError> {
    let block = block.ok_or_else(|| NotifyError::InvalidTransaction(format!("Block {block_index} not found")))?;
    let Some(Operation::Transfer { from, to, amount, .. }) = &block.transaction.operation else {
        return Err(NotifyError::InvalidTransaction("Notification transaction must be of type Transfer".into()));
    };
    let expected_to = top_up_account(cmc, canister);
    if *to != expected_to {
        return Err(NotifyError::InvalidTransaction(format!(
            "Destination account in the block ({}) different than in the notification ({})",
            to.to_hex(),
            expected_to.to_hex()
        )));
    }
    if block.transaction.memo.0 != MEMO_TOP_UP_CANISTER {
        return Err(NotifyError::InvalidTransaction(format!(
            "Intent in the block ({}) different than in the notification ({MEMO_TOP_UP_CANISTER} == TopUp)",
            block.transaction.memo.0
        )));
    }
    Ok((*from, *amount))
}

/// What a refund sends back, after the ledger fee and the refund fee (the rest is burned):
/// none if the payment does not even cover them.
pub fn refund_amount(amount_e8s: u64, fee_e8s: u64) -> Option<u64> {
    amount_e8s.checked_sub(fee_e8s)?.checked_sub(TOP_UP_REFUND_FEE_E8S).filter(|r| *r > 0)
}

/// Which management canister creates the canister.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOn {
    /// `aaaaa-aa`: the CMC's own subnet. The real CMC picks a random default subnet; localnet's
    /// stand-in has no registry of default subnets, so it uses its own.
    OwnSubnet,
    /// The management canister of this subnet, addressed by the subnet's id (as the real CMC
    /// does; localnet lets only canisters it was told about do that).
    Subnet(Principal),
}

/// The CMC's `get_subnet_selection`: the deprecated `subnet_type` and `subnet_selection` are
/// exclusive; a type becomes a filter. An error here is refunded in full.
pub fn subnet_selection(
    subnet_type: Option<String>,
    selection: Option<SubnetSelection>,
) -> Result<Option<SubnetSelection>, String> {
    match (subnet_type, selection) {
        (Some(_), Some(_)) => Err("Cannot specify subnet_type and subnet_selection at the same time.".into()),
        (Some(subnet_type), None) => Ok(Some(SubnetSelection::Filter(SubnetFilter { subnet_type: Some(subnet_type) }))),
        (None, selection) => Ok(selection),
    }
}

/// Where the creation goes. A filter without a type means the default subnets, as no
/// selection does; localnet has no subnet types, so a typed filter fails (a creation error:
/// the penalty applies, as when the real CMC finds no subnet of that type).
pub fn create_on(selection: Option<SubnetSelection>) -> Result<CreateOn, String> {
    match selection {
        None | Some(SubnetSelection::Filter(SubnetFilter { subnet_type: None })) => Ok(CreateOn::OwnSubnet),
        Some(SubnetSelection::Subnet { subnet }) => Ok(CreateOn::Subnet(subnet)),
        Some(SubnetSelection::Filter(SubnetFilter { subnet_type: Some(t) })) => {
            Err(format!("Provided subnet type {t} does not exist: the local CMC knows no subnet types"))
        }
    }
}

/// The management canister's settings for the new canister: the CMC's settings as given,
/// with the caller as the controller when none are named (as the real CMC does).
pub fn management_settings(settings: Option<CmcCanisterSettings>, caller: Principal) -> CanisterSettings {
    let s = settings.unwrap_or_default();
    CanisterSettings {
        controllers: Some(s.controllers.unwrap_or_else(|| vec![caller])),
        compute_allocation: s.compute_allocation,
        memory_allocation: s.memory_allocation,
        freezing_threshold: s.freezing_threshold,
        reserved_cycles_limit: s.reserved_cycles_limit,
        log_visibility: s.log_visibility.map(|v| match v {
            CmcLogVisibility::Controllers => LogVisibility::Controllers,
            CmcLogVisibility::Public => LogVisibility::Public,
        }),
        log_memory_limit: None,
        wasm_memory_limit: s.wasm_memory_limit,
        wasm_memory_threshold: s.wasm_memory_threshold,
        environment_variables: s
            .environment_variables
            .map(|vars| vars.into_iter().map(|v| EnvironmentVariable { name: v.name, value: v.value }).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Nat;
    use platform_types::cmc::{Memo, Timestamp, Transaction};

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    fn transfer_block(to: AccountIdentifier, memo: u64) -> Block {
        Block {
            parent_hash: None,
            transaction: Transaction {
                memo: Memo(memo),
                icrc1_memo: None,
                operation: Some(Operation::Transfer {
                    from: top_up_account(p(5), p(5)),
                    to,
                    amount: Tokens::from_e8s(1_000),
                    fee: Tokens::from_e8s(10_000),
                    spender: None,
                }),
                created_at_time: Timestamp { timestamp_nanos: 0 },
            },
            timestamp: Timestamp { timestamp_nanos: 0 },
        }
    }

    #[test]
    fn only_a_tpup_transfer_to_the_canisters_top_up_account_pays() {
        let (cmc, canister) = (p(1), p(2));
        let good = transfer_block(top_up_account(cmc, canister), MEMO_TOP_UP_CANISTER);
        assert_eq!(top_up_payment(3, Some(&good), cmc, canister).unwrap().1, Tokens::from_e8s(1_000));
        let invalid = |r: Result<_, NotifyError>| matches!(r, Err(NotifyError::InvalidTransaction(_)));
        assert!(invalid(top_up_payment(3, None, cmc, canister)));
        assert!(invalid(top_up_payment(3, Some(&good), cmc, p(3))), "another canister's payment");
        let wrong_memo = transfer_block(top_up_account(cmc, canister), 1_095_062_083);
        assert!(invalid(top_up_payment(3, Some(&wrong_memo), cmc, canister)));
        let mut mint = good.clone();
        mint.transaction.operation = Some(Operation::Mint { to: top_up_account(cmc, canister), amount: Tokens::from_e8s(1) });
        assert!(invalid(top_up_payment(3, Some(&mint), cmc, canister)));
    }

    #[test]
    fn a_block_converts_once_and_is_answered_from_the_record() {
        let mut cmc = Cmc::new(p(1), None);
        assert_eq!(cmc.begin(7), Begin::Process);
        assert_eq!(cmc.begin(7), Begin::Answer(Err(NotifyError::Processing)));
        cmc.finish(7, &Ok(Nat::from(42u8)));
        assert_eq!(cmc.begin(7), Begin::Answer(Ok(Nat::from(42u8))));
        let refunded = Err(NotifyError::Refunded { reason: "x".into(), block_index: Some(9) });
        assert_eq!(cmc.begin(8), Begin::Process);
        cmc.finish(8, &refunded);
        assert_eq!(cmc.begin(8), Begin::Answer(refunded));
    }

    #[test]
    fn a_retriable_result_lets_the_block_be_notified_again() {
        let mut cmc = Cmc::new(p(1), None);
        assert_eq!(cmc.begin(7), Begin::Process);
        cmc.finish(7, &Err(NotifyError::Other { error_code: 2, error_message: "ledger down".into() }));
        assert_eq!(cmc.begin(7), Begin::Process);
    }

    #[test]
    fn the_hourly_limit_counts_the_last_hour_only() {
        let mut cmc = Cmc::new(p(1), None);
        assert!(cmc.reserve_cycles(0, CYCLES_LIMIT_PER_HOUR - 10).is_ok());
        assert!(cmc.reserve_cycles(1, 11).unwrap_err().contains("minted in the last 3600 seconds"));
        assert!(cmc.reserve_cycles(1, 10).is_ok());
        assert!(cmc.reserve_cycles(HOUR_NS + 1, CYCLES_LIMIT_PER_HOUR - 10).is_ok());
        cmc.release_cycles(HOUR_NS + 1, CYCLES_LIMIT_PER_HOUR - 10);
        assert!(cmc.reserve_cycles(HOUR_NS + 2, CYCLES_LIMIT_PER_HOUR - 10).is_ok());
    }

    #[test]
    fn subnet_type_and_selection_are_exclusive_and_a_type_is_a_filter() {
        let subnet = SubnetSelection::Subnet { subnet: p(9) };
        assert!(subnet_selection(Some("fiduciary".into()), Some(subnet.clone())).unwrap_err().contains("at the same time"));
        assert_eq!(
            subnet_selection(Some("fiduciary".into()), None).unwrap(),
            Some(SubnetSelection::Filter(SubnetFilter { subnet_type: Some("fiduciary".into()) }))
        );
        assert_eq!(subnet_selection(None, Some(subnet.clone())).unwrap(), Some(subnet));
        assert_eq!(subnet_selection(None, None).unwrap(), None);
    }

    #[test]
    fn a_named_subnet_is_addressed_and_a_typed_filter_is_refused() {
        assert_eq!(create_on(Some(SubnetSelection::Subnet { subnet: p(9) })), Ok(CreateOn::Subnet(p(9))));
        assert_eq!(create_on(None), Ok(CreateOn::OwnSubnet));
        assert_eq!(create_on(Some(SubnetSelection::Filter(SubnetFilter { subnet_type: None }))), Ok(CreateOn::OwnSubnet));
        let typed = SubnetSelection::Filter(SubnetFilter { subnet_type: Some("fiduciary".into()) });
        assert!(create_on(Some(typed)).unwrap_err().contains("fiduciary"));
    }

    #[test]
    fn the_caller_controls_the_new_canister_unless_settings_name_controllers() {
        assert_eq!(management_settings(None, p(3)).controllers, Some(vec![p(3)]));
        let named = CmcCanisterSettings {
            controllers: Some(vec![p(4), p(5)]),
            freezing_threshold: Some(Nat::from(7u8)),
            log_visibility: Some(CmcLogVisibility::Public),
            ..Default::default()
        };
        let s = management_settings(Some(named), p(3));
        assert_eq!(s.controllers, Some(vec![p(4), p(5)]));
        assert_eq!(s.freezing_threshold, Some(Nat::from(7u8)));
        assert_eq!(s.log_visibility, Some(LogVisibility::Public));
    }

    #[test]
    fn a_refund_keeps_the_ledger_fee_and_twice_the_fee() {
        assert_eq!(refund_amount(1_000_000, 10_000), Some(970_000));
        assert_eq!(refund_amount(30_000, 10_000), None);
        assert_eq!(refund_amount(5, 10_000), None);
    }
}
