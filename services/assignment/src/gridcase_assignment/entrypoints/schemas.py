"""Request and response bodies of the HTTP API."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from gridcase_assignment.domain.model import Case
from gridcase_contracts.codes import Category, Severity, Stage
from gridcase_contracts.events import StageDue

CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
HANDLER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
Code = Annotated[str, Field(pattern=CODE_PATTERN)]
HandlerId = Annotated[str, Field(pattern=HANDLER_ID_PATTERN)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CatalogueEntryIn(Body):
    lead: Code
    co_departments: list[Code] = Field(default_factory=list, max_length=10)


class CatalogueEntryOut(BaseModel):
    category: Category
    district: str
    lead: str
    co_departments: list[str]


class ChangeOut(BaseModel):
    kind: str
    key: str
    at: datetime
    by: str
    before: dict[str, object] | None
    after: dict[str, object] | None


class DepartmentIn(Body):
    name: str = Field(min_length=1, max_length=200)
    head: HandlerId | None = None


class DepartmentOut(BaseModel):
    code: str
    name: str
    head: str | None


class HandlerIn(Body):
    department: Code
    name: str = Field(min_length=1, max_length=200)
    on_duty: bool = True


class OnDutyIn(Body):
    on_duty: bool


class HandlerOut(BaseModel):
    handler_id: str
    department: str
    name: str
    on_duty: bool


class ReassignIn(Body):
    department: Code
    handler: HandlerId | None = Field(
        default=None, description="None: the least busy on-duty handler, else the queue."
    )
    reason: str = Field(min_length=1, max_length=500)


class SplitIn(Body):
    reason: str = Field(min_length=1, max_length=500)


class LadderOut(BaseModel):
    stage: Stage
    due_at: datetime
    overdue_at: datetime
    levels_fired: list[int]
    done: bool


class CaseOut(BaseModel):
    case_id: str
    category: Category
    severity: Severity
    district: str
    status: str
    department: str | None
    co_departments: list[str]
    handler: str | None
    returns: int
    priority: int
    cluster_size: int
    primary_case_id: str | None
    due: StageDue | None
    assigned_at: datetime | None
    escalations: list[LadderOut]

    @classmethod
    def of(cls, case: Case) -> "CaseOut":
        return cls(
            case_id=case.case_id,
            category=case.category,
            severity=case.severity,
            district=case.district.value,
            status=case.status,
            department=case.department,
            co_departments=list(case.co_departments),
            handler=case.handler,
            returns=case.returns,
            priority=case.priority,
            cluster_size=case.cluster_size,
            primary_case_id=case.primary_case_id,
            due=case.due,
            assigned_at=case.assigned_at,
            escalations=[
                LadderOut(
                    stage=ladder.stage,
                    due_at=ladder.due_at,
                    overdue_at=ladder.overdue_at,
                    levels_fired=list(ladder.fired),
                    done=ladder.done,
                )
                for ladder in case.ladders.values()
            ],
        )


class DecisionOut(BaseModel):
    case: CaseOut
    events: list[str] = Field(description="Event types stored for publication, in order.")
    event_ids: list[str]
