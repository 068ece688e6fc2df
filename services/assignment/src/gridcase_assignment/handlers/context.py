"""What every handler shares: its dependencies (`Context`), the errors the API maps, and
the read-decide-store loop that keeps a decision and its events in one write."""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gridcase_assignment import metrics
from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.domain.calendar import WorkingCalendar
from gridcase_assignment.domain.ladder import LadderPolicy
from gridcase_assignment.domain.model import Case, Decision, next_ladder_at
from gridcase_assignment.domain.routing import RoutingTables
from gridcase_assignment.domain.sla import SlaPolicy
from gridcase_assignment.ports import CaseRepository
from gridcase_runtime import metrics as runtime_metrics

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


@dataclass
class RoutingCache:
    """The catalogue and duty roster as last read for routing, reused for
    `routing_tables_max_age_s`; an admin change made through this process drops them."""

    tables: RoutingTables | None = None
    read_at: float = 0.0

    def drop(self) -> None:
        self.tables = None


@dataclass(frozen=True)
class Context:
    repository: CaseRepository
    settings: AssignmentSettings
    sla: SlaPolicy
    calendar: WorkingCalendar
    ladder: LadderPolicy
    notify_outbox: Callable[[], None] = lambda: None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    routing: RoutingCache = field(default_factory=RoutingCache)


Decide = Callable[[Case], Awaitable[Decision | None]]


async def update_case(
    context: Context, case_id: str, decide: Decide, *, event_id: str | None = None
) -> Decision | None:
    """Reads the case, decides, and stores the decision with its events and `event_id`;
    again from the top if the case changed meanwhile. None: unknown case or event seen."""
    for _ in range(SAVE_ATTEMPTS):
        loaded = await context.repository.load_case(case_id)
        if loaded is None:
            return None
        if event_id is not None and event_id in loaded.processed:
            runtime_metrics.EVENTS_REDELIVERED.labels("assignment").inc()
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
            await context.repository.move_workload([(loaded.case, decision.case)])
            if decision.events:
                metrics.DECISION_SECONDS.observe(time.perf_counter() - started)
                metrics.count_emitted(decision.events, category=decision.case.category.value)
                context.notify_outbox()
            return decision
    raise ContendedError(f"case {case_id} kept changing; giving up for now")


async def department_head(context: Context, department: str | None) -> str | None:
    found = await context.repository.get_department(department) if department else None
    return found.head if found else None
