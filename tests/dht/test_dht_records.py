"""The DID Document record: format, signature, limits, and a reader that never raises."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import OKPKey

import didrtc
from didrtc.jws import sign as jws_sign
from didrtc.records import (
    MAX_LIFETIME,
    MAX_RECORD_BYTES,
    RECORD_TYP,
    InvalidRecord,
    RecordExpired,
    RecordNotYetValid,
    RecordTooLong,
    build_record,
    cert_fingerprint,
    did_document,
    fingerprint_of_certificate,
    parse_record,
)

ALICE = didrtc.Identity.from_seed(bytes(range(32)))
MALLORY = didrtc.Identity.from_seed(bytes(range(1, 33)))
CERT = bytes(range(32))
ENDPOINT = "https://answerer.example:8443/signal"


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "did": ALICE.did,
        "seq": 7,
        "iat": now,
        "exp": now + 3600,
        "service": {
            "id": f"{ALICE.did}#signaling",
            "type": "WebRTCSignaling",
            "serviceEndpoint": ENDPOINT,
            "x5t#S256": cert_fingerprint(CERT),
        },
    }
    claims.update(overrides)
    return claims


def test_a_record_round_trips_under_its_dht_key() -> None:
    signed = build_record(ALICE, ENDPOINT, CERT, seq=42)
    parsed = parse_record(signed.token, key=didrtc.dht_key(ALICE.did))
    assert parsed.record == signed.record
    assert parsed.seq == 42
    assert parsed.record.cert_sha256 == base64.urlsafe_b64encode(CERT).rstrip(b"=").decode()
    assert len(signed.token) <= MAX_RECORD_BYTES


# RFC 9864 deprecates the polymorphic "EdDSA" for "Ed25519"; the issue and RFC 8037
# name "EdDSA", which every deployed JOSE library still verifies.
@pytest.mark.filterwarnings("ignore:EdDSA is deprecated:joserfc.errors.SecurityWarning")
def test_an_independent_jose_library_verifies_the_record() -> None:
    signed = build_record(ALICE, ENDPOINT, CERT, seq=1)
    x = base64.urlsafe_b64encode(ALICE.public_key).rstrip(b"=").decode()
    key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": x})
    token = jws.deserialize_compact(signed.token, key, algorithms=["EdDSA"])
    assert token.headers()["kid"] == f"{ALICE.did}#{ALICE.did.removeprefix('did:key:')}"
    assert token.headers()["typ"] == RECORD_TYP
    assert json.loads(token.payload)["service"]["serviceEndpoint"] == ENDPOINT


def test_the_resolved_document_is_the_did_key_document_plus_the_service() -> None:
    signed = build_record(ALICE, ENDPOINT, CERT, seq=1)
    document = did_document(signed.record)
    expected = didrtc.resolve_did_key(ALICE.did)
    assert {k: v for k, v in document.items() if k != "service"} == expected
    assert document["service"] == [
        {
            "id": f"{ALICE.did}#signaling",
            "type": "WebRTCSignaling",
            "serviceEndpoint": ENDPOINT,
            "x5t#S256": cert_fingerprint(CERT),
        }
    ]


def test_fingerprints_are_accepted_as_bytes_hex_with_colons_or_base64url() -> None:
    as_b64 = cert_fingerprint(CERT)
    assert cert_fingerprint(CERT.hex()) == as_b64
    assert cert_fingerprint(":".join(f"{b:02X}" for b in CERT)) == as_b64
    assert cert_fingerprint(as_b64) == as_b64
    assert fingerprint_of_certificate(b"der") == cert_fingerprint(hashlib.sha256(b"der").digest())
    for bad in (b"short", "zz" * 32, "", "A" * 44):
        with pytest.raises(ValueError, match="fingerprint"):
            cert_fingerprint(bad)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://answerer.example/",
        "wss://answerer.example/",
        "https://user:pw@answerer.example/",
        "https://answerer.example/#frag",
        "https:///nohost",
        "https://answerer.example/ spaced",
        "https://answerer.example:0/",
        "https://" + "a" * 260 + ".example/",
    ],
)
def test_only_plain_https_endpoints_can_be_published(endpoint: str) -> None:
    with pytest.raises(ValueError, match="endpoint"):
        build_record(ALICE, endpoint, CERT, seq=1)


def test_building_a_record_over_1000_bytes_is_refused() -> None:
    endpoint = "https://" + "a" * 230 + ".example/"
    with pytest.raises(RecordTooLong, match="1000"):
        build_record(ALICE, endpoint, CERT, seq=1)


def test_reading_a_token_over_1000_bytes_is_refused_before_parsing() -> None:
    long_token = jws_sign(ALICE, _claims(pad="x" * 900), typ=RECORD_TYP)
    assert len(long_token) > MAX_RECORD_BYTES
    with pytest.raises(RecordTooLong) as caught:
        parse_record(long_token)
    assert caught.value.reason == "too-large"
    with pytest.raises(RecordTooLong):
        parse_record("x" * (MAX_RECORD_BYTES + 1))


def test_a_lifetime_over_48_hours_is_refused() -> None:
    with pytest.raises(ValueError, match="lifetime"):
        build_record(ALICE, ENDPOINT, CERT, lifetime=MAX_LIFETIME + 1)
    now = int(time.time())
    token = jws_sign(ALICE, _claims(exp=now + MAX_LIFETIME + 600), typ=RECORD_TYP)
    with pytest.raises(InvalidRecord) as caught:
        parse_record(token)
    assert caught.value.reason == "lifetime-too-long"


def test_expired_and_future_records_are_refused() -> None:
    now = int(time.time())
    expired = jws_sign(ALICE, _claims(iat=now - 7200, exp=now - 60), typ=RECORD_TYP)
    with pytest.raises(RecordExpired):
        parse_record(expired)
    assert parse_record(expired, check_time=False).record.exp == now - 60
    future = jws_sign(ALICE, _claims(iat=now + 3600, exp=now + 7200), typ=RECORD_TYP)
    with pytest.raises(RecordNotYetValid):
        parse_record(future)


def test_a_record_signed_by_another_key_is_refused() -> None:
    forged = jws_sign(MALLORY, _claims(), typ=RECORD_TYP)
    with pytest.raises(InvalidRecord) as caught:
        parse_record(forged)
    assert caught.value.reason == "wrong-key"


def test_a_record_under_another_dids_key_is_refused() -> None:
    signed = build_record(ALICE, ENDPOINT, CERT, seq=1)
    with pytest.raises(InvalidRecord) as caught:
        parse_record(signed.token, key=didrtc.dht_key(MALLORY.did))
    assert caught.value.reason == "wrong-key"


def test_a_tampered_record_fails_its_signature() -> None:
    signed = build_record(ALICE, ENDPOINT, CERT, seq=1)
    header, payload, signature = signed.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["service"]["serviceEndpoint"] = "https://mallory.example/"
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(InvalidRecord) as caught:
        parse_record(f"{header}.{forged_payload}.{signature}")
    assert caught.value.reason == "bad-signature"


@pytest.mark.parametrize(
    ("overrides", "typ"),
    [
        ({"extra": 1}, RECORD_TYP),
        ({"seq": -1}, RECORD_TYP),
        ({"seq": True}, RECORD_TYP),
        ({"did": MALLORY.did}, RECORD_TYP),
        ({"service": []}, RECORD_TYP),
        ({"service": {"id": "x", "type": "WebRTCSignaling"}}, RECORD_TYP),
        ({}, "didrtc-listing+jws"),
        ({}, None),
    ],
)
def test_records_of_the_wrong_shape_or_type_are_refused(
    overrides: dict[str, object], typ: str | None
) -> None:
    token = jws_sign(ALICE, _claims(**overrides), typ=typ)
    with pytest.raises(InvalidRecord):
        parse_record(token)


def _raw_token(identity: didrtc.Identity, claims: dict[str, object]) -> str:
    """A token signed over plain json.dumps bytes, for claims JCS cannot even encode."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    kid = f"{identity.did}#{identity.did.removeprefix('did:key:')}"
    header = b64(json.dumps({"alg": "EdDSA", "kid": kid, "typ": RECORD_TYP}).encode())
    signing_input = f"{header}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(identity.sign(signing_input.encode()))}"


def test_a_sequence_number_beyond_i_json_is_refused() -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_record(_raw_token(ALICE, _claims(seq=2**60)))
    assert caught.value.reason == "bad-claims"
    assert parse_record(_raw_token(ALICE, _claims(seq=5))).seq == 5


def test_a_service_with_another_id_or_type_is_refused() -> None:
    claims = _claims()
    service = dict(claims["service"])  # type: ignore[call-overload]
    service["type"] = "LinkedDomains"
    with pytest.raises(InvalidRecord, match="service"):
        parse_record(jws_sign(ALICE, _claims(service=service), typ=RECORD_TYP))


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=1200),
        st.binary(max_size=1200),
        st.integers(),
        st.none(),
        st.lists(st.integers(), max_size=5),
        st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=5),
        st.text(alphabet="abcXYZ012-_.", max_size=900),
    )
)
def test_no_value_makes_the_reader_raise_anything_but_invalid_record(value: object) -> None:
    with pytest.raises(InvalidRecord):
        parse_record(value, key=didrtc.dht_key(ALICE.did))


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=2000), st.integers(min_value=0, max_value=255))
def test_flipping_any_byte_of_a_record_invalidates_it(position: int, flip: int) -> None:
    token = build_record(ALICE, ENDPOINT, CERT, seq=3).token
    index = position % len(token)
    replacement = chr((ord(token[index]) + 1 + flip % 60) % 128)
    tampered = token[:index] + replacement + token[index + 1 :]
    if tampered == token:
        return
    try:
        parsed = parse_record(tampered)
    except InvalidRecord:
        return
    # base64url has spare bits only in the last character of a segment; canonical
    # decoding refuses those, so an accepted variant must carry the same claims.
    assert parsed.record == parse_record(token).record
