"""``didrtc discovery ...``: run the discovery server; register, search, show, delete listings.

The client commands need only didrtc's core dependencies; ``serve`` and
``migrate`` import the server (Flask, SQLAlchemy, gunicorn) when they run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import ssl
import tempfile
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from didrtc.commands.identity import add_identity_arguments, default_identity_path, load_identity
from didrtc.discovery.client import DiscoveryClient
from didrtc.discovery.listing import Listing

__all__ = ["register"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

SERVER_VARIABLE = "DIDRTC_DISCOVERY_URL"
DEFAULT_SERVER = "http://127.0.0.1:8000"


def default_database() -> str:
    """``$DIDRTC_DISCOVERY_DATABASE_URL``, else ``$XDG_DATA_HOME/didrtc/discovery.sqlite3``."""
    configured = os.environ.get("DIDRTC_DISCOVERY_DATABASE_URL")
    if configured:
        return configured
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(data_home) / "didrtc" / "discovery.sqlite3")


DESCRIPTION = """\
The discovery server is a directory where answerers (a restaurant, say) list
their DID with a name, categories, the DHT bootstrap nodes to use and their
service endpoint, and where offerers search for them. Every listing is signed
by the answerer's own key, and the client checks that signature on every
result, so the server cannot alter what it serves.

  didrtc discovery serve                        # http://127.0.0.1:8000, SQLite
  didrtc discovery register --name "Seoul Kitchen" --category restaurant \\
      --category korean --bootstrap dht.example:4000 \\
      --endpoint https://seoul.example/didrtc
  didrtc discovery search restaurant
"""


def _run(coroutine: Callable[[DiscoveryClient], Awaitable[T]], args: argparse.Namespace) -> T:
    context = ssl.create_default_context(cafile=args.cafile) if args.cafile else None

    async def main() -> T:
        async with DiscoveryClient(args.server, ssl_context=context, timeout=args.timeout) as c:
            return await coroutine(c)

    return asyncio.run(main())


def _listing_json(listing: Listing) -> dict[str, Any]:
    document = listing.to_payload()
    del document["nonce"]
    return document


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(listings: list[Listing]) -> str:
    if not listings:
        return "no listings found"
    rows = [("NAME", "CATEGORIES", "DID", "ENDPOINT")]
    rows += [
        (
            _clip(listing.name, 28),
            _clip(",".join(listing.categories), 24),
            listing.did,
            _clip(listing.service_endpoint, 40),
        )
        for listing in listings
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )


def _serve(args: argparse.Namespace) -> int:
    from didrtc.discovery.logs import configure_logging
    from didrtc.discovery.server import ServeOptions, serve
    from didrtc.discovery.store import database_url
    from didrtc.discovery.tls import write_self_signed_certificate

    configure_logging(args.log_format, logging.DEBUG if args.verbose > 1 else logging.INFO)
    cert, key = args.tls_cert, args.tls_key
    if args.self_signed:
        if cert or key:
            raise _usage("--self-signed generates its own certificate: drop --tls-cert/--tls-key")
        directory = Path(tempfile.mkdtemp(prefix="didrtc-discovery-tls-"))
        cert, key = directory / "cert.pem", directory / "key.pem"
        fingerprint = write_self_signed_certificate(cert, key)
        logger.warning(
            "serving with a self-signed development certificate %s (SHA-256 %s); "
            "clients must trust it explicitly (--cafile %s)",
            cert,
            fingerprint,
            cert,
        )
    environment = {
        "DIDRTC_DISCOVERY_CORS_ORIGINS": args.cors_origin,
        "DIDRTC_DISCOVERY_TRUSTED_PROXIES": str(args.trusted_proxies),
        "DIDRTC_DISCOVERY_RATE_LIMIT": args.rate_limit,
        "DIDRTC_DISCOVERY_RATE_LIMIT_PER_DID": args.rate_limit_per_did,
        "DIDRTC_DISCOVERY_RATE_LIMIT_STORAGE": args.rate_limit_storage,
        "DIDRTC_RATELIMIT_ENABLED": "false" if args.no_rate_limits else "true",
    }
    if args.audience:
        environment["DIDRTC_DISCOVERY_AUDIENCE"] = args.audience
    serve(
        ServeOptions(
            listen=args.listen,
            database_url=database_url(args.db),
            workers=args.workers,
            threads=args.threads,
            tls_cert=None if cert is None else str(cert),
            tls_key=None if key is None else str(key),
            reuse_port=not args.shared_socket,
        ),
        environment,
    )
    return 0


def _usage(message: str) -> Exception:
    from didrtc.discovery.store import ConfigurationError

    return ConfigurationError(message)


def _migrate(args: argparse.Namespace) -> int:
    from didrtc.discovery.store import current_revision, open_engine, upgrade

    engine = open_engine(args.db)
    try:
        upgrade(engine)
        print(f"discovery database at revision {current_revision(engine)}")
    finally:
        engine.dispose()
    return 0


def _dev_cert(args: argparse.Namespace) -> int:
    from didrtc.discovery.tls import DEFAULT_HOSTS, write_self_signed_certificate

    hosts = args.host or DEFAULT_HOSTS
    fingerprint = write_self_signed_certificate(args.cert, args.key, hosts=hosts)
    print(f"wrote {args.cert} and {args.key} (mode 0600); SHA-256 {fingerprint}")
    return 0


def _register(args: argparse.Namespace) -> int:
    identity = load_identity(args.identity or default_identity_path(), args.passphrase_file)
    receipt = _run(
        lambda client: client.register(
            identity,
            name=args.name,
            description=args.description,
            categories=args.category,
            bootstrap_nodes=args.bootstrap,
            service_endpoint=args.endpoint,
            lifetime=args.lifetime,
        ),
        args,
    )
    if args.json:
        print(json.dumps({"status": "registered", "did": receipt.did, "expires": receipt.expires}))
    else:
        print(f"registered {receipt.did} until {receipt.expires} (seconds since the epoch)")
    return 0


def _search(args: argparse.Namespace) -> int:
    query = " ".join(args.query)
    if args.all:
        listings = _run(
            lambda c: c.search_all(query, category=args.category, max_results=args.max_results),
            args,
        )
    else:
        listings = list(
            _run(lambda c: c.search(query, category=args.category, limit=args.limit), args).results
        )
    if args.json:
        print(json.dumps([_listing_json(listing) for listing in listings], indent=2))
    else:
        print(_table(listings))
    return 0


def _show(args: argparse.Namespace) -> int:
    listing = _run(lambda client: client.get(args.did), args)
    document = _listing_json(listing)
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        width = max(len(key) for key in document)
        for key, value in document.items():
            text = ", ".join(value) if isinstance(value, list) else str(value)
            print(f"{key.ljust(width)}  {text}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    identity = load_identity(args.identity or default_identity_path(), args.passphrase_file)
    _run(lambda client: client.delete(identity), args)
    print(f"deleted the listing of {identity.did}")
    return 0


def _client_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        default=os.environ.get(SERVER_VARIABLE, DEFAULT_SERVER),
        metavar="URL",
        help=f"the discovery server (default: ${SERVER_VARIABLE} or {DEFAULT_SERVER})",
    )
    parser.add_argument(
        "--cafile",
        metavar="PEM",
        help="trust this certificate (a server run with a self-signed development certificate)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default: 10)")


def register(subparsers: Any) -> None:
    """Add ``discovery`` and its subcommands to the ``didrtc`` command line."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = subparsers.add_parser(
        "discovery",
        help="run the discovery server, or register and search listings",
        description=DESCRIPTION,
        formatter_class=formatter,
    )
    commands = parser.add_subparsers(title="subcommands", metavar="SUBCOMMAND")
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)

    serve = commands.add_parser(
        "serve",
        help="run the discovery server (gunicorn)",
        formatter_class=formatter,
        description=textwrap.dedent(
            """\
            Run the discovery server under gunicorn, the way it runs in production.
            Migrates the database first. Stops cleanly on SIGTERM or Ctrl-C.

            The database is a SQLite file by default (WAL mode, full-text search
            with FTS5) and needs nothing else installed. Give a postgresql:// URL
            to share one database between several servers behind a load balancer.

              didrtc discovery serve --listen 127.0.0.1:8000 --db ./discovery.sqlite3
              didrtc discovery serve --db postgresql://didrtc@db.internal/discovery
              didrtc discovery serve --self-signed       # HTTPS for local testing
            """
        ),
    )
    serve.add_argument(
        "--listen", default="127.0.0.1:8000", metavar="HOST:PORT", help="(default: %(default)s)"
    )
    serve.add_argument(
        "--db",
        default=default_database(),
        metavar="URL",
        help="a SQLite file path or sqlite:///PATH, or postgresql://USER@HOST/DB "
        "(default: %(default)s)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="gunicorn worker processes (default: one per CPU, %(default)s here)",
    )
    serve.add_argument(
        "--threads", type=int, default=4, help="threads per worker (default: %(default)s)"
    )
    serve.add_argument(
        "--shared-socket",
        action="store_true",
        help="let all workers accept from one socket (gunicorn's default) instead of giving "
        "each its own SO_REUSEPORT socket, which the kernel balances",
    )
    serve.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve HTTPS with this cert")
    serve.add_argument("--tls-key", type=Path, metavar="PEM", help="... and this private key")
    serve.add_argument(
        "--self-signed",
        action="store_true",
        help="serve HTTPS with a new self-signed certificate for localhost (development only)",
    )
    serve.add_argument(
        "--audience",
        help="what deletions must name as 'aud' (default: the URL clients reach the server at)",
    )
    serve.add_argument(
        "--cors-origin", default="*", help="allowed browser origins (default: %(default)s)"
    )
    serve.add_argument(
        "--rate-limit",
        default="1200 per minute",
        help="per client address, every route (default: %(default)s)",
    )
    serve.add_argument(
        "--rate-limit-per-did",
        default="30 per minute",
        help="registrations and deletions per DID (default: %(default)s)",
    )
    serve.add_argument(
        "--rate-limit-storage",
        default="memory://",
        metavar="URI",
        help="where counts are kept; memory:// is per worker, redis://HOST shares them "
        "(default: %(default)s)",
    )
    serve.add_argument("--no-rate-limits", action="store_true", help="turn rate limiting off")
    serve.add_argument(
        "--trusted-proxies",
        type=int,
        default=0,
        metavar="N",
        help="reverse proxies in front whose X-Forwarded-For to trust (default: 0)",
    )
    serve.add_argument(
        "--log-format", choices=("json", "text"), default="json", help="(default: %(default)s)"
    )
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser(
        "migrate",
        help="bring the database schema up to date (serve does this itself)",
        description="Apply the discovery database migrations shipped with didrtc (Alembic).",
    )
    migrate.add_argument("--db", default=default_database(), metavar="URL")
    migrate.set_defaults(handler=_migrate)

    dev_cert = commands.add_parser(
        "dev-cert",
        help="write a self-signed TLS certificate for local testing",
        description="Write a self-signed certificate and its key (mode 0600), for "
        "`serve --tls-cert CERT --tls-key KEY` and clients' --cafile CERT. Development only.",
    )
    dev_cert.add_argument("cert", type=Path, help="where to write the certificate (PEM)")
    dev_cert.add_argument("key", type=Path, help="where to write the private key (PEM)")
    dev_cert.add_argument(
        "--host",
        action="append",
        default=None,
        help="a name or IP the certificate is for (repeat; default: localhost, 127.0.0.1, ::1)",
    )
    dev_cert.set_defaults(handler=_dev_cert)

    register_cmd = commands.add_parser(
        "register",
        help="sign and register (or replace) your listing",
        formatter_class=formatter,
        description=textwrap.dedent(
            """\
            Sign a listing with your identity and register it. Registering again
            replaces it. The listing expires after --lifetime (at most 72 h): an
            answerer re-registers periodically while it is up.

              didrtc discovery register --name "Seoul Kitchen" \\
                  --description "Bibimbap and banchan" --category restaurant \\
                  --category korean --bootstrap dht.example:4000 \\
                  --endpoint https://seoul.example/didrtc
            """
        ),
    )
    _client_arguments(register_cmd)
    add_identity_arguments(register_cmd)
    register_cmd.add_argument("--name", required=True, help="display name (1-100 characters)")
    register_cmd.add_argument("--description", default="", help="free text (≤ 1000 characters)")
    register_cmd.add_argument(
        "--category",
        action="append",
        required=True,
        help="a category such as restaurant (lowercase; repeat, up to 10)",
    )
    register_cmd.add_argument(
        "--bootstrap",
        action="append",
        required=True,
        metavar="HOST:PORT",
        help="a DHT bootstrap node offerers should use (repeat, up to 16)",
    )
    register_cmd.add_argument(
        "--endpoint", required=True, metavar="URI", help="your service endpoint"
    )
    register_cmd.add_argument(
        "--lifetime",
        type=int,
        default=24 * 3600,
        metavar="SECONDS",
        help="how long the listing stays (default: 86400; at most 259200)",
    )
    register_cmd.add_argument("--json", action="store_true", help="print the receipt as JSON")
    register_cmd.set_defaults(handler=_register)

    search = commands.add_parser(
        "search",
        help="search listings by text and category",
        formatter_class=formatter,
        description=textwrap.dedent(
            """\
            Search the directory. Every word must match the start of a word in a
            listing's name, description or categories; --category filters
            exactly. Each result's signature is checked before it is shown.

              didrtc discovery search restaurant
              didrtc discovery search bibim --category korean --json
            """
        ),
    )
    _client_arguments(search)
    search.add_argument("query", nargs="*", help="words to look for (none: newest listings)")
    search.add_argument("--category", help="only listings in this category")
    search.add_argument("--limit", type=int, default=20, help="results (1-100, default: 20)")
    search.add_argument("--all", action="store_true", help="follow every page")
    search.add_argument(
        "--max-results", type=int, default=1000, help="with --all, stop after this many"
    )
    search.add_argument("--json", action="store_true", help="print JSON instead of a table")
    search.set_defaults(handler=_search)

    show = commands.add_parser("show", help="show one DID's listing")
    _client_arguments(show)
    show.add_argument("did", help="the did:key")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)

    delete = commands.add_parser("delete", help="remove your listing")
    _client_arguments(delete)
    add_identity_arguments(delete)
    delete.set_defaults(handler=_delete)
