"""Real in-process DHT networks on 127.0.0.1 for the tests: many nodes, one event loop.

Every socket binds 127.0.0.1 port 0, so concurrent test runs never collide.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kademlia.network import Server
from kademlia.node import Node

from didrtc.dht import DhtNode
from didrtc.identity import Identity
from didrtc.records import SignedRecord, build_record

CERT = bytes(range(32))
"""A stand-in TLS certificate fingerprint."""


def near(key: bytes, distance: int) -> bytes:
    """An id at XOR ``distance`` from ``key``."""
    return (int.from_bytes(key, "big") ^ distance).to_bytes(20, "big")


def random_id() -> bytes:
    return os.urandom(20)


def record(identity: Identity, seq: int, endpoint: str = "https://127.0.0.1:8443/") -> SignedRecord:
    return build_record(identity, endpoint, CERT, seq=seq)


class Network:
    """A list of running :class:`DhtNode`s that all joined through the first one."""

    def __init__(self) -> None:
        self.nodes: list[DhtNode] = []
        self.stopped: list[DhtNode] = []

    @property
    def bootstrap(self) -> tuple[str, int]:
        address = self.nodes[0].address
        assert address is not None
        return address

    async def add(self, node: DhtNode, *, join: bool = True, port: int = 0) -> DhtNode:
        await node.listen(port)
        if join and self.nodes:
            await node.bootstrap([self.bootstrap])
        self.nodes.append(node)
        return node

    async def grow(
        self,
        count: int,
        *,
        factory: Callable[[int], DhtNode] | None = None,
        batch: int = 10,
    ) -> None:
        """Add ``count`` nodes, joining ``batch`` at a time (all through the first node)."""
        make = factory or (lambda _: DhtNode(request_timeout=0.5))
        fresh = [make(i) for i in range(count)]
        start = 0
        if not self.nodes:
            await self.add(fresh[0], join=False)
            start = 1
        for offset in range(start, count, batch):
            chunk = fresh[offset : offset + batch]
            for node in chunk:
                await node.listen(0)
            await asyncio.gather(*(node.bootstrap([self.bootstrap]) for node in chunk))
            self.nodes.extend(chunk)

    def alive(self) -> list[DhtNode]:
        return [n for n in self.nodes if n not in self.stopped]

    async def stop(self, nodes: Sequence[DhtNode]) -> None:
        for node in nodes:
            await node.close()
            self.stopped.append(node)

    async def close(self) -> None:
        await asyncio.gather(*(n.close() for n in self.alive()))
        self.stopped.extend(self.alive())


async def start_stock(node_id: bytes | None = None, ksize: int = 20) -> Server:
    """An unmodified ``kademlia.network.Server`` on 127.0.0.1."""
    server = Server(ksize=ksize, node_id=node_id)
    await server.listen(0, interface="127.0.0.1")
    return server


def stock_address(server: Server) -> tuple[str, int]:
    host, port = server.transport.get_extra_info("sockname")[:2]
    return str(host), int(port)


def stock_node(server: Server) -> Any:
    host, port = stock_address(server)
    return Node(server.node.id, host, port)


class ErrorCollector(logging.Handler):
    """Records every ERROR from didrtc or asyncio: an honest node must log none."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("didrtc") and record.levelno >= logging.WARNING:
            message = record.getMessage()
            if "failed" in message or record.levelno >= logging.ERROR:
                self.records.append(record)


def collect_loop_errors(loop: asyncio.AbstractEventLoop) -> list[dict[str, Any]]:
    """Route the loop's unhandled exceptions into a list the test checks at the end."""
    errors: list[dict[str, Any]] = []

    def handler(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # Stock nodes (attackers, the stock side of comparisons) raise in rpcudp's
        # request tasks on input they do not expect; honest didrtc nodes never run
        # those code paths, so only errors from elsewhere count.
        if "rpcudp/protocol.py" in repr(context.get("future")):
            return
        errors.append(context)

    loop.set_exception_handler(handler)
    return errors


def data_dirs(root: Path, count: int) -> list[Path]:
    return [root / f"node{i}" for i in range(count)]
