//! Sustained throughput on several subnets (issue 14 §3 "Many subnets"): a localnet of 1, 4 or
//! 13 application subnets under the IC's round limits (`localnet::RoundLimits::IC`: 8B
//! instructions and 1,000 ingress messages per subnet and round), the platform on subnet 0, the
//! local CMC at DFINITY's CMC id, and the hub's `shard_subnets` naming every subnet, so it places
//! one shard on each. Every learner then submits one quiz at once; the rounds each subnet needs
//! for its share give its updates per round, and at the IC's block rate the updates per second.

use crate::env::{args, answers, decode, learner, unit_id, Env, Verdict};
use crate::report::thousands;
use candid::Principal;
use localnet::{LocalNet, RoundLimits, SubnetStats};
use platform_types::cmc::{CyclesCanisterInitPayload, MAINNET_CYCLES_MINTING_CANISTER_ID};
use platform_types::*;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Rounds (blocks) per second on the IC: reference ic-execution.md §6 gives 0.75-1.5 blocks/s
/// and "roughly 1-2 s finality"; one round per block, one block per second.
pub const BLOCKS_PER_SECOND: f64 = 1.0;
/// Learners per shard, one shard per subnet; each submits one measured quiz.
pub const LEARNERS_PER_SHARD: u64 = 2_000;
const FUNDING: u128 = 1_000_000_000_000_000;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Throughput {
    pub blocks_per_second: f64,
    pub round_instruction_budget: u64,
    pub ingress_messages_per_round: u64,
    pub learners_per_shard: u64,
    pub runs: Vec<ThroughputRun>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ThroughputRun {
    pub subnets: usize,
    pub shards: usize,
    /// Quiz submissions in the measured batch (all submitted before the rounds ran).
    pub submissions: u64,
    /// Rounds the network ran until every submission was answered.
    pub network_rounds: u64,
    /// Submissions per second over the whole platform: submissions / network rounds x block rate.
    pub platform_updates_per_second: f64,
    pub per_subnet: Vec<SubnetThroughput>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SubnetThroughput {
    pub subnet: usize,
    /// Submissions to shards on this subnet.
    pub submissions: u64,
    /// Rounds in which the subnet executed something during the batch.
    pub busy_rounds: u64,
    pub messages: u64,
    pub instructions: u64,
    pub max_round_instructions: u64,
    /// Messages that waited for a later round (over a round limit).
    pub deferred: u64,
    /// Submissions per busy round, x block rate.
    pub updates_per_second: f64,
    /// What the instruction budget alone would allow: budget / instructions per message, x block
    /// rate (the headroom above the ingress limit).
    pub instruction_bound_updates_per_second: f64,
    /// What held the subnet back: "ingress" (1,000 a round), "instructions" or "none".
    pub bound_by: String,
}

/// Learners 1..=count.
fn learners(count: u64) -> impl Iterator<Item = Principal> + Clone {
    (1..=count).map(learner)
}

fn quiz(unit: usize) -> Vec<u8> {
    args((unit_id(unit), answers(unit)))
}

fn passed(bytes: &[u8]) -> Verdict {
    match decode::<Result<QuizOutcome, ShardError>>(bytes) {
        Ok(o) if o.passed => Verdict::Done,
        Err(e @ ShardError::RewardsUnavailable { .. }) => Verdict::Retry(format!("{e:?}")),
        other => Verdict::Failed(format!("not a pass: {other:?}")),
    }
}

/// One run on `subnets` subnets.
pub fn run(subnets: usize) -> ThroughputRun {
    let net = LocalNet::builder().with_subnets(subnets).with_round_limits(RoundLimits::IC).build();
    let ids = net.subnet_ids();
    let config = ConfigOverrides {
        shard_soft_limit: Some(LEARNERS_PER_SHARD),
        shard_hard_limit: Some(LEARNERS_PER_SHARD),
        shard_subnets: Some(ids.clone()),
        reward_per_quiz_e8s: Some(E8S),
        daily_emission_budget_e8s: Some(MAX_DAILY_EMISSION_BUDGET_E8S),
        daily_attempt_limit: Some(100),
        ..Default::default()
    };
    let env = Env::deploy_on(net, config);
    let cmc = env.net.create_canister_with_id(None, None, MAINNET_CYCLES_MINTING_CANISTER_ID).expect("the CMC's id is free");
    env.net.add_cycles(cmc, FUNDING);
    let init = Some(CyclesCanisterInitPayload { ledger_canister_id: Some(Principal::from_slice(&[7; 29])), ..Default::default() });
    env.net.install_canister(cmc, crate::env::wasm("cmc"), candid::encode_one(init).unwrap(), None);
    env.net.allow_subnet_addressing(cmc);

    let total = LEARNERS_PER_SHARD * subnets as u64;
    eprintln!("bench: {subnets} subnet(s): registering {total} learners through the hub");
    env.bulk(learners(total).map(|l| (env.hub, l, "register".to_string(), args((None::<RegistrationProof>,)))), |b| {
        match decode::<Result<Principal, RegisterError>>(b) {
            Ok(_) => Verdict::Done,
            // Submitted while the next shard was being created: again, after the batch.
            Err(e @ RegisterError::NoCapacity { .. }) => Verdict::Retry(format!("{e:?}")),
            Err(e) => Verdict::Failed(format!("{e:?}")),
        }
    });
    let shards: Vec<Principal> = decode::<Vec<ShardInfo>>(&env.query(env.hub, Principal::anonymous(), "list_shards", args(())).0)
        .into_iter()
        .map(|s| s.id)
        .collect();
    let subnet_of = |c: Principal| ids.iter().position(|s| Some(*s) == env.net.subnet_of(c)).expect("a known subnet");
    let mut placed: Vec<usize> = shards.iter().map(|s| subnet_of(*s)).collect();
    placed.sort_unstable();
    assert_eq!(placed, (0..subnets).collect::<Vec<_>>(), "one shard per subnet");
    for s in &shards {
        env.fund(*s);
    }
    let home = |l: Principal| -> Principal {
        decode::<Option<Principal>>(&env.query(env.hub, Principal::anonymous(), "get_user_shard", args((l,))).0).expect("registered")
    };
    let homes: Vec<(Principal, Principal)> = learners(total).map(|l| (l, home(l))).collect();

    // A first pass each: the shards fetch their allowance, nothing measured.
    eprintln!("bench: {subnets} subnet(s): warm-up quiz of every learner");
    env.bulk(homes.iter().map(|(l, s)| (*s, *l, "submit_quiz".to_string(), quiz(0))), passed);
    env.net.run_until_idle(1_000);

    eprintln!("bench: {subnets} subnet(s): {total} quiz submissions at once");
    env.net.reset_subnet_stats();
    let submitted: Vec<_> = homes
        .iter()
        .map(|(l, s)| (*s, env.net.submit_call(*s, *l, "submit_quiz", quiz(1)).unwrap_or_else(|e| panic!("submit_quiz: {e}"))))
        .collect();
    let network_rounds = env.net.run_until_idle(1_000_000);
    let stats: Vec<SubnetStats> = env.net.subnet_stats();
    let mut per_subnet_submissions = vec![0u64; subnets];
    for (shard, id) in &submitted {
        let reply = env.net.ingress_status(*id).expect("answered").unwrap_or_else(|e| panic!("submit_quiz: {e}"));
        match passed(&reply) {
            Verdict::Done => {}
            Verdict::Retry(why) | Verdict::Failed(why) => panic!("a measured submission did not pass: {why}"),
        }
        per_subnet_submissions[subnet_of(*shard)] += 1;
    }
    let limits = env.net.round_limits();
    let per_subnet = stats
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let submissions = per_subnet_submissions[i];
            let bound_by = if s.deferred == 0 {
                "none"
            } else if s.max_round_instructions >= limits.instructions_per_round {
                "instructions"
            } else {
                "ingress"
            };
            SubnetThroughput {
                subnet: i,
                submissions,
                busy_rounds: s.busy_rounds,
                messages: s.messages,
                instructions: s.instructions,
                max_round_instructions: s.max_round_instructions,
                deferred: s.deferred,
                updates_per_second: if s.busy_rounds == 0 { 0.0 } else { submissions as f64 / s.busy_rounds as f64 * BLOCKS_PER_SECOND },
                instruction_bound_updates_per_second: if s.instructions == 0 {
                    0.0
                } else {
                    limits.instructions_per_round as f64 / (s.instructions as f64 / s.messages as f64) * BLOCKS_PER_SECOND
                },
                bound_by: bound_by.into(),
            }
        })
        .collect();
    ThroughputRun {
        subnets,
        shards: shards.len(),
        submissions: total,
        network_rounds,
        platform_updates_per_second: total as f64 / network_rounds.max(1) as f64 * BLOCKS_PER_SECOND,
        per_subnet,
    }
}

pub fn measure(subnet_counts: &[usize]) -> Throughput {
    Throughput {
        blocks_per_second: BLOCKS_PER_SECOND,
        round_instruction_budget: RoundLimits::IC.instructions_per_round,
        ingress_messages_per_round: RoundLimits::IC.ingress_messages_per_round,
        learners_per_shard: LEARNERS_PER_SHARD,
        runs: subnet_counts.iter().map(|&n| run(n)).collect(),
    }
}

pub fn markdown(w: &mut String, t: &Throughput) {
    writeln!(w).unwrap();
    writeln!(w, "## Sustained updates per second on several subnets").unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "One shard per subnet ({} learners each; the hub, learning_content and the ledger on subnet 0), every learner \
         submits one quiz at once. Each subnet runs at most {} instructions and {} ingress messages a round \
         (localnet `RoundLimits::IC`); {} round(s) per second (the IC's block rate, docs/performance.md).",
        thousands(t.learners_per_shard),
        thousands(t.round_instruction_budget),
        thousands(t.ingress_messages_per_round),
        t.blocks_per_second
    )
    .unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "| subnets | submissions | network rounds | platform updates/s | per subnet: updates/s (busy rounds, max instructions in a round, bound by, instruction-bound updates/s) |"
    )
    .unwrap();
    writeln!(w, "|---:|---:|---:|---:|---|").unwrap();
    for r in &t.runs {
        let subnets: Vec<String> = r
            .per_subnet
            .iter()
            .map(|s| {
                format!(
                    "#{}: {:.0} ({}, {}, {}, {:.0})",
                    s.subnet,
                    s.updates_per_second,
                    s.busy_rounds,
                    thousands(s.max_round_instructions),
                    s.bound_by,
                    s.instruction_bound_updates_per_second
                )
            })
            .collect();
        writeln!(
            w,
            "| {} | {} | {} | {:.0} | {} |",
            r.subnets,
            thousands(r.submissions),
            r.network_rounds,
            r.platform_updates_per_second,
            subnets.join("; ")
        )
        .unwrap();
    }
}
