"""One suite, two adapters: the in-memory fake that unit tests use must behave as the Mongo
repository does on the real Mongo-wire server."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gridcase_assignment.adapters.fakes import FakeCaseRepository
from gridcase_assignment.adapters.repository import AssignmentRepository
from gridcase_assignment.domain.model import Case
from gridcase_assignment.domain.registry import Department, Handler
from gridcase_assignment.domain.routing import CatalogueEntry
from gridcase_assignment.ports import CaseRepository, NewCase
from gridcase_contracts.codes import SUPERVISOR_QUEUE, Category, District, Severity, Stage
from gridcase_contracts.events import CaseEscalated, CaseEscalatedPayload, new_event
from gridcase_runtime.mongo import close, connect

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
"""Whole seconds: the Mongo-wire server keeps milliseconds."""


@pytest.fixture(params=["fake", "mongo"])
async def repository(
    request: pytest.FixtureRequest, mongo_url: str
) -> AsyncIterator[CaseRepository]:
    if request.param == "fake":
        yield FakeCaseRepository()
        return
    database = connect(mongo_url, f"t_contract_{uuid.uuid4().hex[:10]}")
    mongo = AssignmentRepository(database)
    await mongo.create_indexes()
    yield mongo
    await database.client.drop_database(database.name)
    close(database)


def case(case_id: str, **changes: object) -> Case:
    return replace(
        Case(
            case_id=case_id,
            category=Category.SANITATION,
            severity=Severity.HIGH,
            district=District.D03,
            reported_at=T0,
            lat=26.89,
            lon=112.57,
            near_cells=("1:1", "1:2"),
        ),
        **changes,  # type: ignore[arg-type]
    )


def escalated(case_id: str, at: datetime) -> CaseEscalated:
    return new_event(
        CaseEscalated,
        case_id=case_id,
        occurred_at=at,
        payload=CaseEscalatedPayload(
            level=1,
            stage=Stage.ACCEPT,
            target="handler",
            department="sanitation-division",
            notice="overdue",
        ),
    )


async def test_a_case_is_created_once_then_changed_only_at_its_version(
    repository: CaseRepository,
) -> None:
    assert await repository.load_case("GC-1") is None
    assert await repository.save_case(case("GC-1"), processed_event="e1")
    assert not await repository.save_case(case("GC-1", status="assigned"), processed_event="e2")
    loaded = await repository.load_case("GC-1")
    assert loaded is not None
    assert (loaded.case.version, loaded.case.status, loaded.processed) == (1, "reported", {"e1"})

    assert not await repository.save_case(replace(loaded.case, version=0, status="assigned"))
    assigned = replace(loaded.case, status="assigned", handler="h-1", assigned_at=T0)
    assert await repository.save_case(assigned, processed_event="e2")
    assert not await repository.save_case(assigned, processed_event="e3")
    again = await repository.load_case("GC-1")
    assert again is not None
    assert again.case == replace(assigned, version=2)
    assert again.processed == {"e1", "e2"}


async def test_new_cases_are_inserted_together_and_one_stored_before_is_left_as_it_is(
    repository: CaseRepository,
) -> None:
    first = case("GC-N1", status="assigned", handler="h-1", assigned_at=T0, cluster_size=2)
    merged = case("GC-N2", status="duplicate", primary_case_id="GC-N1")
    assert await repository.insert_cases([]) == set()
    assert await repository.insert_cases([NewCase(first, (), "e1"), NewCase(merged, (), "e2")]) == {
        "GC-N1",
        "GC-N2",
    }
    again = replace(first, status="reported", handler=None, assigned_at=None)
    later = case("GC-N3")
    assert await repository.insert_cases([NewCase(again, (), "e1"), NewCase(later, (), "e3")]) == {
        "GC-N3"
    }

    stored = [await repository.load_case(case_id) for case_id in ("GC-N1", "GC-N2", "GC-N3")]
    assert [(one.case, one.processed) for one in stored if one] == [
        (replace(first, version=1), {"e1"}),
        (replace(merged, version=1), {"e2"}),
        (replace(later, version=1), {"e3"}),
    ]
    assert await repository.cluster_size("GC-N1") == 2


async def test_cluster_size_and_priority_are_kept_apart_from_the_case_writes(
    repository: CaseRepository,
) -> None:
    await repository.save_case(case("GC-P"))
    await repository.save_case(case("GC-D1", status="duplicate", primary_case_id="GC-P"))
    await repository.save_case(case("GC-D2", status="duplicate", primary_case_id="GC-P"))
    await repository.save_case(case("GC-S", status="reported", primary_case_id="GC-P"))
    assert await repository.cluster_size("GC-P") == 3
    await repository.set_cluster("GC-P", 3, 1)
    loaded = await repository.load_case("GC-P")
    assert loaded is not None
    assert (loaded.case.cluster_size, loaded.case.priority) == (3, 1)
    assert await repository.save_case(replace(loaded.case, status="assigned", priority=0))
    stored = await repository.load_case("GC-P")
    assert stored is not None
    assert (stored.case.status, stored.case.cluster_size, stored.case.priority) == (
        "assigned",
        3,
        1,
    )


async def test_nearby_open_cases_are_those_of_the_cell_category_and_still_open(
    repository: CaseRepository,
) -> None:
    await repository.save_case(case("GC-A"))
    await repository.save_case(case("GC-B", near_cells=("9:9",)))
    await repository.save_case(case("GC-C", category=Category.FIRE_SAFETY))
    await repository.save_case(case("GC-D", status="resolved"))
    await repository.save_case(case("GC-E", status="duplicate", primary_case_id="GC-A"))
    await repository.save_case(case("GC-F", status="assigned"))
    found = await repository.nearby_open_cases(Category.SANITATION, "1:2", excluding="GC-F")
    assert [(c.case_id, c.lat, c.lon, c.reported_at) for c in found] == [
        ("GC-A", 26.89, 112.57, T0)
    ]


async def test_due_ladders_the_supervisor_queue_and_escalations(
    repository: CaseRepository,
) -> None:
    await repository.save_case(case("GC-L1"), ladder_next_at=T0)
    await repository.save_case(case("GC-L2"), ladder_next_at=T0 + timedelta(hours=1))
    assert await repository.cases_with_ladder_due(T0 + timedelta(minutes=1)) == ["GC-L1"]

    for number, hours in ((1, 3), (2, 1), (3, 2)):
        queued = case(
            f"GC-Q{number}",
            status="assigned",
            department=SUPERVISOR_QUEUE,
            assigned_at=T0 + timedelta(hours=hours),
        )
        await repository.save_case(queued)
    await repository.save_case(case("GC-Q4", status="closed", department=SUPERVISOR_QUEUE))
    assert await repository.supervisor_queue_size() == 3
    oldest_first = await repository.supervisor_queue(limit=2, offset=0)
    assert [c.case_id for c in oldest_first] == ["GC-Q2", "GC-Q3"]
    assert [c.case_id for c in await repository.supervisor_queue(limit=2, offset=2)] == ["GC-Q1"]

    for number, hours in ((1, 0), (2, 1)):
        case_id = f"GC-ESC-{number}"
        event = escalated(case_id, T0 + timedelta(hours=hours))
        await repository.save_case(case(case_id), events=(event,))
    newest_first = await repository.escalated_cases(limit=10, offset=0)
    assert [c.case_id for c in newest_first] == ["GC-ESC-2", "GC-ESC-1"]
    assert [c.case_id for c in await repository.escalated_cases(limit=1, offset=1)] == ["GC-ESC-1"]


async def test_the_registry_keeps_every_change_with_before_and_after(
    repository: CaseRepository,
) -> None:
    entry = CatalogueEntry(Category.SANITATION, "D03", "sanitation-division", ("district-d03",))
    await repository.put_department(Department("sanitation-division", "Sanitation"), by="a", at=T0)
    await repository.put_handler(
        Handler("h-s-1", "sanitation-division", "Li"), by="a", at=T0 + timedelta(seconds=1)
    )
    await repository.put_handler(
        Handler("h-s-2", "sanitation-division", "Wang", on_duty=False),
        by="a",
        at=T0 + timedelta(seconds=2),
    )
    await repository.put_handler(Handler("h-f-1", "fire-rescue", "Zhao"), by="a", at=T0)
    await repository.put_catalogue_entry(entry, by="a", at=T0 + timedelta(seconds=3))
    headed = Department("sanitation-division", "Sanitation", head="h-s-1")
    await repository.put_department(headed, by="b", at=T0 + timedelta(seconds=4))

    assert await repository.catalogue_entries() == [entry]
    assert await repository.get_department("sanitation-division") == headed
    assert await repository.list_departments() == [headed]
    assert await repository.get_handler("h-s-1") == Handler("h-s-1", "sanitation-division", "Li")
    assert [h.handler_id for h in await repository.list_handlers("sanitation-division")] == [
        "h-s-1",
        "h-s-2",
    ]
    assert [h.handler_id for h in await repository.list_handlers()] == ["h-f-1", "h-s-1", "h-s-2"]
    tables = await repository.routing_tables()
    assert tables.on_duty == {"sanitation-division": ("h-s-1",), "fire-rescue": ("h-f-1",)}
    assert tables.catalogue == {entry.key: entry}

    assert await repository.remove_catalogue_entry(entry.key, by="c", at=T0 + timedelta(seconds=5))
    assert not await repository.remove_catalogue_entry(entry.key, by="c", at=T0)
    assert await repository.catalogue_entries() == []

    changes = await repository.changes()
    assert [(c.kind, c.key, c.by) for c in changes] == [
        ("catalogue", entry.key, "c"),
        ("department", "sanitation-division", "b"),
        ("catalogue", entry.key, "a"),
        ("handler", "h-s-2", "a"),
        ("handler", "h-s-1", "a"),
        ("handler", "h-f-1", "a"),
        ("department", "sanitation-division", "a"),
    ]
    removed, renamed = changes[0], changes[1]
    assert (removed.before, removed.after) == (
        {
            "category": "sanitation",
            "district": "D03",
            "lead": "sanitation-division",
            "co_departments": ["district-d03"],
        },
        None,
    )
    assert (renamed.before, renamed.after) == (
        {"name": "Sanitation", "head": None},
        {"name": "Sanitation", "head": "h-s-1"},
    )
    assert [c.key for c in await repository.changes("handler", limit=2)] == ["h-s-2", "h-s-1"]
    assert await repository.get_department("fire-rescue") is None
    assert await repository.get_handler("h-nobody") is None


async def test_workload_follows_who_works_each_open_case_and_a_recount_agrees(
    repository: CaseRepository,
) -> None:
    for handler_id in ("h-s-1", "h-s-2"):
        handler = Handler(handler_id, "sanitation-division", handler_id)
        await repository.put_handler(handler, by="a", at=T0)
    first = case("GC-W1", status="assigned", handler="h-s-1", assigned_at=T0)
    second = case("GC-W2", status="assigned", handler="h-s-1", assigned_at=T0 + timedelta(hours=1))
    await repository.insert_cases([NewCase(new, (), new.case_id) for new in (first, second)])
    await repository.move_workload([(None, first), (None, second)])
    moved = replace(second, handler="h-s-2", assigned_at=T0 + timedelta(hours=2), version=1)
    await repository.save_case(moved)
    resolved = replace(first, status="resolved", version=1)
    await repository.save_case(resolved)
    await repository.move_workload([(second, moved), (first, resolved)])

    loads = {
        load.handler_id: (load.open_cases, load.last_assigned_at)
        for load in await repository.least_loaded(["h-s-1", "h-s-2", "h-new"])
    }
    assert loads == {
        "h-s-1": (0, T0 + timedelta(hours=1)),
        "h-s-2": (1, T0 + timedelta(hours=2)),
        "h-new": (0, None),
    }
    await repository.recount_workload()
    recounted = {
        load.handler_id: (load.open_cases, load.last_assigned_at)
        for load in await repository.least_loaded(["h-s-1", "h-s-2"])
    }
    assert recounted == {"h-s-1": (0, T0), "h-s-2": (1, T0 + timedelta(hours=2))}
    assert await repository.least_loaded([]) == []


async def test_workload_moves_of_more_handlers_than_one_command_takes(
    repository: CaseRepository,
) -> None:
    handler_ids = [f"h-m-{i:02}" for i in range(40)]
    cases = [
        case(f"GC-M{i:02}", status="assigned", handler=h, assigned_at=T0 + timedelta(minutes=i))
        for i, h in enumerate(handler_ids)
    ]
    await repository.move_workload([(None, one) for one in cases + cases[:3]])
    await repository.move_workload([(cases[0], replace(cases[0], status="resolved"))])

    loads = await repository.least_loaded(handler_ids)
    assert [(load.open_cases, load.last_assigned_at) for load in loads] == [
        (1, T0),
        (2, T0 + timedelta(minutes=1)),
        (2, T0 + timedelta(minutes=2)),
        *((1, T0 + timedelta(minutes=i)) for i in range(3, 40)),
    ]
