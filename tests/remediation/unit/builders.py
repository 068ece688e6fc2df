"""Events and cases for the remediation unit tests."""

from datetime import UTC, datetime, timedelta

from factories import case_reported
from gridcase_contracts.codes import CaseStatus, Measure, Stage
from gridcase_contracts.envelope import Envelope
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
from gridcase_remediation.domain.case import Case
from gridcase_remediation.domain.lifecycle import Action

NOW = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
CASE_ID = "GC-20250310-ABCDEFGH"
HANDLER = Actor(actor_id="h-1", role="handler", department="housing-bureau")
INSPECTOR = Actor(actor_id="s-1", role="supervisor")
REPORTER = Actor(actor_id="volunteer-1", role="volunteer")
PHOTO = PhotoRef(photo_id="p-1", url="/v1/photos/p-1")


def due(start: datetime = NOW) -> StageDue:
    return StageDue(
        accept=start + timedelta(hours=4),
        first_response=start + timedelta(days=1),
        resolve=start + timedelta(days=7),
        verify=start + timedelta(days=10),
    )


def assigned(
    *,
    reason: str = "catalogue",
    department: str = "housing-bureau",
    co_departments: tuple[str, ...] = (),
) -> CaseAssigned:
    return event(
        CaseAssigned,
        CaseAssignedPayload(
            department=department,
            co_departments=list(co_departments),
            handler="h-1",
            due=due(),
            reason=reason,  # type: ignore[arg-type]
        ),
    )


def event(cls: type[Envelope], payload: object, *, at: datetime = NOW) -> Envelope:
    return new_event(cls, case_id=CASE_ID, payload=payload, occurred_at=at)  # type: ignore[arg-type]


def event_for(action: Action) -> Envelope:
    """An event that records `action` on the test case."""
    match action:
        case Action.REPORT:
            return case_reported(CASE_ID, occurred_at=NOW)
        case Action.ASSIGN:
            return assigned()
        case Action.REASSIGN:
            payload = CaseReassignedPayload(
                from_department="housing-bureau",
                department="fire-rescue",
                reason="wrong catalogue entry",
                by=INSPECTOR,
            )
            return event(CaseReassigned, payload)
        case Action.MARK_DUPLICATE:
            payload = CaseMarkedDuplicatePayload(
                primary_case_id="GC-20250310-PRIMARY0",
                distance_m=12.0,
                cluster_size=2,
                primary_priority=1,
            )
            return event(CaseMarkedDuplicate, payload)
        case Action.SPLIT:
            payload = CaseSplitPayload(
                primary_case_id="GC-20250310-PRIMARY0", reason="different house", by=INSPECTOR
            )
            return event(CaseSplit, payload)
        case Action.ESCALATE:
            payload = CaseEscalatedPayload(
                level=1,
                stage=Stage.ACCEPT,
                target="handler",
                department="housing-bureau",
                notice="accept is overdue",
            )
            return event(CaseEscalated, payload)
        case Action.ACCEPT:
            return event(CaseAccepted, CaseAcceptedPayload(by=HANDLER))
        case Action.ORDER_RECTIFICATION:
            payload = RectificationOrderedPayload(
                measure=Measure.RECTIFICATION_ORDER,
                deadline=NOW + timedelta(days=3),
                responsible_party="owner",
                by=HANDLER,
            )
            return event(RectificationOrdered, payload)
        case Action.RECORD_PROGRESS:
            return event(ProgressRecorded, ProgressRecordedPayload(note="props set", by=HANDLER))
        case Action.RESOLVE:
            return event(
                CaseResolved, CaseResolvedPayload(note="wall fixed", photos=[PHOTO], by=HANDLER)
            )
        case Action.VERIFY:
            return event(CaseVerified, CaseVerifiedPayload(by=INSPECTOR))
        case Action.REOPEN:
            return event(CaseReopened, CaseReopenedPayload(reason="still cracked", by=INSPECTOR))
        case Action.CLOSE:
            return event(CaseClosed, CaseClosedPayload(by=HANDLER))
        case Action.REJECT:
            return event(CaseRejected, CaseRejectedPayload(reason="not a hazard", by=HANDLER))
        case Action.RETURN:
            payload = CaseReturnedPayload(
                department="housing-bureau", reason="a fire hazard", by=HANDLER
            )
            return event(CaseReturned, payload)
        case Action.CONFIRM:
            return event(CaseConfirmed, CaseConfirmedPayload(satisfied=True, rating=5, by=REPORTER))
        case Action.FLAG_OVERDUE:
            payload = CaseOverduePayload(stage=Stage.ACCEPT, due_at=due().accept)
            return event(CaseOverdue, payload)
    raise AssertionError(action)


def case_in(status: CaseStatus | None) -> Case:
    """A housing case of department housing-bureau in `status`."""
    return Case(
        case_id=CASE_ID,
        status=status,
        category="housing-safety",
        reporter_id=REPORTER.actor_id,
        department="housing-bureau",
        handler="h-1",
        due={
            Stage.ACCEPT: due().accept,
            Stage.FIRST_RESPONSE: due().first_response,
            Stage.RESOLVE: due().resolve,
            Stage.VERIFY: due().verify,
        },
        resolved_by="h-1" if status == CaseStatus.RESOLVED else None,
    )
