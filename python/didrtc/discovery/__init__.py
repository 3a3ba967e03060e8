"""The DID discovery server and its clients.

Answerers register a listing — name, description, categories, DHT bootstrap
nodes, service endpoint — signed with their own did:key; offerers search the
directory by text and category. The server is a directory, not an authority:
every listing it returns carries the answerer-signed token, which the client
checks before using anything in it.

- :mod:`didrtc.discovery.listing`: the signed listing and its limits.
- :mod:`didrtc.discovery.client`: the asyncio client (``DiscoveryClient``).
- :mod:`didrtc.discovery.app`: the Flask app factory ``create_app`` (needs the
  ``server`` extra: Flask, SQLAlchemy, Alembic...).
- :mod:`didrtc.discovery.errors`: one exception class per API error code.
"""

from __future__ import annotations

from didrtc.discovery.errors import DiscoveryError
from didrtc.discovery.listing import Listing, parse_listing_token, sign_listing

__all__ = ["DiscoveryError", "Listing", "parse_listing_token", "sign_listing"]
