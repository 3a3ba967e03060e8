"""Compact JWS (RFC 7515) signed with EdDSA (RFC 8037) by a did:key.

Every signed object didrtc sends — DHT records, discovery listings, signaling
envelopes — is one of these, so any JOSE library can check it: the header is
``{"alg": "EdDSA", "kid": "<did>#<fragment>", "typ": ...}`` and the key is the
one the ``kid``'s DID holds. Header and payload are serialised with JCS
(RFC 8785), so equal objects give equal tokens.

Parsing is strict, because tokens arrive from strangers: only base64url without
padding and in canonical form, only JSON objects without duplicate keys, only
``alg: EdDSA``, no ``crit`` extensions, and a size limit checked before any
decoding.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from didrtc._backend import backend
from didrtc.canonical import canonical_json
from didrtc.did import verification_method_id
from didrtc.errors import (
    InvalidDid,
    InvalidKey,
    InvalidSignature,
    InvalidToken,
    TokenExpired,
    TokenNotYetValid,
    TokenTooLong,
)
from didrtc.identity import Identity

__all__ = [
    "DEFAULT_MAX_TOKEN_BYTES",
    "VerifiedToken",
    "check_validity_window",
    "sign",
    "verify",
]

DEFAULT_MAX_TOKEN_BYTES = 64 * 1024
"""Tokens longer than this are refused before any parsing; callers set tighter limits."""

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_RESERVED_HEADER_NAMES = frozenset({"alg", "kid", "typ"})


@dataclass(frozen=True)
class VerifiedToken:
    """A compact JWS whose signature checked out."""

    signer: str
    """The did:key that signed it (from ``kid``, proven by the signature)."""
    header: dict[str, Any]
    """The protected header."""
    payload: dict[str, Any]
    """The claims."""
    payload_bytes: bytes
    """The payload exactly as signed (JCS bytes when didrtc signed it)."""


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(segment: str, name: str) -> bytes:
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise InvalidToken(f"the JWS {name} is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken(f"the JWS {name} is not unpadded base64url") from None
    # Unused trailing bits must be zero: otherwise one token has many spellings.
    if _b64url_encode(data) != segment:
        raise InvalidToken(f"the JWS {name} is not canonical base64url")
    return data


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidToken(f"duplicate JSON member {key[:40]!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise InvalidToken(f"{name} is not valid JSON")


def _json_object(data: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InvalidToken(f"the JWS {name} is not UTF-8 JSON") from None
    if not isinstance(value, dict):
        raise InvalidToken(f"the JWS {name} must be a JSON object")
    return value


def sign(
    identity: Identity,
    payload: Mapping[str, Any],
    *,
    typ: str | None = None,
    header: Mapping[str, Any] | None = None,
) -> str:
    """A compact JWS of ``payload`` signed by ``identity``.

    ``typ`` names what the token is (for example ``"didrtc-record+jws"``), so a
    token made for one purpose is refused where another is expected.
    ``header`` adds protected header members other than ``alg``, ``kid`` and ``typ``.
    """
    protected: dict[str, Any] = dict(header or {})
    clash = _RESERVED_HEADER_NAMES & protected.keys()
    if clash:
        raise ValueError(f"header members {sorted(clash)} are set by sign() itself")
    protected["alg"] = "EdDSA"
    protected["kid"] = verification_method_id(identity.did)
    if typ is not None:
        protected["typ"] = typ
    signing_input = (
        _b64url_encode(canonical_json(protected)) + "." + _b64url_encode(canonical_json(payload))
    )
    signature = identity.sign(signing_input.encode("ascii"))
    return signing_input + "." + _b64url_encode(signature)


def _signer_of(kid: object) -> str:
    if not isinstance(kid, str) or "#" not in kid:
        raise InvalidToken("the JWS header 'kid' must be a did:key DID URL")
    did, _, _ = kid.partition("#")
    try:
        expected = verification_method_id(did)
    except InvalidDid as error:
        raise InvalidToken(f"the JWS 'kid' names no usable did:key: {error}") from None
    if kid != expected:
        raise InvalidToken("the JWS 'kid' fragment does not name the DID's own key")
    return did


def verify(
    token: str,
    *,
    typ: str | None = None,
    max_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
) -> VerifiedToken:
    """Check a compact JWS and return who signed it and what.

    Raises ``TokenTooLong`` past ``max_bytes``, ``InvalidToken`` for anything
    malformed (or a ``typ`` other than the one given), and ``InvalidSignature``
    when the signature does not verify under the ``kid``'s key.
    """
    if not isinstance(token, str):
        raise InvalidToken(f"a compact JWS is a str, not {type(token).__name__}")
    if len(token) > max_bytes:
        raise TokenTooLong(f"the JWS is {len(token)} bytes; the limit is {max_bytes}")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken(f"a compact JWS has 3 dot-separated parts, this has {len(parts)}")
    header_segment, payload_segment, signature_segment = parts
    header = _json_object(_b64url_decode(header_segment, "header"), "header")
    if header.get("alg") != "EdDSA":
        raise InvalidToken(f"the JWS 'alg' must be 'EdDSA', not {str(header.get('alg'))[:20]!r}")
    if "crit" in header:
        raise InvalidToken("the JWS header has 'crit' extensions, which didrtc does not support")
    if typ is not None and header.get("typ") != typ:
        raise InvalidToken(f"the JWS 'typ' must be {typ!r}, not {str(header.get('typ'))[:40]!r}")
    signer = _signer_of(header.get("kid"))
    payload_bytes = _b64url_decode(payload_segment, "payload")
    signature = _b64url_decode(signature_segment, "signature")
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    try:
        backend.verify(backend.public_key_from_did(signer), signing_input, signature)
    except InvalidKey as error:
        raise InvalidSignature(f"the JWS signer's key is unusable: {error}") from None
    payload = _json_object(payload_bytes, "payload")
    return VerifiedToken(signer=signer, header=header, payload=payload, payload_bytes=payload_bytes)


def _integer_claim(payload: Mapping[str, Any], name: str) -> int:
    value = payload.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidToken(f"the claim {name!r} must be an integer number of seconds")
    return value


def check_validity_window(
    payload: Mapping[str, Any],
    *,
    now: float | None = None,
    max_skew: float = 120.0,
    max_lifetime: float,
) -> tuple[int, int]:
    """Check the ``iat`` and ``exp`` claims (integer seconds since the epoch) and return them.

    Refused: a missing or non-integer claim, ``iat`` more than ``max_skew``
    seconds in the future (``TokenNotYetValid``), ``exp`` in the past
    (``TokenExpired``), ``exp`` not after ``iat``, or ``exp`` more than
    ``max_lifetime`` seconds ahead of now (``InvalidToken``).
    """
    current = time.time() if now is None else now
    issued_at = _integer_claim(payload, "iat")
    expires = _integer_claim(payload, "exp")
    if issued_at > current + max_skew:
        raise TokenNotYetValid(
            f"'iat' is {issued_at - current:.0f} s in the future (allowed skew {max_skew:.0f} s)"
        )
    if expires <= current:
        raise TokenExpired(f"expired {current - expires:.0f} s ago")
    if expires <= issued_at:
        raise InvalidToken("'exp' must be after 'iat'")
    if expires > current + max_lifetime:
        raise InvalidToken(
            f"'exp' is {expires - current:.0f} s ahead; the limit is {max_lifetime:.0f} s"
        )
    return issued_at, expires
