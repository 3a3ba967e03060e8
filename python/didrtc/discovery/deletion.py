"""A signed request to remove a listing: ``DELETE /dids/<did>``, ``Authorization: Bearer <jws>``.

The token (``typ`` :data:`DELETION_TYP`) binds the DID, the server it is meant
for (``aud``, so a deletion sent to one directory cannot be replayed at
another), ``iat``, ``exp`` (at most :data:`MAX_DELETION_LIFETIME` ahead) and a
``nonce``. Only the listed DID can sign it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from didrtc import jws
from didrtc.discovery.errors import InvalidRequestToken, WrongAudience, WrongSigner
from didrtc.discovery.tokens import new_nonce, verify_request
from didrtc.identity import Identity

__all__ = [
    "DELETION_TYP",
    "MAX_DELETION_LIFETIME",
    "MAX_DELETION_TOKEN_BYTES",
    "Deletion",
    "sign_deletion",
    "verify_deletion",
]

DELETION_TYP = "didrtc-delete+jws"
"""The JWS ``typ`` of a deletion request."""
MAX_DELETION_LIFETIME = 600
"""A deletion request expires at most 10 minutes after it is checked."""
MAX_DELETION_TOKEN_BYTES = 2048
"""A deletion token longer than this is refused before any parsing."""
_FIELDS = frozenset({"did", "aud", "iat", "exp", "nonce"})


@dataclass(frozen=True)
class Deletion:
    """A checked deletion request."""

    did: str
    """The DID whose listing goes; the signer."""
    issued_at: int
    """``iat``: listings issued before it are removed, and older registrations then refused."""
    nonce: str
    """The request's one-time nonce."""


def sign_deletion(
    identity: Identity, audience: str, *, lifetime: int = 300, now: int | None = None
) -> str:
    """A deletion token for ``identity``'s listing on the server named ``audience``."""
    issued_at = int(time.time()) if now is None else now
    payload = {
        "did": identity.did,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + lifetime,
        "nonce": new_nonce(),
    }
    return jws.sign(identity, payload, typ=DELETION_TYP)


def verify_deletion(token: str, *, did: str, audience: str, now: float) -> Deletion:
    """What the server checks before it removes ``did``'s listing."""
    signer, payload, issued_at, _ = verify_request(
        token,
        typ=DELETION_TYP,
        max_bytes=MAX_DELETION_TOKEN_BYTES,
        max_lifetime=MAX_DELETION_LIFETIME,
        now=now,
    )
    if set(payload) != _FIELDS:
        raise InvalidRequestToken(f"a deletion's claims are exactly {', '.join(sorted(_FIELDS))}")
    if payload["did"] != signer:
        raise WrongSigner(
            f"the deletion names {str(payload['did'])[:80]!r} but is signed by {signer}"
        )
    if signer != did:
        raise WrongSigner(f"the deletion for {did} is signed by {signer}")
    if payload["aud"] != audience:
        raise WrongAudience(
            f"the deletion is for {str(payload['aud'])[:100]!r}, and this server is {audience!r}"
        )
    return Deletion(did=did, issued_at=issued_at, nonce=str(payload["nonce"]))
