"""Every query the discovery server makes: register, delete, get, search, purge.

Writes are single transactions whose outcome the database decides, so any
number of server processes can share one database without losing a listing:
the nonce goes in with ``INSERT ... ON CONFLICT DO NOTHING`` (no row back:
a replay), and the listing with an upsert that only replaces an older or
expired row (no row back: a newer listing is already there).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, bindparam, delete, event, insert, or_, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from didrtc.discovery.deletion import Deletion
from didrtc.discovery.errors import ReplayedRequest, StaleListing
from didrtc.discovery.listing import Listing
from didrtc.discovery.store.checkpoint import WalCheckpointer
from didrtc.discovery.store.driver_statement import DriverStatement, driver_cursor
from didrtc.discovery.store.engine import WRITE
from didrtc.discovery.store.group_commit import GroupCommit
from didrtc.discovery.store.schema import listing_categories, listings, nonces
from didrtc.discovery.store.write_lock import SqliteWriteLock
from didrtc.discovery.tokens import MAX_CLOCK_SKEW, MAX_REQUEST_AGE, nonce_retention

__all__ = ["Store", "StoredListing", "listing_row", "search_terms"]

T = TypeVar("T")

logger = logging.getLogger(__name__)

_TERM = re.compile(r"[^\W_]+")
MAX_TERMS = 8
"""Search terms past the eighth are ignored."""


def search_terms(query: str) -> list[str]:
    """The words of a query, lowercased: runs of letters and digits, as both indexes split text."""
    return [term.lower() for term in _TERM.findall(query)][:MAX_TERMS]


@dataclass(frozen=True)
class StoredListing:
    """A live listing as the server answers with it."""

    did: str
    name: str
    description: str
    categories: list[str]
    bootstrap_nodes: list[str]
    service_endpoint: str
    issued_at: int
    expires: int
    token: str

    @classmethod
    def from_row(cls, row: RowMapping) -> StoredListing:
        return cls(
            did=row["did"],
            name=row["name"],
            description=row["description"],
            categories=json.loads(row["categories"]),
            bootstrap_nodes=json.loads(row["bootstrap_nodes"]),
            service_endpoint=row["service_endpoint"],
            issued_at=int(row["issued_at"]),
            expires=int(row["expires"]),
            token=row["token"],
        )

    def to_json(self) -> dict[str, Any]:
        """The listing object of the API (see ``Listing`` in openapi.json)."""
        return {
            "did": self.did,
            "name": self.name,
            "description": self.description,
            "categories": self.categories,
            "bootstrap_nodes": self.bootstrap_nodes,
            "service_endpoint": self.service_endpoint,
            "issued_at": self.issued_at,
            "expires": self.expires,
            "token": self.token,
        }


_COLUMNS = (
    listings.c.did,
    listings.c.name,
    listings.c.description,
    listings.c.categories,
    listings.c.bootstrap_nodes,
    listings.c.service_endpoint,
    listings.c.issued_at,
    listings.c.expires,
    listings.c.token,
)
# Ranked in two steps: the inner query orders every match by relevance carrying only
# (id, score), and only the page's rows are then read in full. Sorting whole rows (each
# holds its signed token) for thousands of matches cost several times more.
_SQLITE_SEARCH = """
SELECT l.did, l.name, l.description, l.categories, l.bootstrap_nodes, l.service_endpoint,
       l.issued_at, l.expires, l.token
FROM (
    SELECT l.id AS id, bm25(discovery_listings_fts, 10.0, 1.0, 5.0) AS score
    FROM discovery_listings_fts f JOIN discovery_listings l ON l.id = f.rowid
    WHERE discovery_listings_fts MATCH :match AND l.active = TRUE AND l.expires > :now {category}
    ORDER BY score, l.id
    LIMIT :limit OFFSET :offset
) page JOIN discovery_listings l ON l.id = page.id
ORDER BY page.score, page.id
"""
_POSTGRES_SEARCH = """
SELECT l.did, l.name, l.description, l.categories, l.bootstrap_nodes, l.service_endpoint,
       l.issued_at, l.expires, l.token
FROM (
    SELECT l.id AS id, ts_rank_cd(l.search_vector, q) AS score
    FROM discovery_listings l, to_tsquery('simple', :match) q
    WHERE l.search_vector @@ q AND l.active = TRUE AND l.expires > :now {category}
    ORDER BY score DESC, l.id
    LIMIT :limit OFFSET :offset
) page JOIN discovery_listings l ON l.id = page.id
ORDER BY page.score DESC, page.id
"""
_BROWSE = """
SELECT l.did, l.name, l.description, l.categories, l.bootstrap_nodes, l.service_endpoint,
       l.issued_at, l.expires, l.token
FROM (
    SELECT l.id AS id, l.issued_at AS issued_at
    FROM discovery_listings l
    WHERE l.active = TRUE AND l.expires > :now
    ORDER BY l.issued_at DESC, l.id DESC
    LIMIT :limit OFFSET :offset
) page JOIN discovery_listings l ON l.id = page.id
ORDER BY page.issued_at DESC, page.id DESC
"""
# Browsing one category starts from that category's rows, not from every listing.
_BROWSE_CATEGORY = """
SELECT l.did, l.name, l.description, l.categories, l.bootstrap_nodes, l.service_endpoint,
       l.issued_at, l.expires, l.token
FROM (
    SELECT l.id AS id, l.issued_at AS issued_at
    FROM discovery_listing_categories c JOIN discovery_listings l ON l.id = c.listing_id
    WHERE c.category = :category AND l.active = TRUE AND l.expires > :now
    ORDER BY l.issued_at DESC, l.id DESC
    LIMIT :limit OFFSET :offset
) page JOIN discovery_listings l ON l.id = page.id
ORDER BY page.issued_at DESC, page.id DESC
"""
_CATEGORY_FILTER = (
    "AND EXISTS (SELECT 1 FROM discovery_listing_categories c "
    "WHERE c.listing_id = l.id AND c.category = :category)"
)


_LISTING_COLUMNS = [column.name for column in listings.c if column.name != "id"]
# PostgreSQL registers in one statement, run on its own (autocommit): one round trip and
# one implicit transaction. The upsert runs only if the nonce was never used, and the nonce
# is stored only if the upsert wrote, so a refused registration writes nothing; a nonce that
# a concurrent request stored first breaks the nonce's unique key, which rolls the whole
# statement back. The first column (was the nonce used?) reads the statement's snapshot.
# One statement instead of four measured 25% more registrations a second, and autocommit
# saves the round trips of BEGIN and COMMIT. Only the schema's own column names are
# formatted in.
_POSTGRES_REGISTER = f"""
WITH used_nonce AS (
    -- Cast to the column's type: PostgreSQL deduces one type per parameter.
    SELECT 1 FROM discovery_nonces WHERE did = %(did)s::varchar AND nonce = %(nonce)s::varchar
), upserted AS (
    INSERT INTO discovery_listings ({", ".join(_LISTING_COLUMNS)})
    SELECT {", ".join(f"%({name})s" for name in _LISTING_COLUMNS)}
    WHERE NOT EXISTS (SELECT 1 FROM used_nonce)
    ON CONFLICT (did) DO UPDATE SET
        {", ".join(f"{name} = excluded.{name}" for name in _LISTING_COLUMNS if name != "did")}
    WHERE discovery_listings.issued_at < excluded.issued_at
        OR discovery_listings.expires <= %(now)s
    RETURNING id
), nonce AS (
    INSERT INTO discovery_nonces (did, nonce, expires)
    SELECT %(did)s::varchar, %(nonce)s::varchar, %(nonce_expires)s::bigint
    WHERE EXISTS (SELECT 1 FROM upserted)
), removed AS (
    DELETE FROM discovery_listing_categories AS c USING upserted AS u
    WHERE c.listing_id = u.id AND NOT (c.category = ANY (%(category_list)s::varchar[]))
), added AS (
    INSERT INTO discovery_listing_categories (category, listing_id)
    SELECT category, u.id FROM upserted AS u, unnest(%(category_list)s::varchar[]) AS category
    ON CONFLICT DO NOTHING
)
SELECT EXISTS (SELECT 1 FROM used_nonce), (SELECT id FROM upserted)
"""  # noqa: S608


_POSTGRES_NONCE_USED = (
    "SELECT 1 FROM discovery_nonces WHERE did = %(did)s::varchar AND nonce = %(nonce)s::varchar"
)


def _no_checkpoints_on_commit(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
    finally:
        cursor.close()


def _replayed(did: str, nonce: str) -> ReplayedRequest:
    return ReplayedRequest(f"this request's nonce {nonce!r} was already used by {did}")


def _stale(listing: Listing) -> StaleListing:
    return StaleListing(
        f"{listing.did} already has a listing or deletion issued at or after "
        f"iat={listing.issued_at}; sign a new one"
    )


def listing_row(listing: Listing, token: str, now: int) -> dict[str, Any]:
    """The ``discovery_listings`` row (but its id) storing ``listing``, signed as ``token``."""
    return {
        "did": listing.did,
        "name": listing.name,
        "description": listing.description,
        "categories": json.dumps(list(listing.categories)),
        "categories_text": " ".join(listing.categories),
        "bootstrap_nodes": json.dumps(list(listing.bootstrap_nodes)),
        "service_endpoint": listing.service_endpoint,
        "issued_at": listing.issued_at,
        "expires": listing.expires,
        "token": token,
        "active": True,
        "registered_at": now,
    }


class Store:
    """The discovery database behind one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, *, background_checkpoints: bool = False) -> None:
        """``background_checkpoints``: on SQLite, copy the WAL back from a thread (checkpoint.py).

        The server turns it on; a short-lived tool leaves SQLite to checkpoint as it commits.
        """
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = engine.execution_options(**{WRITE: True})
        # PostgreSQL registrations are one statement, each its own transaction.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        database = engine.url.database
        sqlite_file = self.dialect == "sqlite" and bool(database)
        self._write_lock = SqliteWriteLock(str(database)) if sqlite_file else None
        self._checkpointer: WalCheckpointer | None = None
        if sqlite_file and background_checkpoints:
            event.listen(engine, "connect", _no_checkpoints_on_commit)
            engine.dispose()  # connections opened before (by the migration, say) reopen with it
            assert self._write_lock is not None
            self._checkpointer = WalCheckpointer(engine, self._write_lock)
        # SQLite has one writer at a time, so its writers share transactions; PostgreSQL
        # runs many at once and batches its own log flushes, and was faster without.
        self._group = GroupCommit(self._write) if self.dialect == "sqlite" else None
        # Statements are built once: building SQLAlchemy constructs per request costs
        # more CPU than the queries themselves. Values go in as bound parameters.
        insert_for = sqlite.insert if self.dialect == "sqlite" else postgresql.insert
        self._insert_nonce = (
            insert_for(nonces)
            .on_conflict_do_nothing(index_elements=[nonces.c.did, nonces.c.nonce])
            .returning(nonces.c.nonce)
        )
        self._upsert_newer = self._build_upsert(insert_for, ties_win=False)
        self._upsert_newer_or_same = self._build_upsert(insert_for, ties_win=True)
        self._delete_categories = delete(listing_categories).where(
            listing_categories.c.listing_id == bindparam("listing_id")
        )
        self._insert_categories = insert(listing_categories)
        self._select_live = select(*_COLUMNS).where(
            listings.c.did == bindparam("did"),
            listings.c.active,
            listings.c.expires > bindparam("now"),
        )
        self._select_for_delete = select(
            listings.c.active, listings.c.expires, listings.c.issued_at
        ).where(listings.c.did == bindparam("did"))
        if self.dialect == "postgresql":
            self._select_for_delete = self._select_for_delete.with_for_update()
        # The write path runs them on the driver's cursor (driver_statement.py says why).
        dialect = engine.dialect
        listing_keys = [c.name for c in listings.c if c.name != "id"]
        self._w_insert_nonce = DriverStatement(
            self._insert_nonce, dialect, ["did", "nonce", "expires"]
        )
        self._w_upsert_newer = DriverStatement(self._upsert_newer, dialect, listing_keys)
        self._w_upsert_newer_or_same = DriverStatement(
            self._upsert_newer_or_same, dialect, listing_keys
        )
        self._w_delete_categories = DriverStatement(self._delete_categories, dialect)
        self._w_insert_categories = DriverStatement(
            self._insert_categories, dialect, ["category", "listing_id"]
        )
        self._w_select_for_delete = DriverStatement(self._select_for_delete, dialect)
        search_sql = _SQLITE_SEARCH if self.dialect == "sqlite" else _POSTGRES_SEARCH
        self._searches = {
            (True, False): text(search_sql.format(category="")),
            (True, True): text(search_sql.format(category=_CATEGORY_FILTER)),
            (False, False): text(_BROWSE),
            (False, True): text(_BROWSE_CATEGORY),
        }

    @staticmethod
    def _build_upsert(insert_for: Any, *, ties_win: bool) -> Any:
        inserting = insert_for(listings)
        excluded = inserting.excluded
        newer = (
            listings.c.issued_at <= excluded.issued_at
            if ties_win
            else listings.c.issued_at < excluded.issued_at
        )
        return inserting.on_conflict_do_update(
            index_elements=[listings.c.did],
            set_={c.name: excluded[c.name] for c in listings.c if c.name not in {"id", "did"}},
            where=or_(newer, listings.c.expires <= bindparam("now")),
        ).returning(listings.c.id)

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite, taken in turn with the other writers (write_lock.py)."""
        if self._write_lock is None:
            with self._writer.begin() as connection:
                yield connection
            return
        with self._write_lock.hold(), self._writer.begin() as connection:
            yield connection
        if self._checkpointer is not None:
            self._checkpointer.wrote()

    def _run_write(self, work: Callable[[Any], T]) -> T:
        """``work(cursor)`` in a write transaction: a shared one on SQLite (group_commit.py)."""
        if self._group is not None:
            return self._group.run(work)
        with self._write() as connection:
            return work(driver_cursor(connection))

    def close(self) -> None:
        """Close the database connections (and this process's SQLite write-lock file)."""
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.engine.dispose()
        if self._write_lock is not None:
            self._write_lock.close()

    def ping(self) -> None:
        """Raise if the database cannot answer."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def _consume_nonce(self, cursor: Any, did: str, nonce: str, expires: int) -> None:
        parameters = {"did": did, "nonce": nonce, "expires": expires}
        if self._w_insert_nonce.execute(cursor, parameters).fetchone() is None:
            raise _replayed(did, nonce)

    def _upsert(
        self, cursor: Any, values: dict[str, Any], now: int, *, ties_win: bool = False
    ) -> int | None:
        statement = self._w_upsert_newer_or_same if ties_win else self._w_upsert_newer
        row = statement.execute(cursor, {**values, "now": now}).fetchone()
        return None if row is None else int(row[0])

    def _replace_categories(self, cursor: Any, listing_id: int, categories: Sequence[str]) -> None:
        self._w_delete_categories.execute(cursor, {"listing_id": listing_id})
        self._w_insert_categories.executemany(
            cursor, [{"category": c, "listing_id": listing_id} for c in categories]
        )

    def register(self, listing: Listing, token: str, *, now: int) -> None:
        """Store ``listing`` unless its nonce was used or a newer one is stored.

        Raises ``ReplayedRequest`` or ``StaleListing``; in both cases nothing changes.
        On SQLite, concurrent writes of this process share a transaction (group_commit.py).
        """
        # Everything that can be worked out before the write queue is.
        values = listing_row(listing, token, now)
        retention = nonce_retention(listing.issued_at, now)
        if self.dialect == "postgresql":
            self._register_on_postgres(listing, values, retention, now)
        else:
            self._run_write(
                lambda cursor: self._register_in(cursor, listing, values, retention, now)
            )

    def _register_in(
        self, cursor: Any, listing: Listing, values: dict[str, Any], retention: int, now: int
    ) -> None:
        self._consume_nonce(cursor, listing.did, listing.nonce, retention)
        listing_id = self._upsert(cursor, values, now)
        if listing_id is None:
            raise _stale(listing)
        self._replace_categories(cursor, listing_id, listing.categories)

    def _register_on_postgres(
        self, listing: Listing, values: dict[str, Any], retention: int, now: int
    ) -> None:
        from psycopg.errors import UniqueViolation

        parameters = {
            **values,
            "nonce": listing.nonce,
            "nonce_expires": retention,
            "now": now,
            "category_list": list(listing.categories),
        }
        with self._autocommit.connect() as connection:
            cursor = driver_cursor(connection)
            try:
                nonce_used, listing_id = cursor.execute(_POSTGRES_REGISTER, parameters).fetchone()
            except UniqueViolation as error:
                if error.diag.table_name != nonces.name:
                    raise
                # Stored by a request that committed after this one began.
                nonce_used, listing_id = True, None
            if listing_id is None and not nonce_used:
                # Refused as stale, which is also what the same token sent twice at once
                # looks like from the statement's snapshot: the second waited for the
                # first's row and found it no older. A fresh look tells the two apart.
                used = cursor.execute(_POSTGRES_NONCE_USED, parameters).fetchone()
                nonce_used = used is not None
        if nonce_used:
            raise _replayed(listing.did, listing.nonce)
        if listing_id is None:
            raise _stale(listing)

    def delete(self, deletion: Deletion, *, now: int) -> bool:
        """Remove the DID's listing, leaving a tombstone that refuses older registrations.

        Returns whether a live listing was removed. Raises ``ReplayedRequest``,
        or ``StaleListing`` when the listing stored was issued after the deletion.
        """
        return self._run_write(lambda cursor: self._delete_in(cursor, deletion, now))

    def _delete_in(self, cursor: Any, deletion: Deletion, now: int) -> bool:
        self._consume_nonce(
            cursor, deletion.did, deletion.nonce, nonce_retention(deletion.issued_at, now)
        )
        existing = self._w_select_for_delete.execute(cursor, {"did": deletion.did}).fetchone()
        if existing is not None:
            active, expires, issued_at = bool(existing[0]), int(existing[1]), int(existing[2])
        live = existing is not None and active and expires > now
        # A deletion issued in the same second as the listing wins: signing a listing
        # and withdrawing it at once is ordinary, and iat has one-second resolution.
        if live and issued_at > deletion.issued_at:
            raise StaleListing(f"the listing of {deletion.did} was issued after this deletion")
        if not live and existing is not None and expires > now and issued_at >= deletion.issued_at:
            return False  # deleted already, by this or a later deletion
        tombstone = {
            "did": deletion.did,
            "name": "",
            "description": "",
            "categories": "[]",
            "categories_text": "",
            "bootstrap_nodes": "[]",
            "service_endpoint": "",
            "issued_at": deletion.issued_at,
            # Past this, a registration older than the deletion fails the freshness check.
            "expires": deletion.issued_at + MAX_REQUEST_AGE + MAX_CLOCK_SKEW + 1,
            "token": None,
            "active": False,
            "registered_at": now,
        }
        listing_id = self._upsert(cursor, tombstone, now, ties_win=True)
        if listing_id is not None:
            self._replace_categories(cursor, listing_id, [])
        return live

    def get(self, did: str, *, now: int) -> StoredListing | None:
        """The DID's live listing, if any."""
        with self.engine.connect() as connection:
            row = connection.execute(self._select_live, {"did": did, "now": now}).mappings().first()
        return None if row is None else StoredListing.from_row(row)

    def search(
        self,
        terms: Sequence[str],
        *,
        category: str | None,
        limit: int,
        offset: int,
        now: int,
    ) -> list[StoredListing]:
        """Live listings matching every term as a word prefix (and ``category``), best first.

        With no terms, every live listing (in ``category``), newest first.
        """
        params: dict[str, Any] = {"now": now, "limit": limit, "offset": offset}
        if category is not None:
            params["category"] = category
        # Terms are runs of letters and digits (search_terms), so quoting them is safe.
        if terms and self.dialect == "sqlite":
            params["match"] = " ".join(f'"{term}"*' for term in terms)
        elif terms:
            params["match"] = " & ".join(f"'{term}':*" for term in terms)
        statement = self._searches[bool(terms), category is not None]
        with self.engine.connect() as connection:
            rows = connection.execute(statement, params).mappings()
            return [StoredListing.from_row(row) for row in rows]

    def purge(self, *, now: int, batch: int = 1000, max_batches: int = 100) -> int:
        """Delete expired listings, tombstones and nonces, a batch per transaction.

        Returns how many rows went. Bounded by ``max_batches`` so one call never
        holds the database for long; the purger calls again on its next tick.
        """
        removed = 0
        expired_listings = select(listings.c.id).where(listings.c.expires <= now).limit(batch)
        expired_nonces = (
            select(nonces.c.did, nonces.c.nonce).where(nonces.c.expires <= now).limit(batch)
        )
        for _ in range(max_batches):
            with self._write() as connection:
                ids = [row[0] for row in connection.execute(expired_listings)]
                if ids:
                    connection.execute(
                        delete(listing_categories).where(listing_categories.c.listing_id.in_(ids))
                    )
                    connection.execute(delete(listings).where(listings.c.id.in_(ids)))
                keys = [tuple(row) for row in connection.execute(expired_nonces)]
                if keys:
                    connection.execute(
                        delete(nonces).where(tuple_(nonces.c.did, nonces.c.nonce).in_(keys))
                    )
            removed += len(ids) + len(keys)
            if len(ids) < batch and len(keys) < batch:
                break
        if removed:
            logger.info("purged %d expired rows", removed)
        return removed
