//! Shard migration (function 1012, issue 13) on localnet: a shard with 10,000 learners is moved
//! to a new shard mid-traffic, with a hub upgrade in the middle of the copy and the ledger
//! stopped so that withdrawals are Pending when they move. Then every learner's data on the new
//! shard equals the old shard's export, the hub's index names the new shard for all, the token
//! books balance, the Pending withdrawals are minted exactly once, and the old shard is stopped.
//!
//! A smaller shard with archived learners (inactive half a year) and a self-deleted one moves
//! too: they arrive as tombstones with their balances and completed units, the totals match on
//! both sides, and an archived learner who comes back on the new shard gets their balance and
//! can withdraw it.

use candid::Principal;
use integration_tests::platform::{Platform, Quizzes};
use integration_tests::wasm;
use localnet::RawMessageId;
use platform_types::*;
use std::collections::BTreeMap;
use std::time::Duration;

const REWARD: u64 = 10 * E8S;
const LEARNERS: u32 = 10_000;
/// Units `m-00` .. `m-05`, one question of three options; the right answer is `i % 3`.
const QUIZZES: Quizzes = Quizzes { prefix: "m-", width: 2, count: 6, options: 3, key: |i| vec![(i % 3) as u32] };

fn learner(n: u32) -> Principal {
    let mut b = [7u8; 29];
    b[..4].copy_from_slice(&n.wrapping_mul(2_654_435_761).to_be_bytes());
    b[4..8].copy_from_slice(&n.to_be_bytes());
    Principal::from_slice(&b)
}

/// The platform, with this file's own calls on top.
struct Env(Platform);

impl std::ops::Deref for Env {
    type Target = Platform;
    fn deref(&self) -> &Platform {
        &self.0
    }
}

impl Env {
    fn new() -> Env {
        Env::with(ConfigOverrides::default())
    }

    /// `extra`'s storage fields (archiving, retention) over the test's economics.
    fn with(extra: ConfigOverrides) -> Env {
        let config = ConfigOverrides {
            shard_soft_limit: Some(19_999),
            shard_hard_limit: Some(20_000),
            allowance_chunk_e8s: Some(20 * REWARD),
            reward_per_quiz_e8s: Some(REWARD),
            daily_attempt_limit: Some(100),
            min_withdrawal_e8s: Some(1),
            withdrawal_cooldown_secs: Some(0),
            // Withdrawals settle in the unstake that makes them (no batch round to wait for).
            withdrawal_batch_secs: Some(0),
            inactive_archive_secs: extra.inactive_archive_secs,
            settled_retention_secs: extra.settled_retention_secs,
            ..Default::default()
        };
        let p = Platform::builder().quizzes(QUIZZES).pass_mark_percent(100).config(config).deploy();
        // Thousands of registrations in flight at once reserve the hub's cycles for their calls.
        p.net.add_cycles(p.hub, 1_000_000_000_000_000);
        Env(p)
    }

    /// Registers learners `range`, 400 at a time: every `register` of a group submitted, then
    /// the rounds run (the hub may have 500 calls open to one shard: a bigger group would be
    /// refused in part, `ShardUnavailable`; tests/tests/load_burst.rs covers that).
    fn register_many(&self, range: std::ops::Range<u32>) -> Vec<Principal> {
        let all: Vec<u32> = range.collect();
        let mut shards = Vec::with_capacity(all.len());
        for group in all.chunks(400) {
            let ids: Vec<(u32, RawMessageId)> = group
                .iter()
                .map(|&n| (n, self.net.submit_call(self.hub, learner(n), "register", candid::encode_one(None::<RegistrationProof>).unwrap()).unwrap()))
                .collect();
            self.net.run_until_idle(100_000);
            shards.extend(ids.into_iter().map(|(n, id)| {
                let bytes = self.net.await_call(id).unwrap_or_else(|e| panic!("register {n}: {e:?}"));
                candid::decode_one::<Result<Principal, RegisterError>>(&bytes).unwrap().unwrap()
            }));
        }
        shards
    }

    fn migrations(&self) -> Vec<MigrationView> {
        self.net.query_candid::<_, (Vec<MigrationView>,)>(self.hub, "get_migration_status", ()).unwrap().0
    }

    /// Every user of `shard`, by principal, as its export shows them (read as the hub).
    fn export(&self, shard: Principal) -> (BTreeMap<Principal, ExportedUser>, ExportedShardTotals) {
        let mut users = BTreeMap::new();
        let mut cursor = None;
        loop {
            let (r,): (Result<ExportedUsers, ShardError>,) =
                self.net.query_candid_as(shard, self.hub, "export_users", (cursor, 500u32)).unwrap();
            let exported = r.unwrap();
            assert_eq!(exported.sha256, page_sha256(&exported.page));
            for u in exported.page.users {
                users.insert(u.principal, u);
            }
            match exported.page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return (users, exported.page.shard_totals.unwrap()),
            }
        }
    }
}

/// A's export compared with B's: withdrawals on B name A as their origin, owed rewards are
/// renumbered in B's queue; everything else is equal.
fn comparable(u: &ExportedUser, origin: u32) -> ExportedUser {
    ExportedUser {
        withdrawals: u.withdrawals.iter().map(|w| ExportedWithdrawal { origin_shard: Some(w.origin_shard.unwrap_or(origin)), ..w.clone() }).collect(),
        rewards_owed: u.rewards_owed.iter().map(|o| ExportedOwedReward { seq: 0, ..o.clone() }).collect(),
        ..u.clone()
    }
}

#[test]
fn a_shard_of_10000_learners_moves_mid_traffic_and_survives_a_hub_upgrade() {
    let e = Env::new();
    // The first registration creates the shard; the rest go to it all at once.
    let mut shards = e.register_many(0..1);
    for start in (1..LEARNERS).step_by(1_000) {
        shards.extend(e.register_many(start..(start + 1_000).min(LEARNERS)));
    }
    let a = shards[0];
    assert!(shards.iter().all(|s| *s == a), "one shard holds every learner");

    // Balances: 40 learners pass quizzes; 10 withdraw while the ledger runs (Completed), 10
    // while it is stopped (Pending when they move).
    for n in 0..40 {
        for u in 0..3 {
            assert!(e.answer(a, learner(n), u).unwrap().passed);
        }
    }
    for n in 0..10 {
        e.unstake(a, learner(n), REWARD).unwrap();
    }
    e.net.stop_canister(e.ledger, None).unwrap();
    for n in 10..20 {
        let w = e.unstake(a, learner(n), 2 * REWARD).unwrap();
        assert!(matches!(w.state, WithdrawalState::Pending { .. }), "{w:?}");
    }
    let supply_before = e.supply_when_running_after(|| ());
    assert_eq!(supply_before, 10 * REWARD);
    let (a_users_before, _) = e.export(a);
    assert_eq!(a_users_before.len(), LEARNERS as usize);

    // The proposal (governance only).
    let args = MigrateShardArgs::Migrate { shard: a };
    let (v,): (ValidationResult,) = e.net.query_candid_as(e.hub, e.governance, "migrate_shard_validate", (args.clone(),)).unwrap();
    assert!(v.unwrap().contains("Migrate shard"));
    assert!(e.net.update_candid_as::<_, ()>(e.hub, learner(1), "migrate_shard", (args.clone(),)).is_err());
    let _: () = e.net.update_candid_as(e.hub, e.governance, "migrate_shard", (args.clone(),)).unwrap();

    // Traffic while it runs: a quiz on A is either done before the freeze or refused clearly.
    let quiz = e.net.submit_call(a, learner(30), "submit_quiz", candid::encode_args((QUIZZES.id(4), QUIZZES.answers(4))).unwrap()).unwrap();
    let mut upgraded = false;
    for _ in 0..2_000 {
        e.net.advance_time(Duration::from_millis(500));
        e.net.tick();
        let m = &e.migrations()[0];
        if !upgraded && m.step == "Copy" && m.pages_copied >= 3 {
            // A hub upgrade mid-copy: the migration resumes at its committed cursor.
            e.net.stop_canister(e.hub, None).unwrap();
            e.net.upgrade_canister(e.hub, wasm("staking_hub"), candid::encode_one(None::<HubUpgradeArgs>).unwrap(), None).unwrap();
            e.net.start_canister(e.hub, None).unwrap();
            upgraded = true;
        }
        if m.step == "Done" {
            break;
        }
    }
    let quiz: Result<QuizOutcome, ShardError> = candid::decode_one(&e.net.await_call(quiz).unwrap()).unwrap();
    assert!(matches!(quiz, Ok(_) | Err(ShardError::ShardMigrating)), "{quiz:?}");
    assert!(upgraded, "the copy was interrupted by the upgrade");
    let m = e.migrations()[0].clone();
    assert_eq!(m.step, "Done", "{m:?}");
    assert_eq!((m.users_copied, m.users_switched), (LEARNERS as u64, LEARNERS as u64));
    let b = m.target.unwrap();
    assert_ne!(b, a);

    // A is stopped; a new learner goes elsewhere.
    assert!(e.net.query_candid::<_, (ShardStats,)>(a, "get_shard_stats", ()).is_err(), "A is stopped");
    let newcomer = e.register_many(LEARNERS..LEARNERS + 1)[0];
    assert_ne!(newcomer, a);

    // Every learner: the index names B, and B holds exactly what A had.
    e.net.start_canister(a, Some(e.hub)).unwrap();
    let (a_users, a_totals) = e.export(a);
    e.net.stop_canister(a, Some(e.hub)).unwrap();
    let (b_users, _) = e.export(b);
    let a_index = e.stats().shards.iter().position(|s| s.id == a).unwrap() as u32;
    for (who, on_a) in &a_users {
        assert_eq!(e.user_shard(*who), Some(b), "{who}");
        let on_b = b_users.get(who).unwrap_or_else(|| panic!("{who} is not on B"));
        assert_eq!(comparable(on_b, a_index), comparable(on_a, a_index), "{who}");
    }
    assert_eq!(a_users.len(), LEARNERS as usize);
    assert_eq!(a_totals.calls_in_flight, 0);

    // The token books: the total granted is unchanged and split over the shards; after the
    // ledger restarts, B mints the moved Pending withdrawals once, under A's journal keys.
    let granted_before: u64 = e.stats().total_granted_e8s;
    e.net.start_canister(e.ledger, None).unwrap();
    e.run_for_rounds(4_000, 100_000);
    for n in 10..20 {
        let ws = e.withdrawals(b, learner(n));
        assert!(ws.iter().all(|w| matches!(w.state, WithdrawalState::Completed { .. })), "{ws:?}");
    }
    let g = e.stats();
    assert_eq!(g.total_granted_e8s, granted_before);
    assert_eq!(g.shards.iter().map(|s| s.granted_e8s).sum::<u64>(), g.total_granted_e8s);
    assert_eq!(e.total_supply(), 10 * REWARD + 10 * 2 * REWARD, "each withdrawal minted exactly once");
    assert_eq!((g.total_minted_e8s, g.pending_mint_e8s), (e.total_supply(), 0));
    let a_info = g.shards.iter().find(|s| s.id == a).unwrap();
    assert_eq!(a_info.minted_e8s, 30 * REWARD, "the moved withdrawals count on A's journal keys");
    assert_eq!(a_info.granted_e8s, a_info.minted_e8s, "A keeps exactly what backs its withdrawals");
}

impl Env {
    /// The ledger's supply (starting it for the read if it is stopped, then stopping it again).
    fn supply_when_running_after(&self, f: impl FnOnce()) -> u64 {
        f();
        self.net.start_canister(self.ledger, None).unwrap();
        let s = self.total_supply();
        self.net.stop_canister(self.ledger, None).unwrap();
        s
    }
}

const DAY_SECS: u64 = 86_400;

impl Env {
    fn cleanup_status(&self, shard: Principal) -> ShardCleanupStatus {
        self.net.query_candid::<_, (ShardCleanupStatus,)>(shard, "get_cleanup_status", ()).unwrap().0
    }

    /// Half a year passes with no learner active. The hub and the shard are stopped over the
    /// jump and upgraded after it: an upgrade re-arms their timers from now, so they do not
    /// catch up every interval of the 181 days one by one (ic-cdk-timers would).
    fn half_a_year_passes(&self, shard: Principal) {
        self.net.stop_canister(shard, Some(self.hub)).unwrap();
        self.net.stop_canister(self.hub, None).unwrap();
        self.net.advance_time(Duration::from_secs(181 * DAY_SECS));
        self.net.upgrade_canister(self.hub, wasm("staking_hub"), candid::encode_one(None::<HubUpgradeArgs>).unwrap(), None).unwrap();
        self.net.start_canister(self.hub, None).unwrap();
        let args = candid::encode_one(None::<ShardUpgradeArgs>).unwrap();
        self.net.upgrade_canister(shard, wasm("user_profile"), args, Some(self.hub)).unwrap();
        self.net.start_canister(shard, Some(self.hub)).unwrap();
    }
}

#[test]
fn archived_and_self_deleted_learners_move_as_tombstones_and_come_back_on_the_new_shard() {
    let e = Env::with(ConfigOverrides {
        inactive_archive_secs: Some(180 * DAY_SECS),
        // Settled withdrawals stay in the journal, so archived learners carry their history.
        settled_retention_secs: Some(3_650 * DAY_SECS),
        ..Default::default()
    });
    let mut shards = e.register_many(0..1);
    shards.extend(e.register_many(1..12));
    let a = shards[0];
    assert!(shards.iter().all(|s| *s == a));
    // Learners 0..8 pass two units each; learner 1 withdraws one reward (settled, kept in the
    // journal); learner 6 deletes their profile, forfeiting their balance; learner 7 is active
    // again before the cleanup; 8..12 never did anything.
    for n in 0..8 {
        for u in 0..2 {
            assert!(e.answer(a, learner(n), u).unwrap().passed);
        }
    }
    e.unstake(a, learner(1), REWARD).unwrap();
    e.run_for_rounds(5, 100_000);
    assert!(matches!(e.withdrawals(a, learner(1))[0].state, WithdrawalState::Completed { .. }));
    let args = DeleteProfileArgs { forfeit_staked_balance: true };
    let (deleted,): (Result<ProfileDeleted, DeleteProfileError>,) =
        e.net.update_candid_as(a, learner(6), "delete_my_profile", (args,)).unwrap();
    assert_eq!(deleted.unwrap().forfeited_e8s, 2 * REWARD);

    e.half_a_year_passes(a);
    let input = ProfileInput { email: "back@example.org".into(), name: "Back".into(), education: "E".into(), gender: Gender::Male };
    let (r,): (Result<UserView, ShardError>,) = e.net.update_candid_as(a, learner(7), "update_profile", (input,)).unwrap();
    r.unwrap();
    // The cleanup runs hourly: the idle learners are archived.
    e.net.advance_time(Duration::from_secs(3_601));
    e.net.tick();
    e.net.run_until_idle(10_000);
    let before = e.cleanup_status(a);
    assert_eq!((before.tombstones, before.archived, before.deleted_by_owner), (11, 10, 1), "{before:?}");
    // Learners 0..6 but the deleted one are archived with their balances (one withdrawn).
    let archived_staked = 6 * 2 * REWARD - REWARD;
    assert_eq!(before.tombstone_staked_e8s, archived_staked);
    let stats_a = e.shard_stats(a);
    assert_eq!((stats_a.users, stats_a.total_staked_e8s), (12, archived_staked + 2 * REWARD));
    let (a_users, a_totals) = e.export(a);
    assert_eq!(a_users.len(), 12);
    assert_eq!(a_users.values().filter(|u| u.tombstone.is_some()).count(), 11);

    // The migration (function 1012).
    let args = MigrateShardArgs::Migrate { shard: a };
    let _: () = e.net.update_candid_as(e.hub, e.governance, "migrate_shard", (args,)).unwrap();
    for _ in 0..400 {
        e.net.advance_time(Duration::from_millis(500));
        e.net.tick();
        if e.migrations()[0].step == "Done" {
            break;
        }
    }
    let m = e.migrations()[0].clone();
    assert_eq!(m.step, "Done", "{m:?}");
    assert_eq!((m.users_copied, m.tombstones_copied, m.users_switched), (12, Some(11), 12));
    let b = m.target.unwrap();

    // B holds every learner as A did: tombstones as tombstones, balances, units, history.
    let (b_users, b_totals) = e.export(b);
    let a_index = e.stats().shards.iter().position(|s| s.id == a).unwrap() as u32;
    for (who, on_a) in &a_users {
        assert_eq!(e.user_shard(*who), Some(b), "{who}");
        assert_eq!(comparable(&b_users[who], a_index), comparable(on_a, a_index), "{who}");
    }
    let after = e.cleanup_status(b);
    assert_eq!(
        (after.tombstones, after.tombstone_staked_e8s, after.archived, after.deleted_by_owner, after.forfeited_e8s),
        (11, archived_staked, 10, 1, 2 * REWARD)
    );
    let stats_b = e.shard_stats(b);
    assert_eq!((stats_b.users, stats_b.total_staked_e8s), (stats_a.users, stats_a.total_staked_e8s));
    assert_eq!(b_totals.cleanup.as_ref().map(|c| c.tombstone_staked_e8s), a_totals.cleanup.as_ref().map(|c| c.tombstone_staked_e8s));
    let g = e.stats();
    assert_eq!(g.shards.iter().map(|s| s.granted_e8s).sum::<u64>(), g.total_granted_e8s);
    let b_info = g.shards.iter().find(|s| s.id == b).unwrap();
    assert!(b_info.granted_e8s >= stats_b.total_staked_e8s, "the archived balances are backed on B: {b_info:?}");

    // The self-deleted learner: nothing of the profile, and no second payment for a unit (the
    // attempt is refused and, being refused, leaves them archived: issue 15).
    let gone = e.profile(b, learner(6)).unwrap();
    assert_eq!((gone.profile, gone.staked_e8s), (None, 0));
    assert_eq!(e.answer(b, learner(6), 0), Err(ShardError::AlreadyCompleted { unit_id: QUIZZES.id(0) }));

    // An archived learner comes back on B: the first update restores the record with the
    // balance, which they withdraw to the ledger.
    assert_eq!(e.profile(b, learner(3)).unwrap().staked_e8s, 2 * REWARD);
    assert!(e.answer(b, learner(3), 2).unwrap().passed);
    assert_eq!(e.profile(b, learner(3)).unwrap().staked_e8s, 3 * REWARD);
    assert_eq!(e.cleanup_status(b).restored, 1, "learner 3 restored on B; learner 6's refused attempt restored no one");
    let w = e.unstake(b, learner(3), 3 * REWARD).unwrap();
    e.run_for_rounds(5, 100_000);
    assert!(matches!(e.withdrawals(b, learner(3)).iter().find(|x| x.id == w.id).unwrap().state, WithdrawalState::Completed { .. }));
    assert_eq!(e.balance(learner(3)), 3 * REWARD);
    // Learner 1 (archived with a settled withdrawal) still sees it on B.
    assert_eq!(e.withdrawals(b, learner(1)).len(), 1);
}
