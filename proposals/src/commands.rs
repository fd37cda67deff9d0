//! One builder per proposal type. Each checks its input and returns the proposal, or an error
//! before anything is printed or written.

use crate::candid_text;
use crate::canister_ids::{CanisterIds, SnsCanisterIds};
use crate::functions::{self, FunctionSpec};
use crate::hub_files::KnownShard;
use crate::meta::ProposalText;
use crate::output::{BuiltProposal, Payload};
use crate::units;
use crate::upgrade::{self, Mode, Target, UploadChunkArgs};
use candid::{CandidType, Principal};
use platform_types::sns::{
    to_hex, Action, ExecuteGenericNervousSystemFunction, Motion, NeuronId, Proposal,
    MAX_MOTION_TEXT_BYTES,
};
use platform_types::{
    check_reason, render_config_change, render_economic_config_change, render_platform_paused,
    render_registration_policy_change, render_rollout_command, render_shard_status,
    render_restore_shard, render_withdrawal_resolution, AddUnitsArgs, RestoreShardArgs, ConfigOverrides, EconomicConfigChanges,
    PlatformConfig, RegistrationPolicy, ResolveWithdrawalArgs, RetireUnitsArgs, RolloutCommand,
    SetPlatformPausedArgs, SetRegistrationPolicyArgs, SetShardStatusArgs,
    UnitInput, UpdateUnitArgs,
};

/// The project's custom functions (`sns/custom_functions/*.json`; a test checks they agree).
pub struct CustomFunction {
    pub id: u64,
    pub canister: &'static str,
    pub method: &'static str,
    pub validator: &'static str,
    pub topic: &'static str,
}

/// In id order, like the files (a slice, so adding a function does not mean counting them).
pub const CUSTOM_FUNCTIONS: &[CustomFunction] = &[
    CustomFunction {
        id: 1000,
        canister: "staking_hub",
        method: "set_shard_status",
        validator: "set_shard_status_validate",
        topic: "CriticalDappOperations",
    },
    CustomFunction {
        id: 1001,
        canister: "staking_hub",
        method: "update_config",
        validator: "update_config_validate",
        topic: "ApplicationBusinessLogic",
    },
    CustomFunction {
        id: 1002,
        canister: "learning_content",
        method: "add_units",
        validator: "add_units_validate",
        topic: "ApplicationBusinessLogic",
    },
    CustomFunction {
        id: 1003,
        canister: "learning_content",
        method: "update_unit",
        validator: "update_unit_validate",
        topic: "ApplicationBusinessLogic",
    },
    CustomFunction {
        id: 1004,
        canister: "learning_content",
        method: "retire_units",
        validator: "retire_units_validate",
        topic: "ApplicationBusinessLogic",
    },
    CustomFunction {
        id: 1005,
        canister: "staking_hub",
        method: "control_shard_rollout",
        validator: "control_shard_rollout_validate",
        topic: "DappCanisterManagement",
    },
    // The asset canister is DFINITY's ic-certified-assets: its validator is named by the library.
    CustomFunction {
        id: 1006,
        canister: "frontend_assets",
        method: "commit_proposed_batch",
        validator: "validate_commit_proposed_batch",
        topic: "DappCanisterManagement",
    },
    // Critical: opening registration lets scripts farm the cap; the credential names whom to trust.
    CustomFunction {
        id: 1007,
        canister: "staking_hub",
        method: "set_registration_policy",
        validator: "set_registration_policy_validate",
        topic: "CriticalDappOperations",
    },
    // Critical: "not minted" credits the learner back; a wrong one lets the same tokens be
    // withdrawn twice.
    CustomFunction {
        id: 1008,
        canister: "staking_hub",
        method: "resolve_withdrawal",
        validator: "resolve_withdrawal_validate",
        topic: "CriticalDappOperations",
    },
    // Critical: rewards, allowance, emission budget and shard cycles decide how fast the cap and
    // the hub's cycles are spent; a simple majority must not be able to change them.
    CustomFunction {
        id: 1009,
        canister: "staking_hub",
        method: "update_economic_config",
        validator: "update_economic_config_validate",
        topic: "CriticalDappOperations",
    },
    // Normal threshold on purpose: an emergency stop must pass quickly with a simple majority;
    // it moves no tokens and loses nothing (see docs/security.md).
    CustomFunction {
        id: 1010,
        canister: "staking_hub",
        method: "set_platform_paused",
        validator: "set_platform_paused_validate",
        topic: "ApplicationBusinessLogic",
    },
    // Critical: the shard's records since the snapshot (balances, withdrawals, progress) are lost.
    CustomFunction {
        id: 1011,
        canister: "staking_hub",
        method: "restore_shard_snapshot",
        validator: "restore_shard_snapshot_validate",
        topic: "CriticalDappOperations",
    },
    // Critical: every balance and pending withdrawal of a shard's learners moves.
    CustomFunction {
        id: 1012,
        canister: "staking_hub",
        method: "migrate_shard",
        validator: "migrate_shard_validate",
        topic: "CriticalDappOperations",
    },
];

pub fn custom_function(id: u64) -> &'static CustomFunction {
    CUSTOM_FUNCTIONS
        .iter()
        .find(|f| f.id == id)
        .expect("a known custom function")
}

/// Neuron, title, summary and URL as given on the command line.
#[derive(Clone, Debug)]
pub struct Common {
    pub neuron: NeuronId,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub url: String,
}

impl Common {
    /// The proposal text: the given title or `default_title`, the given summary or
    /// `default_summary` (required when there is none), all checked.
    pub fn text(
        &self,
        default_title: &str,
        default_summary: Option<String>,
    ) -> Result<ProposalText, String> {
        let title = self
            .title
            .clone()
            .unwrap_or_else(|| truncate(default_title, platform_types::sns::MAX_TITLE_BYTES));
        let summary =
            match (&self.summary, default_summary) {
                (Some(s), _) => s.clone(),
                (None, Some(d)) => d,
                (None, None) => return Err(
                    "give the proposal's rationale with --summary <text> or --summary-file <path>"
                        .into(),
                ),
            };
        let t = ProposalText {
            title,
            summary,
            url: self.url.clone(),
        };
        t.validate()?;
        Ok(t)
    }

    fn proposal(&self, t: ProposalText, action: Action) -> Proposal {
        Proposal {
            url: t.url,
            title: t.title,
            summary: t.summary,
            action: Some(action),
        }
    }
}

/// `s` cut to at most `max` bytes at a character boundary ("..." marks a cut).
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// An `ExecuteGenericNervousSystemFunction` proposal with a typed payload.
fn execute<T: CandidType>(
    c: &Common,
    function_id: u64,
    type_name: &'static str,
    payload: &T,
    preview: String,
    default_title: &str,
) -> Result<BuiltProposal, String> {
    // 1000, 1001, 1005 and 1007-1010 are rendered by the hub with the platform_types renderers
    // used here; learning_content's renderings (1002-1004) depend on the content in force.
    let shared_renderer = matches!(function_id, 1000 | 1001 | 1005 | 1007 | 1008 | 1009 | 1010 | 1011 | 1012);
    let t = c.text(default_title, None)?;
    let (bytes, text) = candid_text::to_checked_text(payload)?;
    let f = custom_function(function_id);
    Ok(BuiltProposal {
        label: String::new(),
        action: format!(
            "ExecuteGenericNervousSystemFunction {function_id}: {}.{}",
            f.canister, f.method
        ),
        topic: f.topic.to_string(),
        neuron: c.neuron.clone(),
        proposal: c.proposal(
            t,
            Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction {
                function_id,
                payload: bytes.clone(),
            }),
        ),
        payload: Some(Payload {
            type_name,
            bytes,
            text,
        }),
        preview_heading: if shared_renderer {
            format!(
                "Validator preview ({}.{} renders this for voters with the same platform_types renderer, checked against the state in force)",
                f.canister, f.validator
            )
        } else {
            format!(
                "Payload summary ({}.{} renders the real text for voters, against the content in force)",
                f.canister, f.validator
            )
        },
        preview,
        sections: Vec::new(),
        files: Vec::new(),
        needs_out: None,
    })
}

// ------------------------------------------------------------------ add-function

pub fn add_function(
    c: &Common,
    spec: &FunctionSpec,
    ids: &CanisterIds,
    sns: Option<&SnsCanisterIds>,
    label: &str,
    warnings: &mut Vec<String>,
) -> Result<BuiltProposal, String> {
    let f = spec
        .to_function(ids, sns)
        .map_err(|e| format!("function {}: {e}", spec.id))?;
    warnings.extend(spec.convention_warnings());
    let default_summary = format!(
        "Registers custom proposal {} ({}) on topic {}: proposals of this type call {}.{} after adoption, and {}.{} validates and renders their payload at submission.\n\n{}",
        spec.id, spec.name, spec.topic, spec.target_canister, spec.target_method, spec.target_canister, spec.validator_method, spec.description
    );
    let t = c
        .text(
            &format!("Add custom proposal {}: {}", spec.id, spec.name),
            Some(default_summary),
        )
        .map_err(|e| format!("function {}: {e}", spec.id))?;
    Ok(BuiltProposal {
        label: label.to_string(),
        action: format!("AddGenericNervousSystemFunction {} ({}.{})", spec.id, spec.target_canister, spec.target_method),
        topic: "CriticalDappOperations (every AddGenericNervousSystemFunction proposal is critical)".into(),
        neuron: c.neuron.clone(),
        proposal: c.proposal(t, Action::AddGenericNervousSystemFunction(f.clone())),
        payload: None,
        preview_heading: "What governance will register".into(),
        preview: functions::render(&f),
        sections: vec![(
            "Note".into(),
            "quill (as of v0.5.4) silently drops the `topic` of an AddGenericNervousSystemFunction proposal, \
             and SNS governance refuses a new function without a topic: submit this one with dfx."
                .into(),
        )],
        files: Vec::new(),
        needs_out: None,
    })
}

// ------------------------------------------------------------------ 1000 set-shard-status

/// How the shard is known to be one of the hub's.
pub enum ShardCheck {
    /// The `list_shards` output.
    Known(Vec<KnownShard>),
    /// `--skip-shard-check`.
    Skipped,
}

pub fn set_shard_status(
    c: &Common,
    shard: Principal,
    disabled: bool,
    reason: &str,
    check: &ShardCheck,
    warnings: &mut Vec<String>,
) -> Result<BuiltProposal, String> {
    check_reason(reason).map_err(|e| format!("--{e}"))?;
    match check {
        ShardCheck::Known(shards) => {
            let known = shards.iter().find(|s| s.id == shard).ok_or_else(|| {
                format!(
                    "--shard {shard} is not a shard of the hub: it is not among the {} shard(s) of --shards-file",
                    shards.len()
                )
            })?;
            // The hub refuses a change to the state the shard is already in (Active and Full
            // are both enabled).
            match (known.status.as_deref(), disabled) {
                (Some("Disabled"), true) => {
                    return Err(format!("--shard {shard} is already Disabled (per --shards-file): the hub would refuse the proposal"))
                }
                (Some(s), false) if s != "Disabled" => {
                    return Err(format!("--shard {shard} is {s} (per --shards-file), not Disabled: the hub would refuse to enable it"))
                }
                (None, _) => warnings.push(format!("--shards-file gives no status for {shard}: its current status was not checked")),
                _ => {}
            }
        }
        ShardCheck::Skipped => warnings.push(format!(
            "--skip-shard-check: {shard} was not checked against the hub's shards; the validator refuses an unknown shard at submission"
        )),
    }
    let args = SetShardStatusArgs {
        shard_id: shard,
        disabled,
        reason: reason.to_string(),
    };
    let preview = render_shard_status(&args)?;
    let title = if disabled {
        format!("Disable shard {shard}")
    } else {
        format!("Enable shard {shard}")
    };
    execute(c, 1000, "SetShardStatusArgs", &args, preview, &title)
}

// ------------------------------------------------------------------ 1001 update-config

pub fn update_config(
    c: &Common,
    current: &PlatformConfig,
    changes: &ConfigOverrides,
    warnings: &mut Vec<String>,
) -> Result<BuiltProposal, String> {
    let given = changes.fields_set();
    if given.is_empty() {
        return Err(
            "update-config: give at least one setting to change (e.g. --daily-attempt-limit 7)"
                .into(),
        );
    }
    let (_next, preview) = render_config_change(current, changes)
        .map_err(|e| format!("update-config: {e} (use the update-economic-config command)"))?;
    let same = changes.fields_unchanged(current);
    if !same.is_empty() {
        warnings.push(format!(
            "already in force, changes nothing: {}",
            same.join(", ")
        ));
    }
    let title = format!("Update platform configuration: {}", given.join(", "));
    execute(c, 1001, "ConfigOverrides", changes, preview, &title)
}

// ------------------------------------------------------------------ 1009 update-economic-config

pub fn update_economic_config(
    c: &Common,
    current: &PlatformConfig,
    changes: &EconomicConfigChanges,
    warnings: &mut Vec<String>,
) -> Result<BuiltProposal, String> {
    let overrides = changes.as_overrides();
    let given = overrides.fields_set();
    if given.is_empty() {
        return Err("update-economic-config: give at least one setting to change (e.g. --reward-per-quiz-e8s 5000000000)".into());
    }
    let (_next, preview) =
        render_economic_config_change(current, changes).map_err(|e| format!("update-economic-config: {e}"))?;
    let same = overrides.fields_unchanged(current);
    if !same.is_empty() {
        warnings.push(format!("already in force, changes nothing: {}", same.join(", ")));
    }
    let title = format!("Update economic parameters (critical): {}", given.join(", "));
    execute(c, 1009, "EconomicConfigChanges", changes, preview, &title)
}

// ------------------------------------------------------------------ 1010 platform pause

pub fn set_platform_paused(c: &Common, paused: bool, reason: &str) -> Result<BuiltProposal, String> {
    let args = SetPlatformPausedArgs { paused, reason: reason.to_string() };
    let preview = render_platform_paused(&args).map_err(|e| format!("pause-platform: {e}"))?;
    let title = if paused { "Pause the platform (emergency)" } else { "Resume the platform" };
    execute(c, 1010, "SetPlatformPausedArgs", &args, preview, title)
}

// ------------------------------------------------------------------ 1011 shard restore

/// The snapshot id as `get_restore_history` shows it (hex; Candid `blob` text is also hex once
/// its escapes are removed).
pub fn restore_shard_snapshot(
    c: &Common,
    shard: Principal,
    snapshot_hex: &str,
    snapshot_wasm_hash: Option<&str>,
    reason: &str,
) -> Result<BuiltProposal, String> {
    let cleaned: String = snapshot_hex.trim().trim_start_matches("0x").replace("\\", "");
    let snapshot = hex::decode(&cleaned).map_err(|e| format!("restore-shard: --snapshot is not hex: {e}"))?;
    if snapshot.is_empty() {
        return Err("restore-shard: --snapshot is empty; copy last_snapshot_id from get_restore_history".into());
    }
    let args = RestoreShardArgs { shard_id: shard, snapshot_id: serde_bytes::ByteBuf::from(snapshot), reason: reason.to_string() };
    let preview = render_restore_shard(&args, snapshot_wasm_hash.unwrap_or("as get_restore_history shows it"))
        .map_err(|e| format!("restore-shard: {e}"))?;
    execute(c, 1011, "RestoreShardArgs", &args, preview, "Restore a shard from its snapshot (critical)")
}

// ------------------------------------------------------------------ 1012 shard migration

/// Migrates a shard's users to a new shard, or (`delete_retired`) deletes a shard a finished
/// migration retired (`get_migration_status` on the hub).
pub fn migrate_shard(c: &Common, shard: Principal, delete_retired: bool) -> Result<BuiltProposal, String> {
    let args = if delete_retired {
        platform_types::MigrateShardArgs::DeleteRetired { shard }
    } else {
        platform_types::MigrateShardArgs::Migrate { shard }
    };
    let preview = platform_types::render_migrate_shard(&args).map_err(|e| format!("migrate-shard: {e}"))?;
    let title = if delete_retired { "Delete a retired shard" } else { "Migrate a shard to a new shard (critical)" };
    execute(c, 1012, "MigrateShardArgs", &args, preview, title)
}

// ------------------------------------------------------------------ 1002-1004 units

pub fn add_units(
    c: &Common,
    units_in: Vec<UnitInput>,
    warnings: &mut Vec<String>,
) -> Result<BuiltProposal, String> {
    units::validate_units(&units_in).map_err(|e| format!("add-units: {e}"))?;
    units::check_count(units_in.len()).map_err(|e| format!("add-units: {e}"))?;
    warnings.push(units::ANSWER_KEY_WARNING.to_string());
    let ids: Vec<&str> = units_in.iter().map(|u| u.unit.id.as_str()).collect();
    let title = format!("Add {} learning unit(s): {}", ids.len(), ids.join(", "));
    let preview = units::render_units("Add", &units_in);
    let args = AddUnitsArgs { units: units_in };
    let size = candid_text::encode(&args)?.len();
    if size > units::MAX_PROPOSAL_PAYLOAD_BYTES {
        return Err(format!(
            "add-units: the payload is {size} bytes of Candid, learning_content accepts at most {}: split the units into several proposals",
            units::MAX_PROPOSAL_PAYLOAD_BYTES
        ));
    }
    execute(c, 1002, "AddUnitsArgs", &args, preview, &title)
}

pub fn update_unit(
    c: &Common,
    unit: UnitInput,
    warnings: &mut Vec<String>,
) -> Result<BuiltProposal, String> {
    units::validate_units(std::slice::from_ref(&unit)).map_err(|e| format!("update-unit: {e}"))?;
    warnings.push(units::ANSWER_KEY_WARNING.to_string());
    let title = format!("Update learning unit {}", unit.unit.id);
    let preview = units::render_units("Replace", std::slice::from_ref(&unit));
    execute(
        c,
        1003,
        "UpdateUnitArgs",
        &UpdateUnitArgs { unit },
        preview,
        &title,
    )
}

pub fn retire_units(c: &Common, ids: Vec<String>, reason: &str) -> Result<BuiltProposal, String> {
    units::validate_retire_ids(&ids).map_err(|e| format!("retire-units: {e}"))?;
    units::check_count(ids.len()).map_err(|e| format!("retire-units: {e}"))?;
    check_reason(reason).map_err(|e| format!("--{e}"))?;
    let title = format!("Retire {} learning unit(s): {}", ids.len(), ids.join(", "));
    let preview = format!(
        "Retire {} unit(s): {}\nThey leave the listings and can no longer be passed; learners keep their completions and rewards.\nReason: {}",
        ids.len(),
        ids.join(", "),
        reason.trim()
    );
    let args = RetireUnitsArgs {
        unit_ids: ids,
        reason: reason.to_string(),
    };
    execute(c, 1004, "RetireUnitsArgs", &args, preview, &title)
}

// ------------------------------------------------------------------ 1007 set-registration-policy

/// `current`: the policy in force if known (`get_registration_policy` output); the hub's
/// validator checks against its own state in any case (and the code hashes against its codes).
pub fn set_registration_policy(
    c: &Common,
    current: Option<&RegistrationPolicy>,
    args: &SetRegistrationPolicyArgs,
    warnings: &mut Vec<String>,
) -> Result<BuiltProposal, String> {
    let (add, revoke, preview) =
        render_registration_policy_change(current, args).map_err(|e| format!("set-registration-policy: {e}"))?;
    if current.is_none() && args.policy.is_some() {
        warnings.push(
            "no --current-policy: the new policy was not compared with the one in force (the hub's validator does)".into(),
        );
    }
    if args.policy == Some(RegistrationPolicy::Open) {
        warnings.push("Open lets anyone register, scripts included: use it on test networks only".into());
    }
    let title = match &args.policy {
        Some(p) => format!("Set the registration policy: {}", policy_name(p)),
        None => format!("Invite codes: add {}, revoke {}", add.len(), revoke.len()),
    };
    execute(c, 1007, "SetRegistrationPolicyArgs", args, preview, &title)
}

fn policy_name(p: &RegistrationPolicy) -> &'static str {
    match p {
        RegistrationPolicy::Open => "open",
        RegistrationPolicy::InviteCode => "invite code",
        RegistrationPolicy::Credential(_) => "credential",
        RegistrationPolicy::InviteCodeOrCredential(_) => "invite code or credential",
    }
}

// ------------------------------------------------------------------ 1005 rollout

pub fn rollout(c: &Common, cmd: RolloutCommand) -> Result<BuiltProposal, String> {
    if cmd == (RolloutCommand::Start { batch_size: 0 }) {
        return Err("rollout start: the batch size must be at least 1 (the hub refuses Start with 0; `rollout pause` holds it)".into());
    }
    let preview = render_rollout_command(&cmd).map_err(|e| format!("rollout: {e}"))?;
    let title = match &cmd {
        RolloutCommand::Start { batch_size } => {
            format!("Start the shard Wasm rollout at {batch_size} shard(s) per tick")
        }
        RolloutCommand::Pause => "Pause the shard Wasm rollout".into(),
        RolloutCommand::Resume => "Resume the shard Wasm rollout".into(),
        RolloutCommand::SetBatchSize { batch_size } => {
            format!("Set the shard Wasm rollout batch size to {batch_size}")
        }
    };
    execute(c, 1005, "RolloutCommand", &cmd, preview, &title)
}

// ------------------------------------------------------------------ 1008 resolve-withdrawal

/// 1008: governance records a withdrawal's mint outcome (the hub re-checks the journal and, for
/// a block, the ledger; "not minted" is refused until the ledger's dedup window has passed).
pub fn resolve_withdrawal(c: &Common, args: ResolveWithdrawalArgs) -> Result<BuiltProposal, String> {
    let preview = render_withdrawal_resolution(&args).map_err(|e| format!("resolve-withdrawal: --{e}"))?;
    let title = match args.minted_at_block {
        Some(block) => format!("Record withdrawal {} of shard {} as minted at block {block}", args.withdrawal_id, args.shard_id),
        None => format!("Record withdrawal {} of shard {} as not minted", args.withdrawal_id, args.shard_id),
    };
    execute(c, 1008, "ResolveWithdrawalArgs", &args, preview, &title)
}

// ------------------------------------------------------------------ 1006 commit-assets

/// 1006: commit a batch of web app changes locked in frontend_assets by `propose_commit_batch`
/// (`platform-deploy propose-assets` prints the batch id and evidence).
pub fn commit_assets(c: &Common, batch_id: u64, evidence_hex: &str) -> Result<BuiltProposal, String> {
    let evidence = hex::decode(evidence_hex.trim().trim_start_matches("0x"))
        .map_err(|e| format!("--evidence is not hex: {e}"))?;
    // compute_evidence returns a SHA-256.
    if evidence.len() != 32 {
        return Err(format!("--evidence must be 32 bytes (64 hex digits, from compute_evidence), got {} bytes", evidence.len()));
    }
    // The same text validate_commit_proposed_batch renders for voters.
    let preview = format!("commit proposed batch {batch_id} with evidence {}", hex::encode(&evidence));
    let args = platform_types::assets::CommitProposedBatchArguments {
        batch_id: candid::Nat::from(batch_id),
        evidence: serde_bytes::ByteBuf::from(evidence),
    };
    let title = format!("Commit web app batch {batch_id}");
    let mut built = execute(c, 1006, "CommitProposedBatchArguments", &args, preview, &title)?;
    built.sections.push((
        "Check before voting".into(),
        "Rebuild the web app from the proposal's source revision, stage it on a local deployment with \
         `platform-deploy propose-assets`, and compare the evidence it prints with this proposal's; \
         the validator refuses evidence that does not match the batch locked in frontend_assets."
            .into(),
    ));
    Ok(built)
}

// ------------------------------------------------------------------ upgrade

/// Where the upgrade argument comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgSource {
    None,
    /// Candid text of the argument, e.g. `(opt record { sns_governance_id = opt principal "..." })`.
    Candid(String),
    /// Candid-encoded bytes (`--arg-file`).
    Bytes(Vec<u8>),
    /// `--set-governance`.
    SetGovernance(Principal),
}

pub struct UpgradeRequest {
    pub target: Target,
    pub canister_id: Principal,
    pub mode: Mode,
    pub wasm: Vec<u8>,
    pub arg: ArgSource,
    /// `--chunked --store-canister`.
    pub store_canister: Option<Principal>,
    pub confirm_reinstall: bool,
    pub network: String,
}

pub fn upgrade(
    c: &Common,
    req: UpgradeRequest,
    warnings: &mut Vec<String>,
) -> Result<BuiltProposal, String> {
    let name = req.target.name();
    let info = upgrade::check_wasm(&req.wasm)?;
    if req.target == Target::RewardLedger && req.mode == Mode::Reinstall {
        return Err("--mode reinstall is refused for reward_ledger: it would erase every balance and the block log".into());
    }
    if req.mode == Mode::Reinstall {
        if !req.confirm_reinstall {
            return Err(format!(
                "--mode reinstall wipes all of {name}'s state (for staking_hub: the shard registry, the user index and the minting books); \
                 add --confirm-reinstall if that is really meant"
            ));
        }
        if matches!(req.arg, ArgSource::None | ArgSource::SetGovernance(_)) {
            return Err(format!(
                "--mode reinstall runs {name}'s init: give its init argument ({}) with --arg-candid or --arg-file",
                req.target.arg_type(Mode::Reinstall).1
            ));
        }
        warnings.push(format!(
            "REINSTALL: executing this proposal ERASES every piece of {name}'s state"
        ));
    }
    if let Some(store) = req.store_canister {
        if store == Principal::management_canister() || store == req.canister_id {
            return Err(format!(
                "--store-canister {store}: must be a separate canister that holds the chunks"
            ));
        }
    }
    let (ty, ty_name) = req.target.arg_type(req.mode);
    let arg: Option<Vec<u8>> = match &req.arg {
        ArgSource::None if req.target == Target::RewardLedger => Some(upgrade::ledger_upgrade_without_changes()?),
        ArgSource::None => None,
        ArgSource::Candid(text) => Some(
            candid_text::encode_text_with_type(text, &ty)
                .map_err(|e| format!("--arg-candid: expected `({ty_name})`: {e}"))?,
        ),
        ArgSource::Bytes(b) => Some(b.clone()),
        ArgSource::SetGovernance(p) => Some(req.target.set_governance_arg(*p)?),
    };
    let arg_text = match &arg {
        Some(bytes) => Some(req.target.arg_text(req.mode, bytes)?),
        None => None,
    };
    let chunks = req.store_canister.map(|_| upgrade::split_chunks(&req.wasm));
    let action = upgrade::build_action(
        req.canister_id,
        req.mode,
        &req.wasm,
        arg.clone(),
        req.store_canister.zip(chunks.as_deref()),
    )?;
    let wasm_hash = to_hex(&info.sha256);

    let mut sections = Vec::new();
    let mut wasm_text = format!(
        "{} bytes, {}; sha256 {wasm_hash} (the module hash that governance shows and that `dfx canister info {name}` reports after the upgrade)",
        info.len,
        if info.gzipped { "gzip" } else { "raw Wasm" }
    );
    if let Some((len, h)) = info.decompressed {
        wasm_text.push_str(&format!(
            "\ndecompressed module: {len} bytes, sha256 {}",
            to_hex(&h)
        ));
    } else {
        warnings.push("the Wasm is not gzipped: `bash scripts/build-canisters.sh` packages target/canisters/<name>.wasm.gz".into());
    }
    sections.push(("Wasm".to_string(), wasm_text));
    let arg_section = match (&arg, &arg_text) {
        (Some(bytes), Some(text)) => format!(
            "{} : {ty_name}\n{} bytes, sha256 {}\nhex: {}",
            text.trim(),
            bytes.len(),
            to_hex(&upgrade::sha256(bytes)),
            hex::encode(bytes)
        ),
        _ => format!("none: governance passes `()`, which the canister reads as `null : {ty_name}` (nothing changes)"),
    };
    sections.push(("Upgrade argument".to_string(), arg_section));

    let mut files = Vec::new();
    if let Some(bytes) = &arg {
        files.push(("upgrade_arg.bin".to_string(), bytes.clone()));
    }
    let mut needs_out = None;
    if let (Some(store), Some(chunks)) = (req.store_canister, &chunks) {
        needs_out =
            Some("a chunked upgrade writes the chunks and their upload arguments".to_string());
        let mut list = String::new();
        let mut cmds = format!(
            "# The caller must be a controller of the store canister {store}. The store canister must be on the same subnet as {name} \
             ({}) and SNS root must be one of its controllers: root installs the module from its chunk store.\n",
            req.canister_id
        );
        for (i, ch) in chunks.iter().enumerate() {
            list.push_str(&format!(
                "chunk {i:03}: {} bytes, sha256 {}\n",
                ch.bytes.len(),
                to_hex(&ch.sha256)
            ));
            let upload = UploadChunkArgs {
                canister_id: store,
                chunk: ch.bytes.clone(),
            };
            let text =
                candid_text::bytes_to_text::<UploadChunkArgs>(&candid_text::encode(&upload)?)?;
            let arg_file = format!("chunks/upload_chunk_{i:03}.did");
            files.push((format!("chunks/chunk_{i:03}.bin"), ch.bytes.clone()));
            files.push((arg_file.clone(), format!("{text}\n").into_bytes()));
            cmds.push_str(&format!(
                "dfx canister --network {} call aaaaa-aa upload_chunk --argument-file <OUT>/{arg_file}   # replies record {{ hash = {} }}\n",
                req.network,
                candid_text::blob_literal(&ch.sha256)
            ));
        }
        list.push_str(&format!(
            "whole module: sha256 {wasm_hash} (wasm_module_hash)"
        ));
        cmds.push_str(&format!(
            "dfx canister --network {} call aaaaa-aa stored_chunks '(record {{ canister_id = principal \"{store}\" }})'   # must list every hash above\n\
             # Submit the proposal only once every chunk is stored; clear the store (clear_chunk_store) after the upgrade executed.",
            req.network
        ));
        sections.push((
            format!(
                "Chunks ({} x at most {} bytes)",
                chunks.len(),
                upgrade::CHUNK_BYTES
            ),
            list,
        ));
        sections.push(("Upload the chunks first".to_string(), cmds));
    }
    if req.target == Target::StakingHub {
        sections.push((
            "Note".to_string(),
            "staking_hub embeds the user_profile shard Wasm: after this upgrade, `get_shard_wasm_hash` shows the new shard Wasm's hash, \
             and the shards only move to it through a rollout proposal (`proposals rollout start --batch-size N`)."
                .to_string(),
        ));
    }
    let preview = format!(
        "Upgrade dapp canister {name} ({})\nMode: {:?}\nWasm sha256: {wasm_hash}\nChunked: {}\nUpgrade argument: {}",
        req.canister_id,
        req.mode,
        action.chunked_canister_wasm.is_some(),
        match &arg {
            Some(a) => format!("{} bytes, sha256 {}", a.len(), to_hex(&upgrade::sha256(a))),
            None => "none".into(),
        }
    );
    let t = c.text(
        &format!(
            "Upgrade {name} to the Wasm with sha256 {}",
            &wasm_hash[..16]
        ),
        None,
    )?;
    Ok(BuiltProposal {
        label: String::new(),
        action: format!(
            "UpgradeSnsControlledCanister {name} ({}), mode {:?}",
            req.canister_id, req.mode
        ),
        topic: "DappCanisterManagement".into(),
        neuron: c.neuron.clone(),
        proposal: c.proposal(t, Action::UpgradeSnsControlledCanister(action)),
        payload: None,
        preview_heading: "What governance will render (in spirit)".into(),
        preview,
        sections,
        files,
        needs_out,
    })
}

// ------------------------------------------------------------------ native SNS actions

fn native(c: &Common, t: ProposalText, action: Action, summary_of_action: &str, preview: String) -> BuiltProposal {
    let topic = action.native_topic().map(|t| format!("{t:?}")).unwrap_or_default();
    let critical = action.native_topic().is_some_and(|t| t.is_critical());
    BuiltProposal {
        label: String::new(),
        action: summary_of_action.to_string(),
        topic: if critical { format!("{topic} (critical: more than 67 % of the votes cast and 20 % of all voting power)") } else { topic },
        neuron: c.neuron.clone(),
        proposal: c.proposal(t, action),
        payload: None,
        preview_heading: "What governance will render (in spirit)".into(),
        preview,
        sections: Vec::new(),
        files: Vec::new(),
        needs_out: None,
    }
}

/// RemoveGenericNervousSystemFunction: the id is reserved for ever after (never reused).
pub fn remove_function(c: &Common, id: u64, warnings: &mut Vec<String>) -> Result<BuiltProposal, String> {
    if id < platform_types::sns::MIN_GENERIC_FUNCTION_ID {
        return Err(format!(
            "--id {id}: only custom functions (ids from {}) can be removed; native ones are part of SNS governance",
            platform_types::sns::MIN_GENERIC_FUNCTION_ID
        ));
    }
    let ours = CUSTOM_FUNCTIONS.iter().find(|f| f.id == id);
    if let Some(f) = ours {
        warnings.push(format!(
            "function {id} is the platform's {}.{}: once removed, its id is reserved for ever, so that proposal \
             can only come back under a new id (a new JSON file and AddGenericNervousSystemFunction)",
            f.canister, f.method
        ));
    }
    let what = match ours {
        Some(f) => format!("{id} ({}.{})", f.canister, f.method),
        None => id.to_string(),
    };
    let t = c.text(&format!("Remove custom proposal {what}"), None)?;
    let preview = format!(
        "Remove the custom proposal type {what}. Its id is reserved afterwards: no function can be added with it again."
    );
    Ok(native(c, t, Action::RemoveGenericNervousSystemFunction(id), &format!("RemoveGenericNervousSystemFunction {what}"), preview))
}

/// RegisterDappCanisters: root must already be a controller of each canister; it becomes the
/// only one.
pub fn register_dapps(c: &Common, canister_ids: Vec<Principal>, sns: Option<&SnsCanisterIds>) -> Result<BuiltProposal, String> {
    use platform_types::sns::{RegisterDappCanisters, MAX_DAPPS_PER_PROPOSAL};
    if canister_ids.is_empty() || canister_ids.len() > MAX_DAPPS_PER_PROPOSAL {
        return Err(format!("--canister: give 1..={MAX_DAPPS_PER_PROPOSAL} canisters, got {}", canister_ids.len()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in &canister_ids {
        if !seen.insert(*id) {
            return Err(format!("--canister {id} is given twice"));
        }
        if *id == Principal::management_canister() {
            return Err("--canister aaaaa-aa: the management canister is not a canister root can control".into());
        }
        if let Some(name) = sns.and_then(|s| s.name_of(id)) {
            return Err(format!("--canister {id} is the SNS's own {name} canister, not a dapp canister"));
        }
    }
    let list: Vec<String> = canister_ids.iter().map(|p| p.to_text()).collect();
    let t = c.text(&format!("Register {} dapp canister(s) with SNS root: {}", list.len(), list.join(", ")), None)?;
    let preview = format!(
        "Register these canisters as dapp canisters of the SNS (root becomes their only controller):\n{}\n\
         Before the vote, add SNS root as a controller of each (`dfx canister update-settings --add-controller <ROOT_ID> <ID>`): \
         execution fails otherwise.",
        list.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n")
    );
    Ok(native(c, t, Action::RegisterDappCanisters(RegisterDappCanisters { canister_ids }), "RegisterDappCanisters", preview))
}

/// Which treasury `transfer-treasury` spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Treasury {
    SnsToken,
    Icp,
}

/// TransferSnsTreasuryFunds: tokens from one of governance's treasuries to an account.
pub fn transfer_treasury(
    c: &Common,
    from: Treasury,
    to: Principal,
    to_subaccount: Option<Vec<u8>>,
    amount_e8s: u64,
    memo: Option<u64>,
) -> Result<BuiltProposal, String> {
    use platform_types::sns::{Subaccount, TransferFrom, TransferSnsTreasuryFunds};
    if amount_e8s == 0 {
        return Err("--amount-e8s must be positive".into());
    }
    if let Some(s) = &to_subaccount {
        if s.len() != 32 {
            return Err(format!("--to-subaccount must be 32 bytes (64 hex digits), got {} bytes", s.len()));
        }
    }
    if to == Principal::anonymous() || to == Principal::management_canister() {
        return Err(format!("--to {to}: not an account anyone can spend from"));
    }
    let (code, token) = match from {
        Treasury::SnsToken => (TransferFrom::SnsTokenTreasury, "SNS token"),
        Treasury::Icp => (TransferFrom::IcpTreasury, "ICP"),
    };
    let whole = format!("{}.{:08}", amount_e8s / 100_000_000, amount_e8s % 100_000_000);
    let account = match &to_subaccount {
        Some(s) => format!("{to} subaccount {}", hex::encode(s)),
        None => format!("{to} (default subaccount)"),
    };
    let t = c.text(&format!("Transfer {whole} {token} from the treasury to {to}"), None)?;
    let preview = format!(
        "Transfer {amount_e8s} e8s ({whole} {token}) from the {token} treasury\nTo: {account}\nMemo: {}\n\
         The real SNS caps treasury transfers by the treasury's valuation (a share of it per 7 days) and refuses larger ones at submission.",
        memo.map(|m| m.to_string()).unwrap_or_else(|| "none".into())
    );
    let action = Action::TransferSnsTreasuryFunds(TransferSnsTreasuryFunds {
        from_treasury: code as i32,
        to_principal: Some(to),
        to_subaccount: to_subaccount.map(|subaccount| Subaccount { subaccount }),
        memo,
        amount_e8s,
    });
    Ok(native(c, t, action, &format!("TransferSnsTreasuryFunds from the {token} treasury"), preview))
}

/// ManageDappCanisterSettings: settings of dapp canisters, applied by root.
pub fn manage_dapp_settings(
    c: &Common,
    settings: platform_types::sns::ManageDappCanisterSettings,
) -> Result<BuiltProposal, String> {
    use platform_types::sns::LogVisibilityCode;
    if settings.canister_ids.is_empty() {
        return Err("--canister: give at least one dapp canister".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in &settings.canister_ids {
        if !seen.insert(*id) {
            return Err(format!("--canister {id} is given twice"));
        }
    }
    let mut changes = Vec::new();
    let mut show = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            changes.push(format!("  {name}: {v}"));
        }
    };
    show("compute_allocation", settings.compute_allocation.map(|v| format!("{v} %")));
    show("memory_allocation", settings.memory_allocation.map(|v| format!("{v} bytes")));
    show("freezing_threshold", settings.freezing_threshold.map(|v| format!("{v} seconds")));
    show("reserved_cycles_limit", settings.reserved_cycles_limit.map(|v| format!("{v} cycles")));
    show("wasm_memory_limit", settings.wasm_memory_limit.map(|v| format!("{v} bytes")));
    show("wasm_memory_threshold", settings.wasm_memory_threshold.map(|v| format!("{v} bytes")));
    show(
        "log_visibility",
        settings.log_visibility.map(|v| match v {
            x if x == LogVisibilityCode::Controllers as i32 => "controllers".to_string(),
            x if x == LogVisibilityCode::Public as i32 => "public".to_string(),
            other => other.to_string(),
        }),
    );
    if changes.is_empty() {
        return Err("manage-dapp-settings: give at least one setting to change".into());
    }
    if settings.compute_allocation.is_some_and(|v| v > 100) {
        return Err("--compute-allocation is a percentage: 0..=100".into());
    }
    if let (Some(limit), Some(threshold)) = (settings.wasm_memory_limit, settings.wasm_memory_threshold) {
        if threshold > limit {
            return Err("--wasm-memory-threshold must not exceed --wasm-memory-limit".into());
        }
    }
    let ids: Vec<String> = settings.canister_ids.iter().map(|p| p.to_text()).collect();
    let t = c.text(&format!("Change the settings of dapp canister(s) {}", ids.join(", ")), None)?;
    let preview = format!(
        "Change the settings of {} (through SNS root's manage_dapp_canister_settings; the others stay as they are):\n{}",
        ids.join(", "),
        changes.join("\n")
    );
    Ok(native(c, t, Action::ManageDappCanisterSettings(settings), "ManageDappCanisterSettings", preview))
}

// ------------------------------------------------------------------ motion

pub fn motion(c: &Common, text: &str) -> Result<BuiltProposal, String> {
    if text.trim().is_empty() {
        return Err("--text: the motion text must not be empty".into());
    }
    if text.len() > MAX_MOTION_TEXT_BYTES {
        return Err(format!(
            "--text: the motion text must be at most {MAX_MOTION_TEXT_BYTES} bytes, got {}",
            text.len()
        ));
    }
    if c.title.is_none() {
        return Err("motion: give the motion's --title".into());
    }
    let t = c.text("", None)?;
    Ok(BuiltProposal {
        label: String::new(),
        action: "Motion".into(),
        topic: "Governance".into(),
        neuron: c.neuron.clone(),
        proposal: c.proposal(
            t,
            Action::Motion(Motion {
                motion_text: text.to_string(),
            }),
        ),
        payload: None,
        preview_heading: "Motion text".into(),
        preview: text.to_string(),
        sections: Vec::new(),
        files: Vec::new(),
        needs_out: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_custom_function_table_matches_the_json_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sns/custom_functions");
        let specs = functions::load_specs(&dir, &[], true).unwrap();
        assert_eq!(specs.len(), CUSTOM_FUNCTIONS.len());
        for (s, f) in specs.iter().zip(CUSTOM_FUNCTIONS.iter()) {
            assert_eq!(
                (
                    s.id,
                    s.target_canister.as_str(),
                    s.target_method.as_str(),
                    s.validator_method.as_str(),
                    s.topic.as_str()
                ),
                (f.id, f.canister, f.method, f.validator, f.topic)
            );
        }
    }

    #[test]
    fn truncation_keeps_char_boundaries() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcdef", 5), "ab...");
        let t = truncate(&"é".repeat(200), 256);
        assert!(t.len() <= 256 && t.ends_with("..."));
    }
}
