"""Request and response bodies of the HTTP API."""

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridcase_contracts.codes import CaseStatus, Category, District, Measure, Severity, Stage
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import PhotoRef
from gridcase_remediation.domain.audit import public_timeline
from gridcase_remediation.domain.case import Rectification, Satisfaction
from gridcase_remediation.domain.ledger import CaseRecord
from gridcase_remediation.domain.lifecycle import Action

Note = Field(min_length=1, max_length=4000)


class ActionBody(BaseModel):
    """Fields every action accepts; `expected_version` stands in for If-Match."""

    model_config = ConfigDict(extra="forbid")

    expected_version: int | None = Field(
        default=None, ge=0, description="The case version the action expects (the ETag)."
    )


class AcceptBody(ActionBody):
    pass


class RectificationOrderBody(ActionBody):
    measure: Measure
    deadline: AwareDatetime = Field(description="When the responsible party must have fixed it.")
    responsible_party: str = Field(min_length=1, max_length=500)
    note: str | None = Field(default=None, min_length=1, max_length=4000)


class ProgressBody(ActionBody):
    note: str = Note


class ResolveBody(ActionBody):
    note: str = Note


class ReasonBody(ActionBody):
    reason: str = Note


class CloseBody(ActionBody):
    note: str | None = Field(default=None, min_length=1, max_length=4000)


class VerifyBody(ActionBody):
    passed: bool
    reason: str | None = Field(
        default=None, min_length=1, max_length=4000, description="Required when failing."
    )


class ConfirmBody(ActionBody):
    satisfied: bool
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, min_length=1, max_length=4000)


class Flags(BaseModel):
    overdue: bool
    overdue_stages: list[Stage]
    escalated: bool
    escalation_level: int | None


class CaseView(BaseModel):
    case_id: str
    status: CaseStatus | None
    version: int
    category: Category | None
    severity: Severity | None
    district: District | None
    community: str | None
    department: str | None
    co_departments: list[str]
    handler: str | None
    due: dict[Stage, datetime]
    flags: Flags
    rectification: Rectification | None
    reported_at: datetime | None
    updated_at: datetime | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    verified_at: datetime | None
    closed_at: datetime | None
    duplicate_of: str | None
    returns: int
    reopens: int
    satisfaction: Satisfaction | None
    allowed_actions: list[Action]
    timeline: list[dict[str, Any]] | None = Field(
        default=None, description="Every event of the case, oldest first (single-case reads)."
    )

    @classmethod
    def of(cls, record: CaseRecord, *, allowed: list[Action], timeline: bool) -> "CaseView":
        case = record.case
        overdue_stages = case.overdue_stages()
        return cls(
            case_id=case.case_id,
            status=case.status,
            version=record.version,
            category=case.category,
            severity=case.severity,
            district=case.district,
            community=case.community,
            department=case.department,
            co_departments=list(case.co_departments),
            handler=case.handler,
            due=case.due,
            flags=Flags(
                overdue=bool(overdue_stages),
                overdue_stages=overdue_stages,
                escalated=case.escalated,
                escalation_level=case.escalation_level,
            ),
            rectification=case.rectification,
            reported_at=case.reported_at,
            updated_at=case.updated_at,
            accepted_at=case.accepted_at,
            resolved_at=case.resolved_at,
            resolved_by=case.resolved_by,
            verified_at=case.verified_at,
            closed_at=case.closed_at,
            duplicate_of=case.duplicate_of,
            returns=case.returns,
            reopens=case.reopens,
            satisfaction=case.satisfaction,
            allowed_actions=allowed,
            timeline=(
                [entry.event().model_dump(mode="json") for entry in record.ledger]
                if timeline
                else None
            ),
        )


class PublicEntry(BaseModel):
    event_type: str
    occurred_at: datetime
    note: str | None = Field(description="The handler's note where it is meant for the public.")
    photos: list[str] = Field(
        default_factory=list, description="Ids of the fix's evidence photos (GET /v1/photos/{id})."
    )


def evidence_photos(event: Envelope) -> list[PhotoRef]:
    """The photos handlers attached to an event (the reporter's own stay with intake)."""
    if event.event_type == "CaseReported":
        return []
    photos: list[PhotoRef] = getattr(event.payload, "photos", [])
    return photos


class PublicCaseView(BaseModel):
    """What the reporting volunteer sees of their case: its progress, not the internal
    audit trail (no handlers, actors, escalations or return and reject reasons)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    status: CaseStatus | None
    version: int
    category: Category | None
    district: District | None
    department: str | None
    due: dict[Stage, datetime]
    reported_at: datetime | None
    updated_at: datetime | None
    allowed_actions: list[Action] = Field(description="At most `confirm`.")
    timeline: list[PublicEntry] | None = Field(
        default=None, description="The public events of the case, oldest first."
    )

    @classmethod
    def of(cls, record: CaseRecord, *, allowed: list[Action], timeline: bool) -> "PublicCaseView":
        case = record.case
        return cls(
            case_id=case.case_id,
            status=case.status,
            version=record.version,
            category=case.category,
            district=case.district,
            department=case.department,
            due=case.due,
            reported_at=case.reported_at,
            updated_at=case.updated_at,
            allowed_actions=[a for a in allowed if a == Action.CONFIRM],
            timeline=(
                [
                    PublicEntry(
                        event_type=e.event_type,
                        occurred_at=e.occurred_at,
                        note=note,
                        photos=[photo.photo_id for photo in evidence_photos(e)],
                    )
                    for e, note in public_timeline(entry.event() for entry in record.ledger)
                ]
                if timeline
                else None
            ),
        )


class CasePage(BaseModel):
    items: list[CaseView | PublicCaseView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class RebuildReport(BaseModel):
    checked: int
    repaired: int


class ChainBreakView(BaseModel):
    entry: int = Field(description="The first entry (1-based) where the chain does not hold.")
    reason: str


class LedgerCheckView(BaseModel):
    """The result of recomputing one case's ledger hash chain."""

    case_id: str
    version: int
    entries: int
    intact: bool
    head: str | None = Field(description="The last entry's hash (SHA-256, hex).")
    first_break: ChainBreakView | None
