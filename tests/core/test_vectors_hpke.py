"""RFC 9180 HPKE vectors for didrtc's suite, on both backends.

The vector file holds four entries (see tests/vectors/SOURCES.md): base and
auth mode, each with AES-128-GCM and ChaCha20-Poly1305. didrtc implements one
suite in base mode, so the entry for mode 0, KEM 0x20, KDF 1, AEAD 1 (RFC 9180
A.1.1) is the one that applies; the test checks it is present exactly once.
Single-shot seal and open use sequence number 0, so the first encryption of
the vector is what they must reproduce.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from didrtc.errors import DecryptionError
from tests.support import load_vector

ENTRIES = load_vector("hpke_x25519_rfc9180.json")
OUR_SUITE = [
    entry
    for entry in ENTRIES
    if (entry["mode"], entry["kem_id"], entry["kdf_id"], entry["aead_id"]) == (0, 32, 1, 1)
]


def test_the_vector_file_has_our_suite_once() -> None:
    assert len(OUR_SUITE) == 1


@pytest.fixture
def vector() -> dict[str, Any]:
    return OUR_SUITE[0]


def test_deterministic_seal_reproduces_the_vector(core: ModuleType, vector: dict[str, Any]) -> None:
    first = vector["encryptions"][0]
    assert first["nonce"] == vector["base_nonce"]  # sequence number 0
    enc, ciphertext = core.hpke_seal_deterministic(
        bytes.fromhex(vector["pkRm"]),
        bytes.fromhex(first["pt"]),
        bytes.fromhex(vector["info"]),
        bytes.fromhex(first["aad"]),
        bytes.fromhex(vector["ikmE"]),
    )
    assert enc.hex() == vector["enc"]
    assert ciphertext.hex() == first["ct"]


def test_open_reproduces_the_plaintext(core: ModuleType, vector: dict[str, Any]) -> None:
    first = vector["encryptions"][0]
    plaintext = core.hpke_open(
        bytes.fromhex(vector["skRm"]),
        bytes.fromhex(vector["enc"]),
        bytes.fromhex(first["ct"]),
        bytes.fromhex(vector["info"]),
        bytes.fromhex(first["aad"]),
    )
    assert plaintext.hex() == first["pt"]


def test_the_recipient_key_pair_matches(core: ModuleType, vector: dict[str, Any]) -> None:
    assert core.x25519_public_key(bytes.fromhex(vector["skRm"])).hex() == vector["pkRm"]


@pytest.mark.parametrize("field", ["ct", "aad", "info", "enc"])
def test_a_changed_input_does_not_open(
    core: ModuleType, vector: dict[str, Any], field: str
) -> None:
    first = vector["encryptions"][0]
    inputs = {
        "enc": bytes.fromhex(vector["enc"]),
        "ct": bytes.fromhex(first["ct"]),
        "info": bytes.fromhex(vector["info"]),
        "aad": bytes.fromhex(first["aad"]),
    }
    changed = bytearray(inputs[field] or b"\x00")
    changed[0] ^= 0x01
    inputs[field] = bytes(changed)
    with pytest.raises(DecryptionError):
        core.hpke_open(
            bytes.fromhex(vector["skRm"]),
            inputs["enc"],
            inputs["ct"],
            inputs["info"],
            inputs["aad"],
        )
