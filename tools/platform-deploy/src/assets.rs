//! Uploads a built web app (frontend/dist) to the `frontend_assets` canister
//! (ic-certified-assets) with ic-agent, through its batch API, as dfx's `ic-asset` does:
//! `create_batch`, `create_chunks` (≤ 1.9 MB per call), then one list of operations
//! (`CreateAsset`, `SetAssetContent` per encoding, `SetAssetProperties`, `UnsetAssetContent`,
//! `DeleteAsset`) that either
//!
//! * [`upload_dir`] commits at once with `commit_batch` (the caller needs Commit: the deployer
//!   at first deploy), or
//! * [`propose_dir`] locks with `propose_commit_batch` and hashes with `compute_evidence` (the
//!   caller needs only Prepare). The batch is applied when an SNS proposal executes
//!   `commit_proposed_batch { batch_id; evidence }` (custom function 1006), which
//!   `validate_commit_proposed_batch` checks against the evidence the canister computed.
//!
//! Every file gets an `identity` encoding, plus `gzip` for compressible types when it is
//! smaller; encodings whose sha256 is already on the canister are not uploaded again. Hashed
//! build outputs under `/assets/` are cached for a year as immutable, HTML and `/platform.json`
//! are revalidated on every load, everything else is cached for an hour. Raw (uncertified)
//! access is off for every asset.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use candid::{CandidType, Decode, Encode, Nat, Principal};
use ic_agent::Agent;
use serde::Deserialize;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

/// The most content bytes sent in one `create_chunks` call (the IC's ingress limit is 2 MiB,
/// minus room for the Candid envelope); also the largest chunk.
pub const MAX_CHUNK_BYTES: usize = 1_900_000;
/// `max_age` of assets that are neither hashed nor revalidated.
pub const DEFAULT_MAX_AGE_SECS: u64 = 3_600;
/// Cache-Control of hashed build outputs (`/assets/<name>-<hash>.<ext>`): their name changes
/// with their content.
pub const IMMUTABLE_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";
/// Cache-Control of the entry points, revalidated on every load so a committed change is
/// picked up at once.
pub const NO_CACHE: &str = "no-cache";

// ------------------------------------------------------------------ candid types

// The asset canister's Candid types (`candid/frontend_assets.did`) live with the other
// canisters' types in `platform_types`, which checks them against that file.
pub use platform_types::assets::*;

// ------------------------------------------------------------------ results

/// What an upload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadSummary {
    pub batch_id: Nat,
    /// Keys of the assets in the web app (with the `extra` ones), sorted.
    pub assets: Vec<String>,
    /// `key (encoding)` of every encoding sent, i.e. new or changed.
    pub uploaded_encodings: Vec<String>,
    /// Keys of the assets deleted because they are no longer in the web app.
    pub deleted: Vec<String>,
    pub chunks: usize,
    pub bytes: u64,
    pub operations: usize,
}

/// A batch locked by `propose_commit_batch`, with the evidence a 1006 proposal must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposedBatch {
    pub batch_id: Nat,
    pub evidence: Vec<u8>,
    pub summary: UploadSummary,
}

// ------------------------------------------------------------------ pure parts

/// A file to serve: its key (`/index.html`) and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetFile {
    pub key: String,
    pub content: Vec<u8>,
}

/// How an asset is cached by browsers and HTTP caches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachePolicy {
    pub max_age: Option<u64>,
    pub headers: Vec<(String, String)>,
}

/// One encoding of a file, ready to upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoding {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub sha256: [u8; 32],
}

/// The Content-Type served for a key, by extension (`application/octet-stream` if unknown).
pub fn content_type(key: &str) -> &'static str {
    let ext = key.rsplit('/').next().and_then(|f| f.rsplit_once('.')).map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("txt") => "text/plain; charset=utf-8",
        Some("xml") => "application/xml",
        Some("wasm") => "application/wasm",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("avif") => "image/avif",
        Some("ico") => "image/x-icon",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("ttf") => "font/ttf",
        Some("otf") => "font/otf",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// Whether a gzip encoding is worth offering (text formats and Wasm; images and fonts are
/// already compressed).
pub fn is_compressible(content_type: &str) -> bool {
    let base = content_type.split(';').next().unwrap_or("").trim();
    base.starts_with("text/")
        || matches!(
            base,
            "application/json"
                | "application/manifest+json"
                | "application/xml"
                | "application/wasm"
                | "image/svg+xml"
                | "image/x-icon"
                | "font/ttf"
                | "font/otf"
        )
}

/// The cache policy of a key: see the module documentation.
pub fn cache_policy(key: &str) -> CachePolicy {
    let header = |v: &str| vec![("cache-control".to_string(), v.to_string())];
    // The custom Cache-Control header replaces the one `max_age` would produce; both are
    // certified.
    if key.starts_with("/assets/") {
        CachePolicy { max_age: None, headers: header(IMMUTABLE_CACHE_CONTROL) }
    } else if key == "/platform.json" || key.ends_with(".html") {
        CachePolicy { max_age: None, headers: header(NO_CACHE) }
    } else {
        CachePolicy { max_age: Some(DEFAULT_MAX_AGE_SECS), headers: Vec::new() }
    }
}

/// Gzip with a fixed header (no name, mtime 0), so the same input always gives the same bytes
/// and the same sha256: unchanged files are recognised and not uploaded again.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).expect("writing to a Vec");
    e.finish().expect("writing to a Vec")
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The encodings served for a file: `identity`, and `gzip` when compressible and smaller.
pub fn encodings(content_type: &str, content: &[u8]) -> Vec<Encoding> {
    let mut out = vec![Encoding { name: "identity", bytes: content.to_vec(), sha256: sha256(content) }];
    if is_compressible(content_type) {
        let gz = gzip(content);
        if gz.len() < content.len() {
            let sha = sha256(&gz);
            out.push(Encoding { name: "gzip", bytes: gz, sha256: sha });
        }
    }
    out
}

/// Pieces of at most `max` bytes (one empty piece for empty content, so every encoding has a
/// chunk).
pub fn chunks(bytes: &[u8], max: usize) -> Vec<&[u8]> {
    assert!(max > 0, "chunk size must be positive");
    if bytes.is_empty() {
        return vec![bytes];
    }
    bytes.chunks(max).collect()
}

/// Groups of consecutive chunks whose total stays within `max` bytes (one `create_chunks` call
/// each).
pub fn chunk_groups(sizes: &[usize], max: usize) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let (mut start, mut total) = (0, 0);
    for (i, &s) in sizes.iter().enumerate() {
        if i > start && total + s > max {
            groups.push(start..i);
            start = i;
            total = 0;
        }
        total += s;
    }
    if start < sizes.len() {
        groups.push(start..sizes.len());
    }
    groups
}

/// The files of a built web app: every file under `dir` as `/<relative path>` (`/` separators),
/// then `extra` (which wins over a file of the same key). Hidden files (`.name`) are left out.
pub fn collect_dir(dir: &Path, extra: &[(String, Vec<u8>)]) -> anyhow::Result<Vec<AssetFile>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> anyhow::Result<()> {
        let entries = std::fs::read_dir(dir).with_context(|| format!("reading directory {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading directory {}", dir.display()))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry.file_type().with_context(|| format!("reading {}", path.display()))?;
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = path.strip_prefix(root).expect("under the root");
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .with_context(|| format!("{} is not a UTF-8 path", path.display()))?;
                let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                out.insert(format!("/{}", parts.join("/")), bytes);
            }
        }
        Ok(())
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files)?;
    if !files.contains_key("/index.html") {
        bail!("{} has no index.html: is it a built web app (frontend/dist)?", dir.display());
    }
    for (key, bytes) in extra {
        if !key.starts_with('/') {
            bail!("extra asset key {key:?} must start with '/'");
        }
        files.insert(key.clone(), bytes.clone());
    }
    Ok(files.into_iter().map(|(key, content)| AssetFile { key, content }).collect())
}

/// One encoding to upload and the asset it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingContent {
    pub key: String,
    pub encoding: Encoding,
}

/// What changes: the operations (with `SetAssetContent` chunk ids still empty, in the order of
/// `uploads`), and the encodings to upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub operations: Vec<BatchOperationKind>,
    pub uploads: Vec<PendingContent>,
    pub deleted: Vec<String>,
}

/// Compares the files with what the canister holds (`list`) and plans the batch: new assets
/// are created, assets whose content type changed are re-created, properties are (re)set on
/// every kept asset, new or changed encodings are set, encodings no longer offered are unset,
/// and assets no longer in the web app are deleted.
pub fn plan(files: &[AssetFile], existing: &[AssetDetails]) -> Plan {
    let existing: HashMap<&str, &AssetDetails> = existing.iter().map(|a| (a.key.as_str(), a)).collect();
    let mut operations = Vec::new();
    let mut uploads = Vec::new();
    for f in files {
        let ctype = content_type(&f.key);
        let cache = cache_policy(&f.key);
        let headers = (!cache.headers.is_empty()).then(|| cache.headers.clone());
        let current = existing.get(f.key.as_str()).filter(|a| a.content_type == ctype);
        if let Some(old) = existing.get(f.key.as_str()) {
            if old.content_type != ctype {
                operations.push(BatchOperationKind::DeleteAsset(DeleteAssetArguments { key: f.key.clone() }));
            }
        }
        match current {
            None => operations.push(BatchOperationKind::CreateAsset(CreateAssetArguments {
                key: f.key.clone(),
                content_type: ctype.to_string(),
                max_age: cache.max_age,
                headers: headers.clone(),
                enable_aliasing: None,
                allow_raw_access: Some(false),
            })),
            Some(_) => operations.push(BatchOperationKind::SetAssetProperties(SetAssetPropertiesArguments {
                key: f.key.clone(),
                max_age: Some(cache.max_age),
                headers: Some(headers.clone()),
                allow_raw_access: Some(Some(false)),
                is_aliased: None,
            })),
        }
        let encs = encodings(ctype, &f.content);
        for e in &encs {
            let unchanged = current.is_some_and(|a| {
                a.encodings.iter().any(|c| c.content_encoding == e.name && c.sha256.as_ref().is_some_and(|h| h.as_slice() == e.sha256.as_slice()))
            });
            if !unchanged {
                operations.push(BatchOperationKind::SetAssetContent(SetAssetContentArguments {
                    key: f.key.clone(),
                    content_encoding: e.name.to_string(),
                    chunk_ids: Vec::new(),
                    last_chunk: None,
                    sha256: Some(ByteBuf::from(e.sha256.to_vec())),
                }));
                uploads.push(PendingContent { key: f.key.clone(), encoding: e.clone() });
            }
        }
        if let Some(a) = current {
            for old in &a.encodings {
                if !encs.iter().any(|e| e.name == old.content_encoding) {
                    operations.push(BatchOperationKind::UnsetAssetContent(UnsetAssetContentArguments {
                        key: f.key.clone(),
                        content_encoding: old.content_encoding.clone(),
                    }));
                }
            }
        }
    }
    let keep: std::collections::HashSet<&str> = files.iter().map(|f| f.key.as_str()).collect();
    let mut deleted: Vec<String> = existing.keys().filter(|k| !keep.contains(*k)).map(|k| k.to_string()).collect();
    deleted.sort();
    for key in &deleted {
        operations.push(BatchOperationKind::DeleteAsset(DeleteAssetArguments { key: key.clone() }));
    }
    Plan { operations, uploads, deleted }
}

/// The evidence of a planned batch, computed as ic-certified-assets' `compute_evidence` does
/// (its `evidence.rs`): SHA-256 over each operation's tagged fields, each `SetAssetContent`
/// followed by its content. The chunking does not change it, nor does the batch id. Voters use
/// it to check a 1006 proposal against a build of their own ([`local_evidence`]).
pub fn evidence(plan: &Plan) -> [u8; 32] {
    const FALSE: u8 = 0;
    const TRUE: u8 = 1;
    const NONE: u8 = 2;
    const SOME: u8 = 3;
    const CREATE_ASSET: u8 = 4;
    const SET_ASSET_CONTENT: u8 = 5;
    const UNSET_ASSET_CONTENT: u8 = 6;
    const DELETE_ASSET: u8 = 7;
    const CLEAR: u8 = 8;
    const SET_ASSET_PROPERTIES: u8 = 9;
    fn opt_bool(h: &mut Sha256, b: Option<bool>) {
        match b {
            Some(b) => h.update([SOME, if b { TRUE } else { FALSE }]),
            None => h.update([NONE]),
        }
    }
    fn headers(h: &mut Sha256, headers: Option<&Vec<(String, String)>>) {
        match headers {
            Some(list) => {
                h.update([SOME]);
                // The canister keeps headers in a map and hashes them by sorted key.
                let map: BTreeMap<&str, &str> = list.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                for (k, v) in map {
                    h.update(k);
                    h.update(v);
                }
            }
            None => h.update([NONE]),
        }
    }
    let mut h = Sha256::new();
    let mut uploads = plan.uploads.iter();
    for op in &plan.operations {
        match op {
            BatchOperationKind::CreateAsset(a) => {
                h.update([CREATE_ASSET]);
                h.update(&a.key);
                h.update(&a.content_type);
                match a.max_age {
                    Some(m) => {
                        h.update([SOME]);
                        h.update(m.to_be_bytes());
                    }
                    None => h.update([NONE]),
                }
                headers(&mut h, a.headers.as_ref());
                opt_bool(&mut h, a.allow_raw_access);
                opt_bool(&mut h, a.enable_aliasing);
            }
            BatchOperationKind::SetAssetContent(a) => {
                h.update([SET_ASSET_CONTENT]);
                h.update(&a.key);
                h.update(&a.content_encoding);
                match &a.sha256 {
                    Some(sha) => {
                        h.update([SOME]);
                        h.update(sha);
                    }
                    None => h.update([NONE]),
                }
                let content = uploads.next().expect("one upload per SetAssetContent");
                h.update(&content.encoding.bytes);
            }
            BatchOperationKind::UnsetAssetContent(a) => {
                h.update([UNSET_ASSET_CONTENT]);
                h.update(&a.key);
                h.update(&a.content_encoding);
            }
            BatchOperationKind::DeleteAsset(a) => {
                h.update([DELETE_ASSET]);
                h.update(&a.key);
            }
            BatchOperationKind::Clear(_) => h.update([CLEAR]),
            BatchOperationKind::SetAssetProperties(a) => {
                h.update([SET_ASSET_PROPERTIES]);
                h.update(&a.key);
                match a.max_age {
                    Some(Some(m)) => {
                        h.update([SOME, SOME]);
                        h.update(m.to_be_bytes());
                    }
                    Some(None) => h.update([SOME, NONE]),
                    None => h.update([NONE]),
                }
                match &a.headers {
                    Some(inner) => {
                        h.update([SOME]);
                        headers(&mut h, inner.as_ref());
                    }
                    None => h.update([NONE]),
                }
                for b in [a.allow_raw_access, a.is_aliased] {
                    match b {
                        Some(inner) => {
                            h.update([SOME]);
                            opt_bool(&mut h, inner);
                        }
                        None => h.update([NONE]),
                    }
                }
            }
        }
    }
    h.finalize().into()
}

// ------------------------------------------------------------------ canister calls

async fn update<A: CandidType, R: CandidType + for<'de> Deserialize<'de>>(
    agent: &Agent,
    canister: Principal,
    method: &str,
    arg: &A,
) -> anyhow::Result<R> {
    let bytes = agent
        .update(&canister, method)
        .with_arg(Encode!(arg)?)
        .call_and_wait()
        .await
        .with_context(|| format!("{canister}.{method}"))?;
    Decode!(&bytes, R).with_context(|| format!("decoding the reply of {canister}.{method}"))
}

async fn query_raw(agent: &Agent, canister: Principal, method: &str, arg: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    agent.query(&canister, method).with_arg(arg).call().await.with_context(|| format!("{canister}.{method}"))
}

/// The assets on the canister (`list`).
pub async fn list(agent: &Agent, canister: Principal) -> anyhow::Result<Vec<AssetDetails>> {
    let bytes = query_raw(agent, canister, "list", Encode!()?).await?;
    Decode!(&bytes, Vec<AssetDetails>).context("decoding the reply of list")
}

/// The identity encoding of an asset, all chunks, or `None` when there is no such asset.
pub async fn get_asset(agent: &Agent, canister: Principal, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
    if !list(agent, canister).await?.iter().any(|a| a.key == key) {
        return Ok(None);
    }
    let arg = GetArg { key: key.to_string(), accept_encodings: vec!["identity".into()] };
    let bytes = query_raw(agent, canister, "get", Encode!(&arg)?).await?;
    let first = Decode!(&bytes, EncodedAsset).context("decoding the reply of get")?;
    let mut content = first.content.into_vec();
    let total: usize = first.total_length.0.try_into().context("asset length")?;
    let mut index = 1u64;
    while content.len() < total {
        let arg = GetChunkArg {
            key: key.to_string(),
            content_encoding: first.content_encoding.clone(),
            index: Nat::from(index),
            sha256: first.sha256.clone(),
        };
        let bytes = query_raw(agent, canister, "get_chunk", Encode!(&arg)?).await?;
        let chunk = Decode!(&bytes, GetChunkResponse).context("decoding the reply of get_chunk")?;
        if chunk.content.is_empty() {
            bail!("{canister}: chunk {index} of {key} is empty");
        }
        content.extend_from_slice(&chunk.content);
        index += 1;
    }
    Ok(Some(content))
}

pub async fn grant_permission(agent: &Agent, canister: Principal, to: Principal, permission: Permission) -> anyhow::Result<()> {
    update(agent, canister, "grant_permission", &GrantPermissionArguments { to_principal: to, permission }).await
}

pub async fn revoke_permission(agent: &Agent, canister: Principal, of: Principal, permission: Permission) -> anyhow::Result<()> {
    update(agent, canister, "revoke_permission", &RevokePermissionArguments { of_principal: of, permission }).await
}

pub async fn list_permitted(agent: &Agent, canister: Principal, permission: Permission) -> anyhow::Result<Vec<Principal>> {
    update(agent, canister, "list_permitted", &ListPermittedArguments { permission }).await
}

/// Creates a batch, uploads the new and changed encodings into it, and returns the batch's
/// commit arguments.
async fn prepare_batch(
    agent: &Agent,
    canister: Principal,
    dir: &Path,
    extra: &[(String, Vec<u8>)],
) -> anyhow::Result<(CommitBatchArguments, UploadSummary)> {
    let files = collect_dir(dir, extra)?;
    let existing = list(agent, canister).await?;
    let mut plan = plan(&files, &existing);
    let CreateBatchResponse { batch_id } = update(agent, canister, "create_batch", &()).await?;

    // All chunks in upload order, remembering which encoding each belongs to.
    let mut pieces: Vec<(usize, &[u8])> = Vec::new();
    for (i, u) in plan.uploads.iter().enumerate() {
        pieces.extend(chunks(&u.encoding.bytes, MAX_CHUNK_BYTES).into_iter().map(|c| (i, c)));
    }
    let sizes: Vec<usize> = pieces.iter().map(|(_, c)| c.len()).collect();
    let mut chunk_ids: Vec<Vec<Nat>> = vec![Vec::new(); plan.uploads.len()];
    for group in chunk_groups(&sizes, MAX_CHUNK_BYTES) {
        let arg = CreateChunksArg {
            batch_id: batch_id.clone(),
            content: pieces[group.clone()].iter().map(|(_, c)| ByteBuf::from(c.to_vec())).collect(),
        };
        let CreateChunksResponse { chunk_ids: ids } = update(agent, canister, "create_chunks", &arg).await?;
        if ids.len() != group.len() {
            bail!("create_chunks returned {} chunk ids for {} chunks", ids.len(), group.len());
        }
        for ((owner, _), id) in pieces[group].iter().zip(ids) {
            chunk_ids[*owner].push(id);
        }
    }
    let mut next = chunk_ids.into_iter();
    for op in &mut plan.operations {
        if let BatchOperationKind::SetAssetContent(set) = op {
            set.chunk_ids = next.next().expect("one upload per SetAssetContent");
        }
    }
    let summary = UploadSummary {
        batch_id: batch_id.clone(),
        assets: files.iter().map(|f| f.key.clone()).collect(),
        uploaded_encodings: plan.uploads.iter().map(|u| format!("{} ({})", u.key, u.encoding.name)).collect(),
        deleted: plan.deleted,
        chunks: pieces.len(),
        bytes: sizes.iter().map(|&s| s as u64).sum(),
        operations: plan.operations.len(),
    };
    Ok((CommitBatchArguments { batch_id, operations: plan.operations }, summary))
}

/// Uploads `dir` (and `extra`, e.g. a generated `/platform.json`) and commits it at once with
/// `commit_batch`: the caller needs the Commit permission.
pub async fn upload_dir(
    agent: &Agent,
    canister: Principal,
    dir: &Path,
    extra: &[(String, Vec<u8>)],
) -> anyhow::Result<UploadSummary> {
    let (args, summary) = prepare_batch(agent, canister, dir, extra).await?;
    update::<_, ()>(agent, canister, "commit_batch", &args)
        .await
        .context("committing the batch (the caller needs the Commit permission)")?;
    Ok(summary)
}

/// Uploads `dir` (and `extra`) as [`upload_dir`] does, but only proposes the batch
/// (`propose_commit_batch`) and computes its evidence: the caller needs only Prepare. The
/// batch is applied by `commit_proposed_batch { batch_id; evidence }` (SNS custom proposal
/// 1006); until then the served assets do not change.
pub async fn propose_dir(
    agent: &Agent,
    canister: Principal,
    dir: &Path,
    extra: &[(String, Vec<u8>)],
) -> anyhow::Result<ProposedBatch> {
    let (args, summary) = prepare_batch(agent, canister, dir, extra).await?;
    let batch_id = args.batch_id.clone();
    update::<_, ()>(agent, canister, "propose_commit_batch", &args)
        .await
        .context("proposing the batch (the caller needs the Prepare permission)")?;
    // The canister hashes the batch a bounded number of steps per call.
    let arg = ComputeEvidenceArguments { batch_id: batch_id.clone(), max_iterations: None };
    for _ in 0..10_000 {
        let evidence: Option<ByteBuf> = update(agent, canister, "compute_evidence", &arg).await?;
        if let Some(evidence) = evidence {
            return Ok(ProposedBatch { batch_id, evidence: evidence.into_vec(), summary });
        }
    }
    bail!("compute_evidence did not finish for batch {batch_id}")
}

/// The evidence a proposal staging `dir` (and `extra`) against the canister's current assets
/// carries, computed here without uploading anything: only `list` (a query, no permission) is
/// called. A voter builds the web app from the proposal's source and compares.
pub async fn local_evidence(
    agent: &Agent,
    canister: Principal,
    dir: &Path,
    extra: &[(String, Vec<u8>)],
) -> anyhow::Result<[u8; 32]> {
    let files = collect_dir(dir, extra)?;
    let existing = list(agent, canister).await?;
    Ok(evidence(&plan(&files, &existing)))
}

/// `validate_commit_proposed_batch`: what voters see, or why the proposal would fail.
pub async fn validate_commit_proposed_batch(
    agent: &Agent,
    canister: Principal,
    args: &CommitProposedBatchArguments,
) -> anyhow::Result<Result<String, String>> {
    update(agent, canister, "validate_commit_proposed_batch", args).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("/index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("/assets/app-1a2b.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("/assets/app-1a2b.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("/platform.json"), "application/json");
        assert_eq!(content_type("/logo.svg"), "image/svg+xml");
        assert_eq!(content_type("/assets/x.wasm"), "application/wasm");
        assert_eq!(content_type("/a.png"), "image/png");
        assert_eq!(content_type("/fonts/a.woff2"), "font/woff2");
        assert_eq!(content_type("/LICENSE"), "application/octet-stream");
        assert_eq!(content_type("/dir.d/file"), "application/octet-stream");
    }

    #[test]
    fn text_types_are_compressible_images_are_not() {
        for t in ["text/html; charset=utf-8", "text/javascript; charset=utf-8", "application/json", "image/svg+xml", "application/wasm"] {
            assert!(is_compressible(t), "{t}");
        }
        for t in ["image/png", "image/jpeg", "font/woff2", "application/octet-stream"] {
            assert!(!is_compressible(t), "{t}");
        }
    }

    #[test]
    fn gzip_is_offered_only_when_smaller_and_is_deterministic() {
        let html = "<p>hello</p>".repeat(100);
        let e = encodings(content_type("/index.html"), html.as_bytes());
        assert_eq!(e.iter().map(|e| e.name).collect::<Vec<_>>(), ["identity", "gzip"]);
        assert!(e[1].bytes.len() < html.len());
        assert_eq!(e[1].sha256, sha256(&gzip(html.as_bytes())), "same input, same gzip bytes");
        let mut d = flate2::read::GzDecoder::new(&e[1].bytes[..]);
        let mut back = String::new();
        std::io::Read::read_to_string(&mut d, &mut back).unwrap();
        assert_eq!(back, html);
        // A tiny file grows when gzipped: identity only.
        assert_eq!(encodings("text/plain", b"x").len(), 1);
        assert_eq!(encodings("image/png", &[0u8; 10_000]).len(), 1);
    }

    #[test]
    fn cache_headers() {
        let immutable = cache_policy("/assets/app-1a2b3c.js");
        assert_eq!(immutable.max_age, None);
        assert_eq!(immutable.headers, vec![("cache-control".to_string(), IMMUTABLE_CACHE_CONTROL.to_string())]);
        for key in ["/index.html", "/platform.json", "/learn/index.html"] {
            assert_eq!(cache_policy(key).headers, vec![("cache-control".to_string(), "no-cache".to_string())], "{key}");
        }
        assert_eq!(cache_policy("/favicon.ico"), CachePolicy { max_age: Some(DEFAULT_MAX_AGE_SECS), headers: vec![] });
    }

    #[test]
    fn chunking_respects_the_limit() {
        let data = vec![7u8; 2 * MAX_CHUNK_BYTES + 5];
        let c = chunks(&data, MAX_CHUNK_BYTES);
        assert_eq!(c.iter().map(|c| c.len()).collect::<Vec<_>>(), [MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, 5]);
        let empty: &[u8] = &[];
        assert_eq!(chunks(empty, MAX_CHUNK_BYTES), vec![empty]);
        assert_eq!(chunk_groups(&[10, 10, 10], 25), vec![0..2, 2..3]);
        assert_eq!(chunk_groups(&[30, 5], 25), vec![0..1, 1..2], "an oversized chunk goes alone");
        assert_eq!(chunk_groups(&[MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, 5], MAX_CHUNK_BYTES), vec![0..1, 1..2, 2..3]);
        assert!(chunk_groups(&[], 10).is_empty());
    }

    fn details(key: &str, ctype: &str, encs: &[(&str, [u8; 32])]) -> AssetDetails {
        AssetDetails {
            key: key.into(),
            content_type: ctype.into(),
            encodings: encs
                .iter()
                .map(|(n, h)| AssetEncodingDetails { content_encoding: n.to_string(), sha256: Some(ByteBuf::from(h.to_vec())), length: Nat::from(1u8) })
                .collect(),
        }
    }

    #[test]
    fn plan_creates_updates_skips_and_deletes() {
        let html = "<html>".repeat(50).into_bytes();
        let files = vec![
            AssetFile { key: "/index.html".into(), content: html.clone() },
            AssetFile { key: "/assets/app-1.js".into(), content: b"new js".to_vec() },
        ];
        // A fresh canister: everything is created and uploaded.
        let p = plan(&files, &[]);
        assert_eq!(p.uploads.len(), 3, "index.html identity+gzip, app js identity");
        assert!(matches!(&p.operations[0], BatchOperationKind::CreateAsset(a) if a.key == "/index.html" && a.allow_raw_access == Some(false)));
        // index.html unchanged, the js changed, an old asset gone.
        let gz = sha256(&gzip(&html));
        let existing = vec![
            details("/index.html", "text/html; charset=utf-8", &[("identity", sha256(&html)), ("gzip", gz)]),
            details("/assets/app-1.js", "text/javascript; charset=utf-8", &[("identity", sha256(b"old js"))]),
            details("/assets/app-0.js", "text/javascript; charset=utf-8", &[("identity", [0; 32])]),
        ];
        let p = plan(&files, &existing);
        assert_eq!(p.uploads.iter().map(|u| (u.key.as_str(), u.encoding.name)).collect::<Vec<_>>(), [("/assets/app-1.js", "identity")]);
        assert_eq!(p.deleted, ["/assets/app-0.js"]);
        assert!(p.operations.iter().all(|o| !matches!(o, BatchOperationKind::CreateAsset(_))));
        assert!(p.operations.contains(&BatchOperationKind::DeleteAsset(DeleteAssetArguments { key: "/assets/app-0.js".into() })));
        // A gzip encoding no longer offered is unset; a changed content type re-creates.
        let existing = vec![details("/assets/app-1.js", "text/javascript; charset=utf-8", &[("identity", sha256(b"new js")), ("gzip", [1; 32])])];
        let p = plan(&files[1..], &existing);
        assert!(p.uploads.is_empty());
        assert!(p.operations.contains(&BatchOperationKind::UnsetAssetContent(UnsetAssetContentArguments { key: "/assets/app-1.js".into(), content_encoding: "gzip".into() })));
        let existing = vec![details("/assets/app-1.js", "text/plain", &[("identity", sha256(b"new js"))])];
        let p = plan(&files[1..], &existing);
        assert!(matches!(&p.operations[0], BatchOperationKind::DeleteAsset(_)));
        assert!(matches!(&p.operations[1], BatchOperationKind::CreateAsset(_)));
        assert_eq!(p.uploads.len(), 1);
    }

    #[test]
    fn evidence_follows_the_content_not_the_chunking() {
        let files = vec![AssetFile { key: "/index.html".into(), content: "<html>".repeat(50).into_bytes() }];
        let p = plan(&files, &[]);
        let mut chunked = p.clone();
        for op in &mut chunked.operations {
            if let BatchOperationKind::SetAssetContent(a) = op {
                a.chunk_ids = vec![Nat::from(1u8), Nat::from(2u8)];
            }
        }
        assert_eq!(evidence(&p), evidence(&chunked));
        let changed = plan(&[AssetFile { key: "/index.html".into(), content: "<html>".repeat(51).into_bytes() }], &[]);
        assert_ne!(evidence(&p), evidence(&changed));
        assert_ne!(evidence(&p), evidence(&plan(&[], &[])));
    }

    #[test]
    fn collect_dir_walks_and_adds_extra() {
        let dir = std::env::temp_dir().join(format!("assets-collect-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<html>").unwrap();
        std::fs::write(dir.join("assets/app-1.js"), "js").unwrap();
        std::fs::write(dir.join(".DS_Store"), "x").unwrap();
        let files = collect_dir(&dir, &[("/platform.json".into(), b"{}".to_vec())]).unwrap();
        let keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["/assets/app-1.js", "/index.html", "/platform.json"]);
        std::fs::remove_file(dir.join("index.html")).unwrap();
        assert!(collect_dir(&dir, &[]).unwrap_err().to_string().contains("no index.html"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
