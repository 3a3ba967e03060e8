"""The crypto core: the Rust core, the pure-Python twin and PyNaCl (libsodium) in one run.

Each group measures one operation; `benches/record.py` turns the medians into
the ratios that docs/benchmarks.md reports.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

import nacl.bindings
import nacl.public
import nacl.signing
import pytest
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from didrtc import _backend

MESSAGE = os.urandom(1024)
PLAINTEXT = os.urandom(2048)
INFO = b"didrtc bench"
AAD = b"header bytes bound to the ciphertext"
SEED = bytes(range(32))
BATCH = 64

Benchmark = Callable[..., Any]


def _cores() -> list[Any]:
    return [pytest.param(_backend.load(name), id=name) for name in ("rust", "python")]


CORES = pytest.mark.parametrize("core", _cores())


def _triples(core: ModuleType, count: int) -> list[tuple[bytes, bytes, bytes]]:
    triples = []
    for index in range(count):
        key = core.SigningKey(os.urandom(32))
        message = MESSAGE + index.to_bytes(4, "big")
        triples.append((key.public_key(), message, key.sign(message)))
    return triples


@pytest.mark.benchmark(group="keygen")
@CORES
def test_keygen(benchmark: Benchmark, core: ModuleType) -> None:
    benchmark(core.SigningKey.generate)


@pytest.mark.benchmark(group="keygen")
def test_keygen_pynacl(benchmark: Benchmark) -> None:
    benchmark(nacl.signing.SigningKey.generate)


@pytest.mark.benchmark(group="sign 1 KiB")
@CORES
def test_sign(benchmark: Benchmark, core: ModuleType) -> None:
    key = core.SigningKey(SEED)
    benchmark(key.sign, MESSAGE)


@pytest.mark.benchmark(group="sign 1 KiB")
def test_sign_pynacl(benchmark: Benchmark) -> None:
    key = nacl.signing.SigningKey(SEED)
    benchmark(key.sign, MESSAGE)


@pytest.mark.benchmark(group="verify 1 KiB")
@CORES
def test_verify(benchmark: Benchmark, core: ModuleType) -> None:
    public_key, message, signature = _triples(core, 1)[0]
    benchmark(core.verify, public_key, message, signature)


@pytest.mark.benchmark(group="verify 1 KiB")
def test_verify_pynacl(benchmark: Benchmark) -> None:
    key = nacl.signing.SigningKey(SEED)
    signature = key.sign(MESSAGE).signature
    verify_key = key.verify_key
    benchmark(verify_key.verify, MESSAGE, signature)


@pytest.mark.benchmark(group="verify 64 triples")
@CORES
def test_verify_batch(benchmark: Benchmark, core: ModuleType) -> None:
    triples = _triples(core, BATCH)
    benchmark(core.verify_batch, triples)


@pytest.mark.benchmark(group="verify 64 triples")
def test_verify_batch_pynacl_loop(benchmark: Benchmark) -> None:
    keys = [nacl.signing.SigningKey(os.urandom(32)) for _ in range(BATCH)]
    signed = [(key.verify_key, key.sign(MESSAGE).signature) for key in keys]

    def verify_all() -> None:
        for verify_key, signature in signed:
            verify_key.verify(MESSAGE, signature)

    benchmark(verify_all)


@pytest.mark.benchmark(group="did:key parse")
@CORES
def test_did_parse(benchmark: Benchmark, core: ModuleType) -> None:
    did = core.did_from_public_key(core.SigningKey(SEED).public_key())
    benchmark(core.public_key_from_did, did)


@pytest.mark.benchmark(group="HPKE seal 2 KiB")
@CORES
def test_hpke_seal(benchmark: Benchmark, core: ModuleType) -> None:
    recipient = core.SigningKey(SEED).x25519_public_key()
    benchmark(core.hpke_seal, recipient, PLAINTEXT, INFO, AAD)


@pytest.mark.benchmark(group="HPKE seal 2 KiB")
def test_hpke_seal_cryptography_no_aad(benchmark: Benchmark) -> None:
    """cryptography's own HPKE (same suite; its public API takes no aad)."""
    suite = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
    recipient = x25519.X25519PrivateKey.generate().public_key()
    benchmark(suite.encrypt, PLAINTEXT, recipient, INFO)


@pytest.mark.benchmark(group="HPKE seal 2 KiB")
def test_sealed_box_pynacl(benchmark: Benchmark) -> None:
    """libsodium's sealed box: X25519 + XSalsa20-Poly1305, no info or aad."""
    box = nacl.public.SealedBox(nacl.public.PrivateKey.generate().public_key)
    benchmark(box.encrypt, PLAINTEXT)


@pytest.mark.benchmark(group="HPKE open 2 KiB")
@CORES
def test_hpke_open(benchmark: Benchmark, core: ModuleType) -> None:
    key = core.SigningKey(SEED)
    enc, ciphertext = core.hpke_seal(key.x25519_public_key(), PLAINTEXT, INFO, AAD)
    benchmark(key.hpke_open, enc, ciphertext, INFO, AAD)


@pytest.mark.benchmark(group="HPKE open 2 KiB")
def test_hpke_open_cryptography_no_aad(benchmark: Benchmark) -> None:
    suite = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
    private = x25519.X25519PrivateKey.generate()
    sealed = suite.encrypt(PLAINTEXT, private.public_key(), INFO)
    benchmark(suite.decrypt, sealed, private, INFO)


@pytest.mark.benchmark(group="HPKE open 2 KiB")
def test_sealed_box_open_pynacl(benchmark: Benchmark) -> None:
    private = nacl.public.PrivateKey.generate()
    sealed = nacl.public.SealedBox(private.public_key).encrypt(PLAINTEXT)
    box = nacl.public.SealedBox(private)
    benchmark(box.decrypt, sealed)


@pytest.mark.benchmark(group="DHT key")
@CORES
def test_dht_key(benchmark: Benchmark, core: ModuleType) -> None:
    did = core.did_from_public_key(core.SigningKey(SEED).public_key())
    benchmark(core.dht_key, did)


@pytest.mark.benchmark(group="Ed25519 to X25519")
@CORES
def test_x25519_from_ed25519(benchmark: Benchmark, core: ModuleType) -> None:
    public_key = core.SigningKey(SEED).public_key()
    benchmark(core.x25519_public_from_ed25519, public_key)


@pytest.mark.benchmark(group="Ed25519 to X25519")
def test_x25519_from_ed25519_pynacl(benchmark: Benchmark) -> None:
    public_key = nacl.signing.SigningKey(SEED).verify_key.encode()
    benchmark(nacl.bindings.crypto_sign_ed25519_pk_to_curve25519, public_key)


@pytest.mark.benchmark(group="X25519 shared secret")
@CORES
def test_x25519_shared_secret(benchmark: Benchmark, core: ModuleType) -> None:
    secret = core.SigningKey(SEED).x25519_secret()
    peer = core.SigningKey(bytes(32)).x25519_public_key()
    benchmark(core.x25519_shared_secret, secret, peer)


@pytest.mark.benchmark(group="X25519 shared secret")
def test_x25519_shared_secret_pynacl(benchmark: Benchmark) -> None:
    secret = nacl.public.PrivateKey(SEED)
    peer = nacl.public.PrivateKey.generate().public_key
    benchmark(nacl.bindings.crypto_scalarmult, secret.encode(), peer.encode())
