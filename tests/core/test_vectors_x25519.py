"""Wycheproof X25519 and the did:key / libsodium Ed25519-to-X25519 vectors, on both backends."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from didrtc import _base58
from didrtc.errors import InvalidKey
from tests.support import load_vector

WYCHEPROOF = load_vector("wycheproof_x25519_test.json")
CASES = [
    pytest.param(test, id=f"tcId{test['tcId']}")
    for group in WYCHEPROOF["testGroups"]
    for test in group["tests"]
]
CONVERSIONS = load_vector("ed25519_to_x25519.json")
DID_KEY = load_vector("didkey_ed25519-x25519.json")


@pytest.mark.parametrize("test", CASES)
def test_wycheproof_x25519(core: ModuleType, test: dict[str, Any]) -> None:
    secret, public = bytes.fromhex(test["private"]), bytes.fromhex(test["public"])
    if "ZeroSharedSecret" in test["flags"]:
        # "acceptable" in Wycheproof; refused here on purpose: a low-order peer
        # key gives an all-zero secret that would make key agreement meaningless
        # (RFC 7748 section 6.1, RFC 9180 section 7.1.4).
        assert test["result"] == "acceptable"
        with pytest.raises(InvalidKey):
            core.x25519_shared_secret(secret, public)
        return
    assert test["result"] in ("valid", "acceptable")
    assert core.x25519_shared_secret(secret, public).hex() == test["shared"]


@pytest.mark.parametrize("case", CONVERSIONS, ids=lambda case: case["ed25519_public_key"][:16])
def test_ed25519_to_x25519_conversion(core: ModuleType, case: dict[str, Any]) -> None:
    public_key = bytes.fromhex(case["ed25519_public_key"])
    if case["result"] == "invalid":
        with pytest.raises(InvalidKey):
            core.x25519_public_from_ed25519(public_key)
        return
    assert core.x25519_public_from_ed25519(public_key).hex() == case["x25519_public_key"]
    if "ed25519_seed" in case:
        key = core.SigningKey(bytes.fromhex(case["ed25519_seed"]))
        assert key.public_key() == public_key
        assert key.x25519_public_key().hex() == case["x25519_public_key"]
        assert key.x25519_secret().hex() == case["x25519_secret_key"]
        assert core.x25519_public_key(key.x25519_secret()).hex() == case["x25519_public_key"]


@pytest.mark.parametrize("did", sorted(DID_KEY))
def test_did_key_vector_key_agreement(core: ModuleType, did: str) -> None:
    vector = DID_KEY[did]
    key = core.SigningKey(bytes.fromhex(vector["seed"]))
    agreement = vector["keyAgreementKeyPair"]
    if "publicKeyBase58" in agreement:
        public = _base58.decode(agreement["publicKeyBase58"])
        secret = _base58.decode(agreement["privateKeyBase58"])
    else:
        import base64

        def b64(text: str) -> bytes:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

        public = b64(agreement["publicKeyJwk"]["x"])
        secret = b64(agreement["privateKeyJwk"]["d"])
    assert key.x25519_public_key() == public
    assert key.x25519_secret() == secret
    assert core.x25519_public_from_ed25519(key.public_key()) == public
