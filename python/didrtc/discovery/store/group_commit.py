"""Group commit: the writes that threads of one process ask for at once share one transaction.

A registration's own statements take a fraction of a millisecond; its commit
takes about as long again (SQLite writes the changed pages to its log, and its
FTS5 index turns each transaction's new words into a segment of their own),
and only one transaction writes at a time. So when several requests want to
write at once, the first becomes the *leader*: it opens one transaction, runs
each request's work inside a savepoint of its own, commits once, and hands
every request its own outcome. The others wait meanwhile, which they would
have done anyway, for the database's write lock. The work runs on the
driver's cursor (driver_statement.py), and so do the savepoints.

Each request's outcome is its own: work that raises is rolled back to its
savepoint and only that request sees the exception; a failed commit fails
every request of the batch, none of whose writes then happened. A leader only
serves batches until its own request is done, then hands the lead to the
oldest waiting request, so no request waits behind an unending stream of
others, and requests are written in the order they came.

The store uses it on SQLite only: PostgreSQL runs many write transactions side
by side and batches its own log flushes, and measured slower with it.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection

from didrtc.discovery.errors import ServiceUnavailable
from didrtc.discovery.store.driver_statement import driver_cursor

__all__ = ["MAX_BATCH", "MAX_WAIT_SECONDS", "GroupCommit"]

T = TypeVar("T")

_SAVEPOINT = "didrtc_request"
MAX_BATCH = 64
"""Requests served by one transaction at most."""
MAX_WAIT_SECONDS = 30.0
"""How long a request waits for its turn before it is answered 503 with nothing written."""


@dataclass(eq=False)
class _Job(Generic[T]):
    work: Callable[[Any], T]
    wake: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    value: T | None = None
    error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # set with done, error is None


def _own_copy(error: BaseException) -> BaseException:
    """``error`` again, as an object of its own for one of the threads that will raise it.

    Raising one exception object in several threads at once mixes their tracebacks on it.
    The copy starts from the original's traceback (never modified, only extended).
    """
    try:
        twin = copy.copy(error)
    except Exception:  # an exception class that cannot be rebuilt from its arguments
        return error
    return twin.with_traceback(error.__traceback__)


class GroupCommit:
    """Runs ``work(cursor)`` for many threads in shared transactions from ``transaction()``."""

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Connection]],
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"a batch holds 1 request at least, not {max_batch}")
        self._transaction = transaction
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: deque[_Job[object]] = deque()
        self._leading = False
        self.batches = 0
        """Transactions committed or attempted (for tests and metrics)."""

    def run(self, work: Callable[[Any], T]) -> T:
        """Run ``work`` in a savepoint of a shared transaction; its result once committed."""
        job: _Job[T] = _Job(work)
        queued: _Job[object] = job  # type: ignore[assignment]  # the queue holds every T
        with self._lock:
            self._queue.append(queued)
            lead = not self._leading
            self._leading = True
        if not lead and not job.wake.wait(MAX_WAIT_SECONDS):
            with self._lock:
                if queued in self._queue:  # nobody took it: leave with nothing written
                    self._queue.remove(queued)
                    if job.wake.is_set():  # handed the lead as time ran out: pass it on
                        self._hand_over_locked()
                    raise ServiceUnavailable(
                        f"waited {MAX_WAIT_SECONDS:.0f} s for the database; retry later"
                    )
            job.wake.wait()  # in a batch being written now: its outcome is moments away
        if not job.done:  # this thread leads (it came first, or was handed the lead)
            self._lead(job)
        return job.outcome()

    def _lead(self, own: _Job[T]) -> None:
        try:
            while not own.done:
                with self._lock:
                    size = min(self._max_batch, len(self._queue))
                    batch = [self._queue.popleft() for _ in range(size)]
                self._commit(batch)
        finally:
            with self._lock:
                self._hand_over_locked()

    def _hand_over_locked(self) -> None:
        if self._queue:
            self._queue[0].wake.set()  # the oldest waiter leads next
        else:
            self._leading = False

    def _commit(self, batch: list[_Job[object]]) -> None:
        self.batches += 1
        values: dict[int, object] = {}
        errors: dict[int, BaseException] = {}
        try:
            with self._transaction() as connection:
                cursor = driver_cursor(connection)
                for index, job in enumerate(batch):
                    cursor.execute(f"SAVEPOINT {_SAVEPOINT}")
                    try:
                        values[index] = job.work(cursor)
                    except Exception as error:  # that request's own failure, undone
                        cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
                        errors[index] = error
                    cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        except BaseException as error:  # the transaction failed: none of the batch was written
            for job in batch:
                job.error = _own_copy(error)
            if not isinstance(error, Exception):
                raise
        else:
            for index, job in enumerate(batch):
                job.value = values.get(index)
                job.error = errors.get(index)
        finally:
            for job in batch:
                job.done = True
                job.wake.set()
