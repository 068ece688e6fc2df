"""One suite, two adapters each: the in-memory fakes that intake's unit tests use must
behave as the Mongo adapters do on the real Mongo-wire server (case views, Idempotency-Keys,
rate limits, api keys)."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gridcase_intake.adapters.fakes import (
    FakeApiKeys,
    FakeCaseViews,
    FakeIdempotencyKeys,
    FakeRateLimits,
)
from gridcase_intake.adapters.repository import (
    MongoApiKeys,
    MongoCaseViews,
    MongoIdempotencyKeys,
    MongoRateLimits,
)
from gridcase_intake.domain.api_keys import issue
from gridcase_intake.domain.idempotency import KeyRecord, KeyState, Reservation, StoredResponse
from gridcase_intake.ports import ApiKeys, CaseViews, IdempotencyKeys, RateLimits
from gridcase_runtime.mongo import close, connect
from stories import CaseStory

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
"""Whole seconds: the Mongo-wire server keeps milliseconds."""
NOW = 1_777_000_000.0
"""The rate limits' clock: a fixed second inside one window."""


@dataclass(frozen=True)
class Adapters:
    views: CaseViews
    keys: IdempotencyKeys
    limits: RateLimits
    api_keys: ApiKeys


@pytest.fixture(params=["fake", "mongo"])
async def adapters(request: pytest.FixtureRequest, mongo_url: str) -> AsyncIterator[Adapters]:
    if request.param == "fake":
        yield Adapters(
            FakeCaseViews(), FakeIdempotencyKeys(), FakeRateLimits(lambda: NOW), FakeApiKeys()
        )
        return
    database = connect(mongo_url, f"t_intake_contract_{uuid.uuid4().hex[:10]}")
    yield Adapters(
        MongoCaseViews(database),
        MongoIdempotencyKeys(database),
        MongoRateLimits(database, lambda: NOW),
        MongoApiKeys(database),
    )
    await database.client.drop_database(database.name)
    close(database)


def shown(view: dict[str, Any] | None) -> tuple[Any, ...]:
    """What a reader sees of a view: its status and timeline."""
    assert view is not None
    return view["status"], [entry["event"] for entry in view.get("timeline", [])]


async def test_each_event_is_applied_once(adapters: Adapters) -> None:
    reported, assigned, accepted = CaseStory("GC-0001", T0).assigned(1).accepted(2).events
    assert await adapters.views.apply(reported, accepted_here=True)
    assert await adapters.views.apply(assigned)
    assert await adapters.views.apply(accepted)
    once = shown(await adapters.views.get("GC-0001"))
    for event in (reported, assigned, accepted):
        assert not await adapters.views.apply(event)  # redelivered
    assert shown(await adapters.views.get("GC-0001")) == once
    assert once[0] == "accepted"


async def test_a_report_after_later_events_keeps_their_status(adapters: Adapters) -> None:
    reported, assigned = CaseStory("GC-0002", T0).assigned(1).events
    assert await adapters.views.apply(assigned)
    assert await adapters.views.apply(reported)
    view = await adapters.views.get("GC-0002")
    assert view is not None
    assert view["status"] == "assigned"
    assert view["category"] == reported.payload.category.value  # type: ignore[attr-defined]


async def test_a_consumed_batch_is_applied_once_in_each_cases_order(adapters: Adapters) -> None:
    first = CaseStory("GC-0003", T0).assigned(1).accepted(2).ordered(3, 48).events
    second = CaseStory("GC-0004", T0).assigned(1).events
    assert await adapters.views.apply(first[0], accepted_here=True)
    # GC-0004's view does not exist before its report is consumed; GC-0003's accepted and
    # ordered events are the second and third rounds
    batch = [first[0], second[0], first[1], second[1], first[2], first[3]]
    assert await adapters.views.apply_batch(batch) == 0
    once = [shown(await adapters.views.get(case_id)) for case_id in ("GC-0003", "GC-0004")]
    assert once == [
        (
            "in_remediation",
            ["CaseReported", "CaseAssigned", "CaseAccepted", "RectificationOrdered"],
        ),
        ("assigned", ["CaseReported", "CaseAssigned"]),
    ]
    # redelivered, with one event that is new: the reports are applied again harmlessly,
    # every other event that was applied before is told apart from the new one
    closed = CaseStory("GC-0004", T0).assigned(1).closed(4).events[-1]
    assert await adapters.views.apply_batch([*batch, closed]) == 4
    assert shown(await adapters.views.get("GC-0003")) == once[0]
    assert shown(await adapters.views.get("GC-0004")) == (
        "closed",
        ["CaseReported", "CaseAssigned", "CaseClosed"],
    )


async def test_a_consumed_event_before_its_report_creates_the_view(adapters: Adapters) -> None:
    reported, assigned = CaseStory("GC-0005", T0).assigned(1).events
    assert await adapters.views.apply_batch([assigned]) == 0
    assert await adapters.views.apply_batch([reported, assigned]) == 1
    view = await adapters.views.get("GC-0005")
    assert shown(view) == ("assigned", ["CaseAssigned", "CaseReported"])
    assert view is not None
    assert view["category"] == reported.payload.category.value  # type: ignore[attr-defined]


def key_record(key_id: str, attempt: str, **changes: Any) -> KeyRecord:
    fields: dict[str, Any] = {
        "key_id": key_id,
        "fingerprint": "f1",
        "reservation": Reservation("GC-9", uuid.uuid4(), T0),
        "state": KeyState.IN_FLIGHT,
        "attempt": attempt,
        "lease_until": T0 + timedelta(seconds=30),
        "expires_at": T0 + timedelta(hours=24),
        **changes,
    }
    return KeyRecord(**fields)


async def test_a_key_is_claimed_once_and_taken_over_only_from_its_holder(
    adapters: Adapters,
) -> None:
    keys = adapters.keys
    first = key_record("v-1|k", "a1")
    assert await keys.insert(first) is None
    existing = await keys.insert(key_record("v-1|k", "a2"))
    assert existing == first
    taken = await keys.take_over(first, "a2", T0 + timedelta(seconds=60))
    assert taken is not None
    assert (taken.attempt, taken.reservation) == ("a2", first.reservation)
    assert await keys.take_over(first, "a3", T0 + timedelta(seconds=90)) is None  # a2 has it
    await keys.release("v-1|k", "a1", T0)  # no longer a1's: nothing changes
    assert (await keys.find("v-1|k")) == taken
    await keys.complete("v-1|k", "a2", StoredResponse(201, "application/json", "{}"))
    done = await keys.find("v-1|k")
    assert done is not None
    assert done.state == KeyState.COMPLETED
    assert done.response == StoredResponse(201, "application/json", "{}")


async def test_a_released_key_is_resumed_and_expired_keys_are_swept(adapters: Adapters) -> None:
    keys = adapters.keys
    assert await keys.insert(key_record("v-1|gone", "a1")) is None
    assert await keys.insert(key_record("v-1|kept", "a1")) is None
    await keys.release("v-1|gone", "a1", T0)
    released = await keys.find("v-1|gone")
    assert released is not None
    assert (released.state, released.lease_until) == (
        KeyState.RELEASED,
        T0,
    )
    assert await keys.sweep(T0 + timedelta(hours=1)) == 0
    assert await keys.sweep(T0 + timedelta(hours=25)) == 2
    assert await keys.find("v-1|kept") is None


async def test_a_limit_counts_within_its_window_and_a_refund_gives_one_back(
    adapters: Adapters,
) -> None:
    limits = adapters.limits
    assert await limits.acquire("report:v-1", 2) is None
    assert await limits.acquire("report:v-1", 2) is None
    waited = await limits.acquire("report:v-1", 2)
    assert waited is not None
    assert 0 < waited <= 60
    assert await limits.acquire("report:v-2", 2) is None  # another caller's own limit
    await limits.refund("report:v-1")
    await limits.refund("report:v-1")
    assert await limits.acquire("report:v-1", 2) is None
    assert await limits.acquire("report:v-1", 2) is not None


async def test_api_keys_are_listed_in_order_and_revoked_once(adapters: Adapters) -> None:
    api_keys = adapters.api_keys
    _, older = issue("city-app", by="a-1", now=T0)
    _, newer = issue("other-app", by="a-1", now=T0 + timedelta(minutes=1))
    await api_keys.insert(newer)
    await api_keys.insert(older)
    assert [record.key_id for record in await api_keys.all()] == [older.key_id, newer.key_id]
    revoked = await api_keys.revoke(older.key_id, T0 + timedelta(hours=1))
    assert revoked is not None
    assert revoked.revoked_at == T0 + timedelta(hours=1)
    again = await api_keys.revoke(older.key_id, T0 + timedelta(hours=2))
    assert again == revoked  # the first revocation stands
    assert await api_keys.get(newer.key_id) == newer
    assert await api_keys.revoke("0123456789abcdef", T0) is None
