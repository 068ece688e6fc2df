"""Intake's own Prometheus metrics (the shared HTTP and publish metrics come from runtime)."""

from prometheus_client import Counter

from gridcase_contracts.codes import Category

CATEGORY_CODES = frozenset(category.value for category in Category)

REPORTS_ACCEPTED = Counter(
    "gridcase_reports_accepted_total",
    "Reports acknowledged by Kafka and answered 201.",
    ["category", "channel"],
)
REPORTS_REJECTED = Counter(
    "gridcase_reports_rejected_total",
    "Report submissions refused, by category (unknown if missing or invalid) and reason.",
    ["category", "reason"],
)
IDEMPOTENT_REPLAYS = Counter(
    "gridcase_idempotent_replays_total",
    "Submissions answered with the stored response of an earlier one with the same key.",
)
RATE_LIMITED = Counter(
    "gridcase_rate_limited_total",
    "Requests refused with 429, by the kind of caller (reporter, api_key, open311_reader).",
    ["kind"],
)


def rejected(reason: str, category: object = None) -> None:
    """Counts a refused submission under its category as sent, if that is a known code."""
    known = category if isinstance(category, str) and category in CATEGORY_CODES else "unknown"
    REPORTS_REJECTED.labels(category=known, reason=reason).inc()
