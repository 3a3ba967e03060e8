"""The per-process search cache: repeated searches skip the database, answers stay exact.

Exact means: an expired listing leaves every answer the second it expires,
and a registration or deletion shows in the next search of the process that
handled it. Other processes converge within the cache's TTL (see
``didrtc.discovery.search_cache``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from didrtc import Identity
from didrtc.discovery.search_cache import SearchCache
from tests.discovery.discovery_support import FakeClock, deletion_token, listing_token, register


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
        cache.put("k", b"page", now=100.0, first_expiry=1000)
        assert cache.get("k", now=100.9) == b"page"
        assert cache.get("k", now=101.0) is None

    def test_entry_never_outlives_its_first_expiry(self) -> None:
        cache = SearchCache(ttl=60.0, max_entries=10)
        cache.put("k", b"page", now=100.0, first_expiry=103)
        assert cache.get("k", now=102.99) == b"page"
        assert cache.get("k", now=103.0) is None

    def test_empty_pages_are_cached_for_the_ttl(self) -> None:
        cache = SearchCache(ttl=1.0, max_entries=10)
        cache.put("k", b"empty", now=100.0, first_expiry=None)
        assert cache.get("k", now=100.5) == b"empty"
        assert cache.get("k", now=101.0) is None

    def test_least_recently_used_entry_is_evicted(self) -> None:
        cache = SearchCache(ttl=10.0, max_entries=2)
        cache.put("a", b"A", now=0.0, first_expiry=None)
        cache.put("b", b"B", now=0.0, first_expiry=None)
        assert cache.get("a", now=0.0) == b"A"  # a is now the most recent
        cache.put("c", b"C", now=0.0, first_expiry=None)
        assert len(cache) == 2
        assert cache.get("b", now=0.0) is None
        assert cache.get("a", now=0.0) == b"A"

    def test_zero_ttl_disables_it(self) -> None:
        cache = SearchCache(ttl=0, max_entries=10)
        cache.put("k", b"page", now=0.0, first_expiry=None)
        assert cache.get("k", now=0.0) is None
        assert len(cache) == 0

    @pytest.mark.parametrize(("ttl", "entries"), [(-1.0, 10), (1.0, 0)])
    def test_bad_settings_are_refused(self, ttl: float, entries: int) -> None:
        with pytest.raises(ValueError, match="search cache"):
            SearchCache(ttl=ttl, max_entries=entries)


class TestOneBuildAtATime:
    """``get_or_build``: concurrent requests for a lapsed page share one database read."""

    def test_threads_asking_meanwhile_share_the_one_build(self) -> None:
        cache = SearchCache(ttl=1.0, max_entries=10)
        started, release = threading.Event(), threading.Event()
        builds: list[int] = []

        def build() -> tuple[bytes, float | None]:
            builds.append(1)
            started.set()
            assert release.wait(10)
            return b"page", None

        outcomes: list[tuple[bytes, str]] = []
        owner = threading.Thread(
            target=lambda: outcomes.append(cache.get_or_build("k", lambda: 0.0, build))
        )
        owner.start()
        assert started.wait(10)
        waiters = [
            threading.Thread(
                target=lambda: outcomes.append(cache.get_or_build("k", lambda: 0.0, build))
            )
            for _ in range(4)
        ]
        for waiter in waiters:
            waiter.start()
        time.sleep(0.05)  # let the waiters reach the wait; the outcome holds either way
        release.set()
        for thread in [owner, *waiters]:
            thread.join(10)
        assert len(builds) == 1
        # One thread read the database; the rest waited for it (or, arriving after it
        # finished, found its page cached). Without the single build each would read.
        assert sorted(outcome for _, outcome in outcomes)[0] == "miss"
        assert [outcome for _, outcome in outcomes].count("miss") == 1
        assert {outcome for _, outcome in outcomes} <= {"miss", "shared", "hit"}
        assert {page for page, _ in outcomes} == {b"page"}

    def test_a_failed_build_lets_the_waiters_build_their_own(self) -> None:
        cache = SearchCache(ttl=1.0, max_entries=10)
        started, release = threading.Event(), threading.Event()

        def failing() -> tuple[bytes, float | None]:
            started.set()
            assert release.wait(10)
            raise RuntimeError("the database went away")

        errors: list[BaseException] = []

        def own() -> None:
            try:
                cache.get_or_build("k", lambda: 0.0, failing)
            except RuntimeError as error:
                errors.append(error)

        owner = threading.Thread(target=own)
        owner.start()
        assert started.wait(10)
        answers: list[tuple[bytes, str]] = []
        waiter = threading.Thread(
            target=lambda: answers.append(
                cache.get_or_build("k", lambda: 0.0, lambda: (b"mine", None))
            )
        )
        waiter.start()
        release.set()
        owner.join(10)
        waiter.join(10)
        assert [str(error) for error in errors] == ["the database went away"]
        assert answers == [(b"mine", "miss")]
        assert cache.get("k", now=0.0) == b"mine"

    def test_a_page_read_before_a_local_write_is_not_kept(self) -> None:
        cache = SearchCache(ttl=60.0, max_entries=10)

        def build_across_a_write() -> tuple[bytes, float | None]:
            cache.clear()  # a registration commits while this page is being read
            return b"before the write", None

        assert cache.get_or_build("k", lambda: 0.0, build_across_a_write) == (
            b"before the write",
            "miss",
        )
        assert cache.get("k", now=0.0) is None
        assert cache.get_or_build("k", lambda: 0.0, lambda: (b"after", None)) == (b"after", "miss")
        assert cache.get_or_build("k", lambda: 0.0, lambda: (b"unused", None)) == (b"after", "hit")

    def test_zero_ttl_builds_every_time(self) -> None:
        cache = SearchCache(ttl=0, max_entries=10)
        pages = iter([b"one", b"two"])
        assert cache.get_or_build("k", lambda: 0.0, lambda: (next(pages), None)) == (b"one", "miss")
        assert cache.get_or_build("k", lambda: 0.0, lambda: (next(pages), None)) == (b"two", "miss")


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


def test_a_hit_answers_the_same_bytes_as_the_database(
    make_app: Callable[..., Flask], identity: Identity, clock: FakeClock
) -> None:
    cached = make_app(DISCOVERY_SEARCH_CACHE_SECONDS=60.0).test_client()
    uncached = make_app(DISCOVERY_SEARCH_CACHE_SECONDS=0).test_client()
    assert register(cached, listing_token(identity, clock())).status_code == 200
    pages = [cached.get("/search?query=seoul") for _ in range(2)]
    direct = uncached.get("/search?query=seoul")
    assert _cache_counts(cached) == {"hit": 1.0, "miss": 1.0}
    assert pages[0].get_data() == pages[1].get_data() == direct.get_data()
    assert pages[1].mimetype == direct.mimetype == "application/json"


def test_a_listing_just_past_the_page_still_bounds_its_life(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    # The page fetches limit + 1 rows to know whether a next page exists; when that
    # extra listing expires, next_cursor changes, so the cached page must go too.
    client = make_app(DISCOVERY_SEARCH_CACHE_SECONDS=3600.0).test_client()
    lasting, brief = Identity.generate(), Identity.generate()
    assert register(client, listing_token(lasting, clock())).status_code == 200
    brief_token = listing_token(brief, clock(), exp=int(clock()) + 10)
    assert register(client, brief_token).status_code == 200
    first = client.get("/search?query=seoul&limit=1").json
    assert len(first["results"]) == 1
    assert first["next_cursor"] is not None
    clock.advance(10.0)
    after = client.get("/search?query=seoul&limit=1").json
    assert [result["did"] for result in after["results"]] == [lasting.did]
    assert after["next_cursor"] is None


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
