"""Alembic environment: runs on the connection :func:`didrtc.discovery.store.upgrade` passes in.

There is no alembic.ini: the discovery server applies its own migrations at
start-up, so the connection (already holding the migration lock) comes in
through ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from didrtc.discovery.store.migrate import VERSION_TABLE
from didrtc.discovery.store.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run the discovery migrations through didrtc.discovery.store.upgrade()")
_run(connection)
