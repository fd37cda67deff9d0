//! What `show`, `list` and `--wait` print about proposals: status, tally against the
//! thresholds, deadlines, the payload rendering and the failure reason, and for an executed
//! upgrade whether the canister runs the proposal's Wasm.

use platform_types::sns::{
    Action, ProposalData, ProposalDecisionStatus, Vote, DEFAULT_MIN_YES_OF_EXERCISED_BASIS_POINTS,
    DEFAULT_MIN_YES_OF_TOTAL_BASIS_POINTS,
};
use sha2::{Digest, Sha256};

/// `1970-01-01 00:00:00 UTC` style (0 prints as "-").
pub fn utc(seconds: u64) -> String {
    if seconds == 0 {
        return "-".into();
    }
    let (year, month, day, rem) = civil_utc(seconds);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The UTC calendar date of a Unix time (year, month, day) and the seconds into that day.
pub fn civil_utc(seconds: u64) -> (i64, i64, i64, u64) {
    let days = (seconds / 86_400) as i64;
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, seconds % 86_400)
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0 %".into();
    }
    format!("{:.2} %", part as f64 * 100.0 / whole as f64)
}

fn basis_points(bp: u64) -> String {
    format!("{}.{:02} %", bp / 100, bp % 100)
}

/// The action's name as the SNS calls it (custom proposals: their function id).
pub fn action_name(p: &ProposalData) -> String {
    match p.proposal.as_ref().and_then(|p| p.action.as_ref()) {
        Some(Action::Unspecified(_)) => "Unspecified".into(),
        Some(Action::Motion(_)) => "Motion".into(),
        Some(Action::AddGenericNervousSystemFunction(f)) => format!("AddGenericNervousSystemFunction {}", f.id),
        Some(Action::RemoveGenericNervousSystemFunction(id)) => format!("RemoveGenericNervousSystemFunction {id}"),
        Some(Action::ExecuteGenericNervousSystemFunction(e)) => format!("custom function {}", e.function_id),
        Some(Action::UpgradeSnsControlledCanister(u)) => format!(
            "UpgradeSnsControlledCanister {}",
            u.canister_id.map(|c| c.to_text()).unwrap_or_else(|| "?".into())
        ),
        Some(Action::RegisterDappCanisters(r)) => format!("RegisterDappCanisters ({} canister(s))", r.canister_ids.len()),
        Some(Action::TransferSnsTreasuryFunds(t)) => format!("TransferSnsTreasuryFunds {} e8s", t.amount_e8s),
        Some(Action::ManageDappCanisterSettings(m)) => format!("ManageDappCanisterSettings ({} canister(s))", m.canister_ids.len()),
        // An action this client does not know (the real SNS has more).
        None => format!("action {}", p.action),
    }
}

/// The one-word outcome, with the failure reason: "Executed", "Failed: ...", "Rejected", ...
pub fn outcome(p: &ProposalData) -> String {
    match p.status() {
        ProposalDecisionStatus::Failed => format!(
            "Failed: {}",
            p.failure_reason.as_ref().map(|e| e.error_message.clone()).unwrap_or_else(|| "(no reason given)".into())
        ),
        s => format!("{s:?}"),
    }
}

fn tally_line(p: &ProposalData) -> String {
    match p.latest_tally {
        Some(t) => format!(
            "yes {} ({} of the total), no {} ({}), total voting power {}; yes is {} of the votes cast",
            t.yes,
            percent(t.yes, t.total),
            t.no,
            percent(t.no, t.total),
            t.total,
            percent(t.yes, t.yes + t.no)
        ),
        None => "none yet".into(),
    }
}

/// One line per proposal (newest first, as governance lists them).
pub fn render_list(proposals: &[ProposalData]) -> String {
    if proposals.is_empty() {
        return "No proposals.\n".into();
    }
    let mut out = String::new();
    for p in proposals {
        let id = p.id.map(|i| i.id.to_string()).unwrap_or_else(|| "?".into());
        let title = p.proposal.as_ref().map(|p| p.title.as_str()).unwrap_or("");
        let topic = p.topic.map(|t| format!("{t:?}")).unwrap_or_else(|| "-".into());
        let (yes, no, total) = p.latest_tally.map(|t| (t.yes, t.no, t.total)).unwrap_or_default();
        out.push_str(&format!(
            "#{id} [{}] {title}\n    {} | topic {topic} | yes {yes} / no {no} of {total}\n",
            outcome(p),
            action_name(p)
        ));
    }
    out
}

/// Everything a voter needs about one proposal.
pub fn render_proposal(p: &ProposalData) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<22} {v}\n"));
    let id = p.id.map(|i| i.id.to_string()).unwrap_or_else(|| "?".into());
    line("Proposal", format!("#{id}: {}", p.proposal.as_ref().map(|p| p.title.as_str()).unwrap_or("")));
    line("Status", outcome(p));
    line("Action", format!("{} (action id {})", action_name(p), p.action));
    line("Topic", p.topic.map(|t| format!("{t:?}{}", if t.is_critical() { " (critical)" } else { "" })).unwrap_or_else(|| "-".into()));
    line("Proposer", p.proposer.as_ref().map(|n| n.to_hex()).unwrap_or_else(|| "-".into()));
    if let Some(url) = p.proposal.as_ref().map(|p| &p.url).filter(|u| !u.is_empty()) {
        line("URL", url.clone());
    }
    line("Tally", tally_line(p));
    let of_total = p.minimum_yes_proportion_of_total.and_then(|x| x.basis_points).unwrap_or(DEFAULT_MIN_YES_OF_TOTAL_BASIS_POINTS);
    let of_cast = p
        .minimum_yes_proportion_of_exercised
        .and_then(|x| x.basis_points)
        .unwrap_or(DEFAULT_MIN_YES_OF_EXERCISED_BASIS_POINTS);
    line(
        "Adopted if",
        format!("yes is at least {} of the total voting power and more than {} of the votes cast", basis_points(of_total), basis_points(of_cast)),
    );
    let voted = p.ballots.iter().filter(|(_, b)| b.vote != Vote::Unspecified as i32).count();
    line("Ballots", format!("{voted} of {} neuron(s) voted", p.ballots.len()));
    line("Created", utc(p.proposal_creation_timestamp_seconds));
    line(
        "Voting ends",
        format!(
            "{} (initial period {} s; a late flip of the outcome extends it, by up to {} s)",
            utc(p.deadline_timestamp_seconds()),
            p.initial_voting_period_seconds,
            p.wait_for_quiet_deadline_increase_seconds
        ),
    );
    line("Decided", utc(p.decided_timestamp_seconds));
    line("Executed", utc(p.executed_timestamp_seconds));
    if p.failed_timestamp_seconds > 0 {
        line("Failed at", utc(p.failed_timestamp_seconds));
    }
    if let Some(e) = &p.failure_reason {
        line("Failure reason", format!("{} (error_type {})", e.error_message, e.error_type));
    }
    line("Rejection fee", format!("{} e8s (charged to the proposer if rejected)", p.reject_cost_e8s));
    if let Some(summary) = p.proposal.as_ref().map(|p| &p.summary) {
        out.push_str(&format!("\n--- Summary\n{}\n", summary.trim_end()));
    }
    if let Some(r) = &p.payload_text_rendering {
        out.push_str(&format!("\n--- Payload rendering (governance's)\n{}\n", r.trim_end()));
    }
    out
}

/// For an upgrade proposal: the module hash its Wasm installs (sha256 of the inline Wasm as
/// given, gzip included; the chunked form names it).
pub fn expected_module_hash(p: &ProposalData) -> Option<(candid::Principal, Vec<u8>)> {
    match p.proposal.as_ref()?.action.as_ref()? {
        Action::UpgradeSnsControlledCanister(u) => {
            let hash = match &u.chunked_canister_wasm {
                Some(c) => c.wasm_module_hash.clone(),
                None => Sha256::digest(&u.new_canister_wasm).to_vec(),
            };
            Some((u.canister_id?, hash))
        }
        _ => None,
    }
}

/// What the module hash says about an executed upgrade. SNS root answers governance before it
/// installs, so "Executed" alone does not mean the canister runs the new Wasm.
pub fn module_hash_verdict(canister: candid::Principal, expected: &[u8], actual: Option<&[u8]>) -> (bool, String) {
    match actual {
        Some(a) if a == expected => (
            true,
            format!("{canister} runs the proposal's Wasm: module hash {} = sha256 of the proposal's Wasm", hex::encode(a)),
        ),
        Some(a) => (
            false,
            format!(
                "UPGRADE DID NOT TAKE: {canister} runs module {}, not the proposal's Wasm {} (governance shows Executed because \
                 root answers before installing; the install failed, e.g. post_upgrade trapped, and the old module stayed)",
                hex::encode(a),
                hex::encode(expected)
            ),
        ),
        None => (false, format!("UPGRADE DID NOT TAKE: {canister} has no module installed (expected {})", hex::encode(expected))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::sns::{
        Ballot, GovernanceError, Percentage, Proposal, ProposalId, Tally, Topic, UpgradeSnsControlledCanister,
    };

    fn data(action: Action) -> ProposalData {
        ProposalData {
            id: Some(ProposalId { id: 7 }),
            action: action.action_id(),
            proposal: Some(Proposal { title: "Upgrade the hub".into(), summary: "Why".into(), url: String::new(), action: Some(action) }),
            topic: Some(Topic::CriticalDappOperations),
            latest_tally: Some(Tally { yes: 70, no: 30, total: 1000, timestamp_seconds: 1 }),
            minimum_yes_proportion_of_total: Some(Percentage { basis_points: Some(2000) }),
            minimum_yes_proportion_of_exercised: Some(Percentage { basis_points: Some(6700) }),
            ballots: vec![("aa".into(), Ballot { vote: 1, cast_timestamp_seconds: 1, voting_power: 70 }), ("bb".into(), Ballot::default())],
            proposal_creation_timestamp_seconds: 86_400,
            initial_voting_period_seconds: 432_000,
            wait_for_quiet_deadline_increase_seconds: 216_000,
            reject_cost_e8s: 500_000_000_000,
            ..Default::default()
        }
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "-");
        assert_eq!(utc(86_400), "1970-01-02 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn show_gives_status_tally_thresholds_deadline_and_failure() {
        let mut p = data(Action::Motion(platform_types::sns::Motion { motion_text: "m".into() }));
        let text = render_proposal(&p);
        assert!(text.contains("Status                 Open"), "{text}");
        assert!(text.contains("yes 70 (7.00 % of the total), no 30 (3.00 %), total voting power 1000; yes is 70.00 % of the votes cast"), "{text}");
        assert!(text.contains("at least 20.00 % of the total voting power and more than 67.00 % of the votes cast"), "{text}");
        assert!(text.contains("1 of 2 neuron(s) voted"), "{text}");
        assert!(text.contains("Voting ends            1970-01-07 00:00:00 UTC"), "{text}");
        assert!(text.contains("CriticalDappOperations (critical)"), "{text}");
        p.decided_timestamp_seconds = 100;
        p.latest_tally = Some(Tally { yes: 900, no: 0, total: 1000, timestamp_seconds: 1 });
        p.failed_timestamp_seconds = 101;
        p.failure_reason = Some(GovernanceError { error_type: 11, error_message: "the target trapped".into() });
        let text = render_proposal(&p);
        assert!(text.contains("Status                 Failed: the target trapped"), "{text}");
        assert!(text.contains("Failure reason         the target trapped (error_type 11)"), "{text}");
        p.failed_timestamp_seconds = 0;
        p.latest_tally = Some(Tally { yes: 60, no: 40, total: 100, timestamp_seconds: 1 });
        assert_eq!(outcome(&p), "Rejected");
        let list = render_list(&[p]);
        assert!(list.starts_with("#7 [Rejected] Upgrade the hub\n    Motion | topic CriticalDappOperations | yes 60 / no 40 of 100"), "{list}");
    }

    #[test]
    fn an_executed_upgrade_is_checked_against_the_module_hash() {
        let canister = candid::Principal::from_slice(&[1; 10]);
        let wasm = b"\x1f\x8b\x08 wasm".to_vec();
        let p = data(Action::UpgradeSnsControlledCanister(UpgradeSnsControlledCanister {
            new_canister_wasm: wasm.clone(),
            canister_id: Some(canister),
            ..Default::default()
        }));
        let (c, expected) = expected_module_hash(&p).unwrap();
        assert_eq!((c, expected.clone()), (canister, Sha256::digest(&wasm).to_vec()));
        assert!(module_hash_verdict(c, &expected, Some(&expected)).0);
        let (ok, text) = module_hash_verdict(c, &expected, Some(&[9; 32]));
        assert!(!ok && text.contains("UPGRADE DID NOT TAKE") && text.contains(&hex::encode(&expected)), "{text}");
        assert!(!module_hash_verdict(c, &expected, None).0);
        assert!(expected_module_hash(&data(Action::RemoveGenericNervousSystemFunction(1000))).is_none());
    }
}
