//! ICRC-3 tip certification: the IC hash tree
//!
//! ```text
//! fork( labeled("last_block_hash",  leaf(hash of the last block)),
//!       labeled("last_block_index", leaf(leb128(index of the last block))) )
//! ```
//!
//! whose root hash is the canister's certified data, and its CBOR encoding (returned as
//! `hash_tree` by `icrc3_get_tip_certificate`). Both follow the IC interface specification
//! ("Certification", "Encoding of certificates"); the labels are in sorted order.

use sha2::{Digest, Sha256};

pub const LAST_BLOCK_HASH: &[u8] = b"last_block_hash";
pub const LAST_BLOCK_INDEX: &[u8] = b"last_block_index";

fn domain_hash(sep: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([sep.len() as u8]);
    h.update(sep.as_bytes());
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn leaf_hash(data: &[u8]) -> [u8; 32] {
    domain_hash("ic-hashtree-leaf", &[data])
}

fn labeled_hash(label: &[u8], subtree: &[u8; 32]) -> [u8; 32] {
    domain_hash("ic-hashtree-labeled", &[label, subtree])
}

fn fork_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    domain_hash("ic-hashtree-fork", &[left, right])
}

pub fn leb128(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// The root hash of the tip tree: what `certified_data_set` receives.
pub fn root_hash(last_block_index: u64, last_block_hash: &[u8; 32]) -> [u8; 32] {
    let left = labeled_hash(LAST_BLOCK_HASH, &leaf_hash(last_block_hash));
    let right = labeled_hash(LAST_BLOCK_INDEX, &leaf_hash(&leb128(last_block_index)));
    fork_hash(&left, &right)
}

fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn cbor_bytes(out: &mut Vec<u8>, b: &[u8]) {
    cbor_head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

fn cbor_labeled_leaf(out: &mut Vec<u8>, label: &[u8], data: &[u8]) {
    cbor_head(out, 4, 3); // [2, label, subtree]
    cbor_head(out, 0, 2);
    cbor_bytes(out, label);
    cbor_head(out, 4, 2); // [3, data]
    cbor_head(out, 0, 3);
    cbor_bytes(out, data);
}

/// The CBOR encoding of the tip tree (`[1, [2, label, [3, data]], [2, label, [3, data]]]`).
pub fn hash_tree_cbor(last_block_index: u64, last_block_hash: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    cbor_head(&mut out, 4, 3);
    cbor_head(&mut out, 0, 1);
    cbor_labeled_leaf(&mut out, LAST_BLOCK_HASH, last_block_hash);
    cbor_labeled_leaf(&mut out, LAST_BLOCK_INDEX, &leb128(last_block_index));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_encoding() {
        assert_eq!(leb128(0), vec![0]);
        assert_eq!(leb128(127), vec![127]);
        assert_eq!(leb128(128), vec![0x80, 1]);
        assert_eq!(leb128(624_485), vec![0xE5, 0x8E, 0x26]);
        assert_eq!(leb128(u64::MAX).len(), 10);
    }

    #[test]
    fn tree_encoding_and_root() {
        let hash = [0xab; 32];
        let cbor = hash_tree_cbor(5, &hash);
        let mut expected = vec![0x83, 0x01];
        expected.extend_from_slice(&[0x83, 0x02, 0x4f]);
        expected.extend_from_slice(b"last_block_hash");
        expected.extend_from_slice(&[0x82, 0x03, 0x58, 0x20]);
        expected.extend_from_slice(&hash);
        expected.extend_from_slice(&[0x83, 0x02, 0x50]);
        expected.extend_from_slice(b"last_block_index");
        expected.extend_from_slice(&[0x82, 0x03, 0x41, 0x05]);
        assert_eq!(cbor, expected);
        // Root hash recomputed step by step from the specification's definitions.
        let sha = |parts: &[&[u8]]| -> [u8; 32] {
            let mut h = Sha256::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().into()
        };
        let leaf = |d: &[u8]| sha(&[b"\x10ic-hashtree-leaf", d]);
        let labeled = |l: &[u8], t: [u8; 32]| sha(&[b"\x13ic-hashtree-labeled", l, &t]);
        let fork = |a: [u8; 32], b: [u8; 32]| sha(&[b"\x10ic-hashtree-fork", &a, &b]);
        let expected_root =
            fork(labeled(b"last_block_hash", leaf(&hash)), labeled(b"last_block_index", leaf(&[5])));
        assert_eq!(root_hash(5, &hash), expected_root);
    }
}
