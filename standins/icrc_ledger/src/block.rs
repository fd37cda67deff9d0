//! Transactions and blocks, and their ICRC-3 `Value` encoding.
//!
//! Blocks use the **legacy ICRC-1/ICRC-2 block schema** of the ICRC-3 standard (its section
//! "ICRC-1 and ICRC-2 Block Schema"): no `btype` field; the type is `tx.op` (`"mint"`, `"burn"`,
//! `"xfer"`, `"approve"`). A block is
//!
//! ```text
//! Map { phash: Blob (absent in block 0), ts: Nat, fee: Nat (the effective fee, only when the
//!       caller gave no tx.fee; never on mint/burn), fee_col: Account | fee_col_block: Nat
//!       (transfers whose fee went to the fee collector), tx: Map { op, from, to, spender, amt,
//!       fee, memo, ts, expected_allowance, expires_at } }
//! ```
//!
//! `tx` holds exactly what the caller provided (the canonical mapping of the standard): an
//! account is `Array [Blob owner]`, or `Array [Blob owner; Blob subaccount]` when a subaccount was
//! given (even an all-zero one), and optional arguments the caller left out are omitted. The
//! hash of `tx` is the deduplication key.

use candid::Nat;
use icrc_ledger_types::icrc::generic_value::ICRC3Value;
use icrc_ledger_types::icrc1::account::Account;
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;

pub type Hash = [u8; 32];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    Mint { to: Account },
    Burn { from: Account, spender: Option<Account> },
    Transfer { from: Account, to: Account, spender: Option<Account>, fee: Option<Nat> },
    Approve {
        from: Account,
        spender: Account,
        expected_allowance: Option<Nat>,
        expires_at: Option<u64>,
        fee: Option<Nat>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub operation: Operation,
    pub amount: Nat,
    pub memo: Option<Vec<u8>>,
    pub created_at_time: Option<u64>,
}

/// Where a collected fee went, as recorded in a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeeCollector {
    /// The first block paying this collector names it (`fee_col`).
    Account(Account),
    /// Later blocks refer to that first block (`fee_col_block`), as DFINITY's ledger does.
    Block(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub parent_hash: Option<Hash>,
    pub timestamp: u64,
    /// The fee charged when the caller did not give `fee` (transfers and approvals only).
    pub effective_fee: Option<u128>,
    pub fee_collector: Option<FeeCollector>,
    pub transaction: Transaction,
}

pub fn account_value(account: &Account) -> ICRC3Value {
    let mut parts = vec![ICRC3Value::Blob(ByteBuf::from(account.owner.as_slice().to_vec()))];
    if let Some(sub) = account.subaccount {
        parts.push(ICRC3Value::Blob(ByteBuf::from(sub.to_vec())));
    }
    ICRC3Value::Array(parts)
}

fn nat(n: impl Into<Nat>) -> ICRC3Value {
    ICRC3Value::Nat(n.into())
}

fn text(t: &str) -> ICRC3Value {
    ICRC3Value::Text(t.to_string())
}

impl Operation {
    pub fn op_name(&self) -> &'static str {
        match self {
            Operation::Mint { .. } => "mint",
            Operation::Burn { .. } => "burn",
            Operation::Transfer { .. } => "xfer",
            Operation::Approve { .. } => "approve",
        }
    }
}

impl Transaction {
    pub fn to_value(&self) -> ICRC3Value {
        let mut m = BTreeMap::new();
        m.insert("op".to_string(), text(self.operation.op_name()));
        m.insert("amt".to_string(), nat(self.amount.clone()));
        match &self.operation {
            Operation::Mint { to } => {
                m.insert("to".into(), account_value(to));
            }
            Operation::Burn { from, spender } => {
                m.insert("from".into(), account_value(from));
                if let Some(s) = spender {
                    m.insert("spender".into(), account_value(s));
                }
            }
            Operation::Transfer { from, to, spender, fee } => {
                m.insert("from".into(), account_value(from));
                m.insert("to".into(), account_value(to));
                if let Some(s) = spender {
                    m.insert("spender".into(), account_value(s));
                }
                if let Some(f) = fee {
                    m.insert("fee".into(), nat(f.clone()));
                }
            }
            Operation::Approve { from, spender, expected_allowance, expires_at, fee } => {
                m.insert("from".into(), account_value(from));
                m.insert("spender".into(), account_value(spender));
                if let Some(e) = expected_allowance {
                    m.insert("expected_allowance".into(), nat(e.clone()));
                }
                if let Some(e) = expires_at {
                    m.insert("expires_at".into(), nat(*e));
                }
                if let Some(f) = fee {
                    m.insert("fee".into(), nat(f.clone()));
                }
            }
        }
        if let Some(memo) = &self.memo {
            m.insert("memo".into(), ICRC3Value::Blob(ByteBuf::from(memo.clone())));
        }
        if let Some(t) = self.created_at_time {
            m.insert("ts".into(), nat(t));
        }
        ICRC3Value::Map(m)
    }

    /// The deduplication key: the ICRC-3 hash of the `tx` value, i.e. of every field the caller
    /// gave (including the caller's own account and `created_at_time`).
    pub fn hash(&self) -> Hash {
        self.to_value().hash()
    }
}

impl Block {
    pub fn to_value(&self) -> ICRC3Value {
        let mut m = BTreeMap::new();
        if let Some(h) = self.parent_hash {
            m.insert("phash".to_string(), ICRC3Value::Blob(ByteBuf::from(h.to_vec())));
        }
        m.insert("ts".to_string(), nat(self.timestamp));
        if let Some(fee) = self.effective_fee {
            m.insert("fee".to_string(), nat(fee));
        }
        match &self.fee_collector {
            Some(FeeCollector::Account(a)) => {
                m.insert("fee_col".to_string(), account_value(a));
            }
            Some(FeeCollector::Block(i)) => {
                m.insert("fee_col_block".to_string(), nat(*i));
            }
            None => {}
        }
        m.insert("tx".to_string(), self.transaction.to_value());
        ICRC3Value::Map(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;

    fn acc(n: u8, sub: Option<[u8; 32]>) -> Account {
        Account { owner: Principal::from_slice(&[n; 29]), subaccount: sub }
    }

    fn get<'a>(v: &'a ICRC3Value, key: &str) -> Option<&'a ICRC3Value> {
        match v {
            ICRC3Value::Map(m) => m.get(key),
            _ => panic!("not a map"),
        }
    }

    #[test]
    fn transfer_tx_contains_only_what_the_caller_gave() {
        let tx = Transaction {
            operation: Operation::Transfer { from: acc(1, None), to: acc(2, Some([0; 32])), spender: None, fee: None },
            amount: Nat::from(5u8),
            memo: None,
            created_at_time: None,
        };
        let v = tx.to_value();
        assert_eq!(get(&v, "op"), Some(&text("xfer")));
        assert_eq!(get(&v, "amt"), Some(&nat(5u8)));
        assert!(get(&v, "fee").is_none() && get(&v, "memo").is_none() && get(&v, "ts").is_none());
        assert!(get(&v, "spender").is_none());
        // An explicit (even all-zero) subaccount is kept, an absent one is not.
        match get(&v, "to") {
            Some(ICRC3Value::Array(parts)) => assert_eq!(parts.len(), 2),
            other => panic!("{other:?}"),
        }
        match get(&v, "from") {
            Some(ICRC3Value::Array(parts)) => assert_eq!(parts.len(), 1),
            other => panic!("{other:?}"),
        }
        // So a transfer to (p, None) and to (p, Some(0)) are different transactions.
        let mut other = tx.clone();
        other.operation = Operation::Transfer { from: acc(1, None), to: acc(2, None), spender: None, fee: None };
        assert_ne!(tx.hash(), other.hash());
    }

    #[test]
    fn mint_and_burn_have_no_fee_and_no_counterpart() {
        let mint = Transaction {
            operation: Operation::Mint { to: acc(2, None) },
            amount: Nat::from(7u8),
            memo: Some(vec![1, 2]),
            created_at_time: Some(9),
        }
        .to_value();
        assert_eq!(get(&mint, "op"), Some(&text("mint")));
        assert!(get(&mint, "from").is_none() && get(&mint, "fee").is_none());
        assert_eq!(get(&mint, "memo"), Some(&ICRC3Value::Blob(ByteBuf::from(vec![1, 2]))));
        assert_eq!(get(&mint, "ts"), Some(&nat(9u8)));
        let burn = Transaction {
            operation: Operation::Burn { from: acc(2, None), spender: Some(acc(3, None)) },
            amount: Nat::from(7u8),
            memo: None,
            created_at_time: None,
        }
        .to_value();
        assert_eq!(get(&burn, "op"), Some(&text("burn")));
        assert!(get(&burn, "to").is_none() && get(&burn, "fee").is_none());
        assert!(get(&burn, "spender").is_some());
    }

    #[test]
    fn block_fields() {
        let tx = Transaction {
            operation: Operation::Approve {
                from: acc(1, None),
                spender: acc(2, None),
                expected_allowance: Some(Nat::from(3u8)),
                expires_at: Some(10),
                fee: None,
            },
            amount: Nat::from(5u8),
            memo: None,
            created_at_time: None,
        };
        let genesis = Block { parent_hash: None, timestamp: 1, effective_fee: Some(10), fee_collector: None, transaction: tx.clone() };
        let v = genesis.to_value();
        assert!(get(&v, "phash").is_none());
        assert_eq!(get(&v, "fee"), Some(&nat(10u8)));
        assert_eq!(get(&v, "ts"), Some(&nat(1u8)));
        let tx_v = get(&v, "tx").unwrap();
        assert_eq!(get(tx_v, "op"), Some(&text("approve")));
        assert_eq!(get(tx_v, "expected_allowance"), Some(&nat(3u8)));
        assert_eq!(get(tx_v, "expires_at"), Some(&nat(10u8)));
        let next = Block {
            parent_hash: Some(v.clone().hash()),
            timestamp: 2,
            effective_fee: None,
            fee_collector: Some(FeeCollector::Block(0)),
            transaction: tx,
        }
        .to_value();
        assert_eq!(get(&next, "phash"), Some(&ICRC3Value::Blob(ByteBuf::from(v.hash().to_vec()))));
        assert_eq!(get(&next, "fee_col_block"), Some(&nat(0u8)));
    }

    /// The representation-independent hash, checked against values computed by hand from the
    /// definition (sha256 of the leb128 / bytes / concatenations).
    #[test]
    fn value_hash_follows_the_standard() {
        use sha2::{Digest, Sha256};
        let h = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
        assert_eq!(nat(624_485u32).hash(), h(&[0xE5, 0x8E, 0x26]));
        assert_eq!(text("xfer").hash(), h(b"xfer"));
        let arr = ICRC3Value::Array(vec![text("a"), nat(1u8)]);
        assert_eq!(arr.hash(), h(&[h(b"a"), h(&[1])].concat()));
        let mut m = BTreeMap::new();
        m.insert("b".to_string(), nat(1u8));
        m.insert("a".to_string(), text("x"));
        let mut pairs = [[h(b"b"), h(&[1])].concat(), [h(b"a"), h(b"x")].concat()];
        pairs.sort();
        assert_eq!(ICRC3Value::Map(m).hash(), h(&pairs.concat()));
    }
}
