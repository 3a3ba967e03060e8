"""Alembic migrations of the discovery database, shipped inside the package."""
