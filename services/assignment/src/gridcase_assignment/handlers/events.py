"""The consumed case events. Each handler is idempotent: the id of the handled event is
stored in the same write as the decision and its outbox events, and a case read with that
id is left alone."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from gridcase_assignment import metrics
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
from gridcase_assignment.domain.routing import next_candidate, route_for
from gridcase_assignment.handlers.context import Context, department_head, update_case
from gridcase_assignment.handlers.routing import (
    assigned,
    due_dates,
    duplicate_of_open_case,
    least_loaded,
    near_cells,
    refresh_cluster,
    routing_tables,
)
from gridcase_contracts.codes import SUPERVISOR_QUEUE, Service
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
    """A new case: merged into an open case nearby, or routed by the catalogue. A redelivery
    keeps the decision stored first but refreshes the primary's cluster again: the refresh
    is a write of its own, and a crash may have come between the merge and the refresh."""
    case = await _decide_reported(event, context)
    if case.primary_case_id:
        await refresh_cluster(context, case.primary_case_id)


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
        near_cells=near_cells(payload.location.lat, payload.location.lon, context),
        correlation_id=event.correlation_id or str(event.event_id),
    )
    cause = str(event.event_id)
    # The nearby cases and the lead department's workload are read at once: one round
    # trip instead of two, though the workload goes unused when the case is merged.
    route = route_for((await routing_tables(context)).catalogue, case.category, case.district)
    duplicate, handler = await asyncio.gather(
        duplicate_of_open_case(context, case, cause=cause), least_loaded(context, route.lead)
    )
    decision = duplicate or assigned(
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
    runtime_metrics.EVENTS_REDELIVERED.labels("assignment").inc()
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
