"""The asyncio client and the ``didrtc discovery`` commands against a live server, both backends."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from aiohttp import web

from didrtc import Identity
from didrtc.cli import main
from didrtc.discovery.client import DiscoveryClient
from didrtc.discovery.errors import (
    ERROR_CLASSES,
    BadRequest,
    ForgedListing,
    InvalidListing,
    ListingNotFound,
    RateLimited,
    ReplayedRequest,
    StaleListing,
    UnexpectedResponse,
    error_from_response,
)
from didrtc.discovery.listing import Listing, sign_listing
from tests.discovery.conftest import BACKENDS, LiveServer, postgres_database, start_server

T = TypeVar("T")


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One gunicorn server per backend for the whole module."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = str(tmp_path_factory.mktemp("client") / "discovery.sqlite3")
        else:
            url = stack.enter_context(postgres_database(request.getfixturevalue("postgres_server")))
        live = start_server(["--db", url, "--workers", "1", "--threads", "4", "--no-rate-limits"])
        try:
            yield live
        finally:
            assert live.stop() == 0


def run(server: LiveServer, action: Callable[[DiscoveryClient], Awaitable[T]]) -> T:
    async def go() -> T:
        async with DiscoveryClient(server.url) as client:
            return await action(client)

    return asyncio.run(go())


def _register(client: DiscoveryClient, identity: Identity, **changes: object) -> Awaitable[object]:
    fields: dict[str, object] = {
        "name": "Han River Noodles",
        "description": "Hand-pulled noodles",
        "categories": ["restaurant", "noodles"],
        "bootstrap_nodes": ["127.0.0.1:4000"],
        "service_endpoint": "https://noodles.example/didrtc",
    }
    fields.update(changes)
    return client.register(identity, **fields)  # type: ignore[arg-type]


def test_register_search_get_and_delete(server: LiveServer) -> None:
    identity = Identity.generate()
    word = "zq" + identity.did[-8:].lower()  # unique to this test run

    async def scenario(client: DiscoveryClient) -> None:
        receipt = await _register(client, identity, description=f"Noodles {word}")
        assert receipt.did == identity.did
        page = await client.search(word)
        assert [listing.did for listing in page.results] == [identity.did]
        listing = page.results[0]
        assert isinstance(listing, Listing)
        assert listing.bootstrap_nodes == ("127.0.0.1:4000",)
        assert listing.expires == receipt.expires
        assert await client.get(identity.did) == listing
        await client.delete(identity)
        with pytest.raises(ListingNotFound):
            await client.get(identity.did)
        with pytest.raises(ListingNotFound):
            await client.delete(identity)

    run(server, scenario)


def test_search_all_follows_the_cursor(server: LiveServer) -> None:
    tag = "pg" + Identity.generate().did[-10:].lower()
    identities = [Identity.generate() for _ in range(5)]

    async def scenario(client: DiscoveryClient) -> list[str]:
        for identity in identities:
            await _register(client, identity, description=f"Paged {tag}")
        return [listing.did for listing in await client.search_all(tag, max_results=50)]

    found = run(server, lambda client: scenario(client))
    assert sorted(found) == sorted(identity.did for identity in identities)

    async def small_pages(client: DiscoveryClient) -> tuple[int, str | None]:
        page = await client.search(tag, limit=2)
        return len(page.results), page.next_cursor

    count, cursor = run(server, small_pages)
    assert count == 2
    assert cursor is not None


def test_each_error_code_raises_its_own_exception(server: LiveServer) -> None:
    identity = Identity.generate()
    listing = Listing.create(
        identity.did,
        name="Replay Cafe",
        categories=["cafe"],
        bootstrap_nodes=["127.0.0.1:4000"],
        service_endpoint="https://cafe.example",
    )
    token = sign_listing(identity, listing)

    async def scenario(client: DiscoveryClient) -> None:
        await client.register_token(token)
        with pytest.raises(ReplayedRequest) as replayed:
            await client.register_token(token)
        assert replayed.value.status == 409
        older = Listing.create(
            identity.did,
            name="Older",
            categories=["cafe"],
            bootstrap_nodes=["127.0.0.1:4000"],
            service_endpoint="https://cafe.example",
            now=listing.issued_at - 10,
        )
        with pytest.raises(StaleListing):
            await client.register_token(sign_listing(identity, older))
        with pytest.raises(BadRequest):
            await client.search("x", limit=500)
        with pytest.raises(ListingNotFound):
            await client.get(Identity.generate().did)

    run(server, scenario)
    with pytest.raises(InvalidListing):  # refused locally before anything is sent
        run(server, lambda client: _register(client, identity, categories=["Bad Category"]))


def test_error_from_response_maps_every_code() -> None:
    for code, cls in ERROR_CLASSES.items():
        error = error_from_response(cls.status, {"error": code, "message": "why"})
        assert type(error) is cls
        assert error.message == "why"
    limited = error_from_response(429, {"error": "rate_limited", "message": "slow"}, "7")
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 7.0
    assert isinstance(error_from_response(502, "<html>"), UnexpectedResponse)
    assert isinstance(
        error_from_response(400, {"error": "new_code", "message": ""}), UnexpectedResponse
    )


def test_client_refuses_a_listing_the_server_altered() -> None:
    """A lying directory cannot change what a listing says: the signature gives it away."""
    identity = Identity.generate()
    listing = Listing.create(
        identity.did,
        name="Honest",
        categories=["cafe"],
        bootstrap_nodes=["127.0.0.1:4000"],
        service_endpoint="https://honest.example",
    )
    token = sign_listing(identity, listing)
    header, _payload, signature = token.split(".")
    mallory = Identity.generate()
    relabelled = {"did": mallory.did, "token": token}
    swapped_payload = sign_listing(
        mallory,
        Listing.create(
            mallory.did,
            name="Evil",
            categories=["cafe"],
            bootstrap_nodes=["10.6.6.6:4000"],
            service_endpoint="https://evil.example",
        ),
    ).split(".")[1]
    altered = {"did": identity.did, "token": f"{header}.{swapped_payload}.{signature}"}

    async def scenario() -> list[type[BaseException]]:
        answers = iter([relabelled, altered, {"did": identity.did}])

        async def handler(request: web.Request) -> web.Response:
            return web.json_response({"results": [next(answers)], "next_cursor": None})

        app = web.Application()
        app.router.add_get("/search", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        raised: list[type[BaseException]] = []
        try:
            async with DiscoveryClient(f"http://127.0.0.1:{port}") as client:
                for _ in range(3):
                    try:
                        await client.search("x")
                    except ForgedListing as error:
                        raised.append(type(error))
        finally:
            await runner.cleanup()
        return raised

    assert asyncio.run(scenario()) == [ForgedListing] * 3


def test_unreachable_server_is_an_unexpected_response() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

        async def scenario() -> None:
            async with DiscoveryClient(f"http://127.0.0.1:{port}", timeout=5) as client:
                await client.search("x")

        with pytest.raises(UnexpectedResponse, match="cannot reach"):
            asyncio.run(scenario())


def test_command_line_register_search_show_delete(
    server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identity_file = tmp_path / "identity.json"
    assert main(["keygen", "--out", str(identity_file)]) == 0
    did = capsys.readouterr().out.split()[0]
    word = "cli" + did[-8:].lower()
    common = ["--server", server.url]
    assert (
        main(
            [
                "discovery",
                "register",
                *common,
                "--identity",
                str(identity_file),
                "--name",
                "Seoul Kitchen",
                "--description",
                f"Bibimbap {word}",
                "--category",
                "restaurant",
                "--category",
                "korean",
                "--bootstrap",
                "127.0.0.1:4000",
                "--endpoint",
                "https://seoul.example/didrtc",
                "--json",
            ]
        )
        == 0
    )
    receipt = json.loads(capsys.readouterr().out)
    assert receipt["did"] == did

    assert main(["discovery", "search", *common, word]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["NAME", "CATEGORIES", "DID", "ENDPOINT"]
    assert did in table
    assert "restaurant,korean" in table

    assert main(["discovery", "search", *common, word, "--json"]) == 0
    [found] = json.loads(capsys.readouterr().out)
    assert found["did"] == did
    assert found["bootstrap_nodes"] == ["127.0.0.1:4000"]

    assert main(["discovery", "show", *common, did]) == 0
    assert "Seoul Kitchen" in capsys.readouterr().out

    assert main(["discovery", "delete", *common, "--identity", str(identity_file)]) == 0
    capsys.readouterr()
    assert main(["discovery", "show", *common, did]) == 1
    assert "didrtc: error: no live listing" in capsys.readouterr().err
    assert main(["discovery", "search", *common, word]) == 0
    assert "no listings found" in capsys.readouterr().out


def test_help_explains_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("serve", "register", "search", "show", "delete", "migrate", "dev-cert"):
        with pytest.raises(SystemExit) as exited:
            main(["discovery", command, "--help"])
        assert exited.value.code == 0
        assert "usage: didrtc discovery " + command in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["discovery", "--help"])
    assert "signed" in capsys.readouterr().out


def test_migrate_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discovery", "migrate", "--db", str(tmp_path / "m.sqlite3")]) == 0
    assert "revision 0001" in capsys.readouterr().out
    assert main(["discovery", "migrate", "--db", "mysql://nope"]) == 1
    assert "unsupported database URL" in capsys.readouterr().err
