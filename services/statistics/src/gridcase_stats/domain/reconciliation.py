"""Comparing two computations of the same figures, row by row."""

import json
from typing import Any


def _keyed(rows: list[dict[str, Any]]) -> set[str]:
    return {json.dumps(row, sort_keys=True) for row in rows}


def differences(
    expected: dict[str, list[dict[str, Any]]], actual: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """One line per row present in only one of the two, per table; empty when they agree."""
    lines = []
    for table in sorted(set(expected) | set(actual)):
        ours, theirs = _keyed(expected.get(table, [])), _keyed(actual.get(table, []))
        lines += [f"{table}: only in replay: {row}" for row in sorted(ours - theirs)]
        lines += [f"{table}: only in live service: {row}" for row in sorted(theirs - ours)]
    return lines
