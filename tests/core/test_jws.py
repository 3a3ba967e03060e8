"""Compact JWS: didrtc's tokens check out in an independent JOSE library, and strict parsing."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc import jws as jose_jws
from joserfc.jwk import OKPKey

import didrtc
from didrtc import jws
from didrtc.did import verification_method_id

# joserfc warns that RFC 9864 deprecates the polymorphic "EdDSA" in favour of
# the fully specified "Ed25519". didrtc signs with "EdDSA" (RFC 8037), which
# every JOSE library and WebCrypto peer accepts today; see docs/protocol.md.
JOSERFC_EDDSA_WARNING = "ignore:EdDSA is deprecated:joserfc.errors.SecurityWarning"

PAYLOAD = {"did": "x", "iat": 1, "exp": 2, "list": [1, "two"], "nested": {"b": 1, "a": 2}}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def alice() -> didrtc.Identity:
    return didrtc.Identity.generate()


@pytest.mark.filterwarnings(JOSERFC_EDDSA_WARNING)
def test_token_verifies_with_joserfc(alice: didrtc.Identity) -> None:
    token = jws.sign(alice, PAYLOAD, typ="test+jws")
    key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": b64(alice.public_key)})
    result = jose_jws.deserialize_compact(token, key, algorithms=["EdDSA"])
    assert json.loads(result.payload) == PAYLOAD
    assert result.protected == {
        "alg": "EdDSA",
        "kid": verification_method_id(alice.did),
        "typ": "test+jws",
    }


@pytest.mark.filterwarnings(JOSERFC_EDDSA_WARNING)
def test_joserfc_token_verifies_here(alice: didrtc.Identity) -> None:
    key = OKPKey.import_key(
        {"kty": "OKP", "crv": "Ed25519", "x": b64(alice.public_key), "d": b64(alice.seed())}
    )
    header = {"alg": "EdDSA", "kid": verification_method_id(alice.did)}
    token = jose_jws.serialize_compact(
        header, json.dumps(PAYLOAD).encode(), key, algorithms=["EdDSA"]
    )
    verified = jws.verify(token)
    assert verified.signer == alice.did
    assert verified.payload == PAYLOAD


def test_payload_is_canonical(alice: didrtc.Identity) -> None:
    token = jws.sign(alice, {"b": 1, "a": [3, 2]})
    assert jws.verify(token).payload_bytes == b'{"a":[3,2],"b":1}'


def test_extra_header_members(alice: didrtc.Identity) -> None:
    token = jws.sign(alice, PAYLOAD, header={"purpose": "demo"})
    assert jws.verify(token).header["purpose"] == "demo"
    with pytest.raises(ValueError, match="set by sign"):
        jws.sign(alice, PAYLOAD, header={"alg": "none"})


def _forge(header: dict[str, object], payload: bytes, signer: didrtc.Identity) -> str:
    signing_input = b64(json.dumps(header).encode()) + "." + b64(payload)
    return signing_input + "." + b64(signer.sign(signing_input.encode()))


def test_token_signed_by_another_key_than_kid(alice: didrtc.Identity) -> None:
    mallory = didrtc.Identity.generate()
    token = _forge({"alg": "EdDSA", "kid": verification_method_id(alice.did)}, b"{}", mallory)
    with pytest.raises(didrtc.InvalidSignature):
        jws.verify(token)


def test_tampered_payload(alice: didrtc.Identity) -> None:
    header, _, signature = jws.sign(alice, {"amount": 1}).split(".")
    tampered = b64(b'{"amount":1000}')
    with pytest.raises(didrtc.InvalidSignature):
        jws.verify(f"{header}.{tampered}.{signature}")


@pytest.mark.parametrize(
    ("header", "payload", "message"),
    [
        ({"alg": "none"}, b"{}", "'alg' must be 'EdDSA'"),
        ({"alg": "HS256"}, b"{}", "'alg' must be 'EdDSA'"),
        ({"alg": "EdDSA"}, b"{}", "'kid' must be a did:key DID URL"),
        ({"alg": "EdDSA", "kid": "did:key:zzz#zzz"}, b"{}", "no usable did:key"),
        ({"alg": "EdDSA", "kid": "KID#other"}, b"{}", "fragment does not name"),
        ({"alg": "EdDSA", "kid": "KID", "crit": ["exp"]}, b"{}", "'crit'"),
        ({"alg": "EdDSA", "kid": "KID"}, b"[1]", "must be a JSON object"),
        ({"alg": "EdDSA", "kid": "KID"}, b'{"a":1,"a":2}', "duplicate JSON member"),
        ({"alg": "EdDSA", "kid": "KID"}, b'{"a":NaN}', "NaN is not valid JSON"),
        ({"alg": "EdDSA", "kid": "KID"}, b"\xff", "not UTF-8 JSON"),
    ],
)
def test_malformed_tokens_are_refused(
    alice: didrtc.Identity, header: dict[str, object], payload: bytes, message: str
) -> None:
    kid = verification_method_id(alice.did)
    header = {k: (kid if v == "KID" else v) for k, v in header.items()}
    if header.get("kid") == "KID#other":
        header["kid"] = alice.did + "#other"
    with pytest.raises(didrtc.InvalidToken, match=message):
        jws.verify(_forge(header, payload, alice))


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a.b.c.d", "!!!.e30.AA", "e30=.e30.AA", "e30.e30.A", "eyJ.e30.AA"],
)
def test_unparseable_tokens_are_refused(token: str) -> None:
    with pytest.raises(didrtc.InvalidToken):
        jws.verify(token)


def test_non_canonical_base64_is_refused(alice: didrtc.Identity) -> None:
    header, payload, signature = jws.sign(alice, {}).split(".")
    # The last character of a 64-byte signature carries 4 unused bits: set one.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twisted = signature[:-1] + alphabet[alphabet.index(signature[-1]) | 1]
    assert twisted != signature
    with pytest.raises(didrtc.InvalidToken, match="canonical"):
        jws.verify(f"{header}.{payload}.{twisted}")


def test_size_limit_is_checked_first(alice: didrtc.Identity) -> None:
    token = jws.sign(alice, {"blob": "x" * 2000})
    with pytest.raises(didrtc.TokenTooLong):
        jws.verify(token, max_bytes=1000)
    with pytest.raises(didrtc.TokenTooLong):
        jws.verify("x" * (jws.DEFAULT_MAX_TOKEN_BYTES + 1))


def test_wrong_typ_is_refused(alice: didrtc.Identity) -> None:
    token = jws.sign(alice, {}, typ="didrtc-offer+jws")
    with pytest.raises(didrtc.InvalidToken, match="'typ' must be"):
        jws.verify(token, typ="didrtc-answer+jws")


def test_non_string_token() -> None:
    with pytest.raises(didrtc.InvalidToken):
        jws.verify(b"bytes")  # type: ignore[arg-type]


class TestValidityWindow:
    NOW = 1_800_000_000

    def test_valid(self) -> None:
        claims = {"iat": self.NOW, "exp": self.NOW + 60}
        assert jws.check_validity_window(claims, now=self.NOW, max_lifetime=300) == (
            self.NOW,
            self.NOW + 60,
        )

    @pytest.mark.parametrize(
        ("claims", "error"),
        [
            ({"iat": NOW - 100, "exp": NOW - 1}, didrtc.TokenExpired),
            ({"iat": NOW - 100, "exp": NOW}, didrtc.TokenExpired),
            ({"iat": NOW + 500, "exp": NOW + 600}, didrtc.TokenNotYetValid),
            ({"iat": NOW, "exp": NOW + 10_000}, didrtc.InvalidToken),
            ({"iat": NOW + 10, "exp": NOW + 5}, didrtc.InvalidToken),
            ({"iat": "now", "exp": NOW + 5}, didrtc.InvalidToken),
            ({"iat": True, "exp": NOW + 5}, didrtc.InvalidToken),
            ({"exp": NOW + 5}, didrtc.InvalidToken),
            ({"iat": NOW, "exp": float(NOW + 5)}, didrtc.InvalidToken),
        ],
    )
    def test_refused(self, claims: dict[str, object], error: type[Exception]) -> None:
        with pytest.raises(error):
            jws.check_validity_window(claims, now=self.NOW, max_lifetime=300)
