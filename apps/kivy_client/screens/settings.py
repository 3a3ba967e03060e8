"""Settings: the discovery server, DHT bootstrap nodes, ICE servers and local ICE addresses."""

from __future__ import annotations

from kivy.properties import StringProperty  # type: ignore[import-untyped]
from kivy.uix.screenmanager import Screen  # type: ignore[import-untyped]

from apps.kivy_client.settings_store import Settings

__all__ = ["SettingsScreen"]


class SettingsScreen(Screen):  # type: ignore[misc]
    """The settings form; its fields start from the saved settings each time it is shown."""

    discovery_url = StringProperty("")
    bootstrap_nodes = StringProperty("")
    ice_servers = StringProperty("")
    host_addresses = StringProperty("")
    error = StringProperty("")
    """Why the last save was refused ('' when it was not)."""
    error_field = StringProperty("")
    """Which field the refusal is about."""

    def show(self, settings: Settings) -> None:
        """Fill the form from ``settings``."""
        self.discovery_url = settings.discovery_url
        self.bootstrap_nodes = "\n".join(settings.bootstrap_nodes)
        self.ice_servers = "\n".join(settings.ice_servers)
        self.host_addresses = "\n".join(settings.host_addresses)
        self.error = self.error_field = ""
        for name in ("discovery_url", "bootstrap_nodes", "ice_servers", "host_addresses"):
            self.ids[name].text = getattr(self, name)

    def edited(self, field: str) -> None:
        """The user changed ``field``: a refusal about it no longer applies."""
        if field == self.error_field:
            self.error = self.error_field = ""

    def refuse(self, field: str, message: str) -> None:
        self.error_field = field
        self.error = message
