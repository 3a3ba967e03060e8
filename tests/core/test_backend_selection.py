"""DIDRTC_BACKEND picks the backend; asking for a missing one is a clear error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from didrtc import _backend

SNIPPET = "import didrtc; print(didrtc.BACKEND)"


def python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


@pytest.mark.parametrize(
    ("choice", "expected"), [("rust", "rust"), ("python", "python"), ("", "rust")]
)
def test_environment_variable_picks_the_backend(choice: str, expected: str) -> None:
    result = python(SNIPPET, DIDRTC_BACKEND=choice)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_unknown_choice_is_refused() -> None:
    with pytest.raises(_backend.BackendUnavailable, match="not one of"):
        _backend.load("go")


def test_forcing_rust_where_it_is_missing_is_a_clear_error(tmp_path: Path) -> None:
    """Shadow the extension module with one that fails to import, as on a machine without it."""
    package = tmp_path / "didrtc"
    package.mkdir()
    source = Path(_backend.__file__).parent
    for item in source.iterdir():
        if item.suffix == ".py" or item.name == "commands":
            (package / item.name).symlink_to(item)
    code = "import didrtc"
    forced = python(code, DIDRTC_BACKEND="rust", PYTHONPATH=str(tmp_path))
    assert forced.returncode == 1
    assert "DIDRTC_BACKEND=rust, but the Rust core is not built" in forced.stderr
    fallback = python(SNIPPET, PYTHONPATH=str(tmp_path))
    assert fallback.returncode == 0, fallback.stderr
    assert fallback.stdout.strip() == "python"
