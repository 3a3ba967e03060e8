"""Changed text gets a new texture, instead of being drawn into the texture on screen.

Kivy's core label re-renders into the texture it already has whenever the new text
has the same pixel size (a ``glTexSubImage2D`` on the next frame). That texture is
still in use by the frame the OpenGL driver is drawing, so the driver waits for that
frame to finish before it can change it. On Mesa's llvmpipe (software OpenGL: CI and
many VMs) the wait is the whole rasterisation of the previous frame, and it is paid by
the first changed label of every frame. Measured with ``benches/kivy_client/run.py``
(docs/benchmarks.md): the longest frame gap of each search went from 26-70 ms to
13-17 ms, and a search, tap to results shown, from 269 ms to about 170 ms (medians).

A fresh texture is the usual remedy ("orphaning"): the driver never has to wait on a
texture nobody has drawn yet, and the old one is released once the frame that used it
is done with it. The cost is one small allocation per changed label.
"""

from __future__ import annotations

from typing import Any

from kivy.core.text import LabelBase  # type: ignore[import-untyped]

__all__ = ["install", "installed"]

_original_refresh = LabelBase.refresh


def _refresh_into_a_new_texture(label: Any) -> None:
    # With no texture, LabelBase.refresh creates one of the right size and fills it.
    label.texture = None
    _original_refresh(label)


def install() -> None:
    """Make every Kivy label in this process render changed text into a new texture."""
    LabelBase.refresh = _refresh_into_a_new_texture


def installed() -> bool:
    """Whether :func:`install` is in effect."""
    return LabelBase.refresh is _refresh_into_a_new_texture
