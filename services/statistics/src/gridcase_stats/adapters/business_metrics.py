"""Prometheus gauges of the business figures, computed on scrape from a snapshot of the
case states.

prometheus_client calls `collect` in whichever thread serves /metrics, while the states
are written on the event loop; so the service refreshes the snapshot on the loop (see
`refresh`) and `collect` reads only that snapshot."""

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gridcase_stats.domain.case_state import load_states
from gridcase_stats.domain.figures import (
    Dimension,
    Metric,
    Scope,
    TableQuery,
    backlog_table,
    escalations_table,
    facts,
    leaderboard,
    on_time_rates,
    open_overdue_stages,
    open_table,
    overdue_open_table,
)
from gridcase_stats.ports import CaseSource

FAMILIES: dict[str, tuple[str, list[str]]] = {
    "gridcase_open_cases": ("Open cases.", ["category", "district"]),
    "gridcase_overdue_open_cases": (
        "Open cases overdue in a stage not yet completed.",
        ["stage", "department"],
    ),
    "gridcase_overdue_cases_by_department": (
        "Open cases overdue in any stage, per current department.",
        ["department"],
    ),
    "gridcase_resolution_rate": ("Resolved / found, all time.", ["district"]),
    "gridcase_on_time_rate": ("Stages done by their due date.", ["stage"]),
    "gridcase_escalation_levels": ("Escalations per ladder level, all time.", ["level"]),
    "gridcase_found_cases": ("Hazards found, all time.", ["category"]),
    "gridcase_resolved_cases": ("Cases resolved, all time.", ["category"]),
    "gridcase_backlog_cases": ("Open cases by age.", ["age_bucket"]),
}
"""Name -> (help, labels) of every gauge this collector yields."""


def gauge(name: str) -> GaugeMetricFamily:
    doc, labels = FAMILIES[name]
    return GaugeMetricFamily(name, doc, labels=labels)


class BusinessMetrics(Collector):
    """Yields the figures of the last snapshot; nothing while there is none."""

    def __init__(self) -> None:
        self.snapshot: list[dict[str, Any]] | None = None

    def refresh(self, source: CaseSource | None) -> None:
        """Takes a snapshot of `source` (none while its tables recover, or without a
        source); call it on the event loop."""
        self.snapshot = source.snapshot() if source is not None and source.recovered else None

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The families without samples, so the names are known before any data is."""
        return (gauge(name) for name in FAMILIES)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = self.snapshot
        if snapshot is None:
            return
        states = load_states(snapshot)
        query = TableQuery(now=time.time())

        open_cases = gauge("gridcase_open_cases")
        for row in open_table(states, query):
            open_cases.add_metric([row["category"], row["district"]], row["open"])
        yield open_cases

        overdue = gauge("gridcase_overdue_open_cases")
        for row in overdue_open_table(states, query):
            overdue.add_metric([row["stage"], row["department"]], row["overdue_open"])
        yield overdue

        by_department = Counter(state.department for state in states if open_overdue_stages(state))
        overdue_cases = gauge("gridcase_overdue_cases_by_department")
        for department, count in sorted(by_department.items()):
            overdue_cases.add_metric([department], count)
        yield overdue_cases

        resolution = gauge("gridcase_resolution_rate")
        for row in leaderboard(states, Scope(), Dimension.DISTRICT):
            if row["resolution_rate"] is not None:
                resolution.add_metric([row["district"]], row["resolution_rate"])
        yield resolution

        on_time = gauge("gridcase_on_time_rate")
        for stage, entry in on_time_rates(states).items():
            if entry["on_time_rate"] is not None:
                on_time.add_metric([stage], entry["on_time_rate"])
        yield on_time

        escalations = gauge("gridcase_escalation_levels")
        for row in escalations_table(states, query):
            escalations.add_metric([str(row["level"])], row["escalations"])
        yield escalations

        found = gauge("gridcase_found_cases")
        resolved = gauge("gridcase_resolved_cases")
        counted = Counter(
            (metric, state.category)
            for state in states
            for metric, _ in facts(state)
            if metric in (Metric.FOUND, Metric.RESOLVED)
        )
        for (metric, category), count in sorted(counted.items()):
            (found if metric is Metric.FOUND else resolved).add_metric([category], count)
        yield found
        yield resolved

        backlog = gauge("gridcase_backlog_cases")
        for row in backlog_table(states, query):
            backlog.add_metric([row["age_bucket"]], row["open"])
        yield backlog


BUSINESS_METRICS = BusinessMetrics()
REGISTRY.register(BUSINESS_METRICS)
