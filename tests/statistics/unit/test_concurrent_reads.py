"""Figures are read while the agent writes the table on the event loop. Endpoints and the
/metrics handler compute in worker threads, so the states must be copied on the loop
first: iterating the table from a thread while the loop inserts keys fails with
"dictionary changed size during iteration"."""

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from gridcase_runtime.auth import Role
from gridcase_stats.adapters.fakes import FakeCaseSource
from gridcase_stats.domain.case_state import CaseState
from identity import mint_token

from .conftest import SETTINGS

SUPERVISOR = {
    "Authorization": f"Bearer {mint_token(SETTINGS, subject='s-1', role=Role.SUPERVISOR)}"
}
CASES = 2000


@pytest.fixture(autouse=True)
def frequent_thread_switches() -> Iterator[None]:
    """Threads take turns every 10 µs rather than every 5 ms, so that a read of the
    table in a worker thread is sure to overlap the loop's writes."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


def reported(case_id: str, at: float) -> dict[str, object]:
    state = CaseState(case_id, status="reported", category="fire-safety", district="D01")
    state.reported_at = at
    return state.to_json()


@pytest.fixture
async def source(may_day: datetime) -> FakeCaseSource:
    fake = FakeCaseSource()
    for number in range(CASES):
        fake.cases[f"GC-old-{number}"] = reported(f"GC-old-{number}", may_day.timestamp())
    return fake


async def while_writing(
    source: FakeCaseSource, at: float, read: Callable[[], Awaitable[httpx.Response]]
) -> list[httpx.Response]:
    """Four concurrent reads while new cases are inserted on the loop, as the agent does."""
    done = asyncio.Event()

    async def write() -> int:
        written = 0
        while not done.is_set():
            source.cases[f"GC-new-{written}"] = reported(f"GC-new-{written}", at)
            written += 1
            await asyncio.sleep(0)
        return written

    writer = asyncio.create_task(write())
    try:
        responses = await asyncio.gather(*(read() for _ in range(4)))
    finally:
        done.set()
    assert await writer > 0
    return responses


async def test_figures_are_read_while_the_agent_writes(
    client: httpx.AsyncClient, source: FakeCaseSource, may_day: datetime
) -> None:
    responses = await while_writing(
        source,
        may_day.timestamp(),
        lambda: client.get("/v1/stats/summary", headers=SUPERVISOR),
    )
    assert [response.status_code for response in responses] == [200] * 4
    assert all(response.json()["found"] >= CASES for response in responses)


async def test_business_metrics_are_scraped_while_the_agent_writes(
    client: httpx.AsyncClient, source: FakeCaseSource, may_day: datetime, scrape: Any
) -> None:
    await scrape(client, lambda text: "gridcase_found_cases{" in text)  # the first snapshot
    responses = await while_writing(source, may_day.timestamp(), lambda: client.get("/metrics"))
    assert [response.status_code for response in responses] == [200] * 4
    for response in responses:
        found = next(
            line for line in response.text.splitlines() if line.startswith("gridcase_found_cases{")
        )
        assert float(found.rsplit(" ", 1)[1]) >= CASES
