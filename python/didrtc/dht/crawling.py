"""Iterative lookups: the k closest live nodes to a key, and the newest valid record under it.

Both crawlers subclass kademlia's and keep its ``NodeHeap`` of the k closest
known contacts, but replace its round-based loop: stock sends alpha requests,
waits for *all* of them (so one dead contact stalls the round for the full
timeout), and its value crawl returns the majority among the first answers.

Here exactly ``alpha`` requests are in flight at any moment (a new one starts as
soon as one ends), contacts that do not answer are dropped and marked dead so no
later reply brings them back, and the value crawl keeps going until every one of
the k closest live nodes has been asked — past nodes that answer with nothing,
with an old record or with garbage — and returns the valid record with the
highest sequence number. Each lookup is bounded by ``max_requests``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from kademlia.crawling import NodeSpiderCrawl, ValueSpiderCrawl  # type: ignore[import-untyped]

from didrtc.dht.protocol import DidrtcProtocol
from didrtc.records import InvalidRecord, RecordExpired, SignedRecord, parse_record

__all__ = ["DEFAULT_MAX_REQUESTS", "NodeCrawler", "ValueCrawler", "ValueLookup"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_REQUESTS: Final = 200
"""Requests one lookup sends at most; a lookup in a healthy network needs far fewer."""
MAX_DISTINCT_VALUES: Final = 64
"""Distinct values one lookup remembers the verdict of (each is at most 1,000 bytes)."""


class _AlphaInFlight:
    """The crawl loop shared by both crawlers (mixed in before kademlia's class)."""

    protocol: DidrtcProtocol
    nearest: Any
    alpha: int
    node: Any
    max_requests: int
    requests: int

    def __init__(
        self,
        protocol: DidrtcProtocol,
        node: Any,
        peers: list[Any],
        ksize: int,
        alpha: int,
        *,
        max_requests: int = DEFAULT_MAX_REQUESTS,
    ) -> None:
        # Contacts already known dead never enter the heap (kademlia's class takes it).
        super().__init__(  # type: ignore[call-arg]
            protocol, node, [p for p in peers if not protocol.is_dead(p.id)], ksize, alpha
        )
        self.max_requests = max_requests
        self.requests = 0

    async def _crawl(self, ask: Callable[[Any], Awaitable[None]]) -> None:
        loop = asyncio.get_running_loop()
        active: dict[asyncio.Future[None], tuple[Any, float]] = {}
        stalled: set[asyncio.Future[None]] = set()
        try:
            while True:
                now = loop.time()
                stall = self.protocol.stall_timeout()
                for task, (peer, started) in list(active.items()):
                    if now - started >= stall:
                        # Slower than the network has been: probably dead. It stops
                        # holding an alpha slot and its place among the k closest,
                        # but a late answer is still used if it comes in time.
                        del active[task]
                        stalled.add(task)
                        self.nearest.remove([peer.id])
                        self.protocol.suspect(peer.id)
                for peer in self.nearest.get_uncontacted():
                    if len(active) >= self.alpha or self.requests >= self.max_requests:
                        break
                    self.nearest.mark_contacted(peer)
                    self.requests += 1
                    active[asyncio.ensure_future(ask(peer))] = (peer, now)
                if not active:
                    return
                wait = min(started for _, started in active.values()) + stall - now
                done, _ = await asyncio.wait(
                    {*active, *stalled},
                    timeout=max(wait, 0.001),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in done:
                    active.pop(task, None)
                    stalled.discard(task)
                    task.result()
        finally:
            # Requests still out finish in the background: their timeouts are what
            # mark silent contacts dead, so the next lookup does not ask them again.
            for task in {*active, *stalled}:
                self.protocol.adopt(task)


class NodeCrawler(_AlphaInFlight, NodeSpiderCrawl):  # type: ignore[misc]
    """Find the k live nodes closest to ``node``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.responded: set[bytes] = set()

    async def _ask(self, peer: Any) -> None:
        contacts = await self.protocol.ask_find_node(peer, self.node.id)
        if contacts is None:
            self.nearest.remove([peer.id])
            return
        self.responded.add(peer.id)
        self.nearest.push(contacts)

    async def find(self) -> list[Any]:
        """The closest nodes that answered, nearest first (at most k)."""
        await self._crawl(self._ask)
        return [node for node in self.nearest if node.id in self.responded]


@dataclass
class ValueLookup:
    """What a value crawl found."""

    best: SignedRecord | None = None
    """The valid record with the highest ``seq``, if any."""
    holders: list[Any] = field(default_factory=list)
    """Nodes that answered with :attr:`best`."""
    refusals: Counter[str] = field(default_factory=Counter)
    """Values that failed the checks, by :attr:`InvalidRecord.reason`."""
    answered: int = 0
    """Nodes that answered at all."""
    requests: int = 0
    """Requests the crawl sent."""
    expired: SignedRecord | None = None
    """A correctly signed record that has expired, when one was seen (for error messages)."""
    stale: list[Any] = field(default_factory=list)
    """Close nodes that answered without :attr:`best` (candidates for a repair STORE)."""


class ValueCrawler(_AlphaInFlight, ValueSpiderCrawl):  # type: ignore[misc]
    """Find the newest valid record under a DHT key by asking all k closest live nodes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.result = ValueLookup()
        self._seqs: dict[bytes, tuple[Any, int | None]] = {}
        self._verdicts: dict[str, SignedRecord | InvalidRecord] = {}
        self._finished = False

    def consider(self, value: object, peer: Any | None) -> None:
        """Check a value found under the key and keep it if it is the newest valid one."""
        try:
            signed = self._parse(value)
        except RecordExpired as error:
            self.result.refusals[error.reason] += 1
            with contextlib.suppress(InvalidRecord):
                self.result.expired = parse_record(value, key=self.node.id, check_time=False)
            return
        except InvalidRecord as error:
            self.result.refusals[error.reason] += 1
            logger.debug("ignoring an invalid value from %s: %s", peer, error)
            return
        best = self.result.best
        if best is None or signed.seq > best.seq:
            self.result.best = signed
            self.result.holders = []
        if peer is not None:
            self._seqs[peer.id] = (peer, signed.seq)
            if signed.token == self.result.best.token:  # type: ignore[union-attr]
                self.result.holders.append(peer)

    def _parse(self, value: object) -> SignedRecord:
        # The k closest nodes mostly return the same token: verify each distinct one once.
        if not isinstance(value, str):
            return parse_record(value, key=self.node.id)
        verdict = self._verdicts.get(value)
        if verdict is None:
            try:
                verdict = parse_record(value, key=self.node.id)
            except InvalidRecord as error:
                verdict = error
            if len(self._verdicts) < MAX_DISTINCT_VALUES:
                self._verdicts[value] = verdict
        if isinstance(verdict, InvalidRecord):
            raise verdict
        return verdict

    async def _ask(self, peer: Any) -> None:
        reply = await self.protocol.ask_find_value(peer, self.node.id)
        if self._finished:
            return  # a late answer after the lookup returned: the result is final
        if reply is None:
            self.nearest.remove([peer.id])
            return
        self.result.answered += 1
        self._seqs[peer.id] = (peer, None)  # until a valid record says otherwise
        if reply.has_value:
            self.consider(reply.value, peer)
        else:
            self.nearest.push(reply.nodes)

    async def find(self) -> ValueLookup:
        """Crawl until every one of the k closest live nodes has answered, then report."""
        await self._crawl(self._ask)
        self._finished = True
        self.result.requests = self.requests
        best = self.result.best
        if best is not None:
            closest = {node.id for node in self.nearest}
            self.result.stale = [
                peer
                for peer_id, (peer, seq) in self._seqs.items()
                if peer_id in closest and (seq is None or seq < best.seq)
            ]
        return self.result
