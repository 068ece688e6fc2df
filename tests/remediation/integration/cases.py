"""Events of other services (intake, assignment) for the integration tests."""

import uuid
from datetime import UTC, datetime, timedelta

from factories import case_assigned, case_reported
from gridcase_contracts.codes import Category
from gridcase_contracts.events import (
    CaseAssigned,
    CaseReported,
)


def new_case_id() -> str:
    return f"GC-{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"


def reported(
    case_id: str, *, category: Category = Category.HOUSING_SAFETY, reporter: str = "volunteer-1"
) -> CaseReported:
    return case_reported(case_id, category=category, reporter_id=reporter)


def assigned(
    case_id: str,
    *,
    department: str = "housing-bureau",
    handler: str | None = "h-1",
    accept_in: timedelta = timedelta(hours=4),
    co_departments: tuple[str, ...] = (),
) -> CaseAssigned:
    return case_assigned(
        case_id,
        department=department,
        handler=handler,
        co_departments=co_departments,
        accept_in=accept_in,
        verify_in=timedelta(days=10),
    )
