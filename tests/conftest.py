"""Fixtures shared by the whole suite, and the rule that CI runs every test."""

from __future__ import annotations

import os
from types import ModuleType

import pytest

from didrtc import _backend

BACKENDS = ("rust", "python")


@pytest.fixture(params=BACKENDS)
def core(request: pytest.FixtureRequest) -> ModuleType:
    """Each crypto backend in turn. A missing Rust core is a failure here, never a skip."""
    return _backend.load(request.param)


@pytest.fixture(scope="session")
def rust_core() -> ModuleType:
    return _backend.load("rust")


@pytest.fixture(scope="session")
def python_core() -> ModuleType:
    return _backend.load("python")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: it would hide a part that never ran."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if os.environ.get("CI") and skipped and exitstatus == 0:
        print(f"\nCI: {skipped} test(s) skipped; in CI a skip is a failure.")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
