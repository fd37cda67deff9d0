//! sns/sns_init.yaml passes every check, and broken variants of a small inline
//! configuration are rejected.

use sns_config_check::humanize::{E8, ONE_DAY_SECONDS, ONE_YEAR_SECONDS};
use sns_config_check::{check_yaml, config, sns_dir, validate};

fn real_yaml() -> String {
    std::fs::read_to_string(sns_dir().join("sns_init.yaml")).expect("read sns/sns_init.yaml")
}

#[test]
fn the_real_configuration_is_valid() {
    let cfg = check_yaml(&real_yaml(), &sns_dir())
        .unwrap_or_else(|defects| panic!("sns/sns_init.yaml has defects:\n  - {}", defects.join("\n  - ")));
    assert_eq!(cfg.name, "LearnStake");
    // The summary is markdown: its paragraphs are separated by a blank line.
    assert_eq!(
        cfg.nns_proposal.summary.matches("\n\n").count(),
        2,
        "{:?}",
        cfg.nns_proposal.summary
    );
    assert!(cfg.nns_proposal.summary.contains("\n\nIf adopted"));
    assert_eq!(
        (cfg.token.name.as_str(), cfg.token.symbol.as_str()),
        ("LearnStake", "LSTAKE")
    );
}

#[test]
fn the_real_distribution_adds_up() {
    let cfg = config::parse(&real_yaml()).unwrap();
    let d = &cfg.distribution;
    let neurons: u64 = d.neurons.iter().map(|n| n.stake.e8s).sum();
    assert_eq!(d.total.e8s, 1_000_000_000 * E8);
    assert_eq!(d.initial_balances.treasury.e8s, 450_000_000 * E8);
    assert_eq!(d.initial_balances.swap.e8s, 350_000_000 * E8);
    assert_eq!(neurons, 200_000_000 * E8);
    assert_eq!(
        d.initial_balances.treasury.e8s + d.initial_balances.swap.e8s + neurons,
        d.total.e8s
    );
    assert_eq!(d.neurons.len(), 15);
}

#[test]
fn the_real_values_parse_to_the_intended_numbers() {
    let cfg = config::parse(&real_yaml()).unwrap();
    assert_eq!(cfg.token.transaction_fee.e8s, 10_000);
    assert_eq!(cfg.proposals.rejection_fee.e8s, 5_000 * E8);
    assert_eq!(cfg.proposals.initial_voting_period.seconds, 4 * ONE_DAY_SECONDS);
    assert_eq!(
        cfg.proposals.maximum_wait_for_quiet_deadline_extension.seconds,
        ONE_DAY_SECONDS
    );
    assert_eq!(cfg.neurons.minimum_creation_stake.e8s, 10 * E8);
    let v = &cfg.voting;
    assert_eq!(v.minimum_dissolve_delay.seconds, 2_630_016); // 1 month = 30.44 days
    assert_eq!(
        v.maximum_voting_power_bonuses.dissolve_delay.duration.seconds,
        4 * ONE_YEAR_SECONDS
    );
    assert_eq!(v.maximum_voting_power_bonuses.dissolve_delay.bonus.basis_points, 10_000);
    assert_eq!(
        v.maximum_voting_power_bonuses.age.duration.seconds,
        2 * ONE_YEAR_SECONDS
    );
    assert_eq!(v.maximum_voting_power_bonuses.age.bonus.basis_points, 2_500);
    assert_eq!(
        (v.reward_rate.initial.basis_points, v.reward_rate.final_.basis_points),
        (500, 250)
    );
    assert_eq!(v.reward_rate.transition_duration.seconds, 12 * ONE_YEAR_SECONDS);
    let s = &cfg.swap;
    assert_eq!(s.minimum_participants, 100);
    assert_eq!(s.minimum_direct_participation_icp.unwrap().e8s, 50_000 * E8);
    assert_eq!(s.maximum_direct_participation_icp.unwrap().e8s, 500_000 * E8);
    assert_eq!(
        (s.minimum_participant_icp.e8s, s.maximum_participant_icp.e8s),
        (E8, 50_000 * E8)
    );
    assert_eq!(
        (s.vesting_schedule.events, s.vesting_schedule.interval.seconds),
        (5, 3 * 2_630_016)
    );
    assert_eq!(s.start_time.unwrap().seconds_after_utc_midnight, 12 * 3600);
    assert_eq!(s.duration.seconds, 7 * ONE_DAY_SECONDS);
    assert_eq!(s.neurons_fund_participation, Some(true));
    assert_eq!(
        s.restricted_countries.as_deref().unwrap(),
        ["US", "CU", "IR", "KP", "SY"]
    );
    assert!(s.minimum_icp.is_none() && s.maximum_icp.is_none() && s.neurons_fund_investment_icp.is_none());
}

#[test]
fn the_initial_neurons_cannot_outvote_the_swap_participants() {
    let cfg = config::parse(&real_yaml()).unwrap();
    let (developers, swap) = validate::genesis_voting_power(&cfg);
    let share = developers as f64 / (developers + swap) as f64;
    assert!(
        (0.40..0.45).contains(&share),
        "initial neurons' share of voting power at genesis: {share:.3}"
    );
}

#[test]
fn the_real_principals_are_valid_and_the_dapp_canisters_are_the_four_sns_controlled_ones() {
    let cfg = config::parse(&real_yaml()).unwrap();
    for p in cfg
        .fallback_controller_principals
        .iter()
        .chain(cfg.distribution.neurons.iter().map(|n| &n.principal))
    {
        let principal = validate::parse_principal(p).unwrap();
        assert_eq!(
            principal.as_slice().last(),
            Some(&0x02),
            "{p}: a self-authenticating (user) principal"
        );
    }
    // staking_hub, learning_content, reward-token ledger, the web app's asset canister; never
    // the user_profile shards.
    assert_eq!(cfg.dapp_canisters.len(), 4);
    let text = real_yaml();
    for name in ["staking_hub", "learning_content", "reward-token ICRC-1 ledger", "frontend_assets"] {
        assert!(
            text.contains(&format!("# PLACEHOLDER: {name}")),
            "dapp canister comment for {name}"
        );
    }
    assert!(!cfg.dapp_canisters.iter().any(|c| c.contains("user_profile")));
}

#[test]
fn the_logo_is_a_small_png() {
    let bytes = std::fs::read(sns_dir().join("logo.png")).unwrap();
    assert!(bytes.starts_with(validate::PNG_MAGIC));
    assert!(bytes.len() < 341_334);
    // 256 x 256, from the IHDR chunk.
    assert_eq!(&bytes[12..16], b"IHDR");
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 256);
    assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 256);
}

// ---------------------------------------------------------------- negative tests

/// A small configuration that passes every check; the tests below break it.
const BASE: &str = r#"
name: Example
description: An example SNS used by the negative tests.
logo: logo.png
url: https://example.org
NnsProposal:
    title: "Proposal to create an SNS named Example"
    url: "https://forum.dfinity.org/t/example/1"
    summary: "A short but sufficient summary."
fallback_controller_principals:
    - tf2ws-zlper-lcf4q-kuesn-wnh3v-n7qvw-6mv5c-hmgud-ck2zl-fl6y5-7ae
dapp_canisters:
    - pvm5g-xaaaa-aaaar-qaaia-cai
Token:
    name: Example token
    symbol: EXM
    transaction_fee: 10_000 e8s
    logo: logo.png
Proposals:
    rejection_fee: 1 token
    initial_voting_period: 4d
    maximum_wait_for_quiet_deadline_extension: 1 day
Neurons:
    minimum_creation_stake: 1 token
Voting:
    minimum_dissolve_delay: 26 weeks
    MaximumVotingPowerBonuses:
        DissolveDelay:
            duration: 8 years
            bonus: 100%
        Age:
            duration: 4 years
            bonus: 25%
    RewardRate:
        initial: 10%
        final: 2.25%
        transition_duration: 12 years
Distribution:
    Neurons:
        - principal: tf2ws-zlper-lcf4q-kuesn-wnh3v-n7qvw-6mv5c-hmgud-ck2zl-fl6y5-7ae
          stake: 15 tokens
          memo: 42
          dissolve_delay: 1 year
          vesting_period: 1 year 1 second
        - principal: ft6vl-6jmwa-kqfg4-wtpgi-sryly-wuabg-dcsfv-inbtb-zo7qq-5a22i-vae
          stake: 14.9 tokens
          dissolve_delay: 52 weeks
          vesting_period: 53 weeks
    InitialBalances:
        treasury: 60_000 tokens
        swap: 40_000 tokens
    total: 100_029.9 tokens
Swap:
    minimum_participants: 50
    minimum_direct_participation_icp: 113 tokens
    maximum_direct_participation_icp: 64990 tokens
    minimum_participant_icp: 650 tokens
    maximum_participant_icp: 6500 tokens
    confirmation_text: Hello, world?
    restricted_countries:
        - US
        - CH
    VestingSchedule:
        events: 3
        interval: 13 weeks
    start_time: 12:00 UTC
    duration: 7 days
    neurons_fund_participation: true
"#;

/// BASE with `from` replaced by `to`; `from` must occur exactly once.
fn with(from: &str, to: &str) -> String {
    assert_eq!(BASE.matches(from).count(), 1, "{from:?} must occur once in BASE");
    BASE.replacen(from, to, 1)
}

fn defects(yaml: &str) -> Vec<String> {
    match check_yaml(yaml, &sns_dir()) {
        Ok(_) => vec![],
        Err(d) => d,
    }
}

/// The yaml is rejected, with a defect containing `needle`.
#[track_caller]
fn assert_rejected(yaml: &str, needle: &str) {
    assert!(
        !defects(BASE).iter().any(|m| m.contains(needle)),
        "BASE itself has a defect containing {needle:?}"
    );
    let d = defects(yaml);
    assert!(
        d.iter().any(|m| m.contains(needle)),
        "expected a defect containing {needle:?}, got {d:#?}"
    );
}

#[test]
fn the_base_example_is_valid() {
    assert_eq!(defects(BASE), Vec::<String>::new());
}

#[test]
fn unknown_keys_are_rejected_at_every_level() {
    assert_rejected(
        &with("url: https://example.org\n", "url: https://example.org\nwebsite: x\n"),
        "unknown field `website`",
    );
    assert_rejected(
        &with("    symbol: EXM\n", "    symbol: EXM\n    decimals: 8\n"),
        "unknown field `decimals`",
    );
    assert_rejected(
        &with(
            "    duration: 7 days\n",
            "    duration: 7 days\n    end_time: 13:00 UTC\n",
        ),
        "unknown field `end_time`",
    );
    assert_rejected(
        &with("          memo: 42\n", "          memo: 42\n          age: 1 year\n"),
        "unknown field `age`",
    );
    assert_rejected(&with("        Age:\n", "        age:\n"), "unknown field `age`");
    // The keys of an older or foreign format are unknown too.
    assert_rejected(
        &with(
            "    minimum_dissolve_delay: 26 weeks\n",
            "    MaximumDissolveDelayBonus: 100\n",
        ),
        "unknown field",
    );
    // The key of the format before dfinity/ic PR 1755: the current CLI refuses it.
    assert_rejected(
        &with("        treasury: 60_000 tokens\n", "        governance: 60_000 tokens\n"),
        "unknown field `governance`",
    );
    // NnsProposal: stricter than the CLI, which accepts unknown keys there.
    assert_rejected(
        &with("    summary: \"A short", "    motion: x\n    summary: \"A short"),
        "unknown field `motion`",
    );
}

#[test]
fn missing_required_keys_are_rejected() {
    assert_rejected(
        &with("    transaction_fee: 10_000 e8s\n", ""),
        "missing field `transaction_fee`",
    );
    assert_rejected(&with("    total: 100_029.9 tokens\n", ""), "missing field `total`");
}

#[test]
fn values_in_the_wrong_format_are_rejected() {
    assert_rejected(
        &with("transaction_fee: 10_000 e8s", "transaction_fee: 10000"),
        "Invalid tokens",
    );
    assert_rejected(
        &with("rejection_fee: 1 token", "rejection_fee: 1 ICP"),
        "Invalid tokens",
    );
    assert_rejected(
        &with("total: 100_029.9 tokens", "total: 100_029.912345678 tokens"),
        "Too many digits",
    );
    assert_rejected(
        &with("initial_voting_period: 4d", "initial_voting_period: 345600"),
        "parse error",
    );
    assert_rejected(&with("bonus: 25%", "bonus: 25"), "percent sign");
    assert_rejected(&with("start_time: 12:00 UTC", "start_time: 12:00 CET"), "hh:mm UTC");
}

#[test]
fn a_wrong_total_is_rejected() {
    assert_rejected(
        &with("total: 100_029.9 tokens", "total: 100_030 tokens"),
        "Distribution.total is 10003000000000 e8s",
    );
    assert_rejected(
        &with("total: 100_029.9 tokens", "total: 100_029.89999999 tokens"),
        "Distribution.total",
    );
    assert_rejected(
        &with("treasury: 60_000 tokens", "treasury: 60_001 tokens"),
        "Distribution.total",
    );
    // Sanity: the right checksum in another notation is accepted.
    assert_eq!(
        defects(&with("total: 100_029.9 tokens", "total: 10_002_990_000_000 e8s")),
        Vec::<String>::new()
    );
}

#[test]
fn distribution_rules() {
    // No neuron at all.
    let no_neurons = {
        let start = BASE.find("    Neurons:\n        - principal").unwrap();
        let end = BASE.find("    InitialBalances:").unwrap();
        format!("{}    Neurons: []\n{}", &BASE[..start], &BASE[end..])
            .replace("total: 100_029.9 tokens", "total: 100_000 tokens")
    };
    assert_rejected(&no_neurons, "at least one neuron");
    // No neuron can vote.
    let short = with("dissolve_delay: 1 year\n", "dissolve_delay: 1 week\n")
        .replace("dissolve_delay: 52 weeks", "dissolve_delay: 25 weeks");
    assert_rejected(&short, "voting-eligible");
    // Beyond the maximum dissolve delay.
    assert_rejected(
        &with("dissolve_delay: 1 year\n", "dissolve_delay: 9 years\n"),
        "exceeds the maximum dissolve delay",
    );
    // Same principal and memo twice.
    let dup = with(
        "          stake: 14.9 tokens\n",
        "          stake: 14.9 tokens\n          memo: 42\n",
    )
    .replace(
        "- principal: ft6vl-6jmwa-kqfg4-wtpgi-sryly-wuabg-dcsfv-inbtb-zo7qq-5a22i-vae",
        "- principal: tf2ws-zlper-lcf4q-kuesn-wnh3v-n7qvw-6mv5c-hmgud-ck2zl-fl6y5-7ae",
    );
    assert_rejected(&dup, "same principal and memo");
    // A memo reserved for swap baskets.
    assert_rejected(&with("memo: 42", "memo: 1000000"), "reserved range");
    // Below the minimum stake.
    assert_rejected(
        &with("minimum_creation_stake: 1 token", "minimum_creation_stake: 20 tokens"),
        "below Neurons.minimum_creation_stake",
    );
    // Initial neurons may not hold more than the swap sells.
    assert_rejected(
        &with("swap: 40_000 tokens", "swap: 20 tokens").replace("total: 100_029.9 tokens", "total: 60_049.9 tokens"),
        "at most InitialBalances.swap",
    );
    // A principal with a broken checksum.
    assert_rejected(
        &with("- principal: ft6vl-6jmwa", "- principal: ft6vl-6jmwb"),
        "not a valid principal",
    );
}

#[test]
fn metadata_and_token_rules() {
    assert_rejected(&with("name: Example\n", "name: Exa\n"), "name must be 4..=255");
    assert_rejected(
        &with(
            "description: An example SNS used by the negative tests.",
            &format!("description: {}", "x".repeat(2001)),
        ),
        "description must be 10..=2000",
    );
    assert_rejected(
        &with("url: https://example.org", "url: http://example.org"),
        "must begin with https://",
    );
    assert_rejected(
        &with("url: https://example.org", "url: https://user@example.org"),
        "authentication",
    );
    assert_rejected(&with("    symbol: EXM", "    symbol: ICP"), "banned");
    assert_rejected(
        &with("    symbol: EXM", "    symbol: EX"),
        "Token.symbol must be 3..=10",
    );
    assert_rejected(
        &with("    symbol: EXM", "    symbol: EXAMPLETOKEN"),
        "Token.symbol must be 3..=10",
    );
    assert_rejected(
        &with("    name: Example token", "    name: Internet Computer"),
        "banned",
    );
    assert_rejected(
        &with("minimum_creation_stake: 1 token", "minimum_creation_stake: 10_000 e8s"),
        "must be greater than Token.transaction_fee",
    );
    // The logo must be a PNG: sns_init.yaml is not one.
    assert_rejected(&with("logo: logo.png\nurl", "logo: sns_init.yaml\nurl"), "is not a PNG");
    assert_rejected(
        &with("    logo: logo.png\nProposals", "    logo: missing.png\nProposals"),
        "cannot read",
    );
}

#[test]
fn nns_proposal_rules() {
    assert_rejected(
        &with("https://forum.dfinity.org/t/example/1", "https://example.org/forum/1"),
        "forum.dfinity.org",
    );
    assert_rejected(
        &with("title: \"Proposal to create an SNS named Example\"", "title: \"SNS\""),
        "NnsProposal.title",
    );
    assert_rejected(
        &with("summary: \"A short but sufficient summary.\"", "summary: \"Short\""),
        "NnsProposal.summary",
    );
    // The 2,000-byte ceiling is this project's policy, and says so.
    assert_rejected(
        &with(
            "summary: \"A short but sufficient summary.\"",
            &format!("summary: \"{}\"", "x".repeat(2001)),
        ),
        "NnsProposal.summary must be 10..=2000 bytes long, but is 2001 (policy)",
    );
}

#[test]
fn the_real_file_uses_the_current_treasury_key() {
    let text = real_yaml();
    assert!(text.contains("\n        treasury: "), "InitialBalances.treasury");
    // The pre-PR-1755 shape of the real file is refused as the current CLI refuses it.
    let old_shape = text.replacen("\n        treasury: ", "\n        governance: ", 1);
    let err = config::parse(&old_shape).expect_err("the old `governance` key must be refused");
    assert!(err.contains("unknown field `governance`"), "{err}");
}

#[test]
fn voting_and_proposal_rules() {
    assert_rejected(
        &with(
            "maximum_wait_for_quiet_deadline_extension: 1 day",
            "maximum_wait_for_quiet_deadline_extension: 3 days",
        ),
        "half the initial voting period",
    );
    assert_rejected(
        &with("initial_voting_period: 4d", "initial_voting_period: 12h"),
        "1 to 30 days",
    );
    assert_rejected(
        &with("initial_voting_period: 4d", "initial_voting_period: 31d"),
        "1 to 30 days",
    );
    assert_rejected(&with("bonus: 25%", "bonus: 12.5%"), "whole percentage");
    assert_rejected(&with("bonus: 100%", "bonus: 1000%"), "at most 900%");
    assert_rejected(&with("final: 2.25%", "final: 12%"), "at most RewardRate.initial");
    assert_rejected(
        &with("minimum_dissolve_delay: 26 weeks", "minimum_dissolve_delay: 9 years"),
        "cannot exceed 8 years",
    );
}

#[test]
fn swap_rules() {
    assert_rejected(
        &with(
            "maximum_participant_icp: 6500 tokens",
            "maximum_participant_icp: 600 tokens",
        ),
        "must be >= minimum_participant_icp",
    );
    assert_rejected(
        &with(
            "maximum_direct_participation_icp: 64990 tokens",
            "maximum_direct_participation_icp: 100 tokens",
        ),
        "must be >= minimum",
    );
    // 50 participants x 650 ICP = 32,500 ICP > 30,000 ICP.
    assert_rejected(
        &with(
            "maximum_direct_participation_icp: 64990 tokens",
            "maximum_direct_participation_icp: 30000 tokens",
        )
        .replace(
            "maximum_participant_icp: 6500 tokens",
            "maximum_participant_icp: 5000 tokens",
        ),
        "minimum_participants (50) * minimum_participant_icp",
    );
    // NNS governance's floor: 0.01 ICP per participant.
    assert_rejected(
        &with(
            "minimum_participant_icp: 650 tokens",
            "minimum_participant_icp: 999_999 e8s",
        ),
        "must be at least 0.01 ICP",
    );
    assert_rejected(&with("events: 3", "events: 1"), "VestingSchedule.events");
    assert_rejected(&with("events: 3", "events: 11"), "VestingSchedule.events");
    assert_rejected(
        &with("interval: 13 weeks", "interval: 5 years"),
        "longest basket dissolve delay",
    );
    // 1 ICP buys 40,000 / 64,990 SNS tokens at the maximum raise: less than a
    // basket of 3 neurons of 1 token (+ fee) each.
    assert_rejected(
        &with(
            "minimum_participant_icp: 650 tokens",
            "minimum_participant_icp: 1 token",
        ),
        "minimum_participant_icp is too small",
    );
    assert_rejected(
        &with(
            "    minimum_direct_participation_icp: 113 tokens\n",
            "    minimum_icp: 113 tokens\n",
        ),
        "deprecated",
    );
    assert_rejected(
        &with("    neurons_fund_participation: true\n", ""),
        "neurons_fund_participation must be specified",
    );
    assert_rejected(&with("        - CH\n", "        - CH\n        - ch\n"), "ISO 3166-1");
    assert_rejected(&with("        - CH\n", "        - CH\n        - US\n"), "duplicate US");
    assert_rejected(&with("duration: 7 days", "duration: 30 days"), "Swap.duration");
}

#[test]
fn initial_neurons_with_most_of_the_voting_power_are_rejected() {
    // 30,014.9 tokens in initial neurons against a 40,000-token swap whose baskets
    // hold a voting neuron for only one third of it.
    let yaml =
        with("stake: 15 tokens", "stake: 30_000 tokens").replace("total: 100_029.9 tokens", "total: 130_014.9 tokens");
    assert_rejected(&yaml, "50% or more");
}
