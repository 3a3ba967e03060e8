"""The Android staging step: what buildozer would package runs on the pure-Python crypto twin."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

from apps.kivy_client.android import stage

PROBE = """
import didrtc
from apps.kivy_client.services import ClientService
from apps.kivy_client.settings_store import Settings
identity = didrtc.Identity.generate()
ClientService(identity, Settings())
print(didrtc.BACKEND, didrtc.__file__)
"""


def test_staged_tree_has_no_rust_core_and_runs_on_the_python_twin(tmp_path: Path) -> None:
    staged = stage(tmp_path / "android")
    assert (staged / "main.py").read_text().count('setdefault("DIDRTC_BACKEND", "python")') == 1
    assert not list(staged.rglob("*.so"))
    assert (staged / "apps" / "kivy_client" / "screens" / "chat.kv").is_file()

    spec = configparser.ConfigParser()
    spec.read(staged / "buildozer.spec")
    assert spec["app"]["source.dir"] == "."
    requirements = {r.strip().split("==")[0] for r in spec["app"]["requirements"].split(",")}
    assert {
        "kivy",
        "cryptography",
        "pynacl",
        "pyhpke",
        "rfc8785",
        "aiohttp",
        "aiortc",
    } <= requirements

    env = {k: v for k, v in os.environ.items() if k != "DIDRTC_BACKEND"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=staged,
        env={**env, "PYTHONPATH": str(staged)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    backend, location = result.stdout.split()
    # Without the Rust core the twin is chosen on its own, from the staged copy.
    assert backend == "python"
    assert Path(location).is_relative_to(staged)
