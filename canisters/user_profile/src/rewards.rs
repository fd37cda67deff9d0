//! The local reward allowance ("micro-bank") and the reports to the hub.
//!
//! Rewards are paid from an allowance the hub grants in chunks, so a passed quiz needs no call
//! to the hub. Every `request_allowance` call carries the shard's stats:
//! * a refill (`wants_allowance: true`) is single-flight. It is awaited by a submission that
//!   finds less than one reward left, and scheduled with a zero-delay timer when the free
//!   allowance drops below the low-water mark;
//! * the periodic timer (every `shard_sync_interval_secs`) retries a due proactive refill, or
//!   else sends a stats-only report (`wants_allowance: false`) if anything changed.
//!
//! A disabled shard sends nothing (the hub refuses disabled shards).

use crate::calls;
use crate::guards::{self, Flight};
use crate::state::{self, ClaimedReport};
use platform_types::{AllowanceError, AllowanceGrant};
use std::time::Duration;

/// Why a report brought no allowance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefillError {
    /// Another refill is in flight.
    InFlight,
    /// The shard is disabled: it sends no reports.
    Disabled,
    /// The hub answered `HardCapReached`: nothing more will ever be granted.
    HardCapReached,
    /// The hub refused this shard (`UnknownShard`, `ShardDisabled`).
    Refused(AllowanceError),
    /// The hub could not be reached, or its answer was not understood.
    Failed(String),
}

/// A claimed report whose delta goes back into the next report unless it is settled (also when
/// a trap drops the pending future).
struct PendingReport {
    claimed: Option<ClaimedReport>,
}

impl PendingReport {
    fn settle(mut self, grant: Option<&AllowanceGrant>) {
        let claimed = self.claimed.take().expect("settled once");
        let now = ic_cdk::api::time();
        state::with_mut(|s| s.report_succeeded(&claimed, grant, now));
    }
}

impl Drop for PendingReport {
    fn drop(&mut self) {
        if let Some(claimed) = self.claimed.take() {
            state::with_mut(|s| s.report_failed(&claimed));
        }
    }
}

/// Sends the shard's report; the caller holds the matching [`Flight`].
async fn send_report(wants_allowance: bool) -> Result<AllowanceGrant, RefillError> {
    if state::with(|s| s.is_disabled() || s.is_frozen()) {
        return Err(RefillError::Disabled);
    }
    crate::cleanup::measure_memory();
    let (hub, claimed) = state::with_mut(|s| (s.hub_id(), s.claim_report(wants_allowance)));
    let pending = PendingReport { claimed: Some(claimed.clone()) };
    match calls::request_allowance(hub, &claimed.report).await {
        Ok(Ok(grant)) => {
            pending.settle(Some(&grant));
            Ok(grant)
        }
        Ok(Err(AllowanceError::HardCapReached)) => {
            // The hub knows this shard and recorded the stats; it only has nothing to grant.
            pending.settle(None);
            state::with_mut(|s| s.set_hard_cap_reached());
            Err(RefillError::HardCapReached)
        }
        Ok(Err(refused)) => Err(RefillError::Refused(refused)),
        Err(failed) => {
            if failed.executed {
                pending.settle(None);
            }
            Err(RefillError::Failed(failed.detail))
        }
    }
}

/// Asks the hub for an allowance chunk (single-flight); returns the amount granted.
pub async fn refill() -> Result<u64, RefillError> {
    let Some(_flight) = Flight::refill() else {
        return Err(RefillError::InFlight);
    };
    let grant = send_report(true).await?;
    Ok(grant.granted_e8s)
}

/// After a payout: schedules a refill with a zero-delay timer if the free allowance is below
/// the low-water mark (at most one scheduled at a time).
pub fn schedule_refill_if_low() {
    let due = state::with(|s| !s.is_disabled() && !s.is_frozen() && s.wants_proactive_refill(ic_cdk::api::time()));
    if due && !Flight::refill_in_flight() && guards::mark_refill_scheduled() {
        ic_cdk_timers::set_timer(Duration::ZERO, async {
            guards::clear_refill_scheduled();
            if state::with(|s| s.wants_proactive_refill(ic_cdk::api::time())) {
                log_refill("proactive refill", refill().await);
            }
        });
    }
}

/// The periodic timer: a due proactive refill (which reports the stats too), or else a
/// stats-only report if anything changed since the last one the hub accepted.
pub async fn periodic_sync() {
    // A frozen shard's figures move to its successor: it reports nothing more.
    if state::with(|s| s.is_disabled() || s.is_frozen()) {
        return;
    }
    if state::with(|s| s.wants_proactive_refill(ic_cdk::api::time())) && !Flight::refill_in_flight() {
        log_refill("periodic refill", refill().await);
        return;
    }
    // The stable memory size goes to the hub too (over its budget the shard takes no one new).
    crate::cleanup::measure_memory();
    if !state::with(|s| s.has_unreported_changes()) {
        return;
    }
    let Some(_flight) = Flight::sync() else { return };
    if let Err(e) = send_report(false).await {
        crate::metrics::error("hub_report_failed", &format!("stats sync failed: {e:?}"));
    }
}

fn log_refill(what: &str, result: Result<u64, RefillError>) {
    match result {
        Ok(granted) => ic_cdk::println!("user_profile: {what}: granted {granted} e8s"),
        Err(RefillError::InFlight) => {}
        Err(e) => crate::metrics::error("allowance_refill_failed", &format!("{what} failed: {e:?}")),
    }
}
