"""Identity files: 0600, passphrase encryption, and a clear error for every broken file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

import didrtc
from didrtc import keyfile


@pytest.fixture
def identity() -> didrtc.Identity:
    return didrtc.Identity.generate()


def test_plain_file_round_trips_with_mode_0600(tmp_path: Path, identity: didrtc.Identity) -> None:
    path = tmp_path / "id.json"
    identity.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = didrtc.Identity.load(path)
    assert loaded.did == identity.did
    assert loaded.sign(b"m") == identity.sign(b"m")


def test_encrypted_file_round_trips_and_holds_no_seed(
    tmp_path: Path, identity: didrtc.Identity
) -> None:
    path = tmp_path / "id.json"
    identity.save(path, passphrase="correct horse battery staple")
    text = path.read_text()
    assert "seed" not in json.loads(text)
    assert identity.seed().hex() not in text
    assert keyfile.is_encrypted(path)
    assert keyfile.stored_did(path) == identity.did
    assert didrtc.Identity.load(path, "correct horse battery staple").did == identity.did


def test_wrong_or_missing_passphrase(tmp_path: Path, identity: didrtc.Identity) -> None:
    path = tmp_path / "id.json"
    identity.save(path, passphrase="right")
    with pytest.raises(didrtc.WrongPassphrase, match="wrong passphrase"):
        didrtc.Identity.load(path, "wrong")
    with pytest.raises(didrtc.WrongPassphrase, match="passphrase is required"):
        didrtc.Identity.load(path)


def test_encrypted_file_cannot_be_edited_to_claim_another_did(
    tmp_path: Path, identity: didrtc.Identity
) -> None:
    path = tmp_path / "id.json"
    identity.save(path, passphrase="pw")
    document = json.loads(path.read_text())
    document["did"] = didrtc.Identity.generate().did
    path.write_text(json.dumps(document))
    with pytest.raises(didrtc.WrongPassphrase):
        didrtc.Identity.load(path, "pw")


def test_existing_file_is_never_overwritten(tmp_path: Path, identity: didrtc.Identity) -> None:
    path = tmp_path / "id.json"
    identity.save(path)
    with pytest.raises(didrtc.IdentityFileError, match="already exists"):
        didrtc.Identity.generate().save(path)
    assert didrtc.Identity.load(path).did == identity.did
    assert [p.name for p in tmp_path.iterdir()] == ["id.json"]  # no temporary left behind


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_too_open_file_is_refused(tmp_path: Path, identity: didrtc.Identity, mode: int) -> None:
    path = tmp_path / "id.json"
    identity.save(path)
    os.chmod(path, mode)
    with pytest.raises(didrtc.IdentityFileError, match="chmod 600"):
        didrtc.Identity.load(path)


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    os.chmod(path, 0o600)
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a JSON identity file"),
        (b"\xff\xfe garbage", "not a JSON identity file"),
        (b"[]", "not a didrtc identity file"),
        (b'{"type": "other"}', "not a didrtc identity file"),
        (b'{"type": "didrtc-identity", "version": 99}', "format version 99"),
        (b'{"type": "didrtc-identity", "version": 1}', "no 'did' string"),
        (b'{"type": "didrtc-identity", "version": 1, "did": "x", "seed": 5}', "base64url string"),
        (
            b'{"type": "didrtc-identity", "version": 1, "did": "x", "seed": "!!"}',
            "not valid base64url",
        ),
        (b'{"type": "didrtc-identity", "version": 1, "did": "x", "seed": "AAAA"}', "unusable seed"),
        (b" " * (keyfile.MAX_FILE_BYTES + 1), "larger than"),
    ],
)
def test_corrupt_file_gives_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = _write(tmp_path / "id.json", content)
    with pytest.raises(didrtc.IdentityFileError, match=message):
        didrtc.Identity.load(path)


def test_seed_of_another_did_is_detected(tmp_path: Path, identity: didrtc.Identity) -> None:
    path = tmp_path / "id.json"
    identity.save(path)
    document = json.loads(path.read_text())
    document["did"] = didrtc.Identity.generate().did
    _write(path, json.dumps(document).encode())
    with pytest.raises(didrtc.IdentityFileError, match="does not belong to"):
        didrtc.Identity.load(path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("memory_kib", 2**40),
        ("time_cost", 10_000),
        ("lanes", 0),
        ("time_cost", "3"),
        ("kdf", "pbkdf2"),
    ],
)
def test_crafted_kdf_parameters_are_refused(
    tmp_path: Path, identity: didrtc.Identity, field: str, value: object
) -> None:
    """A file cannot make the loader spend unbounded memory or time."""
    path = tmp_path / "id.json"
    identity.save(path, passphrase="pw")
    document = json.loads(path.read_text())
    document["encrypted"][field] = value
    _write(path, json.dumps(document).encode())
    with pytest.raises(didrtc.IdentityFileError):
        didrtc.Identity.load(path, "pw")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(didrtc.IdentityFileError, match="no identity file"):
        didrtc.Identity.load(tmp_path / "absent.json")
    with pytest.raises(didrtc.IdentityFileError, match="is a directory"):
        didrtc.Identity.load(tmp_path)


def test_empty_passphrase_is_refused(tmp_path: Path, identity: didrtc.Identity) -> None:
    with pytest.raises(didrtc.IdentityFileError, match="empty passphrase"):
        identity.save(tmp_path / "id.json", passphrase="")
