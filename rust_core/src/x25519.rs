//! X25519 (RFC 7748) and the did:key mapping from Ed25519 keys to X25519 keys.
//!
//! did:key derives an X25519 key-agreement key from the Ed25519 key:
//! - public: the birational map u = (1 + y) / (1 − y) of the Edwards point;
//! - secret: clamp(SHA-512(seed)[..32]), the same scalar Ed25519 signs with,
//!   so that X25519(secret, 9) equals the mapped public key.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::clamp_integer;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::ed25519::SigningKey;
use crate::error::{Error, Result};

/// Length of X25519 secrets, public keys and shared secrets.
pub const KEY_LENGTH: usize = 32;

fn array32<'a>(bytes: &'a [u8], what: &str) -> Result<&'a [u8; KEY_LENGTH]> {
    bytes
        .try_into()
        .map_err(|_| Error::key_length(what, KEY_LENGTH, bytes.len()))
}

/// Maps an Ed25519 public key to its X25519 public key.
///
/// Rejected ([`Error::InvalidKey`]), as libsodium's
/// `crypto_sign_ed25519_pk_to_curve25519` rejects them: a length other than
/// 32, an encoding that is not a curve point, a point of small order (its
/// image is a low-order u, every shared secret with it predictable), and a
/// point outside the prime-order subgroup (mixed order: no honest key is,
/// and its image would leak the peer's secret scalar modulo 8 through
/// protocols that do not clamp). The subgroup check is a full scalar
/// multiplication; this runs once per peer, not per message.
pub fn public_from_ed25519(public_key: &[u8]) -> Result<[u8; KEY_LENGTH]> {
    let bytes = array32(public_key, "Ed25519 public key")?;
    let point = CompressedEdwardsY(*bytes)
        .decompress()
        .ok_or_else(|| Error::InvalidKey("Ed25519 public key is not a valid curve point".into()))?;
    if point.is_small_order() {
        return Err(Error::InvalidKey(
            "Ed25519 public key is of small order and has no usable X25519 key".into(),
        ));
    }
    if !point.is_torsion_free() {
        return Err(Error::InvalidKey(
            "Ed25519 public key is not in the prime-order subgroup (it has a small-order component)"
                .into(),
        ));
    }
    Ok(point.to_montgomery().to_bytes())
}

/// The X25519 secret of an Ed25519 key: clamp(SHA-512(seed)[..32]), wiped on drop.
pub fn secret_from_signing_key(key: &SigningKey) -> Zeroizing<[u8; KEY_LENGTH]> {
    Zeroizing::new(clamp_integer(*key.scalar_bytes()))
}

/// The X25519 public key of `signing_key` (equal to mapping its Ed25519 public key).
pub fn public_from_signing_key(key: &SigningKey) -> [u8; KEY_LENGTH] {
    let secret = StaticSecret::from(*secret_from_signing_key(key));
    PublicKey::from(&secret).to_bytes()
}

/// X25519(secret, 9): the public key of a 32-byte secret (clamped as RFC 7748 says).
pub fn public_key(secret: &[u8]) -> Result<[u8; KEY_LENGTH]> {
    let secret = StaticSecret::from(*array32(secret, "X25519 secret key")?);
    Ok(PublicKey::from(&secret).to_bytes())
}

/// RFC 7748 X25519(secret, public_key).
///
/// The u-coordinate is used as RFC 7748 §5 says (top bit masked,
/// non-canonical values reduced). An all-zero result — the peer key is of
/// low order — is rejected with [`Error::InvalidKey`] (RFC 7748 §6.1 "MAY
/// check"; HPKE and TLS 1.3 require it).
pub fn shared_secret(secret: &[u8], public_key: &[u8]) -> Result<Zeroizing<[u8; KEY_LENGTH]>> {
    let secret = StaticSecret::from(*array32(secret, "X25519 secret key")?);
    let public = PublicKey::from(*array32(public_key, "X25519 public key")?);
    let shared = secret.diffie_hellman(&public);
    if !shared.was_contributory() {
        return Err(Error::InvalidKey(
            "X25519 public key is of low order: the shared secret is all zeros".into(),
        ));
    }
    Ok(Zeroizing::new(shared.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_public_key_matches_secret() {
        for n in 0..8u8 {
            let key = SigningKey::from_seed(&[n; 32]).unwrap();
            let mapped = public_from_ed25519(&key.public_key()).unwrap();
            assert_eq!(mapped, public_from_signing_key(&key));
            assert_eq!(mapped, public_key(&*secret_from_signing_key(&key)).unwrap());
        }
    }

    #[test]
    fn rejects_mixed_order() {
        // An honest key plus the point of order 2, (0, −1).
        let honest = CompressedEdwardsY(SigningKey::from_seed(&[1; 32]).unwrap().public_key())
            .decompress()
            .unwrap();
        let mut t = [0xffu8; 32];
        t[0] = 0xec;
        t[31] = 0x7f;
        let order2 = CompressedEdwardsY(t).decompress().unwrap();
        let mixed = (honest + order2).compress();
        assert_eq!(
            public_from_ed25519(mixed.as_bytes()),
            Err(Error::InvalidKey(
                "Ed25519 public key is not in the prime-order subgroup (it has a small-order component)"
                    .into()
            ))
        );
    }

    #[test]
    fn secret_is_clamped() {
        let key = SigningKey::from_seed(&[9; 32]).unwrap();
        let s = secret_from_signing_key(&key);
        assert_eq!(s[0] & 7, 0);
        assert_eq!(s[31] & 0x80, 0);
        assert_eq!(s[31] & 0x40, 0x40);
    }

    #[test]
    fn rejects_small_order_and_bad_lengths() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            public_from_ed25519(&identity),
            Err(Error::InvalidKey(_))
        ));
        assert_eq!(
            public_from_ed25519(&[0u8; 33]),
            Err(Error::InvalidKey(
                "Ed25519 public key must be 32 bytes, got 33".into()
            ))
        );
        assert_eq!(
            shared_secret(&[1u8; 32], &[0u8; 32]),
            Err(Error::InvalidKey(
                "X25519 public key is of low order: the shared secret is all zeros".into()
            ))
        );
        assert!(matches!(
            shared_secret(&[1u8; 31], &[9u8; 32]),
            Err(Error::InvalidKey(_))
        ));
    }

    #[test]
    fn dh_agrees() {
        let a = [3u8; 32];
        let b = [4u8; 32];
        let ab = shared_secret(&a, &public_key(&b).unwrap()).unwrap();
        let ba = shared_secret(&b, &public_key(&a).unwrap()).unwrap();
        assert_eq!(*ab, *ba);
    }
}
