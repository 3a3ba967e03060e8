"""Identity files: the seed of an Ed25519 identity on disk, 0600, optionally passphrase-encrypted.

Format (JSON, version 1)::

    {"type": "didrtc-identity", "version": 1, "did": "did:key:z6Mk...",
     "seed": "<base64url>"}                                   # plaintext
    {"type": "didrtc-identity", "version": 1, "did": "did:key:z6Mk...",
     "encrypted": {"kdf": "argon2id", "salt": "...", "time_cost": 3,
                   "memory_kib": 65536, "lanes": 4,
                   "cipher": "aes-256-gcm", "nonce": "...", "ciphertext": "..."}}

The passphrase goes through Argon2id (RFC 9106's second recommended setting,
64 MiB, 3 passes) into an AES-256-GCM key; the DID is the AAD, so a file
cannot be edited to claim another DID. The stored DID is checked against the
seed on load either way.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from didrtc.errors import IdentityFileError, InvalidKey, WrongPassphrase
from didrtc.identity import Identity

__all__ = ["MAX_FILE_BYTES", "is_encrypted", "load", "save", "stored_did"]

FILE_TYPE = "didrtc-identity"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 16 * 1024
"""An identity file is a few hundred bytes; refuse to read anything larger."""

_B64URL = re.compile(r"[A-Za-z0-9_-]*")

# RFC 9106 section 4, second recommended option (for memory-constrained use).
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_LANES = 4
# Limits on what a file may ask of the KDF, so a crafted file cannot exhaust memory or time.
_MAX_MEMORY_KIB = 1024 * 1024
_MAX_TIME_COST = 20
_MAX_LANES = 16


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64d(text: object, field: str) -> bytes:
    if not isinstance(text, str):
        raise IdentityFileError(f"field {field!r} must be a base64url string")
    if not _B64URL.fullmatch(text):
        raise IdentityFileError(f"field {field!r} is not valid base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise IdentityFileError(f"field {field!r} is not valid base64url") from None


def _derive_key(passphrase: str, salt: bytes, time_cost: int, memory_kib: int, lanes: int) -> bytes:
    kdf = Argon2id(salt=salt, length=32, iterations=time_cost, lanes=lanes, memory_cost=memory_kib)
    return kdf.derive(passphrase.encode("utf-8"))


def _encrypt(seed: bytes, did: str, passphrase: str) -> dict[str, Any]:
    salt = os.urandom(16)
    nonce = os.urandom(12)
    key = _derive_key(passphrase, salt, ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_LANES)
    ciphertext = AESGCM(key).encrypt(nonce, seed, did.encode())
    return {
        "kdf": "argon2id",
        "salt": _b64e(salt),
        "time_cost": ARGON2_TIME_COST,
        "memory_kib": ARGON2_MEMORY_KIB,
        "lanes": ARGON2_LANES,
        "cipher": "aes-256-gcm",
        "nonce": _b64e(nonce),
        "ciphertext": _b64e(ciphertext),
    }


def _bounded_int(params: dict[str, Any], field: str, low: int, high: int) -> int:
    value = params.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise IdentityFileError(f"field 'encrypted.{field}' must be an integer in [{low}, {high}]")
    return value


def _decrypt(params: object, did: str, passphrase: str | None) -> bytes:
    if not isinstance(params, dict):
        raise IdentityFileError("field 'encrypted' must be an object")
    if params.get("kdf") != "argon2id" or params.get("cipher") != "aes-256-gcm":
        raise IdentityFileError("unsupported encryption: expected argon2id and aes-256-gcm")
    if passphrase is None:
        raise WrongPassphrase("this identity file is encrypted: a passphrase is required")
    lanes = _bounded_int(params, "lanes", 1, _MAX_LANES)
    memory_kib = _bounded_int(params, "memory_kib", 8 * lanes, _MAX_MEMORY_KIB)
    time_cost = _bounded_int(params, "time_cost", 1, _MAX_TIME_COST)
    salt = _b64d(params.get("salt"), "encrypted.salt")
    nonce = _b64d(params.get("nonce"), "encrypted.nonce")
    ciphertext = _b64d(params.get("ciphertext"), "encrypted.ciphertext")
    if len(salt) < 16 or len(nonce) != 12:
        raise IdentityFileError("the salt must be at least 16 bytes and the nonce 12 bytes")
    key = _derive_key(passphrase, salt, time_cost, memory_kib, lanes)
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, did.encode())
    except InvalidTag:
        raise WrongPassphrase("wrong passphrase, or the identity file was altered") from None


def save(identity: Identity, path: str | Path, passphrase: str | None = None) -> None:
    """Write ``identity`` to ``path``, which must not exist, with mode 0600.

    The file is written to a temporary name in the same folder and linked into
    place, so a crash never leaves a half-written identity and an existing
    file is never overwritten.
    """
    path = Path(path)
    if passphrase is not None and not passphrase:
        raise IdentityFileError("an empty passphrase would encrypt with no secret; omit it instead")
    document: dict[str, Any] = {"type": FILE_TYPE, "version": FORMAT_VERSION, "did": identity.did}
    if passphrase is None:
        document["seed"] = _b64e(identity.seed())
    else:
        document["encrypted"] = _encrypt(identity.seed(), identity.did, passphrase)
    data = (json.dumps(document, indent=2) + "\n").encode()
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkstemp creates the file 0600 from the start: the seed is never readable by others.
    descriptor, temporary = tempfile.mkstemp(prefix=".identity-", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise IdentityFileError(f"{path} already exists; refusing to overwrite it") from None
    finally:
        os.unlink(temporary)


def _check_mode(path: Path, mode: int) -> None:
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise IdentityFileError(
            f"{path} is readable by other users (mode {stat.S_IMODE(mode):04o}); "
            f"run `chmod 600 {path}`"
        )


def _read_document(path: Path) -> dict[str, Any]:
    """The checked JSON document of an identity file: private, bounded, of our type and version."""
    try:
        with path.open("rb") as handle:
            _check_mode(path, os.fstat(handle.fileno()).st_mode)
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise IdentityFileError(f"no identity file at {path}") from None
    except IsADirectoryError:
        raise IdentityFileError(f"{path} is a directory, not an identity file") from None
    except PermissionError:
        raise IdentityFileError(f"no permission to read {path}") from None
    except OSError as error:
        raise IdentityFileError(f"cannot read {path}: {error.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise IdentityFileError(
            f"{path} is larger than {MAX_FILE_BYTES} bytes: not an identity file"
        )
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise IdentityFileError(f"{path} is not a JSON identity file (corrupt?)") from None
    if not isinstance(document, dict) or document.get("type") != FILE_TYPE:
        raise IdentityFileError(f"{path} is not a didrtc identity file")
    if document.get("version") != FORMAT_VERSION:
        raise IdentityFileError(
            f"{path} has format version {document.get('version')!r}; "
            f"this didrtc reads {FORMAT_VERSION}"
        )
    if not isinstance(document.get("did"), str):
        raise IdentityFileError(f"{path} has no 'did' string")
    return document


def load(path: str | Path, passphrase: str | None = None) -> Identity:
    """Read an identity file; every problem raises ``IdentityFileError`` or ``WrongPassphrase``."""
    path = Path(path)
    document = _read_document(path)
    did: str = document["did"]
    if "encrypted" in document:
        seed = _decrypt(document["encrypted"], did, passphrase)
    else:
        seed = _b64d(document.get("seed"), "seed")
    try:
        identity = Identity.from_seed(seed)
    except InvalidKey as error:
        raise IdentityFileError(f"{path} holds an unusable seed: {error}") from None
    if identity.did != did:
        raise IdentityFileError(f"{path} is corrupt: its seed does not belong to {did}")
    return identity


def is_encrypted(path: str | Path) -> bool:
    """Whether the identity file at ``path`` needs a passphrase (to prompt before :func:`load`)."""
    return "encrypted" in _read_document(Path(path))


def stored_did(path: str | Path) -> str:
    """The DID an identity file says it holds, read without the passphrase and not yet proven."""
    did: str = _read_document(Path(path))["did"]
    return did
