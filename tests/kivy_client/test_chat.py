"""The whole job in the real app: search, pick, connect, talk both ways, disconnect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.kivy_client.remote import running_app, until
from tests.kivy_client.services import Network


@pytest.mark.asyncio
@pytest.mark.parametrize("backend", ["rust", "python"])
async def test_search_pick_connect_chat_and_disconnect(
    network: Network, set_up_app: Any, data_dir: Path, tmp_path: Path, backend: str
) -> None:
    bistro = await network.answerer(
        "Demo Bistro",
        categories=("restaurant", "french"),
        description="Bookings for tonight and tomorrow. Ask for the terrace.",
    )
    await network.answerer("Corner Bakery", categories=("bakery",), description="Bread from 7 am.")
    did = set_up_app(
        discovery_url=network.url,
        bootstrap_nodes=(network.bootstrap,),
        host_addresses=("127.0.0.1",),
    )
    # DIDRTC_BACKEND=python is how the app runs on Android: the pure-Python crypto twin.
    async with running_app(data_dir, tmp_path / "app", DIDRTC_BACKEND=backend) as app:
        await app.wait_screen("search")
        # The first search lists everything; the chips offer every category seen.
        await app.wait("search", "state", "results")
        assert {row["name"] for row in await app.get("search", "results")} == {
            "Demo Bistro",
            "Corner Bakery",
        }
        assert set(await app.get("search", "categories")) == {"restaurant", "french", "bakery"}
        await app.tap_chip("bakery")
        await app.wait("search", "category", "bakery")
        await app.wait("search", "state", "results")
        assert [row["name"] for row in await app.get("search", "results")] == ["Corner Bakery"]
        await app.tap_chip("all")
        await app.wait("search", "category", "")
        await app.wait("search", "state", "results")
        assert len(await app.get("search", "results")) == 2

        await app.type("search", "query", "bistro", enter=True)
        await app.wait("search", "state", "results")
        results = await app.get("search", "results")
        assert [row["name"] for row in results] == ["Demo Bistro"]
        assert results[0]["did"] == bistro.did
        assert results[0]["categories"] == "restaurant · french"
        if backend == "rust":
            await app.shot("04-search-results")

        await app.tap_result(0)
        await app.wait_screen("connect")
        assert await app.get("connect", "did") == bistro.did
        await app.wait_screen("chat", timeout=40)
        assert await app.get("connect", "state") == "connected"
        assert set((await app.get("connect", "stages")).values()) == {"done"}
        if backend == "rust":
            await app.shot("05-connect-progress")

        assert await app.get("chat", "name_shown") == "Demo Bistro"
        assert await app.get("chat", "did") == bistro.did
        assert await app.get("chat", "state") == "connected"
        # The answerer greets us by the DID it authenticated: ours.
        greeting = await app.wait_count("chat", "messages", 1)
        assert greeting == [
            {"text": f"Welcome to Demo Bistro, {did}! I echo what you send.", "mine": False}
        ]

        await app.type("chat", "draft", "A table for two at eight?", enter=True)
        messages = await app.wait_count("chat", "messages", 3)
        assert messages[1:] == [
            {"text": "A table for two at eight?", "mine": True},
            {"text": "A table for two at eight?", "mine": False},
        ]
        await app.type("chat", "draft", "On the terrace, please")
        await app.tap("chat", "send")
        messages = await app.wait_count("chat", "messages", 5)
        assert [m["text"] for m in messages[3:]] == ["On the terrace, please"] * 2
        assert await app.text("chat", "draft") == ""
        if backend == "rust":
            await app.shot("06-chat")

        await app.tap("chat", "disconnect")
        await app.wait_screen("search")
        assert await app.app("session") is None
        assert await app.quit() == 0
    # The answerer saw the data channel close.
    await until(lambda: bistro.answerer.connected_count == 0)
