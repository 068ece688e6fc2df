"""Events of other services (intake, assignment) for the integration tests."""

import uuid
from datetime import UTC, datetime, timedelta

from factories import case_reported
from gridcase_contracts.codes import Category
from gridcase_contracts.events import (
    CaseAssigned,
    CaseAssignedPayload,
    CaseReported,
    StageDue,
    new_event,
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
                verify=now + timedelta(days=10),
            ),
        ),
    )
