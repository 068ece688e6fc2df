"""Which notes the projection marks public: handlers' notes about the work, never the
reasons for a rejection or a failed verification."""

from datetime import UTC, datetime

import pytest

from gridcase_contracts.codes import Measure
from gridcase_contracts.events import (
    Actor,
    CaseClosed,
    CaseClosedPayload,
    CaseEvent,
    CaseRejected,
    CaseRejectedPayload,
    CaseReopened,
    CaseReopenedPayload,
    CaseResolved,
    CaseResolvedPayload,
    CaseVerified,
    CaseVerifiedPayload,
    ProgressRecorded,
    ProgressRecordedPayload,
    RectificationOrdered,
    RectificationOrderedPayload,
    new_event,
)
from gridcase_intake.domain.projection import change_of

BY = Actor(actor_id="h-1", role="handler", department="fire-rescue")
NOW = datetime(2024, 5, 1, tzinfo=UTC)


def event(kind: type[CaseEvent], payload: object) -> CaseEvent:
    return new_event(kind, case_id="GC-20240501-ABCDEFGH", occurred_at=NOW, payload=payload)


@pytest.mark.parametrize(
    ("happened", "public"),
    [
        (event(ProgressRecorded, ProgressRecordedPayload(note="Exit cleared", by=BY)), True),
        (event(CaseResolved, CaseResolvedPayload(note="Signage fixed", by=BY)), True),
        (event(CaseClosed, CaseClosedPayload(note="Closed after check", by=BY)), True),
        (
            event(
                RectificationOrdered,
                RectificationOrderedPayload(
                    measure=Measure.RECTIFICATION_ORDER,
                    deadline=NOW,
                    responsible_party="Market office",
                    note="Clear the exit",
                    by=BY,
                ),
            ),
            True,
        ),
        (event(CaseRejected, CaseRejectedPayload(reason="Duplicate of a prank", by=BY)), False),
        (event(CaseReopened, CaseReopenedPayload(reason="Exit blocked again", by=BY)), False),
        (event(CaseVerified, CaseVerifiedPayload(reason="Inspector's remark", by=BY)), False),
    ],
)
def test_only_notes_about_the_work_are_public(happened: CaseEvent, public: bool) -> None:
    change = change_of(happened)
    entry = change.timeline_entry(happened)
    assert entry is not None
    assert entry["note"]
    assert entry["public"] is public
    assert ("public_note" in change.fields) is public
