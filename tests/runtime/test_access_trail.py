"""The access trail's line: one JSON object with the access and the correlation id."""

import logging

import orjson
from fastapi import Request

from gridcase_runtime.audit import access_log, record_access
from gridcase_runtime.auth import Principal, Role
from gridcase_runtime.logs import JsonFormatter, correlation_id


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("remediation-tracking"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_an_access_is_one_json_line_naming_the_subject_and_the_case() -> None:
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/v1/cases/GC-20261130-ABCDEFGH",
            "headers": [],
            "client": ("10.1.2.3", 5000),
        }
    )
    handler = Captured()
    access_log.addHandler(handler)
    token = correlation_id.set("c-42")
    try:
        principal = Principal("h-7", Role.HANDLER, department="housing-bureau")
        record_access(request, principal, "case.read", case_id="GC-20261130-ABCDEFGH")
    finally:
        correlation_id.reset(token)
        access_log.removeHandler(handler)
    [line] = handler.lines
    entry = orjson.loads(line)
    assert entry["logger"] == "gridcase.access"
    assert entry["correlation_id"] == "c-42"
    assert entry["access"] == {
        "action": "case.read",
        "subject": "h-7",
        "role": "handler",
        "route": "/v1/cases/GC-20261130-ABCDEFGH",
        "department": "housing-bureau",
        "case_id": "GC-20261130-ABCDEFGH",
        "client": "10.1.2.3",
    }
