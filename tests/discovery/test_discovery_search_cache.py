"""The per-process search cache: repeated searches skip the database, answers stay exact.

Exact means: an expired listing leaves every answer the second it expires,
and a registration or deletion shows in the next search of the process that
handled it. Other processes converge within the cache's TTL (see
``didrtc.discovery.search_cache``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from didrtc import Identity
from didrtc.discovery.search_cache import SearchCache
from didrtc.discovery.store.listings import StoredListing
from tests.discovery.discovery_support import FakeClock, deletion_token, listing_token, register


def _row(expires: int) -> StoredListing:
    return StoredListing(
        did="did:key:z6Mk", name="n", description="", categories=["c"], bootstrap_nodes=["h:1"],
        service_endpoint="https://e", issued_at=0, expires=expires, token="t",
    )  # fmt: skip


def _found(client: FlaskClient, query: str) -> list[str]:
    answer = client.get("/search", query_string={"query": query})
    assert answer.status_code == 200, answer.json
    return [result["did"] for result in answer.json["results"]]


def _cache_counts(client: FlaskClient) -> dict[str, float]:
    text = client.get("/metrics").get_data(as_text=True)
    counts = {"hit": 0.0, "miss": 0.0}
    for line in text.splitlines():
        for outcome in counts:
            if line.startswith(f'didrtc_discovery_search_cache_total{{outcome="{outcome}"}}'):
                counts[outcome] = float(line.rsplit(" ", 1)[1])
    return counts


class TestSearchCacheUnit:
    def test_entry_lives_for_the_ttl(self) -> None:
        cache = SearchCache(ttl=1.0, max_entries=10)
        cache.put("k", [_row(expires=1000)], now=100.0)
        assert cache.get("k", now=100.9) == [_row(expires=1000)]
        assert cache.get("k", now=101.0) is None

    def test_entry_never_outlives_its_first_expiry(self) -> None:
        cache = SearchCache(ttl=60.0, max_entries=10)
        cache.put("k", [_row(expires=105), _row(expires=103)], now=100.0)
        assert cache.get("k", now=102.99) is not None
        assert cache.get("k", now=103.0) is None

    def test_empty_pages_are_cached_for_the_ttl(self) -> None:
        cache = SearchCache(ttl=1.0, max_entries=10)
        cache.put("k", [], now=100.0)
        assert cache.get("k", now=100.5) == []

    def test_least_recently_used_entry_is_evicted(self) -> None:
        cache = SearchCache(ttl=10.0, max_entries=2)
        cache.put("a", [], now=0.0)
        cache.put("b", [], now=0.0)
        assert cache.get("a", now=0.0) == []  # a is now the most recent
        cache.put("c", [], now=0.0)
        assert len(cache) == 2
        assert cache.get("b", now=0.0) is None
        assert cache.get("a", now=0.0) == []

    def test_zero_ttl_disables_it(self) -> None:
        cache = SearchCache(ttl=0, max_entries=10)
        cache.put("k", [], now=0.0)
        assert cache.get("k", now=0.0) is None
        assert len(cache) == 0

    @pytest.mark.parametrize(("ttl", "entries"), [(-1.0, 10), (1.0, 0)])
    def test_bad_settings_are_refused(self, ttl: float, entries: int) -> None:
        with pytest.raises(ValueError, match="search cache"):
            SearchCache(ttl=ttl, max_entries=entries)


def test_a_repeated_search_is_answered_from_the_cache(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    assert register(client, listing_token(identity, clock())).status_code == 200
    assert _found(client, "seoul") == [identity.did]
    assert _found(client, "seoul") == [identity.did]
    assert _cache_counts(client) == {"hit": 1.0, "miss": 1.0}
    clock.advance(1.0)  # the TTL has passed: the database answers again
    assert _found(client, "seoul") == [identity.did]
    assert _cache_counts(client) == {"hit": 1.0, "miss": 2.0}


def test_an_expired_listing_leaves_cached_answers_at_once(
    make_app: Callable[..., Flask], identity: Identity, clock: FakeClock
) -> None:
    client = make_app(DISCOVERY_SEARCH_CACHE_SECONDS=3600.0).test_client()
    token = listing_token(identity, clock(), exp=int(clock()) + 10)
    assert register(client, token).status_code == 200
    assert _found(client, "seoul") == [identity.did]
    clock.advance(9.5)
    assert _found(client, "seoul") == [identity.did]
    clock.advance(0.5)  # exactly its expiry: gone, though the TTL is an hour
    assert _found(client, "seoul") == []


def test_a_registration_shows_in_the_next_search(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    assert _found(client, "seoul") == []
    assert register(client, listing_token(identity, clock())).status_code == 200
    assert _found(client, "seoul") == [identity.did]


def test_a_deletion_shows_in_the_next_search(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    assert register(client, listing_token(identity, clock())).status_code == 200
    assert _found(client, "seoul") == [identity.did]
    token = deletion_token(identity, clock())
    answer = client.delete(f"/dids/{identity.did}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.json
    assert _found(client, "seoul") == []


def test_a_zero_ttl_sends_every_search_to_the_database(
    make_app: Callable[..., Flask], identity: Identity, clock: FakeClock
) -> None:
    client = make_app(DISCOVERY_SEARCH_CACHE_SECONDS=0).test_client()
    assert register(client, listing_token(identity, clock())).status_code == 200
    for _ in range(3):
        assert _found(client, "seoul") == [identity.did]
    assert _cache_counts(client) == {"hit": 0.0, "miss": 3.0}
