//! RFC 9180 Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! AES-128-GCM, base mode. Deterministic sealing from ikmE must reproduce
//! the vector's enc and first (seq 0) ciphertext, which proves that the
//! hpke crate feeds the fixed IKM to DeriveKeyPair (see src/hpke.rs).

mod common;

use common::{load, unhex};
use didrtc_core::{hpke, x25519, Error};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vector {
    mode: u8,
    kem_id: u16,
    kdf_id: u16,
    aead_id: u16,
    info: String,
    #[serde(rename = "ikmE")]
    ikm_e: String,
    #[serde(rename = "skRm")]
    sk_rm: String,
    #[serde(rename = "skEm")]
    sk_em: String,
    #[serde(rename = "pkRm")]
    pk_rm: String,
    #[serde(rename = "pkEm")]
    pk_em: String,
    enc: String,
    encryptions: Vec<Encryption>,
}

#[derive(Deserialize)]
struct Encryption {
    aad: String,
    ct: String,
    nonce: String,
    pt: String,
}

fn vector() -> Vector {
    let vectors: Vec<Vector> = load("hpke_x25519_rfc9180_base_aes128gcm.json");
    let mut matching: Vec<Vector> = vectors
        .into_iter()
        .filter(|v| v.mode == 0 && v.kem_id == 32 && v.kdf_id == 1 && v.aead_id == 1)
        .collect();
    assert_eq!(matching.len(), 1);
    matching.remove(0)
}

#[test]
fn rfc9180_a_1_1_deterministic_seal_and_open() {
    let v = vector();
    let first = &v.encryptions[0];
    // seq 0 uses the base nonce itself; single-shot seal is exactly seq 0.
    assert_eq!(first.nonce, "56d890e5accaaf011cff4b7d");
    assert_eq!(
        x25519::public_key(&unhex(&v.sk_rm)).unwrap().to_vec(),
        unhex(&v.pk_rm)
    );
    assert_eq!(
        x25519::public_key(&unhex(&v.sk_em)).unwrap().to_vec(),
        unhex(&v.pk_em)
    );

    let (enc, ct) = hpke::seal_deterministic(
        &unhex(&v.pk_rm),
        &unhex(&first.pt),
        &unhex(&v.info),
        &unhex(&first.aad),
        &unhex(&v.ikm_e),
    )
    .unwrap();
    assert_eq!(
        enc.to_vec(),
        unhex(&v.enc),
        "enc = pkEm = pk(DeriveKeyPair(ikmE))"
    );
    assert_eq!(ct, unhex(&first.ct), "ciphertext of seq 0");

    let pt = hpke::open(
        &unhex(&v.sk_rm),
        &unhex(&v.enc),
        &unhex(&first.ct),
        &unhex(&v.info),
        &unhex(&first.aad),
    )
    .unwrap();
    assert_eq!(pt.to_vec(), unhex(&first.pt));
}

#[test]
fn rfc9180_later_sequence_numbers_do_not_open_single_shot() {
    // Ciphertexts of seq ≥ 1 use another nonce: a single-shot open (seq 0)
    // must refuse them rather than return garbage.
    let v = vector();
    let second = &v.encryptions[1];
    assert_eq!(
        hpke::open(
            &unhex(&v.sk_rm),
            &unhex(&v.enc),
            &unhex(&second.ct),
            &unhex(&v.info),
            &unhex(&second.aad),
        )
        .map(|p| p.to_vec()),
        Err(Error::Decryption(
            "HPKE ciphertext did not open: it is tampered or truncated, or the key, info or aad is wrong"
                .into()
        ))
    );
}
