"""``didrtc info``: versions, and which crypto backend is in use."""

from __future__ import annotations

import argparse
import json
import platform

import didrtc
from didrtc._backend import ENVIRONMENT_VARIABLE, backend

__all__ = ["info", "register"]


def info() -> dict[str, str | None]:
    """What ``didrtc info`` reports, as a dict."""
    try:
        from didrtc import _core

        rust_core: str | None = _core.__version__
    except ImportError:
        rust_core = None
    return {
        "didrtc": didrtc.__version__,
        "backend": backend.BACKEND,
        "rust_core": rust_core,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _info(args: argparse.Namespace) -> int:
    facts = info()
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    print(f"didrtc     {facts['didrtc']}")
    print(f"backend    {facts['backend']}  (set {ENVIRONMENT_VARIABLE}=python|rust to choose)")
    print(f"rust core  {facts['rust_core'] or 'not built'}")
    print(f"python     {facts['python']} on {facts['platform']}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "info",
        help="show versions and the crypto backend in use",
        description="Show didrtc's version, which crypto backend runs (the Rust core or the "
        "pure-Python twin) and the Rust core's version.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_info)
