//! The hub's domain model in plain Rust (no System API, no stable memory): shard records,
//! routing, the scaling decision, allowance arithmetic and the user-index entry. Everything here
//! is unit-tested natively.

use candid::{CandidType, Principal};
use ic_stable_structures::storable::{Bound, Storable};
use crate::mint::MintCounters;
use platform_types::{
    checked_add_e8s, AllowanceError, AllowanceGrant, GlobalStats, GrantWithheld, ShardInfo, ShardReport, ShardStatus,
    HARD_CAP_E8S, NANOS_PER_DAY,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Position of a shard in the registry: 0 for the first shard the hub created, then 1, 2, ...
/// Shards are never removed, so an index is never reused.
pub type ShardIndex = u32;

/// A shard the hub created, as the registry keeps it (Candid-encoded in stable memory: fields
/// added later must be `Option`).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardRecord {
    pub id: Principal,
    /// Frozen by a migration (function 1012, `migration`): takes no new users.
    pub migration_frozen: Option<bool>,
    /// Retired by a migration: its users, balances and unused allowance moved to this shard
    /// index; the canister is kept stopped (or deleted) and the hub sends it nothing more.
    pub migrated_to: Option<ShardIndex>,
    /// When a later proposal deleted the retired canister.
    pub deleted_at_ns: Option<u64>,
    /// Active, Full (at the hard limit) or Disabled. Meaningful once `installed`.
    pub status: ShardStatus,
    /// Users routed to the shard: registered ones plus registrations still in flight.
    pub user_count: u64,
    /// Hex sha256 of the Wasm the hub installed; empty until the install succeeded.
    pub wasm_hash: String,
    pub created_at_ns: u64,
    /// Everything the hub granted this shard, in e8s.
    pub granted_e8s: u64,
    /// The shard's last reported total staked, in e8s.
    pub reported_staked_e8s: u64,
    /// Sum of the quizzes-passed deltas the shard reported.
    pub quizzes_passed: u64,
    /// When the shard last reported (0 = never).
    pub last_report_ns: u64,
    /// False while the canister exists but its code could not be installed yet: such a shard
    /// takes no users and its install is retried (the canister is never abandoned).
    pub installed: bool,
    /// Failed install attempts so far.
    pub failed_installs: u32,
    /// After a failed install, no retry before this time (exponential backoff): every attempt
    /// sends the whole shard Wasm, paid by the hub, and anyone can trigger one.
    pub next_install_attempt_ns: Option<u64>,
    /// The UTC day of `topup_spent_cycles`.
    pub topup_day: Option<u64>,
    /// Cycles topped up to this shard on `topup_day` (bounded by the daily budget).
    pub topup_spent_cycles: Option<u128>,
    /// The shard's stable memory as it last reported it, in bytes.
    pub stable_memory_bytes: Option<u64>,
    /// Its last report put it over the memory budget in force: Full whatever its user count.
    pub full_by_memory: Option<bool>,
    /// Every withdrawal id of the shard below this is settled there (its last report): the
    /// mint journal compaction (`compaction`) stays below it.
    pub settled_below_withdrawal_id: Option<u64>,
    /// The subnet the hub created the shard on through the cycles minting canister (config
    /// `shard_subnets`); `None`: on the hub's own subnet (and every shard created before).
    pub subnet: Option<Principal>,
}

/// The wait after the first failed install; it doubles with every further failure ...
pub const INSTALL_BACKOFF_BASE_NS: u64 = 60 * 1_000_000_000;
/// ... up to this.
pub const INSTALL_BACKOFF_MAX_NS: u64 = 6 * 3_600 * 1_000_000_000;

/// How long to wait after the `failed_installs`-th failed install.
pub fn install_backoff_ns(failed_installs: u32) -> u64 {
    let doublings = failed_installs.saturating_sub(1).min(20);
    INSTALL_BACKOFF_BASE_NS.saturating_mul(1 << doublings).min(INSTALL_BACKOFF_MAX_NS)
}

impl ShardRecord {
    /// A canister just created, not installed yet.
    pub fn created(id: Principal, now_ns: u64) -> Self {
        ShardRecord {
            id,
            migration_frozen: None,
            migrated_to: None,
            deleted_at_ns: None,
            status: ShardStatus::Active,
            user_count: 0,
            wasm_hash: String::new(),
            created_at_ns: now_ns,
            granted_e8s: 0,
            reported_staked_e8s: 0,
            quizzes_passed: 0,
            last_report_ns: 0,
            installed: false,
            failed_installs: 0,
            next_install_attempt_ns: None,
            topup_day: None,
            topup_spent_cycles: None,
            stable_memory_bytes: None,
            full_by_memory: None,
            settled_below_withdrawal_id: None,
            subnet: None,
        }
    }

    /// Installed and not retired by a migration: the hub keeps it configured, upgraded and
    /// topped up.
    pub fn is_live(&self) -> bool {
        self.installed && self.migrated_to.is_none()
    }

    /// Frozen or retired by a migration.
    pub fn in_migration(&self) -> bool {
        self.migration_frozen == Some(true) || self.migrated_to.is_some()
    }

    /// A failed install at `now_ns`: counted, and the next attempt backed off. Returns the
    /// attempts so far.
    pub fn note_install_failure(&mut self, now_ns: u64) -> u32 {
        self.failed_installs = self.failed_installs.saturating_add(1);
        self.next_install_attempt_ns = Some(now_ns.saturating_add(install_backoff_ns(self.failed_installs)));
        self.failed_installs
    }

    /// Cycles topped up to this shard on `day` so far.
    pub fn topup_spent_on(&self, day: u64) -> u128 {
        if self.topup_day == Some(day) {
            self.topup_spent_cycles.unwrap_or(0)
        } else {
            0
        }
    }

    /// Whether a top-up of `amount` on `day` stays within `budget`; the error says why not.
    pub fn check_topup(&self, day: u64, amount: u128, budget: u128) -> Result<(), String> {
        let spent = self.topup_spent_on(day);
        match spent.checked_add(amount) {
            Some(total) if total <= budget => Ok(()),
            _ => Err(format!(
                "daily top-up budget reached ({spent} of {budget} cycles topped up today; next top-up needs {amount})"
            )),
        }
    }

    /// Records a top-up of `amount` on `day`.
    pub fn note_topup(&mut self, day: u64, amount: u128) -> Result<(), String> {
        let spent = self.topup_spent_on(day).checked_add(amount).ok_or("top-up counter overflow")?;
        self.topup_day = Some(day);
        self.topup_spent_cycles = Some(spent);
        Ok(())
    }

    /// Installed, Active and below the hard limit.
    pub fn accepts_users(&self, hard_limit: u64) -> bool {
        self.installed && !self.in_migration() && self.status == ShardStatus::Active && self.user_count < hard_limit
    }

    /// Counts one more user; an Active shard that reaches the hard limit becomes Full.
    pub fn add_user(&mut self, hard_limit: u64) {
        self.user_count = self.user_count.saturating_add(1);
        if self.status == ShardStatus::Active && self.user_count >= hard_limit {
            self.status = ShardStatus::Full;
        }
    }

    /// Un-counts a user whose registration failed; a Full shard below the limit (and not over
    /// its memory budget) is Active again.
    pub fn remove_user(&mut self, hard_limit: u64) {
        self.user_count = self.user_count.saturating_sub(1);
        if self.status == ShardStatus::Full && self.user_count < hard_limit && !self.is_full_by_memory() {
            self.status = ShardStatus::Active;
        }
    }

    pub fn is_full_by_memory(&self) -> bool {
        self.full_by_memory.unwrap_or(false)
    }

    /// Full or Active from the user count and the reported stable memory, under the limits in
    /// force (a Disabled shard stays Disabled). A shard without learners is never Full by
    /// memory: a budget set near an empty shard's footprint must not make the hub create
    /// shard after shard.
    pub fn refresh_status(&mut self, hard_limit: u64, memory_budget_bytes: u64) {
        let over_budget = self.user_count > 0 && self.stable_memory_bytes.is_some_and(|b| b > memory_budget_bytes);
        self.full_by_memory = Some(over_budget);
        let full = self.user_count >= hard_limit || over_budget;
        self.status = match self.status {
            ShardStatus::Active if full => ShardStatus::Full,
            ShardStatus::Full if !full => ShardStatus::Active,
            other => other,
        };
    }

    pub fn info(&self, mints: &MintCounters) -> ShardInfo {
        ShardInfo {
            minted_e8s: mints.minted_e8s,
            pending_mint_e8s: mints.in_flight_e8s,
            id: self.id,
            status: self.status,
            user_count: self.user_count,
            wasm_hash: self.wasm_hash.clone(),
            created_at_ns: self.created_at_ns,
            granted_e8s: self.granted_e8s,
            reported_staked_e8s: self.reported_staked_e8s,
            stable_memory_bytes: self.stable_memory_bytes,
        }
    }
}

/// Routing: the Active (installed) shard with the fewest users below the hard limit; ties go to
/// the oldest shard (lowest index). `None`: no shard can take a user.
pub fn pick_shard<'a>(
    shards: impl IntoIterator<Item = (ShardIndex, &'a ShardRecord)>,
    hard_limit: u64,
) -> Option<ShardIndex> {
    shards
        .into_iter()
        .filter(|(_, s)| s.accepts_users(hard_limit))
        .min_by_key(|(i, s)| (s.user_count, *i))
        .map(|(i, _)| i)
}

/// What the hub must do to keep capacity ahead of registrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalingNeed {
    /// Some Active shard is below the soft limit.
    None,
    /// A canister was created but its install failed: install it again (before anything else).
    RetryInstall(ShardIndex),
    /// Like `RetryInstall`, but its backoff runs until `until_ns`: nothing is sent before (and
    /// no other shard is created: that would cost the initial cycles again).
    InstallBackoff { index: ShardIndex, until_ns: u64 },
    /// Every Active (or Disabled) shard is at or over the soft limit, or there is none at all.
    NewShard,
}

/// The auto-scaling decision (timer and `ensure_capacity`) at `now_ns`.
pub fn scaling_need<'a>(
    shards: impl IntoIterator<Item = (ShardIndex, &'a ShardRecord)>,
    soft_limit: u64,
    now_ns: u64,
) -> ScalingNeed {
    let mut any_active_below_soft = false;
    for (i, s) in shards {
        if !s.installed {
            return match s.next_install_attempt_ns {
                Some(until_ns) if now_ns < until_ns => ScalingNeed::InstallBackoff { index: i, until_ns },
                _ => ScalingNeed::RetryInstall(i),
            };
        }
        // A Disabled shard is capacity governance took out on purpose, not capacity that ran
        // out: it counts like an Active one, so disabling a shard never makes the hub create a
        // replacement (the stop for everything is the platform pause, function 1010).
        // A shard being migrated or retired is no capacity: new learners go elsewhere.
        let counts = matches!(s.status, ShardStatus::Active | ShardStatus::Disabled) && !s.in_migration();
        if counts && s.user_count < soft_limit {
            any_active_below_soft = true;
        }
    }
    if any_active_below_soft {
        ScalingNeed::None
    } else {
        ScalingNeed::NewShard
    }
}

/// How much to grant: the chunk, or what is left under the hard cap if that is less.
pub fn grant_amount(total_granted_e8s: u64, chunk_e8s: u64, cap_e8s: u64) -> Result<u64, AllowanceError> {
    let remaining = cap_e8s.saturating_sub(total_granted_e8s);
    if remaining == 0 {
        Err(AllowanceError::HardCapReached)
    } else {
        Ok(chunk_e8s.min(remaining))
    }
}

/// The caller check of `request_allowance`: only shards the hub created and installed, and not
/// disabled ones.
pub fn check_allowance_caller(shard: Option<&ShardRecord>) -> Result<(), AllowanceError> {
    match shard {
        None => Err(AllowanceError::UnknownShard),
        Some(s) if !s.installed => Err(AllowanceError::UnknownShard),
        Some(s) if s.status == ShardStatus::Disabled => Err(AllowanceError::ShardDisabled),
        Some(_) => Ok(()),
    }
}

/// Hub-wide counters (one Candid-encoded cell in stable memory).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HubTotals {
    /// Users whose registration completed on their shard.
    pub registered_users: u64,
    /// Everything granted to all shards, in e8s (never above `HARD_CAP_E8S`).
    pub total_granted_e8s: u64,
    pub quizzes_passed: u64,
    /// Outcome of the last shard creation attempt (empty before the first).
    pub scaling_status: String,
    /// Outcome of the last cycles top-up round (empty before the first).
    pub topup_status: String,
    /// The UTC day (days since the epoch) `granted_on_day_e8s` counts (`None` before the first
    /// grant under the daily budget).
    pub emission_day: Option<u64>,
    /// Granted to all shards on `emission_day`, in e8s (never above that day's budget).
    pub granted_on_day_e8s: Option<u64>,
    /// Platform-wide pause set by governance (function 1010).
    pub platform_paused: Option<bool>,
}

impl HubTotals {
    /// Granted on the UTC day of `now_ns` (0 once the day has rolled over).
    pub fn granted_today(&self, now_ns: u64) -> u64 {
        if self.emission_day == Some(now_ns / NANOS_PER_DAY) {
            self.granted_on_day_e8s.unwrap_or(0)
        } else {
            0
        }
    }

    pub fn is_paused(&self) -> bool {
        self.platform_paused.unwrap_or(false)
    }
}

/// What one allowance request may be granted: the configuration's chunk and daily budget, and
/// the pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantLimits {
    pub chunk_e8s: u64,
    pub daily_budget_e8s: u64,
    pub paused: bool,
}

/// Start of the UTC day after the one of `now_ns`.
pub fn next_day_start_ns(now_ns: u64) -> u64 {
    (now_ns / NANOS_PER_DAY + 1).saturating_mul(NANOS_PER_DAY)
}

/// Records a shard's report (always) and grants an allowance chunk when the shard asks for one.
/// The stats are recorded even when the grant fails with `HardCapReached`.
///
/// The grant is the chunk, cut to what is left of the hard cap and of the UTC day's emission
/// budget; nothing while the platform is paused. A grant held back (wholly or in part) by the
/// budget or the pause says so in `withheld`, so the shard knows when to ask again.
pub fn apply_report(
    shard: &mut ShardRecord,
    totals: &mut HubTotals,
    report: &ShardReport,
    limits: &GrantLimits,
    now_ns: u64,
) -> Result<AllowanceGrant, AllowanceError> {
    shard.reported_staked_e8s = report.total_staked_e8s;
    if report.stable_memory_bytes.is_some() {
        shard.stable_memory_bytes = report.stable_memory_bytes;
    }
    // Only ever raised: a shard restored from an older snapshot may report a lower mark, but
    // entries compacted meanwhile stay compacted (see `compaction`).
    if let Some(below) = report.settled_below_withdrawal_id {
        shard.settled_below_withdrawal_id = Some(below.max(shard.settled_below_withdrawal_id.unwrap_or(0)));
    }
    shard.quizzes_passed = shard.quizzes_passed.saturating_add(report.quizzes_passed_delta);
    shard.last_report_ns = now_ns;
    totals.quizzes_passed = totals.quizzes_passed.saturating_add(report.quizzes_passed_delta);
    let mut withheld = None;
    let granted = if !report.wants_allowance {
        0
    } else if limits.paused {
        withheld = Some(GrantWithheld::PlatformPaused);
        0
    } else {
        let by_cap = grant_amount(totals.total_granted_e8s, limits.chunk_e8s, HARD_CAP_E8S)?;
        let today = totals.granted_today(now_ns);
        let budget_left = limits.daily_budget_e8s.saturating_sub(today);
        let g = by_cap.min(budget_left);
        if g < by_cap {
            withheld = Some(GrantWithheld::DailyBudgetUsed { resets_at_ns: next_day_start_ns(now_ns) });
        }
        // Bounded by the cap (grant_amount), so an overflow here would be a bug: it traps.
        shard.granted_e8s = checked_add_e8s(shard.granted_e8s, g, "shard granted");
        totals.total_granted_e8s = checked_add_e8s(totals.total_granted_e8s, g, "total granted");
        totals.emission_day = Some(now_ns / NANOS_PER_DAY);
        totals.granted_on_day_e8s = Some(checked_add_e8s(today, g, "granted today"));
        g
    };
    Ok(AllowanceGrant { granted_e8s: granted, shard_granted_total_e8s: shard.granted_e8s, withheld })
}

/// The `get_global_stats` answer from the installed shards and the totals.
pub fn global_stats<'a>(
    shards: impl IntoIterator<Item = (&'a ShardRecord, &'a MintCounters)>,
    totals: &HubTotals,
    mints: &MintCounters,
) -> GlobalStats {
    let shards: Vec<ShardInfo> = shards.into_iter().filter(|(s, _)| s.installed).map(|(s, m)| s.info(m)).collect();
    GlobalStats {
        users: totals.registered_users,
        total_staked_e8s: shards.iter().fold(0u64, |acc, s| checked_add_e8s(acc, s.reported_staked_e8s, "total staked")),
        shards,
        total_granted_e8s: totals.total_granted_e8s,
        total_minted_e8s: mints.minted_e8s,
        pending_mint_e8s: mints.in_flight_e8s,
        cap_remaining_e8s: HARD_CAP_E8S.saturating_sub(totals.total_granted_e8s),
        quizzes_passed: totals.quizzes_passed,
        scaling_status: totals.scaling_status.clone(),
        granted_today_e8s: None,
        daily_emission_budget_e8s: None,
        platform_paused: Some(totals.is_paused()),
    }
}

// ------------------------------------------------------------------ user index

/// Where a user's registration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserState {
    /// The hub reserved a place on the shard and is (or was) asking it to create the user.
    Pending,
    /// The shard created the user.
    Registered,
}

/// The value of the user → shard index: a shard index and the registration state.
///
/// Fixed size: **5 bytes** (u32 shard index, big-endian, then one state byte); the key is the
/// user's principal (at most 29 bytes). Stable memory per user in the hub's index
/// (`StableBTreeMap`, bounded key and value): every B-tree node takes a fixed 581-byte slot
/// (16-byte allocator header, 7-byte node header, 11 entries of 4 + 29 + 5 + 4 bytes, 12 child
/// addresses of 8 bytes) and holds 5 to 11 entries, so a user costs **53 to 117 bytes**; about
/// **71 bytes per user** measured with 100,000 random principals (`state::tests`). 10 M users:
/// about 0.7 GB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserEntry {
    pub shard: ShardIndex,
    pub state: UserState,
}

impl UserEntry {
    pub const SIZE: usize = 5;
}

impl Storable for UserEntry {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut b = Vec::with_capacity(Self::SIZE);
        b.extend_from_slice(&self.shard.to_be_bytes());
        b.push(match self.state {
            UserState::Pending => 0,
            UserState::Registered => 1,
        });
        b
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        assert_eq!(bytes.len(), Self::SIZE, "a user index entry is {} bytes", Self::SIZE);
        let shard = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let state = match bytes[4] {
            0 => UserState::Pending,
            1 => UserState::Registered,
            other => panic!("unknown user state byte {other}"),
        };
        UserEntry { shard, state }
    }

    const BOUND: Bound = Bound::Bounded { max_size: Self::SIZE as u32, is_fixed_size: true };
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::E8S;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    fn shard(n: u8, users: u64) -> ShardRecord {
        let mut s = ShardRecord::created(p(n), 0);
        s.installed = true;
        s.user_count = users;
        s
    }

    fn unlimited(chunk_e8s: u64) -> GrantLimits {
        GrantLimits { chunk_e8s, daily_budget_e8s: u64::MAX, paused: false }
    }

    fn indexed(shards: &[ShardRecord]) -> impl Iterator<Item = (ShardIndex, &ShardRecord)> {
        shards.iter().enumerate().map(|(i, s)| (i as ShardIndex, s))
    }

    #[test]
    fn routing_picks_the_active_shard_with_the_fewest_users() {
        let shards = vec![shard(1, 7), shard(2, 3), shard(3, 5)];
        assert_eq!(pick_shard(indexed(&shards), 10), Some(1));
    }

    #[test]
    fn routing_breaks_ties_by_the_oldest_shard() {
        let shards = vec![shard(1, 7), shard(2, 4), shard(3, 4)];
        assert_eq!(pick_shard(indexed(&shards), 10), Some(1));
        let shards = vec![shard(1, 0), shard(2, 0)];
        assert_eq!(pick_shard(indexed(&shards), 10), Some(0));
    }

    #[test]
    fn routing_skips_full_disabled_uninstalled_and_limit_reached_shards() {
        let mut full = shard(1, 10);
        full.status = ShardStatus::Full;
        let mut disabled = shard(2, 0);
        disabled.status = ShardStatus::Disabled;
        let mut uninstalled = shard(3, 0);
        uninstalled.installed = false;
        // Active by status but at the hard limit (e.g. the limit was lowered).
        let at_limit = shard(4, 10);
        let shards = vec![full, disabled, uninstalled, at_limit];
        assert_eq!(pick_shard(indexed(&shards), 10), None);
        let mut with_room = shards.clone();
        with_room.push(shard(5, 9));
        assert_eq!(pick_shard(indexed(&with_room), 10), Some(4));
        assert_eq!(pick_shard(indexed(&[]), 10), None);
    }

    #[test]
    fn a_shard_becomes_full_at_the_hard_limit_and_active_again_below_it() {
        let mut s = shard(1, 8);
        s.add_user(10);
        assert_eq!((s.user_count, s.status), (9, ShardStatus::Active));
        s.add_user(10);
        assert_eq!((s.user_count, s.status), (10, ShardStatus::Full));
        assert!(!s.accepts_users(10));
        s.remove_user(10);
        assert_eq!((s.user_count, s.status), (9, ShardStatus::Active));
        let mut d = shard(2, 9);
        d.status = ShardStatus::Disabled;
        d.add_user(10);
        d.remove_user(10);
        d.remove_user(10);
        assert_eq!(d.status, ShardStatus::Disabled, "disabled stays disabled");
        let mut empty = shard(3, 0);
        empty.remove_user(10);
        assert_eq!(empty.user_count, 0);
    }

    #[test]
    fn sequential_routing_fills_shards_evenly() {
        let mut shards = vec![shard(1, 0), shard(2, 0), shard(3, 0)];
        for _ in 0..25 {
            let i = pick_shard(indexed(&shards), 10).unwrap() as usize;
            shards[i].add_user(10);
        }
        let counts: Vec<u64> = shards.iter().map(|s| s.user_count).collect();
        assert_eq!(counts, vec![9, 8, 8]);
        for _ in 0..5 {
            let i = pick_shard(indexed(&shards), 10).unwrap() as usize;
            shards[i].add_user(10);
        }
        assert!(shards.iter().all(|s| s.status == ShardStatus::Full));
        assert_eq!(pick_shard(indexed(&shards), 10), None);
    }

    #[test]
    fn scaling_creates_a_shard_when_every_active_shard_reached_the_soft_limit() {
        assert_eq!(scaling_need(indexed(&[]), 9, 0), ScalingNeed::NewShard, "no shard at all");
        assert_eq!(scaling_need(indexed(&[shard(1, 8)]), 9, 0), ScalingNeed::None);
        assert_eq!(scaling_need(indexed(&[shard(1, 9)]), 9, 0), ScalingNeed::NewShard, "at the soft limit");
        assert_eq!(scaling_need(indexed(&[shard(1, 9), shard(2, 8)]), 9, 0), ScalingNeed::None);
        assert_eq!(scaling_need(indexed(&[shard(1, 12), shard(2, 9)]), 9, 0), ScalingNeed::NewShard);
        let mut full = shard(1, 10);
        full.status = ShardStatus::Full;
        let mut disabled = shard(2, 0);
        disabled.status = ShardStatus::Disabled;
        assert_eq!(
            scaling_need(indexed(&[full.clone(), disabled.clone()]), 9, 0),
            ScalingNeed::None,
            "disabling the only non-full shard does not create a replacement"
        );
        let mut disabled_at_soft = shard(4, 9);
        disabled_at_soft.status = ShardStatus::Disabled;
        assert_eq!(
            scaling_need(indexed(&[full.clone(), disabled_at_soft]), 9, 0),
            ScalingNeed::NewShard,
            "a disabled shard at the soft limit is no spare capacity"
        );
        assert_eq!(scaling_need(indexed(&[full, disabled, shard(3, 2)]), 9, 0), ScalingNeed::None);
    }

    #[test]
    fn scaling_retries_a_failed_install_before_creating_anything() {
        let mut leaked = shard(2, 0);
        leaked.installed = false;
        assert_eq!(scaling_need(indexed(&[shard(1, 3), leaked.clone()]), 9, 0), ScalingNeed::RetryInstall(1));
        assert_eq!(scaling_need(indexed(&[leaked]), 9, 0), ScalingNeed::RetryInstall(0));
    }

    #[test]
    fn a_failed_install_is_retried_only_after_a_growing_backoff() {
        let mut s = shard(1, 0);
        s.installed = false;
        assert_eq!(s.note_install_failure(1_000), 1);
        let first = 1_000 + INSTALL_BACKOFF_BASE_NS;
        assert_eq!(s.next_install_attempt_ns, Some(first));
        let shards = [s.clone()];
        assert_eq!(scaling_need(indexed(&shards), 9, first - 1), ScalingNeed::InstallBackoff { index: 0, until_ns: first });
        assert_eq!(scaling_need(indexed(&shards), 9, first), ScalingNeed::RetryInstall(0));
        assert_eq!(s.note_install_failure(first), 2);
        assert_eq!(s.next_install_attempt_ns, Some(first + 2 * INSTALL_BACKOFF_BASE_NS), "doubled");
        assert_eq!(install_backoff_ns(3), 4 * INSTALL_BACKOFF_BASE_NS);
        assert_eq!(install_backoff_ns(40), INSTALL_BACKOFF_MAX_NS, "capped");
        assert_eq!(install_backoff_ns(u32::MAX), INSTALL_BACKOFF_MAX_NS);
    }

    #[test]
    fn topups_stay_within_the_daily_budget_per_shard() {
        let mut s = shard(1, 0);
        let (budget, amount) = (3_000, 1_000);
        for _ in 0..3 {
            s.check_topup(7, amount, budget).unwrap();
            s.note_topup(7, amount).unwrap();
        }
        assert!(s.check_topup(7, amount, budget).unwrap_err().contains("budget"));
        assert_eq!(s.topup_spent_on(7), 3_000);
        assert_eq!(s.topup_spent_on(8), 0, "a new day, a new budget");
        s.check_topup(8, amount, budget).unwrap();
        s.note_topup(8, amount).unwrap();
        assert_eq!((s.topup_day, s.topup_spent_cycles), (Some(8), Some(1_000)));
        assert!(s.check_topup(8, u128::MAX, u128::MAX).is_err(), "an overflow is refused, not wrapped");
    }

    #[test]
    fn grants_are_the_chunk_until_the_cap_then_what_is_left_then_nothing() {
        let chunk = 100_000 * E8S;
        assert_eq!(grant_amount(0, chunk, HARD_CAP_E8S), Ok(chunk));
        assert_eq!(grant_amount(HARD_CAP_E8S - chunk, chunk, HARD_CAP_E8S), Ok(chunk), "exactly the last chunk");
        assert_eq!(grant_amount(HARD_CAP_E8S - chunk + 1, chunk, HARD_CAP_E8S), Ok(chunk - 1));
        assert_eq!(grant_amount(HARD_CAP_E8S - 1, chunk, HARD_CAP_E8S), Ok(1));
        assert_eq!(grant_amount(HARD_CAP_E8S, chunk, HARD_CAP_E8S), Err(AllowanceError::HardCapReached));
        assert_eq!(grant_amount(u64::MAX, chunk, HARD_CAP_E8S), Err(AllowanceError::HardCapReached));
    }

    #[test]
    fn reports_are_recorded_and_grants_never_pass_the_hard_cap() {
        // 2 B-token chunks: the cap of 4.2 B tokens is reached on the third request.
        let chunk = 2_000_000_000 * E8S;
        let mut s = shard(1, 5);
        let mut t = HubTotals::default();
        let ask = |staked: u64, passed: u64| ShardReport {
            total_staked_e8s: staked,
            user_count: 5,
            quizzes_passed_delta: passed,
            wants_allowance: true,
            ..Default::default()
        };
        let g = apply_report(&mut s, &mut t, &ask(10, 1), &unlimited(chunk), 100).unwrap();
        assert_eq!(g, AllowanceGrant { granted_e8s: chunk, shard_granted_total_e8s: chunk, withheld: None });
        let g = apply_report(&mut s, &mut t, &ask(20, 2), &unlimited(chunk), 200).unwrap();
        assert_eq!(g.shard_granted_total_e8s, 2 * chunk);
        let g = apply_report(&mut s, &mut t, &ask(30, 3), &unlimited(chunk), 300).unwrap();
        assert_eq!(g.granted_e8s, HARD_CAP_E8S - 2 * chunk, "the remainder, not a full chunk");
        assert_eq!(t.total_granted_e8s, HARD_CAP_E8S);
        assert_eq!(apply_report(&mut s, &mut t, &ask(40, 4), &unlimited(chunk), 400), Err(AllowanceError::HardCapReached));
        // Stats are recorded even when nothing more can be granted.
        assert_eq!((s.reported_staked_e8s, s.quizzes_passed, s.last_report_ns), (40, 10, 400));
        assert_eq!(t.quizzes_passed, 10);
        assert_eq!(s.granted_e8s, HARD_CAP_E8S);
        // A stats-only sync still works after the cap.
        let sync = ShardReport { wants_allowance: false, ..ask(50, 0) };
        let g = apply_report(&mut s, &mut t, &sync, &unlimited(chunk), 500).unwrap();
        assert_eq!(g, AllowanceGrant { granted_e8s: 0, shard_granted_total_e8s: HARD_CAP_E8S, withheld: None });
        let stats = global_stats([(&s, &MintCounters::default())], &t, &MintCounters::default());
        assert_eq!((stats.total_staked_e8s, stats.cap_remaining_e8s, stats.total_minted_e8s), (50, 0, 0));
    }

    #[test]
    fn the_cap_is_counted_over_all_shards() {
        let chunk = 2_000_000_000 * E8S;
        let mut a = shard(1, 1);
        let mut b = shard(2, 1);
        let mut t = HubTotals::default();
        let ask = ShardReport { wants_allowance: true, ..Default::default() };
        apply_report(&mut a, &mut t, &ask, &unlimited(chunk), 1).unwrap();
        apply_report(&mut b, &mut t, &ask, &unlimited(chunk), 1).unwrap();
        let last = apply_report(&mut a, &mut t, &ask, &unlimited(chunk), 1).unwrap();
        assert_eq!(last.granted_e8s, 200_000_000 * E8S);
        assert_eq!(apply_report(&mut b, &mut t, &ask, &unlimited(chunk), 1), Err(AllowanceError::HardCapReached));
        assert_eq!(a.granted_e8s + b.granted_e8s, HARD_CAP_E8S);
    }

    #[test]
    fn grants_stay_within_the_daily_budget_and_resume_the_next_utc_day() {
        let day = NANOS_PER_DAY;
        let limits = GrantLimits { chunk_e8s: 40, daily_budget_e8s: 100, paused: false };
        let (mut a, mut b) = (shard(1, 1), shard(2, 1));
        let mut t = HubTotals::default();
        let ask = ShardReport { wants_allowance: true, ..Default::default() };
        let now = 3 * day + 5;
        assert_eq!(apply_report(&mut a, &mut t, &ask, &limits, now).unwrap().granted_e8s, 40);
        assert_eq!(apply_report(&mut b, &mut t, &ask, &limits, now + 1).unwrap().granted_e8s, 40);
        // The budget is shared by all shards: only 20 are left today.
        let cut = apply_report(&mut a, &mut t, &ask, &limits, now + 2).unwrap();
        assert_eq!(cut.granted_e8s, 20);
        assert_eq!(cut.withheld, Some(GrantWithheld::DailyBudgetUsed { resets_at_ns: 4 * day }));
        let none = apply_report(&mut b, &mut t, &ask, &limits, 4 * day - 1).unwrap();
        assert_eq!((none.granted_e8s, none.shard_granted_total_e8s), (0, 40));
        assert_eq!(none.withheld, Some(GrantWithheld::DailyBudgetUsed { resets_at_ns: 4 * day }));
        assert_eq!((t.granted_today(4 * day - 1), t.total_granted_e8s), (100, 100));
        // A stats-only sync is not held back.
        let sync = ShardReport { wants_allowance: false, quizzes_passed_delta: 3, ..Default::default() };
        assert_eq!(apply_report(&mut b, &mut t, &sync, &limits, now + 3).unwrap().withheld, None);
        // Next UTC day: a fresh budget.
        assert_eq!(t.granted_today(4 * day), 0);
        let next = apply_report(&mut b, &mut t, &ask, &limits, 4 * day).unwrap();
        assert_eq!((next.granted_e8s, next.withheld), (40, None));
        assert_eq!((t.granted_today(4 * day), t.emission_day), (40, Some(4)));
        assert_eq!(a.granted_e8s + b.granted_e8s, t.total_granted_e8s);
    }

    #[test]
    fn a_paused_platform_grants_nothing_but_records_the_stats() {
        let limits = GrantLimits { chunk_e8s: 40, daily_budget_e8s: 100, paused: true };
        let mut s = shard(1, 1);
        let mut t = HubTotals { platform_paused: Some(true), ..Default::default() };
        let ask = ShardReport { wants_allowance: true, quizzes_passed_delta: 2, total_staked_e8s: 9, ..Default::default() };
        let g = apply_report(&mut s, &mut t, &ask, &limits, 1).unwrap();
        assert_eq!((g.granted_e8s, g.withheld), (0, Some(GrantWithheld::PlatformPaused)));
        assert_eq!((t.total_granted_e8s, t.quizzes_passed, s.reported_staked_e8s), (0, 2, 9));
        assert!(t.is_paused());
        assert!(!HubTotals::default().is_paused(), "state stored before the pause existed: running");
    }

    #[test]
    fn allowance_callers_must_be_installed_enabled_shards() {
        assert_eq!(check_allowance_caller(None), Err(AllowanceError::UnknownShard));
        let mut s = shard(1, 0);
        assert_eq!(check_allowance_caller(Some(&s)), Ok(()));
        s.status = ShardStatus::Full;
        assert_eq!(check_allowance_caller(Some(&s)), Ok(()), "a full shard still earns rewards");
        s.status = ShardStatus::Disabled;
        assert_eq!(check_allowance_caller(Some(&s)), Err(AllowanceError::ShardDisabled));
        let mut u = shard(2, 0);
        u.installed = false;
        assert_eq!(check_allowance_caller(Some(&u)), Err(AllowanceError::UnknownShard));
    }

    #[test]
    fn global_stats_sum_the_installed_shards() {
        let mut a = shard(1, 4);
        a.reported_staked_e8s = 7;
        let mut b = shard(2, 6);
        b.reported_staked_e8s = 5;
        let mut c = shard(3, 0);
        c.installed = false;
        c.reported_staked_e8s = 1000;
        let t = HubTotals {
            registered_users: 10,
            total_granted_e8s: 30,
            quizzes_passed: 3,
            scaling_status: "ok".into(),
            ..Default::default()
        };
        let m = MintCounters { minted_e8s: 4, in_flight_e8s: 2, ..Default::default() };
        let (ma, mb) = (MintCounters { minted_e8s: 3, ..Default::default() }, MintCounters::default());
        let g = global_stats([(&a, &ma), (&b, &mb), (&c, &mb)], &t, &m);
        assert_eq!((g.total_minted_e8s, g.pending_mint_e8s, g.shards[0].minted_e8s), (4, 2, 3));
        assert_eq!(g.users, 10);
        assert_eq!(g.shards.len(), 2);
        assert_eq!(g.total_staked_e8s, 12);
        assert_eq!(g.cap_remaining_e8s, HARD_CAP_E8S - 30);
        assert_eq!((g.quizzes_passed, g.scaling_status.as_str()), (3, "ok"));
    }

    #[test]
    fn user_entries_are_five_fixed_bytes() {
        for e in [
            UserEntry { shard: 0, state: UserState::Pending },
            UserEntry { shard: 7, state: UserState::Registered },
            UserEntry { shard: u32::MAX, state: UserState::Registered },
        ] {
            let b = e.to_bytes();
            assert_eq!(b.len(), UserEntry::SIZE);
            assert_eq!(UserEntry::from_bytes(b), e);
        }
        assert_eq!(UserEntry { shard: 1, state: UserState::Registered }.into_bytes(), vec![0, 0, 0, 1, 1]);
        assert!(matches!(UserEntry::BOUND, Bound::Bounded { max_size: 5, is_fixed_size: true }));
    }

    #[test]
    fn a_shard_over_its_memory_budget_is_full_and_scaling_adds_a_shard() {
        const MIB: u64 = 1 << 20;
        let mut a = ShardRecord::created(p(1), 0);
        a.installed = true;
        a.user_count = 3;
        let limits = GrantLimits { chunk_e8s: 10, daily_budget_e8s: u64::MAX, paused: false };
        let mut totals = HubTotals::default();
        let report = |bytes: u64| ShardReport { stable_memory_bytes: Some(bytes), settled_below_withdrawal_id: Some(4), ..Default::default() };
        apply_report(&mut a, &mut totals, &report(300 * MIB), &limits, 1).unwrap();
        a.refresh_status(100, 512 * MIB);
        assert_eq!((a.status, a.stable_memory_bytes, a.settled_below_withdrawal_id), (ShardStatus::Active, Some(300 * MIB), Some(4)));
        assert_eq!(scaling_need([(0, &a)], 50, 1), ScalingNeed::None);
        apply_report(&mut a, &mut totals, &report(513 * MIB), &limits, 2).unwrap();
        a.refresh_status(100, 512 * MIB);
        assert_eq!((a.status, a.is_full_by_memory()), (ShardStatus::Full, true));
        assert!(!a.accepts_users(100), "no new learner goes to a shard over its budget");
        assert_eq!(pick_shard([(0, &a)], 100), None);
        assert_eq!(scaling_need([(0, &a)], 50, 2), ScalingNeed::NewShard, "far below the soft limit, yet full");
        // A failed registration does not reopen it; a larger budget does.
        a.remove_user(100);
        assert_eq!(a.status, ShardStatus::Full);
        a.refresh_status(100, 1024 * MIB);
        assert_eq!((a.status, a.is_full_by_memory()), (ShardStatus::Active, false));
        // The settled mark never goes down (a shard restored from an older snapshot).
        apply_report(&mut a, &mut totals, &ShardReport { settled_below_withdrawal_id: Some(2), ..Default::default() }, &limits, 3).unwrap();
        assert_eq!((a.settled_below_withdrawal_id, a.stable_memory_bytes), (Some(4), Some(513 * MIB)));
        // A shard without learners is never Full by memory; Disabled stays Disabled.
        let mut empty = ShardRecord::created(p(2), 0);
        empty.installed = true;
        empty.stable_memory_bytes = Some(600 * MIB);
        empty.refresh_status(100, 512 * MIB);
        assert_eq!(empty.status, ShardStatus::Active);
        a.status = ShardStatus::Disabled;
        a.refresh_status(100, 256 * MIB);
        assert_eq!(a.status, ShardStatus::Disabled);
    }
}
