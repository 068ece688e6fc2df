"""The audit trail: one case's events as JSON or CSV, its ledger's hash chain checked, and
a period's cases as CSV."""

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from gridcase_contracts.codes import CITY_TIME_ZONE
from gridcase_remediation.domain.audit import CASE_COLUMNS, TIMELINE_COLUMNS, case_row, timeline_row
from gridcase_remediation.entrypoints import schemas
from gridcase_remediation.entrypoints.dependencies import (
    NOT_FOUND,
    Auditor,
    ComponentsDep,
    Staff,
    readable,
)
from gridcase_remediation.handlers import check_chain
from gridcase_runtime.audit import record_access
from gridcase_runtime.csv_text import csv_response

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/cases/{case_id}/timeline", responses=NOT_FOUND)
async def timeline_json(
    request: Request, parts: ComponentsDep, case_id: str, principal: Staff
) -> dict[str, Any]:
    """The audit trail of one case as JSON: every event, oldest first."""
    record = await readable(parts, case_id, principal)
    record_access(request, principal, "case.timeline.read", case_id=case_id)
    return {
        "case_id": case_id,
        "version": record.version,
        "events": [entry.event().model_dump(mode="json") for entry in record.ledger],
    }


@router.get(
    "/cases/{case_id}/ledger/verify", response_model=schemas.LedgerCheckView, responses=NOT_FOUND
)
async def verify_ledger(parts: ComponentsDep, case_id: str, principal: Auditor) -> Any:
    """Recompute the case's ledger hash chain: `intact`, or the first entry that breaks it
    (an entry altered, removed or reordered since it was stored)."""
    record = await readable(parts, case_id, principal)
    found = check_chain(record)
    first_break = None if found is None else schemas.ChainBreakView(**asdict(found))
    return schemas.LedgerCheckView(
        case_id=case_id,
        version=record.version,
        entries=len(record.ledger),
        intact=found is None,
        head=record.ledger[-1].hash if record.ledger else None,
        first_break=first_break,
    )


@router.get("/cases/{case_id}/timeline.csv", response_class=Response, responses=NOT_FOUND)
async def timeline_csv(
    request: Request, parts: ComponentsDep, case_id: str, principal: Staff
) -> Response:
    """The audit trail of one case as CSV."""
    record = await readable(parts, case_id, principal)
    record_access(request, principal, "case.timeline.export", case_id=case_id)
    rows = (timeline_row(n, entry.event()) for n, entry in enumerate(record.ledger, 1))
    return csv_response(rows, f"{case_id}-timeline.csv", TIMELINE_COLUMNS)


def city_day_start(field: str, day: date, *, days_after: int = 0) -> datetime:
    """The UTC instant the city's `day` (plus `days_after`) begins; 422 naming `field` when
    that instant falls outside the calendar (before year 1 or after 9999 in UTC)."""
    try:
        start = datetime.combine(day, datetime.min.time(), CITY_TIME_ZONE)
        return (start + timedelta(days=days_after)).astimezone(UTC)
    except OverflowError as error:
        raise RequestValidationError(
            [{"loc": ["query", field], "msg": "out of the calendar's range", "type": "date_range"}]
        ) from error


@router.get("/exports/cases.csv", response_class=Response)
async def period_csv(
    request: Request,
    parts: ComponentsDep,
    principal: Auditor,
    start: Annotated[date, Query(alias="from", description="First day (Asia/Shanghai).")],
    end: Annotated[date, Query(alias="to", description="Last day, inclusive.")],
) -> Response:
    """Every case reported in a period of city days, one row each."""
    if end < start:
        raise RequestValidationError(
            [{"loc": ["query", "to"], "msg": "must not precede from", "type": "value_error"}]
        )
    since, until = city_day_start("from", start), city_day_start("to", end, days_after=1)
    rows = [
        case_row(record.case, record.version)
        async for record in parts.repository.reported_between(since, until)
    ]
    record_access(request, principal, "cases.export", resource=f"{start}/{end}", count=len(rows))
    return csv_response(rows, f"cases-{start}-{end}.csv", CASE_COLUMNS)
