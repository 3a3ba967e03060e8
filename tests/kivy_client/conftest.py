"""Fixtures of the app's tests: real local services on 127.0.0.1 and the app's data directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from apps.kivy_client.identity_store import IdentityStore
from apps.kivy_client.settings_store import Settings, SettingsStore
from didrtc.signaling.localnet import LocalDht, LocalDiscovery
from tests.kivy_client.services import Network


@pytest_asyncio.fixture
async def network(tmp_path: Path) -> AsyncIterator[Network]:
    """Discovery + DHT; every answerer started on it is stopped at the end of the test."""
    directory = tmp_path / "discovery"
    directory.mkdir()
    with LocalDiscovery(directory, rate_limits=False) as discovery:
        async with LocalDht(size=4) as dht:
            live = Network(discovery, dht)
            try:
                yield live
            finally:
                for each in live.answerers:
                    await each.announcer.stop()
                    await each.answerer.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The app's data directory (identity and settings), empty: a first run."""
    path = tmp_path / "app-data"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def set_up_app(data_dir: Path) -> Callable[..., str]:
    """Give the app an identity and settings, as a finished onboarding would; returns the DID."""

    def set_up(**settings: Any) -> str:
        SettingsStore(data_dir).save(Settings(**settings))
        return IdentityStore(data_dir).create().did

    return set_up
