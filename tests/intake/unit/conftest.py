"""The intake app on in-memory fakes, with each test module's own `settings`."""

from collections.abc import AsyncIterator

import httpx
import pytest

from gridcase_intake.adapters.fakes import (
    FakeApiKeys,
    FakeCaseViews,
    FakeIdempotencyKeys,
    FakePhotos,
    FakePublisher,
    FakeRateLimits,
)
from gridcase_intake.commands import Intake
from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app


@pytest.fixture
def intake(settings: IntakeSettings) -> Intake:
    return Intake(
        settings=settings,
        publisher=FakePublisher(),
        cases=FakeCaseViews(),
        keys=FakeIdempotencyKeys(),
        photos=FakePhotos(),
        limits=FakeRateLimits(),
        api_keys=FakeApiKeys(),
    )


@pytest.fixture
async def client(settings: IntakeSettings, intake: Intake) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, intake=intake)  # the fakes stand in for the real adapters
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://intake.test"
    ) as client:
        yield client
