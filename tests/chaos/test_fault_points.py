"""Crashes placed exactly into the windows the delivery rules must survive, through the
runtime's fault points (gridcase_runtime.faults, switched on by GRIDCASE_FAULT_POINT):

- a consumer killed after its batch is stored and before its offsets are committed: the
  batch is redelivered to the next process, which recognises every event;
- intake killed after Kafka acknowledged a report and before its answer: the client
  retries with its key, the retry takes the key over once its lease ends and publishes
  the same event again, which every consumer drops as a duplicate."""

import asyncio
import signal
from collections import Counter

import pytest
from chaos.checker import topic_events
from chaos.scenarios import run_scenario, settings_of, start
from chaos.system import System

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.timeout(900)]

CONSUMERS = ["intake", "assignment", "remediation-tracking"]


@pytest.mark.parametrize(
    "service",
    [
        pytest.param(service, marks=[pytest.mark.chaos_ci] if service == "assignment" else [])
        for service in CONSUMERS
    ],
)
async def test_crash_between_store_and_commit(system: System, service: str) -> None:
    await start(system)
    codes: list[int] = []

    async def fault() -> None:
        for _ in range(3):
            codes.append(
                await asyncio.to_thread(system.crash_at, service, "after-store-before-commit")
            )
            await asyncio.sleep(2)

    await run_scenario(f"{service} crash after store, before commit ×3", system, fault)
    assert codes == [-signal.SIGKILL] * 3
    redelivered = system.redelivered(service)
    print(f"  {service} applied {redelivered:.0f} redelivered events again")
    assert redelivered > 0


@pytest.mark.chaos_ci
async def test_intake_crash_between_ack_and_answer(system: System) -> None:
    system.environment["INTAKE_IDEMPOTENCY_LEASE_S"] = "8"
    await start(system)
    codes: list[int] = []

    async def fault() -> None:
        for _ in range(3):
            codes.append(
                await asyncio.to_thread(system.crash_at, "intake", "after-ack-before-answer")
            )
            await asyncio.sleep(2)

    await run_scenario("intake crash after ack, before answer ×3", system, fault)
    assert codes == [-signal.SIGKILL] * 3
    settings = settings_of(system)
    events, _ = await asyncio.to_thread(
        topic_events, system.bootstrap, settings.case_events_topic, settings
    )
    sent_again = [
        n for n in Counter(e.event_id for e in events if e.event_type == "CaseReported").values()
    ]
    assert sum(n - 1 for n in sent_again) >= 3, "no retry took over a report in Kafka"
