"""HTTP API: summary, time series, leaderboard, period report, table export, chart.

Readers: supervisors and admins see every figure; a handler sees the figures of their own
department only (the department filter is fixed to theirs); volunteers may not read.
Every figure is answered only once the tables have recovered (503 before)."""

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response, status

from gridcase_contracts.codes import CITY_TIME_ZONE, Category, District
from gridcase_runtime.app import serve
from gridcase_runtime.audit import record_access
from gridcase_runtime.auth import Principal, Role, require_roles
from gridcase_runtime.boundaries import Area, load_boundaries
from gridcase_runtime.csv_text import csv_response
from gridcase_runtime.service import components_of, service_app
from gridcase_stats.adapters.charts import Language, found_vs_resolved_png
from gridcase_stats.bootstrap import Components, bootstrap
from gridcase_stats.config import SERVICE, StatsSettings
from gridcase_stats.domain.case_state import CaseState, load_states
from gridcase_stats.domain.figures import (
    RANKS,
    TABLES,
    Dimension,
    Metric,
    Scope,
    TableQuery,
    all_figures,
    leaderboard,
    summary,
    timeseries,
)
from gridcase_stats.domain.periods import Interval, window_bound, year_window
from gridcase_stats.domain.report import report
from gridcase_stats.ports import CaseSource

Reader = Annotated[Principal, require_roles(Role.SUPERVISOR, Role.ADMIN, Role.HANDLER)]


def invalid(name: str, message: str) -> HTTPException:
    """A 422 naming the query parameter, in the shape of FastAPI's own validation errors."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"loc": ["query", name], "msg": message, "type": "value_error"}],
    )


def _bound(name: str, value: str | None, *, end: bool) -> float | None:
    if value is None:
        return None
    try:
        parsed: date | datetime = (
            date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        )
        return window_bound(parsed, end=end)
    except ValueError as error:
        raise invalid(name, f"not an ISO date or datetime: {error}") from error
    except OverflowError as error:
        raise invalid(name, f"out of the calendar's range: {error}") from error


@dataclass(frozen=True)
class Filters:
    """Query filters shared by every figure endpoint."""

    start: float | None
    end: float | None
    district: str | None
    category: str | None
    department: str | None
    team: str | None


def filters(
    from_: Annotated[
        str | None,
        Query(alias="from", description="ISO date (a whole city day) or datetime, inclusive."),
    ] = None,
    to: Annotated[
        str | None,
        Query(description="ISO date (inclusive, the whole city day) or datetime (exclusive)."),
    ] = None,
    district: District | None = None,
    category: Category | None = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    team: Annotated[str | None, Query(max_length=64)] = None,
) -> Filters:
    start, end = _bound("from", from_, end=False), _bound("to", to, end=True)
    if start is not None and end is not None and start >= end:
        raise invalid("to", "`to` must be after `from`")
    return Filters(
        start,
        end,
        district.value if district else None,
        category.value if category else None,
        department,
        team,
    )


FilterParams = Annotated[Filters, Depends(filters)]


def scope_for(principal: Principal, given: Filters, *, window: bool = True) -> Scope:
    """The scope a caller may see: handlers only their own department."""
    department = given.department
    if principal.role is Role.HANDLER:
        if department not in (None, principal.department):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"a handler sees only the figures of department {principal.department}",
            )
        department = principal.department
    return Scope(
        start=given.start if window else None,
        end=given.end if window else None,
        district=given.district,
        category=given.category,
        department=department,
        team=given.team,
    )


async def recovered_snapshot(
    components: Annotated[Components, Depends(components_of)],
) -> list[dict[str, Any]]:
    """A copy of the stored case states, or 503 while the tables are still recovering.
    Async, so it runs on the event loop, where the agent writes the table."""
    if not components.source.recovered:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "statistics tables are recovering; try again shortly",
            headers={"Retry-After": "5"},
        )
    return components.source.snapshot()


def recovered_states(
    snapshot: Annotated[list[dict[str, Any]], Depends(recovered_snapshot)],
) -> list[CaseState]:
    """The case states of the snapshot, parsed in a worker thread, off the event loop."""
    return load_states(snapshot)


States = Annotated[list[CaseState], Depends(recovered_states)]


def _window(scope: Scope) -> dict[str, str | None]:
    def iso(at: float | None) -> str | None:
        return None if at is None else datetime.fromtimestamp(at, tz=CITY_TIME_ZONE).isoformat()

    return {"from": iso(scope.start), "to": iso(scope.end)}


def _filters(scope: Scope) -> dict[str, str | None]:
    return {
        "district": scope.district,
        "category": scope.category,
        "department": scope.department,
        "team": scope.team,
    }


router = APIRouter(
    prefix="/v1/stats",
    tags=["statistics"],
    responses={503: {"description": "the tables are still recovering; see Retry-After"}},
)


@router.get("/summary")
def get_summary(principal: Reader, given: FilterParams, states: States) -> dict[str, Any]:
    """Counts in the window (by event time), the window's cases now, and the rates."""
    scope = scope_for(principal, given)
    return {**_window(scope), "filters": _filters(scope), **summary(states, scope)}


@router.get("/timeseries")
def get_timeseries(
    principal: Reader,
    given: FilterParams,
    states: States,
    metric: Metric = Metric.FOUND,
    interval: Literal["day", "week", "month", "year"] = "day",
    group_by: Dimension | None = None,
) -> dict[str, Any]:
    """One metric per city day, ISO week, month or year, optionally per group."""
    scope = scope_for(principal, given)
    points = timeseries(states, scope, metric, Interval(interval), group_by)
    return {
        "metric": metric.value,
        "interval": interval,
        "group_by": group_by.value if group_by else None,
        **_window(scope),
        "filters": _filters(scope),
        "points": points,
    }


@router.get("/leaderboard")
def get_leaderboard(
    request: Request,
    principal: Reader,
    given: FilterParams,
    states: States,
    by: Dimension = Dimension.DISTRICT,
    rank: Annotated[str, Query(description=f"One of: {', '.join(RANKS)}.")] = "resolution_rate",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Districts, departments, teams or categories ranked by a rate (highest first);
    districts with their names."""
    if rank not in RANKS:
        raise invalid("rank", f"rank must be one of {', '.join(RANKS)}")
    scope = scope_for(principal, given)
    entries = leaderboard(states, scope, by, rank, limit)
    if by == Dimension.DISTRICT:
        boundaries = load_boundaries(request.app.state.settings.boundaries_file)
        entries = [{**entry, **_names(boundaries.named(entry["district"]))} for entry in entries]
    return {
        "by": by.value,
        "rank": rank,
        **_window(scope),
        "filters": _filters(scope),
        "entries": entries,
    }


def _names(area: Area | None) -> dict[str, str | None]:
    """A district's Chinese and English names from the city's boundaries."""
    if area is None:
        return {"name_zh": None, "name_en": None}
    return {"name_zh": area.name_zh, "name_en": area.name_en}


@router.get("/report")
def get_report(
    principal: Reader,
    given: FilterParams,
    states: States,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    """The period report: counts and the sentence in the seed's form (text_zh, text_en).
    The period is `year`, or `from`/`to`, or else the current city year."""
    if year is not None and (given.start is not None or given.end is not None):
        raise invalid("year", "give either year or from/to, not both")
    if year is None and given.start is None and given.end is None:
        year = datetime.now(CITY_TIME_ZONE).year
    scope = scope_for(principal, given)
    if year is not None:
        start, end = year_window(year)
        scope = Scope(start, end, scope.district, scope.category, scope.department, scope.team)
    return {"year": year, **_window(scope), "filters": _filters(scope), **report(states, scope)}


@router.get("/figures")
def get_figures(principal: Reader, given: FilterParams, states: States) -> dict[str, Any]:
    """Every clock-independent table over all time (what reconciliation compares)."""
    scope = scope_for(principal, given, window=False)
    if scope != Scope():
        states = [state for state in states if scope.covers_case(state)]
    return {"tables": all_figures(states)}


@router.get(
    "/export/{table}",
    response_model=None,
    responses={
        200: {"content": {"text/csv": {}, "application/json": {}}},
        404: {"description": "no such table"},
    },
)
def export_table(
    request: Request,
    table: str,
    principal: Reader,
    given: FilterParams,
    states: States,
    format: Literal["csv", "json"] = "csv",
    interval: Literal["day", "week", "month", "year"] = "day",
    group_by: Dimension | None = None,
) -> Response | dict[str, Any]:
    """Any table as CSV (default) or JSON: counts (per period x district x category x
    department x team), open, overdue_open, backlog, on_time, durations, participation,
    escalations, leaderboard."""
    if table not in TABLES:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no table {table!r}; tables: {', '.join(TABLES)}"
        )
    query = TableQuery(scope_for(principal, given), Interval(interval), group_by, time.time())
    rows = TABLES[table](states, query)
    record_access(request, principal, "figures.export", resource=table, count=len(rows))
    if format == "json":
        return {"table": table, "rows": rows}
    return csv_response(rows, f"{table}.csv")


@router.get("/chart.png", response_class=Response)
def get_chart(
    principal: Reader,
    given: FilterParams,
    states: States,
    interval: Literal["day", "week", "month", "year"] = "month",
    lang: Annotated[Language, Query(description="Labels: zh (default) or en.")] = "zh",
) -> Response:
    """PNG for reports: found vs resolved by category (one period) or over the periods."""
    scope = scope_for(principal, given)
    series: dict[Metric, dict[str, dict[str, int]]] = {}
    for metric in (Metric.FOUND, Metric.RESOLVED):
        grouped: defaultdict[str, dict[str, int]] = defaultdict(dict)
        for point in timeseries(states, scope, metric, Interval(interval), Dimension.CATEGORY):
            grouped[point["category"]][point["period"]] = point["value"]
        series[metric] = dict(grouped)
    png = found_vs_resolved_png(
        series[Metric.FOUND], series[Metric.RESOLVED], interval=interval, language=lang
    )
    return Response(png, media_type="image/png")


def create_app(
    settings: StatsSettings | None = None, *, source: CaseSource | None = None
) -> FastAPI:
    """The statistics service over `source` (by default the live stream, which starts and
    stops with the app)."""
    settings = settings or StatsSettings()
    load_boundaries(settings.boundaries_file)  # a file it cannot use stops it here
    app = service_app(
        bootstrap(settings, source),
        service=SERVICE,
        settings=settings,
        title="gridcase statistics",
        description="Figures of the grassroots governance cases: counts, rates, stage "
        "times, backlog, period reports.",
    )
    app.include_router(router)
    return app


def main() -> None:
    """Console script `gridcase-statistics`."""
    settings = StatsSettings()
    serve(create_app(settings), settings, SERVICE)
