"""FastAPI dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends, Request

from gridcase_assignment.handlers import Context
from gridcase_runtime.auth import Principal, Role, require_roles


def _context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


ContextDep = Annotated[Context, Depends(_context)]
Admin = Annotated[Principal, require_roles(Role.ADMIN)]
Supervisor = Annotated[Principal, require_roles(Role.SUPERVISOR)]
AdminOrSupervisor = Annotated[Principal, require_roles(Role.ADMIN, Role.SUPERVISOR)]
