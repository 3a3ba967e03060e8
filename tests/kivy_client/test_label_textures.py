"""Changed label text lands in a new texture, not in the one the last frame drew with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.kivy_client.remote import ROOT, app_environment

PROBE = """
import gc, json, sys
from apps.kivy_client.kivy_config import configure
configure(240, 120)
from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.graphics.texture import Texture
from kivy.uix.label import Label
from apps.kivy_client import label_textures

if sys.argv[1] == "installed":
    label_textures.install()
EventLoop.ensure_window()

def shown(text):
    # A fixed text_size keeps the texture's size whatever the text: the case Kivy reuses.
    label = Label(text=text, font_size=20, text_size=(200, 40), size=(200, 40))
    Window.add_widget(label)
    for _ in range(3):
        EventLoop.idle()
    return label

label = shown("first text")
before = label.texture
before_pixels = before.pixels
label.text = "other text"
for _ in range(3):
    EventLoop.idle()
after = label.texture
shows_new_text = after.pixels == shown("other text").texture.pixels != before_pixels

def textures():
    gc.collect()
    return sum(isinstance(o, Texture) for o in gc.get_objects())

start = textures()
for i in range(300):
    label.text = f"text number {i}"
    EventLoop.idle()
print(json.dumps({
    "installed": label_textures.installed(),
    "same_texture": after is before,
    "size_kept": after.size == before.size,
    "shows_new_text": shows_new_text,
    "textures_added": textures() - start,
}))
"""


def probe(mode: str, tmp_path: Path) -> dict[str, Any]:
    home = tmp_path / mode
    home.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        cwd=ROOT,
        env=app_environment(home / "data", home / "kivy"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize("mode", ["installed", "stock"])
def test_changed_text_gets_a_new_texture_showing_it(mode: str, tmp_path: Path) -> None:
    report = probe(mode, tmp_path)
    assert report["installed"] is (mode == "installed")
    assert report["size_kept"] is True
    assert report["shows_new_text"] is True
    # Stock Kivy draws into the texture on screen (what makes the driver wait); installed,
    # the label gets a new one.
    assert report["same_texture"] is (mode == "stock")
    # Old textures are released, not piled up: 300 changes leave at most a frame's worth.
    assert report["textures_added"] <= 4
