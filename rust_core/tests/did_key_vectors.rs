//! did:key vectors (w3c-ccg/did-method-key test-vectors/ed25519-x25519.json
//! and x25519.json) and the Ed25519 → X25519 conversion vectors.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{load, unhex, unhex32};
use didrtc_core::did_key::{self, Base58Problem};
use didrtc_core::ed25519::SigningKey;
use didrtc_core::{dht_key, x25519, Error};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A key from a did:key vector key pair: base58 or JWK.
fn key_bytes(pair: &Value, base58_field: &str, jwk_field: &str, jwk_member: &str) -> Vec<u8> {
    if let Some(b58) = pair.get(base58_field).and_then(Value::as_str) {
        bs58::decode(b58).into_vec().unwrap()
    } else {
        let b64 = pair[jwk_field][jwk_member].as_str().unwrap();
        URL_SAFE_NO_PAD.decode(b64).unwrap()
    }
}

#[test]
fn w3c_ed25519_x25519_vectors() {
    let file: BTreeMap<String, Value> = load("didkey_ed25519-x25519.json");
    assert_eq!(file.len(), 5);
    for (did, entry) in &file {
        let seed = unhex(entry["seed"].as_str().unwrap());
        let key = SigningKey::from_seed(&seed).unwrap();
        let vkp = &entry["verificationKeyPair"];
        let kap = &entry["keyAgreementKeyPair"];
        let ed_public = key_bytes(vkp, "publicKeyBase58", "publicKeyJwk", "x");
        let x_public = key_bytes(kap, "publicKeyBase58", "publicKeyJwk", "x");
        let x_secret = key_bytes(kap, "privateKeyBase58", "privateKeyJwk", "d");

        assert_eq!(key.public_key().to_vec(), ed_public, "{did}");
        assert_eq!(&did_key::did_from_public_key(&ed_public).unwrap(), did);
        assert_eq!(
            did_key::public_key_from_did(did).unwrap().to_vec(),
            ed_public
        );
        assert_eq!(entry["didDocument"]["id"].as_str().unwrap(), did);

        assert_eq!(
            x25519::public_from_ed25519(&ed_public).unwrap().to_vec(),
            x_public,
            "{did}"
        );
        assert_eq!(
            x25519::public_from_signing_key(&key).to_vec(),
            x_public,
            "{did}"
        );
        assert_eq!(
            x25519::secret_from_signing_key(&key).to_vec(),
            x_secret,
            "{did}"
        );
        assert_eq!(
            x25519::public_key(&x_secret).unwrap().to_vec(),
            x_public,
            "{did}"
        );

        // The key-agreement id is the X25519 key's own did:key fingerprint
        // (multicodec x25519-pub, 0xec 0x01): a real-world DID that must be
        // refused as an Ed25519 did:key with UnsupportedMulticodec.
        let fingerprint = kap["id"].as_str().unwrap().split('#').nth(1).unwrap();
        assert!(fingerprint.starts_with("z6LS"), "{fingerprint}");
        assert_eq!(
            did_key::public_key_from_did(&format!("did:key:{fingerprint}")),
            Err(Error::UnsupportedMulticodec {
                found: vec![0xec, 0x01]
            })
        );
        dht_key::dht_key(did).unwrap();
    }
}

#[test]
fn w3c_x25519_dids_are_not_ed25519_did_keys() {
    let file: BTreeMap<String, BTreeMap<String, Value>> = load("didkey_x25519.json");
    let dids = &file["didDocument"];
    assert_eq!(dids.len(), 4);
    for did in dids.keys() {
        assert_eq!(
            did_key::public_key_from_did(did),
            Err(Error::UnsupportedMulticodec {
                found: vec![0xec, 0x01]
            }),
            "{did}"
        );
        assert!(matches!(
            dht_key::dht_key(did),
            Err(Error::UnsupportedMulticodec { .. })
        ));
    }
}

#[derive(Deserialize)]
struct Conversion {
    source: String,
    did: Option<String>,
    ed25519_seed: Option<String>,
    ed25519_public_key: String,
    x25519_public_key: Option<String>,
    x25519_secret_key: Option<String>,
    result: String,
}

#[test]
fn ed25519_to_x25519_conversion() {
    let cases: Vec<Conversion> = load("ed25519_to_x25519.json");
    let (mut valid, mut invalid) = (0, 0);
    for case in cases {
        let label = format!("{} {}", case.source, case.ed25519_public_key);
        let ed_public = unhex(&case.ed25519_public_key);
        let mapped = x25519::public_from_ed25519(&ed_public);
        match case.result.as_str() {
            "valid" => {
                valid += 1;
                let x_public = unhex32(case.x25519_public_key.as_deref().unwrap());
                assert_eq!(mapped, Ok(x_public), "{label}");
                let key =
                    SigningKey::from_seed(&unhex(case.ed25519_seed.as_deref().unwrap())).unwrap();
                assert_eq!(key.public_key().to_vec(), ed_public, "{label}");
                assert_eq!(
                    x25519::secret_from_signing_key(&key).to_vec(),
                    unhex(case.x25519_secret_key.as_deref().unwrap()),
                    "{label}"
                );
                assert_eq!(x25519::public_from_signing_key(&key), x_public, "{label}");
                if let Some(did) = &case.did {
                    assert_eq!(did_key::did_from_public_key(&ed_public).unwrap(), *did);
                }
            }
            "invalid" => {
                invalid += 1;
                assert!(
                    matches!(mapped, Err(Error::InvalidKey(_))),
                    "{label} must be rejected, got {mapped:?}"
                );
            }
            other => panic!("{label}: unexpected result {other}"),
        }
    }
    assert_eq!((valid, invalid), (6, 3));
}

#[test]
fn every_malformed_did_variant() {
    let good = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
    let cases: Vec<(String, Error)> = vec![
        (
            "did:web:example.com".into(),
            Error::UnsupportedDidMethod {
                did: "did:web:example.com".into(),
            },
        ),
        (
            good.replacen("did:key:", "DID:KEY:", 1),
            Error::UnsupportedDidMethod {
                did: good.replacen("did:key:", "DID:KEY:", 1),
            },
        ),
        (
            good.replacen(":z", ":m", 1),
            Error::UnsupportedMultibase { found: Some('m') },
        ),
        (
            "did:key:".into(),
            Error::UnsupportedMultibase { found: None },
        ),
        (
            good.replacen("Wp", "W0", 1),
            Error::InvalidBase58(Base58Problem::Character {
                character: '0',
                position: 46,
            }),
        ),
        (
            format!("{good}I"),
            Error::InvalidBase58(Base58Problem::Character {
                character: 'I',
                position: 47,
            }),
        ),
        (
            "did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW".into(),
            Error::UnsupportedMulticodec {
                found: vec![0xec, 0x01],
            },
        ),
        (
            format!(
                "did:key:z{}",
                bs58::encode([0xed, 0x02, 1, 2]).into_string()
            ),
            Error::UnsupportedMulticodec {
                found: vec![0xed, 0x02],
            },
        ),
        (
            format!("did:key:z{}", &good[12..]),
            Error::UnsupportedMulticodec {
                found: bs58::decode(&good[12..]).into_vec().unwrap()[..2].to_vec(),
            },
        ),
        (
            format!(
                "did:key:z{}",
                bs58::encode([&[0xed, 0x01][..], &[1u8; 33]].concat()).into_string()
            ),
            Error::InvalidDidKeyLength { got: 33 },
        ),
        (
            format!("did:key:z{}", bs58::encode([0xed, 0x01]).into_string()),
            Error::InvalidDidKeyLength { got: 0 },
        ),
        (
            format!("did:key:z{}", "2".repeat(513)),
            Error::InvalidBase58(Base58Problem::TooLong { chars: 513 }),
        ),
    ];
    for (did, expected) in cases {
        assert_eq!(
            did_key::public_key_from_did(&did),
            Err(expected.clone()),
            "{did}"
        );
        assert_eq!(dht_key::dht_key(&did), Err(expected), "dht_key({did})");
    }
}
