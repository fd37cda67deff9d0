//! Size limits and cleanup (issue 13, section 4) on localnet: learning_content + staking_hub
//! (+ the shards it creates) + the project's ICRC-1 ledger, the hub minting.
//!
//! * a shard reports its real stable memory to the hub; over the budget it is Full, no new
//!   learner goes there and the hub creates a new shard. (The over-budget figure is sent as the
//!   shard: filling the smallest budget, 256 MiB, takes about 100,000 learners.)
//! * compaction and archiving over months of simulated time: settled withdrawals (shard) and
//!   settled mints (hub) older than the retention become counters, inactive learners become
//!   tombstones keeping their balance and come back with it; nothing a learner needs is lost.
//!   Each periodic job runs once after a jump, not once per interval missed (`periodic_jobs`).
//! * self-deletion: refused while anything is under way or a balance would be lost silently.

use candid::Principal;
use integration_tests::platform::{learner, Platform, Quizzes};
use platform_types::http::{HttpRequest, HttpResponse, METRICS_PATH};
use platform_types::*;
use std::time::Duration;

const REWARD: u64 = 10 * E8S;

/// Units u-00 .. u-05, one three-option question each.
const QUIZZES: Quizzes = Quizzes { prefix: "u-", width: 2, count: 6, options: 3, key: answers };

fn unit_id(i: usize) -> String {
    QUIZZES.id(i)
}

fn answers(i: usize) -> Vec<u32> {
    vec![(i % 3) as u32]
}

/// The platform with the storage settings under test.
struct Env(Platform);

impl std::ops::Deref for Env {
    type Target = Platform;
    fn deref(&self) -> &Platform {
        &self.0
    }
}

fn env(storage: ConfigOverrides) -> Env {
    let config = ConfigOverrides {
        shard_soft_limit: Some(99),
        shard_hard_limit: Some(100),
        allowance_chunk_e8s: Some(10 * REWARD),
        reward_per_quiz_e8s: Some(REWARD),
        daily_attempt_limit: Some(100),
        min_withdrawal_e8s: Some(1),
        withdrawal_cooldown_secs: Some(0),
        // Withdrawals settle in the unstake that makes them (no batch round to wait for).
        withdrawal_batch_secs: Some(0),
        ..storage
    };
    Env(Platform::builder().quizzes(QUIZZES).pass_mark_percent(100).config(config).deploy())
}

impl Env {
    /// Learner `n`, registered, having passed units 0 .. passes.
    fn staked_learner(&self, n: u32, passes: usize) -> (Principal, Principal) {
        let who = learner(n);
        let shard = self.register(who).unwrap();
        for u in 0..passes {
            self.pass(shard, who, u);
        }
        (who, shard)
    }

    fn delete(&self, shard: Principal, who: Principal, forfeit: bool) -> Result<ProfileDeleted, DeleteProfileError> {
        let args = DeleteProfileArgs { forfeit_staked_balance: forfeit };
        self.net.update_candid_as::<_, (Result<ProfileDeleted, DeleteProfileError>,)>(shard, who, "delete_my_profile", (args,)).unwrap().0
    }

    fn cleanup_status(&self, shard: Principal) -> ShardCleanupStatus {
        self.net.query_candid::<_, (ShardCleanupStatus,)>(shard, "get_cleanup_status", ()).unwrap().0
    }

    fn mint_compaction(&self) -> MintCompactionStatus {
        self.net.query_candid::<_, (MintCompactionStatus,)>(self.hub, "get_mint_compaction_status", ()).unwrap().0
    }

    fn metrics(&self, canister: Principal) -> std::collections::BTreeMap<platform_types::metrics::Series, f64> {
        let request = HttpRequest {
            method: "GET".into(),
            url: METRICS_PATH.into(),
            headers: vec![],
            body: Default::default(),
            certificate_version: None,
        };
        let (r,): (HttpResponse,) = self.net.query_candid(canister, "http_request", (request,)).unwrap();
        assert_eq!(r.status_code, 200);
        platform_types::metrics::parse_exposition(&String::from_utf8(r.body.into_vec()).unwrap()).unwrap()
    }

    /// Time jumps `days` days at once (the canisters paused meanwhile, as on a frozen subnet),
    /// then a few rounds run whatever is due.
    fn jump_days(&self, days: u64) {
        self.net.advance_time(Duration::from_secs(days * 86_400));
        for _ in 0..3 {
            self.net.tick();
            self.net.run_until_idle(1_000);
        }
    }

    /// Time moves on `hours` hours, one hour a round, and every timer due runs.
    fn run_hours(&self, hours: u64) {
        for _ in 0..hours {
            self.net.advance_time(Duration::from_secs(3_600));
            self.net.tick();
            self.net.run_until_idle(10_000);
        }
    }
}

#[test]
fn a_shard_over_its_memory_budget_is_full_and_the_hub_creates_a_new_shard() {
    let budget = MIN_SHARD_MEMORY_BUDGET_BYTES;
    let e = env(ConfigOverrides { shard_memory_budget_bytes: Some(budget), ..Default::default() });
    let (_, first) = e.staked_learner(1, 1);
    e.run_hours(1);
    // The shard measures its own stable memory and reports it to the hub.
    let measured = e.cleanup_status(first);
    assert!(measured.stable_memory_bytes > 0 && measured.memory_budget_bytes == budget, "{measured:?}");
    let info = e.shards().into_iter().find(|s| s.id == first).unwrap();
    let reported = info.stable_memory_bytes.expect("reported with the periodic sync");
    assert!(reported > 32 << 20 && reported < budget, "an empty-ish shard: {reported} bytes");
    assert_eq!((info.status, e.shards().len()), (ShardStatus::Active, 1));

    // The shard's report says it passed the budget (sent as the shard: see the module docs).
    let report = ShardReport {
        total_staked_e8s: REWARD,
        user_count: 1,
        stable_memory_bytes: Some(budget + 1),
        ..Default::default()
    };
    let (r,): (Result<AllowanceGrant, AllowanceError>,) =
        e.net.update_candid_as(e.hub, first, "request_allowance", (report,)).unwrap();
    r.unwrap();
    let info = e.shards().into_iter().find(|s| s.id == first).unwrap();
    assert_eq!((info.status, info.user_count), (ShardStatus::Full, 1), "Full with 1 of 100 learners");
    // The hub adds a shard (here for the next registration), and new learners go there.
    let second = e.register(learner(2)).unwrap();
    assert_ne!(second, first, "no new learner on the full shard");
    for n in 3..5 {
        assert_eq!(e.register(learner(n)), Ok(second));
    }
    assert_eq!(e.shards().len(), 2);
    assert_eq!(e.register(learner(1)), Ok(first), "a learner of the full shard stays there");
    // Its own next report (real size, under the budget) makes it Active again.
    let (r,): (Result<QuizOutcome, ShardError>,) =
        e.net.update_candid_as(first, learner(1), "submit_quiz", (unit_id(1), answers(1))).unwrap();
    r.unwrap();
    e.run_hours(2);
    let info = e.shards().into_iter().find(|s| s.id == first).unwrap();
    assert_eq!(info.status, ShardStatus::Active, "{info:?}");
}

#[test]
fn self_deletion_is_safe_for_the_balance_and_the_books() {
    let e = env(ConfigOverrides::default());
    let (keeper, shard) = e.staked_learner(1, 3);
    let (leaver, _) = e.staked_learner(2, 2);
    let stranger = learner(99);
    let args = DeleteProfileArgs { forfeit_staked_balance: true };
    let refused = e.net.update_candid_as::<_, (Result<ProfileDeleted, DeleteProfileError>,)>(shard, stranger, "delete_my_profile", (args,));
    assert!(format!("{refused:?}").contains("not registered on this shard"), "refused at ingress: {refused:?}");
    // A balance is never given up without confirmation: withdraw it, then delete.
    assert_eq!(e.delete(shard, keeper, false), Err(DeleteProfileError::StakedBalance { staked_e8s: 3 * REWARD }));
    e.unstake(shard, keeper, 3 * REWARD).unwrap();
    assert_eq!(e.balance(keeper), 3 * REWARD);
    let done = e.delete(shard, keeper, false).unwrap();
    assert_eq!(done, ProfileDeleted { forfeited_e8s: 0, withdrawals_removed: 1, completed_units_kept: 3 });
    let view = e.profile(shard, keeper).unwrap();
    assert_eq!((view.profile, view.staked_e8s), (None, 0));
    assert!(e.withdrawals(shard, keeper).is_empty());
    assert_eq!(e.balance(keeper), 3 * REWARD, "what was withdrawn is the learner's");
    // Forfeiting on confirmation: the balance goes back to the shard's allowance.
    let before = e.shard_stats(shard);
    let done = e.delete(shard, leaver, true).unwrap();
    assert_eq!(done.forfeited_e8s, 2 * REWARD);
    let after = e.shard_stats(shard);
    assert_eq!(after.total_staked_e8s, before.total_staked_e8s - 2 * REWARD);
    assert_eq!(after.allowance_remaining_e8s, before.allowance_remaining_e8s + 2 * REWARD);
    assert_eq!(e.cleanup_status(shard).forfeited_e8s, 2 * REWARD);
    // A unit completed before is not paid again after coming back.
    let (r,): (Result<QuizOutcome, ShardError>,) =
        e.net.update_candid_as(shard, leaver, "submit_quiz", (unit_id(0), answers(0))).unwrap();
    assert_eq!(r, Err(ShardError::AlreadyCompleted { unit_id: unit_id(0) }));
}

/// One job's firings, as the canister's /metrics show them.
fn firings(m: &std::collections::BTreeMap<platform_types::metrics::Series, f64>, name: &str, job: &str) -> (u64, u64) {
    let get = |outcome| platform_types::metrics::sample(m, name, &[("job", job), ("outcome", outcome)]).unwrap() as u64;
    (get("started"), get("skipped"))
}

#[test]
fn settled_entries_are_compacted_and_inactive_learners_archived_over_months_with_nothing_lost() {
    let e = env(ConfigOverrides {
        settled_retention_secs: Some(MIN_SETTLED_RETENTION_SECS),
        inactive_archive_secs: Some(MIN_INACTIVE_ARCHIVE_SECS),
        ..Default::default()
    });
    let (active, shard) = e.staked_learner(1, 4);
    let (idle, _) = e.staked_learner(2, 3);
    e.unstake(shard, active, REWARD).unwrap();
    e.unstake(shard, active, REWARD).unwrap();
    assert_eq!(e.balance(active), 2 * REWARD, "both minted");
    let settled = e.withdrawals(shard, active);
    assert!(settled.len() == 2 && settled.iter().all(|w| matches!(w.state, WithdrawalState::Completed { .. })), "{settled:?}");
    let before = e.shard_stats(shard);
    e.run_hours(1);

    // Eight days on: past the retention. One jump, as after a pause of the whole subnet.
    let jobs_before = firings(&e.metrics(shard), "shard_job_firings_total", "sync");
    e.jump_days(8);
    let jobs_after = firings(&e.metrics(shard), "shard_job_firings_total", "sync");
    // Without the catch-up guard the 5-minute sync job would run ~2,300 times for 8 days.
    eprintln!("sync job (started, skipped): {jobs_before:?} -> {jobs_after:?}");
    assert!((1..=3).contains(&(jobs_after.0 - jobs_before.0)), "one start per round at most: {jobs_before:?} -> {jobs_after:?}");
    assert!(jobs_after.1 - jobs_before.1 <= 4 * 3, "at most 4 catch-up firings per round: {jobs_before:?} -> {jobs_after:?}");
    e.run_hours(2);
    let status = e.cleanup_status(shard);
    assert_eq!((status.compacted_completed, status.compacted_completed_e8s), (2, 2 * REWARD), "{status:?}");
    assert!(settled.iter().all(|w| w.id < status.settled_below_withdrawal_id), "{status:?}");
    assert!(e.withdrawals(shard, active).is_empty(), "settled withdrawals compacted away");
    // The hub's journal follows once the shard reported the settled ids.
    let mints = e.mint_compaction();
    assert_eq!((mints.compacted_minted, mints.compacted_minted_e8s, mints.journal_entries), (2, 2 * REWARD, 0), "{mints:?}");
    let after = e.shard_stats(shard);
    assert_eq!((after.total_staked_e8s, after.users), (before.total_staked_e8s, before.users));
    assert_eq!(e.profile(shard, active).unwrap().staked_e8s, 2 * REWARD);
    assert_eq!(e.balance(active), 2 * REWARD, "the ledger is not touched");

    // 180 days without activity archive the idle learner; the active one came back meanwhile.
    e.jump_days(170);
    let (r,): (Result<QuizOutcome, ShardError>,) =
        e.net.update_candid_as(shard, active, "submit_quiz", (unit_id(4), answers(4))).unwrap();
    assert!(r.unwrap().passed);
    e.jump_days(5);
    e.run_hours(2);
    let status = e.cleanup_status(shard);
    assert_eq!((status.archived, status.tombstones, status.tombstone_staked_e8s), (1, 1, 3 * REWARD), "{status:?}");
    let view = e.profile(shard, idle).unwrap();
    assert_eq!((view.staked_e8s, view.completed_units), (3 * REWARD, 3), "the balance and progress stay visible");
    assert_eq!(e.shard_stats(shard).users, before.users, "an archived learner stays a learner");
    // Coming back restores the learner, balance included, and a completed unit is not paid twice.
    let (r,): (Result<QuizOutcome, ShardError>,) =
        e.net.update_candid_as(shard, idle, "submit_quiz", (unit_id(0), answers(0))).unwrap();
    assert_eq!(r, Err(ShardError::AlreadyCompleted { unit_id: unit_id(0) }));
    e.unstake(shard, idle, 3 * REWARD).unwrap();
    assert_eq!(e.balance(idle), 3 * REWARD);
    let status = e.cleanup_status(shard);
    assert_eq!((status.restored, status.tombstones, status.tombstone_staked_e8s), (1, 0, 0), "{status:?}");
    assert_eq!(e.register(idle), Ok(shard), "still routed to its shard");
    let books = e.shard_stats(shard);
    assert_eq!(books.total_staked_e8s, 3 * REWARD, "the active learner's 2 + 1 rewards");
}
