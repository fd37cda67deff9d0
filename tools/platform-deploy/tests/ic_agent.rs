//! Acceptance: DFINITY's Rust agent reaches the platform on `localnet serve` with certificate
//! and query-signature verification on. The platform is installed through the management
//! canister over HTTP (`platform_deploy::deploy`); a learner registers with the hub, takes a
//! quiz on the shard the hub routed them to, and reads the quiz's certified result with
//! `read_state` (`request_status`), then their profile by signed query.
//!
//! Needs the server binary (`cargo build -p localnet-server`; LOCALNET_BIN overrides its
//! path) and the canister Wasm (`bash scripts/build-canisters.sh`).

use std::time::{Duration, Instant};

use candid::{Encode, Principal};
use ic_agent::agent::RequestStatusResponse;
use ic_agent::Agent;
use platform_types::{GlobalStats, QuizOutcome, RegisterError, ShardError, UserView};

mod common;
use common::Server;

async fn register(learner: &Agent, hub: Principal) -> Principal {
    // The hub creates its first shard by itself (timer); registration waits for it, bounded.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = learner.update(&hub, "register").with_arg(Encode!().unwrap()).call_and_wait().await.unwrap();
        match candid::decode_one::<Result<Principal, RegisterError>>(&reply).unwrap() {
            Ok(shard) => return shard,
            Err(RegisterError::NoCapacity { .. } | RegisterError::InProgress) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => panic!("register: {e:?}"),
        }
    }
}

#[tokio::test]
async fn learners_are_still_there_after_a_restart() {
    let server = Server::start();
    let deployer = server.agent(1);
    let d = platform_deploy::deploy(&deployer, &platform_deploy::default_wasm_dir(), None).await.expect("deploy");
    let mut shards = Vec::new();
    for seed in 60..64u8 {
        let learner = server.agent(seed);
        let shard = register(&learner, d.staking_hub).await;
        let unit = &d.units[1];
        let r = learner.update(&shard, "submit_quiz").with_arg(Encode!(&unit.unit_id, &unit.answers).unwrap()).call_and_wait().await.unwrap();
        candid::decode_one::<Result<QuizOutcome, ShardError>>(&r).unwrap().expect("quiz");
        shards.push((seed, shard));
    }
    let dir = server.stop();

    let server = Server::start_in(dir);
    for (seed, shard) in shards {
        let learner = server.agent(seed);
        let me = learner.get_principal().unwrap();
        let r = learner.query(&d.staking_hub, "get_user_shard").with_arg(Encode!(&me).unwrap()).call().await.unwrap();
        assert_eq!(candid::decode_one::<Option<Principal>>(&r).unwrap(), Some(shard));
        let r = learner.query(&shard, "get_my_profile").with_arg(Encode!().unwrap()).call().await.unwrap();
        let view = candid::decode_one::<Result<UserView, ShardError>>(&r).unwrap().expect("still registered");
        assert_eq!(view.completed_units, 1);
        assert!(view.staked_e8s > 0);
        // And they keep learning after the restart.
        let unit = &d.units[0];
        let r = learner.update(&shard, "submit_quiz").with_arg(Encode!(&unit.unit_id, &unit.answers).unwrap()).call_and_wait().await.unwrap();
        assert!(candid::decode_one::<Result<QuizOutcome, ShardError>>(&r).unwrap().expect("quiz after restart").passed);
    }
    let stats = server.agent(1).query(&d.staking_hub, "get_global_stats").with_arg(Encode!().unwrap()).call().await.unwrap();
    assert_eq!(candid::decode_one::<GlobalStats>(&stats).unwrap().users, 4);
}

#[tokio::test]
async fn learner_flow_through_ic_agent() {
    let server = Server::start();
    let deployer = server.agent(1);
    let d = platform_deploy::deploy(&deployer, &platform_deploy::default_wasm_dir(), None).await.expect("deploy");

    // Root alone controls the hub now (certified read_state of its controllers).
    assert_eq!(deployer.read_state_canister_controllers(d.staking_hub).await.unwrap(), vec![d.sns_root]);

    let learner = server.agent(42);
    let me = learner.get_principal().unwrap();
    let shard = register(&learner, d.staking_hub).await;
    let routed = learner.query(&d.staking_hub, "get_user_shard").with_arg(Encode!(&me).unwrap()).call().await.unwrap();
    assert_eq!(candid::decode_one::<Option<Principal>>(&routed).unwrap(), Some(shard));

    // The quiz: submitted without waiting, its outcome read back with read_state.
    let unit = &d.units[0];
    let signed = learner
        .update(&shard, "submit_quiz")
        .with_arg(Encode!(&unit.unit_id, &unit.answers).unwrap())
        .sign()
        .unwrap();
    let request_id = signed.request_id;
    // v4 answers the outcome at once; the test reads it again from the certified state tree.
    learner.update_signed(shard, signed.signed_update).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let reply = loop {
        match learner.request_status_raw(&request_id, shard).await.unwrap().0 {
            RequestStatusResponse::Replied(r) => break r.arg,
            RequestStatusResponse::Rejected(r) => panic!("submit_quiz rejected: {r:?}"),
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("submit_quiz did not complete: {other:?}"),
        }
    };
    let outcome = candid::decode_one::<Result<QuizOutcome, ShardError>>(&reply).unwrap().expect("quiz accepted");
    assert!(outcome.passed);
    assert!(outcome.reward_e8s > 0);

    let profile = learner.query(&shard, "get_my_profile").with_arg(Encode!().unwrap()).call().await.unwrap();
    let view = candid::decode_one::<Result<UserView, ShardError>>(&profile).unwrap().unwrap();
    assert_eq!(view.principal, me);
    assert_eq!(view.staked_e8s, outcome.staked_e8s);
    assert_eq!(view.completed_units, 1);

    // Another principal has no profile on that shard.
    let stranger = server.agent(43);
    let r = stranger.query(&shard, "get_my_profile").with_arg(Encode!().unwrap()).call().await.unwrap();
    assert_eq!(candid::decode_one::<Result<UserView, ShardError>>(&r).unwrap(), Err(ShardError::NotRegistered));

    let stats = deployer.query(&d.staking_hub, "get_global_stats").with_arg(Encode!().unwrap()).call().await.unwrap();
    let stats: GlobalStats = candid::decode_one(&stats).unwrap();
    assert_eq!(stats.users, 1);
}
