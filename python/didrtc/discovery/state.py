"""The per-app resources of the discovery server, kept in ``app.extensions``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from flask_limiter import Limiter

from didrtc.discovery.metrics import Metrics
from didrtc.discovery.purge import Purger
from didrtc.discovery.search_cache import SearchCache
from didrtc.discovery.store import Store

__all__ = ["EXTENSION", "DiscoveryState", "state"]

EXTENSION = "didrtc.discovery"
"""The key of the app's :class:`DiscoveryState` in ``app.extensions``."""


@dataclass
class DiscoveryState:
    """What the views need, created once per app by :func:`didrtc.discovery.app.init_app`."""

    store: Store
    limiter: Limiter
    metrics: Metrics
    purger: Purger
    clock: Callable[[], float]
    search_cache: SearchCache

    def close(self) -> None:
        """Stop the purge thread and close the database connections."""
        self.purger.close()
        self.store.close()


def state() -> DiscoveryState:
    """The current app's :class:`DiscoveryState`."""
    value = current_app.extensions[EXTENSION]
    assert isinstance(value, DiscoveryState)
    return value
