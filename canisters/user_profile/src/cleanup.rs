//! The cleanup timer and `delete_my_profile` (the rules are in `state::cleanup`).

use crate::guards::SubmissionLock;
use crate::state;
use candid::Principal;
use platform_types::{DeleteProfileArgs, DeleteProfileError, ProfileDeleted, ShardCleanupStatus};
use std::time::Duration;

/// How often the cleanup runs.
pub const CLEANUP_INTERVAL: Duration = Duration::from_secs(3_600);
/// Instructions one run may use before it stops (a timer message may use 40 B); the next run
/// resumes from the cursors in stable memory.
pub const RUN_INSTRUCTIONS: u64 = 2_000_000_000;

/// The canister's stable memory, in bytes.
pub fn stable_memory_bytes() -> u64 {
    ic_cdk::stable::stable_size().saturating_mul(65_536)
}

/// Measures the stable memory (reported to the hub with the next report).
pub fn measure_memory() {
    let bytes = stable_memory_bytes();
    state::with_mut(|s| s.note_stable_memory(bytes));
}

/// The hourly run (armed in `jobs`), bounded by [`RUN_INSTRUCTIONS`].
pub fn run() {
    measure_memory();
    let now = ic_cdk::api::time();
    let before = state::with(|s| s.cleanup_state());
    let complete = state::with_mut(|s| {
        s.run_cleanup(now, &SubmissionLock::is_held, &mut || ic_cdk::api::instruction_counter() < RUN_INSTRUCTIONS)
    });
    let after = state::with(|s| s.cleanup_state());
    let compacted = (after.compacted_completed + after.compacted_failed) - (before.compacted_completed + before.compacted_failed);
    let archived = after.archived - before.archived;
    if compacted > 0 || archived > 0 || !complete {
        ic_cdk::println!(
            "user_profile cleanup: {compacted} settled withdrawals compacted, {archived} inactive learners archived{}",
            if complete { "" } else { "; stopped at the instruction bound, the next run resumes" }
        );
    }
}

/// `delete_my_profile`: see `state::cleanup` for what is refused and what is kept.
pub fn delete_my_profile(caller: Principal, args: DeleteProfileArgs) -> Result<ProfileDeleted, DeleteProfileError> {
    let busy = SubmissionLock::is_held(&caller);
    let now = ic_cdk::api::time();
    let result = state::with_mut(|s| s.delete_profile(caller, &args, now, busy));
    if let Ok(done) = &result {
        ic_cdk::println!(
            "user_profile: a learner deleted their profile ({} e8s forfeited, {} withdrawals removed)",
            done.forfeited_e8s,
            done.withdrawals_removed
        );
    }
    result
}

pub fn status() -> ShardCleanupStatus {
    let mut status = state::with(|s| s.cleanup_status());
    status.stable_memory_bytes = stable_memory_bytes();
    status
}
