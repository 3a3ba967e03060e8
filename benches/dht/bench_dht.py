"""didrtc's DHT side by side with stock kademlia 2.2.3, on loopback, in one run.

For each network size the same node ids join the same way (all through one
bootstrap address, ten at a time) twice: once as stock ``kademlia.network.Server``
nodes, once as :class:`didrtc.dht.DhtNode`s. Each network then gets the same
workload: publish records, resolve them from random nodes (latency, requests
sent by the reader, success = the latest record came back), then — at the
churn size — stop the same 20% of nodes and resolve again. Memory per node is
measured with tracemalloc on separate networks.

    .venv/bin/python benches/dht/bench_dht.py                  # 50, 200, 1000 nodes
    .venv/bin/python benches/dht/bench_dht.py --sizes 50 --lookups 50 --quick

Prints a table and writes JSON (``--json FILE``). Every socket is on 127.0.0.1,
every port OS-assigned, and the run is bounded by the sizes and counts given.
Stock lookups run with its own 5 s request timeout, ours with 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from kademlia.crawling import ValueSpiderCrawl
from kademlia.network import Server
from kademlia.node import Node

import didrtc
from didrtc.dht import DhtNode
from didrtc.dht.routing import DidrtcRoutingTable
from didrtc.records import build_record

CERT = bytes(range(32))


@dataclass
class Measure:
    implementation: str
    nodes: int
    scenario: str
    lookups: int = 0
    successes: int = 0
    latencies: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        return {
            "implementation": self.implementation,
            "nodes": self.nodes,
            "scenario": self.scenario,
            "lookups": self.lookups,
            "success_rate": self.successes / self.lookups if self.lookups else None,
            "median_ms": 1000 * statistics.median(lat) if lat else None,
            "p95_ms": 1000 * lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else None,
            "requests_median": statistics.median(self.requests) if self.requests else None,
            "requests_mean": statistics.fmean(self.requests) if self.requests else None,
        }


class Counting:
    """Counts the requests a node's socket sends (rpcudp requests start with byte 0)."""

    def __init__(self, transport: Any) -> None:
        self.requests = 0
        original = transport.sendto

        def sendto(data: bytes, address: Any = None) -> None:
            if data[:1] == b"\x00":
                self.requests += 1
            original(data, address)

        transport.sendto = sendto


class Impl:
    name = ""

    def __init__(self) -> None:
        self.counters: dict[int, Counting] = {}

    async def make(self, node_id: bytes) -> Any:
        raise NotImplementedError

    async def join(self, node: Any, address: tuple[str, int]) -> None:
        await node.bootstrap([address])

    async def publish(self, node: Any, key: bytes, token: str) -> None:
        raise NotImplementedError

    async def resolve(self, node: Any, key: bytes) -> object:
        raise NotImplementedError

    async def stop(self, node: Any) -> None:
        raise NotImplementedError

    def address(self, node: Any) -> tuple[str, int]:
        host, port = node.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def count(self, node: Any) -> Counting:
        if id(node) not in self.counters:
            self.counters[id(node)] = Counting(node.transport)
        return self.counters[id(node)]


class Stock(Impl):
    name = "stock kademlia 2.2.3"

    async def make(self, node_id: bytes) -> Any:
        server = Server(node_id=node_id)
        await server.listen(0, interface="127.0.0.1")
        return server

    async def publish(self, node: Any, key: bytes, token: str) -> None:
        await node.set_digest(key, token)

    async def resolve(self, node: Any, key: bytes) -> object:
        # Server.get() without its SHA-1 of a str key: the same key didrtc uses.
        if node.storage.get(key) is not None:
            return node.storage.get(key)
        target = Node(key)
        nearest = node.protocol.router.find_neighbors(target)
        if not nearest:
            return None
        return await ValueSpiderCrawl(node.protocol, target, nearest, node.ksize, node.alpha).find()

    async def stop(self, node: Any) -> None:
        node.stop()


class Ours(Impl):
    name = "didrtc"

    async def make(self, node_id: bytes) -> Any:
        node = DhtNode(node_id=node_id)
        await node.listen(0)
        return node

    async def publish(self, node: Any, key: bytes, token: str) -> None:
        await node.publish(token)

    async def resolve(self, node: Any, key: bytes) -> object:
        best = (await node.resolve_key(key)).best
        return None if best is None else best.token

    async def stop(self, node: Any) -> None:
        await node.close()


async def build(impl: Impl, ids: list[bytes], batch: int = 10) -> list[Any]:
    nodes = [await impl.make(ids[0])]
    bootstrap = impl.address(nodes[0])
    for start in range(1, len(ids), batch):
        chunk = [await impl.make(node_id) for node_id in ids[start : start + batch]]
        await asyncio.gather(*(impl.join(n, bootstrap) for n in chunk))
        nodes.extend(chunk)
    return nodes


async def timed(coroutine: Awaitable[object]) -> tuple[float, object, BaseException | None]:
    started = time.perf_counter()
    try:
        value = await coroutine
    except Exception as error:  # a stock lookup can raise; that is a failed lookup
        return time.perf_counter() - started, None, error
    return time.perf_counter() - started, value, None


async def lookups(
    impl: Impl,
    nodes: list[Any],
    records: list[tuple[bytes, str]],
    count: int,
    rng: random.Random,
    measure: Measure,
    concurrency: int,
) -> None:
    plan = [(rng.choice(nodes), rng.choice(records)) for _ in range(count)]

    async def one(reader: Any, key: bytes, token: str) -> None:
        counter = impl.count(reader)
        before = counter.requests
        elapsed, value, _error = await timed(impl.resolve(reader, key))
        measure.lookups += 1
        measure.successes += value == token
        measure.latencies.append(elapsed)
        measure.requests.append(counter.requests - before)

    for start in range(0, len(plan), concurrency):
        await asyncio.gather(*(one(r, k, t) for r, (k, t) in plan[start : start + concurrency]))


async def run_size(
    size: int, args: argparse.Namespace, results: list[dict[str, Any]], churn: bool
) -> None:
    rng = random.Random(size)
    ids = [rng.getrandbits(160).to_bytes(20, "big") for _ in range(size)]
    identities = [didrtc.Identity.generate() for _ in range(args.records)]
    records = [
        (didrtc.dht_key(i.did), build_record(i, "https://127.0.0.1:8443/", CERT, seq=1).token)
        for i in identities
    ]
    victims = set(rng.sample(range(1, size), size // 5))
    for impl in (Stock(), Ours()):
        gc.collect()
        started = time.perf_counter()
        nodes = await build(impl, ids)
        join_seconds = time.perf_counter() - started
        for node in nodes:
            impl.count(node)
        pub = Measure(impl.name, size, "publish")
        for key, token in records:
            writer = rng.choice(nodes)
            elapsed, _, error = await timed(impl.publish(writer, key, token))
            pub.lookups += 1
            pub.successes += error is None
            pub.latencies.append(elapsed)
        healthy = Measure(impl.name, size, "resolve")
        await lookups(impl, nodes, records, args.lookups, random.Random(1), healthy, 1)
        row = [pub.summary(), healthy.summary()]
        if churn:
            for index in sorted(victims):
                await impl.stop(nodes[index])
            alive = [n for i, n in enumerate(nodes) if i not in victims]
            stopped = Measure(impl.name, size, "resolve, 20% stopped")
            await lookups(impl, alive, records, args.churn_lookups, random.Random(2), stopped, 10)
            row.append(stopped.summary())
        for summary in row:
            summary["join_seconds"] = join_seconds
            results.append(summary)
            print_row(summary)
        for index, node in enumerate(nodes):
            if not churn or index not in victims:
                await impl.stop(node)
        await asyncio.sleep(0.1)


async def memory_per_node(size: int, impl: Impl, records: int) -> dict[str, Any]:
    """tracemalloc growth per node: joined and idle, then holding ``records`` records each."""
    rng = random.Random(7)
    ids = [rng.getrandbits(160).to_bytes(20, "big") for _ in range(size)]
    held = []
    for _ in range(records):
        identity = didrtc.Identity.generate()
        token = build_record(identity, "https://127.0.0.1:8443/", CERT, seq=1).token
        held.append((didrtc.dht_key(identity.did), token))
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    nodes = await build(impl, ids)
    await asyncio.sleep(0.2)
    gc.collect()
    idle = tracemalloc.get_traced_memory()[0]
    for node in nodes:
        for key, token in held:
            value = token.encode().decode()  # a private copy per node, as if received
            if isinstance(node, DhtNode):
                assert node.storage.offer(key, value).accepted
            else:
                node.storage[key] = value
    gc.collect()
    loaded = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    for node in nodes:
        await impl.stop(node)
    return {
        "implementation": impl.name,
        "nodes": size,
        "idle_bytes_per_node": (idle - base) / size,
        "records": records,
        "record_bytes": len(held[0][1]),
        "loaded_bytes_per_node": (loaded - base) / size,
    }


def print_row(summary: dict[str, Any]) -> None:
    def fmt(value: Any, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    print(
        f"{summary['implementation']:<22} {summary['nodes']:>5} {summary['scenario']:<22} "
        f"n={summary['lookups']:<4} ok={fmt(summary['success_rate'], '.1%'):>7} "
        f"median={fmt(summary['median_ms'], '8.1f')} ms p95={fmt(summary['p95_ms'], '8.1f')} ms "
        f"req={fmt(summary['requests_median'], '5.1f')}",
        flush=True,
    )


async def main(args: argparse.Namespace) -> dict[str, Any]:
    DidrtcRoutingTable.relaxed_splits = args.relaxed_splits
    results: list[dict[str, Any]] = []
    for size in args.sizes:
        await run_size(size, args, results, churn=size == args.churn_size)
    memory = []
    if not args.quick:
        for impl in (Stock(), Ours()):
            row = await memory_per_node(args.memory_nodes, impl, 100)
            print(row, flush=True)
            memory.append(row)
    return {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "crypto_backend": didrtc.BACKEND,
        },
        "arguments": vars(args),
        "results": results,
        "memory": memory,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--records", type=int, default=50, help="records published per network")
    parser.add_argument("--lookups", type=int, default=200, help="resolves per healthy network")
    parser.add_argument("--churn-size", type=int, default=200, help="size that gets 20%% stopped")
    parser.add_argument("--churn-lookups", type=int, default=200)
    parser.add_argument("--memory-nodes", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="skip the memory measurement")
    parser.add_argument(
        "--relaxed-splits",
        action="store_true",
        help="didrtc nodes split far buckets as stock does (DidrtcRoutingTable.relaxed_splits)",
    )
    parser.add_argument("--json", default=None, metavar="FILE", help="also write results here")
    return parser.parse_args(argv)


if __name__ == "__main__":
    # Stock kademlia and rpcudp log every timeout; the table is the output here.
    for name in ("kademlia", "rpcudp", "didrtc"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    arguments = parse_args()
    report = asyncio.run(main(arguments))
    if arguments.json:
        with open(arguments.json, "w", encoding="utf-8") as file:
            json.dump(report, file, indent=2)
    print(json.dumps({"machine": report["machine"], "memory": report["memory"]}, indent=2))
