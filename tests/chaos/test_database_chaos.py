"""Chaos on the database under load: the four services keep working while the Mongo-wire
server, or the PostgreSQL beneath it, is SIGKILLed and restarted (servers of the suite's
own). Every refusal is a 503 with Retry-After, never a 500 (the runner asserts it), and the
checker finds nothing lost, duplicated or unexpected."""

import asyncio
from collections.abc import Iterator

import pytest
from chaos.conftest import Systems
from chaos.scenarios import run_scenario, start
from private_servers import PrivateDatabase, fresh_state_dir

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def database() -> Iterator[PrivateDatabase]:
    database = PrivateDatabase(fresh_state_dir())
    database.start()
    yield database
    database.stop()


async def test_mongo_wire_server_sigkill_and_restart(
    systems: Systems, database: PrivateDatabase, kafka_bootstrap: str
) -> None:
    system = systems(kafka_bootstrap, database.url)
    await start(system)

    async def fault() -> None:
        database.kill("ferretdb")
        await asyncio.sleep(8)
        await asyncio.to_thread(database.start, "ferretdb")

    await run_scenario("Mongo-wire server SIGKILL, restart after 8 s", system, fault)


@pytest.mark.chaos_ci
async def test_postgresql_sigkill_and_restart(
    systems: Systems, database: PrivateDatabase, kafka_bootstrap: str
) -> None:
    system = systems(kafka_bootstrap, database.url)
    await start(system)

    async def fault() -> None:
        database.kill("postgres")
        await asyncio.sleep(8)
        await asyncio.to_thread(database.start, "postgres")

    ledger = await run_scenario("PostgreSQL SIGKILL, restart after 8 s", system, fault)
    assert ledger.answers["503"] > 0, "the fault was not felt"
