"""``didrtc-client``: the app's command works from a checkout, and the wheel carries the app."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "apps" / "kivy_client"


def test_the_command_runs_from_anywhere(tmp_path: Path) -> None:
    command = Path(sys.executable).with_name("didrtc-client")
    answer = subprocess.run(
        [str(command), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith("usage: didrtc-client")
    assert "--data-dir DIR" in answer.stdout


def test_the_wheel_carries_the_app_and_its_command(tmp_path: Path) -> None:
    maturin = Path(sys.executable).with_name("maturin")
    subprocess.run(
        [str(maturin), "build", "--release", "--quiet", "--out", str(tmp_path / "dist")],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=900,
    )
    (wheel,) = (tmp_path / "dist").glob("didrtc-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        assert "didrtc-client=apps.kivy_client.__main__:main" in archive.read(
            entry_points
        ).decode().replace(" ", "")
        archive.extractall(tmp_path / "site")
    shipped = {
        path.relative_to(REPO).as_posix()
        for path in APP.rglob("*")
        if path.suffix in {".py", ".kv"} and "__pycache__" not in path.parts
    }
    assert shipped <= names
    assert "apps/__init__.py" in names
    # Without site-packages or the checkout: only what the wheel holds is importable.
    shutil.rmtree(tmp_path / "dist")
    answer = subprocess.run(
        [sys.executable, "-S", "-m", "apps.kivy_client", "--help"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith("usage: didrtc-client")
