"""Seal a message to a did:key with HPKE (RFC 9180), so only that DID's owner can open it.

Suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode: every
part of it is in WebCrypto, so a browser peer can interoperate. The sealed form
is ``enc || ciphertext``: the 32-byte encapsulated key, then the AEAD output.
"""

from __future__ import annotations

from didrtc._backend import backend
from didrtc.errors import DecryptionError

__all__ = ["ENC_LENGTH", "TAG_LENGTH", "seal", "split_sealed"]

ENC_LENGTH = 32
"""Bytes of the HPKE encapsulated key (an X25519 public key) at the front of a sealed message."""
TAG_LENGTH = 16
"""Bytes of the AES-GCM tag: a sealed message is ``ENC_LENGTH + len(plaintext) + TAG_LENGTH``."""


def seal(to_did: str, plaintext: bytes, *, info: bytes = b"", aad: bytes = b"") -> bytes:
    """Seal ``plaintext`` to the X25519 key of ``to_did``.

    ``info`` binds the message to its purpose (a protocol label); ``aad`` is
    authenticated but not encrypted. The recipient must give both again to
    :meth:`didrtc.Identity.open`.
    """
    recipient = backend.x25519_public_from_ed25519(backend.public_key_from_did(to_did))
    enc, ciphertext = backend.hpke_seal(recipient, plaintext, info, aad)
    return enc + ciphertext


def split_sealed(sealed: bytes) -> tuple[bytes, bytes]:
    """``(enc, ciphertext)`` of a sealed message, or ``DecryptionError`` if it is too short."""
    if len(sealed) < ENC_LENGTH + TAG_LENGTH:
        raise DecryptionError(
            f"a sealed message is at least {ENC_LENGTH + TAG_LENGTH} bytes, got {len(sealed)}"
        )
    return bytes(sealed[:ENC_LENGTH]), bytes(sealed[ENC_LENGTH:])
