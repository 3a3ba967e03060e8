"""A short-lived cache of search pages, one per server process.

Search is ranked in the database: a broad query ("restaurant" in a city)
scores every match before the page is cut, which costs milliseconds, while a
directory is asked the same few queries over and over. So each process keeps
the pages it served for a moment, under two rules that keep answers honest:

- an entry never outlives the earliest expiry among the listings it holds, so
  an expired listing still disappears from every answer at the second it
  expires (the page is recomputed);
- a registration or deletion clears the cache of the process that handled it
  at once; the other processes of a multi-worker deployment answer from their
  own cache for at most ``ttl`` seconds more (one second by default), which is
  the whole of the staleness a client can see.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence

from didrtc.discovery.store.listings import StoredListing

__all__ = ["SearchCache"]


class SearchCache:
    """A bounded, thread-safe LRU of search pages; ``ttl=0`` disables it."""

    def __init__(self, ttl: float, max_entries: int) -> None:
        if ttl < 0:
            raise ValueError(f"the search cache TTL must be >= 0 seconds, not {ttl}")
        if max_entries < 1:
            raise ValueError(f"the search cache needs room for 1 entry at least, not {max_entries}")
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, list[StoredListing]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, now: float) -> list[StoredListing] | None:
        """The cached page for ``key`` if it is still good at ``now``, else ``None``."""
        if self.ttl == 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            valid_until, rows = entry
            if now >= valid_until:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return rows

    def put(self, key: Hashable, rows: Sequence[StoredListing], now: float) -> None:
        """Keep ``rows`` for ``key`` until ``now + ttl`` or the first of their expiries."""
        if self.ttl == 0:
            return
        # A listing is live while now < expires: the page is good until the first expiry.
        valid_until = min([now + self.ttl, *(row.expires for row in rows)])
        with self._lock:
            self._entries[key] = (valid_until, list(rows))
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every page (after a registration or a deletion in this process)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
