//! Function 1011: restore a shard from the snapshot the rollout took before its last upgrade
//! (stop, `load_canister_snapshot`, start), and the restore history.
//!
//! The restored shard runs the snapshot's code and state. The hub then re-pushes its status and
//! configuration (the snapshot may predate them) and the rollout skips it for the current target
//! until governance starts a rollout again (otherwise the next tick would redo the upgrade the
//! restore undid).

use crate::fleet::{ShardOperation, MAX_ROLLOUT_FAILURES};
use crate::model::ShardIndex;
use crate::{calls, guards, metrics, shard_wasm, state};
use candid::Principal;
use platform_types::{
    render_restore_shard, RestoreShardArgs, ShardRestore, ShardRestoreHistory, ValidationResult, MAX_RESTORES_KEPT,
};
use serde_bytes::ByteBuf;

/// The shard, its snapshot's module hash and the rendering; refused: not an installed shard of
/// this hub, no snapshot, another snapshot than the payload names, or a snapshot the shard's
/// withdrawals have moved past (see [`check_no_mints_since`]).
fn check_restore(args: &RestoreShardArgs, now_ns: u64) -> Result<(ShardIndex, String, String), String> {
    let (index, _) = state::shard_by_id(args.shard_id)
        .filter(|(_, s)| s.installed)
        .ok_or_else(|| format!("{} is not a shard of this hub", args.shard_id))?;
    let sync = state::shard_sync(index);
    let Some(snapshot) = sync.rollout_snapshot_id else {
        return Err(format!(
            "shard {} has no snapshot: the hub takes one only before it upgrades a shard, and has not upgraded this one",
            args.shard_id
        ));
    };
    if snapshot != args.snapshot_id.as_slice() {
        return Err(format!(
            "shard {}'s last snapshot is {}, not {} (see get_restore_history)",
            args.shard_id,
            hex::encode(&snapshot),
            hex::encode(&args.snapshot_id)
        ));
    }
    check_no_mints_since(index, args.shard_id, sync.rollout_snapshot_at_ns, now_ns)?;
    let wasm_hash = sync.rollout_snapshot_wasm_hash.unwrap_or_else(|| "unknown".into());
    let text = render_restore_shard(args, &wasm_hash)?;
    Ok((index, wasm_hash, text))
}

/// A restored shard forgets the withdrawals it journaled after its snapshot and would hand out
/// their ids again, while the hub's mint journal still holds them: those new withdrawals would
/// never mint (the hub answers a different amount under the same key with TryLater). So a
/// restore is refused once any withdrawal of the shard reached the journal after the snapshot,
/// and when the snapshot is older than the journal's retention (compaction may have removed
/// the evidence), or its time is unknown.
fn check_no_mints_since(index: ShardIndex, shard: Principal, snapshot_at_ns: Option<u64>, now_ns: u64) -> Result<(), String> {
    let Some(taken) = snapshot_at_ns else {
        return Err(format!("shard {shard}: the time of its snapshot is unknown, so the hub cannot check that no withdrawal moved past it"));
    };
    let retention_ns = state::config().settled_retention().saturating_mul(1_000_000_000);
    if now_ns.saturating_sub(taken) >= retention_ns {
        return Err(format!(
            "shard {shard}: its snapshot is older than the mint journal's retention ({} s), so withdrawals since may no longer be in the journal; migrate the shard instead (function 1012)",
            state::config().settled_retention()
        ));
    }
    if let Some(withdrawal) = state::first_mint_since(index, taken) {
        return Err(format!(
            "shard {shard}: withdrawal {withdrawal} reached the mint journal after the snapshot; the restored shard would issue its id again and that withdrawal would never mint. Migrate the shard instead (function 1012)"
        ));
    }
    Ok(())
}

pub fn restore_shard_snapshot_validate(caller: Principal, args: &RestoreShardArgs, now_ns: u64) -> ValidationResult {
    guards::caller_is_governance(caller)?;
    check_restore(args, now_ns).map(|(_, _, text)| text)
}

/// Stops the shard, loads the snapshot and starts the shard again (also after a failed load: a
/// shard is never left stopped); records the restore once the load succeeded.
pub async fn restore_shard_snapshot(caller: Principal, args: &RestoreShardArgs, now_ns: impl Fn() -> u64) -> Result<(), String> {
    guards::caller_is_governance(caller)?;
    check_restore(args, now_ns())?;
    let id = args.shard_id;
    let Some(_operation) = ShardOperation::acquire(id) else {
        return Err(format!("shard {id} is being upgraded by the rollout right now; propose the restore again"));
    };
    metrics::event(&format!("shard {id}: restoring snapshot {} (function 1011)", hex::encode(&args.snapshot_id)));
    let loaded = async {
        calls::stop_canister(id).await?;
        // Re-checked after the await: the snapshot must still be the one voters approved, and
        // no withdrawal may have reached the journal meanwhile (the shard is stopped now).
        check_restore(args, now_ns())?;
        calls::load_canister_snapshot(id, args.snapshot_id.to_vec()).await
    }
    .await;
    let started = calls::start_canister(id).await;
    if let Err(e) = loaded.as_ref().and(started.as_ref()) {
        let e = format!("restoring shard {id}: {e}");
        metrics::error("shard_restore_failed", &e);
        return Err(e);
    }
    let (index, snapshot_hash, _) = check_restore(args, now_ns())?;
    record_restore(index, args, snapshot_hash, now_ns());
    metrics::event(&format!("shard {id}: restored from snapshot {}", hex::encode(&args.snapshot_id)));
    Ok(())
}

/// After a successful load: the record, the shard's module, and the pushes and rollout skip
/// that follow from the shard running older code and state.
fn record_restore(index: ShardIndex, args: &RestoreShardArgs, snapshot_hash: String, now_ns: u64) {
    let before = state::shard(index).map(|s| s.wasm_hash).unwrap_or_default();
    state::update_shard(index, |s| s.wasm_hash = snapshot_hash.clone());
    let target = shard_wasm::embedded_hash().to_string();
    state::update_shard_sync(index, |y| {
        let restores = y.restores.get_or_insert_with(Vec::new);
        restores.push(ShardRestore {
            snapshot_id: args.snapshot_id.clone(),
            restored_at_ns: now_ns,
            wasm_hash_before: before,
            wasm_hash_after: snapshot_hash,
            reason: args.reason.trim().to_string(),
        });
        if restores.len() > MAX_RESTORES_KEPT {
            restores.remove(0);
        }
        // The snapshot may predate the configuration and status in force: push both again.
        y.config_version = 0;
        y.status_synced = false;
        // Not upgraded again to this target before a new Start.
        y.failed_target = target.clone();
        y.rollout_failures = MAX_ROLLOUT_FAILURES;
        y.rollout_last_error = Some("restored from its snapshot by proposal (function 1011)".into());
    });
}

pub fn restore_history() -> Vec<ShardRestoreHistory> {
    state::shards()
        .into_iter()
        .filter(|(_, s)| s.installed)
        .map(|(index, s)| {
            let sync = state::shard_sync(index);
            ShardRestoreHistory {
                shard_id: s.id,
                last_snapshot_id: sync.rollout_snapshot_id.map(ByteBuf::from),
                last_snapshot_wasm_hash: sync.rollout_snapshot_wasm_hash,
                restores: sync.restores.unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;
    use platform_types::HubInitArgs;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    fn hub_with_shard(n: u8) -> (ShardIndex, Principal) {
        state::set_init_args(HubInitArgs {
            ledger_id: p(1),
            learning_content_id: p(2),
            sns_governance_id: p(3),
            config: None,
            registration_policy: None,
            icp_refill: None,
        });
        let index = registry::record_created(p(n), 0);
        registry::mark_installed(index, "old".into(), 0);
        (index, p(n))
    }

    const SEC: u64 = 1_000_000_000;
    const NOW: u64 = 30 * 86_400 * SEC;

    fn args(shard: Principal, snapshot: &[u8]) -> RestoreShardArgs {
        RestoreShardArgs { shard_id: shard, snapshot_id: ByteBuf::from(snapshot.to_vec()), reason: "bad release".into() }
    }

    #[test]
    fn a_restore_is_refused_without_a_snapshot_or_for_another_snapshot() {
        let (index, shard) = hub_with_shard(40);
        let gov = p(3);
        let none = restore_shard_snapshot_validate(gov, &args(shard, &[1]), NOW).unwrap_err();
        assert!(none.contains("has no snapshot"), "{none}");
        assert!(restore_shard_snapshot_validate(gov, &args(p(41), &[1]), NOW).unwrap_err().contains("not a shard"));
        state::update_shard_sync(index, |y| {
            y.rollout_snapshot_id = Some(vec![7, 7]);
            y.rollout_snapshot_wasm_hash = Some("old".into());
            y.rollout_snapshot_at_ns = Some(NOW - 60 * SEC);
        });
        let other = restore_shard_snapshot_validate(gov, &args(shard, &[1]), NOW).unwrap_err();
        assert!(other.contains("0707") && other.contains("not 01"), "{other}");
        assert!(restore_shard_snapshot_validate(p(9), &args(shard, &[7, 7]), NOW).is_err(), "governance only");
        let text = restore_shard_snapshot_validate(gov, &args(shard, &[7, 7]), NOW).unwrap();
        assert!(text.contains("0707") && text.contains("module old"), "{text}");
    }

    #[test]
    fn a_recorded_restore_sets_the_module_re_pushes_and_holds_the_rollout() {
        let (index, shard) = hub_with_shard(50);
        state::update_shard(index, |s| s.wasm_hash = "new".into());
        state::update_shard_sync(index, |y| {
            y.rollout_snapshot_id = Some(vec![9]);
            y.rollout_snapshot_wasm_hash = Some("old".into());
            y.config_version = 4;
        });
        record_restore(index, &args(shard, &[9]), "old".into(), 0);
        let first = restore_history().into_iter().find(|h| h.shard_id == shard).unwrap().restores;
        assert_eq!((first[0].wasm_hash_before.as_str(), first[0].wasm_hash_after.as_str()), ("new", "old"));
        for n in 1..MAX_RESTORES_KEPT + 2 {
            record_restore(index, &args(shard, &[9]), "old".into(), n as u64);
        }
        let sync = state::shard_sync(index);
        assert_eq!((sync.config_version, sync.status_synced), (0, false));
        assert!(sync.gave_up_on(shard_wasm::embedded_hash()));
        assert_eq!(state::shard(index).unwrap().wasm_hash, "old");
        let history = restore_history().into_iter().find(|h| h.shard_id == shard).unwrap();
        assert_eq!(history.restores.len(), MAX_RESTORES_KEPT, "bounded");
        assert_eq!(history.restores[0].restored_at_ns, 2, "the oldest are dropped");
        assert_eq!(history.last_snapshot_id.as_deref(), Some(&vec![9u8]));
    }

    #[test]
    fn a_restore_is_refused_once_a_withdrawal_moved_past_the_snapshot() {
        use crate::mint::{MintKey, MintRecord, MintState};
        let record = |created_at_ns: u64| MintRecord {
            user: p(7),
            amount_e8s: 5,
            created_at_ns,
            state: MintState::InFlight,
            attempts_sent: 0,
            attempts_not_minted: 0,
            last_error: String::new(),
            transfer_arg: None,
            ledger_tip_before_first_attempt: None,
            block_search: None,
        };
        let (index, shard) = hub_with_shard(60);
        let gov = p(3);
        let taken = NOW - 3_600 * SEC;
        state::update_shard_sync(index, |y| {
            y.rollout_snapshot_id = Some(vec![5]);
            y.rollout_snapshot_at_ns = None;
        });
        let unknown = restore_shard_snapshot_validate(gov, &args(shard, &[5]), NOW).unwrap_err();
        assert!(unknown.contains("time of its snapshot is unknown"), "{unknown}");
        state::update_shard_sync(index, |y| y.rollout_snapshot_at_ns = Some(taken));
        // Mints before the snapshot, and of another shard after it, do not matter.
        state::put_mint_record(MintKey { shard: index, withdrawal_id: 1 }, record(taken - 1));
        state::put_mint_record(MintKey { shard: index + 1, withdrawal_id: 1 }, record(taken + 1));
        restore_shard_snapshot_validate(gov, &args(shard, &[5]), NOW).unwrap();
        // A withdrawal of this shard journaled after the snapshot: its id would be issued again.
        state::put_mint_record(MintKey { shard: index, withdrawal_id: 2 }, record(taken + SEC));
        let moved = restore_shard_snapshot_validate(gov, &args(shard, &[5]), NOW).unwrap_err();
        assert!(moved.contains("withdrawal 2 reached the mint journal after the snapshot"), "{moved}");
        // A snapshot older than the journal's retention: compaction may have removed the evidence.
        let (index, shard) = hub_with_shard(61);
        let old = NOW - state::config().settled_retention() * SEC;
        state::update_shard_sync(index, |y| {
            y.rollout_snapshot_id = Some(vec![6]);
            y.rollout_snapshot_at_ns = Some(old);
        });
        let stale = restore_shard_snapshot_validate(gov, &args(shard, &[6]), NOW).unwrap_err();
        assert!(stale.contains("older than the mint journal's retention"), "{stale}");
    }
}
