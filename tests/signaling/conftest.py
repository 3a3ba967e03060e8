"""Fixtures of the signaling tests: answerers on 127.0.0.1 with pinned loopback candidates."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio

from didrtc import Identity
from didrtc.signaling import LOOPBACK, Answerer, AnswererConfig, RateLimit

AnswererFactory = Callable[..., Awaitable[Answerer]]

GENEROUS = RateLimit(burst=1000, per_second=1000.0)
"""Rate limits that tests not about rate limits never reach."""


def config(**overrides: Any) -> AnswererConfig:
    """An answerer config for tests: loopback only, generous limits, short connect timeout."""
    settings: dict[str, Any] = {
        "name": "Test Bistro",
        "peer": LOOPBACK,
        "per_address": GENEROUS,
        "per_did": GENEROUS,
        "connect_timeout": 10.0,
    }
    settings.update(overrides)
    return AnswererConfig(**settings)


@pytest_asyncio.fixture
async def make_answerer() -> AsyncIterator[AnswererFactory]:
    """Start answerers on free ports; every one is stopped at the end of the test."""
    started: list[Answerer] = []

    async def make(
        settings: AnswererConfig | None = None, identity: Identity | None = None, **kwargs: Any
    ) -> Answerer:
        answerer = Answerer(identity or Identity.generate(), settings or config(), **kwargs)
        await answerer.start("127.0.0.1", 0)
        started.append(answerer)
        return answerer

    yield make
    for answerer in started:
        await answerer.stop()


@pytest_asyncio.fixture
async def answerer(make_answerer: AnswererFactory) -> Answerer:
    """One answerer with the default chat."""
    return await make_answerer()
