"""Admin API: the dispatch catalogue, departments and handlers; every change recorded."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status

from gridcase_assignment import handlers
from gridcase_assignment.domain.registry import Department, Handler
from gridcase_assignment.domain.routing import CatalogueEntry, catalogue_key
from gridcase_assignment.entrypoints.dependencies import Admin, AdminOrSupervisor, ContextDep
from gridcase_assignment.entrypoints.schemas import (
    CODE_PATTERN,
    HANDLER_ID_PATTERN,
    CatalogueEntryIn,
    CatalogueEntryOut,
    ChangeOut,
    DepartmentIn,
    DepartmentOut,
    HandlerIn,
    HandlerOut,
    OnDutyIn,
)
from gridcase_contracts.codes import Category

router = APIRouter(prefix="/admin", tags=["admin"])

CHANGED_MEANWHILE: dict[int | str, dict[str, Any]] = {
    409: {"description": "changed by someone else at the same time; read it again and retry"}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such entry or handler"}}

DistrictOrAny = Annotated[
    str,
    Path(
        pattern=r"^(\*|D0[1-9]|D1[0-2])$",
        description="D01..D12, or * for every district without its own entry.",
    ),
]


def _entry_out(entry: CatalogueEntry) -> CatalogueEntryOut:
    return CatalogueEntryOut(
        category=entry.category,
        district=entry.district,
        lead=entry.lead,
        co_departments=list(entry.co_departments),
    )


@router.get("/catalogue")
async def list_catalogue(_: AdminOrSupervisor, context: ContextDep) -> list[CatalogueEntryOut]:
    """The dispatch catalogue as it routes now."""
    return [_entry_out(e) for e in await context.repository.catalogue_entries()]


@router.put("/catalogue/{category}/{district}", responses=CHANGED_MEANWHILE)
async def put_catalogue_entry(
    category: Category,
    district: DistrictOrAny,
    body: CatalogueEntryIn,
    admin: Admin,
    context: ContextDep,
) -> CatalogueEntryOut:
    """Sets who handles `category` in `district`; the next case routes by it."""
    entry = CatalogueEntry(category, district, body.lead, tuple(body.co_departments))
    await handlers.put_catalogue_entry(context, entry, by=admin.subject)
    return _entry_out(entry)


@router.delete(
    "/catalogue/{category}/{district}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **CHANGED_MEANWHILE},
)
async def remove_catalogue_entry(
    category: Category, district: DistrictOrAny, admin: Admin, context: ContextDep
) -> None:
    """Removes an entry: the category's entry, else the district government, routes instead."""
    await handlers.remove_catalogue_entry(
        context, catalogue_key(category, district), by=admin.subject
    )


@router.get("/changes")
async def list_changes(
    _: Admin,
    context: ContextDep,
    kind: Literal["catalogue", "department", "handler"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ChangeOut]:
    """Recorded changes (who, when, before, after), newest first."""
    changes = await context.repository.changes(kind, limit)
    return [ChangeOut(**change._asdict()) for change in changes]


@router.get("/departments")
async def list_departments(_: AdminOrSupervisor, context: ContextDep) -> list[DepartmentOut]:
    """Every department with its head."""
    departments = await context.repository.list_departments()
    return [DepartmentOut(code=d.code, name=d.name, head=d.head) for d in departments]


@router.put("/departments/{code}", responses=CHANGED_MEANWHILE)
async def put_department(
    code: Annotated[str, Path(pattern=CODE_PATTERN)],
    body: DepartmentIn,
    admin: Admin,
    context: ContextDep,
) -> DepartmentOut:
    """Creates or changes a department."""
    await handlers.put_department(context, Department(code, body.name, body.head), by=admin.subject)
    return DepartmentOut(code=code, name=body.name, head=body.head)


def _handler_out(handler: Handler) -> HandlerOut:
    return HandlerOut(
        handler_id=handler.handler_id,
        department=handler.department,
        name=handler.name,
        on_duty=handler.on_duty,
    )


@router.get("/handlers")
async def list_handlers(
    _: AdminOrSupervisor, context: ContextDep, department: str | None = None
) -> list[HandlerOut]:
    """Handlers, of one department if given."""
    return [_handler_out(h) for h in await context.repository.list_handlers(department)]


@router.put("/handlers/{handler_id}", responses=CHANGED_MEANWHILE)
async def put_handler(
    handler_id: Annotated[str, Path(pattern=HANDLER_ID_PATTERN)],
    body: HandlerIn,
    admin: Admin,
    context: ContextDep,
) -> HandlerOut:
    """Creates or changes a handler."""
    handler = Handler(handler_id, body.department, body.name, body.on_duty)
    await handlers.put_handler(context, handler, by=admin.subject)
    return _handler_out(handler)


@router.patch("/handlers/{handler_id}", responses={**NOT_FOUND, **CHANGED_MEANWHILE})
async def set_on_duty(
    handler_id: str, body: OnDutyIn, admin: Admin, context: ContextDep
) -> HandlerOut:
    """Puts a handler on or off duty."""
    return _handler_out(
        await handlers.set_on_duty(context, handler_id, body.on_duty, by=admin.subject)
    )
