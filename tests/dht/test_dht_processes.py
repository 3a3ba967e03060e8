"""A network of 20 ``didrtc dht serve`` processes, driven through the command line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import didrtc
from didrtc.dht import resolve

pytestmark = pytest.mark.asyncio

NODES = 20
READY_TIMEOUT = 60.0
"""Seconds a node process may take to start and join (a busy 2-core machine)."""


class NodeProcess:
    def __init__(self, process: asyncio.subprocess.Process, data_dir: Path) -> None:
        self.process = process
        self.data_dir = data_dir
        self.ready: dict[str, Any] = {}

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = str(self.ready["address"]).rpartition(":")
        return host, int(port)

    @property
    def address_text(self) -> str:
        return str(self.ready["address"])

    async def wait_ready(self) -> None:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), READY_TIMEOUT)
        assert line, f"the node exited before it was ready (code {self.process.returncode})"
        self.ready = json.loads(line)
        assert self.ready["event"] == "ready"


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def _spawn(data_dir: Path, *extra: str) -> NodeProcess:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "didrtc.cli",
        "dht",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        str(data_dir),
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=_environment(),
    )
    return NodeProcess(process, data_dir)


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "didrtc.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_environment(),
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def _terminate(node: NodeProcess) -> int:
    if node.process.returncode is None:
        node.process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(node.process.wait(), 20)
    except TimeoutError:
        node.process.kill()
        return await node.process.wait()


@pytest_asyncio.fixture
async def processes(tmp_path: Path) -> AsyncIterator[list[NodeProcess]]:
    nodes: list[NodeProcess] = []
    try:
        first = await _spawn(tmp_path / "node0", "--metrics", "127.0.0.1:0")
        nodes.append(first)
        await first.wait_ready()
        rest = [
            await _spawn(tmp_path / f"node{i}", "--bootstrap", first.address_text)
            for i in range(1, NODES)
        ]
        nodes.extend(rest)
        await asyncio.gather(*(node.wait_ready() for node in rest))
        yield nodes
    finally:
        for node in nodes:
            if node.process.returncode is None:
                node.process.kill()
                await node.process.wait()


async def test_twenty_node_processes_publish_resolve_and_stop_cleanly(
    processes: list[NodeProcess], tmp_path: Path
) -> None:
    alice = didrtc.Identity.generate()
    identity_file = tmp_path / "alice.json"
    alice.save(identity_file)
    code, out, err = await _cli(
        "dht",
        "publish",
        "--identity",
        str(identity_file),
        "--endpoint",
        "https://127.0.0.1:8443/signal",
        "--cert-sha256",
        "AB:" * 31 + "AB",
        "--bootstrap",
        processes[3].address_text,
        "--json",
    )
    assert code == 0, err
    published = json.loads(out)
    assert published["did"] == alice.did
    assert len(published["holders"]) >= 10

    # Resolve through the command line from other nodes...
    for node in processes[10:13]:
        code, out, err = await _cli("resolve", alice.did, "--bootstrap", node.address_text)
        assert code == 0, err
        document = json.loads(out)
        assert document["id"] == alice.did
        assert document["service"][0]["serviceEndpoint"] == "https://127.0.0.1:8443/signal"
    # ...and through the API from every node.
    for node in processes:
        resolved = await resolve(alice.did, bootstrap=[node.address])
        assert resolved.record.seq == published["seq"]

    code, _, err = await _cli(
        "resolve", didrtc.Identity.generate().did, "--bootstrap", processes[5].address_text
    )
    assert code == 3, err
    assert "no record" in err

    metrics_url = processes[0].ready["metrics"]
    assert metrics_url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        text = response.read().decode()
    assert "didrtc_dht_records_held" in text
    assert "didrtc_dht_routing_contacts" in text

    codes = await asyncio.gather(*(_terminate(node) for node in processes))
    assert codes == [0] * NODES
    holders = 0
    for node in processes:
        state = json.loads((node.data_dir / "state.json").read_text())
        assert state["node_id"] == node.ready["node_id"]
        records = json.loads((node.data_dir / "records.json").read_text())["records"]
        holders += len(records)
    assert holders >= 10


async def test_resolve_exits_6_when_no_node_answers(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    silent, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    host, port = silent.get_extra_info("sockname")[:2]
    try:
        code, _, err = await _cli(
            "resolve", didrtc.Identity.generate().did, "--bootstrap", f"{host}:{port}"
        )
    finally:
        silent.close()
    assert code == 6
    assert "no bootstrap contact answered" in err


async def test_cli_input_errors_are_one_line_messages(tmp_path: Path) -> None:
    code, _, err = await _cli("resolve", "did:key:nope", "--bootstrap", "127.0.0.1:9")
    assert code == 1
    assert err.startswith("didrtc: error:")
    code, _, err = await _cli("resolve", "did:key:x", "--bootstrap", "localhost:9")
    assert code == 2
    assert "IP address" in err


async def test_publish_takes_the_fingerprint_from_a_certificate_file(tmp_path: Path) -> None:
    import argparse
    import datetime
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    from didrtc.dht.cli import _fingerprint
    from didrtc.errors import DidrtcError

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "answerer")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(Encoding.DER)
    for name_, data in (("c.pem", certificate.public_bytes(Encoding.PEM)), ("c.der", der)):
        path = tmp_path / name_
        path.write_bytes(data)
        args = argparse.Namespace(cert=path, cert_sha256=None)
        assert _fingerprint(args) == hashlib.sha256(der).digest()
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(DidrtcError, match=r"not an X\.509 certificate"):
        _fingerprint(argparse.Namespace(cert=tmp_path / "bad.pem", cert_sha256=None))
