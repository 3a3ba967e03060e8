"""How the discovery server's gunicorn workers share its port: one ``SO_REUSEPORT`` socket each.

gunicorn's default is one listening socket that every worker accepts from:
whichever worker wakes first takes the connection, busy or not, and keep-alive
clients stay with the worker that accepted them. Under load one worker can
hold nearly every connection while the other idles (gunicorn issues #2817 and
#3433); on two CPUs that halved the search throughput in some benchmark runs.
With ``reuse_port`` each worker listens on a socket of its own and the kernel
spreads new connections evenly across them by a hash of their addresses.

Port 0 ("any free port") would then give each worker a different port, so the
master first reserves one: a bound socket that never listens, holding the port
for as long as the master lives. A socket that does not listen receives no
connections, and only sockets of the same user with ``SO_REUSEPORT`` set may
bind the port beside it. The master also refuses a port that something already
listens on: otherwise a second server started on a busy port would join the
first one's sockets and take half its traffic, instead of failing.

Readiness: every worker logs ``accepting connections on URL`` once its socket
listens (``post_worker_init``), in both modes; tests and benchmarks wait for
that line rather than for the master's.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

from didrtc.discovery.store.engine import ConfigurationError

__all__ = [
    "READY_MESSAGE",
    "bind_address",
    "log_worker_ready",
    "release_reserved_ports",
    "reuse_port_supported",
]

logger = logging.getLogger(__name__)

READY_MESSAGE = "accepting connections on %s"
"""What a worker logs once it listens; formatted with ``scheme://host:port``."""

# The reserved sockets live as long as the process that made them (the master).
_reserved: list[socket.socket] = []


def reuse_port_supported() -> bool:
    """Whether the kernel balances ``SO_REUSEPORT`` listeners (Linux does; macOS does not)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _ensure_free(family: socket.AddressFamily, host: str, port: int) -> None:
    # SO_REUSEADDR as gunicorn sets it: connections of a previous run in TIME_WAIT do
    # not count, a socket listening on the port (SO_REUSEPORT or not) does.
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ConfigurationError(
                f"cannot listen on {host}:{port}: {error.strerror or error} "
                "(is another server running there?)"
            ) from None


def bind_address(host: str, port: int, *, reuse_port: bool) -> str:
    """gunicorn's ``bind`` for ``host:port``; with ``reuse_port``, the port is checked and held.

    Raises ``ConfigurationError`` when something already listens on the port.
    """
    if reuse_port:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        if port != 0:
            _ensure_free(family, host, port)
        holder = socket.socket(family, socket.SOCK_STREAM)
        try:
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            holder.bind((host, port))
        except OSError as error:
            holder.close()
            raise ConfigurationError(
                f"cannot listen on {host}:{port}: {error.strerror or error}"
            ) from None
        _reserved.append(holder)
        port = int(holder.getsockname()[1])
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def release_reserved_ports() -> None:
    """Close the sockets holding reserved ports (a master's exit does it too)."""
    while _reserved:
        _reserved.pop().close()


def log_worker_ready(worker: Any) -> None:
    """gunicorn's ``post_worker_init`` hook: say where this worker now accepts connections."""
    for listener in worker.sockets:
        logger.info(READY_MESSAGE, listener)
