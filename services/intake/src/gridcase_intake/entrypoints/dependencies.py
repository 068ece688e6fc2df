"""What the routers share: intake's commands and the roles routes admit, as FastAPI
dependencies."""

from typing import Annotated

from fastapi import Depends

from gridcase_intake.bootstrap import Components
from gridcase_intake.commands import Intake
from gridcase_runtime.auth import Principal, Role, require_roles
from gridcase_runtime.service import components_of


def _intake(components: Annotated[Components, Depends(components_of)]) -> Intake:
    return components.intake


IntakeDep = Annotated[Intake, Depends(_intake)]
Volunteer = Annotated[Principal, require_roles(Role.VOLUNTEER)]
Admin = Annotated[Principal, require_roles(Role.ADMIN)]
