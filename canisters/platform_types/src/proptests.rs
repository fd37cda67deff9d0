//! Property tests (issue 15, hostile input) of the Candid-facing validators and the scoring
//! rule: arbitrary inputs never panic, and whatever is accepted respects the documented bounds.
//! Case counts stay modest so that `cargo test -p platform_types` stays fast; the fuzz targets
//! (fuzz/, scripts/fuzz.sh) run the same functions for longer.

use crate::answer_keys::{passes, score, AnswerKeySet, UnitAnswerKey};
use crate::units::{validate_id, validate_unit, MAX_ID_BYTES, MAX_OPTIONS, MAX_QUESTIONS, MIN_OPTIONS};
use crate::*;
use candid::Principal;
use proptest::prelude::*;

fn config_cases() -> ProptestConfig {
    ProptestConfig { cases: cases(256), failure_persistence: None, ..ProptestConfig::default() }
}

/// A u64 that is often at or next to a bound a validator checks.
fn edgy_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(HARD_CAP_E8S),
        Just(MAX_REWARD_PER_QUIZ_E8S),
        Just(MAX_REWARD_PER_QUIZ_E8S + 1),
        Just(MAX_ALLOWANCE_CHUNK_E8S),
        Just(MAX_ALLOWANCE_CHUNK_E8S + 1),
        Just(MAX_DAILY_EMISSION_BUDGET_E8S),
        Just(MAX_DAILY_EMISSION_BUDGET_E8S + 1),
        Just(MAX_MIN_WITHDRAWAL_E8S),
        Just(MAX_WITHDRAWAL_COOLDOWN_SECS + 1),
        Just(86_400),
        Just(86_401),
        Just(10_000_000),
        Just(10_000_001),
        0..1_000u64,
        1..=MAX_REWARD_PER_QUIZ_E8S,
        any::<u64>(),
    ]
}

fn edgy_u128() -> impl Strategy<Value = u128> {
    prop_oneof![
        Just(0u128),
        Just(u128::MAX),
        Just(MIN_SHARD_CYCLES - 1),
        Just(MIN_SHARD_CYCLES),
        Just(MAX_SHARD_CYCLES),
        Just(MAX_SHARD_CYCLES + 1),
        Just(MAX_SHARD_TOPUP_CYCLES),
        Just(MAX_SHARD_TOPUP_DAILY_BUDGET_CYCLES + 1),
        Just(HUB_CYCLES_RESERVE),
        Just(HUB_CYCLES_RESERVE + 1),
        Just(MAX_HUB_CYCLES_THRESHOLD),
        Just(MAX_HUB_CYCLES_THRESHOLD + 1),
        MIN_SHARD_CYCLES..=MAX_SHARD_CYCLES,
        any::<u128>(),
    ]
}

fn principal() -> impl Strategy<Value = Principal> {
    prop_oneof![
        Just(Principal::anonymous()),
        Just(Principal::management_canister()),
        (0u8..4).prop_map(|n| Principal::from_slice(&[n; 29])),
        proptest::collection::vec(any::<u8>(), 0..=29).prop_map(|b| Principal::from_slice(&b)),
    ]
}

fn principals() -> impl Strategy<Value = Option<Vec<Principal>>> {
    prop_oneof![
        6 => Just(None),
        1 => proptest::collection::btree_set(any::<[u8; 29]>(), 0..4)
            .prop_map(|set| Some(set.into_iter().map(|b| Principal::from_slice(&b)).collect())),
        1 => proptest::collection::vec(principal(), 0..70).prop_map(Some),
    ]
}

/// Near a field's default (so often accepted), or hostile.
fn near_u64(d: u64) -> BoxedStrategy<Option<u64>> {
    maybe(prop_oneof![Just(d), Just(d.saturating_sub(1)), Just(d / 2), Just(d.saturating_add(1)), edgy_u64()])
}

fn near_u128(d: u128) -> BoxedStrategy<Option<u128>> {
    maybe(prop_oneof![Just(d), Just(d.saturating_sub(1)), Just(d / 2), Just(d.saturating_add(1)), edgy_u128()])
}

/// Either the default's value or a hostile one, field by field (mostly the default, so that
/// a fair share of the overrides is accepted: see `the_generators_reach_accepted_inputs`).
fn maybe<T: std::fmt::Debug + Clone + 'static>(s: impl Strategy<Value = T> + 'static) -> BoxedStrategy<Option<T>> {
    prop_oneof![5 => Just(None), 1 => s.prop_map(Some)].boxed()
}

prop_compose! {
    fn overrides()(
        a in {
            let d = PlatformConfig::default();
            (near_u64(d.shard_soft_limit), near_u64(d.shard_hard_limit), near_u64(d.auto_scale_interval_secs),
             near_u64(d.allowance_chunk_e8s), near_u64(d.reward_per_quiz_e8s),
             maybe(prop_oneof![Just(d.daily_attempt_limit), any::<u32>()]),
             maybe(prop_oneof![Just(d.pass_mark_percent), any::<u8>()]), near_u64(d.shard_sync_interval_secs))
        },
        b in {
            let d = PlatformConfig::default();
            (near_u128(d.shard_initial_cycles), near_u128(d.shard_topup_threshold_cycles), near_u128(d.shard_topup_amount_cycles),
             near_u64(d.daily_emission_budget()), near_u128(d.shard_topup_daily_budget()), near_u64(d.min_withdrawal()),
             near_u64(d.withdrawal_cooldown()), principals())
        },
        c in {
            let d = PlatformConfig::default();
            (near_u64(d.topup_min_days_left()), near_u128(d.hub_cycles_for_new_shards()), near_u128(d.hub_cycles_for_full_topups()),
             near_u64(d.shard_memory_budget()), near_u64(d.settled_retention()), near_u64(d.inactive_archive()),
             principals(), principals())
        },
    ) -> ConfigOverrides {
        ConfigOverrides {
            shard_soft_limit: a.0,
            shard_hard_limit: a.1,
            auto_scale_interval_secs: a.2,
            allowance_chunk_e8s: a.3,
            reward_per_quiz_e8s: a.4,
            daily_attempt_limit: a.5,
            pass_mark_percent: a.6,
            shard_sync_interval_secs: a.7,
            shard_initial_cycles: b.0,
            shard_topup_threshold_cycles: b.1,
            shard_topup_amount_cycles: b.2,
            daily_emission_budget_e8s: b.3,
            shard_topup_daily_budget_cycles: b.4,
            min_withdrawal_e8s: b.5,
            withdrawal_cooldown_secs: b.6,
            shard_log_viewers: b.7,
            topup_min_days_left: c.0,
            hub_cycles_for_new_shards: c.1,
            hub_cycles_for_full_topups: c.2,
            shard_memory_budget_bytes: c.3,
            settled_retention_secs: c.4,
            inactive_archive_secs: c.5,
            user_export_readers: c.6,
            shard_subnets: c.7,
            ..ConfigOverrides::default()
        }
    }
}

fn distinct_and_named(list: &[Principal]) -> bool {
    list.iter().enumerate().all(|(i, p)| {
        *p != Principal::anonymous() && *p != Principal::management_canister() && !list[..i].contains(p)
    })
}

/// The bounds docs/operations.md and the field docs promise for a configuration in force.
fn assert_within_documented_bounds(c: &PlatformConfig) {
    assert!(1 <= c.shard_soft_limit && c.shard_soft_limit <= c.shard_hard_limit && c.shard_hard_limit <= 10_000_000);
    assert!((1..=86_400).contains(&c.auto_scale_interval_secs));
    assert!((1..=MAX_REWARD_PER_QUIZ_E8S).contains(&c.reward_per_quiz_e8s));
    assert!(c.reward_per_quiz_e8s <= c.allowance_chunk_e8s && c.allowance_chunk_e8s <= MAX_ALLOWANCE_CHUNK_E8S);
    assert!(c.reward_per_quiz_e8s <= c.daily_emission_budget() && c.daily_emission_budget() <= MAX_DAILY_EMISSION_BUDGET_E8S);
    assert!((1..=1_000).contains(&c.daily_attempt_limit));
    assert!((1..=100).contains(&c.pass_mark_percent));
    assert!((1..=86_400).contains(&c.shard_sync_interval_secs));
    assert!((MIN_SHARD_CYCLES..=MAX_SHARD_CYCLES).contains(&c.shard_initial_cycles));
    assert!((MIN_SHARD_CYCLES..=MAX_SHARD_CYCLES).contains(&c.shard_topup_threshold_cycles));
    assert!((MIN_SHARD_CYCLES..=MAX_SHARD_TOPUP_CYCLES).contains(&c.shard_topup_amount_cycles));
    assert!(c.shard_topup_amount_cycles <= c.shard_topup_daily_budget());
    assert!(c.shard_topup_daily_budget() <= MAX_SHARD_TOPUP_DAILY_BUDGET_CYCLES);
    assert!((1..=MAX_MIN_WITHDRAWAL_E8S).contains(&c.min_withdrawal()));
    assert!(c.withdrawal_cooldown() <= MAX_WITHDRAWAL_COOLDOWN_SECS);
    assert!(c.topup_min_days_left() <= MAX_TOPUP_MIN_DAYS_LEFT);
    assert!(HUB_CYCLES_RESERVE < c.hub_cycles_for_full_topups());
    assert!(c.hub_cycles_for_full_topups() <= c.hub_cycles_for_new_shards());
    assert!(c.hub_cycles_for_new_shards() <= MAX_HUB_CYCLES_THRESHOLD);
    assert!(c.shard_log_viewers().len() <= MAX_SHARD_LOG_VIEWERS && distinct_and_named(c.shard_log_viewers()));
    assert!(c.user_export_readers().len() <= MAX_USER_EXPORT_READERS && distinct_and_named(c.user_export_readers()));
    assert!(c.shard_subnets().len() <= MAX_SHARD_SUBNETS && distinct_and_named(c.shard_subnets()));
    assert!(validate_storage_config(c.shard_memory_budget(), c.settled_retention(), c.inactive_archive()).is_ok());
    // A whole day's budget of rewards fits in u64 many times over: no accounting overflow.
    assert!(c.daily_emission_budget().checked_mul(3_650).is_some());
}

/// A text that is often near what a profile validator checks.
fn profile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9._+-]{1,20}@[a-zA-Z0-9-]{1,12}\\.[a-zA-Z]{2,6}",
        " *[A-Za-z][A-Za-z ]{0,30} *",
        "\\PC{0,120}",
        any::<String>(),
        Just(String::new()),
        Just("a@b.c".to_string()),
        Just("@".to_string()),
        Just("a@.b".to_string()),
        Just("a@b.".to_string()),
        Just("a@@b.c".to_string()),
        Just("x".repeat(101)),
        Just("\u{e9}".repeat(100)),
        Just("\u{e9}".repeat(101)),
        Just(format!("{}@example.org", "a".repeat(243))),
        Just(format!("{}@example.org", "a".repeat(244))),
        Just("\u{a0}name\u{2028}".to_string()),
        Just("n\u{0}ame".to_string()),
        Just("a\u{85}@b.c".to_string()),
    ]
}

fn gender() -> impl Strategy<Value = Gender> {
    prop_oneof![Just(Gender::Female), Just(Gender::Male), Just(Gender::NonBinary), Just(Gender::PreferNotToSay)]
}

prop_compose! {
    fn profile()(email in profile_text(), name in profile_text(), education in profile_text(), gender in gender()) -> ProfileInput {
        ProfileInput { email, name, education, gender }
    }
}

fn unit_key() -> impl Strategy<Value = UnitAnswerKey> {
    (
        prop_oneof!["[a-z0-9._-]{1,10}", "\\PC{0,70}"],
        proptest::collection::vec(0u8..12, 0..55),
        proptest::collection::vec(0u8..12, 0..55),
    )
        .prop_map(|(unit_id, correct, option_counts)| UnitAnswerKey { unit_id, correct, option_counts })
}

/// A well-formed key: `n` questions, each with 2..=10 options and a correct index below.
fn valid_key() -> impl Strategy<Value = UnitAnswerKey> {
    proptest::collection::vec((MIN_OPTIONS as u8..=MAX_OPTIONS as u8).prop_flat_map(|n| (Just(n), 0..n)), 1..=MAX_QUESTIONS)
        .prop_map(|qs| UnitAnswerKey {
            unit_id: "unit-1".into(),
            option_counts: qs.iter().map(|(n, _)| *n).collect(),
            correct: qs.iter().map(|(_, k)| *k).collect(),
        })
}

fn score_key(k: &UnitAnswerKey, answers: &[u32], mark: u8) -> Result<VerifyResult, VerifyError> {
    score(k.correct.iter().map(|&c| u32::from(c)), k.option_counts.iter().map(|&c| u32::from(c)), answers, mark)
}

proptest! {
    #![proptest_config(config_cases())]

    /// Hostile overrides never panic; what is accepted is in bounds, holds every override, and
    /// survives a Candid round trip.
    #[test]
    fn config_overrides_accepted_only_within_bounds(o in overrides()) {
        let base = PlatformConfig::default();
        match o.apply_to(&base) {
            Ok(c) => {
                assert_within_documented_bounds(&c);
                prop_assert_eq!(c.validate(), Ok(()));
                for f in o.fields_unchanged(&c) {
                    prop_assert!(o.fields_set().contains(&f));
                }
                prop_assert_eq!(o.fields_unchanged(&c).len(), o.fields_set().len(), "every override is in force");
                let bytes = candid::encode_one(&c).unwrap();
                prop_assert_eq!(candid::decode_one::<PlatformConfig>(&bytes).unwrap(), c);
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
        // Governance's view of the same change never panics either.
        let _ = o.economic_fields_set();
    }

    /// Economic changes are a subset of the overrides: accepted only within bounds too.
    #[test]
    fn economic_changes_accepted_only_within_bounds(
        r in maybe(edgy_u64()), ch in maybe(edgy_u64()), b in maybe(edgy_u64()),
        i in maybe(edgy_u128()), t in maybe(edgy_u128()), a in maybe(edgy_u128()), d in maybe(edgy_u128()),
    ) {
        let changes = EconomicConfigChanges {
            reward_per_quiz_e8s: r, allowance_chunk_e8s: ch, daily_emission_budget_e8s: b,
            shard_initial_cycles: i, shard_topup_threshold_cycles: t, shard_topup_amount_cycles: a,
            shard_topup_daily_budget_cycles: d, ..EconomicConfigChanges::default()
        };
        let o = changes.as_overrides();
        prop_assert_eq!(o.economic_fields_set(), o.fields_set(), "only economic fields");
        if let Ok(c) = o.apply_to(&PlatformConfig::default()) {
            assert_within_documented_bounds(&c);
        }
    }

    /// Profiles: never a panic; an accepted one is in bounds, normalised, and accepted again
    /// unchanged (validation is idempotent, so a stored profile always re-validates).
    #[test]
    fn profiles_accepted_only_within_bounds(p in profile()) {
        if let Ok(v) = p.validated() {
            prop_assert!(v.email.len() <= MAX_EMAIL_LEN);
            prop_assert_eq!(v.email.matches('@').count(), 1);
            let (local, domain) = v.email.split_once('@').unwrap();
            prop_assert!(!local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'));
            prop_assert!(!v.email.chars().any(|c| c.is_whitespace() || c.is_control()));
            prop_assert!(!v.name.is_empty() && v.name.chars().count() <= MAX_NAME_LEN);
            prop_assert!(v.education.chars().count() <= MAX_EDUCATION_LEN);
            prop_assert!(!v.name.chars().chain(v.education.chars()).any(char::is_control));
            prop_assert_eq!(v.name.trim(), v.name.as_str());
            prop_assert_eq!(v.education.trim(), v.education.as_str());
            prop_assert_eq!(v.validated(), Ok(v.clone()), "validation is idempotent");
            // A stored profile (Candid) never grows past what one record may hold.
            prop_assert!(candid::encode_one(&v).unwrap().len() < 2_000);
        }
    }

    /// Scoring never panics; it refuses exactly wrong counts and out-of-range answers, and
    /// counts right answers within the total.
    #[test]
    fn scoring_is_total_and_bounded(
        k in unit_key(),
        answers in proptest::collection::vec(prop_oneof![0u32..12, any::<u32>()], 0..60),
        mark in any::<u8>(),
    ) {
        let malformed = answers.len() != k.option_counts.len()
            || answers.iter().zip(&k.option_counts).any(|(a, n)| *a >= u32::from(*n));
        match score_key(&k, &answers, mark) {
            Ok(v) => {
                prop_assert!(!malformed);
                prop_assert!(v.correct <= v.total);
                prop_assert_eq!(v.total as usize, answers.len());
                prop_assert_eq!(v.passed, passes(v.correct, v.total, mark));
            }
            Err(VerifyError::BadAnswers { detail }) => prop_assert!(malformed, "{}", detail),
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
        }
    }

    /// A valid key scores its own answers fully, at every pass mark; one wrong answer less.
    #[test]
    fn valid_keys_score_their_own_answers(k in valid_key(), mark in 1u8..=100, wrong in any::<prop::sample::Index>()) {
        prop_assert_eq!(k.validate(), Ok(()));
        let right: Vec<u32> = k.correct.iter().map(|&c| u32::from(c)).collect();
        let v = score_key(&k, &right, mark).unwrap();
        prop_assert_eq!((v.correct, v.total, v.passed), (right.len() as u32, right.len() as u32, true));
        let mut one_off = right.clone();
        let i = wrong.index(one_off.len());
        one_off[i] = (one_off[i] + 1) % u32::from(k.option_counts[i]);
        let v = score_key(&k, &one_off, mark).unwrap();
        prop_assert_eq!(v.correct, right.len() as u32 - 1);
        let set = AnswerKeySet { version: 1, keys: vec![k] };
        prop_assert!(set.validate().is_ok());
    }

    /// Key validation never panics, and an accepted key is scorable as documented.
    #[test]
    fn key_validation_is_total(k in unit_key()) {
        if k.validate().is_ok() {
            prop_assert!(validate_id(&k.unit_id).is_ok());
            prop_assert!(!k.correct.is_empty() && k.correct.len() <= MAX_QUESTIONS);
            prop_assert_eq!(k.correct.len(), k.option_counts.len());
            for (c, n) in k.correct.iter().zip(&k.option_counts) {
                prop_assert!(c < n && (MIN_OPTIONS..=MAX_OPTIONS).contains(&usize::from(*n)));
            }
        }
        let _ = AnswerKeySet { version: u64::MAX, keys: vec![k.clone(), k] }.validate();
    }

    /// The pass rule in integers: no overflow at the extremes, monotone in the right answers.
    #[test]
    fn the_pass_rule_is_exact(correct in any::<u32>(), total in any::<u32>(), mark in any::<u8>()) {
        let exact = u128::from(correct) * 100 >= u128::from(mark) * u128::from(total);
        prop_assert_eq!(passes(correct, total, mark), exact);
        if passes(correct, total, mark) && correct < u32::MAX {
            prop_assert!(passes(correct + 1, total, mark));
        }
    }

    /// Unit ids: accepted exactly when 1 to 64 bytes of the URL-safe set.
    #[test]
    fn unit_ids_are_url_safe(id in prop_oneof!["[A-Za-z0-9._-]{0,70}", "\\PC{0,70}", any::<String>()]) {
        let expected = !id.is_empty() && id.len() <= MAX_ID_BYTES
            && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        prop_assert_eq!(validate_id(&id).is_ok(), expected);
    }

    /// Authored units: never a panic; an accepted one has a key entry per question in range.
    #[test]
    fn unit_validation_is_total(
        id in "[a-z]{1,8}",
        questions in proptest::collection::vec((any::<String>(), proptest::collection::vec(prop_oneof!["[a-z]{1,5}", any::<String>()], 0..12)), 0..52),
        key in proptest::collection::vec(prop_oneof![0u32..12, any::<u32>()], 0..52),
        title in prop_oneof!["[A-Za-z]{1,10}", any::<String>()],
    ) {
        let input = UnitInput {
            unit: Unit {
                id, subject: "s".into(), title, body: String::new(),
                questions: questions.into_iter().map(|(text, options)| Question { text, options }).collect(),
            },
            answer_key: key,
        };
        if validate_unit(&input).is_ok() {
            prop_assert_eq!(input.answer_key.len(), input.unit.questions.len());
            for (k, q) in input.answer_key.iter().zip(&input.unit.questions) {
                prop_assert!((*k as usize) < q.options.len() && q.options.len() <= MAX_OPTIONS);
            }
        }
    }

    /// Invite code hashes from proposals: 64 hex digits exactly, round trip.
    #[test]
    fn invite_code_hashes_parse_exactly(text in prop_oneof!["[0-9a-fA-F]{60,68}", " *[0-9a-f]{64} *", any::<String>()], bytes in any::<[u8; 32]>()) {
        if let Ok(h) = parse_invite_code_hash(&text) {
            let t = text.trim();
            prop_assert_eq!(t.len(), 64);
            let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
            prop_assert_eq!(hex, t.to_ascii_lowercase());
        }
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        prop_assert_eq!(parse_invite_code_hash(&hex), Ok(bytes));
    }

    /// Arbitrary bytes never make a Candid decode of the endpoint argument types panic.
    #[test]
    fn argument_decoding_never_panics(mut bytes in proptest::collection::vec(any::<u8>(), 0..300), didl in any::<bool>()) {
        if didl {
            bytes.splice(0..0, *b"DIDL");
        }
        let _ = candid::decode_one::<ConfigOverrides>(&bytes);
        let _ = candid::decode_one::<ProfileInput>(&bytes);
        let _ = candid::decode_one::<MintRequest>(&bytes);
        let _ = candid::decode_one::<ShardReport>(&bytes);
        let _ = candid::decode_one::<AnswerKeySet>(&bytes);
        let _ = candid::decode_one::<Option<RegistrationProof>>(&bytes);
        let _ = candid::decode_args::<(String, Vec<u32>)>(&bytes);
    }
}

/// The generators are not vacuous: a fair share of what they produce is accepted, so the
/// "accepted ones are within bounds" properties above are exercised.
#[test]
fn the_generators_reach_accepted_inputs() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let n = 2_000;
    let mut configs = 0;
    let mut profiles = 0;
    for _ in 0..n {
        let o = overrides().new_tree(&mut runner).unwrap().current();
        configs += usize::from(o.apply_to(&PlatformConfig::default()).is_ok() && !o.fields_set().is_empty());
        profiles += usize::from(profile().new_tree(&mut runner).unwrap().current().validated().is_ok());
    }
    assert!(configs * 20 >= n, "only {configs} of {n} generated overrides are accepted");
    assert!(profiles * 50 >= n, "only {profiles} of {n} generated profiles are accepted");
    eprintln!("accepted: {configs} of {n} overrides, {profiles} of {n} profiles");
}

/// `n` cases, or `PROPTEST_CASES` for a longer search.
fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(n)
}
