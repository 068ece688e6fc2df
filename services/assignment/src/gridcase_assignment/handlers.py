"""One function per event and command. Dependencies come in as `Context`.

Event handlers are idempotent: the id of the handled event is stored in the same write
as the decision and its outbox events, and a case read with that id is left alone."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from gridcase_assignment import metrics
from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.domain.calendar import WorkingCalendar
from gridcase_assignment.domain.duplicates import (
    cells_near,
    cluster_priority,
    find_primary,
    grid_cell,
)
from gridcase_assignment.domain.ladder import LadderPolicy
from gridcase_assignment.domain.model import (
    LIFECYCLE,
    SYSTEM_ACTOR,
    Case,
    Decision,
    assign,
    escalate,
    finish_stages,
    mark_duplicate,
    next_ladder_at,
    open_ladder,
    reassign,
    returned,
    split_event,
)
from gridcase_assignment.domain.registry import Department, Handler
from gridcase_assignment.domain.routing import (
    CatalogueEntry,
    Route,
    RoutingTables,
    choose_handler,
    next_candidate,
    route_for,
)
from gridcase_assignment.domain.sla import SlaPolicy
from gridcase_assignment.ports import CaseRepository
from gridcase_contracts.codes import SUPERVISOR_QUEUE, Service
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import (
    Actor,
    CaseEvent,
    CaseOverdue,
    CaseReopened,
    CaseReported,
    CaseReturned,
    StageDue,
)
from gridcase_runtime.batches import per_case

log = logging.getLogger(__name__)

SAVE_ATTEMPTS = 8


class ContendedError(TimeoutError):
    """A case kept changing under us; the consumer retries the event later."""


class NotFoundError(Exception):
    pass


class InvalidRequestError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ConflictError(Exception):
    """The request does not fit the case's current `status`."""

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Context:
    repository: CaseRepository
    settings: AssignmentSettings
    sla: SlaPolicy
    calendar: WorkingCalendar
    ladder: LadderPolicy
    notify_outbox: Callable[[], None] = lambda: None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    routing: RoutingTables | None = None
    """Set while a consumed batch is handled: the tables read for it."""


def _due_dates(context: Context, case: Case, start: datetime) -> StageDue:
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


async def _routing_tables(context: Context) -> RoutingTables:
    return context.routing or await context.repository.routing_tables()


async def _least_loaded(context: Context, department: str) -> str | None:
    """The department's on-duty handler to take a case; None: nobody is on duty."""
    on_duty = (await _routing_tables(context)).on_duty_in(department)
    return choose_handler(await context.repository.least_loaded(on_duty))


Decide = Callable[[Case], Awaitable[Decision | None]]


async def _update_case(
    context: Context, case_id: str, decide: Decide, *, event_id: str | None = None
) -> Decision | None:
    """Reads the case, decides, and stores the decision with its events and `event_id`;
    again from the top if the case changed meanwhile. None: unknown case or event seen."""
    for _ in range(SAVE_ATTEMPTS):
        loaded = await context.repository.load_case(case_id)
        if loaded is None or (event_id is not None and event_id in loaded.processed):
            return None
        started = time.perf_counter()
        decision = await decide(loaded.case) or Decision(loaded.case)
        saved = await context.repository.save_case(
            decision.case,
            events=decision.events,
            processed_event=event_id,
            ladder_next_at=next_ladder_at(decision.case, context.ladder),
        )
        if saved:
            await context.repository.move_workload(loaded.case, decision.case)
            if decision.events:
                metrics.DECISION_SECONDS.observe(time.perf_counter() - started)
                metrics.count_emitted(decision.events, category=decision.case.category.value)
                context.notify_outbox()
            return decision
    raise ContendedError(f"case {case_id} kept changing; giving up for now")


# --- routing ----------------------------------------------------------------------


async def _route(
    context: Context,
    case: Case,
    *,
    split: bool = False,
    cause: str,
    start: datetime,
    extra_events: tuple[Envelope, ...] = (),
) -> Decision:
    """Assigns the case by the catalogue as it is now, with deadlines from `start`."""
    route = route_for((await _routing_tables(context)).catalogue, case.category, case.district)
    handler = await _least_loaded(context, route.lead)
    return _assigned(
        context,
        case,
        route,
        handler,
        split=split,
        cause=cause,
        start=start,
        extra_events=extra_events,
    )


def _assigned(
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
        due=_due_dates(context, case, start),
        reason="split" if split else route.reason,
        cause=cause,
        now=context.clock(),
        extra_events=extra_events,
    )


async def _duplicate_of_open_case(context: Context, case: Case, *, cause: str) -> Decision | None:
    if case.lat is None or case.lon is None:
        return None
    settings = context.settings
    cell = grid_cell(case.lat, case.lon, settings.duplicate_radius_m)
    nearby = await context.repository.nearby_open_cases(case.category, cell, excluding=case.case_id)
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
    cluster_size = await context.repository.cluster_size(match.primary.case_id) + 1
    return mark_duplicate(
        case,
        primary_case_id=match.primary.case_id,
        distance_m=match.distance_m,
        cluster_size=cluster_size,
        primary_priority=cluster_priority(cluster_size, settings.priority_thresholds),
        cause=cause,
        now=context.clock(),
    )


def _near_cells(lat: float | None, lon: float | None, context: Context) -> tuple[str, ...]:
    if lat is None or lon is None:
        return ()
    return tuple(cells_near(lat, lon, context.settings.duplicate_radius_m))


async def _refresh_cluster(context: Context, primary_case_id: str) -> None:
    """Sets the primary's cluster size and priority from the merged cases as stored now;
    idempotent, so it may run again after a crash or on any redelivery."""
    size = await context.repository.cluster_size(primary_case_id)
    priority = cluster_priority(size, context.settings.priority_thresholds)
    await context.repository.set_cluster(primary_case_id, size, priority)


# --- events -----------------------------------------------------------------------


async def case_reported(event: CaseReported, context: Context) -> None:
    """A new case: merged into an open case nearby, or routed by the catalogue. A redelivery
    keeps the decision stored first but refreshes the primary's cluster again: the refresh
    is a write of its own, and a crash may have come between the merge and the refresh."""
    case = await _decide_reported(event, context)
    if case.primary_case_id:
        await _refresh_cluster(context, case.primary_case_id)


async def _decide_reported(event: CaseReported, context: Context) -> Case:
    """Merges or routes the new case and stores the decision; the case as stored. The
    insert itself tells whether the case is new (no read before it)."""
    started = time.perf_counter()
    payload = event.payload
    case = Case(
        case_id=event.case_id,
        category=payload.category,
        severity=payload.severity,
        district=payload.location.district,
        reported_at=event.occurred_at,
        lat=payload.location.lat,
        lon=payload.location.lon,
        near_cells=_near_cells(payload.location.lat, payload.location.lon, context),
        correlation_id=event.correlation_id or str(event.event_id),
    )
    cause = str(event.event_id)
    # The nearby cases and the lead department's workload are read at once: one round
    # trip instead of two, though the workload goes unused when the case is merged.
    route = route_for((await _routing_tables(context)).catalogue, case.category, case.district)
    duplicate, handler = await asyncio.gather(
        _duplicate_of_open_case(context, case, cause=cause), _least_loaded(context, route.lead)
    )
    decision = duplicate or _assigned(
        context, case, route, handler, cause=cause, start=event.occurred_at
    )
    if await context.repository.save_case(
        decision.case, events=decision.events, processed_event=cause
    ):
        await context.repository.move_workload(None, decision.case)
        metrics.DECISION_SECONDS.observe(time.perf_counter() - started)
        metrics.count_emitted(decision.events, category=case.category.value)
        context.notify_outbox()
        return decision.case
    stored = await context.repository.load_case(event.case_id)  # a redelivery: decided before
    return stored.case if stored else decision.case


async def case_returned(event: CaseReturned, context: Context) -> None:
    """Not ours: the next candidate department, or the supervisor queue after N returns."""

    async def decide(case: Case) -> Decision | None:
        if case.is_final:
            return None
        back = returned(case, department=event.payload.department)
        following = next_candidate(back.candidates, back.tried)
        if back.returns >= context.settings.max_returns or following is None:
            return reassign(
                back,
                department=SUPERVISOR_QUEUE,
                handler=None,
                due=None,
                reason=(
                    f"returned {back.returns} times, last by {event.payload.department}: "
                    f"{event.payload.reason}"
                ),
                by=SYSTEM_ACTOR,
                cause=str(event.event_id),
                now=context.clock(),
            )
        return assign(
            back,
            department=following,
            co_departments=(),
            handler=await _least_loaded(context, following),
            due=_due_dates(context, case, event.occurred_at),
            reason="return-reroute",
            cause=str(event.event_id),
            now=context.clock(),
        )

    if await _update_case(context, event.case_id, decide, event_id=str(event.event_id)):
        metrics.RETURNS.labels(event.payload.department).inc()


async def case_reopened(event: CaseReopened, context: Context) -> None:
    """Verification failed: same department, fresh deadlines, the handler if still on duty."""

    async def decide(case: Case) -> Decision | None:
        if case.department is None or case.is_final:
            return None
        on_duty = (await _routing_tables(context)).on_duty_in(case.department)
        return assign(
            case,
            department=case.department,
            co_departments=case.co_departments,
            handler=case.handler
            if case.handler in on_duty
            else await _least_loaded(context, case.department),
            due=_due_dates(context, case, event.occurred_at),
            reason="reopen",
            cause=str(event.event_id),
            now=context.clock(),
        )

    await _update_case(context, event.case_id, decide, event_id=str(event.event_id))


async def _department_head(context: Context, department: str | None) -> str | None:
    found = await context.repository.get_department(department) if department else None
    return found.head if found else None


async def case_overdue(event: CaseOverdue, context: Context) -> None:
    """Starts the stage's escalation ladder; level 1 fires at once."""

    async def decide(case: Case) -> Decision | None:
        stage = event.payload.stage
        laddered = open_ladder(
            case, stage, due_at=event.payload.due_at, overdue_at=event.occurred_at
        )
        return escalate(
            laddered,
            stage,
            policy=context.ladder,
            department_head=await _department_head(context, case.department),
            now=max(context.clock(), event.occurred_at),
        )

    await _update_case(context, event.case_id, decide, event_id=str(event.event_id))


async def lifecycle_event(event: CaseEvent, context: Context) -> None:
    """Follows the status (for workload) and stops the ladders of completed stages."""
    status, stages = LIFECYCLE[event.event_type]

    async def decide(case: Case) -> Decision | None:
        return Decision(finish_stages(case, stages, status=status))

    await _update_case(context, event.case_id, decide, event_id=str(event.event_id))


EVENT_HANDLERS: Mapping[str, Callable[[Any, Context], Awaitable[None]]] = {
    "CaseReported": case_reported,
    "CaseReturned": case_returned,
    "CaseReopened": case_reopened,
    "CaseOverdue": case_overdue,
    **{event_type: lifecycle_event for event_type in LIFECYCLE},
}


async def handle_event(event: CaseEvent, context: Context) -> None:
    """Dispatches one consumed event; assignment's own events were applied when decided."""
    if event.producer == Service.ASSIGNMENT:
        return
    handler = EVENT_HANDLERS.get(event.event_type)
    if handler is not None:
        await handler(event, context)


ROUTING_EVENTS = frozenset({"CaseReported", "CaseReturned", "CaseReopened"})


async def handle_batch(events: list[CaseEvent], context: Context) -> None:
    """Handles a consumed batch, several cases at once and each case's events in their
    order, routing by the catalogue and duty roster as read once for the batch. Routing
    decisions are taken one at a time: each must see the workload and the open cases that
    the previous one left."""
    if any(event.event_type in ROUTING_EVENTS for event in events):
        context = replace(context, routing=await context.repository.routing_tables())
    routing = asyncio.Lock()

    async def handle_case(case_events: list[CaseEvent]) -> None:
        for event in case_events:
            if event.event_type in ROUTING_EVENTS:
                async with routing:
                    await handle_event(event, context)
            else:
                await handle_event(event, context)

    await per_case(events, lambda event: event.case_id, handle_case)


# --- the escalation timer ---------------------------------------------------------


async def escalate_due_ladders(context: Context) -> int:
    """Fires every ladder level whose time has come; returns how many fired."""
    fired = 0
    for case_id in await context.repository.cases_with_ladder_due(context.clock()):

        async def decide(case: Case) -> Decision | None:
            head = await _department_head(context, case.department)
            decision = Decision(case)
            for stage in sorted(case.ladders):
                step = escalate(
                    decision.case,
                    stage,
                    policy=context.ladder,
                    department_head=head,
                    now=context.clock(),
                )
                decision = Decision(step.case, (*decision.events, *step.events))
            return decision

        decision = await _update_case(context, case_id, decide)
        fired += len(decision.events) if decision else 0
    return fired


async def refresh_supervisor_queue_size(context: Context) -> None:
    metrics.SUPERVISOR_QUEUE_SIZE.set(await context.repository.supervisor_queue_size())


# --- supervisor commands ----------------------------------------------------------


async def _existing_case(context: Context, case_id: str) -> Case:
    loaded = await context.repository.load_case(case_id)
    if loaded is None:
        raise NotFoundError(f"case {case_id} is unknown to assignment")
    return loaded.case


async def reassign_case(
    context: Context,
    *,
    case_id: str,
    department: str,
    handler: str | None,
    reason: str,
    by: Actor,
) -> Decision:
    """A supervisor moves a case to `department` (and `handler`), with fresh deadlines."""
    if await context.repository.get_department(department) is None:
        raise InvalidRequestError("department", f"unknown department {department!r}")
    if handler is not None:
        found = await context.repository.get_handler(handler)
        if found is None or found.department != department:
            raise InvalidRequestError("handler", f"{handler!r} is not a handler of {department}")
    await _existing_case(context, case_id)

    async def decide(case: Case) -> Decision | None:
        if not case.is_reassignable:
            raise ConflictError(
                f"case {case_id} is {case.status}; it cannot be reassigned", status=case.status
            )
        now = context.clock()
        chosen = handler or await _least_loaded(context, department)
        return reassign(
            case,
            department=department,
            handler=chosen,
            due=_due_dates(context, case, now),
            reason=reason,
            by=by,
            cause=f"{case_id}/reassign/{case.version}",
            now=now,
        )

    decision = await _update_case(context, case_id, decide)
    if decision is None:
        raise NotFoundError(f"case {case_id} is unknown to assignment")
    return decision


async def split_case(context: Context, *, case_id: str, reason: str, by: Actor) -> Decision:
    """A supervisor undoes a wrong merge: CaseSplit, then the case is routed normally."""
    primary = (await _existing_case(context, case_id)).primary_case_id

    async def decide(case: Case) -> Decision | None:
        if case.status != "duplicate" or case.primary_case_id is None:
            raise ConflictError(
                f"case {case_id} is {case.status}, not merged into a primary", status=case.status
            )
        cause = f"{case_id}/split/{case.version}"
        now = context.clock()
        undone = split_event(case, reason=reason, by=by, cause=cause, now=now)
        return await _route(
            context,
            replace(case, status="reported"),
            split=True,
            cause=cause,
            start=now,
            extra_events=(undone,),
        )

    decision = await _update_case(context, case_id, decide)
    if decision is None:
        raise NotFoundError(f"case {case_id} is unknown to assignment")
    if primary:
        await _refresh_cluster(context, primary)
    return decision


# --- admin commands ---------------------------------------------------------------


async def _check_departments(context: Context, field: str, codes: list[str]) -> None:
    for code in codes:
        if await context.repository.get_department(code) is None:
            raise InvalidRequestError(field, f"unknown department {code!r}")


async def put_catalogue_entry(context: Context, entry: CatalogueEntry, *, by: str) -> None:
    """Sets who handles a category (in a district); the next case routes by it."""
    if entry.lead == SUPERVISOR_QUEUE:
        raise InvalidRequestError("lead", "the supervision office is no lead department")
    if entry.lead in entry.co_departments:
        raise InvalidRequestError("co_departments", "the lead department cannot co-handle")
    if len(set(entry.co_departments)) != len(entry.co_departments):
        raise InvalidRequestError("co_departments", "a department is listed twice")
    await _check_departments(context, "lead", [entry.lead])
    await _check_departments(context, "co_departments", list(entry.co_departments))
    await context.repository.put_catalogue_entry(entry, by=by, at=context.clock())


async def remove_catalogue_entry(context: Context, key: str, *, by: str) -> None:
    if not await context.repository.remove_catalogue_entry(key, by=by, at=context.clock()):
        raise NotFoundError(f"no catalogue entry {key}")


async def put_department(context: Context, department: Department, *, by: str) -> None:
    if department.head is not None:
        head = await context.repository.get_handler(department.head)
        if head is None or head.department != department.code:
            raise InvalidRequestError(
                "head", f"{department.head!r} is not a handler of {department.code}"
            )
    await context.repository.put_department(department, by=by, at=context.clock())


async def put_handler(context: Context, handler: Handler, *, by: str) -> None:
    await _check_departments(context, "department", [handler.department])
    await context.repository.put_handler(handler, by=by, at=context.clock())


async def set_on_duty(context: Context, handler_id: str, on_duty: bool, *, by: str) -> Handler:
    found = await context.repository.get_handler(handler_id)
    if found is None:
        raise NotFoundError(f"no handler {handler_id}")
    changed = replace(found, on_duty=on_duty)
    await context.repository.put_handler(changed, by=by, at=context.clock())
    return changed
