"""SQLite WAL checkpoints from a background thread, so that commits never run one.

In WAL mode every commit appends the pages it changed to the log, and by
default the commit that takes the log past 1,000 pages also copies the log
back into the database file (a checkpoint) before it returns, while it still
holds the write lock that every other writer is queued on. A registration
changes a dozen pages (the listing, its indexes, its categories, its nonce and
the full-text index), so that happened every few dozen registrations and took
half of all commit time.

The server turns that off on its connections (``wal_autocheckpoint = 0``) and
runs ``PRAGMA wal_checkpoint(PASSIVE)`` here instead, a short while after
writes: a passive checkpoint copies what it can without waiting for readers or
writers and never holds the write lock, and pages changed many times between
two checkpoints are copied once. Each server process runs one such thread,
started by its first write; two processes checkpointing at once is harmless
(the second finds the checkpoint lock taken and skips).
"""

from __future__ import annotations

import logging
import os
import threading

from sqlalchemy import Engine

from didrtc.discovery.store.write_lock import SqliteWriteLock

__all__ = ["CHECKPOINT_INTERVAL_SECONDS", "WalCheckpointer"]

logger = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_SECONDS = 0.25
"""How soon after a write the log is copied back (it grows by at most what this allows)."""


class WalCheckpointer:
    """Checkpoints ``engine``'s SQLite database in a daemon thread once writes happened."""

    def __init__(
        self,
        engine: Engine,
        write_lock: SqliteWriteLock,
        interval: float = CHECKPOINT_INTERVAL_SECONDS,
    ) -> None:
        self._engine = engine
        self._write_lock = write_lock
        self._interval = interval
        self._written = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.checkpoints = 0
        """Checkpoints run in this process (for tests)."""

    def wrote(self) -> None:
        """Note a committed write; the thread checkpoints within ``interval``."""
        self._written.set()
        if self._pid != os.getpid() and not self._stop.is_set():
            self._start()

    def _start(self) -> None:
        with self._lock:  # one thread per process, forked workers included
            if self._pid == os.getpid():
                return
            self._thread = threading.Thread(
                target=self._run, name="didrtc-discovery-checkpoint", daemon=True
            )
            self._pid = os.getpid()
            self._thread.start()

    def checkpoint(self) -> None:
        """Copy the log back into the database file now, as far as readers allow."""
        # Between writers: a checkpoint that new commits overtake never finishes, and
        # SQLite only starts the log over once one has, so it would grow without end.
        with self._write_lock.hold(), self._engine.connect() as connection:
            # On the driver's connection: SQLAlchemy would open a transaction first, and
            # SQLite refuses to checkpoint from inside one.
            driver = connection.connection.driver_connection
            assert driver is not None
            busy, _log, _copied = driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        if busy:
            logger.debug("the SQLite log checkpoint was busy; the next one goes on")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._written.wait()
            if self._stop.wait(self._interval):  # let writes gather for a moment
                break
            self._written.clear()
            try:
                self.checkpoint()
            except Exception:  # a database hiccup: the next write tries again
                logger.exception("checkpointing the SQLite log failed")

    def close(self) -> None:
        """Stop the thread after one last checkpoint of what this process wrote."""
        self._stop.set()
        self._written.set()
        thread = self._thread
        if thread is not None and self._pid == os.getpid():
            thread.join(timeout=10)
            try:
                self.checkpoint()
            except Exception:
                logger.exception("the last checkpoint of the SQLite log failed")
