//! The cycles battery's domain logic (plain Rust): readings of a canister's balance, its burn
//! rate and days left, the two-low-readings rule, the hub's degradation level and how much a
//! top-up may be. The calls are in `scaling`; the records live in `state` (memory ids 30, 31).
//!
//! Why two low readings: a balance read once can be low for a moment. The IC takes the cycles a
//! call may need for its response when the call is made and refunds them with the response, so
//! a canister with many calls in flight (a shard's timer catching up on missed firings after a
//! pause: ic-cdk-timers 1.0 makes one self-call per missed firing) reads low for a round. Two
//! readings in a row, at least half a timer interval apart, are both low only if the balance
//! stays low; a dip is over by the next round.

use candid::{CandidType, Nat, Principal};
use platform_types::{BatteryLevel, CanisterCycles, PlatformConfig, HUB_CYCLES_RESERVE, NANOS_PER_DAY};
use serde::Deserialize;

/// Readings kept per canister for the burn rate (the newest; one per [`SAMPLE_SPACING_NS`]).
pub const MAX_SAMPLES: usize = 8;
/// Readings for the burn rate are at least an hour apart: a rate over minutes is mostly noise.
pub const SAMPLE_SPACING_NS: u64 = 3_600 * 1_000_000_000;
/// A shard may ask for a top-up (`request_top_up`) at most once an hour; the shard keeps the same interval.
pub const TOPUP_REQUEST_MIN_INTERVAL_NS: u64 = platform_types::SHARD_TOPUP_ASK_INTERVAL_NS;
/// The smallest top-up worth a call when the hub is low (below it the hub keeps its cycles).
pub const MIN_TOPUP_CYCLES: u128 = 10_000_000_000;
/// Each top-up spends at most this fraction (1/n) of what the hub holds above its reserve when
/// it is low, so a round over many canisters can never bring it to its reserve.
pub const LOW_HUB_TOPUP_DIVISOR: u128 = 4;

/// One reading kept for the burn rate.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    pub at_ns: u64,
    pub balance: u128,
    /// [`Watched::deposited_total`] when the reading was taken.
    pub deposited_total: u128,
}

/// What the hub knows about one canister's cycles (a shard, learning_content, or itself).
/// Stored as Candid: fields added later must be `Option` or `#[serde(default)]`.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Watched {
    pub samples: Vec<Sample>,
    /// The last reading, for the report.
    pub last_balance: Option<u128>,
    pub last_read_ns: Option<u64>,
    /// When the last reading that counted for the two-readings rule was taken.
    pub last_counted_ns: Option<u64>,
    /// Low readings in a row (the rule needs two).
    pub low_readings: u32,
    /// Cycles the hub deposited, ever (its deposits are not burn).
    pub deposited_total: u128,
    pub last_topup_ns: Option<u64>,
    /// The shard's last `request_top_up`.
    pub last_request_ns: Option<u64>,
    /// learning_content's daily top-up budget (shards keep theirs in their registry record).
    pub topup_day: Option<u64>,
    pub topup_spent_cycles: u128,
    /// Why the last round did not top up a canister that wanted it.
    pub note: Option<String>,
}

/// Why a reading is low.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Low {
    BelowThreshold,
    /// The estimated runtime is under `topup_min_days_left`.
    FewDaysLeft { days: u64 },
}

impl Watched {
    /// Cycles burned per day: the lower middle of the rates between consecutive kept readings
    /// (deposits added back). The median ignores one reading taken in a dip (which makes one
    /// span too steep and the next one negative, counted as 0); with fewer than two spans there
    /// is no robust estimate.
    pub fn burn_per_day(&self) -> Option<u128> {
        if self.samples.len() < 3 {
            return None;
        }
        let mut rates: Vec<u128> = self
            .samples
            .windows(2)
            .map(|w| {
                let (a, b) = (&w[0], &w[1]);
                let received = b.deposited_total.saturating_sub(a.deposited_total);
                let burned = a.balance.saturating_add(received).saturating_sub(b.balance);
                let span = u128::from(b.at_ns.saturating_sub(a.at_ns)).max(1);
                burned.saturating_mul(u128::from(NANOS_PER_DAY)) / span
            })
            .collect();
        rates.sort_unstable();
        Some(rates[(rates.len() - 1) / 2])
    }

    /// Estimated days until `balance` is burned (none while the rate is unknown or zero).
    pub fn days_left(&self, balance: u128) -> Option<u64> {
        let burn = self.burn_per_day().filter(|b| *b > 0)?;
        Some(u64::try_from(balance / burn).unwrap_or(u64::MAX))
    }

    /// Why `balance` is low by the configuration, if it is.
    pub fn low(&self, balance: u128, threshold: u128, min_days_left: u64) -> Option<Low> {
        if balance < threshold {
            return Some(Low::BelowThreshold);
        }
        match self.days_left(balance) {
            Some(days) if min_days_left > 0 && days < min_days_left => Some(Low::FewDaysLeft { days }),
            _ => None,
        }
    }

    /// Records a reading and answers whether it is low and confirmed (the previous counted
    /// reading, at least `min_gap_ns` earlier, was low too). A high reading resets the count;
    /// a low one closer than `min_gap_ns` to the last counted one does not add to it.
    pub fn observe(&mut self, now_ns: u64, balance: u128, threshold: u128, min_days_left: u64, min_gap_ns: u64) -> Reading {
        // Judged with the samples so far: the reading itself may be a dip.
        let low = self.low(balance, threshold, min_days_left);
        let counts = self.last_counted_ns.is_none_or(|at| now_ns >= at.saturating_add(min_gap_ns));
        match low {
            None => {
                self.low_readings = 0;
                self.last_counted_ns = Some(now_ns);
                // Whatever kept it from a top-up no longer matters.
                self.note = None;
            }
            Some(_) if counts => {
                self.low_readings = self.low_readings.saturating_add(1);
                self.last_counted_ns = Some(now_ns);
            }
            Some(_) => {}
        }
        self.last_balance = Some(balance);
        self.last_read_ns = Some(now_ns);
        if self.samples.last().is_none_or(|s| now_ns >= s.at_ns.saturating_add(SAMPLE_SPACING_NS)) {
            self.samples.push(Sample { at_ns: now_ns, balance, deposited_total: self.deposited_total });
            if self.samples.len() > MAX_SAMPLES {
                self.samples.remove(0);
            }
        }
        Reading { low, confirmed: low.is_some() && self.low_readings >= 2 }
    }

    /// A deposit arrived: it is not burn, and the next top-up needs two new low readings.
    pub fn note_deposit(&mut self, now_ns: u64, amount: u128) {
        self.deposited_total = self.deposited_total.saturating_add(amount);
        self.last_topup_ns = Some(now_ns);
        self.low_readings = 0;
        self.note = None;
    }

    /// learning_content's daily budget (see `ShardRecord::check_topup` for the shards').
    pub fn check_budget(&self, day: u64, amount: u128, budget: u128) -> Result<(), String> {
        let spent = if self.topup_day == Some(day) { self.topup_spent_cycles } else { 0 };
        if spent.saturating_add(amount) > budget {
            return Err(format!("daily top-up budget reached ({spent} of {budget} cycles topped up today; next top-up needs {amount})"));
        }
        Ok(())
    }

    pub fn note_budget(&mut self, day: u64, amount: u128) {
        let spent = if self.topup_day == Some(day) { self.topup_spent_cycles } else { 0 };
        self.topup_day = Some(day);
        self.topup_spent_cycles = spent.saturating_add(amount);
    }

    /// A shard may ask now, or the time it may ask again.
    pub fn request_allowed(&self, now_ns: u64) -> Result<(), u64> {
        match self.last_request_ns {
            Some(at) if now_ns < at.saturating_add(TOPUP_REQUEST_MIN_INTERVAL_NS) => {
                Err(at.saturating_add(TOPUP_REQUEST_MIN_INTERVAL_NS))
            }
            _ => Ok(()),
        }
    }

    pub fn view(&self, canister_id: Principal, role: &str) -> CanisterCycles {
        CanisterCycles {
            canister_id,
            role: role.to_string(),
            balance: self.last_balance.map(Nat::from),
            read_at_ns: self.last_read_ns,
            burn_per_day: self.burn_per_day().map(Nat::from),
            days_left: self.last_balance.and_then(|b| self.days_left(b)),
            low_readings: self.low_readings,
            topped_up_total: Nat::from(self.deposited_total),
            last_topup_at_ns: self.last_topup_ns,
            note: self.note.clone(),
        }
    }
}

/// A reading's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    pub low: Option<Low>,
    /// Low twice in a row: top up.
    pub confirmed: bool,
}

/// The hub's level by its liquid balance (above its freezing threshold: what it can spend).
/// `balance` is the higher of its last two readings,
/// so a dip (its own catch-up self-calls) does not degrade it; what it spends is checked
/// against its live liquid balance anyway ([`topup_amount`]).
pub fn level(balance: u128, config: &PlatformConfig) -> BatteryLevel {
    if balance < config.hub_cycles_for_full_topups() {
        BatteryLevel::SmallTopUps
    } else if balance < config.hub_cycles_for_new_shards() {
        BatteryLevel::NoNewShards
    } else {
        BatteryLevel::Normal
    }
}

/// How much one top-up may be: the configured amount, or when the hub is low a quarter of what
/// it holds above its reserve and the call's cost (capped by the amount). Never anything that
/// would take `liquid` below the reserve; `Err` says why nothing is sent.
pub fn topup_amount(level: BatteryLevel, configured: u128, liquid: u128, call_cost: u128) -> Result<u128, String> {
    let spendable = liquid.saturating_sub(HUB_CYCLES_RESERVE.saturating_add(call_cost));
    let amount = match level {
        BatteryLevel::Normal | BatteryLevel::NoNewShards => configured,
        BatteryLevel::SmallTopUps => configured.min(spendable / LOW_HUB_TOPUP_DIVISOR),
    };
    if amount > spendable {
        return Err(format!(
            "the hub has {liquid} liquid cycles; a top-up of {amount} would take it below its reserve of {HUB_CYCLES_RESERVE}"
        ));
    }
    if amount < MIN_TOPUP_CYCLES {
        return Err(format!(
            "the hub is low ({liquid} liquid cycles, reserve {HUB_CYCLES_RESERVE}): a top-up would be {amount}, \
             below the smallest worth sending ({MIN_TOPUP_CYCLES})"
        ));
    }
    Ok(amount)
}

/// The hub-wide battery record (a `StableCell`).
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct BatteryState {
    /// When the last round started: a round runs at most once per half timer interval, so the
    /// catch-up firings after a pause do not each read (and act on) the balances.
    pub last_round_ns: Option<u64>,
    /// The level the last round computed (none before the first).
    pub level: Option<BatteryLevel>,
    /// The hub's previous reading of its liquid balance (above its freezing threshold).
    pub previous_hub_balance: Option<u128>,
    pub last_round_status: String,
}

impl BatteryState {
    /// Starts a round at `now_ns` unless one started less than `min_gap_ns` ago.
    pub fn start_round(&mut self, now_ns: u64, min_gap_ns: u64) -> bool {
        if self.last_round_ns.is_some_and(|at| now_ns < at.saturating_add(min_gap_ns)) {
            return false;
        }
        self.last_round_ns = Some(now_ns);
        true
    }

    /// Takes the hub's reading and answers the level it decides: by the higher of this reading
    /// and the previous one.
    pub fn observe_hub(&mut self, balance: u128, config: &PlatformConfig) -> BatteryLevel {
        let judged = self.previous_hub_balance.map_or(balance, |p| p.max(balance));
        self.previous_hub_balance = Some(balance);
        let level = level(judged, config);
        self.level = Some(level);
        level
    }
}

/// The minimum time between two counted readings and between two rounds: half the timer interval.
pub fn min_gap_ns(config: &PlatformConfig) -> u64 {
    config.auto_scale_interval_secs.saturating_mul(1_000_000_000) / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u128 = 1_000_000_000_000;
    const H: u64 = 3_600 * 1_000_000_000;
    const MIN: u64 = 60 * 1_000_000_000;

    fn observe(w: &mut Watched, at: u64, balance: u128) -> Reading {
        w.observe(at, balance, T, 7, 30 * 1_000_000_000)
    }

    #[test]
    fn burn_rate_comes_from_readings_an_hour_apart_with_deposits_added_back() {
        let mut w = Watched::default();
        // 0.1 T an hour = 2.4 T a day.
        observe(&mut w, 0, 10 * T);
        assert_eq!(w.burn_per_day(), None);
        // Readings within the hour are not kept for the rate.
        observe(&mut w, 10 * MIN, 9 * T);
        observe(&mut w, H, 10 * T - T / 10);
        assert_eq!(w.burn_per_day(), None, "one span is not enough");
        // A deposit of 1 T between readings is not a gain of the canister's own.
        w.note_deposit(H + 1, T);
        observe(&mut w, 2 * H, 10 * T - T / 5 + T);
        assert_eq!(w.samples.len(), 3);
        assert_eq!(w.burn_per_day(), Some(24 * T / 10));
        assert_eq!(w.days_left(12 * T), Some(5));
    }

    #[test]
    fn one_reading_in_a_dip_does_not_move_the_burn_rate() {
        let mut w = Watched::default();
        let burn_per_hour = T / 100;
        for h in 0..6u64 {
            let mut balance = 50 * T - burn_per_hour * h as u128;
            if h == 3 {
                balance -= 10 * T; // every timer firing since a pause has a call in flight
            }
            observe(&mut w, h * H, balance);
        }
        assert_eq!(w.burn_per_day(), Some(burn_per_hour * 24));
        // Even when the dip is the newest reading but one.
        let mut w = Watched::default();
        for (h, b) in [(0, 50 * T), (1, 50 * T - burn_per_hour), (2, 40 * T)] {
            observe(&mut w, h * H, b);
        }
        assert_eq!(w.burn_per_day(), Some(burn_per_hour * 24), "the lower of two rates");
        observe(&mut w, 3 * H, 50 * T - 3 * burn_per_hour);
        assert_eq!(w.burn_per_day(), Some(burn_per_hour * 24), "the dip's rebound counts as 0");
    }

    #[test]
    fn a_top_up_needs_two_low_readings_in_a_row() {
        let mut w = Watched::default();
        let first = observe(&mut w, 0, T / 2);
        assert_eq!(first, Reading { low: Some(Low::BelowThreshold), confirmed: false });
        // A reading too soon after (a catch-up firing) does not count as the second.
        assert!(!observe(&mut w, 10 * 1_000_000_000, T / 2).confirmed);
        assert!(observe(&mut w, MIN, T / 2).confirmed);
        // A high reading in between starts over.
        let mut w = Watched::default();
        observe(&mut w, 0, T / 2);
        assert_eq!(observe(&mut w, MIN, 2 * T), Reading { low: None, confirmed: false });
        assert!(!observe(&mut w, 2 * MIN, T / 2).confirmed);
        assert!(observe(&mut w, 3 * MIN, T / 2).confirmed);
        // After a deposit the count starts over.
        w.note_deposit(3 * MIN, T);
        assert!(!observe(&mut w, 4 * MIN, T / 2).confirmed);
    }

    #[test]
    fn few_days_left_is_low_above_the_threshold() {
        let mut w = Watched::default();
        // 50 B an hour: 1.2 T a day.
        for h in 0..3u64 {
            observe(&mut w, h * H, 6 * T - 50_000_000_000 * h as u128);
        }
        assert_eq!(w.burn_per_day(), Some(12 * T / 10));
        assert_eq!(w.low(6 * T, T, 7), Some(Low::FewDaysLeft { days: 5 }));
        assert_eq!(w.low(9 * T, T, 7), None, "7.5 days left");
        assert_eq!(w.low(6 * T, T, 0), None, "0 turns the rule off");
        assert_eq!(w.low(T / 2, T, 0), Some(Low::BelowThreshold));
        // Both readings must be low, by either rule.
        assert!(!observe(&mut w, 3 * H, 5 * T).confirmed);
        assert!(observe(&mut w, 3 * H + MIN, 5 * T).confirmed);
    }

    #[test]
    fn the_hub_degrades_first_no_new_shards_then_smaller_topups() {
        let config = PlatformConfig {
            hub_cycles_for_new_shards: Some(10 * T),
            hub_cycles_for_full_topups: Some(3 * T),
            ..PlatformConfig::default()
        };
        assert_eq!(level(10 * T, &config), BatteryLevel::Normal);
        assert_eq!(level(10 * T - 1, &config), BatteryLevel::NoNewShards);
        assert_eq!(level(3 * T - 1, &config), BatteryLevel::SmallTopUps);
        // Full top-ups while not below the second threshold.
        assert_eq!(topup_amount(BatteryLevel::NoNewShards, T, 5 * T, 1), Ok(T));
        // Smaller: a quarter of what is above the reserve.
        let liquid = 2 * T;
        let amount = topup_amount(BatteryLevel::SmallTopUps, T, liquid, 0).unwrap();
        assert_eq!(amount, (2 * T - HUB_CYCLES_RESERVE) / 4);
        // Repeated top-ups never take the hub to its reserve.
        let mut liquid = 2 * T;
        while let Ok(a) = topup_amount(BatteryLevel::SmallTopUps, T, liquid, 1_000_000) {
            liquid -= a + 1_000_000;
        }
        assert!(liquid > HUB_CYCLES_RESERVE, "{liquid}");
        // Normal level and not enough above the reserve: nothing, never below the reserve.
        assert!(topup_amount(BatteryLevel::Normal, T, T, 0).unwrap_err().contains("reserve"));
    }

    #[test]
    fn a_dip_of_the_hub_does_not_degrade_it_but_two_low_readings_do() {
        let config = PlatformConfig::default();
        let mut s = BatteryState::default();
        assert_eq!(s.observe_hub(50 * T, &config), BatteryLevel::Normal);
        assert_eq!(s.observe_hub(T, &config), BatteryLevel::Normal, "one low reading is a dip");
        assert_eq!(s.observe_hub(T, &config), BatteryLevel::SmallTopUps);
        assert_eq!(s.observe_hub(5 * T, &config), BatteryLevel::NoNewShards);
    }

    #[test]
    fn rounds_run_at_most_once_per_half_interval() {
        let mut s = BatteryState::default();
        let gap = min_gap_ns(&PlatformConfig { auto_scale_interval_secs: 60, ..PlatformConfig::default() });
        assert_eq!(gap, 30 * 1_000_000_000);
        assert!(s.start_round(1_000 * MIN, gap));
        // The catch-up firings after a pause come together: only the first runs.
        assert!(!s.start_round(1_000 * MIN, gap));
        assert!(!s.start_round(1_000 * MIN + gap - 1, gap));
        assert!(s.start_round(1_000 * MIN + gap, gap));
    }

    #[test]
    fn a_shard_may_ask_once_per_interval_and_content_has_a_daily_budget() {
        let mut w = Watched::default();
        assert_eq!(w.request_allowed(5), Ok(()));
        w.last_request_ns = Some(5);
        assert_eq!(w.request_allowed(6), Err(5 + TOPUP_REQUEST_MIN_INTERVAL_NS));
        assert_eq!(w.request_allowed(5 + TOPUP_REQUEST_MIN_INTERVAL_NS), Ok(()));
        w.check_budget(3, 2 * T, 3 * T).unwrap();
        w.note_budget(3, 2 * T);
        assert!(w.check_budget(3, 2 * T, 3 * T).unwrap_err().contains("budget"));
        w.check_budget(4, 2 * T, 3 * T).unwrap();
    }

    #[test]
    fn the_record_decodes_after_an_upgrade() {
        let mut w = Watched::default();
        observe(&mut w, 0, T);
        let bytes = candid::encode_one(&w).unwrap();
        assert_eq!(candid::decode_one::<Watched>(&bytes).unwrap(), w);
    }
}
