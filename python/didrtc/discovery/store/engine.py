"""SQLAlchemy engines for the two supported databases, tuned for the discovery server.

SQLite runs in WAL mode so that searches never wait for a registration, and
every write transaction starts with ``BEGIN IMMEDIATE``: two processes that
both read and then try to upgrade to a write lock would otherwise deadlock
into ``SQLITE_BUSY`` instead of queueing on the busy timeout.
"""

from __future__ import annotations

import select
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError

from didrtc.errors import DidrtcError

__all__ = ["WRITE", "ConfigurationError", "database_url", "open_engine"]

WRITE = "didrtc_write"
"""Execution option marking a connection that will write (SQLite: ``BEGIN IMMEDIATE``)."""
SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer queues behind another before it gives up."""


class ConfigurationError(DidrtcError):
    """The discovery server's configuration is unusable (an unsupported database URL, say)."""


def database_url(value: str) -> str:
    """The SQLAlchemy URL for ``--db``: a ``sqlite:///`` or ``postgresql://`` URL or a file path."""
    if "://" not in value:
        return "sqlite:///" + str(Path(value).expanduser().resolve())
    scheme, _, rest = value.partition("://")
    if scheme in {"postgresql", "postgres", "postgresql+psycopg"}:
        return "postgresql+psycopg://" + rest
    if scheme in {"sqlite", "sqlite+pysqlite"}:
        if rest in {"", "/"} or rest.startswith("/:memory:"):
            raise ConfigurationError(
                "an in-memory SQLite database cannot be shared by the server's connections; "
                "give a file path"
            )
        return "sqlite:///" + rest.removeprefix("/")
    raise ConfigurationError(
        f"unsupported database URL scheme {scheme!r}: use a file path, sqlite:///PATH "
        "or postgresql://USER@HOST/DB"
    )


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite would defer it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    writing = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def open_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for ``url`` (passed through :func:`database_url` first)."""
    normalized = database_url(url)
    try:
        parsed = make_url(normalized)
    except ArgumentError as error:
        raise ConfigurationError(f"bad database URL: {error}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
    )
    event.listen(engine, "checkout", _refuse_connections_the_server_closed)
    return engine


def _refuse_connections_the_server_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out no pooled PostgreSQL connection that the server has closed.

    Used instead of ``pool_pre_ping``, whose ``SELECT 1`` is a round trip before every
    request: dropping it measured 20% more registrations a second. A server that closes a
    connection (a restart, ``pg_terminate_backend``, an idle timeout) sends an error message
    and end of file, which sit unread on the idle socket: a socket with anything to read
    between requests is one the server has given up on. The pool then opens a new
    connection in its place, and the request never sees the old one. (redis-py checks its
    idle connections the same way.) What this cannot see, a peer that vanished without
    closing, ``pool_recycle`` bounds.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection is closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the database server closed this connection")
