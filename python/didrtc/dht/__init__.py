"""DID Documents in a Kademlia DHT: validating nodes, the node service, publish and resolve.

The record format lives in :mod:`didrtc.records`; this package moves records
through a kademlia network whose every node and every reader checks them.
``docs/dht.md`` describes the design and the stock-kademlia bugs it fixes.
"""

from __future__ import annotations

from didrtc.dht.client import ResolvedDocument, publish, resolve
from didrtc.dht.errors import (
    DhtError,
    DidNotFound,
    NetworkUnreachable,
    PublishFailed,
    ResolvedRecordExpired,
    ResolvedRecordInvalid,
)
from didrtc.dht.node import DhtNode, PublishResult

__all__ = [
    "DhtError",
    "DhtNode",
    "DidNotFound",
    "NetworkUnreachable",
    "PublishFailed",
    "PublishResult",
    "ResolvedDocument",
    "ResolvedRecordExpired",
    "ResolvedRecordInvalid",
    "publish",
    "resolve",
]
