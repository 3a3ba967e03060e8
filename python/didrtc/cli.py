"""The ``didrtc`` command line.

Each area of the project owns its subcommands in a module of its own that
defines ``register(subparsers)``; this module only assembles them, runs the
chosen one and turns didrtc's errors into a one-line message and exit code 1
(2 for usage errors, 130 when interrupted). No traceback reaches the user for
an error didrtc anticipated.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from didrtc.errors import DidrtcError

__all__ = ["COMMAND_MODULES", "Handler", "main"]

Handler = Callable[[argparse.Namespace], int]
"""What a subcommand runs: takes the parsed arguments, returns the exit code."""

COMMAND_MODULES = (
    "didrtc.commands.identity",
    "didrtc.commands.info",
    "didrtc.dht.cli",
    "didrtc.discovery.cli",
    "didrtc.signaling.cli",
    "didrtc.commands.demo",
)
"""Modules that add subcommands, in the order ``--help`` lists them.

A module that cannot be imported (an optional part not installed) is left out
of ``--help`` rather than breaking the whole command.
"""

DESCRIPTION = """\
didrtc: peers that know each other only by a did:key find each other and open
an authenticated, end-to-end encrypted WebRTC data channel, trusting no server
in between.

Start with `didrtc keygen` to create an identity, and `didrtc demo` to watch the
whole flow run on this machine. `didrtc COMMAND --help` explains each command.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="didrtc",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-v: info, -vv: debug)"
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            missing = error.name or ""
            if (
                missing == name
                or name.startswith(missing + ".")
                or missing.split(".")[0] != "didrtc"
            ):
                # An optional part, or a dependency of one, is not installed: leave it out.
                logging.getLogger(__name__).debug("leaving out %s: %s", name, error)
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return handler(args)
    except DidrtcError as error:
        print(f"didrtc: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("didrtc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
