"""The exceptions didrtc raises, defined once for both crypto backends.

The Rust core imports these classes (``pyo3::import_exception!``) rather than
defining its own, so ``except didrtc.InvalidSignature`` catches the same class
whichever backend produced it.
"""

from __future__ import annotations

__all__ = [
    "DecryptionError",
    "DidrtcError",
    "IdentityFileError",
    "InvalidBase58",
    "InvalidDid",
    "InvalidDidKeyLength",
    "InvalidKey",
    "InvalidSignature",
    "InvalidToken",
    "TokenExpired",
    "TokenNotYetValid",
    "TokenTooLong",
    "UnsupportedDidMethod",
    "UnsupportedMultibase",
    "UnsupportedMulticodec",
    "WrongPassphrase",
]


class DidrtcError(Exception):
    """Base class of every error didrtc raises on purpose."""


class InvalidSignature(DidrtcError):
    """A signature did not verify under strict Ed25519 rules, or was malformed."""


class InvalidKey(DidrtcError):
    """A key has the wrong length, is not a valid curve point, or is of small order."""


class DecryptionError(DidrtcError):
    """An HPKE ciphertext did not open: tampered, truncated, or the wrong key, info or aad."""


class InvalidDid(DidrtcError, ValueError):
    """A string is not a well-formed Ed25519 ``did:key``.

    Each way a DID can be malformed has its own subclass, so callers can tell
    a DID of another method from a corrupted one.
    """


class UnsupportedDidMethod(InvalidDid):
    """The DID does not start with ``did:key:``."""


class UnsupportedMultibase(InvalidDid):
    """The method-specific id is not multibase base58btc (prefix ``z``)."""


class InvalidBase58(InvalidDid):
    """The method-specific id holds characters outside the base58btc alphabet."""


class UnsupportedMulticodec(InvalidDid):
    """The decoded key is not tagged ``ed25519-pub`` (multicodec varint ``0xed 0x01``)."""


class InvalidDidKeyLength(InvalidDid):
    """The decoded Ed25519 public key is not exactly 32 bytes."""


class InvalidToken(DidrtcError, ValueError):
    """A compact JWS is malformed, uses another algorithm, or its claims are unusable."""


class TokenExpired(InvalidToken):
    """A signed object's ``exp`` has passed."""


class TokenNotYetValid(InvalidToken):
    """A signed object's ``iat`` lies further in the future than the allowed clock skew."""


class TokenTooLong(InvalidToken):
    """A signed object is over its size limit; refused before any parsing."""


class IdentityFileError(DidrtcError):
    """An identity file is missing, corrupt, unreadable, or too open (not mode 0600)."""


class WrongPassphrase(IdentityFileError):
    """An encrypted identity file did not open with the passphrase given."""
