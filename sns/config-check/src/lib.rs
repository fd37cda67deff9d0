//! Checks for the SNS launch files in `sns/`: `sns_init.yaml` (the `sns` CLI's
//! friendly format) and `custom_functions/*.json` (custom proposals to register
//! after launch). The crate holds no binary: `cargo test -p sns-config-check`
//! runs the checks on the real files and on small broken examples.

pub mod config;
pub mod custom_functions;
pub mod humanize;
pub mod validate;

use std::path::{Path, PathBuf};

/// `sns/`, the folder with `sns_init.yaml`.
pub fn sns_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sns/config-check has a parent")
        .to_path_buf()
}

/// The workspace root (with `dfx.json`).
pub fn workspace_dir() -> PathBuf {
    sns_dir().parent().expect("sns/ has a parent").to_path_buf()
}

/// Parses and validates a yaml text whose relative paths start at `base_dir`.
/// `Err` holds the parse error or every defect found.
pub fn check_yaml(yaml: &str, base_dir: &Path) -> Result<config::SnsConfigurationFile, Vec<String>> {
    let cfg = config::parse(yaml).map_err(|e| vec![format!("parse error: {e}")])?;
    let defects = validate::validate(&cfg, base_dir);
    if defects.is_empty() {
        Ok(cfg)
    } else {
        Err(defects)
    }
}
