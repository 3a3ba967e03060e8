"""Widgets the screens share: buttons, chips, result rows, stage rows, message bubbles.

Their look is in ``widgets.kv``; this module holds only their properties and the
small behaviours that properties cannot express.
"""

from __future__ import annotations

from typing import Any

from kivy.animation import Animation  # type: ignore[import-untyped]
from kivy.properties import (  # type: ignore[import-untyped]
    BooleanProperty,
    ListProperty,
    NumericProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior  # type: ignore[import-untyped]
from kivy.uix.boxlayout import BoxLayout  # type: ignore[import-untyped]
from kivy.uix.recycleview.views import RecycleDataViewBehavior  # type: ignore[import-untyped]

__all__ = ["MessageBubble", "ResultRow", "StageRow"]


class ResultRow(RecycleDataViewBehavior, ButtonBehavior, BoxLayout):  # type: ignore[misc]
    """One search result; pressing it asks the app to connect to that answerer."""

    index = NumericProperty(-1)
    name = StringProperty("")
    description = StringProperty("")
    categories = StringProperty("")
    did = StringProperty("")

    def refresh_view_attrs(self, rv: Any, index: int, data: dict[str, Any]) -> Any:
        self.index = index
        return super().refresh_view_attrs(rv, index, data)


class StageRow(BoxLayout):  # type: ignore[misc]
    """One stage of connecting, with a dot that shows pending, active, done or failed."""

    title = StringProperty("")
    status = OptionProperty("pending", options=["pending", "active", "done", "failed"])
    pulse = NumericProperty(1.0)

    def on_status(self, _instance: Any, status: str) -> None:
        Animation.cancel_all(self, "pulse")
        if status == "active":
            animation = Animation(pulse=0.3, duration=0.5) + Animation(pulse=1.0, duration=0.5)
            animation.repeat = True
            animation.start(self)
        else:
            self.pulse = 1.0


class MessageBubble(BoxLayout):  # type: ignore[misc]
    """One chat message; ``mine`` puts it on the right in the accent colour."""

    text = StringProperty("")
    mine = BooleanProperty(False)
    bubble_color = ListProperty([0.2, 0.24, 0.31, 1])
