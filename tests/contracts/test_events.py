"""The envelope and payload models: validation, immutability, the wire codec."""

import json
from datetime import datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from factories import case_reported
from gridcase_contracts.codec import UPCASTERS, UnknownEventError, decode, encode, upcast
from gridcase_contracts.codes import Service
from gridcase_contracts.events import (
    EVENT_TYPES,
    PRODUCER_OF,
    CaseReported,
    Location,
)
from gridcase_contracts.topics import CASE_EVENTS, Headers


def test_round_trip_through_the_wire_format() -> None:
    event = case_reported()
    key, value, headers = encode(event, ingest_ts_ns=123)
    assert key == event.case_id.encode()
    found = dict(headers)
    traceparent = found.pop(Headers.TRACEPARENT).decode()
    assert found == {
        Headers.EVENT_TYPE: b"CaseReported",
        Headers.SCHEMA_VERSION: b"1",
        Headers.INGEST_TS: b"123",
    }
    version, trace_id, span_id, flags = traceparent.split("-")
    assert (version, len(trace_id), len(span_id), flags) == ("00", 32, 16, "01")
    assert span_id == event.event_id.hex[:16]
    assert decode(value) == event


def test_events_of_one_request_share_a_trace() -> None:
    from gridcase_contracts.codec import traceparent

    first = case_reported().model_copy(update={"correlation_id": "req-1"})
    second = case_reported().model_copy(update={"correlation_id": "req-1"})
    other = case_reported().model_copy(update={"correlation_id": "req-2"})
    assert traceparent(first).split("-")[1] == traceparent(second).split("-")[1]
    assert traceparent(first).split("-")[1] != traceparent(other).split("-")[1]
    assert traceparent(first).split("-")[2] != traceparent(second).split("-")[2]


def test_events_are_frozen_and_reject_unknown_fields() -> None:
    event = case_reported()
    with pytest.raises(ValidationError):
        event.case_id = "other-case"  # type: ignore[misc]
    raw = json.loads(encode(event)[1])
    raw["payload"]["unexpected"] = 1
    with pytest.raises(ValidationError, match="unexpected"):
        decode(json.dumps(raw).encode())


def test_occurred_at_must_carry_a_time_zone() -> None:
    raw = json.loads(encode(case_reported())[1])
    raw["occurred_at"] = datetime(2026, 1, 1, 8, 0).isoformat()
    with pytest.raises(ValidationError, match="timezone"):
        decode(json.dumps(raw).encode())


def test_only_the_owning_service_produces_a_type() -> None:
    raw = json.loads(encode(case_reported())[1])
    raw["producer"] = Service.ASSIGNMENT.value
    with pytest.raises(ValidationError, match="produced by intake"):
        decode(json.dumps(raw).encode())


def test_every_type_has_one_producer() -> None:
    assert len(PRODUCER_OF) == len(EVENT_TYPES)
    assert PRODUCER_OF["CaseReported"] == Service.INTAKE
    assert PRODUCER_OF["CaseAssigned"] == Service.ASSIGNMENT
    assert PRODUCER_OF["CaseOverdue"] == Service.REMEDIATION_TRACKING
    assert CASE_EVENTS.partitions == 6


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ({"lat": 26.9, "district": "D01"}, "together"),
        ({"district": "D01"}, "lat and lon, or an address"),
        ({"lat": 91, "lon": 0, "district": "D01"}, "less than or equal to 90"),
        ({"address": "x", "district": "D13"}, "D12"),
    ],
)
def test_location_rules(location: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Location.model_validate(location)


def test_unknown_type_or_version_is_refused() -> None:
    raw = json.loads(encode(case_reported())[1])
    with pytest.raises(UnknownEventError):
        upcast({**raw, "event_type": "CaseTeleported"})
    with pytest.raises(UnknownEventError):
        upcast({**raw, "schema_version": 2})


def test_upcasters_bring_old_versions_to_the_current_one(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = json.loads(encode(case_reported())[1])
    raw["payload"]["summary"] = raw["payload"].pop("description")
    raw["schema_version"] = 1

    def v1_to_v2(old: dict[str, object]) -> dict[str, object]:
        payload = dict(old["payload"])  # type: ignore[call-overload]
        payload["description"] = payload.pop("summary")
        return {**old, "payload": payload}

    monkeypatch.setattr(CaseReported, "current_version", 2)
    monkeypatch.setitem(UPCASTERS, ("CaseReported", 1), v1_to_v2)
    upcasted = upcast(raw)
    assert upcasted["schema_version"] == 2
    assert upcasted["payload"]["description"].startswith("Cracked")


def test_new_ids_are_unique() -> None:
    assert case_reported().event_id != case_reported().event_id
    assert str(uuid4()) != str(case_reported().event_id)
