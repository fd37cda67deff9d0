//! The network's keys: the BLS12-381 root key that signs certificates (the subnet's threshold
//! key on the IC) and the Ed25519 key of the one node that signs query responses.
//!
//! Both are generated on first start. With a state directory they are kept there (private
//! parts readable by the owner only), so a client that pinned the root key keeps working
//! across restarts; the public root key is also written as `root_key.der` for clients.

use std::path::Path;

use anyhow::{bail, Context};
use candid::Principal;
use ed25519_dalek::{Signer, SigningKey};
use ic_verify_bls_signature::PrivateKey;
use rand::RngCore;

/// DER prefix of a BLS12-381 G2 public key as the IC encodes its root key (RFC 8410 style,
/// OID 1.3.6.1.4.1.44668.5.3.1.2.1 for the algorithm and .2.1 for the curve).
const BLS_DER_PREFIX: [u8; 37] = [
    0x30, 0x81, 0x82, 0x30, 0x1d, 0x06, 0x0d, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xdc, 0x7c, 0x05, 0x03, 0x01, 0x02,
    0x01, 0x06, 0x0c, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xdc, 0x7c, 0x05, 0x03, 0x02, 0x01, 0x03, 0x61, 0x00,
];
/// DER prefix of an Ed25519 public key (RFC 8410).
pub const ED25519_DER_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// Domain separator of the certificate signature (`"\x0Dic-state-root"`).
pub const STATE_ROOT_DOMAIN: &[u8] = b"\x0Dic-state-root";

pub struct Keys {
    root: PrivateKey,
    root_key_der: Vec<u8>,
    node: SigningKey,
    node_key_der: Vec<u8>,
    node_id: Principal,
}

impl Keys {
    pub fn generate() -> Keys {
        let mut rng = rand::thread_rng();
        let root = PrivateKey::random(&mut rng);
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Keys::from_parts(root, SigningKey::from_bytes(&seed))
    }

    fn from_parts(root: PrivateKey, node: SigningKey) -> Keys {
        let mut root_key_der = BLS_DER_PREFIX.to_vec();
        root_key_der.extend_from_slice(&root.public_key().serialize());
        let mut node_key_der = ED25519_DER_PREFIX.to_vec();
        node_key_der.extend_from_slice(node.verifying_key().as_bytes());
        let node_id = Principal::self_authenticating(&node_key_der);
        Keys { root, root_key_der, node, node_key_der, node_id }
    }

    /// Loads the keys kept in `dir`, or generates and keeps new ones when there are none.
    pub fn load_or_generate(dir: &Path) -> anyhow::Result<Keys> {
        let root_path = dir.join("root_key.secret");
        let node_path = dir.join("node_key.secret");
        match (root_path.exists(), node_path.exists()) {
            (true, true) => {
                let root = std::fs::read(&root_path).with_context(|| format!("reading {}", root_path.display()))?;
                let root = PrivateKey::deserialize(&root)
                    .map_err(|e| anyhow::anyhow!("{} is not a BLS12-381 private key: {e:?}", root_path.display()))?;
                let node = std::fs::read(&node_path).with_context(|| format!("reading {}", node_path.display()))?;
                let node: [u8; 32] = node
                    .try_into()
                    .map_err(|_| anyhow::anyhow!("{} is not a 32-byte Ed25519 seed", node_path.display()))?;
                let keys = Keys::from_parts(root, SigningKey::from_bytes(&node));
                keys.write_public(dir)?;
                Ok(keys)
            }
            (false, false) => {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                let keys = Keys::generate();
                write_private(&root_path, &keys.root.serialize())?;
                write_private(&node_path, keys.node.as_bytes())?;
                keys.write_public(dir)?;
                Ok(keys)
            }
            _ => bail!(
                "{} holds only one of root_key.secret and node_key.secret: the state is incomplete (restore the missing file or use a new state directory)",
                dir.display()
            ),
        }
    }

    fn write_public(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join("root_key.der");
        std::fs::write(&path, &self.root_key_der).with_context(|| format!("writing {}", path.display()))
    }

    /// The root public key, DER (133 bytes), as `/api/v2/status` reports it.
    pub fn root_key_der(&self) -> &[u8] {
        &self.root_key_der
    }

    /// The subnet id: the self-authenticating principal of the root key, which is what agents
    /// derive when a certificate carries no delegation.
    pub fn subnet_id(&self) -> Principal {
        Principal::self_authenticating(&self.root_key_der)
    }

    pub fn node_id(&self) -> Principal {
        self.node_id
    }

    /// The node's public key, DER (44 bytes), as `/subnet/<sid>/node/<nid>/public_key` holds it.
    pub fn node_key_der(&self) -> &[u8] {
        &self.node_key_der
    }

    /// Signs a state tree's root hash (the certificate signature).
    pub fn sign_root_hash(&self, root_hash: &[u8; 32]) -> Vec<u8> {
        let mut msg = STATE_ROOT_DOMAIN.to_vec();
        msg.extend_from_slice(root_hash);
        self.root.sign(&msg).serialize().to_vec()
    }

    /// Signs as the node (query responses).
    pub fn node_sign(&self, msg: &[u8]) -> Vec<u8> {
        self.node.sign(msg).to_bytes().to_vec()
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_signature_verifies_with_the_der_key() {
        let k = Keys::generate();
        assert_eq!(k.root_key_der().len(), 133);
        let hash = [7u8; 32];
        let sig = k.sign_root_hash(&hash);
        let mut msg = STATE_ROOT_DOMAIN.to_vec();
        msg.extend_from_slice(&hash);
        ic_verify_bls_signature::verify_bls_signature(&sig, &msg, &k.root_key_der()[37..]).expect("verifies");
        assert!(ic_verify_bls_signature::verify_bls_signature(&sig, b"other", &k.root_key_der()[37..]).is_err());
        assert_eq!(k.node_key_der().len(), 44);
    }

    #[test]
    fn keys_are_kept_across_loads_and_half_state_is_refused() {
        let dir = std::env::temp_dir().join(format!("localnet-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = Keys::load_or_generate(&dir).unwrap();
        let b = Keys::load_or_generate(&dir).unwrap();
        assert_eq!(a.root_key_der(), b.root_key_der());
        assert_eq!(a.node_id(), b.node_id());
        assert_eq!(std::fs::read(dir.join("root_key.der")).unwrap(), a.root_key_der());
        std::fs::remove_file(dir.join("node_key.secret")).unwrap();
        let err = Keys::load_or_generate(&dir).err().unwrap().to_string();
        assert!(err.contains("only one of"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

