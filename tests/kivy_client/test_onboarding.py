"""First run: the identity is created in the app, shown, kept 0600, and remembered with settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from apps.kivy_client.settings_store import SettingsStore
from didrtc import Identity
from tests.kivy_client.remote import running_app


@pytest.mark.asyncio
async def test_first_run_creates_an_identity_and_settings_are_remembered(
    data_dir: Path, tmp_path: Path
) -> None:
    async with running_app(data_dir, tmp_path / "run1") as app:
        await app.wait_screen("onboarding")
        assert await app.get("onboarding", "mode") == "welcome"
        await app.shot("01-onboarding-welcome")
        await app.tap("onboarding", "create")
        await app.wait("onboarding", "mode", "ready")
        did = await app.get("onboarding", "did")
        assert did.startswith("did:key:z6Mk")
        assert await app.text("onboarding", "did_text") == did
        await app.tap("onboarding", "copy")
        assert await app.get("onboarding", "copied") is True
        assert await app.call("clipboard") == did
        await app.shot("02-onboarding-identity")
        await app.tap("onboarding", "continue_button")
        await app.wait_screen("search")
        await app.tap("search", "open_settings")
        await app.wait_screen("settings")
        await app.type("settings", "discovery_url", "not a url")
        await app.tap("settings", "save")
        assert await app.get("settings", "error_field") == "discovery_url"
        assert "http://" in await app.get("settings", "error")
        await app.type("settings", "discovery_url", "http://127.0.0.1:9")
        assert await app.get("settings", "error") == ""  # editing the field clears its refusal
        await app.type("settings", "bootstrap_nodes", "127.0.0.1:8468\n127.0.0.1:8469")
        await app.type("settings", "ice_servers", "stun:127.0.0.1:3478")
        await app.type("settings", "host_addresses", "127.0.0.1")
        await app.shot("03-settings")
        await app.tap("settings", "save")
        await app.wait_screen("search")
        assert await app.quit() == 0

    identity_file = data_dir / "identity.json"
    assert stat.S_IMODE(identity_file.stat().st_mode) == 0o600
    assert Identity.load(identity_file).did == did
    saved = SettingsStore(data_dir).load()
    assert saved.discovery_url == "http://127.0.0.1:9"
    assert saved.bootstrap_nodes == ("127.0.0.1:8468", "127.0.0.1:8469")
    assert saved.ice_servers == ("stun:127.0.0.1:3478",)
    assert saved.host_addresses == ("127.0.0.1",)

    # The second run goes straight to the search, with the same identity and settings.
    async with running_app(data_dir, tmp_path / "run2") as app:
        await app.wait_screen("search")
        assert await app.app("did") == did
        await app.tap("search", "open_settings")
        await app.wait_screen("settings")
        assert await app.text("settings", "discovery_url") == "http://127.0.0.1:9"
        assert await app.text("settings", "bootstrap_nodes") == "127.0.0.1:8468\n127.0.0.1:8469"
        assert await app.quit() == 0


@pytest.mark.asyncio
async def test_imported_encrypted_identity_must_be_unlocked_at_each_launch(
    data_dir: Path, tmp_path: Path
) -> None:
    made_elsewhere = Identity.generate()  # as `didrtc keygen --passphrase` makes one
    source = tmp_path / "keygen-identity.json"
    made_elsewhere.save(source, passphrase="correct horse")

    async with running_app(data_dir, tmp_path / "run1") as app:
        await app.wait_screen("onboarding")
        await app.type("onboarding", "import_path", str(tmp_path / "missing.json"))
        await app.tap("onboarding", "import_file")
        await app.wait("onboarding", "error", "", negate=True)
        assert "missing.json" in await app.get("onboarding", "error")
        await app.type("onboarding", "new_passphrase", "correct horse")
        await app.type("onboarding", "import_path", str(source))
        await app.tap("onboarding", "import_file")
        await app.wait("onboarding", "mode", "ready", timeout=30)
        assert await app.get("onboarding", "did") == made_elsewhere.did
        assert await app.quit() == 0

    stored = data_dir / "identity.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert Identity.load(stored, "correct horse") == made_elsewhere

    async with running_app(data_dir, tmp_path / "run2") as app:
        await app.wait_screen("onboarding")
        assert await app.get("onboarding", "mode") == "unlock"
        assert await app.get("onboarding", "did") == made_elsewhere.did
        await app.type("onboarding", "unlock_passphrase", "wrong horse", enter=True)
        await app.wait("onboarding", "error", "", timeout=30, negate=True)
        assert (await app.get("onboarding", "error")).startswith("Wrong passphrase")
        await app.shot("10-unlock-refused")
        await app.type("onboarding", "unlock_passphrase", "correct horse")
        await app.tap("onboarding", "unlock")
        await app.wait("onboarding", "mode", "ready", timeout=30)
        await app.tap("onboarding", "continue_button")
        await app.wait_screen("search")
        assert await app.app("did") == made_elsewhere.did
        assert await app.quit() == 0
