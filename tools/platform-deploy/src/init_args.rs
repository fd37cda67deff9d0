//! The install arguments of a mainnet deployment, written as Candid text files for
//! `icp canister install --args-file` and dfx's `init_arg_file` (see docs/deploy.md).
//!
//! The ids are circular (the hub needs the ledger's and content's ids, content and the ledger
//! need the hub's), so the canisters are created first (`icp canister create -e ic`, or
//! `dfx canister create --all --network ic`) and the arguments computed from the ids those
//! tools recorded. SNS governance does not exist yet before the launch: the hub and content get
//! the anonymous principal ("not set yet"; their proposal methods refuse every caller) and the
//! first `UpgradeSnsControlledCanister` proposals set it (sns/README.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use candid::{CandidType, Nat, Principal};
use icrc_ledger_types::icrc1::account::Account;
use platform_types::{assets, ContentInitArgs, HubInitArgs, RegistrationPolicy};
use serde::Deserialize;

// The fields DFINITY's ledger shares with the local stand-in have the stand-in's (checked) types.
pub use icrc_ledger::types::FeatureFlags;
pub use icrc_ledger_types::icrc::generic_metadata_value::MetadataValue;

/// DFINITY's ICRC-1 ledger release the platform deploys (`ic-icrc1-ledger.wasm.gz`), and the
/// sha256 of that file as published with the release (the same hash the ckBTC ledger's upgrade
/// proposal to this release named). `icp.yaml` and `dfx.json` download it from there.
pub const LEDGER_RELEASE: &str = "ledger-suite-icrc-2026-03-09";
pub const LEDGER_WASM_SHA256: &str = "354dd6ecfdc72b5409805b31dea22c9db11df6e14095a5a68924eb63535e6d8a";

pub fn ledger_wasm_url() -> String {
    format!("https://github.com/dfinity/ic/releases/download/{LEDGER_RELEASE}/ic-icrc1-ledger.wasm.gz")
}

/// The init argument of DFINITY's ICRC-1 ledger (`LedgerArg` of its `ledger.did`): the stand-in's
/// `InitArgs` and the `archive_options` DFINITY's ledger requires (the stand-in has no archives).
#[derive(CandidType, Deserialize, Clone, Debug)]
pub enum LedgerArg {
    Init(LedgerInitArgs),
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct LedgerInitArgs {
    pub minting_account: Account,
    pub fee_collector_account: Option<Account>,
    pub transfer_fee: Nat,
    pub decimals: Option<u8>,
    pub max_memo_length: Option<u16>,
    pub token_symbol: String,
    pub token_name: String,
    pub metadata: Vec<(String, MetadataValue)>,
    pub initial_balances: Vec<(Account, Nat)>,
    pub feature_flags: Option<FeatureFlags>,
    pub archive_options: ArchiveOptions,
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct ArchiveOptions {
    pub num_blocks_to_archive: u64,
    pub max_transactions_per_response: Option<u64>,
    pub trigger_threshold: u64,
    pub max_message_size_bytes: Option<u64>,
    pub cycles_for_archive_creation: Option<u64>,
    pub node_max_memory_size_bytes: Option<u64>,
    pub controller_id: Principal,
    pub more_controller_ids: Option<Vec<Principal>>,
}

/// The reward token's parameters (docs/tokenomics.md), shared with the local deployment.
pub const TOKEN_SYMBOL: &str = "LRN";
pub const TOKEN_NAME: &str = "LearnStake Reward";
pub const TRANSFER_FEE_E8S: u64 = 10_000;
pub const DECIMALS: u8 = 8;

/// What a mainnet deployment needs beyond the canister ids.
#[derive(Clone, Debug)]
pub struct MainnetOptions {
    /// Controls the ledger's archive canisters until the DAO changes it (a ledger upgrade with
    /// `change_archive_options`); usually the deployer, then SNS root.
    pub archive_controller: Principal,
    /// None: the hub's default, closed (invite codes, none issued) until the DAO opens it.
    pub registration_policy: Option<RegistrationPolicy>,
}

/// One canister's argument: Candid text, and the bytes it stands for.
#[derive(Clone, Debug)]
pub struct InitArg {
    pub canister: &'static str,
    pub text: String,
    pub bytes: Vec<u8>,
}

fn id(ids: &BTreeMap<String, Principal>, name: &str) -> anyhow::Result<Principal> {
    ids.get(name).copied().with_context(|| format!("no canister id for {name} (create the canisters first: icp canister create -e ic)"))
}

fn arg<T: CandidType>(canister: &'static str, value: &T) -> anyhow::Result<InitArg> {
    let (bytes, text) = proposals::candid_text::to_checked_text(value).map_err(|e| anyhow::anyhow!("{canister}: {e}"))?;
    Ok(InitArg { canister, text, bytes })
}

/// The install arguments of learning_content, reward_ledger, staking_hub and (when it has an
/// id) frontend_assets, in install order.
pub fn mainnet(ids: &BTreeMap<String, Principal>, options: &MainnetOptions) -> anyhow::Result<Vec<InitArg>> {
    let hub = id(ids, "staking_hub")?;
    let content = id(ids, "learning_content")?;
    let ledger = id(ids, "reward_ledger")?;
    if hub == content || hub == ledger || content == ledger {
        bail!("staking_hub, learning_content and reward_ledger must have three different ids");
    }
    let not_yet = Principal::anonymous();
    let mut args = vec![
        arg(
            "learning_content",
            &ContentInitArgs { hub_id: hub, sns_governance_id: not_yet, units: crate::starter_units(), pass_mark_percent: Some(60) },
        )?,
        arg(
            "reward_ledger",
            &LedgerArg::Init(LedgerInitArgs {
                minting_account: Account { owner: hub, subaccount: None },
                fee_collector_account: None,
                transfer_fee: TRANSFER_FEE_E8S.into(),
                decimals: Some(DECIMALS),
                max_memo_length: None,
                token_symbol: TOKEN_SYMBOL.into(),
                token_name: TOKEN_NAME.into(),
                metadata: vec![],
                initial_balances: vec![],
                feature_flags: Some(FeatureFlags { icrc2: true }),
                archive_options: ArchiveOptions {
                    num_blocks_to_archive: 1_000,
                    max_transactions_per_response: None,
                    trigger_threshold: 2_000,
                    max_message_size_bytes: None,
                    cycles_for_archive_creation: Some(10_000_000_000_000),
                    node_max_memory_size_bytes: None,
                    controller_id: options.archive_controller,
                    more_controller_ids: None,
                },
            }),
        )?,
        arg(
            "staking_hub",
            &HubInitArgs {
                ledger_id: ledger,
                learning_content_id: content,
                sns_governance_id: not_yet,
                config: None,
                registration_policy: options.registration_policy.clone(),
                icp_refill: None,
            },
        )?,
    ];
    if ids.contains_key("frontend_assets") {
        // The installer gets Commit (to upload the web app); the DAO's first upgrade of the
        // canister hands Commit to SNS governance (docs/deploy.md).
        let init: Option<assets::AssetCanisterArgs> = Some(assets::AssetCanisterArgs::Init(assets::InitArgs::default()));
        args.push(arg("frontend_assets", &init)?);
    }
    Ok(args)
}

/// Writes `<dir>/<canister>.did` (Candid text) for each argument; returns the paths.
pub fn write(dir: &Path, args: &[InitArg]) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut paths = Vec::new();
    for a in args {
        let path = dir.join(format!("{}.did", a.canister));
        std::fs::write(&path, format!("{}\n", a.text)).with_context(|| format!("writing {}", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}
