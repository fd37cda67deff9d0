//! Issue 15, part 2: hostile input. For every method of candid/staking_hub.did,
//! candid/user_profile.did and candid/learning_content.did, seeded random and mutated Candid
//! payloads are sent as ingress (anonymous, an unregistered principal, a registered learner), as
//! inter-canister calls (from a canister that is neither the hub nor a shard) and, for queries,
//! as queries:
//!
//! - well-typed values built from the interface with hostile contents (empty, 1 MiB-scale and
//!   near-2 MiB texts, blobs and vectors, 0 / max / 2^128 numbers, anonymous, management,
//!   malformed-length and platform principals, unknown ids, NaN floats);
//! - the same encoded and then truncated, bit-flipped, with an extra trailing argument, with a
//!   record field added or removed, or as another method's argument (wrong types);
//! - hand-made bytes: garbage, a bad magic, deep `opt` and record nesting, `vec null` and
//!   `vec reserved` of 2^32 elements in a few bytes, an over-long LEB128, an over-limit payload.
//!
//! Asserted for every call: the answer is a reject (decode rejection, refusal at ingress, trap)
//! or the method's own error, unless the method is a query or open to that caller
//! (`OPEN_UPDATES`); a refused call leaves a
//! fingerprint of the state (hub totals and shards, the shard's stats and the learner's record
//! and withdrawals, learning_content's units, the ledger's supply and the learner's balance)
//! unchanged; every execution stays below an instruction bound (see `*_BOUND` and
//! docs/reliability.md). Afterwards the platform still works for the learner (a quiz passes, a
//! withdrawal mints) and tokens are conserved.
//!
//! `HOSTILE_CASES` (default 32) sets the payloads per method (each by a route picked at random);
//! `HOSTILE_SEED` the seed.

use candid::types::{Label, Type, TypeEnv, TypeInner};
use candid::{CandidType, IDLArgs, IDLValue, Principal};
use candid::types::value::{IDLField, VariantValue};
use integration_tests::platform::{learner_of, Platform, Quizzes};
use integration_tests::interface::{interface, is_error};
use integration_tests::wasm;
use localnet::ExecutionRecord;
use platform_types::*;
use serde::Deserialize;
use std::collections::BTreeMap;

const REWARD: u64 = 10 * E8S;
const QUIZZES: Quizzes = Quizzes { prefix: "u-", width: 2, count: 6, options: 3, key: |i| vec![(i % 3) as u32, 1] };

/// Instruction bounds, per execution (measured maxima are printed by the test and recorded in
/// docs/reliability.md; the bounds leave room for code growth, below the IC's limits of 40 B
/// per update, 5 B per query and 200 M per inspect_message). The largest costs are argument
/// decoding of near-2 MiB payloads, which ic-cdk does before a method checks its caller (1.5 B
/// for a near-2 MiB `ConfigOverrides`, in a query a learner called as an update).
const UPDATE_BOUND: u64 = 2_000_000_000;
const QUERY_BOUND: u64 = 3_000_000_000;
const INSPECT_BOUND: u64 = 50_000_000;

/// The largest payload sent: just under the 2 MiB ingress limit, with room for the method name
/// and, for inter-canister calls, the forwarding canister's own argument encoding.
const NEAR_LIMIT: usize = 2 * 1024 * 1024 - 4 * 1024;

fn learner(n: u32) -> Principal {
    learner_of(15, n)
}

// ------------------------------------------------------------------ seeded randomness

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

// ------------------------------------------------------------------ interfaces

// ------------------------------------------------------------------ hostile values

/// Principals a hostile payload names: anonymous, the management canister, malformed lengths,
/// random ones, and the platform's own (so that ids are sometimes known, sometimes not).
struct Known {
    principals: Vec<Principal>,
    /// Unit ids that exist (a payload sometimes names one).
    units: Vec<String>,
}

struct Gen<'a> {
    env: &'a TypeEnv,
    rng: Rng,
    known: &'a Known,
    /// Bytes the value may still take (a huge text or vector uses most of it once).
    budget: usize,
}

impl Gen<'_> {
    fn nat(&mut self) -> u128 {
        match self.rng.below(6) {
            0 => 0,
            1 => 1,
            2 => u64::MAX as u128,
            3 => u128::MAX,
            4 => self.rng.next() as u128,
            _ => self.rng.below(1_000) as u128,
        }
    }

    fn text(&mut self) -> String {
        match self.rng.below(12) {
            0 => String::new(),
            1 => "a".into(),
            2 => self.known.units[self.rng.below(self.known.units.len())].clone(),
            3 => "unknown-unit-\u{202e}".into(),
            4 => "\u{0}\u{7}\r\n\t\u{85}\u{2028}\u{feff}".into(),
            5 => "a@b.c".into(),
            6 => "/metrics".into(),
            7 if self.budget > 300_000 => {
                let n = self.rng.below(self.budget.min(NEAR_LIMIT) - 1_000);
                self.budget -= n;
                "x".repeat(n)
            }
            8 => "\u{10ffff}".repeat(70),
            9 => "é".repeat(101),
            _ => (0..self.rng.below(40)).map(|_| char::from(b' ' + (self.rng.next() % 95) as u8)).collect(),
        }
    }

    fn principal(&mut self) -> Principal {
        match self.rng.below(6) {
            0 => Principal::anonymous(),
            1 => Principal::management_canister(),
            2 => Principal::from_slice(&self.rng.bytes(29)),
            3 => {
                let n = self.rng.below(30);
                Principal::from_slice(&self.rng.bytes(n))
            }
            _ => self.known.principals[self.rng.below(self.known.principals.len())],
        }
    }

    fn blob(&mut self) -> Vec<u8> {
        match self.rng.below(6) {
            0 => vec![],
            1 => self.rng.bytes(32),
            2 if self.budget > 300_000 => {
                let n = self.rng.below(self.budget.min(NEAR_LIMIT) - 1_000);
                self.budget -= n;
                self.rng.bytes(n)
            }
            3 => vec![0xff; 97],
            _ => {
                let n = self.rng.below(64);
                self.rng.bytes(n)
            }
        }
    }

    fn value(&mut self, ty: &Type, depth: usize) -> IDLValue {
        let ty = self.env.trace_type(ty).unwrap();
        match ty.as_ref() {
            TypeInner::Null => IDLValue::Null,
            TypeInner::Bool => IDLValue::Bool(self.rng.chance(2)),
            TypeInner::Nat => IDLValue::Nat(match self.rng.below(3) {
                0 => "340282366920938463463374607431768211456000000".parse().unwrap(),
                _ => candid::Nat::from(self.nat()),
            }),
            TypeInner::Int => IDLValue::Int(match self.rng.below(3) {
                0 => "-340282366920938463463374607431768211456000000".parse().unwrap(),
                _ => candid::Int::from(-(self.nat() as i128 / 2)),
            }),
            TypeInner::Nat8 => IDLValue::Nat8(self.nat() as u8),
            TypeInner::Nat16 => IDLValue::Nat16(self.nat() as u16),
            TypeInner::Nat32 => IDLValue::Nat32(if self.rng.chance(3) { u32::MAX } else { self.nat() as u32 }),
            TypeInner::Nat64 => IDLValue::Nat64(if self.rng.chance(3) { u64::MAX } else { self.nat() as u64 }),
            TypeInner::Int8 => IDLValue::Int8(self.nat() as i8),
            TypeInner::Int16 => IDLValue::Int16(self.nat() as i16),
            TypeInner::Int32 => IDLValue::Int32(self.nat() as i32),
            TypeInner::Int64 => IDLValue::Int64(if self.rng.chance(3) { i64::MIN } else { self.nat() as i64 }),
            TypeInner::Float32 => IDLValue::Float32(f32::NAN),
            TypeInner::Float64 => IDLValue::Float64([f64::NAN, f64::INFINITY, -0.0, 1e308][self.rng.below(4)]),
            TypeInner::Text => IDLValue::Text(self.text()),
            TypeInner::Reserved => IDLValue::Reserved,
            TypeInner::Principal => IDLValue::Principal(self.principal()),
            TypeInner::Service(_) => IDLValue::Service(self.principal()),
            TypeInner::Func(_) => IDLValue::Func(self.principal(), self.text()),
            TypeInner::Opt(t) => {
                if depth > 12 || self.rng.chance(3) {
                    IDLValue::None
                } else {
                    IDLValue::Opt(Box::new(self.value(t, depth + 1)))
                }
            }
            TypeInner::Vec(t) => {
                if matches!(self.env.trace_type(t).unwrap().as_ref(), TypeInner::Nat8) {
                    return IDLValue::Blob(self.blob());
                }
                let n = match self.rng.below(8) {
                    0 => 0,
                    // Many elements: one huge vector of small elements (bounded by the budget).
                    1 if depth < 3 && self.budget > 300_000 => {
                        self.rng.below(self.budget.min(NEAR_LIMIT)).min(500_000)
                    }
                    _ => self.rng.below(if depth > 6 { 2 } else { 5 }),
                };
                if n > 1_000 {
                    // n copies of one element, as many as fit the budget.
                    let one = self.value(t, depth + 1);
                    let size = IDLArgs::new(std::slice::from_ref(&one)).to_bytes().map_or(64, |b| b.len().saturating_sub(6).max(1));
                    let n = n.min(self.budget / size);
                    self.budget -= n * size;
                    return IDLValue::Vec(vec![one; n]);
                }
                IDLValue::Vec((0..n).map(|_| self.value(t, depth + 1)).collect())
            }
            TypeInner::Record(fields) => IDLValue::Record(
                fields.iter().map(|f| IDLField { id: (*f.id).clone(), val: self.value(&f.ty, depth + 1) }).collect(),
            ),
            TypeInner::Variant(fields) => {
                let i = self.rng.below(fields.len());
                let f = &fields[i];
                IDLValue::Variant(VariantValue(
                    Box::new(IDLField { id: (*f.id).clone(), val: self.value(&f.ty, depth + 1) }),
                    i as u64,
                ))
            }
            TypeInner::Empty | TypeInner::Unknown | TypeInner::Future | TypeInner::Knot(_) | TypeInner::Var(_) | TypeInner::Class(..) => {
                IDLValue::Null
            }
        }
    }

    fn args(&mut self, types: &[Type]) -> Vec<IDLValue> {
        types.iter().map(|t| self.value(t, 0)).collect()
    }
}

fn leb(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// The kinds of payload, in the order `payload` numbers them (and the report counts them).
const KINDS: &[&str] = &[
    "typed",
    "typed, huge",
    "truncated",
    "bit flips",
    "extra argument",
    "extra field",
    "missing field",
    "another method's argument",
    "no arguments",
    "garbage",
    "bad magic",
    "deep opt",
    "deep records",
    "vec null x 2^32",
    "vec reserved x 2^32",
    "over-long LEB128",
];

/// Payload `kind` for a method taking `args`.
fn payload(kind: usize, g: &mut Gen<'_>, env: &TypeEnv, args: &[Type], other: &[Type]) -> Vec<u8> {
    let typed = |g: &mut Gen<'_>, types: &[Type]| -> Vec<u8> {
        let values = g.args(types);
        IDLArgs::new(&values).to_bytes_with_types(env, types).unwrap_or_else(|_| b"DIDL\x00\x00".to_vec())
    };
    g.budget = if kind == 1 { NEAR_LIMIT } else { 4_096 };
    match KINDS[kind] {
        "typed" | "typed, huge" => {
            let mut b = typed(g, args);
            // Several huge parts may not fit together: at most the limit.
            for _ in 0..4 {
                if b.len() <= NEAR_LIMIT {
                    break;
                }
                g.budget = NEAR_LIMIT / 2;
                b = typed(g, args);
            }
            if b.len() > NEAR_LIMIT {
                b = b"DIDL\x00\x00".to_vec();
            }
            if kind == 1 && b.len() < 100_000 {
                // Nothing in the arguments can be large: one huge extra argument instead.
                let mut extra = args.to_vec();
                extra.push(TypeInner::Text.into());
                g.budget = 4_096;
                let mut values = g.args(args);
                values.push(IDLValue::Text("y".repeat(NEAR_LIMIT - 120_000)));
                b = IDLArgs::new(&values).to_bytes_with_types(env, &extra).unwrap_or(b);
            }
            b
        }
        "truncated" => {
            let b = typed(g, args);
            let n = g.rng.below(b.len());
            b[..n].to_vec()
        }
        "bit flips" => {
            let mut b = typed(g, args);
            for _ in 0..1 + g.rng.below(4) {
                let i = g.rng.below(b.len());
                b[i] ^= 1 << g.rng.below(8);
            }
            b
        }
        "extra argument" => {
            let mut extra = args.to_vec();
            extra.push(TypeInner::Vec(TypeInner::Nat64.into()).into());
            let mut values = g.args(args);
            values.push(IDLValue::Vec(vec![IDLValue::Nat64(u64::MAX); 3]));
            IDLArgs::new(&values).to_bytes_with_types(env, &extra).unwrap_or_default()
        }
        "extra field" | "missing field" => {
            // Types inferred from the values: a record with one field more (an unknown id) or
            // one field fewer than the interface's.
            let mut values = g.args(args);
            fn first_record(v: &mut IDLValue) -> Option<&mut Vec<IDLField>> {
                match v {
                    IDLValue::Record(f) => Some(f),
                    IDLValue::Opt(v) => first_record(v),
                    IDLValue::Variant(VariantValue(f, _)) => first_record(&mut f.val),
                    _ => None,
                }
            }
            let remove = KINDS[kind] == "missing field";
            if let Some(fields) = values.iter_mut().find_map(first_record) {
                if remove && !fields.is_empty() {
                    let i = g.rng.below(fields.len());
                    fields.remove(i);
                } else {
                    let id = Label::Id(0x7fff_fff0);
                    fields.push(IDLField { id, val: IDLValue::Text("extra".into()) });
                    fields.sort_by_key(|f| f.id.get_id());
                }
            } else {
                values.push(IDLValue::Record(vec![IDLField { id: Label::Named("extra".into()), val: IDLValue::Bool(true) }]));
            }
            IDLArgs::new(&values).to_bytes().unwrap_or_default()
        }
        "another method's argument" => typed(g, other),
        "no arguments" => b"DIDL\x00\x00".to_vec(),
        "garbage" => {
            let n = g.rng.below(200);
            g.rng.bytes(n)
        }
        "bad magic" => {
            let mut b = typed(g, args);
            let n = 4.min(b.len());
            b[..n].copy_from_slice(&b"DIDX"[..n]);
            b
        }
        "deep opt" => {
            // μT. opt T, nested 100,000 times.
            let mut b = b"DIDL\x01\x6e\x00\x01\x00".to_vec();
            b.extend(std::iter::repeat_n(1u8, 100_000));
            b.push(0);
            b
        }
        "deep records" => {
            // 5,000 record types, each holding the next in field 0; the last one empty.
            let n: u64 = 5_000;
            let mut b = b"DIDL".to_vec();
            leb(n, &mut b);
            for i in 0..n - 1 {
                b.extend([0x6c, 0x01, 0x00]);
                leb(i + 1, &mut b);
            }
            b.extend([0x6c, 0x00, 0x01, 0x00]);
            b
        }
        "vec null x 2^32" => {
            let mut b = b"DIDL\x01\x6d\x7f\x01\x00".to_vec();
            leb(1 << 32, &mut b);
            b
        }
        "vec reserved x 2^32" => {
            // The method's arguments, then an extra `vec reserved` of 2^32 elements (skipped,
            // never decoded): its length is the last byte of an empty one, patched.
            let mut extra = args.to_vec();
            extra.push(TypeInner::Vec(TypeInner::Reserved.into()).into());
            let mut values = g.args(args);
            values.push(IDLValue::Vec(vec![]));
            let mut b = IDLArgs::new(&values).to_bytes_with_types(env, &extra).unwrap_or_else(|_| b"DIDL\x01\x6d\x70\x01\x00\x00".to_vec());
            assert_eq!(b.pop(), Some(0));
            leb(1 << 32, &mut b);
            b
        }
        "over-long LEB128" => {
            let mut b = b"DIDL\x00\x01\x78".to_vec();
            b.extend([0xff; 20]);
            b.push(0x01);
            b
        }
        other => unreachable!("{other}"),
    }
}

// ------------------------------------------------------------------ the platform

#[derive(CandidType, Deserialize, Debug)]
struct CallError {
    code: u32,
    message: String,
}

#[derive(CandidType, Deserialize, Debug)]
enum CallOutcome {
    Ok(serde_bytes::ByteBuf),
    Err(CallError),
}

struct Env {
    p: Platform,
    shard: Principal,
    learner: Principal,
}

impl Env {
    /// What no refused call may change.
    fn fingerprint(&self) -> String {
        let p = &self.p;
        let anon = Principal::anonymous();
        let stats = p.stats();
        let shards: Vec<_> = p.shards().into_iter().map(|s| (s.id, s.granted_e8s, s.user_count, s.status)).collect();
        let (config,): (PlatformConfig,) = p.query(p.hub, anon, "get_config", ());
        let (policy,): (RegistrationPolicyView,) = p.query(p.hub, anon, "get_registration_policy", ());
        let shard = p.shard_stats(self.shard);
        let (shard_args,): (ShardInitArgs,) = p.query(self.shard, anon, "get_init_args", ());
        let profile = p.profile(self.shard, self.learner);
        let withdrawals = p.withdrawals(self.shard, self.learner);
        let (units,): (UnitPage,) = p.query(p.content, anon, "list_units", ("", 0u64, 100u64));
        let (content_version,): (u64,) = p.query(p.content, anon, "get_config_version", ());
        format!(
            "{:?}",
            (
                (stats.users, shards, config, policy),
                (shard.users, shard.total_staked_e8s, shard.allowance_received_e8s, shard.allowance_remaining_e8s),
                (shard.pending_withdrawals_e8s, shard.withdrawn_e8s, shard.disabled, shard_args),
                (profile, withdrawals),
                (units.units.iter().map(|u| u.id.clone()).collect::<Vec<_>>(), units.total, content_version),
                (p.total_supply(), p.balance(self.learner)),
            )
        )
    }
}

#[derive(Default)]
struct Tally {
    calls: u64,
    by_kind: BTreeMap<&'static str, u64>,
    rejected: u64,
    errors: u64,
    accepted: BTreeMap<String, u64>,
    max: BTreeMap<&'static str, (u64, String)>,
    largest_payload: usize,
    over_1mib: u64,
    reasons: BTreeMap<&'static str, u64>,
}

impl Tally {
    fn executions(&mut self, log: &[ExecutionRecord], what: &str, forwarder: Principal) {
        for r in log {
            let (class, bound) = if r.canister == forwarder {
                ("update (forwarding canister)", UPDATE_BOUND)
            } else if r.entry.starts_with("inspect_message") {
                ("inspect_message", INSPECT_BOUND)
            } else if r.entry.starts_with("query") {
                ("query", QUERY_BOUND)
            } else {
                ("update", UPDATE_BOUND)
            };
            assert!(r.instructions <= bound, "{what}: {} in {} took {} instructions (bound {bound})", r.entry, r.canister, r.instructions);
            let e = self.max.entry(class).or_insert((0, String::new()));
            if r.instructions > e.0 {
                *e = (r.instructions, format!("{what} ({})", r.entry));
            }
        }
    }
}

/// Whether a reply is the method's own error: a variant `Err`, at any depth of the first value
/// (`Result`, or a record holding one).
/// Methods whose success as a hostile caller is expected (open to anyone, or to the learner
/// for their own record): their success re-bases the fingerprint instead of failing the test.
const OPEN_UPDATES: &[&str] = &[
    // staking_hub
    "register",
    "ensure_capacity",
    "refill_from_icp",
    // user_profile: the learner's own
    "update_profile",
    "submit_quiz",
    "unstake",
    "delete_my_profile",
];

#[test]
fn hostile_payloads_are_refused_without_changing_state_within_bounded_instructions() {
    let cases: usize = std::env::var("HOSTILE_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(32);
    let seed: u64 = std::env::var("HOSTILE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
    let started = std::time::Instant::now();

    let config = ConfigOverrides {
        reward_per_quiz_e8s: Some(REWARD),
        allowance_chunk_e8s: Some(10 * REWARD),
        min_withdrawal_e8s: Some(1),
        withdrawal_cooldown_secs: Some(0),
        ..Default::default()
    };
    let p = Platform::builder().quizzes(QUIZZES).pass_mark_percent(100).config(config).deploy();
    let learner = learner(1);
    let shard = p.register(learner).unwrap();
    p.pass(shard, learner, 0);
    p.pass(shard, learner, 1);
    p.unstake(shard, learner, REWARD).unwrap();
    p.wait(600);
    assert_eq!(p.balance(learner), REWARD, "the withdrawal minted before the barrage");
    let caller = p.net.create_canister();
    p.net.install_canister(caller, wasm("async_caller"), candid::encode_args(()).unwrap(), None);
    p.wait(600);
    let env = Env { p, shard, learner };
    let p = &env.p;

    let known = Known {
        principals: vec![p.hub, shard, p.content, p.ledger, learner, learner_of(15, 2), caller, p.governance],
        units: (0..QUIZZES.count).map(|i| QUIZZES.id(i)).chain(["u-99".to_string()]).collect(),
    };
    let mut tally = Tally::default();
    let mut rng = Rng(seed);
    let mut fingerprint = env.fingerprint();
    let stranger = learner_of(15, 999);

    for (canister, target) in [("staking_hub", p.hub), ("user_profile", shard), ("learning_content", p.content)] {
        let (types, methods) = interface(canister);
        for (mi, m) in methods.iter().enumerate() {
            let other = &methods[(mi + 1 + rng.below(methods.len() - 1)) % methods.len()].args;
            for case in 0..cases {
                let kind = (case + mi) % KINDS.len();
                let mut g = Gen { env: &types, rng: Rng(rng.next()), known: &known, budget: 0 };
                let arg = payload(kind, &mut g, &types, &m.args, other);
                tally.largest_payload = tally.largest_payload.max(arg.len());
                tally.over_1mib += u64::from(arg.len() > 1 << 20);
                assert!(arg.len() <= NEAR_LIMIT, "{canister}.{} [{}]: a payload of {} bytes", m.name, KINDS[kind], arg.len());
                *tally.by_kind.entry(KINDS[kind]).or_default() += 1;
                // Routes: ingress as anonymous, a stranger, the learner; a call from a canister;
                // a query.
                // Weighted to the routes that reach the method's decoder: the learner and a canister.
                let route = [0, 1, 2, 2, 3, 3, 4, 4][rng.below(if m.query { 8 } else { 6 })];
                let what = format!("{canister}.{} [{}, route {route}, seed {seed}, case {case}]", m.name, KINDS[kind]);
                p.net.take_execution_log();
                let reply: Result<Vec<u8>, String> = match route {
                    0..=2 => {
                        let sender = [Principal::anonymous(), stranger, learner][route];
                        p.net.update_call(target, sender, &m.name, arg).map_err(|e| format!("{:?}: {}", e.error_code, e.reject_message))
                    }
                    3 => {
                        let call = candid::encode_args((target, m.name.clone(), serde_bytes::ByteBuf::from(arg))).unwrap();
                        match p.net.update_call(caller, Principal::anonymous(), "call_raw", call) {
                            Ok(bytes) => match candid::decode_one::<CallOutcome>(&bytes).unwrap() {
                                CallOutcome::Ok(b) => Ok(b.into_vec()),
                                CallOutcome::Err(e) => Err(format!("inter-canister reject {}: {}", e.code, e.message)),
                            },
                            // The forwarding call itself did not fit (a payload at the limit plus
                            // the forwarder's own encoding): refused by the system.
                            Err(e) => Err(format!("{:?}: {}", e.error_code, e.reject_message)),
                        }
                    }
                    _ => p.net.query_call(target, learner, &m.name, arg).map_err(|e| format!("{:?}: {}", e.error_code, e.reject_message)),
                };
                tally.calls += 1;
                tally.executions(&p.net.take_execution_log(), &what, caller);
                let accepted = match &reply {
                    Err(e) => {
                        tally.rejected += 1;
                        let why = if e.contains("ingress limit") || e.contains("more than") && e.contains("bytes") {
                            "size limit"
                        } else if e.contains("refuses this ingress") || e.contains("inspect") {
                            "refused at ingress (inspect_message)"
                        } else if e.contains("decode") || e.contains("Candid") || e.contains("DIDL") || e.contains("IDL") {
                            "argument decoding"
                        } else if e.contains("has no query method") || e.contains("has no update method") || e.contains("MethodNotFound") {
                            "not a query / no such method"
                        } else {
                            "refused by the method (trap or reject)"
                        };
                        *tally.reasons.entry(why).or_default() += 1;
                        false
                    }
                    Ok(bytes) => {
                        let value = IDLArgs::from_bytes_with_types(bytes, &types, &m.rets)
                            .unwrap_or_else(|e| panic!("{what}: the reply does not decode as the interface says: {e}"));
                        if value.args.first().is_some_and(is_error) {
                            tally.errors += 1;
                            false
                        } else {
                            true
                        }
                    }
                };
                let now = env.fingerprint();
                if now != fingerprint {
                    let open = m.query || OPEN_UPDATES.contains(&m.name.as_str());
                    assert!(accepted && open, "{what}: a refused or hostile call changed the state\nbefore: {fingerprint}\nafter:  {now}");
                    fingerprint = now;
                }
                if accepted && !m.query {
                    assert!(OPEN_UPDATES.contains(&m.name.as_str()), "{what}: a hostile caller's call of a restricted method was accepted");
                    *tally.accepted.entry(format!("{canister}.{}", m.name)).or_default() += 1;
                }
            }
        }
    }

    // Over the ingress limit: refused by the system before any execution.
    let over = vec![0u8; 2 * 1024 * 1024 + 1];
    let e = p.net.submit_call(shard, learner, "submit_quiz", over).unwrap_err();
    assert!(e.reject_message.contains("ingress limit"), "{e:?}");
    assert_eq!(env.fingerprint(), fingerprint);

    // The platform still works for the learner, and tokens are conserved.
    let before = p.balance(learner);
    p.pass(shard, learner, 2);
    p.unstake(shard, learner, REWARD).unwrap();
    p.wait(600);
    assert_eq!(p.balance(learner), before + REWARD, "a withdrawal after the barrage mints");
    let s = p.shard_stats(shard);
    assert_eq!(s.pending_withdrawals, 0);
    assert_eq!(p.total_supply(), s.withdrawn_e8s, "everything minted was withdrawn from this shard, once");
    assert_eq!(
        s.allowance_received_e8s,
        s.allowance_remaining_e8s + s.total_staked_e8s + s.pending_withdrawals_e8s + s.withdrawn_e8s,
        "tokens conserved on the shard: {s:?}"
    );
    let granted: u64 = p.shards().iter().map(|s| s.granted_e8s).sum();
    assert!(granted >= s.allowance_received_e8s);

    eprintln!("hostile input: seed {seed}, {cases} cases per method, {} calls in {:?}", tally.calls, started.elapsed());
    eprintln!("  by kind: {:?}", tally.by_kind);
    eprintln!("  rejected (decode, inspect, trap, caller): {}, method errors: {}, accepted: {:?}", tally.rejected, tally.errors, tally.accepted);
    eprintln!("  rejections by reason: {:?}", tally.reasons);
    eprintln!("  largest payload: {} bytes; {} payloads over 1 MiB", tally.largest_payload, tally.over_1mib);
    for (class, (n, what)) in &tally.max {
        eprintln!("  max {class}: {n} instructions ({what})");
    }
}

/// The finding of seed 3 as a fixed scenario: a learner who deleted their profile stays deleted
/// through refused calls (a refused `unstake`, `update_profile` and `submit_quiz` used to restore
/// their record); a call that goes ahead restores them.
#[test]
fn refused_calls_leave_a_deleted_learner_deleted() {
    let config = ConfigOverrides {
        reward_per_quiz_e8s: Some(REWARD),
        allowance_chunk_e8s: Some(10 * REWARD),
        min_withdrawal_e8s: Some(1),
        withdrawal_cooldown_secs: Some(0),
        ..Default::default()
    };
    let p = Platform::builder().quizzes(QUIZZES).pass_mark_percent(100).config(config).deploy();
    let who = learner(7);
    let shard = p.register(who).unwrap();
    p.pass(shard, who, 0);
    let (deleted,): (Result<ProfileDeleted, DeleteProfileError>,) =
        p.update(shard, who, "delete_my_profile", (DeleteProfileArgs { forfeit_staked_balance: true },));
    deleted.unwrap();
    let status = |p: &Platform| -> (u64, u64) {
        let (s,): (ShardCleanupStatus,) = p.query(shard, Principal::anonymous(), "get_cleanup_status", ());
        (s.tombstones, s.restored)
    };
    assert_eq!(status(&p), (1, 0));
    let before = p.profile(shard, who);

    assert!(matches!(p.unstake(shard, who, 5 * REWARD), Err(UnstakeError::BadAmount { .. })));
    let bad = ProfileInput { email: "no-at-sign".into(), name: "N".into(), education: String::new(), gender: Gender::Male };
    assert!(matches!(p.update_profile(shard, who, bad.clone()), Err(ShardError::BadInput { .. })));
    assert_eq!(p.answer(shard, who, 0), Err(ShardError::AlreadyCompleted { unit_id: QUIZZES.id(0) }));
    assert_eq!(status(&p), (1, 0), "refused calls restored no one");
    assert_eq!(p.profile(shard, who), before, "the learner's view is unchanged");

    let good = ProfileInput { email: "a@b.org".into(), ..bad };
    assert!(p.update_profile(shard, who, good).is_ok());
    assert_eq!(status(&p), (0, 1), "a profile update that goes ahead restores the learner");
}
