//! The shard's compact learner record (stable memory, `model::UserRecord`): any record
//! encodes and decodes back to itself (the codec loses nothing at the extremes: u64::MAX
//! counters, long and non-ASCII profile strings, thousands of completed units).
#![no_main]

#[path = "common.rs"]
mod common;

use ic_stable_structures::storable::Storable;
use libfuzzer_sys::fuzz_target;
use platform_types::{Gender, ProfileInput};
use std::borrow::Cow;
use user_profile::model::{CompletedUnits, UserRecord};

fuzz_target!(|data: &[u8]| {
    let mut b = common::Bytes(data);
    let mut completed = CompletedUnits::default();
    for _ in 0..usize::from(b.u8()) * 8 {
        completed.insert(b.u64() as u32, b.u64() as u16);
    }
    let profile = b.opt(|b| ProfileInput {
        gender: [Gender::Female, Gender::Male, Gender::NonBinary, Gender::PreferNotToSay][usize::from(b.u8() % 4)].clone(),
        email: b.string(300),
        name: b.string(300),
        education: b.string(300),
    });
    let record = UserRecord {
        staked_e8s: b.u64(),
        day: b.u64(),
        attempts_today: b.u64() as u32,
        earned_today_e8s: b.u64(),
        completed_units: b.u64(),
        registered_at_ns: b.u64(),
        last_active_ns: b.u64(),
        completed,
        profile,
    };
    let bytes = record.to_bytes().into_owned();
    assert_eq!(UserRecord::from_bytes(Cow::Borrowed(&bytes)), record);
});
