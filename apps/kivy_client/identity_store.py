"""The user's identity on disk: created on first run or imported, kept 0600 in the data directory.

The file is :mod:`didrtc.keyfile`'s format, so ``didrtc did show`` reads it and
an identity made with ``didrtc keygen`` imports as is. Loading an encrypted
file runs Argon2id (64 MiB, a noticeable fraction of a second), so callers on
the UI's event loop run :meth:`IdentityStore.load` in a worker thread.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Final

import platformdirs

from didrtc import Identity, IdentityFileError, keyfile

__all__ = ["APP_NAME", "DATA_DIR_VARIABLE", "IdentityStore", "default_data_dir"]

logger = logging.getLogger(__name__)

APP_NAME: Final = "didrtc-client"
DATA_DIR_VARIABLE: Final = "DIDRTC_CLIENT_HOME"
"""When set, the app keeps its identity and settings there instead of the platform's place."""


def default_data_dir() -> Path:
    """``$DIDRTC_CLIENT_HOME``, else the platform's user data directory for the app.

    That is ``~/.local/share/didrtc-client`` on Linux, ``~/Library/Application
    Support/didrtc-client`` on macOS, ``%LOCALAPPDATA%\\didrtc-client`` on
    Windows and the app's private files directory on Android.
    """
    override = os.environ.get(DATA_DIR_VARIABLE)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


class IdentityStore:
    """The one identity file of the app, ``directory / "identity.json"``."""

    FILENAME: Final = "identity.json"

    def __init__(self, directory: Path) -> None:
        self.path = directory / self.FILENAME

    def exists(self) -> bool:
        """Whether an identity was created or imported already."""
        return self.path.exists()

    def is_encrypted(self) -> bool:
        """Whether loading the identity needs a passphrase."""
        return keyfile.is_encrypted(self.path)

    def stored_did(self) -> str:
        """The DID the file names, read without the passphrase (not yet proven)."""
        return keyfile.stored_did(self.path)

    def load(self, passphrase: str | None = None) -> Identity:
        """The identity; ``WrongPassphrase`` or ``IdentityFileError`` when it cannot be read."""
        return Identity.load(self.path, passphrase or None)

    def create(self, passphrase: str | None = None) -> Identity:
        """A new identity, saved (encrypted when a passphrase is given); never overwrites."""
        identity = Identity.generate()
        identity.save(self.path, passphrase or None)
        logger.info("created the identity %s in %s", identity.did, self.path)
        return identity

    def import_file(self, source: Path, passphrase: str | None = None) -> Identity:
        """Copy an identity file made elsewhere (``didrtc keygen``) into the app.

        It is read (and so checked) with ``passphrase`` and stored again under the
        same passphrase, or in the clear when it was not encrypted.
        """
        if source.resolve() == self.path.resolve():
            raise IdentityFileError(f"{source} is already the app's identity file")
        identity = Identity.load(source, passphrase or None)
        identity.save(self.path, passphrase or None)
        logger.info("imported the identity %s from %s", identity.did, source)
        return identity
