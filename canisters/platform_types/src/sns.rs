//! Candid types of the SNS governance canister, for the subset of its interface this project uses
//! (proposals, votes, custom proposals, dapp canister upgrades), and of the SNS root canister
//! ([`root`]).
//!
//! Field names and types mirror DFINITY's SNS Candid (`rs/sns/governance/canister/governance.did`
//! and `rs/sns/root/canister/root.did` in dfinity/ic; trimmed copies are committed under
//! `candid/reference/`). They are used on both sides:
//!
//! * by the local SNS canisters of `standins/` (test infrastructure, see `docs/sns-local.md`);
//! * by clients (tests, the demo, a proposals CLI) calling either those or the real SNS.
//!
//! Request records carry every field the real SNS requires, so values built from these types
//! decode in the real canisters. Reply records carry the fields clients read; fields of the real
//! replies that are left out here are `opt` there, or are simply ignored when decoding (Candid
//! record subtyping). Variants (`Action`, `Command`, ...) only list the cases this project uses:
//! an unknown case in a reply decodes as `None` where the field is `opt` (Candid's special
//! `opt` rule), as `action` and `command` are.
//!
//! Also here: the enums the SNS encodes as `int32` ([`Vote`], [`ProposalDecisionStatus`],
//! [`ErrorType`], install modes), the native action ids, the documented limits, and
//! [`ProposalData::status`].

pub mod root;

use candid::{CandidType, Principal};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

// ------------------------------------------------------------------ limits and constants

/// Custom (generic) nervous system functions have ids from 1000 on; 0..=999 are native.
pub const MIN_GENERIC_FUNCTION_ID: u64 = 1000;
/// `list_proposals` and `list_neurons` return at most this many entries.
pub const MAX_LIST_RESULTS: u32 = 100;
pub const MAX_TITLE_BYTES: usize = 256;
pub const MAX_SUMMARY_BYTES: usize = 30_000;
pub const MAX_URL_BYTES: usize = 2048;
pub const MAX_MOTION_TEXT_BYTES: usize = 10_000;
pub const MAX_FUNCTION_NAME_BYTES: usize = 256;
pub const MAX_FUNCTION_DESCRIPTION_BYTES: usize = 10_000;
pub const MAX_NUMBER_OF_GENERIC_FUNCTIONS: usize = 200_000;
/// `new_canister_wasm.len() + canister_upgrade_arg.len()` must stay below this.
pub const MAX_INSTALL_CODE_WASM_AND_ARG_SIZE: usize = 2_000_000;
/// At most this many canisters in one `RegisterDappCanisters` proposal.
pub const MAX_DAPPS_PER_PROPOSAL: usize = 1000;
/// Magic numbers a `new_canister_wasm` must start with: raw Wasm, or gzip.
pub const WASM_MAGIC: &[u8] = b"\0asm";
pub const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b, 0x08];
/// The Candid encoding of `()`: the upgrade argument when a proposal gives none.
pub const EMPTY_CANDID_ARGS: &[u8] = b"DIDL\x00\x00";
/// The NNS ledger: on the IC, custom functions may not target it either (the local governance
/// does not reserve it, since on localnet it is an ordinary canister id).
pub const NNS_LEDGER_CANISTER_ID: &str = "ryjl3-tyaaa-aaaaa-aaaba-cai";

/// `ProposalData.action` of native proposals (custom proposals use the function's id).
pub mod native_action_ids {
    pub const UNSPECIFIED: u64 = 0;
    pub const MOTION: u64 = 1;
    pub const MANAGE_NERVOUS_SYSTEM_PARAMETERS: u64 = 2;
    pub const UPGRADE_SNS_CONTROLLED_CANISTER: u64 = 3;
    pub const ADD_GENERIC_NERVOUS_SYSTEM_FUNCTION: u64 = 4;
    pub const REMOVE_GENERIC_NERVOUS_SYSTEM_FUNCTION: u64 = 5;
    pub const EXECUTE_GENERIC_NERVOUS_SYSTEM_FUNCTION: u64 = 6;
    pub const TRANSFER_SNS_TREASURY_FUNDS: u64 = 9;
    pub const REGISTER_DAPP_CANISTERS: u64 = 10;
    pub const MANAGE_DAPP_CANISTER_SETTINGS: u64 = 14;
}

// ------------------------------------------------------------------ int32 enums

/// `RegisterVote.vote` and `Ballot.vote`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Vote {
    Unspecified = 0,
    Yes = 1,
    No = 2,
}

impl Vote {
    pub fn from_i32(v: i32) -> Option<Vote> {
        match v {
            0 => Some(Vote::Unspecified),
            1 => Some(Vote::Yes),
            2 => Some(Vote::No),
            _ => None,
        }
    }
}

/// A proposal's decision status (`ListProposals.include_status`, [`ProposalData::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum ProposalDecisionStatus {
    Unspecified = 0,
    /// Voting is still possible and no decision has been made.
    Open = 1,
    Rejected = 2,
    /// Adopted; execution is under way.
    Adopted = 3,
    /// Adopted and executed successfully.
    Executed = 4,
    /// Adopted, but the execution failed (`ProposalData.failure_reason` says why).
    Failed = 5,
}

impl ProposalDecisionStatus {
    pub fn from_i32(v: i32) -> Option<Self> {
        use ProposalDecisionStatus::*;
        [Unspecified, Open, Rejected, Adopted, Executed, Failed].into_iter().find(|s| *s as i32 == v)
    }
}

/// `GovernanceError.error_type` (SNS governance's `ErrorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrorType {
    Unspecified = 0,
    Unavailable = 1,
    NotAuthorized = 2,
    NotFound = 3,
    InvalidCommand = 4,
    RequiresNotDissolving = 5,
    RequiresDissolving = 6,
    RequiresDissolved = 7,
    AccessControlList = 8,
    ResourceExhausted = 9,
    PreconditionFailed = 10,
    External = 11,
    NeuronLocked = 12,
    InsufficientFunds = 13,
    InvalidPrincipal = 14,
    InvalidProposal = 15,
    InvalidNeuronId = 16,
    InconsistentInternalData = 17,
    UnreachableCode = 18,
}

/// `UpgradeSnsControlledCanister.mode` (the `CanisterInstallMode` enum of the SNS protos).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum InstallModeCode {
    Unspecified = 0,
    Install = 1,
    Reinstall = 2,
    Upgrade = 3,
}

/// The root install mode of an `UpgradeSnsControlledCanister.mode`: absent means upgrade, as in
/// the real SNS (`mode_or_upgrade`); 0 (unspecified) and unknown values are invalid.
pub fn install_mode_from_code(mode: Option<i32>) -> Result<root::CanisterInstallMode, String> {
    match mode {
        None => Ok(root::CanisterInstallMode::Upgrade),
        Some(1) => Ok(root::CanisterInstallMode::Install),
        Some(2) => Ok(root::CanisterInstallMode::Reinstall),
        Some(3) => Ok(root::CanisterInstallMode::Upgrade),
        Some(other) => {
            Err(format!("mode {other} is not a valid canister install mode (1 install, 2 reinstall, 3 upgrade)"))
        }
    }
}

/// `NeuronPermission.permission_type` values this project uses.
pub mod neuron_permission_types {
    pub const SUBMIT_PROPOSAL: i32 = 3;
    pub const VOTE: i32 = 4;
}

/// `get_mode` reply: the governance mode.
pub mod governance_modes {
    pub const NORMAL: i32 = 1;
    pub const PRE_INITIALIZATION_SWAP: i32 = 2;
}

// ------------------------------------------------------------------ ids and errors

/// `record {}`.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Empty {}

/// A neuron id: the neuron's subaccount bytes (32 bytes on the real SNS).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NeuronId {
    #[serde(with = "serde_bytes")]
    pub id: Vec<u8>,
}

impl NeuronId {
    /// Lower-case hex, the form of `ProposalData.ballots` keys and of the SNS tools.
    pub fn to_hex(&self) -> String {
        to_hex(&self.id)
    }

    pub fn from_hex(s: &str) -> Result<NeuronId, String> {
        from_hex(s).map(|id| NeuronId { id })
    }
}

impl std::fmt::Display for NeuronId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProposalId {
    pub id: u64,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GovernanceError {
    pub error_message: String,
    /// An [`ErrorType`].
    pub error_type: i32,
}

impl GovernanceError {
    pub fn new(error_type: ErrorType, message: impl Into<String>) -> Self {
        GovernanceError { error_type: error_type as i32, error_message: message.into() }
    }
}

impl std::fmt::Display for GovernanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (error_type {})", self.error_message, self.error_type)
    }
}

// ------------------------------------------------------------------ proposals and actions

/// What a neuron proposes (`Command::MakeProposal`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Proposal {
    pub url: String,
    pub title: String,
    pub action: Option<Action>,
    pub summary: String,
}

/// The proposal actions this project uses (the real `Action` has more cases).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Never valid in a proposal; listed because the real SNS has it.
    Unspecified(Empty),
    Motion(Motion),
    AddGenericNervousSystemFunction(NervousSystemFunction),
    /// The id of the custom function to remove.
    RemoveGenericNervousSystemFunction(u64),
    ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction),
    UpgradeSnsControlledCanister(UpgradeSnsControlledCanister),
    RegisterDappCanisters(RegisterDappCanisters),
    TransferSnsTreasuryFunds(TransferSnsTreasuryFunds),
    ManageDappCanisterSettings(ManageDappCanisterSettings),
}

impl Action {
    /// `ProposalData.action`: the native action id, or the custom function's id.
    pub fn action_id(&self) -> u64 {
        use native_action_ids::*;
        match self {
            Action::Unspecified(_) => UNSPECIFIED,
            Action::Motion(_) => MOTION,
            Action::AddGenericNervousSystemFunction(_) => ADD_GENERIC_NERVOUS_SYSTEM_FUNCTION,
            Action::RemoveGenericNervousSystemFunction(_) => REMOVE_GENERIC_NERVOUS_SYSTEM_FUNCTION,
            Action::ExecuteGenericNervousSystemFunction(e) => e.function_id,
            Action::UpgradeSnsControlledCanister(_) => UPGRADE_SNS_CONTROLLED_CANISTER,
            Action::RegisterDappCanisters(_) => REGISTER_DAPP_CANISTERS,
            Action::TransferSnsTreasuryFunds(_) => TRANSFER_SNS_TREASURY_FUNDS,
            Action::ManageDappCanisterSettings(_) => MANAGE_DAPP_CANISTER_SETTINGS,
        }
    }

    /// The topic of a native action (custom functions have their own topic).
    pub fn native_topic(&self) -> Option<Topic> {
        match self {
            Action::Unspecified(_) | Action::ExecuteGenericNervousSystemFunction(_) => None,
            Action::Motion(_) => Some(Topic::Governance),
            Action::AddGenericNervousSystemFunction(_) | Action::RemoveGenericNervousSystemFunction(_) => {
                Some(Topic::CriticalDappOperations)
            }
            Action::UpgradeSnsControlledCanister(_)
            | Action::RegisterDappCanisters(_)
            | Action::ManageDappCanisterSettings(_) => Some(Topic::DappCanisterManagement),
            Action::TransferSnsTreasuryFunds(_) => Some(Topic::TreasuryAssetManagement),
        }
    }

    /// Whether the action upgrades a canister (only one such proposal executes at a time).
    pub fn is_upgrade(&self) -> bool {
        matches!(self, Action::UpgradeSnsControlledCanister(_))
    }
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Motion {
    pub motion_text: String,
}

/// A nervous system function: native (ids below 1000) or generic ("custom proposal").
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NervousSystemFunction {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    pub function_type: Option<FunctionType>,
}

impl NervousSystemFunction {
    /// The generic function's definition, if it is one.
    pub fn generic(&self) -> Option<&GenericNervousSystemFunction> {
        match &self.function_type {
            Some(FunctionType::GenericNervousSystemFunction(g)) => Some(g),
            _ => None,
        }
    }
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum FunctionType {
    NativeNervousSystemFunction(Empty),
    GenericNervousSystemFunction(GenericNervousSystemFunction),
}

/// A custom proposal: governance calls `validator_canister_id.validator_method_name` with the
/// payload at submission (reply `variant { Ok : text; Err : text }`) and
/// `target_canister_id.target_method_name` with the same payload bytes after adoption.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GenericNervousSystemFunction {
    pub validator_canister_id: Option<Principal>,
    pub target_canister_id: Option<Principal>,
    pub validator_method_name: Option<String>,
    pub target_method_name: Option<String>,
    /// Required for new functions.
    pub topic: Option<Topic>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    DaoCommunitySettings,
    SnsFrameworkManagement,
    DappCanisterManagement,
    ApplicationBusinessLogic,
    Governance,
    TreasuryAssetManagement,
    CriticalDappOperations,
}

impl Topic {
    /// Critical topics need a larger majority on the real SNS (20 % of the total and 67 % of
    /// the votes cast, against 3 % and 50 %); the local governance stand-in applies the same rule.
    pub fn is_critical(self) -> bool {
        matches!(self, Topic::DaoCommunitySettings | Topic::TreasuryAssetManagement | Topic::CriticalDappOperations)
    }
}

/// Runs a custom function: `payload` is sent unchanged as the argument bytes of both the
/// validator and the target call, so it must be a complete Candid message (`DIDL...`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecuteGenericNervousSystemFunction {
    pub function_id: u64,
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
}

/// Upgrades (or installs or reinstalls) a dapp canister registered with SNS root.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradeSnsControlledCanister {
    /// The Wasm (raw or gzipped); empty when `chunked_canister_wasm` is set.
    #[serde(with = "serde_bytes")]
    pub new_canister_wasm: Vec<u8>,
    /// A Wasm too large for one message, uploaded beforehand to a store canister's chunk store.
    pub chunked_canister_wasm: Option<ChunkedCanisterWasm>,
    /// An [`InstallModeCode`]; absent means upgrade.
    pub mode: Option<i32>,
    pub canister_id: Option<Principal>,
    /// Candid-encoded argument of `post_upgrade` (or `init`); absent means `()`.
    pub canister_upgrade_arg: Option<ByteBuf>,
}

/// A chunked Wasm as governance takes it (`store_canister_id` is `opt` here, required by root).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ChunkedCanisterWasm {
    /// SHA-256 of the assembled module.
    #[serde(with = "serde_bytes")]
    pub wasm_module_hash: Vec<u8>,
    pub store_canister_id: Option<Principal>,
    /// SHA-256 of each chunk, in order.
    pub chunk_hashes_list: Vec<ByteBuf>,
}

/// Hands canisters to SNS root: root must already be one of their controllers, and becomes
/// the only one.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisterDappCanisters {
    pub canister_ids: Vec<Principal>,
}

/// `TransferSnsTreasuryFunds.from_treasury` (the real `TransferFrom`, an `int32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum TransferFrom {
    Unspecified = 0,
    /// Governance's ICP account on the NNS ledger.
    IcpTreasury = 1,
    /// Governance's treasury subaccount on the SNS ledger.
    SnsTokenTreasury = 2,
}

/// Moves tokens out of a treasury to an account (critical topic TreasuryAssetManagement).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TransferSnsTreasuryFunds {
    /// A [`TransferFrom`].
    pub from_treasury: i32,
    pub to_principal: Option<Principal>,
    pub to_subaccount: Option<Subaccount>,
    pub memo: Option<u64>,
    pub amount_e8s: u64,
}

/// `ManageDappCanisterSettings.log_visibility` (SNS root's `LogVisibility`, an `int32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum LogVisibilityCode {
    Unspecified = 0,
    Controllers = 1,
    Public = 2,
}

/// Changes settings of dapp canisters through root's `manage_dapp_canister_settings`; absent
/// fields stay as they are.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ManageDappCanisterSettings {
    pub freezing_threshold: Option<u64>,
    pub canister_ids: Vec<Principal>,
    pub reserved_cycles_limit: Option<u64>,
    /// A [`LogVisibilityCode`].
    pub log_visibility: Option<i32>,
    pub snapshot_visibility: Option<i32>,
    pub wasm_memory_limit: Option<u64>,
    pub memory_allocation: Option<u64>,
    pub compute_allocation: Option<u64>,
    pub wasm_memory_threshold: Option<u64>,
}

// ------------------------------------------------------------------ manage_neuron

/// `manage_neuron`'s argument. `subaccount` is the neuron's id bytes.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ManageNeuron {
    #[serde(with = "serde_bytes")]
    pub subaccount: Vec<u8>,
    pub command: Option<Command>,
}

impl ManageNeuron {
    pub fn make_proposal(neuron: &NeuronId, proposal: Proposal) -> Self {
        ManageNeuron { subaccount: neuron.id.clone(), command: Some(Command::MakeProposal(proposal)) }
    }

    pub fn register_vote(neuron: &NeuronId, proposal: ProposalId, vote: Vote) -> Self {
        ManageNeuron {
            subaccount: neuron.id.clone(),
            command: Some(Command::RegisterVote(RegisterVote { vote: vote as i32, proposal: Some(proposal) })),
        }
    }
}

/// The neuron commands this project uses (the real `Command` has more cases).
#[allow(clippy::large_enum_variant)] // mirrors the Candid variant
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Command {
    MakeProposal(Proposal),
    RegisterVote(RegisterVote),
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisterVote {
    /// A [`Vote`]: 1 yes, 2 no.
    pub vote: i32,
    pub proposal: Option<ProposalId>,
}

/// `manage_neuron`'s reply (the real SNS calls the variant `Command_1`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ManageNeuronResponse {
    pub command: Option<CommandResponse>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CommandResponse {
    Error(GovernanceError),
    /// The new proposal's id.
    MakeProposal(GetProposal),
    RegisterVote(Empty),
}

impl ManageNeuronResponse {
    pub fn error(e: GovernanceError) -> Self {
        ManageNeuronResponse { command: Some(CommandResponse::Error(e)) }
    }

    /// The id of the proposal made, or the error.
    pub fn proposal_id(&self) -> Result<ProposalId, GovernanceError> {
        match &self.command {
            Some(CommandResponse::MakeProposal(GetProposal { proposal_id: Some(id) })) => Ok(*id),
            Some(CommandResponse::Error(e)) => Err(e.clone()),
            other => Err(GovernanceError::new(ErrorType::Unspecified, format!("unexpected reply {other:?}"))),
        }
    }

    /// `Ok` for a vote registered, or the error.
    pub fn vote_result(&self) -> Result<(), GovernanceError> {
        match &self.command {
            Some(CommandResponse::RegisterVote(_)) => Ok(()),
            Some(CommandResponse::Error(e)) => Err(e.clone()),
            other => Err(GovernanceError::new(ErrorType::Unspecified, format!("unexpected reply {other:?}"))),
        }
    }
}

// ------------------------------------------------------------------ proposal data and queries

/// `get_proposal`'s argument, and `MakeProposal`'s reply.
#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GetProposal {
    pub proposal_id: Option<ProposalId>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetProposalResponse {
    pub result: Option<GetProposalResult>,
}

/// The real SNS calls it `Result_1`.
#[allow(clippy::large_enum_variant)] // mirrors the Candid variant
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum GetProposalResult {
    Error(GovernanceError),
    Proposal(ProposalData),
}

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ballot {
    /// A [`Vote`]; 0 until the neuron votes.
    pub vote: i32,
    pub cast_timestamp_seconds: u64,
    pub voting_power: u64,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub no: u64,
    pub yes: u64,
    /// The voting power of every ballot, cast or not.
    pub total: u64,
    pub timestamp_seconds: u64,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Percentage {
    pub basis_points: Option<u64>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitForQuietState {
    pub current_deadline_timestamp_seconds: u64,
}

/// A proposal and everything that happened to it. The field names are the real SNS's; the
/// real record's `action_auxiliary` (for treasury and SNS-version proposals) is left out.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ProposalData {
    pub id: Option<ProposalId>,
    /// A Markdown rendering of the action; for custom proposals it includes the validator's text.
    pub payload_text_rendering: Option<String>,
    /// The native action id, or the custom function's id (see [`Action::action_id`]).
    pub action: u64,
    pub failure_reason: Option<GovernanceError>,
    /// Ballots by neuron id (hex).
    pub ballots: Vec<(String, Ballot)>,
    pub minimum_yes_proportion_of_total: Option<Percentage>,
    pub reward_event_round: u64,
    pub failed_timestamp_seconds: u64,
    pub reward_event_end_timestamp_seconds: Option<u64>,
    pub proposal_creation_timestamp_seconds: u64,
    pub initial_voting_period_seconds: u64,
    pub reject_cost_e8s: u64,
    pub latest_tally: Option<Tally>,
    pub wait_for_quiet_deadline_increase_seconds: u64,
    /// 0 while the proposal is open.
    pub decided_timestamp_seconds: u64,
    pub proposal: Option<Proposal>,
    pub proposer: Option<NeuronId>,
    pub wait_for_quiet_state: Option<WaitForQuietState>,
    pub minimum_yes_proportion_of_exercised: Option<Percentage>,
    pub is_eligible_for_rewards: bool,
    pub executed_timestamp_seconds: u64,
    pub topic: Option<Topic>,
}

/// What the real SNS assumes when a proposal does not say: 3 % of the total voting power ...
pub const DEFAULT_MIN_YES_OF_TOTAL_BASIS_POINTS: u64 = 300;
/// ... and a majority (more than 50 %) of the votes cast.
pub const DEFAULT_MIN_YES_OF_EXERCISED_BASIS_POINTS: u64 = 5_000;

impl ProposalData {
    /// The decision status, computed as the real SNS does: open until decided; then rejected
    /// unless accepted; an accepted proposal is executed, failed, or (still executing) adopted.
    pub fn status(&self) -> ProposalDecisionStatus {
        if self.decided_timestamp_seconds == 0 {
            ProposalDecisionStatus::Open
        } else if !self.is_accepted() {
            ProposalDecisionStatus::Rejected
        } else if self.executed_timestamp_seconds > 0 {
            ProposalDecisionStatus::Executed
        } else if self.failed_timestamp_seconds > 0 {
            ProposalDecisionStatus::Failed
        } else {
            ProposalDecisionStatus::Adopted
        }
    }

    /// Whether the latest tally meets the proposal's thresholds: yes at least
    /// `minimum_yes_proportion_of_total` of the total, and yes more than
    /// `minimum_yes_proportion_of_exercised` of the votes cast (defaults: 3 % and 50 %).
    pub fn is_accepted(&self) -> bool {
        let Some(t) = self.latest_tally else { return false };
        let bp = |p: Option<Percentage>, default| p.and_then(|p| p.basis_points).unwrap_or(default) as u128;
        let of_total = bp(self.minimum_yes_proportion_of_total, DEFAULT_MIN_YES_OF_TOTAL_BASIS_POINTS);
        let of_exercised = bp(self.minimum_yes_proportion_of_exercised, DEFAULT_MIN_YES_OF_EXERCISED_BASIS_POINTS);
        let (yes, no, total) = (t.yes as u128, t.no as u128, t.total as u128);
        yes * 10_000 >= total * of_total && yes * 10_000 > (yes + no) * of_exercised
    }

    /// When voting ends: creation plus the initial voting period (plus any wait-for-quiet
    /// extension, which the local governance never grants).
    pub fn deadline_timestamp_seconds(&self) -> u64 {
        match self.wait_for_quiet_state {
            Some(w) => w.current_deadline_timestamp_seconds,
            None => self.proposal_creation_timestamp_seconds.saturating_add(self.initial_voting_period_seconds),
        }
    }

    /// The ballot of a neuron, if it has one.
    pub fn ballot(&self, neuron: &NeuronId) -> Option<&Ballot> {
        let key = neuron.to_hex();
        self.ballots.iter().find(|(k, _)| *k == key).map(|(_, b)| b)
    }
}

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TopicSelector {
    pub topic: Option<Topic>,
}

/// `list_proposals`' argument. Every field is the real SNS's (the non-`opt` ones are required
/// there).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListProposals {
    /// Reward statuses to include (empty: all). The local governance has no rewards and ignores it.
    pub include_reward_status: Vec<i32>,
    /// Only proposals with a smaller id (paging, newest first).
    pub before_proposal: Option<ProposalId>,
    /// At most this many (0 or more than 100: 100).
    pub limit: u32,
    /// Action ids to leave out.
    pub exclude_type: Vec<u64>,
    /// [`ProposalDecisionStatus`] values to include (empty: all).
    pub include_status: Vec<i32>,
    /// Topics to include (absent: all; a selector with no topic selects proposals without one).
    pub include_topics: Option<Vec<TopicSelector>>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListProposalsResponse {
    pub include_ballots_by_caller: Option<bool>,
    pub include_topic_filtering: Option<bool>,
    /// Newest first.
    pub proposals: Vec<ProposalData>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListNervousSystemFunctionsResponse {
    /// Ids of removed custom functions: they can never be used again.
    pub reserved_ids: Vec<u64>,
    pub functions: Vec<NervousSystemFunction>,
}

// ------------------------------------------------------------------ neurons

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListNeurons {
    /// Only neurons this principal has permissions on.
    pub of_principal: Option<Principal>,
    /// At most this many (0 or more than 100: 100).
    pub limit: u32,
    /// Only neurons with a larger id (paging).
    pub start_page_at: Option<NeuronId>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListNeuronsResponse {
    pub neurons: Vec<Neuron>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetNeuron {
    pub neuron_id: Option<NeuronId>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetNeuronResponse {
    pub result: Option<GetNeuronResult>,
}

/// The real SNS calls it `Result`.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum GetNeuronResult {
    Error(GovernanceError),
    Neuron(Neuron),
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NeuronPermission {
    pub principal: Option<Principal>,
    pub permission_type: Vec<i32>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Subaccount {
    #[serde(with = "serde_bytes")]
    pub subaccount: Vec<u8>,
}

/// SNS governance's account type (both fields `opt`; not ICRC-1's `Account`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub owner: Option<Principal>,
    pub subaccount: Option<Subaccount>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct DisburseMaturityInProgress {
    pub timestamp_of_disbursement_seconds: u64,
    pub amount_e8s: u64,
    pub account_to_disburse_to: Option<Account>,
    pub finalize_disbursement_timestamp_seconds: Option<u64>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Followees {
    pub followees: Vec<NeuronId>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DissolveState {
    DissolveDelaySeconds(u64),
    WhenDissolvedTimestampSeconds(u64),
}

/// A neuron, with the fields of the real record that are not `opt` there (plus a few that are).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Neuron {
    pub id: Option<NeuronId>,
    pub permissions: Vec<NeuronPermission>,
    pub maturity_e8s_equivalent: u64,
    pub cached_neuron_stake_e8s: u64,
    pub created_timestamp_seconds: u64,
    pub aging_since_timestamp_seconds: u64,
    pub dissolve_state: Option<DissolveState>,
    pub voting_power_percentage_multiplier: u64,
    pub disburse_maturity_in_progress: Vec<DisburseMaturityInProgress>,
    pub followees: Vec<(u64, Followees)>,
    pub neuron_fees_e8s: u64,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GetMode {}

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GetModeResponse {
    /// See [`governance_modes`].
    pub mode: Option<i32>,
}

// ------------------------------------------------------------------ nervous system parameters

/// `get_nervous_system_parameters`' reply: the fields of the real `NervousSystemParameters`
/// (all `opt` there) that the local governance applies; the others are left out.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NervousSystemParameters {
    /// Charged to the proposer at submission (`neuron_fees_e8s`), given back on adoption.
    pub reject_cost_e8s: Option<u64>,
    pub initial_voting_period_seconds: Option<u64>,
    pub wait_for_quiet_deadline_increase_seconds: Option<u64>,
    /// Neurons with a shorter dissolve delay may neither propose nor vote.
    pub neuron_minimum_dissolve_delay_to_vote_seconds: Option<u64>,
}

/// The defaults of the local governance's parameters and neurons: the values of
/// `sns/sns_init.yaml` (durations as the `sns` CLI reads them: a month is 30.44 days, a year
/// 365.25 days).
pub mod local_sns_defaults {
    const E8S_PER_TOKEN: u64 = 100_000_000;
    /// `Proposals.rejection_fee: 5_000 tokens`.
    pub const REJECT_COST_E8S: u64 = 5_000 * E8S_PER_TOKEN;
    /// `Voting.minimum_dissolve_delay: 1 month`.
    pub const NEURON_MINIMUM_DISSOLVE_DELAY_TO_VOTE_SECONDS: u64 = 2_630_016;
    /// `Proposals.maximum_wait_for_quiet_deadline_extension: 1 day` (also the real default).
    pub const WAIT_FOR_QUIET_DEADLINE_INCREASE_SECONDS: u64 = 86_400;
    /// A developer neuron of `Distribution.Neurons`: `stake: 10_000_000 tokens` ...
    pub const NEURON_STAKE_E8S: u64 = 10_000_000 * E8S_PER_TOKEN;
    /// ... `dissolve_delay: 1 year`.
    pub const NEURON_DISSOLVE_DELAY_SECONDS: u64 = 31_557_600;
}

// ------------------------------------------------------------------ init argument of the local governance

/// Init argument of the local SNS governance canister (`standins/sns_governance`). The real
/// SNS governance takes a very different `Governance` record (neurons come from the swap); this
/// one creates fixed neurons directly. The `opt` parameters default to [`local_sns_defaults`].
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GovernanceInitArgs {
    /// SNS root: executes upgrades and dapp registrations.
    pub root_canister_id: Principal,
    /// The SNS ledger and swap, if any: custom functions may not target them.
    pub ledger_canister_id: Option<Principal>,
    pub swap_canister_id: Option<Principal>,
    /// The neurons, with distinct, non-empty ids and positive voting power (at least one of
    /// them with the minimum dissolve delay to vote).
    pub neurons: Vec<InitialNeuron>,
    /// How long proposals stay open at most (seconds, at least 1).
    pub initial_voting_period_seconds: u64,
    pub reject_cost_e8s: Option<u64>,
    pub neuron_minimum_dissolve_delay_to_vote_seconds: Option<u64>,
    /// At least 1.
    pub wait_for_quiet_deadline_increase_seconds: Option<u64>,
}

/// A neuron of the local governance: its id (also its `subaccount` in `manage_neuron`), the only
/// principal allowed to use it, its fixed voting power, its stake (`cached_neuron_stake_e8s`;
/// proposing needs at least the rejection fee) and its dissolve delay (not dissolving; voting
/// and proposing need at least the minimum). Stake and dissolve delay default to
/// [`local_sns_defaults`].
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitialNeuron {
    #[serde(with = "serde_bytes")]
    pub id: Vec<u8>,
    pub controller: Principal,
    pub voting_power: u64,
    pub stake_e8s: Option<u64>,
    pub dissolve_delay_seconds: Option<u64>,
}

impl InitialNeuron {
    pub fn stake_e8s(&self) -> u64 {
        self.stake_e8s.unwrap_or(local_sns_defaults::NEURON_STAKE_E8S)
    }

    pub fn dissolve_delay_seconds(&self) -> u64 {
        self.dissolve_delay_seconds.unwrap_or(local_sns_defaults::NEURON_DISSOLVE_DELAY_SECONDS)
    }
}

// ------------------------------------------------------------------ helpers

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The bytes of a hex string (either case).
pub fn from_hex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("hex string of odd length {}", s.len()));
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(format!("invalid hex digit {:?}", c as char)),
    };
    s.as_bytes().chunks(2).map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::{decode_one, encode_one};

    fn decided(yes: u64, no: u64, total: u64) -> ProposalData {
        ProposalData {
            decided_timestamp_seconds: 10,
            latest_tally: Some(Tally { yes, no, total, timestamp_seconds: 10 }),
            ..Default::default()
        }
    }

    #[test]
    fn status_follows_the_real_sns_rules() {
        assert_eq!(ProposalData::default().status(), ProposalDecisionStatus::Open);
        let mut p = decided(60, 10, 100);
        assert_eq!(p.status(), ProposalDecisionStatus::Adopted);
        p.executed_timestamp_seconds = 11;
        assert_eq!(p.status(), ProposalDecisionStatus::Executed);
        let mut p = decided(60, 10, 100);
        p.failed_timestamp_seconds = 11;
        assert_eq!(p.status(), ProposalDecisionStatus::Failed);
        assert_eq!(decided(10, 10, 100).status(), ProposalDecisionStatus::Rejected);
        assert_eq!(decided(10, 60, 100).status(), ProposalDecisionStatus::Rejected);
        // No tally: never accepted.
        assert_eq!(
            ProposalData { decided_timestamp_seconds: 1, ..Default::default() }.status(),
            ProposalDecisionStatus::Rejected
        );
    }

    #[test]
    fn acceptance_uses_the_proposal_thresholds_or_the_defaults() {
        // Default: at least 3 % of the total.
        assert!(!decided(2, 0, 100).is_accepted());
        assert!(decided(3, 0, 100).is_accepted());
        // Explicit: no minimum of the total, 50 % of the votes cast.
        let mut p = decided(2, 1, 100);
        p.minimum_yes_proportion_of_total = Some(Percentage { basis_points: Some(0) });
        p.minimum_yes_proportion_of_exercised = Some(Percentage { basis_points: Some(5_000) });
        assert!(p.is_accepted());
        p.latest_tally = Some(Tally { yes: 1, no: 1, total: 100, timestamp_seconds: 0 });
        assert!(!p.is_accepted(), "a tie is not a majority");
        // Critical-like thresholds: 67 % of the votes cast.
        p.minimum_yes_proportion_of_exercised = Some(Percentage { basis_points: Some(6_700) });
        p.latest_tally = Some(Tally { yes: 66, no: 34, total: 100, timestamp_seconds: 0 });
        assert!(!p.is_accepted());
        p.latest_tally = Some(Tally { yes: 68, no: 32, total: 100, timestamp_seconds: 0 });
        assert!(p.is_accepted());
    }

    #[test]
    fn int32_enums_have_the_sns_values() {
        assert_eq!(Vote::Yes as i32, 1);
        assert_eq!(Vote::from_i32(2), Some(Vote::No));
        assert_eq!(Vote::from_i32(3), None);
        for (v, s) in [(1, "Open"), (2, "Rejected"), (3, "Adopted"), (4, "Executed"), (5, "Failed")] {
            assert_eq!(format!("{:?}", ProposalDecisionStatus::from_i32(v).unwrap()), s);
        }
        assert_eq!(ProposalDecisionStatus::from_i32(6), None);
        assert_eq!(ErrorType::InvalidProposal as i32, 15);
        assert_eq!(ErrorType::External as i32, 11);
        assert_eq!(install_mode_from_code(None), Ok(root::CanisterInstallMode::Upgrade));
        assert_eq!(install_mode_from_code(Some(1)), Ok(root::CanisterInstallMode::Install));
        assert_eq!(install_mode_from_code(Some(2)), Ok(root::CanisterInstallMode::Reinstall));
        assert_eq!(install_mode_from_code(Some(3)), Ok(root::CanisterInstallMode::Upgrade));
        assert!(install_mode_from_code(Some(0)).is_err());
        assert!(install_mode_from_code(Some(4)).is_err());
    }

    #[test]
    fn action_ids_and_topics() {
        let exec = Action::ExecuteGenericNervousSystemFunction(ExecuteGenericNervousSystemFunction {
            function_id: 1234,
            payload: vec![],
        });
        assert_eq!(exec.action_id(), 1234);
        assert_eq!(exec.native_topic(), None);
        let motion = Action::Motion(Motion { motion_text: "x".into() });
        assert_eq!((motion.action_id(), motion.native_topic()), (1, Some(Topic::Governance)));
        let upgrade = Action::UpgradeSnsControlledCanister(Default::default());
        assert_eq!((upgrade.action_id(), upgrade.native_topic()), (3, Some(Topic::DappCanisterManagement)));
        assert!(upgrade.is_upgrade() && !motion.is_upgrade());
        let add = Action::AddGenericNervousSystemFunction(Default::default());
        assert_eq!((add.action_id(), add.native_topic()), (4, Some(Topic::CriticalDappOperations)));
        assert_eq!(Action::RemoveGenericNervousSystemFunction(1000).action_id(), 5);
        assert_eq!(Action::RegisterDappCanisters(Default::default()).action_id(), 10);
        assert!(Topic::CriticalDappOperations.is_critical() && !Topic::ApplicationBusinessLogic.is_critical());
    }

    #[test]
    fn hex_round_trips() {
        let n = NeuronId { id: vec![0, 1, 0xab, 0xff] };
        assert_eq!(n.to_hex(), "0001abff");
        assert_eq!(n.to_string(), "0001abff");
        assert_eq!(NeuronId::from_hex("0001ABff").unwrap(), n);
        assert!(from_hex("abc").is_err());
        assert!(from_hex("zz").is_err());
        assert_eq!(from_hex("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn deadline_and_ballots() {
        let p = ProposalData {
            proposal_creation_timestamp_seconds: 100,
            initial_voting_period_seconds: 50,
            ballots: vec![("0a".into(), Ballot { vote: 1, cast_timestamp_seconds: 100, voting_power: 7 })],
            ..Default::default()
        };
        assert_eq!(p.deadline_timestamp_seconds(), 150);
        assert_eq!(p.ballot(&NeuronId { id: vec![10] }).unwrap().voting_power, 7);
        assert!(p.ballot(&NeuronId { id: vec![11] }).is_none());
        let extended = ProposalData {
            wait_for_quiet_state: Some(WaitForQuietState { current_deadline_timestamp_seconds: 170 }),
            ..p
        };
        assert_eq!(extended.deadline_timestamp_seconds(), 170);
    }

    #[test]
    fn manage_neuron_helpers_and_replies() {
        let n = NeuronId { id: vec![1; 32] };
        let m = ManageNeuron::register_vote(&n, ProposalId { id: 3 }, Vote::No);
        assert_eq!(m.subaccount, n.id);
        assert_eq!(
            m.command,
            Some(Command::RegisterVote(RegisterVote { vote: 2, proposal: Some(ProposalId { id: 3 }) }))
        );
        let ok = ManageNeuronResponse {
            command: Some(CommandResponse::MakeProposal(GetProposal { proposal_id: Some(ProposalId { id: 4 }) })),
        };
        assert_eq!(ok.proposal_id(), Ok(ProposalId { id: 4 }));
        assert!(ok.vote_result().is_err());
        let err = ManageNeuronResponse::error(GovernanceError::new(ErrorType::NotFound, "no"));
        assert_eq!(err.proposal_id().unwrap_err().error_type, 3);
        assert_eq!(
            ManageNeuronResponse { command: Some(CommandResponse::RegisterVote(Empty {})) }.vote_result(),
            Ok(())
        );
    }

    #[test]
    fn blobs_round_trip_through_candid() {
        let u = UpgradeSnsControlledCanister {
            new_canister_wasm: b"\0asm\x01\0\0\0".to_vec(),
            chunked_canister_wasm: Some(ChunkedCanisterWasm {
                wasm_module_hash: vec![7; 32],
                store_canister_id: Some(Principal::anonymous()),
                chunk_hashes_list: vec![ByteBuf::from(vec![1; 32])],
            }),
            mode: Some(InstallModeCode::Upgrade as i32),
            canister_id: Some(Principal::management_canister()),
            canister_upgrade_arg: Some(ByteBuf::from(EMPTY_CANDID_ARGS.to_vec())),
        };
        let p = Proposal {
            title: "t".into(),
            url: String::new(),
            summary: "s".into(),
            action: Some(Action::UpgradeSnsControlledCanister(u)),
        };
        let m = ManageNeuron::make_proposal(&NeuronId { id: vec![9; 32] }, p);
        assert_eq!(decode_one::<ManageNeuron>(&encode_one(&m).unwrap()).unwrap(), m);
    }
}
