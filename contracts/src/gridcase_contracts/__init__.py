"""gridcase event contracts: the only package the services share."""

from gridcase_contracts.codec import UnknownEventError, decode, encode, upcast
from gridcase_contracts.codes import (
    CATEGORY_NAMES,
    CITY_TIME_ZONE,
    FINAL_STATUSES,
    SUPERVISOR_QUEUE,
    CaseStatus,
    Category,
    Channel,
    District,
    Measure,
    Service,
    Severity,
    Stage,
)
from gridcase_contracts.envelope import Contract, Envelope
from gridcase_contracts.events import EVENT_TYPES, EVENTS_BY_NAME, PRODUCER_OF, CaseEvent, new_event
from gridcase_contracts.topics import ALL_TOPICS, CASE_EVENTS, CASE_EVENTS_DLQ, Headers, TopicSpec

__all__ = [
    "ALL_TOPICS",
    "CASE_EVENTS",
    "CASE_EVENTS_DLQ",
    "CATEGORY_NAMES",
    "CITY_TIME_ZONE",
    "EVENTS_BY_NAME",
    "EVENT_TYPES",
    "FINAL_STATUSES",
    "PRODUCER_OF",
    "SUPERVISOR_QUEUE",
    "CaseEvent",
    "CaseStatus",
    "Category",
    "Channel",
    "Contract",
    "District",
    "Envelope",
    "Headers",
    "Measure",
    "Service",
    "Severity",
    "Stage",
    "TopicSpec",
    "UnknownEventError",
    "decode",
    "encode",
    "new_event",
    "upcast",
]
