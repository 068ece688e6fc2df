"""Chaos on the broker under load: intake's volunteers keep filing reports while a broker
of the suite's own is SIGKILLed and restarted, or stalled by SIGSTOP for 20 s. Each
scenario prints its row and ends in the checker's verdict: nothing lost, duplicated or
unexpected."""

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from chaos.workload import run_scenario
from intake.integration.support import intake_settings
from private_servers import PrivateBroker

from gridcase_intake.config import IntakeSettings

pytestmark = [pytest.mark.chaos, pytest.mark.integration]


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


async def test_broker_sigkill_and_restart(
    intake: tuple[httpx.AsyncClient, Any], settings: IntakeSettings, broker: PrivateBroker
) -> None:
    async def fault() -> None:
        broker.kill()
        await asyncio.sleep(5)
        await asyncio.to_thread(broker.start)

    await run_scenario("broker SIGKILL, restart", fault, intake, settings, broker.bootstrap)


async def test_broker_sigstop_20s_then_sigcont(
    intake: tuple[httpx.AsyncClient, Any], settings: IntakeSettings, broker: PrivateBroker
) -> None:
    async def fault() -> None:
        broker.pause()
        await asyncio.sleep(20)
        broker.resume()

    await run_scenario("broker SIGSTOP 20 s, SIGCONT", fault, intake, settings, broker.bootstrap)
