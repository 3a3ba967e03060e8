"""Choose the crypto backend once, at import.

The Rust core (``didrtc._core``) is used when it is importable; setting
``DIDRTC_BACKEND=python`` forces the pure-Python twin and ``DIDRTC_BACKEND=rust``
makes a missing Rust core an error instead of a silent fallback.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import TYPE_CHECKING

from didrtc.errors import DidrtcError

__all__ = ["CHOICES", "ENVIRONMENT_VARIABLE", "BackendUnavailable", "backend", "load"]

ENVIRONMENT_VARIABLE = "DIDRTC_BACKEND"
CHOICES = ("auto", "rust", "python")


class BackendUnavailable(DidrtcError, ImportError):
    """The backend asked for through ``DIDRTC_BACKEND`` cannot be loaded."""


def load(choice: str | None = None) -> ModuleType:
    """The backend module for ``choice`` (default: the environment variable, else auto)."""
    if choice is None:
        choice = os.environ.get(ENVIRONMENT_VARIABLE, "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        raise BackendUnavailable(
            f"{ENVIRONMENT_VARIABLE}={choice!r} is not one of {', '.join(CHOICES)}"
        )
    if choice == "python":
        return importlib.import_module("didrtc._pycore")
    try:
        return importlib.import_module("didrtc._core")
    except ImportError as error:
        if choice == "rust":
            raise BackendUnavailable(
                f"{ENVIRONMENT_VARIABLE}=rust, but the Rust core is not built or does not load "
                f"({error}); build it with `maturin develop --release` or unset the variable"
            ) from error
        return importlib.import_module("didrtc._pycore")


if TYPE_CHECKING:
    from didrtc import _core as backend
else:
    backend = load()
