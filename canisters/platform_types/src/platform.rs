//! The platform's Candid contract: configuration, and the types the hub, the shards and
//! learning_content exchange. Token amounts are e8s (8 decimals) in `nat64`: the hard cap,
//! 4.2 B tokens, is 4.2e17 e8s, well inside 64 bits.

use candid::{CandidType, Principal};
use serde::{Deserialize, Serialize};

/// One token in e8s.
pub const E8S: u64 = 100_000_000;
/// Hard cap on everything the hub ever grants (and so mints): 4.2 B tokens.
pub const HARD_CAP_E8S: u64 = 4_200_000_000 * E8S;
pub const NANOS_PER_DAY: u64 = 86_400 * 1_000_000_000;

/// Checked accounting (token amounts, counters of money): an overflow or a negative result is
/// a bug or an attack, never a wrap nor a silent saturation. It panics, which in a canister is
/// a trap: the message's changes are rolled back and the caller gets the reason.
pub fn checked_add_e8s(a: u64, b: u64, what: &str) -> u64 {
    a.checked_add(b).unwrap_or_else(|| panic!("accounting overflow in {what}: {a} + {b}"))
}

/// See [`checked_add_e8s`].
pub fn checked_sub_e8s(a: u64, b: u64, what: &str) -> u64 {
    a.checked_sub(b).unwrap_or_else(|| panic!("accounting underflow in {what}: {a} - {b}"))
}

/// Limits and rates of the platform. The hub holds the authoritative copy, passes it to every
/// shard it creates, and (later, through governance) pushes changes.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PlatformConfig {
    /// A new shard is created when every Active shard has at least this many users.
    pub shard_soft_limit: u64,
    /// A shard with this many users is Full and gets no more users.
    pub shard_hard_limit: u64,
    /// How often the hub's timer checks capacity and shard cycles.
    pub auto_scale_interval_secs: u64,
    /// Tokens granted to a shard per allowance request, in e8s.
    pub allowance_chunk_e8s: u64,
    /// Reward credited per passed quiz, in e8s.
    pub reward_per_quiz_e8s: u64,
    /// Quiz attempts a user may make per UTC day.
    pub daily_attempt_limit: u32,
    /// Percentage of correct answers needed to pass (1..=100).
    pub pass_mark_percent: u8,
    /// A shard reports its stats to the hub at most this often (unless it needs allowance).
    pub shard_sync_interval_secs: u64,
    /// Cycles a new shard starts with (on top of the creation fee the hub pays).
    pub shard_initial_cycles: u128,
    /// Below this balance the hub tops a shard up ...
    pub shard_topup_threshold_cycles: u128,
    /// ... by this amount.
    pub shard_topup_amount_cycles: u128,
    /// Most the hub grants all shards together per UTC day, in e8s. `None` only in a
    /// configuration stored before the budget existed: it means [`DEFAULT_DAILY_EMISSION_BUDGET_E8S`]
    /// (see [`PlatformConfig::daily_emission_budget`]).
    pub daily_emission_budget_e8s: Option<u64>,
    /// At most this many cycles topped up per shard per UTC day (a shard burning cycles cannot
    /// drain the hub); `None` (configurations stored before it existed):
    /// [`DEFAULT_SHARD_TOPUP_DAILY_BUDGET_CYCLES`]. See [`PlatformConfig::shard_topup_daily_budget`].
    pub shard_topup_daily_budget_cycles: Option<u128>,
    /// The smallest amount a learner may withdraw; `None` (older stored configurations):
    /// [`DEFAULT_MIN_WITHDRAWAL_E8S`]. See [`PlatformConfig::min_withdrawal`].
    pub min_withdrawal_e8s: Option<u64>,
    /// How long a learner waits after a withdrawal before the next; `None`:
    /// [`DEFAULT_WITHDRAWAL_COOLDOWN_SECS`]. See [`PlatformConfig::withdrawal_cooldown`].
    pub withdrawal_cooldown_secs: Option<u64>,
    /// Operators who may read every shard's canister log (`fetch_canister_logs`, e.g.
    /// `dfx canister logs`) besides the hub: the shards' log visibility is `allowed_viewers`
    /// = the hub and these. At most [`MAX_SHARD_LOG_VIEWERS`]; `None` = none.
    pub shard_log_viewers: Option<Vec<candid::Principal>>,
    /// Cycles battery: a shard or learning_content with fewer estimated days of runtime than this
    /// is topped up even above the threshold (0: the rule is off); `None`: [`DEFAULT_TOPUP_MIN_DAYS_LEFT`].
    pub topup_min_days_left: Option<u64>,
    /// Below this balance the hub creates no shard (first step of degradation); `None`:
    /// [`DEFAULT_HUB_CYCLES_FOR_NEW_SHARDS`].
    pub hub_cycles_for_new_shards: Option<u128>,
    /// Below this balance every top-up is smaller (second step); `None`:
    /// [`DEFAULT_HUB_CYCLES_FOR_FULL_TOPUPS`]. At most `hub_cycles_for_new_shards`.
    pub hub_cycles_for_full_topups: Option<u128>,
    /// Storage (function 1001, see `cleanup`): a shard whose stable memory passes this many
    /// bytes is Full; `None`: [`crate::DEFAULT_SHARD_MEMORY_BUDGET_BYTES`].
    pub shard_memory_budget_bytes: Option<u64>,
    /// Settled withdrawals and settled mints older than this are compacted to counters;
    /// `None`: [`crate::DEFAULT_SETTLED_RETENTION_SECS`].
    pub settled_retention_secs: Option<u64>,
    /// Learners inactive this long are archived (profile deleted, balance kept); 0 or `None`:
    /// never.
    pub inactive_archive_secs: Option<u64>,
    /// Principals the DAO names (function 1001) to read every learner's data through the
    /// shards' `export_users`, for an off-chain archive, besides the hub. At most
    /// [`MAX_USER_EXPORT_READERS`]; `None` = none.
    pub user_export_readers: Option<Vec<candid::Principal>>,
    /// Subnets (ids) for new shards: the hub creates each new shard through the cycles minting
    /// canister's `create_canister` on the named subnet whose shards hold the fewest learners.
    /// `None` or empty: on the hub's own subnet (the management canister), as before. At most
    /// [`MAX_SHARD_SUBNETS`].
    pub shard_subnets: Option<Vec<candid::Principal>>,
    /// Each shard sends its new withdrawals to the hub together (one call and one reply for the
    /// whole batch instead of one per withdrawal): a withdrawal waits this many seconds for others
    /// to join it, and goes at most twice this long after its `unstake`; 0: each withdrawal is
    /// sent by its own `unstake`, at once. `None`: [`DEFAULT_WITHDRAWAL_BATCH_SECS`]. See
    /// [`PlatformConfig::withdrawal_batch`].
    pub withdrawal_batch_secs: Option<u64>,
}

/// Default daily emission budget: 1 M tokens a day pays the 4.2 B cap out over 4,200 days
/// (about 11.5 years) at the earliest.
pub const DEFAULT_DAILY_EMISSION_BUDGET_E8S: u64 = 1_000_000 * E8S;
/// Highest daily emission budget: the cap takes at least 2,100 days (5.75 years) to pay out.
pub const MAX_DAILY_EMISSION_BUDGET_E8S: u64 = 2_000_000 * E8S;
/// Highest reward per passed quiz: ten times the default. With at most 1,000 attempts a day per
/// learner it bounds what one learner can earn per day; the daily budget bounds the platform.
pub const MAX_REWARD_PER_QUIZ_E8S: u64 = 1_000 * E8S;
/// Highest allowance chunk: ten times the default. A shard never holds more unpaid allowance
/// than one chunk, so this bounds what a misbehaving shard could hand out before the hub stops it.
pub const MAX_ALLOWANCE_CHUNK_E8S: u64 = 1_000_000 * E8S;
/// Lowest shard cycles amounts: below 0.1 T a shard (or a top-up) would not last a day of traffic.
pub const MIN_SHARD_CYCLES: u128 = 100_000_000_000;
/// Highest initial cycles and top-up threshold per shard: 10 T, five times the default.
pub const MAX_SHARD_CYCLES: u128 = 10_000_000_000_000;
/// Highest top-up amount: 5 T per shard per round, so one round over N shards spends at most
/// N x 5 T of the hub's cycles.
pub const MAX_SHARD_TOPUP_CYCLES: u128 = 5_000_000_000_000;

/// The fields of [`PlatformConfig`] that move money or cycles. Only the critical function 1009
/// (`update_economic_config`) may change them; 1001 (`update_config`) refuses them.
pub const ECONOMIC_FIELDS: &[&str] = &[
    "allowance_chunk_e8s",
    "reward_per_quiz_e8s",
    "daily_emission_budget_e8s",
    "shard_initial_cycles",
    "shard_topup_threshold_cycles",
    "shard_topup_amount_cycles",
    "shard_topup_daily_budget_cycles",
    "topup_min_days_left",
    "hub_cycles_for_new_shards",
    "hub_cycles_for_full_topups",
];

/// Every withdrawal costs the platform two inter-canister calls, a ledger block and journal
/// entries kept forever, whatever its amount. The default minimum is a tenth of the default quiz
/// reward (10 tokens): one passed quiz is always enough, and dust is not worth its cost.
pub const DEFAULT_MIN_WITHDRAWAL_E8S: u64 = 10 * E8S;
/// Bounds governance may set: at least 1 e8s, at most 10,000 tokens (100 default rewards).
pub const MAX_MIN_WITHDRAWAL_E8S: u64 = 10_000 * E8S;
/// Default wait between two withdrawals of a learner: one hour (a learner who earns a few
/// rewards a day loses nothing; a script cannot turn a balance into a stream of withdrawals).
pub const DEFAULT_WITHDRAWAL_COOLDOWN_SECS: u64 = 3_600;
/// The longest wait governance may set: 7 days.
pub const MAX_WITHDRAWAL_COOLDOWN_SECS: u64 = 7 * 86_400;
/// Default withdrawal batch period. A withdrawal sent alone costs the platform five message
/// executions; in a batch of n, three, plus two shared by the n (the hub's execution and the
/// shard's callback; three more when the round is a timer's). A withdrawal waits at most two
/// periods: the first `unstake` after its window closes sends the round in its own message, and
/// a timer one window later sends it if none comes (docs/performance.md, "The withdrawal batch").
pub const DEFAULT_WITHDRAWAL_BATCH_SECS: u64 = 30;
/// The longest batch period governance may set: 10 minutes.
pub const MAX_WITHDRAWAL_BATCH_SECS: u64 = 600;
/// Most withdrawals one `mint_withdrawals` call carries (a batch of 100 requests is ~7 KB).
pub const MAX_MINT_BATCH: usize = 100;

/// The per-shard daily top-up budget when the configuration sets none: three top-ups of the
/// default amount.
pub const DEFAULT_SHARD_TOPUP_DAILY_BUDGET_CYCLES: u128 = 3_000_000_000_000;
/// The largest per-shard daily top-up budget governance may set (100 T cycles).
pub const MAX_SHARD_TOPUP_DAILY_BUDGET_CYCLES: u128 = 100_000_000_000_000;

/// Most operators the configuration may name as shard log viewers: the IC allows 10 allowed
/// viewers per canister, and the hub is always one.
pub const MAX_SHARD_LOG_VIEWERS: usize = 9;

fn check_shard_log_viewers(viewers: &[candid::Principal]) -> Result<(), String> {
    if viewers.len() > MAX_SHARD_LOG_VIEWERS {
        return Err(format!("shard_log_viewers: at most {MAX_SHARD_LOG_VIEWERS} principals, got {}", viewers.len()));
    }
    for (i, v) in viewers.iter().enumerate() {
        if *v == candid::Principal::anonymous() || *v == candid::Principal::management_canister() {
            return Err(format!("shard_log_viewers: {v} cannot be a log viewer"));
        }
        if viewers[..i].contains(v) {
            return Err(format!("shard_log_viewers: {v} is listed twice"));
        }
    }
    Ok(())
}

/// Most principals the configuration may name as user export readers: an archive needs one or
/// two; each one more is one more holder of every learner's private data.
pub const MAX_USER_EXPORT_READERS: usize = 10;

/// Most subnets the configuration may name for new shards (the IC has a few dozen application
/// subnets; one shard holds up to 100,000 learners).
pub const MAX_SHARD_SUBNETS: usize = 64;

fn check_shard_subnets(subnets: &[candid::Principal]) -> Result<(), String> {
    if subnets.len() > MAX_SHARD_SUBNETS {
        return Err(format!("shard_subnets: at most {MAX_SHARD_SUBNETS} subnets, got {}", subnets.len()));
    }
    for (i, s) in subnets.iter().enumerate() {
        if *s == candid::Principal::anonymous() || *s == candid::Principal::management_canister() {
            return Err(format!("shard_subnets: {s} is not a subnet id"));
        }
        if subnets[..i].contains(s) {
            return Err(format!("shard_subnets: {s} is listed twice"));
        }
    }
    Ok(())
}

fn check_user_export_readers(readers: &[candid::Principal]) -> Result<(), String> {
    if readers.len() > MAX_USER_EXPORT_READERS {
        return Err(format!("user_export_readers: at most {MAX_USER_EXPORT_READERS} principals, got {}", readers.len()));
    }
    for (i, r) in readers.iter().enumerate() {
        // Anyone can call as the anonymous principal; the management canister calls no one.
        if *r == candid::Principal::anonymous() || *r == candid::Principal::management_canister() {
            return Err(format!("user_export_readers: {r} cannot be an export reader"));
        }
        if readers[..i].contains(r) {
            return Err(format!("user_export_readers: {r} is listed twice"));
        }
    }
    Ok(())
}

impl Default for PlatformConfig {
    fn default() -> Self {
        PlatformConfig {
            shard_soft_limit: 90_000,
            shard_hard_limit: 100_000,
            auto_scale_interval_secs: 60,
            allowance_chunk_e8s: 100_000 * E8S,
            reward_per_quiz_e8s: 100 * E8S,
            daily_attempt_limit: 5,
            pass_mark_percent: 60,
            shard_sync_interval_secs: 300,
            shard_initial_cycles: 2_000_000_000_000,
            shard_topup_threshold_cycles: 1_000_000_000_000,
            shard_topup_amount_cycles: 1_000_000_000_000,
            daily_emission_budget_e8s: Some(DEFAULT_DAILY_EMISSION_BUDGET_E8S),
            shard_topup_daily_budget_cycles: None,
            min_withdrawal_e8s: None,
            withdrawal_cooldown_secs: None,
            shard_log_viewers: None,
            topup_min_days_left: None,
            hub_cycles_for_new_shards: None,
            hub_cycles_for_full_topups: None,
            shard_memory_budget_bytes: None,
            settled_retention_secs: None,
            inactive_archive_secs: None,
            user_export_readers: None,
            shard_subnets: None,
            withdrawal_batch_secs: None,
        }
    }
}

impl PlatformConfig {
    /// Checks every range; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let c = self;
        if c.shard_hard_limit == 0 || c.shard_hard_limit > 10_000_000 {
            return Err(format!("shard_hard_limit must be in 1..=10000000, got {}", c.shard_hard_limit));
        }
        if c.shard_soft_limit == 0 || c.shard_soft_limit > c.shard_hard_limit {
            return Err(format!(
                "shard_soft_limit must be in 1..=shard_hard_limit ({}), got {}",
                c.shard_hard_limit, c.shard_soft_limit
            ));
        }
        if !(1..=86_400).contains(&c.auto_scale_interval_secs) {
            return Err(format!("auto_scale_interval_secs must be in 1..=86400, got {}", c.auto_scale_interval_secs));
        }
        if c.reward_per_quiz_e8s == 0 || c.reward_per_quiz_e8s > MAX_REWARD_PER_QUIZ_E8S {
            return Err(format!(
                "reward_per_quiz_e8s must be in 1..={MAX_REWARD_PER_QUIZ_E8S}, got {}",
                c.reward_per_quiz_e8s
            ));
        }
        // A chunk below one reward could never pay a quiz.
        if c.allowance_chunk_e8s < c.reward_per_quiz_e8s || c.allowance_chunk_e8s > MAX_ALLOWANCE_CHUNK_E8S {
            return Err(format!(
                "allowance_chunk_e8s must be in reward_per_quiz_e8s ({})..={MAX_ALLOWANCE_CHUNK_E8S}, got {}",
                c.reward_per_quiz_e8s, c.allowance_chunk_e8s
            ));
        }
        let budget = c.daily_emission_budget();
        // A budget below one reward would pay no quiz at all.
        if budget < c.reward_per_quiz_e8s || budget > MAX_DAILY_EMISSION_BUDGET_E8S {
            return Err(format!(
                "daily_emission_budget_e8s must be in reward_per_quiz_e8s ({})..={MAX_DAILY_EMISSION_BUDGET_E8S}, got {budget}",
                c.reward_per_quiz_e8s
            ));
        }
        if !(1..=1_000).contains(&c.daily_attempt_limit) {
            return Err(format!("daily_attempt_limit must be in 1..=1000, got {}", c.daily_attempt_limit));
        }
        if !(1..=100).contains(&c.pass_mark_percent) {
            return Err(format!("pass_mark_percent must be in 1..=100, got {}", c.pass_mark_percent));
        }
        if !(1..=86_400).contains(&c.shard_sync_interval_secs) {
            return Err(format!("shard_sync_interval_secs must be in 1..=86400, got {}", c.shard_sync_interval_secs));
        }
        for (name, value, max) in [
            ("shard_initial_cycles", c.shard_initial_cycles, MAX_SHARD_CYCLES),
            ("shard_topup_threshold_cycles", c.shard_topup_threshold_cycles, MAX_SHARD_CYCLES),
            ("shard_topup_amount_cycles", c.shard_topup_amount_cycles, MAX_SHARD_TOPUP_CYCLES),
        ] {
            if !(MIN_SHARD_CYCLES..=max).contains(&value) {
                return Err(format!("{name} must be in {MIN_SHARD_CYCLES}..={max}, got {value}"));
            }
        }
        let budget = c.shard_topup_daily_budget();
        if budget < c.shard_topup_amount_cycles || budget > MAX_SHARD_TOPUP_DAILY_BUDGET_CYCLES {
            return Err(format!(
                "shard_topup_daily_budget_cycles must be in shard_topup_amount_cycles ({})..={MAX_SHARD_TOPUP_DAILY_BUDGET_CYCLES}, got {budget}",
                c.shard_topup_amount_cycles
            ));
        }
        if !(1..=MAX_MIN_WITHDRAWAL_E8S).contains(&c.min_withdrawal()) {
            return Err(format!("min_withdrawal_e8s must be in 1..={MAX_MIN_WITHDRAWAL_E8S}, got {}", c.min_withdrawal()));
        }
        if c.topup_min_days_left() > crate::MAX_TOPUP_MIN_DAYS_LEFT {
            return Err(format!(
                "topup_min_days_left must be in 0..={}, got {}",
                crate::MAX_TOPUP_MIN_DAYS_LEFT,
                c.topup_min_days_left()
            ));
        }
        // The degradation order: the hub stops creating shards before it shrinks top-ups, and
        // both thresholds lie above the reserve it never spends.
        let (new_shards, full_topups) = (c.hub_cycles_for_new_shards(), c.hub_cycles_for_full_topups());
        if new_shards <= crate::HUB_CYCLES_RESERVE || new_shards > crate::MAX_HUB_CYCLES_THRESHOLD {
            return Err(format!(
                "hub_cycles_for_new_shards must be in {}..={}, got {new_shards}",
                crate::HUB_CYCLES_RESERVE + 1,
                crate::MAX_HUB_CYCLES_THRESHOLD
            ));
        }
        if full_topups <= crate::HUB_CYCLES_RESERVE || full_topups > new_shards {
            return Err(format!(
                "hub_cycles_for_full_topups must be in {}..=hub_cycles_for_new_shards ({new_shards}), got {full_topups}",
                crate::HUB_CYCLES_RESERVE + 1
            ));
        }
        check_shard_log_viewers(c.shard_log_viewers())?;
        check_user_export_readers(c.user_export_readers())?;
        check_shard_subnets(c.shard_subnets())?;
        crate::validate_storage_config(c.shard_memory_budget(), c.settled_retention(), c.inactive_archive())?;
        if c.withdrawal_cooldown() > MAX_WITHDRAWAL_COOLDOWN_SECS {
            return Err(format!(
                "withdrawal_cooldown_secs must be in 0..={MAX_WITHDRAWAL_COOLDOWN_SECS}, got {}",
                c.withdrawal_cooldown()
            ));
        }
        if c.withdrawal_batch() > MAX_WITHDRAWAL_BATCH_SECS {
            return Err(format!(
                "withdrawal_batch_secs must be in 0..={MAX_WITHDRAWAL_BATCH_SECS}, got {}",
                c.withdrawal_batch()
            ));
        }
        Ok(())
    }

    /// The daily emission budget in force (the default for a configuration stored before the
    /// budget existed).
    pub fn daily_emission_budget(&self) -> u64 {
        self.daily_emission_budget_e8s.unwrap_or(DEFAULT_DAILY_EMISSION_BUDGET_E8S)
    }

    /// The operators who may read the shards' logs besides the hub (see the field).
    pub fn shard_log_viewers(&self) -> &[candid::Principal] {
        self.shard_log_viewers.as_deref().unwrap_or(&[])
    }

    /// The principals who may call the shards' `export_users` besides the hub (see the field).
    pub fn user_export_readers(&self) -> &[candid::Principal] {
        self.user_export_readers.as_deref().unwrap_or(&[])
    }

    /// The subnets new shards are placed on (see the field); empty: the hub's own subnet.
    pub fn shard_subnets(&self) -> &[candid::Principal] {
        self.shard_subnets.as_deref().unwrap_or(&[])
    }

    /// The smallest amount a learner may withdraw, in e8s.
    pub fn min_withdrawal(&self) -> u64 {
        self.min_withdrawal_e8s.unwrap_or(DEFAULT_MIN_WITHDRAWAL_E8S)
    }

    /// The wait between two withdrawals of a learner, in seconds.
    pub fn withdrawal_cooldown(&self) -> u64 {
        self.withdrawal_cooldown_secs.unwrap_or(DEFAULT_WITHDRAWAL_COOLDOWN_SECS)
    }

    /// The withdrawal batch period, in seconds (0: no batching).
    pub fn withdrawal_batch(&self) -> u64 {
        self.withdrawal_batch_secs.unwrap_or(DEFAULT_WITHDRAWAL_BATCH_SECS)
    }

    /// Cycles the hub may top up per shard per UTC day.
    pub fn shard_topup_daily_budget(&self) -> u128 {
        self.shard_topup_daily_budget_cycles.unwrap_or(DEFAULT_SHARD_TOPUP_DAILY_BUDGET_CYCLES)
    }

    /// Estimated days of runtime below which the battery tops up (0: off).
    pub fn topup_min_days_left(&self) -> u64 {
        self.topup_min_days_left.unwrap_or(crate::DEFAULT_TOPUP_MIN_DAYS_LEFT)
    }

    /// A shard's stable memory budget, in bytes.
    pub fn shard_memory_budget(&self) -> u64 {
        self.shard_memory_budget_bytes.unwrap_or(crate::DEFAULT_SHARD_MEMORY_BUDGET_BYTES)
    }

    /// Age (seconds) after which settled journal entries are compacted.
    pub fn settled_retention(&self) -> u64 {
        self.settled_retention_secs.unwrap_or(crate::DEFAULT_SETTLED_RETENTION_SECS)
    }

    /// Inactivity (seconds) after which a learner is archived; 0: never.
    pub fn inactive_archive(&self) -> u64 {
        self.inactive_archive_secs.unwrap_or(crate::DEFAULT_INACTIVE_ARCHIVE_SECS)
    }

    /// The hub's balance below which it creates no shard.
    pub fn hub_cycles_for_new_shards(&self) -> u128 {
        self.hub_cycles_for_new_shards.unwrap_or(crate::DEFAULT_HUB_CYCLES_FOR_NEW_SHARDS)
    }

    /// The hub's balance below which its top-ups are smaller.
    pub fn hub_cycles_for_full_topups(&self) -> u128 {
        self.hub_cycles_for_full_topups.unwrap_or(crate::DEFAULT_HUB_CYCLES_FOR_FULL_TOPUPS)
    }
}

/// Calls `$m!(f1, f2, ...)` with the name of every field of [`PlatformConfig`] (which
/// [`ConfigOverrides`] mirrors as options): the one list the per-field code is written against.
macro_rules! with_config_fields {
    ($m:ident) => {
        $m!(
            shard_soft_limit,
            shard_hard_limit,
            auto_scale_interval_secs,
            allowance_chunk_e8s,
            reward_per_quiz_e8s,
            daily_attempt_limit,
            pass_mark_percent,
            shard_sync_interval_secs,
            shard_initial_cycles,
            shard_topup_threshold_cycles,
            shard_topup_amount_cycles
        )
    };
}
pub(crate) use with_config_fields;

/// Optional overrides of [`PlatformConfig`] given at install (tests use small shard limits).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct ConfigOverrides {
    pub shard_soft_limit: Option<u64>,
    pub shard_hard_limit: Option<u64>,
    pub auto_scale_interval_secs: Option<u64>,
    pub allowance_chunk_e8s: Option<u64>,
    pub reward_per_quiz_e8s: Option<u64>,
    pub daily_attempt_limit: Option<u32>,
    pub pass_mark_percent: Option<u8>,
    pub shard_sync_interval_secs: Option<u64>,
    pub shard_initial_cycles: Option<u128>,
    pub shard_topup_threshold_cycles: Option<u128>,
    pub shard_topup_amount_cycles: Option<u128>,
    pub daily_emission_budget_e8s: Option<u64>,
    /// Optional in `PlatformConfig` too (so older stored configurations decode), hence not in
    /// `with_config_fields!`: handled by hand in the methods below and in `render_config_change`.
    pub shard_topup_daily_budget_cycles: Option<u128>,
    /// Optional in `PlatformConfig` too, handled by hand like the top-up budget.
    pub min_withdrawal_e8s: Option<u64>,
    pub withdrawal_cooldown_secs: Option<u64>,
    /// Replaces the list of shard log viewers (an empty list removes them all).
    pub shard_log_viewers: Option<Vec<candid::Principal>>,
    /// The cycles battery's fields, optional in `PlatformConfig` too, handled by hand.
    pub topup_min_days_left: Option<u64>,
    pub hub_cycles_for_new_shards: Option<u128>,
    pub hub_cycles_for_full_topups: Option<u128>,
    /// Storage fields (see `cleanup`), optional in `PlatformConfig` too, handled by hand.
    pub shard_memory_budget_bytes: Option<u64>,
    pub settled_retention_secs: Option<u64>,
    pub inactive_archive_secs: Option<u64>,
    /// Replaces the list of user export readers (an empty list removes them all).
    pub user_export_readers: Option<Vec<candid::Principal>>,
    /// Replaces the subnets for new shards (an empty list: the hub's own subnet again).
    pub shard_subnets: Option<Vec<candid::Principal>>,
    /// Optional in `PlatformConfig` too, handled by hand like the cooldown.
    pub withdrawal_batch_secs: Option<u64>,
}

/// The economic parameters to change (function 1009, `update_economic_config`): the fields of
/// [`ECONOMIC_FIELDS`], each optional.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct EconomicConfigChanges {
    pub reward_per_quiz_e8s: Option<u64>,
    pub allowance_chunk_e8s: Option<u64>,
    pub daily_emission_budget_e8s: Option<u64>,
    pub shard_initial_cycles: Option<u128>,
    pub shard_topup_threshold_cycles: Option<u128>,
    pub shard_topup_amount_cycles: Option<u128>,
    pub shard_topup_daily_budget_cycles: Option<u128>,
    pub topup_min_days_left: Option<u64>,
    pub hub_cycles_for_new_shards: Option<u128>,
    pub hub_cycles_for_full_topups: Option<u128>,
}

impl EconomicConfigChanges {
    pub fn as_overrides(&self) -> ConfigOverrides {
        ConfigOverrides {
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
            ..Default::default()
        }
    }
}

impl ConfigOverrides {
    /// The defaults with these overrides applied, validated.
    pub fn apply_to(&self, base: &PlatformConfig) -> Result<PlatformConfig, String> {
        let mut c = base.clone();
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { c.$f = v; } )* };
        }
        with_config_fields!(set);
        if let Some(v) = self.daily_emission_budget_e8s {
            c.daily_emission_budget_e8s = Some(v);
        }
        if let Some(v) = self.shard_topup_daily_budget_cycles {
            c.shard_topup_daily_budget_cycles = Some(v);
        }
        if let Some(v) = self.min_withdrawal_e8s {
            c.min_withdrawal_e8s = Some(v);
        }
        if let Some(v) = self.withdrawal_cooldown_secs {
            c.withdrawal_cooldown_secs = Some(v);
        }
        if let Some(v) = self.withdrawal_batch_secs {
            c.withdrawal_batch_secs = Some(v);
        }
        if let Some(v) = &self.shard_log_viewers {
            c.shard_log_viewers = Some(v.clone());
        }
        if let Some(v) = self.topup_min_days_left {
            c.topup_min_days_left = Some(v);
        }
        if let Some(v) = self.hub_cycles_for_new_shards {
            c.hub_cycles_for_new_shards = Some(v);
        }
        if let Some(v) = self.hub_cycles_for_full_topups {
            c.hub_cycles_for_full_topups = Some(v);
        }
        if let Some(v) = self.shard_memory_budget_bytes {
            c.shard_memory_budget_bytes = Some(v);
        }
        if let Some(v) = self.settled_retention_secs {
            c.settled_retention_secs = Some(v);
        }
        if let Some(v) = self.inactive_archive_secs {
            c.inactive_archive_secs = Some(v);
        }
        if let Some(v) = &self.user_export_readers {
            c.user_export_readers = Some(v.clone());
        }
        if let Some(v) = &self.shard_subnets {
            c.shard_subnets = Some(v.clone());
        }
        c.validate()?;
        Ok(c)
    }

    /// The economic fields (see [`ECONOMIC_FIELDS`]) these overrides set.
    pub fn economic_fields_set(&self) -> Vec<&'static str> {
        self.fields_set().into_iter().filter(|f| ECONOMIC_FIELDS.contains(f)).collect()
    }

    /// The names of the fields these overrides set.
    pub fn fields_set(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        macro_rules! set {
            ($($f:ident),*) => { $( if self.$f.is_some() { names.push(stringify!($f)); } )* };
        }
        with_config_fields!(set);
        if self.daily_emission_budget_e8s.is_some() {
            names.push("daily_emission_budget_e8s");
        }
        if self.shard_topup_daily_budget_cycles.is_some() {
            names.push("shard_topup_daily_budget_cycles");
        }
        if self.min_withdrawal_e8s.is_some() {
            names.push("min_withdrawal_e8s");
        }
        if self.withdrawal_cooldown_secs.is_some() {
            names.push("withdrawal_cooldown_secs");
        }
        if self.withdrawal_batch_secs.is_some() {
            names.push("withdrawal_batch_secs");
        }
        if self.shard_log_viewers.is_some() {
            names.push("shard_log_viewers");
        }
        if self.topup_min_days_left.is_some() {
            names.push("topup_min_days_left");
        }
        if self.hub_cycles_for_new_shards.is_some() {
            names.push("hub_cycles_for_new_shards");
        }
        if self.hub_cycles_for_full_topups.is_some() {
            names.push("hub_cycles_for_full_topups");
        }
        if self.shard_memory_budget_bytes.is_some() {
            names.push("shard_memory_budget_bytes");
        }
        if self.settled_retention_secs.is_some() {
            names.push("settled_retention_secs");
        }
        if self.inactive_archive_secs.is_some() {
            names.push("inactive_archive_secs");
        }
        if self.user_export_readers.is_some() {
            names.push("user_export_readers");
        }
        if self.shard_subnets.is_some() {
            names.push("shard_subnets");
        }
        names
    }

    /// The names of the fields these overrides set to the value they already have in `current`.
    pub fn fields_unchanged(&self, current: &PlatformConfig) -> Vec<&'static str> {
        let mut names = Vec::new();
        macro_rules! same {
            ($($f:ident),*) => { $( if self.$f.is_some_and(|v| v == current.$f) { names.push(stringify!($f)); } )* };
        }
        with_config_fields!(same);
        if self.daily_emission_budget_e8s.is_some_and(|v| v == current.daily_emission_budget()) {
            names.push("daily_emission_budget_e8s");
        }
        if self.shard_topup_daily_budget_cycles.is_some_and(|v| v == current.shard_topup_daily_budget()) {
            names.push("shard_topup_daily_budget_cycles");
        }
        if self.min_withdrawal_e8s.is_some_and(|v| v == current.min_withdrawal()) {
            names.push("min_withdrawal_e8s");
        }
        if self.withdrawal_cooldown_secs.is_some_and(|v| v == current.withdrawal_cooldown()) {
            names.push("withdrawal_cooldown_secs");
        }
        if self.withdrawal_batch_secs.is_some_and(|v| v == current.withdrawal_batch()) {
            names.push("withdrawal_batch_secs");
        }
        if self.shard_log_viewers.as_deref().is_some_and(|v| v == current.shard_log_viewers()) {
            names.push("shard_log_viewers");
        }
        if self.topup_min_days_left.is_some_and(|v| v == current.topup_min_days_left()) {
            names.push("topup_min_days_left");
        }
        if self.hub_cycles_for_new_shards.is_some_and(|v| v == current.hub_cycles_for_new_shards()) {
            names.push("hub_cycles_for_new_shards");
        }
        if self.hub_cycles_for_full_topups.is_some_and(|v| v == current.hub_cycles_for_full_topups()) {
            names.push("hub_cycles_for_full_topups");
        }
        if self.shard_memory_budget_bytes.is_some_and(|v| v == current.shard_memory_budget()) {
            names.push("shard_memory_budget_bytes");
        }
        if self.settled_retention_secs.is_some_and(|v| v == current.settled_retention()) {
            names.push("settled_retention_secs");
        }
        if self.inactive_archive_secs.is_some_and(|v| v == current.inactive_archive()) {
            names.push("inactive_archive_secs");
        }
        if self.user_export_readers.as_deref().is_some_and(|v| v == current.user_export_readers()) {
            names.push("user_export_readers");
        }
        if self.shard_subnets.as_deref().is_some_and(|v| v == current.shard_subnets()) {
            names.push("shard_subnets");
        }
        names
    }
}

// ------------------------------------------------------------------ hub

#[derive(CandidType, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardStatus {
    Active,
    Full,
    Disabled,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardInfo {
    pub id: Principal,
    pub status: ShardStatus,
    pub user_count: u64,
    /// Hex sha256 of the Wasm the hub installed on it.
    pub wasm_hash: String,
    pub created_at_ns: u64,
    /// Everything the hub granted this shard, in e8s.
    pub granted_e8s: u64,
    /// The shard's last reported total staked, in e8s.
    pub reported_staked_e8s: u64,
    /// Minted on the ledger for this shard's withdrawals, in e8s.
    pub minted_e8s: u64,
    /// Withdrawals of this shard whose mint is under way or has an unknown outcome, in e8s.
    pub pending_mint_e8s: u64,
    /// The shard's stable memory as it last reported it, in bytes (None: not reported yet).
    pub stable_memory_bytes: Option<u64>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// The anonymous principal cannot register.
    Anonymous,
    /// No shard can take a user right now; the hub is creating one (see `detail`).
    NoCapacity { detail: String },
    /// The platform is paused by governance (function 1010); registration reopens when resumed.
    PlatformPaused,
    /// A registration of this principal is still being completed; retry shortly.
    InProgress,
    /// The shard did not accept the user; nothing was recorded.
    ShardUnavailable { shard: Principal, detail: String },
    /// The registration policy needs a proof (`register`'s argument) and none came; `accepted`
    /// says which kinds it takes.
    ProofRequired { accepted: String },
    /// The proof is of a kind the policy in force does not accept.
    ProofNotAccepted { detail: String },
    /// No such invite code (or it was revoked).
    InvalidInviteCode,
    /// The invite code already registered a learner; each code registers one.
    InviteCodeAlreadyUsed,
    /// The credential presentation did not verify (see `detail`); nothing was recorded.
    CredentialRejected { detail: String },
    /// The credential's subject already registered another principal: one subject, one learner.
    CredentialAlreadyUsed,
}

/// What a shard sends with an allowance request: changes since its previous report.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct ShardReport {
    /// Total staked in the shard now, in e8s.
    pub total_staked_e8s: u64,
    pub user_count: u64,
    /// Quizzes passed since the previous report.
    pub quizzes_passed_delta: u64,
    /// Whether the shard wants a new allowance chunk (false: a stats-only sync).
    pub wants_allowance: bool,
    /// The shard's stable memory, in bytes (None: a shard of an older release). Over the
    /// configured budget, the hub routes no new learners to it.
    pub stable_memory_bytes: Option<u64>,
    /// Every withdrawal id of the shard below this is settled there: the hub compacts its
    /// mint journal entries of this shard only below it.
    pub settled_below_withdrawal_id: Option<u64>,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AllowanceGrant {
    /// Granted by this request, in e8s (0 for a stats-only sync).
    pub granted_e8s: u64,
    /// Everything granted to this shard so far.
    pub shard_granted_total_e8s: u64,
    /// Why less than a chunk was granted, if the daily budget or a pause held it back.
    pub withheld: Option<GrantWithheld>,
}

/// Why the hub held back (part of) an allowance chunk; the shard asks again later.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum GrantWithheld {
    /// The day's emission budget is used up: nothing more before `resets_at_ns` (next UTC day).
    DailyBudgetUsed { resets_at_ns: u64 },
    /// The platform is paused by governance (function 1010): nothing is granted until resumed.
    PlatformPaused,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum AllowanceError {
    /// The caller is not a shard this hub created.
    UnknownShard,
    ShardDisabled,
    /// The hard cap is reached: nothing more can ever be granted.
    HardCapReached,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GlobalStats {
    pub users: u64,
    pub shards: Vec<ShardInfo>,
    pub total_staked_e8s: u64,
    pub total_granted_e8s: u64,
    /// Minted on the ledger for withdrawals, in e8s (the ledger's total supply, less burns).
    pub total_minted_e8s: u64,
    /// Withdrawals whose mint is under way or has an unknown outcome, in e8s.
    pub pending_mint_e8s: u64,
    pub cap_remaining_e8s: u64,
    pub quizzes_passed: u64,
    /// Why the last shard creation failed, if it did (e.g. not enough cycles).
    pub scaling_status: String,
    /// Granted to shards on the current UTC day, in e8s (at most the daily emission budget).
    pub granted_today_e8s: Option<u64>,
    pub daily_emission_budget_e8s: Option<u64>,
    /// Paused by governance (function 1010).
    pub platform_paused: Option<bool>,
}

// ------------------------------------------------------------------ withdrawals (unstake)

/// A withdrawal (unstake) as its user sees it.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    /// Unique within the shard; the ledger memo is the shard's index at the hub and this id.
    pub id: u64,
    pub amount_e8s: u64,
    /// The ledger account credited: the user's principal, default subaccount.
    pub to: Principal,
    /// Sent as the transfer's `created_at_time` on every attempt (deduplication).
    pub created_at_ns: u64,
    pub state: WithdrawalState,
    /// Attempts at the hub so far.
    pub attempts: u32,
    pub updated_at_ns: u64,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum WithdrawalState {
    /// Debited from the staked balance; the mint is not confirmed yet. The shard retries it
    /// (same memo and `created_at_time`, so it can never mint twice). `last_error` says why the
    /// last attempt did not settle it.
    Pending { last_error: Option<String> },
    /// Minted: the ledger block that credited the user.
    Completed { block_index: u64 },
    /// Refused for certain (nothing was minted): the amount went back to the staked balance.
    Failed { reason: String },
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum UnstakeError {
    NotRegistered,
    ShardDisabled,
    /// Zero, or more than the staked balance.
    BadAmount { detail: String },
    /// The user already has this many withdrawals pending; wait for them to settle.
    TooManyPending { limit: u32 },
    /// Below the platform's minimum withdrawal (governance-set).
    BelowMinimum { minimum_e8s: u64 },
    /// The learner's previous withdrawal was too recent: the next is possible at this time
    /// (ns since the epoch).
    CoolingDown { next_allowed_ns: u64 },
    /// The shard's users are being moved to another shard (function 1012): nothing changes
    /// until the move is done; then the learner's new shard takes the call.
    ShardMigrating,
}

/// Shard → hub: mint a withdrawal. The same request is sent on every retry.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MintRequest {
    pub withdrawal_id: u64,
    pub user: Principal,
    pub amount_e8s: u64,
    pub created_at_ns: u64,
    /// A withdrawal a shard imported from a migrated shard: the hub's index of the shard that
    /// journaled it first (its mint journal key and ledger memo stay that shard's). None: the
    /// caller's own withdrawal.
    pub origin_shard: Option<u32>,
}

/// Why the hub did not mint (yet).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum MintError {
    /// Refused for certain by the hub's checks (not a shard of the hub, the user is not on that
    /// shard, more than the hub granted the shard): nothing was or will be minted.
    Refused { reason: String },
    /// Refused for certain by the ledger: nothing was or will be minted.
    LedgerRejected { reason: String },
    /// Not settled: under way, the ledger unreachable, the shard disabled, or an earlier
    /// attempt's outcome unknown. Send the same request again later.
    TryLater { reason: String },
}

impl MintError {
    /// Whether nothing was or ever will be minted for the request (the shard re-credits).
    pub fn is_definite(&self) -> bool {
        matches!(self, MintError::Refused { .. } | MintError::LedgerRejected { .. })
    }
}

/// How long after its `created_at_time` a ledger transaction can still execute: DFINITY's ICRC-1
/// ledger refuses it as `TooOld` once `created_at_time + transaction_window (24 h) +
/// permitted_drift (60 s) < now`. Past this (with a margin), no copy of a mint can land any more.
pub const LEDGER_DEDUP_HORIZON_NS: u64 = NANOS_PER_DAY + 5 * 60 * 1_000_000_000;

/// The ledger memo of a withdrawal: the shard's index at the hub and the withdrawal id,
/// big-endian (12 bytes, well under the 32-byte memo limit of DFINITY's ledger).
pub fn withdrawal_memo(shard_index: u32, withdrawal_id: u64) -> [u8; 12] {
    let mut memo = [0u8; 12];
    memo[..4].copy_from_slice(&shard_index.to_be_bytes());
    memo[4..].copy_from_slice(&withdrawal_id.to_be_bytes());
    memo
}

// ------------------------------------------------------------------ shard

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Gender {
    Female,
    Male,
    NonBinary,
    PreferNotToSay,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProfileInput {
    pub email: String,
    pub name: String,
    pub education: String,
    pub gender: Gender,
}

pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_NAME_LEN: usize = 100;
pub const MAX_EDUCATION_LEN: usize = 100;

/// Invisible characters that change how a text is shown: the bidirectional controls (which can
/// make a name display reversed or spoof another) and the zero-width space, word joiner and
/// byte-order mark. ZWNJ and ZWJ (U+200C, U+200D) stay allowed: scripts and emoji need them.
pub fn is_display_spoofing(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

impl ProfileInput {
    /// [`validated`](Self::validated), for a profile a learner gives now: it also refuses the
    /// invisible characters of [`is_display_spoofing`] in the name and education. (Profiles
    /// stored before this rule, and moved by a migration, are checked by `validated` alone.)
    pub fn validated_for_update(&self) -> Result<ProfileInput, String> {
        let v = self.validated()?;
        if v.name.chars().chain(v.education.chars()).any(is_display_spoofing) {
            return Err("name and education: no invisible direction or zero-width characters".into());
        }
        Ok(v)
    }

    /// Validates and normalises (trims; lowercases the email domain). The error names the field.
    pub fn validated(&self) -> Result<ProfileInput, String> {
        let email = self.email.trim();
        let name = self.name.trim();
        let education = self.education.trim();
        if email.len() > MAX_EMAIL_LEN {
            return Err(format!("email: at most {MAX_EMAIL_LEN} bytes"));
        }
        let (local, domain) = email.split_once('@').ok_or("email: must contain '@'")?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') || !domain.contains('.') {
            return Err("email: must look like name@example.org".into());
        }
        if domain.starts_with('.') || domain.ends_with('.') || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("email: must look like name@example.org".into());
        }
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            return Err(format!("name: 1 to {MAX_NAME_LEN} characters"));
        }
        if education.chars().count() > MAX_EDUCATION_LEN {
            return Err(format!("education: at most {MAX_EDUCATION_LEN} characters"));
        }
        if name.chars().chain(education.chars()).any(|c| c.is_control()) {
            return Err("name and education: no control characters".into());
        }
        Ok(ProfileInput {
            email: format!("{local}@{}", domain.to_ascii_lowercase()),
            name: name.to_string(),
            education: education.to_string(),
            gender: self.gender.clone(),
        })
    }
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UserView {
    pub principal: Principal,
    pub profile: Option<ProfileInput>,
    pub staked_e8s: u64,
    /// UTC day number (days since the epoch) the daily counters refer to.
    pub day: u64,
    pub attempts_today: u32,
    pub earned_today_e8s: u64,
    pub completed_units: u64,
    pub registered_at_ns: u64,
    pub last_active_ns: u64,
    /// Rewards of passed quizzes not paid yet (credited as allowance arrives), in e8s.
    pub rewards_owed_e8s: Option<u64>,
}

/// The reply to a quiz submission: passed or not, and the reward. It deliberately does not say
/// how many answers were right: a count would be a scoring oracle (vary one answer at a time and
/// the key falls out in a few attempts). `total` is the unit's question count, which anyone can
/// read from the unit itself, so it reveals nothing.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct QuizOutcome {
    /// The unit's number of questions (public: the length of `Unit::questions`).
    pub total: u32,
    pub passed: bool,
    /// Credited to the staked balance for this submission, in e8s.
    pub reward_e8s: u64,
    /// A pass whose reward could not be paid yet (the day's emission budget is used up, or the
    /// hub could not be reached): it is owed to the learner and credited, once, as soon as the
    /// shard receives allowance (see `UserView::rewards_owed_e8s`).
    pub reward_owed_e8s: Option<u64>,
    pub staked_e8s: u64,
    pub attempts_left_today: u32,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ShardError {
    NotRegistered,
    /// Only the user themself (or the hub) may do this.
    NotAuthorized,
    DailyLimitReached { limit: u32 },
    AlreadyCompleted { unit_id: String },
    UnknownUnit { unit_id: String },
    BadInput { detail: String },
    ShardDisabled,
    /// A submission of this user is still being processed.
    SubmissionInProgress,
    /// learning_content could not be reached; the attempt was not counted.
    ContentUnavailable { detail: String },
    /// The shard's allowance is used up and the hub granted no more (hard cap).
    RewardsExhausted,
    /// The platform is paused by governance (function 1010): quizzes are not accepted until it
    /// is resumed; nothing was counted.
    PlatformPaused,
    /// Rewards cannot be paid right now (the hub is unreachable or a refill is under way);
    /// the attempt was not counted: submit again later.
    RewardsUnavailable { detail: String },
    /// The shard's users are being moved to another shard (function 1012): reads work, changes
    /// wait until the move is done (then `get_user_shard` names the learner's new shard).
    ShardMigrating,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardStats {
    pub users: u64,
    pub total_staked_e8s: u64,
    pub allowance_remaining_e8s: u64,
    pub allowance_received_e8s: u64,
    pub quizzes_submitted: u64,
    pub quizzes_passed: u64,
    pub disabled: bool,
    /// Debited from staked balances, mint not confirmed yet, in e8s.
    pub pending_withdrawals_e8s: u64,
    pub pending_withdrawals: u64,
    /// Minted and settled, in e8s.
    pub withdrawn_e8s: u64,
    /// Rewards of passed quizzes owed to learners, waiting for allowance, in e8s.
    pub rewards_owed_e8s: Option<u64>,
    /// Whether the hub told this shard the platform is paused.
    pub platform_paused: Option<bool>,
}

// ------------------------------------------------------------------ learning content

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub text: String,
    pub options: Vec<String>,
}

/// A unit as anyone may see it: no answers.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    pub id: String,
    pub subject: String,
    pub title: String,
    pub body: String,
    pub questions: Vec<Question>,
}

/// A unit with its answer key (index of the correct option per question), as authored.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UnitInput {
    pub unit: Unit,
    pub answer_key: Vec<u32>,
}

/// learning_content's verdict for a shard. It includes the number of right answers because only
/// registered shards may call `verify_quiz` (`VerifyError::NotAShard` otherwise); shards never
/// pass `correct` on to learners (see [`QuizOutcome`]).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct VerifyResult {
    pub correct: u32,
    pub total: u32,
    pub passed: bool,
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// Only shards created by the hub may verify answers.
    NotAShard,
    UnknownUnit { unit_id: String },
    /// Wrong number of answers, or an answer index out of range.
    BadAnswers { detail: String },
}

#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UnitPage {
    pub units: Vec<Unit>,
    /// Total units in the subject, for paging.
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_overrides_are_checked() {
        PlatformConfig::default().validate().unwrap();
        let small = ConfigOverrides { shard_soft_limit: Some(9), shard_hard_limit: Some(10), ..Default::default() };
        let c = small.apply_to(&PlatformConfig::default()).unwrap();
        assert_eq!((c.shard_soft_limit, c.shard_hard_limit), (9, 10));
        let bad = ConfigOverrides { shard_soft_limit: Some(11), shard_hard_limit: Some(10), ..Default::default() };
        assert!(bad.apply_to(&PlatformConfig::default()).unwrap_err().contains("shard_soft_limit"));
        let bad = ConfigOverrides { pass_mark_percent: Some(0), ..Default::default() };
        assert!(bad.apply_to(&PlatformConfig::default()).unwrap_err().contains("pass_mark_percent"));
        assert_eq!(HARD_CAP_E8S, 420_000_000_000_000_000);
    }

    #[test]
    fn economic_parameters_have_tight_bounds() {
        let d = PlatformConfig::default();
        assert_eq!(d.daily_emission_budget(), DEFAULT_DAILY_EMISSION_BUDGET_E8S);
        let old_state = PlatformConfig { daily_emission_budget_e8s: None, ..d.clone() };
        assert_eq!(old_state.daily_emission_budget(), DEFAULT_DAILY_EMISSION_BUDGET_E8S, "stored before the budget");
        old_state.validate().unwrap();
        let field_of = |o: ConfigOverrides| o.apply_to(&d).unwrap_err();
        for (o, field) in [
            (ConfigOverrides { reward_per_quiz_e8s: Some(MAX_REWARD_PER_QUIZ_E8S + 1), ..Default::default() }, "reward_per_quiz_e8s"),
            (ConfigOverrides { reward_per_quiz_e8s: Some(0), ..Default::default() }, "reward_per_quiz_e8s"),
            (ConfigOverrides { allowance_chunk_e8s: Some(MAX_ALLOWANCE_CHUNK_E8S + 1), ..Default::default() }, "allowance_chunk_e8s"),
            (ConfigOverrides { allowance_chunk_e8s: Some(d.reward_per_quiz_e8s - 1), ..Default::default() }, "allowance_chunk_e8s"),
            (ConfigOverrides { daily_emission_budget_e8s: Some(MAX_DAILY_EMISSION_BUDGET_E8S + 1), ..Default::default() }, "daily_emission_budget_e8s"),
            (ConfigOverrides { daily_emission_budget_e8s: Some(d.reward_per_quiz_e8s - 1), ..Default::default() }, "daily_emission_budget_e8s"),
            (ConfigOverrides { shard_initial_cycles: Some(MAX_SHARD_CYCLES + 1), ..Default::default() }, "shard_initial_cycles"),
            (ConfigOverrides { shard_topup_threshold_cycles: Some(MIN_SHARD_CYCLES - 1), ..Default::default() }, "shard_topup_threshold_cycles"),
            (ConfigOverrides { shard_topup_amount_cycles: Some(MAX_SHARD_TOPUP_CYCLES + 1), ..Default::default() }, "shard_topup_amount_cycles"),
        ] {
            let e = field_of(o);
            assert!(e.starts_with(field), "{e}");
        }
        // The extremes are accepted.
        let max = ConfigOverrides {
            reward_per_quiz_e8s: Some(MAX_REWARD_PER_QUIZ_E8S),
            allowance_chunk_e8s: Some(MAX_ALLOWANCE_CHUNK_E8S),
            daily_emission_budget_e8s: Some(MAX_DAILY_EMISSION_BUDGET_E8S),
            shard_topup_amount_cycles: Some(MAX_SHARD_TOPUP_CYCLES),
            // The per-shard daily budget must cover at least one top-up.
            shard_topup_daily_budget_cycles: Some(MAX_SHARD_TOPUP_DAILY_BUDGET_CYCLES),
            ..Default::default()
        };
        max.apply_to(&d).unwrap();
        // At the highest budget the cap lasts at least 2,100 days.
        assert!(HARD_CAP_E8S / MAX_DAILY_EMISSION_BUDGET_E8S >= 2_100);
        assert_eq!(max.economic_fields_set().len(), 5);
        assert!(ConfigOverrides { daily_attempt_limit: Some(3), ..Default::default() }.economic_fields_set().is_empty());
    }

    #[test]
    fn overrides_name_the_fields_they_set_and_those_already_in_force() {
        let current = PlatformConfig::default();
        let o = ConfigOverrides { daily_attempt_limit: Some(5), pass_mark_percent: Some(70), ..Default::default() };
        assert_eq!(o.fields_set(), vec!["daily_attempt_limit", "pass_mark_percent"]);
        assert_eq!(o.fields_unchanged(&current), vec!["daily_attempt_limit"]);
        assert!(ConfigOverrides::default().fields_set().is_empty());
        let all = ConfigOverrides {
            shard_topup_amount_cycles: Some(1),
            shard_soft_limit: Some(1),
            ..Default::default()
        };
        assert_eq!(all.fields_set(), vec!["shard_soft_limit", "shard_topup_amount_cycles"]);
    }

    #[test]
    fn withdrawal_memos_are_unique_per_shard_and_id() {
        assert_eq!(withdrawal_memo(1, 2), [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_ne!(withdrawal_memo(1, 2), withdrawal_memo(2, 1));
        assert!(MintError::Refused { reason: String::new() }.is_definite());
        assert!(MintError::LedgerRejected { reason: String::new() }.is_definite());
        assert!(!MintError::TryLater { reason: String::new() }.is_definite());
    }

    #[test]
    fn profiles_are_validated_and_normalised() {
        let ok = ProfileInput {
            email: " Ada@Example.ORG ".into(),
            name: " Ada Lovelace ".into(),
            education: "Mathematics".into(),
            gender: Gender::Female,
        };
        let v = ok.validated().unwrap();
        assert_eq!((v.email.as_str(), v.name.as_str()), ("Ada@example.org", "Ada Lovelace"));
        for (email, name, field) in [
            ("no-at.example.org", "A", "email"),
            ("a@b", "A", "email"),
            ("a@@b.org", "A", "email"),
            ("a b@c.org", "A", "email"),
            ("a@c.org", "", "name"),
            ("a@c.org", &"x".repeat(101), "name"),
        ] {
            let p = ProfileInput { email: email.into(), name: name.into(), ..ok.clone() };
            assert!(p.validated().unwrap_err().starts_with(field), "{email} {name}");
        }
        let long_edu = ProfileInput { education: "e".repeat(101), ..ok.clone() };
        assert!(long_edu.validated().unwrap_err().starts_with("education"));
    }

    #[test]
    fn a_new_profile_may_not_hide_text_direction_or_zero_width_characters() {
        let ok = ProfileInput { email: "a@c.org".into(), name: "Ada".into(), education: "School".into(), gender: Gender::Female };
        for spoof in ['\u{202E}', '\u{2066}', '\u{200B}', '\u{200F}', '\u{FEFF}'] {
            let named = ProfileInput { name: format!("Ada{spoof}gpj.exe"), ..ok.clone() };
            assert!(named.validated().is_ok(), "a stored profile still re-validates (migrations import it)");
            assert!(named.validated_for_update().unwrap_err().starts_with("name and education"), "{spoof:?}");
            let schooled = ProfileInput { education: format!("{spoof}School"), ..ok.clone() };
            assert!(schooled.validated_for_update().is_err(), "{spoof:?}");
        }
        // Joiners that scripts and emoji need stay allowed.
        for name in ["\u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0647}\u{0645}", "\u{1F469}\u{200D}\u{1F4BB} Ada", "Ada Lovelace"] {
            let p = ProfileInput { name: name.into(), ..ok.clone() };
            assert_eq!(p.validated_for_update(), p.validated(), "{name}");
        }
    }
}
