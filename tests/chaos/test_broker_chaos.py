"""Chaos on the broker under load: intake's volunteers keep filing reports while a broker
of the suite's own is SIGKILLed and restarted, or stalled by SIGSTOP for 20 s. Each
scenario prints its row and ends in the checker's verdict: nothing lost, duplicated or
unexpected."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from brokers import PrivateBroker
from chaos.workload import Ledger, caught_up, judge, topic_reports, volunteers
from intake.integration.support import intake_settings

from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app
from gridcase_runtime.auth import Role
from identity import mint_token

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

VOLUNTEERS = 8
LOAD_BEFORE_S = 10
LOAD_AFTER_S = 20


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    broker = PrivateBroker(tmp_path_factory.mktemp("broker"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def settings(
    broker: PrivateBroker, mongo_url: str, request: pytest.FixtureRequest
) -> IntakeSettings:
    namespace = f"chaos-{request.node.name[5:25].replace('_', '-')}-{int(time.time())}"
    return intake_settings(
        broker.bootstrap, mongo_url, namespace, publish_timeout_s=2.0, reports_per_minute=10_000
    )


@pytest.fixture
async def intake(settings: IntakeSettings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake.test", timeout=10
        ) as client,
    ):
        yield client, app.state.database


async def test_broker_sigkill_and_restart(
    intake: tuple[httpx.AsyncClient, Any], settings: IntakeSettings, broker: PrivateBroker
) -> None:
    async def fault() -> None:
        broker.kill()
        await asyncio.sleep(5)
        await asyncio.to_thread(broker.start)

    await _scenario("broker SIGKILL, restart", fault, intake, settings, broker)


async def test_broker_sigstop_20s_then_sigcont(
    intake: tuple[httpx.AsyncClient, Any], settings: IntakeSettings, broker: PrivateBroker
) -> None:
    async def fault() -> None:
        broker.pause()
        await asyncio.sleep(20)
        broker.resume()

    await _scenario("broker SIGSTOP 20 s, SIGCONT", fault, intake, settings, broker)


async def _scenario(
    name: str,
    fault: Callable[[], Awaitable[None]],
    intake: tuple[httpx.AsyncClient, Any],
    settings: IntakeSettings,
    broker: PrivateBroker,
) -> None:
    """Load, the fault under load, load again; then every report retried to acceptance, the
    read model caught up, and the checker's verdict."""
    client, database = intake
    tokens = [
        mint_token(settings, subject=f"v-chaos-{n}", role=Role.VOLUNTEER, ttl_s=3600)
        for n in range(VOLUNTEERS)
    ]
    ledger = Ledger()
    stop = asyncio.Event()
    load = asyncio.create_task(volunteers(client, tokens, ledger, stop))
    await asyncio.sleep(LOAD_BEFORE_S)
    await fault()
    fault_over = time.monotonic()
    await asyncio.sleep(LOAD_AFTER_S)
    stop.set()
    await load
    recovered_s = min(t for t in ledger.accepted_at if t > fault_over) - fault_over

    views = await caught_up(
        lambda: database["case_views"].find({}, {"event_ids": 1}).to_list(None),
        set(ledger.acknowledged.values()),
    )
    reported = await asyncio.to_thread(
        topic_reports, broker.bootstrap, settings.case_events_topic.name
    )
    verdict = judge(ledger, reported, views)
    print(
        "\n| scenario | operations | acknowledged | lost | duplicated | unexpected | recovery |"
        f"\n{verdict.row(name, recovered_s)}\n answers: {dict(ledger.answers)}"
    )
    assert ledger.answers["503"] > 0, "the fault was not felt"
    assert (verdict.lost, verdict.duplicated, verdict.unexpected) == (0, 0, 0)
