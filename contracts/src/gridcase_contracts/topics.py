"""Kafka topics, their partition counts and the producer of each event type."""

from dataclasses import dataclass


def namespaced(name: str, namespace: str) -> str:
    """A topic's or consumer group's name under a namespace prefix (none: the name itself)."""
    return f"{namespace}.{name}" if namespace else name


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int = -1
    """-1 keeps records forever: the case-events topic is the system's replayable history."""

    def namespaced(self, namespace: str) -> "TopicSpec":
        """The same topic under a namespace prefix, used to isolate test runs on one broker."""
        if not namespace:
            return self
        return TopicSpec(namespaced(self.name, namespace), self.partitions, self.retention_ms)


CASE_EVENTS = TopicSpec("gridcase.case-events", partitions=6)
"""Every event of every case, keyed by case_id so one case's events keep their order."""

CASE_EVENTS_DLQ = TopicSpec("gridcase.case-events.dlq", partitions=1, retention_ms=30 * 86_400_000)
"""Records that could not be parsed or violated their schema, with error headers."""

ALL_TOPICS = (CASE_EVENTS, CASE_EVENTS_DLQ)


class Headers:
    """Kafka header names carried by every case event."""

    EVENT_TYPE = "event_type"
    SCHEMA_VERSION = "schema_version"
    TRACEPARENT = "traceparent"
    INGEST_TS = "ingest_ts_ns"
    """Wall-clock nanoseconds when intake accepted the report, for end-to-end latency."""

    DLQ_ERROR = "dlq_error"
    DLQ_ERROR_TYPE = "dlq_error_type"
    DLQ_SOURCE = "dlq_source"
    """topic/partition/offset of the dead-lettered record."""
    DLQ_CONSUMER = "dlq_consumer"
