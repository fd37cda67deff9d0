//! The platform on a PocketIC instance: learning_content, the admin-less staking_hub (which
//! creates its shards) and the ICRC ledger whose minting account is the hub, set up as
//! `tests/tests/platform_e2e.rs` and `tests/tests/unstake.rs` do; learners register, fill in
//! profiles, answer quizzes, earn, and unstake to the ledger. Written against `pocket_ic` only.

use std::time::Duration;

use candid::{encode_one, CandidType, Nat, Principal};
use icrc_ledger::types::{FeatureFlags, InitArgs, LedgerArgument};
use icrc_ledger_types::icrc1::account::Account;
use platform_types::*;
use pocket_ic::{query_candid, query_candid_as, update_candid_as, PocketIc};
use pocketic_tests::{pic, user, wasm};
use serde::de::DeserializeOwned;

fn learner(n: u32) -> Principal {
    user(7, n)
}

/// A unit `id` with one three-option question per entry of `key`, its answer key.
fn unit(id: &str, subject: &str, key: Vec<u32>) -> UnitInput {
    UnitInput {
        unit: Unit {
            id: id.into(),
            subject: subject.into(),
            title: format!("Unit {id}"),
            body: format!("All about {id}."),
            questions: key
                .iter()
                .enumerate()
                .map(|(i, _)| Question { text: format!("Q{i}?"), options: vec!["a".into(), "b".into(), "c".into()] })
                .collect(),
        },
        answer_key: key,
    }
}

struct Platform {
    pic: PocketIc,
    hub: Principal,
    content: Principal,
    ledger: Principal,
}

fn small() -> ConfigOverrides {
    ConfigOverrides {
        shard_soft_limit: Some(9),
        shard_hard_limit: Some(10),
        allowance_chunk_e8s: Some(250 * E8S),
        reward_per_quiz_e8s: Some(100 * E8S),
        ..Default::default()
    }
}

fn platform(overrides: ConfigOverrides) -> Platform {
    let pic = pic();
    let hub = pic.create_canister();
    let content = pic.create_canister();
    let ledger = pic.create_canister();
    let governance = Principal::from_slice(&[9; 29]);
    let units = vec![
        unit("math-1", "math", vec![0, 1, 2]),
        unit("math-2", "math", vec![2, 2, 2]),
        unit("hist-1", "history", vec![1, 0, 1, 0, 1]),
    ];
    let init = ContentInitArgs { hub_id: hub, sns_governance_id: governance, units, pass_mark_percent: Some(60) };
    pic.install_canister(content, wasm("learning_content"), encode_one(init).unwrap(), None);
    let init = LedgerArgument::Init(InitArgs {
        minting_account: Account { owner: hub, subaccount: None },
        fee_collector_account: None,
        transfer_fee: 10_000u64.into(),
        decimals: Some(8),
        max_memo_length: None,
        token_symbol: "LRN".into(),
        token_name: "Learn".into(),
        metadata: vec![],
        initial_balances: vec![],
        feature_flags: Some(FeatureFlags { icrc2: true }),
    });
    pic.install_canister(ledger, wasm("icrc_ledger"), encode_one(init).unwrap(), None);
    let init = HubInitArgs {
        ledger_id: ledger,
        learning_content_id: content,
        sns_governance_id: governance,
        config: Some(overrides),
        registration_policy: Some(platform_types::RegistrationPolicy::Open),
        icp_refill: None,
    };
    pic.install_canister(hub, wasm("staking_hub"), encode_one(init).unwrap(), None);
    Platform { pic, hub, content, ledger }
}

impl Platform {
    fn update<A: CandidType, R: CandidType + DeserializeOwned>(&self, canister: Principal, who: Principal, method: &str, arg: A) -> R {
        update_candid_as::<_, (R,)>(&self.pic, canister, who, method, (arg,)).unwrap_or_else(|e| panic!("{method}: {e}")).0
    }

    fn query<R: CandidType + DeserializeOwned>(&self, canister: Principal, who: Principal, method: &str, args: impl candid::utils::ArgumentEncoder) -> R {
        query_candid_as::<_, (R,)>(&self.pic, canister, who, method, args).unwrap_or_else(|e| panic!("{method}: {e}")).0
    }

    /// Ingress the canister's `canister_inspect_message` refuses (it never executes).
    fn assert_refused(&self, canister: Principal, who: Principal, method: &str, arg: Vec<u8>) {
        let e = self.pic.update_call(canister, who, method, arg).expect_err(method);
        assert_eq!(e.error_code, pocket_ic::ErrorCode::CanisterRejectedMessage, "{method} from {who}: {e}");
        assert!(e.reject_message.contains("refuses this ingress message"), "{method}: {e}");
    }

    fn register(&self, who: Principal) -> Result<Principal, RegisterError> {
        update_candid_as::<_, (Result<Principal, RegisterError>,)>(&self.pic, self.hub, who, "register", ()).unwrap().0
    }

    fn submit(&self, shard: Principal, who: Principal, unit: &str, answers: Vec<u32>) -> Result<QuizOutcome, ShardError> {
        update_candid_as::<_, (Result<QuizOutcome, ShardError>,)>(&self.pic, shard, who, "submit_quiz", (unit, answers)).unwrap().0
    }

    fn me(&self, shard: Principal, who: Principal) -> Result<UserView, ShardError> {
        self.query(shard, who, "get_my_profile", ())
    }

    fn stats(&self) -> GlobalStats {
        query_candid::<_, (GlobalStats,)>(&self.pic, self.hub, "get_global_stats", ()).unwrap().0
    }

    fn shard_stats(&self, shard: Principal) -> ShardStats {
        query_candid::<_, (ShardStats,)>(&self.pic, shard, "get_shard_stats", ()).unwrap().0
    }

    fn unstake(&self, shard: Principal, who: Principal, amount: u64) -> Result<Withdrawal, UnstakeError> {
        self.update(shard, who, "unstake", amount)
    }

    fn my_withdrawals(&self, shard: Principal, who: Principal) -> Vec<Withdrawal> {
        let r: Result<Vec<Withdrawal>, ShardError> = self.query(shard, who, "get_my_withdrawals", (0u64, 10u64));
        r.unwrap()
    }

    /// The clock moves past the shard's withdrawal round (its timer: the batch window and one
    /// more for an unstake to send it) and the round runs (its batch call, the hub's ledger
    /// calls and the callbacks).
    fn withdrawal_round(&self) {
        self.pic.advance_time(Duration::from_secs(2 * DEFAULT_WITHDRAWAL_BATCH_SECS));
        for _ in 0..10 {
            self.pic.tick();
        }
    }

    fn balance(&self, who: Principal) -> u64 {
        let (b,): (Nat,) =
            query_candid(&self.pic, self.ledger, "icrc1_balance_of", (Account { owner: who, subaccount: None },)).unwrap();
        u64::try_from(b.0).unwrap()
    }

    fn total_supply(&self) -> u64 {
        let (s,): (Nat,) = query_candid(&self.pic, self.ledger, "icrc1_total_supply", ()).unwrap();
        u64::try_from(s.0).unwrap()
    }
}

#[test]
fn a_learner_registers_studies_and_earns() {
    let p = platform(small());
    let ada = learner(1);
    let shard = p.register(ada).unwrap();
    assert_eq!(p.register(ada).unwrap(), shard, "registering twice gives the same shard");
    let (routed,): (Option<Principal>,) = query_candid(&p.pic, p.hub, "get_user_shard", (ada,)).unwrap();
    assert_eq!(routed, Some(shard));
    // The hub created the shard and controls it alone.
    assert_eq!(p.pic.get_controllers(shard), vec![p.hub]);
    assert_eq!(p.pic.get_subnet(shard), p.pic.get_subnet(p.hub));

    let profile = ProfileInput { email: "ada@example.org".into(), name: "Ada".into(), education: "Math".into(), gender: Gender::Female };
    let r: Result<UserView, ShardError> = p.update(shard, ada, "update_profile", profile.clone());
    assert_eq!(r.unwrap().profile.unwrap().name, "Ada");
    let bad = ProfileInput { email: "not-an-email".into(), ..profile };
    let r: Result<UserView, ShardError> = p.update(shard, ada, "update_profile", bad);
    assert!(matches!(r, Err(ShardError::BadInput { .. })));

    // Units are read over queries.
    let (u,): (Option<Unit>,) = query_candid(&p.pic, p.content, "get_unit", ("math-1",)).unwrap();
    assert_eq!(u.unwrap().questions.len(), 3);

    // A fail counts as an attempt and earns nothing; a pass earns the reward once.
    let fail = p.submit(shard, ada, "math-1", vec![2, 2, 0]).unwrap();
    assert!(!fail.passed && fail.reward_e8s == 0);
    let pass = p.submit(shard, ada, "math-1", vec![0, 1, 2]).unwrap();
    assert!(pass.passed);
    assert_eq!((pass.total, pass.reward_e8s, pass.staked_e8s), (3, 100 * E8S, 100 * E8S));
    assert_eq!(p.submit(shard, ada, "math-1", vec![0, 1, 2]), Err(ShardError::AlreadyCompleted { unit_id: "math-1".into() }));
    assert!(matches!(p.submit(shard, ada, "nope", vec![0]), Err(ShardError::UnknownUnit { .. })));
    let me = p.me(shard, ada).unwrap();
    // The shard holds the answer keys (issue 14, local verification): the unknown unit is
    // refused before it counts.
    assert_eq!((me.staked_e8s, me.completed_units, me.attempts_today), (100 * E8S, 1, 2));

    // The shard took one allowance chunk from the hub for it, not one call per quiz.
    let stats = p.shard_stats(shard);
    assert_eq!(stats.allowance_received_e8s, 250 * E8S);
    assert_eq!(stats.allowance_remaining_e8s, 150 * E8S);
    let g = p.stats();
    assert_eq!(g.total_granted_e8s, 250 * E8S);
    assert_eq!(g.cap_remaining_e8s, HARD_CAP_E8S - 250 * E8S);
    assert_eq!(g.users, 1);

    // Outsiders are refused at ingress, before execution (each canister's inspect_message).
    let eve = learner(666);
    p.assert_refused(shard, eve, "submit_quiz", candid::encode_args(("math-1", vec![0u32, 1, 2])).unwrap());
    p.assert_refused(shard, eve, "register_user", encode_one(eve).unwrap());
    p.assert_refused(p.hub, Principal::anonymous(), "register", candid::encode_args(()).unwrap());
}

#[test]
fn the_daily_limit_resets_a_day_later() {
    let p = platform(small());
    let bob = learner(2);
    let shard = p.register(bob).unwrap();
    for _ in 0..5 {
        assert!(!p.submit(shard, bob, "hist-1", vec![0, 0, 0, 0, 0]).unwrap().passed);
    }
    assert_eq!(p.submit(shard, bob, "hist-1", vec![1, 0, 1, 0, 1]), Err(ShardError::DailyLimitReached { limit: 5 }));
    p.pic.advance_time(Duration::from_secs(86_400));
    assert!(p.submit(shard, bob, "hist-1", vec![1, 0, 1, 0, 1]).unwrap().passed);
}

#[test]
fn unstake_mints_to_the_learner_on_the_ledger() {
    const REWARD: u64 = 10 * E8S;
    let p = platform(ConfigOverrides {
        shard_soft_limit: Some(9),
        shard_hard_limit: Some(10),
        allowance_chunk_e8s: Some(5 * REWARD),
        reward_per_quiz_e8s: Some(REWARD),
        daily_attempt_limit: Some(100),
        // Two withdrawals back to back: no cooldown (its own tests are in tests/tests/unstake.rs).
        withdrawal_cooldown_secs: Some(0),
        ..Default::default()
    });
    let ada = learner(1);
    let shard = p.register(ada).unwrap();
    for (u, answers) in [("math-1", vec![0, 1, 2]), ("math-2", vec![2, 2, 2]), ("hist-1", vec![1, 0, 1, 0, 1])] {
        assert!(p.submit(shard, ada, u, answers).unwrap().passed);
    }
    assert_eq!(p.me(shard, ada).unwrap().staked_e8s, 3 * REWARD);
    assert_eq!(p.balance(ada), 0);

    // Withdrawals go in batches (the default): unstake answers the queued entry, and the
    // shard's withdrawal round, at most two batch windows (60 s) later, sends it to the hub.
    let w = p.unstake(shard, ada, 2 * REWARD).unwrap();
    assert_eq!((w.id, w.amount_e8s, w.to, w.attempts), (1, 2 * REWARD, ada, 0));
    assert_eq!(w.state, WithdrawalState::Pending { last_error: None });
    assert_eq!(p.balance(ada), 0, "nothing minted before the round");
    p.withdrawal_round();
    let w = p.my_withdrawals(shard, ada).remove(0);
    assert_eq!((w.id, w.attempts), (1, 1));
    let first_block = match w.state {
        WithdrawalState::Completed { block_index } => block_index,
        ref other => panic!("not completed: {other:?}"),
    };
    assert_eq!(p.balance(ada), 2 * REWARD);
    assert_eq!(p.me(shard, ada).unwrap().staked_e8s, REWARD);
    assert_eq!(p.total_supply(), 2 * REWARD);
    let g = p.stats();
    assert_eq!((g.total_minted_e8s, g.pending_mint_e8s), (2 * REWARD, 0));
    let s = p.shard_stats(shard);
    assert_eq!((s.withdrawn_e8s, s.pending_withdrawals_e8s, s.total_staked_e8s), (2 * REWARD, 0, REWARD));

    // The rest, then nothing is left to unstake; someone else has nothing at all.
    let w2 = p.unstake(shard, ada, REWARD).unwrap();
    assert!(matches!(w2.state, WithdrawalState::Pending { .. }));
    p.withdrawal_round();
    let w2 = p.my_withdrawals(shard, ada).remove(0);
    assert!(matches!(w2.state, WithdrawalState::Completed { block_index } if block_index > first_block));
    assert_eq!(p.balance(ada), 3 * REWARD);
    assert!(matches!(p.unstake(shard, ada, 1), Err(UnstakeError::BadAmount { .. })));
    p.assert_refused(shard, learner(2), "unstake", encode_one(1u64).unwrap());
    let listed: Result<Vec<Withdrawal>, ShardError> = p.query(shard, ada, "get_my_withdrawals", (0u64, 100u64));
    assert_eq!(listed.unwrap().iter().map(|w| w.id).collect::<Vec<_>>(), vec![2, 1], "newest first");

    // Only the hub's own shards may ask it to mint.
    let req = MintRequest { withdrawal_id: 99, user: ada, amount_e8s: 1, created_at_ns: 0, origin_shard: None };
    p.assert_refused(p.hub, ada, "mint_withdrawal", encode_one(req).unwrap());
}
