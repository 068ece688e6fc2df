"""Due slots against the real Mongo-wire server: a timer's scan reads only cases that are
due, by equality on their slot (which the server serves from an index)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import ASCENDING, monitoring

from gridcase_runtime.due import DueScan

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Finds(monitoring.CommandListener):
    """The filters of the find commands sent and the documents they returned."""

    def __init__(self) -> None:
        self.filters: list[dict[str, Any]] = []
        self.returned: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.filters.append(dict(event.command.get("filter", {})))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.command_name == "find":
            self.returned += [d["_id"] for d in event.reply["cursor"]["firstBatch"]]

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None

    def clear(self) -> None:
        self.filters.clear()
        self.returned.clear()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def setting(mongo_url: str, namespace: str) -> AsyncIterator[tuple[Any, Finds]]:
    finds = Finds()
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
        mongo_url, tz_aware=True, event_listeners=[finds]
    )
    database = client[namespace.replace("-", "_")]
    cases = database["cases"]
    await cases.create_index([("due_slot", ASCENDING)])
    yield cases, finds
    await client.drop_database(database.name)
    client.close()


async def store(scan: DueScan, case_id: str, due: datetime | None) -> None:
    with scan.writing(due) as slot:
        await scan.collection.replace_one(
            {"_id": case_id}, {"due_at": due, "due_slot": slot}, upsert=True
        )


async def test_a_scan_reads_only_the_cases_that_are_due(setting: tuple[Any, Finds]) -> None:
    cases, finds = setting
    clock = Clock()
    scan = DueScan(cases, "due_at", "due_slot", clock)
    assert await scan.due_ids(T0, limit=100) == []  # the first scan catches up
    await store(scan, "late", T0 - timedelta(minutes=5))  # due already: slot T0 + grace
    await store(scan, "soon", T0 + timedelta(seconds=4.5))
    await store(scan, "later", T0 + timedelta(hours=1))
    await store(scan, "never", None)
    finds.clear()

    assert await scan.due_ids(T0 + timedelta(seconds=1.5), limit=100) == []
    assert await scan.due_ids(T0 + timedelta(seconds=3.5), limit=100) == ["late"]
    await store(scan, "late", None)  # handled
    assert await scan.due_ids(T0 + timedelta(seconds=5.2), limit=100) == ["soon"]
    assert await scan.due_ids(T0 + timedelta(seconds=5.7), limit=100) == ["soon"]  # unhandled

    assert finds.filters
    for query in finds.filters:  # equality on the slot, which the index serves
        assert list(query) == ["due_slot"]
        assert isinstance(query["due_slot"], datetime)
    assert finds.returned == ["late", "soon", "soon"]


async def test_a_scan_does_not_pass_a_slot_still_being_written(
    setting: tuple[Any, Finds],
) -> None:
    cases, _ = setting
    clock = Clock()
    scan = DueScan(cases, "due_at", "due_slot", clock)
    assert await scan.due_ids(T0, limit=100) == []
    with scan.writing(T0) as slot:
        clock.now = T0 + timedelta(seconds=10)
        assert await scan.due_ids(clock.now, limit=100) == []  # the write has not landed yet
        await cases.insert_one({"_id": "slow", "due_at": T0, "due_slot": slot})
    assert await scan.due_ids(clock.now, limit=100) == ["slow"]


async def test_a_gap_is_caught_up_with_one_range_query(setting: tuple[Any, Finds]) -> None:
    cases, finds = setting
    clock = Clock()
    scan = DueScan(cases, "due_at", "due_slot", clock)
    await cases.insert_one({"_id": "before-slots", "due_at": T0 - timedelta(days=1)})
    await store(scan, "due", T0 - timedelta(hours=1))
    await store(scan, "not-due", T0 + timedelta(hours=1))
    finds.clear()

    assert await scan.due_ids(T0 + timedelta(seconds=1), limit=100) == ["before-slots", "due"]
    assert finds.filters == [{"due_at": {"$lte": T0 + timedelta(seconds=1)}}]
    await cases.delete_one({"_id": "before-slots"})
    await store(scan, "due", None)
    assert await scan.due_ids(T0 + timedelta(seconds=2), limit=100) == []  # caught up
    finds.clear()
    clock.now = T0 + timedelta(hours=2)  # a gap of two hours: 7,200 slots
    assert await scan.due_ids(clock.now, limit=100) == ["not-due"]
    assert finds.filters == [{"due_at": {"$lte": clock.now}}]
