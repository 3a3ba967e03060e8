//! The one error type of the core.
//!
//! Each variant maps to exactly one exception class of `didrtc.errors` (the
//! mapping lives in `python.rs`, the only place that knows about Python).
//! Messages say what was wrong and quote the offending value or length; they
//! never contain a secret, and never a Debug dump of an upstream error.

use std::fmt;

pub use crate::did_key::Base58Problem;

/// Everything the core can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Wrong-length key, not a curve point, small-order key, or an X25519
    /// exchange that produced the all-zero secret. → `InvalidKey`.
    #[error("{0}")]
    InvalidKey(String),

    /// Signature of the wrong length or failing strict verification.
    /// → `InvalidSignature`.
    #[error("{0}")]
    InvalidSignature(String),

    /// An HPKE ciphertext (or its encapsulated key) did not open.
    /// → `DecryptionError`.
    #[error("{0}")]
    Decryption(String),

    /// The string does not start with `did:key:`. → `UnsupportedDidMethod`.
    #[error("unsupported DID method: {} does not start with \"did:key:\"", Quoted(.did))]
    UnsupportedDidMethod {
        /// The whole string given (quoted truncated in the message).
        did: String,
    },

    /// The method-specific id is not multibase base58btc (`z`).
    /// → `UnsupportedMultibase`.
    #[error("unsupported multibase: the did:key identifier must start with 'z' (base58btc), {}", MultibaseFound(.found))]
    UnsupportedMultibase {
        /// The multibase prefix character found, `None` for an empty identifier.
        found: Option<char>,
    },

    /// The base58btc text has a character outside the alphabet, or is too
    /// long to decode. → `InvalidBase58`.
    #[error("invalid base58btc in the did:key: {0}")]
    InvalidBase58(Base58Problem),

    /// The decoded bytes are not tagged ed25519-pub (varint `0xed 0x01`).
    /// → `UnsupportedMulticodec`.
    #[error("unsupported multicodec: the did:key must be tagged ed25519-pub (0xed 0x01), found {}", HexPrefix(.found))]
    UnsupportedMulticodec {
        /// Up to the first two decoded bytes.
        found: Vec<u8>,
    },

    /// The key after the multicodec tag is not 32 bytes. → `InvalidDidKeyLength`.
    #[error("the Ed25519 public key in a did:key must be 32 bytes, got {got}")]
    InvalidDidKeyLength {
        /// Length of the decoded key (without the multicodec tag).
        got: usize,
    },

    /// An argument outside what the operation can handle that is not a key,
    /// signature, DID or ciphertext (e.g. a plaintext beyond AES-GCM's
    /// limit). → `ValueError`.
    #[error("{0}")]
    InvalidInput(String),

    /// The operating system's CSPRNG failed. → `OSError`.
    #[error("the operating system's random number generator failed: {0}")]
    Randomness(String),

    /// A dependency broke an assumption this crate checks at run time
    /// (see `hpke::IkmAsRng`); a bug, never an input problem. → `RuntimeError`.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Shorthand used throughout the core.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// `InvalidKey` for a key of the wrong length, e.g.
    /// "Ed25519 public key must be 32 bytes, got 31".
    pub(crate) fn key_length(what: &str, expected: usize, got: usize) -> Self {
        Error::InvalidKey(format!("{what} must be {expected} bytes, got {got}"))
    }
}

/// Longest user string echoed back in a message: a DID is ~56 characters, and
/// an attacker-sized string must not become an attacker-sized error.
const MAX_QUOTED_CHARS: usize = 80;

/// Displays a user string in single quotes, escaped, truncated to
/// [`MAX_QUOTED_CHARS`] characters.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("'")?;
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(MAX_QUOTED_CHARS) {
            if c == '\'' {
                f.write_str("\\'")?;
            } else {
                write!(f, "{}", c.escape_debug())?;
            }
        }
        f.write_str("'")?;
        if chars.next().is_some() {
            write!(f, "… ({} characters)", self.0.chars().count())?;
        }
        Ok(())
    }
}

struct MultibaseFound<'a>(&'a Option<char>);

impl fmt::Display for MultibaseFound<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(c) => write!(f, "found {}", Quoted(&c.to_string())),
            None => f.write_str("but it is empty"),
        }
    }
}

struct HexPrefix<'a>(&'a [u8]);

impl fmt::Display for HexPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no bytes");
        }
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "0x{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_what_was_wrong() {
        assert_eq!(
            Error::key_length("Ed25519 public key", 32, 31).to_string(),
            "Ed25519 public key must be 32 bytes, got 31"
        );
        assert_eq!(
            Error::UnsupportedDidMethod {
                did: "did:web:example.com".into()
            }
            .to_string(),
            "unsupported DID method: 'did:web:example.com' does not start with \"did:key:\""
        );
        assert_eq!(
            Error::UnsupportedMultibase { found: Some('u') }.to_string(),
            "unsupported multibase: the did:key identifier must start with 'z' (base58btc), found 'u'"
        );
        assert_eq!(
            Error::UnsupportedMultibase { found: None }.to_string(),
            "unsupported multibase: the did:key identifier must start with 'z' (base58btc), but it is empty"
        );
        assert_eq!(
            Error::InvalidBase58(Base58Problem::Character {
                character: '0',
                position: 7
            })
            .to_string(),
            "invalid base58btc in the did:key: character '0' at position 7 (after the 'z') is not in the base58btc alphabet"
        );
        assert_eq!(
            Error::InvalidBase58(Base58Problem::TooLong { chars: 600 }).to_string(),
            "invalid base58btc in the did:key: 600 characters is over the limit of 512"
        );
        assert_eq!(
            Error::UnsupportedMulticodec {
                found: vec![0xec, 0x01]
            }
            .to_string(),
            "unsupported multicodec: the did:key must be tagged ed25519-pub (0xed 0x01), found 0xec 0x01"
        );
        assert_eq!(
            Error::InvalidDidKeyLength { got: 31 }.to_string(),
            "the Ed25519 public key in a did:key must be 32 bytes, got 31"
        );
    }

    #[test]
    fn long_and_odd_strings_are_truncated_and_escaped() {
        let long = "x".repeat(1000);
        let msg = Error::UnsupportedDidMethod { did: long }.to_string();
        assert!(msg.len() < 200, "{msg}");
        assert!(msg.contains("(1000 characters)"));
        let msg = Error::UnsupportedDidMethod {
            did: "a'b\n".into(),
        }
        .to_string();
        assert!(msg.contains(r"'a\'b\n'"), "{msg}");
    }
}
