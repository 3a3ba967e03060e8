"""Child processes for the end-to-end tests: started with a timeout, always reaped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class Child:
    """A ``python -m didrtc ...`` process whose stdout lines can be awaited."""

    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process = process
        self.name = name
        self.lines: list[str] = []

    async def line(self, timeout: float = 30.0) -> str:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            raise AssertionError(f"{self.name} ended early: {await self.stderr()}")
        text = raw.decode().rstrip("\n")
        self.lines.append(text)
        return text

    async def event(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        """Read lines until a JSON object with ``"event": name``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            text = await self.line(max(0.1, deadline - loop.time()))
            if text.startswith("{"):
                document = json.loads(text)
                if document.get("event") == name:
                    return dict(document)

    async def stderr(self) -> str:
        if self.process.stderr is None:
            return ""
        with contextlib.suppress(TimeoutError):
            return (await asyncio.wait_for(self.process.stderr.read(), 5)).decode()
        return ""

    async def finish(self, timeout: float = 30.0) -> tuple[int, str, str]:
        """Wait for the exit; returns (code, rest of stdout, stderr)."""
        stdout, stderr = await asyncio.wait_for(self.process.communicate(), timeout)
        assert self.process.returncode is not None
        return self.process.returncode, stdout.decode(), stderr.decode()

    async def stop(self, signum: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Signal it, wait for it; kill it if it does not stop in ``timeout``."""
        if self.process.returncode is None:
            self.process.send_signal(signum)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
                raise AssertionError(f"{self.name} did not stop on signal {signum}") from None
        assert self.process.returncode is not None
        return self.process.returncode


@contextlib.asynccontextmanager
async def child(
    *args: str, name: str = "didrtc", env: dict[str, str] | None = None
) -> AsyncIterator[Child]:
    """Run ``python -m didrtc ARGS``; killed and reaped on the way out whatever happens."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "didrtc",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
        env=environment,
    )
    running = Child(process, name)
    try:
        yield running
    finally:
        if process.returncode is None:
            process.kill()
        await process.communicate()
