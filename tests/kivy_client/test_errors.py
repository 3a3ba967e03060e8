"""What the app shows when things go wrong: each failure in plain words, with a way on."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from didrtc import Identity
from didrtc.signaling import LOOPBACK, Answerer, AnswererConfig
from didrtc.signaling.announce import Announcement, Announcer
from tests.kivy_client.remote import RemoteApp, running_app
from tests.kivy_client.services import Network


async def pick_first_result(app: RemoteApp, query: str) -> None:
    await app.wait_screen("search")
    await app.type("search", "query", query, enter=True)
    await app.wait("search", "state", "results")
    await app.tap_result(0)
    await app.wait_screen("connect")


@pytest.mark.asyncio
async def test_answerer_down_says_it_is_offline_and_offers_a_retry(
    network: Network, set_up_app: Any, data_dir: Path, tmp_path: Path
) -> None:
    bistro = await network.answerer("Demo Bistro")
    await bistro.go_down()  # its listing and DHT record stay behind, as after a crash
    set_up_app(discovery_url=network.url, host_addresses=("127.0.0.1",))
    async with running_app(data_dir, tmp_path / "app") as app:
        await pick_first_result(app, "bistro")
        await app.wait("connect", "state", "failed")
        assert await app.get("connect", "failure_title") == "The answerer is offline"
        # It was found (the DHT record resolved), then the offer could not be delivered.
        assert await app.get("connect", "stages") == {
            "resolving": "done",
            "sending": "failed",
            "connecting": "pending",
            "connected": "pending",
        }
        assert bistro.answerer.endpoint.rstrip("/") in await app.get("connect", "failure_detail")
        await app.shot("07-connect-failed")

        await app.tap("connect", "retry")
        await app.wait("connect", "state", "connecting", "failed")
        await app.wait("connect", "state", "failed")
        assert await app.get("connect", "failure_title") == "The answerer is offline"
        await app.tap("connect", "back")
        await app.wait_screen("search")
        assert await app.quit() == 0


@pytest.mark.asyncio
async def test_refused_offer_says_why(
    network: Network, set_up_app: Any, data_dir: Path, tmp_path: Path
) -> None:
    # The answerer only takes calls from one DID, which is not the app's.
    await network.answerer(
        "Members Club", allowlist=frozenset({Identity.generate().did}), categories=("club",)
    )
    set_up_app(
        discovery_url=network.url,
        bootstrap_nodes=(network.bootstrap,),
        host_addresses=("127.0.0.1",),
    )
    async with running_app(data_dir, tmp_path / "app") as app:
        await pick_first_result(app, "members")
        await app.wait("connect", "state", "failed")
        assert await app.get("connect", "failure_title") == "The answerer refused the offer"
        assert await app.get("connect", "failure_text") == (
            "Your DID is not on the list of callers this answerer accepts."
        )
        assert "forbidden" in await app.get("connect", "failure_detail")
        assert (await app.get("connect", "stages"))["sending"] == "failed"
        await app.shot("08-offer-refused")
        assert await app.quit() == 0


@pytest.mark.asyncio
async def test_bad_discovery_url_shows_the_search_error_until_settings_fix_it(
    network: Network, set_up_app: Any, data_dir: Path, tmp_path: Path
) -> None:
    await network.answerer("Demo Bistro")
    with socket.socket() as closed:  # a port on which nothing listens
        closed.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    set_up_app(discovery_url=dead_url, host_addresses=("127.0.0.1",))
    async with running_app(data_dir, tmp_path / "app") as app:
        await app.wait_screen("search")
        await app.wait("search", "state", "error")
        assert await app.get("search", "error_title") == "Cannot reach the discovery server"
        assert dead_url in await app.get("search", "error_detail")
        assert await app.get("search", "results") == []
        await app.shot("09-search-error")

        await app.tap("search", "open_settings")
        await app.wait_screen("settings")
        await app.type("settings", "discovery_url", network.url)
        await app.tap("settings", "save")
        await app.wait_screen("search")
        await app.wait("search", "state", "results")
        assert [r["name"] for r in await app.get("search", "results")] == ["Demo Bistro"]
        assert await app.quit() == 0


@pytest_asyncio.fixture
async def silent_endpoint() -> AsyncIterator[str]:
    """An https:// endpoint that accepts TCP connections and never says a word."""
    release = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await release.wait()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}/"
    finally:
        release.set()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.mark.asyncio
async def test_cancel_stops_a_connection_that_hangs(
    network: Network, silent_endpoint: str, set_up_app: Any, data_dir: Path, tmp_path: Path
) -> None:
    # A listed answerer whose signed record names an endpoint that never answers.
    identity = Identity.generate()
    announcer = Announcer(
        identity,
        silent_endpoint,
        "00" * 32,
        Announcement(
            name="Slow Diner",
            categories=("restaurant",),
            description="Answers the phone eventually.",
            bootstrap=(network.dht.bootstrap,),
            discovery_url=network.url,
        ),
    )
    await announcer.start()
    try:
        set_up_app(discovery_url=network.url, host_addresses=("127.0.0.1",))
        async with running_app(data_dir, tmp_path / "app") as app:
            await pick_first_result(app, "slow")
            stages = await app.call("wait_stage", stage="sending", status="active", within=20)
            assert stages["resolving"] == "done"
            assert await app.get("connect", "state") == "connecting"
            await app.shot("05-connect-progress")
            await app.tap("connect", "cancel")
            await app.wait("connect", "state", "cancelled")
            assert (await app.get("connect", "stages"))["sending"] == "pending"
            await app.tap("connect", "back")
            await app.wait_screen("search")
            assert await app.app("session") is None
            assert await app.quit() == 0
    finally:
        await announcer.stop()


@pytest.mark.asyncio
async def test_certificate_mismatch_is_named_as_such(
    network: Network, set_up_app: Any, data_dir: Path, tmp_path: Path
) -> None:
    # The answerer's signed record pins a certificate other than the one its server presents.
    identity = Identity.generate()
    answerer = Answerer(identity, AnswererConfig(name="Pinned Cafe", peer=LOOPBACK))
    await answerer.start("127.0.0.1", 0)
    announcer = Announcer(
        identity,
        answerer.endpoint,
        "ab" * 32,
        Announcement(
            name="Pinned Cafe",
            categories=("cafe",),
            bootstrap=(network.dht.bootstrap,),
            discovery_url=network.url,
        ),
    )
    await announcer.start()
    try:
        set_up_app(discovery_url=network.url, host_addresses=("127.0.0.1",))
        async with running_app(data_dir, tmp_path / "app") as app:
            await pick_first_result(app, "pinned")
            await app.wait("connect", "state", "failed")
            assert await app.get("connect", "failure_title") == "Certificate mismatch"
            assert "intercepting" in await app.get("connect", "failure_text")
            assert answerer.peer_count == 0
            assert await app.quit() == 0
    finally:
        await announcer.stop()
        await answerer.stop()
