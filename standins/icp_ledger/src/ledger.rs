//! The ledger's rules in plain Rust: balances by account identifier, the block log, fees, the
//! transaction window and deduplication, as DFINITY's ICP ledger applies them to `transfer`.

use candid::{CandidType, Principal};
use platform_types::cmc::{
    AccountIdentifier, Block, LedgerInitArgs, Memo, Operation, Subaccount, Timestamp, Tokens, Transaction,
    TransferArgs, TransferError, DEFAULT_FEE, DEFAULT_SUBACCOUNT,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Transactions with a `created_at_time` older than this are refused (`TxTooOld`) and newer
/// ones are deduplicated, as on the real ledger (24 hours).
pub const TRANSACTION_WINDOW_NS: u64 = 24 * 60 * 60 * 1_000_000_000;
/// How far in the future a `created_at_time` may be (the real ledger's permitted drift).
pub const PERMITTED_DRIFT_NS: u64 = 60 * 1_000_000_000;
/// `query_blocks` answers at most this many blocks per call.
pub const MAX_BLOCKS_PER_RESPONSE: u64 = 2_000;

/// What makes two transfers the same for deduplication.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct TxKey {
    from: AccountIdentifier,
    to: AccountIdentifier,
    amount_e8s: u64,
    fee_e8s: u64,
    memo: u64,
    created_at_ns: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct Ledger {
    minting_account: AccountIdentifier,
    fee_e8s: u64,
    balances: BTreeMap<AccountIdentifier, u64>,
    blocks: Vec<Block>,
    /// Deduplication: every transfer with a `created_at_time` → its block.
    seen: BTreeMap<TxKey, u64>,
}

impl Ledger {
    /// The genesis: every initial value is minted in a block of its own.
    pub fn new(args: &LedgerInitArgs, now_ns: u64) -> Result<Ledger, String> {
        let minting_account = AccountIdentifier::from_hex(&args.minting_account)
            .map_err(|e| format!("minting_account {}: {e}", args.minting_account))?;
        let mut ledger = Ledger {
            minting_account,
            fee_e8s: args.transfer_fee.map_or(DEFAULT_FEE.e8s(), |t| t.e8s()),
            balances: BTreeMap::new(),
            blocks: Vec::new(),
            seen: BTreeMap::new(),
        };
        for (account, tokens) in &args.initial_values {
            let to = AccountIdentifier::from_hex(account).map_err(|e| format!("initial value for {account}: {e}"))?;
            ledger.credit(to, tokens.e8s())?;
            ledger.push(Memo(0), Operation::Mint { to, amount: *tokens }, now_ns, now_ns);
        }
        Ok(ledger)
    }

    pub fn fee_e8s(&self) -> u64 {
        self.fee_e8s
    }

    pub fn balance(&self, account: &AccountIdentifier) -> u64 {
        self.balances.get(account).copied().unwrap_or(0)
    }

    pub fn chain_length(&self) -> u64 {
        self.blocks.len() as u64
    }

    /// Blocks `start..start + length` that exist, at most [`MAX_BLOCKS_PER_RESPONSE`].
    pub fn blocks(&self, start: u64, length: u64) -> Vec<Block> {
        let end = start.saturating_add(length.min(MAX_BLOCKS_PER_RESPONSE)).min(self.chain_length());
        if start >= end {
            return Vec::new();
        }
        self.blocks[start as usize..end as usize].to_vec()
    }

    /// `transfer` by `caller`. A transfer from the minting account mints, one to it burns;
    /// both take no fee. Every other transfer costs exactly the ledger's fee.
    pub fn transfer(&mut self, caller: Principal, args: &TransferArgs, now_ns: u64) -> Result<u64, TransferError> {
        let from = AccountIdentifier::new(&caller, &args.from_subaccount.unwrap_or(DEFAULT_SUBACCOUNT));
        let created_at_ns = args.created_at_time.map(|t| t.timestamp_nanos);
        let key = created_at_ns.map(|created| TxKey {
            from,
            to: args.to,
            amount_e8s: args.amount.e8s(),
            fee_e8s: args.fee.e8s(),
            memo: args.memo.0,
            created_at_ns: created,
        });
        if let Some(created) = created_at_ns {
            if created.saturating_add(TRANSACTION_WINDOW_NS) < now_ns {
                return Err(TransferError::TxTooOld { allowed_window_nanos: TRANSACTION_WINDOW_NS });
            }
            if created > now_ns.saturating_add(PERMITTED_DRIFT_NS) {
                return Err(TransferError::TxCreatedInFuture);
            }
        }
        if let Some(duplicate_of) = key.as_ref().and_then(|k| self.seen.get(k)) {
            return Err(TransferError::TxDuplicate { duplicate_of: *duplicate_of });
        }
        let amount = args.amount.e8s();
        let minting = from == self.minting_account || args.to == self.minting_account;
        let expected_fee = if minting { 0 } else { self.fee_e8s };
        if args.fee.e8s() != expected_fee {
            return Err(TransferError::BadFee { expected_fee: Tokens::from_e8s(expected_fee) });
        }
        let operation = if from == self.minting_account {
            self.credit(args.to, amount).map_err(|_| TransferError::InsufficientFunds { balance: Tokens::from_e8s(0) })?;
            Operation::Mint { to: args.to, amount: args.amount }
        } else {
            let balance = self.balance(&from);
            let debit = amount.checked_add(expected_fee).filter(|d| *d <= balance);
            let Some(debit) = debit else {
                return Err(TransferError::InsufficientFunds { balance: Tokens::from_e8s(balance) });
            };
            self.balances.insert(from, balance - debit);
            if args.to == self.minting_account {
                Operation::Burn { from, spender: None, amount: args.amount }
            } else {
                self.credit(args.to, amount).expect("tokens taken from an account fit in another");
                Operation::Transfer { from, to: args.to, amount: args.amount, fee: args.fee, spender: None }
            }
        };
        let index = self.push(args.memo, operation, created_at_ns.unwrap_or(now_ns), now_ns);
        if let Some(key) = key {
            self.seen.insert(key, index);
        }
        // Forget what is past the window (nothing older can be a duplicate any more).
        self.seen.retain(|k, _| k.created_at_ns.saturating_add(TRANSACTION_WINDOW_NS) >= now_ns);
        Ok(index)
    }

    fn credit(&mut self, to: AccountIdentifier, e8s: u64) -> Result<(), String> {
        let balance = self.balance(&to).checked_add(e8s).ok_or("the balance would pass u64")?;
        self.balances.insert(to, balance);
        Ok(())
    }

    fn push(&mut self, memo: Memo, operation: Operation, created_at_ns: u64, now_ns: u64) -> u64 {
        self.blocks.push(Block {
            parent_hash: None,
            transaction: Transaction {
                memo,
                icrc1_memo: None,
                operation: Some(operation),
                created_at_time: Timestamp { timestamp_nanos: created_at_ns },
            },
            timestamp: Timestamp { timestamp_nanos: now_ns },
        });
        self.chain_length() - 1
    }
}

/// The account identifier of `owner`'s default subaccount.
pub fn default_account(owner: Principal) -> AccountIdentifier {
    AccountIdentifier::new(&owner, &Subaccount([0; 32]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_000_000_000;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    fn minter() -> Principal {
        p(99)
    }

    fn ledger() -> Ledger {
        let args = LedgerInitArgs {
            minting_account: default_account(minter()).to_hex(),
            icrc1_minting_account: None,
            initial_values: vec![(default_account(p(1)).to_hex(), Tokens::from_e8s(1_000_000))],
            max_message_size_bytes: None,
            transaction_window: None,
            archive_options: None,
            send_whitelist: vec![],
            transfer_fee: None,
            token_symbol: None,
            token_name: None,
            feature_flags: None,
        };
        Ledger::new(&args, NOW).unwrap()
    }

    fn send(to: AccountIdentifier, e8s: u64, fee: u64, created: Option<u64>) -> TransferArgs {
        TransferArgs {
            memo: Memo(7),
            amount: Tokens::from_e8s(e8s),
            fee: Tokens::from_e8s(fee),
            from_subaccount: None,
            to,
            created_at_time: created.map(|t| Timestamp { timestamp_nanos: t }),
        }
    }

    #[test]
    fn genesis_mints_the_initial_values() {
        let l = ledger();
        assert_eq!(l.balance(&default_account(p(1))), 1_000_000);
        assert_eq!(l.chain_length(), 1);
        assert!(matches!(l.blocks(0, 10)[0].transaction.operation, Some(Operation::Mint { .. })));
    }

    #[test]
    fn a_transfer_moves_the_amount_and_charges_the_fee() {
        let mut l = ledger();
        let to = default_account(p(2));
        assert_eq!(l.transfer(p(1), &send(to, 500_000, 10_000, None), NOW), Ok(1));
        assert_eq!(l.balance(&default_account(p(1))), 490_000);
        assert_eq!(l.balance(&to), 500_000);
        let block = &l.blocks(1, 1)[0];
        assert_eq!(block.transaction.memo, Memo(7));
        assert!(matches!(block.transaction.operation, Some(Operation::Transfer { to: t, .. }) if t == to));
    }

    #[test]
    fn refusals_leave_everything_as_it_was() {
        let mut l = ledger();
        let to = default_account(p(2));
        assert_eq!(
            l.transfer(p(1), &send(to, 5, 1, None), NOW),
            Err(TransferError::BadFee { expected_fee: Tokens::from_e8s(10_000) })
        );
        assert_eq!(
            l.transfer(p(1), &send(to, 990_001, 10_000, None), NOW),
            Err(TransferError::InsufficientFunds { balance: Tokens::from_e8s(1_000_000) })
        );
        assert_eq!(
            l.transfer(p(1), &send(to, 5, 10_000, Some(NOW - TRANSACTION_WINDOW_NS - 1)), NOW),
            Err(TransferError::TxTooOld { allowed_window_nanos: TRANSACTION_WINDOW_NS })
        );
        assert_eq!(
            l.transfer(p(1), &send(to, 5, 10_000, Some(NOW + PERMITTED_DRIFT_NS + 1)), NOW),
            Err(TransferError::TxCreatedInFuture)
        );
        assert_eq!(l.balance(&default_account(p(1))), 1_000_000);
        assert_eq!(l.chain_length(), 1);
    }

    #[test]
    fn the_same_transfer_with_a_creation_time_is_executed_once() {
        let mut l = ledger();
        let to = default_account(p(2));
        let args = send(to, 100, 10_000, Some(NOW));
        assert_eq!(l.transfer(p(1), &args, NOW), Ok(1));
        assert_eq!(l.transfer(p(1), &args, NOW + 5), Err(TransferError::TxDuplicate { duplicate_of: 1 }));
        assert_eq!(l.balance(&to), 100);
        // Without a creation time there is no deduplication.
        assert_eq!(l.transfer(p(1), &send(to, 100, 10_000, None), NOW), Ok(2));
        assert_eq!(l.transfer(p(1), &send(to, 100, 10_000, None), NOW), Ok(3));
    }

    #[test]
    fn transfers_from_and_to_the_minting_account_mint_and_burn_without_fee() {
        let mut l = ledger();
        let to = default_account(p(2));
        assert_eq!(l.transfer(minter(), &send(to, 300, 0, None), NOW), Ok(1));
        assert_eq!(l.transfer(p(2), &send(default_account(minter()), 100, 0, None), NOW), Ok(2));
        assert_eq!(l.balance(&to), 200);
        assert!(matches!(l.blocks(2, 1)[0].transaction.operation, Some(Operation::Burn { .. })));
        assert!(matches!(
            l.transfer(p(2), &send(default_account(minter()), 100, 10_000, None), NOW),
            Err(TransferError::BadFee { .. })
        ));
    }

    #[test]
    fn blocks_answers_the_part_of_the_range_that_exists() {
        let mut l = ledger();
        for _ in 0..3 {
            l.transfer(p(1), &send(default_account(p(2)), 1, 10_000, None), NOW).unwrap();
        }
        assert_eq!(l.blocks(1, 2).len(), 2);
        assert_eq!(l.blocks(3, 10).len(), 1);
        assert!(l.blocks(4, 10).is_empty());
        assert!(l.blocks(u64::MAX, u64::MAX).is_empty());
    }
}
