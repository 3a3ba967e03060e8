"""``didrtc-client`` / ``python -m apps.kivy_client``: start the offerer app."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

DESCRIPTION = """\
The didrtc offerer app: search a discovery server for answerers, connect to one
over an authenticated, end-to-end encrypted WebRTC data channel, and chat.
Identity and settings are kept in the data directory (0600 files).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="didrtc-client", description=DESCRIPTION)
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where the identity and settings live (default: $DIDRTC_CLIENT_HOME, else the "
        "platform's user data directory)",
    )
    parser.add_argument(
        "--size",
        default="480x800",
        metavar="WxH",
        help="window size on the desktop (default: %(default)s)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-v: info, -vv: debug)"
    )
    return parser


def _window_size(text: str) -> tuple[int, int]:
    width, sep, height = text.partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise argparse.ArgumentTypeError(f"--size takes WIDTHxHEIGHT, not {text!r}")
    return int(width), int(height)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app until its window closes; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        width, height = _window_size(args.size)
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    from apps.kivy_client.kivy_config import configure

    configure(width, height)  # before anything imports Kivy's window
    from apps.kivy_client.app import ClientApp, serve
    from apps.kivy_client.identity_store import default_data_dir

    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.getLogger("didrtc").setLevel(level)
    logging.getLogger("apps").setLevel(level)
    app = ClientApp(args.data_dir or default_data_dir())
    try:
        asyncio.run(serve(app))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
