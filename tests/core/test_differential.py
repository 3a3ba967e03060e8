"""The Rust core and the pure-Python twin give byte-identical results (hypothesis-driven)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from didrtc.errors import DidrtcError

seeds = st.binary(min_size=32, max_size=32)
messages = st.binary(max_size=2048)
any_bytes = st.binary(max_size=80)
DIFFERENTIAL = settings(max_examples=150, deadline=None)


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What a call did: its result, or the class of didrtc error it raised."""
    try:
        return ("ok", call())
    except DidrtcError as error:
        return ("error", type(error).__name__)


@DIFFERENTIAL
@given(seed=seeds, message=messages)
def test_keys_and_signatures_match(
    rust_core: ModuleType, python_core: ModuleType, seed: bytes, message: bytes
) -> None:
    rust, python = rust_core.SigningKey(seed), python_core.SigningKey(seed)
    assert rust.public_key() == python.public_key()
    assert rust.sign(message) == python.sign(message)
    assert rust.x25519_public_key() == python.x25519_public_key()
    assert rust.x25519_secret() == python.x25519_secret()
    assert rust_core.did_from_public_key(rust.public_key()) == python_core.did_from_public_key(
        python.public_key()
    )


@DIFFERENTIAL
@given(public_key=st.binary(min_size=30, max_size=34), message=messages, signature=any_bytes)
def test_verification_of_arbitrary_bytes_agrees(
    rust_core: ModuleType,
    python_core: ModuleType,
    public_key: bytes,
    message: bytes,
    signature: bytes,
) -> None:
    assert outcome(lambda: rust_core.verify(public_key, message, signature)) == outcome(
        lambda: python_core.verify(public_key, message, signature)
    )


@DIFFERENTIAL
@given(seed=seeds, message=messages, flip=st.integers(min_value=0, max_value=64 * 8 - 1))
def test_verification_of_a_bit_flipped_signature_agrees(
    rust_core: ModuleType, python_core: ModuleType, seed: bytes, message: bytes, flip: int
) -> None:
    key = python_core.SigningKey(seed)
    signature = bytearray(key.sign(message))
    signature[flip // 8] ^= 1 << (flip % 8)
    results = [
        outcome(lambda core=core: core.verify(key.public_key(), message, bytes(signature)))
        for core in (rust_core, python_core)
    ]
    assert results[0] == results[1] == ("error", "InvalidSignature")


@DIFFERENTIAL
@given(public_key=st.binary(min_size=32, max_size=32))
def test_x25519_conversion_of_arbitrary_points_agrees(
    rust_core: ModuleType, python_core: ModuleType, public_key: bytes
) -> None:
    assert outcome(lambda: rust_core.x25519_public_from_ed25519(public_key)) == outcome(
        lambda: python_core.x25519_public_from_ed25519(public_key)
    )


@DIFFERENTIAL
@given(text=st.text(max_size=70) | st.just("did:key:z") | st.just("did:key:"))
def test_did_parsing_of_arbitrary_text_agrees(
    rust_core: ModuleType, python_core: ModuleType, text: str
) -> None:
    for candidate in (text, "did:key:" + text, "did:key:z" + text, "did:key:z6Mk" + text):
        assert outcome(lambda c=candidate: rust_core.public_key_from_did(c)) == outcome(
            lambda c=candidate: python_core.public_key_from_did(c)
        )
        assert outcome(lambda c=candidate: rust_core.dht_key(c)) == outcome(
            lambda c=candidate: python_core.dht_key(c)
        )


@DIFFERENTIAL
@given(seed=seeds, ikm=seeds, plaintext=messages, info=any_bytes, aad=any_bytes)
def test_hpke_seal_matches_and_each_opens_the_other(
    rust_core: ModuleType,
    python_core: ModuleType,
    seed: bytes,
    ikm: bytes,
    plaintext: bytes,
    info: bytes,
    aad: bytes,
) -> None:
    recipient = rust_core.SigningKey(seed)
    sealed = [
        core.hpke_seal_deterministic(recipient.x25519_public_key(), plaintext, info, aad, ikm)
        for core in (rust_core, python_core)
    ]
    assert sealed[0] == sealed[1]
    enc, ciphertext = rust_core.hpke_seal(recipient.x25519_public_key(), plaintext, info, aad)
    assert python_core.SigningKey(seed).hpke_open(enc, ciphertext, info, aad) == plaintext
    enc, ciphertext = python_core.hpke_seal(recipient.x25519_public_key(), plaintext, info, aad)
    assert recipient.hpke_open(enc, ciphertext, info, aad) == plaintext


@DIFFERENTIAL
@given(secret=seeds, enc=any_bytes, ciphertext=any_bytes, info=any_bytes, aad=any_bytes)
def test_opening_garbage_agrees(
    rust_core: ModuleType,
    python_core: ModuleType,
    secret: bytes,
    enc: bytes,
    ciphertext: bytes,
    info: bytes,
    aad: bytes,
) -> None:
    assert outcome(lambda: rust_core.hpke_open(secret, enc, ciphertext, info, aad)) == outcome(
        lambda: python_core.hpke_open(secret, enc, ciphertext, info, aad)
    )


@DIFFERENTIAL
@given(seed=seeds)
def test_dht_keys_match(rust_core: ModuleType, python_core: ModuleType, seed: bytes) -> None:
    did = python_core.did_from_public_key(python_core.SigningKey(seed).public_key())
    assert rust_core.dht_key(did) == python_core.dht_key(did)
    assert len(rust_core.dht_key(did)) == 20
