"""Both backends implement the contract of _core.pyi, name for name and argument for argument."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from types import ModuleType

import pytest

import didrtc

STUB = Path(didrtc.__file__).parent / "_core.pyi"


def _stub_functions() -> dict[str, list[str]]:
    """``name`` or ``Class.method`` -> argument names, from the stub."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = [arg.arg for arg in node.args.args]
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f"{node.name}.{item.name}"] = [arg.arg for arg in item.args.args]
    return found


STUB_FUNCTIONS = _stub_functions()


def test_the_stub_declares_the_whole_contract() -> None:
    assert {
        "verify",
        "verify_batch",
        "hpke_seal",
        "hpke_open",
        "dht_key",
        "SigningKey.sign",
    } <= set(STUB_FUNCTIONS)


@pytest.mark.parametrize("name", sorted(STUB_FUNCTIONS))
def test_python_twin_matches_the_stub(python_core: ModuleType, name: str) -> None:
    # A PyO3 class is built by __new__; the Python twin's constructor is __init__.
    target: object = python_core
    for part in name.replace("__new__", "__init__").split("."):
        target = getattr(target, part)
    assert callable(target)
    parameters = list(inspect.signature(target).parameters)  # type: ignore[arg-type]
    expected = [arg for arg in STUB_FUNCTIONS[name] if arg not in ("self", "cls")]
    assert [p for p in parameters if p not in ("self", "cls")] == expected


@pytest.mark.parametrize("name", sorted(STUB_FUNCTIONS))
def test_rust_core_has_every_name(rust_core: ModuleType, name: str) -> None:
    target: object = rust_core
    for part in name.split("."):
        target = getattr(target, part)
    assert callable(target)


def test_module_attributes(core: ModuleType) -> None:
    assert core.BACKEND in ("rust", "python")
    assert isinstance(core.__version__, str)
