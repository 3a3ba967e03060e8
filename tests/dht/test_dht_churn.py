"""Churn, restarts, the republish/expiry schedule, failure reporting and metrics."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from kademlia.node import Node

import didrtc
from didrtc.dht import (
    DhtNode,
    DidNotFound,
    NetworkUnreachable,
    ResolvedRecordExpired,
    ResolvedRecordInvalid,
    publish,
    resolve,
)
from didrtc.dht.metrics import DhtMetrics
from didrtc.jws import sign as jws_sign
from didrtc.records import RECORD_TYP, build_record
from tests.dht.network import CERT, Network, record, start_stock, stock_address

pytestmark = pytest.mark.asyncio


async def test_resolve_succeeds_with_20_percent_of_nodes_stopped(network: Network) -> None:
    await network.grow(50)
    identities = [didrtc.Identity.generate() for _ in range(5)]
    for index, identity in enumerate(identities):
        await publish(
            identity, f"https://127.0.0.1:{9000 + index}/", CERT, node=network.nodes[index]
        )
    rng = random.Random(3)
    # Stop 10 of 50, among them the three nodes closest to the first DID's key.
    key = didrtc.dht_key(identities[0].did)
    by_distance = sorted(
        network.nodes[1:],
        key=lambda n: int.from_bytes(n.node_id, "big") ^ int.from_bytes(key, "big"),
    )
    victims = by_distance[:3] + rng.sample(by_distance[3:], 7)
    await network.stop(victims)
    readers = network.alive()

    async def resolve_all(reader: DhtNode) -> list[int]:
        return [(await resolve(i.did, node=reader)).record.seq for i in identities]

    results = await asyncio.gather(*(resolve_all(reader) for reader in readers))
    expected = [(await resolve(i.did, node=readers[0])).record.seq for i in identities]
    assert all(result == expected for result in results)
    assert len(results) == 40
    # And from a short-lived client that knows one live node only.
    resolved = await resolve(identities[0].did, bootstrap=[readers[-1].address])
    assert resolved.endpoint == "https://127.0.0.1:9000/"


async def test_records_survive_a_restart_of_every_node(tmp_path: Path, honest: None) -> None:
    network = Network()
    dirs = [tmp_path / f"node{i}" for i in range(12)]
    await network.grow(12, factory=lambda i: DhtNode(data_dir=dirs[i], request_timeout=0.5))
    alice = didrtc.Identity.generate()
    await publish(alice, "https://127.0.0.1:7000/", CERT, seq=7, node=network.nodes[4])
    before = [(n.node_id, n.address) for n in network.nodes]
    await network.close()

    restarted = Network()
    try:
        for (node_id, address), directory in zip(before, dirs, strict=True):
            node = DhtNode(data_dir=directory, request_timeout=0.5)
            assert node.node_id == node_id
            assert address is not None
            await node.listen(address[1])
            restarted.nodes.append(node)
        # Rejoin through the contacts each node saved; no bootstrap address given.
        joined = await asyncio.gather(*(n.bootstrap([]) for n in restarted.nodes))
        assert all(joined)
        for node in restarted.nodes:
            resolved = await resolve(alice.did, node=node)
            assert resolved.record.seq == 7
    finally:
        await restarted.close()


async def test_a_record_expires_everywhere_at_its_exp(network: Network) -> None:
    await network.grow(8)
    alice = didrtc.Identity.generate()
    await publish(alice, "https://127.0.0.1:1/", CERT, lifetime=2, node=network.nodes[1])
    assert (await resolve(alice.did, node=network.nodes[2])).record.seq > 0
    deadline = time.time() + 10
    while any(n.storage.record(didrtc.dht_key(alice.did)) for n in network.nodes):
        assert time.time() < deadline, "a node still serves an expired record"
        await asyncio.sleep(0.2)
    with pytest.raises(DidNotFound):
        await resolve(alice.did, node=network.nodes[3])


async def test_held_records_are_republished_to_the_closest_nodes(network: Network) -> None:
    await network.grow(10)
    alice = didrtc.Identity.generate()
    key = didrtc.dht_key(alice.did)
    keeper = DhtNode(request_timeout=0.5, republish_interval=0.4)
    await network.add(keeper)
    token = record(alice, 3).token
    assert keeper.storage.offer(key, token).accepted  # only the keeper holds it
    deadline = time.time() + 15
    while sum(n.storage.get(key) == token for n in network.nodes) < 6:
        assert time.time() < deadline, "the record was not republished"
        await asyncio.sleep(0.1)


async def test_resolve_names_each_failure(network: Network) -> None:
    await network.grow(6)
    with pytest.raises(DidNotFound):
        await resolve(didrtc.Identity.generate().did, node=network.nodes[1])
    with pytest.raises(didrtc.InvalidDid):
        await resolve("did:web:example.com", node=network.nodes[1])

    # Records only a hostile stock node serves: an expired one, then a forged one.
    alice = didrtc.Identity.generate()
    key = didrtc.dht_key(alice.did)
    attacker = await start_stock()
    try:
        await attacker.bootstrap([network.bootstrap])
        now = int(time.time())
        claims = record(alice, 5).record.claims()
        attacker.storage[key] = jws_sign(
            alice, dict(claims, iat=now - 100, exp=now - 10), typ=RECORD_TYP
        )
        reader = network.nodes[2]
        await reader.bootstrap([stock_address(attacker)], refresh=False)
        with pytest.raises(ResolvedRecordExpired):
            await resolve(alice.did, node=reader)
        attacker.storage[key] = jws_sign(didrtc.Identity.generate(), claims, typ=RECORD_TYP)
        with pytest.raises(ResolvedRecordInvalid, match="wrong-key"):
            await resolve(alice.did, node=reader)
    finally:
        attacker.stop()


async def test_an_unreachable_network_is_reported_as_such(honest: None) -> None:
    loop = asyncio.get_running_loop()
    silent, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    address = silent.get_extra_info("sockname")[:2]
    try:
        with pytest.raises(NetworkUnreachable, match="no bootstrap contact answered"):
            await resolve(didrtc.Identity.generate().did, bootstrap=[address], request_timeout=0.2)
        with pytest.raises(NetworkUnreachable, match="no bootstrap contact given"):
            await resolve(didrtc.Identity.generate().did, bootstrap=[])
    finally:
        silent.close()


async def test_publish_reports_the_holders_among_the_closest(network: Network) -> None:
    await network.grow(30)
    alice = didrtc.Identity.generate()
    result = await publish(alice, "https://127.0.0.1:1/", CERT, bootstrap=[network.bootstrap])
    assert result.closest == 20
    assert len(result.holders) == 20
    assert result.refusals == {}
    assert build_record(alice, "https://127.0.0.1:1/", CERT).did == alice.did


async def test_each_node_counts_stores_and_lookups_in_its_own_registry(
    network: Network,
) -> None:
    metrics = [DhtMetrics() for _ in range(4)]
    await network.grow(4, factory=lambda i: DhtNode(metrics=metrics[i], request_timeout=0.5))
    alice = didrtc.Identity.generate()
    await publish(alice, "https://127.0.0.1:1/", CERT, seq=9, node=network.nodes[0])
    key = didrtc.dht_key(alice.did)
    stale = record(alice, 8).token
    target = network.nodes[1]
    await network.nodes[0]._proto().ask_store(Node(target.node_id, *target.address), key, stale)
    await resolve(alice.did, node=network.nodes[2])
    text = metrics[1].render().decode()
    assert 'didrtc_dht_stores_total{reason="stale-seq",result="refused"} 1.0' in text
    assert 'didrtc_dht_stores_total{reason="stored",result="accepted"} 1.0' in text
    assert "didrtc_dht_records_held 1.0" in text
    reader_text = metrics[2].render().decode()
    assert 'didrtc_dht_lookups_total{kind="value",outcome="found"} 1.0' in reader_text
    assert "didrtc_dht_lookup_seconds_count" in reader_text
    assert metrics[0].registry is not metrics[1].registry


async def test_short_lived_clients_stay_out_of_routing_tables(network: Network) -> None:
    """A client that resolves once and leaves must not linger as a dead contact everywhere."""
    await network.grow(10)
    alice = didrtc.Identity.generate()
    await publish(alice, "https://127.0.0.1:1/", CERT, bootstrap=[network.bootstrap])
    for node in network.nodes[::3]:
        await resolve(alice.did, bootstrap=[node.address])
    members = {node.address for node in network.nodes}
    for node in network.nodes:
        assert {(c.ip, c.port) for c in node._proto().router.contacts()} <= members
