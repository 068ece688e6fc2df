"""What the statistics service does with each case event."""

from collections.abc import MutableMapping
from typing import Any

from gridcase_contracts.events import CaseEvent
from gridcase_stats.domain.case_state import CaseState, apply


def record_event(cases: MutableMapping[str, dict[str, Any]], event: CaseEvent) -> bool:
    """Applies `event` to its case's state with one write of the whole state, dedupe record
    included; returns False (and writes nothing) for an event applied before. The stored
    value is replaced by a new one, never changed in place (snapshots rely on it)."""
    stored = cases.get(event.case_id)
    updated = apply(CaseState.from_json(stored) if stored is not None else None, event)
    if updated is None:
        return False
    cases[event.case_id] = updated.to_json()
    return True
