"""The answerer: an HTTPS signaling service that accepts only offers it can authenticate.

::

    answerer = Answerer(identity, AnswererConfig(name="Demo Bistro"))
    await answerer.start("127.0.0.1", 8443)
    print(answerer.endpoint, answerer.certificate.fingerprint)
    ...
    await answerer.stop()

Routes: ``POST /receive-offer`` (an offer envelope in, the answer envelope
out), ``GET /healthz`` and ``GET /metrics`` (Prometheus). Every refusal is a
4xx JSON ``{"error": code, "message": text}``. Each accepted offer gets its own
aiortc peer; once its data channel opens, the application hook
(:data:`ChannelHandler`) runs with it, and the peer is closed when the hook
returns, when the channel closes, or when it never opens in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from didrtc.identity import Identity
from didrtc.signaling.channel import Channel
from didrtc.signaling.envelope import (
    MAX_ENVELOPE_BYTES,
    OpenedEnvelope,
    ReplayCache,
    open_offer,
    seal_answer,
)
from didrtc.signaling.errors import (
    Busy,
    ConnectTimedOut,
    EnvelopeTooLarge,
    MalformedEnvelope,
    RateLimited,
    SignalingError,
    Unauthorized,
    UnsupportedMediaType,
)
from didrtc.signaling.peer import Peer, PeerConfig
from didrtc.signaling.ratelimit import RateLimit, RateLimiter
from didrtc.signaling.tls import Certificate, generate_self_signed, server_ssl_context

__all__ = [
    "Answerer",
    "AnswererConfig",
    "ChannelHandler",
    "chat_handler",
    "echo_handler",
    "hash_api_key",
]

logger = logging.getLogger(__name__)

ChannelHandler = Callable[[Channel], Awaitable[None]]
"""The application hook: runs once per open data channel; the peer closes when it returns."""


async def echo_handler(channel: Channel) -> None:
    """Send every message back as it came, text as text and bytes as bytes."""
    async for message in channel:
        await channel.send(message)


def chat_handler(name: str) -> ChannelHandler:
    """The default hook: greet the offerer by its DID, then echo what it says."""

    async def chat(channel: Channel) -> None:
        await channel.send(f"Welcome to {name}, {channel.remote_did}! I echo what you send.")
        await echo_handler(channel)

    return chat


DEFAULT_PER_ADDRESS = RateLimit(burst=20, per_second=2.0)
DEFAULT_PER_DID = RateLimit(burst=10, per_second=1.0)
DEFAULT_PEER = PeerConfig()


def hash_api_key(key: str) -> bytes:
    """What the answerer stores of an API key: its SHA-256 (keys are random, so no salt)."""
    return hashlib.sha256(key.encode("utf-8")).digest()


@dataclass(frozen=True)
class AnswererConfig:
    """Access control and limits of an answerer; every field has a safe default."""

    name: str = "didrtc answerer"
    """Shown in the default chat greeting and in logs."""
    allowlist: frozenset[str] | None = None
    """Offerer DIDs allowed to connect; ``None`` allows any authenticated DID."""
    api_key_hashes: frozenset[bytes] | None = field(default=None, repr=False)
    """SHA-256 digests (:func:`hash_api_key`) of accepted Bearer keys; ``None``: no key needed."""
    max_peers: int = 1000
    """Peer connections held at once (connecting or connected); more are refused ``busy``."""
    connect_timeout: float = 20.0
    """Seconds after the answer within which the data channel must open, or the peer is closed."""
    max_envelope_bytes: int = MAX_ENVELOPE_BYTES
    """The longest offer envelope accepted; the request body may be 1 KiB more."""
    per_address: RateLimit = DEFAULT_PER_ADDRESS
    """Offers per client IP address (checked before anything is parsed)."""
    per_did: RateLimit = DEFAULT_PER_DID
    """Offers per authenticated offerer DID."""
    replay_cache_size: int = 100_000
    """Accepted nonces remembered until they expire; the cache fails closed when full."""
    peer: PeerConfig = DEFAULT_PEER
    """ICE servers and host-candidate pinning of the answering peers."""

    def __post_init__(self) -> None:
        if self.max_peers < 1 or not self.connect_timeout > 0 or self.max_envelope_bytes < 256:
            raise ValueError(f"unusable limits in {self!r}")


class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.offers = Counter(
            "didrtc_signaling_offers",
            "Offers received, by outcome (accepted or the refusal code).",
            ["outcome"],
            registry=self.registry,
        )
        self.peers = Gauge(
            "didrtc_signaling_peers",
            "Peer connections held (connecting or connected).",
            registry=self.registry,
        )
        self.connected = Gauge(
            "didrtc_signaling_connected_peers",
            "Peers whose data channel is open.",
            registry=self.registry,
        )
        self.outcomes = Counter(
            "didrtc_signaling_connections",
            "Peer connections by how they ended up: open, timeout or failed.",
            ["outcome"],
            registry=self.registry,
        )
        self.setup = Histogram(
            "didrtc_signaling_setup_seconds",
            "From receiving the offer to the data channel opening.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=self.registry,
        )


def _json_error(error: SignalingError) -> web.Response:
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, int(error.retry_after + 0.999)))
    return web.json_response(error.to_json(), status=error.status, headers=headers)


_HTTP_ERRORS: dict[int, tuple[str, str]] = {
    404: ("not-found", "no such path; offers go to POST /receive-offer"),
    405: ("method-not-allowed", "method not allowed on this path"),
    413: ("too-large", "the request body is over the envelope size limit"),
}


@web.middleware
async def _errors_as_json(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except SignalingError as error:
        return _json_error(error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code, message = _HTTP_ERRORS.get(error.status, ("bad-request", error.reason))
        return web.json_response({"error": code, "message": message}, status=error.status)


class Answerer:
    """The signaling service of one identity and the aiortc peers it answers."""

    def __init__(
        self,
        identity: Identity,
        config: AnswererConfig | None = None,
        *,
        handler: ChannelHandler | None = None,
        certificate: Certificate | None = None,
    ) -> None:
        self.identity = identity
        self.config = config or AnswererConfig()
        self.handler = handler or chat_handler(self.config.name)
        self.certificate = certificate or generate_self_signed()
        self.metrics = _Metrics()
        self._replay = ReplayCache(self.config.replay_cache_size)
        self._by_address = RateLimiter(self.config.per_address)
        self._by_did = RateLimiter(self.config.per_did)
        self._sessions: set[asyncio.Task[None]] = set()
        self._peers: set[Peer] = set()
        self._reserved = 0
        self._connected = 0
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._closing = False
        self.app = self._create_app()

    # The HTTP service.

    def _create_app(self) -> web.Application:
        app = web.Application(
            middlewares=[_errors_as_json], client_max_size=self.config.max_envelope_bytes + 1024
        )
        app.router.add_post("/receive-offer", self._receive_offer)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve HTTPS on ``host:port`` (``0``: a free port, see :attr:`endpoint`)."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, host, port, ssl_context=server_ssl_context(self.certificate)
        )
        await site.start()
        bound: Any = self._runner.addresses[0]
        self._host, self._port = host, int(bound[1])
        logger.info("answerer %s listening on %s", self.identity.did, self.endpoint)

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return self._port

    @property
    def endpoint(self) -> str:
        """The ``serviceEndpoint`` to publish: ``https://host:port/``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"https://{host}:{self._port}/"

    @property
    def peer_count(self) -> int:
        """Peer connections held now (connecting or connected)."""
        return self._reserved

    @property
    def connected_count(self) -> int:
        """Peers whose data channel is open now."""
        return self._connected

    async def stop(self) -> None:
        """Stop taking offers, close every peer, and stop serving. Idempotent."""
        self._closing = True
        for peer in list(self._peers):
            await peer.close()
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.wait(self._sessions, timeout=10)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        logger.info("answerer %s stopped", self.identity.did)

    async def __aenter__(self) -> Answerer:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "status": "stopping" if self._closing else "ok",
                "did": self.identity.did,
                "peers": self._reserved,
                "connected": self._connected,
            }
        )

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    # Taking an offer.

    def _check_api_key(self, request: web.Request) -> None:
        hashes = self.config.api_key_hashes
        if hashes is None:
            return
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            raise Unauthorized("this answerer needs an API key: Authorization: Bearer KEY")
        digest = hash_api_key(key.strip())
        # Compare against every stored hash, so the time taken says nothing about which matched.
        matched = False
        for stored in hashes:
            matched |= hmac.compare_digest(digest, stored)
        if not matched:
            raise Unauthorized("the API key is not one this answerer accepts")

    async def _read_envelope(self, request: web.Request) -> str:
        if request.content_type != "application/json":
            raise UnsupportedMediaType("the offer must be sent as application/json")
        limit = self.config.max_envelope_bytes + 1024
        if request.content_length is not None and request.content_length > limit:
            raise EnvelopeTooLarge(f"the request is {request.content_length} bytes; limit {limit}")
        try:
            body = await request.read()  # bounded by client_max_size
        except web.HTTPRequestEntityTooLarge:
            raise EnvelopeTooLarge(f"the request is over {limit} bytes") from None
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise MalformedEnvelope("the request body is not JSON") from None
        if not isinstance(document, dict) or set(document) != {"offer"}:
            raise MalformedEnvelope('the request body must be {"offer": "<compact JWS>"}')
        offer = document["offer"]
        if not isinstance(offer, str):
            raise MalformedEnvelope("'offer' must be a string holding a compact JWS")
        return offer

    def _refuse(self, error: SignalingError, address: str, did: str | None = None) -> None:
        self.metrics.offers.labels(outcome=error.code).inc()
        logger.info(
            "refused an offer from %s%s: %s (%s)",
            address,
            f" ({did})" if did else "",
            error.code,
            error.message,
        )

    async def _receive_offer(self, request: web.Request) -> web.Response:
        address = request.remote or "unknown"
        try:
            if self._closing:
                raise Busy("the answerer is shutting down")
            wait = self._by_address.take(address)
            if wait is not None:
                raise RateLimited(f"too many offers from {address}", retry_after=wait)
            if self._reserved >= self.config.max_peers:
                raise Busy(f"this answerer holds {self._reserved} peers, its limit", retry_after=5)
            self._check_api_key(request)
            token = await self._read_envelope(request)
            offer = open_offer(
                self.identity,
                token,
                replay_cache=self._replay,
                allowed=self.config.allowlist,
                max_bytes=self.config.max_envelope_bytes,
            )
        except SignalingError as error:
            self._refuse(error, address)
            raise
        try:
            wait = self._by_did.take(offer.sender)
            if wait is not None:
                raise RateLimited(f"too many offers from {offer.sender}", retry_after=wait)
            # Hold a slot before the first await, so concurrent offers cannot overshoot the cap.
            if self._reserved >= self.config.max_peers:
                raise Busy(f"this answerer holds {self._reserved} peers, its limit", retry_after=5)
        except SignalingError as error:
            self._refuse(error, address, offer.sender)
            raise
        return await self._answer(offer, address)

    async def _answer(self, offer: OpenedEnvelope, address: str) -> web.Response:
        started = time.perf_counter()
        tag = offer.nonce[:8]
        self._reserved += 1
        self.metrics.peers.set(self._reserved)
        peer: Peer | None = None
        try:
            peer = Peer(self.config.peer)
            self._peers.add(peer)
            logger.info("[%s] offer from %s at %s verified and opened", tag, offer.sender, address)
            answer_sdp = await peer.answer(offer.sdp)
            token = seal_answer(self.identity, offer, answer_sdp)
        except BaseException as error:
            if peer is not None:
                await peer.close()
                self._peers.discard(peer)
            self._release()
            if isinstance(error, SignalingError):
                self._refuse(error, address, offer.sender)
            raise
        self.metrics.offers.labels(outcome="accepted").inc()
        logger.info("[%s] answered in %.1f ms", tag, (time.perf_counter() - started) * 1000)
        task = asyncio.get_running_loop().create_task(self._session(peer, offer, started, tag))
        self._sessions.add(task)
        task.add_done_callback(self._sessions.discard)
        return web.json_response({"answer": token})

    def _release(self) -> None:
        self._reserved -= 1
        self.metrics.peers.set(self._reserved)

    async def _session(self, peer: Peer, offer: OpenedEnvelope, started: float, tag: str) -> None:
        connected = False
        try:
            try:
                channel = await peer.open_channel(
                    self.config.connect_timeout,
                    local_did=self.identity.did,
                    remote_did=offer.sender,
                )
            except SignalingError as error:
                outcome = "timeout" if isinstance(error, ConnectTimedOut) else "failed"
                self.metrics.outcomes.labels(outcome=outcome).inc()
                logger.info("[%s] closing a peer that never connected: %s", tag, error.message)
                return
            connected = True
            elapsed = time.perf_counter() - started
            self.metrics.outcomes.labels(outcome="open").inc()
            self.metrics.setup.observe(elapsed)
            self._connected += 1
            self.metrics.connected.set(self._connected)
            logger.info("[%s] data channel open with %s, %.1f ms", tag, offer.sender, elapsed * 1e3)
            try:
                await self.handler(channel)
            except SignalingError as error:
                logger.info("[%s] channel ended: %s", tag, error.message)
            except Exception:
                logger.exception("[%s] the channel handler failed", tag)
        finally:
            if connected:
                self._connected -= 1
                self.metrics.connected.set(self._connected)
            with contextlib.suppress(Exception):
                await peer.close()
            self._peers.discard(peer)
            self._release()
            logger.info("[%s] peer with %s closed", tag, offer.sender)
