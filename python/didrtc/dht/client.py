"""Publish and resolve DID Documents: the async API the answerer, the offerer and the CLI share.

::

    result = await publish(identity, "https://me.example:8443/", cert_sha256,
                           bootstrap=[("203.0.113.5", 8468)])
    print(len(result.holders), "of the closest nodes hold it")

    resolved = await resolve("did:key:z6Mk...", bootstrap=[("203.0.113.5", 8468)])
    resolved.endpoint, resolved.cert_sha256, resolved.document

Both run a short-lived :class:`~didrtc.dht.node.DhtNode` unless a running
``node`` is passed (a long-lived answerer keeps one), and both are bounded by
``timeout``. Failures raise the classes of :mod:`didrtc.dht.errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from didrtc._backend import backend
from didrtc.dht.crawling import ValueLookup
from didrtc.dht.errors import (
    DidNotFound,
    NetworkUnreachable,
    PublishFailed,
    ResolvedRecordExpired,
    ResolvedRecordInvalid,
)
from didrtc.dht.node import DhtNode, PublishResult
from didrtc.identity import Identity
from didrtc.records import DEFAULT_LIFETIME, SignedRecord, build_record, did_document

__all__ = ["DEFAULT_TIMEOUT", "PublishResult", "ResolvedDocument", "publish", "resolve"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
"""Seconds a publish or resolve may take in all before it fails as unreachable."""

Address = tuple[str, int]


@dataclass(frozen=True)
class ResolvedDocument:
    """A DID resolved through the DHT, every signature checked."""

    did: str
    """The DID resolved."""
    document: dict[str, Any]
    """The W3C DID Core document: the did:key document plus the record's service."""
    record: SignedRecord
    """The newest valid record found."""
    holders: int
    """How many of the nodes asked returned exactly this record."""

    @property
    def endpoint(self) -> str:
        """The ``WebRTCSignaling`` service endpoint."""
        return self.record.record.endpoint

    @property
    def cert_sha256(self) -> str:
        """The endpoint's TLS certificate SHA-256, base64url (``x5t#S256``)."""
        return self.record.record.cert_sha256


def _listen_host(bootstrap: list[Address]) -> str:
    """Loopback when every contact is on loopback; otherwise all interfaces of their family."""
    addresses = [ipaddress.ip_address(host) for host, _ in bootstrap]
    if all(a.is_loopback for a in addresses):
        return "::1" if addresses and all(a.version == 6 for a in addresses) else "127.0.0.1"
    return "::" if all(a.version == 6 for a in addresses) else "0.0.0.0"  # noqa: S104


@contextlib.asynccontextmanager
async def _joined(
    node: DhtNode | None, bootstrap: Iterable[Address], request_timeout: float
) -> AsyncIterator[DhtNode]:
    if node is not None:
        yield node
        return
    contacts = list(bootstrap)
    if not contacts:
        raise NetworkUnreachable("no bootstrap contact given (use --bootstrap HOST:PORT)")
    client = DhtNode(request_timeout=request_timeout, read_only=True)
    await client.listen(0, _listen_host(contacts))
    try:
        if not await client.bootstrap(contacts, refresh=False):
            raise NetworkUnreachable(
                f"no bootstrap contact answered: {', '.join(f'{h}:{p}' for h, p in contacts)}"
            )
        yield client
    finally:
        await client.close()


async def publish(
    identity: Identity,
    endpoint: str,
    cert_fingerprint: bytes | str,
    *,
    bootstrap: Iterable[Address] = (),
    node: DhtNode | None = None,
    seq: int | None = None,
    lifetime: int = DEFAULT_LIFETIME,
    timeout: float = DEFAULT_TIMEOUT,
    request_timeout: float = 1.0,
) -> PublishResult:
    """Sign ``identity``'s DID Document record and store it on the k closest nodes.

    Returns how many accepted it; raises :class:`PublishFailed` when none did
    and :class:`NetworkUnreachable` when the DHT cannot be reached in ``timeout``.
    """
    signed = build_record(identity, endpoint, cert_fingerprint, seq=seq, lifetime=lifetime)
    try:
        async with asyncio.timeout(timeout), _joined(node, bootstrap, request_timeout) as joined:
            result = await joined.publish(signed.token)
    except TimeoutError:
        raise NetworkUnreachable(f"publishing took longer than {timeout:.0f} s") from None
    if not result.holders:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(result.refusals.items())) or "none found"
        raise PublishFailed(
            f"no node among the {result.closest} closest accepted the record ({reasons})"
        )
    return result


def _failure(did: str, lookup: ValueLookup) -> Exception:
    if lookup.answered == 0:
        return NetworkUnreachable(f"no DHT node answered the lookup for {did}")
    if lookup.expired is not None:
        return ResolvedRecordExpired(
            f"the newest record of {did} expired (seq {lookup.expired.seq}, "
            f"exp {lookup.expired.record.exp})"
        )
    if lookup.refusals:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(lookup.refusals.items()))
        return ResolvedRecordInvalid(f"only invalid records were found for {did} ({reasons})")
    return DidNotFound(f"no record of {did} on the {lookup.answered} closest nodes that answered")


async def resolve(
    did: str,
    *,
    bootstrap: Iterable[Address] = (),
    node: DhtNode | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    request_timeout: float = 1.0,
) -> ResolvedDocument:
    """Find the newest valid record of ``did`` and return its verified DID document.

    Raises ``InvalidDid`` for a malformed DID, :class:`DidNotFound`,
    :class:`ResolvedRecordInvalid`, :class:`ResolvedRecordExpired` or
    :class:`NetworkUnreachable`.
    """
    backend.public_key_from_did(did)  # raises InvalidDid before any network traffic
    key = backend.dht_key(did)
    try:
        async with asyncio.timeout(timeout), _joined(node, bootstrap, request_timeout) as joined:
            lookup = await joined.resolve_key(key)
    except TimeoutError:
        raise NetworkUnreachable(f"resolving {did} took longer than {timeout:.0f} s") from None
    if lookup.best is None:
        raise _failure(did, lookup)
    return ResolvedDocument(
        did=did,
        document=did_document(lookup.best.record),
        record=lookup.best,
        holders=len(lookup.holders),
    )
