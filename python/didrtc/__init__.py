"""didrtc: find a peer by its did:key and open an authenticated, encrypted WebRTC channel.

This package holds the identity layer every other part stands on::

    import didrtc

    alice = didrtc.Identity.generate()
    signature = alice.sign(b"hello")
    didrtc.verify(alice.did, b"hello", signature)          # raises InvalidSignature if not
    sealed = didrtc.seal(alice.did, b"secret", info=b"demo")
    assert alice.open(sealed, info=b"demo") == b"secret"

The cryptography runs in a Rust core when it is built and in a pure-Python
twin otherwise; :data:`BACKEND` says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from didrtc._backend import backend
from didrtc.did import (
    did_from_public_key,
    public_key_from_did,
    resolve_did_key,
    x25519_public_key_from_did,
)
from didrtc.errors import (
    DecryptionError,
    DidrtcError,
    IdentityFileError,
    InvalidBase58,
    InvalidDid,
    InvalidDidKeyLength,
    InvalidKey,
    InvalidSignature,
    InvalidToken,
    TokenExpired,
    TokenNotYetValid,
    TokenTooLong,
    UnsupportedDidMethod,
    UnsupportedMultibase,
    UnsupportedMulticodec,
    WrongPassphrase,
)
from didrtc.identity import Identity
from didrtc.sealing import seal

try:
    __version__ = version("didrtc")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0.0.0"

BACKEND: str = backend.BACKEND
"""The crypto backend in use: ``"rust"`` or ``"python"``."""

__all__ = [
    "BACKEND",
    "DecryptionError",
    "DidrtcError",
    "Identity",
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
    "__version__",
    "connect",
    "dht_key",
    "did_from_public_key",
    "public_key_from_did",
    "resolve_did_key",
    "seal",
    "verify",
    "verify_batch",
    "x25519_public_key_from_did",
]


def __getattr__(name: str) -> object:
    # didrtc.connect needs aiortc; importing it lazily keeps `import didrtc` light
    # (the identity layer alone is what the discovery server and tools need).
    if name == "connect":
        from didrtc.signaling import connect

        return connect
    raise AttributeError(f"module 'didrtc' has no attribute {name!r}")


def verify(did: str, message: bytes, signature: bytes) -> None:
    """Check that ``did`` signed ``message``, or raise ``InvalidSignature`` (or ``InvalidDid``).

    Verification is strict: non-canonical signatures and small-order keys or
    R points are refused, so a signature has exactly one valid form.
    """
    backend.verify(backend.public_key_from_did(did), message, signature)


def verify_batch(items: Sequence[tuple[str, bytes, bytes]]) -> None:
    """Check many ``(did, message, signature)`` triples at once, faster than one by one.

    Accepts when :func:`verify` accepts each, and the error names the first bad
    index. A signer can build signatures that this accepts and :func:`verify`
    refuses (see ``docs/identity.md``): use :func:`verify` where every verifier
    must agree on input a signer crafted.
    """
    backend.verify_batch(
        [(backend.public_key_from_did(did), message, sig) for did, message, sig in items]
    )


def dht_key(did: str) -> bytes:
    """The 20-byte Kademlia key under which ``did``'s DID Document record is stored."""
    return backend.dht_key(did)
