"""The statistics API over each test module's `source` fixture (a FakeCaseSource)."""

from collections.abc import AsyncIterator

import httpx
import pytest

from gridcase_stats.adapters.fakes import FakeCaseSource
from gridcase_stats.config import StatsSettings
from gridcase_stats.entrypoints.api import create_app

SETTINGS = StatsSettings(metrics_refresh_s=0.01)


@pytest.fixture
async def client(source: FakeCaseSource) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SETTINGS, source=source)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stats") as http,
    ):
        yield http
