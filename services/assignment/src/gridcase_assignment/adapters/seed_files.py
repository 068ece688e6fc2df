"""Reads the YAML seed files: catalogue, registry, SLA policy and working calendar."""

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.domain.calendar import WorkingCalendar, parse_periods
from gridcase_assignment.domain.registry import Department, Handler
from gridcase_assignment.domain.routing import ANY_DISTRICT, CatalogueEntry
from gridcase_assignment.domain.sla import SlaPolicy, StageHours
from gridcase_contracts.codes import Category, District, Severity

CODE = r"^[a-z0-9][a-z0-9-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Entry(_Strict):
    category: Category
    district: str = Field(pattern=rf"^(\{ANY_DISTRICT}|{'|'.join(d.value for d in District)})$")
    lead: str = Field(pattern=CODE)
    co_departments: list[str] = Field(default_factory=list)


class _Catalogue(_Strict):
    entries: list[_Entry]


class _Department(_Strict):
    code: str = Field(pattern=CODE)
    name: str
    head: str | None = None
    handlers: list[str] = Field(default_factory=list)


class _Registry(_Strict):
    departments: list[_Department]


class _Hours(_Strict):
    accept: float = Field(gt=0)
    first_response: float = Field(gt=0)
    resolve: float = Field(gt=0)
    verify: float = Field(gt=0)


class _Sla(_Strict):
    defaults: dict[Severity, _Hours]
    categories: dict[Category, dict[Severity, _Hours]] = Field(default_factory=dict)


class _Calendar(_Strict):
    working_hours: str
    holidays: list[date] = Field(default_factory=list)
    makeup_days: list[date] = Field(default_factory=list)


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as file:
        return yaml.safe_load(file)


def load_catalogue(path: Path) -> list[CatalogueEntry]:
    catalogue = _Catalogue.model_validate(_read(path))
    return [
        CatalogueEntry(e.category, e.district, e.lead, tuple(e.co_departments))
        for e in catalogue.entries
    ]


def load_registry(path: Path) -> tuple[list[Department], list[Handler]]:
    """Departments and handlers; each head is a handler of its department, off duty."""
    registry = _Registry.model_validate(_read(path))
    departments = [Department(d.code, d.name, d.head) for d in registry.departments]
    handlers = []
    for department in registry.departments:
        handlers += [
            Handler(handler_id, department.code, f"{department.code} handler {handler_id}")
            for handler_id in department.handlers
        ]
        if department.head:
            handlers.append(
                Handler(department.head, department.code, f"head of {department.code}", False)
            )
    return departments, handlers


def load_sla_policy(settings: AssignmentSettings) -> SlaPolicy:
    sla = _Sla.model_validate(_read(settings.sla_file))
    missing = set(Severity) - set(sla.defaults)
    if missing:
        raise ValueError(f"{settings.sla_file}: defaults lack severities {sorted(missing)}")
    return SlaPolicy(
        defaults={severity: StageHours(**h.model_dump()) for severity, h in sla.defaults.items()},
        by_category={
            (category, severity): StageHours(**h.model_dump())
            for category, by_severity in sla.categories.items()
            for severity, h in by_severity.items()
        },
        scale=settings.sla_scale,
        working_calendar=settings.sla_working_calendar,
    )


def load_calendar(settings: AssignmentSettings) -> WorkingCalendar:
    calendar = _Calendar.model_validate(_read(settings.calendar_file))
    return WorkingCalendar(
        periods=parse_periods(settings.working_hours or calendar.working_hours),
        holidays=frozenset([*calendar.holidays, *settings.extra_holidays]),
        makeup_days=frozenset([*calendar.makeup_days, *settings.extra_makeup_days]),
    )
