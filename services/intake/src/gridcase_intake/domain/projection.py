"""Intake's view of a case, driven by the case events: the status a reporter sees, notes
(handlers' notes, reasons for rejection or reopening) and a timeline. Only the notes
handlers write about the work (rectification, progress, resolution, closure) are marked
public, for Open311's anonymous reads; reasons for rejection or a failed verification
are for the reporter and staff only. Internal matters (returns between departments,
handler ids, escalation notices) stay out of notes and timeline; overdue and escalation
remain flags of the view."""

from dataclasses import dataclass, field
from typing import Any

from gridcase_contracts import events
from gridcase_contracts.codes import FINAL_STATUSES, SUPERVISOR_QUEUE, CaseStatus
from gridcase_contracts.events import CaseEvent, CaseReported


@dataclass(frozen=True)
class ViewChange:
    """What one event changes in the view."""

    status: CaseStatus | None = None
    note: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] | None = None
    """The report's facts (CaseReported only); they never change afterwards."""

    def timeline_entry(self, event: CaseEvent) -> dict[str, Any] | None:
        """A timeline entry, if the event changed the status or carries a note; `public`
        says whether its note may be shown to anyone."""
        if self.status is None and self.note is None:
            return None
        return {
            "at": event.occurred_at,
            "event": event.event_type,
            "status": self.status.value if self.status else None,
            "note": self.note,
            "public": "public_note" in self.fields,
        }


def _public(note: str | None) -> dict[str, Any]:
    """The view field of a note marked public (the latest one is Open311's status_notes)."""
    return {} if note is None else {"public_note": note}


def report_facts(event: CaseReported) -> dict[str, Any]:
    payload = event.payload
    return {
        "reporter_id": payload.reporter.reporter_id,
        "reporter_kind": payload.reporter.kind,
        "channel": payload.channel.value,
        "category": payload.category.value,
        "severity": payload.severity.value,
        "description": payload.description,
        "location": payload.location.model_dump(mode="python"),
        "team": payload.team,
        "photos": [photo.model_dump(mode="python") for photo in payload.photos],
        "attributes": payload.attributes,
        "token": str(event.event_id),
        "reported_at": event.occurred_at,
    }


def change_of(event: CaseEvent) -> ViewChange:
    """The view change an event makes; pure, so replaying events rebuilds the same view."""
    match event:
        case events.CaseReported():
            return ViewChange(status=CaseStatus.REPORTED, report=report_facts(event))
        case events.CaseAssigned(payload=p):
            return ViewChange(
                status=None if p.reason == "reopen" else CaseStatus.ASSIGNED,
                fields={"department": p.department, "expected_at": p.due.resolve},
            )
        case events.CaseReassigned(payload=p):
            fields: dict[str, Any] = {
                "department": SUPERVISOR_QUEUE if p.supervisor_queue else p.department
            }
            if p.due is not None:
                fields["expected_at"] = p.due.resolve
            return ViewChange(status=CaseStatus.ASSIGNED, fields=fields)
        case events.CaseMarkedDuplicate(payload=p):
            return ViewChange(
                status=CaseStatus.DUPLICATE, fields={"duplicate_of": p.primary_case_id}
            )
        case events.CaseSplit():
            return ViewChange(status=CaseStatus.REPORTED, fields={"duplicate_of": None})
        case events.CaseEscalated(payload=p):
            return ViewChange(fields={"escalation_level": p.level})
        case events.CaseAccepted():
            return ViewChange(status=CaseStatus.ACCEPTED)
        case events.RectificationOrdered(payload=p):
            return ViewChange(
                status=CaseStatus.IN_REMEDIATION,
                note=p.note,
                fields={
                    "rectification": {"measure": p.measure.value, "deadline": p.deadline},
                    **_public(p.note),
                },
            )
        case events.ProgressRecorded(payload=p):
            return ViewChange(status=CaseStatus.IN_REMEDIATION, note=p.note, fields=_public(p.note))
        case events.CaseResolved(payload=p):
            return ViewChange(status=CaseStatus.RESOLVED, note=p.note, fields=_public(p.note))
        case events.CaseVerified(payload=p):
            return ViewChange(status=CaseStatus.VERIFIED, note=p.reason)
        case events.CaseReopened(payload=p):
            return ViewChange(status=CaseStatus.REOPENED, note=p.reason)
        case events.CaseClosed(payload=p):
            return ViewChange(status=CaseStatus.CLOSED, note=p.note, fields=_public(p.note))
        case events.CaseRejected(payload=p):
            return ViewChange(status=CaseStatus.REJECTED, note=p.reason)
        case events.CaseReturned():
            return ViewChange(status=CaseStatus.RETURNED)
        case events.CaseOverdue(payload=p):
            return ViewChange(fields={f"overdue.{p.stage.value}": p.due_at})
        case events.CaseConfirmed(payload=p):
            return ViewChange(fields={"satisfied": p.satisfied, "rating": p.rating})
    raise TypeError(f"no projection for {type(event).__name__}")


def is_open(status: str) -> bool:
    """Open311's open/closed: closed once the case reached a final status."""
    return CaseStatus(status) not in FINAL_STATUSES
