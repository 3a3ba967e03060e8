"""Keep an answerer findable: its DID Document record in the DHT and its discovery listing.

:class:`Announcer` publishes both at start, refreshes both well before they
expire (every third of their lifetime by default), retries sooner after a
failure, and withdraws the discovery listing when it stops. The DHT record
cannot be withdrawn; it expires on its own (see ``docs/dht.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from typing import Any

from didrtc.errors import DidrtcError
from didrtc.identity import Identity

__all__ = ["Announcement", "Announcer"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Announcement:
    """What an answerer tells the world about itself, and where."""

    name: str
    """The display name of its discovery listing."""
    categories: tuple[str, ...] = ()
    """Its listing's categories (for example ``("restaurant",)``)."""
    description: str = ""
    """Free text of its listing."""
    bootstrap: tuple[tuple[str, int], ...] = ()
    """DHT nodes to publish through; also what the listing tells offerers to resolve with.
    Empty: no DHT record is published."""
    discovery_url: str | None = None
    """The discovery server to register with; ``None``: no listing."""
    lifetime: int = 3600
    """Seconds the DHT record and the listing are valid for."""
    retry_after_failure: float = 30.0
    """Seconds before retrying a publish or registration that failed."""
    refresh_interval: float | None = None
    """Seconds between refreshes; ``None``: a third of the lifetime, so two can fail in a row."""

    def __post_init__(self) -> None:
        if self.lifetime < 60 or not self.retry_after_failure > 0:
            raise ValueError(f"lifetime must be >= 60 s and retries positive: {self!r}")
        if self.refresh_interval is not None and not 0 < self.refresh_interval < self.lifetime:
            raise ValueError(f"refresh_interval must be within the lifetime: {self!r}")
        if self.discovery_url is not None and not self.bootstrap:
            raise ValueError("a discovery listing must name DHT bootstrap nodes (bootstrap=...)")

    @property
    def refresh_every(self) -> float:
        """Seconds between refreshes."""
        return self.lifetime / 3 if self.refresh_interval is None else self.refresh_interval


class Announcer:
    """Publishes, refreshes and withdraws one answerer's record and listing."""

    def __init__(
        self,
        identity: Identity,
        endpoint: str,
        cert_fingerprint: str,
        announcement: Announcement,
        *,
        discovery_ssl: ssl.SSLContext | None = None,
    ) -> None:
        self.identity = identity
        self.endpoint = endpoint
        self.cert_fingerprint = cert_fingerprint
        self.announcement = announcement
        self.discovery_ssl = discovery_ssl
        self.published = 0
        """How many times the DHT record was published."""
        self.registered = 0
        """How many times the listing was registered."""
        self._task: asyncio.Task[None] | None = None
        self._node: Any = None

    async def _dht_node(self) -> Any:
        # One node for the answerer's whole life: a node that published and left would
        # stay in its neighbours' routing tables and slow their lookups until evicted.
        from didrtc.dht.errors import NetworkUnreachable
        from didrtc.dht.node import DhtNode
        from didrtc.signaling.offerer import listen_host_for

        if self._node is None:
            node = DhtNode(request_timeout=1.0)
            await node.listen(0, listen_host_for(self.announcement.bootstrap))
            if not await node.bootstrap(list(self.announcement.bootstrap)):
                await node.close()
                raise NetworkUnreachable("no DHT bootstrap node answered")
            self._node = node
        return self._node

    async def publish_record(self) -> None:
        """Publish the DID Document record to the DHT once."""
        from didrtc.dht.client import publish

        result = await publish(
            self.identity,
            self.endpoint,
            self.cert_fingerprint,
            node=await self._dht_node(),
            lifetime=self.announcement.lifetime,
        )
        self.published += 1
        logger.info("DID record published: %d nodes hold it", len(result.holders))

    async def register_listing(self) -> None:
        """Register (or replace) the discovery listing once."""
        from didrtc.discovery.client import DiscoveryClient

        url = self.announcement.discovery_url
        if url is None:
            return
        async with DiscoveryClient(url, ssl_context=self.discovery_ssl) as directory:
            receipt = await directory.register(
                self.identity,
                name=self.announcement.name,
                categories=self.announcement.categories,
                description=self.announcement.description,
                bootstrap_nodes=[_host_port(a) for a in self.announcement.bootstrap],
                service_endpoint=self.endpoint,
                lifetime=self.announcement.lifetime,
            )
        self.registered += 1
        logger.info("listed on %s until %d", url, receipt.expires)

    async def announce(self) -> None:
        """Publish the record, then register the listing (each only if configured)."""
        if self.announcement.bootstrap:
            await self.publish_record()
        if self.announcement.discovery_url is not None:
            await self.register_listing()

    async def start(self) -> None:
        """Announce once (raising if that fails), then keep refreshing in the background."""
        await self.announce()
        self._task = asyncio.get_running_loop().create_task(self._refresh_forever())

    async def _refresh_forever(self) -> None:
        delay = self.announcement.refresh_every
        while True:
            await asyncio.sleep(delay)
            try:
                await self.announce()
                delay = self.announcement.refresh_every
            except (DidrtcError, OSError) as error:
                delay = self.announcement.retry_after_failure
                logger.warning(
                    "refreshing the announcement failed (retry in %.0f s): %s", delay, error
                )

    async def stop(self, *, withdraw: bool = True) -> None:
        """Stop refreshing and (unless told not to) withdraw the discovery listing, best effort."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        url = self.announcement.discovery_url
        if url is not None and self.registered and withdraw:
            from didrtc.discovery.client import DiscoveryClient

            try:
                async with (
                    asyncio.timeout(5),
                    DiscoveryClient(url, ssl_context=self.discovery_ssl) as directory,
                ):
                    await directory.delete(self.identity)
                logger.info("listing withdrawn from %s", url)
            except (DidrtcError, OSError, TimeoutError) as error:
                logger.warning("could not withdraw the listing from %s: %s", url, error)
        if self._node is not None:
            node, self._node = self._node, None
            await node.close()


def _host_port(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
