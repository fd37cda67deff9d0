//! Candid types of the `frontend_assets` canister (DFINITY's `ic-certified-assets` 0.3), for
//! the methods the platform's tools call: the batch API (`create_batch`, `create_chunks`,
//! `commit_batch`, `propose_commit_batch`, `compute_evidence`, `commit_proposed_batch`,
//! `validate_commit_proposed_batch`, `delete_batch`), reading (`list`, `get`, `get_chunk`),
//! permissions (`grant_permission`, `revoke_permission`, `list_permitted`) and the install and
//! upgrade argument (`opt AssetCanisterArgs`).
//!
//! Field names and types mirror `candid/frontend_assets.did` (generated from the canister); a
//! unit test checks every method's types against that file. Reply records may leave out fields
//! the canister sends (e.g. `AssetEncodingDetails.modified`): Candid drops them when decoding.

use candid::{CandidType, Nat, Principal};
use serde::Deserialize;
use serde_bytes::ByteBuf;

/// A permission on the asset canister: its whole access control.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Permission {
    /// May apply batches (`commit_batch`, `commit_proposed_batch`) and change assets directly.
    Commit,
    /// May grant and revoke permissions.
    ManagePermissions,
    /// May create batches and chunks and propose a batch (`propose_commit_batch`).
    Prepare,
}

/// Argument of `grant_permission`.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct GrantPermissionArguments {
    pub to_principal: Principal,
    pub permission: Permission,
}

/// Argument of `revoke_permission`.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct RevokePermissionArguments {
    pub of_principal: Principal,
    pub permission: Permission,
}

/// Argument of `list_permitted`.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct ListPermittedArguments {
    pub permission: Permission,
}

/// `opt AssetCanisterArgs`, the install and upgrade argument: `init` takes only `Init`,
/// `post_upgrade` only `Upgrade` (the library traps on the other one).
#[derive(CandidType, Deserialize, Clone, Debug)]
pub enum AssetCanisterArgs {
    Init(InitArgs),
    /// The library's `UpgradeArgs`, which has the same single field as [`InitArgs`].
    Upgrade(InitArgs),
}

/// The fields of [`AssetCanisterArgs`]: the permission lists to set, if any.
#[derive(CandidType, Deserialize, Clone, Debug, Default)]
pub struct InitArgs {
    pub set_permissions: Option<SetPermissions>,
}

/// Replaces the holders of each permission.
#[derive(CandidType, Deserialize, Clone, Debug, Default)]
pub struct SetPermissions {
    pub prepare: Vec<Principal>,
    pub commit: Vec<Principal>,
    pub manage_permissions: Vec<Principal>,
}

/// Batch operation: create an asset (no content yet).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateAssetArguments {
    pub key: String,
    pub content_type: String,
    pub max_age: Option<u64>,
    pub headers: Option<Vec<(String, String)>>,
    pub enable_aliasing: Option<bool>,
    pub allow_raw_access: Option<bool>,
}

/// Batch operation: set one encoding of an asset from uploaded chunks.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SetAssetContentArguments {
    pub key: String,
    pub content_encoding: String,
    pub chunk_ids: Vec<Nat>,
    pub last_chunk: Option<ByteBuf>,
    pub sha256: Option<ByteBuf>,
}

/// Batch operation: remove one encoding of an asset.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UnsetAssetContentArguments {
    pub key: String,
    pub content_encoding: String,
}

/// Batch operation: delete an asset.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DeleteAssetArguments {
    pub key: String,
}

/// Batch operation: delete every asset.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ClearArguments {}

/// Batch operation: change an asset's properties (`None`: unchanged; `Some(None)`: unset).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SetAssetPropertiesArguments {
    pub key: String,
    pub max_age: Option<Option<u64>>,
    pub headers: Option<Option<Vec<(String, String)>>>,
    pub allow_raw_access: Option<Option<bool>>,
    pub is_aliased: Option<Option<bool>>,
}

/// One operation of a batch (the `.did`'s `BatchOperation`).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum BatchOperationKind {
    CreateAsset(CreateAssetArguments),
    SetAssetContent(SetAssetContentArguments),
    UnsetAssetContent(UnsetAssetContentArguments),
    DeleteAsset(DeleteAssetArguments),
    Clear(ClearArguments),
    SetAssetProperties(SetAssetPropertiesArguments),
}

/// Argument of `commit_batch` and `propose_commit_batch`.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct CommitBatchArguments {
    pub batch_id: Nat,
    pub operations: Vec<BatchOperationKind>,
}

/// Argument of `commit_proposed_batch` and `validate_commit_proposed_batch`: the payload of
/// custom proposal 1006.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CommitProposedBatchArguments {
    pub batch_id: Nat,
    pub evidence: ByteBuf,
}

/// Argument of `compute_evidence` (which answers `opt blob`: `null` until the hash is done).
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct ComputeEvidenceArguments {
    pub batch_id: Nat,
    pub max_iterations: Option<u16>,
}

/// Argument of `delete_batch`.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct DeleteBatchArguments {
    pub batch_id: Nat,
}

/// Reply of `create_batch`.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct CreateBatchResponse {
    pub batch_id: Nat,
}

/// Argument of `create_chunks`.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct CreateChunksArg {
    pub batch_id: Nat,
    pub content: Vec<ByteBuf>,
}

/// Reply of `create_chunks`: one id per chunk, in order.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct CreateChunksResponse {
    pub chunk_ids: Vec<Nat>,
}

/// What `list` says of an asset (the fields used here).
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct AssetDetails {
    pub key: String,
    pub content_type: String,
    pub encodings: Vec<AssetEncodingDetails>,
}

/// One encoding in [`AssetDetails`] (without `modified`).
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct AssetEncodingDetails {
    pub content_encoding: String,
    pub sha256: Option<ByteBuf>,
    pub length: Nat,
}

/// Argument of `get`.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct GetArg {
    pub key: String,
    pub accept_encodings: Vec<String>,
}

/// Reply of `get`: the first chunk of an encoding.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct EncodedAsset {
    pub content: ByteBuf,
    pub content_type: String,
    pub content_encoding: String,
    pub total_length: Nat,
    pub sha256: Option<ByteBuf>,
}

/// Argument of `get_chunk`.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct GetChunkArg {
    pub key: String,
    pub content_encoding: String,
    pub index: Nat,
    pub sha256: Option<ByteBuf>,
}

/// Reply of `get_chunk`.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct GetChunkResponse {
    pub content: ByteBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::types::internal::{FuncMode, Function, TypeInner};
    use candid::types::subtype::{subtype_with_config, OptReport};
    use candid::types::{Type, TypeEnv};
    use candid_parser::utils::CandidSource;
    use std::path::Path;

    fn did() -> (TypeEnv, Type) {
        // This crate lives at <repo>/canisters/platform_types.
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap();
        let path = repo.join("candid/frontend_assets.did");
        let (env, actor) = CandidSource::File(&path)
            .load()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        (env, actor.expect("a service"))
    }

    /// The client's view of a method, from the Rust types.
    fn func(args: Vec<Type>, rets: Vec<Type>, query: bool) -> Type {
        let modes = if query { vec![FuncMode::Query] } else { vec![] };
        TypeInner::Func(Function { modes, args, rets }).into()
    }

    /// Every method the tools call, as the Rust types see it.
    fn client_methods() -> Vec<(&'static str, Type)> {
        let t = |ty: Type| vec![ty];
        vec![
            ("create_batch", func(vec![], t(CreateBatchResponse::ty()), false)),
            ("create_chunks", func(t(CreateChunksArg::ty()), t(CreateChunksResponse::ty()), false)),
            ("commit_batch", func(t(CommitBatchArguments::ty()), vec![], false)),
            ("propose_commit_batch", func(t(CommitBatchArguments::ty()), vec![], false)),
            ("compute_evidence", func(t(ComputeEvidenceArguments::ty()), t(Option::<ByteBuf>::ty()), false)),
            ("commit_proposed_batch", func(t(CommitProposedBatchArguments::ty()), vec![], false)),
            (
                "validate_commit_proposed_batch",
                func(t(CommitProposedBatchArguments::ty()), t(Result::<String, String>::ty()), false),
            ),
            ("delete_batch", func(t(DeleteBatchArguments::ty()), vec![], false)),
            ("grant_permission", func(t(GrantPermissionArguments::ty()), vec![], false)),
            ("revoke_permission", func(t(RevokePermissionArguments::ty()), vec![], false)),
            ("list_permitted", func(t(ListPermittedArguments::ty()), t(Vec::<Principal>::ty()), false)),
            ("list", func(vec![], t(Vec::<AssetDetails>::ty()), true)),
            ("get", func(t(GetArg::ty()), t(EncodedAsset::ty()), true)),
            ("get_chunk", func(t(GetChunkArg::ty()), t(GetChunkResponse::ty()), true)),
        ]
    }

    /// `sub <: sup` without Candid's special `opt` rule (which would let almost anything pass).
    fn strict_subtype(env: &TypeEnv, sub: &Type, sup: &Type) -> Result<(), String> {
        subtype_with_config(OptReport::Error, &mut Default::default(), env, sub, sup)
            .map_err(|e| format!("{e:#}"))
    }

    /// The canister's methods can be called through the Rust types: as a function reference
    /// type, the `.did`'s method is a subtype of the client's (the client's arguments are
    /// subtypes of the canister's, the canister's replies subtypes of the client's, same mode).
    fn check(env: &TypeEnv, actor: &Type) -> Vec<String> {
        let mut errors = Vec::new();
        for (name, client) in client_methods() {
            let method = match env.get_method(actor, name) {
                Ok(m) => TypeInner::Func(m.clone()).into(),
                Err(e) => {
                    errors.push(format!("{name}: {e}"));
                    continue;
                }
            };
            if let Err(e) = strict_subtype(env, &method, &client) {
                errors.push(format!("{name}: {e}"));
            }
        }
        // The install and upgrade argument.
        let init = match actor.as_ref() {
            TypeInner::Class(args, _) => args.clone(),
            other => panic!("the service has no init argument: {other:?}"),
        };
        let client_init = Option::<AssetCanisterArgs>::ty();
        if init.len() != 1 {
            errors.push(format!("init: expected one argument, the .did has {}", init.len()));
        } else if let Err(e) = strict_subtype(env, &client_init, &init[0]) {
            errors.push(format!("init (opt AssetCanisterArgs): {e}"));
        }
        errors
    }

    #[test]
    fn the_rust_types_match_the_frontend_assets_did() {
        let (env, actor) = did();
        let errors = check(&env, &actor);
        assert!(errors.is_empty(), "candid/frontend_assets.did:\n{}", errors.join("\n"));
    }

    /// The check fails when the `.did` and the Rust types differ (here the `.did` is edited).
    #[test]
    fn a_mismatch_is_detected() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap();
        let text = std::fs::read_to_string(repo.join("candid/frontend_assets.did")).unwrap();
        for (from, to) in [
            ("record { batch_id : nat; evidence : blob }", "record { batch_id : nat; evidence : text }"),
            ("max_iterations : opt nat16", "max_iterations : opt nat32"),
            (
                "type AssetCanisterArgs = variant { Upgrade : InitArgs; Init : InitArgs }",
                "type AssetCanisterArgs = variant { Init : InitArgs }",
            ),
            ("list : () -> (vec AssetDetails) query", "list : () -> (vec AssetDetails)"),
            ("  length : nat;\n  content_encoding", "  length : nat64;\n  content_encoding"),
            ("create_chunks : (CreateChunksArg)", "create_chunks_v2 : (CreateChunksArg)"),
        ] {
            assert!(text.contains(from), "{from}");
            let edited = text.replace(from, to);
            let (env, actor) = CandidSource::Text(&edited).load().unwrap();
            let errors = check(&env, &actor.unwrap());
            assert!(!errors.is_empty(), "{from} -> {to} went unnoticed");
        }
    }
}
