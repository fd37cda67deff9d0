//! The shard's side of the cycles battery: a shard that runs low between the hub's rounds asks
//! the hub for a top-up (`staking_hub.request_top_up`) by itself, at most once an hour. The hub
//! checks the ask (its own reading, the daily budget, its reserve) and throttles it too.

use crate::state;
use candid::{Nat, Principal};
use ic_cdk::call::Call;
use platform_types::{TopUpRequestError, SHARD_TOPUP_ASK_INTERVAL_NS};
use std::cell::Cell;
use std::time::Duration;

thread_local! {
    /// When this shard last asked (heap: after an upgrade it may ask once more; the hub throttles).
    static LAST_ASK_NS: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Ask when the balance is under the top-up threshold and the last ask is an interval old.
pub fn should_ask(balance: u128, threshold: u128, now_ns: u64, last_ask_ns: Option<u64>) -> bool {
    balance < threshold && last_ask_ns.is_none_or(|at| now_ns >= at.saturating_add(SHARD_TOPUP_ASK_INTERVAL_NS))
}

/// Called by the update methods: if the balance (as the previous messages left it) is low,
/// asks the hub from a zero-delay timer (this message does not wait for the answer).
pub fn ask_if_low() {
    let balance = ic_cdk::api::canister_cycle_balance();
    let now = ic_cdk::api::time();
    let Some((threshold, hub)) = state::with(|s| s.init_args().map(|_| (s.config().shard_topup_threshold_cycles, s.hub_id())))
    else {
        return;
    };
    if !should_ask(balance, threshold, now, LAST_ASK_NS.get()) {
        return;
    }
    LAST_ASK_NS.set(Some(now));
    ic_cdk_timers::set_timer(Duration::ZERO, ask(hub, balance));
}

async fn ask(hub: Principal, balance: u128) {
    let answer = match Call::bounded_wait(hub, "request_top_up").with_arg(Nat::from(balance)).await {
        Ok(reply) => reply
            .candid::<Result<Nat, TopUpRequestError>>()
            .map_err(|e| format!("unexpected reply: {e}"))
            .map(|r| r.map_err(|e| format!("{e:?}"))),
        Err(e) => Err(e.to_string()),
    };
    match answer {
        Ok(Ok(amount)) => ic_cdk::println!("user_profile: the hub topped this shard up with {amount} cycles"),
        Ok(Err(refused)) | Err(refused) => {
            ic_cdk::println!("user_profile: asked the hub for cycles (balance {balance}), no top-up: {refused}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_low_shard_asks_at_most_once_per_interval() {
        let t = 1_000;
        assert!(!should_ask(t, t, 0, None), "not below the threshold");
        assert!(should_ask(t - 1, t, 0, None));
        assert!(!should_ask(t - 1, t, SHARD_TOPUP_ASK_INTERVAL_NS - 1, Some(0)));
        assert!(should_ask(t - 1, t, SHARD_TOPUP_ASK_INTERVAL_NS, Some(0)));
    }
}
