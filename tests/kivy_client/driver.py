"""Runs the real app in this process and lets a test drive it over stdin/stdout.

The test process starts this script (see ``remote.py``); it creates
:class:`apps.kivy_client.app.ClientApp` on the data directory it is given and
runs it exactly as ``didrtc-client`` does (``serve``: ``App.async_run`` beside
the network jobs, one asyncio loop), plus one more task that reads commands,
one JSON object a line, and answers each with one line starting with
:data:`REPLY`. Taps are real touch events at the widget's place on the window,
typing goes through the window's keyboard events, and screenshots are read back
from what SDL2 rendered (offscreen, through Mesa's EGL, when the test asks).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPLY = "@@driver "

# The app's own Kivy configuration, applied as `didrtc-client` applies it: before the window.
from apps.kivy_client.kivy_config import configure  # noqa: E402

configure(480, 800)

from kivy.base import EventLoop  # type: ignore[import-untyped]  # noqa: E402
from kivy.clock import Clock  # type: ignore[import-untyped]  # noqa: E402
from kivy.core.window import Window  # type: ignore[import-untyped]  # noqa: E402
from kivy.input.motionevent import MotionEvent  # type: ignore[import-untyped]  # noqa: E402
from kivy.uix.widget import Widget  # type: ignore[import-untyped]  # noqa: E402

from apps.kivy_client.app import ClientApp, serve  # noqa: E402

FIRST_FRAME: list[float] = []
"""``time.monotonic()`` when the window first drew: CLOCK_MONOTONIC, the same in every process."""


def _first_frame(*_args: Any) -> None:
    if not FIRST_FRAME:
        FIRST_FRAME.append(time.monotonic())


Window.bind(on_flip=_first_frame)


class Touch(MotionEvent):  # type: ignore[misc]
    """A finger on the window at ``(x, y)``, fed through Kivy's input dispatch."""

    def __init__(self, x: float, y: float) -> None:
        super().__init__(
            "driver",
            1,
            {"x": x / (Window.width - 1.0), "y": y / (Window.height - 1.0)},
            is_touch=True,
            type_id="touch",
        )
        self.profile = ["pos"]

    def depack(self, args: dict[str, float]) -> None:
        self.sx, self.sy = args["x"], args["y"]
        super().depack(args)


class Driver:
    """Executes one command at a time on the running app."""

    def __init__(self, app: ClientApp, shots: Path) -> None:
        self.app = app
        self.shots = shots
        self.ticks: list[float] = []
        self.drawn_ticks: list[float] = []
        self._recording: Any = None

    async def next_frames(self, count: int = 2) -> None:
        """Let the app run ``count`` frames (Clock ticks: one input, layout and draw pass each)."""
        target = Clock.frames + count
        while Clock.frames < target:
            await asyncio.sleep(0.005)

    async def drawn(self) -> None:
        """Make the window redraw, and wait until it has."""
        Window.canvas.ask_update()
        target = Clock.frames_displayed + 2
        while Clock.frames_displayed < target:
            Window.canvas.ask_update()
            await asyncio.sleep(0.005)

    async def until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.02)
        del what

    def screen(self, name: str) -> Any:
        return self.app.screen(name)

    def widget(self, screen: str, name: str) -> Any:
        """The widget with id ``name`` in the tree of ``screen`` (in any rule's ids)."""
        stack: list[Any] = [self.screen(screen)]
        while stack:
            widget = stack.pop()
            ids = getattr(widget, "ids", {})
            if name in ids:
                return ids[name]
            stack.extend(widget.children)
        raise LookupError(f"no widget with id {name!r} on the {screen} screen")

    async def settled(self) -> None:
        manager = self.app.root
        await self.until(lambda: not manager.transition.is_active, 5, "transition")
        await self.next_frames(3)

    async def tap_widget(self, widget: Widget) -> None:
        if widget.disabled or widget.opacity == 0 or not widget.get_root_window():
            raise AssertionError(f"{widget!r} cannot be tapped: disabled or hidden")
        x, y = widget.to_window(*widget.center)
        touch = Touch(x, y)
        EventLoop.post_dispatch_input("begin", touch)
        await self.next_frames(2)
        touch.move({"x": touch.sx, "y": touch.sy})
        EventLoop.post_dispatch_input("end", touch)
        await self.next_frames(2)

    # Commands: each returns a JSON-serialisable value.

    async def do_wait_screen(self, name: str, within: float = 20) -> str:
        try:
            await self.until(lambda: self.app.root.current == name, within, f"screen {name}")
        except TimeoutError:
            raise AssertionError(
                f"the {self.app.root.current} screen is shown after {within} s, not {name}"
            ) from None
        await self.settled()
        return str(self.app.root.current)

    async def do_wait(
        self, screen: str, prop: str, values: list[Any], within: float = 20, negate: bool = False
    ) -> Any:
        target = self.screen(screen)
        try:
            await self.until(lambda: (getattr(target, prop) in values) != negate, within, prop)
        except TimeoutError:
            raise AssertionError(
                f"{screen}.{prop} is {getattr(target, prop)!r} after {within} s, "
                f"{'still' if negate else 'not'} one of {values!r}"
            ) from None
        await self.next_frames(3)
        return _plain(getattr(target, prop))

    async def do_wait_count(self, screen: str, prop: str, count: int, within: float = 20) -> Any:
        target = self.screen(screen)
        try:
            await self.until(lambda: len(getattr(target, prop)) >= count, within, prop)
        except TimeoutError:
            raise AssertionError(
                f"{screen}.{prop} holds {len(getattr(target, prop))} items after {within} s, "
                f"not {count}: {_plain(getattr(target, prop))!r}"
            ) from None
        await self.next_frames(3)
        return _plain(getattr(target, prop))

    async def do_wait_stage(self, stage: str, status: str, within: float = 20) -> Any:
        connect = self.screen("connect")
        await self.until(lambda: connect.stages.get(stage) == status, within, stage)
        await self.next_frames(3)
        return _plain(connect.stages)

    async def do_get(self, screen: str, prop: str) -> Any:
        return _plain(getattr(self.screen(screen), prop))

    async def do_app(self, attr: str) -> Any:
        return _plain(getattr(self.app, attr))

    async def do_clipboard(self) -> str:
        from kivy.core.clipboard import Clipboard  # type: ignore[import-untyped]

        return str(Clipboard.paste())

    async def do_text(self, screen: str, id: str) -> str:
        return str(self.widget(screen, id).text)

    async def do_tap(self, screen: str, id: str) -> None:
        await self.settled()
        await self.tap_widget(self.widget(screen, id))

    async def do_tap_result(self, index: int) -> None:
        await self.settled()
        layout = self.widget("search", "results").layout_manager
        rows = [row for row in layout.children if getattr(row, "index", None) == index]
        if not rows:
            raise AssertionError(f"no search result {index} is shown")
        await self.tap_widget(rows[0])

    async def do_tap_chip(self, text: str) -> None:
        await self.settled()
        chips = [c for c in self.widget("search", "chips").children if c.text == text]
        if not chips:
            raise AssertionError(f"no category chip {text!r} is shown")
        await self.tap_widget(chips[0])

    async def do_type(self, screen: str, id: str, text: str, enter: bool = False) -> None:
        field = self.widget(screen, id)
        await self.do_tap(screen, id)
        await self.until(lambda: field.focus, 5, "focus")
        field.select_all()
        field.delete_selection()
        for line_number, line in enumerate(text.split("\n")):
            if line_number:
                Window.dispatch("on_key_down", 13, 40, None, [])
                Window.dispatch("on_key_up", 13, 40)
            if line:
                Window.dispatch("on_textinput", line)
        await self.next_frames(2)
        if field.text != text:
            raise AssertionError(f"typed {text!r} but the field holds {field.text!r}")
        if enter:
            Window.dispatch("on_key_down", 13, 40, None, [])
            Window.dispatch("on_key_up", 13, 40)
            await self.next_frames(2)

    async def do_shot(self, name: str) -> str:
        await self.settled()
        await self.drawn()
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        Window.screenshot(name=str(path))
        # Window.screenshot numbers its files (name0001.png): keep the name the test chose.
        numbered = sorted(self.shots.glob(f"{name}[0-9][0-9][0-9][0-9].png"))
        if not numbered:
            raise AssertionError(f"no screenshot was written for {name}")
        numbered[-1].replace(path)
        return str(path)

    # Responsiveness: when each frame ran, to find the longest gap while the network works.

    def _tick(self, _dt: float) -> None:
        self.ticks.append(time.perf_counter())

    def _drew(self, *_args: Any) -> None:
        if self._recording is not None:
            self.drawn_ticks.append(time.perf_counter())

    async def do_record_frames(self) -> None:
        """Start timing every frame (each Clock tick: input, layout, and a draw when needed)."""
        self.ticks = []
        self.drawn_ticks = []
        if self._recording is None:
            self._recording = Clock.schedule_interval(self._tick, 0)
            Window.bind(on_flip=self._drew)

    async def do_frame_times(self) -> dict[str, list[float]]:
        """Stop timing; the frame start times (s, perf_counter) and the drawn frames' ones."""
        if self._recording is not None:
            self._recording.cancel()
            self._recording = None
            Window.unbind(on_flip=self._drew)
        return {"ticks": self.ticks, "drawn": self.drawn_ticks}

    async def do_first_frame(self) -> float:
        """``time.monotonic()`` of the first frame the window drew."""
        await self.until(lambda: bool(FIRST_FRAME), 30, "first frame")
        return FIRST_FRAME[0]

    async def do_quit(self) -> None:
        self.app.stop()


def _plain(value: Any) -> Any:
    """Kivy's observable lists and dicts as JSON values."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


async def control(driver: Driver) -> None:
    """Read commands from stdin until ``quit`` or end of input, answering each."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            await driver.do_quit()
            return
        command = json.loads(line)
        op = command.pop("op")
        try:
            value = await getattr(driver, f"do_{op}")(**command)
            reply = {"ok": True, "value": value}
        except Exception as error:
            reply = {"ok": False, "error": f"{op}: {error!r}", "trace": traceback.format_exc()}
        sys.stdout.write(REPLY + json.dumps(reply) + "\n")
        sys.stdout.flush()
        if op == "quit":
            return


async def main() -> None:
    slow_ms = os.environ.get("DIDRTC_SLOW_CALLBACK_MS")
    if slow_ms:  # asyncio's debug mode logs every callback that holds the loop longer
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = float(slow_ms) / 1000
    app = ClientApp(Path(os.environ["DIDRTC_CLIENT_HOME"]))
    shots = Path(os.environ["DIDRTC_SCREENSHOTS"])
    running = asyncio.ensure_future(serve(app))
    while app.root is None or not app.root.current:
        if running.done():
            running.result()
            return
        await asyncio.sleep(0.02)
    driver = Driver(app, shots)
    commands = asyncio.ensure_future(control(driver))
    # The window may also close on its own (SIGTERM, SIGINT): then stop reading commands.
    await asyncio.wait([running, commands], return_when=asyncio.FIRST_COMPLETED)
    commands.cancel()
    await asyncio.gather(commands, return_exceptions=True)
    await running


if __name__ == "__main__":
    profile_to = os.environ.get("DIDRTC_DRIVER_PROFILE")
    if profile_to:  # where the app spends its time (benches/kivy_client/run.py --profile)
        import cProfile

        cProfile.run("asyncio.run(main())", profile_to)
    else:
        asyncio.run(main())
