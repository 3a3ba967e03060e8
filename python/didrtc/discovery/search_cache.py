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

What is kept is the page's serialised JSON body, not its rows: a page holds
up to 100 listings, each with its signed token, and encoding that again on
every hit cost more than the rest of the request.

Two more things keep the database's work down and the answers right when many
threads ask at once:

- one build per page at a time: when an entry lapses, the first thread to ask
  queries the database and the others asking for the same page meanwhile
  wait for its answer instead of all running the same query;
- a page built from a read that began before a local write finished is
  never stored: ``clear()`` starts a new generation, and a build from an
  older one is served to its own request only (it was right when it began).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Literal

__all__ = ["MAX_WAIT_SECONDS", "Outcome", "SearchCache"]

MAX_WAIT_SECONDS = 5.0
"""How long a request waits for another thread's build of its page before building its own."""

Outcome = Literal["hit", "shared", "miss"]
"""How a page was answered: from the cache, from another thread's build, or built here."""

Build = Callable[[], tuple[bytes, float | None]]
"""Builds a page: its body, and the earliest ``expires`` among its listings (``None``: empty)."""


class SearchCache:
    """A bounded, thread-safe LRU of serialised search pages; ``ttl=0`` disables it."""

    def __init__(self, ttl: float, max_entries: int) -> None:
        if ttl < 0:
            raise ValueError(f"the search cache TTL must be >= 0 seconds, not {ttl}")
        if max_entries < 1:
            raise ValueError(f"the search cache needs room for 1 entry at least, not {max_entries}")
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._building: dict[Hashable, threading.Event] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, now: float) -> bytes | None:
        """The cached page for ``key`` if it is still good at ``now``, else ``None``."""
        with self._lock:
            return self._get_locked(key, now)

    def _get_locked(self, key: Hashable, now: float) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        valid_until, page = entry
        if now >= valid_until:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return page

    def put(
        self,
        key: Hashable,
        page: bytes,
        now: float,
        *,
        first_expiry: float | None,
        generation: int | None = None,
    ) -> None:
        """Keep ``page`` for ``key`` until ``now + ttl`` or ``first_expiry``, whichever is first.

        ``now`` is when the page's database read began; ``first_expiry`` is the
        earliest ``expires`` among its listings (``None`` for an empty page), since
        a listing is live while ``now < expires``. A page read in an older
        ``generation`` than the current one (a local write came in between) is
        dropped.
        """
        if self.ttl == 0:
            return
        valid_until = now + self.ttl
        if first_expiry is not None:
            valid_until = min(valid_until, first_expiry)
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            self._entries[key] = (valid_until, page)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def get_or_build(
        self, key: Hashable, clock: Callable[[], float], build: Build
    ) -> tuple[bytes, Outcome]:
        """The page for ``key``: cached, or built by ``build`` once however many threads ask."""
        if self.ttl == 0:
            return build()[0], "miss"
        owned: threading.Event | None = None
        waited = False
        for _ in range(2):  # bounded: after a second wait, build without waiting again
            with self._lock:
                page = self._get_locked(key, clock())
                if page is not None:
                    return page, "shared" if waited else "hit"
                generation = self._generation
                building = self._building.get(key)
                if building is None:
                    owned = self._building[key] = threading.Event()
                    break
            # Another thread is reading this page; its answer is as fresh as ours would be.
            building.wait(MAX_WAIT_SECONDS)
            waited = True
        try:
            started = clock()
            page, first_expiry = build()
            self.put(key, page, started, first_expiry=first_expiry, generation=generation)
        finally:
            if owned is not None:
                with self._lock:
                    del self._building[key]
                owned.set()
        return page, "miss"

    def clear(self) -> None:
        """Forget every page (after a registration or a deletion in this process)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
