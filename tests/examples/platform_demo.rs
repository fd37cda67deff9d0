//! The scripted platform demo on the in-process engine (the main job is `platform up`). learning_content and
//! the admin-less staking_hub are installed; learners register (the hub creates shards by
//! itself as they fill up), fill in profiles, read units, answer quizzes and earn from their
//! shard's allowance, and unstake part of it (the hub mints it on the reward ledger, exactly
//! once). Then control passes to the (local) SNS: a configuration proposal is pushed to every
//! shard, and a hub upgrade proposal ships a new shard release, which the hub rolls out to its
//! shards by itself; every learner's state is still there.

use candid::{CandidType, Deserialize, Principal};
use integration_tests::platform::{learner_of, Platform};
use integration_tests::wasm;
use platform_types::sns::root::SnsRootCanister;
use platform_types::sns::*;
use platform_types::*;

fn learner(n: u32) -> Principal {
    learner_of(3, n)
}

fn unit(id: &str, subject: &str, title: &str, questions: &[(&str, &[&str], u32)]) -> UnitInput {
    UnitInput {
        unit: Unit {
            id: id.into(),
            subject: subject.into(),
            title: title.into(),
            body: format!("{title}: read this, then answer the quiz."),
            questions: questions
                .iter()
                .map(|(q, opts, _)| Question { text: q.to_string(), options: opts.iter().map(|o| o.to_string()).collect() })
                .collect(),
        },
        answer_key: questions.iter().map(|(_, _, a)| *a).collect(),
    }
}

#[derive(CandidType)]
struct HttpRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: serde_bytes::ByteBuf,
    certificate_version: Option<u16>,
}

#[derive(Deserialize, CandidType)]
struct HttpResponse {
    status_code: u16,
    headers: Vec<(String, String)>,
    body: serde_bytes::ByteBuf,
}

fn units() -> Vec<UnitInput> {
    vec![
        unit("ic-1", "internet-computer", "Canisters", &[
            ("What runs a canister's code?", &["WebAssembly", "JVM", "Python"], 0),
            ("Who pays for computation?", &["The user", "The canister, in cycles", "Nobody"], 1),
        ]),
        unit("ic-2", "internet-computer", "Stable memory", &[
            ("What survives an upgrade?", &["The heap", "Stable memory", "Nothing"], 1),
        ]),
        unit("gov-1", "governance", "SNS proposals", &[
            ("Who decides on an SNS upgrade?", &["The deployer", "Neuron holders", "A controller key"], 1),
        ]),
    ]
}

fn tokens(e8s: u64) -> String {
    format!("{}.{:02}", e8s / E8S, (e8s % E8S) / 1_000_000)
}

fn main() {
    let overrides = ConfigOverrides {
        shard_soft_limit: Some(4),
        shard_hard_limit: Some(5),
        allowance_chunk_e8s: Some(1_000 * E8S),
        ..Default::default()
    };
    // hub, learning_content and the reward ledger first, then the SNS's governance and root.
    let canisters = Platform::builder()
        .units(units())
        .pass_mark_percent(60)
        .token_name("LearnStake Reward")
        .config(overrides)
        .create();
    let (hub, content) = (canisters.hub, canisters.content);
    let governance = canisters.net.create_canister();
    let root = canisters.net.create_canister();
    let neuron_owner = Principal::self_authenticating(b"demo-neuron-owner");
    let init = GovernanceInitArgs {
        root_canister_id: root,
        ledger_canister_id: None,
        swap_canister_id: None,
        neurons: vec![InitialNeuron { id: vec![1; 32], controller: neuron_owner, voting_power: 100, stake_e8s: None, dissolve_delay_seconds: None }],
        initial_voting_period_seconds: 4 * 86_400,
        reject_cost_e8s: None,
        neuron_minimum_dissolve_delay_to_vote_seconds: None,
        wait_for_quiet_deadline_increase_seconds: None,
    };
    canisters.net.install_canister(governance, wasm("sns_governance"), candid::encode_one(init).unwrap(), None);
    let init = SnsRootCanister { governance_canister_id: Some(governance), dapp_canister_ids: vec![hub, content], ..Default::default() };
    canisters.net.install_canister(root, wasm("sns_root"), candid::encode_one(init).unwrap(), None);
    let p = canisters.governance(governance).install();
    let (net, ledger) = (&p.net, p.ledger);

    let (hash,): (String,) = net.query_candid(hub, "get_shard_wasm_hash", ()).unwrap();
    println!("learning_content {content}\nstaking_hub      {hub} (admin-less; embedded shard Wasm sha256 {hash})");
    println!("reward ledger    {ledger} (ICRC-1/2/3; minting account: the hub)");
    println!("shard limits for the demo: soft 4, hard 5 users (defaults: 90,000 / 100,000)\n");

    let (subjects,): (Vec<String>,) = net.query_candid(content, "list_subjects", ()).unwrap();
    let (page,): (UnitPage,) = net.query_candid(content, "list_units", ("internet-computer", 0u64, 10u64)).unwrap();
    println!("subjects {subjects:?}; {} units in internet-computer", page.total);
    let req = HttpRequest {
        method: "GET".into(),
        url: "/units/ic-1".into(),
        headers: vec![],
        body: Default::default(),
        certificate_version: None,
    };
    let (resp,): (HttpResponse,) = net.query_candid(content, "http_request", (req,)).unwrap();
    let header = |n: &str| resp.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.clone()).unwrap_or_default();
    println!(
        "GET /units/ic-1 -> {} ({} bytes JSON, Cache-Control: {}, ETag: {})\n",
        resp.status_code,
        resp.body.len(),
        header("cache-control"),
        header("etag")
    );

    let answers: [(&str, Vec<u32>); 3] = [("ic-1", vec![0, 1]), ("ic-2", vec![1]), ("gov-1", vec![1])];
    let mut shards = Vec::new();
    net.take_execution_log();
    for n in 0..12u32 {
        let who = learner(n);
        let shard = p.register(who).expect("register");
        if !shards.contains(&shard) {
            shards.push(shard);
            println!("learner {n:>2} registered -> new shard {shard} (created by the hub)");
        }
        let profile = ProfileInput {
            email: format!("learner{n}@example.org"),
            name: format!("Learner {n}"),
            education: "Self-taught".into(),
            gender: Gender::PreferNotToSay,
        };
        p.update_profile(shard, who, profile).expect("profile");
        // Everyone passes ic-1; every other learner misses ic-2 once first.
        for (unit, good) in &answers[..1 + (n as usize % 3)] {
            if n % 2 == 1 && *unit == "ic-2" {
                assert!(!p.submit_quiz(shard, who, unit, vec![0]).unwrap().passed);
            }
            assert!(p.submit_quiz(shard, who, unit, good.clone()).expect("submit").passed);
        }
    }
    let log = net.take_execution_log();
    let avg = |entry: &str| {
        let v: Vec<u64> = log.iter().filter(|r| r.entry == entry).map(|r| r.instructions).collect();
        (v.len(), v.iter().sum::<u64>() / v.len().max(1) as u64)
    };
    println!("\ninstructions per message (average over the run):");
    for entry in ["update register", "update update_profile", "update submit_quiz", "query verify_quiz", "update request_allowance"] {
        let (n, a) = avg(entry);
        println!("  {entry:<26} {a:>10}  ({n} executions)");
    }

    // Let the shards' sync timers report their totals.
    net.advance_time(std::time::Duration::from_secs(600));
    net.run_until_idle(500);
    let g = p.stats();
    println!("\nglobal stats: {} users, {} shards, {} quizzes passed", g.users, g.shards.len(), g.quizzes_passed);
    println!(
        "  staked {} tokens, granted {} tokens, cap remaining {} tokens",
        tokens(g.total_staked_e8s),
        tokens(g.total_granted_e8s),
        tokens(g.cap_remaining_e8s)
    );
    for s in &g.shards {
        let st = p.shard_stats(s.id);
        println!(
            "  shard {} {:?}: {} users, staked {} tokens, allowance left {} of {} received",
            s.id,
            s.status,
            s.user_count,
            tokens(st.total_staked_e8s),
            tokens(st.allowance_remaining_e8s),
            tokens(st.allowance_received_e8s)
        );
    }

    // Every third learner unstakes half of their balance: the hub mints it on the ledger.
    println!("\nunstaking (the hub mints on the reward ledger; memo = shard index + withdrawal id):");
    let unstakers: Vec<u32> = (0..12u32).step_by(3).collect();
    for &n in &unstakers {
        let who = learner(n);
        let shard = p.user_shard(who).unwrap();
        let half = p.profile(shard, who).unwrap().staked_e8s / 2;
        let w = p.unstake(shard, who, half).expect("unstake");
        println!("  learner {n:>2}: withdrawal #{} of {} tokens -> {:?}", w.id, tokens(w.amount_e8s), w.state);
        assert!(matches!(w.state, WithdrawalState::Pending { .. }), "queued for the shard's next withdrawal round");
    }
    println!("  ... the shards' withdrawal round (at most two 30 s batch windows after the first) sends them to the hub together:");
    p.wait(2 * platform_types::DEFAULT_WITHDRAWAL_BATCH_SECS);
    for &n in &unstakers {
        let who = learner(n);
        let shard = p.user_shard(who).unwrap();
        let w = p.withdrawals(shard, who).remove(0);
        let balance = p.balance(who);
        println!("  learner {n:>2}: withdrawal #{} -> {:?}; ledger balance {balance} e8s", w.id, w.state);
        assert!(matches!(w.state, WithdrawalState::Completed { .. }));
    }
    let supply = p.total_supply();
    let g = p.stats();
    println!("  hub total minted {} tokens = ledger total supply {supply} e8s", tokens(g.total_minted_e8s));
    assert_eq!(supply, g.total_minted_e8s);

    println!("\nhanding control to the SNS: root becomes the only controller of the hub and learning_content");
    for c in [hub, content] {
        net.set_controllers(c, None, vec![root]).unwrap();
    }
    let propose = |title: &str, action: Action| -> u64 {
        let p = Proposal { title: title.into(), summary: title.into(), url: "https://example.org".into(), action: Some(action) };
        let (r,): (ManageNeuronResponse,) = net
            .update_candid_as(governance, neuron_owner, "manage_neuron", (ManageNeuron::make_proposal(&NeuronId { id: vec![1; 32] }, p),))
            .unwrap();
        let id = r.proposal_id().expect("proposal").id;
        net.run_until_idle(100_000);
        let (r,): (GetProposalResponse,) =
            net.query_candid(governance, "get_proposal", (GetProposal { proposal_id: Some(ProposalId { id }) },)).unwrap();
        let Some(GetProposalResult::Proposal(data)) = r.result else { panic!("proposal {id}") };
        assert_eq!(data.status(), ProposalDecisionStatus::Executed, "{title}: {:?}", data.failure_reason);
        println!("  proposal {id} executed: {title}");
        // What the custom function's validator rendered for voters.
        let rendering = data.payload_text_rendering.unwrap_or_default();
        if let Some((_, payload)) = rendering.split_once("## Payload:") {
            for line in payload.trim().lines() {
                println!("      | {line}");
            }
        }
        id
    };
    for (fid, method, topic) in [(1001u64, "update_config", Topic::ApplicationBusinessLogic), (1005, "control_shard_rollout", Topic::DappCanisterManagement)] {
        let function = NervousSystemFunction {
            id: fid,
            name: method.into(),
            description: Some(format!("staking_hub {method}")),
            function_type: Some(FunctionType::GenericNervousSystemFunction(GenericNervousSystemFunction {
                target_canister_id: Some(hub),
                target_method_name: Some(method.into()),
                validator_canister_id: Some(hub),
                validator_method_name: Some(format!("{method}_validate")),
                topic: Some(topic),
            })),
        };
        propose(&format!("Register custom function {fid} ({method})"), Action::AddGenericNervousSystemFunction(function));
    }
    let change = ConfigOverrides { daily_attempt_limit: Some(8), ..Default::default() };
    propose(
        "Allow 8 quiz attempts a day",
        Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction { function_id: 1001, payload: candid::encode_one(change).unwrap() }),
    );
    net.advance_time(std::time::Duration::from_secs(60));
    net.run_until_idle(100_000);
    let (cs,): (ConfigStatus,) = net.query_candid(hub, "get_config_status", ()).unwrap();
    println!(
        "  config version {} (daily limit {}): {} shard(s) behind, learning_content at version {}",
        cs.version,
        cs.config.daily_attempt_limit,
        cs.shards_behind.len(),
        cs.content_version
    );
    assert!(cs.shards_behind.is_empty());

    let before: Vec<UserView> = (0..12)
        .map(|n| {
            p.profile(p.user_shard(learner(n)).unwrap(), learner(n)).unwrap()
        })
        .collect();
    let upgrade = |canister: Principal, wasm_module: Vec<u8>| {
        Action::UpgradeSnsControlledCanister(UpgradeSnsControlledCanister {
            new_canister_wasm: wasm_module,
            chunked_canister_wasm: None,
            mode: None,
            canister_id: Some(canister),
            canister_upgrade_arg: None,
        })
    };
    propose("Upgrade learning_content", upgrade(content, wasm("learning_content")));
    let new_hub = wasm("staking_hub_rollout");
    propose(&format!("Upgrade staking_hub ({} bytes gzipped, embeds a new shard release)", new_hub.len()), upgrade(hub, new_hub));
    // The new hub rolls its shard release out only once a Start proposal approved it.
    propose(
        "Roll the hub's new shard release out, 1 shard per tick",
        Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction {
            function_id: 1005,
            payload: candid::encode_one(RolloutCommand::Start { batch_size: 1 }).unwrap(),
        }),
    );
    loop {
        let (r,): (RolloutStatus,) = net.query_candid(hub, "get_rollout_status", ()).unwrap();
        println!(
            "  rollout of shard Wasm {}..: {} of {} shards upgraded ({:?}, batch {})",
            &r.target_hash[..12],
            r.shards_on_target,
            r.shards_total,
            r.state,
            r.batch_size
        );
        if r.shards_on_target == r.shards_total {
            break;
        }
        net.advance_time(std::time::Duration::from_secs(60));
        net.run_until_idle(100_000);
    }
    for (n, old) in before.iter().enumerate() {
        let now = p.profile(p.user_shard(learner(n as u32)).unwrap(), learner(n as u32));
        assert_eq!(&now.unwrap(), old, "learner {n} after the upgrades");
    }
    println!("all 12 learners' profiles, balances and progress are intact after the upgrades");
    println!("\nplatform demo passed ({} rounds on localnet)", net.round());
}
