"""Hostile nodes on a real network: forgeries, rollbacks, garbage, and Sybils next to a key."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest
import umsgpack
from kademlia.crawling import ValueSpiderCrawl
from kademlia.network import Server
from kademlia.node import Node
from kademlia.protocol import KademliaProtocol

import didrtc
from didrtc.dht import DhtNode, publish, resolve
from didrtc.jws import sign as jws_sign
from didrtc.records import RECORD_TYP
from tests.dht.network import (
    CERT,
    Network,
    near,
    record,
    start_stock,
    stock_address,
    stock_node,
)

pytestmark = pytest.mark.asyncio


SIGNED_BY_ALICE = frozenset({"rolled back", "same seq, other content"})


def _hostile_values(alice: didrtc.Identity, latest_seq: int) -> dict[str, object]:
    """Every kind of bad value the issue lists, each one 'newer' than the latest record."""
    mallory = didrtc.Identity.generate()
    now = int(time.time())
    newer = latest_seq + 100
    claims = record(alice, newer).record.claims()
    forged = jws_sign(mallory, claims, typ=RECORD_TYP)
    header, _, signature = record(alice, newer).token.split(".")
    other_payload = record(alice, newer + 1).token.split(".")[1]
    expired_claims = dict(claims, iat=now - 7200, exp=now - 60)
    future_claims = dict(claims, iat=now + 7200, exp=now + 9000)
    oversized_claims = dict(claims)
    oversized_claims["service"] = dict(
        claims["service"], serviceEndpoint="https://a.example/" + "p" * 900
    )
    latest = record(alice, latest_seq).token
    return {
        "forged": forged,
        "tampered": f"{header}.{other_payload}.{signature}",
        "expired": jws_sign(alice, expired_claims, typ=RECORD_TYP),
        "not yet valid": jws_sign(alice, future_claims, typ=RECORD_TYP),
        "rolled back": record(alice, latest_seq - 1).token,
        "same seq, other content": record(
            alice, latest_seq, endpoint="https://mallory.example/"
        ).token,
        "oversized": jws_sign(alice, oversized_claims, typ=RECORD_TYP),
        "another DID's record": record(mallory, newer).token,
        "list": [latest, "x"],
        "dict": {"value": latest},
        "bytes": latest.encode(),
        "int": 7,
        "not a JWS": "x" * 999,
    }


async def test_a_stock_node_storing_hostile_values_never_gets_one_resolved(
    network: Network,
) -> None:
    await network.grow(24)
    alice = didrtc.Identity.generate()
    key = didrtc.dht_key(alice.did)
    await publish(alice, "https://127.0.0.1:8443/", CERT, seq=50, node=network.nodes[3])
    holders = [n for n in network.nodes if n.storage.record(key) is not None]
    assert len(holders) >= 20
    attacker = await start_stock()
    try:
        await attacker.bootstrap([network.bootstrap])
        for name, value in _hostile_values(alice, 50).items():
            # The unmodified library's own STORE, sent to every honest node...
            replies = await asyncio.gather(
                *(
                    attacker.protocol.call_store(Node(n.node_id, *n.address), key, value)
                    for n in network.nodes
                )
            )
            assert all(ok for ok, _ in replies), f"{name}: an honest node did not answer"
            for node, (_, answer) in zip(network.nodes, replies, strict=True):
                # Alice's own older or equivocating record is refused by the nodes
                # holding seq 50; a node that held nothing may keep it, and readers
                # must still find seq 50.
                if name not in SIGNED_BY_ALICE or node in holders:
                    assert answer is not True, f"{name} was accepted"
            # ...and served by the attacker itself, which every lookup asks.
            attacker.storage[key] = value
            for reader in network.nodes[::6]:
                resolved = await resolve(alice.did, node=reader)
                assert resolved.record.seq == 50, name
        # A short-lived client, told of the attacker first, resolves the latest too.
        outside = await resolve(
            alice.did, bootstrap=[stock_address(attacker), network.nodes[-1].address]
        )
        assert outside.record.seq == 50
        for node in holders:
            assert node.storage.record(key).seq == 50  # type: ignore[union-attr]
    finally:
        attacker.stop()


async def test_garbage_datagrams_never_make_an_honest_node_raise(network: Network) -> None:
    await network.grow(6)
    loop = asyncio.get_running_loop()
    raw, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    msg = os.urandom(20)
    bodies = [
        b"",
        b"\x00",
        b"\x00" + msg,
        b"\x00" + msg + b"\xc1",  # msgpack's never-used byte
        b"\x00" + msg + b"\xdd\xff\xff\xff\xff",  # an array claiming 4 billion items
        b"\x00" + msg + umsgpack.packb("not a list"),
        b"\x00" + msg + umsgpack.packb(["store"]),
        b"\x00" + msg + umsgpack.packb(["store", [1]]),
        b"\x00" + msg + umsgpack.packb(["store", [b"x" * 20, b"k" * 20, "v", "extra"]]),
        b"\x00" + msg + umsgpack.packb(["find_node", [b"short", b"k" * 20]]),
        b"\x00" + msg + umsgpack.packb(["find_value", [b"x" * 20, 12]]),
        b"\x00" + msg + umsgpack.packb(["ping", [None]]),
        b"\x00" + msg + umsgpack.packb(["__init__", []]),
        b"\x00" + msg + umsgpack.packb(["welcome_if_new", [[1, 2, 3]]]),
        b"\x01" + msg + umsgpack.packb([True]),  # an unsolicited reply
        b"\x02" + msg + b"junk",
        b"\x00" + msg + b"\x91" * 30_000,  # deep nesting, over the size limit
        os.urandom(1400),
    ]
    for node in network.nodes:
        for body in bodies:
            raw.sendto(body, node.address)
    await asyncio.sleep(0.3)
    raw.close()
    alice = didrtc.Identity.generate()
    result = await publish(alice, "https://127.0.0.1:8443/", CERT, node=network.nodes[1])
    assert result.holders


class _Withholder(KademliaProtocol):
    """A Sybil that claims to store everything and never serves a value."""

    def rpc_store(self, sender: Any, nodeid: bytes, key: bytes, value: object) -> bool:
        self.welcome_if_new(Node(nodeid, sender[0], sender[1]))
        return True

    def rpc_find_value(self, sender: Any, nodeid: bytes, key: bytes) -> Any:
        return self.rpc_find_node(sender, nodeid, key)


class _StaleServer(_Withholder):
    """A Sybil that serves an old, correctly signed record and ignores newer ones."""

    stale: str = ""

    def rpc_find_value(self, sender: Any, nodeid: bytes, key: bytes) -> Any:
        self.welcome_if_new(Node(nodeid, sender[0], sender[1]))
        return {"value": self.stale}


async def _sybil(protocol: type[KademliaProtocol], node_id: bytes) -> Server:
    class SybilServer(Server):  # type: ignore[misc]
        protocol_class = protocol

    server = SybilServer(node_id=node_id)
    await server.listen(0, interface="127.0.0.1")
    return server


@pytest.mark.parametrize("reader", ["didrtc", "stock"])
async def test_sybils_next_to_a_key_cannot_hide_the_latest_record(
    network: Network, reader: str
) -> None:
    alice = didrtc.Identity.generate()
    key = didrtc.dht_key(alice.did)
    await network.grow(30)
    old = record(alice, 1)
    await publish(alice, "https://127.0.0.1:1/", CERT, seq=1, node=network.nodes[2])
    _StaleServer.stale = old.token
    sybils = [await _sybil(_StaleServer, near(key, d)) for d in (1, 2, 3)]
    sybils += [await _sybil(_Withholder, near(key, d)) for d in (4, 5, 6)]
    try:
        for sybil in sybils:
            await sybil.bootstrap([network.bootstrap])
        for node in network.nodes:  # every honest node now knows the Sybils
            await node.bootstrap([stock_address(s) for s in sybils], refresh=False)
        latest = await publish(alice, "https://127.0.0.1:2/", CERT, seq=2, node=network.nodes[5])
        assert latest.holders
        if reader == "didrtc":
            for node in network.nodes:
                resolved = await resolve(alice.did, node=node)
                assert resolved.record.seq == 2
                assert resolved.endpoint == "https://127.0.0.1:2/"
        else:
            # The stock crawler returns the majority of the first answers: the Sybils'.
            server = await start_stock()
            try:
                await server.bootstrap([network.bootstrap, *(stock_address(s) for s in sybils)])
                # The reader knows the Sybils, as any node near the key soon does.
                nearest = [stock_node(s) for s in sybils]
                nearest += server.protocol.router.find_neighbors(Node(key))
                found = await ValueSpiderCrawl(server.protocol, Node(key), nearest, 20, 3).find()
            finally:
                server.stop()
            assert found == old.token, "stock would return the latest here; update this test"
    finally:
        for sybil in sybils:
            sybil.stop()


async def test_nodes_serve_only_records_they_validated(network: Network) -> None:
    """A refused STORE answers with its reason, which the writer counts as a refusal."""
    await network.grow(5)
    alice = didrtc.Identity.generate()
    key = didrtc.dht_key(alice.did)
    node = network.nodes[1]
    peer = Node(network.nodes[2].node_id, *network.nodes[2].address)
    assert await node._proto().ask_store(peer, key, record(alice, 5).token) == (True, "stored")
    assert await node._proto().ask_store(peer, key, record(alice, 4).token) == (False, "stale-seq")
    assert await node._proto().ask_store(peer, key, "junk") == (False, "malformed")
    assert isinstance(DhtNode, type)
