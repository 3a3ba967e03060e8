"""Structured logs: one JSON object per line with the time, level, logger, message and fields."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading

from didrtc.discovery.logs import JsonFormatter


def _record(
    created: float, message: str = "GET /search 200", **fields: object
) -> logging.LogRecord:
    record = logging.LogRecord(
        "didrtc.discovery.access", logging.INFO, __file__, 1, message, None, None
    )
    record.created = created
    record.msecs = (created - int(created)) * 1000
    if fields:
        record.fields = fields
    return record


def test_a_line_carries_the_time_level_logger_message_and_fields() -> None:
    line = JsonFormatter().format(_record(1_700_000_000.25, route="/search", status=200))
    assert json.loads(line) == {
        "time": "2023-11-14T22:13:20.250Z",
        "level": "info",
        "logger": "didrtc.discovery.access",
        "message": "GET /search 200",
        "route": "/search",
        "status": 200,
    }


def test_the_second_is_right_as_it_changes() -> None:
    formatter = JsonFormatter()
    times = [
        json.loads(formatter.format(_record(t)))["time"] for t in (59.5, 60.0, 59.75, 3600.125)
    ]
    assert times == [
        "1970-01-01T00:00:59.500Z",
        "1970-01-01T00:01:00.000Z",
        "1970-01-01T00:00:59.750Z",
        "1970-01-01T01:00:00.125Z",
    ]


def test_threads_never_mix_one_second_with_another() -> None:
    formatter = JsonFormatter()
    wrong: list[str] = []

    def log(second: int) -> None:
        expected = f"1970-01-01T00:00:{second:02d}.000Z"
        for _ in range(20000):
            stamp = json.loads(formatter.format(_record(float(second))))["time"]
            if stamp != expected:
                wrong.append(stamp)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=log, args=(second,)) for second in (10, 11, 12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []


def test_values_json_cannot_hold_are_written_as_text() -> None:
    line = JsonFormatter().format(_record(0.0, path=re.compile("x"), text="naïve"))
    entry = json.loads(line)
    assert entry["path"] == "re.compile('x')"
    assert entry["text"] == "naïve"
    assert line.isascii()


def test_an_exception_is_one_field_of_the_same_line() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        record = _record(0.0, message="failed")
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: bad" in json.loads(line)["exception"]
