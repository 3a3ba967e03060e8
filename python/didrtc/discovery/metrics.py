"""Prometheus metrics of one app: requests by route and status, registrations, search latency.

Each app has its own registry (no process-global state), except under
gunicorn with ``PROMETHEUS_MULTIPROC_DIR`` set: then every worker writes its
samples to files there and ``/metrics`` adds up all workers (see
``servers/discovery/gunicorn.conf.py``).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = ["Metrics"]

_SEARCH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The server's counters and histograms, and their text exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "didrtc_discovery_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.registrations = Counter(
            "didrtc_discovery_registrations",
            "Registration attempts, by outcome (registered, or the error code).",
            ["outcome"],
            registry=self.registry,
        )
        self.deletions = Counter(
            "didrtc_discovery_deletions",
            "Deletion attempts, by outcome (deleted, or the error code).",
            ["outcome"],
            registry=self.registry,
        )
        self.search_seconds = Histogram(
            "didrtc_discovery_search_seconds",
            "Time spent in the database answering a search.",
            buckets=_SEARCH_BUCKETS,
            registry=self.registry,
        )
        self.search_cache = Counter(
            "didrtc_discovery_search_cache",
            "Searches answered from this process's search cache (hit) or the database (miss).",
            ["outcome"],
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
