"""End to end across processes: real DHT nodes, a real discovery server, answerer and offerer."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import pytest

from didrtc import Identity
from didrtc.discovery.client import DiscoveryClient
from didrtc.signaling import LOOPBACK, DhtResolver, connect
from didrtc.signaling.localnet import LocalDiscovery
from tests.signaling.processes import child

LOOPBACK_ARGS = ("--host-address", "127.0.0.1", "--no-mdns")


@pytest.mark.asyncio
async def test_search_resolve_connect_and_chat_across_processes(tmp_path: Path) -> None:
    discovery = LocalDiscovery(tmp_path)
    url = discovery.start()
    try:
        async with (
            child(
                "dht", "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d0")
            ) as boot,
        ):
            bootstrap = (await boot.event("ready"))["address"]
            async with (
                child(
                    "dht",
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--bootstrap",
                    bootstrap,
                    "--data-dir",
                    str(tmp_path / "d1"),
                ) as node1,
                child(
                    "dht",
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--bootstrap",
                    bootstrap,
                    "--data-dir",
                    str(tmp_path / "d2"),
                ) as node2,
            ):
                await asyncio.gather(node1.event("ready"), node2.event("ready"))
                async with child(
                    "answer",
                    "--ephemeral",
                    "--name",
                    "Demo Bistro",
                    "--category",
                    "restaurant",
                    "--discovery",
                    url,
                    "--bootstrap",
                    bootstrap,
                    "--listen",
                    "127.0.0.1:0",
                    "--json",
                    *LOOPBACK_ARGS,
                    name="answerer",
                ) as answerer:
                    ready = await answerer.event("ready")
                    assert ready["published"] == 1
                    assert ready["listed"] == 1
                    assert ready["endpoint"].startswith("https://127.0.0.1:")

                    # The command-line offerer: search, pick, resolve, connect, chat.
                    async with child(
                        "offer",
                        "--ephemeral",
                        "--discovery",
                        url,
                        "--query",
                        "restaurant",
                        "--message",
                        "a table for two?",
                        "--message",
                        "at eight",
                        "--linger",
                        "2",
                        *LOOPBACK_ARGS,
                        name="offerer",
                    ) as offerer:
                        code, stdout, stderr = await offerer.finish(60)
                    assert code == 0, stderr
                    assert "Demo Bistro [restaurant] " + ready["did"] in stdout
                    assert re.search(r"resolve the DID Document from the DHT +\d", stdout)
                    assert re.search(r"ICE \+ DTLS \+ SCTP: data channel open +\d", stdout)
                    assert f"connected to {ready['did']}" in stdout
                    assert "< Welcome to Demo Bistro" in stdout
                    assert "< a table for two?" in stdout
                    assert "< at eight" in stdout

                    # The Python API from this process: resolve the DID through the DHT.
                    async with (
                        DhtResolver([("127.0.0.1", int(bootstrap.split(":")[1]))]) as resolver,
                        connect(ready["did"], resolver=resolver, peer_config=LOOPBACK) as channel,
                    ):
                        assert channel.remote_did == ready["did"]
                        assert str(await channel.receive(10)).startswith("Welcome")
                        await channel.send(b"\x00binary\xff")
                        assert await channel.receive(10) == b"\x00binary\xff"

                    assert await answerer.stop(signal.SIGTERM) == 0
                    rest = await answerer.finish()
                    assert '"event": "stopped"' in rest[1]
                # A stopped answerer withdraws its listing.
                async with DiscoveryClient(url) as directory:
                    assert (await directory.search("restaurant")).results == ()
    finally:
        discovery.close()


@pytest.mark.asyncio
async def test_answerer_access_control_from_files(tmp_path: Path) -> None:
    friend, stranger = tmp_path / "friend.json", tmp_path / "stranger.json"
    friend_identity = Identity.generate()
    friend_identity.save(friend)
    Identity.generate().save(stranger)
    (tmp_path / "allow.txt").write_text(f"# friends\n{friend_identity.did}\n")
    (tmp_path / "keys.txt").write_text("k-1\nk-2\n")
    (tmp_path / "k2.txt").write_text("k-2\n")
    async with child(
        "answer",
        "--ephemeral",
        "--name",
        "Members Only",
        "--listen",
        "127.0.0.1:0",
        "--allow-file",
        str(tmp_path / "allow.txt"),
        "--api-key-file",
        str(tmp_path / "keys.txt"),
        "--json",
        *LOOPBACK_ARGS,
        name="answerer",
    ) as answerer:
        ready = await answerer.event("ready")
        direct = ("--endpoint", ready["endpoint"], "--tls-fingerprint", ready["tls_fingerprint"])
        async with child(
            "offer",
            ready["did"],
            *direct,
            "--identity",
            str(friend),
            "--api-key-file",
            str(tmp_path / "k2.txt"),
            "--message",
            "hi",
            "--linger",
            "1",
            *LOOPBACK_ARGS,
        ) as offerer:
            code, stdout, stderr = await offerer.finish(60)
        assert code == 0, stderr
        assert "< hi" in stdout
        async with child(
            "offer",
            ready["did"],
            *direct,
            "--identity",
            str(stranger),
            "--api-key-file",
            str(tmp_path / "k2.txt"),
            "--message",
            "hi",
            *LOOPBACK_ARGS,
        ) as offerer:
            code, stdout, stderr = await offerer.finish(60)
        assert code == 1
        assert "forbidden" in stderr
        assert "Traceback" not in stderr
        async with child(
            "offer",
            ready["did"],
            *direct,
            "--identity",
            str(friend),
            "--message",
            "hi",
            *LOOPBACK_ARGS,
        ) as offerer:
            code, stdout, stderr = await offerer.finish(60)
        assert code == 1
        assert "unauthorized" in stderr
        assert await answerer.stop(signal.SIGINT) == 0
