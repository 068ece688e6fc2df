"""The intake app running in-process on the real broker and Mongo-wire server."""

from collections.abc import AsyncIterator

import httpx
import pytest
from intake.integration.support import intake_settings, issued_api_key

from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app


@pytest.fixture(scope="module")
def settings(kafka_bootstrap: str, mongo_url: str, namespace: str) -> IntakeSettings:
    return intake_settings(kafka_bootstrap, mongo_url, namespace)


@pytest.fixture(scope="module")
async def client(settings: IntakeSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake.test"
        ) as client,
    ):
        yield client


@pytest.fixture(scope="module")
async def api_key(client: httpx.AsyncClient, settings: IntakeSettings) -> str:
    return await issued_api_key(client, settings, "city-app")
