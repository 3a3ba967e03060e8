"""Signed, sealed signaling envelopes: the offer and the answer, and the replay cache.

An envelope is a compact JWS (EdDSA, ``kid`` the signer's did:key URL, JCS
payload; see :mod:`didrtc.jws`) whose payload is::

    {"type": "offer", "from": "<offerer DID>", "to": "<answerer DID>",
     "iat": 1732412345, "exp": 1732412375, "nonce": "<16 random bytes, base64url>",
     "sdp": "<base64url of HPKE-sealed SDP>"}

and for an answer ``"type": "answer"``, ``from``/``to`` swapped, a fresh ``nonce``,
and ``"inReplyTo"``: the offer's nonce. The SDP is sealed with HPKE
(:func:`didrtc.seal`) to the recipient's X25519 key with ``info`` :data:`HPKE_INFO`
and, as ``aad``, the JCS bytes of every payload member but ``sdp`` — so a
ciphertext lifted into an envelope that another DID signs, or with any bound
field changed, no longer opens. ``docs/protocol.md`` is the normative text.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

from didrtc.canonical import canonical_json
from didrtc.did import public_key_from_did
from didrtc.errors import (
    DecryptionError,
    InvalidDid,
    InvalidSignature,
    InvalidToken,
    TokenExpired,
    TokenNotYetValid,
)
from didrtc.identity import Identity
from didrtc.jws import check_validity_window
from didrtc.jws import sign as jws_sign
from didrtc.jws import verify as jws_verify
from didrtc.sealing import seal
from didrtc.signaling.errors import (
    AnswerMismatch,
    BadSignature,
    Busy,
    DecryptionFailed,
    EnvelopeTooLarge,
    Expired,
    Forbidden,
    MalformedEnvelope,
    NotYetValid,
    Replayed,
    SignalingError,
    WrongAnswerer,
    WrongAudience,
)

__all__ = [
    "ANSWER_TYP",
    "DEFAULT_LIFETIME",
    "HPKE_INFO",
    "MAX_CLOCK_SKEW",
    "MAX_ENVELOPE_BYTES",
    "MAX_LIFETIME",
    "MAX_SDP_BYTES",
    "OFFER_TYP",
    "OpenedEnvelope",
    "ReplayCache",
    "bound_fields",
    "new_nonce",
    "open_answer",
    "open_offer",
    "seal_answer",
    "seal_offer",
]

OFFER_TYP: Final = "didrtc-offer+jws"
"""The JWS ``typ`` of an offer envelope."""
ANSWER_TYP: Final = "didrtc-answer+jws"
"""The JWS ``typ`` of an answer envelope."""
HPKE_INFO: Final = b"didrtc signaling v1"
"""The HPKE ``info`` both directions seal the SDP with."""
MAX_ENVELOPE_BYTES: Final = 16 * 1024
"""The longest envelope token accepted (a data-channel SDP with a few candidates is ~1 KiB)."""
MAX_SDP_BYTES: Final = 8 * 1024
"""The longest SDP that will be sealed (so the envelope stays under its limit)."""
DEFAULT_LIFETIME: Final = 30
"""Seconds from ``iat`` to ``exp`` in the envelopes this module makes."""
MAX_LIFETIME: Final = 120
"""An envelope may expire at most this many seconds after it is checked."""
MAX_CLOCK_SKEW: Final = 30
"""How far ahead of the receiver's clock ``iat`` may lie."""
NONCE_BYTES: Final = 16

_OFFER_MEMBERS = frozenset({"type", "from", "to", "iat", "exp", "nonce", "sdp"})
_ANSWER_MEMBERS = _OFFER_MEMBERS | {"inReplyTo"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str, name: str) -> bytes:
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise MalformedEnvelope(f"{name!r} is not base64url") from None
    if _b64url(data) != text:
        raise MalformedEnvelope(f"{name!r} is not canonical unpadded base64url")
    return data


def new_nonce() -> str:
    """16 bytes from the CSPRNG, base64url without padding (22 characters)."""
    return _b64url(secrets.token_bytes(NONCE_BYTES))


def bound_fields(payload: dict[str, Any]) -> bytes:
    """The HPKE aad: the JCS bytes of every payload member except ``sdp``."""
    return canonical_json({k: v for k, v in payload.items() if k != "sdp"})


@dataclass(frozen=True)
class OpenedEnvelope:
    """An envelope whose signature, audience, freshness and ciphertext all checked out."""

    sender: str
    """The DID that signed it (equal to its ``from``)."""
    recipient: str
    """Its ``to``: the DID that opened it."""
    nonce: str
    """Its nonce."""
    iat: int
    """Issued at, seconds since the epoch."""
    exp: int
    """Expires at, seconds since the epoch."""
    sdp: str
    """The SDP it carried, opened."""
    in_reply_to: str | None = None
    """For an answer, the nonce of the offer it answers."""


def _seal(
    identity: Identity,
    *,
    kind: str,
    typ: str,
    to: str,
    sdp: str,
    now: float | None,
    lifetime: int,
    extra: dict[str, str] | None = None,
) -> tuple[str, str]:
    sdp_bytes = sdp.encode("utf-8")
    if len(sdp_bytes) > MAX_SDP_BYTES:
        raise ValueError(f"the SDP is {len(sdp_bytes)} bytes; the limit is {MAX_SDP_BYTES}")
    if not 1 <= lifetime <= MAX_LIFETIME:
        raise ValueError(f"lifetime must be 1 to {MAX_LIFETIME} seconds, not {lifetime!r}")
    public_key_from_did(to)  # InvalidDid before anything is signed
    issued = int(time.time() if now is None else now)
    nonce = new_nonce()
    payload: dict[str, Any] = {
        "type": kind,
        "from": identity.did,
        "to": to,
        "iat": issued,
        "exp": issued + lifetime,
        "nonce": nonce,
        **(extra or {}),
    }
    sealed = seal(to, sdp_bytes, info=HPKE_INFO, aad=bound_fields(payload))
    payload["sdp"] = _b64url(sealed)
    return jws_sign(identity, payload, typ=typ), nonce


def seal_offer(
    identity: Identity,
    answerer_did: str,
    sdp: str,
    *,
    now: float | None = None,
    lifetime: int = DEFAULT_LIFETIME,
) -> tuple[str, str]:
    """An offer envelope carrying ``sdp`` to ``answerer_did``; returns ``(token, nonce)``."""
    return _seal(
        identity, kind="offer", typ=OFFER_TYP, to=answerer_did, sdp=sdp, now=now, lifetime=lifetime
    )


def seal_answer(
    identity: Identity,
    offer: OpenedEnvelope,
    sdp: str,
    *,
    now: float | None = None,
    lifetime: int = DEFAULT_LIFETIME,
) -> str:
    """The answer envelope to ``offer``: sealed to its sender, bound to its nonce."""
    token, _ = _seal(
        identity,
        kind="answer",
        typ=ANSWER_TYP,
        to=offer.sender,
        sdp=sdp,
        now=now,
        lifetime=lifetime,
        extra={"inReplyTo": offer.nonce},
    )
    return token


def _verified_payload(token: object, typ: str, max_bytes: int) -> tuple[str, dict[str, Any]]:
    if not isinstance(token, str):
        raise MalformedEnvelope("the envelope must be a string holding a compact JWS")
    if len(token) > max_bytes:
        raise EnvelopeTooLarge(f"the envelope is {len(token)} bytes; the limit is {max_bytes}")
    try:
        verified = jws_verify(token, typ=typ, max_bytes=max_bytes)
    except InvalidSignature as error:
        raise BadSignature(f"the envelope's signature does not verify: {error}") from None
    except (InvalidToken, InvalidDid) as error:
        raise MalformedEnvelope(f"the envelope is not a valid {typ} JWS: {error}") from None
    return verified.signer, verified.payload


def _check_claims(payload: dict[str, Any], members: frozenset[str], kind: str) -> None:
    if set(payload) != members:
        raise MalformedEnvelope(f"the {kind} envelope's members must be exactly {sorted(members)}")
    if payload["type"] != kind:
        raise MalformedEnvelope(f"the envelope's type must be {kind!r}")
    for name in members - {"iat", "exp"}:
        if not isinstance(payload[name], str):
            raise MalformedEnvelope(f"the envelope's {name!r} must be a string")
    for name in ("from", "to"):
        try:
            public_key_from_did(payload[name])
        except InvalidDid as error:
            raise MalformedEnvelope(f"the envelope's {name!r} is not a did:key: {error}") from None
    for name in members & {"nonce", "inReplyTo"}:
        if len(_b64url_decode(payload[name], name)) != NONCE_BYTES:
            raise MalformedEnvelope(f"the envelope's {name!r} must be {NONCE_BYTES} bytes")


def _check_time(payload: dict[str, Any], now: float | None) -> tuple[int, int]:
    try:
        return check_validity_window(
            payload, now=now, max_skew=MAX_CLOCK_SKEW, max_lifetime=MAX_LIFETIME
        )
    except TokenExpired as error:
        raise Expired(f"the envelope {error}") from None
    except TokenNotYetValid as error:
        raise NotYetValid(f"the envelope's {error}") from None
    except InvalidToken as error:
        raise MalformedEnvelope(f"the envelope's validity window is unusable: {error}") from None


def _open_sdp(identity: Identity, payload: dict[str, Any]) -> str:
    sealed = _b64url_decode(payload["sdp"], "sdp")
    try:
        plaintext = identity.open(sealed, info=HPKE_INFO, aad=bound_fields(payload))
    except DecryptionError as error:
        raise DecryptionFailed(
            f"the sealed SDP does not open with these bound fields: {error}"
        ) from None
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedEnvelope("the sealed SDP is not UTF-8") from None


class ReplayCache:
    """Remembers ``(sender, nonce)`` of accepted envelopes until they expire, in bounded memory.

    An entry is kept until the envelope's own ``exp`` plus the clock skew, so
    it outlives the freshness window: once it is dropped, the same envelope is
    refused as expired. When the cache is full of unexpired entries it fails
    closed (:class:`Busy`) rather than forget one, which would let a replay in.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be positive, not {max_entries!r}")
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _purge(self, now: float) -> None:
        # Entries arrive in roughly increasing expiry order (lifetimes are short and
        # similar), so dropping expired ones from the oldest end is cheap; a full sweep
        # runs only when the cache is full.
        while self._entries:
            key, forget_at = next(iter(self._entries.items()))
            if forget_at > now:
                break
            del self._entries[key]
        if len(self._entries) >= self.max_entries:
            for key in [k for k, t in self._entries.items() if t <= now]:
                del self._entries[key]

    def check(self, sender: str, nonce: str, *, now: float | None = None) -> None:
        """Raise :class:`Replayed` if ``(sender, nonce)`` was accepted and has not expired."""
        self._purge(time.time() if now is None else now)
        if (sender, nonce) in self._entries:
            raise Replayed(f"an envelope from {sender} with this nonce was already accepted")

    def add(self, sender: str, nonce: str, exp: int, *, now: float | None = None) -> None:
        """Remember an accepted envelope until ``exp`` (plus skew); ``Busy`` when full."""
        self.check(sender, nonce, now=now)
        if len(self._entries) >= self.max_entries:
            raise Busy("the replay cache is full; try again when older offers have expired")
        self._entries[(sender, nonce)] = exp + MAX_CLOCK_SKEW


def open_offer(
    identity: Identity,
    token: object,
    *,
    replay_cache: ReplayCache | None = None,
    allowed: frozenset[str] | None = None,
    now: float | None = None,
    max_bytes: int = MAX_ENVELOPE_BYTES,
) -> OpenedEnvelope:
    """Check an offer envelope addressed to ``identity`` and open its SDP.

    Checks, in order: size, JWS form and signature, members, ``from`` equal to
    the signer, audience, freshness, the allowlist (when given), the replay
    cache, then the ciphertext; the nonce is remembered only once all passed.
    Each failure raises its own :class:`~didrtc.signaling.errors.SignalingError`.
    """
    signer, payload = _verified_payload(token, OFFER_TYP, max_bytes)
    _check_claims(payload, _OFFER_MEMBERS, "offer")
    if payload["from"] != signer:
        raise BadSignature("the offer is not signed by the DID in its 'from'")
    if payload["to"] != identity.did:
        raise WrongAudience(f"the offer is addressed to {payload['to']}, not to {identity.did}")
    iat, exp = _check_time(payload, now)
    if allowed is not None and signer not in allowed:
        raise Forbidden(f"{signer} is not on this answerer's allowlist")
    if replay_cache is not None:
        replay_cache.check(signer, payload["nonce"], now=now)
    sdp = _open_sdp(identity, payload)
    if replay_cache is not None:
        replay_cache.add(signer, payload["nonce"], exp, now=now)
    return OpenedEnvelope(
        sender=signer, recipient=identity.did, nonce=payload["nonce"], iat=iat, exp=exp, sdp=sdp
    )


def open_answer(
    identity: Identity,
    token: object,
    *,
    answerer_did: str,
    offer_nonce: str,
    now: float | None = None,
    max_bytes: int = MAX_ENVELOPE_BYTES,
) -> OpenedEnvelope:
    """Check the answer to this offerer's own offer and open its SDP.

    It must be signed by ``answerer_did`` (:class:`WrongAnswerer` otherwise),
    addressed to ``identity`` and bound to ``offer_nonce`` (:class:`AnswerMismatch`),
    fresh, and its SDP must open.
    """
    try:
        signer, payload = _verified_payload(token, ANSWER_TYP, max_bytes)
        _check_claims(payload, _ANSWER_MEMBERS, "answer")
    except SignalingError as error:
        raise type(error)(f"the answer is unusable: {error.message}") from None
    if signer != answerer_did or payload["from"] != answerer_did:
        raise WrongAnswerer(f"the answer is signed by {signer}, not by {answerer_did}")
    if payload["to"] != identity.did:
        raise AnswerMismatch(f"the answer is addressed to {payload['to']}, not to {identity.did}")
    if payload["inReplyTo"] != offer_nonce:
        raise AnswerMismatch("the answer is bound to another offer's nonce")
    iat, exp = _check_time(payload, now)
    sdp = _open_sdp(identity, payload)
    return OpenedEnvelope(
        sender=signer,
        recipient=identity.did,
        nonce=payload["nonce"],
        iat=iat,
        exp=exp,
        sdp=sdp,
        in_reply_to=offer_nonce,
    )
