"""The data channel applications hold: async ``send``, ``receive``, ``close`` and ``async for``.

Text goes as WebRTC string messages and ``bytes`` as binary ones. Sending waits
while too much is buffered (back-pressure); received messages wait in a bounded
queue, and a reader that falls that far behind gets the channel closed rather
than the process's memory grown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from aiortc import RTCDataChannel

from didrtc.signaling.errors import ChannelClosed

if TYPE_CHECKING:
    from didrtc.signaling.peer import Peer

__all__ = ["Channel", "Message"]

logger = logging.getLogger(__name__)

Message = str | bytes
"""A data-channel message: text (a WebRTC string message) or binary."""


class Channel:
    """An open data channel with a known peer: ``send``, ``receive``, ``close``, ``async for``.

    Text goes as WebRTC string messages and ``bytes`` as binary ones, and each
    arrives as the type it was sent as. ``receive`` raises :class:`ChannelClosed`
    once the channel is closed and every message before the close was read.
    """

    def __init__(
        self,
        peer: Peer,
        channel: RTCDataChannel,
        *,
        local_did: str = "",
        remote_did: str = "",
    ) -> None:
        self._peer = peer
        self._channel = channel
        self.local_did = local_did
        """This side's DID."""
        self.remote_did = remote_did
        """The other side's DID, as authenticated by signaling."""
        self.timings: dict[str, float] = {}
        """Seconds each stage of setting this channel up took (filled by the offerer)."""
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._limit = peer.config.receive_buffer
        self._close_reason = "the channel is closed"
        self._closing: asyncio.Future[None] | None = None
        self._closed = asyncio.Event()
        self._low = asyncio.Event()
        channel.bufferedAmountLowThreshold = peer.config.send_high_water // 2
        channel.on("message", self._on_message)
        channel.on("close", self._on_close)
        channel.on("bufferedamountlow", self._low.set)
        peer.on_failure(self._on_close)

    @property
    def raw(self) -> RTCDataChannel:
        """The aiortc data channel underneath."""
        return self._channel

    def _on_message(self, message: Any) -> None:
        if self._closed.is_set():
            return
        if self._queue.qsize() >= self._limit:
            logger.warning("closing the channel with %s: receive buffer full", self.remote_did)
            self._close_reason = f"the receive buffer overflowed ({self._limit} messages)"
            self._on_close()
            self._closing = asyncio.ensure_future(self.close())  # a reference keeps it alive
            return
        self._queue.put_nowait(message if isinstance(message, str) else bytes(message))

    def _on_close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._low.set()
            self._queue.put_nowait(None)

    @property
    def closed(self) -> bool:
        """Whether the channel has closed (either side, or a failure)."""
        return self._closed.is_set()

    async def send(self, message: Message) -> None:
        """Send text or bytes, waiting while too much is buffered; ``ChannelClosed`` if closed."""
        if not isinstance(message, str | bytes):
            raise TypeError(f"a message is str or bytes, not {type(message).__name__}")
        while (
            not self._closed.is_set()
            and self._channel.bufferedAmount > self._peer.config.send_high_water
        ):
            self._low.clear()
            await self._low.wait()
        if self._closed.is_set() or self._channel.readyState != "open":
            raise ChannelClosed(self._close_reason)
        self._channel.send(message)

    async def receive(self, timeout: float | None = None) -> Message:
        """The next message; ``ChannelClosed`` once closed, ``TimeoutError`` after ``timeout``."""
        async with asyncio.timeout(timeout):
            message = await self._queue.get()
        if message is None:
            self._queue.put_nowait(None)  # later receive() calls see the close too
            raise ChannelClosed(self._close_reason)
        return message

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            try:
                yield await self.receive()
            except ChannelClosed:
                return

    async def wait_closed(self) -> None:
        """Return once the channel is closed."""
        await self._closed.wait()

    async def close(self) -> None:
        """Close the channel and its peer connection; safe to call more than once."""
        self._on_close()
        await self._peer.close()

    async def __aenter__(self) -> Channel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
