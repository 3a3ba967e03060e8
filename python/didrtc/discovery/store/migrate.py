"""Apply the shipped Alembic migrations, safely from several server processes at once.

Every gunicorn worker (and ``didrtc discovery serve`` before it forks them)
may call :func:`upgrade` on start-up. The first one takes a lock and
migrates; the others wait on the lock, then find the schema at head. The lock
is a PostgreSQL advisory lock there, and an ``flock`` on a file next to the
SQLite database.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

__all__ = ["VERSION_TABLE", "current_revision", "downgrade", "head_revision", "upgrade"]

logger = logging.getLogger(__name__)

VERSION_TABLE = "discovery_alembic_version"
"""Alembic's bookkeeping table, named so the discovery schema can share a database."""
_ADVISORY_LOCK_KEY = 0x64696472_74630001  # "didrtc" + 1: any constant other apps won't pick


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("didrtc.discovery") / "migrations"))
    return config


def head_revision() -> str:
    """The newest schema revision this version of didrtc ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None  # the package ships at least one revision
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, or ``None`` when it was never migrated."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


@contextlib.contextmanager
def _sqlite_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    assert database, "open_engine refuses in-memory SQLite"
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """SQLite: the file lock, held across the revision check *and* the migration.

    Checking the revision outside it raced on a new database file: the readers'
    connections switch it to WAL and read while the migrator holds its write
    lock, and one of them could give up with "database is locked". PostgreSQL
    needs nothing here: its advisory lock is taken inside the migration's
    transaction, and its readers never block on DDL in progress.
    """
    if engine.dialect.name == "sqlite":
        with _sqlite_lock(engine):
            yield
    else:
        yield


def _run(engine: Engine, revision: str, direction: str) -> None:
    config = _config()
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            getattr(command, direction)(config, revision)
            connection.commit()
        return
    with engine.begin() as connection:
        # Held until this transaction ends; PostgreSQL migrates in one transaction.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the newest)."""
    with _migration_lock(engine):
        before = current_revision(engine)
        if before == head_revision() and revision == "head":
            return
        logger.info("migrating the discovery database from %s to %s", before, revision)
        _run(engine, revision, "upgrade")


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"``: drop everything)."""
    with _migration_lock(engine):
        _run(engine, revision, "downgrade")
