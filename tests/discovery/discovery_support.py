"""Helpers for the discovery tests: a settable clock and signed requests built to order."""

from __future__ import annotations

import secrets
import time
from typing import Any

from didrtc import Identity, jws
from didrtc.discovery.deletion import DELETION_TYP
from didrtc.discovery.listing import LISTING_TYP


class FakeClock:
    """A clock the app reads and tests move: ``clock()`` is the current time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def listing_payload(identity: Identity, now: float, **overrides: Any) -> dict[str, Any]:
    """A valid registration payload for ``identity`` issued at ``now``, with ``overrides``."""
    payload: dict[str, Any] = {
        "did": identity.did,
        "name": "Seoul Kitchen",
        "description": "Bibimbap, banchan and barbecue in the old town",
        "categories": ["restaurant", "korean"],
        "bootstrap_nodes": ["127.0.0.1:4000", "dht.example.org:4001"],
        "service_endpoint": "https://seoul.example/didrtc",
        "iat": int(now),
        "exp": int(now) + 3600,
        "nonce": secrets.token_urlsafe(16),
    }
    payload.update(overrides)
    return {key: value for key, value in payload.items() if value is not DROP}


DROP = object()
"""Pass as an override to leave a claim out."""


def listing_token(identity: Identity, now: float, **overrides: Any) -> str:
    """A registration token (see :func:`listing_payload`)."""
    return jws.sign(identity, listing_payload(identity, now, **overrides), typ=LISTING_TYP)


def deletion_token(
    identity: Identity, now: float, audience: str = "http://localhost", **overrides: Any
) -> str:
    """A deletion token for ``identity`` meant for ``audience``."""
    payload: dict[str, Any] = {
        "did": identity.did,
        "aud": audience,
        "iat": int(now),
        "exp": int(now) + 300,
        "nonce": secrets.token_urlsafe(16),
    }
    payload.update(overrides)
    payload = {key: value for key, value in payload.items() if value is not DROP}
    return jws.sign(identity, payload, typ=DELETION_TYP)


def register(client: Any, token: str) -> Any:
    """POST a registration token the way the client does."""
    return client.post("/register", data=token, content_type="application/jose")


def now_int() -> int:
    return int(time.time())
