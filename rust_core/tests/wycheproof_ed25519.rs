//! Project Wycheproof Ed25519 verification vectors, against `verify` (strict)
//! and `verify_batch`, which must agree with `verify` on every case.

mod common;

use common::{load, unhex};
use didrtc_core::ed25519::{self, SigningKey};
use didrtc_core::Error;
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    #[serde(rename = "numberOfTests")]
    number_of_tests: usize,
    #[serde(rename = "testGroups")]
    test_groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(rename = "publicKey")]
    public_key: PublicKey,
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct PublicKey {
    pk: String,
}

#[derive(Deserialize)]
struct Case {
    #[serde(rename = "tcId")]
    tc_id: u32,
    comment: String,
    msg: String,
    sig: String,
    result: String,
    flags: Vec<String>,
}

struct Vector {
    tc_id: u32,
    label: String,
    public_key: Vec<u8>,
    message: Vec<u8>,
    signature: Vec<u8>,
    valid: bool,
}

/// "valid" cases that verify_strict rejects, with the reason. Empty: every
/// Wycheproof "valid" Ed25519 case (testvectors_v1) passes strict
/// verification; none uses a small-order key or R, or a non-canonical
/// encoding, which is what strict verification adds to RFC 8032.
const STRICT_REJECTS_VALID: &[(u32, &str)] = &[];

fn vectors() -> Vec<Vector> {
    let file: File = load("wycheproof_ed25519_test.json");
    let vectors: Vec<Vector> = file
        .test_groups
        .iter()
        .flat_map(|g| {
            g.tests.iter().map(move |t| {
                assert!(
                    t.result == "valid" || t.result == "invalid",
                    "tcId {}: unexpected result {}",
                    t.tc_id,
                    t.result
                );
                Vector {
                    tc_id: t.tc_id,
                    label: format!("tcId {} ({}; {:?})", t.tc_id, t.comment, t.flags),
                    public_key: unhex(&g.public_key.pk),
                    message: unhex(&t.msg),
                    signature: unhex(&t.sig),
                    valid: t.result == "valid",
                }
            })
        })
        .collect();
    assert_eq!(vectors.len(), file.number_of_tests);
    vectors
}

#[test]
fn wycheproof_strict_verify() {
    let mut valid = 0;
    let mut invalid = 0;
    for v in vectors() {
        let result = ed25519::verify(&v.public_key, &v.message, &v.signature);
        let strict_exception = STRICT_REJECTS_VALID.iter().find(|(id, _)| *id == v.tc_id);
        if v.valid && strict_exception.is_none() {
            valid += 1;
            assert_eq!(result, Ok(()), "{} must verify", v.label);
        } else {
            invalid += 1;
            // Every Wycheproof key is 32 bytes, so every rejection is a
            // signature failure, never InvalidKey.
            assert!(
                matches!(result, Err(Error::InvalidSignature(_))),
                "{} must be rejected as InvalidSignature, got {result:?}",
                v.label
            );
        }
    }
    assert_eq!((valid, invalid), (88, 63));
}

/// Honest triples to surround a Wycheproof case with.
fn honest(n: usize) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let key = SigningKey::from_seed(&[i as u8 + 100; 32]).unwrap();
            let message = format!("honest message {i}").into_bytes();
            let signature = key.sign(&message).to_vec();
            (key.public_key().to_vec(), message, signature)
        })
        .collect()
}

#[test]
fn wycheproof_batch_agrees_with_strict() {
    const BATCH: usize = 9;
    let surround = honest(BATCH - 1);
    for v in vectors() {
        let triple = (v.public_key.clone(), v.message.clone(), v.signature.clone());
        let strict = ed25519::verify(&v.public_key, &v.message, &v.signature);

        // A batch of just this case: same outcome, same class, index 0.
        let alone = ed25519::verify_batch(std::slice::from_ref(&triple));
        match &strict {
            Ok(()) => assert_eq!(alone, Ok(()), "{} alone", v.label),
            Err(Error::InvalidSignature(why)) => assert_eq!(
                alone,
                Err(Error::InvalidSignature(format!(
                    "signature 0 of 1 is invalid: {why}"
                ))),
                "{} alone",
                v.label
            ),
            Err(other) => panic!("{}: unexpected {other:?}", v.label),
        }

        // Among honest signatures, at a position that moves with the tcId.
        let position = v.tc_id as usize % BATCH;
        let mut items = surround.clone();
        items.insert(position, triple);
        let batch = ed25519::verify_batch(&items);
        match &strict {
            Ok(()) => assert_eq!(batch, Ok(()), "{} in a batch", v.label),
            Err(Error::InvalidSignature(why)) => assert_eq!(
                batch,
                Err(Error::InvalidSignature(format!(
                    "signature {position} of {BATCH} is invalid: {why}"
                ))),
                "{} in a batch",
                v.label
            ),
            Err(other) => panic!("{}: unexpected {other:?}", v.label),
        }
    }
}

#[test]
fn whole_wycheproof_valid_set_as_one_batch() {
    let items: Vec<_> = vectors()
        .into_iter()
        .filter(|v| v.valid)
        .map(|v| (v.public_key, v.message, v.signature))
        .collect();
    assert_eq!(items.len(), 88);
    ed25519::verify_batch(&items).unwrap();
}

/// The Wycheproof cases where ed25519-dalek's bare `verify_batch` (with
/// none of our pre-checks) disagrees with strict verification, i.e. what the
/// pre-checks in `ed25519::verify_batch` are there for. Pinned so that a
/// change in ed25519-dalek shows up here.
#[test]
fn cases_where_bare_dalek_batch_differs_from_strict() {
    use ed25519_dalek::{Signature, VerifyingKey};
    let mut differs = Vec::new();
    for v in vectors() {
        let strict_ok = ed25519::verify(&v.public_key, &v.message, &v.signature).is_ok();
        let bare_ok = (|| {
            let key = VerifyingKey::from_bytes(v.public_key.as_slice().try_into().ok()?).ok()?;
            let sig = Signature::from_slice(&v.signature).ok()?;
            ed25519_dalek::verify_batch(&[v.message.as_slice()], &[sig], &[key]).ok()
        })()
        .is_some();
        if strict_ok != bare_ok {
            differs.push(v.tc_id);
        }
    }
    // tcId 151: R encodes y = 1 with the sign bit of x set ("negative
    // zero"), a non-canonical encoding of the identity. The bare batch
    // decompresses it to the identity and the equation holds; strict
    // verification rejects it (small order; and the recomputed R never
    // compresses to a non-canonical encoding). Our pre-checks reject it.
    assert_eq!(differs, [151]);
}
