"""SQLAlchemy statements compiled once, then run straight on the database driver's cursor.

Registrations and deletions write inside the one transaction at a time that
every writer queues for (group_commit.py), so whatever a write costs there is
paid by every request waiting. SQLAlchemy's per-execution work (building an
execution context, processing parameters and results, firing events) took as
long as SQLite's own work on the statements. Each write statement is still
defined once, as a SQLAlchemy construct for either database; it is compiled
for the engine's dialect when the store is built, and its parameters go to
the driver's ``execute`` in the order the compiled SQL wants them.

Only plain values are bound (strings, integers, booleans), which both drivers
adapt themselves, so skipping SQLAlchemy's type processing changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["DriverStatement", "driver_cursor"]


def driver_cursor(connection: Connection) -> Any:
    """A cursor of the driver connection under ``connection``, in its transaction."""
    driver = connection.connection.driver_connection
    assert driver is not None, "the connection is closed"
    return driver.cursor()


class DriverStatement:
    """``statement`` compiled for ``dialect``, binding ``column_keys`` when it inserts."""

    def __init__(
        self,
        statement: ClauseElement,
        dialect: Dialect,
        column_keys: Sequence[str] | None = None,
    ) -> None:
        compiled = cast(
            SQLCompiler,
            statement.compile(
                dialect=dialect, column_keys=None if column_keys is None else list(column_keys)
            ),
        )
        self.sql = compiled.string
        # Positional paramstyles (SQLite's "?") want a tuple in this order; named ones
        # (psycopg's "%(name)s") take the mapping itself.
        self._order: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positiontup is not None else None
        )

    def _parameters(self, values: Mapping[str, Any]) -> Any:
        if self._order is None:
            return values
        return tuple(values[name] for name in self._order)

    def execute(self, cursor: Any, values: Mapping[str, Any]) -> Any:
        """Run the statement with ``values``; returns the cursor, for ``fetchone()``."""
        cursor.execute(self.sql, self._parameters(values))
        return cursor

    def executemany(self, cursor: Any, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run the statement once per mapping of ``rows``."""
        cursor.executemany(self.sql, [self._parameters(row) for row in rows])
