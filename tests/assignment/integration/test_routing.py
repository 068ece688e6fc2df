"""Reports in, decisions out: assignment, duplicates, redelivery, catalogue changes."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from factories import case_reported
from gridcase_assignment import handlers
from gridcase_assignment.adapters.repository import AssignmentRepository
from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.domain.routing import HandlerLoad, RoutingTables
from gridcase_assignment.handlers.context import RoutingCache
from gridcase_assignment.ports import NewCase
from gridcase_contracts.codes import CITY_TIME_ZONE, Category, District
from gridcase_contracts.events import Actor, CaseResolved, CaseResolvedPayload, new_event
from gridcase_runtime.auth import Role
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.mongo import MongoDatabase

from .conftest import TopicReader, bearer, caught_up

pytestmark = pytest.mark.integration

WEDNESDAY_10_SHANGHAI = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_a_report_yields_one_assignment_with_catalogue_department_and_due_dates(
    service: FastAPI,
    settings: AssignmentSettings,
    publisher: EventPublisher,
    reader: TopicReader,
    database: MongoDatabase,
) -> None:
    report = case_reported(lat=26.80, lon=112.50, occurred_at=WEDNESDAY_10_SHANGHAI)
    await publisher.publish(report)
    [assigned] = await reader.wait_for(
        lambda e: e.case_id == report.case_id and e.event_type == "CaseAssigned"
    )
    payload = assigned.payload
    assert (payload.department, payload.co_departments, payload.reason) == (
        "housing-bureau",
        ["urban-management-bureau"],
        "catalogue",
    )
    assert payload.handler == "h-housing-1"
    assert assigned.causation_id == str(report.event_id)
    # high severity from Wed 10:00; 7 working hours a day, 09:00-12:00 and 13:30-17:30
    # Shanghai (UTC+8)
    assert payload.due.accept == utc(2026, 3, 4, 7, 30)  # +4 h: Wed 15:30
    assert payload.due.first_response == utc(2026, 3, 5, 3, 0)  # +8 h: Thu 11:00
    assert payload.due.resolve == utc(2026, 3, 11, 8, 30)  # +40 h: next Wed 16:30
    assert payload.due.verify == utc(2026, 3, 16, 2, 0)  # resolve +16 h: Mon 10:00

    await caught_up(settings, database)
    stored_before = await database["cases"].find_one({"_id": report.case_id})
    await publisher.publish(report)  # redelivery of the same event
    await caught_up(settings, database)
    assert len(await reader.of_case(report.case_id, "CaseAssigned")) == 1
    stored_after = await database["cases"].find_one({"_id": report.case_id})
    assert stored_after == stored_before


async def test_a_near_identical_second_report_is_marked_duplicate(
    service: FastAPI, publisher: EventPublisher, reader: TopicReader
) -> None:
    first = case_reported(lat=26.70, lon=112.40)
    second = case_reported(lat=26.70009, lon=112.40, reporter_id="volunteer-2")  # ~10 m north
    await publisher.publish(first)
    await reader.wait_for(lambda e: e.case_id == first.case_id and e.event_type == "CaseAssigned")
    await publisher.publish(second)
    [merged] = await reader.wait_for(
        lambda e: e.case_id == second.case_id and e.event_type == "CaseMarkedDuplicate"
    )
    assert merged.payload.primary_case_id == first.case_id
    assert 9 < merged.payload.distance_m < 11
    assert merged.payload.cluster_size == 2
    assert await reader.of_case(second.case_id, "CaseAssigned") == []


class SimulatedCrashError(Exception):
    pass


class CrashBeforeClusterRefresh(AssignmentRepository):
    """The process dies after a merge is stored and before the primary's cluster is."""

    async def set_cluster(self, primary_case_id: str, cluster_size: int, priority: int) -> None:
        raise SimulatedCrashError(primary_case_id)


async def test_a_redelivered_report_repairs_a_cluster_a_crash_left_stale(
    service: FastAPI, database: MongoDatabase
) -> None:
    context = service.state.components.context
    primary, second, third = (
        case_reported(lat=26.40, lon=112.10),
        case_reported(lat=26.40009, lon=112.10, reporter_id="volunteer-2"),
        case_reported(lat=26.40, lon=112.10009, reporter_id="volunteer-3"),
    )
    await handlers.case_reported(primary, context)
    await handlers.case_reported(second, context)
    crashing = replace(context, repository=CrashBeforeClusterRefresh(database))
    with pytest.raises(SimulatedCrashError):
        await handlers.case_reported(third, crashing)

    cases = database["cases"]
    assert (await cases.find_one({"_id": third.case_id}))["status"] == "duplicate"
    stale = await cases.find_one({"_id": primary.case_id})
    assert (stale["cluster_size"], stale["priority"]) == (2, 0)

    await handlers.case_reported(third, context)  # the redelivery after the restart
    fresh = await cases.find_one({"_id": primary.case_id})
    assert (fresh["cluster_size"], fresh["priority"]) == (3, 1)


async def test_a_catalogue_change_applies_to_the_next_case_without_restart(
    service: FastAPI,
    settings: AssignmentSettings,
    http: httpx.AsyncClient,
    publisher: EventPublisher,
    reader: TopicReader,
) -> None:
    admin = bearer(settings, Role.ADMIN, "admin-1")
    url = "/admin/catalogue/housing-safety/D05"
    body = {"lead": "fire-rescue", "co_departments": ["housing-bureau"]}
    forbidden = await http.put(url, json=body, headers=bearer(settings, Role.SUPERVISOR, "s-1"))
    assert forbidden.status_code == 403
    unknown = await http.put(url, json={"lead": "ministry-of-magic"}, headers=admin)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["body", "lead"]
    assert (await http.put(url, json=body, headers=admin)).status_code == 200

    report = case_reported(district=District.D05, lat=26.60, lon=112.30)
    await publisher.publish(report)
    [assigned] = await reader.wait_for(
        lambda e: e.case_id == report.case_id and e.event_type == "CaseAssigned"
    )
    assert (assigned.payload.department, assigned.payload.co_departments) == (
        "fire-rescue",
        ["housing-bureau"],
    )
    changes = (await http.get("/admin/changes?kind=catalogue", headers=admin)).json()
    assert changes[0]["key"] == "housing-safety/D05"
    assert (changes[0]["by"], changes[0]["before"]) == ("admin-1", None)
    assert changes[0]["after"]["lead"] == "fire-rescue"

    elsewhere = case_reported(
        category=Category.HOUSING_SAFETY, district=District.D06, lat=26.50, lon=112.20
    )
    await publisher.publish(elsewhere)
    [other] = await reader.wait_for(
        lambda e: e.case_id == elsewhere.case_id and e.event_type == "CaseAssigned"
    )
    assert other.payload.department == "housing-bureau"


class CountingRepository(AssignmentRepository):
    """Counts the reads that route new cases and the writes that store them."""

    def __init__(self, database: MongoDatabase) -> None:
        super().__init__(database)
        self.table_reads = 0
        self.workload_reads = 0
        self.case_writes = 0

    async def routing_tables(self) -> RoutingTables:
        self.table_reads += 1
        return await super().routing_tables()

    async def least_loaded(self, handler_ids: Sequence[str]) -> list[HandlerLoad]:
        self.workload_reads += 1
        return await super().least_loaded(handler_ids)

    async def insert_cases(self, new_cases: Sequence[NewCase]) -> set[str]:
        self.case_writes += bool(new_cases)
        return await super().insert_cases(new_cases)


def decision(case: dict[str, object]) -> dict[str, object]:
    """A stored case but its outbox, which the relay clears meanwhile."""
    return {k: v for k, v in case.items() if k not in ("outbox", "outbox_pending")}


def redelivered() -> float:
    labels = {"service": "assignment"}
    return REGISTRY.get_sample_value("gridcase_events_redelivered_total", labels) or 0.0


async def test_a_batch_of_reports_is_routed_with_one_read_and_one_write_and_redelivered_unchanged(
    service: FastAPI, database: MongoDatabase
) -> None:
    counting = CountingRepository(database)
    context = replace(service.state.components.context, repository=counting, routing=RoutingCache())
    reports = [
        case_reported(category=Category.MARKET_SAFETY, lat=26.30 + i / 100, lon=112.00)
        for i in range(4)
    ]
    await handlers.handle_batch(list(reports), context)

    assert (counting.table_reads, counting.workload_reads, counting.case_writes) == (1, 1, 1)
    stored = [await database["cases"].find_one({"_id": r.case_id}) for r in reports]
    # fewest open cases first, then the longest idle, then the id
    assert [case["handler"] for case in stored] == [
        "h-market-1",
        "h-market-2",
        "h-market-1",
        "h-market-2",
    ]
    loads = await counting.least_loaded(["h-market-1", "h-market-2"])
    before = redelivered()

    await handlers.handle_batch(list(reports), context)

    assert redelivered() - before == len(reports)
    again = [await database["cases"].find_one({"_id": r.case_id}) for r in reports]
    assert [decision(case) for case in again] == [decision(case) for case in stored]
    assert await counting.least_loaded(["h-market-1", "h-market-2"]) == loads
    assert counting.table_reads == 1


async def test_workload_counters_follow_decisions_and_a_recount_repairs_them(
    service: FastAPI, database: MongoDatabase
) -> None:
    context = service.state.components.context
    repository: AssignmentRepository = context.repository
    handler_ids = ["h-service-1", "h-service-2"]
    reports = [
        case_reported(category=Category.PUBLIC_SERVICE_OBSTRUCTION, lat=26.40 + i / 100, lon=112.10)
        for i in range(3)
    ]
    await handlers.handle_batch(list(reports), context)
    first = await database["cases"].find_one({"_id": reports[0].case_id})
    resolved = new_event(
        CaseResolved,
        case_id=reports[0].case_id,
        occurred_at=datetime.now(UTC),
        payload=CaseResolvedPayload(
            note="the counter reopened",
            by=Actor(actor_id=first["handler"], role="handler", department=first["department"]),
        ),
    )
    await handlers.handle_batch([resolved], context)

    counted = {
        load.handler_id: load.open_cases for load in await repository.least_loaded(handler_ids)
    }
    await database["workload"].update_one({"_id": handler_ids[0]}, {"$set": {"open_cases": 99}})
    await repository.recount_workload()
    recounted = {
        load.handler_id: load.open_cases for load in await repository.least_loaded(handler_ids)
    }

    assert sum(counted.values()) == 2
    assert recounted == counted


async def test_a_due_date_across_the_2027_spring_festival_skips_the_holiday(
    service: FastAPI, publisher: EventPublisher, reader: TopicReader
) -> None:
    before = REGISTRY.get_sample_value("gridcase_due_dates_beyond_calendar_total") or 0
    thursday_4pm = datetime(2027, 2, 4, 16, 0, tzinfo=CITY_TIME_ZONE)  # eve of the eve
    report = case_reported(lat=26.95, lon=112.95, occurred_at=thursday_4pm)
    await publisher.publish(report)
    [assigned] = await reader.wait_for(
        lambda e: e.case_id == report.case_id and e.event_type == "CaseAssigned"
    )
    # high: accept within 4 working hours; Thu 16:00-17:30, then Spring Festival from
    # New Year's Eve (Fri 5 Feb) to Wed 10 Feb, so the rest falls on Thu 11 Feb
    assert assigned.payload.due.accept == datetime(2027, 2, 11, 11, 30, tzinfo=CITY_TIME_ZONE)
    counted = REGISTRY.get_sample_value("gridcase_due_dates_beyond_calendar_total")
    assert counted == before + 1
