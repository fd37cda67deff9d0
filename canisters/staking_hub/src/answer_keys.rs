//! The hub's relay of answer keys from learning_content to the shards (issue 14, local quiz
//! verification): learning_content pushes the full set of its live units' keys with a version
//! (`set_answer_keys`); the hub keeps the latest set as its Candid bytes and the fleet round
//! (`fleet::push_pending`) sends those bytes, unchanged, to every live shard that has not
//! confirmed that version, new shards included, retrying failures on later rounds.
//!
//! The hub never serves the keys: no query, HTTP route, error or log line includes them.

use crate::state;
use candid::Principal;
use ic_cdk::call::Call;
use ic_stable_structures::storable::{Bound, Storable};
use platform_types::answer_keys::AnswerKeySet;
use platform_types::ShardError;
use std::borrow::Cow;

/// The latest set (version 0 with no bytes: none received yet), stored as the Candid bytes the
/// shards are sent so a push re-encodes nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnswerKeysBlob {
    pub version: u64,
    pub candid: Vec<u8>,
}

impl Storable for AnswerKeysBlob {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.clone().into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.candid.len());
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.candid);
        out
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        if bytes.len() < 8 {
            return AnswerKeysBlob::default(); // a cell never written
        }
        AnswerKeysBlob { version: u64::from_le_bytes(bytes[..8].try_into().unwrap()), candid: bytes[8..].to_vec() }
    }

    const BOUND: Bound = Bound::Unbounded;
}

/// `set_answer_keys`: learning_content only. A set newer than the one kept replaces it and is
/// pushed to the shards; an older or equal version changes nothing. Answers the version kept.
pub fn set_answer_keys(caller: Principal, set: AnswerKeySet) -> Result<u64, String> {
    let content = state::init_args().map(|a| a.learning_content_id).ok_or("the hub is not initialized")?;
    if caller != content {
        return Err(format!("only learning_content ({content}) may set the answer keys"));
    }
    set.validate()?;
    let kept = state::answer_keys_version();
    if set.version <= kept {
        return Ok(kept);
    }
    let candid = candid::encode_one(&set).map_err(|e| format!("the answer key set does not encode: {e}"))?;
    state::set_answer_keys(AnswerKeysBlob { version: set.version, candid });
    crate::metrics::event(&format!("answer keys version {} received ({} units)", set.version, set.keys.len()));
    Ok(set.version)
}

/// The shard's `apply_answer_keys` with the kept bytes; answers the version the shard has.
pub async fn push_to_shard(shard: Principal, blob: &AnswerKeysBlob) -> Result<u64, String> {
    let reply = Call::bounded_wait(shard, "apply_answer_keys")
        .with_raw_args(&blob.candid)
        .await
        .map_err(|e| format!("apply_answer_keys on {shard} failed: {e}"))?;
    let answer: Result<u64, ShardError> = reply.candid().map_err(|e| format!("apply_answer_keys reply: {e}"))?;
    answer.map_err(|e| format!("apply_answer_keys refused: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_an_unwritten_cell_reads_as_none() {
        let blob = AnswerKeysBlob { version: 9, candid: vec![1, 2, 3] };
        assert_eq!(AnswerKeysBlob::from_bytes(blob.to_bytes()), blob);
        assert_eq!(AnswerKeysBlob::from_bytes(Cow::Borrowed(&[])), AnswerKeysBlob::default());
    }
}
