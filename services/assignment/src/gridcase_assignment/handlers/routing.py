"""Routing a case: lead department and handler by the catalogue and workload, stage
deadlines on the working calendar, and merging into an open case nearby."""

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from gridcase_assignment import metrics
from gridcase_assignment.domain.duplicates import (
    NearbyCase,
    cells_near,
    cluster_priority,
    find_primary,
    grid_cell,
)
from gridcase_assignment.domain.model import Case, Decision, assign, mark_duplicate
from gridcase_assignment.domain.routing import Route, RoutingTables, choose_handler, route_for
from gridcase_assignment.handlers.context import Context
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import StageDue

log = logging.getLogger(__name__)


async def routing_tables(context: Context) -> RoutingTables:
    """The tables of `context.routing`, read again once they are older than the setting."""
    cache = context.routing
    now = time.monotonic()
    if cache.tables is None or now - cache.read_at > context.settings.routing_tables_max_age_s:
        cache.tables, cache.read_at = await context.repository.routing_tables(), now
    return cache.tables


async def least_loaded(context: Context, department: str) -> str | None:
    """The department's on-duty handler to take a case; None: nobody is on duty."""
    on_duty = (await routing_tables(context)).on_duty_in(department)
    return choose_handler(await context.repository.least_loaded(on_duty))


def due_dates(context: Context, case: Case, start: datetime) -> StageDue:
    """The stage deadlines of `case` counted from `start`. A deadline in working time past
    the calendar's published days (where only estimated holidays are known) is logged and
    counted."""
    due = context.sla.due_dates(case.category, case.severity, start, context.calendar)
    if context.sla.counts_working_time(case.severity) and not context.calendar.covers(due.verify):
        metrics.DUE_DATES_BEYOND_CALENDAR.inc()
        log.warning(
            "case %s: due date %s is past %s, the last day of the working calendar's "
            "published holidays; later holidays are estimates",
            case.case_id,
            due.verify.isoformat(),
            context.calendar.covered_until.isoformat(),
        )
    return due


async def route(
    context: Context,
    case: Case,
    *,
    split: bool = False,
    cause: str,
    start: datetime,
    extra_events: tuple[Envelope, ...] = (),
) -> Decision:
    """Assigns the case by the catalogue as it is now, with deadlines from `start`."""
    route = route_for((await routing_tables(context)).catalogue, case.category, case.district)
    handler = await least_loaded(context, route.lead)
    return assigned(
        context,
        case,
        route,
        handler,
        split=split,
        cause=cause,
        start=start,
        extra_events=extra_events,
    )


def assigned(
    context: Context,
    case: Case,
    route: Route,
    handler: str | None,
    *,
    split: bool = False,
    cause: str,
    start: datetime,
    extra_events: tuple[Envelope, ...] = (),
) -> Decision:
    return assign(
        replace(case, candidates=route.candidates, tried=(), returns=0),
        department=route.lead,
        co_departments=route.co_departments,
        handler=handler,
        due=due_dates(context, case, start),
        reason="split" if split else route.reason,
        cause=cause,
        now=context.clock(),
        extra_events=extra_events,
    )


def cell_of(context: Context, case: Case) -> str | None:
    """The grid cell of `case`, if it has a place."""
    if case.lat is None or case.lon is None:
        return None
    return grid_cell(case.lat, case.lon, context.settings.duplicate_radius_m)


async def nearby_open_cases(context: Context, case: Case) -> list[NearbyCase]:
    """The stored open cases of `case`'s category in its grid cell (none without a place)."""
    cell = cell_of(context, case)
    if cell is None:
        return []
    return await context.repository.nearby_open_cases(case.category, cell, excluding=case.case_id)


async def duplicate_of_open_case(
    context: Context,
    case: Case,
    nearby: list[NearbyCase],
    *,
    merged_here: Mapping[str, int],
    cause: str,
) -> Decision | None:
    """`case` merged into the nearest of `nearby` within the radius and window, if any;
    `merged_here`: the cases merged into each primary but not stored yet."""
    if case.lat is None or case.lon is None:
        return None
    settings = context.settings
    match = find_primary(
        case.lat,
        case.lon,
        case.reported_at,
        nearby,
        radius_m=settings.duplicate_radius_m,
        window=settings.duplicate_window,
    )
    if match is None:
        return None
    primary = match.primary.case_id
    cluster_size = await context.repository.cluster_size(primary) + merged_here.get(primary, 0) + 1
    return mark_duplicate(
        case,
        primary_case_id=primary,
        distance_m=match.distance_m,
        cluster_size=cluster_size,
        primary_priority=cluster_priority(cluster_size, settings.priority_thresholds),
        cause=cause,
        now=context.clock(),
    )


def near_cells(lat: float | None, lon: float | None, context: Context) -> tuple[str, ...]:
    if lat is None or lon is None:
        return ()
    return tuple(cells_near(lat, lon, context.settings.duplicate_radius_m))


async def refresh_cluster(context: Context, primary_case_id: str) -> None:
    """Sets the primary's cluster size and priority from the merged cases as stored now;
    idempotent, so it may run again after a crash or on any redelivery."""
    size = await context.repository.cluster_size(primary_case_id)
    priority = cluster_priority(size, context.settings.priority_thresholds)
    await context.repository.set_cluster(primary_case_id, size, priority)
