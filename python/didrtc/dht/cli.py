"""``didrtc dht serve``, ``didrtc dht publish`` and ``didrtc resolve``."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from didrtc.dht.client import DEFAULT_TIMEOUT, publish, resolve
from didrtc.dht.errors import DhtError
from didrtc.dht.metrics import DhtMetrics
from didrtc.dht.node import DhtNode, parse_address
from didrtc.errors import DidrtcError
from didrtc.records import DEFAULT_LIFETIME, MAX_LIFETIME

__all__ = ["register"]

logger = logging.getLogger(__name__)

EXIT_CODES = """\
exit codes:
  0  resolved: the verified DID document is printed
  1  bad input (a malformed DID, an unreadable identity file)
  3  not found: the nodes closest to the DID's key hold no record of it
  4  invalid: only records that fail verification were found
  5  expired: the newest correctly signed record has expired
  6  unreachable: no bootstrap contact or DHT node answered in time
"""


def _address(text: str) -> tuple[str, int]:
    try:
        return parse_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_bootstrap(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--bootstrap",
        type=_address,
        action="append",
        default=[],
        required=required,
        metavar="HOST:PORT",
        help="a DHT node to join through; repeat it for several (an IP address, not a name)",
    )


def register(subparsers: Any) -> None:
    """Add ``dht serve``, ``dht publish`` and ``resolve`` to the ``didrtc`` command line."""
    dht = subparsers.add_parser(
        "dht",
        help="run a DHT node or publish a DID document in the DHT",
        description="The Kademlia DHT that maps a did:key to its signed DID document.",
    )
    commands = dht.add_subparsers(title="dht commands", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run a DHT node (the bootstrap node is one of these)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Run a DHT node that stores and serves signed DID document records.\n\n"
            "It checks every record it is asked to store (signature, key, expiry, size,\n"
            "sequence number), keeps its routing table and records in --data-dir across\n"
            "restarts, republishes them hourly and stops cleanly on SIGTERM. Once joined it\n"
            'prints one JSON line {"event": "ready", "address": ..., "node_id": ...}.\n\n'
            "  didrtc dht serve --listen 127.0.0.1:8468 --data-dir /var/lib/didrtc-dht\n"
            "  didrtc dht serve --listen 127.0.0.1:0 --bootstrap 127.0.0.1:8468 --data-dir d2"
        ),
    )
    serve.add_argument(
        "--listen",
        type=_address,
        default=("127.0.0.1", 8468),
        metavar="HOST:PORT",
        help="UDP address to listen on (default 127.0.0.1:8468; port 0 picks a free port)",
    )
    _add_bootstrap(serve, required=False)
    serve.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="where the node id, routing table and records are kept (JSON files)",
    )
    serve.add_argument(
        "--metrics",
        type=_address,
        default=None,
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (port 0: any free port)",
    )
    serve.add_argument("--ksize", type=int, default=20, help="k: replication and bucket size")
    serve.add_argument("--alpha", type=int, default=3, help="requests in flight per lookup")
    serve.add_argument(
        "--request-timeout", type=float, default=1.0, metavar="SECONDS", help="per-request timeout"
    )
    serve.add_argument(
        "--republish-interval",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="how often held records are stored again on the closest nodes",
    )
    serve.set_defaults(handler=_serve)

    pub = commands.add_parser(
        "publish",
        help="sign this identity's DID document record and store it in the DHT",
        description=(
            "Sign a DID document record (the signaling endpoint and its TLS certificate\n"
            "fingerprint, a sequence number and an expiry) with the identity's key and\n"
            "store it on the k nodes closest to the DID. Republish well before --lifetime ends."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from didrtc.commands.identity import add_identity_arguments

    add_identity_arguments(pub)
    pub.add_argument("--endpoint", required=True, help="the https:// signaling endpoint URL")
    cert = pub.add_mutually_exclusive_group(required=True)
    cert.add_argument(
        "--cert", type=Path, metavar="FILE", help="the endpoint's TLS certificate (PEM or DER)"
    )
    cert.add_argument(
        "--cert-sha256",
        metavar="FINGERPRINT",
        help="its SHA-256 fingerprint: hex (colons allowed) or base64url",
    )
    _add_bootstrap(pub, required=True)
    pub.add_argument(
        "--lifetime",
        type=int,
        default=DEFAULT_LIFETIME,
        metavar="SECONDS",
        help=f"seconds until the record expires (default {DEFAULT_LIFETIME}, max {MAX_LIFETIME})",
    )
    pub.add_argument("--seq", type=int, default=None, help="sequence number (default: now in ms)")
    pub.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS")
    pub.add_argument("--json", action="store_true", help="print the result as JSON")
    pub.set_defaults(handler=_publish)

    res = subparsers.add_parser(
        "resolve",
        help="resolve a did:key to its DID document through the DHT",
        description=(
            "Find the newest valid record of a DID in the DHT and print its verified\n"
            "W3C DID document (the did:key document plus its WebRTCSignaling service)."
        ),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    res.add_argument("did", help="the did:key to resolve")
    _add_bootstrap(res, required=True)
    res.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS")
    res.set_defaults(handler=_resolve)


def _fingerprint(args: argparse.Namespace) -> str | bytes:
    if args.cert_sha256 is not None:
        return str(args.cert_sha256)
    path: Path = args.cert
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DidrtcError(f"cannot read the certificate {path}: {error}") from None
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        certificate = (
            x509.load_pem_x509_certificate(data)
            if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data)
        )
    except ValueError as error:
        raise DidrtcError(f"{path} is not an X.509 certificate: {error}") from None
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest()


def _publish(args: argparse.Namespace) -> int:
    from didrtc.commands.identity import default_identity_path, load_identity

    identity = load_identity(args.identity or default_identity_path(), args.passphrase_file)
    try:
        fingerprint = _fingerprint(args)
        coroutine = publish(
            identity,
            args.endpoint,
            fingerprint,
            bootstrap=args.bootstrap,
            seq=args.seq,
            lifetime=args.lifetime,
            timeout=args.timeout,
        )
    except ValueError as error:
        raise DidrtcError(str(error)) from None
    try:
        result = asyncio.run(coroutine)
    except DhtError as error:
        print(f"didrtc: error: {error}", file=sys.stderr)
        return error.exit_code
    except ValueError as error:
        raise DidrtcError(str(error)) from None
    if args.json:
        summary = {
            "did": result.record.did,
            "seq": result.record.seq,
            "exp": result.record.record.exp,
            "holders": [f"{h}:{p}" for h, p in result.holders],
            "closest": result.closest,
            "refusals": result.refusals,
        }
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"published {result.record.did} (seq {result.record.seq}): "
            f"{len(result.holders)} of the {result.closest} closest nodes hold it"
        )
    return 0


def _resolve(args: argparse.Namespace) -> int:
    try:
        resolved = asyncio.run(resolve(args.did, bootstrap=args.bootstrap, timeout=args.timeout))
    except DhtError as error:
        print(f"didrtc: error: {error}", file=sys.stderr)
        return error.exit_code
    print(json.dumps(resolved.document, indent=2))
    return 0


async def _serve_metrics(metrics: DhtMetrics, address: tuple[str, int]) -> web.AppRunner:
    async def handle(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, address[0], address[1]).start()
    return runner


async def _run_node(args: argparse.Namespace) -> int:
    metrics = DhtMetrics()
    node = DhtNode(
        ksize=args.ksize,
        alpha=args.alpha,
        data_dir=args.data_dir,
        request_timeout=args.request_timeout,
        republish_interval=args.republish_interval,
        metrics=metrics,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    host, port = args.listen
    address = await node.listen(port, host)
    runner = await _serve_metrics(metrics, args.metrics) if args.metrics else None
    try:
        contacts = await node.bootstrap(args.bootstrap) if args.bootstrap else []
        if args.bootstrap and not contacts:
            logger.warning("no bootstrap contact answered; serving alone until contacted")
        ready: dict[str, object] = {
            "event": "ready",
            "address": f"{address[0]}:{address[1]}",
            "node_id": node.node_id.hex(),
            "contacts": node.contact_count(),
            "records": len(node.storage),
        }
        if runner is not None:
            host, port = runner.addresses[0][:2]
            ready["metrics"] = f"http://{host}:{port}/metrics"
        print(json.dumps(ready), flush=True)
        await stop.wait()
        logger.info("stopping: saving state to %s", args.data_dir)
    finally:
        if runner is not None:
            await runner.cleanup()
        await node.close()
    print(json.dumps({"event": "stopped", "records": len(node.storage)}), flush=True)
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run_node(args))
    except OSError as error:
        raise DidrtcError(f"cannot run the DHT node: {error}") from None
