"""The answerer's announcements: DHT record and discovery listing, refreshed and withdrawn."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from didrtc import Identity
from didrtc.dht import resolve
from didrtc.dht.errors import NetworkUnreachable
from didrtc.discovery.client import DiscoveryClient
from didrtc.signaling.announce import Announcement, Announcer
from didrtc.signaling.localnet import LocalDht, LocalDiscovery
from didrtc.signaling.tls import generate_self_signed

ENDPOINT = "https://127.0.0.1:8443/"


@pytest.mark.asyncio
async def test_record_and_listing_are_published_refreshed_and_withdrawn(tmp_path: Path) -> None:
    identity = Identity.generate()
    fingerprint = generate_self_signed().fingerprint
    with LocalDiscovery(tmp_path) as discovery:
        async with LocalDht(3) as dht:
            announcer = Announcer(
                identity,
                ENDPOINT,
                fingerprint,
                Announcement(
                    name="Refreshing Bistro",
                    categories=("restaurant", "cafe"),
                    bootstrap=(dht.bootstrap,),
                    discovery_url=discovery.url,
                    lifetime=600,
                    refresh_interval=1.1,  # the directory takes one listing a second
                ),
            )
            await announcer.start()
            try:
                resolved = await resolve(identity.did, bootstrap=[dht.bootstrap])
                assert (resolved.endpoint, resolved.cert_sha256) == (ENDPOINT, fingerprint)
                first_seq = resolved.record.seq
                async with DiscoveryClient(discovery.url) as directory:
                    listing = await directory.get(identity.did)
                assert listing.name == "Refreshing Bistro"
                assert listing.bootstrap_nodes == (f"{dht.bootstrap[0]}:{dht.bootstrap[1]}",)
                assert listing.service_endpoint == ENDPOINT
                for _ in range(200):  # refreshed in the background
                    if announcer.published >= 3 and announcer.registered >= 3:
                        break
                    await asyncio.sleep(0.1)
                assert announcer.published >= 3
                assert announcer.registered >= 3
                again = await resolve(identity.did, bootstrap=[dht.bootstrap])
                assert again.record.seq > first_seq
            finally:
                await announcer.stop()
            async with DiscoveryClient(discovery.url) as directory:
                assert (await directory.search("Refreshing")).results == ()


@pytest.mark.asyncio
async def test_an_unreachable_dht_fails_the_start() -> None:
    async with LocalDht(1) as dht:
        bootstrap = dht.bootstrap
    announcer = Announcer(
        Identity.generate(),
        ENDPOINT,
        generate_self_signed().fingerprint,
        Announcement(name="Lonely", bootstrap=(bootstrap,)),
    )
    with pytest.raises(NetworkUnreachable):
        await announcer.start()
    await announcer.stop()


def test_an_announcement_checks_its_settings() -> None:
    with pytest.raises(ValueError, match="bootstrap"):
        Announcement(name="x", discovery_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="lifetime"):
        Announcement(name="x", lifetime=10)
    with pytest.raises(ValueError, match="refresh_interval"):
        Announcement(name="x", lifetime=60, refresh_interval=60)
    assert Announcement(name="x", lifetime=3600).refresh_every == 1200
