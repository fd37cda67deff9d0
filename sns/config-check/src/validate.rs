//! Semantic checks of a parsed `sns_init.yaml`.
//!
//! Every check marked "CLI" mirrors a rule that `sns init-config-file validate`
//! / `sns propose` apply (through `SnsInitPayload::validate_pre_execution` in
//! `rs/sns/init`, NNS governance's proposal field validation and SNS
//! governance's `NervousSystemParameters` bounds). Checks marked "policy" are
//! this project's own rules, stricter than the CLI.

use crate::config::{Neuron, SnsConfigurationFile};
use crate::humanize::{E8, ONE_DAY_SECONDS, ONE_YEAR_SECONDS};
use candid::Principal;
use std::collections::BTreeSet;
use std::path::Path;

/// The SNS logo and token logo are sent as `data:image/png;base64,...`; that
/// string may be at most this long (CLI: `MAX_LOGO_LENGTH`, "roughly 256 Kb").
pub const MAX_LOGO_DATA_URL_LENGTH: usize = 341_334;
pub const LOGO_DATA_URL_PREFIX: &str = "data:image/png;base64,";
pub const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

pub const MAX_FALLBACK_CONTROLLERS: usize = 15;
pub const MAX_DAPP_CANISTERS_AT_LAUNCH: usize = 25;
pub const MAX_DEVELOPER_NEURONS: usize = 100;
/// Memos of swap-basket neurons; initial neurons must not use them.
pub const BASKET_MEMO_RANGE: std::ops::RangeInclusive<u64> = 1_000_000..=10_000_000;
pub const MIN_NEURONS_PER_BASKET: u64 = 2;
pub const MAX_NEURONS_PER_BASKET: u64 = 10;
/// NNS governance refuses a CreateServiceNervousSystem whose
/// `minimum_participant_icp` is below 0.01 ICP (dfinity/ic
/// rs/nns/governance/unreleased_changelog.md, Security: "Enforce a lower bound
/// for `min_participant_icp_e8s` of `1_000_000`").
pub const MIN_PARTICIPANT_ICP_E8S: u64 = 1_000_000;
/// This project's policy on the NNS proposal summary (not a CLI rule).
pub const MAX_NNS_SUMMARY_BYTES_POLICY: usize = 2_000;
pub const MAX_DIRECT_ICP_CONTRIBUTION_E8S: u64 = 1_000_000_000 * E8;
/// SNS governance's default `max_dissolve_delay_seconds`; the CLI compares the
/// minimum dissolve delay against this default, not the configured maximum.
pub const DEFAULT_MAX_DISSOLVE_DELAY_SECONDS: u64 = 8 * ONE_YEAR_SECONDS;
pub const MAX_DISSOLVE_DELAY_BONUS_PERCENT: u64 = 900;
pub const MAX_AGE_BONUS_PERCENT: u64 = 400;
pub const MAX_INITIAL_REWARD_RATE_BASIS_POINTS: u64 = 10_000;
pub const INITIAL_VOTING_PERIOD_SECONDS: std::ops::RangeInclusive<u64> = ONE_DAY_SECONDS..=30 * ONE_DAY_SECONDS;
pub const WAIT_FOR_QUIET_SECONDS: std::ops::RangeInclusive<u64> = 1..=30 * ONE_DAY_SECONDS;
pub const MAX_CONFIRMATION_TEXT_CHARS: usize = 1_000;
pub const MAX_CONFIRMATION_TEXT_BYTES: usize = 8 * MAX_CONFIRMATION_TEXT_CHARS;
/// The swap canister's own bounds on the sale duration (`Params`).
pub const SWAP_DURATION_SECONDS: std::ops::RangeInclusive<u64> = ONE_DAY_SECONDS..=14 * ONE_DAY_SECONDS;

const BANNED_TOKEN_SYMBOLS: &[&str] = &["ICP", "DFINITY"];
const BANNED_TOKEN_NAMES: &[&str] = &["internetcomputer", "internetcomputerprotocol"];

/// Runs every check; returns the defects (empty: the file is valid).
/// `base_dir` is the directory of the yaml file (logo paths are relative to it).
pub fn validate(cfg: &SnsConfigurationFile, base_dir: &Path) -> Vec<String> {
    let mut d = Vec::new();
    metadata(cfg, base_dir, &mut d);
    nns_proposal(cfg, &mut d);
    principals(cfg, &mut d);
    token(cfg, base_dir, &mut d);
    governance(cfg, &mut d);
    distribution(cfg, &mut d);
    swap(cfg, &mut d);
    voting_power_split(cfg, &mut d);
    d
}

fn len_between(d: &mut Vec<String>, field: &str, value: &str, min: usize, max: usize) {
    let n = value.len();
    if n < min || n > max {
        d.push(format!("{field} must be {min}..={max} bytes long, but is {n}"));
    }
}

/// CLI: `https://` only, no credentials, exactly one `://`.
fn check_url(d: &mut Vec<String>, field: &str, url: &str, min: usize, max: usize) {
    len_between(d, field, url, min, max);
    if !url.starts_with("https://") {
        d.push(format!("{field} must begin with https:// ({url:?})"));
    }
    if url.split("://").count() != 2 {
        d.push(format!("{field} contains an invalid sequence of characters ({url:?})"));
    }
    if url.contains('@') {
        d.push(format!("{field} cannot contain authentication information ({url:?})"));
    }
}

/// CLI: the file must exist and be a PNG whose data URL fits `MAX_LOGO_LENGTH`.
pub fn check_logo(d: &mut Vec<String>, field: &str, base_dir: &Path, logo: &Path) {
    let path = base_dir.join(logo);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => return d.push(format!("{field}: cannot read {}: {e}", path.display())),
    };
    if !bytes.starts_with(PNG_MAGIC) || bytes.get(12..16) != Some(b"IHDR".as_slice()) {
        d.push(format!(
            "{field}: {} is not a PNG (no PNG signature and IHDR chunk)",
            path.display()
        ));
    }
    let data_url_len = LOGO_DATA_URL_PREFIX.len() + bytes.len().div_ceil(3) * 4;
    if data_url_len > MAX_LOGO_DATA_URL_LENGTH {
        d.push(format!(
            "{field}: {} ({} bytes) encodes to a {data_url_len}-character data URL, more than {MAX_LOGO_DATA_URL_LENGTH}",
            path.display(),
            bytes.len()
        ));
    }
}

fn metadata(cfg: &SnsConfigurationFile, base_dir: &Path, d: &mut Vec<String>) {
    // CLI: SnsMetadata name 4..=255, description 10..=2000, url 10..=512.
    len_between(d, "name", &cfg.name, 4, 255);
    len_between(d, "description", &cfg.description, 10, 2000);
    check_url(d, "url", &cfg.url, 10, 512);
    check_logo(d, "logo", base_dir, &cfg.logo);
}

fn nns_proposal(cfg: &SnsConfigurationFile, d: &mut Vec<String>) {
    let p = &cfg.nns_proposal;
    // CLI (NNS governance): title 5..=256 bytes (the old template comment said 4).
    len_between(d, "NnsProposal.title", &p.title, 5, 256);
    // policy: summary 10..=2000 bytes, so voters read it whole in the NNS dapp
    // (NNS governance's own ceiling is 30,000 bytes).
    let n = p.summary.len();
    if !(10..=MAX_NNS_SUMMARY_BYTES_POLICY).contains(&n) {
        d.push(format!(
            "NnsProposal.summary must be 10..={MAX_NNS_SUMMARY_BYTES_POLICY} bytes long, but is {n} (policy)"
        ));
    }
    // CLI (NNS governance): empty, or an https URL on forum.dfinity.org, 10..=2048 chars.
    if let Some(url) = p.url.as_deref().filter(|u| !u.is_empty()) {
        check_url(d, "NnsProposal.url", url, 10, 2048);
        let host = url
            .strip_prefix("https://")
            .unwrap_or("")
            .split('/')
            .next()
            .unwrap_or("");
        if host != "forum.dfinity.org" {
            d.push(format!(
                "NnsProposal.url must be on forum.dfinity.org, got host {host:?}"
            ));
        }
    }
}

/// Parses a textual principal, checksum included.
pub fn parse_principal(s: &str) -> Result<Principal, String> {
    Principal::from_text(s).map_err(|e| format!("{s:?} is not a valid principal: {e}"))
}

fn principals(cfg: &SnsConfigurationFile, d: &mut Vec<String>) {
    // CLI: 1..=15 fallback controllers, valid, no duplicates.
    let fallback = &cfg.fallback_controller_principals;
    if fallback.is_empty() || fallback.len() > MAX_FALLBACK_CONTROLLERS {
        d.push(format!(
            "fallback_controller_principals must list 1..={MAX_FALLBACK_CONTROLLERS} principals, got {}",
            fallback.len()
        ));
    }
    let mut seen = BTreeSet::new();
    for p in fallback {
        match parse_principal(p) {
            Ok(pr) if pr == Principal::anonymous() => d.push(
                "fallback_controller_principals: the anonymous principal cannot control anything (policy)".into(),
            ),
            Ok(pr) => {
                if !seen.insert(pr) {
                    d.push(format!("fallback_controller_principals: duplicate {p}"));
                }
            }
            Err(e) => d.push(format!("fallback_controller_principals: {e}")),
        }
    }

    // CLI: at most 25 dapp canisters at launch, valid, no duplicates.
    if cfg.dapp_canisters.len() > MAX_DAPP_CANISTERS_AT_LAUNCH {
        d.push(format!(
            "dapp_canisters: at most {MAX_DAPP_CANISTERS_AT_LAUNCH}, got {}",
            cfg.dapp_canisters.len()
        ));
    }
    let mut seen = BTreeSet::new();
    for c in &cfg.dapp_canisters {
        match parse_principal(c) {
            Ok(pr) => {
                // policy: canister ids are opaque ids (class byte 0x01), 10 bytes on the IC.
                let b = pr.as_slice();
                if b.last() != Some(&0x01) {
                    d.push(format!("dapp_canisters: {c} is not a canister id (policy)"));
                }
                if !seen.insert(pr) {
                    d.push(format!("dapp_canisters: duplicate {c}"));
                }
            }
            Err(e) => d.push(format!("dapp_canisters: {e}")),
        }
    }
    // policy: the CLI parses the aliases but never reads them (no substitution
    // yet), so it would accept a broken id; an alias list must still be true.
    for alias in &cfg.principals {
        if let Err(e) = parse_principal(&alias.id) {
            d.push(format!("Principals: {e} (policy)"));
        }
    }
}

fn token(cfg: &SnsConfigurationFile, base_dir: &Path, d: &mut Vec<String>) {
    let t = &cfg.token;
    // CLI (ledger validation): name 4..=255, symbol 3..=10, no outer whitespace, not banned.
    len_between(d, "Token.name", &t.name, 4, 255);
    len_between(d, "Token.symbol", &t.symbol, 3, 10);
    if t.name != t.name.trim() {
        d.push("Token.name must not have leading or trailing whitespace".into());
    }
    if t.symbol != t.symbol.trim() {
        d.push("Token.symbol must not have leading or trailing whitespace".into());
    }
    if BANNED_TOKEN_SYMBOLS.contains(&t.symbol.to_uppercase().as_str()) {
        d.push(format!("Token.symbol {:?} is banned", t.symbol));
    }
    let squashed: String = t.name.to_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
    if BANNED_TOKEN_NAMES.contains(&squashed.as_str()) {
        d.push(format!("Token.name {:?} is banned", t.name));
    }
    check_logo(d, "Token.logo", base_dir, &t.logo);
    // CLI: minimum neuron stake > transaction fee.
    if cfg.neurons.minimum_creation_stake.e8s <= t.transaction_fee.e8s {
        d.push(format!(
            "Neurons.minimum_creation_stake ({} e8s) must be greater than Token.transaction_fee ({} e8s)",
            cfg.neurons.minimum_creation_stake.e8s, t.transaction_fee.e8s
        ));
    }
}

fn governance(cfg: &SnsConfigurationFile, d: &mut Vec<String>) {
    let p = &cfg.proposals;
    let v = &cfg.voting;
    // CLI: initial voting period 1..=30 days; wait-for-quiet 1 s..=30 days and at
    // most half the initial voting period.
    let ivp = p.initial_voting_period.seconds;
    if !INITIAL_VOTING_PERIOD_SECONDS.contains(&ivp) {
        d.push(format!(
            "Proposals.initial_voting_period must be 1 to 30 days, got {ivp} s"
        ));
    }
    let wfq = p.maximum_wait_for_quiet_deadline_extension.seconds;
    if !WAIT_FOR_QUIET_SECONDS.contains(&wfq) {
        d.push(format!(
            "Proposals.maximum_wait_for_quiet_deadline_extension must be 1 s to 30 days, got {wfq} s"
        ));
    }
    if wfq > ivp / 2 {
        d.push(format!(
            "Proposals.maximum_wait_for_quiet_deadline_extension ({wfq} s) must be at most half the initial voting period ({} s)",
            ivp / 2
        ));
    }

    // CLI: minimum dissolve delay <= the default maximum dissolve delay (8 years).
    let min_dd = v.minimum_dissolve_delay.seconds;
    if min_dd > DEFAULT_MAX_DISSOLVE_DELAY_SECONDS {
        d.push(format!(
            "Voting.minimum_dissolve_delay ({min_dd} s) cannot exceed 8 years"
        ));
    }
    let max_dd = v.maximum_voting_power_bonuses.dissolve_delay.duration.seconds;
    // policy: a minimum above the maximum would leave no neuron able to vote.
    if min_dd > max_dd {
        d.push(format!(
            "Voting.minimum_dissolve_delay ({min_dd} s) exceeds MaximumVotingPowerBonuses.DissolveDelay.duration ({max_dd} s) (policy)"
        ));
    }

    // CLI: bonuses are whole percentages (basis points divisible by 100), bounded.
    let bonuses = &v.maximum_voting_power_bonuses;
    for (field, bp, ceiling) in [
        (
            "MaximumVotingPowerBonuses.DissolveDelay.bonus",
            bonuses.dissolve_delay.bonus.basis_points,
            MAX_DISSOLVE_DELAY_BONUS_PERCENT,
        ),
        (
            "MaximumVotingPowerBonuses.Age.bonus",
            bonuses.age.bonus.basis_points,
            MAX_AGE_BONUS_PERCENT,
        ),
    ] {
        if bp % 100 != 0 {
            d.push(format!("{field} must be a whole percentage, got {bp} basis points"));
        }
        if bp / 100 > ceiling {
            d.push(format!("{field} must be at most {ceiling}%, got {bp} basis points"));
        }
    }

    // CLI: initial reward rate <= 100%, final <= initial.
    let r = &v.reward_rate;
    if r.initial.basis_points > MAX_INITIAL_REWARD_RATE_BASIS_POINTS {
        d.push(format!(
            "RewardRate.initial must be at most 100%, got {} basis points",
            r.initial.basis_points
        ));
    }
    if r.final_.basis_points > r.initial.basis_points {
        d.push(format!(
            "RewardRate.final ({} bp) must be at most RewardRate.initial ({} bp)",
            r.final_.basis_points, r.initial.basis_points
        ));
    }
}

fn distribution(cfg: &SnsConfigurationFile, d: &mut Vec<String>) {
    let dist = &cfg.distribution;
    let neurons: &[Neuron] = &dist.neurons;
    let min_dd = cfg.voting.minimum_dissolve_delay.seconds;
    let max_dd = cfg.voting.maximum_voting_power_bonuses.dissolve_delay.duration.seconds;
    let min_stake = cfg.neurons.minimum_creation_stake.e8s;

    // CLI: the checksum.
    let neuron_sum: u128 = neurons.iter().map(|n| n.stake.e8s as u128).sum();
    let treasury = dist.initial_balances.treasury.e8s as u128;
    let swap = dist.initial_balances.swap.e8s as u128;
    let observed = neuron_sum + treasury + swap;
    if observed != dist.total.e8s as u128 {
        d.push(format!(
            "Distribution.total is {} e8s, but treasury + swap + neuron stakes = {observed} e8s",
            dist.total.e8s
        ));
    }
    // CLI: the swap sells a positive amount, and the initial neurons hold at most as much.
    if swap == 0 {
        d.push("Distribution.InitialBalances.swap must be greater than 0".into());
    }
    if neuron_sum > swap {
        d.push(format!(
            "The sum of the initial neuron stakes ({neuron_sum} e8s) must be at most InitialBalances.swap ({swap} e8s)"
        ));
    }

    // CLI: at least one neuron that can vote (this also means: at least one neuron).
    if neurons.is_empty() {
        d.push("Distribution.Neurons must list at least one neuron".into());
    } else if !neurons.iter().any(|n| n.dissolve_delay.seconds >= min_dd) {
        d.push(format!(
            "There needs to be at least one voting-eligible neuron: a dissolve_delay of at least {min_dd} s (Voting.minimum_dissolve_delay)"
        ));
    }
    if neurons.len() > MAX_DEVELOPER_NEURONS {
        d.push(format!(
            "Distribution.Neurons: at most {MAX_DEVELOPER_NEURONS} neurons, got {}",
            neurons.len()
        ));
    }

    let mut seen = BTreeSet::new();
    for (i, n) in neurons.iter().enumerate() {
        let at = format!("Distribution.Neurons[{i}]");
        match parse_principal(&n.principal) {
            Ok(p) => {
                // CLI: (controller, memo) identifies a neuron.
                if !seen.insert((p, n.memo)) {
                    d.push(format!(
                        "{at}: another neuron has the same principal and memo {}",
                        n.memo
                    ));
                }
            }
            Err(e) => d.push(format!("{at}: {e}")),
        }
        // CLI: memos of the swap's neuron baskets are reserved.
        if BASKET_MEMO_RANGE.contains(&n.memo) {
            d.push(format!(
                "{at}: memo {} is in the reserved range {BASKET_MEMO_RANGE:?}",
                n.memo
            ));
        }
        // CLI: dissolve delay <= maximum dissolve delay; stake >= minimum stake.
        if n.dissolve_delay.seconds > max_dd {
            d.push(format!(
                "{at}: dissolve_delay ({} s) exceeds the maximum dissolve delay ({max_dd} s)",
                n.dissolve_delay.seconds
            ));
        }
        if n.stake.e8s < min_stake {
            d.push(format!(
                "{at}: stake ({} e8s) is below Neurons.minimum_creation_stake ({min_stake} e8s)",
                n.stake.e8s
            ));
        }
    }
}

fn swap(cfg: &SnsConfigurationFile, d: &mut Vec<String>) {
    let s = &cfg.swap;
    // CLI: the legacy fields still parse but are rejected as deprecated.
    for (field, set) in [
        ("minimum_icp", s.minimum_icp.is_some()),
        ("maximum_icp", s.maximum_icp.is_some()),
        ("neurons_fund_investment_icp", s.neurons_fund_investment_icp.is_some()),
    ] {
        if set {
            d.push(format!(
                "Swap.{field} is deprecated: use minimum/maximum_direct_participation_icp and neurons_fund_participation"
            ));
        }
    }
    if s.neurons_fund_participation.is_none() {
        d.push("Swap.neurons_fund_participation must be specified".into());
    }
    let (Some(min_direct), Some(max_direct)) = (s.minimum_direct_participation_icp, s.maximum_direct_participation_icp)
    else {
        d.push(
            "Swap.minimum_direct_participation_icp and Swap.maximum_direct_participation_icp must be specified".into(),
        );
        return;
    };
    let (min_direct, max_direct) = (min_direct.e8s, max_direct.e8s);
    let (min_part, max_part) = (s.minimum_participant_icp.e8s, s.maximum_participant_icp.e8s);
    let min_participants = s.minimum_participants;

    // CLI: validate_participation_constraints, (2) to (8).
    if min_direct == 0 {
        d.push("Swap.minimum_direct_participation_icp must be > 0".into());
    }
    if min_part == 0 {
        d.push("Swap.minimum_participant_icp must be > 0".into());
    } else if min_part < MIN_PARTICIPANT_ICP_E8S {
        // CLI (NNS governance): at least 0.01 ICP.
        d.push(format!(
            "Swap.minimum_participant_icp ({min_part} e8s) must be at least 0.01 ICP ({MIN_PARTICIPANT_ICP_E8S} e8s)"
        ));
    }
    if min_participants == 0 || min_participants > u32::MAX as u64 {
        d.push(format!(
            "Swap.minimum_participants must be in 1..={}, got {min_participants}",
            u32::MAX
        ));
    }
    if max_direct < min_direct {
        d.push(format!(
            "Swap.maximum_direct_participation_icp ({max_direct} e8s) must be >= minimum ({min_direct} e8s)"
        ));
    }
    if max_part < min_part {
        d.push(format!(
            "Swap.maximum_participant_icp ({max_part} e8s) must be >= minimum_participant_icp ({min_part} e8s)"
        ));
    }
    if max_part > max_direct {
        d.push(format!(
            "Swap.maximum_participant_icp ({max_part} e8s) must be <= maximum_direct_participation_icp ({max_direct} e8s)"
        ));
    }
    if max_direct > MAX_DIRECT_ICP_CONTRIBUTION_E8S {
        d.push(format!(
            "Swap.maximum_direct_participation_icp ({max_direct} e8s) can be at most 1 billion ICP"
        ));
    }
    if (max_direct as u128) < min_participants as u128 * min_part as u128 {
        d.push(format!(
            "Swap.maximum_direct_participation_icp ({max_direct} e8s) must be >= minimum_participants ({min_participants}) * minimum_participant_icp ({min_part} e8s)"
        ));
    }
    let basket = &s.vesting_schedule;
    let fee = cfg.token.transaction_fee.e8s as u128;
    let min_stake = cfg.neurons.minimum_creation_stake.e8s as u128;
    let swap_amount = cfg.distribution.initial_balances.swap.e8s as u128;
    if max_direct > 0 {
        // The smallest participant's SNS tokens must make a full basket of neurons.
        let min_participant_sns_e8s = min_part as u128 * swap_amount / max_direct as u128;
        let needed = basket.events as u128 * (min_stake + fee);
        if min_participant_sns_e8s < needed {
            d.push(format!(
                "Swap.minimum_participant_icp is too small: it buys {min_participant_sns_e8s} SNS e8s at the maximum raise, \
                 but a basket of {} neurons needs {needed} e8s (stake + fee each)",
                basket.events
            ));
        }
    }

    // CLI: the neuron basket.
    if !(MIN_NEURONS_PER_BASKET..=MAX_NEURONS_PER_BASKET).contains(&basket.events) {
        d.push(format!(
            "Swap.VestingSchedule.events must be in {MIN_NEURONS_PER_BASKET}..={MAX_NEURONS_PER_BASKET}, got {}",
            basket.events
        ));
    }
    if basket.interval.seconds < 1 {
        d.push("Swap.VestingSchedule.interval must be at least 1 second".into());
    }
    let max_dd = cfg.voting.maximum_voting_power_bonuses.dissolve_delay.duration.seconds;
    match basket.events.saturating_sub(1).checked_mul(basket.interval.seconds) {
        Some(longest) if longest <= max_dd => {}
        Some(longest) => d.push(format!(
            "Swap.VestingSchedule: the longest basket dissolve delay ((events - 1) * interval = {longest} s) exceeds the maximum dissolve delay ({max_dd} s)"
        )),
        None => d.push("Swap.VestingSchedule: (events - 1) * interval overflows".into()),
    }

    // CLI: confirmation text 1..=1000 characters, at most 8000 bytes.
    if let Some(text) = &s.confirmation_text {
        let chars = text.chars().count();
        if !(1..=MAX_CONFIRMATION_TEXT_CHARS).contains(&chars) || text.len() > MAX_CONFIRMATION_TEXT_BYTES {
            d.push(format!(
                "Swap.confirmation_text must be 1..={MAX_CONFIRMATION_TEXT_CHARS} characters, got {chars}"
            ));
        }
    }
    // policy (the swap canister checks ISO 3166-1 alpha-2): two upper-case letters, no duplicates.
    if let Some(countries) = &s.restricted_countries {
        if countries.is_empty() {
            d.push("Swap.restricted_countries: omit the key instead of giving an empty list (policy)".into());
        }
        let mut seen = BTreeSet::new();
        for c in countries {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                d.push(format!(
                    "Swap.restricted_countries: {c:?} is not an ISO 3166-1 alpha-2 code"
                ));
            }
            if !seen.insert(c) {
                d.push(format!("Swap.restricted_countries: duplicate {c}"));
            }
        }
    }
    // policy: the swap canister's sale-duration bounds (1 to 14 days).
    if !SWAP_DURATION_SECONDS.contains(&s.duration.seconds) {
        d.push(format!(
            "Swap.duration must be 1 to 14 days, got {} s (policy)",
            s.duration.seconds
        ));
    }
}

/// Voting power at genesis (no age bonus yet) of the initial neurons and of the
/// swap's neuron baskets (the whole swap allocation, Neurons' Fund included,
/// split evenly over each basket's neurons; neurons below the minimum dissolve
/// delay cannot vote). Returns (initial neurons, swap neurons), in e8s.
pub fn genesis_voting_power(cfg: &SnsConfigurationFile) -> (u128, u128) {
    let v = &cfg.voting;
    let min_dd = v.minimum_dissolve_delay.seconds;
    let max_dd = v.maximum_voting_power_bonuses.dissolve_delay.duration.seconds.max(1) as u128;
    let bonus_bp = v.maximum_voting_power_bonuses.dissolve_delay.bonus.basis_points as u128;
    let power = |stake: u128, dd: u64| -> u128 {
        if dd < min_dd {
            return 0;
        }
        let dd = (dd as u128).min(max_dd);
        stake + stake * bonus_bp * dd / (10_000 * max_dd)
    };
    let developers = cfg
        .distribution
        .neurons
        .iter()
        .map(|n| power(n.stake.e8s as u128, n.dissolve_delay.seconds))
        .sum();
    let basket = &cfg.swap.vesting_schedule;
    let per_neuron = cfg.distribution.initial_balances.swap.e8s as u128 / basket.events.max(1) as u128;
    let swap = (0..basket.events)
        .map(|i| power(per_neuron, i.saturating_mul(basket.interval.seconds)))
        .sum();
    (developers, swap)
}

/// policy: the initial neurons (founders, team, investors) must not be able to
/// outvote the swap participants on their own at genesis.
fn voting_power_split(cfg: &SnsConfigurationFile, d: &mut Vec<String>) {
    let (developers, swap) = genesis_voting_power(cfg);
    if developers * 2 >= developers + swap {
        d.push(format!(
            "The initial neurons would hold {developers} of {} e8s of voting power at genesis: 50% or more (policy)",
            developers + swap
        ));
    }
}
