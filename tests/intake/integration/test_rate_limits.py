"""Rate limits: one contract for the database's counters and the fake, and the limit held
across two intake replicas on one database."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest
from intake.integration.support import bearer, intake_settings, report_body, start_of_a_window

from gridcase_intake.adapters.fakes import FakeRateLimits
from gridcase_intake.adapters.repository import MongoRateLimits
from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app
from gridcase_intake.ports import RateLimits
from gridcase_runtime.mongo import close, connect

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(kafka_bootstrap: str, mongo_url: str, namespace: str) -> IntakeSettings:
    return intake_settings(kafka_bootstrap, mongo_url, namespace, reports_per_minute=3)


@pytest.fixture(params=["fake", "mongo"])
async def limits_on(
    request: pytest.FixtureRequest, settings: IntakeSettings
) -> AsyncIterator[Callable[[Callable[[], float]], RateLimits]]:
    """Makes limiters on one store with the given clock: every one made shares the counts,
    as replicas do."""
    if request.param == "fake":
        shared = FakeRateLimits()

        def fake(clock: Callable[[], float]) -> RateLimits:
            shared.clock = clock
            return shared

        yield fake
        return
    database = connect(settings.mongodb_url, settings.mongodb_database)
    await database["rate_limits"].delete_many({})
    await MongoRateLimits(database).create_indexes()
    yield lambda clock: MongoRateLimits(database, clock)
    close(database)


async def test_a_window_allows_the_limit_then_says_when_the_next_begins(
    limits_on: Callable[[Callable[[], float]], RateLimits],
) -> None:
    now = [600.0]
    limits = limits_on(lambda: now[0])
    assert [await limits.acquire("k", 3) for _ in range(3)] == [None, None, None]
    assert await limits.acquire("k", 3) == 60.0
    assert await limits.acquire("other", 3) is None, "limits are per key"
    now[0] = 659.5
    assert await limits.acquire("k", 3) == 0.5
    now[0] = 660.0
    assert await limits.acquire("k", 3) is None, "a new minute, a new window"


async def test_a_refund_gives_the_request_back(
    limits_on: Callable[[Callable[[], float]], RateLimits],
) -> None:
    limits = limits_on(lambda: 1200.0)
    assert await limits.acquire("r", 1) is None
    await limits.refund("r")
    assert await limits.acquire("r", 1) is None
    assert await limits.acquire("r", 1) is not None


async def test_replicas_share_the_counts_and_ended_windows_are_swept(
    limits_on: Callable[[Callable[[], float]], RateLimits],
) -> None:
    now = [1800.0]
    first, second = limits_on(lambda: now[0]), limits_on(lambda: now[0])
    assert await first.acquire("s", 2) is None
    assert await second.acquire("s", 2) is None
    assert await first.acquire("s", 2) is not None
    assert await second.acquire("s", 2) is not None
    assert await first.sweep(datetime.fromtimestamp(1860, UTC)) == 0, "still the window's end"
    assert await first.sweep(datetime.fromtimestamp(1861, UTC)) >= 1
    now[0] = 1861.0
    assert await second.acquire("s", 2) is None


async def test_two_intake_replicas_hold_one_limit(settings: IntakeSettings) -> None:
    apps = [create_app(settings), create_app(settings)]
    async with (
        apps[0].router.lifespan_context(apps[0]),
        apps[1].router.lifespan_context(apps[1]),
    ):
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake")
            for app in apps
        ]
        auth = bearer(settings, "v-two-replicas")
        await start_of_a_window()
        answers = [
            (await clients[n % 2].post("/v1/reports", json=report_body(), headers=auth))
            for n in range(5)
        ]
        for client in clients:
            await client.aclose()
    statuses = [answer.status_code for answer in answers]
    assert statuses == [201, 201, 201, 429, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1


async def test_concurrent_requests_are_each_counted_once(
    limits_on: Callable[[Callable[[], float]], RateLimits],
) -> None:
    replicas = [limits_on(lambda: 2400.0) for _ in range(4)]
    answers = await asyncio.gather(*(replicas[n % 4].acquire("burst", 10) for n in range(30)))
    assert sum(answer is None for answer in answers) == 10
