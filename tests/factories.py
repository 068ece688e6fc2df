"""Builders of valid events for tests."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from gridcase_contracts.codes import Category, District, Severity
from gridcase_contracts.events import (
    CaseAssigned,
    CaseAssignedPayload,
    CaseReported,
    CaseReportedPayload,
    Location,
    Reporter,
    StageDue,
    new_event,
)


def case_reported(
    case_id: str | None = None,
    *,
    category: Category = Category.HOUSING_SAFETY,
    district: District = District.D03,
    lat: float = 26.89,
    lon: float = 112.57,
    reporter_id: str = "volunteer-1",
    team: str | None = "team-01",
    occurred_at: datetime | None = None,
) -> CaseReported:
    return new_event(
        CaseReported,
        case_id=case_id or f"GC-{uuid4().hex[:12]}",
        occurred_at=occurred_at or datetime.now(UTC),
        payload=CaseReportedPayload(
            category=category,
            severity=Severity.HIGH,
            description="Cracked load-bearing wall in a self-built house",
            location=Location(
                lat=lat,
                lon=lon,
                address="12 Riverside Rd",
                district=district,
                community="Riverside",
            ),
            reporter=Reporter(reporter_id=reporter_id),
            team=team,
        ),
    )


def case_assigned(
    case_id: str,
    *,
    department: str = "housing-bureau",
    handler: str | None = None,
    co_departments: tuple[str, ...] = (),
    accept_in: timedelta = timedelta(hours=4),
    verify_in: timedelta = timedelta(days=9),
) -> CaseAssigned:
    """Assignment's decision for the case, with the usual stage deadlines from now."""
    now = datetime.now(UTC)
    return new_event(
        CaseAssigned,
        case_id=case_id,
        occurred_at=now,
        payload=CaseAssignedPayload(
            department=department,
            co_departments=list(co_departments),
            handler=handler,
            due=StageDue(
                accept=now + accept_in,
                first_response=now + timedelta(days=1),
                resolve=now + timedelta(days=7),
                verify=now + verify_in,
            ),
        ),
    )
