"""A whole didrtc network on 127.0.0.1, in one process: for ``didrtc demo``, tests and benches.

:class:`LocalDiscovery` runs the real discovery app (SQLite in a directory the
caller owns) on a free port in a background thread; :class:`LocalDht` runs a
bootstrap node and a few more real DHT nodes on free UDP ports in the event
loop. Both stop completely in ``close()``: no thread, socket or file outlives them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

__all__ = ["LocalDht", "LocalDiscovery"]

logger = logging.getLogger(__name__)


class LocalDiscovery:
    """The discovery server on ``http://127.0.0.1:<free port>``, SQLite under ``directory``."""

    def __init__(self, directory: Path, *, rate_limits: bool = True) -> None:
        self.directory = directory
        self.rate_limits = rate_limits
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._app: Any = None

    @property
    def url(self) -> str:
        """The server's base URL (once started)."""
        if self._server is None:
            raise RuntimeError("the discovery server is not running")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> str:
        """Create the database, start serving, and return the URL."""
        from werkzeug.serving import WSGIRequestHandler, make_server

        from didrtc.discovery.app import create_app

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                """The app logs its own access lines; werkzeug's would go to stderr."""

        self._app = create_app(
            {
                "DISCOVERY_DATABASE_URL": f"sqlite:///{self.directory / 'discovery.sqlite3'}",
                "DISCOVERY_PURGE_INTERVAL": 3600.0,
                "RATELIMIT_ENABLED": self.rate_limits,
            }
        )
        self._server = make_server(
            "127.0.0.1", 0, self._app, threaded=True, request_handler=QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how soon shutdown() is noticed
            name="didrtc-local-discovery",
            daemon=True,
        )
        self._thread.start()
        logger.info("discovery server on %s", self.url)
        return self.url

    def close(self) -> None:
        """Stop serving, join the thread, close the database. Idempotent."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._app is not None:
            from didrtc.discovery.state import EXTENSION

            self._app.extensions[EXTENSION].close()
        self._server = self._thread = self._app = None

    def __enter__(self) -> LocalDiscovery:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class LocalDht:
    """A bootstrap DHT node and ``size - 1`` more, all joined, on 127.0.0.1."""

    def __init__(self, size: int = 4) -> None:
        if size < 1:
            raise ValueError(f"a DHT needs at least one node, not {size!r}")
        self.size = size
        self.nodes: list[Any] = []

    @property
    def bootstrap(self) -> tuple[str, int]:
        """The bootstrap node's UDP address."""
        address = self.nodes[0].address if self.nodes else None
        if address is None:
            raise RuntimeError("the DHT is not running")
        return (str(address[0]), int(address[1]))

    async def start(self) -> tuple[str, int]:
        """Start the nodes; returns the bootstrap address."""
        from didrtc.dht.node import DhtNode

        try:
            for _ in range(self.size):
                node = DhtNode(request_timeout=1.0)
                self.nodes.append(node)
                await node.listen(0, "127.0.0.1")
            await asyncio.gather(*(node.bootstrap([self.bootstrap]) for node in self.nodes[1:]))
        except BaseException:
            await self.close()
            raise
        return self.bootstrap

    async def close(self) -> None:
        """Close every node. Idempotent."""
        nodes, self.nodes = self.nodes, []
        await asyncio.gather(*(node.close() for node in nodes), return_exceptions=True)

    async def __aenter__(self) -> LocalDht:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
