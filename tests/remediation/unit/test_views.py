"""What each caller gets back: the reporting volunteer a public view, staff the whole case."""

import pytest
from remediation.unit.builders import CASE_ID, event_for

from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import PhotoRef
from gridcase_remediation.domain.case import fold
from gridcase_remediation.domain.ledger import CaseRecord, with_events
from gridcase_remediation.domain.lifecycle import Action
from gridcase_remediation.entrypoints.schemas import CaseView, PublicCaseView
from gridcase_remediation.handlers import allowed_actions
from gridcase_runtime.auth import Principal, Role

REPORTER = Principal(subject="volunteer-1", role=Role.VOLUNTEER)
HANDLER = Principal(subject="h-1", role=Role.HANDLER, department="housing-bureau")
HISTORY = (
    Action.REPORT,
    Action.ASSIGN,
    Action.ESCALATE,
    Action.FLAG_OVERDUE,
    Action.ACCEPT,
    Action.ORDER_RECTIFICATION,
    Action.RECORD_PROGRESS,
    Action.RESOLVE,
    Action.REOPEN,
    Action.RESOLVE,
    Action.VERIFY,
)


def record_of(events: list[Envelope]) -> CaseRecord:
    return CaseRecord(fold(CASE_ID, events), len(events), with_events((), events))


@pytest.fixture
def record() -> CaseRecord:
    return record_of([event_for(action) for action in HISTORY])


def test_the_reporter_sees_progress_without_the_internal_audit_trail(record: CaseRecord) -> None:
    view = PublicCaseView.of(record, allowed=allowed_actions(record.case, REPORTER), timeline=True)
    text = view.model_dump_json()
    for internal in ("h-1", "s-1", "accept is overdue", "still cracked", "owner", "handler"):
        assert internal not in text
    assert view.timeline is not None
    assert [(e.event_type, e.note) for e in view.timeline] == [
        ("CaseReported", None),
        ("CaseAssigned", None),
        ("CaseAccepted", None),
        ("RectificationOrdered", None),
        ("ProgressRecorded", "props set"),
        ("CaseResolved", "wall fixed"),
        ("CaseReopened", None),
        ("CaseResolved", "wall fixed"),
        ("CaseVerified", None),
    ]
    assert (view.status, view.version, view.department) == ("verified", 11, "housing-bureau")
    assert view.allowed_actions == [Action.CONFIRM]


def test_the_reporter_sees_the_fix_s_evidence_photos(record: CaseRecord) -> None:
    first, *rest = [event_for(action) for action in HISTORY]
    reported = first.model_copy(
        update={
            "payload": first.payload.model_copy(
                update={"photos": [PhotoRef(photo_id="intake-1", url="/v1/photos/intake-1")]}
            )
        }
    )
    view = PublicCaseView.of(record_of([reported, *rest]), allowed=[], timeline=True)
    assert view.timeline is not None
    assert [(e.event_type, e.photos) for e in view.timeline if e.photos] == [
        ("CaseResolved", ["p-1"]),
        ("CaseResolved", ["p-1"]),
    ]


def test_the_reporter_may_confirm_once(record: CaseRecord) -> None:
    events = [entry.event() for entry in record.ledger] + [event_for(Action.CONFIRM)]
    confirmed = record_of(events)
    view = PublicCaseView.of(
        confirmed, allowed=allowed_actions(confirmed.case, REPORTER), timeline=False
    )
    assert (view.allowed_actions, view.timeline) == ([], None)


def test_other_internal_reasons_stay_out_of_the_public_timeline() -> None:
    for action in (Action.RETURN, Action.REJECT):
        history = [event_for(Action.REPORT), event_for(Action.ASSIGN), event_for(action)]
        view = PublicCaseView.of(record_of(history), allowed=[], timeline=True)
        assert view.timeline is not None
        assert all(entry.note is None for entry in view.timeline)
        assert "a fire hazard" not in view.model_dump_json()
        assert "not a hazard" not in view.model_dump_json()


def test_staff_see_the_whole_case(record: CaseRecord) -> None:
    view = CaseView.of(record, allowed=allowed_actions(record.case, HANDLER), timeline=True)
    assert view.handler == "h-1"
    assert view.timeline is not None
    assert len(view.timeline) == len(HISTORY)
    assert Action.CLOSE in view.allowed_actions
