//! Ed25519 (RFC 8032) on ed25519-dalek: signing, strict verification and
//! batch verification that accepts exactly what strict verification accepts.
//!
//! # What "strict" means here
//! [`verify`] is ed25519-dalek's `verify_strict`:
//! - `S` must be canonical (`S < ℓ`);
//! - `R` must decompress, and since the check compares the *recomputed*
//!   `[S]B − [k]A`, compressed, with the bytes of `R`, a non-canonical
//!   encoding of `R` never verifies;
//! - `A` and `R` must not be of small order (no "weak keys");
//! - the equation is the cofactorless `[S]B = R + [k]A`.
//!
//! # Which error
//! Only the *lengths* of the inputs are key/signature format errors: a public
//! key that is not 32 bytes is [`Error::InvalidKey`], a signature that is not
//! 64 bytes is [`Error::InvalidSignature`]. A 32-byte public key that does not
//! decompress to a curve point, or that is of small order, is a verification
//! failure ([`Error::InvalidSignature`]), as Wycheproof classifies those
//! cases: whether an arbitrary 32-byte string is a usable key is only learnt
//! while verifying, and callers should not have to catch two classes for
//! "this signature is not valid for this key".

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Length of an Ed25519 seed (RFC 8032 "secret key").
pub const SEED_LENGTH: usize = 32;
/// Length of an Ed25519 public key.
pub const PUBLIC_KEY_LENGTH: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LENGTH: usize = 64;

/// An Ed25519 signing key.
///
/// Invariants:
/// - the seed lives only inside the wrapped `ed25519_dalek::SigningKey`,
///   which zeroizes it on drop (feature `zeroize`); this type adds no copy;
/// - the wrapped key's public half is always the public key of its seed
///   (ed25519-dalek's own invariant, so a mismatched pair cannot be built).
///
/// Not `Clone` and not `Debug`, so the seed cannot be duplicated or printed
/// by accident.
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// Builds the key from its 32-byte RFC 8032 seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self> {
        let seed: &[u8; SEED_LENGTH] = seed
            .try_into()
            .map_err(|_| Error::key_length("Ed25519 seed", SEED_LENGTH, seed.len()))?;
        Ok(Self {
            inner: ed25519_dalek::SigningKey::from_bytes(seed),
        })
    }

    /// A new key from the operating system's CSPRNG.
    ///
    /// Uses the fallible `getrandom::fill` rather than ed25519-dalek's
    /// `generate(&mut impl CryptoRng)`, whose infallible RNG would panic if
    /// the OS refused randomness; here that is an ordinary error.
    pub fn generate() -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; SEED_LENGTH]);
        getrandom::fill(seed.as_mut_slice()).map_err(|e| Error::Randomness(e.to_string()))?;
        Self::from_seed(seed.as_slice())
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LENGTH] {
        self.inner.verifying_key().to_bytes()
    }

    /// A copy of the seed, wiped when the returned value is dropped.
    pub fn seed(&self) -> Zeroizing<[u8; SEED_LENGTH]> {
        Zeroizing::new(self.inner.to_bytes())
    }

    /// The deterministic RFC 8032 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LENGTH] {
        self.inner.sign(message).to_bytes()
    }

    /// The unclamped first half of SHA-512(seed), wiped on drop; the X25519
    /// secret is its clamped form (see `x25519::secret_from_signing_key`).
    pub(crate) fn scalar_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.inner.to_scalar_bytes())
    }
}

/// Parses a public key for verification.
///
/// Wrong length is [`Error::InvalidKey`]; a 32-byte value that is not a curve
/// point is [`Error::InvalidSignature`] (see the module documentation).
fn parse_public_key(public_key: &[u8]) -> Result<VerifyingKey> {
    let bytes: &[u8; PUBLIC_KEY_LENGTH] = public_key.try_into().map_err(|_| {
        Error::key_length("Ed25519 public key", PUBLIC_KEY_LENGTH, public_key.len())
    })?;
    VerifyingKey::from_bytes(bytes).map_err(|_| {
        Error::InvalidSignature(
            "signature verification failed: the Ed25519 public key is not a valid curve point"
                .into(),
        )
    })
}

fn parse_signature(signature: &[u8]) -> Result<Signature> {
    Signature::from_slice(signature).map_err(|_| {
        Error::InvalidSignature(format!(
            "Ed25519 signature must be {SIGNATURE_LENGTH} bytes, got {}",
            signature.len()
        ))
    })
}

fn verification_failed() -> Error {
    Error::InvalidSignature("Ed25519 signature verification failed".into())
}

/// Strictly verifies one signature (ed25519-dalek `verify_strict`).
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<()> {
    let key = parse_public_key(public_key)?;
    let signature = parse_signature(signature)?;
    if key.is_weak() {
        // verify_strict rejects it too; checked here only to say why.
        return Err(Error::InvalidSignature(
            "signature verification failed: the Ed25519 public key is of small order".into(),
        ));
    }
    key.verify_strict(message, &signature)
        .map_err(|_| verification_failed())
}

/// Verifies many `(public_key, message, signature)` triples; accepts when
/// [`verify`] accepts every one of them, with the one exception described
/// under "Remaining difference" below. An empty batch is accepted.
///
/// On failure the error is the one [`verify`] gives for the *first* bad
/// triple, prefixed with its 0-based index, e.g.
/// "signature 3 of 64 is invalid: Ed25519 signature verification failed"
/// (or "signature 3 of 64 has a bad key: ..." for a wrong-length key,
/// which stays [`Error::InvalidKey`], as in [`verify`]). The wording is the
/// Python backend's.
///
/// # How it relates to `verify_strict`
/// ed25519-dalek's `verify_batch` checks one random linear combination,
/// `Σ zᵢ(Rᵢ + kᵢAᵢ − SᵢB) = 0` with 128-bit `zᵢ` derived from a transcript of
/// all inputs. Reading its source (3.0.0, `src/batch.rs`), it differs from
/// `verify_strict` in three ways:
/// 1. it does not reject small-order `A` or `R`;
/// 2. it decompresses `R` and never compares encodings, so a non-canonical
///    encoding of `R` (y ≥ p) of the right point is accepted;
/// 3. it is cofactorless but *randomised*: if a triple's defect
///    `Dᵢ = Rᵢ + kᵢAᵢ − SᵢB` is a non-zero point of small order (possible only
///    when `Aᵢ` or `Rᵢ` has a torsion component), `zᵢDᵢ` vanishes whenever
///    the order of `Dᵢ` (2, 4 or 8) divides `zᵢ`, and defects of several
///    triples may cancel each other.
///
/// Both `verify_strict` and the batch check `S < ℓ` (at parse time) and
/// reject an `R` that does not decompress; both hash the key bytes as given.
///
/// What is done here: every triple is pre-checked before the batch equation
/// for what `verify_strict` checks and the batch does not: key and
/// signature lengths, `A` decompresses and is not of small order, `S < ℓ`,
/// `R` is canonically encoded (y < p; with the next check this is exactly
/// compress(decompress(R)) = R), decompresses and is not of small order.
/// That closes differences 1 and 2 exactly. (Wycheproof tcId 151, R = "y = 1
/// with the sign of x set", is the one Wycheproof case the bare batch
/// accepts and strict verification rejects; the pre-checks reject it.)
///
/// Remaining difference (3): a batch containing a triple whose `A` or `R`
/// is of mixed order (a large prime-order part plus a non-zero torsion
/// part) and whose defect `Dᵢ` is a non-zero torsion point can be accepted
/// here while `verify_strict` rejects that triple. (Strict acceptance of all
/// triples always implies acceptance here: the difference is one-way.)
/// Honest keys and signatures are torsion-free, so only a signer crafting
/// its own malformed key or signature can produce such a triple, and only
/// one valid under the cofactored equation `[8][S]B = [8]R + [8][k]A`
/// (RFC 8032 §5.1.7 permits either equation). For such a crafted triple the
/// chance is 1/2, 1/4 or 1/8 per try depending on the order of `Dᵢ`, and the
/// signer can grind the message: it is reachable by a malicious signer, not
/// only theoretical (tests/batch_divergence.rs pins it: 20 of 32 crafted
/// signatures with an order-2 component in R pass the batch). Closing it
/// needs a prime-order-subgroup check (`[ℓ]P = 0`) on every `A` and `R`:
/// measured at ~27–36 µs per point against ~24 µs per triple for this batch
/// and ~41 µs for one strict verification (x86-64, release), so it would
/// make batching slower than verifying one by one.
///
/// When the batch equation fails, the triples are verified one by one with
/// [`verify`] to name the first bad one. (If none fails — impossible, since
/// strict acceptance of all triples makes every `Dᵢ` zero — the batch is
/// accepted, matching the definition above.)
pub fn verify_batch<K, M, S>(items: &[(K, M, S)]) -> Result<()>
where
    K: AsRef<[u8]>,
    M: AsRef<[u8]>,
    S: AsRef<[u8]>,
{
    if items.is_empty() {
        return Ok(());
    }
    let mut keys = Vec::with_capacity(items.len());
    let mut messages = Vec::with_capacity(items.len());
    let mut signatures = Vec::with_capacity(items.len());
    for (key, message, signature) in items {
        match precheck(key.as_ref(), signature.as_ref()) {
            Some((key, signature)) => {
                keys.push(key);
                messages.push(message.as_ref());
                signatures.push(signature);
            }
            // Something verify_strict would reject: find the first bad one.
            None => return first_failure(items),
        }
    }
    match ed25519_dalek::verify_batch(&messages, &signatures, &keys) {
        Ok(()) => Ok(()),
        Err(_) => first_failure(items),
    }
}

/// The checks of `verify_strict` that the batch equation omits (see
/// [`verify_batch`]); `None` if the triple must be rejected.
fn precheck(public_key: &[u8], signature: &[u8]) -> Option<(VerifyingKey, Signature)> {
    let key = parse_public_key(public_key).ok()?;
    if key.is_weak() {
        return None;
    }
    let signature = parse_signature(signature).ok()?;
    // S < ℓ, as verify_strict checks (ed25519-dalek parses S the same way in
    // both paths; checking it here keeps the batch from failing as a whole).
    let s: Option<curve25519_dalek::Scalar> =
        curve25519_dalek::Scalar::from_canonical_bytes(*signature.s_bytes()).into();
    s?;
    let r_bytes = signature.r_bytes();
    if !y_is_canonical(r_bytes) {
        return None;
    }
    let r = CompressedEdwardsY(*r_bytes).decompress()?;
    if r.is_small_order() {
        return None;
    }
    Some((key, signature))
}

/// Whether the y-coordinate of a compressed Edwards point is canonical
/// (y < p = 2^255 − 19), read from the bytes.
///
/// With the small-order check this is exactly "compress(decompress(R)) = R"
/// (a unit test checks it), at no field inversion: the only other
/// non-canonical encodings are x = 0 with the sign bit set, and the two
/// points with x = 0, (0, 1) and (0, −1), are of small order. p is
/// 0xed, 0xff × 30, 0x7f little-endian; the top bit is x's sign.
fn y_is_canonical(encoding: &[u8; 32]) -> bool {
    let top_is_max = encoding[31] & 0x7f == 0x7f;
    let middle_is_max = encoding[1..31].iter().all(|&b| b == 0xff);
    !(top_is_max && middle_is_max && encoding[0] >= 0xed)
}

/// The error of the first triple [`verify`] rejects, with its index.
fn first_failure<K, M, S>(items: &[(K, M, S)]) -> Result<()>
where
    K: AsRef<[u8]>,
    M: AsRef<[u8]>,
    S: AsRef<[u8]>,
{
    let total = items.len();
    for (index, (key, message, signature)) in items.iter().enumerate() {
        if let Err(e) = verify(key.as_ref(), message.as_ref(), signature.as_ref()) {
            return Err(match e {
                Error::InvalidKey(why) => {
                    Error::InvalidKey(format!("signature {index} of {total} has a bad key: {why}"))
                }
                Error::InvalidSignature(why) => Error::InvalidSignature(format!(
                    "signature {index} of {total} is invalid: {why}"
                )),
                other => other,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_seed(&[n; 32]).unwrap()
    }

    #[test]
    fn sign_verify_roundtrip() {
        let k = key(1);
        let sig = k.sign(b"hello");
        verify(&k.public_key(), b"hello", &sig).unwrap();
        assert!(matches!(
            verify(&k.public_key(), b"hellO", &sig),
            Err(Error::InvalidSignature(_))
        ));
    }

    #[test]
    fn seed_roundtrip_and_generate() {
        let k = key(7);
        assert_eq!(*k.seed(), [7u8; 32]);
        let a = SigningKey::generate().unwrap();
        let b = SigningKey::generate().unwrap();
        assert_ne!(*a.seed(), *b.seed());
        assert_eq!(
            SigningKey::from_seed(&[0u8; 31]).err().unwrap().to_string(),
            "Ed25519 seed must be 32 bytes, got 31"
        );
    }

    #[test]
    fn length_errors_pick_the_right_class() {
        let k = key(2);
        let sig = k.sign(b"m");
        assert_eq!(
            verify(&k.public_key()[..31], b"m", &sig),
            Err(Error::InvalidKey(
                "Ed25519 public key must be 32 bytes, got 31".into()
            ))
        );
        assert_eq!(
            verify(&k.public_key(), b"m", &sig[..63]),
            Err(Error::InvalidSignature(
                "Ed25519 signature must be 64 bytes, got 63".into()
            ))
        );
    }

    #[test]
    fn undecodable_and_weak_keys_fail_verification() {
        // y = 2 is not on the curve.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert!(matches!(
            verify(&not_a_point, b"m", &[0u8; 64]),
            Err(Error::InvalidSignature(_))
        ));
        // The identity (y = 1) is of small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            verify(&identity, b"m", &[0u8; 64]),
            Err(Error::InvalidSignature(_))
        ));
    }

    #[test]
    fn batch_names_first_bad_index() {
        let keys: Vec<SigningKey> = (0..8).map(key).collect();
        let mut items: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let m = vec![i as u8; i + 1];
                (k.public_key().to_vec(), m.clone(), k.sign(&m).to_vec())
            })
            .collect();
        verify_batch(&items).unwrap();
        items[5].1.push(0);
        items[6].2.truncate(10);
        assert_eq!(
            verify_batch(&items),
            Err(Error::InvalidSignature(
                "signature 5 of 8 is invalid: Ed25519 signature verification failed".into()
            ))
        );
        items[2].0.pop();
        assert_eq!(
            verify_batch(&items),
            Err(Error::InvalidKey(
                "signature 2 of 8 has a bad key: Ed25519 public key must be 32 bytes, got 31"
                    .into()
            ))
        );
        let empty: [(&[u8], &[u8], &[u8]); 0] = [];
        verify_batch(&empty).unwrap();
    }

    #[test]
    fn canonical_y_check_matches_compress_roundtrip() {
        // Every encoding with y ≥ p (19 values of y, both sign bits), plus
        // small y and a few honest R values.
        let mut encodings = Vec::new();
        for low in 0xeb..=0xffu8 {
            for sign in [0u8, 0x80] {
                let mut e = [0xffu8; 32];
                e[0] = low;
                e[31] = 0x7f | sign;
                encodings.push(e);
            }
        }
        for y in 0..64u8 {
            for sign in [0u8, 0x80] {
                let mut e = [0u8; 32];
                e[0] = y;
                e[31] = sign;
                encodings.push(e);
            }
        }
        for n in 0..16u8 {
            let sig = key(n).sign(b"r");
            encodings.push(sig[..32].try_into().unwrap());
        }
        let mut decodable = 0;
        for e in encodings {
            let Some(point) = CompressedEdwardsY(e).decompress() else {
                continue;
            };
            decodable += 1;
            let roundtrip = point.compress().0 == e;
            let fast = y_is_canonical(&e) && !point.is_small_order();
            let slow = roundtrip && !point.is_small_order();
            assert_eq!(fast, slow, "{e:02x?}");
        }
        assert!(decodable > 40, "{decodable}");
    }

    #[test]
    fn batch_rejects_non_canonical_r_that_the_bare_equation_accepts() {
        // Non-canonical R: a small-order point encoded with y >= p, e.g. y = p+1
        // (encodes the identity). With A small order too, the bare batch
        // equation would be easy to satisfy; the pre-checks reject it.
        let mut r = [0xffu8; 32];
        r[0] = 0xee; // p + 1 = 2^255 - 18 → 0xee, 0xff.., 0x7f
        r[31] = 0x7f;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r);
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let items = [(identity, b"m".to_vec(), sig)];
        assert!(ed25519_dalek::verify_batch(
            &[b"m".as_slice()],
            &[Signature::from_bytes(&sig)],
            &[VerifyingKey::from_bytes(&identity).unwrap()]
        )
        .is_ok());
        assert!(matches!(
            verify_batch(&items),
            Err(Error::InvalidSignature(_))
        ));
    }
}
