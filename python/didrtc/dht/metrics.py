"""Prometheus metrics of one DHT node, in a registry of its own.

Each node owns a :class:`prometheus_client.CollectorRegistry`, so many nodes in
one process (tests, benchmarks) never share or clash over a global metric.
``didrtc dht serve --metrics HOST:PORT`` serves :meth:`DhtMetrics.render`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["LOOKUP_BUCKETS", "DhtMetrics"]

LOOKUP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram buckets of lookup latency, in seconds."""


class DhtMetrics:
    """The counters and gauges a node updates; see ``docs/dht.md`` for each one's meaning."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.records_held = Gauge(
            "didrtc_dht_records_held", "Valid records this node holds", registry=self.registry
        )
        self.contacts = Gauge(
            "didrtc_dht_routing_contacts", "Contacts in the routing table", registry=self.registry
        )
        self.stores = Counter(
            "didrtc_dht_stores",
            "STORE requests received, by result (accepted/refused) and reason",
            ["result", "reason"],
            registry=self.registry,
        )
        self.lookups = Counter(
            "didrtc_dht_lookups",
            "Lookups this node ran, by kind (value/node) and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.lookup_seconds = Histogram(
            "didrtc_dht_lookup_seconds",
            "Lookup latency",
            ["kind"],
            buckets=LOOKUP_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "didrtc_dht_requests_sent", "RPC requests sent, by RPC", ["rpc"], registry=self.registry
        )
        self.timeouts = Counter(
            "didrtc_dht_request_timeouts", "RPC requests that got no reply", registry=self.registry
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of this node's metrics."""
        return generate_latest(self.registry)
