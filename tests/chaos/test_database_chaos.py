"""Chaos on the database under load: intake's volunteers keep filing reports while the
Mongo-wire server, or the PostgreSQL beneath it, is SIGKILLed and restarted (servers of
the suite's own). Every refusal is a 503 with Retry-After, never a 500, and the checker
finds nothing lost, duplicated or unexpected."""

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from chaos.workload import run_scenario
from intake.integration.support import intake_settings
from private_servers import PrivateDatabase, fresh_state_dir

from gridcase_intake.config import IntakeSettings

pytestmark = [pytest.mark.chaos, pytest.mark.integration]


@pytest.fixture(scope="module")
def database() -> Iterator[PrivateDatabase]:
    database = PrivateDatabase(fresh_state_dir())
    database.start()
    yield database
    database.stop()


@pytest.fixture
def settings(
    kafka_bootstrap: str, database: PrivateDatabase, request: pytest.FixtureRequest
) -> IntakeSettings:
    namespace = f"chaos-{request.node.name[5:25].replace('_', '-')}-{int(time.time())}"
    return intake_settings(
        kafka_bootstrap, database.url, namespace, publish_timeout_s=2.0, reports_per_minute=10_000
    )


async def test_mongo_wire_server_sigkill_and_restart(
    intake: tuple[httpx.AsyncClient, Any],
    settings: IntakeSettings,
    database: PrivateDatabase,
    kafka_bootstrap: str,
) -> None:
    async def fault() -> None:
        database.kill("ferretdb")
        await asyncio.sleep(8)
        await asyncio.to_thread(database.start, "ferretdb")

    await run_scenario(
        "Mongo-wire server SIGKILL, restart", fault, intake, settings, kafka_bootstrap
    )


async def test_postgresql_sigkill_and_restart(
    intake: tuple[httpx.AsyncClient, Any],
    settings: IntakeSettings,
    database: PrivateDatabase,
    kafka_bootstrap: str,
) -> None:
    async def fault() -> None:
        database.kill("postgres")
        await asyncio.sleep(8)
        await asyncio.to_thread(database.start, "postgres")

    await run_scenario("PostgreSQL SIGKILL, restart", fault, intake, settings, kafka_bootstrap)
