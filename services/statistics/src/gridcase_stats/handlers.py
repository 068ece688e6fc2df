"""What the statistics service does with each case event."""

from collections.abc import Mapping, MutableMapping
from typing import Any

from gridcase_contracts.events import CaseEvent
from gridcase_stats.domain.case_state import CaseState, apply


def applied(cases: Mapping[str, dict[str, Any]], event: CaseEvent) -> dict[str, Any] | None:
    """The state of `event`'s case with it applied, dedupe record included: a new value to
    store whole in place of the old one, never changed in place (snapshots rely on it).
    None for an event applied before."""
    stored = cases.get(event.case_id)
    updated = apply(CaseState.from_json(stored) if stored is not None else None, event)
    return None if updated is None else updated.to_json()


def record_event(cases: MutableMapping[str, dict[str, Any]], event: CaseEvent) -> bool:
    """Stores `event`'s case with it applied; False (and nothing written) for an event
    applied before."""
    state = applied(cases, event)
    if state is None:
        return False
    cases[event.case_id] = state
    return True
