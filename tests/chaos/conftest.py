"""What every chaos scenario shares: intake in-process, on the module's own `settings`."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app


@pytest.fixture
async def intake(settings: IntakeSettings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The intake app with its lifespan running, and its database for the checker."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake.test", timeout=10
        ) as client,
    ):
        yield client, app.state.database
