"""Every bad request gets a 4xx with ``{"error": code, "message": ...}``, never a 500."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from didrtc import Identity, jws
from didrtc.discovery.listing import LISTING_TYP, MAX_LISTING_LIFETIME
from tests.discovery.discovery_support import (
    DROP,
    FakeClock,
    deletion_token,
    listing_payload,
    listing_token,
    register,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _assert_error(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/json"
    body = answer.json
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    assert isinstance(body["message"], str)
    assert body["message"]


def _resigned(identity: Identity, token: str, **changes: Any) -> str:
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    payload.update(changes)
    return jws.sign(identity, payload, typ=LISTING_TYP)


BAD_LISTINGS: dict[str, dict[str, Any]] = {
    "empty name": {"name": ""},
    "blank name": {"name": "   "},
    "name too long": {"name": "x" * 101},
    "control character in name": {"name": "Seoul\x00Kitchen"},
    "name not a string": {"name": 42},
    "description too long": {"description": "x" * 1001},
    "control character in description": {"description": "bell\x07"},
    "no categories": {"categories": []},
    "too many categories": {"categories": [f"c{i}" for i in range(11)]},
    "uppercase category": {"categories": ["Restaurant"]},
    "category too long": {"categories": ["x" * 33]},
    "category with a space": {"categories": ["fine dining"]},
    "duplicate category": {"categories": ["cafe", "cafe"]},
    "categories not a list": {"categories": "restaurant"},
    "category not a string": {"categories": [7]},
    "no bootstrap nodes": {"bootstrap_nodes": []},
    "too many bootstrap nodes": {"bootstrap_nodes": [f"10.0.0.{i}:4000" for i in range(17)]},
    "bootstrap node without a port": {"bootstrap_nodes": ["dht.example.org"]},
    "bootstrap port out of range": {"bootstrap_nodes": ["dht.example.org:70000"]},
    "bootstrap port zero": {"bootstrap_nodes": ["dht.example.org:0"]},
    "bootstrap host with a slash": {"bootstrap_nodes": ["evil/host:4000"]},
    "bootstrap bad ipv6": {"bootstrap_nodes": ["[::zz]:4000"]},
    "endpoint too long": {"service_endpoint": "https://x.example/" + "a" * 500},
    "endpoint without a scheme": {"service_endpoint": "seoul.example"},
    "endpoint with a space": {"service_endpoint": "https://seoul.example/a b"},
    "unknown field": {"owner": "someone"},
    "missing field": {"service_endpoint": DROP},
    "did of another method": {"did": "did:web:seoul.example"},
}


@pytest.mark.parametrize("changes", BAD_LISTINGS.values(), ids=list(BAD_LISTINGS))
def test_listing_outside_its_limits_is_refused(
    client: FlaskClient, identity: Identity, clock: FakeClock, changes: dict[str, Any]
) -> None:
    token = jws.sign(identity, listing_payload(identity, clock(), **changes), typ=LISTING_TYP)
    _assert_error(register(client, token), 422, "invalid_listing")
    assert client.get("/search").json["results"] == []


def test_freshness_and_lifetime_rules(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    now = int(clock())
    cases = [
        (listing_token(identity, now - 4000, exp=now - 1), 401, "token_expired"),
        (listing_token(identity, now + 600, exp=now + 3600), 401, "token_not_yet_valid"),
        (listing_token(identity, now - 301, exp=now + 3600), 401, "stale_token"),
        (listing_token(identity, now, exp=now + MAX_LISTING_LIFETIME + 1), 400, "invalid_token"),
        (listing_token(identity, now + 10, exp=now + 5), 400, "invalid_token"),
        (listing_token(identity, now, iat=str(now)), 400, "invalid_token"),
        (listing_token(identity, now, iat=True), 400, "invalid_token"),
        (listing_token(identity, now, exp=DROP), 400, "invalid_token"),
        (listing_token(identity, now, nonce=DROP), 400, "invalid_token"),
        (listing_token(identity, now, nonce="short"), 400, "invalid_token"),
        (listing_token(identity, now, nonce="x" * 65), 400, "invalid_token"),
        (listing_token(identity, now, nonce="not/base64url+chars!"), 400, "invalid_token"),
    ]
    for token, status, code in cases:
        _assert_error(register(client, token), status, code)
    assert client.get("/search").json["results"] == []


def test_wrongly_signed_registrations_are_refused(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    mallory = Identity.generate()
    good = listing_token(identity, clock())
    header, payload, signature = good.split(".")
    forged_signature = _b64(bytes(64))
    tampered_payload = _b64(
        json.dumps(
            {**json.loads(base64.urlsafe_b64decode(payload + "==")), "name": "Evil"}
        ).encode()
    )
    other_typ = jws.sign(identity, listing_payload(identity, clock()), typ="didrtc-delete+jws")
    no_typ = jws.sign(identity, listing_payload(identity, clock()))
    alg_none = ".".join(
        [_b64(json.dumps({"alg": "none", "kid": identity.did + "#x"}).encode()), payload, ""]
    )
    cases = [
        (f"{header}.{payload}.{forged_signature}", 401, "invalid_signature"),
        (f"{header}.{tampered_payload}.{signature}", 401, "invalid_signature"),
        # Signed by mallory, listing alice: refused although the signature is valid.
        (
            jws.sign(mallory, listing_payload(identity, clock()), typ=LISTING_TYP),
            403,
            "wrong_signer",
        ),
        (other_typ, 400, "invalid_token"),
        (no_typ, 400, "invalid_token"),
        (alg_none, 400, "invalid_token"),
        (f"{header}.{payload}", 400, "invalid_token"),
        ("not a token", 400, "invalid_token"),
        ("a.b.c", 400, "invalid_token"),
        (f"{header}.{payload}.{signature}=", 400, "invalid_token"),
    ]
    for token, status, code in cases:
        _assert_error(register(client, token), status, code)
    assert client.get("/search").json["results"] == []


def test_malformed_bodies_are_refused(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    token = listing_token(identity, clock())
    cases = [
        (
            client.post("/register", data=token, content_type="text/plain"),
            415,
            "unsupported_media_type",
        ),
        (client.post("/register", data=token), 415, "unsupported_media_type"),
        (client.post("/register", data=b"", content_type="application/jose"), 400, "invalid_token"),
        (
            client.post("/register", data=b"\xff\xfe", content_type="application/jose"),
            400,
            "bad_request",
        ),
        (client.post("/register", data="{", content_type="application/json"), 400, "bad_request"),
        (client.post("/register", json=[token]), 400, "bad_request"),
        (client.post("/register", json={"token": 5}), 400, "bad_request"),
        (client.post("/register", json={"token": token, "extra": 1}), 400, "bad_request"),
        (
            client.post("/register", data="[" * 100_00, content_type="application/json"),
            400,
            "bad_request",
        ),
    ]
    for answer, status, code in cases:
        _assert_error(answer, status, code)


def test_oversized_requests_are_refused_before_parsing(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    huge = listing_token(identity, clock(), description="x" * 1000, name="y" * 100)
    padded = huge + " " * 0
    big_token = jws.sign(
        identity, listing_payload(identity, clock(), junk="z" * 9000), typ=LISTING_TYP
    )
    _assert_error(register(client, big_token), 413, "too_large")
    _assert_error(register(client, "x" * 20_000), 413, "too_large")
    _assert_error(client.post("/register", json={"token": "x" * 20_000}), 413, "too_large")
    assert register(client, padded).status_code == 200  # the largest valid listing fits


def test_bad_search_parameters_are_refused(client: FlaskClient) -> None:
    cases = [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"limit": "-1"},
        {"limit": " 5"},
        {"category": "Not Valid"},
        {"category": ""},
        {"query": "x" * 257},
        {"cursor": "!!!"},
        {"cursor": "eyJvIjowfQ"},  # {"o":0} - not one the server issued
        {"cursor": _b64(json.dumps({"o": 10**9, "f": "x"}).encode())},
        {"cursor": "a" * 201},
    ]
    for params in cases:
        answer = client.get("/search", query_string=params)
        assert answer.status_code == 400, params
        assert answer.json["error"] in {"bad_request", "invalid_cursor"}
    _assert_error(client.get("/search?query=a&query=b"), 400, "bad_request")


def test_odd_search_queries_are_not_errors(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    register(client, listing_token(identity, clock()))
    for query in ['"', "*", "NEAR(", "a OR b", "'", "\\", "&|!:*", "-", "()", "한식", "\x00", "_"]:
        answer = client.get("/search", query_string={"query": query})
        assert answer.status_code == 200, query


def test_bad_dids_in_paths_are_refused(client: FlaskClient) -> None:
    _assert_error(client.get("/dids/did:key:zNotBase58!"), 400, "bad_request")
    _assert_error(client.get("/dids/did:web:example.org"), 400, "bad_request")
    _assert_error(client.get("/dids/" + "z" * 5000), 400, "bad_request")
    _assert_error(client.get(f"/dids/{Identity.generate().did}"), 404, "not_found")


def test_bad_deletions_are_refused(
    client: FlaskClient, identity: Identity, clock: FakeClock
) -> None:
    register(client, listing_token(identity, clock() - 1))
    path = f"/dids/{identity.did}"
    now = clock()
    cases = [
        ({}, 400, "invalid_token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 400, "invalid_token"),
        ({"Authorization": "Bearer "}, 400, "invalid_token"),
        ({"Authorization": "Bearer garbage"}, 400, "invalid_token"),
        ({"Authorization": f"Bearer {listing_token(identity, now)}"}, 400, "invalid_token"),
        (
            {"Authorization": f"Bearer {deletion_token(identity, now, exp=int(now) + 3600)}"},
            400,
            "invalid_token",
        ),
        (
            {"Authorization": f"Bearer {deletion_token(identity, now - 400, exp=int(now) - 1)}"},
            401,
            "token_expired",
        ),
        (
            {"Authorization": f"Bearer {deletion_token(identity, now - 301, exp=int(now) + 100)}"},
            401,
            "stale_token",
        ),
        (
            {"Authorization": f"Bearer {deletion_token(identity, now + 500)}"},
            401,
            "token_not_yet_valid",
        ),
        (
            {"Authorization": f"Bearer {deletion_token(identity, now, extra=1)}"},
            400,
            "invalid_token",
        ),
        (
            {"Authorization": f"Bearer {deletion_token(identity, now, aud=DROP)}"},
            400,
            "invalid_token",
        ),
        ({"Authorization": "Bearer " + "x" * 3000}, 413, "too_large"),
    ]
    for headers, status, code in cases:
        _assert_error(client.delete(path, headers=headers), status, code)
    assert client.get(path).status_code == 200


def test_unknown_routes_and_methods_get_json_errors(client: FlaskClient) -> None:
    _assert_error(client.get("/nope"), 404, "not_found")
    _assert_error(client.get("/register"), 405, "method_not_allowed")
    answer = client.put("/search")
    _assert_error(answer, 405, "method_not_allowed")
    assert "GET" in answer.headers["Allow"]
    _assert_error(client.post("/dids/x"), 405, "method_not_allowed")


def test_a_bug_is_a_json_500_without_internals(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = app.extensions["didrtc.discovery"].store

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(store, "search", broken)
    answer = client.get("/search?query=x")
    _assert_error(answer, 500, "internal_error")
    assert "secret" not in answer.get_data(as_text=True)


def test_unreachable_database_is_a_503(
    make_app: Callable[..., Flask], backend: str, tmp_path: Any
) -> None:
    app = make_app()
    client = app.test_client()
    store = app.extensions["didrtc.discovery"].store
    # Point the store at a database that cannot be opened.
    from didrtc.discovery.store import open_engine

    if backend == "sqlite":
        (tmp_path / "blocked").mkdir()
        engine = open_engine(f"sqlite:///{tmp_path / 'blocked'}")  # a directory, not a file
    else:
        engine = open_engine("postgresql://nobody@127.0.0.1:1/none")
    store.engine.dispose()
    store.engine = engine
    try:
        _assert_error(client.get("/search?query=x"), 503, "unavailable")
        _assert_error(client.get("/healthz"), 503, "unavailable")
    finally:
        engine.dispose()


def test_nonce_cache_scope_is_per_did(client: FlaskClient, clock: FakeClock) -> None:
    """Another DID reusing a nonce value does not block the first."""
    nonce = secrets.token_urlsafe(16)
    alice, bob = Identity.generate(), Identity.generate()
    assert register(client, listing_token(alice, clock(), nonce=nonce)).status_code == 200
    assert register(client, listing_token(bob, clock(), nonce=nonce)).status_code == 200
