"""Resolving an answerer's DID through the DHT: found, not found, DHT unreachable."""

from __future__ import annotations

import socket

import pytest

from didrtc import Identity
from didrtc.signaling import LOOPBACK, DhtResolver, Unreachable, UnresolvedDid, connect
from didrtc.signaling.announce import Announcement, Announcer
from didrtc.signaling.localnet import LocalDht
from tests.signaling.conftest import AnswererFactory


@pytest.mark.asyncio
async def test_a_published_did_resolves_to_its_endpoint_and_pin(
    make_answerer: AnswererFactory,
) -> None:
    answerer = await make_answerer()
    async with LocalDht(3) as dht:
        announcer = Announcer(
            answerer.identity,
            answerer.endpoint,
            answerer.certificate.fingerprint,
            Announcement(name="Resolvable", bootstrap=(dht.bootstrap,)),
        )
        await announcer.start()
        try:
            async with DhtResolver([dht.bootstrap]) as resolver:
                target = await resolver.resolve(answerer.identity.did)
                assert target.endpoint == answerer.endpoint
                assert target.tls_fingerprint == answerer.certificate.fingerprint
                stages: list[str] = []
                async with connect(
                    answerer.identity.did,
                    resolver=resolver,
                    peer_config=LOOPBACK,
                    on_stage=lambda name, _seconds: stages.append(name),
                ) as channel:
                    assert channel.remote_did == answerer.identity.did
                assert set(stages) == {"resolve", "offer", "seal", "signal", "verify", "connect"}
        finally:
            await announcer.stop()


@pytest.mark.asyncio
async def test_a_did_without_a_record_is_unresolved() -> None:
    async with LocalDht(2) as dht, DhtResolver([dht.bootstrap]) as resolver:
        with pytest.raises(UnresolvedDid, match="cannot resolve"):
            await resolver.resolve(Identity.generate().did)
        with pytest.raises(UnresolvedDid):
            await connect(Identity.generate().did, resolver=resolver, peer_config=LOOPBACK)


@pytest.mark.asyncio
async def test_an_unreachable_dht_is_unresolved() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        silent = probe.getsockname()
        async with DhtResolver([silent], timeout=5) as resolver:
            with pytest.raises(UnresolvedDid, match="no DHT bootstrap node answered") as info:
                await resolver.resolve(Identity.generate().did)
    assert isinstance(info.value, Unreachable)


@pytest.mark.asyncio
async def test_connecting_to_a_bare_did_needs_a_resolver() -> None:
    with pytest.raises(ValueError, match="resolver"):
        await connect(Identity.generate().did, peer_config=LOOPBACK)
