//! Answer keys (relayed to shards) and scoring: key validation and `score` never panic; an
//! accepted key scores its own answers fully; a score is within its total.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use platform_types::answer_keys::{passes, score, AnswerKeySet, UnitAnswerKey};

fuzz_target!(|data: &[u8]| {
    let mut b = common::Bytes(data);
    let unit_id = b.string(80);
    let n = usize::from(b.u8());
    let correct: Vec<u8> = (0..n).map(|_| b.u8() % 12).collect();
    let m = if b.bool() { n } else { usize::from(b.u8()) };
    let option_counts: Vec<u8> = (0..m).map(|_| b.u8() % 12).collect();
    let mark = b.u8();
    let answers: Vec<u32> = b.rest().chunks(2).map(|c| u32::from(c[0] % 12) | if c.len() > 1 && c[1] == 0xff { u32::MAX } else { 0 }).collect();
    let key = UnitAnswerKey { unit_id, correct, option_counts };
    let as_u32 = |v: &[u8]| v.iter().map(|&x| u32::from(x)).collect::<Vec<_>>();
    if let Ok(v) = score(as_u32(&key.correct).into_iter(), as_u32(&key.option_counts).into_iter(), &answers, mark) {
        assert!(v.correct <= v.total && v.total as usize == answers.len());
        assert_eq!(v.passed, passes(v.correct, v.total, mark));
    }
    if key.validate().is_ok() {
        let right = as_u32(&key.correct);
        let v = score(right.clone().into_iter(), as_u32(&key.option_counts).into_iter(), &right, mark).unwrap();
        assert_eq!((v.correct, v.total), (right.len() as u32, right.len() as u32));
        assert!(v.passed || mark > 100);
    }
    let _ = AnswerKeySet { version: 1, keys: vec![key.clone(), key] }.validate();
});
