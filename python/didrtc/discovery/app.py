"""The discovery server's Flask app factory.

``create_app()`` reads its configuration from ``DIDRTC_DISCOVERY_*``
environment variables (``DIDRTC_DISCOVERY_DATABASE_URL=...``); tests and
embedders pass a mapping instead. Every resource the app uses (database
engine, rate limiter, metrics registry, purge thread) hangs off
``app.extensions["didrtc.discovery"]``, so two apps in one process share
nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, request
from flask.typing import ResponseReturnValue
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from didrtc.discovery import errors_http
from didrtc.discovery.metrics import Metrics
from didrtc.discovery.purge import Purger
from didrtc.discovery.ratelimit import create_limiter
from didrtc.discovery.search_cache import SearchCache
from didrtc.discovery.state import EXTENSION, DiscoveryState, state
from didrtc.discovery.store import Store, open_engine, upgrade
from didrtc.discovery.views import listings, search, service

__all__ = ["DEFAULTS", "create_app", "init_app"]

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("didrtc.discovery.access")

MAX_BODY_BYTES = 16 * 1024
"""Request bodies over 16 KiB are refused (413) before they are read."""

DEFAULTS: dict[str, Any] = {
    # A SQLite file in the app's instance folder unless a URL is given.
    "DISCOVERY_DATABASE_URL": None,
    # Apply the shipped migrations on start-up (under a lock; safe from many workers).
    "DISCOVERY_MIGRATE": True,
    # What a deletion's "aud" must be; None: this server's own origin, as requested.
    "DISCOVERY_AUDIENCE": None,
    "DISCOVERY_PURGE_INTERVAL": 60.0,
    "DISCOVERY_DB_POOL_SIZE": 5,
    # Per client address, on every route but /healthz, /metrics and /openapi.json.
    "DISCOVERY_RATE_LIMIT": "1200 per minute",
    # Per DID, on registrations and deletions (checked once the signature verified).
    "DISCOVERY_RATE_LIMIT_PER_DID": "30 per minute",
    # memory:// counts per process; give redis://... to share counts between workers.
    "DISCOVERY_RATE_LIMIT_STORAGE": "memory://",
    "DISCOVERY_CORS_ORIGINS": "*",
    # How many reverse proxies set X-Forwarded-For in front of the server (0: none).
    "DISCOVERY_TRUSTED_PROXIES": 0,
    "DISCOVERY_CLOCK": time.time,
    # Seconds a process may answer a repeated search from memory (0: never); see
    # search_cache.py for why this stays exact about expiry and local writes.
    "DISCOVERY_SEARCH_CACHE_SECONDS": 1.0,
    "DISCOVERY_SEARCH_CACHE_ENTRIES": 4096,
    "RATELIMIT_ENABLED": True,
    "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
}
"""Every configuration key with its default (see docs/discovery.md)."""


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The server; ``config`` overrides :data:`DEFAULTS`, ``None`` reads the environment."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    if config is None:
        app.config.from_prefixed_env("DIDRTC")
    else:
        app.config.from_mapping(config)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    proxies = int(app.config["DISCOVERY_TRUSTED_PROXIES"])
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )

    init_app(app)
    CORS(
        app,
        origins=app.config["DISCOVERY_CORS_ORIGINS"],
        # CORS headers go where CORS applies: on requests from browsers, which always
        # send Origin on cross-origin requests. Working them out for every other
        # client cost a fifth of a cached search; `Vary: Origin` (in _after_request)
        # tells caches that the answer depends on it.
        always_send=False,
        methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"],
        max_age=3600,
    )
    errors_http.register(app)
    app.register_blueprint(listings.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(service.bp)
    return app


def init_app(app: Flask) -> None:
    """Open the database (migrating it when configured) and attach the server's resources."""
    url = app.config["DISCOVERY_DATABASE_URL"]
    if not url:
        url = f"{app.instance_path}/discovery.sqlite3"
    engine = open_engine(str(url), pool_size=int(app.config["DISCOVERY_DB_POOL_SIZE"]))
    if app.config["DISCOVERY_MIGRATE"]:
        upgrade(engine)
    store = Store(engine, background_checkpoints=True)
    clock = app.config["DISCOVERY_CLOCK"]
    app.extensions[EXTENSION] = DiscoveryState(
        store=store,
        limiter=create_limiter(app),
        metrics=Metrics(),
        purger=Purger(store, float(app.config["DISCOVERY_PURGE_INTERVAL"]), clock),
        clock=clock,
        search_cache=SearchCache(
            float(app.config["DISCOVERY_SEARCH_CACHE_SECONDS"]),
            int(app.config["DISCOVERY_SEARCH_CACHE_ENTRIES"]),
        ),
    )
    app.before_request(_before_request)
    app.after_request(_after_request)
    app.cli.add_command(service.purge_command)


def _before_request() -> None:
    g.started = time.perf_counter()
    state().purger.ensure_running()


def _after_request(response: Any) -> ResponseReturnValue:
    # Runs on every response, so each request attribute is read once: every read of
    # `request` goes through a context-local proxy.
    environ = request.environ
    rule = request.url_rule
    route = rule.rule if rule is not None else "unmatched"
    method = environ["REQUEST_METHOD"]
    status = response.status_code
    response.vary.add("Origin")
    state().metrics.requests.labels(route, method, str(status)).inc()
    if access_logger.isEnabledFor(logging.INFO):
        started = g.get("started")
        access_logger.info(
            "%s %s %s",
            method,
            route,
            status,
            extra={
                "fields": {
                    "method": method,
                    "route": route,
                    "status": status,
                    # ProxyFix, when configured, has already put the client's address here.
                    "remote_addr": environ.get("REMOTE_ADDR"),
                    "pid": os.getpid(),  # which worker process answered
                    "duration_ms": None
                    if started is None
                    else round((time.perf_counter() - started) * 1000, 2),
                }
            },
        )
    return response  # type: ignore[no-any-return]
