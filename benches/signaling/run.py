"""Signaling benchmarks: didrtc against raw aiortc with plain-HTTP signaling, in the same run.

Usage::

    .venv/bin/python benches/signaling/run.py            # prints and writes the markdown
    .venv/bin/python benches/signaling/run.py --quick    # a smaller, faster run

Two answering processes run side by side on 127.0.0.1:

- ``serve-raw``: an aiohttp server taking ``POST /offer`` (``{"sdp", "type"}`` as plain
  JSON over plain HTTP) and answering with a bare aiortc ``RTCPeerConnection``;
- ``serve-didrtc``: an :class:`~didrtc.signaling.Answerer` that published its
  signed DID record to the DHT and registered its listing with discovery, both
  of which run in a third process (``serve-infra``: a discovery server on
  SQLite and a DHT of four nodes), as they would on other machines.

This process is the offerer. It measures, interleaving raw and didrtc runs so
that drift hits both alike: connect latency (raw: offer created to channel
open; didrtc: ``connect(did)`` to channel open, DHT resolve, pinned HTTPS
signaling and all crypto included), search-to-open (a discovery search, then
``connect(listing)``), message round trip and one-way throughput over one
channel, and the answering process's memory per connected peer with N peers
held at once. Both sides pin host candidates to 127.0.0.1 the same way; no
STUN, no TURN. Every phase has a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "benches"))

from didrtc import Identity  # noqa: E402
from didrtc.signaling import (  # noqa: E402
    LOOPBACK,
    Answerer,
    AnswererConfig,
    Channel,
    DhtResolver,
    RateLimit,
    connect,
)
from didrtc.signaling.peer import pinned_host_addresses  # noqa: E402
from report import host, write_section  # noqa: E402  (benches/report.py)

CHUNK = 16 * 1024
HIGH_WATER = 1024 * 1024
UNLIMITED = RateLimit(burst=100_000, per_second=100_000.0)
NO_ICE_SERVERS = RTCConfiguration(iceServers=[])  # None would mean Google's STUN server


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# The answering side's application, the same for both: echo, or count a bulk transfer.


class Sink:
    """``sink N`` starts counting; once N bytes arrived it answers ``got N``."""

    def __init__(self) -> None:
        self.expected = 0
        self.count = 0

    def take(self, message: str | bytes) -> str | bytes | None:
        if isinstance(message, str) and message.startswith("sink "):
            self.expected, self.count = int(message[5:]), 0
            return None
        if self.expected:
            self.count += len(message)
            if self.count >= self.expected:
                done, self.expected = self.count, 0
                return f"got {done}"
            return None
        return message


async def didrtc_handler(channel: Channel) -> None:
    sink = Sink()
    async for message in channel:
        reply = sink.take(message)
        if reply is not None:
            await channel.send(reply)


def raw_handler(channel: RTCDataChannel) -> None:
    sink = Sink()

    @channel.on("message")
    def on_message(message: str | bytes) -> None:
        reply = sink.take(message)
        if reply is not None:
            channel.send(reply)


# Child processes.


async def serve_raw() -> None:
    peers: set[RTCPeerConnection] = set()

    async def offer(request: web.Request) -> web.Response:
        body = await request.json()
        pc = RTCPeerConnection(NO_ICE_SERVERS)
        peers.add(pc)
        pc.on("datachannel", raw_handler)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in {"failed", "closed"}:
                peers.discard(pc)
                await pc.close()

        await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], body["type"]))
        with pinned_host_addresses(("127.0.0.1",)):
            await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp, "type": "answer"})

    async def count(_request: web.Request) -> web.Response:
        return web.json_response({"peers": len(peers)})

    app = web.Application()
    app.router.add_post("/offer", offer)
    app.router.add_get("/peers", count)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    print(json.dumps({"event": "ready", "url": f"http://127.0.0.1:{port}/"}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for pc in list(peers):
        await pc.close()
    await runner.cleanup()


async def serve_infra() -> None:
    """The discovery server and the DHT, in a process of their own (as in a deployment)."""
    from didrtc.signaling.localnet import LocalDht, LocalDiscovery

    with tempfile.TemporaryDirectory(prefix="didrtc-bench-") as workdir:
        discovery = LocalDiscovery(Path(workdir), rate_limits=False)
        url = discovery.start()
        try:
            async with LocalDht(4) as dht:
                ready = {"event": "ready", "discovery": url, "bootstrap": list(dht.bootstrap)}
                print(json.dumps(ready), flush=True)
                await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        finally:
            discovery.close()


async def serve_didrtc(discovery: str, bootstrap: tuple[str, int]) -> None:
    """The answerer alone: it publishes its record and listing, then answers."""
    from didrtc.signaling.announce import Announcement, Announcer

    identity = Identity.generate()
    answerer = Answerer(
        identity,
        AnswererConfig(
            name="Bench Bistro",
            peer=LOOPBACK,
            max_peers=100_000,
            per_address=UNLIMITED,
            per_did=UNLIMITED,
            connect_timeout=120,
        ),
        handler=didrtc_handler,
    )
    await answerer.start("127.0.0.1", 0)
    announcer = Announcer(
        identity,
        answerer.endpoint,
        answerer.certificate.fingerprint,
        Announcement(
            name="Bench Bistro",
            categories=("restaurant",),
            bootstrap=(bootstrap,),
            discovery_url=discovery,
        ),
    )
    await announcer.start()
    print(json.dumps({"event": "ready", "did": identity.did}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await announcer.stop(withdraw=False)
    await answerer.stop()


# The offering side.


class RawChannel:
    """A raw aiortc offerer with the same send back-pressure and receive queue as Channel."""

    def __init__(self, pc: RTCPeerConnection, channel: RTCDataChannel) -> None:
        self.pc, self.channel = pc, channel
        self.queue: asyncio.Queue[str | bytes] = asyncio.Queue()
        self.low = asyncio.Event()
        channel.bufferedAmountLowThreshold = HIGH_WATER // 2
        channel.on("message", self.queue.put_nowait)
        channel.on("bufferedamountlow", self.low.set)

    async def send(self, message: str | bytes) -> None:
        while self.channel.bufferedAmount > HIGH_WATER:
            self.low.clear()
            await self.low.wait()
        self.channel.send(message)

    async def receive(self, timeout: float | None = None) -> str | bytes:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def close(self) -> None:
        await self.pc.close()


async def raw_connect(session: aiohttp.ClientSession, url: str) -> RawChannel:
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    channel = pc.createDataChannel("bench")
    opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @channel.on("open")
    def on_open() -> None:
        if not opened.done():
            opened.set_result(None)

    with pinned_host_addresses(("127.0.0.1",)):
        await pc.setLocalDescription(await pc.createOffer())
    async with session.post(
        url + "offer", json={"sdp": pc.localDescription.sdp, "type": "offer"}
    ) as response:
        answer = await response.json()
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
    await asyncio.wait_for(opened, 30)
    return RawChannel(pc, channel)


@contextlib.asynccontextmanager
async def child(
    mode: str, *args: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, Any]]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        mode,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        while True:
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            if not line:
                raise RuntimeError(f"{mode} ended before it was ready")
            if line.startswith(b"{"):
                ready = json.loads(line)
                break
        yield process, ready
    finally:
        if process.stdin is not None and process.returncode is None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p90_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10)[-1] * 1000


async def timed(make: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await make()
    return time.perf_counter() - started, result


async def rtt(channel: Any, count: int) -> list[float]:
    samples = []
    payload = "x" * 32
    for _ in range(count):
        started = time.perf_counter()
        await channel.send(payload)
        await channel.receive(10)
        samples.append(time.perf_counter() - started)
    return samples


async def throughput(channel: Any, megabytes: float) -> float:
    chunks = max(1, int(megabytes * 1e6) // CHUNK)
    total = chunks * CHUNK
    chunk = os.urandom(CHUNK)
    await channel.send(f"sink {total}")
    started = time.perf_counter()
    for _ in range(chunks):
        await channel.send(chunk)
    reply = await channel.receive(120)
    elapsed = time.perf_counter() - started
    assert reply == f"got {total}", reply
    return total / elapsed / 1e6


async def hold(
    pid: int, count: int, make: Callable[[], Awaitable[Any]], batch: int = 25
) -> tuple[float, float]:
    """Connect ``count`` peers (``batch`` at a time); returns (KiB per peer, seconds)."""
    warm = [await make() for _ in range(10)]
    for channel in warm:
        await channel.close()
    await asyncio.sleep(1.0)
    before = rss_kib(pid)
    started = time.perf_counter()
    held: list[Any] = []
    try:
        for offset in range(0, count, batch):
            held += await asyncio.gather(*(make() for _ in range(min(batch, count - offset))))
        elapsed = time.perf_counter() - started
        for channel in held[:: max(1, count // 20)]:  # every channel is alive and answers
            await channel.send("ping")
            assert await channel.receive(30) == "ping"
        await asyncio.sleep(1.0)
        after = rss_kib(pid)
    finally:
        for channel in held:
            await channel.close()
    return (after - before) / count, elapsed


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    from didrtc.discovery.client import DiscoveryClient

    results: dict[str, Any] = {}
    async with (
        asyncio.timeout(args.time_limit),
        child("serve-raw") as (raw_process, raw_ready),
        child("serve-infra") as (_, infra),
        child(
            "serve-didrtc",
            "--discovery",
            infra["discovery"],
            "--bootstrap",
            str(infra["bootstrap"][1]),
        ) as (ours_process, ours_ready),
        aiohttp.ClientSession() as session,
        DhtResolver([("127.0.0.1", infra["bootstrap"][1])]) as resolver,
        DiscoveryClient(infra["discovery"]) as directory,
    ):
        did, raw_url = ours_ready["did"], raw_ready["url"]

        async def ours() -> Channel:
            return await connect(did, resolver=resolver, peer_config=LOOPBACK)

        async def raw() -> RawChannel:
            return await raw_connect(session, raw_url)

        async def search_then_connect() -> Channel:
            page = await directory.search("restaurant", limit=5)
            return await connect(page.results[0], resolver=resolver, peer_config=LOOPBACK)

        progress("warming up")
        for make in (raw, ours, search_then_connect):  # warm-up: imports, TLS, routing tables
            for _ in range(3):
                await (await make()).close()

        progress("connect latency")
        connects: dict[str, list[float]] = {"raw": [], "ours": [], "search": []}
        stages: dict[str, list[float]] = {}
        for _ in range(args.connects):
            for name, make in (("raw", raw), ("ours", ours), ("search", search_then_connect)):
                seconds, channel = await timed(make)
                connects[name].append(seconds)
                if name == "ours":
                    for stage, spent in channel.timings.items():
                        stages.setdefault(stage, []).append(spent)
                await channel.close()
        results["connect"] = {
            name: {"median_ms": median_ms(s), "p90_ms": p90_ms(s), "n": len(s)}
            for name, s in connects.items()
        }
        results["stages"] = {stage: median_ms(s) for stage, s in stages.items()}

        progress("round trips and throughput")
        raw_channel, our_channel = await raw(), await ours()
        rtts: dict[str, list[float]] = {"raw": [], "ours": []}
        speeds: dict[str, list[float]] = {"raw": [], "ours": []}
        for _ in range(args.rounds):
            progress("  rtt")
            rtts["raw"] += await rtt(raw_channel, args.rtt // args.rounds)
            rtts["ours"] += await rtt(our_channel, args.rtt // args.rounds)
            progress("  throughput")
            speeds["raw"].append(await throughput(raw_channel, args.mbytes / args.rounds))
            speeds["ours"].append(await throughput(our_channel, args.mbytes / args.rounds))
        await raw_channel.close()
        await our_channel.close()
        results["rtt"] = {
            name: {"median_ms": median_ms(s), "n": len(s)} for name, s in rtts.items()
        }
        results["throughput"] = {
            name: {"median_mb_s": statistics.median(s), "runs": len(s)}
            for name, s in speeds.items()
        }

        progress(f"holding {args.hold} raw peers")
        raw_kib, raw_seconds = await hold(raw_process.pid, args.hold, raw)
        progress(f"holding {args.hold} didrtc peers")
        our_kib, our_seconds = await hold(ours_process.pid, args.hold, ours)
        results["hold"] = {
            "peers": args.hold,
            "raw": {"kib_per_peer": raw_kib, "seconds": raw_seconds},
            "ours": {"kib_per_peer": our_kib, "seconds": our_seconds},
        }
    return results


def machine() -> str:
    import aioice
    import aiortc

    return f"{host()}; aiortc {aiortc.__version__}, aioice {aioice.__version__}"


def markdown(results: dict[str, Any], command: str) -> str:
    c, r, t, h = results["connect"], results["rtt"], results["throughput"], results["hold"]
    raw_connect_ms = c["raw"]["median_ms"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    rows = [
        (
            "connect latency (median)",
            f"{raw_connect_ms:.1f} ms",
            f"{c['ours']['median_ms']:.1f} ms",
            f"{c['ours']['median_ms'] / raw_connect_ms:.2f}x",
            "≤ 1.3x",
            verdict(c["ours"]["median_ms"] <= 1.3 * raw_connect_ms),
        ),
        (
            "search to open channel (median)",
            f"{raw_connect_ms:.1f} ms",
            f"{c['search']['median_ms']:.1f} ms",
            f"{c['search']['median_ms'] / raw_connect_ms:.2f}x",
            "≤ 1.5x",
            verdict(c["search"]["median_ms"] <= 1.5 * raw_connect_ms),
        ),
        (
            "message round trip (median)",
            f"{r['raw']['median_ms']:.3f} ms",
            f"{r['ours']['median_ms']:.3f} ms",
            f"{r['raw']['median_ms'] / r['ours']['median_ms']:.2f}x speed",
            "≥ 0.9x",
            verdict(r["raw"]["median_ms"] / r["ours"]["median_ms"] >= 0.9),
        ),
        (
            "throughput, one way (median)",
            f"{t['raw']['median_mb_s']:.1f} MB/s",
            f"{t['ours']['median_mb_s']:.1f} MB/s",
            f"{t['ours']['median_mb_s'] / t['raw']['median_mb_s']:.2f}x",
            "≥ 0.9x",
            verdict(t["ours"]["median_mb_s"] >= 0.9 * t["raw"]["median_mb_s"]),
        ),
        (
            f"memory per peer, {h['peers']} held in one process",
            f"{h['raw']['kib_per_peer']:.0f} KiB",
            f"{h['ours']['kib_per_peer']:.0f} KiB",
            f"{h['ours']['kib_per_peer'] / h['raw']['kib_per_peer']:.2f}x",
            "≤ 250 KiB",
            verdict(h["ours"]["kib_per_peer"] <= 250),
        ),
    ]
    lines = [
        "| measure | raw aiortc + plain HTTP | didrtc | ratio | target | |",
        "|---|---|---|---|---|---|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(
        [
            f"Command: `{command}`",
            "",
            f"Machine: {machine()}",
            "",
            *lines,
            "",
            f"Connect samples: {c['raw']['n']} per kind, interleaved; p90 raw "
            f"{c['raw']['p90_ms']:.1f} ms, didrtc {c['ours']['p90_ms']:.1f} ms, search-to-open "
            f"{c['search']['p90_ms']:.1f} ms. Round trips: {r['ours']['n']} of 32 bytes each. "
            f"Throughput: {t['ours']['runs']} transfers per kind, in 16 KiB messages. Holding "
            f"{h['peers']} peers took {h['raw']['seconds']:.1f} s (raw) and "
            f"{h['ours']['seconds']:.1f} s (didrtc) to connect, 25 at a time.",
            "",
            "Median of each stage of a didrtc connect (the offer is created while the DID "
            "resolves): "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in results["stages"].items())
            + ".",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "mode",
        nargs="?",
        default="bench",
        choices=["bench", "serve-raw", "serve-infra", "serve-didrtc"],
    )
    parser.add_argument("--discovery", help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--connects", type=int, default=100, help="connects per kind")
    parser.add_argument("--rtt", type=int, default=2000, help="round trips per kind")
    parser.add_argument("--mbytes", type=int, default=128, help="MB per kind for throughput")
    parser.add_argument("--rounds", type=int, default=8, help="alternations for RTT/throughput")
    parser.add_argument("--hold", type=int, default=1000, help="peers held at once")
    parser.add_argument("--time-limit", type=float, default=900.0, help="seconds in all")
    parser.add_argument("--quick", action="store_true", help="a small run for a smoke test")
    parser.add_argument(
        "--out", type=Path, default=None, help="write here instead of docs/benchmarks.md"
    )
    parser.add_argument("--json", type=Path, default=None, help="write raw results here")
    args = parser.parse_args()
    if args.mode == "serve-raw":
        asyncio.run(serve_raw())
        return
    if args.mode == "serve-infra":
        asyncio.run(serve_infra())
        return
    if args.mode == "serve-didrtc":
        asyncio.run(serve_didrtc(args.discovery, ("127.0.0.1", args.bootstrap)))
        return
    if args.quick:
        args.connects, args.rtt, args.mbytes, args.hold = 10, 200, 8, 50
    results = asyncio.run(bench(args))
    command = ".venv/bin/python benches/signaling/run.py " + " ".join(sys.argv[1:])
    text = markdown(results, command.strip())
    print(text)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    if args.out is None:
        write_section("signaling", text)
    else:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
