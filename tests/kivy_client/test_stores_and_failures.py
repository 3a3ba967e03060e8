"""The app's settings file, and the plain words it shows for every failure the APIs raise."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from apps.kivy_client.failures import MAX_DETAIL_CHARS, explain
from apps.kivy_client.settings_store import Settings, SettingsError, SettingsStore
from didrtc.dht import errors as dht
from didrtc.discovery import errors as discovery
from didrtc.errors import WrongPassphrase
from didrtc.signaling import errors as signaling
from didrtc.signaling.offerer import UnresolvedDid


def test_settings_round_trip_in_a_0600_file(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "data")
    settings = Settings.from_form(
        " https://discovery.example/ ",
        "dht.example:8468\n[2001:db8::1]:8468, 127.0.0.1:9000",
        "stun:stun.example:3478\nturn:alice:secret@turn.example:3478?transport=tcp",
        "127.0.0.1",
    )
    store.save(settings)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.load() == settings
    assert settings.bootstrap() == (
        ("dht.example", 8468),
        ("2001:db8::1", 8468),
        ("127.0.0.1", 9000),
    )
    config = settings.peer_config()
    assert config.host_addresses == ("127.0.0.1",)
    assert config.ice_servers[1].username == "alice"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (("ftp://x", "", "", ""), "discovery_url"),
        (("http://x:99999", "", "", ""), "discovery_url"),
        (("http://x", "no-port", "", ""), "bootstrap_nodes"),
        (("http://x", "", "http://not-ice", ""), "ice_servers"),
        (("http://x", "", "turn:turn.example:3478", ""), "ice_servers"),
        (("http://x", "", "", "localhost"), "host_addresses"),
    ],
)
def test_unusable_settings_name_the_field(form: tuple[str, str, str, str], field: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_form(*form)
    assert refused.value.field == field


@pytest.mark.parametrize("content", [b"{not json", b'{"version": 2}', b"[]", b"x" * 70_000])
def test_a_corrupt_settings_file_falls_back_to_the_defaults(tmp_path: Path, content: bytes) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_bytes(content)
    assert store.load() == Settings()


REFUSALS = [
    signaling.Forbidden,
    signaling.Unauthorized,
    signaling.RateLimited,
    signaling.Busy,
    signaling.Expired,
    signaling.NotYetValid,
    signaling.Replayed,
    signaling.WrongAudience,
    signaling.BadSignature,
    signaling.DecryptionFailed,
    signaling.MalformedEnvelope,
    signaling.EnvelopeTooLarge,
    signaling.BadSdp,
]


@pytest.mark.parametrize("cls", REFUSALS)
def test_every_refusal_says_the_answerer_refused_and_why(
    cls: type[signaling.SignalingError],
) -> None:
    failure = explain(cls("the answerer refused the offer", retry_after=3))
    assert failure.title == "The answerer refused the offer"
    assert failure.explanation.endswith("(It asks to wait 3 s.)")
    assert failure.code == cls.code


@pytest.mark.parametrize(
    ("error", "title"),
    [
        (UnresolvedDid("no record"), "Could not find the answerer"),
        (signaling.TlsPinMismatch("other certificate"), "Certificate mismatch"),
        (signaling.Unreachable("refused"), "The answerer is offline"),
        (signaling.WrongAnswerer("signed by someone else"), "The answer could not be trusted"),
        (signaling.AnswerMismatch("other nonce"), "The answer could not be trusted"),
        (signaling.ConnectionFailed("ICE failed"), "Could not connect"),
        (signaling.ChannelClosed("closed"), "The connection closed"),
        (TimeoutError(), "Timed out"),
        (
            discovery.UnexpectedResponse("cannot reach the discovery server at http://x"),
            "Cannot reach the discovery server",
        ),
        (discovery.ForgedListing("unsigned"), "The discovery server sent a forged listing"),
        (discovery.RateLimited("slow down"), "The discovery server is busy"),
        (discovery.BadRequest("bad query"), "The discovery server refused the search"),
        (dht.NetworkUnreachable("no node"), "No DHT node answered"),
        (dht.DidNotFound("none"), "Could not find the answerer"),
        (WrongPassphrase("wrong"), "Wrong passphrase"),
        (RuntimeError("boom"), "Something went wrong"),
    ],
)
def test_each_failure_has_its_plain_words(error: BaseException, title: str) -> None:
    assert explain(error).title == title


def test_technical_detail_is_kept_short() -> None:
    failure = explain(signaling.Unreachable("x" * 1000))
    assert len(failure.detail) == MAX_DETAIL_CHARS
