//! did:key for Ed25519 keys (W3C CCG did:key method, multicodec `ed25519-pub`).
//!
//! `did:key:` + multibase base58btc (`z`) of the multicodec varint
//! `0xed 0x01` followed by the 32-byte public key. Decoding checks, in this
//! order, and stops at the first failure, each with its own error:
//! 1. the `did:key:` prefix → [`Error::UnsupportedDidMethod`];
//! 2. the multibase prefix `z` → [`Error::UnsupportedMultibase`];
//! 3. the base58btc text after `z` is at most [`MAX_BASE58_CHARS`]
//!    characters and all of them are in the base58btc alphabet →
//!    [`Error::InvalidBase58`] (naming the first bad character);
//! 4. the decoded bytes start with `0xed 0x01` → [`Error::UnsupportedMulticodec`];
//! 5. exactly 32 bytes follow → [`Error::InvalidDidKeyLength`].
//!
//! Only the encoding is checked: whether the 32 bytes are a valid Ed25519
//! point is left to the operation that uses the key (verification or the
//! X25519 mapping), so that encoding and decoding are exact inverses.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::fmt;

use crate::ed25519::PUBLIC_KEY_LENGTH;
use crate::error::{Error, Result};

/// The method prefix.
pub const DID_KEY_PREFIX: &str = "did:key:";
/// Multibase prefix of base58btc.
const MULTIBASE_BASE58BTC: char = 'z';
/// Multicodec `ed25519-pub` (0xed) as an unsigned varint.
const MULTICODEC_ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// The Bitcoin base58 alphabet, as bs58's `Alphabet::BITCOIN` (a unit test
/// checks the two agree). Checked up front so a bad character is named
/// exactly, with its position.
const BASE58BTC_ALPHABET: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/// Longest base58btc text decoded, in characters. An Ed25519 did:key has
/// 47; base58 decoding is quadratic, so a huge string from the network is
/// refused before decoding. The same limit, checked at the same step, as
/// the Python backend (`didrtc._base58.MAX_ENCODED_LENGTH`), so both raise
/// the same class for the same input.
pub const MAX_BASE58_CHARS: usize = 512;

/// What is wrong with the base58btc text of a did:key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base58Problem {
    /// A character outside the alphabet; `position` counts characters from
    /// 0, starting after the multibase `z`.
    Character {
        /// The offending character.
        character: char,
        /// Its 0-based position in the text after `z`.
        position: usize,
    },
    /// More than [`MAX_BASE58_CHARS`] characters.
    TooLong {
        /// Characters after the multibase `z`.
        chars: usize,
    },
}

impl fmt::Display for Base58Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base58Problem::Character {
                character,
                position,
            } => write!(
                f,
                "character '{}' at position {position} (after the 'z') is not in the base58btc alphabet",
                character.escape_debug()
            ),
            Base58Problem::TooLong { chars } => write!(
                f,
                "{chars} characters is over the limit of {MAX_BASE58_CHARS}"
            ),
        }
    }
}

/// The did:key of a 32-byte Ed25519 public key.
pub fn did_from_public_key(public_key: &[u8]) -> Result<String> {
    if public_key.len() != PUBLIC_KEY_LENGTH {
        return Err(Error::key_length(
            "Ed25519 public key",
            PUBLIC_KEY_LENGTH,
            public_key.len(),
        ));
    }
    let mut tagged = Vec::with_capacity(MULTICODEC_ED25519_PUB.len() + PUBLIC_KEY_LENGTH);
    tagged.extend_from_slice(&MULTICODEC_ED25519_PUB);
    tagged.extend_from_slice(public_key);
    Ok(format!(
        "{DID_KEY_PREFIX}{MULTIBASE_BASE58BTC}{}",
        bs58::encode(tagged).into_string()
    ))
}

/// The Ed25519 public key inside a did:key (see the module documentation
/// for the checks and their order).
pub fn public_key_from_did(did: &str) -> Result<[u8; PUBLIC_KEY_LENGTH]> {
    let id = did
        .strip_prefix(DID_KEY_PREFIX)
        .ok_or_else(|| Error::UnsupportedDidMethod { did: did.into() })?;
    let encoded = match id.strip_prefix(MULTIBASE_BASE58BTC) {
        Some(rest) => rest,
        None => {
            return Err(Error::UnsupportedMultibase {
                found: id.chars().next(),
            })
        }
    };
    let chars = encoded.chars().count();
    if chars > MAX_BASE58_CHARS {
        return Err(Error::InvalidBase58(Base58Problem::TooLong { chars }));
    }
    if let Some((position, character)) = encoded
        .chars()
        .enumerate()
        .find(|(_, c)| !BASE58BTC_ALPHABET.contains(*c))
    {
        return Err(Error::InvalidBase58(Base58Problem::Character {
            character,
            position,
        }));
    }
    let decoded = bs58::decode(encoded)
        .with_alphabet(bs58::Alphabet::BITCOIN)
        .into_vec()
        .map_err(|e| base58_error(encoded, e))?;
    let key = decoded
        .strip_prefix(&MULTICODEC_ED25519_PUB)
        .ok_or_else(|| Error::UnsupportedMulticodec {
            found: decoded.iter().take(2).copied().collect(),
        })?;
    key.try_into()
        .map_err(|_| Error::InvalidDidKeyLength { got: key.len() })
}

/// Only reachable if bs58 and [`BASE58BTC_ALPHABET`] disagreed; still maps
/// to the right class with the right character.
fn base58_error(encoded: &str, e: bs58::decode::Error) -> Error {
    let byte_index = match e {
        bs58::decode::Error::InvalidCharacter { index, .. }
        | bs58::decode::Error::NonAsciiCharacter { index } => index,
        _ => 0,
    };
    let character = encoded
        .get(byte_index..)
        .and_then(|s| s.chars().next())
        .unwrap_or('\u{fffd}');
    let position = encoded.get(..byte_index).map_or(0, |s| s.chars().count());
    Error::InvalidBase58(Base58Problem::Character {
        character,
        position,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DID0: &str = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";

    #[test]
    fn alphabet_agrees_with_bs58() {
        for c in (0u8..=255).map(char::from).chain(['é', '€', '\u{1F600}']) {
            let s = c.to_string();
            let by_bs58 = bs58::decode(&s).into_vec().is_ok();
            assert_eq!(by_bs58, BASE58BTC_ALPHABET.contains(c), "{c:?}");
        }
    }

    #[test]
    fn roundtrip() {
        let pk = public_key_from_did(DID0).unwrap();
        assert_eq!(did_from_public_key(&pk).unwrap(), DID0);
        for n in 0..=255u8 {
            let pk = [n; 32];
            let did = did_from_public_key(&pk).unwrap();
            assert!(did.starts_with("did:key:z6Mk"), "{did}");
            assert_eq!(public_key_from_did(&did).unwrap(), pk);
        }
    }

    #[test]
    fn each_malformation_has_its_error() {
        assert!(matches!(
            public_key_from_did("did:web:example.com"),
            Err(Error::UnsupportedDidMethod { .. })
        ));
        assert!(matches!(
            public_key_from_did(""),
            Err(Error::UnsupportedDidMethod { .. })
        ));
        assert_eq!(
            public_key_from_did("did:key:"),
            Err(Error::UnsupportedMultibase { found: None })
        );
        assert_eq!(
            public_key_from_did("did:key:f6Mk"),
            Err(Error::UnsupportedMultibase { found: Some('f') })
        );
        let bad = |character, position| {
            Err(Error::InvalidBase58(Base58Problem::Character {
                character,
                position,
            }))
        };
        assert_eq!(public_key_from_did("did:key:z6Mk0abc"), bad('0', 3));
        assert_eq!(public_key_from_did("did:key:z6Mké"), bad('é', 3));
        assert_eq!(public_key_from_did(&format!("{DID0}#frag")), bad('#', 47));
        assert_eq!(
            public_key_from_did("did:key:z"),
            Err(Error::UnsupportedMulticodec { found: vec![] })
        );
        // An X25519 did:key (multicodec 0xec 0x01).
        assert_eq!(
            public_key_from_did("did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW"),
            Err(Error::UnsupportedMulticodec {
                found: vec![0xec, 0x01]
            })
        );
        let short = bs58::encode([&[0xed, 0x01][..], &[7u8; 31]].concat()).into_string();
        assert_eq!(
            public_key_from_did(&format!("did:key:z{short}")),
            Err(Error::InvalidDidKeyLength { got: 31 })
        );
        let long = bs58::encode([&[0xed, 0x01][..], &[7u8; 33]].concat()).into_string();
        assert_eq!(
            public_key_from_did(&format!("did:key:z{long}")),
            Err(Error::InvalidDidKeyLength { got: 33 })
        );
        // At the limit: decoded (all '1' = zero bytes), wrong multicodec.
        let at_limit = format!("did:key:z{}", "1".repeat(MAX_BASE58_CHARS));
        assert_eq!(
            public_key_from_did(&at_limit),
            Err(Error::UnsupportedMulticodec { found: vec![0, 0] })
        );
        // Over it: refused before looking at the characters, as in Python.
        let huge = format!("did:key:z{}0", "2".repeat(100_000));
        assert_eq!(
            public_key_from_did(&huge),
            Err(Error::InvalidBase58(Base58Problem::TooLong {
                chars: 100_001
            }))
        );
        let multibyte = format!("did:key:z{}", "é".repeat(MAX_BASE58_CHARS));
        assert_eq!(public_key_from_did(&multibyte), bad('é', 0));
    }

    #[test]
    fn encode_rejects_wrong_length() {
        assert_eq!(
            did_from_public_key(&[0u8; 31]),
            Err(Error::key_length("Ed25519 public key", 32, 31))
        );
    }
}
