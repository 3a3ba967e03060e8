//! RFC 8032 §7.1 Ed25519 vectors: keygen, signing and strict verification.

mod common;

use common::{load, unhex};
use didrtc_core::ed25519::{self, SigningKey};
use didrtc_core::Error;
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    name: String,
    secret_key: String,
    public_key: String,
    message: String,
    signature: String,
}

#[test]
fn rfc8032_sign_and_verify() {
    let cases: Vec<Case> = load("ed25519_rfc8032.json");
    assert_eq!(cases.len(), 5);
    for case in cases {
        let key = SigningKey::from_seed(&unhex(&case.secret_key)).unwrap();
        let message = unhex(&case.message);
        let public_key = unhex(&case.public_key);
        let signature = unhex(&case.signature);
        assert_eq!(key.public_key().to_vec(), public_key, "{}", case.name);
        assert_eq!(key.sign(&message).to_vec(), signature, "{}", case.name);
        ed25519::verify(&public_key, &message, &signature).unwrap();

        let mut tampered = signature.clone();
        tampered[10] ^= 0x40;
        assert!(
            matches!(
                ed25519::verify(&public_key, &message, &tampered),
                Err(Error::InvalidSignature(_))
            ),
            "{}",
            case.name
        );
    }
}

#[test]
fn rfc8032_as_one_batch() {
    let cases: Vec<Case> = load("ed25519_rfc8032.json");
    let items: Vec<_> = cases
        .iter()
        .map(|c| (unhex(&c.public_key), unhex(&c.message), unhex(&c.signature)))
        .collect();
    ed25519::verify_batch(&items).unwrap();
}
