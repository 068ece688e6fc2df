"""An in-memory case source for unit tests of the API."""

from collections.abc import Iterable
from typing import Any

from gridcase_contracts.events import CaseEvent
from gridcase_stats.handlers import record_event


class FakeCaseSource:
    def __init__(self, events: Iterable[CaseEvent] = (), *, recovered: bool = True) -> None:
        self.cases: dict[str, dict[str, Any]] = {}
        self.recovered = recovered
        for event in events:
            record_event(self.cases, event)

    def snapshot(self) -> list[dict[str, Any]]:
        return list(self.cases.values())

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
