"""FastAPI dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends

from gridcase_assignment.bootstrap import Components
from gridcase_assignment.handlers import Context
from gridcase_runtime.auth import Principal, Role, require_roles
from gridcase_runtime.service import components_of


def _context(components: Annotated[Components, Depends(components_of)]) -> Context:
    return components.context


ContextDep = Annotated[Context, Depends(_context)]
Admin = Annotated[Principal, require_roles(Role.ADMIN)]
Supervisor = Annotated[Principal, require_roles(Role.SUPERVISOR)]
AdminOrSupervisor = Annotated[Principal, require_roles(Role.ADMIN, Role.SUPERVISOR)]
