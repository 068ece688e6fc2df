"""Case lifecycles as events, one builder an event: for the statistics and remediation tests,
the adapters' contract tests and the fuzzing of the APIs."""

from datetime import datetime, timedelta
from typing import Any

from factories import case_reported
from gridcase_contracts.codes import Category, District, Measure, Stage
from gridcase_contracts.envelope import Contract, Envelope
from gridcase_contracts.events import (
    Actor,
    CaseAccepted,
    CaseAcceptedPayload,
    CaseAssigned,
    CaseAssignedPayload,
    CaseClosed,
    CaseClosedPayload,
    CaseConfirmed,
    CaseConfirmedPayload,
    CaseEscalated,
    CaseEscalatedPayload,
    CaseMarkedDuplicate,
    CaseMarkedDuplicatePayload,
    CaseOverdue,
    CaseOverduePayload,
    CaseReassigned,
    CaseReassignedPayload,
    CaseRejected,
    CaseRejectedPayload,
    CaseReopened,
    CaseReopenedPayload,
    CaseResolved,
    CaseResolvedPayload,
    CaseReturned,
    CaseReturnedPayload,
    CaseSplit,
    CaseSplitPayload,
    CaseVerified,
    CaseVerifiedPayload,
    PhotoRef,
    ProgressRecorded,
    ProgressRecordedPayload,
    RectificationOrdered,
    RectificationOrderedPayload,
    StageDue,
    new_event,
)

HANDLER = Actor(actor_id="h-1", role="handler", department="housing-bureau")
SUPERVISOR = Actor(actor_id="s-1", role="supervisor")
REPORTER = Actor(actor_id="volunteer-1", role="volunteer")


class CaseStory:
    """One case's events; each step happens `hours` after the report."""

    def __init__(
        self,
        case_id: str,
        reported_at: datetime,
        *,
        category: Category = Category.HOUSING_SAFETY,
        district: District = District.D03,
        team: str | None = "team-01",
        reporter: str = "volunteer-1",
    ) -> None:
        self.case_id = case_id
        self.start = reported_at
        self.events: list[Envelope] = [
            case_reported(
                case_id,
                category=category,
                district=district,
                team=team,
                reporter_id=reporter,
                occurred_at=reported_at,
            )
        ]

    def _add(self, cls: type[Envelope], hours: float, payload: Contract) -> "CaseStory":
        at = self.start + timedelta(hours=hours)
        self.events.append(new_event(cls, case_id=self.case_id, payload=payload, occurred_at=at))
        return self

    @property
    def last(self) -> Envelope:
        return self.events[-1]

    def assigned(
        self,
        hours: float,
        department: str = "housing-bureau",
        *,
        accept_within: float = 24,
        reason: Any = "catalogue",
        handler: str | None = None,
        co_departments: tuple[str, ...] = (),
        due: StageDue | None = None,
    ) -> "CaseStory":
        base = self.start + timedelta(hours=hours)
        due = due or StageDue(
            accept=base + timedelta(hours=accept_within),
            first_response=base + timedelta(hours=48),
            resolve=base + timedelta(hours=24 * 10),
            verify=base + timedelta(hours=24 * 12),
        )
        payload = CaseAssignedPayload(
            department=department,
            co_departments=list(co_departments),
            handler=handler,
            due=due,
            reason=reason,
        )
        return self._add(CaseAssigned, hours, payload)

    def reassigned(self, hours: float, department: str, *, reason: str) -> "CaseStory":
        payload = CaseReassignedPayload(
            from_department="housing-bureau", department=department, reason=reason, by=SUPERVISOR
        )
        return self._add(CaseReassigned, hours, payload)

    def accepted(self, hours: float) -> "CaseStory":
        return self._add(CaseAccepted, hours, CaseAcceptedPayload(by=HANDLER))

    def ordered(self, hours: float, deadline_hours: float) -> "CaseStory":
        payload = RectificationOrderedPayload(
            measure=Measure.RECTIFICATION_ORDER,
            deadline=self.start + timedelta(hours=deadline_hours),
            responsible_party="owner",
            by=HANDLER,
        )
        return self._add(RectificationOrdered, hours, payload)

    def progress(self, hours: float, note: str = "on it") -> "CaseStory":
        return self._add(ProgressRecorded, hours, ProgressRecordedPayload(note=note, by=HANDLER))

    def resolved(
        self, hours: float, note: str = "fixed", photos: tuple[PhotoRef, ...] = ()
    ) -> "CaseStory":
        payload = CaseResolvedPayload(note=note, photos=list(photos), by=HANDLER)
        return self._add(CaseResolved, hours, payload)

    def verified(self, hours: float) -> "CaseStory":
        return self._add(CaseVerified, hours, CaseVerifiedPayload(by=SUPERVISOR))

    def reopened(self, hours: float, reason: str = "not fixed") -> "CaseStory":
        return self._add(CaseReopened, hours, CaseReopenedPayload(reason=reason, by=SUPERVISOR))

    def closed(self, hours: float, by: Actor = SUPERVISOR) -> "CaseStory":
        return self._add(CaseClosed, hours, CaseClosedPayload(by=by))

    def rejected(self, hours: float) -> "CaseStory":
        return self._add(
            CaseRejected, hours, CaseRejectedPayload(reason="not a hazard", by=HANDLER)
        )

    def returned(self, hours: float, reason: str = "not ours") -> "CaseStory":
        payload = CaseReturnedPayload(department="housing-bureau", reason=reason, by=HANDLER)
        return self._add(CaseReturned, hours, payload)

    def duplicate(self, hours: float, primary: str) -> "CaseStory":
        payload = CaseMarkedDuplicatePayload(
            primary_case_id=primary, distance_m=12.0, cluster_size=2, primary_priority=1
        )
        return self._add(CaseMarkedDuplicate, hours, payload)

    def split(self, hours: float, primary: str, reason: str) -> "CaseStory":
        payload = CaseSplitPayload(primary_case_id=primary, reason=reason, by=SUPERVISOR)
        return self._add(CaseSplit, hours, payload)

    def overdue(self, hours: float, stage: Stage, due_at: datetime | None = None) -> "CaseStory":
        due_at = due_at or self.start + timedelta(hours=hours - 1)
        return self._add(CaseOverdue, hours, CaseOverduePayload(stage=stage, due_at=due_at))

    def escalated(
        self, hours: float, level: int, stage: Stage = Stage.ACCEPT, notice: str = "hurry"
    ) -> "CaseStory":
        payload = CaseEscalatedPayload(
            level=level, stage=stage, target="handler", department="housing-bureau", notice=notice
        )
        return self._add(CaseEscalated, hours, payload)

    def confirmed(self, hours: float, satisfied: bool, rating: int | None = None) -> "CaseStory":
        payload = CaseConfirmedPayload(satisfied=satisfied, rating=rating, by=REPORTER)
        return self._add(CaseConfirmed, hours, payload)


def fixed_case(case_id: str, reported_at: datetime, **kwargs: Any) -> CaseStory:
    """Reported, assigned after 1h, accepted 2h, progress 5h, resolved 30h, verified 40h,
    closed 41h: every stage on time."""
    return (
        CaseStory(case_id, reported_at, **kwargs)
        .assigned(1)
        .accepted(2)
        .progress(5)
        .resolved(30)
        .verified(40)
        .closed(41)
    )
