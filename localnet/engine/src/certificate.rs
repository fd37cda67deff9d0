//! Data certificates for queries: the IC's CBOR certificate structure (self-describing
//! tag, `tree` + `signature`) with a hash tree holding `/canister/<id>/certified_data`
//! and `/time`.
//!
//! Who signs is a [`Certifier`]. The engine's own, [`UnsignedCertifier`], has no key: its
//! signature is 48 zero bytes, so the shape and the tree are real but nothing verifies. A
//! server that clients verify (localnet-server) plugs in one that signs with a BLS key.

use std::cell::OnceCell;
use std::sync::Arc;

use candid::Principal;

/// Signs what canisters and clients are shown of the subnet's state.
pub trait Certifier: Send + Sync {
    /// The DER-encoded root public key (`ic0.root_key_copy`); the subnet id is its
    /// self-authenticating principal when the net is built with this certifier.
    fn root_key(&self) -> Vec<u8>;
    /// A CBOR certificate whose tree holds `/canister/<canister>/certified_data` and `/time`.
    fn data_certificate(&self, canister: Principal, certified_data: &[u8], time: u64) -> Vec<u8>;
}

/// The engine's default: real structure, zero signature, zero root key.
pub struct UnsignedCertifier;

impl Certifier for UnsignedCertifier {
    fn root_key(&self) -> Vec<u8> {
        crate::system_api::root_key()
    }
    fn data_certificate(&self, canister: Principal, certified_data: &[u8], time: u64) -> Vec<u8> {
        certificate(canister, certified_data, time)
    }
}

/// The certificate a query may read, made only when the canister asks for it (signing costs).
pub struct DataCertificate {
    certifier: Arc<dyn Certifier>,
    canister: Principal,
    certified_data: Vec<u8>,
    time: u64,
    bytes: OnceCell<Vec<u8>>,
}

impl DataCertificate {
    pub fn new(certifier: Arc<dyn Certifier>, canister: Principal, certified_data: Vec<u8>, time: u64) -> Self {
        DataCertificate { certifier, canister, certified_data, time, bytes: OnceCell::new() }
    }
    pub fn bytes(&self) -> &[u8] {
        self.bytes.get_or_init(|| self.certifier.data_certificate(self.canister, &self.certified_data, self.time))
    }
}

impl Clone for DataCertificate {
    fn clone(&self) -> Self {
        DataCertificate {
            certifier: self.certifier.clone(),
            canister: self.canister,
            certified_data: self.certified_data.clone(),
            time: self.time,
            bytes: self.bytes.clone(),
        }
    }
}

impl std::fmt::Debug for DataCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataCertificate({}, {} bytes of data, t={})", self.canister, self.certified_data.len(), self.time)
    }
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes())
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes())
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes())
        }
    }
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn uint(out: &mut Vec<u8>, n: u64) {
    head(out, 0, n);
}

fn labeled(out: &mut Vec<u8>, label: &[u8], inner: impl FnOnce(&mut Vec<u8>)) {
    head(out, 4, 3);
    uint(out, 2);
    bytes(out, label);
    inner(out);
}

fn leaf(out: &mut Vec<u8>, value: &[u8]) {
    head(out, 4, 2);
    uint(out, 3);
    bytes(out, value);
}

fn leb128(mut n: u64) -> Vec<u8> {
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

pub fn certificate(canister: Principal, certified_data: &[u8], time: u64) -> Vec<u8> {
    let mut out = vec![0xd9, 0xd9, 0xf7]; // self-describing CBOR
    head(&mut out, 5, 2);
    text(&mut out, "tree");
    // fork(canister subtree, time leaf)
    head(&mut out, 4, 3);
    uint(&mut out, 1);
    labeled(&mut out, b"canister", |o| {
        labeled(o, canister.as_slice(), |o| labeled(o, b"certified_data", |o| leaf(o, certified_data)))
    });
    labeled(&mut out, b"time", |o| leaf(o, &leb128(time)));
    text(&mut out, "signature");
    bytes(&mut out, &[0u8; 48]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_contains_data_and_time() {
        let id = crate::types::canister_id_from_u64(1);
        let c = certificate(id, b"hello", 300);
        assert_eq!(&c[..3], &[0xd9, 0xd9, 0xf7]);
        let has = |needle: &[u8]| c.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"certified_data") && has(b"hello") && has(id.as_slice()));
        assert!(has(&[0x42, 0xac, 0x02])); // bytes(2) = leb128(300)
        assert_eq!(leb128(0), vec![0]);
    }
}
