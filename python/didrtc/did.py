"""did:key for Ed25519: the DID of a key, the key of a DID, and its DID document.

The document follows the did:key method specification: one Ed25519
verification method, used for ``authentication``, ``assertionMethod`` and the
capability relations, and the X25519 key agreement method derived from it.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

from didrtc import _base58
from didrtc._backend import backend

__all__ = [
    "KeyFormat",
    "did_from_public_key",
    "key_agreement_id",
    "public_key_from_did",
    "resolve_did_key",
    "verification_method_id",
    "x25519_public_key_from_did",
]

KeyFormat = Literal["Ed25519VerificationKey2018", "JsonWebKey2020"]
"""How a DID document writes its keys: base58 (2018/2019 suites) or as JWKs."""

_X25519_MULTICODEC = b"\xec\x01"
_CONTEXTS: dict[str, list[str]] = {
    "Ed25519VerificationKey2018": [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/suites/ed25519-2018/v1",
        "https://w3id.org/security/suites/x25519-2019/v1",
    ],
    "JsonWebKey2020": [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/suites/jws-2020/v1",
    ],
}


def did_from_public_key(public_key: bytes) -> str:
    """The ``did:key`` of a 32-byte Ed25519 public key."""
    return backend.did_from_public_key(public_key)


def public_key_from_did(did: str) -> bytes:
    """The Ed25519 public key of a ``did:key``; raises an ``InvalidDid`` subclass."""
    return backend.public_key_from_did(did)


def x25519_public_key_from_did(did: str) -> bytes:
    """The X25519 key agreement public key a ``did:key`` implies."""
    return backend.x25519_public_from_ed25519(backend.public_key_from_did(did))


def verification_method_id(did: str) -> str:
    """The DID URL of a did:key's Ed25519 key: ``did:key:z6Mk...#z6Mk...``; the JWS ``kid``."""
    backend.public_key_from_did(did)
    return f"{did}#{did.removeprefix('did:key:')}"


def key_agreement_id(did: str) -> str:
    """The DID URL of a did:key's derived X25519 key: ``did:key:z6Mk...#z6LS...``."""
    x25519_key = x25519_public_key_from_did(did)
    return f"{did}#z{_base58.encode(_X25519_MULTICODEC + x25519_key)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def resolve_did_key(
    did: str, *, key_format: KeyFormat = "Ed25519VerificationKey2018"
) -> dict[str, Any]:
    """Resolve a ``did:key`` to its W3C DID Core document, as the did:key spec's vectors show.

    Resolution needs no network: the document is derived from the key the DID
    holds. ``key_format`` picks base58 keys (the default) or JWKs.
    """
    if key_format not in _CONTEXTS:
        raise ValueError(f"key_format must be one of {sorted(_CONTEXTS)}, not {key_format!r}")
    ed25519_key = backend.public_key_from_did(did)
    x25519_key = backend.x25519_public_from_ed25519(ed25519_key)
    signing_id = verification_method_id(did)
    agreement_id = key_agreement_id(did)
    if key_format == "JsonWebKey2020":
        signing_material: dict[str, Any] = {
            "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": _b64url(ed25519_key)}
        }
        agreement_material: dict[str, Any] = {
            "publicKeyJwk": {"kty": "OKP", "crv": "X25519", "x": _b64url(x25519_key)}
        }
        agreement_type = "JsonWebKey2020"
    else:
        signing_material = {"publicKeyBase58": _base58.encode(ed25519_key)}
        agreement_material = {"publicKeyBase58": _base58.encode(x25519_key)}
        agreement_type = "X25519KeyAgreementKey2019"
    return {
        "@context": list(_CONTEXTS[key_format]),
        "id": did,
        "verificationMethod": [
            {"id": signing_id, "type": key_format, "controller": did, **signing_material},
            {"id": agreement_id, "type": agreement_type, "controller": did, **agreement_material},
        ],
        "assertionMethod": [signing_id],
        "authentication": [signing_id],
        "capabilityInvocation": [signing_id],
        "capabilityDelegation": [signing_id],
        "keyAgreement": [agreement_id],
    }
