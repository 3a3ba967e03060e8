"""The DID Document record an answerer publishes in the DHT: build, sign, parse and check it.

A record is a compact JWS (RFC 7515, ``alg: EdDSA`` per RFC 8037) signed by the
DID's own Ed25519 key, ``kid`` the DID URL of that key, ``typ``
:data:`RECORD_TYP`, over this JCS payload::

    {"did": "did:key:z6Mk...",
     "seq": 1732412345678,            # BEP44-style sequence number, higher wins
     "iat": 1732412345, "exp": 1732498745,
     "service": {"id": "did:key:z6Mk...#signaling",
                 "type": "WebRTCSignaling",
                 "serviceEndpoint": "https://answerer.example:8443/",
                 "x5t#S256": "<base64url SHA-256 of the endpoint's DER TLS certificate>"}}

The certificate thumbprint uses the name and encoding RFC 7517 gives it for
JWKs (``x5t#S256``), so a JOSE-aware reader knows what it is.

The whole token is at most :data:`MAX_RECORD_BYTES` (1,000) bytes, as BEP44
requires of mutable items, so it fits one UDP datagram without IP
fragmentation; the limit is enforced when building and before any parsing.
Parsing is strict — exactly these members, nothing else — because records
arrive from strangers, and every failure is an :class:`InvalidRecord` whose
``reason`` is a short stable code (used as a metrics label and in STORE refusals).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from didrtc._backend import backend
from didrtc.did import resolve_did_key
from didrtc.errors import (
    InvalidDid,
    InvalidSignature,
    InvalidToken,
    TokenExpired,
    TokenNotYetValid,
    TokenTooLong,
)
from didrtc.identity import Identity
from didrtc.jws import check_validity_window
from didrtc.jws import sign as jws_sign
from didrtc.jws import verify as jws_verify

__all__ = [
    "DEFAULT_LIFETIME",
    "MAX_CLOCK_SKEW",
    "MAX_ENDPOINT_LENGTH",
    "MAX_LIFETIME",
    "MAX_RECORD_BYTES",
    "RECORD_TYP",
    "SERVICE_FRAGMENT",
    "SERVICE_TYPE",
    "DidRecord",
    "InvalidRecord",
    "RecordExpired",
    "RecordNotYetValid",
    "RecordTooLong",
    "SignedRecord",
    "build_record",
    "cert_fingerprint",
    "did_document",
    "fingerprint_of_certificate",
    "parse_record",
]

logger = logging.getLogger(__name__)

RECORD_TYP: Final = "didrtc-did-record+jws"
"""The JWS ``typ`` of a DID Document record; a token of any other type is refused."""
MAX_RECORD_BYTES: Final = 1000
"""BEP44's limit for a mutable item: one datagram, no IP fragmentation."""
MAX_LIFETIME: Final = 48 * 3600
"""A record may expire at most 48 h after the moment a node checks it."""
DEFAULT_LIFETIME: Final = 24 * 3600
"""What :func:`build_record` uses unless told otherwise; answerers republish well before."""
MAX_CLOCK_SKEW: Final = 120
"""How far in the future ``iat`` may lie, in seconds, to allow for unsynchronised clocks."""
MAX_ENDPOINT_LENGTH: Final = 256
"""The longest ``serviceEndpoint`` accepted (keeps the record under its size limit)."""
MAX_SEQ: Final = 2**53 - 1
"""I-JSON's largest exact integer: the highest sequence number."""
SERVICE_TYPE: Final = "WebRTCSignaling"
SERVICE_FRAGMENT: Final = "signaling"

_PAYLOAD_MEMBERS = frozenset({"did", "seq", "iat", "exp", "service"})
_SERVICE_MEMBERS = frozenset({"id", "type", "serviceEndpoint", "x5t#S256"})
_THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")
_HEX_FINGERPRINT = re.compile(r"(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{64}")


class InvalidRecord(InvalidToken):
    """A DHT value is not a valid DID Document record.

    ``reason`` is a short, stable code: ``not-a-string``, ``too-large``,
    ``malformed``, ``bad-signature``, ``wrong-key``, ``expired``,
    ``not-yet-valid``, ``lifetime-too-long`` or ``bad-claims``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RecordTooLong(InvalidRecord, TokenTooLong):
    """A record is over :data:`MAX_RECORD_BYTES`; refused before any parsing."""


class RecordExpired(InvalidRecord, TokenExpired):
    """A record's ``exp`` has passed."""


class RecordNotYetValid(InvalidRecord, TokenNotYetValid):
    """A record's ``iat`` lies further ahead than :data:`MAX_CLOCK_SKEW`."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def cert_fingerprint(value: bytes | str) -> str:
    """Normalise a TLS certificate SHA-256 fingerprint to the record's base64url form.

    Accepts the 32 raw bytes, 64 hex digits (with or without ``:`` between
    bytes, as ``openssl x509 -fingerprint -sha256`` prints them), or the
    43-character base64url form itself. Raises ``ValueError`` quoting the value.
    """
    if isinstance(value, bytes):
        if len(value) != 32:
            raise ValueError(f"a SHA-256 fingerprint is 32 bytes, not {len(value)}: {value!r}")
        return _b64url(value)
    if isinstance(value, str):
        text = value.strip()
        if _HEX_FINGERPRINT.fullmatch(text):
            return _b64url(binascii.unhexlify(text.replace(":", "")))
        if _THUMBPRINT.fullmatch(text) and len(_decode_thumbprint(text) or b"") == 32:
            return text
    raise ValueError(
        f"not a SHA-256 certificate fingerprint (32 bytes, 64 hex digits or base64url): {value!r}"
    )


def _decode_thumbprint(text: str) -> bytes | None:
    try:
        data = base64.urlsafe_b64decode(text + "=")
    except (binascii.Error, ValueError):
        return None
    return data if _b64url(data) == text else None


def _check_endpoint(endpoint: object) -> str:
    if not isinstance(endpoint, str):
        raise ValueError(f"the service endpoint must be a str, not {type(endpoint).__name__}")
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise ValueError(
            f"the service endpoint is {len(endpoint)} characters; the limit is "
            f"{MAX_ENDPOINT_LENGTH}: {endpoint[:60]!r}..."
        )
    if not endpoint.isascii() or not endpoint.isprintable() or " " in endpoint:
        raise ValueError(f"the service endpoint must be printable ASCII: {endpoint!r}")
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise ValueError(f"the service endpoint is not a URL: {endpoint!r}") from None
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"the service endpoint must be an https:// URL: {endpoint!r}")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise ValueError(f"the service endpoint must have no user info or fragment: {endpoint!r}")
    if port == 0:
        raise ValueError(f"the service endpoint has port 0: {endpoint!r}")
    return endpoint


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], not {value!r}")
    return value


@dataclass(frozen=True)
class DidRecord:
    """The claims of a DID Document record, checked for shape (not for time) on creation."""

    did: str
    """The did:key whose document this is; also the signer."""
    endpoint: str
    """The ``serviceEndpoint`` of the ``WebRTCSignaling`` service: an https URL."""
    cert_sha256: str
    """SHA-256 of the endpoint's DER TLS certificate, base64url without padding (``x5t#S256``)."""
    seq: int
    """Sequence number: a node keeps only the highest, and readers take the highest valid."""
    iat: int
    """Issued at, seconds since the epoch."""
    exp: int
    """Expires at, seconds since the epoch."""

    def __post_init__(self) -> None:
        try:
            backend.public_key_from_did(self.did)
        except InvalidDid as error:
            raise ValueError(f"not a usable did:key {self.did!r}: {error}") from None
        _check_endpoint(self.endpoint)
        if cert_fingerprint(self.cert_sha256) != self.cert_sha256:
            raise ValueError(f"cert_sha256 must be 43 base64url characters: {self.cert_sha256!r}")
        _check_int("seq", self.seq, 0, MAX_SEQ)
        _check_int("iat", self.iat, 0, MAX_SEQ)
        _check_int("exp", self.exp, 0, MAX_SEQ)
        if self.exp <= self.iat:
            raise ValueError(f"exp ({self.exp}) must be after iat ({self.iat})")

    @property
    def service(self) -> dict[str, str]:
        """The DID Core service entry this record carries."""
        return {
            "id": f"{self.did}#{SERVICE_FRAGMENT}",
            "type": SERVICE_TYPE,
            "serviceEndpoint": self.endpoint,
            "x5t#S256": self.cert_sha256,
        }

    def claims(self) -> dict[str, Any]:
        """The JWS payload."""
        return {
            "did": self.did,
            "seq": self.seq,
            "iat": self.iat,
            "exp": self.exp,
            "service": self.service,
        }


@dataclass(frozen=True)
class SignedRecord:
    """A record together with the exact token that carries it on the wire."""

    token: str
    """The compact JWS, at most :data:`MAX_RECORD_BYTES` bytes."""
    record: DidRecord
    """Its checked claims."""

    @property
    def did(self) -> str:
        return self.record.did

    @property
    def seq(self) -> int:
        return self.record.seq


def build_record(
    identity: Identity,
    endpoint: str,
    cert_sha256: bytes | str,
    *,
    seq: int | None = None,
    lifetime: int = DEFAULT_LIFETIME,
    now: float | None = None,
) -> SignedRecord:
    """Sign a DID Document record for ``identity``.

    ``seq`` defaults to the current time in milliseconds, so a later publish
    from the same key wins without the publisher keeping state. ``lifetime``
    is at most :data:`MAX_LIFETIME`. Raises ``ValueError`` for a bad argument and
    :class:`RecordTooLong` if the signed record would exceed the size limit.
    """
    current = time.time() if now is None else now
    _check_int("lifetime", lifetime, 1, MAX_LIFETIME)
    issued = int(current)
    record = DidRecord(
        did=identity.did,
        endpoint=_check_endpoint(endpoint),
        cert_sha256=cert_fingerprint(cert_sha256),
        seq=int(current * 1000) if seq is None else seq,
        iat=issued,
        exp=issued + lifetime,
    )
    token = jws_sign(identity, record.claims(), typ=RECORD_TYP)
    if len(token) > MAX_RECORD_BYTES:
        raise RecordTooLong(
            "too-large",
            f"the signed record is {len(token)} bytes; the limit is {MAX_RECORD_BYTES} "
            "(use a shorter endpoint URL)",
        )
    return SignedRecord(token=token, record=record)


def parse_record(
    value: object,
    *,
    key: bytes | None = None,
    now: float | None = None,
    check_time: bool = True,
) -> SignedRecord:
    """Check a value read from the DHT (or offered in a STORE) and return the record it holds.

    ``key`` is the DHT key the value was stored or found under; it must be the
    record's own :func:`didrtc.dht_key`. With ``check_time`` the record must be
    unexpired, issued not beyond the clock skew, and expire at most
    :data:`MAX_LIFETIME` ahead. Any failure raises :class:`InvalidRecord`
    (never anything else, whatever ``value`` is).
    """
    if not isinstance(value, str):
        raise InvalidRecord("not-a-string", f"a record is a str, not {type(value).__name__}")
    if len(value) > MAX_RECORD_BYTES:
        raise RecordTooLong(
            "too-large", f"the record is {len(value)} bytes; the limit is {MAX_RECORD_BYTES}"
        )
    try:
        verified = jws_verify(value, typ=RECORD_TYP, max_bytes=MAX_RECORD_BYTES)
    except InvalidSignature as error:
        raise InvalidRecord(
            "bad-signature", f"the record's signature is invalid: {error}"
        ) from None
    except (InvalidToken, InvalidDid) as error:
        raise InvalidRecord("malformed", f"the record is not a valid JWS: {error}") from None
    except Exception as error:  # a reader must never raise anything else on hostile input
        logger.debug("unexpected error parsing a record", exc_info=True)
        raise InvalidRecord("malformed", f"the record is unreadable: {error!r}") from None
    payload = verified.payload
    record = _claims_to_record(payload)
    if record.did != verified.signer:
        raise InvalidRecord("wrong-key", "the record is signed by a key other than its DID's")
    if key is not None and key != backend.dht_key(record.did):
        raise InvalidRecord("wrong-key", "the record is stored under another DID's DHT key")
    if check_time:
        try:
            check_validity_window(
                payload, now=now, max_skew=MAX_CLOCK_SKEW, max_lifetime=MAX_LIFETIME
            )
        except TokenExpired as error:
            raise RecordExpired("expired", f"the record {error}") from None
        except TokenNotYetValid as error:
            raise RecordNotYetValid("not-yet-valid", f"the record's {error}") from None
        except InvalidToken as error:
            raise InvalidRecord("lifetime-too-long", f"the record's {error}") from None
    return SignedRecord(token=value, record=record)


def _claims_to_record(payload: dict[str, Any]) -> DidRecord:
    if set(payload) != _PAYLOAD_MEMBERS:
        raise InvalidRecord(
            "bad-claims", f"the record's members must be {sorted(_PAYLOAD_MEMBERS)}"
        )
    service = payload["service"]
    if not isinstance(service, dict) or set(service) != _SERVICE_MEMBERS:
        raise InvalidRecord(
            "bad-claims", f"the record's service must have exactly {sorted(_SERVICE_MEMBERS)}"
        )
    try:
        record = DidRecord(
            did=payload["did"],
            endpoint=service["serviceEndpoint"],
            cert_sha256=service["x5t#S256"],
            seq=payload["seq"],
            iat=payload["iat"],
            exp=payload["exp"],
        )
    except (ValueError, TypeError) as error:
        raise InvalidRecord("bad-claims", f"the record's claims are invalid: {error}") from None
    if service != record.service:
        raise InvalidRecord("bad-claims", "the record's service id or type is not the expected one")
    return record


def did_document(record: DidRecord) -> dict[str, Any]:
    """The W3C DID Core document resolution returns: the did:key document plus the service."""
    document = resolve_did_key(record.did)
    document["service"] = [record.service]
    return document


def fingerprint_of_certificate(der: bytes) -> str:
    """The ``x5t#S256`` value of a DER-encoded certificate."""
    return _b64url(hashlib.sha256(der).digest())
