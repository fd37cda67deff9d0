//! docs/security.md keeps an access matrix of every method of every platform canister by caller
//! class. This test fails when a method of `candid/<canister>.did` has no row in its canister's
//! table, or a row names a method the interface does not have, so a new endpoint cannot ship
//! without its access rules written down.

use platform_types::candid_check::service_method_names;
use std::collections::BTreeSet;
use std::path::Path;

const CANISTERS: &[&str] = &["staking_hub", "user_profile", "learning_content", "frontend_assets"];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repository root")
}

/// The methods named in the first column (`` | `method` | ``) of the table under
/// `### <canister>` in the "Access matrix" section.
fn documented_methods(doc: &str, canister: &str) -> BTreeSet<String> {
    let matrix = doc.split("\n## Access matrix").nth(1).expect("docs/security.md has an \"## Access matrix\" section");
    let matrix = matrix.split("\n## ").next().unwrap_or(matrix);
    let heading = format!("\n### {canister}\n");
    let section = matrix.split(heading.as_str()).nth(1).unwrap_or_else(|| panic!("no \"### {canister}\" table"));
    let section = section.split("\n### ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .flat_map(|rest| {
            let cell = rest.split(" |").next().unwrap_or_default();
            cell.split(", ").map(|m| m.trim_matches('`').to_string()).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_method_has_a_row_in_the_access_matrix() {
    let doc = std::fs::read_to_string(repo().join("docs/security.md")).expect("docs/security.md");
    for canister in CANISTERS {
        let did = std::fs::read_to_string(repo().join("candid").join(format!("{canister}.did"))).unwrap();
        let methods: BTreeSet<String> = service_method_names(&did).into_iter().collect();
        let documented = documented_methods(&doc, canister);
        let missing: Vec<_> = methods.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&methods).collect();
        assert!(missing.is_empty(), "{canister}: methods without a row in docs/security.md: {missing:?}");
        assert!(unknown.is_empty(), "{canister}: rows in docs/security.md for methods it does not have: {unknown:?}");
    }
}

#[test]
fn the_parser_reads_rows_and_groups() {
    let doc = "x\n## Access matrix\n\n### a\n\n| method | anon |\n|---|---|\n| `f`, `g` | no |\n| `h` | yes |\n\n### b\n| `z` | no |\n## Next\n| `q` | |\n";
    assert_eq!(documented_methods(doc, "a"), ["f", "g", "h"].map(String::from).into());
    assert_eq!(documented_methods(doc, "b"), ["z"].map(String::from).into());
}
