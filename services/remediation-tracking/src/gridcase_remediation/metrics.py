"""Prometheus metrics of remediation-tracking (names agreed across the project)."""

from prometheus_client import Counter, Gauge, Histogram

from gridcase_runtime.metrics import LATENCY_BUCKETS

CASES = Gauge("gridcase_cases", "Cases by current status.", ["status"])
TRANSITIONS = Counter(
    "gridcase_transitions_total", "Lifecycle actions applied to case projections.", ["action"]
)
ACTION_DURATION = Histogram(
    "gridcase_action_duration_seconds",
    "Time to decide and store an API action.",
    ["action"],
    buckets=LATENCY_BUCKETS,
)
OVERDUE_DETECTED = Counter(
    "gridcase_overdue_detected_total", "Stages found past their due date.", ["stage"]
)
LEDGER_BREAKS = Counter(
    "gridcase_ledger_breaks_total",
    "Cases whose ledger hash chain a check found broken (counted at every check).",
)
