"""RFC 8785 JCS vectors: what didrtc signs is canonical byte for byte."""

from __future__ import annotations

import json

import pytest

from didrtc.canonical import CanonicalizationError, canonical_json
from tests.support import VECTORS

CASES = sorted(path.stem for path in (VECTORS / "jcs" / "input").glob("*.json"))


def test_all_six_cases_are_present() -> None:
    assert CASES == ["arrays", "french", "structures", "unicode", "values", "weird"]


@pytest.mark.parametrize("name", CASES)
def test_canonical_form_matches(name: str) -> None:
    value = json.loads((VECTORS / "jcs" / "input" / f"{name}.json").read_text(encoding="utf-8"))
    expected = (VECTORS / "jcs" / "output" / f"{name}.json").read_bytes()
    expected_hex = (VECTORS / "jcs" / "outhex" / f"{name}.txt").read_text().split()
    assert canonical_json(value) == expected
    assert canonical_json(value).hex() == "".join(expected_hex)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1: "non-str key"}, 2**60])
def test_values_without_a_canonical_form_are_refused(value: object) -> None:
    with pytest.raises(CanonicalizationError):
        canonical_json(value)
