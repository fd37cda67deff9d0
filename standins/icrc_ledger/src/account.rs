//! Fixed-size stable-memory keys for accounts and allowances.
//!
//! Keys are built from the *effective* subaccount (absent = 32 zero bytes), so an account given
//! with an explicit zero subaccount and the same account without one share one balance.

use ic_stable_structures::storable::{Bound, Storable};
use icrc_ledger_types::icrc1::account::Account;
use std::borrow::Cow;

/// A principal is at most 29 bytes.
pub const MAX_PRINCIPAL_BYTES: usize = 29;
/// length byte + principal bytes (zero padded) + 32-byte effective subaccount.
pub const ACCOUNT_KEY_BYTES: usize = 1 + MAX_PRINCIPAL_BYTES + 32;

pub type AccountKey = [u8; ACCOUNT_KEY_BYTES];
/// (approver account key, spender account key).
pub type AllowanceKey = [u8; 2 * ACCOUNT_KEY_BYTES];
/// (expires_at big-endian, allowance key): sorted by expiry, for pruning.
pub type ExpirationKey = [u8; 8 + 2 * ACCOUNT_KEY_BYTES];

pub fn account_key(account: &Account) -> AccountKey {
    let owner = account.owner.as_slice();
    assert!(owner.len() <= MAX_PRINCIPAL_BYTES, "principal longer than 29 bytes");
    let mut key = [0u8; ACCOUNT_KEY_BYTES];
    key[0] = owner.len() as u8;
    key[1..1 + owner.len()].copy_from_slice(owner);
    key[1 + MAX_PRINCIPAL_BYTES..].copy_from_slice(account.effective_subaccount());
    key
}

pub fn allowance_key(account: &Account, spender: &Account) -> AllowanceKey {
    let mut key = [0u8; 2 * ACCOUNT_KEY_BYTES];
    key[..ACCOUNT_KEY_BYTES].copy_from_slice(&account_key(account));
    key[ACCOUNT_KEY_BYTES..].copy_from_slice(&account_key(spender));
    key
}

pub fn expiration_key(expires_at: u64, allowance: &AllowanceKey) -> ExpirationKey {
    let mut key = [0u8; 8 + 2 * ACCOUNT_KEY_BYTES];
    key[..8].copy_from_slice(&expires_at.to_be_bytes());
    key[8..].copy_from_slice(allowance);
    key
}

pub fn expiration_of(key: &ExpirationKey) -> (u64, AllowanceKey) {
    let mut at = [0u8; 8];
    at.copy_from_slice(&key[..8]);
    let mut allowance = [0u8; 2 * ACCOUNT_KEY_BYTES];
    allowance.copy_from_slice(&key[8..]);
    (u64::from_be_bytes(at), allowance)
}

/// A stored approval: the remaining amount and the optional expiry (ns since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllowanceEntry {
    pub amount: u128,
    pub expires_at: Option<u64>,
}

const ALLOWANCE_ENTRY_BYTES: usize = 16 + 1 + 8;

impl Storable for AllowanceEntry {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(ALLOWANCE_ENTRY_BYTES);
        bytes.extend_from_slice(&self.amount.to_le_bytes());
        bytes.push(self.expires_at.is_some() as u8);
        bytes.extend_from_slice(&self.expires_at.unwrap_or(0).to_le_bytes());
        bytes
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        assert_eq!(bytes.len(), ALLOWANCE_ENTRY_BYTES, "corrupt allowance entry");
        let amount = u128::from_le_bytes(bytes[..16].try_into().unwrap());
        let expires = u64::from_le_bytes(bytes[17..].try_into().unwrap());
        AllowanceEntry { amount, expires_at: (bytes[16] == 1).then_some(expires) }
    }

    const BOUND: Bound = Bound::Bounded { max_size: ALLOWANCE_ENTRY_BYTES as u32, is_fixed_size: true };
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;

    #[test]
    fn explicit_zero_subaccount_is_the_default_account() {
        let owner = Principal::from_slice(&[7; 29]);
        let none = Account { owner, subaccount: None };
        let zero = Account { owner, subaccount: Some([0; 32]) };
        let one = Account { owner, subaccount: Some([1; 32]) };
        assert_eq!(account_key(&none), account_key(&zero));
        assert_ne!(account_key(&none), account_key(&one));
        // Principals of different lengths never collide (the length byte differs).
        let short = Account { owner: Principal::from_slice(&[7; 28]), subaccount: None };
        assert_ne!(account_key(&short), account_key(&none));
    }

    #[test]
    fn allowance_entries_round_trip() {
        for e in [
            AllowanceEntry { amount: 0, expires_at: None },
            AllowanceEntry { amount: u128::MAX, expires_at: Some(u64::MAX) },
            AllowanceEntry { amount: 5, expires_at: Some(0) },
        ] {
            assert_eq!(AllowanceEntry::from_bytes(e.to_bytes()), e);
        }
        let k = allowance_key(&Principal::anonymous().into(), &Principal::management_canister().into());
        assert_eq!(expiration_of(&expiration_key(42, &k)), (42, k));
    }
}
