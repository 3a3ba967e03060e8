"""Fixtures of the DHT tests: a watch for errors that honest nodes must never raise."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest_asyncio

from tests.dht.network import ErrorCollector, Network, collect_loop_errors


@pytest_asyncio.fixture
async def honest() -> AsyncIterator[None]:
    """Fails the test if any node raised in a task or logged an error while it ran."""
    loop = asyncio.get_running_loop()
    errors = collect_loop_errors(loop)
    collector = ErrorCollector()
    logging.getLogger("didrtc").addHandler(collector)
    try:
        yield
    finally:
        logging.getLogger("didrtc").removeHandler(collector)
        loop.set_exception_handler(None)
    assert errors == [], f"unhandled exceptions in the event loop: {errors}"
    assert collector.records == [], [r.getMessage() for r in collector.records]


@pytest_asyncio.fixture
async def network(honest: None) -> AsyncIterator[Network]:
    """An empty network, closed at the end of the test."""
    net = Network()
    try:
        yield net
    finally:
        await net.close()
