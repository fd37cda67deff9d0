//! `async_caller`: exercises inter-canister calls (bounded and unbounded waits, rejects,
//! cycles, one-way calls, self-calls, concurrent calls, state kept across an await that traps).

use candid::{CandidType, Nat, Principal};
use futures::future::join_all;
use ic_cdk::call::{Call, CallFailed};
use serde::Deserialize;
use serde_bytes::ByteBuf;
use std::cell::Cell;
use std::future::IntoFuture;

thread_local! {
    /// Incremented by `incr_then_call_then_trap` before its await.
    static BEFORE_AWAIT: Cell<u64> = const { Cell::new(0) };
    /// Incremented by `inc_local`.
    static LOCAL: Cell<u64> = const { Cell::new(0) };
}

/// Why a call failed. `code` is the reject code (1 SYS_FATAL, 2 SYS_TRANSIENT,
/// 3 DESTINATION_INVALID, 4 CANISTER_REJECT, 5 CANISTER_ERROR, 6 SYS_UNKNOWN), or 0 when the
/// call was never performed (insufficient liquid cycles, or ic0.call_perform failed).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CallError {
    pub code: u32,
    pub message: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Ok(ByteBuf),
    Err(CallError),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CyclesReply {
    pub reply: ByteBuf,
    pub refunded: Nat,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CyclesOutcome {
    Ok(CyclesReply),
    Err(CallError),
}

impl From<CallFailed> for CallError {
    fn from(e: CallFailed) -> Self {
        match e {
            CallFailed::CallRejected(r) => CallError {
                code: r.raw_reject_code(),
                message: r.reject_message().to_string(),
            },
            other => CallError {
                code: 0,
                message: other.to_string(),
            },
        }
    }
}

fn outcome(result: Result<ic_cdk::call::Response, CallFailed>) -> CallOutcome {
    match result {
        Ok(reply) => CallOutcome::Ok(ByteBuf::from(reply.into_bytes())),
        Err(e) => CallOutcome::Err(e.into()),
    }
}

fn nat_to_u128(n: &Nat) -> u128 {
    u128::try_from(&n.0).unwrap_or_else(|_| ic_cdk::trap("cycle amount does not fit in 128 bits"))
}

/// Unbounded-wait call with raw argument bytes.
#[ic_cdk::update]
async fn call_raw(target: Principal, method: String, args: ByteBuf) -> CallOutcome {
    outcome(
        Call::unbounded_wait(target, &method)
            .with_raw_args(&args)
            .await,
    )
}

/// Bounded-wait call with raw argument bytes and a timeout in seconds.
#[ic_cdk::update]
async fn call_bounded(
    target: Principal,
    method: String,
    args: ByteBuf,
    timeout_seconds: u32,
) -> CallOutcome {
    outcome(
        Call::bounded_wait(target, &method)
            .with_raw_args(&args)
            .change_timeout(timeout_seconds)
            .await,
    )
}

/// Increments `before_await`, awaits the call, then traps. The increment was committed when the
/// call was made, so it survives; only the state changes of the reply callback roll back.
#[ic_cdk::update]
async fn incr_then_call_then_trap(target: Principal, method: String, args: ByteBuf) {
    BEFORE_AWAIT.with(|c| c.set(c.get() + 1));
    let result = Call::unbounded_wait(target, &method)
        .with_raw_args(&args)
        .await;
    ic_cdk::trap(format!(
        "incr_then_call_then_trap: trapping after the await (call ok: {})",
        result.is_ok()
    ));
}

#[ic_cdk::query]
fn get_before_await() -> u64 {
    BEFORE_AWAIT.with(Cell::get)
}

/// Sends a call whose reply is ignored (no callback).
#[ic_cdk::update]
fn oneway(target: Principal, method: String, args: ByteBuf) {
    if let Err(e) = Call::unbounded_wait(target, &method)
        .with_raw_args(&args)
        .oneway()
    {
        ic_cdk::trap(format!("oneway call failed: {e}"));
    }
}

/// Calls this canister's own `inc_local` and returns its reply.
#[ic_cdk::update]
async fn self_call_inc() -> u64 {
    let reply = Call::unbounded_wait(ic_cdk::api::canister_self(), "inc_local")
        .await
        .unwrap_or_else(|e| ic_cdk::trap(format!("self call failed: {e}")));
    reply
        .candid::<u64>()
        .unwrap_or_else(|e| ic_cdk::trap(format!("cannot decode the self-call reply: {e}")))
}

#[ic_cdk::update]
fn inc_local() -> u64 {
    LOCAL.with(|c| {
        c.set(c.get() + 1);
        c.get()
    })
}

/// Tries to call `get` on `target` from a (non-composite) query: the system must trap.
#[ic_cdk::query]
async fn query_that_calls(target: Principal) {
    if let Err(e) = Call::unbounded_wait(target, "get").await {
        ic_cdk::trap(format!("call from a query failed: {e}"));
    }
}

/// 32 random bytes from the management canister.
#[ic_cdk::update]
async fn raw_rand() -> ByteBuf {
    let reply = Call::unbounded_wait(Principal::management_canister(), "raw_rand")
        .await
        .unwrap_or_else(|e| ic_cdk::trap(format!("raw_rand failed: {e}")));
    reply
        .candid::<ByteBuf>()
        .unwrap_or_else(|e| ic_cdk::trap(format!("cannot decode the raw_rand reply: {e}")))
}

/// Call with `cycles` attached; reports the reply and the cycles refunded (ic0.msg_cycles_refunded).
#[ic_cdk::update]
async fn call_with_cycles(
    target: Principal,
    method: String,
    args: ByteBuf,
    cycles: Nat,
) -> CyclesOutcome {
    let result = Call::unbounded_wait(target, &method)
        .with_raw_args(&args)
        .with_cycles(nat_to_u128(&cycles))
        .await;
    match result {
        Ok(reply) => CyclesOutcome::Ok(CyclesReply {
            reply: ByteBuf::from(reply.into_bytes()),
            refunded: Nat::from(ic_cdk::api::msg_cycles_refunded()),
        }),
        Err(e) => CyclesOutcome::Err(e.into()),
    }
}

/// Calls `method` (empty Candid arguments) on every target concurrently; outcomes in order.
#[ic_cdk::update]
async fn fan_out(targets: Vec<Principal>, method: String) -> Vec<CallOutcome> {
    let calls = targets
        .iter()
        .map(|t| Call::unbounded_wait(*t, &method).into_future());
    join_all(calls).await.into_iter().map(outcome).collect()
}

ic_cdk::export_candid!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candid_interface_matches_committed_did_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("async_caller.did");
        platform_types::candid_check::check_service(&__export_service(), &path);
    }

    #[test]
    fn outcomes_round_trip_through_candid() {
        let ok = CallOutcome::Ok(ByteBuf::from(vec![1, 2, 3]));
        let err = CallOutcome::Err(CallError {
            code: 4,
            message: "no".into(),
        });
        for v in [ok, err] {
            let bytes = candid::encode_one(&v).unwrap();
            assert_eq!(candid::decode_one::<CallOutcome>(&bytes).unwrap(), v);
        }
    }

    #[test]
    fn local_counter_increments() {
        assert_eq!(inc_local(), 1);
        assert_eq!(inc_local(), 2);
    }
}
