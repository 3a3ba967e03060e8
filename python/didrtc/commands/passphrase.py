"""Where a command gets a passphrase: a file, an environment variable, or a prompt."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from didrtc.errors import IdentityFileError

__all__ = ["ENVIRONMENT_VARIABLE", "read_passphrase"]

ENVIRONMENT_VARIABLE = "DIDRTC_PASSPHRASE"


def read_passphrase(passphrase_file: Path | None, *, confirm: bool) -> str:
    """The passphrase from ``passphrase_file``, else ``$DIDRTC_PASSPHRASE``, else a prompt.

    A prompt needs a terminal; without one, the error says how else to give it.
    """
    if passphrase_file is not None:
        try:
            text = passphrase_file.read_text(encoding="utf-8")
        except OSError as error:
            raise IdentityFileError(f"cannot read passphrase file: {error}") from None
        return text.rstrip("\r\n")
    from_environment = os.environ.get(ENVIRONMENT_VARIABLE)
    if from_environment:
        return from_environment
    if not sys.stdin.isatty():
        raise IdentityFileError(
            f"a passphrase is needed and there is no terminal to ask on: "
            f"use --passphrase-file FILE or set {ENVIRONMENT_VARIABLE}"
        )
    passphrase = getpass.getpass("Passphrase: ")
    if confirm and getpass.getpass("Passphrase again: ") != passphrase:
        raise IdentityFileError("the two passphrases differ")
    return passphrase
