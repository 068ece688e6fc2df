"""The figures, derived from the case states at query time.

Counts (found, resolved, ...) are counted in the period in which their event happened;
stocks (open, overdue, backlog) describe the cases reported in the window as they are now.
Every function takes the states and returns plain rows, so the live service and the
reconciliation compute exactly the same way."""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ddsketch import DDSketch

from gridcase_contracts.codes import CaseStatus, Stage
from gridcase_stats.domain.case_state import CaseState
from gridcase_stats.domain.periods import Interval, period_key


class Metric(StrEnum):
    REPORTED = "reported"
    """Every report, duplicates included."""
    FOUND = "found"
    """Distinct hazards found (排查): reports not merged into another case."""
    RESOLVED = "resolved"
    """Cases resolved (化解) and not reopened since, at their latest resolution."""
    CLOSED = "closed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    RETURNED = "returned"
    REOPENED = "reopened"
    OVERDUE = "overdue"
    ESCALATED = "escalated"


class Dimension(StrEnum):
    DISTRICT = "district"
    CATEGORY = "category"
    DEPARTMENT = "department"
    TEAM = "team"


DURATION_STAGES: dict[str, tuple[str, str]] = {
    "dispatch": ("reported_at", "first_assigned_at"),
    "accept": ("first_assigned_at", "accepted_at"),
    "first_response": ("first_assigned_at", "first_response_at"),
    "resolve": ("reported_at", "first_resolved_at"),
    "verify": ("first_resolved_at", "verification_at"),
}
"""Stage durations: from one milestone of a case to another."""

AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("0-1d", 1),
    ("1-3d", 3),
    ("3-7d", 7),
    ("7-30d", 30),
    ("30d+", float("inf")),
)
"""Backlog age buckets: label and upper bound in days (exclusive)."""

SKETCH_ACCURACY = 0.01
"""Relative accuracy of the duration quantiles."""


@dataclass(frozen=True)
class Scope:
    """Which cases and events a figure covers: a time window [start, end) and dimensions."""

    start: float | None = None
    end: float | None = None
    district: str | None = None
    category: str | None = None
    department: str | None = None
    team: str | None = None

    def covers_case(self, state: CaseState) -> bool:
        return all(
            wanted is None or dimension_value(state, dimension) == wanted
            for dimension, wanted in (
                (Dimension.DISTRICT, self.district),
                (Dimension.CATEGORY, self.category),
                (Dimension.DEPARTMENT, self.department),
                (Dimension.TEAM, self.team),
            )
        )

    def contains(self, at: float | None) -> bool:
        return (
            at is not None
            and (self.start is None or at >= self.start)
            and (self.end is None or at < self.end)
        )


def dimension_value(state: CaseState, dimension: Dimension) -> str:
    value = getattr(state, dimension.value)
    return str(value) if value is not None else "none"


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def facts(state: CaseState) -> Iterator[tuple[Metric, float]]:
    """Every countable fact of a case with the time it happened."""
    if state.reported_at is not None:
        yield Metric.REPORTED, state.reported_at
        if state.status != CaseStatus.DUPLICATE:
            yield Metric.FOUND, state.reported_at
    if state.is_resolved and state.resolved_at is not None:
        yield Metric.RESOLVED, state.resolved_at
    for metric, status, at in (
        (Metric.CLOSED, CaseStatus.CLOSED, state.closed_at),
        (Metric.REJECTED, CaseStatus.REJECTED, state.rejected_at),
        (Metric.DUPLICATE, CaseStatus.DUPLICATE, state.duplicate_at),
    ):
        if state.status == status and at is not None:
            yield metric, at
    for at in state.returns:
        yield Metric.RETURNED, at
    for at in state.reopens:
        yield Metric.REOPENED, at
    for _, at in state.overdue:
        yield Metric.OVERDUE, at
    for _, at in state.escalations:
        yield Metric.ESCALATED, at


def in_scope(states: Iterable[CaseState], scope: Scope) -> list[CaseState]:
    return [state for state in states if scope.covers_case(state)]


def cohort(states: Iterable[CaseState], scope: Scope) -> list[CaseState]:
    """Cases of the scope reported within its window."""
    return [state for state in in_scope(states, scope) if scope.contains(state.reported_at)]


def totals(states: Iterable[CaseState], scope: Scope) -> dict[str, int]:
    counted: Counter[str] = Counter({metric.value: 0 for metric in Metric})
    for state in in_scope(states, scope):
        counted.update(metric.value for metric, at in facts(state) if scope.contains(at))
    return dict(counted)


def stage_outcome(state: CaseState, stage: str) -> bool | None:
    """True: done on time; False: late; None: no due date or not decided yet."""
    due = state.due.get(stage)
    if due is None:
        return None
    if stage in state.overdue_stages():
        return False
    done = state.stage_completed_at(stage)
    return None if done is None else done <= due


def open_overdue_stages(state: CaseState) -> set[str]:
    """Stages the open case is overdue in and has not completed yet."""
    if not state.is_open:
        return set()
    return {stage for stage in state.overdue_stages() if state.stage_completed_at(stage) is None}


def on_time_rates(states: Iterable[CaseState]) -> dict[str, dict[str, Any]]:
    outcomes = {stage.value: Counter[bool]() for stage in Stage}
    for state in states:
        for stage, counter in outcomes.items():
            outcome = stage_outcome(state, stage)
            if outcome is not None:
                counter[outcome] += 1
    return {
        stage: {
            "on_time": counter[True],
            "late": counter[False],
            "on_time_rate": rate(counter[True], counter[True] + counter[False]),
        }
        for stage, counter in outcomes.items()
    }


def summary(states: Iterable[CaseState], scope: Scope) -> dict[str, Any]:
    """Counts in the window, the window's cases as they are now, and the rates."""
    states = list(states)
    counts = totals(states, scope)
    cases = cohort(states, scope)
    stages = on_time_rates(cases)
    decided = sum(entry["on_time"] + entry["late"] for entry in stages.values())
    ever_resolved = [state for state in cases if state.first_resolved_at is not None]
    confirmed = [state for state in cases if state.satisfied is not None]
    return {
        **counts,
        "open": sum(state.is_open for state in cases),
        "overdue_open": sum(bool(open_overdue_stages(state)) for state in cases),
        "escalated_cases": sum(bool(state.escalations) for state in cases),
        "resolution_rate": rate(counts[Metric.RESOLVED], counts[Metric.FOUND]),
        "on_time_rate": rate(sum(entry["on_time"] for entry in stages.values()), decided),
        "on_time_by_stage": {stage: entry["on_time_rate"] for stage, entry in stages.items()},
        "reopen_rate": rate(
            sum(bool(state.reopens) for state in ever_resolved), len(ever_resolved)
        ),
        "satisfaction_rate": rate(
            sum(bool(state.satisfied) for state in confirmed), len(confirmed)
        ),
    }


def timeseries(
    states: Iterable[CaseState],
    scope: Scope,
    metric: Metric,
    interval: Interval,
    group_by: Dimension | None = None,
) -> list[dict[str, Any]]:
    """Counts of one metric per period (and group), in period order."""
    counted: Counter[tuple[str, str]] = Counter()
    for state in in_scope(states, scope):
        group = dimension_value(state, group_by) if group_by else "all"
        for fact, at in facts(state):
            if fact is metric and scope.contains(at):
                counted[(period_key(at, interval), group)] += 1
    return [
        {"period": period, **({group_by.value: group} if group_by else {}), "value": value}
        for (period, group), value in sorted(counted.items())
    ]


# --- tables (each is exportable and reconcilable) ------------------------------------


@dataclass(frozen=True)
class TableQuery:
    scope: Scope = Scope()
    interval: Interval = Interval.DAY
    group_by: Dimension | None = None
    now: float = 0.0


Row = dict[str, Any]


def counts_table(states: Iterable[CaseState], query: TableQuery) -> list[Row]:
    """Counts per period x district x category x department x team."""
    counted: defaultdict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for state in in_scope(states, query.scope):
        dims = tuple(dimension_value(state, dimension) for dimension in Dimension)
        for metric, at in facts(state):
            if query.scope.contains(at):
                counted[(period_key(at, query.interval), *dims)][metric.value] += 1
    return [
        {
            "period": key[0],
            **{dimension.value: value for dimension, value in zip(Dimension, key[1:], strict=True)},
            **{metric.value: counter[metric.value] for metric in Metric},
        }
        for key, counter in sorted(counted.items())
    ]


def open_table(states: Iterable[CaseState], query: TableQuery) -> list[Row]:
    """Open cases by category and district."""
    counted = Counter(
        (state.category, state.district) for state in cohort(states, query.scope) if state.is_open
    )
    return [
        {"category": category, "district": district, "open": count}
        for (category, district), count in sorted(counted.items())
    ]


def overdue_open_table(states: Iterable[CaseState], query: TableQuery) -> list[Row]:
    """Open cases overdue in a stage they have not completed, by stage and department."""
    counted = Counter(
        (stage, state.department)
        for state in cohort(states, query.scope)
        for stage in open_overdue_stages(state)
    )
    return [
        {"stage": stage, "department": department, "overdue_open": count}
        for (stage, department), count in sorted(counted.items())
    ]


def backlog_table(states: Iterable[CaseState], query: TableQuery) -> list[Row]:
    """Open cases by age (from report to `now`)."""
    counted = Counter({label: 0 for label, _ in AGE_BUCKETS})
    for state in cohort(states, query.scope):
        if state.is_open and state.reported_at is not None:
            age_days = (query.now - state.reported_at) / 86_400
            counted[next(label for label, bound in AGE_BUCKETS if age_days < bound)] += 1
    return [{"age_bucket": label, "open": counted[label]} for label, _ in AGE_BUCKETS]


def _groups(states: Iterable[CaseState], group_by: Dimension | None) -> dict[str, list[CaseState]]:
    grouped: defaultdict[str, list[CaseState]] = defaultdict(list)
    for state in states:
        grouped[dimension_value(state, group_by) if group_by else "all"].append(state)
    return dict(sorted(grouped.items()))


def on_time_table(states: Iterable[CaseState], query: TableQuery) -> list[Row]:
    """On-time rate per stage (and group) of the window's cases."""
    label = query.group_by.value if query.group_by else "group"
    return [
        {label: group, "stage": stage, **entry}
        for group, members in _groups(cohort(states, query.scope), query.group_by).items()
        for stage, entry in on_time_rates(members).items()
    ]


def _quantile(sketch: DDSketch, quantile: float) -> float | None:
    value = sketch.get_quantile_value(quantile) if sketch.count else None
    return None if value is None else round(float(value), 3)


def durations_table(states: Iterable[CaseState], query: TableQuery) -> list[Row]:
    """Median and p90 of each stage's duration in seconds, from a mergeable sketch."""
    label = query.group_by.value if query.group_by else "group"
    rows = []
    for group, members in _groups(cohort(states, query.scope), query.group_by).items():
        for stage, (start_field, end_field) in DURATION_STAGES.items():
            sketch = DDSketch(relative_accuracy=SKETCH_ACCURACY)
            for state in members:
                start, end = getattr(state, start_field), getattr(state, end_field)
                if start is not None and end is not None:
                    sketch.add(max(end - start, 0.0))
            count = int(sketch.count)
            rows.append(
                {
                    label: group,
                    "stage": stage,
                    "count": count,
                    "median_s": _quantile(sketch, 0.5),
                    "p90_s": _quantile(sketch, 0.9),
                }
            )
    return rows


def participation_table(states: Iterable[CaseState], query: TableQuery) -> list[Row]:
    """Volunteer participation per team: person-times (人次, reports made) and volunteers."""
    reports: Counter[str] = Counter()
    volunteers: defaultdict[str, set[str]] = defaultdict(set)
    for state in cohort(states, query.scope):
        if state.team is not None:
            reports[state.team] += 1
            if state.reporter is not None:
                volunteers[state.team].add(state.reporter)
    return [
        {"team": team, "person_times": count, "volunteers": len(volunteers[team])}
        for team, count in sorted(reports.items())
    ]


def escalations_table(states: Iterable[CaseState], query: TableQuery) -> list[Row]:
    """Escalations per level within the window."""
    counted = Counter(
        level
        for state in in_scope(states, query.scope)
        for level, at in state.escalations
        if query.scope.contains(at)
    )
    return [{"level": level, "escalations": count} for level, count in sorted(counted.items())]


def leaderboard_table(states: Iterable[CaseState], query: TableQuery) -> list[Row]:
    """Districts, departments or teams with their counts and rates, best resolution first."""
    return leaderboard(states, query.scope, query.group_by or Dimension.DISTRICT, "resolution_rate")


RANKS = ("resolution_rate", "on_time_rate", "found", "resolved", "overdue")


def leaderboard(
    states: Iterable[CaseState],
    scope: Scope,
    by: Dimension,
    rank: str = "resolution_rate",
    limit: int | None = None,
) -> list[Row]:
    """Groups ranked by `rank` (highest first; groups without a rate last)."""
    if rank not in RANKS:
        raise ValueError(f"rank must be one of {', '.join(RANKS)}")
    rows = []
    for group, members in _groups(in_scope(states, scope), by).items():
        figures = summary(members, scope)
        rows.append(
            {
                by.value: group,
                "found": figures[Metric.FOUND],
                "resolved": figures[Metric.RESOLVED],
                "overdue": figures[Metric.OVERDUE],
                "resolution_rate": figures["resolution_rate"],
                "on_time_rate": figures["on_time_rate"],
            }
        )
    rows.sort(key=lambda row: (row[rank] is None, -(row[rank] or 0), -row["found"], row[by.value]))
    ranked = [{"rank": place, **row} for place, row in enumerate(rows, start=1)]
    return ranked[:limit] if limit else ranked


TableBuilder = Callable[[Iterable[CaseState], TableQuery], list[Row]]

TABLES: dict[str, TableBuilder] = {
    "counts": counts_table,
    "open": open_table,
    "overdue_open": overdue_open_table,
    "backlog": backlog_table,
    "on_time": on_time_table,
    "durations": durations_table,
    "participation": participation_table,
    "escalations": escalations_table,
    "leaderboard": leaderboard_table,
}
"""Every table by its export name."""

RECONCILED_TABLES = (
    "counts",
    "open",
    "overdue_open",
    "on_time",
    "durations",
    "participation",
    "escalations",
)
"""Tables compared by reconciliation: everything that does not depend on the clock."""


def all_figures(states: Iterable[CaseState]) -> dict[str, list[Row]]:
    """Every reconciled table over all time, as the reconciliation compares them."""
    states = list(states)
    return {name: TABLES[name](states, TableQuery()) for name in RECONCILED_TABLES}
