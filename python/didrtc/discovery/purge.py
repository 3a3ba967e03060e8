"""The background purge of expired listings, tombstones and nonces.

Expired rows are already invisible (every query filters on ``expires``); the
purge only keeps the tables small. It runs in a daemon thread of each server
process, started on that process's first request, so it also runs in every
gunicorn worker forked after the app was built; the deletes are idempotent,
so several processes purging one database is harmless.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from didrtc.discovery.store import Store

__all__ = ["Purger"]

logger = logging.getLogger(__name__)


class Purger:
    """Calls :meth:`Store.purge` every ``interval`` seconds in a daemon thread."""

    def __init__(self, store: Store, interval: float, clock: Callable[[], float]) -> None:
        self._store = store
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def ensure_running(self) -> None:
        """Start the thread in this process unless it runs already (or purging is off)."""
        if self._interval <= 0 or self._stop.is_set():
            return
        if self._pid == os.getpid() and self._thread is not None:
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="didrtc-discovery-purge", daemon=True
            )
            self._pid = os.getpid()
            self._thread.start()

    def purge_once(self) -> int:
        """Purge now; returns how many rows went."""
        return self._store.purge(now=int(self._clock()))

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.purge_once()
            except Exception:  # keep purging after a database hiccup
                logger.exception("purging expired listings failed")

    def close(self) -> None:
        """Stop the thread (it finishes its current purge first)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and self._pid == os.getpid():
            thread.join(timeout=10)
