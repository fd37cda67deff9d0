//! Build facts for `get_version`, set by each canister's `build.rs` as compile-time environment
//! variables:
//!
//! * `BUILD_GIT_COMMIT`: `$GIT_COMMIT` if set (a build from a source archive can name its
//!   commit), else `git rev-parse HEAD` of the crate's checkout, else `unknown`.
//! * `BUILD_COMMIT_TIME_SECS`: `$SOURCE_DATE_EPOCH` if set, else the commit time of HEAD
//!   (`git show -s --format=%ct`), else empty. Never the wall-clock time: two builds of the same
//!   commit must produce the same Wasm, so a voter can rebuild a release and compare hashes.
//!
//! The build script reruns when HEAD moves (a checkout or a commit), so the facts never go stale.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const UNKNOWN_COMMIT: &str = "unknown";

/// What a build was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildFacts {
    pub git_commit: String,
    pub commit_time_secs: Option<u64>,
}

/// Resolves the facts from the overrides (`GIT_COMMIT`, `SOURCE_DATE_EPOCH`) and, for what they
/// leave open, from `git` (`None` when not in a git checkout or git is missing).
pub fn resolve(
    commit_override: Option<&str>,
    date_override: Option<&str>,
    git: impl Fn(&[&str]) -> Option<String>,
) -> Result<BuildFacts, String> {
    let git_commit = match commit_override.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => check_commit(c)?,
        None => git(&["rev-parse", "HEAD"]).map(|c| c.trim().to_string()).unwrap_or_else(|| UNKNOWN_COMMIT.into()),
    };
    let commit_time_secs = match date_override.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => Some(d.parse::<u64>().map_err(|_| format!("SOURCE_DATE_EPOCH={d:?} is not a number of seconds"))?),
        None => git(&["show", "-s", "--format=%ct", "HEAD"]).and_then(|t| t.trim().parse().ok()),
    };
    Ok(BuildFacts { git_commit, commit_time_secs })
}

/// A commit named by hand must look like one (hex, 7 to 64 characters).
fn check_commit(commit: &str) -> Result<String, String> {
    if (7..=64).contains(&commit.len()) && commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(commit.to_ascii_lowercase())
    } else {
        Err(format!("GIT_COMMIT={commit:?} is not a hex commit id"))
    }
}

/// `git <args>` in `dir`: its trimmed output, or `None` on any failure.
pub fn run_git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").current_dir(dir).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|s| !s.is_empty())
}

/// For a build script: resolves the facts and prints the `cargo:` lines that set
/// `BUILD_GIT_COMMIT` and `BUILD_COMMIT_TIME_SECS` and rerun the script when HEAD moves. Exits
/// with an error on a malformed override.
pub fn emit() {
    println!("cargo:rerun-if-env-changed=GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo"));
    let git = |args: &[&str]| run_git(&dir, args);
    for path in files_naming_head(&git) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let facts = resolve(
        std::env::var("GIT_COMMIT").ok().as_deref(),
        std::env::var("SOURCE_DATE_EPOCH").ok().as_deref(),
        git,
    )
    .unwrap_or_else(|e| {
        eprintln!("error: build facts: {e}");
        std::process::exit(1);
    });
    println!("cargo:rustc-env=BUILD_GIT_COMMIT={}", facts.git_commit);
    println!(
        "cargo:rustc-env=BUILD_COMMIT_TIME_SECS={}",
        facts.commit_time_secs.map(|t| t.to_string()).unwrap_or_default()
    );
}

/// HEAD, the branch ref it names and packed-refs: a checkout or a commit changes one of them.
fn files_naming_head(git: &impl Fn(&[&str]) -> Option<String>) -> Vec<PathBuf> {
    let (Some(git_dir), Some(common)) =
        (git(&["rev-parse", "--absolute-git-dir"]), git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]))
    else {
        return Vec::new();
    };
    let mut files = vec![Path::new(&git_dir).join("HEAD"), Path::new(&common).join("packed-refs")];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        files.push(Path::new(&common).join(branch));
    }
    files.into_iter().filter(|f| f.exists()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_git(args: &[&str]) -> Option<String> {
        match args {
            ["rev-parse", "HEAD"] => Some("0123456789abcdef0123456789abcdef01234567\n".into()),
            ["show", "-s", "--format=%ct", "HEAD"] => Some("1764400000\n".into()),
            _ => None,
        }
    }

    #[test]
    fn the_facts_come_from_git_unless_overridden() {
        let f = resolve(None, None, fake_git).unwrap();
        assert_eq!(f.git_commit, "0123456789abcdef0123456789abcdef01234567");
        assert_eq!(f.commit_time_secs, Some(1_764_400_000));
        let f = resolve(Some("ABCDEF1"), Some("42"), fake_git).unwrap();
        assert_eq!((f.git_commit.as_str(), f.commit_time_secs), ("abcdef1", Some(42)));
    }

    #[test]
    fn outside_git_the_commit_is_unknown_and_there_is_no_time() {
        let f = resolve(None, None, |_| None).unwrap();
        assert_eq!((f.git_commit.as_str(), f.commit_time_secs), (UNKNOWN_COMMIT, None));
    }

    #[test]
    fn malformed_overrides_are_refused() {
        assert!(resolve(Some("main"), None, fake_git).unwrap_err().contains("GIT_COMMIT"));
        assert!(resolve(Some("abc"), None, fake_git).unwrap_err().contains("GIT_COMMIT"));
        assert!(resolve(None, Some("yesterday"), fake_git).unwrap_err().contains("SOURCE_DATE_EPOCH"));
    }

    #[test]
    fn this_checkout_resolves_to_its_head() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let Some(head) = run_git(&dir, &["rev-parse", "HEAD"]) else { return };
        let f = resolve(None, None, |a| run_git(&dir, a)).unwrap();
        assert_eq!(f.git_commit, head);
        assert!(f.commit_time_secs.is_some());
        assert!(files_naming_head(&|a| run_git(&dir, a)).iter().any(|p| p.ends_with("HEAD")));
    }
}
