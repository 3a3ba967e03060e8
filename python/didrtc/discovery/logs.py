"""Structured logs: one JSON object per line, for ``didrtc discovery serve --log-format json``.

Views and the access log pass their fields as ``extra={"fields": {...}}``;
the formatter merges them into the line. Tokens, keys and passphrases are
never logged.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

__all__ = ["JsonFormatter", "configure_logging"]

# One encoder for every line: json.dumps with `default=` builds a new one per call.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=True, check_circular=False)


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...fields}`` on one line."""

    def __init__(self) -> None:
        super().__init__()
        # The server logs every request: the formatted second is reused while it lasts.
        # One tuple, swapped whole, so that threads never pair a second with another's text.
        self._second: tuple[int, str] = (-1, "")

    def _timestamp(self, created: float, msecs: float) -> str:
        second, text = self._second
        if int(created) != second:
            second = int(created)
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, text)
        return f"{text}.{int(msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._timestamp(record.created, record.msecs),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Send the root logger's records to stderr as JSON lines or as text."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Neither format shows the caller's file and line, so logging need not look
    # them up for every record (the Logging HOWTO's "Optimization" section).
    logging._srcfile = None
    if level > logging.DEBUG:
        logging.getLogger("alembic").setLevel(logging.WARNING)
