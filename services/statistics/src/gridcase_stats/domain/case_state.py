"""One case's whole statistical state, and how each event changes it.

The state carries the ids of the events already applied, so applying an event twice (a
redelivery after a crash or rebalance) changes nothing: the dedupe record and the figures'
source live in one value and are written together."""

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from gridcase_contracts import events
from gridcase_contracts.codes import FINAL_STATUSES, CaseStatus, Stage
from gridcase_contracts.events import CaseEvent

UNKNOWN = "unknown"
"""Dimension value of a case whose CaseReported this service has not seen."""

RESOLVED_STATUSES = frozenset({CaseStatus.RESOLVED, CaseStatus.VERIFIED, CaseStatus.CLOSED})
"""Statuses in which a case counts as resolved (化解); a reopened case does not."""


@dataclass
class CaseState:
    """Times are UTC epoch seconds; lists keep (stage or level, time) pairs."""

    case_id: str
    status: str | None = None
    category: str = UNKNOWN
    district: str = UNKNOWN
    department: str = UNKNOWN
    team: str | None = None
    reporter: str | None = None
    reported_at: float | None = None
    first_assigned_at: float | None = None
    accepted_at: float | None = None
    first_response_at: float | None = None
    first_resolved_at: float | None = None
    resolved_at: float | None = None
    verification_at: float | None = None
    """When verification first ended, verified or reopened."""
    verified_at: float | None = None
    closed_at: float | None = None
    rejected_at: float | None = None
    duplicate_at: float | None = None
    due: dict[str, float] = field(default_factory=dict)
    returns: list[float] = field(default_factory=list)
    reopens: list[float] = field(default_factory=list)
    overdue: list[tuple[str, float]] = field(default_factory=list)
    escalations: list[tuple[int, float]] = field(default_factory=list)
    satisfied: bool | None = None
    event_ids: list[str] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status is not None and self.status not in FINAL_STATUSES

    @property
    def is_resolved(self) -> bool:
        return self.status in RESOLVED_STATUSES and self.resolved_at is not None

    def stage_completed_at(self, stage: str) -> float | None:
        """When the stage's work was done, if it was."""
        return {
            Stage.ACCEPT: self.accepted_at,
            Stage.FIRST_RESPONSE: self.first_response_at,
            Stage.RECTIFICATION: self.first_resolved_at,
            Stage.RESOLVE: self.first_resolved_at,
            Stage.VERIFY: self.verification_at,
        }[Stage(stage)]

    def overdue_stages(self) -> set[str]:
        return {stage for stage, _ in self.overdue}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> "CaseState":
        state = cls(**value)
        state.overdue = [(str(stage), float(at)) for stage, at in state.overdue]
        state.escalations = [(int(level), float(at)) for level, at in state.escalations]
        return state


def load_states(values: Iterable[dict[str, Any]]) -> list[CaseState]:
    """The states of stored values (`CaseState.to_json` form)."""
    return [CaseState.from_json(value) for value in values]


def apply(state: CaseState | None, event: CaseEvent) -> CaseState | None:
    """The case's state after `event`; None if the event was applied before."""
    event_id = str(event.event_id)
    if state is None:
        state = CaseState(case_id=event.case_id)
    elif event_id in state.event_ids:
        return None
    state = CaseState.from_json(state.to_json())
    state.event_ids.append(event_id)
    _change(state, event, event.occurred_at.timestamp())
    return state


def _first(current: float | None, at: float) -> float:
    return at if current is None else current


def _change(state: CaseState, event: CaseEvent, at: float) -> None:
    match event:
        case events.CaseReported(payload=report):
            state.category = report.category.value
            state.district = report.location.district.value
            state.team = report.team
            state.reporter = report.reporter.reporter_id
            state.reported_at = at
            state.status = state.status or CaseStatus.REPORTED.value
        case events.CaseAssigned(payload=assigned):
            state.department = assigned.department
            state.first_assigned_at = _first(state.first_assigned_at, at)
            state.due.update(
                {stage: due.timestamp() for stage, due in assigned.due.model_dump().items()}
            )
            if assigned.reason != "reopen":
                state.status = CaseStatus.ASSIGNED.value
        case events.CaseReassigned(payload=reassigned):
            state.department = reassigned.department
            state.first_assigned_at = _first(state.first_assigned_at, at)
            if reassigned.due is not None:
                state.due.update(
                    {stage: due.timestamp() for stage, due in reassigned.due.model_dump().items()}
                )
            state.status = CaseStatus.ASSIGNED.value
        case events.CaseAccepted():
            state.accepted_at = _first(state.accepted_at, at)
            state.status = CaseStatus.ACCEPTED.value
        case events.RectificationOrdered(payload=order):
            state.due[Stage.RECTIFICATION.value] = order.deadline.timestamp()
            state.first_response_at = _first(state.first_response_at, at)
            state.status = CaseStatus.IN_REMEDIATION.value
        case events.ProgressRecorded():
            state.first_response_at = _first(state.first_response_at, at)
            state.status = CaseStatus.IN_REMEDIATION.value
        case events.CaseResolved():
            state.first_resolved_at = _first(state.first_resolved_at, at)
            state.resolved_at = at
            state.status = CaseStatus.RESOLVED.value
        case events.CaseVerified():
            state.verification_at = _first(state.verification_at, at)
            state.verified_at = at
            state.status = CaseStatus.VERIFIED.value
        case events.CaseReopened():
            state.verification_at = _first(state.verification_at, at)
            state.reopens.append(at)
            state.status = CaseStatus.REOPENED.value
        case events.CaseClosed():
            state.closed_at = at
            state.status = CaseStatus.CLOSED.value
        case events.CaseRejected():
            state.rejected_at = at
            state.status = CaseStatus.REJECTED.value
        case events.CaseReturned():
            state.returns.append(at)
            state.status = CaseStatus.RETURNED.value
        case events.CaseMarkedDuplicate():
            state.duplicate_at = at
            state.status = CaseStatus.DUPLICATE.value
        case events.CaseSplit():
            state.duplicate_at = None
            state.status = CaseStatus.REPORTED.value
        case events.CaseOverdue(payload=overdue):
            state.overdue.append((overdue.stage.value, at))
        case events.CaseEscalated(payload=escalated):
            state.escalations.append((escalated.level, at))
        case events.CaseConfirmed(payload=confirmed):
            state.satisfied = confirmed.satisfied
