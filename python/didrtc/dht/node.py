"""A didrtc DHT node: kademlia's ``Server`` with validating storage, safe state and a schedule.

:class:`DhtNode` subclasses ``kademlia.network.Server`` and changes what makes
the stock server unfit to hold DID Documents:

- it listens on ``127.0.0.1`` unless told otherwise, and its protocol is
  :class:`~didrtc.dht.protocol.DidrtcProtocol` (validated STOREs, short timeouts,
  dead-contact eviction);
- :meth:`bootstrap` pings several contacts at once, looks itself up and then
  refreshes *every* bucket, so the routing table covers the whole id space
  (stock only refreshes buckets untouched for an hour, so a new node knows only
  its own neighbourhood and writes can land in the wrong region);
- :meth:`publish` counts the k closest nodes that really accepted the record,
  and :meth:`resolve_key` returns the newest valid record, never the majority;
- state (node id, contacts) and the held records persist as JSON in
  ``data_dir`` — stock ``save_state`` keeps no records and ``load_state``
  unpickles a file, which runs code from whoever can write it;
- records are republished every ``republish_interval`` and expire at their
  ``exp``; buckets are refreshed every ``refresh_interval``; state is saved every
  ``save_interval``; metrics live in a registry of the node's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from kademlia.network import Server  # type: ignore[import-untyped]
from kademlia.node import Node  # type: ignore[import-untyped]

from didrtc._backend import backend
from didrtc.dht.crawling import DEFAULT_MAX_REQUESTS, NodeCrawler, ValueCrawler, ValueLookup
from didrtc.dht.metrics import DhtMetrics
from didrtc.dht.protocol import DEFAULT_REQUEST_TIMEOUT, DidrtcProtocol, is_ip_literal
from didrtc.dht.storage import KEY_BYTES, RecordStorage, write_atomically
from didrtc.records import InvalidRecord, SignedRecord, parse_record

__all__ = ["DhtNode", "PublishResult", "parse_address"]

logger = logging.getLogger(__name__)

STATE_FILE: Final = "state.json"
RECORDS_FILE: Final = "records.json"
STATE_FORMAT: Final = "didrtc-dht-state/v1"
MAX_STATE_BYTES: Final = 1 << 20
"""A state file longer than this is ignored (a routing table is a few tens of KB)."""
MAX_SAVED_CONTACTS: Final = 500
MAX_REFRESH_LEVELS: Final = 24
"""Prefix levels a refresh walks at most (2**24 nodes would be needed to fill them all)."""


def parse_address(text: str) -> tuple[str, int]:
    """``"127.0.0.1:8468"`` (or ``"[::1]:8468"``) as ``(host, port)``; raises ``ValueError``."""
    host, sep, port_text = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"expected HOST:PORT with an IP address, not {text!r}")
    if not is_ip_literal(host):
        raise ValueError(f"the host must be an IP address (kademlia does no DNS): {text!r}")
    return host, int(port_text)


@dataclass(frozen=True)
class PublishResult:
    """How a publish went."""

    record: SignedRecord
    """The record published."""
    holders: tuple[tuple[str, int], ...]
    """Addresses of the nodes among the k closest that accepted it."""
    closest: int
    """How many of the k closest nodes the lookup found and asked."""
    refusals: dict[str, int] = field(default_factory=dict)
    """Refusals by reason (``no-reply`` for silent nodes)."""


class DhtNode(Server):  # type: ignore[misc]
    """A DHT node holding DID Document records (see the module docstring)."""

    protocol_class = DidrtcProtocol

    def __init__(
        self,
        *,
        ksize: int = 20,
        alpha: int = 3,
        node_id: bytes | None = None,
        storage: RecordStorage | None = None,
        data_dir: Path | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        refresh_interval: float = 3600.0,
        republish_interval: float = 3600.0,
        save_interval: float = 300.0,
        metrics: DhtMetrics | None = None,
        read_only: bool = False,
    ) -> None:
        if not 1 <= alpha <= ksize:
            raise ValueError(f"alpha must be in [1, ksize], not {alpha!r}")
        self.data_dir = data_dir
        saved = self._read_state() if data_dir is not None else {}
        if node_id is None and isinstance(saved.get("node_id"), str):
            with contextlib.suppress(ValueError):
                candidate = bytes.fromhex(saved["node_id"])
                node_id = candidate if len(candidate) == KEY_BYTES else None
        if node_id is None:
            node_id = secrets.token_bytes(KEY_BYTES)
        if len(node_id) != KEY_BYTES:
            raise ValueError(f"a node id is {KEY_BYTES} bytes, not {len(node_id)}: {node_id!r}")
        super().__init__(ksize=ksize, alpha=alpha, node_id=node_id)
        # Not through Server(storage=...): stock tests `storage or ForgetfulStorage()`,
        # and an empty RecordStorage is falsy.
        self.storage: RecordStorage = RecordStorage() if storage is None else storage
        self.protocol: DidrtcProtocol | None = None
        self.request_timeout = request_timeout
        self.max_requests = max_requests
        self.refresh_interval = refresh_interval
        self.republish_interval = republish_interval
        self.save_interval = save_interval
        self.metrics = metrics
        self.read_only = read_only
        """A short-lived client that others keep out of their routing tables."""
        self.address: tuple[str, int] | None = None
        """The address the node listens on, once :meth:`listen` returned."""
        self._saved_contacts = _saved_contacts(saved)
        self._loops: list[asyncio.Task[None]] = []
        if metrics is not None:
            metrics.records_held.set_function(lambda: len(self.storage))
            metrics.contacts.set_function(lambda: self.contact_count())

    def contact_count(self) -> int:
        """Contacts in the routing table (0 before :meth:`listen`)."""
        return 0 if self.protocol is None else len(self.protocol.router.contacts())

    def _create_protocol(self) -> DidrtcProtocol:
        return DidrtcProtocol(
            self.node,
            self.storage,
            self.ksize,
            request_timeout=self.request_timeout,
            metrics=self.metrics,
            read_only=self.read_only,
        )

    @property
    def node_id(self) -> bytes:
        return bytes(self.node.id)

    def _proto(self) -> DidrtcProtocol:
        if self.protocol is None:
            raise RuntimeError("the node is not listening: call listen() first")
        return self.protocol

    # -- life cycle ------------------------------------------------------------------

    async def listen(self, port: int = 0, interface: str = "127.0.0.1") -> tuple[str, int]:
        """Bind the UDP socket (port 0: any free port), load saved records, start the schedule."""
        loop = asyncio.get_running_loop()
        self.transport, self.protocol = await loop.create_datagram_endpoint(
            self._create_protocol, local_addr=(interface, port)
        )
        sockname = self.transport.get_extra_info("sockname")
        self.address = (str(sockname[0]), int(sockname[1]))
        if self.data_dir is not None:
            kept, dropped = self.storage.load(self.data_dir / RECORDS_FILE)
            if kept or dropped:
                logger.info("loaded %d records (%d invalid or expired dropped)", kept, dropped)
        jobs: list[tuple[float, Callable[[], Coroutine[Any, Any, Any]]]] = []
        if not self.read_only:
            jobs.append((self.refresh_interval, self._scheduled_refresh))
            jobs.append((self.republish_interval / 4, self.republish))
        if self.data_dir is not None:
            jobs.append((self.save_interval, self._save_quietly))
        if jobs:
            self._loops.append(asyncio.ensure_future(self._run_schedule(jobs)))
        logger.info("DHT node %s listening on %s:%d", self.node_id.hex(), *self.address)
        return self.address

    async def _run_schedule(
        self, jobs: list[tuple[float, Callable[[], Coroutine[Any, Any, Any]]]]
    ) -> None:
        """Run each job every its interval, in one task (a task per job costs memory per node)."""
        loop = asyncio.get_running_loop()
        due = [loop.time() + interval for interval, _ in jobs]
        while True:
            index = min(range(len(jobs)), key=due.__getitem__)
            await asyncio.sleep(max(0.0, due[index] - loop.time()))
            interval, job = jobs[index]
            due[index] = loop.time() + interval
            try:
                await job()
            except Exception:
                logger.exception("scheduled DHT job %s failed", job.__name__)

    async def close(self) -> None:
        """Stop the schedule, save state (with a ``data_dir``) and close the socket."""
        loops, self._loops = self._loops, []
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        if self.data_dir is not None and self.protocol is not None:
            self._save_quietly_sync()
        if self.protocol is not None:
            self.protocol.close()
        if self.transport is not None:
            self.transport.close()

    def stop(self) -> None:
        """Synchronous stop (stock interface): cancels the schedule and closes the socket."""
        for task in self._loops:
            task.cancel()
        self._loops = []
        if self.protocol is not None:
            self.protocol.close()
        if self.transport is not None:
            self.transport.close()

    # -- joining -------------------------------------------------------------------

    async def bootstrap(
        self, addrs: Iterable[tuple[str, int]], *, refresh: bool = True
    ) -> list[Any]:
        """Join through several contacts at once (plus saved ones); returns those that answered.

        It then looks up its own id, so it learns contacts beyond the ones it
        was given (a reader that knew only one contact, and a hostile one,
        could be fed anything). With ``refresh`` (a node that will serve
        others) it also refreshes every bucket, so the routing table covers the
        id space rather than only this node's neighbourhood; a short-lived
        client passes ``refresh=False``.
        """
        protocol = self._proto()
        targets = list(dict.fromkeys([*addrs, *self._saved_contacts]))
        targets = [a for a in targets if a != self.address]
        replies = await asyncio.gather(*(self.bootstrap_node(addr) for addr in targets))
        contacts = [node for node in replies if node is not None]
        if not contacts:
            logger.warning("no bootstrap contact answered (%d tried)", len(targets))
            return []
        for node in contacts:
            protocol.welcome_if_new(node)
        crawler = NodeCrawler(
            protocol, self.node, contacts, self.ksize, self.alpha, max_requests=self.max_requests
        )
        await crawler.find()
        if refresh:
            await self.refresh_buckets(every=True)
        return contacts

    async def bootstrap_node(self, addr: tuple[str, int]) -> Any:
        result = await self._proto().ping(addr, self.node_id)
        node_id = result[1]
        if not result[0] or not isinstance(node_id, bytes) or len(node_id) != KEY_BYTES:
            return None
        return Node(node_id, addr[0], addr[1])

    async def refresh_buckets(self, *, every: bool = False) -> None:
        """Look up a random id in each subtree of the id space that this node's table should cover.

        With ``every`` (after joining, and on each scheduled refresh), that is the
        sibling subtree at each prefix level — the half of the id space not
        sharing this node's first bit, then the quarter not sharing its second,
        and so on down to the first level where no node is found — plus each
        bucket left idle for an hour. Stock kademlia refreshes only idle buckets,
        and a new node's table is one bucket, so it never looks outside its own
        neighbourhood.
        """
        protocol = self._proto()
        targets = [_random_id_in(*b.range) for b in protocol.router.lonely_buckets()]
        await asyncio.gather(*(self.lookup_nodes(target) for target in targets))
        if not every:
            return
        own = int.from_bytes(self.node_id, "big")
        for level in range(MAX_REFRESH_LEVELS):
            shift = 159 - level
            prefix = ((own >> shift) ^ 1) << shift
            target = _random_id_in(prefix, prefix + (1 << shift) - 1)
            found = await self.lookup_nodes(target)
            if not any(int.from_bytes(n.id, "big") >> shift == prefix >> shift for n in found):
                break

    # -- lookups -------------------------------------------------------------------

    async def lookup_nodes(self, key: bytes) -> list[Any]:
        """The k live nodes closest to ``key`` (not counting this one)."""
        protocol = self._proto()
        target = Node(key)
        started = time.monotonic()
        nearest = protocol.router.find_neighbors(target, self.ksize)
        crawler = NodeCrawler(
            protocol, target, nearest, self.ksize, self.alpha, max_requests=self.max_requests
        )
        nodes: list[Any] = await crawler.find()
        self._observe("node", "found" if nodes else "empty", started)
        return nodes

    async def resolve_key(self, key: bytes) -> ValueLookup:
        """Crawl the k closest live nodes for ``key`` and return the newest valid record seen.

        Nodes close to the key that answered without it (or with an older one)
        are sent the newest record in the background, as the paper's caching does.
        """
        protocol = self._proto()
        target = Node(key)
        started = time.monotonic()
        nearest = protocol.router.find_neighbors(target, self.ksize)
        crawler = ValueCrawler(
            protocol, target, nearest, self.ksize, self.alpha, max_requests=self.max_requests
        )
        held = self.storage.get(key)
        if held is not None:
            crawler.consider(held, None)
        result: ValueLookup = await crawler.find()
        self._observe("value", "found" if result.best is not None else "not-found", started)
        if result.best is not None:
            for peer in result.stale[: self.ksize]:
                protocol.spawn(protocol.ask_store(peer, key, result.best.token))
        return result

    async def get(self, key: str) -> str | None:
        """Stock interface, with ``key`` a DID: the newest valid record's token, or ``None``."""
        best = (await self.resolve_key(backend.dht_key(key))).best
        return None if best is None else best.token

    async def set_digest(self, dkey: bytes, value: object) -> bool:
        """Stock interface: publish a record token; ``True`` if any close node took it."""
        try:
            result = await self.publish(value)
        except InvalidRecord:
            return False
        return bool(result.holders)

    def _observe(self, kind: str, outcome: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.lookups.labels(kind, outcome).inc()
            self.metrics.lookup_seconds.labels(kind).observe(time.monotonic() - started)

    # -- publishing ------------------------------------------------------------------

    async def publish(self, token: object) -> PublishResult:
        """Store a record on the k nodes closest to its DID's key; count who accepted it.

        Raises :class:`~didrtc.records.InvalidRecord` if the record itself is not
        valid. Does not raise when nobody accepts it: ``holders`` is then empty.
        """
        signed = parse_record(token)
        key = backend.dht_key(signed.did)
        protocol = self._proto()
        nodes = await self.lookup_nodes(key)
        outcomes = await asyncio.gather(*(protocol.ask_store(n, key, signed.token) for n in nodes))
        holders = tuple((n.ip, n.port) for n, (ok, _) in zip(nodes, outcomes, strict=True) if ok)
        refusals = Counter(reason for ok, reason in outcomes if not ok)
        target = Node(key)
        if len(nodes) < self.ksize or self.node.distance_to(target) < nodes[-1].distance_to(target):
            self.storage.offer(key, signed.token)
        self.storage.touch(key)
        logger.info(
            "published seq %d of %s: %d of %d closest nodes hold it",
            signed.seq,
            signed.did,
            len(holders),
            len(nodes),
        )
        return PublishResult(signed, holders, len(nodes), dict(refusals))

    async def republish(self) -> None:
        """Re-store every held record not republished for ``republish_interval`` seconds."""
        self.storage.cull()
        for key, token in self.storage.iter_older_than(self.republish_interval):
            self.storage.touch(key)
            try:
                await self.publish(token)
            except InvalidRecord:
                continue

    # -- state ---------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any]:
        assert self.data_dir is not None
        path = self.data_dir / STATE_FILE
        try:
            with path.open("rb") as file:
                data = file.read(MAX_STATE_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as error:
            logger.warning("cannot read %s: %s", path, error)
            return {}
        try:
            state = json.loads(data.decode("utf-8")) if len(data) <= MAX_STATE_BYTES else None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            state = None
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            logger.warning("ignoring %s: not a %s file", path, STATE_FORMAT)
            return {}
        return state

    def save_state(self, fname: str | Path | None = None) -> None:
        """Write node id, contacts and records to ``data_dir`` (JSON, atomically, 0600)."""
        directory = Path(fname) if fname is not None else self.data_dir
        if directory is None:
            raise ValueError("save_state needs a directory: the node has no data_dir")
        contacts = [] if self.protocol is None else self.protocol.router.contacts()
        state = {
            "format": STATE_FORMAT,
            "node_id": self.node_id.hex(),
            "address": list(self.address) if self.address else None,
            "contacts": [[n.id.hex(), n.ip, n.port] for n in contacts[:MAX_SAVED_CONTACTS]],
        }
        write_atomically(directory / STATE_FILE, json.dumps(state).encode("utf-8"))
        count = self.storage.save(directory / RECORDS_FILE)
        logger.debug("saved %d contacts and %d records to %s", len(contacts), count, directory)

    @classmethod
    async def load_state(
        cls, fname: str | Path, port: int = 0, interface: str = "127.0.0.1"
    ) -> DhtNode:
        """Stock interface: a node restored from a ``data_dir`` (JSON, never pickle), joined."""
        node = cls(data_dir=Path(fname))
        await node.listen(port, interface)
        await node.bootstrap([])
        return node

    async def _scheduled_refresh(self) -> None:
        await self.refresh_buckets(every=True)

    async def _save_quietly(self) -> None:
        self._save_quietly_sync()

    def _save_quietly_sync(self) -> None:
        try:
            self.save_state()
        except OSError as error:
            logger.warning("cannot save the DHT state: %s", error)


def _random_id_in(low: int, high: int) -> bytes:
    """A random 160-bit id in ``[low, high]`` (a bucket's range)."""
    high = min(high, 2**160 - 1)
    return (low + secrets.randbelow(high - low + 1)).to_bytes(KEY_BYTES, "big")


def _saved_contacts(state: dict[str, Any]) -> list[tuple[str, int]]:
    contacts = state.get("contacts")
    result: list[tuple[str, int]] = []
    if not isinstance(contacts, list):
        return result
    for entry in contacts[:MAX_SAVED_CONTACTS]:
        if isinstance(entry, list) and len(entry) == 3:
            _, ip, port = entry
            if (
                isinstance(ip, str)
                and is_ip_literal(ip)
                and isinstance(port, int)
                and 0 < port < 65536
            ):
                result.append((ip, port))
    return result
