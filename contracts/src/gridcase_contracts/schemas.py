"""Writes the JSON Schemas and the AsyncAPI 3.0 document, and checks backward compatibility.

Layout under contracts/schemas/:
  <EventType>.v<N>.json     the current schema of each event type (regenerated)
  baseline/<...>.json       the first published schema of each type and version (never rewritten)
  asyncapi.yaml             channels, operations and messages of the case-events topic
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from gridcase_contracts.codes import Service
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import EVENT_TYPES
from gridcase_contracts.topics import CASE_EVENTS, CASE_EVENTS_DLQ, Headers

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
Schema = dict[str, Any]


def schema_file_name(event_class: type[Envelope]) -> str:
    return f"{event_class.__name__}.v{event_class.current_version}.json"


def event_schema(event_class: type[Envelope]) -> Schema:
    schema = event_class.model_json_schema(mode="serialization")
    schema["$id"] = f"urn:gridcase:event:{event_class.__name__}:v{event_class.current_version}"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def asyncapi_document() -> dict[str, Any]:
    """An AsyncAPI 3.0 description of the case-events topic and its dead-letter topic."""
    messages = {
        cls.__name__: {
            "name": cls.__name__,
            "title": cls.__name__,
            "summary": (cls.__doc__ or cls.__name__).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/KafkaHeaders"},
            "payload": {"$ref": f"./{schema_file_name(cls)}"},
            "bindings": {"kafka": {"key": {"type": "string", "description": "case_id"}}},
            "x-producer": cls.producer_service.value,
            "x-schema-version": cls.current_version,
        }
        for cls in EVENT_TYPES
    }
    channel_messages = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}
    operations: dict[str, Any] = {}
    for service in Service:
        produced = [cls.__name__ for cls in EVENT_TYPES if cls.producer_service == service]
        if produced:
            operations[f"{service.value}-publishes"] = {
                "action": "send",
                "channel": {"$ref": "#/channels/caseEvents"},
                "messages": [
                    {"$ref": f"#/channels/caseEvents/messages/{name}"} for name in produced
                ],
            }
        operations[f"{service.value}-consumes"] = {
            "action": "receive",
            "channel": {"$ref": "#/channels/caseEvents"},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "gridcase case events",
            "version": "1.0.0",
            "description": "Every event of every grassroots governance case, keyed by case_id.",
        },
        "defaultContentType": "application/json",
        "channels": {
            "caseEvents": {
                "address": CASE_EVENTS.name,
                "messages": channel_messages,
                "bindings": {"kafka": {"partitions": CASE_EVENTS.partitions}},
            },
            "caseEventsDeadLetter": {
                "address": CASE_EVENTS_DLQ.name,
                "description": "Records that failed parsing or validation, with dlq_* headers.",
                "bindings": {"kafka": {"partitions": CASE_EVENTS_DLQ.partitions}},
            },
        },
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {
                "KafkaHeaders": {
                    "type": "object",
                    "properties": {
                        Headers.EVENT_TYPE: {"type": "string"},
                        Headers.SCHEMA_VERSION: {"type": "string"},
                        Headers.TRACEPARENT: {"type": "string"},
                        Headers.INGEST_TS: {"type": "string"},
                    },
                    "required": [Headers.EVENT_TYPE, Headers.SCHEMA_VERSION],
                }
            },
        },
    }


def rendered_files() -> dict[str, str]:
    """Every generated file name (relative to SCHEMA_DIR) mapped to its text."""
    files = {
        schema_file_name(cls): json.dumps(event_schema(cls), indent=2, ensure_ascii=False) + "\n"
        for cls in EVENT_TYPES
    }
    files["asyncapi.yaml"] = yaml.safe_dump(
        asyncapi_document(), sort_keys=False, allow_unicode=True, width=100
    )
    return files


def _resolve(schema: Schema, root: Schema) -> Schema:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: Schema = root["$defs"][ref.removeprefix("#/$defs/")]
        return resolved
    return schema


def _types(schema: Schema, root: Schema) -> set[str]:
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return set().union(*(_types(option, root) for option in schema["anyOf"]))
    if "enum" in schema:
        return {f"enum:{value}" for value in schema["enum"]}
    if "const" in schema:
        return {f"const:{schema['const']}"}
    kind = schema.get("type", "any")
    return {kind} if isinstance(kind, str) else set(kind)


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """What makes `new` unable to read data valid under `old`, or old readers unable to read new.

    Breaking: a removed property, a newly required property, a property whose accepted types
    or enum values shrank or changed, `additionalProperties` tightened."""
    problems: list[str] = []

    def walk(old_node: Schema, new_node: Schema, path: str) -> None:
        old_node, new_node = _resolve(old_node, old), _resolve(new_node, new)
        old_props: dict[str, Schema] = old_node.get("properties", {})
        new_props: dict[str, Schema] = new_node.get("properties", {})
        for name in old_props.keys() - new_props.keys():
            problems.append(f"{path}.{name}: property removed")
        for name in set(new_node.get("required", [])) - set(old_node.get("required", [])):
            problems.append(f"{path}.{name}: newly required")
        for name in old_props.keys() & new_props.keys():
            old_types = _types(old_props[name], old)
            new_types = _types(new_props[name], new)
            if not old_types <= new_types and "any" not in new_types:
                lost = ", ".join(sorted(old_types - new_types))
                problems.append(f"{path}.{name}: no longer accepts {lost}")
            walk(old_props[name], new_props[name], f"{path}.{name}")
            for old_option, new_option in zip(
                old_props[name].get("anyOf", []), new_props[name].get("anyOf", []), strict=False
            ):
                walk(old_option, new_option, f"{path}.{name}")

    walk(old, new, "$")
    return problems


def check(schema_dir: Path = SCHEMA_DIR) -> list[str]:
    """Problems with the committed files: stale or missing ones, or breaking changes."""
    problems = []
    for name, text in rendered_files().items():
        path = schema_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            problems.append(f"{name} is stale: run `make schemas`")
        baseline = schema_dir / "baseline" / name
        if name.endswith(".json") and baseline.exists():
            old = json.loads(baseline.read_text(encoding="utf-8"))
            problems += [f"{name} {p}" for p in breaking_changes(old, json.loads(text))]
    return problems


def write(schema_dir: Path = SCHEMA_DIR) -> list[Path]:
    """Writes every generated file and records a baseline for each new event version."""
    (schema_dir / "baseline").mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered_files().items():
        path = schema_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
        baseline = schema_dir / "baseline" / name
        if name.endswith(".json") and not baseline.exists():
            baseline.write_text(text, encoding="utf-8")
            written.append(baseline)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if files are stale or break")
    args = parser.parse_args()
    if args.check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        sys.exit(1 if problems else 0)
    for path in write():
        print(f"wrote {path.relative_to(SCHEMA_DIR.parent)}")


if __name__ == "__main__":
    main()
