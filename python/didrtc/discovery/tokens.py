"""Checking the signed requests the discovery server takes: registrations and deletions.

Both are compact JWS (:mod:`didrtc.jws`) signed by the DID they concern. On
top of the signature this module enforces freshness: ``iat`` at most
:data:`MAX_CLOCK_SKEW` seconds ahead of the server's clock and at most
:data:`MAX_REQUEST_AGE` seconds behind it, so a captured request is useless
after a few minutes, and the replay cache (:mod:`didrtc.discovery.store`)
only has to remember each ``nonce`` for that long.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from didrtc import jws
from didrtc.discovery.errors import (
    InvalidRequestToken,
    RequestExpired,
    RequestNotYetValid,
    RequestTooLarge,
    RequestTooOld,
    SignatureRejected,
)
from didrtc.errors import (
    InvalidSignature,
    InvalidToken,
    TokenExpired,
    TokenNotYetValid,
    TokenTooLong,
)

__all__ = [
    "MAX_CLOCK_SKEW",
    "MAX_REQUEST_AGE",
    "NONCE_PATTERN",
    "new_nonce",
    "nonce_retention",
    "verify_request",
]

MAX_CLOCK_SKEW = 120
"""Seconds a request's ``iat`` may lie ahead of the server's clock."""
MAX_REQUEST_AGE = 300
"""Seconds a request's ``iat`` may lie behind the server's clock."""
NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
"""A nonce: 16 to 64 base64url characters (:func:`new_nonce` gives 22, 128 random bits)."""


def new_nonce() -> str:
    """A fresh random nonce (128 bits, base64url)."""
    return secrets.token_urlsafe(16)


def nonce_retention(issued_at: int, now: int) -> int:
    """Until when the replay cache must remember a nonce of a request issued at ``issued_at``.

    A request is accepted only while ``now - iat <= MAX_REQUEST_AGE``, so past
    that instant (plus a margin) the freshness check alone refuses a replay.
    """
    return max(issued_at, now) + MAX_REQUEST_AGE + MAX_CLOCK_SKEW


def verify_request(
    token: str,
    *,
    typ: str,
    max_bytes: int,
    max_lifetime: int,
    now: float,
) -> tuple[str, Mapping[str, Any], int, int]:
    """Check a signed request and return ``(signer, payload, iat, exp)``.

    Raises the discovery error for each way it can fail: ``RequestTooLarge``,
    ``InvalidRequestToken``, ``SignatureRejected``, ``RequestExpired``,
    ``RequestNotYetValid`` or ``RequestTooOld``. The ``nonce`` claim must be
    present and well formed; whether it is new is the store's question.
    """
    try:
        verified = jws.verify(token, typ=typ, max_bytes=max_bytes)
        issued_at, expires = jws.check_validity_window(
            verified.payload, now=now, max_skew=MAX_CLOCK_SKEW, max_lifetime=max_lifetime
        )
    except TokenTooLong as error:
        raise RequestTooLarge(str(error)) from None
    except TokenExpired as error:
        raise RequestExpired(f"the signed request {error}") from None
    except TokenNotYetValid as error:
        raise RequestNotYetValid(str(error)) from None
    except InvalidSignature as error:
        raise SignatureRejected(str(error)) from None
    except InvalidToken as error:
        raise InvalidRequestToken(str(error)) from None
    if now - issued_at > MAX_REQUEST_AGE:
        raise RequestTooOld(
            f"'iat' is {now - issued_at:.0f} s old; a signed request is accepted for "
            f"{MAX_REQUEST_AGE} s after it is issued"
        )
    nonce = verified.payload.get("nonce")
    if not isinstance(nonce, str) or not NONCE_PATTERN.fullmatch(nonce):
        raise InvalidRequestToken("the claim 'nonce' must be 16 to 64 base64url characters")
    return verified.signer, verified.payload, issued_at, expires
