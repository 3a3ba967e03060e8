"""A peer's identity: an Ed25519 key pair and the did:key it names.

The secret key never leaves the backend's key object (zeroized on drop in the
Rust core) except to be written to an identity file by :mod:`didrtc.keyfile`.
"""

from __future__ import annotations

from pathlib import Path

from didrtc import sealing
from didrtc._backend import backend

__all__ = ["Identity"]


class Identity:
    """An Ed25519 key pair and its ``did:key``.

    >>> alice = Identity.generate()
    >>> signature = alice.sign(b"hello")
    >>> didrtc.verify(alice.did, b"hello", signature)
    """

    __slots__ = ("_did", "_key")

    def __init__(self, key: backend.SigningKey) -> None:
        self._key = key
        self._did = backend.did_from_public_key(key.public_key())

    @classmethod
    def generate(cls) -> Identity:
        """A new identity from the operating system's CSPRNG."""
        return cls(backend.SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Identity:
        """The identity of a 32-byte RFC 8032 seed; other lengths raise ``InvalidKey``."""
        return cls(backend.SigningKey(seed))

    @classmethod
    def load(cls, path: str | Path, passphrase: str | None = None) -> Identity:
        """Read an identity file written by :meth:`save` (see :mod:`didrtc.keyfile`)."""
        from didrtc import keyfile

        return keyfile.load(path, passphrase)

    def save(self, path: str | Path, passphrase: str | None = None) -> None:
        """Write this identity to a new 0600 file, encrypted when ``passphrase`` is given."""
        from didrtc import keyfile

        keyfile.save(self, path, passphrase)

    @property
    def did(self) -> str:
        """The ``did:key`` of this identity."""
        return self._did

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self._key.public_key()

    @property
    def x25519_public_key(self) -> bytes:
        """The X25519 key agreement public key (what others seal to)."""
        return self._key.x25519_public_key()

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def open(self, sealed: bytes, *, info: bytes = b"", aad: bytes = b"") -> bytes:
        """Open what :func:`didrtc.seal` sealed to this DID, or raise ``DecryptionError``."""
        enc, ciphertext = sealing.split_sealed(sealed)
        return self._key.hpke_open(enc, ciphertext, info, aad)

    def seed(self) -> bytes:
        """The 32-byte secret seed. Only :mod:`didrtc.keyfile` should need it."""
        return self._key.seed()

    def __repr__(self) -> str:
        return f"Identity(did={self._did!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Identity):
            return NotImplemented
        return self._did == other._did

    def __hash__(self) -> int:
        return hash(self._did)
