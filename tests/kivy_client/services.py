"""Real local services for the app's tests: discovery, a DHT, answerers; all on 127.0.0.1."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from didrtc import Identity
from didrtc.signaling import LOOPBACK, Answerer, AnswererConfig
from didrtc.signaling.announce import Announcement, Announcer
from didrtc.signaling.localnet import LocalDht, LocalDiscovery


@dataclass
class LiveAnswerer:
    """An answerer serving on 127.0.0.1, listed in discovery and published in the DHT."""

    answerer: Answerer
    announcer: Announcer

    @property
    def did(self) -> str:
        return self.answerer.identity.did

    async def go_down(self) -> None:
        """Stop serving but leave the listing and the DHT record behind, as a crash would."""
        await self.answerer.stop()


@dataclass
class Network:
    """A discovery server and a small DHT, both real, on 127.0.0.1."""

    discovery: LocalDiscovery
    dht: LocalDht
    answerers: list[LiveAnswerer] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.discovery.url

    @property
    def bootstrap(self) -> str:
        host, port = self.dht.bootstrap
        return f"{host}:{port}"

    async def answerer(
        self,
        name: str,
        *,
        categories: tuple[str, ...] = ("restaurant",),
        description: str = "",
        **config: Any,
    ) -> LiveAnswerer:
        """Start an answerer (its chat greets, then echoes) and announce it."""
        answerer = Answerer(Identity.generate(), AnswererConfig(name=name, peer=LOOPBACK, **config))
        await answerer.start("127.0.0.1", 0)
        announcer = Announcer(
            answerer.identity,
            answerer.endpoint,
            answerer.certificate.fingerprint,
            Announcement(
                name=name,
                categories=categories,
                description=description,
                bootstrap=(self.dht.bootstrap,),
                discovery_url=self.url,
            ),
        )
        live = LiveAnswerer(answerer, announcer)
        self.answerers.append(live)
        await announcer.start()
        return live
