"""Workers start with the service and stop with it."""

import asyncio

from gridcase_runtime.workers import Worker, running


async def test_workers_run_until_the_block_ends() -> None:
    stop = asyncio.Event()
    ticks: list[int] = []

    async def run() -> None:
        while not stop.is_set():
            ticks.append(1)
            await asyncio.sleep(0.01)

    async with running([Worker("ticker", run, stop.set)]):
        await asyncio.sleep(0.1)
    count = len(ticks)
    await asyncio.sleep(0.05)
    assert count > 0
    assert len(ticks) == count


async def test_a_worker_that_ignores_stop_is_cancelled() -> None:
    cancelled = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with running([Worker("stubborn", stubborn, lambda: None)], stop_timeout_s=0.1):
        await asyncio.sleep(0)
    assert cancelled.is_set()


async def test_a_periodic_worker_survives_transient_errors() -> None:
    from gridcase_runtime.workers import Periodic

    calls: list[int] = []
    third_call = asyncio.Event()

    async def tick() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database restarting")
        if len(calls) == 3:
            third_call.set()

    timer = Periodic("probe", tick, interval_s=0.01)
    async with running([timer.worker]):
        await asyncio.wait_for(third_call.wait(), timeout=5)
    assert len(calls) >= 3
