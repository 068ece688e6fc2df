"""Response bodies of the native API, as OpenAPI documents them."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from gridcase_contracts.events import Location, PhotoRef


class ReportAccepted(BaseModel):
    case_id: str
    status: str
    reported_at: datetime
    location: Location
    photos: list[PhotoRef]
    links: dict[str, str]


class TimelineEntry(BaseModel):
    at: datetime
    event: str
    status: str | None
    note: str | None


class Note(BaseModel):
    at: datetime
    status: str | None
    note: str


class ReportView(BaseModel):
    """The reporter's view of a case."""

    case_id: str
    status: str
    category: str | None
    severity: str | None
    description: str | None
    location: dict[str, Any] | None
    team: str | None
    photos: list[PhotoRef]
    reported_at: datetime | None
    updated_at: datetime | None
    department: str | None
    expected_at: datetime | None
    duplicate_of: str | None
    notes: list[Note]
    timeline: list[TimelineEntry]

    @classmethod
    def of(cls, case: dict[str, Any]) -> "ReportView":
        timeline = sorted(case.get("timeline") or [], key=lambda entry: entry["at"])
        return cls(
            case_id=case["_id"],
            status=case["status"],
            category=case.get("category"),
            severity=case.get("severity"),
            description=case.get("description"),
            location=case.get("location"),
            team=case.get("team"),
            photos=case.get("photos") or [],
            reported_at=case.get("reported_at"),
            updated_at=case.get("updated_at"),
            department=case.get("department"),
            expected_at=case.get("expected_at"),
            duplicate_of=case.get("duplicate_of"),
            notes=[
                Note(at=entry["at"], status=entry["status"], note=entry["note"])
                for entry in timeline
                if entry.get("note")
            ],
            timeline=[TimelineEntry(**entry) for entry in timeline],
        )


class ReportPage(BaseModel):
    items: list[ReportView]
    page: int
    page_size: int
    total: int


class CategoryOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
