//! Issue 15 §3: a seeded scenario runner. Learners over several shards register, fill in
//! profiles, answer quizzes and unstake (withdrawals in batches, the default), their messages
//! interleaved at random across awaits, while faults are injected: the ledger stopped and
//! started, the ledger or a shard frozen (out of cycles) and thawed, a shard disabled and
//! enabled by governance, the hub and a shard upgraded mid-flight, configuration pushes, a
//! rollout of another shard release started (shards upgraded by the hub while learners act),
//! and callees that trap (localnet's `inject_traps`: the ledger, the hub's mint and allowance
//! methods, a shard's configuration push and registration). After
//! every round the invariants hold (`check`): tokens conserved on every shard, the cap never
//! exceeded, every learner on exactly one shard with the hub's index agreeing, the counters
//! matching the records. At the end, once everything has settled: no pending withdrawal lost,
//! none minted twice (each completed withdrawal has a block of its own, and the ledger holds
//! exactly the completed withdrawals' tokens), every learner's ledger balance what their
//! completed withdrawals say.
//!
//! A failing seed prints its replay: the operations up to the failing round (`FAULT_SEED=<n>
//! cargo test -p integration-tests --test fault_scenarios replay -- --nocapture` runs one seed;
//! with `FAULT_HUB_LOG=<file>`, a shard that does not answer once settled also writes the hub's
//! whole log there).
//! CI runs the fixed seeds below; `scripts/fault-seeds.sh` runs many (docs/reliability.md).
//!
//! Not injected yet: a migration in progress (tests/tests/shard_migration.rs has its own
//! interleavings).

use candid::{Nat, Principal};
use integration_tests::platform::{learner_of, Platform, Quizzes};
use integration_tests::rng::Rng;
use integration_tests::wasm;
use localnet::management_types::CanisterSettings;
use localnet::{LocalNet, RawMessageId};
use platform_types::*;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

const REWARD: u64 = 10 * E8S;
const UNITS: usize = 12;
const QUIZZES: Quizzes =
    Quizzes { prefix: "u-", width: 2, count: UNITS, options: 3, key: |i| vec![(i % 3) as u32, ((i + 1) % 3) as u32] };
const LEARNERS: u32 = 14;
/// Learners per shard: 14 learners make 4 shards.
const HARD_LIMIT: u64 = 4;
const ROUNDS: usize = 300;
/// Seeds CI runs. Seed 5 found a grant counted twice when a report's answer overtook a
/// refill's (fixed in `ShardState::report_succeeded`).
const CI_SEEDS: [u64; 4] = [1, 5, 0xFA17, 2026];

fn learner(n: u32) -> Principal {
    learner_of(15, n)
}

/// One thing the runner did, in the order it did it (the replay).
#[derive(Clone, Debug)]
enum Op {
    Register(u32),
    Profile(u32),
    Quiz { learner: u32, unit: usize, right: bool },
    Unstake { learner: u32, amount: u64 },
    StopLedger,
    StartLedger,
    FreezeLedger,
    ThawLedger,
    FreezeShard(Principal),
    ThawShard(Principal),
    DisableShard(Principal),
    EnableShard(Principal),
    UpgradeHub,
    UpgradeShard(Principal),
    ConfigPush { daily_attempt_limit: u32 },
    /// The hub upgraded to the other shard release it can embed, and its rollout started.
    StartRollout,
    /// The next `count` update calls to `canister` (of `method`, or any) trap.
    TrapCalls { canister: Principal, method: Option<&'static str>, count: u32 },
    /// Time moves this many milliseconds, then one round runs.
    Round(u64),
}

/// The runner's view of the world.
struct World {
    p: Platform,
    /// Learners whose registration was answered, and their shard.
    homes: BTreeMap<u32, Principal>,
    next_unit: BTreeMap<u32, usize>,
    in_flight: Vec<RawMessageId>,
    ledger_stopped: bool,
    frozen: BTreeSet<Principal>,
    disabled: BTreeSet<Principal>,
    daily_limit: u32,
    /// The hub's build: `staking_hub`, or `staking_hub_rollout` (another embedded shard release).
    hub_build: &'static str,
    /// Injected traps possibly still armed.
    traps: BTreeSet<(Principal, Option<&'static str>)>,
    /// The replay log, shared with the guard that prints it.
    ops: Rc<RefCell<Vec<(usize, Op)>>>,
}

/// Prints the replay if the runner panics (an invariant failed): the seed, and the operations
/// up to the failing round.
struct ReplayOnPanic {
    seed: u64,
    ops: Rc<RefCell<Vec<(usize, Op)>>>,
}

impl Drop for ReplayOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let ops = self.ops.borrow();
            eprintln!("fault scenario seed {} failed after {} operations; replay:", self.seed, ops.len());
            print_replay(&ops);
            eprintln!("run it alone: FAULT_SEED={} cargo test -p integration-tests --test fault_scenarios replay -- --nocapture", self.seed);
            eprintln!("and shrink it: FAULT_SEED={} FAULT_SHRINK=200 cargo test -p integration-tests --test fault_scenarios replay -- --nocapture", self.seed);
        }
    }
}

/// Every operation with its round, principals as text.
fn print_replay(ops: &[(usize, Op)]) {
    for (round, op) in ops {
        let text = format!("{op:?}");
        let text = match op {
            Op::FreezeShard(s) | Op::ThawShard(s) | Op::DisableShard(s) | Op::EnableShard(s) | Op::UpgradeShard(s) => {
                format!("{}({})", text.split('(').next().unwrap_or_default(), s.to_text())
            }
            Op::TrapCalls { canister, method, count } => format!("TrapCalls({}, {method:?}, {count})", canister.to_text()),
            _ => text,
        };
        eprintln!("  round {round:>3}: {text}");
    }
}

fn frozen_settings() -> CanisterSettings {
    // A freezing threshold no balance covers: the canister is frozen (it refuses messages and
    // its timers wait), as one out of cycles is.
    CanisterSettings { freezing_threshold: Some(Nat::from(u64::MAX)), ..Default::default() }
}

fn thawed_settings() -> CanisterSettings {
    CanisterSettings { freezing_threshold: Some(Nat::from(30u64 * 86_400)), ..Default::default() }
}

impl World {
    fn new(seed: u64) -> World {
        let net = LocalNet::builder().with_seed(seed).build();
        let config = ConfigOverrides {
            shard_soft_limit: Some(HARD_LIMIT - 1),
            shard_hard_limit: Some(HARD_LIMIT),
            allowance_chunk_e8s: Some(5 * REWARD),
            reward_per_quiz_e8s: Some(REWARD),
            daily_attempt_limit: Some(100),
            min_withdrawal_e8s: Some(1),
            withdrawal_cooldown_secs: Some(0),
            shard_sync_interval_secs: Some(20),
            auto_scale_interval_secs: Some(10),
            ..Default::default()
        };
        let p = Platform::builder().net(net).quizzes(QUIZZES).pass_mark_percent(100).config(config).deploy();
        World {
            p,
            homes: BTreeMap::new(),
            next_unit: BTreeMap::new(),
            in_flight: Vec::new(),
            ledger_stopped: false,
            frozen: BTreeSet::new(),
            disabled: BTreeSet::new(),
            daily_limit: 100,
            hub_build: "staking_hub",
            traps: BTreeSet::new(),
            ops: Rc::new(RefCell::new(Vec::new())),
        }
    }

    fn shards(&self) -> Vec<Principal> {
        self.p.shards().into_iter().map(|s| s.id).collect()
    }

    fn governance(&self, method: &str, arg: impl candid::CandidType) {
        let _: () = self.p.update(self.p.hub, self.p.governance, method, (arg,));
    }

    fn submit(&mut self, canister: Principal, who: Principal, method: &str, arg: Vec<u8>) {
        // A frozen canister refuses ingress at submission; the learner tries again later.
        if let Ok(id) = self.p.net.submit_call(canister, who, method, arg) {
            self.in_flight.push(id);
        }
    }

    /// Runs `op`; what it records is what a replay needs.
    fn apply(&mut self, round: usize, op: Op) {
        self.ops.borrow_mut().push((round, op.clone()));
        let net = &self.p.net;
        match op {
            Op::Register(n) => {
                // Registration is awaited: the runner needs the learner's shard.
                if let Ok(shard) = self.p.register(learner(n)) {
                    self.homes.insert(n, shard);
                }
            }
            Op::Profile(n) => {
                let shard = self.homes[&n];
                let input = ProfileInput {
                    email: format!("l{n}@example.org"),
                    name: format!("Learner {n} r{round}"),
                    education: "School".into(),
                    gender: Gender::PreferNotToSay,
                };
                self.submit(shard, learner(n), "update_profile", candid::encode_one(input).unwrap());
            }
            Op::Quiz { learner: n, unit, right } => {
                let shard = self.homes[&n];
                let answers = if right { QUIZZES.answers(unit) } else { vec![9, 9] };
                self.submit(shard, learner(n), "submit_quiz", candid::encode_args((QUIZZES.id(unit), answers)).unwrap());
            }
            Op::Unstake { learner: n, amount } => {
                let shard = self.homes[&n];
                self.submit(shard, learner(n), "unstake", candid::encode_one(amount).unwrap());
            }
            Op::StopLedger => {
                net.stop_canister(self.p.ledger, self.p.controller).unwrap();
                self.ledger_stopped = true;
            }
            Op::StartLedger => {
                net.start_canister(self.p.ledger, self.p.controller).unwrap();
                self.ledger_stopped = false;
            }
            Op::FreezeLedger => {
                net.update_canister_settings(self.p.ledger, self.p.controller, frozen_settings()).unwrap();
                self.frozen.insert(self.p.ledger);
            }
            Op::ThawLedger => {
                net.update_canister_settings(self.p.ledger, self.p.controller, thawed_settings()).unwrap();
                self.frozen.remove(&self.p.ledger);
            }
            Op::FreezeShard(s) => {
                net.update_canister_settings(s, Some(self.p.hub), frozen_settings()).unwrap();
                self.frozen.insert(s);
            }
            Op::ThawShard(s) => {
                net.update_canister_settings(s, Some(self.p.hub), thawed_settings()).unwrap();
                self.frozen.remove(&s);
            }
            Op::DisableShard(s) => {
                self.governance("set_shard_status", SetShardStatusArgs { shard_id: s, disabled: true, reason: "drill".into() });
                self.disabled.insert(s);
            }
            Op::EnableShard(s) => {
                self.governance("set_shard_status", SetShardStatusArgs { shard_id: s, disabled: false, reason: "drill over".into() });
                self.disabled.remove(&s);
            }
            Op::UpgradeHub => {
                self.upgrade_stopped(self.p.hub, self.hub_build, self.p.controller).unwrap();
            }
            Op::StartRollout => {
                self.hub_build = if self.hub_build == "staking_hub" { "staking_hub_rollout" } else { "staking_hub" };
                self.upgrade_stopped(self.p.hub, self.hub_build, self.p.controller).unwrap();
                self.governance("control_shard_rollout", RolloutCommand::Start { batch_size: 1 });
            }
            Op::TrapCalls { canister, method, count } => {
                net.inject_traps(canister, method, count);
                self.traps.insert((canister, method));
            }
            Op::UpgradeShard(s) => {
                // As the hub does it (the shard's controller), with calls possibly in flight, to
                // the release the hub embeds. A frozen shard cannot pay for its upgrade: refused,
                // nothing changes.
                let release = if self.hub_build == "staking_hub" { "user_profile" } else { "user_profile_rollout" };
                let upgraded = self.upgrade_stopped(s, release, Some(self.p.hub));
                assert!(upgraded.is_ok() || self.frozen.contains(&s), "upgrade of shard {s}: {upgraded:?}");
            }
            Op::ConfigPush { daily_attempt_limit } => {
                self.governance("update_config", ConfigOverrides { daily_attempt_limit: Some(daily_attempt_limit), ..Default::default() });
                self.daily_limit = daily_attempt_limit;
            }
            Op::Round(ms) => {
                net.advance_time(Duration::from_millis(ms));
                net.tick();
                self.in_flight.retain(|id| net.ingress_status(*id).is_none());
            }
        }
    }

    /// Whether `op` makes sense in the state the world is in: a replay with operations left out
    /// (the shrinker's) skips those that no longer do (a quiz of a learner never registered,
    /// enabling a shard that is not disabled, a shard that was never created).
    fn applicable(&self, op: &Op) -> bool {
        let shard_exists = |s: &Principal| self.shards().contains(s);
        match op {
            Op::Register(_) | Op::Round(_) | Op::UpgradeHub | Op::StartRollout | Op::ConfigPush { .. } => true,
            Op::Profile(n) | Op::Quiz { learner: n, .. } | Op::Unstake { learner: n, .. } => self.homes.contains_key(n),
            Op::StopLedger => !self.ledger_stopped,
            Op::StartLedger => self.ledger_stopped,
            Op::FreezeLedger => !self.frozen.contains(&self.p.ledger),
            Op::ThawLedger => self.frozen.contains(&self.p.ledger),
            Op::FreezeShard(s) => shard_exists(s) && !self.frozen.contains(s),
            Op::ThawShard(s) => self.frozen.contains(s),
            Op::DisableShard(s) => shard_exists(s) && !self.disabled.contains(s),
            Op::EnableShard(s) => self.disabled.contains(s),
            Op::UpgradeShard(s) => shard_exists(s),
            Op::TrapCalls { canister, .. } => *canister == self.p.ledger || *canister == self.p.hub || shard_exists(canister),
        }
    }

    /// Upgrades `canister` to the build `name` as SNS root (and the hub's rollout) does: stopped
    /// first, then started again whatever happened. Calls in flight to it are rejected while it
    /// stops (the mid-flight part); its own calls finish first. Upgraded while running, a
    /// callback of the old code would run with the new module's function table and the old
    /// heap's pointers (the IC's spec advises stopping first): a different build then corrupts
    /// the heap (seed 32 saw every hub query trap), and the same build loses the continuation.
    fn upgrade_stopped(&self, canister: Principal, name: &str, controller: Option<Principal>) -> Result<(), String> {
        let net = &self.p.net;
        let upgraded = match net.stop_canister(canister, controller) {
            Ok(()) => net.upgrade_canister(canister, wasm(name), candid::encode_args(()).unwrap(), controller).map_err(|e| format!("{e:?}")),
            Err(e) => Err(format!("stop: {e:?}")),
        };
        net.start_canister(canister, controller).map_err(|e| format!("start: {e:?}"))?;
        upgraded
    }

    /// A learner operation chosen at random (`None`: nothing sensible for the one picked).
    fn learner_op(&self, rng: &mut Rng) -> Option<Op> {
        let n = rng.below(LEARNERS as u64) as u32;
        let Some(shard) = self.homes.get(&n) else { return Some(Op::Register(n)) };
        Some(match rng.below(10) {
            0 => Op::Profile(n),
            1..=5 => {
                let unit = *self.next_unit.get(&n).unwrap_or(&0);
                if unit >= UNITS {
                    return None;
                }
                Op::Quiz { learner: n, unit, right: rng.below(5) > 0 }
            }
            _ => {
                // A shard being upgraded (stopped for a moment) answers nothing: 0.
                let view: Result<(Result<UserView, ShardError>,), _> = self.p.net.query_candid_as(*shard, learner(n), "get_my_profile", ());
                let staked = view.ok().and_then(|(v,)| v.ok()).map(|v| v.staked_e8s).unwrap_or(0);
                let amount = match rng.below(4) {
                    0 => staked,
                    1 => staked / 2,
                    2 => rng.below(staked + 2), // sometimes more than the balance, or 0
                    _ => 1,
                };
                Op::Unstake { learner: n, amount }
            }
        })
    }

    /// A fault chosen at random, or its undoing.
    fn fault_op(&self, rng: &mut Rng) -> Option<Op> {
        let shards = self.shards();
        let pick = |rng: &mut Rng| shards.get(rng.below(shards.len() as u64) as usize).copied();
        Some(match rng.below(7) {
            0 => if self.ledger_stopped { Op::StartLedger } else { Op::StopLedger },
            1 => if self.frozen.contains(&self.p.ledger) { Op::ThawLedger } else { Op::FreezeLedger },
            2 => {
                let s = pick(rng)?;
                if self.frozen.contains(&s) { Op::ThawShard(s) } else { Op::FreezeShard(s) }
            }
            3 => {
                let s = pick(rng)?;
                if self.disabled.contains(&s) { Op::EnableShard(s) } else { Op::DisableShard(s) }
            }
            4 => Op::UpgradeHub,
            5 => Op::UpgradeShard(pick(rng)?),
            _ => Op::ConfigPush { daily_attempt_limit: if self.daily_limit == 100 { 60 + rng.below(30) as u32 } else { 100 } },
        })
    }

    /// A fault of the kinds added later (a rollout, trapping callees), or None. Drawn from a
    /// stream of its own, so a seed's other operations stay the ones they were before.
    fn later_fault_op(&self, rng: &mut Rng) -> Option<Op> {
        if rng.below(24) != 0 {
            return None;
        }
        let shards = self.shards();
        let count = 1 + rng.below(3) as u32;
        let (canister, method) = match rng.below(7) {
            0 => return Some(Op::StartRollout),
            1 => (self.p.ledger, None),
            2 => (self.p.hub, Some("mint_withdrawals")),
            3 => (self.p.hub, Some("mint_withdrawal")),
            4 => (self.p.hub, Some("request_allowance")),
            k => (*shards.get(rng.below(shards.len() as u64) as usize)?, Some(if k == 5 { "apply_config" } else { "register_user" })),
        };
        Some(Op::TrapCalls { canister, method, count })
    }

    /// Every fault undone: the ledger running and thawed, every shard thawed and enabled, no
    /// trap left armed (a rollout under way goes on).
    fn heal(&mut self, round: usize) {
        for (canister, method) in std::mem::take(&mut self.traps) {
            self.apply(round, Op::TrapCalls { canister, method, count: 0 });
        }
        self.traps.clear();
        if self.ledger_stopped {
            self.apply(round, Op::StartLedger);
        }
        for s in self.frozen.clone() {
            self.apply(round, if s == self.p.ledger { Op::ThawLedger } else { Op::ThawShard(s) });
        }
        for s in self.disabled.clone() {
            self.apply(round, Op::EnableShard(s));
        }
    }

    /// Whether the shard can be read now: not frozen, and not stopped for an upgrade by the
    /// rollout (a moment between rounds).
    fn readable(&self, shard: Principal) -> bool {
        !self.frozen.contains(&shard) && self.p.net.query_call(shard, Principal::anonymous(), "get_shard_stats", candid::encode_args(()).unwrap()).is_ok()
    }

    /// The invariants that hold at every instant (`settled`: also those of a quiet platform).
    fn check(&self, settled: bool) {
        let p = &self.p;
        let g = p.stats();
        let readable: BTreeSet<Principal> = g.shards.iter().map(|i| i.id).filter(|id| self.readable(*id)).collect();
        if settled && readable.len() != g.shards.len() {
            let silent: Vec<String> = g
                .shards
                .iter()
                .filter(|i| !readable.contains(&i.id))
                .map(|i| format!("{} ({:?})", i.id, p.net.canister_status(i.id, Some(p.hub)).map(|s| s.status)))
                .collect();
            let (rollout,): (RolloutStatus,) = p.query(p.hub, Principal::anonymous(), "get_rollout_status", ());
            let log: Vec<String> = p
                .net
                .fetch_canister_logs(p.hub, p.controller.unwrap_or(Principal::anonymous()))
                .unwrap_or_default()
                .into_iter()
                .map(|r| String::from_utf8_lossy(&r.content).into_owned())
                .filter(|line| g.shards.iter().any(|i| !readable.contains(&i.id) && line.contains(&i.id.to_text())) || line.contains("battery"))
                .filter(|line| !line.contains("push_failed"))
                .collect();
            let log = &log[log.len().saturating_sub(20)..];
            if let Ok(path) = std::env::var("FAULT_HUB_LOG") {
                let all: Vec<String> = p
                    .net
                    .fetch_canister_logs(p.hub, p.controller.unwrap_or(Principal::anonymous()))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| format!("{} {}", r.timestamp_nanos, String::from_utf8_lossy(&r.content)))
                    .collect();
                std::fs::write(path, all.join("\n")).unwrap();
            }
            let report = p.cycles_report();
            panic!(
                "once settled, every shard answers; these do not: {silent:?}; the rollout: {rollout:?}; the battery's last round at {:?} (now {}): {}; the hub's last log lines about them:\n{}",
                report.last_round_at_ns,
                p.net.get_time_nanos(),
                report.last_round_status,
                log.join("\n")
            );
        }
        assert!(g.total_granted_e8s <= HARD_CAP_E8S, "the cap: {g:?}");
        assert_eq!(g.shards.iter().map(|s| s.granted_e8s).sum::<u64>(), g.total_granted_e8s, "grants add up");
        assert_eq!(g.shards.iter().map(|s| s.minted_e8s).sum::<u64>(), g.total_minted_e8s, "mints add up");
        // Who is where, by the hub's index: it agrees with every answered registration (a
        // refused one left nothing behind), and with the shards.
        let mut per_shard: BTreeMap<Principal, u64> = BTreeMap::new();
        for n in 0..LEARNERS {
            let indexed = p.user_shard(learner(n));
            if let Some(home) = self.homes.get(&n) {
                assert_eq!(indexed, Some(*home), "learner {n}: the hub's index");
            }
            if let Some(home) = indexed {
                *per_shard.entry(home).or_default() += 1;
            }
            // No shard but its home has the learner (a frozen or stopped shard cannot be asked).
            for info in g.shards.iter().filter(|i| readable.contains(&i.id)) {
                let found = p.profile(info.id, learner(n)).is_ok();
                assert_eq!(found, Some(info.id) == indexed, "learner {n} on shard {} (index: {indexed:?})", info.id);
            }
        }
        let (mut staked, mut pending, mut withdrawn, mut unused) = (0, 0, 0, 0);
        for info in g.shards.iter().filter(|i| readable.contains(&i.id)) {
            let s = p.shard_stats(info.id);
            assert_eq!(
                s.allowance_received_e8s,
                s.total_staked_e8s + s.pending_withdrawals_e8s + s.withdrawn_e8s + s.allowance_remaining_e8s,
                "tokens conserved on shard {}: {s:?}",
                info.id
            );
            assert!(s.allowance_received_e8s <= info.granted_e8s, "a shard holds no more than granted: {s:?} {info:?}");
            assert!(info.minted_e8s + info.pending_mint_e8s <= info.granted_e8s, "never minted above the grant: {info:?}");
            assert!(s.withdrawn_e8s <= info.minted_e8s, "settled only after the hub counted the mint");
            assert_eq!(s.users, per_shard.get(&info.id).copied().unwrap_or(0), "the shard's user count: {}", info.id);
            assert_eq!(info.user_count, s.users, "the hub's count of shard {}", info.id);
            staked += s.total_staked_e8s;
            pending += s.pending_withdrawals_e8s;
            withdrawn += s.withdrawn_e8s;
            unused += s.allowance_remaining_e8s;
        }
        // The sums over all shards, when every shard can be read.
        let all_read = readable.len() == g.shards.len();
        if all_read && !self.ledger_stopped && !self.frozen.contains(&p.ledger) {
            let supply = p.total_supply();
            assert!(g.total_minted_e8s <= supply && supply <= g.total_minted_e8s + g.pending_mint_e8s, "{g:?} {supply}");
            assert!(supply <= withdrawn + pending);
        }
        if settled {
            assert_eq!((g.pending_mint_e8s, pending), (0, 0), "nothing pending once settled");
            assert_eq!(g.total_granted_e8s, staked + pending + g.total_minted_e8s + unused, "every granted token is somewhere");
            let supply = p.total_supply();
            assert_eq!((g.total_minted_e8s, withdrawn), (supply, supply));
        }
    }

    /// Once settled: every withdrawal Completed or Failed, each Completed one on the ledger once
    /// (its memo in exactly one block), and each learner's balance what they completed.
    fn check_withdrawals(&self) {
        let p = &self.p;
        let mut blocks = BTreeSet::new();
        for (n, home) in &self.homes {
            let list = p.withdrawals(*home, learner(*n));
            let mut completed = 0;
            for w in &list {
                match w.state {
                    WithdrawalState::Completed { block_index } => {
                        assert!(blocks.insert(block_index), "block {block_index} settles two withdrawals");
                        completed += w.amount_e8s;
                    }
                    WithdrawalState::Failed { .. } => {}
                    WithdrawalState::Pending { .. } => panic!("learner {n}: withdrawal {} still Pending once settled", w.id),
                }
            }
            assert_eq!(p.balance(learner(*n)), completed, "learner {n}: ledger balance = completed withdrawals");
        }
        // No mint without a withdrawal: the ledger holds exactly the completed blocks' tokens.
        let total: u64 = self.homes.keys().map(|n| p.balance(learner(*n))).sum();
        assert_eq!(total, p.total_supply(), "no tokens outside the learners' accounts");
    }
}

impl World {
    /// Every fault undone, everything settled, and the final checks.
    fn finish(&mut self) {
        self.heal(ROUNDS);
        // Every retry finishes: the withdrawal back-off is at most an hour.
        for _ in 0..12 {
            self.p.net.advance_time(Duration::from_secs(600));
            self.p.net.run_until_idle(20_000);
        }
        self.check(true);
        self.check_withdrawals();
    }
}

/// Runs `script` (operations with their rounds, as a run records them) on the world of `seed`,
/// skipping those that no longer apply, with the same checks as `run`: after every round, and
/// at the end. Answers the first line of the failure, if one.
fn run_script(seed: u64, script: &[(usize, Op)]) -> Option<String> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut w = World::new(seed);
        for (round, op) in script.iter().filter(|(round, _)| *round < ROUNDS) {
            if !w.applicable(op) {
                continue;
            }
            if let Op::Register(n) = op {
                if w.homes.contains_key(n) {
                    continue;
                }
            }
            let is_round = matches!(op, Op::Round(_));
            w.apply(*round, op.clone());
            if is_round {
                w.check(false);
            }
        }
        w.finish();
    }));
    outcome.err().map(|e| {
        let text = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
        text.lines().next().unwrap_or_default().to_string()
    })
}

/// The part of a failure that names what failed (up to its first ':'), so a shorter replay that
/// fails the same check counts, whatever the figures in the message.
fn failure_kind(message: &str) -> &str {
    message.split(':').next().unwrap_or(message)
}

/// Shrinks `script` while `fails` holds: removes chunks of operations (halves, then quarters,
/// down to single operations; `Round`s are kept, they carry time), keeping each removal after
/// which it still fails, within `budget` attempts. Greedy, so a local minimum.
fn shrink(mut script: Vec<(usize, Op)>, budget: usize, mut fails: impl FnMut(&[(usize, Op)]) -> bool) -> (Vec<(usize, Op)>, usize) {
    let mut attempts = 0;
    let removable = |s: &[(usize, Op)]| s.iter().enumerate().filter(|(_, (_, op))| !matches!(op, Op::Round(_))).map(|(i, _)| i).collect::<Vec<_>>();
    let mut chunk = removable(&script).len().div_ceil(2).max(1);
    loop {
        let mut start = 0;
        loop {
            let candidates = removable(&script);
            if start >= candidates.len() || attempts >= budget {
                break;
            }
            let gone: BTreeSet<usize> = candidates[start..(start + chunk).min(candidates.len())].iter().copied().collect();
            let candidate: Vec<(usize, Op)> = script.iter().enumerate().filter(|(i, _)| !gone.contains(i)).map(|(_, x)| x.clone()).collect();
            attempts += 1;
            if fails(&candidate) {
                script = candidate;
            } else {
                start += chunk;
            }
        }
        if chunk == 1 || attempts >= budget {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    (script, attempts)
}

#[test]
fn the_shrinker_keeps_only_what_the_failure_needs() {
    let script: Vec<(usize, Op)> = (0..40u32)
        .flat_map(|i| [(i as usize, Op::Register(i)), (i as usize, Op::Round(1_000))])
        .collect();
    // "Fails" while learners 7 and 23 both register.
    let (small, attempts) = shrink(script, 200, |s| {
        s.iter().any(|(_, op)| matches!(op, Op::Register(7))) && s.iter().any(|(_, op)| matches!(op, Op::Register(23)))
    });
    let kept: Vec<u32> = small.iter().filter_map(|(_, op)| if let Op::Register(n) = op { Some(*n) } else { None }).collect();
    assert_eq!(kept, vec![7, 23], "after {attempts} attempts");
    assert_eq!(small.iter().filter(|(_, op)| matches!(op, Op::Round(_))).count(), 40, "rounds stay");
}

/// What a seed ran.
#[derive(Default)]
struct Ran {
    operations: usize,
    faults: usize,
    /// Of the faults: rollouts started, and trap injections (armed, not cleared).
    rollouts: usize,
    traps: usize,
    withdrawals_settled: usize,
}

/// One seed: `ROUNDS` rounds of learner operations and faults, the invariants after every
/// round, then everything healed and settled, and the final checks.
fn run(seed: u64) -> Ran {
    run_with(seed, Rc::new(RefCell::new(Vec::new())))
}

/// `run`, recording its operations into `ops` (kept after a panic, for the shrinker).
fn run_with(seed: u64, ops: Rc<RefCell<Vec<(usize, Op)>>>) -> Ran {
    let mut w = World::new(seed);
    w.ops = ops;
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut later_rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
    let _replay = ReplayOnPanic { seed, ops: w.ops.clone() };
    for round in 0..ROUNDS {
        for _ in 0..rng.below(4) {
            if let Some(op) = w.learner_op(&mut rng) {
                if let Op::Quiz { learner, unit, .. } = op {
                    w.next_unit.insert(learner, unit + 1);
                }
                w.apply(round, op);
            }
        }
        if rng.below(12) == 0 {
            if let Some(op) = w.fault_op(&mut rng) {
                w.apply(round, op);
            }
        }
        if let Some(op) = w.later_fault_op(&mut later_rng) {
            w.apply(round, op);
        }
        w.apply(round, Op::Round(200 + rng.below(3_000)));
        w.check(false);
    }
    w.finish();
    let g = w.p.stats();
    assert!(g.total_minted_e8s > 0, "seed {seed}: the run minted something");
    let ops = w.ops.borrow();
    let is_fault = |op: &Op| !matches!(op, Op::Register(_) | Op::Profile(_) | Op::Quiz { .. } | Op::Unstake { .. } | Op::Round(_));
    let withdrawals_settled = w.homes.iter().map(|(n, home)| w.p.withdrawals(*home, learner(*n)).len()).sum();
    Ran {
        operations: ops.len(),
        faults: ops.iter().filter(|(_, op)| is_fault(op)).count(),
        rollouts: ops.iter().filter(|(_, op)| matches!(op, Op::StartRollout)).count(),
        traps: ops.iter().filter(|(_, op)| matches!(op, Op::TrapCalls { count, .. } if *count > 0)).count(),
        withdrawals_settled,
    }
}

fn report(seeds: &str, ran: &Ran) {
    eprintln!(
        "fault scenarios, seeds {seeds}: {} operations, {} faults ({} rollouts started, {} trap injections), {} withdrawals settled; every invariant held after every round",
        ran.operations, ran.faults, ran.rollouts, ran.traps, ran.withdrawals_settled
    );
}

#[test]
fn fixed_seeds_keep_every_invariant_through_faults() {
    for seed in CI_SEEDS {
        report(&seed.to_string(), &run(seed));
    }
}

/// One seed from `FAULT_SEED` (the replay of a failure; nothing to do without it). With
/// `FAULT_SHRINK=<attempts>` a failing seed is also shrunk: operations are left out while the
/// same check still fails, and the shortest replay found is printed before the test fails.
#[test]
fn replay() {
    let Ok(seed) = std::env::var("FAULT_SEED") else { return };
    let seed: u64 = seed.parse().expect("FAULT_SEED is a number");
    let Some(budget) = std::env::var("FAULT_SHRINK").ok().and_then(|b| b.parse::<usize>().ok()) else {
        report(&seed.to_string(), &run(seed));
        return;
    };
    let ops = Rc::new(RefCell::new(Vec::new()));
    let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_with(seed, ops.clone()))) else {
        eprintln!("seed {seed} passes: nothing to shrink");
        return;
    };
    let message = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
    let message = message.lines().next().unwrap_or_default().to_string();
    let kind = failure_kind(&message).to_string();
    let script = ops.borrow().clone();
    eprintln!("shrinking seed {seed} ({} operations), failing with: {message}", script.len());
    let (small, attempts) = shrink(script.clone(), budget, |candidate| {
        run_script(seed, candidate).is_some_and(|m| failure_kind(&m) == kind)
    });
    eprintln!("shrunk to {} of {} operations in {attempts} runs; replay:", small.len(), script.len());
    print_replay(&small);
    panic!("seed {seed}: {message}");
}

/// `FAULT_SEEDS=a-b`: every seed in the range, for the long-run script.
#[test]
fn seed_range() {
    let Ok(range) = std::env::var("FAULT_SEEDS") else { return };
    let (a, b) = range.split_once('-').expect("FAULT_SEEDS=a-b");
    let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
    let mut all = Ran::default();
    for seed in a..=b {
        let r = run(seed);
        all.operations += r.operations;
        all.faults += r.faults;
        all.rollouts += r.rollouts;
        all.traps += r.traps;
        all.withdrawals_settled += r.withdrawals_settled;
    }
    report(&range, &all);
}

/// Found by seed 11 (a rollout under way, then the hub upgraded without being stopped): the
/// upgrade lost the rollout's continuation between a shard's stop and its start, and the shard
/// stayed stopped with nobody to start it (the hub is its only controller). The hub's battery
/// round now starts a live shard it finds stopped with no upgrade or restore under way.
#[test]
fn a_shard_left_stopped_is_started_again_by_the_hub() {
    let w = World::new(11);
    let p = &w.p;
    let ada = learner(0);
    let shard = p.register(ada).unwrap();
    // As a lost continuation leaves it: stopped by its controller, nothing under way.
    p.net.stop_canister(shard, Some(p.hub)).unwrap();
    assert!(p.net.query_call(shard, ada, "get_my_profile", candid::encode_args(()).unwrap()).is_err(), "a stopped shard answers nothing");
    p.wait(30);
    assert_eq!(p.net.canister_status(shard, Some(p.hub)).unwrap().status, localnet::management_types::CanisterStatusType::Running);
    p.pass(shard, ada, 0);
    assert!(p.profile(shard, ada).unwrap().staked_e8s > 0, "the learner's calls work again");
}
