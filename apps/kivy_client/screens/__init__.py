"""The app's screens: one module and one ``.kv`` file each, loaded when first shown.

Screens hold the state they show in Kivy properties and forward what the user
asks for to the app (``app.create_identity()``, ``app.search()``...); none of
them touches the network.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SCREENS"]

SCREENS: Final = {
    "onboarding": "OnboardingScreen",
    "settings": "SettingsScreen",
    "search": "SearchScreen",
    "connect": "ConnectScreen",
    "chat": "ChatScreen",
}
"""Screen name -> class name in ``apps.kivy_client.screens.<name>`` (layout: ``<name>.kv``)."""
