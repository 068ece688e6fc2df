"""An in-memory case source for unit tests of the API."""

from collections.abc import Iterable

from gridcase_contracts.events import CaseEvent
from gridcase_stats.domain.case_state import CaseState
from gridcase_stats.handlers import record_event


class FakeCaseSource:
    def __init__(self, events: Iterable[CaseEvent] = (), *, recovered: bool = True) -> None:
        self.cases: dict[str, dict[str, object]] = {}
        self.recovered = recovered
        for event in events:
            record_event(self.cases, event)

    def states(self) -> list[CaseState]:
        return [CaseState.from_json(value) for value in self.cases.values()]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
