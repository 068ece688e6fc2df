"""Chaos on the broker under load: the four services keep working while a broker of the
suite's own is SIGKILLed and restarted, or stalled by SIGSTOP for 20 s. Each scenario
prints its row and ends in the checker's verdict: nothing lost, duplicated or
unexpected."""

import asyncio

import pytest
from chaos.conftest import Systems
from chaos.scenarios import run_scenario, start
from private_servers import PrivateBroker

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.mark.chaos_ci
async def test_broker_sigkill_and_restart(
    systems: Systems, broker: PrivateBroker, mongo_url: str
) -> None:
    system = systems(broker.bootstrap, mongo_url)
    await start(system)

    async def fault() -> None:
        broker.kill()
        await asyncio.sleep(5)
        await asyncio.to_thread(broker.start)

    ledger = await run_scenario("broker SIGKILL, restart", system, fault)
    assert ledger.answers["503"] > 0, "the fault was not felt"


async def test_broker_sigstop_20s_then_sigcont(
    systems: Systems, broker: PrivateBroker, mongo_url: str
) -> None:
    system = systems(broker.bootstrap, mongo_url)
    await start(system)

    async def fault() -> None:
        broker.pause()
        await asyncio.sleep(20)
        broker.resume()

    ledger = await run_scenario("broker SIGSTOP 20 s, SIGCONT", system, fault)
    assert ledger.answers["503"] > 0, "the fault was not felt"
