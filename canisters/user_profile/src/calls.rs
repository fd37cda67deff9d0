//! Calls to the other canisters. Errors come back as text for the `detail` of a `ShardError`.

use candid::Principal;
use ic_cdk::call::Call;
use crate::state::MintAnswer;
use platform_types::{AllowanceError, AllowanceGrant, MintError, MintRequest, ShardReport, VerifyError, VerifyResult};

/// `learning_content.verify_quiz` (a query, called as an update with a bounded wait: it
/// changes nothing, so a timed-out call can simply be retried).
pub async fn verify_quiz(
    learning_content: Principal,
    unit_id: &str,
    answers: &[u32],
) -> Result<Result<VerifyResult, VerifyError>, String> {
    let response = Call::bounded_wait(learning_content, "verify_quiz")
        .with_args(&(unit_id, answers))
        .await
        .map_err(|e| format!("verify_quiz on {learning_content} failed: {e}"))?;
    response
        .candid::<Result<VerifyResult, VerifyError>>()
        .map_err(|e| format!("verify_quiz on {learning_content}: unexpected reply: {e}"))
}

/// A `request_allowance` call that brought no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubCallFailed {
    /// The hub executed the call (it replied, but the reply did not decode): its report was
    /// received and must not be sent again.
    pub executed: bool,
    pub detail: String,
}

/// `staking_hub.request_allowance`. Unbounded wait: the hub is this shard's creator and
/// controller, and a definite answer keeps the allowance and the reported stats exact (a
/// rejected call was not executed, so its report can be sent again).
pub async fn request_allowance(
    hub: Principal,
    report: &ShardReport,
) -> Result<Result<AllowanceGrant, AllowanceError>, HubCallFailed> {
    let response = Call::unbounded_wait(hub, "request_allowance").with_arg(report).await.map_err(|e| {
        HubCallFailed { executed: false, detail: format!("request_allowance on the hub {hub} failed: {e}") }
    })?;
    response.candid::<Result<AllowanceGrant, AllowanceError>>().map_err(|e| HubCallFailed {
        executed: true,
        detail: format!("request_allowance on the hub {hub}: unexpected reply: {e}"),
    })
}

/// `staking_hub.mint_withdrawal`. Bounded wait: the hub journals the withdrawal and the ledger
/// deduplicates it, so a call whose outcome is unknown is simply sent again later.
pub async fn mint_withdrawal(hub: Principal, request: &MintRequest) -> MintAnswer {
    // The argument with its type table kept in the heap (`with_arg` rebuilds it per call).
    let arg = platform_types::reply_encoding::encode_ref(request);
    let response = match Call::bounded_wait(hub, "mint_withdrawal").with_raw_args(&arg).await {
        Ok(response) => response,
        Err(e) => return MintAnswer::Unsettled(format!("mint_withdrawal on the hub {hub} failed: {e}")),
    };
    // The usual answer, `Ok(block)`, read from its bytes: decoding the result rebuilds the
    // type table of `MintError`. Any other encoding still decodes below.
    if let Some(block_index) = minted_block(response.as_ref()) {
        return MintAnswer::Minted(block_index);
    }
    match response.candid::<Result<u64, MintError>>() {
        Ok(Ok(block_index)) => MintAnswer::Minted(block_index),
        Ok(Err(e)) => MintAnswer::Refused(e),
        Err(e) => MintAnswer::Unsettled(format!("mint_withdrawal on the hub {hub}: unexpected reply: {e}")),
    }
}

/// `staking_hub.mint_withdrawals`: a batch of requests, one answer each (in order). Bounded
/// wait, like `mint_withdrawal`: a batch whose outcome is unknown is sent again later. A reply
/// that does not decode, or holds another number of answers, settles nothing.
pub async fn mint_withdrawals(hub: Principal, requests: &[MintRequest]) -> Vec<MintAnswer> {
    let unsettled = |why: String| vec![MintAnswer::Unsettled(why); requests.len()];
    let arg = platform_types::reply_encoding::encode_ref(&requests.to_vec());
    let response = match Call::bounded_wait(hub, "mint_withdrawals").with_raw_args(&arg).await {
        Ok(response) => response,
        Err(e) => return unsettled(format!("mint_withdrawals on the hub {hub} failed: {e}")),
    };
    match response.candid::<Vec<Result<u64, MintError>>>() {
        Ok(answers) if answers.len() == requests.len() => answers
            .into_iter()
            .map(|a| match a {
                Ok(block_index) => MintAnswer::Minted(block_index),
                Err(e) => MintAnswer::Refused(e),
            })
            .collect(),
        Ok(answers) => unsettled(format!(
            "mint_withdrawals on the hub {hub}: {} answers for {} requests",
            answers.len(),
            requests.len()
        )),
        Err(e) => unsettled(format!("mint_withdrawals on the hub {hub}: unexpected reply: {e}")),
    }
}

/// The block index of a `mint_withdrawal` reply that is `Ok(block)` as the hub encodes it
/// (`candid::encode_one`'s bytes: the header, the `Ok` case, then the u64 in 8 little-endian
/// bytes ending the message); `None` for anything else.
fn minted_block(reply: &[u8]) -> Option<u64> {
    let ok_zero = platform_types::reply_encoding::encode(Ok::<u64, MintError>(0));
    let prefix = &ok_zero[..ok_zero.len() - 8];
    let block: [u8; 8] = reply.strip_prefix(prefix)?.try_into().ok()?;
    Some(u64::from_le_bytes(block))
}

#[derive(candid::CandidType)]
struct CanisterIdRecord {
    canister_id: Principal,
}

/// `deposit_cycles` of the management canister: `amount` cycles to `canister_id`.
pub async fn deposit_cycles(canister_id: Principal, amount: u128) -> Result<(), String> {
    Call::unbounded_wait(Principal::management_canister(), "deposit_cycles")
        .with_arg(CanisterIdRecord { canister_id })
        .with_cycles(amount)
        .await
        .map(|_| ())
        .map_err(|e| format!("deposit_cycles to {canister_id} failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_block_is_read_from_the_bytes_of_the_hubs_ok_and_nothing_else() {
        for block in [0u64, 1, 255, 256, 1 << 40, u64::MAX] {
            let reply = candid::encode_one(Ok::<u64, MintError>(block)).unwrap();
            assert_eq!(minted_block(&reply), Some(block), "block {block}");
        }
        for refusal in [
            MintError::TryLater { reason: "later".into() },
            MintError::Refused { reason: "no".into() },
            MintError::LedgerRejected { reason: "12345678".into() },
        ] {
            assert_eq!(minted_block(&candid::encode_one(Err::<u64, MintError>(refusal)).unwrap()), None);
        }
        let mut trailing = candid::encode_one(Ok::<u64, MintError>(7)).unwrap();
        trailing.push(0);
        assert_eq!(minted_block(&trailing), None);
        let mut truncated = candid::encode_one(Ok::<u64, MintError>(7)).unwrap();
        truncated.pop();
        assert_eq!(minted_block(&truncated), None);
    }
}
