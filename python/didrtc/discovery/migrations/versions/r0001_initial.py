"""The initial discovery schema: listings, categories, the nonce cache and full-text search.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQLITE_FTS = [
    # External-content FTS5 over the listing columns, kept in step by triggers
    # (which also fire on the UPDATE branch of an upsert).
    """CREATE VIRTUAL TABLE discovery_listings_fts USING fts5(
        name, description, categories_text,
        content='discovery_listings', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0'
    )""",
    """CREATE TRIGGER discovery_listings_ai AFTER INSERT ON discovery_listings BEGIN
        INSERT INTO discovery_listings_fts(rowid, name, description, categories_text)
        VALUES (new.id, new.name, new.description, new.categories_text);
    END""",
    """CREATE TRIGGER discovery_listings_ad AFTER DELETE ON discovery_listings BEGIN
        INSERT INTO discovery_listings_fts(discovery_listings_fts, rowid, name, description,
                                           categories_text)
        VALUES ('delete', old.id, old.name, old.description, old.categories_text);
    END""",
    """CREATE TRIGGER discovery_listings_au AFTER UPDATE ON discovery_listings BEGIN
        INSERT INTO discovery_listings_fts(discovery_listings_fts, rowid, name, description,
                                           categories_text)
        VALUES ('delete', old.id, old.name, old.description, old.categories_text);
        INSERT INTO discovery_listings_fts(rowid, name, description, categories_text)
        VALUES (new.id, new.name, new.description, new.categories_text);
    END""",
]

_POSTGRES_FTS = [
    # 'simple' (no stemming, no stop words) matches SQLite's unicode61 tokenizer,
    # so both backends answer a query alike; names and categories weigh more.
    """ALTER TABLE discovery_listings ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (
            setweight(to_tsvector('simple', name), 'A')
            || setweight(to_tsvector('simple', categories_text), 'A')
            || setweight(to_tsvector('simple', description), 'B')
        ) STORED""",
    "CREATE INDEX ix_discovery_listings_search ON discovery_listings USING GIN (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "discovery_listings",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("did", sa.String(128), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("categories_text", sa.Text, nullable=False),
        sa.Column("bootstrap_nodes", sa.Text, nullable=False),
        sa.Column("service_endpoint", sa.Text, nullable=False),
        sa.Column("issued_at", sa.BigInteger, nullable=False),
        sa.Column("expires", sa.BigInteger, nullable=False),
        sa.Column("token", sa.Text, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("registered_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_discovery_listings_expires", "discovery_listings", ["expires"])
    op.create_index(
        "ix_discovery_listings_active_issued", "discovery_listings", ["active", "issued_at", "id"]
    )
    op.create_index(
        "ix_discovery_listings_live", "discovery_listings", ["id", "active", "expires", "issued_at"]
    )
    op.create_table(
        "discovery_listing_categories",
        sa.Column("category", sa.String(32), primary_key=True),
        sa.Column(
            "listing_id",
            _ID,
            sa.ForeignKey("discovery_listings.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index(
        "ix_discovery_listing_categories_listing", "discovery_listing_categories", ["listing_id"]
    )
    op.create_table(
        "discovery_nonces",
        sa.Column("did", sa.String(128), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("expires", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_discovery_nonces_expires", "discovery_nonces", ["expires"])
    statements = _SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else _POSTGRES_FTS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("discovery_listings_ai", "discovery_listings_ad", "discovery_listings_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS discovery_listings_fts")
    op.drop_table("discovery_nonces")
    op.drop_table("discovery_listing_categories")
    op.drop_table("discovery_listings")
