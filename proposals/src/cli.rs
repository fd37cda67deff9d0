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
    /// Network of the canister ids and of the printed dfx commands.
    #[arg(long, global = true, value_enum, default_value_t = Network::Ic)]
    pub network: Network,
    /// dfx's canister_ids.json ({ "staking_hub": { "ic": "<id>" }, ... }).
    #[arg(long, global = true, value_name = "PATH")]
    pub canister_ids: Option<PathBuf>,
    /// quill's sns_canister_ids.json: names SNS governance in the printed commands, and the SNS
    /// canisters no custom function may target.
    #[arg(long, global = true, value_name = "PATH")]
    pub sns_canister_ids: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Network {
    Ic,
    Local,
}

impl Network {
    fn name(self) -> &'static str {
        match self {
            Network::Ic => "ic",
            Network::Local => "local",
        }
    }
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
    let network = c.network.name();
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
                other => {
                    return Err(format!(
                        "--canister {other:?}: upgrade proposals here are for staking_hub, learning_content or frontend_assets \
                         (the shards are upgraded by the hub: see `rollout`)"
                    ))
                }
            };
            if target == Target::FrontendAssets && u.set_governance.is_some() {
                return Err(crate::upgrade::FRONTEND_ASSETS_NO_GOVERNANCE.into());
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
                network: network.to_string(),
            };
            built
                .proposals
                .push(commands::upgrade(&common, req, &mut warnings)?);
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
        network: network.to_string(),
        governance: sns.as_ref().and_then(|s| s.governance).map(|p| p.to_text()),
        sns_canister_ids_file: c.sns_canister_ids.clone(),
        out: c.out.clone(),
    };
    let rendered = output::render(&built, &ctx)?;
    Ok(Outcome {
        rendered,
        warnings: built.warnings,
    })
}

fn arg_governance(arg: &ArgSource) -> Option<candid::Principal> {
    match arg {
        ArgSource::SetGovernance(p) => Some(*p),
        _ => None,
    }
}

/// The binary: run, then write the files and print; exit 1 on bad input, 2 on bad flags.
pub fn main() -> std::process::ExitCode {
    match run(std::env::args_os()) {
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
            std::process::ExitCode::SUCCESS
        }
        Err(Failure::Usage(e)) => {
            let _ = e.print();
            std::process::ExitCode::from(if e.use_stderr() { 2 } else { 0 })
        }
        Err(Failure::Invalid(msg)) => {
            eprintln!("error: {msg}");
            eprintln!("Nothing was printed or written.");
            std::process::ExitCode::from(1)
        }
    }
}
