//! Candid replies with the type table built once per type instead of once per message.
//!
//! A Candid message is `DIDL`, a type table, then the values. The type table depends only on
//! the Rust type, yet `candid::encode_one` rebuilds it on every call (it derives the whole type
//! tree, then serializes it): for `Result<UserView, ShardError>` that is ~350,000 instructions,
//! nine tenths of a profile query. [`encode`] keeps each type's header in the heap and
//! serializes only the value; the bytes are identical to `candid::encode_one`'s.
//!
//! A query's heap changes are discarded, so a canister fills the headers its queries use in an
//! update context ([`warm`] from init and post_upgrade); updates fill theirs on first use.
//! Used with `#[ic_cdk::query(manual_reply = true)]` and a `PhantomData<T>` return type, which
//! keeps `T` in the Candid interface (`encode_with` would turn it into `blob`).

use candid::ser::ValueSerializer;
use candid::CandidType;
use std::any::TypeId;
use std::cell::RefCell;
use std::collections::BTreeMap;

thread_local! {
    /// `DIDL` plus the type table of a one-value message of each type encoded so far.
    static HEADERS: RefCell<BTreeMap<TypeId, Vec<u8>>> = const { RefCell::new(BTreeMap::new()) };
}

/// `value` as a one-value Candid message, byte-identical to `candid::encode_one(value)`.
pub fn encode<T: CandidType + 'static>(value: T) -> Vec<u8> {
    encode_ref(&value)
}

/// [`encode`] of a borrowed value (e.g. `StableCandid`'s stored values: a cell written several
/// times per message pays for its type table once per canister lifetime).
pub fn encode_ref<T: CandidType + 'static>(value: &T) -> Vec<u8> {
    let mut values = ValueSerializer::new();
    value.idl_serialize(&mut values).expect("a Candid value always serializes");
    let value_bytes = values.get_result();
    HEADERS.with_borrow_mut(|headers| {
        let header = headers.entry(TypeId::of::<T>()).or_insert_with(|| header_of(value, value_bytes));
        let mut message = Vec::with_capacity(header.len() + value_bytes.len());
        message.extend_from_slice(header);
        message.extend_from_slice(value_bytes);
        message
    })
}

/// Builds and keeps the header of `T` (from any value of it), for queries to find.
pub fn warm<T: CandidType + 'static>(sample: T) {
    encode(sample);
}

/// Whether `T`'s header is kept (tests, metrics).
pub fn is_warm<T: 'static>() -> bool {
    HEADERS.with_borrow(|headers| headers.contains_key(&TypeId::of::<T>()))
}

fn header_of<T: CandidType>(value: &T, value_bytes: &[u8]) -> Vec<u8> {
    let message = candid::encode_one(value).expect("a Candid value always serializes");
    // encode_one writes the header, then exactly the bytes the value serializer wrote.
    assert!(message.ends_with(value_bytes), "Candid message does not end with its value bytes");
    message[..message.len() - value_bytes.len()].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Gender, ProfileInput, QuizOutcome, ShardError, UserView};
    use candid::Principal;

    fn view(profile: Option<ProfileInput>) -> UserView {
        UserView {
            principal: Principal::from_slice(&[3; 29]),
            profile,
            staked_e8s: 1_234_567_890,
            day: 20_000,
            attempts_today: 7,
            earned_today_e8s: 300_000_000,
            completed_units: 12,
            registered_at_ns: 1_700_000_000_000_000_000,
            last_active_ns: 1_700_000_100_000_000_000,
            rewards_owed_e8s: Some(5),
        }
    }

    #[test]
    fn replies_are_byte_identical_to_encode_one_before_and_after_the_header_is_kept() {
        let profile = ProfileInput { email: "a@b.example".into(), name: "Ada".into(), education: "MSc".into(), gender: Gender::Female };
        let replies: Vec<Result<UserView, ShardError>> = vec![
            Err(ShardError::NotRegistered),
            Ok(view(None)),
            Ok(view(Some(profile))),
            Err(ShardError::DailyLimitReached { limit: 3 }),
            Err(ShardError::BadInput { detail: "answers: expected 3 answers, got 1".into() }),
        ];
        assert!(!is_warm::<Result<UserView, ShardError>>());
        for reply in replies {
            let expected = candid::encode_one(&reply).unwrap();
            assert_eq!(encode(reply.clone()), expected, "{reply:?}");
            assert!(is_warm::<Result<UserView, ShardError>>());
            assert_eq!(encode(reply.clone()), expected, "{reply:?} with the kept header");
            let decoded: Result<UserView, ShardError> = candid::decode_one(&encode(reply.clone())).unwrap();
            assert_eq!(decoded, reply);
        }
    }

    #[test]
    fn each_type_keeps_its_own_header() {
        warm::<Result<QuizOutcome, ShardError>>(Err(ShardError::NotRegistered));
        let outcome: Result<QuizOutcome, ShardError> = Ok(QuizOutcome {
            total: 5,
            passed: true,
            reward_e8s: 100_000_000,
            reward_owed_e8s: Some(0),
            staked_e8s: 200_000_000,
            attempts_left_today: 4,
        });
        // Different types, same header cache: each message must carry its own type table.
        assert_eq!(encode(outcome.clone()), candid::encode_one(&outcome).unwrap());
        assert_eq!(encode(7u64), candid::encode_one(7u64).unwrap());
        assert_eq!(encode(Principal::anonymous()), candid::encode_one(Principal::anonymous()).unwrap());
        assert_eq!(encode(outcome.clone()), candid::encode_one(&outcome).unwrap());
    }
}
