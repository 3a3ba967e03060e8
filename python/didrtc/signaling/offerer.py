"""The offerer: from a DID (or a discovery listing) to an open, authenticated data channel.

::

    async with connect(answerer_did, identity=me, resolver=DhtResolver(bootstrap)) as channel:
        await channel.send("a table for two at eight?")
        print(await channel.receive())

``connect`` resolves the answerer's signed DID Document record (its signaling
endpoint and TLS certificate fingerprint), creates the aiortc offer, seals and
signs it, posts it over HTTPS pinned to that fingerprint, checks the answer as
strictly as the answerer checked the offer, and waits for the data channel.
Each refusal raises its own :class:`~didrtc.signaling.errors.SignalingError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urljoin, urlsplit

import aiohttp

from didrtc.errors import DidrtcError
from didrtc.identity import Identity
from didrtc.records import cert_fingerprint
from didrtc.signaling.channel import Channel
from didrtc.signaling.envelope import MAX_ENVELOPE_BYTES, open_answer, seal_offer
from didrtc.signaling.errors import (
    TlsPinMismatch,
    UnexpectedResponse,
    Unreachable,
    error_from_response,
)
from didrtc.signaling.peer import Peer, PeerConfig
from didrtc.signaling.tls import client_ssl

__all__ = [
    "DhtResolver",
    "Resolver",
    "Target",
    "UnresolvedDid",
    "connect",
    "parse_host_port",
]

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 4 * MAX_ENVELOPE_BYTES
"""The longest answer read from a signaling server."""

T = TypeVar("T")


class UnresolvedDid(Unreachable):
    """The answerer's DID Document record could not be found or checked."""

    code = "unresolved"


@dataclass(frozen=True)
class Target:
    """Where and how to reach an answerer: what its signed DID Document record says."""

    did: str
    """The answerer's did:key: the answer must be signed by it."""
    endpoint: str
    """The signaling service endpoint (``https://host:port/``)."""
    tls_fingerprint: str | None = None
    """SHA-256 of its TLS certificate (base64url ``x5t#S256``, or hex); ``None``: CA validation."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.endpoint)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"the signaling endpoint must be an https:// URL: {self.endpoint!r}")
        if self.tls_fingerprint is not None:
            object.__setattr__(self, "tls_fingerprint", cert_fingerprint(self.tls_fingerprint))


class Resolver(Protocol):
    """Anything that turns a DID into a :class:`Target` (the DHT, a cache, a test double)."""

    async def resolve(self, did: str) -> Target:
        """The target of ``did``; raises :class:`UnresolvedDid` (or ``Unreachable``)."""
        ...


def parse_host_port(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` as a pair; ``ValueError`` quoting the text otherwise."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, not {text!r}")
    return host, int(port)


def listen_host_for(bootstrap: Iterable[tuple[str, int]]) -> str:
    """Where a DHT node should listen to reach ``bootstrap``: loopback only if they all are."""
    loopback = True
    for host, _ in bootstrap:
        try:
            loopback &= ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback &= host == "localhost"
    return "127.0.0.1" if loopback else "0.0.0.0"  # noqa: S104 (a DHT node must be reachable)


class DhtResolver:
    """Resolves DIDs through the didrtc DHT (:func:`didrtc.dht.resolve`).

    It joins the DHT once, on the first lookup, and keeps that node for later
    ones (a lookup on a joined node takes milliseconds; joining costs a round of
    requests). ``close()`` it, or use it as an async context manager.
    """

    def __init__(
        self, bootstrap: Iterable[tuple[str, int]], *, node: Any = None, timeout: float = 10.0
    ) -> None:
        self.bootstrap = list(bootstrap)
        self.timeout = timeout
        self._node = node
        self._own_node = node is None
        self._joining = asyncio.Lock()

    async def _joined(self) -> Any:
        from didrtc.dht.node import DhtNode

        async with self._joining:
            if self._node is None:
                node = DhtNode(request_timeout=1.0, refresh_interval=3600, republish_interval=3600)
                await node.listen(0, listen_host_for(self.bootstrap))
                try:
                    async with asyncio.timeout(self.timeout):
                        joined = await node.bootstrap(self.bootstrap, refresh=False)
                except TimeoutError:
                    joined = []
                if not joined:
                    await node.close()
                    raise UnresolvedDid(
                        "no DHT bootstrap node answered: "
                        + ", ".join(f"{h}:{p}" for h, p in self.bootstrap)
                    )
                self._node = node
            return self._node

    async def resolve(self, did: str) -> Target:
        from didrtc.dht.client import resolve

        node = await self._joined()
        try:
            resolved = await resolve(did, node=node, timeout=self.timeout)
        except DidrtcError as error:
            raise UnresolvedDid(f"cannot resolve {did} through the DHT: {error}") from error
        return Target(did=did, endpoint=resolved.endpoint, tls_fingerprint=resolved.cert_sha256)

    async def close(self) -> None:
        """Leave the DHT (if this resolver joined it)."""
        if self._own_node and self._node is not None:
            node, self._node = self._node, None
            await node.close()

    async def __aenter__(self) -> DhtResolver:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class _Stages:
    def __init__(self, report: Callable[[str, float], None] | None) -> None:
        self.timings: dict[str, float] = {}
        self._report = report

    async def run(self, name: str, awaitable: Awaitable[T]) -> T:
        started = time.perf_counter()
        result = await awaitable
        self.done(name, started)
        return result

    def done(self, name: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        self.timings[name] = elapsed
        logger.debug("%s: %.1f ms", name, elapsed * 1000)
        if self._report is not None:
            self._report(name, elapsed)


async def _post_offer(
    session: aiohttp.ClientSession,
    target: Target,
    token: str,
    api_key: str | None,
) -> str:
    url = urljoin(target.endpoint, "receive-offer")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        async with session.post(
            url,
            json={"offer": token},
            headers=headers,
            ssl=client_ssl(target.tls_fingerprint),
            allow_redirects=False,
        ) as response:
            body = await response.content.read(MAX_RESPONSE_BYTES + 1)
            status, retry_after = response.status, response.headers.get("Retry-After")
    except aiohttp.ServerFingerprintMismatch as error:
        raise TlsPinMismatch(
            f"{url} presented a TLS certificate other than the one {target.did} pins "
            f"(got SHA-256 {error.got.hex()})"
        ) from None
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        raise Unreachable(f"cannot reach the signaling endpoint {url}: {error!r}") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise UnexpectedResponse(f"the answer from {url} is over {MAX_RESPONSE_BYTES} bytes")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    if status != 200:
        raise error_from_response(status, document, retry_after)
    if not isinstance(document, dict) or not isinstance(document.get("answer"), str):
        raise UnexpectedResponse(f"{url} answered HTTP 200 without an 'answer' envelope")
    answer: str = document["answer"]
    return answer


async def _target_of(
    destination: Target | str | Any, resolver: Resolver | None, stages: _Stages
) -> Target:
    if isinstance(destination, Target):
        return destination
    if isinstance(destination, str):
        if resolver is None:
            raise ValueError("connecting to a bare DID needs a resolver (e.g. DhtResolver)")
        return await stages.run("resolve", resolver.resolve(destination))
    # A discovery listing (didrtc.discovery.listing.Listing): its DID, resolved through the
    # DHT nodes it names, since only the DID's own record carries the TLS fingerprint.
    did, nodes = getattr(destination, "did", None), getattr(destination, "bootstrap_nodes", None)
    if not isinstance(did, str) or nodes is None:
        raise TypeError(f"connect() takes a DID, a Target or a Listing, not {destination!r}")
    if resolver is not None:
        return await stages.run("resolve", resolver.resolve(did))
    try:
        bootstrap = [parse_host_port(node) for node in nodes]
    except ValueError as error:
        raise UnresolvedDid(f"the listing of {did} names unusable DHT nodes: {error}") from None
    async with DhtResolver(bootstrap) as own:
        return await stages.run("resolve", own.resolve(did))


async def _connect(
    destination: Target | str | Any,
    *,
    identity: Identity | None,
    resolver: Resolver | None,
    api_key: str | None,
    peer_config: PeerConfig,
    timeout: float,
    session: aiohttp.ClientSession | None,
    on_stage: Callable[[str, float], None] | None,
) -> Channel:
    if isinstance(destination, str) and resolver is None:
        raise ValueError("connecting to a bare DID needs a resolver (e.g. DhtResolver)")
    stages = _Stages(on_stage)
    me = identity or Identity.generate()
    peer = Peer(peer_config)
    # Gathering candidates does not depend on whom we call: overlap it with the lookup.
    offering = asyncio.ensure_future(stages.run("offer", peer.create_offer()))
    own_session = session is None
    http = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
    try:
        target = await _target_of(destination, resolver, stages)
        offer_sdp = await offering
        started = time.perf_counter()
        token, nonce = seal_offer(me, target.did, offer_sdp)
        stages.done("seal", started)
        answer_token = await stages.run("signal", _post_offer(http, target, token, api_key))
        started = time.perf_counter()
        answer = open_answer(me, answer_token, answerer_did=target.did, offer_nonce=nonce)
        stages.done("verify", started)
        await peer.accept_answer(answer.sdp)
        channel = await stages.run(
            "connect", peer.open_channel(timeout, local_did=me.did, remote_did=target.did)
        )
    except BaseException:
        offering.cancel()
        with contextlib.suppress(BaseException):
            await offering
        await peer.close()
        raise
    finally:
        if own_session:
            await http.close()
    channel.timings.update(stages.timings)
    return channel


class _Connecting:
    """What :func:`connect` returns: await it for a :class:`Channel`, or ``async with`` it."""

    def __init__(self, coroutine: Awaitable[Channel]) -> None:
        self._coroutine = coroutine
        self._channel: Channel | None = None

    def __await__(self) -> Generator[Any, None, Channel]:
        return self._coroutine.__await__()

    async def __aenter__(self) -> Channel:
        self._channel = await self._coroutine
        return self._channel

    async def __aexit__(self, *exc_info: object) -> None:
        if self._channel is not None:
            await self._channel.close()


def connect(
    destination: Target | str | Any,
    *,
    identity: Identity | None = None,
    resolver: Resolver | None = None,
    api_key: str | None = None,
    peer_config: PeerConfig | None = None,
    timeout: float = 30.0,
    session: aiohttp.ClientSession | None = None,
    on_stage: Callable[[str, float], None] | None = None,
) -> _Connecting:
    """Open an authenticated data channel to an answerer.

    ``destination`` is a :class:`Target` (already resolved), a DID (resolved with
    ``resolver``), or a discovery ``Listing`` (resolved through the DHT nodes it
    names, or ``resolver``). ``identity`` signs the offer (a fresh one if
    ``None``); ``api_key`` is sent as a Bearer token; ``on_stage(name, seconds)``
    hears each stage as it completes (``resolve``, ``offer``, ``seal``,
    ``signal``, ``verify``, ``connect``). Raises the
    :class:`~didrtc.signaling.errors.SignalingError` of whatever failed.
    """
    return _Connecting(
        _connect(
            destination,
            identity=identity,
            resolver=resolver,
            api_key=api_key,
            peer_config=peer_config or PeerConfig(),
            timeout=timeout,
            session=session,
            on_stage=on_stage,
        )
    )
