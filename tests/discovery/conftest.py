"""Fixtures of the discovery server tests: both database backends, the app, a live gunicorn server.

PostgreSQL tests run against a real, throwaway server: the session starts its
own cluster in a temporary directory (initdb + pg_ctl from Debian's
``postgresql`` package, as the unprivileged ``postgres`` user when the suite
runs as root), listening on 127.0.0.1 only, and stops it at the end. Each
test gets a fresh database in it. A missing PostgreSQL is a failure, not a skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from didrtc import Identity
from didrtc.discovery.app import create_app
from didrtc.discovery.state import EXTENSION, DiscoveryState
from didrtc.discovery.store import open_engine, upgrade
from tests.discovery.discovery_support import FakeClock

BACKENDS = ("sqlite", "postgresql")
TEMPLATE = "discovery_template"
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI and this suite may run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster of our own on 127.0.0.1; yields its admin URL."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        pytest.fail("PostgreSQL is not installed: apt-get install -y postgresql")
    bindir = Path(candidates[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="didrtc-pg-"))
    data, socket_dir, log = base / "data", base / "sock", base / "postgres.log"
    socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(socket_dir, "postgres")
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = 0
    for _attempt in range(5):  # another suite may grab the port between probe and bind
        port = _free_port()
        started = subprocess.run(
            _as_postgres(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "30",
                    "-o",
                    f"-h 127.0.0.1 -p {port} -k {socket_dir} -F -c max_connections=200 "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                    "start",
                ]
            ),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if started.returncode == 0:
            break
    else:
        pytest.fail(f"PostgreSQL did not start: {log.read_text(errors='replace')[-2000:]}")
    admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        # A migrated template: copying it per test is much faster than migrating each time.
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{TEMPLATE}"')
        engine = open_engine(admin_url.rsplit("/", 1)[0] + "/" + TEMPLATE)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        yield admin_url
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def postgres_database(admin_url: str, *, migrated: bool = True) -> Iterator[str]:
    """A new database on the test cluster, already migrated unless ``migrated=False``."""
    name = "discovery_" + uuid.uuid4().hex[:12]
    template = f'TEMPLATE "{TEMPLATE}" STRATEGY FILE_COPY' if migrated else ""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" {template}')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each database backend in turn."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of the current backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'discovery.sqlite3'}"
        return
    admin_url = request.getfixturevalue("postgres_server")
    with postgres_database(admin_url) as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    """The app's clock, frozen at the real time until a test moves it."""
    return FakeClock(float(int(time.time())))


@pytest.fixture
def make_app(database_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps on the test's database; every one is closed at teardown."""
    apps: list[Flask] = []

    def build(**overrides: object) -> Flask:
        config: dict[str, object] = {
            "TESTING": True,
            "DISCOVERY_DATABASE_URL": database_url,
            "DISCOVERY_PURGE_INTERVAL": 0,
            "DISCOVERY_CLOCK": clock,
            "RATELIMIT_ENABLED": False,
        }
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    yield build
    for app in apps:
        discovery = app.extensions[EXTENSION]
        assert isinstance(discovery, DiscoveryState)
        discovery.close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The discovery app on a fresh database of each backend, rate limits off."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def identity() -> Identity:
    return Identity.generate()


class LiveServer:
    """A ``didrtc discovery serve`` subprocess (gunicorn) on 127.0.0.1."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.url = ""
        self.log: list[str] = []
        self._ready = threading.Event()
        self._pump = threading.Thread(target=self._read_log, daemon=True)
        self._pump.start()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:  # keeps draining so the server never blocks on it
            self.log.append(line)
            match = _LISTENING.search(line)
            if match and not self.url:
                self.url = f"{match[1]}://127.0.0.1:{match[2]}"
                self._ready.set()
        self._ready.set()

    def wait_listening(self, timeout: float = 60) -> None:
        """Wait for the first worker to listen; fail with the log if it never does."""
        if not self._ready.wait(timeout) or not self.url:
            self.stop()
            pytest.fail("the server did not start:\n" + "".join(self.log[-40:]))

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise
        finally:
            self._pump.join(timeout=10)
            if self.process.stderr is not None:
                self.process.stderr.close()
        return code


# Logged by each worker once its socket listens (didrtc.discovery.listeners).
_LISTENING = re.compile(r"accepting connections on (https?)://127\.0\.0\.1:(\d+)")


def start_server(args: list[str], env: dict[str, str] | None = None) -> LiveServer:
    """Start ``didrtc discovery serve ARGS --listen 127.0.0.1:0`` and wait until it listens."""
    command = [sys.executable, "-m", "didrtc.cli", "discovery", "serve", "--listen", "127.0.0.1:0"]
    process = subprocess.Popen(
        [*command, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )
    server = LiveServer(process)
    server.wait_listening()
    if "--tls-cert" in args or "--self-signed" in args:
        server.url = server.url.replace("http://", "https://")
    return server


@pytest.fixture
def live_server() -> Iterator[Callable[..., LiveServer]]:
    """Start servers with :func:`start_server`; each is stopped at teardown."""
    servers: list[LiveServer] = []

    def start(args: list[str], env: dict[str, str] | None = None) -> LiveServer:
        server = start_server(args, env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
