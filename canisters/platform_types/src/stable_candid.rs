use candid::{decode_one, CandidType};
use ic_stable_structures::storable::{Bound, Storable};
use serde::de::DeserializeOwned;
use std::borrow::Cow;

/// Stores any Candid type in stable structures (e.g. a `StableCell`) by Candid-encoding it.
///
/// Candid is used (rather than a compact binary format) so that records can later gain
/// `Option` fields and still decode the bytes written by an older canister version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StableCandid<T>(pub T);

// Encoded with the type table kept per type (`reply_encoding`): the same bytes as
// `candid::encode_one`, without rebuilding the type table on every write.
impl<T: CandidType + DeserializeOwned + 'static> Storable for StableCandid<T> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(crate::reply_encoding::encode_ref(&self.0))
    }

    fn into_bytes(self) -> Vec<u8> {
        crate::reply_encoding::encode_ref(&self.0)
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        StableCandid(decode_one(&bytes).expect("Candid decoding of a stable value failed"))
    }

    const BOUND: Bound = Bound::Unbounded;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ShardInitArgs;
    use candid::Principal;

    #[test]
    fn round_trips_an_optional_record() {
        let v = StableCandid(Some(ShardInitArgs {
            hub_id: Principal::anonymous(),
            learning_content_id: Principal::management_canister(),
            config: crate::PlatformConfig::default(),
            config_version: None,
            module_hash: None,
        }));
        let bytes = v.to_bytes().into_owned();
        assert_eq!(
            StableCandid::<Option<ShardInitArgs>>::from_bytes(Cow::Owned(bytes)),
            v
        );
        let none: StableCandid<Option<ShardInitArgs>> = StableCandid(None);
        assert_eq!(StableCandid::from_bytes(none.to_bytes()), none);
    }
}
