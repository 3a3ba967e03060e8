"""One SQLite writer at a time across threads and processes, handed over without sleeping.

SQLite allows one writer per database file. A second writer's ``BEGIN
IMMEDIATE`` meets a busy lock and falls to SQLite's busy handler, which polls
by sleeping 1, 2, 5, 10, ... up to 100 ms between tries. A registration holds
the lock for well under a millisecond, so under load most of a writer's
waiting was oversleeping: registrations queued behind sleeping threads while
the database sat idle (p99 near 400 ms at 800 registrations/s).

Here writers queue on locks that wake the next one the moment the last one
ends: a thread lock inside the process, then an ``flock`` on a file next to
the database across processes. Whoever holds both is the only writer, so its
``BEGIN IMMEDIATE`` does not wait (SQLite's busy timeout stays as the backstop
for writers outside didrtc, such as ``sqlite3`` at a shell).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from didrtc.discovery.errors import ServiceUnavailable

__all__ = ["MAX_WAIT_SECONDS", "SqliteWriteLock"]

MAX_WAIT_SECONDS = 30.0
"""How long a writer waits for the other writers of its process before giving up."""


class SqliteWriteLock:
    """The write lock of one SQLite file; ``hold()`` around each write transaction."""

    def __init__(self, database: str | os.PathLike[str]) -> None:
        self.path = Path(os.fspath(database) + ".write-lock")
        self._thread_lock = threading.Lock()
        self._handle: int | None = None
        self._pid = 0

    def _file(self) -> int:
        # flock belongs to an open file description, which a forked child shares with
        # its parent: each process opens the file for itself, or they would share it.
        if self._handle is None or self._pid != os.getpid():
            if self._handle is not None:
                os.close(self._handle)  # this process's copy of its parent's; theirs stays
            self._handle = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._handle

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Be the only didrtc writer of the database for the block's duration."""
        if not self._thread_lock.acquire(timeout=MAX_WAIT_SECONDS):
            raise ServiceUnavailable(
                f"waited {MAX_WAIT_SECONDS:.0f} s for the database's other writers; retry later"
            )
        try:
            handle = self._file()
            fcntl.flock(handle, fcntl.LOCK_EX)  # other processes; releases the GIL meanwhile
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def close(self) -> None:
        """Close this process's lock file (a later ``hold()`` reopens it)."""
        with self._thread_lock:
            if self._handle is not None and self._pid == os.getpid():
                os.close(self._handle)
            self._handle = None
