"""Rate limits per client address and per DID answer 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from didrtc import Identity
from tests.discovery.discovery_support import FakeClock, listing_token, register


def test_per_address_limit(make_app: Callable[..., Flask]) -> None:
    app = make_app(RATELIMIT_ENABLED=True, DISCOVERY_RATE_LIMIT="3 per minute")
    client = app.test_client()
    answers = [client.get("/search?query=x") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.json["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    # Another address has its own budget; monitoring routes are never limited.
    other = client.get("/search?query=x", environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert other.status_code == 200
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))


def test_per_did_limit_counts_only_verified_requests(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    app = make_app(RATELIMIT_ENABLED=True, DISCOVERY_RATE_LIMIT_PER_DID="2 per minute")
    client = app.test_client()
    alice, bob = Identity.generate(), Identity.generate()
    # Junk claiming to be alice does not spend her budget: it fails before the count.
    for _ in range(3):
        forged = listing_token(bob, clock(), did=alice.did)
        assert register(client, forged).json["error"] == "wrong_signer"
    statuses = []
    for step in range(3):
        statuses.append(register(client, listing_token(alice, clock() + step)).status_code)
    assert statuses == [200, 200, 429]
    assert register(client, listing_token(bob, clock())).status_code == 200
