//! Compaction of the mint journal (issue 13, section 4): settled entries (Minted or Failed)
//! older than `settled_retention_secs` (at least 7 days, long after the ledger's 24 h
//! deduplication window) are removed; their amounts already are in the per-shard and hub-wide
//! `MintCounters`, and the number and amount removed are counted in [`CompactionState`].
//!
//! Safety: a removed entry can no longer answer a retry from the journal, and a new attempt of
//! its withdrawal would reach the ledger again. So, per shard, only a *prefix* of withdrawal
//! ids is compacted, and only below the mark the shard itself reports
//! (`settled_below_withdrawal_id`: every id below it is settled on the shard, so the shard never
//! asks for it again). The compacted prefix is one number per shard (`compacted_below`, memory
//! 61): a request for an id below it that has no journal entry is answered `TryLater` (never a
//! definite answer the hub can no longer back), see [`answer_for_compacted`]. An entry that is
//! InFlight, or settled too recently, stops the prefix there until a later run.
//!
//! Each run is bounded (instructions, checked before every entry) and resumable: the shard
//! index it stopped at and every shard's prefix are in stable memory.

use crate::mint::{MintKey, MintState};
use crate::model::ShardIndex;
use crate::state::{self, Stable};
use candid::CandidType;
use ic_stable_structures::Memory;
use platform_types::{MintCompactionStatus, MintError, StableCandid};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How often the compaction runs.
pub const COMPACTION_INTERVAL: Duration = Duration::from_secs(3_600);
/// Instructions one run may use before it stops (a timer message may use 40 B).
pub const RUN_INSTRUCTIONS: u64 = 2_000_000_000;

/// Counters and the resume point (Candid in stable memory: fields added later must be `Option`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactionState {
    pub compacted_minted: u64,
    pub compacted_minted_e8s: u64,
    pub compacted_failed: u64,
    pub last_run_ns: u64,
    pub last_run_incomplete: bool,
    /// The shard index the next run starts with.
    pub next_shard: ShardIndex,
}

/// One compaction run over `s` at `now_ns`; `may_continue` is asked before each entry. Returns
/// whether the run went through every shard.
pub fn compact<M: Memory + Clone>(
    s: &mut Stable<M>,
    now_ns: u64,
    retention_ns: u64,
    may_continue: &mut dyn FnMut() -> bool,
) -> bool {
    let mut st = s.compaction.get().0.clone();
    let shard_count = s.shards.len() as ShardIndex;
    let start = if st.next_shard < shard_count { st.next_shard } else { 0 };
    let mut complete = true;
    'shards: for index in start..shard_count {
        st.next_shard = index;
        let Some(limit) = s.shards.get(&index).and_then(|r| r.decode().settled_below_withdrawal_id) else { continue };
        let mut below = s.compacted_below.get(&index).unwrap_or(0);
        while below < limit {
            if !may_continue() {
                complete = false;
                s.compacted_below.insert(index, below);
                break 'shards;
            }
            let next = s
                .mint_journal
                .range(MintKey { shard: index, withdrawal_id: below }..)
                .next()
                .map(|e| (*e.key(), e.value().decode()));
            let Some((key, record)) = next.filter(|(k, _)| k.shard == index && k.withdrawal_id < limit) else {
                // No entry left below the shard's mark: every id below it is settled there.
                below = limit;
                break;
            };
            let old = record.created_at_ns.saturating_add(retention_ns) <= now_ns;
            match record.state {
                MintState::Minted { .. } if old => {
                    st.compacted_minted += 1;
                    st.compacted_minted_e8s = st.compacted_minted_e8s.saturating_add(record.amount_e8s);
                }
                MintState::Failed { .. } if old => st.compacted_failed += 1,
                // InFlight, or settled too recently: the prefix stops here for now.
                _ => {
                    below = key.withdrawal_id;
                    break;
                }
            }
            s.mint_journal.remove(&key);
            below = key.withdrawal_id + 1;
        }
        s.compacted_below.insert(index, below);
    }
    if complete {
        st.next_shard = 0;
    }
    st.last_run_ns = now_ns;
    st.last_run_incomplete = !complete;
    s.compaction.set(StableCandid(st));
    complete
}

/// A mint request whose journal entry is missing: if its id lies in the shard's compacted
/// prefix, the entry was settled and removed, and the hub cannot say how; it answers TryLater
/// (the shard keeps the withdrawal Pending) rather than mint it a second time.
pub fn answer_for_compacted(key: MintKey) -> Option<Result<u64, MintError>> {
    let below = state::with(|s| s.compacted_below.get(&key.shard)).unwrap_or(0);
    (key.withdrawal_id < below).then(|| {
        Err(MintError::TryLater {
            reason: format!(
                "withdrawal {} of this shard was settled and its journal entry compacted (the shard reported it settled); \
                 it is not minted again",
                key.withdrawal_id
            ),
        })
    })
}

pub fn status() -> MintCompactionStatus {
    state::with(|s| {
        let st = s.compaction.get().0.clone();
        MintCompactionStatus {
            compacted_minted: st.compacted_minted,
            compacted_minted_e8s: st.compacted_minted_e8s,
            compacted_failed: st.compacted_failed,
            journal_entries: s.mint_journal.len(),
            last_run_ns: st.last_run_ns,
            last_run_incomplete: st.last_run_incomplete,
        }
    })
}

/// The hourly run (armed in `jobs`), bounded by [`RUN_INSTRUCTIONS`].
pub fn run() {
    let retention_ns = state::config().settled_retention().saturating_mul(1_000_000_000);
    let now = ic_cdk::api::time();
    let complete = state::with_mut(|s| {
        compact(s, now, retention_ns, &mut || ic_cdk::api::instruction_counter() < RUN_INSTRUCTIONS)
    });
    if !complete {
        ic_cdk::println!("staking_hub: mint journal compaction stopped at its instruction bound; the next run resumes");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mint::MintRecord;
    use crate::model::ShardRecord;
    use candid::Principal;
    use ic_stable_structures::memory_manager::MemoryManager;
    use ic_stable_structures::VectorMemory;

    const DAY: u64 = 86_400 * 1_000_000_000;
    const RETENTION: u64 = 7 * DAY;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    fn record(state: MintState, created_at_ns: u64, amount_e8s: u64) -> MintRecord {
        MintRecord {
            user: p(50),
            amount_e8s,
            created_at_ns,
            state,
            attempts_sent: 1,
            attempts_not_minted: 0,
            last_error: String::new(),
            transfer_arg: None,
            ledger_tip_before_first_attempt: None,
            block_search: None,
        }
    }

    fn stable() -> Stable<VectorMemory> {
        let mut s = Stable::open(&MemoryManager::init(VectorMemory::default()));
        for n in 0..2u8 {
            let mut shard = ShardRecord::created(p(n + 1), 0);
            shard.installed = true;
            s.shards.insert(n as u32, crate::state::StoredShardRecord::new(&shard));
        }
        s
    }

    fn journal(s: &mut Stable<VectorMemory>, shard: u32, id: u64, state: MintState, created_at_ns: u64) {
        s.mint_journal.insert(MintKey { shard, withdrawal_id: id }, crate::state::EncodedCandid::new(&record(state, created_at_ns, 100 * id)));
    }

    fn report_settled_below(s: &mut Stable<VectorMemory>, shard: u32, below: u64) {
        let mut r = s.shards.get(&shard).unwrap().decode();
        r.settled_below_withdrawal_id = Some(below);
        s.shards.insert(shard, crate::state::StoredShardRecord::new(&r));
    }

    fn ids(s: &Stable<VectorMemory>, shard: u32) -> Vec<u64> {
        s.mint_journal.keys().filter(|k| k.shard == shard).map(|k| k.withdrawal_id).collect()
    }

    #[test]
    fn only_old_settled_entries_below_the_shards_mark_are_compacted_as_a_prefix() {
        let mut s = stable();
        let now = 100 * DAY;
        let old = now - RETENTION;
        journal(&mut s, 0, 1, MintState::Minted { block_index: 7 }, old);
        journal(&mut s, 0, 2, MintState::Failed { reason: "x".into() }, old);
        journal(&mut s, 0, 4, MintState::Minted { block_index: 8 }, old);
        journal(&mut s, 0, 5, MintState::InFlight, old);
        journal(&mut s, 0, 6, MintState::Minted { block_index: 9 }, old);
        journal(&mut s, 0, 7, MintState::Minted { block_index: 10 }, now);
        journal(&mut s, 1, 1, MintState::Minted { block_index: 11 }, old);
        // Nothing is compacted for a shard that reported no mark.
        assert!(compact(&mut s, now, RETENTION, &mut || true));
        assert_eq!(ids(&s, 0), vec![1, 2, 4, 5, 6, 7]);
        report_settled_below(&mut s, 0, 10);
        assert!(compact(&mut s, now, RETENTION, &mut || true));
        // 1, 2 and 4 go (3 was never journaled); the InFlight 5 stops the prefix, so 6 waits.
        assert_eq!(ids(&s, 0), vec![5, 6, 7]);
        assert_eq!(ids(&s, 1), vec![1], "the other shard reported no mark");
        assert_eq!(s.compacted_below.get(&0), Some(5));
        let st = s.compaction.get().0.clone();
        assert_eq!((st.compacted_minted, st.compacted_minted_e8s, st.compacted_failed), (2, 500, 1));
        // 5 settles; 7 is still too young; then it ages.
        journal(&mut s, 0, 5, MintState::Minted { block_index: 12 }, old);
        compact(&mut s, now, RETENTION, &mut || true);
        assert_eq!((ids(&s, 0), s.compacted_below.get(&0)), (vec![7], Some(7)));
        compact(&mut s, now + RETENTION, RETENTION, &mut || true);
        assert_eq!((ids(&s, 0), s.compacted_below.get(&0)), (vec![], Some(10)), "up to the shard's mark");
        // Never beyond the mark, even for old settled entries.
        journal(&mut s, 0, 10, MintState::Minted { block_index: 13 }, old);
        compact(&mut s, now + RETENTION, RETENTION, &mut || true);
        assert_eq!(ids(&s, 0), vec![10]);
    }

    #[test]
    fn a_bounded_run_resumes_where_it_stopped() {
        let mut s = stable();
        let now = 100 * DAY;
        for id in 1..=10 {
            journal(&mut s, 0, id, MintState::Minted { block_index: id }, 0);
            journal(&mut s, 1, id, MintState::Minted { block_index: id }, 0);
        }
        report_settled_below(&mut s, 0, 11);
        report_settled_below(&mut s, 1, 11);
        let mut runs = 0;
        loop {
            runs += 1;
            let mut budget = 3;
            let complete = compact(&mut s, now, RETENTION, &mut || {
                budget -= 1;
                budget >= 0
            });
            assert_eq!(s.compaction.get().0.last_run_incomplete, !complete);
            if complete {
                break;
            }
            assert!(runs < 20, "makes progress");
        }
        assert_eq!(s.mint_journal.len(), 0);
        assert_eq!(s.compaction.get().0.compacted_minted, 20);
        assert!(runs >= 7, "3 entries a run: {runs} runs");
    }

    #[test]
    fn a_request_in_the_compacted_prefix_without_an_entry_is_never_minted_again() {
        state::with_mut(|s| s.compacted_below.insert(0, 5));
        let answer = answer_for_compacted(MintKey { shard: 0, withdrawal_id: 4 });
        assert!(matches!(answer, Some(Err(MintError::TryLater { reason })) if reason.contains("compacted")));
        assert_eq!(answer_for_compacted(MintKey { shard: 0, withdrawal_id: 5 }), None);
        assert_eq!(answer_for_compacted(MintKey { shard: 1, withdrawal_id: 0 }), None);
    }

    #[test]
    fn compacted_state_survives_reopening_the_same_stable_memory() {
        let memory = VectorMemory::default();
        {
            let mut s = Stable::open(&MemoryManager::init(memory.clone()));
            s.compacted_below.insert(3, 42);
            s.compaction.set(StableCandid(CompactionState { compacted_minted: 5, ..Default::default() }));
        }
        let s = Stable::open(&MemoryManager::init(memory));
        assert_eq!(s.compacted_below.get(&3), Some(42));
        assert_eq!(s.compaction.get().0.compacted_minted, 5);
    }
}
