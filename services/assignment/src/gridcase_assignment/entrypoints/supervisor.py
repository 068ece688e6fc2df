"""Supervisor API: reassign, split a wrong merge, the supervisor queue and escalations."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from gridcase_assignment import handlers
from gridcase_assignment.domain.model import Case, Decision
from gridcase_assignment.entrypoints.dependencies import ContextDep, Supervisor
from gridcase_assignment.entrypoints.schemas import CaseOut, DecisionOut, ReassignIn, SplitIn
from gridcase_contracts.events import Actor
from gridcase_runtime.audit import record_access
from gridcase_runtime.auth import Principal

router = APIRouter(prefix="/supervisor", tags=["supervisor"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "unknown to assignment"}}
DECISION_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"description": "the case's status does not allow it; `status` says which it is"},
}


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def _page(
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> Page:
    """Bounded: the database counts a skip in a 64-bit integer."""
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(_page)]


def _listed(request: Request, principal: Principal, cases: list[Case]) -> list[CaseOut]:
    record_access(request, principal, "cases.list", count=len(cases))
    return [CaseOut.of(case) for case in cases]


def _actor(principal: Principal) -> Actor:
    return Actor(actor_id=principal.subject, role="supervisor", name=principal.name)


def _decision_out(decision: Decision) -> DecisionOut:
    return DecisionOut(
        case=CaseOut.of(decision.case),
        events=[event.event_type for event in decision.events],
        event_ids=[str(event.event_id) for event in decision.events],
    )


@router.get("/queue")
async def supervisor_queue(
    request: Request, principal: Supervisor, context: ContextDep, page: PageDep
) -> list[CaseOut]:
    """Cases waiting for a supervisor to route them, oldest first."""
    cases = await context.repository.supervisor_queue(limit=page.limit, offset=page.offset)
    return _listed(request, principal, cases)


@router.get("/escalations")
async def escalations(
    request: Request, principal: Supervisor, context: ContextDep, page: PageDep
) -> list[CaseOut]:
    """Escalated cases with their ladders, most recently escalated first."""
    cases = await context.repository.escalated_cases(limit=page.limit, offset=page.offset)
    return _listed(request, principal, cases)


@router.get("/cases/{case_id}", responses=NOT_FOUND)
async def get_case(
    request: Request, case_id: str, principal: Supervisor, context: ContextDep
) -> CaseOut:
    """A case as assignment sees it."""
    loaded = await context.repository.load_case(case_id)
    if loaded is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_id} is unknown to assignment")
    record_access(request, principal, "case.read", case_id=case_id)
    return CaseOut.of(loaded.case)


@router.post("/cases/{case_id}/reassign", responses=DECISION_ERRORS)
async def reassign(
    case_id: str, body: ReassignIn, supervisor: Supervisor, context: ContextDep
) -> DecisionOut:
    """Moves a case to another department (CaseReassigned), with fresh deadlines."""
    decision = await handlers.reassign_case(
        context,
        case_id=case_id,
        department=body.department,
        handler=body.handler,
        reason=body.reason,
        by=_actor(supervisor),
    )
    return _decision_out(decision)


@router.post("/cases/{case_id}/split", responses=DECISION_ERRORS)
async def split(
    case_id: str, body: SplitIn, supervisor: Supervisor, context: ContextDep
) -> DecisionOut:
    """Undoes a wrong duplicate merge (CaseSplit), then routes the case (CaseAssigned)."""
    decision = await handlers.split_case(
        context, case_id=case_id, reason=body.reason, by=_actor(supervisor)
    )
    return _decision_out(decision)
