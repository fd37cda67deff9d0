//! Checks a canister's generated Candid interface against its committed `.did` file.
//!
//! Each canister crate has a native unit test that calls
//! [`check_service`] with the output of the `__export_service()` function that
//! `ic_cdk::export_candid!()` generates. The test
//!
//! * fails when the committed file is missing or is not structurally equal to the generated
//!   interface (run `scripts/update-candid.sh` to regenerate it);
//! * fails when the generated interface is not backward compatible (a Candid subtype) with the
//!   version of the file in git `HEAD~1`; that part is skipped, with a message on stderr, when git
//!   or that revision or that file in it is not available;
//! * with `UPDATE_CANDID=1` in the environment, writes the generated interface to the file
//!   instead of comparing (an incompatibility with `HEAD~1` is then only reported on stderr).

use candid_parser::utils::{service_equal, CandidSource};
use std::path::Path;
use std::process::Command;

/// Environment variable that switches [`check_service`] from checking to writing.
pub const UPDATE_ENV: &str = "UPDATE_CANDID";

/// Breaking changes made on purpose: `(did file name, record type, field)`. The backward-
/// compatibility check treats the field as absent from that record of the `HEAD~1` interface, so
/// exactly that removal is accepted and any other incompatibility still fails. Once no `HEAD~1`
/// has the field any more, an entry is a no-op and may be deleted.
///
/// * `user_profile.did`, `QuizOutcome.correct`: a count of right answers in `submit_quiz`'s reply
///   is a scoring oracle for the answer key (issue 11). Clients built on the old interface cannot
///   decode the new reply and must be updated with the shards (the web app is).
pub const ACKNOWLEDGED_REMOVALS: &[(&str, &str, &str)] = &[("user_profile.did", "QuizOutcome", "correct")];

/// Cases added on purpose to a variant that a method returns: `(did file name, variant type,
/// case)`. Adding a case to a reply type is not backward compatible in Candid (an old client
/// cannot decode it), so every such addition is named here with why, and the check treats the
/// case as absent from the new interface. Clients must be updated with the canister (the web
/// app is). Once no `HEAD~1` lacks the case any more, an entry is a no-op and may be deleted.
///
/// * `staking_hub.did`, `RegisterError`: `ProofRequired`, `ProofNotAccepted`, `InvalidInviteCode`,
///   `InviteCodeAlreadyUsed`, `CredentialRejected`, `CredentialAlreadyUsed`: the registration
///   policy (issue 11) refuses free principals; the web app explains each case.
/// * `staking_hub.did` `RegisterError` and `user_profile.did` `ShardError`: `PlatformPaused`:
///   the platform-wide emergency pause (function 1010, issue 11) must say why nothing is accepted.
pub const ACKNOWLEDGED_VARIANT_ADDITIONS: &[(&str, &str, &str)] = &[
    ("staking_hub.did", "RegisterError", "PlatformPaused"),
    ("user_profile.did", "ShardError", "PlatformPaused"),
    ("staking_hub.did", "RegisterError", "ProofRequired"),
    ("staking_hub.did", "RegisterError", "ProofNotAccepted"),
    ("staking_hub.did", "RegisterError", "InvalidInviteCode"),
    ("staking_hub.did", "RegisterError", "InviteCodeAlreadyUsed"),
    ("staking_hub.did", "RegisterError", "CredentialRejected"),
    ("staking_hub.did", "RegisterError", "CredentialAlreadyUsed"),
    // Dust withdrawals (issue 11): `unstake` refuses amounts below the governance-set minimum
    // and withdrawals closer together than the cooldown; the web app explains both.
    ("user_profile.did", "UnstakeError", "BelowMinimum"),
    ("user_profile.did", "UnstakeError", "CoolingDown"),
    // Shard migration (issue 13): a frozen shard says why it refuses changes; the web app
    // asks the hub for the learner's shard again.
    ("user_profile.did", "ShardError", "ShardMigrating"),
    ("user_profile.did", "UnstakeError", "ShardMigrating"),
];

/// See the module documentation.
/// Checks a platform canister's generated interface against `<repo>/candid/<name>.did`.
pub fn check_platform_canister(name: &str, generated: &str) {
    // This crate lives at <repo>/canisters/platform_types.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("repository root");
    check_service(generated, &repo.join("candid").join(format!("{name}.did")));
}

pub fn check_service(generated: &str, did_path: &Path) {
    if let Err(e) = CandidSource::Text(generated).load() {
        panic!("the generated Candid interface does not parse: {e}\n{generated}");
    }
    let updating = std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1");
    if updating {
        write_if_changed(generated, did_path);
    } else {
        compare_with_committed(generated, did_path);
    }
    match previous_revision(did_path) {
        Err(why) => eprintln!(
            "candid check: skipping the backward-compatibility check of {}: {why}",
            did_path.display()
        ),
        Ok(old) => {
            let file = did_path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
            if let Err(e) = compatible_but_for_acknowledged(generated, &old, file) {
                let msg = format!(
                    "the interface of {} is not backward compatible with its version in HEAD~1: {e:#}",
                    did_path.display()
                );
                if updating {
                    eprintln!("candid check: WARNING: {msg}");
                } else {
                    panic!("{msg}");
                }
            }
        }
    }
}

/// Candid's backward-compatibility relation (`service_compatible`: new <: old), with the fields
/// of [`ACKNOWLEDGED_REMOVALS`] for `file` taken out of the old interface and the cases of
/// [`ACKNOWLEDGED_VARIANT_ADDITIONS`] taken out of the new one first.
pub fn compatible_but_for_acknowledged(new: &str, old: &str, file: &str) -> Result<(), String> {
    compatible_but_for(new, old, file, ACKNOWLEDGED_REMOVALS, ACKNOWLEDGED_VARIANT_ADDITIONS)
}

fn compatible_but_for(
    new: &str,
    old: &str,
    file: &str,
    removals: &[(&str, &str, &str)],
    additions: &[(&str, &str, &str)],
) -> Result<(), String> {
    use candid::types::{Label, TypeInner};
    let (mut env, t1) = CandidSource::Text(new).load().map_err(|e| format!("{e:#}"))?;
    let t1 = t1.ok_or("the new interface has no service")?;
    let (mut env2, t2) = CandidSource::Text(old).load().map_err(|e| format!("{e:#}"))?;
    let t2 = t2.ok_or("the old interface has no service")?;
    for (_, type_name, case) in additions.iter().filter(|(f, _, _)| *f == file) {
        if let Some(ty) = env.0.get_mut(*type_name) {
            if let TypeInner::Variant(cases) = ty.as_ref() {
                let kept = cases.iter().filter(|c| *c.id != Label::Named(case.to_string())).cloned().collect();
                *ty = TypeInner::Variant(kept).into();
            }
        }
    }
    for (_, type_name, field) in removals.iter().filter(|(f, _, _)| *f == file) {
        if let Some(ty) = env2.0.get_mut(*type_name) {
            if let TypeInner::Record(fields) = ty.as_ref() {
                let kept = fields.iter().filter(|f| *f.id != Label::Named(field.to_string())).cloned().collect();
                *ty = TypeInner::Record(kept).into();
            }
        }
    }
    let t2 = env.merge_type(env2, t2);
    candid::types::subtype::subtype(&mut Default::default(), &env, &t1, &t2).map_err(|e| format!("{e:#}"))
}

/// Checks a canister's generated interface against a (trimmed) copy of the real interface it
/// stands in for, in both directions and without Candid's special `opt` rule (which would let
/// almost anything pass):
///
/// * generated <: reference: a client of the reference interface can call the generated one
///   (every reference method exists; its requests decode, and the replies decode as the
///   reference's);
/// * reference <: generated: requests built from the generated (Rust) types decode in the real
///   canister, and its replies decode in them (every generated method exists in the reference).
pub fn check_against_reference(generated: &str, reference_path: &Path) {
    let reference = std::fs::read_to_string(reference_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", reference_path.display()));
    if let Err(e) = check_subtype_strict(generated, &reference) {
        panic!(
            "a client of the reference interface {} cannot call the generated interface: {e:#}",
            reference_path.display()
        );
    }
    if let Err(e) = check_subtype_strict(&reference, generated) {
        panic!(
            "the generated types cannot call the reference interface {}: {e:#}",
            reference_path.display()
        );
    }
}

/// `sub <: sup` for two service descriptions, failing where the special `opt` rule is needed.
pub fn check_subtype_strict(sub: &str, sup: &str) -> Result<(), String> {
    use candid::types::subtype::{subtype_with_config, OptReport};
    let (mut env, t1) = CandidSource::Text(sub).load().map_err(|e| format!("{e:#}"))?;
    let t1 = t1.ok_or("the first interface has no service")?;
    let (env2, t2) = CandidSource::Text(sup).load().map_err(|e| format!("{e:#}"))?;
    let t2 = t2.ok_or("the second interface has no service")?;
    let t2 = env.merge_type(env2, t2);
    subtype_with_config(OptReport::Error, &mut Default::default(), &env, &t1, &t2).map_err(|e| format!("{e:#}"))
}

/// The method names of the service in Candid text (e.g. a canister's `__export_service()`), for
/// tests that must cover every method of an interface.
pub fn service_method_names(did: &str) -> Vec<String> {
    let (env, actor) = CandidSource::Text(did).load().unwrap_or_else(|e| panic!("the interface does not parse: {e:#}"));
    let actor = actor.expect("the interface has a service");
    env.as_service(&actor).expect("a service type").iter().map(|(name, _)| name.to_string()).collect()
}

fn write_if_changed(generated: &str, did_path: &Path) {
    let mut text = generated.trim_end().to_string();
    text.push('\n');
    let current = std::fs::read_to_string(did_path).ok();
    if current.as_deref() == Some(text.as_str()) {
        eprintln!("candid check: {} is up to date", did_path.display());
        return;
    }
    if let Some(dir) = did_path.parent() {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    std::fs::write(did_path, text)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", did_path.display()));
    eprintln!("candid check: wrote {}", did_path.display());
}

fn compare_with_committed(generated: &str, did_path: &Path) {
    let committed = std::fs::read_to_string(did_path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run scripts/update-candid.sh to generate it",
            did_path.display()
        )
    });
    if let Err(e) = service_equal(
        CandidSource::Text(generated),
        CandidSource::Text(&committed),
    ) {
        panic!(
            "{} does not match the interface generated from the code: {e:#}\n\
             run scripts/update-candid.sh to regenerate it. Generated interface:\n{generated}",
            did_path.display()
        );
    }
    if normalize(&committed) != normalize(generated) {
        eprintln!(
            "candid check: {} is structurally equal to the generated interface but differs in text \
             (comments, order or formatting); scripts/update-candid.sh rewrites it",
            did_path.display()
        );
    }
}

fn normalize(text: &str) -> String {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of `did_path` in git revision `HEAD~1`, or why it is not available.
fn previous_revision(did_path: &Path) -> Result<String, String> {
    let dir = did_path
        .parent()
        .filter(|d| d.is_dir())
        .ok_or_else(|| format!("{} has no existing parent directory", did_path.display()))?;
    let file = did_path
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| format!("{} has no file name", did_path.display()))?;
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))
    };
    let rev = git(&["rev-parse", "--verify", "--quiet", "HEAD~1^{commit}"])?;
    if !rev.status.success() {
        return Err("the repository has no revision HEAD~1 (or this is not a git checkout)".into());
    }
    let spec = format!("HEAD~1:./{file}");
    let exists = git(&["cat-file", "-e", &spec])?;
    if !exists.status.success() {
        return Err("the file does not exist in HEAD~1".into());
    }
    let show = git(&["show", &spec])?;
    if !show.status.success() {
        return Err(format!(
            "git show {spec} failed: {}",
            String::from_utf8_lossy(&show.stderr).trim()
        ));
    }
    String::from_utf8(show.stdout).map_err(|_| "the HEAD~1 version is not UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid_parser::utils::service_compatible;

    const V1: &str = "service : { get : () -> (nat64) query }";
    const V2_COMPATIBLE: &str = "service : { get : () -> (nat64) query; put : (nat64) -> () }";

    #[test]
    fn equal_interfaces_pass_and_differences_are_detected() {
        let dir = std::env::temp_dir().join(format!("candid-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.did");
        std::fs::write(
            &path,
            "// comment\nservice : {\n  get : () -> (nat64) query;\n}\n",
        )
        .unwrap();
        compare_with_committed(V1, &path);
        let mismatch = std::panic::catch_unwind(|| compare_with_committed(V2_COMPATIBLE, &path));
        assert!(mismatch.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_strict_check_refuses_the_special_opt_rule() {
        let old = "type A = variant { a; b }; service : { f : (record { x : opt A }) -> () }";
        let fewer = "type A = variant { a }; service : { f : (record { x : opt A }) -> () }";
        // Clients sending `b` would reach `fewer` as `x = null`: compatible only through the opt rule.
        assert!(service_compatible(CandidSource::Text(fewer), CandidSource::Text(old)).is_ok());
        assert!(check_subtype_strict(fewer, old).is_err());
        assert!(check_subtype_strict(old, fewer).is_ok());
        // Leaving out an opt field is plain record subtyping.
        let with_y = "service : { g : () -> (record { x : nat; y : opt nat }) }";
        let without_y = "service : { g : () -> (record { x : nat }) }";
        assert!(check_subtype_strict(without_y, with_y).is_ok());
        assert!(check_subtype_strict(with_y, without_y).is_ok());
        assert!(check_subtype_strict(V1, V2_COMPATIBLE).is_err(), "a method is missing");
    }

    #[test]
    fn only_an_acknowledged_removal_is_accepted() {
        let old = "type QuizOutcome = record { correct : nat32; passed : bool }; \
                   service : { submit_quiz : () -> (QuizOutcome) }";
        let without = "type QuizOutcome = record { passed : bool }; service : { submit_quiz : () -> (QuizOutcome) }";
        assert!(service_compatible(CandidSource::Text(without), CandidSource::Text(old)).is_err());
        compatible_but_for_acknowledged(without, old, "user_profile.did").unwrap();
        assert!(compatible_but_for_acknowledged(without, old, "other.did").is_err(), "only for its file");
        let also_passed_gone = "type QuizOutcome = record {}; service : { submit_quiz : () -> (QuizOutcome) }";
        assert!(compatible_but_for_acknowledged(also_passed_gone, old, "user_profile.did").is_err());
        compatible_but_for_acknowledged(V2_COMPATIBLE, V1, "user_profile.did").unwrap();
        assert!(compatible_but_for_acknowledged(V1, V2_COMPATIBLE, "user_profile.did").is_err());
    }

    #[test]
    fn only_an_acknowledged_variant_addition_is_accepted() {
        let old = "type E = variant { A; B : text }; service : { f : () -> (variant { Ok; Err : E }) }";
        let added = "type E = variant { A; B : text; C : nat64 }; service : { f : () -> (variant { Ok; Err : E }) }";
        assert!(service_compatible(CandidSource::Text(added), CandidSource::Text(old)).is_err());
        let ack = [("x.did", "E", "C")];
        compatible_but_for(added, old, "x.did", &[], &ack).unwrap();
        assert!(compatible_but_for(added, old, "y.did", &[], &ack).is_err(), "only for its file");
        let two = "type E = variant { A; B : text; C : nat64; D }; service : { f : () -> (variant { Ok; Err : E }) }";
        assert!(compatible_but_for(two, old, "x.did", &[], &ack).is_err(), "only the named case");
    }

    #[test]
    fn compatibility_is_the_candid_subtype_relation() {
        assert!(
            service_compatible(CandidSource::Text(V2_COMPATIBLE), CandidSource::Text(V1)).is_ok()
        );
        assert!(
            service_compatible(CandidSource::Text(V1), CandidSource::Text(V2_COMPATIBLE)).is_err()
        );
    }
}
