"""Every malformed input raises the documented didrtc exception, on both backends."""

from __future__ import annotations

from types import ModuleType

import pytest

import didrtc
from didrtc import _base58, errors

SEED = bytes(range(32))
DID = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"


@pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
def test_seed_of_wrong_length(core: ModuleType, length: int) -> None:
    with pytest.raises(errors.InvalidKey, match=f"got {length}"):
        core.SigningKey(b"\x01" * length)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_public_key_of_wrong_length(core: ModuleType, length: int) -> None:
    key = core.SigningKey(SEED)
    with pytest.raises(errors.InvalidKey):
        core.verify(b"\x01" * length, b"m", key.sign(b"m"))
    with pytest.raises(errors.InvalidKey):
        core.did_from_public_key(b"\x01" * length)
    with pytest.raises(errors.InvalidKey):
        core.x25519_public_from_ed25519(b"\x01" * length)


@pytest.mark.parametrize("length", [0, 63, 65, 128])
def test_signature_of_wrong_length(core: ModuleType, length: int) -> None:
    key = core.SigningKey(SEED)
    with pytest.raises(errors.InvalidSignature, match=f"got {length}"):
        core.verify(key.public_key(), b"m", b"\x01" * length)


def test_non_canonical_s_is_rejected(core: ModuleType) -> None:
    """S + L verifies under lax rules; strict verification refuses it."""
    order = 2**252 + 27742317777372353535851937790883648493
    key = core.SigningKey(SEED)
    signature = key.sign(b"m")
    s = int.from_bytes(signature[32:], "little") + order
    malleated = signature[:32] + s.to_bytes(32, "little")
    with pytest.raises(errors.InvalidSignature):
        core.verify(key.public_key(), b"m", malleated)


def test_small_order_public_key_is_rejected(core: ModuleType) -> None:
    identity_point = (1).to_bytes(32, "little")
    signature = identity_point + bytes(32)  # R = identity, S = 0 "verifies" for A = identity
    with pytest.raises(errors.InvalidSignature, match=r"small[- ]order"):
        core.verify(identity_point, b"anything", signature)


@pytest.mark.parametrize(
    ("did", "error"),
    [
        ("did:web:example.com", errors.UnsupportedDidMethod),
        ("", errors.UnsupportedDidMethod),
        ("did:key:", errors.UnsupportedMultibase),
        ("did:key:f6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", errors.UnsupportedMultibase),
        ("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDoo0p", errors.InvalidBase58),
        ("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWl", errors.InvalidBase58),
        ("did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW", errors.UnsupportedMulticodec),
        ("did:key:z", errors.UnsupportedMulticodec),
        ("did:key:z" + _base58.encode(b"\xed\x01" + bytes(31)), errors.InvalidDidKeyLength),
        ("did:key:z" + _base58.encode(b"\xed\x01" + bytes(33)), errors.InvalidDidKeyLength),
        ("did:key:z" + _base58.encode(b"\xed\x01"), errors.InvalidDidKeyLength),
    ],
)
def test_malformed_did_names_what_is_wrong(
    core: ModuleType, did: str, error: type[errors.InvalidDid]
) -> None:
    with pytest.raises(error):
        core.public_key_from_did(did)
    with pytest.raises(error):
        core.dht_key(did)
    assert issubclass(error, errors.InvalidDid)
    assert issubclass(error, ValueError)


def test_very_long_did_is_refused_quickly(core: ModuleType) -> None:
    with pytest.raises(errors.InvalidDid):
        core.public_key_from_did("did:key:z" + "6Mk" * 100_000)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_hpke_recipient_key_of_wrong_length(core: ModuleType, length: int) -> None:
    with pytest.raises(errors.InvalidKey):
        core.hpke_seal(b"\x09" * length, b"m", b"", b"")


def test_hpke_seal_to_a_low_order_key_is_refused(core: ModuleType) -> None:
    with pytest.raises(errors.InvalidKey):
        core.hpke_seal(bytes(32), b"m", b"", b"")


@pytest.mark.parametrize("length", [0, 31, 33])
def test_hpke_enc_of_wrong_length(core: ModuleType, length: int) -> None:
    with pytest.raises(errors.DecryptionError):
        core.hpke_open(SEED, b"\x09" * length, bytes(32), b"", b"")


def test_hpke_low_order_enc_does_not_open(core: ModuleType) -> None:
    with pytest.raises(errors.DecryptionError):
        core.hpke_open(SEED, bytes(32), bytes(48), b"", b"")


def test_x25519_low_order_peer_is_refused(core: ModuleType) -> None:
    with pytest.raises(errors.InvalidKey, match="low order"):
        core.x25519_shared_secret(SEED, bytes(32))


class TestPublicApi:
    """The same guarantees through the names users import."""

    def test_tampered_sealed_message(self) -> None:
        alice = didrtc.Identity.from_seed(SEED)
        sealed = bytearray(didrtc.seal(alice.did, b"hello", info=b"i", aad=b"a"))
        for index in (0, 31, 32, len(sealed) - 1):
            tampered = bytearray(sealed)
            tampered[index] ^= 0x80
            with pytest.raises(didrtc.DecryptionError):
                alice.open(bytes(tampered), info=b"i", aad=b"a")

    @pytest.mark.parametrize(("info", "aad"), [(b"other", b"a"), (b"i", b"other"), (b"", b"")])
    def test_wrong_info_or_aad(self, info: bytes, aad: bytes) -> None:
        alice = didrtc.Identity.from_seed(SEED)
        sealed = didrtc.seal(alice.did, b"hello", info=b"i", aad=b"a")
        with pytest.raises(didrtc.DecryptionError):
            alice.open(sealed, info=info, aad=aad)

    def test_truncated_sealed_message(self) -> None:
        alice = didrtc.Identity.from_seed(SEED)
        sealed = didrtc.seal(alice.did, b"hello")
        for length in (0, 10, 47):
            with pytest.raises(didrtc.DecryptionError, match="at least 48 bytes"):
                alice.open(sealed[:length])

    def test_sealed_to_someone_else(self) -> None:
        alice, bob = didrtc.Identity.from_seed(SEED), didrtc.Identity.generate()
        with pytest.raises(didrtc.DecryptionError):
            bob.open(didrtc.seal(alice.did, b"for alice only"))

    def test_verify_with_the_wrong_did(self) -> None:
        alice, bob = didrtc.Identity.from_seed(SEED), didrtc.Identity.generate()
        with pytest.raises(didrtc.InvalidSignature):
            didrtc.verify(bob.did, b"m", alice.sign(b"m"))

    def test_verify_with_a_garbage_did(self) -> None:
        with pytest.raises(didrtc.InvalidDid):
            didrtc.verify("did:key:zzzz", b"m", bytes(64))

    def test_seal_to_a_garbage_did(self) -> None:
        with pytest.raises(didrtc.InvalidDid):
            didrtc.seal("did:example:123", b"m")

    def test_batch_names_the_bad_index(self) -> None:
        alice = didrtc.Identity.from_seed(SEED)
        items = [(alice.did, b"%d" % i, alice.sign(b"%d" % i)) for i in range(10)]
        didrtc.verify_batch(items)
        items[7] = (alice.did, b"forged", items[7][2])
        with pytest.raises(didrtc.InvalidSignature, match="signature 7 of 10"):
            didrtc.verify_batch(items)

    def test_empty_batch_is_accepted(self) -> None:
        didrtc.verify_batch([])

    def test_round_trip(self) -> None:
        alice = didrtc.Identity.generate()
        assert alice.open(didrtc.seal(alice.did, b"x" * 5000, info=b"i"), info=b"i") == b"x" * 5000
        assert didrtc.public_key_from_did(alice.did) == alice.public_key
        assert didrtc.did_from_public_key(alice.public_key) == alice.did
        assert didrtc.x25519_public_key_from_did(alice.did) == alice.x25519_public_key
        assert repr(alice) == f"Identity(did={alice.did!r})"
