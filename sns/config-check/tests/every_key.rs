//! tests/fixtures/every_key.yaml uses every key of DFINITY's current example of
//! the friendly init format (tests/fixtures/dfinity_example_key_paths.txt), with
//! this project's values, and passes the checker. The key list also pins the
//! checker's structs to friendly.rs: each required key is required, each optional
//! key optional, and an unknown key is refused in every map.

use serde_yaml::Value;
use sns_config_check::{check_yaml, config, sns_dir};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture_text() -> String {
    std::fs::read_to_string(fixtures_dir().join("every_key.yaml")).expect("read every_key.yaml")
}

fn yaml_value(text: &str) -> Value {
    serde_yaml::from_str(text).expect("valid yaml")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Required,
    Optional,
    Item,
}

/// The committed key list: path -> kind.
fn reference() -> BTreeMap<String, Kind> {
    let text = std::fs::read_to_string(fixtures_dir().join("dfinity_example_key_paths.txt"))
        .expect("read dfinity_example_key_paths.txt");
    let mut paths = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (path, kind) = line.split_once(' ').unwrap_or_else(|| panic!("{line:?}: `<path> <kind>`"));
        let kind = match kind.trim() {
            "required" => Kind::Required,
            "optional" => Kind::Optional,
            "item" => Kind::Item,
            other => panic!("{line:?}: unknown kind {other:?}"),
        };
        assert_eq!(kind == Kind::Item, path.ends_with("[]"), "{line:?}: items, and only items, end in []");
        assert!(paths.insert(path.to_string(), kind).is_none(), "{path} listed twice");
    }
    paths
}

/// Every key path of a yaml document: `a.b` for key b of map a, `a[]` for an
/// element of list a (paths of all elements merged).
fn key_paths(value: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Mapping(map) => {
                for (key, child) in map {
                    let key = key.as_str().unwrap_or_else(|| panic!("{prefix}: non-string key {key:?}"));
                    let path = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
                    out.insert(path.clone());
                    walk(child, &path, out);
                }
            }
            Value::Sequence(items) => {
                let path = format!("{prefix}[]");
                for item in items {
                    out.insert(path.clone());
                    walk(item, &path, out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, "", &mut out);
    out
}

enum Step {
    Key(String),
    EachItem,
}

fn steps(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        match segment.strip_suffix("[]") {
            Some(key) => steps.extend([Step::Key(key.to_string()), Step::EachItem]),
            None => steps.push(Step::Key(segment.to_string())),
        }
    }
    steps
}

/// Calls `f` on every node at `steps` (one per list element on the way; an
/// element without an optional key is skipped). Returns how many nodes it visited.
fn visit(value: &mut Value, steps: &[Step], f: &mut dyn FnMut(&mut Value)) -> usize {
    match steps.split_first() {
        None => {
            f(value);
            1
        }
        Some((Step::Key(key), rest)) => match value.as_mapping_mut().and_then(|m| m.get_mut(key.as_str())) {
            Some(child) => visit(child, rest, f),
            None => 0,
        },
        Some((Step::EachItem, rest)) => {
            let items = value.as_sequence_mut().expect("a list");
            items.iter_mut().map(|item| visit(item, rest, f)).sum()
        }
    }
}

/// The fixture without the key at `path` (in every list element on the way).
fn fixture_without(path: &str) -> String {
    let mut value = yaml_value(&fixture_text());
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (parent, key),
        None => ("", path),
    };
    let mut removed = 0;
    visit(&mut value, &steps(parent), &mut |node| {
        removed += usize::from(node.as_mapping_mut().expect("a map").remove(key).is_some());
    });
    assert!(removed > 0, "{path}: not in the fixture");
    serde_yaml::to_string(&value).unwrap()
}

const UNKNOWN_KEY: &str = "not_in_the_friendly_format";

/// The fixture with an unknown key added to the map at `path`, or None if that
/// node is not a map.
fn fixture_with_unknown_key_in(path: &str) -> Option<String> {
    let mut value = yaml_value(&fixture_text());
    let mut is_map = true;
    let visited = visit(&mut value, &steps(path), &mut |node| match node.as_mapping_mut() {
        Some(map) => {
            map.insert(Value::from(UNKNOWN_KEY), Value::from("x"));
        }
        None => is_map = false,
    });
    assert!(visited > 0, "{path:?}: not in the fixture");
    is_map.then(|| serde_yaml::to_string(&value).unwrap())
}

#[track_caller]
fn assert_same_paths(actual: &BTreeSet<String>, expected: &BTreeSet<String>, what: &str) {
    let missing: Vec<_> = expected.difference(actual).collect();
    let extra: Vec<_> = actual.difference(expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, not in DFINITY's example {extra:?}"
    );
}

#[test]
fn the_fixture_parses_and_passes_every_check() {
    let cfg = check_yaml(&fixture_text(), &fixtures_dir())
        .unwrap_or_else(|defects| panic!("every_key.yaml has defects:\n  - {}", defects.join("\n  - ")));
    assert_eq!(cfg.principals.len(), 9);
    assert_eq!(cfg.principals[0].email.as_deref(), Some("founders@learnstake.org"));
    assert_eq!(cfg.principals[2].email, None);
    assert_eq!(cfg.distribution.initial_balances.treasury.e8s, 450_000_000 * sns_config_check::humanize::E8);
    assert!(cfg.swap.confirmation_text.is_some() && cfg.swap.start_time.is_some());
}

#[test]
fn the_fixture_uses_exactly_the_key_paths_of_dfinitys_example() {
    let expected: BTreeSet<String> = reference().into_keys().collect();
    assert_same_paths(&key_paths(&yaml_value(&fixture_text())), &expected, "every_key.yaml");
}

#[test]
fn sns_init_yaml_uses_the_current_format_and_leaves_out_only_the_principal_aliases() {
    let text = std::fs::read_to_string(sns_dir().join("sns_init.yaml")).unwrap();
    let expected: BTreeSet<String> = reference().into_keys().filter(|p| !p.starts_with("Principals")).collect();
    assert_same_paths(&key_paths(&yaml_value(&text)), &expected, "sns/sns_init.yaml");
}

#[test]
fn the_fixture_carries_the_projects_own_values() {
    let mut fixture = yaml_value(&fixture_text());
    assert!(fixture.as_mapping_mut().unwrap().remove("Principals").is_some());
    // Logo paths are relative to the yaml file; both name sns/logo.png.
    for path in ["logo", "Token.logo"] {
        let visited = visit(&mut fixture, &steps(path), &mut |logo| {
            assert_eq!(logo.as_str(), Some("../../../logo.png"), "{path}");
            *logo = Value::from("logo.png");
        });
        assert_eq!(visited, 1, "{path}");
    }
    assert_eq!(
        fixtures_dir().join("../../../logo.png").canonicalize().unwrap(),
        sns_dir().join("logo.png").canonicalize().unwrap()
    );
    let real = yaml_value(&std::fs::read_to_string(sns_dir().join("sns_init.yaml")).unwrap());
    assert_eq!(fixture, real, "every_key.yaml's values drifted from sns/sns_init.yaml's");
}

#[test]
fn each_key_is_required_or_optional_as_in_friendly_rs() {
    // Sanity: the whole fixture parses, so a failure below is the removed key's.
    config::parse(&fixture_text()).unwrap();
    let mut checked = 0;
    for (path, kind) in reference() {
        if kind == Kind::Item {
            continue;
        }
        let last = path.rsplit('.').next().unwrap();
        let parsed = config::parse(&fixture_without(&path));
        match kind {
            Kind::Required => {
                let err = parsed.err().unwrap_or_else(|| panic!("{path} is required, but the checker parses without it"));
                assert!(err.contains(&format!("missing field `{last}`")), "{path}: {err}");
            }
            Kind::Optional => {
                if let Err(err) = parsed {
                    panic!("{path} is optional, but the checker refuses the file without it: {err}");
                }
            }
            Kind::Item => unreachable!(),
        }
        checked += 1;
    }
    assert_eq!(checked, 63);
}

/// Keys friendly.rs's Swap still parses but that a proposal may no longer set
/// (validate.rs reports them as deprecated); not in the example.
const LEGACY_SWAP_KEYS: [&str; 3] = ["minimum_icp", "maximum_icp", "neurons_fund_investment_icp"];

/// The keys of the map at `path` in the reference ("" is the root).
fn child_keys(path: &str) -> BTreeSet<String> {
    let prefix = if path.is_empty() { String::new() } else { format!("{path}.") };
    reference()
        .into_keys()
        .filter_map(|p| p.strip_prefix(&prefix).map(str::to_string))
        .filter(|rest| !rest.contains('.') && !rest.ends_with("[]"))
        .collect()
}

/// The backquoted names after "expected" in serde's unknown-field error.
fn keys_named_after_expected(err: &str) -> BTreeSet<String> {
    let (_, list) = err.split_once("expected").unwrap_or_else(|| panic!("no key list in {err:?}"));
    list.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

#[test]
fn an_unknown_key_is_refused_in_every_map() {
    // The root, then every map of the example, list elements included. The CLI's
    // NnsProposal alone accepts unknown keys; the checker refuses them there too
    // (stricter, see config.rs).
    let mut maps = 0;
    for path in std::iter::once(String::new()).chain(reference().into_keys()) {
        let Some(yaml) = fixture_with_unknown_key_in(&path) else {
            continue;
        };
        let err = config::parse(&yaml).err().unwrap_or_else(|| panic!("{path:?}: an unknown key was accepted"));
        assert!(err.contains(&format!("unknown field `{UNKNOWN_KEY}`")), "{path:?}: {err}");
        // serde lists the keys the map accepts: exactly the example's, so the
        // checker knows no key that the current format lacks.
        let accepted = keys_named_after_expected(&err);
        let mut expected = child_keys(&path);
        if path == "Swap" {
            expected.extend(LEGACY_SWAP_KEYS.iter().map(|k| k.to_string()));
        }
        assert_eq!(accepted, expected, "{path:?}: the keys the checker accepts");
        maps += 1;
    }
    // root, Principals[], Token, Proposals, Neurons, Voting, MaximumVotingPowerBonuses,
    // DissolveDelay, Age, RewardRate, Distribution, Distribution.Neurons[], InitialBalances,
    // Swap, VestingSchedule, NnsProposal.
    assert_eq!(maps, 16);
}

#[test]
fn a_broken_alias_id_is_a_policy_defect_not_a_parse_error() {
    let yaml = fixture_text().replacen("- id: tf2ws-zlper", "- id: tf2ws-zlpex", 1);
    assert_ne!(yaml, fixture_text());
    // The CLI parses the aliases without reading them: the file still parses.
    config::parse(&yaml).unwrap();
    let defects = check_yaml(&yaml, &fixtures_dir()).unwrap_err();
    assert_eq!(defects.len(), 1, "{defects:#?}");
    assert!(
        defects[0].starts_with("Principals: \"tf2ws-zlpex") && defects[0].ends_with("(policy)"),
        "{defects:#?}"
    );
}
