//! staking_hub on localnet with learning_content and the user_profile shards it creates:
//! routing, auto-scaling (timer, `ensure_capacity`, inline), single-flight creation under a
//! seeded scheduler, cycles (too few to create; top-ups), allowances and the hard cap, upgrades.

use candid::{CandidType, Principal};
use integration_tests::platform::{key_learner, LedgerKind, Platform};
use integration_tests::wasm;
use localnet::{LocalNet, RawMessageId};
use platform_types::*;
use std::collections::BTreeMap;
use std::time::Duration;

const T: u128 = 1_000_000_000_000;

fn learner(n: u32) -> Principal {
    key_learner(b"learner-public-key-", n)
}

fn small_limits() -> ConfigOverrides {
    ConfigOverrides {
        shard_soft_limit: Some(9),
        shard_hard_limit: Some(10),
        // Long enough that no timer fires unless a test moves the clock.
        auto_scale_interval_secs: Some(3_600),
        ..Default::default()
    }
}

/// The platform without a ledger, with this file's own calls on top.
struct Hub(Platform);

impl std::ops::Deref for Hub {
    type Target = Platform;
    fn deref(&self) -> &Platform {
        &self.0
    }
}

fn deploy(net: LocalNet, overrides: ConfigOverrides, hub_cycles: Option<u128>) -> Hub {
    let builder = Platform::builder().net(net).ledger(LedgerKind::None).config(overrides);
    let builder = match hub_cycles {
        Some(c) => builder.hub_cycles(c),
        None => builder,
    };
    Hub(builder.deploy())
}

fn hub(overrides: ConfigOverrides) -> Hub {
    deploy(LocalNet::new(), overrides, None)
}

impl Hub {
    /// Ingress the hub's `canister_inspect_message` refuses: rejected at submission, never
    /// executed (the method's own check is unit-tested in the canister).
    fn assert_refused(&self, caller: Principal, method: &str, arg: Vec<u8>) {
        let err = self.net.submit_call(self.hub, caller, method, arg).expect_err(method);
        assert_eq!(err.error_code, localnet::ErrorCode::CanisterRejectedMessage, "{method} from {caller}: {err:?}");
    }

    fn ensure_capacity(&self, caller: Principal) -> Result<Option<Principal>, String> {
        let (r,): (Result<Option<Principal>, String>,) =
            self.net.update_candid_as(self.hub, caller, "ensure_capacity", ()).unwrap();
        r
    }

    fn request_allowance(&self, caller: Principal, report: ShardReport) -> Result<AllowanceGrant, AllowanceError> {
        let (r,): (Result<AllowanceGrant, AllowanceError>,) =
            self.net.update_candid_as(self.hub, caller, "request_allowance", (report,)).unwrap();
        r
    }

    fn submit<A: CandidType>(&self, caller: Principal, method: &str, arg: A) -> RawMessageId {
        self.net.submit_call(self.hub, caller, method, candid::encode_one(arg).unwrap()).unwrap()
    }

    /// Registers `users` one after the other, retrying the transient `NoCapacity` ("being
    /// created") answers; returns each user's shard.
    fn register_all(&self, users: impl IntoIterator<Item = Principal>) -> BTreeMap<Principal, Principal> {
        let mut routed = BTreeMap::new();
        for user in users {
            let shard = (0..5)
                .find_map(|_| match self.register(user) {
                    Ok(s) => Some(s),
                    Err(RegisterError::NoCapacity { .. }) | Err(RegisterError::InProgress) => {
                        self.net.tick();
                        None
                    }
                    Err(e) => panic!("register {user}: {e:?}"),
                })
                .expect("registered within 5 attempts");
            routed.insert(user, shard);
        }
        routed
    }

    /// The user as the shard itself knows it (its own query, as the user).
    fn shard_knows(&self, shard: Principal, user: Principal) -> bool {
        matches!(self.profile(shard, user), Ok(view) if view.principal == user)
    }

    /// Whether learning_content lets `shard` verify answers (i.e. the hub registered it there).
    fn content_knows(&self, shard: Principal) -> bool {
        let (r,): (Result<VerifyResult, VerifyError>,) = self
            .net
            .query_candid_as(self.content, shard, "verify_quiz", ("no-such-unit".to_string(), Vec::<u32>::new()))
            .unwrap();
        match r {
            Err(VerifyError::NotAShard) => false,
            Err(VerifyError::UnknownUnit { .. }) => true,
            other => panic!("verify_quiz: {other:?}"),
        }
    }

    /// Lets the hub's timer run once (and everything it starts).
    fn run_timer(&self, interval_secs: u64) {
        self.net.advance_time(Duration::from_secs(interval_secs + 1));
        self.net.run_until_idle(10_000);
    }

    fn upgrade(&self) {
        self.net.upgrade_canister(self.hub, wasm("staking_hub"), candid::encode_args(()).unwrap(), None).unwrap();
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn thirty_five_users_fill_exactly_four_shards_and_are_routed_correctly() {
    let h = hub(small_limits());
    let users: Vec<Principal> = (0..35).map(learner).collect();
    let routed = h.register_all(users.iter().copied());

    let shards = h.shards();
    assert_eq!(shards.len(), 4, "{shards:#?}");
    let counts: Vec<u64> = shards.iter().map(|s| s.user_count).collect();
    assert_eq!(counts, vec![10, 10, 10, 5], "each shard fills to the hard limit before the next is made");
    let statuses: Vec<ShardStatus> = shards.iter().map(|s| s.status).collect();
    assert_eq!(statuses, vec![ShardStatus::Full, ShardStatus::Full, ShardStatus::Full, ShardStatus::Active]);

    for (user, shard) in &routed {
        assert_eq!(h.user_shard(*user), Some(*shard));
        assert!(h.shard_knows(*shard, *user), "shard {shard} knows {user}");
    }
    let embedded = {
        let (r,): (String,) = h.net.query_candid(h.hub, "get_shard_wasm_hash", ()).unwrap();
        r
    };
    assert_eq!(embedded, hex_sha256(&wasm("user_profile")));
    for s in &shards {
        assert_eq!(s.user_count, routed.values().filter(|x| **x == s.id).count() as u64);
        assert_eq!(h.shard_stats(s.id).users, s.user_count, "the shard's own count agrees");
        assert_eq!(h.net.get_controllers(s.id), vec![h.hub], "the hub is the only controller");
        assert_eq!(s.wasm_hash, embedded);
        assert_eq!(
            h.net.module_hash(s.id).map(|m| m.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            Some(embedded.clone())
        );
        assert!(h.content_knows(s.id), "learning_content knows shard {}", s.id);
    }
    let stats = h.stats();
    assert_eq!((stats.users, stats.shards.len()), (35, 4));
    assert_eq!(stats.total_minted_e8s, 0);
    assert_eq!(stats.cap_remaining_e8s, HARD_CAP_E8S);
    assert!(stats.scaling_status.starts_with("ok"), "{}", stats.scaling_status);

    // Registering again returns the same shard and changes nothing.
    for user in &users[..5] {
        assert_eq!(h.register(*user), Ok(routed[user]));
    }
    assert_eq!(h.stats().users, 35);
    assert_eq!(h.user_shard(learner(999)), None);

    // The anonymous principal is refused (at ingress, by the hub's inspect_message).
    h.assert_refused(Principal::anonymous(), "register", candid::encode_args(()).unwrap());

    // ensure_capacity, by anyone, any number of times: the last shard is below the soft limit.
    for caller in [Principal::anonymous(), learner(1), learner(500)] {
        assert_eq!(h.ensure_capacity(caller), Ok(None));
    }
    assert_eq!(h.shards().len(), 4);
}

#[test]
fn ensure_capacity_creates_a_shard_only_when_needed_and_is_idempotent() {
    let h = hub(small_limits());
    // No shard at all: a need.
    let first = h.ensure_capacity(learner(1)).unwrap().expect("creates the first shard");
    assert_eq!(h.ensure_capacity(Principal::anonymous()), Ok(None));
    assert_eq!(h.shards().len(), 1);
    // Nine users: the only Active shard is at the soft limit.
    let routed = h.register_all((0..9).map(learner));
    assert!(routed.values().all(|s| *s == first));
    let second = h.ensure_capacity(learner(2)).unwrap().expect("a shard at the soft limit needs a successor");
    assert_ne!(first, second);
    assert_eq!(h.ensure_capacity(learner(3)), Ok(None));
    // The next user goes to the emptier shard.
    assert_eq!(h.register(learner(100)), Ok(second));
    assert_eq!(h.shards().len(), 2);
}

#[test]
fn a_principal_registering_twice_at_once_gets_in_progress() {
    let h = hub(small_limits());
    h.register(learner(0)).unwrap();
    let user = learner(1);
    let a = h.submit_register(user);
    let b = h.submit_register(user);
    let (ra, rb) = (h.await_register(a), h.await_register(b));
    let shard = ra.clone().expect("the first call registers");
    assert_eq!(rb, Err(RegisterError::InProgress));
    assert_eq!(h.register(user), Ok(shard));
    assert_eq!(h.stats().users, 2);
}

/// Many registrations and capacity checks submitted before a round runs, interleaved by a
/// seeded scheduler: each need yields exactly one shard, and no user is counted twice.
#[test]
fn concurrent_triggers_never_create_two_shards_for_one_need() {
    for seed in [1u64, 7, 2024] {
        let h = deploy(LocalNet::builder().with_seed(seed).build(), small_limits(), None);
        let mut routed = BTreeMap::new();

        // Need 1: there is no shard. 8 registrations and 4 ensure_capacity calls at once.
        let retry = submit_burst(&h, seed, 0..8, 4, &mut routed);
        assert!(!retry.is_empty(), "seed {seed}: the burst raced the creation");
        assert_eq!(h.shards().len(), 1, "seed {seed}: one shard for the first need");
        routed.extend(h.register_all(retry));
        let counts: Vec<u64> = h.shards().iter().map(|s| s.user_count).collect();
        assert_eq!(counts, vec![8], "seed {seed}");

        // Need 2: 10 more users at once overflow the first shard (hard limit 10) and pass its
        // soft limit (9): the registrations and the capacity checks race for the same need.
        let retry = submit_burst(&h, seed, 100..110, 3, &mut routed);
        routed.extend(h.register_all(retry));

        let shards = h.shards();
        let counts: Vec<u64> = shards.iter().map(|s| s.user_count).collect();
        assert_eq!(counts, vec![10, 8], "seed {seed}: exactly one more shard: {shards:#?}");
        assert_eq!(shards[0].status, ShardStatus::Full);
        assert_eq!(h.stats().users, 18, "seed {seed}");
        assert_eq!(routed.len(), 18);
        for (user, shard) in &routed {
            assert_eq!(h.user_shard(*user), Some(*shard), "seed {seed}");
            assert!(h.shard_knows(*shard, *user), "seed {seed}");
        }
        for s in &shards {
            assert_eq!(h.shard_stats(s.id).users, s.user_count, "seed {seed}: no user counted twice");
        }
    }
}

/// Issue 11 (stale pushes): bursts of emergency disable / enable calls for two shards, all
/// submitted before any round runs, under seeded schedulers that interleave the hub's push runs
/// differently. After each burst settles, every shard's disabled flag is what the hub's record
/// says (never disabled while the hub shows it Active).
#[test]
fn racing_status_pushes_leave_every_shard_as_the_hub_records_it() {
    let governance = Principal::from_slice(&[9; 29]);
    for seed in [3u64, 11, 2025] {
        let h = deploy(LocalNet::builder().with_seed(seed).build(), small_limits(), None);
        let mut users = 0..;
        // Two shards: the first filled to its soft limit, so the hub creates a second.
        while h.shards().len() < 2 {
            h.register(learner(users.next().unwrap())).unwrap();
            h.ensure_capacity(learner(50_000)).unwrap();
        }
        let shards: Vec<Principal> = h.shards().iter().map(|s| s.id).collect();
        for round in 0..4u32 {
            let mut calls = Vec::new();
            for (k, disabled) in [true, false, true, false, true].into_iter().enumerate() {
                for shard in &shards {
                    // Alternate the last state per round and per shard.
                    let disabled = disabled ^ (round % 2 == 1 && k == 4) ^ (*shard == shards[1] && k == 4);
                    let args = SetShardStatusArgs { shard_id: *shard, disabled, reason: format!("drill {round}") };
                    calls.push(h.submit(governance, "set_shard_status", args));
                }
            }
            for id in calls {
                // Some are refused ("already disabled/enabled"), depending on the order they ran.
                let _ = h.net.await_call(id);
            }
            h.net.run_until_idle(10_000);
            for s in h.shards() {
                let shard_disabled = h.shard_stats(s.id).disabled;
                assert_eq!(
                    shard_disabled,
                    s.status == ShardStatus::Disabled,
                    "seed {seed}, round {round}: shard {} is disabled={shard_disabled}, the hub says {:?}",
                    s.id,
                    s.status
                );
            }
        }
    }
}

/// Submits `register` for `users` and `ensures` ensure_capacity calls before any round runs,
/// then awaits them all; returns the users to retry (`NoCapacity` while a shard was created).
fn submit_burst(
    h: &Hub,
    seed: u64,
    users: std::ops::Range<u32>,
    ensures: u32,
    routed: &mut BTreeMap<Principal, Principal>,
) -> Vec<Principal> {
    let regs: Vec<(Principal, RawMessageId)> = users.map(|n| (learner(n), h.submit_register(learner(n)))).collect();
    let checks: Vec<RawMessageId> =
        (0..ensures).map(|n| h.submit(learner(10_000 + n), "ensure_capacity", ())).collect();
    let mut retry = Vec::new();
    for (user, id) in regs {
        match h.await_register(id) {
            Ok(shard) => {
                routed.insert(user, shard);
            }
            Err(RegisterError::NoCapacity { detail }) => {
                assert!(detail.contains("being created"), "seed {seed}: {detail}");
                retry.push(user);
            }
            Err(e) => panic!("seed {seed}: {e:?}"),
        }
    }
    for id in checks {
        let bytes = h.net.await_call(id).unwrap();
        let r: Result<Option<Principal>, String> = candid::decode_one(&bytes).unwrap();
        assert!(r.is_ok(), "seed {seed}: {r:?}");
    }
    retry
}

#[test]
fn a_hub_without_enough_cycles_answers_no_capacity_and_says_why() {
    let h = deploy(LocalNet::new(), small_limits(), Some(400_000_000_000));
    match h.register(learner(1)) {
        Err(RegisterError::NoCapacity { detail }) => assert!(detail.contains("not enough cycles"), "{detail}"),
        other => panic!("{other:?}"),
    }
    let stats = h.stats();
    assert!(stats.scaling_status.contains("not enough cycles"), "{}", stats.scaling_status);
    assert!(stats.shards.is_empty());
    let err = h.ensure_capacity(learner(2)).unwrap_err();
    assert!(err.contains("not enough cycles"), "{err}");
    assert_eq!(h.user_shard(learner(1)), None);
    assert_eq!(stats.users, 0);

    // With cycles, the same calls succeed: enough for the battery's first step
    // (hub_cycles_for_new_shards, 10 T by default, above the hub's freezing threshold).
    h.net.add_cycles(h.hub, 20 * T);
    let shard = h.register(learner(1)).expect("a shard is created once the hub has cycles");
    assert_eq!(h.user_shard(learner(1)), Some(shard));
    assert!(h.stats().scaling_status.starts_with("ok"));
}

/// A canister created but not installed is kept and installed by the next provisioning: the
/// hub never creates a second canister for it. The install is made to fail by freezing the
/// new canister between its creation and the install (a 1 MiB chunk and a huge freezing
/// threshold), as the hub's controller would.
#[test]
fn a_shard_whose_install_failed_is_kept_and_installed_later() {
    let h = hub(small_limits());
    // localnet numbers canisters in order: the hub's shard is the one after this probe.
    let expected = next_canister_id(h.net.create_canister());

    let call = h.submit(learner(1), "ensure_capacity", ());
    let mut rounds = 0;
    while !h.net.canister_exists(expected) {
        h.net.tick();
        rounds += 1;
        assert!(rounds < 100, "the hub never created its shard");
    }
    // Between create_canister and install_code: freeze the empty canister.
    h.net.upload_chunk(expected, Some(h.hub), vec![7; 1 << 20]).unwrap();
    let frozen = localnet::management_types::CanisterSettings {
        freezing_threshold: Some(candid::Nat::from(1u64 << 62)),
        ..Default::default()
    };
    h.net.update_canister_settings(expected, Some(h.hub), frozen).unwrap();
    let bytes = h.net.await_call(call).unwrap();
    let failed: Result<Option<Principal>, String> = candid::decode_one(&bytes).unwrap();
    let err = failed.unwrap_err();
    assert!(err.contains(&expected.to_text()) && err.contains("retried"), "{err}");
    assert!(h.stats().scaling_status.contains("installing its code failed"), "{}", h.stats().scaling_status);
    assert!(h.shards().is_empty(), "an uninstalled shard takes no users and is not listed");
    assert!(h.net.module_hash(expected).is_none());

    // Unfrozen, the next provisioning after the backoff installs that same canister instead of
    // creating one.
    let thawed = localnet::management_types::CanisterSettings {
        freezing_threshold: Some(candid::Nat::from(2_592_000u64)),
        ..Default::default()
    };
    h.net.update_canister_settings(expected, Some(h.hub), thawed).unwrap();
    h.net.advance_time(Duration::from_secs(61));
    assert_eq!(h.ensure_capacity(learner(2)), Ok(Some(expected)));
    let shards = h.shards();
    assert_eq!(shards.len(), 1);
    assert_eq!(shards[0].id, expected);
    assert_eq!(h.register(learner(3)), Ok(expected));
    assert!(!h.net.canister_exists(next_canister_id(expected)), "no second canister was created");
    assert!(h.content_knows(expected));
}

/// Issue 11 (cycles drain): while a shard's install keeps failing, `ensure_capacity` (anyone may
/// call it) answers from state during a growing backoff instead of sending the whole shard Wasm
/// again on every call. Fifty calls during the backoff cost the hub less than two install attempts.
#[test]
fn an_install_that_keeps_failing_is_backed_off_and_the_hubs_spend_stays_bounded() {
    let h = hub(small_limits());
    let expected = next_canister_id(h.net.create_canister());
    let call = h.submit(learner(1), "ensure_capacity", ());
    let mut rounds = 0;
    while !h.net.canister_exists(expected) {
        h.net.tick();
        rounds += 1;
        assert!(rounds < 100, "the hub never created its shard");
    }
    // Frozen between create_canister and install_code, as in the test above: every install fails.
    h.net.upload_chunk(expected, Some(h.hub), vec![7; 1 << 20]).unwrap();
    let frozen = localnet::management_types::CanisterSettings {
        freezing_threshold: Some(candid::Nat::from(1u64 << 62)),
        ..Default::default()
    };
    h.net.update_canister_settings(expected, Some(h.hub), frozen).unwrap();
    let failed: Result<Option<Principal>, String> = candid::decode_one(&h.net.await_call(call).unwrap()).unwrap();
    assert!(failed.unwrap_err().contains("(1 attempt(s))"));

    // Fifty callers during the backoff: each gets the cheap answer, nothing is sent. (Measured
    // once no call of the hub is in flight: a call's prepaid fee comes back with its reply.)
    h.net.run_until_idle(1_000);
    let before = h.net.cycle_balance(h.hub);
    for n in 0..50 {
        let err = h.ensure_capacity(learner(100 + n)).unwrap_err();
        assert!(err.contains("backoff") && err.contains("nothing was sent"), "{err}");
    }
    let spent_backing_off = before - h.net.cycle_balance(h.hub);

    // After the backoff, one real attempt (it fails again: the canister is still frozen).
    h.net.advance_time(Duration::from_secs(61));
    let before = h.net.cycle_balance(h.hub);
    let err = h.ensure_capacity(learner(2)).unwrap_err();
    assert!(err.contains("(2 attempt(s))"), "{err}");
    let spent_one_attempt = before - h.net.cycle_balance(h.hub);
    // Without the backoff each call would be an attempt (50x); now a call costs the hub its own
    // execution only (~7 M cycles on localnet, one attempt ~300 M with this shard Wasm).
    assert!(
        spent_backing_off < 2 * spent_one_attempt && spent_backing_off / 50 < spent_one_attempt / 20,
        "50 backed-off calls cost {spent_backing_off} cycles, one install attempt {spent_one_attempt}"
    );
    // The backoff doubled: 61 s later it still holds.
    h.net.advance_time(Duration::from_secs(61));
    assert!(h.ensure_capacity(learner(3)).unwrap_err().contains("backoff"));
    assert!(!h.net.canister_exists(next_canister_id(expected)), "no second canister meanwhile");

    // Thawed and past the backoff, the same canister is installed.
    let thawed = localnet::management_types::CanisterSettings {
        freezing_threshold: Some(candid::Nat::from(2_592_000u64)),
        ..Default::default()
    };
    h.net.update_canister_settings(expected, Some(h.hub), thawed).unwrap();
    h.net.advance_time(Duration::from_secs(60));
    assert_eq!(h.ensure_capacity(learner(4)), Ok(Some(expected)));
}

/// The id localnet gives the canister created after `id` (ids are a u64 counter, big-endian,
/// then 0x01 0x01).
fn next_canister_id(id: Principal) -> Principal {
    let mut bytes = id.as_slice().to_vec();
    let n = u64::from_be_bytes(bytes[..8].try_into().unwrap());
    bytes[..8].copy_from_slice(&(n + 1).to_be_bytes());
    Principal::from_slice(&bytes)
}

/// The hard cap itself cannot be reached on localnet any more: the largest chunk (1 M tokens) and
/// daily budget (2 M tokens) make it take 2,100 days (issue 11). The cap arithmetic is
/// unit-tested in the hub (`model::tests`); here: only shards, the chunk, then the day's budget.
#[test]
fn only_hub_shards_get_allowances_and_never_beyond_the_daily_budget() {
    let chunk = MAX_ALLOWANCE_CHUNK_E8S;
    let budget = MAX_DAILY_EMISSION_BUDGET_E8S;
    let h = hub(ConfigOverrides {
        allowance_chunk_e8s: Some(chunk),
        daily_emission_budget_e8s: Some(budget),
        ..small_limits()
    });
    let shard = h.register(learner(1)).unwrap();
    let ask = |staked: u64, passed: u64| ShardReport {
        total_staked_e8s: staked,
        user_count: 1,
        quizzes_passed_delta: passed,
        wants_allowance: true,
        ..Default::default()
    };
    // Not a shard of this hub: a learner, the anonymous principal, learning_content.
    // Refused at ingress (inspect_message); `request_allowance`'s own check is unit-tested.
    for caller in [learner(1), Principal::anonymous(), h.content] {
        h.assert_refused(caller, "request_allowance", candid::encode_one(ask(1, 1)).unwrap());
    }
    assert_eq!(h.stats().quizzes_passed, 0, "nothing recorded for strangers");

    // The shard itself (localnet lets a test send ingress as the shard's principal).
    let g = h.request_allowance(shard, ask(100, 2)).unwrap();
    assert_eq!(g, AllowanceGrant { granted_e8s: chunk, shard_granted_total_e8s: chunk, withheld: None });
    let g = h.request_allowance(shard, ask(200, 3)).unwrap();
    assert_eq!((g.shard_granted_total_e8s, g.withheld), (2 * chunk, None));
    let g = h.request_allowance(shard, ask(300, 4)).unwrap();
    assert_eq!(g.granted_e8s, 0, "the day's budget is used up");
    assert!(matches!(g.withheld, Some(GrantWithheld::DailyBudgetUsed { resets_at_ns }) if resets_at_ns % NANOS_PER_DAY == 0));
    let sync = ShardReport { wants_allowance: false, ..ask(500, 1) };
    assert_eq!(
        h.request_allowance(shard, sync),
        Ok(AllowanceGrant { granted_e8s: 0, shard_granted_total_e8s: budget, withheld: None })
    );

    let stats = h.stats();
    assert_eq!((stats.total_granted_e8s, stats.granted_today_e8s), (budget, Some(budget)));
    assert_eq!(stats.cap_remaining_e8s, HARD_CAP_E8S - budget);
    assert_eq!(stats.total_staked_e8s, 500, "the last reported stake");
    assert_eq!(stats.quizzes_passed, 10, "every report is recorded, the held-back one too");
    assert_eq!(stats.shards[0].granted_e8s, budget);
    // The next UTC day: a fresh budget.
    h.net.advance_time(Duration::from_secs(86_400));
    assert_eq!(h.request_allowance(shard, ask(600, 0)).unwrap().granted_e8s, chunk);
}

#[test]
fn the_timer_tops_up_shards_below_the_threshold() {
    let overrides = ConfigOverrides {
        auto_scale_interval_secs: Some(60),
        shard_initial_cycles: Some(T),
        shard_topup_threshold_cycles: Some(4 * T),
        shard_topup_amount_cycles: Some(2 * T),
        shard_topup_daily_budget_cycles: Some(4 * T),
        ..small_limits()
    };
    let h = hub(overrides);
    let shard = h.register(learner(1)).unwrap();
    let before = h.net.cycle_balance(shard);
    assert!(before <= T);
    // ~1T -> ~3T (still below 4T) -> ~5T. Each top-up needs two low readings in a row (the
    // battery's rule; the first may come from the shard's own ask, made at its registration).
    for _ in 0..6 {
        h.run_timer(60);
    }
    let after = h.net.cycle_balance(shard);
    assert!(after > before + 4 * T - T / 10 && after < before + 4 * T + T / 10, "two top-ups: {before} -> {after}");
    // Above the threshold now: no more top-ups.
    h.run_timer(60);
    h.run_timer(60);
    let later = h.net.cycle_balance(shard);
    assert!(later <= after, "{after} -> {later}");
}

/// Issue 11 (cycles drain): a shard that burns cycles (or stays below the threshold) gets at most
/// its daily top-up budget; the next UTC day it gets a new one.
#[test]
fn topups_stop_at_the_per_shard_daily_budget() {
    let overrides = ConfigOverrides {
        auto_scale_interval_secs: Some(60),
        shard_initial_cycles: Some(T),
        // The highest threshold allowed, never reached here: without a budget the hub would top
        // up on every tick.
        shard_topup_threshold_cycles: Some(platform_types::MAX_SHARD_CYCLES),
        shard_topup_amount_cycles: Some(2 * T),
        shard_topup_daily_budget_cycles: Some(4 * T),
        ..small_limits()
    };
    let h = deploy(LocalNet::new(), overrides, Some(100 * T));
    let shard = h.register(learner(1)).unwrap();
    let hub_before = h.net.cycle_balance(h.hub);
    let before = h.net.cycle_balance(shard);
    for _ in 0..5 {
        h.run_timer(60);
    }
    let after = h.net.cycle_balance(shard);
    assert!(after > before + 4 * T - T / 10 && after < before + 4 * T + T / 10, "two top-ups only: {before} -> {after}");
    let hub_spent = hub_before - h.net.cycle_balance(h.hub);
    assert!(hub_spent < 4 * T + T / 10, "the hub spent {hub_spent}");
    // A new UTC day, a new budget.
    h.net.advance_time(Duration::from_secs(86_400));
    h.run_timer(60);
    let next_day = h.net.cycle_balance(shard);
    assert!(next_day > after + 2 * T - T / 10, "{after} -> {next_day}");
}

#[test]
fn a_failed_learning_content_notification_is_retried_by_the_timer() {
    let h = hub(ConfigOverrides { auto_scale_interval_secs: Some(60), ..small_limits() });
    h.net.stop_canister(h.content, None).unwrap();
    let shard = h.register(learner(1)).expect("registration does not depend on learning_content");
    h.net.start_canister(h.content, None).unwrap();
    assert!(!h.content_knows(shard));
    h.run_timer(60);
    assert!(h.content_knows(shard), "the timer retried register_shard");
}

#[test]
fn the_timer_creates_a_shard_at_the_soft_limit() {
    let h = hub(ConfigOverrides { auto_scale_interval_secs: Some(60), ..small_limits() });
    h.register_all((0..9).map(learner));
    assert_eq!(h.shards().len(), 1);
    h.run_timer(60);
    assert_eq!(h.shards().len(), 2, "the timer saw the soft limit");
    h.run_timer(60);
    assert_eq!(h.shards().len(), 2, "and creates nothing more while the new shard has room");
}

#[test]
fn registry_index_and_timer_survive_an_upgrade() {
    let overrides = ConfigOverrides {
        auto_scale_interval_secs: Some(60),
        shard_initial_cycles: Some(T),
        shard_topup_threshold_cycles: Some(5 * T),
        shard_topup_amount_cycles: Some(T),
        ..small_limits()
    };
    let h = hub(overrides.clone());
    let routed = h.register_all((0..12).map(learner));
    let shards = h.shards();
    let stats = h.stats();
    let config = {
        let (c,): (PlatformConfig,) = h.net.query_candid(h.hub, "get_config", ()).unwrap();
        c
    };

    h.upgrade();

    assert_eq!(h.shards(), shards);
    assert_eq!(h.stats(), stats);
    let (after,): (PlatformConfig,) = h.net.query_candid(h.hub, "get_config", ()).unwrap();
    assert_eq!(after, config);
    assert_eq!((after.shard_soft_limit, after.shard_hard_limit), (9, 10));
    for (user, shard) in &routed {
        assert_eq!(h.user_shard(*user), Some(*shard));
        assert_eq!(h.register(*user), Ok(*shard));
    }
    // Routing goes on from the stored counts: shard 2 has 2 users and takes the next ones.
    let second = shards[1].id;
    let more = h.register_all((100..107).map(learner));
    assert!(more.values().all(|s| *s == second));
    assert_eq!(h.shards()[1].user_count, 9);

    // The timer was re-armed: it scales (shard 2 reached the soft limit) and tops up.
    let balance = h.net.cycle_balance(second);
    // Two rounds: a top-up needs two low readings in a row (the cycles battery's rule).
    h.run_timer(60);
    h.run_timer(60);
    let shards = h.shards();
    assert_eq!(shards.len(), 3, "{shards:#?}");
    assert!(h.net.cycle_balance(second) > balance + T / 2, "topped up after the upgrade");
    assert_eq!(h.stats().users, 19);
}

#[test]
fn init_rejects_invalid_config_overrides() {
    let net = LocalNet::new();
    let hub = net.create_canister();
    let init = HubInitArgs {
        ledger_id: Principal::from_slice(&[8; 29]),
        learning_content_id: Principal::from_slice(&[7; 29]),
        sns_governance_id: Principal::from_slice(&[9; 29]),
        config: Some(ConfigOverrides { shard_soft_limit: Some(11), shard_hard_limit: Some(10), ..Default::default() }),
        registration_policy: Some(platform_types::RegistrationPolicy::Open),
        icp_refill: None,
    };
    let err = net
        .install_code(
            hub,
            localnet::management_types::CanisterInstallMode::Install,
            wasm("staking_hub"),
            candid::encode_one(init).unwrap(),
            None,
        )
        .unwrap_err();
    assert!(err.reject_message.contains("shard_soft_limit"), "{}", err.reject_message);
    assert!(net.module_hash(hub).is_none());
}

/// Instructions (hub and shard executions, inspect_message excluded) of one `register` of a new
/// learner, the argument as the web app sends it; by execution entry.
fn register_instructions(h: &Hub, who: Principal) -> (u64, Vec<(String, u64)>) {
    let arg = candid::encode_args((None::<RegistrationProof>,)).unwrap();
    let (reply, records) = h.net.update_call_with_stats(h.hub, who, "register", arg);
    let routed: Result<Principal, RegisterError> = candid::decode_one(&reply.expect("register replies")).unwrap();
    assert!(routed.is_ok(), "{routed:?}");
    assert!(records.iter().all(|r| !r.trapped), "{records:?}");
    let parts: Vec<(String, u64)> = records
        .iter()
        .filter(|r| !r.entry.starts_with("inspect_message"))
        .map(|r| (format!("{} {}", if r.canister == h.hub { "hub" } else { "shard" }, r.entry), r.instructions))
        .collect();
    (parts.iter().map(|(_, n)| n).sum(), parts)
}

/// Issue 14 §2: `register` across hub and shard stays under 1,000,000 instructions (it was ~1.9M:
/// the reply's Candid type table rebuilt per message, a Candid decode of every shard record per
/// routing, a decode of the replaced record per write, the shard's reply decoded in full).
/// The figure asserted is what the change reached plus a small margin (deterministic counts).
#[test]
fn register_across_hub_and_shard_stays_under_its_instruction_budget() {
    let h = hub(ConfigOverrides { auto_scale_interval_secs: Some(3_600), ..Default::default() });
    h.register_all((0..40).map(learner));
    for n in 40..45 {
        let (total, parts) = register_instructions(&h, learner(n));
        eprintln!("register: {total} instructions: {parts:?}");
        let entries: Vec<&str> = parts.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(entries, ["hub update register", "shard update register_user", "hub reply callback"], "{parts:?}");
        assert!(total <= REGISTER_INSTRUCTIONS_BUDGET, "register: {total} instructions: {parts:?}");
    }
    // A second register of the same learner answers from the index: no call to the shard.
    let (again, parts) = register_instructions(&h, learner(40));
    assert_eq!(parts.len(), 1, "{parts:?}");
    assert!(again < REGISTER_INSTRUCTIONS_BUDGET / 2, "{again}");
}

/// What this test measured after the change, ~307,000-331,000 per new learner at 40 learners
/// (the bench: ~467,000 median at 1,000, the user index being deeper), plus a margin; the
/// issue's target is 1,000,000.
const REGISTER_INSTRUCTIONS_BUDGET: u64 = 400_000;
