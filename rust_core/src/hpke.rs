//! HPKE (RFC 9180) base mode, single shot, with the one suite didrtc uses:
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM, on the `hpke` crate.
//!
//! # Deterministic sealing
//! RFC 9180 test vectors fix the sender's ephemeral key pair as
//! `DeriveKeyPair(ikmE)`. The `hpke` crate (0.15) exposes no
//! "encapsulate with this ephemeral key" function (`encap_with_eph` is
//! crate-private), only `*_with_rng` variants. Its ephemeral key comes from
//! `Kem::gen_keypair_with_rng`, which (src/kem.rs) fills one buffer of
//! `Nsk` = 32 bytes from the RNG and returns `derive_keypair(buffer)`, i.e.
//! RFC 9180 `DeriveKeyPair(random(Nsk))`. So an RNG that yields exactly
//! `ikm_e` to that single 32-byte request makes the ephemeral pair
//! `DeriveKeyPair(ikm_e)`. `IkmAsRng` is that RNG; it records any request
//! other than exactly one 32-byte fill, and the seal is then discarded with
//! an error instead of being returned, so a change in the crate cannot
//! silently yield a ciphertext under a wrong (zero-filled) ephemeral key.
//! The RFC 9180 A.1.1 vector test (tests/hpke_rfc9180.rs) proves the
//! construction: `ikmE` from the vector gives the vector's `enc` and
//! ciphertexts.
//!
//! Consequence: `ikm_e` must be exactly 32 bytes (RFC 9180 allows longer
//! IKM for DeriveKeyPair; didrtc only needs it for test vectors, whose
//! X25519 `ikmE` are 32 bytes).
//!
//! Random sealing is the same path with 32 bytes from the OS CSPRNG as
//! `ikm_e` — exactly what the crate's own `gen_keypair_with_rng` does — but
//! drawn with the fallible `getrandom::fill`, so an RNG failure is an error,
//! not a panic.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

use core::convert::Infallible;

use hpke::rand_core::{TryCryptoRng, TryRng};
use hpke::{Deserializable, HpkeError, Kem as KemTrait, OpModeR, OpModeS, Serializable};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::AesGcm128;

/// Length of the encapsulated key (`Nenc`, the ephemeral X25519 public key).
pub const ENC_LENGTH: usize = 32;
/// Length of `ikm_e` accepted by [`seal_deterministic`] (`Nsk`).
pub const IKM_E_LENGTH: usize = 32;

/// Single-shot base-mode seal to `recipient_public_key` (32-byte X25519).
/// Returns `(enc, ciphertext)`.
pub fn seal(
    recipient_public_key: &[u8],
    plaintext: &[u8],
    info: &[u8],
    aad: &[u8],
) -> Result<([u8; ENC_LENGTH], Vec<u8>)> {
    let mut ikm_e = Zeroizing::new([0u8; IKM_E_LENGTH]);
    getrandom::fill(ikm_e.as_mut_slice()).map_err(|e| Error::Randomness(e.to_string()))?;
    seal_deterministic(recipient_public_key, plaintext, info, aad, ikm_e.as_slice())
}

/// [`seal`] with the ephemeral key pair `DeriveKeyPair(ikm_e)`; for test
/// vectors only (reusing `ikm_e` reuses the ephemeral key).
pub fn seal_deterministic(
    recipient_public_key: &[u8],
    plaintext: &[u8],
    info: &[u8],
    aad: &[u8],
    ikm_e: &[u8],
) -> Result<([u8; ENC_LENGTH], Vec<u8>)> {
    let pk = parse_public_key(recipient_public_key)?;
    let ikm_e: &[u8; IKM_E_LENGTH] = ikm_e
        .try_into()
        .map_err(|_| Error::key_length("HPKE ikm_e", IKM_E_LENGTH, ikm_e.len()))?;
    let mut rng = IkmAsRng::new(ikm_e);
    let sealed = hpke::single_shot_seal_with_rng::<Aead, Kdf, Kem>(
        &OpModeS::Base,
        &pk,
        info,
        plaintext,
        aad,
        &mut rng,
    );
    // Check the RNG before looking at the result: a misused RNG means the
    // ephemeral key was not DeriveKeyPair(ikm_e), whatever came out.
    rng.check()?;
    let (enc, ciphertext) = sealed.map_err(|e| {
        match e {
        HpkeError::EncapError => Error::InvalidKey(
            "X25519 recipient public key is of low order: the HPKE shared secret would be all zeros"
                .into(),
        ),
        other => Error::InvalidInput(format!("HPKE seal failed: {other}")),
    }
    })?;
    let mut enc_bytes = [0u8; ENC_LENGTH];
    enc.write_exact(&mut enc_bytes);
    Ok((enc_bytes, ciphertext))
}

/// Single-shot base-mode open with a raw 32-byte X25519 secret key.
///
/// A secret of the wrong length is [`Error::InvalidKey`]; everything about
/// the ciphertext side (an `enc` of the wrong length or of low order, a
/// tampered or truncated ciphertext, the wrong key, info or aad) is
/// [`Error::Decryption`].
pub fn open(
    recipient_secret: &[u8],
    enc: &[u8],
    ciphertext: &[u8],
    info: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if recipient_secret.len() != 32 {
        return Err(Error::key_length(
            "X25519 secret key",
            32,
            recipient_secret.len(),
        ));
    }
    let sk = <Kem as KemTrait>::PrivateKey::from_bytes(recipient_secret)
        .map_err(|_| Error::key_length("X25519 secret key", 32, recipient_secret.len()))?;
    let encapped = <Kem as KemTrait>::EncappedKey::from_bytes(enc).map_err(|_| {
        Error::Decryption(format!(
            "HPKE encapsulated key must be {ENC_LENGTH} bytes, got {}",
            enc.len()
        ))
    })?;
    hpke::single_shot_open::<Aead, Kdf, Kem>(
        &OpModeR::Base,
        &sk,
        &encapped,
        info,
        ciphertext,
        aad,
    )
    .map(Zeroizing::new)
    .map_err(|e| match e {
        HpkeError::DecapError => Error::Decryption(
            "HPKE encapsulated key is of low order: the shared secret would be all zeros".into(),
        ),
        _ => Error::Decryption(
            "HPKE ciphertext did not open: it is tampered or truncated, or the key, info or aad is wrong"
                .into(),
        ),
    })
}

fn parse_public_key(public_key: &[u8]) -> Result<<Kem as KemTrait>::PublicKey> {
    if public_key.len() != 32 {
        return Err(Error::key_length("X25519 public key", 32, public_key.len()));
    }
    <Kem as KemTrait>::PublicKey::from_bytes(public_key)
        .map_err(|_| Error::key_length("X25519 public key", 32, public_key.len()))
}

/// A "random" source that yields `ikm_e` to exactly one 32-byte request.
///
/// Invariant: it is only ever handed to one `single_shot_seal_with_rng`
/// call and [`IkmAsRng::check`] is called afterwards; any other request
/// (a second fill, a fill of another size, `next_u32`/`next_u64`) is
/// answered with zeros and makes `check` fail, so no output produced with
/// those zeros is ever returned. Declared `TryCryptoRng` only because the
/// crate's API requires it; it is not a CSPRNG and must not be used as one.
struct IkmAsRng<'a> {
    ikm: Option<&'a [u8; IKM_E_LENGTH]>,
    misused: bool,
}

impl<'a> IkmAsRng<'a> {
    fn new(ikm: &'a [u8; IKM_E_LENGTH]) -> Self {
        Self {
            ikm: Some(ikm),
            misused: false,
        }
    }

    /// Ok only if the IKM was consumed by exactly one 32-byte fill and
    /// nothing else was asked.
    fn check(&self) -> Result<()> {
        if self.misused || self.ikm.is_some() {
            return Err(Error::Internal(
                "the hpke crate did not draw its ephemeral key as one 32-byte DeriveKeyPair input; deterministic HPKE seal refused".into(),
            ));
        }
        Ok(())
    }
}

impl TryRng for IkmAsRng<'_> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Infallible> {
        self.misused = true;
        Ok(0)
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Infallible> {
        self.misused = true;
        Ok(0)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Infallible> {
        match self.ikm.take() {
            Some(ikm) if dst.len() == ikm.len() => dst.copy_from_slice(ikm),
            _ => {
                self.misused = true;
                dst.fill(0);
            }
        }
        Ok(())
    }
}

impl TryCryptoRng for IkmAsRng<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x25519;

    fn keypair(n: u8) -> ([u8; 32], [u8; 32]) {
        let sk = [n; 32];
        (sk, x25519::public_key(&sk).unwrap())
    }

    #[test]
    fn seal_open_roundtrip_and_failures() {
        let (sk, pk) = keypair(1);
        let (enc, ct) = seal(&pk, b"secret", b"info", b"aad").unwrap();
        assert_eq!(ct.len(), 6 + 16);
        assert_eq!(
            open(&sk, &enc, &ct, b"info", b"aad").unwrap().as_slice(),
            b"secret"
        );
        for (info, aad) in [(&b"infO"[..], &b"aad"[..]), (b"info", b"aaD")] {
            assert!(matches!(
                open(&sk, &enc, &ct, info, aad),
                Err(Error::Decryption(_))
            ));
        }
        let mut bad = ct.clone();
        bad[0] ^= 1;
        assert!(matches!(
            open(&sk, &enc, &bad, b"info", b"aad"),
            Err(Error::Decryption(_))
        ));
        assert!(matches!(
            open(&sk, &enc, &ct[..ct.len() - 1], b"info", b"aad"),
            Err(Error::Decryption(_))
        ));
        let (other_sk, _) = keypair(2);
        assert!(matches!(
            open(&other_sk, &enc, &ct, b"info", b"aad"),
            Err(Error::Decryption(_))
        ));
        assert_eq!(
            open(&sk, &enc[..31], &ct, b"info", b"aad"),
            Err(Error::Decryption(
                "HPKE encapsulated key must be 32 bytes, got 31".into()
            ))
        );
        assert!(matches!(
            open(&sk, &[0u8; 32], &ct, b"info", b"aad"),
            Err(Error::Decryption(_))
        ));
        assert_eq!(
            open(&sk[..31], &enc, &ct, b"info", b"aad"),
            Err(Error::InvalidKey(
                "X25519 secret key must be 32 bytes, got 31".into()
            ))
        );
    }

    #[test]
    fn seal_rejects_bad_recipient_and_ikm() {
        assert!(matches!(
            seal(&[0u8; 32], b"m", b"", b""),
            Err(Error::InvalidKey(_))
        ));
        assert_eq!(
            seal(&[9u8; 33], b"m", b"", b""),
            Err(Error::InvalidKey(
                "X25519 public key must be 32 bytes, got 33".into()
            ))
        );
        let (_, pk) = keypair(3);
        assert_eq!(
            seal_deterministic(&pk, b"m", b"", b"", &[1u8; 31]),
            Err(Error::InvalidKey(
                "HPKE ikm_e must be 32 bytes, got 31".into()
            ))
        );
    }

    #[test]
    fn deterministic_seal_is_deterministic() {
        let (sk, pk) = keypair(4);
        let a = seal_deterministic(&pk, b"m", b"i", b"a", &[5u8; 32]).unwrap();
        let b = seal_deterministic(&pk, b"m", b"i", b"a", &[5u8; 32]).unwrap();
        assert_eq!(a, b);
        assert_eq!(open(&sk, &a.0, &a.1, b"i", b"a").unwrap().as_slice(), b"m");
    }

    #[test]
    fn ikm_rng_flags_misuse() {
        let ikm = [7u8; 32];
        let mut rng = IkmAsRng::new(&ikm);
        assert!(rng.check().is_err(), "unused IKM must fail the check");
        let mut buf = [0u8; 32];
        rng.try_fill_bytes(&mut buf).unwrap();
        assert_eq!(buf, ikm);
        rng.check().unwrap();
        rng.try_fill_bytes(&mut buf).unwrap();
        assert_eq!(buf, [0u8; 32]);
        assert!(rng.check().is_err(), "a second fill must fail the check");

        let mut rng = IkmAsRng::new(&ikm);
        let mut short = [0u8; 16];
        rng.try_fill_bytes(&mut short).unwrap();
        assert!(rng.check().is_err(), "a short fill must fail the check");
    }
}
