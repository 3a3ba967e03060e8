"""The ``didrtc`` command line: keygen, did show, info, demo; errors as messages, not tracebacks."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import didrtc
from didrtc.cli import main


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI in a real subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "didrtc", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        input=stdin,
        check=False,
    )


def test_keygen_then_did_show(tmp_path: Path) -> None:
    path = tmp_path / "me.json"
    created = run("keygen", "--out", str(path), "--json")
    assert created.returncode == 0, created.stderr
    did = json.loads(created.stdout)["did"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shown = run("did", "show", str(path), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["didDocument"] == didrtc.resolve_did_key(did)


def test_keygen_default_location_honours_xdg_data_home(tmp_path: Path) -> None:
    created = run("keygen", env={"XDG_DATA_HOME": str(tmp_path)})
    assert created.returncode == 0, created.stderr
    assert (tmp_path / "didrtc" / "identity.json").exists()
    again = run("keygen", env={"XDG_DATA_HOME": str(tmp_path)})
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert "Traceback" not in again.stderr


def test_encrypted_keygen_and_show_without_terminal(tmp_path: Path) -> None:
    path = tmp_path / "me.json"
    passphrase_file = tmp_path / "pw"
    passphrase_file.write_text("s3cret\n")
    created = run(
        "keygen", "--out", str(path), "--passphrase", "--passphrase-file", str(passphrase_file)
    )
    assert created.returncode == 0, created.stderr
    assert didrtc.Identity.load(path, "s3cret").did in created.stdout
    assert run("did", "show", str(path)).returncode == 0  # public data: no passphrase needed


def test_passphrase_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "me.json"
    created = run("keygen", "--out", str(path), "--passphrase", env={"DIDRTC_PASSPHRASE": "pw"})
    assert created.returncode == 0, created.stderr
    assert didrtc.Identity.load(path, "pw")


def test_passphrase_without_terminal_or_source_is_a_clear_error(tmp_path: Path) -> None:
    result = run("keygen", "--out", str(tmp_path / "me.json"), "--passphrase", stdin="")
    assert result.returncode == 1
    assert "--passphrase-file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (b"not json", 0o600, "not a JSON identity file"),
        (b"{}", 0o644, "chmod 600"),
    ],
)
def test_did_show_of_a_bad_file(tmp_path: Path, content: bytes, mode: int, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    os.chmod(path, mode)
    result = run("did", "show", str(path))
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_did_show_of_a_missing_file(tmp_path: Path) -> None:
    result = run("did", "show", str(tmp_path / "nope.json"))
    assert result.returncode == 1
    assert "no identity file" in result.stderr


@pytest.mark.parametrize("backend", ["rust", "python"])
def test_info_reports_the_backend(backend: str) -> None:
    result = run("info", "--json", env={"DIDRTC_BACKEND": backend})
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["backend"] == backend
    assert facts["rust_core"]  # built in this environment either way


def test_help_teaches_each_command() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("keygen", "did", "info", "demo"):
        assert command in result.stdout
    keygen_help = run("keygen", "--help").stdout
    assert "0600" in keygen_help
    assert "Argon2id" in keygen_help


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: didrtc" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error() -> None:
    result = run("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_demo_runs_and_prints_every_stage() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    assert "refused, as it must be" in result.stdout
    assert "done:" in result.stdout
