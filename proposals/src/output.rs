//! What the tool prints and writes for each proposal: the `manage_neuron` argument as Candid text
//! (re-parsed and checked to encode to the same bytes), the dfx and quill command lines, the
//! payload of a custom proposal (hex, `blob` literal, sha256, decoded text) with the validator
//! preview, and the files of `--out`.

use crate::candid_text::{self, shell_quote};
use platform_types::sns::{to_hex, Command, ManageNeuron, NeuronId, Proposal};
use std::path::{Path, PathBuf};

/// Longest Candid text put on a command line; longer arguments go through `--out` files
/// (Linux refuses a single command-line argument over 128 KiB).
pub const MAX_INLINE_TEXT_BYTES: usize = 64 * 1024;
/// An ingress message (the signed `manage_neuron` call) carries at most 2 MiB.
pub const MAX_INGRESS_BYTES: usize = 2 * 1024 * 1024;

/// The `Proposal` record as binary Candid, the file quill's `make-proposal --proposal-path` reads.
pub const PROPOSAL_BIN: &str = "proposal.bin";
/// The same `Proposal` as Candid text, for people to read (quill's `--proposal` takes this text
/// inline; `--proposal-path` does not accept it).
pub const PROPOSAL_DID: &str = "proposal.did";

/// A custom proposal's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// The Candid type of the payload (the argument of the target and validator methods).
    pub type_name: &'static str,
    pub bytes: Vec<u8>,
    /// The payload decoded as that type, as Candid text.
    pub text: String,
}

/// One proposal, ready to print.
#[derive(Clone, Debug)]
pub struct BuiltProposal {
    /// Sub-directory of `--out` when one command builds several proposals ("" otherwise).
    pub label: String,
    /// The action in a few words (`ExecuteGenericNervousSystemFunction 1000: staking_hub.set_shard_status`).
    pub action: String,
    pub topic: String,
    pub neuron: NeuronId,
    pub proposal: Proposal,
    pub payload: Option<Payload>,
    /// Heading of the preview section, and the preview.
    pub preview_heading: String,
    pub preview: String,
    /// More sections (heading, text).
    pub sections: Vec<(String, String)>,
    /// More files for `--out` (path relative to the proposal's directory, bytes).
    pub files: Vec<(String, Vec<u8>)>,
    /// Files the extra sections refer to exist only with `--out`.
    pub needs_out: Option<String>,
}

/// Everything one command produced.
#[derive(Clone, Debug, Default)]
pub struct Built {
    pub proposals: Vec<BuiltProposal>,
    pub warnings: Vec<String>,
}

/// Where and how the commands are to be run.
#[derive(Clone, Debug)]
pub struct Context {
    pub network: String,
    /// SNS governance's id, when known (`--sns-canister-ids`).
    pub governance: Option<String>,
    /// quill's `--canister-ids-file` (`--sns-canister-ids`).
    pub sns_canister_ids_file: Option<PathBuf>,
    pub out: Option<PathBuf>,
}

/// What to print and what to write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    pub stdout: String,
    pub files: Vec<(PathBuf, Vec<u8>)>,
}

fn dir_of(ctx_out: &Path, label: &str) -> PathBuf {
    if label.is_empty() {
        ctx_out.to_path_buf()
    } else {
        ctx_out.join(label)
    }
}

fn section(out: &mut String, heading: &str, body: &str) {
    out.push_str("\n--- ");
    out.push_str(heading);
    out.push('\n');
    out.push_str(body.trim_end());
    out.push('\n');
}

/// Renders every proposal, or fails without anything to print or write.
pub fn render(built: &Built, ctx: &Context) -> Result<Rendered, String> {
    let mut r = Rendered::default();
    let n = built.proposals.len();
    for (i, p) in built.proposals.iter().enumerate() {
        render_one(&mut r, p, ctx, i + 1, n)?;
    }
    Ok(r)
}

fn render_one(
    r: &mut Rendered,
    p: &BuiltProposal,
    ctx: &Context,
    i: usize,
    n: usize,
) -> Result<(), String> {
    if let (Some(why), None) = (&p.needs_out, &ctx.out) {
        return Err(format!("{why}: pass --out <dir>"));
    }
    let mn = ManageNeuron::make_proposal(&p.neuron, p.proposal.clone());
    let (mn_bytes, mn_text) = candid_text::to_checked_text(&mn)?;
    let (_, proposal_text) = candid_text::to_checked_text(&p.proposal)?;
    // quill's `make-proposal --proposal-path F` reads F as the binary Candid encoding of one
    // `Proposal` (`Decode!(&fs::read(F)?, Proposal)`), not as Candid text.
    let proposal_bin = candid::encode_one(&p.proposal)
        .map_err(|e| format!("internal error: cannot encode the proposal: {e}"))?;
    if candid_text::decode::<Proposal>(&proposal_bin)? != p.proposal {
        return Err("internal error: proposal.bin does not decode back to the proposal".into());
    }
    // What governance will decode.
    let decoded: ManageNeuron = candid_text::decode(&mn_bytes)?;
    match decoded.command {
        Some(Command::MakeProposal(ref back))
            if *back == p.proposal && decoded.subaccount == p.neuron.id => {}
        _ => {
            return Err(
                "internal error: the manage_neuron argument does not decode back to the proposal"
                    .into(),
            )
        }
    }
    if mn_bytes.len() >= MAX_INGRESS_BYTES {
        return Err(format!(
            "the manage_neuron argument is {} bytes; an ingress message carries at most {MAX_INGRESS_BYTES} bytes",
            mn_bytes.len()
        ));
    }
    let inline = mn_text.len() <= MAX_INLINE_TEXT_BYTES;
    if !inline && ctx.out.is_none() {
        return Err(format!(
            "the manage_neuron argument is {} bytes of Candid text, too long for a command line: pass --out <dir> to write it to files",
            mn_text.len()
        ));
    }
    let dir = ctx.out.as_ref().map(|o| dir_of(o, &p.label));
    let path_of = |f: &str| dir.as_ref().map(|d| d.join(f).display().to_string());

    let out = &mut r.stdout;
    out.push_str(&format!("=== Proposal {i}/{n}: {}\n", p.proposal.title));
    out.push_str(&format!("Action:  {}\n", p.action));
    out.push_str(&format!("Topic:   {}\n", p.topic));
    out.push_str(&format!("Neuron:  {}\n", p.neuron));
    if !p.proposal.url.is_empty() {
        out.push_str(&format!("URL:     {}\n", p.proposal.url));
    }
    section(out, &p.preview_heading, &p.preview);
    if let Some(payload) = &p.payload {
        let body = format!(
            "sha256 (governance shows it with the validator's rendering): {}\nCandid: {}\nhex: {}\nCandid blob: {}",
            to_hex(&crate::upgrade::sha256(&payload.bytes)),
            payload.text.trim(),
            hex::encode(&payload.bytes),
            candid_text::blob_literal(&payload.bytes),
        );
        section(
            out,
            &format!(
                "Payload ({}, {} bytes)",
                payload.type_name,
                payload.bytes.len()
            ),
            &body,
        );
    }
    for (heading, body) in &p.sections {
        // Sections name the proposal's --out directory as <OUT>.
        let body = match &dir {
            Some(d) => body.replace("<OUT>", &d.display().to_string()),
            None => body.clone(),
        };
        section(out, heading, &body);
    }
    if inline {
        section(out, "manage_neuron argument (Candid)", &mn_text);
    } else {
        section(
            out,
            "manage_neuron argument (Candid)",
            &format!(
                "{} bytes of Candid text, written to {}",
                mn_text.len(),
                path_of("manage_neuron.did").unwrap_or_default()
            ),
        );
    }

    let governance = ctx
        .governance
        .clone()
        .unwrap_or_else(|| "<SNS_GOVERNANCE_ID>".into());
    let network = format!(" --network {}", ctx.network);
    let mut dfx = String::new();
    if inline {
        dfx.push_str(&format!(
            "dfx canister{network} call {governance} manage_neuron {}\n",
            shell_quote(&mn_text)
        ));
    }
    if let Some(f) = path_of("manage_neuron.did") {
        dfx.push_str(&format!(
            "dfx canister{network} call {governance} manage_neuron --argument-file {}\n",
            shell_quote(&f)
        ));
    }
    dfx.push_str("(the caller must be a principal with the neuron's submit-proposal permission; the reply holds the proposal id)");
    section(out, "Submit with dfx", &dfx);

    let ids_file = ctx
        .sns_canister_ids_file
        .as_ref()
        .map(|p| shell_quote(&p.display().to_string()))
        .unwrap_or_else(|| "sns_canister_ids.json".into());
    let quill = format!("quill sns --canister-ids-file {ids_file} --pem-file <IDENTITY.pem>");
    let mut q = String::new();
    if proposal_text.len() <= MAX_INLINE_TEXT_BYTES {
        q.push_str(&format!(
            "{quill} make-proposal {} --proposal {} > message.json\n",
            p.neuron,
            shell_quote(&proposal_text)
        ));
    }
    if let Some(f) = path_of(PROPOSAL_BIN) {
        q.push_str(&format!(
            "{quill} make-proposal {} --proposal-path {} > message.json\n",
            p.neuron,
            shell_quote(&f)
        ));
    }
    q.push_str("quill send message.json");
    section(out, "Submit with quill (signs offline, then sends)", &q);

    let vote = format!(
        "{quill} register-vote {} --proposal-id <PROPOSAL_ID> --vote y > vote.json && quill send vote.json\n\
         dfx canister{network} call {governance} manage_neuron '(record {{ subaccount = {}; command = opt variant {{ RegisterVote = record {{ vote = 1 : int32; proposal = opt record {{ id = <PROPOSAL_ID> : nat64 }} }} }} }})'\n\
         (vote = 1 yes, 2 no; `--vote n` with quill)",
        p.neuron,
        candid_text::blob_literal(&p.neuron.id),
    );
    section(out, "Vote", &vote);
    if let Some(d) = &dir {
        let mut files = vec![
            "manage_neuron.did",
            "manage_neuron.bin",
            PROPOSAL_BIN,
            PROPOSAL_DID,
        ];
        if p.payload.is_some() {
            files.push("payload.bin");
        }
        let mut list: Vec<String> = files
            .iter()
            .map(|f| d.join(f).display().to_string())
            .collect();
        list.extend(p.files.iter().map(|(f, _)| d.join(f).display().to_string()));
        section(out, "Files written", &list.join("\n"));
    }
    out.push('\n');

    if let Some(d) = dir {
        r.files.push((
            d.join("manage_neuron.did"),
            format!("{mn_text}\n").into_bytes(),
        ));
        r.files.push((d.join("manage_neuron.bin"), mn_bytes));
        r.files.push((d.join(PROPOSAL_BIN), proposal_bin));
        r.files.push((
            d.join(PROPOSAL_DID),
            format!("{proposal_text}\n").into_bytes(),
        ));
        if let Some(payload) = &p.payload {
            r.files.push((d.join("payload.bin"), payload.bytes.clone()));
        }
        for (f, bytes) in &p.files {
            r.files.push((d.join(f), bytes.clone()));
        }
    }
    Ok(())
}

/// Writes the files (after everything was checked). An existing `--out` must be a directory.
pub fn write_files(files: &[(PathBuf, Vec<u8>)]) -> Result<(), String> {
    for (path, bytes) in files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Checks up front that `--out` can be a directory.
pub fn check_out_dir(out: &Path) -> Result<(), String> {
    if out.exists() && !out.is_dir() {
        return Err(format!(
            "--out {}: exists and is not a directory",
            out.display()
        ));
    }
    Ok(())
}
