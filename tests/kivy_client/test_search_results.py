"""A results list longer than the screen arrives whole, in the server's order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from didrtc import Identity
from didrtc.discovery.client import DiscoveryClient
from tests.kivy_client.remote import running_app
from tests.kivy_client.services import Network

LISTINGS = 9  # the 480x800 window shows about six rows: the rest are recycled into view


@pytest.mark.asyncio
async def test_every_result_is_shown_in_the_servers_order(
    network: Network, set_up_app: Any, data_dir: Path, tmp_path: Path
) -> None:
    async with DiscoveryClient(network.url) as directory:
        for index in range(LISTINGS):
            await directory.register(
                Identity.generate(),
                name=f"Bistro number {index}",
                categories=["restaurant"],
                description="A listing without a live answerer.",
                bootstrap_nodes=[network.bootstrap],
                service_endpoint="https://127.0.0.1:9/",
            )
        expected = [result.name for result in (await directory.search("")).results]
    assert len(expected) == LISTINGS
    set_up_app(discovery_url=network.url, bootstrap_nodes=(network.bootstrap,))
    async with running_app(data_dir, tmp_path / "app") as app:
        await app.wait_screen("search")
        await app.wait("search", "state", "results")
        rows = await app.wait_count("search", "results", LISTINGS)
        assert [row["name"] for row in rows] == expected
        # A new search replaces the list.
        await app.type("search", "query", "number 3", enter=True)
        await app.wait("search", "state", "loading", "results")
        await app.wait("search", "state", "results")
        rows = await app.wait_count("search", "results", 1)
        assert [row["name"] for row in rows] == ["Bistro number 3"]
