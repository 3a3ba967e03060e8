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
bind the port beside it.

Readiness: every worker logs ``accepting connections on URL`` once its socket
listens (``post_worker_init``), in both modes; tests and benchmarks wait for
that line rather than for the master's.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

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


def bind_address(host: str, port: int, *, reuse_port: bool) -> str:
    """gunicorn's ``bind`` for ``host:port``; with ``reuse_port``, port 0 is reserved first."""
    if reuse_port and port == 0:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        holder = socket.socket(family, socket.SOCK_STREAM)
        try:
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            holder.bind((host, 0))
        except OSError:
            holder.close()
            raise
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
