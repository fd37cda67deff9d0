//! Function 1011: restore a shard from the snapshot the hub took before its last upgrade, and
//! the history of such restores (`get_restore_history`).

use crate::check_reason;
use candid::{CandidType, Principal};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// Payload of `restore_shard_snapshot` (function 1011).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RestoreShardArgs {
    pub shard_id: Principal,
    /// The snapshot voters approve (`get_restore_history` lists each shard's): the proposal
    /// fails if the hub's last snapshot of the shard is another one by execution time.
    pub snapshot_id: ByteBuf,
    pub reason: String,
}

/// One restore the hub carried out.
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardRestore {
    pub snapshot_id: ByteBuf,
    pub restored_at_ns: u64,
    /// Hex sha256 of the module the shard ran before the restore, and after it (the module of
    /// the snapshot).
    pub wasm_hash_before: String,
    pub wasm_hash_after: String,
    pub reason: String,
}

/// A shard's last snapshot and the restores made on it, oldest first (at most
/// [`MAX_RESTORES_KEPT`]).
#[derive(CandidType, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardRestoreHistory {
    pub shard_id: Principal,
    /// The snapshot the rollout took before the shard's last upgrade, if any.
    pub last_snapshot_id: Option<ByteBuf>,
    /// Hex sha256 of the module the shard ran when that snapshot was taken.
    pub last_snapshot_wasm_hash: Option<String>,
    pub restores: Vec<ShardRestore>,
}

/// Restores kept per shard (the oldest are dropped).
pub const MAX_RESTORES_KEPT: usize = 20;

/// The text voters see for a restore (the hub checks the shard and its snapshot).
pub fn render_restore_shard(args: &RestoreShardArgs, snapshot_wasm_hash: &str) -> Result<String, String> {
    check_reason(&args.reason)?;
    Ok(format!(
        "RESTORE shard from its snapshot: the shard is stopped, its code and memory are replaced by the snapshot \
         the hub took before its last upgrade (module {snapshot_wasm_hash}), and it is started again. Everything \
         the shard recorded since that snapshot is lost; the rollout skips the shard until the next Start.\n\
         Shard: {}\nSnapshot: {}\nReason: {}",
        args.shard_id,
        hex_id(&args.snapshot_id),
        args.reason.trim()
    ))
}

pub fn hex_id(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rendering_names_shard_snapshot_and_module_and_needs_a_reason() {
        let args = RestoreShardArgs {
            shard_id: Principal::from_slice(&[1; 10]),
            snapshot_id: ByteBuf::from(vec![0xab, 0x01]),
            reason: " bad release ".into(),
        };
        let text = render_restore_shard(&args, "cafe").unwrap();
        assert!(text.contains(&args.shard_id.to_text()) && text.contains("ab01") && text.contains("cafe"));
        assert!(text.ends_with("Reason: bad release"));
        assert!(render_restore_shard(&RestoreShardArgs { reason: " ".into(), ..args }, "cafe").is_err());
    }
}
