"""``didrtc discovery serve``: the app factory under gunicorn, as in production.

The migrations run once here, in the gunicorn master, before any worker is
forked; the workers build their app from ``DIDRTC_DISCOVERY_*`` environment
variables that this module sets. gunicorn handles SIGTERM (and SIGINT) by
closing the listening socket, letting in-flight requests finish within
``graceful_timeout``, and exiting 0. Each worker listens on a socket of its
own so that the kernel balances connections between them (see listeners.py).
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from didrtc.discovery.listeners import bind_address, log_worker_ready, reuse_port_supported
from didrtc.discovery.store import open_engine, upgrade
from didrtc.discovery.store.engine import ConfigurationError

__all__ = ["ServeOptions", "parse_listen", "serve"]

logger = logging.getLogger(__name__)


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8000`` for IPv6) to ``(host, port)``."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigurationError(f"--listen wants HOST:PORT, not {listen!r}")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class ServeOptions:
    """What ``serve`` was asked for."""

    listen: str
    database_url: str
    workers: int
    threads: int
    tls_cert: str | None = None
    tls_key: str | None = None
    graceful_timeout: int = 10
    reuse_port: bool = True
    """One ``SO_REUSEPORT`` socket per worker (where the kernel balances them, as Linux does)."""


class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(self, options: Mapping[str, Any]) -> None:
        self._options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from didrtc.discovery.app import create_app

        return create_app()


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def _share_metrics_between_workers() -> None:
    # prometheus_client picks its storage when first imported, so this runs before the
    # app (and with it prometheus_client) is imported in this process or any worker.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    directory = tempfile.mkdtemp(prefix="didrtc-discovery-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    if "prometheus_client" in sys.modules:  # imported already by another part of didrtc
        from prometheus_client import values

        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    pid = os.getpid()

    def remove() -> None:
        if os.getpid() == pid:  # the master, not a worker exiting
            shutil.rmtree(directory, ignore_errors=True)

    atexit.register(remove)


def serve(options: ServeOptions, environment: Mapping[str, str] | None = None) -> None:
    """Migrate the database, then run gunicorn until it is stopped (SIGTERM or SIGINT)."""
    host, port = parse_listen(options.listen)
    if (options.tls_cert is None) != (options.tls_key is None):
        raise ConfigurationError("--tls-cert and --tls-key go together")
    # The port first: a busy one fails before the database is touched.
    reuse_port = options.reuse_port and reuse_port_supported()
    bind = bind_address(host, port, reuse_port=reuse_port)
    engine = open_engine(options.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    _share_metrics_between_workers()
    os.environ["DIDRTC_DISCOVERY_DATABASE_URL"] = options.database_url
    os.environ["DIDRTC_DISCOVERY_MIGRATE"] = "false"  # done above, once
    os.environ.update(environment or {})
    settings: dict[str, Any] = {
        "bind": [bind],
        "workers": options.workers,
        "worker_class": "gthread",
        "threads": options.threads,
        "graceful_timeout": options.graceful_timeout,
        "timeout": 30,
        "keepalive": 5,
        "accesslog": None,  # the app writes structured access logs itself
        "errorlog": "-",
        "proc_name": "didrtc-discovery",
        # gunicorn's control socket defaults to one shared path in $HOME: two servers
        # on one machine would fight over it, and nothing here uses it.
        "control_socket_disable": True,
        "child_exit": _child_exit,
        "reuse_port": reuse_port,
        "post_worker_init": log_worker_ready,
        "limit_request_line": 4096,
        "limit_request_fields": 50,
        "limit_request_field_size": 8190,
    }
    if options.tls_cert is not None:
        settings["certfile"] = options.tls_cert
        settings["keyfile"] = options.tls_key
    logger.info(
        "serving on %s://%s with %d workers x %d threads",
        "https" if options.tls_cert else "http",
        bind,
        options.workers,
        options.threads,
    )
    _Gunicorn(settings).run()
