"""The current state of a case, folded from its ledger of events."""

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from pydantic import BaseModel, ConfigDict

from gridcase_contracts.codes import CaseStatus, Category, District, Measure, Severity, Stage
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import (
    CaseAccepted,
    CaseAssigned,
    CaseClosed,
    CaseConfirmed,
    CaseEscalated,
    CaseMarkedDuplicate,
    CaseOverdue,
    CaseReassigned,
    CaseRejected,
    CaseReopened,
    CaseReported,
    CaseResolved,
    CaseReturned,
    CaseSplit,
    CaseVerified,
    ProgressRecorded,
    RectificationOrdered,
    StageDue,
)
from gridcase_remediation.domain.lifecycle import ACTION_OF_EVENT, next_status

ACTIVE_STATUSES = frozenset(
    {
        CaseStatus.ASSIGNED,
        CaseStatus.ACCEPTED,
        CaseStatus.IN_REMEDIATION,
        CaseStatus.RESOLVED,
        CaseStatus.REOPENED,
    }
)
"""Statuses in which a department's clock runs."""


class Rectification(BaseModel):
    model_config = ConfigDict(frozen=True)

    measure: Measure
    deadline: datetime
    responsible_party: str


class Satisfaction(BaseModel):
    model_config = ConfigDict(frozen=True)

    satisfied: bool
    rating: int | None
    by: str


class Case(BaseModel):
    """The projection of one case; `apply` is the only way it changes."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    status: CaseStatus | None = None
    category: Category | None = None
    severity: Severity | None = None
    district: District | None = None
    community: str | None = None
    reporter_id: str | None = None
    reported_at: datetime | None = None
    updated_at: datetime | None = None
    department: str | None = None
    co_departments: tuple[str, ...] = ()
    handler: str | None = None
    due: dict[Stage, datetime] = {}
    done: tuple[Stage, ...] = ()
    """Stages finished since the department's clock (re)started."""
    overdue: dict[Stage, datetime] = {}
    """Stage -> the due date CaseOverdue was raised for (once per stage and due date)."""
    escalation_level: int | None = None
    escalated_stage: Stage | None = None
    rectification: Rectification | None = None
    accepted_by: str | None = None
    resolved_by: str | None = None
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    verified_at: datetime | None = None
    closed_at: datetime | None = None
    duplicate_of: str | None = None
    returns: int = 0
    reopens: int = 0
    satisfaction: Satisfaction | None = None
    anomalies: tuple[str, ...] = ()
    """Events kept in the ledger that the lifecycle table did not allow when they arrived."""

    def open_stages(self) -> list[Stage]:
        """Stages whose clock runs now."""
        if self.status not in ACTIVE_STATUSES:
            return []
        return [
            stage
            for stage in Stage
            if stage in self.due
            and stage not in self.done
            and (stage == Stage.VERIFY) == (self.status == CaseStatus.RESOLVED)
        ]

    def overdue_stages(self) -> list[Stage]:
        """Open stages flagged overdue for their current due date."""
        return [s for s in self.open_stages() if self.overdue.get(s) == self.due[s]]

    def stages_due_by(self, now: datetime) -> list[Stage]:
        """Open stages past their due date that were not flagged for it yet."""
        return [
            s
            for s in self.open_stages()
            if self.due[s] <= now and self.overdue.get(s) != self.due[s]
        ]

    def next_due_at(self) -> datetime | None:
        """When the next stage will become overdue (the SLA timer's index)."""
        pending = [self.due[s] for s in self.open_stages() if self.overdue.get(s) != self.due[s]]
        return min(pending, default=None)

    @property
    def escalated(self) -> bool:
        return self.escalated_stage is not None and self.escalated_stage in self.open_stages()

    def may_read(self, department: str) -> bool:
        """The lead department and the co-handling ones may read the case."""
        return department == self.department or department in self.co_departments

    def leads(self, department: str) -> bool:
        """Only the lead (current) department acts on the case."""
        return department == self.department


class CaseChanges(TypedDict, total=False):
    """What an event may change in a `Case` besides status and updated_at; typed so that a
    misspelled field or a wrong value type is a type error (model_copy validates nothing)."""

    category: Category
    severity: Severity
    district: District
    community: str | None
    reporter_id: str
    reported_at: datetime
    department: str
    co_departments: tuple[str, ...]
    handler: str | None
    due: dict[Stage, datetime]
    done: tuple[Stage, ...]
    overdue: dict[Stage, datetime]
    escalation_level: int
    escalated_stage: Stage
    rectification: Rectification | None
    accepted_by: str
    accepted_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    verified_at: datetime
    closed_at: datetime
    duplicate_of: str | None
    returns: int
    reopens: int
    satisfaction: Satisfaction


def apply(case: Case, event: Envelope) -> Case:
    """The case after `event`. An event the table does not allow in the current status is
    kept as an anomaly and changes nothing else: the ledger stays complete either way."""
    status = next_status(case.status, ACTION_OF_EVENT[event.event_type])
    if status is None:
        note = f"{event.event_type} {event.event_id} in {case.status or 'none'}"
        return case.model_copy(update={"anomalies": (*case.anomalies, note)})
    changes = _effects(event, case)
    return case.model_copy(update={**changes, "status": status, "updated_at": event.occurred_at})


def fold(case_id: str, events: Iterable[Envelope]) -> Case:
    """The projection rebuilt from a ledger, oldest event first."""
    case = Case(case_id=case_id)
    for event in events:
        case = apply(case, event)
    return case


def _with_done(case: Case, *stages: Stage) -> tuple[Stage, ...]:
    finished = set(case.done) | set(stages)
    return tuple(s for s in Stage if s in finished)


def _without_done(case: Case, *stages: Stage) -> tuple[Stage, ...]:
    return tuple(s for s in case.done if s not in stages)


def _due(stage_due: StageDue, rectification: datetime | None) -> dict[Stage, datetime]:
    due = {
        Stage.ACCEPT: stage_due.accept,
        Stage.FIRST_RESPONSE: stage_due.first_response,
        Stage.RESOLVE: stage_due.resolve,
        Stage.VERIFY: stage_due.verify,
    }
    if rectification is not None:
        due[Stage.RECTIFICATION] = rectification
    return due


@functools.singledispatch
def _effects(event: Envelope, case: Case) -> CaseChanges:
    """What an allowed event changes besides status and updated_at (one function an event
    class, registered below)."""
    raise TypeError(f"no effects for {event.event_type}")  # pragma: no cover


@_effects.register
def _reported(event: CaseReported, _case: Case) -> CaseChanges:
    p = event.payload
    return {
        "category": p.category,
        "severity": p.severity,
        "district": p.location.district,
        "community": p.location.community,
        "reporter_id": p.reporter.reporter_id,
        "reported_at": event.occurred_at,
    }


@_effects.register
def _assigned(event: CaseAssigned, case: Case) -> CaseChanges:
    p = event.payload
    if p.reason == "reopen":
        kept = case.rectification.deadline if case.rectification else None
        return {"handler": p.handler or case.handler, "due": _due(p.due, kept)}
    return {
        "department": p.department,
        "co_departments": tuple(p.co_departments),
        "handler": p.handler,
        "due": _due(p.due, None),
        "done": (),
        "rectification": None,
        "returns": p.returns,
        "duplicate_of": None,
    }


@_effects.register
def _reassigned(event: CaseReassigned, _case: Case) -> CaseChanges:
    p = event.payload
    changes: CaseChanges = {
        "department": p.department,
        "co_departments": (),
        "handler": None if p.supervisor_queue else p.handler,
        "done": (),
        "rectification": None,
    }
    if p.due is not None:
        changes["due"] = _due(p.due, None)
    return changes


@_effects.register
def _marked_duplicate(event: CaseMarkedDuplicate, _case: Case) -> CaseChanges:
    return {"duplicate_of": event.payload.primary_case_id}


@_effects.register
def _split(_event: CaseSplit, _case: Case) -> CaseChanges:
    return {"duplicate_of": None}


@_effects.register
def _escalated(event: CaseEscalated, _case: Case) -> CaseChanges:
    return {"escalation_level": event.payload.level, "escalated_stage": event.payload.stage}


@_effects.register
def _accepted(event: CaseAccepted, case: Case) -> CaseChanges:
    by = event.payload.by.actor_id
    return {
        "done": _with_done(case, Stage.ACCEPT),
        "accepted_by": by,
        "accepted_at": event.occurred_at,
        "handler": case.handler or by,
    }


@_effects.register
def _rectification_ordered(event: RectificationOrdered, case: Case) -> CaseChanges:
    p = event.payload
    done = _with_done(case, Stage.FIRST_RESPONSE)
    return {
        "done": tuple(s for s in done if s != Stage.RECTIFICATION),
        "rectification": Rectification(
            measure=p.measure, deadline=p.deadline, responsible_party=p.responsible_party
        ),
        "due": {**case.due, Stage.RECTIFICATION: p.deadline},
    }


@_effects.register
def _progress_recorded(_event: ProgressRecorded, case: Case) -> CaseChanges:
    return {"done": _with_done(case, Stage.FIRST_RESPONSE)}


@_effects.register
def _resolved(event: CaseResolved, case: Case) -> CaseChanges:
    worked = (Stage.ACCEPT, Stage.FIRST_RESPONSE, Stage.RESOLVE, Stage.RECTIFICATION)
    return {
        "done": _with_done(case, *worked),
        "resolved_by": event.payload.by.actor_id,
        "resolved_at": event.occurred_at,
    }


@_effects.register
def _verified(event: CaseVerified, case: Case) -> CaseChanges:
    return {"done": _with_done(case, Stage.VERIFY), "verified_at": event.occurred_at}


@_effects.register
def _reopened(_event: CaseReopened, case: Case) -> CaseChanges:
    return {
        "done": _without_done(case, Stage.RESOLVE, Stage.VERIFY, Stage.RECTIFICATION),
        "reopens": case.reopens + 1,
        "resolved_by": None,
        "resolved_at": None,
    }


@_effects.register
def _closed(event: CaseClosed, _case: Case) -> CaseChanges:
    return {"closed_at": event.occurred_at}


@_effects.register(CaseRejected)
@_effects.register(CaseReturned)
def _status_only(_event: Envelope, _case: Case) -> CaseChanges:
    return {}


@_effects.register
def _overdue(event: CaseOverdue, case: Case) -> CaseChanges:
    return {"overdue": {**case.overdue, event.payload.stage: event.payload.due_at}}


@_effects.register
def _confirmed(event: CaseConfirmed, _case: Case) -> CaseChanges:
    p = event.payload
    return {"satisfaction": Satisfaction(satisfied=p.satisfied, rating=p.rating, by=p.by.actor_id)}
