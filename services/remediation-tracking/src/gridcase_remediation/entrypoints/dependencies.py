"""What the routers share: the roles each route admits, the service's parts, case views."""

from typing import Annotated, Any

from fastapi import Depends, Header

from gridcase_remediation.bootstrap import Components
from gridcase_remediation.domain.ledger import CaseRecord
from gridcase_remediation.entrypoints import schemas
from gridcase_remediation.handlers import allowed_actions, get_case, get_case_to_act
from gridcase_runtime.auth import Principal, Role, require_roles
from gridcase_runtime.service import components_of

Worker = Annotated[Principal, require_roles(Role.HANDLER, Role.SUPERVISOR)]
Supervisor = Annotated[Principal, require_roles(Role.SUPERVISOR)]
Reporter = Annotated[Principal, require_roles(Role.VOLUNTEER)]
Reader = Annotated[
    Principal, require_roles(Role.HANDLER, Role.SUPERVISOR, Role.ADMIN, Role.VOLUNTEER)
]
Staff = Annotated[Principal, require_roles(Role.HANDLER, Role.SUPERVISOR, Role.ADMIN)]
Auditor = Annotated[Principal, require_roles(Role.SUPERVISOR, Role.ADMIN)]
Admin = Annotated[Principal, require_roles(Role.ADMIN)]
IfMatch = Annotated[
    str | None,
    Header(description='The ETag from GET /v1/cases/{case_id}, e.g. "3".'),
]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such case or photo"}}

CaseResponse = schemas.CaseView | schemas.PublicCaseView


ComponentsDep = Annotated[Components, Depends(components_of)]
"""The service's parts, built once by bootstrap, for each route that uses them."""


def etag(version: int) -> str:
    return f'"{version}"'


def view(record: CaseRecord, principal: Principal, *, timeline: bool) -> CaseResponse:
    """The whole case for staff; the public view for the reporting volunteer."""
    shape = schemas.PublicCaseView if principal.role == Role.VOLUNTEER else schemas.CaseView
    return shape.of(record, allowed=allowed_actions(record.case, principal), timeline=timeline)


async def readable(parts: Components, case_id: str, principal: Principal) -> CaseRecord:
    return await get_case(parts.repository, case_id, principal)


async def actionable(parts: Components, case_id: str, principal: Principal) -> CaseRecord:
    return await get_case_to_act(parts.repository, case_id, principal)
