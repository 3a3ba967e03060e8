"""The server as it runs in production: gunicorn subprocesses on 127.0.0.1, real sockets."""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from didrtc import Identity
from didrtc.cli import main
from tests.discovery.conftest import REPO, LiveServer
from tests.discovery.discovery_support import deletion_token, listing_token

THREADS = 8
PER_THREAD = 25


def _search_all(session: requests.Session, url: str, **params: str) -> list[str]:
    dids: list[str] = []
    cursor = None
    for _page in range(100):  # bounded
        query = {**params, "limit": "100"}
        if cursor:
            query["cursor"] = cursor
        answer = session.get(f"{url}/search", params=query, timeout=30)
        assert answer.status_code == 200, answer.text
        document = answer.json()
        dids += [result["did"] for result in document["results"]]
        cursor = document["next_cursor"]
        if cursor is None:
            break
    return dids


def test_many_clients_registering_at_once_lose_no_listing(
    live_server: Callable[..., LiveServer], database_url: str
) -> None:
    server = live_server(
        ["--db", database_url, "--workers", "2", "--threads", "4", "--no-rate-limits"]
    )
    identities = [[Identity.generate() for _ in range(PER_THREAD)] for _ in range(THREADS)]
    failures: list[str] = []
    start = threading.Barrier(THREADS)

    def register_all(mine: list[Identity]) -> None:
        with requests.Session() as session:
            start.wait(timeout=30)
            for identity in mine:
                for attempt in range(2):  # each DID registers, then replaces its listing
                    token = listing_token(
                        identity, time.time() + attempt, name=f"Concurrent {attempt}"
                    )
                    answer = session.post(
                        f"{server.url}/register",
                        data=token,
                        headers={"Content-Type": "application/jose"},
                        timeout=30,
                    )
                    if answer.status_code != 200:
                        failures.append(f"{answer.status_code} {answer.text}")

    threads = [threading.Thread(target=register_all, args=(mine,)) for mine in identities]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert failures == []
    expected = {identity.did for mine in identities for identity in mine}
    with requests.Session() as session:
        found = _search_all(session, server.url, query="concurrent")
        assert len(found) == len(set(found)) == THREADS * PER_THREAD
        assert set(found) == expected
        # Every DID holds its second (newer) listing.
        assert set(_search_all(session, server.url, query="concurrent 1")) == expected
        assert _search_all(session, server.url, query="concurrent 0") == []
    assert server.stop() == 0


def test_metrics_logs_and_sigterm(live_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    """Metrics add up across workers, access logs are JSON, SIGTERM stops it cleanly."""
    server = live_server(["--db", str(tmp_path / "d.sqlite3"), "--workers", "2"])
    with requests.Session() as session:
        answer = session.post(
            f"{server.url}/register",
            data=listing_token(Identity.generate(), time.time()),
            headers={"Content-Type": "application/jose"},
            timeout=30,
        )
        assert answer.status_code == 200
        for _ in range(20):
            assert session.get(f"{server.url}/healthz", timeout=30).status_code == 200
        text = session.get(f"{server.url}/metrics", timeout=30).text
    match = re.search(
        r'didrtc_discovery_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)',
        text,
    )
    assert match is not None, text
    assert float(match.group(1)) == 20
    assert 'didrtc_discovery_registrations_total{outcome="registered"} 1.0' in text
    assert server.stop() == 0
    log = "".join(server.log)
    assert "Handling signal: term" in log
    assert "Shutting down: Master" in log
    assert "Traceback" not in log
    access = [line for line in server.log if '"logger": "didrtc.discovery.access"' in line]
    assert len(access) >= 21
    assert sum('"route": "/healthz"' in line for line in access) == 20


def test_tls_with_a_generated_development_certificate(
    live_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    assert main(["discovery", "dev-cert", str(cert), str(key)]) == 0
    assert (key.stat().st_mode & 0o777) == 0o600
    server = live_server(
        ["--db", str(tmp_path / "d.sqlite3"), "--tls-cert", str(cert), "--tls-key", str(key)]
    )
    assert server.url.startswith("https://127.0.0.1:")
    answer = requests.get(f"{server.url}/healthz", verify=str(cert), timeout=30)
    assert answer.json() == {"status": "ok", "audience": server.url}
    # An unpinned client refuses the self-signed certificate.
    try:
        requests.get(f"{server.url}/healthz", timeout=30)
    except requests.exceptions.SSLError:
        pass
    else:
        raise AssertionError("a self-signed certificate was trusted without being pinned")
    assert server.stop() == 0


def test_self_signed_option_serves_https(
    live_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = live_server(["--db", str(tmp_path / "d.sqlite3"), "--self-signed"])
    log = "".join(server.log)
    match = re.search(r"--cafile (\S+?\.pem)", log)
    assert match is not None, log
    answer = requests.get(
        f"https://{server.url.split('://')[1]}/healthz", verify=match[1], timeout=30
    )
    assert answer.status_code == 200
    assert server.stop() == 0


def test_production_wsgi_entry_under_gunicorn(tmp_path: Path) -> None:
    """servers/discovery: gunicorn -c gunicorn.conf.py wsgi:app, as the README documents."""
    import subprocess

    env = {
        **os.environ,
        "DIDRTC_DISCOVERY_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "DIDRTC_DISCOVERY_BIND": "127.0.0.1:0",
        "DIDRTC_DISCOVERY_WORKERS": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "servers/discovery/gunicorn.conf.py",
            "--chdir",
            "servers/discovery",
            "wsgi:app",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = LiveServer(process)
    try:
        server.wait_listening()
        identity = Identity.generate()
        with requests.Session() as session:
            answer = session.post(
                f"{server.url}/register",
                data=listing_token(identity, time.time() - 1),
                headers={"Content-Type": "application/jose"},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            token = deletion_token(identity, time.time(), audience=server.url)
            answer = session.delete(
                f"{server.url}/dids/{identity.did}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
    finally:
        code = server.stop()
    assert code == 0
