"""Why something failed, in plain words: what the app shows instead of an exception.

Every failure the offerer API, the discovery client or the DHT client can raise
maps to a :class:`Failure`: a short title a person understands ("The answerer
is offline"), a sentence that says what it means for them, and the technical
message for whoever debugs it. Refusals carry the answerer's own reason code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from didrtc.dht import errors as dht
from didrtc.discovery import errors as discovery
from didrtc.errors import DidrtcError, IdentityFileError, WrongPassphrase
from didrtc.signaling import errors as signaling
from didrtc.signaling.offerer import UnresolvedDid

__all__ = ["Failure", "explain"]


@dataclass(frozen=True)
class Failure:
    """A failure as the user sees it."""

    title: str
    """What happened, in a few words."""
    explanation: str
    """What it means and what to do about it, in a sentence or two."""
    detail: str = ""
    """The technical message (the exception's text), shown small underneath."""
    code: str = ""
    """A stable name for it (the signaling or discovery reason code when there is one)."""


_REFUSALS: dict[type[signaling.SignalingError], str] = {
    signaling.Forbidden: "Your DID is not on the list of callers this answerer accepts.",
    signaling.Unauthorized: "This answerer only accepts callers with an API key.",
    signaling.RateLimited: "Too many offers were sent to it just now. Wait a moment and retry.",
    signaling.Busy: "It is talking to as many peers as it allows. Try again later.",
    signaling.Expired: "The offer arrived after it expired: check this device's clock.",
    signaling.NotYetValid: "The offer looked as if it came from the future: check the clock.",
    signaling.Replayed: "It has already seen this exact offer. Retry to send a fresh one.",
    signaling.WrongAudience: "The offer was addressed to a different DID.",
    signaling.BadSignature: "It could not verify the offer's signature.",
    signaling.DecryptionFailed: "It could not open the encrypted offer.",
    signaling.MalformedEnvelope: "It could not read the offer.",
    signaling.EnvelopeTooLarge: "The offer was larger than it accepts.",
    signaling.BadSdp: "It could not use the WebRTC offer.",
    signaling.UnsupportedMediaType: "It could not read the offer.",
    signaling.NotFound: "Its server has no signaling service at that address.",
}


def _signaling(error: signaling.SignalingError, detail: str) -> Failure:
    code = error.code
    if isinstance(error, UnresolvedDid):
        return Failure(
            "Could not find the answerer",
            "Its signed DID Document was not found in the DHT, or no DHT node answered. "
            "Check the DHT nodes in Settings.",
            detail,
            code,
        )
    if isinstance(error, signaling.TlsPinMismatch):
        return Failure(
            "Certificate mismatch",
            "The answerer's server showed a TLS certificate other than the one its signed "
            "DID Document names. Someone may be intercepting the connection: do not retry "
            "on this network.",
            detail,
            code,
        )
    if isinstance(error, signaling.Unreachable):
        return Failure(
            "The answerer is offline",
            "Its signaling server did not respond. It may be closed or unreachable from here.",
            detail,
            code,
        )
    for cls, reason in _REFUSALS.items():
        if isinstance(error, cls):
            if error.retry_after is not None:
                reason += f" (It asks to wait {error.retry_after:.0f} s.)"
            return Failure("The answerer refused the offer", reason, detail, code)
    if isinstance(error, signaling.WrongAnswerer | signaling.AnswerMismatch):
        return Failure(
            "The answer could not be trusted",
            "The reply was not signed by the answerer you chose, or not meant for this offer. "
            "It was discarded.",
            detail,
            code,
        )
    if isinstance(error, signaling.ConnectionFailed):
        return Failure(
            "Could not connect",
            "The answerer accepted, but no network path between you opened in time. "
            "A TURN server in Settings may help.",
            detail,
            code,
        )
    if isinstance(error, signaling.ChannelClosed):
        return Failure("The connection closed", "The answerer hung up.", detail, code)
    return Failure(
        "The answerer's server answered strangely",
        "It sent something that is neither an answer nor a refusal.",
        detail,
        code,
    )


def _discovery(error: discovery.DiscoveryError, detail: str) -> Failure:
    code = error.code
    if isinstance(error, discovery.UnexpectedResponse) and "cannot reach" in error.message:
        return Failure(
            "Cannot reach the discovery server",
            "Check the discovery server's address in Settings and your connection.",
            detail,
            "discovery-unreachable",
        )
    if isinstance(error, discovery.ForgedListing):
        return Failure(
            "The discovery server sent a forged listing",
            "A listing was not signed by the DID it names. Results from this server "
            "cannot be trusted.",
            detail,
            code,
        )
    if isinstance(error, discovery.RateLimited):
        return Failure(
            "The discovery server is busy",
            "Too many searches just now: wait a moment.",
            detail,
            code,
        )
    if isinstance(error, discovery.ServiceUnavailable | discovery.ServerError):
        return Failure("The discovery server has a problem", "Try again in a moment.", detail, code)
    return Failure(
        "The discovery server refused the search",
        "It did not accept the request; check its address in Settings.",
        detail,
        code,
    )


_CONNECTOR_ERROR = re.compile(r"ClientConnector\w*Error\(ConnectionKey\(.*?\), (.*)\)$", re.S)
MAX_DETAIL_CHARS = 300


def _detail(error: BaseException) -> str:
    """The exception's message, without aiohttp's connection-key dump, and not too long."""
    text = _CONNECTOR_ERROR.sub(r"\1", str(error) or type(error).__name__)
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"


def explain(error: BaseException) -> Failure:
    """The plain-words :class:`Failure` for ``error``."""
    detail = _detail(error)
    if isinstance(error, signaling.SignalingError):
        return _signaling(error, detail)
    if isinstance(error, discovery.DiscoveryError):
        return _discovery(error, detail)
    if isinstance(error, dht.NetworkUnreachable):
        return Failure(
            "No DHT node answered",
            "The answerer's address could not be looked up. Check the DHT nodes in Settings.",
            detail,
            "dht-unreachable",
        )
    if isinstance(error, dht.DhtError):
        return Failure(
            "Could not find the answerer",
            "Its signed DID Document is missing, invalid or expired in the DHT.",
            detail,
            "dht",
        )
    if isinstance(error, WrongPassphrase):
        return Failure(
            "Wrong passphrase", "The passphrase does not open this identity.", detail, "passphrase"
        )
    if isinstance(error, IdentityFileError):
        return Failure(
            "Unusable identity file", "The file is not a didrtc identity.", detail, "identity-file"
        )
    if isinstance(error, TimeoutError):
        return Failure(
            "Timed out",
            "The answerer took too long to respond. It may be overloaded or unreachable.",
            "no answer in time",
            "timeout",
        )
    if isinstance(error, OSError):
        return Failure("Network error", "The connection failed.", detail, "network")
    if isinstance(error, DidrtcError | ValueError):
        return Failure("Could not do that", detail, type(error).__name__, "error")
    return Failure(
        "Something went wrong", "An unexpected error occurred.", f"{type(error).__name__}: {detail}"
    )
