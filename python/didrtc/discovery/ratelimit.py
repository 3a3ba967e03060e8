"""Rate limits per client address (every route) and per DID (registrations and deletions).

The per-address limit is checked before any work; the per-DID one only once
the request's signature verified, so nobody can spend another DID's quota by
sending junk in its name.
"""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

__all__ = ["EXEMPT_ENDPOINTS", "create_limiter", "limit_did"]

EXEMPT_ENDPOINTS = frozenset({"service.healthz", "service.metrics", "service.openapi"})
"""Monitoring routes a load balancer and Prometheus poll: never limited."""


def create_limiter(app: Flask) -> Limiter:
    """The app's limiter, with the per-address default limit on every other route."""
    limiter = Limiter(
        key_func=get_remote_address,
        default_limits=[app.config["DISCOVERY_RATE_LIMIT"]],
        default_limits_exempt_when=lambda: request.endpoint in EXEMPT_ENDPOINTS,
        storage_uri=app.config["DISCOVERY_RATE_LIMIT_STORAGE"],
        headers_enabled=True,
        key_prefix="didrtc-discovery",
        strategy="moving-window",
    )
    limiter.init_app(app)
    return limiter


def limit_did(limiter: Limiter, app: Flask, did: str) -> None:
    """Count one write for ``did``; raises ``RateLimitExceeded`` (429) past the per-DID limit."""
    if not limiter.enabled:
        return
    with limiter.limit(
        app.config["DISCOVERY_RATE_LIMIT_PER_DID"], key_func=lambda: did, scope="did"
    ):
        pass
