//! The command line: flags, reading the input files, and running one builder.

use crate::canister_ids::{parse_principal, read_text, CanisterIds, SnsCanisterIds};
use crate::commands::{self, ArgSource, Common, ShardCheck, UpgradeRequest};
use crate::output::{self, Built, Context, Rendered};
use crate::upgrade::{Mode, Target};
use crate::{functions, hub_files, meta, units};
use clap::{Args, Parser, Subcommand, ValueEnum};
use platform_types::{ConfigOverrides, EconomicConfigChanges, PlatformConfig, RolloutCommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::str::FromStr;

/// Builds, checks and prints the SNS proposals of the learn-to-earn platform.
///
/// Nothing is submitted: the tool prints the `manage_neuron` argument as Candid text with the
/// dfx and quill commands that submit it, and with --out writes manage_neuron.did,
/// manage_neuron.bin, proposal.bin (for quill), proposal.did and payload.bin. Bad input is
/// refused (exit 1) before anything is printed or written.
#[derive(Parser, Debug)]
#[command(name = "proposals", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Args, Debug)]
pub struct CommonArgs {
    /// The proposing neuron's id in hex (required).
    #[arg(long, global = true, value_name = "HEX")]
    pub neuron: Option<String>,
    /// Proposal title, 1..=256 bytes (each command has a default, except motion).
    #[arg(long, global = true)]
    pub title: Option<String>,
    /// Proposal summary (Markdown), at most 30,000 bytes.
    #[arg(long, global = true)]
    pub summary: Option<String>,
    /// Read the summary from a file.
    #[arg(long, global = true, value_name = "PATH")]
    pub summary_file: Option<PathBuf>,
    /// Link for voters (http or https, at most 2,048 bytes), e.g. the forum thread.
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Also write manage_neuron.did, manage_neuron.bin, proposal.bin (quill's --proposal-path),
    /// proposal.did and payload.bin here.
    #[arg(long, global = true, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// ic, local, or a URL: which ids of --canister-ids (a URL on 127.0.0.1/localhost reads the
    /// local ones), the --network of the printed dfx commands, and where --submit, vote, list
    /// and show go (ic = https://icp-api.io, local = http://127.0.0.1:4943).
    #[arg(long, global = true, default_value = "ic", value_parser = parse_network)]
    pub network: String,
    /// Sign and send the proposal to SNS governance (needs --pem); without it nothing is sent.
    #[arg(long, global = true)]
    pub submit: bool,
    /// The identity that signs (--submit, vote): a PEM file, Ed25519 ("PRIVATE KEY", as
    /// `dfx identity export` and icp-cli write it) or secp256k1 ("EC PRIVATE KEY", dfx's default).
    #[arg(long, global = true, value_name = "PATH")]
    pub pem: Option<PathBuf>,
    /// The network's root key (DER), for a network other than the IC (`localnet serve` writes
    /// <state-dir>/root_key.der).
    #[arg(long, global = true, value_name = "PATH")]
    pub root_key: Option<PathBuf>,
    /// SNS governance's id (instead of --sns-canister-ids).
    #[arg(long, global = true, value_name = "PRINCIPAL")]
    pub governance: Option<String>,
    /// After --submit or vote: wait until the proposal is decided and executed (or failed).
    #[arg(long, global = true)]
    pub wait: bool,
    /// The longest --wait, in seconds.
    #[arg(long, global = true, default_value_t = 600, value_name = "SECS")]
    pub wait_secs: u64,
    /// dfx's canister_ids.json ({ "staking_hub": { "ic": "<id>" }, ... }).
    #[arg(long, global = true, value_name = "PATH")]
    pub canister_ids: Option<PathBuf>,
    /// quill's sns_canister_ids.json: names SNS governance in the printed commands, and the SNS
    /// canisters no custom function may target.
    #[arg(long, global = true, value_name = "PATH")]
    pub sns_canister_ids: Option<PathBuf>,
}

fn parse_network(s: &str) -> Result<String, String> {
    crate::network::network_url(s).map_err(|e| e.to_string())?;
    Ok(s.trim_end_matches('/').to_string())
}

/// Which ids of a dfx `canister_ids.json` a `--network` value reads.
fn ids_network(network: &str) -> &str {
    match network {
        "ic" | "local" => network,
        url => {
            let host = url.split("://").nth(1).unwrap_or("").split(['/', ':']).next().unwrap_or("");
            if host == "127.0.0.1" || host == "localhost" || host == "[" || host.ends_with(".localhost") {
                "local"
            } else {
                "ic"
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VoteArg {
    Yes,
    No,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TreasuryArg {
    /// The SNS token treasury (governance's treasury subaccount on the SNS ledger).
    Sns,
    /// The ICP treasury (governance's account on the NNS ledger).
    Icp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogVisibilityArg {
    Controllers,
    Public,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// AddGenericNervousSystemFunction: register custom proposals from sns/custom_functions/<id>_*.json.
    AddFunction {
        /// The function id (the file's prefix); repeatable.
        #[arg(long = "id", required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<u64>,
        /// Every function file (one proposal each).
        #[arg(long)]
        all: bool,
        /// Where the function files are.
        #[arg(long, default_value = "sns/custom_functions", value_name = "DIR")]
        functions_dir: PathBuf,
        /// A canister id by name (wins over --canister-ids); repeatable.
        #[arg(long = "canister", value_name = "NAME=PRINCIPAL")]
        canisters: Vec<String>,
    },
    /// 1000: disable or enable one user_profile shard (emergency switch; critical topic).
    SetShardStatus {
        /// The shard's principal.
        #[arg(long)]
        shard: String,
        #[arg(long, conflicts_with = "enable", required_unless_present = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
        /// Why (1..=1000 bytes; shown to voters).
        #[arg(long)]
        reason: String,
        /// `dfx canister call staking_hub list_shards` output (Candid text, or JSON).
        #[arg(long, value_name = "PATH", conflicts_with = "skip_shard_check")]
        shards_file: Option<PathBuf>,
        /// Do not check that the shard is one of the hub's (the validator still does).
        #[arg(long)]
        skip_shard_check: bool,
    },
    /// 1001: change platform configuration values (any subset).
    UpdateConfig(UpdateConfigArgs),
    /// 1009 (critical): change the economic parameters: reward per quiz, allowance chunk, daily
    /// emission budget, shard cycles (initial, top-up threshold, amount, per-shard daily top-up
    /// budget) (any subset).
    UpdateEconomicConfig(EconomicConfigArgs),
    /// 1010 (emergency): pause the whole platform (registration, quizzes, allowances, minting),
    /// or resume it with --resume.
    PausePlatform {
        /// Resume instead of pausing.
        #[arg(long)]
        resume: bool,
        /// Why (1..=1000 bytes; shown to voters).
        #[arg(long)]
        reason: String,
    },
    /// 1011 (critical): restore a shard from the snapshot the hub took before its last upgrade
    /// (`dfx canister call staking_hub get_restore_history` lists each shard's).
    RestoreShard {
        /// The shard's principal.
        #[arg(long)]
        shard: String,
        /// The snapshot id (hex), the shard's last_snapshot_id in get_restore_history.
        #[arg(long)]
        snapshot: String,
        /// The module hash the snapshot holds (last_snapshot_wasm_hash), shown in the preview.
        #[arg(long, value_name = "HEX")]
        snapshot_wasm_hash: Option<String>,
        /// Why (1..=1000 bytes; shown to voters).
        #[arg(long)]
        reason: String,
    },
    /// 1012 (critical): move every user of a shard to a new shard (the hub creates it, freezes
    /// the old one, copies page by page, switches its index, then stops and retires the old
    /// one; `get_migration_status` follows it), or with --delete-retired delete a shard a
    /// finished migration retired (its cycles go back to the hub first).
    MigrateShard {
        /// The shard's principal.
        #[arg(long)]
        shard: String,
        /// Delete this retired shard instead of migrating it.
        #[arg(long)]
        delete_retired: bool,
    },
    /// 1002: add learning units from a JSON array of { unit, answer_key }.
    AddUnits {
        #[arg(long, value_name = "PATH")]
        file: PathBuf,
    },
    /// 1003: replace one learning unit from a JSON object { unit, answer_key }.
    UpdateUnit {
        #[arg(long, value_name = "PATH")]
        file: PathBuf,
    },
    /// 1004: retire learning units.
    RetireUnits {
        /// A unit id; repeatable.
        #[arg(long = "unit", required = true, value_name = "ID")]
        units: Vec<String>,
        /// Why (1..=1000 bytes; shown to voters).
        #[arg(long)]
        reason: String,
    },
    /// 1005: control the rollout of the hub's embedded shard Wasm.
    Rollout {
        #[command(subcommand)]
        command: RolloutCmd,
    },
    /// 1006: commit a batch of web app changes locked in frontend_assets (from
    /// `platform-deploy propose-assets`).
    CommitAssets {
        /// The batch id.
        #[arg(long, value_parser = num::<u64>)]
        batch_id: u64,
        /// The batch's evidence (compute_evidence), 64 hex digits.
        #[arg(long, value_name = "HEX")]
        evidence: String,
    },
    /// 1007: set who may register (open, invite codes, a credential, or either), and add or
    /// revoke invite codes (only their sha256 goes into the proposal).
    SetRegistrationPolicy(RegistrationPolicyArgs),
    /// 1008: record the outcome of a withdrawal mint the hub could not reconcile by itself
    /// (critical topic: it moves tokens back to a learner's balance, or completes a withdrawal).
    ResolveWithdrawal {
        /// The shard's principal.
        #[arg(long)]
        shard: String,
        /// The withdrawal id (per shard).
        #[arg(long, value_parser = num::<u64>)]
        withdrawal_id: u64,
        /// The ledger block that holds the mint (the hub checks it against the ledger).
        #[arg(long, value_parser = num::<u64>, conflicts_with = "not_minted", required_unless_present = "not_minted")]
        minted_at_block: Option<u64>,
        /// It was never minted: the shard credits the learner back.
        #[arg(long)]
        not_minted: bool,
        /// Why (1..=1000 bytes; shown to voters).
        #[arg(long)]
        reason: String,
    },
    /// UpgradeSnsControlledCanister for staking_hub, learning_content or frontend_assets.
    Upgrade(UpgradeArgs),
    /// RemoveGenericNervousSystemFunction: remove a custom proposal type (its id stays reserved).
    RemoveFunction {
        /// The custom function's id (1000 or more).
        #[arg(long, value_parser = num::<u64>)]
        id: u64,
    },
    /// RegisterDappCanisters: hand canisters to SNS root (root must already be a controller).
    RegisterDapps {
        /// A canister: a principal, or a name of --canister-ids; repeatable.
        #[arg(long = "canister", required = true, value_name = "NAME|PRINCIPAL")]
        canisters: Vec<String>,
    },
    /// TransferSnsTreasuryFunds (critical): pay from the SNS token or ICP treasury to an account.
    TransferTreasury {
        #[arg(long, value_enum)]
        from: TreasuryArg,
        /// The receiving principal.
        #[arg(long, value_name = "PRINCIPAL")]
        to: String,
        /// The receiving subaccount, 64 hex digits (default: none).
        #[arg(long, value_name = "HEX")]
        to_subaccount: Option<String>,
        /// The amount in e8s (1 token = 100_000_000).
        #[arg(long, value_parser = num::<u64>)]
        amount_e8s: u64,
        /// The transfer's memo.
        #[arg(long, value_parser = num::<u64>)]
        memo: Option<u64>,
    },
    /// ManageDappCanisterSettings: change settings of dapp canisters (through SNS root).
    ManageDappSettings {
        /// A dapp canister: a principal, or a name of --canister-ids; repeatable.
        #[arg(long = "canister", required = true, value_name = "NAME|PRINCIPAL")]
        canisters: Vec<String>,
        /// Percent (0..=100).
        #[arg(long, value_parser = num::<u64>)]
        compute_allocation: Option<u64>,
        /// Bytes.
        #[arg(long, value_parser = num::<u64>)]
        memory_allocation: Option<u64>,
        /// Seconds.
        #[arg(long, value_parser = num::<u64>)]
        freezing_threshold: Option<u64>,
        /// Cycles.
        #[arg(long, value_parser = num::<u64>)]
        reserved_cycles_limit: Option<u64>,
        /// Bytes.
        #[arg(long, value_parser = num::<u64>)]
        wasm_memory_limit: Option<u64>,
        /// Bytes.
        #[arg(long, value_parser = num::<u64>)]
        wasm_memory_threshold: Option<u64>,
        #[arg(long, value_enum)]
        log_visibility: Option<LogVisibilityArg>,
    },
    /// Vote with --neuron on a proposal (needs --pem; --wait waits for the outcome).
    Vote {
        #[arg(long, value_parser = num::<u64>)]
        proposal_id: u64,
        #[arg(long, value_enum)]
        vote: VoteArg,
    },
    /// List the newest proposals: id, status, title, action, topic, tally.
    List {
        #[arg(long, default_value_t = 10)]
        limit: u32,
    },
    /// Everything about one proposal; for an executed upgrade, whether the canister runs its Wasm.
    Show {
        #[arg(long, value_parser = num::<u64>)]
        proposal_id: u64,
    },
    /// Motion: a text to vote on, with no effect.
    Motion {
        /// The motion text (1..=10,000 bytes).
        #[arg(
            long,
            required_unless_present = "text_file",
            conflicts_with = "text_file"
        )]
        text: Option<String>,
        #[arg(long, value_name = "PATH")]
        text_file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RolloutCmd {
    /// Start upgrading the shards, N per timer tick (1..=50).
    Start {
        #[arg(long)]
        batch_size: u32,
    },
    /// Hold the rollout where it is.
    Pause,
    /// Go on at the batch size in force.
    Resume,
    /// Change the batch size.
    SetBatchSize { batch_size: u32 },
}

/// A number; `_` separators allowed (`100_000`).
fn num<T: FromStr>(s: &str) -> Result<T, String> {
    s.replace('_', "")
        .parse::<T>()
        .map_err(|_| format!("{s:?} is not a valid number for this setting"))
}

#[derive(Args, Debug, Default)]
pub struct UpdateConfigArgs {
    /// The configuration in force: `dfx canister call staking_hub get_config` output (Candid
    /// text, or JSON). Without it the defaults are assumed (with a warning).
    #[arg(long, value_name = "PATH")]
    pub current_config: Option<PathBuf>,
    #[arg(long, value_parser = num::<u32>)]
    pub daily_attempt_limit: Option<u32>,
    #[arg(long, value_parser = num::<u64>)]
    pub reward_per_quiz_e8s: Option<u64>,
    #[arg(long, value_parser = num::<u8>)]
    pub pass_mark_percent: Option<u8>,
    #[arg(long, value_parser = num::<u64>)]
    pub allowance_chunk_e8s: Option<u64>,
    #[arg(long, value_parser = num::<u64>)]
    pub shard_sync_interval_secs: Option<u64>,
    #[arg(long, value_parser = num::<u64>)]
    pub shard_soft_limit: Option<u64>,
    #[arg(long, value_parser = num::<u64>)]
    pub shard_hard_limit: Option<u64>,
    #[arg(long, value_parser = num::<u64>)]
    pub auto_scale_interval_secs: Option<u64>,
    #[arg(long, value_parser = num::<u128>)]
    pub shard_initial_cycles: Option<u128>,
    #[arg(long, value_parser = num::<u128>)]
    pub shard_topup_threshold_cycles: Option<u128>,
    #[arg(long, value_parser = num::<u128>)]
    pub shard_topup_amount_cycles: Option<u128>,
    /// Economic (function 1009): refused here, use update-economic-config.
    #[arg(long, value_parser = num::<u128>)]
    pub shard_topup_daily_budget_cycles: Option<u128>,
    /// The smallest withdrawal a learner may make, in e8s.
    #[arg(long, value_parser = num::<u64>)]
    pub min_withdrawal_e8s: Option<u64>,
    /// Seconds a learner waits between two withdrawals (0 = none).
    #[arg(long, value_parser = num::<u64>)]
    pub withdrawal_cooldown_secs: Option<u64>,
    /// Seconds a shard collects withdrawals before it sends them to the hub together (0 = each
    /// at once, at two more message executions per withdrawal; at most 600).
    #[arg(long, value_parser = num::<u64>)]
    pub withdrawal_batch_secs: Option<u64>,
    /// Operators who may read every shard's canister log (repeat the flag; at most 9). Replaces
    /// the list in force; see --clear-shard-log-viewers to remove them all.
    #[arg(long = "shard-log-viewer", value_name = "PRINCIPAL", value_parser = parse_principal_arg)]
    pub shard_log_viewers: Vec<candid::Principal>,
    /// Remove every shard log viewer (the hub alone reads the shards' logs).
    #[arg(long, conflicts_with = "shard_log_viewers")]
    pub clear_shard_log_viewers: bool,
    /// A shard whose stable memory passes this many bytes is Full (256 MiB ..= 256 GiB).
    #[arg(long, value_parser = num::<u64>)]
    pub shard_memory_budget_bytes: Option<u64>,
    /// Settled withdrawals and mints older than this are compacted to counters (7 ..= 3650 days).
    #[arg(long, value_parser = num::<u64>)]
    pub settled_retention_secs: Option<u64>,
    /// Archive learners inactive this long (0 = never; else 180 ..= 3650 days).
    #[arg(long, value_parser = num::<u64>)]
    pub inactive_archive_secs: Option<u64>,
    /// A principal that may read every learner's data (profile with email and name, balances)
    /// through the shards' `export_users`, to take an off-chain archive (repeat the flag; at most
    /// 10). Replaces the list in force; clear it after the archive with
    /// --clear-user-export-readers.
    #[arg(long = "user-export-reader", value_name = "PRINCIPAL", value_parser = parse_principal_arg)]
    pub user_export_readers: Vec<candid::Principal>,
    /// Remove every user export reader (only the hub exports learner data).
    #[arg(long, conflicts_with = "user_export_readers")]
    pub clear_user_export_readers: bool,
    /// A subnet (id) for new shards: the hub creates each new shard through the cycles minting
    /// canister on the listed subnet whose shards hold the fewest learners (repeat the flag; at
    /// most 64). Replaces the list in force; existing shards stay where they are.
    #[arg(long = "shard-subnet", value_name = "SUBNET", value_parser = parse_principal_arg)]
    pub shard_subnets: Vec<candid::Principal>,
    /// Create new shards on the hub's own subnet again (clears the list).
    #[arg(long, conflicts_with = "shard_subnets")]
    pub clear_shard_subnets: bool,
}

fn parse_principal_arg(s: &str) -> Result<candid::Principal, String> {
    parse_principal(s)
}

#[derive(Args, Debug, Default)]
pub struct EconomicConfigArgs {
    /// The configuration in force: `dfx canister call staking_hub get_config` output (Candid
    /// text, or JSON). Without it the defaults are assumed (with a warning).
    #[arg(long, value_name = "PATH")]
    pub current_config: Option<PathBuf>,
    #[arg(long, value_parser = num::<u64>)]
    pub reward_per_quiz_e8s: Option<u64>,
    #[arg(long, value_parser = num::<u64>)]
    pub allowance_chunk_e8s: Option<u64>,
    #[arg(long, value_parser = num::<u64>)]
    pub daily_emission_budget_e8s: Option<u64>,
    #[arg(long, value_parser = num::<u128>)]
    pub shard_initial_cycles: Option<u128>,
    #[arg(long, value_parser = num::<u128>)]
    pub shard_topup_threshold_cycles: Option<u128>,
    #[arg(long, value_parser = num::<u128>)]
    pub shard_topup_amount_cycles: Option<u128>,
    /// The most cycles the hub tops up per shard per UTC day.
    #[arg(long, value_parser = num::<u128>)]
    pub shard_topup_daily_budget_cycles: Option<u128>,
    /// Cycles battery: top up a canister with fewer estimated days of runtime than this (0: off).
    #[arg(long, value_parser = num::<u64>)]
    pub topup_min_days_left: Option<u64>,
    /// Cycles battery: below this balance the hub creates no shard.
    #[arg(long, value_parser = num::<u128>)]
    pub hub_cycles_for_new_shards: Option<u128>,
    /// Cycles battery: below this balance the hub's top-ups are smaller.
    #[arg(long, value_parser = num::<u128>)]
    pub hub_cycles_for_full_topups: Option<u128>,
}

impl EconomicConfigArgs {
    pub fn changes(&self) -> EconomicConfigChanges {
        EconomicConfigChanges {
            reward_per_quiz_e8s: self.reward_per_quiz_e8s,
            allowance_chunk_e8s: self.allowance_chunk_e8s,
            daily_emission_budget_e8s: self.daily_emission_budget_e8s,
            shard_initial_cycles: self.shard_initial_cycles,
            shard_topup_threshold_cycles: self.shard_topup_threshold_cycles,
            shard_topup_amount_cycles: self.shard_topup_amount_cycles,
            shard_topup_daily_budget_cycles: self.shard_topup_daily_budget_cycles,
            topup_min_days_left: self.topup_min_days_left,
            hub_cycles_for_new_shards: self.hub_cycles_for_new_shards,
            hub_cycles_for_full_topups: self.hub_cycles_for_full_topups,
        }
    }
}

impl UpdateConfigArgs {
    pub fn overrides(&self) -> ConfigOverrides {
        ConfigOverrides {
            shard_soft_limit: self.shard_soft_limit,
            shard_hard_limit: self.shard_hard_limit,
            auto_scale_interval_secs: self.auto_scale_interval_secs,
            allowance_chunk_e8s: self.allowance_chunk_e8s,
            reward_per_quiz_e8s: self.reward_per_quiz_e8s,
            daily_attempt_limit: self.daily_attempt_limit,
            pass_mark_percent: self.pass_mark_percent,
            shard_sync_interval_secs: self.shard_sync_interval_secs,
            shard_initial_cycles: self.shard_initial_cycles,
            shard_topup_threshold_cycles: self.shard_topup_threshold_cycles,
            shard_topup_amount_cycles: self.shard_topup_amount_cycles,
            // Economic (1009): update-economic-config has the flag. The others of ECONOMIC_FIELDS
            // stay here only so that 1001's renderer refuses them with a pointer to 1009.
            daily_emission_budget_e8s: None,
            shard_topup_daily_budget_cycles: self.shard_topup_daily_budget_cycles,
            min_withdrawal_e8s: self.min_withdrawal_e8s,
            withdrawal_cooldown_secs: self.withdrawal_cooldown_secs,
            withdrawal_batch_secs: self.withdrawal_batch_secs,
            shard_log_viewers: if self.clear_shard_log_viewers {
                Some(vec![])
            } else {
                (!self.shard_log_viewers.is_empty()).then(|| self.shard_log_viewers.clone())
            },
            shard_memory_budget_bytes: self.shard_memory_budget_bytes,
            settled_retention_secs: self.settled_retention_secs,
            inactive_archive_secs: self.inactive_archive_secs,
            user_export_readers: if self.clear_user_export_readers {
                Some(vec![])
            } else {
                (!self.user_export_readers.is_empty()).then(|| self.user_export_readers.clone())
            },
            shard_subnets: if self.clear_shard_subnets {
                Some(vec![])
            } else {
                (!self.shard_subnets.is_empty()).then(|| self.shard_subnets.clone())
            },
            // The battery's fields are economic (1009): update-economic-config has their flags.
            ..Default::default()
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    Open,
    InviteCode,
    Credential,
    InviteCodeOrCredential,
}

#[derive(Args, Debug, Default)]
pub struct RegistrationPolicyArgs {
    /// The new policy (omit to only add or revoke codes). credential and
    /// invite-code-or-credential need the --issuer-canister ... --derivation-origin flags.
    #[arg(long, value_enum)]
    pub policy: Option<PolicyArg>,
    /// The issuer canister that signs the credential.
    #[arg(long, value_name = "PRINCIPAL")]
    pub issuer_canister: Option<String>,
    /// The issuer's origin (the credential's `iss`), e.g. https://issuer.example.
    #[arg(long)]
    pub issuer_origin: Option<String>,
    /// The credential type, e.g. ProofOfUniqueness.
    #[arg(long)]
    pub credential_type: Option<String>,
    /// A text argument of the credential, NAME=VALUE; repeatable.
    #[arg(long = "credential-arg", value_name = "NAME=VALUE")]
    pub credential_args: Vec<String>,
    /// An integer argument of the credential, NAME=INT; repeatable.
    #[arg(long = "credential-int-arg", value_name = "NAME=INT")]
    pub credential_int_args: Vec<String>,
    /// The Internet Identity canister that signs the id_alias credential.
    #[arg(long, value_name = "PRINCIPAL")]
    pub ii_canister: Option<String>,
    /// The web app's derivation origin (learners' principals are derived for it).
    #[arg(long)]
    pub derivation_origin: Option<String>,
    /// The IC root key to verify with (DER, 133 bytes, or raw, 96 bytes); default: mainnet's.
    #[arg(long, value_name = "PATH")]
    pub ic_root_key_file: Option<PathBuf>,
    /// Invite codes to add, one per line: hashed here, only the hashes go into the proposal.
    #[arg(long, value_name = "PATH")]
    pub add_codes_file: Option<PathBuf>,
    /// sha256 hashes (hex) of invite codes to add, one per line.
    #[arg(long, value_name = "PATH")]
    pub add_hashes_file: Option<PathBuf>,
    /// Invite codes to revoke, one per line (hashed here).
    #[arg(long, value_name = "PATH")]
    pub revoke_codes_file: Option<PathBuf>,
    /// sha256 hashes (hex) of invite codes to revoke, one per line.
    #[arg(long, value_name = "PATH")]
    pub revoke_hashes_file: Option<PathBuf>,
    /// Why (1..=1000 bytes; shown to voters).
    #[arg(long)]
    pub reason: String,
}

impl RegistrationPolicyArgs {
    fn lines(path: &Option<PathBuf>, flag: &str) -> Result<Vec<String>, String> {
        let Some(p) = path else { return Ok(Vec::new()) };
        let text = read_text(p, flag)?;
        Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
    }

    fn hashes(codes: &Option<PathBuf>, hashes: &Option<PathBuf>, flags: [&str; 2]) -> Result<Vec<String>, String> {
        let mut out: Vec<String> = Self::lines(codes, flags[0])?
            .iter()
            .map(|c| platform_types::hex_of(&platform_types::invite_code_hash(c)))
            .collect();
        out.extend(Self::lines(hashes, flags[1])?);
        Ok(out)
    }

    fn requirement(&self) -> Result<platform_types::CredentialRequirement, String> {
        let need = |v: &Option<String>, flag: &str| v.clone().ok_or_else(|| format!("--policy {:?} needs --{flag}", self.policy));
        let mut arguments = Vec::new();
        for a in &self.credential_args {
            let (name, value) = a.split_once('=').ok_or_else(|| format!("--credential-arg {a:?}: expected NAME=VALUE"))?;
            arguments.push(platform_types::CredentialArgument {
                name: name.trim().into(),
                value: platform_types::CredentialArgumentValue::Text(value.into()),
            });
        }
        for a in &self.credential_int_args {
            let (name, value) = a.split_once('=').ok_or_else(|| format!("--credential-int-arg {a:?}: expected NAME=INT"))?;
            let value = value.trim().parse::<i32>().map_err(|_| format!("--credential-int-arg {a:?}: not a 32-bit integer"))?;
            arguments.push(platform_types::CredentialArgument {
                name: name.trim().into(),
                value: platform_types::CredentialArgumentValue::Int(value),
            });
        }
        let ic_root_key_raw = match &self.ic_root_key_file {
            None => None,
            Some(p) => {
                let bytes = std::fs::read(p).map_err(|e| format!("--ic-root-key-file {}: {e}", p.display()))?;
                let raw = match bytes.len() {
                    96 => bytes,
                    133 => bytes[37..].to_vec(),
                    n => return Err(format!("--ic-root-key-file {}: {n} bytes, expected 133 (DER) or 96 (raw)", p.display())),
                };
                Some(serde_bytes::ByteBuf::from(raw))
            }
        };
        Ok(platform_types::CredentialRequirement {
            issuer_canister_id: parse_principal(&need(&self.issuer_canister, "issuer-canister")?)?,
            issuer_origin: need(&self.issuer_origin, "issuer-origin")?,
            credential_type: need(&self.credential_type, "credential-type")?,
            arguments,
            ii_canister_id: parse_principal(&need(&self.ii_canister, "ii-canister")?)?,
            derivation_origin: need(&self.derivation_origin, "derivation-origin")?,
            ic_root_key_raw,
        })
    }

    pub fn payload(&self) -> Result<platform_types::SetRegistrationPolicyArgs, String> {
        use platform_types::RegistrationPolicy as P;
        let policy = match self.policy {
            None => None,
            Some(PolicyArg::Open) => Some(P::Open),
            Some(PolicyArg::InviteCode) => Some(P::InviteCode),
            Some(PolicyArg::Credential) => Some(P::Credential(self.requirement()?)),
            Some(PolicyArg::InviteCodeOrCredential) => Some(P::InviteCodeOrCredential(self.requirement()?)),
        };
        Ok(platform_types::SetRegistrationPolicyArgs {
            policy,
            add_invite_code_hashes: Self::hashes(&self.add_codes_file, &self.add_hashes_file, ["--add-codes-file", "--add-hashes-file"])?,
            revoke_invite_code_hashes: Self::hashes(
                &self.revoke_codes_file,
                &self.revoke_hashes_file,
                ["--revoke-codes-file", "--revoke-hashes-file"],
            )?,
            reason: self.reason.clone(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Upgrade,
    Reinstall,
}

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    /// The dapp canister to upgrade: staking_hub, learning_content or frontend_assets, with its
    /// id from --canister-ids, or given here as staking_hub=<principal>.
    #[arg(long, value_name = "NAME[=PRINCIPAL]")]
    pub canister: String,
    /// The module: target/canisters/<name>.wasm.gz (gzip or raw Wasm).
    #[arg(long, value_name = "PATH")]
    pub wasm: PathBuf,
    /// The upgrade argument as Candid text: `(opt record { ... })` of HubUpgradeArgs or
    /// ContentUpgradeArgs (for --mode reinstall: the init argument); for frontend_assets
    /// `(opt variant { Upgrade = record { ... } })` of AssetCanisterArgs (`Init` to reinstall).
    #[arg(long, value_name = "CANDID", group = "upgrade_arg")]
    pub arg_candid: Option<String>,
    /// The upgrade argument, Candid-encoded (`didc encode ... | xxd -r -p`).
    #[arg(long, value_name = "PATH", group = "upgrade_arg")]
    pub arg_file: Option<PathBuf>,
    /// Shorthand for the argument `(opt record { sns_governance_id = opt principal "<ID>" })`
    /// (not for frontend_assets, which has no governance id).
    #[arg(long, value_name = "PRINCIPAL", group = "upgrade_arg")]
    pub set_governance: Option<String>,
    #[arg(long, value_enum, default_value_t = ModeArg::Upgrade)]
    pub mode: ModeArg,
    /// Reinstalling erases the canister's state: say so.
    #[arg(long)]
    pub confirm_reinstall: bool,
    /// Upload the Wasm in 1 MiB chunks to --store-canister instead of putting it in the proposal.
    #[arg(long, requires = "store_canister")]
    pub chunked: bool,
    /// The canister whose chunk store holds the chunks (same subnet; SNS root among its controllers).
    #[arg(long, value_name = "PRINCIPAL", requires = "chunked")]
    pub store_canister: Option<String>,
}

/// The result of a successful run.
#[derive(Debug, Default)]
pub struct Outcome {
    pub rendered: Rendered,
    pub warnings: Vec<String>,
    /// What `--submit` sends, in order: the neuron and the proposal.
    pub proposals: Vec<(platform_types::sns::NeuronId, platform_types::sns::Proposal)>,
}

/// Why a run failed.
#[derive(Debug)]
pub enum Failure {
    /// Bad flags, or --help / --version (clap prints them itself).
    Usage(clap::Error),
    /// Bad input: nothing was printed or written.
    Invalid(String),
}

/// Parses the arguments and builds everything; writes nothing.
pub fn run<I, T>(args: I) -> Result<Outcome, Failure>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(Failure::Usage)?;
    build(cli).map_err(Failure::Invalid)
}

fn build(cli: Cli) -> Result<Outcome, String> {
    let c = &cli.common;
    let mut warnings = Vec::new();
    let neuron = meta::parse_neuron(
        c.neuron
            .as_deref()
            .ok_or("--neuron <HEX> is required: the id of the proposing neuron")?,
        &mut warnings,
    )?;
    let summary = match (&c.summary, &c.summary_file) {
        (Some(_), Some(_)) => return Err("give --summary or --summary-file, not both".into()),
        (Some(s), None) => Some(s.clone()),
        (None, Some(p)) => Some(read_text(p, "--summary-file")?),
        (None, None) => None,
    };
    let common = Common {
        neuron,
        title: c.title.clone(),
        summary,
        url: c.url.clone().unwrap_or_default(),
    };
    if let Some(out) = &c.out {
        output::check_out_dir(out)?;
    }
    let network = ids_network(&c.network);
    let ids = |overrides: &[String]| -> Result<CanisterIds, String> {
        let mut ids = CanisterIds::new(network);
        if let Some(p) = &c.canister_ids {
            ids.load_file(p)?;
        }
        for spec in overrides {
            ids.add_override(spec)?;
        }
        Ok(ids)
    };
    let sns = match &c.sns_canister_ids {
        Some(p) => Some(SnsCanisterIds::load_file(p)?),
        None => None,
    };
    // The governance the printed commands call: --governance, else the ids file's.
    let governance = match (&c.governance, sns.as_ref().and_then(|s| s.governance)) {
        (Some(g), from_file) => {
            let g = parse_principal(g).map_err(|e| format!("--governance: {e}"))?;
            if let Some(f) = from_file.filter(|f| *f != g) {
                return Err(format!(
                    "--governance {g} is not the governance_canister_id of --sns-canister-ids ({f}): which SNS is meant?"
                ));
            }
            Some(g)
        }
        (None, from_file) => from_file,
    };

    let mut built = Built::default();
    match &cli.command {
        Cmd::AddFunction {
            ids: fids,
            all,
            functions_dir,
            canisters,
        } => {
            let specs = functions::load_specs(functions_dir, fids, *all)?;
            let ids = ids(canisters)?;
            let many = specs.len() > 1;
            for s in &specs {
                let label = if many {
                    s.id.to_string()
                } else {
                    String::new()
                };
                built.proposals.push(commands::add_function(
                    &common,
                    s,
                    &ids,
                    sns.as_ref(),
                    &label,
                    &mut warnings,
                )?);
            }
        }
        Cmd::SetShardStatus {
            shard,
            disable,
            enable,
            reason,
            shards_file,
            skip_shard_check,
        } => {
            let shard = parse_principal(shard).map_err(|e| format!("--shard: {e}"))?;
            let disabled = match (disable, enable) {
                (true, false) => true,
                (false, true) => false,
                _ => return Err("give exactly one of --disable and --enable".into()),
            };
            let check = match (shards_file, skip_shard_check) {
                (Some(p), false) => ShardCheck::Known(hub_files::load_shards(p)?),
                (None, true) => ShardCheck::Skipped,
                _ => {
                    return Err(
                        "set-shard-status: pass --shards-file <path> with the output of `dfx canister call staking_hub list_shards`, \
                         so that a mistyped shard id is caught before the vote (or --skip-shard-check to leave it to the validator)"
                            .into(),
                    )
                }
            };
            built.proposals.push(commands::set_shard_status(
                &common,
                shard,
                disabled,
                reason,
                &check,
                &mut warnings,
            )?);
        }
        Cmd::UpdateConfig(args) => {
            let current = match &args.current_config {
                Some(p) => hub_files::load_config(p)?,
                None => {
                    warnings.push(
                        "no --current-config: the change is checked and rendered against PlatformConfig::default(), \
                         which may not be the configuration in force; save `dfx canister --network ic call staking_hub get_config` \
                         to a file and pass it with --current-config"
                            .into(),
                    );
                    PlatformConfig::default()
                }
            };
            built.proposals.push(commands::update_config(
                &common,
                &current,
                &args.overrides(),
                &mut warnings,
            )?);
        }
        Cmd::UpdateEconomicConfig(args) => {
            let current = match &args.current_config {
                Some(p) => hub_files::load_config(p)?,
                None => {
                    warnings.push(
                        "no --current-config: the change is checked and rendered against PlatformConfig::default(), \
                         which may not be the configuration in force; save `dfx canister --network ic call staking_hub get_config` \
                         to a file and pass it with --current-config"
                            .into(),
                    );
                    PlatformConfig::default()
                }
            };
            built.proposals.push(commands::update_economic_config(&common, &current, &args.changes(), &mut warnings)?);
        }
        Cmd::PausePlatform { resume, reason } => {
            built.proposals.push(commands::set_platform_paused(&common, !*resume, reason)?);
        }
        Cmd::RestoreShard { shard, snapshot, snapshot_wasm_hash, reason } => {
            let shard = parse_principal(shard).map_err(|e| format!("--shard: {e}"))?;
            built.proposals.push(commands::restore_shard_snapshot(
                &common,
                shard,
                snapshot,
                snapshot_wasm_hash.as_deref(),
                reason,
            )?);
        }
        Cmd::MigrateShard { shard, delete_retired } => {
            let shard = parse_principal(shard).map_err(|e| format!("--shard: {e}"))?;
            built.proposals.push(commands::migrate_shard(&common, shard, *delete_retired)?);
        }
        Cmd::AddUnits { file } => {
            let us = units::parse_units(&units::read_file(file)?)
                .map_err(|e| format!("--file {}: {e}", file.display()))?;
            built
                .proposals
                .push(commands::add_units(&common, us, &mut warnings)?);
        }
        Cmd::UpdateUnit { file } => {
            let u = units::parse_unit(&units::read_file(file)?)
                .map_err(|e| format!("--file {}: {e}", file.display()))?;
            built
                .proposals
                .push(commands::update_unit(&common, u, &mut warnings)?);
        }
        Cmd::RetireUnits { units: u, reason } => {
            built
                .proposals
                .push(commands::retire_units(&common, u.clone(), reason)?);
        }
        Cmd::ResolveWithdrawal { shard, withdrawal_id, minted_at_block, not_minted: _, reason } => {
            let shard = parse_principal(shard).map_err(|e| format!("--shard: {e}"))?;
            let args = platform_types::ResolveWithdrawalArgs {
                shard_id: shard,
                withdrawal_id: *withdrawal_id,
                minted_at_block: *minted_at_block,
                reason: reason.clone(),
            };
            built.proposals.push(commands::resolve_withdrawal(&common, args)?);
        }
        Cmd::Rollout { command } => {
            let cmd = match command {
                RolloutCmd::Start { batch_size } => RolloutCommand::Start {
                    batch_size: *batch_size,
                },
                RolloutCmd::Pause => RolloutCommand::Pause,
                RolloutCmd::Resume => RolloutCommand::Resume,
                RolloutCmd::SetBatchSize { batch_size } => RolloutCommand::SetBatchSize {
                    batch_size: *batch_size,
                },
            };
            built.proposals.push(commands::rollout(&common, cmd)?);
        }
        Cmd::SetRegistrationPolicy(args) => {
            let payload = args.payload()?;
            built.proposals.push(commands::set_registration_policy(&common, None, &payload, &mut warnings)?);
        }
        Cmd::CommitAssets { batch_id, evidence } => {
            built
                .proposals
                .push(commands::commit_assets(&common, *batch_id, evidence)?);
        }
        Cmd::Upgrade(u) => {
            let (name, overrides) = match u.canister.split_once('=') {
                Some((name, _)) => (name.trim(), vec![u.canister.clone()]),
                None => (u.canister.trim(), vec![]),
            };
            let target = match name {
                "staking_hub" => Target::StakingHub,
                "learning_content" => Target::LearningContent,
                "frontend_assets" => Target::FrontendAssets,
                "reward_ledger" => Target::RewardLedger,
                other => {
                    return Err(format!(
                        "--canister {other:?}: upgrade proposals here are for staking_hub, learning_content, frontend_assets or reward_ledger \
                         (the shards are upgraded by the hub: see `rollout`)"
                    ))
                }
            };
            if target == Target::FrontendAssets && u.set_governance.is_some() {
                return Err(crate::upgrade::FRONTEND_ASSETS_NO_GOVERNANCE.into());
            }
            if target == Target::RewardLedger && u.set_governance.is_some() {
                return Err(crate::upgrade::REWARD_LEDGER_NO_GOVERNANCE.into());
            }
            let canister_id = ids(&overrides)?.resolve(target.name())?;
            let wasm =
                std::fs::read(&u.wasm).map_err(|e| format!("--wasm {}: {e}", u.wasm.display()))?;
            let arg = match (&u.arg_candid, &u.arg_file, &u.set_governance) {
                (Some(t), None, None) => ArgSource::Candid(t.clone()),
                (None, Some(p), None) => ArgSource::Bytes(
                    std::fs::read(p).map_err(|e| format!("--arg-file {}: {e}", p.display()))?,
                ),
                (None, None, Some(g)) => ArgSource::SetGovernance(
                    parse_principal(g).map_err(|e| format!("--set-governance: {e}"))?,
                ),
                (None, None, None) => ArgSource::None,
                _ => {
                    return Err(
                        "give at most one of --arg-candid, --arg-file and --set-governance".into(),
                    )
                }
            };
            if let (Some(g), Some(sns)) = (&arg_governance(&arg), &sns) {
                if sns.governance != Some(*g) {
                    return Err(format!(
                        "--set-governance {g} is not the governance_canister_id of --sns-canister-ids ({})",
                        sns.governance.map(|p| p.to_text()).unwrap_or_default()
                    ));
                }
            }
            if let (Some(g), Some(given)) = (arg_governance(&arg), &c.governance) {
                if governance != Some(g) {
                    return Err(format!("--set-governance {g} is not the SNS governance of --governance ({given})"));
                }
            }
            let store_canister = match (&u.chunked, &u.store_canister) {
                (true, Some(s)) => {
                    Some(parse_principal(s).map_err(|e| format!("--store-canister: {e}"))?)
                }
                (false, None) => None,
                _ => return Err("--chunked and --store-canister go together".into()),
            };
            let req = UpgradeRequest {
                target,
                canister_id,
                mode: match u.mode {
                    ModeArg::Upgrade => Mode::Upgrade,
                    ModeArg::Reinstall => Mode::Reinstall,
                },
                wasm,
                arg,
                store_canister,
                confirm_reinstall: u.confirm_reinstall,
                network: c.network.clone(),
            };
            built
                .proposals
                .push(commands::upgrade(&common, req, &mut warnings)?);
        }
        Cmd::RemoveFunction { id } => {
            built.proposals.push(commands::remove_function(&common, *id, &mut warnings)?);
        }
        Cmd::RegisterDapps { canisters } => {
            let ids = ids(&[])?;
            let list = canisters.iter().map(|c| canister_of(c, &ids)).collect::<Result<Vec<_>, _>>()?;
            built.proposals.push(commands::register_dapps(&common, list, sns.as_ref())?);
        }
        Cmd::TransferTreasury { from, to, to_subaccount, amount_e8s, memo } => {
            let to = parse_principal(to).map_err(|e| format!("--to: {e}"))?;
            let to_subaccount = match to_subaccount {
                Some(h) => Some(hex::decode(h.trim().trim_start_matches("0x")).map_err(|e| format!("--to-subaccount is not hex: {e}"))?),
                None => None,
            };
            let from = match from {
                TreasuryArg::Sns => commands::Treasury::SnsToken,
                TreasuryArg::Icp => commands::Treasury::Icp,
            };
            built.proposals.push(commands::transfer_treasury(&common, from, to, to_subaccount, *amount_e8s, *memo)?);
        }
        Cmd::ManageDappSettings {
            canisters,
            compute_allocation,
            memory_allocation,
            freezing_threshold,
            reserved_cycles_limit,
            wasm_memory_limit,
            wasm_memory_threshold,
            log_visibility,
        } => {
            use platform_types::sns::{LogVisibilityCode, ManageDappCanisterSettings};
            let ids = ids(&[])?;
            let settings = ManageDappCanisterSettings {
                canister_ids: canisters.iter().map(|c| canister_of(c, &ids)).collect::<Result<Vec<_>, _>>()?,
                compute_allocation: *compute_allocation,
                memory_allocation: *memory_allocation,
                freezing_threshold: *freezing_threshold,
                reserved_cycles_limit: *reserved_cycles_limit,
                wasm_memory_limit: *wasm_memory_limit,
                wasm_memory_threshold: *wasm_memory_threshold,
                log_visibility: log_visibility.map(|v| match v {
                    LogVisibilityArg::Controllers => LogVisibilityCode::Controllers as i32,
                    LogVisibilityArg::Public => LogVisibilityCode::Public as i32,
                }),
                snapshot_visibility: None,
            };
            built.proposals.push(commands::manage_dapp_settings(&common, settings)?);
        }
        Cmd::Vote { .. } | Cmd::List { .. } | Cmd::Show { .. } => {
            return Err("vote, list and show talk to the network: run them through the binary".into())
        }
        Cmd::Motion { text, text_file } => {
            let text = match (text, text_file) {
                (Some(t), None) => t.clone(),
                (None, Some(p)) => read_text(p, "--text-file")?,
                _ => return Err("give --text or --text-file".into()),
            };
            built.proposals.push(commands::motion(&common, &text)?);
        }
    }
    built.warnings = warnings;
    let ctx = Context {
        network: c.network.clone(),
        governance: governance.map(|p| p.to_text()),
        sns_canister_ids_file: c.sns_canister_ids.clone(),
        out: c.out.clone(),
    };
    let rendered = output::render(&built, &ctx)?;
    Ok(Outcome {
        rendered,
        warnings: built.warnings,
        proposals: built.proposals.iter().map(|p| (p.neuron.clone(), p.proposal.clone())).collect(),
    })
}

/// A canister given as a principal or as a name of --canister-ids.
fn canister_of(spec: &str, ids: &CanisterIds) -> Result<candid::Principal, String> {
    match parse_principal(spec) {
        Ok(p) => Ok(p),
        Err(_) => ids.resolve(spec.trim()).map_err(|e| format!("--canister {spec}: {e}")),
    }
}

fn arg_governance(arg: &ArgSource) -> Option<candid::Principal> {
    match arg {
        ArgSource::SetGovernance(p) => Some(*p),
        _ => None,
    }
}

/// Where signed calls go: the network, the identity, SNS governance, and how long to wait.
pub struct Connection {
    pub url: String,
    pub identity: Option<Box<dyn ic_agent::Identity>>,
    pub root_key: Option<Vec<u8>>,
    pub governance: candid::Principal,
    pub wait: Option<std::time::Duration>,
}

/// Reads and checks the network flags (before anything is printed or sent).
pub fn connection(c: &CommonArgs, need_identity: bool) -> Result<Connection, String> {
    let url = crate::network::network_url(&c.network).map_err(|e| e.to_string())?;
    let identity = match (&c.pem, need_identity) {
        (Some(p), _) => Some(crate::network::identity_from_pem(p).map_err(|e| format!("{e:#}"))?),
        (None, true) => return Err("--pem <FILE> is required: the identity that controls the neuron signs the call".into()),
        (None, false) => None,
    };
    let root_key = match &c.root_key {
        Some(p) => Some(std::fs::read(p).map_err(|e| format!("--root-key {}: cannot read it: {e}", p.display()))?),
        None => None,
    };
    let governance = match (&c.governance, &c.sns_canister_ids) {
        (Some(g), _) => parse_principal(g).map_err(|e| format!("--governance: {e}"))?,
        (None, Some(p)) => SnsCanisterIds::load_file(p)?
            .governance
            .ok_or_else(|| format!("--sns-canister-ids {}: no governance_canister_id", p.display()))?,
        (None, None) => {
            return Err("give --governance <PRINCIPAL> or --sns-canister-ids <FILE>: the SNS governance to talk to".into())
        }
    };
    Ok(Connection { url, identity, root_key, governance, wait: c.wait.then(|| std::time::Duration::from_secs(c.wait_secs)) })
}

/// How a network command ended.
enum Ended {
    Ok,
    /// Rejected, failed, or an upgrade that did not take.
    Refused,
    /// Still undecided (or executing) when --wait ran out.
    TimedOut,
}

fn exit(e: Result<Ended, String>) -> std::process::ExitCode {
    match e {
        Ok(Ended::Ok) => std::process::ExitCode::SUCCESS,
        Ok(Ended::Refused) => std::process::ExitCode::from(1),
        Ok(Ended::TimedOut) => std::process::ExitCode::from(3),
        Err(msg) => {
            eprintln!("error: {msg}");
            std::process::ExitCode::from(1)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

async fn agent_of(conn: Connection) -> Result<(ic_agent::Agent, candid::Principal, Option<std::time::Duration>, String), String> {
    let identity = conn.identity.unwrap_or_else(|| Box::new(ic_agent::identity::AnonymousIdentity));
    let agent = crate::network::agent(&conn.url, identity, conn.root_key).await.map_err(|e| format!("{e:#}"))?;
    Ok((agent, conn.governance, conn.wait, conn.url))
}

/// For an executed upgrade, compares the canister's module hash with the proposal's Wasm,
/// retrying for `patience` (root installs after it answered governance).
async fn check_upgrade(
    agent: &ic_agent::Agent,
    p: &platform_types::sns::ProposalData,
    patience: std::time::Duration,
) -> Result<Option<(bool, String)>, String> {
    use crate::voter_view::{expected_module_hash, module_hash_verdict};
    if p.status() != platform_types::sns::ProposalDecisionStatus::Executed {
        return Ok(None);
    }
    let Some((canister, expected)) = expected_module_hash(p) else { return Ok(None) };
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let actual = crate::network::module_hash(agent, canister).await.map_err(|e| format!("{e:#}"))?;
        let verdict = module_hash_verdict(canister, &expected, actual.as_deref());
        if verdict.0 || tokio::time::Instant::now() >= deadline {
            return Ok(Some(verdict));
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Waits for the outcome and prints it.
async fn wait_and_report(
    agent: &ic_agent::Agent,
    governance: candid::Principal,
    id: platform_types::sns::ProposalId,
    timeout: std::time::Duration,
) -> Result<Ended, String> {
    use platform_types::sns::ProposalDecisionStatus::*;
    let p = match crate::network::wait_for_outcome(agent, governance, id, timeout).await.map_err(|e| format!("{e:#}"))? {
        Ok(p) => p,
        Err(p) => {
            println!(
                "Proposal {}: still {} after {} s ({}); `proposals show --proposal-id {}` follows it",
                id.id,
                crate::voter_view::outcome(&p),
                timeout.as_secs(),
                crate::voter_view::utc(p.deadline_timestamp_seconds()),
                id.id
            );
            return Ok(Ended::TimedOut);
        }
    };
    println!("Proposal {}: {}", id.id, crate::voter_view::outcome(&p));
    // Root installs after it answered governance: give it up to a minute, never more than --wait-secs.
    let patience = timeout.min(std::time::Duration::from_secs(60));
    if let Some((ok, text)) = check_upgrade(agent, &p, patience).await? {
        println!("{text}");
        if !ok {
            return Ok(Ended::Refused);
        }
    }
    Ok(match p.status() {
        Executed => Ended::Ok,
        Rejected | Failed => Ended::Refused,
        _ => Ended::TimedOut,
    })
}

async fn submit_all(
    conn: Connection,
    proposals: Vec<(platform_types::sns::NeuronId, platform_types::sns::Proposal)>,
) -> Result<Ended, String> {
    let (agent, governance, wait, url) = agent_of(conn).await?;
    let mut ended = Ended::Ok;
    for (neuron, proposal) in proposals {
        let title = proposal.title.clone();
        let id = crate::network::make_proposal(&agent, governance, &neuron, proposal).await.map_err(|e| format!("{e:#}"))?;
        println!("Submitted: proposal {} ({title}) to SNS governance {governance} at {url}", id.id);
        if let Some(t) = wait {
            match wait_and_report(&agent, governance, id, t).await? {
                Ended::Ok => {}
                other => ended = other,
            }
        }
    }
    Ok(ended)
}

async fn talk(cli: Cli) -> Result<Ended, String> {
    let c = &cli.common;
    match cli.command {
        Cmd::Vote { proposal_id, vote } => {
            let mut warnings = Vec::new();
            let neuron = meta::parse_neuron(
                c.neuron.as_deref().ok_or("--neuron <HEX> is required: the neuron that votes")?,
                &mut warnings,
            )?;
            for w in warnings {
                eprintln!("WARNING: {w}");
            }
            let conn = connection(c, true)?;
            let (agent, governance, wait, _) = agent_of(conn).await?;
            let id = platform_types::sns::ProposalId { id: proposal_id };
            let v = match vote {
                VoteArg::Yes => platform_types::sns::Vote::Yes,
                VoteArg::No => platform_types::sns::Vote::No,
            };
            crate::network::register_vote(&agent, governance, &neuron, id, v).await.map_err(|e| format!("{e:#}"))?;
            println!("Voted {} on proposal {proposal_id} with neuron {neuron}", if v == platform_types::sns::Vote::Yes { "yes" } else { "no" });
            match wait {
                // wait_and_report prints the status once it is final.
                Some(t) => wait_and_report(&agent, governance, id, t).await,
                None => {
                    let p = crate::network::get_proposal(&agent, governance, id).await.map_err(|e| format!("{e:#}"))?;
                    println!("Proposal {proposal_id}: {}", crate::voter_view::outcome(&p));
                    Ok(Ended::Ok)
                }
            }
        }
        Cmd::List { limit } => {
            let conn = connection(c, false)?;
            let (agent, governance, _, _) = agent_of(conn).await?;
            let ps = crate::network::list_proposals(&agent, governance, limit).await.map_err(|e| format!("{e:#}"))?;
            print!("{}", crate::voter_view::render_list(&ps));
            Ok(Ended::Ok)
        }
        Cmd::Show { proposal_id } => {
            let conn = connection(c, false)?;
            let (agent, governance, _, _) = agent_of(conn).await?;
            let p = crate::network::get_proposal(&agent, governance, platform_types::sns::ProposalId { id: proposal_id })
                .await
                .map_err(|e| format!("{e:#}"))?;
            print!("{}", crate::voter_view::render_proposal(&p));
            match check_upgrade(&agent, &p, std::time::Duration::ZERO).await? {
                Some((ok, text)) => {
                    println!("\n--- Module hash (the canister's, from the certified state)\n{text}");
                    Ok(if ok { Ended::Ok } else { Ended::Refused })
                }
                None => Ok(Ended::Ok),
            }
        }
        _ => Err("internal error: not a network command".into()),
    }
}

/// The binary: run, then write the files and print (and with --submit, send); exit 1 on bad
/// input or a refusal, 2 on bad flags, 3 when --wait ran out before the outcome.
pub fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    if matches!(cli.command, Cmd::Vote { .. } | Cmd::List { .. } | Cmd::Show { .. }) {
        return exit(runtime().and_then(|rt| rt.block_on(talk(cli))));
    }
    let c = &cli.common;
    let conn = if c.submit {
        match connection(c, true) {
            Ok(conn) => Some(conn),
            Err(msg) => return invalid(&msg),
        }
    } else {
        if c.pem.is_some() || c.wait {
            return invalid("--pem and --wait only apply with --submit (add --submit to send the proposal, or leave them out to print it)");
        }
        None
    };
    match build(cli) {
        Ok(outcome) => {
            if let Err(e) = output::write_files(&outcome.rendered.files) {
                eprintln!("error: {e}");
                return std::process::ExitCode::from(1);
            }
            for w in &outcome.warnings {
                if w.starts_with('#') {
                    eprintln!("{w}");
                } else {
                    eprintln!("WARNING: {w}");
                }
            }
            print!("{}", outcome.rendered.stdout);
            match conn {
                Some(conn) => exit(runtime().and_then(|rt| rt.block_on(submit_all(conn, outcome.proposals)))),
                None => std::process::ExitCode::SUCCESS,
            }
        }
        Err(msg) => invalid(&msg),
    }
}

fn invalid(msg: &str) -> std::process::ExitCode {
    eprintln!("error: {msg}");
    eprintln!("Nothing was printed, written or sent.");
    std::process::ExitCode::from(1)
}
