"""The discovery API's behaviour, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from didrtc import Identity
from didrtc.discovery.listing import MAX_LISTING_LIFETIME, parse_listing_token
from tests.discovery.discovery_support import FakeClock, deletion_token, listing_token, register


def test_registered_listing_is_found_by_search_and_by_did(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    token = listing_token(identity, clock())
    answer = register(client, token)
    assert answer.status_code == 200
    assert answer.json == {
        "status": "registered",
        "did": identity.did,
        "expires": int(clock()) + 3600,
    }

    results = client.get("/search", query_string={"query": "restaurant"}).json["results"]
    assert [result["did"] for result in results] == [identity.did]
    result = results[0]
    assert result["name"] == "Seoul Kitchen"
    assert result["categories"] == ["restaurant", "korean"]
    assert result["bootstrap_nodes"] == ["127.0.0.1:4000", "dht.example.org:4001"]
    assert result["service_endpoint"] == "https://seoul.example/didrtc"
    assert result["expires"] == int(clock()) + 3600
    assert result["token"] == token  # exactly what the answerer signed

    shown = client.get(f"/dids/{identity.did}")
    assert shown.status_code == 200
    assert shown.json == result


def test_json_body_registration_is_accepted(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    answer = client.post("/register", json={"token": listing_token(identity, clock())})
    assert answer.status_code == 200


def test_search_matches_word_prefixes_in_name_description_and_categories(
    client: FlaskClient, clock: FakeClock
) -> None:
    kitchen, barber, bakery = Identity.generate(), Identity.generate(), Identity.generate()
    register(client, listing_token(kitchen, clock()))
    register(
        client,
        listing_token(
            barber,
            clock(),
            name="Sharp Cuts",
            description="Hot towel shaves",
            categories=["barber"],
        ),
    )
    register(
        client,
        listing_token(
            bakery,
            clock(),
            name="Crumb",
            description="Sourdough; a korean pastry corner",
            categories=["bakery"],
        ),
    )

    def found(**params: Any) -> list[str]:
        answer = client.get("/search", query_string=params)
        assert answer.status_code == 200
        return [result["did"] for result in answer.json["results"]]

    assert found(query="bibim") == [kitchen.did]  # a prefix of a description word
    assert found(query="towel") == [barber.did]
    assert found(query="SHARP") == [barber.did]  # case-insensitive
    assert found(query="sourdough korean") == [bakery.did]  # every word must match
    # "korean" is a category of the kitchen and only a description word of the bakery:
    # categories weigh more, so the kitchen ranks first.
    assert found(query="korean") == [kitchen.did, bakery.did]
    assert found(query="korean", category="bakery") == [bakery.did]
    assert found(query="nothing-like-this") == []
    assert sorted(found()) == sorted([kitchen.did, barber.did, bakery.did])
    assert found(category="barber") == [barber.did]


def test_search_pages_through_every_result_with_the_cursor(
    client: FlaskClient, clock: FakeClock
) -> None:
    dids = set()
    for index in range(7):
        someone = Identity.generate()
        dids.add(someone.did)
        register(client, listing_token(someone, clock(), name=f"Noodle bar {index}"))
    seen: list[str] = []
    cursor = None
    for _page in range(10):
        params = {"query": "noodle", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        answer = client.get("/search", query_string=params).json
        assert len(answer["results"]) <= 3
        seen += [result["did"] for result in answer["results"]]
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(dids)


def test_a_cursor_only_works_for_its_own_query(client: FlaskClient, clock: FakeClock) -> None:
    for _ in range(3):
        register(client, listing_token(Identity.generate(), clock()))
    cursor = client.get("/search?query=seoul&limit=1").json["next_cursor"]
    assert cursor
    answer = client.get("/search", query_string={"query": "kitchen", "limit": 1, "cursor": cursor})
    assert answer.status_code == 400
    assert answer.json["error"] == "invalid_cursor"


def test_newer_registration_replaces_the_listing(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    assert register(client, listing_token(identity, clock())).status_code == 200
    clock.advance(10)
    newer = listing_token(identity, clock(), name="Seoul Kitchen II", categories=["cafe"])
    assert register(client, newer).status_code == 200
    shown = client.get(f"/dids/{identity.did}").json
    assert shown["name"] == "Seoul Kitchen II"
    assert shown["categories"] == ["cafe"]
    # The old categories no longer match.
    assert client.get("/search?category=restaurant").json["results"] == []
    assert [r["did"] for r in client.get("/search?category=cafe").json["results"]] == [identity.did]
    assert client.get("/search?query=seoul").json["results"][0]["name"] == "Seoul Kitchen II"


def test_older_or_same_age_registration_is_refused(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    older = listing_token(identity, clock() - 5, name="Old name")
    same_age = listing_token(identity, clock(), name="Same age")
    assert register(client, listing_token(identity, clock())).status_code == 200
    for token in (older, same_age):
        answer = register(client, token)
        assert answer.status_code == 409
        assert answer.json["error"] == "stale_listing"
        # Refused whole: its nonce was not kept either, so it is stale again, not a replay.
        assert register(client, token).json["error"] == "stale_listing"
    assert client.get(f"/dids/{identity.did}").json["name"] == "Seoul Kitchen"


def test_replayed_registration_is_refused(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    token = listing_token(identity, clock())
    assert register(client, token).status_code == 200
    answer = register(client, token)
    assert answer.status_code == 409
    assert answer.json["error"] == "replayed"


def test_replay_is_refused_even_by_another_app_on_the_same_database(
    make_app: Callable[..., Flask], identity: Identity, clock: FakeClock
) -> None:
    """Two server processes behind a load balancer share the nonce cache."""
    first, second = make_app().test_client(), make_app().test_client()
    token = listing_token(identity, clock())
    assert register(first, token).status_code == 200
    assert register(second, token).json["error"] == "replayed"


def test_expired_listing_disappears_at_once(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    register(client, listing_token(identity, clock(), exp=int(clock()) + 60))
    assert client.get(f"/dids/{identity.did}").status_code == 200
    clock.advance(60)
    assert client.get(f"/dids/{identity.did}").json["error"] == "not_found"
    assert client.get("/search?query=restaurant").json["results"] == []
    assert client.get("/search").json["results"] == []


def test_a_new_registration_replaces_an_expired_listing_whatever_its_iat(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    register(client, listing_token(identity, clock(), exp=int(clock()) + 30))
    clock.advance(60)
    # Issued before the expired one (but still fresh): fine, the old one is gone.
    answer = register(client, listing_token(identity, clock() - 120, name="Back again"))
    assert answer.status_code == 200
    assert client.get(f"/dids/{identity.did}").json["name"] == "Back again"


def test_purge_removes_expired_rows(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, clock: FakeClock
) -> None:
    for _ in range(3):
        register(client, listing_token(Identity.generate(), clock(), exp=int(clock()) + 60))
    result = runner.invoke(args=["purge-expired"])
    assert result.exit_code == 0
    assert "purged 0 expired rows" in result.output
    clock.advance(MAX_LISTING_LIFETIME)
    result = runner.invoke(args=["purge-expired"])
    assert "purged 6 expired rows" in result.output  # 3 listings and their 3 nonces


def test_purge_thread_runs_in_the_background(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    app = make_app(DISCOVERY_PURGE_INTERVAL=0.05)
    client = app.test_client()
    register(client, listing_token(Identity.generate(), clock(), exp=int(clock()) + 60))
    store = app.extensions["didrtc.discovery"].store
    assert _rows(store) == 1
    clock.advance(10_000)
    client.get("/healthz")  # the first request starts the thread
    for _ in range(200):  # bounded: at most ~10 s
        if _rows(store) == 0:
            break
        time.sleep(0.05)
    assert _rows(store) == 0


def _rows(store: Any) -> int:
    from sqlalchemy import func, select

    from didrtc.discovery.store.schema import listings

    with store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(listings)).scalar_one())


def test_delete_removes_the_listing(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    register(client, listing_token(identity, clock()))
    clock.advance(1)
    answer = client.delete(
        f"/dids/{identity.did}",
        headers={"Authorization": f"Bearer {deletion_token(identity, clock())}"},
    )
    assert answer.status_code == 200
    assert answer.json == {"status": "deleted", "did": identity.did}
    assert client.get(f"/dids/{identity.did}").status_code == 404
    assert client.get("/search?query=seoul").json["results"] == []


def test_registration_signed_before_a_deletion_cannot_bring_the_listing_back(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    delayed = listing_token(identity, clock() - 10, name="Delayed")
    register(client, listing_token(identity, clock() - 20))
    client.delete(
        f"/dids/{identity.did}",
        headers={"Authorization": f"Bearer {deletion_token(identity, clock())}"},
    )
    answer = register(client, delayed)
    assert answer.status_code == 409
    assert answer.json["error"] == "stale_listing"
    clock.advance(1)
    assert register(client, listing_token(identity, clock())).status_code == 200


def test_deleting_what_is_not_listed_is_not_found(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    answer = client.delete(
        f"/dids/{identity.did}",
        headers={"Authorization": f"Bearer {deletion_token(identity, clock())}"},
    )
    assert answer.status_code == 404
    assert answer.json["error"] == "not_found"


def test_deletion_signed_before_the_current_listing_is_refused(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    early = deletion_token(identity, clock() - 30)
    register(client, listing_token(identity, clock()))
    answer = client.delete(f"/dids/{identity.did}", headers={"Authorization": f"Bearer {early}"})
    assert answer.status_code == 409
    assert answer.json["error"] == "stale_listing"
    assert client.get(f"/dids/{identity.did}").status_code == 200


def test_deletion_for_another_server_or_by_another_did_is_refused(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    register(client, listing_token(identity, clock()))
    other = Identity.generate()
    cases = [
        (
            deletion_token(identity, clock(), audience="https://elsewhere.example"),
            403,
            "wrong_audience",
        ),
        (deletion_token(other, clock()), 403, "wrong_signer"),
        (deletion_token(other, clock(), did=identity.did), 403, "wrong_signer"),
    ]
    for token, status, code in cases:
        answer = client.delete(
            f"/dids/{identity.did}", headers={"Authorization": f"Bearer {token}"}
        )
        assert (answer.status_code, answer.json["error"]) == (status, code)
    assert client.get(f"/dids/{identity.did}").status_code == 200


def test_replayed_deletion_is_refused(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    token = deletion_token(identity, clock())
    register(client, listing_token(identity, clock() - 1))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.delete(f"/dids/{identity.did}", headers=headers).status_code == 200
    answer = client.delete(f"/dids/{identity.did}", headers=headers)
    assert answer.json["error"] == "replayed"


def test_configured_audience_is_the_one_deletions_must_name(
    make_app: Callable[..., Flask], identity: Identity, clock: FakeClock
) -> None:
    client = make_app(DISCOVERY_AUDIENCE="https://discovery.example").test_client()
    assert client.get("/healthz").json["audience"] == "https://discovery.example"
    register(client, listing_token(identity, clock() - 1))
    token = deletion_token(identity, clock(), audience="https://discovery.example")
    answer = client.delete(f"/dids/{identity.did}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200


def test_listing_returned_by_the_server_verifies_as_signed(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    register(client, listing_token(identity, clock()))
    result = client.get("/search?query=seoul").json["results"][0]
    listing = parse_listing_token(result["token"], now=clock())
    assert listing.did == identity.did
    assert list(listing.categories) == result["categories"]


def test_healthz_metrics_and_openapi(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    assert client.get("/healthz").json == {"status": "ok", "audience": "http://localhost"}
    register(client, listing_token(identity, clock()))
    register(client, "garbage")
    client.get("/search?query=seoul")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.get_data(as_text=True)
    assert 'didrtc_discovery_registrations_total{outcome="registered"} 1.0' in text
    assert 'didrtc_discovery_registrations_total{outcome="invalid_token"} 1.0' in text
    assert (
        'didrtc_discovery_requests_total{method="POST",route="/register",status="200"} 1.0' in text
    )
    assert "didrtc_discovery_search_seconds_count 1.0" in text
    document = client.get("/openapi.json").json
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/register",
        "/search",
        "/dids/{did}",
        "/healthz",
        "/metrics",
        "/openapi.json",
    }


def test_cors_allows_browser_clients(client: FlaskClient) -> None:
    answer = client.options(
        "/register",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert answer.headers["Access-Control-Allow-Origin"] in {"*", "https://app.example"}
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]


def test_cors_headers_answer_browsers_and_vary_by_origin(client: FlaskClient) -> None:
    from_browser = client.get("/search?query=x", headers={"Origin": "https://app.example"})
    assert from_browser.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Retry-After" in from_browser.headers["Access-Control-Expose-Headers"]
    # Other clients are not subject to CORS; a cache must not hand their answer to a browser.
    from_script = client.get("/search?query=x")
    assert "Access-Control-Allow-Origin" not in from_script.headers
    for answer in (from_browser, from_script):
        assert answer.status_code == 200
        assert answer.headers.getlist("Vary") == ["Origin"]


def test_cors_refuses_origins_not_configured(make_app: Callable[..., Flask]) -> None:
    client = make_app(DISCOVERY_CORS_ORIGINS=["https://app.example"]).test_client()
    allowed = client.get("/search?query=x", headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    other = client.get("/search?query=x", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert other.headers.getlist("Vary") == ["Origin"]


@pytest.mark.parametrize("count", [25])
def test_registrations_of_many_dids_are_all_kept(
    client: FlaskClient, clock: FakeClock, count: int
) -> None:
    dids = set()
    for _ in range(count):
        someone = Identity.generate()
        dids.add(someone.did)
        assert register(client, listing_token(someone, clock())).status_code == 200
    found = client.get("/search", query_string={"query": "kitchen", "limit": 100}).json["results"]
    assert {result["did"] for result in found} == dids
