//! The withdrawal (unstake) journal: what the shard stores for each withdrawal, in plain Rust.
//!
//! `unstake` debits the user's staked balance and journals a Pending withdrawal in one atomic
//! step, before any await. The entry is then sent to the hub (`mint_withdrawal`) until the hub
//! answers definitely: minted (Completed, with the ledger block) or refused for certain
//! (Failed: the amount goes back to the staked balance). Any other outcome leaves it Pending and
//! the retry timer sends the *same* request again later (same id, amount and
//! `created_at_time`, so the hub's journal and the ledger's deduplication make a double mint
//! impossible).
//!
//! Accounting (per shard, at every instant): allowance received from the hub = staked balances
//! + pending withdrawals + withdrawn (minted and settled) + unused allowance.

use candid::{CandidType, Principal};
use ic_stable_structures::storable::{Bound, Storable};
use platform_types::{Withdrawal, WithdrawalState};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Most withdrawals one user may have pending at a time.
pub const MAX_PENDING_PER_USER: u32 = 5;
/// Largest page `get_my_withdrawals` returns.
pub const MAX_WITHDRAWALS_PAGE: u64 = 100;
/// The first retry waits this long; each further one twice as long, up to [`MAX_RETRY_DELAY_NS`].
pub const FIRST_RETRY_DELAY_NS: u64 = 30 * 1_000_000_000;
pub const MAX_RETRY_DELAY_NS: u64 = 3_600 * 1_000_000_000;
/// Batches (of at most `platform_types::MAX_MINT_BATCH` withdrawals) one withdrawal round
/// sends at once: 200 withdrawals, so one shard's round keeps well under the IC's 500 calls in
/// flight from the hub to the ledger. More wait for the next round.
pub const BATCHES_PER_ROUND: usize = 2;

/// When to retry after `attempts` attempts that did not settle a withdrawal.
pub fn next_retry_ns(now_ns: u64, attempts: u32) -> u64 {
    let shift = attempts.saturating_sub(1).min(16);
    let delay = FIRST_RETRY_DELAY_NS.saturating_mul(1 << shift).min(MAX_RETRY_DELAY_NS);
    now_ns.saturating_add(delay)
}

/// Key of the journal: the user's principal (length-prefixed), then the withdrawal id
/// (big-endian), so a user's withdrawals are contiguous and in id (= time) order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WithdrawalKey {
    bytes: Vec<u8>,
}

impl WithdrawalKey {
    pub const MAX_SIZE: usize = 1 + Principal::MAX_LENGTH_IN_BYTES + 8;

    pub fn new(user: &Principal, id: u64) -> Self {
        let p = user.as_slice();
        let mut bytes = Vec::with_capacity(1 + p.len() + 8);
        bytes.push(p.len() as u8);
        bytes.extend_from_slice(p);
        bytes.extend_from_slice(&id.to_be_bytes());
        WithdrawalKey { bytes }
    }

    /// The smallest and the largest key of `user`.
    pub fn first_of(user: &Principal) -> Self {
        Self::new(user, 0)
    }

    pub fn last_of(user: &Principal) -> Self {
        Self::new(user, u64::MAX)
    }

    pub fn user(&self) -> Principal {
        Principal::from_slice(&self.bytes[1..1 + self.bytes[0] as usize])
    }

    pub fn id(&self) -> u64 {
        let n = self.bytes.len();
        u64::from_be_bytes(self.bytes[n - 8..].try_into().expect("8 bytes"))
    }
}

impl Storable for WithdrawalKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        WithdrawalKey { bytes: bytes.into_owned() }
    }

    const BOUND: Bound = Bound::Bounded { max_size: Self::MAX_SIZE as u32, is_fixed_size: false };
}

/// A journal entry (Candid-encoded in stable memory: fields added later must be `Option`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WithdrawalRecord {
    pub amount_e8s: u64,
    pub created_at_ns: u64,
    pub state: WithdrawalState,
    pub attempts: u32,
    pub updated_at_ns: u64,
    /// Pending only: not retried before this time.
    pub next_retry_ns: u64,
    /// Imported from a migrated shard: the hub's index of the shard the withdrawal was
    /// journaled on first (the hub keys its mint by it). None: made on this shard.
    pub origin_shard: Option<u32>,
}

/// A journal entry as stored: the bytes `StableCandid<WithdrawalRecord>` writes (so nothing
/// migrates), decoded only when read. `StableBTreeMap::insert` returns the value it replaces,
/// and decoding an entry costs ~180,000 instructions (measured): a stored `StableCandid` made
/// every rewrite of an entry pay for a decode nobody used.
pub struct StoredWithdrawal(Vec<u8>);

impl StoredWithdrawal {
    pub fn new(record: &WithdrawalRecord) -> Self {
        StoredWithdrawal(platform_types::reply_encoding::encode_ref(record))
    }

    pub fn decode(&self) -> WithdrawalRecord {
        candid::decode_one(&self.0).expect("Candid decoding of a stored withdrawal failed")
    }
}

impl Storable for StoredWithdrawal {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.0)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        StoredWithdrawal(bytes.into_owned())
    }

    const BOUND: Bound = Bound::Unbounded;
}

impl WithdrawalRecord {
    pub fn view(&self, key: &WithdrawalKey) -> Withdrawal {
        Withdrawal {
            id: key.id(),
            amount_e8s: self.amount_e8s,
            to: key.user(),
            created_at_ns: self.created_at_ns,
            state: self.state.clone(),
            attempts: self.attempts,
            updated_at_ns: self.updated_at_ns,
        }
    }

    pub fn is_pending(&self) -> bool {
        matches!(self.state, WithdrawalState::Pending { .. })
    }

    /// Pending past the ledger's dedup horizon: no copy of its mint can execute any more, so it
    /// waits only on the hub's block search (or a governance resolution).
    pub fn is_parked(&self, now_ns: u64) -> bool {
        self.is_pending() && now_ns > self.created_at_ns.saturating_add(platform_types::LEDGER_DEDUP_HORIZON_NS)
    }
}

/// Key of the retry queue: the next retry time (big-endian, so keys sort by time), then the
/// withdrawal's journal key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RetryKey {
    bytes: Vec<u8>,
}

impl RetryKey {
    pub fn new(retry_at_ns: u64, key: &WithdrawalKey) -> Self {
        let mut bytes = retry_at_ns.to_be_bytes().to_vec();
        bytes.extend_from_slice(&key.to_bytes());
        RetryKey { bytes }
    }

    pub fn retry_at_ns(&self) -> u64 {
        u64::from_be_bytes(self.bytes[..8].try_into().expect("8 bytes"))
    }

    pub fn withdrawal(&self) -> WithdrawalKey {
        WithdrawalKey::from_bytes(Cow::Borrowed(&self.bytes[8..]))
    }
}

impl Storable for RetryKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        RetryKey { bytes: bytes.into_owned() }
    }

    const BOUND: Bound = Bound::Bounded { max_size: 8 + WithdrawalKey::MAX_SIZE as u32, is_fixed_size: false };
}

/// Shard-wide withdrawal counters (a cell of their own, so the older `Counters` cell keeps its
/// Candid shape).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct WithdrawalCounters {
    /// The id of the next withdrawal (ids start at 1).
    pub next_id: u64,
    pub pending_e8s: u64,
    pub pending_count: u64,
    /// Minted and settled.
    pub withdrawn_e8s: u64,
    pub completed_count: u64,
    pub failed_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries were stored as `StableCandid<WithdrawalRecord>`: the old bytes decode, and new
    /// writes are the same bytes.
    #[test]
    fn stored_withdrawals_keep_the_stable_candid_bytes() {
        use platform_types::StableCandid;
        for state in [
            WithdrawalState::Pending { last_error: Some("hub down".into()) },
            WithdrawalState::Completed { block_index: 42 },
            WithdrawalState::Failed { reason: "refused".into() },
        ] {
            let record = WithdrawalRecord {
                amount_e8s: 7,
                created_at_ns: 8,
                state,
                attempts: 3,
                updated_at_ns: 9,
                next_retry_ns: 10,
                origin_shard: Some(2),
            };
            let old = StableCandid(record.clone()).to_bytes().into_owned();
            assert_eq!(StoredWithdrawal::new(&record).to_bytes().as_ref(), old.as_slice());
            assert_eq!(StoredWithdrawal::from_bytes(Cow::Owned(old)).decode(), record);
        }
    }

    #[test]
    fn keys_order_by_user_then_id_and_round_trip() {
        let a = Principal::from_slice(&[1; 29]);
        let b = Principal::from_slice(&[2; 10]);
        let k = WithdrawalKey::new(&a, 300);
        assert_eq!((k.user(), k.id()), (a, 300));
        assert_eq!(WithdrawalKey::from_bytes(k.to_bytes()), k);
        assert!(WithdrawalKey::new(&a, 2) < WithdrawalKey::new(&a, 10));
        assert!(WithdrawalKey::first_of(&a) <= WithdrawalKey::new(&a, 0));
        assert!(WithdrawalKey::new(&a, u64::MAX) <= WithdrawalKey::last_of(&a));
        // Length-prefixed: a shorter principal never falls inside a longer one's range.
        assert!(WithdrawalKey::last_of(&b) < WithdrawalKey::first_of(&a));
        assert_eq!(WithdrawalKey::new(&a, 1).to_bytes().len(), WithdrawalKey::MAX_SIZE);
    }

    /// The figure in docs/tokenomics.md: a settled withdrawal's value, Candid-encoded.
    #[test]
    fn a_journal_entry_takes_about_135_bytes() {
        let rec = WithdrawalRecord {
            amount_e8s: u64::MAX,
            created_at_ns: u64::MAX,
            state: WithdrawalState::Completed { block_index: u64::MAX },
            attempts: 1,
            updated_at_ns: u64::MAX,
            next_retry_ns: u64::MAX,
            origin_shard: Some(u32::MAX),
        };
        let bytes = platform_types::StableCandid(rec).to_bytes().len();
        eprintln!("shard journal entry: {bytes} bytes + a key of at most {} bytes", WithdrawalKey::MAX_SIZE);
        assert!((110..=160).contains(&bytes), "{bytes}");
    }

    #[test]
    fn retry_keys_sort_by_time_first_and_round_trip() {
        let a = WithdrawalKey::new(&Principal::from_slice(&[1; 29]), 1);
        let b = WithdrawalKey::new(&Principal::from_slice(&[9; 29]), 7);
        let early_b = RetryKey::new(5, &b);
        assert!(early_b < RetryKey::new(6, &a), "an earlier retry time goes first, whatever the key");
        assert_eq!((early_b.retry_at_ns(), early_b.withdrawal()), (5, b.clone()));
        assert_eq!(RetryKey::from_bytes(early_b.to_bytes()), early_b);
        assert!(RetryKey::new(u64::MAX, &b).to_bytes().len() <= 8 + WithdrawalKey::MAX_SIZE);
    }

    #[test]
    fn a_pending_withdrawal_is_parked_only_past_the_ledger_dedup_horizon() {
        let mut rec = WithdrawalRecord {
            amount_e8s: 1,
            created_at_ns: 1_000,
            state: WithdrawalState::Pending { last_error: None },
            attempts: 3,
            updated_at_ns: 1_000,
            next_retry_ns: 1_000,
            origin_shard: None,
        };
        let horizon = 1_000 + platform_types::LEDGER_DEDUP_HORIZON_NS;
        assert!(!rec.is_parked(horizon));
        assert!(rec.is_parked(horizon + 1));
        rec.state = WithdrawalState::Completed { block_index: 1 };
        assert!(!rec.is_parked(horizon + 1), "only Pending withdrawals park");
    }

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let s = 1_000_000_000;
        assert_eq!(next_retry_ns(0, 1), 30 * s);
        assert_eq!(next_retry_ns(0, 2), 60 * s);
        assert_eq!(next_retry_ns(0, 4), 240 * s);
        assert_eq!(next_retry_ns(0, 8), 3_600 * s);
        assert_eq!(next_retry_ns(5, 100), 5 + 3_600 * s);
        assert_eq!(next_retry_ns(u64::MAX, 1), u64::MAX);
    }
}
