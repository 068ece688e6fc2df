"""Builders of whole case lifecycles for the statistics tests."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from stories import CaseStory, fixed_case


@pytest.fixture
def may_day() -> datetime:
    """A moment in the city's working day: 2026-05-04 10:00 Asia/Shanghai."""
    return datetime(2026, 5, 4, 2, 0, tzinfo=UTC)


@pytest.fixture
def story() -> type[CaseStory]:
    """The CaseStory builder."""
    return CaseStory


@pytest.fixture
def fixed() -> Any:
    """The builder of a case fixed on time (see fixed_case)."""
    return fixed_case


Scrape = Callable[[httpx.AsyncClient, Callable[[str], bool]], Awaitable[str]]


@pytest.fixture
def scrape() -> Scrape:
    """Fetches /metrics until `done` holds of the text (the business gauges follow a
    snapshot taken every `metrics_refresh_s`), for at most five seconds."""

    async def until(client: httpx.AsyncClient, done: Callable[[str], bool]) -> str:
        for _ in range(500):
            text = (await client.get("/metrics")).text
            if done(text):
                break
            await asyncio.sleep(0.01)
        return text

    return until
