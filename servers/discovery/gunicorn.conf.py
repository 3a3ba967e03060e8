"""gunicorn settings for the discovery server in production.

    gunicorn -c servers/discovery/gunicorn.conf.py --chdir servers/discovery wsgi:app

Each worker listens on a socket of its own (``SO_REUSEPORT``), which the
kernel balances; ``DIDRTC_DISCOVERY_REUSE_PORT=false`` shares one socket
instead (python/didrtc/discovery/listeners.py says why).

Workers: one process per CPU (``DIDRTC_DISCOVERY_WORKERS`` overrides), each with
4 threads (``DIDRTC_DISCOVERY_THREADS``). A request spends most of its time in
the database or in Ed25519 verification (which releases the GIL in the Rust
core), so a few threads per process keep the CPUs busy without the memory of
extra processes; the benchmarks in docs/benchmarks.md were measured
with exactly this configuration.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

# Every worker writes its metrics here and /metrics adds them up. This must be
# set before prometheus_client is first imported, so the imports below are lazy.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="didrtc-discovery-metrics-")
    _OWN_METRICS_DIR = True
else:
    _OWN_METRICS_DIR = False

# Imported only now: the metrics directory above must be set first.
from didrtc.discovery.listeners import (
    bind_address,
    log_worker_ready,
    reuse_port_supported,
)
from didrtc.discovery.server import parse_listen

reuse_port = reuse_port_supported() and os.environ.get(
    "DIDRTC_DISCOVERY_REUSE_PORT", "true"
).lower() not in {"0", "false", "no", "off"}
bind = [
    bind_address(
        *parse_listen(os.environ.get("DIDRTC_DISCOVERY_BIND", "127.0.0.1:8000")),
        reuse_port=reuse_port,
    )
]
post_worker_init = log_worker_ready
workers = int(os.environ.get("DIDRTC_DISCOVERY_WORKERS", str(os.cpu_count() or 1)))
worker_class = "gthread"
threads = int(os.environ.get("DIDRTC_DISCOVERY_THREADS", "4"))
keepalive = 5
timeout = 30
graceful_timeout = 10  # SIGTERM: stop accepting, finish in-flight requests, exit 0
limit_request_line = 4096
limit_request_fields = 50
limit_request_field_size = 8190
accesslog = None  # the app logs each request as a JSON line
errorlog = "-"
proc_name = "didrtc-discovery"
control_socket_disable = True
certfile = os.environ.get("DIDRTC_DISCOVERY_TLS_CERT") or None
keyfile = os.environ.get("DIDRTC_DISCOVERY_TLS_KEY") or None


def on_starting(server: Any) -> None:
    """In the master, before any worker: structured logs, then migrate the database once."""
    from didrtc.discovery.logs import configure_logging
    from didrtc.discovery.store import open_engine, upgrade

    configure_logging(os.environ.get("DIDRTC_DISCOVERY_LOG_FORMAT", "json"))
    url = os.environ.get("DIDRTC_DISCOVERY_DATABASE_URL")
    if url:
        engine = open_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        os.environ["DIDRTC_DISCOVERY_MIGRATE"] = "false"


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
