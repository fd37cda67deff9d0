//! Synchronous operations on the hub's stable state: each one runs between two awaits of an
//! entry point, so it is atomic. No System API here (time, ids and limits come in as
//! arguments), so all of it is unit-tested natively.

use crate::fleet::ShardSync;
use crate::mint::{self, Admission, ExpectedMint, LedgerOutcome, MintKey, MintRecord, MintState, SearchStep};
use icrc_ledger_types::icrc::generic_value::ICRC3Value;
use crate::model::{self, HubTotals, ScalingNeed, ShardIndex, ShardRecord, UserEntry, UserState};
use crate::state;
use candid::Principal;
use platform_types::{
    AllowanceError, AllowanceGrant, GlobalStats, MintError, MintRequest, PlatformConfig, ShardError, ShardInfo, ShardReport,
};

/// The shard a new user goes to (see [`model::pick_shard`]).
pub fn route(hard_limit: u64) -> Option<(ShardIndex, Principal)> {
    state::with_shards(|shards| {
        let index = model::pick_shard(shards.iter().enumerate().map(|(i, s)| (i as ShardIndex, s)), hard_limit)?;
        Some((index, shards[index as usize].id))
    })
}

/// The auto-scaling decision over the current registry at `now_ns`.
pub fn scaling_need(soft_limit: u64, now_ns: u64) -> ScalingNeed {
    let shards = state::shards();
    model::scaling_need(shards.iter().map(|(i, s)| (*i, s)), soft_limit, now_ns)
}

/// The shard of a user whose registration completed.
pub fn registered_shard(user: Principal) -> Option<Principal> {
    shard_if_registered(state::user(user)?)
}

/// The shard of an index entry whose registration completed (see [`registered_shard`]).
pub fn shard_if_registered(entry: UserEntry) -> Option<Principal> {
    match entry {
        UserEntry { shard, state: UserState::Registered } => state::shard(shard).map(|s| s.id),
        UserEntry { state: UserState::Pending, .. } => None,
    }
}

/// Records the index entry (Pending) and counts the user on the shard, before the hub awaits
/// the shard's `register_user`. Returns the shard's canister id.
pub fn reserve(user: Principal, index: ShardIndex, hard_limit: u64) -> Principal {
    let id = state::update_shard(index, |s| {
        s.add_user(hard_limit);
        s.id
    })
    .expect("reserve: the routed shard exists");
    state::put_user(user, UserEntry { shard: index, state: UserState::Pending });
    id
}

/// The shard created the user.
pub fn confirm(user: Principal) {
    if let Some(entry) = state::user(user) {
        if entry.state == UserState::Pending {
            state::put_user(user, UserEntry { state: UserState::Registered, ..entry });
            state::update_totals(|t| t.registered_users += 1);
        }
    }
}

/// The shard did not create the user: the index entry goes, and the place on the shard is free.
pub fn release(user: Principal, hard_limit: u64) {
    if let Some(entry) = state::user(user) {
        if entry.state == UserState::Pending {
            state::remove_user(user);
            state::update_shard(entry.shard, |s| s.remove_user(hard_limit));
        }
    }
}

/// What a shard's `register_user` came back with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardRegistration {
    Created,
    Refused(ShardError),
    /// The call was rejected before the shard kept anything (clean reject, or a trap in its
    /// await-free `register_user`).
    NotExecuted(String),
    /// The shard may have created the user (e.g. its reply did not decode).
    Unknown(String),
}

/// What the hub does with a Pending index entry after the shard's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationDecision {
    Confirm,
    /// The shard did not create the user: the entry and the place go.
    Release,
    /// The shard may have created the user: releasing would let the hub route the learner
    /// elsewhere while the shard keeps them. The entry stays Pending and the next `register`
    /// asks the same shard again (its `register_user` answers Ok for a user it has).
    KeepPending,
}

pub fn registration_decision(outcome: &ShardRegistration) -> RegistrationDecision {
    match outcome {
        ShardRegistration::Created => RegistrationDecision::Confirm,
        ShardRegistration::Refused(_) | ShardRegistration::NotExecuted(_) => RegistrationDecision::Release,
        ShardRegistration::Unknown(_) => RegistrationDecision::KeepPending,
    }
}

/// A canister the hub just created (not installed yet).
pub fn record_created(id: Principal, now_ns: u64) -> ShardIndex {
    state::add_shard(ShardRecord::created(id, now_ns))
}

/// The install succeeded: the shard is Active and takes users; learning_content must learn it.
/// `config_version`: the version of the configuration in its init arguments.
pub fn mark_installed(index: ShardIndex, wasm_hash: String, config_version: u64) -> Principal {
    let id = state::update_shard(index, |s| {
        s.installed = true;
        s.wasm_hash = wasm_hash;
        s.id
    })
    .expect("mark_installed: the shard exists");
    state::update_shard_sync(index, |y| *y = ShardSync { config_version, ..ShardSync::default() });
    state::add_pending_content(id);
    id
}

/// A failed install: counted and backed off (see [`model::install_backoff_ns`]).
pub fn note_install_failure(index: ShardIndex, now_ns: u64) -> u32 {
    state::update_shard(index, |s| s.note_install_failure(now_ns)).unwrap_or(0)
}

pub fn set_scaling_status(status: String) {
    state::update_totals(|t| t.scaling_status = status);
}

pub fn set_topup_status(status: String) {
    state::update_totals(|t| t.topup_status = status);
}

/// `request_allowance` from `caller`: the caller check, then [`model::apply_report`] under the
/// configuration's chunk and daily emission budget and the platform pause.
pub fn request_allowance(
    caller: Principal,
    report: &ShardReport,
    config: &PlatformConfig,
    now_ns: u64,
) -> Result<AllowanceGrant, AllowanceError> {
    let found = state::shard_by_id(caller);
    model::check_allowance_caller(found.as_ref().map(|(_, s)| s))?;
    let (index, mut shard) = found.expect("checked above");
    let mut totals: HubTotals = state::totals();
    let limits = model::GrantLimits {
        chunk_e8s: config.allowance_chunk_e8s,
        daily_budget_e8s: config.daily_emission_budget(),
        paused: totals.is_paused(),
    };
    let result = model::apply_report(&mut shard, &mut totals, report, &limits, now_ns);
    // Over the memory budget: Full, so no new learner is routed here and scaling adds a shard.
    shard.refresh_status(config.shard_hard_limit, config.shard_memory_budget());
    state::update_shard(index, |s| *s = shard);
    state::update_totals(|t| *t = totals);
    result
}

/// A mint attempt the hub is about to make: the entry is journaled (and, if new, its amount
/// reserved) and the attempt counted, all before the ledger call.
pub struct MintAttempt {
    pub key: MintKey,
    pub record: MintRecord,
}

/// `mint_withdrawal` from `caller`, up to the ledger call: the caller and amount checks of
/// [`mint::admit`], then the journal entry. `Err`: the answer to give at once.
pub fn begin_mint(
    caller: Principal,
    req: &MintRequest,
    attempt_in_progress: impl Fn(MintKey) -> bool,
) -> Result<MintAttempt, Result<u64, MintError>> {
    let Some((index, shard)) = state::shard_by_id(caller) else {
        return Err(Err(MintError::Refused { reason: format!("{caller} is not a shard of this hub") }));
    };
    // A withdrawal the caller imported from a migrated shard keeps that shard's journal key
    // (and so its ledger memo), and is charged to the grants that backed it there; the
    // caller's own status decides whether it may mint now.
    let (charged_index, charged) = match req.origin_shard {
        None => (index, shard.clone()),
        Some(origin) if origin == index => (index, shard.clone()),
        Some(origin) => match state::shard(origin).filter(|o| o.migrated_to.is_some()) {
            Some(o) => (origin, ShardRecord { status: shard.status, installed: shard.installed, ..o }),
            None => {
                return Err(Err(MintError::Refused {
                    reason: format!("withdrawal {} names shard #{origin}, which no migration retired", req.withdrawal_id),
                }))
            }
        },
    };
    let key = MintKey { shard: charged_index, withdrawal_id: req.withdrawal_id };
    let existing = state::mint_record(key);
    if existing.is_none() {
        if let Some(answer) = crate::compaction::answer_for_compacted(key) {
            return Err(answer);
        }
    }
    let user_on_shard =
        state::user(req.user).is_some_and(|e| e.shard == index && e.state == UserState::Registered);
    let totals = state::mint_totals();
    let admission = mint::admit(
        existing.as_ref(),
        req,
        &charged,
        user_on_shard,
        &state::shard_mints(charged_index),
        &totals,
        state::totals().total_granted_e8s,
        attempt_in_progress(key),
    );
    match admission {
        Admission::Answer(answer) => Err(answer),
        Admission::Attempt { mut record, new } => {
            if new {
                let amount = record.amount_e8s;
                state::update_mint_counters(charged_index, |c| c.in_flight_e8s += amount);
            }
            // A block search sends no transfer: it is not an attempt.
            if record.block_search.is_none() {
                record.attempts_sent += 1;
            }
            // A first attempt whose search bound is known (the ledger length of an earlier mint,
            // see `updates::mint_withdrawal`) journals what it sends in this same write.
            if record.transfer_arg.is_none() && record.block_search.is_none() && !record.earlier_attempt_may_have_minted() {
                if let Some(seen) = totals.ledger_length_seen {
                    record.transfer_arg = Some(record.transfer_arg_bytes(key));
                    record.ledger_tip_before_first_attempt = Some(seen);
                }
            }
            state::put_mint_record(key, record.clone());
            Ok(MintAttempt { key, record })
        }
    }
}

/// The journaled answer of a settled entry (another path, e.g. governance, settled it while
/// this one awaited the ledger).
fn settled_answer(record: &MintRecord) -> Option<Result<u64, MintError>> {
    match &record.state {
        MintState::Minted { block_index } => Some(Ok(*block_index)),
        MintState::Failed { reason } => Some(Err(MintError::LedgerRejected { reason: reason.clone() })),
        MintState::InFlight => None,
    }
}

/// Journals what the first attempt sends, before it is sent: the exact `TransferArg` bytes and
/// the ledger's tip (`None` when an earlier attempt, journaled before these fields existed, may
/// have minted: the search then starts at block 0). Returns the bytes to send.
pub fn journal_transfer_arg(key: MintKey, ledger_tip: Option<u64>) -> Vec<u8> {
    let mut record = state::mint_record(key).expect("the attempt's entry is journaled");
    let bytes = record.transfer_arg_bytes(key);
    if record.transfer_arg.is_none() {
        record.transfer_arg = Some(bytes.clone());
        record.ledger_tip_before_first_attempt = ledger_tip;
        state::put_mint_record(key, record);
    }
    bytes
}

/// The ledger call's outcome: settles the entry (or not) and moves the counters. Re-reads the
/// entry (it may have been settled during the await).
pub fn finish_mint(key: MintKey, outcome: LedgerOutcome) -> Result<u64, MintError> {
    finish_mint_attempt(key, outcome).0
}

/// [`finish_mint`], and whether the entry is left InFlight with a block search to run (the
/// ledger answered `TooOld` after an unknown outcome), so the caller need not read it again.
pub fn finish_mint_attempt(key: MintKey, outcome: LedgerOutcome) -> (Result<u64, MintError>, bool) {
    let mut record = state::mint_record(key).expect("journaled entries are never removed");
    if let Some(answer) = settled_answer(&record) {
        return (answer, false);
    }
    let amount = record.amount_e8s;
    let (answer, change) = mint::apply_outcome(&mut record, outcome);
    let search = record.state == MintState::InFlight && record.block_search.is_some();
    state::put_mint_record(key, record);
    apply_mint_change(key, &change, amount);
    if let Ok(block_index) = answer {
        state::note_minted_block(block_index);
    }
    (answer, search)
}

/// Applies a page of the block search (see [`mint::apply_search_page`]) to the entry, after
/// re-reading it. Returns the answer and whether the search should read another page now.
pub fn apply_search_page(
    key: MintKey,
    log_length: u64,
    blocks: &[(u64, ICRC3Value)],
) -> (Result<u64, MintError>, bool) {
    let mut record = state::mint_record(key).expect("journaled entries are never removed");
    if let Some(answer) = settled_answer(&record) {
        return (answer, false);
    }
    let Some(mut search) = record.block_search.clone() else {
        return (Err(MintError::TryLater { reason: "no block search is under way".into() }), false);
    };
    let memo = MintRecord::memo(key);
    let expected = ExpectedMint {
        to: record.user,
        amount_e8s: record.amount_e8s,
        memo: &memo,
        created_at_ns: record.created_at_ns,
    };
    let marked: Vec<(u64, bool)> = blocks.iter().map(|(i, b)| (*i, mint::block_is_the_mint(b, &expected))).collect();
    let before = search.next_block;
    let step = mint::apply_search_page(&mut search, log_length, &marked);
    let progressed = search.next_block > before;
    record.block_search = Some(search);
    let more = step == SearchStep::Continue && progressed;
    let amount = record.amount_e8s;
    let (answer, change) = mint::apply_search_step(&mut record, step);
    state::put_mint_record(key, record);
    apply_mint_change(key, &change, amount);
    (answer, more)
}

/// A page of the block search could not be read: the entry keeps its cursor.
pub fn search_page_failed(key: MintKey, error: String) -> Result<u64, MintError> {
    let mut record = state::mint_record(key).expect("journaled entries are never removed");
    if let Some(answer) = settled_answer(&record) {
        return answer;
    }
    record.last_error = format!("searching the ledger's blocks: {error}");
    let answer = Err(MintError::TryLater { reason: record.last_error.clone() });
    state::put_mint_record(key, record);
    answer
}

/// Governance's resolution of an InFlight entry (function 1008; see
/// [`mint::resolution_change`]).
pub fn resolve_mint(key: MintKey, minted_at_block: Option<u64>, now_ns: u64) -> Result<MintRecord, String> {
    let mut record = state::mint_record(key).ok_or_else(|| format!("no withdrawal {key:?} in the mint journal"))?;
    let change = mint::resolution_change(&mut record, minted_at_block, now_ns)?;
    let amount = record.amount_e8s;
    state::put_mint_record(key, record.clone());
    apply_mint_change(key, &change, amount);
    Ok(record)
}

/// Moves the counters of the shard that journaled an entry just settled. A withdrawal made on a
/// shard a migration retired that ends Failed is credited back to the learner where they are
/// now (the end of the `migrated_to` chain): the grant that backed it moves there with it, so
/// that shard's grant covers the balance it holds, and the total granted does not change.
fn apply_mint_change(key: MintKey, change: &mint::CounterChange, amount_e8s: u64) {
    state::update_mint_counters(key.shard, |c| change.apply(c));
    if !change.failed {
        return;
    }
    let Some(holder) = final_successor(key.shard) else { return };
    let moved = state::update_shard(key.shard, |a| {
        let moved = amount_e8s.min(a.granted_e8s);
        a.granted_e8s -= moved;
        moved
    })
    .unwrap_or(0);
    state::update_shard(holder, |b| b.granted_e8s = b.granted_e8s.saturating_add(moved));
}

/// The shard that holds a retired shard's learners now (following migrations of migrations);
/// `None` for a shard no migration retired.
fn final_successor(index: ShardIndex) -> Option<ShardIndex> {
    let mut at = state::shard(index)?.migrated_to?;
    // Each migration creates a new shard, so the chain has fewer links than there are shards.
    for _ in 0..state::shards().len() {
        match state::shard(at).and_then(|s| s.migrated_to) {
            Some(next) => at = next,
            None => break,
        }
    }
    Some(at)
}

/// Installed shards, oldest first.
pub fn list_shards() -> Vec<ShardInfo> {
    state::shards()
        .into_iter()
        .filter(|(_, s)| s.installed)
        .map(|(i, s)| s.info(&state::shard_mints(i)))
        .collect()
}

pub fn global_stats(now_ns: u64) -> GlobalStats {
    let shards: Vec<_> = state::shards().into_iter().map(|(i, s)| (s, state::shard_mints(i))).collect();
    let totals = state::totals();
    let stats = model::global_stats(shards.iter().map(|(s, m)| (s, m)), &totals, &state::mint_totals());
    GlobalStats {
        granted_today_e8s: Some(totals.granted_today(now_ns)),
        daily_emission_budget_e8s: Some(state::config().daily_emission_budget()),
        ..stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::{ShardStatus, E8S, HARD_CAP_E8S};
    use icrc_ledger_types::icrc1::account::Account;
    use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg};

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    fn installed_shard(n: u8) -> ShardIndex {
        let i = record_created(p(n), 1);
        mark_installed(i, "hash".into(), 0);
        i
    }

    #[test]
    fn a_registration_reserves_then_confirms_or_releases() {
        let a = installed_shard(100);
        let b = installed_shard(101);
        assert_eq!(state::pending_content(), vec![p(100), p(101)]);
        // soft 1, hard 2: two users fill a shard.
        assert_eq!(route(2), Some((a, p(100))));
        assert_eq!(reserve(p(1), a, 2), p(100));
        assert_eq!(registered_shard(p(1)), None, "pending entries are not routed yet");
        assert_eq!(route(2), Some((b, p(101))), "the reserved place counts");
        confirm(p(1));
        assert_eq!(registered_shard(p(1)), Some(p(100)));
        assert_eq!(state::totals().registered_users, 1);
        confirm(p(1));
        assert_eq!(state::totals().registered_users, 1, "confirming twice counts once");

        reserve(p(2), b, 2);
        reserve(p(3), a, 2);
        assert_eq!(state::shard(a).unwrap().status, ShardStatus::Full);
        assert_eq!(route(2), Some((b, p(101))));
        release(p(3), 2);
        assert_eq!(state::user(p(3)), None);
        assert_eq!(state::shard(a).unwrap().status, ShardStatus::Active);
        assert_eq!(state::shard(a).unwrap().user_count, 1);
        release(p(1), 2);
        assert_eq!(registered_shard(p(1)), Some(p(100)), "a registered user is never released");
        assert_eq!(global_stats(0).users, 1);
    }

    #[test]
    fn a_moved_withdrawal_that_fails_moves_its_grant_to_the_shard_holding_the_learner() {
        let (a, b, c) = (installed_shard(120), installed_shard(121), installed_shard(122));
        state::update_shard(a, |s| {
            s.granted_e8s = 1_000;
            s.migrated_to = Some(b);
        });
        state::update_shard(b, |s| {
            s.granted_e8s = 5_000;
            s.migrated_to = Some(c);
        });
        state::update_shard(c, |s| s.granted_e8s = 7_000);
        state::update_totals(|t| t.total_granted_e8s += 13_000);
        reserve(p(7), c, 10);
        confirm(p(7));
        // A withdrawal made on A, moved A -> B -> C, sent by C under A's journal key.
        let attempt = |id: u64| {
            let req = MintRequest { withdrawal_id: id, user: p(7), amount_e8s: 300, created_at_ns: 1, origin_shard: Some(a) };
            begin_mint(p(122), &req, |_| false).unwrap_or_else(|e| panic!("{e:?}"))
        };
        let first = attempt(1);
        assert!(matches!(finish_mint(first.key, LedgerOutcome::Rejected("bad".into())), Err(MintError::LedgerRejected { .. })));
        let granted = |i| state::shard(i).unwrap().granted_e8s;
        assert_eq!((granted(a), granted(b), granted(c)), (700, 5_000, 7_300), "the grant follows the learner to C");
        assert_eq!(state::shard_mints(a).in_flight_e8s, 0);
        // Asked again: the journal answers, nothing moves twice.
        assert!(finish_mint(first.key, LedgerOutcome::Rejected("bad".into())).is_err());
        assert_eq!((granted(a), granted(c)), (700, 7_300));
        // Minted: A keeps the grant that backs it.
        let second = attempt(2);
        assert_eq!(finish_mint(second.key, LedgerOutcome::Minted(9)), Ok(9));
        assert_eq!((granted(a), granted(c)), (700, 7_300));
        assert_eq!(granted(a) + granted(b) + granted(c), 13_000, "nothing granted or lost");
    }

    #[test]
    fn after_a_first_mint_an_attempt_is_journaled_whole_in_begin_mint_and_a_too_old_search_is_reported() {
        let a = installed_shard(130);
        state::update_shard(a, |s| s.granted_e8s = 10_000);
        state::update_totals(|t| t.total_granted_e8s += 10_000);
        reserve(p(8), a, 10);
        confirm(p(8));
        let req = |id: u64| MintRequest { withdrawal_id: id, user: p(8), amount_e8s: 100, created_at_ns: 5, origin_shard: None };
        // Before any mint the hub knows no ledger length: the tip is read, then journaled.
        let first = begin_mint(p(130), &req(1), |_| false).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(first.record.transfer_arg, None);
        let sent = journal_transfer_arg(first.key, Some(3));
        assert_eq!(finish_mint_attempt(first.key, LedgerOutcome::Minted(9)), (Ok(9), false));
        assert_eq!(state::mint_totals().ledger_length_seen, Some(10));
        assert_eq!(state::mint_record(first.key).unwrap().transfer_arg, Some(sent));
        // Afterwards the same write that admits the entry journals its bytes and search bound.
        let second = begin_mint(p(130), &req(2), |_| false).unwrap_or_else(|e| panic!("{e:?}"));
        let expected = mint::encode_transfer_arg(p(8), 100, &MintRecord::memo(second.key), 5);
        assert_eq!(expected, candid::encode_one(TransferArg {
            from_subaccount: None,
            to: Account { owner: p(8), subaccount: None },
            fee: None,
            created_at_time: Some(5),
            memo: Some(Memo::from(MintRecord::memo(second.key).to_vec())),
            amount: candid::Nat::from(100u8),
        }).unwrap(), "the kept type table changes no byte");
        assert_eq!(second.record.transfer_arg.as_ref(), Some(&expected));
        assert_eq!(second.record.ledger_tip_before_first_attempt, Some(10));
        assert_eq!(state::mint_record(second.key), Some(second.record.clone()));
        assert_eq!(journal_transfer_arg(second.key, None), expected, "later reads send the same bytes");
        // An unknown outcome, then TooOld: the entry stays InFlight and the caller is told to search.
        assert_eq!(finish_mint_attempt(second.key, LedgerOutcome::Unknown("timeout".into())).1, false);
        let retry = begin_mint(p(130), &req(2), |_| false).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(retry.record.transfer_arg, Some(expected), "a retry resends the journaled bytes");
        let (answer, search) = finish_mint_attempt(retry.key, LedgerOutcome::TooOld);
        assert!(search && matches!(answer, Err(MintError::TryLater { .. })), "{answer:?}");
        assert!(state::mint_record(retry.key).unwrap().block_search.is_some());
        assert_eq!(state::shard_mints(a).in_flight_e8s, 100);
        assert_eq!(state::shard_mints(a).minted_e8s, 100);
    }

    #[test]
    fn a_registration_whose_outcome_is_unknown_stays_pending_and_is_asked_again() {
        use RegistrationDecision::*;
        assert_eq!(registration_decision(&ShardRegistration::Created), Confirm);
        assert_eq!(registration_decision(&ShardRegistration::Refused(ShardError::ShardDisabled)), Release);
        assert_eq!(registration_decision(&ShardRegistration::NotExecuted("stopped".into())), Release);
        let undecodable = ShardRegistration::Unknown("register_user reply: bad".into());
        assert_eq!(registration_decision(&undecodable), KeepPending);
        // Kept pending: the place stays counted and the next attempt goes to the same shard.
        let a = installed_shard(110);
        reserve(p(5), a, 10);
        assert_eq!(state::user(p(5)).map(|e| (e.shard, e.state)), Some((a, UserState::Pending)));
        assert_eq!(state::shard(a).unwrap().user_count, 1);
        assert_eq!(registered_shard(p(5)), None);
        confirm(p(5));
        assert_eq!(registered_shard(p(5)), Some(p(110)));
    }

    #[test]
    fn uninstalled_shards_take_no_users_and_are_retried_first() {
        assert_eq!(scaling_need(9, 0), ScalingNeed::NewShard);
        let i = record_created(p(50), 7);
        assert_eq!(route(10), None);
        assert_eq!(scaling_need(9, 0), ScalingNeed::RetryInstall(i));
        assert!(list_shards().is_empty(), "not listed until installed");
        assert_eq!(note_install_failure(i, 0), 1);
        assert!(matches!(scaling_need(9, 1), ScalingNeed::InstallBackoff { index, .. } if index == i));
        assert_eq!(note_install_failure(i, 0), 2);
        mark_installed(i, "abc".into(), 0);
        assert_eq!(scaling_need(9, 0), ScalingNeed::None);
        let listed = list_shards();
        assert_eq!((listed.len(), listed[0].wasm_hash.as_str(), listed[0].created_at_ns), (1, "abc", 7));
    }

    #[test]
    fn allowances_go_to_known_shards_only_and_stop_at_the_cap() {
        let a = installed_shard(60);
        let report = ShardReport { total_staked_e8s: 5, user_count: 1, quizzes_passed_delta: 2, wants_allowance: true, ..Default::default() };
        let unbudgeted = |chunk| PlatformConfig {
            allowance_chunk_e8s: chunk,
            daily_emission_budget_e8s: Some(u64::MAX),
            ..PlatformConfig::default()
        };
        assert_eq!(request_allowance(p(61), &report, &unbudgeted(E8S), 1), Err(AllowanceError::UnknownShard));
        let chunk = 2_000_000_000 * E8S;
        let chunk_cfg = unbudgeted(chunk);
        assert_eq!(request_allowance(p(60), &report, &chunk_cfg, 1).unwrap().granted_e8s, chunk);
        assert_eq!(request_allowance(p(60), &report, &chunk_cfg, 2).unwrap().granted_e8s, chunk);
        assert_eq!(request_allowance(p(60), &report, &chunk_cfg, 3).unwrap().granted_e8s, HARD_CAP_E8S - 2 * chunk);
        assert_eq!(request_allowance(p(60), &report, &chunk_cfg, 4), Err(AllowanceError::HardCapReached));
        let stats = global_stats(0);
        assert_eq!(stats.total_granted_e8s, HARD_CAP_E8S);
        assert_eq!(stats.cap_remaining_e8s, 0);
        assert_eq!(stats.quizzes_passed, 8, "recorded on every request, the refused one too");
        assert_eq!(stats.total_staked_e8s, 5);
        assert_eq!(state::shard(a).unwrap().last_report_ns, 4);
        state::update_shard(a, |s| s.status = ShardStatus::Disabled);
        assert_eq!(request_allowance(p(60), &report, &chunk_cfg, 5), Err(AllowanceError::ShardDisabled));
        assert_eq!(global_stats(0).quizzes_passed, 8, "a disabled shard's report is not recorded");
    }
}
