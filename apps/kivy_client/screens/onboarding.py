"""First run: create or import the identity, or unlock an encrypted one; then show the DID."""

from __future__ import annotations

from typing import Any

from kivy.core.clipboard import Clipboard  # type: ignore[import-untyped]
from kivy.factory import Factory  # type: ignore[import-untyped]
from kivy.properties import (  # type: ignore[import-untyped]
    BooleanProperty,
    DictProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout  # type: ignore[import-untyped]
from kivy.uix.screenmanager import Screen  # type: ignore[import-untyped]

__all__ = ["OnboardingPanel", "OnboardingScreen"]

_PANELS = {"welcome": "WelcomePanel", "unlock": "UnlockPanel", "ready": "ReadyPanel"}


class OnboardingPanel(BoxLayout):  # type: ignore[misc]
    """What the onboarding screen shows in one mode (the rules are in ``onboarding.kv``)."""

    screen = ObjectProperty(None, rebind=True)


class OnboardingScreen(Screen):  # type: ignore[misc]
    """``welcome`` (create or import), ``unlock`` (encrypted identity) or ``ready`` (DID shown)."""

    mode = OptionProperty("welcome", options=list(_PANELS))
    did = StringProperty("")
    """The identity's DID, once created, imported or unlocked."""
    busy = BooleanProperty(False)
    """An identity is being created or unlocked (Argon2id runs in a worker thread)."""
    error = StringProperty("")
    copied = BooleanProperty(False)
    intro = DictProperty(
        {
            "welcome": "didrtc finds answerers and talks to them over an end-to-end encrypted "
            "channel. They know you by a DID: a name made from a key that never leaves "
            "this device.",
            "unlock": "Your identity on this device is protected by a passphrase.",
            "ready": "This is your DID. Answerers see it when you connect, and can allow it "
            "by name.",
        }
    )

    def on_kv_post(self, _base_widget: Any) -> None:
        self.on_mode(self, self.mode)

    def on_mode(self, _instance: Any, mode: str) -> None:
        self.error = ""
        self.copied = False
        holder = self.ids.panel
        holder.clear_widgets()
        holder.add_widget(getattr(Factory, _PANELS[mode])(screen=self))

    def copy_did(self) -> None:
        """Put the DID on the clipboard."""
        Clipboard.copy(self.did)
        self.copied = True
