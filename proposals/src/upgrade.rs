//! `UpgradeSnsControlledCanister` for staking_hub, learning_content and frontend_assets: the Wasm
//! checks, the upgrade argument, and the chunked form for Wasm too large for one proposal.
//!
//! frontend_assets (DFINITY's `ic-certified-assets`) takes `opt AssetCanisterArgs` in both `init`
//! and `post_upgrade`: the `Upgrade` case for an upgrade, `Init` for a reinstall (the library traps
//! on the other one). It has no governance id: its permissions are its access control.
//!
//! Rules (SNS governance, `proposal.rs`): the Wasm starts with `\0asm` or the gzip magic
//! `1f 8b 08`; `new_canister_wasm.len() + canister_upgrade_arg.len() < 2,000,000`; a larger
//! module is uploaded beforehand, in chunks of at most 1 MiB, to the chunk store of a *store
//! canister* (on the target's subnet, controlled by SNS root), and the proposal carries an empty
//! `new_canister_wasm` and `chunked_canister_wasm = { wasm_module_hash; store_canister_id;
//! chunk_hashes_list }`.

use crate::candid_text;
use candid::types::{CandidType, Type};
use candid::Principal;
use platform_types::sns::{
    ChunkedCanisterWasm, InstallModeCode, UpgradeSnsControlledCanister, GZIP_MAGIC,
    MAX_INSTALL_CODE_WASM_AND_ARG_SIZE, WASM_MAGIC,
};
use icrc_ledger::types::LedgerArgument;
use platform_types::assets::AssetCanisterArgs;
use platform_types::{ContentInitArgs, ContentUpgradeArgs, HubInitArgs, HubUpgradeArgs};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use std::io::Read;

/// Chunk size of the IC's chunk store.
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// A decompressed module larger than this is refused (the IC's limit is far below).
pub const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    StakingHub,
    LearningContent,
    FrontendAssets,
    /// The platform's ICRC ledger (an SNS dapp canister controlled by root): DFINITY's ledger
    /// takes `LedgerArgument` in `init` and `post_upgrade` (`Upgrade` for an upgrade).
    RewardLedger,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::StakingHub => "staking_hub",
            Target::LearningContent => "learning_content",
            Target::FrontendAssets => "frontend_assets",
            Target::RewardLedger => "reward_ledger",
        }
    }

    /// The Candid type of the argument for `mode`, and its name.
    pub fn arg_type(self, mode: Mode) -> (Type, &'static str) {
        match (self, mode) {
            (Target::StakingHub, Mode::Upgrade) => {
                (Option::<HubUpgradeArgs>::ty(), "opt HubUpgradeArgs")
            }
            (Target::LearningContent, Mode::Upgrade) => {
                (Option::<ContentUpgradeArgs>::ty(), "opt ContentUpgradeArgs")
            }
            (Target::StakingHub, Mode::Reinstall) => (HubInitArgs::ty(), "HubInitArgs"),
            (Target::LearningContent, Mode::Reinstall) => {
                (ContentInitArgs::ty(), "ContentInitArgs")
            }
            (Target::FrontendAssets, _) => {
                (Option::<AssetCanisterArgs>::ty(), "opt AssetCanisterArgs")
            }
            (Target::RewardLedger, _) => (LedgerArgument::ty(), "LedgerArgument"),
        }
    }

    /// The text of an encoded argument (also checks that it decodes as the expected type).
    pub fn arg_text(self, mode: Mode, bytes: &[u8]) -> Result<String, String> {
        let (_, name) = self.arg_type(mode);
        let r = match (self, mode) {
            (Target::StakingHub, Mode::Upgrade) => {
                decode_and_print::<Option<HubUpgradeArgs>>(bytes)
            }
            (Target::LearningContent, Mode::Upgrade) => {
                decode_and_print::<Option<ContentUpgradeArgs>>(bytes)
            }
            (Target::StakingHub, Mode::Reinstall) => decode_and_print::<HubInitArgs>(bytes),
            (Target::LearningContent, Mode::Reinstall) => {
                decode_and_print::<ContentInitArgs>(bytes)
            }
            (Target::FrontendAssets, _) => check_asset_args_case(mode, bytes)
                .and_then(|()| decode_and_print::<Option<AssetCanisterArgs>>(bytes)),
            (Target::RewardLedger, _) => check_ledger_args_case(bytes)
                .and_then(|()| decode_and_print::<LedgerArgument>(bytes)),
        };
        let text = r.map_err(|e| {
            format!(
                "the upgrade argument is not a Candid `({name})` for {}: {e}",
                self.name()
            )
        })?;
        // Decoded above, so these decode too.
        let governance = match (self, mode) {
            (Target::StakingHub, Mode::Upgrade) => candid::decode_one::<Option<HubUpgradeArgs>>(bytes)
                .map_err(|e| e.to_string())?
                .map(|a| a.sns_governance_id),
            (Target::LearningContent, Mode::Upgrade) => candid::decode_one::<Option<ContentUpgradeArgs>>(bytes)
                .map_err(|e| e.to_string())?
                .map(|a| a.sns_governance_id),
            _ => None,
        };
        check_governance_change(self, governance)
            .map_err(|e| format!("the upgrade argument of {}: {e}", self.name()))?;
        Ok(text)
    }

    /// `opt record { sns_governance_id = opt <id> }` of the target.
    pub fn set_governance_arg(self, governance: Principal) -> Result<Vec<u8>, String> {
        match self {
            Target::FrontendAssets => Err(FRONTEND_ASSETS_NO_GOVERNANCE.into()),
            Target::RewardLedger => Err(REWARD_LEDGER_NO_GOVERNANCE.into()),
            Target::StakingHub => candid_text::encode(&Some(HubUpgradeArgs {
                sns_governance_id: Some(governance),
                icp_refill: None,
            })),
            Target::LearningContent => candid_text::encode(&Some(ContentUpgradeArgs {
                sns_governance_id: Some(governance),
            })),
        }
    }
}

/// Why `--set-governance` is refused for frontend_assets.
pub const FRONTEND_ASSETS_NO_GOVERNANCE: &str =
    "--set-governance does not apply to frontend_assets: the asset canister has no governance id, \
     its permissions are its access control (SNS governance holds Commit). Give an \
     `(opt variant { Upgrade = record { set_permissions = ... } })` with --arg-candid to reset them, \
     or no argument";

/// Why `--set-governance` is refused for reward_ledger.
pub const REWARD_LEDGER_NO_GOVERNANCE: &str =
    "--set-governance does not apply to reward_ledger: the ledger has no governance id (its minting account is \
     staking_hub). Give `(variant { Upgrade = opt record { ... } })` with --arg-candid, or no argument \
     (then `(variant { Upgrade = null })`)";

/// The argument of a reward-ledger upgrade when none is given: keep every setting.
pub fn ledger_upgrade_without_changes() -> Result<Vec<u8>, String> {
    candid_text::encode(&LedgerArgument::Upgrade(None))
}

/// reward_ledger: the ledger's `post_upgrade` traps on `Init`, and the tool never reinstalls a
/// ledger (that would erase every balance).
fn check_ledger_args_case(bytes: &[u8]) -> Result<(), String> {
    match candid::decode_one::<LedgerArgument>(bytes) {
        Ok(LedgerArgument::Init(_)) => Err(
            "the case must be `Upgrade` (`variant { Upgrade = opt record { ... } }`): the ledger's post_upgrade \
             traps on `Init`"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// frontend_assets: `init` traps on `Upgrade` and `post_upgrade` on `Init`, so the case must
/// follow the mode (`null` is fine for both).
fn check_asset_args_case(mode: Mode, bytes: &[u8]) -> Result<(), String> {
    let Ok(Some(args)) = candid::decode_one::<Option<AssetCanisterArgs>>(bytes) else {
        return Ok(()); // `null`, or not this type: decode_and_print says what is wrong.
    };
    match (mode, args) {
        (Mode::Upgrade, AssetCanisterArgs::Init(_)) => Err(
            "with --mode upgrade the case must be `Upgrade` (`opt variant { Upgrade = record { ... } }`): \
             the asset canister's post_upgrade traps on `Init`, so the upgrade would fail"
                .into(),
        ),
        (Mode::Reinstall, AssetCanisterArgs::Upgrade(_)) => Err(
            "with --mode reinstall the case must be `Init` (`opt variant { Init = record { ... } }`): \
             the asset canister's init traps on `Upgrade`, so the reinstall would fail"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// The upgrade argument's `sns_governance_id` (`None`: no record) as the canister's
/// `post_upgrade` applies it. The anonymous principal would hand the governance-only methods to
/// anyone (staking_hub stores it as given); learning_content traps on it and on a record that
/// sets nothing, so such an upgrade would fail after the vote.
fn check_governance_change(target: Target, governance: Option<Option<Principal>>) -> Result<(), String> {
    match governance {
        Some(Some(id)) if id == Principal::anonymous() => {
            Err("sns_governance_id must not be the anonymous principal".into())
        }
        Some(None) if target == Target::LearningContent => Err(
            "the record sets nothing (a misspelt field name?), which learning_content's post_upgrade refuses, \
             so the upgrade would fail: give no argument (or null) to keep everything"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// Decodes `bytes` as exactly one `T`, refusing what Candid's decoding would silently drop (extra
/// arguments, extra record fields, a mistyped `opt` that decodes as `null`), and prints it.
fn decode_and_print<T: CandidType + serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<String, String> {
    let untyped = candid::IDLArgs::from_bytes(bytes).map_err(|e| e.to_string())?;
    if untyped.args.len() != 1 {
        return Err(format!(
            "expected exactly one argument, got {}",
            untyped.args.len()
        ));
    }
    let value: T = candid::decode_one(bytes).map_err(|e| e.to_string())?;
    let again =
        candid::IDLArgs::from_bytes(&candid_text::encode(&value)?).map_err(|e| e.to_string())?;
    let same = covers(&again.args[0], &untyped.args[0])
        || (untyped.args[0] == candid::IDLValue::Null && again.args[0] == candid::IDLValue::None);
    if !same {
        return Err(format!(
            "it decodes only partially (as {}): {} was given",
            again, untyped
        ));
    }
    candid_text::bytes_to_text::<T>(bytes)
}

/// Whether `decoded` (the value re-encoded from the type) says everything `given` says: equal,
/// except that a record may lack `opt` fields the type has (Candid reads an absent `opt` field
/// as `null`, so an argument written for an older interface is still whole).
fn covers(decoded: &candid::IDLValue, given: &candid::IDLValue) -> bool {
    use candid::IDLValue::*;
    match (decoded, given) {
        (Record(d), Record(g)) => {
            g.iter().all(|gf| d.iter().any(|df| df.id == gf.id && covers(&df.val, &gf.val)))
                && d.iter().all(|df| g.iter().any(|gf| gf.id == df.id) || matches!(df.val, None | Null))
        }
        (Opt(d), Opt(g)) => covers(d, g),
        (Variant(d), Variant(g)) => d.0.id == g.0.id && covers(&d.0.val, &g.0.val),
        (Vec(d), Vec(g)) => d.len() == g.len() && d.iter().zip(g).all(|(d, g)| covers(d, g)),
        (d, g) => d == g,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Upgrade,
    Reinstall,
}

impl Mode {
    pub fn code(self) -> i32 {
        match self {
            Mode::Upgrade => InstallModeCode::Upgrade as i32,
            Mode::Reinstall => InstallModeCode::Reinstall as i32,
        }
    }
}

/// What the Wasm file is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WasmInfo {
    pub gzipped: bool,
    pub len: usize,
    /// sha256 of the file: the module hash governance shows and the IC reports.
    pub sha256: [u8; 32],
    /// Size and sha256 of the decompressed module (gzip only).
    pub decompressed: Option<(usize, [u8; 32])>,
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Checks the magic bytes (and, for gzip, that it decompresses to a Wasm module).
pub fn check_wasm(bytes: &[u8]) -> Result<WasmInfo, String> {
    let module_header = |m: &[u8]| -> Result<(), String> {
        if m.len() < 8 || !m.starts_with(WASM_MAGIC) {
            return Err("does not start with the Wasm magic bytes \\0asm".into());
        }
        if m[4..8] != [1, 0, 0, 0] {
            return Err(format!("Wasm version {:?} is not 1", &m[4..8]));
        }
        Ok(())
    };
    if bytes.starts_with(GZIP_MAGIC) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_DECOMPRESSED_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("--wasm: the gzip data is broken: {e}"))?;
        if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
            return Err(format!(
                "--wasm: decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes"
            ));
        }
        module_header(&out).map_err(|e| format!("--wasm: the gzipped module {e}"))?;
        Ok(WasmInfo {
            gzipped: true,
            len: bytes.len(),
            sha256: sha256(bytes),
            decompressed: Some((out.len(), sha256(&out))),
        })
    } else if bytes.starts_with(WASM_MAGIC) {
        module_header(bytes).map_err(|e| format!("--wasm: the module {e}"))?;
        Ok(WasmInfo {
            gzipped: false,
            len: bytes.len(),
            sha256: sha256(bytes),
            decompressed: None,
        })
    } else {
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        Err(format!(
            "--wasm: not a Wasm module: it must start with the Wasm magic bytes 00 61 73 6d (\\0asm) or the gzip magic bytes 1f 8b 08, it starts with {}",
            if head.is_empty() { "nothing (empty file)".to_string() } else { head.join(" ") }
        ))
    }
}

/// One chunk to upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub sha256: [u8; 32],
}

pub fn split_chunks(wasm: &[u8]) -> Vec<Chunk> {
    wasm.chunks(CHUNK_BYTES)
        .map(|c| Chunk {
            bytes: c.to_vec(),
            sha256: sha256(c),
        })
        .collect()
}

/// `upload_chunk`'s argument on the management canister.
#[derive(candid::CandidType, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UploadChunkArgs {
    pub canister_id: Principal,
    #[serde(with = "serde_bytes")]
    pub chunk: Vec<u8>,
}

/// The action, inline or chunked.
pub fn build_action(
    canister_id: Principal,
    mode: Mode,
    wasm: &[u8],
    arg: Option<Vec<u8>>,
    chunked: Option<(Principal, &[Chunk])>,
) -> Result<UpgradeSnsControlledCanister, String> {
    let arg_len = arg.as_ref().map_or(0, Vec::len);
    let total = wasm.len() + arg_len;
    let chunked_canister_wasm = match chunked {
        None => {
            if total >= MAX_INSTALL_CODE_WASM_AND_ARG_SIZE {
                return Err(format!(
                    "the Wasm ({} bytes) and the upgrade argument ({arg_len} bytes) together are {total} bytes; \
                     SNS governance takes less than {MAX_INSTALL_CODE_WASM_AND_ARG_SIZE} bytes in one proposal. \
                     Upload the Wasm in chunks instead: add --chunked --store-canister <principal> --out <dir>",
                    wasm.len()
                ));
            }
            None
        }
        Some((store, chunks)) => {
            if arg_len >= MAX_INSTALL_CODE_WASM_AND_ARG_SIZE {
                return Err(format!("the upgrade argument must be smaller than {MAX_INSTALL_CODE_WASM_AND_ARG_SIZE} bytes"));
            }
            Some(ChunkedCanisterWasm {
                wasm_module_hash: sha256(wasm).to_vec(),
                store_canister_id: Some(store),
                chunk_hashes_list: chunks
                    .iter()
                    .map(|c| ByteBuf::from(c.sha256.to_vec()))
                    .collect(),
            })
        }
    };
    Ok(UpgradeSnsControlledCanister {
        new_canister_wasm: if chunked_canister_wasm.is_some() {
            Vec::new()
        } else {
            wasm.to_vec()
        },
        chunked_canister_wasm,
        mode: Some(mode.code()),
        canister_id: Some(canister_id),
        canister_upgrade_arg: arg.map(ByteBuf::from),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// The smallest Wasm module (magic + version), with `pad` bytes of a custom section.
    pub(crate) fn wasm_module(pad: usize) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        if pad > 0 {
            // custom section 0: LEB128 size, name "p", payload.
            let payload_len = 2 + pad;
            m.push(0);
            let mut n = payload_len;
            loop {
                let b = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    m.push(b);
                    break;
                }
                m.push(b | 0x80);
            }
            m.extend_from_slice(&[1, b'p']);
            m.extend(std::iter::repeat_n(0xAB, pad));
        }
        m
    }

    pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn wasm_magic_is_checked() {
        let raw = wasm_module(10);
        assert!(!check_wasm(&raw).unwrap().gzipped);
        let gz = gzip(&raw);
        let info = check_wasm(&gz).unwrap();
        assert!(info.gzipped);
        assert_eq!(info.decompressed.unwrap().0, raw.len());
        assert_eq!(info.sha256, sha256(&gz));
        assert!(check_wasm(b"\x7fELF....").unwrap_err().contains("magic"));
        assert!(check_wasm(b"").unwrap_err().contains("empty"));
        assert!(check_wasm(&gzip(b"not wasm at all"))
            .unwrap_err()
            .contains("gzipped module"));
        assert!(check_wasm(b"\0asm\x02\0\0\0")
            .unwrap_err()
            .contains("version"));
        assert!(check_wasm(&gz[..gz.len() - 12]).is_err(), "truncated gzip");
    }

    #[test]
    fn the_size_limit_holds_for_wasm_and_arg_together() {
        let id = Principal::from_slice(&[1; 10]);
        let wasm = vec![0u8; MAX_INSTALL_CODE_WASM_AND_ARG_SIZE - 10];
        build_action(id, Mode::Upgrade, &wasm, Some(vec![0; 9]), None).unwrap();
        let e = build_action(id, Mode::Upgrade, &wasm, Some(vec![0; 10]), None).unwrap_err();
        assert!(e.contains("--chunked"), "{e}");
        let chunks = split_chunks(&wasm);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].bytes.len(), CHUNK_BYTES);
        let store = Principal::from_slice(&[2; 10]);
        let u = build_action(
            id,
            Mode::Upgrade,
            &wasm,
            Some(vec![0; 10]),
            Some((store, &chunks)),
        )
        .unwrap();
        assert!(u.new_canister_wasm.is_empty());
        let c = u.chunked_canister_wasm.unwrap();
        assert_eq!(c.wasm_module_hash, sha256(&wasm).to_vec());
        assert_eq!(c.chunk_hashes_list.len(), 2);
        assert_eq!(
            c.chunk_hashes_list[1].as_slice(),
            sha256(&wasm[CHUNK_BYTES..])
        );
    }

    #[test]
    fn upgrade_args_are_typed() {
        let gov = Principal::from_slice(&[3; 10]);
        let bytes = Target::StakingHub.set_governance_arg(gov).unwrap();
        let text = Target::StakingHub.arg_text(Mode::Upgrade, &bytes).unwrap();
        assert!(text.contains("sns_governance_id = opt principal"), "{text}");
        assert!(Target::StakingHub
            .arg_text(Mode::Reinstall, &bytes)
            .is_err());
        assert!(Target::LearningContent
            .arg_text(Mode::Upgrade, b"not candid")
            .is_err());
        assert!(Target::StakingHub
            .arg_text(Mode::Upgrade, &candid::encode_args((1u8, 2u8)).unwrap())
            .is_err());
    }

    #[test]
    fn governance_changes_the_canisters_would_refuse_or_misapply_are_refused() {
        let anonymous = Some(Principal::anonymous());
        for t in [Target::StakingHub, Target::LearningContent] {
            let e = t.arg_text(Mode::Upgrade, &t.set_governance_arg(Principal::anonymous()).unwrap()).unwrap_err();
            assert!(e.contains("must not be the anonymous principal"), "{e}");
            t.arg_text(Mode::Upgrade, &candid::encode_one(None::<ContentUpgradeArgs>).unwrap()).unwrap();
        }
        let hub = candid::encode_one(Some(HubUpgradeArgs { sns_governance_id: anonymous, icp_refill: None })).unwrap();
        assert!(Target::StakingHub.arg_text(Mode::Upgrade, &hub).is_err());
        // learning_content's post_upgrade traps on a record that sets nothing; the hub keeps everything.
        let empty = candid::encode_one(Some(ContentUpgradeArgs { sns_governance_id: None })).unwrap();
        let e = Target::LearningContent.arg_text(Mode::Upgrade, &empty).unwrap_err();
        assert!(e.contains("sets nothing") && e.contains("learning_content"), "{e}");
        // Written for the hub's older interface (no `icp_refill`): the absent `opt` field is null.
        Target::StakingHub.arg_text(Mode::Upgrade, &empty).unwrap();
        // An extra field is still refused: the hub would drop it silently.
        let extra = candid::IDLArgs::from_bytes(&empty).unwrap().to_string().replace("record {", "record { shard_soft_limit = opt (5 : nat64);");
        let extra = candid_parser::parse_idl_args(&extra).unwrap().to_bytes().unwrap();
        assert!(Target::StakingHub.arg_text(Mode::Upgrade, &extra).unwrap_err().contains("decodes only partially"));
    }

    #[test]
    fn frontend_assets_takes_opt_asset_canister_args_in_the_case_of_the_mode() {
        use platform_types::assets::{InitArgs, SetPermissions};
        let t = Target::FrontendAssets;
        assert_eq!(t.name(), "frontend_assets");
        for mode in [Mode::Upgrade, Mode::Reinstall] {
            let (ty, name) = t.arg_type(mode);
            assert_eq!(name, "opt AssetCanisterArgs");
            assert_eq!(ty, Option::<AssetCanisterArgs>::ty());
        }
        let gov = Principal::from_slice(&[3; 10]);
        let upgrade = candid::encode_one(Some(AssetCanisterArgs::Upgrade(InitArgs {
            set_permissions: Some(SetPermissions {
                prepare: vec![],
                commit: vec![gov],
                manage_permissions: vec![],
            }),
        })))
        .unwrap();
        let init = candid::encode_one(Some(AssetCanisterArgs::Init(InitArgs::default()))).unwrap();
        let none = candid::encode_one(None::<AssetCanisterArgs>).unwrap();
        let text = t.arg_text(Mode::Upgrade, &upgrade).unwrap();
        assert!(text.contains("Upgrade") && text.contains(&gov.to_text()), "{text}");
        assert!(t.arg_text(Mode::Reinstall, &init).unwrap().contains("Init"));
        t.arg_text(Mode::Upgrade, &none).unwrap();
        t.arg_text(Mode::Reinstall, &none).unwrap();
        let e = t.arg_text(Mode::Upgrade, &init).unwrap_err();
        assert!(e.contains("must be `Upgrade`") && e.contains("post_upgrade traps"), "{e}");
        let e = t.arg_text(Mode::Reinstall, &upgrade).unwrap_err();
        assert!(e.contains("must be `Init`"), "{e}");
        // Another target's argument, or two arguments.
        let hub = Target::StakingHub.set_governance_arg(gov).unwrap();
        assert!(t.arg_text(Mode::Upgrade, &hub).is_err());
        assert!(t
            .arg_text(Mode::Upgrade, &candid::encode_args((None::<AssetCanisterArgs>, 1u8)).unwrap())
            .is_err());
        // No governance id to set.
        let e = t.set_governance_arg(gov).unwrap_err();
        assert!(e.contains("no governance id"), "{e}");
    }
}
