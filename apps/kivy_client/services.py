"""The app's service layer: search, connect and chat, on top of didrtc's public offerer API.

The UI depends only on this module. It holds no protocol code: searching is
:class:`didrtc.discovery.client.DiscoveryClient`, resolving is
:class:`didrtc.signaling.DhtResolver` (or the DHT nodes a listing names), and
connecting is :func:`didrtc.signaling.connect`, the same call the ``didrtc
offer`` command makes. Nothing here imports Kivy, so it can be used and tested
on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from apps.kivy_client.settings_store import Settings
from didrtc import Identity
from didrtc.discovery.client import DiscoveryClient
from didrtc.discovery.listing import Listing
from didrtc.signaling import Channel, DhtResolver, connect
from didrtc.signaling.channel import Message

__all__ = [
    "STAGES",
    "STAGE_TITLES",
    "ChatSession",
    "ClientService",
    "ListingSummary",
]

logger = logging.getLogger(__name__)

STAGES: Final = ("resolving", "sending", "connecting", "connected")
"""The stages of a connection the user sees, in order."""
STAGE_TITLES: Final = {
    "resolving": "Resolving the DID Document",
    "sending": "Sending the offer",
    "connecting": "Connecting",
    "connected": "Connected",
}
_FINISHES: Final = {"resolve": "resolving", "verify": "sending", "connect": "connecting"}
"""Which user-visible stage each of the offerer API's stages completes."""

SEARCH_LIMIT: Final = 50
"""Results asked for per search (one page)."""


@dataclass(frozen=True)
class ListingSummary:
    """One search result: what the results list shows, and the signed listing behind it."""

    did: str
    name: str
    description: str
    categories: tuple[str, ...]
    listing: Listing
    """The listing as its DID signed it (the discovery client checked the signature)."""

    @classmethod
    def of(cls, listing: Listing) -> ListingSummary:
        return cls(
            did=listing.did,
            name=listing.name,
            description=listing.description,
            categories=tuple(listing.categories),
            listing=listing,
        )


class ChatSession:
    """An open, authenticated data channel with one answerer, as the chat screen uses it."""

    def __init__(self, channel: Channel, name: str) -> None:
        self._channel = channel
        self.name = name
        """The answerer's display name (from its signed listing)."""
        self.timings: dict[str, float] = dict(channel.timings)
        """Seconds each stage of the connection took."""

    @property
    def remote_did(self) -> str:
        """The answerer's DID, as signaling authenticated it."""
        return self._channel.remote_did

    @property
    def closed(self) -> bool:
        return self._channel.closed

    async def send(self, text: str) -> None:
        """Send a text message; ``ChannelClosed`` when the channel is gone."""
        await self._channel.send(text)

    async def receive(self) -> str:
        """The next message (binary ones shown as hex); ``ChannelClosed`` once closed."""
        return _text_of(await self._channel.receive())

    async def close(self) -> None:
        await self._channel.close()


def _text_of(message: Message) -> str:
    if isinstance(message, str):
        return message
    return f"<{len(message)} bytes> {message[:64].hex()}"


class ClientService:
    """Everything the app does on the network, for one identity and one set of settings."""

    def __init__(
        self,
        identity: Identity,
        settings: Settings,
        *,
        search_timeout: float = 10.0,
        connect_timeout: float = 20.0,
    ) -> None:
        self.identity = identity
        self.settings = settings
        self.search_timeout = search_timeout
        self.connect_timeout = connect_timeout
        self._resolver: DhtResolver | None = None

    def replace_settings(self, settings: Settings) -> DhtResolver | None:
        """Use ``settings`` from now on; returns the resolver joined with the old ones, if any.

        The caller closes it (``await resolver.close()``): leaving the DHT takes a moment, and
        the next search must not wait for it.
        """
        if settings == self.settings:
            return None
        self.settings = settings
        resolver, self._resolver = self._resolver, None
        return resolver

    async def search(self, query: str, category: str | None = None) -> list[ListingSummary]:
        """Listings matching ``query`` (and ``category``), each checked against its signature."""
        async with DiscoveryClient(
            self.settings.discovery_url, timeout=self.search_timeout
        ) as directory:
            page = await directory.search(query.strip(), category=category, limit=SEARCH_LIMIT)
        return [ListingSummary.of(listing) for listing in page.results]

    def _resolver_for_settings(self) -> DhtResolver | None:
        # Bootstrap nodes the user chose are trusted over the ones a listing names; the
        # resolver joins the DHT once and is reused for every later connection.
        if not self.settings.bootstrap_nodes:
            return None
        if self._resolver is None:
            self._resolver = DhtResolver(self.settings.bootstrap(), timeout=self.connect_timeout)
        return self._resolver

    async def connect(
        self, summary: ListingSummary, on_progress: Callable[[str], None]
    ) -> ChatSession:
        """Open a data channel to the answerer of ``summary``.

        ``on_progress(stage)`` hears each stage of :data:`STAGES` as it completes.
        Raises what :func:`didrtc.signaling.connect` raises, or ``TimeoutError``
        when the whole attempt outlasts twice the connect timeout.
        """

        def stage_done(name: str, seconds: float) -> None:
            finished = _FINISHES.get(name)
            logger.debug("offerer stage %s took %.1f ms", name, seconds * 1000)
            if finished is not None:
                on_progress(finished)

        destination: Any = summary.listing
        async with asyncio.timeout(2 * self.connect_timeout):
            channel = await connect(
                destination,
                identity=self.identity,
                resolver=self._resolver_for_settings(),
                peer_config=self.settings.peer_config(),
                timeout=self.connect_timeout,
                on_stage=stage_done,
            )
        on_progress("connected")
        return ChatSession(channel, summary.name)

    async def _drop_resolver(self) -> None:
        resolver, self._resolver = self._resolver, None
        if resolver is not None:
            await resolver.close()

    async def close(self) -> None:
        """Leave the DHT if a resolver joined it."""
        await self._drop_resolver()
