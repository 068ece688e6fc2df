"""The consumed case events. Each handler is idempotent: the id of the handled event is
stored in the same write as the decision and its outbox events, and a case read with that
id is left alone."""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from gridcase_assignment import metrics
from gridcase_assignment.domain.duplicates import NearbyCase
from gridcase_assignment.domain.model import (
    LIFECYCLE,
    SYSTEM_ACTOR,
    Case,
    Decision,
    assign,
    escalate,
    finish_stages,
    open_ladder,
    reassign,
    returned,
)
from gridcase_assignment.domain.routing import choose_handler, next_candidate, route_for
from gridcase_assignment.handlers.context import Context, department_head, update_case
from gridcase_assignment.handlers.routing import (
    assigned,
    cell_of,
    due_dates,
    duplicate_of_open_case,
    least_loaded,
    near_cells,
    nearby_open_cases,
    refresh_cluster,
    routing_tables,
)
from gridcase_assignment.ports import NewCase
from gridcase_contracts.codes import SUPERVISOR_QUEUE, Category, Service
from gridcase_contracts.events import (
    CaseEvent,
    CaseOverdue,
    CaseReopened,
    CaseReported,
    CaseReturned,
)
from gridcase_runtime import metrics as runtime_metrics
from gridcase_runtime.batches import per_case


async def case_reported(event: CaseReported, context: Context) -> None:
    """A new case: merged into an open case nearby, or routed by the catalogue."""
    await route_reports([event], context)


def _new_case(event: CaseReported, context: Context) -> Case:
    payload = event.payload
    return Case(
        case_id=event.case_id,
        category=payload.category,
        severity=payload.severity,
        district=payload.location.district,
        reported_at=event.occurred_at,
        lat=payload.location.lat,
        lon=payload.location.lon,
        near_cells=near_cells(payload.location.lat, payload.location.lon, context),
        correlation_id=event.correlation_id or str(event.event_id),
    )


async def route_reports(reports: Sequence[CaseReported], context: Context) -> None:
    """Routes the new cases of `reports` (one report each) in their order, each merged
    into an open case nearby or routed by the catalogue. The stored open cases near each
    (at most CASES_AT_ONCE reads at a time) and the workload of the lead departments'
    handlers (one read) are read first; each decision then sees the cases and the
    workload the previous ones left; the cases are stored in unordered inserts, the
    counters in unordered updates.

    A case stored before (a redelivery) keeps its decision, and a case merged into such
    a one is decided again against what is stored. The primary of every merged case has
    its cluster refreshed, on a redelivery too: that is a write of its own, and a crash
    may have come between the merge and the refresh."""
    started = time.perf_counter()
    tables = await routing_tables(context)
    cases = [_new_case(event, context) for event in reports]
    routes = [route_for(tables.catalogue, case.category, case.district) for case in cases]
    on_duty = sorted({handler for route in routes for handler in tables.on_duty_in(route.lead)})
    loads, stored_nearby = await asyncio.gather(
        context.repository.least_loaded(on_duty),
        per_case(cases, lambda case: case.case_id, lambda own: nearby_open_cases(context, own[0])),
    )
    workload = {load.handler_id: load for load in loads}
    decided_nearby: dict[tuple[Category, str], list[NearbyCase]] = {}
    merged_here: Counter[str] = Counter()
    decisions: list[Decision] = []
    for event, case, route, nearby in zip(reports, cases, routes, stored_nearby, strict=True):
        cause = str(event.event_id)
        decided = decided_nearby.get((case.category, cell_of(context, case) or ""), [])
        decision = await duplicate_of_open_case(
            context, case, [*nearby, *decided], merged_here=merged_here, cause=cause
        )
        if decision is not None:
            merged_here[decision.case.primary_case_id or ""] += 1
        else:
            handler = choose_handler(workload[h] for h in tables.on_duty_in(route.lead))
            decision = assigned(context, case, route, handler, cause=cause, start=event.occurred_at)
            if handler is not None:
                workload[handler] = replace(
                    workload[handler],
                    open_cases=workload[handler].open_cases + 1,
                    last_assigned_at=decision.case.assigned_at,
                )
            if case.lat is not None and case.lon is not None:
                for near in case.near_cells:
                    decided_nearby.setdefault((case.category, near), []).append(
                        NearbyCase(case.case_id, case.lat, case.lon, case.reported_at)
                    )
        decisions.append(decision)
    new_cases = [
        NewCase(decision.case, decision.events, str(event.event_id))
        for decision, event in zip(decisions, reports, strict=True)
    ]
    ids = {case.case_id for case in cases}
    inserted = await context.repository.insert_cases(
        [new for new in new_cases if new.case.primary_case_id not in ids]
    )
    merged_into_batch = [new for new in new_cases if new.case.primary_case_id in ids]
    inserted |= await context.repository.insert_cases(
        [new for new in merged_into_batch if new.case.primary_case_id in inserted]
    )
    again = {
        new.case.case_id for new in merged_into_batch if new.case.primary_case_id not in inserted
    }
    stored = [new.case for new in new_cases if new.case.case_id in inserted]
    await context.repository.move_workload([(None, case) for case in stored])
    elapsed = time.perf_counter() - started
    for new in new_cases:
        if new.case.case_id in inserted:
            metrics.DECISION_SECONDS.observe(elapsed)
            metrics.count_emitted(new.events, category=new.case.category.value)
    if inserted:
        context.notify_outbox()
    kept = [case.case_id for case in cases if case.case_id not in inserted | again]
    runtime_metrics.EVENTS_REDELIVERED.labels("assignment").inc(len(kept))
    loaded = await per_case(kept, str, lambda own: context.repository.load_case(own[0]))
    merged = [*stored, *(one.case for one in loaded if one is not None)]
    primaries = sorted({case.primary_case_id for case in merged if case.primary_case_id})
    await per_case(primaries, str, lambda own: refresh_cluster(context, own[0]))
    if again:
        await route_reports([event for event in reports if event.case_id in again], context)


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
            handler=await least_loaded(context, following),
            due=due_dates(context, case, event.occurred_at),
            reason="return-reroute",
            cause=str(event.event_id),
            now=context.clock(),
        )

    if await update_case(context, event.case_id, decide, event_id=str(event.event_id)):
        metrics.RETURNS.labels(event.payload.department).inc()


async def case_reopened(event: CaseReopened, context: Context) -> None:
    """Verification failed: same department, fresh deadlines, the handler if still on duty."""

    async def decide(case: Case) -> Decision | None:
        if case.department is None or case.is_final:
            return None
        on_duty = (await routing_tables(context)).on_duty_in(case.department)
        return assign(
            case,
            department=case.department,
            co_departments=case.co_departments,
            handler=case.handler
            if case.handler in on_duty
            else await least_loaded(context, case.department),
            due=due_dates(context, case, event.occurred_at),
            reason="reopen",
            cause=str(event.event_id),
            now=context.clock(),
        )

    await update_case(context, event.case_id, decide, event_id=str(event.event_id))


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
            department_head=await department_head(context, case.department),
            now=max(context.clock(), event.occurred_at),
        )

    await update_case(context, event.case_id, decide, event_id=str(event.event_id))


async def lifecycle_event(event: CaseEvent, context: Context) -> None:
    """Follows the status (for workload) and stops the ladders of completed stages."""
    status, stages = LIFECYCLE[event.event_type]

    async def decide(case: Case) -> Decision | None:
        return Decision(finish_stages(case, stages, status=status))

    await update_case(context, event.case_id, decide, event_id=str(event.event_id))


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
    """Handles a consumed batch: the cases whose only event is their report routed
    together (see `route_reports`), then the other cases, several at once and each case's
    events in their order. Their routing decisions are taken one at a time: each must see
    the workload and the open cases that the previous one left."""
    handled: dict[str, list[CaseEvent]] = {}
    for event in events:
        if event.producer != Service.ASSIGNMENT and event.event_type in EVENT_HANDLERS:
            handled.setdefault(event.case_id, []).append(event)
    reports = [
        own[0] for own in handled.values() if len(own) == 1 and isinstance(own[0], CaseReported)
    ]
    if reports:
        await route_reports(reports, context)
    routed = {report.case_id for report in reports}
    routing = asyncio.Lock()

    async def handle_case(case_events: list[CaseEvent]) -> None:
        for event in case_events:
            if event.event_type in ROUTING_EVENTS:
                async with routing:
                    await handle_event(event, context)
            else:
                await handle_event(event, context)

    await per_case(
        [event for event in events if event.case_id not in routed],
        lambda event: event.case_id,
        handle_case,
    )
