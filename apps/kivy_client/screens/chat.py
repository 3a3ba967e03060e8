"""Chat: messages both ways over the data channel, the connection's state, and disconnect."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock  # type: ignore[import-untyped]
from kivy.factory import Factory  # type: ignore[import-untyped]
from kivy.properties import (  # type: ignore[import-untyped]
    ListProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.screenmanager import Screen  # type: ignore[import-untyped]

__all__ = ["ChatScreen"]


class ChatScreen(Screen):  # type: ignore[misc]
    """One conversation with one answerer."""

    name_shown = StringProperty("")
    """The answerer's display name."""
    did = StringProperty("")
    """The answerer's DID, as signaling authenticated it."""
    state = OptionProperty("connected", options=["connected", "closed"])
    messages = ListProperty()
    """The message list's data: ``{"text": ..., "mine": bool}`` per message, oldest first."""
    notice = StringProperty("")
    """A line about the connection (set when it closes)."""

    def begin(self, name: str, did: str) -> None:
        self.name_shown = name
        self.did = did
        self.messages = []
        self.notice = ""
        self.state = "connected"

    def add(self, text: str, *, mine: bool) -> None:
        self.messages.append({"text": text, "mine": mine})

    def on_messages(self, _instance: Any, messages: list[dict[str, Any]]) -> None:
        box = self.ids.messages
        if len(box.children) > len(messages):
            box.clear_widgets()
        for message in messages[len(box.children) :]:
            box.add_widget(Factory.MessageBubble(text=message["text"], mine=message["mine"]))
        # Follow the conversation: once laid out, show the newest message.
        Clock.schedule_once(self._follow, 0)

    def _follow(self, _dt: float) -> None:
        scroll = self.ids.scroll
        scroll.scroll_y = 0 if self.ids.messages.height > scroll.height else 1

    def closed(self, reason: str) -> None:
        self.notice = reason
        self.state = "closed"
