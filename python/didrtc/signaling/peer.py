"""aiortc peers: ICE configuration, loopback pinning, offers and answers.

:class:`Peer` wraps one ``RTCPeerConnection`` carrying one data channel, which
it hands out as a :class:`~didrtc.signaling.channel.Channel` once open.

Pinning host candidates
-----------------------
aioice gathers host candidates from every interface *except loopback*
(``aioice.ice.get_host_addresses`` skips ``127.0.0.1`` and ``::1``), and it has
no option to choose the addresses. :attr:`PeerConfig.host_addresses` does: it
is carried in a :class:`contextvars.ContextVar` set only around the
``setLocalDescription`` call of that one peer, and a wrapper installed once
around ``aioice.ice.get_host_addresses`` returns the pinned addresses when the
variable is set and calls the original otherwise. Peers that do not pin, in the
same process, are unaffected; nothing private of aioice or aiortc is touched,
and if aioice ever drops that function the wrapper refuses to install loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ipaddress
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import aioice.ice
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)

from didrtc.signaling.channel import Channel
from didrtc.signaling.errors import BadSdp, ConnectionFailed, ConnectTimedOut

__all__ = [
    "CHANNEL_LABEL",
    "LOOPBACK",
    "IceServer",
    "Peer",
    "PeerConfig",
    "check_data_channel_sdp",
    "pinned_host_addresses",
]

logger = logging.getLogger(__name__)

CHANNEL_LABEL: Final = "didrtc"
"""The label of the one data channel the offerer opens."""

_pinned: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "didrtc_pinned_host_addresses", default=None
)
_HOOK_MARK = "_didrtc_pinning_hook"


def _install_host_address_hook() -> None:
    """Wrap ``aioice.ice.get_host_addresses`` once so that a pinned context overrides it."""
    original = getattr(aioice.ice, "get_host_addresses", None)
    if original is None or not callable(original):
        raise RuntimeError(
            "aioice.ice.get_host_addresses is gone: this aioice version cannot pin host candidates"
        )
    if getattr(original, _HOOK_MARK, False):
        return

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        pinned = _pinned.get()
        if pinned is None:
            return list(original(use_ipv4, use_ipv6))
        return [
            address
            for address in pinned
            if (use_ipv4 and ipaddress.ip_address(address).version == 4)
            or (use_ipv6 and ipaddress.ip_address(address).version == 6)
        ]

    setattr(get_host_addresses, _HOOK_MARK, True)
    aioice.ice.get_host_addresses = get_host_addresses


@contextlib.contextmanager
def pinned_host_addresses(addresses: tuple[str, ...] | None) -> Iterator[None]:
    """Within this block (and tasks started in it), ICE gathers host candidates on ``addresses``.

    ``None`` leaves aioice's own choice (every non-loopback interface).
    """
    if addresses is None:
        yield
        return
    _install_host_address_hook()
    token = _pinned.set(addresses)
    try:
        yield
    finally:
        _pinned.reset(token)


@dataclass(frozen=True)
class IceServer:
    """A STUN or TURN server, as in the W3C ``RTCIceServer`` dictionary."""

    urls: tuple[str, ...]
    """``stun:host:port``, ``turn:host:port?transport=udp|tcp`` or ``turns:host:port``."""
    username: str | None = None
    """The TURN username."""
    credential: str | None = field(default=None, repr=False)
    """The TURN password. Never logged."""

    def __post_init__(self) -> None:
        if not self.urls or not all(
            isinstance(u, str) and u.split(":", 1)[0] in {"stun", "stuns", "turn", "turns"}
            for u in self.urls
        ):
            raise ValueError(f"ICE server URLs must be stun:, turn: or turns: {self.urls!r}")
        if any(u.startswith("turn") for u in self.urls) and (
            self.username is None or self.credential is None
        ):
            raise ValueError(f"a TURN server needs a username and a credential: {self.urls!r}")

    @classmethod
    def parse(cls, text: str) -> IceServer:
        """``stun:host:port`` or ``turn:USER:PASSWORD@host:port[?transport=tcp]`` (CLI form)."""
        scheme, _, rest = text.partition(":")
        if "@" in rest and scheme.startswith("turn"):
            credentials, _, location = rest.rpartition("@")
            username, _, password = credentials.partition(":")
            return cls(urls=(f"{scheme}:{location}",), username=username, credential=password)
        return cls(urls=(text,))

    def to_aiortc(self) -> RTCIceServer:
        return RTCIceServer(
            urls=list(self.urls), username=self.username, credential=self.credential
        )


@dataclass(frozen=True)
class PeerConfig:
    """How a peer gathers candidates and buffers messages."""

    ice_servers: tuple[IceServer, ...] = ()
    """STUN/TURN servers. Empty by default: no packet leaves for a third party unless asked.
    (aiortc uses the first STUN and the first TURN server of the list.)"""
    host_addresses: tuple[str, ...] | None = None
    """Pin host candidates to exactly these local addresses (``("127.0.0.1",)`` for tests
    and the demo); ``None`` gathers on every non-loopback interface as aioice does."""
    resolve_mdns: bool = True
    """Whether remote ``.local`` (mDNS) candidates are kept; browsers send them on LANs."""
    receive_buffer: int = 4096
    """Messages held for :meth:`Channel.receive` before the channel is closed as overflowing."""
    send_high_water: int = 1024 * 1024
    """Bytes buffered in SCTP above which :meth:`Channel.send` waits."""

    def __post_init__(self) -> None:
        if self.host_addresses is not None:
            if not self.host_addresses:
                raise ValueError("host_addresses must name at least one address, or be None")
            for address in self.host_addresses:
                try:
                    ipaddress.ip_address(address)
                except ValueError:
                    raise ValueError(f"not an IP address: {address!r}") from None
        if self.receive_buffer < 1 or self.send_high_water < 1:
            raise ValueError("receive_buffer and send_high_water must be positive")

    def rtc_configuration(self) -> RTCConfiguration:
        # An explicit empty list: None would make aiortc fall back to Google's STUN server.
        return RTCConfiguration(iceServers=[server.to_aiortc() for server in self.ice_servers])


LOOPBACK: Final = PeerConfig(host_addresses=("127.0.0.1",), resolve_mdns=False)
"""Everything on 127.0.0.1, no STUN, no TURN, no mDNS: what tests and the demo use."""


def check_data_channel_sdp(sdp: object) -> str:
    """Refuse an SDP that is not text with exactly one ``m=application`` section and no media."""
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise BadSdp("the SDP must be text starting with 'v=0'")
    media = [line.split(" ", 1)[0] for line in sdp.splitlines() if line.startswith("m=")]
    if media != ["m=application"]:
        raise BadSdp(f"the SDP must have exactly one m=application section, not {media[:4]!r}")
    return sdp


def _drop_mdns_candidates(sdp: str) -> str:
    lines = sdp.split("\r\n")
    kept = [
        line
        for line in lines
        if not (line.startswith("a=candidate:") and ".local " in line.lower() + " ")
    ]
    return "\r\n".join(kept)


class Peer:
    """One ``RTCPeerConnection`` with one data channel, offered or answered."""

    def __init__(self, config: PeerConfig = PeerConfig()) -> None:
        self.config = config
        self.pc = RTCPeerConnection(config.rtc_configuration())
        self._channel: Channel | None = None
        self._incoming: asyncio.Future[Channel] = asyncio.get_running_loop().create_future()
        self._failed = asyncio.Event()
        self._failure_callbacks: list[Callable[[], None]] = []
        self._closed = False
        self.pc.on("connectionstatechange", self._on_state)
        self.pc.on("datachannel", self._on_datachannel)

    def _on_state(self) -> None:
        state = self.pc.connectionState
        logger.debug("peer connection %s", state)
        if state in {"failed", "closed"}:
            self._failed.set()
            for callback in self._failure_callbacks:
                callback()

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if self._incoming.done():
            logger.warning("closing an extra data channel %r the offerer opened", channel.label)
            channel.close()
            return
        # Wrap it at once, so that no message arriving before open_channel() is lost.
        self._incoming.set_result(Channel(self, channel))

    def on_failure(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the connection fails or closes."""
        self._failure_callbacks.append(callback)

    @property
    def state(self) -> str:
        """The ``RTCPeerConnection`` connection state."""
        return str(self.pc.connectionState)

    def _remote(self, sdp: str) -> str:
        check_data_channel_sdp(sdp)
        return sdp if self.config.resolve_mdns else _drop_mdns_candidates(sdp)

    async def create_offer(self) -> str:
        """Create the data channel and the offer; returns the SDP with every candidate in it."""
        self._channel = Channel(self, self.pc.createDataChannel(CHANNEL_LABEL, ordered=True))
        with pinned_host_addresses(self.config.host_addresses):
            await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept_answer(self, sdp: str) -> None:
        """Apply the answer to our offer; ``BadSdp`` if aiortc cannot use it."""
        try:
            await self.pc.setRemoteDescription(
                RTCSessionDescription(sdp=self._remote(sdp), type="answer")
            )
        except BadSdp:
            raise
        except Exception as error:  # aiortc raises many types on hostile SDP
            raise BadSdp(f"the answer SDP is unusable: {error}") from None

    async def answer(self, offer_sdp: str) -> str:
        """Apply a remote offer and return our answer SDP with every candidate in it."""
        try:
            await self.pc.setRemoteDescription(
                RTCSessionDescription(sdp=self._remote(offer_sdp), type="offer")
            )
        except BadSdp:
            raise
        except Exception as error:  # aiortc raises many types on hostile SDP
            raise BadSdp(f"the offer SDP is unusable: {error}") from None
        with pinned_host_addresses(self.config.host_addresses):
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    async def open_channel(
        self, timeout: float, *, local_did: str = "", remote_did: str = ""
    ) -> Channel:
        """Wait until the data channel is open; ``ConnectionFailed`` on failure or timeout."""
        try:
            async with asyncio.timeout(timeout):
                channel = self._channel
                if channel is None:
                    channel = await self._first(self._incoming)
                if channel.raw.readyState != "open":
                    opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

                    def on_open() -> None:
                        if not opened.done():
                            opened.set_result(None)

                    channel.raw.once("open", on_open)
                    if channel.raw.readyState != "open":
                        await self._first(opened)
        except TimeoutError:
            raise ConnectTimedOut(
                f"the data channel did not open within {timeout:.0f} s "
                f"(connection {self.pc.connectionState})"
            ) from None
        channel.local_did, channel.remote_did = local_did, remote_did
        return channel

    async def _first(self, future: asyncio.Future[Any]) -> Any:
        """``future``'s result, or ``ConnectionFailed`` as soon as the connection fails."""
        failed = asyncio.ensure_future(self._failed.wait())
        try:
            await asyncio.wait({future, failed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            failed.cancel()
        if future.done():
            return future.result()
        raise ConnectionFailed(f"the peer connection {self.pc.connectionState}")

    async def close(self) -> None:
        """Close the peer connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self.pc.close()
