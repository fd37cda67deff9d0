//! Withdrawals minted on the ledger: the hub's mint journal and its rules, in plain Rust.
//!
//! A shard asks the hub to mint a withdrawal with `mint_withdrawal(MintRequest)`, and sends the
//! same request again until it gets a definite answer. The hub journals every withdrawal it
//! admits, keyed by (shard index, withdrawal id), so that:
//! * a withdrawal is minted at most once: a retry of a Minted entry is answered from the
//!   journal, and every ledger attempt carries the same memo and `created_at_time`, so the
//!   ledger answers `Duplicate` for a mint whose reply the hub lost;
//! * a shard never gets more than the hub granted it: an admitted withdrawal reserves its
//!   amount (`in_flight_e8s`) before the hub awaits the ledger, and `minted + in_flight +
//!   amount <= granted` is checked against that reservation;
//! * a ledger refusal re-credits the user (the shard does it on a definite answer) only when
//!   no earlier attempt of the same withdrawal may have minted: the hub counts the attempts it
//!   sent and the ones known not to have minted. An attempt whose outcome is unknown (a
//!   timed-out call, a reply that does not decode, a trap of the hub after the call) leaves the
//!   entry InFlight, and only `Ok` or `Duplicate` can settle it after that;
//! * an InFlight entry never waits forever: once the ledger answers `TooOld` (its dedup window
//!   has passed, so no copy of the mint can execute any more), the hub searches the ledger's
//!   blocks from the tip it read before the first attempt ([`BlockSearch`]): found -> Minted at
//!   that block, not found -> Failed (the shard credits the learner back). Governance can record
//!   the outcome of an entry the search cannot settle (function 1008, [`resolution_change`]);
//! * every attempt resends the exact bytes of the first attempt's `TransferArg`
//!   (`transfer_arg`), so a hub upgrade that changed how the argument is built can never turn a
//!   retry into a second, different transaction.

use crate::model::{ShardIndex, ShardRecord};
use candid::{CandidType, Nat, Principal};
use ic_stable_structures::storable::{Bound, Storable};
use icrc_ledger_types::icrc::generic_value::ICRC3Value;
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg};
use platform_types::{MintError, MintRequest, ShardStatus, HARD_CAP_E8S};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Journal key: the shard's index and its withdrawal id (12 fixed bytes, big-endian, so the
/// entries of one shard are contiguous and in id order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MintKey {
    pub shard: ShardIndex,
    pub withdrawal_id: u64,
}

impl Storable for MintKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(platform_types::withdrawal_memo(self.shard, self.withdrawal_id).to_vec())
    }

    fn into_bytes(self) -> Vec<u8> {
        platform_types::withdrawal_memo(self.shard, self.withdrawal_id).to_vec()
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        assert_eq!(bytes.len(), 12, "a mint key is 12 bytes");
        let shard = u32::from_be_bytes(bytes[..4].try_into().expect("4 bytes"));
        let withdrawal_id = u64::from_be_bytes(bytes[4..].try_into().expect("8 bytes"));
        MintKey { shard, withdrawal_id }
    }

    const BOUND: Bound = Bound::Bounded { max_size: 12, is_fixed_size: true };
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum MintState {
    /// Admitted (its amount reserved); not known to be minted.
    InFlight,
    Minted { block_index: u64 },
    /// The ledger refused it and no attempt can have minted it.
    Failed { reason: String },
}

/// A journal entry (Candid-encoded in stable memory: fields added later must be `Option`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MintRecord {
    pub user: Principal,
    pub amount_e8s: u64,
    pub created_at_ns: u64,
    pub state: MintState,
    /// Ledger calls sent; counted (and committed) before each await.
    pub attempts_sent: u32,
    /// Attempts known not to have minted: the call was never executed, or the ledger refused.
    pub attempts_not_minted: u32,
    /// Why the last attempt did not settle the entry (empty if none).
    pub last_error: String,
    /// The Candid bytes of the first attempt's `TransferArg`, resent verbatim by every retry.
    /// None only for an entry journaled before this field existed (built the same way then).
    pub transfer_arg: Option<Vec<u8>>,
    /// The ledger's log length read just before the first attempt: the mint, if any, is in a
    /// block at or after it.
    pub ledger_tip_before_first_attempt: Option<u64>,
    /// Set when the ledger answered `TooOld` while an earlier attempt may have minted.
    pub block_search: Option<BlockSearch>,
}

/// The search of the ledger's blocks for a mint whose outcome is unknown.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BlockSearch {
    /// The first block not searched yet.
    pub next_block: u64,
    /// The ledger's log length when the search read its first page: every block from here on
    /// was created after `TooOld`, so it cannot hold the mint.
    pub end_block: Option<u64>,
}

impl MintRecord {
    fn new(req: &MintRequest) -> Self {
        MintRecord {
            user: req.user,
            amount_e8s: req.amount_e8s,
            created_at_ns: req.created_at_ns,
            state: MintState::InFlight,
            attempts_sent: 0,
            attempts_not_minted: 0,
            last_error: String::new(),
            transfer_arg: None,
            ledger_tip_before_first_attempt: None,
            block_search: None,
        }
    }

    /// The ledger memo of this entry.
    pub fn memo(key: MintKey) -> [u8; 12] {
        platform_types::withdrawal_memo(key.shard, key.withdrawal_id)
    }

    /// The bytes every attempt sends: the journaled ones, or (first attempt, or an entry from
    /// before they were journaled) the encoding of this entry's transfer.
    pub fn transfer_arg_bytes(&self, key: MintKey) -> Vec<u8> {
        self.transfer_arg
            .clone()
            .unwrap_or_else(|| encode_transfer_arg(self.user, self.amount_e8s, &Self::memo(key), self.created_at_ns))
    }

    fn matches(&self, req: &MintRequest) -> bool {
        self.user == req.user && self.amount_e8s == req.amount_e8s && self.created_at_ns == req.created_at_ns
    }

    /// Whether some attempt before the current one may have minted.
    pub fn earlier_attempt_may_have_minted(&self) -> bool {
        // The current attempt is counted in `attempts_sent` but not (yet) in `attempts_not_minted`.
        self.attempts_sent.saturating_sub(1) > self.attempts_not_minted
    }
}

/// Mint amounts, per shard and hub-wide (Candid in stable memory).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct MintCounters {
    /// Confirmed minted (`Ok` or `Duplicate` from the ledger).
    pub minted_e8s: u64,
    /// Admitted and not settled: reserved against the grants.
    pub in_flight_e8s: u64,
    pub minted_count: u64,
    pub failed_count: u64,
    /// Hub-wide only: one past the highest block index a mint of this hub was answered with. The
    /// ledger is at least this long, so a transfer sent later lands at or after it: a first
    /// attempt journals it as the start of any later block search instead of reading the tip
    /// (two executions and a call saved per withdrawal). `None` until the first mint.
    pub ledger_length_seen: Option<u64>,
}

/// What the hub does with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Answer at once (from the journal, or a refusal).
    Answer(Result<u64, MintError>),
    /// Call the ledger for this entry. `new`: the entry must be inserted and its amount reserved.
    Attempt { record: MintRecord, new: bool },
}

fn try_later(reason: impl Into<String>) -> Admission {
    Admission::Answer(Err(MintError::TryLater { reason: reason.into() }))
}

fn refused(reason: impl Into<String>) -> Admission {
    Admission::Answer(Err(MintError::Refused { reason: reason.into() }))
}

/// The admission rules (see the module documentation). `user_on_shard`: the hub's index has
/// `req.user` registered on this shard. `attempt_in_progress`: an attempt of this entry is
/// awaiting the ledger right now.
#[allow(clippy::too_many_arguments)]
pub fn admit(
    existing: Option<&MintRecord>,
    req: &MintRequest,
    shard: &ShardRecord,
    user_on_shard: bool,
    shard_counters: &MintCounters,
    totals: &MintCounters,
    total_granted_e8s: u64,
    attempt_in_progress: bool,
) -> Admission {
    if let Some(record) = existing {
        if !record.matches(req) {
            // Only a shard bug can reuse an id; never answer definitely for the other request.
            return try_later(format!(
                "withdrawal {} is journaled with other details (user {}, {} e8s, created at {})",
                req.withdrawal_id, record.user, record.amount_e8s, record.created_at_ns
            ));
        }
        return match &record.state {
            MintState::Minted { block_index } => Admission::Answer(Ok(*block_index)),
            MintState::Failed { reason } => {
                Admission::Answer(Err(MintError::LedgerRejected { reason: reason.clone() }))
            }
            MintState::InFlight if attempt_in_progress => try_later("a mint of this withdrawal is under way"),
            MintState::InFlight if shard.status == ShardStatus::Disabled => {
                try_later("the shard is disabled; its withdrawals resume when it is enabled")
            }
            MintState::InFlight => Admission::Attempt { record: record.clone(), new: false },
        };
    }
    if !shard.installed {
        return refused("the caller is not an installed shard of this hub");
    }
    if shard.status == ShardStatus::Disabled {
        return try_later("the shard is disabled; its withdrawals resume when it is enabled");
    }
    if !user_on_shard {
        return refused(format!("{} is not a registered user of this shard", req.user));
    }
    if req.amount_e8s == 0 {
        return refused("the amount is zero");
    }
    let shard_committed = shard_counters.minted_e8s.saturating_add(shard_counters.in_flight_e8s);
    if shard_committed.saturating_add(req.amount_e8s) > shard.granted_e8s {
        return refused(format!(
            "{} e8s is more than this shard has left of what the hub granted it ({} granted, {} minted or being minted)",
            req.amount_e8s, shard.granted_e8s, shard_committed
        ));
    }
    // Implied by the per-shard check (grants never pass the cap); checked anyway.
    let committed = totals.minted_e8s.saturating_add(totals.in_flight_e8s).saturating_add(req.amount_e8s);
    if committed > total_granted_e8s.min(HARD_CAP_E8S) {
        return refused("the mint would pass the total granted or the hard cap");
    }
    Admission::Attempt { record: MintRecord::new(req), new: true }
}

/// The mint's `icrc1_transfer` argument, Candid-encoded: from the hub (the minting account) to
/// `to`'s default account, no fee (mints are free), the withdrawal's memo and time.
pub fn encode_transfer_arg(to: Principal, amount_e8s: u64, memo: &[u8], created_at_ns: u64) -> Vec<u8> {
    let arg = TransferArg {
        from_subaccount: None,
        to: Account { owner: to, subaccount: None },
        fee: None,
        created_at_time: Some(created_at_ns),
        memo: Some(Memo::from(memo.to_vec())),
        amount: Nat::from(amount_e8s),
    };
    // The kept type table: the same bytes as `candid::encode_one`.
    platform_types::reply_encoding::encode(arg)
}

/// Whether a rejected ledger call may have executed, by the IC interface specification's reject
/// codes: SYS_FATAL (1), SYS_TRANSIENT (2, which includes a frozen or out-of-cycles callee) and
/// DESTINATION_INVALID (3) are produced by the system before the callee runs. CANISTER_ERROR (5)
/// also covers a stopped or stopping callee (IC0508 / IC0509) and one with no Wasm (IC0537),
/// which never run the message; its other causes (a trap, no reply) can follow a commit point
/// (DFINITY's ledger commits the block, then awaits its archive). CANISTER_REJECT (4) is the
/// callee's own choice and may follow state changes; SYS_UNKNOWN (6) is a lost response.
pub fn reject_may_have_executed(reject_code: u32, message: &str) -> bool {
    match reject_code {
        1..=3 => false,
        5 => !callee_never_ran(message),
        _ => true,
    }
}

/// A CANISTER_ERROR that the system raised before the callee ran (the replica's message for
/// error codes 508, 509 and 537; the code itself is not passed to a calling canister).
fn callee_never_ran(message: &str) -> bool {
    const NEVER_RAN: [&str; 6] =
        ["IC0508", "IC0509", "IC0537", " is stopped", " is stopping", "contains no Wasm module"];
    NEVER_RAN.iter().any(|m| message.contains(m))
}

/// What the hub looks for in a block: its mint of this entry.
pub struct ExpectedMint<'a> {
    pub to: Principal,
    pub amount_e8s: u64,
    pub memo: &'a [u8],
    pub created_at_ns: u64,
}

fn field<'v>(map: &'v ICRC3Value, name: &str) -> Option<&'v ICRC3Value> {
    match map {
        ICRC3Value::Map(m) => m.get(name),
        _ => None,
    }
}

fn is_nat(value: Option<&ICRC3Value>, n: u64) -> bool {
    matches!(value, Some(ICRC3Value::Nat(v)) if u64::try_from(&v.0).ok() == Some(n))
}

/// Whether an ICRC-3 block is the expected mint: a mint (`tx.op = "mint"` or `btype = "1mint"`)
/// to the user's default account, with the amount, memo and `created_at_time` (`tx.ts`).
pub fn block_is_the_mint(block: &ICRC3Value, expected: &ExpectedMint) -> bool {
    let Some(tx) = field(block, "tx") else { return false };
    let is_mint = matches!(field(tx, "op"), Some(ICRC3Value::Text(op)) if op == "mint")
        || matches!(field(block, "btype"), Some(ICRC3Value::Text(t)) if t == "1mint");
    let to_user = match field(tx, "to") {
        Some(ICRC3Value::Array(parts)) => match parts.as_slice() {
            [ICRC3Value::Blob(owner)] => owner.as_slice() == expected.to.as_slice(),
            [ICRC3Value::Blob(owner), ICRC3Value::Blob(sub)] => {
                owner.as_slice() == expected.to.as_slice() && sub.iter().all(|b| *b == 0)
            }
            _ => false,
        },
        _ => false,
    };
    let memo = matches!(field(tx, "memo"), Some(ICRC3Value::Blob(m)) if m.as_slice() == expected.memo);
    is_mint && to_user && memo && is_nat(field(tx, "amt"), expected.amount_e8s) && is_nat(field(tx, "ts"), expected.created_at_ns)
}

/// What one page of the block search came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchStep {
    Found(u64),
    /// Every block that can hold the mint was searched: it was never minted.
    NotFound,
    /// More blocks to read.
    Continue,
}

/// Applies a page of blocks (`(index, is the mint)`, from the ledger and its archives, any
/// order) to the search: the cursor moves over the blocks read without a gap.
pub fn apply_search_page(search: &mut BlockSearch, log_length: u64, blocks: &[(u64, bool)]) -> SearchStep {
    let end = *search.end_block.get_or_insert(log_length);
    if let Some((index, _)) = blocks.iter().filter(|(i, _)| *i >= search.next_block && *i < end).find(|(_, m)| *m) {
        return SearchStep::Found(*index);
    }
    let mut indices: Vec<u64> = blocks.iter().map(|(i, _)| *i).collect();
    indices.sort_unstable();
    for i in indices {
        if i == search.next_block {
            search.next_block += 1;
        } else if i > search.next_block {
            break;
        }
    }
    if search.next_block >= end {
        SearchStep::NotFound
    } else {
        SearchStep::Continue
    }
}

/// Settles an entry by its block search (see [`apply_search_page`]).
pub fn apply_search_step(record: &mut MintRecord, step: SearchStep) -> (Result<u64, MintError>, CounterChange) {
    match step {
        SearchStep::Found(block) => apply_outcome(record, LedgerOutcome::Minted(block)),
        SearchStep::NotFound => {
            let reason = "TooOld, and the ledger's blocks from before the first attempt to the refusal hold no such \
                          mint: it was never minted"
                .to_string();
            fail(record, reason)
        }
        SearchStep::Continue => {
            let search = record.block_search.as_ref().expect("searching");
            record.last_error = format!(
                "TooOld after an attempt whose outcome is unknown: searching the ledger's blocks ({} of {})",
                search.next_block,
                search.end_block.map_or("?".into(), |e| e.to_string())
            );
            (Err(MintError::TryLater { reason: record.last_error.clone() }), CounterChange::default())
        }
    }
}

fn fail(record: &mut MintRecord, reason: String) -> (Result<u64, MintError>, CounterChange) {
    record.state = MintState::Failed { reason: reason.clone() };
    record.last_error = reason.clone();
    record.block_search = None;
    (
        Err(MintError::LedgerRejected { reason }),
        CounterChange { minted_e8s: 0, released_e8s: record.amount_e8s, failed: true },
    )
}

/// Governance's record of an InFlight entry's outcome (function 1008): minted at a block, or
/// not minted (refused unless the dedup horizon has passed, so no copy can still execute).
pub fn resolution_change(
    record: &mut MintRecord,
    minted_at_block: Option<u64>,
    now_ns: u64,
) -> Result<CounterChange, String> {
    if record.state != MintState::InFlight {
        return Err(format!("the withdrawal is already settled: {:?}", record.state));
    }
    match minted_at_block {
        Some(block) => Ok(apply_outcome(record, LedgerOutcome::Minted(block)).1),
        None => {
            let horizon = record.created_at_ns.saturating_add(platform_types::LEDGER_DEDUP_HORIZON_NS);
            if now_ns <= horizon {
                return Err(format!(
                    "the ledger can still execute a copy of this mint until {horizon} ns (created_at_time + 24 h + \
                     drift); it cannot be declared not minted before then"
                ));
            }
            Ok(fail(record, "not minted, as recorded by governance (proposal, function 1008)".into()).1)
        }
    }
}

/// What the ledger call came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerOutcome {
    /// `Ok(block)`, or `Duplicate { duplicate_of: block }`.
    Minted(u64),
    /// `TooOld`: this attempt did not mint, and no later one can.
    TooOld,
    /// Any other `TransferError`: this attempt did not mint.
    Rejected(String),
    /// The call was never executed (a clean reject): this attempt did not mint.
    NotExecuted(String),
    /// Anything else: this attempt may have minted.
    Unknown(String),
}

/// How an attempt's outcome changes the counters (applied to the shard's and the totals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterChange {
    pub minted_e8s: u64,
    pub released_e8s: u64,
    pub failed: bool,
}

impl CounterChange {
    pub fn apply(&self, c: &mut MintCounters) {
        c.in_flight_e8s = c.in_flight_e8s.saturating_sub(self.released_e8s);
        c.minted_e8s = c.minted_e8s.saturating_add(self.minted_e8s);
        if self.minted_e8s > 0 {
            c.minted_count += 1;
        }
        if self.failed {
            c.failed_count += 1;
        }
    }
}

/// Settles (or not) an InFlight entry whose attempt was counted in `attempts_sent`.
pub fn apply_outcome(record: &mut MintRecord, outcome: LedgerOutcome) -> (Result<u64, MintError>, CounterChange) {
    let amount = record.amount_e8s;
    match outcome {
        LedgerOutcome::Minted(block_index) => {
            record.state = MintState::Minted { block_index };
            record.last_error.clear();
            record.block_search = None;
            (Ok(block_index), CounterChange { minted_e8s: amount, released_e8s: amount, failed: false })
        }
        LedgerOutcome::TooOld if record.earlier_attempt_may_have_minted() => {
            record.attempts_not_minted += 1;
            record.block_search = Some(BlockSearch {
                next_block: record.ledger_tip_before_first_attempt.unwrap_or(0),
                end_block: None,
            });
            apply_search_step(record, SearchStep::Continue)
        }
        LedgerOutcome::TooOld => apply_outcome(record, LedgerOutcome::Rejected("TooOld".into())),
        LedgerOutcome::Rejected(reason) => {
            if record.earlier_attempt_may_have_minted() {
                record.attempts_not_minted += 1;
                record.last_error = format!(
                    "the ledger refused ({reason}), but an earlier attempt may have minted: retried until the \
                     ledger reports it as a duplicate"
                );
                (Err(MintError::TryLater { reason: record.last_error.clone() }), CounterChange::default())
            } else {
                record.attempts_not_minted += 1;
                record.state = MintState::Failed { reason: reason.clone() };
                record.last_error = reason.clone();
                (
                    Err(MintError::LedgerRejected { reason }),
                    CounterChange { minted_e8s: 0, released_e8s: amount, failed: true },
                )
            }
        }
        LedgerOutcome::NotExecuted(detail) => {
            record.attempts_not_minted += 1;
            record.last_error = detail.clone();
            (Err(MintError::TryLater { reason: detail }), CounterChange::default())
        }
        LedgerOutcome::Unknown(detail) => {
            record.last_error = format!("outcome unknown: {detail}");
            (Err(MintError::TryLater { reason: record.last_error.clone() }), CounterChange::default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    fn shard(granted: u64) -> ShardRecord {
        let mut s = ShardRecord::created(p(1), 0);
        s.installed = true;
        s.granted_e8s = granted;
        s
    }

    fn req(id: u64, amount: u64) -> MintRequest {
        MintRequest { withdrawal_id: id, user: p(7), amount_e8s: amount, created_at_ns: 1_000, origin_shard: None }
    }

    fn admit_new(r: &MintRequest, s: &ShardRecord, sc: &MintCounters) -> Admission {
        admit(None, r, s, true, sc, sc, s.granted_e8s, false)
    }

    /// The figure in docs/tokenomics.md: a journal entry's value, Candid-encoded, for a
    /// self-authenticating (29-byte) user, Minted (the common final state).
    #[test]
    fn a_journal_entry_takes_about_300_bytes() {
        let user = Principal::from_slice(&[7; 29]);
        let mut rec = MintRecord::new(&MintRequest { withdrawal_id: 1, user, amount_e8s: u64::MAX, created_at_ns: u64::MAX, origin_shard: None });
        rec.state = MintState::Minted { block_index: u64::MAX };
        rec.attempts_sent = 1;
        // What every entry journals since issue 11: the exact TransferArg and the ledger tip.
        rec.transfer_arg = Some(encode_transfer_arg(user, u64::MAX, &withdrawal_memo_of(u32::MAX, u64::MAX), u64::MAX));
        rec.ledger_tip_before_first_attempt = Some(u64::MAX);
        let bytes = platform_types::StableCandid(rec).to_bytes().len();
        eprintln!("mint journal entry: {bytes} bytes + the 12-byte key");
        assert!((250..=400).contains(&bytes), "{bytes}");
    }

    #[test]
    fn keys_are_twelve_big_endian_bytes_in_shard_then_id_order() {
        let k = MintKey { shard: 3, withdrawal_id: 9 };
        assert_eq!(MintKey::from_bytes(k.to_bytes()), k);
        assert!(MintKey { shard: 1, withdrawal_id: u64::MAX }.to_bytes() < MintKey { shard: 2, withdrawal_id: 0 }.to_bytes());
    }

    #[test]
    fn new_withdrawals_are_checked_against_the_grant_of_the_shard() {
        let s = shard(100);
        let none = MintCounters::default();
        assert!(matches!(admit_new(&req(1, 100), &s, &none), Admission::Attempt { new: true, .. }));
        let committed = MintCounters { minted_e8s: 60, in_flight_e8s: 30, ..Default::default() };
        assert!(matches!(admit_new(&req(1, 10), &s, &committed), Admission::Attempt { .. }));
        match admit_new(&req(1, 11), &s, &committed) {
            Admission::Answer(Err(MintError::Refused { reason })) => assert!(reason.contains("100 granted"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(admit_new(&req(1, 0), &s, &none), Admission::Answer(Err(MintError::Refused { .. }))));
        let other_user = admit(None, &req(1, 5), &s, false, &none, &none, 100, false);
        assert!(matches!(other_user, Admission::Answer(Err(MintError::Refused { .. }))));
        let mut uninstalled = s.clone();
        uninstalled.installed = false;
        assert!(matches!(admit_new(&req(1, 5), &uninstalled, &none), Admission::Answer(Err(MintError::Refused { .. }))));
        let mut disabled = s.clone();
        disabled.status = ShardStatus::Disabled;
        assert!(matches!(admit_new(&req(1, 5), &disabled, &none), Admission::Answer(Err(MintError::TryLater { .. }))));
        // The hub-wide check, should the shard records ever disagree with the totals.
        let totals = MintCounters { minted_e8s: 95, ..Default::default() };
        let a = admit(None, &req(1, 10), &s, true, &none, &totals, 100, false);
        assert!(matches!(a, Admission::Answer(Err(MintError::Refused { .. }))));
    }

    #[test]
    fn journaled_withdrawals_are_answered_from_the_journal() {
        let s = shard(100);
        let c = MintCounters::default();
        let r = req(4, 10);
        let mut rec = MintRecord::new(&r);
        rec.state = MintState::Minted { block_index: 77 };
        assert_eq!(admit(Some(&rec), &r, &s, true, &c, &c, 100, false), Admission::Answer(Ok(77)));
        // Even with the grant used up and the user moved: the journal answers.
        assert_eq!(admit(Some(&rec), &r, &shard(0), false, &c, &c, 0, false), Admission::Answer(Ok(77)));
        rec.state = MintState::Failed { reason: "BadFee".into() };
        assert!(matches!(
            admit(Some(&rec), &r, &s, true, &c, &c, 100, false),
            Admission::Answer(Err(MintError::LedgerRejected { .. }))
        ));
        rec.state = MintState::InFlight;
        assert!(matches!(
            admit(Some(&rec), &r, &s, true, &c, &c, 100, true),
            Admission::Answer(Err(MintError::TryLater { .. }))
        ));
        assert_eq!(
            admit(Some(&rec), &r, &s, true, &c, &c, 100, false),
            Admission::Attempt { record: rec.clone(), new: false },
            "an InFlight entry with nothing in progress lost its outcome: attempt again"
        );
        let other = MintRequest { amount_e8s: 11, ..r };
        assert!(matches!(
            admit(Some(&rec), &other, &s, true, &c, &c, 100, false),
            Admission::Answer(Err(MintError::TryLater { .. }))
        ), "a reused id is never answered definitely");
    }

    fn sent(record: &mut MintRecord) {
        record.attempts_sent += 1;
    }

    #[test]
    fn a_ledger_refusal_fails_the_entry_only_if_no_attempt_may_have_minted() {
        let mut rec = MintRecord::new(&req(1, 10));
        sent(&mut rec);
        let (answer, change) = apply_outcome(&mut rec, LedgerOutcome::NotExecuted("ledger stopped".into()));
        assert!(matches!(answer, Err(MintError::TryLater { .. })));
        assert_eq!(change, CounterChange::default());
        sent(&mut rec);
        let (answer, change) = apply_outcome(&mut rec, LedgerOutcome::Rejected("GenericError".into()));
        assert_eq!(answer, Err(MintError::LedgerRejected { reason: "GenericError".into() }));
        assert_eq!(change, CounterChange { minted_e8s: 0, released_e8s: 10, failed: true });
        assert_eq!(rec.state, MintState::Failed { reason: "GenericError".into() });

        let mut rec = MintRecord::new(&req(2, 10));
        sent(&mut rec);
        let _ = apply_outcome(&mut rec, LedgerOutcome::Unknown("timed out".into()));
        sent(&mut rec);
        let (answer, change) = apply_outcome(&mut rec, LedgerOutcome::Rejected("TooOld".into()));
        assert!(matches!(answer, Err(MintError::TryLater { .. })), "the timed-out attempt may have minted");
        assert_eq!(change, CounterChange::default());
        assert_eq!(rec.state, MintState::InFlight);
        sent(&mut rec);
        let (answer, change) = apply_outcome(&mut rec, LedgerOutcome::Minted(5));
        assert_eq!(answer, Ok(5));
        assert_eq!(change, CounterChange { minted_e8s: 10, released_e8s: 10, failed: false });
    }

    #[test]
    fn a_trap_after_the_call_leaves_the_attempt_counted_as_possibly_minted() {
        // What a trap in the callback leaves: the attempt counted before the await, nothing else.
        let mut rec = MintRecord::new(&req(3, 10));
        sent(&mut rec);
        sent(&mut rec);
        let (answer, _) = apply_outcome(&mut rec, LedgerOutcome::Rejected("TemporarilyUnavailable".into()));
        assert!(matches!(answer, Err(MintError::TryLater { .. })));
    }

    #[test]
    fn reject_codes_are_classified_as_the_interface_spec_says() {
        // (code, message, may have executed)
        let table = [
            (1, "SubnetOversubscribed", false),
            (2, "Canister x is out of cycles", false),
            (2, "Canister x is frozen", false),
            (3, "Canister x not found", false),
            (4, "the ledger rejected the call", true),
            (5, "Canister rrkah-fqaaa-aaaaa-aaaaq-cai is stopped", false),
            (5, "Canister rrkah-fqaaa-aaaaa-aaaaq-cai is stopping", false),
            (5, "IC0508: Canister x is stopped", false),
            (5, "IC0509: Canister x is stopping", false),
            (5, "Error from Canister x: Attempted to execute a message, but the canister contains no Wasm module.", false),
            (5, "Canister x trapped: unreachable", true),
            (5, "Canister x did not reply to the call", true),
            (6, "deadline expired", true),
            (7, "an unknown code", true),
        ];
        for (code, message, expected) in table {
            assert_eq!(reject_may_have_executed(code, message), expected, "{code} {message}");
        }
    }

    /// The exact bytes of a mint's `TransferArg`. Retries resend the journaled bytes, but the
    /// first attempt after an upgrade encodes them: a change here would make a retry of an entry
    /// journaled before this field existed a different transaction (a second mint).
    #[test]
    fn the_transfer_arg_encoding_is_pinned() {
        let bytes = encode_transfer_arg(Principal::from_slice(&[7; 10]), 123_456_789, &withdrawal_memo_of(3, 9), 1_700_000_000_000_000_000);
        assert_eq!(hex::encode(&bytes), PINNED_TRANSFER_ARG);
        let rec = MintRecord::new(&MintRequest { withdrawal_id: 9, user: Principal::from_slice(&[7; 10]), amount_e8s: 123_456_789, created_at_ns: 1_700_000_000_000_000_000, origin_shard: None });
        let key = MintKey { shard: 3, withdrawal_id: 9 };
        assert_eq!(rec.transfer_arg_bytes(key), bytes, "an entry with no journaled bytes encodes the same");
        let journaled = MintRecord { transfer_arg: Some(vec![1, 2, 3]), ..rec };
        assert_eq!(journaled.transfer_arg_bytes(key), vec![1, 2, 3], "journaled bytes are resent verbatim");
    }

    const PINNED_TRANSFER_ARG: &str = "4449444c066c06fbca0101c6fcb60204ba89e5c20402a2de94eb060282f3f3910c05d8a38ca80d7d6c02b3b0dac30368ad86ca8305026e036d7b6e7d6e780100010a070707070707070707070000010c000000030000000000000009000100002a36fe9c9717959aef3a";

    fn withdrawal_memo_of(shard: u32, id: u64) -> [u8; 12] {
        platform_types::withdrawal_memo(shard, id)
    }

    fn mint_block(to: Principal, amount: u64, memo: &[u8], ts: u64) -> ICRC3Value {
        use std::collections::BTreeMap;
        let mut tx = BTreeMap::new();
        tx.insert("op".to_string(), ICRC3Value::Text("mint".into()));
        tx.insert("to".to_string(), ICRC3Value::Array(vec![ICRC3Value::Blob(to.as_slice().to_vec().into())]));
        tx.insert("amt".to_string(), ICRC3Value::Nat(Nat::from(amount)));
        tx.insert("memo".to_string(), ICRC3Value::Blob(memo.to_vec().into()));
        tx.insert("ts".to_string(), ICRC3Value::Nat(Nat::from(ts)));
        let mut block = BTreeMap::new();
        block.insert("ts".to_string(), ICRC3Value::Nat(Nat::from(ts + 5)));
        block.insert("tx".to_string(), ICRC3Value::Map(tx));
        ICRC3Value::Map(block)
    }

    #[test]
    fn a_block_is_the_mint_only_with_every_field_equal() {
        let memo = withdrawal_memo_of(1, 2);
        let expected = ExpectedMint { to: p(7), amount_e8s: 10, memo: &memo, created_at_ns: 1_000 };
        assert!(block_is_the_mint(&mint_block(p(7), 10, &memo, 1_000), &expected));
        assert!(!block_is_the_mint(&mint_block(p(8), 10, &memo, 1_000), &expected), "other account");
        assert!(!block_is_the_mint(&mint_block(p(7), 11, &memo, 1_000), &expected), "other amount");
        assert!(!block_is_the_mint(&mint_block(p(7), 10, &withdrawal_memo_of(1, 3), 1_000), &expected), "other memo");
        assert!(!block_is_the_mint(&mint_block(p(7), 10, &memo, 1_001), &expected), "other created_at_time");
        let mut burn = mint_block(p(7), 10, &memo, 1_000);
        if let ICRC3Value::Map(b) = &mut burn {
            if let Some(ICRC3Value::Map(tx)) = b.get_mut("tx") {
                tx.insert("op".into(), ICRC3Value::Text("burn".into()));
            }
        }
        assert!(!block_is_the_mint(&burn, &expected), "not a mint");
        assert!(!block_is_the_mint(&ICRC3Value::Text("x".into()), &expected));
    }

    #[test]
    fn the_block_search_moves_over_contiguous_blocks_and_stops_at_the_end() {
        let mut search = BlockSearch { next_block: 100, end_block: None };
        // Ledger blocks 100..103 and archived 103..105 in another order; none is the mint.
        let page = [(103, false), (104, false), (100, false), (101, false), (102, false)];
        assert_eq!(apply_search_page(&mut search, 110, &page), SearchStep::Continue);
        assert_eq!(search, BlockSearch { next_block: 105, end_block: Some(110) }, "the end is fixed by the first page");
        // A gap (an archive did not answer 105..107): the cursor stops before it.
        assert_eq!(apply_search_page(&mut search, 200, &[(107, false), (108, false)]), SearchStep::Continue);
        assert_eq!(search.next_block, 105);
        assert_eq!(search.end_block, Some(110), "later blocks cannot hold the mint");
        assert_eq!(apply_search_page(&mut search, 200, &[(105, false), (106, false), (107, false)]), SearchStep::Continue);
        assert_eq!(apply_search_page(&mut search, 200, &[(108, false), (109, true)]), SearchStep::Found(109));
        assert_eq!(apply_search_page(&mut search, 200, &[(108, false), (109, false), (110, true)]), SearchStep::NotFound,
            "a block at or after the end is never taken for the mint");
    }

    #[test]
    fn too_old_after_an_unknown_outcome_searches_from_the_tip_then_settles() {
        let mut rec = MintRecord::new(&req(5, 10));
        rec.ledger_tip_before_first_attempt = Some(40);
        sent(&mut rec);
        let _ = apply_outcome(&mut rec, LedgerOutcome::Unknown("timed out".into()));
        sent(&mut rec);
        let (answer, change) = apply_outcome(&mut rec, LedgerOutcome::TooOld);
        assert!(matches!(answer, Err(MintError::TryLater { .. })));
        assert_eq!(change, CounterChange::default());
        assert_eq!(rec.block_search, Some(BlockSearch { next_block: 40, end_block: None }));
        let mut found = rec.clone();
        assert_eq!(apply_search_step(&mut found, SearchStep::Found(44)).0, Ok(44));
        assert_eq!((found.state.clone(), found.block_search.clone()), (MintState::Minted { block_index: 44 }, None));
        let (answer, change) = apply_search_step(&mut rec, SearchStep::NotFound);
        assert!(matches!(answer, Err(MintError::LedgerRejected { .. })), "definite: the shard credits back");
        assert_eq!(change, CounterChange { minted_e8s: 0, released_e8s: 10, failed: true });

        // TooOld with no attempt that may have minted fails at once (no search).
        let mut rec = MintRecord::new(&req(6, 10));
        sent(&mut rec);
        let _ = apply_outcome(&mut rec, LedgerOutcome::NotExecuted("Canister x is stopped".into()));
        sent(&mut rec);
        let (answer, _) = apply_outcome(&mut rec, LedgerOutcome::TooOld);
        assert_eq!(answer, Err(MintError::LedgerRejected { reason: "TooOld".into() }));
        assert_eq!(rec.block_search, None);
    }

    #[test]
    fn governance_resolutions_settle_only_in_flight_entries_and_not_minted_only_after_the_horizon() {
        let mut rec = MintRecord::new(&req(7, 10));
        let horizon = rec.created_at_ns + platform_types::LEDGER_DEDUP_HORIZON_NS;
        assert!(resolution_change(&mut rec.clone(), None, horizon).unwrap_err().contains("cannot be declared"));
        let change = resolution_change(&mut rec.clone(), None, horizon + 1).unwrap();
        assert_eq!(change, CounterChange { minted_e8s: 0, released_e8s: 10, failed: true });
        let change = resolution_change(&mut rec, Some(12), 0).unwrap();
        assert_eq!(change, CounterChange { minted_e8s: 10, released_e8s: 10, failed: false });
        assert_eq!(rec.state, MintState::Minted { block_index: 12 });
        assert!(resolution_change(&mut rec, None, horizon + 1).unwrap_err().contains("already settled"));
    }

    #[test]
    fn counter_changes_move_reservations_to_minted_or_release_them() {
        let mut c = MintCounters { minted_e8s: 5, in_flight_e8s: 30, ..Default::default() };
        CounterChange { minted_e8s: 10, released_e8s: 10, failed: false }.apply(&mut c);
        CounterChange { minted_e8s: 0, released_e8s: 20, failed: true }.apply(&mut c);
        assert_eq!(c, MintCounters { minted_e8s: 15, in_flight_e8s: 0, minted_count: 1, failed_count: 1, ledger_length_seen: None });
    }
}
