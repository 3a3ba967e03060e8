"""``POST /register``, ``GET /dids/<did>`` and ``DELETE /dids/<did>``."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, request

from didrtc.did import public_key_from_did
from didrtc.discovery.deletion import verify_deletion
from didrtc.discovery.errors import (
    BadRequest,
    DiscoveryError,
    InvalidRequestToken,
    ListingNotFound,
    UnsupportedMediaType,
)
from didrtc.discovery.listing import verify_registration
from didrtc.discovery.ratelimit import limit_did
from didrtc.discovery.state import state
from didrtc.errors import InvalidDid

__all__ = ["bp"]

bp = Blueprint("listings", __name__)


def _read_token() -> str:
    mimetype = request.mimetype
    if mimetype not in {"application/jose", "application/json"}:
        raise UnsupportedMediaType(
            "send the signed listing as 'application/jose' (the compact JWS) or "
            "'application/json' ({\"token\": ...})"
        )
    try:
        body = request.get_data(cache=False).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8") from None
    if mimetype == "application/json":
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise BadRequest("the request body is not JSON") from None
        if not isinstance(document, dict) or set(document) != {"token"}:
            raise BadRequest('the JSON body must be {"token": "<compact JWS>"}')
        body = document["token"]
        if not isinstance(body, str):
            raise BadRequest("'token' must be a string")
    token = body.strip()
    if not token:
        raise InvalidRequestToken("the request carries no token")
    return token


def _check_did(did: str) -> None:
    try:
        public_key_from_did(did)
    except InvalidDid as error:
        raise BadRequest(f"{did[:80]!r} is not an Ed25519 did:key: {error}") from None


@bp.post("/register")
def register() -> Any:
    """Store (or replace) a listing signed by its own DID."""
    discovery = state()
    try:
        token = _read_token()
        now = discovery.clock()
        listing = verify_registration(token, now=now)
        limit_did(discovery.limiter, current_app, listing.did)
        discovery.store.register(listing, token, now=int(now))
        discovery.search_cache.clear()
    except DiscoveryError as error:
        discovery.metrics.registrations.labels(error.code).inc()
        raise
    discovery.metrics.registrations.labels("registered").inc()
    return {"status": "registered", "did": listing.did, "expires": listing.expires}


@bp.get("/dids/<did>")
def show(did: str) -> Any:
    """The DID's live listing."""
    _check_did(did)
    discovery = state()
    stored = discovery.store.get(did, now=int(discovery.clock()))
    if stored is None:
        raise ListingNotFound(f"no live listing for {did}")
    return stored.to_json()


def audience() -> str:
    """What a deletion's ``aud`` must be on this server."""
    configured = current_app.config["DISCOVERY_AUDIENCE"]
    return str(configured) if configured else request.host_url.rstrip("/")


@bp.delete("/dids/<did>")
def remove(did: str) -> Any:
    """Remove the DID's listing; the request is signed by that DID."""
    discovery = state()
    try:
        _check_did(did)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidRequestToken(
                "send the signed deletion as 'Authorization: Bearer <compact JWS>'"
            )
        now = discovery.clock()
        deletion = verify_deletion(token.strip(), did=did, audience=audience(), now=now)
        limit_did(discovery.limiter, current_app, did)
        removed = discovery.store.delete(deletion, now=int(now))
        discovery.search_cache.clear()
        if not removed:
            raise ListingNotFound(f"no live listing for {did}")
    except DiscoveryError as error:
        discovery.metrics.deletions.labels(error.code).inc()
        raise
    discovery.metrics.deletions.labels("deleted").inc()
    return {"status": "deleted", "did": did}
