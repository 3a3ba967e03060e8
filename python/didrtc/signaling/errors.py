"""One exception class per signaling refusal, each with the reason code it travels as.

The answerer refuses an offer with a 4xx JSON body ``{"error": code, "message": text}``;
the offerer turns that code back into the same class (:func:`error_from_response`),
so ``except Replayed`` works the same on both sides of the wire. Failures that the
offerer detects itself (an unreachable endpoint, a certificate that does not match
the pin, an answer that fails its checks, ICE or DTLS failing) have classes and
codes of their own too.
"""

from __future__ import annotations

from typing import Any, ClassVar

from didrtc.errors import DidrtcError

__all__ = [
    "AnswerMismatch",
    "BadSdp",
    "BadSignature",
    "Busy",
    "ChannelClosed",
    "ConnectTimedOut",
    "ConnectionFailed",
    "DecryptionFailed",
    "EnvelopeTooLarge",
    "Expired",
    "Forbidden",
    "MalformedEnvelope",
    "NotFound",
    "NotYetValid",
    "RateLimited",
    "Replayed",
    "SignalingError",
    "TlsPinMismatch",
    "Unauthorized",
    "UnexpectedResponse",
    "Unreachable",
    "UnsupportedMediaType",
    "WrongAnswerer",
    "WrongAudience",
    "error_from_response",
]


class SignalingError(DidrtcError):
    """Base class of every signaling failure; ``code`` is its stable wire name."""

    code: ClassVar[str] = "signaling-error"
    """The reason code: the ``error`` member of a refusal, and a metrics label."""
    status: ClassVar[int] = 400
    """The HTTP status the answerer refuses with."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        """Seconds to wait before trying again, when the refusal says so."""

    def to_json(self) -> dict[str, Any]:
        """The JSON body of the refusal."""
        return {"error": self.code, "message": self.message}


# Refusals the answerer sends (4xx), in the order it checks.


class NotFound(SignalingError):
    """No such path on the signaling server."""

    code = "not-found"
    status = 404


class UnsupportedMediaType(SignalingError):
    """The request body is not ``application/json``."""

    code = "unsupported-media-type"
    status = 415


class EnvelopeTooLarge(SignalingError):
    """The request is over the envelope size limit; refused before parsing."""

    code = "too-large"
    status = 413


class RateLimited(SignalingError):
    """Too many offers from this address or this DID; ``retry_after`` says when to retry."""

    code = "rate-limited"
    status = 429


class Busy(SignalingError):
    """The answerer holds as many peers as it allows; try again later."""

    code = "busy"
    status = 429


class Unauthorized(SignalingError):
    """The answerer requires an API key (``Authorization: Bearer``) and none valid was sent."""

    code = "unauthorized"
    status = 401


class MalformedEnvelope(SignalingError):
    """The request is not the JSON object expected, or the envelope is not a well-formed JWS."""

    code = "malformed"
    status = 400


class BadSignature(SignalingError):
    """The envelope's signature does not verify, or it is not signed by its ``from`` DID."""

    code = "bad-signature"
    status = 401


class WrongAudience(SignalingError):
    """The envelope is addressed (``to``) to another DID."""

    code = "wrong-audience"
    status = 403


class Expired(SignalingError):
    """The envelope's ``exp`` has passed."""

    code = "expired"
    status = 401


class NotYetValid(SignalingError):
    """The envelope's ``iat`` is further in the future than the allowed clock skew."""

    code = "not-yet-valid"
    status = 401


class Forbidden(SignalingError):
    """The offerer's DID is not on the answerer's allowlist."""

    code = "forbidden"
    status = 403


class Replayed(SignalingError):
    """An envelope with this sender and nonce was already accepted."""

    code = "replayed"
    status = 409


class DecryptionFailed(SignalingError):
    """The sealed SDP does not open: tampered, sealed to another key, or its bound fields changed.

    A ciphertext taken from someone else's envelope and re-signed by another DID
    lands here, because the ``from`` it was sealed with is part of the HPKE aad.
    """

    code = "decryption-failed"
    status = 400


class BadSdp(SignalingError):
    """The SDP opened but is not a usable data-channel offer (or answer)."""

    code = "bad-sdp"
    status = 400


# Failures the offerer detects on its own side.


class Unreachable(SignalingError):
    """The signaling endpoint cannot be reached (DNS, TCP, TLS, timeout) or the DID not resolved."""

    code = "unreachable"
    status = 502


class TlsPinMismatch(Unreachable):
    """The signaling server's TLS certificate is not the one its signed DID record pins."""

    code = "tls-pin-mismatch"


class UnexpectedResponse(SignalingError):
    """The signaling server answered something that is neither an answer nor a refusal."""

    code = "unexpected-response"
    status = 502


class WrongAnswerer(SignalingError):
    """The answer is signed by (or claims to be from) a DID other than the one dialled."""

    code = "wrong-answerer"
    status = 502


class AnswerMismatch(SignalingError):
    """The answer is not addressed to this offerer or not bound to this offer's nonce."""

    code = "answer-mismatch"
    status = 502


class ConnectionFailed(SignalingError):
    """Signaling succeeded but ICE, DTLS or SCTP did not open the data channel in time."""

    code = "connection-failed"
    status = 504


class ConnectTimedOut(ConnectionFailed):
    """The data channel did not open within the time allowed."""

    code = "connect-timeout"


class ChannelClosed(SignalingError):
    """The data channel is closed (by either side, or after a receive-buffer overflow)."""

    code = "channel-closed"
    status = 410


_BY_CODE: dict[str, type[SignalingError]] = {
    cls.code: cls
    for cls in (
        NotFound,
        UnsupportedMediaType,
        EnvelopeTooLarge,
        RateLimited,
        Busy,
        Unauthorized,
        MalformedEnvelope,
        BadSignature,
        WrongAudience,
        Expired,
        NotYetValid,
        Forbidden,
        Replayed,
        DecryptionFailed,
        BadSdp,
    )
}


def error_from_response(status: int, document: object, retry_after: str | None) -> SignalingError:
    """The exception for a refusal the answerer sent (``UnexpectedResponse`` if unreadable)."""
    if isinstance(document, dict):
        code, message = document.get("error"), document.get("message")
        cls = _BY_CODE.get(code) if isinstance(code, str) else None
        if cls is not None:
            text = message[:500] if isinstance(message, str) else code
            try:
                wait = float(retry_after) if retry_after is not None else None
            except ValueError:
                wait = None
            return cls(f"the answerer refused the offer ({code}): {text}", retry_after=wait)
    return UnexpectedResponse(f"the signaling server answered HTTP {status} without a known error")
