//! The DHT key under which a did:key's peer record is stored.
//!
//! `SHA-256(b"didrtc/dht-key/v1" || 0x00 || did_utf8)[..20]`: a domain-
//! separated hash (the label names the purpose and version; the 0x00 ends
//! it, so no DID can extend the label) cut to the 160 bits of a
//! Kademlia-style key space.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

use sha2::{Digest, Sha256};

use crate::did_key;
use crate::error::Result;

/// Domain-separation label of version 1 of the DHT key derivation.
pub const DHT_KEY_LABEL: &[u8] = b"didrtc/dht-key/v1";
/// Length of a DHT key.
pub const DHT_KEY_LENGTH: usize = 20;

/// The DHT key of `did`. The DID is validated first (any `InvalidDid`
/// variant), so only well-formed Ed25519 did:keys have a DHT key.
///
/// The hash is over the DID string exactly as given: did:key has one
/// encoding per key (base58btc is canonical), so a valid DID has no other
/// spelling that would land elsewhere.
pub fn dht_key(did: &str) -> Result<[u8; DHT_KEY_LENGTH]> {
    did_key::public_key_from_did(did)?;
    let digest = Sha256::new()
        .chain_update(DHT_KEY_LABEL)
        .chain_update([0u8])
        .chain_update(did.as_bytes())
        .finalize();
    let mut key = [0u8; DHT_KEY_LENGTH];
    key.copy_from_slice(&digest[..DHT_KEY_LENGTH]);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn matches_definition_and_validates() {
        let did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
        let mut input = b"didrtc/dht-key/v1\x00".to_vec();
        input.extend_from_slice(did.as_bytes());
        let full = Sha256::digest(&input);
        assert_eq!(dht_key(did).unwrap(), full[..20]);
        assert!(matches!(
            dht_key("did:web:x"),
            Err(Error::UnsupportedDidMethod { .. })
        ));
        assert!(matches!(
            dht_key("did:key:z6Mk0"),
            Err(Error::InvalidBase58 { .. })
        ));
    }
}
