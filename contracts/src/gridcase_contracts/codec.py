"""Bytes on the wire: encoding events for Kafka and decoding them, upcasting old versions."""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import EVENTS_BY_NAME, CaseEvent, case_event_adapter
from gridcase_contracts.topics import Headers

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""(event_type, version) -> function turning that version's JSON into version + 1.

Adding an optional field keeps the version; any other change bumps `current_version` of the
event class and registers the upcaster from the previous version here."""


EncodedEvent = tuple[bytes, bytes, list[tuple[str, bytes]]]
"""A Kafka record's key, value and headers."""


class UnknownEventError(ValueError):
    """The record names an event type or version this code does not know."""


def traceparent(event: Envelope) -> str:
    """A W3C traceparent for the event: every event of one request (one correlation id)
    shares a trace id, and each event is its own span."""
    trace_source = event.correlation_id or str(event.case_id)
    trace_id = hashlib.blake2b(trace_source.encode(), digest_size=16).hexdigest()
    return f"00-{trace_id}-{event.event_id.hex[:16]}-01"


def encode(event: Envelope, *, ingest_ts_ns: int | None = None) -> EncodedEvent:
    """Returns the Kafka key, value and headers of an event."""
    headers = [
        (Headers.EVENT_TYPE, event.event_type.encode()),
        (Headers.SCHEMA_VERSION, str(event.schema_version).encode()),
        (Headers.TRACEPARENT, traceparent(event).encode()),
    ]
    if ingest_ts_ns is not None:
        headers.append((Headers.INGEST_TS, str(ingest_ts_ns).encode()))
    return event.case_id.encode(), event.model_dump_json().encode(), headers


def upcast(raw: dict[str, Any]) -> dict[str, Any]:
    """Brings a decoded event of any known older version up to its type's current version."""
    event_type = raw.get("event_type")
    if not isinstance(event_type, str) or event_type not in EVENTS_BY_NAME:
        raise UnknownEventError(f"unknown event_type {event_type!r}")
    event_class = EVENTS_BY_NAME[event_type]
    version = raw.get("schema_version")
    if not isinstance(version, int) or version < 1 or version > event_class.current_version:
        raise UnknownEventError(f"{event_type} has no schema_version {version!r}")
    while version < event_class.current_version:
        raw = UPCASTERS[(event_type, version)](raw)
        version += 1
        raw["schema_version"] = version
    return raw


def decode(value: bytes) -> CaseEvent:
    """Parses and validates a record value; raises ValueError (pydantic's included) if invalid."""
    raw = json.loads(value)
    if not isinstance(raw, dict):
        raise ValueError("an event must be a JSON object")
    return case_event_adapter.validate_python(upcast(raw))
