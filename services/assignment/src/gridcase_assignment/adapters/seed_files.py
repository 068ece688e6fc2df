"""Reads the YAML seed files: catalogue, registry, SLA policy and working calendar (with
China's public holidays and make-up working days from the `holidays` package)."""

from datetime import date
from pathlib import Path
from typing import Any

import holidays
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
    covered_until: date | None = None


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


NATIONAL_YEARS_BACK, NATIONAL_YEARS_AHEAD = 5, 11
"""Years of national holidays loaded around this one (a deadline is searched ten years on)."""


def national_calendar(years: range) -> tuple[frozenset[date], frozenset[date], date]:
    """China's public holidays and make-up working days in `years`, and the last day of the
    last year whose State Council notice (make-up days included) the package holds; later
    years have the statutory holidays only, estimated from the lunar calendar."""
    china = holidays.country_holidays("CN", years=years)
    makeup_days = frozenset(day for day in china.weekend_workdays if day.year in years)
    covered_year = max((day.year for day in makeup_days), default=years.start - 1)
    return frozenset(china), makeup_days, date(covered_year, 12, 31)


def load_calendar(settings: AssignmentSettings, today: date | None = None) -> WorkingCalendar:
    """The national calendar with the file's and the settings' days added (the city's own
    holidays, a year's notice the package does not hold yet); the file's `covered_until`
    extends the coverage when it lists such a year."""
    calendar = _Calendar.model_validate(_read(settings.calendar_file))
    year = (today or date.today()).year
    national_holidays, national_makeup_days, covered_until = national_calendar(
        range(year - NATIONAL_YEARS_BACK, year + NATIONAL_YEARS_AHEAD)
    )
    return WorkingCalendar(
        periods=parse_periods(settings.working_hours or calendar.working_hours),
        holidays=national_holidays | {*calendar.holidays, *settings.extra_holidays},
        makeup_days=national_makeup_days | {*calendar.makeup_days, *settings.extra_makeup_days},
        covered_until=max(covered_until, calendar.covered_until or covered_until),
    )
