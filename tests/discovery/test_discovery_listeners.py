"""Each gunicorn worker listens on a socket of its own, which the kernel balances (Linux).

See ``didrtc.discovery.listeners`` for why: with one shared socket, one busy
worker could hold nearly every connection while the other idled.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from didrtc.discovery.listeners import bind_address, release_reserved_ports
from didrtc.discovery.store.engine import ConfigurationError
from tests.discovery.conftest import LiveServer

_LISTEN_STATE = "0A"  # TCP_LISTEN in /proc/net/tcp


def _listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:port in this network namespace."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == _LISTEN_STATE:
            count += 1
    return count


def _answering_pids(server: LiveServer) -> set[int]:
    pids: set[int] = set()
    for line in server.log:
        if '"logger": "didrtc.discovery.access"' in line and '"/healthz"' in line:
            pids.add(json.loads(line)["pid"])
    return pids


def test_port_zero_is_reserved_for_the_workers_to_share() -> None:
    bind = bind_address("127.0.0.1", 0, reuse_port=True)
    host, _, port_text = bind.rpartition(":")
    port = int(port_text)
    assert host == "127.0.0.1"
    assert port > 0
    # Nothing listens yet, and a socket without SO_REUSEPORT cannot take the port.
    assert _listening_sockets(port) == 0
    with socket.socket() as intruder, pytest.raises(OSError, match="Address already in use"):
        intruder.bind(("127.0.0.1", port))
    listeners = []
    try:
        for _ in range(2):  # what two workers do
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen()
            listeners.append(listener)
        assert _listening_sockets(port) == 2
    finally:
        for listener in listeners:
            listener.close()
        release_reserved_ports()
    with socket.socket() as successor:  # released: the port is free again
        successor.bind(("127.0.0.1", port))


def test_a_fixed_port_is_checked_and_held() -> None:
    with socket.socket() as probe:  # a port free right now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        assert bind_address("127.0.0.1", port, reuse_port=True) == f"127.0.0.1:{port}"
        with socket.socket() as intruder, pytest.raises(OSError, match="Address already in use"):
            intruder.bind(("127.0.0.1", port))
    finally:
        release_reserved_ports()
    assert bind_address("::1", 8123, reuse_port=False) == "[::1]:8123"
    assert bind_address("127.0.0.1", 0, reuse_port=False) == "127.0.0.1:0"


@pytest.mark.parametrize("their_reuse_port", [False, True])
def test_a_port_another_server_listens_on_is_refused(their_reuse_port: bool) -> None:
    # Without the check, SO_REUSEPORT would let a second server join the first one's
    # sockets and split its traffic.
    with socket.socket() as other:
        if their_reuse_port:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(ConfigurationError, match="another server running there"):
            bind_address("127.0.0.1", port, reuse_port=True)


def test_serve_on_a_busy_port_fails_clearly(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        answer = subprocess.run(
            [sys.executable, "-m", "didrtc.cli", "discovery", "serve",
             "--listen", f"127.0.0.1:{port}", "--db", str(tmp_path / "d.sqlite3")],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
    assert answer.returncode != 0
    assert "another server running there" in answer.stderr
    assert "Traceback" not in answer.stderr
    assert list(tmp_path.iterdir()) == []  # refused before the database was made


def _fresh_connections(url: str, count: int) -> None:
    for _ in range(count):  # bounded; each request on a new connection
        answer = requests.get(f"{url}/healthz", headers={"Connection": "close"}, timeout=30)
        assert answer.status_code == 200


def _wait_for_workers(server: LiveServer, workers: int) -> set[str]:
    for _ in range(300):  # bounded: up to 30 s
        ready = {line for line in server.log if "accepting connections on" in line}
        if len(ready) >= workers:
            return ready
        time.sleep(0.1)
    pytest.fail("the workers did not all start:\n" + "".join(server.log[-40:]))


def test_every_worker_listens_on_its_own_socket_and_answers(
    live_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = live_server(["--db", str(tmp_path / "d.sqlite3"), "--workers", "2"])
    ready = _wait_for_workers(server, 2)
    port = int(server.url.rsplit(":", 1)[1])
    assert all(f"http://127.0.0.1:{port}" in line for line in ready)
    assert _listening_sockets(port) == 2
    _fresh_connections(server.url, 40)
    assert server.stop() == 0
    # 40 connections hashed over two sockets: all on one would be a 1 in 2**39 chance.
    assert len(_answering_pids(server)) == 2


def test_shared_socket_mode_listens_once(
    live_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = live_server(["--db", str(tmp_path / "d.sqlite3"), "--workers", "2", "--shared-socket"])
    _wait_for_workers(server, 2)
    port = int(server.url.rsplit(":", 1)[1])
    assert _listening_sockets(port) == 1
    _fresh_connections(server.url, 5)
    assert server.stop() == 0
    assert len(_answering_pids(server)) >= 1
