"""Assemble what buildozer packages for Android: ``python -m apps.kivy_client.android DIR``.

buildozer packages one directory whose ``main.py`` starts the app. This copies
into ``DIR`` the app (``apps/``), the didrtc package without its Rust core (the
app runs on the pure-Python crypto twin there), a ``main.py`` that selects that
twin, and ``buildozer.spec``; then ``cd DIR && buildozer android debug``.
See ``apps/kivy_client/README.md`` for what the build needs and what is untested.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

__all__ = ["MAIN_PY", "stage"]

HERE: Final = Path(__file__).resolve().parent
ROOT: Final = HERE.parents[1]

MAIN_PY: Final = '''\
"""Android entry point (written by apps/kivy_client/android.py)."""

import os
import sys

# No Rust core is built for Android: use didrtc's pure-Python crypto twin.
os.environ.setdefault("DIDRTC_BACKEND", "python")
os.environ.setdefault("KIVY_NO_ARGS", "1")

from apps.kivy_client.__main__ import main

sys.exit(main([]))
'''

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd", "*.abi3.so")


def stage(target: Path) -> Path:
    """Fill ``target`` (created; must not exist) with what buildozer packages."""
    target.mkdir(parents=True)
    (target / "apps").mkdir()
    shutil.copy2(ROOT / "apps" / "__init__.py", target / "apps" / "__init__.py")
    shutil.copytree(HERE, target / "apps" / "kivy_client", ignore=_IGNORE)
    shutil.copytree(ROOT / "python" / "didrtc", target / "didrtc", ignore=_IGNORE)
    (target / "main.py").write_text(MAIN_PY, encoding="utf-8")
    shutil.move(target / "apps" / "kivy_client" / "buildozer.spec", target / "buildozer.spec")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("directory", type=Path, help="where to assemble the build (must not exist)")
    args = parser.parse_args(argv)
    if args.directory.exists():
        parser.error(f"{args.directory} exists; give a new directory")
    staged = stage(args.directory)
    print(f"staged in {staged}; now: cd {staged} && buildozer android debug")
    return 0


if __name__ == "__main__":
    sys.exit(main())
