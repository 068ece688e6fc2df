"""The assignment service's own Prometheus metrics."""

from prometheus_client import Counter, Gauge, Histogram

from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import CaseAssigned, CaseEscalated, CaseReassigned
from gridcase_runtime.metrics import LATENCY_BUCKETS

ASSIGNMENTS = Counter(
    "gridcase_assignments_total",
    "Cases assigned or reassigned, by department and reason.",
    ["department", "reason"],
)
DUPLICATES = Counter("gridcase_duplicates_total", "Reports merged into an open case.", ["category"])
RETURNS = Counter(
    "gridcase_returns_total", "Cases returned as not ours, by returning department.", ["department"]
)
ESCALATIONS = Counter("gridcase_escalations_total", "Escalation notices by level.", ["level"])
DECISION_SECONDS = Histogram(
    "gridcase_assignment_decision_seconds",
    "Time to decide and store a routing decision.",
    buckets=LATENCY_BUCKETS,
)
CALENDAR_COVERED_UNTIL = Gauge(
    "gridcase_working_calendar_covered_until_timestamp_seconds",
    "End of the last day whose public holidays and make-up days the working calendar holds.",
)
DUE_DATES_BEYOND_CALENDAR = Counter(
    "gridcase_due_dates_beyond_calendar_total",
    "Due dates in working time computed past the working calendar's last published day.",
)
SUPERVISOR_QUEUE_SIZE = Gauge(
    "gridcase_supervisor_queue_size", "Open cases waiting in the supervisor queue."
)


def count_emitted(events: tuple[Envelope, ...], *, category: str) -> None:
    """Counts the decisions that `events` announce (call once they are stored)."""
    for event in events:
        if isinstance(event, CaseAssigned):
            ASSIGNMENTS.labels(event.payload.department, event.payload.reason).inc()
        elif isinstance(event, CaseReassigned):
            reason = "supervisor-queue" if event.payload.supervisor_queue else "reassign"
            ASSIGNMENTS.labels(event.payload.department, reason).inc()
        elif event.event_type == "CaseMarkedDuplicate":
            DUPLICATES.labels(category).inc()
        elif isinstance(event, CaseEscalated):
            ESCALATIONS.labels(str(event.payload.level)).inc()
