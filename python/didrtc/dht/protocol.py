"""The wire protocol of a didrtc DHT node: kademlia's RPCs, validated and hardened.

:class:`DidrtcProtocol` subclasses ``kademlia.protocol.KademliaProtocol`` and
speaks the same msgpack-over-UDP RPCs (``ping``, ``store``, ``find_node``,
``find_value``), so stock nodes interoperate, but it fixes what makes the stock
protocol unsafe or slow:

- STORE goes through :class:`~didrtc.dht.storage.RecordStorage`, and a refusal
  answers ``{"refused": reason}`` instead of ``True``, so writers count real
  acceptances.
- Every datagram and every reply is checked for shape and size before use; a
  malformed one is dropped, never raised (stock ``rpcudp`` raises in a task on a
  bad packet, and stock crawlers raise on a malformed node list).
- Requests time out after ``request_timeout`` (1 s, not 5 s); a contact that
  does not answer is evicted and remembered as dead for ``dead_ttl`` seconds,
  so other nodes' stale replies cannot bring it back into lookups; hearing from
  the node itself clears the mark.
- ``welcome_if_new`` hands records to a new close node under their real key
  (stock hashes the already-hashed key again, so the hand-off almost never
  happens), also while fewer than k contacts are known.
- the routing table is :class:`~didrtc.dht.routing.DidrtcRoutingTable`.
- Replies are accepted only from the address the request went to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final

import umsgpack  # type: ignore[import-untyped]
from kademlia.node import Node  # type: ignore[import-untyped]
from kademlia.protocol import KademliaProtocol  # type: ignore[import-untyped]

from didrtc.dht.metrics import DhtMetrics
from didrtc.dht.routing import DidrtcRoutingTable
from didrtc.dht.storage import KEY_BYTES, RecordStorage

__all__ = [
    "DEFAULT_DEAD_TTL",
    "DEFAULT_REQUEST_TIMEOUT",
    "MAX_DATAGRAM_BYTES",
    "DidrtcProtocol",
    "ValueReply",
    "is_ip_literal",
]

logger = logging.getLogger(__name__)

DEFAULT_REQUEST_TIMEOUT: Final = 1.0
"""Seconds to wait for a reply; loopback and internet RTTs are far below it."""
DEFAULT_DEAD_TTL: Final = 600.0
"""Seconds a contact that missed a reply stays out of lookups unless it speaks to us first."""
MAX_DEAD_CONTACTS: Final = 10_000
"""How many dead contacts are remembered at most (oldest forgotten first)."""
MAX_DATAGRAM_BYTES: Final = 8192 + 21 + 64
"""rpcudp's 8 KiB argument limit plus its header; longer datagrams are dropped unread."""
MAX_HANDOFF_STORES: Final = 256
"""Records handed to one newly seen node at most (per the paper's section 2.5)."""
INITIAL_RTT: Final = 0.1
"""The round-trip estimate before any reply was measured, in seconds."""
MIN_STALL: Final = 0.05
"""The shortest a lookup waits on one request before asking another node as well."""
_REQUEST: Final = b"\x00"
_RESPONSE: Final = b"\x01"
_RPCS: Final = frozenset({"ping", "store", "find_node", "find_value", "stun"})
READ_ONLY: Final = {"ro": 1}
"""The trailing argument a read-only client adds to each request (after BEP43's ``ro`` flag).

A node adds the senders of requests to its routing table; a resolver that
lives for one lookup would then linger there as a dead contact that every
later lookup waits on. Stock nodes do not accept the extra argument, so only
short-lived clients of a didrtc network send it."""


class _Ignore(Exception):
    """A request too malformed to deserve an answer."""


@dataclass(frozen=True)
class ValueReply:
    """A well-formed answer to FIND_VALUE: a value, or the closest contacts the peer knows."""

    value: object | None
    """The value, unchecked (it comes from a stranger); ``None`` when the peer sent contacts."""
    nodes: list[Any]
    """Contacts (``kademlia.node.Node``) the peer sent instead of a value."""
    has_value: bool


def _node_id(value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != KEY_BYTES:
        raise _Ignore(f"not a {KEY_BYTES}-byte id: {value!r:.60}")
    return value


@dataclass
class _Pending:
    future: asyncio.Future[tuple[bool, Any]]
    timer: asyncio.TimerHandle
    address: tuple[str, int]
    sent: float


class DidrtcProtocol(KademliaProtocol):  # type: ignore[misc]
    """A validating, hardened ``KademliaProtocol`` (see the module docstring)."""

    def __init__(
        self,
        source_node: Any,
        storage: RecordStorage,
        ksize: int,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        dead_ttl: float = DEFAULT_DEAD_TTL,
        metrics: DhtMetrics | None = None,
        read_only: bool = False,
    ) -> None:
        super().__init__(source_node, storage, ksize)
        self.read_only = read_only
        """A short-lived client: it asks others not to add it to their routing tables."""
        self.router = DidrtcRoutingTable(self, ksize, source_node)
        self.storage: RecordStorage = storage
        self.ksize = ksize
        self._wait_timeout = request_timeout
        self.dead_ttl = dead_ttl
        self.metrics = metrics
        self.requests_sent = 0
        """RPC requests this protocol has sent (benchmarks read it)."""
        self._pending: dict[bytes, _Pending] = {}
        self._dead: OrderedDict[bytes, float] = OrderedDict()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._srtt = INITIAL_RTT
        self.transport: asyncio.DatagramTransport | None = None

    # -- housekeeping ----------------------------------------------------------

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run ``coroutine`` in the background, tracked so :meth:`close` can cancel it."""
        self.adopt(asyncio.ensure_future(coroutine))

    def adopt(self, task: asyncio.Future[Any]) -> None:
        """Track a running task like :meth:`spawn` does."""
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("background DHT task failed: %r", task.exception())

    def close(self) -> None:
        """Cancel background tasks and answer every pending request with a failure."""
        for task in list(self._tasks):
            task.cancel()
        for pending in self._pending.values():
            pending.timer.cancel()
            if not pending.future.done():
                pending.future.set_result((False, None))
        self._pending.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()

    def stall_timeout(self) -> float:
        """How long a lookup lets one request hold an alpha slot: 4x the smoothed RTT.

        Between :data:`MIN_STALL` and the request timeout. A request past it
        is probably to a dead node; the lookup moves on without cancelling it.
        """
        return min(self._wait_timeout, max(MIN_STALL, 4 * self._srtt))

    def is_dead(self, node_id: bytes) -> bool:
        """Whether the contact missed a reply recently and has not spoken to us since."""
        deadline = self._dead.get(node_id)
        if deadline is None:
            return False
        if deadline < time.monotonic():
            del self._dead[node_id]
            return False
        return True

    def suspect(self, node_id: bytes) -> None:
        """Keep a contact that is slow to answer out of lookups until it answers or times out."""
        self._dead.pop(node_id, None)
        self._dead[node_id] = time.monotonic() + self.dead_ttl
        while len(self._dead) > MAX_DEAD_CONTACTS:
            self._dead.popitem(last=False)

    def _mark_dead(self, node: Any) -> None:
        self.suspect(node.id)
        self.router.remove_contact(node)

    def _mark_alive(self, node_id: bytes) -> None:
        self._dead.pop(node_id, None)

    # -- datagrams ---------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not 22 <= len(data) <= MAX_DATAGRAM_BYTES:
            logger.debug("dropping a %d-byte datagram from %s", len(data), addr)
            return
        kind, msg_id = data[:1], data[1:21]
        try:
            message = umsgpack.unpackb(data[21:])
        except Exception:  # umsgpack raises many types on hostile bytes
            logger.debug("dropping an undecodable datagram from %s", addr)
            return
        if kind == _REQUEST:
            self._answer(msg_id, message, addr)
        elif kind == _RESPONSE:
            self._accept_reply(msg_id, message, addr)

    def _answer(self, msg_id: bytes, message: object, addr: tuple[str, int]) -> None:
        if not (isinstance(message, list | tuple) and len(message) == 2):
            return
        name, args = message
        if name not in _RPCS or not isinstance(args, list | tuple):
            return
        handler: Callable[..., object] = getattr(self, f"rpc_{name}")
        try:
            response = handler(addr, *args)
        except _Ignore as error:
            logger.debug("ignoring %s from %s: %s", name, addr, error)
            return
        except Exception as error:  # wrong argument count or types from a stranger
            logger.debug("ignoring a malformed %s from %s: %r", name, addr, error)
            return
        if self.transport is not None:
            self.transport.sendto(_RESPONSE + msg_id + umsgpack.packb(response), addr)

    def _accept_reply(self, msg_id: bytes, message: object, addr: tuple[str, int]) -> None:
        pending = self._pending.get(msg_id)
        if pending is None or pending.address != addr:
            # Late (after its timeout), unsolicited or from another address: a late
            # reply must not undo the eviction the timeout caused.
            logger.debug("ignoring an unexpected reply from %s", addr)
            return
        del self._pending[msg_id]
        pending.timer.cancel()
        rtt = asyncio.get_running_loop().time() - pending.sent
        self._srtt += (rtt - self._srtt) / 8  # RFC 6298's smoothing
        if not pending.future.done():
            pending.future.set_result((True, message))

    def _expire(self, msg_id: bytes) -> None:
        pending = self._pending.pop(msg_id, None)
        if pending is not None and not pending.future.done():
            if self.metrics is not None:
                self.metrics.timeouts.inc()
            pending.future.set_result((False, None))

    def _call(
        self, address: tuple[str, int], name: str, *args: object
    ) -> Awaitable[tuple[bool, Any]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[bool, Any]] = loop.create_future()
        arguments = [*args, READ_ONLY] if self.read_only and name in _RPCS else list(args)
        packet = umsgpack.packb([name, arguments])
        if self.transport is None or len(packet) > 8192:
            future.set_result((False, None))
            return future
        msg_id = os.urandom(20)
        try:
            self.transport.sendto(_REQUEST + msg_id + packet, address)
        except OSError as error:
            logger.debug("cannot send %s to %s: %s", name, address, error)
            future.set_result((False, None))
            return future
        self.requests_sent += 1
        if self.metrics is not None:
            self.metrics.requests.labels(name).inc()
        timer = loop.call_later(self._wait_timeout, self._expire, msg_id)
        self._pending[msg_id] = _Pending(future, timer, (address[0], address[1]), loop.time())
        return future

    # The stock protocol reaches these through rpcudp's __getattr__ magic; they are
    # spelled out so every request goes through _call (timeouts, address checks).
    def ping(self, address: tuple[str, int], nodeid: bytes) -> Awaitable[tuple[bool, Any]]:
        return self._call(address, "ping", nodeid)

    def store(
        self, address: tuple[str, int], nodeid: bytes, key: bytes, value: object
    ) -> Awaitable[tuple[bool, Any]]:
        return self._call(address, "store", nodeid, key, value)

    def find_node(
        self, address: tuple[str, int], nodeid: bytes, key: bytes
    ) -> Awaitable[tuple[bool, Any]]:
        return self._call(address, "find_node", nodeid, key)

    def find_value(
        self, address: tuple[str, int], nodeid: bytes, key: bytes
    ) -> Awaitable[tuple[bool, Any]]:
        return self._call(address, "find_value", nodeid, key)

    # -- RPC handlers ------------------------------------------------------------

    def _sender(self, sender: tuple[str, int], nodeid: object, options: object = None) -> Any:
        source = Node(_node_id(nodeid), sys.intern(sender[0]), sender[1])
        if options is not None and options != READ_ONLY:
            raise _Ignore(f"unknown request options {options!r:.60}")
        if source.id != self.source_node.id and options is None:
            self._mark_alive(source.id)
            self.welcome_if_new(source)
        return source

    def rpc_stun(self, sender: tuple[str, int]) -> tuple[str, int]:
        return sender

    def rpc_ping(self, sender: tuple[str, int], nodeid: object, options: object = None) -> bytes:
        self._sender(sender, nodeid, options)
        return bytes(self.source_node.id)

    def rpc_store(
        self,
        sender: tuple[str, int],
        nodeid: object,
        key: object,
        value: object,
        options: object = None,
    ) -> bool | dict[str, str]:
        self._sender(sender, nodeid, options)
        outcome = self.storage.offer(key, value)
        if self.metrics is not None:
            result = "accepted" if outcome.accepted else "refused"
            self.metrics.stores.labels(result, outcome.reason).inc()
        if outcome.accepted:
            return True
        logger.info("refused a STORE from %s:%s: %s", sender[0], sender[1], outcome.reason)
        return {"refused": outcome.reason}

    def rpc_find_node(
        self, sender: tuple[str, int], nodeid: object, key: object, options: object = None
    ) -> list[tuple[bytes, str, int]]:
        source = self._sender(sender, nodeid, options)
        neighbors = self.router.find_neighbors(Node(_node_id(key)), exclude=source)
        return [(n.id, n.ip, n.port) for n in neighbors]

    def rpc_find_value(
        self, sender: tuple[str, int], nodeid: object, key: object, options: object = None
    ) -> list[tuple[bytes, str, int]] | dict[str, str]:
        token = self.storage.get(_node_id(key))
        if token is None:
            return self.rpc_find_node(sender, nodeid, key, options)
        self._sender(sender, nodeid, options)
        return {"value": token}

    # -- outgoing calls ------------------------------------------------------------

    def handle_call_response(self, result: tuple[bool, Any], node: Any) -> tuple[bool, Any]:
        if not result[0]:
            logger.debug("no reply from %s; evicting it", node)
            self._mark_dead(node)
            return result
        self._mark_alive(node.id)
        self.welcome_if_new(node)
        return result

    def parse_contacts(self, reply: object) -> list[Any]:
        """The valid contacts in a FIND_NODE reply (at most k), skipping ourselves and the dead."""
        if not isinstance(reply, list | tuple):
            return []
        contacts = []
        for entry in reply[: 2 * self.ksize]:
            if not (isinstance(entry, list | tuple) and len(entry) == 3):
                continue
            node_id, ip, port = entry
            if not (isinstance(node_id, bytes) and len(node_id) == KEY_BYTES):
                continue
            if not (isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536):
                continue
            if not isinstance(ip, str) or not is_ip_literal(ip):
                continue
            if node_id == self.source_node.id or self.is_dead(node_id):
                continue
            # Interned: a table holds hundreds of contacts, mostly on few addresses' hosts.
            contacts.append(Node(node_id, sys.intern(ip), port))
        return contacts[: self.ksize]

    async def ask_find_node(self, peer: Any, target: bytes) -> list[Any] | None:
        """FIND_NODE on ``peer``: its contacts closest to ``target``; ``None`` if silent."""
        result = await self.call_find_node(peer, Node(target))
        return self.parse_contacts(result[1]) if result[0] else None

    async def ask_find_value(self, peer: Any, key: bytes) -> ValueReply | None:
        """FIND_VALUE on ``peer``, or ``None`` if it did not answer."""
        result = await self.call_find_value(peer, Node(key))
        if not result[0]:
            return None
        reply = result[1]
        if isinstance(reply, dict):
            return ValueReply(value=reply.get("value"), nodes=[], has_value=True)
        return ValueReply(value=None, nodes=self.parse_contacts(reply), has_value=False)

    async def ask_store(self, peer: Any, key: bytes, token: str) -> tuple[bool, str]:
        """STORE on ``peer``: ``(accepted, reason)``; ``reason`` is ``no-reply`` if silent."""
        result = await self.call_store(peer, key, token)
        if not result[0]:
            return False, "no-reply"
        if result[1] is True:
            return True, "stored"
        reply = result[1]
        reason = reply.get("refused") if isinstance(reply, dict) else None
        return False, reason if isinstance(reason, str) else "refused"

    def welcome_if_new(self, node: Any) -> None:
        """Add a contact; if it is new, hand it the records it is now among the closest to."""
        if node.id == self.source_node.id:
            return
        if not self.router.is_new_node(node):
            self.router.add_contact(node)  # moves it to the tail: recently seen
            return
        handed = 0
        for key, token in self.storage:
            if handed >= MAX_HANDOFF_STORES:
                break
            # Stock calls Node(digest(key)) here: the key is already the DHT key.
            keynode = Node(key)
            neighbors = self.router.find_neighbors(keynode)
            new_is_close = len(neighbors) < self.ksize or node.distance_to(keynode) < neighbors[
                -1
            ].distance_to(keynode)
            we_are_closest = not neighbors or self.source_node.distance_to(keynode) < neighbors[
                0
            ].distance_to(keynode)
            if new_is_close and we_are_closest:
                handed += 1
                self.spawn(self.call_store(node, key, token))
        self.router.add_contact(node)


def is_ip_literal(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address (kademlia contacts carry no host names)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
