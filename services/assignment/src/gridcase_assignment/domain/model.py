"""A case as assignment sees it, and the decisions that change it and emit events.

Every decision is a pure function of the case, its inputs and `now`; the events it emits
get ids derived from their cause, so the same decision always yields the same events."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from gridcase_assignment.domain.ladder import TARGETS, LadderPolicy, StageLadder
from gridcase_contracts.codes import (
    FINAL_STATUSES,
    REASSIGNABLE_STATUSES,
    SUPERVISOR_QUEUE,
    Category,
    District,
    Severity,
    Stage,
)
from gridcase_contracts.envelope import Contract, Envelope
from gridcase_contracts.events import (
    Actor,
    CaseAssigned,
    CaseAssignedPayload,
    CaseEscalated,
    CaseEscalatedPayload,
    CaseMarkedDuplicate,
    CaseMarkedDuplicatePayload,
    CaseReassigned,
    CaseReassignedPayload,
    CaseSplit,
    CaseSplitPayload,
    StageDue,
    new_event,
)

AssignReason = Literal["catalogue", "fallback", "return-reroute", "reopen", "split"]

WORKLOAD_STATUSES = ("assigned", "accepted", "in_remediation", "reopened")
"""A handler's open workload: their cases in these statuses."""
SETTLED_STATUSES = tuple(sorted({"resolved", "verified", *(s.value for s in FINAL_STATUSES)}))
"""Cases no longer being worked: never a duplicate's primary."""

ALL_STAGES = tuple(Stage)

SYSTEM_ACTOR = Actor(actor_id="gridcase-assignment", role="system")
EVENT_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:gridcase:assignment")


def event_id_for(cause: str, event_type: str) -> UUID:
    """The id of the `event_type` event caused by `cause`: same cause, same id."""
    return uuid5(EVENT_ID_NAMESPACE, f"{cause}/{event_type}")


@dataclass(frozen=True)
class Case:
    case_id: str
    category: Category
    severity: Severity
    district: District
    reported_at: datetime
    lat: float | None = None
    lon: float | None = None
    near_cells: tuple[str, ...] = ()
    """The grid cells within the duplicate radius, by which later reports find this case."""
    correlation_id: str | None = None
    status: str = "reported"
    department: str | None = None
    co_departments: tuple[str, ...] = ()
    handler: str | None = None
    candidates: tuple[str, ...] = ()
    tried: tuple[str, ...] = ()
    returns: int = 0
    due: StageDue | None = None
    priority: int = 0
    primary_case_id: str | None = None
    cluster_size: int = 1
    assigned_at: datetime | None = None
    ladders: Mapping[Stage, StageLadder] = field(default_factory=dict)
    version: int = 0

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_reassignable(self) -> bool:
        return self.status in REASSIGNABLE_STATUSES


@dataclass(frozen=True)
class Decision:
    """The case after a decision and the events that announce it."""

    case: Case
    events: tuple[Envelope, ...] = ()


E = TypeVar("E", bound=Envelope)


def _event(cls: type[E], case: Case, payload: Contract, *, cause: str, now: datetime) -> E:
    return new_event(
        cls,
        case_id=case.case_id,
        payload=payload,
        occurred_at=now,
        correlation_id=case.correlation_id,
        causation_id=cause,
        event_id=event_id_for(cause, cls.__name__),
    )


def assign(
    case: Case,
    *,
    department: str,
    co_departments: tuple[str, ...],
    handler: str | None,
    due: StageDue,
    reason: AssignReason,
    cause: str,
    now: datetime,
    extra_events: tuple[Envelope, ...] = (),
) -> Decision:
    """Routes the case to `department` (and `handler`, None: the department queue)."""
    assigned = replace(
        case,
        status="reopened" if reason == "reopen" else "assigned",
        department=department,
        co_departments=co_departments,
        handler=handler,
        tried=tuple(dict.fromkeys((*case.tried, department))),
        due=due,
        primary_case_id=None,
        assigned_at=now,
        ladders={},
    )
    event = _event(
        CaseAssigned,
        assigned,
        CaseAssignedPayload(
            department=department,
            co_departments=list(co_departments),
            handler=handler,
            due=due,
            priority=case.priority,
            reason=reason,
            returns=case.returns,
        ),
        cause=cause,
        now=now,
    )
    return Decision(assigned, (*extra_events, event))


def mark_duplicate(
    case: Case,
    *,
    primary_case_id: str,
    distance_m: float,
    cluster_size: int,
    primary_priority: int,
    cause: str,
    now: datetime,
) -> Decision:
    merged = replace(case, status="duplicate", primary_case_id=primary_case_id)
    event = _event(
        CaseMarkedDuplicate,
        merged,
        CaseMarkedDuplicatePayload(
            primary_case_id=primary_case_id,
            distance_m=round(distance_m, 2),
            cluster_size=cluster_size,
            primary_priority=primary_priority,
        ),
        cause=cause,
        now=now,
    )
    return Decision(merged, (event,))


def returned(case: Case, *, department: str) -> Case:
    """The case after `department` returned it: counted, and that department is tried."""
    return replace(
        case,
        status="returned",
        returns=case.returns + 1,
        tried=tuple(dict.fromkeys((*case.tried, department))),
        handler=None,
    )


def reassign(
    case: Case,
    *,
    department: str,
    handler: str | None,
    due: StageDue | None,
    reason: str,
    by: Actor,
    cause: str,
    now: datetime,
) -> Decision:
    """Moves the case to `department`; the supervision office is the supervisor queue,
    where the ladders stop: nobody there to remind until a supervisor routes the case."""
    to_queue = department == SUPERVISOR_QUEUE
    moved = replace(
        case,
        status="assigned",
        department=department,
        co_departments=(),
        handler=None if to_queue else handler,
        tried=tuple(dict.fromkeys((*case.tried, department))),
        due=due or case.due,
        assigned_at=now,
        ladders=finish_stages(case, ALL_STAGES).ladders if to_queue else {},
    )
    event = _event(
        CaseReassigned,
        moved,
        CaseReassignedPayload(
            from_department=case.department,
            department=department,
            handler=moved.handler,
            due=due,
            reason=reason[:500],
            by=by,
            supervisor_queue=to_queue,
        ),
        cause=cause,
        now=now,
    )
    return Decision(moved, (event,))


def split_event(case: Case, *, reason: str, by: Actor, cause: str, now: datetime) -> CaseSplit:
    """Announces that a supervisor undid the case's merge into its primary."""
    if case.primary_case_id is None:
        raise ValueError(f"case {case.case_id} is not merged into a primary")
    return _event(
        CaseSplit,
        case,
        CaseSplitPayload(primary_case_id=case.primary_case_id, reason=reason, by=by),
        cause=cause,
        now=now,
    )


def escalate(
    case: Case,
    stage: Stage,
    *,
    policy: LadderPolicy,
    department_head: str | None,
    now: datetime,
) -> Decision:
    """Fires the levels of `stage`'s ladder that are due at `now`, each once."""
    ladder = case.ladders.get(stage)
    if ladder is None:
        return Decision(case)
    levels = ladder.levels_due(now, policy)
    if not levels:
        return Decision(case)
    department = case.department or SUPERVISOR_QUEUE
    events = []
    for level in levels:
        target = TARGETS[level]
        addressee = {1: case.handler, 2: department_head, 3: None}[level]
        events.append(
            _event(
                CaseEscalated,
                case,
                CaseEscalatedPayload(
                    level=level,
                    stage=stage,
                    target=target,
                    department=department,
                    handler=addressee,
                    notice=(
                        f"Case {case.case_id}: stage {stage.value} overdue since "
                        f"{ladder.due_at.isoformat()}; level {level} to {target}"
                        f"{f' {addressee}' if addressee else f' of {department}'}"
                    ),
                ),
                cause=f"{case.case_id}/ladder/{stage.value}/{ladder.due_at.isoformat()}/{level}",
                now=now,
            )
        )
    ladders = {**case.ladders, stage: ladder.fire(levels)}
    return Decision(replace(case, ladders=ladders), tuple(events))


def open_ladder(case: Case, stage: Stage, *, due_at: datetime, overdue_at: datetime) -> Case:
    """Starts `stage`'s ladder, unless it already has one (a stage escalates once) or the
    case waits in the supervisor queue."""
    if stage in case.ladders or case.is_final or case.department == SUPERVISOR_QUEUE:
        return case
    ladder = StageLadder(stage=stage, due_at=due_at, overdue_at=overdue_at)
    return replace(case, ladders={**case.ladders, stage: ladder})


def finish_stages(case: Case, stages: tuple[Stage, ...], *, status: str | None = None) -> Case:
    """Stops the ladders of completed `stages`, and moves the case to `status`."""
    ladders = {
        stage: ladder.finish() if stage in stages else ladder
        for stage, ladder in case.ladders.items()
    }
    return replace(case, ladders=ladders, status=status or case.status)


def next_ladder_at(case: Case, policy: LadderPolicy) -> datetime | None:
    """When the timer must next look at this case."""
    times = [t for ladder in case.ladders.values() if (t := ladder.next_at(policy))]
    return min(times, default=None)


LIFECYCLE: Mapping[str, tuple[str, tuple[Stage, ...]]] = {
    "CaseAccepted": ("accepted", (Stage.ACCEPT,)),
    "RectificationOrdered": ("in_remediation", (Stage.ACCEPT, Stage.FIRST_RESPONSE)),
    "ProgressRecorded": ("in_remediation", (Stage.ACCEPT, Stage.FIRST_RESPONSE)),
    "CaseResolved": (
        "resolved",
        (Stage.ACCEPT, Stage.FIRST_RESPONSE, Stage.RECTIFICATION, Stage.RESOLVE),
    ),
    "CaseVerified": ("verified", ALL_STAGES),
    "CaseClosed": ("closed", ALL_STAGES),
    "CaseRejected": ("rejected", ALL_STAGES),
}
"""Lifecycle events assignment follows: the status they lead to, the stages they complete."""


def workload_moves(
    moves: Sequence[tuple[Case | None, Case]],
) -> tuple[dict[str, int], dict[str, datetime]]:
    """How stored decisions (each case before and after) move open cases between the
    handlers' counters: the change of each counter, and the latest assignment of each
    handler that gained a case."""
    changes: dict[str, int] = {}
    latest: dict[str, datetime] = {}
    for before, after in moves:
        was, now = _workload_holder(before), _workload_holder(after)
        if was == now:
            continue
        if was is not None:
            changes[was] = changes.get(was, 0) - 1
        if now is not None:
            changes[now] = changes.get(now, 0) + 1
            if after.assigned_at is not None:
                latest[now] = max(latest.get(now, after.assigned_at), after.assigned_at)
    return changes, latest


def _workload_holder(case: Case | None) -> str | None:
    """The handler whose open workload `case` counts in, if any."""
    if case is None or case.handler is None or case.status not in WORKLOAD_STATUSES:
        return None
    return case.handler
