"""The write path: group commit, the SQLite write lock and background WAL checkpoints.

Everything here runs on real databases: SQLite files in the test's folder and
the PostgreSQL cluster the other discovery tests use.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from didrtc import Identity
from didrtc.discovery.errors import ReplayedRequest, ServiceUnavailable, StaleListing
from didrtc.discovery.listing import parse_listing_token
from didrtc.discovery.store import Store, group_commit, open_engine, upgrade
from didrtc.discovery.store.group_commit import GroupCommit
from didrtc.discovery.store.write_lock import SqliteWriteLock
from tests.discovery.discovery_support import listing_token


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(str(tmp_path / "writes.sqlite3"))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (k TEXT PRIMARY KEY)")
    yield engine
    engine.dispose()


def _rows(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return {row[0] for row in connection.exec_driver_sql("SELECT k FROM t")}


def _transaction(engine: Engine) -> Any:
    @contextlib.contextmanager
    def begin() -> Iterator[Connection]:
        with engine.begin() as connection:
            yield connection

    return begin


def _insert(key: str) -> Any:
    return lambda cursor: cursor.execute("INSERT INTO t (k) VALUES (?)", (key,))


class TestGroupCommit:
    def test_requests_arriving_during_a_commit_share_the_next_one(self, engine: Engine) -> None:
        group = GroupCommit(_transaction(engine))
        first_running, others_queued = threading.Event(), threading.Event()

        def slow_first(cursor: Any) -> str:
            first_running.set()
            assert others_queued.wait(10)
            cursor.execute("INSERT INTO t (k) VALUES ('first')")
            return "first done"

        results: list[object] = []
        leader = threading.Thread(target=lambda: results.append(group.run(slow_first)))
        leader.start()
        assert first_running.wait(10)
        followers = [
            threading.Thread(target=lambda key=f"k{i}": results.append(group.run(_insert(key))))
            for i in range(15)
        ]
        for follower in followers:
            follower.start()
        time.sleep(0.2)  # the followers queue behind the running commit
        others_queued.set()
        for thread in [leader, *followers]:
            thread.join(30)
        assert "first done" in results
        assert len(results) == 16
        assert _rows(engine) == {"first"} | {f"k{i}" for i in range(15)}
        assert group.batches == 2  # the first alone, then all fifteen together

    def test_a_failing_request_is_undone_alone(self, engine: Engine) -> None:
        group = GroupCommit(_transaction(engine))
        gate = threading.Event()

        def blocker(cursor: Any) -> None:
            assert gate.wait(10)
            cursor.execute("INSERT INTO t (k) VALUES ('blocker')")

        def half_then_fail(cursor: Any) -> None:
            cursor.execute("INSERT INTO t (k) VALUES ('half')")
            raise StaleListing("a newer listing is stored")

        outcomes: dict[str, object] = {}

        def run(name: str, work: Any) -> None:
            try:
                outcomes[name] = group.run(work)
            except StaleListing as error:
                outcomes[name] = error

        threads = [threading.Thread(target=run, args=("blocker", blocker))]
        threads[0].start()
        time.sleep(0.1)
        for name, work in [("good", _insert("good")), ("bad", half_then_fail)]:
            threads.append(threading.Thread(target=run, args=(name, work)))
            threads[-1].start()
        time.sleep(0.2)
        gate.set()
        for thread in threads:
            thread.join(30)
        assert isinstance(outcomes["bad"], StaleListing)
        assert _rows(engine) == {"blocker", "good"}  # 'half' went with its savepoint

    def test_a_failed_commit_fails_every_request_of_the_batch(self, engine: Engine) -> None:
        @contextlib.contextmanager
        def failing_commit() -> Iterator[Connection]:
            with engine.connect() as connection, connection.begin() as transaction:
                yield connection
                transaction.rollback()  # what a commit that failed leaves behind
                raise ServiceUnavailable("the disk is full")

        group = GroupCommit(failing_commit)
        with pytest.raises(ServiceUnavailable, match="disk is full"):
            group.run(_insert("a"))
        assert _rows(engine) == set()
        group_ok = GroupCommit(_transaction(engine))
        assert group_ok.run(_insert("b")) is not None
        assert _rows(engine) == {"b"}

    def test_each_request_of_a_failed_batch_raises_an_error_of_its_own(
        self, engine: Engine
    ) -> None:
        first_inside, release = threading.Event(), threading.Event()

        @contextlib.contextmanager
        def failing_commit() -> Iterator[Connection]:
            with engine.connect() as connection, connection.begin():
                yield connection
                first_inside.set()
                assert release.wait(10)  # the first batch waits until the others queue
                raise ServiceUnavailable("the disk is full")

        group = GroupCommit(failing_commit)
        raised: dict[str, BaseException] = {}

        def request(key: str) -> None:
            try:
                group.run(_insert(key))
            except ServiceUnavailable as error:
                raised[key] = error

        threads = [threading.Thread(target=request, args=("first",))]
        threads[0].start()
        assert first_inside.wait(10)
        threads += [threading.Thread(target=request, args=(key,)) for key in "abc"]
        for thread in threads[1:]:
            thread.start()
        until = time.monotonic() + 10
        while len(group._queue) < 3 and time.monotonic() < until:
            time.sleep(0.01)
        release.set()
        for thread in threads:
            thread.join(10)
        assert group.batches == 2  # "first" alone, then a, b and c together
        assert sorted(raised) == ["a", "b", "c", "first"]
        # Each thread raised its own object: one object raised in several threads at once
        # would collect their tracebacks into each other's.
        assert len({id(error) for error in raised.values()}) == 4
        assert {str(error) for error in raised.values()} == {"the disk is full"}
        assert _rows(engine) == set()

    def test_a_request_not_taken_in_time_leaves_with_nothing_written(
        self, engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(group_commit, "MAX_WAIT_SECONDS", 0.2)
        group = GroupCommit(_transaction(engine))
        release = threading.Event()

        def stuck(cursor: Any) -> None:
            assert release.wait(10)

        leader = threading.Thread(target=group.run, args=(stuck,))
        leader.start()
        time.sleep(0.1)
        with pytest.raises(ServiceUnavailable, match="retry later"):
            group.run(_insert("late"))
        release.set()
        leader.join(10)
        assert _rows(engine) == set()
        assert group.run(_insert("next")) is not None  # the lead was handed on
        assert _rows(engine) == {"next"}

    def test_bad_batch_size_is_refused(self, engine: Engine) -> None:
        with pytest.raises(ValueError, match="1 request at least"):
            GroupCommit(_transaction(engine), max_batch=0)


def _hold_in_child(path: str, inside: Any, leave: Any) -> None:
    lock = SqliteWriteLock(path)
    with lock.hold():
        inside.set()
        leave.wait(10)
        time.sleep(0.2)


class TestSqliteWriteLock:
    def test_another_process_waits_until_the_holder_is_done(self, tmp_path: Path) -> None:
        path = str(tmp_path / "d.sqlite3")
        lock = SqliteWriteLock(path)
        with lock.hold():  # opened here first: the forked child must not share the file
            pass
        context = multiprocessing.get_context("fork")
        inside, leave = context.Event(), context.Event()
        child = context.Process(target=_hold_in_child, args=(path, inside, leave))
        child.start()
        try:
            assert inside.wait(10)
            leave.set()
            started = time.monotonic()
            with lock.hold():
                waited = time.monotonic() - started
                assert not child.is_alive() or child.exitcode is None
            assert waited > 0.1  # it waited for the child's last 0.2 s under the lock
        finally:
            child.join(10)
        assert child.exitcode == 0
        assert (os.stat(lock.path).st_mode & 0o777) == 0o600
        lock.close()

    def test_threads_of_one_process_take_turns(self, tmp_path: Path) -> None:
        lock = SqliteWriteLock(str(tmp_path / "d.sqlite3"))
        inside = 0
        most = 0
        guard = threading.Lock()

        def work() -> None:
            nonlocal inside, most
            for _ in range(50):
                with lock.hold():
                    with guard:
                        inside += 1
                        most = max(most, inside)
                    time.sleep(0.0005)
                    with guard:
                        inside -= 1

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert most == 1
        lock.close()


def _register_many(store: Store, count: int) -> None:
    now = time.time()
    for _ in range(count):
        token = listing_token(Identity.generate(), now)
        store.register(parse_listing_token(token), token, now=int(now))


class TestBackgroundCheckpoints:
    def test_commits_leave_the_log_to_the_checkpoint_thread(self, tmp_path: Path) -> None:
        database = tmp_path / "d.sqlite3"
        log = Path(f"{database}-wal")
        engine = open_engine(str(database))
        upgrade(engine)
        store = Store(engine, background_checkpoints=True)
        checkpointer = store._checkpointer
        assert checkpointer is not None
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0

        def wait_for_checkpoint(after: int) -> None:
            for _ in range(100):  # bounded: up to 5 s
                if checkpointer.checkpoints > after:
                    return
                time.sleep(0.05)
            pytest.fail("the checkpoint thread did not run")

        _register_many(store, 200)
        wait_for_checkpoint(0)
        size_after_first = log.stat().st_size
        _register_many(store, 200)
        wait_for_checkpoint(checkpointer.checkpoints)
        # Checkpointed in full, the log started over: the second 200 listings reused
        # its space instead of doubling it, as they would with nobody checkpointing.
        assert log.stat().st_size < 1.5 * size_after_first
        store.close()
        with contextlib.closing(sqlite3.connect(database)) as plain:
            count = plain.execute("SELECT count(*) FROM discovery_listings").fetchone()[0]
        assert count == 400

    def test_without_it_sqlite_checkpoints_as_it_commits(self, tmp_path: Path) -> None:
        engine = open_engine(str(tmp_path / "d.sqlite3"))
        upgrade(engine)
        store = Store(engine)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        assert store._checkpointer is None
        store.close()


def test_concurrent_writers_keep_every_outcome(database_url: str) -> None:
    """Many threads of two stores (as two processes would) on one database."""
    engine_a, engine_b = open_engine(database_url), open_engine(database_url)
    upgrade(engine_a)
    stores = [Store(engine_a, background_checkpoints=True), Store(engine_b)]
    identities = [Identity.generate() for _ in range(40)]
    now = time.time()
    tokens = [listing_token(identity, now) for identity in identities]
    errors: list[BaseException] = []

    def write(index: int) -> None:
        store = stores[index % 2]
        token = tokens[index % len(tokens)]
        try:
            store.register(parse_listing_token(token), token, now=int(now))
        except (ReplayedRequest, StaleListing) as error:  # each token a second time
            errors.append(error)

    threads = [threading.Thread(target=write, args=(index,)) for index in range(80)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(errors) == 40
        assert all(isinstance(error, ReplayedRequest) for error in errors)
        for identity in identities:
            stored = stores[0].get(identity.did, now=int(now))
            assert stored is not None
    finally:
        for store in stores:
            store.close()
