//! The ledger's state and domain logic in plain Rust: no System API calls (caller and time are
//! arguments), generic over the stable memory, so native unit tests cover all of it.
//!
//! Stable layout (one virtual memory each, so upgrades need no serialization):
//!
//! | id | what |
//! |---|---|
//! | 0 | `Config` (Candid) |
//! | 1 | `Tip`: last block hash, total supply, fee-collector block (Candid) |
//! | 2 | balances: account key -> u128 (zero balances are removed) |
//! | 3 | allowances: (approver, spender) -> amount + expiry |
//! | 4 | allowance expiry queue: (expires_at, approver, spender) -> () |
//! | 5 | deduplication index: tx hash -> block index |
//! | 6 | deduplication queue: (created_at_time, tx hash) -> () |
//! | 7, 8 | blocks: `StableLog` (index, data) of Candid-encoded ICRC-3 `Value`s |
//!
//! Semantics follow DFINITY's ICRC-1 ledger (`rs/ledger_suite/icrc1/ledger`), see the
//! documentation of [`Ledger::transfer`], [`Ledger::approve`] and [`Ledger::transfer_from`].

use crate::account::{
    account_key, allowance_key, expiration_key, expiration_of, AccountKey, AllowanceEntry, AllowanceKey, ExpirationKey,
};
use crate::block::{Block, FeeCollector, Hash, Operation, Transaction};
use crate::types::{ChangeFeeCollector, GetBlocksResult, InitArgs, StandardRecord, UpgradeArgs};
use candid::{CandidType, Nat, Principal};
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{Memory, StableBTreeMap, StableCell, StableLog};
use icrc_ledger_types::icrc::generic_metadata_value::MetadataValue;
use icrc_ledger_types::icrc::generic_value::ICRC3Value;
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg, TransferError};
use icrc_ledger_types::icrc2::allowance::Allowance;
use icrc_ledger_types::icrc2::approve::{ApproveArgs, ApproveError};
use icrc_ledger_types::icrc2::transfer_from::{TransferFromArgs, TransferFromError};
use icrc_ledger_types::icrc3::blocks::{BlockWithId, GetBlocksRequest, SupportedBlockType};
use platform_types::StableCandid;
use serde::Deserialize;
use serde_bytes::ByteBuf;

/// Deduplication window (ICRC-1 `TX_WINDOW`; DFINITY's ledger uses 24 h).
pub const TX_WINDOW_NANOS: u64 = 24 * 60 * 60 * 1_000_000_000;
/// Allowed clock drift of `created_at_time` (ICRC-1 `PERMITTED_DRIFT`): 2 minutes.
pub const PERMITTED_DRIFT_NANOS: u64 = 2 * 60 * 1_000_000_000;
pub const DEFAULT_MAX_MEMO_LENGTH: u16 = 32;
pub const DEFAULT_DECIMALS: u8 = 8;
/// Old deduplication entries and expired allowances removed per update call, at most.
pub const MAX_PRUNED_PER_CALL: usize = 100;
/// `icrc3_get_blocks` returns at most this many blocks per call (over all requested ranges).
pub const MAX_BLOCKS_PER_RESPONSE: u64 = 1_000;

/// The ledger's own metadata keys (`icrc1_metadata`); init/upgrade metadata may not use them.
pub const RESERVED_METADATA_KEYS: [&str; 5] =
    ["icrc1:decimals", "icrc1:name", "icrc1:symbol", "icrc1:fee", "icrc1:max_memo_length"];

pub const ICRC1_URL: &str = "https://github.com/dfinity/ICRC-1/tree/main/standards/ICRC-1";
pub const ICRC2_URL: &str = "https://github.com/dfinity/ICRC-1/tree/main/standards/ICRC-2";
pub const ICRC3_URL: &str = "https://github.com/dfinity/ICRC-1/tree/main/standards/ICRC-3";
pub const ICRC10_URL: &str = "https://github.com/dfinity/ICRC/blob/main/ICRCs/ICRC-10/ICRC-10.md";

const CONFIG_MEMORY_ID: MemoryId = MemoryId::new(0);
const TIP_MEMORY_ID: MemoryId = MemoryId::new(1);
const BALANCES_MEMORY_ID: MemoryId = MemoryId::new(2);
const ALLOWANCES_MEMORY_ID: MemoryId = MemoryId::new(3);
const EXPIRATIONS_MEMORY_ID: MemoryId = MemoryId::new(4);
const DEDUP_MEMORY_ID: MemoryId = MemoryId::new(5);
const DEDUP_QUEUE_MEMORY_ID: MemoryId = MemoryId::new(6);
const BLOCKS_INDEX_MEMORY_ID: MemoryId = MemoryId::new(7);
const BLOCKS_DATA_MEMORY_ID: MemoryId = MemoryId::new(8);

/// Why a call fails: an ICRC error the method returns, or a condition on which DFINITY's ledger
/// traps (memo too long, self-approval, delegated mints, ICRC-2 disabled, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure<E> {
    Reject(E),
    Trap(String),
}

/// The union of the errors of transfer, transfer_from and approve, mapped to each method's own
/// error type at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
enum TxError {
    BadFee { expected_fee: u128 },
    BadBurn { min_burn_amount: u128 },
    InsufficientFunds { balance: u128 },
    InsufficientAllowance { allowance: u128 },
    AllowanceChanged { current_allowance: u128 },
    Expired { ledger_time: u64 },
    TooOld,
    CreatedInFuture { ledger_time: u64 },
    Duplicate { duplicate_of: u64 },
    Trap(String),
}

fn unexpected<E>(e: TxError) -> Failure<E> {
    Failure::Trap(format!("bug: unexpected ledger error {e:?}"))
}

impl From<TxError> for Failure<TransferError> {
    fn from(e: TxError) -> Self {
        use TransferError as T;
        Failure::Reject(match e {
            TxError::BadFee { expected_fee } => T::BadFee { expected_fee: expected_fee.into() },
            TxError::BadBurn { min_burn_amount } => T::BadBurn { min_burn_amount: min_burn_amount.into() },
            TxError::InsufficientFunds { balance } => T::InsufficientFunds { balance: balance.into() },
            TxError::TooOld => T::TooOld,
            TxError::CreatedInFuture { ledger_time } => T::CreatedInFuture { ledger_time },
            TxError::Duplicate { duplicate_of } => T::Duplicate { duplicate_of: duplicate_of.into() },
            TxError::Trap(m) => return Failure::Trap(m),
            other => return unexpected(other),
        })
    }
}

impl From<TxError> for Failure<TransferFromError> {
    fn from(e: TxError) -> Self {
        use TransferFromError as T;
        Failure::Reject(match e {
            TxError::BadFee { expected_fee } => T::BadFee { expected_fee: expected_fee.into() },
            TxError::BadBurn { min_burn_amount } => T::BadBurn { min_burn_amount: min_burn_amount.into() },
            TxError::InsufficientFunds { balance } => T::InsufficientFunds { balance: balance.into() },
            TxError::InsufficientAllowance { allowance } => T::InsufficientAllowance { allowance: allowance.into() },
            TxError::TooOld => T::TooOld,
            TxError::CreatedInFuture { ledger_time } => T::CreatedInFuture { ledger_time },
            TxError::Duplicate { duplicate_of } => T::Duplicate { duplicate_of: duplicate_of.into() },
            TxError::Trap(m) => return Failure::Trap(m),
            other => return unexpected(other),
        })
    }
}

impl From<TxError> for Failure<ApproveError> {
    fn from(e: TxError) -> Self {
        use ApproveError as T;
        Failure::Reject(match e {
            TxError::BadFee { expected_fee } => T::BadFee { expected_fee: expected_fee.into() },
            TxError::InsufficientFunds { balance } => T::InsufficientFunds { balance: balance.into() },
            TxError::AllowanceChanged { current_allowance } => {
                T::AllowanceChanged { current_allowance: current_allowance.into() }
            }
            TxError::Expired { ledger_time } => T::Expired { ledger_time },
            TxError::TooOld => T::TooOld,
            TxError::CreatedInFuture { ledger_time } => T::CreatedInFuture { ledger_time },
            TxError::Duplicate { duplicate_of } => T::Duplicate { duplicate_of: duplicate_of.into() },
            TxError::Trap(m) => return Failure::Trap(m),
            other => return unexpected(other),
        })
    }
}

/// The ledger's configuration, set by init and changed by upgrades.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub minting_account: Account,
    pub fee_collector: Option<Account>,
    pub transfer_fee: u128,
    pub decimals: u8,
    pub max_memo_length: u16,
    pub token_name: String,
    pub token_symbol: String,
    pub metadata: Vec<(String, MetadataValue)>,
    pub icrc2: bool,
}

/// What changes with every block.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Tip {
    pub last_block_hash: Option<ByteBuf>,
    pub total_supply: u128,
    /// The fee collector named by a block, and that block's index (later blocks paying the same
    /// collector record `fee_col_block` instead of the account).
    pub fee_collector_block: Option<(Account, u64)>,
}

type VM<M> = VirtualMemory<M>;

pub struct Ledger<M: Memory> {
    config: StableCell<StableCandid<Option<Config>>, VM<M>>,
    /// A heap copy of `config` (read by every call; decoding it each time costs instructions).
    config_cache: Option<Config>,
    tip: StableCell<StableCandid<Tip>, VM<M>>,
    /// A heap copy of `tip`.
    tip_cache: Tip,
    balances: StableBTreeMap<AccountKey, u128, VM<M>>,
    allowances: StableBTreeMap<AllowanceKey, AllowanceEntry, VM<M>>,
    expirations: StableBTreeMap<ExpirationKey, (), VM<M>>,
    dedup: StableBTreeMap<Hash, u64, VM<M>>,
    dedup_queue: StableBTreeMap<[u8; 40], (), VM<M>>,
    blocks: StableLog<Vec<u8>, VM<M>, VM<M>>,
}

fn nat_to_u128(n: &Nat) -> Option<u128> {
    u128::try_from(&n.0).ok()
}

fn trap_nat(n: &Nat, what: &str) -> Result<u128, String> {
    nat_to_u128(n).ok_or_else(|| format!("{what} {n} does not fit in 128 bits"))
}

fn fee_is_zero_or_absent(fee: &Option<Nat>) -> bool {
    fee.as_ref().is_none_or(|f| f.0 == 0u8.into())
}

fn dedup_queue_key(created_at_time: u64, hash: &Hash) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..8].copy_from_slice(&created_at_time.to_be_bytes());
    k[8..].copy_from_slice(hash);
    k
}

fn check_metadata(metadata: &[(String, MetadataValue)]) -> Result<(), String> {
    for (i, (key, _)) in metadata.iter().enumerate() {
        if RESERVED_METADATA_KEYS.contains(&key.as_str()) {
            return Err(format!("metadata key {key} is reserved: the ledger sets it from its configuration"));
        }
        if metadata[..i].iter().any(|(k, _)| k == key) {
            return Err(format!("metadata key {key} is duplicated"));
        }
    }
    Ok(())
}

impl<M: Memory> Ledger<M> {
    /// Opens the ledger in the memories managed by `manager` (empty on a fresh canister).
    pub fn open(manager: &MemoryManager<M>) -> Self {
        let config = StableCell::init(manager.get(CONFIG_MEMORY_ID), StableCandid(None));
        let tip = StableCell::init(manager.get(TIP_MEMORY_ID), StableCandid(Tip::default()));
        Ledger {
            config_cache: config.get().0.clone(),
            config,
            tip_cache: tip.get().0.clone(),
            tip,
            balances: StableBTreeMap::init(manager.get(BALANCES_MEMORY_ID)),
            allowances: StableBTreeMap::init(manager.get(ALLOWANCES_MEMORY_ID)),
            expirations: StableBTreeMap::init(manager.get(EXPIRATIONS_MEMORY_ID)),
            dedup: StableBTreeMap::init(manager.get(DEDUP_MEMORY_ID)),
            dedup_queue: StableBTreeMap::init(manager.get(DEDUP_QUEUE_MEMORY_ID)),
            blocks: StableLog::init(manager.get(BLOCKS_INDEX_MEMORY_ID), manager.get(BLOCKS_DATA_MEMORY_ID)),
        }
    }

    pub fn is_initialized(&self) -> bool {
        self.config_cache.is_some()
    }

    pub fn config(&self) -> Config {
        self.config_cache.clone().expect("the ledger is not initialized")
    }

    fn set_config(&mut self, config: Config) {
        self.config.set(StableCandid(Some(config.clone())));
        self.config_cache = Some(config);
    }

    fn tip(&self) -> Tip {
        self.tip_cache.clone()
    }

    fn set_tip(&mut self, tip: Tip) {
        self.tip.set(StableCandid(tip.clone()));
        self.tip_cache = tip;
    }

    /// Install: validates the arguments, stores the configuration and mints the initial
    /// balances (one mint block each, in order, at `now`).
    pub fn init(&mut self, args: InitArgs, now: u64) -> Result<(), String> {
        if self.is_initialized() {
            return Err("the ledger is already initialized".into());
        }
        check_metadata(&args.metadata)?;
        if args.fee_collector_account.as_ref() == Some(&args.minting_account) {
            return Err("the fee collector account cannot be the minting account".into());
        }
        let config = Config {
            minting_account: args.minting_account,
            fee_collector: args.fee_collector_account,
            transfer_fee: trap_nat(&args.transfer_fee, "transfer_fee")?,
            decimals: args.decimals.unwrap_or(DEFAULT_DECIMALS),
            max_memo_length: args.max_memo_length.unwrap_or(DEFAULT_MAX_MEMO_LENGTH),
            token_name: args.token_name,
            token_symbol: args.token_symbol,
            metadata: args.metadata,
            icrc2: args.feature_flags.is_none_or(|f| f.icrc2),
        };
        let mut supply: u128 = 0;
        for (account, amount) in &args.initial_balances {
            if *account == config.minting_account {
                return Err("the minting account cannot have an initial balance".into());
            }
            let amount = trap_nat(amount, "initial balance")?;
            supply = supply.checked_add(amount).ok_or("the initial balances overflow the total supply")?;
        }
        self.set_config(config);
        for (account, amount) in args.initial_balances {
            let tx = Transaction { operation: Operation::Mint { to: account }, amount, memo: None, created_at_time: None };
            self.apply(tx, now, None).map_err(|e| format!("minting an initial balance failed: {e:?}"))?;
        }
        Ok(())
    }

    /// Upgrade: applies what the arguments set; everything else stays.
    pub fn upgrade(&mut self, args: UpgradeArgs) -> Result<(), String> {
        let mut config = self.config();
        if let Some(metadata) = args.metadata {
            check_metadata(&metadata)?;
            config.metadata = metadata;
        }
        if let Some(name) = args.token_name {
            config.token_name = name;
        }
        if let Some(symbol) = args.token_symbol {
            config.token_symbol = symbol;
        }
        if let Some(fee) = args.transfer_fee {
            config.transfer_fee = trap_nat(&fee, "transfer_fee")?;
        }
        match args.change_fee_collector {
            Some(ChangeFeeCollector::Unset) => config.fee_collector = None,
            Some(ChangeFeeCollector::SetTo(account)) => {
                if account == config.minting_account {
                    return Err("the fee collector account cannot be the minting account".into());
                }
                config.fee_collector = Some(account);
            }
            None => {}
        }
        if let Some(len) = args.max_memo_length {
            if len < config.max_memo_length {
                return Err(format!(
                    "max_memo_length cannot be decreased (from {} to {len}): existing blocks may have longer memos",
                    config.max_memo_length
                ));
            }
            config.max_memo_length = len;
        }
        if let Some(flags) = args.feature_flags {
            config.icrc2 = flags.icrc2;
        }
        self.set_config(config);
        Ok(())
    }

    // ------------------------------------------------------------------ queries

    pub fn balance_of(&self, account: &Account) -> u128 {
        self.balances.get(&account_key(account)).unwrap_or(0)
    }

    pub fn total_supply(&self) -> u128 {
        self.tip_cache.total_supply
    }

    pub fn block_count(&self) -> u64 {
        self.blocks.len()
    }

    /// (index, hash) of the last block, if any.
    pub fn last_block(&self) -> Option<(u64, Hash)> {
        let hash = self.tip_cache.last_block_hash.as_ref()?;
        let hash: Hash = hash.as_slice().try_into().expect("a block hash is 32 bytes");
        Some((self.blocks.len() - 1, hash))
    }

    pub fn metadata(&self) -> Vec<(String, MetadataValue)> {
        let c = self.config();
        let mut out = vec![
            ("icrc1:decimals".to_string(), MetadataValue::Nat(c.decimals.into())),
            ("icrc1:name".to_string(), MetadataValue::Text(c.token_name.clone())),
            ("icrc1:symbol".to_string(), MetadataValue::Text(c.token_symbol.clone())),
            ("icrc1:fee".to_string(), MetadataValue::Nat(c.transfer_fee.into())),
            ("icrc1:max_memo_length".to_string(), MetadataValue::Nat(c.max_memo_length.into())),
        ];
        out.extend(c.metadata);
        out
    }

    pub fn supported_standards(&self) -> Vec<StandardRecord> {
        let std = |name: &str, url: &str| StandardRecord { name: name.into(), url: url.into() };
        let mut out = vec![std("ICRC-1", ICRC1_URL)];
        if self.config().icrc2 {
            out.push(std("ICRC-2", ICRC2_URL));
        }
        out.push(std("ICRC-3", ICRC3_URL));
        out.push(std("ICRC-10", ICRC10_URL));
        out
    }

    pub fn supported_block_types(&self) -> Vec<SupportedBlockType> {
        let t = |block_type: &str, url: &str| SupportedBlockType { block_type: block_type.into(), url: url.into() };
        let mut out = vec![t("1burn", ICRC1_URL), t("1mint", ICRC1_URL), t("1xfer", ICRC1_URL)];
        if self.config().icrc2 {
            out.extend([t("2approve", ICRC2_URL), t("2burn", ICRC2_URL), t("2xfer", ICRC2_URL)]);
        }
        out
    }

    /// The allowance `spender` has on `account` at `now` (an expired approval counts as none).
    pub fn allowance(&self, account: &Account, spender: &Account, now: u64) -> Allowance {
        match self.live_allowance(&allowance_key(account, spender), now) {
            Some(e) => Allowance { allowance: e.amount.into(), expires_at: e.expires_at },
            None => Allowance { allowance: 0u8.into(), expires_at: None },
        }
    }

    fn live_allowance(&self, key: &AllowanceKey, now: u64) -> Option<AllowanceEntry> {
        self.allowances.get(key).filter(|e| e.expires_at.is_none_or(|t| t > now))
    }

    /// One stored block as its ICRC-3 value.
    pub fn block(&self, index: u64) -> Option<ICRC3Value> {
        let bytes = self.blocks.get(index)?;
        Some(candid::decode_one(&bytes).expect("corrupt block in stable memory"))
    }

    /// `icrc3_get_blocks`: the blocks of every requested range that exist, in request order,
    /// at most [`MAX_BLOCKS_PER_RESPONSE`] in all. No archives: `archived_blocks` is empty.
    pub fn get_blocks(&self, requests: &[GetBlocksRequest]) -> GetBlocksResult {
        let len = self.blocks.len();
        let mut blocks = Vec::new();
        let mut budget = MAX_BLOCKS_PER_RESPONSE;
        for req in requests {
            let Some(start) = nat_to_u128(&req.start).and_then(|s| u64::try_from(s).ok()) else { continue };
            let length = nat_to_u128(&req.length).map_or(u64::MAX, |l| u64::try_from(l).unwrap_or(u64::MAX));
            let end = start.saturating_add(length.min(budget)).min(len);
            for i in start..end {
                blocks.push(BlockWithId { id: i.into(), block: self.block(i).expect("block below the log length") });
                budget -= 1;
            }
        }
        GetBlocksResult { log_length: len.into(), blocks, archived_blocks: vec![] }
    }

    // ------------------------------------------------------------------ updates

    /// `icrc1_transfer` by `caller`.
    ///
    /// * from the minting account: a **mint**; `fee` must be absent or 0 (else `BadFee{0}`);
    /// * to the minting account: a **burn**; `fee` absent or 0 (else `BadFee{0}`); the amount
    ///   must be at least `min(transfer_fee, balance)` (else `BadBurn{min_burn_amount: that}`)
    ///   and non-zero (else `BadBurn{min_burn_amount: transfer_fee}`), as in DFINITY's ledger;
    /// * otherwise `fee`, if given, must equal the transfer fee (`BadFee{expected_fee}`) and the
    ///   balance must cover amount + fee (`InsufficientFunds{balance}`); the fee is burnt, or
    ///   credited to the fee collector when one is configured.
    ///
    /// With `created_at_time`: `TooOld` before `now - TX_WINDOW - PERMITTED_DRIFT`,
    /// `CreatedInFuture{ledger_time}` after `now + PERMITTED_DRIFT`, `Duplicate{duplicate_of}`
    /// when the identical transaction (same caller, arguments, memo and time) is in the window.
    /// A memo longer than `max_memo_length` traps.
    pub fn transfer(&mut self, caller: Principal, arg: TransferArg, now: u64) -> Result<u64, Failure<TransferError>> {
        let from = Account { owner: caller, subaccount: arg.from_subaccount };
        self.execute_transfer(from, arg.to, None, arg.amount, arg.fee, arg.memo, arg.created_at_time, now)
            .map_err(Into::into)
    }

    /// `icrc2_transfer_from` by `caller` (the spender, with `spender_subaccount`). Like
    /// [`transfer`](Self::transfer) from `from`, and, unless the spender is `from` itself, the
    /// allowance must cover amount + fee (`InsufficientAllowance{allowance}`) and is reduced by
    /// it. A burn (to the minting account) uses amount only; a delegated mint (from the minting
    /// account) traps, as in DFINITY's ledger.
    pub fn transfer_from(
        &mut self,
        caller: Principal,
        arg: TransferFromArgs,
        now: u64,
    ) -> Result<u64, Failure<TransferFromError>> {
        self.require_icrc2()?;
        let spender = Account { owner: caller, subaccount: arg.spender_subaccount };
        self.execute_transfer(arg.from, arg.to, Some(spender), arg.amount, arg.fee, arg.memo, arg.created_at_time, now)
            .map_err(Into::into)
    }

    fn require_icrc2<E>(&self) -> Result<(), Failure<E>> {
        if self.config().icrc2 {
            Ok(())
        } else {
            Err(Failure::Trap("ICRC-2 features are not enabled on the ledger.".into()))
        }
    }

    fn check_memo(&self, memo: &Option<Memo>) -> Result<(), TxError> {
        let max = self.config().max_memo_length as usize;
        match memo {
            Some(m) if m.0.len() > max => Err(TxError::Trap(format!(
                "the memo field size of {} bytes is above the allowed limit of {max} bytes",
                m.0.len()
            ))),
            _ => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn execute_transfer(
        &mut self,
        from: Account,
        to: Account,
        spender: Option<Account>,
        amount: Nat,
        fee: Option<Nat>,
        memo: Option<Memo>,
        created_at_time: Option<u64>,
        now: u64,
    ) -> Result<u64, TxError> {
        self.check_memo(&memo)?;
        let config = self.config();
        let operation = if to == config.minting_account {
            if !fee_is_zero_or_absent(&fee) {
                return Err(TxError::BadFee { expected_fee: 0 });
            }
            let balance = self.balance_of(&from);
            let min_burn_amount = config.transfer_fee.min(balance);
            if nat_to_u128(&amount).is_some_and(|a| a < min_burn_amount) {
                return Err(TxError::BadBurn { min_burn_amount });
            }
            if amount.0 == 0u8.into() {
                return Err(TxError::BadBurn { min_burn_amount: config.transfer_fee });
            }
            Operation::Burn { from, spender }
        } else if from == config.minting_account {
            if spender.is_some() {
                return Err(TxError::Trap("the minter account cannot delegate mints".into()));
            }
            if !fee_is_zero_or_absent(&fee) {
                return Err(TxError::BadFee { expected_fee: 0 });
            }
            Operation::Mint { to }
        } else {
            if fee.as_ref().is_some_and(|f| *f != config.transfer_fee) {
                return Err(TxError::BadFee { expected_fee: config.transfer_fee });
            }
            Operation::Transfer { from, to, spender, fee }
        };
        let tx = Transaction { operation, amount, memo: memo.map(|m| m.0.into_vec()), created_at_time };
        self.apply(tx, now, Some(&config))
    }

    /// `icrc2_approve` by `caller`. Traps (as DFINITY's ledger) on self-approval (same owner)
    /// and approvals by the minting account. Then: `BadFee`, the time and deduplication checks,
    /// `InsufficientFunds` (the approver pays the fee, which is burnt), `Expired{ledger_time}`
    /// for `expires_at <= now`, `AllowanceChanged{current_allowance}` when `expected_allowance`
    /// differs from the current allowance. The new allowance replaces the old one (amount and
    /// expiry); an amount above 2^128-1 is capped there.
    pub fn approve(&mut self, caller: Principal, arg: ApproveArgs, now: u64) -> Result<u64, Failure<ApproveError>> {
        self.require_icrc2()?;
        let from = Account { owner: caller, subaccount: arg.from_subaccount };
        if from.owner == arg.spender.owner {
            return Err(Failure::Trap("self approval is not allowed".into()));
        }
        let config = self.config();
        if from == config.minting_account {
            return Err(Failure::Trap("the minting account cannot delegate mints".into()));
        }
        self.check_memo(&arg.memo)?;
        if arg.fee.as_ref().is_some_and(|f| *f != config.transfer_fee) {
            return Err(TxError::BadFee { expected_fee: config.transfer_fee }.into());
        }
        let tx = Transaction {
            operation: Operation::Approve {
                from,
                spender: arg.spender,
                expected_allowance: arg.expected_allowance,
                expires_at: arg.expires_at,
                fee: arg.fee,
            },
            amount: arg.amount,
            memo: arg.memo.map(|m| m.0.into_vec()),
            created_at_time: arg.created_at_time,
        };
        Ok(self.apply(tx, now, Some(&config))?)
    }

    /// Time and deduplication checks, then the state change of `tx`, then its block.
    fn apply(&mut self, tx: Transaction, now: u64, config: Option<&Config>) -> Result<u64, TxError> {
        let config = match config {
            Some(c) => c.clone(),
            None => self.config(),
        };
        self.prune(now);
        let dedup_hash = match tx.created_at_time {
            None => None,
            Some(created) => {
                if created.saturating_add(TX_WINDOW_NANOS).saturating_add(PERMITTED_DRIFT_NANOS) < now {
                    return Err(TxError::TooOld);
                }
                if created > now.saturating_add(PERMITTED_DRIFT_NANOS) {
                    return Err(TxError::CreatedInFuture { ledger_time: now });
                }
                let hash = tx.hash();
                if let Some(duplicate_of) = self.dedup.get(&hash) {
                    return Err(TxError::Duplicate { duplicate_of });
                }
                Some((created, hash))
            }
        };

        let mut tip = self.tip();
        let mut effective_fee = None;
        let mut fee_collector = None;
        let amount = nat_to_u128(&tx.amount);
        match &tx.operation {
            Operation::Mint { to } => {
                let amount = amount.ok_or_else(|| TxError::Trap(format!("cannot mint {}: above 2^128-1", tx.amount)))?;
                tip.total_supply = tip
                    .total_supply
                    .checked_add(amount)
                    .ok_or_else(|| TxError::Trap("the total supply would exceed 2^128-1".into()))?;
                self.credit(to, amount);
            }
            Operation::Burn { from, spender } => {
                // As for transfers: the allowance is checked first, then the balance.
                if let Some(spender) = spender.filter(|s| s != from) {
                    let allowance = self.live_allowance(&allowance_key(from, &spender), now).map_or(0, |e| e.amount);
                    if amount.is_none_or(|a| a > allowance) {
                        return Err(TxError::InsufficientAllowance { allowance });
                    }
                }
                let balance = self.balance_of(from);
                let amount = amount.filter(|a| *a <= balance).ok_or(TxError::InsufficientFunds { balance })?;
                if let Some(spender) = spender.filter(|s| s != from) {
                    self.use_allowance(from, &spender, amount, now)?;
                }
                self.debit(from, amount);
                tip.total_supply -= amount;
            }
            Operation::Transfer { from, to, spender, fee: _ } => {
                let fee = config.transfer_fee;
                let balance = self.balance_of(from);
                let total = amount.and_then(|a| a.checked_add(fee));
                if let Some(spender) = spender.filter(|s| s != from) {
                    let allowance = self.live_allowance(&allowance_key(from, &spender), now).map_or(0, |e| e.amount);
                    if total.is_none_or(|t| t > allowance) {
                        return Err(TxError::InsufficientAllowance { allowance });
                    }
                }
                let total = total.filter(|t| *t <= balance).ok_or(TxError::InsufficientFunds { balance })?;
                if let Some(spender) = spender.filter(|s| s != from) {
                    self.use_allowance(from, &spender, total, now)?;
                }
                self.debit(from, total);
                self.credit(to, total - fee);
                match &config.fee_collector {
                    Some(collector) => {
                        self.credit(collector, fee);
                        fee_collector = Some(match &tip.fee_collector_block {
                            Some((account, index)) if account == collector => FeeCollector::Block(*index),
                            _ => {
                                tip.fee_collector_block = Some((*collector, self.blocks.len()));
                                FeeCollector::Account(*collector)
                            }
                        });
                    }
                    None => tip.total_supply -= fee,
                }
                if let Operation::Transfer { fee: None, .. } = &tx.operation {
                    effective_fee = Some(fee);
                }
            }
            Operation::Approve { from, spender, expected_allowance, expires_at, fee } => {
                let fee_amount = config.transfer_fee;
                let balance = self.balance_of(from);
                if balance < fee_amount {
                    return Err(TxError::InsufficientFunds { balance });
                }
                if expires_at.is_some_and(|t| t <= now) {
                    return Err(TxError::Expired { ledger_time: now });
                }
                let key = allowance_key(from, spender);
                let current = self.live_allowance(&key, now);
                let current_amount = current.map_or(0, |e| e.amount);
                if expected_allowance.as_ref().is_some_and(|e| *e != current_amount) {
                    return Err(TxError::AllowanceChanged { current_allowance: current_amount });
                }
                self.set_allowance(key, AllowanceEntry { amount: amount.unwrap_or(u128::MAX), expires_at: *expires_at });
                self.debit(from, fee_amount);
                tip.total_supply -= fee_amount;
                if fee.is_none() {
                    effective_fee = Some(fee_amount);
                }
            }
        }

        let block = Block {
            parent_hash: tip.last_block_hash.as_ref().map(|h| h.as_slice().try_into().expect("32-byte hash")),
            timestamp: now,
            effective_fee,
            fee_collector,
            transaction: tx,
        };
        let value = block.to_value();
        let bytes = candid::encode_one(&value).expect("encoding a block");
        let index = self.blocks.append(&bytes).expect("out of stable memory for blocks");
        tip.last_block_hash = Some(ByteBuf::from(value.hash().to_vec()));
        self.set_tip(tip);
        if let Some((created, hash)) = dedup_hash {
            self.dedup.insert(hash, index);
            self.dedup_queue.insert(dedup_queue_key(created, &hash), ());
        }
        Ok(index)
    }

    fn credit(&mut self, account: &Account, amount: u128) {
        if amount == 0 {
            return;
        }
        let key = account_key(account);
        let balance = self.balances.get(&key).unwrap_or(0);
        // Cannot overflow: every balance is part of the total supply, which is checked on mint.
        self.balances.insert(key, balance + amount);
    }

    fn debit(&mut self, account: &Account, amount: u128) {
        if amount == 0 {
            return;
        }
        let key = account_key(account);
        let balance = self.balances.get(&key).unwrap_or(0);
        let rest = balance.checked_sub(amount).expect("debit above the balance (checked before)");
        if rest == 0 {
            self.balances.remove(&key);
        } else {
            self.balances.insert(key, rest);
        }
    }

    fn use_allowance(&mut self, from: &Account, spender: &Account, amount: u128, now: u64) -> Result<(), TxError> {
        let key = allowance_key(from, spender);
        let Some(entry) = self.live_allowance(&key, now) else {
            return Err(TxError::InsufficientAllowance { allowance: 0 });
        };
        if entry.amount < amount {
            return Err(TxError::InsufficientAllowance { allowance: entry.amount });
        }
        self.set_allowance(key, AllowanceEntry { amount: entry.amount - amount, ..entry });
        Ok(())
    }

    /// Replaces an allowance (amount 0 removes it) and keeps the expiry queue in step.
    fn set_allowance(&mut self, key: AllowanceKey, entry: AllowanceEntry) {
        if let Some(old) = self.allowances.get(&key) {
            if let Some(t) = old.expires_at {
                self.expirations.remove(&expiration_key(t, &key));
            }
        }
        if entry.amount == 0 {
            self.allowances.remove(&key);
            return;
        }
        if let Some(t) = entry.expires_at {
            self.expirations.insert(expiration_key(t, &key), ());
        }
        self.allowances.insert(key, entry);
    }

    /// Removes (a bounded number of) deduplication entries that can no longer match a valid
    /// transaction, and expired allowances.
    pub fn prune(&mut self, now: u64) {
        let window = TX_WINDOW_NANOS + PERMITTED_DRIFT_NANOS;
        for _ in 0..MAX_PRUNED_PER_CALL {
            let Some(entry) = self.dedup_queue.first_key_value() else { break };
            let key = entry.0;
            let created = u64::from_be_bytes(key[..8].try_into().unwrap());
            if created.saturating_add(window) >= now {
                break;
            }
            let hash: Hash = key[8..].try_into().unwrap();
            self.dedup_queue.remove(&key);
            self.dedup.remove(&hash);
        }
        for _ in 0..MAX_PRUNED_PER_CALL {
            let Some((key, ())) = self.expirations.first_key_value() else { break };
            let (expires_at, allowance) = expiration_of(&key);
            if expires_at > now {
                break;
            }
            self.expirations.remove(&key);
            self.allowances.remove(&allowance);
        }
    }

    /// Sizes of the pruned indexes (for tests).
    pub fn index_sizes(&self) -> (u64, u64, u64) {
        (self.dedup.len(), self.allowances.len(), self.expirations.len())
    }
}

#[cfg(test)]
mod tests;
