"""Intake's own Prometheus metrics (the shared HTTP and publish metrics come from runtime)."""

from prometheus_client import Counter

REPORTS_ACCEPTED = Counter(
    "gridcase_reports_accepted_total",
    "Reports acknowledged by Kafka and answered 201.",
    ["category", "channel"],
)
REPORTS_REJECTED = Counter(
    "gridcase_reports_rejected_total",
    "Report submissions refused, by reason.",
    ["reason"],
)
IDEMPOTENT_REPLAYS = Counter(
    "gridcase_idempotent_replays_total",
    "Submissions answered with the stored response of an earlier one with the same key.",
)
RATE_LIMITED = Counter(
    "gridcase_rate_limited_total",
    "Submissions refused with 429, by the kind of caller.",
    ["kind"],
)
