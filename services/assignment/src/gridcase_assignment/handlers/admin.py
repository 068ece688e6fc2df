"""The administrators' commands on the audited registry: catalogue, departments, handlers."""

from dataclasses import replace

from gridcase_assignment.domain.registry import Department, Handler
from gridcase_assignment.domain.routing import CatalogueEntry
from gridcase_assignment.handlers.context import Context, InvalidRequestError, NotFoundError
from gridcase_contracts.codes import SUPERVISOR_QUEUE


async def _check_departments(context: Context, field: str, codes: list[str]) -> None:
    for code in codes:
        if await context.repository.get_department(code) is None:
            raise InvalidRequestError(field, f"unknown department {code!r}")


async def put_catalogue_entry(context: Context, entry: CatalogueEntry, *, by: str) -> None:
    """Sets who handles a category (in a district); the next case routes by it."""
    if entry.lead == SUPERVISOR_QUEUE:
        raise InvalidRequestError("lead", "the supervision office is no lead department")
    if entry.lead in entry.co_departments:
        raise InvalidRequestError("co_departments", "the lead department cannot co-handle")
    if len(set(entry.co_departments)) != len(entry.co_departments):
        raise InvalidRequestError("co_departments", "a department is listed twice")
    await _check_departments(context, "lead", [entry.lead])
    await _check_departments(context, "co_departments", list(entry.co_departments))
    await context.repository.put_catalogue_entry(entry, by=by, at=context.clock())
    context.routing.drop()


async def remove_catalogue_entry(context: Context, key: str, *, by: str) -> None:
    if not await context.repository.remove_catalogue_entry(key, by=by, at=context.clock()):
        raise NotFoundError(f"no catalogue entry {key}")
    context.routing.drop()


async def put_department(context: Context, department: Department, *, by: str) -> None:
    if department.head is not None:
        head = await context.repository.get_handler(department.head)
        if head is None or head.department != department.code:
            raise InvalidRequestError(
                "head", f"{department.head!r} is not a handler of {department.code}"
            )
    await context.repository.put_department(department, by=by, at=context.clock())


async def put_handler(context: Context, handler: Handler, *, by: str) -> None:
    await _check_departments(context, "department", [handler.department])
    await context.repository.put_handler(handler, by=by, at=context.clock())
    context.routing.drop()


async def set_on_duty(context: Context, handler_id: str, on_duty: bool, *, by: str) -> Handler:
    found = await context.repository.get_handler(handler_id)
    if found is None:
        raise NotFoundError(f"no handler {handler_id}")
    changed = replace(found, on_duty=on_duty)
    await context.repository.put_handler(changed, by=by, at=context.clock())
    context.routing.drop()
    return changed
