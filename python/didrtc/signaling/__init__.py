"""DID-authenticated, end-to-end encrypted signaling and the WebRTC data channels it opens.

- :mod:`~didrtc.signaling.envelope`: the signed, HPKE-sealed offer and answer envelopes.
- :mod:`~didrtc.signaling.answerer`: the HTTPS signaling service (``Answerer``).
- :mod:`~didrtc.signaling.offerer`: ``connect()``, from a DID or a listing to a ``Channel``.
- :mod:`~didrtc.signaling.peer`: aiortc peers, ICE configuration, loopback pinning.
- :mod:`~didrtc.signaling.channel`: the open data channel (``send``/``receive``/``close``).
- :mod:`~didrtc.signaling.errors`: one exception class per refusal code.

``docs/protocol.md`` is the wire protocol, written for implementers in other languages.
"""

from __future__ import annotations

from didrtc.signaling.answerer import (
    Answerer,
    AnswererConfig,
    ChannelHandler,
    chat_handler,
    echo_handler,
    hash_api_key,
)
from didrtc.signaling.channel import Channel, Message
from didrtc.signaling.errors import (
    AnswerMismatch,
    BadSdp,
    BadSignature,
    Busy,
    ChannelClosed,
    ConnectionFailed,
    ConnectTimedOut,
    DecryptionFailed,
    EnvelopeTooLarge,
    Expired,
    Forbidden,
    MalformedEnvelope,
    NotYetValid,
    RateLimited,
    Replayed,
    SignalingError,
    TlsPinMismatch,
    Unauthorized,
    UnexpectedResponse,
    Unreachable,
    WrongAnswerer,
    WrongAudience,
)
from didrtc.signaling.offerer import DhtResolver, Resolver, Target, UnresolvedDid, connect
from didrtc.signaling.peer import LOOPBACK, IceServer, PeerConfig
from didrtc.signaling.ratelimit import RateLimit

__all__ = [
    "LOOPBACK",
    "AnswerMismatch",
    "Answerer",
    "AnswererConfig",
    "BadSdp",
    "BadSignature",
    "Busy",
    "Channel",
    "ChannelClosed",
    "ChannelHandler",
    "ConnectTimedOut",
    "ConnectionFailed",
    "DecryptionFailed",
    "DhtResolver",
    "EnvelopeTooLarge",
    "Expired",
    "Forbidden",
    "IceServer",
    "MalformedEnvelope",
    "Message",
    "NotYetValid",
    "PeerConfig",
    "RateLimit",
    "RateLimited",
    "Replayed",
    "Resolver",
    "SignalingError",
    "Target",
    "TlsPinMismatch",
    "Unauthorized",
    "UnexpectedResponse",
    "Unreachable",
    "UnresolvedDid",
    "WrongAnswerer",
    "WrongAudience",
    "chat_handler",
    "connect",
    "echo_handler",
    "hash_api_key",
]
