"""Audit exports: one case's timeline, and the cases of a period, as CSV; and the part of
a timeline the reporting volunteer sees."""

import json
from collections.abc import Iterable, Iterator
from typing import Any

from gridcase_contracts.envelope import Envelope
from gridcase_remediation.domain.case import Case

TIMELINE_COLUMNS = (
    "sequence",
    "event_id",
    "event_type",
    "occurred_at",
    "producer",
    "actor_id",
    "actor_role",
    "payload",
)
CASE_COLUMNS = (
    "case_id",
    "reported_at",
    "category",
    "severity",
    "district",
    "department",
    "handler",
    "status",
    "version",
    "accepted_at",
    "resolved_at",
    "verified_at",
    "closed_at",
    "overdue_stages",
    "escalation_level",
    "returns",
    "reopens",
    "satisfied",
    "rating",
)


INTERNAL_EVENTS = frozenset({"CaseOverdue", "CaseEscalated"})
"""Escalation notices: for the departments and their supervisors only."""
PUBLIC_NOTE_EVENTS = frozenset({"ProgressRecorded", "CaseResolved", "CaseClosed"})
"""Events whose note tells the public how the fix goes; other notes and reasons (returns,
rejections, failed verifications, orders to third parties) stay internal."""


def public_timeline(events: Iterable[Envelope]) -> Iterator[tuple[Envelope, str | None]]:
    """The events the public may see, each with its public note (if any)."""
    for event in events:
        if event.event_type in INTERNAL_EVENTS:
            continue
        public_note = event.event_type in PUBLIC_NOTE_EVENTS
        yield event, getattr(event.payload, "note", None) if public_note else None


def timeline_row(sequence: int, event: Envelope) -> dict[str, Any]:
    payload = event.model_dump(mode="json")["payload"]
    by = payload.get("by") or {}
    return {
        "sequence": sequence,
        "event_id": str(event.event_id),
        "event_type": event.event_type,
        "occurred_at": event.occurred_at.isoformat(),
        "producer": event.producer.value,
        "actor_id": by.get("actor_id", ""),
        "actor_role": by.get("role", ""),
        "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True),
    }


def case_row(case: Case, version: int) -> dict[str, Any]:
    def when(value: Any) -> str:
        return value.isoformat() if value else ""

    return {
        "case_id": case.case_id,
        "reported_at": when(case.reported_at),
        "category": case.category or "",
        "severity": case.severity or "",
        "district": case.district or "",
        "department": case.department or "",
        "handler": case.handler or "",
        "status": case.status or "",
        "version": version,
        "accepted_at": when(case.accepted_at),
        "resolved_at": when(case.resolved_at),
        "verified_at": when(case.verified_at),
        "closed_at": when(case.closed_at),
        "overdue_stages": " ".join(sorted(case.overdue)),
        "escalation_level": case.escalation_level or "",
        "returns": case.returns,
        "reopens": case.reopens,
        "satisfied": "" if case.satisfaction is None else str(case.satisfaction.satisfied).lower(),
        "rating": case.satisfaction.rating
        if case.satisfaction and case.satisfaction.rating
        else "",
    }
