"""``GET /search``: full text over name, description and categories, an exact category filter."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from typing import Any

from flask import Blueprint, current_app, request
from werkzeug.datastructures import MultiDict

from didrtc.discovery.errors import BadRequest, InvalidCursor
from didrtc.discovery.listing import CATEGORY_PATTERN
from didrtc.discovery.state import state
from didrtc.discovery.store.listings import search_terms

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "MAX_OFFSET", "MAX_QUERY_CHARS", "bp"]

bp = Blueprint("search", __name__)

MAX_QUERY_CHARS = 256
"""``query``: at most 256 characters (and only its first 8 words count)."""
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
"""``limit``: 1 to 100 results a page (default 20)."""
MAX_OFFSET = 10_000
"""No page starts past the 10,000th result: refine the query instead."""
_LIMIT = re.compile(r"[0-9]{1,3}")
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,200}")


def _single(args: MultiDict[str, str], name: str) -> str | None:
    values = args.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"give the parameter {name!r} at most once")
    return values[0] if values else None


def _fingerprint(terms: list[str], category: str | None) -> str:
    digest = hashlib.sha256(json.dumps([terms, category]).encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode("ascii")


def _encode_cursor(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "f": fingerprint}, separators=(",", ":")).encode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_cursor(cursor: str, fingerprint: str) -> int:
    if not _CURSOR.fullmatch(cursor):
        raise InvalidCursor("the cursor is not one this server issued")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidCursor("the cursor is not one this server issued") from None
    if not isinstance(document, dict) or set(document) != {"o", "f"}:
        raise InvalidCursor("the cursor is not one this server issued")
    offset = document["o"]
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 < offset <= MAX_OFFSET:
        raise InvalidCursor("the cursor is not one this server issued")
    if document["f"] != fingerprint:
        raise InvalidCursor("the cursor belongs to another query or category")
    return offset


@bp.get("/search")
def search() -> Any:
    """One page of live listings, best match first; ``next_cursor`` fetches the next."""
    args = request.args
    query = _single(args, "query") or ""
    if len(query) > MAX_QUERY_CHARS:
        raise BadRequest(f"'query' is over {MAX_QUERY_CHARS} characters")
    category = _single(args, "category")
    if category is not None and not CATEGORY_PATTERN.fullmatch(category):
        raise BadRequest(f"'category' {category[:40]!r} is not a valid category")
    limit_text = _single(args, "limit")
    limit = DEFAULT_LIMIT
    if limit_text is not None:
        if not _LIMIT.fullmatch(limit_text) or not 1 <= int(limit_text) <= MAX_LIMIT:
            raise BadRequest(f"'limit' must be an integer from 1 to {MAX_LIMIT}")
        limit = int(limit_text)
    terms = search_terms(query)
    cursor = _single(args, "cursor")
    offset = 0 if cursor is None else _decode_cursor(cursor, _fingerprint(terms, category))

    discovery = state()

    def build() -> tuple[bytes, float | None]:
        started = time.perf_counter()
        rows = discovery.store.search(
            terms, category=category, limit=limit + 1, offset=offset, now=int(discovery.clock())
        )
        discovery.metrics.search_seconds.observe(time.perf_counter() - started)
        next_offset = offset + limit
        more = len(rows) > limit and next_offset <= MAX_OFFSET
        page = current_app.make_response(
            {
                "results": [row.to_json() for row in rows[:limit]],
                "next_cursor": _encode_cursor(next_offset, _fingerprint(terms, category))
                if more
                else None,
            }
        ).get_data()
        # The page changes when any listing on it expires, even one past `limit`.
        return page, min((row.expires for row in rows), default=None)

    key = (tuple(terms), category, limit, offset)
    page, outcome = discovery.search_cache.get_or_build(key, discovery.clock, build)
    discovery.metrics.search_cache.labels(outcome).inc()
    return current_app.response_class(page, mimetype="application/json")
