"""The app's network tasks, supervised by one coroutine that runs beside the UI.

``run()`` is gathered with ``App.async_run`` (see :mod:`apps.kivy_client.app`),
so the UI and every network task share one asyncio event loop and aiortc's
callbacks never cross a thread. Jobs are started from UI callbacks (which run
inside that loop) and are all cancelled, then awaited, when the app stops:
nothing outlives the window.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["Jobs"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Jobs:
    """Starts, tracks and finally cancels the app's background tasks."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._cleanups: list[Callable[[], Awaitable[None]]] = []

    def start(self, coroutine: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Run ``coroutine`` as a task of the app; its unexpected errors are logged."""
        if self._stopping:
            coroutine.close()
            raise RuntimeError(f"the app is stopping: {name} was not started")
        task = asyncio.get_running_loop().create_task(coroutine, name=f"didrtc-client: {name}")
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s failed", task.get_name(), exc_info=task.exception())

    def at_stop(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Await ``cleanup()`` once every task has ended, when the app stops."""
        self._cleanups.append(cleanup)

    @property
    def running(self) -> int:
        """How many tasks are running."""
        return len(self._tasks)

    async def run(self) -> None:
        """Wait until :meth:`stop`, then cancel every task, wait for them and clean up."""
        if self._stop is None:
            self._stop = asyncio.Event()
        if self._stopping:
            self._stop.set()
        try:
            await self._stop.wait()
        finally:
            self._stopping = True
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for cleanup in reversed(self._cleanups):
                try:
                    await asyncio.wait_for(cleanup(), timeout=5)
                except Exception:
                    logger.warning("cleaning up at stop failed", exc_info=True)

    def stop(self) -> None:
        """Ask :meth:`run` to wind everything down (safe to call more than once)."""
        self._stopping = True
        if self._stop is not None:
            self._stop.set()
