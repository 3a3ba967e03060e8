"""W3C did:key vectors: DIDs, keys and whole DID documents."""

from __future__ import annotations

from types import ModuleType

import pytest

import didrtc
from didrtc import _base58
from didrtc.did import resolve_did_key
from tests.support import load_vector

DID_KEY = load_vector("didkey_ed25519-x25519.json")
X25519_ONLY = load_vector("didkey_x25519.json")


@pytest.mark.parametrize("did", sorted(DID_KEY))
def test_did_of_the_seed_matches(core: ModuleType, did: str) -> None:
    key = core.SigningKey(bytes.fromhex(DID_KEY[did]["seed"]))
    assert core.did_from_public_key(key.public_key()) == did
    assert core.public_key_from_did(did) == key.public_key()


@pytest.mark.parametrize("did", sorted(DID_KEY))
def test_resolved_document_equals_the_vector(did: str) -> None:
    expected = DID_KEY[did]["didDocument"]
    key_format = expected["verificationMethod"][0]["type"]
    assert resolve_did_key(did, key_format=key_format) == expected


@pytest.mark.parametrize("did", sorted(DID_KEY))
def test_identity_from_the_seed_has_the_did(did: str) -> None:
    assert didrtc.Identity.from_seed(bytes.fromhex(DID_KEY[did]["seed"])).did == did


@pytest.mark.parametrize("did", sorted(X25519_ONLY["didDocument"]))
def test_x25519_only_did_key_is_refused_with_the_codec_named(core: ModuleType, did: str) -> None:
    """did:key of an X25519 key (multicodec 0xec01) is not an Ed25519 identity."""
    assert _base58.decode(did.removeprefix("did:key:z"))[:2] == b"\xec\x01"
    with pytest.raises(didrtc.UnsupportedMulticodec, match="found 0xec 0x01"):
        core.public_key_from_did(did)
