"""The handlers over the in-memory repository: routing, merging, returns and the admin
rules, without a broker or database."""

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from factories import case_reported
from gridcase_assignment import handlers
from gridcase_assignment.adapters.fakes import FakeCaseRepository
from gridcase_assignment.adapters.seed_files import (
    load_calendar,
    load_catalogue,
    load_registry,
    load_sla_policy,
)
from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.domain.ladder import LadderPolicy
from gridcase_assignment.domain.registry import Department, Handler
from gridcase_assignment.domain.routing import CatalogueEntry
from gridcase_contracts.codes import Category, District
from gridcase_contracts.events import Actor, CaseReturned, CaseReturnedPayload, new_event

NOW = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)


@pytest.fixture
def context() -> handlers.Context:
    settings = AssignmentSettings()
    repository = FakeCaseRepository()
    departments, handler_list = load_registry(settings.registry_file)
    repository.seed(load_catalogue(settings.catalogue_file), departments, handler_list)
    return handlers.Context(
        repository=repository,
        settings=settings,
        sla=load_sla_policy(settings),
        calendar=load_calendar(settings),
        ladder=LadderPolicy(timedelta(hours=4), timedelta(days=1)),
        clock=lambda: NOW,
    )


async def test_reports_go_to_the_least_loaded_handler_and_a_near_one_is_merged(
    context: handlers.Context,
) -> None:
    first = case_reported(category=Category.SANITATION, occurred_at=NOW, lat=26.9, lon=112.6)
    second = case_reported(category=Category.SANITATION, occurred_at=NOW, lat=26.9, lon=112.7)
    near = case_reported(category=Category.SANITATION, occurred_at=NOW, lat=26.9001, lon=112.6)
    await handlers.handle_batch([first, second, near], context)

    stored = {
        report.case_id: (await context.repository.load_case(report.case_id))
        for report in (first, second, near)
    }
    cases = {case_id: loaded.case for case_id, loaded in stored.items() if loaded}
    assert [cases[r.case_id].handler for r in (first, second)] == [
        "h-sanitation-1",
        "h-sanitation-2",
    ]
    assert (cases[near.case_id].status, cases[near.case_id].primary_case_id) == (
        "duplicate",
        first.case_id,
    )
    assert cases[first.case_id].cluster_size == 2
    assert await context.repository.cluster_size(first.case_id) == 2

    await handlers.handle_batch([first], context)  # a redelivery decides nothing new
    again = await context.repository.load_case(first.case_id)
    assert again is not None
    assert again.case.version == cases[first.case_id].version


def redelivered() -> float:
    labels = {"service": "assignment"}
    return REGISTRY.get_sample_value("gridcase_events_redelivered_total", labels) or 0.0


async def test_a_redelivered_batch_of_reports_changes_nothing_and_is_counted(
    context: handlers.Context,
) -> None:
    reports = [
        case_reported(category=Category.SANITATION, occurred_at=NOW, lat=26.9 + i / 100, lon=112.6)
        for i in range(4)
    ]
    await handlers.handle_batch(list(reports), context)
    repository = context.repository
    assert isinstance(repository, FakeCaseRepository)
    stored = copy.deepcopy(repository.cases)
    loads = await repository.least_loaded(["h-sanitation-1", "h-sanitation-2"])
    assert [load.open_cases for load in loads] == [2, 2]
    before = redelivered()

    await handlers.handle_batch(list(reports), context)

    assert redelivered() - before == len(reports)
    assert repository.cases == stored
    assert await repository.least_loaded(["h-sanitation-1", "h-sanitation-2"]) == loads


async def test_a_case_merged_into_a_redelivered_batch_mate_is_decided_again_as_stored(
    context: handlers.Context,
) -> None:
    """The batch mate was stored merged into a case since resolved: decided afresh it
    would be a primary, but it keeps its stored decision, so a near case is not merged
    into it."""
    first = case_reported(category=Category.SANITATION, occurred_at=NOW, lat=26.9, lon=112.6)
    mate = case_reported(category=Category.SANITATION, occurred_at=NOW, lat=26.9002, lon=112.6)
    await handlers.handle_batch([first], context)
    await handlers.handle_batch([mate], context)
    repository = context.repository
    stored_first = await repository.load_case(first.case_id)
    assert stored_first is not None
    assert await repository.save_case(replace(stored_first.case, status="resolved"))
    near = case_reported(category=Category.SANITATION, occurred_at=NOW, lat=26.9004, lon=112.6)
    before = redelivered()

    await handlers.handle_batch([mate, near], context)

    assert redelivered() - before == 1
    kept, decided = [await repository.load_case(r.case_id) for r in (mate, near)]
    assert kept is not None
    assert decided is not None
    assert (kept.case.status, kept.case.primary_case_id) == ("duplicate", first.case_id)
    assert decided.case.primary_case_id is None
    assert decided.case.handler is not None


async def test_returns_walk_the_candidates_then_the_supervisor_queue(
    context: handlers.Context,
) -> None:
    report = case_reported(category=Category.PUBLIC_SECURITY, district=District.D07)
    await handlers.handle_batch([report], context)
    for department in ("public-security-bureau", "district-d07"):
        returned = new_event(
            CaseReturned,
            case_id=report.case_id,
            occurred_at=NOW,
            payload=CaseReturnedPayload(
                department=department,
                reason="not ours",
                by=Actor(actor_id="h-1", role="handler", department=department),
            ),
        )
        await handlers.handle_batch([returned], context)
    loaded = await context.repository.load_case(report.case_id)
    assert loaded is not None
    assert (loaded.case.department, loaded.case.returns) == ("supervision-office", 2)
    assert await context.repository.supervisor_queue_size() == 1


async def test_admin_rules_name_the_field_at_fault(context: handlers.Context) -> None:
    with pytest.raises(handlers.InvalidRequestError) as lead:
        await handlers.put_catalogue_entry(
            context, CatalogueEntry(Category.OTHER, "D01", "supervision-office"), by="a"
        )
    assert lead.value.field == "lead"
    entry = CatalogueEntry(Category.OTHER, "D01", "fire-rescue", ("health-commission",) * 2)
    with pytest.raises(handlers.InvalidRequestError) as twice:
        await handlers.put_catalogue_entry(context, entry, by="a")
    assert twice.value.field == "co_departments"
    with pytest.raises(handlers.InvalidRequestError) as head:
        await handlers.put_department(
            context, Department("fire-rescue", "Fire", head="h-housing-1"), by="a"
        )
    assert head.value.field == "head"
    with pytest.raises(handlers.InvalidRequestError) as department:
        await handlers.put_handler(context, Handler("h-x", "no-bureau", "X"), by="a")
    assert department.value.field == "department"
    with pytest.raises(handlers.NotFoundError):
        await handlers.set_on_duty(context, "h-nobody", False, by="a")
    with pytest.raises(handlers.NotFoundError):
        await handlers.remove_catalogue_entry(context, "other/D01", by="a")

    off = await handlers.set_on_duty(context, "h-fire-1", False, by="a")
    assert off.on_duty is False
    tables = await context.repository.routing_tables()
    assert tables.on_duty_in("fire-rescue") == ("h-fire-2",)
    assert [change.key for change in await context.repository.changes("handler")] == ["h-fire-1"]
