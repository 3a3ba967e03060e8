"""The tables the queries use (the migrations in ``didrtc/discovery/migrations`` create them).

The full-text index is not here: it is dialect-specific (an FTS5 table kept
in step by triggers on SQLite, a generated ``tsvector`` column with a GIN
index on PostgreSQL) and only the search queries in
:mod:`~didrtc.discovery.store.listings` touch it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["listing_categories", "listings", "metadata", "nonces"]

metadata = MetaData()

# On SQLite an INTEGER PRIMARY KEY is the rowid, which the FTS5 table points at.
_ID = BigInteger().with_variant(Integer(), "sqlite")

listings = Table(
    "discovery_listings",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("did", String(128), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("categories", Text, nullable=False),  # the JSON array, as signed
    Column("categories_text", Text, nullable=False),  # space-separated, for full-text search
    Column("bootstrap_nodes", Text, nullable=False),  # the JSON array, as signed
    Column("service_endpoint", Text, nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("token", Text, nullable=True),  # NULL for a tombstone left by a deletion
    Column("active", Boolean, nullable=False),
    Column("registered_at", BigInteger, nullable=False),
    Index("ix_discovery_listings_expires", "expires"),
    Index("ix_discovery_listings_active_issued", "active", "issued_at", "id"),
    # Covers the liveness check of every full-text match without reading whole rows.
    Index("ix_discovery_listings_live", "id", "active", "expires", "issued_at"),
)
"""One row per DID: its listing, or a tombstone that outlives a deletion's freshness window."""

listing_categories = Table(
    "discovery_listing_categories",
    metadata,
    Column("category", String(32), primary_key=True),
    Column(
        "listing_id",
        _ID,
        ForeignKey("discovery_listings.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_discovery_listing_categories_listing", "listing_id"),
)
"""The exact-match category filter's index: one row per (category, listing)."""

nonces = Table(
    "discovery_nonces",
    metadata,
    Column("did", String(128), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("expires", BigInteger, nullable=False),
    Index("ix_discovery_nonces_expires", "expires"),
)
"""The replay cache: each signed request's (signer, nonce), kept past its freshness window."""
