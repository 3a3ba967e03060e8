//! The one documented difference between `verify_batch` and strict
//! verification (see `ed25519::verify_batch`): a triple whose R has a
//! torsion component, valid under the cofactored equation but not the
//! cofactorless one, is rejected by `verify` but accepted by the randomised
//! batch equation whenever its coefficient z kills the torsion (z even, for
//! an order-2 component). This pins that behaviour, so a change in
//! ed25519-dalek (or in our pre-checks) that closes or widens the gap shows
//! up here and the documentation gets updated with it.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::{clamp_integer, Scalar};
use curve25519_dalek::traits::IsIdentity;
use didrtc_core::ed25519::{self, SigningKey};
use didrtc_core::Error;
use sha2::{Digest, Sha512};

fn sha512(parts: &[&[u8]]) -> [u8; 64] {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A signature by `seed` on `message` whose R is rB + T, T of order 2, with
/// S computed honestly for that R: [S]B − [k]A = rB ≠ R, [8]([S]B − [k]A) = [8]R.
fn mixed_order_r_signature(seed: &[u8; 32], message: &[u8], nonce: u32) -> [u8; 64] {
    let h = sha512(&[seed]);
    let mut lower = [0u8; 32];
    lower.copy_from_slice(&h[..32]);
    let a = Scalar::from_bytes_mod_order(clamp_integer(lower));
    let public = (a * B).compress();

    // y = p − 1 encodes (0, −1), the point of order 2.
    let mut t_bytes = [0xffu8; 32];
    t_bytes[0] = 0xec;
    t_bytes[31] = 0x7f;
    let t = CompressedEdwardsY(t_bytes).decompress().unwrap();
    assert!(t.is_small_order() && !t.is_identity());

    let r = Scalar::from_bytes_mod_order_wide(&sha512(&[b"nonce", &nonce.to_le_bytes()]));
    let big_r = (r * B + t).compress();
    let k =
        Scalar::from_bytes_mod_order_wide(&sha512(&[big_r.as_bytes(), public.as_bytes(), message]));
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

#[test]
fn mixed_order_r_strict_rejects_batch_sometimes_accepts() {
    let seed = [42u8; 32];
    let public = SigningKey::from_seed(&seed).unwrap().public_key();
    let mut batch_accepted = 0;
    let tries = 32;
    for i in 0..tries {
        let message = format!("message {i}").into_bytes();
        let sig = mixed_order_r_signature(&seed, &message, i);
        assert!(
            matches!(
                ed25519::verify(&public, &message, &sig),
                Err(Error::InvalidSignature(_))
            ),
            "strict verification must reject a mixed-order R"
        );
        if ed25519::verify_batch(&[(public, message, sig)]).is_ok() {
            batch_accepted += 1;
        }
    }
    eprintln!("batch accepted {batch_accepted} of {tries} mixed-order-R signatures");
    // z is even about half of the time; 32 deterministic tries (the z come
    // from a transcript of the inputs) make 0 or 32 acceptances impossible
    // in practice. If this fails with 0, the gap has been closed: update the
    // documentation of ed25519::verify_batch and this test.
    assert!(
        batch_accepted > 0 && batch_accepted < tries,
        "batch accepted {batch_accepted} of {tries}"
    );
}
