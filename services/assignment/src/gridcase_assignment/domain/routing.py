"""The dispatch catalogue's lookup, the candidates after a return, and handler choice."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from gridcase_contracts.codes import Category, District

ANY_DISTRICT = "*"


@dataclass(frozen=True)
class CatalogueEntry:
    """Who handles `category` in `district` ("*": every district without its own entry)."""

    category: Category
    district: str
    lead: str
    co_departments: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return catalogue_key(self.category, self.district)


@dataclass(frozen=True)
class Route:
    lead: str
    co_departments: tuple[str, ...]
    fallback: str
    reason: Literal["catalogue", "fallback"]

    @property
    def candidates(self) -> tuple[str, ...]:
        """Departments in the order they are tried: lead, co-handling, district government."""
        return tuple(dict.fromkeys((self.lead, *self.co_departments, self.fallback)))


@dataclass(frozen=True)
class RoutingTables:
    """The catalogue and who is on duty, read once for a consumed batch of events (admin
    changes take effect with the next batch)."""

    catalogue: Mapping[str, CatalogueEntry]
    on_duty: Mapping[str, tuple[str, ...]]
    """Department code -> ids of its handlers on duty."""

    def on_duty_in(self, department: str) -> tuple[str, ...]:
        return self.on_duty.get(department, ())


def catalogue_key(category: Category | str, district: str) -> str:
    return f"{category}/{district}"


def district_government(district: District) -> str:
    return f"district-{district.value.lower()}"


def route_for(
    catalogue: Mapping[str, CatalogueEntry], category: Category, district: District
) -> Route:
    """The district's own entry, else the category's, else the district government."""
    fallback = district_government(district)
    entry = catalogue.get(catalogue_key(category, district.value)) or catalogue.get(
        catalogue_key(category, ANY_DISTRICT)
    )
    if entry is None:
        return Route(fallback, (), fallback, "fallback")
    return Route(entry.lead, entry.co_departments, fallback, "catalogue")


def next_candidate(candidates: Sequence[str], tried: Iterable[str]) -> str | None:
    """The first candidate department that has not had the case yet."""
    seen = set(tried)
    return next((department for department in candidates if department not in seen), None)


@dataclass(frozen=True)
class HandlerLoad:
    handler_id: str
    open_cases: int
    last_assigned_at: datetime | None


NEVER = datetime.min.replace(tzinfo=UTC)


def choose_handler(on_duty: Iterable[HandlerLoad]) -> str | None:
    """Least open workload, then longest idle (never assigned counts as idlest), then id;
    None: nobody is on duty and the case waits in the department queue."""
    ranked = sorted(
        on_duty, key=lambda h: (h.open_cases, h.last_assigned_at or NEVER, h.handler_id)
    )
    return ranked[0].handler_id if ranked else None
