"""Schema migrations and the store's concurrency guarantees, on both backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from didrtc import Identity
from didrtc.discovery.errors import ReplayedRequest, StaleListing
from didrtc.discovery.listing import Listing
from didrtc.discovery.store import (
    ConfigurationError,
    Store,
    current_revision,
    database_url,
    head_revision,
    open_engine,
    upgrade,
)
from didrtc.discovery.store.migrate import downgrade
from didrtc.discovery.store.schema import metadata
from tests.discovery.conftest import postgres_database


@pytest.fixture
def empty_engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database that was never migrated."""
    if backend == "sqlite":
        engine = open_engine(str(tmp_path / "empty.sqlite3"))
        yield engine
        engine.dispose()
        return
    with postgres_database(request.getfixturevalue("postgres_server"), migrated=False) as url:
        engine = open_engine(url)
        yield engine
        engine.dispose()


def test_migrations_create_the_schema_and_go_down_and_up_again(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    tables = set(inspect(empty_engine).get_table_names())
    assert set(metadata.tables) <= tables
    upgrade(empty_engine)  # idempotent
    downgrade(empty_engine, "base")
    assert not set(metadata.tables) & set(inspect(empty_engine).get_table_names())
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()


def test_the_migrated_schema_matches_the_tables_the_queries_use(empty_engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": lambda name, kind, parent: (
                    kind != "table" or name in metadata.tables
                ),
                "include_object": lambda obj, name, kind, reflected, compare_to: (
                    not (kind == "column" and name == "search_vector")
                ),
            },
        )
        differences = compare_metadata(context, metadata)
    # PostgreSQL's full-text column and its GIN index live outside the metadata on purpose.
    assert [d for d in differences if "search_vector" not in repr(d)] == []


def test_concurrent_migrations_are_safe(empty_engine: Engine) -> None:
    errors: list[BaseException] = []

    def migrate() -> None:
        engine = open_engine(empty_engine.url.render_as_string(hide_password=False))
        try:
            upgrade(engine)
        except BaseException as error:  # report any failure to the test thread
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert current_revision(empty_engine) == head_revision()


def _listing(identity: Identity, issued_at: int, name: str = "Cafe") -> Listing:
    return Listing.create(
        identity.did,
        name=name,
        categories=["cafe"],
        bootstrap_nodes=["127.0.0.1:4000"],
        service_endpoint="https://cafe.example",
        now=issued_at,
    )


def test_concurrent_writes_of_one_did_keep_the_newest(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    store = Store(empty_engine)
    identity = Identity.generate()
    now = int(time.time())
    listings = [_listing(identity, now - 50 + i, name=f"v{i}") for i in range(40)]
    outcomes: list[str] = []
    lock = threading.Lock()

    def write(chunk: list[Listing]) -> None:
        for listing in chunk:
            try:
                store.register(listing, "token", now=now)
                outcome = "ok"
            except StaleListing:
                outcome = "stale"
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=write, args=(listings[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 40
    stored = store.get(identity.did, now=now)
    assert stored is not None
    assert stored.name == "v39"
    with pytest.raises(ReplayedRequest):
        store.register(listings[39], "token", now=now)


def test_database_url_accepts_paths_and_known_schemes(tmp_path: Path) -> None:
    assert database_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    assert database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    for bad in ("mysql://u@h/db", "sqlite://", "sqlite:///:memory:"):
        with pytest.raises(ConfigurationError):
            database_url(bad)


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = open_engine(str(tmp_path / "wal.sqlite3"))
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
