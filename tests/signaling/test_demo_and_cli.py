"""``didrtc demo``, the answerer's clean shutdown, and the commands' help."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from didrtc.cli import main
from didrtc.commands.demo import run_demo
from didrtc.signaling import LOOPBACK, ChannelClosed, Target, connect
from tests.signaling.processes import child


def test_the_demo_runs_every_stage_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    lines: list[str] = []
    timings = run_demo(lines.append)
    text = "\n".join(lines)
    for stage in (
        "start the discovery server",
        "start the DHT",
        'offerer searches "restaurant"',
        "resolve the DID Document from the DHT",
        "POST /receive-offer over pinned HTTPS",
        "ICE + DTLS + SCTP: data channel open",
        "chat over the data channel",
        "stop every service",
    ):
        assert stage in text
    assert "< a table for two at eight?" in text
    assert "bad-signature" in text
    assert "refused, as it must be" in text
    assert text.splitlines()[-1].startswith(f"done: {len(timings)} stages")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_an_interrupted_demo_stops_everything_and_removes_its_files(
    tmp_path: Path, signum: int
) -> None:
    async with child("demo", "--stay", env={"TMPDIR": str(tmp_path)}, name="demo") as demo:
        while not (await demo.line(60)).startswith("ready:"):
            pass
        assert [p.name[:12] for p in tmp_path.iterdir()] == ["didrtc-demo-"]
        code = await demo.stop(signum)
        _, _, stderr = await demo.finish()
    assert code == 130
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.asyncio
async def test_sigterm_closes_the_answerers_peers() -> None:
    async with child(
        "answer",
        "--ephemeral",
        "--name",
        "Closing Time",
        "--listen",
        "127.0.0.1:0",
        "--json",
        "--host-address",
        "127.0.0.1",
        "--no-mdns",
        name="answerer",
    ) as answerer:
        ready = await answerer.event("ready")
        target = Target(ready["did"], ready["endpoint"], ready["tls_fingerprint"])
        async with connect(target, peer_config=LOOPBACK) as channel:
            assert str(await channel.receive(10)).startswith("Welcome to Closing Time")
            assert await answerer.stop(signal.SIGTERM) == 0
            with pytest.raises(ChannelClosed):
                await asyncio.wait_for(channel.receive(), 30)


def test_help_teaches_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    for command, phrases in {
        "answer": ("--allow-file", "--api-key-file", "SIGTERM", "pin", "--host-address"),
        "offer": ("--discovery", "--query", "--bootstrap", "--message", "signed"),
        "demo": ("restaurant", "127.0.0.1", "Ctrl-C"),
    }.items():
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        for phrase in phrases:
            assert phrase in text, (command, phrase)


def test_offer_without_a_destination_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["offer", "--ephemeral"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("didrtc: error: give a DID, or --discovery URL")
    assert error.count("\n") == 1
