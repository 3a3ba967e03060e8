"""didrtc's cryptographic core, written in Rust (``rust_core/``).

This is the backend contract: ``didrtc._pycore`` implements exactly the same
names on ``cryptography`` and ``pyhpke``, and both must give byte-identical
results for the same inputs. Users import :mod:`didrtc`, never this module.

Errors are the classes of :mod:`didrtc.errors`:

- wrong-length or invalid keys raise :class:`~didrtc.errors.InvalidKey`;
- signatures that fail strict verification, or have the wrong length, raise
  :class:`~didrtc.errors.InvalidSignature`;
- malformed DIDs raise a subclass of :class:`~didrtc.errors.InvalidDid`;
- ciphertexts that do not open raise :class:`~didrtc.errors.DecryptionError`.
"""

from collections.abc import Sequence
from typing import final

__all__ = [
    "BACKEND",
    "SigningKey",
    "__version__",
    "dht_key",
    "did_from_public_key",
    "hpke_open",
    "hpke_seal",
    "hpke_seal_deterministic",
    "public_key_from_did",
    "verify",
    "verify_batch",
    "x25519_public_from_ed25519",
    "x25519_public_key",
    "x25519_shared_secret",
]

__version__: str
"""Version of the ``didrtc-core`` Rust crate."""

BACKEND: str
"""Name of this backend: ``"rust"``."""

@final
class SigningKey:
    """An Ed25519 signing key whose secret stays in Rust memory and is zeroized on drop."""

    def __new__(cls, seed: bytes) -> SigningKey:
        """Build the key from its 32-byte RFC 8032 seed; other lengths raise ``InvalidKey``."""

    @staticmethod
    def generate() -> SigningKey:
        """A new key from the operating system's CSPRNG."""

    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""

    def seed(self) -> bytes:
        """The 32-byte seed, for writing an identity file. Treat the result as secret."""

    def sign(self, message: bytes) -> bytes:
        """The 64-byte deterministic Ed25519 signature of ``message``."""

    def x25519_public_key(self) -> bytes:
        """The X25519 public key derived as did:key derives it (Edwards-to-Montgomery map)."""

    def x25519_secret(self) -> bytes:
        """The X25519 secret key: clamped SHA-512(seed)[:32]. Treat the result as secret."""

    def hpke_open(self, enc: bytes, ciphertext: bytes, info: bytes, aad: bytes) -> bytes:
        """Open an HPKE base-mode ciphertext sealed to this key's X25519 public key."""

def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Strictly verify an Ed25519 signature (as ``verify_strict``) or raise.

    Rejected: non-canonical S, small-order public key or R, any length other
    than 32-byte key and 64-byte signature.
    """

def verify_batch(items: Sequence[tuple[bytes, bytes, bytes]]) -> None:
    """Verify many ``(public_key, message, signature)`` triples at once or raise.

    Accepts when :func:`verify` accepts every triple, and refuses every triple
    :func:`verify` refuses for a malformed, non-canonical or small-order input.
    One difference remains, by design: the holder of a private key can build a
    signature whose R carries a small-order component; :func:`verify` refuses
    it, while the batch equation's random coefficients accept it with some
    probability. Nobody without the key can build one, so it forges nothing;
    where every verifier must reach the same verdict on a signer's adversarial
    input, use :func:`verify`. When a triple fails, the error names the index
    of the first bad one. An empty sequence is accepted.
    """

def did_from_public_key(public_key: bytes) -> str:
    """The ``did:key`` of an Ed25519 public key (multibase base58btc, multicodec 0xed01)."""

def public_key_from_did(did: str) -> bytes:
    """The Ed25519 public key inside a ``did:key``; each malformation has its own error."""

def x25519_public_from_ed25519(public_key: bytes) -> bytes:
    """Map an Ed25519 public key to its X25519 public key; small-order keys raise ``InvalidKey``."""

def x25519_public_key(secret: bytes) -> bytes:
    """The X25519 public key of a 32-byte secret (RFC 7748 scalar multiplication by 9)."""

def x25519_shared_secret(secret: bytes, public_key: bytes) -> bytes:
    """RFC 7748 X25519; an all-zero result (low-order peer key) raises ``InvalidKey``."""

def hpke_seal(
    recipient_public_key: bytes, plaintext: bytes, info: bytes, aad: bytes
) -> tuple[bytes, bytes]:
    """HPKE base-mode single-shot seal, DHKEM(X25519, HKDF-SHA256)/HKDF-SHA256/AES-128-GCM.

    Returns ``(enc, ciphertext)``: the 32-byte encapsulated key and the sealed bytes.
    """

def hpke_seal_deterministic(
    recipient_public_key: bytes, plaintext: bytes, info: bytes, aad: bytes, ikm_e: bytes
) -> tuple[bytes, bytes]:
    """:func:`hpke_seal` with the ephemeral key pair ``DeriveKeyPair(ikm_e)``; for test vectors.

    ``ikm_e`` must be 32 bytes (``InvalidKey`` otherwise), as the RFC 9180 vectors give it.
    """

def hpke_open(
    recipient_secret: bytes, enc: bytes, ciphertext: bytes, info: bytes, aad: bytes
) -> bytes:
    """Open an HPKE base-mode ciphertext with a raw 32-byte X25519 secret key."""

def dht_key(did: str) -> bytes:
    """The 20-byte DHT key of a did:key: SHA-256(b"didrtc/dht-key/v1" || 0x00 || did)[:20].

    The DID is validated first, so a malformed DID raises ``InvalidDid``.
    """
