//! Profile input (`update_profile`): never a panic; an accepted profile is within the limits
//! and validates again unchanged.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use platform_types::*;

fuzz_target!(|data: &[u8]| {
    let mut b = common::Bytes(data);
    let gender = [Gender::Female, Gender::Male, Gender::NonBinary, Gender::PreferNotToSay][usize::from(b.u8() % 4)].clone();
    let email = b.string(400);
    let name = b.string(400);
    let education = b.string(400);
    let input = ProfileInput { email, name, education, gender };
    if let Ok(v) = input.validated() {
        assert!(v.email.len() <= MAX_EMAIL_LEN);
        assert!(!v.name.is_empty() && v.name.chars().count() <= MAX_NAME_LEN);
        assert!(v.education.chars().count() <= MAX_EDUCATION_LEN);
        assert!(!v.email.chars().any(|c| c.is_whitespace() || c.is_control()));
        assert!(!v.name.chars().chain(v.education.chars()).any(char::is_control));
        assert_eq!(v.validated(), Ok(v.clone()), "validation is idempotent");
    }
});
