//! The certified state tree and its certificates (interface spec: "The system state tree",
//! "Certification"). A [`StateTree`] is built from the network's state; [`StateTree::witness`]
//! keeps only the requested paths (everything else pruned to its hash, with enough labels left
//! to prove a requested path absent); [`certificate`] signs the tree's root hash with the root key.

use std::collections::BTreeMap;

use ic_certification::hash_tree::{empty, fork, label, leaf, pruned, HashTree};
use serde::Serialize;

use crate::keys::Keys;

pub type Path = Vec<Vec<u8>>;

/// A labeled tree: leaves hold bytes, inner nodes map labels to subtrees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateTree {
    Leaf(Vec<u8>),
    Node(BTreeMap<Vec<u8>, StateTree>),
}

impl Default for StateTree {
    fn default() -> Self {
        StateTree::Node(BTreeMap::new())
    }
}

impl StateTree {
    /// Inserts `value` at `path`, creating inner nodes on the way (a leaf on the way is replaced).
    pub fn insert(&mut self, path: &[&[u8]], value: Vec<u8>) {
        let Some((first, rest)) = path.split_first() else {
            *self = StateTree::Leaf(value);
            return;
        };
        if let StateTree::Leaf(_) = self {
            *self = StateTree::default();
        }
        let StateTree::Node(children) = self else { unreachable!() };
        children.entry(first.to_vec()).or_default().insert(rest, value);
    }

    /// The whole tree as a hash tree.
    pub fn full(&self) -> HashTree<Vec<u8>> {
        match self {
            StateTree::Leaf(v) => leaf(v.clone()),
            StateTree::Node(children) => {
                balanced(children.iter().map(|(l, t)| label(l.clone(), t.full())).collect())
            }
        }
    }

    /// The tree with only `paths` revealed. A requested path that does not exist is proved
    /// absent: the labels of its would-be siblings stay visible (their contents pruned).
    pub fn witness(&self, paths: &[Path]) -> HashTree<Vec<u8>> {
        let refs: Vec<&[Vec<u8>]> = paths.iter().map(|p| p.as_slice()).collect();
        self.witness_of(&refs)
    }

    fn witness_of(&self, paths: &[&[Vec<u8>]]) -> HashTree<Vec<u8>> {
        if paths.is_empty() {
            return pruned(self.full().digest());
        }
        if paths.iter().any(|p| p.is_empty()) {
            return self.full();
        }
        match self {
            // A path going below a leaf: the leaf is the answer's end (lookups say "error").
            StateTree::Leaf(_) => pruned(self.full().digest()),
            StateTree::Node(children) => {
                let some_absent = paths.iter().any(|p| !children.contains_key(&p[0]));
                let items = children
                    .iter()
                    .map(|(l, t)| {
                        let below: Vec<&[Vec<u8>]> =
                            paths.iter().filter(|p| p[0] == *l).map(|p| &p[1..]).collect();
                        if !below.is_empty() {
                            label(l.clone(), t.witness_of(&below))
                        } else if some_absent {
                            label(l.clone(), pruned(t.full().digest()))
                        } else {
                            pruned(label(l.clone(), t.full()).digest())
                        }
                    })
                    .collect();
                balanced(items)
            }
        }
    }
}

fn balanced(mut items: Vec<HashTree<Vec<u8>>>) -> HashTree<Vec<u8>> {
    match items.len() {
        0 => empty(),
        1 => items.pop().unwrap(),
        n => {
            let right = items.split_off(n / 2);
            fork(balanced(items), balanced(right))
        }
    }
}

#[derive(Serialize)]
struct Certificate<'a> {
    tree: &'a HashTree<Vec<u8>>,
    #[serde(with = "serde_bytes")]
    signature: Vec<u8>,
}

/// A CBOR certificate (self-describing tag) over `tree`, signed with the root key.
pub fn certificate(keys: &Keys, tree: &HashTree<Vec<u8>>) -> Vec<u8> {
    let cert = Certificate { tree, signature: keys.sign_root_hash(&tree.digest()) };
    self_describing_cbor(&cert)
}

/// CBOR with the self-describing tag 55799 in front, as the IC sends it.
pub fn self_describing_cbor<T: Serialize>(value: &T) -> Vec<u8> {
    let mut ser = serde_cbor::Serializer::new(Vec::new());
    ser.self_describe().expect("writing to a Vec");
    value.serialize(&mut ser).expect("serializing to a Vec");
    ser.into_inner()
}

/// Unsigned LEB128, how the state tree encodes `time` and reject codes.
pub fn leb128(mut n: u64) -> Vec<u8> {
    let mut v = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            v.push(byte);
            return v;
        }
        v.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_certification::hash_tree::LookupResult;

    fn sample() -> StateTree {
        let mut t = StateTree::default();
        t.insert(&[b"time"], leb128(42));
        t.insert(&[b"request_status", b"aa", b"status"], b"replied".to_vec());
        t.insert(&[b"request_status", b"aa", b"reply"], b"DIDL".to_vec());
        t.insert(&[b"request_status", b"cc", b"status"], b"processing".to_vec());
        t.insert(&[b"canister", b"c1", b"certified_data"], vec![1, 2, 3]);
        t
    }

    #[test]
    fn witness_keeps_the_root_hash_and_reveals_only_what_was_asked() {
        let t = sample();
        let full = t.full();
        let w = t.witness(&[vec![b"request_status".to_vec(), b"aa".to_vec()], vec![b"time".to_vec()]]);
        assert_eq!(w.digest(), full.digest());
        assert_eq!(w.lookup_path([b"request_status".as_slice(), b"aa", b"status"]), LookupResult::Found(b"replied"));
        assert_eq!(w.lookup_path([b"time".as_slice()]), LookupResult::Found(&[42u8][..]));
        assert!(matches!(w.lookup_path([b"canister".as_slice(), b"c1", b"certified_data"]), LookupResult::Unknown));
        assert!(matches!(w.lookup_path([b"request_status".as_slice(), b"cc", b"status"]), LookupResult::Unknown));
    }

    #[test]
    fn an_absent_path_is_proved_absent() {
        let t = sample();
        let w = t.witness(&[vec![b"request_status".to_vec(), b"bb".to_vec()]]);
        assert_eq!(w.digest(), t.full().digest());
        assert_eq!(w.lookup_path([b"request_status".as_slice(), b"bb", b"status"]), LookupResult::Absent);
        let w = t.witness(&[vec![b"nothing".to_vec()]]);
        assert_eq!(w.lookup_path([b"nothing".as_slice()]), LookupResult::Absent);
    }

    #[test]
    fn leb128_encodes_as_the_spec_says() {
        assert_eq!(leb128(0), vec![0]);
        assert_eq!(leb128(300), vec![0xac, 0x02]);
    }
}
