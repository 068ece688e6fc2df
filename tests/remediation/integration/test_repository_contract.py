"""One suite, two adapters: the in-memory case repository that remediation-tracking's unit
tests use must behave as the Mongo repository does on the real Mongo-wire server."""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from gridcase_contracts.envelope import Envelope
from gridcase_remediation.adapters.fakes import FakeCaseRepository
from gridcase_remediation.adapters.repository import CaseRepository
from gridcase_remediation.domain.case import Case, apply
from gridcase_remediation.domain.ledger import CaseRecord, with_events
from gridcase_remediation.ports import CaseStore, CaseWrite
from gridcase_runtime.mongo import close, connect
from stories import CaseStory

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
"""Whole seconds: the Mongo-wire server keeps milliseconds."""


@pytest.fixture(params=["fake", "mongo"])
async def store(request: pytest.FixtureRequest, mongo_url: str) -> AsyncIterator[CaseStore]:
    if request.param == "fake":
        yield FakeCaseRepository()
        return
    database = connect(mongo_url, f"t_remediation_contract_{uuid.uuid4().hex[:10]}")
    repository = CaseRepository(database)
    await repository.create_indexes()
    yield repository
    await database.client.drop_database(database.name)
    close(database)


def recorded(before: CaseRecord | None, events: Sequence[Envelope]) -> CaseRecord:
    """`before` with `events` applied and linked onto its ledger."""
    case = before.case if before else Case(case_id=events[0].case_id)
    for event in events:
        case = apply(case, event)
    ledger = with_events(before.ledger if before else (), events)
    return CaseRecord(case, len(ledger), ledger)


async def test_a_case_is_written_only_at_the_version_it_was_read(store: CaseStore) -> None:
    reported, assigned, accepted = CaseStory("GC-0001", T0).assigned(1).accepted(2).events
    assert await store.get("GC-0001") is None
    first = recorded(None, [reported])
    assert await store.save(None, first, [reported], emit=False)
    assert not await store.save(None, first, [reported], emit=False)  # it exists now
    second = recorded(first, [assigned])
    assert await store.save(first, second, [assigned], emit=False)
    stale = recorded(first, [accepted])
    assert not await store.save(first, stale, [accepted], emit=True)
    assert await store.get("GC-0001") == second


async def test_an_event_in_the_ledger_is_never_appended_again(store: CaseStore) -> None:
    reported, assigned = CaseStory("GC-0002", T0).assigned(1).events
    first = recorded(None, [reported, assigned])
    assert await store.save(None, first, [reported, assigned], emit=False)
    again = recorded(first, [assigned])
    assert not await store.save(first, again, [assigned], emit=False)
    stored = await store.get("GC-0002")
    assert stored is not None
    assert [e.event_id for e in stored.ledger] == [
        str(reported.event_id),
        str(assigned.event_id),
    ]


async def test_cases_with_a_stage_due_are_found(store: CaseStore) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    late = CaseStory("GC-late", now - timedelta(days=3)).assigned(1, accept_within=2).events
    early = CaseStory("GC-early", now).assigned(1, accept_within=48).events
    for events in (late, early):
        assert await store.save(None, recorded(None, events), events, emit=False)
    assert await store.due_case_ids(now) == ["GC-late"]


async def test_consumed_events_of_many_cases_are_saved_at_once_on_the_terms_of_save(
    store: CaseStore,
) -> None:
    """New cases inserted, read ones updated at their version, in one go; a case that
    exists already or moved since it was read is refused, and the others still saved."""
    moved_events = CaseStory("GC-moved", T0).assigned(1).accepted(2).events
    old_events = CaseStory("GC-old", T0).assigned(1).events
    there = CaseStory("GC-there", T0).events
    read = recorded(None, moved_events[:1])
    old = recorded(None, old_events[:1])
    for record, events in ((read, moved_events[:1]), (old, old_events[:1]), (None, there)):
        first = record or recorded(None, events)
        assert await store.save(None, first, events, emit=False)
    # GC-moved changes after it was read (an action), so its consumed write is stale
    moved = recorded(read, moved_events[1:2])
    assert await store.save(read, moved, moved_events[1:2], emit=True)
    new_events = CaseStory("GC-new", T0).assigned(1).events
    writes = [
        CaseWrite(None, recorded(None, there), tuple(there)),  # exists already
        CaseWrite(None, recorded(None, new_events), tuple(new_events)),
        CaseWrite(read, recorded(read, moved_events[2:]), tuple(moved_events[2:])),
        CaseWrite(old, recorded(old, old_events[1:]), tuple(old_events[1:])),
    ]
    assert await store.save_consumed(writes) == {"GC-there", "GC-moved"}
    assert await store.get("GC-moved") == moved
    assert await store.get("GC-new") == recorded(None, new_events)
    assert await store.get("GC-old") == recorded(old, old_events[1:])
    assert set(await store.get_many(["GC-old", "GC-new", "GC-none"])) == {"GC-old", "GC-new"}
