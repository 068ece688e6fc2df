"""The supervisors' commands: reassigning a case and undoing a wrong merge."""

from dataclasses import replace

from gridcase_assignment.domain.model import Case, Decision, reassign, split_event
from gridcase_assignment.handlers.context import (
    ConflictError,
    Context,
    InvalidRequestError,
    NotFoundError,
    update_case,
)
from gridcase_assignment.handlers.routing import due_dates, least_loaded, refresh_cluster, route
from gridcase_contracts.events import Actor


async def _existing_case(context: Context, case_id: str) -> Case:
    loaded = await context.repository.load_case(case_id)
    if loaded is None:
        raise NotFoundError(f"case {case_id} is unknown to assignment")
    return loaded.case


async def reassign_case(
    context: Context,
    *,
    case_id: str,
    department: str,
    handler: str | None,
    reason: str,
    by: Actor,
) -> Decision:
    """A supervisor moves a case to `department` (and `handler`), with fresh deadlines."""
    if await context.repository.get_department(department) is None:
        raise InvalidRequestError("department", f"unknown department {department!r}")
    if handler is not None:
        found = await context.repository.get_handler(handler)
        if found is None or found.department != department:
            raise InvalidRequestError("handler", f"{handler!r} is not a handler of {department}")
    await _existing_case(context, case_id)

    async def decide(case: Case) -> Decision | None:
        if not case.is_reassignable:
            raise ConflictError(
                f"case {case_id} is {case.status}; it cannot be reassigned", status=case.status
            )
        now = context.clock()
        chosen = handler or await least_loaded(context, department)
        return reassign(
            case,
            department=department,
            handler=chosen,
            due=due_dates(context, case, now),
            reason=reason,
            by=by,
            cause=f"{case_id}/reassign/{case.version}",
            now=now,
        )

    decision = await update_case(context, case_id, decide)
    if decision is None:
        raise NotFoundError(f"case {case_id} is unknown to assignment")
    return decision


async def split_case(context: Context, *, case_id: str, reason: str, by: Actor) -> Decision:
    """A supervisor undoes a wrong merge: CaseSplit, then the case is routed normally."""
    primary = (await _existing_case(context, case_id)).primary_case_id

    async def decide(case: Case) -> Decision | None:
        if case.status != "duplicate" or case.primary_case_id is None:
            raise ConflictError(
                f"case {case_id} is {case.status}, not merged into a primary", status=case.status
            )
        cause = f"{case_id}/split/{case.version}"
        now = context.clock()
        undone = split_event(case, reason=reason, by=by, cause=cause, now=now)
        return await route(
            context,
            replace(case, status="reported"),
            split=True,
            cause=cause,
            start=now,
            extra_events=(undone,),
        )

    decision = await update_case(context, case_id, decide)
    if decision is None:
        raise NotFoundError(f"case {case_id} is unknown to assignment")
    if primary:
        await refresh_cluster(context, primary)
    return decision
