"""Token-bucket rate limits keyed by address or DID, in bounded memory."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["RateLimit", "RateLimiter"]


@dataclass(frozen=True)
class RateLimit:
    """``burst`` requests at once, refilled at ``per_second``."""

    burst: int
    """The bucket's size: how many requests may come back to back."""
    per_second: float
    """How fast the bucket refills."""

    def __post_init__(self) -> None:
        if self.burst < 1 or not self.per_second > 0:
            raise ValueError(f"a rate limit needs burst >= 1 and per_second > 0: {self!r}")


class RateLimiter:
    """One token bucket per key; the least recently used keys are forgotten past ``max_keys``.

    Forgetting a key only gives it a full bucket again, so the memory bound costs
    at most one extra burst per evicted key, never a crash or unbounded growth.
    """

    def __init__(self, limit: RateLimit, *, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, *, now: float | None = None) -> float | None:
        """Spend one token for ``key``; ``None`` if allowed, else seconds until one is free."""
        current = time.monotonic() if now is None else now
        tokens, stamp = self._buckets.pop(key, (float(self.limit.burst), current))
        tokens = min(float(self.limit.burst), tokens + (current - stamp) * self.limit.per_second)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, current)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return None if allowed else (1.0 - tokens) / self.limit.per_second
