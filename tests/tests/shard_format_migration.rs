//! The compact-records migration (issue 14 §3) on localnet: a shard of the previous release
//! (commit d9b1018, `tests/fixtures/user_profile_d9b1018.wasm.gz`, old stable layout) is filled
//! with learners (profiles, balances, completed units, a withdrawal each, some archived or
//! self-deleted), then upgraded to the current module. Every learner's view, progress and
//! withdrawals answer the same bytes as before, the shard's stats too, the export carries the
//! same users and units (completion times at their UTC day, what the new layout keeps), and the
//! upgrade's instructions are measured from localnet's execution log. A second upgrade finds
//! nothing to move and costs what an upgrade of a fresh shard costs.
//!
//! The hub is played by a test principal (`hub()`): the shard is installed hub-less, as the
//! benchmark does, and filled through `import_users` (the hub's migration call), which writes
//! every map a learner has an entry in.

use candid::Principal;
use integration_tests::wasm;
use localnet::LocalNet;
use platform_types::*;

const LEARNERS: u32 = 5_000;
const UNITS_PER_LEARNER: u32 = 10;
/// A page of `import_users` (the shard's cap is 500 users a page).
const PAGE: u32 = 250;
/// The IC's instruction limit of an upgrade (install_code), see docs/performance.md.
const UPGRADE_INSTRUCTION_LIMIT: u64 = 300_000_000_000;

fn hub() -> Principal {
    Principal::from_slice(&[5; 29])
}

fn learner(n: u32) -> Principal {
    let mut b = [7u8; 29];
    b[..4].copy_from_slice(&n.wrapping_mul(2_654_435_761).to_be_bytes());
    b[4..8].copy_from_slice(&n.to_be_bytes());
    Principal::from_slice(&b)
}

fn old_wasm() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/user_profile_d9b1018.wasm.gz");
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const DAY: u64 = 20_400;

/// Learner `n` as the exporting shard would have sent them: every 10th archived, every 20th
/// self-deleted, the others live (two in three with a profile), each with units and a
/// settled withdrawal (a deleted learner has none).
fn exported(n: u32) -> ExportedUser {
    let completed = (0..UNITS_PER_LEARNER)
        .map(|k| ExportedCompletion {
            unit_id: format!("unit-{:03}", (n * 7 + k * 31) % 120),
            completed_at_ns: (DAY + u64::from(k)) * NANOS_PER_DAY + u64::from(n) * 1_000_003,
        })
        .collect();
    let withdrawal = ExportedWithdrawal {
        id: u64::from(n) + 1,
        origin_shard: None,
        amount_e8s: 5 * E8S,
        created_at_ns: DAY * NANOS_PER_DAY + 5,
        state: if n % 3 == 0 { WithdrawalState::Failed { reason: "ledger refused".into() } } else { WithdrawalState::Completed { block_index: u64::from(n) } },
        attempts: 1,
        updated_at_ns: DAY * NANOS_PER_DAY + 9,
        next_retry_ns: 0,
    };
    let live = ExportedUser {
        principal: learner(n),
        profile: (n % 3 != 0).then(|| ProfileInput {
            email: format!("learner{n}@example.org"),
            name: format!("Learner {n}"),
            education: "Mathematics".into(),
            gender: Gender::Female,
        }),
        staked_e8s: u64::from(n % 50) * E8S,
        day: DAY + 9,
        attempts_today: n % 4,
        earned_today_e8s: u64::from(n % 4) * E8S,
        completed_units: u64::from(UNITS_PER_LEARNER),
        registered_at_ns: DAY * NANOS_PER_DAY + u64::from(n),
        last_active_ns: (DAY + 9) * NANOS_PER_DAY + u64::from(n),
        completed,
        rewards_owed: vec![],
        withdrawals: vec![withdrawal],
        tombstone: None,
    };
    if n % 10 != 9 {
        return live;
    }
    let archived_at_ns = (DAY + 5) * NANOS_PER_DAY + u64::from(n);
    let deleted = n % 20 == 19;
    ExportedUser {
        profile: None,
        day: 0,
        attempts_today: 0,
        earned_today_e8s: 0,
        last_active_ns: archived_at_ns,
        staked_e8s: if deleted { 0 } else { live.staked_e8s },
        withdrawals: if deleted { vec![] } else { live.withdrawals.clone() },
        tombstone: Some(ExportedTombstone { archived_at_ns, deleted }),
        ..live
    }
}

fn query(net: &LocalNet, shard: Principal, caller: Principal, method: &str, arg: Vec<u8>) -> Vec<u8> {
    net.query_call(shard, caller, method, arg).unwrap_or_else(|e| panic!("{method} as {caller}: {e:?}"))
}

/// Every answer a learner or the hub can read, as reply bytes.
fn snapshot(net: &LocalNet, shard: Principal) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for n in 0..LEARNERS {
        let who = learner(n);
        out.push((format!("{n} profile"), query(net, shard, who, "get_my_profile", candid::encode_args(()).unwrap())));
        out.push((format!("{n} progress"), query(net, shard, who, "get_my_progress", candid::encode_args((0u64, 100u64)).unwrap())));
        out.push((format!("{n} progress page"), query(net, shard, who, "get_my_progress", candid::encode_args((3u64, 4u64)).unwrap())));
        out.push((format!("{n} withdrawals"), query(net, shard, who, "get_my_withdrawals", candid::encode_args((0u64, 100u64)).unwrap())));
    }
    out.push(("stats".into(), query(net, shard, hub(), "get_shard_stats", candid::encode_args(()).unwrap())));
    out
}

/// Every user the shard exports, completion times at the start of their UTC day.
fn export_all(net: &LocalNet, shard: Principal) -> Vec<ExportedUser> {
    let mut users = Vec::new();
    let mut cursor: Option<Principal> = None;
    loop {
        let bytes = query(net, shard, hub(), "export_users", candid::encode_args((cursor, 500u32)).unwrap());
        let page = candid::decode_one::<Result<ExportedUsers, ShardError>>(&bytes).unwrap().unwrap().page;
        users.extend(page.users.into_iter().map(|u| ExportedUser {
            completed: u
                .completed
                .into_iter()
                .map(|c| ExportedCompletion { completed_at_ns: c.completed_at_ns / NANOS_PER_DAY * NANOS_PER_DAY, ..c })
                .collect(),
            ..u
        }));
        cursor = page.next_cursor;
        if cursor.is_none() {
            return users;
        }
    }
}

fn post_upgrade_instructions(net: &LocalNet, shard: Principal) -> u64 {
    let log = net.take_execution_log();
    let runs: Vec<_> = log.iter().filter(|r| r.canister == shard && r.entry == "post_upgrade").collect();
    assert_eq!(runs.len(), 1, "one post_upgrade: {log:?}");
    assert!(!runs[0].trapped, "post_upgrade trapped");
    runs[0].instructions
}

#[test]
fn an_old_layout_shard_upgrades_to_compact_records_and_every_learner_reads_the_same() {
    let net = LocalNet::new();
    let shard = net.create_canister_with_settings(Some(hub()), None);
    let init = ShardInitArgs {
        hub_id: hub(),
        learning_content_id: Principal::from_slice(&[6; 29]),
        config: PlatformConfig::default(),
        config_version: None,
        module_hash: None,
    };
    net.install_canister(shard, old_wasm(), candid::encode_one(init).unwrap(), Some(hub()));

    for start in (0..LEARNERS).step_by(PAGE as usize) {
        let page = UserExportPage { users: (start..start + PAGE).map(exported).collect(), next_cursor: None, shard_totals: None };
        let args = ImportUsersArgs { source_shard: 1, sha256: page_sha256(&page), page };
        let reply = net.update_call(shard, hub(), "import_users", candid::encode_one(args).unwrap()).unwrap();
        let receipt = candid::decode_one::<Result<ImportReceipt, ShardError>>(&reply).unwrap().unwrap();
        assert_eq!(receipt.users_imported, u64::from(PAGE));
    }
    // One learner registered the ordinary way, with a profile of their own.
    let newcomer = learner(LEARNERS + 1);
    let r: (Result<(), ShardError>,) = net.update_candid_as(shard, hub(), "register_user", (newcomer,)).unwrap();
    r.0.unwrap();
    let profile = ProfileInput { email: "new@example.org".into(), name: "New".into(), education: "Art".into(), gender: Gender::Male };
    let r: (Result<UserView, ShardError>,) = net.update_candid_as(shard, newcomer, "update_profile", (profile,)).unwrap();
    r.0.unwrap();

    let before = snapshot(&net, shard);
    let exported_before = export_all(&net, shard);
    assert_eq!(exported_before.len() as u32, LEARNERS + 1);
    let stats: ShardStats = candid::decode_one(&before.last().unwrap().1).unwrap();
    assert_eq!(stats.users, u64::from(LEARNERS) + 1);

    net.take_execution_log();
    let current = wasm("user_profile");
    net.upgrade_canister(shard, current.clone(), candid::encode_args(()).unwrap(), Some(hub())).expect("the upgrade migrates");
    let migration = post_upgrade_instructions(&net, shard);
    let per_learner = migration / u64::from(LEARNERS + 1);
    println!(
        "upgrade from d9b1018 with {} learners x {UNITS_PER_LEARNER} units: {migration} instructions ({per_learner} per learner; \
         100,000 learners: ~{} B of the {} B upgrade limit)",
        LEARNERS + 1,
        per_learner * 100_000 / 1_000_000_000,
        UPGRADE_INSTRUCTION_LIMIT / 1_000_000_000
    );
    // B-tree inserts grow with log(n) (one more level from 5,000 to 100,000 entries): with
    // half as much again, 100,000 learners still fit in one upgrade.
    assert!(per_learner * 100_000 * 3 / 2 < UPGRADE_INSTRUCTION_LIMIT, "{per_learner} instructions per learner");

    let after = snapshot(&net, shard);
    for ((what, old), (_, new)) in before.iter().zip(&after) {
        assert_eq!(new, old, "{what} reads differently after the upgrade");
    }
    assert_eq!(export_all(&net, shard), exported_before, "the export carries the same users and units");

    // Nothing to move any more: the next upgrade is O(1), like a fresh shard's.
    net.upgrade_canister(shard, integration_tests::another_release(&current), candid::encode_args(()).unwrap(), Some(hub())).unwrap();
    let second = post_upgrade_instructions(&net, shard);
    let fresh = net.create_canister_with_settings(Some(hub()), None);
    let init = ShardInitArgs {
        hub_id: hub(),
        learning_content_id: Principal::from_slice(&[6; 29]),
        config: PlatformConfig::default(),
        config_version: None,
        module_hash: None,
    };
    net.install_canister(fresh, current.clone(), candid::encode_one(init).unwrap(), Some(hub()));
    net.take_execution_log();
    net.upgrade_canister(fresh, integration_tests::another_release(&current), candid::encode_args(()).unwrap(), Some(hub())).unwrap();
    let fresh_upgrade = post_upgrade_instructions(&net, fresh);
    println!("second upgrade: {second} instructions; a fresh shard's upgrade: {fresh_upgrade}");
    assert!(second < migration / 100, "the second upgrade moved nothing: {second} vs {migration}");
    assert!(second < 2 * fresh_upgrade + 1_000_000, "{second} vs a fresh shard's {fresh_upgrade}");
    assert_eq!(snapshot(&net, shard), after);

    // The shard works on: a new learner starts with no completed unit, an old one updates.
    let late = learner(LEARNERS + 2);
    let r: (Result<(), ShardError>,) = net.update_candid_as(shard, hub(), "register_user", (late,)).unwrap();
    r.0.unwrap();
    let progress: (Result<Vec<String>, ShardError>,) = net.query_candid_as(shard, late, "get_my_progress", (0u64, 100u64)).unwrap();
    assert_eq!(progress.0.unwrap(), Vec::<String>::new());
    let profile = ProfileInput { email: "one@example.org".into(), name: "One".into(), education: "Law".into(), gender: Gender::Male };
    let r: (Result<UserView, ShardError>,) = net.update_candid_as(shard, learner(1), "update_profile", (profile,)).unwrap();
    assert_eq!(r.0.unwrap().staked_e8s, E8S);
    let progress: (Result<Vec<String>, ShardError>,) = net.query_candid_as(shard, learner(1), "get_my_progress", (0u64, 100u64)).unwrap();
    let mut units: Vec<String> = exported(1).completed.into_iter().map(|c| c.unit_id).collect();
    units.sort();
    assert_eq!(progress.0.unwrap(), units);
}
