"""Drive the real app, running in a subprocess (``driver.py``), from an asyncio test.

Each test gets a fresh process, so Kivy's global state (one window, one app,
its Clock) never leaks between tests; the process renders with SDL2 offscreen
through Mesa's EGL: no display server is started and none is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("driver.py")
REPLY = "@@driver "
SCREENSHOTS = Path(os.environ.get("DIDRTC_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
"""Where the screenshots go (``artifacts/`` is git-ignored; CI keeps it as an artifact)."""


def app_environment(data_dir: Path, kivy_home: Path, **extra: str) -> dict[str, str]:
    """The environment the app runs in: offscreen SDL2, a private KIVY_HOME, no Kivy argv."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KIVY_", "SDL_", "DIDRTC_CLIENT"))
    }
    env.update(
        {
            "KIVY_NO_ARGS": "1",
            "KIVY_HOME": str(kivy_home),
            "KIVY_NO_FILELOG": "1",
            "KIVY_METRICS_DENSITY": "1",
            "KIVY_CLIPBOARD": "sdl2",
            "SDL_VIDEODRIVER": "offscreen",
            "SDL_AUDIODRIVER": "dummy",
            "DIDRTC_CLIENT_HOME": str(data_dir),
            "DIDRTC_SCREENSHOTS": str(SCREENSHOTS),
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }
    )
    env.update(extra)
    return env


class AppError(AssertionError):
    """The app refused a command, or a wait ran out; carries the app's log tail."""


class RemoteApp:
    """One running app process and the commands a test sends it."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def call(self, op: str, timeout: float = 60, **arguments: Any) -> Any:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write((json.dumps({"op": op, **arguments}) + "\n").encode())
        await self.process.stdin.drain()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    line = (await self.process.stdout.readline()).decode()
                    if not line:
                        raise AppError(f"the app exited during {op}:\n{self.log_tail()}")
                    if line.startswith(REPLY):
                        break
        except TimeoutError:
            raise AppError(f"{op} got no reply in {timeout} s:\n{self.log_tail()}") from None
        reply = json.loads(line[len(REPLY) :])
        if not reply["ok"]:
            raise AppError(f"{reply['error']}\n{reply['trace']}\napp log:\n{self.log_tail()}")
        return reply["value"]

    # The commands, spelled the way the tests read.

    async def wait_screen(self, name: str, timeout: float = 20) -> None:
        await self.call("wait_screen", timeout=timeout + 10, name=name, within=timeout)

    async def wait(
        self, screen: str, prop: str, *values: Any, timeout: float = 30, negate: bool = False
    ) -> Any:
        """Wait until ``prop`` is one of ``values`` (or, with ``negate``, none of them)."""
        return await self.call(
            "wait",
            timeout=timeout + 10,
            screen=screen,
            prop=prop,
            values=list(values),
            within=timeout,
            negate=negate,
        )

    async def wait_count(
        self, screen: str, prop: str, count: int, *, timeout: float = 30
    ) -> list[Any]:
        """The list ``prop`` once it holds at least ``count`` items."""
        value: list[Any] = await self.call(
            "wait_count",
            timeout=timeout + 10,
            screen=screen,
            prop=prop,
            count=count,
            within=timeout,
        )
        return value

    async def get(self, screen: str, prop: str) -> Any:
        return await self.call("get", screen=screen, prop=prop)

    async def app(self, attr: str) -> Any:
        return await self.call("app", attr=attr)

    async def text(self, screen: str, widget_id: str) -> str:
        value: str = await self.call("text", screen=screen, id=widget_id)
        return value

    async def tap(self, screen: str, widget_id: str) -> None:
        await self.call("tap", screen=screen, id=widget_id)

    async def tap_result(self, index: int) -> None:
        await self.call("tap_result", index=index)

    async def tap_chip(self, text: str) -> None:
        """Tap the search screen's category chip labelled ``text``."""
        await self.call("tap_chip", text=text)

    async def type(self, screen: str, widget_id: str, text: str, *, enter: bool = False) -> None:
        await self.call("type", screen=screen, id=widget_id, text=text, enter=enter)

    async def shot(self, name: str) -> Path:
        return Path(await self.call("shot", name=name))

    async def quit(self) -> int:
        """Close the window as a user would; returns the process's exit code."""
        await self.call("quit")
        async with asyncio.timeout(30):
            return await self.process.wait()


async def until(check: Callable[[], bool], timeout: float = 15) -> None:
    """Return once ``check()`` holds; fail the test after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"still not true after {timeout} s: {check}") from None


@contextlib.asynccontextmanager
async def running_app(data_dir: Path, workdir: Path, **extra_env: str) -> AsyncIterator[RemoteApp]:
    """Start the app on ``data_dir``; on exit it is closed (or killed) and awaited."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "app.log"
    with log.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            # The suite's rule (filterwarnings = error) holds inside the app's process too.
            "-W",
            "error",
            str(DRIVER),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
            cwd=str(ROOT),
            env=app_environment(data_dir, workdir / "kivy-home", **extra_env),
        )
    remote = RemoteApp(process, log)
    try:
        yield remote
    finally:
        if process.returncode is None:
            with contextlib.suppress(Exception):
                await remote.call("quit", timeout=10)
            try:
                async with asyncio.timeout(20):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
