//! Pushes the answer-key set to the hub, which relays it to every shard (the shards verify
//! quizzes themselves: no call per quiz). Each content change gives the set a new version
//! (`Store::note_keys_changed`); a push runs right after it, and a failed push is retried with a
//! growing delay until the hub confirms the version in force. No timer runs while the hub is
//! up to date.

use crate::state;
use ic_cdk::call::Call;
use platform_types::answer_keys::AnswerKeySet;
use std::cell::Cell;
use std::time::Duration;

/// First retry delay after a failed push; doubled per failure up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(30);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30 * 60);

thread_local! {
    static IN_FLIGHT: Cell<bool> = const { Cell::new(false) };
    static RETRY_DELAY: Cell<Duration> = const { Cell::new(FIRST_RETRY_DELAY) };
}

/// Pushes now (from a timer, so a proposal's execution does not wait for the hub) if the hub
/// has not confirmed the version in force.
pub fn push_soon() {
    schedule(Duration::ZERO);
}

fn schedule(delay: Duration) {
    if state::with(|s| {
        let sync = s.key_sync();
        sync.hub_confirmed < sync.version
    }) {
        ic_cdk_timers::set_timer(delay, push());
    }
}

async fn push() {
    if IN_FLIGHT.with(|f| f.replace(true)) {
        return; // the push under way re-checks the version when it returns
    }
    let Some(hub) = state::with(|s| s.hub_id()) else {
        IN_FLIGHT.with(|f| f.set(false));
        return;
    };
    // Built from the state as it is now; a change during the await gets its own push.
    let set = state::with(|s| s.answer_key_set());
    let result = send(hub, &set).await;
    IN_FLIGHT.with(|f| f.set(false));
    match result {
        Ok(confirmed) => {
            state::with_mut(|s| s.confirm_keys(confirmed));
            RETRY_DELAY.with(|d| d.set(FIRST_RETRY_DELAY));
            // A change that arrived during the call.
            schedule(Duration::ZERO);
        }
        Err(e) => {
            let delay = RETRY_DELAY.with(|d| {
                let now = d.get();
                d.set((now * 2).min(MAX_RETRY_DELAY));
                now
            });
            ic_cdk::println!(
                "learning_content: pushing answer keys version {} to the hub failed, retrying in {} s: {e}",
                set.version,
                delay.as_secs()
            );
            schedule(delay);
        }
    }
}

async fn send(hub: candid::Principal, set: &AnswerKeySet) -> Result<u64, String> {
    let response = Call::bounded_wait(hub, "set_answer_keys")
        .with_arg(set)
        .await
        .map_err(|e| format!("set_answer_keys on the hub {hub} failed: {e}"))?;
    response
        .candid::<Result<u64, String>>()
        .map_err(|e| format!("set_answer_keys on the hub {hub}: unexpected reply: {e}"))?
        .map_err(|e| format!("the hub refused the answer keys: {e}"))
}
