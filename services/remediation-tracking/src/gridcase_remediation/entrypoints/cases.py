"""Reading cases: a page of the cases the caller may see, and one case."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from gridcase_contracts.codes import CaseStatus, Category, District
from gridcase_remediation.adapters.repository import CaseQuery, CursorError
from gridcase_remediation.entrypoints import schemas
from gridcase_remediation.entrypoints.dependencies import (
    NOT_FOUND,
    CaseResponse,
    ComponentsDep,
    Reader,
    etag,
    readable,
    view,
)
from gridcase_runtime.audit import record_access
from gridcase_runtime.auth import Role

router = APIRouter(prefix="/v1", tags=["cases"])


@router.get("/cases", response_model=schemas.CasePage)
async def list_cases(
    request: Request,
    parts: ComponentsDep,
    principal: Reader,
    status: Annotated[list[CaseStatus] | None, Query()] = None,
    category: Category | None = None,
    district: District | None = None,
    department: Annotated[
        str | None, Query(description="Supervisors: one department's cases.")
    ] = None,
    overdue: Annotated[bool | None, Query(description="Only cases with an overdue stage.")] = None,
    assigned_to_me: bool = False,
    sort: Literal["reported_at", "-reported_at", "updated_at", "-updated_at"] = "-reported_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> schemas.CasePage:
    """Cases the caller may see, filtered and sorted, one page at a time."""
    query = CaseQuery(
        departments=principal.department if principal.role == Role.HANDLER else None,
        reporter_id=principal.subject if principal.role == Role.VOLUNTEER else None,
        statuses=tuple(s.value for s in status or ()),
        category=category,
        district=district,
        department=department,
        handler=principal.subject if assigned_to_me else None,
        overdue=overdue,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    try:
        records, next_cursor = await parts.repository.search(query)
    except CursorError as error:
        raise RequestValidationError(
            [{"loc": ["query", "cursor"], "msg": str(error), "type": "value_error"}]
        ) from error
    record_access(request, principal, "cases.list", count=len(records))
    return schemas.CasePage(
        items=[view(r, principal, timeline=False) for r in records], next_cursor=next_cursor
    )


@router.get("/cases/{case_id}", response_model=CaseResponse, responses=NOT_FOUND)
async def read_case(
    request: Request, response: Response, parts: ComponentsDep, case_id: str, principal: Reader
) -> CaseResponse:
    """The case's projection and its full timeline (for the reporting volunteer: the
    public view); the ETag is its version."""
    record = await readable(parts, case_id, principal)
    record_access(request, principal, "case.read", case_id=case_id)
    response.headers["ETag"] = etag(record.version)
    return view(record, principal, timeline=True)
