"""Kivy settings the app needs, applied before the first Kivy import creates the window."""

from __future__ import annotations

import os

__all__ = ["configure"]


def configure(width: int = 480, height: int = 800) -> None:
    """Set Kivy's options for the app; call before importing anything else from Kivy."""
    # Kivy parses sys.argv unless told not to; the app has its own options.
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kivy.config import Config  # type: ignore[import-untyped]

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    # No MSAA: the UI is flat rectangles and text, and on software GL (Mesa llvmpipe, what
    # CI and many VMs have) multisampling makes each frame that uploads a texture slower.
    Config.set("graphics", "multisamples", "0")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,multitouch_on_demand")
