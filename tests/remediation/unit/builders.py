"""Events and cases for the remediation unit tests: one case's events, each built by the
shared `stories.CaseStory` at the same instant."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gridcase_contracts.codes import CaseStatus, Stage
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import PhotoRef, StageDue, new_event
from gridcase_remediation.domain.case import Case
from gridcase_remediation.domain.lifecycle import Action
from stories import HANDLER, REPORTER, CaseStory

NOW = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
CASE_ID = "GC-20250310-ABCDEFGH"
PRIMARY = "GC-20250310-PRIMARY0"
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
) -> Envelope:
    story = CaseStory(CASE_ID, NOW).assigned(
        0, department, reason=reason, handler="h-1", co_departments=co_departments, due=due()
    )
    return story.last


def event(cls: type[Envelope], payload: object, *, at: datetime = NOW) -> Envelope:
    return new_event(cls, case_id=CASE_ID, payload=payload, occurred_at=at)  # type: ignore[arg-type]


STEPS: dict[Action, Callable[[CaseStory], CaseStory]] = {
    Action.REPORT: lambda story: story,
    Action.REASSIGN: lambda story: story.reassigned(
        0, "fire-rescue", reason="wrong catalogue entry"
    ),
    Action.MARK_DUPLICATE: lambda story: story.duplicate(0, PRIMARY),
    Action.SPLIT: lambda story: story.split(0, PRIMARY, reason="different house"),
    Action.ESCALATE: lambda story: story.escalated(0, 1, notice="accept is overdue"),
    Action.ACCEPT: lambda story: story.accepted(0),
    Action.ORDER_RECTIFICATION: lambda story: story.ordered(0, deadline_hours=72),
    Action.RECORD_PROGRESS: lambda story: story.progress(0, note="props set"),
    Action.RESOLVE: lambda story: story.resolved(0, note="wall fixed", photos=(PHOTO,)),
    Action.VERIFY: lambda story: story.verified(0),
    Action.REOPEN: lambda story: story.reopened(0, reason="still cracked"),
    Action.CLOSE: lambda story: story.closed(0, by=HANDLER),
    Action.REJECT: lambda story: story.rejected(0),
    Action.RETURN: lambda story: story.returned(0, reason="a fire hazard"),
    Action.CONFIRM: lambda story: story.confirmed(0, satisfied=True, rating=5),
    Action.FLAG_OVERDUE: lambda story: story.overdue(0, Stage.ACCEPT, due_at=due().accept),
}
"""The step of the test case's story that records each action (assigning: `assigned`)."""


def event_for(action: Action) -> Envelope:
    """An event that records `action` on the test case."""
    if action == Action.ASSIGN:
        return assigned()
    return STEPS[action](CaseStory(CASE_ID, NOW)).last


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
