"""The committed JSON Schemas and AsyncAPI document: current, and backward compatible."""

import copy
import json
from pathlib import Path

import yaml

from gridcase_contracts.events import EVENT_TYPES
from gridcase_contracts.schemas import (
    SCHEMA_DIR,
    asyncapi_document,
    breaking_changes,
    check,
    event_schema,
    write,
)


def test_committed_schemas_are_current_and_compatible() -> None:
    assert check() == [], "run `make schemas` and commit the result"


def test_every_event_type_has_a_schema_and_a_baseline() -> None:
    for cls in EVENT_TYPES:
        name = f"{cls.__name__}.v{cls.current_version}.json"
        assert (SCHEMA_DIR / name).exists()
        assert (SCHEMA_DIR / "baseline" / name).exists()


def test_asyncapi_document_describes_every_message() -> None:
    document = yaml.safe_load((SCHEMA_DIR / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.0.0"
    assert document == asyncapi_document()
    messages = document["channels"]["caseEvents"]["messages"]
    assert set(messages) == {cls.__name__ for cls in EVENT_TYPES}
    sends = [op for op in document["operations"].values() if op["action"] == "send"]
    assert sum(len(op["messages"]) for op in sends) == len(EVENT_TYPES)


def test_stale_files_are_detected(tmp_path: Path) -> None:
    write(tmp_path)
    assert check(tmp_path) == []
    (tmp_path / "CaseClosed.v1.json").write_text("{}", encoding="utf-8")
    assert check(tmp_path) == ["CaseClosed.v1.json is stale: run `make schemas`"]


def test_adding_an_optional_field_is_compatible() -> None:
    old = event_schema(EVENT_TYPES[0])
    new = copy.deepcopy(old)
    new["properties"]["extra_note"] = {"type": "string"}
    assert breaking_changes(old, new) == []


def test_breaking_changes_are_named() -> None:
    old = event_schema(EVENT_TYPES[0])
    new = copy.deepcopy(old)
    del new["properties"]["correlation_id"]
    new["required"].append("new_mandatory")
    new["properties"]["case_id"] = {"type": "integer"}
    problems = breaking_changes(old, new)
    assert "$.correlation_id: property removed" in problems
    assert "$.new_mandatory: newly required" in problems
    assert "$.case_id: no longer accepts string" in problems


def test_narrowing_an_enum_inside_a_payload_is_breaking() -> None:
    old = event_schema(EVENT_TYPES[0])
    new = json.loads(json.dumps(old))
    severity = new["$defs"]["Severity"]
    severity["enum"] = [value for value in severity["enum"] if value != "critical"]
    assert any("critical" in problem for problem in breaking_changes(old, new))
