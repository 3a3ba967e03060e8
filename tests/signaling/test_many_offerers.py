"""One answerer (its own process) and 100 concurrent offerers that all connect and chat."""

from __future__ import annotations

import asyncio

import pytest

from didrtc import Identity
from didrtc.signaling import LOOPBACK, Target, connect
from tests.signaling.processes import child

OFFERERS = 100


async def chat(target: Target, index: int) -> list[str | bytes]:
    async with connect(
        target, identity=Identity.generate(), peer_config=LOOPBACK, timeout=60
    ) as channel:
        assert channel.remote_did == target.did
        await channel.send(f"hello from {index}")
        await channel.send(index.to_bytes(2, "big"))
        return [await channel.receive(60), await channel.receive(60)]


@pytest.mark.asyncio
async def test_a_hundred_concurrent_offerers_all_connect_and_exchange_messages() -> None:
    async with child(
        "answer",
        "--ephemeral",
        "--name",
        "Busy Bistro",
        "--listen",
        "127.0.0.1:0",
        "--echo",
        "--max-peers",
        str(OFFERERS + 10),
        "--rate-burst",
        str(OFFERERS * 2),
        "--rate-per-address",
        "1000",
        "--connect-timeout",
        "60",
        "--json",
        "--host-address",
        "127.0.0.1",
        "--no-mdns",
        name="answerer",
    ) as answerer:
        ready = await answerer.event("ready")
        target = Target(ready["did"], ready["endpoint"], ready["tls_fingerprint"])
        replies = await asyncio.gather(*(chat(target, i) for i in range(OFFERERS)))
        assert replies == [[f"hello from {i}", i.to_bytes(2, "big")] for i in range(OFFERERS)]
        assert await answerer.stop() == 0
