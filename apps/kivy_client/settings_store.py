"""The app's settings: discovery server, DHT bootstrap nodes, ICE servers; remembered on disk.

Settings live in ``settings.json`` in the app's data directory, written
atomically and with mode 0600 because a TURN credential may be among them.
Every value is checked when the user saves it (:meth:`Settings.from_form`) and
again when read back, so a hand-edited or corrupt file falls back to the
defaults with a warning instead of breaking the app at launch.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from didrtc.signaling import IceServer, PeerConfig
from didrtc.signaling.offerer import parse_host_port

__all__ = ["DEFAULT_DISCOVERY_URL", "Settings", "SettingsError", "SettingsStore"]

logger = logging.getLogger(__name__)

DEFAULT_DISCOVERY_URL: Final = "http://127.0.0.1:8000"
"""Where ``didrtc discovery serve`` listens by default."""
FORMAT_VERSION: Final = 1
MAX_SETTINGS_BYTES: Final = 64 * 1024
MAX_ENTRIES: Final = 32
"""The most bootstrap nodes, ICE servers or host addresses one list may hold."""


class SettingsError(ValueError):
    """A setting the user typed cannot be used; ``field`` names which one."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _lines(text: str) -> tuple[str, ...]:
    """Non-empty lines (or comma-separated items) of a form field, stripped."""
    items = [item.strip() for line in text.splitlines() for item in line.split(",")]
    return tuple(item for item in items if item)


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SettingsError(
            "discovery_url", f"The discovery server must be an http:// or https:// URL: {url!r}"
        )
    try:
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        raise SettingsError("discovery_url", f"The port in {url!r} is not valid") from None
    return url


def _check_list(field: str, items: tuple[str, ...]) -> tuple[str, ...]:
    if len(items) > MAX_ENTRIES:
        raise SettingsError(field, f"At most {MAX_ENTRIES} entries, not {len(items)}")
    return items


@dataclass(frozen=True)
class Settings:
    """What the user chose in the settings screen."""

    discovery_url: str = DEFAULT_DISCOVERY_URL
    """The discovery server searched for answerers."""
    bootstrap_nodes: tuple[str, ...] = ()
    """DHT nodes (``host:port``) used to resolve DIDs; empty: the nodes each listing names."""
    ice_servers: tuple[str, ...] = ()
    """``stun:host:port`` or ``turn:user:password@host:port`` lines; empty: direct only."""
    host_addresses: tuple[str, ...] = ()
    """Local addresses ICE gathers on; empty: every non-loopback interface.
    ``127.0.0.1`` is what a demo running on this same machine needs."""

    def __post_init__(self) -> None:
        _check_url(self.discovery_url)
        for node in _check_list("bootstrap_nodes", self.bootstrap_nodes):
            try:
                parse_host_port(node)
            except ValueError:
                raise SettingsError(
                    "bootstrap_nodes", f"A DHT node is HOST:PORT, not {node!r}"
                ) from None
        for line in _check_list("ice_servers", self.ice_servers):
            try:
                IceServer.parse(line)
            except ValueError as error:
                raise SettingsError(
                    "ice_servers", f"Unusable ICE server {line!r}: {error}"
                ) from None
        for address in _check_list("host_addresses", self.host_addresses):
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise SettingsError("host_addresses", f"Not an IP address: {address!r}") from None

    @classmethod
    def from_form(
        cls, discovery_url: str, bootstrap_nodes: str, ice_servers: str, host_addresses: str
    ) -> Settings:
        """Settings from the settings screen's text fields; ``SettingsError`` names a bad one."""
        return cls(
            discovery_url=discovery_url.strip(),
            bootstrap_nodes=_lines(bootstrap_nodes),
            ice_servers=_lines(ice_servers),
            host_addresses=_lines(host_addresses),
        )

    def bootstrap(self) -> tuple[tuple[str, int], ...]:
        """The bootstrap nodes as ``(host, port)`` pairs."""
        return tuple(parse_host_port(node) for node in self.bootstrap_nodes)

    def peer_config(self) -> PeerConfig:
        """The WebRTC configuration these settings describe."""
        return PeerConfig(
            ice_servers=tuple(IceServer.parse(line) for line in self.ice_servers),
            host_addresses=self.host_addresses or None,
            # A peer pinned to loopback has no LAN to resolve .local names on.
            resolve_mdns=not self.host_addresses,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "discovery_url": self.discovery_url,
            "bootstrap_nodes": list(self.bootstrap_nodes),
            "ice_servers": list(self.ice_servers),
            "host_addresses": list(self.host_addresses),
        }

    @classmethod
    def from_json(cls, document: object) -> Settings:
        """Settings from :meth:`to_json`'s form; ``SettingsError`` if anything is off."""
        if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
            raise SettingsError("file", "not a version 1 settings document")

        def strings(field: str) -> tuple[str, ...]:
            value = document.get(field, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SettingsError(field, f"{field!r} must be a list of strings")
            return tuple(value)

        url = document.get("discovery_url", DEFAULT_DISCOVERY_URL)
        if not isinstance(url, str):
            raise SettingsError("discovery_url", "'discovery_url' must be a string")
        return cls(
            discovery_url=url,
            bootstrap_nodes=strings("bootstrap_nodes"),
            ice_servers=strings("ice_servers"),
            host_addresses=strings("host_addresses"),
        )


class SettingsStore:
    """Reads and writes :class:`Settings` in ``directory / "settings.json"``."""

    FILENAME: Final = "settings.json"

    def __init__(self, directory: Path) -> None:
        self.path = directory / self.FILENAME

    def load(self) -> Settings:
        """The saved settings, or the defaults when there are none or they are unusable."""
        try:
            with self.path.open("rb") as file:
                data = file.read(MAX_SETTINGS_BYTES + 1)
        except FileNotFoundError:
            return Settings()
        except OSError as error:
            logger.warning("cannot read %s (%s): using the default settings", self.path, error)
            return Settings()
        try:
            if len(data) > MAX_SETTINGS_BYTES:
                raise SettingsError("file", f"over {MAX_SETTINGS_BYTES} bytes")
            return Settings.from_json(json.loads(data))
        except (ValueError, RecursionError) as error:
            logger.warning("ignoring unusable settings in %s: %s", self.path, error)
            return Settings()

    def save(self, settings: Settings) -> None:
        """Replace the saved settings atomically; the file is 0600."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(prefix=".settings-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(settings.to_json(), file, indent=2)
                file.write("\n")
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
