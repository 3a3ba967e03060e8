"""``didrtc answer`` and ``didrtc offer``: the answerer service and the offerer's chat."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from didrtc.commands.identity import add_identity_arguments, default_identity_path, load_identity
from didrtc.errors import DidrtcError
from didrtc.identity import Identity
from didrtc.signaling.announce import Announcement, Announcer
from didrtc.signaling.answerer import Answerer, AnswererConfig, echo_handler, hash_api_key
from didrtc.signaling.channel import Channel, Message
from didrtc.signaling.errors import ChannelClosed
from didrtc.signaling.offerer import DhtResolver, Target, connect, parse_host_port
from didrtc.signaling.peer import IceServer, PeerConfig
from didrtc.signaling.ratelimit import RateLimit
from didrtc.signaling.tls import generate_self_signed, load_certificate

__all__ = ["StagePrinter", "register"]


class UsageError(DidrtcError):
    """A command-line argument is unusable."""


class StagePrinter:
    """Prints ``[n] stage ... 1.23 ms`` lines, one per stage of a flow."""

    def __init__(self, emit: Callable[[str], None] = print) -> None:
        self._emit = emit
        self._count = 0
        self.timings: dict[str, float] = {}

    def record(self, title: str, elapsed: float) -> None:
        self._count += 1
        self.timings[title] = elapsed
        self._emit(f"[{self._count}] {title:<56} {elapsed * 1000:9.2f} ms")

    @contextlib.contextmanager
    def stage(self, title: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.record(title, time.perf_counter() - start)

    def detail(self, text: str) -> None:
        self._emit(f"      {text}")


STAGE_TITLES = {
    "resolve": "resolve the DID Document from the DHT",
    "offer": "create the WebRTC offer (ICE gathering)",
    "seal": "seal the SDP (HPKE) and sign the offer (JWS)",
    "signal": "POST /receive-offer over pinned HTTPS",
    "verify": "verify the answer's signature, nonce; open it",
    "connect": "ICE + DTLS + SCTP: data channel open",
}
"""How the offerer's stages are printed."""


def _peer_config(args: argparse.Namespace) -> PeerConfig:
    servers = tuple(IceServer.parse(url) for url in (args.stun or []) + (args.turn or []))
    hosts = tuple(args.host_address) if args.host_address else None
    try:
        return PeerConfig(ice_servers=servers, host_addresses=hosts, resolve_mdns=not args.no_mdns)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _identity(args: argparse.Namespace) -> Identity:
    if args.ephemeral:
        return Identity.generate()
    return load_identity(args.identity or default_identity_path(), args.passphrase_file)


def _bootstrap(values: list[str] | None) -> tuple[tuple[str, int], ...]:
    try:
        return tuple(parse_host_port(value) for value in values or [])
    except ValueError as error:
        raise UsageError(f"--bootstrap: {error}") from None


def _read_lines(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _discovery_ssl(cafile: Path | None) -> ssl.SSLContext | None:
    return None if cafile is None else ssl.create_default_context(cafile=str(cafile))


# ``didrtc answer``


async def serve_answerer(args: argparse.Namespace, identity: Identity) -> int:
    """Run the answerer service until SIGTERM or SIGINT; returns the exit code."""
    host, port = ("127.0.0.1", 8443) if args.listen is None else _listen(args.listen)
    allow = set(args.allow or []) | set(_read_lines(args.allow_file))
    keys = _read_lines(args.api_key_file)
    config = AnswererConfig(
        name=args.name,
        allowlist=frozenset(allow) if allow else None,
        api_key_hashes=frozenset(hash_api_key(k) for k in keys) if keys else None,
        max_peers=args.max_peers,
        connect_timeout=args.connect_timeout,
        per_address=RateLimit(burst=args.rate_burst, per_second=args.rate_per_address),
        per_did=RateLimit(burst=max(1, args.rate_burst // 2), per_second=args.rate_per_did),
        peer=_peer_config(args),
    )
    if (args.tls_cert is None) != (args.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    certificate = (
        load_certificate(args.tls_cert, args.tls_key)
        if args.tls_cert is not None
        else generate_self_signed((host, "localhost"))
    )
    answerer = Answerer(
        identity, config, certificate=certificate, handler=echo_handler if args.echo else None
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await answerer.start(host, port)
    endpoint = args.public_endpoint or answerer.endpoint
    announcer = Announcer(
        identity,
        endpoint,
        certificate.fingerprint,
        Announcement(
            name=args.name,
            categories=tuple(args.category or ()),
            description=args.description,
            bootstrap=_bootstrap(args.bootstrap),
            discovery_url=args.discovery,
            lifetime=args.lifetime,
        ),
        discovery_ssl=_discovery_ssl(args.discovery_cafile),
    )
    try:
        await announcer.start()
        ready = {
            "event": "ready",
            "did": identity.did,
            "endpoint": endpoint,
            "tls_fingerprint": certificate.fingerprint,
            "published": announcer.published,
            "listed": announcer.registered,
        }
        if args.json:
            print(json.dumps(ready), flush=True)
        else:
            print(f"answering as {identity.did}")
            print(f"signaling endpoint {endpoint} (TLS SHA-256 {certificate.fingerprint})")
            print("ready; stop with Ctrl-C or SIGTERM", flush=True)
        await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await announcer.stop()
        await answerer.stop()
    if args.json:
        print(json.dumps({"event": "stopped"}), flush=True)
    return 0


def _listen(text: str) -> tuple[str, int]:
    try:
        host, port = parse_host_port(text) if not text.endswith(":0") else (text[:-2], 0)
    except ValueError as error:
        raise UsageError(f"--listen: {error}") from None
    return host.strip("[]"), port


def _answer(args: argparse.Namespace) -> int:
    identity = _identity(args)
    return asyncio.run(serve_answerer(args, identity))


# ``didrtc offer``


async def _choose_target(args: argparse.Namespace, out: StagePrinter) -> Any:
    """A Target, a DID or a Listing, from the command line."""
    if args.endpoint is not None:
        if args.did is None:
            raise UsageError("--endpoint needs the answerer's DID as well")
        try:
            return Target(args.did, args.endpoint, args.tls_fingerprint)
        except ValueError as error:
            raise UsageError(str(error)) from None
    if args.did is not None:
        if not args.bootstrap:
            raise UsageError("to resolve a DID, give DHT nodes with --bootstrap HOST:PORT")
        return args.did
    if args.discovery is None:
        raise UsageError("give a DID, or --discovery URL and --query TEXT to search for one")
    from didrtc.discovery.client import DiscoveryClient

    with out.stage(f"search {args.query!r} on the discovery server"):
        async with DiscoveryClient(
            args.discovery, ssl_context=_discovery_ssl(args.discovery_cafile)
        ) as directory:
            page = await directory.search(args.query or "", category=args.category, limit=20)
    if not page.results:
        raise UsageError(f"the discovery server lists nothing for {args.query!r}")
    for index, listing in enumerate(page.results, 1):
        out.detail(f"{index}. {listing.name} [{', '.join(listing.categories)}] {listing.did}")
    if not 1 <= args.pick <= len(page.results):
        raise UsageError(f"--pick {args.pick}: there are {len(page.results)} results")
    chosen = page.results[args.pick - 1]
    out.detail(f"picked {chosen.name}")
    return chosen


def _show(message: Message) -> str:
    return message if isinstance(message, str) else f"<{len(message)} bytes> {message.hex()}"


async def _printer(channel: Channel, received: list[Message], emit: Callable[[str], None]) -> None:
    with contextlib.suppress(ChannelClosed):
        while True:
            message = await channel.receive()
            received.append(message)
            emit(f"< {_show(message)}")


async def _settle(received: list[Message], quiet: float, limit: float) -> None:
    """Return once no message arrived for ``quiet`` seconds, or after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    seen = -1
    while time.monotonic() < deadline and seen != len(received):
        seen = len(received)
        await asyncio.sleep(quiet)


def _stdin_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:  # a daemon thread: a blocked readline never holds up the exit
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="didrtc-stdin", daemon=True).start()
    return queue


async def run_offer(args: argparse.Namespace, emit: Callable[[str], None] = print) -> int:
    """Search or resolve, connect, then chat; returns the exit code."""
    out = StagePrinter(emit)
    identity = _identity(args)
    keys = _read_lines(args.api_key_file)
    target = await _choose_target(args, out)
    bootstrap = _bootstrap(args.bootstrap)
    resolver = DhtResolver(bootstrap, timeout=args.timeout) if bootstrap else None
    started = time.perf_counter()
    channel = await connect(
        target,
        identity=identity,
        resolver=resolver,
        api_key=keys[0] if keys else None,
        peer_config=_peer_config(args),
        timeout=args.timeout,
        on_stage=lambda name, seconds: out.record(STAGE_TITLES.get(name, name), seconds),
    )
    emit(f"connected to {channel.remote_did} in {(time.perf_counter() - started) * 1000:.1f} ms")
    received: list[Message] = []
    printer = asyncio.get_running_loop().create_task(_printer(channel, received, emit))
    try:
        if args.message:
            for text in args.message:
                await channel.send(text)
                emit(f"> {text}")
            await _settle(received, args.linger, max(10.0, args.linger * 4))
        else:
            emit("type a line to send it; end with Ctrl-D")
            lines = _stdin_lines(asyncio.get_running_loop())
            while (line := await lines.get()) is not None and not channel.closed:
                await channel.send(line)
            if not channel.closed:  # end of input: let the last replies arrive
                await _settle(received, args.linger, max(10.0, args.linger * 4))
    finally:
        await channel.close()
        printer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await printer
    return 0


def _offer(args: argparse.Namespace) -> int:
    return asyncio.run(run_offer(args))


# Registration.


def _network_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("WebRTC network")
    group.add_argument(
        "--stun",
        action="append",
        metavar="URL",
        help="a STUN server, stun:HOST:PORT (repeatable; none by default)",
    )
    group.add_argument(
        "--turn",
        action="append",
        metavar="URL",
        help="a TURN server, turn:USER:PASSWORD@HOST:PORT[?transport=tcp] (repeatable)",
    )
    group.add_argument(
        "--host-address",
        action="append",
        metavar="IP",
        help="gather host candidates only on this address (repeatable); 127.0.0.1 keeps "
        "everything on this machine, which ICE otherwise skips",
    )
    group.add_argument(
        "--no-mdns", action="store_true", help="ignore the peer's .local (mDNS) candidates"
    )


def _identity_arguments(parser: argparse.ArgumentParser) -> None:
    add_identity_arguments(parser)
    parser.add_argument(
        "--ephemeral", action="store_true", help="use a new throwaway identity instead of a file"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    answer = subparsers.add_parser(
        "answer",
        help="run an answerer: publish your DID, list yourself, accept authenticated offers",
        formatter_class=formatter,
        description="""\
Run the answerer service for your identity until SIGTERM or Ctrl-C.

It serves the signaling endpoint over HTTPS (a self-signed certificate unless
--tls-cert is given; offerers pin its SHA-256, which your signed DID record
carries), publishes that record to the DHT through --bootstrap, registers a
listing with --discovery, and refreshes both every third of --lifetime.
Each offer must be signed by the offerer's did:key, addressed to your DID,
fresh, never seen before, and sealed to your key; then aiortc answers it and
the data channel runs the built-in chat (a greeting, then an echo).

example:
  didrtc answer --identity bistro.json --name "Demo Bistro" --category restaurant \\
      --discovery https://discovery.example --bootstrap dht.example:8468 \\
      --listen 0.0.0.0:8443 --public-endpoint https://bistro.example:8443/""",
    )
    _identity_arguments(answer)
    answer.add_argument("--name", required=True, help="your listing's display name")
    answer.add_argument(
        "--category", action="append", metavar="NAME", help="a listing category (repeatable)"
    )
    answer.add_argument("--description", default="", help="your listing's description")
    answer.add_argument("--discovery", metavar="URL", help="register with this discovery server")
    answer.add_argument(
        "--discovery-cafile", type=Path, metavar="PEM", help="trust this CA for --discovery"
    )
    answer.add_argument(
        "--bootstrap",
        action="append",
        metavar="HOST:PORT",
        help="a DHT node to publish your DID record through (repeatable)",
    )
    answer.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="where to serve HTTPS (default 127.0.0.1:8443; port 0 picks a free one)",
    )
    answer.add_argument(
        "--public-endpoint",
        metavar="URL",
        help="the https:// URL offerers reach you at, if not the --listen address",
    )
    answer.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve this certificate")
    answer.add_argument("--tls-key", type=Path, metavar="PEM", help="... with this private key")
    answer.add_argument(
        "--lifetime",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="validity of the DID record and listing (default 3600; refreshed every third)",
    )
    access = answer.add_argument_group("access control")
    access.add_argument(
        "--allow", action="append", metavar="DID", help="accept offers only from this DID"
    )
    access.add_argument("--allow-file", type=Path, metavar="FILE", help="... or these, one a line")
    access.add_argument(
        "--api-key-file",
        type=Path,
        metavar="FILE",
        help="require a Bearer API key from this file (one a line; kept only as SHA-256)",
    )
    access.add_argument(
        "--max-peers", type=int, default=1000, help="peer connections at once (default 1000)"
    )
    access.add_argument(
        "--connect-timeout",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="close a peer whose data channel has not opened by then (default 20)",
    )
    access.add_argument(
        "--rate-per-address",
        type=float,
        default=2.0,
        metavar="PER_S",
        help="offers per second per IP address (default 2)",
    )
    access.add_argument(
        "--rate-per-did", type=float, default=1.0, metavar="PER_S", help="... per DID (default 1)"
    )
    access.add_argument(
        "--rate-burst", type=int, default=20, help="offers allowed back to back (default 20)"
    )
    _network_arguments(answer)
    answer.add_argument("--echo", action="store_true", help="echo only, without a greeting")
    answer.add_argument("--json", action="store_true", help="print machine-readable events")
    answer.set_defaults(handler=_answer)

    offer = subparsers.add_parser(
        "offer",
        help="find an answerer (by search or DID), connect, and chat over the data channel",
        formatter_class=formatter,
        description="""\
Open an authenticated, end-to-end encrypted WebRTC data channel to an answerer
and chat: each line you type is sent, each message received is printed.

The answerer is found by a discovery search (--discovery URL --query TEXT), or
by its DID (resolved through the DHT nodes given with --bootstrap). Its signed
DID record gives the signaling endpoint and the TLS certificate it must present.
The offer is signed by your did:key and sealed to the answerer's key; the answer
must be signed by the DID you meant to reach and bound to your offer. Each
stage is printed with its time.

examples:
  didrtc offer --discovery https://discovery.example --query restaurant
  didrtc offer did:key:z6Mk... --bootstrap dht.example:8468 --message "hello" """,
    )
    offer.add_argument("did", nargs="?", help="the answerer's did:key (instead of a search)")
    _identity_arguments(offer)
    offer.add_argument("--discovery", metavar="URL", help="search this discovery server")
    offer.add_argument(
        "--discovery-cafile", type=Path, metavar="PEM", help="trust this CA for --discovery"
    )
    offer.add_argument("--query", default="", help="full-text search terms")
    offer.add_argument("--category", help="only listings in this category")
    offer.add_argument("--pick", type=int, default=1, help="which search result (default 1)")
    offer.add_argument(
        "--bootstrap",
        action="append",
        metavar="HOST:PORT",
        help="DHT nodes to resolve through (default: the ones the listing names)",
    )
    offer.add_argument(
        "--endpoint", metavar="URL", help="skip resolution: the answerer's signaling URL"
    )
    offer.add_argument(
        "--tls-fingerprint", metavar="SHA256", help="... and its certificate's SHA-256"
    )
    offer.add_argument("--api-key-file", type=Path, metavar="FILE", help="send this API key")
    offer.add_argument(
        "--message",
        action="append",
        metavar="TEXT",
        help="send TEXT, print the replies, and exit (repeatable) instead of chatting",
    )
    offer.add_argument(
        "--linger",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="after the last message sent, exit once no reply came for this long (default 0.5)",
    )
    offer.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="for each network step"
    )
    _network_arguments(offer)
    offer.set_defaults(handler=_offer)
