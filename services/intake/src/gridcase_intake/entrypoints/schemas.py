"""Response bodies of the native API, as OpenAPI documents them."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from gridcase_contracts.codes import District
from gridcase_contracts.events import Location, PhotoRef
from gridcase_intake.domain.geography import Geography
from gridcase_runtime.boundaries import Area


class AreaOut(BaseModel):
    """A district or community with its names."""

    code: str
    name_zh: str
    name_en: str

    @classmethod
    def of(cls, area: Area | None) -> "AreaOut | None":
        return (
            None
            if area is None
            else cls(code=area.code, name_zh=area.name_zh, name_en=area.name_en)
        )


def named_areas(
    location: dict[str, Any] | None, geography: Geography
) -> tuple[AreaOut | None, AreaOut | None]:
    """The district and community of a stored location, with their names."""
    if not location or not location.get("district"):
        return None, None
    community_code = location.get("community_code")
    return (
        AreaOut.of(geography.district(District(location["district"]))),
        AreaOut.of(geography.communities.get(community_code) if community_code else None),
    )


class ReportAccepted(BaseModel):
    case_id: str
    status: str
    reported_at: datetime
    location: Location
    district: AreaOut | None
    community: AreaOut | None
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
    district: AreaOut | None
    """The district of the location, with its names."""
    community: AreaOut | None
    """The community of the location, when the city's boundaries know it."""
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
    def of(cls, case: dict[str, Any], geography: Geography) -> "ReportView":
        timeline = sorted(case.get("timeline") or [], key=lambda entry: entry["at"])
        district, community = named_areas(case.get("location"), geography)
        return cls(
            case_id=case["_id"],
            status=case["status"],
            category=case.get("category"),
            severity=case.get("severity"),
            description=case.get("description"),
            location=case.get("location"),
            district=district,
            community=community,
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
