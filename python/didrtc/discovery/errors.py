"""The discovery API's errors: one exception class per error code.

The server raises these inside its views and turns each into a 4xx JSON body
``{"error": code, "message": ...}`` with the class's HTTP status; the client
turns such a body back into the same class. So ``except ReplayedRequest``
works the same on both sides of the wire, and every class is a
:class:`~didrtc.errors.DidrtcError` that the ``didrtc`` command line reports
in one line.
"""

from __future__ import annotations

from typing import Any, ClassVar

from didrtc.errors import DidrtcError

__all__ = [
    "ERROR_CLASSES",
    "BadRequest",
    "DiscoveryError",
    "ForgedListing",
    "InvalidCursor",
    "InvalidListing",
    "InvalidRequestToken",
    "ListingNotFound",
    "MethodNotAllowed",
    "RateLimited",
    "ReplayedRequest",
    "RequestExpired",
    "RequestNotYetValid",
    "RequestTooLarge",
    "RequestTooOld",
    "ServerError",
    "ServiceUnavailable",
    "SignatureRejected",
    "StaleListing",
    "UnexpectedResponse",
    "UnsupportedMediaType",
    "WrongAudience",
    "WrongSigner",
    "error_from_response",
]


class DiscoveryError(DidrtcError):
    """An error the discovery API answers with; ``code`` and ``status`` name which."""

    code: ClassVar[str] = "error"
    """The ``error`` member of the JSON body."""
    status: ClassVar[int] = 400
    """The HTTP status the server answers with."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_json(self) -> dict[str, Any]:
        """The response body the server sends for this error."""
        return {"error": self.code, "message": self.message}


class BadRequest(DiscoveryError):
    """The request is malformed: unreadable body, missing or out-of-range query parameter."""

    code = "bad_request"


class InvalidCursor(BadRequest):
    """A search ``cursor`` was not issued by this server for this same query."""

    code = "invalid_cursor"


class InvalidRequestToken(DiscoveryError):
    """The signed request is not a well-formed compact JWS of the right ``typ`` and claims."""

    code = "invalid_token"


class SignatureRejected(DiscoveryError):
    """The JWS signature does not verify under the key of the DID in its ``kid``."""

    code = "invalid_signature"
    status = 401


class RequestExpired(DiscoveryError):
    """The signed request's ``exp`` has passed."""

    code = "token_expired"
    status = 401


class RequestNotYetValid(DiscoveryError):
    """The signed request's ``iat`` lies further in the future than the allowed clock skew."""

    code = "token_not_yet_valid"
    status = 401


class RequestTooOld(DiscoveryError):
    """The signed request's ``iat`` is older than the freshness window: sign a new one."""

    code = "stale_token"
    status = 401


class WrongSigner(DiscoveryError):
    """The request is signed by another DID than the one it registers or deletes."""

    code = "wrong_signer"
    status = 403


class WrongAudience(DiscoveryError):
    """A deletion was signed for another discovery server (its ``aud`` is not this server)."""

    code = "wrong_audience"
    status = 403


class ListingNotFound(DiscoveryError):
    """No live listing for that DID (never registered, deleted, or expired)."""

    code = "not_found"
    status = 404


class MethodNotAllowed(DiscoveryError):
    """The route exists but not with this HTTP method."""

    code = "method_not_allowed"
    status = 405


class ReplayedRequest(DiscoveryError):
    """The request's ``nonce`` was seen before: a signed request is accepted once."""

    code = "replayed"
    status = 409


class StaleListing(DiscoveryError):
    """A listing (or deletion) with the same or a newer ``iat`` is already stored for that DID."""

    code = "stale_listing"
    status = 409


class RequestTooLarge(DiscoveryError):
    """The request body or signed token is over its documented size limit."""

    code = "too_large"
    status = 413


class UnsupportedMediaType(DiscoveryError):
    """``POST /register`` takes ``application/jose`` or ``application/json`` bodies only."""

    code = "unsupported_media_type"
    status = 415


class InvalidListing(DiscoveryError, ValueError):
    """A listing field is missing, of the wrong type, or outside its documented limits."""

    code = "invalid_listing"
    status = 422


class RateLimited(DiscoveryError):
    """Too many requests from this address or for this DID; retry after ``retry_after`` s."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(DiscoveryError):
    """The server failed unexpectedly (a bug: it answers every bad request with a 4xx)."""

    code = "internal_error"
    status = 500


class ServiceUnavailable(DiscoveryError):
    """The server cannot reach its database right now."""

    code = "unavailable"
    status = 503


class UnexpectedResponse(DiscoveryError):
    """The server answered something that is not the discovery API (client side only)."""

    code = "unexpected_response"
    status = 502


class ForgedListing(DiscoveryError):
    """A listing the server returned does not match the token its DID signed (client side only).

    The server is a directory, not an authority: a client never acts on a
    listing whose signature it has not checked itself.
    """

    code = "forged_listing"
    status = 502


ERROR_CLASSES: dict[str, type[DiscoveryError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        InvalidCursor,
        InvalidRequestToken,
        SignatureRejected,
        RequestExpired,
        RequestNotYetValid,
        RequestTooOld,
        WrongSigner,
        WrongAudience,
        ListingNotFound,
        MethodNotAllowed,
        ReplayedRequest,
        StaleListing,
        RequestTooLarge,
        UnsupportedMediaType,
        InvalidListing,
        RateLimited,
        ServerError,
        ServiceUnavailable,
    )
}
"""Every error code the server sends, to the class that stands for it."""


def error_from_response(
    status: int, body: object, retry_after: str | None = None
) -> DiscoveryError:
    """The exception for an error response: its code's class, or ``UnexpectedResponse``."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code = body["error"]
        message = body.get("message")
        text = message if isinstance(message, str) else code
        cls = ERROR_CLASSES.get(code)
        if cls is RateLimited:
            seconds: float | None = None
            if retry_after is not None:
                try:
                    seconds = float(retry_after)
                except ValueError:
                    seconds = None
            return RateLimited(text, retry_after=seconds)
        if cls is not None:
            return cls(text)
        return UnexpectedResponse(f"HTTP {status}, unknown error code {code[:40]!r}: {text[:200]}")
    return UnexpectedResponse(f"HTTP {status} without a discovery API error body")
