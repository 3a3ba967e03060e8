"""``didrtc demo``: the main job, run on this machine with nothing to set up.

It starts, inside this one process and on 127.0.0.1 only, a discovery server
(SQLite in a temporary directory), a small DHT (a bootstrap node and three
more), and an answerer "Demo Bistro" in category restaurant. An offerer then
searches "restaurant", resolves the Bistro's DID Document from the DHT,
connects over signed, HPKE-sealed signaling and pinned HTTPS, and chats over
the WebRTC data channel; a forged offer is refused on the way. Each stage is
printed with its time. Everything is stopped and the temporary directory
removed on the way out, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import didrtc
from didrtc.signaling.cli import STAGE_TITLES, StagePrinter

__all__ = ["register", "run_demo"]

QUESTION = "a table for two at eight?"


async def _forged_offer_is_refused(answerer: object, offerer_did: str) -> str:
    """Send an offer whose payload names the offerer but which a stranger signed."""
    import aiohttp

    from didrtc.signaling.answerer import Answerer
    from didrtc.signaling.envelope import seal_offer
    from didrtc.signaling.tls import client_ssl

    assert isinstance(answerer, Answerer)
    stranger = didrtc.Identity.generate()
    token, _ = seal_offer(stranger, answerer.identity.did, "v=0\r\n")
    head, _, signature = token.split(".")
    impostor, _ = seal_offer(didrtc.Identity.generate(), answerer.identity.did, "v=0\r\n")
    forged = f"{head}.{impostor.split('.')[1]}.{signature}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            answerer.endpoint + "receive-offer",
            json={"offer": forged},
            ssl=client_ssl(answerer.certificate.fingerprint),
        ) as response,
    ):
        document = await response.json()
    return f"HTTP {response.status} {document['error']}: {document['message']}"


async def demo_flow(
    out: StagePrinter, workdir: Path, *, stay: bool = False, emit: Callable[[str], None] = print
) -> None:
    """The whole flow; every service it starts is stopped before it returns or raises."""
    from didrtc.discovery.client import DiscoveryClient
    from didrtc.signaling import LOOPBACK, Answerer, AnswererConfig, DhtResolver, connect
    from didrtc.signaling.announce import Announcement, Announcer
    from didrtc.signaling.localnet import LocalDht, LocalDiscovery

    discovery = LocalDiscovery(workdir)
    dht = LocalDht(4)
    answerer: Answerer | None = None
    announcer: Announcer | None = None
    resolver: DhtResolver | None = None
    try:
        with out.stage("start the discovery server (SQLite, temporary directory)"):
            url = discovery.start()
        out.detail(url)
        with out.stage("start the DHT: a bootstrap node and 3 more"):
            bootstrap = await dht.start()
        out.detail(f"bootstrap {bootstrap[0]}:{bootstrap[1]}, UDP")
        with out.stage('answerer "Demo Bistro": identity, HTTPS signaling'):
            bistro = didrtc.Identity.generate()
            answerer = Answerer(bistro, AnswererConfig(name="Demo Bistro", peer=LOOPBACK))
            await answerer.start("127.0.0.1", 0)
        out.detail(bistro.did)
        out.detail(f"{answerer.endpoint}, TLS SHA-256 {answerer.certificate.fingerprint}")
        announcer = Announcer(
            bistro,
            answerer.endpoint,
            answerer.certificate.fingerprint,
            Announcement(
                name="Demo Bistro",
                categories=("restaurant",),
                description="Seasonal plates and a very patient echo",
                bootstrap=(bootstrap,),
                discovery_url=url,
            ),
        )
        with out.stage("answerer publishes its signed DID record to the DHT"):
            await announcer.publish_record()
        with out.stage("answerer registers its signed listing with discovery"):
            await announcer.register_listing()

        searched = time.perf_counter()
        with out.stage('offerer searches "restaurant"'):
            async with DiscoveryClient(url) as directory:
                page = await directory.search("restaurant")
        listing = page.results[0]
        out.detail(f"found {listing.name} [{', '.join(listing.categories)}] {listing.did}")
        offerer = didrtc.Identity.generate()
        out.detail(f"offerer is {offerer.did}")
        resolver = DhtResolver([bootstrap])
        channel = await connect(
            listing,
            identity=offerer,
            resolver=resolver,
            peer_config=LOOPBACK,
            on_stage=lambda name, seconds: out.record(STAGE_TITLES.get(name, name), seconds),
        )
        search_to_open = time.perf_counter() - searched
        out.detail(f"search to open data channel: {search_to_open * 1000:.1f} ms")
        async with channel:
            with out.stage("chat over the data channel (text and binary)"):
                greeting = await channel.receive(10)
                await channel.send(QUESTION)
                reply = await channel.receive(10)
                await channel.send(b"\x00\x01\x02\xff")
                binary = await channel.receive(10)
            if reply != QUESTION or binary != b"\x00\x01\x02\xff" or isinstance(greeting, bytes):
                raise RuntimeError("the data channel did not echo what was sent")
            out.detail(f"< {greeting}")
            out.detail(f"> {QUESTION}")
            out.detail(f"< {reply!s}")
            out.detail("> 4 bytes 000102ff, < 4 bytes 000102ff")
        with out.stage("a forged offer (signature of another payload)"):
            refusal = await _forged_offer_is_refused(answerer, offerer.did)
        out.detail(f"{refusal} (refused, as it must be)")
        if stay:
            emit(f"ready: discovery {url}, DHT {bootstrap[0]}:{bootstrap[1]}, ")
            emit(f"answerer {answerer.endpoint}; Ctrl-C to stop")
            await asyncio.Event().wait()
    finally:
        started = time.perf_counter()
        if resolver is not None:
            await resolver.close()
        if announcer is not None:
            await announcer.stop(withdraw=False)  # the directory itself is about to go
        if answerer is not None:
            await answerer.stop()
        await dht.close()
        discovery.close()
        out.record("stop every service", time.perf_counter() - started)


def run_demo(emit: Callable[[str], None] = print, *, stay: bool = False) -> dict[str, float]:
    """Run the demo, printing through ``emit``; returns each stage's time in seconds.

    SIGTERM is handled like Ctrl-C: the flow is cancelled and everything it
    started is stopped and removed before this returns (raising KeyboardInterrupt).
    """
    out = StagePrinter(emit)
    emit(f"didrtc {didrtc.__version__} demo, crypto backend: {didrtc.BACKEND}, all on 127.0.0.1")

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            with tempfile.TemporaryDirectory(prefix="didrtc-demo-") as workdir:
                await demo_flow(out, Path(workdir), stay=stay, emit=emit)
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    total = sum(out.timings.values())
    emit(f"done: {len(out.timings)} stages in {total * 1000:.2f} ms")
    return out.timings


def _demo(args: argparse.Namespace) -> int:
    timings = run_demo(stay=args.stay)
    if args.json:
        print(json.dumps({name: round(seconds, 6) for name, seconds in timings.items()}))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole flow on this machine and print each stage with its time",
        description="Run the didrtc main job on embedded defaults, all on 127.0.0.1 and in this "
        "one process: a discovery server (SQLite in a temporary directory), a DHT of four "
        'nodes, an answerer "Demo Bistro" (category restaurant), and an offerer that searches '
        '"restaurant", resolves the Bistro\'s signed DID Document from the DHT, connects over '
        "signed, HPKE-sealed signaling and pinned HTTPS, and chats over a WebRTC data channel. "
        "Each stage is printed with its time. Nothing is left behind, also on Ctrl-C.",
    )
    parser.add_argument(
        "--stay",
        action="store_true",
        help="keep every service running after the chat until Ctrl-C (to poke at them)",
    )
    parser.add_argument(
        "--json", action="store_true", help="also print the stage timings as one JSON object"
    )
    parser.set_defaults(handler=_demo)
