"""The signed listing and deletion objects, independent of any server."""

from __future__ import annotations

import base64

import pytest

from didrtc import Identity, jws
from didrtc.discovery.deletion import sign_deletion, verify_deletion
from didrtc.discovery.errors import (
    ForgedListing,
    InvalidListing,
    ReplayedRequest,
    WrongAudience,
    WrongSigner,
)
from didrtc.discovery.listing import (
    LISTING_TYP,
    MAX_CATEGORIES,
    Listing,
    parse_listing_token,
    sign_listing,
    verify_registration,
)
from tests.discovery.discovery_support import listing_payload


def _listing(identity: Identity, **changes: object) -> Listing:
    fields: dict[str, object] = {
        "name": "Seoul Kitchen",
        "categories": ["restaurant"],
        "bootstrap_nodes": ["127.0.0.1:4000"],
        "service_endpoint": "https://seoul.example",
    }
    fields.update(changes)
    return Listing.create(identity.did, now=1_800_000_000, **fields)  # type: ignore[arg-type]


def test_listing_round_trips_through_its_signed_token() -> None:
    identity = Identity.generate()
    listing = _listing(identity, description="Bibimbap", categories=["restaurant", "korean-bbq"])
    token = sign_listing(identity, listing)
    assert verify_registration(token, now=1_800_000_000) == listing
    assert parse_listing_token(token, now=1_800_000_000) == listing
    assert listing.categories == ("restaurant", "korean-bbq")
    assert listing.expires == 1_800_000_000 + 24 * 3600


def test_bad_values_raise_invalid_listing_quoting_the_value() -> None:
    identity = Identity.generate()
    with pytest.raises(InvalidListing, match="'Fine Dining'"):
        _listing(identity, categories=["Fine Dining"])
    with pytest.raises(InvalidListing, match="1 to 10"):
        _listing(identity, categories=[f"c{i}" for i in range(MAX_CATEGORIES + 1)])
    with pytest.raises(InvalidListing, match="nohost"):
        _listing(identity, bootstrap_nodes=["nohost"])
    with pytest.raises(InvalidListing, match="did:key"):
        Listing.create(
            "did:key:zbad",
            name="x",
            categories=["a"],
            bootstrap_nodes=["h:1"],
            service_endpoint="https://x",
        )


@pytest.mark.parametrize(
    "node", ["127.0.0.1:4000", "[::1]:4000", "[2001:db8::1]:65535", "dht.example.org:1", "a:9"]
)
def test_accepted_bootstrap_nodes(node: str) -> None:
    assert _listing(Identity.generate(), bootstrap_nodes=[node]).bootstrap_nodes == (node,)


def test_only_the_listed_did_can_sign_its_listing() -> None:
    alice, mallory = Identity.generate(), Identity.generate()
    with pytest.raises(WrongSigner):
        sign_listing(mallory, _listing(alice))
    forged = jws.sign(mallory, listing_payload(alice, 1_800_000_000), typ=LISTING_TYP)
    with pytest.raises(WrongSigner):
        verify_registration(forged, now=1_800_000_000)
    with pytest.raises(ForgedListing):
        parse_listing_token(forged, now=1_800_000_000)


def test_client_side_check_refuses_tampered_and_expired_tokens() -> None:
    identity = Identity.generate()
    token = sign_listing(identity, _listing(identity))
    header, payload, signature = token.split(".")
    # One bit of the signature flipped: always a change (overwriting its last characters
    # with fixed ones left it as it was once in a few hundred signatures).
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[0] ^= 1
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode("ascii")
    with pytest.raises(ForgedListing):
        parse_listing_token(f"{header}.{payload}.{tampered}", now=1_800_000_000)
    with pytest.raises(ForgedListing, match="expired"):
        parse_listing_token(token, now=1_800_000_000 + 24 * 3600)
    with pytest.raises(ForgedListing):
        parse_listing_token("garbage")


def test_deletion_binds_did_audience_and_time() -> None:
    identity = Identity.generate()
    token = sign_deletion(identity, "https://discovery.example", now=1_800_000_000)
    deletion = verify_deletion(
        token, did=identity.did, audience="https://discovery.example", now=1_800_000_000
    )
    assert deletion.did == identity.did
    assert deletion.issued_at == 1_800_000_000
    with pytest.raises(WrongAudience):
        verify_deletion(
            token, did=identity.did, audience="https://other.example", now=1_800_000_000
        )
    with pytest.raises(WrongSigner):
        verify_deletion(
            token,
            did=Identity.generate().did,
            audience="https://discovery.example",
            now=1_800_000_000,
        )


def test_error_classes_carry_their_code_and_status() -> None:
    error = ReplayedRequest("seen")
    assert (error.code, error.status, error.to_json()) == (
        "replayed",
        409,
        {"error": "replayed", "message": "seen"},
    )
