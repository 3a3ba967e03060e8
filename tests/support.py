"""Helpers shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).parent / "vectors"


def load_vector(name: str) -> Any:
    """A JSON test-vector file from tests/vectors (see tests/vectors/SOURCES.md)."""
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))
