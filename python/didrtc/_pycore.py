"""The pure-Python twin of the Rust core, on ``cryptography``, ``pyhpke`` and PyNaCl.

It implements the contract of ``_core.pyi`` name for name, so the package runs
where the Rust extension cannot be built (Android through python-for-android)
and so benchmarks can compare the two. Differential tests hold both backends
to byte-identical results.

The primitives all come from ``cryptography`` (OpenSSL), ``pyhpke`` and, for
the Ed25519-to-X25519 key conversion that OpenSSL lacks, libsodium through
PyNaCl. What is written here is the glue: chiefly the checks that
``verify_strict`` adds over OpenSSL's Ed25519 verification.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from nacl.bindings import crypto_sign_ed25519_pk_to_curve25519
from nacl.exceptions import RuntimeError as NaclRuntimeError
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKeyInterface, KEMKeyPair, OpenError

from didrtc import _base58
from didrtc.errors import (
    DecryptionError,
    InvalidBase58,
    InvalidDidKeyLength,
    InvalidKey,
    InvalidSignature,
    UnsupportedDidMethod,
    UnsupportedMultibase,
    UnsupportedMulticodec,
)

try:
    __version__ = version("didrtc")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

BACKEND = "python"

_DID_KEY_PREFIX = "did:key:"
_MULTIBASE_BASE58BTC = "z"
_ED25519_MULTICODEC = b"\xed\x01"
_DHT_KEY_DOMAIN = b"didrtc/dht-key/v1\x00"
_DHT_KEY_BYTES = 20

# The field prime of edwards25519 (RFC 8032 section 5.1).
_P = 2**255 - 19
# The y-coordinates of the eight small-order points of edwards25519: the
# identity (y=1), the point of order 2 (y=-1), the two of order 4 (y=0) and
# the four of order 8 (two y values, each with either sign of x). Taken from
# the encodings in libsodium's small-order blocklist (ed25519_ref10.c); every
# encoding whose y reduces to one of these names a small-order point.
_SMALL_ORDER_Y = frozenset(
    {
        0,
        1,
        _P - 1,
        int.from_bytes(
            bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
            "little",
        ),
        int.from_bytes(
            bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
            "little",
        ),
    }
)

_HPKE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES128_GCM)


def _require_length(name: str, value: bytes, length: int) -> None:
    if len(value) != length:
        raise InvalidKey(f"{name} must be {length} bytes, got {len(value)}")


def _edwards_y(encoded: bytes) -> int:
    """The y-coordinate of a compressed edwards25519 point, reduced mod p."""
    return (int.from_bytes(encoded, "little") & ((1 << 255) - 1)) % _P


def _is_small_order(encoded: bytes) -> bool:
    return _edwards_y(encoded) in _SMALL_ORDER_Y


class SigningKey:
    """An Ed25519 signing key; the secret lives in an OpenSSL key object."""

    __slots__ = ("_private", "_public")

    def __init__(self, seed: bytes) -> None:
        seed = bytes(seed)
        _require_length("Ed25519 seed", seed, 32)
        self._private = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        self._public = self._private.public_key().public_bytes_raw()

    @staticmethod
    def generate() -> SigningKey:
        key = SigningKey.__new__(SigningKey)
        key._private = ed25519.Ed25519PrivateKey.generate()
        key._public = key._private.public_key().public_bytes_raw()
        return key

    def public_key(self) -> bytes:
        return self._public

    def seed(self) -> bytes:
        return self._private.private_bytes_raw()

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(bytes(message))

    def x25519_public_key(self) -> bytes:
        return x25519_public_from_ed25519(self._public)

    def x25519_secret(self) -> bytes:
        digest = bytearray(hashlib.sha512(self._private.private_bytes_raw()).digest()[:32])
        # RFC 7748 clamping, which X25519 applies anyway; did:key stores it clamped.
        digest[0] &= 248
        digest[31] &= 127
        digest[31] |= 64
        return bytes(digest)

    def hpke_open(self, enc: bytes, ciphertext: bytes, info: bytes, aad: bytes) -> bytes:
        return hpke_open(self.x25519_secret(), enc, ciphertext, info, aad)

    def __repr__(self) -> str:
        return f"SigningKey(public_key={self._public.hex()})"


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    public_key, signature = bytes(public_key), bytes(signature)
    if len(public_key) != 32:
        raise InvalidKey(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
    if len(signature) != 64:
        raise InvalidSignature(f"Ed25519 signature must be 64 bytes, got {len(signature)}")
    # OpenSSL checks that S is canonical and that the equation holds; the
    # strict rules also refuse small-order public keys and R points.
    if _is_small_order(public_key):
        raise InvalidSignature("the public key is a small-order point")
    if _is_small_order(signature[:32]):
        raise InvalidSignature("the signature's R is a small-order point")
    try:
        key = ed25519.Ed25519PublicKey.from_public_bytes(public_key)
        key.verify(signature, bytes(message))
    except (_CryptographyInvalidSignature, ValueError):
        raise InvalidSignature("the Ed25519 signature does not verify") from None


def verify_batch(items: Sequence[tuple[bytes, bytes, bytes]]) -> None:
    total = len(items)
    for index, (public_key, message, signature) in enumerate(items):
        try:
            verify(public_key, message, signature)
        except InvalidSignature as error:
            raise InvalidSignature(f"signature {index} of {total} is invalid: {error}") from None
        except InvalidKey as error:
            raise InvalidKey(f"signature {index} of {total} has a bad key: {error}") from None


def did_from_public_key(public_key: bytes) -> str:
    public_key = bytes(public_key)
    _require_length("Ed25519 public key", public_key, 32)
    encoded = _base58.encode(_ED25519_MULTICODEC + public_key)
    return f"{_DID_KEY_PREFIX}{_MULTIBASE_BASE58BTC}{encoded}"


def public_key_from_did(did: str) -> bytes:
    if not isinstance(did, str):
        raise TypeError(f"a DID is a str, not {type(did).__name__}")
    if not did.startswith(_DID_KEY_PREFIX):
        raise UnsupportedDidMethod(f"not a did:key DID: {_quote(did)}")
    multibase = did[len(_DID_KEY_PREFIX) :]
    if not multibase.startswith(_MULTIBASE_BASE58BTC):
        raise UnsupportedMultibase(
            f"did:key must use multibase base58btc (prefix 'z'), got {_quote(multibase[:1])}"
        )
    try:
        decoded = _base58.decode(multibase[1:])
    except ValueError as error:
        raise InvalidBase58(f"did:key is not valid base58btc: {error}") from None
    if decoded[:2] != _ED25519_MULTICODEC:
        found = " ".join(f"0x{byte:02x}" for byte in decoded[:2]) or "nothing"
        raise UnsupportedMulticodec(
            f"unsupported multicodec: the did:key must be tagged ed25519-pub (0xed 0x01), "
            f"found {found}"
        )
    public_key = decoded[2:]
    if len(public_key) != 32:
        raise InvalidDidKeyLength(
            f"did:key Ed25519 public key must be 32 bytes, got {len(public_key)}"
        )
    return public_key


def x25519_public_from_ed25519(public_key: bytes) -> bytes:
    public_key = bytes(public_key)
    _require_length("Ed25519 public key", public_key, 32)
    # libsodium refuses what is not a canonical point of the prime-order
    # subgroup (small-order and mixed-order keys included), as the Rust core does.
    try:
        return bytes(crypto_sign_ed25519_pk_to_curve25519(public_key))
    except NaclRuntimeError:
        raise InvalidKey(
            "the Ed25519 public key is not a valid point of the prime-order subgroup"
        ) from None


def x25519_public_key(secret: bytes) -> bytes:
    secret = bytes(secret)
    _require_length("X25519 secret key", secret, 32)
    return x25519.X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()


def x25519_shared_secret(secret: bytes, public_key: bytes) -> bytes:
    secret, public_key = bytes(secret), bytes(public_key)
    _require_length("X25519 secret key", secret, 32)
    _require_length("X25519 public key", public_key, 32)
    private = x25519.X25519PrivateKey.from_private_bytes(secret)
    try:
        return private.exchange(x25519.X25519PublicKey.from_public_bytes(public_key))
    except ValueError:
        # OpenSSL refuses an all-zero shared secret: the peer key has low order.
        raise InvalidKey(
            "X25519 public key is of low order: the shared secret is all zeros"
        ) from None


def _hpke_recipient(recipient_public_key: bytes) -> KEMKeyInterface:
    recipient_public_key = bytes(recipient_public_key)
    _require_length("X25519 recipient public key", recipient_public_key, 32)
    return _HPKE.kem.deserialize_public_key(recipient_public_key)


def _hpke_seal(
    recipient_public_key: bytes,
    plaintext: bytes,
    info: bytes,
    aad: bytes,
    ephemeral: KEMKeyPair | None,
) -> tuple[bytes, bytes]:
    # RFC 9180 section 6.1: single-shot seal is SetupBaseS, then one Seal at sequence 0.
    recipient = _hpke_recipient(recipient_public_key)
    try:
        enc, context = _HPKE.create_sender_context(recipient, bytes(info), eks=ephemeral)
    except ValueError:
        raise InvalidKey("cannot seal to a low-order X25519 public key") from None
    return enc, context.seal(bytes(plaintext), bytes(aad))


def hpke_seal(
    recipient_public_key: bytes, plaintext: bytes, info: bytes, aad: bytes
) -> tuple[bytes, bytes]:
    return _hpke_seal(recipient_public_key, plaintext, info, aad, None)


def hpke_seal_deterministic(
    recipient_public_key: bytes, plaintext: bytes, info: bytes, aad: bytes, ikm_e: bytes
) -> tuple[bytes, bytes]:
    ikm_e = bytes(ikm_e)
    _require_length("HPKE ephemeral input keying material", ikm_e, 32)
    ephemeral = _HPKE.kem.derive_key_pair(ikm_e)
    return _hpke_seal(recipient_public_key, plaintext, info, aad, ephemeral)


def hpke_open(
    recipient_secret: bytes, enc: bytes, ciphertext: bytes, info: bytes, aad: bytes
) -> bytes:
    recipient_secret, enc = bytes(recipient_secret), bytes(enc)
    _require_length("X25519 recipient secret key", recipient_secret, 32)
    if len(enc) != 32:
        raise DecryptionError(f"HPKE enc must be 32 bytes, got {len(enc)}")
    recipient = _HPKE.kem.deserialize_private_key(recipient_secret)
    try:
        context = _HPKE.create_recipient_context(enc, recipient, bytes(info))
        return context.open(bytes(ciphertext), bytes(aad))
    except (OpenError, ValueError):  # a low-order enc fails inside the KEM with ValueError
        raise DecryptionError(
            "the HPKE ciphertext does not open (tampered, or wrong key, info or aad)"
        ) from None


def dht_key(did: str) -> bytes:
    public_key_from_did(did)
    return hashlib.sha256(_DHT_KEY_DOMAIN + did.encode()).digest()[:_DHT_KEY_BYTES]


def _quote(text: str, limit: int = 64) -> str:
    """A repr of untrusted text, cut short so an error message stays readable."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
