"""Where listings live: SQLite (WAL file, FTS5) by default, PostgreSQL (tsvector + GIN) at scale.

:func:`~didrtc.discovery.store.engine.open_engine` makes the SQLAlchemy engine
for a database URL, :func:`~didrtc.discovery.store.migrate.upgrade` brings its
schema to the current Alembic revision, and :class:`~didrtc.discovery.store.listings.Store`
holds every query the server makes, including the replay cache of nonces, which
lives in the same database so that every server process sharing it refuses a
replay.
"""

from __future__ import annotations

from didrtc.discovery.store.engine import ConfigurationError, database_url, open_engine
from didrtc.discovery.store.listings import Store, StoredListing
from didrtc.discovery.store.migrate import current_revision, head_revision, upgrade

__all__ = [
    "ConfigurationError",
    "Store",
    "StoredListing",
    "current_revision",
    "database_url",
    "head_revision",
    "open_engine",
    "upgrade",
]
