"""PostgreSQL only: pooled connections the server closed, and the one-statement registration.

Against the real server of the suite. The server ends connections here the way an
operator or a restart does, with ``pg_terminate_backend``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert

from didrtc import Identity
from didrtc.discovery.app import create_app
from didrtc.discovery.errors import ReplayedRequest
from didrtc.discovery.listing import Listing
from didrtc.discovery.state import EXTENSION
from didrtc.discovery.store import Store, open_engine
from didrtc.discovery.store.listings import listing_row
from didrtc.discovery.store.schema import listings, nonces
from tests.discovery.conftest import postgres_database
from tests.discovery.discovery_support import listing_token, now_int, register

WAIT_S = 20.0
"""Bound on every wait for the server to reach a state."""


@pytest.fixture
def urls(postgres_server: str) -> Iterator[tuple[str, str]]:
    """(the test database's URL, the admin URL of the same cluster)."""
    with postgres_database(postgres_server) as url:
        yield url, postgres_server


@pytest.fixture
def app(urls: tuple[str, str]) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DISCOVERY_DATABASE_URL": urls[0],
            "DISCOVERY_PURGE_INTERVAL": 0,
            "RATELIMIT_ENABLED": False,
        }
    )
    yield app
    app.extensions[EXTENSION].close()


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def backends(admin_url: str, database: str, *, waiting_on_lock: bool = False) -> list[int]:
    """The server processes serving ``database`` (only those waiting on a lock, if asked)."""
    query = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()" + (
        " AND wait_event_type = 'Lock'" if waiting_on_lock else ""
    )
    with psycopg.connect(admin_url, autocommit=True) as admin:
        return [row[0] for row in admin.execute(query, (database,)).fetchall()]


def until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def terminate(admin_url: str, pids: list[int]) -> None:
    """End these server processes, as a restart would, and wait until they are gone."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        until(
            lambda: (
                not admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
                ).fetchone()
            ),
            "the terminated server processes to exit",
        )


def test_connections_the_server_closed_are_replaced_before_any_request_sees_them(
    app: Flask, urls: tuple[str, str]
) -> None:
    url, admin_url = urls
    client = app.test_client()
    identity = Identity.generate()
    assert register(client, listing_token(identity, now_int())).status_code == 200
    assert client.get("/search?query=seoul").status_code == 200
    pooled = backends(admin_url, database_name(url))
    assert pooled  # the pool keeps its connections between requests

    terminate(admin_url, pooled)

    # Every request after the server closed the pool's connections is served as usual.
    assert register(client, listing_token(identity, now_int() + 1)).status_code == 200
    found = client.get("/search?query=seoul")
    assert found.status_code == 200
    assert [result["did"] for result in found.json["results"]] == [identity.did]
    assert client.get(f"/dids/{identity.did}").status_code == 200
    assert not set(pooled) & set(backends(admin_url, database_name(url)))


def test_a_connection_lost_in_the_middle_of_a_registration_is_a_503(
    app: Flask, urls: tuple[str, str]
) -> None:
    url, admin_url = urls
    client = app.test_client()
    identity = Identity.generate()
    assert register(client, listing_token(identity, now_int())).status_code == 200
    answers: list[Any] = []

    def register_again(client: FlaskClient) -> None:
        answers.append(register(client, listing_token(identity, now_int() + 1)))

    with psycopg.connect(url) as holder:
        # Holding the listing's row makes the next registration wait inside its statement.
        holder.execute(
            "SELECT 1 FROM discovery_listings WHERE did = %s FOR UPDATE", (identity.did,)
        )
        writer = threading.Thread(target=register_again, args=(client,))
        writer.start()
        waiting = until(
            lambda: backends(admin_url, database_name(url), waiting_on_lock=True),
            "the registration to wait on the row",
        )
        terminate(admin_url, waiting)
        writer.join(timeout=WAIT_S)
        holder.rollback()
    assert not writer.is_alive()
    [answer] = answers
    assert answer.status_code == 503
    assert answer.json["error"] == "unavailable"
    # The lost connection is not handed out again.
    assert register(client, listing_token(identity, now_int() + 2)).status_code == 200


def cafe(identity: Identity, now: int) -> Listing:
    return Listing.create(
        identity.did,
        name="Cafe",
        categories=["cafe"],
        bootstrap_nodes=["127.0.0.1:4000"],
        service_endpoint="https://cafe.example",
        now=now,
    )


def register_behind(
    store: Store,
    listing: Listing,
    now: int,
    urls: tuple[str, str],
    release: Callable[[], None],
    what: str,
) -> BaseException | None:
    """Register ``listing`` in a thread; once it waits on a lock, ``release()``; the outcome."""
    url, admin_url = urls
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            store.register(listing, "token", now=now)
            outcome.append(None)
        except BaseException as error:  # handed to the test's thread
            outcome.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    until(lambda: backends(admin_url, database_name(url), waiting_on_lock=True), what)
    release()
    writer.join(timeout=WAIT_S)
    assert not writer.is_alive()
    [error] = outcome
    return error


def test_the_same_registration_twice_at_once_is_refused_as_replayed(
    urls: tuple[str, str],
) -> None:
    url = urls[0]
    engine = open_engine(url)
    store = Store(engine)
    identity = Identity.generate()
    now = now_int()
    listing = cafe(identity, now)
    try:
        with engine.connect() as first:
            # The first of the two, caught between storing and committing: its listing
            # row and its nonce are written but not yet visible to the second.
            first.execute(insert(listings).values(listing_row(listing, "token", now)))
            first.execute(
                insert(nonces).values(did=listing.did, nonce=listing.nonce, expires=now + 600)
            )
            error = register_behind(
                store, listing, now, urls, first.commit, "the second to wait on the first's row"
            )
        # Not "stale": the listing it found is its own, and the nonce says so.
        assert isinstance(error, ReplayedRequest)
    finally:
        store.close()


def test_a_nonce_stored_concurrently_refuses_the_whole_registration(
    urls: tuple[str, str],
) -> None:
    url = urls[0]
    store = Store(open_engine(url))
    identity = Identity.generate()
    now = now_int()
    listing = cafe(identity, now)
    try:
        with psycopg.connect(url) as other:
            # Another request stores the same nonce and has not committed yet: this
            # registration sees no such nonce when it starts, then waits on its key.
            other.execute(
                "INSERT INTO discovery_nonces (did, nonce, expires) VALUES (%s, %s, %s)",
                (identity.did, listing.nonce, now + 600),
            )
            error = register_behind(
                store, listing, now, urls, other.commit, "the registration to wait on the nonce"
            )
        assert isinstance(error, ReplayedRequest)
        # Refused whole: the listing and its categories were rolled back with the statement.
        assert store.get(identity.did, now=now) is None
        with psycopg.connect(url) as check:
            [count] = check.execute("SELECT count(*) FROM discovery_listing_categories").fetchone()
        assert count == 0
    finally:
        store.close()
