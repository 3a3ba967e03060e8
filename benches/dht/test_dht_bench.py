"""The DHT under pytest-benchmark: stock kademlia and didrtc side by side, in one run.

Small and quick (``make bench``); the 50/200/1,000-node comparison with churn
and memory is ``benches/dht/bench_dht.py``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kademlia.crawling import ValueSpiderCrawl
from kademlia.network import Server
from kademlia.node import Node
from kademlia.storage import ForgetfulStorage

import didrtc
from didrtc.dht import DhtNode
from didrtc.dht.storage import RecordStorage
from didrtc.records import build_record

Benchmark = Callable[..., Any]
CERT = bytes(range(32))
NODES = 50
IDENTITIES = [didrtc.Identity.generate() for _ in range(20)]
RECORDS = [
    (didrtc.dht_key(i.did), build_record(i, "https://127.0.0.1:8443/", CERT, seq=1).token)
    for i in IDENTITIES
]


@pytest.mark.benchmark(group="dht: one STORE of a new record into a node's storage")
@pytest.mark.parametrize("kind", ["stock", "didrtc"])
def test_store(benchmark: Benchmark, kind: str) -> None:
    key, token = RECORDS[0]

    def fresh() -> tuple[tuple[Any, ...], dict[str, Any]]:
        storage: Any = ForgetfulStorage() if kind == "stock" else RecordStorage()
        return (storage, key, token), {}

    def store(storage: Any, key: bytes, token: str) -> None:
        if kind == "stock":
            storage[key] = token
        else:
            assert storage.offer(key, token).accepted

    benchmark.pedantic(store, setup=fresh, rounds=2000, iterations=1)


class _Network:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.loop = asyncio.new_event_loop()
        self.nodes: list[Any] = []

    async def _start(self) -> None:
        rng = random.Random(5)
        for index in range(NODES):
            node_id = rng.getrandbits(160).to_bytes(20, "big")
            if self.kind == "stock":
                node: Any = Server(node_id=node_id)
                await node.listen(0, interface="127.0.0.1")
            else:
                node = DhtNode(node_id=node_id)
                await node.listen(0)
            if index:
                host, port = self.nodes[0].transport.get_extra_info("sockname")[:2]
                await node.bootstrap([(host, port)])
            self.nodes.append(node)
        for key, token in RECORDS:
            writer = self.nodes[rng.randrange(NODES)]
            if self.kind == "stock":
                await writer.set_digest(key, token)
            else:
                await writer.publish(token)

    async def _resolve(self, reader: Any, key: bytes) -> object:
        if self.kind == "stock":
            if reader.storage.get(key) is not None:
                return reader.storage.get(key)
            target = Node(key)
            nearest = reader.protocol.router.find_neighbors(target)
            return await ValueSpiderCrawl(reader.protocol, target, nearest, 20, 3).find()
        best = (await reader.resolve_key(key)).best
        return None if best is None else best.token

    def resolve_random(self, rng: random.Random) -> None:
        key, token = rng.choice(RECORDS)
        found = self.loop.run_until_complete(self._resolve(rng.choice(self.nodes), key))
        assert found == token

    def close(self) -> None:
        for node in self.nodes:
            node.stop()
        self.loop.run_until_complete(asyncio.sleep(0.05))
        self.loop.close()


@pytest.fixture(scope="module", params=["stock", "didrtc"])
def network(request: pytest.FixtureRequest) -> Iterator[_Network]:
    net = _Network(request.param)
    net.loop.run_until_complete(net._start())
    yield net
    net.close()


@pytest.mark.benchmark(group=f"dht: resolve on {NODES} nodes (loopback)")
def test_resolve(benchmark: Benchmark, network: _Network) -> None:
    rng = random.Random(9)
    benchmark.pedantic(network.resolve_random, args=(rng,), rounds=100, iterations=1)
